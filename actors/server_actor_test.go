package actors

import (
	"bytes"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/faults/faultpb"
	"github.com/actorchat/actorchat/internal/netio"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

// serverActor is the server actor spawned on its own, as Start does, with
// what a test needs to watch it.
type serverActor struct {
	system   *actor.ActorSystem
	pid      *actor.PID
	ln       net.Listener
	table    *netio.Table
	children *serverChildren
	stopped  chan struct{}
}

func newServerActor(t *testing.T) *serverActor {
	t.Helper()
	system := newTestSystem(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Logger = testLogger()
	cfg.Middleware = faultMiddleware(t)
	cfg = cfg.withDefaults()
	sa := &serverActor{system: system, ln: ln, children: &serverChildren{}, stopped: make(chan struct{}),
		table: netio.NewTable(0, 0, cfg.Metrics.table())}
	started := make(chan struct{})
	env := &connectionEnv{cfg: cfg.connectionConfig(), logger: cfg.Logger, metrics: cfg.Metrics, commands: newCommandSet(cfg.connectionConfig()), motd: &atomic.Pointer[[]string]{}}
	sa.pid, err = system.Root.SpawnNamed(props(func() actor.Actor {
		return &server{cfg: cfg, node: "n1", env: env, table: sa.table, listener: ln, children: sa.children,
			started: started, stopped: sa.stopped, acceptDone: make(chan struct{})}
	}, cfg.Middleware, actor.WithGuardian(panicSupervisor{logger: cfg.Logger, directive: actor.ResumeDirective}),
		actor.WithSupervisor(panicSupervisor{logger: cfg.Logger, directive: actor.ResumeDirective})), "server")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	t.Cleanup(func() {
		system.Root.Stop(sa.pid)
		<-sa.stopped
		sa.table.AbortAll(nil)
		sa.table.Wait()
	})
	return sa
}

// TestServerActorStartsChildrenAndAccepts: Started spawns the registry, the
// rooms and the connections supervisor, and the accept loop hands sockets to
// the latter.
func TestServerActorStartsChildrenAndAccepts(t *testing.T) {
	sa := newServerActor(t)
	for _, pid := range []*actor.PID{sa.children.registry, sa.children.rooms, sa.children.connections} {
		if _, ok := sa.system.ProcessRegistry.Get(pid); !ok {
			t.Errorf("%v is not running", pid)
		}
	}
	conn, err := net.Dial("tcp", sa.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := newLineConn(t, conn)
	c.expectPrefix("*** Welcome")
	if got := actorsUnder(sa.system, "server/connections/"); !slices.Equal(got, []string{"conn-1"}) {
		t.Errorf("connection actors %v, want conn-1", got)
	}
}

// TestServerActorShutdown: Shutdown stops accepting and answers reply_to
// once every connection has said goodbye.
func TestServerActorShutdown(t *testing.T) {
	sa := newServerActor(t)
	conn, err := net.Dial("tcp", sa.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := newLineConn(t, conn)
	c.skipUntil("*** You are in room lobby with nobody else.")
	done := newProbe(t, sa.system)
	sa.system.Root.Send(sa.pid, &messages.Shutdown{Notice: "bye now", ReplyTo: refOf(done.pid)})
	c.expect("*** bye now")
	c.expect("bye...")
	expect[*messages.ConnectionsDrained](t, done)
	if _, err := net.Dial("tcp", sa.ln.Addr().String()); err == nil {
		t.Errorf("still accepting after Shutdown")
	}
}

// TestServerActorPanicResumes: a panic in the server actor resumes it: it
// answers again, and its children are the same ones (it was not started a
// second time).
func TestServerActorPanicResumes(t *testing.T) {
	sa := newServerActor(t)
	before := *sa.children
	sa.system.Root.Send(sa.pid, &faultpb.InjectFault{Reason: "test"})
	p := newProbe(t, sa.system)
	p.sync(t, sa.pid)
	if *sa.children != before {
		t.Errorf("children changed from %v to %v", before, *sa.children)
	}
	if got := actorsUnder(sa.system, "server/"); !slices.Contains(got, "registry") || !slices.Contains(got, "rooms") || !slices.Contains(got, "connections") {
		t.Errorf("children %v", got)
	}
	testkit.Eventually(t, "the rooms actor to answer", func() bool {
		_, err := sa.system.Root.RequestFuture(sa.children.rooms, &messages.Ping{}, waitTimeout).Result()
		return err == nil
	})
}

// TestProtoactorLogs: protoactor's expected noise about peers that went
// (a cluster node stopped or died) is logged at INFO, its other warnings
// and errors as they are, and its routine INFO not at all.
func TestProtoactorLogs(t *testing.T) {
	var buf bytes.Buffer
	logger := protoactorLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	logger.Error("EndpointWriter lost connection", "address", "10.0.0.2:7701")
	logger.Warn("sendGossipForMember failed")
	logger.Error("EndpointReader failed to deserialize")
	logger.Info("Started EndpointManager")
	got := buf.String()
	for _, want := range []string{`level=INFO msg="EndpointWriter lost connection"`, `level=INFO msg="sendGossipForMember failed"`,
		`level=ERROR msg="EndpointReader failed to deserialize"`} {
		if !strings.Contains(got, want) {
			t.Errorf("the log lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Started EndpointManager") {
		t.Errorf("routine INFO got through:\n%s", got)
	}
}
