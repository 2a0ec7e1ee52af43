package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/actorchat/actorchat/actors"
	"github.com/actorchat/actorchat/internal/password"
)

// readAdmins reads the server operators of the -admins file: one per line,
// its name and the Argon2id hash of its password (as chatd oper hash prints
// them), # starts a comment; no path means none. An operator without a
// hash that reads gets no rights, and the log says so.
func readAdmins(path string, logger *slog.Logger) ([]actors.Operator, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read admins: %w", err)
	}
	var out []actors.Operator
	for i, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
			continue
		case len(fields) == 1:
			logger.Warn("operator without a password hash gets no rights; make one with: chatd oper hash "+fields[0], "operator", fields[0], "file", path, "line", i+1)
			continue
		case len(fields) > 2 || password.Valid(fields[1]) != nil:
			logger.Warn("operator whose password hash does not read gets no rights; want NAME $argon2id$... as chatd oper hash prints",
				"operator", fields[0], "file", path, "line", i+1)
			continue
		}
		out = append(out, actors.Operator{Name: fields[0], Hash: fields[1]})
	}
	return out, nil
}

// runOper is "chatd oper hash [NAME]": it reads a password and prints its
// hash (after NAME, as a line of the -admins file).
func runOper(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "hash" {
		fmt.Fprintln(stderr, "chatd oper: usage: chatd oper hash [NAME]")
		return exitUsage
	}
	fs := flag.NewFlagSet("chatd oper hash", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: chatd oper hash [NAME]\n\nReads an operator's password (twice, hidden, on a terminal; one line from a pipe) and prints\nits Argon2id hash, after NAME if given: a line for chatd's -admins file. The operator\nbecomes one with /oper NAME PASSWORD; SIGHUP rereads the file.")
			return exitOK
		}
		fmt.Fprintf(stderr, "chatd oper hash: %v\n", err)
		return exitUsage
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(stderr, "chatd oper hash: usage: chatd oper hash [NAME]")
		return exitUsage
	}
	pw, err := readNewPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "chatd oper hash: %v\n", err)
		return exitRuntime
	}
	hash := password.Hash(pw, password.Default)
	if name := fs.Arg(0); name != "" {
		fmt.Fprintf(stdout, "%s %s\n", name, hash)
	} else {
		fmt.Fprintln(stdout, hash)
	}
	return exitOK
}

// readNewPassword reads a password: twice and hidden from a terminal, one
// line from anything else.
func readNewPassword(in *os.File, prompt io.Writer) (string, error) {
	var pw string
	if fd := int(in.Fd()); term.IsTerminal(fd) {
		read := func(q string) (string, error) {
			fmt.Fprint(prompt, q)
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(prompt)
			return string(b), err
		}
		first, err := read("Password: ")
		if err != nil {
			return "", err
		}
		again, err := read("Again: ")
		if err != nil {
			return "", err
		}
		if first != again {
			return "", errors.New("the two passwords differ")
		}
		pw = first
	} else {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && (!errors.Is(err, io.EOF) || line == "") {
			return "", fmt.Errorf("read the password from standard input: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if len(pw) < password.MinLen || len(pw) > password.MaxLen {
		return "", fmt.Errorf("a password has %d to %d characters", password.MinLen, password.MaxLen)
	}
	return pw, nil
}
