package actors

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/text"
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
		m.scratch = text.AppendPosted(m.scratch[:0], p)
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
	room := system.Root.Spawn(actor.PropsFromProducer(newRoom("bench", 1, roomSettings{logger: testLogger(), metrics: NewMetrics()}, nil)))
	var got atomic.Int64
	pids := make([]*actor.PID, members)
	for i := range pids {
		pids[i] = system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &countingMember{got: &got} }))
		system.Root.RequestWithCustomSender(room, &messages.JoinRoom{Room: "bench", Nick: "m", MemberId: fmt.Sprint("m", i), ReplyTo: refOf(pids[i])}, pids[i])
	}
	post := &messages.PostMessage{MemberId: "m0", Text: strings.Repeat("x", 64)}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		system.Root.Send(room, post)
	}
	want := int64(b.N) * (members - 1)
	for got.Load() < want {
		runtime.Gosched() // the deliveries in flight are part of the cost
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(want), "ns/delivery")
}
