package actors

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/time/rate"

	"github.com/actorchat/actorchat/messages"
)

// floodStrikeRecovery is how many flood strikes a connection earns back per
// second: one who slows down is forgiven.
const floodStrikeRecovery = 1

// requestTimeout bounds a request whose answer a command waits for.
const requestTimeout = 5 * time.Second

// connection is the actor for one client connection. It turns the lines that
// its reader goroutine sends into commands and posts, and renders everything
// the rooms and the registry send it into lines in its outbox. It never
// touches the socket itself: its socket's writer goroutine does.
//
// Every end of a connection is this actor stopping; see handleStopping.
type connection struct {
	// Static after construction.
	id     uint64
	remote string
	srv    *serverDeps
	sock   *socket
	logger *slog.Logger // the server's; every line about this connection adds its conn and remote

	// Owned by Receive.
	nick      string                           // empty until the registry names us
	room      string                           // the room we are in or on our way to
	roomPID   *actor.PID                       // nil while joining
	topic     string                           // our room's topic, for /topic
	renaming  bool                             // a nick change is on its way: later lines wait for it
	flood     *rate.Limiter                    // input lines; nil: no flood control
	strikes   *rate.Limiter                    // refused lines before a flooder is disconnected
	warned    bool                             // told the user lines are being dropped, since the last accepted one
	lastInput time.Time                        // when the user last sent a line, for the idle timeout
	idleTimer *time.Timer                      // sends IdleCheck; nil without an idle timeout
	pending   []string                         // lines held until we are registered and in a room; bounded by the socket's line credits
	reason    messages.LeaveReason             // why we stop; unset means the supervisor stopped us after a failure
	quitMsg   string                           // what the user said with /quit
	goodbye   string                           // the notice to send before bye... at shutdown
	lastPM    *messages.PrivateMessageReceived // for /reply
	ignored   map[uint64]string                // connection id -> nick, for /ignore
	scratch   []byte                           // reused buffer for rendering lines
}

func newConnection(id uint64, remote string, sock *socket, srv *serverDeps) actor.Producer {
	return func() actor.Actor {
		return &connection{
			id:     id,
			remote: remote,
			srv:    srv,
			sock:   sock,
			logger: srv.logger,
		}
	}
}

// Receive handles one message.
func (c *connection) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		c.handleStarted(ctx)
	case *actor.Stopping:
		c.handleStopping(ctx)
	case *actor.Stopped, *actor.Restarting:

	// From the reader and writer goroutines.
	case *messages.LineReceived:
		c.handleInput(ctx, msg.GetText())
	case *messages.IdleCheck:
		c.handleIdleCheck(ctx)
	case *messages.LineTooLong:
		c.srv.metrics.linesRefused.WithLabelValues(refusedTooLong).Inc()
		c.sendError(ctx, fmt.Sprintf("line too long (the limit is %d bytes); it was discarded", msg.GetLimitBytes()))
	case *messages.InputOverflow:
		c.stop(ctx, messages.LeaveReason_LEAVE_REASON_FLOODING)
	case *messages.InterruptReceived:
		c.stop(ctx, messages.LeaveReason_LEAVE_REASON_QUIT)
	case *messages.NegotiationReply:
		c.write(ctx, msg.GetData())
	case *messages.InputClosed:
		c.handleInputClosed(ctx, msg)
	case *messages.OutputFailed:
		c.logger.Debug("write failed", "conn", c.id, "remote", c.remote, "error", msg.GetError())
		c.stop(ctx, msg.GetReason())

	// Answers from the registry and rooms.
	case *messages.ConnectionRegistered:
		c.handleRegistered(ctx, msg)
	case *messages.RoomJoined:
		c.handleRoomJoined(ctx, msg)
	case *messages.RoomLeft:
		c.join(ctx, c.room)
	case *messages.NickChanged:
		c.handleNickChanged(ctx, msg)
	case *messages.PrivateMessageSent:
		c.writeLine(ctx, appendPrivateSent(c.scratch[:0], msg.GetToNick(), msg.GetText()))
	case *messages.MemberList:
		c.handleMemberList(ctx, msg)
	case *messages.UserList:
		c.handleUserList(ctx, msg)
	case *messages.RoomList:
		c.handleRoomList(ctx, msg)
	case *messages.CommandRejected:
		c.handleRejected(ctx, msg)

	// Events.
	case *messages.MessagePosted:
		c.handlePosted(ctx, msg)
	case *messages.MemberJoined:
		c.sendNotice(ctx, msg.GetNick()+" joined "+msg.GetRoom())
	case *messages.MemberLeft:
		c.writeLine(ctx, appendMemberLeft(c.scratch[:0], msg))
	case *messages.MemberRenamed:
		c.handleMemberRenamed(ctx, msg)
	case *messages.TopicChanged:
		c.handleTopicChanged(ctx, msg)
	case *messages.PrivateMessageReceived:
		c.handlePrivateReceived(ctx, msg)

	// From the server.
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	case *messages.Shutdown:
		c.handleShutdown(ctx, msg)
	case *messages.InjectFault:
		injectFault(fmt.Sprintf("connection %d", c.id), msg)
	}
}

// handleStarted starts the socket's goroutines and asks the registry for a
// nick; the welcome follows its answer.
func (c *connection) handleStarted(ctx actor.Context) {
	c.logger.Info("connection opened", "conn", c.id, "remote", c.remote)
	if cfg := c.srv.cfg; cfg.FloodRate > 0 {
		c.flood = rate.NewLimiter(rate.Limit(cfg.FloodRate), cfg.FloodBurst)
		c.strikes = rate.NewLimiter(rate.Limit(floodStrikeRecovery), cfg.FloodStrikes)
	}
	if idle := c.srv.cfg.IdleTimeout; idle > 0 {
		c.lastInput = time.Now()
		c.armIdleTimer(ctx, idle)
	}
	c.write(ctx, telnetOffer) // first, before any line: see telnetOffer
	c.sock.start(ctx.ActorSystem(), ctx.Self(), &c.srv.sockets.wg)
	ctx.Request(c.srv.registry, &messages.RegisterConnection{ConnId: c.id, RemoteAddr: c.remote})
}

func (c *connection) handleRegistered(ctx actor.Context, msg *messages.ConnectionRegistered) {
	c.nick = msg.GetNick()
	c.sendNotice(ctx, fmt.Sprintf("Welcome to actorchat %s, a chat server built on actors.", c.srv.cfg.Version))
	c.sendNotice(ctx, fmt.Sprintf("You are %s. Change it with /nick NAME. Type /help for commands, /quit to leave.", c.nick))
	if motd := c.srv.motd.Load(); motd != nil {
		for _, line := range *motd {
			c.sendNotice(ctx, line)
		}
	}
	c.join(ctx, lobbyName)
}

// join asks the rooms actor to put us into room; lines wait until it answers.
func (c *connection) join(ctx actor.Context, room string) {
	c.room = room
	c.roomPID = nil
	ctx.Request(c.srv.rooms, &messages.JoinRoom{Room: room, Nick: c.nick, ConnId: c.id})
}

func (c *connection) handleRoomJoined(ctx actor.Context, msg *messages.RoomJoined) {
	c.room = msg.GetRoom()
	c.roomPID = ctx.Sender()
	c.topic = msg.GetTopic()
	ctx.Request(c.srv.registry, &messages.UserMoved{Room: c.room})

	c.sendNotice(ctx, fmt.Sprintf("You are in room %s with %s.", c.room, namesList(msg.GetMembers(), int(msg.GetMemberCount())-1)))
	if c.topic != "" {
		c.sendNotice(ctx, "Topic: "+c.topic)
	}
	for _, m := range msg.GetHistory() {
		if _, ignored := c.ignored[m.GetSenderConnId()]; !ignored {
			c.writeLine(ctx, appendHistory(c.scratch[:0], m))
		}
	}
	c.flushPending(ctx)
}

// namesList renders who else is in a room, for the join notice: some of
// the others by name, and how many more there are.
func namesList(some []string, others int) string {
	switch {
	case others <= 0 || len(some) == 0:
		return "nobody else"
	case others > len(some):
		return fmt.Sprintf("%s and %d more", strings.Join(some, ", "), others-len(some))
	}
	return strings.Join(some, ", ")
}

// ready reports whether input can be acted on: we have a nick and a room,
// and no nick change is on its way (so that "/nick bob" then "hi" reads as
// "<bob> hi").
func (c *connection) ready() bool {
	return c.nick != "" && c.roomPID != nil && !c.renaming
}

func (c *connection) flushPending(ctx actor.Context) {
	for len(c.pending) > 0 && c.ready() && c.reason == messages.LeaveReason_LEAVE_REASON_UNSPECIFIED {
		line := c.pending[0]
		c.pending = c.pending[1:]
		c.handleLine(ctx, line)
	}
	if len(c.pending) == 0 {
		c.pending = nil
	}
}

// handleInput counts one input line against the flood limit and acts on it.
// Over the limit the line is dropped (the user is told once per run of
// dropped lines); a client that keeps flooding uses up its strikes and is
// disconnected.
func (c *connection) handleInput(ctx actor.Context, line string) {
	c.srv.metrics.linesReceived.Inc()
	c.lastInput = time.Now()
	if c.flood != nil && !c.flood.Allow() {
		c.srv.metrics.linesRefused.WithLabelValues(refusedFlood).Inc()
		c.sock.lineHandled()
		if !c.strikes.Allow() {
			c.stop(ctx, messages.LeaveReason_LEAVE_REASON_FLOODING)
			return
		}
		if !c.warned {
			c.warned = true
			c.sendError(ctx, fmt.Sprintf("slow down: at most %g lines a second (bursts of %d); lines are being dropped", c.srv.cfg.FloodRate, c.srv.cfg.FloodBurst))
		}
		return
	}
	c.warned = false
	c.handleLine(ctx, line)
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
	idle := c.srv.cfg.IdleTimeout
	if since := time.Since(c.lastInput); since < idle {
		c.armIdleTimer(ctx, idle-since)
		return
	}
	c.stop(ctx, messages.LeaveReason_LEAVE_REASON_IDLE)
}

// handleLine acts on one input line: chat goes to the room, commands run.
// Until we are ready the line waits in pending. Either way the line's credit
// goes back to the reader once the line is handled (see socket.lineHandled),
// so a client that sends faster than we can take it in meets TCP's push-back,
// not a dropped line.
func (c *connection) handleLine(ctx actor.Context, line string) {
	if c.reason != messages.LeaveReason_LEAVE_REASON_UNSPECIFIED {
		return // on our way out
	}
	if !c.ready() {
		c.pending = append(c.pending, line)
		return
	}
	defer c.sock.lineHandled()
	in := parseInput(line)
	switch in.kind {
	case inputChat:
		ctx.Request(c.roomPID, &messages.PostMessage{Text: in.text})
	case inputCommand:
		c.runCommand(ctx, in)
	}
}

func (c *connection) handlePosted(ctx actor.Context, msg *messages.MessagePosted) {
	if _, ignored := c.ignored[msg.GetSenderConnId()]; ignored {
		return
	}
	c.srv.metrics.deliveries.Inc()
	c.writeLine(ctx, appendPosted(c.scratch[:0], msg))
}

func (c *connection) handleNickChanged(ctx actor.Context, msg *messages.NickChanged) {
	c.nick = msg.GetNewNick()
	c.renaming = false
	ctx.Request(c.roomPID, &messages.RenameMember{NewNick: c.nick})
	c.flushPending(ctx)
}

func (c *connection) handleMemberRenamed(ctx actor.Context, msg *messages.MemberRenamed) {
	c.sendNotice(ctx, fmt.Sprintf("%s is now known as %s", msg.GetOldNick(), msg.GetNewNick()))
}

func (c *connection) handleTopicChanged(ctx actor.Context, msg *messages.TopicChanged) {
	c.topic = msg.GetTopic()
	if c.topic == "" {
		c.sendNotice(ctx, fmt.Sprintf("%s cleared the topic", msg.GetNick()))
		return
	}
	c.sendNotice(ctx, fmt.Sprintf("%s set the topic: %s", msg.GetNick(), c.topic))
}

func (c *connection) handlePrivateReceived(ctx actor.Context, msg *messages.PrivateMessageReceived) {
	if _, ignored := c.ignored[msg.GetFromConnId()]; ignored {
		return
	}
	c.lastPM = msg
	c.srv.metrics.deliveries.Inc()
	c.srv.metrics.privateMessages.Inc()
	c.writeLine(ctx, appendPrivateReceived(c.scratch[:0], msg.GetFromNick(), msg.GetText()))
}

func (c *connection) handleMemberList(ctx actor.Context, msg *messages.MemberList) {
	nicks := msg.GetNicks()
	c.sendNotice(ctx, fmt.Sprintf("%d in %s: %s", len(nicks), msg.GetRoom(), strings.Join(nicks, ", ")))
}

func (c *connection) handleUserList(ctx actor.Context, msg *messages.UserList) {
	users := msg.GetUsers()
	c.sendNotice(ctx, fmt.Sprintf("%d online:", len(users)))
	for _, u := range users {
		c.sendNotice(ctx, fmt.Sprintf("  %s in %s", u.GetNick(), u.GetRoom()))
	}
}

func (c *connection) handleRoomList(ctx actor.Context, msg *messages.RoomList) {
	list := msg.GetRooms()
	c.sendNotice(ctx, fmt.Sprintf("%d rooms:", len(list)))
	for _, r := range list {
		line := fmt.Sprintf("  %s (%d)", r.GetName(), r.GetMembers())
		if r.GetTopic() != "" {
			line += " " + r.GetTopic()
		}
		c.sendNotice(ctx, line)
	}
}

// handleRejected shows why a request failed. A failed join puts us back in
// the lobby, so that we are never left without a room.
func (c *connection) handleRejected(ctx actor.Context, msg *messages.CommandRejected) {
	c.sendError(ctx, msg.GetReason())
	switch msg.GetCommand() {
	case "nick":
		c.renaming = false
		c.flushPending(ctx)
	case "join":
		if c.room != lobbyName {
			c.join(ctx, lobbyName)
		}
	}
}

func (c *connection) handleInputClosed(ctx actor.Context, msg *messages.InputClosed) {
	if msg.GetError() != "" {
		c.logger.Debug("read failed", "conn", c.id, "remote", c.remote, "error", msg.GetError())
	}
	c.stop(ctx, messages.LeaveReason_LEAVE_REASON_CONNECTION_LOST)
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
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	// The registry first: by the time anyone reads the leave notice, the
	// nick is free.
	ctx.Request(c.srv.registry, &messages.UnregisterConnection{})
	if c.roomPID != nil {
		ctx.Request(c.roomPID, &messages.LeaveRoom{Reason: c.reason, Message: c.quitMsg})
	}
	c.sock.finish(c.farewell(), c.srv.cfg.FlushTimeout, c.reason == messages.LeaveReason_LEAVE_REASON_SLOW_CONSUMER)
	c.srv.metrics.disconnects.WithLabelValues(reasonText(c.reason)).Inc()
	c.logger.Info("connection closed", "conn", c.id, "remote", c.remote, "nick", c.nick, "room", c.room, "reason", reasonText(c.reason))
}

// farewell is what the client reads last, by reason.
func (c *connection) farewell() []byte {
	var b []byte
	switch c.reason {
	case messages.LeaveReason_LEAVE_REASON_CONNECTION_LOST:
		return nil // nobody is listening
	case messages.LeaveReason_LEAVE_REASON_SLOW_CONSUMER:
		b = appendError(b, "disconnected: you are not reading fast enough (slow consumer)")
	case messages.LeaveReason_LEAVE_REASON_FLOODING:
		b = appendError(b, "disconnected: you sent too much too fast (flooding)")
	case messages.LeaveReason_LEAVE_REASON_IDLE:
		b = appendError(b, fmt.Sprintf("disconnected: idle for more than %v", c.srv.cfg.IdleTimeout))
	case messages.LeaveReason_LEAVE_REASON_ERROR:
		b = appendError(b, "internal server error; your connection is closed (sorry)")
	case messages.LeaveReason_LEAVE_REASON_SHUTDOWN:
		if c.goodbye != "" {
			b = appendNotice(b, c.goodbye)
		}
	}
	return append(b, byeLine...)
}

func (c *connection) sendNotice(ctx actor.Context, text string) {
	c.writeLine(ctx, appendNotice(c.scratch[:0], text))
}

func (c *connection) sendError(ctx actor.Context, text string) {
	c.writeLine(ctx, appendError(c.scratch[:0], text))
}

// writeLine queues a rendered line and keeps the grown buffer for the next.
func (c *connection) writeLine(ctx actor.Context, line []byte) {
	c.scratch = line[:0]
	c.write(ctx, line)
}

// write queues bytes for the client; a client whose outbox is full is a slow
// consumer and is disconnected.
func (c *connection) write(ctx actor.Context, p []byte) {
	if err := c.sock.out.write(p); err != nil {
		c.stop(ctx, messages.LeaveReason_LEAVE_REASON_SLOW_CONSUMER)
	}
}
