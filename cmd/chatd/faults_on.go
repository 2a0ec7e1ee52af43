//go:build chatdfaults

package main

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/faults"
)

// faultMiddleware is fault injection for the process-level tests, built in
// only with the chatdfaults tag: a client's line "!fault ..." (see
// faults.FromLine) makes an actor panic, stay busy or wedge. A production
// build has none of it.
func faultMiddleware() []actor.ReceiverMiddleware {
	in := faults.New(nil)
	return []actor.ReceiverMiddleware{in.LineTrigger, in.Middleware}
}
