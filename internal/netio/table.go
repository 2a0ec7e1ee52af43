package netio

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/actorchat/actorchat/internal/ipkey"
)

// socketGoroutines is how many goroutines serve one socket: reader and writer.
const socketGoroutines = 2

// Gauge and Counter are what a Table needs of its metrics (Prometheus's
// gauges and counters have these methods).
type (
	Gauge interface {
		Inc()
		Dec()
	}
	Counter interface{ Inc() }
)

// TableMetrics are the counters a Table keeps up to date.
type TableMetrics struct {
	Open     Gauge               // sockets open now
	Total    Counter             // sockets accepted and served
	Rejected func(reason string) // counts one refused at accept, by reason: RejectServerFull, RejectPerIP, RejectKline, RejectHandshakes
}

// Reasons a socket is refused, as metric label values.
const (
	RejectServerFull = "server_full"
	RejectPerIP      = "per_ip"
	RejectKline      = "kline"      // the address is k-lined
	RejectHandshakes = "handshakes" // too many TLS handshakes in progress (from the address, or in all)
)

// Table is the server's table of open client sockets. Messages never carry
// sockets, so the accept loop parks each accepted socket here under its
// connection id and sends the connections supervisor a SpawnConnection with
// that id; the supervisor claims the socket when it spawns the connection
// actor. The table also remembers every open socket, so that shutdown can
// close what is still open when its deadline has passed, and counts the
// goroutines that serve them, so that shutdown can wait for every one.
type Table struct {
	maxOpen  int // open sockets at most; 0: no limit
	maxPerIP int // open sockets from one address (an IPv4 address, an IPv6 /64: ipkey) at most; 0: no limit
	metrics  TableMetrics

	// The accept loop, and the reader and writer goroutines of every socket.
	// park counts a socket's two goroutines before it hands the socket over,
	// so the count cannot reach zero while a socket is on its way to its
	// connection actor.
	wg sync.WaitGroup

	mu      sync.Mutex
	pending map[uint64]net.Conn // accepted, not yet claimed; guarded by mu
	open    map[uint64]net.Conn // every socket not yet closed; guarded by mu
	perIP   map[string]int      // open sockets by remote address (ipkey); guarded by mu
	served  map[uint64]*Socket  // the I/O side of claimed sockets; guarded by mu
}

// Why Park refuses a socket.
var (
	ErrServerFull = errors.New("server full")
	ErrPerIP      = errors.New("too many connections from one address")
)

// NewTable returns an empty table with the given limits (0: none).
func NewTable(maxOpen, maxPerIP int, metrics TableMetrics) *Table {
	return &Table{
		maxOpen:  maxOpen,
		maxPerIP: maxPerIP,
		metrics:  metrics,
		pending:  make(map[uint64]net.Conn),
		open:     make(map[uint64]net.Conn),
		perIP:    make(map[string]int),
		served:   make(map[uint64]*Socket),
	}
}

// Park records an accepted socket until a connection actor claims it. Over
// a connection limit it records nothing and says which limit (the caller
// tells the client and closes the socket).
func (s *Table) Park(id uint64, conn net.Conn) error {
	ip := remoteIP(conn)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.maxOpen > 0 && len(s.open) >= s.maxOpen:
		s.metrics.Rejected(RejectServerFull)
		return fmt.Errorf("%w: %d connections", ErrServerFull, s.maxOpen)
	case s.maxPerIP > 0 && s.perIP[ip] >= s.maxPerIP:
		s.metrics.Rejected(RejectPerIP)
		return fmt.Errorf("%w: %d from %s", ErrPerIP, s.maxPerIP, ip)
	}
	s.wg.Add(socketGoroutines)
	s.pending[id] = conn
	s.open[id] = conn
	s.perIP[ip]++
	s.metrics.Open.Inc()
	s.metrics.Total.Inc()
	return nil
}

// OpenFrom returns how many sockets from the address of remote (an
// "ip:port") are open.
func (s *Table) OpenFrom(remote string) int {
	key := ipkey.String(remote)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perIP[key]
}

// MaxPerIP is the most sockets one address may have open; 0: no limit.
func (s *Table) MaxPerIP() int { return s.maxPerIP }

// Reject counts a socket refused at accept for reason.
func (s *Table) Reject(reason string) {
	s.metrics.Rejected(reason)
}

// NewSocket makes the I/O side of the socket that Claim handed over, and
// records it, so that shutdown can abort it. Its goroutines are counted in
// the table's wait group; when its writer closes it, it leaves the table.
func (s *Table) NewSocket(id uint64, conn net.Conn, cfg Config) *Socket {
	sock := NewSocket(conn, cfg, &s.wg, func() { s.closed(id) })
	s.mu.Lock()
	if _, open := s.open[id]; open {
		s.served[id] = sock
	}
	s.mu.Unlock()
	return sock
}

// Go runs f in a goroutine that Wait waits for (the accept loop).
func (s *Table) Go(f func()) {
	s.wg.Go(f)
}

// Wait waits for every goroutine of the table: the readers and writers of
// every socket parked so far, and whatever Go started.
func (s *Table) Wait() { s.wg.Wait() }

// queuedBytes sums what every outbox holds for its writer.
func (s *Table) QueuedBytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sock := range s.served {
		n += sock.Queued()
	}
	return n
}

// remoteIP is the IP address part of a socket's remote address.
// remoteIP is the key of a socket's remote address: an IPv4 address, or
// an IPv6 /64 (one client may use any address of its /64).
func remoteIP(conn net.Conn) string {
	return ipkey.String(conn.RemoteAddr().String())
}

// forget removes an open socket from the table; s.mu must be held.
func (s *Table) forget(id uint64) {
	conn, ok := s.open[id]
	if !ok {
		return
	}
	delete(s.open, id)
	delete(s.served, id)
	ip := remoteIP(conn)
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
	s.metrics.Open.Dec()
}

// Claim hands the parked socket id to its connection actor; false if it is
// no longer parked (shutdown closed it).
func (s *Table) Claim(id uint64) (net.Conn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, ok := s.pending[id]
	delete(s.pending, id)
	return conn, ok
}

// closed forgets a socket that its writer goroutine has closed.
func (s *Table) closed(id uint64) {
	s.mu.Lock()
	s.forget(id)
	s.mu.Unlock()
}

// Count returns how many sockets are open.
func (s *Table) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// Unclaimed closes the sockets that were parked but never claimed (their
// SpawnConnection reached no actor: shutdown stopped the connections
// supervisor first), after writing them last, and returns how many there
// were. Their goroutines, which never started, are no longer waited for.
func (s *Table) Unclaimed(last []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, conn := range s.pending {
		writeAndClose(conn, last)
		delete(s.pending, id)
		s.forget(id)
		for range socketGoroutines {
			s.wg.Done() // they will never start
		}
		n++
	}
	return n
}

// AbortAll ends every socket still open without its actor (see
// Socket.Abort), and returns the ids of those that were served. It is
// shutdown's last resort once its deadline has passed.
func (s *Table) AbortAll(last []byte) []uint64 {
	s.Unclaimed(last)
	s.mu.Lock()
	var ids []uint64
	var socks []*Socket
	for id := range s.open {
		ids = append(ids, id)
		if sock, ok := s.served[id]; ok {
			socks = append(socks, sock)
		} else {
			_ = s.open[id].Close()
		}
	}
	s.mu.Unlock()
	for _, sock := range socks {
		sock.Abort() // its writer's close removes it from the table
	}
	return ids
}

// writeAndClose gives a socket that no actor serves its last bytes, within
// a short deadline, and closes it.
func writeAndClose(conn net.Conn, last []byte) {
	if len(last) > 0 {
		_ = conn.SetWriteDeadline(time.Now().Add(RejectTimeout))
		_, _ = conn.Write(last)
	}
	_ = conn.Close()
}

// RejectTimeout bounds the one-line explanation written to a socket that no
// actor will serve; a fresh socket's buffer takes it at once.
const RejectTimeout = 100 * time.Millisecond

// Cause shortens a network error to its cause, for one-line messages:
// "listen tcp :7666: bind: address already in use" becomes "address already
// in use", "dial tcp ...: connect: connection refused" "connection refused".
func Cause(err error) error {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		var sysErr *os.SyscallError
		if errors.As(opErr.Err, &sysErr) {
			return sysErr.Err
		}
		return opErr.Err
	}
	return err
}

// Conns returns the open sockets, for tests and diagnostics.
func (s *Table) Conns() []net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]net.Conn, 0, len(s.open))
	for _, c := range s.open {
		out = append(out, c)
	}
	return out
}
