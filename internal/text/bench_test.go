package text

import (
	"strings"
	"testing"

	"github.com/actorchat/actorchat/messages"
)

// BenchmarkRenderDelivery measures rendering one chat line into a reused
// buffer, what a connection does for each delivery.
func BenchmarkRenderDelivery(b *testing.B) {
	m := &messages.MessagePosted{Room: "lobby", Nick: "alice", Text: strings.Repeat("x", 64)}
	var buf []byte
	b.ReportAllocs()
	for range b.N {
		buf = AppendPosted(buf[:0], m)
	}
}

// BenchmarkMentions measures the bell's check of a delivered line, which
// every delivery pays.
func BenchmarkMentions(b *testing.B) {
	line := strings.Repeat("hello world ", 5) + "1234"
	for range b.N {
		_ = Mentions(line, "alice")
	}
}

// lineCodec is how a connection holds its codec: behind an interface.
type lineCodec interface {
	AppendPost(dst []byte, m *messages.MessagePosted, mark string, bell bool) []byte
}

// BenchmarkRenderDeliveryCodec is BenchmarkRenderDelivery through the
// codec, as a connection renders: an interface call, no mark, no bell.
func BenchmarkRenderDeliveryCodec(b *testing.B) {
	m := &messages.MessagePosted{Room: "lobby", Nick: "alice", Text: strings.Repeat("x", 64)}
	var c lineCodec = &Line{Telnet: true}
	var buf []byte
	b.ReportAllocs()
	for range b.N {
		buf = c.AppendPost(buf[:0], m, "", false)
	}
}
