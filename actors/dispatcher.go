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

// connectionDispatcher runs connection actors' mailboxes on the same
// goroutines, but lets a mailbox run join one that a goroutine was woken
// for and has not begun (workers.GoShort): a room's fan-out to a thousand
// members then wakes about a hundred goroutines, not a thousand. A
// connection's turn never blocks (its writes do not wait), so one that
// joined waits only for a few other short turns. The registry, rooms and
// other actors keep a goroutine each: their turns can be long (a busy
// room's lasts as long as posts keep coming), and nothing may wait behind
// them.
type connectionDispatcher struct{}

var _ actor.Dispatcher = connectionDispatcher{}

// Schedule implements actor.Dispatcher.
func (connectionDispatcher) Schedule(fn func()) { workers.GoShort(fn) }

// Throughput implements actor.Dispatcher.
func (connectionDispatcher) Throughput() int { return mailboxThroughput }
