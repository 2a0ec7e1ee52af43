package actors

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"
)

// keepAliveOf reads a socket's keepalive options: on, idle seconds,
// probe interval seconds, probes.
func keepAliveOf(t *testing.T, conn net.Conn) [4]int {
	t.Helper()
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got [4]int
	var errs [4]error
	if err := raw.Control(func(fd uintptr) {
		got[0], errs[0] = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		got[1], errs[1] = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE)
		got[2], errs[2] = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL)
		got[3], errs[3] = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT)
	}); err != nil {
		t.Fatal(err)
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// TestListenSetsKeepAlive: a socket accepted from Listen has the server's
// keepalive without anyone setting it on the socket.
func TestListenSetsKeepAlive(t *testing.T) {
	ln, err := Listen("127.0.0.1:0", 42*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.DialTimeout("tcp", ln.Addr().String(), waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got, want := keepAliveOf(t, conn), [4]int{1, 42, int(keepAliveInterval.Seconds()), keepAliveProbes}; got != want {
		t.Errorf("keepalive (on, idle, interval, probes) %v, want %v", got, want)
	}
}

// TestServerKeepAliveFromAnyListener: the server's connections have its
// keepalive whether its listener set it (Listen with the same idle time)
// or not (Listen with another, net.Listen).
func TestServerKeepAliveFromAnyListener(t *testing.T) {
	for _, tt := range []struct {
		name   string
		listen func() (net.Listener, error)
	}{
		{"Listen", func() (net.Listener, error) { return Listen("127.0.0.1:0", 50*time.Second) }},
		{"Listen with another idle time", func() (net.Listener, error) { return Listen("127.0.0.1:0", 20*time.Second) }},
		{"net.Listen", func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := tt.listen()
			if err != nil {
				t.Fatal(err)
			}
			cfg := DefaultConfig()
			cfg.Version = "test"
			cfg.Logger = testLogger()
			cfg.KeepAlive = 50 * time.Second
			s := &testServer{Server: MustStart(ln, cfg), t: t}
			t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
			s.dial()
			conns := s.table.Conns()
			if len(conns) != 1 {
				t.Fatalf("%d open sockets, want 1", len(conns))
			}
			if got, want := keepAliveOf(t, conns[0]), [4]int{1, 50, int(keepAliveInterval.Seconds()), keepAliveProbes}; got != want {
				t.Errorf("keepalive (on, idle, interval, probes) %v, want %v", got, want)
			}
		})
	}
}
