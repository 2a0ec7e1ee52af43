// Package irc reads and writes IRC messages as modern clients send and
// expect them (modern.ircdocs.horse): optional IRCv3 tags, an optional
// source, a command and up to 15 parameters, the last of which may hold
// spaces.
package irc

import (
	"errors"
	"strings"
)

// Limits on one message, as servers announce them.
const (
	// MaxLineBytes is the longest message without its tags, CR LF
	// included (RFC 1459's 512).
	MaxLineBytes = 512
	// MaxTagBytes is the longest tags part a client may send, the leading
	// '@' and the trailing space included (IRCv3 message-tags: 4094 of
	// client tags; 8191 is what the server reads before it refuses).
	MaxTagBytes = 8191
	// MaxParams is the most parameters a message has.
	MaxParams = 15
	// MaxReadBytes is the longest line a server reads: tags and message.
	MaxReadBytes = MaxTagBytes + MaxLineBytes
)

// Errors Parse returns; the caller answers them as IRC does.
var (
	ErrEmpty       = errors.New("empty message")
	ErrNoCommand   = errors.New("no command")
	ErrTooLong     = errors.New("input line too long")
	ErrTagsTooLong = errors.New("message tags too long")
)

// Message is one parsed message.
type Message struct {
	Tags    string   // the raw tags, without the '@'; empty: none
	Source  string   // the source, without the ':'; empty: none
	Command string   // upper case: a word, or three digits
	Params  []string // the parameters, the trailing one without its ':'
}

// Param returns parameter i, or "" when there are fewer.
func (m *Message) Param(i int) string {
	if i < len(m.Params) {
		return m.Params[i]
	}
	return ""
}

// Parse reads one message from line, which has no CR LF. Runs of spaces
// between parts count as one; a line of only spaces is empty.
func Parse(line string) (Message, error) {
	var m Message
	line = strings.TrimLeft(line, " ")
	if strings.HasPrefix(line, "@") {
		tags, rest, _ := strings.Cut(line[1:], " ")
		if len(tags)+2 > MaxTagBytes {
			return m, ErrTagsTooLong
		}
		m.Tags = tags
		line = strings.TrimLeft(rest, " ")
	}
	if len(line)+2 > MaxLineBytes {
		return m, ErrTooLong
	}
	if line == "" {
		return m, ErrEmpty
	}
	if line[0] == ':' {
		src, rest, _ := strings.Cut(line[1:], " ")
		m.Source = src
		line = strings.TrimLeft(rest, " ")
	}
	cmd, rest, _ := strings.Cut(line, " ")
	if cmd == "" || cmd[0] == ':' || cmd[0] == '@' {
		return m, ErrNoCommand
	}
	m.Command = strings.ToUpper(cmd)
	for rest = strings.TrimLeft(rest, " "); rest != ""; rest = strings.TrimLeft(rest, " ") {
		if rest[0] == ':' || len(m.Params) == MaxParams-1 {
			m.Params = append(m.Params, strings.TrimPrefix(rest, ":"))
			break
		}
		var p string
		p, rest, _ = strings.Cut(rest, " ")
		m.Params = append(m.Params, p)
	}
	return m, nil
}

// Append renders a message from source (empty: none) with its command and
// parameters, CR LF ended. The last parameter is written as a trailing one
// (after ':') when it must be (empty, with a space, or starting with ':'),
// and always for the text of a numeric and of the commands that carry one
// (PRIVMSG, NOTICE, TOPIC, KICK, PART, QUIT, ERROR, PONG), as servers do:
// simple clients and bots look for the text after " :". Parameters must
// not hold CR, LF or NUL (see Clean); an earlier one must not be empty or
// hold a space.
func Append(dst []byte, source, command string, params ...string) []byte {
	at := textAt(command)
	force := len(params) > 0 && (at == -2 || len(params)-1 == at)
	if source != "" {
		dst = append(dst, ':')
		dst = append(dst, source...)
		dst = append(dst, ' ')
	}
	dst = append(dst, command...)
	for i, p := range params {
		dst = append(dst, ' ')
		if i == len(params)-1 && (force || p == "" || p[0] == ':' || strings.IndexByte(p, ' ') >= 0) {
			dst = append(dst, ':')
		}
		dst = append(dst, p...)
	}
	return append(dst, '\r', '\n')
}

// textAt is where command's text parameter is, if it has one: a
// numeric's last, or the message of the commands that carry one; -1: none.
func textAt(command string) int {
	switch command {
	case "QUIT", "ERROR", "WALLOPS":
		return 0
	case "PRIVMSG", "NOTICE", "TOPIC", "PART", "PONG":
		return 1
	case "KICK":
		return 2
	case "CAP":
		return -2 // the list of capabilities, the last
	case RplMyInfo, RplUModeIs, RplChannelModeIs, RplTopicWhoTime, RplInviting:
		return -1 // their last parameter is a token: modes, a time
	}
	if len(command) == 3 && command[0] >= '0' && command[0] <= '9' && command[1] >= '0' && command[1] <= '9' && command[2] >= '0' && command[2] <= '9' {
		return -2 // the last, whichever it is (see Append)
	}
	return -1
}

// Clean makes text safe as a parameter: CR, LF and NUL become spaces.
func Clean(s string) string {
	if !strings.ContainsAny(s, "\r\n\x00") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
}
