package actors

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/actorchat/actorchat/internal/faults/faultpb"
	"github.com/actorchat/actorchat/internal/netio"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

// TestAbuseTelnetNegotiationIsAnsweredNotRelayed: option requests get their
// refusals, and no telnet byte reaches another user.
func TestAbuseTelnetNegotiationIsAnsweredNotRelayed(t *testing.T) {
	s := startServer(t, nil)
	watcher, _ := s.dial()
	c, nick := s.dial()
	watcher.expect("*** " + nick + " joined lobby")

	// What a Linux telnet client sends on connect, then a line with telnet
	// commands and a subnegotiation inside it.
	_, _ = c.conn.Write([]byte("\xff\xfd\x03\xff\xfb\x18\xff\xfb\x1f"))
	want := []byte("\xff\xfc\x03\xff\xfe\x18\xff\xfe\x1f")
	got := make([]byte, len(want))
	_ = c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := io.ReadFull(c.r, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("negotiation reply %q (%v), want %q", got, err, want)
	}
	_, _ = c.conn.Write([]byte("he\xff\xf1llo\xff\xfa\x18\x00xterm\xff\xf0 there\r\n"))
	watcher.expect("<" + nick + "> hello there")
}

// TestTelnetBinaryOffer: the first bytes on every connection ask for the
// client's TRANSMIT-BINARY (only: see telnet.Offer); a client that agrees
// gets no further option bytes (no loop), and raw UTF-8 from it reaches
// others intact. A client that asks the server to send in binary is told
// no, once.
func TestTelnetBinaryOffer(t *testing.T) {
	s := startServer(t, nil)
	watcher, _ := s.dial()
	conn, err := net.DialTimeout("tcp", s.Addr().String(), waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	want := []byte{0xff, 0xfd, 0x00, '\r'} // IAC DO BINARY, CR
	got := make([]byte, len(want))
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("first bytes %q (%v), want %q", got, err, want)
	}
	c := newLineConn(t, conn)
	c.expect("*** Welcome to actorchat test, a chat server built on actors.")
	nick := strings.TrimSuffix(strings.Fields(strings.TrimPrefix(c.expectPrefix("*** You are guest"), "*** You are "))[0], ".")
	c.expectPrefix("*** You are in room lobby")
	watcher.expect("*** " + nick + " joined lobby")

	_, _ = conn.Write([]byte("\xff\xfb\x00\u2713 \u0443 \u0103 \u672c\n"))
	watcher.expect("<" + nick + "> \u2713 \u0443 \u0103 \u672c")
	c.send("/who")
	// Nothing but the answer: the agreement was not answered.
	if got := c.line(); !strings.HasPrefix(got, "*** 2 in lobby") {
		t.Fatalf("got %q, want the /who answer and no option bytes", got)
	}
	_, _ = conn.Write([]byte("\xff\xfd\x00"))
	c.send("/who")
	if got := c.line(); !strings.HasPrefix(got, "\xff\xfc\x00*** 2 in lobby") {
		t.Fatalf("got %q, want IAC WONT BINARY, then the /who answer", got)
	}
}

// TestAbuseTextIsSanitized: escape sequences, control characters and invalid
// UTF-8 never reach another user's terminal.
func TestAbuseTextIsSanitized(t *testing.T) {
	s := startServer(t, nil)
	watcher, _ := s.dial()
	c, nick := s.dial()
	watcher.expect("*** " + nick + " joined lobby")
	tests := []struct{ in, want string }{
		{"\x1b[2J\x1b[Hcleared?", "cleared?"},
		{"\x1b]0;pwned\x07title?", "title?"},
		{"\x1b[31mred\x1b[0m", "red"},
		{"bell\x07 and nul", "bell and nul"},
		{"tab\there", "tab here"},
		{"typo\b\bpo fixed", "typo fixed"},
	}
	for _, tt := range tests {
		_, _ = c.conn.Write([]byte(tt.in + "\r\n"))
	}
	for _, tt := range tests {
		got := watcher.line()
		if want := "<" + nick + "> " + tt.want; got != want {
			t.Errorf("sent %q: got %q, want %q", tt.in, got, want)
		}
	}
	// Invalid UTF-8 that is not telnet: a lone continuation byte and a cut
	// sequence.
	_, _ = c.conn.Write([]byte("x\x80y\xe2\x82\r\n"))
	watcher.expect("<" + nick + "> x\uFFFDy\uFFFD\uFFFD")
	// Blank and control-only lines are nothing.
	_, _ = c.conn.Write([]byte("\r\n   \r\n\x1b[0m\r\nafter\r\n"))
	watcher.expect("<" + nick + "> after")
}

func TestAbuseLineEndings(t *testing.T) {
	s := startServer(t, nil)
	watcher, _ := s.dial()
	c, nick := s.dial()
	watcher.expect("*** " + nick + " joined lobby")
	// A CR LF split across two writes is one line end (that the halves
	// arrive in separate reads is up to TCP; FuzzDecoder splits anywhere).
	_, _ = c.conn.Write([]byte("one\r"))
	_, _ = c.conn.Write([]byte("\ntwo\nthree\rfour\r\x00five\r\n"))
	for _, want := range []string{"one", "two", "three", "four", "five"} {
		watcher.expect("<" + nick + "> " + want)
	}
}

func TestAbuseLongLine(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MaxLineBytes = 100 })
	watcher, _ := s.dial()
	c, nick := s.dial()
	watcher.expect("*** " + nick + " joined lobby")
	c.send(strings.Repeat("x", 500))
	c.expect("!!! line too long (the limit is 100 bytes); it was discarded")
	c.send(strings.Repeat("y", 100))
	watcher.expect("<" + nick + "> " + strings.Repeat("y", 100)) // the long one never came
	if got := testutil.ToFloat64(s.cfg.Metrics.linesRefused.WithLabelValues(refusedTooLong)); got != 1 {
		t.Errorf("too_long counter %v, want 1", got)
	}
}

// TestAbuseEndlessLine sends up to 100 MB without a line end: the server
// holds bounded memory, refuses the line, and disconnects the client after
// 1 MiB of it.
func TestAbuseEndlessLine(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy (100 MB without a line end): skipped with -short")
	}
	s := startServer(t, nil)
	watcher, _ := s.dial()
	c, nick := s.dial()
	watcher.expect("*** " + nick + " joined lobby")

	// Garbage is collected often while the line streams in, so that what
	// the heap grows by is what the server keeps, not what it threw away
	// since the last collection (under the race detector sync.Pool drops
	// a quarter of what it is given, so the pooled read buffers become
	// tens of MB of garbage; how much of it a default GC lets pile up
	// grows with whatever else the test binary holds).
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sent := make(chan int64, 1)
	go func() {
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		var n int64
		_ = c.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
		for n < 100<<20 {
			w, err := c.conn.Write(chunk)
			n += int64(w)
			if err != nil {
				break
			}
		}
		sent <- n
	}()
	c.expect("!!! line too long (the limit is 1024 bytes); it was discarded")
	c.expect("!!! disconnected: you sent too much too fast (flooding)")
	c.expect("bye...")
	watcher.expect("*** " + nick + " left (flooding)")
	if n := <-sent; n >= 100<<20 {
		t.Logf("the client wrote all %d bytes before the server closed", n)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 16<<20 {
		t.Errorf("heap grew by %d bytes while a client sent an endless line", grew)
	}
}

func TestAbuseFloodControl(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.FloodRate = 20
		c.FloodBurst = 3
		c.FloodQueueLines = 5
		c.FloodStrikes = 5
	})
	watcher, _ := s.dial()
	c, nick := s.dial()
	watcher.expect("*** " + nick + " joined lobby")
	// Ten lines at once: three within the burst, five queued and released
	// at the flood rate, in order, and two dropped, with one notice.
	var burst strings.Builder
	for i := range 10 {
		fmt.Fprintf(&burst, "line %d\r\n", i)
	}
	_, _ = c.conn.Write([]byte(burst.String()))
	for i := range 8 {
		watcher.expect(fmt.Sprintf("<%s> line %d", nick, i))
	}
	c.expect("!!! slow down: 2 lines were dropped; lines over 20 a second wait their turn, at most 5 of them")
	// Keep flooding: the strikes run out.
	var flood strings.Builder
	for i := range 40 {
		fmt.Fprintf(&flood, "more %d\r\n", i)
	}
	_, _ = c.conn.Write([]byte(flood.String()))
	c.skipUntil("!!! disconnected: you sent too much too fast (flooding)")
	c.expect("bye...")
	c.expectEOF()
	watcher.skipUntil("*** " + nick + " left (flooding)")
	if got := testutil.ToFloat64(s.cfg.Metrics.disconnects.WithLabelValues("flooding")); got != 1 {
		t.Errorf("flooding disconnects %v, want 1", got)
	}
}

// TestAbuseSlowConsumer: one client never reads while 100 others chat at
// full speed. The others get every line, the slow one is dropped, and the
// server's memory stays bounded.
func TestAbuseSlowConsumer(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy (100 clients, 100 MB of chat): skipped with -short")
	}
	const (
		chatters = 100
		lines    = 20
	)
	// A write blocked past the write timeout marks the slow consumer: the
	// outbox is large enough that bursts alone never do, and a small send
	// buffer makes the slow client's writes block soon.
	s := startServer(t, func(c *Config) {
		c.OutboxBytes = 16 << 20
		c.WriteTimeout = 5 * time.Second // generous: the readers share two loaded cores
		c.SendBuffer = 16 << 10
	})
	slow, slowNick := s.dial()
	_ = slow.conn.(*net.TCPConn).SetReadBuffer(4096)

	clients := make([]*lineConn, chatters)
	nicks := make([]string, chatters)
	for i := range clients {
		clients[i], nicks[i] = s.dial()
	}
	// Everyone has seen everyone join: ask each for /who and wait for the
	// full count, so no chat is lost to a join still on its way.
	for _, c := range clients {
		c.send("/who")
		c.skipUntilPrefix(fmt.Sprintf("*** %d in lobby: ", chatters+1))
	}

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// Everyone, the slow client too, is sent about 1 MB: far more than the
	// kernel buffers between the server and the slow client hold.
	text := strings.Repeat("p", 500)
	var wg sync.WaitGroup
	errs := make(chan error, chatters)
	for i, c := range clients {
		wg.Go(func() {
			wg.Go(func() {
				for j := range lines {
					fmt.Fprintf(c.conn, "%d %d %s\r\n", i, j, text)
				}
			})
			// Read, while writing, until every other chatter's lines have come.
			want := (chatters - 1) * lines
			got := 0
			for got < want {
				_ = c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
				line, err := c.r.ReadString('\n')
				if err != nil {
					errs <- fmt.Errorf("chatter %d after %d lines: %v", i, got, err)
					return
				}
				if strings.HasSuffix(line, text+"\r\n") {
					got++
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Live memory, not garbage the collector has yet to reclaim: what the
	// server holds is bounded by the slow client's outbox, not by what
	// everyone was sent.
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 64<<20 {
		t.Errorf("live heap grew by %d bytes", grew)
	}
	clients[0].skipUntil("*** " + slowNick + " left (slow consumer)")
	testkit.Eventually(t, "the slow client's socket to close", func() bool { return s.OpenSockets() == chatters })
}

func TestAbuseConnectionLimits(t *testing.T) {
	t.Run("per IP", func(t *testing.T) {
		s := startServer(t, func(c *Config) { c.MaxConnsPerIP = 2 })
		s.dial()
		s.dial()
		expectRejected(t, s, "!!! too many connections from your address; close one and try again")
		if got := testutil.ToFloat64(s.cfg.Metrics.connectionsRejected.WithLabelValues(netio.RejectPerIP)); got != 1 {
			t.Errorf("per_ip rejections %v, want 1", got)
		}
	})
	t.Run("global", func(t *testing.T) {
		s := startServer(t, func(c *Config) { c.MaxConns = 3 })
		first, _ := s.dial()
		s.dial()
		s.dial()
		expectRejected(t, s, "!!! the server is full; try again later")
		// A place frees up: the next one gets in.
		first.send("exit")
		first.skipUntil("bye...")
		testkit.Eventually(t, "the socket to close", func() bool { return s.OpenSockets() == 2 })
		s.dial()
	})
}

// expectRejected dials once more: the server must answer with line and close,
// and no connection actor may exist for it.
func expectRejected(t *testing.T, s *testServer, line string) {
	t.Helper()
	before := len(actorsUnder(s.System(), "server/connections/"))
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := newLineConn(t, conn)
	c.expect(line)
	c.expectEOF()
	if after := len(actorsUnder(s.System(), "server/connections/")); after != before {
		t.Errorf("%d connection actors, want %d: one was spawned for a rejected socket", after, before)
	}
}

// TestAbuseIdleTimeout: a client that sends nothing is disconnected although
// it receives traffic; one that sends is not. The chatter sends twenty times
// per idle period, so a load spike on the machine cannot make it idle.
func TestAbuseIdleTimeout(t *testing.T) {
	const idle = 2 * time.Second
	s := startServer(t, func(c *Config) { c.IdleTimeout = idle })
	idler, idleNick := s.dial()
	chatter, _ := s.dial()
	idler.expectPrefix("*** guest2 joined")
	// Traffic to the idler is not activity of the idler's.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(idle / 20)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				// Not chatter.send: no t.Fatal outside the test's goroutine;
				// a failed write shows as the chatter's missing answer below.
				_ = chatter.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
				_, _ = chatter.conn.Write([]byte("still talking\r\n"))
			}
		}
	})
	idler.skipUntil("!!! disconnected: idle for more than 2s")
	idler.expect("bye...")
	idler.expectEOF()
	close(stop)
	wg.Wait()
	chatter.skipUntil("*** " + idleNick + " left (idle)")
	// The chatter was active all along, so it is still here.
	chatter.send("/who")
	chatter.skipUntil("*** 1 in lobby: guest2")
}

func TestAbuseKeepAliveIsOn(t *testing.T) {
	s := startServer(t, nil)
	s.dial()
	conns := s.table.Conns()
	if len(conns) != 1 {
		t.Fatalf("%d open sockets, want 1", len(conns))
	}
	ka := keepAliveOf(t, conns[0])
	on, idle := ka[0], ka[1]
	if on != 1 || idle != int(DefaultConfig().KeepAlive.Seconds()) {
		t.Errorf("SO_KEEPALIVE %d, TCP_KEEPIDLE %d; want on, %v", on, idle, DefaultConfig().KeepAlive)
	}
}

// TestAbuseNoGhosts: after resets, half-closes, vanishing senders and
// panics, /who and /users list exactly who is connected.
func TestAbuseNoGhosts(t *testing.T) {
	s := startServer(t, nil)
	stayer, stayerNick := s.dial()
	for i := range 12 {
		c, nick := s.dial()
		c.send("/nick gone" + fmt.Sprint(i))
		c.skipUntil("*** " + nick + " is now known as gone" + fmt.Sprint(i))
		switch i % 4 {
		case 0:
			c.conn.(*net.TCPConn).SetLinger(0)
			c.conn.Close()
		case 1:
			c.conn.(*net.TCPConn).CloseWrite()
		case 2:
			c.conn.Write([]byte("and gone\r\n"))
			c.conn.Close()
		case 3:
			s.System().Root.Send(s.connPID(t, "gone"+fmt.Sprint(i)), &faultpb.InjectFault{Reason: "test"})
		}
	}
	testkit.Eventually(t, "only the stayer to be left", func() bool {
		p := newProbe(t, s.System())
		p.send(s.Registry(), &messages.ListUsers{})
		return len(expect[*messages.UserList](t, p).GetUsers()) == 1
	})
	stayer.send("/users")
	stayer.skipUntil("*** 1 online:")
	stayer.expect("***   " + stayerNick + " in lobby")
	stayer.send("/who")
	stayer.expect("*** 1 in lobby: " + stayerNick)
}
