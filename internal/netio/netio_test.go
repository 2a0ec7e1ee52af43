package netio

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchat/actorchat/internal/testkit"
)

// counter counts up and down.
type counter struct{ n atomic.Int64 }

func (c *counter) Inc() { c.n.Add(1) }
func (c *counter) Dec() { c.n.Add(-1) }

// testMetrics are a table's metrics, with what it rejected by reason.
type testMetrics struct {
	TableMetrics
	open, total counter
	mu          sync.Mutex
	rejected    map[string]int
}

func newTestMetrics() *testMetrics {
	m := &testMetrics{rejected: map[string]int{}}
	m.TableMetrics = TableMetrics{Open: &m.open, Total: &m.total, Rejected: func(reason string) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.rejected[reason]++
	}}
	return m
}

func (m *testMetrics) rejectedFor(reason string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rejected[reason]
}

func TestOutboxBound(t *testing.T) {
	o := newOutbox(10)
	if err := o.write([]byte("12345")); err != nil {
		t.Fatal(err)
	}
	if err := o.write([]byte("123456")); !errors.Is(err, ErrOutboxFull) {
		t.Fatalf("got %v, want ErrOutboxFull past the limit", err)
	}
	if got := o.queued(); got != 5 {
		t.Errorf("queued %d, want 5: a refused write queues nothing", got)
	}
	data, final, _, ok := o.take()
	if string(data) != "12345" || final || !ok {
		t.Errorf("took %q (final %v, ok %v)", data, final, ok)
	}
	if _, _, _, ok := o.take(); ok {
		t.Errorf("took from an empty outbox: its writer must end")
	}
	o.close([]byte("bye"), time.Now(), false)
	if err := o.write([]byte("late")); err != nil {
		t.Errorf("a write after close: %v, want it dropped silently", err)
	}
	if data, final, _, _ := o.take(); string(data) != "bye" || !final {
		t.Errorf("took %q (final %v), want the last bytes", data, final)
	}
}

func TestTableLimits(t *testing.T) {
	m := newTestMetrics()
	tab := NewTable(2, 1, m.TableMetrics)
	a1, a2 := net.Pipe()
	defer a1.Close()
	defer a2.Close()
	b1, b2 := net.Pipe()
	defer b1.Close()
	defer b2.Close()
	if err := tab.Park(1, a1); err != nil {
		t.Fatal(err)
	}
	// net.Pipe addresses are all "pipe": one "IP".
	if err := tab.Park(2, b1); !errors.Is(err, ErrPerIP) {
		t.Errorf("got %v, want the per-IP limit", err)
	}
	if got := m.rejectedFor(RejectPerIP); got != 1 {
		t.Errorf("per-IP rejections %v, want 1", got)
	}
	if tab.Count() != 1 {
		t.Errorf("%d open, want 1", tab.Count())
	}
}

// addrConn is a connection from a remote address of the test's choosing.
type addrConn struct {
	net.Conn
	remote string
}

func (c addrConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.ParseIP(c.remote), Port: 7666} }

// TestTableLimitsIPv6By64: the per-address limit counts an IPv6 /64 as one
// address, whatever its low bits.
func TestTableLimitsIPv6By64(t *testing.T) {
	tab := NewTable(0, 2, newTestMetrics().TableMetrics)
	park := func(id uint64, remote string) error {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return tab.Park(id, addrConn{Conn: a, remote: remote})
	}
	for i, remote := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"} {
		if err := park(uint64(i+1), remote); err != nil {
			t.Fatal(err)
		}
	}
	if err := park(3, "2001:db8:1:2::3"); !errors.Is(err, ErrPerIP) {
		t.Errorf("a third address of one /64: %v, want the per-address limit", err)
	}
	if err := park(4, "2001:db8:1:3::1"); err != nil {
		t.Errorf("the next /64: %v", err)
	}
	if n := tab.OpenFrom("[2001:db8:1:2::99]:1"); n != 2 {
		t.Errorf("OpenFrom the /64: %d, want 2", n)
	}
}

// TestTableUnclaimed: a parked socket that no actor claims gets the last
// bytes, is closed, and is no longer waited for.
func TestTableUnclaimed(t *testing.T) {
	tab := NewTable(0, 0, newTestMetrics().TableMetrics)
	server, client := net.Pipe()
	defer client.Close()
	if err := tab.Park(1, server); err != nil {
		t.Fatal(err)
	}
	read := make(chan string, 1)
	go func() {
		_ = client.SetReadDeadline(time.Now().Add(testkit.WaitTimeout))
		line, _ := bufio.NewReader(client).ReadString('\n')
		read <- line
	}()
	if n := tab.Unclaimed([]byte("bye...\r\n")); n != 1 {
		t.Errorf("%d unclaimed, want 1", n)
	}
	if got := <-read; got != "bye...\r\n" {
		t.Errorf("read %q", got)
	}
	waitTable(t, tab, "Wait still counts the unclaimed socket's goroutines")
	if _, ok := tab.Claim(1); ok {
		t.Errorf("a closed socket can still be claimed")
	}
}

// sink counts the lines a socket's reader reports, and ignores the rest.
type sink struct{ lines atomic.Int64 }

func (s *sink) Line([]byte)          { s.lines.Add(1) }
func (s *sink) LineTooLong(int)      {}
func (s *sink) Interrupt()           {}
func (s *sink) InputOverflow()       {}
func (s *sink) TelnetReplies([]byte) {}
func (s *sink) InputClosed(error)    {}
func (s *sink) OutputFailed(error)   {}

// TestAbortWakesBlockedGoroutines is what the shutdown deadline relies on:
// a socket whose actor is wedged (it never takes lines, never finishes) has
// a reader waiting for credit and a writer waiting for its outbox; Abort ends
// both.
func TestAbortWakesBlockedGoroutines(t *testing.T) {
	var lines sink
	tab := NewTable(0, 0, newTestMetrics().TableMetrics)
	server, client := net.Pipe()
	defer client.Close()
	if err := tab.Park(1, server); err != nil {
		t.Fatal(err)
	}
	conn, _ := tab.Claim(1)
	sock := tab.NewSocket(1, conn, Config{MaxLineBytes: 1024, WriteTimeout: time.Second, LingerTimeout: time.Second, OutboxBytes: 1 << 10})
	sock.Start(&lines)
	// More lines than the reader has credits for: nobody gives them back.
	go func() {
		_ = client.SetWriteDeadline(time.Now().Add(testkit.WaitTimeout))
		_, _ = client.Write([]byte(strings.Repeat("x\n", 2*maxUnhandledLines)))
	}()
	testkit.Eventually(t, "the reader to run out of credit", func() bool { return lines.lines.Load() == maxUnhandledLines })

	sock.Abort()
	waitTable(t, tab, "the socket's goroutines did not end after Abort")
	if tab.Count() != 0 {
		t.Errorf("%d sockets open after Abort", tab.Count())
	}
}

// TestAbortNeverStarted: a socket whose actor never started it is closed
// and counted done by Abort.
func TestAbortNeverStarted(t *testing.T) {
	tab := NewTable(0, 0, newTestMetrics().TableMetrics)
	server, client := net.Pipe()
	defer client.Close()
	_ = tab.Park(1, server)
	conn, _ := tab.Claim(1)
	tab.NewSocket(1, conn, Config{MaxLineBytes: 64, OutboxBytes: 64})
	if ids := tab.AbortAll(nil); len(ids) != 1 || ids[0] != 1 {
		t.Errorf("aborted %v, want [1]", ids)
	}
	waitTable(t, tab, "Wait still counts a socket that never started")
}

func TestCause(t *testing.T) {
	_, err := net.Dial("tcp", "127.0.0.1:1")
	if err == nil {
		t.Skip("something listens on port 1")
	}
	if got := Cause(err).Error(); got != "connection refused" {
		t.Errorf("got %q", got)
	}
}

// waitTable waits, with a deadline, for every goroutine the table counts;
// failing says why they should have ended.
func waitTable(t *testing.T, tab *Table, failure string) {
	t.Helper()
	done := make(chan struct{})
	go func() { tab.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(testkit.WaitTimeout):
		t.Fatal(failure)
	}
}

// TestOutboxStartsWritersOnDemand: a writer is started for what is queued
// (also before the socket starts), one at a time, and again after one ended
// on an empty queue; none for a failed socket.
func TestOutboxStartsWritersOnDemand(t *testing.T) {
	o := newOutbox(1 << 10)
	spawned := 0
	_ = o.write([]byte("early")) // before the socket starts: queued
	o.start(func() { spawned++ }, nil)
	if spawned != 1 {
		t.Fatalf("%d writers for what was queued before the start, want 1", spawned)
	}
	_ = o.write([]byte("more")) // one is running: no second
	if spawned != 1 {
		t.Fatalf("%d writers while one runs", spawned)
	}
	if data, _, _, ok := o.take(); string(data) != "earlymore" || !ok {
		t.Fatalf("took %q", data)
	}
	if _, _, _, ok := o.take(); ok {
		t.Fatal("took from an empty outbox")
	}
	_ = o.write([]byte("next burst"))
	if spawned != 2 {
		t.Fatalf("%d writers after the first ended, want 2", spawned)
	}
	o.take()
	o.take()
	o.fail()
	o.close([]byte("bye"), time.Now(), false)
	if spawned != 2 {
		t.Fatalf("a writer was started for a failed socket")
	}
}

// TestOutboxWritesAtOnce: with nothing queued and no writer running, a write
// goes straight to the socket; what the socket does not take is queued for
// a writer, and everything after it waits behind it, so the client gets the
// bytes in order.
func TestOutboxWritesAtOnce(t *testing.T) {
	o := newOutbox(1 << 10)
	var direct strings.Builder
	take := 100 // bytes the "socket" accepts before it is full
	spawned := 0
	o.start(func() { spawned++ }, func(p []byte) int {
		n := min(len(p), take)
		take -= n
		direct.Write(p[:n])
		return n
	})
	_ = o.write([]byte("hello\r\n"))
	if direct.String() != "hello\r\n" || spawned != 0 || o.queued() != 0 {
		t.Fatalf("wrote %q at once, %d writers, %d queued; want all of it at once and no writer", direct.String(), spawned, o.queued())
	}
	long := strings.Repeat("x", 200)
	_ = o.write([]byte(long)) // the socket takes 93 bytes of it
	if spawned != 1 || o.queued() != 107 {
		t.Fatalf("%d writers, %d queued; want one writer for the 107 bytes the socket did not take", spawned, o.queued())
	}
	take = 1 << 10 // the socket drains: still, nothing may overtake the queue
	_ = o.write([]byte("after\r\n"))
	if data, _, _, _ := o.take(); string(data) != long[93:]+"after\r\n" {
		t.Fatalf("queued %q, want the rest of the long write and then the next one", data)
	}
	if direct.String() != "hello\r\n"+long[:93] {
		t.Fatalf("wrote %q at once", direct.String())
	}
	if _, _, _, ok := o.take(); ok {
		t.Fatal("took from an empty outbox")
	}
	_ = o.write([]byte("again\r\n")) // the writer ended: at once again
	if !strings.HasSuffix(direct.String(), "again\r\n") || spawned != 1 {
		t.Fatalf("wrote %q, %d writers; want the write done at once", direct.String(), spawned)
	}
}

// TestSocketWritesAtOnceOverTCP: over a real TCP connection the bytes a
// client is sent arrive whole and in order whether they were written at
// once or queued behind a client that stopped reading for a while.
func TestSocketWritesAtOnceOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	tab := NewTable(0, 0, newTestMetrics().TableMetrics)
	if err := tab.Park(1, server); err != nil {
		t.Fatal(err)
	}
	conn, _ := tab.Claim(1)
	sock := tab.NewSocket(1, conn, Config{MaxLineBytes: 1024, WriteTimeout: 10 * time.Second, LingerTimeout: time.Second, OutboxBytes: 64 << 20})
	sock.Start(&sink{})

	// Far more than the socket buffers hold while the client does not read:
	// most of it is queued, and the writer finishes it once the client reads.
	const lines = 500000
	for i := range lines {
		if err := sock.Write(fmt.Appendf(nil, "line %d\r\n", i)); err != nil {
			t.Fatal(err)
		}
	}
	_ = client.SetReadDeadline(time.Now().Add(testkit.WaitTimeout))
	r := bufio.NewReader(client)
	for i := range lines {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if want := fmt.Sprintf("line %d\r\n", i); line != want {
			t.Fatalf("got %q, want %q", line, want)
		}
	}
	sock.Finish([]byte("bye\r\n"), time.Second, false)
	if line, err := r.ReadString('\n'); err != nil || line != "bye\r\n" {
		t.Fatalf("got %q, %v; want the goodbye", line, err)
	}
	client.Close()
	waitTable(t, tab, "the socket's goroutines did not end")
}

// TestOutboxWritesALongTurnInPooledPieces: a connection that buffers more
// than a pooled buffer holds before its flush (a long mailbox turn) has it
// written in pieces of at most that size, in order, instead of growing one
// buffer; the flush writes the rest.
func TestOutboxWritesALongTurnInPooledPieces(t *testing.T) {
	o := newOutbox(1 << 30)
	var direct strings.Builder
	var pieces []int
	o.start(func() { t.Fatal("a writer was started for a socket that took everything") }, func(p []byte) int {
		pieces = append(pieces, len(p))
		direct.Write(p)
		return len(p)
	})
	var want strings.Builder
	flushes := 0
	for i := range 20000 {
		line := fmt.Appendf(nil, "<bob> line %d of a long turn\r\n", i)
		want.Write(line)
		flush, err := o.buffer(line)
		if err != nil {
			t.Fatal(err)
		}
		if flush {
			flushes++
		}
	}
	o.flush()
	if direct.String() != want.String() {
		t.Fatalf("the socket got %d bytes, want the %d buffered, in order", direct.Len(), want.Len())
	}
	if flushes != 1 {
		t.Errorf("%d flushes asked for, want 1", flushes)
	}
	for _, n := range pieces {
		if n > maxPooledOutboxBytes {
			t.Fatalf("pieces %v: one is bigger than a pooled buffer (%d)", pieces, maxPooledOutboxBytes)
		}
	}
	if len(pieces) < want.Len()/maxPooledOutboxBytes {
		t.Fatalf("pieces %v for %d bytes", pieces, want.Len())
	}
}
