package actors

import (
	"regexp"
	"strings"
	"testing"

	"github.com/actorchat/actorchat/internal/password"
	"github.com/actorchat/actorchat/internal/store"
)

// registered dials, takes nick and registers it.
func (s *testServer) registered(nick string) *lineConn {
	s.t.Helper()
	return s.registeredFrom(nick, "")
}

// registeredFrom is registered from a loopback address (see dialFrom).
func (s *testServer) registeredFrom(nick, local string) *lineConn {
	s.t.Helper()
	c := s.namedFrom(nick, local)
	c.send("/register " + nick + "'s password")
	c.expectPrefix("*** " + nick + " is registered to you.")
	return c
}

// testOperators is a test server's -admins: NAME's password is
// operPassword(NAME).
func testOperators(names ...string) *Admins {
	var ops []Operator
	for _, n := range names {
		ops = append(ops, Operator{Name: n, Hash: password.Hash(operPassword(n), password.Test)})
	}
	return NewAdmins(ops)
}

func operPassword(name string) string { return strings.ToLower(name) + "'s oper password" }

// opered dials, takes nick and becomes the operator nick with its
// password.
func (s *testServer) opered(nick string) *lineConn {
	s.t.Helper()
	c := s.named(nick)
	c.send("/oper " + nick + " " + operPassword(nick))
	c.expect("*** You are a server operator (" + strings.ToLower(nick) + "): /help lists what you may do.")
	return c
}

// expectIn asks /who and checks that c is in room.
func (c *lineConn) expectIn(room string) {
	c.t.Helper()
	c.send("/who")
	if line := c.line(); !regexp.MustCompile(`^\*\*\* \d+ in ` + room + `[:,]`).MatchString(line) {
		c.t.Fatalf("got %q, want the members of %s", line, room)
	}
}

// joinRoom has c join room and reads up to its join line.
func (c *lineConn) joinRoom(room string) {
	c.t.Helper()
	c.send("/join " + room)
	c.skipUntilPrefix("*** You are in room " + room + " ")
}

var untilRE = regexp.MustCompile(` until \d{4}-\d\d-\d\d \d\d:\d\dZ`)

// expectUntil reads a line that must be want once its " until TIME" is cut.
func (c *lineConn) expectUntil(want string) {
	c.t.Helper()
	got := c.line()
	if untilRE.ReplaceAllString(got, " until T") != want {
		c.t.Fatalf("got line %q, want %q (with T a time)", got, want)
	}
}

func TestModerationOwnerOpsKickBan(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	alice := s.registered("alice")
	alice.joinRoom("dev")
	alice.send("/claim")
	alice.expect("*** alice owns dev now")
	alice.send("/claim")
	alice.expect("!!! dev already has an owner: alice")

	bob := s.registered("bob")
	bob.joinRoom("dev")
	alice.expect("*** bob joined dev")
	carol := s.namedFrom("carol", "127.0.0.3")
	carol.joinRoom("dev")
	alice.expect("*** carol joined dev")
	bob.expect("*** carol joined dev")

	carol.send("/kick bob")
	carol.expect("!!! only the ops of dev may do that")
	bob.send("/op carol")
	bob.expect("!!! only the owner of dev may do that")
	alice.send("/op carol")
	alice.expect("!!! carol is not identified; ops must be registered users")
	alice.send("/op bob")
	for _, c := range []*lineConn{alice, bob, carol} {
		c.expect("*** alice made an op: bob")
	}

	bob.send("/kick alice")
	bob.expect("!!! you may not kick alice")
	bob.send("/kick carol spamming")
	carol.expect("*** You were kicked from dev by bob: spamming")
	carol.expectPrefix("*** You are in room lobby")
	alice.expect("*** carol was kicked by bob: spamming")
	bob.expect("*** carol was kicked by bob: spamming")

	// A kick is not a ban: carol comes back. A ban of a guest is by address.
	carol.joinRoom("dev")
	alice.expect("*** carol joined dev")
	bob.expect("*** carol joined dev")
	bob.send("/ban carol 1h flooding")
	carol.expect("*** You were banned from dev by bob: flooding")
	carol.expectPrefix("*** You are in room lobby")
	alice.expect("*** carol was banned by bob: flooding")
	bob.expect("*** carol was banned by bob: flooding")
	bob.expectUntil("*** Banned address 127.0.0.3/32 from dev until T.")
	carol.send("/join dev")
	carol.expectUntil("!!! you are banned from dev: flooding until T")
	carol.expectIn("lobby") // a refused join leaves her where she was, with no replay

	carol.send("/bans")
	carol.expect("!!! only the ops of lobby may do that") // carol is in the lobby: she asks the lobby
	bob.send("/bans")
	bob.expect("*** 1 banned from dev:")
	bob.expectUntil("***   address 127.0.0.3/32 by bob until T: flooding")
	bob.send("/unban 127.0.0.3")
	bob.expect("*** Lifted the ban of address 127.0.0.3/32 from dev.")
	carol.joinRoom("dev")

	alice.send("/deop bob")
	alice.skipUntil("*** alice took op from bob")
	bob.skipUntil("*** alice took op from bob")
	bob.send("/kick carol")
	bob.expect("!!! only the ops of dev may do that")
}

func TestModerationMuteTopicLockPrivate(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	alice := s.registered("alice")
	alice.joinRoom("dev")
	alice.send("/claim")
	alice.expect("*** alice owns dev now")
	bob := s.named("bob")
	bob.joinRoom("dev")
	alice.expect("*** bob joined dev")

	alice.send("/mute bob 10m")
	alice.expectUntil("*** alice muted bob until T")
	bob.expectUntil("*** alice muted bob until T")
	bob.send("can anyone hear me")
	bob.expectUntil("!!! not delivered to dev: you are muted here by alice until T")
	alice.send("/unmute bob")
	alice.expect("*** alice unmuted bob")
	bob.expect("*** alice unmuted bob")
	bob.send("I am back")
	alice.expect("<bob> I am back")

	alice.send("/topiclock on")
	alice.expect("*** alice locked the topic: only ops may change it")
	bob.expect("*** alice locked the topic: only ops may change it")
	bob.send("/topic mine now")
	bob.expect("!!! the topic of dev is locked: only its ops may change it")
	alice.send("/topic still alice's")
	alice.expect("*** alice set the topic: still alice's")
	bob.expect("*** alice set the topic: still alice's")

	alice.send("/private on")
	alice.expect("*** alice made dev invite-only")
	bob.expect("*** alice made dev invite-only")
	dave := s.named("dave")
	dave.send("/join dev")
	dave.expect("!!! dev is invite-only; ask one of its ops for an /invite")
	dave.expectIn("lobby")
	alice.send("/invite dave")
	alice.expect("*** dave (a guest, for this connection) may now join dev (the invitation lasts while the room is open).")
	dave.expect("*** alice invites you to dev: /join dev")
	dave.joinRoom("dev")
	bob.send("/private off")
	bob.skipUntil("!!! only the ops of dev may do that")

	// An invitation is for whom it names, not for the nick: a guest's
	// connection, an account.
	dave.send("/quit")
	dave.skipUntil("bye...")
	fake := s.named("dave")
	fake.send("/join dev")
	fake.expect("!!! dev is invite-only; ask one of its ops for an /invite")
	erin := s.registered("erin")
	erin.send("/quit")
	erin.skipUntil("bye...")
	alice.skipUntil("*** dave left (quit)")
	alice.send("/invite erin")
	alice.expect("*** the account erin may now join dev (the invitation lasts while the room is open).")
	erin, guest := s.dial()
	erin.send("/join dev")
	erin.expect("!!! dev is invite-only; ask one of its ops for an /invite")
	erin.send("/identify erin erin's password")
	erin.expect("*** You are identified as erin.")
	erin.expect("*** " + guest + " is now known as erin")
	erin.joinRoom("dev")
}

func TestModerationSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	db := openStoreDir(t, dir)
	s := startUnmanagedServer(t, withAccounts(db, func(c *Config) { c.Admins = testOperators("root") }))
	mallory := s.registered("mallory")
	mallory.send("/quit")
	mallory.skipUntil("bye...")
	var guest string
	alice := s.registered("alice")
	alice.joinRoom("dev")
	alice.send("/claim")
	alice.expect("*** alice owns dev now")
	alice.send("/ban mallory trolling")
	alice.expect("*** Banned account mallory from dev.")
	root := s.opered("root")
	root.send("/kline 192.0.2.0/24 2d botnet")
	root.expectUntil("*** K-lined 192.0.2.0/24 until T; 0 online from it disconnected.")
	if _, err := s.shutdown(); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	db = openStoreDir(t, dir)
	s = startServer(t, withAccounts(db, func(c *Config) { c.Admins = testOperators("root") }))
	mallory, guest = s.dial()
	mallory.send("/identify mallory mallory's password")
	mallory.expect("*** You are identified as mallory.")
	mallory.expect("*** " + guest + " is now known as mallory")
	mallory.send("/join dev")
	mallory.expect("!!! you are banned from dev: trolling")
	alice, _ = s.dial()
	alice.send("/identify alice alice's password")
	alice.expect("*** You are identified as alice.")
	alice.expect("*** Joining your rooms again: dev. (/rejoin off stops this.)") // they outlive the restart
	alice.skipUntilPrefix("*** You are in room dev ")                            // after the lobby's notice of her rename, if it came first
	alice.send("/bans")
	alice.expect("*** 1 banned from dev:")
	alice.expect("***   account mallory by alice: trolling")
	alice.send("/claim")
	alice.expect("!!! dev already has an owner: alice")
	root = s.named("root2")
	root.send("/oper root " + operPassword("root"))
	root.expect("*** You are a server operator (root): /help lists what you may do.")
	root.send("/klines")
	root.expect("*** 1 k-lined:")
	root.expectUntil("***   192.0.2.0/24 by root until T: botnet")
}

func TestServerOperators(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir()), func(c *Config) { c.Admins = testOperators("Root") }))
	root := s.opered("root")
	bob := s.named("bob")
	for !strings.HasSuffix(root.line(), " is now known as bob") {
	}
	bob.send("/wall hello")
	bob.expect("!!! only the server's operators may do that; /oper NAME first")
	if h := helpLists(bob); h["wall"] || h["claim"] || h["kick"] || !h["oper"] {
		t.Errorf("/help lists operator or room commands to a guest who is no operator: %v", h)
	}
	if h := helpLists(root); !h["wall"] || !h["kline"] {
		t.Errorf("/help of an operator: %v", h)
	}
	root.send("/wall maintenance at noon")
	root.expect("*** [wall] root: maintenance at noon")
	root.expect("*** Sent to 2 online.")
	bob.skipUntil("*** [wall] root: maintenance at noon")

	// An operator has every op power in every room.
	alice := s.registered("alice")
	alice.joinRoom("dev")
	alice.send("/claim")
	alice.expect("*** alice owns dev now")
	root.joinRoom("dev")
	root.send("/kick alice testing")
	alice.expect("*** root joined dev")
	alice.expect("*** You were kicked from dev by root: testing")

	root.skipUntil("*** alice was kicked by root: testing")
	root.send("/kill bob spamming")
	root.expect("*** bob is disconnected.")
	bob.skipUntil("*** You are disconnected by root: spamming")
	bob.expect("bye...")

	// K-lines are bounded: never loopback, never wider than the rules.
	for _, tc := range []struct{ target, want string }{
		{"127.0.0.0/8 1h testing", "!!! 127.0.0.0/8 covers loopback, which is never k-lined"},
		{"0.0.0.0/0", "!!! 0.0.0.0/0 covers loopback, which is never k-lined"},
		{"10.0.0.0/8", "!!! 10.0.0.0/8 is wider than the server allows for IPv4 (/16 at the widest; -kline-min-prefix changes it)"},
		{"2001:db8::/16", "!!! 2001::/16 is wider than the server allows for IPv6 (/32 at the widest; -kline-min-prefix6 changes it)"},
		{"::1", "!!! ::1/128 covers loopback, which is never k-lined"},
		{"192.0.2.0/24 1us typo", "!!! a duration is at least 1s (like 10m, 2h or 7d); leave it out for one that lasts until lifted"},
	} {
		root.send("/kline " + tc.target)
		root.expect(tc.want)
	}
	root.send("/kline 192.0.2.0/24 1h testing")
	root.expectUntil("*** K-lined 192.0.2.0/24 until T; 0 online from it disconnected.")
	root.send("/unkline 192.0.2.0/24")
	root.expect("*** Lifted the k-line of 192.0.2.0/24.")
	root.send("/klines")
	root.expect("*** No address is k-lined.")
}

// TestOperatorsNeedTheirPassword: an operator is who proves the -admins
// file's password, never who takes the operator's name: registering the
// nick, or the account, gives nothing. An operator removed from the set (a
// SIGHUP), or given a new password, loses the rights in every session.
func TestOperatorsNeedTheirPassword(t *testing.T) {
	admins := testOperators("root")
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir()), func(c *Config) { c.Admins = admins }))
	// A stranger takes the name root, as a nick and as an account.
	mallory := s.registered("root")
	for _, cmd := range []string{"/wall mine now", "/kill root", "/kline 192.0.2.0/24", "/klines"} {
		mallory.send(cmd)
		mallory.expect("!!! only the server's operators may do that; /oper NAME first")
	}
	mallory.send("/oper root guess")
	mallory.expect("!!! wrong operator name or password")
	mallory.send("/oper nobody guess")
	mallory.expect("!!! wrong operator name or password")
	mallory.joinRoom("dev")
	mallory.send("/claim")
	mallory.expect("*** root owns dev now")

	boss := s.named("boss")
	boss.send("/oper root " + operPassword("root"))
	boss.expect("*** You are a server operator (root): /help lists what you may do.")
	boss.send("/wall hello")
	boss.expect("*** [wall] boss: hello")
	boss.skipUntil("*** Sent to 2 online.")
	boss.joinRoom("dev")
	mallory.skipUntil("*** boss joined dev")
	// The owner of dev may not act against an operator; the operator
	// outranks the owner.
	mallory.send("/kick boss")
	mallory.expect("!!! you may not kick boss")
	boss.send("/kick root")
	mallory.expect("*** You were kicked from dev by boss")

	// A new password: the old one's sessions are operators no more.
	admins.Set([]Operator{{Name: "root", Hash: password.Hash("a new password", password.Test)}})
	boss.skipUntil("*** root was kicked by boss")
	boss.send("/wall again")
	boss.expect("!!! only the server's operators may do that; /oper NAME first")
	boss.send("/oper root a new password")
	boss.expect("*** You are a server operator (root): /help lists what you may do.")
	boss.send("/wall again")
	boss.expect("*** [wall] boss: again")
	boss.skipUntil("*** Sent to 2 online.")
	admins.Set(nil)
	boss.send("/wall gone")
	boss.expect("!!! only the server's operators may do that; /oper NAME first")
}

// TestOperatorsWithoutAStore: a server that keeps no accounts still has
// operators.
func TestOperatorsWithoutAStore(t *testing.T) {
	s := startServer(t, func(c *Config) { c.Admins = testOperators("root") })
	root := s.opered("root")
	root.send("/wall hello")
	root.expect("*** [wall] root: hello")
	root.expect("*** Sent to 1 online.")

	// The lobby's topic, which every newcomer reads, is the operators'.
	guest, _ := s.dial()
	guest.send("/topic buy cheap stuff")
	guest.expect("!!! the topic of lobby is locked: only the server's operators may change it")
	guest.send("/topiclock off")
	guest.expect("!!! only the ops of lobby may do that")
	root.send("/topiclock off")
	root.skipUntil("!!! the lobby's topic is always the operators' to set")
	root.send("/topic welcome")
	root.expect("*** root set the topic: welcome")
	guest.expect("*** root set the topic: welcome")
}

func TestSplitTarget(t *testing.T) {
	for _, tc := range []struct{ in, target, d, reason string }{
		{"bob", "bob", "0s", ""},
		{"bob 10m", "bob", "10m0s", ""},
		{"bob 1s", "bob", "1s", ""},
		{"bob 7d spam and more", "bob", "168h0m0s", "spam and more"},
		{"bob spam 10m", "bob", "0s", "spam 10m"},
		{"  10.0.0.0/8   2h  botnet ", "10.0.0.0/8", "2h0m0s", "botnet"},
	} {
		target, d, reason, err := splitTarget(tc.in)
		if err != nil || target != tc.target || d.String() != tc.d || reason != tc.reason {
			t.Errorf("%q: %q %v %q %v", tc.in, target, d, reason, err)
		}
	}
	// Under a second is a typo, and under a millisecond would be stored
	// as forever.
	for _, in := range []string{"bob 1us", "bob 999ms spam", "bob 0", "bob 0s", "bob 0d"} {
		if _, d, _, err := splitTarget(in); err == nil {
			t.Errorf("%q: taken as %v", in, d)
		}
	}
	if _, err := store.ParseAge("spam"); err == nil {
		t.Fatal("a word parsed as a duration")
	}
}

// FuzzModerationArgs: what follows /ban, /mute and /kline never panics the
// parsers, and an address range they accept covers what it says.
func FuzzModerationArgs(f *testing.F) {
	for _, s := range []string{"bob 10m spam", "10.0.0.0/8 2d", "::ffff:1.2.3.4/120", "2001:db8::/32 1h x", "bob -1h", "1.2.3.4/33", " 7d ", "bob 99999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, args string) {
		target, d, _, err := splitTarget(args)
		if d < 0 || (err == nil && d != 0 && d < minDuration) {
			t.Fatalf("%q: duration %v", args, d)
		}
		p, err := parsePrefix(target)
		if err != nil {
			return
		}
		if !p.IsValid() || p != p.Masked() || !p.Contains(p.Addr()) {
			t.Fatalf("%q: prefix %v", target, p)
		}
		if again, err := parsePrefix(p.String()); err != nil || again != p {
			t.Fatalf("%q: %v reads back as %v, %v", target, p, again, err)
		}
	})
}

// helpLists returns the command names /help lists to c.
func helpLists(c *lineConn) map[string]bool {
	c.t.Helper()
	c.send("/help")
	c.send("/whois nobody") // its answer ends the listing
	c.expectPrefix("*** Commands")
	names := map[string]bool{}
	for {
		line := c.line()
		if line == "!!! no such nick: nobody" {
			return names
		}
		names[strings.Fields(strings.TrimPrefix(line, "***   /"))[0]] = true
	}
}

// TestHelpFollowsTheRole: /help lists the room commands a member may use
// there, as its role changes.
func TestHelpFollowsTheRole(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	alice := s.registered("alice")
	alice.joinRoom("dev")
	if h := helpLists(alice); !h["claim"] || h["op"] || h["kick"] {
		t.Fatalf("the opener of an unowned room: %v", h)
	}
	alice.send("/claim")
	alice.expect("*** alice owns dev now")
	if h := helpLists(alice); h["claim"] || !h["op"] || !h["kick"] || !h["topiclock"] || h["wall"] {
		t.Fatalf("the owner: %v", h)
	}
	bob := s.registered("bob")
	bob.joinRoom("dev")
	alice.expect("*** bob joined dev")
	if h := helpLists(bob); h["claim"] || h["kick"] || !h["password"] {
		t.Fatalf("a member: %v", h)
	}
	alice.send("/op bob")
	alice.expect("*** alice made an op: bob")
	bob.expect("*** alice made an op: bob")
	if h := helpLists(bob); !h["kick"] || !h["ban"] || h["op"] || h["claim"] {
		t.Fatalf("an op: %v", h)
	}
}

// TestModerationBansAndMutesHold: what a room owner and its ops found
// leaking (issue 23). Each user has an address of its own (127.0.0.N).
func TestModerationBansAndMutesHold(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir()), func(c *Config) { c.Admins = testOperators("erin") }))
	alice := s.registeredFrom("alice", "127.0.0.2") // the owner
	alice.joinRoom("dev")
	alice.send("/claim")
	alice.expect("*** alice owns dev now")
	bob := s.registeredFrom("bob", "127.0.0.3") // an op
	bob.joinRoom("dev")
	alice.expect("*** bob joined dev")
	alice.send("/op bob")
	alice.expect("*** alice made an op: bob")
	bob.expect("*** alice made an op: bob")

	// Kicked, then banned by nick: the ban finds carol in the lobby, and is
	// by address (a guest); a range with NICK/BITS.
	carol := s.namedFrom("carol", "127.0.0.4")
	carol.joinRoom("dev")
	alice.expect("*** carol joined dev")
	bob.expect("*** carol joined dev")
	bob.send("/kick carol")
	carol.expect("*** You were kicked from dev by bob")
	carol.expectPrefix("*** You are in room lobby")
	alice.expect("*** carol was kicked by bob")
	bob.expect("*** carol was kicked by bob")
	bob.send("/ban carol")
	bob.expect("*** Banned address 127.0.0.4/32 from dev.")
	carol.send("/join dev")
	carol.expect("!!! you are banned from dev")
	bob.send("/ban carol/24")
	bob.expect("!!! 127.0.0.0/24 would ban you too (your address is in it); nothing was banned")
	bob.send("/ban nobody-at-all")
	bob.expect("!!! nobody online is called nobody-at-all, and no account has that name")

	// An identified user elsewhere is banned by account; with /BITS by
	// address too.
	dave := s.registeredFrom("dave", "127.0.1.5")
	alice.send("/ban dave/24 1h")
	alice.expectUntil("*** Banned account dave from dev until T.")
	alice.expectUntil("*** Banned address 127.0.1.0/24 from dev until T.")
	dave.send("/join dev")
	dave.expectUntil("!!! you are banned from dev until T")

	// The owner: no op bans it (by account, absent or not), no range an op
	// bans keeps it out, and it unbans from anywhere.
	alice.send("/leave")
	alice.skipUntilPrefix("*** You are in room lobby")
	bob.skipUntil("*** alice left dev")
	bob.send("/ban alice")
	bob.expect("!!! you may not ban alice")
	bob.send("/ban 127.0.0.2")
	bob.expect("*** Banned address 127.0.0.2/32 from dev.")
	alice.joinRoom("dev")
	bob.expect("*** alice joined dev")
	alice.send("/leave")
	alice.skipUntilPrefix("*** You are in room lobby")
	bob.skipUntil("*** alice left dev")
	alice.send("/bans dev")
	alice.expect("*** 4 banned from dev:")
	for range 4 {
		alice.expectPrefix("***   ")
	}
	alice.send("/unban dev carol") // a guest's ban is by address: not by this name
	alice.expect("!!! carol is not banned from dev; /bans lists the bans")
	alice.send("/unban dev 127.0.0.4")
	alice.expect("*** Lifted the ban of address 127.0.0.4/32 from dev.")
	carol.joinRoom("dev")
	bob.expect("*** carol joined dev")
	carol.send("/unban dev dave")
	carol.expect("!!! only the ops of dev may do that")

	// A mute: no chat, no action (answered at once, in order), no topic,
	// no announced rename; it follows carol out of the room and back in.
	bob.send("/mute carol")
	bob.expect("*** bob muted carol")
	carol.expect("*** bob muted carol")
	carol.send("/me waves")
	carol.send("/who")
	carol.expect("!!! not delivered to dev: you are muted here by bob")
	carol.expectPrefix("*** 2 in dev: ")
	carol.send("/topic mine")
	carol.expect("!!! you are muted here by bob")
	carol.send("/nick carla")
	carol.expect("*** carol is now known as carla")
	carol.send("/leave")
	carol.skipUntilPrefix("*** You are in room lobby")
	carol.joinRoom("dev")
	bob.expect("*** carla left dev") // her rename was not announced; her leave names her as she is
	bob.expect("*** carla joined dev")
	carol.send("still muted?")
	carol.expect("!!! not delivered to dev: you are muted here by bob")
	bob.send("/unmute carla")
	bob.expect("*** bob unmuted carla")
	carol.expect("*** bob unmuted carla")
	carol.send("free")
	bob.expect("<carla> free")

	// A guest's mute is by address, and holds guests only: an identified
	// user behind the same address speaks; a muted guest who identifies
	// stays muted, by account now.
	bob.send("/mute carla")
	bob.expect("*** bob muted carla")
	carol.expect("*** bob muted carla")
	erin := s.registeredFrom("erin", "127.0.0.4")
	erin.joinRoom("dev")
	bob.expect("*** erin joined dev")
	carol.expect("*** erin joined dev")
	erin.send("same address, my own voice")
	bob.expect("<erin> same address, my own voice")
	carol.expect("<erin> same address, my own voice")
	carol.send("/register carla's password")
	carol.expectPrefix("*** carla is registered to you.")
	carol.send("registered now")
	carol.expect("!!! not delivered to dev: you are muted here by bob")
	erin.send("/leave")
	erin.skipUntilPrefix("*** You are in room lobby")
	bob.expect("*** erin left dev")
	carol.expect("*** erin left dev")
	carol.send("/leave")
	carol.skipUntilPrefix("*** You are in room lobby")
	carol.joinRoom("dev")
	carol.send("still?")
	carol.skipUntil("!!! not delivered to dev: you are muted here by bob")

	// A server operator is never muted: a mute from before the /oper no
	// longer holds.
	erin.joinRoom("dev")
	bob.skipUntil("*** erin joined dev")
	bob.send("/mute erin")
	bob.expect("*** bob muted erin")
	erin.skipUntil("*** bob muted erin")
	erin.send("/oper erin " + operPassword("erin"))
	erin.expectPrefix("*** You are a server operator (erin)")
	erin.send("heard again")
	bob.skipUntil("<erin> heard again")
}
