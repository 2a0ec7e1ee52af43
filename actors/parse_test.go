package actors

import "testing"

func TestParseInput(t *testing.T) {
	tests := []struct {
		in   string
		want input
	}{
		{"", input{kind: inputNone}},
		{"   ", input{kind: inputNone}},
		{"hello", input{kind: inputChat, text: "hello"}},
		{"  indented  ", input{kind: inputChat, text: "  indented"}},
		{"exit", input{kind: inputCommand, name: "quit"}},
		{"  EXIT ", input{kind: inputCommand, name: "quit"}},
		{"exit now", input{kind: inputChat, text: "exit now"}},
		{"/quit", input{kind: inputCommand, name: "quit"}},
		{"/QUIT see you", input{kind: inputCommand, name: "quit", args: "see you"}},
		{"/msg  bob   hi there ", input{kind: inputCommand, name: "msg", args: "bob   hi there"}},
		{"//not a command", input{kind: inputChat, text: "/not a command"}},
		{"@bob hi", input{kind: inputCommand, name: "msg", args: "bob hi"}},
		{"@", input{kind: inputChat, text: "@"}},
		{"@ 0", input{kind: inputChat, text: "@ 0"}},
		{"/", input{kind: inputCommand, name: ""}},
	}
	for _, tt := range tests {
		if got := parseInput(tt.in); got != tt.want {
			t.Errorf("parseInput(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// FuzzParseInput checks the parser's invariants on any line: it never
// panics, command names are lower case without spaces, and arguments are
// trimmed.
func FuzzParseInput(f *testing.F) {
	for _, s := range []string{"hi", "/msg bob hi", "exit", "@x y", "//a", "/", " /Nick  A "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		in := parseInput(line)
		switch in.kind {
		case inputCommand:
			for _, c := range in.name {
				if c == ' ' || (c >= 'A' && c <= 'Z') {
					t.Fatalf("command name %q from %q", in.name, line)
				}
			}
			if len(in.args) > 0 && (in.args[0] == ' ' || in.args[len(in.args)-1] == ' ') {
				t.Fatalf("untrimmed args %q from %q", in.args, line)
			}
		case inputChat:
			if in.text == "" {
				t.Fatalf("empty chat from %q", line)
			}
		}
	})
}
