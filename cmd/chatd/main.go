// Command chatd is the actorchat server: a chat server for telnet and nc
// users, built on the actor model.
//
//	go run ./cmd/chatd -listen :7666
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/actorchat/actorchat/actors"
)

// version is the release, shown in the welcome and by -version; release
// builds set it with -ldflags "-X main.version=...".
var version = "0.1.0"

// config is everything chatd's flags set.
type config struct {
	listen   string
	logLevel slog.Level
	server   actors.Config
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chatd: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	cfg.server.Logger = logger

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, stop, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "chatd: %v\n", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down gracefully. stop is called when
// shutdown begins, so that a second signal ends the process at once.
func run(ctx context.Context, stop func(), cfg config) error {
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	srv := actors.Start(ln, cfg.server)
	<-ctx.Done()
	stop()
	// A shutdown that had to cut clients off still ends the process cleanly:
	// Shutdown has logged it.
	_ = srv.Shutdown(context.Background())
	return nil
}

// parseFlags reads chatd's flags. Usage and errors go to out.
func parseFlags(args []string, out io.Writer) (config, error) {
	def := actors.DefaultConfig()
	cfg := config{server: def}
	fs := flag.NewFlagSet("chatd", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.listen, "listen", ":7666", "TCP address to listen on")
	fs.DurationVar(&cfg.server.ShutdownTimeout, "shutdown-timeout", def.ShutdownTimeout, "graceful shutdown must finish within this")
	fs.IntVar(&cfg.server.HistoryLen, "history", def.HistoryLen, "messages a room replays to a user who joins (0: none)")
	fs.IntVar(&cfg.server.MaxLineBytes, "max-line", def.MaxLineBytes, "longest input line in bytes; longer lines are refused")
	fs.IntVar(&cfg.server.OutboxBytes, "outbox", def.OutboxBytes, "bytes queued for one client before it is disconnected as a slow consumer")
	fs.DurationVar(&cfg.server.WriteTimeout, "write-timeout", def.WriteTimeout, "longest one write to a client may block before it is disconnected as a slow consumer")
	fs.Float64Var(&cfg.server.FloodRate, "flood-rate", def.FloodRate, "input lines per second one connection may sustain (0: no flood control)")
	fs.IntVar(&cfg.server.FloodBurst, "flood-burst", def.FloodBurst, "input lines one connection may send at once before -flood-rate applies")
	fs.IntVar(&cfg.server.MaxConns, "max-conns", def.MaxConns, "open connections at most (0: no limit)")
	fs.IntVar(&cfg.server.MaxConnsPerIP, "max-conns-per-ip", def.MaxConnsPerIP, "open connections from one IP address at most (0: no limit)")
	fs.DurationVar(&cfg.server.IdleTimeout, "idle-timeout", def.IdleTimeout, "disconnect a client that sends nothing for this long (0: never)")
	fs.IntVar(&cfg.server.SendBuffer, "send-buffer", def.SendBuffer, "kernel send buffer of each client socket in bytes (0: the kernel's autotuned default)")
	fs.TextVar(&cfg.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	if *showVersion {
		fmt.Fprintf(out, "chatd %s\n", version)
		return cfg, flag.ErrHelp
	}
	if err := validate(cfg); err != nil {
		return cfg, err
	}
	cfg.server.Version = version
	return cfg, nil
}

func validate(cfg config) error {
	switch {
	case cfg.server.ShutdownTimeout <= 0:
		return fmt.Errorf("-shutdown-timeout must be positive, got %v", cfg.server.ShutdownTimeout)
	case cfg.server.HistoryLen < 0:
		return fmt.Errorf("-history must be 0 or more, got %d", cfg.server.HistoryLen)
	case cfg.server.MaxLineBytes < 16:
		return fmt.Errorf("-max-line must be at least 16, got %d", cfg.server.MaxLineBytes)
	case cfg.server.OutboxBytes < 4096:
		return fmt.Errorf("-outbox must be at least 4096, got %d", cfg.server.OutboxBytes)
	case cfg.server.WriteTimeout < 10*time.Millisecond:
		return fmt.Errorf("-write-timeout must be at least 10ms, got %v", cfg.server.WriteTimeout)
	case cfg.server.FloodRate < 0:
		return fmt.Errorf("-flood-rate must be 0 or more, got %g", cfg.server.FloodRate)
	case cfg.server.FloodBurst < 1:
		return fmt.Errorf("-flood-burst must be at least 1, got %d", cfg.server.FloodBurst)
	case cfg.server.MaxConns < 0:
		return fmt.Errorf("-max-conns must be 0 or more, got %d", cfg.server.MaxConns)
	case cfg.server.MaxConnsPerIP < 0:
		return fmt.Errorf("-max-conns-per-ip must be 0 or more, got %d", cfg.server.MaxConnsPerIP)
	case cfg.server.IdleTimeout < 0:
		return fmt.Errorf("-idle-timeout must be 0 or more, got %v", cfg.server.IdleTimeout)
	case cfg.server.SendBuffer < 0:
		return fmt.Errorf("-send-buffer must be 0 or more, got %d", cfg.server.SendBuffer)
	}
	return nil
}
