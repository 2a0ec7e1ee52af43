package actors

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/actorchat/actorchat/internal/text"
	"github.com/actorchat/actorchat/messages"
)

// maxBatch bounds the posts of one PostsBatch, so that what each member's
// connection renders at once stays small.
const maxBatch = 256

// maxNamesShown bounds how many nicks a joiner is told of by name.
const maxNamesShown = 20

// maxTopicLen bounds a room's topic, in bytes, so that an IRC client's
// RPL_TOPIC (which carries it with the channel and the nick) fits in 512
// (ISUPPORT says TOPICLEN=390, as many IRC servers do).
const maxTopicLen = 390

// room holds one room's members, topic and recent history, and fans every
// post out to its members. Members are connection actors, known by member id
// (every message names the member it is about; the room never takes the
// transport's sender as proof of who posts). A member that stops without
// saying goodbye still leaves: on this node the registry tells the room
// (MemberGone, from the connections actor's ConnectionGone); a member on
// another node is watched, for when its node dies.
//
// Every delivery goes through the members' mailboxes in the order the room
// handles posts, so each member sees the room's messages in the same order.
// A send never blocks the room: connection mailboxes are unbounded and each
// connection bounds its own outbox.
type room struct {
	// Static after construction.
	name        string
	instance    uint64 // tells this room from an earlier one of the same name, for the rooms actor
	historyLen  int    // posts replayed to a joiner
	historyKeep int    // posts kept, for /history; at least historyLen
	quietSize   int    // above this many members, joins and leaves are not announced; 0: always
	store       *actor.PID
	registry    *actor.PID // for invitations
	admins      *Admins    // server operators: every op power here
	accountsOn  bool       // the server keeps accounts (and so rooms may have owners)
	loadTimeout time.Duration
	batchWindow time.Duration // how long the first post of a batch waits for others; 0: none
	cluster     bool          // in a cluster: members on other nodes are reached through their node's relay
	nodes       []string      // in a cluster, the nodes whose relays may hold this room's history
	logger      *slog.Logger
	metrics     *Metrics
	now         func() time.Time

	// Owned by Receive.
	members     []*roomMember             // the fan-out list
	index       map[string]int            // member id -> position in members
	watched     map[pidKey]string         // the key of a member's connection -> member id, for Terminated
	topic       string                    // empty: none
	topicNick   string                    // who set it; empty: unknown
	topicAt     int64                     // when, in Unix milliseconds; 0: unknown
	history     []*messages.MessagePosted // ring of the latest posts, oldest at historyAt
	historyAt   int                       // where the oldest entry is once the ring is full
	joinsSeen   uint64                    // JoinRoom messages handled, reported to the rooms actor
	loading     bool                      // waiting for the store's RoomLoaded
	stashed     []heldMessage             // messages that came while loading, in order, with their senders
	mod         moderation                // owner, ops, bans, mutes, invitations, flags
	pending     map[uint64]*roomRequest   // moderation commands waiting for another actor's answer, by request id
	lastRequest uint64                    // the id of the last of them
	rulesRetry  time.Duration             // how long until the rules are asked for again, while they cannot be loaded
	batch       []*messages.MessagePosted // posts handled since the last flush, in order
	echoFirst   bool                      // the first post of the batch asked for its sender to read it back (PostMessage.echo)
	flushSent   bool                      // a FlushPosts is in our mailbox
	seq         uint64                    // the number of the last post

	// Owned by Receive, in a cluster.
	local      string                   // this node's address
	nodeCount  map[string]int           // another node -> how many members it has here
	awaitStore bool                     // waiting for the store's RoomLoaded
	awaitSnaps map[string]bool          // nodes whose RoomSnapshot is still to come
	snapshots  []*messages.RoomSnapshot // what the other nodes' relays kept
	// Rebuilt after its node died: the members (on live nodes) the relays
	// knew, who have not taken their places back yet. Until they have (or
	// the load timeout passes), everything but their reclaims waits, so
	// that each of them gets every post.
	awaitReclaims map[string]string // member id -> its node
}

// roomMember is one member of a room.
type roomMember struct {
	id        string     // member id
	pid       *actor.PID // the member's connection
	nick      string
	away      string            // away message, for /who; empty: not away
	account   string            // identified as, case-folded; empty: none
	accountID string            // its id, which rights name
	oper      string            // the server operator token it proved; empty: none
	address   string            // IP address, for bans
	role      messages.RoomRole // what it was last told it may do
	local     bool              // on this node (always, outside a cluster)

	lastClientSeq uint64 // the client_seq of its last post here
}

// roomSettings are what every room of a server shares.
type roomSettings struct {
	historyLen  int
	historyKeep int
	quietSize   int
	store       *actor.PID // nil: no store
	registry    *actor.PID
	admins      *Admins
	accountsOn  bool
	batchWindow time.Duration
	loadTimeout time.Duration
	cluster     bool // members may be on other nodes
	logger      *slog.Logger
	metrics     *Metrics
}

// newRoom makes a room; in a cluster, nodes are the nodes whose relays it
// asks for the history they kept (the room may have lived on a node that
// died).
func newRoom(name string, instance uint64, set roomSettings, nodes []string) actor.Producer {
	return func() actor.Actor {
		return &room{
			name:        name,
			instance:    instance,
			historyLen:  set.historyLen,
			historyKeep: max(set.historyKeep, set.historyLen),
			quietSize:   set.quietSize,
			store:       set.store,
			registry:    set.registry,
			admins:      set.admins,
			accountsOn:  set.accountsOn,
			loadTimeout: set.loadTimeout,
			batchWindow: set.batchWindow,
			cluster:     set.cluster,
			nodes:       nodes,
			nodeCount:   make(map[string]int),
			mod:         newModeration(),
			logger:      set.logger,
			metrics:     set.metrics,
			now:         time.Now,
			index:       make(map[string]int),
			watched:     make(map[pidKey]string),
		}
	}
}

// Receive handles lifecycle messages and the store's answer at once; every
// other message waits (in order) until the room has loaded its history and
// topic from the store.
func (r *room) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		r.handleStarted(ctx)
	case *actor.Stopping, *actor.Stopped, *actor.Restarting:
	case *actor.Terminated:
		// Look at it behind whatever the member sent before it stopped (its
		// LeaveRoom, with the real reason): system messages overtake user
		// messages, a message to ourselves does not.
		ctx.Send(ctx.Self(), &messages.MemberTerminated{Who: refOf(msg.GetWho()), NodeLost: msg.GetWhy() == actor.TerminatedReason_AddressTerminated})
	case *messages.RoomLoaded:
		r.handleLoaded(ctx, msg)
	case *messages.RoomSnapshot:
		r.handleSnapshot(ctx, msg)
	case *messages.ReplyTimedOut:
		r.handleLoadTimedOut(ctx)
	case *messages.ReclaimTimedOut:
		if len(r.awaitReclaims) > 0 {
			r.logger.Warn("room rebuilt: not every member came back in time; going on", "room", r.name, "missing", len(r.awaitReclaims))
			r.awaitReclaims = nil
			r.unstash(ctx)
		}
	case *messages.CoordinatorChanged:
		r.handleNodesChanged(ctx, msg)
	case *messages.LoadRulesAgain:
		r.loadRulesAgain(ctx)
	case *messages.Ping:
		r.flushPosts(ctx) // whatever the room handled before the ping goes out before the pong
		ctx.Respond(&messages.Pong{})
	default:
		if r.loading || r.waitsFor(msg) {
			r.stashed = append(r.stashed, heldMessage{msg: msg, sender: ctx.Sender()})
			return
		}
		r.handle(ctx, msg, ctx.Sender())
		if r.reclaimsDone(msg) {
			r.unstash(ctx)
		}
	}
}

// waitsFor reports whether msg must wait for the members still to reclaim
// their places: everything but their reclaims does.
func (r *room) waitsFor(msg any) bool {
	if len(r.awaitReclaims) == 0 {
		return false
	}
	j, ok := msg.(*messages.JoinRoom)
	return !ok || !j.GetReclaim()
}

// reclaimsDone notes a member's reclaim and reports whether it was the
// last one awaited.
func (r *room) reclaimsDone(msg any) bool {
	j, ok := msg.(*messages.JoinRoom)
	if !ok || !j.GetReclaim() || len(r.awaitReclaims) == 0 {
		return false
	}
	delete(r.awaitReclaims, j.GetMemberId())
	if len(r.awaitReclaims) == 0 {
		r.awaitReclaims = nil
		return true
	}
	return false
}

// handle handles the room's protocol messages; sender is who sent one, for
// the ones that carry authority (see authority.go). Posts are gathered and
// sent as one batch when the room's mailbox has no more of them in a row:
// any other message sends the batch first, so every member gets every
// event of the room in the order the room handled it.
func (r *room) handle(ctx actor.Context, message any, sender *actor.PID) {
	if _, post := message.(*messages.PostMessage); !post {
		r.flushPosts(ctx)
	}
	switch msg := message.(type) {
	case *messages.FlushPosts:
		r.flushSent = false // flushed above
	case *messages.MemberTerminated:
		r.handleMemberTerminated(ctx, msg)
	case *messages.MemberGone:
		r.handleMemberGone(ctx, msg)

	case *messages.JoinRoom:
		r.handleJoin(ctx, msg, sender)
	case *messages.LeaveRoom:
		r.handleLeave(ctx, msg)
	case *messages.PostMessage:
		r.handlePost(ctx, msg)
	case *messages.RenameMember:
		r.handleRename(ctx, msg)
	case *messages.SetTopic:
		r.handleSetTopic(ctx, msg)
	case *messages.ListMembers:
		r.handleListMembers(ctx, msg)
	case *messages.SetAway:
		r.handleSetAway(msg)
	case *messages.GetHistory:
		r.handleGetHistory(ctx, msg)
	case *messages.DrainRoom:
		r.handleDrain(ctx)
	case *messages.SetMemberAccount:
		r.handleSetMemberAccount(ctx, msg, sender)
	case *messages.Moderate:
		r.handleModerate(ctx, msg, sender)
	case *messages.TargetResolved:
		r.handleTargetResolved(ctx, msg)
	case *messages.RoomClaimed:
		r.handleRoomClaimed(ctx, msg)
	case *messages.ModerationTimedOut:
		r.handleModerationTimedOut(ctx, msg)
	case *messages.ForgetAccount:
		r.handleForgetAccount(ctx, msg)
	}
}

// handleStarted asks the store for the room's history and topic, if there
// is a store. The room answers nobody until it has them (or the load
// timeout passes), so that the first joiner sees the conversation as it was.
//
// In a cluster it also asks every node's relay for what it kept of the room:
// a room rebuilt after its node died takes the freshest history any
// surviving node saw.
func (r *room) handleStarted(ctx actor.Context) {
	r.local = ctx.Self().GetAddress()
	if r.loading {
		return
	}
	if r.store != nil {
		r.awaitStore = true
		ctx.Send(r.store, &messages.LoadRoom{Room: r.name, Limit: uint32(r.historyKeep), ReplyTo: refOf(ctx.Self())})
	}
	if r.cluster {
		r.awaitSnaps = make(map[string]bool, len(r.nodes))
		for _, node := range r.nodes {
			r.awaitSnaps[node] = true
			r.toRelay(ctx, node, &messages.RoomSnapshotRequest{Room: r.name, ReplyTo: refOf(ctx.Self())})
		}
	}
	if !r.awaitStore && len(r.awaitSnaps) == 0 {
		return
	}
	r.loading = true
	system, self := ctx.ActorSystem(), ctx.Self()
	time.AfterFunc(r.loadTimeout, func() { system.Root.Send(self, &messages.ReplyTimedOut{}) })
}

// handleSnapshot takes one relay's snapshot of the room.
func (r *room) handleSnapshot(ctx actor.Context, msg *messages.RoomSnapshot) {
	if !r.loading || !r.awaitSnaps[msg.GetNode()] {
		return
	}
	delete(r.awaitSnaps, msg.GetNode())
	r.snapshots = append(r.snapshots, msg)
	if !r.awaitStore && len(r.awaitSnaps) == 0 {
		r.finishLoading(ctx)
	}
}

// handleNodesChanged follows the cluster's members (the rooms actor passes
// every change on): a room being rebuilt waits neither for the snapshot of
// a node that left nor for its members to come back.
func (r *room) handleNodesChanged(ctx actor.Context, msg *messages.CoordinatorChanged) {
	r.nodes = msg.GetNodes()
	for _, gone := range msg.GetLeft() {
		if r.loading && r.awaitSnaps[gone] {
			delete(r.awaitSnaps, gone)
			if !r.awaitStore && len(r.awaitSnaps) == 0 {
				r.finishLoading(ctx)
			}
		}
		for id, node := range r.awaitReclaims {
			if node == gone {
				delete(r.awaitReclaims, id)
			}
		}
	}
	if !r.loading && r.awaitReclaims != nil && len(r.awaitReclaims) == 0 {
		r.awaitReclaims = nil
		r.unstash(ctx)
	}
}

// finishLoading takes the freshest history and topic of what came (the
// store's, and in a cluster the relays'), then handles what waited.
func (r *room) finishLoading(ctx actor.Context) {
	var best []*messages.MessagePosted
	for _, snap := range r.snapshots {
		h := snap.GetHistory()
		if len(h) > 0 && (len(best) == 0 || h[len(h)-1].GetSeq() > best[len(best)-1].GetSeq()) {
			best = h
		}
		if t := snap.GetTopic(); t != nil && t.GetUnixMillis() >= r.topicAt {
			r.topic, r.topicNick, r.topicAt = t.GetTopic(), t.GetNick(), t.GetUnixMillis()
		}
	}
	live := make(map[string]bool, len(r.nodes))
	for _, n := range r.nodes {
		live[n] = true
	}
	for _, snap := range r.snapshots {
		for _, e := range snap.GetRoster() {
			if live[e.GetNode()] {
				if r.awaitReclaims == nil {
					r.awaitReclaims = make(map[string]string)
				}
				r.awaitReclaims[e.GetMemberId()] = e.GetNode()
			}
		}
	}
	if len(best) > 0 {
		r.history, r.historyAt = nil, 0
		for _, m := range best {
			r.remember(m)
		}
		r.seq = max(r.seq, best[len(best)-1].GetSeq())
		r.catchUp(ctx, best)
	}
	r.snapshots = nil
	r.awaitStore, r.awaitSnaps = false, nil
	if len(r.awaitReclaims) > 0 {
		system, self := ctx.ActorSystem(), ctx.Self()
		time.AfterFunc(r.loadTimeout, func() { system.Root.Send(self, &messages.ReclaimTimedOut{}) })
	}
	r.unstash(ctx)
	if r.topic != "" {
		r.report(ctx)
	}
}

// catchUp sends the members of each node whose relay saw fewer of the old
// room's last posts than the freshest (the old room died between its
// deliveries to two nodes) the posts they missed, before anything else.
func (r *room) catchUp(ctx actor.Context, best []*messages.MessagePosted) {
	last := best[len(best)-1].GetSeq()
	for _, snap := range r.snapshots {
		h := snap.GetHistory()
		if len(h) == 0 || h[len(h)-1].GetSeq() >= last {
			continue
		}
		seen := h[len(h)-1].GetSeq()
		var missed []*messages.MessagePosted
		for _, p := range best {
			if p.GetSeq() > seen {
				missed = append(missed, p)
			}
		}
		r.logger.Info("room rebuilt: a node missed the old room's last posts; sending them", "room", r.name, "node", snap.GetNode(), "posts", len(missed))
		r.toRelay(ctx, snap.GetNode(), &messages.RelayDelivery{Room: r.name, Payload: r.wrap(&messages.PostsBatch{Room: r.name, Posts: missed})})
	}
}

// handleLoaded takes the stored history and topic, then handles what
// waited. Rules (owner, ops, bans, flags) that could not be loaded are not
// taken as no rules: until a later load brings them, nobody new may join
// and nobody may claim the room (see rulesUnknown).
func (r *room) handleLoaded(ctx actor.Context, msg *messages.RoomLoaded) {
	if r.mod.unknown != "" && !r.loading {
		r.rulesLoaded(ctx, msg)
		return
	}
	if !r.loading || !r.awaitStore {
		return // late: the room went on without it
	}
	r.awaitStore = false
	if msg.GetError() != "" {
		r.logger.Warn("room history not loaded from the store", "room", r.name, "error", msg.GetError(), "queued_posts", len(msg.GetHistory()))
	}
	for _, m := range msg.GetHistory() {
		r.remember(m)
	}
	r.topic, r.topicNick, r.topicAt = msg.GetTopic(), msg.GetTopicNick(), msg.GetTopicUnixMillis()
	if msg.GetError() != "" {
		r.rulesUnknown(ctx, "the store is not answering")
	} else {
		r.mod.loadRules(msg.GetEntries())
	}
	if len(r.awaitSnaps) == 0 {
		r.finishLoading(ctx)
	}
}

func (r *room) handleLoadTimedOut(ctx actor.Context) {
	if !r.loading {
		return
	}
	r.logger.Warn("room history not loaded: the store or a node did not answer in time", "room", r.name, "timeout", r.loadTimeout,
		"store_waited", r.awaitStore, "nodes_waited", len(r.awaitSnaps))
	if r.awaitStore {
		r.rulesUnknown(ctx, "the store did not answer in time")
	}
	r.finishLoading(ctx)
}

// Bounds of the wait between two loads of rules that could not be loaded.
const (
	minRulesRetry = 500 * time.Millisecond
	maxRulesRetry = 10 * time.Second
)

// rulesUnknown notes that the room's rules could not be loaded, and asks
// again after a while.
func (r *room) rulesUnknown(ctx actor.Context, why string) {
	if r.mod.unknown == "" {
		r.logger.Error("room rules not loaded; nobody new may join until they are", "room", r.name, "reason", why)
	}
	r.mod.unknown = why
	r.rulesRetry = min(max(2*r.rulesRetry, minRulesRetry), maxRulesRetry)
	system, self := ctx.ActorSystem(), ctx.Self()
	time.AfterFunc(r.rulesRetry, func() { system.Root.Send(self, &messages.LoadRulesAgain{}) })
}

// loadRulesAgain asks the store for the room's rules once more (no
// history: the room has it).
func (r *room) loadRulesAgain(ctx actor.Context) {
	if r.mod.unknown != "" && r.store != nil {
		ctx.Send(r.store, &messages.LoadRoom{Room: r.name, ReplyTo: refOf(ctx.Self())})
	}
}

// rulesLoaded takes the rules a later load brought, or waits longer.
func (r *room) rulesLoaded(ctx actor.Context, msg *messages.RoomLoaded) {
	if msg.GetError() != "" {
		r.rulesUnknown(ctx, "the store is not answering")
		return
	}
	r.mod.loadRules(msg.GetEntries())
	r.rulesRetry = 0
	r.logger.Info("room rules loaded; joins are open again", "room", r.name)
	r.tellRoles(ctx)
}

// unstash ends loading and handles the messages that waited, in order.
//
// A rebuilt room that still waits for members to reclaim their places takes
// their reclaims out of the stash and keeps the rest, in order, until the
// last one is in.
func (r *room) unstash(ctx actor.Context) {
	r.loading = false
	stashed := r.stashed
	r.stashed = nil
	for i, m := range stashed {
		if r.waitsFor(m.msg) {
			r.stashed = append(r.stashed, m)
			continue
		}
		r.handle(ctx, m.msg, m.sender)
		if r.reclaimsDone(m.msg) {
			r.stashed = append(r.stashed, stashed[i+1:]...)
			r.unstash(ctx)
			return
		}
	}
}

// handleJoin adds a member, answers with the room's state, and tells the
// others. A join is taken only from the connection it is for (sender):
// it says who the joiner is, for the room's rights and bans.
func (r *room) handleJoin(ctx actor.Context, msg *messages.JoinRoom, sender *actor.PID) {
	r.joinsSeen++
	pid := pidOf(msg.GetReplyTo())
	if pid == nil || msg.GetMemberId() == "" || !samePID(sender, pid) {
		if pid != nil {
			r.logger.Warn("ignored a join not sent by the joiner's connection", "room", r.name, "member", msg.GetMemberId(), "sender", sender.String())
		}
		r.report(ctx)
		return
	}
	if _, ok := r.index[msg.GetMemberId()]; !ok {
		if reason := r.refuseJoin(ctx, msg); reason != "" && !msg.GetReclaim() {
			r.reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_JOIN, reason)
			r.report(ctx)
			return
		}
		if len(r.members) == 0 && r.mod.owner == "" {
			r.mod.creator = msg.GetMemberId() // the first to join an unowned room may /claim it
		}
		if pid.GetAddress() != r.local {
			// On another node (a cluster): watched, so that the room hears
			// at once when that node dies. This node's connections are not
			// watched (a watch costs every idle connection a set of
			// watchers): one that stops without leaving is reported by the
			// registry (MemberGone).
			ctx.Watch(pid)
			r.watched[keyOf(pid)] = msg.GetMemberId()
		}
		r.index[msg.GetMemberId()] = len(r.members)
		m := &roomMember{id: msg.GetMemberId(), pid: pid, nick: msg.GetNick(), away: msg.GetAway(),
			account: msg.GetAccount(), accountID: msg.GetAccountId(), oper: msg.GetOperator(), address: msg.GetAddress(), local: pid.GetAddress() == r.local}
		if msg.GetReclaim() {
			m.lastClientSeq = r.lastPostedBy(m.id) // what it posts again that is here already is dropped
		}
		r.members = append(r.members, m)
		r.rosterJoined(ctx, m)
		if r.announces() && !msg.GetReclaim() {
			r.broadcast(ctx, &messages.MemberJoined{Room: r.name, Nick: msg.GetNick()}, msg.GetMemberId())
		}
	}
	joined := r.members[r.index[msg.GetMemberId()]]
	joined.role = r.roleOf(joined)
	if msg.GetReclaim() {
		// Back in a room rebuilt on a new node: the user saw all this already.
		r.reply(ctx, msg.GetReplyTo(), &messages.RoomJoined{Room: r.name, Topic: r.topic, TopicNick: r.topicNick, TopicUnixMillis: r.topicAt, Role: joined.role,
			MemberCount: uint32(len(r.members)), RoomRef: refOf(ctx.Self()), Reclaim: true})
		r.report(ctx)
		return
	}
	r.reply(ctx, msg.GetReplyTo(), &messages.RoomJoined{Room: r.name, Topic: r.topic, TopicNick: r.topicNick, TopicUnixMillis: r.topicAt, Role: joined.role,
		History: r.latest(r.historyLen), Members: r.newestNicks(msg.GetMemberId(), maxNamesShown),
		MemberCount: uint32(len(r.members)), RoomRef: refOf(ctx.Self()), Roster: r.roster(msg.GetRoster())})
	r.report(ctx)
}

// handleLeave removes a member and tells the others why it left. A leave
// for shutdown is not announced: everyone is being told goodbye.
func (r *room) handleLeave(ctx actor.Context, msg *messages.LeaveRoom) {
	m := r.remove(msg.GetMemberId())
	if m == nil {
		return
	}
	r.rosterLeft(ctx, m)
	if msg.GetReason() == messages.LeaveReason_LEAVE_REASON_PART {
		// It lives on elsewhere; any other leaver is stopping.
		r.unwatch(ctx, m)
		r.reply(ctx, msg.GetReplyTo(), &messages.RoomLeft{Room: r.name})
	}
	left := &messages.MemberLeft{Room: r.name, Nick: m.nick, Reason: msg.GetReason(), Message: msg.GetMessage()}
	switch {
	case !r.announces():
	case msg.GetReason() != messages.LeaveReason_LEAVE_REASON_SHUTDOWN:
		r.broadcast(ctx, left, "")
	case r.cluster:
		// Its node is shutting down, not the others: their members hear it.
		r.broadcastOtherNodes(ctx, left, m.pid.GetAddress())
	}
	r.report(ctx)
}

// unwatch stops watching a member that lives on (a cluster's remote members
// are watched).
func (r *room) unwatch(ctx actor.Context, m *roomMember) {
	if !m.local {
		ctx.Unwatch(m.pid)
	}
}

// handleMemberGone removes a member of this node whose connection stopped
// without leaving (the registry noticed).
func (r *room) handleMemberGone(ctx actor.Context, msg *messages.MemberGone) {
	reason := msg.GetReason()
	if reason == messages.LeaveReason_LEAVE_REASON_UNSPECIFIED || reason == messages.LeaveReason_LEAVE_REASON_PART {
		reason = messages.LeaveReason_LEAVE_REASON_CONNECTION_LOST
	}
	r.handleLeave(ctx, &messages.LeaveRoom{MemberId: msg.GetMemberId(), Reason: reason, Message: msg.GetMessage()})
}

// handleMemberTerminated removes a member on another node whose actor
// stopped without leaving first (in a cluster: mostly, its node died).
func (r *room) handleMemberTerminated(ctx actor.Context, msg *messages.MemberTerminated) {
	m := r.remove(r.watched[keyOf(pidOf(msg.GetWho()))])
	if m == nil {
		return
	}
	if msg.GetNodeLost() && !m.local {
		// Its node left the cluster: every other node's relay announces
		// the loss to its own members; this node's hear it from here.
		r.nodeCount[m.pid.GetAddress()]--
		if r.nodeCount[m.pid.GetAddress()] <= 0 {
			delete(r.nodeCount, m.pid.GetAddress())
		}
		if r.announces() {
			r.broadcastLocal(ctx, &messages.MemberLeft{Room: r.name, Nick: m.nick, Reason: messages.LeaveReason_LEAVE_REASON_SERVER_LOST}, "")
		}
		r.report(ctx)
		return
	}
	r.rosterLeft(ctx, m)
	if r.announces() {
		r.broadcast(ctx, &messages.MemberLeft{Room: r.name, Nick: m.nick, Reason: messages.LeaveReason_LEAVE_REASON_CONNECTION_LOST}, "")
	}
	r.report(ctx)
}

// handlePost delivers a chat line to every other member, or an action to
// every member, and keeps it in the history.
func (r *room) handlePost(ctx actor.Context, msg *messages.PostMessage) {
	i, ok := r.index[msg.GetMemberId()]
	if !ok {
		return // not (or no longer) a member
	}
	m := r.members[i]
	if reason := r.mutedFor(m); reason != "" {
		r.send(ctx, m.pid, &messages.PostRefused{Room: r.name, Reason: reason, ClientSeq: msg.GetClientSeq()})
		return
	}
	if cs := msg.GetClientSeq(); cs != 0 {
		if cs <= m.lastClientSeq {
			return // posted again after a rebuild, but the room had it
		}
		m.lastClientSeq = cs
	}
	r.seq++
	posted := &messages.MessagePosted{
		Room:           r.name,
		Nick:           m.nick,
		SenderMemberId: m.id,
		Text:           msg.GetText(),
		Action:         msg.GetAction(),
		Notice:         msg.GetNotice(),
		UnixMillis:     r.now().UnixMilli(),
		Seq:            r.seq,
		SenderSeq:      msg.GetClientSeq(),
	}
	r.metrics.messagesPosted.Inc()
	r.remember(posted)
	if r.store != nil {
		ctx.Send(r.store, posted)
	}
	if len(r.batch) == 0 {
		r.echoFirst = msg.GetEcho()
	}
	r.batch = append(r.batch, posted)
	if len(r.batch) >= maxBatch {
		r.flushPosts(ctx)
		return
	}
	if !r.flushSent {
		r.flushSent = true
		if r.batchWindow <= 0 {
			// Behind whatever is in the mailbox now: the posts there join
			// this batch.
			ctx.Send(ctx.Self(), &messages.FlushPosts{})
			return
		}
		// After the batch window: posts that come meanwhile join the
		// batch (people in one room often post at nearly the same time).
		system, self := ctx.ActorSystem(), ctx.Self()
		time.AfterFunc(r.batchWindow, func() { system.Root.Send(self, &messages.FlushPosts{}) })
	}
}

// flushPosts sends the posts gathered so far: one alone as itself (a chat
// line to all but its sender, an action to all), several as one PostsBatch
// to every member, whose connection leaves out its own chat lines. A member
// gets the batch only if it was a member for every post in it: joins and
// leaves flush first.
func (r *room) flushPosts(ctx actor.Context) {
	switch len(r.batch) {
	case 0:
		return
	case 1:
		posted := r.batch[0]
		except := posted.GetSenderMemberId()
		if posted.GetAction() || r.cluster || r.echoFirst {
			// In a cluster the sender gets its own line back: that is how
			// it knows the post is here (see connection.post); an IRC
			// client with echo-message wants it anyway.
			except = ""
		}
		r.broadcast(ctx, posted, except)
	default:
		r.broadcast(ctx, &messages.PostsBatch{Room: r.name, Posts: r.batch}, "")
	}
	r.batch = nil
}

// handleRename takes a member's new nick. A muted member's rename is not
// announced (renaming over and over would be a way to speak): only the
// member hears of it.
func (r *room) handleRename(ctx actor.Context, msg *messages.RenameMember) {
	i, ok := r.index[msg.GetMemberId()]
	if !ok {
		return
	}
	m := r.members[i]
	old := m.nick
	m.nick = msg.GetNewNick()
	r.rosterRenamed(ctx, m)
	renamed := &messages.MemberRenamed{Room: r.name, OldNick: old, NewNick: m.nick, MemberId: m.id, RequestId: msg.GetRequestId()}
	if r.mutedFor(m) != "" {
		r.send(ctx, m.pid, renamed)
		return
	}
	r.broadcast(ctx, renamed, "")
}

func (r *room) handleSetTopic(ctx actor.Context, msg *messages.SetTopic) {
	i, ok := r.index[msg.GetMemberId()]
	if !ok {
		return
	}
	if (r.mod.topicLocked || r.name == lobbyName) && !r.isOp(r.members[i]) {
		who := "its ops"
		if r.name == lobbyName {
			who = "the server's operators"
		}
		r.reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_TOPIC, fmt.Sprintf("the topic of %s is locked: only %s may change it", r.name, who))
		return
	}
	if reason := r.mutedFor(r.members[i]); reason != "" {
		r.reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_TOPIC, reason)
		return
	}
	if len(msg.GetTopic()) > maxTopicLen {
		r.reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_TOPIC, fmt.Sprintf("a topic has at most %d bytes (this one has %d)", maxTopicLen, len(msg.GetTopic())))
		return
	}
	changed := &messages.TopicChanged{Room: r.name, Nick: r.members[i].nick, Topic: msg.GetTopic(), UnixMillis: r.now().UnixMilli(),
		MemberId: msg.GetMemberId(), RequestId: msg.GetReplyTo().GetRequestId()}
	r.topic, r.topicNick, r.topicAt = changed.GetTopic(), changed.GetNick(), changed.GetUnixMillis()
	r.broadcast(ctx, changed, "")
	if r.store != nil {
		ctx.Send(r.store, changed)
	}
	r.report(ctx)
}

// announces reports whether joins and leaves are announced: not in a room
// larger than quietSize, where everyone hearing of everyone's arrival would
// cost as much as the chat itself (a lobby of 10000 would send 50 million
// join notices as it fills).
func (r *room) announces() bool {
	return r.quietSize <= 0 || len(r.members) <= r.quietSize
}

// broadcast sends the same message to every member but the one with member
// id except (empty: all): directly to the members on this node, and in a
// cluster once to each other node that has members here, whose relay hands
// it to them.
func (r *room) broadcast(ctx actor.Context, msg messages.RoomEvent, except string) {
	r.broadcastLocal(ctx, msg, except)
	r.broadcastRemote(ctx, msg, except, "")
}

// broadcastOtherNodes sends msg to the members on every node but node.
func (r *room) broadcastOtherNodes(ctx actor.Context, msg messages.RoomEvent, node string) {
	if node != r.local {
		r.broadcastLocal(ctx, msg, "")
	}
	r.broadcastRemote(ctx, msg, "", node)
}

// broadcastRemote sends msg once to the relay of each other node with
// members here (but skip), for all its members but except.
func (r *room) broadcastRemote(ctx actor.Context, msg messages.RoomEvent, except, skip string) {
	if len(r.nodeCount) == 0 {
		return
	}
	payload := r.wrap(msg)
	for node := range r.nodeCount {
		if node != skip {
			r.toRelay(ctx, node, &messages.RelayDelivery{Room: r.name, ExceptMemberId: except, Payload: payload})
		}
	}
}

// broadcastLocal sends msg to every member on this node but except.
func (r *room) broadcastLocal(ctx actor.Context, msg messages.RoomEvent, except string) {
	for _, m := range r.members {
		if m.id != except && m.local {
			ctx.Send(m.pid, msg)
		}
	}
}

// send sends msg to one connection: directly on this node, through its
// node's relay on another (so that it keeps its place among the room's
// broadcasts to that member).
func (r *room) send(ctx actor.Context, pid *actor.PID, msg messages.RoomEvent) {
	if pid.GetAddress() == r.local {
		ctx.Send(pid, msg)
		return
	}
	r.toRelay(ctx, pid.GetAddress(), &messages.RelayDelivery{Room: r.name, Targets: []string{pid.GetId()}, Payload: r.wrap(msg)})
}

// wrap packs a message for a relay.
func (r *room) wrap(msg messages.RoomEvent) *anypb.Any {
	payload, err := anypb.New(msg)
	if err != nil { // every message a room sends is one of ours
		panic(fmt.Sprintf("room %s: %v", r.name, err))
	}
	return payload
}

// reply answers a request's reply_to, as send does.
func (r *room) reply(ctx actor.Context, to *messages.ActorRef, msg messages.RoomEvent) {
	if pid := pidOf(to); pid != nil {
		r.send(ctx, pid, roomAnswerTo(to, msg))
	}
}

// reject answers a request that cannot be done, as send does.
func (r *room) reject(ctx actor.Context, to *messages.ActorRef, req messages.Request, reason string) {
	r.reply(ctx, to, &messages.CommandRejected{Reason: reason, Request: req})
}

// rosterEntry is how the relays know a member.
func rosterEntry(m *roomMember) *messages.RosterEntry {
	return &messages.RosterEntry{MemberId: m.id, Nick: m.nick, Node: m.pid.GetAddress(), ActorId: m.pid.GetId()}
}

// rosterJoined tells the relays of the other nodes of a new member (a node
// that gets its first member here gets the whole roster), before anything
// is broadcast that the member should get.
func (r *room) rosterJoined(ctx actor.Context, m *roomMember) {
	if !r.cluster {
		return
	}
	r.rosterToAll(ctx, m, false)
	if m.local {
		return
	}
	quiet := !r.announces()
	node := m.pid.GetAddress()
	if r.nodeCount[node] == 0 {
		all := make([]*messages.RosterEntry, 0, len(r.members))
		for _, o := range r.members {
			all = append(all, rosterEntry(o))
		}
		r.toRelay(ctx, node, &messages.RosterChanged{Room: r.name, Entries: all, Full: true, Quiet: quiet})
	}
	r.nodeCount[node]++
}

// rosterLeft tells the relays of the other nodes that a member left, before
// the leave is announced (its own node's relay must not hand it the notice).
func (r *room) rosterLeft(ctx actor.Context, m *roomMember) {
	if !r.cluster {
		return
	}
	if !m.local {
		node := m.pid.GetAddress()
		r.nodeCount[node]--
		if r.nodeCount[node] <= 0 {
			delete(r.nodeCount, node)
			r.toRelay(ctx, node, &messages.RosterChanged{Room: r.name, Full: true})
		}
	}
	r.rosterToAll(ctx, m, true)
}

// rosterRenamed tells the relays of the other nodes a member's new nick.
func (r *room) rosterRenamed(ctx actor.Context, m *roomMember) {
	if !r.cluster {
		return
	}
	r.rosterToAll(ctx, m, false)
}

// rosterToAll tells every other node with members here that m joined (or
// was renamed), or left.
func (r *room) rosterToAll(ctx actor.Context, m *roomMember, left bool) {
	entry := []*messages.RosterEntry{rosterEntry(m)}
	quiet := !r.announces()
	for node := range r.nodeCount {
		r.toRelay(ctx, node, &messages.RosterChanged{Room: r.name, Entries: entry, Left: left, Quiet: quiet})
	}
}

// toRelay sends msg to the relay of another node.
func (r *room) toRelay(ctx actor.Context, node string, msg proto.Message) {
	r.metrics.clusterSent.Inc()
	ctx.Send(actor.NewPID(node, relayActorID), msg)
}

// remove takes a member out of the fan-out list in constant time: the last
// member takes its place. The order of the fan-out list does not matter,
// since every member gets the room's messages in the order the room handles
// them whatever the order it sends them in.
func (r *room) remove(id string) *roomMember {
	i, ok := r.index[id]
	if !ok {
		return nil
	}
	m := r.members[i]
	delete(r.index, id)
	delete(r.watched, keyOf(m.pid))
	last := len(r.members) - 1
	if i != last {
		r.members[i] = r.members[last]
		r.index[r.members[i].id] = i
	}
	r.members[last] = nil
	r.members = r.members[:last]
	return m
}

// newestNicks returns the nicks of up to n members, newest first, leaving
// out the member self.
func (r *room) newestNicks(self string, n int) []string {
	out := make([]string, 0, min(n, len(r.members)))
	for i := len(r.members) - 1; i >= 0 && len(out) < n; i-- {
		if m := r.members[i]; m.id != self {
			out = append(out, m.nick)
		}
	}
	return out
}

// report tells the rooms actor how the room stands, so that it can list the
// room and stop it once it is empty.
func (r *room) report(ctx actor.Context) {
	if parent := ctx.Parent(); parent != nil {
		ctx.Send(parent, &messages.RoomUpdated{Room: r.name, Instance: r.instance, Members: uint32(len(r.members)), Topic: r.topic, JoinsSeen: r.joinsSeen})
	}
}

// lastPostedBy returns the highest client_seq among the kept posts of a
// member.
func (r *room) lastPostedBy(member string) uint64 {
	var last uint64
	for _, p := range r.history {
		if p.GetSenderMemberId() == member {
			last = max(last, p.GetSenderSeq())
		}
	}
	return last
}

// remember keeps a post in the ring of the latest historyKeep posts.
func (r *room) remember(m *messages.MessagePosted) {
	if r.historyKeep <= 0 {
		return
	}
	if len(r.history) < r.historyKeep {
		r.history = append(r.history, m)
		return
	}
	r.history[r.historyAt] = m
	r.historyAt = (r.historyAt + 1) % r.historyKeep
}

// latest returns the latest n posts (fewer if the room has fewer), oldest
// first.
func (r *room) latest(n int) []*messages.MessagePosted {
	n = min(n, len(r.history))
	out := make([]*messages.MessagePosted, 0, n)
	// In posting order the ring is history[historyAt:] then
	// history[:historyAt]; the latest n are its last n.
	skip := len(r.history) - n
	for i := range n {
		out = append(out, r.history[(r.historyAt+skip+i)%len(r.history)])
	}
	return out
}

// handleGetHistory answers /history with the latest posts, up to what the
// room keeps.
func (r *room) handleGetHistory(ctx actor.Context, msg *messages.GetHistory) {
	var history []*messages.MessagePosted
	if _, ok := r.index[msg.GetMemberId()]; ok { // only members read it
		history = r.latest(int(msg.GetLimit()))
	}
	r.reply(ctx, msg.GetReplyTo(), &messages.HistoryShown{Room: r.name, History: history})
}

// handleDrain answers the rooms actor at shutdown: every post before this
// message has been handed to the store.
func (r *room) handleDrain(ctx actor.Context) {
	if parent := ctx.Parent(); parent != nil {
		ctx.Send(parent, &messages.RoomDrained{Instance: r.instance})
	}
}

// roster is every member, by nick, with its op flag, when asked (an IRC
// joiner's NAMES); nil otherwise.
func (r *room) roster(asked bool) []*messages.UserInfo {
	if !asked {
		return nil
	}
	list := make([]*messages.UserInfo, 0, len(r.members))
	for _, m := range r.members {
		list = append(list, &messages.UserInfo{Nick: m.nick, Away: m.away, Op: r.isOp(m)})
	}
	list, _ = firstByName(list, (*messages.UserInfo).GetNick, 0)
	return list
}

// handleListMembers answers with the first members (by nick) that match the
// pattern, at most the limit asked for, and how many there are.
func (r *room) handleListMembers(ctx actor.Context, msg *messages.ListMembers) {
	var list []*messages.UserInfo
	for _, m := range r.members {
		if text.MatchPattern(msg.GetPattern(), m.nick) {
			list = append(list, &messages.UserInfo{Nick: m.nick, Away: m.away, Op: r.isOp(m)})
		}
	}
	list, matched := firstByName(list, (*messages.UserInfo).GetNick, msg.GetLimit())
	r.reply(ctx, msg.GetReplyTo(), &messages.MemberList{Room: r.name, Members: list, Total: uint32(len(r.members)), Matched: matched})
}

// handleSetAway records a member's away message for /who.
func (r *room) handleSetAway(msg *messages.SetAway) {
	if i, ok := r.index[msg.GetMemberId()]; ok {
		r.members[i].away = msg.GetMessage()
	}
}
