package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/messages"
)

// shutdownNotice is what every user reads before bye... at shutdown.
const shutdownNotice = "The server is shutting down. Goodbye!"

// Accept back-off after a failed Accept (for example out of file descriptors).
const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

// serverDeps is what the server's actors share: configuration, the PIDs of
// the long-lived actors and the socket table. It is filled in by the server
// actor's Started, before the accept loop runs, and never changed after.
type serverDeps struct {
	cfg      Config
	logger   *slog.Logger
	metrics  *Metrics
	commands *commandSet
	sockets  *sockets

	registry    *actor.PID
	rooms       *actor.PID
	connections *actor.PID

	motd atomic.Pointer[[]string] // the message of the day, sanitized lines; set by Server.SetMOTD
}

func (d *serverDeps) socketConfig() socketConfig {
	return socketConfig{
		maxLineBytes:  d.cfg.MaxLineBytes,
		writeTimeout:  d.cfg.WriteTimeout,
		lingerTimeout: d.cfg.LingerTimeout,
	}
}

// server is the guardian actor. It starts the registry, the rooms and the
// connections supervisor, runs the accept loop, and owns the shutdown order:
// stop accepting, have every connection say goodbye, then (when the caller
// stops this actor) stop the rest.
type server struct {
	srv      *serverDeps
	listener net.Listener
	started  chan struct{} // closed at the end of Started: the children run, the accept loop too
	stopped  chan struct{} // closed in Stopped: every child has stopped

	// Owned by Receive.
	shutdownWaiter *actor.PID
}

// Receive handles one message.
func (s *server) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.handleStarted(ctx)
	case *actor.Stopping:
		_ = s.listener.Close()
	case *actor.Stopped:
		close(s.stopped)
	case *actor.Restarting, *actor.Terminated:

	case *messages.Shutdown:
		s.handleShutdown(ctx, msg)
	case *messages.ConnectionsDrained:
		if s.shutdownWaiter != nil {
			ctx.Send(s.shutdownWaiter, msg)
		}
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	}
}

func (s *server) handleStarted(ctx actor.Context) {
	d := s.srv
	d.registry = s.spawn(ctx, actor.PropsFromProducer(newRegistry(d.logger, d.metrics)), "registry")
	d.rooms = s.spawn(ctx, roomsProps(d.cfg.HistoryLen, d.cfg.QuietRoomSize, d.logger, d.metrics), "rooms")
	d.connections = s.spawn(ctx, connectionsProps(d), "connections")

	d.sockets.wg.Add(1)
	go func() {
		defer d.sockets.wg.Done()
		acceptLoop(s.listener, ctx.ActorSystem(), d)
	}()
	close(s.started)
}

func (s *server) spawn(ctx actor.Context, props *actor.Props, name string) *actor.PID {
	pid, err := ctx.SpawnNamed(props, name)
	if err != nil { // cannot happen: the server is started once per actor system
		panic(fmt.Sprintf("spawn %s: %v", name, err))
	}
	return pid
}

// handleShutdown stops accepting and asks every connection to say goodbye;
// the answer comes once they all have.
func (s *server) handleShutdown(ctx actor.Context, msg *messages.Shutdown) {
	_ = s.listener.Close()
	s.shutdownWaiter = ctx.Sender()
	ctx.Request(s.srv.connections, msg)
}

// rejectTimeout bounds the one-line explanation written to a connection over
// a limit; a fresh socket's buffer takes it at once.
const rejectTimeout = 100 * time.Millisecond

// acceptLoop hands every accepted socket to the connections supervisor, or,
// over a connection limit, tells the client why in one line and closes it
// before any actor exists for it. It returns when the listener is closed.
func acceptLoop(ln net.Listener, system *actor.ActorSystem, d *serverDeps) {
	var lastID uint64
	backoff := time.Duration(0)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, minAcceptBackoff), maxAcceptBackoff)
			d.logger.Warn("accept failed", "error", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: d.cfg.KeepAlive, Interval: keepAliveInterval, Count: keepAliveProbes})
			if d.cfg.SendBuffer > 0 {
				_ = tc.SetWriteBuffer(d.cfg.SendBuffer)
			}
		}
		lastID++
		if err := d.sockets.park(lastID, conn); err != nil {
			reject(conn, err, d.logger)
			continue
		}
		system.Root.Send(d.connections, &messages.SpawnConnection{ConnId: lastID, RemoteAddr: conn.RemoteAddr().String()})
	}
}

// TCP keepalive probes after the idle time: a dead peer is found within
// KeepAlive + 3 * 10s.
const (
	keepAliveInterval = 10 * time.Second
	keepAliveProbes   = 3
)

// reject tells a client over a connection limit why, and closes it.
func reject(conn net.Conn, err error, logger *slog.Logger) {
	var line []byte
	if errors.Is(err, errServerFull) {
		line = appendError(nil, "the server is full; try again later")
	} else {
		line = appendError(nil, "too many connections from your address; close one and try again")
	}
	_ = conn.SetWriteDeadline(time.Now().Add(rejectTimeout))
	_, _ = conn.Write(line)
	_ = conn.Close()
	logger.Debug("connection rejected", "remote", conn.RemoteAddr().String(), "reason", err)
}

// Server is a running chat server: an actor system serving one listener.
type Server struct {
	cfg     Config
	system  *actor.ActorSystem
	pid     *actor.PID
	deps    *serverDeps
	ln      net.Listener
	stopped chan struct{}
	ready   atomic.Bool

	shutdownOnce sync.Once
	shutdownErr  error
}

// Start serves ln until Shutdown, and returns once the server accepts
// connections. It takes ownership of ln.
func Start(ln net.Listener, cfg Config) *Server {
	cfg = cfg.withDefaults()
	logger := cfg.Logger
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(system *actor.ActorSystem) *slog.Logger {
		return protoactorLogger(logger)
	}))
	deps := &serverDeps{cfg: cfg, logger: logger, metrics: cfg.Metrics, commands: newCommandSet(),
		sockets: newSockets(cfg.MaxConns, cfg.MaxConnsPerIP, cfg.Metrics)}
	cfg.Metrics.served.Store(deps.sockets)
	deps.motd.Store(motdLines(cfg.MOTD))
	started, stopped := make(chan struct{}), make(chan struct{})
	props := actor.PropsFromProducer(func() actor.Actor {
		return &server{srv: deps, listener: ln, started: started, stopped: stopped}
	}, actor.WithSupervisor(panicSupervisor{logger: logger, metrics: cfg.Metrics, directive: actor.ResumeDirective}))
	pid, err := system.Root.SpawnNamed(props, "server")
	if err != nil { // cannot happen in a fresh actor system
		panic(fmt.Sprintf("spawn server: %v", err))
	}
	// Once Started has run, the actors' PIDs are set (and visible to the
	// caller: the channel orders it) and connections are accepted.
	<-started
	logger.Info("chatd listening", "addr", ln.Addr().String(), "version", cfg.Version)
	s := &Server{cfg: cfg, system: system, pid: pid, deps: deps, ln: ln, stopped: stopped}
	s.ready.Store(true)
	return s
}

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.cfg.Metrics }

// Ready reports whether the server accepts connections: from Start until
// Shutdown begins.
func (s *Server) Ready() bool { return s.ready.Load() }

// maxMOTDBytes bounds the message of the day.
const maxMOTDBytes = 16 << 10

// ErrMOTDTooLarge reports a message of the day over 16 KiB.
var ErrMOTDTooLarge = errors.New("message of the day over 16 KiB")

// SetMOTD sets the message of the day that every new connection reads after
// the welcome. Control characters and escape sequences are removed, as from
// any text a user sees.
func (s *Server) SetMOTD(text string) error {
	if len(text) > maxMOTDBytes {
		return ErrMOTDTooLarge
	}
	s.deps.motd.Store(motdLines(text))
	return nil
}

// motdLines splits a message of the day into sanitized lines.
func motdLines(text string) *[]string {
	var lines []string
	if text = strings.TrimRight(text, "\r\n"); text != "" {
		for _, l := range strings.Split(text, "\n") {
			lines = append(lines, sanitizeLine([]byte(strings.TrimRight(l, "\r"))))
		}
	}
	return &lines
}

// ErrShuttingDown is what Ping reports once shutdown has begun.
var ErrShuttingDown = errors.New("the server is shutting down")

// Ping checks that the actor system answers: the registry and the rooms
// actor are asked at once, and each must answer within timeout. Its error
// says, in the project's words, which actor is unhealthy and how.
func (s *Server) Ping(timeout time.Duration) error {
	if !s.Ready() {
		return ErrShuttingDown
	}
	actors := []struct {
		name string
		pid  *actor.PID
	}{{"the registry", s.deps.registry}, {"the rooms actor", s.deps.rooms}}
	futures := make([]*actor.Future, len(actors))
	for i, a := range actors {
		futures[i] = s.system.Root.RequestFuture(a.pid, &messages.Ping{}, timeout)
	}
	for i, f := range futures {
		_, err := f.Result()
		switch {
		case err == nil:
		case errors.Is(err, actor.ErrTimeout):
			return fmt.Errorf("%s did not answer within %v", actors[i].name, timeout)
		case errors.Is(err, actor.ErrDeadLetter):
			if !s.Ready() {
				return ErrShuttingDown
			}
			return fmt.Errorf("%s is not running", actors[i].name)
		default:
			return fmt.Errorf("%s: %w", actors[i].name, err)
		}
	}
	return nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// System returns the server's actor system, for tests and fault injection.
func (s *Server) System() *actor.ActorSystem { return s.system }

// PID returns the server actor's PID.
func (s *Server) PID() *actor.PID { return s.pid }

// Registry returns the registry actor's PID.
func (s *Server) Registry() *actor.PID { return s.deps.registry }

// Rooms returns the rooms actor's PID.
func (s *Server) Rooms() *actor.PID { return s.deps.rooms }

// Connections returns the connections supervisor's PID.
func (s *Server) Connections() *actor.PID { return s.deps.connections }

// OpenSockets returns how many client sockets are open.
func (s *Server) OpenSockets() int { return s.deps.sockets.count() }

// ErrShutdownTimeout reports that shutdown passed its deadline and closed the
// sockets that were left without a goodbye.
var ErrShutdownTimeout = errors.New("shutdown deadline passed; remaining sockets were closed")

// Shutdown stops the server gracefully within the configured shutdown timeout
// (or ctx's deadline, if sooner): no new connections, a notice and bye... to
// every user, every socket closed, every actor and goroutine stopped. It
// returns once nothing of the server is left running, and is safe to call more
// than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.ready.Store(false)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	logger := s.cfg.Logger
	logger.Info("shutting down", "connections", s.deps.sockets.count(), "timeout", s.cfg.ShutdownTimeout)

	// 1-2. Stop accepting; every connection says goodbye and stops.
	remaining := time.Until(deadlineOf(ctx))
	drained := s.system.Root.RequestFuture(s.pid, &messages.Shutdown{Notice: shutdownNotice}, max(remaining, time.Millisecond))
	if _, err := drained.Result(); err != nil {
		logger.Warn("connections did not all stop before the deadline", "error", err)
	}

	// 3. Stop the server actor and with it every actor left.
	s.system.Root.Stop(s.pid)
	var err error
	select {
	case <-s.stopped:
	case <-ctx.Done():
		err = ErrShutdownTimeout
	}

	// Every reader, writer and the accept loop end once their sockets close.
	// Past the deadline, close what is left.
	ioDone := make(chan struct{})
	go func() {
		s.deps.sockets.wg.Wait()
		close(ioDone)
	}()
	select {
	case <-ioDone:
	case <-ctx.Done():
		err = ErrShutdownTimeout
		s.deps.sockets.closeAll()
		<-ioDone
	}
	s.system.Shutdown()
	logger.Info("shutdown complete", "error", err)
	return err
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}
