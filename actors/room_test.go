package actors

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/faults/faultpb"
	"github.com/actorchat/actorchat/messages"
)

func newTestRoom(t *testing.T, system *actor.ActorSystem, historyLen int) *actor.PID {
	return supervised(t, system, newRoom("dev", 1, roomSettings{historyLen: historyLen, logger: testLogger(), metrics: NewMetrics()}, nil), actor.ResumeDirective)
}

// joinRoom has p join room as nick and returns the room's answer.
func joinRoom(t *testing.T, p *probe, room *actor.PID, nick string) *messages.RoomJoined {
	t.Helper()
	p.send(room, &messages.JoinRoom{Room: "dev", Nick: nick})
	joined := expect[*messages.RoomJoined](t, p)
	from := pidOf(joined.GetRoomRef())
	if from.GetId() != room.GetId() {
		t.Fatalf("RoomJoined from %v, want the room %v", from, room)
	}
	return joined
}

func TestRoomJoinAndFanOut(t *testing.T) {
	system := newTestSystem(t)
	room := newTestRoom(t, system, 20)
	alice, bob, carol := newProbe(t, system), newProbe(t, system), newProbe(t, system)

	if got := joinRoom(t, alice, room, "alice"); len(got.GetMembers()) != 0 || got.GetMemberCount() != 1 {
		t.Errorf("alice joined %v, want nobody else, 1 member", got)
	}
	if got := joinRoom(t, bob, room, "bob"); !slices.Equal(got.GetMembers(), []string{"alice"}) || got.GetMemberCount() != 2 {
		t.Errorf("bob joined %v, want alice, 2 members", got)
	}
	if got := expect[*messages.MemberJoined](t, alice); got.GetNick() != "bob" || got.GetRoom() != "dev" {
		t.Errorf("alice saw %v", got)
	}
	joinRoom(t, carol, room, "carol")
	expect[*messages.MemberJoined](t, alice)
	expect[*messages.MemberJoined](t, bob)

	for i := range 5 {
		alice.send(room, &messages.PostMessage{Text: fmt.Sprintf("line %d", i)})
	}
	for _, p := range []*probe{bob, carol} {
		for i, got := range seenPosts(t, p, 5) {
			if got.GetNick() != "alice" || got.GetSenderMemberId() != alice.member || got.GetText() != fmt.Sprintf("line %d", i) {
				t.Errorf("got %v, want alice's line %d", got, i)
			}
		}
	}
	syncPastOwnPosts(t, alice, room)
	expectNothingShown(t, alice) // chat is not echoed to its sender

	// An action reaches everyone, the actor too.
	bob.send(room, &messages.PostMessage{Text: "waves", Action: true})
	for _, p := range []*probe{alice, bob, carol} {
		if got := seenPosts(t, p, 1)[0]; !got.GetAction() || got.GetNick() != "bob" {
			t.Errorf("got %v, want bob's action", got)
		}
	}
}

// seenPosts returns the next n posts p's connection would show, from
// MessagePosted and PostsBatch messages alike: its own chat lines are left
// out, as its connection leaves them out. Any other message fails the test.
func seenPosts(t *testing.T, p *probe, n int) []*messages.MessagePosted {
	t.Helper()
	var out []*messages.MessagePosted
	for len(out) < n {
		switch m := p.next(t).msg.(type) {
		case *messages.MessagePosted:
			out = append(out, m)
		case *messages.PostsBatch:
			for _, post := range m.GetPosts() {
				if post.GetSenderMemberId() != p.member || post.GetAction() {
					out = append(out, post)
				}
			}
		default:
			t.Fatalf("probe got %T %v, want posts", m, m)
		}
	}
	if len(out) > n {
		t.Fatalf("probe got %d posts, want %d: %v", len(out), n, out)
	}
	return out
}

// syncPastOwnPosts is probe.sync for a member that posted chat: the batches
// of its own lines it may get first are skipped.
func syncPastOwnPosts(t *testing.T, p *probe, target *actor.PID) {
	t.Helper()
	p.send(target, &messages.Ping{})
	for {
		switch m := p.next(t).msg.(type) {
		case *messages.Pong:
			return
		case *messages.PostsBatch:
			for _, post := range m.GetPosts() {
				if post.GetSenderMemberId() != p.member || post.GetAction() {
					t.Fatalf("probe got %v", post)
				}
			}
		default:
			t.Fatalf("probe got %T %v, want Pong", m, m)
		}
	}
}

// expectNothingShown asserts that p holds nothing its connection would
// show: at most batches of its own chat lines.
func expectNothingShown(t *testing.T, p *probe) {
	t.Helper()
	for {
		select {
		case e := <-p.got:
			if posts := e.(envelope).msg.(*messages.PostsBatch); posts != nil {
				for _, post := range posts.GetPosts() {
					if post.GetSenderMemberId() != p.member || post.GetAction() {
						t.Fatalf("probe got %v", post)
					}
				}
			}
		default:
			return
		}
	}
}

func TestRoomIgnoresPostsFromNonMembers(t *testing.T) {
	system := newTestSystem(t)
	room := newTestRoom(t, system, 20)
	alice, mallory := newProbe(t, system), newProbe(t, system)
	joinRoom(t, alice, room, "alice")
	mallory.send(room, &messages.PostMessage{Text: "spoof"})
	alice.sync(t, room)
	alice.expectQuiet(t)
}

func TestRoomLeaveReasons(t *testing.T) {
	system := newTestSystem(t)
	room := newTestRoom(t, system, 20)
	alice, bob, carol, dave := newProbe(t, system), newProbe(t, system), newProbe(t, system), newProbe(t, system)
	joinRoom(t, alice, room, "alice")
	for i, p := range []*probe{bob, carol, dave} {
		joinRoom(t, p, room, []string{"bob", "carol", "dave"}[i])
		expect[*messages.MemberJoined](t, alice)
	}

	bob.send(room, &messages.LeaveRoom{Reason: messages.LeaveReason_LEAVE_REASON_QUIT, Message: "see you"})
	got := expect[*messages.MemberLeft](t, alice)
	if got.GetNick() != "bob" || got.GetReason() != messages.LeaveReason_LEAVE_REASON_QUIT || got.GetMessage() != "see you" {
		t.Errorf("got %v, want bob quit", got)
	}

	// A move to another room is answered, after the room's last word to the mover.
	carol.send(room, &messages.LeaveRoom{Reason: messages.LeaveReason_LEAVE_REASON_PART})
	expect[*messages.MemberJoined](t, carol) // dave's, from before
	expect[*messages.MemberLeft](t, carol)   // bob's; she is not told of her own
	if left := expect[*messages.RoomLeft](t, carol); left.GetRoom() != "dev" {
		t.Errorf("got %v", left)
	}
	if got := expect[*messages.MemberLeft](t, alice); got.GetReason() != messages.LeaveReason_LEAVE_REASON_PART {
		t.Errorf("got %v, want carol's part", got)
	}

	// A member that stops without a word is reported by the registry (which
	// hears it from the connections supervisor).
	system.Root.Stop(dave.pid)
	system.Root.Send(room, &messages.MemberGone{Room: "dev", MemberId: dave.member})
	if got := expect[*messages.MemberLeft](t, alice); got.GetNick() != "dave" || got.GetReason() != messages.LeaveReason_LEAVE_REASON_CONNECTION_LOST {
		t.Errorf("got %v, want dave lost", got)
	}

	alice.send(room, &messages.ListMembers{})
	if got := memberNicks(expect[*messages.MemberList](t, alice)); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("members: got %v, want only alice", got)
	}
}

// TestRoomLeaveBeforeTermination checks that a member's own reason wins over
// the Terminated that follows it, although protoactor hands system messages
// (Terminated) to the room before user messages (LeaveRoom).
func TestRoomLeaveBeforeTermination(t *testing.T) {
	system := newTestSystem(t)
	room := newTestRoom(t, system, 20)
	alice := newProbe(t, system)
	joinRoom(t, alice, room, "alice")
	for i := range 20 {
		p := newProbe(t, system)
		joinRoom(t, p, room, fmt.Sprintf("m%d", i))
		expect[*messages.MemberJoined](t, alice)
		p.send(room, &messages.LeaveRoom{Reason: messages.LeaveReason_LEAVE_REASON_FLOODING})
		system.Root.Stop(p.pid)
		if got := expect[*messages.MemberLeft](t, alice); got.GetReason() != messages.LeaveReason_LEAVE_REASON_FLOODING {
			t.Fatalf("member %d: got %v, want flooding", i, got)
		}
	}
	alice.sync(t, room)
	alice.expectQuiet(t) // and no second leave notice
}

func TestRoomShutdownLeaveIsSilent(t *testing.T) {
	system := newTestSystem(t)
	room := newTestRoom(t, system, 20)
	alice, bob := newProbe(t, system), newProbe(t, system)
	joinRoom(t, alice, room, "alice")
	joinRoom(t, bob, room, "bob")
	expect[*messages.MemberJoined](t, alice)
	bob.send(room, &messages.LeaveRoom{Reason: messages.LeaveReason_LEAVE_REASON_SHUTDOWN})
	alice.sync(t, room)
	alice.expectQuiet(t)
}

func TestRoomRenameAndTopic(t *testing.T) {
	system := newTestSystem(t)
	room := newTestRoom(t, system, 20)
	alice, bob := newProbe(t, system), newProbe(t, system)
	joinRoom(t, alice, room, "guest1")
	joinRoom(t, bob, room, "bob")
	expect[*messages.MemberJoined](t, alice)

	alice.send(room, &messages.RenameMember{NewNick: "alice"})
	for _, p := range []*probe{alice, bob} {
		if got := expect[*messages.MemberRenamed](t, p); got.GetOldNick() != "guest1" || got.GetNewNick() != "alice" {
			t.Errorf("got %v", got)
		}
	}
	alice.send(room, &messages.PostMessage{Text: "hi"})
	if got := expect[*messages.MessagePosted](t, bob); got.GetNick() != "alice" {
		t.Errorf("post after rename from %q, want alice", got.GetNick())
	}

	bob.send(room, &messages.SetTopic{Topic: "actors"})
	for _, p := range []*probe{alice, bob} {
		if got := expect[*messages.TopicChanged](t, p); got.GetTopic() != "actors" || got.GetNick() != "bob" {
			t.Errorf("got %v", got)
		}
	}
	carol := newProbe(t, system)
	if got := joinRoom(t, carol, room, "carol").GetTopic(); got != "actors" {
		t.Errorf("joiner saw topic %q, want actors", got)
	}

	// A topic is at most maxTopicLen bytes (TOPICLEN for IRC clients).
	expect[*messages.MemberJoined](t, bob)
	bob.send(room, &messages.SetTopic{Topic: strings.Repeat("t", maxTopicLen+1)})
	if got := expect[*messages.CommandRejected](t, bob); got.GetReason() != "a topic has at most 390 bytes (this one has 391)" {
		t.Errorf("got %v", got)
	}
	bob.send(room, &messages.SetTopic{Topic: strings.Repeat("t", maxTopicLen)})
	if got := expect[*messages.TopicChanged](t, bob); len(got.GetTopic()) != maxTopicLen {
		t.Errorf("got %v", got)
	}
}

func TestRoomHistory(t *testing.T) {
	system := newTestSystem(t)
	room := newTestRoom(t, system, 3)
	alice := newProbe(t, system)
	joinRoom(t, alice, room, "alice")
	for i := range 5 {
		alice.send(room, &messages.PostMessage{Text: fmt.Sprintf("m%d", i)})
	}
	alice.send(room, &messages.PostMessage{Text: "jumps", Action: true})
	if got := seenPosts(t, alice, 1)[0]; got.GetText() != "jumps" { // her own action
		t.Fatalf("alice saw %v", got)
	}

	bob := newProbe(t, system)
	history := joinRoom(t, bob, room, "bob").GetHistory()
	var got []string
	for _, m := range history {
		got = append(got, m.GetText())
		if m.GetUnixMillis() == 0 || time.Since(time.UnixMilli(m.GetUnixMillis())) > time.Hour {
			t.Errorf("history entry %v has no sensible time", m)
		}
	}
	if want := []string{"m3", "m4", "jumps"}; !slices.Equal(got, want) {
		t.Errorf("history: got %v, want %v", got, want)
	}
}

// TestRoomKeepsMembersAcrossPanic injects a panic: the room is resumed and
// keeps its members, topic and history.
func TestRoomKeepsMembersAcrossPanic(t *testing.T) {
	system := newTestSystem(t)
	room := newTestRoom(t, system, 20)
	alice, bob := newProbe(t, system), newProbe(t, system)
	joinRoom(t, alice, room, "alice")
	joinRoom(t, bob, room, "bob")
	expect[*messages.MemberJoined](t, alice)
	alice.send(room, &messages.SetTopic{Topic: "before"})
	expect[*messages.TopicChanged](t, alice)
	expect[*messages.TopicChanged](t, bob)
	alice.send(room, &messages.PostMessage{Text: "remember me"})
	expect[*messages.MessagePosted](t, bob)

	system.Root.Send(room, &faultpb.InjectFault{Reason: "test"})

	alice.send(room, &messages.PostMessage{Text: "still here"})
	if got := expect[*messages.MessagePosted](t, bob); got.GetText() != "still here" {
		t.Errorf("after panic: bob got %v", got)
	}
	carol := newProbe(t, system)
	joined := joinRoom(t, carol, room, "carol")
	if got := joined.GetMembers(); !slices.Equal(got, []string{"bob", "alice"}) || joined.GetMemberCount() != 3 {
		t.Errorf("after panic: joined %v, want bob and alice (newest first), 3 members", joined)
	}
	if joined.GetTopic() != "before" || len(joined.GetHistory()) != 2 {
		t.Errorf("after panic: topic %q, %d history entries", joined.GetTopic(), len(joined.GetHistory()))
	}
}

// TestRoomQuietWhenLarge: a room over its quiet size does not announce joins
// and leaves; back at or under it, it does again.
func TestRoomQuietWhenLarge(t *testing.T) {
	system := newTestSystem(t)
	room := supervised(t, system, newRoom("big", 1, roomSettings{historyLen: 20, quietSize: 2, logger: testLogger(), metrics: NewMetrics()}, nil), actor.ResumeDirective)
	alice, bob, carol := newProbe(t, system), newProbe(t, system), newProbe(t, system)
	joinRoom(t, alice, room, "alice")
	joinRoom(t, bob, room, "bob")
	expect[*messages.MemberJoined](t, alice) // 2 members: announced
	joinRoom(t, carol, room, "carol")        // 3 members: quiet
	carol.send(room, &messages.LeaveRoom{Reason: messages.LeaveReason_LEAVE_REASON_QUIT})
	// Leaving brought it back to 2: that leave is announced.
	if got := expect[*messages.MemberLeft](t, alice); got.GetNick() != "carol" {
		t.Errorf("got %v", got)
	}
	alice.sync(t, room)
	alice.expectQuiet(t) // and carol's join never was
	// Chat is never quiet.
	bob.send(room, &messages.PostMessage{Text: "hi"})
	expect[*messages.MemberLeft](t, bob)
	expect[*messages.MessagePosted](t, alice)
}

// TestRoomJoinNamesAreBounded: joining a big room names at most 20 others,
// newest first, and counts them all.
func TestRoomJoinNamesAreBounded(t *testing.T) {
	system := newTestSystem(t)
	room := newTestRoom(t, system, 0)
	for i := range 30 {
		joinRoom(t, newProbe(t, system), room, fmt.Sprintf("m%02d", i))
	}
	joined := joinRoom(t, newProbe(t, system), room, "last")
	if got := joined.GetMembers(); len(got) != maxNamesShown || got[0] != "m29" || got[19] != "m10" {
		t.Errorf("named %v, want m29 down to m10", got)
	}
	if joined.GetMemberCount() != 31 {
		t.Errorf("member count %d, want 31", joined.GetMemberCount())
	}
}

// TestRoomBatchesKeepOrderAndMembership: posts a room handles back to back
// go out as one batch, and a batch never spans a join or a leave: a member
// gets exactly the posts made while it was a member, in order, with the
// joins and leaves between them where they happened.
func TestRoomBatchesKeepOrderAndMembership(t *testing.T) {
	system := newTestSystem(t)
	room := newTestRoom(t, system, 20)
	alice, bob, carol, dave := newProbe(t, system), newProbe(t, system), newProbe(t, system), newProbe(t, system)
	joinRoom(t, alice, room, "alice")
	joinRoom(t, bob, room, "bob")
	joinRoom(t, dave, room, "dave")
	expect[*messages.MemberJoined](t, alice)
	expect[*messages.MemberJoined](t, alice)
	expect[*messages.MemberJoined](t, bob)

	// The room is busy for a moment: everything below waits in its mailbox
	// and is handled back to back.
	system.Root.Send(room, &faultpb.InjectFault{Reason: "busy", StallMillis: 300})
	post := func(text string) { alice.send(room, &messages.PostMessage{Text: text}) }
	post("p1")
	post("p2")
	carol.send(room, &messages.JoinRoom{Room: "dev", Nick: "carol"})
	post("p3")
	bob.send(room, &messages.LeaveRoom{Reason: messages.LeaveReason_LEAVE_REASON_QUIT})
	post("p4")
	post("p5")
	dave.send(room, &messages.Ping{}) // its Pong comes after everything above

	// dave: p1 p2, carol joined, p3, bob left, p4 p5.
	var events []string
	batches := 0
	for pong := false; !pong; {
		switch m := dave.next(t).msg.(type) {
		case *messages.Pong:
			pong = true
		case *messages.MessagePosted:
			events = append(events, m.GetText())
		case *messages.PostsBatch:
			batches++
			for _, p := range m.GetPosts() {
				events = append(events, p.GetText())
			}
		case *messages.MemberJoined:
			events = append(events, "+"+m.GetNick())
		case *messages.MemberLeft:
			events = append(events, "-"+m.GetNick())
		default:
			t.Fatalf("dave got %T %v", m, m)
		}
	}
	if got := strings.Join(events, " "); got != "p1 p2 +carol p3 -bob p4 p5" {
		t.Fatalf("dave saw %q", got)
	}
	if batches == 0 {
		t.Errorf("posts handled back to back went out one by one")
	}
	dave.expectQuiet(t)
	// bob: p1 p2, carol joined, p3, then nothing (he left). carol: her
	// join, p3, bob left, p4 p5.
	if got := seenPosts(t, bob, 2); got[0].GetText() != "p1" || got[1].GetText() != "p2" {
		t.Fatalf("bob saw %v", got)
	}
	expect[*messages.MemberJoined](t, bob)
	if got := seenPosts(t, bob, 1)[0].GetText(); got != "p3" {
		t.Fatalf("bob saw %q", got)
	}
	bob.expectQuiet(t)
	expect[*messages.RoomJoined](t, carol)
	var carolSaw []string
	for len(carolSaw) < 4 {
		switch m := carol.next(t).msg.(type) {
		case *messages.MessagePosted:
			carolSaw = append(carolSaw, m.GetText())
		case *messages.PostsBatch:
			for _, p := range m.GetPosts() {
				carolSaw = append(carolSaw, p.GetText())
			}
		case *messages.MemberLeft:
			carolSaw = append(carolSaw, "-"+m.GetNick())
		}
	}
	if got := strings.Join(carolSaw, " "); got != "p3 -bob p4 p5" {
		t.Fatalf("carol saw %q", got)
	}
	// alice, the sender, sees none of her own chat lines.
	alice.send(room, &messages.Ping{})
	for {
		select {
		case e := <-alice.got:
			switch m := e.(envelope).msg.(type) {
			case *messages.MemberJoined, *messages.MemberLeft, *messages.Pong:
			case *messages.PostsBatch:
				for _, p := range m.GetPosts() {
					if p.GetSenderMemberId() != alice.member {
						t.Fatalf("alice got %v", p)
					}
				}
			default:
				t.Fatalf("alice got %T %v", m, m)
			}
			continue
		default:
		}
		break
	}
}

// TestBatchesOverTheWire: lines sent in one write reach every other member
// in order (the room batches what it handles back to back), never their
// sender, and not a member who ignores the sender.
func TestBatchesOverTheWire(t *testing.T) {
	s := startServer(t, nil)
	alice, nickA := s.dial()
	bob, _ := s.dial()
	carol, _ := s.dial()
	alice.skipUntilPrefix("*** guest")
	alice.skipUntilPrefix("*** guest")
	bob.skipUntilPrefix("*** guest")
	carol.send("/ignore " + nickA)
	carol.expect("*** Ignoring " + nickA + " for this session.")
	var burst strings.Builder
	for i := range 50 {
		fmt.Fprintf(&burst, "line %d\r\n", i)
	}
	burst.WriteString("/me is done\r\n")
	if _, err := alice.conn.Write([]byte(burst.String())); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		bob.expect(fmt.Sprintf("<%s> line %d", nickA, i))
	}
	bob.expect("* " + nickA + " is done")
	alice.expect("* " + nickA + " is done") // her own action, and none of her lines
	carol.send("/who")
	carol.expectPrefix("*** 3 in lobby: ") // nothing of alice's came before
}
