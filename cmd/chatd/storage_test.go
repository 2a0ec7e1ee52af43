package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actorchat/actorchat/actors"
	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/internal/testkit"
)

// historyLine matches a replayed post: "[history 07:31:05Z] <nick> text".
var historyLine = regexp.MustCompile(`^\[history (?:\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\dZ\] (.*)$`)

// joinDev dials chatd, joins room dev and returns the client, its nick and
// the lines that followed the join notice (the topic and the history).
func joinDev(t *testing.T, addr string) (*testkit.Client, string, []string) {
	t.Helper()
	c := testkit.Dial(t, addr)
	nick := ""
	for {
		l := c.Line()
		if rest, ok := strings.CutPrefix(l, "*** You are guest"); ok {
			nick = "guest" + strings.TrimSuffix(strings.Fields(rest)[0], ".")
		}
		if strings.HasPrefix(l, "*** You are in room lobby") {
			break
		}
	}
	c.Send("/join dev")
	for !strings.HasPrefix(c.Line(), "*** You are in room dev") {
	}
	c.Send("/whois nobody-at-all") // a marker: its answer ends what the join showed
	var lines []string
	for {
		l := c.Line()
		if l == "!!! no such nick: nobody-at-all" {
			return c, nick, lines
		}
		lines = append(lines, l)
	}
}

// historyOf returns the posts in lines, without their times.
func historyOf(lines []string) []string {
	var out []string
	for _, l := range lines {
		if m := historyLine.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

func posts(nick string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("<%s> post %d", nick, i))
	}
	return out
}

// say posts lines post from..to-1 as c, then waits until they have been
// handled (the answer of a later command comes after them).
func say(t *testing.T, c *testkit.Client, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		c.Send(fmt.Sprintf("post %d", i))
	}
	c.Send("/me is done")
	for !strings.HasSuffix(c.Line(), " is done") {
	}
}

// aliceInDev starts chatd with the store that storeArgs name and the given
// flush interval, and has alice join room dev. It returns chatd, its address
// and its arguments (to start it again), and alice.
func aliceInDev(t *testing.T, storeArgs []string, flush string) (*testkit.Process, string, []string, *testkit.Client) {
	t.Helper()
	addr := testkit.FreeAddr(t)
	args := append([]string{"-listen", addr, "-history", "30", "-flood-rate", "0", "-store-flush", flush}, storeArgs...)
	p := testkit.Start(t, chatdBin, nil, args...)
	a, nickA, _ := joinDev(t, addr)
	a.Send("/nick alice")
	a.SkipUntil("*** " + nickA + " is now known as alice")
	return p, addr, args, a
}

// TestProcessHistorySurvivesSIGTERM runs against both stores: post, SIGTERM,
// start again, rejoin: the history and the topic are back.
func TestProcessHistorySurvivesSIGTERM(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { historySurvivesSIGTERM(t, []string{"-data", t.TempDir()}) })
	t.Run("postgres", func(t *testing.T) { historySurvivesSIGTERM(t, []string{"-store", testkit.StartPostgres(t).URL()}) })
}

func historySurvivesSIGTERM(t *testing.T, storeArgs []string) {
	p, addr, args, a := aliceInDev(t, storeArgs, "1h")
	a.Send("/topic kept across restarts")
	a.SkipUntil("*** alice set the topic: kept across restarts")
	// With an hour's flush interval nothing is written before the
	// shutdown: it is the shutdown's flush that keeps them.
	say(t, a, 0, 25)
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(t); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, p.Stderr)
	}

	testkit.Start(t, chatdBin, nil, args...)
	_, _, lines := joinDev(t, addr)
	if len(lines) == 0 || lines[0] != "*** Topic: kept across restarts" {
		t.Fatalf("after the restart the join showed %q", lines)
	}
	want := append(posts("alice", 0, 25), "* alice is done")
	if got := historyOf(lines); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("history after SIGTERM and restart:\n got %q\nwant %q", got, want)
	}
}

func TestProcessHistorySurvivesSIGKILL(t *testing.T) {
	data := t.TempDir()
	p, addr, args, a := aliceInDev(t, []string{"-data", data}, "50ms")
	say(t, a, 0, 20)
	// Wait until the flush interval has passed and the posts are written
	// (read from the database file, as a backup would), then kill.
	start := time.Now()
	testkit.Eventually(t, "the posts written", func() bool { return len(storedPosts(t, data, "dev")) == 21 })
	t.Logf("written %v after they were posted (flush interval 50ms)", time.Since(start))
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.Wait(t)

	testkit.Start(t, chatdBin, nil, args...)
	_, _, lines := joinDev(t, addr)
	want := append(posts("alice", 0, 20), "* alice is done")
	if got := historyOf(lines); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("history after SIGKILL and restart:\n got %q\nwant %q", got, want)
	}
}

// storedPosts reads a room's posts from the sqlite store in data, as
// another process (chatd backup, say) would while chatd runs.
func storedPosts(t *testing.T, data, room string) []string {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.LoadRoom(context.Background(), room, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range r.History {
		out = append(out, p.Text)
	}
	return out
}

func TestProcessBackupWhileRunning(t *testing.T) {
	data := t.TempDir()
	addr := testkit.FreeAddr(t)
	testkit.Start(t, chatdBin, nil, "-listen", addr, "-data", data, "-flood-rate", "0", "-store-flush", "10ms")
	a, nickA, _ := joinDev(t, addr)
	say(t, a, 0, 5)
	testkit.Eventually(t, "the posts written", func() bool { return len(storedPosts(t, data, "dev")) == 6 })

	out := filepath.Join(t.TempDir(), "copy", store.DatabaseFile)
	if err := os.Mkdir(filepath.Dir(out), 0o700); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runChatd(t, nil, "backup", "-data", data, "-o", out)
	if code != exitOK {
		t.Fatalf("backup: exit %d, %s%s", code, stdout, stderr)
	}
	if got := storedPosts(t, filepath.Dir(out), "dev"); len(got) != 6 || got[0] != "post 0" {
		t.Fatalf("the backup holds %q", got)
	}
	// The chat goes on while and after the copy is taken.
	a.Send("after the backup")
	a.Send("/me checks")
	a.SkipUntil("* " + nickA + " checks")
}

func TestProcessStoreErrors(t *testing.T) {
	// A schema newer than this chatd knows: one line, exit 1.
	data := t.TempDir()
	db, err := store.OpenSQLite(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	raw, err := sql.Open("sqlite", filepath.Join(data, store.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO chatd_schema (version, applied_at) VALUES (?, 0)`, store.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	_ = raw.Close()
	code, _, stderr := runChatd(t, nil, "-listen", "127.0.0.1:0", "-data", data)
	want := fmt.Sprintf("the database's schema is newer than this chatd knows: it is version %d, this chatd knows up to %d", store.SchemaVersion()+1, store.SchemaVersion())
	if code != exitRuntime || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, want) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}

	// A data directory that cannot be made.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runChatd(t, nil, "-listen", "127.0.0.1:0", "-data", filepath.Join(file, "sub"))
	if code != exitRuntime || !strings.HasPrefix(stderr, "chatd: store in ") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}

	// A bad -store, and a password never shown.
	code, _, stderr = runChatd(t, nil, "-store", "mysql://root:secret@db/chat")
	if code != exitUsage || strings.Contains(stderr, "secret") || !strings.Contains(stderr, "-store must be sqlite, none or a postgres:// URL") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runChatd(t, nil, "-listen", "127.0.0.1:0", "-store", "postgres://chatd:secret@127.0.0.1:1/chat?connect_timeout=2")
	if code != exitRuntime || strings.Contains(stderr, "secret") || !strings.Contains(stderr, "chatd: store postgres://chatd:xxxxx@127.0.0.1:1/chat") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestProcessMemoryOnly(t *testing.T) {
	data := t.TempDir()
	addr := testkit.FreeAddr(t)
	p := testkit.Start(t, chatdBin, nil, "-listen", addr, "-data", data, "-store", "none")
	a, _, _ := joinDev(t, addr)
	say(t, a, 0, 2)
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	p.Wait(t)
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Fatalf("-store none wrote %v", entries)
	}
	if !strings.Contains(p.Stderr.String(), "no store: memory only") {
		t.Fatalf("no warning that nothing is kept:\n%s", p.Stderr)
	}
}

// TestProcessPostgresDownMidRun runs chatd on a real PostgreSQL, stops the
// database while users chat, and starts it again.
func TestProcessPostgresDownMidRun(t *testing.T) {
	pg := testkit.StartPostgres(t)
	addr, admin := testkit.FreeAddr(t), testkit.FreeAddr(t)
	testkit.Start(t, chatdBin, nil, "-listen", addr, "-admin", admin, "-store", pg.URL(), "-flood-rate", "0",
		"-store-flush", "20ms", "-store-timeout", "1s")
	a, nickA, _ := joinDev(t, addr)
	b, nickB, _ := joinDev(t, addr)
	a.SkipUntil("*** " + nickB + " joined dev")
	health := func() string {
		code, body := get(t, "http://"+admin+"/healthz")
		return fmt.Sprintf("%d %s", code, strings.TrimSpace(body))
	}
	a.Send("before")
	b.SkipUntil("<" + nickA + "> before")
	if h := health(); h != "200 ok" {
		t.Fatalf("healthz %q", h)
	}

	pg.Stop()
	// Chat goes on without its store.
	for i := range 5 {
		a.Send(fmt.Sprintf("while down %d", i))
	}
	for i := range 5 {
		if got, want := b.Line(), fmt.Sprintf("<%s> while down %d", nickA, i); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	testkit.Eventually(t, "healthz to say degraded", func() bool { return strings.HasPrefix(health(), "200 degraded: the store is down") })
	if code, body := get(t, "http://"+admin+"/readyz"); code != http.StatusOK {
		t.Fatalf("readyz while the store is down: %d %s", code, body)
	}

	pg.Start()
	testkit.Eventually(t, "healthz ok again", func() bool { return health() == "200 ok" })
	db, err := store.OpenPostgres(context.Background(), pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.LoadRoom(context.Background(), "dev", 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range r.History {
		got = append(got, p.Text)
	}
	want := []string{"before", "while down 0", "while down 1", "while down 2", "while down 3", "while down 4"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("stored %q, want %q", got, want)
	}
	metrics := scrape(t, "http://"+admin+"/metrics")
	if metrics["chatd_store_errors_total"] < 1 || metrics["chatd_store_up"] != 1 || metrics["chatd_store_dropped_total"] != 0 {
		t.Fatalf("store metrics: errors %v up %v dropped %v", metrics["chatd_store_errors_total"], metrics["chatd_store_up"], metrics["chatd_store_dropped_total"])
	}
}

// TestProcessShutdownWithStoreDown: SIGTERM while PostgreSQL is down still
// ends in a clean shutdown within the timeout; what could not be written is
// logged as lost.
func TestProcessShutdownWithStoreDown(t *testing.T) {
	pg := testkit.StartPostgres(t)
	addr := testkit.FreeAddr(t)
	p := testkit.Start(t, chatdBin, nil, "-listen", addr, "-store", pg.URL(), "-flood-rate", "0",
		"-store-flush", "20ms", "-store-timeout", "500ms", "-shutdown-timeout", "2s")
	a, nickA, _ := joinDev(t, addr)
	pg.Stop()
	a.Send("lost from the history, not from the chat")
	a.Send("/me is still here")
	a.SkipUntil("* " + nickA + " is still here")
	start := time.Now()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(t); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, p.Stderr)
	}
	if took := time.Since(start); took > 2*time.Second+actors.ShutdownMargin {
		t.Errorf("shutdown took %v, over its timeout", took)
	}
	if !strings.Contains(p.Stderr.String(), "not written at shutdown") || !strings.Contains(p.Stderr.String(), "records=2") {
		t.Errorf("the loss is not logged:\n%s", p.Stderr)
	}
}

// TestProcessAdminsReload: the operators come from the -admins file, with
// the hash chatd oper hash prints; an operator listed without one gets no
// rights and the log says so, at start and on SIGHUP, which rereads the
// file.
func TestProcessAdminsReload(t *testing.T) {
	hashCmd := exec.Command(chatdBin, "oper", "hash", "root")
	hashCmd.Stdin = strings.NewReader("root's long password\n")
	line, err := hashCmd.Output()
	if err != nil || !strings.HasPrefix(string(line), "root $argon2id$") {
		t.Fatalf("chatd oper hash: %q %v", line, err)
	}
	admins := filepath.Join(t.TempDir(), "admins")
	if err := os.WriteFile(admins, append([]byte("# operators\nnohash  # a name alone gives nothing\n"), line...), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testkit.FreeAddr(t)
	p := testkit.Start(t, chatdBin, nil, "-listen", addr, "-admins", admins, "-flood-rate", "0")
	testkit.Eventually(t, "the warning about nohash", func() bool {
		return strings.Contains(p.Stderr.String(), "operator without a password hash gets no rights") && strings.Contains(p.Stderr.String(), "operator=nohash")
	})
	root, guest, _ := joinDev(t, addr)
	root.Send("/nick nohash")
	root.SkipUntil("*** " + guest + " is now known as nohash")
	root.Send("/oper nohash anything at all")
	root.SkipUntil("!!! wrong operator name or password")
	root.Send("/oper root root's long password")
	root.SkipUntil("*** You are a server operator (root): /help lists what you may do.")
	root.Send("/wall hello all")
	root.SkipUntil("*** Sent to 1 online.")

	if err := os.WriteFile(admins, []byte("someone-else\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the operators reloaded", func() bool {
		return strings.Contains(p.Stderr.String(), "reloaded the operators") && strings.Contains(p.Stderr.String(), "operator=someone-else")
	})
	root.Send("/wall again")
	root.SkipUntil("!!! only the server's operators may do that; /oper NAME first")
}

// TestProcessKlineCommand: whatever k-lines the store holds (here one from
// before they were bounded, 0.0.0.0/0), loopback still gets in, and chatd
// kline lists and lifts them with chatd stopped.
func TestProcessKlineCommand(t *testing.T) {
	dir := t.TempDir()
	db, err := store.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	everyone := store.Entry{Kind: "kline", Subject: "0.0.0.0/0", Reason: "a typo", By: "root", At: time.Now()}
	if err := db.Write(context.Background(), store.Batch{Entries: []store.EntryChange{{Entry: everyone}}}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	addr := testkit.FreeAddr(t)
	p := testkit.Start(t, chatdBin, []string{"CHATD_DATA=" + dir}, "-listen", addr)
	c := testkit.Dial(t, addr)
	c.SkipUntil("*** Welcome to actorchat " + version + ", a chat server built on actors.")
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(t); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, p.Stderr)
	}

	run := func(args ...string) (string, string, int) {
		t.Helper()
		code, stdout, stderr := runChatd(t, nil, append([]string{"kline"}, args...)...)
		return stdout, stderr, code
	}
	if out, _, code := run("list", "-data", dir); code != exitOK || out != "0.0.0.0/0 by root: a typo\n" {
		t.Fatalf("list: %q, exit %d", out, code)
	}
	if _, errs, code := run("remove", "-data", dir, "10.0.0.0/8"); code != exitRuntime || !strings.Contains(errs, "10.0.0.0/8 is not k-lined") {
		t.Fatalf("remove of what is not k-lined: %q, exit %d", errs, code)
	}
	if _, errs, code := run("remove", "-data", dir, "not-an-address"); code != exitUsage || !strings.Contains(errs, "is not an address or a CIDR range") {
		t.Fatalf("remove of a typo: %q, exit %d", errs, code)
	}
	if out, _, code := run("remove", "-data", dir, "0.0.0.0/0"); code != exitOK || !strings.Contains(out, "lifted the k-line of 0.0.0.0/0") {
		t.Fatalf("remove: %q, exit %d", out, code)
	}
	if out, errs, code := run("list", "-data", dir); code != exitOK || out != "" || !strings.Contains(errs, "0 k-lined") {
		t.Fatalf("list after: %q %q, exit %d", out, errs, code)
	}
}
