package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/actorchat/internal/text"
	"github.com/actorchat/actorchat/messages"
)

// lobbyName is the room every connection starts in; it never stops.
const lobbyName = "lobby"

// maxRoomNameLen is the longest room name, without its optional leading '#'.
const maxRoomNameLen = 32

// rooms spawns room actors on first use, routes joins to them, keeps the list
// of rooms for /rooms, and stops a room (other than the lobby) once its last
// member has left. It supervises its rooms with Resume, so a panic in a room
// loses none of its members.
//
// Stopping an empty room must not race a join on its way to it. Every join
// goes through this actor, which counts the joins it forwarded to each room;
// each room reports how many joins it has handled. An empty room is stopped
// only when the two counts agree, and a room's actor name carries a sequence
// number, so a new room of the same name never collides with one still
// stopping.
type rooms struct {
	// Static after construction.
	set        roomSettings
	logger     *slog.Logger
	metrics    *Metrics
	middleware []actor.ReceiverMiddleware // for the rooms it spawns (tests only)

	// Owned by Receive.
	byName     map[string]*roomEntry
	byInstance map[uint64]*roomEntry // a room's instance number -> entry
	byPID      map[pidKey]*roomEntry // the key of a room actor -> entry, for Terminated
	spawns     uint64                // rooms spawned so far: instance numbers, and unique actor names
	drain      *roomsDrain           // a shutdown's DrainRooms in progress; nil: none
	nodes      []string              // in a cluster, the nodes a new room asks for what their relays kept
}

// roomsDrain is a DrainRooms waiting for its rooms.
type roomsDrain struct {
	replyTo *messages.ActorRef
	waiting map[uint64]bool // instances that have not answered DrainRoom
}

// roomEntry is what the rooms actor knows of one room.
type roomEntry struct {
	name           string
	instance       uint64
	pid            *actor.PID
	members        uint32
	topic          string
	joinsForwarded uint64
}

// roomsProps returns the props of the rooms actor: a panic in a room resumes
// it, so that it loses none of its members, topic or history.
func roomsProps(set roomSettings, middleware []actor.ReceiverMiddleware) *actor.Props {
	logger, metrics := set.logger, set.metrics
	return props(func() actor.Actor {
		return &rooms{
			set:        set,
			logger:     logger,
			metrics:    metrics,
			middleware: middleware,
			byName:     make(map[string]*roomEntry),
			byInstance: make(map[uint64]*roomEntry),
			byPID:      make(map[pidKey]*roomEntry),
		}
	}, middleware, actor.WithSupervisor(panicSupervisor{logger: logger, metrics: metrics, directive: actor.ResumeDirective}))
}

func (r *rooms) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		if !r.set.cluster {
			// In a cluster the lobby is made on its first join, on the
			// coordinator, so that it asks the other nodes for its history.
			r.spawn(ctx, lobbyName)
		}
	case *actor.Stopping, *actor.Stopped, *actor.Restarting:
	case *actor.Terminated:
		r.handleTerminated(ctx, msg)

	case *messages.JoinRoom:
		r.handleJoin(ctx, msg)
	case *messages.Moderate:
		r.handleModerate(ctx, msg)
	case *messages.MemberGone:
		if name, err := normalizeRoomName(msg.GetRoom()); err == nil {
			if e, ok := r.byName[name]; ok {
				ctx.Send(e.pid, msg)
			}
		}
	case *messages.RoomUpdated:
		r.handleRoomUpdated(ctx, msg)
	case *messages.ListRooms:
		r.handleListRooms(ctx, msg)
	case *messages.CoordinatorChanged:
		r.nodes = msg.GetNodes()
		for _, e := range r.byName {
			ctx.Send(e.pid, msg) // a room being rebuilt stops waiting for nodes that left
		}
	case *messages.ForgetAccount:
		for _, e := range r.byName {
			ctx.Send(e.pid, msg)
		}
	case *messages.DrainRooms:
		r.handleDrainRooms(ctx, msg)
	case *messages.RoomDrained:
		r.drained(ctx, msg.GetInstance())
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	}
}

// handleJoin forwards a join to its room, spawning the room first if needed.
// The room answers the joiner directly.
func (r *rooms) handleJoin(ctx actor.Context, msg *messages.JoinRoom) {
	name, err := normalizeRoomName(msg.GetRoom())
	if err != nil {
		reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_JOIN, err.Error())
		return
	}
	e, ok := r.byName[name]
	if !ok {
		e = r.spawn(ctx, name)
	}
	e.joinsForwarded++
	if name != msg.GetRoom() {
		msg = proto.CloneOf(msg)
		msg.Room = name
	}
	// With its sender: the room takes a join only from the joiner.
	ctx.RequestWithCustomSender(e.pid, msg, ctx.Sender())
}

// handleModerate forwards a moderation command for a room its sender is not
// in (/unban ROOM TARGET, /bans ROOM) to the room, opening the room (which
// loads its rules) if it is closed; a room opened for it closes again once
// it has answered.
func (r *rooms) handleModerate(ctx actor.Context, msg *messages.Moderate) {
	name, err := normalizeRoomName(msg.GetRoom())
	if err != nil {
		reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_MODERATE, err.Error())
		return
	}
	e, ok := r.byName[name]
	if !ok {
		e = r.spawn(ctx, name)
	}
	ctx.RequestWithCustomSender(e.pid, msg, ctx.Sender())
}

func (r *rooms) spawn(ctx actor.Context, name string) *roomEntry {
	r.spawns++
	p := props(newRoom(name, r.spawns, r.set, r.nodes), r.middleware)
	pid, err := ctx.SpawnNamed(p, name+"-"+strconv.FormatUint(r.spawns, 10))
	if err != nil { // cannot happen: the sequence number makes every name unique
		panic(fmt.Sprintf("spawn room %s: %v", name, err))
	}
	ctx.Watch(pid)
	e := &roomEntry{name: name, instance: r.spawns, pid: pid}
	r.byName[name] = e
	r.byInstance[e.instance] = e
	r.byPID[keyOf(pid)] = e
	r.metrics.rooms.Inc()
	r.logger.Debug("room created", "room", name)
	return e
}

// handleRoomUpdated records a room's report and stops the room if it is empty,
// is not the lobby, and has no join on its way to it.
func (r *rooms) handleRoomUpdated(ctx actor.Context, msg *messages.RoomUpdated) {
	e, ok := r.byInstance[msg.GetInstance()]
	if !ok {
		return
	}
	e.members = msg.GetMembers()
	e.topic = msg.GetTopic()
	if e.members == 0 && e.name != lobbyName && msg.GetJoinsSeen() == e.joinsForwarded {
		r.forget(ctx, e)
		ctx.Stop(e.pid)
		r.logger.Debug("room closed", "room", e.name)
	}
}

// handleTerminated forgets a room that stopped for any other reason.
func (r *rooms) handleTerminated(ctx actor.Context, msg *actor.Terminated) {
	if e, ok := r.byPID[keyOf(msg.GetWho())]; ok {
		r.forget(ctx, e)
	}
}

func (r *rooms) forget(ctx actor.Context, e *roomEntry) {
	if _, ok := r.byInstance[e.instance]; ok {
		r.metrics.rooms.Dec()
	}
	defer r.drained(ctx, e.instance) // a room that stopped has nothing more to hand over
	delete(r.byInstance, e.instance)
	delete(r.byPID, keyOf(e.pid))
	if r.byName[e.name] == e {
		delete(r.byName, e.name)
	}
}

// handleDrainRooms asks every room to answer once it has handed the store
// every post in its mailbox; then the store is asked to write everything,
// and answers the request. It is sent at shutdown, after every connection has
// stopped, so no post comes after it.
func (r *rooms) handleDrainRooms(ctx actor.Context, msg *messages.DrainRooms) {
	r.drain = &roomsDrain{replyTo: msg.GetReplyTo(), waiting: make(map[uint64]bool, len(r.byInstance))}
	for _, e := range r.byInstance {
		r.drain.waiting[e.instance] = true
		ctx.Send(e.pid, &messages.DrainRoom{})
	}
	r.drained(ctx, 0)
}

// drained notes that a room has handed over everything (or stopped), and
// when every room has, asks the store to write it all.
func (r *rooms) drained(ctx actor.Context, instance uint64) {
	if r.drain == nil {
		return
	}
	delete(r.drain.waiting, instance)
	if len(r.drain.waiting) > 0 {
		return
	}
	if r.set.store != nil {
		ctx.Send(r.set.store, &messages.FlushStore{ReplyTo: r.drain.replyTo})
	} else {
		reply(ctx, r.drain.replyTo, &messages.StoreFlushed{})
	}
	r.drain = nil
}

// handleListRooms answers with the first rooms (by name) that match the
// pattern, at most the limit asked for, and how many there are.
func (r *rooms) handleListRooms(ctx actor.Context, msg *messages.ListRooms) {
	var list []*messages.RoomInfo
	for _, e := range r.byName {
		if text.MatchPattern(msg.GetPattern(), e.name) {
			list = append(list, &messages.RoomInfo{Name: e.name, Members: e.members, Topic: e.topic})
		}
	}
	list, matched := firstByName(list, (*messages.RoomInfo).GetName, msg.GetLimit())
	reply(ctx, msg.GetReplyTo(), &messages.RoomList{Rooms: list, Total: uint32(len(r.byName)), Matched: matched})
}

// normalizeRoomName accepts "#name" or "name", in any case, and returns the
// room's canonical name: 1 to 32 lower-case letters, digits, '_' or '-'.
func normalizeRoomName(s string) (string, error) {
	name := strings.ToLower(strings.TrimPrefix(s, "#"))
	if name == "" || len(name) > maxRoomNameLen {
		return "", fmt.Errorf("a room name has 1 to %d characters", maxRoomNameLen)
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "", errors.New("a room name may only use letters, digits, _ and - (and a leading #)")
		}
	}
	return name, nil
}
