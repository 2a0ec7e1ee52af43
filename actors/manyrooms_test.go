package actors

import (
	"testing"
)

// TestManyRooms: a user is in several rooms at once. /join adds a room and
// makes it the current one; lines typed go to the current room; lines of
// the others are marked with their room; /focus changes the current room;
// /part leaves one, and a user in none is back in the lobby.
func TestManyRooms(t *testing.T) {
	s := startServer(t, nil)
	bob := s.named("bob")
	bob.joinRoom("dev")
	carol := s.named("carol")
	carol.joinRoom("ops")
	alice := s.named("alice")

	// From the lobby alone, /join moves: the lobby is left.
	alice.joinRoom("dev")
	bob.expect("*** alice joined dev")
	alice.expectIn("dev")
	// A second room is added: alice stays in dev.
	alice.joinRoom("ops")
	carol.expect("*** alice joined ops")
	bob.send("/who")
	bob.expect("*** 2 in dev: alice, bob")

	// Lines go to the current room; the other room's are marked.
	alice.send("hello ops")
	carol.expect("<alice> hello ops")
	bob.send("hi from dev")
	alice.expect("[dev] <bob> hi from dev")
	carol.send("ops line")
	alice.expect("<carol> ops line")

	// /focus changes where lines go, and which room is marked.
	alice.send("/focus dev")
	alice.expect("*** You are now talking in dev.")
	alice.send("back in dev")
	bob.expect("<alice> back in dev")
	carol.send("ops again")
	alice.expect("[ops] <carol> ops again")
	alice.send("/f")
	alice.expect("*** You are in 2 rooms: dev (current), ops. /focus ROOM changes where your lines go.")
	alice.send("/who")
	alice.expect("*** 2 in dev: alice, bob")

	// Others see every room of hers; /rooms marks hers.
	bob.send("/whois alice")
	bob.expectPrefix("*** alice is in dev and ops, connected since ")
	bob.send("/users alice")
	bob.expect("*** 3 online, 1 matching:")
	bob.expect("***   alice in dev and ops")
	alice.send("/rooms")
	alice.expect("*** 3 rooms:")
	alice.expect("*** * dev (2)")
	alice.expectPrefix("***   lobby (")
	alice.expect("*** + ops (2)")

	// A topic of the other room is marked with it.
	carol.send("/topic ops stuff")
	carol.expect("*** carol set the topic: ops stuff")
	alice.expect("[ops] *** carol set the topic: ops stuff")

	// Her own rename shows once, from the current room; each room hears it.
	alice.send("/nick alice2")
	alice.expect("*** alice is now known as alice2")
	bob.expect("*** alice is now known as alice2")
	carol.expect("*** alice is now known as alice2")
	alice.send("/focus ops")
	alice.expect("*** You are now talking in ops.")
	alice.send("/who") // ops's rename came before its answer, and was not shown
	alice.expect("*** 2 in ops: alice2, carol")

	// Another's quit is marked with the room it is seen in.
	dave := s.named("dave")
	dave.joinRoom("dev")
	bob.expect("*** dave joined dev")
	alice.expect("*** dave joined dev") // a join names its room
	dave.send("/quit gone")
	alice.expect("[dev] *** dave left (quit: gone)")
	bob.expect("*** dave left (quit: gone)")

	// /part ROOM leaves one room; /part the current one, and the next
	// most recent becomes current; in none, she is back in the lobby.
	alice.send("/part dev")
	alice.expect("*** You left dev.")
	bob.expect("*** alice2 left dev")
	alice.send("/join dev")
	alice.skipUntilPrefix("*** You are in room dev ")
	bob.expect("*** alice2 joined dev")
	alice.send("/part")
	alice.skipUntil("*** You left dev; you are now talking in ops.") // after dev's history
	bob.expect("*** alice2 left dev")
	alice.send("/part bogus")
	alice.expect("!!! you are not in bogus")
	alice.send("/part ops")
	carol.expect("*** alice2 left ops")
	alice.expectPrefix("*** You are in room lobby with ")
	alice.send("/part")
	alice.expect("!!! you are already in lobby")

	// A quit leaves every room.
	alice.joinRoom("dev")
	bob.expect("*** alice2 joined dev")
	alice.joinRoom("ops")
	carol.expect("*** alice2 joined ops")
	alice.send("/quit")
	bob.expect("*** alice2 left (quit)")
	carol.expect("*** alice2 left (quit)")
}

// TestManyRoomsLimit: a user is in at most -max-rooms rooms (the lobby
// alone, which the first join leaves, does not count); a room they are in
// may always be focused.
func TestManyRoomsLimit(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MaxRoomsPerUser = 2 })
	alice := s.named("alice")
	alice.joinRoom("a")
	alice.joinRoom("b")
	alice.send("/join c")
	alice.expect("!!! you are in 2 rooms, the most one user may be in; /part ROOM first")
	alice.send("/join a")
	alice.expect("*** You are now talking in a.")
	alice.send("/part b")
	alice.expect("*** You left b.")
	alice.joinRoom("c")
	alice.send("/f")
	alice.expect("*** You are in 2 rooms: c (current), a. /focus ROOM changes where your lines go.")
}

// TestManyRoomsKickedFromOne: a user kicked from a room that is not their
// current one stays where they talk; kicked from the current one, the next
// becomes current. Neither sends them to the lobby.
func TestManyRoomsKickedFromOne(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	olga := s.registered("olga")
	olga.joinRoom("dev")
	olga.send("/claim")
	olga.expect("*** olga owns dev now")
	alice := s.named("alice")
	alice.joinRoom("dev")
	olga.expect("*** alice joined dev")
	alice.joinRoom("ops")
	alice.joinRoom("web") // current: web

	olga.send("/kick alice off topic")
	alice.expect("*** You were kicked from dev by olga: off topic")
	olga.expect("*** alice was kicked by olga: off topic")
	alice.send("/f")
	alice.expect("*** You are in 2 rooms: web (current), ops. /focus ROOM changes where your lines go.")

	alice.joinRoom("dev")
	olga.expect("*** alice joined dev")
	olga.send("/kick alice again")
	alice.expect("*** You were kicked from dev by olga: again")
	alice.expect("*** You are now talking in web.")
	olga.expect("*** alice was kicked by olga: again")

	// The room's notices about a room that is not hers are marked.
	alice.joinRoom("dev")
	olga.expect("*** alice joined dev")
	alice.send("/focus web")
	alice.expect("*** You are now talking in web.")
	olga.send("/private on")
	olga.expect("*** olga made dev invite-only")
	alice.expect("[dev] *** olga made dev invite-only")
}

// TestManyRoomsRejoin: a registered user's rooms come back when they
// identify again, the current one current again, unless they turned it
// off; a room that will not have them any more says why, and the others
// still come.
func TestManyRoomsRejoin(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	olga := s.registered("olga")
	olga.joinRoom("vip")
	olga.send("/claim")
	olga.expect("*** olga owns vip now")
	olga.send("/private on")
	olga.expect("*** olga made vip invite-only")
	alice := s.registered("alice")
	olga.send("/invite alice")
	olga.expectPrefix("*** the account alice may now join vip")
	alice.skipUntil("*** olga invites you to vip: /join vip")
	alice.joinRoom("vip")
	olga.expect("*** alice joined vip")
	alice.joinRoom("dev")
	alice.joinRoom("ops")
	alice.send("/focus dev")
	alice.expect("*** You are now talking in dev.")
	alice.send("/quit")
	alice.skipUntil("bye...")
	olga.expect("*** alice left (quit)")
	olga.send("/ban alice")
	olga.expectPrefix("*** Banned account alice from vip")

	again := s.named("alice2")
	again.send("/identify alice alice's password")
	again.expect("*** You are identified as alice.")
	again.expect("*** Joining your rooms again: dev, ops, vip. (/rejoin off stops this.)")
	// vip first (the list is joined from the last), which refuses her now,
	// then ops, then dev, which is current again.
	again.skipUntilPrefix("!!! you are banned from vip")
	again.skipUntilPrefix("*** You are in room ops ")
	again.skipUntilPrefix("*** You are in room dev ")
	again.send("/f")
	again.skipUntil("*** You are in 2 rooms: dev (current), ops. /focus ROOM changes where your lines go.")

	// Off: the next identify leaves the rooms as they are.
	again.send("/rejoin off")
	again.expect("*** Your rooms do not come back when you identify; you stay where you are.")
	again.send("/quit")
	again.skipUntil("bye...")
	third := s.named("alice3")
	third.send("/identify alice alice's password")
	third.expect("*** You are identified as alice.")
	third.send("/f")
	third.skipUntil("*** You are in lobby.") // after the lobby's notice of her rename
	third.send("/rejoin")
	third.expect("*** Your rooms do not come back when you identify; you stay where you are.")
	third.send("/rejoin maybe")
	third.expect("!!! usage: /rejoin [on|off]")
	guest, _ := s.dial()
	guest.send("/rejoin on")
	guest.expect("!!! you are not identified: /identify first")
}
