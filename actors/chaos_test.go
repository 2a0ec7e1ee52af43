package actors

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/faults"
	"github.com/actorchat/actorchat/internal/faults/faultpb"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

// chaosClient is one client of the chaos test.
type chaosClient struct {
	id   int
	conn net.Conn
	fate string // "survive", "quit", "reset", "close" or "panic"

	mu    sync.Mutex
	lines []string // every line read, for the checks
	ended bool     // the server closed the connection
}

func (c *chaosClient) readAll(done func()) {
	defer done()
	r := bufio.NewReader(c.conn)
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(2 * waitTimeout))
		line, err := r.ReadString('\n')
		if err != nil {
			c.mu.Lock()
			c.ended = true
			c.mu.Unlock()
			return
		}
		c.mu.Lock()
		c.lines = append(c.lines, strings.TrimRight(line, "\r\n"))
		c.mu.Unlock()
	}
}

func (c *chaosClient) send(format string, args ...any) {
	_ = c.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
	_, _ = fmt.Fprintf(c.conn, format+"\r\n", args...)
}

func (c *chaosClient) snapshot() ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines), c.ended
}

// settleIn has a client that may be in any of rooms end up in target alone:
// it parts the others (in none, it is back in the lobby), then joins target.
func settleIn(send func(format string, args ...any), rooms []string, target string) {
	for _, r := range rooms {
		if r != target {
			send("/part %s", r)
		}
	}
	send("/join %s", target)
}

// TestChaos has a few hundred clients connect, chat, rename, join rooms,
// quit, reset and get killed at random while panics are injected into
// connections, rooms, the rooms actor and the registry, between requests
// and in the middle of them (the request that panics is lost: its client's
// wait times out, and the client goes on from a consistent state). Then
// every survivor's view is consistent, every survivor gets an answer to
// /who, every message a survivor sends reaches every survivor in its room in
// order, and once the server stops nothing is left running. It is bounded:
// a fixed number of operations, and every wait has a deadline.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy (300 clients and injected panics): skipped with -short")
	}
	defer goleak.VerifyNone(t, testkit.LeakOptions()...)
	const (
		clients   = 300
		steps     = 60 // random operations per client
		checkMsgs = 10 // numbered messages each survivor sends at the end
	)
	rooms := []string{"lobby", "red", "green", "blue", "gold"}

	release := make(chan struct{})
	defer close(release)
	var struck atomic.Int64
	injector := faults.New(release).OnStrike(func(string, *faultpb.InjectFault) { struck.Add(1) })
	s := startUnmanagedServer(t, func(c *Config) {
		c.HistoryLen = 0
		c.ShutdownTimeout = 5 * time.Second
		c.RequestTimeout = time.Second // a request that panicked fails fast
		c.Middleware = []actor.ReceiverMiddleware{injector.Middleware}
	})
	srv := s.Server
	defer func() { _ = srv.Shutdown(context.Background()) }()

	fates := []string{"survive", "survive", "quit", "reset", "close", "survive", "panic", "survive"}
	all := make([]*chaosClient, clients)
	var readers sync.WaitGroup
	for i := range all {
		conn, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c := &chaosClient{id: i, conn: conn, fate: fates[i%len(fates)]}
		all[i] = c
		readers.Add(1)
		go c.readAll(readers.Done)
	}
	defer func() {
		for _, c := range all {
			c.conn.Close()
		}
		readers.Wait()
	}()

	// Chaos: every client does random things; its fate comes at a random
	// step. Meanwhile panics hit the long-lived actors.
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c.id), 42))
			c.send("/nick c%d", c.id)
			fateAt := rng.IntN(steps)
			for step := range steps {
				if step == fateAt && c.fate != "survive" && c.fate != "panic" {
					switch c.fate {
					case "quit":
						c.send("/quit chaos")
					case "reset":
						c.conn.(*net.TCPConn).SetLinger(0)
						c.conn.Close()
					case "close":
						c.send("last words from %d", c.id)
						c.conn.Close()
					}
					return
				}
				switch rng.IntN(6) {
				case 0:
					if rng.IntN(3) == 0 {
						c.send("/part %s", rooms[rng.IntN(len(rooms))])
					} else {
						c.send("/join %s", rooms[rng.IntN(len(rooms))])
					}
				case 1:
					c.send("/nick c%d-%d", c.id, rng.IntN(4))
				case 2:
					c.send("/me dances %d", step)
				case 3:
					c.send("/who")
				default:
					c.send("noise %d from %d", step, c.id)
				}
			}
		})
	}
	probe := newProbe(t, srv.System())
	// Panics between requests, and armed to strike in the middle of the next
	// request of a kind: a join, a leave, a rename, a post, a listing.
	lobby := roomPID(t, s, "lobby")
	armed := []struct {
		target *actor.PID
		on     string
	}{
		{srv.Registry(), "SetNick"}, {srv.Rooms(), "JoinRoom"}, {lobby, "JoinRoom"}, {lobby, "LeaveRoom"},
		{srv.Registry(), "UserMoved"}, {lobby, "PostMessage"}, {lobby, "ListMembers"}, {lobby, "RenameMember"},
	}
	midRequest := 0
	wg.Go(func() {
		for i := range 30 {
			switch i % 3 {
			case 0:
				srv.System().Root.Send(srv.Registry(), &faultpb.InjectFault{Reason: "chaos"})
			case 1:
				srv.System().Root.Send(srv.Rooms(), &faultpb.InjectFault{Reason: "chaos"})
			default:
				a := armed[(i/3)%len(armed)]
				before := struck.Load()
				srv.System().Root.Send(a.target, &faultpb.InjectFault{Reason: "chaos in " + a.on, OnMessage: a.on})
				// Give the clients' traffic a moment to run into it.
				for range 50 {
					if struck.Load() > before {
						midRequest++
						break
					}
					time.Sleep(10 * time.Millisecond) // polling, bounded
				}
			}
		}
	})
	wg.Wait()
	// Faults still armed strike here, on requests of the test's own, so that
	// none is left for the checks below.
	for _, a := range armed {
		trigger := map[string]any{
			"SetNick": &messages.SetNick{Nick: "x"}, "JoinRoom": &messages.JoinRoom{Room: "lobby"}, "LeaveRoom": &messages.LeaveRoom{},
			"UserMoved": &messages.UserMoved{}, "PostMessage": &messages.PostMessage{}, "ListMembers": &messages.ListMembers{},
			"RenameMember": &messages.RenameMember{},
		}[a.on]
		// Sent bare (no member, no reply_to), it changes nothing.
		srv.System().Root.Send(a.target, trigger)
		probe.sync(t, a.target)
	}

	// The "panic" clients: each takes a known nick, then its connection
	// actor panics.
	panicked := 0
	for _, c := range all {
		if c.fate == "panic" {
			c.send("/nick p%d", c.id)
		}
	}
	for _, c := range all {
		if c.fate != "panic" {
			continue
		}
		testkit.Eventually(t, fmt.Sprintf("p%d to be named", c.id), func() bool {
			probe.send(srv.Registry(), &messages.ResolveNick{Nick: fmt.Sprintf("p%d", c.id)})
			switch m := probe.next(t).msg.(type) {
			case *messages.NickResolved:
				srv.System().Root.Send(srv.System().NewLocalPID("server/connections/conn-"+m.GetMemberId()[strings.LastIndexByte(m.GetMemberId(), '.')+1:]), &faultpb.InjectFault{Reason: "chaos"})
				panicked++
				return true
			}
			return false
		})
	}

	// Survivors settle on a known nick and room.
	var survivors []*chaosClient
	for _, c := range all {
		if c.fate == "survive" {
			survivors = append(survivors, c)
			c.send("/nick s%d", c.id)
			settleIn(c.send, rooms, rooms[c.id%len(rooms)])
		}
	}
	wantUsers := make([]string, 0, len(survivors))
	wantRooms := map[string]uint32{"lobby": 0}
	for _, c := range survivors {
		wantUsers = append(wantUsers, fmt.Sprintf("s%d@%s", c.id, rooms[c.id%len(rooms)]))
		wantRooms[rooms[c.id%len(rooms)]]++
	}
	sort.Strings(wantUsers)
	var lastUsers []string
	var lastRooms map[string]uint32
	defer func() {
		if t.Failed() {
			t.Logf("registry: %v\nwant:     %v\nrooms: %v, want %v", lastUsers, wantUsers, lastRooms, wantRooms)
			probe.send(roomPID(t, s, "lobby"), &messages.ListMembers{})
			lobbyNicks := memberNicks(expect[*messages.MemberList](t, probe))
			t.Logf("lobby: %v", lobbyNicks)
			for _, c := range all {
				for _, n := range lobbyNicks {
					if n == fmt.Sprintf("c%d", c.id) {
						lines, ended := c.snapshot()
						t.Logf("c%d (fate %s, ended %v) is still in the lobby; the last it read:\n%s", c.id, c.fate, ended, strings.Join(lines[max(0, len(lines)-25):], "\n"))
					}
				}
			}
		}
	}()
	testkit.Eventually(t, "the registry and rooms to hold exactly the survivors", func() bool {
		probe.send(srv.Registry(), &messages.ListUsers{})
		var users []string
		for _, u := range expect[*messages.UserList](t, probe).GetUsers() {
			users = append(users, u.GetNick()+"@"+u.GetRoom())
		}
		sort.Strings(users)
		probe.send(srv.Rooms(), &messages.ListRooms{})
		got := map[string]uint32{}
		for _, r := range expect[*messages.RoomList](t, probe).GetRooms() {
			got[r.GetName()] = r.GetMembers()
		}
		lastUsers, lastRooms = users, got
		return slices.Equal(users, wantUsers) && fmt.Sprint(got) == fmt.Sprint(wantRooms)
	})
	// No actor for a room nobody is in, and no connection actor but the
	// survivors'.
	if got := len(actorsUnder(srv.System(), "server/rooms/")); got != len(wantRooms) {
		t.Errorf("%d room actors (%v), want %d", got, actorsUnder(srv.System(), "server/rooms/"), len(wantRooms))
	}
	testkit.Eventually(t, "only the survivors' connections to be left", func() bool {
		return len(actorsUnder(srv.System(), "server/connections/")) == len(survivors) && s.OpenSockets() == len(survivors)
	})

	// Each room's own list agrees with the registry.
	for name := range wantRooms {
		probe.send(roomPID(t, s, name), &messages.ListMembers{})
		got := memberNicks(expect[*messages.MemberList](t, probe))
		var want []string
		for _, c := range survivors {
			if rooms[c.id%len(rooms)] == name {
				want = append(want, fmt.Sprintf("s%d", c.id))
			}
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("room %s: members %v, want %v", name, got, want)
		}
	}

	// Every survivor gets an answer to /who: nobody was left waiting.
	for _, c := range survivors {
		c.send("/who")
	}
	for _, c := range survivors {
		want := fmt.Sprintf("*** %d in %s: ", wantRooms[rooms[c.id%len(rooms)]], rooms[c.id%len(rooms)])
		testkit.Eventually(t, fmt.Sprintf("s%d's answer to /who", c.id), func() bool {
			lines, _ := c.snapshot()
			return slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, want) })
		})
	}

	// Every survivor sends numbered lines; every other survivor in its room
	// gets all of them, in order.
	for _, c := range survivors {
		wg.Go(func() {
			for k := range checkMsgs {
				c.send("check %d %d", c.id, k)
			}
		})
	}
	wg.Wait()
	for _, rcv := range survivors {
		room := rooms[rcv.id%len(rooms)]
		var senders []*chaosClient
		for _, snd := range survivors {
			if snd != rcv && rooms[snd.id%len(rooms)] == room {
				senders = append(senders, snd)
			}
		}
		want := len(senders) * checkMsgs
		var lines []string
		testkit.Eventually(t, fmt.Sprintf("s%d to get its room's %d check lines", rcv.id, want), func() bool {
			all, ended := rcv.snapshot()
			if ended {
				t.Fatalf("survivor s%d was disconnected; its last lines: %q", rcv.id, all[max(0, len(all)-5):])
			}
			lines = lines[:0]
			for _, l := range all {
				if strings.Contains(l, "> check ") {
					lines = append(lines, l)
				}
			}
			return len(lines) >= want
		})
		next := map[string]int{}
		for _, l := range lines {
			var from string
			var id, k int
			if _, err := fmt.Sscanf(l, "<%s check %d %d", &from, &id, &k); err != nil {
				t.Fatalf("s%d read %q", rcv.id, l)
			}
			from = strings.TrimSuffix(from, ">")
			if from != fmt.Sprintf("s%d", id) || rooms[id%len(rooms)] != room {
				t.Errorf("s%d got %q, from outside its room", rcv.id, l)
			}
			if k != next[from] {
				t.Errorf("s%d got %s's line %d, want %d", rcv.id, from, k, next[from])
			}
			next[from]++
		}
		if len(lines) != want {
			t.Errorf("s%d got %d check lines, want %d", rcv.id, len(lines), want)
		}
	}
	t.Logf("%d clients, %d survivors, %d connection panics, %d faults struck (%d in the middle of a client's request)", clients, len(survivors), panicked, struck.Load(), midRequest)

	if err := srv.Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
