package actors

import (
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
	// The accept loop, and the reader and writer goroutines of every socket.
	// park counts a socket's two goroutines before it hands the socket over,
	// so the count cannot reach zero while a socket is on its way to its
	// connection actor.
	wg sync.WaitGroup

	mu      sync.Mutex
	pending map[uint64]net.Conn // accepted, not yet claimed; guarded by mu
	open    map[uint64]net.Conn // every socket not yet closed; guarded by mu
}

func newSockets() *sockets {
	return &sockets{
		pending: make(map[uint64]net.Conn),
		open:    make(map[uint64]net.Conn),
	}
}

// park records an accepted socket until a connection actor claims it.
func (s *sockets) park(id uint64, conn net.Conn) {
	s.wg.Add(socketGoroutines)
	s.mu.Lock()
	s.pending[id] = conn
	s.open[id] = conn
	s.mu.Unlock()
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
	delete(s.open, id)
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
		delete(s.open, id)
		if _, unclaimed := s.pending[id]; unclaimed {
			delete(s.pending, id)
			for range socketGoroutines {
				s.wg.Done() // they will never start
			}
		}
	}
}
