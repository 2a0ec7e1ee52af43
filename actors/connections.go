package actors

import (
	"fmt"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/messages"
)

// connections supervises the connection actors. It spawns one for each socket
// the accept loop hands over, stops one whose handling panicked (its user gets
// an error line and bye..., the others chat on), and at shutdown tells every
// connection to say goodbye and answers once none is left.
type connections struct {
	srv *serverDeps

	// Owned by Receive.
	live        int        // connection actors not yet terminated
	draining    bool       // shutdown has begun: new connections are told goodbye at once
	notice      string     // the shutdown notice
	drainWaiter *actor.PID // who gets ConnectionsDrained
}

// connectionsProps returns the props of the connections supervisor: a panic
// in a connection actor stops it.
func connectionsProps(srv *serverDeps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &connections{srv: srv} },
		actor.WithSupervisor(panicSupervisor{logger: srv.logger, metrics: srv.metrics, directive: actor.StopDirective}))
}

// Receive handles one message.
func (c *connections) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	case *actor.Terminated:
		c.handleTerminated(ctx)

	case *messages.SpawnConnection:
		c.handleSpawn(ctx, msg)
	case *messages.Shutdown:
		c.handleShutdown(ctx, msg)
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	case *messages.InjectFault:
		injectFault("connections", msg)
	}
}

// handleSpawn claims an accepted socket and starts its connection actor.
func (c *connections) handleSpawn(ctx actor.Context, msg *messages.SpawnConnection) {
	id := msg.GetConnId()
	conn, ok := c.srv.sockets.claim(id)
	if !ok {
		return // closed by a shutdown that passed its deadline
	}
	sock := newSocket(conn, c.srv.socketConfig(), c.srv.cfg.OutboxBytes, func() { c.srv.sockets.closed(id) })
	c.srv.sockets.serve(id, sock)
	props := actor.PropsFromProducer(newConnection(id, msg.GetRemoteAddr(), sock, c.srv))
	pid, err := ctx.SpawnNamed(props, "conn-"+strconv.FormatUint(id, 10))
	if err != nil { // cannot happen: ids are unique
		_ = conn.Close()
		c.srv.sockets.closed(id)
		panic(fmt.Sprintf("spawn connection %d: %v", id, err))
	}
	c.live++
	if c.draining {
		ctx.Send(pid, &messages.Shutdown{Notice: c.notice})
	}
}

func (c *connections) handleTerminated(ctx actor.Context) {
	c.live--
	c.answerIfDrained(ctx)
}

// handleShutdown tells every connection to say goodbye and stop.
func (c *connections) handleShutdown(ctx actor.Context, msg *messages.Shutdown) {
	c.draining = true
	c.notice = msg.GetNotice()
	c.drainWaiter = ctx.Sender()
	for _, pid := range ctx.Children() {
		ctx.Send(pid, msg)
	}
	c.answerIfDrained(ctx)
}

func (c *connections) answerIfDrained(ctx actor.Context) {
	if c.draining && c.live == 0 && c.drainWaiter != nil {
		ctx.Send(c.drainWaiter, &messages.ConnectionsDrained{})
		c.drainWaiter = nil
	}
}
