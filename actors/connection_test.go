package actors

import (
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/actorchat/internal/faults/faultpb"
	"github.com/actorchat/actorchat/internal/netio"
	"github.com/actorchat/actorchat/internal/telnet"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

// connHarness is one connection actor wired to probes instead of the real
// registry and rooms, with a net.Pipe for its socket: the actor's logic is
// tested on its own.
type connHarness struct {
	t        *testing.T
	system   *actor.ActorSystem
	client   *lineConn
	registry *probe
	rooms    *probe
	room     *probe // plays the room the connection joins
	accounts *probe // plays the accounts actor (with a Config.Store)
	conn     *actor.PID
	env      *connectionEnv
	table    *netio.Table
	register *messages.RegisterConnection // the connection's first request
}

// answer has p answer the request req that the connection sent it, as a
// real peer does: to its reply_to, in a Reply with its request id.
func (h *connHarness) answer(p *probe, req, answer proto.Message) {
	m := req.ProtoReflect()
	to, _ := m.Get(m.Descriptor().Fields().ByName("reply_to")).Message().Interface().(*messages.ActorRef)
	if to.GetRequestId() == 0 {
		h.t.Fatalf("%T was not asked as a numbered request", req)
	}
	p.system.Root.RequestWithCustomSender(h.conn, answerTo(to, answer), p.pid)
}

func newConnHarness(t *testing.T, mutate func(*Config)) *connHarness {
	t.Helper()
	system := newTestSystem(t)
	cfg := DefaultConfig()
	cfg.LingerTimeout = 50 * time.Millisecond
	cfg.Version = "test"
	cfg.FloodRate = 0
	if mutate != nil {
		mutate(&cfg)
	}
	h := &connHarness{
		t:        t,
		system:   system,
		registry: newProbe(t, system),
		rooms:    newProbe(t, system),
		room:     newProbe(t, system),
		accounts: newProbe(t, system),
	}
	cfg = cfg.withDefaults()
	h.env = &connectionEnv{cfg: cfg.connectionConfig(), logger: testLogger(), metrics: cfg.Metrics, commands: newCommandSet(cfg.connectionConfig()),
		registry: h.registry.pid, registryID: h.registry.pid.GetId(), rooms: h.rooms.pid, admins: cfg.Admins, motd: &atomic.Pointer[[]string]{},
		accounts: h.accounts.pid, accountsOn: cfg.Store != nil}
	h.table = netio.NewTable(0, 0, cfg.Metrics.table())
	connections := supervisedProps(t, system, connectionsProps(connectionsDeps{
		env: h.env, table: h.table, node: "test", middleware: faultMiddleware(t),
		sockCfg: netio.Config{MaxLineBytes: cfg.MaxLineBytes, WriteTimeout: cfg.WriteTimeout, LingerTimeout: cfg.LingerTimeout, OutboxBytes: cfg.OutboxBytes},
	}), actor.ResumeDirective)

	server, client := net.Pipe()
	t.Cleanup(func() { client.Close() })
	h.client = newLineConn(t, client)
	if err := h.table.Park(1, server); err != nil {
		t.Fatal(err)
	}
	system.Root.Send(connections, &messages.SpawnConnection{ConnId: 1, RemoteAddr: "pipe"})
	reg := expect[*messages.RegisterConnection](t, h.registry)
	if reg.GetMemberId() != "test.1" {
		t.Fatalf("member id %q, want test.1 (node test, connection 1)", reg.GetMemberId())
	}
	h.conn = pidOf(reg.GetReplyTo())
	h.register = reg
	return h
}

// member is the harness connection's member id.
const member = "test.1"

// roomRef is the probe that plays the room, as RoomJoined names it.
func (h *connHarness) roomRef() *messages.ActorRef { return refOf(h.room.pid) }

// welcome registers the connection as nick and has it join the probe room.
func (h *connHarness) welcome(t *testing.T, nick string, members ...string) {
	t.Helper()
	h.answer(h.registry, h.register, &messages.ConnectionRegistered{Nick: nick})
	join := expect[*messages.JoinRoom](t, h.rooms)
	if join.GetRoom() != "lobby" || join.GetNick() != nick || join.GetMemberId() != member || !pidOf(join.GetReplyTo()).Equal(h.conn) {
		t.Fatalf("got %v, want a join of the lobby", join)
	}
	h.answer(h.room, join, &messages.RoomJoined{Room: "lobby", Members: members, MemberCount: uint32(1 + len(members)), RoomRef: h.roomRef()})
	h.client.expectPrefix("*** Welcome to actorchat test")
	h.client.expect("*** You are " + nick + ". Change it with /nick NAME. Type /help for commands, /quit to leave.")
	others := "nobody else"
	if len(members) > 0 {
		others = strings.Join(members, ", ")
	}
	h.client.expect("*** You are in room lobby with " + others + ".")
	if moved := expect[*messages.UserMoved](t, h.registry); moved.GetRoom() != "lobby" {
		t.Fatalf("got %v", moved)
	}
}

// waitStopped waits until the connection actor is gone.
func (h *connHarness) waitStopped(t *testing.T) {
	t.Helper()
	testkit.Eventually(t, "the connection actor to stop", func() bool {
		_, alive := h.system.ProcessRegistry.Get(h.conn)
		return !alive
	})
}

func TestConnectionChatAndEvents(t *testing.T) {
	h := newConnHarness(t, nil)
	h.welcome(t, "guest1", "bob")

	h.client.send("hello, room")
	if post := expect[*messages.PostMessage](t, h.room); post.GetText() != "hello, room" || post.GetAction() {
		t.Errorf("got %v", post)
	}
	h.client.send("//slash at the start")
	if post := expect[*messages.PostMessage](t, h.room); post.GetText() != "/slash at the start" {
		t.Errorf("got %v", post)
	}
	h.client.send("/me waves")
	post := expect[*messages.PostMessage](t, h.room)
	if post.GetText() != "waves" || !post.GetAction() {
		t.Errorf("got %v", post)
	}
	h.room.send(h.conn, &messages.MessagePosted{Room: "lobby", Nick: "guest1", SenderMemberId: member, Text: "waves", Action: true, SenderSeq: post.GetClientSeq()})
	h.client.expect("* guest1 waves") // the room's echo, which /me waits for
	h.client.send("   ")              // blank: nothing

	events := []struct {
		msg  any
		line string
	}{
		{&messages.MessagePosted{Room: "lobby", Nick: "bob", Text: "hi there"}, "<bob> hi there"},
		{&messages.MessagePosted{Room: "lobby", Nick: "bob", Text: "dances", Action: true}, "* bob dances"},
		{&messages.MemberJoined{Room: "lobby", Nick: "carol"}, "*** carol joined lobby"},
		{&messages.MemberLeft{Room: "lobby", Nick: "carol", Reason: messages.LeaveReason_LEAVE_REASON_CONNECTION_LOST}, "*** carol left (connection lost)"},
		{&messages.MemberLeft{Room: "lobby", Nick: "dave", Reason: messages.LeaveReason_LEAVE_REASON_QUIT, Message: "zzz"}, "*** dave left (quit: zzz)"},
		{&messages.MemberLeft{Room: "lobby", Nick: "erin", Reason: messages.LeaveReason_LEAVE_REASON_PART}, "*** erin left lobby"},
		{&messages.MemberRenamed{Room: "lobby", OldNick: "bob", NewNick: "robert"}, "*** bob is now known as robert"},
		{&messages.TopicChanged{Room: "lobby", Nick: "robert", Topic: "actors"}, "*** robert set the topic: actors"},
		{&messages.PrivateMessageReceived{FromNick: "robert", FromMemberId: "m2", Text: "psst"}, "[pm] <robert> psst\a"},
	}
	for _, e := range events {
		h.room.send(h.conn, e.msg)
		h.client.expect(e.line)
	}
}

func TestConnectionHoldsLinesUntilReady(t *testing.T) {
	h := newConnHarness(t, nil)
	h.client.send("first")
	h.client.send("second")
	h.welcome(t, "guest1")
	for _, want := range []string{"first", "second"} {
		if post := expect[*messages.PostMessage](t, h.room); post.GetText() != want {
			t.Errorf("got %q, want %q", post.GetText(), want)
		}
	}
}

// TestConnectionNickChangeOrdersLaterLines: "/nick bob" then "hi" must post
// "hi" only once the registry has answered, so the room sees it from bob.
func TestConnectionNickChangeOrdersLaterLines(t *testing.T) {
	h := newConnHarness(t, nil)
	h.welcome(t, "guest1")
	h.client.send("/nick bob")
	h.client.send("hi")
	set := expect[*messages.SetNick](t, h.registry)
	if set.GetNick() != "bob" {
		t.Fatalf("got %v", set)
	}
	h.room.sync(t, h.conn)
	h.room.expectQuiet(t) // "hi" waits
	h.answer(h.registry, set, &messages.NickChanged{OldNick: "guest1", NewNick: "bob"})
	got := expect[*messages.RenameMember](t, h.room)
	if got.GetNewNick() != "bob" || got.GetRequestId() == 0 {
		t.Errorf("got %v, want a numbered rename", got)
	}
	// "hi" waits for the room's notice too, so that the user reads the
	// rename before anything that follows it.
	h.room.sync(t, h.conn)
	h.room.expectQuiet(t)
	h.room.send(h.conn, &messages.MemberRenamed{Room: "lobby", OldNick: "guest1", NewNick: "bob", MemberId: member, RequestId: got.GetRequestId()})
	h.client.expect("*** guest1 is now known as bob")
	if post := expect[*messages.PostMessage](t, h.room); post.GetText() != "hi" {
		t.Errorf("got %v", post)
	}
}

// A /join of the room the user is in tells the registry the room again, so
// that a UserMoved the registry lost (to a panic it resumed from) is healed.
func TestConnectionJoinOfOwnRoomRetellsRegistry(t *testing.T) {
	h := newConnHarness(t, nil)
	h.welcome(t, "guest1")
	h.client.send("/join lobby")
	h.client.expect("!!! you are already in lobby")
	if moved := expect[*messages.UserMoved](t, h.registry); moved.GetRoom() != "lobby" || moved.GetMemberId() != member {
		t.Fatalf("got %v, want UserMoved of %s to lobby", moved, member)
	}
}

func TestConnectionCommandErrors(t *testing.T) {
	h := newConnHarness(t, nil)
	h.welcome(t, "guest1")
	tests := []struct{ in, want string }{
		{"/frobnicate now", "!!! unknown command /frobnicate; type /help for the list"},
		{"/nick", "!!! usage: /nick NAME"},
		{"/nick bad!nick", "!!! a nick may only use letters, digits and the characters . _ -"},
		{"/msg bob", "!!! usage: /msg NICK TEXT"},
		{"/join bad!room", "!!! a room name may only use letters, digits, _ and - (and a leading #)"},
		{"/join lobby", "!!! you are already in lobby"},
		{"/reply hi", "!!! nobody has sent you a private message yet"},
		{"/help nosuch", "!!! unknown command /nosuch; type /help for the list"},
	}
	for _, tt := range tests {
		t.Logf("sending %q", tt.in)
		h.client.send(tt.in)
		h.client.expect(tt.want)
	}
	h.client.send("/msg zed hi")
	expect[*messages.UserMoved](t, h.registry) // from "/join lobby": the registry hears it again
	h.answer(h.registry, expect[*messages.SendPrivateMessage](t, h.registry), &messages.CommandRejected{Reason: "no such nick: zed", Request: messages.Request_REQUEST_MSG})
	h.client.expect("!!! no such nick: zed")
}

func TestConnectionHelp(t *testing.T) {
	h := newConnHarness(t, nil)
	h.welcome(t, "guest1")
	h.client.send("/help")
	h.client.expectPrefix("*** Commands")
	listed := map[string]bool{}
	for _, cmd := range h.env.commands.list {
		if cmd.usable != nil { // the account commands: this server has no store
			continue
		}
		line := h.client.expectPrefix("***   /")
		listed[strings.Fields(strings.TrimPrefix(line, "***   /"))[0]] = true
	}
	for _, name := range []string{"help", "nick", "msg", "reply", "me", "who", "users", "join", "focus", "part", "rooms", "topic", "ignore", "unignore", "quit"} {
		if !listed[name] {
			t.Errorf("/help does not list /%s", name)
		}
	}
	h.client.send("/help /NICK")
	h.client.expect("*** /nick NAME - change your nickname")
	h.client.expect("*** Also: /username")
	h.client.expectPrefix("*** 1 to 20 letters")
}

func TestConnectionQuit(t *testing.T) {
	for _, line := range []string{"exit", "  EXIT  ", "/quit", "/bye", "/exit", "/QUIT gone fishing"} {
		t.Run(line, func(t *testing.T) {
			h := newConnHarness(t, nil)
			h.welcome(t, "guest1")
			h.client.send(line)
			h.client.expect("bye...")
			h.client.expectEOF()
			leave := expect[*messages.LeaveRoom](t, h.room)
			if leave.GetReason() != messages.LeaveReason_LEAVE_REASON_QUIT {
				t.Errorf("got %v, want quit", leave)
			}
			if strings.HasSuffix(line, "fishing") && leave.GetMessage() != "gone fishing" {
				t.Errorf("quit message %q, want gone fishing", leave.GetMessage())
			}
			h.waitStopped(t)
		})
	}
}

func TestConnectionTelnetInterruptQuits(t *testing.T) {
	h := newConnHarness(t, nil)
	h.welcome(t, "guest1")
	_, _ = h.client.conn.Write([]byte{telnet.IAC, telnet.IP})
	h.client.expect("bye...")
	if leave := expect[*messages.LeaveRoom](t, h.room); leave.GetReason() != messages.LeaveReason_LEAVE_REASON_QUIT {
		t.Errorf("got %v", leave)
	}
}

func TestConnectionLost(t *testing.T) {
	h := newConnHarness(t, nil)
	h.welcome(t, "guest1")
	h.system.Root.Send(h.conn, &messages.InputClosed{Error: "read: connection reset by peer"})
	if leave := expect[*messages.LeaveRoom](t, h.room); leave.GetReason() != messages.LeaveReason_LEAVE_REASON_CONNECTION_LOST {
		t.Errorf("got %v, want connection lost", leave)
	}
	h.waitStopped(t)
	testkit.Eventually(t, "the socket to close", func() bool { return h.table.Count() == 0 })
}

// TestConnectionPanicStopsOnlyIt injects a panic: the supervisor stops the
// connection, whose user reads an error line and bye..., and the room is told
// the reason.
func TestConnectionPanicStopsIt(t *testing.T) {
	h := newConnHarness(t, nil)
	h.welcome(t, "guest1")
	h.system.Root.Send(h.conn, &faultpb.InjectFault{Reason: "test"})
	h.client.expect("!!! internal server error; your connection is closed (sorry)")
	h.client.expect("bye...")
	h.client.expectEOF()
	if leave := expect[*messages.LeaveRoom](t, h.room); leave.GetReason() != messages.LeaveReason_LEAVE_REASON_ERROR {
		t.Errorf("got %v, want error", leave)
	}
	h.waitStopped(t)
}

func TestConnectionShutdown(t *testing.T) {
	h := newConnHarness(t, nil)
	h.welcome(t, "guest1")
	h.system.Root.Send(h.conn, &messages.Shutdown{Notice: "going down"})
	h.client.expect("*** going down")
	h.client.expect("bye...")
	h.client.expectEOF()
	if leave := expect[*messages.LeaveRoom](t, h.room); leave.GetReason() != messages.LeaveReason_LEAVE_REASON_SHUTDOWN {
		t.Errorf("got %v, want shutdown", leave)
	}
}

// TestConnectionSlowConsumer never reads while the room sends: the outbox
// fills, and the connection stops as a slow consumer without blocking the
// room.
func TestConnectionSlowConsumer(t *testing.T) {
	h := newConnHarness(t, func(c *Config) { c.OutboxBytes = 4096 })
	h.welcome(t, "guest1")
	msg := &messages.MessagePosted{Room: "lobby", Nick: "bob", Text: strings.Repeat("x", 100)}
	for range 200 { // 200 lines of ~108 bytes: far past 4096 and the pipe's zero buffer
		h.room.send(h.conn, msg)
	}
	if leave := expect[*messages.LeaveRoom](t, h.room); leave.GetReason() != messages.LeaveReason_LEAVE_REASON_SLOW_CONSUMER {
		t.Errorf("got %v, want slow consumer", leave)
	}
	h.waitStopped(t)
}

func TestConnectionLineTooLong(t *testing.T) {
	h := newConnHarness(t, func(c *Config) { c.MaxLineBytes = 32 })
	h.welcome(t, "guest1")
	h.client.send(strings.Repeat("y", 100))
	h.client.expect("!!! line too long (the limit is 32 bytes); it was discarded")
	h.client.send("short")
	if post := expect[*messages.PostMessage](t, h.room); post.GetText() != "short" {
		t.Errorf("got %v, want only the short line", post)
	}
}

func TestConnectionIgnore(t *testing.T) {
	h := newConnHarness(t, nil)
	h.welcome(t, "guest1")
	h.client.send("/ignore")
	h.client.expect("*** You ignore nobody.")

	h.client.send("/ignore bob")
	r := expect[*messages.ResolveNick](t, h.registry)
	if r.GetNick() != "bob" {
		t.Fatalf("got %v", r)
	}
	h.answer(h.registry, r, &messages.NickResolved{Nick: "Bob", MemberId: "m2"})
	h.client.expect("*** Ignoring Bob for this session.")

	h.room.send(h.conn, &messages.MessagePosted{Room: "lobby", Nick: "Bob", SenderMemberId: "m2", Text: "spam"})
	h.room.send(h.conn, &messages.PrivateMessageReceived{FromNick: "Bob", FromMemberId: "m2", Text: "more spam"})
	h.room.send(h.conn, &messages.MessagePosted{Room: "lobby", Nick: "carol", SenderMemberId: "m3", Text: "hello"})
	h.client.expect("<carol> hello") // Bob's two lines never came
	h.client.send("/reply hi")
	h.client.expect("!!! nobody has sent you a private message yet")

	h.client.send("/ignore")
	d := expect[*messages.DescribeMembers](t, h.registry)
	if ids := d.GetMemberIds(); len(ids) != 1 || ids[0] != "m2" {
		t.Fatalf("got %v, want member m2 described", d)
	}
	h.answer(h.registry, d, &messages.MembersDescribed{Users: []*messages.NickResolved{{Nick: "Bob", MemberId: "m2"}}})
	h.client.expect("*** You ignore: Bob")
	h.client.send("/unignore bob")
	h.client.expect("*** No longer ignoring Bob.")
	h.room.send(h.conn, &messages.MessagePosted{Room: "lobby", Nick: "Bob", SenderMemberId: "m2", Text: "back"})
	h.client.expect("<Bob> back")

	h.client.send("/ignore nobody")
	h.answer(h.registry, expect[*messages.ResolveNick](t, h.registry), &messages.CommandRejected{Reason: "no such nick: nobody", Request: messages.Request_REQUEST_RESOLVE})
	h.client.expect("!!! no such nick: nobody")
}

// TestConnectionHoldsItsSetUpForOneWrite: a new connection writes nothing
// (not even the telnet offer) until its first room answers; then the offer,
// the welcome and the room come together.
func TestConnectionHoldsItsSetUpForOneWrite(t *testing.T) {
	h := newConnHarness(t, nil)
	h.answer(h.registry, h.register, &messages.ConnectionRegistered{Nick: "guest1"})
	join := expect[*messages.JoinRoom](t, h.rooms)
	h.rooms.sync(t, h.conn) // whatever flush the welcome asked for is done
	h.client.expectSilence(200 * time.Millisecond)

	h.answer(h.room, join, &messages.RoomJoined{Room: "lobby", MemberCount: 1, RoomRef: h.roomRef(), Topic: "tea",
		History: []*messages.MessagePosted{{Room: "lobby", Nick: "bob", Text: "earlier", UnixMillis: time.Now().UnixMilli()}}})
	_ = h.client.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	offer := make([]byte, len(telnet.Offer))
	if _, err := io.ReadFull(h.client.r, offer); err != nil || string(offer) != telnet.Offer {
		t.Fatalf("first bytes %q (%v), want the telnet offer", offer, err)
	}
	h.client.expectPrefix("*** Welcome to actorchat test")
	h.client.expectPrefix("*** You are guest1.")
	h.client.expect("*** You are in room lobby with nobody else.")
	h.client.expect("*** Topic: tea")
	if got := h.client.line(); !strings.HasSuffix(got, "<bob> earlier") {
		t.Fatalf("got %q, want the history", got)
	}
	// Afterwards output goes out as it comes.
	h.room.send(h.conn, &messages.MessagePosted{Room: "lobby", Nick: "bob", Text: "now"})
	h.client.expect("<bob> now")
}

// TestConnectionReleasesItsSetUpWhenTheLobbyIsSilent: a lobby that never
// answers does not keep the welcome from the user.
func TestConnectionReleasesItsSetUpWhenTheLobbyIsSilent(t *testing.T) {
	h := newConnHarness(t, fastTimeouts)
	h.answer(h.registry, h.register, &messages.ConnectionRegistered{Nick: "guest1"})
	expect[*messages.JoinRoom](t, h.rooms)
	h.client.expectPrefix("*** Welcome to actorchat test")
	h.client.expectPrefix("*** You are guest1.")
	h.client.expect("!!! the lobby did not answer in time; you are in no room: /join lobby to try again")
}

// fastTimeouts makes a harness's requests time out quickly.
func fastTimeouts(c *Config) { c.RequestTimeout = 100 * time.Millisecond }

// TestConnectionTimeoutKeepsInputFlowing: a room that never answers /who
// (it panicked on it, say) costs the user one error line; the line typed
// after /who waited for it, and runs once the wait is over. A late answer
// is not shown: the user was told it failed.
func TestConnectionTimeoutKeepsInputFlowing(t *testing.T) {
	h := newConnHarness(t, fastTimeouts)
	h.welcome(t, "guest1")
	h.client.send("/who")
	h.client.send("hello")
	who := expect[*messages.ListMembers](t, h.room)
	h.client.expect("!!! /who failed: no answer in time; please try again")
	if post := expect[*messages.PostMessage](t, h.room); post.GetText() != "hello" {
		t.Errorf("got %v, want the line after /who", post)
	}
	h.answer(h.room, who, &messages.MemberList{Room: "lobby", Members: []*messages.UserInfo{{Nick: "guest1"}}, Total: 1, Matched: 1})
	h.client.send("/motd")
	h.client.expect("*** There is no message of the day.") // and no late list before it
	if got := testutil.ToFloat64(h.env.metrics.requestTimeouts); got != 1 {
		t.Errorf("request timeouts %v, want 1", got)
	}
}

// TestConnectionNickTimeout: the registry does not answer /nick: the user
// keeps the old nick and is told; if the answer comes late after all, the
// registry's word counts and the room hears of the new nick.
func TestConnectionNickTimeout(t *testing.T) {
	h := newConnHarness(t, fastTimeouts)
	h.welcome(t, "guest1")
	h.client.send("/nick bob")
	h.client.send("still guest1")
	set := expect[*messages.SetNick](t, h.registry)
	h.client.expect("!!! /nick failed: no answer in time; please try again")
	expect[*messages.PostMessage](t, h.room)
	h.answer(h.registry, set, &messages.NickChanged{OldNick: "guest1", NewNick: "bob"})
	if r := expect[*messages.RenameMember](t, h.room); r.GetNewNick() != "bob" {
		t.Errorf("got %v", r)
	}
}

// TestConnectionJoinTimeout: a room that does not answer a join leaves the
// user where it was, and the lines after the /join go there; a late answer
// from that room is left at once.
func TestConnectionJoinTimeout(t *testing.T) {
	h := newConnHarness(t, fastTimeouts)
	h.welcome(t, "guest1")
	h.client.send("/join tea")
	h.client.send("hello lobby")
	j := expect[*messages.JoinRoom](t, h.rooms)
	if j.GetRoom() != "tea" {
		t.Fatalf("got %v", j)
	}
	h.client.expect("!!! /join tea failed: the room did not answer in time; you are still in lobby, try again later")
	if post := expect[*messages.PostMessage](t, h.room); post.GetText() != "hello lobby" {
		t.Errorf("got %v, want the line typed after /join, in the lobby", post)
	}
	late := newProbe(t, h.system)
	h.answer(late, j, &messages.RoomJoined{Room: "tea", MemberCount: 1, RoomRef: refOf(late.pid)})
	if leave := expect[*messages.LeaveRoom](t, late); leave.GetReason() != messages.LeaveReason_LEAVE_REASON_PART {
		t.Errorf("got %v, want the unwanted room left", leave)
	}
	h.room.expectQuiet(t)
}

// TestConnectionMoveJoinsFirst: /join asks the new room first and stays in
// the old one until it answers: what the old room sends meanwhile shows,
// lines typed meanwhile wait. Taken, the user leaves the old room, whose
// later events are dropped; refused, the user is still where it was.
func TestConnectionMoveJoinsFirst(t *testing.T) {
	h := newConnHarness(t, nil)
	h.welcome(t, "guest1")
	h.client.send("/join vip")
	h.client.send("for the lobby")
	vip := expect[*messages.JoinRoom](t, h.rooms)
	if vip.GetRoom() != "vip" {
		t.Fatalf("got %v", vip)
	}
	h.room.send(h.conn, &messages.MessagePosted{Room: "lobby", Nick: "bob", SenderMemberId: "m2", Text: "still here"})
	h.client.expect("<bob> still here")
	h.answer(h.room, vip, &messages.CommandRejected{Request: messages.Request_REQUEST_JOIN, Reason: "vip is invite-only; ask one of its ops for an /invite"})
	h.client.expect("!!! vip is invite-only; ask one of its ops for an /invite")
	if post := expect[*messages.PostMessage](t, h.room); post.GetText() != "for the lobby" {
		t.Fatalf("got %v, want the line typed after the refused /join, in the lobby", post)
	}

	tea := newProbe(t, h.system)
	h.client.send("/join tea")
	h.client.send("for tea")
	h.answer(tea, expect[*messages.JoinRoom](t, h.rooms), &messages.RoomJoined{Room: "tea", MemberCount: 1, RoomRef: refOf(tea.pid)})
	h.client.expect("*** You are in room tea with nobody else.")
	if leave := expect[*messages.LeaveRoom](t, h.room); leave.GetReason() != messages.LeaveReason_LEAVE_REASON_PART {
		t.Fatalf("the old room got %v", leave)
	}
	if post := expect[*messages.PostMessage](t, tea); post.GetText() != "for tea" {
		t.Fatalf("got %v", post)
	}
	// What the lobby sent before it let us go is not shown.
	h.room.send(h.conn, &messages.MessagePosted{Room: "lobby", Nick: "bob", SenderMemberId: "m2", Text: "too late"})
	h.room.send(h.conn, &messages.ServerNotice{Room: "lobby", Text: "carol was kicked by bob"})
	tea.send(h.conn, &messages.MessagePosted{Room: "tea", Nick: "dan", SenderMemberId: "m4", Text: "welcome"})
	h.client.expect("<dan> welcome")
}

// TestConnectionRegisterTimeout: without a nick nothing works; a registry
// that does not answer ends the connection with an error.
func TestConnectionRegisterTimeout(t *testing.T) {
	h := newConnHarness(t, fastTimeouts)
	h.client.expect("!!! internal server error; your connection is closed (sorry)")
	h.client.expect("bye...")
	h.waitStopped(t)
}

// TestConnectionLateJoinAnswerWhileAskingAgain: a join that timed out and
// was asked again: the first answer, late, is the answer (the room has the
// user); the second is a second answer of a room the user is in, and is
// not left.
func TestConnectionLateJoinAnswerWhileAskingAgain(t *testing.T) {
	h := newConnHarness(t, fastTimeouts)
	h.welcome(t, "guest1")
	h.client.send("/join tea")
	first := expect[*messages.JoinRoom](t, h.rooms)
	h.client.expect("!!! /join tea failed: the room did not answer in time; you are still in lobby, try again later")
	h.client.send("/join tea")
	second := expect[*messages.JoinRoom](t, h.rooms)
	tea := newProbe(t, h.system)
	h.answer(tea, first, &messages.RoomJoined{Room: "tea", MemberCount: 1, RoomRef: refOf(tea.pid)})
	h.client.expect("*** You are in room tea with nobody else.")
	h.answer(tea, second, &messages.RoomJoined{Room: "tea", MemberCount: 1, RoomRef: refOf(tea.pid)})
	h.client.send("in tea")
	if post := expect[*messages.PostMessage](t, tea); post.GetText() != "in tea" {
		t.Fatalf("tea got %v, want the post and no leave", post)
	}
}

// TestConnectionReclaimPostsAgainAndSurvivesAKick: in a cluster, after the
// node that held our rooms left, the connection asks for its nick and each
// room again; a rebuilt room gets the posts the old one never echoed, and
// input waits meanwhile. A room that kicks us while its reclaim is under
// way is left again when it answers, and that answer ends the wait: the
// lines typed meanwhile run then, not at the reclaim's timeout.
func TestConnectionReclaimPostsAgainAndSurvivesAKick(t *testing.T) {
	h := newConnHarness(t, func(c *Config) { c.RequestTimeout = time.Minute })
	h.env.cfg.Clustered = true // set before the first post, the only reader
	h.welcome(t, "alice")
	dev, ops := newProbe(t, h.system), newProbe(t, h.system)
	for _, room := range []*probe{dev, ops} {
		name := map[*probe]string{dev: "dev", ops: "ops"}[room]
		h.client.send("/join " + name)
		h.answer(room, expect[*messages.JoinRoom](t, h.rooms), &messages.RoomJoined{Room: name, MemberCount: 1, RoomRef: refOf(room.pid)})
		h.client.expect("*** You are in room " + name + " with nobody else.")
	}
	h.client.send("unechoed")
	if post := expect[*messages.PostMessage](t, ops); post.GetText() != "unechoed" {
		t.Fatalf("ops got %v", post)
	}

	h.system.Root.Send(h.conn, &messages.Reclaim{})
	reclaims := map[string]*messages.JoinRoom{}
	for len(reclaims) < 2 {
		if j := expect[*messages.JoinRoom](t, h.rooms); j.GetReclaim() {
			reclaims[j.GetRoom()] = j
		}
	}
	if reclaims["dev"] == nil || reclaims["ops"] == nil {
		t.Fatalf("reclaimed %v, want dev and ops", reclaims)
	}
	h.client.send("after the reclaim")
	dev.send(h.conn, &messages.Kicked{Room: "dev", By: "bob"})
	h.client.expect("*** You were kicked from dev by bob")

	newOps, newDev := newProbe(t, h.system), newProbe(t, h.system)
	h.registry.send(h.conn, &messages.ConnectionRegistered{Nick: "alice"})
	newOps.send(h.conn, &messages.RoomJoined{Room: "ops", Reclaim: true, RoomRef: refOf(newOps.pid)})
	if post := expect[*messages.PostMessage](t, newOps); post.GetText() != "unechoed" {
		t.Fatalf("the rebuilt ops got %v, want the post the old one never echoed", post)
	}
	newDev.send(h.conn, &messages.RoomJoined{Room: "dev", Reclaim: true, RoomRef: refOf(newDev.pid)})
	if leave := expect[*messages.LeaveRoom](t, newDev); leave.GetMemberId() != member {
		t.Fatalf("the rebuilt dev got %v, want us to leave it again", leave)
	}
	if post := expect[*messages.PostMessage](t, newOps); post.GetText() != "after the reclaim" {
		t.Fatalf("the rebuilt ops got %v, want the line typed during the reclaim", post)
	}
}
