package main

import (
	"fmt"
	"os"

	"golang.org/x/term"
)

// terminal is stdin and stdout when both are a terminal: a line editor that
// keeps the line being typed intact while server lines are printed above it.
type terminal struct {
	*term.Terminal
	fd    int
	state *term.State
}

// newTerminal puts the terminal at fd into raw mode for line editing. The
// returned func restores it.
func newTerminal(fd int) (func(), *terminal, error) {
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, nil, fmt.Errorf("set up the terminal: %w", err)
	}
	t := &terminal{
		Terminal: term.NewTerminal(ttyIO{in: os.Stdin, out: os.Stdout}, "> "),
		fd:       fd,
		state:    state,
	}
	if w, h, err := term.GetSize(fd); err == nil {
		_ = t.SetSize(w, h)
	}
	return t.restore, t, nil
}

// restore erases the prompt the line editor left and gives the terminal
// back its mode.
func (t *terminal) restore() {
	if t.state != nil {
		_, _ = os.Stdout.WriteString("\r\x1b[K")
		_ = term.Restore(t.fd, t.state)
		t.state = nil
	}
}

// ttyIO reads the terminal's input and writes its output.
type ttyIO struct{ in, out *os.File }

func (t ttyIO) Read(p []byte) (int, error)  { return t.in.Read(p) }
func (t ttyIO) Write(p []byte) (int, error) { return t.out.Write(p) }
