package actors

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/actorchat/actorchat/internal/password"
	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/internal/telnet"
	"github.com/actorchat/actorchat/internal/testkit"
)

// sendRaw writes bytes as they are (telnet commands).
func (c *lineConn) sendRaw(b string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
	if _, err := c.conn.Write([]byte(b)); err != nil {
		c.t.Fatalf("send %q: %v", b, err)
	}
}

// expectRaw reads exactly len(want) bytes, which must be want.
func (c *lineConn) expectRaw(want string) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c.r, got); err != nil || string(got) != want {
		c.t.Fatalf("got %q (%v), want %q", got, err, want)
	}
}

// withAccounts gives a server the embedded store in dir and cheap password
// hashing.
func withAccounts(db *store.DB, more ...func(*Config)) func(*Config) {
	return func(c *Config) {
		c.Store = db
		c.PasswordHash = password.Test
		for _, m := range more {
			m(c)
		}
	}
}

// named dials and takes nick.
func (s *testServer) named(nick string) *lineConn {
	s.t.Helper()
	return s.namedFrom(nick, "")
}

// namedFrom dials from a loopback address (see dialFrom) and takes nick.
func (s *testServer) namedFrom(nick, local string) *lineConn {
	s.t.Helper()
	c, guest := s.dialFrom(local)
	c.send("/nick " + nick)
	c.expect("*** " + guest + " is now known as " + nick)
	return c
}

func TestAccountRegisterAndIdentify(t *testing.T) {
	dir := t.TempDir()
	db := openStoreDir(t, dir)
	s := startUnmanagedServer(t, withAccounts(db))
	a := s.named("Alice")
	a.send("/register short")
	a.expect("!!! a password has 8 to 256 characters; nothing was registered")
	a.send("/register correct horse")
	a.expect("*** Alice is registered to you. Next time: /identify, or /identify Alice PASSWORD from another nick.")
	a.send("/register again please")
	a.expect("!!! Alice is registered already, and you are identified as it")
	a.send("/quit")
	a.skipUntil("bye...")

	b, guest := s.dial()
	b.send("/nick alice") // any case
	b.expect("!!! alice is a registered nick; if it is yours: /identify alice PASSWORD")
	b.send("/identify alice wrong horse")
	b.expect("!!! wrong account or password")
	b.send("/identify nobody wrong horse") // the same answer: nobody learns who is registered
	b.expect("!!! wrong account or password")
	b.send("/identify alice correct horse")
	b.expect("*** You are identified as alice.")
	b.expect("*** " + guest + " is now known as Alice") // the account's nick, as registered
	b.send("/who")
	b.expect("*** 1 in lobby: Alice")

	// The account outlives a restart.
	if _, err := s.shutdown(); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	db = openStoreDir(t, dir)
	s = startServer(t, withAccounts(db))
	c, _ := s.dial()
	c.send("/nick ALICE")
	c.expect("!!! ALICE is a registered nick; if it is yours: /identify ALICE PASSWORD")
	c.send("/identify Alice correct horse")
	c.expect("*** You are identified as alice.")
	c.expectPrefix("*** guest")
}

func TestAccountPasswordPromptHidesInput(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	c := s.named("bob")
	// A telnet client: it answers the server's offer (and so has negotiated).
	c.sendRaw("\xff\xfb\x00")
	c.send("/whois nobody") // a round trip: the negotiation has been read
	c.skipUntil("!!! no such nick: nobody")
	c.send("/register")
	c.expectRaw(telnet.WillEcho + "*** Choose a password for bob, 8 to 256 characters (not shown as you type; an empty line cancels):\r\n")
	c.sendRaw("\xff\xfd\x01") // the client agrees: DO ECHO, which gets no answer
	c.send("hidden password")
	c.expect("*** Type it again (not shown as you type; an empty line cancels):")
	c.send("hidden password")
	c.expectRaw(telnet.WontEcho + "\r\n")
	c.expect("*** bob is registered to you. Next time: /identify, or /identify bob PASSWORD from another nick.")
	// Nothing the user typed was sent back, and echo is back on.
	c.send("/motd")
	c.expectPrefix("*** ")

	// An empty line cancels.
	c.send("/password")
	c.expectRaw(telnet.WillEcho + "*** Your password now (not shown as you type; an empty line cancels):\r\n")
	c.send("")
	c.expectRaw(telnet.WontEcho + "\r\n")
	c.expect("*** Cancelled.")
	c.send("hello") // chat again, not an answer
}

func TestAccountPromptWithoutTelnet(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	c := s.named("carol")
	// nc never negotiates: no telnet bytes, and the prompt says nothing of
	// hiding.
	c.send("/register")
	c.expect("*** Choose a password for carol, 8 to 256 characters (an empty line cancels):")
	c.send("password one")
	c.expect("*** Type it again (an empty line cancels):")
	c.send("password two")
	c.expect("!!! the two passwords differ; nothing was registered")
	c.send("/identify")
	c.expect("*** Password for carol (an empty line cancels):")
	c.send("password one")
	c.expect("!!! wrong account or password")
}

func TestAccountThrottling(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir()), func(c *Config) {
		c.AuthFailBurst, c.AuthFailEvery = 2, time.Hour
	}))
	a := s.named("dave")
	a.send("/register right password")
	a.expectPrefix("*** dave is registered")
	a.send("/quit")
	a.skipUntil("bye...")

	b, _ := s.dial()
	for range 2 {
		b.send("/identify dave wrong password")
		b.expect("!!! wrong account or password")
	}
	// Limited: even the right password is not checked.
	b.send("/identify dave right password")
	b.expect("!!! too many failed attempts; try again in 1h0m0s")
	// The address is limited too, whatever the account.
	b.send("/identify someone else")
	b.expect("!!! too many failed attempts; try again in 1h0m0s")
}

func TestAccountGhost(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	stale := s.named("erin")
	stale.send("/register erin's password")
	stale.expectPrefix("*** erin is registered")

	fresh, guest := s.dial()
	stale.expect("*** " + guest + " joined lobby")
	fresh.send("/ghost erin")
	fresh.expect("!!! you can only /ghost the nick of your own account; /identify erin PASSWORD first")
	fresh.send("/identify erin erin's password")
	fresh.expect("*** You are identified as erin.")
	fresh.expect("*** Another session is using erin: /ghost erin disconnects it; then /nick erin.")
	fresh.send("/ghost erin")
	fresh.expect("*** The other session using erin is disconnected; /nick erin to take it.")
	stale.expect("*** You are disconnected: the owner of the account erin took back its nick (/ghost).")
	stale.expect("bye...")
	stale.expectEOF()
	fresh.expect("*** erin left (ghosted)")
	fresh.send("/nick erin")
	fresh.expect("*** " + guest + " is now known as erin")
	fresh.send("/ghost erin")
	fresh.expect("!!! no other session is using erin")
}

func TestAccountPasswordAndUnregister(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	a := s.named("frank")
	a.send("/password old new")
	a.expect("!!! you are not identified: /identify first")
	a.send("/register first password")
	a.expectPrefix("*** frank is registered")
	a.send("/password wrong-one second-password")
	a.expect("!!! wrong account or password")
	a.send("/password first pw")
	a.expect("!!! a password has 8 to 256 characters; the password is unchanged")
	a.send("/password first second-password")
	a.expect("!!! wrong account or password") // "first" is not the password: "first password" is
	a.send("/password")
	a.expect("*** Your password now (an empty line cancels):")
	a.send("first password")
	a.expect("*** The new password (an empty line cancels):")
	a.send("second password")
	a.expect("*** The new password again (an empty line cancels):")
	a.send("second password")
	a.expect("*** Your password is changed.")
	a.send("/unregister first password")
	a.expect("!!! wrong account or password")
	a.send("/unregister second password")
	a.expect("*** The account frank is removed; the nick is free for anyone.")
	a.send("/quit")
	a.skipUntil("bye...")

	b, guest := s.dial()
	b.send("/nick frank")
	b.expect("*** " + guest + " is now known as frank")
}

func TestAccountsOffWithoutStore(t *testing.T) {
	s := startServer(t, nil)
	c := s.named("gina")
	c.send("/register some password")
	c.expect("!!! accounts are off on this server: it keeps no data")
	c.send("/help register")
	c.expectPrefix("*** /register [PASSWORD] - ")
	// Every hint fits the server: no /register where there are no accounts.
	c.joinRoom("dev")
	c.send("/claim")
	c.expect("!!! rooms have no owners on this server: it keeps no accounts")
}

// TestAccountIdentifyOneWord: /identify ACCOUNT asks for the account's
// password, hidden, so that it is never typed as chat: always from a guest
// nick, and from another nick when the word names an account; otherwise the
// one word is the password of the account named like the nick. /help stops
// listing /identify once identified.
func TestAccountIdentifyOneWord(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	alice := s.registered("alice")
	bob := s.registered("bob")
	if h := helpLists(bob); h["identify"] || h["register"] || !h["password"] {
		t.Errorf("/help of an identified user: %v", h)
	}
	watcher, _ := s.dial()
	guest, guestNick := s.dial()
	guest.send("/identify alice")
	guest.expect("*** Password for alice (an empty line cancels):")
	guest.send("alice's password")
	guest.expect("*** You are identified as alice.")
	guest.expect("*** Another session is using alice: /ghost alice disconnects it; then /nick alice.")
	carol := s.named("carol")
	carol.send("/identify bob")
	carol.expect("*** Password for bob (an empty line cancels):")
	carol.send("") // cancelled
	carol.expect("*** Cancelled.")
	carol.send("/identify not-an-account-but-a-password")
	carol.expect("!!! wrong account or password")
	// No password was ever chat: the watcher in the lobby saw none.
	watcher.send("/whois nobody")
	for _, l := range watcher.skipUntil("!!! no such nick: nobody") {
		if strings.Contains(l, "password") {
			t.Fatalf("the lobby saw %q", l)
		}
	}
	_, _ = alice, guestNick
}

// TestAccountPasswordsNotLogged: the log of a session full of passwords
// holds none of them.
func TestAccountPasswordsNotLogged(t *testing.T) {
	logs := &testkit.SyncBuffer{}
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir()), func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}))
	a := s.named("hank")
	a.send("/register sekrit-one")
	a.expectPrefix("*** hank is registered")
	a.send("/password sekrit-one sekrit-two")
	a.expect("*** Your password is changed.")
	b, _ := s.dial()
	b.send("/identify hank sekrit-wrong")
	b.expect("!!! wrong account or password")
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "sekrit") {
		t.Fatalf("a password is in the log:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "wrong account or password") {
		t.Fatalf("the failed attempt is not logged:\n%s", logs)
	}
}

// TestAccountRightsFollowTheAccount: rights belong to the account, not to
// its name. After bob unregisters, whoever registers bob next owns nothing
// of bob's, is op nowhere bob was, and enters no room bob was invited to;
// and bob's other session is told it is no longer identified.
func TestAccountRightsFollowTheAccount(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	bob := s.registered("bob")
	bob.joinRoom("bobs")
	bob.send("/claim")
	bob.expect("*** bob owns bobs now")
	alice := s.registered("alice")
	alice.joinRoom("dev")
	alice.send("/claim")
	alice.expect("*** alice owns dev now")
	alice.send("/private on")
	alice.expect("*** alice made dev invite-only")
	alice.send("/invite bob")
	alice.expect("*** the account bob may now join dev (the invitation lasts while the room is open).")
	bob.skipUntil("*** alice invites you to dev: /join dev")
	bob.joinRoom("dev")
	alice.expect("*** bob joined dev")
	alice.send("/op bob")
	alice.expect("*** alice made an op: bob")
	bob.expect("*** alice made an op: bob")
	bob.send("/leave") // dev; bob stays in bobs
	bob.expect("*** You left dev; you are now talking in bobs.")
	alice.expect("*** bob left dev")
	bob.joinRoom("lobby")
	second, guest := s.dial()
	bob.expect("*** " + guest + " joined lobby")
	second.send("/identify bob bob's password")
	second.expect("*** You are identified as bob.")
	second.expect("*** Another session is using bob: /ghost bob disconnects it; then /nick bob.")
	// bob's rooms come back to his account's second session.
	second.expect("*** Joining your rooms again: bobs. (/rejoin off stops this.)")
	second.skipUntilPrefix("*** You are in room bobs ")
	bob.expect("*** " + guest + " joined bobs")

	bob.send("/unregister bob's password")
	bob.expect("*** The account bob is removed; the nick is free for anyone.")
	second.skipUntil("*** The account bob was removed; you are no longer identified.")
	second.send("/quit")
	second.skipUntil("bye...")
	bob.send("/quit")
	bob.skipUntil("bye...")

	mallory := s.registered("bob") // a new account, named bob
	mallory.send("/join dev")
	mallory.expect("!!! dev is invite-only; ask one of its ops for an /invite")
	alice.send("/deop bob")
	alice.expect("!!! bob is not in dev")
	alice.send("/private off")
	alice.expect("*** alice made dev open to everyone")
	mallory.joinRoom("dev")
	alice.expect("*** bob joined dev")
	mallory.send("/kick alice")
	mallory.expect("!!! only the ops of dev may do that")
	// bobs lost its owner with the account (an empty room closed: whoever
	// opens it again may claim it, as anyone could).
	mallory.joinRoom("bobs")
	mallory.send("/bans")
	mallory.expect("!!! only the ops of bobs may do that")
}

// TestAccountLookAlikeNicks: a registered nick is protected against the
// nicks that look like it (Unicode's confusables: I, l, 1 and | alike, 0
// and O), in either case; its owner, identified, may use them.
func TestAccountLookAlikeNicks(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	alice := s.registered("alice")
	c, _ := s.dial()
	for _, nick := range []string{"aIice", "a1ice", "ALlCE", "AL1CE", "a|ice"} {
		c.send("/nick " + nick)
		if nick == "a|ice" { // not a nick at all
			c.expect("!!! a nick may only use letters, digits and the characters . _ -")
			continue
		}
		c.expect("!!! " + nick + " looks too much like the registered nick alice; choose another")
	}
	c.send("/nick ALICE")
	c.expect("!!! nick ALICE is taken")
	alice.send("/quit")
	alice.skipUntil("bye...")
	c.expect("*** alice left (quit)")
	c.send("/nick ALICE")
	c.expect("!!! ALICE is a registered nick; if it is yours: /identify ALICE PASSWORD")
	c.send("/nick alicia")
	c.expect("*** " + "guest2 is now known as alicia")
	alice, guest := s.dial()
	alice.send("/identify alice alice's password")
	alice.expect("*** You are identified as alice.")
	alice.expect("*** " + guest + " is now known as alice")
	alice.send("/nick a1ice")
	alice.expect("*** alice is now known as a1ice")
}
