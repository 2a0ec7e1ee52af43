package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/flood"
	"github.com/actorchat/actorchat/internal/text"
	"github.com/actorchat/actorchat/messages"
)

// A connection's input: the lines its reader goroutine sends, held to the
// flood allowance (internal/flood), to the idle timeout, and to the order
// the user typed them in: a line that comes while a request is unanswered
// waits in pending (see ready and requests.go).

// floodStrikeRecovery is how many flood strikes a connection earns back per
// second: one who slows down is forgiven.
const floodStrikeRecovery = 1

// pendingLine is an input line waiting for an answer to an earlier one.
type pendingLine struct {
	text   string
	credit bool // it still holds its reader credit (see netio.Socket.LineHandled)
}

// ready reports whether input can be acted on: we have a nick and no answer
// is awaited, so that "/nick bob" then "hi" reads as "<bob> hi" and "/who"
// then "/quit" shows the list first.
func (c *connection) ready() bool {
	return (c.nick != "" || c.irc != nil) && !c.waiting() && !c.reclaim.busy()
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
	if c.irc != nil { // IRC has no prompts: a password comes as a command's parameter
		c.ircLine(ctx, line)
		return
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
