package actors

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/messages"
)

// Room entry kinds and subjects, as the store keeps them (internal/store).
const (
	entryOwner      = "owner"
	entryOp         = "op"
	entryFlag       = "flag"
	entryBan        = "ban"
	flagPrivate     = "private"
	flagTopicLocked = "topic-lock"
	banAccount      = "account:"
	banAddress      = "address:"
)

// moderation is a room's moderation state. Owner, ops, flags and bans are
// kept in the store (and come back with the room); mutes and invitations
// last as long as the room actor.
type moderation struct {
	owner       string          // account; empty: nobody has claimed the room
	ops         map[string]bool // accounts
	private     bool            // invite-only
	topicLocked bool            // only ops set the topic
	bans        map[string]ban  // "account:NAME" or "address:CIDR" -> ban
	invited     map[string]bool // case-folded nicks invited into a private room
	muted       map[string]mute // member id -> mute
	creator     string          // member id of the first to join while unowned: it may /claim
}

type ban struct {
	reason, by string
	at         time.Time
	expires    time.Time // zero: never
}

type mute struct {
	until time.Time // zero: until unmuted
	by    string
}

func newModeration() moderation {
	return moderation{ops: map[string]bool{}, bans: map[string]ban{}, invited: map[string]bool{}, muted: map[string]mute{}}
}

// apply takes one stored entry (or a queued change of one) into the state.
func (m *moderation) apply(e *messages.RoomEntry) {
	switch e.GetKind() {
	case entryOwner:
		if e.GetDelete() {
			m.owner = ""
		} else {
			m.owner = e.GetSubject()
		}
	case entryOp:
		if e.GetDelete() {
			delete(m.ops, e.GetSubject())
		} else {
			m.ops[e.GetSubject()] = true
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
		b := ban{reason: e.GetReason(), by: e.GetBy(), at: time.UnixMilli(e.GetUnixMillis())}
		if e.GetExpiresUnixMillis() != 0 {
			b.expires = time.UnixMilli(e.GetExpiresUnixMillis())
		}
		m.bans[e.GetSubject()] = b
	}
}

// mutedFor says why a member may not post now; "" if it may.
func (m *moderation) mutedFor(member *roomMember, now time.Time) string {
	mu, ok := m.muted[member.id]
	if !ok {
		return ""
	}
	if !mu.until.IsZero() && !now.Before(mu.until) {
		delete(m.muted, member.id)
		return ""
	}
	return "you are muted here by " + mu.by + untilText(mu.until)
}

// isAdmin, isOwner and isOp say what a member may do here: a server
// operator may do everything, an owner what an op may and more.
func (r *room) isAdmin(m *roomMember) bool { return r.admins.Has(m.account) }

func (r *room) isOwner(m *roomMember) bool {
	return r.isAdmin(m) || (m.account != "" && m.account == r.mod.owner)
}

func (r *room) isOp(m *roomMember) bool {
	return r.isOwner(m) || (m.account != "" && r.mod.ops[m.account])
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

// banFor returns the ban that keeps out a joiner with this account and
// address, if any; expired bans are lifted on the way.
func (r *room) banFor(ctx actor.Context, account, address string) (string, ban, bool) {
	now := r.now()
	addr, addrErr := parseIP(address)
	for subject, b := range r.mod.bans {
		if !b.expires.IsZero() && !now.Before(b.expires) {
			r.setEntry(ctx, entryBan, subject, "", "", time.Time{}, true)
			continue
		}
		switch {
		case account != "" && subject == banAccount+account:
			return subject, b, true
		case strings.HasPrefix(subject, banAddress) && addrErr == nil:
			if p, err := netip.ParsePrefix(strings.TrimPrefix(subject, banAddress)); err == nil && p.Contains(addr) {
				return subject, b, true
			}
		}
	}
	return "", ban{}, false
}

// refuseJoin says why a joiner may not enter; "" if it may.
func (r *room) refuseJoin(ctx actor.Context, msg *messages.JoinRoom) string {
	joiner := &roomMember{account: msg.GetAccount(), address: msg.GetAddress(), nick: msg.GetNick()}
	if r.isAdmin(joiner) {
		return ""
	}
	if _, b, banned := r.banFor(ctx, joiner.account, joiner.address); banned {
		return fmt.Sprintf("you are banned from %s%s%s", r.name, reasonText(b.reason), untilText(b.expires))
	}
	if r.mod.private && !r.isOp(joiner) && !r.mod.invited[foldNick(msg.GetNick())] {
		return fmt.Sprintf("%s is invite-only; ask one of its ops for an /invite", r.name)
	}
	return ""
}

// reasonText is ": reason", or nothing.
func reasonText(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// handleSetMemberAccount records the account a member identified as.
func (r *room) handleSetMemberAccount(ctx actor.Context, msg *messages.SetMemberAccount) {
	if i, ok := r.index[msg.GetMemberId()]; ok {
		r.members[i].account = msg.GetAccount()
		r.tellRoles(ctx)
	}
}

// setEntry changes the state and has the store keep the change.
func (r *room) setEntry(ctx actor.Context, kind, subject, reason, by string, expires time.Time, del bool) {
	e := &messages.RoomEntry{Room: r.name, Kind: kind, Subject: subject, Reason: reason, By: by, UnixMillis: r.now().UnixMilli(), Delete: del}
	if !expires.IsZero() {
		e.ExpiresUnixMillis = expires.UnixMilli()
	}
	r.mod.apply(e)
	if r.store != nil {
		ctx.Send(r.store, e)
	}
}

// handleModerate carries out a moderation command of a member, if it may.
func (r *room) handleModerate(ctx actor.Context, msg *messages.Moderate) {
	fail := func(reason string) { r.reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_MODERATE, reason) }
	i, ok := r.index[msg.GetMemberId()]
	if !ok {
		fail("you are not in " + r.name)
		return
	}
	m := r.members[i]
	var lines []string
	var err string
	switch msg.GetAction() {
	case messages.ModAction_MOD_ACTION_CLAIM:
		lines, err = r.claim(ctx, m)
	case messages.ModAction_MOD_ACTION_OP, messages.ModAction_MOD_ACTION_DEOP:
		lines, err = r.setOp(ctx, m, msg.GetTarget(), msg.GetAction() == messages.ModAction_MOD_ACTION_OP)
	case messages.ModAction_MOD_ACTION_BANS:
		lines, err = r.listBans(m)
	default:
		if !r.isOp(m) {
			err = fmt.Sprintf("only the ops of %s may do that", r.name)
			break
		}
		lines, err = r.moderateAsOp(ctx, m, msg)
	}
	if err != "" {
		fail(err)
		return
	}
	r.reply(ctx, msg.GetReplyTo(), &messages.Moderated{Lines: lines})
	r.tellRoles(ctx)
}

// moderateAsOp carries out the commands every op may use.
func (r *room) moderateAsOp(ctx actor.Context, m *roomMember, msg *messages.Moderate) ([]string, string) {
	var until time.Time
	if d := msg.GetDurationMillis(); d > 0 {
		until = r.now().Add(time.Duration(d) * time.Millisecond)
	}
	switch msg.GetAction() {
	case messages.ModAction_MOD_ACTION_KICK:
		return r.kick(ctx, m, msg.GetTarget(), msg.GetReason())
	case messages.ModAction_MOD_ACTION_BAN:
		return r.ban(ctx, m, msg.GetTarget(), msg.GetReason(), until)
	case messages.ModAction_MOD_ACTION_UNBAN:
		return r.unban(ctx, m, msg.GetTarget())
	case messages.ModAction_MOD_ACTION_MUTE, messages.ModAction_MOD_ACTION_UNMUTE:
		return r.setMute(ctx, m, msg.GetTarget(), msg.GetAction() == messages.ModAction_MOD_ACTION_MUTE, until)
	case messages.ModAction_MOD_ACTION_PRIVATE, messages.ModAction_MOD_ACTION_PUBLIC:
		on := msg.GetAction() == messages.ModAction_MOD_ACTION_PRIVATE
		r.setEntry(ctx, entryFlag, flagPrivate, "", m.account, time.Time{}, !on)
		r.logAction(m, "private", r.name, fmt.Sprint(on))
		r.announce(ctx, fmt.Sprintf("%s made %s %s", m.nick, r.name, map[bool]string{true: "invite-only", false: "open to everyone"}[on]))
		return nil, ""
	case messages.ModAction_MOD_ACTION_LOCK_TOPIC, messages.ModAction_MOD_ACTION_UNLOCK_TOPIC:
		on := msg.GetAction() == messages.ModAction_MOD_ACTION_LOCK_TOPIC
		r.setEntry(ctx, entryFlag, flagTopicLocked, "", m.account, time.Time{}, !on)
		r.logAction(m, "topic-lock", r.name, fmt.Sprint(on))
		r.announce(ctx, fmt.Sprintf("%s %s the topic: %s", m.nick, map[bool]string{true: "locked", false: "unlocked"}[on],
			map[bool]string{true: "only ops may change it", false: "anyone here may change it"}[on]))
		return nil, ""
	case messages.ModAction_MOD_ACTION_INVITE:
		nick := msg.GetTarget()
		r.mod.invited[foldNick(nick)] = true
		r.logAction(m, "invite", nick, "")
		if r.registry != nil {
			ctx.Send(r.registry, &messages.NoticeUser{Nick: nick, Text: fmt.Sprintf("%s invites you to %s: /join %s", m.nick, r.name, r.name)})
		}
		return []string{fmt.Sprintf("%s may now join %s (the invitation lasts while the room is open).", nick, r.name)}, ""
	}
	return nil, "unknown moderation command"
}

// announce tells every member, as a notice.
func (r *room) announce(ctx actor.Context, text string) {
	r.broadcast(ctx, &messages.ServerNotice{Text: text}, "")
}

// logAction logs a moderation action: who, whom, why.
func (r *room) logAction(by *roomMember, action, target, reason string) {
	r.logger.Info("moderation", "action", action, "room", r.name, "by", by.nick, "by_account", by.account, "target", target, "reason", reason)
}

func (r *room) claim(ctx actor.Context, m *roomMember) ([]string, string) {
	switch {
	case r.name == lobbyName:
		return nil, "the lobby belongs to the server's operators"
	case r.mod.owner != "":
		return nil, fmt.Sprintf("%s already has an owner", r.name)
	case m.account == "":
		return nil, "only a registered user may own a room: /register your nick (or /identify) first"
	case m.id != r.mod.creator && !r.isAdmin(m):
		return nil, fmt.Sprintf("only whoever opened %s may claim it", r.name)
	}
	r.setEntry(ctx, entryOwner, m.account, "", m.account, time.Time{}, false)
	r.logAction(m, "claim", r.name, "")
	r.announce(ctx, fmt.Sprintf("%s owns %s now", m.nick, r.name))
	return nil, ""
}

// setOp makes a member an op (or no longer one): owners only. Ops are
// accounts, so the target must be identified.
func (r *room) setOp(ctx actor.Context, m *roomMember, nick string, on bool) ([]string, string) {
	if !r.isOwner(m) {
		return nil, fmt.Sprintf("only the owner of %s may do that", r.name)
	}
	t := r.memberByNick(nick)
	if t == nil {
		return nil, fmt.Sprintf("%s is not in %s", nick, r.name)
	}
	if t.account == "" {
		return nil, fmt.Sprintf("%s is not identified; ops must be registered users", t.nick)
	}
	if on == r.mod.ops[t.account] {
		return nil, fmt.Sprintf("%s is %san op already", t.nick, map[bool]string{true: "", false: "not "}[on])
	}
	r.setEntry(ctx, entryOp, t.account, "", m.account, time.Time{}, !on)
	r.logAction(m, map[bool]string{true: "op", false: "deop"}[on], t.nick, "")
	r.announce(ctx, fmt.Sprintf("%s %s %s", m.nick, map[bool]string{true: "made an op:", false: "took op from"}[on], t.nick))
	return nil, ""
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

func (r *room) kick(ctx actor.Context, m *roomMember, nick, reason string) ([]string, string) {
	t := r.memberByNick(nick)
	if t == nil {
		return nil, fmt.Sprintf("%s is not in %s", nick, r.name)
	}
	if t == m || !r.outranks(m, t) {
		return nil, fmt.Sprintf("you may not kick %s", t.nick)
	}
	r.logAction(m, "kick", t.nick, reason)
	r.putOut(ctx, t, m.nick, reason, false)
	return nil, ""
}

// putOut removes a member for a kick or ban: it is told (its connection
// moves it to the lobby) and everyone else is told why.
func (r *room) putOut(ctx actor.Context, t *roomMember, by, reason string, banned bool) {
	r.remove(t.id)
	r.rosterLeft(ctx, t)
	r.unwatch(ctx, t)
	r.send(ctx, t.pid, &messages.Kicked{Room: r.name, By: by, Reason: reason, Banned: banned})
	what := "kicked"
	if banned {
		what = "banned"
	}
	r.announce(ctx, fmt.Sprintf("%s was %s by %s%s", t.nick, what, by, reasonText(reason)))
	r.report(ctx)
}

// ban keeps out an account or an address range. The target is a member's
// nick (its account if identified, else its address), an address or range,
// or else an account name.
func (r *room) ban(ctx actor.Context, m *roomMember, target, reason string, until time.Time) ([]string, string) {
	subject := ""
	var present []*roomMember
	if t := r.memberByNick(target); t != nil {
		if t == m || !r.outranks(m, t) {
			return nil, fmt.Sprintf("you may not ban %s", t.nick)
		}
		if t.account != "" {
			subject = banAccount + t.account
		} else if p, err := parsePrefix(addressOnly(t.address)); err == nil {
			subject = banAddress + p.String()
		}
	} else if p, err := parsePrefix(target); err == nil {
		subject = banAddress + p.String()
	} else {
		subject = banAccount + foldNick(target)
	}
	if subject == "" {
		return nil, fmt.Sprintf("%s cannot be banned: no account and no address", target)
	}
	r.setEntry(ctx, entryBan, subject, reason, m.account, until, false)
	r.logAction(m, "ban", subject, reason)
	for _, t := range slices.Clone(r.members) {
		if _, _, banned := r.banFor(ctx, t.account, t.address); banned && t != m && r.outranks(m, t) {
			present = append(present, t)
		}
	}
	for _, t := range present {
		r.putOut(ctx, t, m.nick, reason, true)
	}
	return []string{fmt.Sprintf("Banned %s from %s%s.", subject, r.name, untilText(until))}, ""
}

// addressOnly is an "ip:port" without its port.
func addressOnly(s string) string {
	if a, err := parseIP(s); err == nil {
		return a.String()
	}
	return s
}

func (r *room) unban(ctx actor.Context, m *roomMember, target string) ([]string, string) {
	candidates := []string{target, banAccount + foldNick(target)}
	if p, err := parsePrefix(target); err == nil {
		candidates = append(candidates, banAddress+p.String())
	}
	for _, subject := range candidates {
		if _, ok := r.mod.bans[subject]; ok {
			r.setEntry(ctx, entryBan, subject, "", m.account, time.Time{}, true)
			r.logAction(m, "unban", subject, "")
			return []string{fmt.Sprintf("Lifted the ban of %s from %s.", subject, r.name)}, ""
		}
	}
	return nil, fmt.Sprintf("%s is not banned from %s; /bans lists the bans", target, r.name)
}

func (r *room) listBans(m *roomMember) ([]string, string) {
	if !r.isOp(m) {
		return nil, fmt.Sprintf("only the ops of %s may do that", r.name)
	}
	if len(r.mod.bans) == 0 {
		return []string{"Nobody is banned from " + r.name + "."}, ""
	}
	subjects := make([]string, 0, len(r.mod.bans))
	for s := range r.mod.bans {
		subjects = append(subjects, s)
	}
	slices.Sort(subjects)
	lines := []string{fmt.Sprintf("%d banned from %s:", len(subjects), r.name)}
	for _, s := range subjects {
		b := r.mod.bans[s]
		lines = append(lines, fmt.Sprintf("  %s by %s%s%s", s, b.by, untilText(b.expires), reasonText(b.reason)))
	}
	return lines, ""
}

func (r *room) setMute(ctx actor.Context, m *roomMember, nick string, on bool, until time.Time) ([]string, string) {
	t := r.memberByNick(nick)
	if t == nil {
		return nil, fmt.Sprintf("%s is not in %s", nick, r.name)
	}
	if t == m || !r.outranks(m, t) {
		return nil, fmt.Sprintf("you may not mute %s", t.nick)
	}
	if on {
		r.mod.muted[t.id] = mute{until: until, by: m.nick}
		r.logAction(m, "mute", t.nick, untilText(until))
		r.announce(ctx, fmt.Sprintf("%s muted %s%s", m.nick, t.nick, untilText(until)))
		return nil, ""
	}
	if _, ok := r.mod.muted[t.id]; !ok {
		return nil, fmt.Sprintf("%s is not muted", t.nick)
	}
	delete(r.mod.muted, t.id)
	r.logAction(m, "unmute", t.nick, "")
	r.announce(ctx, fmt.Sprintf("%s unmuted %s", m.nick, t.nick))
	return nil, ""
}
