package workers

import (
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
