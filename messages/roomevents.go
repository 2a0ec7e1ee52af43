package messages

import "google.golang.org/protobuf/proto"

// RoomEvent is a message a room sends its members: the one list of them,
// which the room's sending methods take (so a room can send a member
// nothing else) and which a cluster node's relay takes from another node
// (so it hands a member nothing else, and nothing a room sends is left
// out). A type joins the list by a method below. This file is not
// generated.
type RoomEvent interface {
	proto.Message
	roomEvent()
}

func (*MessagePosted) roomEvent()   {}
func (*PostsBatch) roomEvent()      {}
func (*MemberJoined) roomEvent()    {}
func (*MemberLeft) roomEvent()      {}
func (*MemberRenamed) roomEvent()   {}
func (*TopicChanged) roomEvent()    {}
func (*RoomJoined) roomEvent()      {}
func (*RoomLeft) roomEvent()        {}
func (*PostRefused) roomEvent()     {}
func (*CommandRejected) roomEvent() {}
func (*MemberList) roomEvent()      {}
func (*HistoryShown) roomEvent()    {}
func (*Moderated) roomEvent()       {}
func (*Kicked) roomEvent()          {}
func (*RoleChanged) roomEvent()     {}
func (*ServerNotice) roomEvent()    {}
