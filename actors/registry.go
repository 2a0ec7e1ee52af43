package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/mtibben/confusables"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/internal/text"
	"github.com/actorchat/actorchat/messages"
)

// maxNickLen is the longest nickname, in bytes (nicks are ASCII).
const maxNickLen = 20

// registry owns nicknames: it gives every new connection a unique guest nick,
// renames users, finds users by nick for private messages, and knows who is
// online and in which room. It forgets a connection when its actor stops,
// which frees the nick: the connection says goodbye (UnregisterConnection);
// one that could not is reported by this node's connections actor
// (ConnectionGone); one on another node is watched, for when its node dies.
//
// Users are keyed by member id, which every request names; the registry never
// takes the transport's sender as proof of who asks. Answers go to the
// request's reply_to.
//
// Nicks are unique case-insensitively; "guest" followed by digits is reserved
// for the guest nicks the registry hands out. A registered nick may only be
// used by whoever is identified as its account, and neither may a nick that
// looks like it (aIice, a1ice for alice: see skeletons).
//
// Who is identified as what, and who is a server operator, is only ever
// changed by a message from an accounts actor (see authority.go).
type registry struct {
	// Static after construction.
	logger     *slog.Logger
	metrics    *Metrics
	admins     *Admins    // server operators
	klines     *klines    // shared with the accept loops; only the registry changes it
	klineRules KlineRules // how wide a k-line may be
	store      *actor.PID // keeps the k-lines; nil: no store
	accountsID string     // the actor id of the accounts actors, whose word on accounts counts
	registryID string     // the actor id of the registries of every node, whose word on k-lines counts

	// Owned by Receive.
	byNick    map[string]*registeredUser // lower-case nick -> user
	byMember  map[string]*registeredUser // member id -> user
	byPID     map[pidKey]*registeredUser // the key of a connection on another node -> user, for Terminated (its node died)
	lastGuest uint64                     // number of the last guest nick handed out
	accounts  map[string]string          // registered nicks, case-folded -> account id: only who is identified as it may use it
	skeletons map[string]string          // the skeletons of registered nicks -> the nick, case-folded
	departed  []departed                 // who left a nick lately, for WHOWAS: a ring of at most maxWhowas
	nextGone  int                        // where the next one goes in departed

	// Owned by Receive, in a cluster: after this node became the
	// coordinator, it holds every request that could hand out a nick until
	// each node's users have reclaimed theirs (see BecomeCoordinator).
	settleTime  time.Duration
	settling    bool
	settleEpoch uint64
	expected    map[string]int // node -> reclaims it announced
	reclaimed   map[string]int // node -> reclaims received
	waiting     map[string]bool
	held        []heldMessage
	nodes       []string // the cluster's members, by address
}

// maxRegistryHeld bounds the requests held while settling; past it they are
// dropped (their connections give up after the request timeout).
const maxRegistryHeld = 100000

// registeredUser is the registry's record of one connection.
type registeredUser struct {
	nick      string
	memberID  string
	pid       *actor.PID // the connection actor
	rooms     []string   // the rooms the user is in, the current one first
	away      string     // away message; empty: not away
	account   string     // the account the user is identified as, case-folded; empty: none
	accountID string     // its id
	oper      string     // the server operator token the user proved; empty: none
	address   string     // the client's IP address
	ident     *userIdent // what an IRC client said in USER; nil: a line-protocol user
}

// userIdent is IRC's user name and real name of a user, for WHO.
type userIdent struct{ username, realname string }

// identOf is the userIdent a RegisterConnection gives; nil for none.
func identOf(msg *messages.RegisterConnection) *userIdent {
	if msg.GetUsername() == "" && msg.GetRealname() == "" {
		return nil
	}
	return &userIdent{username: truncate(msg.GetUsername(), maxUsernameLen), realname: truncate(msg.GetRealname(), maxRealnameLen)}
}

// Bounds on what an IRC client's USER gives (the registry keeps them).
const (
	maxUsernameLen = 10 // "~" and 9
	maxRealnameLen = 100
)

// room is the user's current room; empty: none.
func (u *registeredUser) room() string {
	if len(u.rooms) == 0 {
		return ""
	}
	return u.rooms[0]
}

// registryDeps is what the registry is built from: accounts are the
// accounts known at start.
type registryDeps struct {
	logger     *slog.Logger
	metrics    *Metrics
	accounts   []store.AccountName
	admins     *Admins
	klines     *klines
	klineRules KlineRules
	store      *actor.PID
	accountsID string // "": accountsActorID
	registryID string // "": registryActorID
	// settleTime bounds how long a new coordinator waits for reclaims.
	settleTime time.Duration
}

func newRegistry(d registryDeps) actor.Producer {
	accounts := d.accounts
	return func() actor.Actor {
		kl := d.klines
		if kl == nil {
			kl = &klines{}
		}
		accountsID, registryID := d.accountsID, d.registryID
		if accountsID == "" {
			accountsID = accountsActorID
		}
		if registryID == "" {
			registryID = registryActorID
		}
		r := &registry{
			logger:     d.logger,
			metrics:    d.metrics,
			admins:     d.admins,
			klines:     kl,
			klineRules: d.klineRules,
			store:      d.store,
			accountsID: accountsID,
			registryID: registryID,
			byNick:     make(map[string]*registeredUser),
			byMember:   make(map[string]*registeredUser),
			byPID:      make(map[pidKey]*registeredUser),
			accounts:   make(map[string]string, len(accounts)),
			skeletons:  make(map[string]string, 2*len(accounts)),

			settleTime: d.settleTime,
			expected:   make(map[string]int),
			reclaimed:  make(map[string]int),
		}
		for _, a := range accounts {
			r.addAccount(a.Name, a.ID)
		}
		return r
	}
}

func (r *registry) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	case *actor.Terminated:
		r.forget(r.byPID[keyOf(msg.GetWho())])

	// In a cluster.
	case *messages.BecomeCoordinator:
		r.handleBecomeCoordinator(ctx, msg)
	case *messages.CoordinatorChanged:
		r.nodes = msg.GetNodes()
	case *messages.RoomEntry:
		if sentBy(ctx.Sender(), r.registryID) {
			r.handleKlineEntry(msg)
		} else {
			r.logger.Warn("ignored a k-line that only another node's registry may send", "sender", ctx.Sender().String())
		}
	case *messages.ReclaimExpected:
		r.expected[msg.GetNode()] = int(msg.GetCount())
		r.checkSettled(ctx)
	case *messages.SettleTimedOut:
		if r.settling && msg.GetEpoch() == r.settleEpoch {
			r.logger.Warn("cluster: not every node reclaimed its nicks in time; handing out nicks again", "waited_for", r.unsettled())
			r.settled(ctx)
		}
	case *messages.RegisterConnection:
		if msg.GetReclaim() {
			r.handleReclaim(ctx, msg)
			return
		}
		if r.hold(msg, ctx.Sender()) {
			return
		}
		r.handle(ctx, msg, ctx.Sender())
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	default:
		if r.hold(msg, ctx.Sender()) {
			return
		}
		r.handle(ctx, msg, ctx.Sender())
	}
}

// handle handles the registry's requests; sender is who sent one, for the
// ones that carry authority.
func (r *registry) handle(ctx actor.Context, message any, sender *actor.PID) {
	switch msg := message.(type) {
	case *messages.RegisterConnection:
		r.handleRegister(ctx, msg)
	case *messages.ConnectionGone:
		r.handleConnectionGone(ctx, msg)
	case *messages.UnregisterConnection:
		r.handleUnregister(ctx, msg)
	case *messages.SetNick:
		r.handleSetNick(ctx, msg)
	case *messages.UserMoved:
		r.handleUserMoved(msg)
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
	case *messages.WhowasUser:
		r.handleWhowas(ctx, msg)
	case *messages.DescribeMembers:
		r.handleDescribeMembers(ctx, msg)
	case *messages.AccountIdentified:
		if r.fromAccounts(msg, sender) {
			r.handleAccountIdentified(ctx, msg)
		}
	case *messages.AccountRemoved:
		if r.fromAccounts(msg, sender) {
			r.handleAccountRemoved(ctx, msg)
		}
	case *messages.OperatorIdentified:
		if r.fromAccounts(msg, sender) {
			r.handleOperatorIdentified(ctx, msg)
		}
	case *messages.GhostNick:
		r.handleGhost(ctx, msg)
	case *messages.AdminCommand:
		r.handleAdmin(ctx, msg, sender)
	case *messages.NoticeUser:
		r.handleNoticeUser(ctx, msg)
	case *messages.ResolveTarget:
		r.handleResolveTarget(ctx, msg)
	}
}

// fromAccounts reports whether a message about accounts came from an
// accounts actor; one that did not is logged and ignored.
func (r *registry) fromAccounts(msg any, sender *actor.PID) bool {
	if sentBy(sender, r.accountsID) {
		return true
	}
	r.logger.Warn("ignored a message that only the accounts actor may send", "message", fmt.Sprintf("%T", msg), "sender", sender.String())
	return false
}

// hold keeps a request for later while the registry settles.
func (r *registry) hold(msg any, sender *actor.PID) bool {
	if !r.settling {
		return false
	}
	if len(r.held) < maxRegistryHeld {
		r.held = append(r.held, heldMessage{msg: msg, sender: sender})
	}
	return true
}

// handleBecomeCoordinator starts settling: until every node has said how
// many of its users will reclaim their nicks, and they have, no nick is
// handed out (so that nobody takes the nick of a user who is still
// connected to another node), bounded by the settle time.
func (r *registry) handleBecomeCoordinator(ctx actor.Context, msg *messages.BecomeCoordinator) {
	r.settling = true
	r.settleEpoch++
	r.waiting = make(map[string]bool, len(msg.GetNodes()))
	for _, n := range msg.GetNodes() {
		r.waiting[n] = true
	}
	system, self, epoch := ctx.ActorSystem(), ctx.Self(), r.settleEpoch
	time.AfterFunc(r.settleTime, func() { system.Root.Send(self, &messages.SettleTimedOut{Epoch: epoch}) })
	r.checkSettled(ctx)
}

// unsettled lists the nodes whose users have not all reclaimed.
func (r *registry) unsettled() []string {
	var out []string
	for n := range r.waiting {
		exp, ok := r.expected[n]
		if !ok || r.reclaimed[n] < exp {
			out = append(out, n)
		}
	}
	return out
}

func (r *registry) checkSettled(ctx actor.Context) {
	if r.settling && len(r.unsettled()) == 0 {
		r.settled(ctx)
	}
}

// settled hands out nicks again: the held requests are handled in order.
func (r *registry) settled(ctx actor.Context) {
	r.settling = false
	r.waiting = nil
	clear(r.expected)
	clear(r.reclaimed)
	held := r.held
	r.held = nil
	r.logger.Info("cluster: this node holds the nicks", "users", len(r.byMember), "held_requests", len(held))
	for _, m := range held {
		r.handle(ctx, m.msg, m.sender)
	}
}

// handleReclaim takes a user back after the coordinator changed, with the
// nick, account, away message and room it had; only a nick someone else
// holds now (the earlier claim wins) is replaced by a guest nick.
func (r *registry) handleReclaim(ctx actor.Context, msg *messages.RegisterConnection) {
	pid := pidOf(msg.GetReplyTo())
	if pid == nil || msg.GetMemberId() == "" {
		return
	}
	r.reclaimed[pid.GetAddress()]++
	defer r.checkSettled(ctx)
	if u, ok := r.byMember[msg.GetMemberId()]; ok {
		reply(ctx, msg.GetReplyTo(), &messages.ConnectionRegistered{Nick: u.nick})
		return
	}
	nick, key := msg.GetNick(), strings.ToLower(msg.GetNick())
	if holder, taken := r.byNick[key]; nick == "" || taken && holder.memberID != msg.GetMemberId() || r.protects(nick, msg.GetAccountId()) != "" {
		if nick != "" {
			r.logger.Warn("cluster: a reclaimed nick is held by another user; the later claim gets a guest nick", "nick", nick, "member", msg.GetMemberId())
		}
		nick = r.nextGuestNick()
	} else if isGuestNick(nick) {
		if n, err := strconv.ParseUint(nick[len("guest"):], 10, 64); err == nil && n > r.lastGuest {
			r.lastGuest = n // never hand it out again
		}
	}
	u := &registeredUser{nick: nick, memberID: msg.GetMemberId(), pid: pid, address: msg.GetAddress(),
		account: msg.GetAccount(), accountID: msg.GetAccountId(), oper: msg.GetOperator(), away: msg.GetAway(), rooms: reclaimedRooms(msg), ident: identOf(msg)}
	r.add(ctx, u)
	reply(ctx, msg.GetReplyTo(), &messages.ConnectionRegistered{Nick: u.nick})
}

// reply sends an answer to a request's reply_to (in a Reply, if the asker
// numbered its request: see answerTo).
func reply(ctx actor.Context, to *messages.ActorRef, msg proto.Message) {
	if pid := pidOf(to); pid != nil {
		ctx.Send(pid, answerTo(to, msg))
	}
}

// reject answers a request that cannot be done.
func reject(ctx actor.Context, to *messages.ActorRef, req messages.Request, reason string) {
	reply(ctx, to, &messages.CommandRejected{Reason: reason, Request: req})
}

// handleRegister gives a new connection its guest nick and watches it.
func (r *registry) handleRegister(ctx actor.Context, msg *messages.RegisterConnection) {
	pid := pidOf(msg.GetReplyTo())
	if pid == nil || msg.GetMemberId() == "" {
		return
	}
	if u, ok := r.byMember[msg.GetMemberId()]; ok { // a repeated request gets the same answer
		reply(ctx, msg.GetReplyTo(), &messages.ConnectionRegistered{Nick: u.nick})
		return
	}
	u := &registeredUser{nick: r.nextGuestNick(), memberID: msg.GetMemberId(), pid: pid, address: msg.GetAddress(), ident: identOf(msg)}
	r.add(ctx, u)
	reply(ctx, msg.GetReplyTo(), &messages.ConnectionRegistered{Nick: u.nick})
}

// add registers a user and watches its connection; the caller tells it
// its nick.
func (r *registry) add(ctx actor.Context, u *registeredUser) {
	r.byNick[strings.ToLower(u.nick)] = u
	r.byMember[u.memberID] = u
	r.metrics.nicks.Set(float64(len(r.byMember)))
	if u.pid.GetAddress() != ctx.Self().GetAddress() {
		// On another node (a cluster): watched, so that the registry hears
		// at once when that node dies. This node's connections are not
		// watched: their supervisor reports them (ConnectionGone).
		r.byPID[keyOf(u.pid)] = u
		ctx.Watch(u.pid)
	}
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

// handleUnregister forgets a connection that is stopping: its nick is free
// at once.
func (r *registry) handleUnregister(ctx actor.Context, msg *messages.UnregisterConnection) {
	if u, ok := r.byMember[msg.GetMemberId()]; ok {
		if _, watched := r.byPID[keyOf(u.pid)]; watched {
			ctx.Unwatch(u.pid)
		}
		r.forget(u)
	}
}

// handleConnectionGone lets go of a member whose connection stopped without
// unregistering (its goodbye went wrong): the nick is freed, and its room
// told, which announces "connection lost".
func (r *registry) handleConnectionGone(ctx actor.Context, msg *messages.ConnectionGone) {
	u, ok := r.byMember[msg.GetMemberId()]
	if !ok {
		return // it said goodbye, as connections do
	}
	r.logger.Warn("a connection stopped without unregistering", "member", u.memberID, "nick", u.nick, "rooms", u.rooms)
	r.forget(u)
	for _, room := range u.rooms {
		ctx.Send(actor.NewPID(ctx.Self().GetAddress(), roomsActorID), &messages.MemberGone{Room: room, MemberId: u.memberID})
	}
}

// forget drops a user, freeing the nick; nil is nobody.
func (r *registry) forget(u *registeredUser) {
	if u == nil || r.byMember[u.memberID] != u {
		return
	}
	r.departs(u, u.nick)
	delete(r.byMember, u.memberID)
	delete(r.byPID, keyOf(u.pid))
	delete(r.byNick, strings.ToLower(u.nick))
	r.metrics.nicks.Set(float64(len(r.byMember)))
}

// departed is a user who left a nick (it left, or was renamed), for WHOWAS.
type departed struct {
	nick               string
	username, realname string
	at                 time.Time
}

// maxWhowas bounds the departed users the registry keeps: the memory is
// bounded, however many come and go.
const maxWhowas = 256

// departs keeps that u had nick until now.
func (r *registry) departs(u *registeredUser, nick string) {
	d := departed{nick: nick, at: time.Now()}
	if u.ident != nil {
		d.username, d.realname = u.ident.username, u.ident.realname
	}
	if len(r.departed) < maxWhowas {
		r.departed = append(r.departed, d)
		return
	}
	r.departed[r.nextGone] = d
	r.nextGone = (r.nextGone + 1) % maxWhowas
}

// handleWhowas answers who had a nick lately, newest first.
func (r *registry) handleWhowas(ctx actor.Context, msg *messages.WhowasUser) {
	var list []*messages.WhowasEntry
	n := len(r.departed)
	for i := range n {
		d := r.departed[((r.nextGone-1-i)%n+n)%n] // newest first
		if !strings.EqualFold(d.nick, msg.GetNick()) {
			continue
		}
		list = append(list, &messages.WhowasEntry{Nick: d.nick, Username: d.username, Realname: d.realname, UnixMillis: d.at.UnixMilli()})
		if msg.GetCount() > 0 && len(list) == int(msg.GetCount()) {
			break
		}
	}
	reply(ctx, msg.GetReplyTo(), &messages.WhowasList{Entries: list})
}

// handleSetNick renames a member if the nick is valid and free.
func (r *registry) handleSetNick(ctx actor.Context, msg *messages.SetNick) {
	fail := func(reason string) { reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_NICK, reason) }
	u, ok := r.byMember[msg.GetMemberId()]
	if !ok {
		fail("you are not registered yet")
		return
	}
	nick := msg.GetNick()
	if err := validateNick(nick); err != nil {
		fail(err.Error())
		return
	}
	key := strings.ToLower(nick)
	if holder, taken := r.byNick[key]; taken && holder != u {
		fail(fmt.Sprintf("nick %s is taken", nick))
		return
	}
	if owner := r.protects(nick, u.accountID); owner != "" {
		if owner == key {
			fail(fmt.Sprintf("%s is a registered nick; if it is yours: /identify %s PASSWORD", nick, nick))
		} else {
			fail(fmt.Sprintf("%s looks too much like the registered nick %s; choose another", nick, owner))
		}
		return
	}
	if nick == u.nick {
		fail(fmt.Sprintf("you are already %s", nick))
		return
	}
	old := u.nick
	r.departs(u, old)
	delete(r.byNick, strings.ToLower(old))
	u.nick = nick
	r.byNick[key] = u
	r.logger.Info("nick changed", "member", u.memberID, "old", old, "nick", nick)
	reply(ctx, msg.GetReplyTo(), &messages.NickChanged{OldNick: old, NewNick: nick})
}

func (r *registry) handleUserMoved(msg *messages.UserMoved) {
	if u, ok := r.byMember[msg.GetMemberId()]; ok {
		u.rooms = movedRooms(msg.GetRoom(), msg.GetRooms())
	}
}

// movedRooms is a member's room list from what its connection said: the
// current room first, each room once, at most maxUserRooms of them (a
// connection is trusted, but the registry's memory is bounded anyway).
func movedRooms(current string, rooms []string) []string {
	list := make([]string, 0, len(rooms)+1)
	if current != "" {
		list = append(list, current)
	}
	for _, room := range rooms {
		if room != "" && !slices.Contains(list, room) && len(list) < maxUserRooms {
			list = append(list, room)
		}
	}
	if len(list) == 0 {
		return nil
	}
	return list
}

// maxUserRooms bounds the rooms the registry keeps for one user: more than
// any -max-rooms.
const maxUserRooms = 1000

// reclaimedRooms is the room list a reclaiming connection brings.
func reclaimedRooms(msg *messages.RegisterConnection) []string {
	if !msg.GetReclaim() {
		return nil
	}
	return movedRooms(msg.GetRoom(), msg.GetRooms())
}

// handlePrivateMessage delivers text to one user and confirms it to the sender.
func (r *registry) handlePrivateMessage(ctx actor.Context, msg *messages.SendPrivateMessage) {
	from, ok := r.byMember[msg.GetMemberId()]
	if !ok {
		reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_MSG, "you are not registered yet")
		return
	}
	to := r.lookup(msg.GetToNick(), msg.GetToMemberId())
	if to == nil {
		reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_MSG, fmt.Sprintf("no such nick: %s", msg.GetToNick()))
		return
	}
	ctx.Send(to.pid, &messages.PrivateMessageReceived{FromNick: from.nick, FromMemberId: from.memberID, Text: msg.GetText()})
	reply(ctx, msg.GetReplyTo(), &messages.PrivateMessageSent{ToNick: to.nick, Text: msg.GetText(), Away: to.away})
}

// lookup finds a user by member id when one is given, else by nick.
func (r *registry) lookup(nick, member string) *registeredUser {
	if member != "" {
		return r.byMember[member]
	}
	return r.byNick[strings.ToLower(nick)]
}

func (r *registry) handleResolveNick(ctx actor.Context, msg *messages.ResolveNick) {
	u := r.lookup(msg.GetNick(), "")
	if u == nil {
		reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_RESOLVE, fmt.Sprintf("no such nick: %s", msg.GetNick()))
		return
	}
	reply(ctx, msg.GetReplyTo(), &messages.NickResolved{Nick: u.nick, MemberId: u.memberID})
}

// handleListUsers answers with the first users (by nick) that match the
// pattern, at most the limit asked for, and how many there are.
func (r *registry) handleListUsers(ctx actor.Context, msg *messages.ListUsers) {
	var users []*messages.UserInfo
	if nicks := msg.GetNicks(); len(nicks) > 0 {
		for _, nick := range nicks[:min(len(nicks), maxListNicks)] {
			if u, ok := r.byNick[strings.ToLower(nick)]; ok {
				users = append(users, r.userInfo(u))
			}
		}
		reply(ctx, msg.GetReplyTo(), &messages.UserList{Users: users, Total: uint32(len(r.byMember)), Matched: uint32(len(users))})
		return
	}
	for _, u := range r.byMember {
		if text.MatchPattern(msg.GetPattern(), u.nick) && (msg.GetRoom() == "" || slices.Contains(u.rooms, msg.GetRoom())) {
			users = append(users, r.userInfo(u))
		}
	}
	users, matched := firstByName(users, (*messages.UserInfo).GetNick, msg.GetLimit())
	reply(ctx, msg.GetReplyTo(), &messages.UserList{Users: users, Total: uint32(len(r.byMember)), Matched: matched})
}

// maxListNicks bounds the nicks one ListUsers asks about by name.
const maxListNicks = 32

// userInfo is a user as listings show it.
func (r *registry) userInfo(u *registeredUser) *messages.UserInfo {
	info := &messages.UserInfo{Nick: u.nick, Room: u.room(), Rooms: u.rooms, Away: u.away, Operator: r.admins.Valid(u.oper)}
	if u.ident != nil {
		info.Username, info.Realname = u.ident.username, u.ident.realname
	}
	return info
}

// handleSetAway marks a member away (or back, with no message).
func (r *registry) handleSetAway(ctx actor.Context, msg *messages.SetAway) {
	u, ok := r.byMember[msg.GetMemberId()]
	if !ok {
		reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_AWAY, "you are not registered yet")
		return
	}
	u.away = msg.GetMessage()
	reply(ctx, msg.GetReplyTo(), &messages.AwaySet{Message: u.away})
}

// handleWhois hands the question to the user's own connection, which knows
// how long its user has been idle; it answers the asker directly.
func (r *registry) handleWhois(ctx actor.Context, msg *messages.WhoisUser) {
	u := r.lookup(msg.GetNick(), "")
	if u == nil {
		reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_WHOIS, fmt.Sprintf("no such nick: %s", msg.GetNick()))
		return
	}
	ctx.Send(u.pid, &messages.DescribeUser{ReplyTo: msg.GetReplyTo()})
}

// handleDescribeMembers answers with the current nick of each member that
// is still online.
func (r *registry) handleDescribeMembers(ctx actor.Context, msg *messages.DescribeMembers) {
	var users []*messages.NickResolved
	for _, id := range msg.GetMemberIds() {
		if u, ok := r.byMember[id]; ok {
			users = append(users, &messages.NickResolved{Nick: u.nick, MemberId: id})
		}
	}
	reply(ctx, msg.GetReplyTo(), &messages.MembersDescribed{Users: users})
}

// handleAccountIdentified marks a member as identified (the accounts actor
// checked the password), and renames it to the account's nick if that is
// free. A member that left meanwhile is forgotten already: nothing to do.
func (r *registry) handleAccountIdentified(ctx actor.Context, msg *messages.AccountIdentified) {
	account := msg.GetAccount()
	r.addAccount(account, msg.GetAccountId())
	u, ok := r.byMember[msg.GetMemberId()]
	if !ok {
		return
	}
	u.account, u.accountID = account, msg.GetAccountId()
	answer := &messages.Identified{Account: account, AccountId: u.accountID, Nick: u.nick, Registered: msg.GetRegistered(),
		Rooms: msg.GetRooms(), Rejoin: msg.GetRejoin()}
	if strings.ToLower(u.nick) != account {
		if holder, taken := r.byNick[account]; taken {
			answer.NickInUse = holder != u
		} else {
			old := u.nick
			delete(r.byNick, strings.ToLower(old))
			u.nick = msg.GetNick()
			r.byNick[account] = u
			answer.Nick, answer.RenamedFrom = u.nick, old
			r.logger.Info("nick changed", "member", u.memberID, "old", old, "nick", u.nick, "identified", account)
		}
	}
	replyFrom(ctx, msg.GetReplyTo(), answer)
}

// handleAccountRemoved frees a registered nick: nobody is identified as it
// any more (every session that was is told), and the rooms drop the rights
// the account held. The store dropped them with the account.
func (r *registry) handleAccountRemoved(ctx actor.Context, msg *messages.AccountRemoved) {
	id := msg.GetAccountId()
	if r.accounts[msg.GetAccount()] == id {
		r.removeAccount(msg.GetAccount())
	}
	gone := &messages.AccountUnregistered{Account: msg.GetAccount(), AccountId: id}
	asker := pidOf(msg.GetReplyTo())
	for _, u := range r.byMember {
		if u.accountID == id && id != "" {
			u.account, u.accountID = "", ""
			if !samePID(u.pid, asker) {
				ctx.Request(u.pid, gone)
			}
		}
	}
	ctx.Send(actor.NewPID(ctx.Self().GetAddress(), roomsActorID), &messages.ForgetAccount{AccountId: id})
	replyFrom(ctx, msg.GetReplyTo(), gone)
}

// handleOperatorIdentified makes a member a server operator (the accounts
// actor checked the operator's password).
func (r *registry) handleOperatorIdentified(ctx actor.Context, msg *messages.OperatorIdentified) {
	u, ok := r.byMember[msg.GetMemberId()]
	if !ok {
		return
	}
	u.oper = msg.GetToken()
	r.logger.Info("moderation", "action", "oper", "by", u.nick, "operator", msg.GetName(), "member", u.memberID)
	replyFrom(ctx, msg.GetReplyTo(), &messages.Opered{Name: msg.GetName(), Token: msg.GetToken()})
}

// handleResolveTarget tells a room who a name given to a moderation command
// is: the user online with that nick (any room, any node), or else the
// account of that name.
func (r *registry) handleResolveTarget(ctx actor.Context, msg *messages.ResolveTarget) {
	answer := &messages.TargetResolved{RequestId: msg.GetRequestId(), Name: msg.GetName()}
	if u := r.lookup(msg.GetName(), ""); u != nil {
		answer.Found, answer.MemberId, answer.Nick, answer.Address = true, u.memberID, u.nick, u.address
		answer.Account, answer.AccountId, answer.Operator = u.account, u.accountID, r.admins.Valid(u.oper)
	} else if id, ok := r.accounts[foldNick(msg.GetName())]; ok {
		answer.Found, answer.Account, answer.AccountId = true, foldNick(msg.GetName()), id
	}
	reply(ctx, msg.GetReplyTo(), answer)
}

// addAccount records a registered nick, and the skeletons that protect it.
func (r *registry) addAccount(name, id string) {
	r.accounts[name] = id
	for _, sk := range skeletonsOf(name) {
		r.skeletons[sk] = name
	}
}

func (r *registry) removeAccount(name string) {
	delete(r.accounts, name)
	for _, sk := range skeletonsOf(name) {
		if r.skeletons[sk] == name {
			delete(r.skeletons, sk)
		}
	}
}

// protects says which registered nick keeps a user identified as account
// id from taking nick: the nick's own account, or one it looks like; ""
// when it may.
func (r *registry) protects(nick, accountID string) string {
	key := foldNick(nick)
	if id, ok := r.accounts[key]; ok {
		if id == accountID {
			return ""
		}
		return key
	}
	if owner, ok := r.skeletons[skeleton(nick)]; ok && r.accounts[owner] != accountID {
		return owner
	}
	return ""
}

// skeleton is what a nick looks like, by Unicode's confusables (TR39):
// aIice, a1ice and a|ice are all alice. Lower-cased, since nicks are
// unique whatever the case.
func skeleton(nick string) string { return strings.ToLower(confusables.Skeleton(nick)) }

// skeletonsOf are the skeletons a registered nick protects: of its lower
// and of its upper case, since its owner may write it either way (ALICE
// looks like ALlCE, alice like aIice).
func skeletonsOf(name string) []string {
	return []string{skeleton(strings.ToLower(name)), skeleton(strings.ToUpper(name))}
}

// handleGhost disconnects another session that holds the nick of the
// account the asker is identified as.
func (r *registry) handleGhost(ctx actor.Context, msg *messages.GhostNick) {
	fail := func(reason string) { reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_GHOST, reason) }
	u, ok := r.byMember[msg.GetMemberId()]
	if !ok {
		fail("you are not registered yet")
		return
	}
	key := strings.ToLower(msg.GetNick())
	if u.account == "" || u.account != key {
		fail(fmt.Sprintf("you can only /ghost the nick of your own account; /identify %s PASSWORD first", msg.GetNick()))
		return
	}
	holder, taken := r.byNick[key]
	if !taken || holder == u {
		fail(fmt.Sprintf("no other session is using %s", msg.GetNick()))
		return
	}
	r.logger.Info("ghosted", "member", u.memberID, "account", u.account, "ghost", holder.memberID, "nick", holder.nick)
	ctx.Request(holder.pid, &messages.Ghosted{ByAccount: u.account})
	reply(ctx, msg.GetReplyTo(), &messages.NickGhosted{Nick: holder.nick})
}

// validateNick checks the rules for a nick a user picks.
func validateNick(nick string) error {
	if nick == "" || len(nick) > maxNickLen {
		return fmt.Errorf("a nick has 1 to %d characters", maxNickLen)
	}
	for _, c := range []byte(nick) {
		if !text.IsNickByte(c) {
			return errors.New("a nick may only use letters, digits and the characters . _ -")
		}
	}
	if isGuestNick(nick) {
		return fmt.Errorf("nicks like %s are reserved for guests", nick)
	}
	if serviceNicks[strings.ToLower(nick)] {
		return fmt.Errorf("%s is reserved for the server's services", nick)
	}
	return nil
}

// serviceNicks are the nicks IRC clients know as services: the server
// answers "NickServ" itself (connection_irc.go), and nobody may take these
// to ask IRC users for their passwords.
var serviceNicks = map[string]bool{"nickserv": true, "chanserv": true, "saslserv": true, "operserv": true, "memoserv": true, "hostserv": true, "botserv": true}

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
