package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/term"

	"github.com/actorchat/actorchat/actors"
	"github.com/actorchat/actorchat/internal/testkit"
)

const waitTimeout = testkit.WaitTimeout

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testkit.LeakOptions()...)
}

// startChatd runs a real server on loopback for the test; more changes
// its configuration first.
func startChatd(t *testing.T, more ...func(*actors.Config)) *actors.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := actors.DefaultConfig()
	cfg.Version = "test"
	cfg.Logger = slog.New(slog.DiscardHandler)
	for _, f := range more {
		f(&cfg)
	}
	srv := actors.MustStart(ln, cfg)
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return srv
}

// session is one run of the client with pipes for stdin and stdout.
type session struct {
	stdin  *os.File // the test's end: what the user types
	stdout *testkit.SyncBuffer
	stderr *testkit.SyncBuffer
	code   chan int
}

func startClient(t *testing.T, ctx context.Context, opts options) *session {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	s := &session{stdin: w, stdout: &testkit.SyncBuffer{}, stderr: &testkit.SyncBuffer{}, code: make(chan int, 1)}
	if opts.quitTimeout == 0 {
		opts.quitTimeout = 5 * time.Second
	}
	go func() { s.code <- run(ctx, opts, newScanLines(r), s.stdout, s.stderr) }()
	return s
}

func (s *session) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case c := <-s.code:
		return c
	case <-time.After(waitTimeout):
		t.Fatalf("client still running after %v; stdout:\n%s", waitTimeout, s.stdout)
		return -1
	}
}

// waitOutput waits until stdout holds want.
func (s *session) waitOutput(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !strings.Contains(s.stdout.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("stdout never showed %q; got:\n%s", want, s.stdout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// typeLine is the user typing line and Enter.
func (s *session) typeLine(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(s.stdin, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// close is the user ending stdin: the client says /quit and exits 0.
func (s *session) close(t *testing.T) {
	t.Helper()
	s.stdin.Close()
	if code := s.exitCode(t); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, s.stderr)
	}
}

// watcher is a plain TCP client in the lobby that records what it reads.
func watcher(t *testing.T, addr string) *bufio.Reader {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	return bufio.NewReader(conn)
}

func readUntil(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading for %q: %v", want, err)
		}
		if strings.TrimRight(line, "\r\n") == want {
			return
		}
	}
}

// TestPipedSession is `printf '/nick bob\nhello\n' | chat`: both lines are
// delivered and the client exits 0 after the server's bye....
func TestPipedSession(t *testing.T) {
	srv := startChatd(t)
	w := watcher(t, srv.Addr().String())
	readUntil(t, w, "*** You are in room lobby with nobody else.")

	s := startClient(t, context.Background(), options{addr: srv.Addr().String()})
	fmt.Fprint(s.stdin, "/nick bob\nhello\n")
	s.stdin.Close()
	if code := s.exitCode(t); code != 0 {
		t.Errorf("exit code %d, want 0; stderr: %s", code, s.stderr)
	}
	readUntil(t, w, "<bob> hello")
	readUntil(t, w, "*** bob left (quit)")
	out := s.stdout.String()
	if !strings.HasPrefix(out, "*** Welcome to actorchat test") || !strings.HasSuffix(out, "bye...\n") {
		t.Errorf("stdout:\n%s\nwant the welcome first and bye... last", out)
	}
	if strings.Contains(out, "\r") {
		t.Errorf("stdout holds CR characters; a pipe gets plain lines")
	}
	if got := s.stderr.String(); got != "" {
		t.Errorf("stderr %q after a goodbye, want nothing", got)
	}
}

func TestNickFlag(t *testing.T) {
	srv := startChatd(t)
	s := startClient(t, context.Background(), options{addr: srv.Addr().String(), nick: "carol"})
	s.waitOutput(t, "*** guest1 is now known as carol")
	s.stdin.Close()
	if code := s.exitCode(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// TestServerSideExit: the user types exit; the client notices the server's
// bye... while it waits on stdin, and exits 0 at once.
func TestServerSideExit(t *testing.T) {
	srv := startChatd(t)
	s := startClient(t, context.Background(), options{addr: srv.Addr().String()})
	fmt.Fprint(s.stdin, "exit\n") // stdin stays open
	if code := s.exitCode(t); code != 0 {
		t.Errorf("exit code %d, want 0; stderr %s", code, s.stderr)
	}
}

// TestServerShutdownWhileWaitingOnStdin: the server shuts down while the
// client waits for the user; it prints the notice and exits 0.
func TestServerShutdownWhileWaitingOnStdin(t *testing.T) {
	srv := startChatd(t)
	s := startClient(t, context.Background(), options{addr: srv.Addr().String()})
	s.waitOutput(t, "*** You are in room lobby")
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code := s.exitCode(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	s.waitOutput(t, "*** The server is shutting down. Goodbye!\nbye...\n")
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s := startClient(t, context.Background(), options{addr: addr})
	if code := s.exitCode(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	want := "chat: cannot connect to " + addr + ": connection refused\n"
	if got := s.stderr.String(); got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

// TestServerKilledMidSession: the server vanishes without a goodbye (as when
// it is killed): the client reports the lost connection and exits 1.
func TestServerKilledMidSession(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		io.WriteString(conn, "*** Welcome to a doomed server\r\n")
		bufio.NewReader(conn).ReadString('\n') // the user's first line
		conn.(*net.TCPConn).SetLinger(0)       // then an RST, as from a killed process
		conn.Close()
	}()
	s := startClient(t, context.Background(), options{addr: ln.Addr().String()})
	s.waitOutput(t, "doomed")
	fmt.Fprint(s.stdin, "anyone?\n")
	if code := s.exitCode(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if got := s.stderr.String(); !strings.HasPrefix(got, "chat: connection lost: ") || strings.Count(got, "\n") != 1 {
		t.Errorf("stderr %q, want one connection lost line", got)
	}
}

// TestInterrupt is Ctrl-C on a pipe (SIGINT): /quit, then exit 0 on bye....
func TestInterrupt(t *testing.T) {
	srv := startChatd(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := startClient(t, ctx, options{addr: srv.Addr().String()})
	s.waitOutput(t, "*** You are in room lobby")
	cancel()
	if code := s.exitCode(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// TestNoGoodbye: a server that never answers /quit: the client gives up
// after its quit timeout and exits 1.
func TestNoGoodbye(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			io.WriteString(conn, "hi\r\n")
			accepted <- conn
		}
	}()
	s := startClient(t, context.Background(), options{addr: ln.Addr().String(), quitTimeout: 100 * time.Millisecond})
	s.stdin.Close()
	if code := s.exitCode(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	(<-accepted).Close()
	if got := s.stderr.String(); got != "chat: the server did not say goodbye within 100ms\n" {
		t.Errorf("stderr %q", got)
	}
}

func TestFlags(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseFlags([]string{"extra"}, &out); err == nil || err.Error() != `unexpected argument "extra" (flags start with -)` {
		t.Errorf("got %v", err)
	}
	opts, err := parseFlags([]string{"-addr", "example:1", "-nick", "x"}, &out)
	if err != nil || opts.addr != "example:1" || opts.nick != "x" || opts.quitTimeout != 5*time.Second {
		t.Errorf("got %+v, %v", opts, err)
	}
	// A bad flag is one error for main to print, with nothing printed here.
	out.Reset()
	if _, err := parseFlags([]string{"-bogus"}, &out); err == nil || err.Error() != "flag provided but not defined: -bogus (see chat -help)" || out.Len() != 0 {
		t.Errorf("got %v and output %q", err, out.String())
	}
	if _, err := parseFlags([]string{"-help"}, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "-addr") {
		t.Errorf("-help: got %v and output %q", err, out.String())
	}
}

func TestPlainLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\xff\xfb\x00\xff\xfd\x00\r*** Welcome\r\n", "*** Welcome"},
		{"<a> hi\r\n", "<a> hi"},
		{"x\xff\xff y\n", "x\xff y"},
		{"a\xff\xfa\x18\x01\xff\xf0b\r\n", "ab"},
		{"a\xff\xf1b\r\n", "ab"},
	}
	for _, tt := range tests {
		if got := plainLine(tt.in, nil); got != tt.want {
			t.Errorf("plainLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestPasswordIsHidden: the client speaks telnet (binary mode) from the
// start, so the server asks it to hide a password (IAC WILL ECHO): it
// agrees, its terminal shows nothing of what is typed, and the typed
// password still goes to the server; afterwards (IAC WONT ECHO) typing
// shows again.
func TestPasswordIsHidden(t *testing.T) {
	srv := startChatd(t)
	var hidden []bool
	var mu sync.Mutex
	opts := options{addr: srv.Addr().String(), quitTimeout: waitTimeout, hide: func(h bool) {
		mu.Lock()
		hidden = append(hidden, h)
		mu.Unlock()
	}}
	s := startClient(t, context.Background(), opts)
	s.waitOutput(t, "*** You are in room lobby")
	s.typeLine(t, "/oper root")
	s.waitOutput(t, "*** Password of the operator root (not shown as you type; an empty line cancels):")
	testkit.Eventually(t, "the client to hide the password", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(hidden) == 1 && hidden[0]
	})
	s.typeLine(t, "not the password")
	s.waitOutput(t, "!!! wrong operator name or password")
	testkit.Eventually(t, "the client to show typing again", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(hidden) == 2 && !hidden[1]
	})
	s.close(t)
}

// TestSecretInput: while hidden, the line editor gets one blank per key
// and the keys are kept; a Backspace at the end erases one.
func TestSecretInput(t *testing.T) {
	var in bytes.Buffer
	var out bytes.Buffer
	tt := &terminal{Terminal: term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{&in, &out}, "> ")}
	tt.AutoCompleteCallback = tt.secret.key
	tt.hide(true)
	in.WriteString("s3cret!x\x7f\r")
	line, err := tt.ReadLine()
	if err != nil || line != "s3cret!" {
		t.Fatalf("read %q, %v", line, err)
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Fatalf("the terminal showed %q", out.String())
	}
	tt.hide(false)
	in.WriteString("shown\r")
	if line, _ := tt.ReadLine(); line != "shown" || !strings.Contains(out.String(), "shown") {
		t.Fatalf("read %q, showed %q", line, out.String())
	}
}

// TestTLS: -cafile connects to the TLS port trusting that certificate; a
// certificate nobody vouches for is refused in one line.
func TestTLS(t *testing.T) {
	cert := testkit.NewCert(t, t.TempDir(), 1)
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	startChatd(t, func(cfg *actors.Config) {
		cfg.TLSListener = tlsLn
		cfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert.Pair}, MinVersion: tls.VersionTLS12}
	})

	s := startClient(t, context.Background(), options{addr: tlsLn.Addr().String(), tls: true, caFile: cert.CertFile, quitTimeout: waitTimeout})
	s.waitOutput(t, "*** You are in room lobby")
	s.close(t)

	var stderr bytes.Buffer
	r, w, _ := os.Pipe()
	defer r.Close()
	w.Close()
	if code := run(context.Background(), options{addr: tlsLn.Addr().String(), tls: true, quitTimeout: waitTimeout}, newScanLines(r), io.Discard, &stderr); code != 1 ||
		!strings.HasPrefix(stderr.String(), "chat: cannot connect to "+tlsLn.Addr().String()+": tls: failed to verify certificate") || strings.Count(stderr.String(), "\n") != 1 {
		t.Fatalf("exit %d: %q", code, stderr.String())
	}
}

// TestClientDependencies: the client is a small program: nothing of the
// server's actor system, metrics or tracing comes in through the packages
// it shares with the server (internal/netio).
func TestClientDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, server := range []string{"github.com/asynkron/protoactor-go", "github.com/prometheus/", "go.opentelemetry.io/", "github.com/actorchat/actorchat/messages"} {
			if strings.HasPrefix(dep, server) {
				t.Errorf("cmd/chat depends on %s", dep)
			}
		}
	}
}
