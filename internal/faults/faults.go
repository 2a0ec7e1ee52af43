// Package faults is fault injection for tests: receiver middleware that
// makes an actor panic, stay busy or wedge for good when it receives
// faultpb.InjectFault, now or in the middle of its next message of a given
// type. Production actors ignore InjectFault; only tests, and chatd built
// with the chatdfaults tag for process-level tests, add this middleware, so
// nothing a user or another node sends can stall a production actor.
package faults

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/actorchat/internal/faults/faultpb"
	"github.com/actorchat/actorchat/messages"
)

// Injector holds the faults armed for later messages, and the channel that
// releases wedged actors.
type Injector struct {
	release <-chan struct{}                           // closed: wedged actors return (tests end)
	strikes func(self string, f *faultpb.InjectFault) // told of each fault as it strikes; may be nil

	mu    sync.Mutex
	armed map[string]*faultpb.InjectFault // actor id -> fault for its next message of a type; guarded by mu
}

// New returns an injector whose wedged actors stay wedged until release is
// closed (nil: for good).
func New(release <-chan struct{}) *Injector {
	return &Injector{release: release, armed: make(map[string]*faultpb.InjectFault)}
}

// OnStrike has f told of each fault as it strikes, inside the actor, before
// it panics, blocks or sleeps: a test can wait for a fault to be in effect.
func (in *Injector) OnStrike(f func(self string, fault *faultpb.InjectFault)) *Injector {
	in.strikes = f
	return in
}

// Middleware is the receiver middleware to add to every actor's props.
func (in *Injector) Middleware(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
		self := c.Self().GetId()
		if f, ok := env.Message.(*faultpb.InjectFault); ok {
			if f.GetOnMessage() != "" {
				in.mu.Lock()
				in.armed[self] = f
				in.mu.Unlock()
				return
			}
			in.strike(self, f)
			return
		}
		if m, ok := env.Message.(proto.Message); ok {
			in.mu.Lock()
			f := in.armed[self]
			if f != nil && string(m.ProtoReflect().Descriptor().Name()) == f.GetOnMessage() {
				delete(in.armed, self)
			} else {
				f = nil
			}
			in.mu.Unlock()
			if f != nil {
				in.strike(self, f)
			}
		}
		next(c, env)
	}
}

// strike carries out a fault inside the actor's Receive.
func (in *Injector) strike(self string, f *faultpb.InjectFault) {
	if in.strikes != nil {
		in.strikes(self, f)
	}
	switch {
	case f.GetWedge():
		if in.release == nil {
			select {} // a deadlocked actor, on purpose
		}
		<-in.release
	case f.GetStallMillis() > 0:
		time.Sleep(time.Duration(f.GetStallMillis()) * time.Millisecond) // a busy actor, on purpose
	default:
		panic(fmt.Sprintf("injected fault in %s: %s", self, f.GetReason()))
	}
}

// FromLine reads a fault from a test client's input line, for process-level
// tests: "!fault [ACTOR] panic|wedge|busy DURATION [on MESSAGE]". ACTOR is
// registry, rooms, connections, server or a room's actor name (lobby-1);
// without it the fault strikes the connection that read the line. It
// returns the target's actor id ("" for the connection itself).
func FromLine(line string) (target string, f *faultpb.InjectFault, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 2 || fields[0] != "!fault" {
		return "", nil, false
	}
	fields = fields[1:]
	switch fields[0] {
	case "registry", "rooms", "connections":
		target, fields = "server/"+fields[0], fields[1:]
	case "server":
		target, fields = "server", fields[1:]
	case "panic", "wedge", "busy":
	default:
		target, fields = "server/rooms/"+fields[0], fields[1:]
	}
	if len(fields) == 0 {
		return "", nil, false
	}
	f = &faultpb.InjectFault{Reason: line}
	switch fields[0] {
	case "panic":
		fields = fields[1:]
	case "wedge":
		f.Wedge = true
		fields = fields[1:]
	case "busy":
		if len(fields) < 2 {
			return "", nil, false
		}
		d, err := time.ParseDuration(fields[1])
		if err != nil || d <= 0 {
			return "", nil, false
		}
		f.StallMillis = uint32(d.Milliseconds())
		fields = fields[2:]
	default:
		return "", nil, false
	}
	if len(fields) == 2 && fields[0] == "on" {
		f.OnMessage = fields[1]
		fields = nil
	}
	return target, f, len(fields) == 0
}

// LineTrigger is receiver middleware for connection actors in process-level
// test builds: a LineReceived that FromLine reads as a fault is turned into
// an InjectFault for its target (the connection itself, or another actor by
// id) instead of being handled as input.
func (in *Injector) LineTrigger(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
		if l, ok := env.Message.(*messages.LineReceived); ok {
			if target, f, ok := FromLine(l.GetText()); ok {
				pid := c.Self()
				if target != "" {
					pid = actor.NewPID(c.ActorSystem().Address(), target)
				}
				c.ActorSystem().Root.Send(pid, f)
				return
			}
		}
		next(c, env)
	}
}
