//go:build !chatdfaults

package main

import "github.com/asynkron/protoactor-go/actor"

// faultMiddleware is nil in a production build: no fault injection (see
// faults_on.go, for the process-level tests).
func faultMiddleware() []actor.ReceiverMiddleware { return nil }
