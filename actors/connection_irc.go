package actors

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/irc"
	"github.com/actorchat/actorchat/messages"
)

// A connection of an IRC listener: the same connection actor, user and
// rooms as any other, read and written as IRC (docs/protocol.md, "IRC").
// Its input is IRC commands, acted on here through the connection's own
// commands; its output is irc.Codec. The differences from the line
// protocol are these: nothing is said until the client has registered
// (NICK, USER, and CAP END if it began with CAP), and then it has the nick
// it asked for or is asked for another; it lands in no room (IRC users
// JOIN the channels they want, and joining one never leaves another); and
// every post names its channel, so there is no current room to mark.

// processStarted is when this server process started, for RPL_CREATED.
var processStarted = time.Now().UTC()

// ircSession is what an IRC connection knows beyond what every connection
// does: how far its registration is, and its codec.
type ircSession struct {
	irc.Codec
	wantNick string // the nick NICK asked for before the welcome (chat form)
	username string // USER's user name, as shown: "~" and at most 9 characters
	realname string // USER's real name
	gotUser  bool   // USER came
	capping  bool   // CAP LS or REQ came, CAP END not yet: registration waits
	sasl     bool   // the client asked for the sasl capability
	// multi-prefix: the client asked for it; a member has one prefix at
	// most (@), so NAMES reads the same.
	multiPrefix bool
	saslMech    bool   // AUTHENTICATE PLAIN came: its payload is next
	saslBuf     []byte // the payload's 400-byte chunks so far
	asked       bool   // the registry was asked for our registration
	welcomed    bool   // the welcome (001...) was sent: registration is over
}

// newIRCSession is the IRC side of a new connection; server is the name
// the server goes by on IRC (Config.IRCName), the source of its numerics
// and notices.
func newIRCSession(member, server string) *ircSession {
	return &ircSession{Codec: irc.Codec{Server: server, Member: member}}
}

// ircUser and ircReal are what USER said; empty on the line protocol.
func (c *connection) ircUser() string {
	if c.irc == nil {
		return ""
	}
	return c.irc.username
}

func (c *connection) ircReal() string {
	if c.irc == nil {
		return ""
	}
	return c.irc.realname
}

// setNick is the one place the connection's nick changes: an IRC codec
// renders with it once the client is welcomed.
func (c *connection) setNick(nick string) {
	c.nick = nick
	if c.irc != nil && c.irc.welcomed { // before, the client is "*" (its guest nick is never shown)
		c.irc.Nick = nick
	}
}

// numeric writes a numeric reply.
func (c *connection) numeric(ctx actor.Context, numeric string, params ...string) {
	c.writeLine(ctx, c.irc.AppendNumeric(c.scratchBuf(), numeric, params...))
}

// ircLine acts on one line of an IRC client.
func (c *connection) ircLine(ctx actor.Context, line string) {
	m, err := irc.Parse(line)
	switch {
	case errors.Is(err, irc.ErrTooLong), errors.Is(err, irc.ErrTagsTooLong):
		c.numeric(ctx, irc.ErrInputTooLong, "Input line was too long")
		return
	case err != nil:
		return // an empty line, or one without a command: IRC servers say nothing
	}
	m.Command = strings.ReplaceAll(m.Command, "\x01", "")
	for i, p := range m.Params {
		if strings.IndexByte(p, 0x01) >= 0 && !(i == 1 && (m.Command == "PRIVMSG" || m.Command == "NOTICE")) {
			m.Params[i] = strings.ReplaceAll(p, "\x01", "") // CTCP is only for messages (ircMessage)
		}
	}
	if !c.irc.welcomed {
		c.ircRegistering(ctx, &m)
		return
	}
	if handle, ok := ircCommands[m.Command]; ok {
		handle(c, ctx, &m)
		return
	}
	c.numeric(ctx, irc.ErrUnknownCommand, m.Command, "Unknown command")
}

// ircRegistering takes the commands a client sends before its welcome.
func (c *connection) ircRegistering(ctx actor.Context, m *irc.Message) {
	s := c.irc
	switch m.Command {
	case "CAP":
		c.ircCap(ctx, m)
	case "NICK":
		if !c.ircNickWanted(ctx, m) {
			return
		}
	case "USER":
		if len(m.Params) < 4 {
			c.numeric(ctx, irc.ErrNeedMoreParams, "USER", "Not enough parameters")
			return
		}
		s.gotUser = true
		s.username, s.realname = ircUsername(m.Param(0)), truncate(m.Param(3), maxRealnameLen)
	case "AUTHENTICATE":
		c.ircAuthenticate(ctx, m)
		return
	case "PASS", "PONG":
		// No server passwords; accounts are SASL's and NickServ's.
	case "PING", "QUIT":
		ircCommands[m.Command](c, ctx, m)
		return
	default:
		c.numeric(ctx, irc.ErrNotRegistered, "You have not registered")
		return
	}
	c.ircRegister(ctx)
}

// ircNickWanted takes a NICK before the welcome: the nick is checked now,
// taken at registration.
func (c *connection) ircNickWanted(ctx actor.Context, m *irc.Message) bool {
	if m.Param(0) == "" {
		c.numeric(ctx, irc.ErrNoNicknameGiven, "No nickname given")
		return false
	}
	nick := irc.ChatNick(m.Param(0))
	if err := validateNick(nick); err != nil {
		c.numeric(ctx, irc.ErrErroneusNickname, m.Param(0), "Erroneous nickname: "+err.Error())
		return false
	}
	c.irc.wantNick = nick
	return true
}

// ircRegister goes on with the registration once the client has said
// enough: the registry registers the connection (with a guest nick, as
// every connection), then gives it the nick it asked for.
func (c *connection) ircRegister(ctx actor.Context) {
	s := c.irc
	switch {
	case s.wantNick == "" || !s.gotUser || s.capping:
	case !s.asked:
		s.asked = true
		register := c.ask(ctx, c.env.registry, &messages.RegisterConnection{MemberId: c.member, Address: c.remoteIP(),
			Username: s.username, Realname: s.realname}, "", on((*connection).registered)) // not thenRegistered: its initializer would refer to itself
		register.failed = (*connection).registerFailed
	case c.nick != "":
		c.ircAskNick(ctx)
	}
}

// ircUsername is the user name a USER gives, as the server shows it: no
// ident lookup is made, so it starts with "~", and it keeps at most 9 of
// the characters a user name may have.
func ircUsername(user string) string {
	var b strings.Builder
	b.WriteByte('~')
	for _, r := range user {
		if b.Len() == 10 {
			break
		}
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.[]{}|^`\\", r)) {
			b.WriteRune(r)
		}
	}
	if b.Len() == 1 {
		b.WriteString("user")
	}
	return b.String()
}

// ircRegistered: the registry has us, under a guest nick the client never
// sees; now the nick it asked for, once the client has said it (SASL may
// have had us registered early).
func (c *connection) ircRegistered(ctx actor.Context) {
	c.keepLobby = true // joining a channel never leaves another, the lobby included
	c.ircRegister(ctx)
}

// ircAskNick asks the registry for the nick the client wants before its
// welcome; refused, the client is asked for another (433), as IRC servers
// do.
func (c *connection) ircAskNick(ctx actor.Context) {
	want := c.irc.wantNick
	if irc.Fold(want) == irc.Fold(c.nick) { // SASL gave it already
		c.ircWelcome(ctx)
		return
	}
	p := c.ask(ctx, c.env.registry, &messages.SetNick{MemberId: c.member, Nick: want}, "NICK", on((*connection).ircNickTaken))
	p.refused = func(c *connection, ctx actor.Context, reason string) {
		c.numeric(ctx, irc.ErrNicknameInUse, irc.Nick(want), "Nickname is unavailable: "+reason)
	}
}

// ircNickTaken: the nick is ours; registration is over.
func (c *connection) ircNickTaken(ctx actor.Context, msg *messages.NickChanged) {
	c.setNick(msg.GetNewNick())
	c.ircWelcome(ctx)
}

// ircWelcome sends what a registered client expects: 001 to 005, the user
// counts (LUSERS) and the message of the day.
func (c *connection) ircWelcome(ctx actor.Context) {
	c.irc.welcomed = true
	c.irc.Nick = c.nick
	me := irc.Nick(c.nick)
	version := "actorchat-" + c.env.cfg.Version
	c.numeric(ctx, irc.RplWelcome, "Welcome to the actorchat IRC network "+me)
	c.numeric(ctx, irc.RplYourHost, "Your host is "+c.irc.Server+", running version "+version)
	c.numeric(ctx, irc.RplCreated, "This server was started "+processStarted.Format(time.RFC1123))
	c.numeric(ctx, irc.RplMyInfo, c.irc.Server, version, "i", "t")
	c.numeric(ctx, irc.RplISupport, append(ircISupport(c.env.cfg), "are supported by this server")...)
	c.ircLusers(ctx, true) // then the message of the day
}

// ircISupport is what RPL_ISUPPORT says of the server: only what holds.
func ircISupport(cfg connectionConfig) []string {
	return []string{
		"CASEMAPPING=ascii",
		"CHANTYPES=#",
		"CHANLIMIT=#:" + strconv.Itoa(cfg.MaxRooms),
		"CHANNELLEN=" + strconv.Itoa(maxRoomNameLen+1),
		"NICKLEN=" + strconv.Itoa(maxNickLen),
		"TOPICLEN=" + strconv.Itoa(maxTopicLen),
		"PREFIX=(o)@",
		"CHANMODES=bq,,,it",
		"TARGMAX=PRIVMSG:1,NOTICE:1,JOIN:10,PART:10,KICK:4,NAMES:1",
		"NETWORK=actorchat",
	}
}

// ircMOTD sends the message of the day, or says there is none.
func (c *connection) ircMOTD(ctx actor.Context) {
	motd := c.env.motd.Load()
	if motd == nil || len(*motd) == 0 {
		c.numeric(ctx, irc.ErrNoMotd, "MOTD File is missing")
		return
	}
	c.numeric(ctx, irc.RplMotdStart, "- "+c.irc.Server+" Message of the day - ")
	for _, line := range *motd {
		c.numeric(ctx, irc.RplMotd, "- "+line)
	}
	c.numeric(ctx, irc.RplEndOfMotd, "End of /MOTD command.")
}

// ircCommands are the commands of a registered client, by name.
var ircCommands map[string]func(c *connection, ctx actor.Context, m *irc.Message)

func init() {
	ircCommands = map[string]func(c *connection, ctx actor.Context, m *irc.Message){
		"PING": (*connection).ircPing,
		"PONG": func(*connection, actor.Context, *irc.Message) {},
		"QUIT": (*connection).ircQuit,
		"NICK": (*connection).ircNick,
		"USER": func(c *connection, ctx actor.Context, _ *irc.Message) {
			c.numeric(ctx, irc.ErrAlreadyRegistered, "You may not reregister")
		},
		"PASS": func(c *connection, ctx actor.Context, _ *irc.Message) {
			c.numeric(ctx, irc.ErrAlreadyRegistered, "You may not reregister")
		},
		"CAP":          (*connection).ircCap,
		"AUTHENTICATE": (*connection).ircAuthenticate,
		"JOIN":         (*connection).ircJoin,
		"PART":         (*connection).ircPart,
		"PRIVMSG":      func(c *connection, ctx actor.Context, m *irc.Message) { c.ircMessage(ctx, m, false) },
		"NOTICE":       func(c *connection, ctx actor.Context, m *irc.Message) { c.ircMessage(ctx, m, true) },
		"NAMES":        (*connection).ircNames,
		"TOPIC":        (*connection).ircTopic,
		"MOTD":         func(c *connection, ctx actor.Context, _ *irc.Message) { c.ircMOTD(ctx) },
		"NICKSERV": func(c *connection, ctx actor.Context, m *irc.Message) {
			c.ircNickServ(ctx, strings.Join(m.Params, " "))
		},
	}
	ircCommands["NS"] = ircCommands["NICKSERV"]
	addIRCQueries(ircCommands)
}

func (c *connection) ircPing(ctx actor.Context, m *irc.Message) {
	if len(m.Params) == 0 {
		c.numeric(ctx, irc.ErrNeedMoreParams, "PING", "Not enough parameters")
		return
	}
	c.writeLine(ctx, irc.Append(c.scratchBuf(), c.irc.Server, "PONG", c.irc.Server, m.Param(0)))
}

// ircQuit: QUIT [:reason]. The client reads ERROR, then the connection
// closes.
func (c *connection) ircQuit(ctx actor.Context, m *irc.Message) {
	c.quitMsg = truncate(m.Param(0), maxQuitMessageLen)
	c.stop(ctx, messages.LeaveReason_LEAVE_REASON_QUIT)
}

// ircNick: NICK nick, after the welcome: a rename, as /nick.
func (c *connection) ircNick(ctx actor.Context, m *irc.Message) {
	if m.Param(0) == "" {
		c.numeric(ctx, irc.ErrNoNicknameGiven, "No nickname given")
		return
	}
	nick := irc.ChatNick(m.Param(0))
	if err := validateNick(nick); err != nil {
		c.numeric(ctx, irc.ErrErroneusNickname, m.Param(0), "Erroneous nickname: "+err.Error())
		return
	}
	if nick == c.nick {
		return
	}
	p := c.ask(ctx, c.env.registry, &messages.SetNick{MemberId: c.member, Nick: nick}, "NICK", on((*connection).nickChanged))
	p.refused = func(c *connection, ctx actor.Context, reason string) {
		c.numeric(ctx, irc.ErrNicknameInUse, m.Param(0), "Nickname is unavailable: "+reason)
	}
}

// ircRoom is the room a channel parameter names, if it is a valid one; if
// not, the client is told (403) and ok is false.
func (c *connection) ircRoom(ctx actor.Context, channel string) (string, bool) {
	room, ok := irc.Room(channel)
	if ok {
		_, err := normalizeRoomName(room)
		ok = err == nil
	}
	if !ok {
		c.numeric(ctx, irc.ErrNoSuchChannel, channel, "No such channel")
	}
	return room, ok
}

// ircJoin: JOIN #a,#b (keys are not used), or JOIN 0 to part every
// channel. One join is asked at a time: the rest wait as a line of its
// own, in order, before what the client sent next.
func (c *connection) ircJoin(ctx actor.Context, m *irc.Message) {
	if len(m.Params) == 0 {
		c.numeric(ctx, irc.ErrNeedMoreParams, "JOIN", "Not enough parameters")
		return
	}
	if m.Param(0) == "0" {
		for _, name := range c.roomNames() {
			c.ircPartRoom(ctx, c.roomNamed(name), "")
		}
		return
	}
	channels := c.ircTargets(ctx, "JOIN", m.Param(0), maxIRCChannelTargets)
	first := channels[0]
	if len(channels) > 1 { // fewer than the bound: this line is not cut again
		c.pending = append([]pendingLine{{text: "JOIN " + strings.Join(channels[1:], ",")}}, c.pending...)
	}
	if room, ok := c.ircRoom(ctx, first); ok && !c.ours(room) {
		c.cmdJoin(ctx, room)
	}
}

// Bounds on the targets of one command, as ISUPPORT's TARGMAX says: one
// line of input does at most this much work.
const (
	maxIRCChannelTargets = 10 // JOIN, PART
	maxIRCKickTargets    = 4
)

// ircTargets splits a comma-separated list; past max, the client reads 407
// once and the rest are left out.
func (c *connection) ircTargets(ctx actor.Context, command, list string, max int) []string {
	targets := strings.Split(list, ",")
	if len(targets) > max {
		c.numeric(ctx, irc.ErrTooManyTargets, targets[max], "Too many targets: "+command+" takes at most "+strconv.Itoa(max))
		targets = targets[:max]
	}
	return targets
}

// ircPart: PART #a,#b [:reason].
func (c *connection) ircPart(ctx actor.Context, m *irc.Message) {
	if len(m.Params) == 0 {
		c.numeric(ctx, irc.ErrNeedMoreParams, "PART", "Not enough parameters")
		return
	}
	for _, channel := range c.ircTargets(ctx, "PART", m.Param(0), maxIRCChannelTargets) {
		room, ok := c.ircRoom(ctx, channel)
		if !ok {
			continue
		}
		if ms := c.roomNamed(room); ms != nil {
			c.ircPartRoom(ctx, ms, m.Param(1))
		} else {
			c.ircNotOn(ctx, "PART", channel, room)
		}
	}
}

// ircOurRoom is the membership of the room a command's channel names; nil
// when it names none we are in, and the client was told why (403, 442).
func (c *connection) ircOurRoom(ctx actor.Context, command, channel string) *membership {
	room, ok := c.ircRoom(ctx, channel)
	if !ok {
		return nil
	}
	ms := c.roomNamed(room)
	if ms == nil {
		c.ircNotOn(ctx, command, channel, room)
	}
	return ms
}

// ircNotOn answers a command about a channel we are not in: 442 if the
// channel exists (someone is in it), 403 if not, as IRC servers tell them
// apart.
func (c *connection) ircNotOn(ctx actor.Context, command, channel, room string) {
	c.ask(ctx, c.env.rooms, &messages.ListRooms{Pattern: room}, command, on(func(c *connection, ctx actor.Context, list *messages.RoomList) {
		for _, r := range list.GetRooms() {
			if r.GetName() == room && r.GetMembers() > 0 {
				c.numeric(ctx, irc.ErrNotOnChannel, channel, "You're not on that channel")
				return
			}
		}
		c.numeric(ctx, irc.ErrNoSuchChannel, channel, "No such channel")
	}))
}

// ircPartRoom leaves one of our rooms and says so as IRC does. An IRC user
// in no room stays in none.
func (c *connection) ircPartRoom(ctx actor.Context, m *membership, reason string) {
	c.drop(m)
	c.leaveRoomSaying(ctx, m.name, m.pid, truncate(reason, maxQuitMessageLen))
	c.tellRooms(ctx)
	c.writeLine(ctx, c.irc.AppendFrom(c.scratchBuf(), c.nick, "PART", irc.Channel(m.name), reason))
}

// ircMessage: PRIVMSG or NOTICE to a channel or a nick. A NOTICE is never
// answered with an error, as RFC 2812 asks.
func (c *connection) ircMessage(ctx actor.Context, m *irc.Message, notice bool) {
	fail := func(numeric string, params ...string) {
		if !notice {
			c.numeric(ctx, numeric, params...)
		}
	}
	target, body := m.Param(0), m.Param(1)
	switch {
	case target == "":
		fail(irc.ErrNoRecipient, "No recipient given ("+m.Command+")")
		return
	case body == "":
		fail(irc.ErrNoTextToSend, "No text to send")
		return
	}
	action := false
	if inner, ok := strings.CutPrefix(body, "\x01ACTION "); ok {
		body, action = inner, true
	} else if strings.HasPrefix(body, "\x01") {
		return // other CTCP (VERSION, PING...) is not answered
	}
	body = strings.TrimRight(strings.ReplaceAll(body, "\x01", ""), " ")
	if body == "" {
		return
	}
	if room, ok := irc.Room(target); ok {
		ms := c.roomNamed(room)
		if ms == nil {
			fail(irc.ErrCannotSendToChan, target, "Cannot send to channel (you are not in it)")
			return
		}
		ctx.Send(ms.pid, c.numbered(ms, &messages.PostMessage{MemberId: c.member, Text: body, Action: action, Notice: notice, Echo: c.irc.Echo}))
		return
	}
	if action {
		body = "* " + c.nick + " " + body
	}
	if irc.Fold(target) == "nickserv" {
		c.ircNickServ(ctx, body)
		return
	}
	nick := irc.ChatNick(target)
	command := m.Command
	p := c.ask(ctx, c.env.registry, &messages.SendPrivateMessage{MemberId: c.member, ToNick: nick, Text: body}, m.Command,
		on(func(c *connection, ctx actor.Context, sent *messages.PrivateMessageSent) {
			if c.irc.Echo {
				c.writeLine(ctx, c.irc.AppendEcho(c.scratchBuf(), command, irc.Nick(sent.GetToNick()), sent.GetText()))
			}
			c.ircPrivateSent(ctx, sent)
		}))
	p.refused = func(c *connection, ctx actor.Context, reason string) {
		fail(irc.ErrNoSuchNick, target, "No such nick/channel ("+reason+")")
	}
}

// ircNickServ answers what a client without SASL sends NickServ
// (PRIVMSG NickServ, /ns, /nickserv): IDENTIFY [ACCOUNT] PASSWORD and
// REGISTER PASSWORD [EMAIL], which are /identify and /register with their
// arguments (IRC has no hidden prompt: a password always comes with the
// command). The answers are the server's notices.
func (c *connection) ircNickServ(ctx actor.Context, text string) {
	cmd, args, _ := strings.Cut(strings.TrimSpace(text), " ")
	args = strings.TrimSpace(args)
	switch strings.ToUpper(cmd) {
	case "IDENTIFY", "LOGIN":
		fields := strings.Fields(args)
		switch len(fields) {
		case 0:
			c.sendError(ctx, "usage: IDENTIFY [ACCOUNT] PASSWORD")
		case 1:
			c.cmdIdentify(ctx, c.nick+" "+fields[0]) // the password of the nick we have
		default:
			c.cmdIdentify(ctx, args)
		}
	case "REGISTER":
		password, _, _ := strings.Cut(args, " ") // an email, if any, is not kept
		if password == "" {
			c.sendError(ctx, "usage: REGISTER PASSWORD")
			return
		}
		c.cmdRegister(ctx, password)
	default:
		c.sendError(ctx, "NickServ knows IDENTIFY [ACCOUNT] PASSWORD and REGISTER PASSWORD")
	}
}

// ircPrivateSent: a private message was delivered; an away recipient is
// said so (301).
func (c *connection) ircPrivateSent(ctx actor.Context, msg *messages.PrivateMessageSent) {
	if away := msg.GetAway(); away != "" {
		c.numeric(ctx, irc.RplAway, irc.Nick(msg.GetToNick()), away)
	}
}

// ircNames: NAMES #room lists a channel we are in.
func (c *connection) ircNames(ctx actor.Context, m *irc.Message) {
	channel := m.Param(0)
	if channel == "" {
		c.numeric(ctx, irc.RplEndOfNames, "*", "End of /NAMES list")
		return
	}
	room, ok := irc.Room(strings.Split(channel, ",")[0])
	ms := c.roomNamed(room)
	if !ok || ms == nil {
		c.numeric(ctx, irc.RplEndOfNames, channel, "End of /NAMES list")
		return
	}
	c.ircAskNames(ctx, ms)
}

// ircAskNames asks a room for every member and lists them (353, 366).
func (c *connection) ircAskNames(ctx actor.Context, m *membership) {
	c.ask(ctx, m.pid, &messages.ListMembers{}, "NAMES", on((*connection).ircNamesListed))
}

// ircNamesListed lists a room's members, as many to a line as fit.
func (c *connection) ircNamesListed(ctx actor.Context, msg *messages.MemberList) {
	c.ircListNames(ctx, msg.GetRoom(), msg.GetMembers())
}

// ircListNames lists the members of a room (353, 366): after our own
// JOIN, as IRC clients expect, and for NAMES.
func (c *connection) ircListNames(ctx actor.Context, room string, members []*messages.UserInfo) {
	channel := irc.Channel(room)
	var line strings.Builder
	for _, m := range members {
		if line.Len() > 0 && line.Len()+len(m.GetNick()) > ircNamesPerLine {
			c.numeric(ctx, irc.RplNamReply, "=", channel, line.String())
			line.Reset()
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		if m.GetOp() {
			line.WriteByte('@')
		}
		line.WriteString(irc.Nick(m.GetNick()))
	}
	if line.Len() > 0 {
		c.numeric(ctx, irc.RplNamReply, "=", channel, line.String())
	}
	c.numeric(ctx, irc.RplEndOfNames, channel, "End of /NAMES list")
}

// ircNamesPerLine bounds the nicks of one RPL_NAMREPLY, within 512 bytes
// with its source, nick and channel.
const ircNamesPerLine = 400

// ircTopic: TOPIC #room shows the topic; TOPIC #room :text sets it (an
// empty text clears it).
func (c *connection) ircTopic(ctx actor.Context, m *irc.Message) {
	if len(m.Params) == 0 {
		c.numeric(ctx, irc.ErrNeedMoreParams, "TOPIC", "Not enough parameters")
		return
	}
	ms := c.ircOurRoom(ctx, "TOPIC", m.Param(0))
	if ms == nil {
		return
	}
	room := ms.name
	if len(m.Params) < 2 {
		if ms.topic == "" {
			c.numeric(ctx, irc.RplNoTopic, irc.Channel(room), "No topic is set")
			return
		}
		c.numeric(ctx, irc.RplTopic, irc.Channel(room), ms.topic)
		return
	}
	p := c.ask(ctx, ms.pid, &messages.SetTopic{MemberId: c.member, Topic: m.Param(1)}, "TOPIC", nil)
	p.refused = func(c *connection, ctx actor.Context, reason string) {
		c.numeric(ctx, irc.ErrChanOPrivsNeeded, irc.Channel(room), reason)
	}
}
