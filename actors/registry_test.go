package actors

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/faults/faultpb"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

func newTestRegistry(t *testing.T, system *actor.ActorSystem) *actor.PID {
	return supervised(t, system, newRegistry(registryDeps{logger: testLogger(), metrics: NewMetrics()}), actor.ResumeDirective)
}

// register makes p a registered connection and returns its guest nick.
func register(t *testing.T, p *probe, registry *actor.PID) string {
	t.Helper()
	p.send(registry, &messages.RegisterConnection{})
	return expect[*messages.ConnectionRegistered](t, p).GetNick()
}

// twoRegistered starts a registry with two registered probes, guest1 and
// guest2.
func twoRegistered(t *testing.T) (*actor.ActorSystem, *actor.PID, *probe, *probe) {
	t.Helper()
	system := newTestSystem(t)
	reg := newTestRegistry(t, system)
	a, b := newProbe(t, system), newProbe(t, system)
	register(t, a, reg)
	register(t, b, reg)
	return system, reg, a, b
}

func listUsers(t *testing.T, p *probe, registry *actor.PID) []string {
	t.Helper()
	p.send(registry, &messages.ListUsers{})
	var out []string
	for _, u := range expect[*messages.UserList](t, p).GetUsers() {
		out = append(out, u.GetNick()+"@"+u.GetRoom())
	}
	return out
}

func TestRegistryGuestNicksAreUnique(t *testing.T) {
	system := newTestSystem(t)
	reg := newTestRegistry(t, system)
	a, b := newProbe(t, system), newProbe(t, system)
	if got := register(t, a, reg); got != "guest1" {
		t.Errorf("first guest: got %q, want guest1", got)
	}
	if got := register(t, b, reg); got != "guest2" {
		t.Errorf("second guest: got %q, want guest2", got)
	}
	if got := register(t, a, reg); got != "guest1" {
		t.Errorf("repeated registration: got %q, want guest1 again", got)
	}
}

func TestRegistrySetNick(t *testing.T) {
	_, reg, a, b := twoRegistered(t)

	a.send(reg, &messages.SetNick{Nick: "alice"})
	changed := expect[*messages.NickChanged](t, a)
	if changed.GetOldNick() != "guest1" || changed.GetNewNick() != "alice" {
		t.Errorf("got %v, want guest1 -> alice", changed)
	}

	rejections := []struct {
		nick, reason string
	}{
		{"ALICE", "nick ALICE is taken"},
		{"guest7", "nicks like guest7 are reserved for guests"},
		{"Guest12", "nicks like Guest12 are reserved for guests"},
		{"bad nick", "a nick may only use letters, digits and the characters . _ -"},
		{"waytoolongnicknameforthis", "a nick has 1 to 20 characters"},
		{"", "a nick has 1 to 20 characters"},
	}
	for _, r := range rejections {
		b.send(reg, &messages.SetNick{Nick: r.nick})
		got := expect[*messages.CommandRejected](t, b)
		if got.GetReason() != r.reason || got.GetRequest() != messages.Request_REQUEST_NICK {
			t.Errorf("SetNick(%q): got %q (%s), want %q (REQUEST_NICK)", r.nick, got.GetReason(), got.GetRequest(), r.reason)
		}
	}

	// guest is fine, and so is a change of case of one's own nick.
	b.send(reg, &messages.SetNick{Nick: "guest"})
	expect[*messages.NickChanged](t, b)
	a.send(reg, &messages.SetNick{Nick: "Alice"})
	if got := expect[*messages.NickChanged](t, a); got.GetNewNick() != "Alice" {
		t.Errorf("case change: got %v", got)
	}
	if got, want := listUsers(t, a, reg), []string{"Alice@", "guest@"}; !slices.Equal(got, want) {
		t.Errorf("users: got %v, want %v", got, want)
	}
}

// TestRegistryNickRace has many connections race for one free nick: exactly
// one wins.
func TestRegistryNickRace(t *testing.T) {
	system := newTestSystem(t)
	reg := newTestRegistry(t, system)
	const racers = 20
	probes := make([]*probe, racers)
	for i := range probes {
		probes[i] = newProbe(t, system)
		register(t, probes[i], reg)
	}
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Go(func() { p.send(reg, &messages.SetNick{Nick: "winner"}) })
	}
	wg.Wait()
	wins := 0
	for _, p := range probes {
		switch m := p.next(t).msg.(type) {
		case *messages.NickChanged:
			wins++
		case *messages.CommandRejected:
			if m.GetReason() != "nick winner is taken" {
				t.Errorf("rejection: got %q", m.GetReason())
			}
		default:
			t.Fatalf("got %T", m)
		}
	}
	if wins != 1 {
		t.Errorf("got %d winners, want exactly 1", wins)
	}
}

func TestRegistryFreesNickWhenConnectionStops(t *testing.T) {
	system, reg, a, b := twoRegistered(t)
	a.send(reg, &messages.SetNick{Nick: "alice"})
	expect[*messages.NickChanged](t, a)

	// The connections supervisor reports every connection that stopped; one
	// that did not unregister is forgotten then.
	system.Root.Stop(a.pid)
	system.Root.Send(reg, &messages.ConnectionGone{MemberId: a.member})
	testkit.Eventually(t, "alice to be forgotten", func() bool {
		return slices.Equal(listUsers(t, b, reg), []string{"guest2@"})
	})
	b.send(reg, &messages.SetNick{Nick: "alice"})
	expect[*messages.NickChanged](t, b)
}

func TestRegistryPrivateMessages(t *testing.T) {
	_, reg, a, b := twoRegistered(t)
	b.send(reg, &messages.SetNick{Nick: "bob"})
	expect[*messages.NickChanged](t, b)

	a.send(reg, &messages.SendPrivateMessage{ToNick: "BOB", Text: "psst"})
	got := expect[*messages.PrivateMessageReceived](t, b)
	if got.GetFromNick() != "guest1" || got.GetFromMemberId() != a.member || got.GetText() != "psst" {
		t.Errorf("delivered %v", got)
	}
	if sent := expect[*messages.PrivateMessageSent](t, a); sent.GetToNick() != "bob" {
		t.Errorf("confirmation %v, want to bob", sent)
	}

	// By member id (what /reply uses), the target's rename does not matter.
	b.send(reg, &messages.SetNick{Nick: "robert"})
	expect[*messages.NickChanged](t, b)
	a.send(reg, &messages.SendPrivateMessage{ToNick: "bob", ToMemberId: b.member, Text: "still you?"})
	expect[*messages.PrivateMessageReceived](t, b)
	if sent := expect[*messages.PrivateMessageSent](t, a); sent.GetToNick() != "robert" {
		t.Errorf("confirmation %v, want to robert", sent)
	}

	a.send(reg, &messages.SendPrivateMessage{ToNick: "nobody", Text: "hello?"})
	if r := expect[*messages.CommandRejected](t, a); r.GetReason() != "no such nick: nobody" {
		t.Errorf("got %q", r.GetReason())
	}
	b.sync(t, reg)
	b.expectQuiet(t)
}

// TestRegistryKeepsStateAcrossPanic injects a panic: the registry is resumed
// by its supervisor and loses no nick.
func TestRegistryKeepsStateAcrossPanic(t *testing.T) {
	system := newTestSystem(t)
	reg := newTestRegistry(t, system)
	probes := make([]*probe, 3)
	for i := range probes {
		probes[i] = newProbe(t, system)
		register(t, probes[i], reg)
		probes[i].send(reg, &messages.UserMoved{Room: "lobby"})
	}
	probes[0].send(reg, &messages.SetNick{Nick: "alice"})
	expect[*messages.NickChanged](t, probes[0])
	before := listUsers(t, probes[0], reg)

	system.Root.Send(reg, &faultpb.InjectFault{Reason: "test"})

	if got := listUsers(t, probes[0], reg); !slices.Equal(got, before) {
		t.Errorf("after panic: got %v, want %v", got, before)
	}
	probes[1].send(reg, &messages.SetNick{Nick: "alice"})
	if r := expect[*messages.CommandRejected](t, probes[1]); r.GetReason() != "nick alice is taken" {
		t.Errorf("after panic: got %q, want alice still taken", r.GetReason())
	}
	p := newProbe(t, system)
	if got := register(t, p, reg); got != fmt.Sprintf("guest%d", len(probes)+1) {
		t.Errorf("after panic: new guest %q, want the count to go on", got)
	}
}

// TestRegistryUnregisterFreesNickAtOnce: a stopping connection's goodbye
// frees its nick before anything it sends afterwards can be seen.
func TestRegistryUnregisterFreesNickAtOnce(t *testing.T) {
	_, reg, a, b := twoRegistered(t)
	a.send(reg, &messages.SetNick{Nick: "alice"})
	expect[*messages.NickChanged](t, a)
	a.send(reg, &messages.UnregisterConnection{})
	b.send(reg, &messages.SetNick{Nick: "alice"}) // queued behind the goodbye
	expect[*messages.NickChanged](t, b)
}

// TestRegistryWhowas: who left a nick, or was renamed from it, is kept for
// WHOWAS, newest first, and only the last maxWhowas of them (the memory is
// bounded however many come and go).
func TestRegistryWhowas(t *testing.T) {
	system, reg, a, b := twoRegistered(t)
	whowas := func(nick string, count int32) []*messages.WhowasEntry {
		t.Helper()
		b.send(reg, &messages.WhowasUser{Nick: nick, Count: count})
		return expect[*messages.WhowasList](t, b).GetEntries()
	}
	a.send(reg, &messages.SetNick{Nick: "alice"})
	expect[*messages.NickChanged](t, a)
	if got := whowas("GUEST1", 0); len(got) != 1 || got[0].GetNick() != "guest1" {
		t.Fatalf("whowas guest1: %v", got)
	}
	a.send(reg, &messages.UnregisterConnection{})
	c := newProbe(t, system)
	c.send(reg, &messages.RegisterConnection{Username: "~al", Realname: "Al"})
	expect[*messages.ConnectionRegistered](t, c)
	c.send(reg, &messages.SetNick{Nick: "alice"})
	expect[*messages.NickChanged](t, c)
	c.send(reg, &messages.UnregisterConnection{})
	got := whowas("alice", 0)
	if len(got) != 2 || got[0].GetUsername() != "~al" || got[0].GetRealname() != "Al" || got[1].GetUsername() != "" {
		t.Fatalf("whowas alice: %v, want the IRC user first, then the first alice", got)
	}
	if got := whowas("alice", 1); len(got) != 1 || got[0].GetUsername() != "~al" {
		t.Fatalf("whowas alice 1: %v", got)
	}
	for range maxWhowas {
		p := newProbe(t, system)
		register(t, p, reg)
		p.send(reg, &messages.UnregisterConnection{})
	}
	if got := whowas("alice", 0); len(got) != 0 {
		t.Fatalf("whowas alice after %d others left: %v, want it forgotten", maxWhowas, got)
	}
}
