package actors

import (
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/messages"
)

// minDuration is the shortest ban, mute or k-line: a shorter one is a
// typo (1us), and one under a millisecond would be stored as none, which
// means forever.
const minDuration = time.Second

// errShortDuration is the answer to a duration under minDuration.
var errShortDuration = fmt.Errorf("a duration is at least %v (like 10m, 2h or 7d); leave it out for one that lasts until lifted", minDuration)

// splitTarget splits "TARGET [DURATION] [REASON...]": the duration is taken
// if the second word reads as one (10m, 2h, 7d); one under a second is an
// error.
func splitTarget(args string) (target string, d time.Duration, reason string, err error) {
	target, rest, _ := strings.Cut(strings.TrimSpace(args), " ")
	rest = strings.TrimSpace(rest)
	first, after, _ := strings.Cut(rest, " ")
	if age, perr := store.ParseAge(first); perr == nil && first != "" {
		if age < minDuration {
			return target, 0, "", errShortDuration
		}
		return target, age, strings.TrimSpace(after), nil
	}
	return target, 0, rest, nil
}

// moderate sends a moderation command to our room.
func (c *connection) moderate(ctx actor.Context, action messages.ModAction, target string, d time.Duration, reason, command string) {
	c.ask(ctx, c.here.pid, &messages.Moderate{MemberId: c.member, Action: action, Target: target, DurationMillis: d.Milliseconds(),
		Reason: reason}, command, on((*connection).showModerated))
}

// modCommand makes the run function of a room moderation command.
func modCommand(action messages.ModAction, name string, withTarget, withDuration bool) func(c *connection, ctx actor.Context, args string) {
	return func(c *connection, ctx actor.Context, args string) {
		target, d, reason := "", time.Duration(0), ""
		switch {
		case withDuration:
			var err error
			if target, d, reason, err = splitTarget(args); err != nil {
				c.sendError(ctx, err.Error())
				return
			}
		case withTarget:
			target, reason, _ = strings.Cut(strings.TrimSpace(args), " ")
			reason = strings.TrimSpace(reason)
		}
		c.moderate(ctx, action, target, d, reason, "/"+name)
	}
}

// elsewhere makes the run function of a command that takes the room first
// when it is for another room than ours: /unban [ROOM] TARGET (two words),
// /bans [ROOM] (one word). The command goes through the rooms actor,
// saying who we are; the room checks that we may.
func elsewhere(action messages.ModAction, name string, words int) func(c *connection, ctx actor.Context, args string) {
	return func(c *connection, ctx actor.Context, args string) {
		fields := strings.Fields(args)
		if len(fields) < words {
			if c.here == nil {
				c.sendError(ctx, fmt.Sprintf("you are in no room: /%s ROOM%s", name, map[bool]string{true: " TARGET", false: ""}[words == 2]))
				return
			}
			c.moderate(ctx, action, strings.Join(fields, " "), 0, "", "/"+name)
			return
		}
		room, err := normalizeRoomName(fields[0])
		if err != nil {
			c.sendError(ctx, err.Error())
			return
		}
		c.ask(ctx, c.env.rooms, &messages.Moderate{MemberId: c.member, Action: action, Target: strings.Join(fields[1:], " "), Room: room,
			Nick: c.nick, Account: c.account, AccountId: c.accountID, Operator: c.oper}, "/"+name, on((*connection).showModerated))
	}
}

// onOff makes the run function of "/NAME on|off".
func onOff(on, off messages.ModAction, name string) func(c *connection, ctx actor.Context, args string) {
	return func(c *connection, ctx actor.Context, args string) {
		switch strings.ToLower(strings.TrimSpace(args)) {
		case "on":
			c.moderate(ctx, on, "", 0, "", "/"+name)
		case "off":
			c.moderate(ctx, off, "", 0, "", "/"+name)
		default:
			c.sendError(ctx, fmt.Sprintf("usage: /%s on|off", name))
		}
	}
}

// adminCommand makes the run function of a server operator's command.
func adminCommand(action messages.AdminAction, name string, withDuration bool) func(c *connection, ctx actor.Context, args string) {
	return func(c *connection, ctx actor.Context, args string) {
		msg := &messages.AdminCommand{MemberId: c.member, Action: action, ReplyTo: refOf(ctx.Self())}
		switch action {
		case messages.AdminAction_ADMIN_ACTION_WALL:
			msg.Text = args
		case messages.AdminAction_ADMIN_ACTION_KLINES:
		default:
			var d time.Duration
			if withDuration {
				var err error
				if msg.Target, d, msg.Text, err = splitTarget(args); err != nil {
					c.sendError(ctx, err.Error())
					return
				}
			} else {
				msg.Target, msg.Text, _ = strings.Cut(strings.TrimSpace(args), " ")
				msg.Text = strings.TrimSpace(msg.Text)
			}
			msg.DurationMillis = d.Milliseconds()
		}
		c.ask(ctx, c.env.registry, msg, "/"+name, on(func(c *connection, ctx actor.Context, done *messages.AdminDone) { c.showLines(ctx, done.GetLines()) }))
	}
}

// moderationCommands are the room moderators' and the server operators'
// commands, for the command table.
func moderationCommands() []*command {
	admin := func(c *connection) bool { return c.env.admins.Valid(c.oper) }
	role := func(roles ...messages.RoomRole) func(c *connection) bool {
		return func(c *connection) bool {
			if c.here == nil {
				return false
			}
			for _, r := range roles {
				if c.here.role == r {
					return true
				}
			}
			return admin(c) && (c.here.name != lobbyName || roles[0] != messages.RoomRole_ROOM_ROLE_CREATOR)
		}
	}
	creator := role(messages.RoomRole_ROOM_ROLE_CREATOR)
	owner := role(messages.RoomRole_ROOM_ROLE_OWNER)
	op := role(messages.RoomRole_ROOM_ROLE_OP, messages.RoomRole_ROOM_ROLE_OWNER)
	const durations = "DURATION is like 10m, 2h or 7d; without it, until lifted."
	return []*command{
		{name: "claim", usage: "/claim", summary: "become the owner of the room you opened (registered users)", needRoom: true, usable: creator,
			detail: "The owner makes ops (/op) and keeps the room's ops, bans and settings across restarts.",
			run:    modCommand(messages.ModAction_MOD_ACTION_CLAIM, "claim", false, false)},
		{name: "op", usage: "/op NICK", summary: "make a registered member an op of your room (owners)", minArgs: 1, needRoom: true, usable: owner,
			run: modCommand(messages.ModAction_MOD_ACTION_OP, "op", true, false)},
		{name: "deop", usage: "/deop NICK", summary: "take op from a member (owners)", minArgs: 1, needRoom: true, usable: owner,
			run: modCommand(messages.ModAction_MOD_ACTION_DEOP, "deop", true, false)},
		{name: "kick", usage: "/kick NICK [REASON]", summary: "put a member out of the room (ops)", minArgs: 1, needRoom: true, usable: op,
			run: modCommand(messages.ModAction_MOD_ACTION_KICK, "kick", true, false)},
		{name: "ban", usage: "/ban NICK[/BITS]|ACCOUNT|ADDRESS [DURATION] [REASON]", summary: "keep someone out of the room (ops)", minArgs: 1, needRoom: true, usable: op,
			detail: "Someone online (here or elsewhere) is banned by account if identified, else by address (an IPv6 address by its /64); " +
				"NICK/24 bans the user's address range of that width too; an account by its name; ADDRESS may be a CIDR range. " + durations,
			run: modCommand(messages.ModAction_MOD_ACTION_BAN, "ban", true, true)},
		{name: "unban", usage: "/unban [ROOM] ACCOUNT|ADDRESS", summary: "lift a ban (ops; of another room than yours, from anywhere)", minArgs: 1, usable: op,
			run: elsewhere(messages.ModAction_MOD_ACTION_UNBAN, "unban", 2)},
		{name: "bans", usage: "/bans [ROOM]", summary: "the room's bans (ops; of another room than yours, from anywhere)", usable: op,
			run: elsewhere(messages.ModAction_MOD_ACTION_BANS, "bans", 1)},
		{name: "mute", usage: "/mute NICK [DURATION]", summary: "a member stays but cannot post (ops)", minArgs: 1, needRoom: true, usable: op,
			detail: durations + " A mute ends when the member leaves the room.",
			run:    modCommand(messages.ModAction_MOD_ACTION_MUTE, "mute", true, true)},
		{name: "unmute", usage: "/unmute NICK", summary: "let a muted member post again (ops)", minArgs: 1, needRoom: true, usable: op,
			run: modCommand(messages.ModAction_MOD_ACTION_UNMUTE, "unmute", true, false)},
		{name: "private", usage: "/private on|off", summary: "make the room invite-only, or open (ops)", minArgs: 1, needRoom: true, usable: op,
			run: onOff(messages.ModAction_MOD_ACTION_PRIVATE, messages.ModAction_MOD_ACTION_PUBLIC, "private")},
		{name: "invite", usage: "/invite NICK", summary: "let someone into your invite-only room (ops)", minArgs: 1, needRoom: true, usable: op,
			run: modCommand(messages.ModAction_MOD_ACTION_INVITE, "invite", true, false)},
		{name: "topiclock", usage: "/topiclock on|off", summary: "only ops may set the topic, or anyone (ops)", minArgs: 1, needRoom: true, usable: op,
			run: onOff(messages.ModAction_MOD_ACTION_LOCK_TOPIC, messages.ModAction_MOD_ACTION_UNLOCK_TOPIC, "topiclock")},
		{name: "oper", usage: "/oper NAME [PASSWORD]", summary: "become a server operator, with the operator's password", minArgs: 1,
			detail: "The operators and their passwords are in the server's -admins file; alone, NAME's password is asked for (hidden on telnet).",
			run:    (*connection).cmdOper},
		{name: "wall", usage: "/wall TEXT", summary: "a notice to everyone online (server operators)", minArgs: 1, usable: admin,
			run: adminCommand(messages.AdminAction_ADMIN_ACTION_WALL, "wall", false)},
		{name: "kill", usage: "/kill NICK [REASON]", summary: "disconnect a user (server operators)", minArgs: 1, usable: admin,
			run: adminCommand(messages.AdminAction_ADMIN_ACTION_KILL, "kill", false)},
		{name: "kline", usage: "/kline ADDRESS|CIDR [DURATION] [REASON]", summary: "refuse connections from an address range (server operators)", minArgs: 1, usable: admin,
			detail: "Kept across restarts; who is online from it is disconnected. " + durations,
			run:    adminCommand(messages.AdminAction_ADMIN_ACTION_KLINE, "kline", true)},
		{name: "unkline", usage: "/unkline ADDRESS|CIDR", summary: "lift a k-line (server operators)", minArgs: 1, usable: admin,
			run: adminCommand(messages.AdminAction_ADMIN_ACTION_UNKLINE, "unkline", false)},
		{name: "klines", usage: "/klines", summary: "the k-lines (server operators)", usable: admin,
			run: adminCommand(messages.AdminAction_ADMIN_ACTION_KLINES, "klines", false)},
	}
}

// showModerated shows a room's answer to a moderation command.
func (c *connection) showModerated(ctx actor.Context, msg *messages.Moderated) {
	c.showLines(ctx, msg.GetLines())
}

// showLines shows an answer's lines, as notices.
func (c *connection) showLines(ctx actor.Context, lines []string) {
	for _, l := range lines {
		c.sendNotice(ctx, l)
	}
}

// handleKilled: a server operator disconnects us.
func (c *connection) handleKilled(ctx actor.Context, msg *messages.Killed) {
	c.sendNotice(ctx, fmt.Sprintf("You are disconnected by %s%s", msg.GetBy(), reasonText(msg.GetReason())))
	c.quitMsg = "by " + msg.GetBy() + reasonText(msg.GetReason())
	c.stop(ctx, messages.LeaveReason_LEAVE_REASON_KILLED)
}
