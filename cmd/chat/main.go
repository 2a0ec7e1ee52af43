// Command chat is a terminal client for actorchat (or any server that speaks
// its line protocol).
//
//	go run ./cmd/chat -addr localhost:7666 -nick bob
//
// It sends every line typed on stdin and prints every line the server sends.
// On a terminal it keeps the line being typed intact when a message arrives,
// and shows nothing of a password as it is typed (when the server asks, as
// it does for /register, /identify and /oper); on a pipe it reads and writes
// plain lines. -tls (or -cafile FILE) connects to the server's TLS port. At the end of stdin (Ctrl-D, the
// end of a pipe) or on Ctrl-C it sends /quit and waits for the server's
// bye.... It exits 0 after the server's bye..., 1 when the connection is lost
// or refused, 2 on a bad flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"
)

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chat: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var in lineSource = newScanLines(os.Stdin)
	var out, errOut io.Writer = os.Stdout, os.Stderr
	restore := func() {}
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) && term.IsTerminal(int(os.Stdout.Fd())) {
		var tty *terminal
		restore, tty, err = newTerminal(fd)
		if err != nil {
			fmt.Fprintf(os.Stderr, "chat: %v\n", err)
			os.Exit(1)
		}
		// Everything goes through the line editor, which keeps the typed
		// line below what arrives, and hides a password as it is typed
		// when the server asks.
		in, out, errOut = tty, tty, tty
		opts.hide = tty.hide
	}
	code := run(ctx, opts, in, out, errOut)
	restore()
	stop()
	os.Exit(code)
}

// parseFlags reads the flags. -help prints the usage to stdout and returns
// flag.ErrHelp; a bad flag is returned for main to print once, without the
// usage.
func parseFlags(args []string, stdout io.Writer) (options, error) {
	opts := options{quitTimeout: 5 * time.Second}
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.addr, "addr", "localhost:7666", "server address (host:port)")
	fs.StringVar(&opts.nick, "nick", "", "nick to take after the welcome (sends /nick NAME)")
	fs.BoolVar(&opts.tls, "tls", false, "connect over TLS (the server's -tls-listen port), trusting the system's certificate authorities")
	fs.StringVar(&opts.caFile, "cafile", "", "PEM file of a certificate authority (or a self-signed certificate) to trust too; implies -tls")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: chat [flags]\n\nFlags:")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return opts, err
		}
		return opts, fmt.Errorf("%w (see chat -help)", err)
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	opts.tls = opts.tls || opts.caFile != ""
	return opts, nil
}
