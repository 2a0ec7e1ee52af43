package actors

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/netio"
	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/internal/text"
	"github.com/actorchat/actorchat/messages"
)

// shutdownNotice is what every user reads before bye... at shutdown.
const shutdownNotice = "The server is shutting down. Goodbye!"

// ShutdownMargin is how long Shutdown may take past its deadline: the time to
// abort what did not stop, and for the goroutines of aborted sockets to end.
// The README states it.
const ShutdownMargin = 500 * time.Millisecond

// Server is a running chat server: an actor system serving one listener.
type Server struct {
	cfg        Config
	node       string
	system     *actor.ActorSystem
	pid        *actor.PID
	children   *serverChildren
	table      *netio.Table
	motd       *atomic.Pointer[[]string]
	ln         net.Listener
	stopped    chan struct{}
	acceptDone chan struct{}
	ready      atomic.Bool
	cluster    *clusterNode // nil: a single node

	shutdownOnce sync.Once
	shutdownErr  error
}

// MustStart is Start for a server that cannot fail to start (one not in a
// cluster): it panics on an error. Tests use it.
func MustStart(ln net.Listener, cfg Config) *Server {
	s, err := Start(context.Background(), ln, cfg)
	if err != nil {
		panic(err)
	}
	return s
}

// Start serves ln until Shutdown, and returns once the server accepts
// connections. It takes ownership of ln. It fails only in a cluster
// (Config.Cluster): when the node cannot start its transport or its
// provider, or cannot join the cluster before ctx ends or the join timeout
// passes.
func Start(ctx context.Context, ln net.Listener, cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	logger := cfg.Logger
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(system *actor.ActorSystem) *slog.Logger {
		return protoactorLogger(logger)
	}))
	s := &Server{
		cfg:        cfg,
		node:       cfg.NodeID,
		system:     system,
		table:      netio.NewTable(cfg.MaxConns, cfg.MaxConnsPerIP, cfg.Metrics.table()),
		motd:       &atomic.Pointer[[]string]{},
		ln:         ln,
		children:   &serverChildren{},
		stopped:    make(chan struct{}),
		acceptDone: make(chan struct{}),
	}
	if s.node == "" {
		s.node = newNodeID()
	}
	if cfg.Cluster != nil {
		cn, err := startCluster(ctx, system, cfg.Cluster, s.node)
		if err != nil {
			_ = ln.Close()
			system.Shutdown()
			return nil, err
		}
		s.cluster = cn
		logger.Info("cluster member started", "cluster", cfg.Cluster.Name, "address", system.Address(), "member", system.ID)
	}
	cfg.Metrics.served.Store(s.table)
	s.motd.Store(motdLines(cfg.MOTD))
	names := loadAccounts(cfg)
	kl := loadKlines(cfg)
	started := make(chan struct{})
	env := &connectionEnv{admins: cfg.Admins, cfg: cfg.connectionConfig(), logger: logger, metrics: cfg.Metrics, commands: newCommandSet(cfg.connectionConfig()), motd: s.motd}
	p := props(func() actor.Actor {
		return &server{cfg: cfg, node: s.node, env: env, table: s.table, listener: ln, tlsLn: cfg.TLSListener, ircLn: cfg.IRCListener, ircTLSLn: cfg.IRCTLSListener, children: s.children, accountNames: names, klines: kl, cluster: s.cluster,
			started: started, stopped: s.stopped, acceptDone: s.acceptDone}
	}, cfg.Middleware, actor.WithGuardian(panicSupervisor{logger: logger, metrics: cfg.Metrics, directive: actor.ResumeDirective}),
		actor.WithSupervisor(panicSupervisor{logger: logger, metrics: cfg.Metrics, directive: actor.ResumeDirective}))
	pid, err := system.Root.SpawnNamed(p, "server")
	if err != nil { // a fresh actor system has no actor of that name
		panic(fmt.Sprintf("spawn server: %v", err))
	}
	s.pid = pid
	// Once Started has run, the children's PIDs are set (and visible here:
	// the channel orders it) and connections are accepted.
	<-started
	logger.Info("chatd listening", "addr", ln.Addr().String(), "version", cfg.Version, "node", s.node)
	if cfg.TLSListener != nil {
		logger.Info("chatd listening for TLS", "addr", cfg.TLSListener.Addr().String())
	}
	if cfg.IRCListener != nil {
		logger.Info("chatd listening for IRC", "addr", cfg.IRCListener.Addr().String())
	}
	if cfg.IRCTLSListener != nil {
		logger.Info("chatd listening for IRC over TLS", "addr", cfg.IRCTLSListener.Addr().String())
	}
	s.ready.Store(true)
	return s, nil
}

// loadAccounts reads the accounts, so that the registry protects their
// nicks from its first request. If the store does not answer, registered
// nicks are unprotected until they are registered again; it is logged.
func loadAccounts(cfg Config) []store.AccountName {
	db, ok := cfg.Store.(AccountStore)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.StoreTimeout)
	defer cancel()
	names, err := db.Accounts(ctx)
	if err != nil {
		cfg.Logger.Error("accounts: could not read the registered nicks; anyone may take them until restart", "error", err)
	}
	return names
}

// EntryStore keeps room entries: *store.DB. The server's k-lines are the
// entries of room "".
type EntryStore interface {
	Entries(ctx context.Context, room string, now time.Time) ([]store.Entry, error)
}

// loadKlines reads the server's k-lines from the store.
func loadKlines(cfg Config) *klines {
	k := &klines{}
	db, ok := cfg.Store.(EntryStore)
	if !ok {
		return k
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.StoreTimeout)
	defer cancel()
	entries, err := db.Entries(ctx, "", time.Now())
	if err != nil {
		cfg.Logger.Error("k-lines: could not read them; no address is refused until restart", "error", err)
		return k
	}
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e.Subject); err == nil && e.Kind == entryKline {
			k.with(kline{prefix: p, reason: e.Reason, by: e.By, expires: e.Expires})
		}
	}
	return k
}

// newNodeID returns a random id for this process: the first part of every
// member id, so that member ids never collide across processes.
func newNodeID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.cfg.Metrics }

// Ready reports whether the server accepts connections: from Start until
// Shutdown begins.
// In a cluster, only once the node has joined it (and not after it was
// evicted).
func (s *Server) Ready() bool {
	return s.ready.Load() && (s.cluster == nil || s.cluster.joined.Load())
}

// NotReadyReason says why Ready is false: "shutting down", or in a cluster
// "not in the cluster yet" or "evicted from the cluster".
func (s *Server) NotReadyReason() string {
	switch {
	case !s.ready.Load():
		return "shutting down"
	case s.cluster != nil && s.cluster.evicted.Load():
		return "evicted from the cluster"
	case s.cluster != nil && !s.cluster.joined.Load():
		return "not in the cluster yet"
	}
	return ""
}

// MaxMOTDBytes bounds the message of the day.
const MaxMOTDBytes = 16 << 10

// ErrMOTDTooLarge reports a message of the day over MaxMOTDBytes.
var ErrMOTDTooLarge = fmt.Errorf("message of the day over %d bytes", MaxMOTDBytes)

// SetMOTD sets the message of the day that every new connection reads after
// the welcome (and /motd shows). Control characters and escape sequences are
// removed, as from any text a user sees.
func (s *Server) SetMOTD(motd string) error {
	if len(motd) > MaxMOTDBytes {
		return ErrMOTDTooLarge
	}
	s.motd.Store(motdLines(motd))
	return nil
}

// motdLines splits a message of the day into sanitized lines.
func motdLines(motd string) *[]string {
	var lines []string
	if motd = strings.TrimRight(motd, "\r\n"); motd != "" {
		for _, l := range strings.Split(motd, "\n") {
			lines = append(lines, text.Sanitize([]byte(strings.TrimRight(l, "\r"))))
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
	}{{"the registry", s.children.registry}, {"the rooms actor", s.children.rooms}}
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

// StoreHealth returns why the store's writes fail (posts are queued and
// retried meanwhile), or nil while they succeed or there is no store.
func (s *Server) StoreHealth() error {
	if d := s.cfg.Metrics.storeDown.Load(); d != nil {
		return fmt.Errorf("the store is down since %s (posts are delivered, and queued for it): %s", d.since.UTC().Format(time.RFC3339), d.err)
	}
	return nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Node returns this server's node id, the first part of its member ids.
func (s *Server) Node() string { return s.node }

// System returns the server's actor system, for tests.
func (s *Server) System() *actor.ActorSystem { return s.system }

// PID returns the server actor's PID.
func (s *Server) PID() *actor.PID { return s.pid }

// Registry returns the registry actor's PID.
func (s *Server) Registry() *actor.PID { return s.children.registry }

// Rooms returns the rooms actor's PID.
func (s *Server) Rooms() *actor.PID { return s.children.rooms }

// Connections returns the connections supervisor's PID.
func (s *Server) Connections() *actor.PID { return s.children.connections }

// OpenSockets returns how many client sockets are open.
func (s *Server) OpenSockets() int { return s.table.Count() }

// leaveCluster waits (up to the deadline) until every other node's relay
// has answered a ping, which comes behind everything this node sent it,
// then deregisters from the provider.
func (s *Server) leaveCluster(deadline time.Time) {
	self := s.system.Address()
	timeout := max(min(time.Until(deadline)/2, 2*time.Second), time.Millisecond)
	var futures []*actor.Future
	for _, m := range s.cluster.cluster.MemberList.Members().Members() {
		if a := m.Address(); a != self {
			futures = append(futures, s.system.Root.RequestFuture(actor.NewPID(a, relayActorID), &messages.Ping{}, timeout))
		}
	}
	for _, f := range futures {
		_, _ = f.Result()
	}
	s.cluster.joined.Store(false)
	if err := s.cfg.Cluster.Provider.Shutdown(true); err != nil {
		s.cfg.Logger.Warn("cluster: leaving the provider failed", "error", err)
	}
	s.cfg.Logger.Info("left the cluster", "peers_flushed", len(futures))
}

// flushStore waits for every post the rooms handled to be written to the
// store, until a fifth of the shutdown timeout before the deadline: the rest
// is for stopping the actors, so that a store that is down costs its
// unwritten posts (the store actor logs how many), not a clean shutdown.
func (s *Server) flushStore(deadline time.Time) {
	deadline = deadline.Add(-s.cfg.ShutdownTimeout / 5)
	flushed := actor.NewFuture(s.system, max(time.Until(deadline), time.Millisecond))
	s.system.Root.Send(s.children.rooms, &messages.DrainRooms{ReplyTo: refOf(flushed.PID())})
	if _, err := flushed.Result(); err != nil {
		s.cfg.Logger.Warn("store: not everything was written before the shutdown deadline", "error", err)
	}
}

// ErrShutdownTimeout reports that shutdown passed its deadline: actors that
// did not stop were abandoned, and the sockets left were closed without a
// goodbye. chatd exits non-zero for it.
var ErrShutdownTimeout = errors.New("shutdown deadline passed; actors that did not stop were abandoned")

// Shutdown stops the server within the configured shutdown timeout (or
// ctx's deadline, if sooner) plus ShutdownMargin, whatever any actor does: no
// new connections, a notice and bye... to every user, every socket closed,
// every actor and goroutine stopped. What could not be stopped in time is
// logged by name and abandoned, and Shutdown returns ErrShutdownTimeout. It
// is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.ready.Store(false)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	logger := s.cfg.Logger
	logger.Info("shutting down", "connections", s.table.Count(), "timeout", s.cfg.ShutdownTimeout)
	goodbye := text.AppendNotice(nil, shutdownNotice)
	goodbye = append(goodbye, text.ByeLine...)

	// 1-2. Stop accepting; every connection says goodbye and stops.
	drained := actor.NewFuture(s.system, max(time.Until(deadline), time.Millisecond))
	s.system.Root.Send(s.pid, &messages.Shutdown{Notice: shutdownNotice, ReplyTo: refOf(drained.PID())})
	_, err := drained.Result()
	actorsInTime := err == nil

	// 2b. Every room hands the store what it has, and the store writes it.
	if s.children.store != nil && actorsInTime {
		s.flushStore(deadline)
	}

	// 2c. In a cluster: what our users' leaving sent the other nodes has
	// reached them, then the node leaves the cluster at once (nobody waits
	// for a lease or a missed health check).
	if s.cluster != nil {
		s.leaveCluster(deadline)
	}

	// 3. Stop the server actor and with it every actor left.
	s.system.Root.Stop(s.pid)
	actorsInTime = waitUntil(ctx, s.stopped) && actorsInTime
	if !actorsInTime {
		if alive := s.liveActors(); len(alive) > 0 {
			const shown = 20
			logger.Warn("actors did not stop before the shutdown deadline; abandoning them",
				"actors", strings.Join(alive[:min(len(alive), shown)], ","), "count", len(alive))
		}
	}

	// A socket accepted while its SpawnConnection raced shutdown reached no
	// actor: it gets the goodbye here.
	if waitUntil(ctx, s.acceptDone) {
		s.sayGoodbyeToUnclaimed(goodbye)
	}

	// 4. Every reader and writer ends once its socket closes: after the
	// goodbye is flushed and the client's input drained (the linger), or at
	// the deadline, when what is left is closed.
	ioDone := make(chan struct{})
	go func() {
		s.table.Wait()
		close(ioDone)
	}()
	if !waitUntil(ctx, ioDone) || !actorsInTime {
		s.closeRest(goodbye, actorsInTime, ioDone)
	}
	if s.cluster != nil {
		s.cluster.cluster.Remote.Shutdown(false)
	}
	s.system.Shutdown()
	if !actorsInTime {
		logger.Warn("shutdown complete, past its deadline", "error", ErrShutdownTimeout)
		return ErrShutdownTimeout
	}
	logger.Info("shutdown complete")
	return nil
}

// closeRest is shutdown at its deadline: it closes every socket still open
// (still flushing its goodbye to a client that does not read, draining a
// client's input, or served by an actor that did not stop) and gives their
// goroutines ShutdownMargin to end.
func (s *Server) closeRest(goodbye []byte, actorsInTime bool, ioDone <-chan struct{}) {
	logger := s.cfg.Logger
	// The server actor closes the listener; if it is wedged, nobody else
	// would, and the accept loop would go on parking sockets.
	_ = s.ln.Close()
	if s.cfg.TLSListener != nil {
		_ = s.cfg.TLSListener.Close()
	}
	select {
	case <-s.acceptDone:
	case <-time.After(ShutdownMargin / 2):
	}
	s.sayGoodbyeToUnclaimed(goodbye)
	if ids := s.table.AbortAll(goodbye); len(ids) > 0 {
		slices.Sort(ids)
		level := slog.LevelInfo
		msg := "closed sockets still flushing or draining at the shutdown deadline"
		if !actorsInTime {
			level, msg = slog.LevelWarn, "closed sockets at the shutdown deadline, some of actors that did not stop"
		}
		logger.Log(context.Background(), level, msg, "conns", fmt.Sprint(ids), "count", len(ids))
	}
	select {
	case <-ioDone:
	case <-time.After(ShutdownMargin):
		logger.Warn("socket goroutines still running after the shutdown margin; abandoning them")
	}
}

// sayGoodbyeToUnclaimed closes, with the goodbye, the sockets that were
// accepted but never reached an actor.
func (s *Server) sayGoodbyeToUnclaimed(goodbye []byte) {
	if n := s.table.Unclaimed(goodbye); n > 0 {
		s.cfg.Logger.Info("said goodbye to connections that shutdown kept from their actors", "connections", n)
	}
}

// liveActors lists the server's actors that are still running, by id.
func (s *Server) liveActors() []string {
	var out []string
	for _, bucket := range s.system.ProcessRegistry.LocalPIDs.LocalPIDs {
		for _, id := range bucket.Keys() {
			if id == "server" || strings.HasPrefix(id, "server/") {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// waitUntil waits for done or the end of ctx, and reports whether done came.
// A done that is already closed wins over an ended ctx.
func waitUntil(ctx context.Context, done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
	}
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}
