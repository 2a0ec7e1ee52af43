package actors

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/netio"
	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/messages"
)

// server is the guardian actor. It starts the registry, the rooms and the
// connections supervisor, runs the accept loop, and owns the shutdown order:
// stop accepting, have every connection say goodbye, then (when the caller
// stops this actor) stop the rest. Its own guardian resumes it after a
// panic: it is never started twice.
type server struct {
	// Static after construction.
	cfg        Config
	node       string
	env        *connectionEnv // filled in here, in Started: the registry's and rooms' PIDs
	table      *netio.Table
	listener   net.Listener
	tlsLn      net.Listener       // nil: no TLS port
	ircLn      net.Listener       // nil: no IRC port
	ircTLSLn   net.Listener       // nil: no IRC port over TLS
	stopTLS    context.CancelFunc // interrupts TLS handshakes in progress, at shutdown
	children   *serverChildren    // filled in Started, read by Server after started
	started    chan struct{}      // closed at the end of Started
	stopped    chan struct{}      // closed in Stopped: every child has stopped
	acceptDone chan struct{}      // closed when the accept loops (and TLS handshakes) return

	accountNames []store.AccountName // the accounts at start
	klines       *klines             // the server's k-lines: the registry changes them, the accept loops read them
	cluster      *clusterNode        // nil: a single node

	// Owned by Receive.
	startedOnce bool
}

// serverChildren are the PIDs of the server's children.
type serverChildren struct {
	registry, rooms, connections *actor.PID
	store                        *actor.PID // nil: no store
	accounts                     *actor.PID // nil: no accounts (no store)
	relay, node                  *actor.PID // in a cluster: the relay and the node actor; else nil
}

func (s *server) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.handleStarted(ctx)
	case *actor.Stopping:
		s.stopAccepting()
	case *actor.Stopped:
		close(s.stopped)
	case *actor.Restarting, *actor.Terminated:

	case *messages.Shutdown:
		s.handleShutdown(ctx, msg)
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	}
}

func (s *server) handleStarted(ctx actor.Context) {
	if s.startedOnce {
		return // defensive: Started runs once, as the guardian never restarts us
	}
	s.startedOnce = true
	c, cfg := s.children, s.cfg
	if cfg.Store != nil {
		c.store = s.spawn(ctx, props(newStoreActor(cfg.Store, cfg.storeConfig(), cfg.Logger, cfg.Metrics), cfg.Middleware), "store")
	}
	c.registry = s.spawn(ctx, props(newRegistry(registryDeps{logger: cfg.Logger, metrics: cfg.Metrics, accounts: s.accountNames,
		admins: cfg.Admins, klines: s.klines, klineRules: cfg.KlineRules, store: c.store, settleTime: settleTime(cfg)}), cfg.Middleware), "registry")
	// On a single node everything talks to the registry and rooms actors
	// themselves; in a cluster to routers, which forward to the ones on the
	// coordinator.
	registryRef, roomsRef := c.registry, (*actor.PID)(nil)
	if s.cluster != nil {
		registryRef = s.spawn(ctx, props(func() actor.Actor { return &router{target: registryActorID, metrics: cfg.Metrics} }, nil), "registry-router")
		roomsRef = s.spawn(ctx, props(func() actor.Actor { return &router{target: roomsActorID, metrics: cfg.Metrics} }, nil), "rooms-router")
		c.relay = s.spawn(ctx, props(newRelay(max(cfg.HistoryMax, cfg.HistoryLen), cfg.QuietRoomSize, cfg.Logger, cfg.Metrics), cfg.Middleware), "relay")
	}
	// The accounts actor checks operators' passwords too: it runs without a
	// store, with no accounts.
	db, _ := cfg.Store.(AccountStore)
	c.accounts = s.spawn(ctx, props(newAccounts(db, cfg.accountsConfig(), cfg.Admins, registryRef, cfg.Logger), cfg.Middleware), "accounts")
	s.env.accounts, s.env.accountsOn = c.accounts, db != nil
	c.rooms = s.spawn(ctx, roomsProps(roomSettings{
		historyLen: cfg.HistoryLen, historyKeep: cfg.HistoryMax, quietSize: cfg.QuietRoomSize,
		store: c.store, registry: registryRef, admins: cfg.Admins, accountsOn: db != nil, loadTimeout: roomLoadTimeout(cfg), batchWindow: cfg.PostBatchWindow,
		cluster: s.cluster != nil, logger: cfg.Logger, metrics: cfg.Metrics,
	}, cfg.Middleware), "rooms")
	if roomsRef == nil {
		roomsRef = c.rooms
	}
	s.env.registry, s.env.rooms = registryRef, roomsRef
	c.connections = s.spawn(ctx, connectionsProps(connectionsDeps{
		env: s.env, table: s.table, node: s.node, middleware: cfg.Middleware,
		sockCfg: netio.Config{MaxLineBytes: cfg.MaxLineBytes, WriteTimeout: cfg.WriteTimeout, LingerTimeout: cfg.LingerTimeout, OutboxBytes: cfg.OutboxBytes},
	}), "connections")
	if s.cluster != nil {
		c.node = s.spawn(ctx, props(func() actor.Actor {
			return &clusterNodeActor{cn: s.cluster, self: ctx.ActorSystem().ID, address: ctx.Self().GetAddress(),
				routers: []*actor.PID{registryRef, roomsRef}, relay: c.relay, registry: c.registry, rooms: c.rooms,
				connections: c.connections, metrics: cfg.Metrics, logger: cfg.Logger}
		}, nil), "cluster")
	}

	system := ctx.ActorSystem()
	a := &acceptor{system: system, connections: c.connections, table: s.table, cfg: cfg, klines: s.klines}
	var loops sync.WaitGroup
	lines, ircs := messages.Protocol_PROTOCOL_UNSPECIFIED, messages.Protocol_PROTOCOL_IRC
	loops.Go(func() { a.loop(s.listener, a.admitting(lines)) })
	if s.ircLn != nil {
		loops.Go(func() { a.loop(s.ircLn, a.admitting(ircs)) })
	}
	hsCtx, cancel := context.WithCancel(context.Background())
	s.stopTLS = cancel
	for _, l := range []struct {
		ln     net.Listener
		speaks messages.Protocol
	}{{s.tlsLn, lines}, {s.ircTLSLn, ircs}} {
		if l.ln != nil {
			loops.Go(func() { a.loop(l.ln, func(conn net.Conn) { a.handshake(hsCtx, conn, l.speaks, &loops) }) })
		}
	}
	s.table.Go(func() {
		loops.Wait()
		close(s.acceptDone)
	})
	close(s.started)
}

// stopAccepting closes the listeners and interrupts TLS handshakes.
func (s *server) stopAccepting() {
	_ = s.listener.Close()
	for _, ln := range []net.Listener{s.tlsLn, s.ircLn, s.ircTLSLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	if s.stopTLS != nil {
		s.stopTLS()
	}
}

// settleTime is how long a new coordinator waits for the other nodes'
// users to reclaim their nicks.
func settleTime(cfg Config) time.Duration {
	if cfg.Cluster != nil && cfg.Cluster.SettleTime > 0 {
		return cfg.Cluster.SettleTime
	}
	return 2 * time.Second
}

// roomLoadTimeout is how long a new room waits for its history before it
// goes on without: half the request timeout, so that its first joiner is
// answered before giving up on it.
func roomLoadTimeout(cfg Config) time.Duration { return cfg.RequestTimeout / 2 }

// spawn starts a child; a failure is a bug (every name is spawned once).
func (s *server) spawn(ctx actor.Context, p *actor.Props, name string) *actor.PID {
	pid, err := ctx.SpawnNamed(p, name)
	if err != nil {
		panic(fmt.Sprintf("spawn %s: %v", name, err))
	}
	return pid
}

// handleShutdown stops accepting and asks every connection to say goodbye;
// the answer goes to the request's reply_to once they all have.
func (s *server) handleShutdown(ctx actor.Context, msg *messages.Shutdown) {
	s.stopAccepting()
	ctx.Send(s.children.connections, msg)
}
