// Package workers runs short tasks on goroutines that outlive them.
//
// An actor's mailbox runs on a goroutine of its own each time a message
// finds it idle, and a connection's writer each time a burst of output is
// queued: at an ordinary chat load that is one new goroutine per delivery,
// and each of them starts on a small stack that the handler then has to grow
// (copied frame by frame). A Pool hands such a task to a goroutine that ran
// one before and waits, stack already grown, for the next; only when none is
// waiting does it start a new one, so a task never waits for another to
// end. A goroutine that has waited for IdleTimeout with nothing to do ends,
// so an idle server holds none of them for long.
package workers

import (
	"sync"
	"sync/atomic"
	"time"
)

// Pool runs tasks on reused goroutines. The zero Pool is not usable: make
// one with New.
type Pool struct {
	maxIdle     int
	idleTimeout time.Duration

	mu      sync.Mutex
	idle    []*worker // waiting workers, the one that waited longest first; guarded by mu
	epoch   uint64    // ticks of the reaper; guarded by mu
	reaping bool      // a reaper goroutine runs; guarded by mu
	pending *worker   // handed a short task and not yet running it: more may join; guarded by mu

	started atomic.Int64 // goroutines started, for tests
}

// shortBatch is how many short tasks (GoShort) one goroutine is woken for
// at most.
const shortBatch = 8

// worker is one reused goroutine.
type worker struct {
	task      chan func() // the next task, or nil: end; holds at most one
	more      []func()    // short tasks that joined the next one; guarded by the pool's mu
	idleEpoch uint64      // the pool's epoch when the worker began to wait; guarded by the pool's mu
}

// New returns a pool that keeps at most maxIdle goroutines waiting, each for
// about idleTimeout (between one and two times it).
func New(maxIdle int, idleTimeout time.Duration) *Pool {
	return &Pool{maxIdle: maxIdle, idleTimeout: idleTimeout}
}

// Go runs task on a waiting goroutine, or on a new one when none waits. It
// never blocks.
func (p *Pool) Go(task func()) {
	p.mu.Lock()
	w := p.takeIdle()
	p.mu.Unlock()
	if w == nil {
		go p.work(task)
		return
	}
	w.task <- task // never blocks: a waiting worker's channel is empty
}

// takeIdle takes the worker that waited least, or nil; p.mu must be held.
func (p *Pool) takeIdle() *worker {
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	w := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	return w
}

// GoShort runs task as Go does, except that when a goroutine was woken (or
// started) for an earlier short task and has not begun to run it yet, task
// joins it, behind it, up to shortBatch tasks: a room's fan-out to a
// thousand mailboxes then wakes about a hundred goroutines, not a thousand.
// Only for tasks that never block (an actor's mailbox run): a task that
// joined waits for the ones before it.
func (p *Pool) GoShort(task func()) {
	p.mu.Lock()
	if w := p.pending; w != nil && len(w.more) < shortBatch-1 {
		w.more = append(w.more, task)
		p.mu.Unlock()
		return
	}
	w := p.takeIdle()
	fresh := w == nil
	if fresh {
		w = &worker{task: make(chan func(), 1)}
	}
	p.pending = w
	p.mu.Unlock()
	if fresh {
		go p.run(w, task)
		return
	}
	w.task <- task
}

// Idle reports how many goroutines wait for a task.
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// work runs task, then the tasks handed to it, until the reaper ends it (or
// the pool has enough waiting).
func (p *Pool) work(task func()) {
	p.run(&worker{task: make(chan func(), 1)}, task)
}

// run is work on w: each task, with the short tasks that joined it.
func (p *Pool) run(w *worker, task func()) {
	p.started.Add(1)
	for task != nil {
		p.mu.Lock()
		if p.pending == w {
			p.pending = nil
		}
		more := w.more
		p.mu.Unlock()
		task()
		for i, t := range more {
			more[i] = nil
			t()
		}
		w.more = more[:0] // nothing joins w until it waits again (under mu)
		task = p.wait(w)
	}
}

// wait puts w among the waiting workers and returns its next task, or nil
// when it should end.
func (p *Pool) wait(w *worker) func() {
	p.mu.Lock()
	if len(p.idle) >= p.maxIdle {
		p.mu.Unlock()
		return nil
	}
	w.idleEpoch = p.epoch
	p.idle = append(p.idle, w)
	if !p.reaping {
		p.reaping = true
		go p.reap()
	}
	p.mu.Unlock()
	return <-w.task
}

// reap ends, every half idle timeout, the workers that have waited since
// before the previous tick; it ends when none waits. (One reaper instead of
// a timer per wait: the timer cost a tenth of the CPU the pool saved.)
func (p *Pool) reap() {
	tick := time.NewTicker(p.idleTimeout / 2)
	defer tick.Stop()
	for range tick.C {
		p.mu.Lock()
		p.epoch++
		n := 0
		for n < len(p.idle) && p.idle[n].idleEpoch+2 <= p.epoch {
			p.idle[n].task <- nil
			n++
		}
		p.idle = append(p.idle[:0], p.idle[n:]...)
		clear(p.idle[len(p.idle) : len(p.idle)+n])
		done := len(p.idle) == 0
		if done {
			p.reaping = false
		}
		p.mu.Unlock()
		if done {
			return
		}
	}
}

// shared is the pool of the whole process: mailboxes and socket writers run
// on it, so a goroutine that wrote a burst can next run a mailbox.
var shared = New(4096, time.Second)

// Go runs task on the process's shared pool.
func Go(task func()) { shared.Go(task) }

// GoShort runs task on the process's shared pool, as Pool.GoShort does.
func GoShort(task func()) { shared.GoShort(task) }
