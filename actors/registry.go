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

// maxNickLen is the longest nickname, in bytes (nicks are ASCII).
const maxNickLen = 20

// registry owns nicknames: it gives every new connection a unique guest nick,
// renames users, finds users by nick for private messages, and knows who is
// online and in which room. It watches every registered connection and forgets
// it when its actor stops, which frees the nick.
//
// Nicks are unique case-insensitively; "guest" followed by digits is reserved
// for the guest nicks the registry hands out.
type registry struct {
	logger  *slog.Logger
	metrics *Metrics

	// Owned by Receive.
	byNick    map[string]*registeredUser // lower-case nick -> user
	byPID     map[string]*registeredUser // connection actor's PID id -> user
	byConn    map[uint64]*registeredUser // connection id -> user
	lastGuest uint64                     // number of the last guest nick handed out
}

// registeredUser is the registry's record of one connection.
type registeredUser struct {
	nick   string
	pid    *actor.PID
	connID uint64
	room   string
	away   string // away message; empty: not away
}

func newRegistry(logger *slog.Logger, metrics *Metrics) actor.Producer {
	return func() actor.Actor {
		return &registry{
			logger:  logger,
			metrics: metrics,
			byNick:  make(map[string]*registeredUser),
			byPID:   make(map[string]*registeredUser),
			byConn:  make(map[uint64]*registeredUser),
		}
	}
}

// Receive handles one message.
func (r *registry) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	case *actor.Terminated:
		r.forget(msg.GetWho())
	case *messages.UnregisterConnection:
		if sender := ctx.Sender(); sender != nil {
			ctx.Unwatch(sender)
			r.forget(sender)
		}

	case *messages.RegisterConnection:
		r.handleRegister(ctx, msg)
	case *messages.SetNick:
		r.handleSetNick(ctx, msg)
	case *messages.UserMoved:
		r.handleUserMoved(ctx, msg)
	case *messages.SendPrivateMessage:
		r.handlePrivateMessage(ctx, msg)
	case *messages.ResolveNick:
		r.handleResolveNick(ctx, msg)
	case *messages.ListUsers:
		r.handleListUsers(ctx, msg)
	case *messages.SetAway:
		r.handleSetAway(ctx, msg)
	case *messages.WhoisUser:
		r.handleWhois(ctx, msg)
	case *messages.DescribeConnections:
		r.handleDescribeConnections(ctx, msg)
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	case *messages.InjectFault:
		injectFault("registry", msg)
	}
}

// handleRegister gives a new connection its guest nick and watches it.
func (r *registry) handleRegister(ctx actor.Context, msg *messages.RegisterConnection) {
	sender := ctx.Sender()
	if sender == nil {
		return
	}
	if u, ok := r.byPID[sender.Id]; ok { // a repeated request gets the same answer
		ctx.Respond(&messages.ConnectionRegistered{Nick: u.nick})
		return
	}
	nick := r.nextGuestNick()
	u := &registeredUser{nick: nick, pid: sender, connID: msg.GetConnId()}
	r.byNick[strings.ToLower(nick)] = u
	r.byPID[sender.Id] = u
	r.byConn[u.connID] = u
	r.metrics.nicks.Set(float64(len(r.byPID)))
	ctx.Watch(sender)
	ctx.Respond(&messages.ConnectionRegistered{Nick: nick})
}

func (r *registry) nextGuestNick() string {
	for {
		r.lastGuest++
		nick := "guest" + strconv.FormatUint(r.lastGuest, 10)
		if _, taken := r.byNick[nick]; !taken {
			return nick
		}
	}
}

// forget drops a connection that is stopping or stopped, freeing its nick.
func (r *registry) forget(pid *actor.PID) {
	u, ok := r.byPID[pid.GetId()]
	if !ok {
		return
	}
	delete(r.byPID, u.pid.Id)
	delete(r.byNick, strings.ToLower(u.nick))
	delete(r.byConn, u.connID)
	r.metrics.nicks.Set(float64(len(r.byPID)))
}

// handleSetNick renames the sender if the nick is valid and free.
func (r *registry) handleSetNick(ctx actor.Context, msg *messages.SetNick) {
	reject := func(reason string) {
		ctx.Respond(&messages.CommandRejected{Reason: reason, Request: messages.Request_REQUEST_NICK})
	}
	u, ok := r.byPID[ctx.Sender().GetId()]
	if !ok {
		reject("you are not registered yet")
		return
	}
	nick := msg.GetNick()
	if err := validateNick(nick); err != nil {
		reject(err.Error())
		return
	}
	key := strings.ToLower(nick)
	if holder, taken := r.byNick[key]; taken && holder != u {
		reject(fmt.Sprintf("nick %s is taken", nick))
		return
	}
	if nick == u.nick {
		reject(fmt.Sprintf("you are already %s", nick))
		return
	}
	old := u.nick
	delete(r.byNick, strings.ToLower(old))
	u.nick = nick
	r.byNick[key] = u
	r.logger.Info("nick changed", "conn", u.connID, "old", old, "nick", nick)
	ctx.Respond(&messages.NickChanged{OldNick: old, NewNick: nick})
}

func (r *registry) handleUserMoved(ctx actor.Context, msg *messages.UserMoved) {
	if u, ok := r.byPID[ctx.Sender().GetId()]; ok {
		u.room = msg.GetRoom()
	}
}

// handlePrivateMessage delivers text to one user and confirms it to the sender.
func (r *registry) handlePrivateMessage(ctx actor.Context, msg *messages.SendPrivateMessage) {
	from, ok := r.byPID[ctx.Sender().GetId()]
	if !ok {
		ctx.Respond(&messages.CommandRejected{Reason: "you are not registered yet", Request: messages.Request_REQUEST_MSG})
		return
	}
	to := r.lookup(msg.GetToNick(), msg.GetToConnId())
	if to == nil {
		ctx.Respond(&messages.CommandRejected{Reason: fmt.Sprintf("no such nick: %s", msg.GetToNick()), Request: messages.Request_REQUEST_MSG})
		return
	}
	ctx.Send(to.pid, &messages.PrivateMessageReceived{FromNick: from.nick, FromConnId: from.connID, Text: msg.GetText()})
	ctx.Respond(&messages.PrivateMessageSent{ToNick: to.nick, Text: msg.GetText(), Away: to.away})
}

// lookup finds a user by connection id when one is given, else by nick.
func (r *registry) lookup(nick string, connID uint64) *registeredUser {
	if connID != 0 {
		return r.byConn[connID]
	}
	return r.byNick[strings.ToLower(nick)]
}

func (r *registry) handleResolveNick(ctx actor.Context, msg *messages.ResolveNick) {
	u := r.lookup(msg.GetNick(), 0)
	if u == nil {
		ctx.Respond(&messages.CommandRejected{Reason: fmt.Sprintf("no such nick: %s", msg.GetNick()), Request: messages.Request_REQUEST_RESOLVE})
		return
	}
	ctx.Respond(&messages.NickResolved{Nick: u.nick, ConnId: u.connID})
}

// handleListUsers answers with the first users (by nick) that match the
// pattern, at most the limit asked for, and how many there are.
func (r *registry) handleListUsers(ctx actor.Context, msg *messages.ListUsers) {
	var users []*messages.UserInfo
	for _, u := range r.byPID {
		if matchesPattern(msg.GetPattern(), u.nick) {
			users = append(users, &messages.UserInfo{Nick: u.nick, Room: u.room, Away: u.away})
		}
	}
	slices.SortFunc(users, func(a, b *messages.UserInfo) int {
		return strings.Compare(strings.ToLower(a.GetNick()), strings.ToLower(b.GetNick()))
	})
	matched := len(users)
	if limit := int(msg.GetLimit()); limit > 0 && len(users) > limit {
		users = users[:limit]
	}
	ctx.Respond(&messages.UserList{Users: users, Total: uint32(len(r.byPID)), Matched: uint32(matched)})
}

// handleSetAway marks the sender away (or back, with no message).
func (r *registry) handleSetAway(ctx actor.Context, msg *messages.SetAway) {
	u, ok := r.byPID[ctx.Sender().GetId()]
	if !ok {
		ctx.Respond(&messages.CommandRejected{Reason: "you are not registered yet", Request: messages.Request_REQUEST_AWAY})
		return
	}
	u.away = msg.GetMessage()
	ctx.Respond(&messages.AwaySet{Message: u.away})
}

// handleWhois hands the question to the user's own connection, which knows
// how long its user has been idle; it answers the asker directly.
func (r *registry) handleWhois(ctx actor.Context, msg *messages.WhoisUser) {
	u := r.lookup(msg.GetNick(), 0)
	if u == nil {
		ctx.Respond(&messages.CommandRejected{Reason: fmt.Sprintf("no such nick: %s", msg.GetNick()), Request: messages.Request_REQUEST_WHOIS})
		return
	}
	ctx.RequestWithCustomSender(u.pid, &messages.DescribeUser{}, ctx.Sender())
}

// handleDescribeConnections answers with the current nick of each
// connection that is still online.
func (r *registry) handleDescribeConnections(ctx actor.Context, msg *messages.DescribeConnections) {
	var users []*messages.NickResolved
	for _, id := range msg.GetConnIds() {
		if u, ok := r.byConn[id]; ok {
			users = append(users, &messages.NickResolved{Nick: u.nick, ConnId: id})
		}
	}
	ctx.Respond(&messages.ConnectionsDescribed{Users: users})
}

// validateNick checks the rules for a nick a user picks.
func validateNick(nick string) error {
	if nick == "" || len(nick) > maxNickLen {
		return fmt.Errorf("a nick has 1 to %d characters", maxNickLen)
	}
	for _, c := range []byte(nick) {
		if !isNickByte(c) {
			return errors.New("a nick may only use letters, digits and the characters . _ -")
		}
	}
	if isGuestNick(nick) {
		return fmt.Errorf("nicks like %s are reserved for guests", nick)
	}
	return nil
}

func isNickByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// isGuestNick reports whether nick is "guest" followed by one or more digits,
// in any case.
func isGuestNick(nick string) bool {
	if len(nick) <= len("guest") || !strings.EqualFold(nick[:len("guest")], "guest") {
		return false
	}
	for _, c := range []byte(nick[len("guest"):]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
