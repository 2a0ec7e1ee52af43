package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// server is a server process that chatbench started.
type server struct {
	name   string
	addr   string
	cmd    *exec.Cmd
	cancel context.CancelFunc // stops it
}

// buildServers builds chatd (from this repository) and naivehub (from its
// directory) into dir.
func buildServers(dir, chatdPkg, naivehubDir string) (chatd, naivehub string, err error) {
	chatd = filepath.Join(dir, "chatd")
	if out, err := exec.Command("go", "build", "-o", chatd, chatdPkg).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build chatd: %v\n%s", err, out)
	}
	naivehub = filepath.Join(dir, "naivehub")
	build := exec.Command("go", "build", "-o", naivehub, ".")
	build.Dir = naivehubDir
	if out, err := build.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build naivehub in %s: %v\n%s", naivehubDir, err, out)
	}
	return chatd, naivehub, nil
}

// freeAddr returns a loopback address with a free port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startServer runs one of the servers on a fresh loopback port and waits
// until it accepts connections.
func startServer(name, bin string, env []string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var args []string
	switch name {
	case "chatd", "chatd-base", "chatd-sqlite", "chatd-postgres":
		// Flood control off and no per-IP limit: the benchmark is one
		// address sending as fast as it can.
		args = []string{"-listen", addr, "-flood-rate", "0", "-max-conns", "0", "-max-conns-per-ip", "0", "-log-level", "warn"}
	case "naivehub":
		args = []string{"-listen", addr}
	case "naivehub-coalesce":
		args = []string{"-listen", addr, "-coalesce"}
	default:
		return nil, fmt.Errorf("unknown server %q", name)
	}
	// Stopping is the context's cancel: SIGTERM, then, if the server has not
	// exited within stopGrace, SIGKILL (exec's WaitDelay).
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, nil
	if strings.HasPrefix(name, "chatd") {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	s := &server{name: name, addr: addr, cmd: cmd, cancel: cancel}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s did not accept connections on %s: %v", name, addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling for the port, with a deadline
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stopGrace is how long a server has to exit after SIGTERM.
const stopGrace = 10 * time.Second

// stop ends the server (see startServer) and waits for it.
func (s *server) stop() {
	s.cancel()
	_ = s.cmd.Wait()
}
