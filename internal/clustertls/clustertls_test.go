package clustertls

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/actorchat/actorchat/internal/testkit"
)

// serve accepts one TLS connection with cfg and reports its handshake's
// error.
func serve(t *testing.T, cfg *tls.Config) (string, <-chan error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(testkit.WaitTimeout))
		err = conn.(*tls.Conn).Handshake()
		if err == nil {
			_, err = conn.Write([]byte("x"))
		}
		done <- err
	}()
	return ln.Addr().String(), done
}

func dial(addr string, cfg *tls.Config) error {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: testkit.WaitTimeout}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(testkit.WaitTimeout))
	_, err = io.ReadFull(conn, make([]byte, 1))
	return err
}

// TestNodesOfOneCA: two nodes of one CA talk; a peer with a certificate of
// another CA, a self-signed one or none is refused, both ways.
func TestNodesOfOneCA(t *testing.T) {
	dir := t.TempDir()
	ca := testkit.NewCA(t, dir, "ca")
	a, b := ca.Issue(t, dir, "a"), ca.Issue(t, dir, "b")
	nodeA, err := Load(a.CertFile, a.KeyFile, ca.File)
	if err != nil {
		t.Fatal(err)
	}
	nodeB := New(b.Pair, ca.Pool)
	stranger := New(testkit.NewCA(t, dir, "other").Issue(t, dir, "s").Pair, ca.Pool)
	self := New(testkit.NewCert(t, dir, 7).Pair, ca.Pool)

	addr, done := serve(t, nodeA.Server)
	if err := dial(addr, nodeB.Client); err != nil || <-done != nil {
		t.Fatalf("two nodes: %v", err)
	}
	for name, client := range map[string]*tls.Config{
		"another CA's": stranger.Client, "self-signed": self.Client,
		"no certificate": {InsecureSkipVerify: true, MinVersion: tls.VersionTLS13},
	} {
		addr, done := serve(t, nodeA.Server)
		_ = dial(addr, client)
		if err := <-done; err == nil {
			t.Errorf("a node served a peer with %s certificate", name)
		}
	}
	// And a node does not talk to a server that is not a node.
	addr, _ = serve(t, stranger.Server)
	if err := dial(addr, nodeB.Client); !errors.Is(err, ErrNotInCluster) {
		t.Error("a node dialed a server outside the cluster")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	ca := testkit.NewCA(t, dir, "ca")
	a := ca.Issue(t, dir, "a")
	for _, tc := range []struct{ cert, key, ca string }{
		{dir + "/missing.pem", a.KeyFile, ca.File},
		{a.CertFile, a.KeyFile, dir + "/missing.pem"},
		{a.CertFile, a.KeyFile, a.KeyFile},
	} {
		if _, err := Load(tc.cert, tc.key, tc.ca); err == nil {
			t.Errorf("Load(%s, %s, %s) took", tc.cert, tc.key, tc.ca)
		}
	}
}
