package flood

import (
	"slices"
	"testing"
	"time"
)

func newTestGate() *Gate {
	return New(Config{Rate: 2, Burst: 3, MaxLines: 4, MaxBytes: 1 << 10, Strikes: 2, StrikeRate: 1})
}

// TestFloodGate walks one gate through a burst, the queue, drops, releases
// at the rate and a disconnect, with the clock in the test's hands.
func TestFloodGate(t *testing.T) {
	g := newTestGate()
	t0 := time.Unix(1000, 0)
	var got []Admission
	for i := range 9 {
		got = append(got, g.Admit("x", t0.Add(time.Duration(i)*time.Microsecond)))
	}
	want := []Admission{Run, Run, Run, Queued, Queued, Queued, Queued, Dropped, Dropped}
	if !slices.Equal(got, want) {
		t.Fatalf("admissions %v, want %v", got, want)
	}
	if n := g.TakeDropped(); n != 2 {
		t.Errorf("dropped %d, want 2", n)
	}
	if n := g.TakeDropped(); n != 0 {
		t.Errorf("dropped %d after taking, want 0", n)
	}
	// A line arriving while others wait does not overtake them, even when
	// the allowance has a token again.
	if a := g.Admit("y", t0.Add(600*time.Millisecond)); a != Disconnect {
		// Queue full and out of strikes: 2 strikes, both used above.
		t.Fatalf("got %v, want a disconnect", a)
	}
	lines, next := g.Release(t0.Add(600 * time.Millisecond))
	if len(lines) != 1 || next <= 0 || next > 500*time.Millisecond {
		t.Fatalf("released %d lines, next in %v; want 1 and at most 500ms", len(lines), next)
	}
	lines, next = g.Release(t0.Add(2 * time.Second))
	if len(lines) != 3 || next != 0 || g.Waiting() != 0 {
		t.Fatalf("released %d lines, next in %v, %d waiting; want the other 3 and an empty queue", len(lines), next, g.Waiting())
	}
}

func TestFloodGateOrderAndBytes(t *testing.T) {
	g := New(Config{Rate: 1, Burst: 1, MaxLines: 100, MaxBytes: 10, Strikes: 100, StrikeRate: 1})
	t0 := time.Unix(1000, 0)
	if a := g.Admit("first", t0); a != Run {
		t.Fatalf("got %v", a)
	}
	for _, l := range []string{"aaaa", "bbbb"} {
		if a := g.Admit(l, t0); a != Queued {
			t.Fatalf("%q: got %v", l, a)
		}
	}
	if a := g.Admit("ccc", t0); a != Dropped { // 8 + 3 bytes > 10
		t.Fatalf("got %v, want the byte bound to drop it", a)
	}
	var all []string
	for i := 1; g.Waiting() > 0; i++ {
		lines, _ := g.Release(t0.Add(time.Duration(i) * time.Second))
		all = append(all, lines...)
	}
	if !slices.Equal(all, []string{"aaaa", "bbbb"}) {
		t.Errorf("released %v, want aaaa then bbbb", all)
	}
}

// TestFloodGateCharge: output the user asked for takes allowance, so the
// lines that follow wait.
func TestFloodGateCharge(t *testing.T) {
	g := newTestGate()
	t0 := time.Unix(1000, 0)
	g.Charge(100, t0) // capped at the burst
	if a := g.Admit("x", t0); a != Queued {
		t.Fatalf("got %v, want the line to wait after a charge", a)
	}
	if lines, _ := g.Release(t0.Add(400 * time.Millisecond)); len(lines) != 0 {
		t.Fatalf("released %v before the charge was paid back", lines)
	}
	if lines, _ := g.Release(t0.Add(2 * time.Second)); len(lines) != 1 {
		t.Fatalf("released %v, want the line", lines)
	}
}
