package irc

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/actorchat/actorchat/messages"
)

func TestCodecRenders(t *testing.T) {
	c := &Codec{Server: "srv.test", Member: "n.1", Nick: "al.ice"}
	at := time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
	for _, tt := range []struct{ got, want string }{
		{string(c.AppendPost(nil, &messages.MessagePosted{Room: "dev", Nick: "bob", Text: "hi all", SenderMemberId: "n.2"}, "", false)), ":bob!bob@actorchat PRIVMSG #dev :hi all\r\n"},
		{string(c.AppendPost(nil, &messages.MessagePosted{Room: "dev", Nick: "bob", Text: "waves", Action: true, SenderMemberId: "n.2"}, "", false)), ":bob!bob@actorchat PRIVMSG #dev :\x01ACTION waves\x01\r\n"},
		{string(c.AppendPost(nil, &messages.MessagePosted{Room: "dev", Nick: "al.ice", Text: "mine", SenderMemberId: "n.1"}, "", false)), ""},
		{string(c.AppendPost(nil, &messages.MessagePosted{Room: "dev", Nick: "bot", Text: "beep", Notice: true, SenderMemberId: "n.3"}, "", false)), ":bot!bot@actorchat NOTICE #dev :beep\r\n"},
		{string(c.AppendHistory(nil, &messages.MessagePosted{Room: "dev", Nick: "bob", Text: "old", UnixMillis: at.UnixMilli()}, "", at.Add(time.Hour))), ":bob!bob@actorchat PRIVMSG #dev :[09:30] old\r\n"},
		{string(c.AppendHistory(nil, &messages.MessagePosted{Room: "dev", Nick: "bob", Text: "older", UnixMillis: at.UnixMilli()}, "", at.Add(48*time.Hour))), ":bob!bob@actorchat PRIVMSG #dev :[2026-12-06 09:30] older\r\n"},
		{string(c.AppendNotice(nil, "", "hello")), ":srv.test NOTICE al|ice :hello\r\n"},
		{string(c.AppendRoomNotice(nil, "dev", "", "dev is invite-only")), ":srv.test NOTICE #dev :dev is invite-only\r\n"},
		{string(c.AppendPrivate(nil, "b.ob", "psst", true)), ":b|ob!b|ob@actorchat PRIVMSG al|ice :psst\r\n"},
		{string(c.AppendPrivateSent(nil, "bob", "psst")), ""},
		{string(c.AppendInRoom(nil, "dev", nil, 3)), ":al|ice!al|ice@actorchat JOIN #dev\r\n"},
		{string(c.AppendTopic(nil, "dev", "plans", "bob", at.UnixMilli())), ":srv.test 332 al|ice #dev :plans\r\n:srv.test 333 al|ice #dev bob 1796549400\r\n"},
		{string(c.AppendTopic(nil, "dev", "", "", 0)), ""},
		{string(c.AppendJoined(nil, "dev", "", "bob")), ":bob!bob@actorchat JOIN #dev\r\n"},
		{string(c.AppendMemberLeft(nil, &messages.MemberLeft{Room: "dev", Nick: "bob", Reason: messages.LeaveReason_LEAVE_REASON_PART}, "")), ":bob!bob@actorchat PART #dev\r\n"},
		{string(c.AppendMemberLeft(nil, &messages.MemberLeft{Room: "dev", Nick: "bob", Reason: messages.LeaveReason_LEAVE_REASON_BANNED, By: "olga"}, "")), ":olga!olga@actorchat KICK #dev bob :banned\r\n"},
		{string(c.AppendTopicSet(nil, "dev", "", "bob", "")), ":bob!bob@actorchat TOPIC #dev :\r\n"},
		{string(c.AppendKicked(nil, "dev", "olga", "spam", false)), ":olga!olga@actorchat KICK #dev al|ice :spam\r\n"},
		{string(c.AppendOwnNick(nil, "guest1", "al.ice")), ":guest1!guest1@actorchat NICK al|ice\r\n"},
		{string(c.AppendTooLong(nil, 8703)), ":srv.test 417 al|ice :Input line was too long\r\n"},
		{string(c.Bye()), "ERROR :Closing link: bye\r\n"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestCodecOnce: a quit or a rename that several shared channels report
// reaches the client once; a rename back, or a nick that quit and came
// back, is news again.
func TestCodecOnce(t *testing.T) {
	c := &Codec{Server: "srv.test", Member: "n.1", Nick: "alice"}
	quit := &messages.MemberLeft{Room: "dev", Nick: "bob", Reason: messages.LeaveReason_LEAVE_REASON_QUIT, Message: "bye"}
	var out []byte
	out = c.AppendMemberLeft(out, quit, "")
	quit.Room = "ops"
	out = c.AppendMemberLeft(out, quit, "")
	if string(out) != ":bob!bob@actorchat QUIT :quit: bye\r\n" {
		t.Errorf("quit in two channels: %q", out)
	}
	out = c.AppendJoined(nil, "dev", "", "bob")
	if got := string(c.AppendMemberLeft(out[:0], quit, "")); got != ":bob!bob@actorchat QUIT :quit: bye\r\n" {
		t.Errorf("quit after coming back: %q", got)
	}

	out = nil
	for _, room := range []string{"dev", "ops"} {
		out = c.AppendRenamed(out, room, "", "n.2", "bob", "rob")
	}
	out = c.AppendRenamed(out, "dev", "", "n.2", "rob", "bob")
	out = c.AppendRenamed(out, "dev", "", "n.2", "bob", "rob")
	if want := ":bob!bob@actorchat NICK rob\r\n:rob!rob@actorchat NICK bob\r\n:bob!bob@actorchat NICK rob\r\n"; string(out) != want {
		t.Errorf("renames: %q, want %q", out, want)
	}
}

// TestAppendTextSplits: a chat line longer than an IRC message goes out as
// several, each within 512 bytes, cut at spaces or between characters,
// with nothing lost.
func TestAppendTextSplits(t *testing.T) {
	for _, body := range []string{strings.Repeat("word ", 200), strings.Repeat("é", 500), strings.Repeat("x", 1020)} {
		for _, action := range []bool{false, true} {
			out := string(AppendText(nil, "bob!bob@actorchat", "PRIVMSG", "#dev", body, action))
			var got []string
			for _, line := range strings.SplitAfter(out, "\r\n") {
				if line == "" {
					continue
				}
				if len(line) > MaxLineBytes || !utf8.ValidString(line) {
					t.Fatalf("message of %d bytes (valid UTF-8: %v)", len(line), utf8.ValidString(line))
				}
				m, err := Parse(strings.TrimSuffix(line, "\r\n"))
				if err != nil {
					t.Fatal(err)
				}
				text := m.Param(1)
				if action {
					text = strings.TrimSuffix(strings.TrimPrefix(text, "\x01ACTION "), "\x01")
				}
				got = append(got, text)
			}
			if len(got) < 2 || strings.ReplaceAll(strings.Join(got, ""), " ", "") != strings.ReplaceAll(body, " ", "") {
				t.Errorf("split of %d bytes (action %v) into %d: text lost or changed", len(body), action, len(got))
			}
		}
	}
}
