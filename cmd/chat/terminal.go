package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/term"
)

// terminal is stdin and stdout when both are a terminal: a line editor that
// keeps the line being typed intact while server lines are printed above it.
type terminal struct {
	*term.Terminal
	fd     int
	state  *term.State
	secret secretInput
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
	t.AutoCompleteCallback = t.secret.key
	return t.restore, t, nil
}

// hide starts (or ends) hiding what is typed: the server asked for a
// password.
func (t *terminal) hide(hidden bool) {
	t.secret.set(hidden)
	prompt := "> "
	if hidden {
		prompt = "(hidden) > "
	}
	t.SetPrompt(prompt)
}

// ReadLine reads a typed line: the secret one, when it was hidden.
func (t *terminal) ReadLine() (string, error) {
	line, err := t.Terminal.ReadLine()
	return t.secret.take(line), err
}

// secretInput is a line typed while hidden. The line editor is shown one
// blank per character typed (so the cursor moves, and Backspace at the end
// erases), and the characters are kept here.
type secretInput struct {
	mu     sync.Mutex
	hidden bool
	typed  []rune
	used   bool // a hidden line is being typed
}

func (s *secretInput) set(hidden bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hidden = hidden
}

// key is the line editor's AutoCompleteCallback: while hidden, a printable
// key joins the secret, and the editor shows a blank for it.
func (s *secretInput) key(line string, pos int, key rune) (string, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hidden || !unicode.IsPrint(key) {
		return "", 0, false
	}
	s.used = true
	if n := len(line); n < len(s.typed) { // erased (at the end) meanwhile
		s.typed = s.typed[:n]
	}
	at := min(pos, len(s.typed)) // the line is blanks: one byte each
	s.typed = slices.Insert(s.typed, at, key)
	return strings.Repeat(" ", len(s.typed)), at + 1, true
}

// take returns the line typed: the secret if it was hidden.
func (s *secretInput) take(line string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.used {
		return line
	}
	secret := s.typed[:min(len(line), len(s.typed))]
	s.typed, s.used = nil, false
	return string(secret)
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
