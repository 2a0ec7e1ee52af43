package actors

import "strings"

// inputKind says what an input line asks for.
type inputKind uint8

const (
	inputNone    inputKind = iota // blank line: nothing to do
	inputChat                     // text for the room
	inputCommand                  // a slash command (or exit, or @nick)
)

// input is one parsed input line.
type input struct {
	kind inputKind
	name string // command name, lower case, without the slash
	args string // command arguments, trimmed
	text string // chat text
}

// parseInput tells chat from commands:
//   - a blank line is nothing;
//   - "exit" (any case, surrounding spaces ignored) is the quit command;
//   - "/name args" is a command; "//text" is chat that starts with a slash;
//   - "@nick text" is a private message (the msg command); "@ text" is chat;
//   - anything else is chat, with trailing spaces removed.
func parseInput(line string) input {
	trimmed := strings.TrimSpace(line)
	switch {
	case trimmed == "":
		return input{kind: inputNone}
	case strings.EqualFold(trimmed, "exit"):
		return input{kind: inputCommand, name: "quit"}
	case strings.HasPrefix(trimmed, "//"):
		return input{kind: inputChat, text: strings.TrimRight(trimmed[1:], " ")}
	case strings.HasPrefix(trimmed, "/"):
		name, args, _ := strings.Cut(trimmed[1:], " ")
		return input{kind: inputCommand, name: strings.ToLower(name), args: strings.TrimSpace(args)}
	case strings.HasPrefix(trimmed, "@") && len(trimmed) > 1 && trimmed[1] != ' ':
		return input{kind: inputCommand, name: "msg", args: trimmed[1:]}
	}
	return input{kind: inputChat, text: strings.TrimRight(line, " ")}
}
