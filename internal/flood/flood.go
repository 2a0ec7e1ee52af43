// Package flood is one connection's flood control: lines within an
// allowance run at once, lines over it wait in a bounded queue and are
// released at the allowed rate, past the queue they are dropped, and a
// client that keeps flooding runs out of strikes. It is a plain value owned
// by the connection actor.
package flood

import (
	"time"

	"golang.org/x/time/rate"
)

// Gate is one connection's flood control. Lines within the allowance
// (a token bucket: a rate and a burst) run at once; lines over it wait in a
// queue and are released at the allowed rate, in order, the way IRC servers
// queue a paste ("fake lag"); only past the queue's bound are lines dropped.
// Every dropped line is a strike, and a client out of strikes (they recover
// over time) is disconnected: someone who keeps flooding, not someone who
// pasted too much once.
//
// It is a plain value owned by the connection actor; the actor's timer asks
// it when the next queued line may go.
type Gate struct {
	// Static after construction.
	maxLines int // most lines queued at once
	maxBytes int // most bytes queued at once

	allowance *rate.Limiter // input lines
	strikes   *rate.Limiter // dropped lines before a disconnect
	queue     []string      // lines over the allowance, oldest first
	queued    int           // bytes in queue
	dropped   int           // lines dropped since TakeDropped
}

// Admission is what happens to one input line.
type Admission uint8

const (
	Run        Admission = iota + 1 // within the allowance: handle it now
	Queued                          // over it: it waits in the queue
	Dropped                         // the queue is full: it is dropped
	Disconnect                      // dropped, and the client is out of strikes
)

// Config is what a Gate is built from.
type Config struct {
	Rate       float64    // lines a second
	Burst      int        // lines at once
	MaxLines   int        // queue bound in lines
	MaxBytes   int        // queue bound in bytes
	Strikes    int        // dropped lines before a disconnect
	StrikeRate rate.Limit // dropped lines forgiven per second
}

func New(cfg Config) *Gate {
	return &Gate{
		maxLines:  cfg.MaxLines,
		maxBytes:  cfg.MaxBytes,
		allowance: rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst),
		strikes:   rate.NewLimiter(cfg.StrikeRate, cfg.Strikes),
	}
}

// admit decides what happens to line, which arrived at now. A line never
// overtakes one already queued.
func (g *Gate) Admit(line string, now time.Time) Admission {
	if len(g.queue) == 0 && g.allowance.AllowN(now, 1) {
		return Run
	}
	if len(g.queue) < g.maxLines && g.queued+len(line) <= g.maxBytes {
		g.queue = append(g.queue, line)
		g.queued += len(line)
		return Queued
	}
	g.dropped++
	if !g.strikes.AllowN(now, 1) {
		return Disconnect
	}
	return Dropped
}

// release returns the queued lines the allowance lets go at now, oldest
// first, and how long until the next one may go (0: the queue is empty).
func (g *Gate) Release(now time.Time) (lines []string, next time.Duration) {
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
	return lines, g.UntilNext(now)
}

// untilNext is how long until the allowance has a whole line again.
func (g *Gate) UntilNext(now time.Time) time.Duration {
	missing := 1 - g.allowance.TokensAt(now)
	if missing <= 0 {
		return time.Millisecond
	}
	return time.Duration(missing / float64(g.allowance.Limit()) * float64(time.Second))
}

// charge takes n lines' worth of allowance (at most a burst) for output the
// user asked for, such as a long listing: the allowance may go below zero,
// so the lines that follow wait their turn.
func (g *Gate) Charge(n int, now time.Time) {
	if n = min(n, g.allowance.Burst()); n > 0 {
		g.allowance.ReserveN(now, n)
	}
}

// waiting reports how many lines are queued.
func (g *Gate) Waiting() int { return len(g.queue) }

// takeDropped returns how many lines were dropped since the last call.
func (g *Gate) TakeDropped() int {
	n := g.dropped
	g.dropped = 0
	return n
}
