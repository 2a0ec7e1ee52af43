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
	ln, tlsLn, err := listeners(cfg.listen, cfg.tlsListen, cfg.server.KeepAlive, logger)
	if err != nil {
		if adminL != nil {
			adminL.Close()
		}
		return nil, err
	}
	if tlsLn != nil && cert == nil {
		logger.Warn("systemd passed a TLS socket, but no -tls-cert and -tls-key are set; it is not served")
		tlsLn.Close()
		tlsLn = nil
	}
	if tlsLn != nil {
		cfg.server.TLSListener, cfg.server.TLSConfig = tlsLn, cert.config()
	}
	storeCtx, cancel := context.WithTimeout(ctx, storeOpenTimeout)
	db, where, err := openStore(storeCtx, cfg.storage, lookupEnv)
	cancel()
	if err != nil {
		ln.Close()
		if tlsLn != nil {
			tlsLn.Close()
		}
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
		ln.Close()
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

// tlsSocketName is the FileDescriptorName= of the systemd socket unit that
// passes the TLS port (deploy/systemd/chatd-tls.socket).
const tlsSocketName = "tls"

// listeners returns the sockets systemd passed (socket activation): the
// plain port, and the TLS port if a socket named tls is among them. Without
// passed sockets it listens on addr (and on tlsAddr, if not empty).
func listeners(addr, tlsAddr string, keepAlive time.Duration, logger *slog.Logger) (plain, tlsLn net.Listener, err error) {
	files := activation.Files(true)
	closeAll := func() {
		for _, l := range []net.Listener{plain, tlsLn} {
			if l != nil {
				l.Close()
			}
		}
	}
	for _, f := range files {
		l, lerr := net.FileListener(f)
		name := f.Name()
		f.Close()
		switch {
		case lerr != nil && name == tlsSocketName:
			closeAll()
			return nil, nil, errors.New("socket activation: the TLS socket systemd passed is not a TCP listener")
		case lerr != nil && plain == nil:
			closeAll()
			return nil, nil, errors.New("socket activation: the socket systemd passed is not a TCP listener")
		case lerr != nil:
		case name == tlsSocketName && tlsLn == nil:
			tlsLn = l
			logger.Info("using the TLS socket passed by systemd", "addr", l.Addr().String())
		case plain == nil:
			plain = l
			logger.Info("using the socket passed by systemd", "addr", l.Addr().String())
		default:
			l.Close() // chatd serves one plain socket and one TLS socket
		}
	}
	if plain == nil {
		if plain, err = actors.Listen(addr, keepAlive); err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("listen on %s: %w", addr, netio.Cause(err))
		}
	}
	if tlsLn == nil && tlsAddr != "" {
		if tlsLn, err = actors.Listen(tlsAddr, keepAlive); err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("TLS port: listen on %s: %w", tlsAddr, netio.Cause(err))
		}
	}
	return plain, tlsLn, nil
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
