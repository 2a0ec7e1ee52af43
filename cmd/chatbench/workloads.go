package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// options is one workload's shape.
type options struct {
	addr        string
	addrs       []string             // a cluster's nodes: client i dials addrs[i%len(addrs)]; empty: addr
	pid         int                  // the server's pid, for CPU and RSS; 0: not measured
	pids        []int                // a cluster's processes (summed); empty: pid
	kill        func(node int) error // a cluster: SIGKILL one node (node-loss)
	killNode    int                  // node-loss: which node dies (0: the oldest, which holds the rooms)
	clients     int                  // N
	senders     int                  // K
	lines       int                  // M, per sender (unthrottled), or 0 with rate and duration
	rate        float64              // lines per second per sender; 0: unthrottled
	duration    time.Duration        // with rate: how long the senders send
	schedule    string               // with rate: when each sender's lines are due (scheduleSpread, schedulePoisson, scheduleAligned)
	seed        uint64               // schedulePoisson: the seed of the senders' gaps, so that a run can be repeated
	conc        int                  // dials at once
	size        int                  // bytes of each benchmark line's text
	rooms       int                  // for the rooms workload
	members     int                  // for the rooms workload
	dialTimeout time.Duration
	drain       time.Duration // how long to wait for deliveries after the last send makes no progress
	progress    bool
}

// result is what a run measured. Times are in milliseconds.
type result struct {
	Workload            string  `json:"workload"`
	Server              string  `json:"server,omitempty"`
	Clients             int     `json:"clients"`
	Senders             int     `json:"senders,omitempty"`
	LinesPerSender      int     `json:"lines_per_sender,omitempty"`
	Schedule            string  `json:"schedule,omitempty"` // paced: spread, poisson or aligned
	Expected            int64   `json:"expected_deliveries,omitempty"`
	Deliveries          int64   `json:"deliveries,omitempty"`
	Loss                int64   `json:"loss"`
	OutOfOrder          int64   `json:"out_of_order,omitempty"`
	Seconds             float64 `json:"seconds"`
	DeliveriesPerSec    float64 `json:"deliveries_per_sec,omitempty"`
	P50                 float64 `json:"p50_ms,omitempty"`
	P90                 float64 `json:"p90_ms,omitempty"`
	P99                 float64 `json:"p99_ms,omitempty"`
	P999                float64 `json:"p999_ms,omitempty"`
	Max                 float64 `json:"max_ms,omitempty"`
	ConnsPerSec         float64 `json:"conns_per_sec,omitempty"`
	ServerCPUSeconds    float64 `json:"server_cpu_seconds,omitempty"`
	ServerCPUUtil       float64 `json:"server_cpu_cores,omitempty"`
	DeliveriesPerCPUSec float64 `json:"deliveries_per_server_cpu_sec,omitempty"`
	CPUPerConnMicros    float64 `json:"server_cpu_us_per_conn,omitempty"` // connect: the server's CPU time per connection set up
	ServerRSSBytes      int64   `json:"server_rss_bytes,omitempty"`
	RSSPerConnBytes     float64 `json:"rss_per_conn_bytes,omitempty"`
	PostsSent           int64   `json:"posts_sent,omitempty"`
	PostsStored         int64   `json:"posts_stored,omitempty"`         // chatd with a store: posts it held after the run
	StoredPerSec        float64 `json:"stored_posts_per_sec,omitempty"` // those over the run's seconds
	LeaveSeenMs         float64 `json:"leave_seen_ms,omitempty"`        // node-loss: from the kill until a survivor read "left (server lost)"
}

// dialAddrs are the addresses the clients dial, round robin.
func (o options) dialAddrs() []string {
	if len(o.addrs) > 0 {
		return o.addrs
	}
	return []string{o.addr}
}

// procs are the server processes whose CPU and memory count.
func (o options) procs() []int {
	if len(o.pids) > 0 {
		return o.pids
	}
	return []int{o.pid}
}

// payload builds a benchmark line: marker, sender, sequence, scheduled send
// time, padding up to size bytes.
func payload(sender int, seq int64, at time.Time, size int) string {
	s := payloadMark + strconv.Itoa(sender) + " " + strconv.FormatInt(seq, 10) + " " + strconv.FormatInt(at.UnixNano(), 10) + " "
	if pad := size - len(s); pad > 0 {
		s += strings.Repeat("x", pad)
	}
	return s
}

// fanout: N clients in one room, K of them send M lines each (or at a rate
// for a duration); every receiver measures the latency of every line from
// its scheduled send time.
func fanout(o options) (result, error) {
	res := result{Workload: "fanout", Clients: o.clients, Senders: o.senders}
	lat := newLatencies()
	clients, _, err := connectAll(o.dialAddrs(), o.clients, o.conc, o.dialTimeout, lat, nil)
	if err != nil {
		return res, err
	}
	defer closeAll(clients)
	if err := barrier(clients[0], clients[1:], "sync-"+strconv.FormatUint(rand.Uint64(), 36), 30*time.Second); err != nil {
		return res, err
	}
	lines := o.lines
	if o.rate > 0 {
		lines = int(o.rate * o.duration.Seconds())
		res.Schedule = o.schedule
	}
	res.LinesPerSender = lines
	res.Expected = int64(o.clients-1) * int64(o.senders) * int64(lines)
	due, err := o.dueTimes(lines)
	if err != nil {
		return res, err
	}

	before := sample(o.procs()...)
	start := time.Now()
	var wg sync.WaitGroup
	for s := range o.senders {
		c := clients[s]
		wg.Go(func() { send(c, lines, due[s], start, o.size) })
	}
	done := waitDeliveries(clients, res.Expected, o.drain, o.progress)
	wg.Wait()
	end := time.Now()
	after := sample(o.procs()...)
	if done.IsZero() {
		done = end
	}
	res.Seconds = done.Sub(start).Seconds()
	collect(&res, clients)
	lat.fill(&res)
	serverCost(&res, before, after, done.Sub(start))
	return res, nil
}

// Paced schedules: when a sender's lines are due.
const (
	// scheduleSpread: every sender at rate lines a second, sender s of K
	// s/K of a gap behind the first, so that the senders' lines are spread
	// evenly over time, as real users' are (the default).
	scheduleSpread = "spread"
	// schedulePoisson: gaps drawn from an exponential distribution of mean
	// 1/rate, independently for each sender: arrivals as from many users who
	// do not know of each other, bursts and lulls included.
	schedulePoisson = "poisson"
	// scheduleAligned: every sender at start + i/rate, all K lines due at
	// the same instants. Real users do not do that, and a server that batches
	// (chatd's 2 ms window) merges each instant's K posts into one write:
	// kept as a named variant, to compare with figures measured with it.
	scheduleAligned = "aligned"
)

// dueTimes is, for each sender, when each of its lines is due, from the
// start of the run; nil for senders that send as fast as they can.
func (o options) dueTimes(lines int) ([][]time.Duration, error) {
	due := make([][]time.Duration, o.senders)
	if o.rate <= 0 {
		return due, nil
	}
	gap := time.Duration(float64(time.Second) / o.rate)
	for s := range due {
		due[s] = make([]time.Duration, lines)
		switch o.schedule {
		case scheduleSpread, "":
			behind := time.Duration(s) * gap / time.Duration(o.senders)
			for i := range due[s] {
				due[s][i] = time.Duration(i)*gap + behind
			}
		case schedulePoisson:
			rng := rand.New(rand.NewPCG(o.seed, uint64(s)))
			at := rng.ExpFloat64() * float64(gap)
			for i := range due[s] {
				due[s][i] = time.Duration(at)
				at += rng.ExpFloat64() * float64(gap)
			}
		case scheduleAligned:
			for i := range due[s] {
				due[s][i] = time.Duration(i) * gap
			}
		default:
			return nil, fmt.Errorf("unknown schedule %q (spread, poisson or aligned)", o.schedule)
		}
	}
	return due, nil
}

// send writes lines from one sender: as fast as the socket takes them
// (due nil), or each at its due time from start. Each line carries its
// due time, so that a late sender is not hidden (no coordinated omission).
func send(c *client, lines int, due []time.Duration, start time.Time, size int) {
	_ = c.conn.SetWriteDeadline(start.Add(lastOf(due) + time.Minute))
	for i := range lines {
		at := time.Now()
		if due != nil {
			at = start.Add(due[i])
			if d := time.Until(at); d > 0 {
				time.Sleep(d) // pacing: the schedule, not a wait for a result
			}
		}
		if _, err := c.w.WriteString(payload(c.id, int64(i), at, size) + "\r\n"); err != nil {
			return
		}
		if due != nil || c.w.Available() < size+64 {
			if c.w.Flush() != nil {
				return
			}
		}
	}
	_ = c.w.Flush()
}

// waitDeliveries waits until the clients have received want benchmark lines
// in all, or until nothing arrives for drain. It returns when the last line
// came (zero if it gave up).
func waitDeliveries(clients []*client, want int64, drain time.Duration, progress bool) time.Time {
	last, lastChange := int64(-1), time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	bar := newProgress(progress, want, "deliveries")
	for range tick.C {
		var got int64
		for _, c := range clients {
			got += c.received.Load()
		}
		bar.show(got)
		now := time.Now()
		if got >= want {
			bar.done()
			return now
		}
		if got != last {
			last, lastChange = got, now
		} else if now.Sub(lastChange) > drain {
			bar.done()
			return time.Time{}
		}
	}
	return time.Time{}
}

// collect sums deliveries and loss over the clients, once their readers
// are done.
func collect(res *result, clients []*client) {
	for _, c := range clients {
		<-waitReader(c)
		res.Deliveries += c.received.Load()
		res.OutOfOrder += c.outOfOrd.Load()
	}
	res.Loss = res.Expected - res.Deliveries
	if res.Seconds > 0 {
		res.DeliveriesPerSec = float64(res.Deliveries) / res.Seconds
	}
}

// waitReader stops a client's reader so its records can be read; it returns
// a channel closed once the reader is done.
func waitReader(c *client) <-chan struct{} {
	c.conn.Close()
	return c.done
}

// serverCost fills in the server's CPU and memory over the run.
func serverCost(res *result, before, after procSample, wall time.Duration) {
	if !after.ok || !before.ok {
		return
	}
	res.ServerCPUSeconds = after.cpu - before.cpu
	if wall > 0 {
		res.ServerCPUUtil = res.ServerCPUSeconds / wall.Seconds()
	}
	if res.ServerCPUSeconds > 0 {
		res.DeliveriesPerCPUSec = float64(res.Deliveries) / res.ServerCPUSeconds
	}
	res.ServerRSSBytes = after.rss
}

// connectStorm: N clients connect, at most C at once, and each waits for
// its welcome.
func connectStorm(o options) (result, error) {
	res := result{Workload: "connect", Clients: o.clients}
	before := sample(o.procs()...)
	bar := newProgress(o.progress, int64(o.clients), "connections")
	clients, elapsed, err := connectAll(o.dialAddrs(), o.clients, o.conc, o.dialTimeout, nil, func(n int) { bar.show(int64(n)) })
	bar.done()
	if err != nil {
		return res, err
	}
	after := sample(o.procs()...)
	res.Seconds = elapsed.Seconds()
	res.ConnsPerSec = float64(o.clients) / elapsed.Seconds()
	serverCost(&res, before, after, elapsed)
	if res.ServerCPUSeconds > 0 {
		res.CPUPerConnMicros = res.ServerCPUSeconds / float64(o.clients) * 1e6
	}
	closeAll(clients)
	return res, nil
}

// idleSettle is how long idle connections sit before the server's memory
// is read: long enough for the welcome traffic to be done and freed.
const idleSettle = 2 * time.Second

// idle: N clients connect and sit; the server's RSS growth per connection.
func idle(o options) (result, error) {
	res := result{Workload: "idle", Clients: o.clients}
	before := sample(o.procs()...)
	clients, elapsed, err := connectAll(o.dialAddrs(), o.clients, o.conc, o.dialTimeout, nil, nil)
	if err != nil {
		return res, err
	}
	defer closeAll(clients)
	time.Sleep(idleSettle) // let the server settle, then measure
	after := sample(o.procs()...)
	res.Seconds = elapsed.Seconds()
	res.ServerRSSBytes = after.rss
	if before.ok && after.ok {
		res.RSSPerConnBytes = float64(after.rss-before.rss) / float64(o.clients)
	}
	return res, nil
}

// rooms: R rooms of S members each; every member sends M lines to its room.
// It needs a server with /join (chatd).
func roomsBusy(o options) (result, error) {
	n := o.rooms * o.members
	res := result{Workload: "rooms", Clients: n, Senders: n, LinesPerSender: o.lines}
	lat := newLatencies()
	clients, _, err := connectAll(o.dialAddrs(), n, o.conc, o.dialTimeout, lat, nil)
	if err != nil {
		return res, err
	}
	defer closeAll(clients)
	for i, c := range clients {
		if err := c.sendLine(fmt.Sprintf("/join bench%d", i%o.rooms)); err != nil {
			return res, err
		}
	}
	for r := range o.rooms {
		var members []*client
		for i := r; i < n; i += o.rooms {
			members = append(members, clients[i])
		}
		if err := barrier(members[0], members[1:], fmt.Sprintf("sync-%d-%x", r, rand.Uint64()), 30*time.Second); err != nil {
			return res, err
		}
	}
	res.Expected = int64(n) * int64(o.members-1) * int64(o.lines)
	before := sample(o.procs()...)
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { send(c, o.lines, nil, start, o.size) })
	}
	done := waitDeliveries(clients, res.Expected, o.drain, o.progress)
	wg.Wait()
	after := sample(o.procs()...)
	if done.IsZero() {
		done = time.Now()
	}
	res.Seconds = done.Sub(start).Seconds()
	collect(&res, clients)
	lat.fill(&res)
	serverCost(&res, before, after, done.Sub(start))
	return res, nil
}

// nodeLoss: a paced fanout over the nodes of a cluster, one of which is
// killed (SIGKILL) at killAt. For the users on the surviving nodes it
// reports the loss among themselves (want 0), their per-sender order, and
// how long after the kill a survivor read that a user of the dead node
// left ("left (server lost)").
func nodeLoss(o options) (result, error) {
	res := result{Workload: "node-loss", Clients: o.clients, Senders: o.senders}
	addrs := o.dialAddrs()
	if o.kill == nil || len(addrs) < 2 {
		return res, fmt.Errorf("node-loss needs a cluster (chatd-cluster3)")
	}
	lat := newLatencies()
	clients, _, err := connectAll(addrs, o.clients, o.conc, o.dialTimeout, lat, nil)
	if err != nil {
		return res, err
	}
	defer closeAll(clients)
	if err := barrier(clients[0], clients[1:], "sync-"+strconv.FormatUint(rand.Uint64(), 36), 30*time.Second); err != nil {
		return res, err
	}
	alive := func(c *client) bool { return c.id%len(addrs) != o.killNode }
	lines := int(o.rate * o.duration.Seconds())
	res.LinesPerSender, res.Schedule = lines, o.schedule
	due, err := o.dueTimes(lines)
	if err != nil {
		return res, err
	}
	var observer *client
	for _, c := range clients[o.senders:] {
		if alive(c) {
			observer = c
			break
		}
	}
	lost := "left (server lost)"
	observer.watchMark.Store(&lost)

	start := time.Now()
	killAt := start.Add(o.duration * 2 / 5)
	seen := make(chan time.Duration, 1)
	go func() {
		time.Sleep(time.Until(killAt)) // the kill is on the schedule, not a wait for a result
		if err := o.kill(o.killNode); err != nil {
			seen <- -1
			return
		}
		select {
		case <-observer.marks:
			seen <- time.Since(killAt)
		case <-time.After(30 * time.Second):
			seen <- -1
		}
	}()
	var wg sync.WaitGroup
	for s := range o.senders {
		c := clients[s]
		wg.Go(func() { send(c, lines, due[s], start, o.size) })
	}
	wg.Wait()
	var survivors, senders []*client
	for _, c := range clients {
		if alive(c) {
			survivors = append(survivors, c)
			if c.id < o.senders {
				senders = append(senders, c)
			}
		}
	}
	waitDeliveries(survivors, 1<<62, o.drain, false) // until nothing more comes
	res.Seconds = time.Since(start).Seconds()
	if d := <-seen; d >= 0 {
		res.LeaveSeenMs = float64(d) / float64(time.Millisecond)
	}
	for _, c := range survivors {
		<-waitReader(c)
		for _, s := range senders {
			if s != c {
				res.Expected += int64(lines)
				res.Deliveries += c.perSender[s.id]
			}
		}
		res.OutOfOrder += c.outOfOrd.Load()
	}
	res.Loss = res.Expected - res.Deliveries
	lat.fill(&res)
	return res, nil
}

// lastOf is the last due time; 0 for none.
func lastOf(due []time.Duration) time.Duration {
	if len(due) == 0 {
		return 0
	}
	return due[len(due)-1]
}
