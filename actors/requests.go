package actors

import (
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/actorchat/actorchat/messages"
)

// A connection's requests: the questions it asked other actors and waits
// for, in one table keyed by request id. A request's reply_to carries its
// id (ActorRef.request_id), and the peer's answer, or its refusal
// (CommandRejected), comes back in a Reply with it; an answer that is the
// room's echo of the user's own change carries the id itself (a rename's
// MemberRenamed, a topic's TopicChanged, an action's client_seq). One place,
// settle, finds the request, runs its continuation and resumes the input
// that waited; every request ends, with its answer or, after the request
// timeout, with a ReplyTimedOut: a peer that panicked on the request (its
// supervisor resumes it without the message) or that lives on a node that
// died leaves nobody stuck.
//
// A command that asks a question is its own file's business: it calls ask
// with the message and what to do with the answer; the peer answers with
// reply (registry.go) and the answer type is listed in the Reply's oneof.
//
// Replies are ordinary messages, not futures with ReenterAfter: at the
// pinned protoactor a continuation is a system message and would overtake
// what the peer sent before it.

// pendingRequest is one question a connection waits for.
type pendingRequest struct {
	id      uint64
	command string      // what the user typed, for the timeout's error line
	timer   *time.Timer // sends ReplyTimedOut{id}
	// then continues with the answer; nil: nothing to do but go on. It
	// takes the connection, so that a method expression, which costs no
	// allocation, can be one (see thenRegistered).
	then func(c *connection, ctx actor.Context, answer proto.Message)
	// failed runs when the request was refused (its reason is shown first)
	// or timed out; nil: a timeout says "COMMAND failed: no answer in time".
	failed func(c *connection, ctx actor.Context, timedOut bool)
	// refused shows a refusal's reason; nil: as an error line. (IRC
	// answers a refusal with the numeric its command has.)
	refused func(c *connection, ctx actor.Context, reason string)
	// byRegistry: only the registry's answer counts (who we are); another
	// sender's is ignored, and the request waits on. A refusal may come from
	// whoever was asked: it grants nothing.
	byRegistry bool
}

// on adapts a continuation that takes one answer type; another type (which
// no peer sends) is dropped.
func on[T proto.Message](f func(c *connection, ctx actor.Context, answer T)) func(*connection, actor.Context, proto.Message) {
	return func(c *connection, ctx actor.Context, answer proto.Message) {
		if m, ok := answer.(T); ok {
			f(c, ctx, m)
		}
	}
}

// The continuations of the requests every connection makes, made once.
var (
	thenRegistered = on((*connection).registered)
	thenRoomJoined = on((*connection).roomJoined)
)

// nextID numbers a request or a post: one counter, so that a /me, whose
// answer is its own post coming back, is found by its client_seq.
func (c *connection) nextID() uint64 {
	c.seq++
	return c.seq
}

// ask sends msg to pid as request: its reply_to names us and a fresh
// request id, it goes with us as its sender, and the input that follows
// waits until the answer comes (then) or the request fails.
func (c *connection) ask(ctx actor.Context, pid *actor.PID, msg proto.Message, command string, then func(*connection, actor.Context, proto.Message)) *pendingRequest {
	p := c.await(ctx, c.nextID(), command, then)
	setReplyTo(msg, requestRef(ctx.Self(), p.id))
	ctx.Request(pid, msg)
	return p
}

// await opens request id without sending anything: the caller sends a
// message that carries id another way (an echo's request_id, a post's
// client_seq).
func (c *connection) await(ctx actor.Context, id uint64, command string, then func(*connection, actor.Context, proto.Message)) *pendingRequest {
	system, self := ctx.ActorSystem(), ctx.Self()
	p := &pendingRequest{id: id, command: command, then: then,
		timer: time.AfterFunc(c.env.cfg.RequestTimeout, func() { system.Root.Send(self, &messages.ReplyTimedOut{Seq: id}) })}
	c.requests = append(c.requests, p)
	return p
}

// request is the open request id; nil if there is none (a few are open at
// once at most: a slice, which an idle connection holds none of).
func (c *connection) request(id uint64) *pendingRequest {
	for _, p := range c.requests {
		if p.id == id {
			return p
		}
	}
	return nil
}

// end takes p out of the table and stops its timer.
func (c *connection) end(p *pendingRequest) {
	p.timer.Stop()
	if i := slices.Index(c.requests, p); i >= 0 {
		c.requests = slices.Delete(c.requests, i, i+1)
	}
	if len(c.requests) == 0 {
		c.requests = nil
	}
}

// setReplyTo sets a request's reply_to field.
func setReplyTo(msg proto.Message, ref *messages.ActorRef) {
	m := msg.ProtoReflect()
	f := m.Descriptor().Fields().ByName("reply_to")
	if f == nil {
		panic(fmt.Sprintf("%T has no reply_to: ask cannot wait for its answer", msg))
	}
	m.Set(f, protoreflect.ValueOfMessage(ref.ProtoReflect()))
}

// waiting reports whether a request is unanswered.
func (c *connection) waiting() bool { return len(c.requests) > 0 }

func (c *connection) handleReply(ctx actor.Context, msg *messages.Reply) {
	if answer := msg.Message(); answer != nil {
		c.settle(ctx, msg.GetRequestId(), answer)
	}
}

// settle ends request id with its answer: a refusal is shown; then the
// request's continuation runs, and the input that waited is acted on. An
// answer to no request (it came after its timeout, or is a second one)
// goes to lateAnswer.
func (c *connection) settle(ctx actor.Context, id uint64, answer proto.Message) {
	p := c.request(id)
	if p == nil {
		c.lateAnswer(ctx, answer)
		return
	}
	r, refused := answer.(*messages.CommandRejected)
	if p.byRegistry && !refused && !c.fromRegistry(ctx) {
		return
	}
	c.end(p)
	if refused {
		if p.refused != nil {
			p.refused(c, ctx, r.GetReason())
		} else {
			c.sendError(ctx, r.GetReason())
		}
		if p.failed != nil {
			p.failed(c, ctx, false)
		}
	} else if p.then != nil {
		p.then(c, ctx, answer)
	}
	c.flushPending(ctx)
}

// lateAnswer handles an answer whose request had ended: the user was told
// then that it failed. What the answer changed elsewhere still counts: a
// room that took us after all is left, a nick or an identity the registry
// gave us is ours.
func (c *connection) lateAnswer(ctx actor.Context, answer proto.Message) {
	switch m := answer.(type) {
	case *messages.RoomJoined:
		c.leaveUnwanted(ctx, m)
	case *messages.NickChanged:
		c.takeNick(ctx, m, false)
	case *messages.Identified:
		if c.fromRegistry(ctx) {
			c.identified(ctx, m)
		}
	case *messages.Opered:
		if c.fromRegistry(ctx) {
			c.opered(ctx, m, false)
		}
	case *messages.AccountUnregistered:
		if c.fromRegistry(ctx) {
			c.handleAccountUnregistered(ctx, m)
		}
	case *messages.CommandRejected:
		c.sendError(ctx, m.GetReason())
	}
}

// handleReplyTimedOut ends a request whose answer did not come in time: the
// user reads one line saying the command failed, the connection goes back
// to a state it can go on from, and the lines that waited are acted on. An
// answer that comes later waits for nothing (lateAnswer).
func (c *connection) handleReplyTimedOut(ctx actor.Context, msg *messages.ReplyTimedOut) {
	p := c.request(msg.GetSeq())
	if p == nil {
		return // answered in time
	}
	c.end(p)
	c.env.metrics.requestTimeouts.Inc()
	c.logger.Warn("no answer in time", "conn", c.id, "nick", c.nick, "command", p.command, "timeout", c.env.cfg.RequestTimeout)
	if p.failed != nil {
		p.failed(c, ctx, true)
	} else {
		c.sendError(ctx, fmt.Sprintf("%s failed: no answer in time; please try again", p.command))
	}
	c.flushPending(ctx)
}

// stopRequests stops the timers of the requests still open, at the end.
func (c *connection) stopRequests() {
	for _, p := range c.requests {
		p.timer.Stop()
	}
}
