package actors

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/ipkey"
	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/messages"
)

// Room entry kinds and subjects, as the store keeps them (internal/store).
const (
	entryOwner      = store.KindOwner
	entryOp         = "op"
	entryFlag       = "flag"
	entryBan        = "ban"
	flagPrivate     = "private"
	flagTopicLocked = "topic-lock"
	banAccount      = "account:"
	banAddress      = "address:"
	inviteMember    = "member:"
)

// moderation is a room's moderation state. Rights name identities, never
// names someone could register next: owner, ops and account bans are
// account ids (with the account's name beside them, for people), address
// bans are address ranges, invitations an account or a guest's connection.
// Owner, ops, flags and bans are kept in the store (and come back with the
// room); mutes and invitations last as long as the room actor.
type moderation struct {
	owner       string            // account id; empty: nobody has claimed the room
	ownerLabel  string            // its name
	ops         map[string]string // account id -> name
	private     bool              // invite-only
	topicLocked bool              // only ops set the topic
	bans        map[string]ban    // "account:ID" or "address:CIDR" -> ban
	invited     map[string]string // "account:ID" or "member:ID" -> the nick invited, for people
	muted       map[string]mute   // "account:ID" or "address:PREFIX" -> mute: it follows the member out and back in
	creator     string            // member id of the first to join while unowned: it may /claim
	claiming    bool              // a claim is with the store
	unknown     string            // why the stored rules could not be loaded; "": they are loaded
}

type ban struct {
	reason, by string
	label      string // the account's name, for an account ban
	at         time.Time
	expires    time.Time // zero: never
}

type mute struct {
	until time.Time // zero: until unmuted
	by    string
}

func newModeration() moderation {
	return moderation{ops: map[string]string{}, bans: map[string]ban{}, invited: map[string]string{}, muted: map[string]mute{}}
}

// apply takes one stored entry (or a queued change of one) into the state.
func (m *moderation) apply(e *messages.RoomEntry) {
	switch e.GetKind() {
	case entryOwner:
		if e.GetDelete() {
			if m.owner == e.GetSubject() {
				m.owner, m.ownerLabel = "", ""
			}
		} else {
			m.owner, m.ownerLabel = e.GetSubject(), e.GetLabel()
		}
	case entryOp:
		if e.GetDelete() {
			delete(m.ops, e.GetSubject())
		} else {
			m.ops[e.GetSubject()] = e.GetLabel()
		}
	case entryFlag:
		on := !e.GetDelete()
		switch e.GetSubject() {
		case flagPrivate:
			m.private = on
		case flagTopicLocked:
			m.topicLocked = on
		}
	case entryBan:
		if e.GetDelete() {
			delete(m.bans, e.GetSubject())
			return
		}
		b := ban{reason: e.GetReason(), by: e.GetBy(), label: e.GetLabel(), at: time.UnixMilli(e.GetUnixMillis())}
		if e.GetExpiresUnixMillis() != 0 {
			b.expires = time.UnixMilli(e.GetExpiresUnixMillis())
		}
		m.bans[e.GetSubject()] = b
	}
}

// loadRules replaces what the store keeps (owner, ops, flags, bans) with
// the entries loaded; mutes and invitations stay.
func (m *moderation) loadRules(entries []*messages.RoomEntry) {
	m.owner, m.ownerLabel, m.private, m.topicLocked = "", "", false, false
	clear(m.ops)
	clear(m.bans)
	for _, e := range entries {
		m.apply(e)
	}
	m.unknown = ""
}

// forget drops every right of an account that is gone.
func (m *moderation) forget(accountID string) {
	if accountID == "" {
		return
	}
	if m.owner == accountID {
		m.owner, m.ownerLabel = "", ""
	}
	delete(m.ops, accountID)
	delete(m.bans, banAccount+accountID)
	delete(m.invited, banAccount+accountID)
}

// muteKeys are the keys a member's mute may be under: its account if it is
// identified, else its address (an IPv6 address by its /64). A guest's mute
// is by address, so that a new connection does not lift it; it holds only
// guests there: an identified user behind the same address (one office,
// one NAT) is someone else, with an identity of its own.
func muteKeys(member *roomMember) []string {
	if member.accountID != "" {
		return []string{banAccount + member.accountID}
	}
	if p, err := ipkey.Parse(member.address); err == nil {
		return []string{banAddress + p.String()}
	}
	return nil
}

// muteOf is the mute that holds a member now, if any. The owner and server
// operators are never muted.
func (r *room) muteOf(member *roomMember) (mute, bool) {
	if r.isOwner(member) {
		return mute{}, false
	}
	now := r.now()
	for _, k := range muteKeys(member) {
		mu, ok := r.mod.muted[k]
		if !ok {
			continue
		}
		if !mu.until.IsZero() && !now.Before(mu.until) {
			delete(r.mod.muted, k)
			continue
		}
		return mu, true
	}
	return mute{}, false
}

// mutedFor says why a member may not speak now (post, act, set the topic,
// be announced renaming); "" if it may.
func (r *room) mutedFor(member *roomMember) string {
	if mu, ok := r.muteOf(member); ok {
		return "you are muted here by " + mu.by + untilText(mu.until)
	}
	return ""
}

// isAdmin, isOwner and isOp say what a member may do here: a server
// operator may do everything, an owner what an op may and more.
func (r *room) isAdmin(m *roomMember) bool { return r.admins.Valid(m.oper) }

func (r *room) isOwner(m *roomMember) bool {
	return r.isAdmin(m) || (m.accountID != "" && m.accountID == r.mod.owner)
}

func (r *room) isOp(m *roomMember) bool {
	_, op := r.mod.ops[m.accountID]
	return r.isOwner(m) || (m.accountID != "" && op)
}

// roleOf is what a member may do here, as its connection's /help shows it.
func (r *room) roleOf(m *roomMember) messages.RoomRole {
	switch {
	case r.isOwner(m):
		return messages.RoomRole_ROOM_ROLE_OWNER
	case r.isOp(m):
		return messages.RoomRole_ROOM_ROLE_OP
	case r.mod.owner == "" && m.id == r.mod.creator && r.name != lobbyName:
		return messages.RoomRole_ROOM_ROLE_CREATOR
	}
	return messages.RoomRole_ROOM_ROLE_UNSPECIFIED
}

// tellRoles tells every member whose role differs from what it was told.
func (r *room) tellRoles(ctx actor.Context) {
	for _, m := range r.members {
		if role := r.roleOf(m); role != m.role {
			m.role = role
			r.send(ctx, m.pid, &messages.RoleChanged{Room: r.name, Role: role})
		}
	}
}

// banFor returns the ban that keeps out a joiner with this account id and
// address, if any; expired bans are lifted on the way.
func (r *room) banFor(ctx actor.Context, accountID, address string) (string, ban, bool) {
	now := r.now()
	addr, addrErr := parseIP(address)
	for subject, b := range r.mod.bans {
		if !b.expires.IsZero() && !now.Before(b.expires) {
			r.setEntry(ctx, entryBan, subject, "", "", "", time.Time{}, true)
			continue
		}
		switch {
		case accountID != "" && subject == banAccount+accountID:
			return subject, b, true
		case strings.HasPrefix(subject, banAddress) && addrErr == nil:
			if p, err := netip.ParsePrefix(strings.TrimPrefix(subject, banAddress)); err == nil && p.Contains(addr) {
				return subject, b, true
			}
		}
	}
	return "", ban{}, false
}

// refuseJoin says why a joiner may not enter; "" if it may. The owner (and
// a server operator) is never refused: no ban an op makes, whatever range
// it covers, shuts the owner out of its room.
func (r *room) refuseJoin(ctx actor.Context, msg *messages.JoinRoom) string {
	joiner := &roomMember{id: msg.GetMemberId(), accountID: msg.GetAccountId(), oper: msg.GetOperator(), address: msg.GetAddress()}
	if r.isOwner(joiner) {
		return ""
	}
	if r.mod.unknown != "" {
		return fmt.Sprintf("%s cannot be entered now: its bans and settings could not be loaded (%s); try again in a moment", r.name, r.mod.unknown)
	}
	if _, b, banned := r.banFor(ctx, joiner.accountID, joiner.address); banned {
		return fmt.Sprintf("you are banned from %s%s%s", r.name, reasonText(b.reason), untilText(b.expires))
	}
	if r.mod.private && !r.isOp(joiner) && !r.invitedIn(joiner) {
		return fmt.Sprintf("%s is invite-only; ask one of its ops for an /invite", r.name)
	}
	return ""
}

// invitedIn reports whether a joiner was invited: its account, or (a
// guest) its connection.
func (r *room) invitedIn(m *roomMember) bool {
	if _, ok := r.mod.invited[inviteMember+m.id]; ok {
		return true
	}
	_, ok := r.mod.invited[banAccount+m.accountID]
	return m.accountID != "" && ok
}

// reasonText is ": reason", or nothing.
func reasonText(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// handleSetMemberAccount records who a member is now (its account, its
// operator token), from the member's own connection only.
func (r *room) handleSetMemberAccount(ctx actor.Context, msg *messages.SetMemberAccount, sender *actor.PID) {
	i, ok := r.index[msg.GetMemberId()]
	if !ok {
		return
	}
	m := r.members[i]
	if !r.fromMember(m, msg, sender) {
		return
	}
	mu, muted := r.muteOf(m)
	m.account, m.accountID, m.oper = msg.GetAccount(), msg.GetAccountId(), msg.GetOperator()
	if keys := muteKeys(m); muted && len(keys) > 0 && !r.isOwner(m) {
		if _, still := r.muteOf(m); !still {
			// A muted guest who identifies stays muted, now by its account.
			r.mod.muted[keys[0]] = mu
		}
	}
	r.tellRoles(ctx)
}

// fromMember reports whether a message about member m came from m's own
// connection; one that did not is logged and ignored.
func (r *room) fromMember(m *roomMember, msg any, sender *actor.PID) bool {
	if samePID(sender, m.pid) {
		return true
	}
	r.logger.Warn("ignored a message that only the member's connection may send", "room", r.name, "member", m.id,
		"message", fmt.Sprintf("%T", msg), "sender", sender.String())
	return false
}

// handleForgetAccount drops the rights of an account that is gone.
func (r *room) handleForgetAccount(ctx actor.Context, msg *messages.ForgetAccount) {
	r.mod.forget(msg.GetAccountId())
	r.tellRoles(ctx)
}

// setEntry changes the state and has the store keep the change.
func (r *room) setEntry(ctx actor.Context, kind, subject, label, reason, by string, expires time.Time, del bool) {
	e := &messages.RoomEntry{Room: r.name, Kind: kind, Subject: subject, Label: label, Reason: reason, By: by, UnixMillis: r.now().UnixMilli(), Delete: del}
	if !expires.IsZero() {
		e.ExpiresUnixMillis = expires.UnixMilli()
	}
	r.mod.apply(e)
	if r.store != nil {
		ctx.Send(r.store, e)
	}
}

// errAnswerLater is what a moderation command returns when it asked
// another actor first: its answer goes out when that one's does.
var errAnswerLater = errors.New("answered later")

// roomRequest is a moderation command waiting for another actor's answer
// (the registry's, or the store's).
type roomRequest struct {
	cmd    *messages.Moderate
	member string // who asked, by member id
	timer  *time.Timer
}

// askFor sends a request on behalf of a moderation command, and keeps the
// command until the answer (or the timeout) comes.
func (r *room) askFor(ctx actor.Context, m *roomMember, cmd *messages.Moderate, to *actor.PID, build func(id uint64) any) error {
	if to == nil {
		return errors.New("nobody to ask")
	}
	r.lastRequest++
	id := r.lastRequest
	system, self := ctx.ActorSystem(), ctx.Self()
	if r.pending == nil {
		r.pending = make(map[uint64]*roomRequest)
	}
	r.pending[id] = &roomRequest{cmd: cmd, member: m.id,
		timer: time.AfterFunc(r.loadTimeout, func() { system.Root.Send(self, &messages.ModerationTimedOut{RequestId: id}) })}
	ctx.Send(to, build(id))
	return errAnswerLater
}

// answered takes a pending command off the table, with the member that
// asked; nil if it is not there (it timed out), and a nil member if that
// one has left meanwhile.
func (r *room) answered(id uint64) (*roomRequest, *roomMember) {
	req, ok := r.pending[id]
	if !ok {
		return nil, nil
	}
	delete(r.pending, id)
	req.timer.Stop()
	if i, ok := r.index[req.member]; ok {
		return req, r.members[i]
	}
	return req, nil
}

func (r *room) handleModerationTimedOut(ctx actor.Context, msg *messages.ModerationTimedOut) {
	req, _ := r.answered(msg.GetRequestId())
	if req == nil {
		return
	}
	if req.cmd.GetAction() == messages.ModAction_MOD_ACTION_CLAIM {
		r.mod.claiming = false // its answer, if it comes, still counts: see handleRoomClaimed
	}
	r.modAnswer(ctx, req.cmd, nil, errors.New("no answer in time; please try again"))
}

// modAnswer answers a moderation command, and tells the members whose
// role it changed.
func (r *room) modAnswer(ctx actor.Context, cmd *messages.Moderate, lines []string, err error) {
	if errors.Is(err, errAnswerLater) {
		return
	}
	if err != nil {
		r.reject(ctx, cmd.GetReplyTo(), messages.Request_REQUEST_MODERATE, err.Error())
		return
	}
	r.reply(ctx, cmd.GetReplyTo(), &messages.Moderated{Lines: lines})
	r.tellRoles(ctx)
}

// handleModerate carries out a moderation command of a member, if it may,
// and if the member's own connection sent it. /unban and /bans may come
// from someone who is not in the room (an owner or op elsewhere), who says
// who it is in the command, as a joiner does in its join.
func (r *room) handleModerate(ctx actor.Context, msg *messages.Moderate, sender *actor.PID) {
	m := r.moderator(msg, sender)
	if m == nil {
		r.reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_MODERATE, "you are not in "+r.name)
		return
	}
	if !r.fromMember(m, msg, sender) {
		return
	}
	if _, member := r.index[m.id]; !member {
		defer r.report(ctx) // a room opened for this alone closes again
	}
	var lines []string
	var err error
	switch msg.GetAction() {
	case messages.ModAction_MOD_ACTION_CLAIM:
		err = r.claim(ctx, m, msg)
	case messages.ModAction_MOD_ACTION_OP, messages.ModAction_MOD_ACTION_DEOP:
		err = r.setOp(ctx, m, msg.GetTarget(), msg.GetAction() == messages.ModAction_MOD_ACTION_OP)
	case messages.ModAction_MOD_ACTION_BANS:
		lines, err = r.listBans(m)
	default:
		if !r.isOp(m) {
			err = fmt.Errorf("only the ops of %s may do that", r.name)
			break
		}
		lines, err = r.moderateAsOp(ctx, m, msg)
	}
	r.modAnswer(ctx, msg, lines, err)
}

// moderator is who sends a moderation command: a member, or (for /unban
// and /bans) someone elsewhere, as its command says; nil for anyone else.
func (r *room) moderator(msg *messages.Moderate, sender *actor.PID) *roomMember {
	if i, ok := r.index[msg.GetMemberId()]; ok {
		return r.members[i]
	}
	switch msg.GetAction() {
	case messages.ModAction_MOD_ACTION_UNBAN, messages.ModAction_MOD_ACTION_BANS:
		if pid := pidOf(msg.GetReplyTo()); pid != nil && msg.GetMemberId() != "" {
			return &roomMember{id: msg.GetMemberId(), pid: pid, nick: msg.GetNick(), account: msg.GetAccount(),
				accountID: msg.GetAccountId(), oper: msg.GetOperator()}
		}
	}
	return nil
}

// moderateAsOp carries out the commands every op may use.
func (r *room) moderateAsOp(ctx actor.Context, m *roomMember, msg *messages.Moderate) ([]string, error) {
	var until time.Time
	if d := msg.GetDurationMillis(); d > 0 {
		until = r.now().Add(time.Duration(d) * time.Millisecond)
	}
	switch msg.GetAction() {
	case messages.ModAction_MOD_ACTION_KICK:
		return nil, r.kick(ctx, m, msg.GetTarget(), msg.GetReason())
	case messages.ModAction_MOD_ACTION_BAN:
		return r.ban(ctx, m, msg, until)
	case messages.ModAction_MOD_ACTION_UNBAN:
		return r.unban(ctx, m, msg.GetTarget())
	case messages.ModAction_MOD_ACTION_MUTE, messages.ModAction_MOD_ACTION_UNMUTE:
		return nil, r.setMute(ctx, m, msg.GetTarget(), msg.GetAction() == messages.ModAction_MOD_ACTION_MUTE, until)
	case messages.ModAction_MOD_ACTION_PRIVATE, messages.ModAction_MOD_ACTION_PUBLIC:
		on := msg.GetAction() == messages.ModAction_MOD_ACTION_PRIVATE
		r.setEntry(ctx, entryFlag, flagPrivate, "", "", m.nick, time.Time{}, !on)
		r.logAction(m, "private", r.name, fmt.Sprint(on))
		r.announceMode(ctx, fmt.Sprintf("%s made %s %s", m.nick, r.name, map[bool]string{true: "invite-only", false: "open to everyone"}[on]),
			m.nick, map[bool]string{true: "+i", false: "-i"}[on], "")
		return nil, nil
	case messages.ModAction_MOD_ACTION_LOCK_TOPIC, messages.ModAction_MOD_ACTION_UNLOCK_TOPIC:
		if r.name == lobbyName {
			return nil, errors.New("the lobby's topic is always the operators' to set")
		}
		on := msg.GetAction() == messages.ModAction_MOD_ACTION_LOCK_TOPIC
		r.setEntry(ctx, entryFlag, flagTopicLocked, "", "", m.nick, time.Time{}, !on)
		r.logAction(m, "topic-lock", r.name, fmt.Sprint(on))
		r.announceMode(ctx, fmt.Sprintf("%s %s the topic: %s", m.nick, map[bool]string{true: "locked", false: "unlocked"}[on],
			map[bool]string{true: "only ops may change it", false: "anyone here may change it"}[on]), m.nick, map[bool]string{true: "+t", false: "-t"}[on], "")
		return nil, nil
	case messages.ModAction_MOD_ACTION_INVITE:
		return nil, r.askFor(ctx, m, msg, r.registry, func(id uint64) any {
			return &messages.ResolveTarget{Name: msg.GetTarget(), RequestId: id, ReplyTo: refOf(ctx.Self())}
		})
	}
	return nil, errors.New("unknown moderation command")
}

// handleTargetResolved carries on a ban or an invitation whose target the
// registry has looked up.
func (r *room) handleTargetResolved(ctx actor.Context, msg *messages.TargetResolved) {
	req, m := r.answered(msg.GetRequestId())
	if m == nil {
		return
	}
	var lines []string
	var err error
	switch {
	case !msg.GetFound():
		err = fmt.Errorf("nobody online is called %s, and no account has that name", msg.GetName())
	case req.cmd.GetAction() == messages.ModAction_MOD_ACTION_INVITE:
		lines, err = r.invite(ctx, m, msg)
	default:
		lines, err = r.banResolved(ctx, m, req.cmd, msg)
	}
	r.modAnswer(ctx, req.cmd, lines, err)
}

// announceMode tells every member of a change of the room's rules or
// rights, as a notice: the text is what the line protocol shows; IRC says
// it as a channel mode, by who, which ("+o", "-t"...), and to whom (a
// nick; empty for the room's own rules). The members whose role the action
// changed are told that first, so that whoever reads the notice and types
// on finds its connection knowing its new role.
func (r *room) announceMode(ctx actor.Context, text, by, mode, target string) {
	r.tellRoles(ctx)
	r.broadcast(ctx, &messages.ServerNotice{Text: text, Room: r.name, ModeBy: by, Mode: mode, ModeTarget: target}, "")
}

// logAction logs a moderation action: who, whom, why.
func (r *room) logAction(by *roomMember, action, target, reason string) {
	r.logger.Info("moderation", "action", action, "room", r.name, "by", by.nick, "by_account", by.account, "target", target, "reason", reason)
}

// claim makes the room's opener its owner, if the room has none. With a
// store, the store decides (insert-if-absent): two claims of one room, on
// two nodes or two instances of the room, cannot both take.
func (r *room) claim(ctx actor.Context, m *roomMember, cmd *messages.Moderate) error {
	switch {
	case r.name == lobbyName:
		return errors.New("the lobby belongs to the server's operators")
	case r.mod.unknown != "":
		return fmt.Errorf("%s cannot be claimed now: its settings could not be loaded; try again in a moment", r.name)
	case r.mod.owner != "":
		return fmt.Errorf("%s already has an owner: %s", r.name, r.mod.ownerLabel)
	case r.mod.claiming:
		return fmt.Errorf("a claim of %s is under way", r.name)
	case m.accountID == "" && !r.accountsOn:
		return errors.New("rooms have no owners on this server: it keeps no accounts")
	case m.accountID == "":
		return errors.New("only a registered user may own a room: /register your nick (or /identify) first")
	case m.id != r.mod.creator && !r.isAdmin(m):
		return fmt.Errorf("only whoever opened %s may claim it", r.name)
	}
	owner := &messages.RoomEntry{Room: r.name, Kind: entryOwner, Subject: m.accountID, Label: m.account, By: m.nick, UnixMillis: r.now().UnixMilli()}
	if r.store == nil {
		r.claimed(ctx, m, owner)
		return nil
	}
	r.mod.claiming = true
	return r.askFor(ctx, m, cmd, r.store, func(id uint64) any {
		return &messages.ClaimRoom{Owner: owner, RequestId: id, ReplyTo: refOf(ctx.Self())}
	})
}

// claimed makes owner the room's owner, and says so.
func (r *room) claimed(ctx actor.Context, m *roomMember, owner *messages.RoomEntry) {
	r.mod.apply(owner)
	r.logAction(m, "claim", r.name, "")
	r.announceMode(ctx, fmt.Sprintf("%s owns %s now", m.nick, r.name), m.nick, "+o", m.nick)
}

// handleRoomClaimed: the store's word on a claim. What the store says the
// owner is, is the owner, whether or not the claimer is still here to be
// told.
func (r *room) handleRoomClaimed(ctx actor.Context, msg *messages.RoomClaimed) {
	r.mod.claiming = false
	req, m := r.answered(msg.GetRequestId())
	if owner := msg.GetOwner(); msg.GetError() == "" && owner.GetSubject() != "" && (!msg.GetTook() || m == nil) {
		r.mod.apply(owner)
		r.tellRoles(ctx)
	}
	if m == nil {
		return
	}
	var err error
	switch {
	case msg.GetError() != "":
		r.logger.Warn("room: claim failed in the store", "room", r.name, "error", msg.GetError())
		err = fmt.Errorf("%s cannot be claimed now: the store is not answering; try again later", r.name)
	case !msg.GetTook():
		err = fmt.Errorf("%s already has an owner: %s", r.name, msg.GetOwner().GetLabel())
	default:
		r.claimed(ctx, m, msg.GetOwner())
	}
	r.modAnswer(ctx, req.cmd, nil, err)
}

// setOp makes a member an op (or no longer one): owners only. Ops are
// accounts, so the target must be identified; an op who is not here is
// found by account name to be taken op from.
func (r *room) setOp(ctx actor.Context, m *roomMember, nick string, on bool) error {
	if !r.isOwner(m) {
		return fmt.Errorf("only the owner of %s may do that", r.name)
	}
	t := r.memberByNick(nick)
	if t == nil && !on {
		for id, name := range r.mod.ops {
			if strings.EqualFold(name, nick) {
				r.setEntry(ctx, entryOp, id, name, "", m.nick, time.Time{}, true)
				r.logAction(m, "deop", name, "")
				r.announceMode(ctx, fmt.Sprintf("%s took op from %s", m.nick, name), m.nick, "-o", name)
				return nil
			}
		}
	}
	if t == nil {
		return fmt.Errorf("%s is not in %s", nick, r.name)
	}
	if t.accountID == "" {
		return fmt.Errorf("%s is not identified; ops must be registered users", t.nick)
	}
	if _, op := r.mod.ops[t.accountID]; on == op {
		return fmt.Errorf("%s is %san op already", t.nick, map[bool]string{true: "", false: "not "}[on])
	}
	r.setEntry(ctx, entryOp, t.accountID, t.account, "", m.nick, time.Time{}, !on)
	r.logAction(m, map[bool]string{true: "op", false: "deop"}[on], t.nick, "")
	r.announceMode(ctx, fmt.Sprintf("%s %s %s", m.nick, map[bool]string{true: "made an op:", false: "took op from"}[on], t.nick),
		m.nick, map[bool]string{true: "+o", false: "-o"}[on], t.nick)
	return nil
}

// memberByNick finds a member by nick, whatever the case.
func (r *room) memberByNick(nick string) *roomMember {
	for _, m := range r.members {
		if strings.EqualFold(m.nick, nick) {
			return m
		}
	}
	return nil
}

// outranks reports whether m may act against t: nobody acts against the
// owner or a server operator (but a server operator), and only the owner
// against an op.
func (r *room) outranks(m, t *roomMember) bool {
	switch {
	case r.isAdmin(t):
		return false
	case r.isOwner(t):
		return r.isAdmin(m)
	case r.isOp(t):
		return r.isOwner(m)
	}
	return true
}

func (r *room) kick(ctx actor.Context, m *roomMember, nick, reason string) error {
	t := r.memberByNick(nick)
	if t == nil {
		return fmt.Errorf("%s is not in %s", nick, r.name)
	}
	if t == m || !r.outranks(m, t) {
		return fmt.Errorf("you may not kick %s", t.nick)
	}
	r.logAction(m, "kick", t.nick, reason)
	r.putOut(ctx, t, m.nick, reason, false)
	return nil
}

// putOut removes a member for a kick or ban: it is told (its connection
// moves on to its other rooms, or the lobby) and everyone else is told why.
func (r *room) putOut(ctx actor.Context, t *roomMember, by, reason string, banned bool) {
	r.remove(t.id)
	r.rosterLeft(ctx, t)
	r.unwatch(ctx, t)
	r.send(ctx, t.pid, &messages.Kicked{Room: r.name, By: by, Reason: reason, Banned: banned})
	why := messages.LeaveReason_LEAVE_REASON_KICKED
	if banned {
		why = messages.LeaveReason_LEAVE_REASON_BANNED
	}
	// Every member hears it, in any room (a moderation, not a leave): as a
	// leave, so that a client that keeps a member list (IRC's KICK) drops
	// the member.
	r.tellRoles(ctx)
	r.broadcast(ctx, &messages.MemberLeft{Room: r.name, Nick: t.nick, Reason: why, Message: reason, By: by}, "")
	r.report(ctx)
}

// ban keeps out an account or an address range. The target is a member's
// nick (its account if identified, else its address), an address or range,
// or else someone the registry finds: a user online elsewhere, or an
// account. NICK/BITS bans the user's address range of that width too (a
// /24 of an office, a /48 of a site), whether or not it is identified.
func (r *room) ban(ctx actor.Context, m *roomMember, cmd *messages.Moderate, until time.Time) ([]string, error) {
	target, bits, err := splitBits(cmd.GetTarget())
	if err != nil {
		return nil, err
	}
	if t := r.memberByNick(target); t != nil {
		if t == m || !r.outranks(m, t) {
			return nil, fmt.Errorf("you may not ban %s", t.nick)
		}
		return r.banPerson(ctx, m, t.nick, t.accountID, t.account, t.address, bits, cmd.GetReason(), until)
	}
	if p, err := banPrefix(cmd.GetTarget()); err == nil {
		return r.banSubjects(ctx, m, []banned{{subject: banAddress + p.String()}}, cmd.GetReason(), until)
	}
	return nil, r.askFor(ctx, m, cmd, r.registry, func(id uint64) any {
		return &messages.ResolveTarget{Name: target, RequestId: id, ReplyTo: refOf(ctx.Self())}
	})
}

// splitBits splits NICK/BITS; bits is -1 without them. An address or range
// is left whole.
func splitBits(target string) (string, int, error) {
	name, b, ok := strings.Cut(target, "/")
	if !ok {
		return target, -1, nil
	}
	if _, err := parseIP(name); err == nil {
		return target, -1, nil // a CIDR range
	}
	bits, err := strconv.Atoi(b)
	if err != nil || bits < 1 || bits > 128 {
		return "", 0, fmt.Errorf("%q: after a nick, / takes the width of the address range to ban, like carol/24", target)
	}
	return name, bits, nil
}

// banned is one subject a ban keeps out, with its label.
type banned struct{ subject, label string }

// banPerson bans someone: its account if it has one (else its address,
// as one client), and with bits >= 0 its address range of that width too.
func (r *room) banPerson(ctx actor.Context, m *roomMember, nick, accountID, account, address string, bits int, reason string, until time.Time) ([]string, error) {
	var subjects []banned
	if accountID != "" || bits < 0 {
		subject, label := banSubjectOf(accountID, account, address)
		if subject != "" {
			subjects = append(subjects, banned{subject, label})
		}
	}
	if bits >= 0 {
		addr, err := parseIP(address)
		if err != nil {
			return nil, fmt.Errorf("%s has no address to ban", nick)
		}
		p, err := addr.Prefix(bits)
		if err != nil || bits > addr.BitLen() {
			return nil, fmt.Errorf("%s's address has %d bits; /%d is not a width of it", nick, addr.BitLen(), bits)
		}
		subjects = append(subjects, banned{subject: banAddress + p.String()})
	}
	if len(subjects) == 0 {
		return nil, fmt.Errorf("%s cannot be banned: no account and no address", nick)
	}
	return r.banSubjects(ctx, m, subjects, reason, until)
}

// banPrefix reads an address range to ban: a CIDR as given, or one
// address as the client it is (an IPv6 address by its /64, which one client
// may use all of).
func banPrefix(target string) (netip.Prefix, error) {
	if strings.Contains(target, "/") {
		return parsePrefix(target)
	}
	if _, err := parsePrefix(target); err != nil {
		return netip.Prefix{}, err
	}
	return ipkey.Parse(target)
}

// banSubjectOf is what banning someone keeps out: its account if it has
// one, else its address (an IPv6 address by its /64).
func banSubjectOf(accountID, account, address string) (subject, label string) {
	if accountID != "" {
		return banAccount + accountID, account
	}
	if p, err := ipkey.Parse(address); err == nil {
		return banAddress + p.String(), ""
	}
	return "", ""
}

// banResolved bans a target the registry found: a user online elsewhere,
// or an account.
func (r *room) banResolved(ctx actor.Context, m *roomMember, cmd *messages.Moderate, t *messages.TargetResolved) ([]string, error) {
	target := &roomMember{id: t.GetMemberId(), nick: t.GetName(), accountID: t.GetAccountId(), account: t.GetAccount()}
	if t.GetOperator() {
		return nil, fmt.Errorf("you may not ban %s", t.GetName())
	}
	if target.id == m.id || (target.accountID != "" && target.accountID == m.accountID) || !r.outranks(m, target) {
		return nil, fmt.Errorf("you may not ban %s", t.GetName())
	}
	var until time.Time
	if d := cmd.GetDurationMillis(); d > 0 {
		until = r.now().Add(time.Duration(d) * time.Millisecond)
	}
	_, bits, _ := splitBits(cmd.GetTarget())
	return r.banPerson(ctx, m, t.GetName(), t.GetAccountId(), t.GetAccount(), t.GetAddress(), bits, cmd.GetReason(), until)
}

// banSubjects keeps the subjects out, and puts out the members they cover
// (but those m may not act against). An op is told, and nothing is banned,
// when a range would cover the op itself: an owner or an operator is never
// refused at join, an op would be.
func (r *room) banSubjects(ctx actor.Context, m *roomMember, subjects []banned, reason string, until time.Time) ([]string, error) {
	if !r.isOwner(m) {
		for _, b := range subjects {
			if p, err := netip.ParsePrefix(strings.TrimPrefix(b.subject, banAddress)); err == nil && strings.HasPrefix(b.subject, banAddress) {
				if a, err := parseIP(m.address); err == nil && p.Contains(a) {
					return nil, fmt.Errorf("%s would ban you too (your address is in it); nothing was banned", p)
				}
			}
		}
	}
	var lines []string
	for _, b := range subjects {
		r.setEntry(ctx, entryBan, b.subject, b.label, reason, m.nick, until, false)
		r.logAction(m, "ban", b.subject, reason)
		lines = append(lines, fmt.Sprintf("Banned %s from %s%s.", banText(b.subject, b.label), r.name, untilText(until)))
	}
	var present []*roomMember
	for _, t := range slices.Clone(r.members) {
		if _, _, banned := r.banFor(ctx, t.accountID, t.address); banned && t != m && r.outranks(m, t) {
			present = append(present, t)
		}
	}
	for _, t := range present {
		r.putOut(ctx, t, m.nick, reason, true)
	}
	return lines, nil
}

// banText is how people read a ban's subject: "account bob", "address
// 192.0.2.0/24".
func banText(subject, label string) string {
	if strings.HasPrefix(subject, banAccount) {
		if label == "" {
			label = strings.TrimPrefix(subject, banAccount)
		}
		return "account " + label
	}
	return "address " + strings.TrimPrefix(subject, banAddress)
}

// unban lifts a ban: of an address or range, or of an account by its name.
func (r *room) unban(ctx actor.Context, m *roomMember, target string) ([]string, error) {
	var found []string
	if p, err := parsePrefix(target); err == nil {
		if _, ok := r.mod.bans[banAddress+p.String()]; ok {
			found = append(found, banAddress+p.String())
		}
	}
	for subject, b := range r.mod.bans {
		if subject == target || (strings.HasPrefix(subject, banAccount) && strings.EqualFold(b.label, target)) {
			found = append(found, subject)
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%s is not banned from %s; /bans lists the bans", target, r.name)
	}
	var lines []string
	for _, subject := range found {
		b := r.mod.bans[subject]
		r.setEntry(ctx, entryBan, subject, b.label, "", m.nick, time.Time{}, true)
		r.logAction(m, "unban", subject, "")
		lines = append(lines, fmt.Sprintf("Lifted the ban of %s from %s.", banText(subject, b.label), r.name))
	}
	return lines, nil
}

func (r *room) listBans(m *roomMember) ([]string, error) {
	if !r.isOp(m) {
		return nil, fmt.Errorf("only the ops of %s may do that", r.name)
	}
	if len(r.mod.bans) == 0 {
		return []string{"Nobody is banned from " + r.name + "."}, nil
	}
	type row struct{ text, subject string }
	rows := make([]row, 0, len(r.mod.bans))
	for s, b := range r.mod.bans {
		rows = append(rows, row{banText(s, b.label), s})
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.text, b.text) })
	lines := []string{fmt.Sprintf("%d banned from %s:", len(rows), r.name)}
	for _, row := range rows {
		b := r.mod.bans[row.subject]
		lines = append(lines, fmt.Sprintf("  %s by %s%s%s", row.text, b.by, untilText(b.expires), reasonText(b.reason)))
	}
	return lines, nil
}

// invite lets someone the registry found into the invite-only room: an
// identified user or an account by its account, a guest by its connection.
func (r *room) invite(ctx actor.Context, m *roomMember, t *messages.TargetResolved) ([]string, error) {
	key, who := banAccount+t.GetAccountId(), t.GetAccount()
	if t.GetAccountId() == "" {
		key, who = inviteMember+t.GetMemberId(), t.GetNick()
	}
	r.mod.invited[key] = who
	r.logAction(m, "invite", key, "")
	if t.GetNick() != "" && r.registry != nil {
		ctx.Send(r.registry, &messages.NoticeUser{Nick: t.GetNick(), Text: fmt.Sprintf("%s invites you to %s: /join %s", m.nick, r.name, r.name),
			InvitedBy: m.nick, InviteRoom: r.name})
	}
	how := "the account " + who
	if t.GetAccountId() == "" {
		how = who + " (a guest, for this connection)"
	}
	return []string{fmt.Sprintf("%s may now join %s (the invitation lasts while the room is open).", how, r.name)}, nil
}

func (r *room) setMute(ctx actor.Context, m *roomMember, nick string, on bool, until time.Time) error {
	t := r.memberByNick(nick)
	if t == nil {
		return fmt.Errorf("%s is not in %s", nick, r.name)
	}
	if t == m || !r.outranks(m, t) {
		return fmt.Errorf("you may not mute %s", t.nick)
	}
	keys := muteKeys(t)
	if len(keys) == 0 {
		return fmt.Errorf("%s cannot be muted: no account and no address", t.nick)
	}
	if on {
		r.mod.muted[keys[0]] = mute{until: until, by: m.nick}
		r.logAction(m, "mute", t.nick, keys[0]+untilText(until))
		r.announceMode(ctx, fmt.Sprintf("%s muted %s%s", m.nick, t.nick, untilText(until)), m.nick, "+q", t.nick)
		return nil
	}
	if r.mutedFor(t) == "" {
		return fmt.Errorf("%s is not muted", t.nick)
	}
	for _, k := range keys {
		delete(r.mod.muted, k)
	}
	r.logAction(m, "unmute", t.nick, "")
	r.announceMode(ctx, fmt.Sprintf("%s unmuted %s", m.nick, t.nick), m.nick, "-q", t.nick)
	return nil
}
