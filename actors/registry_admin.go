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

// entryKline is the kind of the store entries (room "") that hold k-lines.
const entryKline = "kline"

// handleAdmin carries out a server operator's command, sent by the
// operator's own connection. Every one is logged with who, whom and why.
func (r *registry) handleAdmin(ctx actor.Context, msg *messages.AdminCommand, sender *actor.PID) {
	fail := func(reason string) { reject(ctx, msg.GetReplyTo(), messages.Request_REQUEST_ADMIN, reason) }
	u, ok := r.byMember[msg.GetMemberId()]
	if ok && !samePID(sender, u.pid) {
		r.logger.Warn("ignored an operator command not sent by the member's connection", "member", u.memberID, "sender", sender.String())
		return
	}
	if !ok || !r.admins.Valid(u.oper) {
		fail("only the server's operators may do that; /oper NAME first")
		return
	}
	var lines []string
	var err string
	switch msg.GetAction() {
	case messages.AdminAction_ADMIN_ACTION_WALL:
		lines = r.wall(ctx, u, msg.GetText())
	case messages.AdminAction_ADMIN_ACTION_KILL:
		lines, err = r.kill(ctx, u, msg.GetTarget(), msg.GetText())
	case messages.AdminAction_ADMIN_ACTION_KLINE:
		lines, err = r.kline(ctx, u, msg.GetTarget(), msg.GetText(), msg.GetDurationMillis())
	case messages.AdminAction_ADMIN_ACTION_UNKLINE:
		lines, err = r.unkline(ctx, u, msg.GetTarget())
	case messages.AdminAction_ADMIN_ACTION_KLINES:
		lines = r.listKlines()
	default:
		err = "unknown operator command"
	}
	if err != "" {
		fail(err)
		return
	}
	reply(ctx, msg.GetReplyTo(), &messages.AdminDone{Lines: lines})
}

func (r *registry) logAdmin(by *registeredUser, action, target, reason string) {
	r.logger.Info("moderation", "action", action, "by", by.nick, "operator", operatorName(by.oper), "target", target, "reason", reason)
}

// wall sends a notice to everyone online.
func (r *registry) wall(ctx actor.Context, by *registeredUser, text string) []string {
	notice := &messages.ServerNotice{Text: fmt.Sprintf("[wall] %s: %s", by.nick, text), WallBy: by.nick, WallText: text}
	for _, u := range r.byMember {
		ctx.Send(u.pid, notice)
	}
	r.logAdmin(by, "wall", "", text)
	return []string{fmt.Sprintf("Sent to %d online.", len(r.byMember))}
}

// kill disconnects a user.
func (r *registry) kill(ctx actor.Context, by *registeredUser, nick, reason string) ([]string, string) {
	u := r.lookup(nick, "")
	if u == nil {
		return nil, fmt.Sprintf("no such nick: %s", nick)
	}
	if u == by {
		return nil, "you may not /kill yourself; /quit"
	}
	ctx.Request(u.pid, &messages.Killed{By: by.nick, Reason: reason})
	r.logAdmin(by, "kill", u.nick, reason)
	return []string{fmt.Sprintf("%s is disconnected.", u.nick)}, ""
}

// kline refuses an address range at accept from now on (kept in the
// store), and disconnects who is online from it, but server operators. A
// range wider than the rules allow, or one that covers loopback, is
// refused.
func (r *registry) kline(ctx actor.Context, by *registeredUser, target, reason string, durationMillis int64) ([]string, string) {
	p, err := parsePrefix(target)
	if err != nil {
		return nil, err.Error()
	}
	if err := r.klineRules.check(p); err != nil {
		return nil, err.Error()
	}
	kl := kline{prefix: p, reason: reason, by: operatorName(by.oper)}
	if durationMillis > 0 {
		kl.expires = time.Now().Add(time.Duration(durationMillis) * time.Millisecond)
	}
	r.klines.with(kl)
	r.keep(ctx, kl, false)
	r.logAdmin(by, "kline", p.String(), reason)
	n := 0
	for _, u := range r.byMember {
		if a, err := parseIP(u.address); err == nil && p.Contains(a) && u != by && !r.admins.Valid(u.oper) {
			ctx.Request(u.pid, &messages.Killed{By: by.nick, Reason: "k-lined" + reasonText(reason)})
			n++
		}
	}
	return []string{fmt.Sprintf("K-lined %s%s; %d online from it disconnected.", p, untilText(kl.expires), n)}, ""
}

func (r *registry) unkline(ctx actor.Context, by *registeredUser, target string) ([]string, string) {
	p, err := parsePrefix(target)
	if err != nil {
		return nil, err.Error()
	}
	if !r.klines.without(p) {
		return nil, fmt.Sprintf("%s is not k-lined; /klines lists them", p)
	}
	r.keep(ctx, kline{prefix: p, by: operatorName(by.oper)}, true)
	r.logAdmin(by, "unkline", p.String(), "")
	return []string{fmt.Sprintf("Lifted the k-line of %s.", p)}, ""
}

// keep has the store keep a k-line change and, in a cluster, tells every
// other node's registry, whose accept loops refuse by their own node's
// k-lines.
func (r *registry) keep(ctx actor.Context, kl kline, del bool) {
	e := &messages.RoomEntry{Kind: entryKline, Subject: kl.prefix.String(), Reason: kl.reason, By: kl.by, UnixMillis: time.Now().UnixMilli(), Delete: del}
	if !kl.expires.IsZero() {
		e.ExpiresUnixMillis = kl.expires.UnixMilli()
	}
	for _, node := range r.nodes {
		if node != ctx.Self().GetAddress() {
			r.metrics.clusterSent.Inc()
			ctx.Request(actor.NewPID(node, registryActorID), e)
		}
	}
	if r.store != nil {
		ctx.Send(r.store, e)
	}
}

// handleKlineEntry applies a k-line change the coordinator's registry made
// (in a cluster), to this node's k-lines.
func (r *registry) handleKlineEntry(e *messages.RoomEntry) {
	p, err := netip.ParsePrefix(e.GetSubject())
	if err != nil || e.GetKind() != entryKline || e.GetRoom() != "" {
		return
	}
	if e.GetDelete() {
		r.klines.without(p)
		return
	}
	kl := kline{prefix: p, reason: e.GetReason(), by: e.GetBy()}
	if ms := e.GetExpiresUnixMillis(); ms != 0 {
		kl.expires = time.UnixMilli(ms)
	}
	r.klines.with(kl)
}

func (r *registry) listKlines() []string {
	now := time.Now()
	list := slices.DeleteFunc(r.klines.snapshot(), func(k kline) bool { return !k.expires.IsZero() && !now.Before(k.expires) })
	if len(list) == 0 {
		return []string{"No address is k-lined."}
	}
	slices.SortFunc(list, func(a, b kline) int { return strings.Compare(a.prefix.String(), b.prefix.String()) })
	lines := []string{fmt.Sprintf("%d k-lined:", len(list))}
	for _, k := range list {
		lines = append(lines, fmt.Sprintf("  %s by %s%s%s", k.prefix, k.by, untilText(k.expires), reasonText(k.reason)))
	}
	return lines
}

// handleNoticeUser passes a notice to a user by nick, if online.
func (r *registry) handleNoticeUser(ctx actor.Context, msg *messages.NoticeUser) {
	if u := r.lookup(msg.GetNick(), ""); u != nil {
		ctx.Send(u.pid, &messages.ServerNotice{Text: msg.GetText(), InvitedBy: msg.GetInvitedBy(), InviteRoom: msg.GetInviteRoom()})
	}
}
