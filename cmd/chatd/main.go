// Command chatd is the actorchat server: a chat server for telnet and nc
// users, built on the actor model.
//
//	go run ./cmd/chatd -listen :7666
//
// Every flag can also be set from the environment as CHATD_<FLAG> (dashes
// become underscores: CHATD_SHUTDOWN_TIMEOUT); a flag on the command line
// wins. Exit codes: 0 after a clean shutdown, 1 when the server cannot run
// (address in use, unreadable MOTD, ...), 2 for a bad flag or environment
// value, 3 when shutdown had to abandon actors that did not stop within
// -shutdown-timeout (it still exits within the timeout plus half a second).
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
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/actorchat/actorchat/actors"
)

// version is the release, shown in the welcome and by -version; release
// builds set it with -ldflags "-X main.version=...".
var version = "0.1.0"

// Exit codes.
const (
	exitOK        = 0
	exitRuntime   = 1 // the server could not start or run
	exitUsage     = 2 // a bad flag or environment value
	exitAbandoned = 3 // shutdown's deadline passed: actors that did not stop were abandoned
)

// envPrefix starts the environment variable of every flag.
const envPrefix = "CHATD_"

// config is everything chatd's flags set.
type config struct {
	listen    string
	admin     string // admin HTTP address; empty: off
	tlsListen string // TLS port; empty: none

	ircListen    string // IRC port; empty: none
	ircTLSListen string // IRC over TLS port; empty: none
	tlsCert      string
	tlsKey       string
	motdPath     string // empty: no message of the day
	admins       string // file of server operators' accounts; empty: none
	logLevel     slog.Level
	logFormat    string
	knownEnv     []string // the CHATD_ variable of every flag
	storage      storageConfig
	cluster      clusterConfig
	server       actors.Config
}

func main() {
	os.Exit(realMain(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// realMain is main without the process: it returns the exit code.
func realMain(args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "backup":
			return runBackup(args[1:], lookupEnv, stdout, stderr)
		case "oper":
			return runOper(args[1:], os.Stdin, stdout, stderr)
		case "kline":
			return runKline(args[1:], lookupEnv, stdout, stderr)
		}
	}
	cfg, err := parseConfig(args, lookupEnv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatd: %v\n", err)
		return exitUsage
	}
	logger := newLogger(cfg, stderr)
	cfg.server.Logger = logger
	for _, name := range unknownEnv(os.Environ(), cfg.knownEnv) {
		logger.Warn("unknown environment variable ignored; no flag has that name (see chatd -help)", "variable", name)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	a, err := start(ctx, cfg, logger, lookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "chatd: %v\n", err)
		return exitRuntime
	}
	a.serve(ctx, hup)
	stop() // a second signal during shutdown ends the process at once
	if err := a.shutdown(); err != nil {
		return exitAbandoned
	}
	if a.evicted.Load() {
		return exitRuntime // so that the supervisor starts the node again
	}
	return exitOK
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.logLevel}
	if cfg.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// parseConfig reads chatd's flags, then fills every flag not given from its
// environment variable. -help and -version print to stdout and return
// flag.ErrHelp. A bad value is one error line, never a usage dump.
func parseConfig(args []string, lookupEnv func(string) (string, bool), stdout io.Writer) (config, error) {
	def := actors.DefaultConfig()
	cfg := config{server: def}
	fs := flag.NewFlagSet("chatd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&cfg.listen, "listen", ":7666", "TCP address to listen on (ignored when systemd passes a socket)")
	fs.StringVar(&cfg.ircListen, "irc-listen", "", "TCP address of a port that serves the same chat to IRC clients, e.g. :6667 (ignored when systemd passes a socket named irc)")
	fs.StringVar(&cfg.server.IRCName, "irc-name", def.IRCName, "the server's name on IRC, the source of its replies; a name with a dot, such as irc.example.org")
	fs.StringVar(&cfg.ircTLSListen, "irc-tls-listen", "", "TCP address of a port that serves IRC over TLS 1.2+, e.g. :6697; needs -tls-cert and -tls-key (ignored when systemd passes a socket named irc-tls)")
	fs.StringVar(&cfg.tlsListen, "tls-listen", "", "TCP address of a second port that serves the same chat over TLS 1.2+, e.g. :7667; needs -tls-cert and -tls-key (ignored when systemd passes a socket named tls)")
	fs.StringVar(&cfg.tlsCert, "tls-cert", "", "PEM file of the TLS port's certificate (chain); SIGHUP reloads it")
	fs.StringVar(&cfg.tlsKey, "tls-key", "", "PEM file of the TLS certificate's private key; SIGHUP reloads it")
	fs.StringVar(&cfg.admin, "admin", "", "address of the admin HTTP endpoint (/metrics, /healthz, /readyz), e.g. 127.0.0.1:9766; empty: off")
	cfg.cluster.flags(fs)
	fs.StringVar(&cfg.admins, "admins", "", "file of the server operators: a line each, NAME and the hash of its password as 'chatd oper hash NAME' prints it (# starts a comment); they become operators with /oper NAME PASSWORD; SIGHUP rereads it")
	fs.IntVar(&cfg.server.KlineRules.MinBits4, "kline-min-prefix", 16, "the widest IPv4 range a k-line may cover, as a prefix length (16: a /16)")
	fs.IntVar(&cfg.server.KlineRules.MinBits6, "kline-min-prefix6", 32, "the widest IPv6 range a k-line may cover, as a prefix length (32: a /32)")
	fs.StringVar(&cfg.motdPath, "motd", "", "file with the message of the day, shown after the welcome; SIGHUP reloads it")
	fs.DurationVar(&cfg.server.ShutdownTimeout, "shutdown-timeout", def.ShutdownTimeout, "graceful shutdown must finish within this")
	fs.IntVar(&cfg.server.HistoryLen, "history", def.HistoryLen, "messages a room replays to a user who joins (0: none)")
	fs.IntVar(&cfg.server.MaxRoomsPerUser, "max-rooms", def.MaxRoomsPerUser, "rooms one user may be in at once (the lobby a user lands in does not count)")
	fs.IntVar(&cfg.server.HistoryMax, "history-max", def.HistoryMax, "posts a room keeps in memory for /history N (N at most this)")
	fs.StringVar(&cfg.storage.store, "store", storeEmbedded, "where history and topics are kept: sqlite (a file in -data), a postgres://user:password@host/db URL (shared by cluster nodes), or none (memory only)")
	fs.StringVar(&cfg.storage.data, "data", "", "directory of the sqlite store, created readable by its owner only (default: $STATE_DIRECTORY under systemd, else $XDG_STATE_HOME/chatd or ~/.local/state/chatd)")
	fs.DurationVar(&cfg.server.StoreFlushInterval, "store-flush", def.StoreFlushInterval, "posts are written to the store within this; after a crash (SIGKILL) at most the posts of this last interval are lost")
	fs.IntVar(&cfg.server.StoreQueue, "store-queue", def.StoreQueue, "posts and topics waiting for the store at most; while the store is down, more are delivered but not stored")
	fs.DurationVar(&cfg.server.StoreTimeout, "store-timeout", def.StoreTimeout, "longest one call to the store may take before it counts as failed (and is retried)")
	fs.Var(ageValue{&cfg.server.Retention.MaxAge}, "retention", "delete stored posts older than this, e.g. 30d or 720h, and the topics of rooms with nothing left (0: keep them)")
	fs.IntVar(&cfg.server.Retention.PerRoom, "retention-posts", def.Retention.PerRoom, "keep at most this many stored posts per room, the newest (0: no limit)")
	fs.IntVar(&cfg.server.AuthFailBurst, "auth-fail-burst", def.AuthFailBurst, "failed password attempts allowed at once, per account and per client address; then -auth-fail-every")
	fs.DurationVar(&cfg.server.AuthFailEvery, "auth-fail-every", def.AuthFailEvery, "after -auth-fail-burst failures, one more attempt per this, per account and per client address")
	fs.IntVar(&cfg.server.RegisterBurst, "register-burst", def.RegisterBurst, "accounts one client address (an IPv6 /64) may register at once; then -register-every")
	fs.DurationVar(&cfg.server.RegisterEvery, "register-every", def.RegisterEvery, "after -register-burst registrations, one more per this, per client address")
	fs.Var(ageValue{&cfg.server.AccountExpiry}, "account-expiry", "remove accounts nobody has identified as for this long, e.g. 365d (0: never)")
	fs.DurationVar(&cfg.server.PostBatchWindow, "post-batch-window", def.PostBatchWindow, "a room sends the posts made within this of each other as one batch to each member (less work per delivery); -1ns: no wait")
	fs.IntVar(&cfg.server.QuietRoomSize, "quiet-room-size", def.QuietRoomSize, "rooms with more members than this do not announce joins and leaves (0: always announce)")
	fs.IntVar(&cfg.server.MaxLineBytes, "max-line", def.MaxLineBytes, "longest input line in bytes; longer lines are refused")
	fs.IntVar(&cfg.server.OutboxBytes, "outbox", def.OutboxBytes, "bytes queued for one client before it is disconnected as a slow consumer")
	fs.DurationVar(&cfg.server.WriteTimeout, "write-timeout", def.WriteTimeout, "longest one write to a client may block before it is disconnected as a slow consumer")
	fs.Float64Var(&cfg.server.FloodRate, "flood-rate", def.FloodRate, "input lines per second one connection may sustain (0: no flood control)")
	fs.IntVar(&cfg.server.FloodBurst, "flood-burst", def.FloodBurst, "input lines one connection may send at once before -flood-rate applies")
	fs.IntVar(&cfg.server.FloodQueueLines, "flood-queue", def.FloodQueueLines, "input lines over the flood allowance that wait their turn (released at -flood-rate); past it lines are dropped")
	fs.IntVar(&cfg.server.FloodQueueBytes, "flood-queue-bytes", def.FloodQueueBytes, "bytes of input lines that wait their turn, at most")
	fs.IntVar(&cfg.server.FloodStrikes, "flood-strikes", def.FloodStrikes, "dropped input lines (one forgiven a second) before a flooding client is disconnected")
	fs.DurationVar(&cfg.server.RequestTimeout, "request-timeout", def.RequestTimeout, "longest a command waits for an answer from the registry or a room before it fails")
	fs.IntVar(&cfg.server.MaxConns, "max-conns", def.MaxConns, "open connections at most (0: no limit)")
	fs.IntVar(&cfg.server.MaxConnsPerIP, "max-conns-per-ip", def.MaxConnsPerIP, "open connections from one IP address at most (0: no limit)")
	fs.DurationVar(&cfg.server.IdleTimeout, "idle-timeout", def.IdleTimeout, "disconnect a client that sends nothing for this long (0: never)")
	fs.IntVar(&cfg.server.SendBuffer, "send-buffer", def.SendBuffer, "kernel send buffer of each client socket in bytes (0: the kernel's autotuned default)")
	fs.TextVar(&cfg.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "log format: text or json (one event per line on stderr)")
	showVersion := fs.Bool("version", false, "print the version and exit")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, stdout)
			return cfg, err
		}
		return cfg, explainParseError(fs, err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (flags start with -; see chatd -help)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || envErr != nil || f.Name == "version" {
			return
		}
		if v, ok := lookupEnv(envName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("invalid value %q for %s: %v", v, envName(f.Name), valueHint(f, err))
			}
		}
	})
	if envErr != nil {
		return cfg, envErr
	}
	if *showVersion {
		fmt.Fprintf(stdout, "chatd %s\n", version)
		return cfg, flag.ErrHelp
	}
	if err := validate(cfg); err != nil {
		return cfg, err
	}
	fs.VisitAll(func(f *flag.Flag) { cfg.knownEnv = append(cfg.knownEnv, envName(f.Name)) })
	cfg.server.Version = version
	return cfg, nil
}

// flagParseError is how the flag package reports a value it cannot parse;
// its reason says only "parse error".
var flagParseError = regexp.MustCompile(`^invalid value "(.*)" for flag -([\w-]+): parse error$`)

// explainParseError replaces the flag package's "parse error" with what the
// value should look like.
func explainParseError(fs *flag.FlagSet, err error) error {
	m := flagParseError.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	f := fs.Lookup(m[2])
	if f == nil {
		return err
	}
	return fmt.Errorf("invalid value %q for flag -%s: %v", m[1], m[2], valueHint(f, err))
}

// valueHint says what a flag's value should look like, for an error that
// does not.
func valueHint(f *flag.Flag, err error) error {
	if !strings.HasSuffix(err.Error(), "parse error") {
		return err
	}
	getter, ok := f.Value.(flag.Getter)
	if !ok {
		return err
	}
	switch getter.Get().(type) {
	case time.Duration:
		return errors.New("a duration needs a number and a unit, such as 5s, 500ms or 2m")
	case int:
		return errors.New("not a whole number")
	case float64:
		return errors.New("not a number")
	case bool:
		return errors.New("not true or false")
	}
	return err
}

// unknownEnv returns the CHATD_ variables in environ that set no flag: most
// likely typos (CHATD_HISTROY), which would otherwise be ignored in silence.
func unknownEnv(environ, known []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envPrefix) && !slices.Contains(known, name) {
			out = append(out, name)
		}
	}
	return out
}

// checkAddr checks that a flag's value is a TCP address chatd can listen on
// (host:port, the host may be empty), so that a typo is a usage error.
func checkAddr(flagName, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = net.LookupPort("tcp", port)
	}
	if err != nil {
		var addrErr *net.AddrError
		var dnsErr *net.DNSError
		if errors.As(err, &addrErr) {
			err = errors.New(addrErr.Err)
		} else if errors.As(err, &dnsErr) {
			err = errors.New(dnsErr.Err)
		}
		return fmt.Errorf("invalid -%s %q: %v (want HOST:PORT, such as :7666 or 127.0.0.1:7666)", flagName, addr, err)
	}
	return nil
}

// validIRCName reports whether name can be a server's name on IRC: letters,
// digits, '-' and at least one '.' (IRC clients take a source with a dot and
// no '!' for a server), at most 63 bytes.
func validIRCName(name string) bool {
	if len(name) > 63 || !strings.Contains(name, ".") {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// envName is the environment variable of a flag: CHATD_SHUTDOWN_TIMEOUT for
// -shutdown-timeout.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, `Usage: chatd [flags]

chatd is the actorchat chat server: connect with telnet, nc or cmd/chat.
Every flag can also be set with the environment variable CHATD_<FLAG>
(for example CHATD_LISTEN=:7666, CHATD_SHUTDOWN_TIMEOUT=10s); a flag on
the command line wins. SIGINT/SIGTERM shut down gracefully; SIGHUP reloads
the message of the day, the TLS certificate and the operators (-admins).

Room posts and topics are kept in the store (-store, -data) across restarts;
private messages never are. chatd backup -o FILE copies the sqlite store
while chatd runs (chatd backup -help).

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

func validate(cfg config) error {
	s := cfg.server
	switch {
	case s.ShutdownTimeout <= 0:
		return fmt.Errorf("-shutdown-timeout must be positive, got %v", s.ShutdownTimeout)
	case s.HistoryLen < 0:
		return fmt.Errorf("-history must be 0 or more, got %d", s.HistoryLen)
	case s.MaxRoomsPerUser < 1 || s.MaxRoomsPerUser > 1000:
		return fmt.Errorf("-max-rooms must be from 1 to 1000, got %d", s.MaxRoomsPerUser)
	case s.HistoryMax < 1 || s.HistoryMax < s.HistoryLen || s.HistoryMax > 10000:
		return fmt.Errorf("-history-max must be from -history (%d) to 10000, got %d", s.HistoryLen, s.HistoryMax)
	case s.StoreFlushInterval < time.Millisecond:
		return fmt.Errorf("-store-flush must be at least 1ms, got %v", s.StoreFlushInterval)
	case s.StoreQueue < 1:
		return fmt.Errorf("-store-queue must be at least 1, got %d", s.StoreQueue)
	case s.StoreTimeout < 10*time.Millisecond:
		return fmt.Errorf("-store-timeout must be at least 10ms, got %v", s.StoreTimeout)
	case s.PostBatchWindow > time.Second:
		return fmt.Errorf("-post-batch-window must be at most 1s, got %v", s.PostBatchWindow)
	case s.AuthFailBurst < 1:
		return fmt.Errorf("-auth-fail-burst must be at least 1, got %d", s.AuthFailBurst)
	case s.AuthFailEvery < time.Second:
		return fmt.Errorf("-auth-fail-every must be at least 1s, got %v", s.AuthFailEvery)
	case s.RegisterBurst < 1:
		return fmt.Errorf("-register-burst must be at least 1, got %d", s.RegisterBurst)
	case s.RegisterEvery < time.Second:
		return fmt.Errorf("-register-every must be at least 1s, got %v", s.RegisterEvery)
	case s.AccountExpiry != 0 && s.AccountExpiry < 24*time.Hour:
		return fmt.Errorf("-account-expiry must be 0 (never) or at least 1d, got %v", s.AccountExpiry)
	case s.KlineRules.MinBits4 < 1 || s.KlineRules.MinBits4 > 32:
		return fmt.Errorf("-kline-min-prefix must be from 1 to 32, got %d", s.KlineRules.MinBits4)
	case s.KlineRules.MinBits6 < 1 || s.KlineRules.MinBits6 > 128:
		return fmt.Errorf("-kline-min-prefix6 must be from 1 to 128, got %d", s.KlineRules.MinBits6)
	case s.Retention.PerRoom < 0:
		return fmt.Errorf("-retention-posts must be 0 or more, got %d", s.Retention.PerRoom)
	case s.QuietRoomSize < 0:
		return fmt.Errorf("-quiet-room-size must be 0 or more, got %d", s.QuietRoomSize)
	case s.MaxLineBytes < 16:
		return fmt.Errorf("-max-line must be at least 16, got %d", s.MaxLineBytes)
	case s.OutboxBytes < 4096:
		return fmt.Errorf("-outbox must be at least 4096, got %d", s.OutboxBytes)
	case s.WriteTimeout < 10*time.Millisecond:
		return fmt.Errorf("-write-timeout must be at least 10ms, got %v", s.WriteTimeout)
	case s.FloodRate < 0:
		return fmt.Errorf("-flood-rate must be 0 or more, got %g", s.FloodRate)
	case s.FloodBurst < 1:
		return fmt.Errorf("-flood-burst must be at least 1, got %d", s.FloodBurst)
	case s.FloodQueueLines < 1:
		return fmt.Errorf("-flood-queue must be at least 1, got %d", s.FloodQueueLines)
	case s.FloodQueueBytes < s.MaxLineBytes:
		return fmt.Errorf("-flood-queue-bytes must be at least -max-line (%d), got %d", s.MaxLineBytes, s.FloodQueueBytes)
	case s.FloodStrikes < 1:
		return fmt.Errorf("-flood-strikes must be at least 1, got %d", s.FloodStrikes)
	case s.RequestTimeout < 10*time.Millisecond:
		return fmt.Errorf("-request-timeout must be at least 10ms, got %v", s.RequestTimeout)
	case s.MaxConns < 0:
		return fmt.Errorf("-max-conns must be 0 or more, got %d", s.MaxConns)
	case s.MaxConnsPerIP < 0:
		return fmt.Errorf("-max-conns-per-ip must be 0 or more, got %d", s.MaxConnsPerIP)
	case s.IdleTimeout < 0:
		return fmt.Errorf("-idle-timeout must be 0 or more, got %v", s.IdleTimeout)
	case s.SendBuffer < 0:
		return fmt.Errorf("-send-buffer must be 0 or more, got %d", s.SendBuffer)
	case cfg.logFormat != "text" && cfg.logFormat != "json":
		return fmt.Errorf("-log-format must be text or json, got %q", cfg.logFormat)
	}
	if err := validStore(cfg.storage.store); err != nil {
		return err
	}
	if err := cfg.cluster.validate(); err != nil {
		return err
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	if cfg.tlsListen != "" && cfg.tlsCert == "" {
		return errors.New("-tls-listen needs -tls-cert and -tls-key")
	}
	if !validIRCName(cfg.server.IRCName) {
		return fmt.Errorf("invalid -irc-name %q: want a host name with a dot, such as irc.example.org", cfg.server.IRCName)
	}
	if cfg.ircTLSListen != "" && cfg.tlsCert == "" {
		return errors.New("-irc-tls-listen needs -tls-cert and -tls-key")
	}
	for _, port := range []struct{ flag, addr string }{{"tls-listen", cfg.tlsListen}, {"irc-listen", cfg.ircListen}, {"irc-tls-listen", cfg.ircTLSListen}} {
		if port.addr == "" {
			continue
		}
		if err := checkAddr(port.flag, port.addr); err != nil {
			return err
		}
	}
	if err := checkAddr("listen", cfg.listen); err != nil {
		return err
	}
	if cfg.admin != "" {
		return checkAddr("admin", cfg.admin)
	}
	return nil
}
