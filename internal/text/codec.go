package text

import (
	"strconv"
	"time"

	"github.com/actorchat/actorchat/internal/telnet"
	"github.com/actorchat/actorchat/messages"
)

// Line is the line protocol as a codec: how a connection of the plain and
// TLS listeners writes what happens (the lines of docs/protocol.md; what
// its user types is read by Parse). A connection holds its codec and
// renders through it, so that another protocol (IRC, a WebSocket) is
// another codec, not another connection. Every method that
// takes mark starts the line with "[mark] " when mark is not empty: the
// line is of a room other than the reader's current one.
type Line struct {
	// Telnet: the listener speaks to telnet clients, which are offered
	// binary mode first (telnet.Offer); the TLS port's clients are not.
	Telnet bool
}

// Offer is what the connection writes first; nil for nothing. The caller
// must not change it.
func (l *Line) Offer() []byte {
	if l.Telnet {
		return telnetOffer
	}
	return nil
}

var telnetOffer = []byte(telnet.Offer)

// AppendPost renders a post, with the bell when it mentions the reader.
func (*Line) AppendPost(dst []byte, m *messages.MessagePosted, mark string, bell bool) []byte {
	if mark == "" && !bell { // nearly every delivery
		return AppendPosted(dst, m)
	}
	start := len(dst)
	dst = AppendPosted(appendMark(dst, mark), m)
	if bell {
		dst = append(dst[:start], WithBell(dst[start:])...)
	}
	return dst
}

// AppendHistory renders a post replayed from a room's history.
func (*Line) AppendHistory(dst []byte, m *messages.MessagePosted, mark string, now time.Time) []byte {
	return AppendHistory(appendMark(dst, mark), m, now)
}

// AppendNotice renders a notice (of a room, if marked).
func (*Line) AppendNotice(dst []byte, mark, line string) []byte {
	return AppendNotice(appendMark(dst, mark), line)
}

// AppendNoticeOf renders a notice made of parts.
func (*Line) AppendNoticeOf(dst []byte, parts ...string) []byte { return AppendNoticeOf(dst, parts...) }

// AppendError renders an error.
func (*Line) AppendError(dst []byte, line string) []byte { return AppendError(dst, line) }

// AppendPrivate renders a private message to the reader, with the bell.
func (*Line) AppendPrivate(dst []byte, from, text string, bell bool) []byte {
	dst = AppendPrivateReceived(dst, from, text)
	if bell {
		dst = WithBell(dst)
	}
	return dst
}

// AppendPrivateSent confirms a private message the reader sent.
func (*Line) AppendPrivateSent(dst []byte, to, text string) []byte {
	return AppendPrivateSent(dst, to, text)
}

// AppendInRoom greets the reader in a room it joined.
func (*Line) AppendInRoom(dst []byte, room string, names []string, others int) []byte {
	return AppendInRoom(dst, room, names, others)
}

// AppendMemberLeft renders a member's leave.
func (*Line) AppendMemberLeft(dst []byte, m *messages.MemberLeft, mark string) []byte {
	return AppendMemberLeft(appendMark(dst, mark), m)
}

// AppendRoomNotice renders a notice of a room, marked with it when mark
// is not empty.
func (*Line) AppendRoomNotice(dst []byte, _, mark, line string) []byte {
	return AppendNotice(appendMark(dst, mark), line)
}

// AppendTopic tells a user who joined a room its topic; nothing when it
// has none.
func (*Line) AppendTopic(dst []byte, _, topic, _ string, _ int64) []byte {
	if topic == "" {
		return dst
	}
	return AppendNoticeOf(dst, "Topic: ", topic)
}

// AppendJoined renders another member's join, which names its room.
func (*Line) AppendJoined(dst []byte, room, _, nick string) []byte {
	return AppendNoticeOf(dst, nick, " joined ", room)
}

// AppendRenamed renders a member's rename in a room.
func (*Line) AppendRenamed(dst []byte, _, mark, _, oldNick, newNick string) []byte {
	return AppendNoticeOf(appendMark(dst, mark), oldNick, " is now known as ", newNick)
}

// AppendOwnNick renders the reader's rename when it is in no room.
func (*Line) AppendOwnNick(dst []byte, _, newNick string) []byte {
	return AppendNoticeOf(dst, "You are now ", newNick, ".")
}

// AppendTopicSet renders a topic change; an empty topic clears it.
func (*Line) AppendTopicSet(dst []byte, _, mark, nick, topic string) []byte {
	if topic == "" {
		return AppendNoticeOf(appendMark(dst, mark), nick, " cleared the topic")
	}
	return AppendNoticeOf(appendMark(dst, mark), nick, " set the topic: ", topic)
}

// AppendKicked renders the reader's own kick or ban from a room.
func (*Line) AppendKicked(dst []byte, room, by, reason string, banned bool) []byte {
	what := "kicked"
	if banned {
		what = "banned"
	}
	if reason != "" {
		reason = ": " + reason
	}
	return AppendNoticeOf(dst, "You were ", what, " from ", room, " by ", by, reason)
}

// AppendModeChange renders a room's change of a rule or a right: its text.
func (*Line) AppendModeChange(dst []byte, _, mark, text, _, _, _ string) []byte {
	return AppendNotice(appendMark(dst, mark), text)
}

// AppendInvite renders an invitation: its text.
func (*Line) AppendInvite(dst []byte, _, _, text string) []byte { return AppendNotice(dst, text) }

// AppendWall renders a server operator's /wall: its text.
func (*Line) AppendWall(dst []byte, _, _, text string) []byte { return AppendNotice(dst, text) }

// AppendTooLong answers a line over the limit, which was discarded.
func (*Line) AppendTooLong(dst []byte, limit int) []byte {
	return AppendError(dst, "line too long (the limit is "+strconv.Itoa(limit)+" bytes); it was discarded")
}

// Bye is the last line before the server closes the connection.
func (*Line) Bye() []byte { return []byte(ByeLine) }

func appendMark(dst []byte, mark string) []byte {
	if mark == "" {
		return dst
	}
	return AppendRoomTag(dst, mark)
}
