package main

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/actorchat/actorchat/actors"
)

// The benchmark is not a timed test: these smoke runs check that chatbench
// works end to end against chatd and that nothing is lost or reordered.

func startChatd(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := actors.DefaultConfig()
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.FloodRate = 0
	cfg.MaxConnsPerIP = 0
	srv := actors.MustStart(ln, cfg)
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return ln.Addr().String()
}

func smokeOptions(addr string) options {
	return options{addr: addr, conc: 10, size: 64, dialTimeout: 10 * time.Second, drain: 10 * time.Second}
}

func TestSmokeFanout(t *testing.T) {
	o := smokeOptions(startChatd(t))
	o.clients, o.senders, o.lines = 20, 3, 50
	res, err := fanout(o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss != 0 || res.OutOfOrder != 0 || res.Deliveries != 19*3*50 {
		t.Errorf("deliveries %d (loss %d, out of order %d), want %d", res.Deliveries, res.Loss, res.OutOfOrder, 19*3*50)
	}
	if res.P50 <= 0 || res.Max < res.P99 {
		t.Errorf("latencies p50 %v p99 %v max %v", res.P50, res.P99, res.Max)
	}
}

func TestSmokePacedAndRooms(t *testing.T) {
	addr := startChatd(t)
	o := smokeOptions(addr)
	o.clients, o.senders, o.rate, o.duration = 10, 2, 50, 200*time.Millisecond
	res, err := fanout(o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss != 0 || res.Deliveries != 9*2*10 {
		t.Errorf("paced: deliveries %d, loss %d", res.Deliveries, res.Loss)
	}
	o.schedule = schedulePoisson
	if res, err = fanout(o); err != nil {
		t.Fatal(err)
	}
	if res.Loss != 0 || res.Deliveries != 9*2*10 || res.Schedule != schedulePoisson {
		t.Errorf("poisson: deliveries %d, loss %d, schedule %q", res.Deliveries, res.Loss, res.Schedule)
	}
	o = smokeOptions(addr)
	o.rooms, o.members, o.lines = 3, 4, 5
	res, err = roomsBusy(o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss != 0 || res.Deliveries != 12*3*5 {
		t.Errorf("rooms: deliveries %d, loss %d", res.Deliveries, res.Loss)
	}
}

func TestSmokeConnect(t *testing.T) {
	o := smokeOptions(startChatd(t))
	o.clients = 30
	res, err := connectStorm(o)
	if err != nil {
		t.Fatal(err)
	}
	// connectStorm fails unless every client read its welcome.
	if res.Clients != 30 || res.Seconds <= 0 || res.ConnsPerSec != 30/res.Seconds {
		t.Errorf("%d clients in %vs at %v/s, want 30 clients and their rate", res.Clients, res.Seconds, res.ConnsPerSec)
	}
}

func TestThousands(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {1902311.4, "1,902,311"}, {-12345, "-12,345"}, {100000, "100,000"}} {
		if got := thousands(tt.v); got != tt.want {
			t.Errorf("thousands(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	got := progressLine(4_500_000, 10_000_000, 2*time.Second, "deliveries")
	want := "[#############.................]  45% 4,500,000/10,000,000 deliveries, 2,250,000/s"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestLatencies: the histogram's percentiles are those of what was
// recorded, to its precision, from several shards.
func TestLatencies(t *testing.T) {
	l := newLatencies()
	for i := range 1000 { // 1 ms .. 1000 ms
		l.add(i, []int64{int64(i+1) * int64(time.Millisecond)})
	}
	var res result
	l.fill(&res)
	near := func(got, want float64) bool { return got >= want*0.995 && got <= want*1.005 }
	if !near(res.P50, 500) || !near(res.P99, 990) || !near(res.P999, 999) || !near(res.Max, 1000) {
		t.Errorf("p50 %v p99 %v p99.9 %v max %v, want about 500, 990, 999, 1000 ms", res.P50, res.P99, res.P999, res.Max)
	}
}

// TestSummaries: one column of ratios per baseline, and no made-up range
// for a single run.
func TestSummaries(t *testing.T) {
	mk := func(server string, deliv float64) summary {
		s := summarize("fanout-1k-sat", server, []result{{DeliveriesPerSec: deliv}})
		return s
	}
	var b strings.Builder
	printSummaries(&b, []summary{mk("chatd", 3_000_000), mk("naivehub", 1_000_000), mk("naivehub-coalesce", 2_000_000)},
		[]string{"chatd", "naivehub", "naivehub-coalesce"}, "")
	out := b.String()
	for _, want := range []string{
		"| fanout-1k-sat | chatd | 3,000,000 | - |",
		"| workload | chatd / naivehub | chatd / naivehub-coalesce |",
		"| fanout-1k-sat | deliveries/s 3.00x | deliveries/s 1.50x |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "(3,000,000-3,000,000)") {
		t.Errorf("a single run shows a range:\n%s", out)
	}
}

// TestSummariesAgainstBaseline: with -baseline every other server is divided
// by it, and what a store held is shown against what was sent.
func TestSummariesAgainstBaseline(t *testing.T) {
	mk := func(server string, deliv float64, stored int64) summary {
		return summarize("fanout-1k-sat", server, []result{{DeliveriesPerSec: deliv, PostsSent: 10_000, PostsStored: stored, StoredPerSec: float64(stored) / 2, Seconds: 2}})
	}
	var b strings.Builder
	printSummaries(&b, []summary{mk("chatd", 2_000_000, 0), mk("chatd-sqlite", 1_900_000, 10_000), mk("chatd-postgres", 1_800_000, 10_000)},
		[]string{"chatd", "chatd-sqlite", "chatd-postgres"}, "chatd")
	out := b.String()
	for _, want := range []string{
		"| workload | chatd-sqlite / chatd | chatd-postgres / chatd |",
		"| fanout-1k-sat | deliveries/s 0.95x | deliveries/s 0.90x |",
		"| 10,000 of 10,000 (5,000/s) |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

// TestSummariesOfConnect: a connect storm shows the server's CPU time a
// connection beside its rate, and the ratio of both.
func TestSummariesOfConnect(t *testing.T) {
	mk := func(server string, rate, cpu float64) summary {
		return summarize("connect-storm-10k", server, []result{{ConnsPerSec: rate, CPUPerConnMicros: cpu}})
	}
	var b strings.Builder
	printSummaries(&b, []summary{mk("chatd", 18_000, 45), mk("naivehub", 20_000, 36)}, []string{"chatd", "naivehub"}, "naivehub")
	out := b.String()
	for _, want := range []string{
		"| 18,000; 45 µs CPU each |",
		"| connect-storm-10k | conns/s 0.90x, CPU/conn 1.25x |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestReplaceDB(t *testing.T) {
	got := replaceDB("postgres://chatd:pw@127.0.0.1:5432/postgres?sslmode=disable", "run_1")
	if want := "postgres://chatd:pw@127.0.0.1:5432/run_1?sslmode=disable"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestFloorServer: the floor servers (reading and not) welcome every client
// of a connect storm, and send nothing else.
func TestFloorServer(t *testing.T) {
	for _, read := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- serveFloor(ln, read) }()
		o := smokeOptions(ln.Addr().String())
		o.clients = 30
		res, err := connectStorm(o)
		if err != nil {
			t.Fatalf("read %v: %v", read, err)
		}
		if res.Clients != 30 {
			t.Errorf("read %v: %d clients, want 30", read, res.Clients)
		}
		c, err := dial(ln.Addr().String(), 0, 10*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.conn.Close()
		<-c.done
		if lines := c.lastLines(); len(lines) != 0 {
			t.Errorf("read %v: after the welcome the floor sent %q, want nothing", read, lines)
		}
		ln.Close()
		if err := <-served; err != nil {
			t.Errorf("read %v: serveFloor: %v", read, err)
		}
	}
}

// TestSchedules: spread senders post a fraction of a gap apart, never at
// the same instant; aligned ones (the named old variant) all at once;
// Poisson gaps average 1/rate, differ from sender to sender, and repeat
// with the seed.
func TestSchedules(t *testing.T) {
	o := options{senders: 10, rate: 20, seed: 1}
	gap := time.Second / 20
	o.schedule = scheduleSpread
	spread, err := o.dueTimes(1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[time.Duration]bool{}
	for s := range spread {
		for i, at := range spread[s] {
			if seen[at] {
				t.Fatalf("spread: sender %d's line %d is due at %v, as another sender's", s, i, at)
			}
			seen[at] = true
			if i > 0 && at-spread[s][i-1] != gap {
				t.Fatalf("spread: sender %d's gap before line %d is %v, want %v", s, i, at-spread[s][i-1], gap)
			}
		}
	}
	if spread[1][0]-spread[0][0] != gap/10 {
		t.Errorf("spread: sender 1 is %v behind sender 0, want a tenth of a gap", spread[1][0]-spread[0][0])
	}

	o.schedule = scheduleAligned
	aligned, _ := o.dueTimes(1000)
	for s := range aligned {
		if aligned[s][7] != 7*gap {
			t.Errorf("aligned: sender %d's line 7 at %v, want %v", s, aligned[s][7], 7*gap)
		}
	}

	o.schedule = schedulePoisson
	poisson, _ := o.dueTimes(1000)
	again, _ := o.dueTimes(1000)
	for s := range poisson {
		mean := poisson[s][999] / 1000
		if mean < gap*85/100 || mean > gap*115/100 {
			t.Errorf("poisson: sender %d's mean gap %v, want about %v", s, mean, gap)
		}
		if poisson[s][999] != again[s][999] {
			t.Errorf("poisson: sender %d's schedule differs with the same seed", s)
		}
	}
	if poisson[0][0] == poisson[1][0] {
		t.Error("poisson: two senders drew the same first gap")
	}

	o.schedule = "bursty"
	if _, err := o.dueTimes(10); err == nil || !strings.Contains(err.Error(), "unknown schedule") {
		t.Errorf("an unknown schedule: %v", err)
	}
	o.rate = 0
	if free, _ := o.dueTimes(10); free[0] != nil {
		t.Error("unthrottled senders got a schedule")
	}
}
