package irc

import "strings"

// How chat names read in IRC, both ways, by one documented rule
// (docs/protocol.md): a chat nick may hold '.', which IRC nicks may not,
// and never '|', which they may; so '.' reads as '|' on IRC and '|' as '.'
// back. A room is a channel of the same name with '#' in front.

// Nick is the IRC form of a chat nick.
func Nick(chat string) string {
	if strings.IndexByte(chat, '.') < 0 {
		return chat
	}
	return strings.ReplaceAll(chat, ".", "|")
}

// ChatNick is the chat form of an IRC nick.
func ChatNick(ircNick string) string {
	if strings.IndexByte(ircNick, '|') < 0 {
		return ircNick
	}
	return strings.ReplaceAll(ircNick, "|", ".")
}

// Channel is the IRC channel of a chat room.
func Channel(room string) string { return "#" + room }

// Room is the chat room an IRC channel names, and whether it names one: a
// channel starts with '#' (the only channel type, CHANTYPES=#). The name
// after it is not checked here.
func Room(channel string) (string, bool) {
	if len(channel) < 2 || channel[0] != '#' {
		return "", false
	}
	return strings.ToLower(channel[1:]), true
}

// Fold is the ASCII case folding of CASEMAPPING=ascii: two nicks or
// channels are the same when their folds are equal.
func Fold(s string) string { return strings.ToLower(s) }
