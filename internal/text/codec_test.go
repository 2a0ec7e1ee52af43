package text

import (
	"testing"
	"time"

	"github.com/actorchat/actorchat/internal/telnet"
	"github.com/actorchat/actorchat/messages"
)

// TestLineCodec: the line protocol marks a line of another room, rings the
// bell where asked, and offers telnet negotiation only to telnet clients.
func TestLineCodec(t *testing.T) {
	l := &Line{Telnet: true}
	post := &messages.MessagePosted{Room: "dev", Nick: "bob", Text: "hi alice"}
	for _, tt := range []struct {
		got, want string
	}{
		{string(l.AppendPost(nil, post, "", false)), "<bob> hi alice\r\n"},
		{string(l.AppendPost(nil, post, "dev", false)), "[dev] <bob> hi alice\r\n"},
		{string(l.AppendPost(nil, post, "dev", true)), "[dev] <bob> hi alice\a\r\n"},
		{string(l.AppendNotice(nil, "ops", "carol set the topic: x")), "[ops] *** carol set the topic: x\r\n"},
		{string(l.AppendNotice(nil, "", "welcome")), "*** welcome\r\n"},
		{string(l.AppendMemberLeft(nil, &messages.MemberLeft{Room: "dev", Nick: "bob", Reason: messages.LeaveReason_LEAVE_REASON_QUIT}, "dev")), "[dev] *** bob left (quit)\r\n"},
		{string(l.AppendPrivate(nil, "bob", "psst", true)), "[pm] <bob> psst\a\r\n"},
		{string(l.AppendMemberLeft(nil, &messages.MemberLeft{Room: "dev", Nick: "bob", Reason: messages.LeaveReason_LEAVE_REASON_BANNED, By: "olga", Message: "spam"}, "dev")), "[dev] *** bob was banned by olga: spam\r\n"},
		{string(l.AppendMemberLeft(nil, &messages.MemberLeft{Room: "dev", Nick: "bob", Reason: messages.LeaveReason_LEAVE_REASON_KICKED, By: "olga"}, "")), "*** bob was kicked by olga\r\n"},
		{string(l.AppendHistory(nil, &messages.MessagePosted{Nick: "bob", Text: "old", UnixMillis: time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC).UnixMilli()}, "dev",
			time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC))), "[dev] [history 06:00:00Z] <bob> old\r\n"},
		{string(l.AppendRoomNotice(nil, "ops", "ops", "carol was kicked by bob")), "[ops] *** carol was kicked by bob\r\n"},
		{string(l.AppendTopic(nil, "dev", "plans", "bob", 1)), "*** Topic: plans\r\n"},
		{string(l.AppendTopic(nil, "dev", "", "", 0)), ""},
		{string(l.AppendJoined(nil, "dev", "", "bob")), "*** bob joined dev\r\n"},
		{string(l.AppendRenamed(nil, "dev", "dev", "m2", "bob", "rob")), "[dev] *** bob is now known as rob\r\n"},
		{string(l.AppendOwnNick(nil, "guest1", "alice")), "*** You are now alice.\r\n"},
		{string(l.AppendTopicSet(nil, "dev", "", "bob", "")), "*** bob cleared the topic\r\n"},
		{string(l.AppendTopicSet(nil, "dev", "dev", "bob", "plans")), "[dev] *** bob set the topic: plans\r\n"},
		{string(l.AppendKicked(nil, "dev", "bob", "spam", true)), "*** You were banned from dev by bob: spam\r\n"},
		{string(l.AppendTooLong(nil, 1024)), "!!! line too long (the limit is 1024 bytes); it was discarded\r\n"},
		{string(l.Offer()), telnet.Offer},
		{string((&Line{}).Offer()), ""},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
