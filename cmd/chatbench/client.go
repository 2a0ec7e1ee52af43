package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// payloadMark starts every benchmark line: "B <sender> <seq> <sent-unix-nanos> ...".
const payloadMark = "B "

// client is one benchmark connection. Its reader goroutine counts the
// benchmark lines it receives and records their latency.
type client struct {
	id   int
	conn net.Conn
	w    *bufio.Writer // used by one sender goroutine at a time

	// Written by the reader goroutine; read after it is done or through
	// the atomics.
	received  atomic.Int64
	outOfOrd  atomic.Int64
	lat       *latencies // where the latencies go; nil: not recorded
	batch     []int64    // latencies in nanoseconds not yet added to lat
	nextSeq   map[int]int64
	perSender map[int]int64 // benchmark lines received from each sender
	marks     chan string   // non-benchmark lines that contain the watched marker
	watchMark atomic.Pointer[string]
	readErr   error
	done      chan struct{}

	mu   sync.Mutex
	tail []string // the last few lines that were not benchmark lines, for diagnostics
}

// tailSize is how many non-benchmark lines a client keeps for diagnostics.
const tailSize = 8

// lastLines returns the last non-benchmark lines the client read.
func (c *client) lastLines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.tail...)
}

// dial connects and waits for the server's first line (its welcome).
// Latencies of the benchmark lines it receives go to lat.
func dial(addr string, id int, timeout time.Duration, lat *latencies) (*client, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c := &client{
		id:        id,
		lat:       lat,
		conn:      conn,
		w:         bufio.NewWriterSize(conn, 32<<10),
		nextSeq:   make(map[int]int64),
		perSender: make(map[int]int64),
		marks:     make(chan string, 16),
		done:      make(chan struct{}),
	}
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	r := bufio.NewReaderSize(conn, 64<<10)
	if _, err := r.ReadSlice('\n'); err != nil {
		conn.Close()
		return nil, fmt.Errorf("welcome: %w", err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	go c.read(r)
	return c, nil
}

// read consumes everything the server sends until the connection closes.
func (c *client) read(r *bufio.Reader) {
	defer close(c.done)
	defer c.flushLatencies()
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.readErr = err
			}
			return
		}
		now := time.Now().UnixNano()
		// "<nick> B ...": live chat only, not a history replay or a notice.
		if i := bytes.Index(line, []byte("> "+payloadMark)); i >= 0 && line[0] == '<' {
			c.record(line[i+2+len(payloadMark):], now)
			continue
		}
		c.mu.Lock()
		if len(c.tail) == tailSize {
			c.tail = c.tail[1:]
		}
		c.tail = append(c.tail, string(bytes.TrimRight(line, "\r\n")))
		c.mu.Unlock()
		if m := c.watchMark.Load(); m != nil && bytes.Contains(line, []byte(*m)) {
			select {
			case c.marks <- *m:
			default:
			}
		}
	}
}

// record parses "<sender> <seq> <nanos> ..." and notes its latency.
func (c *client) record(p []byte, now int64) {
	sender, p := field(p)
	seq, p := field(p)
	sent, _ := field(p)
	s, err1 := strconv.Atoi(string(sender))
	q, err2 := strconv.ParseInt(string(seq), 10, 64)
	t, err3 := strconv.ParseInt(string(sent), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return
	}
	if q != c.nextSeq[s] {
		c.outOfOrd.Add(1)
	}
	c.nextSeq[s] = q + 1
	c.perSender[s]++
	if c.lat != nil {
		c.batch = append(c.batch, now-t)
		if len(c.batch) == latencyBatch {
			c.flushLatencies()
		}
	}
	c.received.Add(1)
}

// flushLatencies adds the client's batch to the run's histogram.
func (c *client) flushLatencies() {
	if c.lat != nil && len(c.batch) > 0 {
		c.lat.add(c.id, c.batch)
		c.batch = c.batch[:0]
	}
}

func field(p []byte) ([]byte, []byte) {
	i := bytes.IndexByte(p, ' ')
	if i < 0 {
		return bytes.TrimRight(p, "\r\n"), nil
	}
	return p[:i], p[i+1:]
}

// sendLine writes one line and flushes.
func (c *client) sendLine(s string) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.w.WriteString(s + "\r\n"); err != nil {
		return err
	}
	return c.w.Flush()
}

// connectAll dials n clients with at most conc dials at once.
func connectAll(addrs []string, n, conc int, timeout time.Duration, lat *latencies, progress func(int)) ([]*client, time.Duration, error) {
	clients := make([]*client, n)
	var firstErr error
	var mu sync.Mutex
	var done atomic.Int64
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := dial(addrs[i%len(addrs)], i, timeout, lat)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("client %d: %w", i, err)
				}
				mu.Unlock()
				return
			}
			clients[i] = c
			if progress != nil {
				progress(int(done.Add(1)))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		closeAll(clients)
		return nil, elapsed, firstErr
	}
	return clients, elapsed, nil
}

// closeAll ends the clients once a run has been measured. Each is reset
// (SO_LINGER 0) rather than closed in order: an orderly close leaves the
// client's side in TIME_WAIT for a minute, and tens of thousands of those
// from the runs before made every connect() of the next run search longer
// for a free port (connect-storm runs varied 2x within one compare).
func closeAll(clients []*client) {
	for _, c := range clients {
		if c != nil {
			if tc, ok := c.conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			c.conn.Close()
		}
	}
	for _, c := range clients {
		if c != nil {
			<-c.done
		}
	}
}

// barrierResend is how often a barrier marker is sent again for clients that
// were not in the room yet.
const barrierResend = 250 * time.Millisecond

// barrier has from send a marker line until every client in others has seen
// it: then all of them are in the room and will get what is sent next.
func barrier(from *client, others []*client, mark string, timeout time.Duration) error {
	for _, c := range others {
		c.watchMark.Store(&mark)
	}
	deadline := time.After(timeout)
	resend := time.NewTicker(barrierResend)
	defer resend.Stop()
	if err := from.sendLine(mark); err != nil {
		return err
	}
	for _, c := range others {
		for seen := false; !seen; {
			select {
			case <-c.marks:
				seen = true
			case <-resend.C:
				if err := from.sendLine(mark); err != nil {
					return err
				}
			case <-deadline:
				return fmt.Errorf("client %d did not see the barrier %q within %v; its last lines: %q", c.id, mark, timeout, c.lastLines())
			}
		}
	}
	for _, c := range others {
		c.watchMark.Store(nil)
	}
	return nil
}
