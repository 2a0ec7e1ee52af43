package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

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
	historyLen int
	quietSize  int
	logger     *slog.Logger
	metrics    *Metrics

	// Owned by Receive.
	byName map[string]*roomEntry
	byPID  map[string]*roomEntry // room actor's PID id -> entry
	spawns uint64                // rooms spawned so far, for unique actor names
}

// roomEntry is what the rooms actor knows of one room.
type roomEntry struct {
	name           string
	pid            *actor.PID
	members        uint32
	topic          string
	joinsForwarded uint64
}

// roomsProps returns the props of the rooms actor: a panic in a room resumes
// it, so that it loses none of its members, topic or history.
func roomsProps(historyLen, quietSize int, logger *slog.Logger, metrics *Metrics) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &rooms{
			historyLen: historyLen,
			quietSize:  quietSize,
			logger:     logger,
			metrics:    metrics,
			byName:     make(map[string]*roomEntry),
			byPID:      make(map[string]*roomEntry),
		}
	}, actor.WithSupervisor(panicSupervisor{logger: logger, metrics: metrics, directive: actor.ResumeDirective}))
}

// Receive handles one message.
func (r *rooms) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		r.spawn(ctx, lobbyName)
	case *actor.Stopping, *actor.Stopped, *actor.Restarting:
	case *actor.Terminated:
		r.handleTerminated(msg)

	case *messages.JoinRoom:
		r.handleJoin(ctx, msg)
	case *messages.RoomUpdated:
		r.handleRoomUpdated(ctx, msg)
	case *messages.ListRooms:
		r.handleListRooms(ctx, msg)
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	case *messages.InjectFault:
		injectFault("rooms", msg)
	}
}

// handleJoin forwards a join to its room, spawning the room first if needed.
// The room answers the joiner directly.
func (r *rooms) handleJoin(ctx actor.Context, msg *messages.JoinRoom) {
	name, err := normalizeRoomName(msg.GetRoom())
	if err != nil {
		ctx.Respond(&messages.CommandRejected{Reason: err.Error(), Request: messages.Request_REQUEST_JOIN})
		return
	}
	e, ok := r.byName[name]
	if !ok {
		e = r.spawn(ctx, name)
	}
	e.joinsForwarded++
	if name != msg.GetRoom() {
		msg = &messages.JoinRoom{Room: name, Nick: msg.GetNick(), ConnId: msg.GetConnId(), Away: msg.GetAway()}
	}
	ctx.RequestWithCustomSender(e.pid, msg, ctx.Sender())
}

func (r *rooms) spawn(ctx actor.Context, name string) *roomEntry {
	r.spawns++
	props := actor.PropsFromProducer(newRoom(name, r.historyLen, r.quietSize, r.logger, r.metrics))
	pid, err := ctx.SpawnNamed(props, name+"-"+strconv.FormatUint(r.spawns, 10))
	if err != nil { // cannot happen: the sequence number makes every name unique
		panic(fmt.Sprintf("spawn room %s: %v", name, err))
	}
	ctx.Watch(pid)
	e := &roomEntry{name: name, pid: pid}
	r.byName[name] = e
	r.byPID[pid.Id] = e
	r.metrics.rooms.Inc()
	r.logger.Debug("room created", "room", name)
	return e
}

// handleRoomUpdated records a room's report and stops the room if it is empty,
// is not the lobby, and has no join on its way to it.
func (r *rooms) handleRoomUpdated(ctx actor.Context, msg *messages.RoomUpdated) {
	e, ok := r.byPID[ctx.Sender().GetId()]
	if !ok {
		return
	}
	e.members = msg.GetMembers()
	e.topic = msg.GetTopic()
	if e.members == 0 && e.name != lobbyName && msg.GetJoinsSeen() == e.joinsForwarded {
		r.forget(e)
		ctx.Stop(e.pid)
		r.logger.Debug("room closed", "room", e.name)
	}
}

// handleTerminated forgets a room that stopped for any other reason.
func (r *rooms) handleTerminated(msg *actor.Terminated) {
	if e, ok := r.byPID[msg.GetWho().GetId()]; ok {
		r.forget(e)
	}
}

func (r *rooms) forget(e *roomEntry) {
	if _, ok := r.byPID[e.pid.Id]; ok {
		r.metrics.rooms.Dec()
	}
	delete(r.byPID, e.pid.Id)
	if r.byName[e.name] == e {
		delete(r.byName, e.name)
	}
}

// handleListRooms answers with the first rooms (by name) that match the
// pattern, at most the limit asked for, and how many there are.
func (r *rooms) handleListRooms(ctx actor.Context, msg *messages.ListRooms) {
	var list []*messages.RoomInfo
	for _, e := range r.byName {
		if matchesPattern(msg.GetPattern(), e.name) {
			list = append(list, &messages.RoomInfo{Name: e.name, Members: e.members, Topic: e.topic})
		}
	}
	slices.SortFunc(list, func(a, b *messages.RoomInfo) int { return strings.Compare(a.GetName(), b.GetName()) })
	matched := len(list)
	if limit := int(msg.GetLimit()); limit > 0 && len(list) > limit {
		list = list[:limit]
	}
	ctx.Respond(&messages.RoomList{Rooms: list, Total: uint32(len(r.byName)), Matched: uint32(matched)})
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
