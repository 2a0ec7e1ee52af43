package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/actorchat/actorchat/internal/netio"
)

// byeLine is the server's last line before it closes a connection it ends
// in good order.
const byeLine = "bye..."

// dialTimeout bounds connecting to the server.
const dialTimeout = 10 * time.Second

// writeTimeout bounds one write to the server.
const writeTimeout = 5 * time.Second

// options is what the flags set.
type options struct {
	addr        string
	nick        string        // sent as /nick after the first line from the server
	quitTimeout time.Duration // how long to wait for bye... after sending /quit
	tls         bool          // connect with TLS (the server's TLS port)
	caFile      string        // PEM file of the CA (or certificate) to trust, beside the system's
	// hide, when set, is told when the server asks to hide what the user
	// types (a password: telnet's IAC WILL ECHO) and when it no longer does.
	hide func(hidden bool)
}

// serverEnd is how the server side of the connection ended.
type serverEnd struct {
	sawBye bool  // the last line was bye...
	err    error // the read error; nil or io.EOF for a clean close
}

// lineSource is where typed lines come from: a terminal's line editor, or
// plain lines from a pipe (scanLines).
type lineSource interface {
	ReadLine() (string, error)
}

// deadliner is a line source whose blocked read can be cut short, as an
// *os.File pipe can; run uses it to leave no goroutine blocked on stdin.
type deadliner interface {
	SetReadDeadline(time.Time) error
}

// scanLines reads plain lines, without their line ends.
type scanLines struct {
	src io.Reader
	sc  *bufio.Scanner
}

// maxTypedLine bounds one line read from stdin.
const maxTypedLine = 64 << 10

func newScanLines(src io.Reader) *scanLines {
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 4096), maxTypedLine)
	return &scanLines{src: src, sc: sc}
}

func (s *scanLines) ReadLine() (string, error) {
	if s.sc.Scan() {
		return strings.TrimRight(s.sc.Text(), "\r"), nil
	}
	if err := s.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

// SetReadDeadline cuts a blocked read short, if the source allows it.
func (s *scanLines) SetReadDeadline(t time.Time) error {
	if d, ok := s.src.(deadliner); ok {
		return d.SetReadDeadline(t)
	}
	return os.ErrNoDeadline
}

// run is the client: it returns the exit code. stdin lines go to the server,
// server lines go to stdout, and why it ended goes to stderr.
func run(ctx context.Context, opts options, stdin lineSource, stdout, stderr io.Writer) int {
	conn, err := dial(opts)
	if err != nil {
		fmt.Fprintf(stderr, "chat: cannot connect to %s: %v\n", opts.addr, err)
		return 1
	}
	defer conn.Close()
	// We speak telnet (binary mode, both ways), so that the server asks us
	// to hide a password as it is typed, on either of its ports.
	_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, _ = io.WriteString(conn, telnetBinary)

	// The server's lines, printed as they arrive.
	firstLine := make(chan struct{})
	ended := make(chan serverEnd, 1)
	var wg sync.WaitGroup
	wg.Go(func() { ended <- readServer(conn, stdout, firstLine, opts.hide) })

	// The user's lines. This goroutine may stay blocked on a stdin that
	// cannot be interrupted (a terminal); it holds nothing that keeps the
	// process alive, and a pipe is interrupted below.
	typed := make(chan string)
	stopTyping := make(chan struct{})
	typingDone := make(chan struct{})
	go func() {
		defer close(typingDone)
		readStdin(stdin, typed, stopTyping)
	}()
	defer func() {
		close(stopTyping)
		if d, ok := stdin.(deadliner); ok && d.SetReadDeadline(time.Now()) == nil {
			<-typingDone
		}
	}()

	send := func(line string) error {
		_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, err := io.WriteString(conn, line+"\r\n")
		return err
	}
	var quitting <-chan time.Time
	quit := func() {
		if quitting != nil {
			return
		}
		_ = send("/quit")
		quitting = time.After(opts.quitTimeout)
	}

	nickPending := opts.nick != ""
	done := ctx.Done()
	for {
		select {
		case <-firstLine:
			firstLine = nil
			if nickPending {
				nickPending = false
				_ = send("/nick " + opts.nick)
			}
		case line, ok := <-typed:
			if !ok {
				typed = nil
				quit()
				continue
			}
			if err := send(line); err != nil {
				// The reader sees the same failure and reports it.
				typed = nil
			}
		case <-done:
			done = nil
			quit()
		case end := <-ended:
			wg.Wait()
			return report(end, stderr)
		case <-quitting:
			fmt.Fprintf(stderr, "chat: the server did not say goodbye within %v\n", opts.quitTimeout)
			_ = conn.Close()
			wg.Wait()
			return 1
		}
	}
}

// dial connects to the server: over TLS with -tls (trusting the system's
// CAs and -cafile's), else plain TCP.
func dial(opts options) (net.Conn, error) {
	d := &net.Dialer{Timeout: dialTimeout}
	if !opts.tls {
		conn, err := d.Dial("tcp", opts.addr)
		return conn, netio.Cause(err)
	}
	host, _, err := net.SplitHostPort(opts.addr)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if opts.caFile != "" {
		pem, err := os.ReadFile(opts.caFile)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", opts.caFile)
		}
	}
	conn, err := tls.DialWithDialer(d, "tcp", opts.addr, &tls.Config{ServerName: host, RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, netio.Cause(err)
	}
	return conn, nil
}

// The telnet we speak: binary mode both ways (RFC 856), and ECHO (RFC 857)
// when the server offers it for a password.
const (
	telnetBinary   = "\xff\xfb\x00" // IAC WILL BINARY: what we type is sent as it is
	telnetDoEcho   = "\xff\xfd\x01" // IAC DO ECHO: the server echoes (and does not)
	telnetDontEcho = "\xff\xfe\x01" // IAC DONT ECHO
)

// readServer prints every line from the server until the connection ends.
// When the server offers to echo what the user types (it does not: it asks
// us to hide a password), hide is told, and the server is answered.
func readServer(conn net.Conn, stdout io.Writer, firstLine chan<- struct{}, hide func(bool)) serverEnd {
	r := bufio.NewReader(conn)
	var last string
	first := true
	echo := func(cmd byte) {
		hidden := cmd == will
		answer := telnetDontEcho
		if hidden {
			answer = telnetDoEcho
		}
		_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, _ = io.WriteString(conn, answer)
		if hide != nil {
			hide(hidden)
		}
	}
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			line = plainLine(line, echo)
			last = line
			fmt.Fprintln(stdout, line)
			if first {
				first = false
				close(firstLine)
			}
		}
		if err != nil {
			return serverEnd{sawBye: last == byeLine, err: err}
		}
	}
}

// plainLine is a server line as the user should see it: without its line
// end, the telnet commands the server sends (the binary mode offer, which we
// answered at connect; ECHO, which echo is told of: WILL or WONT) and any
// stray CR.
func plainLine(line string, echo func(cmd byte)) string {
	if strings.IndexByte(line, iac) >= 0 {
		line = stripTelnet(line, echo)
	}
	return strings.ReplaceAll(strings.TrimRight(line, "\r\n"), "\r", "")
}

// Telnet bytes (RFC 854) that stripTelnet knows.
const (
	iac        = 255
	sb         = 250
	se         = 240
	will       = 251
	wont       = 252
	optionEcho = 1
)

// stripTelnet removes telnet commands: IAC and the byte after it, the option
// byte of WILL/WONT/DO/DONT (251-254), and subnegotiations. IAC IAC is a
// literal 255. A WILL or WONT ECHO is passed to echo (if not nil).
func stripTelnet(s string, echo func(cmd byte)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != iac {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch {
		case i >= len(s):
		case s[i] == iac:
			b.WriteByte(iac)
		case s[i] >= will:
			if i+1 < len(s) && s[i+1] == optionEcho && (s[i] == will || s[i] == wont) && echo != nil {
				echo(s[i])
			}
			i++ // the option
		case s[i] == sb:
			for i+1 < len(s) && (s[i] != iac || s[i+1] != se) {
				i++
			}
			i++
		}
	}
	return b.String()
}

// readStdin sends each typed line to typed and closes typed at the end of
// stdin (or on a read error). It returns early once stop is closed.
func readStdin(stdin lineSource, typed chan<- string, stop <-chan struct{}) {
	defer close(typed)
	for {
		line, err := stdin.ReadLine()
		if err != nil {
			return
		}
		select {
		case typed <- line:
		case <-stop:
			return
		}
	}
}

// report says why the connection ended and returns the exit code.
func report(end serverEnd, stderr io.Writer) int {
	switch {
	case end.sawBye:
		return 0 // the server said goodbye: nothing to explain
	case end.err == nil || errors.Is(end.err, io.EOF):
		fmt.Fprintln(stderr, "chat: connection lost: the server closed the connection without a goodbye")
	default:
		fmt.Fprintf(stderr, "chat: connection lost: %v\n", netio.Cause(end.err))
	}
	return 1
}
