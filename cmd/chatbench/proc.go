package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/procfs"
	"golang.org/x/term"
)

// procSample is a process's CPU time and resident memory at one moment.
type procSample struct {
	ok  bool
	cpu float64 // user + system seconds
	rss int64   // bytes
}

// sample reads /proc for the pids and sums them; pid 0 is no sample. procfs
// knows the units (USER_HZ, page size) of what the kernel reports.
func sample(pids ...int) procSample {
	var sum procSample
	for _, pid := range pids {
		s := sample1(pid)
		if !s.ok {
			return procSample{}
		}
		sum.ok, sum.cpu, sum.rss = true, sum.cpu+s.cpu, sum.rss+s.rss
	}
	return sum
}

func sample1(pid int) procSample {
	if pid <= 0 {
		return procSample{}
	}
	p, err := procfs.NewProc(pid)
	if err != nil {
		return procSample{}
	}
	stat, err := p.Stat()
	if err != nil {
		return procSample{}
	}
	return procSample{ok: true, cpu: stat.CPUTime(), rss: int64(stat.ResidentMemory())}
}

// progress draws a one-line progress bar on a terminal, with the count so
// far and its rate, and nothing elsewhere.
type progress struct {
	on    bool
	total int64
	what  string // "deliveries", "connections"
	start time.Time
	shown time.Time
}

// progressEvery is how often the progress line is redrawn.
const progressEvery = 100 * time.Millisecond

func newProgress(want bool, total int64, what string) *progress {
	return &progress{on: want && term.IsTerminal(int(os.Stderr.Fd())) && total > 0, total: total, what: what, start: time.Now()}
}

func (p *progress) show(n int64) {
	if !p.on {
		return
	}
	now := time.Now()
	if now.Sub(p.shown) < progressEvery && n < p.total {
		return
	}
	p.shown = now
	fmt.Fprintf(os.Stderr, "\r\033[K%s", progressLine(n, p.total, now.Sub(p.start), p.what))
}

// progressLine renders "[####....]  45% 4,512,300/10,000,000 deliveries, 1,902,311/s".
func progressLine(n, total int64, elapsed time.Duration, what string) string {
	const width = 30
	pct := min(100, int(100*n/total))
	fill := width * pct / 100
	rate := 0.0
	if elapsed > 0 {
		rate = float64(n) / elapsed.Seconds()
	}
	return fmt.Sprintf("[%s%s] %3d%% %s/%s %s, %s/s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct,
		thousands(float64(n)), thousands(float64(total)), what, thousands(rate))
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
}

// thousands renders a number rounded to a whole with thousands separators:
// 1,902,311.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
