package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/actorchat/actorchat/actors"
	"github.com/actorchat/actorchat/internal/netio"
	"github.com/actorchat/actorchat/internal/store"
)

// healthTimeout bounds how long /healthz waits for the actors to answer.
const healthTimeout = time.Second

// storeOpenTimeout bounds connecting to the store and migrating it at
// start-up.
const storeOpenTimeout = 30 * time.Second

// adminShutdownTimeout bounds the admin endpoint's own shutdown.
const adminShutdownTimeout = time.Second

// app is a running chatd: the chat server, its admin endpoint and its
// conversation with the service manager.
type app struct {
	cfg    config
	logger *slog.Logger
	srv    *actors.Server
	store  *store.DB      // nil: memory only
	cert   *certificate   // the TLS port's; nil: no TLS port
	admin  *http.Server   // nil: no admin endpoint
	adminL net.Listener   // the admin endpoint's listener
	wg     sync.WaitGroup // the admin server and the watchdog
	stopWD chan struct{}  // closed to stop the watchdog

	evicted   atomic.Bool   // the cluster dropped this node: exit non-zero
	evictedCh chan struct{} // closed when it did
}

// start opens the listener (systemd's, if it passed one), reads the message
// of the day, starts the server and the admin endpoint, and tells systemd
// that chatd is ready. Its errors say what, where and why in one line.
func start(ctx context.Context, cfg config, logger *slog.Logger, lookupEnv func(string) (string, bool)) (*app, error) {
	motd, err := readMOTD(cfg.motdPath)
	if err != nil {
		return nil, err
	}
	cfg.server.MOTD = motd
	admins, err := readAdmins(cfg.admins, logger)
	if err != nil {
		return nil, err
	}
	cfg.server.Admins = actors.NewAdmins(admins)

	var adminL net.Listener
	if cfg.admin != "" {
		if adminL, err = net.Listen("tcp", cfg.admin); err != nil {
			return nil, fmt.Errorf("admin endpoint: listen on %s: %w", cfg.admin, netio.Cause(err))
		}
	}
	var cert *certificate
	if cfg.tlsCert != "" {
		if cert, err = loadCertificate(cfg.tlsCert, cfg.tlsKey); err != nil {
			if adminL != nil {
				adminL.Close()
			}
			return nil, err
		}
	}
	lns, err := listeners(cfg, cfg.server.KeepAlive, logger)
	if err != nil {
		if adminL != nil {
			adminL.Close()
		}
		return nil, err
	}
	for _, tlsLn := range []*net.Listener{&lns.tls, &lns.ircTLS} {
		if *tlsLn != nil && cert == nil {
			logger.Warn("systemd passed a TLS socket, but no -tls-cert and -tls-key are set; it is not served", "addr", (*tlsLn).Addr().String())
			(*tlsLn).Close()
			*tlsLn = nil
		}
	}
	if cert != nil {
		cfg.server.TLSConfig = cert.config()
	}
	cfg.server.TLSListener, cfg.server.IRCListener, cfg.server.IRCTLSListener = lns.tls, lns.irc, lns.ircTLS
	ln := lns.plain
	storeCtx, cancel := context.WithTimeout(ctx, storeOpenTimeout)
	db, where, err := openStore(storeCtx, cfg.storage, lookupEnv)
	cancel()
	if err != nil {
		lns.close()
		if adminL != nil {
			adminL.Close()
		}
		return nil, err
	}
	if db != nil {
		cfg.server.Store = db
		logger.Info("store opened", "kind", db.Kind(), "at", where, "flush", cfg.server.StoreFlushInterval,
			"retention", ageValue{&cfg.server.Retention.MaxAge}.String(), "retention_posts", cfg.server.Retention.PerRoom)
	} else {
		logger.Warn("no store: " + where)
	}

	cfg.server.Middleware = append(cfg.server.Middleware, faultMiddleware(logger)...)
	a := &app{cfg: cfg, logger: logger, store: db, cert: cert, adminL: adminL, stopWD: make(chan struct{}), evictedCh: make(chan struct{})}
	closeAll := func() {
		if db != nil {
			db.Close()
		}
		if adminL != nil {
			adminL.Close()
		}
	}
	if cfg.server.Cluster, err = cfg.cluster.serverConfig(logger, func() {
		if a.evicted.CompareAndSwap(false, true) {
			close(a.evictedCh)
		}
	}); err != nil {
		lns.close()
		closeAll()
		return nil, err
	}
	if a.srv, err = actors.Start(ctx, ln, cfg.server); err != nil {
		closeAll()
		return nil, err
	}
	if adminL != nil {
		a.admin = &http.Server{Handler: a.adminHandler(), ReadHeaderTimeout: 5 * time.Second}
		a.wg.Go(func() {
			if err := a.admin.Serve(adminL); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("admin endpoint failed", "error", err)
			}
		})
		logger.Info("admin endpoint listening", "addr", adminL.Addr().String())
		if !isLoopback(adminL.Addr()) {
			logger.Warn("the admin endpoint (metrics, profiles) is reachable beyond this machine; bind -admin to 127.0.0.1 or a private network",
				"addr", adminL.Addr().String())
		}
	}
	notify(logger, daemon.SdNotifyReady)
	a.startWatchdog()
	return a, nil
}

// isLoopback reports whether a listener's address is on loopback only.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// The FileDescriptorName= of the systemd socket units that pass the other
// ports (deploy/systemd/chatd-tls.socket); the plain port's socket has any
// other name.
const (
	tlsSocketName    = "tls"
	ircSocketName    = "irc"
	ircTLSSocketName = "irc-tls"
)

// ports are the listeners chatd serves: the plain port always, the others
// when asked for.
type ports struct {
	plain, tls, irc, ircTLS net.Listener
}

// close closes every listener.
func (p *ports) close() {
	for _, l := range []net.Listener{p.plain, p.tls, p.irc, p.ircTLS} {
		if l != nil {
			l.Close()
		}
	}
}

// listeners returns the sockets systemd passed (socket activation): the
// plain port, and the TLS and IRC ports if sockets of their names are among
// them. A port systemd did not pass is listened on at its address, if it
// has one (the plain port always).
func listeners(addrs config, keepAlive time.Duration, logger *slog.Logger) (*ports, error) {
	p := &ports{}
	named := map[string]struct {
		ln   *net.Listener
		what string
	}{tlsSocketName: {&p.tls, "TLS"}, ircSocketName: {&p.irc, "IRC"}, ircTLSSocketName: {&p.ircTLS, "IRC over TLS"}}
	for _, f := range activation.Files(true) {
		l, lerr := net.FileListener(f)
		name := f.Name()
		f.Close()
		port, isNamed := named[name]
		switch {
		case lerr != nil && isNamed:
			p.close()
			return nil, fmt.Errorf("socket activation: the %s socket systemd passed is not a TCP listener", port.what)
		case lerr != nil && p.plain == nil:
			p.close()
			return nil, errors.New("socket activation: the socket systemd passed is not a TCP listener")
		case lerr != nil:
		case isNamed && *port.ln == nil:
			*port.ln = l
			logger.Info("using the "+port.what+" socket passed by systemd", "addr", l.Addr().String())
		case !isNamed && p.plain == nil:
			p.plain = l
			logger.Info("using the socket passed by systemd", "addr", l.Addr().String())
		default:
			l.Close() // chatd serves one socket of each kind
		}
	}
	var err error
	if p.plain == nil {
		if p.plain, err = actors.Listen(addrs.listen, keepAlive); err != nil {
			p.close()
			return nil, fmt.Errorf("listen on %s: %w", addrs.listen, netio.Cause(err))
		}
	}
	for _, port := range []struct {
		ln         *net.Listener
		addr, what string
	}{{&p.tls, addrs.tlsListen, "TLS port"}, {&p.irc, addrs.ircListen, "IRC port"}, {&p.ircTLS, addrs.ircTLSListen, "IRC TLS port"}} {
		if *port.ln == nil && port.addr != "" {
			if *port.ln, err = actors.Listen(port.addr, keepAlive); err != nil {
				p.close()
				return nil, fmt.Errorf("%s: listen on %s: %w", port.what, port.addr, netio.Cause(err))
			}
		}
	}
	return p, nil
}

// readMOTD reads the message of the day; no path means none.
func readMOTD(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read motd: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, actors.MaxMOTDBytes+1))
	if err != nil {
		return "", fmt.Errorf("read motd %s: %w", path, err)
	}
	if len(b) > actors.MaxMOTDBytes {
		return "", fmt.Errorf("read motd %s: larger than %d bytes", path, actors.MaxMOTDBytes)
	}
	return string(b), nil
}

// serve runs until ctx ends, reloading the message of the day on each
// value from reload (SIGHUP).
func (a *app) serve(ctx context.Context, reload <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.evictedCh:
			a.logger.Error("this node was dropped from the cluster; shutting down so that the supervisor starts it again")
			return
		case <-reload:
			a.reload()
		}
	}
}

// reload rereads the message of the day and the TLS certificate without
// dropping anyone. What cannot be read is logged and the old one stays.
func (a *app) reload() {
	notify(a.logger, daemon.SdNotifyReloading)
	defer notify(a.logger, daemon.SdNotifyReady)
	motd, err := readMOTD(a.cfg.motdPath)
	if err == nil {
		err = a.srv.SetMOTD(motd)
	}
	if err != nil {
		a.logger.Error("reload failed; keeping the old message of the day", "error", err)
	} else {
		a.logger.Info("reloaded", "motd", a.cfg.motdPath)
	}
	if a.cfg.admins != "" {
		if admins, err := readAdmins(a.cfg.admins, a.logger); err != nil {
			a.logger.Error("reload failed; keeping the old operators", "error", err)
		} else {
			a.cfg.server.Admins.Set(admins)
			a.logger.Info("reloaded the operators", "admins", a.cfg.admins, "count", len(admins))
		}
	}
	if a.cert != nil {
		if err := a.cert.reload(); err != nil {
			a.logger.Error("reload failed; keeping the old TLS certificate", "error", err)
		} else {
			a.logger.Info("reloaded the TLS certificate", "cert", a.cert.certFile)
		}
	}
}

// shutdown stops everything, telling systemd first. It returns the chat
// server's error: actors.ErrShutdownTimeout when its deadline had to
// abandon actors that did not stop.
func (a *app) shutdown() error {
	notify(a.logger, daemon.SdNotifyStopping)
	close(a.stopWD)
	err := a.srv.Shutdown(context.Background())
	if a.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), adminShutdownTimeout)
		_ = a.admin.Shutdown(ctx)
		cancel()
	}
	a.wg.Wait()
	if a.store != nil {
		_ = a.store.Close()
	}
	return err
}

// startWatchdog pings systemd's watchdog at half its interval, but only when
// the actors answer: the ping goes through the registry and the rooms actor,
// so a wedged actor system stops the pings and systemd restarts chatd.
func (a *app) startWatchdog() {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		a.logger.Warn("watchdog setting ignored", "error", err)
		return
	}
	if interval <= 0 {
		return
	}
	a.logger.Info("watchdog enabled", "interval", interval)
	a.wg.Go(func() {
		tick := time.NewTicker(interval / 2)
		defer tick.Stop()
		for {
			select {
			case <-a.stopWD:
				return
			case <-tick.C:
				if err := a.srv.Ping(interval / 2); err != nil {
					a.logger.Warn("actors did not answer; withholding the watchdog ping", "error", err)
					continue
				}
				notify(a.logger, daemon.SdNotifyWatchdog)
			}
		}
	})
}

// notify sends state to systemd, if chatd runs under it.
func notify(logger *slog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		logger.Warn("sd_notify failed", "state", state, "error", err)
	}
}

// adminHandler serves /metrics, /healthz, /readyz and /debug/pprof/.
func (a *app) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.srv.Metrics().Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := a.srv.Ping(healthTimeout); err != nil {
			http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		// A store that is down degrades chatd but does not stop the chat:
		// 200, so that nobody restarts chatd for it, with the reason.
		if err := a.srv.StoreHealth(); err != nil {
			fmt.Fprintln(w, "degraded: "+err.Error())
			return
		}
		fmt.Fprintln(w, "ok")
	})
	// Go's profiler, for "where does the time go" on a live server. Not
	// /debug/pprof/cmdline: the command line may hold a password (-store
	// postgres://user:PASSWORD@...); pprof.Index answers it 404.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.srv.Ready() {
			http.Error(w, "not ready: "+a.srv.NotReadyReason(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}
