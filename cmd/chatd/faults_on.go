//go:build chatdfaults

package main

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/faults"
	"github.com/actorchat/actorchat/internal/faults/faultpb"
)

// faultMiddleware is fault injection for the process-level tests, built in
// only with the chatdfaults tag: a client's line "!fault ..." (see
// faults.FromLine) makes an actor panic, stay busy or wedge. A production
// build has none of it. Each fault is logged as it strikes.
func faultMiddleware(logger *slog.Logger) []actor.ReceiverMiddleware {
	in := faults.New(nil).OnStrike(func(self string, f *faultpb.InjectFault) {
		logger.Warn("fault injected", "actor", self, "fault", f.GetReason())
	})
	return []actor.ReceiverMiddleware{in.LineTrigger, in.Middleware}
}
