// Package testkit holds what the tests of several packages share: polling
// with a deadline, a buffer safe to write from a process and read from the
// test, free loopback ports, chatd processes, and goleak's options. Only
// tests import it.
package testkit

import (
	"bufio"
	"bytes"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// WaitTimeout bounds every wait of a test: generous, because a loaded
// 2-core CI machine is slow, and only reached when a test fails.
const WaitTimeout = 10 * time.Second

// Eventually polls cond until it holds or WaitTimeout passes.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling, with a deadline
	}
}

// SyncBuffer is a bytes.Buffer safe for a process's writes and the test's
// reads.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago, for a process that must be told where to listen.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// LeakOptions are goleak's options for this project: protoactor's
// dead-letter throttle goroutines outlive every actor system.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1"),
		goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
		// The process's reused goroutines (internal/workers) while they wait
		// for a task: they end after an idle second or two (that package's
		// tests check it). Busy ones, stuck in a task, are still found.
		goleak.IgnoreTopFunction("github.com/actorchat/actorchat/internal/workers.(*Pool).wait"),
		goleak.IgnoreTopFunction("github.com/actorchat/actorchat/internal/workers.(*Pool).reap"),
	}
}

// Process is a server process a test started.
type Process struct {
	Cmd    *exec.Cmd
	Stderr *SyncBuffer
	exited chan struct{}
	err    error
}

// Start runs bin with args and extra environment; the process is killed
// when the test ends if it is still running. A chatd keeps its store in a
// directory of the test's own (CHATD_DATA), unless env or args say
// otherwise.
func Start(t testing.TB, bin string, env []string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(cmd.Environ(), "CHATD_DATA="+t.TempDir()), env...)
	return StartCmd(t, cmd)
}

// StartCmd is Start for a command the test has set up itself (extra files,
// a shell in front).
func StartCmd(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{Cmd: cmd, Stderr: &SyncBuffer{}, exited: make(chan struct{})}
	p.Cmd.Stderr = p.Stderr
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.Cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// Exited returns a channel closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Wait waits up to WaitTimeout for the process to exit and returns its exit
// code (-1 if a signal ended it).
func (p *Process) Wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(WaitTimeout):
		t.Fatalf("the process did not exit within %v; its log:\n%s", WaitTimeout, p.Stderr)
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("wait: %v", p.err)
	}
	return 0
}

// Client is a line client of a chat server, with a deadline on every read.
type Client struct {
	t    testing.TB
	Conn net.Conn
	R    *bufio.Reader
}

// Dial connects to addr, retrying until the server accepts.
func Dial(t testing.TB, addr string) *Client {
	t.Helper()
	var conn net.Conn
	Eventually(t, "the server at "+addr+" to accept", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		conn = c
		return err == nil
	})
	t.Cleanup(func() { conn.Close() })
	return &Client{t: t, Conn: conn, R: bufio.NewReader(conn)}
}

// offer is the telnet option offer that precedes the first line; a telnet
// client consumes it (see internal/telnet.Offer).
const offer = "\xff\xfd\x00\r"

// Line reads one line, without its line end (and without the telnet offer
// before the first one).
func (c *Client) Line() string {
	c.t.Helper()
	_ = c.Conn.SetReadDeadline(time.Now().Add(WaitTimeout))
	line, err := c.R.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, line)
	}
	return strings.TrimRight(strings.TrimPrefix(line, offer), "\r\n")
}

// SkipUntil reads lines until one equals want.
func (c *Client) SkipUntil(want string) {
	c.t.Helper()
	for c.Line() != want {
	}
}

// Send writes one line with a CRLF.
func (c *Client) Send(line string) {
	c.t.Helper()
	_ = c.Conn.SetWriteDeadline(time.Now().Add(WaitTimeout))
	if _, err := c.Conn.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

// EOF reads until the server closes the connection, with a deadline, and
// returns what came before the end.
func (c *Client) EOF() string {
	c.t.Helper()
	var rest strings.Builder
	_ = c.Conn.SetReadDeadline(time.Now().Add(WaitTimeout))
	buf := make([]byte, 4096)
	for {
		n, err := c.R.Read(buf)
		rest.Write(buf[:n])
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.t.Fatalf("connection still open after %v (read %q)", WaitTimeout, rest.String())
			}
			return rest.String()
		}
	}
}
