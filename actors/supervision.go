package actors

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
)

// panicSupervisor is the supervisor strategy of every actor with children
// (and the guardian of the server actor): it logs a child's panic once, with
// what it was handling, and applies one directive. Connections are stopped
// (their user is told and disconnected); the server, the registry and rooms
// are resumed, so that a panic loses none of their state, only the message
// that caused it. Nothing is restarted: a restart would run start-up again on
// an actor whose children and state already exist.
type panicSupervisor struct {
	logger    *slog.Logger
	metrics   *Metrics // nil: not counted
	directive actor.Directive
}

var _ actor.SupervisorStrategy = panicSupervisor{}

// HandleFailure implements actor.SupervisorStrategy.
func (s panicSupervisor) HandleFailure(_ *actor.ActorSystem, supervisor actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, message any) {
	if s.metrics != nil {
		s.metrics.panics.WithLabelValues(actorKind(child.GetId()), strings.ToLower(strings.TrimSuffix(s.directive.String(), "Directive"))).Inc()
	}
	s.logger.Error("actor panicked", "actor", child.GetId(), "panic", fmt.Sprint(reason),
		"message", fmt.Sprintf("%T", message), "directive", s.directive.String())
	if s.directive == actor.ResumeDirective {
		supervisor.ResumeChildren(child)
		return
	}
	supervisor.StopChildren(child)
}

// actorKind names the kind of actor from its id ("server/rooms/dev-2" is a
// room), for metrics.
func actorKind(id string) string {
	switch {
	case strings.HasPrefix(id, "server/connections/"):
		return "connection"
	case strings.HasPrefix(id, "server/rooms/"):
		return "room"
	case id == "server/rooms":
		return "rooms"
	case id == "server/registry":
		return "registry"
	case id == "server/store":
		return "store"
	case id == "server/connections":
		return "connections"
	case id == "server":
		return "server"
	}
	return "other"
}

// props makes the props of an actor, with the test-only middleware (fault
// injection; see Config.Middleware) when there is any. Its mailbox runs on
// the pooled goroutines (pooledDispatcher, unless opts name another).
func props(producer actor.Producer, middleware []actor.ReceiverMiddleware, opts ...actor.PropsOption) *actor.Props {
	opts = append([]actor.PropsOption{actor.WithDispatcher(pooledDispatcher{})}, opts...)
	if len(middleware) > 0 {
		opts = append(opts, actor.WithReceiverMiddleware(middleware...))
	}
	return actor.PropsFromProducer(producer, opts...)
}
