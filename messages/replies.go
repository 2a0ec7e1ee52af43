package messages

import "google.golang.org/protobuf/proto"

// This file is not generated: it puts an answer into a Reply and takes it
// out again. A type switch, not protoreflect: every connection's set-up
// passes here twice. TestRepliesCoverEveryAnswer checks that every field
// of the Reply's oneof has its case.

func (*Reply) roomEvent() {}

// NewReply puts answer into a Reply for request id; false if answer is not
// one of the Reply's answer types.
func NewReply(id uint64, answer proto.Message) (*Reply, bool) {
	r := &Reply{RequestId: id}
	switch m := answer.(type) {
	case *CommandRejected:
		r.Answer = &Reply_CommandRejected{CommandRejected: m}
	case *ConnectionRegistered:
		r.Answer = &Reply_ConnectionRegistered{ConnectionRegistered: m}
	case *RoomJoined:
		r.Answer = &Reply_RoomJoined{RoomJoined: m}
	case *NickChanged:
		r.Answer = &Reply_NickChanged{NickChanged: m}
	case *PrivateMessageSent:
		r.Answer = &Reply_PrivateMessageSent{PrivateMessageSent: m}
	case *MemberList:
		r.Answer = &Reply_MemberList{MemberList: m}
	case *UserList:
		r.Answer = &Reply_UserList{UserList: m}
	case *RoomList:
		r.Answer = &Reply_RoomList{RoomList: m}
	case *NickResolved:
		r.Answer = &Reply_NickResolved{NickResolved: m}
	case *TargetResolved:
		r.Answer = &Reply_TargetResolved{TargetResolved: m}
	case *MembersDescribed:
		r.Answer = &Reply_MembersDescribed{MembersDescribed: m}
	case *UserDescription:
		r.Answer = &Reply_UserDescription{UserDescription: m}
	case *AwaySet:
		r.Answer = &Reply_AwaySet{AwaySet: m}
	case *HistoryShown:
		r.Answer = &Reply_HistoryShown{HistoryShown: m}
	case *Identified:
		r.Answer = &Reply_Identified{Identified: m}
	case *Opered:
		r.Answer = &Reply_Opered{Opered: m}
	case *PasswordChanged:
		r.Answer = &Reply_PasswordChanged{PasswordChanged: m}
	case *AccountUnregistered:
		r.Answer = &Reply_AccountUnregistered{AccountUnregistered: m}
	case *NickGhosted:
		r.Answer = &Reply_NickGhosted{NickGhosted: m}
	case *Moderated:
		r.Answer = &Reply_Moderated{Moderated: m}
	case *AdminDone:
		r.Answer = &Reply_AdminDone{AdminDone: m}
	case *WhowasList:
		r.Answer = &Reply_WhowasList{WhowasList: m}
	default:
		return nil, false
	}
	return r, true
}

// Message is the answer a Reply carries; nil if it carries none.
func (r *Reply) Message() proto.Message {
	switch a := r.GetAnswer().(type) {
	case *Reply_CommandRejected:
		return a.CommandRejected
	case *Reply_ConnectionRegistered:
		return a.ConnectionRegistered
	case *Reply_RoomJoined:
		return a.RoomJoined
	case *Reply_NickChanged:
		return a.NickChanged
	case *Reply_PrivateMessageSent:
		return a.PrivateMessageSent
	case *Reply_MemberList:
		return a.MemberList
	case *Reply_UserList:
		return a.UserList
	case *Reply_RoomList:
		return a.RoomList
	case *Reply_NickResolved:
		return a.NickResolved
	case *Reply_TargetResolved:
		return a.TargetResolved
	case *Reply_MembersDescribed:
		return a.MembersDescribed
	case *Reply_UserDescription:
		return a.UserDescription
	case *Reply_AwaySet:
		return a.AwaySet
	case *Reply_HistoryShown:
		return a.HistoryShown
	case *Reply_Identified:
		return a.Identified
	case *Reply_Opered:
		return a.Opered
	case *Reply_PasswordChanged:
		return a.PasswordChanged
	case *Reply_AccountUnregistered:
		return a.AccountUnregistered
	case *Reply_NickGhosted:
		return a.NickGhosted
	case *Reply_Moderated:
		return a.Moderated
	case *Reply_AdminDone:
		return a.AdminDone
	case *Reply_WhowasList:
		return a.WhowasList
	}
	return nil
}
