package actors

import (
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/messages"
)

// countingMember stands in for a connection actor: it renders each delivery
// as a connection would, and counts them.
type countingMember struct {
	got     *atomic.Int64
	scratch []byte
}

func (m *countingMember) Receive(ctx actor.Context) {
	if p, ok := ctx.Message().(*messages.MessagePosted); ok {
		m.scratch = appendPosted(m.scratch[:0], p)
		m.got.Add(1)
	}
}

// BenchmarkRoomFanOut1000 measures one post delivered to 1000 members in
// process: the room's fan-out through protoactor mailboxes and each member
// rendering its line. ns/op is per post (1000 deliveries).
func BenchmarkRoomFanOut1000(b *testing.B) {
	const members = 1000
	logger := testLogger()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return protoactorLogger(logger) }))
	defer system.Shutdown()
	room := system.Root.Spawn(actor.PropsFromProducer(newRoom("bench", 0, 0, testLogger(), NewMetrics())))
	var got atomic.Int64
	pids := make([]*actor.PID, members)
	for i := range pids {
		pids[i] = system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &countingMember{got: &got} }))
		system.Root.RequestWithCustomSender(room, &messages.JoinRoom{Room: "bench", Nick: "m", ConnId: uint64(i + 1)}, pids[i])
	}
	sender := pids[0]
	post := &messages.PostMessage{Text: strings.Repeat("x", 64)}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		system.Root.RequestWithCustomSender(room, post, sender)
	}
	want := int64(b.N) * (members - 1)
	for got.Load() < want {
		runtime.Gosched() // the deliveries in flight are part of the cost
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(want), "ns/delivery")
}

// BenchmarkDecodeLines measures the telnet/line decoder and the sanitizer on
// typical chat input: 64-byte lines, CRLF, in 4 KiB reads.
func BenchmarkDecodeLines(b *testing.B) {
	input := []byte(strings.Repeat(strings.Repeat("hello world ", 5)+"1234\r\n", 64))
	d := newLineDecoder(1024)
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for range b.N {
		for _, ev := range d.feed(input) {
			_ = sanitizeLine(ev.line)
		}
	}
}

// BenchmarkRenderDelivery measures rendering one chat line into a reused
// buffer, what a connection does for each delivery.
func BenchmarkRenderDelivery(b *testing.B) {
	m := &messages.MessagePosted{Room: "lobby", Nick: "alice", Text: strings.Repeat("x", 64)}
	var buf []byte
	b.ReportAllocs()
	for range b.N {
		buf = appendPosted(buf[:0], m)
	}
}

// BenchmarkOutboxWriteTake measures queuing a line in an outbox and the
// writer taking a burst of them.
func BenchmarkOutboxWriteTake(b *testing.B) {
	o := newOutbox(1 << 20)
	line := []byte("<alice> " + strings.Repeat("x", 64) + "\r\n")
	var spare []byte
	b.ReportAllocs()
	for i := range b.N {
		_ = o.write(line)
		if i%64 == 63 {
			data, _, _ := o.take(spare)
			spare = data[:0]
		}
	}
}
