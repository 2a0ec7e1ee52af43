package actors

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/actorchat/actorchat/internal/testkit"
)

// Debian's IRC clients against the IRC port, with a telnet user in the same
// rooms: what a person using WeeChat or sic sees, and what the telnet user
// sees of them. The clients are started by the tests; .ci/run installs them,
// and under CI a missing client fails the test instead of skipping it.

// needClient returns the path of an IRC client, or skips (fails under CI).
func needClient(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (apt-get install %s); .ci/run installs it", name, pkg)
		}
		t.Skipf("%s is not installed (apt-get install %s); .ci/run installs it", name, pkg)
	}
	return path
}

// weechat is a headless WeeChat: commands go in through its FIFO, and what
// it shows is read from its log files (flushed at once).
type weechat struct {
	t    *testing.T
	dir  string
	fifo string
}

func startWeeChat(t *testing.T, ircAddr, nick, serverOptions string, channels ...string) *weechat {
	t.Helper()
	path := needClient(t, "weechat-headless", "weechat-headless")
	dir := t.TempDir()
	host, port, _ := strings.Cut(ircAddr, ":")
	cmd := exec.Command(path, "--dir", dir, "--run-command",
		"/set logger.file.flush_delay 0;/set logger.file.time_format %H:%M;/server add t "+host+"/"+port+" -notls -nicks="+nick+
			" -autojoin="+strings.Join(channels, ",")+" "+serverOptions+";/connect t")
	cmd.Env = append(os.Environ(), "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TERM=dumb")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start weechat-headless: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	w := &weechat{t: t, dir: dir}
	testkit.Eventually(t, "WeeChat's FIFO", func() bool {
		matches, _ := filepath.Glob(filepath.Join(dir, "weechat_fifo_*"))
		if len(matches) == 1 {
			w.fifo = matches[0]
		}
		return w.fifo != ""
	})
	return w
}

// command runs a command in a buffer ("irc.t.#dev", "irc.server.t") as if
// typed there.
func (w *weechat) command(buffer, line string) {
	w.t.Helper()
	f, err := os.OpenFile(w.fifo, os.O_WRONLY, 0)
	if err != nil {
		w.t.Fatalf("open WeeChat's FIFO: %v", err)
	}
	defer f.Close()
	if _, err := f.WriteString(buffer + " *" + line + "\n"); err != nil {
		w.t.Fatalf("write to WeeChat's FIFO: %v", err)
	}
}

// log is what WeeChat logged of a buffer so far ("irc.t.#dev").
func (w *weechat) log(buffer string) string {
	b, _ := os.ReadFile(filepath.Join(w.dir, "logs", buffer+".weechatlog"))
	return string(b)
}

// waitLog waits until a buffer's log has a line that holds every one of
// parts (WeeChat separates time, prefix and message with tabs).
func (w *weechat) waitLog(buffer string, parts ...string) {
	w.t.Helper()
	testkit.Eventually(w.t, "WeeChat to show "+strings.Join(parts, " "), func() bool { return hasLineWith(w.log(buffer), parts...) })
}

// hasLineWith reports whether a line of text holds every one of parts.
func hasLineWith(text string, parts ...string) bool {
	for _, line := range strings.Split(text, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// TestRealWeeChat: a person on WeeChat logs into its account with SASL,
// joins two channels where a telnet user is, reads the history on joining,
// reads and writes in both, and quits; the telnet user sees each step.
func TestRealWeeChat(t *testing.T) {
	s, ircAddr := startIRCServer(t, withAccounts(openStoreDir(t, t.TempDir())))
	account := s.named("wee")
	account.send("/register weespassword") // one word: WeeChat's option takes no spaces
	account.expectPrefix("*** wee is registered to you.")
	account.send("/quit")
	account.expect("bye...")
	bob := s.named("bob")
	bob.joinRoom("dev")
	bob.send("said before you came")
	bob.joinRoom("ops")

	w := startWeeChat(t, ircAddr, "wee", "-sasl_mechanism=plain -sasl_username=wee -sasl_password=weespassword", "#dev", "#ops")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("WeeChat's server buffer:\n%s", w.log("irc.server.t"))
		}
	})
	bob.skipUntil("*** wee joined ops")
	w.waitLog("irc.server.t", "SASL authentication successful")
	bob.send("/whois wee")
	bob.expectPrefix("*** wee is in ops and dev")          // the account's nick, logged in; its last channel first
	w.waitLog("irc.t.#dev", "bob", "said before you came") // history (WeeChat asks for server-time: the time is the tag)
	w.waitLog("irc.t.#dev", "wee", "has joined #dev")
	w.waitLog("irc.t.#ops", "Channel #ops: 2 nicks")

	bob.send("hello wee")
	w.waitLog("irc.t.#ops", "bob", "hello wee")
	bob.send("/focus dev")
	bob.expect("*** You are now talking in dev.")
	bob.send("in dev")
	w.waitLog("irc.t.#dev", "bob", "in dev")

	w.command("irc.t.#dev", "/say hi from weechat")
	bob.expect("<wee> hi from weechat")
	w.command("irc.t.#ops", "/me waves")
	bob.expect("[ops] * wee waves")
	w.command("irc.server.t", "/msg bob psst")
	bob.expect("[pm] <wee> psst\a")
	bob.send("/msg wee back at you")
	bob.expect("[pm -> wee] back at you")
	w.waitLog("irc.t.bob", "bob", "back at you")

	w.command("irc.server.t", "/quit see you")
	bob.skipUntil("*** wee left (quit: see you)") // from dev; ops's, marked, may come first
}

// sic is the suckless IRC client: commands on its standard input, what it
// shows on its standard output.
type sic struct {
	t     *testing.T
	stdin io.WriteCloser
	mu    sync.Mutex
	out   bytes.Buffer // guarded by mu
}

func startSic(t *testing.T, ircAddr, nick string) *sic {
	t.Helper()
	path := needClient(t, "sic", "sic")
	host, port, _ := strings.Cut(ircAddr, ":")
	cmd := exec.Command(path, "-h", host, "-p", port, "-n", nick)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sic: %v", err)
	}
	c := &sic{t: t, stdin: stdin}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.mu.Lock()
			c.out.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		<-done
	})
	return c
}

func (c *sic) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		c.t.Fatalf("sic: %v", err)
	}
}

// waitFor waits until sic has shown a line that holds every one of parts.
func (c *sic) waitFor(parts ...string) {
	c.t.Helper()
	testkit.Eventually(c.t, "sic to show "+strings.Join(parts, " "), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return hasLineWith(c.out.String(), parts...)
	})
}

// TestRealSic: sic registers, joins a channel with a telnet user in it,
// and they talk both ways.
func TestRealSic(t *testing.T) {
	s, ircAddr := startIRCServer(t, nil)
	bob := s.named("bob")
	bob.joinRoom("dev")

	c := startSic(t, ircAddr, "sicu")
	c.waitFor("001", "Welcome to the actorchat IRC network sicu")
	c.send(":j #dev")
	bob.expect("*** sicu joined dev")
	c.waitFor("366", "#dev", "End of /NAMES list")
	c.send(":m #dev hello from sic")
	bob.expect("<sicu> hello from sic")
	bob.send("hi sic")
	c.waitFor("#dev", "<bob> hi sic")
	c.send(":QUIT :done")
	bob.expect("*** sicu left (quit: done)")
}
