package messages

import (
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestRepliesCoverEveryAnswer: every answer type of the Reply's oneof goes
// into a Reply and comes out as itself; what is not one does not go in.
func TestRepliesCoverEveryAnswer(t *testing.T) {
	fields := (&Reply{}).ProtoReflect().Descriptor().Oneofs().ByName("answer").Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		answer := (&Reply{}).ProtoReflect().NewField(f).Message().Interface()
		r, ok := NewReply(7, answer)
		if !ok {
			t.Errorf("NewReply has no case for %s", f.Message().FullName())
			continue
		}
		if got := r.Message(); got != answer || r.GetRequestId() != 7 {
			t.Errorf("%s: Message() = %T, want the answer put in", f.Message().FullName(), got)
		}
		if which := r.ProtoReflect().WhichOneof(f.ContainingOneof()); which != f {
			t.Errorf("%s went into field %v, want %s", f.Message().FullName(), which, f.Name())
		}
	}
	if _, ok := NewReply(7, &Ping{}); ok {
		t.Error("a Ping went into a Reply")
	}
	var empty proto.Message = (&Reply{}).Message()
	if empty != nil {
		t.Errorf("an empty Reply carries %v", empty)
	}
}
