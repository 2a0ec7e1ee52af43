package actors

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/time/rate"

	"github.com/actorchat/actorchat/internal/flood"
	"github.com/actorchat/actorchat/internal/netio"
	"github.com/actorchat/actorchat/internal/telnet"
	"github.com/actorchat/actorchat/internal/text"
	"github.com/actorchat/actorchat/messages"
)

// floodStrikeRecovery is how many flood strikes a connection earns back per
// second: one who slows down is forgiven.
const floodStrikeRecovery = 1

// connection is the actor for one client connection. It turns the lines that
// its reader goroutine sends into commands and posts, and renders everything
// the rooms and the registry send it into lines in its outbox. Flushing the
// outbox writes to the socket at once, without waiting, as far as the kernel
// takes it; what it does not take is written by a writer goroutine (see
// netio.Socket.Flush), so the actor never blocks on a slow client.
//
// A user's lines take effect, and are answered, in the order they were typed:
// a command that needs an answer from another actor holds the lines after it
// until the answer comes (or its timeout passes; see replyWait), so "/who"
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
	isTLS     bool // came in on the TLS port

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
	here      *membership            // the current room, where the lines typed go; nil: in none
	in        map[string]*membership // every room we are in, by name
	recent    []string               // their names, the most recently current last
	joinTo    string                 // the room our pending join is for; empty: none
	joinID    uint64                 // that join's request id
	joining   []string               // rooms asked to take us that have not answered yet
	unleft    map[string]*actor.PID  // rooms we left that have not confirmed it (RoomLeft), by name
	rejoin    []string               // rooms of our account to join again, in this order, before the lines that wait
	rejoinOn  bool                   // our account's rooms come back when we identify (/rejoin)
	keepLobby bool                   // they include the lobby: joining them does not leave it

	// Owned by Receive: the input and what it waits for.
	requests   map[uint64]*pendingRequest // the questions we wait for, by request id (see requests.go)
	pending    []pendingLine              // lines that wait for the answers; see ready
	gate       *flood.Gate                // nil: no flood control
	release    *time.Timer                // sends ReleaseQueuedLines; nil when none is on its way
	inputEnded bool                       // the client half-closed: leave once every line is answered
	lastInput  time.Time                  // when the user last sent a line, for the idle timeout and /whois
	idleTimer  *time.Timer                // sends IdleCheck; nil without an idle timeout

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

// pendingLine is an input line waiting for an answer to an earlier one.
type pendingLine struct {
	text   string
	credit bool // it still holds its reader credit (see netio.Socket.LineHandled)
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
func newConnection(id uint64, member, remote string, isTLS bool, sock *netio.Socket, env *connectionEnv) actor.Producer {
	return func() actor.Actor {
		return &connection{
			id:     id,
			member: member,
			remote: remote,
			isTLS:  isTLS,
			env:    env,
			sock:   sock,
			logger: env.logger,
		}
	}
}

func (c *connection) Receive(ctx actor.Context) {
	c.receive(ctx)
	if c.holdOutput && !c.waiting() {
		c.releaseOutput()
	}
	c.releaseScratch()
}

// releaseOutput ends the hold on a new connection's output once it no
// longer waits for the registry or its first room (answered, refused or
// timed out): what it held goes out now, with one write(). A connection
// that stops while it holds writes it with its goodbye (Socket.Finish).
//
// Writing each step as it happened cost a new connection three writes, each
// a wake-up of the client's reader too; the hold costs the user nothing
// they can see: the lines come in the same order, one round trip to the
// room later, and lines typed meanwhile wait for the join anyway.
func (c *connection) releaseOutput() {
	c.holdOutput = false
	if c.flushHeld {
		c.flushHeld = false
		c.sock.Flush()
	}
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
		c.sendError(ctx, fmt.Sprintf("line too long (the limit is %d bytes); it was discarded", msg.GetLimitBytes()))
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
		delete(c.unleft, msg.GetRoom())
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
		if c.ours(msg.GetRoom()) {
			c.sendNotice(ctx, msg.GetNick()+" joined "+msg.GetRoom())
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
	c.logger.Info("connection opened", "conn", c.id, "remote", c.remote, "tls", c.isTLS)
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
	c.sock.Start(socketSink{system: ctx.ActorSystem(), pid: ctx.Self()})
	if !c.isTLS {
		c.write(ctx, []byte(telnet.Offer)) // first, before any line: see telnet.Offer
	}
	register := c.ask(ctx, c.env.registry, &messages.RegisterConnection{MemberId: c.member, Address: c.remoteIP()}, "", on(c.registered))
	register.failed = func(ctx actor.Context, _ bool) { c.stop(ctx, messages.LeaveReason_LEAVE_REASON_ERROR) }
}

// registered: the registry gave us our first nick; we land in the lobby.
func (c *connection) registered(ctx actor.Context, msg *messages.ConnectionRegistered) {
	c.nick = msg.GetNick()
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

// ready reports whether input can be acted on: we have a nick and no answer
// is awaited, so that "/nick bob" then "hi" reads as "<bob> hi" and "/who"
// then "/quit" shows the list first.
func (c *connection) ready() bool {
	return c.nick != "" && !c.waiting() && !c.reclaim.busy()
}

// flushPending acts on the lines that waited, in order, until one of them
// waits for an answer in turn. Once the client has ended its input and
// every line is answered, the connection ends as if it had typed /quit.
func (c *connection) flushPending(ctx actor.Context) {
	c.rejoinRooms(ctx)
	for len(c.pending) > 0 && c.ready() && c.reason == messages.LeaveReason_LEAVE_REASON_UNSPECIFIED {
		p := c.pending[0]
		c.pending = c.pending[1:]
		c.handleLine(ctx, p.text, p.credit)
	}
	if len(c.pending) == 0 {
		c.pending = nil
	}
	if c.inputEnded && c.ready() && len(c.pending) == 0 && (c.gate == nil || c.gate.Waiting() == 0) {
		c.stop(ctx, messages.LeaveReason_LEAVE_REASON_QUIT)
	}
}

// handleInput counts one input line against the flood allowance: within it
// the line is acted on; over it the line waits its turn, or past the queue
// is dropped (see flood.Gate).
func (c *connection) handleInput(ctx actor.Context, line string) {
	c.env.metrics.linesReceived.Inc()
	c.lastInput = time.Now()
	if c.gate == nil {
		c.handleLine(ctx, line, true)
		return
	}
	switch c.gate.Admit(line, c.lastInput) {
	case flood.Run:
		c.handleLine(ctx, line, true)
	case flood.Queued:
		c.sock.LineHandled() // the queue bounds itself; the reader may read on
		c.armRelease(ctx, c.gate.UntilNext(c.lastInput))
	case flood.Dropped:
		c.sock.LineHandled()
		c.env.metrics.linesRefused.WithLabelValues(refusedFlood).Inc()
	case flood.Disconnect:
		c.sock.LineHandled()
		c.env.metrics.linesRefused.WithLabelValues(refusedFlood).Inc()
		c.stop(ctx, messages.LeaveReason_LEAVE_REASON_FLOODING)
	}
}

// armRelease has a ReleaseQueuedLines sent to us after d, unless one is on
// its way already.
func (c *connection) armRelease(ctx actor.Context, d time.Duration) {
	if c.release != nil {
		return
	}
	system, self := ctx.ActorSystem(), ctx.Self()
	c.release = time.AfterFunc(d, func() { system.Root.Send(self, &messages.ReleaseQueuedLines{}) })
}

// handleRelease acts on the queued lines the flood allowance lets go now,
// and tells the user once how many lines were dropped since the last time.
func (c *connection) handleRelease(ctx actor.Context) {
	c.release = nil
	if c.reason != messages.LeaveReason_LEAVE_REASON_UNSPECIFIED {
		return
	}
	if dropped := c.gate.TakeDropped(); dropped > 0 {
		c.sendError(ctx, fmt.Sprintf("slow down: %d %s dropped; lines over %g a second wait their turn, at most %d of them",
			dropped, plural(dropped, "line was", "lines were"), c.env.cfg.FloodRate, c.env.cfg.FloodQueueLines))
	}
	lines, next := c.gate.Release(time.Now())
	for _, line := range lines {
		c.handleLine(ctx, line, false)
	}
	if next > 0 {
		c.armRelease(ctx, next)
	}
	c.flushPending(ctx)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// The idle timeout is a timer that sends the actor IdleCheck, not
// protoactor's receive timeout: at the pinned version its timer goroutine
// writes the actor context's fields unsynchronized (a data race,
// asynkron/protoactor-go#1139), and any message, not only the user's input,
// would reset it.
func (c *connection) armIdleTimer(ctx actor.Context, d time.Duration) {
	system, self := ctx.ActorSystem(), ctx.Self()
	c.idleTimer = time.AfterFunc(d, func() { system.Root.Send(self, &messages.IdleCheck{}) })
}

// handleIdleCheck disconnects a user idle past the idle timeout, or checks
// again when the timeout would run out counting from the last input.
func (c *connection) handleIdleCheck(ctx actor.Context) {
	idle := c.env.cfg.IdleTimeout
	if since := time.Since(c.lastInput); since < idle {
		c.armIdleTimer(ctx, idle-since)
		return
	}
	c.stop(ctx, messages.LeaveReason_LEAVE_REASON_IDLE)
}

// handleLine acts on one input line: chat goes to the room, commands run.
// Until we are ready the line waits in pending. A line that holds its reader
// credit gives it back once it is handled (see socket.lineHandled), so a
// client that sends faster than we can take it in meets TCP's push-back, not
// a dropped line.
func (c *connection) handleLine(ctx actor.Context, line string, credit bool) {
	if c.reason != messages.LeaveReason_LEAVE_REASON_UNSPECIFIED {
		return // on our way out
	}
	if !c.ready() {
		c.pending = append(c.pending, pendingLine{text: line, credit: credit})
		return
	}
	if credit {
		defer c.sock.LineHandled()
	}
	if c.prompt != nil {
		c.answerPrompt(ctx, line) // an answer, never a command: it may be a password
		return
	}
	in := text.Parse(line)
	switch in.Kind {
	case text.InputChat:
		if c.here == nil {
			c.sendError(ctx, "you are not in a room; /join ROOM")
			return
		}
		c.post(ctx, &messages.PostMessage{MemberId: c.member, Text: in.Text})
	case text.InputCommand:
		c.runCommand(ctx, in)
	}
}

func (c *connection) handlePosted(ctx actor.Context, msg *messages.MessagePosted) {
	if msg.GetSenderMemberId() == c.member {
		c.acked(msg.GetRoom(), msg.GetSenderSeq())
		if !msg.GetAction() {
			return // in a cluster the room echoes our chat lines: we showed nothing when we typed them
		}
	}
	if !c.ours(msg.GetRoom()) {
		return
	}
	line := c.appendPosted(c.scratchBuf(), msg)
	c.scratch = line[:0]
	if len(line) > 0 {
		c.env.metrics.deliveries.Inc()
		c.write(ctx, line)
	}
	if msg.GetSenderMemberId() == c.member {
		c.settle(ctx, msg.GetSenderSeq(), msg) // our own /me, back from the room
	}
}

// handlePostsBatch takes several posts of our room at once, in order, as
// one write: our own chat lines are left out (the room sends every member
// the same batch).
func (c *connection) handlePostsBatch(ctx actor.Context, msg *messages.PostsBatch) {
	if !c.ours(msg.GetRoom()) {
		for _, m := range msg.GetPosts() {
			if m.GetSenderMemberId() == c.member {
				c.acked(msg.GetRoom(), m.GetSenderSeq())
			}
		}
		return
	}
	bp := batchBuffers.Get().(*[]byte)
	buf := (*bp)[:0]
	delivered := 0
	var actions []*messages.MessagePosted // our own, which /me waits for
	for _, m := range msg.GetPosts() {
		if m.GetSenderMemberId() == c.member {
			c.acked(msg.GetRoom(), m.GetSenderSeq())
			if !m.GetAction() {
				continue
			}
			actions = append(actions, m)
		}
		n := len(buf)
		if buf = c.appendPosted(buf, m); len(buf) > n {
			delivered++
		}
	}
	if delivered > 0 {
		c.env.metrics.deliveries.Add(float64(delivered)) // once a batch: a shared counter is costly per line
		c.write(ctx, buf)                                // the outbox copies it
	}
	if cap(buf) <= maxBatchBuffer {
		*bp = buf[:0]
		batchBuffers.Put(bp)
	}
	for _, m := range actions {
		c.settle(ctx, m.GetSenderSeq(), m)
	}
}

// batchBuffers are the buffers batches are rendered into: shared by every
// connection, so that none holds its largest batch between messages.
var batchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// lineBuffers holds the buffers connections render single lines into: an
// idle connection holds none (10,000 idle users would otherwise keep 10,000
// buffers).
var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// scratchBuf returns the buffer to render a line into, empty.
func (c *connection) scratchBuf() []byte {
	if c.scratchp == nil {
		c.scratchp = lineBuffers.Get().(*[]byte)
		c.scratch = *c.scratchp
	}
	return c.scratch[:0]
}

// releaseScratch gives the render buffer back once a message is handled
// (the outbox has copied what was rendered).
func (c *connection) releaseScratch() {
	if c.scratchp == nil {
		return
	}
	if cap(c.scratch) <= maxBatchBuffer {
		*c.scratchp = c.scratch[:0]
		lineBuffers.Put(c.scratchp)
	}
	c.scratch, c.scratchp = nil, nil
}

// maxBatchBuffer is the largest render buffer that goes back to the pool.
const maxBatchBuffer = 1 << 20

// appendPosted renders a post for our user, marked with its room unless it
// is of the current one, with the bell if it mentions them; nothing for a
// user we ignore. The caller counts the delivery.
func (c *connection) appendPosted(dst []byte, msg *messages.MessagePosted) []byte {
	own := msg.GetSenderMemberId() == c.member
	if _, ignored := c.ignored[msg.GetSenderMemberId()]; ignored && !own {
		return dst
	}
	start := len(dst)
	dst = text.AppendPosted(c.tag(dst, msg.GetRoom()), msg)
	if !c.noBell && !own && text.Mentions(msg.GetText(), c.nick) {
		dst = append(dst[:start], text.WithBell(dst[start:])...)
	}
	return dst
}

// nickChanged takes the nick the registry gave us for /nick and tells our
// rooms; the current room's notice confirms the change to us too, and is
// what the lines after /nick wait for.
func (c *connection) nickChanged(ctx actor.Context, msg *messages.NickChanged) {
	c.takeNick(ctx, msg, true)
}

// takeNick takes a nick the registry gave us (also when its answer came
// after we stopped waiting: the registry's word is what counts); wait says
// that the lines that follow wait for the current room's notice.
func (c *connection) takeNick(ctx actor.Context, msg *messages.NickChanged, wait bool) {
	c.nick = msg.GetNewNick()
	if c.here == nil {
		c.sendNotice(ctx, "You are now "+c.nick+".")
		return
	}
	c.renameInRooms(ctx, wait)
}

func (c *connection) handlePrivateReceived(ctx actor.Context, msg *messages.PrivateMessageReceived) {
	if _, ignored := c.ignored[msg.GetFromMemberId()]; ignored {
		return
	}
	c.lastPM = msg
	c.env.metrics.deliveries.Inc()
	c.env.metrics.privateMessages.Inc()
	line := text.AppendPrivateReceived(c.scratchBuf(), msg.GetFromNick(), msg.GetText())
	if !c.noBell {
		line = text.WithBell(line)
	}
	c.writeLine(ctx, line)
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
	})
}

// handlePostRefused: our room did not deliver a post of ours (we are
// muted). It answers a /me at once: every refusal is an answer.
func (c *connection) handlePostRefused(ctx actor.Context, msg *messages.PostRefused) {
	if !c.ours(msg.GetRoom()) {
		return
	}
	c.sendError(ctx, fmt.Sprintf("not delivered to %s: %s", msg.GetRoom(), msg.GetReason()))
	c.settle(ctx, msg.GetClientSeq(), msg) // a /me's answer; a chat line waits for none
}

// handleInputClosed: the client's side of the connection has ended. A clean
// end of input (a half-close, as nc -N sends) is a goodbye: every line
// already sent is answered, then we leave as if the user typed /quit. A
// broken connection is lost.
func (c *connection) handleInputClosed(ctx actor.Context, msg *messages.InputClosed) {
	if msg.GetError() != "" {
		c.logger.Debug("read failed", "conn", c.id, "remote", c.remote, "error", msg.GetError())
		c.stop(ctx, messages.LeaveReason_LEAVE_REASON_CONNECTION_LOST)
		return
	}
	c.inputEnded = true
	c.flushPending(ctx)
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
	c.logger.Info("connection closed", "conn", c.id, "remote", c.remote, "nick", c.nick, "rooms", len(c.in), "reason", text.LeaveReason(c.reason))
}

// farewell is what the client reads last, by reason.
func (c *connection) farewell() []byte {
	var b []byte
	switch c.reason {
	case messages.LeaveReason_LEAVE_REASON_CONNECTION_LOST:
		return nil // nobody is listening
	case messages.LeaveReason_LEAVE_REASON_SLOW_CONSUMER:
		b = text.AppendError(b, "disconnected: you are not reading fast enough (slow consumer)")
	case messages.LeaveReason_LEAVE_REASON_FLOODING:
		b = text.AppendError(b, "disconnected: you sent too much too fast (flooding)")
	case messages.LeaveReason_LEAVE_REASON_IDLE:
		b = text.AppendError(b, fmt.Sprintf("disconnected: idle for more than %v", c.env.cfg.IdleTimeout))
	case messages.LeaveReason_LEAVE_REASON_ERROR:
		b = text.AppendError(b, "internal server error; your connection is closed (sorry)")
	case messages.LeaveReason_LEAVE_REASON_SHUTDOWN:
		if c.goodbye != "" {
			b = text.AppendNotice(b, c.goodbye)
		}
	}
	return append(b, text.ByeLine...)
}

func (c *connection) sendNotice(ctx actor.Context, line string) {
	c.writeLine(ctx, text.AppendNotice(c.scratchBuf(), line))
}

// sendNoticeOf writes a notice made of parts, without building it as a
// string first.
func (c *connection) sendNoticeOf(ctx actor.Context, parts ...string) {
	c.writeLine(ctx, text.AppendNoticeOf(c.scratchBuf(), parts...))
}

func (c *connection) sendError(ctx actor.Context, line string) {
	c.writeLine(ctx, text.AppendError(c.scratchBuf(), line))
}

// writeLine queues a rendered line and keeps the grown buffer for the next.
func (c *connection) writeLine(ctx actor.Context, line []byte) {
	c.scratch = line[:0]
	c.write(ctx, line)
}

// write queues bytes for the client; a client whose outbox is full is a slow
// consumer and is disconnected. The bytes go out when the FlushOutput the
// first of them asks for comes round: after every message already in the
// mailbox, so that a busy connection writes what many messages rendered
// with one write(), and an idle one writes as soon as its turn ends.
func (c *connection) write(ctx actor.Context, p []byte) {
	flush, err := c.sock.Buffer(p)
	if err != nil { // netio.ErrOutboxFull
		c.stop(ctx, messages.LeaveReason_LEAVE_REASON_SLOW_CONSUMER)
		return
	}
	switch {
	case flush && c.holdOutput:
		c.flushHeld = true
	case flush:
		ctx.Send(ctx.Self(), flushOutput)
	}
}

// flushOutput is the one FlushOutput every connection sends itself (it
// carries nothing).
var flushOutput = &messages.FlushOutput{}
