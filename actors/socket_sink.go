package actors

import (
	"errors"
	"os"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/text"
	"github.com/actorchat/actorchat/messages"
)

// socketSink turns what a connection's socket reports (netio.Sink) into
// messages to its connection actor. It runs on the socket's reader and
// writer goroutines: sanitizing a line there keeps that work off the actor.
type socketSink struct {
	system *actor.ActorSystem
	pid    *actor.PID
	irc    bool // the line is IRC's: CTCP's \x01 is kept (see text.SanitizeIRC)
}

func (s socketSink) send(msg any) { s.system.Root.Send(s.pid, msg) }

func (s socketSink) Line(line []byte) {
	if s.irc {
		s.send(&messages.LineReceived{Text: text.SanitizeIRC(line)})
		return
	}
	s.send(&messages.LineReceived{Text: text.Sanitize(line)})
}

func (s socketSink) LineTooLong(limit int) {
	s.send(&messages.LineTooLong{LimitBytes: uint32(limit)})
}

func (s socketSink) Interrupt() { s.send(&messages.InterruptReceived{}) }

func (s socketSink) InputOverflow() { s.send(&messages.InputOverflow{}) }

func (s socketSink) TelnetReplies(replies []byte) {
	s.send(&messages.NegotiationReply{Data: replies})
}

// InputClosed: err nil is the client's clean end of stream.
func (s socketSink) InputClosed(err error) {
	msg := &messages.InputClosed{}
	if err != nil {
		msg.Error = err.Error()
	}
	s.send(msg)
}

// OutputFailed tells a write that timed out (the client stopped reading)
// from a broken connection.
func (s socketSink) OutputFailed(err error) {
	reason := messages.LeaveReason_LEAVE_REASON_CONNECTION_LOST
	if errors.Is(err, os.ErrDeadlineExceeded) {
		reason = messages.LeaveReason_LEAVE_REASON_SLOW_CONSUMER
	}
	s.send(&messages.OutputFailed{Reason: reason, Error: err.Error()})
}
