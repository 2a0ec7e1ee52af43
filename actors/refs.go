package actors

import (
	"strconv"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/actorchat/messages"
)

// refOf is a PID as message data, for a reply_to.
func refOf(pid *actor.PID) *messages.ActorRef {
	if pid == nil {
		return nil
	}
	return &messages.ActorRef{Address: pid.GetAddress(), Id: pid.GetId()}
}

// requestRef is a PID as message data, for the reply_to of request id:
// the answer comes back in a Reply that carries id.
func requestRef(pid *actor.PID, id uint64) *messages.ActorRef {
	return &messages.ActorRef{Address: pid.GetAddress(), Id: pid.GetId(), RequestId: id}
}

// answerTo is what goes back to reply_to to for a request: msg itself, or,
// when the asker numbered its request, msg in a Reply with that number.
func answerTo(to *messages.ActorRef, msg proto.Message) proto.Message {
	if id := to.GetRequestId(); id != 0 {
		if r, ok := messages.NewReply(id, msg); ok {
			return r
		}
	}
	return msg
}

// roomAnswerTo is answerTo for what a room sends.
func roomAnswerTo(to *messages.ActorRef, msg messages.RoomEvent) messages.RoomEvent {
	if id := to.GetRequestId(); id != 0 {
		if r, ok := messages.NewReply(id, msg); ok {
			return r
		}
	}
	return msg
}

// pidOf is the PID an ActorRef names; nil for none.
func pidOf(ref *messages.ActorRef) *actor.PID {
	if ref.GetId() == "" {
		return nil
	}
	return actor.NewPID(ref.GetAddress(), ref.GetId())
}

// pidKey identifies a PID across nodes, for the maps that find a member by
// the actor that protoactor reports stopped (Terminated). It shares the
// PID's strings: no allocation per member.
type pidKey struct{ address, id string }

func keyOf(pid *actor.PID) pidKey {
	return pidKey{pid.GetAddress(), pid.GetId()}
}

// memberID names a connection's user on every node: the node's id and the
// connection's number on it.
func memberID(node string, conn uint64) string {
	return node + "." + strconv.FormatUint(conn, 10)
}
