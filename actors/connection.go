package actors

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/time/rate"

	"github.com/actorchat/actorchat/internal/flood"
	"github.com/actorchat/actorchat/internal/netio"
	"github.com/actorchat/actorchat/internal/text"
	"github.com/actorchat/actorchat/messages"
)

// connection is the actor for one client connection. It turns the lines that
// its reader goroutine sends into commands and posts, and renders everything
// the rooms and the registry send it into lines in its outbox. Flushing the
// outbox writes to the socket at once, without waiting, as far as the kernel
// takes it; what it does not take is written by a writer goroutine (see
// netio.Socket.Flush), so the actor never blocks on a slow client.
//
// A user's lines take effect, and are answered, in the order they were typed:
// a command that needs an answer from another actor holds the lines after it
// until the answer comes (or its timeout passes; see requests.go), so "/who"
// then "/quit" prints the member list before bye....
//
// Every end of a connection is this actor stopping; see handleStopping.
type connection struct {
	// Static after construction.
	id        uint64 // this node's number for the connection, in its actor name and logs
	member    string // its user's member id, unique across nodes: how every other actor knows it
	remote    string
	env       *connectionEnv
	sock      *netio.Socket
	logger    *slog.Logger // the server's; every line about this connection adds its conn and remote
	connected time.Time
	isTLS     bool        // came in on a TLS port
	codec     codec       // how what happens is written to it (connection_output.go)
	irc       *ircSession // it speaks IRC (connection_irc.go); nil: the line protocol

	// Owned by Receive: who and where the user is.
	nick      string                           // empty until the registry names us
	away      string                           // our away message; empty: not away
	noBell    bool                             // /bell off: no BEL on mentions and private messages
	lastPM    *messages.PrivateMessageReceived // for /reply
	ignored   map[string]string                // member id -> nick, for /ignore
	account   string                           // the account we are identified as, case-folded; empty: none
	accountID string                           // its id, which rights name
	oper      string                           // the server operator token we proved (/oper); empty: none
	prompt    *prompt                          // questions the next lines answer (a password); nil: none

	// Owned by Receive: the rooms we are in (see connection_rooms.go).
	here      *membership           // the current room, where the lines typed go; nil: in none
	rooms     []*membership         // every room we are in, the most recently current last (a few: a slice is smaller than a map)
	joinTo    string                // the room our pending join is for; empty: none
	joinID    uint64                // that join's request id
	joining   []string              // rooms asked to take us that have not answered yet
	unleft    map[string]*actor.PID // rooms we left that have not confirmed it (RoomLeft), by name
	rejoin    []string              // rooms of our account to join again, in this order, before the lines that wait
	rejoinOn  bool                  // our account's rooms come back when we identify (/rejoin)
	keepLobby bool                  // they include the lobby: joining them does not leave it

	// Owned by Receive: the input and what it waits for.
	requests   []*pendingRequest // the questions we wait for, each by its request id (see requests.go); nil: none
	pending    []pendingLine     // lines that wait for the answers; see ready
	gate       *flood.Gate       // nil: no flood control
	release    *time.Timer       // sends ReleaseQueuedLines; nil when none is on its way
	inputEnded bool              // the client half-closed: leave once every line is answered
	lastInput  time.Time         // when the user last sent a line, for the idle timeout and /whois
	idleTimer  *time.Timer       // sends IdleCheck; nil without an idle timeout

	// Owned by Receive, in a cluster: taking our nick and rooms back at a
	// new coordinator (see connection_reclaim.go).
	reclaim reclaimState
	seq     uint64 // numbers our requests and posts (see nextID)

	// Owned by Receive: the end.
	reason  messages.LeaveReason // why we stop; unset means the supervisor stopped us after a failure
	quitMsg string               // what the user said with /quit
	goodbye string               // the notice to send before bye... at shutdown

	// Owned by Receive: a new connection's first output. Everything it
	// writes until its first room answers (the telnet offer, the welcome,
	// the room and its history) is held and goes out in one write, not one
	// per step: see releaseOutput.
	holdOutput bool // set up is under way: output waits
	flushHeld  bool // something waits for the flush the hold put off

	scratch  []byte  // buffer for rendering lines, from lineBuffers while a message is handled; nil between messages
	scratchp *[]byte // where it came from in the pool
}

// connectionEnv is what every connection actor of a server shares; nothing
// in it changes after the server has started (the MOTD is swapped
// atomically).
type connectionEnv struct {
	cfg        connectionConfig
	logger     *slog.Logger
	metrics    *Metrics
	commands   *commandSet
	registry   *actor.PID
	registryID string // the actor id of the registry, whose word on who we are counts; "": registryActorID
	rooms      *actor.PID
	accounts   *actor.PID                // checks passwords: accounts' (with a store) and operators'
	accountsOn bool                      // there are accounts (a store keeps them)
	admins     *Admins                   // server operators
	motd       *atomic.Pointer[[]string] // the message of the day, sanitized lines
}

// fromRegistry reports whether the message being handled came from a
// registry: only its word on who we are counts (see authority.go).
func (c *connection) fromRegistry(ctx actor.Context) bool {
	id := c.env.registryID
	if id == "" {
		id = registryActorID
	}
	if sentBy(ctx.Sender(), id) {
		return true
	}
	c.logger.Warn("ignored a message that only the registry may send", "conn", c.id, "message", fmt.Sprintf("%T", ctx.Message()), "sender", ctx.Sender().String())
	return false
}

// newConnection makes the actor of a connection; isTLS says it came in on
// the TLS port, where no telnet negotiation is offered (its clients are
// openssl s_client and socat, which would show the bytes).
func newConnection(id uint64, member, remote string, isTLS bool, speaks messages.Protocol, sock *netio.Socket, env *connectionEnv) actor.Producer {
	lines := telnetLines
	if isTLS {
		lines = tlsLines
	}
	return func() actor.Actor {
		c := &connection{
			id:     id,
			member: member,
			remote: remote,
			isTLS:  isTLS,
			codec:  lines,
			env:    env,
			sock:   sock,
			logger: env.logger,
		}
		if speaks == messages.Protocol_PROTOCOL_IRC {
			c.irc = newIRCSession(member, env.cfg.IRCName)
			c.codec = &c.irc.Codec
		}
		return c
	}
}

func (c *connection) Receive(ctx actor.Context) {
	c.receive(ctx)
	if c.holdOutput && !c.waiting() {
		c.releaseOutput()
	}
	c.releaseScratch()
}

func (c *connection) receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		c.handleStarted(ctx)
	case *actor.Stopping:
		c.handleStopping(ctx)
	case *actor.Stopped, *actor.Restarting:

	// From the reader and writer goroutines, and our own timers.
	case *messages.LineReceived:
		c.handleInput(ctx, msg.GetText())
	case *messages.ReleaseQueuedLines:
		c.handleRelease(ctx)
	case *messages.ReplyTimedOut:
		c.handleReplyTimedOut(ctx, msg)
	case *messages.IdleCheck:
		c.handleIdleCheck(ctx)
	case *messages.LineTooLong:
		c.env.metrics.linesRefused.WithLabelValues(refusedTooLong).Inc()
		c.writeLine(ctx, c.codec.AppendTooLong(c.scratchBuf(), int(msg.GetLimitBytes())))
	case *messages.InputOverflow:
		c.stop(ctx, messages.LeaveReason_LEAVE_REASON_FLOODING)
	case *messages.InterruptReceived:
		c.stop(ctx, messages.LeaveReason_LEAVE_REASON_QUIT)
	case *messages.NegotiationReply:
		c.write(ctx, msg.GetData())
	case *messages.InputClosed:
		c.handleInputClosed(ctx, msg)
	case *messages.FlushOutput:
		c.sock.Flush()
	case *messages.OutputFailed:
		c.logger.Debug("write failed", "conn", c.id, "remote", c.remote, "error", msg.GetError())
		c.stop(ctx, msg.GetReason())

	// Answers from the registry and rooms: to our requests (Reply), and, bare,
	// to a cluster's reclaim.
	case *messages.Reply:
		c.handleReply(ctx, msg)
	case *messages.ConnectionRegistered:
		if c.reclaim.nick {
			c.nickReclaimed(ctx, msg.GetNick())
		}
	case *messages.RoomJoined:
		c.handleRoomJoinedBare(ctx, msg)
	case *messages.RoomLeft:
		if delete(c.unleft, msg.GetRoom()); len(c.unleft) == 0 {
			c.unleft = nil // an idle connection holds no map
		}
	case *messages.LeaveUnconfirmed:
		c.handleLeaveUnconfirmed(ctx, msg)
	case *messages.AccountUnregistered: // another session removed our account, or it expired
		if c.fromRegistry(ctx) {
			c.handleAccountUnregistered(ctx, msg)
		}
	case *messages.CommandRejected: // of a request we did not number
		c.sendError(ctx, msg.GetReason())

	// Events, and questions from other users' connections.
	case *messages.MessagePosted:
		c.handlePosted(ctx, msg)
	case *messages.PostsBatch:
		c.handlePostsBatch(ctx, msg)
	case *messages.MemberJoined:
		if c.ours(msg.GetRoom()) { // a join names its room: not marked
			c.writeLine(ctx, c.codec.AppendJoined(c.scratchBuf(), msg.GetRoom(), "", msg.GetNick()))
		}
	case *messages.MemberLeft:
		c.handleMemberLeft(ctx, msg)
	case *messages.MemberRenamed:
		c.handleMemberRenamed(ctx, msg)
	case *messages.TopicChanged:
		c.handleTopicChanged(ctx, msg)
	case *messages.PrivateMessageReceived:
		c.handlePrivateReceived(ctx, msg)
	case *messages.DescribeUser:
		c.handleDescribeUser(ctx, msg)
	case *messages.Ghosted:
		if c.fromRegistry(ctx) {
			c.handleGhosted(ctx, msg)
		}
	case *messages.Kicked:
		c.handleKicked(ctx, msg)
	case *messages.Killed:
		if c.fromRegistry(ctx) {
			c.handleKilled(ctx, msg)
		}
	case *messages.ServerNotice:
		c.handleServerNotice(ctx, msg)
	case *messages.RoleChanged:
		c.handleRoleChanged(msg)
	case *messages.PostRefused:
		c.handlePostRefused(ctx, msg)

	// In a cluster, from the node.
	case *messages.Reclaim:
		c.handleReclaim(ctx)
	case *messages.ReclaimTimedOut:
		c.handleReclaimTimedOut(ctx)

	// From the server.
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	case *messages.Shutdown:
		c.handleShutdown(ctx, msg)
	}
}

// handleStarted starts the socket's goroutines and asks the registry for a
// nick; the welcome follows its answer.
func (c *connection) handleStarted(ctx actor.Context) {
	c.logger.Info("connection opened", "conn", c.id, "remote", c.remote, "tls", c.isTLS, "irc", c.irc != nil)
	c.connected = time.Now()
	c.lastInput = c.connected
	cfg := c.env.cfg
	if cfg.FloodRate > 0 {
		c.gate = flood.New(flood.Config{
			Rate: cfg.FloodRate, Burst: cfg.FloodBurst,
			MaxLines: cfg.FloodQueueLines, MaxBytes: cfg.FloodQueueBytes,
			Strikes: cfg.FloodStrikes, StrikeRate: rate.Limit(floodStrikeRecovery),
		})
	}
	if cfg.IdleTimeout > 0 {
		c.armIdleTimer(ctx, cfg.IdleTimeout)
	}
	c.holdOutput = true
	c.sock.Start(socketSink{system: ctx.ActorSystem(), pid: ctx.Self(), irc: c.irc != nil})
	if offer := c.codec.Offer(); offer != nil {
		c.write(ctx, offer) // first, before any line: see telnet.Offer
	}
	if c.irc != nil {
		return // it registers once the client has said who it is (ircRegister)
	}
	register := c.ask(ctx, c.env.registry, &messages.RegisterConnection{MemberId: c.member, Address: c.remoteIP()}, "", thenRegistered)
	register.failed = (*connection).registerFailed
}

// registerFailed: without a nick nothing works; the connection ends.
func (c *connection) registerFailed(ctx actor.Context, _ bool) {
	c.stop(ctx, messages.LeaveReason_LEAVE_REASON_ERROR)
}

// registered: the registry gave us our first nick; we land in the lobby.
func (c *connection) registered(ctx actor.Context, msg *messages.ConnectionRegistered) {
	c.setNick(msg.GetNick())
	if c.irc != nil {
		c.ircRegistered(ctx)
		return
	}
	c.sendNoticeOf(ctx, "Welcome to actorchat ", c.env.cfg.Version, ", a chat server built on actors.")
	c.sendNoticeOf(ctx, "You are ", c.nick, ". Change it with /nick NAME. Type /help for commands, /quit to leave.")
	c.sendMOTD(ctx)
	c.land(ctx)
}

// sendMOTD shows the message of the day, if there is one, and reports
// whether there was.
func (c *connection) sendMOTD(ctx actor.Context) bool {
	motd := c.env.motd.Load()
	if motd == nil || len(*motd) == 0 {
		return false
	}
	for _, line := range *motd {
		c.sendNotice(ctx, line)
	}
	return true
}

// post sends a chat line to our current room, numbered.
func (c *connection) post(ctx actor.Context, p *messages.PostMessage) {
	c.toRoom(ctx, c.numbered(c.here, p))
}

// handleDescribeUser answers another user's /whois about us.
func (c *connection) handleDescribeUser(ctx actor.Context, msg *messages.DescribeUser) {
	reply(ctx, msg.GetReplyTo(), &messages.UserDescription{
		Nick:                c.nick,
		Room:                c.roomName(),
		Rooms:               c.roomNames(),
		ConnectedUnixMillis: c.connected.UnixMilli(),
		IdleMillis:          time.Since(c.lastInput).Milliseconds(),
		Away:                c.away,
		Username:            c.ircUser(),
		Realname:            c.ircReal(),
		Operator:            c.env.admins.Valid(c.oper),
	})
}

func (c *connection) handleShutdown(ctx actor.Context, msg *messages.Shutdown) {
	c.goodbye = msg.GetNotice()
	c.stop(ctx, messages.LeaveReason_LEAVE_REASON_SHUTDOWN)
}

// stop ends the connection for reason; handleStopping does the rest.
func (c *connection) stop(ctx actor.Context, reason messages.LeaveReason) {
	if c.reason != messages.LeaveReason_LEAVE_REASON_UNSPECIFIED {
		return
	}
	c.reason = reason
	ctx.Stop(ctx.Self())
}

// handleStopping runs for every end of the connection. It tells the room why
// we leave (the registry and the room also watch us), then hands the socket
// its last lines: the writer goroutine flushes them within the flush timeout
// and closes the socket, so this actor never waits on the client.
//
// A reason that is still unset here means the connections supervisor stopped
// us after a panic.
func (c *connection) handleStopping(ctx actor.Context) {
	if c.reason == messages.LeaveReason_LEAVE_REASON_UNSPECIFIED {
		c.reason = messages.LeaveReason_LEAVE_REASON_ERROR
	}
	// Counted before anyone can read the leave notice, so that whoever has
	// seen it also sees the count.
	c.env.metrics.disconnects.WithLabelValues(reasonLabel(c.reason)).Inc()
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	if c.release != nil {
		c.release.Stop()
	}
	c.stopRequests()
	c.reclaim.stop()
	// The registry first: by the time anyone reads the leave notice, the
	// nick is free.
	ctx.Send(c.env.registry, &messages.UnregisterConnection{MemberId: c.member})
	c.leaveEveryRoom(ctx)
	c.sock.Finish(c.farewell(), c.env.cfg.FlushTimeout, c.reason == messages.LeaveReason_LEAVE_REASON_SLOW_CONSUMER)
	c.logger.Info("connection closed", "conn", c.id, "remote", c.remote, "nick", c.nick, "rooms", len(c.rooms), "reason", text.LeaveReason(c.reason))
}
