package actors

import (
	"strconv"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/messages"
)

// refOf is a PID as message data, for a reply_to.
func refOf(pid *actor.PID) *messages.ActorRef {
	if pid == nil {
		return nil
	}
	return &messages.ActorRef{Address: pid.GetAddress(), Id: pid.GetId()}
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
