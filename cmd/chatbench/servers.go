package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// server is a server process that chatbench started, or the nodes of a
// cluster (chatd-cluster3).
type server struct {
	name   string
	addr   string
	cmd    *exec.Cmd
	cancel context.CancelFunc // stops it

	nodes []*server // a cluster's nodes, oldest first; nil: one process
}

// clusterNodes is how many nodes chatd-cluster3 runs.
const clusterNodes = 3

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
func startServer(name, bin string, env []string, extra ...string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var args []string
	switch name {
	case "chatd", "chatd-base", "chatd-sqlite", "chatd-postgres":
		// Flood control off and no per-IP limit: the benchmark is one
		// address sending as fast as it can.
		args = append([]string{"-listen", addr, "-flood-rate", "0", "-max-conns", "0", "-max-conns-per-ip", "0", "-log-level", "warn"}, extra...)
	case "naivehub":
		args = []string{"-listen", addr}
	case "naivehub-coalesce":
		args = []string{"-listen", addr, "-coalesce"}
	case "floor":
		args = []string{"floor", "-listen", addr}
	case "floor-noread":
		args = []string{"floor", "-listen", addr, "-read=false"}
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

// addrs are the chat addresses of a cluster's nodes; nil for one process.
func (s *server) addrs() []string {
	var out []string
	for _, n := range s.nodes {
		out = append(out, n.addr)
	}
	return out
}

// pids are a cluster's processes; nil for one process.
func (s *server) pids() []int {
	var out []int
	for _, n := range s.nodes {
		out = append(out, n.pid())
	}
	return out
}

// killNode ends a cluster's node i with SIGKILL.
func (s *server) killNode(i int) error {
	if i < 0 || i >= len(s.nodes) {
		return fmt.Errorf("no node %d", i)
	}
	return s.nodes[i].cmd.Process.Signal(syscall.SIGKILL)
}

// startCluster runs chatd-cluster3: three chatd nodes of one cluster on
// loopback (the automanaged provider), started oldest first, and waits
// until each has joined and sees the others.
func startCluster(bin string, env []string) (*server, error) {
	var health, admins []string
	for range clusterNodes {
		h, err := freeAddr()
		if err != nil {
			return nil, err
		}
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		health, admins = append(health, h), append(admins, a)
	}
	c := &server{name: "chatd-cluster3"}
	for i := range clusterNodes {
		node, err := freeAddr()
		if err != nil {
			c.stop()
			return nil, err
		}
		_, hp, _ := net.SplitHostPort(health[i])
		n, err := startServer("chatd", bin, env, "-cluster", "bench", "-node", node, "-peers", strings.Join(health, ","),
			"-cluster-health-port", hp, "-cluster-refresh", "500ms", "-admin", admins[i])
		if err != nil {
			c.stop()
			return nil, err
		}
		c.nodes = append(c.nodes, n)
		if err := waitJoined(admins[i], i+1); err != nil {
			c.stop()
			return nil, err
		}
	}
	for _, a := range admins {
		if err := waitJoined(a, clusterNodes); err != nil {
			c.stop()
			return nil, err
		}
	}
	c.addr, c.cmd = c.nodes[0].addr, c.nodes[0].cmd
	return c, nil
}

// waitJoined polls a node's admin endpoint until it is ready and sees n
// members.
func waitJoined(admin string, n int) error {
	client := &http.Client{Timeout: time.Second}
	want := fmt.Sprintf("\nchatd_cluster_members %d\n", n)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := client.Get("http://" + admin + "/metrics"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), want) {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond) // polling the node, with a deadline
	}
	return fmt.Errorf("cluster node at %s did not see %d members within 30s", admin, n)
}

// stopGrace is how long a server has to exit after SIGTERM.
const stopGrace = 10 * time.Second

// stop ends the server (see startServer) and waits for it.
func (s *server) stop() {
	if s.nodes != nil {
		for _, n := range s.nodes {
			n.cancel()
		}
		for _, n := range s.nodes {
			_ = n.cmd.Wait()
		}
		return
	}
	s.cancel()
	_ = s.cmd.Wait()
}
