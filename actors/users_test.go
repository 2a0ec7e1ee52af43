package actors

import (
	"fmt"

	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestOrderPipelinedBurst sends a script of commands in one write, as
// `printf ... | nc` does: every command takes effect and is answered in the
// order sent, whatever round trips it needs, and /quit comes last.
func TestOrderPipelinedBurst(t *testing.T) {
	_, a, b := aliceAndBob(t)
	script := []string{
		"/who", "/users", "/rooms", "/nick carl", "hello", "/me waves", "/topic tea",
		"/msg bob psst", "/whois bob", "/away lunch", "/who", "/ignore bob", "/ignore", "/quit see you",
	}
	_, _ = a.conn.Write([]byte(strings.Join(script, "\n") + "\n"))
	for _, want := range []string{
		"*** 2 in lobby: alice, bob",
		"*** 2 online:", "***   alice in lobby", "***   bob in lobby",
		"*** 1 room:", "*** * lobby (2)",
		"*** alice is now known as carl",
		"* carl waves",
		"!!! the topic of lobby is locked: only the server's operators may change it",
		"[pm -> bob] psst",
	} {
		a.expect(want)
	}
	a.expectPrefix("*** bob is in lobby, connected since ")
	for _, want := range []string{
		"*** You are marked as away: lunch",
		"*** 2 in lobby: bob, carl (away)",
		"*** Ignoring bob for this session.",
		"*** You ignore: bob",
		"bye...",
	} {
		a.expect(want)
	}
	a.expectEOF()
	for _, want := range []string{
		"*** alice is now known as carl", "<carl> hello", "* carl waves",
		"[pm] <carl> psst\a", "*** carl left (quit: see you)",
	} {
		b.expect(want)
	}
}

// TestHalfCloseIsGoodbye: a client that ends its input (nc -N, nc -q) has
// every command answered, reads bye..., and leaves as a quit.
func TestHalfCloseIsGoodbye(t *testing.T) {
	_, a, b := aliceAndBob(t)
	_, _ = a.conn.Write([]byte("/who\n/users\nlast words\n"))
	if err := a.conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"*** 2 in lobby: alice, bob", "*** 2 online:", "***   alice in lobby", "***   bob in lobby", "bye..."} {
		a.expect(want)
	}
	a.expectEOF()
	b.expect("<alice> last words")
	b.expect("*** alice left (quit)")
}

// paste writes lines paste 0 .. paste n-1 in one write.
func paste(c *lineConn, n int) {
	c.t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "paste %d\r\n", i)
	}
	if _, err := c.conn.Write([]byte(b.String())); err != nil {
		c.t.Fatal(err)
	}
}

// TestPasteIsDelayedNotDropped: a paste over the flood burst but within the
// queue arrives whole and in order, with no complaint.
func TestPasteIsDelayedNotDropped(t *testing.T) {
	s := startServer(t, func(c *Config) { c.FloodRate = 100; c.FloodBurst = 10 })
	a, nickA := s.dial()
	b, _ := s.dial()
	a.skipUntil("*** guest2 joined lobby")
	paste(a, 30)
	for i := range 30 {
		b.skipUntil(fmt.Sprintf("<%s> paste %d", nickA, i))
	}
	a.send("/who")
	a.expectPrefix("*** 2 in lobby: ") // the next line: no slow-down notice came first
}

var droppedNotice = regexp.MustCompile(`^!!! slow down: (\d+) lines? (?:was|were) dropped; lines over 100 a second wait their turn, at most 100 of them$`)

// TestPasteOverTheQueue: of a 300-line paste the lines that fit the burst
// and the queue arrive in order; the rest are dropped, and the user is told
// how many; the user is not disconnected and chats on.
func TestPasteOverTheQueue(t *testing.T) {
	s := startServer(t, func(c *Config) { c.FloodRate = 100; c.FloodBurst = 10; c.FloodQueueLines = 100 })
	a, nickA := s.dial()
	b, _ := s.dial()
	a.skipUntil("*** guest2 joined lobby")
	refused := func() int { return int(testutil.ToFloat64(s.cfg.Metrics.linesRefused.WithLabelValues(refusedFlood))) }
	paste(a, 300)
	// Read what arrives until every line is accounted for: delivered, or
	// dropped (the metric). Nothing is in flight then.
	last, delivered := -1, 0
	for delivered+refused() < 300 {
		line := b.line()
		i, err := strconv.Atoi(strings.TrimPrefix(line, "<"+nickA+"> paste "))
		if err != nil {
			t.Fatalf("got %q, want a pasted line", line)
		}
		if i <= last {
			t.Fatalf("paste %d after paste %d: out of order", i, last)
		}
		last = i
		delivered++
	}
	if delivered < 110 {
		t.Errorf("%d lines delivered, want at least 110 (the burst and the queue)", delivered)
	}
	// The user was told how many were dropped, and chats on.
	a.send("/who")
	dropped := 0
	for {
		line := a.line()
		if m := droppedNotice.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			dropped += n
			continue
		}
		if !strings.HasPrefix(line, "*** 2 in lobby: ") {
			t.Fatalf("got %q, want a drop notice or the /who answer", line)
		}
		break
	}
	if dropped != 300-delivered {
		t.Errorf("told of %d dropped lines, want %d", dropped, 300-delivered)
	}
	a.send("still here")
	b.expect("<" + nickA + "> still here")
}

var whoisLine = regexp.MustCompile(`^\*\*\* alice is in lobby, connected since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(\d+s ago\), idle \d+s$`)

func TestWhoisAndAway(t *testing.T) {
	_, a, b := aliceAndBob(t)
	b.send("/whois alice")
	if line := b.line(); !whoisLine.MatchString(line) {
		t.Fatalf("got %q, want %v", line, whoisLine)
	}
	b.send("/whois nobody")
	b.expect("!!! no such nick: nobody")

	a.send("/away lunch, back at 2")
	a.expect("*** You are marked as away: lunch, back at 2")
	b.send("/who")
	b.expect("*** 2 in lobby: alice (away), bob")
	b.send("/users")
	b.expect("*** 2 online:")
	b.expect("***   alice in lobby (away: lunch, back at 2)")
	b.expect("***   bob in lobby")
	b.send("/msg alice are you there?")
	b.expect("[pm -> alice] are you there?")
	b.expect("*** alice is away: lunch, back at 2")
	b.send("/whois ALICE")
	b.expectPrefix("*** alice is in lobby, ")
	b.expect("*** alice is away: lunch, back at 2")

	// The room learns of it too: a joiner of another room sees it there.
	a.send("/join tea")
	a.skipUntil("*** You are in room tea with nobody else.")
	a.send("/who")
	a.expect("*** 1 in tea: alice (away)")
	a.send("/back")
	a.expect("*** You are back.")
	a.send("/back")
	a.expect("!!! you are not marked as away")
	a.send("/away")
	a.expect("*** You are marked as away: away")
	a.send("/away")
	a.expect("*** You are back.")
	a.send("/who")
	a.expect("*** 1 in tea: alice")
}

func TestBell(t *testing.T) {
	_, a, b := aliceAndBob(t)
	for _, tt := range []struct{ text, want string }{
		{"hey Alice!", "<bob> hey Alice!\a"},
		{"alice: look", "<bob> alice: look\a"},
		{"ping @alice", "<bob> ping @alice\a"},
		{"alicexyz is not you", "<bob> alicexyz is not you"},
		{"malice", "<bob> malice"},
	} {
		b.send(tt.text)
		a.expect(tt.want)
	}
	b.send("/me pokes alice")
	a.expect("* bob pokes alice\a")
	b.expect("* bob pokes alice") // one's own mention of a nick does not ring one's own bell
	a.send("/bell off")
	a.expect("*** The bell is off.")
	b.send("alice?")
	a.expect("<bob> alice?")
	b.send("/msg alice quiet now")
	a.expect("[pm] <bob> quiet now")
	a.send("/bell")
	a.expect("*** The bell is off.")
	a.send("/bell on")
	a.expect("*** The bell is on: it rings when your nick is mentioned and when a private message comes.")
	a.send("/bell maybe")
	a.expect("!!! usage: /bell [on|off]")
}

func TestMOTDAndHelp(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MOTD = "Be kind.\nNo spam." })
	conn, err := net.DialTimeout("tcp", s.Addr().String(), waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := newLineConn(t, conn)
	c.skipUntil("*** Be kind.")
	c.expect("*** No spam.")
	c.expectPrefix("*** You are in room lobby")
	c.send("/motd")
	c.expect("*** Be kind.")
	c.expect("*** No spam.")
	c.send("/help")
	c.expectPrefix("*** Commands")
	var lines []string
	for len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "***   /motd ") {
		lines = append(lines, c.line())
	}
	help := strings.Join(lines, "\n")
	for _, want := range []string{"/who [PATTERN] (/list, /names)", "/nick NAME (/username)", "/part [ROOM] (/leave)", "/whois NICK", "/away [MESSAGE]", "/bell [on|off]"} {
		if !strings.Contains(help, want) {
			t.Errorf("/help lacks %q:\n%s", want, help)
		}
	}
	c.expectPrefix("***   /quit [REASON] (/bye, /exit)")

	s2 := startServer(t, nil)
	d, _ := s2.dial()
	d.send("/motd")
	d.expect("*** There is no message of the day.")
}

// TestBoundedListings: with more users than a listing shows, /users, /who
// and /rooms show the first ones, say how many there are, and filter.
func TestBoundedListings(t *testing.T) {
	s := startServer(t, func(c *Config) { c.QuietRoomSize = 10 })
	const n = maxListed + 11
	var first *lineConn
	for i := range n {
		c, _ := s.dial()
		c.send(fmt.Sprintf("/nick u%02d", i))
		c.skipUntilPrefix("*** guest")
		if i == 0 {
			first = c
		}
	}
	first.send("/users")
	first.skipUntil(fmt.Sprintf("*** %d online:", n))
	for i := range maxListed {
		first.expect(fmt.Sprintf("***   u%02d in lobby", i))
	}
	first.expect("***   ... and 11 more (narrow it: /users PATTERN)")
	first.send("/users U1")
	first.expect(fmt.Sprintf("*** %d online, 10 matching:", n))
	for i := 10; i < 20; i++ {
		first.expect(fmt.Sprintf("***   u%02d in lobby", i))
	}
	first.send("/users u?5")
	first.expect(fmt.Sprintf("*** %d online, 6 matching:", n))
	for i := 5; i < n; i += 10 {
		first.expect(fmt.Sprintf("***   u%02d in lobby", i))
	}
	first.send("/who")
	line := first.line()
	if !strings.HasPrefix(line, fmt.Sprintf("*** %d in lobby: u00, u01, ", n)) || !strings.HasSuffix(line, "u49 and 11 more (narrow it: /who PATTERN)") {
		t.Errorf("got %q", line)
	}
	first.send("/who *9")
	first.expect(fmt.Sprintf("*** %d in lobby, 6 matching: u09, u19, u29, u39, u49, u59", n))
	first.send("/rooms nothing[")
	first.expect("*** 1 room, 0 matching:")
}

// TestUnicodeFormattingCharacters: bidi overrides cannot reorder what
// follows a line, invisible characters cannot fake a nick, and a line
// separator cannot start a fake line.
func TestUnicodeFormattingCharacters(t *testing.T) {
	_, a, b := aliceAndBob(t)
	inRoom("dev", a, b)
	b.send("see readme\u202Etxt.exe")
	a.expect("<bob> see readme\u202Etxt.exe\u202C")
	b.send("/me \u2067wave")
	a.expect("* bob \u2067wave\u2069")
	b.expect("* bob \u2067wave\u2069")
	b.send("a\u2028<carol> I never said this")
	a.expect("<bob> a <carol> I never said this")
	b.send("/nick al\u200Bice")
	b.expect("!!! nick alice is taken")
	b.send("/nick \u202Ealice")
	b.expect("!!! a nick may only use letters, digits and the characters . _ -")
	b.send("/topic \u202Eevil")
	a.expect("*** bob set the topic: \u202Eevil\u202C")
	b.expect("*** bob set the topic: \u202Eevil\u202C")
	b.send("fine \U0001F469\U0001F3FE\u200D\U0001F4BB \u2714\uFE0F")
	a.expect("<bob> fine \U0001F469\U0001F3FE\u200D\U0001F4BB \u2714\uFE0F")
}

// TestLongQuitMessageKeepsBidiClosed: a quit message cut to its limit is
// sanitized again, so an override cannot be left open by the cut.
func TestLongQuitMessageKeepsBidiClosed(t *testing.T) {
	_, a, b := aliceAndBob(t)
	b.send("/quit " + strings.Repeat("x", 195) + "\u202Eabcdef")
	// 195 + 3 bytes of U+202E + "ab" is 200 bytes; the closer is added back.
	a.expect("*** bob left (quit: " + strings.Repeat("x", 195) + "\u202Eab\u202C)")
}
