package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/messages"
)

// In a cluster, a connection takes its nick and its rooms back at a new
// coordinator when the node that held them left (or an older node joined),
// and posts again what a rebuilt room may not have seen. None of this runs
// on a single node.

// reclaimState is what a connection waits for while it takes its place
// back. Input waits meanwhile (see ready), so that nothing is posted to a
// room that is gone.
type reclaimState struct {
	nick  bool            // our RegisterConnection{reclaim} is unanswered
	rooms map[string]bool // rooms whose JoinRoom{reclaim} is unanswered
	timer *time.Timer     // sends ReclaimTimedOut
	// Our posts each room has not echoed yet, oldest first, by room, to
	// post again at a rebuilt room. client_seq numbers every post of the
	// connection, in whichever room, so each room keeps its own. Kept here,
	// not in the membership, so that a single node's memberships do not
	// carry it.
	unacked map[string][]*messages.PostMessage
}

// forget drops the posts kept for a room we are no longer in.
func (r *reclaimState) forget(room string) { delete(r.unacked, room) }

// busy reports whether a reclaim is under way.
func (r *reclaimState) busy() bool { return r.nick || len(r.rooms) > 0 }

// stop stops the reclaim's timer.
func (r *reclaimState) stop() {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}

// maxUnacked bounds the posts a connection keeps until their room echoes
// them; past it the oldest is given up.
const maxUnacked = 256

// numbered gives a post to room m its client_seq; in a cluster it is kept
// until the room echoes it.
func (c *connection) numbered(m *membership, p *messages.PostMessage) *messages.PostMessage {
	p.ClientSeq = c.nextID()
	if c.env.cfg.Clustered {
		if c.reclaim.unacked == nil {
			c.reclaim.unacked = make(map[string][]*messages.PostMessage)
		}
		kept := c.reclaim.unacked[m.name]
		if len(kept) >= maxUnacked {
			kept = kept[1:]
		}
		c.reclaim.unacked[m.name] = append(kept, p)
	}
	return p
}

// acked forgets our posts to room up to client_seq seq: the room has them.
func (c *connection) acked(room string, seq uint64) {
	kept := c.reclaim.unacked[room]
	if len(kept) == 0 {
		return
	}
	i := 0
	for i < len(kept) && kept[i].GetClientSeq() <= seq {
		i++
	}
	switch {
	case i == len(kept):
		delete(c.reclaim.unacked, room)
	case i > 0:
		c.reclaim.unacked[room] = kept[i:]
	}
}

// handleReclaim takes our nick and rooms back at a new coordinator.
func (c *connection) handleReclaim(ctx actor.Context) {
	if c.reason != messages.LeaveReason_LEAVE_REASON_UNSPECIFIED {
		return
	}
	c.reclaim.nick = true
	ctx.Send(c.env.registry, &messages.RegisterConnection{MemberId: c.member, ReplyTo: refOf(ctx.Self()), Address: c.remoteIP(),
		Reclaim: true, Nick: c.nick, Account: c.account, AccountId: c.accountID, Operator: c.oper, Away: c.away,
		Room: c.roomName(), Rooms: c.roomNames(), Username: c.ircUser(), Realname: c.ircReal()})
	for _, m := range c.rooms {
		if c.reclaim.rooms == nil {
			c.reclaim.rooms = make(map[string]bool)
		}
		c.reclaim.rooms[m.name] = true
		ctx.Request(c.env.rooms, c.joinRequest(ctx, m.name, true))
	}
	if c.joinTo != "" && c.request(c.joinID) != nil {
		// The join may have gone to the node that is gone: ask again where
		// the rooms are now, as the same request (a second answer is left
		// at once).
		again := c.joinRequest(ctx, c.joinTo, false)
		again.ReplyTo = requestRef(ctx.Self(), c.joinID)
		ctx.Request(c.env.rooms, again)
	}
	c.reclaim.stop()
	system, self := ctx.ActorSystem(), ctx.Self()
	c.reclaim.timer = time.AfterFunc(c.env.cfg.RequestTimeout, func() { system.Root.Send(self, &messages.ReclaimTimedOut{}) })
}

// nickReclaimed: the new coordinator has our nick, or gave us another one
// because someone else claimed ours first.
func (c *connection) nickReclaimed(ctx actor.Context, nick string) {
	c.reclaim.nick = false
	if c.nick != "" && nick != c.nick {
		old := c.nick
		c.setNick(nick)
		c.sendError(ctx, fmt.Sprintf("your nick %s was taken on another server while the servers reorganized; you are now %s", old, nick))
	}
	c.reclaimDone(ctx)
}

// roomReclaimed: one of our rooms lives on the new coordinator now. A room
// we are not in (we left it meanwhile) is left again.
func (c *connection) roomReclaimed(ctx actor.Context, msg *messages.RoomJoined) {
	m := c.roomNamed(msg.GetRoom())
	if m == nil {
		if pid := pidOf(msg.GetRoomRef()); pid != nil {
			ctx.Send(pid, &messages.LeaveRoom{MemberId: c.member, Reason: messages.LeaveReason_LEAVE_REASON_PART})
		}
		if c.reclaim.rooms[msg.GetRoom()] { // we were kicked meanwhile: this answer is the one awaited
			delete(c.reclaim.rooms, msg.GetRoom())
			c.reclaimDone(ctx)
		}
		return
	}
	if !c.reclaim.rooms[m.name] {
		return
	}
	delete(c.reclaim.rooms, m.name)
	m.pid = pidOf(msg.GetRoomRef())
	m.role = msg.GetRole()
	// What the old room did not echo may never have reached anyone: post it
	// again (the new room drops what it saw, by client_seq).
	for _, p := range c.reclaim.unacked[m.name] {
		ctx.Send(m.pid, p)
	}
	c.reclaimDone(ctx)
}

func (c *connection) reclaimDone(ctx actor.Context) {
	if c.reclaim.busy() {
		return
	}
	c.reclaim.stop()
	c.flushPending(ctx)
}

// handleReclaimTimedOut: the new coordinator did not answer. The rooms that
// did not come back are left; a user in none goes back to the lobby.
func (c *connection) handleReclaimTimedOut(ctx actor.Context) {
	if !c.reclaim.busy() {
		return
	}
	c.env.metrics.requestTimeouts.Inc()
	c.logger.Warn("cluster: reclaim not answered in time", "conn", c.id, "nick", c.nick, "nick_waited", c.reclaim.nick, "rooms_waited", len(c.reclaim.rooms))
	c.reclaim.nick = false
	for name := range c.reclaim.rooms {
		if m := c.roomNamed(name); m != nil {
			c.drop(m)
			c.sendError(ctx, fmt.Sprintf("the servers reorganized and %s did not come back in time; you are no longer in it", name))
		}
	}
	c.reclaim.rooms = nil
	c.reclaim.timer = nil
	c.tellRooms(ctx)
	if c.here == nil && c.joinTo == "" {
		c.land(ctx)
		return
	}
	c.flushPending(ctx)
}
