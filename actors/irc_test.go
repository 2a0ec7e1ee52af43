package actors

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/actorchat/actorchat/internal/irc"
	"github.com/actorchat/actorchat/internal/testkit"
)

// startIRCServer starts a server with an IRC port beside its plain one and
// returns it with the IRC port's address.
func startIRCServer(t *testing.T, mutate func(*Config)) (*testServer, string) {
	t.Helper()
	ircLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, func(c *Config) {
		c.IRCListener = ircLn
		if mutate != nil {
			mutate(c)
		}
	})
	return s, ircLn.Addr().String()
}

// ircClient is an IRC client on a loopback socket; every read has a
// deadline.
type ircClient struct{ *lineConn }

func dialIRC(t *testing.T, addr string) *ircClient {
	t.Helper()
	return dialIRCFrom(t, addr, "")
}

// dialIRCFrom dials from another loopback address (127.0.0.2, ...): a
// client of its own for bans by address; "" is the default.
func dialIRCFrom(t *testing.T, addr, local string) *ircClient {
	t.Helper()
	d := net.Dialer{Timeout: waitTimeout}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &ircClient{newLineConn(t, conn)}
}

// message reads one message, parsed.
func (c *ircClient) message() irc.Message {
	c.t.Helper()
	line := c.line()
	m, err := irc.Parse(line)
	if err != nil {
		c.t.Fatalf("%q: %v", line, err)
	}
	return m
}

// until reads messages until one with command comes, and returns it.
func (c *ircClient) until(command string) irc.Message {
	c.t.Helper()
	for {
		if m := c.message(); m.Command == command {
			return m
		}
	}
}

// expectMessage reads one message, which must render as want (source,
// command and parameters as the server sent them, without CR LF).
func (c *ircClient) expectMessage(want string) {
	c.t.Helper()
	if got := c.line(); got != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

// register registers as nick, with CAP negotiation as modern clients do,
// and reads the welcome up to the end of the MOTD (or its absence).
func (c *ircClient) register(nick string) {
	c.t.Helper()
	c.send("CAP LS 302")
	c.send("NICK " + nick)
	c.send("USER " + nick + " 0 * :Real Name")
	if m := c.message(); m.Command != "CAP" || m.Param(1) != "LS" {
		c.t.Fatalf("got %+v, want CAP LS", m)
	}
	c.send("CAP END")
	if m := c.message(); m.Command != irc.RplWelcome || m.Param(0) != nick {
		c.t.Fatalf("got %+v, want 001 to %s", m, nick)
	}
	for {
		m := c.message()
		if m.Command == irc.RplEndOfMotd || m.Command == irc.ErrNoMotd {
			return
		}
	}
}

// TestIRCRegistration: nothing is said before NICK and USER (and CAP END);
// then 001 to 005 with what the server supports, and the MOTD. A nick that
// is taken, or not a nick, is refused with its numeric and the client asks
// again; PING is answered before and after.
func TestIRCRegistration(t *testing.T) {
	s, addr := startIRCServer(t, nil)
	alice := s.named("alice")
	if err := s.SetMOTD("be kind"); err != nil {
		t.Fatal(err)
	}

	c := dialIRC(t, addr)
	c.send("PING :early")
	c.expectMessage(":actorchat.server PONG actorchat.server :early")
	c.send("JOIN #dev")
	c.expectMessage(":actorchat.server 451 * :You have not registered")
	c.send("NICK bad!nick")
	if m := c.message(); m.Command != irc.ErrErroneusNickname || m.Param(1) != "bad!nick" {
		t.Fatalf("got %+v, want 432", m)
	}
	c.send("NICK Alice")
	c.send("USER al 0 * :Al")
	if m := c.message(); m.Command != irc.ErrNicknameInUse || m.Param(0) != "*" || m.Param(1) != "Alice" {
		t.Fatalf("got %+v, want 433 for a nick a telnet user has", m)
	}
	c.send("NICK al.ice") // '.' is '|' on IRC
	c.expectMessage(":actorchat.server 001 al|ice :Welcome to the actorchat IRC network al|ice")
	c.expectMessage(":actorchat.server 002 al|ice :Your host is actorchat.server, running version actorchat-test")
	c.until(irc.RplMyInfo)
	isupport := c.message()
	if isupport.Command != irc.RplISupport || !strings.Contains(strings.Join(isupport.Params, " "), "CHANTYPES=# ") ||
		!strings.Contains(strings.Join(isupport.Params, " "), "CASEMAPPING=ascii") {
		t.Fatalf("got %+v, want ISUPPORT", isupport)
	}
	c.expectMessage(":actorchat.server 251 al|ice :There are 2 users and 0 invisible on 1 servers")
	c.expectMessage(":actorchat.server 255 al|ice :I have 2 clients and 0 servers")
	c.expectMessage(":actorchat.server 265 al|ice :Current users: 2")
	c.expectMessage(":actorchat.server 266 al|ice :Current global users: 2")
	c.expectMessage(":actorchat.server 375 al|ice :- actorchat.server Message of the day - ")
	c.expectMessage(":actorchat.server 372 al|ice :- be kind")
	c.expectMessage(":actorchat.server 376 al|ice :End of /MOTD command.")
	c.send("PING x")
	c.expectMessage(":actorchat.server PONG actorchat.server :x")
	c.send("USER again 0 * :x")
	c.expectMessage(":actorchat.server 462 al|ice :You may not reregister")
	c.send("FROB")
	c.expectMessage(":actorchat.server 421 al|ice FROB :Unknown command")

	// The telnet side knows the IRC user by its chat nick.
	alice.send("/msg al.ice hi")
	c.expectMessage(":alice!alice@actorchat PRIVMSG al|ice :hi")
}

// TestIRCAndTelnetShareARoom: an IRC user and a telnet user in one room
// see each other join, talk, rename, set the topic and leave, each in its
// own protocol.
func TestIRCAndTelnetShareARoom(t *testing.T) {
	s, addr := startIRCServer(t, nil)
	bob := s.named("bob")
	bob.joinRoom("dev")
	bob.send("/topic plans")
	bob.expect("*** bob set the topic: plans")

	c := dialIRC(t, addr)
	c.register("carol")
	c.send("JOIN #dev,#ops")
	c.expectMessage(":carol!carol@actorchat JOIN #dev")
	c.expectMessage(":actorchat.server 332 carol #dev :plans")
	if m := c.message(); m.Command != irc.RplTopicWhoTime || m.Param(2) != "bob" {
		t.Fatalf("got %+v, want 333 naming bob", m)
	}
	c.expectMessage(":actorchat.server 353 carol = #dev :bob carol")
	c.expectMessage(":actorchat.server 366 carol #dev :End of /NAMES list")
	c.expectMessage(":carol!carol@actorchat JOIN #ops")
	c.expectMessage(":actorchat.server 353 carol = #ops :carol")
	c.expectMessage(":actorchat.server 366 carol #ops :End of /NAMES list")
	bob.expect("*** carol joined dev")

	bob.send("hello carol")
	c.expectMessage(":bob!bob@actorchat PRIVMSG #dev :hello carol")
	c.send("PRIVMSG #dev :hi bob")
	bob.expect("<carol> hi bob\a") // a mention rings, whoever speaks
	c.send("PRIVMSG #dev :\x01ACTION waves\x01")
	bob.expect("* carol waves")
	c.send("PRIVMSG #lobby :not there")
	c.expectMessage(":actorchat.server 404 carol #lobby :Cannot send to channel (you are not in it)")
	c.send("PRIVMSG nobody :psst")
	if m := c.message(); m.Command != irc.ErrNoSuchNick || m.Param(1) != "nobody" {
		t.Fatalf("got %+v, want 401", m)
	}
	c.send("PRIVMSG bob :psst")
	bob.expect("[pm] <carol> psst\a")

	bob.send("/nick rob")
	bob.expect("*** bob is now known as rob")
	c.expectMessage(":bob!bob@actorchat NICK rob")
	c.send("TOPIC #dev :new plans")
	c.expectMessage(":carol!carol@actorchat TOPIC #dev :new plans")
	bob.expect("*** carol set the topic: new plans")
	c.send("TOPIC #dev")
	c.expectMessage(":actorchat.server 332 carol #dev :new plans")

	c.send("NICK caro")
	c.expectMessage(":carol!carol@actorchat NICK caro")
	bob.expect("*** carol is now known as caro")
	c.send("PART #dev :bye now")
	c.expectMessage(":caro!caro@actorchat PART #dev :bye now")
	bob.expect("*** caro left dev: bye now")
	c.send("JOIN #dev")
	c.until(irc.RplEndOfNames)
	bob.expect("*** caro joined dev")
	bob.send("/quit gone")
	if m := c.until("QUIT"); m.Source != "rob!rob@actorchat" || m.Param(0) != "quit: gone" { // after the history, which follows the names
		t.Fatalf("got %+v, want rob's quit", m)
	}

	c.send("QUIT :later")
	c.expectMessage("ERROR :Closing link: bye")
	c.expectEOF()
}

// TestIRCGarbage: what is not IRC, too long, or half sent gets IRC's
// answer or none, never a crash; the connection goes on.
func TestIRCGarbage(t *testing.T) {
	_, addr := startIRCServer(t, nil)
	c := dialIRC(t, addr)
	c.register("dave")
	for _, junk := range []string{"", "   ", ":onlysource", "@tags=only", "\xff\xfb\x01", "PRIVMSG", "PRIVMSG #x", "JOIN", "JOIN nochan", "JOIN #bad!name", "PART #notin", "NICK"} {
		c.send(junk)
	}
	c.expectMessage(":actorchat.server 421 dave \ufffd\ufffd :Unknown command") // not UTF-8: shown as such
	c.expectMessage(":actorchat.server 411 dave :No recipient given (PRIVMSG)")
	c.expectMessage(":actorchat.server 412 dave :No text to send")
	c.expectMessage(":actorchat.server 461 dave JOIN :Not enough parameters")
	c.expectMessage(":actorchat.server 403 dave nochan :No such channel")
	c.expectMessage(":actorchat.server 403 dave #bad!name :No such channel")
	c.expectMessage(":actorchat.server 403 dave #notin :No such channel") // 442 is for a channel that exists
	c.expectMessage(":actorchat.server 431 dave :No nickname given")
	c.send("PRIVMSG #dev :" + strings.Repeat("x", 600))
	c.expectMessage(":actorchat.server 417 dave :Input line was too long")
	c.send("PING :still here")
	c.expectMessage(":actorchat.server PONG actorchat.server :still here")
	// A line past what the server reads at all is discarded whole.
	c.send(strings.Repeat("y", irc.MaxReadBytes+10))
	c.expectMessage(":actorchat.server 417 dave :Input line was too long")
	c.send("PING again")
	c.expectMessage(":actorchat.server PONG actorchat.server :again")
}

// TestIRCRefusedConnectionSaysErrorInIRC: a client over the per-address
// limit reads ERROR, not the line protocol's "!!!".
func TestIRCRefusedConnectionSaysErrorInIRC(t *testing.T) {
	_, addr := startIRCServer(t, func(c *Config) { c.MaxConnsPerIP = 1 })
	first := dialIRC(t, addr)
	first.register("erin")
	second := dialIRC(t, addr)
	second.expectMessage("ERROR :too many connections from your address; close one and try again")
	second.expectEOF()
}

// TestIRCKick: a kick reads as KICK to every IRC member, the kicked one
// included, so that their member lists drop it; telnet members read it as
// before.
func TestIRCKick(t *testing.T) {
	s, addr := startIRCServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	olga := s.registered("olga")
	olga.joinRoom("dev")
	olga.send("/claim")
	olga.expect("*** olga owns dev now")
	carol, dave := dialIRC(t, addr), dialIRC(t, addr)
	carol.register("carol")
	dave.register("dave")
	for _, c := range []*ircClient{carol, dave} {
		c.send("JOIN #dev")
		c.until(irc.RplEndOfNames)
	}
	dave.send("NAMES #dev") // the room's ops are marked @ (PREFIX=(o)@)
	dave.expectMessage(":actorchat.server 353 dave = #dev :carol dave @olga")
	dave.until(irc.RplEndOfNames)
	olga.skipUntil("*** dave joined dev")
	carol.expectMessage(":dave!dave@actorchat JOIN #dev")

	// A NOTICE to a channel is a NOTICE to its IRC members, chat to others.
	carol.send("NOTICE #dev :bot says hi")
	dave.expectMessage(":carol!carol@actorchat NOTICE #dev :bot says hi")
	olga.expect("<carol> bot says hi")

	olga.send("/kick carol off topic")
	olga.expect("*** carol was kicked by olga: off topic")
	carol.expectMessage(":olga!olga@actorchat KICK #dev carol :off topic")
	dave.expectMessage(":olga!olga@actorchat KICK #dev carol :off topic")
	carol.send("PRIVMSG #dev :still here?")
	carol.expectMessage(":actorchat.server 404 carol #dev :Cannot send to channel (you are not in it)")
}

// TestIRCQueries: WHO, WHOIS, LIST, LUSERS, MODE's queries, AWAY, VERSION
// and TIME answer with IRC's numerics, from what the chat knows.
func TestIRCQueries(t *testing.T) {
	s, addr := startIRCServer(t, nil)
	bob := s.named("bob")
	bob.joinRoom("dev")
	bob.send("/topic plans")
	bob.expect("*** bob set the topic: plans")
	bob.send("/away lunch")
	bob.expect("*** You are marked as away: lunch")

	c := dialIRC(t, addr)
	c.register("carol")
	c.send("JOIN #dev")
	c.until(irc.RplEndOfNames)
	c.send("WHO #dev")
	c.expectMessage(":actorchat.server 352 carol #dev bob actorchat actorchat.server bob G :0 bob")
	c.expectMessage(":actorchat.server 352 carol #dev ~carol actorchat actorchat.server carol H :0 Real Name")
	c.expectMessage(":actorchat.server 315 carol #dev :End of WHO list")
	c.send("WHO b*")
	c.expectMessage(":actorchat.server 352 carol * bob actorchat actorchat.server bob G :0 bob")
	c.expectMessage(":actorchat.server 315 carol b* :End of WHO list")
	c.send("WHOIS bob")
	c.expectMessage(":actorchat.server 311 carol bob bob actorchat * :bob")
	c.expectMessage(":actorchat.server 319 carol bob :#dev")
	c.expectMessage(":actorchat.server 312 carol bob actorchat.server :actorchat")
	c.expectMessage(":actorchat.server 301 carol bob :lunch")
	if m := c.message(); m.Command != irc.RplWhoisIdle || m.Param(1) != "bob" {
		t.Fatalf("got %+v, want 317", m)
	}
	c.expectMessage(":actorchat.server 318 carol bob :End of /WHOIS list")
	c.send("WHOIS nobody")
	c.expectMessage(":actorchat.server 401 carol nobody :No such nick/channel")
	c.expectMessage(":actorchat.server 318 carol nobody :End of /WHOIS list")
	c.send("LIST")
	c.expectMessage(":actorchat.server 321 carol Channel :Users  Name")
	c.expectMessage(":actorchat.server 322 carol #dev 2 :plans")
	// The empty lobby is no channel: an IRC channel exists while someone is in it.
	c.expectMessage(":actorchat.server 323 carol :End of /LIST")
	c.send("MODE #dev")
	c.expectMessage(":actorchat.server 324 carol #dev +")
	c.send("MODE #dev b")
	c.expectMessage(":actorchat.server 368 carol #dev :End of channel ban list")
	c.send("MODE #dev +k key")
	c.expectMessage(":actorchat.server 472 carol k :is unknown mode char to me")
	c.send("MODE carol")
	c.expectMessage(":actorchat.server 221 carol +")
	c.send("MODE bob")
	c.expectMessage(":actorchat.server 502 carol :Can't change mode for other users")
	c.send("AWAY :coffee")
	c.expectMessage(":actorchat.server 306 carol :You have been marked as being away")
	c.send("AWAY")
	c.expectMessage(":actorchat.server 305 carol :You are no longer marked as being away")
	c.send("PRIVMSG bob :hi")
	c.expectMessage(":actorchat.server 301 carol bob :lunch")
	c.send("LUSERS")
	c.expectMessage(":actorchat.server 251 carol :There are 2 users and 0 invisible on 1 servers")
	c.expectMessage(":actorchat.server 255 carol :I have 2 clients and 0 servers")
	c.until(irc.RplGlobalUsers)
	c.send("VERSION")
	c.expectMessage(":actorchat.server 351 carol actorchat-test actorchat.server :a chat server built on actors")
	c.until(irc.RplISupport)
	c.send("ISON bob nobody CAROL")
	c.expectMessage(":actorchat.server 303 carol :bob carol")
	c.send("USERHOST bob carol")
	c.expectMessage(":actorchat.server 302 carol :bob=-bob@actorchat carol=+~carol@actorchat")
	c.send("WHOWAS gone")
	c.expectMessage(":actorchat.server 406 carol gone :There was no such nickname")
	c.expectMessage(":actorchat.server 369 carol gone :End of WHOWAS")
	gone := dialIRC(t, addr)
	gone.register("gone")
	gone.send("QUIT")
	gone.until("ERROR")
	testkit.Eventually(t, "gone to be gone", func() bool {
		c.send("WHOWAS gone 1")
		m := c.message()
		c.until(irc.RplEndOfWhowas)
		return m.Command == irc.RplWhowasUser && m.Param(1) == "gone" && m.Param(2) == "~gone" && m.Param(5) == "Real Name"
	})
	c.send("INFO")
	c.until(irc.RplEndOfInfo)
	c.send("TIME")
	if m := c.message(); m.Command != irc.RplTime {
		t.Fatalf("got %+v, want 391", m)
	}
}

// TestIRCOverTLS: the IRC TLS port speaks IRC over TLS with the server's
// certificate, from its first byte, and shares the chat with the plain
// ports.
func TestIRCOverTLS(t *testing.T) {
	cert := testkit.NewCert(t, t.TempDir(), 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, func(c *Config) {
		c.IRCTLSListener = ln
		c.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert.Pair}, MinVersion: tls.VersionTLS12}
	})
	bob := s.named("bob")

	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: waitTimeout}, "tcp", ln.Addr().String(), &tls.Config{RootCAs: cert.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &ircClient{newLineConn(t, conn)}
	c.register("secure")
	c.send("PRIVMSG bob :over TLS")
	bob.expect("[pm] <secure> over TLS\a") // a private message rings
}

// TestIRCNickServ: an IRC client without SASL registers and identifies
// through NickServ; a registered nick is protected from IRC users as from
// telnet users; and nobody may be called NickServ.
func TestIRCNickServ(t *testing.T) {
	s, addr := startIRCServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	c := dialIRC(t, addr)
	c.register("alice")
	c.send("PRIVMSG NickServ :REGISTER alices-password")
	c.expectMessage(":actorchat.server NOTICE alice :alice is registered to you. Next time: /identify, or /identify alice PASSWORD from another nick.")
	c.send("QUIT")
	c.until("ERROR")

	// Someone else asks for the nick: it is protected.
	d := dialIRC(t, addr)
	d.send("NICK alice")
	d.send("USER a 0 * :a")
	if m := d.message(); m.Command != irc.ErrNicknameInUse || !strings.Contains(m.Param(2), "alice is a registered nick") {
		t.Fatalf("got %+v, want 433 for a registered nick", m)
	}
	d.send("NICK alice_")
	d.until(irc.ErrNoMotd)
	d.send("NS IDENTIFY alice wrong password")
	if m := d.until("NOTICE"); !strings.Contains(m.Param(1), "wrong") && !strings.Contains(m.Param(1), "password") {
		t.Fatalf("got %+v, want a refusal", m)
	}
	d.send("PRIVMSG NickServ :IDENTIFY alice alices-password")
	d.expectMessage(":alice_!alice_@actorchat NICK alice")
	d.until("NOTICE")

	// A telnet user cannot be NickServ.
	tel, _ := s.dial()
	tel.send("/nick NickServ")
	tel.expect("!!! NickServ is reserved for the server's services")
}

// TestIRCUsername: USER's user name is shown with "~" (no ident lookup is
// made), at most 9 of its characters, and only those a user name may have.
func TestIRCUsername(t *testing.T) {
	for in, want := range map[string]string{"myusername": "~myusernam", "al": "~al", "a b!c@d": "~abcd", "": "~user", "\u00e9\u00e9": "~user"} {
		if got := ircUsername(in); got != want {
			t.Errorf("ircUsername(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestIRCModeration: a room's op on IRC moderates with MODE, KICK and
// INVITE; every member reads each change as IRC says it (MODE, KICK,
// INVITE) or, on telnet, as before; who may do what is the room's rule.
func TestIRCModeration(t *testing.T) {
	s, addr := startIRCServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	olga := s.registered("olga")
	olga.joinRoom("dev")
	olga.send("/claim")
	olga.expect("*** olga owns dev now")
	op, dave := dialIRC(t, addr), dialIRCFrom(t, addr, "127.0.0.2")
	op.register("irco")
	op.send("PRIVMSG NickServ :REGISTER ircos-password")
	op.until("NOTICE")
	dave.register("dave")
	for _, c := range []*ircClient{op, dave} {
		c.send("JOIN #dev")
		c.until(irc.RplEndOfNames)
	}
	op.expectMessage(":dave!dave@actorchat JOIN #dev")
	olga.skipUntil("*** dave joined dev")

	dave.send("MODE #dev +t")
	dave.expectMessage(":actorchat.server 482 dave #dev :only the ops of dev may do that")
	dave.send("MODE #dev b") // a list one may not see reads as empty
	dave.expectMessage(":actorchat.server 368 dave #dev :End of channel ban list")

	olga.send("/op irco")
	olga.expect("*** olga made an op: irco")
	for _, c := range []*ircClient{op, dave} {
		c.expectMessage(":olga!olga@actorchat MODE #dev +o irco")
	}
	op.send("MODE #dev +t")
	olga.expect("*** irco locked the topic: only ops may change it")
	for _, c := range []*ircClient{op, dave} {
		c.expectMessage(":irco!irco@actorchat MODE #dev +t")
	}
	dave.send("TOPIC #dev :mine now")
	dave.expectMessage(":actorchat.server 482 dave #dev :the topic of dev is locked: only its ops may change it")

	op.send("MODE #dev +q dave")
	op.expectMessage(":irco!irco@actorchat MODE #dev +q dave")
	dave.expectMessage(":irco!irco@actorchat MODE #dev +q dave")
	olga.expect("*** irco muted dave")
	op.send("MODE #dev -q dave")
	op.expectMessage(":irco!irco@actorchat MODE #dev -q dave")
	dave.expectMessage(":irco!irco@actorchat MODE #dev -q dave")
	olga.expect("*** irco unmuted dave")

	op.send("KICK #dev dave :enough")
	dave.expectMessage(":irco!irco@actorchat KICK #dev dave :enough")
	op.expectMessage(":irco!irco@actorchat KICK #dev dave :enough")
	olga.expect("*** dave was kicked by irco: enough")
	op.send("KICK #dev nobody")
	op.expectMessage(":actorchat.server 441 irco nobody #dev :They aren't on that channel")

	op.send("MODE #dev +i")
	op.expectMessage(":irco!irco@actorchat MODE #dev +i")
	dave.send("JOIN #dev")
	if m := dave.until("NOTICE"); !strings.Contains(m.Param(1), "invite-only") {
		t.Fatalf("got %+v, want the room's refusal", m)
	}
	op.send("INVITE dave #dev")
	op.expectMessage(":actorchat.server 341 irco dave #dev")
	dave.expectMessage(":irco!irco@actorchat INVITE dave #dev")
	dave.send("JOIN #dev")
	dave.expectMessage(":dave!dave@actorchat JOIN #dev")
	dave.until(irc.RplEndOfNames)

	op.send("MODE #dev +b dave!*@*")
	op.expectMessage(":dave!dave@actorchat JOIN #dev")
	dave.expectMessage(":irco!irco@actorchat KICK #dev dave :banned")
	op.expectMessage(":irco!irco@actorchat KICK #dev dave :banned")
	op.send("MODE #dev +b *!*@host*")
	if m := op.until("696"); m.Param(3) != "*!*@host*" {
		t.Fatalf("got %+v, want 696 for a wildcard mask", m)
	}
}

// TestIRCOperator: OPER makes a server operator of the -admins file,
// whatever the nick; KILL and WALLOPS are /kill and /wall, refused to
// everyone else.
func TestIRCOperator(t *testing.T) {
	s, addr := startIRCServer(t, func(c *Config) { c.Admins = testOperators("root") })
	bob := s.named("bob")
	boss, eve := dialIRC(t, addr), dialIRCFrom(t, addr, "127.0.0.2")
	boss.register("boss")
	eve.register("eve")

	eve.send("KILL bob :bye")
	eve.expectMessage(":actorchat.server 481 eve :Permission Denied- You're not an IRC operator")
	boss.send("OPER root wrong")
	if m := boss.message(); m.Command != irc.ErrPasswdMismatch {
		t.Fatalf("got %+v, want 464", m)
	}
	boss.send("OPER root :" + operPassword("root")) // a password with spaces is a trailing parameter
	boss.expectMessage(":actorchat.server 381 boss :You are now an IRC operator")
	boss.expectMessage(":boss!boss@actorchat MODE boss +o")
	boss.send("MODE boss")
	boss.expectMessage(":actorchat.server 221 boss +o")
	eve.send("WHO boss")
	eve.expectMessage(":actorchat.server 352 eve * ~boss actorchat actorchat.server boss H* :0 Real Name")
	eve.until(irc.RplEndOfWho)
	eve.send("WHOIS boss")
	eve.until(irc.RplWhoisServer)
	eve.expectMessage(":actorchat.server 313 eve boss :is an IRC operator")
	eve.until(irc.RplEndOfWhois)
	boss.send("WALLOPS :maintenance at noon")
	bob.expect("*** [wall] boss: maintenance at noon")
	eve.expectMessage(":boss!boss@actorchat WALLOPS :maintenance at noon")
	boss.until("WALLOPS")
	boss.send("KILL eve :spam")
	eve.until("ERROR")
	eve.expectEOF()
	boss.send("KILL nobody :x")
	if m := boss.until(irc.ErrNoSuchNick); m.Param(1) != "nobody" {
		t.Fatalf("got %+v, want 401", m)
	}
}

// TestIRCSASL: with accounts, the server offers sasl=PLAIN; a client logs
// into its account before its registration ends and is welcomed under the
// account's nick, which nobody else may take. A wrong password or a bad
// payload is 904; without accounts sasl is not offered.
func TestIRCSASL(t *testing.T) {
	s, addr := startIRCServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	owner := s.registered("alice")
	owner.send("/quit")
	owner.expect("bye...")
	plain := func(authz, authc, pw string) string {
		return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + authc + "\x00" + pw))
	}

	c := dialIRC(t, addr)
	c.send("CAP LS 302")
	c.expectMessage(":actorchat.server CAP * LS :echo-message multi-prefix server-time sasl=PLAIN")
	c.send("NICK alice")
	c.send("USER al 0 * :Alice")
	c.send("AUTHENTICATE PLAIN")
	c.expectMessage(":actorchat.server 904 * :SASL authentication failed: ask for the sasl capability first")
	c.send("CAP REQ :sasl")
	c.expectMessage(":actorchat.server CAP * ACK :sasl")
	c.send("AUTHENTICATE PLAIN")
	c.expectMessage("AUTHENTICATE +")
	c.send("AUTHENTICATE " + plain("", "alice", "wrong password"))
	if m := c.message(); m.Command != irc.ErrSASLFail {
		t.Fatalf("got %+v, want 904", m)
	}
	c.send("AUTHENTICATE PLAIN")
	c.expectMessage("AUTHENTICATE +")
	c.send("AUTHENTICATE " + base64.StdEncoding.EncodeToString([]byte("no nuls")))
	c.expectMessage(":actorchat.server 904 * :SASL authentication failed: not a PLAIN payload")
	c.send("AUTHENTICATE FOO")
	c.expectMessage(":actorchat.server 908 * PLAIN :are available SASL mechanisms")
	c.expectMessage(":actorchat.server 904 * :SASL authentication failed")
	c.send("AUTHENTICATE PLAIN")
	c.expectMessage("AUTHENTICATE +")
	c.send("AUTHENTICATE " + plain("alice", "alice", "alice's password"))
	c.expectMessage(":actorchat.server 900 * alice!alice@actorchat alice :You are now logged in as alice")
	c.expectMessage(":actorchat.server 903 * :SASL authentication successful")
	c.send("CAP END")
	c.expectMessage(":actorchat.server 001 alice :Welcome to the actorchat IRC network alice")

	// Without accounts (no store), sasl is not offered.
	_, bare := startIRCServer(t, nil)
	d := dialIRC(t, bare)
	d.send("CAP LS 302")
	d.expectMessage(":actorchat.server CAP * LS :echo-message multi-prefix server-time")
	d.send("CAP REQ :sasl")
	d.expectMessage(":actorchat.server CAP * NAK :sasl")
	d.send("CAP REQ :multi-prefix")
	d.expectMessage(":actorchat.server CAP * ACK :multi-prefix")
	d.send("CAP LIST")
	d.expectMessage(":actorchat.server CAP * LIST :multi-prefix")
}

// TestIRCServerTimeAndEcho: with server-time, what users send carries its
// time (a post its own, the history its original one, without the [HH:MM]
// that a client without it reads); with echo-message, the client's own
// posts and private messages come back to it, as the others read them.
func TestIRCServerTimeAndEcho(t *testing.T) {
	s, addr := startIRCServer(t, nil)
	bob := s.named("bob")
	bob.joinRoom("dev")
	bob.send("before")

	c := dialIRC(t, addr)
	c.send("CAP LS 302")
	c.send("CAP REQ :server-time echo-message")
	c.send("NICK tim")
	c.send("USER tim 0 * :Tim")
	c.until("CAP")
	c.expectMessage(":actorchat.server CAP * ACK :server-time echo-message")
	c.send("CAP END")
	c.until(irc.ErrNoMotd)
	c.send("JOIN #dev")
	c.until(irc.RplEndOfNames)
	history := c.message()
	if history.Command != "PRIVMSG" || history.Param(1) != "before" || !timeTagRE.MatchString(history.Tags) {
		t.Fatalf("history %+v, want the post with its time as a tag", history)
	}
	bob.skipUntil("*** tim joined dev")

	bob.send("now")
	if m := c.message(); m.Param(1) != "now" || !timeTagRE.MatchString(m.Tags) {
		t.Fatalf("got %+v, want bob's post with its time", m)
	}
	c.send("PRIVMSG #dev :mine")
	bob.expect("<tim> mine")
	if m := c.message(); m.Source != "tim!tim@actorchat" || m.Param(0) != "#dev" || m.Param(1) != "mine" || !timeTagRE.MatchString(m.Tags) {
		t.Fatalf("got %+v, want the echo of tim's own post", m)
	}
	c.send("PRIVMSG bob :psst")
	bob.expect("[pm] <tim> psst\a")
	if m := c.message(); m.Command != "PRIVMSG" || m.Param(0) != "bob" || m.Param(1) != "psst" {
		t.Fatalf("got %+v, want the echo of tim's private message", m)
	}
	c.send("CAP LIST")
	c.expectMessage(":actorchat.server CAP tim LIST :echo-message server-time")
}

var timeTagRE = regexp.MustCompile(`^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// TestIRCTargetsAreBounded: one line of input does a bounded amount of
// work: a JOIN or PART of more than 10 channels, or a KICK of more than 4
// nicks, acts on those and says 407 for the rest (TARGMAX says so).
func TestIRCTargetsAreBounded(t *testing.T) {
	_, addr := startIRCServer(t, nil)
	c := dialIRC(t, addr)
	c.register("many")
	var channels []string
	for i := range 12 {
		channels = append(channels, fmt.Sprintf("#c%d", i))
	}
	c.send("JOIN " + strings.Join(channels, ","))
	c.expectMessage(":actorchat.server 407 many #c10 :Too many targets: JOIN takes at most 10")
	for i := range 10 {
		if m := c.until("JOIN"); m.Param(0) != channels[i] {
			t.Fatalf("joined %+v, want %s", m, channels[i])
		}
	}
	// The rooms actor hears of members a moment after they join.
	testkit.Eventually(t, "10 channels listed", func() bool {
		c.send("LIST")
		c.until(irc.RplListStart)
		n := 0
		for m := c.message(); m.Command == irc.RplList; m = c.message() {
			n++
		}
		return n == 10
	})
}
