package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/workers"
)

// mailboxThroughput is how many messages an actor handles before its
// goroutine yields to others (protoactor's default).
const mailboxThroughput = 300

// pooledDispatcher runs mailboxes on the process's reused goroutines
// (internal/workers) instead of a new goroutine each time a message finds a
// mailbox idle: at an ordinary load that is once per delivery, and a new
// goroutine's small stack had to be grown by every connection handler
// (11% of chatd's CPU in the paced fan-out profile). Every mailbox still
// gets a goroutine at once; none waits for another actor's turn to end.
type pooledDispatcher struct{}

var _ actor.Dispatcher = pooledDispatcher{}

// Schedule implements actor.Dispatcher.
func (pooledDispatcher) Schedule(fn func()) { workers.Go(fn) }

// Throughput implements actor.Dispatcher.
func (pooledDispatcher) Throughput() int { return mailboxThroughput }
