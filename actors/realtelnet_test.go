package actors

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
)

// telnetUser is Debian's telnet client (inetutils) run by a person at a
// terminal: a pseudo-terminal whose output the test reads.
type telnetUser struct {
	t    *testing.T
	tty  *os.File
	cmd  *exec.Cmd
	done chan struct{} // closed when the pty reader returns

	mu  sync.Mutex
	out bytes.Buffer // everything the terminal showed; guarded by mu
}

// startTelnet runs `telnet HOST PORT` under a pseudo-terminal, or skips the
// test when the client is not installed.
func startTelnet(t *testing.T, addr string) *telnetUser {
	t.Helper()
	path, err := exec.LookPath("telnet")
	if err != nil {
		t.Skip("Debian's telnet client is not installed (apt-get install telnet); .ci/run installs it")
	}
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(path, host, port)
	cmd.Env = append(os.Environ(), "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TERM=dumb")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatalf("start telnet: %v", err)
	}
	u := &telnetUser{t: t, tty: tty, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(u.done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			u.mu.Lock()
			u.out.Write(buf[:n])
			u.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = tty.Close()
		<-u.done
	})
	return u
}

// screen returns everything the terminal has shown so far.
func (u *telnetUser) screen() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.out.String()
}

// waitFor polls the terminal until it has shown want.
func (u *telnetUser) waitFor(want string) {
	u.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !strings.Contains(u.screen(), want) {
		if time.Now().After(deadline) {
			u.t.Fatalf("the telnet user never saw %q; the terminal shows:\n%s", want, u.screen())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// typeText types into the terminal, as a person would.
func (u *telnetUser) typeText(s string) {
	u.t.Helper()
	if _, err := u.tty.WriteString(s); err != nil {
		u.t.Fatalf("type %q: %v", s, err)
	}
}

// TestRealTelnetUTF8 drives Debian's telnet as a user would: text in several
// scripts (whose UTF-8 holds the bytes 0x83 and 0x9C that telnet, outside
// binary mode, turns into IAC IP and IAC BRK) reaches the others intact, and
// Ctrl-C still ends the session.
func TestRealTelnetUTF8(t *testing.T) {
	s := startServer(t, nil)
	watcher, _ := s.dial()
	u := startTelnet(t, s.Addr().String())
	u.waitFor("You are in room lobby")
	line := watcher.expectPrefix("*** guest")
	nick := strings.TrimSuffix(strings.TrimPrefix(line, "*** "), " joined lobby")

	texts := []string{
		"✓ done",            // U+2713: E2 9C 93
		"у меня всё хорошо", // Cyrillic; у is D1 83
		"ăîșț în București", // Romanian; ă is C4 83
		"本日は晴天なり",           // CJK; 本 is E6 9C AC
		"👍🏽 👩🏾‍💻 ünïcödé Ελληνικά ✔️", // emoji with skin tones, a ZWJ sequence, a variation selector
	}
	for _, text := range texts {
		u.typeText(text + "\r")
		watcher.expect("<" + nick + "> " + text)
	}
	u.typeText("\x03") // Ctrl-C
	u.waitFor("bye...")
	watcher.expect("*** " + nick + " left (quit)")
	if strings.Contains(u.screen(), "\xff") {
		t.Errorf("telnet showed a raw telnet byte:\n%q", u.screen())
	}
}

// TestRealTelnetPasswordNotShown: a person registers and identifies with
// Debian's telnet, typing the password at the prompt; the terminal never
// shows it, and shows what is typed again afterwards.
func TestRealTelnetPasswordNotShown(t *testing.T) {
	s := startServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	u := startTelnet(t, s.Addr().String())
	u.waitFor("You are in room lobby")
	u.typeText("/nick tess\r")
	u.waitFor("is now known as tess")
	u.typeText("/register\r")
	u.waitFor("Choose a password for tess, 8 to 256 characters (not shown as you type; an empty line cancels):")
	u.typeText("swordfish-42\r")
	u.waitFor("Type it again (not shown as you type")
	u.typeText("swordfish-42\r")
	u.waitFor("tess is registered to you.")
	u.typeText("/identify\r")
	u.waitFor("Password for tess (not shown as you type")
	u.typeText("swordfish-42\r")
	u.waitFor("You are identified as tess already.")
	// Echo is back: what the user types shows again.
	u.typeText("visible again\r")
	u.waitFor("visible again")
	if strings.Contains(u.screen(), "swordfish") {
		t.Fatalf("the terminal showed the password:\n%s", u.screen())
	}
}

// screenRows draws what a terminal was sent on a screen, as a terminal
// does: a printable character goes where the cursor is and moves it right,
// CR moves it to the first column, LF one row down in the same column (the
// terminal's own output processing has turned LF into CR LF already, or
// has not, which is what this shows), BS one column left.
func screenRows(out string) []string {
	var rows [][]rune
	row, col := 0, 0
	put := func(r rune) {
		for len(rows) <= row {
			rows = append(rows, nil)
		}
		for len(rows[row]) <= col {
			rows[row] = append(rows[row], ' ')
		}
		rows[row][col] = r
		col++
	}
	for _, r := range out {
		switch {
		case r == '\r':
			col = 0
		case r == '\n':
			row++
		case r == '\b':
			col = max(col-1, 0)
		case r < ' ' || r == 0x7f || r == utf8.RuneError:
		default:
			put(r)
		}
	}
	out2 := make([]string, len(rows))
	for i, r := range rows {
		out2[i] = strings.TrimRight(string(r), " ")
	}
	return out2
}

// TestRealTelnetScreen: on the screen of a person using Debian's telnet,
// what others say starts at the left edge after the person typed a line
// (no staircase: telnet keeps its terminal's output processing), and UTF-8
// shows intact both ways.
func TestRealTelnetScreen(t *testing.T) {
	s := startServer(t, nil)
	watcher, watcherNick := s.dial()
	u := startTelnet(t, s.Addr().String())
	u.waitFor("You are in room lobby")
	nick := strings.TrimSuffix(strings.TrimPrefix(watcher.expectPrefix("*** guest"), "*** "), " joined lobby")
	u.typeText("hello ✓ у\r")
	watcher.expect("<" + nick + "> hello ✓ у")
	watcher.send("hi there ✓ у 本")
	u.waitFor("hi there ✓ у 本")
	u.typeText("second\r")
	watcher.expect("<" + nick + "> second")
	watcher.send("and again")
	u.waitFor("and again")
	rows := screenRows(u.screen())
	want := []string{"hello ✓ у", "<" + watcherNick + "> hi there ✓ у 本", "second", "<" + watcherNick + "> and again"}
	i := slices.Index(rows, want[0])
	if i < 0 || len(rows) < i+len(want) || !slices.Equal(rows[i:i+len(want)], want) {
		t.Fatalf("the screen shows\n%s\nwant rows\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}
