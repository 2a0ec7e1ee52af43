package actors

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/messages"
)

// The rooms a user is in. A user is in several rooms at once, at most
// cfg.MaxRooms; one of them is the current room, where the lines they type
// go, and whose lines (and notices) are shown as they always were. Lines of
// the other rooms are marked with the room: "[dev] <bob> hi".
//
// The lobby is where a user lands: a new user starts there, and a user who
// is in no room any more (they left or were put out of their last one) goes
// back there. A user who is in the lobby alone leaves it when they join
// another room, so that one who only ever uses one room sees /join move them
// there, as before rooms were many; joined beside other rooms, the lobby is
// a room like any.

// membership is one room the user is in, as their connection knows it.
type membership struct {
	name    string
	pid     *actor.PID        // where the room is: the reference its RoomJoined gave (in a cluster, the grain's node)
	role    messages.RoomRole // what we may do there, for /help
	topic   string            // its topic, for /topic
	topicBy string            // who set it and when, for /topic; empty: unknown
}

// roomName is the current room's name; empty: none.
func (c *connection) roomName() string {
	if c.here == nil {
		return ""
	}
	return c.here.name
}

// roomNames lists the rooms we are in, the current one first, then the
// others from the most recently current.
func (c *connection) roomNames() []string {
	names := make([]string, 0, len(c.rooms))
	for i := len(c.rooms) - 1; i >= 0; i-- {
		names = append(names, c.rooms[i].name)
	}
	return names
}

// ours reports whether an event of room is of a room we are in: what a room
// we left sent before it let us go is dropped.
func (c *connection) ours(room string) bool {
	return c.roomNamed(room) != nil
}

// roomNamed is our membership of room; nil if we are not in it.
func (c *connection) roomNamed(room string) *membership {
	for _, m := range c.rooms {
		if m.name == room {
			return m
		}
	}
	return nil
}

// mark is how a line of room is marked: with the room, unless it is the
// current one (see codec).
func (c *connection) mark(room string) string {
	if c.here != nil && room == c.here.name {
		return ""
	}
	return room
}

// roomNotice writes a notice about room, marked with the room unless it is
// the current one.
func (c *connection) roomNotice(ctx actor.Context, room, line string) {
	c.writeLine(ctx, c.codec.AppendRoomNotice(c.scratchBuf(), room, c.mark(room), line))
}

// lobbyOnly reports whether the lobby is the one room we are in: joining
// another leaves it.
func (c *connection) lobbyOnly() bool {
	return len(c.rooms) == 1 && c.ours(lobbyName)
}

// roomCount is how many rooms count against cfg.MaxRooms: the lobby alone
// is left when we join another.
func (c *connection) roomCount() int {
	if c.lobbyOnly() {
		return 0
	}
	return len(c.rooms)
}

// join asks the rooms actor to put us into room; lines wait until it
// answers (roomJoined, or joinFailed).
func (c *connection) join(ctx actor.Context, room string) {
	c.joinTo = room
	c.joining = append(c.joining, room)
	p := c.ask(ctx, c.env.rooms, c.joinRequest(ctx, room, false), "/join "+room, thenRoomJoined)
	p.failed = (*connection).joinFailed
	c.joinID = p.id
}

// land puts us in the lobby: where a new user starts, and where a user in no
// room goes back to.
func (c *connection) land(ctx actor.Context) {
	if c.irc != nil {
		return // an IRC user joins the channels it wants, and may be in none
	}
	c.join(ctx, lobbyName)
}

// joinRequest is our JoinRoom for room: who we are, for the room's rights
// and bans. It goes with us as its sender (ask, and ctx.Request), which the
// room checks against reply_to.
func (c *connection) joinRequest(ctx actor.Context, room string, reclaim bool) *messages.JoinRoom {
	delete(c.unleft, room) // back to a room we left: the leave, if it is lost, is moot
	return &messages.JoinRoom{Room: room, Nick: c.nick, MemberId: c.member, Away: c.away, ReplyTo: refOf(ctx.Self()),
		Account: c.account, AccountId: c.accountID, Operator: c.oper, Address: c.remoteIP(), Reclaim: reclaim, Roster: c.irc != nil}
}

// cmdJoin: /join ROOM. A room we are in becomes the current one; another is
// joined (and becomes the current one once it takes us).
func (c *connection) cmdJoin(ctx actor.Context, args string) {
	name, err := normalizeRoomName(args) // the whole argument, as for /nick
	if err != nil {
		c.sendError(ctx, err.Error())
		return
	}
	if m := c.roomNamed(name); m != nil {
		if m == c.here {
			// The registry is told again: if its UserMoved was lost (a
			// registry that panicked on it and resumed drops it), /users
			// and /whois show the right rooms once the user asks to be here.
			c.tellRooms(ctx)
			c.sendError(ctx, "you are already in "+name)
			return
		}
		c.focus(ctx, m)
		c.sendNotice(ctx, "You are now talking in "+name+".")
		return
	}
	if n := c.roomCount(); n >= c.env.cfg.MaxRooms {
		c.sendError(ctx, fmt.Sprintf("you are in %d %s, the most one user may be in; /part ROOM first", n, plural(n, "room", "rooms")))
		return
	}
	c.join(ctx, name)
}

// cmdFocus: /focus [ROOM]. Alone, it lists our rooms.
func (c *connection) cmdFocus(ctx actor.Context, args string) {
	if args == "" {
		c.listOurRooms(ctx)
		return
	}
	name, err := normalizeRoomName(args)
	if err != nil {
		c.sendError(ctx, err.Error())
		return
	}
	m := c.roomNamed(name)
	switch {
	case m == nil:
		c.sendError(ctx, fmt.Sprintf("you are not in %s; /join %s", name, name))
	case m == c.here:
		c.sendNotice(ctx, "You are talking in "+name+".")
	default:
		c.focus(ctx, m)
		c.sendNotice(ctx, "You are now talking in "+name+".")
	}
}

// listOurRooms says which rooms we are in and which is the current one.
func (c *connection) listOurRooms(ctx actor.Context) {
	names := c.roomNames()
	switch len(names) {
	case 0:
		c.sendNotice(ctx, "You are in no room: /join ROOM")
	case 1:
		c.sendNotice(ctx, "You are in "+names[0]+".")
	default:
		c.sendNotice(ctx, fmt.Sprintf("You are in %d rooms: %s (current), %s. /focus ROOM changes where your lines go.",
			len(names), names[0], strings.Join(names[1:], ", ")))
	}
}

// focus makes m the current room, and tells the registry.
func (c *connection) focus(ctx actor.Context, m *membership) {
	c.here = m
	if i := slices.Index(c.rooms, m); i >= 0 {
		c.rooms = slices.Delete(c.rooms, i, i+1)
	}
	c.rooms = append(c.rooms, m)
	c.tellRooms(ctx)
}

// drop forgets a room we are no longer in (the caller leaves it, or it let
// us go). The most recently current of the others becomes the current room.
// It reports whether m was the current room.
func (c *connection) drop(m *membership) bool {
	c.reclaim.forget(m.name)
	if i := slices.Index(c.rooms, m); i >= 0 {
		c.rooms = slices.Delete(c.rooms, i, i+1)
	}
	if len(c.rooms) == 0 {
		c.rooms = nil
	}
	if c.here != m {
		return false
	}
	c.here = nil
	if n := len(c.rooms); n > 0 {
		c.here = c.rooms[n-1]
	}
	return true
}

// tellRooms tells the registry which rooms we are in, for /users, /whois
// and a cluster's reclaim; and, identified, our account, for our next
// identify (not while our rooms are coming back: then the list would lose
// those still to come).
func (c *connection) tellRooms(ctx actor.Context) {
	ctx.Send(c.env.registry, &messages.UserMoved{MemberId: c.member, Room: c.roomName(), Rooms: c.roomNames()})
	if len(c.rejoin) == 0 {
		c.saveRooms(ctx)
	}
}

// saveRooms has our account keep the rooms we are in (see /rejoin).
func (c *connection) saveRooms(ctx actor.Context) {
	if c.env.accountsOn && c.accountID != "" {
		ctx.Request(c.env.accounts, &messages.SaveAccountRooms{AccountId: c.accountID, Rooms: c.roomNames()})
	}
}

// queueRejoin has the rooms our account was in (the current one first)
// joined again before the lines that wait, the current one last so that it
// is current again. In all of them already, we stay as we are.
func (c *connection) queueRejoin(ctx actor.Context, rooms []string) {
	var queue, fresh []string
	for i := len(rooms) - 1; i >= 0; i-- {
		name, err := normalizeRoomName(rooms[i])
		if err != nil || slices.Contains(queue, name) {
			continue
		}
		queue = append(queue, name)
		if !c.ours(name) {
			fresh = append(fresh, name)
		}
	}
	if len(fresh) == 0 {
		c.saveRooms(ctx)
		return
	}
	c.rejoin = queue
	c.keepLobby = slices.Contains(queue, lobbyName) // it comes back too: not left on the way
	slices.Reverse(fresh)
	c.sendNotice(ctx, fmt.Sprintf("Joining your rooms again: %s. (/rejoin off stops this.)", strings.Join(fresh, ", ")))
}

// rejoinRooms joins the rooms our account was in, one at a time (each join
// holds the input as a typed one does). One we are in already is only made
// current if it was; one that refuses us says why, and the next comes.
func (c *connection) rejoinRooms(ctx actor.Context) {
	if len(c.rejoin) == 0 && c.ready() {
		c.keepLobby = false // the last join has answered
	}
	for len(c.rejoin) > 0 && c.ready() && c.reason == messages.LeaveReason_LEAVE_REASON_UNSPECIFIED {
		room := c.rejoin[0]
		c.rejoin = c.rejoin[1:]
		if len(c.rejoin) == 0 {
			c.rejoin = nil
		}
		if m := c.roomNamed(room); m != nil {
			if c.rejoin == nil {
				c.focus(ctx, m) // the current one, and the list is whole again: saved
			}
			continue
		}
		c.cmdJoin(ctx, room)
	}
}

// cmdRejoin: /rejoin [on|off]
func (c *connection) cmdRejoin(ctx actor.Context, args string) {
	if c.accountsOff(ctx) || c.notIdentified(ctx) {
		return
	}
	on, given, ok := c.onOff(ctx, "rejoin", args)
	if !ok {
		return
	}
	if given {
		c.rejoinOn = on
		ctx.Request(c.env.accounts, &messages.SetRejoin{AccountId: c.accountID, On: on})
	}
	if c.rejoinOn {
		c.sendNotice(ctx, "Your rooms come back when you identify: the rooms you are in when you leave are joined again.")
	} else {
		c.sendNotice(ctx, "Your rooms do not come back when you identify; you stay where you are.")
	}
}

// handleRoomJoinedBare takes a RoomJoined that answers no numbered
// request: a cluster's reclaim.
func (c *connection) handleRoomJoinedBare(ctx actor.Context, msg *messages.RoomJoined) {
	if msg.GetReclaim() {
		c.joinAnswered(msg.GetRoom())
		c.roomReclaimed(ctx, msg)
		return
	}
	c.leaveUnwanted(ctx, msg) // counts the answer itself (or the join it settles does)
}

// leaveUnwanted leaves a room that took us after we gave up on it (the join
// timed out), or answered twice: left, and kept until it confirms, as any
// room we leave; but a second answer of a room we are in is no reason to
// leave it. If we are asking the same room again, the late answer is the
// answer: the room has us (the second is then a second answer).
func (c *connection) leaveUnwanted(ctx actor.Context, msg *messages.RoomJoined) {
	room, pid := msg.GetRoom(), pidOf(msg.GetRoomRef())
	if room == c.joinTo && c.request(c.joinID) != nil {
		c.settle(ctx, c.joinID, msg)
		return
	}
	c.joinAnswered(room)
	if m := c.roomNamed(room); pid != nil && (m == nil || !samePID(pid, m.pid)) {
		c.leaveRoom(ctx, room, pid)
	}
}

// roomJoined enters the room we asked for, which becomes the current one.
func (c *connection) roomJoined(ctx actor.Context, msg *messages.RoomJoined) {
	c.joinAnswered(msg.GetRoom())
	room, pid := msg.GetRoom(), pidOf(msg.GetRoomRef())
	c.joinTo, c.joinID = "", 0
	m := &membership{name: room, pid: pid, role: msg.GetRole(), topic: msg.GetTopic(), topicBy: topicBy(msg.GetTopicNick(), msg.GetTopicUnixMillis())}
	if old := c.roomNamed(room); old != nil {
		c.drop(old)
	}
	if c.lobbyOnly() && room != lobbyName && !c.keepLobby {
		// Our first room beside the lobby: we leave the lobby.
		lobby := c.roomNamed(lobbyName)
		c.drop(lobby)
		c.leaveRoom(ctx, lobbyName, lobby.pid)
	}
	c.focus(ctx, m) // adds it

	c.writeLine(ctx, c.codec.AppendInRoom(c.scratchBuf(), room, msg.GetMembers(), int(msg.GetMemberCount())-1))
	c.writeLine(ctx, c.codec.AppendTopic(c.scratchBuf(), room, m.topic, msg.GetTopicNick(), msg.GetTopicUnixMillis()))
	if c.irc != nil {
		c.ircListNames(ctx, m.name, msg.GetRoster()) // IRC clients learn the members here
	}
	c.writeHistory(ctx, msg.GetHistory())
}

// joinAnswered forgets a join that was answered.
func (c *connection) joinAnswered(room string) {
	if i := slices.Index(c.joining, room); i >= 0 {
		c.joining = slices.Delete(c.joining, i, i+1)
		if len(c.joining) == 0 {
			c.joining = nil
		}
	}
}

// joinFailed: the room we asked to join did not take us (its reason is
// shown), or did not answer in time. Then the room may still take us: it
// stays among the rooms asked, which a late answer leaves, and which are
// told if we stop first. A user in no room goes to the lobby, so that
// nobody is left without a room if the lobby will have them.
func (c *connection) joinFailed(ctx actor.Context, timedOut bool) {
	target := c.joinTo
	c.joinTo, c.joinID = "", 0
	if timedOut {
		switch {
		case c.here != nil:
			c.sendError(ctx, fmt.Sprintf("/join %s failed: the room did not answer in time; you are still in %s, try again later", target, c.here.name))
		case target != lobbyName:
			c.sendError(ctx, fmt.Sprintf("/join %s failed: the room did not answer in time; back to the lobby, try again later", target))
		default:
			c.sendError(ctx, "the lobby did not answer in time; you are in no room: /join lobby to try again")
		}
	} else {
		c.joinAnswered(target)
	}
	switch {
	case c.here != nil: // still where we were
	case target != lobbyName:
		c.land(ctx)
	case !timedOut: // refused by the lobby itself (a ban)
		c.sendNotice(ctx, "You are in no room: /join ROOM")
	}
}

// cmdPart: /part [ROOM] (/leave). Alone, it leaves the current room.
func (c *connection) cmdPart(ctx actor.Context, args string) {
	m := c.here
	if args != "" {
		name, err := normalizeRoomName(args)
		if err != nil {
			c.sendError(ctx, err.Error())
			return
		}
		if m = c.roomNamed(name); m == nil {
			c.sendError(ctx, "you are not in "+name)
			return
		}
	}
	switch {
	case m == nil:
		c.sendError(ctx, "you are in no room; /join ROOM")
		return
	case m.name == lobbyName && len(c.rooms) == 1:
		c.sendError(ctx, "you are already in "+lobbyName) // where one in no other room is
		return
	}
	wasHere := c.drop(m)
	c.leaveRoom(ctx, m.name, m.pid)
	switch {
	case c.here == nil:
		c.land(ctx) // the lobby's greeting says where we are
	case wasHere:
		c.tellRooms(ctx)
		c.sendNotice(ctx, fmt.Sprintf("You left %s; you are now talking in %s.", m.name, c.here.name))
	default:
		c.tellRooms(ctx)
		c.sendNotice(ctx, "You left "+m.name+".")
	}
}

// leaveRoom leaves a room we parted (or moved out of, or gave up joining).
// Nothing waits for its answer, but it is kept until the room confirms
// (RoomLeft): a room that lost the leave (a panic drops the message it was
// handling) is asked once more after the request timeout, and told again if
// we stop before it confirms.
func (c *connection) leaveRoom(ctx actor.Context, room string, pid *actor.PID) {
	c.leaveRoomSaying(ctx, room, pid, "")
}

// leaveRoomSaying is leaveRoom with what the user said on leaving (IRC's
// PART reason), which the room's members read.
func (c *connection) leaveRoomSaying(ctx actor.Context, room string, pid *actor.PID, message string) {
	if c.unleft == nil {
		c.unleft = make(map[string]*actor.PID)
	}
	c.unleft[room] = pid
	ctx.Send(pid, &messages.LeaveRoom{MemberId: c.member, Reason: messages.LeaveReason_LEAVE_REASON_PART, Message: message, ReplyTo: refOf(ctx.Self())})
	system, self := ctx.ActorSystem(), ctx.Self()
	time.AfterFunc(c.env.cfg.RequestTimeout, func() { system.Root.Send(self, &messages.LeaveUnconfirmed{Room: room}) })
}

// handleLeaveUnconfirmed asks a room that has not confirmed our leave once
// more (and forgets it: it will be told again if we stop before then).
func (c *connection) handleLeaveUnconfirmed(ctx actor.Context, msg *messages.LeaveUnconfirmed) {
	pid, ok := c.unleft[msg.GetRoom()]
	if !ok || c.ours(msg.GetRoom()) || slices.Contains(c.joining, msg.GetRoom()) {
		return // we are (or are on our way) back there: the leave must not overtake the join
	}
	ctx.Send(pid, &messages.LeaveRoom{MemberId: c.member, Reason: messages.LeaveReason_LEAVE_REASON_PART, ReplyTo: refOf(ctx.Self())})
}

// handleKicked: a room put us out (a kick, or a ban). It has let us go, so
// there is nothing to leave; a user in no room any more goes back to the
// lobby.
func (c *connection) handleKicked(ctx actor.Context, msg *messages.Kicked) {
	m := c.roomNamed(msg.GetRoom())
	if m == nil {
		return
	}
	c.writeLine(ctx, c.codec.AppendKicked(c.scratchBuf(), msg.GetRoom(), msg.GetBy(), msg.GetReason(), msg.GetBanned()))
	wasHere := c.drop(m)
	switch {
	case c.here != nil:
		c.tellRooms(ctx)
		if wasHere {
			c.sendNotice(ctx, "You are now talking in "+c.here.name+".")
		}
	case c.joinTo != "": // the join under way decides where we land
		c.tellRooms(ctx)
	case m.name == lobbyName:
		c.tellRooms(ctx)
		c.sendNotice(ctx, "You are in no room: /join ROOM")
	case c.waiting():
		// Behind the answer we wait for, before the lines after it.
		c.pending = append([]pendingLine{{text: "/join " + lobbyName}}, c.pending...)
	default:
		c.land(ctx)
	}
}

// toRoom sends msg to our current room. It is the one place that finds the
// room: by the reference its RoomJoined gave (in a cluster, where the
// room's grain lives).
func (c *connection) toRoom(ctx actor.Context, msg any) {
	ctx.Send(c.here.pid, msg)
}

// toEveryRoom sends msg to every room we are in.
func (c *connection) toEveryRoom(ctx actor.Context, msg any) {
	for _, m := range c.rooms {
		ctx.Send(m.pid, msg)
	}
}

// identityToRooms tells our rooms who we are now (account, operator), as
// ourselves: a room takes it only from the member's connection.
func (c *connection) identityToRooms(ctx actor.Context) {
	for _, m := range c.rooms {
		ctx.Request(m.pid, &messages.SetMemberAccount{MemberId: c.member, Account: c.account, AccountId: c.accountID, Operator: c.oper})
	}
}

// renameInRooms tells our rooms our new nick. The current room's notice is
// the answer a /nick waits for (when asked); the others' are not shown to
// us (see handleMemberRenamed).
func (c *connection) renameInRooms(ctx actor.Context, ask bool) {
	rename := &messages.RenameMember{MemberId: c.member, NewNick: c.nick}
	for _, m := range c.rooms {
		if ask && m == c.here {
			continue
		}
		ctx.Send(m.pid, rename)
	}
	if ask && c.here != nil {
		p := c.await(ctx, c.nextID(), "/nick", nil)
		p.failed = func(c *connection, ctx actor.Context, timedOut bool) {
			if timedOut {
				c.sendNotice(ctx, "You are now "+c.nick+".")
			}
		}
		ctx.Request(c.here.pid, &messages.RenameMember{MemberId: c.member, NewNick: c.nick, RequestId: p.id})
	}
}

// handleMemberRenamed shows a rename in one of our rooms. Ours shows once,
// from the current room (every room we are in sends it).
func (c *connection) handleMemberRenamed(ctx actor.Context, msg *messages.MemberRenamed) {
	if !c.ours(msg.GetRoom()) {
		return
	}
	own := msg.GetMemberId() == c.member
	if !own || msg.GetRoom() == c.roomName() {
		c.writeLine(ctx, c.codec.AppendRenamed(c.scratchBuf(), msg.GetRoom(), c.mark(msg.GetRoom()), msg.GetMemberId(), msg.GetOldNick(), msg.GetNewNick()))
	}
	if own && msg.GetRequestId() != 0 {
		c.settle(ctx, msg.GetRequestId(), msg) // what /nick waits for
	}
}

func (c *connection) handleTopicChanged(ctx actor.Context, msg *messages.TopicChanged) {
	m := c.roomNamed(msg.GetRoom())
	if m == nil {
		return
	}
	m.topic, m.topicBy = msg.GetTopic(), topicBy(msg.GetNick(), msg.GetUnixMillis())
	c.writeLine(ctx, c.codec.AppendTopicSet(c.scratchBuf(), m.name, c.mark(m.name), msg.GetNick(), m.topic))
	if msg.GetMemberId() == c.member && msg.GetRequestId() != 0 {
		c.settle(ctx, msg.GetRequestId(), msg) // what /topic TEXT waits for
	}
}

// handleMemberLeft shows a leave from one of our rooms: a part names the
// room; a leave from the server is marked with it unless it is the current
// room.
func (c *connection) handleMemberLeft(ctx actor.Context, msg *messages.MemberLeft) {
	if !c.ours(msg.GetRoom()) {
		return
	}
	mark := "" // a part names its room
	if msg.GetReason() != messages.LeaveReason_LEAVE_REASON_PART {
		mark = c.mark(msg.GetRoom())
	}
	c.writeLine(ctx, c.codec.AppendMemberLeft(c.scratchBuf(), msg, mark))
}

// handleServerNotice shows a notice of the server, or of one of our rooms
// (moderation), marked with the room unless it is the current one.
func (c *connection) handleServerNotice(ctx actor.Context, msg *messages.ServerNotice) {
	switch room := msg.GetRoom(); {
	case room == "" && msg.GetWallBy() != "":
		c.writeLine(ctx, c.codec.AppendWall(c.scratchBuf(), msg.GetWallBy(), msg.GetWallText(), msg.GetText()))
	case room == "" && msg.GetInviteRoom() != "":
		c.writeLine(ctx, c.codec.AppendInvite(c.scratchBuf(), msg.GetInvitedBy(), msg.GetInviteRoom(), msg.GetText()))
	case room == "":
		c.sendNotice(ctx, msg.GetText())
	case c.ours(room) && msg.GetMode() != "":
		c.writeLine(ctx, c.codec.AppendModeChange(c.scratchBuf(), room, c.mark(room), msg.GetText(), msg.GetModeBy(), msg.GetMode(), msg.GetModeTarget()))
	case c.ours(room):
		c.roomNotice(ctx, room, msg.GetText())
	}
}

// handleRoleChanged notes what we may do in one of our rooms now.
func (c *connection) handleRoleChanged(msg *messages.RoleChanged) {
	if m := c.roomNamed(msg.GetRoom()); m != nil {
		m.role = msg.GetRole()
	}
}

// writeHistory writes posts replayed from the room's history, but for those
// of users we ignore.
func (c *connection) writeHistory(ctx actor.Context, history []*messages.MessagePosted) {
	now := time.Now()
	for _, m := range history {
		if _, ignored := c.ignored[m.GetSenderMemberId()]; !ignored {
			c.writeLine(ctx, c.codec.AppendHistory(c.scratchBuf(), m, c.mark(m.GetRoom()), now))
		}
	}
}

// topicBy says who set a topic and when, for /topic: "bob, 2026-11-27
// 07:31Z"; empty when unknown.
func topicBy(nick string, unixMillis int64) string {
	if nick == "" {
		return ""
	}
	if unixMillis == 0 {
		return nick
	}
	return nick + ", " + time.UnixMilli(unixMillis).UTC().Format("2006-01-02 15:04Z")
}

// leaveEveryRoom tells every room we are in, and every room that may still
// take us or has not confirmed our leave, that we are gone: at the end of
// the connection.
func (c *connection) leaveEveryRoom(ctx actor.Context) {
	c.toEveryRoom(ctx, &messages.LeaveRoom{MemberId: c.member, Reason: c.reason, Message: c.quitMsg})
	// Connections are not watched, so the rooms also hear it through the
	// rooms actor: a room that lost the LeaveRoom (a panic drops the
	// message it was handling), and a room whose answer to our join has not
	// come yet, which may take us in meanwhile (this comes behind the join,
	// by the same way). A room we have left ignores it.
	gone := slices.Clone(c.joining)
	for _, m := range c.rooms {
		if !slices.Contains(gone, m.name) {
			gone = append(gone, m.name)
		}
	}
	for room := range c.unleft { // rooms we left that may not have heard it
		if !slices.Contains(gone, room) {
			gone = append(gone, room)
		}
	}
	for _, room := range gone {
		ctx.Send(c.env.rooms, &messages.MemberGone{Room: room, MemberId: c.member, Reason: c.reason, Message: c.quitMsg})
	}
}
