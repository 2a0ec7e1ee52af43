package actors

import (
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/text"
	"github.com/actorchat/actorchat/messages"
)

// codec is how a connection's protocol renders what happens (text.Line:
// the line protocol of the plain and TLS listeners; irc.Codec: IRC). The
// connection decides what to say and to whom (mark names the room of a
// line that is not of the current one, which the line protocol shows and
// IRC, which names every line's channel, does not need); the codec decides
// how it reads on the wire. What the user types is read by the protocol's
// input side (text.Parse; the IRC commands of connection_irc.go). Another
// protocol is another codec, chosen by its listener, in the same
// connection actor: a second actor per delivery would cost throughput.
type codec interface {
	Offer() []byte
	AppendPost(dst []byte, m *messages.MessagePosted, mark string, bell bool) []byte
	AppendHistory(dst []byte, m *messages.MessagePosted, mark string, now time.Time) []byte
	AppendNotice(dst []byte, mark, line string) []byte
	AppendRoomNotice(dst []byte, room, mark, line string) []byte
	AppendNoticeOf(dst []byte, parts ...string) []byte
	AppendError(dst []byte, line string) []byte
	AppendPrivate(dst []byte, from, text string, bell bool) []byte
	AppendPrivateSent(dst []byte, to, text string) []byte
	AppendInRoom(dst []byte, room string, names []string, others int) []byte
	AppendTopic(dst []byte, room, topic, by string, atMillis int64) []byte
	AppendJoined(dst []byte, room, mark, nick string) []byte
	AppendMemberLeft(dst []byte, m *messages.MemberLeft, mark string) []byte
	AppendRenamed(dst []byte, room, mark, memberID, oldNick, newNick string) []byte
	AppendOwnNick(dst []byte, oldNick, newNick string) []byte
	AppendTopicSet(dst []byte, room, mark, nick, topic string) []byte
	AppendKicked(dst []byte, room, by, reason string, banned bool) []byte
	AppendModeChange(dst []byte, room, mark, text, by, mode, target string) []byte
	AppendInvite(dst []byte, by, room, text string) []byte
	AppendWall(dst []byte, by, wall, text string) []byte
	AppendTooLong(dst []byte, limit int) []byte
	Bye() []byte
}

// The listeners' codecs: telnet clients are offered binary mode, the TLS
// port's are not.
var (
	telnetLines codec = &text.Line{Telnet: true}
	tlsLines    codec = &text.Line{}
)

// A connection's output: what it renders for its client and how it goes
// out. Lines are rendered into pooled buffers (an idle connection holds
// none), queued in the socket's outbox and flushed once per turn of the
// mailbox (see write); a client whose outbox overflows is a slow consumer.

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

func (c *connection) handlePosted(ctx actor.Context, msg *messages.MessagePosted) {
	if msg.GetSenderMemberId() == c.member {
		c.acked(msg.GetRoom(), msg.GetSenderSeq())
		if !msg.GetAction() && !c.echoesOwn() {
			return // in a cluster the room echoes our chat lines: we showed nothing when we typed them
		}
	}
	if !c.ours(msg.GetRoom()) {
		return
	}
	line := c.appendPosted(c.scratchBuf(), msg, c.mark(msg.GetRoom()))
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
	mark := c.mark(msg.GetRoom())
	var actions []*messages.MessagePosted // our own, which /me waits for
	for _, m := range msg.GetPosts() {
		if m.GetSenderMemberId() == c.member {
			c.acked(msg.GetRoom(), m.GetSenderSeq())
			if m.GetAction() {
				actions = append(actions, m)
			} else if !c.echoesOwn() {
				continue
			}
		}
		n := len(buf)
		if buf = c.appendPosted(buf, m, mark); len(buf) > n {
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

// echoesOwn reports whether our own chat lines come back to us: an IRC
// client with echo-message.
func (c *connection) echoesOwn() bool { return c.irc != nil && c.irc.Echo }

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

// appendPosted renders a post for our user, marked with mark (see
// connection.mark: the caller works it out once a batch), with the bell if
// it mentions them; nothing for a user we ignore. The caller counts the
// delivery.
func (c *connection) appendPosted(dst []byte, msg *messages.MessagePosted, mark string) []byte {
	own := msg.GetSenderMemberId() == c.member
	if c.ignored != nil && !own {
		if _, ignored := c.ignored[msg.GetSenderMemberId()]; ignored {
			return dst
		}
	}
	return c.codec.AppendPost(dst, msg, mark, !c.noBell && !own && text.Mentions(msg.GetText(), c.nick))
}

func (c *connection) handlePrivateReceived(ctx actor.Context, msg *messages.PrivateMessageReceived) {
	if _, ignored := c.ignored[msg.GetFromMemberId()]; ignored {
		return
	}
	c.lastPM = msg
	c.env.metrics.deliveries.Inc()
	c.env.metrics.privateMessages.Inc()
	c.writeLine(ctx, c.codec.AppendPrivate(c.scratchBuf(), msg.GetFromNick(), msg.GetText(), !c.noBell))
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

// farewell is what the client reads last, by reason.
func (c *connection) farewell() []byte {
	var b []byte
	switch c.reason {
	case messages.LeaveReason_LEAVE_REASON_CONNECTION_LOST:
		return nil // nobody is listening
	case messages.LeaveReason_LEAVE_REASON_SLOW_CONSUMER:
		b = c.codec.AppendError(b, "disconnected: you are not reading fast enough (slow consumer)")
	case messages.LeaveReason_LEAVE_REASON_FLOODING:
		b = c.codec.AppendError(b, "disconnected: you sent too much too fast (flooding)")
	case messages.LeaveReason_LEAVE_REASON_IDLE:
		b = c.codec.AppendError(b, fmt.Sprintf("disconnected: idle for more than %v", c.env.cfg.IdleTimeout))
	case messages.LeaveReason_LEAVE_REASON_ERROR:
		b = c.codec.AppendError(b, "internal server error; your connection is closed (sorry)")
	case messages.LeaveReason_LEAVE_REASON_SHUTDOWN:
		if c.goodbye != "" {
			b = c.codec.AppendNotice(b, "", c.goodbye)
		}
	}
	return append(b, c.codec.Bye()...)
}

func (c *connection) sendNotice(ctx actor.Context, line string) {
	c.writeLine(ctx, c.codec.AppendNotice(c.scratchBuf(), "", line))
}

// sendNoticeOf writes a notice made of parts, without building it as a
// string first.
func (c *connection) sendNoticeOf(ctx actor.Context, parts ...string) {
	c.writeLine(ctx, c.codec.AppendNoticeOf(c.scratchBuf(), parts...))
}

func (c *connection) sendError(ctx actor.Context, line string) {
	c.writeLine(ctx, c.codec.AppendError(c.scratchBuf(), line))
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
