package text

import (
	"time"

	"github.com/actorchat/actorchat/internal/telnet"
	"github.com/actorchat/actorchat/messages"
)

// Line is the line protocol as a codec: how a connection of the plain and
// TLS listeners reads what its user types (Parse: chat or a command) and
// writes what happens (the lines of docs/protocol.md). A connection holds
// its codec and renders through it, so that another protocol (IRC, a
// WebSocket) is another codec, not another connection. Every method that
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

// Parse reads one input line.
func (*Line) Parse(line string) Input { return Parse(line) }

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

// Bye is the last line before the server closes the connection.
func (*Line) Bye() []byte { return []byte(ByeLine) }

func appendMark(dst []byte, mark string) []byte {
	if mark == "" {
		return dst
	}
	return AppendRoomTag(dst, mark)
}
