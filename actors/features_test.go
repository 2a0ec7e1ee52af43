package actors

import (
	"fmt"
	"math/rand/v2"
	"net"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

// TestFeatureNick covers /nick and /username over the wire.
func TestFeatureNick(t *testing.T) {
	s := startServer(t, nil)
	a, nickA := s.dial()
	b, nickB := s.dial()
	a.expect("*** " + nickB + " joined lobby")

	a.send("/nick alice")
	a.expect("*** " + nickA + " is now known as alice")
	b.expect("*** " + nickA + " is now known as alice")
	a.send("hi") // sent after the rename: it must read as alice's
	b.expect("<alice> hi")

	for _, tt := range []struct{ in, want string }{
		{"/nick ALICE", "!!! nick ALICE is taken"},
		{"/username Alice", "!!! nick Alice is taken"},
		{"/nick guest99", "!!! nicks like guest99 are reserved for guests"},
		{"/nick no/slash", "!!! a nick may only use letters, digits and the characters . _ -"},
		{"/nick abcdefghijklmnopqrstu", "!!! a nick has 1 to 20 characters"},
		{"/nick", "!!! usage: /nick NAME"},
	} {
		b.send(tt.in)
		b.expect(tt.want)
	}
	b.send("/username bob.the-2nd_")
	b.expect("*** " + nickB + " is now known as bob.the-2nd_")
	a.expect("*** " + nickB + " is now known as bob.the-2nd_")
	a.send("/nick Alice") // a change of case of one's own nick is fine
	a.expect("*** alice is now known as Alice")
}

// TestFeatureNickRaceOverTheWire has several users race for one nick:
// exactly one gets it.
func TestFeatureNickRaceOverTheWire(t *testing.T) {
	s := startServer(t, nil)
	const n = 8
	clients := make([]*lineConn, n)
	for i := range clients {
		clients[i], _ = s.dial()
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { fmt.Fprintf(c.conn, "/nick highlander\r\n") })
	}
	wg.Wait()
	winners := 0
	for _, c := range clients {
		// Each client reads either its own rename or the rejection, after
		// whatever joins and renames it saw before.
		for {
			line := c.line()
			if line == "!!! nick highlander is taken" {
				break
			}
			if strings.HasSuffix(line, " is now known as highlander") {
				c.send("/who")
				c.skipUntilPrefix(fmt.Sprintf("*** %d in lobby: ", n))
				break
			}
		}
	}
	p := newProbe(t, s.System())
	p.send(s.Registry(), &messages.ListUsers{})
	for _, u := range expect[*messages.UserList](t, p).GetUsers() {
		if u.GetNick() == "highlander" {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("got %d users named highlander, want 1", winners)
	}
}

// aliceAndBob starts a server with two clients in the lobby, named alice and
// bob, that have read everything so far.
func aliceAndBob(t *testing.T) (*testServer, *lineConn, *lineConn) {
	t.Helper()
	s := startServer(t, nil)
	a, _ := s.dial()
	b, _ := s.dial()
	rename(a, "guest1", "alice", b)
	rename(b, "guest2", "bob", a)
	return s, a, b
}

// inRoom moves users (in one room, having read everything before) to room,
// one after the other; each reads up to the last one's arrival.
func inRoom(room string, users ...*lineConn) {
	for i, u := range users {
		u.t.Helper()
		u.joinRoom(room)
		if i > 0 {
			for _, o := range users[:i] {
				o.skipUntilPrefix("*** ")
			}
		}
	}
}

// rename has c take nick newNick, and checks that c and others (all in c's
// room, and having read everything before) see it.
func rename(c *lineConn, oldNick, newNick string, others ...*lineConn) {
	c.t.Helper()
	c.send("/nick " + newNick)
	for _, o := range append([]*lineConn{c}, others...) {
		o.skipUntil("*** " + oldNick + " is now known as " + newNick)
	}
}

// skipUntilPrefix reads lines until one starts with prefix, and returns it.
func (c *lineConn) skipUntilPrefix(prefix string) string {
	c.t.Helper()
	for {
		if line := c.line(); strings.HasPrefix(line, prefix) {
			return line
		}
	}
}

func TestFeaturePrivateMessages(t *testing.T) {
	s := startServer(t, nil)
	a, _ := s.dial()
	b, nickB := s.dial()
	c, nickC := s.dial()
	a.send("/nick alice")
	a.skipUntil("*** guest1 is now known as alice")
	b.skipUntil("*** guest1 is now known as alice")
	c.skipUntil("*** guest1 is now known as alice")

	a.send("/msg " + nickB + " psst, only you")
	a.expect("[pm -> " + nickB + "] psst, only you")
	b.expect("[pm] <alice> psst, only you\a") // private messages ring the bell
	a.send("@" + strings.ToUpper(nickB) + " again")
	a.expect("[pm -> " + nickB + "] again")
	b.expect("[pm] <alice> again\a")

	// /reply follows alice through a rename.
	a.send("/nick alicia")
	a.expect("*** alice is now known as alicia")
	b.expect("*** alice is now known as alicia")
	c.expect("*** alice is now known as alicia")
	b.send("/reply got it")
	b.expect("[pm -> alicia] got it")
	a.expect("[pm] <" + nickB + "> got it\a")

	a.send("/msg nobody hello?")
	a.expect("!!! no such nick: nobody")
	a.send("/msg " + nickB)
	a.expect("!!! usage: /msg NICK TEXT")
	c.send("/reply hm")
	c.expect("!!! nobody has sent you a private message yet")

	// c saw none of it: its next line is the answer to its own /who.
	c.send("/who")
	c.expect("*** 3 in lobby: alicia, " + nickB + ", " + nickC)
}

func TestFeatureMe(t *testing.T) {
	s := startServer(t, nil)
	a, nickA := s.dial()
	b, _ := s.dial()
	a.skipUntilPrefix("*** guest2 joined")
	a.send("/me waves at everyone")
	a.expect("* " + nickA + " waves at everyone")
	b.expect("* " + nickA + " waves at everyone")
	a.send("/me")
	a.expect("!!! usage: /me TEXT")
}

func TestFeatureWhoUsersRooms(t *testing.T) {
	s := startServer(t, nil)
	a, _ := s.dial()
	b, _ := s.dial()
	c, _ := s.dial()
	rename(a, "guest1", "alice", b, c)
	rename(b, "guest2", "bob", a, c)
	rename(c, "guest3", "carol", a, b)
	b.send("/join dev")
	b.expect("*** You are in room dev with nobody else.")
	b.send("/topic actor talk")
	b.expect("*** bob set the topic: actor talk")

	for _, cmd := range []string{"/who", "/list", "/names"} {
		a.send(cmd)
		a.skipUntil("*** 2 in lobby: alice, carol")
	}
	b.send("/who")
	b.expect("*** 1 in dev: bob")

	a.send("/users")
	a.expect("*** 3 online:")
	a.expect("***   alice in lobby")
	a.expect("***   bob in dev")
	a.expect("***   carol in lobby")

	a.send("/rooms")
	a.expect("*** 2 rooms:")
	a.expect("***   dev (1) actor talk")
	a.expect("*** * lobby (2)") // * marks the reader's current room
}

func TestFeatureJoinLeaveAndRoomLifetime(t *testing.T) {
	s, a, b := aliceAndBob(t)

	a.send("/join #Dev")
	a.expect("*** You are in room dev with nobody else.")
	b.expect("*** alice left lobby")
	b.send("/join dev")
	b.expect("*** You are in room dev with alice.")
	a.expect("*** bob joined dev")
	a.send("in dev now")
	b.expect("<alice> in dev now")

	a.send("/join dev")
	a.expect("!!! you are already in dev")
	a.send("/join no spaces!")
	a.expect("!!! a room name may only use letters, digits, _ and - (and a leading #)")
	a.send("/join " + strings.Repeat("r", 33))
	a.expect("!!! a room name has 1 to 32 characters")

	b.send("/leave")
	b.expect("*** You are in room lobby with nobody else.")
	a.expect("*** bob left dev")
	a.send("/part")
	a.expect("*** You are in room lobby with bob.")
	b.expect("*** alice joined lobby")

	// dev is empty: its actor stops and it is no longer listed.
	testkit.Eventually(t, "dev to close", func() bool {
		p := newProbe(t, s.System())
		p.send(s.Rooms(), &messages.ListRooms{})
		rooms := expect[*messages.RoomList](t, p).GetRooms()
		return len(rooms) == 1 && rooms[0].GetName() == "lobby" && len(roomActors(s)) == 1
	})
}

// roomActors lists the room actors alive under rooms.
func roomActors(s *testServer) []string {
	return actorsUnder(s.System(), "server/rooms/")
}

func TestFeatureTopic(t *testing.T) {
	s := startServer(t, nil)
	a, nickA := s.dial()
	a.joinRoom("dev")
	a.send("/topic")
	a.expect("*** dev has no topic")
	a.send("/topic welcome to dev")
	a.expect("*** " + nickA + " set the topic: welcome to dev")
	a.send("/topic")
	prefix := "*** Topic: welcome to dev (set by " + nickA + ", "
	if by := strings.TrimPrefix(a.expectPrefix(prefix), prefix); !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\dZ\)$`).MatchString(by) {
		t.Fatalf("/topic says when it was set as %q", by)
	}

	b, nickB := s.dial()
	b.send("/join dev")
	b.skipUntil("*** You are in room dev with " + nickA + ".")
	b.expect("*** Topic: welcome to dev")

	b.send("/topic -")
	a.skipUntilPrefix("*** " + nickB + " cleared the topic")
	b.skipUntilPrefix("*** " + nickB + " cleared the topic")

	// The lobby's, which every newcomer reads, is the operators' alone.
	b.send("/leave")
	b.skipUntilPrefix("*** You are in room lobby")
	b.send("/topic mine")
	b.expect("!!! the topic of lobby is locked: only the server's operators may change it")
}

var historyRE = regexp.MustCompile(`^\[history \d\d:\d\d:\d\dZ\] (.*)$`)

func TestFeatureHistory(t *testing.T) {
	s := startServer(t, func(c *Config) { c.HistoryLen = 3 })
	a, nickA := s.dial()
	for i := range 5 {
		a.send(fmt.Sprintf("message %d", i))
	}
	a.send("/me is done")
	a.expect("* " + nickA + " is done")

	s.dial() // one more member, so the third joiner's history is not its only news
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := newLineConn(t, conn)
	c.skipUntilPrefix("*** You are in room lobby with ")
	var got []string
	for range 3 {
		m := historyRE.FindStringSubmatch(c.line())
		if m == nil {
			t.Fatalf("want a history line")
		}
		got = append(got, m[1])
	}
	want := []string{"<" + nickA + "> message 3", "<" + nickA + "> message 4", "* " + nickA + " is done"}
	if !slices.Equal(got, want) {
		t.Errorf("history: got %q, want %q", got, want)
	}
	// New chat after the history is not marked.
	a.send("live")
	c.expect("<" + nickA + "> live")
}

func TestFeatureHistoryOff(t *testing.T) {
	s := startServer(t, func(c *Config) { c.HistoryLen = 0 })
	a, nickA := s.dial()
	a.send("before")
	a.send("/me checks")
	a.expect("* " + nickA + " checks")
	b, _ := s.dial()
	a.send("after")
	b.expect("<" + nickA + "> after")
}

func TestFeatureIgnore(t *testing.T) {
	_, a, b := aliceAndBob(t)
	inRoom("dev", a, b)

	a.send("/ignore bob")
	a.expect("*** Ignoring bob for this session.")
	a.send("/ignore alice")
	a.expect("!!! you cannot ignore yourself")
	a.send("/ignore nobody")
	a.expect("!!! no such nick: nobody")

	b.send("you can't see this")
	b.send("/me neither this")
	b.send("/msg alice nor this")
	// The room and the registry answer independently: either order.
	if got := []string{b.line(), b.line()}; !slices.Contains(got, "* bob neither this") || !slices.Contains(got, "[pm -> alice] nor this") {
		t.Errorf("bob read %q, want his action and the confirmation (he is not told)", got)
	}
	b.send("/nick robert") // renaming does not escape it
	b.expect("*** bob is now known as robert")
	b.send("still hidden")
	b.send("/topic barrier") // not hidden: once alice reads it, "still hidden" has come and gone
	a.expect("*** bob is now known as robert")
	a.expect("*** robert set the topic: barrier")

	a.send("/ignore")
	a.expect("*** You ignore: robert") // the current nick
	a.send("/unignore robert")
	a.expect("*** No longer ignoring robert.")
	b.send("visible again")
	a.expect("<robert> visible again")
	a.send("/unignore robert")
	a.expect("!!! you are not ignoring robert")
}

func TestFeatureHelpForEachCommand(t *testing.T) {
	s := startServer(t, nil)
	c, _ := s.dial()
	for _, cmd := range newCommandSet(DefaultConfig().connectionConfig()).list {
		c.send("/help " + cmd.name)
		c.expect("*** " + cmd.usage + " - " + cmd.summary)
		if len(cmd.aliases) > 0 {
			c.expect("*** Also: /" + strings.Join(cmd.aliases, ", /"))
		}
		if cmd.detail != "" {
			c.expect("*** " + cmd.detail)
		}
	}
}

// TestFeatureConcurrentConsistency has many clients join rooms, rename,
// chat, leave and disconnect at once. At the end /who, /users and /rooms
// match exactly who is still connected, and no actor is left for an empty
// room.
func TestFeatureConcurrentConsistency(t *testing.T) {
	s := startServer(t, nil)
	const clients = 40
	rooms := []string{"lobby", "red", "green", "blue"}

	type final struct{ nick, room string }
	results := make([]*final, clients)
	conns := make([]net.Conn, clients)
	for i := range conns {
		conn, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = conn
		t.Cleanup(func() { conn.Close() })
	}
	var wg sync.WaitGroup
	for i, conn := range conns {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			// Drain everything the server sends until told to stop.
			fmt.Fprintf(conn, "/nick u%d\r\n", i)
			for range 10 {
				switch rng.IntN(4) {
				case 0:
					verb := "/join"
					if rng.IntN(3) == 0 {
						verb = "/part"
					}
					fmt.Fprintf(conn, "%s %s\r\n", verb, rooms[rng.IntN(len(rooms))])
				case 1:
					fmt.Fprintf(conn, "/nick u%d-%d\r\n", i, rng.IntN(3))
				default:
					fmt.Fprintf(conn, "chatter from %d\r\n", i)
				}
			}
			switch i % 4 {
			case 0:
				fmt.Fprintf(conn, "/quit\r\n")
			case 1:
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			default:
				// Stays: settle on a known nick and room.
				fmt.Fprintf(conn, "/nick final%d\r\n", i)
				settleIn(func(format string, args ...any) { fmt.Fprintf(conn, format+"\r\n", args...) }, rooms, rooms[i%len(rooms)])
				results[i] = &final{nick: fmt.Sprintf("final%d", i), room: rooms[i%len(rooms)]}
			}
		})
	}
	// Every client's input must be read by someone, or the server would see
	// slow consumers: read each connection until it closes or the test ends.
	readers := sync.WaitGroup{}
	stop := make(chan struct{})
	for _, conn := range conns {
		readers.Go(func() {
			buf := make([]byte, 4096)
			for {
				_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				_, err := conn.Read(buf)
				if err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						select {
						case <-stop:
							return
						default:
							continue
						}
					}
					return
				}
			}
		})
	}
	wg.Wait()

	// Wait until the server has caught up: the expected users, in the
	// expected rooms.
	var want []string
	wantRooms := map[string]uint32{"lobby": 0}
	for _, r := range results {
		if r != nil {
			want = append(want, r.nick+"@"+r.room)
			wantRooms[r.room]++
		}
	}
	sort.Strings(want)
	p := newProbe(t, s.System())
	users := func() []string {
		p.send(s.Registry(), &messages.ListUsers{})
		var got []string
		for _, u := range expect[*messages.UserList](t, p).GetUsers() {
			got = append(got, u.GetNick()+"@"+u.GetRoom())
		}
		sort.Strings(got)
		return got
	}
	listRooms := func() map[string]uint32 {
		p.send(s.Rooms(), &messages.ListRooms{})
		got := map[string]uint32{}
		for _, r := range expect[*messages.RoomList](t, p).GetRooms() {
			got[r.GetName()] = r.GetMembers()
		}
		return got
	}
	testkit.Eventually(t, "users and rooms to settle", func() bool {
		return slices.Equal(users(), want) && fmt.Sprint(listRooms()) == fmt.Sprint(wantRooms)
	})
	close(stop)
	readers.Wait()

	// Each room's own member list agrees, and only non-empty rooms (and the
	// lobby) have an actor.
	for name, count := range wantRooms {
		var nicks []string
		for _, r := range results {
			if r != nil && r.room == name {
				nicks = append(nicks, r.nick)
			}
		}
		var pid = roomPID(t, s, name)
		p.send(pid, &messages.ListMembers{})
		got := memberNicks(expect[*messages.MemberList](t, p))
		sort.Strings(nicks)
		sorted := slices.Clone(got)
		sort.Strings(sorted)
		if uint32(len(got)) != count || !slices.Equal(sorted, nicks) {
			t.Errorf("room %s: /who gives %v, want %v", name, got, nicks)
		}
	}
	if got := len(roomActors(s)); got != len(wantRooms) {
		t.Errorf("%d room actors alive (%v), want %d", got, roomActors(s), len(wantRooms))
	}
}

// roomPID finds a room's actor by its name.
func roomPID(t *testing.T, s *testServer, name string) *actor.PID {
	t.Helper()
	for _, id := range roomActors(s) {
		// Room actors are named <room>-<instance>, and room names may hold
		// dashes: "red-team-2-7" is room red-team-2, not red.
		if i := strings.LastIndexByte(id, '-'); i >= 0 && id[:i] == name {
			return s.System().NewLocalPID("server/rooms/" + id)
		}
	}
	t.Fatalf("no actor for room %s", name)
	return nil
}
