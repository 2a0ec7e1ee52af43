package actors

import (
	"time"

	"golang.org/x/time/rate"
)

// floodGate is one connection's flood control. Lines within the allowance
// (a token bucket: a rate and a burst) run at once; lines over it wait in a
// queue and are released at the allowed rate, in order, the way IRC servers
// queue a paste ("fake lag"); only past the queue's bound are lines dropped.
// Every dropped line is a strike, and a client out of strikes (they recover
// over time) is disconnected: someone who keeps flooding, not someone who
// pasted too much once.
//
// It is a plain value owned by the connection actor; the actor's timer asks
// it when the next queued line may go.
type floodGate struct {
	// Static after construction.
	maxLines int // most lines queued at once
	maxBytes int // most bytes queued at once

	allowance *rate.Limiter // input lines
	strikes   *rate.Limiter // dropped lines before a disconnect
	queue     []string      // lines over the allowance, oldest first
	queued    int           // bytes in queue
	dropped   int           // lines dropped since takeDropped
}

// admission is what happens to one input line.
type admission uint8

const (
	admitRun        admission = iota + 1 // within the allowance: handle it now
	admitQueued                          // over it: it waits in the queue
	admitDropped                         // the queue is full: it is dropped
	admitDisconnect                      // dropped, and the client is out of strikes
)

// floodGateConfig is what a floodGate is built from.
type floodGateConfig struct {
	rate       float64    // lines a second
	burst      int        // lines at once
	maxLines   int        // queue bound in lines
	maxBytes   int        // queue bound in bytes
	strikes    int        // dropped lines before a disconnect
	strikeRate rate.Limit // dropped lines forgiven per second
}

func newFloodGate(cfg floodGateConfig) *floodGate {
	return &floodGate{
		maxLines:  cfg.maxLines,
		maxBytes:  cfg.maxBytes,
		allowance: rate.NewLimiter(rate.Limit(cfg.rate), cfg.burst),
		strikes:   rate.NewLimiter(cfg.strikeRate, cfg.strikes),
	}
}

// admit decides what happens to line, which arrived at now. A line never
// overtakes one already queued.
func (g *floodGate) admit(line string, now time.Time) admission {
	if len(g.queue) == 0 && g.allowance.AllowN(now, 1) {
		return admitRun
	}
	if len(g.queue) < g.maxLines && g.queued+len(line) <= g.maxBytes {
		g.queue = append(g.queue, line)
		g.queued += len(line)
		return admitQueued
	}
	g.dropped++
	if !g.strikes.AllowN(now, 1) {
		return admitDisconnect
	}
	return admitDropped
}

// release returns the queued lines the allowance lets go at now, oldest
// first, and how long until the next one may go (0: the queue is empty).
func (g *floodGate) release(now time.Time) (lines []string, next time.Duration) {
	n := 0
	for n < len(g.queue) && g.allowance.AllowN(now, 1) {
		g.queued -= len(g.queue[n])
		n++
	}
	lines = g.queue[:n:n]
	g.queue = g.queue[n:]
	if len(g.queue) == 0 {
		g.queue = nil
		return lines, 0
	}
	return lines, g.untilNext(now)
}

// untilNext is how long until the allowance has a whole line again.
func (g *floodGate) untilNext(now time.Time) time.Duration {
	missing := 1 - g.allowance.TokensAt(now)
	if missing <= 0 {
		return time.Millisecond
	}
	return time.Duration(missing / float64(g.allowance.Limit()) * float64(time.Second))
}

// charge takes n lines' worth of allowance (at most a burst) for output the
// user asked for, such as a long listing: the allowance may go below zero,
// so the lines that follow wait their turn.
func (g *floodGate) charge(n int, now time.Time) {
	if n = min(n, g.allowance.Burst()); n > 0 {
		g.allowance.ReserveN(now, n)
	}
}

// waiting reports how many lines are queued.
func (g *floodGate) waiting() int { return len(g.queue) }

// takeDropped returns how many lines were dropped since the last call.
func (g *floodGate) takeDropped() int {
	n := g.dropped
	g.dropped = 0
	return n
}
