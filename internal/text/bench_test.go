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
