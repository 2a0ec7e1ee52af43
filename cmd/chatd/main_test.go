package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/actorchat/actorchat/actors"
	"github.com/actorchat/actorchat/internal/faults"
	"github.com/actorchat/actorchat/internal/faults/faultpb"
	"github.com/actorchat/actorchat/internal/testkit"
)

const waitTimeout = testkit.WaitTimeout

// chatdBin is the chatd binary that the tests of the process (exit codes,
// socket activation) run; chatdFaultsBin is the same built with the
// chatdfaults tag, whose clients can inject faults ("!fault ..."). TestMain
// builds both.
var chatdBin, chatdFaultsBin string

func TestMain(m *testing.M) {
	if targets := os.Getenv(strangerEnv); targets != "" {
		runStranger(targets) // this process is a test's stranger on the cluster port
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "chatd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	chatdBin, chatdFaultsBin = filepath.Join(dir, "chatd"), filepath.Join(dir, "chatd-faults")
	// A chatd a test starts without -data or CHATD_DATA keeps its store
	// here, not in the home directory. Tests give each chatd a store of its
	// own, so that no test sees another's history.
	if err := os.Setenv("XDG_STATE_HOME", dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, build := range [][]string{{"-o", chatdBin}, {"-tags", "chatdfaults", "-o", chatdFaultsBin}} {
		if out, err := exec.Command("go", append(append([]string{"build"}, build...), ".")...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build chatd %v: %v\n%s", build, err, out)
			os.Exit(1)
		}
	}
	code := 0
	func() {
		defer os.RemoveAll(dir)
		code = m.Run()
	}()
	if code == 0 {
		if err := goleak.Find(testkit.LeakOptions()...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func noEnv(string) (string, bool) { return "", false }

func TestConfigFromEnvironment(t *testing.T) {
	env := map[string]string{
		"CHATD_LISTEN":           "127.0.0.1:9999",
		"CHATD_HISTORY":          "7",
		"CHATD_SHUTDOWN_TIMEOUT": "9s",
		"CHATD_FLOOD_RATE":       "0",
		"CHATD_LOG_FORMAT":       "json",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := parseConfig([]string{"-history", "3"}, lookup, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.listen != "127.0.0.1:9999" || cfg.server.ShutdownTimeout != 9*time.Second || cfg.server.FloodRate != 0 || cfg.logFormat != "json" {
		t.Errorf("environment not applied: %+v", cfg)
	}
	if cfg.server.HistoryLen != 3 {
		t.Errorf("history %d, want the flag's 3 over the environment's 7", cfg.server.HistoryLen)
	}
	env["CHATD_MAX_CONNS"] = "lots"
	if _, err := parseConfig(nil, lookup, io.Discard); err == nil || err.Error() != `invalid value "lots" for CHATD_MAX_CONNS: not a whole number` {
		t.Errorf("got %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-history", "-1"}, "-history must be 0 or more, got -1"},
		{[]string{"-shutdown-timeout", "0s"}, "-shutdown-timeout must be positive, got 0s"},
		{[]string{"-log-format", "xml"}, `-log-format must be text or json, got "xml"`},
		{[]string{"-log-level", "loud"}, `invalid value "loud" for flag -log-level: slog: level string "loud": unknown name`},
		{[]string{"stray"}, `unexpected argument "stray" (flags start with -; see chatd -help)`},
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
		{[]string{"-shutdown-timeout", "5"}, `invalid value "5" for flag -shutdown-timeout: a duration needs a number and a unit, such as 5s, 500ms or 2m`},
		{[]string{"-history", "many"}, `invalid value "many" for flag -history: not a whole number`},
		{[]string{"-flood-rate", "fast"}, `invalid value "fast" for flag -flood-rate: not a number`},
		{[]string{"-listen", "7666"}, `invalid -listen "7666": missing port in address (want HOST:PORT, such as :7666 or 127.0.0.1:7666)`},
		{[]string{"-listen", "localhost:http-alt-nope"}, `invalid -listen "localhost:http-alt-nope": unknown port (want HOST:PORT, such as :7666 or 127.0.0.1:7666)`},
		{[]string{"-admin", "127.0.0.1"}, `invalid -admin "127.0.0.1": missing port in address (want HOST:PORT, such as :7666 or 127.0.0.1:7666)`},
		{[]string{"-request-timeout", "1ms"}, "-request-timeout must be at least 10ms, got 1ms"},
		{[]string{"-flood-queue", "0"}, "-flood-queue must be at least 1, got 0"},
		{[]string{"-node", "127.0.0.1:7701"}, "-node, -peers, -etcd and -cluster-tls-* need -cluster"},
		{[]string{"-cluster", "demo", "-node", "10.0.0.5:7701", "-peers", "10.0.0.5:7801"}, `-node 10.0.0.5:7701 is not on loopback, and cluster traffic without TLS can be forged by anyone who reaches it: give -cluster-tls-cert, -cluster-tls-key and -cluster-tls-ca (see the README's "Running a cluster"), or -cluster-insecure if the network is trusted`},
		{[]string{"-cluster", "demo", "-node", "10.0.0.5:7701", "-peers", "10.0.0.5:7801", "-cluster-tls-cert", "node.pem"}, "-cluster-tls-cert, -cluster-tls-key and -cluster-tls-ca go together"},
		{[]string{"-cluster", "demo", "-node", "127.0.0.1:7701", "-peers", "127.0.0.1:7801", "-cluster-join-timeout", "10ms"}, "-cluster-join-timeout must be at least 1s, got 10ms"},
		{[]string{"-cluster", "demo"}, "-cluster needs -node HOST:PORT, the address of this node's cluster transport"},
		{[]string{"-cluster", "demo", "-node", ":7701"}, `-node must be HOST:PORT with a host the other nodes can reach, got ":7701"`},
		{[]string{"-cluster", "demo", "-node", "10.0.0.5:7701"}, "-cluster-provider automanaged needs -peers: the health endpoint (host:port) of every node"},
		{[]string{"-cluster", "demo", "-node", "10.0.0.5:7701", "-peers", "10.0.0.5"}, `-peers: "10.0.0.5" is not host:port`},
		{[]string{"-cluster", "demo", "-node", "10.0.0.5:7701", "-peers", "10.0.0.5:7801", "-cluster-health-port", "7701"}, "-cluster-health-port must be a port other than the -node port, got 7701"},
		{[]string{"-cluster", "demo", "-node", "10.0.0.5:7701", "-cluster-provider", "etcd"}, "-cluster-provider etcd needs -etcd: etcd's client URLs"},
		{[]string{"-cluster", "demo", "-node", "10.0.0.5:7701", "-cluster-provider", "zk"}, `-cluster-provider must be automanaged or etcd, got "zk"`},
	}
	for _, tt := range tests {
		if _, err := parseConfig(tt.args, noEnv, io.Discard); err == nil || err.Error() != tt.want {
			t.Errorf("%v: got %v, want %q", tt.args, err, tt.want)
		}
	}
}

// runChatd runs the binary to its end and returns its exit code and stderr.
func runChatd(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, chatdBin, args...)
	cmd.Env = append(append(os.Environ(), "CHATD_DATA="+t.TempDir()), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run chatd: %v", err)
	}
	return code, stdout.String(), stderr.String()
}

func TestProcessErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	huge := filepath.Join(t.TempDir(), "huge-motd")
	if err := os.WriteFile(huge, bytes.Repeat([]byte("x"), actors.MaxMOTDBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	nobody := testkit.FreeAddr(t) // nothing listens there
	unreadable := filepath.Join(t.TempDir(), "motd")
	if err := os.WriteFile(unreadable, []byte("hi"), 0o000); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stderr string
	}{
		{"unknown flag", nil, []string{"-bogus"}, 2, "chatd: flag provided but not defined: -bogus\n"},
		{"bad value", nil, []string{"-history", "many"}, 2, "chatd: invalid value \"many\" for flag -history: not a whole number\n"},
		{"duration without a unit", nil, []string{"-shutdown-timeout", "5"}, 2, "chatd: invalid value \"5\" for flag -shutdown-timeout: a duration needs a number and a unit, such as 5s, 500ms or 2m\n"},
		{"malformed listen address", nil, []string{"-listen", "nowhere"}, 2, "chatd: invalid -listen \"nowhere\": missing port in address (want HOST:PORT, such as :7666 or 127.0.0.1:7666)\n"},
		{"bad environment", []string{"CHATD_IDLE_TIMEOUT=soon"}, nil, 2, "chatd: invalid value \"soon\" for CHATD_IDLE_TIMEOUT: a duration needs a number and a unit, such as 5s, 500ms or 2m\n"},
		{"port in use", nil, []string{"-listen", busy.Addr().String()}, 1, "chatd: listen on " + busy.Addr().String() + ": address already in use\n"},
		{"admin port in use", nil, []string{"-listen", "127.0.0.1:0", "-admin", busy.Addr().String()}, 1, "chatd: admin endpoint: listen on " + busy.Addr().String() + ": address already in use\n"},
		{"missing motd", nil, []string{"-listen", "127.0.0.1:0", "-motd", "/nonexistent/motd"}, 1, "chatd: read motd: open /nonexistent/motd: no such file or directory\n"},
		{"oversized motd", nil, []string{"-listen", "127.0.0.1:0", "-motd", huge}, 1, "chatd: read motd " + huge + ": larger than 16384 bytes\n"},
		{"postgres not there", []string{"CHATD_STORE=postgres://chatd:secret@" + nobody + "/chat"}, []string{"-listen", "127.0.0.1:0"}, 1,
			"chatd: store postgres://chatd:xxxxx@" + nobody + "/chat: postgres: cannot connect as user chatd to database chat: " +
				nobody + " (127.0.0.1): dial error: dial tcp " + nobody + ": connect: connection refused\n"},
	}
	if os.Geteuid() != 0 { // root reads any file
		tests = append(tests, struct {
			name   string
			env    []string
			args   []string
			code   int
			stderr string
		}{"unreadable motd", nil, []string{"-listen", "127.0.0.1:0", "-motd", unreadable}, 1, "chatd: read motd: open " + unreadable + ": permission denied\n"})
	}
	t.Run("unknown environment variable", func(t *testing.T) {
		code, _, stderr := runChatd(t, []string{"CHATD_HISTROY=3"}, "-listen", busy.Addr().String())
		if code != 1 || !strings.Contains(stderr, `level=WARN msg="unknown environment variable ignored; no flag has that name (see chatd -help)" variable=CHATD_HISTROY`) {
			t.Errorf("exit %d, stderr %q; want a warning naming CHATD_HISTROY", code, stderr)
		}
	})
	// A cluster port or health port in use: the store is open by then (its
	// INFO line comes first), so the last line is the one to read.
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	free := testkit.FreeAddr(t)
	for _, tc := range []struct{ name, node, health, want string }{
		{"cluster port in use", busy.Addr().String(), "", "chatd: joining the cluster: cluster port: listen tcp " + busy.Addr().String() + ": bind: address already in use"},
		{"cluster health port in use", free, busyPort, "chatd: joining the cluster: cluster health endpoint: listen tcp " + busy.Addr().String() + ": bind: address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"-listen", "127.0.0.1:0", "-cluster", "t", "-node", tc.node, "-peers", "127.0.0.1:1"}
			if tc.health != "" {
				args = append(args, "-cluster-health-port", tc.health)
			}
			code, _, stderr := runChatd(t, nil, args...)
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if code != 1 || lines[len(lines)-1] != tc.want || strings.Count(stderr, "chatd: ") != 1 || strings.Contains(stderr, "level=ERROR") {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1, ending in one line %q", code, stderr, tc.want)
			}
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runChatd(t, tt.env, tt.args...)
			if code != tt.code || stderr != tt.stderr {
				t.Errorf("exit %d, stderr %q; want exit %d, stderr %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	code, stdout, stderr := runChatd(t, nil, "-version")
	if code != 0 || stdout != "chatd "+version+"\n" || stderr != "" {
		t.Errorf("-version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = runChatd(t, nil, "-help")
	if code != 0 {
		t.Errorf("-help: exit %d", code)
	}
	for _, want := range []string{"CHATD_<FLAG>", "-listen string", `(default ":7666")`, "-shutdown-timeout duration", "(default 5s)", "-admin string", "-motd string", "-flood-rate float", "-log-format string",
		"-cluster string", "-node string", "-peers string", "-cluster-provider string", "-etcd string", "-cluster-refresh duration"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("-help does not mention %q", want)
		}
	}
}

// notifySocket is a fake systemd notification socket.
type notifySocket struct {
	conn *net.UnixConn
	msgs chan string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySocket{conn: conn, msgs: make(chan string, 1024)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				close(n.msgs)
				return
			}
			n.msgs <- string(buf[:k])
		}
	}()
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return n
}

// next returns the next state that is not a watchdog ping, and how many
// watchdog pings came before it.
func (n *notifySocket) next(t *testing.T) (string, int) {
	t.Helper()
	pings := 0
	for {
		select {
		case m := <-n.msgs:
			if m == "WATCHDOG=1" {
				pings++
				continue
			}
			return m, pings
		case <-time.After(waitTimeout):
			t.Fatalf("no notification within %v", waitTimeout)
			return "", 0
		}
	}
}

// waitPing waits for a watchdog ping.
func (n *notifySocket) waitPing(t *testing.T) {
	t.Helper()
	for {
		select {
		case m := <-n.msgs:
			if m == "WATCHDOG=1" {
				return
			}
		case <-time.After(waitTimeout):
			t.Fatalf("no watchdog ping within %v", waitTimeout)
		}
	}
}

func testConfig(t *testing.T, args ...string) config {
	t.Helper()
	cfg, err := parseConfig(append([]string{"-listen", "127.0.0.1:0", "-data", t.TempDir()}, args...), noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.server.Logger = slog.New(slog.DiscardHandler)
	// The tests' fault injection; what it wedges is released when the test
	// ends.
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	cfg.server.Middleware = []actor.ReceiverMiddleware{faults.New(release).Middleware}
	return cfg
}

func dialLines(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	return conn, bufio.NewReader(conn)
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, line)
	}
	// The telnet option offer before the welcome; see docs/protocol.md.
	line = strings.TrimPrefix(line, "\xff\xfd\x00\r")
	return strings.TrimRight(line, "\r\n")
}

// TestSystemdNotifications checks the sd_notify states in order: READY=1
// once chatd accepts connections, watchdog pings while it runs,
// RELOADING=1 then READY=1 around a reload, STOPPING=1 when shutdown begins.
func TestSystemdNotifications(t *testing.T) {
	n := newNotifySocket(t)
	t.Setenv("WATCHDOG_USEC", "100000") // 100ms
	a, err := start(context.Background(), testConfig(t), slog.New(slog.DiscardHandler), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if state, _ := n.next(t); state != "READY=1" {
		t.Fatalf("first state %q, want READY=1", state)
	}
	// READY=1 came after the server accepts: a client gets its welcome.
	_, r := dialLines(t, a.srv.Addr().String())
	if line := readLine(t, r); !strings.HasPrefix(line, "*** Welcome") {
		t.Errorf("got %q", line)
	}
	n.waitPing(t)

	a.reload()
	if state, _ := n.next(t); state != "RELOADING=1" {
		t.Errorf("got %q, want RELOADING=1", state)
	}
	if state, _ := n.next(t); state != "READY=1" {
		t.Errorf("got %q, want READY=1", state)
	}

	done := make(chan struct{})
	go func() { a.shutdown(); close(done) }()
	if state, _ := n.next(t); state != "STOPPING=1" {
		t.Errorf("got %q, want STOPPING=1", state)
	}
	<-done
}

// TestWatchdogNeedsLiveActors wedges the registry: the watchdog pings stop
// until it answers again.
func TestWatchdogNeedsLiveActors(t *testing.T) {
	n := newNotifySocket(t)
	t.Setenv("WATCHDOG_USEC", "200000") // 200ms: a ping every 100ms
	a, err := start(context.Background(), testConfig(t), slog.New(slog.DiscardHandler), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer a.shutdown()
	if state, _ := n.next(t); state != "READY=1" {
		t.Fatalf("got %q", state)
	}
	n.waitPing(t)

	const stall = 1500 * time.Millisecond
	a.srv.System().Root.Send(a.srv.Registry(), &faultpb.InjectFault{Reason: "test", StallMillis: uint32(stall / time.Millisecond)})
	wedged := time.Now()
	// Pings already on their way (sent before the wedge took hold) may still
	// come; none may come later while the registry is stuck. The window is
	// fixed, so a regression that kept pings coming fails instead of hanging.
	var lastPing time.Time
	window := time.NewTimer(stall / 2)
	defer window.Stop()
drain:
	for {
		select {
		case m := <-n.msgs:
			if m == "WATCHDOG=1" {
				lastPing = time.Now()
			}
		case <-window.C:
			break drain
		}
	}
	if !lastPing.IsZero() && lastPing.Sub(wedged) > 300*time.Millisecond {
		t.Errorf("a watchdog ping came %v after the registry was wedged", lastPing.Sub(wedged))
	}
	// Once the registry answers again, the pings resume.
	n.waitPing(t)
	if since := time.Since(wedged); since < stall-300*time.Millisecond {
		t.Errorf("pings resumed %v after the wedge, before the %v stall ended", since, stall)
	}
}

// TestSocketActivation passes a listening socket as fd 3 with LISTEN_FDS=1
// to a real chatd process; a client connects through it.
func TestSocketActivation(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the duplicate in f stays open, and passes to chatd
	defer f.Close()

	// LISTEN_PID must be chatd's own pid: the shell sets it to its pid and
	// execs chatd, which keeps it.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" -listen 127.0.0.1:1`, chatdBin)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Env = append(os.Environ(), "CHATD_DATA="+t.TempDir())
	p := testkit.StartCmd(t, cmd)
	stderr := p.Stderr
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		if code := p.Wait(t); code != exitOK {
			t.Errorf("chatd exited with %d; stderr:\n%s", code, stderr)
		}
	}()

	conn, r := dialLines(t, addr)
	if line := readLine(t, r); !strings.HasPrefix(line, "*** Welcome to actorchat") {
		t.Errorf("got %q", line)
	}
	fmt.Fprintf(conn, "exit\r\n")
	for readLine(t, r) != "bye..." {
	}
	if !strings.Contains(stderr.String(), "using the socket passed by systemd") {
		t.Errorf("chatd did not say it used the passed socket:\n%s", stderr.String())
	}
}

// TestAdminEndpoint scrapes /metrics after a scripted session and follows
// /healthz and /readyz through start and shutdown.
func TestAdminEndpoint(t *testing.T) {
	cfg := testConfig(t, "-admin", "127.0.0.1:0", "-flood-rate", "0")
	a, err := start(context.Background(), cfg, slog.New(slog.DiscardHandler), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	shutdownDone := make(chan struct{})
	defer func() {
		select {
		case <-shutdownDone:
		default:
			a.shutdown()
		}
	}()
	base := "http://" + a.adminL.Addr().String()
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := get(t, base+path); code != http.StatusOK {
			t.Errorf("%s: %d, want 200", path, code)
		}
	}

	// A scripted session: alice and bob chat; bob quits; carol drops.
	alice, ar := dialLines(t, a.srv.Addr().String())
	bob, br := dialLines(t, a.srv.Addr().String())
	carol, cr := dialLines(t, a.srv.Addr().String())
	for _, r := range []*bufio.Reader{ar, br, cr} {
		for !strings.HasPrefix(readLine(t, r), "*** You are in room") {
		}
	}
	fmt.Fprintf(bob, "/nick bob\r\n")
	for !strings.HasSuffix(readLine(t, br), " is now known as bob") {
	}
	fmt.Fprintf(alice, "/nick alice\r\nhello\r\nworld\r\n/msg bob psst\r\n")
	// The private message comes by the registry, the chat by the room: either
	// may come first. Bob and carol read both lines of chat before leaving.
	for seen := map[string]bool{}; !seen["[pm] <alice> psst\a"] || !seen["<alice> world"]; {
		seen[readLine(t, br)] = true
	}
	for readLine(t, cr) != "<alice> world" {
	}
	fmt.Fprintf(bob, "/quit\r\n")
	for readLine(t, br) != "bye..." {
	}
	carol.(*net.TCPConn).SetLinger(0) // a reset: the connection is lost, not closed in good order
	carol.Close()
	for !strings.HasSuffix(readLine(t, ar), "left (connection lost)") {
	}

	// The counters settle as the actors finish; poll until they match.
	want := map[string]float64{
		"chatd_connections_total":                                       3,
		"chatd_connections_open":                                        1,
		"chatd_nicks":                                                   1,
		"chatd_rooms":                                                   1,
		"chatd_messages_received_total":                                 2,
		"chatd_messages_delivered_total":                                2*2 + 1, // hello and world to bob and carol, psst to bob
		"chatd_private_messages_total":                                  1,
		`chatd_disconnects_total{reason="quit"}`:                        1,
		`chatd_disconnects_total{reason="connection_lost"}`:             1,
		`chatd_disconnects_total{reason="slow_consumer"}`:               0,
		`chatd_actor_panics_total{actor="connection",directive="stop"}`: 0,
	}
	var got map[string]float64
	deadline := time.Now().Add(waitTimeout)
	for {
		got = scrape(t, base+"/metrics")
		if matches(got, want) {
			break
		}
		if time.Now().After(deadline) {
			for k, v := range want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s = %v (present: %v), want %v", k, g, ok, v)
				}
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := got["chatd_outbox_bytes"]; !ok {
		t.Errorf("no chatd_outbox_bytes gauge")
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Errorf("no Go runtime metrics")
	}

	// The profiler is there, but not the command line (it may hold the
	// store's password).
	if code, _ := get(t, base+"/debug/pprof/"); code != http.StatusOK {
		t.Errorf("/debug/pprof/: %d, want 200", code)
	}
	if code, body := get(t, base+"/debug/pprof/cmdline"); code != http.StatusNotFound || strings.Contains(body, "-admin") {
		t.Errorf("/debug/pprof/cmdline: %d %q, want 404 and no command line", code, body)
	}

	// A panic is counted.
	a.srv.System().Root.Send(a.srv.Registry(), &faultpb.InjectFault{Reason: "test"})
	eventuallyMetric(t, base, `chatd_actor_panics_total{actor="registry",directive="resume"}`, 1)

	// During shutdown /readyz says no; the server is gone after it.
	go func() { a.shutdown(); close(shutdownDone) }()
	<-shutdownDone
	if _, err := http.Get(base + "/readyz"); err == nil {
		t.Errorf("admin endpoint still answers after shutdown")
	}
}

func TestUnknownEnv(t *testing.T) {
	known := []string{"CHATD_HISTORY", "CHATD_LISTEN"}
	got := unknownEnv([]string{"PATH=/bin", "CHATD_HISTORY=3", "CHATD_HISTROY=3", "CHATD_LISTEN=:1", "CHATD_=x", "XCHATD_A=1"}, known)
	if !slices.Equal(got, []string{"CHATD_HISTROY", "CHATD_"}) {
		t.Errorf("got %v, want CHATD_HISTROY and CHATD_", got)
	}
}

// TestHealthzDuringShutdown: once shutdown begins /healthz says so in words,
// not with a framework error.
func TestHealthzDuringShutdown(t *testing.T) {
	a, err := start(context.Background(), testConfig(t, "-admin", "127.0.0.1:0", "-shutdown-timeout", "3s"), slog.New(slog.DiscardHandler), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	h := a.adminHandler()
	get := func() (int, string) {
		rec := &recorder{header: http.Header{}}
		req, _ := http.NewRequest("GET", "/healthz", nil)
		h.ServeHTTP(rec, req)
		return rec.code, rec.body.String()
	}
	if code, body := get(); code != http.StatusOK || body != "ok\n" {
		t.Errorf("before shutdown: %d %q", code, body)
	}
	_ = a.srv.Shutdown(context.Background())
	if code, body := get(); code != http.StatusServiceUnavailable || body != "unhealthy: the server is shutting down\n" {
		t.Errorf("after shutdown: %d %q", code, body)
	}
	a.shutdown()
}

func TestReadyzDuringShutdown(t *testing.T) {
	a, err := start(context.Background(), testConfig(t, "-admin", "127.0.0.1:0", "-shutdown-timeout", "3s"), slog.New(slog.DiscardHandler), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	h := a.adminHandler()
	done := make(chan struct{})
	go func() { _ = a.srv.Shutdown(context.Background()); close(done) }()
	testkit.Eventually(t, "readyz to fail", func() bool {
		rec := &recorder{header: http.Header{}}
		req, _ := http.NewRequest("GET", "/readyz", nil)
		h.ServeHTTP(rec, req)
		return rec.code == http.StatusServiceUnavailable
	})
	<-done
	a.shutdown()
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(p)
}
func (r *recorder) WriteHeader(code int) { r.code = code }

// TestReloadMOTD: SIGHUP's reload changes the message of the day for new
// connections without dropping anyone.
func TestReloadMOTD(t *testing.T) {
	path := filepath.Join(t.TempDir(), "motd")
	if err := os.WriteFile(path, []byte("Be nice.\nNo \x1b[31mcolours\x1b[0m.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := start(context.Background(), testConfig(t, "-motd", path), slog.New(slog.DiscardHandler), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer a.shutdown()
	reload := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { a.serve(ctx, reload); close(served) }()
	defer func() { cancel(); <-served }()

	first, r1 := dialLines(t, a.srv.Addr().String())
	readLine(t, r1) // welcome
	readLine(t, r1) // your nick
	if got := []string{readLine(t, r1), readLine(t, r1)}; got[0] != "*** Be nice." || got[1] != "*** No colours." {
		t.Errorf("motd lines %q", got)
	}

	if err := os.WriteFile(path, []byte("New rules.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reload <- os.Signal(nil)
	testkit.Eventually(t, "the new motd", func() bool {
		c, r := dialLines(t, a.srv.Addr().String())
		defer c.Close()
		readLine(t, r)
		readLine(t, r)
		return readLine(t, r) == "*** New rules."
	})
	// The first client is still connected.
	fmt.Fprintf(first, "/who\r\n")
	for !strings.Contains(readLine(t, r1), " in lobby: ") {
	}

	// A reload that fails keeps the old message.
	os.Remove(path)
	a.reload()
	c, r := dialLines(t, a.srv.Addr().String())
	defer c.Close()
	readLine(t, r)
	readLine(t, r)
	if got := readLine(t, r); got != "*** New rules." {
		t.Errorf("after a failed reload got %q", got)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	client := http.Client{Timeout: waitTimeout}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// scrape reads /metrics into "name{labels}" -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	code, body := get(t, url)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]float64{}
	for name, fam := range families {
		for _, m := range fam.GetMetric() {
			key := name
			if len(m.GetLabel()) > 0 {
				var parts []string
				for _, l := range m.GetLabel() {
					parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
				}
				key += "{" + strings.Join(parts, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetUntyped() != nil:
				out[key] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}

func matches(got, want map[string]float64) bool {
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}

func eventuallyMetric(t *testing.T, base, key string, want float64) {
	t.Helper()
	testkit.Eventually(t, key+" to reach "+fmt.Sprint(want), func() bool { return scrape(t, base+"/metrics")[key] == want })
}

// TestProcessSignals runs the real binary: SIGHUP rereads the message of the
// day without dropping anyone, SIGTERM shuts down with exit code 0, and the
// logs are one JSON object per line with -log-format json.
func TestProcessSignals(t *testing.T) {
	motd := filepath.Join(t.TempDir(), "motd")
	if err := os.WriteFile(motd, []byte("first motd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := testkit.FreeAddr(t)
	p := testkit.Start(t, chatdBin, nil, "-listen", addr, "-motd", motd, "-log-format", "json")
	cmd, stderr := p.Cmd, p.Stderr
	var first net.Conn
	var r1 *bufio.Reader
	testkit.Eventually(t, "chatd to accept", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		first, r1 = c, bufio.NewReader(c)
		return true
	})
	defer first.Close()
	_ = first.SetReadDeadline(time.Now().Add(waitTimeout))
	readLine(t, r1)
	readLine(t, r1)
	if got := readLine(t, r1); got != "*** first motd" {
		t.Fatalf("motd line %q", got)
	}

	if err := os.WriteFile(motd, []byte("second motd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the reloaded motd", func() bool {
		c, r := dialLines(t, addr)
		defer c.Close()
		readLine(t, r)
		readLine(t, r)
		return readLine(t, r) == "*** second motd"
	})

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The first client, connected all along, gets the goodbye.
	for readLine(t, r1) != "bye..." {
	}
	if code := p.Wait(t); code != exitOK {
		t.Errorf("chatd exited with %d", code)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", l)
			continue
		}
		if rec["msg"] == nil || rec["level"] == nil || rec["time"] == nil {
			t.Errorf("log line lacks msg, level or time: %q", l)
		}
	}
	for _, want := range []string{`"msg":"reloaded"`, `"msg":"connection closed"`, `"reason":"shutdown"`, `"msg":"shutdown complete"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("logs lack %s", want)
		}
	}
}

// TestAdminBeyondLoopbackWarns: an admin endpoint bound beyond loopback is
// logged as a warning; one on loopback is not.
func TestAdminBeyondLoopbackWarns(t *testing.T) {
	for _, tc := range []struct {
		addr string
		warn bool
	}{{"127.0.0.1:0", false}, {":0", true}} {
		logs := &testkit.SyncBuffer{}
		a, err := start(context.Background(), testConfig(t, "-admin", tc.addr), slog.New(slog.NewTextHandler(logs, nil)), noEnv)
		if err != nil {
			t.Fatal(err)
		}
		a.shutdown()
		if got := strings.Contains(logs.String(), "reachable beyond this machine"); got != tc.warn {
			t.Errorf("-admin %s: warned %v, want %v:\n%s", tc.addr, got, tc.warn, logs)
		}
	}
}

// TestProductionBuildHasNoFaults: chatd built without the chatdfaults tag
// links no fault injection, nor InjectFault's type: a node cannot even
// decode one, whoever sends it. The tagged build (the process tests') has
// both.
func TestProductionBuildHasNoFaults(t *testing.T) {
	for _, tags := range []string{"", "chatdfaults"} {
		out, err := exec.Command("go", "list", "-deps", "-tags", tags, ".").Output()
		if err != nil {
			t.Fatalf("go list -tags %q: %v", tags, err)
		}
		deps := strings.Fields(string(out))
		has := slices.Contains(deps, "github.com/actorchat/actorchat/internal/faults/faultpb")
		if want := tags != ""; has != want {
			t.Errorf("-tags %q: links internal/faults/faultpb: %v, want %v", tags, has, want)
		}
	}
}
