package actors

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/actorchat/actorchat/internal/netio"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

// startTLSServer starts a server with a TLS port beside the plain one and
// returns it with the TLS port's address and the client's configuration.
func startTLSServer(t *testing.T, mutate func(*Config)) (*testServer, string, *tls.Config) {
	t.Helper()
	cert := testkit.NewCert(t, t.TempDir(), 1)
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, func(c *Config) {
		c.TLSListener = tlsLn
		c.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert.Pair}, MinVersion: tls.VersionTLS12}
		if mutate != nil {
			mutate(c)
		}
	})
	return s, tlsLn.Addr().String(), &tls.Config{RootCAs: cert.Pool, ServerName: "127.0.0.1"}
}

func TestTLSPort(t *testing.T) {
	s, addr, clientCfg := startTLSServer(t, nil)
	plain, plainNick := s.dial()

	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: waitTimeout}, "tcp", addr, clientCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if v := conn.ConnectionState().Version; v < tls.VersionTLS12 {
		t.Fatalf("TLS version %x", v)
	}
	// No telnet negotiation on the TLS port: the first bytes are the welcome.
	c := newLineConn(t, conn)
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	first, err := c.r.Peek(len("*** Welcome"))
	if err != nil || string(first) != "*** Welcome" {
		t.Fatalf("first bytes on the TLS port %q, %v", first, err)
	}
	c.expect("*** Welcome to actorchat test, a chat server built on actors.")
	nick := strings.TrimSuffix(strings.Fields(strings.TrimPrefix(c.expectPrefix("*** You are guest"), "*** You are "))[0], ".")
	c.expectPrefix("*** You are in room lobby with " + plainNick)
	plain.expect("*** " + nick + " joined lobby")

	// The same chat on both ports.
	c.send("hello over TLS")
	plain.expect("<" + nick + "> hello over TLS")
	plain.send("hello in plain text")
	c.expect("<" + plainNick + "> hello in plain text")
	c.send("/quit")
	c.expect("bye...")
}

func TestTLSPortRefusesPlainTextAndOldVersions(t *testing.T) {
	s, addr, clientCfg := startTLSServer(t, nil)

	conn, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := newLineConn(t, conn)
	c.send("hello?")
	c.expect("!!! this port speaks TLS; connect with: openssl s_client -quiet -connect HOST:PORT")
	c.expectEOF()

	old := clientCfg.Clone()
	old.MaxVersion = tls.VersionTLS11
	if conn, err := tls.DialWithDialer(&net.Dialer{Timeout: waitTimeout}, "tcp", addr, old); err == nil {
		conn.Close()
		t.Fatal("a TLS 1.1 client was served")
	}
	testkit.Eventually(t, "no socket left open", func() bool { return s.OpenSockets() == 0 })
}

func TestTLSHandshakeTimeoutAndShutdown(t *testing.T) {
	s, addr, _ := startTLSServer(t, func(c *Config) { c.TLSHandshakeTimeout = 200 * time.Millisecond })
	// A client that never says hello is closed at the handshake timeout.
	idle, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	_ = idle.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Fatal("a client that never said hello got bytes")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a client that never said hello is still connected")
	}

	// Shutdown does not wait for a handshake in progress.
	stuck, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	start := time.Now()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("shutdown took %v with a TLS handshake in progress", took)
	}
}

// TestTLSPortNotShutByOneAddress: idle sockets from one address take at most
// a few handshake slots (the rest are closed at once), count against that
// address's connection limit, and a client from another address is served
// at once. (A k-lined address: TestAcceptRefusesKlined.)
func TestTLSPortNotShutByOneAddress(t *testing.T) {
	s, addr, clientCfg := startTLSServer(t, func(c *Config) { c.MaxConnsPerIP = 6 })
	var idle []net.Conn
	for range 10 {
		conn, err := net.DialTimeout("tcp", addr, waitTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		idle = append(idle, conn)
	}
	closed := 0
	for _, conn := range idle {
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := conn.Read(make([]byte, 1)); err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				closed++
			}
		}
	}
	if closed != 10-maxTLSHandshakesPerAddr {
		t.Errorf("%d of 10 idle sockets from one address were closed at once, want %d", closed, 10-maxTLSHandshakesPerAddr)
	}
	// Another address (another loopback address: a client of its own).
	dialer := &net.Dialer{Timeout: waitTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	conn, err := tls.DialWithDialer(dialer, "tcp", addr, clientCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	newLineConn(t, conn).expect("*** Welcome to actorchat test, a chat server built on actors.")

	// The handshakes in progress count against the address's limit: with
	// 4 of them, 2 connections are left to 127.0.0.1, however they come.
	for range 2 {
		c, _ := s.dial()
		defer c.conn.Close()
	}
	refused, err := net.DialTimeout("tcp", s.Addr().String(), waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer refused.Close()
	newLineConn(t, refused).expect("!!! too many connections from your address; close one and try again")
	if got := testutil.ToFloat64(s.Metrics().connectionsRejected.WithLabelValues("handshakes")); got != float64(10-maxTLSHandshakesPerAddr) {
		t.Errorf("handshakes refused: %v", got)
	}
}

// remoteConn is one end of a pipe that says it comes from remote.
type remoteConn struct {
	net.Conn
	remote net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.remote }

// TestAcceptRefusesKlined: a connection from a k-lined address gets one
// line on the plain port and nothing on the TLS port (no handshake is
// started), no actor is spawned for it (the acceptor here has none to
// spawn), and each refusal is counted as a k-line's.
func TestAcceptRefusesKlined(t *testing.T) {
	cfg := DefaultConfig().withDefaults()
	kl := &klines{}
	kl.with(kline{prefix: netip.MustParsePrefix("192.0.2.0/24"), reason: "botnet"})
	a := &acceptor{cfg: cfg, klines: kl, handshakesFrom: map[string]int{},
		table: netio.NewTable(0, 0, cfg.Metrics.table())}
	from := &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 5555}

	server, client := net.Pipe()
	defer client.Close()
	admitted := make(chan struct{})
	go func() {
		defer close(admitted)
		a.admit(remoteConn{server, from}, messages.Protocol_PROTOCOL_UNSPECIFIED)
	}()
	newLineConn(t, client).expect("!!! you are banned from this server: botnet")
	<-admitted

	server, client = net.Pipe()
	defer client.Close()
	var wg sync.WaitGroup
	a.handshake(context.Background(), remoteConn{server, from}, messages.Protocol_PROTOCOL_UNSPECIFIED, &wg)
	wg.Wait()
	_ = client.SetReadDeadline(time.Now().Add(waitTimeout))
	if n, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the TLS port's k-lined client read %d bytes, %v; want the socket closed", n, err)
	}
	if got := testutil.ToFloat64(cfg.Metrics.connectionsRejected.WithLabelValues(netio.RejectKline)); got != 2 {
		t.Errorf("chatd_connections_rejected_total{reason=kline} = %v, want 2", got)
	}
}
