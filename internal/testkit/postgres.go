package testkit

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Postgres is a PostgreSQL server a test started from the machine's own
// binaries (Debian's postgresql package), in a temporary directory, on a
// loopback port, with trust authentication. Stop and Start let a test take
// it away and bring it back on the same port with the same data.
type Postgres struct {
	t    testing.TB
	bin  string // directory of initdb, postgres
	dir  string // data directory
	port int
	cred *syscall.Credential // run as this user (root cannot run PostgreSQL)
	proc *Process
}

// StartPostgres starts a PostgreSQL server for the test, stopped when the
// test ends. Without PostgreSQL's binaries the test is skipped with a
// message saying how to install them, except under CI (CI set), where that
// is a failure: CI installs the package, so there its tests never skip.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI must install the postgresql package)", err)
		}
		t.Skipf("%v; install it with: apt-get install -y postgresql", err)
	}
	p := &Postgres{t: t, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs its own user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir: its parents are private to root, and the server may run
	// as another user.
	root, err := os.MkdirTemp("", "chatd-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	p.dir = filepath.Join(root, "data")
	if err := os.Mkdir(p.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if p.cred != nil {
		for _, d := range []string{root, p.dir} {
			if err := os.Chown(d, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", p.dir, "-U", "chatd", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	p.runAs(initdb)
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.port = freePort(t)
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

// postgresBin finds the directory of PostgreSQL's server binaries: on PATH,
// or where Debian puts them (/usr/lib/postgresql/VERSION/bin).
func postgresBin() (string, error) {
	var dirs []string
	if path, err := exec.LookPath("postgres"); err == nil {
		if real, err := filepath.EvalSymlinks(path); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.Reverse(matches) // the newest version first
	for _, dir := range append(dirs, matches...) {
		if hasAll(dir, "postgres", "initdb", "pg_isready") {
			return dir, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL's server binaries (postgres, initdb, pg_isready) were not found")
}

func hasAll(dir string, names ...string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return false
		}
	}
	return true
}

func (p *Postgres) runAs(cmd *exec.Cmd) {
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(FreeAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}

// URL is the server's connection URL, for the database "postgres".
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://chatd@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", p.port)
}

// Start starts the server (again) and waits until it accepts connections.
func (p *Postgres) Start() {
	p.t.Helper()
	cmd := exec.Command(filepath.Join(p.bin, "postgres"), "-D", p.dir, "-p", strconv.Itoa(p.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off")
	p.runAs(cmd)
	p.proc = StartCmd(p.t, cmd)
	deadline := time.Now().Add(WaitTimeout)
	for {
		// pg_isready, not a TCP dial: the server listens before it accepts.
		ready := exec.Command(filepath.Join(p.bin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-U", "chatd", "-d", "postgres", "-t", "1")
		if ready.Run() == nil {
			return
		}
		select {
		case <-p.proc.Exited():
			p.t.Fatalf("postgres exited: %s", p.proc.Stderr)
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("postgres did not accept connections within %v: %s", WaitTimeout, p.proc.Stderr)
		}
		time.Sleep(20 * time.Millisecond) // polling, with a deadline
	}
}

// Stop stops the server (a fast shutdown: clients are disconnected) and
// waits for it to exit.
func (p *Postgres) Stop() {
	if p.proc == nil {
		return
	}
	select {
	case <-p.proc.Exited():
	default:
		_ = p.proc.Cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.proc.Exited():
		case <-time.After(WaitTimeout):
			_ = p.proc.Cmd.Process.Kill()
			<-p.proc.Exited()
		}
	}
	if log := p.proc.Stderr.String(); strings.Contains(log, "PANIC") {
		p.t.Errorf("postgres: %s", log)
	}
	p.proc = nil
}
