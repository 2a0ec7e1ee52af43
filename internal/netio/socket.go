// Package netio is the I/O side of a client connection: a reader goroutine
// that decodes the socket's bytes (package telnet) into lines for a Sink, a
// writer goroutine that owns every write and the close, the bounded outbox
// between the Sink's owner and its writer, and the table of the server's open
// sockets. It knows nothing of actors or of the chat's messages: the
// connection actor gives it a Sink that turns what it reports into messages.
package netio

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/actorchat/actorchat/internal/telnet"
	"github.com/actorchat/actorchat/internal/workers"
)

// readBufferBytes is the size of a read buffer. Lines longer than this are
// assembled by the decoder across reads, so it only trades system calls
// against memory.
const readBufferBytes = 2048

// readBuffers are the read buffers of every socket. A reader borrows one
// only while it has bytes to decode (see Socket.read), so ten thousand idle
// connections hold none instead of 20 MB.
var readBuffers = sync.Pool{New: func() any {
	b := make([]byte, readBufferBytes)
	return &b
}}

// maxUnhandledLines is how many input lines a reader may send ahead of its
// connection actor handling them, the lines the actor holds while it waits for
// a nick change or a room included. Past it the reader stops reading, and TCP
// pushes back on the client: input is bounded without dropping lines.
const maxUnhandledLines = 64

// maxPooledOutboxBytes is the largest outbox buffer given back for reuse
// after a burst; a bigger one (left by a burst to a slow reader) is dropped.
const maxPooledOutboxBytes = 64 << 10

// outboxBuffers are the outbox buffers of every socket: an outbox takes one
// when the first line of a burst is queued and its writer gives it back
// after the write, so an idle connection holds none.
var outboxBuffers sync.Pool

func getOutboxBuffer() []byte {
	if p, ok := outboxBuffers.Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return nil
}

func putOutboxBuffer(b []byte) {
	if c := cap(b); c > 0 && c <= maxPooledOutboxBytes {
		b = b[:0]
		outboxBuffers.Put(&b)
	}
}

// ErrOutboxFull is what outbox.write reports when the client is not reading
// fast enough for what the server has queued for it.
var ErrOutboxFull = errors.New("outbox full")

// outbox is the bounded queue of bytes between a connection actor (which
// appends rendered lines) and its writer goroutine (which takes everything
// queued and writes it with one call). Appending never blocks. The writer
// exists only while there is something to write: the append that finds no
// writer starts one, and a writer that finds the queue empty ends, so an
// idle connection holds no writer goroutine (and no stack for it).
type outbox struct {
	limit int // most bytes queued at once; over it the client is a slow consumer

	mu       sync.Mutex
	buf      []byte    // queued bytes; nil between bursts; guarded by mu
	closed   bool      // no more writes; the writer flushes and stops; guarded by mu
	failed   bool      // the socket failed; writes are discarded; guarded by mu
	deadline time.Time // after close: when the final flush gives up; guarded by mu
	running  bool      // a writer goroutine is on the queue; guarded by mu
	flushDue bool      // buffer asked its caller for a flush that has not come; guarded by mu
	spawn    func()    // starts a writer goroutine; nil until the socket starts; guarded by mu
	// writeNow writes what it can of p without waiting and returns how
	// much it wrote; nil (TLS, net.Pipe) when the socket cannot. Called
	// with mu held, so nothing is written out of order.
	writeNow func(p []byte) int
}

func newOutbox(limit int) *outbox {
	return &outbox{limit: limit}
}

// needWriter reports whether a writer must be started for what is queued,
// and marks one as running; o.mu must be held.
func (o *outbox) needWriter() bool {
	if o.running || o.spawn == nil || o.failed || (len(o.buf) == 0 && !o.closed) {
		return false
	}
	o.running = true
	return true
}

// start lets the outbox start writers with spawn (and write at once with
// writeNow, when not nil), and starts a writer for what was queued before.
func (o *outbox) start(spawn func(), writeNow func([]byte) int) {
	o.mu.Lock()
	o.spawn = spawn
	o.writeNow = writeNow
	need := o.needWriter()
	o.mu.Unlock()
	if need {
		spawn()
	}
}

// write queues p and flushes it: written at once as far as the socket
// takes it (when no writer runs), the rest by a writer. It reports
// ErrOutboxFull, and queues nothing, when p would take the queue past its
// limit.
func (o *outbox) write(p []byte) error {
	o.mu.Lock()
	_, startWriter, err := o.bufferLocked(p)
	if err == nil && !startWriter {
		// A FlushOutput a Buffer asked for may still be on its way: it
		// will find nothing (or less) to write.
		o.flushDue = false
		startWriter = o.flushLocked()
	}
	o.mu.Unlock()
	if startWriter {
		o.spawn()
	}
	return err
}

// buffer queues p without writing it or starting a writer, and reports
// whether the caller must call flush for it: the first bytes queued since
// the last flush, with no writer running, ask for one. It reports
// ErrOutboxFull as write does.
func (o *outbox) buffer(p []byte) (flush bool, err error) {
	o.mu.Lock()
	flush, startWriter, err := o.bufferLocked(p)
	o.mu.Unlock()
	if startWriter {
		o.spawn()
	}
	return flush, err
}

// bufferLocked is buffer with o.mu held; startWriter asks the caller to
// start a writer once it has unlocked.
func (o *outbox) bufferLocked(p []byte) (flush, startWriter bool, err error) {
	if o.closed || o.failed {
		return false, false, nil
	}
	if len(o.buf)+len(p) > o.limit {
		return false, false, ErrOutboxFull
	}
	if len(o.buf) > 0 && len(o.buf)+len(p) > maxPooledOutboxBytes {
		// A long turn (a busy connection working through its mailbox)
		// has rendered a pooled buffer's worth: it is written now rather
		// than grown (and copied) until the turn's flush.
		startWriter = o.flushLocked()
	}
	if o.buf == nil {
		o.buf = getOutboxBuffer()
	}
	o.buf = append(o.buf, p...)
	if o.running || o.flushDue || o.spawn == nil {
		return false, startWriter, nil // a writer (running, or started with the socket) takes it
	}
	o.flushDue = true
	return true, startWriter, nil
}

// flush writes what buffer queued: at once as far as the socket takes it
// (writeNow), the rest by a writer. With a writer already running it does
// nothing: the writer takes it.
func (o *outbox) flush() {
	o.mu.Lock()
	o.flushDue = false
	need := o.flushLocked()
	o.mu.Unlock()
	if need {
		o.spawn()
	}
}

// flushLocked is flush with o.mu held; it reports whether the caller must
// start a writer (after unlocking) for what the socket did not take.
func (o *outbox) flushLocked() (needWriter bool) {
	if o.running || o.closed || o.failed || len(o.buf) == 0 || o.spawn == nil {
		return false
	}
	if o.writeNow != nil {
		n := o.writeNow(o.buf)
		if n == len(o.buf) {
			putOutboxBuffer(o.buf)
			o.buf = nil
			return false
		}
		o.buf = o.buf[:copy(o.buf, o.buf[n:])]
	}
	return o.needWriter()
}

// close queues last (the goodbye), forbids further writes and gives the
// writer until deadline to flush. With discard, what was queued before is
// dropped first: a slow consumer's backlog is not worth waiting for.
func (o *outbox) close(last []byte, deadline time.Time, discard bool) {
	o.mu.Lock()
	if !o.closed {
		if discard {
			o.buf = o.buf[:0]
		}
		o.buf = append(o.buf, last...)
		o.closed = true
		o.deadline = deadline
	}
	need := o.needWriter()
	o.mu.Unlock()
	if need {
		o.spawn()
	}
}

// queued returns how many bytes wait for the writer.
func (o *outbox) queued() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.buf)
}

// take returns the queued bytes (the caller gives the buffer back with
// putOutboxBuffer once written); final is true once the outbox is closed:
// what take returns then is the last of it. When nothing is queued it
// reports ok false, and the writer that asked must end: the next append
// starts another.
func (o *outbox) take() (data []byte, final bool, deadline time.Time, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.buf) == 0 && !o.closed {
		o.running = false
		return nil, false, time.Time{}, false
	}
	data, o.buf = o.buf, nil
	return data, o.closed, o.deadline, true
}

// fail makes every later write a no-op; the socket is gone.
func (o *outbox) fail() {
	o.mu.Lock()
	o.failed = true
	o.buf = nil
	o.mu.Unlock()
}

// Sink is where a socket reports what happens on it: the client's input,
// the telnet replies owed to it, and the end of either direction. The
// socket's reader and writer goroutines call it, one call at a time from
// each; a call must not block for long (an actor's mailbox takes it at
// once). A line comes as the client sent it, without its end of line, and
// is the sink's only during the call (copy what you keep); whoever shows it
// to anyone sanitizes it.
type Sink interface {
	Line(line []byte)
	LineTooLong(limitBytes int)   // a line over Config.MaxLineBytes was discarded
	Interrupt()                   // telnet's IAC IP: the user pressed Ctrl-C
	InputOverflow()               // telnet subnegotiation or option flood: input was dropped
	TelnetReplies(replies []byte) // option replies the client is owed, to be written in order with the output
	InputClosed(err error)        // the reader ended: nil for the client's end of stream
	OutputFailed(err error)       // a write failed; errors.Is(err, os.ErrDeadlineExceeded): the client stopped reading
}

// Config holds the limits of one connection's I/O.
type Config struct {
	MaxLineBytes  int           // longest input line
	WriteTimeout  time.Duration // longest a single write may block before the client counts as a slow consumer
	LingerTimeout time.Duration // how long to drain input after the goodbye before closing
	OutboxBytes   int           // bytes queued for the client at most; past it the client is a slow consumer
	Plain         bool          // plain lines, not telnet (IRC): see telnet.NewPlainDecoder
}

// Socket is the I/O side of one connection: a reader goroutine that turns
// bytes into lines for its Sink, and a writer goroutine that owns every
// write and, at the end, the close.
//
// How it ends: the connection actor, in *actor.Stopping, calls Finish. The
// reader stops sending, the writer flushes the goodbye within a deadline,
// half-closes the socket so the client sees its end of stream after the last
// line, drains whatever the client still sends (closing with unread input
// would reset the connection and could destroy the goodbye), and closes.
// Closing unblocks the reader. Both goroutines are counted in the socket
// table's wait group. When shutdown cannot wait for the actor (it is wedged),
// the table aborts the socket: see Abort.
type Socket struct {
	// Static after construction.
	conn    net.Conn
	cfg     Config
	out     *outbox
	wg      *sync.WaitGroup // counts the two goroutines (see Table.Park)
	onClose func()          // called once, after the socket is closed

	started    atomic.Bool   // the goroutines run; a restarted actor must not start them again
	stopping   atomic.Bool   // the actor is stopping: the reader sends nothing more
	finished   chan struct{} // closed by finish: the reader waits for no more credit
	credits    chan struct{} // a token per line sent and not yet handled
	readerDone chan struct{} // closed when the reader goroutine returns
	telnet     atomic.Bool   // the client has negotiated telnet options
	echo       atomic.Bool   // we offer ECHO now (a password prompt); see telnet.OptEcho
}

// NewSocket returns the I/O side of conn; its goroutines are counted in wg,
// and onClose runs once the writer has closed conn.
func NewSocket(conn net.Conn, cfg Config, wg *sync.WaitGroup, onClose func()) *Socket {
	return &Socket{
		conn:       conn,
		cfg:        cfg,
		wg:         wg,
		out:        newOutbox(cfg.OutboxBytes),
		onClose:    onClose,
		finished:   make(chan struct{}),
		credits:    make(chan struct{}, maxUnhandledLines),
		readerDone: make(chan struct{}),
	}
}

// Start runs the reader and writer goroutines, which report to sink. The
// wait group already counts them (see Table.Park).
func (s *Socket) Start(sink Sink) {
	if !s.started.CompareAndSwap(false, true) {
		return
	}
	raw := rawConn(s.conn) // nil for TLS and net.Pipe: plain reads, and writes by a writer only
	go func() {
		defer s.wg.Done()
		s.readLoop(sink, raw)
	}()
	// The second goroutine the table counts is the writer that closes the
	// socket in the end; the writers of the bursts before it count
	// themselves (the reader, alive until the close, keeps the count above
	// zero whenever one starts). Writers run on the process's reused
	// goroutines (internal/workers).
	var writeNow func([]byte) int
	if raw != nil {
		writeNow = func(p []byte) int { return writeNonBlocking(raw, p) }
	}
	s.out.start(func() {
		s.wg.Add(1)
		workers.Go(func() {
			defer s.wg.Done()
			s.writeBurst(sink)
		})
	}, writeNow)
}

// writeNonBlocking writes what the socket takes of p now and returns how
// much that was; 0 when it takes nothing or fails. What it did not write is
// left to a writer goroutine, whose write (with its deadline) then waits,
// or reports the failure.
func writeNonBlocking(raw syscall.RawConn, p []byte) int {
	var n int
	var err error
	waitErr := raw.Write(func(fd uintptr) bool {
		for {
			n, err = syscall.Write(int(fd), p)
			if err != syscall.EINTR {
				break
			}
		}
		return true // never wait for writability here
	})
	if waitErr != nil || err != nil || n < 0 {
		return 0
	}
	return n
}

// SpeaksTelnet reports whether the client has negotiated telnet options
// (telnet clients do; nc, openssl s_client and socat do not).
func (s *Socket) SpeaksTelnet() bool { return s.telnet.Load() }

// HideInput asks a telnet client to stop (or start again) echoing what the
// user types, for a password: IAC WILL ECHO (or IAC WONT ECHO and a line end,
// as the user's Enter was not echoed) goes into the outbox, and the reader
// treats the client's DO ECHO as its agreement. For a client that does not
// speak telnet it does nothing, and reports false.
func (s *Socket) HideInput(hide bool) bool {
	if !s.SpeaksTelnet() || s.echo.Load() == hide {
		return false
	}
	s.echo.Store(hide)
	cmd := telnet.WontEcho + "\r\n"
	if hide {
		cmd = telnet.WillEcho
	}
	return s.Write([]byte(cmd)) == nil
}

// Write queues bytes for the client. It reports ErrOutboxFull, and queues
// nothing, when the client is not reading fast enough for what is queued.
func (s *Socket) Write(p []byte) error { return s.out.write(p) }

// Buffer queues bytes for the client without writing them yet, and reports
// whether the caller must call Flush (once it has written all it has to
// write now): one write() then carries all of it. Like Write it reports
// ErrOutboxFull, and queues nothing, past the outbox's limit.
func (s *Socket) Buffer(p []byte) (flush bool, err error) { return s.out.buffer(p) }

// Flush writes what Buffer queued: at once, as far as the socket takes it
// without waiting, and the rest by a writer goroutine.
func (s *Socket) Flush() { s.out.flush() }

// Queued returns how many bytes wait for the writer.
func (s *Socket) Queued() int { return s.out.queued() }

// Finish starts the end of the socket, with last as the final bytes: see
// Socket. With discard, what was queued before is dropped (a slow consumer's
// backlog). It never blocks.
func (s *Socket) Finish(last []byte, flushTimeout time.Duration, discard bool) {
	if s.stopping.Swap(true) {
		return
	}
	close(s.finished)
	deadline := time.Now().Add(flushTimeout)
	s.out.close(last, deadline, discard)
	// Cut short a write already blocked on a client that does not read.
	_ = s.conn.SetWriteDeadline(deadline)
}

// Abort ends the socket without its actor: shutdown's last resort for a
// connection whose actor is wedged. The writer gives up its queue, the
// reader stops waiting for credit, and closing the socket unblocks both.
func (s *Socket) Abort() {
	if !s.stopping.Swap(true) {
		close(s.finished)
	}
	s.out.close(nil, time.Now(), true)
	_ = s.conn.Close()
	if s.started.CompareAndSwap(false, true) {
		// Its actor never started it: nothing else will close it or count
		// its goroutines done.
		s.wg.Add(-socketGoroutines)
		if s.onClose != nil {
			s.onClose()
		}
	}
}

func (s *Socket) readLoop(sink Sink, raw syscall.RawConn) {
	defer close(s.readerDone)
	dec := telnet.NewDecoder(s.cfg.MaxLineBytes)
	if s.cfg.Plain {
		dec = telnet.NewPlainDecoder(s.cfg.MaxLineBytes)
	}
	dec.SetEchoOffered(s.echo.Load)
	for {
		bp, n, err := s.read(raw)
		if n > 0 && !s.stopping.Load() {
			events := dec.Feed((*bp)[:n])
			if dec.Negotiated() {
				s.telnet.Store(true)
			}
			if replies := dec.TakeReplies(); len(replies) > 0 {
				sink.TelnetReplies(replies)
			}
			for _, ev := range events {
				switch ev.Kind {
				case telnet.EventLine:
					if !s.takeCredit() {
						continue // finishing: the rest is drained unread
					}
					sink.Line(ev.Line)
				case telnet.EventTooLong:
					sink.LineTooLong(s.cfg.MaxLineBytes)
				case telnet.EventInterrupt:
					sink.Interrupt()
				case telnet.EventOverflow:
					sink.InputOverflow()
				}
			}
		}
		if bp != nil {
			readBuffers.Put(bp) // Feed copied what it keeps
		}
		if err != nil {
			if !s.stopping.Load() {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				sink.InputClosed(err)
			}
			return
		}
	}
}

// rawConn is the socket's raw connection when it has one (TCP, not TLS), for
// read and writeNonBlocking.
func rawConn(conn net.Conn) syscall.RawConn {
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			return raw
		}
	}
	return nil
}

// read waits for bytes and reads them into a borrowed buffer, which the
// caller gives back. With a raw connection the buffer is taken only once the
// socket is readable (RawConn.Read waits for readiness when the function
// asks to), so a reader that waits holds no buffer; otherwise (net.Pipe in
// tests) it is a plain Read. Deadlines and Close end the wait as for Read.
func (s *Socket) read(raw syscall.RawConn) (bp *[]byte, n int, err error) {
	if raw == nil {
		bp = readBuffers.Get().(*[]byte)
		n, err = s.conn.Read(*bp)
		return bp, n, err
	}
	var readErr error
	waitErr := raw.Read(func(fd uintptr) bool {
		bp = readBuffers.Get().(*[]byte)
		for {
			n, readErr = syscall.Read(int(fd), *bp)
			if readErr != syscall.EINTR {
				break
			}
		}
		if readErr == syscall.EAGAIN {
			readBuffers.Put(bp)
			bp = nil
			return false // not readable yet: wait, holding nothing
		}
		return true
	})
	switch {
	case waitErr != nil:
		return bp, 0, waitErr
	case readErr != nil:
		return bp, 0, os.NewSyscallError("read", readErr)
	case n == 0:
		return bp, 0, io.EOF
	}
	return bp, n, nil
}

// takeCredit waits until the actor has room for one more line. It reports
// false once the socket is finishing.
func (s *Socket) takeCredit() bool {
	select {
	case s.credits <- struct{}{}:
		return true
	case <-s.finished:
		return false
	}
}

// LineHandled gives back the credit of a line the actor has handled. Only
// the connection actor calls it.
func (s *Socket) LineHandled() {
	select {
	case <-s.credits:
	default:
	}
}

// writeBurst writes what is queued until the queue is empty (then it ends)
// or closed (then it writes the last bytes and closes the socket).
func (s *Socket) writeBurst(sink Sink) {
	for {
		data, final, deadline, ok := s.out.take()
		if !ok {
			return
		}
		if len(data) > 0 {
			if !final {
				deadline = time.Now().Add(s.cfg.WriteTimeout)
			}
			_ = s.conn.SetWriteDeadline(deadline)
			if _, err := s.conn.Write(data); err != nil {
				s.out.fail()
				if !final {
					sink.OutputFailed(err)
				}
				s.closeSocket()
				return
			}
		}
		putOutboxBuffer(data)
		if final {
			s.closeSocket()
			return
		}
	}
}

// closeSocket half-closes, drains input for at most the linger timeout, and
// closes. It runs once, on the writer goroutine after the last write (or a
// failed one: the outbox then starts no more writers), and counts the
// closing writer done for the table.
func (s *Socket) closeSocket() {
	defer s.wg.Done()
	if hc, ok := s.conn.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(s.cfg.LingerTimeout))
	<-s.readerDone
	_ = s.conn.Close()
	if s.onClose != nil {
		s.onClose()
	}
}
