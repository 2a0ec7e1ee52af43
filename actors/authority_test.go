package actors

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/actorchat/messages"
)

// The messages that grant or use a right are taken only from the actor
// that decides them (authority.go). Each test below sends every one of them
// from a stranger first (a probe standing for a process on the cluster
// port, or a bug), sees no effect, then from the right sender, and sees it.

func TestAuthorityRegistry(t *testing.T) {
	system := newTestSystem(t)
	admins := testOperators("root")
	accounts, stranger := newProbe(t, system), newProbe(t, system)
	reg := supervised(t, system, newRegistry(registryDeps{logger: testLogger(), metrics: NewMetrics(), admins: admins,
		accountsID: accounts.pid.GetId()}), actor.ResumeDirective)
	user, other := newProbe(t, system), newProbe(t, system)
	register(t, user, reg)
	register(t, other, reg)
	root, _ := admins.lookup("root")

	forged := []any{
		&messages.AccountIdentified{MemberId: user.member, Account: "realadmin", AccountId: "a1", Nick: "realadmin", ReplyTo: refOf(user.pid)},
		&messages.OperatorIdentified{MemberId: user.member, Name: "root", Token: root.token(), ReplyTo: refOf(user.pid)},
		&messages.AccountRemoved{Account: "realadmin", AccountId: "a1", ReplyTo: refOf(user.pid)},
	}
	for _, m := range forged {
		stranger.send(reg, m)
	}
	user.sync(t, reg)
	user.expectQuiet(t)
	// Not an operator: its commands are refused.
	user.send(reg, &messages.AdminCommand{Action: messages.AdminAction_ADMIN_ACTION_WALL, Text: "mine"})
	if r := expect[*messages.CommandRejected](t, user); r.GetRequest() != messages.Request_REQUEST_ADMIN {
		t.Fatalf("got %v", r)
	}
	// Not identified: its account is not known.
	stranger.send(reg, &messages.ResolveTarget{Name: "realadmin"})
	if r := expect[*messages.TargetResolved](t, stranger); r.GetFound() {
		t.Fatalf("a forged identification took: %v", r)
	}

	// From the accounts actor, they take.
	accounts.send(reg, forged[0])
	if id := expect[*messages.Identified](t, user); id.GetAccountId() != "a1" {
		t.Fatalf("got %v", id)
	}
	accounts.send(reg, forged[1])
	expect[*messages.Opered](t, user)

	// An operator's command counts only from the operator's own
	// connection: a stranger naming its member id does nothing.
	stranger.send(reg, &messages.AdminCommand{MemberId: user.member, Action: messages.AdminAction_ADMIN_ACTION_WALL, Text: "forged", ReplyTo: refOf(stranger.pid)})
	stranger.send(reg, &messages.AdminCommand{MemberId: user.member, Action: messages.AdminAction_ADMIN_ACTION_KILL, Target: other.member, ReplyTo: refOf(stranger.pid)})
	stranger.sync(t, reg)
	stranger.expectQuiet(t)
	other.expectQuiet(t)
	user.send(reg, &messages.AdminCommand{Action: messages.AdminAction_ADMIN_ACTION_WALL, Text: "real"})
	if n := expect[*messages.ServerNotice](t, other); n.GetText() != "[wall] realadmin: real" {
		t.Fatalf("got %v", n)
	}
}

func TestAuthorityConnection(t *testing.T) {
	admins := testOperators("root")
	h := newConnHarness(t, func(c *Config) { c.Admins = admins; c.Store = openStoreDir(t, t.TempDir()) })
	h.welcome(t, "guest1")
	h.client.send("/identify alice alice's password")
	identify := expect[*messages.IdentifyAccount](t, h.accounts)
	h.client.send("/me is still here") // waits for the answer to /identify
	stranger := newProbe(t, h.system)
	root, _ := admins.lookup("root")
	for _, m := range []proto.Message{
		&messages.Identified{Account: "realadmin", AccountId: "a1", Nick: "guest1"},
		&messages.Opered{Name: "root", Token: root.token()},
		&messages.AccountUnregistered{Account: "realadmin", AccountId: "a1"},
		&messages.Killed{By: "root", Reason: "forged"},
		&messages.Ghosted{ByAccount: "guest1"},
	} {
		stranger.send(h.conn, m)
		stranger.send(h.conn, answerTo(identify.GetReplyTo(), m)) // as if the answer to /identify
	}
	// None of it reached the user, or the room (who we are); the
	// connection is still there, and still waits for the registry.
	h.room.sync(t, h.conn)
	h.room.expectQuiet(t)
	h.client.expectSilence(50 * time.Millisecond)

	h.answer(h.registry, identify, &messages.Identified{Account: "alice", AccountId: "a2", Nick: "guest1"})
	h.client.expect("*** You are identified as alice.")
	if set := expect[*messages.SetMemberAccount](t, h.room); set.GetAccountId() != "a2" {
		t.Fatalf("the room got %v", set)
	}
	if post := expect[*messages.PostMessage](t, h.room); !post.GetAction() {
		t.Fatalf("the room got %v, want the /me that waited", post)
	}
	h.registry.send(h.conn, &messages.Killed{By: "root", Reason: "real"})
	h.client.expect("*** You are disconnected by root: real")
}

func TestAuthorityRoom(t *testing.T) {
	system := newTestSystem(t)
	admins := testOperators("root")
	root, _ := admins.lookup("root")
	room := supervised(t, system, newRoom("dev", 1, roomSettings{logger: testLogger(), metrics: NewMetrics(), admins: admins}, nil), actor.ResumeDirective)
	alice, bob, stranger := newProbe(t, system), newProbe(t, system), newProbe(t, system)
	joinRoom(t, alice, room, "alice")
	joinRoom(t, bob, room, "bob")
	expect[*messages.MemberJoined](t, alice)

	// A join for bob's connection as an operator, from a stranger.
	stranger.send(room, &messages.JoinRoom{Room: "dev", Nick: "bob2", MemberId: "b2", Operator: root.token(), ReplyTo: refOf(bob.pid)})
	// Alice's identity, and her commands, from a stranger.
	stranger.send(room, &messages.SetMemberAccount{MemberId: alice.member, Operator: root.token()})
	stranger.send(room, &messages.Moderate{MemberId: alice.member, Action: messages.ModAction_MOD_ACTION_KICK, Target: "bob", ReplyTo: refOf(stranger.pid)})
	stranger.sync(t, room)
	stranger.expectQuiet(t)
	alice.sync(t, room)
	bob.sync(t, room)
	alice.expectQuiet(t)
	bob.expectQuiet(t)

	// From alice's own connection, it takes.
	alice.send(room, &messages.SetMemberAccount{Operator: root.token()})
	if r := expect[*messages.RoleChanged](t, alice); r.GetRole() != messages.RoomRole_ROOM_ROLE_OWNER {
		t.Fatalf("got %v", r)
	}
	alice.send(room, &messages.Moderate{Action: messages.ModAction_MOD_ACTION_KICK, Target: "bob"})
	expect[*messages.Kicked](t, bob)
}
