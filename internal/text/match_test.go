package text

import (
	"strings"
	"testing"
)

func TestMatchPattern(t *testing.T) {
	for _, tt := range []struct {
		pattern, name string
		want          bool
	}{
		{"", "anyone", true},
		{"bo", "Bob", true},
		{"BO", "bob", true},
		{"x", "bob", false},
		{"b*", "bob", true},
		{"*b", "alice", false},
		{"u?5", "u15", true},
		{"u?5", "u155", false},
		{"[", "a[b", true},
		{"a[*", "a[b", true},
		{`\`, `a\b`, true},
	} {
		if got := MatchPattern(tt.pattern, tt.name); got != tt.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestMentions(t *testing.T) {
	for _, tt := range []struct {
		text string
		want bool
	}{
		{"bob", true}, {"hi Bob!", true}, {"bob: look", true}, {"@bob", true}, {"(BOB)", true},
		{"bobby", false}, {"kabob", false}, {"bob_2", false}, {"b.o.b", false}, {"", false}, {"bo", false},
		{"über bob", true}, {"bob✓", true},
	} {
		if got := Mentions(tt.text, "bob"); got != tt.want {
			t.Errorf("Mentions(%q, bob) = %v, want %v", tt.text, got, tt.want)
		}
	}
	if Mentions("anything", "") {
		t.Errorf("the empty nick is mentioned")
	}
}

func TestWithBell(t *testing.T) {
	if got := string(WithBell(AppendChat(nil, "a", "hi bob"))); got != "<a> hi bob\a\r\n" {
		t.Errorf("got %q", got)
	}
}

// mentionsNaive is Mentions written the obvious way, for comparison.
func mentionsNaive(text, nick string) bool {
	for i := 0; i+len(nick) <= len(text) && len(nick) > 0; i++ {
		if strings.EqualFold(text[i:i+len(nick)], nick) &&
			(i == 0 || !IsNickByte(text[i-1])) && (i+len(nick) == len(text) || !IsNickByte(text[i+len(nick)])) {
			return true
		}
	}
	return false
}

func FuzzMentions(f *testing.F) {
	for _, s := range []string{"hi bob", "Bob!", "bobby", "xbob", "b", "", "_bob", "BOB bob", "1x 1X"} {
		f.Add(s, "bob")
		f.Add(s, "1x")
	}
	f.Fuzz(func(t *testing.T, text, nick string) {
		for _, c := range []byte(nick) {
			if !IsNickByte(c) {
				return // nicks are ASCII nick bytes
			}
		}
		if got, want := Mentions(text, nick), mentionsNaive(text, nick); got != want {
			t.Fatalf("Mentions(%q, %q) = %v, want %v", text, nick, got, want)
		}
	})
}
