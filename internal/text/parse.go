package text

import "strings"

// InputKind says what an input line asks for.
type InputKind uint8

const (
	InputNone    InputKind = iota // blank line: nothing to do
	InputChat                     // text for the room
	InputCommand                  // a slash command (or exit, or @nick)
)

// Input is one parsed input line.
type Input struct {
	Kind InputKind
	Name string // command name, lower case, without the slash
	Args string // command arguments, trimmed
	Text string // chat text
}

// Parse tells chat from commands:
//   - a blank line is nothing;
//   - "exit" (any case, surrounding spaces ignored) is the quit command;
//   - "/name args" is a command; "//text" is chat that starts with a slash;
//   - "@nick text" is a private message (the msg command); "@ text" is chat;
//   - anything else is chat, with trailing spaces removed.
func Parse(line string) Input {
	trimmed := strings.TrimSpace(line)
	switch {
	case trimmed == "":
		return Input{Kind: InputNone}
	case strings.EqualFold(trimmed, "exit"):
		return Input{Kind: InputCommand, Name: "quit"}
	case strings.HasPrefix(trimmed, "//"):
		return Input{Kind: InputChat, Text: strings.TrimRight(trimmed[1:], " ")}
	case strings.HasPrefix(trimmed, "/"):
		name, args, _ := strings.Cut(trimmed[1:], " ")
		return Input{Kind: InputCommand, Name: strings.ToLower(name), Args: strings.TrimSpace(args)}
	case strings.HasPrefix(trimmed, "@") && len(trimmed) > 1 && trimmed[1] != ' ':
		return Input{Kind: InputCommand, Name: "msg", Args: trimmed[1:]}
	}
	return Input{Kind: InputChat, Text: strings.TrimRight(line, " ")}
}
