package actors

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/faults/faultpb"
	"github.com/actorchat/actorchat/internal/netio"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

// connectionsHarness is the connections supervisor with probes for the
// registry and rooms, and net.Pipe sockets parked in its table.
type connectionsHarness struct {
	system   *actor.ActorSystem
	registry *probe
	table    *netio.Table
	pid      *actor.PID
}

func newConnectionsHarness(t *testing.T) *connectionsHarness {
	t.Helper()
	system := newTestSystem(t)
	cfg := DefaultConfig().withDefaults()
	h := &connectionsHarness{system: system, registry: newProbe(t, system)}
	h.table = netio.NewTable(0, 0, cfg.Metrics.table())
	env := &connectionEnv{cfg: cfg.connectionConfig(), logger: testLogger(), metrics: cfg.Metrics, commands: newCommandSet(cfg.connectionConfig()),
		registry: h.registry.pid, rooms: newProbe(t, system).pid, motd: &atomic.Pointer[[]string]{}}
	h.pid = system.Root.Spawn(connectionsProps(connectionsDeps{env: env, table: h.table, node: "n1", middleware: faultMiddleware(t),
		sockCfg: netio.Config{MaxLineBytes: 64, WriteTimeout: time.Second, LingerTimeout: 50 * time.Millisecond, OutboxBytes: 1 << 16}}))
	return h
}

// spawn parks a pipe as connection id, has the supervisor spawn its actor,
// and returns the client end and the member id the actor registers with.
func (h *connectionsHarness) spawn(t *testing.T, id uint64) (*lineConn, string) {
	t.Helper()
	server, client := net.Pipe()
	t.Cleanup(func() { client.Close() })
	if err := h.table.Park(id, server); err != nil {
		t.Fatal(err)
	}
	h.system.Root.Send(h.pid, &messages.SpawnConnection{ConnId: id, RemoteAddr: "pipe"})
	for {
		// Earlier connections' goodbyes to the registry may come first.
		if reg, ok := h.registry.next(t).msg.(*messages.RegisterConnection); ok {
			return newLineConn(t, client), reg.GetMemberId()
		}
	}
}

func TestConnectionsSpawnsWithMemberIDs(t *testing.T) {
	h := newConnectionsHarness(t)
	_, m1 := h.spawn(t, 1)
	_, m7 := h.spawn(t, 7)
	if m1 != "n1.1" || m7 != "n1.7" {
		t.Errorf("member ids %q, %q, want n1.1 and n1.7 (node, connection)", m1, m7)
	}
	// A SpawnConnection whose socket is not parked (shutdown took it) spawns
	// nothing.
	h.system.Root.Send(h.pid, &messages.SpawnConnection{ConnId: 9})
	h.registry.sync(t, h.pid)
	h.registry.expectQuiet(t)
	if got := actorsUnder(h.system, h.pid.Id+"/"); len(got) != 2 {
		t.Errorf("connection actors %v, want 2", got)
	}
}

// TestConnectionsShutdown: every connection says goodbye; ConnectionsDrained
// goes to reply_to once none is left; a connection spawned after that point
// is told goodbye at once.
func TestConnectionsShutdown(t *testing.T) {
	h := newConnectionsHarness(t)
	a, _ := h.spawn(t, 1)
	b, _ := h.spawn(t, 2)
	done := newProbe(t, h.system)
	h.system.Root.Send(h.pid, &messages.Shutdown{Notice: "going down", ReplyTo: refOf(done.pid)})
	for _, c := range []*lineConn{a, b} {
		c.skipUntil("*** going down")
		c.expect("bye...")
	}
	expect[*messages.ConnectionsDrained](t, done)

	late, _ := h.spawn(t, 3)
	late.skipUntil("*** going down")
	late.expect("bye...")
	testkit.Eventually(t, "every socket to close", func() bool { return h.table.Count() == 0 })
}

// TestConnectionsPanicStopsOnlyThatOne: the supervisor stops a connection
// whose handling panicked; the others go on, and new ones are spawned.
func TestConnectionsPanicStopsOnlyThatOne(t *testing.T) {
	h := newConnectionsHarness(t)
	a, _ := h.spawn(t, 1)
	h.spawn(t, 2)
	h.system.Root.Send(h.system.NewLocalPID(h.pid.Id+"/conn-1"), &faultpb.InjectFault{Reason: "test"})
	a.skipUntil("!!! internal server error; your connection is closed (sorry)")
	a.expect("bye...")
	testkit.Eventually(t, "conn-1 to stop", func() bool {
		got := actorsUnder(h.system, h.pid.Id+"/")
		return len(got) == 1 && got[0] == "conn-2"
	})
	h.spawn(t, 3)
}

// TestConnectionsReportStoppedConnections: when a connection actor has
// stopped, its supervisor tells the registry (ConnectionGone), behind the
// connection's own goodbye; the registry lets go of a member that did not
// say goodbye (connections are not watched).
func TestConnectionsReportStoppedConnections(t *testing.T) {
	h := newConnectionsHarness(t)
	c, member := h.spawn(t, 3)
	c.send("/quit")
	var sawUnregister bool
	for {
		switch m := h.registry.next(t).msg.(type) {
		case *messages.UnregisterConnection:
			sawUnregister = m.GetMemberId() == member
		case *messages.ConnectionGone:
			if m.GetMemberId() != member {
				t.Fatalf("ConnectionGone for %q, want %q", m.GetMemberId(), member)
			}
			if !sawUnregister {
				t.Fatal("ConnectionGone came before the connection's own goodbye")
			}
			return
		}
	}
}
