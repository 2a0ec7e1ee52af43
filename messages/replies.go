package messages

import (
	sync "sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// This file is not generated: it puts an answer into a Reply and takes it
// out again, whatever its type, by the Reply's oneof.

func (*Reply) roomEvent() {}

// replyFields is the Reply field of each answer type; built on first use,
// after the generated code's init has built the descriptors.
var replyFields = sync.OnceValue(func() map[protoreflect.FullName]protoreflect.FieldDescriptor {
	fields := (&Reply{}).ProtoReflect().Descriptor().Oneofs().ByName("answer").Fields()
	m := make(map[protoreflect.FullName]protoreflect.FieldDescriptor, fields.Len())
	for i := range fields.Len() {
		m[fields.Get(i).Message().FullName()] = fields.Get(i)
	}
	return m
})

// NewReply puts answer into a Reply for request id; false if answer is not
// one of the Reply's answer types.
func NewReply(id uint64, answer proto.Message) (*Reply, bool) {
	m := answer.ProtoReflect()
	f, ok := replyFields()[m.Descriptor().FullName()]
	if !ok {
		return nil, false
	}
	r := &Reply{RequestId: id}
	r.ProtoReflect().Set(f, protoreflect.ValueOfMessage(m))
	return r, true
}

// Answered reports whether the answer type can travel in a Reply.
func Answered(answer proto.Message) bool {
	_, ok := replyFields()[answer.ProtoReflect().Descriptor().FullName()]
	return ok
}

// Message is the answer a Reply carries; nil if it carries none.
func (r *Reply) Message() proto.Message {
	m := r.ProtoReflect()
	f := m.WhichOneof(m.Descriptor().Oneofs().ByName("answer"))
	if f == nil {
		return nil
	}
	return m.Get(f).Message().Interface()
}
