package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/actorchat/actorchat/internal/clustertls"
	"github.com/actorchat/actorchat/messages"
)

// ClusterConfig makes a server a member of a Proto.Actor cluster. Without
// one (Config.Cluster nil) the server is a single node with no remote
// transport at all.
type ClusterConfig struct {
	// Name is the cluster's name: members of other clusters are ignored.
	Name string
	// Host and Port are the address the remote transport listens on, and
	// that the other members reach this node at.
	Host string
	Port int
	// Provider finds the other members: automanaged.NewWithConfig or
	// etcd.NewWithConfig (cmd/chatd builds it from its flags).
	Provider cluster.ClusterProvider
	// Evicted is called once, from its own goroutine, when this node finds
	// that the cluster has dropped it (a missed health check is final at
	// our protoactor pin): it must exit, so that its supervisor restarts it
	// as a new member instead of running on alone.
	Evicted func()
	// SettleTime bounds how long a new coordinator waits for the other
	// nodes to reclaim their users' nicks before it hands out new ones.
	SettleTime time.Duration
	// EvictAfter is how long the node may go without another member
	// confirming that it counts it as a member before it concludes that it
	// was evicted (0: 5s). It must be well above the provider's detection
	// time, or a node that has just joined could think itself evicted.
	EvictAfter time.Duration
	// TLS authenticates the cluster transport both ways (mutual TLS with
	// the cluster's CA: internal/clustertls); nil: plain gRPC, which only a
	// trusted network may carry.
	TLS *clustertls.Config
	// JoinTimeout bounds joining the cluster at start-up (0: 30s): a
	// provider that does not answer (etcd down) fails the start, rather
	// than hang it.
	JoinTimeout time.Duration
}

// defaultJoinTimeout is ClusterConfig.JoinTimeout's default.
const defaultJoinTimeout = 30 * time.Second

// Well-known actor ids every node has, so that the other nodes can address
// them: the real registry and rooms (used on the coordinator), and the
// relay.
const (
	registryActorID = "server/registry"
	roomsActorID    = "server/rooms"
	relayActorID    = "server/relay"
	clusterActorID  = "server/cluster"
)

// clusterNode is what a server in cluster mode holds: the cluster, and
// what the node actor reports to the process (readiness).
type clusterNode struct {
	cfg     *ClusterConfig
	cluster *cluster.Cluster
	joined  atomic.Bool // the node is in its own topology
	pid     atomic.Pointer[actor.PID]
	latest  atomic.Pointer[cluster.ClusterTopology]
	evicted atomic.Bool
}

// clusterMemberID is the member id this node registers with: its start time
// first, so that the ids sort by age and every node agrees which member is
// the oldest (the coordinator) from the member list alone.
func clusterMemberID(node string, started time.Time) string {
	return fmt.Sprintf("%013x-%s", started.UnixMilli(), node)
}

// startCluster starts the remote transport and joins the cluster, within
// the join timeout and until ctx ends. It must run before any actor is
// spawned: PIDs made before remoting starts carry no address another node
// can reach.
func startCluster(ctx context.Context, system *actor.ActorSystem, cfg *ClusterConfig, node string) (*clusterNode, error) {
	system.ID = clusterMemberID(node, time.Now())
	var opts []remote.ConfigOption
	if cfg.TLS != nil {
		opts = append(opts, remote.WithServerOptions(grpc.Creds(credentials.NewTLS(cfg.TLS.Server))),
			remote.WithDialOptions(grpc.WithTransportCredentials(credentials.NewTLS(cfg.TLS.Client))))
	}
	rc := remote.Configure(cfg.Host, cfg.Port, opts...)
	cc := cluster.Configure(cfg.Name, cfg.Provider, disthash.New(), rc)
	c := cluster.New(system, cc)
	cn := &clusterNode{cfg: cfg, cluster: c}
	// Subscribed before the provider starts, so that no topology is
	// missed: the node actor reads the latest when it starts.
	system.EventStream.Subscribe(func(evt any) {
		if t, ok := evt.(*cluster.ClusterTopology); ok {
			cn.latest.Store(t)
			if pid := cn.pid.Load(); pid != nil {
				system.Root.Send(pid, t)
			}
		}
	})
	timeout := cfg.JoinTimeout
	if timeout <= 0 {
		timeout = defaultJoinTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// StartMember panics when the transport or the provider fails, and
	// can wait forever for a provider that does not answer (the etcd
	// provider reads etcd without a deadline at our pin): it runs on a
	// goroutine of its own, which is abandoned (with the process, which
	// exits) if it takes too long.
	joined := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				// The transport's own words for its listener
				// ("failed to listen: listen tcp ...") say which port
				// only by number.
				why := strings.Replace(fmt.Sprint(r), "failed to listen: ", "cluster port: ", 1)
				joined <- fmt.Errorf("joining the cluster: %s", why)
			}
		}()
		c.StartMember()
		joined <- nil
	}()
	select {
	case err := <-joined:
		if err != nil {
			return nil, err
		}
		return cn, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("joining the cluster: not done within %v (is the provider reachable?)", timeout)
		}
		return nil, errors.New("joining the cluster: interrupted")
	}
}

// clusterNodeActor follows the cluster's topology for this node: it picks
// the coordinator (the oldest member), points the node's routers at it,
// has the node's users reclaim their nicks and rooms when it changes, tells
// the relay which nodes left, and notices an eviction.
type clusterNodeActor struct {
	// Static after construction.
	cn          *clusterNode
	self        string // this node's member id
	address     string // this node's cluster address
	routers     []*actor.PID
	relay       *actor.PID
	registry    *actor.PID // the real one, told when this node becomes the coordinator
	rooms       *actor.PID // the real one, told the nodes (a rebuilt room asks their relays)
	connections *actor.PID
	metrics     *Metrics
	logger      interface {
		Info(msg string, args ...any)
		Warn(msg string, args ...any)
		Error(msg string, args ...any)
	}

	// Owned by Receive.
	coordinator string   // address; empty: none yet
	nodes       []string // addresses of the members, sorted
	wasJoined   bool
	ticker      *time.Ticker
	stopTick    chan struct{} // closed to end the ticker's goroutine
	confirmed   time.Time     // when another node last said we are a member (or the topology changed)
	// forRelay is the topology change the relay gets once the connections
	// have been told to reclaim (their ReclaimCount): see handleTopology.
	forRelay *messages.CoordinatorChanged
}

// defaultEvictAfter is ClusterConfig.EvictAfter's default.
const defaultEvictAfter = 5 * time.Second

func (n *clusterNodeActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		n.cn.pid.Store(ctx.Self())
		if t := n.cn.latest.Load(); t != nil {
			n.handleTopology(ctx, t)
		}
		n.startEvictionCheck(ctx)
	case *actor.Stopping:
		if n.ticker != nil {
			n.ticker.Stop()
			close(n.stopTick)
		}
	case *actor.Stopped, *actor.Restarting:

	case *cluster.ClusterTopology:
		n.handleTopology(ctx, msg)
	case *messages.IdleCheck: // the eviction check's tick
		n.checkEvicted(ctx)
	case *messages.MembershipCheck:
		reply(ctx, msg.GetReplyTo(), &messages.MembershipConfirmed{Member: slices.Contains(n.nodes, msg.GetAddress())})
	case *messages.MembershipConfirmed:
		// A "no" may only mean the other node has not seen us join yet: it
		// counts as no answer.
		if msg.GetMember() {
			n.confirmed = time.Now()
		}
	case *messages.ReclaimCount:
		ctx.Send(n.routers[0], &messages.ReclaimExpected{Node: n.address, Count: msg.GetCount()})
		if n.forRelay != nil {
			ctx.Send(n.relay, n.forRelay)
			n.forRelay = nil
		}
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	}
}

// startEvictionCheck looks at the block list every second: another member
// that evicted us gossips it, and our own topology may never say so.
func (n *clusterNodeActor) startEvictionCheck(ctx actor.Context) {
	n.ticker, n.stopTick = time.NewTicker(time.Second), make(chan struct{})
	system, self, ticker, stop := ctx.ActorSystem(), ctx.Self(), n.ticker, n.stopTick
	go func() {
		for {
			select {
			case <-ticker.C:
				system.Root.Send(self, &messages.IdleCheck{})
			case <-stop:
				return
			}
		}
	}()
}

func (n *clusterNodeActor) checkEvicted(ctx actor.Context) {
	if n.cn.evicted.Load() || !n.wasJoined {
		return
	}
	if n.cn.cluster != nil { // nil in actor-level tests
		blocked := n.cn.cluster.GetBlockedMembers()
		if blocked.Contains(n.self) || blocked.Contains(n.cn.cfg.Name+"@"+n.self) {
			n.evicted("the cluster has blocked this node")
			return
		}
	}
	// The others stop talking to a node they evicted, while its own view
	// may still list them: ask one of them, the coordinator or (if that is
	// us) the next oldest.
	peer := n.coordinator
	if peer == n.address {
		peer = ""
		for _, a := range n.nodes {
			if a != n.address {
				peer = a
				break
			}
		}
	}
	if peer == "" {
		n.confirmed = time.Now() // alone: nobody to ask
		return
	}
	evictAfter := n.cn.cfg.EvictAfter
	if evictAfter <= 0 {
		evictAfter = defaultEvictAfter
	}
	if time.Since(n.confirmed) > evictAfter {
		n.evicted(fmt.Sprintf("no other member has counted this node as a member for %v", evictAfter))
		return
	}
	ctx.Send(actor.NewPID(peer, clusterActorID), &messages.MembershipCheck{Address: n.address, ReplyTo: refOf(ctx.Self())})
}

func (n *clusterNodeActor) evicted(why string) {
	if !n.cn.evicted.CompareAndSwap(false, true) {
		return
	}
	n.cn.joined.Store(false)
	n.logger.Error("evicted from the cluster; exiting so that the supervisor starts this node again", "reason", why)
	if f := n.cn.cfg.Evicted; f != nil {
		go f()
	}
}

// handleTopology acts on the members the provider reports now.
func (n *clusterNodeActor) handleTopology(ctx actor.Context, t *cluster.ClusterTopology) {
	var oldest *cluster.Member
	nodes := make([]string, 0, len(t.GetMembers()))
	inIt := false
	for _, m := range t.GetMembers() {
		nodes = append(nodes, m.Address())
		if m.Address() == n.address { // the etcd provider's member ids are "cluster@id"
			inIt = true
		}
		if oldest == nil || m.GetId() < oldest.GetId() {
			oldest = m
		}
	}
	slices.Sort(nodes)
	n.metrics.clusterMembers.Set(float64(len(nodes)))
	var left []string
	for _, m := range t.GetLeft() {
		left = append(left, m.Address())
		n.metrics.clusterNodesLost.Inc()
		n.logger.Warn("cluster node left", "node", m.Address(), "member", m.GetId())
	}
	for _, m := range t.GetJoined() {
		n.logger.Info("cluster node joined", "node", m.Address(), "member", m.GetId())
	}
	if !inIt {
		if n.wasJoined {
			n.evicted("this node is no longer in the cluster's member list")
		}
		return
	}
	if !n.wasJoined {
		n.wasJoined = true
		n.logger.Info("joined the cluster", "member", n.self, "members", len(nodes))
	}
	n.nodes = nodes
	n.confirmed = time.Now() // a new view: give its members time to answer
	coordinator := oldest.Address()
	changed := &messages.CoordinatorChanged{Address: coordinator, Nodes: nodes, Left: left}
	ctx.Send(n.rooms, changed)
	ctx.Send(n.registry, changed)
	if coordinator == n.coordinator {
		ctx.Send(n.relay, changed)
		n.cn.joined.Store(true)
		return
	}
	previous := n.coordinator
	n.coordinator = coordinator
	n.logger.Info("cluster coordinator", "node", coordinator, "previous", previous, "self", coordinator == n.address)
	if coordinator == n.address {
		ctx.Send(n.registry, &messages.BecomeCoordinator{Nodes: nodes})
	}
	for _, r := range n.routers {
		ctx.Send(r, changed)
	}
	// Every node's users take their nicks and rooms back at the new
	// coordinator (a node that has just started has none yet, and says so).
	// The relay, which tells them who was lost with the old one, hears of
	// the change only once every connection has been told to reclaim (the
	// supervisor's ReclaimCount): so a user who reads "left (server lost)"
	// and types at once finds the connection reclaiming, and the line waits
	// for the new room rather than go to the one that died.
	ctx.RequestWithCustomSender(n.connections, &messages.Reclaim{}, ctx.Self())
	if n.forRelay != nil { // a change still waiting for the last one's count: it is gone by now
		ctx.Send(n.relay, n.forRelay)
	}
	n.forRelay = changed
	n.cn.joined.Store(true)
}

// router forwards what the node's actors send the registry or the rooms
// actor to the one on the coordinator, in the order it gets it, with its
// sender (which decides whether a message that carries authority counts:
// see authority.go). Until a coordinator is known it holds the messages (at
// most maxRouterHeld).
type router struct {
	target  string // the actor id on the coordinator
	metrics *Metrics

	address string // the coordinator's; empty: none yet
	local   string // this node's
	held    []heldMessage
}

// maxRouterHeld bounds what a router holds before the node has joined.
const maxRouterHeld = 10000

func (r *router) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		r.local = ctx.Self().GetAddress()
	case *actor.Stopping, *actor.Stopped, *actor.Restarting, *actor.Terminated:
	case *messages.CoordinatorChanged:
		r.address = msg.GetAddress()
		held := r.held
		r.held = nil
		for _, m := range held {
			r.forward(ctx, m.msg, m.sender)
		}
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	default:
		if r.address == "" {
			if len(r.held) < maxRouterHeld {
				r.held = append(r.held, heldMessage{msg: msg, sender: ctx.Sender()})
			}
			return
		}
		r.forward(ctx, msg, ctx.Sender())
	}
}

func (r *router) forward(ctx actor.Context, msg any, sender *actor.PID) {
	if r.address != r.local {
		r.metrics.clusterSent.Inc()
	}
	to := actor.NewPID(r.address, r.target)
	if sender == nil {
		ctx.Send(to, msg)
		return
	}
	ctx.RequestWithCustomSender(to, msg, sender)
}
