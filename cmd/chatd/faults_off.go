//go:build !chatdfaults

package main

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
)

// faultMiddleware is nil in a production build: no fault injection (see
// faults_on.go, for the process-level tests).
func faultMiddleware(*slog.Logger) []actor.ReceiverMiddleware { return nil }
