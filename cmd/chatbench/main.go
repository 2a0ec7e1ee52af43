// Command chatbench is a load generator for chat servers that speak
// actorchat's basic line protocol (a welcome line on connect; "<nick> text"
// relayed to the other members of the room), like redis-benchmark or nats
// bench.
//
// Against a running server:
//
//	chatbench fanout  -addr 127.0.0.1:7666 -n 1000 -k 10 -m 1000 [-pid PID]
//	chatbench fanout  -addr ... -n 1000 -k 10 -rate 20 -duration 10s
//	chatbench connect -addr ... -n 10000 -c 200
//	chatbench idle    -addr ... -n 10000 -pid PID
//	chatbench rooms   -addr ... -rooms 100 -members 100 -m 10     (chatd only: uses /join)
//
// Side by side, starting chatd and ../shared/bench/naivehub itself
// (loopback only), each workload run 3 times, medians reported:
//
//	chatbench compare [-runs 3] [-workloads fanout-1k-sat,fanout-1k-paced,...]
//	chatbench sweep   [-plot sweep.png]
//
// -json prints results as JSON lines for scripts; on a terminal a progress
// bar shows how far a run is.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// errUsage is a command line that names no command: the usage was printed.
var errUsage = errors.New("no command")

// Exit codes: 0 for a run without loss and for -help, 1 for a failed run
// (including lost deliveries), 2 for a bad command line.
func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "chatbench: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
}

// usageError is a bad flag or argument.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

const usage = `usage: chatbench COMMAND [flags]

commands:
  fanout    N clients in one room; K senders send M lines each (or -rate for -duration)
  connect   N clients connect, C at once, and wait for the welcome
  idle      N clients connect and sit; the server's RSS per connection (needs -pid)
  rooms     R rooms of S members, all sending (chatd only)
  compare   build and start chatd and naivehub, run workloads side by side
  sweep     fanout over room sizes and connect over connection counts, and a plot
  floor     serve the least a server can: accept, write a welcome, read until closed
            (compare runs it as the servers "floor" and, with -read=false, "floor-noread")

Run "chatbench COMMAND -h" for a command's flags.
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "fanout", "connect", "idle", "rooms":
		return runOne(cmd, args, stdout, stderr)
	case "compare":
		return runCompare(args, stdout, stderr)
	case "sweep":
		return runSweep(args, stdout, stderr)
	case "floor":
		return runFloor(args, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Errorf("unknown command %q", cmd)}
}

// workloadFlags defines the flags every workload shares.
func workloadFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.addr, "addr", "127.0.0.1:7666", "server address")
	fs.IntVar(&o.pid, "pid", 0, "the server's pid, to report its CPU time and RSS (0: not measured)")
	fs.IntVar(&o.clients, "n", 1000, "clients")
	fs.IntVar(&o.senders, "k", 10, "senders (fanout)")
	fs.IntVar(&o.lines, "m", 1000, "lines per sender (fanout, rooms)")
	fs.Float64Var(&o.rate, "rate", 0, "lines per second per sender (fanout; 0: unthrottled)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long paced senders send (with -rate)")
	fs.StringVar(&o.schedule, "schedule", scheduleSpread, "with -rate, when the senders' lines are due: spread (each sender a fraction of a gap behind the last), poisson (random exponential gaps), aligned (every sender at the same instants)")
	fs.Uint64Var(&o.seed, "seed", 1, "-schedule poisson: the seed of the gaps")
	fs.IntVar(&o.conc, "c", 200, "connections dialled at once")
	fs.IntVar(&o.size, "size", 64, "bytes of text in each benchmark line")
	fs.IntVar(&o.rooms, "rooms", 100, "rooms (rooms)")
	fs.IntVar(&o.members, "members", 100, "members per room (rooms)")
	fs.DurationVar(&o.dialTimeout, "dial-timeout", 30*time.Second, "longest wait for a connection and its welcome")
	fs.DurationVar(&o.drain, "drain", 10*time.Second, "give up on missing deliveries after this long without progress")
}

func runOne(cmd string, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	workloadFlags(fs, &o)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o.progress = !*asJSON
	res, err := runWorkload(cmd, o)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	printTable(stdout, []result{res})
	if res.Loss != 0 {
		return fmt.Errorf("%d deliveries lost", res.Loss)
	}
	return nil
}

// parseFlags parses a command's flags: -help prints them to stdout (and the
// caller exits 0), a bad flag is a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(os.Stdout)
		fmt.Fprintf(os.Stdout, "usage: chatbench %s [flags]\n", fs.Name())
		fs.PrintDefaults()
		return err
	case err != nil:
		return usageError{err}
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func runWorkload(name string, o options) (result, error) {
	switch name {
	case "fanout":
		return fanout(o)
	case "connect":
		return connectStorm(o)
	case "idle":
		return idle(o)
	case "rooms":
		return roomsBusy(o)
	case "node-loss":
		return nodeLoss(o)
	}
	return result{}, fmt.Errorf("unknown workload %q", name)
}

// printTable prints results for people.
func printTable(w io.Writer, rs []result) {
	fmt.Fprintf(w, "%-22s %-18s %7s %12s %6s %9s %9s %9s %9s %9s %10s %9s %12s %10s\n",
		"workload", "server", "clients", "deliveries/s", "loss", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "conns/s", "cpu s", "deliv/cpu-s", "rss/conn")
	for _, r := range rs {
		fmt.Fprintf(w, "%-22s %-18s %7s %12s %6s %9s %9s %9s %9s %9s %10s %9s %12s %10s\n",
			r.Workload, r.Server, thousands(float64(r.Clients)), whole(r.DeliveriesPerSec), thousands(float64(r.Loss)),
			num(r.P50, "%.2f"), num(r.P90, "%.2f"), num(r.P99, "%.2f"), num(r.P999, "%.2f"), num(r.Max, "%.2f"),
			whole(r.ConnsPerSec), num(r.ServerCPUSeconds, "%.2f"), whole(r.DeliveriesPerCPUSec), whole(r.RSSPerConnBytes))
	}
}

func num(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// whole is a whole number with thousands separators, or - for none.
func whole(v float64) string {
	if v == 0 {
		return "-"
	}
	return thousands(v)
}

// preset is a named workload of the performance targets.
type preset struct {
	name     string
	workload string
	o        options
	chatOnly bool // needs chatd's /join
	// clusterOnly: needs a cluster (chatd-cluster3)
	clusterOnly bool
}

func presets() []preset {
	base := options{conc: 200, size: 64, dialTimeout: 30 * time.Second, drain: 10 * time.Second, schedule: scheduleSpread, seed: 1}
	with := func(f func(*options)) options { o := base; f(&o); return o }
	return []preset{
		{"fanout-1k-sat", "fanout", with(func(o *options) { o.clients, o.senders, o.lines = 1000, 10, 1000 }), false, false},
		{"fanout-1k-paced", "fanout", with(func(o *options) { o.clients, o.senders, o.rate, o.duration = 1000, 10, 20, 10*time.Second }), false, false},
		// The same load with random (Poisson) arrivals, and with the
		// schedule of earlier rounds, whose senders all post at once.
		{"fanout-1k-poisson", "fanout", with(func(o *options) {
			o.clients, o.senders, o.rate, o.duration, o.schedule = 1000, 10, 20, 10*time.Second, schedulePoisson
		}), false, false},
		{"fanout-1k-paced-aligned", "fanout", with(func(o *options) {
			o.clients, o.senders, o.rate, o.duration, o.schedule = 1000, 10, 20, 10*time.Second, scheduleAligned
		}), false, false},
		{"connect-storm-10k", "connect", with(func(o *options) { o.clients = 10000 }), false, false},
		{"idle-10k", "idle", with(func(o *options) { o.clients = 10000 }), false, false},
		{"rooms-100x100", "rooms", with(func(o *options) { o.rooms, o.members, o.lines = 100, 100, 10 }), true, false},
		// Cluster workloads: fanout-1k-sat as above over three nodes (run it
		// with -servers chatd,chatd-cluster3 -baseline chatd); node-loss kills
		// the oldest node (the one that holds the rooms) 4s into 10s of
		// paced posts.
		{"node-loss", "node-loss", with(func(o *options) {
			o.clients, o.senders, o.rate, o.duration, o.drain = 150, 9, 20, 10*time.Second, 3*time.Second
		}), true, true},
		{"node-loss-other", "node-loss", with(func(o *options) {
			o.clients, o.senders, o.rate, o.duration, o.drain, o.killNode = 150, 9, 20, 10*time.Second, 3*time.Second, 2
		}), true, true},
	}
}

func findPreset(name string) (preset, bool) {
	for _, p := range presets() {
		if p.name == name {
			return p, true
		}
	}
	return preset{}, false
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
