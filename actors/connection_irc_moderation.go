package actors

import (
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/irc"
	"github.com/actorchat/actorchat/messages"
)

// A room's moderation from IRC: MODE's changes, KICK and INVITE are the
// room's own commands (/op, /ban, /private, /topiclock, /mute, /kick,
// /invite), sent to the room named, which decides who may; every member
// then reads the change (a MODE, a KICK) as the room announces it.
//
// The modes are what rooms have: o (an op: the room's ops are registered
// users), b (a ban: a nick, an account, an address or a range; a mask
// nick!user@host bans its nick, or its host when the nick is *), q (a
// mute: the chat's /mute, as IRC servers' quiet), i (invite-only) and t
// (the topic is the ops'). ISUPPORT says so: CHANMODES=bq,,,it PREFIX=(o)@.

// ircModeChange: MODE #room CHANGES [PARAMS...].
func (c *connection) ircModeChange(ctx actor.Context, m *irc.Message, ms *membership) {
	channel, params := m.Param(0), m.Params[2:]
	next := func() string {
		if len(params) == 0 {
			return ""
		}
		p := params[0]
		params = params[1:]
		return p
	}
	on := true
	for _, mode := range m.Param(1) {
		switch mode {
		case '+', '-':
			on = mode == '+'
		case 'i':
			c.ircModerate(ctx, ms, channel, pick(on, messages.ModAction_MOD_ACTION_PRIVATE, messages.ModAction_MOD_ACTION_PUBLIC), "")
		case 't':
			c.ircModerate(ctx, ms, channel, pick(on, messages.ModAction_MOD_ACTION_LOCK_TOPIC, messages.ModAction_MOD_ACTION_UNLOCK_TOPIC), "")
		case 'o', 'q':
			target := next()
			if target == "" {
				c.numeric(ctx, irc.ErrNeedMoreParams, "MODE", "Not enough parameters")
				continue
			}
			action := pick(on, messages.ModAction_MOD_ACTION_OP, messages.ModAction_MOD_ACTION_DEOP)
			if mode == 'q' {
				action = pick(on, messages.ModAction_MOD_ACTION_MUTE, messages.ModAction_MOD_ACTION_UNMUTE)
			}
			c.ircModerate(ctx, ms, channel, action, irc.ChatNick(target))
		case 'b':
			mask := next()
			if mask == "" { // the list
				c.ircModerate(ctx, ms, channel, messages.ModAction_MOD_ACTION_BANS, "")
				continue
			}
			target, ok := banTarget(mask)
			if !ok {
				c.numeric(ctx, irc.ErrInvalidModeParam, channel, "b", mask, "Wildcards other than nick!*@* and *!*@host are not supported")
				continue
			}
			c.ircModerate(ctx, ms, channel, pick(on, messages.ModAction_MOD_ACTION_BAN, messages.ModAction_MOD_ACTION_UNBAN), target)
		default:
			c.numeric(ctx, irc.ErrUnknownMode, string(mode), "is unknown mode char to me")
		}
	}
}

func pick(on bool, yes, no messages.ModAction) messages.ModAction {
	if on {
		return yes
	}
	return no
}

// banTarget reads a ban mask as what the chat bans: nick!*@* is the nick
// (its account or address, as /ban NICK), *!*@host is the host (an address
// or a range), a bare word is itself.
func banTarget(mask string) (string, bool) {
	nick, host, hasHost := strings.Cut(mask, "@")
	nick, _, _ = strings.Cut(nick, "!")
	switch {
	case !hasHost:
		nick = mask
	case nick == "*" && !strings.ContainsAny(host, "*?"):
		return host, true
	}
	if nick == "" || strings.ContainsAny(nick, "*?") {
		return "", false
	}
	return irc.ChatNick(nick), true
}

// ircModerate sends one moderation command to a room. A refusal reads as
// ERR_CHANOPRIVSNEEDED with the room's reason; the change itself comes
// back as the room's announcement (a MODE), the ban list as notices.
func (c *connection) ircModerate(ctx actor.Context, ms *membership, channel string, action messages.ModAction, target string) {
	p := c.ask(ctx, ms.pid, &messages.Moderate{MemberId: c.member, Action: action, Target: target}, "MODE", on(func(c *connection, ctx actor.Context, done *messages.Moderated) {
		switch action {
		case messages.ModAction_MOD_ACTION_BANS:
			c.showRoomLines(ctx, ms.name, done.GetLines())
			c.numeric(ctx, irc.RplEndOfBanList, channel, "End of channel ban list")
		case messages.ModAction_MOD_ACTION_BAN, messages.ModAction_MOD_ACTION_UNBAN, messages.ModAction_MOD_ACTION_INVITE:
			c.showRoomLines(ctx, ms.name, done.GetLines()) // what was banned, for how long
		}
	}))
	p.refused = func(c *connection, ctx actor.Context, reason string) {
		if action == messages.ModAction_MOD_ACTION_BANS {
			// Clients ask for the list on joining: one who may not see it
			// reads an empty one, not an error each time.
			c.numeric(ctx, irc.RplEndOfBanList, channel, "End of channel ban list")
			return
		}
		c.numeric(ctx, irc.ErrChanOPrivsNeeded, channel, reason)
	}
}

// showRoomLines shows an answer's lines as the room's notices.
func (c *connection) showRoomLines(ctx actor.Context, room string, lines []string) {
	for _, l := range lines {
		c.writeLine(ctx, c.codec.AppendRoomNotice(c.scratchBuf(), room, "", l))
	}
}

// ircKick: KICK #room nick[,nick] [:reason].
func (c *connection) ircKick(ctx actor.Context, m *irc.Message) {
	if len(m.Params) < 2 {
		c.numeric(ctx, irc.ErrNeedMoreParams, "KICK", "Not enough parameters")
		return
	}
	ms := c.ircOurRoom(ctx, "KICK", m.Param(0))
	if ms == nil {
		return
	}
	room := ms.name
	for _, nick := range c.ircTargets(ctx, "KICK", m.Param(1), maxIRCKickTargets) {
		p := c.ask(ctx, ms.pid, &messages.Moderate{MemberId: c.member, Action: messages.ModAction_MOD_ACTION_KICK, Target: irc.ChatNick(nick),
			Reason: truncate(m.Param(2), maxQuitMessageLen)}, "KICK", nil)
		p.refused = func(c *connection, ctx actor.Context, reason string) {
			if strings.HasSuffix(reason, " is not in "+room) {
				c.numeric(ctx, irc.ErrUserNotInChannel, nick, m.Param(0), "They aren't on that channel")
				return
			}
			c.numeric(ctx, irc.ErrChanOPrivsNeeded, m.Param(0), reason)
		}
	}
}

// ircInvite: INVITE nick #room.
func (c *connection) ircInvite(ctx actor.Context, m *irc.Message) {
	if len(m.Params) < 2 {
		c.numeric(ctx, irc.ErrNeedMoreParams, "INVITE", "Not enough parameters")
		return
	}
	nick, channel := m.Param(0), m.Param(1)
	ms := c.ircOurRoom(ctx, "INVITE", channel)
	if ms == nil {
		return
	}
	p := c.ask(ctx, ms.pid, &messages.Moderate{MemberId: c.member, Action: messages.ModAction_MOD_ACTION_INVITE, Target: irc.ChatNick(nick)}, "INVITE",
		on(func(c *connection, ctx actor.Context, _ *messages.Moderated) {
			c.numeric(ctx, irc.RplInviting, nick, channel)
		}))
	p.refused = func(c *connection, ctx actor.Context, reason string) {
		if strings.HasPrefix(reason, "nobody online is called") {
			c.numeric(ctx, irc.ErrNoSuchNick, nick, "No such nick/channel")
			return
		}
		c.numeric(ctx, irc.ErrChanOPrivsNeeded, channel, reason)
	}
}

// ircOper: OPER name password, the chat's /oper: a server operator of the
// -admins file, whatever the nick (381; 464 for a wrong password).
func (c *connection) ircOper(ctx actor.Context, m *irc.Message) {
	if len(m.Params) < 2 {
		c.numeric(ctx, irc.ErrNeedMoreParams, "OPER", "Not enough parameters")
		return
	}
	p := c.ask(ctx, c.env.accounts, &messages.OperLogin{MemberId: c.member, Name: m.Param(0), Password: m.Param(1), RemoteIp: c.remoteIP()},
		"OPER", on(func(c *connection, ctx actor.Context, msg *messages.Opered) {
			c.opered(ctx, msg, false)
			c.numeric(ctx, irc.RplYoureOper, "You are now an IRC operator")
			c.writeLine(ctx, c.irc.AppendFrom(c.scratchBuf(), c.nick, "MODE", irc.Nick(c.nick), "+o"))
		}))
	p.byRegistry = true
	p.refused = func(c *connection, ctx actor.Context, reason string) {
		c.numeric(ctx, irc.ErrPasswdMismatch, "Password incorrect ("+reason+")")
	}
}

// ircAdmin sends a server operator's command (KILL, WALLOPS) to the
// registry, which checks that we are one (481 if not).
func (c *connection) ircAdmin(ctx actor.Context, command string, msg *messages.AdminCommand) {
	msg.MemberId = c.member
	p := c.ask(ctx, c.env.registry, msg, command, nil)
	p.refused = func(c *connection, ctx actor.Context, reason string) {
		if strings.HasPrefix(reason, "only the server's operators") {
			c.numeric(ctx, irc.ErrNoPrivileges, "Permission Denied- You're not an IRC operator")
			return
		}
		if msg.GetAction() == messages.AdminAction_ADMIN_ACTION_KILL {
			c.numeric(ctx, irc.ErrNoSuchNick, irc.Nick(msg.GetTarget()), "No such nick ("+reason+")")
			return
		}
		c.sendError(ctx, reason)
	}
}

// ircKill: KILL nick :reason, the chat's /kill.
func (c *connection) ircKill(ctx actor.Context, m *irc.Message) {
	if len(m.Params) < 1 {
		c.numeric(ctx, irc.ErrNeedMoreParams, "KILL", "Not enough parameters")
		return
	}
	c.ircAdmin(ctx, "KILL", &messages.AdminCommand{Action: messages.AdminAction_ADMIN_ACTION_KILL, Target: irc.ChatNick(m.Param(0)),
		Text: truncate(m.Param(1), maxQuitMessageLen)})
}

// ircWallops: WALLOPS :text, the chat's /wall (a notice to everyone).
func (c *connection) ircWallops(ctx actor.Context, m *irc.Message) {
	if m.Param(0) == "" {
		c.numeric(ctx, irc.ErrNeedMoreParams, "WALLOPS", "Not enough parameters")
		return
	}
	c.ircAdmin(ctx, "WALLOPS", &messages.AdminCommand{Action: messages.AdminAction_ADMIN_ACTION_WALL, Text: m.Param(0)})
}
