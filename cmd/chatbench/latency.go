package main

import (
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to 5 minutes, to three
// significant digits: a fixed few megabytes however many lines a run
// delivers, instead of one sample per delivery (80 MB for fanout-1k-sat,
// sorted on the cores the server needs).
const (
	latencyMinMicros = 1
	latencyMaxMicros = 5 * 60 * 1_000_000
	latencyDigits    = 3
)

// latencyShards spreads the recording over a few histograms, so that a
// thousand reader goroutines rarely wait for one another.
const latencyShards = 8

// latencyBatch is how many samples a client keeps before it adds them to a
// shard: one lock per batch, not per line.
const latencyBatch = 256

// latencies is one run's latency histogram, shared by its clients.
type latencies struct {
	shards [latencyShards]struct {
		mu sync.Mutex
		h  *hdrhistogram.Histogram
	}
}

func newLatencies() *latencies {
	l := &latencies{}
	for i := range l.shards {
		l.shards[i].h = hdrhistogram.New(latencyMinMicros, latencyMaxMicros, latencyDigits)
	}
	return l
}

// add records a batch of latencies in nanoseconds; shard picks the
// histogram (any number: it is reduced).
func (l *latencies) add(shard int, nanos []int64) {
	s := &l.shards[shard%latencyShards]
	s.mu.Lock()
	for _, n := range nanos {
		// Out of range (a clock step) is clamped, not lost.
		_ = s.h.RecordValue(min(max(n/1000, latencyMinMicros), latencyMaxMicros))
	}
	s.mu.Unlock()
}

// merged returns one histogram of everything recorded.
func (l *latencies) merged() *hdrhistogram.Histogram {
	all := hdrhistogram.New(latencyMinMicros, latencyMaxMicros, latencyDigits)
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		all.Merge(s.h)
		s.mu.Unlock()
	}
	return all
}

// fill sets the result's percentiles, in milliseconds.
func (l *latencies) fill(res *result) {
	h := l.merged()
	if h.TotalCount() == 0 {
		return
	}
	ms := func(micros int64) float64 { return float64(micros) / 1000 }
	res.P50, res.P90, res.P99, res.P999 = ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(90)), ms(h.ValueAtQuantile(99)), ms(h.ValueAtQuantile(99.9))
	res.Max = ms(h.Max())
}
