package faults

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/faults/faultpb"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

func TestFromLine(t *testing.T) {
	for _, tt := range []struct {
		line, target string
		want         *faultpb.InjectFault
	}{
		{"!fault panic", "", &faultpb.InjectFault{}},
		{"!fault registry wedge", "server/registry", &faultpb.InjectFault{Wedge: true}},
		{"!fault connections busy 3s", "server/connections", &faultpb.InjectFault{StallMillis: 3000}},
		{"!fault lobby-1 panic on PostMessage", "server/rooms/lobby-1", &faultpb.InjectFault{OnMessage: "PostMessage"}},
		{"!fault server panic", "server", &faultpb.InjectFault{}},
	} {
		target, f, ok := FromLine(tt.line)
		if !ok || target != tt.target || f.GetWedge() != tt.want.GetWedge() || f.GetStallMillis() != tt.want.GetStallMillis() || f.GetOnMessage() != tt.want.GetOnMessage() {
			t.Errorf("FromLine(%q) = %q, %v, %v", tt.line, target, f, ok)
		}
	}
	for _, bad := range []string{"hello", "!fault", "!fault busy", "!fault busy soon", "!fault registry dance", "!fault panic on", "!fault panic now please"} {
		if _, _, ok := FromLine(bad); ok {
			t.Errorf("FromLine(%q) accepted", bad)
		}
	}
}

// echo answers every Ping with a Pong.
type echo struct{}

func (echo) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*messages.Ping); ok {
		ctx.Respond(&messages.Pong{})
	}
}

// TestArmedFault: a fault armed for a message type strikes while the actor
// handles the next message of that type (which is lost to the panic), once.
func TestArmedFault(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	struck := make(chan string, 4)
	in := New(nil).OnStrike(func(_ string, f *faultpb.InjectFault) { struck <- f.GetReason() })
	resume := actor.NewOneForOneStrategy(10, 0, func(any) actor.Directive { return actor.ResumeDirective })
	children := make(chan *actor.PID, 1)
	system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Started); ok {
			children <- ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return echo{} }, actor.WithReceiverMiddleware(in.Middleware)))
		}
	}, actor.WithSupervisor(resume)))
	child := <-children

	system.Root.Send(child, &faultpb.InjectFault{Reason: "armed", OnMessage: "Ping"})
	if _, err := system.Root.RequestFuture(child, &messages.Ping{}, 200*time.Millisecond).Result(); err == nil {
		t.Errorf("the Ping the fault struck was answered")
	}
	if _, err := system.Root.RequestFuture(child, &messages.Ping{}, testkit.WaitTimeout).Result(); err != nil {
		t.Errorf("the next Ping: %v, want an answer (the fault strikes once)", err)
	}
	close(struck)
	var got []string
	for r := range struck {
		got = append(got, r)
	}
	if len(got) != 1 || got[0] != "armed" {
		t.Errorf("struck %v, want the armed fault once", got)
	}
}
