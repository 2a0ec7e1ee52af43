package telnet

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// decoded is a decoder event in a comparable form.
type decoded struct {
	kind EventKind
	line string
}

func (d decoded) String() string {
	switch d.kind {
	case EventLine:
		return fmt.Sprintf("line(%q)", d.line)
	case EventTooLong:
		return "tooLong"
	case EventInterrupt:
		return "interrupt"
	case EventOverflow:
		return "overflow"
	}
	return "?"
}

// decodeAll feeds chunks to a fresh decoder and returns its events and
// negotiation replies.
func decodeAll(maxLine int, chunks ...[]byte) ([]decoded, []byte) {
	d := NewDecoder(maxLine)
	var out []decoded
	var replies []byte
	for _, c := range chunks {
		for _, ev := range d.Feed(c) {
			out = append(out, decoded{ev.Kind, string(ev.Line)})
		}
		replies = append(replies, d.TakeReplies()...)
	}
	return out, replies
}

func lines(ss ...string) []decoded {
	out := make([]decoded, len(ss))
	for i, s := range ss {
		out[i] = decoded{EventLine, s}
	}
	return out
}

func TestDecoderLineEnds(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []decoded
	}{
		{"crlf", "hello\r\nworld\r\n", lines("hello", "world")},
		{"lf", "hello\nworld\n", lines("hello", "world")},
		{"cr nul", "hello\r\x00world\r\x00", lines("hello", "world")},
		{"bare cr", "hello\rworld\r", lines("hello", "world")},
		{"mixed", "a\nb\r\nc\rd\r\x00", lines("a", "b", "c", "d")},
		{"empty lines", "\r\n\n\r\n", lines("", "", "")},
		{"cr cr lf", "a\r\r\n", lines("a", "")},
		{"lf cr", "a\n\rb\n", lines("a", "", "b")},
		{"no line end yet", "partial", nil},
		{"extra spaces kept", "  a  b  \n", lines("  a  b  ")},
		{"lone nul dropped", "a\x00b\n", lines("ab")},
		{"backspace", "helo\blo\n", lines("hello")},
		{"del", "abc\x7f\x7fx\n", lines("ax")},
		{"backspace at start", "\b\bx\n", lines("x")},
		{"backspace removes whole rune", "caf\u00e9\b\bfe\n", lines("cafe")},
		{"tab kept for sanitizer", "a\tb\n", lines("a\tb")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := decodeAll(1024, []byte(tt.in))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecoderTelnet(t *testing.T) {
	const (
		iac  = "\xff"
		do   = "\xfd"
		dont = "\xfe"
		will = "\xfb"
		wont = "\xfc"
		sb   = "\xfa"
		se   = "\xf0"
	)
	tests := []struct {
		name    string
		in      string
		want    []decoded
		replies string
	}{
		{"do gets wont", iac + do + "\x01" + "hi\r\n", lines("hi"), iac + wont + "\x01"},
		{"will gets dont", iac + will + "\x18" + "hi\r\n", lines("hi"), iac + dont + "\x18"},
		{"dont and wont get nothing", iac + dont + "\x01" + iac + wont + "\x03" + "hi\n", lines("hi"), ""},
		{"subnegotiation consumed", "a" + iac + sb + "\x18\x00xterm" + iac + se + "b\n", lines("ab"), ""},
		{"iac iac inside subnegotiation", iac + sb + "\x18" + iac + iac + "x" + iac + se + "c\n", lines("c"), ""},
		{"iac iac is a data byte", "a" + iac + iac + "b\n", lines("a\xffb"), ""},
		{"interrupt process", "abc" + iac + "\xf4", []decoded{{kind: EventInterrupt}}, ""},
		{"break", iac + "\xf3", []decoded{{kind: EventInterrupt}}, ""},
		{"erase char", "abc" + iac + "\xf7" + "\n", lines("ab"), ""},
		{"erase line", "abc" + iac + "\xf8" + "xy\n", lines("xy"), ""},
		{"nop and ga ignored", "a" + iac + "\xf1" + "b" + iac + "\xf9" + "\n", lines("ab"), ""},
		{"are you there", iac + "\xf6", nil, "[yes]\r\n"},
		{"command between cr and lf", "a\r" + iac + "\xf1" + "\nb\n", lines("a", "b"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, replies := decodeAll(1024, []byte(tt.in))
			if !slices.Equal(got, tt.want) {
				t.Errorf("events: got %v, want %v", got, tt.want)
			}
			if string(replies) != tt.replies {
				t.Errorf("replies: got %q, want %q", replies, tt.replies)
			}
		})
	}
}

// TestDecoderBinary: the server has asked for the client's TRANSMIT-BINARY
// (DO: Offer), so the client's agreement needs no answer, a refusal is
// accepted silently, turning an agreed option off is acknowledged once, and
// the client's request that the server send in binary (its DO) is refused:
// never a loop.
func TestDecoderBinary(t *testing.T) {
	const (
		iac  = "\xff"
		do   = "\xfd"
		dont = "\xfe"
		will = "\xfb"
		wont = "\xfc"
		bin  = "\x00"
	)
	tests := []struct {
		name    string
		in      string
		replies string
	}{
		{"client agrees", iac + will + bin, ""},
		{"agreement repeated", iac + will + bin + iac + will + bin, ""},
		{"client asks the server to send in binary", iac + do + bin, iac + wont + bin},
		{"client takes back a request refused", iac + do + bin + iac + dont + bin, iac + wont + bin},
		{"client refuses", iac + wont + bin, ""},
		{"client asks again after refusing", iac + wont + bin + iac + will + bin, iac + do + bin},
		{"client turns it off after agreeing", iac + will + bin + iac + wont + bin, iac + dont + bin},
		{"off twice is acknowledged once", iac + will + bin + iac + wont + bin + iac + wont + bin, iac + dont + bin},
		{"utf-8 in binary mode", iac + will + bin + "\xe2\x9c\x93 \xd1\x83 \xc4\x83 \xe6\x9c\xac", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, replies := decodeAll(1024, []byte(tt.in+"\n"))
			if len(got) != 1 || got[0].kind != EventLine {
				t.Fatalf("events: got %v, want one line", got)
			}
			if string(replies) != tt.replies {
				t.Errorf("replies: got %q, want %q", replies, tt.replies)
			}
		})
	}
	got, _ := decodeAll(1024, []byte(iac+will+bin+"\xe2\x9c\x93 \xd1\x83\r\n"))
	if want := lines("\u2713 \u0443"); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestDecoderRefusalsAreBounded(t *testing.T) {
	in := bytes.Repeat([]byte{IAC, DO, 1}, 10*MaxRefusals)
	_, replies := decodeAll(1024, in)
	if got, want := len(replies), 3*MaxRefusals; got != want {
		t.Errorf("got %d reply bytes, want %d", got, want)
	}
}

func TestDecoderLongLine(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 20)
	tests := []struct {
		name   string
		chunks [][]byte
		want   []decoded
	}{
		{"exactly the limit", [][]byte{long[:10], []byte("\n")}, lines("xxxxxxxxxx")},
		{"over the limit", [][]byte{long, []byte("\nok\n")}, []decoded{{kind: EventTooLong}, {EventLine, "ok"}}},
		{"over across reads", [][]byte{long[:8], long[:8], []byte("\r\nok\r\n")}, []decoded{{kind: EventTooLong}, {EventLine, "ok"}}},
		{"reported once", [][]byte{long, long, long, []byte("\n")}, []decoded{{kind: EventTooLong}}},
		{"no line end", [][]byte{long, long}, []decoded{{kind: EventTooLong}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := decodeAll(10, tt.chunks...)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDecoderMemoryBounded feeds 100 MB without a line end: the decoder must
// hold no more than the limit, and report the overflow once, after MaxDiscard.
func TestDecoderMemoryBounded(t *testing.T) {
	d := NewDecoder(1024)
	chunk := bytes.Repeat([]byte("a"), 64<<10)
	var kinds []EventKind
	fed := 0
	for range (100 << 20) / len(chunk) {
		for _, ev := range d.Feed(chunk) {
			kinds = append(kinds, ev.Kind)
			if ev.Kind == EventOverflow && fed > MaxDiscard+len(chunk) {
				t.Errorf("overflow reported after %d bytes, want about %d", fed, MaxDiscard)
			}
		}
		fed += len(chunk)
	}
	if !slices.Equal(kinds, []EventKind{EventTooLong, EventOverflow}) {
		t.Errorf("events %v, want too long then overflow, once each", kinds)
	}
	if cap(d.line) > 2048 || cap(d.arena) > 2048 {
		t.Errorf("decoder holds %d + %d bytes, want at most about the 1024-byte limit", cap(d.line), cap(d.arena))
	}
}

// FuzzDecoder checks that splitting the input anywhere gives the same events
// and replies as feeding it whole, that lines never exceed the limit, and
// that no line holds a line-end byte.
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{
		"hello\r\nworld\n", "a\rb\r\x00c\n", "\xff\xfd\x01\xff\xfa\x18\x00x\xff\xf0ok\r\n",
		"\xff\xff\n", "ab\b\x7fc\n", "\xff\xf4", "x\xff\xf7\xff\xf8y\n", "caf\xc3\xa9\r\n",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		const limit = 16
		whole, wholeReplies := decodeAll(limit, in)
		at := int(split) % (len(in) + 1)
		parts, partReplies := decodeAll(limit, in[:at], in[at:])
		if !slices.Equal(whole, parts) {
			t.Fatalf("split at %d: got %v, want %v", at, parts, whole)
		}
		if !bytes.Equal(wholeReplies, partReplies) {
			t.Fatalf("split at %d: replies %q, want %q", at, partReplies, wholeReplies)
		}
		bytewise := make([][]byte, len(in))
		for i := range in {
			bytewise[i] = in[i : i+1]
		}
		if byByte, _ := decodeAll(limit, bytewise...); !slices.Equal(whole, byByte) {
			t.Fatalf("byte by byte: got %v, want %v", byByte, whole)
		}
		for _, ev := range whole {
			if len(ev.line) > limit {
				t.Fatalf("line of %d bytes passed the %d-byte limit", len(ev.line), limit)
			}
			if bytes.ContainsAny([]byte(ev.line), "\r\n") {
				t.Fatalf("line %q holds a line end", ev.line)
			}
		}
	})
}

// TestEchoOffer: a DO ECHO is refused unless the server offers ECHO at the
// moment (a password prompt), when it is the client's agreement and gets no
// answer; DONT ECHO never gets one.
func TestEchoOffer(t *testing.T) {
	offered := false
	d := NewDecoder(100)
	d.SetEchoOffered(func() bool { return offered })
	if d.Negotiated() {
		t.Fatal("negotiated before any option command")
	}
	d.Feed([]byte{IAC, DO, OptEcho})
	if got := d.TakeReplies(); string(got) != WontEcho {
		t.Fatalf("unasked DO ECHO answered %q, want WONT ECHO", got)
	}
	if !d.Negotiated() {
		t.Fatal("an option command did not count as telnet")
	}
	offered = true
	d.Feed([]byte{IAC, DO, OptEcho})
	if got := d.TakeReplies(); len(got) != 0 {
		t.Fatalf("the agreement to our WILL ECHO was answered %q", got)
	}
	offered = false
	d.Feed([]byte{IAC, DONT, OptEcho})
	if got := d.TakeReplies(); len(got) != 0 {
		t.Fatalf("DONT ECHO answered %q", got)
	}
	// Plain data with a 255 byte (nc sending binary) is not negotiation.
	nc := NewDecoder(100)
	nc.Feed([]byte{'a', IAC, IAC, 'b', '\n'})
	if nc.Negotiated() {
		t.Fatal("an escaped 255 counted as negotiation")
	}
}

// TestPlainDecoder: a plain decoder (IRC) splits and bounds lines as the
// telnet one does, but IAC, backspace and DEL are data, and it never
// negotiates.
func TestPlainDecoder(t *testing.T) {
	d := NewPlainDecoder(16)
	var got []decoded
	for _, ev := range d.Feed([]byte("a\xff\xfb\x01b\r\nx\by\x7f\r\n\x00z\n" + "0123456789abcdefg\r\nok\n")) {
		got = append(got, decoded{ev.Kind, string(ev.Line)})
	}
	want := append(lines("a\xff\xfb\x01b", "x\by\x7f", "z"), decoded{kind: EventTooLong}, decoded{EventLine, "ok"})
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if d.Negotiated() || len(d.TakeReplies()) != 0 {
		t.Error("a plain decoder negotiated")
	}
}
