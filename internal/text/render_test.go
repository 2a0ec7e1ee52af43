package text

import (
	"testing"
	"time"

	"github.com/actorchat/actorchat/messages"
)

func TestAppendHistory(t *testing.T) {
	at := time.Date(2026, 11, 27, 7, 31, 5, 0, time.UTC)
	chat := &messages.MessagePosted{Nick: "alice", Text: "hi", UnixMillis: at.UnixMilli()}
	action := &messages.MessagePosted{Nick: "bob", Text: "waves", Action: true, UnixMillis: at.UnixMilli()}
	for _, tc := range []struct {
		m    *messages.MessagePosted
		now  time.Time
		want string
	}{
		{chat, at.Add(time.Hour), "[history 07:31:05Z] <alice> hi\r\n"},
		{action, at.Add(time.Hour), "[history 07:31:05Z] * bob waves\r\n"},
		// Another day (in UTC, whatever the server's zone): the date too.
		{chat, at.Add(17 * time.Hour), "[history 2026-11-27 07:31:05Z] <alice> hi\r\n"},
		{chat, at.Add(time.Hour).In(time.FixedZone("UTC+20", 20*3600)), "[history 07:31:05Z] <alice> hi\r\n"},
		{chat, at.AddDate(-1, 0, 0), "[history 2026-11-27 07:31:05Z] <alice> hi\r\n"},
	} {
		if got := string(AppendHistory(nil, tc.m, tc.now)); got != tc.want {
			t.Errorf("at %v: got %q, want %q", tc.now, got, tc.want)
		}
	}
}

func TestAppendInRoom(t *testing.T) {
	tests := []struct {
		some   []string
		others int
		want   string
	}{
		{nil, 0, "nobody else"},
		{[]string{"bob"}, 1, "bob"},
		{[]string{"bob", "carol"}, 2, "bob, carol"},
		{[]string{"bob", "carol"}, 9998, "bob, carol and 9996 more"},
	}
	for _, tt := range tests {
		want := "*** You are in room lobby with " + tt.want + ".\r\n"
		if got := string(AppendInRoom([]byte("x"), "lobby", tt.some, tt.others)); got != "x"+want {
			t.Errorf("AppendInRoom(%v, %d) = %q, want %q", tt.some, tt.others, got, "x"+want)
		}
	}
}

func TestAppendNoticeOf(t *testing.T) {
	if got, want := string(AppendNoticeOf(nil, "You are ", "bob", ".")), "*** You are bob.\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
