package text

import (
	"testing"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
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
		{"line separator", "a\u2028<bob> b\u2029c", "a <bob> b c"},
		{"zero width space", "b\u200bo\u200bb", "bob"},
		{"invisible others", "\ufeffa\u00adb\u2060c\u2063d\u180ee\u200ef\u200fg\u3164h\u034fi", "abcdefghi"},
		{"zwj between latin letters", "b\u200do\u200cb", "bob"},
		{"zwj in an emoji sequence", "\U0001F469\U0001F3FE\u200d\U0001F4BB", "\U0001F469\U0001F3FE\u200d\U0001F4BB"},
		{"zwnj in persian", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"},
		{"variation selector kept", "\u2714\ufe0f", "\u2714\ufe0f"},
		{"flag tags kept", "\U0001F3F4\U000E0067\U000E0062\U000E007F", "\U0001F3F4\U000E0067\U000E0062\U000E007F"},
		{"smuggled tags dropped", "hi\U000E0068\U000E0069", "hi"},
		{"override closed at the end", "abc\u202Efed", "abc\u202Efed\u202C"},
		{"isolate closed at the end", "a\u2067b", "a\u2067b\u2069"},
		{"nesting closed innermost first", "\u2066a\u202Bb", "\u2066a\u202Bb\u202C\u2069"},
		{"closed pair kept", "\u202Ex\u202Cy", "\u202Ex\u202Cy"},
		{"stray closers dropped", "\u202Ca\u2069b", "ab"},
		{"pdi closes what is inside its isolate", "\u2067a\u202Eb\u2069c", "\u2067a\u202Eb\u2069c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize([]byte(tt.in)); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzSanitize checks that no output holds invalid UTF-8 or a control
// character, whatever the input.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"hi", "\x1b[2J", "\x1b]0;t\x07", "a\xffb", "\u009b1m", "\t", "a\u202eb", "\u2067\u202bx\u2069\u202c", "b\u200do"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := Sanitize(in)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 in %q", out)
		}
		var open bidiStack
		for _, r := range out {
			if isBidiControl(r) && !open.accept(r) {
				t.Fatalf("stray bidi closer %U in %q (from %q)", r, out, in)
			}
			if r == 0x200b || r == 0x2028 || r == 0x2029 || r == 0xfeff {
				t.Fatalf("invisible or separator %U in %q (from %q)", r, out, in)
			}
		}
		if len(open) > 0 {
			t.Fatalf("bidi left open in %q (from %q)", out, in)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
				t.Fatalf("control character %U in %q (from %q)", r, out, in)
			}
		}
	})
}

// TestSanitizeIRC: an IRC line keeps CTCP's \x01 and loses every other
// control, as Sanitize does.
func TestSanitizeIRC(t *testing.T) {
	if got := SanitizeIRC([]byte("PRIVMSG #d :\x01ACTION \x1b[31mwaves\x02\x01")); got != "PRIVMSG #d :\x01ACTION waves\x01" {
		t.Errorf("got %q", got)
	}
	if got := Sanitize([]byte("\x01ACTION x\x01")); got != "ACTION x" {
		t.Errorf("Sanitize kept \\x01: %q", got)
	}
}
