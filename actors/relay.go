package actors

import (
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/actorchat/actorchat/messages"
)

// maxRelayRooms bounds the rooms a relay keeps; past it the room it heard
// from longest ago is forgotten (its history would come from the store).
const maxRelayRooms = 10000

// relay is a node's end of every room that lives on another node (in a
// cluster, on the coordinator). A room sends it one RelayDelivery per
// message for all of its members on this node, and the relay hands the
// message to each of them in the order it came: so a post costs one message
// per node, not one per member, and every member of a node gets the room's
// messages in the room's order.
//
// Seeing every post, the relay keeps each room's latest history and topic,
// and the room's roster (every member, on every node): when the room's node
// dies, the relay tells this node's members who was lost with it, and hands
// the room, rebuilt on the next coordinator, the history it kept.
//
// Only the messages a room sends its members are delivered; anything else
// in a RelayDelivery is dropped and logged.
type relay struct {
	// Static after construction.
	historyKeep int
	quietSize   int
	logger      *slog.Logger
	metrics     *Metrics

	// Owned by Receive.
	address string // this node's cluster address
	rooms   map[string]*relayRoom
	clock   uint64 // counts deliveries, to find the room heard from longest ago
}

// relayRoom is what a relay keeps of one room.
type relayRoom struct {
	roster    map[string]*messages.RosterEntry // member id -> entry, on every node
	quiet     bool
	history   []*messages.MessagePosted // the latest historyKeep posts, oldest first
	topic     *messages.TopicChanged
	lastHeard uint64
}

func newRelay(historyKeep, quietSize int, logger *slog.Logger, metrics *Metrics) actor.Producer {
	return func() actor.Actor {
		return &relay{historyKeep: historyKeep, quietSize: quietSize, logger: logger, metrics: metrics, rooms: make(map[string]*relayRoom)}
	}
}

func (r *relay) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		r.address = ctx.Self().GetAddress()
	case *actor.Stopping, *actor.Stopped, *actor.Restarting, *actor.Terminated:

	case *messages.RelayDelivery:
		r.handleDelivery(ctx, msg)
	case *messages.RosterChanged:
		r.handleRoster(msg)
	case *messages.RoomSnapshotRequest:
		r.handleSnapshotRequest(ctx, msg)
	case *messages.CoordinatorChanged:
		r.handleNodesLeft(ctx, msg.GetLeft())
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	}
}

// decodeRelayed unpacks a delivery's payload: one of the messages a room
// sends its members (messages.RoomEvent), or an error.
func decodeRelayed(payload *anypb.Any) (messages.RoomEvent, error) {
	m, err := payload.UnmarshalNew()
	if err != nil {
		return nil, err
	}
	event, ok := m.(messages.RoomEvent)
	if r, isReply := m.(*messages.Reply); isReply {
		_, ok = r.Message().(messages.RoomEvent) // a room's answer, as a room answers: never another actor's
	}
	if !ok {
		return nil, fmt.Errorf("%s is not a message a room sends its members", payload.GetTypeUrl())
	}
	return event, nil
}

func (r *relay) handleDelivery(ctx actor.Context, msg *messages.RelayDelivery) {
	r.metrics.clusterReceived.Inc()
	payload, err := decodeRelayed(msg.GetPayload())
	if err != nil {
		r.logger.Warn("relay: dropped a delivery", "room", msg.GetRoom(), "error", err)
		return
	}
	room := r.rooms[msg.GetRoom()]
	if _, first := payload.(*messages.RoomJoined); first || room != nil {
		room = r.room(msg.GetRoom())
	}
	r.remember(room, payload)
	if targets := msg.GetTargets(); len(targets) > 0 {
		for _, id := range targets {
			ctx.Send(actor.NewPID(r.address, id), payload)
		}
		return
	}
	if room == nil {
		return
	}
	for _, e := range room.roster {
		if e.GetNode() == r.address && e.GetMemberId() != msg.GetExceptMemberId() {
			ctx.Send(actor.NewPID(r.address, e.GetActorId()), payload)
		}
	}
}

// room returns the relay's record of a room, making one if needed; nil for
// no room name.
func (r *relay) room(name string) *relayRoom {
	if name == "" {
		return nil
	}
	r.clock++
	room, ok := r.rooms[name]
	if !ok {
		if len(r.rooms) >= maxRelayRooms {
			r.forgetStalest()
		}
		room = &relayRoom{roster: make(map[string]*messages.RosterEntry)}
		r.rooms[name] = room
	}
	room.lastHeard = r.clock
	return room
}

func (r *relay) forgetStalest() {
	var stalest string
	var at uint64
	for name, room := range r.rooms {
		if stalest == "" || room.lastHeard < at {
			stalest, at = name, room.lastHeard
		}
	}
	delete(r.rooms, stalest)
}

// remember keeps what a room's history and topic are made of.
func (r *relay) remember(room *relayRoom, payload proto.Message) {
	if room == nil {
		return
	}
	switch m := payload.(type) {
	case *messages.MessagePosted:
		r.keep(room, m)
	case *messages.PostsBatch:
		for _, p := range m.GetPosts() {
			r.keep(room, p)
		}
	case *messages.TopicChanged:
		room.topic = m
	case *messages.RoomJoined:
		// A node's first member brings the room's recent history with it.
		if len(room.history) == 0 {
			for _, p := range m.GetHistory() {
				r.keep(room, p)
			}
		}
		if room.topic == nil && m.GetTopic() != "" {
			room.topic = &messages.TopicChanged{Room: m.GetRoom(), Topic: m.GetTopic(), Nick: m.GetTopicNick(), UnixMillis: m.GetTopicUnixMillis()}
		}
	}
}

func (r *relay) keep(room *relayRoom, p *messages.MessagePosted) {
	if r.historyKeep <= 0 {
		return
	}
	if n := len(room.history); n > 0 && p.GetSeq() != 0 && p.GetSeq() <= room.history[n-1].GetSeq() {
		return // seen already (a replay)
	}
	if len(room.history) >= r.historyKeep {
		copy(room.history, room.history[1:])
		room.history = room.history[:len(room.history)-1]
	}
	room.history = append(room.history, p)
}

func (r *relay) handleRoster(msg *messages.RosterChanged) {
	if msg.GetFull() && len(msg.GetEntries()) == 0 {
		delete(r.rooms, msg.GetRoom()) // no member left on this node
		return
	}
	room := r.room(msg.GetRoom())
	room.quiet = msg.GetQuiet()
	if msg.GetFull() {
		clear(room.roster)
	}
	for _, e := range msg.GetEntries() {
		if msg.GetLeft() {
			delete(room.roster, e.GetMemberId())
		} else {
			room.roster[e.GetMemberId()] = e
		}
	}
}

func (r *relay) handleSnapshotRequest(ctx actor.Context, msg *messages.RoomSnapshotRequest) {
	snap := &messages.RoomSnapshot{Room: msg.GetRoom(), Node: r.address}
	if room, ok := r.rooms[msg.GetRoom()]; ok {
		snap.History, snap.Topic = room.history, room.topic
		for _, e := range room.roster {
			snap.Roster = append(snap.Roster, e)
		}
	}
	reply(ctx, msg.GetReplyTo(), snap)
}

// handleNodesLeft tells this node's members of every room who was lost with
// the nodes that left, as "left (server lost)" (not in quiet rooms), and
// forgets them.
func (r *relay) handleNodesLeft(ctx actor.Context, left []string) {
	if len(left) == 0 {
		return
	}
	gone := make(map[string]bool, len(left))
	for _, a := range left {
		gone[a] = true
	}
	for name, room := range r.rooms {
		var lost []*messages.RosterEntry
		for id, e := range room.roster {
			if gone[e.GetNode()] {
				lost = append(lost, e)
				delete(room.roster, id)
			}
		}
		if len(lost) == 0 || room.quiet {
			continue
		}
		for _, e := range lost {
			notice := &messages.MemberLeft{Room: name, Nick: e.GetNick(), Reason: messages.LeaveReason_LEAVE_REASON_SERVER_LOST}
			for _, m := range room.roster {
				if m.GetNode() == r.address {
					ctx.Send(actor.NewPID(r.address, m.GetActorId()), notice)
				}
			}
		}
	}
}
