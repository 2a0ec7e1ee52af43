package actors

import (
	"context"
	"net"
	"time"
)

// Listen listens on a TCP address for Start (or for Config.TLSListener)
// with the server's TCP keepalive (idle for keepAlive, then
// keepAliveProbes probes keepAliveInterval apart; 0: the default) already
// set for every connection it accepts, so the acceptor sets nothing per
// connection. On Linux the options are set once, on the listening socket,
// and each accepted socket inherits them in the kernel; elsewhere Go sets
// them as it accepts.
//
// Any other listener (net.Listen, the sockets systemd passes) works too:
// Go then gives each accepted socket its default keepalive, and the
// acceptor sets the server's over it, eight setsockopt calls per
// connection where this listener needs none.
func Listen(addr string, keepAlive time.Duration) (net.Listener, error) {
	if keepAlive <= 0 {
		keepAlive = DefaultConfig().KeepAlive
	}
	ka := net.KeepAliveConfig{Enable: true, Idle: keepAlive, Interval: keepAliveInterval, Count: keepAliveProbes}
	ln, err := keepAliveListenConfig(ka).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &keepAliveListener{TCPListener: ln.(*net.TCPListener), idle: keepAlive}, nil
}

// keepAliveListener is a listener made by Listen: the sockets it accepts
// have keepalive set, with idle time idle.
type keepAliveListener struct {
	*net.TCPListener
	idle time.Duration
}

// setsKeepAlive reports whether ln's accepted sockets come with keepalive
// idle time idle already set.
func setsKeepAlive(ln net.Listener, idle time.Duration) bool {
	kl, ok := ln.(*keepAliveListener)
	return ok && kl.idle == idle
}
