package actors

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/actorchat/actorchat/messages"

	"github.com/asynkron/protoactor-go/actor"
)

// panicSupervisor is the supervisor strategy of every actor with children:
// it logs a child's panic once, with what it was handling, and applies one
// directive. Connections are stopped (their user is told and disconnected);
// the registry and rooms are resumed, so that a panic loses none of their
// state, only the message that caused it.
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
	switch s.directive {
	case actor.ResumeDirective:
		supervisor.ResumeChildren(child)
	case actor.RestartDirective:
		supervisor.RestartChildren(child)
	default:
		supervisor.StopChildren(child)
	}
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
	case id == "server/connections":
		return "connections"
	}
	return "other"
}

// injectFault carries out an InjectFault inside the actor named what: it
// blocks the actor for the stall, or panics.
func injectFault(what string, msg *messages.InjectFault) {
	if d := msg.GetStallMillis(); d > 0 {
		time.Sleep(time.Duration(d) * time.Millisecond) // a wedged actor, on purpose
		return
	}
	panic(fmt.Sprintf("injected fault in %s: %s", what, msg.GetReason()))
}
