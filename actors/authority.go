package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorchat/actorchat/messages"
)

// Who may say what. A message that grants a right, or uses one, is taken
// only from the actor that decides it, as its transport sender says:
//
//   - AccountIdentified, AccountRemoved and OperatorIdentified (to the
//     registry): from an accounts actor, which checked the password;
//   - Identified, AccountUnregistered, Opered, Killed and Ghosted (to a
//     connection): from a registry;
//   - AdminCommand (to the registry), Moderate, SetMemberAccount and
//     JoinRoom (to a room): from the connection of the member they name.
//
// Anything else that sends one is ignored (and logged). On one node every
// sender is one of our own actors; in a cluster a sender on another node is
// one the cluster transport authenticated (mutual TLS, see ClusterConfig),
// so a process that can merely reach the cluster port cannot speak for
// anyone. The messages that pass through a router or the rooms actor on
// their way are forwarded with their sender, and an actor that keeps a
// message for later keeps its sender with it (heldMessage).

// Well-known ids of the actors whose word carries authority.
const accountsActorID = "server/accounts"

// heldMessage is a message kept for later, with the sender it came from.
type heldMessage struct {
	msg    any
	sender *actor.PID
}

// sentBy reports whether sender is an actor with the given id (on this node,
// or on a node the cluster transport authenticated).
func sentBy(sender *actor.PID, id string) bool {
	return sender != nil && id != "" && sender.GetId() == id
}

// samePID reports whether two PIDs name the same actor.
func samePID(a, b *actor.PID) bool {
	return a != nil && b != nil && a.GetId() == b.GetId() && a.GetAddress() == b.GetAddress()
}

// replyFrom answers a request's reply_to with the actor as the sender, for
// an answer that carries authority.
func replyFrom(ctx actor.Context, to *messages.ActorRef, msg proto.Message) {
	if pid := pidOf(to); pid != nil {
		ctx.Request(pid, answerTo(to, msg))
	}
}
