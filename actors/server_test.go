package actors

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/actorchat/actorchat/internal/faults/faultpb"
	"github.com/actorchat/actorchat/internal/telnet"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testkit.LeakOptions()...)
}

// testServer is a real server on 127.0.0.1:0.
type testServer struct {
	*Server
	t *testing.T
}

// startServer starts a server that is shut down after the test.
func startServer(t *testing.T, mutate func(*Config)) *testServer {
	t.Helper()
	s := startUnmanagedServer(t, mutate)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

// startUnmanagedServer starts a server that the test itself shuts down (to
// check what shutdown leaves behind).
func startUnmanagedServer(t *testing.T, mutate func(*Config)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Version = "test"
	cfg.Logger = testLogger()
	// Tests chat at full speed from one address; the tests of the limits
	// set them back.
	cfg.FloodRate = 0
	cfg.MaxConnsPerIP = 0
	cfg.RegisterBurst = 1000
	cfg.Middleware = faultMiddleware(t)
	if mutate != nil {
		mutate(&cfg)
	}
	return &testServer{Server: MustStart(ln, cfg), t: t}
}

// dial connects a client and reads its welcome; it returns the client and
// the guest nick the server gave it.
func (s *testServer) dial() (*lineConn, string) {
	s.t.Helper()
	return s.dialFrom("")
}

// dialFrom is dial from another loopback address of the machine (a client
// of its own, for the limits and bans by address): 127.0.0.2, ...; "" is
// the default.
func (s *testServer) dialFrom(local string) (*lineConn, string) {
	s.t.Helper()
	d := net.Dialer{Timeout: waitTimeout}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	conn, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		s.t.Fatalf("dial: %v", err)
	}
	s.t.Cleanup(func() { conn.Close() })
	c := newLineConn(s.t, conn)
	c.expect("*** Welcome to actorchat test, a chat server built on actors.")
	line := c.expectPrefix("*** You are guest")
	nick := strings.Fields(strings.TrimPrefix(line, "*** You are "))[0]
	nick = strings.TrimSuffix(nick, ".")
	c.expectPrefix("*** You are in room lobby with ")
	return c, nick
}

// shutdown stops the server and returns how long it took.
func (s *testServer) shutdown() (time.Duration, error) {
	start := time.Now()
	err := s.Shutdown(context.Background())
	return time.Since(start), err
}

var guestRE = regexp.MustCompile(`^\*\*\* You are (guest\d+)\. Change it with /nick NAME\. Type /help for commands, /quit to leave\.$`)

func TestServerWelcome(t *testing.T) {
	s := startServer(t, nil)
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := newLineConn(t, conn)
	c.expect("*** Welcome to actorchat test, a chat server built on actors.")
	if m := guestRE.FindStringSubmatch(c.line()); m == nil {
		t.Errorf("second line does not name a guest nick")
	}
	c.expect("*** You are in room lobby with nobody else.")

	_, nick2 := s.dial()
	c.expect("*** " + nick2 + " joined lobby")
	c3, nick3 := s.dial()
	if nick2 == nick3 {
		t.Errorf("two guests got the same nick %s", nick2)
	}
	c.expect("*** " + nick3 + " joined lobby")
	c3.send("/who")
	c3.expectPrefix("*** 3 in lobby: guest")
}

// TestServerWelcomeInOneWrite: everything a new connection is told (the
// telnet offer, the welcome, the room) comes in one TCP segment, so the
// client's first read has all of it (one write on the server, one wake-up
// of the client's reader).
func TestServerWelcomeInOneWrite(t *testing.T) {
	s := startServer(t, nil)
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 64<<10)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	got := string(buf[:n])
	if !strings.HasPrefix(got, telnet.Offer+"*** Welcome to actorchat test") || !strings.HasSuffix(got, "*** You are in room lobby with nobody else.\r\n") {
		t.Errorf("first read %q, want the offer, the welcome and the room", got)
	}
}

func TestServerChatReachesOthersInOrder(t *testing.T) {
	s := startServer(t, nil)
	a, nickA := s.dial()
	b, nickB := s.dial()
	c, _ := s.dial()
	a.skipUntil("*** " + nickB + " joined lobby")
	b.expectPrefix("*** guest") // c joined

	const n = 200
	var wg sync.WaitGroup
	for _, sender := range []*lineConn{a, b} {
		wg.Go(func() {
			for i := range n {
				fmt.Fprintf(sender.conn, "line %d\r\n", i)
			}
		})
	}
	wg.Wait()
	// c sees each sender's lines in order; the senders never see their own.
	next := map[string]int{}
	for range 2 * n {
		line := c.line()
		var nick string
		var i int
		if _, err := fmt.Sscanf(line, "<%s line %d", &nick, &i); err != nil {
			t.Fatalf("unexpected line %q", line)
		}
		nick = strings.TrimSuffix(nick, ">")
		if i != next[nick] {
			t.Fatalf("from %s got line %d, want %d", nick, i, next[nick])
		}
		next[nick]++
	}
	for _, got := range []struct {
		c    *lineConn
		from string
	}{{a, nickB}, {b, nickA}} {
		for i := range n {
			got.c.skipUntil(fmt.Sprintf("<%s> line %d", got.from, i))
		}
	}
	// Nothing of their own came back: the next line each reads is this one.
	c.send("/me is done")
	a.expectPrefix("* guest")
	b.expectPrefix("* guest")
}

func TestServerQuit(t *testing.T) {
	for _, line := range []string{"exit", " Exit ", "/quit", "/quit see you", "/bye", "/exit"} {
		t.Run(line, func(t *testing.T) {
			s := startServer(t, nil)
			watcher, _ := s.dial()
			c, nick := s.dial()
			watcher.expect("*** " + nick + " joined lobby")
			c.send(line)
			c.expect("bye...")
			c.expectEOF()
			want := "*** " + nick + " left (quit)"
			if strings.HasSuffix(line, "see you") {
				want = "*** " + nick + " left (quit: see you)"
			}
			watcher.expect(want)
		})
	}
}

func TestServerTelnetCtrlC(t *testing.T) {
	s := startServer(t, nil)
	watcher, _ := s.dial()
	c, nick := s.dial()
	watcher.expect("*** " + nick + " joined lobby")
	c.conn.Write([]byte("half a li\xff\xf4")) // what telnet sends on Ctrl-C
	c.expect("bye...")
	c.expectEOF()
	watcher.expect("*** " + nick + " left (quit)")
}

func TestServerConnectionLost(t *testing.T) {
	// A clean end of input is a goodbye (quit); a reset is a lost connection.
	tests := []struct {
		name  string
		close func(net.Conn)
		want  string
	}{
		{"close", func(c net.Conn) { c.Close() }, "quit"},
		{"reset", func(c net.Conn) {
			c.(*net.TCPConn).SetLinger(0) // an RST, as from a killed client
			c.Close()
		}, "connection lost"},
		{"half close", func(c net.Conn) { c.(*net.TCPConn).CloseWrite() }, "quit"},
		{"send and vanish", func(c net.Conn) {
			c.Write([]byte("last words\r\n"))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}, "connection lost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, nil)
			watcher, watcherNick := s.dial()
			c, nick := s.dial()
			watcher.expect("*** " + nick + " joined lobby")
			c.send("/nick vanisher")
			watcher.expect("*** " + nick + " is now known as vanisher")
			// Read everything first: closing with unread input resets.
			c.expect("*** " + nick + " is now known as vanisher")
			tt.close(c.conn)
			if tt.name == "send and vanish" {
				watcher.expect("<vanisher> last words")
			}
			watcher.expect("*** vanisher left (" + tt.want + ")")
			// The nick is free again, and nothing of the connection is left.
			watcher.send("/nick vanisher")
			watcher.expect("*** " + watcherNick + " is now known as vanisher")
			testkit.Eventually(t, "the socket to close", func() bool { return s.OpenSockets() == 1 })
		})
	}
}

func TestServerHelpAndUnknownCommand(t *testing.T) {
	s := startServer(t, nil)
	c, _ := s.dial()
	c.send("/help")
	c.expectPrefix("*** Commands")
	for _, cmd := range newCommandSet(DefaultConfig().connectionConfig()).list {
		if cmd.usable == nil { // the account commands are not listed: this server has no store
			c.expectPrefix("***   /")
		}
	}
	c.send("/dance wildly")
	c.expect("!!! unknown command /dance; type /help for the list")
	c.send("still chatting fine")
	c.send("/who")
	c.expect("*** 1 in lobby: guest1")
}

func TestServerShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy (4 MB queued for a client that never reads): skipped with -short")
	}
	var log testkit.SyncBuffer
	s := startServer(t, func(c *Config) {
		c.ShutdownTimeout = 5 * time.Second
		c.FlushTimeout = 300 * time.Millisecond
		c.LingerTimeout = 300 * time.Millisecond
		c.OutboxBytes = 16 << 20
		c.Logger = slog.New(slog.NewTextHandler(&log, nil))
	})
	reader, _ := s.dial()
	// A client that never reads, with megabytes queued for it: its last
	// write blocks until the flush deadline.
	stuck, _ := s.dial()
	_ = stuck.conn.(*net.TCPConn).SetReadBuffer(4096)
	chatter, chatterNick := s.dial()
	reader.skipUntil("*** " + chatterNick + " joined lobby")
	big := strings.Repeat("z", 900)
	for i := range 4000 {
		chatter.send(fmt.Sprintf("%d %s", i, big))
	}
	reader.skipUntil("<" + chatterNick + "> 3999 " + big)

	// The client that never reads holds nobody up: its goodbye's flush ends
	// at the flush timeout, so every socket is closed by its writer before
	// the shutdown deadline, and no actor is abandoned.
	if _, err := s.shutdown(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if strings.Contains(log.String(), "closed sockets") {
		t.Errorf("shutdown had to close sockets at its deadline:\n%s", log.String())
	}
	for _, c := range []*lineConn{reader, chatter} {
		c.expect("*** " + shutdownNotice)
		c.expect("bye...")
		c.expectEOF()
	}
	if _, err := net.DialTimeout("tcp", s.Addr().String(), time.Second); err == nil {
		t.Errorf("the server still accepts connections")
	}
	if n := s.OpenSockets(); n != 0 {
		t.Errorf("%d sockets still open", n)
	}
}

// TestServerConnectionPanic injects a panic into one connection actor: its
// user reads an error and bye..., the others see it leave with reason error
// and keep chatting.
func TestServerConnectionPanic(t *testing.T) {
	s := startServer(t, nil)
	a, nickA := s.dial()
	b, nickB := s.dial()
	a.expect("*** " + nickB + " joined lobby")
	victim := s.connPID(t, nickB)
	s.System().Root.Send(victim, &faultpb.InjectFault{Reason: "test"})
	b.expect("!!! internal server error; your connection is closed (sorry)")
	b.expect("bye...")
	b.expectEOF()
	a.expect("*** " + nickB + " left (error)")

	c, nickC := s.dial()
	a.expect("*** " + nickC + " joined lobby")
	a.send("still here")
	c.expect("<" + nickA + "> still here")
}

// connPID finds the connection actor of nick through the registry.
func (s *testServer) connPID(t *testing.T, nick string) *actor.PID {
	t.Helper()
	p := newProbe(t, s.System())
	p.send(s.Registry(), &messages.ResolveNick{Nick: nick})
	id := expect[*messages.NickResolved](t, p).GetMemberId()
	return s.System().NewLocalPID("server/connections/conn-" + id[strings.LastIndexByte(id, '.')+1:])
}

// TestServerRegistryAndRoomPanics injects panics into the registry, the rooms
// actor, the lobby and the connections supervisor: nobody loses their nick,
// room or connection.
func TestServerRegistryAndRoomPanics(t *testing.T) {
	s := startServer(t, nil)
	a, _ := s.dial()
	b, nickB := s.dial()
	a.expect("*** " + nickB + " joined lobby")
	a.send("/nick alice")
	b.expect("*** guest1 is now known as alice")
	a.expect("*** guest1 is now known as alice")

	lobby := s.System().NewLocalPID("server/rooms/lobby-1")
	for _, pid := range []*actor.PID{s.Registry(), s.Rooms(), lobby, s.Connections()} {
		s.System().Root.Send(pid, &faultpb.InjectFault{Reason: "test"})
	}
	b.send("/nick alice")
	b.expect("!!! nick alice is taken")
	b.send("/who")
	b.expect("*** 2 in lobby: alice, " + nickB)
	b.send("hello alice")
	a.expect("<" + nickB + "> hello alice\a") // a mention rings the bell
	b.send("/join other")
	b.expect("*** You are in room other with nobody else.")
	// The connections supervisor still spawns connections.
	c, nickC := s.dial()
	c.send("/who")
	c.skipUntil("*** 2 in lobby: alice, " + nickC) // after the lobby's history
}

// TestServerLeavesNothingBehind runs clients through every way of leaving,
// then stops the server: goleak finds no goroutine left.
func TestServerLeavesNothingBehind(t *testing.T) {
	defer goleak.VerifyNone(t, testkit.LeakOptions()...)
	s := startUnmanagedServer(t, func(c *Config) { c.ShutdownTimeout = 3 * time.Second })

	quitter, _ := s.dial()
	quitter.send("exit")
	quitter.expect("bye...")
	closer, _ := s.dial()
	closer.conn.Close()
	resetter, _ := s.dial()
	resetter.conn.(*net.TCPConn).SetLinger(0)
	resetter.conn.Close()
	panicker, nick := s.dial()
	s.System().Root.Send(s.connPID(t, nick), &faultpb.InjectFault{Reason: "test"})
	panicker.skipUntil("bye...")
	mover, _ := s.dial()
	mover.send("/join elsewhere")
	mover.expect("*** You are in room elsewhere with nobody else.")
	stayer, _ := s.dial()
	stayer.send("hello")
	_, _ = s.dial() // never reads again

	if _, err := s.shutdown(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	stayer.skipUntil("bye...")
}
