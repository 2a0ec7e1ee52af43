// Package pgserver runs a PostgreSQL server from the machine's own binaries
// (Debian's postgresql package) in a directory of its own, on a loopback
// port, with trust authentication: for the tests of the PostgreSQL store and
// for chatbench. It is never used by chatd itself.
package pgserver

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ErrNoBinaries reports that PostgreSQL's server binaries are not installed.
var ErrNoBinaries = errors.New("PostgreSQL's server binaries (postgres, initdb, pg_isready) were not found")

// startTimeout bounds how long the server may take to accept connections.
const startTimeout = 20 * time.Second

// Server is a PostgreSQL server this process started.
type Server struct {
	bin    string // directory of initdb, postgres, pg_isready
	root   string // the server's directory: data/ and its log
	data   string
	port   int
	cred   *syscall.Credential // run as this user: PostgreSQL refuses root
	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{}
}

// syncBuffer is the server's log: written by the process's output copier,
// read by Log at any time.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// New makes a fresh database cluster in a new temporary directory and
// starts its server on a free loopback port. Close removes it all.
func New() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs its own user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if s.root, err = os.MkdirTemp("", "chatd-pg-"); err != nil {
		return nil, err
	}
	if err := s.initdb(); err != nil {
		_ = os.RemoveAll(s.root)
		return nil, err
	}
	if s.port, err = freePort(); err != nil {
		_ = os.RemoveAll(s.root)
		return nil, err
	}
	if err := s.Start(); err != nil {
		_ = os.RemoveAll(s.root)
		return nil, err
	}
	return s, nil
}

func (s *Server) initdb() error {
	// The directory's parents must let the server's user through.
	if err := os.Chmod(s.root, 0o755); err != nil {
		return err
	}
	s.data = filepath.Join(s.root, "data")
	if err := os.Mkdir(s.data, 0o700); err != nil {
		return err
	}
	if s.cred != nil {
		for _, d := range []string{s.root, s.data} {
			if err := os.Chown(d, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
				return err
			}
		}
	}
	cmd := exec.Command(filepath.Join(s.bin, "initdb"), "-D", s.data, "-U", "chatd", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	s.runAs(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return nil
}

// binDir finds PostgreSQL's server binaries: beside the postgres on PATH, or
// where Debian puts them (/usr/lib/postgresql/VERSION/bin, newest first).
func binDir() (string, error) {
	var dirs []string
	if path, err := exec.LookPath("postgres"); err == nil {
		if real, err := filepath.EvalSymlinks(path); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(matches, func(a, b string) int { return version(b) - version(a) })
	for _, dir := range append(dirs, matches...) {
		if hasAll(dir, "postgres", "initdb", "pg_isready") {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

// version is the major version in /usr/lib/postgresql/VERSION/bin.
func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func hasAll(dir string, names ...string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return false
		}
	}
	return true
}

func (s *Server) runAs(cmd *exec.Cmd) {
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// URL is the connection URL of database db on the server.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://chatd@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=5", s.port, db)
}

// Log returns what the server has logged.
func (s *Server) Log() string { return s.log.String() }

// Start starts the server (again, after Stop: same port, same data) and
// waits until it accepts connections.
func (s *Server) Start() error {
	s.cmd = exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.data, "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off")
	s.runAs(s.cmd)
	s.log = &syncBuffer{}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(s.cmd, s.exited)
	deadline := time.Now().Add(startTimeout)
	for {
		// pg_isready, not a TCP dial: the server listens before it accepts.
		ready := exec.Command(filepath.Join(s.bin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "-U", "chatd", "-d", "postgres", "-t", "1")
		if ready.Run() == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited at start")
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("postgres did not accept connections within %v", startTimeout)
		}
		time.Sleep(20 * time.Millisecond) // polling, with a deadline
	}
}

// Stop stops the server (a fast shutdown: clients are disconnected) and
// waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(startTimeout):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	s.cmd = nil
}

// Close stops the server and removes its directory.
func (s *Server) Close() {
	s.Stop()
	_ = os.RemoveAll(s.root)
}
