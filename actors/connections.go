package actors

import (
	"fmt"
	"log/slog"
	"path"
	"strconv"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/irc"
	"github.com/actorchat/actorchat/internal/netio"
	"github.com/actorchat/actorchat/messages"
)

// connections supervises the connection actors. It spawns one for each socket
// the accept loop hands over, stops one whose handling panicked (its user gets
// an error line and bye..., the others chat on), and at shutdown tells every
// connection to say goodbye and answers once none is left.
type connections struct {
	// Static after construction.
	env        *connectionEnv // what every connection actor shares
	table      *netio.Table   // where the accept loop parks sockets
	sockCfg    netio.Config
	node       string // this node's id, the first part of every member id
	logger     *slog.Logger
	middleware []actor.ReceiverMiddleware // for the connections it spawns (tests only)

	// Owned by Receive.
	connProps   *actor.Props       // every connection actor's props: one for all (see handleSpawn)
	next        actor.Actor        // the connection SpawnNamed is about to start
	live        int                // connection actors not yet terminated
	draining    bool               // shutdown has begun: new connections are told goodbye at once
	notice      string             // the shutdown notice
	drainWaiter *messages.ActorRef // who gets ConnectionsDrained
}

// connectionsDeps is what the connections supervisor is built from.
type connectionsDeps struct {
	env        *connectionEnv
	table      *netio.Table
	sockCfg    netio.Config
	node       string
	middleware []actor.ReceiverMiddleware
}

// connectionsProps returns the props of the connections supervisor: a panic
// in a connection actor stops it.
func connectionsProps(d connectionsDeps) *actor.Props {
	return props(func() actor.Actor {
		return &connections{env: d.env, table: d.table, sockCfg: d.sockCfg, node: d.node, logger: d.env.logger, middleware: d.middleware}
	}, d.middleware, actor.WithSupervisor(panicSupervisor{logger: d.env.logger, metrics: d.env.metrics, directive: actor.StopDirective}))
}

func (c *connections) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	case *actor.Terminated:
		c.handleTerminated(ctx, msg)

	case *messages.SpawnConnection:
		c.handleSpawn(ctx, msg)
	case *messages.Shutdown:
		c.handleShutdown(ctx, msg)
	case *messages.Reclaim:
		// In a cluster, the coordinator changed: every user takes its nick
		// and room back there; the node tells the coordinator how many.
		children := ctx.Children()
		for _, pid := range children {
			ctx.Send(pid, msg)
		}
		ctx.Respond(&messages.ReclaimCount{Count: uint32(len(children))})
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	}
}

// handleSpawn claims an accepted socket and starts its connection actor.
func (c *connections) handleSpawn(ctx actor.Context, msg *messages.SpawnConnection) {
	id := msg.GetConnId()
	conn, ok := c.table.Claim(id)
	if !ok {
		return // closed by a shutdown that passed its deadline
	}
	sockCfg := c.sockCfg
	if msg.GetProtocol() == messages.Protocol_PROTOCOL_IRC {
		sockCfg.Plain, sockCfg.MaxLineBytes = true, irc.MaxReadBytes
	}
	sock := c.table.NewSocket(id, conn, sockCfg)
	// One Props serves every connection (an actor keeps its props for
	// life: one each would cost every idle connection a few hundred
	// bytes). Its producer, which SpawnNamed calls before it returns, takes
	// the connection made here.
	if c.connProps == nil {
		c.connProps = props(func() actor.Actor {
			a := c.next
			c.next = nil
			return a
		}, c.middleware, actor.WithDispatcher(connectionDispatcher{}))
	}
	c.next = newConnection(id, memberID(c.node, id), msg.GetRemoteAddr(), msg.GetTls(), msg.GetProtocol(), sock, c.env)()
	pid, err := ctx.SpawnNamed(c.connProps, "conn-"+strconv.FormatUint(id, 10))
	if err != nil { // the accept loop numbers connections: a second spawn of one id is a bug
		sock.Abort()
		panic(fmt.Sprintf("spawn connection %d: %v", id, err))
	}
	c.live++
	if c.draining {
		ctx.Send(pid, &messages.Shutdown{Notice: c.notice})
	}
}

// handleTerminated counts a connection actor that stopped, and tells the
// registry, which lets go of the member if the connection did not say
// goodbye itself (see ConnectionGone).
func (c *connections) handleTerminated(ctx actor.Context, msg *actor.Terminated) {
	c.live--
	if id, ok := strings.CutPrefix(path.Base(msg.GetWho().GetId()), "conn-"); ok {
		if n, err := strconv.ParseUint(id, 10, 64); err == nil {
			ctx.Send(c.env.registry, &messages.ConnectionGone{MemberId: memberID(c.node, n)})
		}
	}
	c.answerIfDrained(ctx)
}

// handleShutdown tells every connection to say goodbye and stop.
func (c *connections) handleShutdown(ctx actor.Context, msg *messages.Shutdown) {
	c.draining = true
	c.notice = msg.GetNotice()
	c.drainWaiter = msg.GetReplyTo()
	goodbye := &messages.Shutdown{Notice: msg.GetNotice()}
	for _, pid := range ctx.Children() {
		ctx.Send(pid, goodbye)
	}
	c.answerIfDrained(ctx)
}

func (c *connections) answerIfDrained(ctx actor.Context) {
	if c.draining && c.live == 0 && c.drainWaiter != nil {
		reply(ctx, c.drainWaiter, &messages.ConnectionsDrained{})
		c.drainWaiter = nil
	}
}
