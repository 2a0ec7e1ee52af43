package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/term"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat CPU times; it is
// 100 on every architecture Go supports on Linux.
const clockTicks = 100

// procSample is a process's CPU time and resident memory at one moment.
type procSample struct {
	ok  bool
	cpu float64 // user + system seconds
	rss int64   // bytes
}

// sample reads /proc for pid; pid 0 is no sample.
func sample(pid int) procSample {
	if pid <= 0 {
		return procSample{}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}
	}
	// The command name may hold spaces: the fields start after its ')'.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return procSample{}
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return procSample{ok: true, cpu: (utime + stime) / clockTicks, rss: statusKB(pid, "VmRSS:") * 1024}
}

// statusKB reads one "Name: N kB" line of /proc/PID/status.
func statusKB(pid int, key string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// progress draws a one-line progress bar on a terminal, and nothing
// elsewhere.
type progress struct {
	on    bool
	total int64
	last  int
}

func newProgress(want bool, total int64) *progress {
	return &progress{on: want && term.IsTerminal(int(os.Stderr.Fd())) && total > 0, total: total, last: -1}
}

func (p *progress) show(n int64) {
	if !p.on {
		return
	}
	pct := int(100 * n / p.total)
	if pct == p.last {
		return
	}
	p.last = pct
	const width = 40
	fill := width * pct / 100
	fmt.Fprintf(os.Stderr, "\r[%s%s] %3d%% %d/%d", strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct, n, p.total)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
}
