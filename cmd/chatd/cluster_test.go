package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/actorchat/actorchat/internal/clustertls"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

// The cluster tests run every node as a process of its own: protoactor's
// cluster has data races when several members share a process (see
// docs/architecture.md, "Cluster mode").

// clusterRefresh is the automanaged provider's check interval in the tests.
const clusterRefresh = 300 * time.Millisecond

// clusterNode is one chatd of a test cluster.
type clusterNode struct {
	proc   *testkit.Process
	listen string // the chat port
	irc    string // the IRC port
	admin  string // the admin endpoint's base URL
	node   string // the cluster transport's address
}

// testCluster is the nodes of a test cluster, started or not.
type testCluster struct {
	t            *testing.T
	nodes        []*clusterNode
	health       []string // every node's automanaged health endpoint
	providerArgs func(i int) []string
	extra        []string
}

// newTestCluster plans n nodes of one cluster; providerArgs are a node's
// provider flags (nil: automanaged, with every node's health endpoint).
func newTestCluster(t *testing.T, n int, providerArgs func(i int) []string, extra ...string) *testCluster {
	t.Helper()
	tc := &testCluster{t: t, nodes: make([]*clusterNode, n), providerArgs: providerArgs, extra: extra}
	for i := range tc.nodes {
		tc.nodes[i] = &clusterNode{}
		tc.health = append(tc.health, testkit.FreeAddr(t))
	}
	return tc
}

// args are node i's flags, with fresh ports for its chat, admin and
// cluster addresses.
func (tc *testCluster) args(i int) []string {
	nd := tc.nodes[i]
	nd.listen, nd.admin, nd.node, nd.irc = tc.freeAddr(), "http://"+tc.freeAddr(), tc.freeAddr(), tc.freeAddr()
	args := []string{"-listen", nd.listen, "-irc-listen", nd.irc, "-admin", strings.TrimPrefix(nd.admin, "http://"), "-store", "none", "-flood-rate", "0",
		"-shutdown-timeout", "3s", "-cluster", "test", "-node", nd.node}
	if tc.providerArgs != nil {
		args = append(args, tc.providerArgs(i)...)
	} else {
		_, hp, _ := net.SplitHostPort(tc.health[i])
		args = append(args, "-peers", strings.Join(tc.health, ","), "-cluster-health-port", hp, "-cluster-refresh", clusterRefresh.String())
	}
	return append(args, tc.extra...)
}

// freeAddr is a free loopback address that is not one of the health
// ports picked for the nodes at the start (free then, but not bound until
// their node starts: handing one out again would make that node fail to
// start, however often it is retried).
func (tc *testCluster) freeAddr() string {
	for {
		addr := testkit.FreeAddr(tc.t)
		if !slices.Contains(tc.health, addr) {
			return addr
		}
	}
}

// start starts node i and waits until it serves its admin endpoint. A port
// that was free when picked can be taken by the time the node listens (an
// outgoing connection's port): the node is started again on fresh ports.
func (tc *testCluster) start(i int) *clusterNode {
	t := tc.t
	t.Helper()
	nd := tc.nodes[i]
	for attempt := 1; ; attempt++ {
		proc := testkit.Start(t, chatdBin, nil, tc.args(i)...)
		nd.proc = proc
		up := false
		testkit.Eventually(t, "node "+fmt.Sprint(i)+" to serve /readyz or exit", func() bool {
			code, _ := getQuiet(nd.admin + "/readyz")
			up = code > 0
			select {
			case <-proc.Exited():
				return true
			default:
				return up
			}
		})
		if up {
			break
		}
		if attempt == 3 || !strings.Contains(proc.Stderr.String(), "address already in use") {
			t.Fatalf("node %d exited: %s", i, proc.Stderr)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node %d log:\n%s", i, nd.proc.Stderr)
		}
	})
	// The member ids sort by start time in milliseconds: the next node
	// starts once this one is up, so node 0 is the oldest.
	return nd
}

// waitMembers waits until each of the nodes is ready and sees n members.
func (tc *testCluster) waitMembers(n int, nodes ...*clusterNode) {
	t := tc.t
	t.Helper()
	for i, nd := range nodes {
		testkit.Eventually(t, fmt.Sprintf("node %d to be ready and see %d members", i, n), func() bool {
			code, _ := getQuiet(nd.admin + "/readyz")
			return code == 200 && scrape(t, nd.admin+"/metrics")["chatd_cluster_members"] == float64(n)
		})
	}
}

// startClusterNodes starts n nodes of one cluster, oldest first (node 0 is
// the coordinator), and waits until every node is ready and sees all n.
func startClusterNodes(t *testing.T, n int, providerArgs func(i int) []string, extra ...string) []*clusterNode {
	t.Helper()
	tc := newTestCluster(t, n, providerArgs, extra...)
	for i := range n {
		tc.start(i)
	}
	tc.waitMembers(n, tc.nodes...)
	return tc.nodes
}

// getQuiet is an HTTP GET that reports a failure as code 0.
func getQuiet(url string) (int, string) {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// clusterClient dials a node, takes a nick and joins room (which the caller
// may read further).
func clusterClient(t *testing.T, nd *clusterNode, nick, room string) *testkit.Client {
	t.Helper()
	c := joined(t, nd.listen)
	c.Send("/nick " + nick)
	skipRenamed(c, nick)
	if room != "" {
		c.Send("/join " + room)
		for !strings.HasPrefix(c.Line(), "*** You are in room "+room) {
		}
	}
	return c
}

// skipRenamed reads lines until the room's notice that the client is now
// nick.
func skipRenamed(c *testkit.Client, nick string) {
	for !strings.HasSuffix(c.Line(), " is now known as "+nick) {
	}
}

// registeredClusterClient is clusterClient for a user who registers its
// nick (on that node's store).
func registeredClusterClient(t *testing.T, nd *clusterNode, nick string) *testkit.Client {
	t.Helper()
	c := clusterClient(t, nd, nick, "")
	c.Send("/register " + nick + "'s password")
	skipContaining(c, nick+" is registered to you.")
	return c
}

// skipContaining reads lines until one contains want (a private message
// rings the bell).
func skipContaining(c *testkit.Client, want string) {
	for !strings.Contains(c.Line(), want) {
	}
}

// readUntil reads lines until one equals want, and returns those before it.
func readUntil(c *testkit.Client, want string) []string {
	var before []string
	for {
		line := c.Line()
		if line == want {
			return before
		}
		before = append(before, line)
	}
}

// TestClusterChat: users on three nodes chat as on one server: joins,
// posts in one order on every node, nicks unique across the cluster,
// private messages, renames, listings, topic and history for a newcomer.
func TestClusterChat(t *testing.T) {
	nodes := startClusterNodes(t, 3, nil)
	alice := clusterClient(t, nodes[0], "alice", "dev")
	bob := clusterClient(t, nodes[1], "bob", "dev")
	alice.SkipUntil("*** bob joined dev")
	carol := clusterClient(t, nodes[2], "carol", "dev")
	alice.SkipUntil("*** carol joined dev")
	bob.SkipUntil("*** carol joined dev")
	// Two readers that post nothing, on different nodes.
	dave := clusterClient(t, nodes[1], "dave", "dev")
	erin := clusterClient(t, nodes[2], "erin", "dev")
	for _, c := range []*testkit.Client{alice, bob, carol, dave} {
		c.SkipUntil("*** erin joined dev")
	}

	// Nicks are unique across nodes, in any case.
	carol.Send("/nick ALICE")
	if line := carol.Line(); line != "!!! nick ALICE is taken" {
		t.Fatalf("carol got %q, want the nick refused", line)
	}

	// Posts from three nodes at once: every receiver gets each sender's
	// lines in order, and the two readers see the same order.
	const perSender = 30
	for i := range perSender {
		alice.Send(fmt.Sprintf("a%d", i))
		bob.Send(fmt.Sprintf("b%d", i))
		carol.Send(fmt.Sprintf("c%d", i))
	}
	alice.Send("/me is done")
	bob.Send("/me is done")
	carol.Send("/me is done")
	read := func(c *testkit.Client, senders int) []string {
		var got []string
		done := 0
		for done < senders {
			line := c.Line()
			if strings.HasSuffix(line, " is done") {
				done++
				continue
			}
			if strings.HasPrefix(line, "<") {
				got = append(got, line)
			}
		}
		return got
	}
	daveSaw, erinSaw := read(dave, 3), read(erin, 3)
	if !slices.Equal(daveSaw, erinSaw) {
		t.Errorf("two nodes saw the posts in different orders:\n%q\n%q", daveSaw, erinSaw)
	}
	if len(daveSaw) != 3*perSender {
		t.Errorf("dave got %d posts, want %d", len(daveSaw), 3*perSender)
	}
	for _, who := range []string{"alice", "bob", "carol"} {
		next := 0
		for _, line := range daveSaw {
			if strings.HasPrefix(line, "<"+who+"> ") {
				if want := fmt.Sprintf("<%s> %c%d", who, who[0], next); line != want {
					t.Fatalf("%s's posts out of order: got %q, want %q", who, line, want)
				}
				next++
			}
		}
	}
	for _, c := range []*testkit.Client{alice, bob, carol} {
		read(c, 3)
	}

	// A private message and its reply cross nodes.
	alice.Send("/msg erin psst")
	alice.SkipUntil("[pm -> erin] psst")
	skipContaining(erin, "[pm] <alice> psst")
	erin.Send("/reply back")
	skipContaining(alice, "[pm] <erin> back")
	carol.Send("@erin again")
	skipContaining(erin, "[pm] <carol> again")

	// /whois asks the user's own connection, on its node.
	alice.Send("/whois dave")
	if line := alice.Line(); !strings.HasPrefix(line, "*** dave is in dev, connected since ") {
		t.Errorf("/whois across nodes: %q", line)
	}
	// /ignore across nodes: dave (node 1) ignores carol (node 2).
	dave.Send("/ignore carol")
	dave.SkipUntil("*** Ignoring carol for this session.")
	carol.Send("hidden from dave")
	erin.SkipUntil("<carol> hidden from dave")
	alice.Send("seen by all")
	erin.SkipUntil("<alice> seen by all")
	// dave's next post line is alice's: carol's, before it, was left out.
	for {
		line := dave.Line()
		if strings.HasPrefix(line, "<") {
			if line != "<alice> seen by all" {
				t.Fatalf("dave got %q, want carol's post hidden", line)
			}
			break
		}
	}
	dave.Send("/unignore carol")
	dave.SkipUntil("*** No longer ignoring carol.")

	// A rename is seen on every node, and frees the old nick everywhere.
	bob.Send("/nick robert")
	for _, c := range []*testkit.Client{alice, carol, dave, erin} {
		c.SkipUntil("*** bob is now known as robert")
	}
	carol.Send("/nick bob")
	skipRenamed(carol, "bob")

	// Listings cover the cluster.
	alice.Send("/users")
	if got := readUntil(alice, "***   robert in dev"); !slices.Contains(got, "*** 5 online:") {
		t.Errorf("/users: got %q", got)
	}
	dave.Send("/who")
	dave.SkipUntil("*** 5 in dev: alice, bob, dave, erin, robert")
	erin.Send("/rooms")
	erin.SkipUntil("*** * dev (5)") // * marks her current room

	// The topic set on one node; a newcomer on another gets it and the
	// history.
	alice.Send("/topic cluster talk")
	erin.SkipUntil("*** alice set the topic: cluster talk")
	frank := clusterClient(t, nodes[2], "frank", "")
	frank.Send("/join dev")
	lines := readUntil(frank, "*** Topic: cluster talk")
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "*** You are in room dev with ") {
		t.Errorf("frank's join: %q", lines)
	}
	if line := frank.Line(); !strings.HasPrefix(line, "[history ") {
		t.Errorf("frank's first history line: %q", line)
	}
}

// TestClusterNodeLoss kills a node, then the coordinator: the users on the
// others see the lost users leave with "server lost", their nicks become
// free, and the room goes on with its topic and history.
func TestClusterNodeLoss(t *testing.T) {
	nodes := startClusterNodes(t, 3, nil)
	alice := clusterClient(t, nodes[0], "alice", "dev")
	bob := clusterClient(t, nodes[1], "bob", "dev")
	carol := clusterClient(t, nodes[2], "carol", "dev")
	alice.SkipUntil("*** carol joined dev")
	bob.SkipUntil("*** carol joined dev")
	alice.Send("/topic before the storm")
	bob.SkipUntil("*** alice set the topic: before the storm")
	for i := range 5 {
		alice.Send(fmt.Sprintf("post %d", i))
	}
	bob.SkipUntil("<alice> post 4")
	carol.SkipUntil("<alice> post 4")

	// A node that is not the coordinator dies.
	killed := time.Now()
	if err := nodes[2].proc.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	alice.SkipUntil("*** carol left (server lost)")
	bob.SkipUntil("*** carol left (server lost)")
	t.Logf("the others saw carol leave %v after the kill (refresh %v)", time.Since(killed).Round(time.Millisecond), clusterRefresh)
	bob.Send("/nick carol")
	skipRenamed(bob, "carol")
	bob.Send("/nick bob")
	skipRenamed(bob, "bob")

	// The coordinator dies: the rooms and nicks move to the next node.
	killed = time.Now()
	if err := nodes[0].proc.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	bob.SkipUntil("*** alice left (server lost)")
	t.Logf("bob saw alice leave %v after the coordinator was killed", time.Since(killed).Round(time.Millisecond))
	bob.Send("/topic")
	if line := bob.Line(); !strings.HasPrefix(line, "*** Topic: before the storm (set by alice") {
		t.Errorf("/topic after the coordinator died: %q", line)
	}
	bob.Send("/history 3")
	for i := 2; i < 5; i++ {
		if line := bob.Line(); !strings.HasSuffix(line, fmt.Sprintf("<alice> post %d", i)) || !strings.HasPrefix(line, "[history ") {
			t.Errorf("/history: got %q, want alice's post %d", line, i)
		}
	}
	bob.Send("/nick alice")
	skipRenamed(bob, "alice")
	dave := clusterClient(t, nodes[1], "dave", "")
	dave.Send("/join dev")
	lines := readUntil(dave, "*** Topic: before the storm")
	if len(lines) == 0 || lines[len(lines)-1] != "*** You are in room dev with alice." {
		t.Errorf("dave's join: %q", lines)
	}
	bob.SkipUntil("*** dave joined dev")
	bob.Send("still here")
	dave.SkipUntil("<alice> still here") // after the replay
	// The kills are normal cluster life: protoactor's noise about them is
	// not an ERROR in the survivor's log.
	for _, line := range strings.Split(nodes[1].proc.Stderr.String(), "\n") {
		if strings.Contains(line, "level=ERROR") && strings.Contains(line, "lib=protoactor") {
			t.Errorf("the survivor logged: %s", line)
		}
	}
}

// TestClusterNodeLeaves: a node stopped with SIGTERM says goodbye to its
// users, the others see them leave, their nicks are free at once, and the
// node leaves the member list without waiting for a missed check.
func TestClusterNodeLeaves(t *testing.T) {
	nodes := startClusterNodes(t, 3, nil)
	alice := clusterClient(t, nodes[0], "alice", "dev")
	carol := clusterClient(t, nodes[2], "carol", "dev")
	alice.SkipUntil("*** carol joined dev")
	if err := nodes[2].proc.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := carol.EOF(); !strings.HasSuffix(got, goodbye) {
		t.Errorf("carol's goodbye: %q", got)
	}
	alice.SkipUntil("*** carol left (shutdown)")
	if code := nodes[2].proc.Wait(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	alice.Send("/nick carol")
	skipRenamed(alice, "carol")
	eventuallyMetric(t, nodes[0].admin, "chatd_cluster_members", 2)
	eventuallyMetric(t, nodes[1].admin, "chatd_cluster_members", 2)
	if lost := scrape(t, nodes[0].admin+"/metrics")["chatd_cluster_nodes_lost_total"]; lost != 1 {
		t.Errorf("chatd_cluster_nodes_lost_total %v, want 1", lost)
	}
}

// TestClusterEtcd runs the cluster on etcd, the production provider,
// against a real etcd started here.
func TestClusterEtcd(t *testing.T) {
	etcdURL := startEtcd(t)
	nodes := startClusterNodes(t, 3, func(int) []string {
		return []string{"-cluster-provider", "etcd", "-etcd", etcdURL}
	})
	alice := clusterClient(t, nodes[0], "alice", "dev")
	bob := clusterClient(t, nodes[1], "bob", "dev")
	carol := clusterClient(t, nodes[2], "carol", "dev")
	alice.SkipUntil("*** carol joined dev")
	bob.SkipUntil("*** carol joined dev")
	carol.Send("hello from three")
	alice.SkipUntil("<carol> hello from three")
	bob.SkipUntil("<carol> hello from three")
	killed := time.Now()
	if err := nodes[2].proc.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	alice.SkipUntil("*** carol left (server lost)")
	bob.SkipUntil("*** carol left (server lost)")
	t.Logf("with etcd the others saw carol leave %v after the kill (lease 3s)", time.Since(killed).Round(time.Millisecond))
	bob.Send("/nick carol")
	skipRenamed(bob, "carol")
}

// startEtcd starts etcd (Debian's etcd-server package) in a temporary
// directory on loopback ports and returns its client URL. Without the
// binary the test is skipped, except under CI, where .ci/run installs it.
func startEtcd(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("etcd is not installed; .ci/run installs it with apt-get install -y etcd-server")
		}
		t.Skip("etcd is not installed; install it with: apt-get install -y etcd-server")
	}
	dir := t.TempDir()
	client, peer := "http://"+testkit.FreeAddr(t), "http://"+testkit.FreeAddr(t)
	cmd := exec.Command(bin, "--name", "test", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "test="+peer)
	p := testkit.StartCmd(t, cmd)
	testkit.Eventually(t, "etcd to serve", func() bool {
		code, _ := getQuiet(client + "/health")
		return code == 200
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("etcd log:\n%s", p.Stderr)
		}
	})
	return client
}

// TestClusterCoordinatorLossLosesNothing: users on two nodes post to each
// other while the node that holds their room is killed. Every post arrives
// once and in order: what the dead room had not echoed is posted again at
// the rebuilt room, which drops what it had already.
func TestClusterCoordinatorLossLosesNothing(t *testing.T) {
	nodes := startClusterNodes(t, 3, nil)
	alice := clusterClient(t, nodes[0], "alice", "dev")
	bob := clusterClient(t, nodes[1], "bob", "dev")
	carol := clusterClient(t, nodes[2], "carol", "dev")
	alice.SkipUntil("*** carol joined dev")
	bob.SkipUntil("*** carol joined dev")

	const posts = 300
	sent := make(chan error, 2)
	for _, c := range []*testkit.Client{bob, carol} {
		go func() {
			for i := range posts {
				if _, err := fmt.Fprintf(c.Conn, "%d\r\n", i); err != nil {
					sent <- err
					return
				}
				time.Sleep(2 * time.Millisecond) // a paced sender, not a wait for anything
			}
			_, err := fmt.Fprintf(c.Conn, "/me is done\r\n")
			sent <- err
		}()
	}
	// Kill the coordinator once both have posted a while.
	bob.SkipUntil("<carol> 50")
	if err := nodes[0].proc.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
	}
	check := func(c *testkit.Client, from string, next int) {
		t.Helper()
		for {
			line := c.Line()
			if line == "* "+from+" is done" {
				break
			}
			if !strings.HasPrefix(line, "<"+from+"> ") {
				continue
			}
			if want := fmt.Sprintf("<%s> %d", from, next); line != want {
				t.Fatalf("got %q, want %q (lost, repeated or out of order)", line, want)
			}
			next++
		}
		if next != posts {
			t.Errorf("got %d of %s's posts, want %d", next, from, posts)
		}
	}
	check(bob, "carol", 51)
	check(carol, "bob", 0)
}

// TestClusterNodeJoins: a node that joins a running cluster serves the
// existing rooms with their topic and history, and nobody elsewhere loses
// anything (a join moves no room: the rooms stay with the oldest node).
func TestClusterNodeJoins(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	tc.start(0)
	tc.start(1)
	tc.waitMembers(2, tc.nodes[0], tc.nodes[1])
	alice := clusterClient(t, tc.nodes[0], "alice", "dev")
	bob := clusterClient(t, tc.nodes[1], "bob", "dev")
	alice.SkipUntil("*** bob joined dev")
	alice.Send("/topic before the join")
	bob.SkipUntil("*** alice set the topic: before the join")
	bob.Send("one")
	alice.SkipUntil("<bob> one")

	tc.start(2)
	tc.waitMembers(3, tc.nodes...)
	carol := clusterClient(t, tc.nodes[2], "carol", "")
	carol.Send("/join dev")
	lines := readUntil(carol, "*** Topic: before the join")
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "*** You are in room dev with ") {
		t.Errorf("carol's join: %q", lines)
	}
	if line := carol.Line(); !strings.HasSuffix(line, "<bob> one") {
		t.Errorf("carol's history: %q", line)
	}
	alice.SkipUntil("*** carol joined dev")
	bob.SkipUntil("*** carol joined dev")
	bob.Send("two")
	alice.SkipUntil("<bob> two")
	carol.SkipUntil("<bob> two")
	alice.Send("/who")
	alice.SkipUntil("*** 3 in dev: alice, bob, carol")
}

// TestClusterEvictedNodeExits: a node the others dropped (it missed a
// health check while stopped) notices when it runs again and exits
// non-zero, so that its supervisor starts it afresh, instead of running on
// alone.
func TestClusterEvictedNodeExits(t *testing.T) {
	nodes := startClusterNodes(t, 3, nil)
	carol := clusterClient(t, nodes[2], "carol", "dev")
	p := nodes[2].proc.Cmd.Process
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	eventuallyMetric(t, nodes[0].admin, "chatd_cluster_members", 2)
	if err := p.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if code := nodes[2].proc.Wait(t); code != 1 {
		t.Errorf("the evicted node exited %d, want 1", code)
	}
	if !strings.Contains(nodes[2].proc.Stderr.String(), "evicted from the cluster") {
		t.Errorf("no eviction in its log:\n%s", nodes[2].proc.Stderr)
	}
	if got := carol.EOF(); !strings.HasSuffix(got, goodbye) {
		t.Errorf("carol's goodbye: %q", got)
	}
}

// TestClusterModeration: moderation is the same for everyone on every
// node. The owner is on node 0, the op it makes on node 2, the user they
// act against on node 1 (all three identified, and all on 127.0.0.1): each sees every claim, op, kick, ban, mute and
// setting, a mute silences bob on every node, and the ban and the
// invite-only flag hold against joins from any node. (Each node keeps its
// accounts in its own store here; a real cluster shares one.)
func TestClusterModeration(t *testing.T) {
	nodes := startClusterNodes(t, 3, nil, "-store", "sqlite")
	alice := registeredClusterClient(t, nodes[0], "alice")
	carol := registeredClusterClient(t, nodes[2], "carol")
	alice.Send("/join dev")
	for !strings.HasPrefix(alice.Line(), "*** You are in room dev") {
	}
	alice.Send("/claim")
	alice.SkipUntil("*** alice owns dev now")
	bob := registeredClusterClient(t, nodes[1], "bob")
	bob.Send("/join dev")
	for !strings.HasPrefix(bob.Line(), "*** You are in room dev") {
	}
	carol.Send("/join dev")
	for !strings.HasPrefix(carol.Line(), "*** You are in room dev") {
	}
	alice.SkipUntil("*** carol joined dev")
	bob.SkipUntil("*** carol joined dev")
	everyone := func(line string, who ...*testkit.Client) {
		t.Helper()
		for _, c := range who {
			c.SkipUntil(line)
		}
	}

	alice.Send("/op carol")
	everyone("*** alice made an op: carol", alice, bob, carol)

	carol.Send("/mute bob")
	everyone("*** carol muted bob", alice, bob, carol)
	bob.Send("let me speak")
	skipContaining(bob, "!!! not delivered to dev: you are muted here by carol")
	alice.Send("after the mute")
	for _, c := range []*testkit.Client{bob, carol} {
		if line := c.Line(); !strings.HasSuffix(line, "<alice> after the mute") {
			t.Errorf("after bob's muted post: %q, want alice's post", line)
		}
	}
	carol.Send("/unmute bob")
	everyone("*** carol unmuted bob", alice, bob, carol)

	carol.Send("/kick bob spamming")
	bob.SkipUntil("*** You were kicked from dev by carol: spamming")
	for !strings.HasPrefix(bob.Line(), "*** You are in room lobby") {
	}
	everyone("*** bob was kicked by carol: spamming", alice, carol)

	bob.Send("/join dev")
	everyone("*** bob joined dev", alice, carol)
	carol.Send("/ban bob trolling")
	bob.SkipUntil("*** You were banned from dev by carol: trolling")
	everyone("*** bob was banned by carol: trolling", alice, carol)
	bob.Send("/join dev")
	skipContaining(bob, "!!! you are banned from dev: trolling")

	alice.Send("/private on")
	everyone("*** alice made dev invite-only", alice, carol)
	alice.Send("/topiclock on")
	everyone("*** alice locked the topic: only ops may change it", alice, carol)
	dave := clusterClient(t, nodes[1], "dave", "")
	dave.Send("/join dev")
	skipContaining(dave, "!!! dev is invite-only; ask one of its ops for an /invite")
	carol.Send("/invite dave")
	skipContaining(carol, "dave")
	dave.Send("/join dev")
	for !strings.HasPrefix(dave.Line(), "*** You are in room dev") {
	}
	everyone("*** dave joined dev", alice, carol)
	dave.Send("/topic mine now")
	skipContaining(dave, "!!! the topic of dev is locked: only its ops may change it")

	// Ordinary operation, from the staggered start to a clean stop, logs
	// no ERROR: an operator reads ERROR as something to fix.
	for i := len(nodes) - 1; i >= 0; i-- {
		if err := nodes[i].proc.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := nodes[i].proc.Wait(t); code != 0 {
			t.Errorf("node %d exited %d after SIGTERM", i, code)
		}
	}
	for i, nd := range nodes {
		for _, line := range strings.Split(nd.proc.Stderr.String(), "\n") {
			if strings.Contains(line, "level=ERROR") {
				t.Errorf("node %d logged an error in ordinary operation: %s", i, line)
			}
		}
	}
}

// TestClusterTLS: nodes whose certificates the cluster's CA signed chat as
// one server. A process that reaches the cluster port without such a
// certificate delivers nothing: here the attack that made a user an
// operator, a forged message to a user's connection that claims to come
// from the registry (a Killed, whose effect a test can see). The health
// endpoints listen on the -node host only, and speak to nodes only.
func TestClusterTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testkit.NewCA(t, dir, "ca")
	node := ca.Issue(t, dir, "node")
	nodes := startClusterNodes(t, 2, nil, "-cluster-tls-cert", node.CertFile, "-cluster-tls-key", node.KeyFile, "-cluster-tls-ca", ca.File)
	alice := clusterClient(t, nodes[0], "alice", "dev")
	bob := clusterClient(t, nodes[1], "bob", "dev")
	alice.SkipUntil("*** bob joined dev")
	bob.Send("hello over mutual TLS")
	alice.SkipUntil("<bob> hello over mutual TLS")

	// A stranger's protoactor, without a certificate (this test binary, run
	// as one: runStranger): bob is the first connection of node 1.
	stranger := exec.Command(os.Args[0])
	stranger.Env = append(os.Environ(), strangerEnv+"="+nodes[1].node+","+nodes[0].node)
	if out, err := stranger.CombinedOutput(); err != nil {
		t.Fatalf("the stranger: %v\n%s", err, out)
	}
	alice.Send("still here?")
	bob.SkipUntil("<alice> still here?")
	bob.Send("yes")
	alice.SkipUntil("<bob> yes")

	_, hp, _ := net.SplitHostPort(clusterHealth(t, nodes[0]))
	if conn, err := net.DialTimeout("tcp", "127.0.0.2:"+hp, time.Second); err == nil {
		conn.Close()
		t.Error("the health endpoint answers on another address than the -node host")
	}
	if code, body := getQuiet("http://127.0.0.1:" + hp + "/_health"); code == http.StatusOK || strings.Contains(body, "cluster_name") {
		t.Errorf("the health endpoint answered plain HTTP: %d %q", code, body)
	}
	client := &http.Client{Timeout: waitTimeout, Transport: &http.Transport{TLSClientConfig: clustertls.New(node.Pair, ca.Pool).Client}}
	resp, err := client.Get("https://127.0.0.1:" + hp + "/_health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a node's health check: %d", resp.StatusCode)
	}
}

// strangerEnv makes the test binary a stranger on the cluster port: a
// protoactor process that is no node (it has no certificate), and sends
// the nodes named in the variable what only their own actors may send.
const strangerEnv = "CHATD_TEST_STRANGER"

// runStranger sends a forged Killed to the first connection of the first
// node, and a forged operator command to the registry of the second, as
// if from their registries; then it gives its transport a second to try.
func runStranger(targets string) {
	nodes := strings.Split(targets, ",")
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	r := remote.NewRemote(system, remote.Configure("127.0.0.1", 0))
	r.Start()
	forged := actor.NewPID(nodes[0], "server/registry")
	system.Root.RequestWithCustomSender(actor.NewPID(nodes[0], "server/connections/conn-1"), &messages.Killed{By: "mallory", Reason: "forged"}, forged)
	system.Root.RequestWithCustomSender(actor.NewPID(nodes[1], "server/registry"), &messages.AdminCommand{Action: messages.AdminAction_ADMIN_ACTION_WALL, Text: "forged"}, forged)
	time.Sleep(time.Second) // the stranger's transport dials, and fails, meanwhile
	r.Shutdown(false)
}

// clusterHealth is a node's health endpoint address, from its flags.
func clusterHealth(t *testing.T, nd *clusterNode) string {
	t.Helper()
	args := nd.proc.Cmd.Args
	peers := ""
	port := ""
	for i, a := range args {
		if a == "-peers" && i+1 < len(args) {
			peers = args[i+1]
		}
		if a == "-cluster-health-port" && i+1 < len(args) {
			port = args[i+1]
		}
	}
	for _, p := range strings.Split(peers, ",") {
		if strings.HasSuffix(p, ":"+port) {
			return p
		}
	}
	t.Fatalf("no health endpoint in %v", args)
	return ""
}

// TestClusterJoinHasADeadline: with etcd unreachable, chatd does not hang:
// it exits 1 with one line once the join timeout passes, and a SIGTERM
// before that ends it at once.
func TestClusterJoinHasADeadline(t *testing.T) {
	dead := "http://" + testkit.FreeAddr(t) // nothing listens there
	args := []string{"-listen", testkit.FreeAddr(t), "-store", "none", "-cluster", "test", "-node", testkit.FreeAddr(t),
		"-cluster-provider", "etcd", "-etcd", dead}
	start := time.Now()
	p := testkit.Start(t, chatdBin, nil, append(args, "-cluster-join-timeout", "2s")...)
	if code := p.Wait(t); code != exitRuntime {
		t.Fatalf("exit %d, want %d:\n%s", code, exitRuntime, p.Stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v to give up", took)
	}
	if !strings.Contains(p.Stderr.String(), "chatd: joining the cluster: not done within 2s") {
		t.Errorf("stderr:\n%s", p.Stderr)
	}

	p = testkit.Start(t, chatdBin, nil, append(args, "-cluster-join-timeout", "1m")...)
	testkit.Eventually(t, "chatd to be joining", func() bool {
		return strings.Contains(p.Stderr.String(), "Starting Proto.Actor") || strings.Contains(p.Stderr.String(), "starting") || time.Since(start) > 0
	})
	time.Sleep(500 * time.Millisecond) // into the join (a wait for nothing in particular: the signal must stop it wherever it is)
	signalled := time.Now()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(t); code != exitRuntime {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, p.Stderr)
	}
	if took := time.Since(signalled); took > 3*time.Second {
		t.Errorf("SIGTERM took %v to end chatd", took)
	}
}

// TestClusterManyRooms: a user on one node is in two rooms with users on
// the other nodes: lines go to the current room, the other's are marked,
// and when the node that holds the rooms dies, both rooms come back and
// the user goes on in them.
func TestClusterManyRooms(t *testing.T) {
	nodes := startClusterNodes(t, 3, nil)
	carol := clusterClient(t, nodes[0], "carol", "ops")
	bob := clusterClient(t, nodes[2], "bob", "dev")
	alice := clusterClient(t, nodes[1], "alice", "dev")
	bob.SkipUntil("*** alice joined dev")
	alice.Send("/join ops")
	for !strings.HasPrefix(alice.Line(), "*** You are in room ops with carol") {
	}
	carol.SkipUntil("*** alice joined ops")

	bob.Send("from dev")
	alice.SkipUntil("[dev] <bob> from dev")
	alice.Send("to ops")
	carol.SkipUntil("<alice> to ops")
	alice.Send("/focus dev")
	alice.SkipUntil("*** You are now talking in dev.")
	alice.Send("to dev")
	bob.SkipUntil("<alice> to dev")
	carol.Send("ops talk")
	alice.SkipUntil("[ops] <carol> ops talk")
	bob.Send("/whois alice")
	if line := bob.Line(); !strings.HasPrefix(line, "*** alice is in dev and ops, connected since ") {
		t.Errorf("/whois across nodes: %q", line)
	}

	// The coordinator, which holds both rooms, dies: alice takes both back
	// at the next node and goes on in them.
	if err := nodes[0].proc.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	alice.SkipUntil("[ops] *** carol left (server lost)")
	alice.Send("after the loss")
	bob.SkipUntil("<alice> after the loss")
	bob.Send("/join ops")
	for !strings.HasPrefix(bob.Line(), "*** You are in room ops with alice") {
	}
	alice.SkipUntil("*** bob joined ops") // a join names its room
	bob.Send("in ops too")
	alice.SkipUntil("[ops] <bob> in ops too")
	alice.Send("/focus ops")
	alice.SkipUntil("*** You are now talking in ops.")
	alice.Send("/who")
	alice.SkipUntil("*** 2 in ops: alice, bob")
}
