package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// sideBySide is what compare and sweep share: where the servers come from.
type sideBySide struct {
	chatdPkg    string
	baseDir     string // a checkout of an earlier chatd, served as chatd-base; empty: none
	naivehubDir string
	runs        int
	dir         string
	bins        map[string]string
	stores      stores
}

func (s *sideBySide) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.chatdPkg, "chatd", "./cmd/chatd", "package of chatd to build (run chatbench from the repository root)")
	fs.StringVar(&s.baseDir, "chatd-base", "", "a checkout of another chatd (git worktree add DIR REV) to build and serve as chatd-base, for before/after in one run")
	fs.StringVar(&s.naivehubDir, "naivehub", "../shared/bench/naivehub", "directory of the naivehub baseline")
	fs.IntVar(&s.runs, "runs", 3, "runs of each workload on each server; the median is reported")
	fs.StringVar(&s.stores.pgURL, "postgres", "", "a PostgreSQL server for chatd-postgres (postgres://user@host/db; each run gets a fresh database); empty: chatbench starts one from the machine's binaries")
}

// build compiles the servers once.
func (s *sideBySide) build() error {
	dir, err := os.MkdirTemp("", "chatbench")
	if err != nil {
		return err
	}
	s.dir = dir
	chatd, naivehub, err := buildServers(dir, s.chatdPkg, s.naivehubDir)
	if err != nil {
		return err
	}
	self, err := os.Executable() // the floor server is chatbench itself
	if err != nil {
		return err
	}
	s.bins = map[string]string{"chatd": chatd, "chatd-sqlite": chatd, "chatd-postgres": chatd, "chatd-cluster3": chatd, "naivehub": naivehub, "naivehub-coalesce": naivehub, "floor": self, "floor-noread": self}
	if s.baseDir != "" {
		base := filepath.Join(dir, "chatd-base")
		build := exec.Command("go", "build", "-o", base, "./cmd/chatd")
		build.Dir = s.baseDir
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("build chatd-base in %s: %v\n%s", s.baseDir, err, out)
		}
		s.bins["chatd-base"] = base
	}
	return nil
}

func (s *sideBySide) cleanup() {
	s.stores.close()
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// once starts a fresh server, runs one workload against it, and stops it.
// A chatd with a store starts with a fresh one, and after the run (and
// chatd's shutdown, which writes everything) the posts it holds are counted.
func (s *sideBySide) once(serverName, workload string, o options) (result, error) {
	env, rs, err := s.stores.prepare(serverName, s.dir)
	if err != nil {
		return result{}, err
	}
	if rs != nil {
		defer rs.drop()
	}
	var srv *server
	if serverName == "chatd-cluster3" {
		srv, err = startCluster(s.bins[serverName], env)
	} else {
		srv, err = startServer(serverName, s.bins[serverName], env)
	}
	if err != nil {
		return result{}, err
	}
	o.addr, o.pid = srv.addr, srv.pid()
	o.addrs, o.pids, o.kill = srv.addrs(), srv.pids(), srv.killNode
	res, err := runWorkload(workload, o)
	srv.stop()
	res.Server = serverName
	res.PostsSent = int64(res.Senders) * int64(res.LinesPerSender)
	if err == nil && rs != nil && rs.kind != "none" {
		n, cerr := rs.storedPosts()
		if cerr != nil {
			return res, fmt.Errorf("count stored posts: %w", cerr)
		}
		res.PostsStored = n
		if res.Seconds > 0 {
			res.StoredPerSec = float64(n) / res.Seconds
		}
	}
	return res, err
}

func runCompare(args []string, stdout, stderr io.Writer) error {
	var s sideBySide
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s.flags(fs)
	workloads := fs.String("workloads", "fanout-1k-sat,fanout-1k-paced,connect-storm-10k,idle-10k,rooms-100x100", "presets to run")
	servers := fs.String("servers", "chatd,naivehub", "servers to compare (chatd, chatd-sqlite, chatd-postgres, chatd-cluster3, naivehub, naivehub-coalesce, floor and floor-noread for connect and idle, chatd-base with -chatd-base)")
	baseline := fs.String("baseline", "", "the server the others are divided by in the ratio table; empty: chatd divided by each other")
	jsonOut := fs.String("json", "", "also write every run as JSON lines to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := s.build(); err != nil {
		return err
	}
	defer s.cleanup()
	var raw io.Writer = io.Discard
	if *jsonOut != "" {
		f, err := os.Create(*jsonOut)
		if err != nil {
			return err
		}
		defer f.Close()
		raw = f
	}
	enc := json.NewEncoder(raw)

	serverList := splitList(*servers)
	for _, srv := range serverList {
		if _, ok := s.bins[srv]; !ok {
			return usageError{fmt.Errorf("unknown server %q (chatd, chatd-sqlite, chatd-postgres, chatd-cluster3, naivehub, naivehub-coalesce, floor, floor-noread; chatd-base with -chatd-base)", srv)}
		}
	}
	if *baseline != "" && !slices.Contains(serverList, *baseline) {
		return usageError{fmt.Errorf("-baseline %s is not one of -servers", *baseline)}
	}
	var medians []summary
	for _, name := range splitList(*workloads) {
		p, ok := findPreset(name)
		if !ok {
			return usageError{fmt.Errorf("unknown workload %q", name)}
		}
		var here []string
		for _, srv := range serverList {
			if (!p.chatOnly || strings.HasPrefix(srv, "chatd")) && (!p.clusterOnly || srv == "chatd-cluster3") && (!floorServer(srv) || floorServes(p.workload)) {
				here = append(here, srv)
			}
		}
		// The servers take turns run by run, each run starting with the
		// next one, so that a machine that drifts (another load, thermal
		// limits) biases neither side.
		runs := map[string][]result{}
		for i := range s.runs {
			for j := range here {
				srv := here[(i+j)%len(here)]
				fmt.Fprintf(stderr, "%s on %s, run %d/%d\n", name, srv, i+1, s.runs)
				res, err := s.once(srv, p.workload, p.o)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", name, srv, err)
				}
				res.Workload = name
				_ = enc.Encode(res)
				runs[srv] = append(runs[srv], res)
			}
		}
		for _, srv := range here {
			medians = append(medians, summarize(name, srv, runs[srv]))
		}
	}
	printSummaries(stdout, medians, serverList, *baseline)
	return nil
}

// summary is the median of a workload's runs on one server, with the range
// of its headline numbers.
type summary struct {
	result
	runs         int
	rangeDeliv   [2]float64
	rangeP99     [2]float64
	rangeConns   [2]float64
	rangeRSSConn [2]float64
	rangeCPU     [2]float64
	rangeLeave   [2]float64
}

func summarize(workload, server string, rs []result) summary {
	med := func(get func(result) float64) (float64, [2]float64) {
		vs := make([]float64, len(rs))
		for i, r := range rs {
			vs[i] = get(r)
		}
		slices.Sort(vs)
		return vs[len(vs)/2], [2]float64{vs[0], vs[len(vs)-1]}
	}
	s := summary{runs: len(rs)}
	s.Workload, s.Server, s.Clients = workload, server, rs[0].Clients
	s.DeliveriesPerSec, s.rangeDeliv = med(func(r result) float64 { return r.DeliveriesPerSec })
	s.P50, _ = med(func(r result) float64 { return r.P50 })
	s.P90, _ = med(func(r result) float64 { return r.P90 })
	s.P99, s.rangeP99 = med(func(r result) float64 { return r.P99 })
	s.P999, _ = med(func(r result) float64 { return r.P999 })
	s.Max, _ = med(func(r result) float64 { return r.Max })
	s.ConnsPerSec, s.rangeConns = med(func(r result) float64 { return r.ConnsPerSec })
	s.CPUPerConnMicros, _ = med(func(r result) float64 { return r.CPUPerConnMicros })
	s.DeliveriesPerCPUSec, s.rangeCPU = med(func(r result) float64 { return r.DeliveriesPerCPUSec })
	s.ServerCPUUtil, _ = med(func(r result) float64 { return r.ServerCPUUtil })
	s.RSSPerConnBytes, s.rangeRSSConn = med(func(r result) float64 { return r.RSSPerConnBytes })
	s.StoredPerSec, _ = med(func(r result) float64 { return r.StoredPerSec })
	s.LeaveSeenMs, s.rangeLeave = med(func(r result) float64 { return r.LeaveSeenMs })
	for _, r := range rs {
		s.Loss += r.Loss
		s.OutOfOrder += r.OutOfOrder
		s.PostsSent += r.PostsSent
		s.PostsStored += r.PostsStored
	}
	return s
}

// printSummaries prints a Markdown table of medians (with the range over
// the runs, when there was more than one) and a table of ratios: each server
// divided by baseline, or, without one, chatd divided by each other server.
func printSummaries(w io.Writer, ss []summary, servers []string, baseline string) {
	fmt.Fprintln(w, "| workload | server | deliveries/s | deliveries per server-CPU-s | p50 / p99 / p99.9 / max ms | conns/s | RSS per conn | server cores busy | loss / out of order | stored posts (per s) | lost node's users seen leaving after |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range ss {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s |\n", s.Workload, s.Server,
			rng(s.DeliveriesPerSec, s.rangeDeliv, s.runs, ""), rng(s.DeliveriesPerCPUSec, s.rangeCPU, s.runs, ""),
			lat(s), conns(s), rng(s.RSSPerConnBytes, s.rangeRSSConn, s.runs, " B"),
			num(s.ServerCPUUtil, "%.2f"), thousands(float64(s.Loss)), thousands(float64(s.OutOfOrder)), stored(s), rng(s.LeaveSeenMs, s.rangeLeave, s.runs, " ms"))
	}
	type pair struct{ num, den string }
	var pairs []pair
	for _, srv := range servers {
		switch {
		case baseline != "" && srv != baseline:
			pairs = append(pairs, pair{srv, baseline})
		case baseline == "" && srv != "chatd" && slices.Contains(servers, "chatd"):
			pairs = append(pairs, pair{"chatd", srv})
		}
	}
	if len(pairs) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "| workload |")
	for _, p := range pairs {
		fmt.Fprintf(w, " %s / %s |", p.num, p.den)
	}
	fmt.Fprint(w, "\n|---|")
	for range pairs {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	var workloads []string
	for _, s := range ss {
		if !slices.Contains(workloads, s.Workload) {
			workloads = append(workloads, s.Workload)
		}
	}
	find := func(workload, server string) (summary, bool) {
		for _, s := range ss {
			if s.Workload == workload && s.Server == server {
				return s, true
			}
		}
		return summary{}, false
	}
	for _, wl := range workloads {
		fmt.Fprintf(w, "| %s |", wl)
		for _, p := range pairs {
			cell := "-"
			n, ok1 := find(wl, p.num)
			d, ok2 := find(wl, p.den)
			if ok1 && ok2 {
				cell = ratios(n, d)
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		fmt.Fprintln(w)
	}
}

// conns renders the connections set up a second and, when it was
// measured, the server's CPU time for each.
func conns(s summary) string {
	out := rng(s.ConnsPerSec, s.rangeConns, s.runs, "")
	if s.CPUPerConnMicros > 0 {
		out += fmt.Sprintf("; %.0f µs CPU each", s.CPUPerConnMicros)
	}
	return out
}

// stored renders how many of the posts sent the store held after the runs,
// and the median rate it wrote them at.
func stored(s summary) string {
	if s.PostsStored == 0 && s.StoredPerSec == 0 {
		return "-"
	}
	return fmt.Sprintf("%s of %s (%s/s)", thousands(float64(s.PostsStored)), thousands(float64(s.PostsSent)), thousands(s.StoredPerSec))
}

// ratios compares chatd's headline numbers with one baseline's.
func ratios(c, n summary) string {
	var parts []string
	if c.DeliveriesPerSec > 0 && n.DeliveriesPerSec > 0 {
		parts = append(parts, fmt.Sprintf("deliveries/s %.2fx", c.DeliveriesPerSec/n.DeliveriesPerSec))
	}
	if c.DeliveriesPerCPUSec > 0 && n.DeliveriesPerCPUSec > 0 {
		parts = append(parts, fmt.Sprintf("per CPU-s %.2fx", c.DeliveriesPerCPUSec/n.DeliveriesPerCPUSec))
	}
	if c.P99 > 0 && n.P99 > 0 {
		parts = append(parts, fmt.Sprintf("p99 %.2fx", c.P99/n.P99))
	}
	if c.ConnsPerSec > 0 && n.ConnsPerSec > 0 {
		parts = append(parts, fmt.Sprintf("conns/s %.2fx", c.ConnsPerSec/n.ConnsPerSec))
	}
	if c.CPUPerConnMicros > 0 && n.CPUPerConnMicros > 0 {
		parts = append(parts, fmt.Sprintf("CPU/conn %.2fx", c.CPUPerConnMicros/n.CPUPerConnMicros))
	}
	if c.RSSPerConnBytes > 0 && n.RSSPerConnBytes > 0 {
		parts = append(parts, fmt.Sprintf("RSS/conn %.2fx", c.RSSPerConnBytes/n.RSSPerConnBytes))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// rng renders a median with thousands separators, and the range of the
// runs when there was more than one (a single run has no range to show).
func rng(v float64, r [2]float64, runs int, unit string) string {
	if v == 0 {
		return "-"
	}
	if runs <= 1 {
		return thousands(v) + unit
	}
	return fmt.Sprintf("%s%s (%s-%s)", thousands(v), unit, thousands(r[0]), thousands(r[1]))
}

func lat(s summary) string {
	if s.P99 == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f / %.2f / %.2f / %.2f", s.P50, s.P99, s.P999, s.Max)
}

// runSweep measures how cost grows with the work: fanout over room sizes and
// connect over connection counts, for each server, and plots both.
func runSweep(args []string, stdout, stderr io.Writer) error {
	var s sideBySide
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s.flags(fs)
	sizes := fs.String("sizes", "10,100,1000,5000", "room sizes for fanout")
	conns := fs.String("conns", "1000,10000", "connection counts for connect")
	servers := fs.String("servers", "chatd,naivehub", "servers")
	plotFile := fs.String("plot", "sweep.png", "PNG to write")
	total := fs.Int("deliveries", 10_000_000, "deliveries per fanout point at most: lines per sender are 1000 (as in fanout-1k-sat), fewer where that would pass it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := s.build(); err != nil {
		return err
	}
	defer s.cleanup()
	base, _ := findPreset("fanout-1k-sat")
	fanoutPts := map[string]plotter.XYs{}
	connectPts := map[string]plotter.XYs{}
	var all []summary
	for _, srv := range splitList(*servers) {
		for _, n := range splitList(*sizes) {
			if floorServer(srv) {
				break // the floors serve connect and idle only: they answer no lines
			}
			var size int
			fmt.Sscan(n, &size)
			o := base.o
			o.clients = size
			// Each receiver gets at most what it gets in fanout-1k-sat
			// (K=10 senders x 1000 lines): the sweep varies the room, not
			// how far senders outrun receivers.
			o.lines = max(10, min(1000, *total/(o.senders*(size-1))))
			sum, err := s.point(srv, "fanout", o, stderr)
			if err != nil {
				return err
			}
			all = append(all, sum)
			fanoutPts[srv] = append(fanoutPts[srv], plotter.XY{X: float64(size), Y: sum.DeliveriesPerSec})
		}
		for _, n := range splitList(*conns) {
			var count int
			fmt.Sscan(n, &count)
			o := base.o
			o.clients = count
			sum, err := s.point(srv, "connect", o, stderr)
			if err != nil {
				return err
			}
			all = append(all, sum)
			connectPts[srv] = append(connectPts[srv], plotter.XY{X: float64(count), Y: sum.ConnsPerSec})
		}
	}
	printSummaries(stdout, all, splitList(*servers), "")
	return writePlot(*plotFile, fanoutPts, connectPts)
}

// point runs one workload on one server s.runs times and summarizes it.
func (s *sideBySide) point(srv, workload string, o options, stderr io.Writer) (summary, error) {
	label := fmt.Sprintf("%s N=%d", workload, o.clients)
	var runs []result
	for i := range s.runs {
		fmt.Fprintf(stderr, "%s on %s, run %d/%d\n", label, srv, i+1, s.runs)
		res, err := s.once(srv, workload, o)
		if err != nil {
			return summary{}, err
		}
		runs = append(runs, res)
	}
	return summarize(label, srv, runs), nil
}

// writePlot draws deliveries/s against room size and connections/s against
// connection count, one line per server, side by side.
func writePlot(path string, fanoutPts, connectPts map[string]plotter.XYs) error {
	left := plot.New()
	left.Title.Text = "fanout: deliveries/s by room size (K=10 senders)"
	left.X.Label.Text = "room size (clients)"
	left.Y.Label.Text = "deliveries/s"
	left.X.Scale = plot.LogScale{}
	left.X.Tick.Marker = plot.LogTicks{}
	right := plot.New()
	right.Title.Text = "connect: connections/s by count (200 at once)"
	right.X.Label.Text = "connections"
	right.Y.Label.Text = "connections/s"
	right.X.Scale = plot.LogScale{}
	right.X.Tick.Marker = plot.LogTicks{}
	for _, pair := range []struct {
		p   *plot.Plot
		pts map[string]plotter.XYs
	}{{left, fanoutPts}, {right, connectPts}} {
		var lines []any
		names := make([]string, 0, len(pair.pts))
		for name := range pair.pts {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			lines = append(lines, name, pair.pts[name])
		}
		if err := plotutil.AddLinePoints(pair.p, lines...); err != nil {
			return err
		}
	}
	const w, h = 7 * vg.Inch, 4.5 * vg.Inch
	img := vgimg.New(2*w, h)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Centimeter, PadY: vg.Centimeter / 2, PadLeft: vg.Centimeter / 2, PadRight: vg.Centimeter / 2}
	canvases := plot.Align([][]*plot.Plot{{left, right}}, tiles, draw.New(img))
	left.Draw(canvases[0][0])
	right.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
