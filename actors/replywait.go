package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/messages"
)

// waitKind is the answer a connection waits for before it acts on the next
// input line. Each has its own answer message (or CommandRejected naming its
// Request), so an answer is matched by type, never by text.
type waitKind uint8

const (
	waitNone        waitKind = iota
	waitRegister             // ConnectionRegistered from the registry
	waitJoin                 // RoomJoined from the room (or CommandRejected, JOIN)
	waitNick                 // NickChanged (or CommandRejected, NICK)
	waitRename               // our own MemberRenamed, back from our room
	waitMembers              // MemberList
	waitUsers                // UserList
	waitRooms                // RoomList
	waitPrivate              // PrivateMessageSent (or CommandRejected, MSG)
	waitAction               // our own action, back from our room
	waitTopic                // our own TopicChanged, back from our room
	waitResolve              // NickResolved (or CommandRejected, RESOLVE)
	waitIgnored              // MembersDescribed
	waitWhois                // UserDescription (or CommandRejected, WHOIS)
	waitAway                 // AwaySet (or CommandRejected, AWAY)
	waitHistory              // HistoryShown
	waitAccount              // Identified, PasswordChanged or AccountUnregistered (or CommandRejected, ACCOUNT)
	waitGhost                // NickGhosted (or CommandRejected, GHOST)
	waitModerate             // Moderated (or CommandRejected, MODERATE)
	waitAdmin                // AdminDone (or CommandRejected, ADMIN)
	waitOper                 // Opered (or CommandRejected, OPER)
	waitAccountName          // TargetResolved: is a word an account's name
)

// replyWait is the one answer a connection waits for. Every wait ends, with
// the answer or, after the request timeout, with a ReplyTimedOut: a peer that
// panicked on the request (its supervisor resumes it without the message) or
// that lives on a node that died leaves nobody stuck.
type replyWait struct {
	kind    waitKind
	command string      // what the user typed, for the timeout's error line
	seq     uint64      // numbers the waits, so that a stale timer is ignored
	timer   *time.Timer // sends ReplyTimedOut{seq}
	then    func(*messages.NickResolved)
	// thenTarget continues a command with the registry's TargetResolved.
	thenTarget func(*messages.TargetResolved)
}

// ask sends msg (whose reply_to is us) to pid, with us as its sender, and
// holds the input that follows until the answer of kind comes (see
// answered) or the request timeout passes.
func (c *connection) ask(ctx actor.Context, pid *actor.PID, msg any, kind waitKind, command string) {
	c.wait.seq++
	seq := c.wait.seq
	c.wait.kind = kind
	c.wait.command = command
	system, self := ctx.ActorSystem(), ctx.Self()
	c.wait.timer = time.AfterFunc(c.env.cfg.RequestTimeout, func() { system.Root.Send(self, &messages.ReplyTimedOut{Seq: seq}) })
	ctx.Request(pid, msg)
}

// answered ends the wait if it is for kind, and reports whether it was. The
// caller acts on the answer, then on the lines that waited (flushPending).
func (c *connection) answered(kind waitKind) bool {
	if c.wait.kind != kind || kind == waitNone {
		return false
	}
	c.wait.timer.Stop()
	c.wait = replyWait{seq: c.wait.seq}
	return true
}

// handleReplyTimedOut ends a wait whose answer did not come in time: the user
// reads one line saying the command failed, the connection goes back to a
// state it can go on from, and the lines that waited are acted on. An answer
// that comes later still shows, but waits for nothing.
func (c *connection) handleReplyTimedOut(ctx actor.Context, msg *messages.ReplyTimedOut) {
	if msg.GetSeq() != c.wait.seq || c.wait.kind == waitNone {
		return // answered in time
	}
	w := c.wait
	c.wait = replyWait{seq: c.wait.seq}
	c.env.metrics.requestTimeouts.Inc()
	c.logger.Warn("no answer in time", "conn", c.id, "nick", c.nick, "command", w.command, "timeout", c.env.cfg.RequestTimeout)
	switch w.kind {
	case waitRegister:
		c.stop(ctx, messages.LeaveReason_LEAVE_REASON_ERROR)
		return
	case waitJoin:
		switch {
		case c.here != nil:
			c.sendError(ctx, fmt.Sprintf("%s failed: the room did not answer in time; you are still in %s, try again later", w.command, c.here.name))
		case c.joinTo != lobbyName:
			c.sendError(ctx, fmt.Sprintf("%s failed: the room did not answer in time; back to the lobby, try again later", w.command))
		default:
			c.sendError(ctx, "the lobby did not answer in time; you are in no room: /join lobby to try again")
		}
		c.joinRefused(ctx, true)
		return
	case waitRename:
		c.sendNotice(ctx, "You are now "+c.nick+".")
	default:
		c.sendError(ctx, fmt.Sprintf("%s failed: no answer in time; please try again", w.command))
	}
	c.flushPending(ctx)
}
