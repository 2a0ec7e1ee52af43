package irc

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Message
	}{
		{"NICK alice", Message{Command: "NICK", Params: []string{"alice"}}},
		{"privmsg #dev :hello there", Message{Command: "PRIVMSG", Params: []string{"#dev", "hello there"}}},
		{":alice!a@h PRIVMSG #dev :", Message{Source: "alice!a@h", Command: "PRIVMSG", Params: []string{"#dev", ""}}},
		{"@time=2026-12-06T09:00:00Z;+x=y :s 001 me :Welcome", Message{Tags: "time=2026-12-06T09:00:00Z;+x=y", Source: "s", Command: "001", Params: []string{"me", "Welcome"}}},
		{"USER u 0 * :Real Name", Message{Command: "USER", Params: []string{"u", "0", "*", "Real Name"}}},
		{"  JOIN   #a,#b   key  ", Message{Command: "JOIN", Params: []string{"#a,#b", "key"}}},
		{"PRIVMSG #dev ::-)", Message{Command: "PRIVMSG", Params: []string{"#dev", ":-)"}}},
		{"CAP LS 302", Message{Command: "CAP", Params: []string{"LS", "302"}}},
		{"PING", Message{Command: "PING"}},
		// The fifteenth parameter takes the rest, spaces and all.
		{"X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", Message{Command: "X", Params: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15 16"}}},
	} {
		got, err := Parse(tc.line)
		if err != nil || got.Tags != tc.want.Tags || got.Source != tc.want.Source || got.Command != tc.want.Command || !slices.Equal(got.Params, tc.want.Params) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		line string
		want error
	}{
		{"", ErrEmpty},
		{"    ", ErrEmpty},
		{"@a=b", ErrEmpty},
		{":source", ErrNoCommand},
		{"PRIVMSG #dev :" + strings.Repeat("x", 497), ErrTooLong}, // 511 bytes and CR LF
		{"@" + strings.Repeat("t", MaxTagBytes) + " PING", ErrTagsTooLong},
	} {
		if _, err := Parse(tc.line); !errors.Is(err, tc.want) {
			t.Errorf("Parse(%.40q...) error %v, want %v", tc.line, err, tc.want)
		}
	}
	// The longest message that fits: 510 bytes and CR LF, after tags of any
	// length up to theirs.
	line := "@" + strings.Repeat("t", 1000) + " PRIVMSG #dev :" + strings.Repeat("x", 496)
	if m, err := Parse(line); err != nil || len(m.Params[1]) != 496 {
		t.Errorf("a 510-byte message after long tags: %v", err)
	}
}

func TestAppend(t *testing.T) {
	for _, tc := range []struct {
		source, command string
		params          []string
		want            string
	}{
		{"srv", "001", []string{"alice", "Welcome to actorchat"}, ":srv 001 alice :Welcome to actorchat\r\n"},
		{"bob!bob@actorchat", "PRIVMSG", []string{"#dev", "hi"}, ":bob!bob@actorchat PRIVMSG #dev :hi\r\n"},
		{"", "PONG", []string{"srv", ""}, "PONG srv :\r\n"},
		{"a", "PRIVMSG", []string{"#dev", ":)"}, ":a PRIVMSG #dev ::)\r\n"},
		{"a", "QUIT", nil, ":a QUIT\r\n"},
		{"a", "PART", []string{"#dev"}, ":a PART #dev\r\n"},
		{"s", "333", []string{"me", "#dev", "bob", "1796549400"}, ":s 333 me #dev bob 1796549400\r\n"},
		{"s", "353", []string{"me", "=", "#dev", "bob"}, ":s 353 me = #dev :bob\r\n"},
	} {
		if got := string(Append(nil, tc.source, tc.command, tc.params...)); got != tc.want {
			t.Errorf("Append = %q, want %q", got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	if Nick("a.b") != "a|b" || ChatNick("a|b") != "a.b" || Nick("bob") != "bob" {
		t.Error("'.' and '|' do not map both ways")
	}
	if room, ok := Room("#Dev"); !ok || room != "dev" {
		t.Errorf("Room(#Dev) = %q, %v", room, ok)
	}
	for _, bad := range []string{"dev", "#", ""} {
		if _, ok := Room(bad); ok {
			t.Errorf("Room(%q) names a room", bad)
		}
	}
	if Channel("dev") != "#dev" || Clean("a\r\nb\x00") != "a  b " {
		t.Error("Channel or Clean")
	}
}

// FuzzParse: any line parses or is refused, never panics; what parses
// renders back to a message that parses to the same command and
// parameters.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"NICK alice", ":a!b@c PRIVMSG #x :hi there", "@t=1 CAP LS 302", "X :", "  ", ":", "@", "a b c d e f g h i j k l m n o p q r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\r\n\x00") {
			return // the reader splits lines at CR and LF before Parse
		}
		m, err := Parse(line)
		if err != nil {
			return
		}
		if m.Command == "" || len(m.Params) > MaxParams {
			t.Fatalf("Parse(%q) = %+v", line, m)
		}
		for _, p := range m.Params[:max(len(m.Params)-1, 0)] {
			if p == "" || strings.Contains(p, " ") || p[0] == ':' {
				t.Fatalf("Parse(%q): middle parameter %q", line, p)
			}
		}
		if strings.ContainsAny(m.Command, " ") {
			return
		}
		out := Append(nil, m.Source, m.Command, m.Params...)
		again, err := Parse(strings.TrimSuffix(string(out), "\r\n"))
		if err != nil && !errors.Is(err, ErrTooLong) {
			t.Fatalf("Parse(Append(%+v)) = %v", m, err)
		}
		if err == nil && (again.Command != m.Command || !slices.Equal(again.Params, m.Params)) {
			t.Fatalf("round trip of %q: %+v, then %+v", line, m, again)
		}
	})
}
