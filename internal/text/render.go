package text

import (
	"strconv"
	"strings"
	"time"

	"github.com/actorchat/actorchat/messages"
)

// The line format a user sees. Every line ends with CRLF. Each kind of line
// has its own stable prefix so that people and scripts tell them apart at a
// glance (docs/protocol.md is the reference):
//
//	<nick> text                 chat
//	* nick text                 action (/me)
//	*** text                    server notice
//	!!! text                    error
//	[pm] <nick> text            private message received
//	[pm -> nick] text           private message sent
//	[history 15:04:05Z] ...     a chat or action line replayed on join
//	bye...                      the last line before the server closes
const (
	NoticePrefix  = "*** "
	ErrorPrefix   = "!!! "
	historyFormat = "15:04:05Z"
	historyDated  = "2006-01-02 15:04:05Z"
	ByeLine       = "bye...\r\n"
	crlf          = "\r\n"
)

func AppendChat(dst []byte, nick, text string) []byte {
	dst = append(dst, '<')
	dst = append(dst, nick...)
	dst = append(dst, "> "...)
	dst = append(dst, text...)
	return append(dst, crlf...)
}

func AppendAction(dst []byte, nick, text string) []byte {
	dst = append(dst, "* "...)
	dst = append(dst, nick...)
	dst = append(dst, ' ')
	dst = append(dst, text...)
	return append(dst, crlf...)
}

// AppendPosted renders a chat line or an action.
func AppendPosted(dst []byte, m *messages.MessagePosted) []byte {
	if m.GetAction() {
		return AppendAction(dst, m.GetNick(), m.GetText())
	}
	return AppendChat(dst, m.GetNick(), m.GetText())
}

// AppendRoomTag starts a line that comes from a room other than the
// reader's current one: "[dev] ".
func AppendRoomTag(dst []byte, room string) []byte {
	dst = append(dst, '[')
	dst = append(dst, room...)
	return append(dst, "] "...)
}

// AppendHistory renders a message replayed from a room's history, marked so
// that it is not mistaken for new chat. Its time is in UTC, with the date
// when it is not of now's (UTC) day: history outlives restarts.
func AppendHistory(dst []byte, m *messages.MessagePosted, now time.Time) []byte {
	dst = append(dst, "[history "...)
	at, now := time.UnixMilli(m.GetUnixMillis()).UTC(), now.UTC()
	layout := historyFormat
	if ay, am, ad := at.Date(); ay != now.Year() || am != now.Month() || ad != now.Day() {
		layout = historyDated
	}
	dst = at.AppendFormat(dst, layout)
	dst = append(dst, "] "...)
	return AppendPosted(dst, m)
}

func AppendNotice(dst []byte, text string) []byte {
	dst = append(dst, NoticePrefix...)
	dst = append(dst, text...)
	return append(dst, crlf...)
}

func AppendError(dst []byte, text string) []byte {
	dst = append(dst, ErrorPrefix...)
	dst = append(dst, text...)
	return append(dst, crlf...)
}

func AppendPrivateReceived(dst []byte, from, text string) []byte {
	dst = append(dst, "[pm] <"...)
	dst = append(dst, from...)
	dst = append(dst, "> "...)
	dst = append(dst, text...)
	return append(dst, crlf...)
}

func AppendPrivateSent(dst []byte, to, text string) []byte {
	dst = append(dst, "[pm -> "...)
	dst = append(dst, to...)
	dst = append(dst, "] "...)
	dst = append(dst, text...)
	return append(dst, crlf...)
}

// LeaveReason is how a leave reason reads in "<nick> left (<reason>)" and in
// logs.
func LeaveReason(r messages.LeaveReason) string {
	switch r {
	case messages.LeaveReason_LEAVE_REASON_PART:
		return "part"
	case messages.LeaveReason_LEAVE_REASON_QUIT:
		return "quit"
	case messages.LeaveReason_LEAVE_REASON_CONNECTION_LOST:
		return "connection lost"
	case messages.LeaveReason_LEAVE_REASON_SLOW_CONSUMER:
		return "slow consumer"
	case messages.LeaveReason_LEAVE_REASON_FLOODING:
		return "flooding"
	case messages.LeaveReason_LEAVE_REASON_IDLE:
		return "idle"
	case messages.LeaveReason_LEAVE_REASON_ERROR:
		return "error"
	case messages.LeaveReason_LEAVE_REASON_SHUTDOWN:
		return "shutdown"
	case messages.LeaveReason_LEAVE_REASON_GHOSTED:
		return "ghosted"
	case messages.LeaveReason_LEAVE_REASON_KILLED:
		return "killed"
	case messages.LeaveReason_LEAVE_REASON_SERVER_LOST:
		return "server lost"
	case messages.LeaveReason_LEAVE_REASON_KICKED:
		return "kicked"
	case messages.LeaveReason_LEAVE_REASON_BANNED:
		return "banned"
	}
	return "unknown"
}

// AppendNoticeOf renders a notice made of parts, without building it as
// one string first.
func AppendNoticeOf(dst []byte, parts ...string) []byte {
	dst = append(dst, NoticePrefix...)
	for _, p := range parts {
		dst = append(dst, p...)
	}
	return append(dst, crlf...)
}

// AppendInRoom renders the notice that greets a member in a room: "You are
// in room lobby with bob, carol and 9996 more." names are some of the
// others, others how many there are in all.
func AppendInRoom(dst []byte, room string, names []string, others int) []byte {
	dst = append(dst, NoticePrefix+"You are in room "...)
	dst = append(dst, room...)
	dst = append(dst, " with "...)
	if others <= 0 || len(names) == 0 {
		dst = append(dst, "nobody else"...)
	} else {
		for i, nick := range names {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = append(dst, nick...)
		}
		if others > len(names) {
			dst = append(dst, " and "...)
			dst = strconv.AppendInt(dst, int64(others-len(names)), 10)
			dst = append(dst, " more"...)
		}
	}
	return append(dst, "."+crlf...)
}

// AppendMemberLeft renders a leave notice: a move to another room reads
// "bob left lobby", any other reason "bob left (quit)", or with what the
// user said on leaving, "bob left (quit: see you)".
func AppendMemberLeft(dst []byte, m *messages.MemberLeft) []byte {
	dst = append(dst, NoticePrefix...)
	dst = append(dst, m.GetNick()...)
	switch m.GetReason() {
	case messages.LeaveReason_LEAVE_REASON_PART:
		dst = append(dst, " left "...)
		dst = append(dst, m.GetRoom()...)
		if m.GetMessage() != "" { // an IRC user's PART reason
			dst = append(dst, ": "...)
			dst = append(dst, m.GetMessage()...)
		}
	case messages.LeaveReason_LEAVE_REASON_KICKED, messages.LeaveReason_LEAVE_REASON_BANNED:
		dst = append(dst, " was "...)
		dst = append(dst, LeaveReason(m.GetReason())...)
		dst = append(dst, " by "...)
		dst = append(dst, m.GetBy()...)
		if m.GetMessage() != "" {
			dst = append(dst, ": "...)
			dst = append(dst, m.GetMessage()...)
		}
	default:
		dst = append(dst, " left ("...)
		dst = append(dst, LeaveReason(m.GetReason())...)
		if m.GetMessage() != "" {
			dst = append(dst, ": "...)
			dst = append(dst, m.GetMessage()...)
		}
		dst = append(dst, ')')
	}
	return append(dst, crlf...)
}

// WithBell puts a BEL before a rendered line's CRLF, so that the terminal
// rings when the line arrives.
func WithBell(line []byte) []byte {
	line = append(line[:len(line)-len(crlf)], '\a')
	return append(line, crlf...)
}

// Mentions reports whether text names nick as a word, whatever the case:
// "bob:", "hi Bob!" and "@bob" do, "bobby" and "kabob" do not. Nicks are
// ASCII, so the comparison folds ASCII only. Every delivery asks, so it
// looks for the nick's first letter with IndexByte, in each case, and
// compares only there.
func Mentions(text, nick string) bool {
	n := len(nick)
	if n == 0 || len(text) < n {
		return false
	}
	first := nick[0]
	lower, upper := first|0x20, first&^0x20
	if !isLetter(first) {
		lower, upper = first, first
	}
	return mentionsFrom(text, nick, lower) || (upper != lower && mentionsFrom(text, nick, upper))
}

// mentionsFrom checks each place where text has the byte first.
func mentionsFrom(text, nick string, first byte) bool {
	n := len(nick)
	for i := 0; i+n <= len(text); {
		j := strings.IndexByte(text[i:len(text)-n+1], first)
		if j < 0 {
			return false
		}
		k := i + j
		if strings.EqualFold(text[k:k+n], nick) &&
			(k == 0 || !IsNickByte(text[k-1])) && (k+n == len(text) || !IsNickByte(text[k+n])) {
			return true
		}
		i = k + 1
	}
	return false
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
