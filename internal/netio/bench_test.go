package netio

import (
	"strings"
	"testing"

	"github.com/actorchat/actorchat/internal/telnet"
	"github.com/actorchat/actorchat/internal/text"
)

// BenchmarkDecodeLines measures what the reader does with input: the
// telnet/line decoder and the sanitizer on typical chat input (64-byte
// lines, CRLF, in 4 KiB reads).
func BenchmarkDecodeLines(b *testing.B) {
	input := []byte(strings.Repeat(strings.Repeat("hello world ", 5)+"1234\r\n", 64))
	d := telnet.NewDecoder(1024)
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for range b.N {
		for _, ev := range d.Feed(input) {
			_ = text.Sanitize(ev.Line)
		}
	}
}

// BenchmarkOutboxWriteTake measures queuing a line in an outbox and the
// writer taking a burst of them.
func BenchmarkOutboxWriteTake(b *testing.B) {
	o := newOutbox(1 << 20)
	line := []byte("<alice> " + strings.Repeat("x", 64) + "\r\n")
	b.ReportAllocs()
	for i := range b.N {
		_ = o.write(line)
		if i%64 == 63 {
			data, _, _, _ := o.take()
			putOutboxBuffer(data)
		}
	}
}
