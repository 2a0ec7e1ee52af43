package actors

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

// storedRoom starts a store actor on db and a room on it, with the server
// operators given.
func storedRoom(t *testing.T, system *actor.ActorSystem, db Store, admins *Admins) *actor.PID {
	t.Helper()
	st := startStoreActor(t, system, db, testStoreConfig(), testLogger(), NewMetrics())
	return supervised(t, system, newRoom("dev", 1, roomSettings{historyLen: 5, historyKeep: 5, store: st, admins: admins,
		loadTimeout: 2 * time.Second, logger: testLogger(), metrics: NewMetrics()}, nil), actor.ResumeDirective)
}

// TestRoomWithoutItsRulesStaysShut: a room whose bans and settings could
// not be loaded (the store is down) takes nobody new, and nobody may claim
// it; it asks again, and once they load it opens as they say. A banned user
// never gets in meanwhile.
func TestRoomWithoutItsRulesStaysShut(t *testing.T) {
	system := newTestSystem(t)
	db := openTestStore(t)
	ban := store.Entry{Room: "dev", Kind: entryBan, Subject: "address:192.0.2.0/24", Reason: "spam", By: "alice", At: time.Now()}
	private := store.Entry{Room: "dev", Kind: entryFlag, Subject: flagPrivate, By: "alice", At: time.Now()}
	if err := db.DB.Write(context.Background(), store.Batch{Entries: []store.EntryChange{{Entry: ban}, {Entry: private}}}); err != nil {
		t.Fatal(err)
	}
	db.setFailing(true)
	admins := testOperators("root")
	room := storedRoom(t, system, db, admins)
	banned, guest := newProbe(t, system), newProbe(t, system)
	banned.send(room, &messages.JoinRoom{Room: "dev", Nick: "spammer", Address: "192.0.2.9"})
	r := expect[*messages.CommandRejected](t, banned)
	if !strings.HasPrefix(r.GetReason(), "dev cannot be entered now: its bans and settings could not be loaded") {
		t.Fatalf("got %v", r)
	}
	// An operator may go in (its rights are not the room's), and cannot
	// claim the room while its owner is unknown.
	op := newProbe(t, system)
	root, _ := admins.lookup("root")
	op.send(room, &messages.JoinRoom{Room: "dev", Nick: "root", Operator: root.token(), AccountId: "a1", Account: "root"})
	expect[*messages.RoomJoined](t, op)
	op.send(room, &messages.Moderate{Action: messages.ModAction_MOD_ACTION_CLAIM})
	if r := expect[*messages.CommandRejected](t, op); !strings.HasPrefix(r.GetReason(), "dev cannot be claimed now") {
		t.Fatalf("got %v", r)
	}

	db.setFailing(false)
	testkit.Eventually(t, "the room to open", func() bool {
		guest.send(room, &messages.JoinRoom{Room: "dev", Nick: "guest", Address: "198.51.100.1"})
		r, ok := guest.next(t).msg.(*messages.CommandRejected)
		return ok && strings.Contains(r.GetReason(), "invite-only")
	})
	banned.send(room, &messages.JoinRoom{Room: "dev", Nick: "spammer", Address: "192.0.2.9"})
	if r := expect[*messages.CommandRejected](t, banned); r.GetReason() != "you are banned from dev: spam" {
		t.Fatalf("got %v", r)
	}
}

// TestRoomClaimHasOneWinner: two instances of one room (on two nodes, say,
// while the cluster reorganizes) that share a store: both openers claim,
// one owns it, the other is told who does.
func TestRoomClaimHasOneWinner(t *testing.T) {
	system := newTestSystem(t)
	db := openTestStore(t)
	first, second := storedRoom(t, system, db, nil), storedRoom(t, system, db, nil)
	alice, mallory := newProbe(t, system), newProbe(t, system)
	alice.send(first, &messages.JoinRoom{Room: "dev", Nick: "alice", Account: "alice", AccountId: "a1"})
	expect[*messages.RoomJoined](t, alice)
	mallory.send(second, &messages.JoinRoom{Room: "dev", Nick: "mallory", Account: "mallory", AccountId: "m1"})
	expect[*messages.RoomJoined](t, mallory)
	alice.send(first, &messages.Moderate{Action: messages.ModAction_MOD_ACTION_CLAIM})
	mallory.send(second, &messages.Moderate{Action: messages.ModAction_MOD_ACTION_CLAIM})
	won := 0
	for _, p := range []*probe{alice, mallory} {
		for {
			switch m := p.next(t).msg.(type) {
			case *messages.ServerNotice, *messages.RoleChanged:
				continue
			case *messages.Moderated:
				won++
			case *messages.CommandRejected:
				if !strings.HasPrefix(m.GetReason(), "dev already has an owner: ") {
					t.Fatalf("the loser was told %q", m.GetReason())
				}
			default:
				t.Fatalf("got %T %v", m, m)
			}
			break
		}
	}
	if won != 1 {
		t.Fatalf("%d claims took, want one", won)
	}
	entries, err := db.DB.Entries(context.Background(), "dev", time.Now())
	if err != nil || len(entries) != 1 || entries[0].Kind != entryOwner {
		t.Fatalf("stored %+v %v", entries, err)
	}
}

// TestRoomBansIPv6By64: a guest with an IPv6 address is banned by its /64,
// and so is a bare IPv6 address an op names; a range is taken as given.
func TestRoomBansIPv6By64(t *testing.T) {
	system := newTestSystem(t)
	admins := testOperators("root")
	root, _ := admins.lookup("root")
	room := supervised(t, system, newRoom("dev", 1, roomSettings{logger: testLogger(), metrics: NewMetrics(), admins: admins}, nil), actor.ResumeDirective)
	op, guest := newProbe(t, system), newProbe(t, system)
	op.send(room, &messages.JoinRoom{Room: "dev", Nick: "root", Operator: root.token()})
	expect[*messages.RoomJoined](t, op)
	guest.send(room, &messages.JoinRoom{Room: "dev", Nick: "guest", Address: "2001:db8:1:2::1"})
	expect[*messages.RoomJoined](t, guest)
	expect[*messages.MemberJoined](t, op)
	op.send(room, &messages.Moderate{Action: messages.ModAction_MOD_ACTION_BAN, Target: "guest"})
	expect[*messages.Kicked](t, guest)
	for {
		if m, ok := op.next(t).msg.(*messages.Moderated); ok {
			if got := m.GetLines()[0]; got != "Banned address 2001:db8:1:2::/64 from dev." {
				t.Fatalf("got %q", got)
			}
			break
		}
	}
	other := newProbe(t, system)
	other.send(room, &messages.JoinRoom{Room: "dev", Nick: "other", Address: "2001:db8:1:2:ffff::9"})
	if r := expect[*messages.CommandRejected](t, other); r.GetReason() != "you are banned from dev" {
		t.Fatalf("another address of the /64: %v", r)
	}
	op.send(room, &messages.Moderate{Action: messages.ModAction_MOD_ACTION_BAN, Target: "2001:db8:9::5"})
	if m := expect[*messages.Moderated](t, op); m.GetLines()[0] != "Banned address 2001:db8:9::/64 from dev." {
		t.Fatalf("got %v", m)
	}
	op.send(room, &messages.Moderate{Action: messages.ModAction_MOD_ACTION_BAN, Target: "2001:db8:a::/48"})
	if m := expect[*messages.Moderated](t, op); m.GetLines()[0] != "Banned address 2001:db8:a::/48 from dev." {
		t.Fatalf("got %v", m)
	}
}
