package actors

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/ipkey"
	"github.com/actorchat/actorchat/internal/irc"
	"github.com/actorchat/actorchat/internal/netio"
	"github.com/actorchat/actorchat/internal/text"
	"github.com/actorchat/actorchat/messages"
)

// Accept back-off after a failed Accept (for example out of file descriptors).
const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

// acceptor hands accepted sockets to the connections supervisor. Its loops
// (the plain port, the TLS port, and the IRC ports) share one sequence of
// connection ids.
type acceptor struct {
	system      *actor.ActorSystem
	connections *actor.PID
	table       *netio.Table
	cfg         Config
	klines      *klines
	lastID      atomic.Uint64

	mu             sync.Mutex
	inHandshake    int            // TLS handshakes in progress; guarded by mu
	handshakesFrom map[string]int // the same, by address (ipkey); guarded by mu
}

// loop accepts sockets from ln and hands each to handle. It returns when
// the listener is closed.
func (a *acceptor) loop(ln net.Listener, handle func(net.Conn)) {
	keepAliveSet := setsKeepAlive(ln, a.cfg.KeepAlive)
	backoff := time.Duration(0)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, minAcceptBackoff), maxAcceptBackoff)
			a.cfg.Logger.Warn("accept failed", "error", err, "retry_in", backoff)
			time.Sleep(backoff) // back off before the next Accept, as net/http does
			continue
		}
		backoff = 0
		if tc, ok := conn.(*net.TCPConn); ok {
			if !keepAliveSet {
				_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: a.cfg.KeepAlive, Interval: keepAliveInterval, Count: keepAliveProbes})
			}
			if a.cfg.SendBuffer > 0 {
				_ = tc.SetWriteBuffer(a.cfg.SendBuffer)
			}
		}
		handle(conn)
	}
}

// admit parks a socket and asks for its connection actor or, k-lined or
// over a connection limit, tells the client why in one line and closes it
// before any actor exists for it.
func (a *acceptor) admit(conn net.Conn, speaks messages.Protocol) {
	if k, ok := a.klines.match(conn.RemoteAddr().String(), time.Now()); ok {
		_ = conn.SetWriteDeadline(time.Now().Add(netio.RejectTimeout))
		_, _ = conn.Write(refusal(speaks, "you are banned from this server"+reasonText(k.reason)+untilText(k.expires)))
		_ = conn.Close()
		a.table.Reject(netio.RejectKline)
		a.cfg.Logger.Info("connection refused: k-lined", "remote", conn.RemoteAddr().String(), "kline", k.prefix.String())
		return
	}
	if max := a.table.MaxPerIP(); max > 0 {
		if n := a.handshakesOf(conn.RemoteAddr().String()); n > 0 && a.table.OpenFrom(conn.RemoteAddr().String())+n >= max {
			a.table.Reject(netio.RejectPerIP)
			rejectConn(conn, netio.ErrPerIP, speaks, a.cfg.Logger)
			return
		}
	}
	id := a.lastID.Add(1)
	if err := a.table.Park(id, conn); err != nil {
		rejectConn(conn, err, speaks, a.cfg.Logger)
		return
	}
	_, isTLS := conn.(*tls.Conn)
	a.system.Root.Send(a.connections, &messages.SpawnConnection{ConnId: id, RemoteAddr: conn.RemoteAddr().String(), Tls: isTLS, Protocol: speaks})
}

// admitting is admit for the sockets of a listener that speaks speaks.
func (a *acceptor) admitting(speaks messages.Protocol) func(net.Conn) {
	return func(conn net.Conn) { a.admit(conn, speaks) }
}

// refusal is the one line that tells a client we are closing on it why, in
// the protocol it speaks.
func refusal(speaks messages.Protocol, why string) []byte {
	if speaks == messages.Protocol_PROTOCOL_IRC {
		return irc.Append(nil, "", "ERROR", why)
	}
	return text.AppendError(nil, why)
}

// Bounds on the TLS handshakes in progress: each holds a goroutine until it
// ends or times out. One address has few at once, so that one address
// cannot hold the slots everyone shares (256 idle sockets from one address
// used to keep every TLS client out).
const (
	maxTLSHandshakes        = 256
	maxTLSHandshakesPerAddr = 4
)

// handshake runs a TLS handshake in a goroutine of its own (the accept loop
// goes on), bounded by the handshake timeout and ended at once by shutdown,
// and admits the connection once it is done. A client that speaks plain text
// to the TLS port is told so in one line.
//
// What can be decided before the handshake is: a k-lined address, an
// address over its connection limit (its open connections and its
// handshakes count), and too many handshakes are closed at once, without
// the cost of one.
func (a *acceptor) handshake(ctx context.Context, raw net.Conn, speaks messages.Protocol, wg *sync.WaitGroup) {
	remote := raw.RemoteAddr().String()
	if k, ok := a.klines.match(remote, time.Now()); ok {
		_ = raw.Close() // a TLS client reads no plain text
		a.table.Reject(netio.RejectKline)
		a.cfg.Logger.Info("TLS connection refused: k-lined", "remote", remote, "kline", k.prefix.String())
		return
	}
	key := ipkey.String(remote)
	if reason := a.startHandshake(key, remote); reason != "" {
		_ = raw.Close()
		a.table.Reject(reason)
		a.cfg.Logger.Debug("TLS handshake refused", "remote", remote, "reason", reason)
		return
	}
	wg.Go(func() {
		conn := tls.Server(raw, a.cfg.TLSConfig)
		hsCtx, cancel := context.WithTimeout(ctx, a.cfg.TLSHandshakeTimeout)
		err := conn.HandshakeContext(hsCtx)
		cancel()
		a.endHandshake(key) // from here it counts as an open connection, or as nothing
		if err != nil {
			if rhe := (tls.RecordHeaderError{}); errors.As(err, &rhe) && rhe.Conn != nil {
				_ = rhe.Conn.SetWriteDeadline(time.Now().Add(netio.RejectTimeout))
				_, _ = rhe.Conn.Write(text.AppendError(nil, "this port speaks TLS; connect with: openssl s_client -quiet -connect HOST:PORT"))
			}
			_ = raw.Close()
			a.cfg.Logger.Debug("TLS handshake failed", "remote", raw.RemoteAddr().String(), "error", err)
			return
		}
		if ctx.Err() != nil { // shutdown began during the handshake
			_ = conn.Close()
			return
		}
		a.admit(conn, speaks)
	})
}

// startHandshake counts a handshake from address key, unless it is one too
// many; then it says which limit, as a metric's reason.
func (a *acceptor) startHandshake(key, remote string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.inHandshake >= maxTLSHandshakes, a.handshakesFrom[key] >= maxTLSHandshakesPerAddr:
		return netio.RejectHandshakes
	case a.table.MaxPerIP() > 0 && a.table.OpenFrom(remote)+a.handshakesFrom[key] >= a.table.MaxPerIP():
		return netio.RejectPerIP
	}
	if a.handshakesFrom == nil {
		a.handshakesFrom = make(map[string]int)
	}
	a.inHandshake++
	a.handshakesFrom[key]++
	return ""
}

// handshakesOf returns how many TLS handshakes the address of remote has
// in progress: they count against its connection limit.
func (a *acceptor) handshakesOf(remote string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.handshakesFrom[ipkey.String(remote)]
}

func (a *acceptor) endHandshake(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inHandshake--
	if a.handshakesFrom[key]--; a.handshakesFrom[key] <= 0 {
		delete(a.handshakesFrom, key)
	}
}

// TCP keepalive probes after the idle time: a dead peer is found within
// KeepAlive + 3 * 10s.
const (
	keepAliveInterval = 10 * time.Second
	keepAliveProbes   = 3
)

// rejectConn tells a client over a connection limit why, and closes it.
func rejectConn(conn net.Conn, err error, speaks messages.Protocol, logger *slog.Logger) {
	var line []byte
	if errors.Is(err, netio.ErrServerFull) {
		line = refusal(speaks, "the server is full; try again later")
	} else {
		line = refusal(speaks, "too many connections from your address; close one and try again")
	}
	_ = conn.SetWriteDeadline(time.Now().Add(netio.RejectTimeout))
	_, _ = conn.Write(line)
	_ = conn.Close()
	logger.Debug("connection rejected", "remote", conn.RemoteAddr().String(), "reason", err)
}
