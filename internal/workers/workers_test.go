package workers

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/actorchat/actorchat/internal/testkit"
)

// TestPoolRunsEveryTaskAndReusesGoroutines: every task runs once; tasks
// given one after another run on the goroutine that ran the one before.
func TestPoolRunsEveryTaskAndReusesGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := New(16, time.Second)
	var ran atomic.Int64
	done := make(chan struct{})
	for range 1000 {
		p.Go(func() {
			ran.Add(1)
			done <- struct{}{}
		})
		<-done
		testkit.Eventually(t, "the worker to wait again", func() bool { return p.Idle() == 1 })
	}
	if ran.Load() != 1000 {
		t.Fatalf("%d tasks ran, want 1000", ran.Load())
	}
	if n := p.started.Load(); n != 1 {
		t.Fatalf("%d goroutines started for 1000 tasks one after another, want 1", n)
	}
	testkit.Eventually(t, "the idle worker to end", func() bool { return p.Idle() == 0 })
	reaped(t, p)
}

// TestPoolNeverMakesATaskWait: tasks that block until all of them run need
// a goroutine each; the pool starts one whenever none waits.
func TestPoolNeverMakesATaskWait(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := New(4, 100*time.Millisecond)
	const n = 50
	var started sync.WaitGroup
	started.Add(n)
	release := make(chan struct{})
	for range n {
		p.Go(func() {
			started.Done()
			<-release
		})
	}
	waitGroup(t, &started)
	close(release)
	// At most maxIdle of them stay to wait; the others end at once.
	testkit.Eventually(t, "four workers to wait", func() bool { return p.Idle() == 4 })
	testkit.Eventually(t, "the idle workers to end", func() bool { return p.Idle() == 0 })
	reaped(t, p)
}

// TestPoolTakesAWorkerAsItTimesOut: a task given while the reaper ends idle
// workers runs all the same, and nothing is left behind.
func TestPoolTakesAWorkerAsItTimesOut(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := New(64, 2*time.Millisecond)
	var ran atomic.Int64
	deadline := time.Now().Add(300 * time.Millisecond)
	total := 0
	for time.Now().Before(deadline) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			total++
			p.Go(func() {
				ran.Add(1)
				wg.Done()
			})
		}
		waitGroup(t, &wg)
	}
	if int(ran.Load()) != total {
		t.Fatalf("%d of %d tasks ran", ran.Load(), total)
	}
	testkit.Eventually(t, "the idle workers to end", func() bool { return p.Idle() == 0 })
	reaped(t, p)
}

// reaped waits for the pool's reaper to end with the last idle worker.
func reaped(t *testing.T, p *Pool) {
	t.Helper()
	testkit.Eventually(t, "the reaper to end", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return !p.reaping
	})
}

func waitGroup(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(testkit.WaitTimeout):
		t.Fatal("tasks did not all run")
	}
}

// TestPoolShortTasksJoinAWokenGoroutine: short tasks given before the
// goroutine woken for the first of them runs join it, up to shortBatch
// each, and each batch runs in the order given. With one CPU the goroutine that gives
// them runs on until it waits, so the batches are certain.
func TestPoolShortTasksJoinAWokenGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := New(16, 100*time.Millisecond)
	const n = 3 * shortBatch
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		p.GoShort(func() {
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			wg.Done()
		})
	}
	waitGroup(t, &wg)
	if got := p.started.Load(); got != n/shortBatch {
		t.Errorf("%d goroutines started for %d short tasks, want %d", got, n, n/shortBatch)
	}
	// Each goroutine runs its batch in the order given; which goroutine
	// runs first is the scheduler's choice.
	for i, got := range order {
		if i%shortBatch != 0 && got != order[i-1]+1 {
			t.Fatalf("ran in order %v, want batches of %d in the order given", order, shortBatch)
		}
	}
	testkit.Eventually(t, "the idle workers to end", func() bool { return p.Idle() == 0 })
	reaped(t, p)
}

// TestPoolShortTasksFromManyGoroutines: short tasks given from many
// goroutines at once, on every CPU, all run, once each.
func TestPoolShortTasksFromManyGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := New(64, 100*time.Millisecond)
	const givers, each = 8, 2000
	var ran [givers * each]atomic.Int32
	var wg sync.WaitGroup
	wg.Add(givers * each)
	var gave sync.WaitGroup
	for g := range givers {
		gave.Go(func() {
			for i := range each {
				p.GoShort(func() {
					ran[g*each+i].Add(1)
					wg.Done()
				})
			}
		})
	}
	gave.Wait()
	waitGroup(t, &wg)
	for i := range ran {
		if n := ran[i].Load(); n != 1 {
			t.Fatalf("task %d ran %d times", i, n)
		}
	}
	testkit.Eventually(t, "the idle workers to end", func() bool { return p.Idle() == 0 })
	reaped(t, p)
}
