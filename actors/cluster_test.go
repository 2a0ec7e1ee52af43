package actors

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/actorchat/actorchat/messages"
)

// Actor-level tests of cluster mode. The actors run in one process without
// remoting: other nodes are addresses that a resolver maps to a probe, which
// records what the actor under test sends to that node (the multi-process
// tests in cmd/chatd run real nodes).

// fakeNode stands for another node: user messages to any actor on it go to
// its probe; system messages (watches) are ignored.
type fakeNode struct{ p *probe }

func (f fakeNode) SendUserMessage(_ *actor.PID, m any) {
	f.p.system.Root.Send(f.p.pid, actor.UnwrapEnvelopeMessage(m))
}
func (fakeNode) SendSystemMessage(*actor.PID, any) {}
func (fakeNode) Stop(*actor.PID)                   {}

// fakeNodes makes a probe for each address and routes the addresses to them.
func fakeNodes(t *testing.T, system *actor.ActorSystem, addresses ...string) map[string]*probe {
	t.Helper()
	nodes := make(map[string]*probe, len(addresses))
	for _, a := range addresses {
		nodes[a] = newProbe(t, system)
	}
	system.ProcessRegistry.RegisterAddressResolver(func(pid *actor.PID) (actor.Process, bool) {
		p, ok := nodes[pid.GetAddress()]
		return fakeNode{p}, ok
	})
	return nodes
}

// nothingElse checks that a fake node got nothing more: a marker sent
// through it now is the next thing its probe holds (call it after syncing
// with the sender).
func nothingElse(t *testing.T, system *actor.ActorSystem, node *probe, address string) {
	t.Helper()
	system.Root.Send(actor.NewPID(address, "marker"), &messages.IdleCheck{})
	expect[*messages.IdleCheck](t, node)
}

// drainNode throws away what a fake node got so far (call it after syncing
// with the sender).
func drainNode(t *testing.T, system *actor.ActorSystem, node *probe, address string) {
	t.Helper()
	system.Root.Send(actor.NewPID(address, "marker"), &messages.IdleCheck{})
	for {
		if _, ok := node.next(t).msg.(*messages.IdleCheck); ok {
			return
		}
	}
}

// clusterRoom spawns a room in cluster mode.
func clusterRoom(t *testing.T, system *actor.ActorSystem, name string, quiet int) *actor.PID {
	t.Helper()
	return supervised(t, system, newRoom(name, 1, roomSettings{historyLen: 20, historyKeep: 20, quietSize: quiet, cluster: true,
		logger: testLogger(), metrics: NewMetrics()}, nil), actor.ResumeDirective)
}

// joinRemote joins a member whose connection is actor id on node address.
func joinRemote(system *actor.ActorSystem, room *actor.PID, address, id, nick string) {
	system.Root.RequestWithCustomSender(room, &messages.JoinRoom{Room: "dev", Nick: nick, MemberId: address + "." + id,
		ReplyTo: &messages.ActorRef{Address: address, Id: id}}, actor.NewPID(address, id))
}

// expectRelayed returns the payload of the next RelayDelivery a node's probe
// got, which must be a T.
func expectRelayed[T proto.Message](t *testing.T, node *probe) (*messages.RelayDelivery, T) {
	t.Helper()
	d := expect[*messages.RelayDelivery](t, node)
	m, err := d.GetPayload().UnmarshalNew()
	if err != nil {
		t.Fatal(err)
	}
	out, ok := m.(T)
	if !ok {
		var want T
		t.Fatalf("relayed %T, want %T", m, want)
	}
	return d, out
}

// TestRoomClusterFansOutOncePerNode: a post costs the room one message per
// other node however many members that node has, in the room's order, and
// the sender gets its own line back (its acknowledgement). A node learns the
// roster before anything is broadcast to its new member.
func TestRoomClusterFansOutOncePerNode(t *testing.T) {
	system := newTestSystem(t)
	nodes := fakeNodes(t, system, "b:1", "c:1")
	room := clusterRoom(t, system, "dev", 0)
	local := newProbe(t, system)
	local.send(room, &messages.JoinRoom{Room: "dev", Nick: "alice"})
	expect[*messages.RoomJoined](t, local)

	joinRemote(system, room, "b:1", "conn-1", "bob")
	full := expect[*messages.RosterChanged](t, nodes["b:1"])
	if !full.GetFull() || len(full.GetEntries()) != 2 {
		t.Fatalf("node b's first roster: %v", full)
	}
	expectRelayed[*messages.MemberJoined](t, nodes["b:1"]) // to bob's node, all but bob
	if d, j := expectRelayed[*messages.RoomJoined](t, nodes["b:1"]); !slices.Equal(d.GetTargets(), []string{"conn-1"}) || j.GetRoom() != "dev" {
		t.Errorf("bob's RoomJoined: %v %v", d, j)
	}
	expect[*messages.MemberJoined](t, local)
	joinRemote(system, room, "b:1", "conn-2", "bea")
	if rc := expect[*messages.RosterChanged](t, nodes["b:1"]); rc.GetFull() || rc.GetEntries()[0].GetNick() != "bea" {
		t.Errorf("node b's roster change: %v", rc)
	}
	if d, j := expectRelayed[*messages.MemberJoined](t, nodes["b:1"]); d.GetExceptMemberId() != "b:1.conn-2" || j.GetNick() != "bea" {
		t.Errorf("bea's join notice on node b: %v %v", d, j)
	}
	expectRelayed[*messages.RoomJoined](t, nodes["b:1"])
	expect[*messages.MemberJoined](t, local)
	joinRemote(system, room, "c:1", "conn-9", "carl")
	expect[*messages.RosterChanged](t, nodes["b:1"]) // carl, for node b
	expectRelayed[*messages.MemberJoined](t, nodes["b:1"])
	expect[*messages.RosterChanged](t, nodes["c:1"]) // the whole roster, for node c
	expectRelayed[*messages.MemberJoined](t, nodes["c:1"])
	expectRelayed[*messages.RoomJoined](t, nodes["c:1"])
	expect[*messages.MemberJoined](t, local)

	local.send(room, &messages.PostMessage{Text: "hello", ClientSeq: 1})
	if m := expect[*messages.MessagePosted](t, local); m.GetSenderSeq() != 1 || m.GetSeq() != 1 {
		t.Errorf("the sender's echo: %v", m)
	}
	local.sync(t, room)
	for _, a := range []string{"b:1", "c:1"} {
		d, m := expectRelayed[*messages.MessagePosted](t, nodes[a])
		if m.GetText() != "hello" || d.GetExceptMemberId() != "" || len(d.GetTargets()) != 0 {
			t.Errorf("node %s: %v %v", a, d, m)
		}
		nothingElse(t, system, nodes[a], a)
	}

	// A post the room has already (posted again after a rebuild) is dropped.
	local.send(room, &messages.PostMessage{Text: "hello", ClientSeq: 1})
	local.sync(t, room)
	local.expectQuiet(t)
}

// TestRoomClusterNodeLost: the room removes the members of a node that
// left without telling the other nodes (their relays announce the loss
// themselves) and tells its own node's members "server lost".
func TestRoomClusterNodeLost(t *testing.T) {
	system := newTestSystem(t)
	nodes := fakeNodes(t, system, "b:1", "c:1")
	room := clusterRoom(t, system, "dev", 0)
	local := newProbe(t, system)
	local.send(room, &messages.JoinRoom{Room: "dev", Nick: "alice"})
	expect[*messages.RoomJoined](t, local)
	joinRemote(system, room, "b:1", "conn-1", "bob")
	joinRemote(system, room, "c:1", "conn-1", "carl")
	expect[*messages.MemberJoined](t, local)
	expect[*messages.MemberJoined](t, local)
	local.sync(t, room)
	for a, n := range nodes {
		drainNode(t, system, n, a)
	}

	proc, _ := system.ProcessRegistry.GetLocal(room.GetId())
	proc.SendSystemMessage(room, &actor.Terminated{Who: actor.NewPID("b:1", "conn-1"), Why: actor.TerminatedReason_AddressTerminated})
	if m := expect[*messages.MemberLeft](t, local); m.GetNick() != "bob" || m.GetReason() != messages.LeaveReason_LEAVE_REASON_SERVER_LOST {
		t.Errorf("local member got %v", m)
	}
	local.sync(t, room)
	nothingElse(t, system, nodes["c:1"], "c:1")

	// A member that leaves normally is announced everywhere, after its node
	// is told (so that its relay does not hand it the notice).
	system.Root.Send(room, &messages.LeaveRoom{MemberId: "c:1.conn-1", Reason: messages.LeaveReason_LEAVE_REASON_QUIT})
	if rc := expect[*messages.RosterChanged](t, nodes["c:1"]); !rc.GetFull() || len(rc.GetEntries()) != 0 {
		t.Errorf("node c, its last member gone: %v", rc)
	}
	if m := expect[*messages.MemberLeft](t, local); m.GetNick() != "carl" || m.GetReason() != messages.LeaveReason_LEAVE_REASON_QUIT {
		t.Errorf("local member got %v", m)
	}
}

// relayFor spawns a relay and returns it with a probe standing for a
// connection on its node.
func relayFor(t *testing.T, system *actor.ActorSystem, quiet int) *actor.PID {
	t.Helper()
	return supervised(t, system, newRelay(3, quiet, testLogger(), NewMetrics()), actor.ResumeDirective)
}

func relayed(t *testing.T, room string, msg proto.Message, except string, targets ...string) *messages.RelayDelivery {
	t.Helper()
	payload, err := anypb.New(msg)
	if err != nil {
		t.Fatal(err)
	}
	return &messages.RelayDelivery{Room: room, Payload: payload, ExceptMemberId: except, Targets: targets}
}

// TestRelay: a relay hands a room's message to the room's members on its
// node (all but one, or the ones named), refuses anything that is not a
// room's message to its members, keeps the room's history and topic for a
// rebuilt room, and announces the members of a node that left.
func TestRelay(t *testing.T) {
	system := newTestSystem(t)
	relay := relayFor(t, system, 0)
	a, b := newProbe(t, system), newProbe(t, system)
	here := a.pid.GetAddress()
	system.Root.Send(relay, &messages.RosterChanged{Room: "dev", Full: true, Entries: []*messages.RosterEntry{
		{MemberId: "a", Nick: "ann", Node: here, ActorId: a.pid.GetId()},
		{MemberId: "b", Nick: "ben", Node: here, ActorId: b.pid.GetId()},
		{MemberId: "x", Nick: "xavier", Node: "gone:1", ActorId: "conn-7"},
	}})
	for i := range 5 {
		system.Root.Send(relay, relayed(t, "dev", &messages.MessagePosted{Room: "dev", Nick: "xavier", Text: string(rune('0' + i)), Seq: uint64(i + 1)}, "a"))
	}
	for i := range 5 {
		if m := expect[*messages.MessagePosted](t, b); m.GetSeq() != uint64(i+1) {
			t.Fatalf("post %d: %v", i, m)
		}
	}
	b.sync(t, relay)
	a.sync(t, relay)
	a.expectQuiet(t) // excepted

	system.Root.Send(relay, relayed(t, "dev", &messages.RoomLeft{Room: "dev"}, "", a.pid.GetId()))
	expect[*messages.RoomLeft](t, a)
	system.Root.Send(relay, relayed(t, "dev", &messages.Shutdown{Notice: "not from a room"}, ""))
	system.Root.Send(relay, relayed(t, "dev", &messages.TopicChanged{Room: "dev", Nick: "xavier", Topic: "t", UnixMillis: 7}, ""))
	if m := expect[*messages.TopicChanged](t, a); m.GetTopic() != "t" {
		t.Errorf("got %v", m)
	}
	expect[*messages.TopicChanged](t, b)

	a.send(relay, &messages.RoomSnapshotRequest{Room: "dev"})
	snap := expect[*messages.RoomSnapshot](t, a)
	if len(snap.GetHistory()) != 3 || snap.GetHistory()[0].GetSeq() != 3 || snap.GetTopic().GetTopic() != "t" {
		t.Errorf("snapshot: %v", snap)
	}

	system.Root.Send(relay, &messages.CoordinatorChanged{Address: "other:1", Left: []string{"gone:1"}})
	for _, p := range []*probe{a, b} {
		if m := expect[*messages.MemberLeft](t, p); m.GetNick() != "xavier" || m.GetReason() != messages.LeaveReason_LEAVE_REASON_SERVER_LOST {
			t.Errorf("got %v", m)
		}
	}
	a.send(relay, &messages.Ping{})
	expect[*messages.Pong](t, a)
	a.expectQuiet(t)
}

// TestRegistrySettlesBeforeHandingOutNicks: a registry that has just become
// the coordinator takes back the users' nicks first and only then answers a
// request for a nick, so that nobody takes the nick of a user who is still
// connected; a reclaimed nick someone holds already goes to the earlier claim.
func TestRegistrySettlesBeforeHandingOutNicks(t *testing.T) {
	system := newTestSystem(t)
	reg := supervised(t, system, newRegistry(registryDeps{logger: testLogger(), metrics: NewMetrics(), settleTime: waitTimeout}), actor.ResumeDirective)
	alice, stranger, twin := newProbe(t, system), newProbe(t, system), newProbe(t, system)
	node := alice.pid.GetAddress()
	system.Root.Send(reg, &messages.BecomeCoordinator{Nodes: []string{node}})

	stranger.send(reg, &messages.RegisterConnection{})
	stranger.sync(t, reg)
	stranger.expectQuiet(t) // held: the nodes have not reclaimed yet

	alice.send(reg, &messages.RegisterConnection{Reclaim: true, Nick: "alice", Room: "dev"})
	if m := expect[*messages.ConnectionRegistered](t, alice); m.GetNick() != "alice" {
		t.Errorf("alice reclaimed %q", m.GetNick())
	}
	twin.send(reg, &messages.RegisterConnection{Reclaim: true, Nick: "Alice"})
	if m := expect[*messages.ConnectionRegistered](t, twin); !isGuestNick(m.GetNick()) {
		t.Errorf("the later claim of alice got %q, want a guest nick", m.GetNick())
	}
	system.Root.Send(reg, &messages.ReclaimExpected{Node: node, Count: 2})
	if m := expect[*messages.ConnectionRegistered](t, stranger); !isGuestNick(m.GetNick()) {
		t.Errorf("the held registration got %q", m.GetNick())
	}
	stranger.send(reg, &messages.SetNick{Nick: "alice"})
	if m := expect[*messages.CommandRejected](t, stranger); m.GetReason() != "nick alice is taken" {
		t.Errorf("got %v", m)
	}
}

// TestRegistryKlinesReachEveryNode: a k-line set on the coordinator is sent
// to every other node's registry, which applies it to its own node's
// k-lines (what its accept loops check), and lifting it lifts it there too.
func TestRegistryKlinesReachEveryNode(t *testing.T) {
	system := newTestSystem(t)
	nodes := fakeNodes(t, system, "b:1")
	admins := testOperators("root")
	accounts := newProbe(t, system)
	reg := supervised(t, system, newRegistry(registryDeps{logger: testLogger(), metrics: NewMetrics(), admins: admins, accountsID: accounts.pid.GetId()}), actor.ResumeDirective)
	op := newProbe(t, system)
	system.Root.Send(reg, &messages.CoordinatorChanged{Address: op.pid.GetAddress(), Nodes: []string{op.pid.GetAddress(), "b:1"}})
	op.send(reg, &messages.RegisterConnection{})
	expect[*messages.ConnectionRegistered](t, op)
	root, _ := admins.lookup("root")
	accounts.send(reg, &messages.OperatorIdentified{MemberId: op.member, Name: "root", Token: root.token(), ReplyTo: refOf(op.pid)})
	expect[*messages.Opered](t, op)
	op.send(reg, &messages.AdminCommand{Action: messages.AdminAction_ADMIN_ACTION_KLINE, Target: "203.0.113.0/24", Text: "spam"})
	expect[*messages.AdminDone](t, op)
	e := expect[*messages.RoomEntry](t, nodes["b:1"])
	if e.GetKind() != entryKline || e.GetSubject() != "203.0.113.0/24" || e.GetDelete() {
		t.Fatalf("node b got %v", e)
	}

	// The other node's registry applies it, from a registry only.
	kl := &klines{}
	other := supervised(t, system, newRegistry(registryDeps{logger: testLogger(), metrics: NewMetrics(), klines: kl, registryID: reg.GetId()}), actor.ResumeDirective)
	system.Root.Send(other, e) // no sender: anyone on the cluster port
	op.sync(t, other)
	if _, refused := kl.match("203.0.113.7:5555", time.Now()); refused {
		t.Error("a k-line from a stranger was applied")
	}
	system.Root.RequestWithCustomSender(other, e, reg)
	op.sync(t, other)
	if _, refused := kl.match("203.0.113.7:5555", time.Now()); !refused {
		t.Error("the other node does not refuse the k-lined address")
	}
	op.send(reg, &messages.AdminCommand{Action: messages.AdminAction_ADMIN_ACTION_UNKLINE, Target: "203.0.113.0/24"})
	expect[*messages.AdminDone](t, op)
	system.Root.RequestWithCustomSender(other, expect[*messages.RoomEntry](t, nodes["b:1"]), reg)
	op.sync(t, other)
	if _, refused := kl.match("203.0.113.7:5555", time.Now()); refused {
		t.Error("the lifted k-line still refuses on the other node")
	}
}

// clusterMember is a cluster member at address host:port with id.
func clusterMember(id, host string, port int32) *cluster.Member {
	return &cluster.Member{Id: id, Host: host, Port: port}
}

// TestClusterNodeActor: the node actor picks the oldest member as the
// coordinator, points the routers there, has the connections reclaim and
// tells the coordinator's registry how many will; when the coordinator
// leaves, the next oldest (here, this node) takes over the nicks; it
// answers other nodes' membership checks from its own view.
func TestClusterNodeActor(t *testing.T) {
	system := newTestSystem(t)
	regRouter, roomsRouter, relay, registry, rooms, conns := newProbe(t, system), newProbe(t, system), newProbe(t, system),
		newProbe(t, system), newProbe(t, system), newProbe(t, system)
	cn := &clusterNode{cfg: &ClusterConfig{Name: "test"}}
	node := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &clusterNodeActor{cn: cn, self: "002-self", address: "10.0.0.2:7701",
			routers: []*actor.PID{regRouter.pid, roomsRouter.pid}, relay: relay.pid, registry: registry.pid, rooms: rooms.pid,
			connections: conns.pid, metrics: NewMetrics(), logger: testLogger()}
	}))
	t.Cleanup(func() { _ = system.Root.StopFuture(node).Wait() })
	oldest, self := clusterMember("001-old", "10.0.0.1", 7701), clusterMember("002-self", "10.0.0.2", 7701)
	system.Root.Send(node, &cluster.ClusterTopology{Members: []*cluster.Member{self, oldest}, Joined: []*cluster.Member{self, oldest}})
	for _, p := range []*probe{rooms, registry, regRouter, roomsRouter} {
		if c := expect[*messages.CoordinatorChanged](t, p); c.GetAddress() != "10.0.0.1:7701" || len(c.GetNodes()) != 2 {
			t.Fatalf("got %v", c)
		}
	}
	reclaim := conns.next(t)
	if _, ok := reclaim.msg.(*messages.Reclaim); !ok {
		t.Fatalf("the connections got %T", reclaim.msg)
	}
	// The relay (which tells the users who was lost) hears of it only once
	// the connections were told to reclaim.
	relay.sync(t, node)
	relay.expectQuiet(t)
	system.Root.Send(reclaim.sender, &messages.ReclaimCount{Count: 3})
	if e := expect[*messages.ReclaimExpected](t, regRouter); e.GetNode() != "10.0.0.2:7701" || e.GetCount() != 3 {
		t.Errorf("got %v", e)
	}
	if c := expect[*messages.CoordinatorChanged](t, relay); c.GetAddress() != "10.0.0.1:7701" {
		t.Fatalf("the relay got %v", c)
	}
	if !cn.joined.Load() {
		t.Error("not ready after joining")
	}

	regRouter.send(node, &messages.MembershipCheck{Address: "10.0.0.1:7701"})
	if m := expect[*messages.MembershipConfirmed](t, regRouter); !m.GetMember() {
		t.Error("a member was not confirmed")
	}
	regRouter.send(node, &messages.MembershipCheck{Address: "10.0.0.9:7701"})
	if m := expect[*messages.MembershipConfirmed](t, regRouter); m.GetMember() {
		t.Error("a stranger was confirmed")
	}

	// The coordinator leaves: this node takes over.
	system.Root.Send(node, &cluster.ClusterTopology{Members: []*cluster.Member{self}, Left: []*cluster.Member{oldest}})
	expect[*messages.CoordinatorChanged](t, rooms)
	expect[*messages.CoordinatorChanged](t, registry)
	if b := expect[*messages.BecomeCoordinator](t, registry); !slices.Equal(b.GetNodes(), []string{"10.0.0.2:7701"}) {
		t.Errorf("registry got %v", b)
	}
	expect[*messages.CoordinatorChanged](t, regRouter)
	expect[*messages.CoordinatorChanged](t, roomsRouter)
	reclaim = conns.next(t)
	system.Root.Send(reclaim.sender, &messages.ReclaimCount{Count: 1})
	if c := expect[*messages.CoordinatorChanged](t, relay); c.GetAddress() != "10.0.0.2:7701" || !slices.Equal(c.GetLeft(), []string{"10.0.0.1:7701"}) {
		t.Errorf("relay got %v", c)
	}
}

// TestRouterHoldsThenForwards: a router holds what comes before the node
// knows the coordinator, then forwards everything, in order, to the actor
// of its id on the coordinator.
func TestRouterHoldsThenForwards(t *testing.T) {
	system := newTestSystem(t)
	nodes := fakeNodes(t, system, "a:1")
	r := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &router{target: registryActorID, metrics: NewMetrics()} }))
	for i := range 3 {
		system.Root.Send(r, &messages.SetNick{Nick: fmt.Sprint("n", i)})
	}
	system.Root.Send(r, &messages.CoordinatorChanged{Address: "a:1"})
	system.Root.Send(r, &messages.SetNick{Nick: "n3"})
	for i := range 4 {
		if m := expect[*messages.SetNick](t, nodes["a:1"]); m.GetNick() != fmt.Sprint("n", i) {
			t.Fatalf("got %v, want n%d", m, i)
		}
	}
}

// FuzzRelayPayload: whatever bytes and type another node puts in a
// RelayDelivery, the relay either gets one of a room's messages to its
// members or an error; it never panics.
func FuzzRelayPayload(f *testing.F) {
	posted, _ := anypb.New(&messages.MessagePosted{Room: "dev", Nick: "bob", Text: "hi", Seq: 3})
	f.Add(posted.GetTypeUrl(), posted.GetValue())
	shutdown, _ := anypb.New(&messages.Shutdown{Notice: "x"})
	f.Add(shutdown.GetTypeUrl(), shutdown.GetValue())
	f.Add("type.googleapis.com/chat.testing.v1.InjectFault", []byte{8, 1})
	f.Add("type.googleapis.com/nope", []byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, typeURL string, value []byte) {
		m, err := decodeRelayed(&anypb.Any{TypeUrl: typeURL, Value: value})
		if err == nil && m.ProtoReflect().Descriptor().ParentFile().Package() != "chat.v1" {
			t.Fatalf("accepted %T", m)
		}
	})
}

// TestRelayDeliversEveryRoomEvent: every message a room may send its
// members (the room's sending methods take only messages.RoomEvent) reaches
// a member on another node through its relay; any other message does not.
func TestRelayDeliversEveryRoomEvent(t *testing.T) {
	system := newTestSystem(t)
	relay := relayFor(t, system, 0)
	member := newProbe(t, system)
	system.Root.Send(relay, &messages.RosterChanged{Room: "dev", Full: true, Entries: []*messages.RosterEntry{
		{MemberId: "m", Nick: "mia", Node: member.pid.GetAddress(), ActorId: member.pid.GetId()}}})
	events, others := 0, 0
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if mt.Descriptor().ParentFile().Package() != "chat.v1" {
			return true
		}
		msg := mt.New().Interface()
		if _, ok := msg.(messages.RoomEvent); !ok {
			others++
			system.Root.Send(relay, relayed(t, "dev", msg, ""))
			return true
		}
		events++
		if _, ok := msg.(*messages.Reply); ok { // a room's answer to a numbered request
			msg, _ = messages.NewReply(7, &messages.MemberList{Room: "dev"})
		}
		system.Root.Send(relay, relayed(t, "dev", msg, ""))
		if got := member.next(t).msg; proto.MessageName(got.(proto.Message)) != mt.Descriptor().FullName() {
			t.Errorf("sent a %s, the member got a %T", mt.Descriptor().FullName(), got)
		}
		return true
	})
	// A Reply that carries what no room sends (the registry's word on who
	// the member is) is not delivered either.
	forged, _ := messages.NewReply(7, &messages.Identified{Account: "root", AccountId: "a0"})
	system.Root.Send(relay, relayed(t, "dev", forged, ""))
	system.Root.Send(relay, relayed(t, "dev", &messages.Reply{RequestId: 7}, "")) // and one that carries nothing
	member.sync(t, relay)
	member.expectQuiet(t) // none of the others
	if events < 16 || others < 50 {
		t.Fatalf("%d room events and %d other messages: the registry is not what it seems", events, others)
	}
}
