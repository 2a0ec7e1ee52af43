package main

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/actorchat/actorchat/internal/testkit"
)

// TestProcessIRCPort: chatd -irc-listen serves IRC; an IRC client
// registers and is welcomed under the nick it asked for.
func TestProcessIRCPort(t *testing.T) {
	addr, ircAddr := testkit.FreeAddr(t), testkit.FreeAddr(t)
	testkit.Start(t, chatdBin, nil, "-listen", addr, "-irc-listen", ircAddr)
	var conn net.Conn
	testkit.Eventually(t, "the IRC port to accept", func() bool {
		var err error
		conn, err = net.DialTimeout("tcp", ircAddr, waitTimeout)
		return err == nil
	})
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := conn.Write([]byte("NICK ircer\r\nUSER ircer 0 * :IRC user\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != ":actorchat.server 001 ircer :Welcome to the actorchat IRC network ircer\r\n" {
		t.Fatalf("got %q, %v; want the welcome", line, err)
	}
}

// TestSocketActivationWithIRC: systemd passes the plain port and a socket
// named irc (chatd-irc.socket's FileDescriptorName=irc); chatd speaks IRC
// on it.
func TestSocketActivationWithIRC(t *testing.T) {
	files, addrs := passedSockets(t, 2)
	p := startActivated(t, files, "chatd.socket:irc")
	conn, r := dialLines(t, addrs[1])
	if _, err := conn.Write([]byte("NICK sock\r\nUSER sock 0 * :s\r\n")); err != nil {
		t.Fatal(err)
	}
	if line := readLine(t, r); line != ":actorchat.server 001 sock :Welcome to the actorchat IRC network sock" {
		t.Errorf("IRC socket: got %q", line)
	}
	if !strings.Contains(p.Stderr.String(), "using the IRC socket passed by systemd") {
		t.Errorf("stderr:\n%s", p.Stderr)
	}
}

// ircClusterClient registers an IRC client as nick on a node's IRC port
// and joins channel (empty: none).
func ircClusterClient(t *testing.T, nd *clusterNode, nick, channel string) *testkit.Client {
	t.Helper()
	c := testkit.Dial(t, nd.irc)
	c.Send("NICK " + nick)
	c.Send("USER " + nick + " 0 * :" + nick)
	for !strings.Contains(c.Line(), " 422 ") { // the end of the welcome (no MOTD)
	}
	if channel != "" {
		c.Send("JOIN " + channel)
		for !strings.Contains(c.Line(), " 366 ") {
		}
	}
	return c
}

// TestClusterIRC: IRC users and telnet users on different nodes of a
// cluster share rooms, nicks and private messages.
func TestClusterIRC(t *testing.T) {
	nodes := startClusterNodes(t, 3, nil)
	alice := clusterClient(t, nodes[0], "alice", "dev")
	ircy := ircClusterClient(t, nodes[2], "ircy", "#dev")
	alice.SkipUntil("*** ircy joined dev")
	irma := ircClusterClient(t, nodes[1], "irma", "#dev")
	alice.SkipUntil("*** irma joined dev")
	ircy.SkipUntil(":irma!irma@actorchat JOIN #dev")

	ircy.Send("PRIVMSG #dev :hello from node 2")
	alice.SkipUntil("<ircy> hello from node 2")
	irma.SkipUntil(":ircy!ircy@actorchat PRIVMSG #dev :hello from node 2")
	alice.Send("hi irc")
	ircy.SkipUntil(":alice!alice@actorchat PRIVMSG #dev :hi irc")
	irma.SkipUntil(":alice!alice@actorchat PRIVMSG #dev :hi irc")

	// Nicks are one namespace, whatever the protocol and the node.
	irma.Send("NICK Alice")
	if line := irma.Line(); !strings.Contains(line, " 433 irma Alice :") {
		t.Fatalf("irma got %q, want 433", line)
	}
	irma.Send("PRIVMSG alice :psst")
	alice.SkipUntil("[pm] <irma> psst\a")
	alice.Send("/msg ircy across nodes")
	ircy.SkipUntil(":alice!alice@actorchat PRIVMSG ircy :across nodes")
}
