package actors

import (
	"testing"
	"unicode/utf8"
)

func TestSanitizeLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello, world", "hello, world"},
		{"unicode kept", "héllo ☃ 日本", "héllo ☃ 日本"},
		{"invalid utf8", "a\xffb\xc3", "a\uFFFDb\uFFFD"},
		{"tab to space", "a\tb", "a b"},
		{"c0 dropped", "a\x01b\x07c\x1fd", "abcd"},
		{"del dropped", "a\x7fb", "ab"},
		{"c1 dropped", "a\u0085b", "ab"},
		{"csi clear screen", "\x1b[2J\x1b[Hhi", "hi"},
		{"csi colour", "\x1b[31;1mred\x1b[0m", "red"},
		{"csi private mode", "\x1b[?1049hx", "x"},
		{"osc title bel", "\x1b]0;pwned\x07text", "text"},
		{"osc title st", "\x1b]2;pwned\x1b\\text", "text"},
		{"osc unterminated", "ok\x1b]0;pwned", "ok"},
		{"dcs", "\x1bPq#0;2;0;0;0\x1b\\after", "after"},
		{"two byte escape", "a\x1bcb", "ab"},
		{"charset designation", "a\x1b(Bb", "ab"},
		{"c1 csi", "a\u009b31mb", "ab"},
		{"c1 osc", "a\u009d0;t\u009cb", "ab"},
		{"lone esc at end", "a\x1b", "a"},
		{"cut csi", "a\x1b[31", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sanitizeLine([]byte(tt.in)); got != tt.want {
				t.Errorf("sanitizeLine(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzSanitizeLine checks that no output holds invalid UTF-8 or a control
// character, whatever the input.
func FuzzSanitizeLine(f *testing.F) {
	for _, s := range []string{"hi", "\x1b[2J", "\x1b]0;t\x07", "a\xffb", "\u009b1m", "\t"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := sanitizeLine(in)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 in %q", out)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
				t.Fatalf("control character %U in %q (from %q)", r, out, in)
			}
		}
	})
}
