package text

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Input
	}{
		{"", Input{Kind: InputNone}},
		{"   ", Input{Kind: InputNone}},
		{"hello", Input{Kind: InputChat, Text: "hello"}},
		{"  indented  ", Input{Kind: InputChat, Text: "  indented"}},
		{"exit", Input{Kind: InputCommand, Name: "quit"}},
		{"  EXIT ", Input{Kind: InputCommand, Name: "quit"}},
		{"exit now", Input{Kind: InputChat, Text: "exit now"}},
		{"/quit", Input{Kind: InputCommand, Name: "quit"}},
		{"/QUIT see you", Input{Kind: InputCommand, Name: "quit", Args: "see you"}},
		{"/msg  bob   hi there ", Input{Kind: InputCommand, Name: "msg", Args: "bob   hi there"}},
		{"//not a command", Input{Kind: InputChat, Text: "/not a command"}},
		{"@bob hi", Input{Kind: InputCommand, Name: "msg", Args: "bob hi"}},
		{"@", Input{Kind: InputChat, Text: "@"}},
		{"@ 0", Input{Kind: InputChat, Text: "@ 0"}},
		{"/", Input{Kind: InputCommand, Name: ""}},
	}
	for _, tt := range tests {
		if got := Parse(tt.in); got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// FuzzParse checks the parser's invariants on any line: it never
// panics, command names are lower case without spaces, and arguments are
// trimmed.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"hi", "/msg bob hi", "exit", "@x y", "//a", "/", " /Nick  A "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		in := Parse(line)
		switch in.Kind {
		case InputCommand:
			for _, c := range in.Name {
				if c == ' ' || (c >= 'A' && c <= 'Z') {
					t.Fatalf("command name %q from %q", in.Name, line)
				}
			}
			if len(in.Args) > 0 && (in.Args[0] == ' ' || in.Args[len(in.Args)-1] == ' ') {
				t.Fatalf("untrimmed args %q from %q", in.Args, line)
			}
		case InputChat:
			if in.Text == "" {
				t.Fatalf("empty chat from %q", line)
			}
		}
	})
}
