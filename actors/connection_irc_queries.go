package actors

import (
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/irc"
	"github.com/actorchat/actorchat/messages"
)

// The IRC commands that ask about the chat (WHO, WHOIS, LIST, LUSERS,
// MODE's queries, VERSION, TIME) and AWAY: each asks the actor that knows,
// as the line protocol's /who, /whois, /rooms, /users and /away do, and
// answers with IRC's numerics.

// addIRCQueries adds these commands to the IRC commands.
func addIRCQueries(commands map[string]func(c *connection, ctx actor.Context, m *irc.Message)) {
	for name, f := range map[string]func(c *connection, ctx actor.Context, m *irc.Message){
		"WHO":      (*connection).ircWho,
		"WHOIS":    (*connection).ircWhois,
		"LIST":     (*connection).ircList,
		"LUSERS":   func(c *connection, ctx actor.Context, _ *irc.Message) { c.ircLusers(ctx, false) },
		"MODE":     (*connection).ircMode,
		"AWAY":     (*connection).ircAway,
		"VERSION":  (*connection).ircVersion,
		"TIME":     (*connection).ircTime,
		"KICK":     (*connection).ircKick,
		"ISON":     (*connection).ircIsOn,
		"WHOWAS":   (*connection).ircWhowas,
		"INFO":     (*connection).ircInfo,
		"USERHOST": (*connection).ircUserhost,
		"OPER":     (*connection).ircOper,
		"KILL":     (*connection).ircKill,
		"WALLOPS":  (*connection).ircWallops,
		"INVITE":   (*connection).ircInvite,
	} {
		commands[name] = f
	}
}

// ircWho: WHO #channel lists a channel's members; WHO MASK the users whose
// nick matches it (the chat's patterns: * and ?).
func (c *connection) ircWho(ctx actor.Context, m *irc.Message) {
	mask := m.Param(0)
	if mask == "" {
		mask = "*"
	}
	if room, ok := irc.Room(mask); ok {
		if !c.ours(room) { // members of a channel one is not in are not listed
			c.numeric(ctx, irc.RplEndOfWho, mask, "End of WHO list")
			return
		}
		// The registry knows every user's rooms, away message and USER.
		c.ask(ctx, c.env.registry, &messages.ListUsers{Room: room}, "WHO", on(func(c *connection, ctx actor.Context, list *messages.UserList) {
			for _, u := range list.GetUsers() {
				c.ircWhoReply(ctx, mask, u)
			}
			c.numeric(ctx, irc.RplEndOfWho, mask, "End of WHO list")
		}))
		return
	}
	c.ask(ctx, c.env.registry, &messages.ListUsers{Pattern: irc.ChatNick(mask), Limit: maxListed}, "WHO", on(func(c *connection, ctx actor.Context, list *messages.UserList) {
		exact := !strings.ContainsAny(mask, "*?") // IRC's masks match whole nicks; the chat's patterns, parts
		for _, u := range list.GetUsers() {
			if !exact || irc.Fold(irc.Nick(u.GetNick())) == irc.Fold(mask) {
				c.ircWhoReply(ctx, "*", u)
			}
		}
		c.numeric(ctx, irc.RplEndOfWho, mask, "End of WHO list")
	}))
}

// ircWhoReply is one RPL_WHOREPLY: here (H) or gone (G, away).
func (c *connection) ircWhoReply(ctx actor.Context, channel string, u *messages.UserInfo) {
	nick, here := irc.Nick(u.GetNick()), "H"
	if u.GetAway() != "" {
		here = "G"
	}
	if u.GetOperator() {
		here += "*"
	}
	user, real := identOr(nick, u.GetUsername(), u.GetRealname())
	c.numeric(ctx, irc.RplWhoReply, channel, user, irc.Host, c.irc.Server, nick, here, "0 "+real)
}

// identOr is a user's IRC user name and real name, or its nick for both
// when it gave none (a line-protocol user).
func identOr(nick, username, realname string) (string, string) {
	if username == "" {
		username = nick
	}
	if realname == "" {
		realname = nick
	}
	return username, realname
}

// ircWhois: WHOIS [server] nick.
func (c *connection) ircWhois(ctx actor.Context, m *irc.Message) {
	target := m.Param(len(m.Params) - 1)
	if target == "" {
		c.numeric(ctx, irc.ErrNoNicknameGiven, "No nickname given")
		return
	}
	target = strings.Split(target, ",")[0]
	p := c.ask(ctx, c.env.registry, &messages.WhoisUser{Nick: irc.ChatNick(target)}, "WHOIS", on(func(c *connection, ctx actor.Context, u *messages.UserDescription) {
		nick := irc.Nick(u.GetNick())
		user, real := identOr(nick, u.GetUsername(), u.GetRealname())
		c.numeric(ctx, irc.RplWhoisUser, nick, user, irc.Host, "*", real)
		if len(u.GetRooms()) > 0 {
			channels := make([]string, len(u.GetRooms()))
			for i, r := range u.GetRooms() {
				channels[i] = irc.Channel(r)
			}
			c.numeric(ctx, irc.RplWhoisChannels, nick, strings.Join(channels, " "))
		}
		c.numeric(ctx, irc.RplWhoisServer, nick, c.irc.Server, "actorchat")
		if u.GetOperator() {
			c.numeric(ctx, irc.RplWhoisOperator, nick, "is an IRC operator")
		}
		if away := u.GetAway(); away != "" {
			c.numeric(ctx, irc.RplAway, nick, away)
		}
		c.numeric(ctx, irc.RplWhoisIdle, nick, strconv.FormatInt(u.GetIdleMillis()/1000, 10), strconv.FormatInt(u.GetConnectedUnixMillis()/1000, 10), "seconds idle, signon time")
		c.numeric(ctx, irc.RplEndOfWhois, nick, "End of /WHOIS list")
	}))
	p.refused = func(c *connection, ctx actor.Context, reason string) {
		c.numeric(ctx, irc.ErrNoSuchNick, target, "No such nick/channel")
		c.numeric(ctx, irc.RplEndOfWhois, target, "End of /WHOIS list")
	}
}

// ircList: LIST [#pattern] lists the rooms with their member counts and
// topics.
func (c *connection) ircList(ctx actor.Context, m *irc.Message) {
	pattern := ""
	if room, ok := irc.Room(strings.Split(m.Param(0), ",")[0]); ok {
		pattern = room
	}
	c.ask(ctx, c.env.rooms, &messages.ListRooms{Pattern: pattern}, "LIST", on(func(c *connection, ctx actor.Context, list *messages.RoomList) {
		c.numeric(ctx, irc.RplListStart, "Channel", "Users  Name")
		for _, r := range list.GetRooms() {
			if r.GetMembers() == 0 {
				continue // an IRC channel exists while someone is in it (the lobby always exists)
			}
			c.numeric(ctx, irc.RplList, irc.Channel(r.GetName()), strconv.FormatUint(uint64(r.GetMembers()), 10), r.GetTopic())
		}
		c.numeric(ctx, irc.RplListEnd, "End of /LIST")
	}))
}

// ircLusers answers LUSERS, and is part of the welcome (then the message of
// the day follows).
func (c *connection) ircLusers(ctx actor.Context, welcome bool) {
	p := c.ask(ctx, c.env.registry, &messages.ListUsers{Limit: 1}, "LUSERS", on(func(c *connection, ctx actor.Context, list *messages.UserList) {
		n := strconv.FormatUint(uint64(list.GetTotal()), 10)
		c.numeric(ctx, irc.RplLuserClient, "There are "+n+" users and 0 invisible on 1 servers")
		c.numeric(ctx, irc.RplLuserMe, "I have "+n+" clients and 0 servers")
		// The counts are the registry's: every user, on every node of a
		// cluster. No peak is kept, so the optional current and max
		// parameters are left out.
		c.numeric(ctx, irc.RplLocalUsers, "Current users: "+n)
		c.numeric(ctx, irc.RplGlobalUsers, "Current global users: "+n)
		if welcome {
			c.ircMOTD(ctx)
		}
	}))
	p.failed = func(c *connection, ctx actor.Context, _ bool) {
		if welcome {
			c.ircMOTD(ctx)
		}
	}
}

// ircMode: MODE. A user has no modes (a change is 501); a channel's are
// changed as connection_irc_moderation.go says. A channel's modes are
// listed as none ("+"): the connection does not know its rooms' rules, and
// asking for them is yet to come.
func (c *connection) ircMode(ctx actor.Context, m *irc.Message) {
	target := m.Param(0)
	if target == "" {
		c.numeric(ctx, irc.ErrNeedMoreParams, "MODE", "Not enough parameters")
		return
	}
	room, isChannel := irc.Room(target)
	switch {
	case !isChannel && irc.Fold(irc.ChatNick(target)) != irc.Fold(c.nick):
		c.numeric(ctx, irc.ErrUsersDontMatch, "Can't change mode for other users")
	case !isChannel && len(m.Params) == 1 && c.env.admins.Valid(c.oper):
		c.numeric(ctx, irc.RplUModeIs, "+o") // a server operator
	case !isChannel && len(m.Params) == 1:
		c.numeric(ctx, irc.RplUModeIs, "+")
	case !isChannel:
		c.numeric(ctx, irc.ErrUModeUnknownFlag, "Unknown MODE flag")
	case !c.ours(room):
		c.numeric(ctx, irc.ErrNotOnChannel, target, "You're not on that channel")
	case len(m.Params) == 1:
		c.numeric(ctx, irc.RplChannelModeIs, target, "+")
	default:
		c.ircModeChange(ctx, m, c.roomNamed(room))
	}
}

// ircAway: AWAY :message marks the user away; AWAY alone, back.
func (c *connection) ircAway(ctx actor.Context, m *irc.Message) {
	message := truncate(m.Param(0), maxAwayMessageLen)
	c.toEveryRoom(ctx, &messages.SetAway{MemberId: c.member, Message: message})
	c.ask(ctx, c.env.registry, &messages.SetAway{MemberId: c.member, Message: message}, "AWAY", on(func(c *connection, ctx actor.Context, set *messages.AwaySet) {
		c.away = set.GetMessage()
		if c.away == "" {
			c.numeric(ctx, irc.RplUnaway, "You are no longer marked as being away")
		} else {
			c.numeric(ctx, irc.RplNowAway, "You have been marked as being away")
		}
	}))
}

func (c *connection) ircVersion(ctx actor.Context, _ *irc.Message) {
	c.numeric(ctx, irc.RplVersion, "actorchat-"+c.env.cfg.Version, c.irc.Server, "a chat server built on actors")
	c.numeric(ctx, irc.RplISupport, append(ircISupport(c.env.cfg), "are supported by this server")...)
}

func (c *connection) ircTime(ctx actor.Context, _ *irc.Message) {
	c.numeric(ctx, irc.RplTime, c.irc.Server, time.Now().UTC().Format(time.RFC1123))
}

// ircIsOn: ISON nick... lists those online (303).
func (c *connection) ircIsOn(ctx actor.Context, m *irc.Message) {
	nicks := ircNickList(m.Params)
	if len(nicks) == 0 {
		c.numeric(ctx, irc.ErrNeedMoreParams, "ISON", "Not enough parameters")
		return
	}
	c.ask(ctx, c.env.registry, &messages.ListUsers{Nicks: nicks}, "ISON", on(func(c *connection, ctx actor.Context, list *messages.UserList) {
		on := make([]string, 0, len(list.GetUsers()))
		for _, u := range list.GetUsers() {
			on = append(on, irc.Nick(u.GetNick()))
		}
		c.numeric(ctx, irc.RplIsOn, strings.Join(on, " "))
	}))
}

// ircUserhost: USERHOST nick... (at most 5): nick=+user@host, or =- when
// away (302).
func (c *connection) ircUserhost(ctx actor.Context, m *irc.Message) {
	nicks := ircNickList(m.Params)
	if len(nicks) == 0 {
		c.numeric(ctx, irc.ErrNeedMoreParams, "USERHOST", "Not enough parameters")
		return
	}
	c.ask(ctx, c.env.registry, &messages.ListUsers{Nicks: nicks[:min(len(nicks), 5)]}, "USERHOST", on(func(c *connection, ctx actor.Context, list *messages.UserList) {
		replies := make([]string, 0, len(list.GetUsers()))
		for _, u := range list.GetUsers() {
			nick := irc.Nick(u.GetNick())
			user, _ := identOr(nick, u.GetUsername(), u.GetRealname())
			here := "+"
			if u.GetAway() != "" {
				here = "-"
			}
			replies = append(replies, nick+"="+here+user+"@"+irc.Host)
		}
		c.numeric(ctx, irc.RplUserHost, strings.Join(replies, " "))
	}))
}

// ircNickList is the chat nicks of ISON's and USERHOST's parameters (a
// trailing one may hold several).
func ircNickList(params []string) []string {
	var nicks []string
	for _, p := range params {
		for _, n := range strings.Fields(p) {
			nicks = append(nicks, irc.ChatNick(n))
		}
	}
	return nicks
}

// ircWhowas: WHOWAS nick [count]: who had the nick lately (the registry
// keeps the last few hundred who left a nick), newest first.
func (c *connection) ircWhowas(ctx actor.Context, m *irc.Message) {
	target := strings.Split(m.Param(0), ",")[0]
	if target == "" {
		c.numeric(ctx, irc.ErrNoNicknameGiven, "No nickname given")
		return
	}
	count, _ := strconv.Atoi(m.Param(1))
	c.ask(ctx, c.env.registry, &messages.WhowasUser{Nick: irc.ChatNick(target), Count: int32(max(count, 0))}, "WHOWAS", on(func(c *connection, ctx actor.Context, list *messages.WhowasList) {
		if len(list.GetEntries()) == 0 {
			c.numeric(ctx, irc.ErrWasNoSuchNick, target, "There was no such nickname")
		}
		for _, e := range list.GetEntries() {
			nick := irc.Nick(e.GetNick())
			user, real := identOr(nick, e.GetUsername(), e.GetRealname())
			c.numeric(ctx, irc.RplWhowasUser, nick, user, irc.Host, "*", real)
			c.numeric(ctx, irc.RplWhoisServer, nick, c.irc.Server, time.UnixMilli(e.GetUnixMillis()).UTC().Format(time.RFC1123))
		}
		c.numeric(ctx, irc.RplEndOfWhowas, target, "End of WHOWAS")
	}))
}

// ircInfo: INFO says what the server is (371, 374).
func (c *connection) ircInfo(ctx actor.Context, _ *irc.Message) {
	for _, line := range []string{"actorchat " + c.env.cfg.Version + ": a chat server built on actors",
		"telnet, IRC and the same rooms for everyone; see its README"} {
		c.numeric(ctx, irc.RplInfo, line)
	}
	c.numeric(ctx, irc.RplEndOfInfo, "End of /INFO list")
}
