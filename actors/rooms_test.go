package actors

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

func newTestRooms(t *testing.T, system *actor.ActorSystem) *actor.PID {
	return supervisedProps(t, system, roomsProps(roomSettings{historyLen: 20, logger: testLogger(), metrics: NewMetrics()}, faultMiddleware(t)), actor.ResumeDirective)
}

func listRooms(t *testing.T, p *probe, rooms *actor.PID) map[string]uint32 {
	t.Helper()
	p.send(rooms, &messages.ListRooms{})
	out := make(map[string]uint32)
	for _, r := range expect[*messages.RoomList](t, p).GetRooms() {
		out[r.GetName()] = r.GetMembers()
	}
	return out
}

func TestRoomsCreatesOnJoinAndStopsWhenEmpty(t *testing.T) {
	system := newTestSystem(t)
	rooms := newTestRooms(t, system)
	alice, bob := newProbe(t, system), newProbe(t, system)

	alice.send(rooms, &messages.JoinRoom{Room: "#Dev", Nick: "alice"})
	joined := expect[*messages.RoomJoined](t, alice)
	devPID := pidOf(joined.GetRoomRef())
	if joined.GetRoom() != "dev" {
		t.Errorf("joined %q, want dev (normalized)", joined.GetRoom())
	}
	testkit.Eventually(t, "dev to be listed with 1 member", func() bool { return listRooms(t, bob, rooms)["dev"] == 1 })

	bob.send(rooms, &messages.JoinRoom{Room: "dev", Nick: "bob"})
	if pid := pidOf(expect[*messages.RoomJoined](t, bob).GetRoomRef()); pid.GetId() != devPID.GetId() {
		t.Errorf("bob joined %v, want the same room actor %v", pid, devPID)
	}
	expect[*messages.MemberJoined](t, alice)

	alice.send(devPID, &messages.LeaveRoom{Reason: messages.LeaveReason_LEAVE_REASON_PART})
	expect[*messages.RoomLeft](t, alice)
	expect[*messages.MemberLeft](t, bob)
	bob.send(devPID, &messages.LeaveRoom{Reason: messages.LeaveReason_LEAVE_REASON_PART})
	expect[*messages.RoomLeft](t, bob)
	testkit.Eventually(t, "dev to close", func() bool {
		_, listed := listRooms(t, bob, rooms)["dev"]
		_, alive := system.ProcessRegistry.Get(devPID)
		return !listed && !alive
	})
	if got := listRooms(t, bob, rooms); len(got) != 1 || got["lobby"] != 0 {
		t.Errorf("rooms: got %v, want only an empty lobby", got)
	}

	// The name is free again: a new actor serves it.
	alice.send(rooms, &messages.JoinRoom{Room: "dev", Nick: "alice"})
	if pid := pidOf(expect[*messages.RoomJoined](t, alice).GetRoomRef()); pid.GetId() == devPID.GetId() {
		t.Errorf("rejoined the stopped room actor %v", pid)
	}
}

func TestRoomsLobbyNeverStops(t *testing.T) {
	system := newTestSystem(t)
	rooms := newTestRooms(t, system)
	alice := newProbe(t, system)
	alice.send(rooms, &messages.JoinRoom{Room: "lobby", Nick: "alice"})
	lobby := pidOf(expect[*messages.RoomJoined](t, alice).GetRoomRef())
	alice.send(lobby, &messages.LeaveRoom{Reason: messages.LeaveReason_LEAVE_REASON_PART})
	expect[*messages.RoomLeft](t, alice)
	alice.sync(t, rooms)
	alice.sync(t, lobby)
	if _, ok := listRooms(t, alice, rooms)["lobby"]; !ok {
		t.Errorf("lobby is gone")
	}
}

// TestRoomsJoinRacingEmptyRoom leaves and rejoins a room in quick turns: a
// join on its way must never reach a stopped room.
func TestRoomsJoinRacingEmptyRoom(t *testing.T) {
	system := newTestSystem(t)
	rooms := newTestRooms(t, system)
	alice := newProbe(t, system)
	for range 200 {
		alice.send(rooms, &messages.JoinRoom{Room: "flaky", Nick: "alice"})
		pid := pidOf(expect[*messages.RoomJoined](t, alice).GetRoomRef())
		alice.send(pid, &messages.LeaveRoom{Reason: messages.LeaveReason_LEAVE_REASON_PART})
		expect[*messages.RoomLeft](t, alice)
	}
	testkit.Eventually(t, "flaky to close", func() bool {
		_, listed := listRooms(t, alice, rooms)["flaky"]
		return !listed
	})
}

func TestRoomsRejectsBadNames(t *testing.T) {
	system := newTestSystem(t)
	rooms := newTestRooms(t, system)
	alice := newProbe(t, system)
	for _, name := range []string{"", "#", "has space", "caf\u00e9", "a23456789012345678901234567890123"} {
		alice.send(rooms, &messages.JoinRoom{Room: name, Nick: "alice"})
		if r := expect[*messages.CommandRejected](t, alice); r.GetRequest() != messages.Request_REQUEST_JOIN {
			t.Errorf("%q: got %v", name, r)
		}
	}
}

func TestNormalizeRoomName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"dev", "dev"}, {"#dev", "dev"}, {"Dev_Ops-2", "dev_ops-2"}, {"#a", "a"},
	}
	for _, tt := range tests {
		if got, err := normalizeRoomName(tt.in); err != nil || got != tt.want {
			t.Errorf("normalizeRoomName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
