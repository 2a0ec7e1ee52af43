package actors

import (
	"fmt"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/messages"
)

// maxQuitMessageLen bounds what a user may say with /quit.
const maxQuitMessageLen = 200

// command is one slash command a user can type.
type command struct {
	name    string   // what /help lists
	aliases []string // other names for it
	usage   string   // syntax, as /help shows it
	summary string   // one line for /help
	detail  string   // more for /help NAME; may be empty
	minArgs int      // arguments it needs; fewer gets the usage
	run     func(c *connection, ctx actor.Context, args string)
}

// commandSet is the command table: one place that dispatches and checks
// arguments. It is built once per server and never changed.
type commandSet struct {
	list   []*command
	byName map[string]*command
}

func newCommandSet() *commandSet {
	list := []*command{
		{name: "help", usage: "/help [COMMAND]", summary: "list the commands, or explain one", run: (*connection).cmdHelp},
		{name: "nick", aliases: []string{"username"}, usage: "/nick NAME", summary: "change your nickname", minArgs: 1,
			detail: fmt.Sprintf("1 to %d letters, digits, _, - or .; unique whatever the case; guest followed by digits is reserved.", maxNickLen),
			run:    (*connection).cmdNick},
		{name: "msg", usage: "/msg NICK TEXT", summary: "send a private message (also: @NICK TEXT)", minArgs: 2, run: (*connection).cmdMsg},
		{name: "reply", usage: "/reply TEXT", summary: "answer the last private message you got", minArgs: 1, run: (*connection).cmdReply},
		{name: "me", usage: "/me TEXT", summary: "act: the room sees * yournick TEXT", minArgs: 1, run: (*connection).cmdMe},
		{name: "who", aliases: []string{"list", "names"}, usage: "/who", summary: "who is in your room", run: (*connection).cmdWho},
		{name: "users", usage: "/users", summary: "everyone online, with their rooms", run: (*connection).cmdUsers},
		{name: "join", usage: "/join ROOM", summary: "leave your room and enter ROOM, creating it if needed", minArgs: 1,
			detail: fmt.Sprintf("1 to %d lower-case letters, digits, _ or -, with an optional leading #. A room closes when its last member leaves; the lobby never does.", maxRoomNameLen),
			run:    (*connection).cmdJoin},
		{name: "leave", aliases: []string{"part"}, usage: "/leave", summary: "go back to the lobby", run: (*connection).cmdLeave},
		{name: "rooms", usage: "/rooms", summary: "every room, with its member count and topic", run: (*connection).cmdRooms},
		{name: "topic", usage: "/topic [TEXT]", summary: "show the room's topic, or set it", detail: "/topic - clears it.", run: (*connection).cmdTopic},
		{name: "ignore", usage: "/ignore [NICK]", summary: "stop seeing a user's messages; alone, list whom you ignore",
			detail: "Lasts for this session; the ignored user is not told.", run: (*connection).cmdIgnore},
		{name: "unignore", usage: "/unignore NICK", summary: "see a user's messages again", minArgs: 1, run: (*connection).cmdUnignore},
		{name: "quit", aliases: []string{"bye", "exit"}, usage: "/quit [REASON]", summary: "leave the server (typing exit works too)", run: (*connection).cmdQuit},
	}
	s := &commandSet{list: list, byName: make(map[string]*command)}
	for _, cmd := range list {
		s.byName[cmd.name] = cmd
		for _, a := range cmd.aliases {
			s.byName[a] = cmd
		}
	}
	return s
}

// runCommand dispatches one parsed command, checking its arguments first.
func (c *connection) runCommand(ctx actor.Context, in input) {
	cmd, ok := c.srv.commands.byName[in.name]
	if !ok {
		c.sendError(ctx, fmt.Sprintf("unknown command /%s; type /help for the list", in.name))
		return
	}
	if len(strings.Fields(in.args)) < cmd.minArgs {
		c.sendError(ctx, "usage: "+cmd.usage)
		return
	}
	cmd.run(c, ctx, in.args)
}

// cmdHelp: /help [COMMAND]
func (c *connection) cmdHelp(ctx actor.Context, args string) {
	if args != "" {
		name := strings.ToLower(strings.TrimPrefix(strings.Fields(args)[0], "/"))
		cmd, ok := c.srv.commands.byName[name]
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
	for _, cmd := range c.srv.commands.list {
		width = max(width, len(cmd.usage))
	}
	for _, cmd := range c.srv.commands.list {
		c.sendNotice(ctx, fmt.Sprintf("  %-*s  %s", width, cmd.usage, cmd.summary))
	}
}

// cmdNick: /nick NAME
func (c *connection) cmdNick(ctx actor.Context, args string) {
	nick := args // the whole argument: "/nick my name" is an error, not "my"
	if err := validateNick(nick); err != nil {
		c.sendError(ctx, err.Error())
		return
	}
	c.renaming = true
	ctx.Request(c.srv.registry, &messages.SetNick{Nick: nick})
}

// cmdMsg: /msg NICK TEXT
func (c *connection) cmdMsg(ctx actor.Context, args string) {
	to, text, _ := strings.Cut(args, " ")
	text = strings.TrimSpace(text)
	if text == "" {
		c.sendError(ctx, "usage: /msg NICK TEXT")
		return
	}
	ctx.Request(c.srv.registry, &messages.SendPrivateMessage{ToNick: to, Text: text})
}

// cmdReply: /reply TEXT
func (c *connection) cmdReply(ctx actor.Context, args string) {
	if c.lastPM == nil {
		c.sendError(ctx, "nobody has sent you a private message yet")
		return
	}
	ctx.Request(c.srv.registry, &messages.SendPrivateMessage{ToNick: c.lastPM.GetFromNick(), ToConnId: c.lastPM.GetFromConnId(), Text: args})
}

// cmdMe: /me TEXT
func (c *connection) cmdMe(ctx actor.Context, args string) {
	ctx.Request(c.roomPID, &messages.PostMessage{Text: args, Action: true})
}

// cmdWho: /who
func (c *connection) cmdWho(ctx actor.Context, _ string) {
	ctx.Request(c.roomPID, &messages.ListMembers{})
}

// cmdUsers: /users
func (c *connection) cmdUsers(ctx actor.Context, _ string) {
	ctx.Request(c.srv.registry, &messages.ListUsers{})
}

// cmdJoin: /join ROOM
func (c *connection) cmdJoin(ctx actor.Context, args string) {
	name, err := normalizeRoomName(args) // the whole argument, as for /nick
	if err != nil {
		c.sendError(ctx, err.Error())
		return
	}
	c.moveTo(ctx, name)
}

// cmdLeave: /leave
func (c *connection) cmdLeave(ctx actor.Context, _ string) {
	c.moveTo(ctx, lobbyName)
}

func (c *connection) moveTo(ctx actor.Context, room string) {
	if room == c.room {
		c.sendError(ctx, "you are already in "+room)
		return
	}
	// Join once the old room has answered (RoomLeft), so that all it sent us
	// comes before anything from the new one. Lines wait meanwhile.
	ctx.Request(c.roomPID, &messages.LeaveRoom{Reason: messages.LeaveReason_LEAVE_REASON_PART})
	c.room = room
	c.roomPID = nil
}

// cmdRooms: /rooms
func (c *connection) cmdRooms(ctx actor.Context, _ string) {
	ctx.Request(c.srv.rooms, &messages.ListRooms{})
}

// cmdTopic: /topic [TEXT]; "/topic -" clears it.
func (c *connection) cmdTopic(ctx actor.Context, args string) {
	switch args {
	case "":
		if c.topic == "" {
			c.sendNotice(ctx, c.room+" has no topic")
		} else {
			c.sendNotice(ctx, "Topic: "+c.topic)
		}
	case "-":
		ctx.Request(c.roomPID, &messages.SetTopic{})
	default:
		ctx.Request(c.roomPID, &messages.SetTopic{Topic: args})
	}
}

// cmdIgnore: /ignore [NICK]
func (c *connection) cmdIgnore(ctx actor.Context, args string) {
	if args == "" {
		c.listIgnored(ctx)
		return
	}
	nick := strings.Fields(args)[0]
	c.resolve(ctx, nick, func(r *messages.NickResolved) {
		if r.GetConnId() == c.id {
			c.sendError(ctx, "you cannot ignore yourself")
			return
		}
		if c.ignored == nil {
			c.ignored = make(map[uint64]string)
		}
		c.ignored[r.GetConnId()] = r.GetNick()
		c.sendNotice(ctx, fmt.Sprintf("Ignoring %s for this session.", r.GetNick()))
	})
}

func (c *connection) listIgnored(ctx actor.Context) {
	if len(c.ignored) == 0 {
		c.sendNotice(ctx, "You ignore nobody.")
		return
	}
	nicks := make([]string, 0, len(c.ignored))
	for _, n := range c.ignored {
		nicks = append(nicks, n)
	}
	slices.Sort(nicks)
	c.sendNotice(ctx, "You ignore: "+strings.Join(nicks, ", "))
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
	c.resolve(ctx, nick, func(r *messages.NickResolved) {
		if _, ok := c.ignored[r.GetConnId()]; !ok {
			c.sendError(ctx, fmt.Sprintf("you are not ignoring %s", r.GetNick()))
			return
		}
		delete(c.ignored, r.GetConnId())
		c.sendNotice(ctx, fmt.Sprintf("No longer ignoring %s.", r.GetNick()))
	})
}

// resolve asks the registry who holds nick and continues with the answer
// inside this actor (ReenterAfter), without blocking it.
func (c *connection) resolve(ctx actor.Context, nick string, then func(*messages.NickResolved)) {
	f := ctx.RequestFuture(c.srv.registry, &messages.ResolveNick{Nick: nick}, requestTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		switch r := res.(type) {
		case *messages.NickResolved:
			then(r)
		case *messages.CommandRejected:
			c.sendError(ctx, r.GetReason())
		default:
			c.sendError(ctx, fmt.Sprintf("could not look up %s: %v", nick, err))
		}
	})
}

// cmdQuit: /quit [REASON], /bye, /exit, or a line that is just exit.
func (c *connection) cmdQuit(ctx actor.Context, args string) {
	if len(args) > maxQuitMessageLen {
		args = strings.ToValidUTF8(args[:maxQuitMessageLen], "")
	}
	c.quitMsg = args
	c.stop(ctx, messages.LeaveReason_LEAVE_REASON_QUIT)
}
