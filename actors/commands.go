package actors

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/password"
	"github.com/actorchat/actorchat/internal/text"
	"github.com/actorchat/actorchat/messages"
)

// maxQuitMessageLen bounds what a user may say with /quit.
const maxQuitMessageLen = 200

// maxAwayMessageLen bounds an away message.
const maxAwayMessageLen = 200

// maxListed bounds how many entries one listing (/who, /users, /rooms)
// shows: with thousands online, an 8-byte command must not be answered with
// a hundred kilobytes. The listing says how many more there are, and a
// pattern narrows it.
const maxListed = 50

// listingLinesPerLine is how many lines of a listing cost the user as much of
// their flood allowance as one line they send: a listing's output counts
// against the same budget as chat.
const listingLinesPerLine = 10

// command is one slash command a user can type.
type command struct {
	name     string   // what /help lists
	aliases  []string // other names for it
	usage    string   // syntax, as /help shows it
	summary  string   // one line for /help
	detail   string   // more for /help NAME; may be empty
	minArgs  int      // arguments it needs; fewer gets the usage
	needRoom bool     // it acts on the user's room
	run      func(c *connection, ctx actor.Context, args string)
	// usable says whether the user may use it now, for /help; nil: always.
	usable func(c *connection) bool
}

// commandSet is the command table: one place that dispatches and checks
// arguments. It is built once per server and never changed.
type commandSet struct {
	list   []*command
	byName map[string]*command
}

func newCommandSet(cfg connectionConfig) *commandSet {
	list := []*command{
		{name: "help", usage: "/help [COMMAND]", summary: "list the commands, or explain one", run: (*connection).cmdHelp},
		{name: "nick", aliases: []string{"username"}, usage: "/nick NAME", summary: "change your nickname", minArgs: 1,
			detail: fmt.Sprintf("1 to %d letters, digits, _, - or .; unique whatever the case; guest followed by digits is reserved.", maxNickLen),
			run:    (*connection).cmdNick},
		{name: "msg", usage: "/msg NICK TEXT", summary: "send a private message (also: @NICK TEXT)", minArgs: 2, run: (*connection).cmdMsg},
		{name: "reply", usage: "/reply TEXT", summary: "answer the last private message you got", minArgs: 1, run: (*connection).cmdReply},
		{name: "me", usage: "/me TEXT", summary: "act: the room sees * yournick TEXT", minArgs: 1, needRoom: true, run: (*connection).cmdMe},
		{name: "who", aliases: []string{"list", "names"}, usage: "/who [PATTERN]", summary: "who is in your room", needRoom: true,
			detail: listingDetail, run: (*connection).cmdWho},
		{name: "users", usage: "/users [PATTERN]", summary: "everyone online, with their rooms", detail: listingDetail, run: (*connection).cmdUsers},
		{name: "whois", usage: "/whois NICK", summary: "a user's room, idle time, connection time and away message", minArgs: 1, run: (*connection).cmdWhois},
		{name: "join", usage: "/join ROOM", summary: "enter ROOM (creating it if needed) and talk there; you stay in your other rooms", minArgs: 1,
			detail: fmt.Sprintf("1 to %d lower-case letters, digits, _ or -, with an optional leading #. You may be in %d rooms at once; lines from a room that is not your current one are marked [ROOM]. "+
				"Joining a room when the lobby is your only one leaves the lobby. A room closes when its last member leaves; the lobby never does.", maxRoomNameLen, cfg.MaxRooms),
			run: (*connection).cmdJoin},
		{name: "focus", aliases: []string{"f", "switch"}, usage: "/focus [ROOM]", summary: "make ROOM, one of yours, the one your lines go to; alone, list your rooms",
			run: (*connection).cmdFocus},
		{name: "part", aliases: []string{"leave"}, usage: "/part [ROOM]", summary: "leave ROOM, or your current room; in no room, you are back in the lobby",
			run: (*connection).cmdPart},
		{name: "rooms", usage: "/rooms [PATTERN]", summary: "the rooms, with their member counts and topics; * marks your current room, + your other rooms", detail: listingDetail, run: (*connection).cmdRooms},
		{name: "history", usage: "/history [N]", summary: fmt.Sprintf("show the room's last N posts (%d if you leave N out)", cfg.HistoryLen),
			detail: fmt.Sprintf("N is 1 to %d. They are marked [history TIME] like the posts shown when you join; times are UTC, with the date when not today's. "+
				"The server keeps room posts and topics across restarts, never private messages.", cfg.HistoryMax),
			needRoom: true, run: (*connection).cmdHistory},
		{name: "topic", usage: "/topic [TEXT]", summary: "show the room's topic, or set it", detail: "/topic - clears it.", needRoom: true, run: (*connection).cmdTopic},
		{name: "away", usage: "/away [MESSAGE]", summary: "mark yourself away; /who and /users show it, and private messages get it as an answer",
			detail: "/back, or /away with nothing after it when you are away, marks you back.", run: (*connection).cmdAway},
		{name: "back", usage: "/back", summary: "you are no longer away", run: (*connection).cmdBack},
		{name: "ignore", usage: "/ignore [NICK]", summary: "stop seeing a user's messages; alone, list whom you ignore",
			detail: "Lasts for this session and follows the user through renames; the ignored user is not told.", run: (*connection).cmdIgnore},
		{name: "unignore", usage: "/unignore NICK", summary: "see a user's messages again", minArgs: 1, run: (*connection).cmdUnignore},
		{name: "bell", usage: "/bell [on|off]", summary: "ring your terminal's bell when your nick is mentioned or a private message comes (on at first)", run: (*connection).cmdBell},
		{name: "register", usage: "/register [PASSWORD]", summary: "register your nick, so that only you can use it",
			detail: fmt.Sprintf("Alone, it asks for the password twice, hidden on telnet. A password has %d to %d characters; it is stored as an Argon2id hash, never in clear.", password.MinLen, password.MaxLen),
			usable: func(c *connection) bool { return c.env.accountsOn && c.account == "" }, run: (*connection).cmdRegister},
		{name: "identify", aliases: []string{"login"}, usage: "/identify [ACCOUNT] [PASSWORD]", summary: "prove a registered nick is yours",
			detail: "With one argument it is the password of the account named like your nick. Alone, it asks (hidden on telnet). " +
				"Once identified you are renamed to the account's nick if it is free. Failed attempts are limited per account and per address.",
			usable: func(c *connection) bool { return c.env.accountsOn && c.account == "" }, run: (*connection).cmdIdentify},
		{name: "password", usage: "/password [OLD NEW]", summary: "change your account's password",
			detail: "Alone, it asks for the password now and the new one twice.",
			usable: func(c *connection) bool { return c.env.accountsOn && c.account != "" }, run: (*connection).cmdPassword},
		{name: "unregister", usage: "/unregister [PASSWORD]", summary: "remove your account; the nick is free for anyone",
			usable: func(c *connection) bool { return c.env.accountsOn && c.account != "" }, run: (*connection).cmdUnregister},
		{name: "rejoin", usage: "/rejoin [on|off]", summary: "whether the rooms you are in come back when you identify next time (on at first)",
			usable: func(c *connection) bool { return c.env.accountsOn && c.account != "" }, run: (*connection).cmdRejoin},
		{name: "ghost", usage: "/ghost NICK", summary: "disconnect another session that holds your account's nick", minArgs: 1,
			usable: func(c *connection) bool { return c.env.accountsOn && c.account != "" }, run: (*connection).cmdGhost},
		{name: "motd", usage: "/motd", summary: "show the message of the day again", run: (*connection).cmdMOTD},
		{name: "quit", aliases: []string{"bye", "exit"}, usage: "/quit [REASON]", summary: "leave the server (typing exit works too)", run: (*connection).cmdQuit},
	}
	list = append(list, moderationCommands()...)
	s := &commandSet{list: list, byName: make(map[string]*command)}
	for _, cmd := range list {
		s.byName[cmd.name] = cmd
		for _, a := range cmd.aliases {
			s.byName[a] = cmd
		}
	}
	return s
}

// listingDetail is /help's word on the listing commands.
var listingDetail = fmt.Sprintf("Lists at most %d, with how many there are. PATTERN narrows it: * matches anything, ? one character; "+
	"without them, names that contain PATTERN. A long listing counts against your flood allowance like the lines you send.", maxListed)

// runCommand dispatches one parsed command, checking its arguments first.
func (c *connection) runCommand(ctx actor.Context, in text.Input) {
	cmd, ok := c.env.commands.byName[in.Name]
	if !ok {
		c.sendError(ctx, fmt.Sprintf("unknown command /%s; type /help for the list", in.Name))
		return
	}
	if len(strings.Fields(in.Args)) < cmd.minArgs {
		c.sendError(ctx, "usage: "+cmd.usage)
		return
	}
	if cmd.needRoom && c.here == nil {
		c.sendError(ctx, fmt.Sprintf("/%s needs a room, and you are in none; /join ROOM", cmd.name))
		return
	}
	cmd.run(c, ctx, in.Args)
}

// cmdHelp: /help [COMMAND]
func (c *connection) cmdHelp(ctx actor.Context, args string) {
	if args != "" {
		name := strings.ToLower(strings.TrimPrefix(strings.Fields(args)[0], "/"))
		cmd, ok := c.env.commands.byName[name]
		if !ok {
			c.sendError(ctx, fmt.Sprintf("unknown command /%s; type /help for the list", name))
			return
		}
		c.sendNotice(ctx, fmt.Sprintf("%s - %s", cmd.usage, cmd.summary))
		if len(cmd.aliases) > 0 {
			c.sendNotice(ctx, "Also: /"+strings.Join(cmd.aliases, ", /"))
		}
		if cmd.detail != "" {
			c.sendNotice(ctx, cmd.detail)
		}
		return
	}
	c.sendNotice(ctx, "Commands (a line that is not a command goes to your room; start it with // to send a leading /):")
	width := 0
	var usable []*command
	for _, cmd := range c.env.commands.list {
		if cmd.usable == nil || cmd.usable(c) {
			usable = append(usable, cmd)
			width = max(width, len(helpName(cmd)))
		}
	}
	for _, cmd := range usable {
		c.sendNotice(ctx, fmt.Sprintf("  %-*s  %s", width, helpName(cmd), cmd.summary))
	}
}

// helpName is a command's usage with its aliases: "/who [PATTERN] (/list, /names)".
func helpName(cmd *command) string {
	if len(cmd.aliases) == 0 {
		return cmd.usage
	}
	return fmt.Sprintf("%s (/%s)", cmd.usage, strings.Join(cmd.aliases, ", /"))
}

// cmdNick: /nick NAME
func (c *connection) cmdNick(ctx actor.Context, args string) {
	nick := args // the whole argument: "/nick my name" is an error, not "my"
	if err := validateNick(nick); err != nil {
		c.sendError(ctx, err.Error())
		return
	}
	c.ask(ctx, c.env.registry, &messages.SetNick{MemberId: c.member, Nick: nick}, "/nick", on((*connection).nickChanged))
}

// cmdMsg: /msg NICK TEXT
func (c *connection) cmdMsg(ctx actor.Context, args string) {
	to, body, _ := strings.Cut(args, " ")
	body = strings.TrimSpace(body)
	if body == "" {
		c.sendError(ctx, "usage: /msg NICK TEXT")
		return
	}
	c.ask(ctx, c.env.registry, &messages.SendPrivateMessage{MemberId: c.member, ToNick: to, Text: body}, "/msg", on((*connection).privateSent))
}

// cmdReply: /reply TEXT
func (c *connection) cmdReply(ctx actor.Context, args string) {
	if c.lastPM == nil {
		c.sendError(ctx, "nobody has sent you a private message yet")
		return
	}
	c.ask(ctx, c.env.registry, &messages.SendPrivateMessage{MemberId: c.member, ToNick: c.lastPM.GetFromNick(), ToMemberId: c.lastPM.GetFromMemberId(), Text: args},
		"/reply", on((*connection).privateSent))
}

func (c *connection) privateSent(ctx actor.Context, msg *messages.PrivateMessageSent) {
	c.writeLine(ctx, c.codec.AppendPrivateSent(c.scratchBuf(), msg.GetToNick(), msg.GetText()))
	if away := msg.GetAway(); away != "" {
		c.sendNotice(ctx, fmt.Sprintf("%s is away: %s", msg.GetToNick(), away))
	}
}

// cmdMe: /me TEXT. The room sends the action back to us too; that is the
// answer the next line waits for.
func (c *connection) cmdMe(ctx actor.Context, args string) {
	p := c.numbered(c.here, &messages.PostMessage{MemberId: c.member, Text: args, Action: true})
	c.await(ctx, p.GetClientSeq(), "/me", nil)
	ctx.Request(c.here.pid, p)
}

// cmdWho: /who [PATTERN]
func (c *connection) cmdWho(ctx actor.Context, args string) {
	c.ask(ctx, c.here.pid, &messages.ListMembers{Pattern: args, Limit: maxListed}, "/who", on((*connection).showMembers))
}

func (c *connection) showMembers(ctx actor.Context, msg *messages.MemberList) {
	names := make([]string, len(msg.GetMembers()))
	for i, m := range msg.GetMembers() {
		names[i] = m.GetNick()
		if m.GetAway() != "" {
			names[i] += " (away)"
		}
	}
	head := fmt.Sprintf("%d in %s", msg.GetTotal(), msg.GetRoom())
	if msg.GetMatched() != msg.GetTotal() {
		head += fmt.Sprintf(", %d matching", msg.GetMatched())
	}
	line := head + ": " + strings.Join(names, ", ")
	if len(names) == 0 {
		line = head
	}
	if more := int(msg.GetMatched()) - len(names); more > 0 {
		line += fmt.Sprintf(" and %d more (narrow it: /who PATTERN)", more)
	}
	c.sendNotice(ctx, line)
	c.listed(len(names))
}

// listed charges a listing's length against the flood allowance: a
// listing's output counts like the lines a user sends.
func (c *connection) listed(lines int) {
	if c.gate != nil {
		c.gate.Charge(lines/listingLinesPerLine, time.Now())
	}
}

// cmdUsers: /users [PATTERN]
func (c *connection) cmdUsers(ctx actor.Context, args string) {
	c.ask(ctx, c.env.registry, &messages.ListUsers{Pattern: args, Limit: maxListed}, "/users", on((*connection).showUsers))
}

func (c *connection) showUsers(ctx actor.Context, msg *messages.UserList) {
	users := msg.GetUsers()
	if msg.GetMatched() == msg.GetTotal() {
		c.sendNotice(ctx, fmt.Sprintf("%d online:", msg.GetTotal()))
	} else {
		c.sendNotice(ctx, fmt.Sprintf("%d online, %d matching:", msg.GetTotal(), msg.GetMatched()))
	}
	for _, u := range users {
		line := fmt.Sprintf("  %s in %s", u.GetNick(), roomsOf(u.GetRoom(), u.GetRooms()))
		if u.GetAway() != "" {
			line += " (away: " + u.GetAway() + ")"
		}
		c.sendNotice(ctx, line)
	}
	if more := int(msg.GetMatched()) - len(users); more > 0 {
		c.sendNotice(ctx, fmt.Sprintf("  ... and %d more (narrow it: /users PATTERN)", more))
	}
	c.listed(len(users))
}

// cmdWhois: /whois NICK
func (c *connection) cmdWhois(ctx actor.Context, args string) {
	c.ask(ctx, c.env.registry, &messages.WhoisUser{Nick: strings.Fields(args)[0]}, "/whois", on((*connection).showWhois))
}

func (c *connection) showWhois(ctx actor.Context, msg *messages.UserDescription) {
	connected := time.UnixMilli(msg.GetConnectedUnixMillis()).UTC()
	room := "in " + roomsOf(msg.GetRoom(), msg.GetRooms())
	c.sendNotice(ctx, fmt.Sprintf("%s is %s, connected since %s (%s ago), idle %s", msg.GetNick(), room,
		connected.Format("2006-01-02 15:04:05Z"), roughDuration(time.Since(connected)), roughDuration(time.Duration(msg.GetIdleMillis())*time.Millisecond)))
	if away := msg.GetAway(); away != "" {
		c.sendNotice(ctx, fmt.Sprintf("%s is away: %s", msg.GetNick(), away))
	}
}

// roomsOf says which rooms a user is in, for /users and /whois: "dev",
// "dev, ops and lobby" (the current one first), "no room".
func roomsOf(current string, rooms []string) string {
	if len(rooms) == 0 {
		if current == "" {
			return "no room"
		}
		return current
	}
	if len(rooms) == 1 {
		return rooms[0]
	}
	return strings.Join(rooms[:len(rooms)-1], ", ") + " and " + rooms[len(rooms)-1]
}

// roughDuration renders a duration to the second: "3m12s", "0s".
func roughDuration(d time.Duration) string {
	return max(d, 0).Truncate(time.Second).String()
}

// cmdRooms: /rooms [PATTERN]
func (c *connection) cmdRooms(ctx actor.Context, args string) {
	c.ask(ctx, c.env.rooms, &messages.ListRooms{Pattern: args, Limit: maxListed}, "/rooms", on((*connection).showRooms))
}

func (c *connection) showRooms(ctx actor.Context, msg *messages.RoomList) {
	list := msg.GetRooms()
	if msg.GetMatched() == msg.GetTotal() {
		c.sendNotice(ctx, fmt.Sprintf("%d %s:", msg.GetTotal(), plural(int(msg.GetTotal()), "room", "rooms")))
	} else {
		c.sendNotice(ctx, fmt.Sprintf("%d %s, %d matching:", msg.GetTotal(), plural(int(msg.GetTotal()), "room", "rooms"), msg.GetMatched()))
	}
	for _, r := range list {
		line := fmt.Sprintf("  %s (%d)", r.GetName(), r.GetMembers())
		switch {
		case r.GetName() == c.roomName():
			line = "*" + line[1:]
		case c.ours(r.GetName()):
			line = "+" + line[1:]
		}
		if r.GetTopic() != "" {
			line += " " + r.GetTopic()
		}
		c.sendNotice(ctx, line)
	}
	if more := int(msg.GetMatched()) - len(list); more > 0 {
		c.sendNotice(ctx, fmt.Sprintf("  ... and %d more (narrow it: /rooms PATTERN)", more))
	}
	c.listed(len(list))
}

// cmdHistory: /history [N]
func (c *connection) cmdHistory(ctx actor.Context, args string) {
	n := c.env.cfg.HistoryLen
	if args != "" {
		v, err := strconv.Atoi(args)
		if err != nil || v < 1 || v > c.env.cfg.HistoryMax {
			c.sendError(ctx, fmt.Sprintf("usage: /history [N], N from 1 to %d", c.env.cfg.HistoryMax))
			return
		}
		n = v
	}
	c.ask(ctx, c.here.pid, &messages.GetHistory{MemberId: c.member, Limit: uint32(n)}, "/history", on((*connection).showHistory))
}

func (c *connection) showHistory(ctx actor.Context, msg *messages.HistoryShown) {
	if len(msg.GetHistory()) == 0 {
		c.sendNotice(ctx, "No history in "+msg.GetRoom()+" yet.")
	}
	c.writeHistory(ctx, msg.GetHistory())
}

// cmdTopic: /topic [TEXT]; "/topic -" clears it.
func (c *connection) cmdTopic(ctx actor.Context, args string) {
	switch here := c.here; args {
	case "":
		switch {
		case here.topic == "":
			c.sendNotice(ctx, here.name+" has no topic")
		case here.topicBy != "":
			c.sendNotice(ctx, "Topic: "+here.topic+" (set by "+here.topicBy+")")
		default:
			c.sendNotice(ctx, "Topic: "+here.topic)
		}
	case "-":
		c.ask(ctx, c.here.pid, &messages.SetTopic{MemberId: c.member}, "/topic", nil) // answered by the room's TopicChanged
	default:
		c.ask(ctx, c.here.pid, &messages.SetTopic{MemberId: c.member, Topic: args}, "/topic", nil)
	}
}

// cmdAway: /away [MESSAGE]; alone, it marks you back if you were away.
func (c *connection) cmdAway(ctx actor.Context, args string) {
	if args == "" {
		if c.away != "" {
			c.cmdBack(ctx, "")
			return
		}
		args = "away"
	}
	if len(args) > maxAwayMessageLen {
		args = truncate(args, maxAwayMessageLen)
	}
	c.setAway(ctx, args)
}

// cmdBack: /back
func (c *connection) cmdBack(ctx actor.Context, _ string) {
	if c.away == "" {
		c.sendError(ctx, "you are not marked as away")
		return
	}
	c.setAway(ctx, "")
}

// setAway tells our rooms (for /who) and the registry (for /users, /whois
// and private messages), and waits for the registry.
func (c *connection) setAway(ctx actor.Context, message string) {
	c.toEveryRoom(ctx, &messages.SetAway{MemberId: c.member, Message: message})
	c.ask(ctx, c.env.registry, &messages.SetAway{MemberId: c.member, Message: message}, "/away", on((*connection).awaySet))
}

func (c *connection) awaySet(ctx actor.Context, msg *messages.AwaySet) {
	c.away = msg.GetMessage()
	if c.away == "" {
		c.sendNotice(ctx, "You are back.")
	} else {
		c.sendNotice(ctx, "You are marked as away: "+c.away)
	}
}

// onOff reads the argument of a COMMAND [on|off] setting: whether it was
// given and what it says, or false with the usage shown.
func (c *connection) onOff(ctx actor.Context, command, args string) (on, given, ok bool) {
	switch strings.ToLower(args) {
	case "":
		return false, false, true
	case "on", "off":
		return strings.EqualFold(args, "on"), true, true
	}
	c.sendError(ctx, "usage: /"+command+" [on|off]")
	return false, false, false
}

// cmdBell: /bell [on|off]
func (c *connection) cmdBell(ctx actor.Context, args string) {
	on, given, ok := c.onOff(ctx, "bell", args)
	if !ok {
		return
	}
	if given {
		c.noBell = !on
	}
	if c.noBell {
		c.sendNotice(ctx, "The bell is off.")
	} else {
		c.sendNotice(ctx, "The bell is on: it rings when your nick is mentioned and when a private message comes.")
	}
}

// cmdMOTD: /motd
func (c *connection) cmdMOTD(ctx actor.Context, _ string) {
	if !c.sendMOTD(ctx) {
		c.sendNotice(ctx, "There is no message of the day.")
	}
}

// cmdIgnore: /ignore [NICK]
func (c *connection) cmdIgnore(ctx actor.Context, args string) {
	if args == "" {
		c.listIgnored(ctx)
		return
	}
	nick := strings.Fields(args)[0]
	c.resolve(ctx, "/ignore", nick, func(r *messages.NickResolved) {
		if r.GetMemberId() == c.member {
			c.sendError(ctx, "you cannot ignore yourself")
			return
		}
		if c.ignored == nil {
			c.ignored = make(map[string]string)
		}
		c.ignored[r.GetMemberId()] = r.GetNick()
		c.sendNotice(ctx, fmt.Sprintf("Ignoring %s for this session.", r.GetNick()))
	})
}

// listIgnored asks the registry for the current nicks of the users we
// ignore: they may have renamed, or left.
func (c *connection) listIgnored(ctx actor.Context) {
	if len(c.ignored) == 0 {
		c.sendNotice(ctx, "You ignore nobody.")
		return
	}
	ids := make([]string, 0, len(c.ignored))
	for id := range c.ignored {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	c.ask(ctx, c.env.registry, &messages.DescribeMembers{MemberIds: ids}, "/ignore", on((*connection).showIgnored))
}

// showIgnored shows the ignore list with current nicks and forgets the
// users who have left (their member ids never come back).
func (c *connection) showIgnored(ctx actor.Context, msg *messages.MembersDescribed) {
	online := make(map[string]string, len(msg.GetUsers()))
	for _, u := range msg.GetUsers() {
		online[u.GetMemberId()] = u.GetNick()
	}
	for id := range c.ignored {
		if nick, ok := online[id]; ok {
			c.ignored[id] = nick
		} else {
			delete(c.ignored, id)
		}
	}
	if len(c.ignored) == 0 {
		c.sendNotice(ctx, "You ignore nobody.")
	} else {
		nicks := make([]string, 0, len(c.ignored))
		for _, n := range c.ignored {
			nicks = append(nicks, n)
		}
		slices.Sort(nicks)
		c.sendNotice(ctx, "You ignore: "+strings.Join(nicks, ", "))
	}
}

// cmdUnignore: /unignore NICK. The nick is matched against the list first
// (the user may have left or renamed since), then looked up.
func (c *connection) cmdUnignore(ctx actor.Context, args string) {
	nick := strings.Fields(args)[0]
	for id, n := range c.ignored {
		if strings.EqualFold(n, nick) {
			delete(c.ignored, id)
			c.sendNotice(ctx, fmt.Sprintf("No longer ignoring %s.", n))
			return
		}
	}
	c.resolve(ctx, "/unignore", nick, func(r *messages.NickResolved) {
		if _, ok := c.ignored[r.GetMemberId()]; !ok {
			c.sendError(ctx, fmt.Sprintf("you are not ignoring %s", r.GetNick()))
			return
		}
		delete(c.ignored, r.GetMemberId())
		c.sendNotice(ctx, fmt.Sprintf("No longer ignoring %s.", r.GetNick()))
	})
}

// resolve asks the registry who holds nick and continues with the answer.
func (c *connection) resolve(ctx actor.Context, command, nick string, then func(*messages.NickResolved)) {
	c.ask(ctx, c.env.registry, &messages.ResolveNick{Nick: nick}, command, on(func(_ *connection, _ actor.Context, r *messages.NickResolved) { then(r) }))
}

// cmdQuit: /quit [REASON], /bye, /exit, or a line that is just exit.
func (c *connection) cmdQuit(ctx actor.Context, args string) {
	if len(args) > maxQuitMessageLen {
		args = truncate(args, maxQuitMessageLen)
	}
	c.quitMsg = args
	c.stop(ctx, messages.LeaveReason_LEAVE_REASON_QUIT)
}

// truncate cuts user text to at most n bytes, and sanitizes the result
// again: the cut may split a character, or drop the closers that Sanitize
// added for a bidi override left open.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return text.Sanitize([]byte(s[:n]))
}

// nickChanged takes the nick the registry gave us for /nick and tells our
// rooms; the current room's notice confirms the change to us too, and is
// what the lines after /nick wait for.
func (c *connection) nickChanged(ctx actor.Context, msg *messages.NickChanged) {
	c.takeNick(ctx, msg, true)
}

// takeNick takes a nick the registry gave us (also when its answer came
// after we stopped waiting: the registry's word is what counts); wait says
// that the lines that follow wait for the current room's notice.
func (c *connection) takeNick(ctx actor.Context, msg *messages.NickChanged, wait bool) {
	c.setNick(msg.GetNewNick())
	if c.here == nil {
		c.writeLine(ctx, c.codec.AppendOwnNick(c.scratchBuf(), msg.GetOldNick(), c.nick))
		return
	}
	c.renameInRooms(ctx, wait)
}
