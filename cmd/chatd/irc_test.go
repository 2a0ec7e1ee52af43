package main

import (
	"bufio"
	"net"
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
