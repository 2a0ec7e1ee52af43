package irc

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/actorchat/actorchat/internal/text"
	"github.com/actorchat/actorchat/messages"
)

// Host is the host part of every user's source (nick!nick@Host): users'
// addresses are not shown to other users, as on the line protocol.
const Host = "actorchat"

// Codec renders what happens in the chat for one IRC client: the events of
// its channels as the IRC messages clients keep their state by (JOIN,
// PART, QUIT, NICK, TOPIC, KICK, PRIVMSG), and the chat's notices as server
// NOTICEs. It is one connection's (it knows its nick), used by that
// connection's actor only. A room is a channel (#room), and a chat nick
// reads as Nick makes it.
type Codec struct {
	Server string // the server's name, the source of numerics and notices
	Member string // the connection's member id: its own posts are not sent back to it
	Nick   string // the connection's chat nick; "" until it has one

	// The IRCv3 capabilities the client enabled that change what it reads.
	ServerTime bool // server-time: every message from a user carries @time=
	Echo       bool // echo-message: its own posts and messages come back to it

	// Events a client must see once though several shared channels report
	// them: a member's rename, a member's quit.
	seen [8]string
	next int
}

// Target is the nick the client knows itself by, the first parameter of
// what the server sends it: "*" before it has one.
func (c *Codec) Target() string {
	if c.Nick == "" {
		return "*"
	}
	return Nick(c.Nick)
}

// source is the source of a message a chat user sends.
func source(chatNick string) string {
	n := Nick(chatNick)
	return n + "!" + n + "@" + Host
}

// AppendNumeric renders a numeric reply to the client.
func (c *Codec) AppendNumeric(dst []byte, numeric string, params ...string) []byte {
	return Append(dst, c.Server, numeric, append([]string{c.Target()}, params...)...)
}

// AppendFrom renders a message from a chat user, now.
func (c *Codec) AppendFrom(dst []byte, chatNick, command string, params ...string) []byte {
	return Append(c.stamp(dst, time.Now()), source(chatNick), command, params...)
}

// stamp starts a message with its time tag, for a client with server-time.
func (c *Codec) stamp(dst []byte, at time.Time) []byte {
	if !c.ServerTime {
		return dst
	}
	dst = append(dst, "@time="...)
	dst = at.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	return append(dst, ' ')
}

// appendText is AppendText with each message stamped with at.
func (c *Codec) appendText(dst []byte, at time.Time, src, command, target, body string, action bool) []byte {
	if !c.ServerTime {
		return AppendText(dst, src, command, target, body, action)
	}
	lines := AppendText(nil, src, command, target, body, action)
	for len(lines) > 0 {
		end := bytes.Index(lines, []byte("\r\n")) + 2
		dst = append(c.stamp(dst, at), lines[:end]...)
		lines = lines[end:]
	}
	return dst
}

// Offer is nothing: IRC clients are not offered telnet.
func (*Codec) Offer() []byte { return nil }

// AppendPost renders a post of a channel; the client's own is not sent back
// (no echo-message).
func (c *Codec) AppendPost(dst []byte, m *messages.MessagePosted, _ string, _ bool) []byte {
	if m.GetSenderMemberId() == c.Member && !c.Echo {
		return dst
	}
	command := "PRIVMSG"
	if m.GetNotice() {
		command = "NOTICE"
	}
	return c.appendText(dst, time.UnixMilli(m.GetUnixMillis()), source(m.GetNick()), command, Channel(m.GetRoom()), m.GetText(), m.GetAction())
}

// AppendText renders a PRIVMSG or NOTICE of body to target, as an action
// (CTCP ACTION) if action says so. A body too long for one message (chat
// lines may be longer than IRC's 512 bytes) is split over several, at a
// space where there is one, never inside a character.
func AppendText(dst []byte, source, command, target, body string, action bool) []byte {
	room := MaxLineBytes - len(":"+source+" "+command+" "+target+" :\r\n")
	if action {
		room -= len("\x01ACTION \x01")
	}
	for first := true; first || body != ""; first = false {
		part := body
		if len(part) > room && room > 0 {
			part = cut(body, room)
		}
		body = strings.TrimLeft(body[len(part):], " ")
		if action {
			part = "\x01ACTION " + part + "\x01"
		}
		dst = Append(dst, source, command, target, part)
		if room <= 0 {
			break
		}
	}
	return dst
}

// cut returns the longest start of s of at most n bytes that ends at a
// space (if one is in the second half) or at a character's boundary.
func cut(s string, n int) string {
	if i := strings.LastIndexByte(s[:n+1], ' '); i > n/2 {
		return s[:i]
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// AppendHistory renders a post of a channel's history: a PRIVMSG that says
// when it was posted, in UTC, as the line protocol does; with server-time,
// the time is its tag.
func (c *Codec) AppendHistory(dst []byte, m *messages.MessagePosted, _ string, now time.Time) []byte {
	at := time.UnixMilli(m.GetUnixMillis()).UTC()
	if c.ServerTime {
		return c.appendText(dst, at, source(m.GetNick()), "PRIVMSG", Channel(m.GetRoom()), m.GetText(), m.GetAction())
	}
	layout := "[15:04] "
	if ay, am, ad := at.Date(); ay != now.UTC().Year() || am != now.UTC().Month() || ad != now.UTC().Day() {
		layout = "[2006-01-02 15:04] "
	}
	body := at.Format(layout) + m.GetText()
	if m.GetAction() {
		body = at.Format(layout) + "* " + Nick(m.GetNick()) + " " + m.GetText()
	}
	return c.appendText(dst, at, source(m.GetNick()), "PRIVMSG", Channel(m.GetRoom()), body, false)
}

// AppendNotice renders a notice of the server to the client.
func (c *Codec) AppendNotice(dst []byte, _ string, line string) []byte {
	return Append(dst, c.Server, "NOTICE", c.Target(), Clean(line))
}

// AppendRoomNotice renders a notice of the server to a channel.
func (c *Codec) AppendRoomNotice(dst []byte, room, _ string, line string) []byte {
	return Append(dst, c.Server, "NOTICE", Channel(room), Clean(line))
}

// AppendNoticeOf renders a notice made of parts.
func (c *Codec) AppendNoticeOf(dst []byte, parts ...string) []byte {
	return c.AppendNotice(dst, "", strings.Join(parts, ""))
}

// AppendError renders an error the chat has no numeric for, as a notice.
func (c *Codec) AppendError(dst []byte, line string) []byte {
	return c.AppendNotice(dst, "", line)
}

// AppendPrivate renders a private message to the client.
func (c *Codec) AppendPrivate(dst []byte, from, body string, _ bool) []byte {
	return c.appendText(dst, time.Now(), source(from), "PRIVMSG", c.Target(), body, false)
}

// AppendEcho renders the client's own private message or notice back to
// it (echo-message).
func (c *Codec) AppendEcho(dst []byte, command, target, body string) []byte {
	return c.appendText(dst, time.Now(), source(c.Nick), command, target, body, false)
}

// AppendPrivateSent is nothing: the client shows what it sent.
func (*Codec) AppendPrivateSent(dst []byte, _, _ string) []byte { return dst }

// AppendInRoom is the client's own JOIN: it has joined the channel. Its
// names follow from a NAMES of their own (the chat's greeting lists only
// some of them).
func (c *Codec) AppendInRoom(dst []byte, room string, _ []string, _ int) []byte {
	return c.AppendFrom(dst, c.Nick, "JOIN", Channel(room))
}

// AppendTopic tells a client that joined a channel its topic: nothing when
// it has none.
func (c *Codec) AppendTopic(dst []byte, room, topic, by string, atMillis int64) []byte {
	if topic == "" {
		return dst
	}
	dst = c.AppendNumeric(dst, RplTopic, Channel(room), topic)
	if by != "" {
		dst = c.AppendNumeric(dst, RplTopicWhoTime, Channel(room), Nick(by), strconv.FormatInt(atMillis/1000, 10))
	}
	return dst
}

// AppendJoined renders another member's join.
func (c *Codec) AppendJoined(dst []byte, room, _ string, nick string) []byte {
	c.forget("quit " + nick)
	return c.AppendFrom(dst, nick, "JOIN", Channel(room))
}

// AppendMemberLeft renders another member's leave: a PART of the channel,
// or one QUIT however many channels report it.
func (c *Codec) AppendMemberLeft(dst []byte, m *messages.MemberLeft, _ string) []byte {
	switch m.GetReason() {
	case messages.LeaveReason_LEAVE_REASON_PART:
		if m.GetMessage() != "" {
			return c.AppendFrom(dst, m.GetNick(), "PART", Channel(m.GetRoom()), m.GetMessage())
		}
		return c.AppendFrom(dst, m.GetNick(), "PART", Channel(m.GetRoom()))
	case messages.LeaveReason_LEAVE_REASON_KICKED, messages.LeaveReason_LEAVE_REASON_BANNED:
		reason := m.GetMessage()
		if reason == "" {
			reason = text.LeaveReason(m.GetReason())
		}
		return c.AppendFrom(dst, m.GetBy(), "KICK", Channel(m.GetRoom()), Nick(m.GetNick()), reason)
	}
	if !c.once("quit " + m.GetNick()) {
		return dst
	}
	why := text.LeaveReason(m.GetReason())
	if m.GetMessage() != "" {
		why += ": " + m.GetMessage()
	}
	return c.AppendFrom(dst, m.GetNick(), "QUIT", why)
}

// AppendRenamed renders a rename: once, however many channels report it.
func (c *Codec) AppendRenamed(dst []byte, _, _, memberID, oldNick, newNick string) []byte {
	if !c.once("nick " + memberID + " " + oldNick + " " + newNick) {
		return dst
	}
	c.forget("nick " + memberID + " " + newNick + " " + oldNick) // a rename back is news again
	return c.AppendFrom(dst, oldNick, "NICK", Nick(newNick))
}

// AppendOwnNick renders the client's own rename when no channel reports it.
func (c *Codec) AppendOwnNick(dst []byte, oldNick, newNick string) []byte {
	return c.AppendFrom(dst, oldNick, "NICK", Nick(newNick))
}

// AppendTopicSet renders a topic change; an empty topic clears it.
func (c *Codec) AppendTopicSet(dst []byte, room, _, nick, topic string) []byte {
	return c.AppendFrom(dst, nick, "TOPIC", Channel(room), topic)
}

// AppendKicked renders the client's own kick (or ban) from a channel.
func (c *Codec) AppendKicked(dst []byte, room, by, reason string, banned bool) []byte {
	if reason == "" && banned {
		reason = "banned"
	}
	return c.AppendFrom(dst, by, "KICK", Channel(room), c.Target(), reason)
}

// AppendModeChange renders a room's change of a rule or a right as the
// channel mode that says it.
func (c *Codec) AppendModeChange(dst []byte, room, _, _, by, mode, target string) []byte {
	if target == "" {
		return c.AppendFrom(dst, by, "MODE", Channel(room), mode)
	}
	return c.AppendFrom(dst, by, "MODE", Channel(room), mode, Nick(target))
}

// AppendInvite renders an invitation to the client.
func (c *Codec) AppendInvite(dst []byte, by, room, _ string) []byte {
	return c.AppendFrom(dst, by, "INVITE", c.Target(), Channel(room))
}

// AppendWall renders a server operator's /wall as a WALLOPS.
func (c *Codec) AppendWall(dst []byte, by, wall, _ string) []byte {
	return c.AppendFrom(dst, by, "WALLOPS", Clean(wall))
}

// AppendTooLong answers a line over the limit.
func (c *Codec) AppendTooLong(dst []byte, _ int) []byte {
	return c.AppendNumeric(dst, ErrInputTooLong, "Input line was too long")
}

// Bye is the last message before the server closes the connection.
func (c *Codec) Bye() []byte {
	return Append(nil, "", "ERROR", "Closing link: bye")
}

// once reports whether key is new among the last few events seen, and
// remembers it.
func (c *Codec) once(key string) bool {
	for _, k := range c.seen {
		if k == key {
			return false
		}
	}
	c.seen[c.next] = key
	c.next = (c.next + 1) % len(c.seen)
	return true
}

// forget drops key from the events seen.
func (c *Codec) forget(key string) {
	for i, k := range c.seen {
		if k == key {
			c.seen[i] = ""
		}
	}
}
