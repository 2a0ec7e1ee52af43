package actors

import (
	"errors"
	"fmt"
	"net"
	"sync"
)

// socketGoroutines is how many goroutines serve one socket: reader and writer.
const socketGoroutines = 2

// sockets is the server's table of open client sockets. Messages never carry
// sockets, so the accept loop parks each accepted socket here under its
// connection id and sends the connections supervisor a SpawnConnection with
// that id; the supervisor claims the socket when it spawns the connection
// actor. The table also remembers every open socket, so that shutdown can
// close what is still open when its deadline has passed, and counts the
// goroutines that serve them, so that shutdown can wait for every one.
type sockets struct {
	maxOpen  int // open sockets at most; 0: no limit
	maxPerIP int // open sockets from one IP at most; 0: no limit
	metrics  *Metrics

	// The accept loop, and the reader and writer goroutines of every socket.
	// park counts a socket's two goroutines before it hands the socket over,
	// so the count cannot reach zero while a socket is on its way to its
	// connection actor.
	wg sync.WaitGroup

	mu      sync.Mutex
	pending map[uint64]net.Conn // accepted, not yet claimed; guarded by mu
	open    map[uint64]net.Conn // every socket not yet closed; guarded by mu
	perIP   map[string]int      // open sockets by remote IP; guarded by mu
	served  map[uint64]*socket  // the I/O side of claimed sockets, for the outbox gauge; guarded by mu
}

// Why park refuses a socket.
var (
	errServerFull = errors.New("server full")
	errPerIP      = errors.New("too many connections from one address")
)

func newSockets(maxOpen, maxPerIP int, metrics *Metrics) *sockets {
	if metrics == nil {
		metrics = NewMetrics()
	}
	return &sockets{
		maxOpen:  maxOpen,
		maxPerIP: maxPerIP,
		metrics:  metrics,
		pending:  make(map[uint64]net.Conn),
		open:     make(map[uint64]net.Conn),
		perIP:    make(map[string]int),
		served:   make(map[uint64]*socket),
	}
}

// park records an accepted socket until a connection actor claims it. Over
// a connection limit it records nothing and says which limit (the caller
// tells the client and closes the socket).
func (s *sockets) park(id uint64, conn net.Conn) error {
	ip := remoteIP(conn)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.maxOpen > 0 && len(s.open) >= s.maxOpen:
		s.metrics.connectionsRejected.WithLabelValues(rejectServerFull).Inc()
		return fmt.Errorf("%w: %d connections", errServerFull, s.maxOpen)
	case s.maxPerIP > 0 && s.perIP[ip] >= s.maxPerIP:
		s.metrics.connectionsRejected.WithLabelValues(rejectPerIP).Inc()
		return fmt.Errorf("%w: %d from %s", errPerIP, s.maxPerIP, ip)
	}
	s.wg.Add(socketGoroutines)
	s.pending[id] = conn
	s.open[id] = conn
	s.perIP[ip]++
	s.metrics.connectionsOpen.Inc()
	s.metrics.connectionsTotal.Inc()
	return nil
}

// serve records the I/O side of a claimed socket.
func (s *sockets) serve(id uint64, sock *socket) {
	s.mu.Lock()
	if _, open := s.open[id]; open {
		s.served[id] = sock
	}
	s.mu.Unlock()
}

// queuedBytes sums what every outbox holds for its writer.
func (s *sockets) queuedBytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sock := range s.served {
		n += sock.out.queued()
	}
	return n
}

// remoteIP is the IP address part of a socket's remote address.
func remoteIP(conn net.Conn) string {
	addr := conn.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// forget removes an open socket from the table; s.mu must be held.
func (s *sockets) forget(id uint64) {
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
	s.metrics.connectionsOpen.Dec()
}

// claim hands the parked socket id to its connection actor.
func (s *sockets) claim(id uint64) (net.Conn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, ok := s.pending[id]
	delete(s.pending, id)
	return conn, ok
}

// closed forgets a socket that its writer goroutine has closed.
func (s *sockets) closed(id uint64) {
	s.mu.Lock()
	s.forget(id)
	s.mu.Unlock()
}

// count returns how many sockets are open.
func (s *sockets) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// closeAll closes every socket still open. It is shutdown's last resort, once
// its deadline has passed; closing unblocks the goroutines that serve them.
func (s *sockets) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, conn := range s.open {
		_ = conn.Close()
		s.forget(id)
		if _, unclaimed := s.pending[id]; unclaimed {
			delete(s.pending, id)
			for range socketGoroutines {
				s.wg.Done() // they will never start
			}
		}
	}
}
