package actors

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/internal/testkit"
)

// openStoreDir opens the embedded store in dir; it is closed when the test
// ends.
func openStoreDir(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// historyText returns a history line without its time: "<nick> text".
func historyText(t *testing.T, line string) string {
	t.Helper()
	m := historyRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("got %q, want a history line", line)
	}
	return m[1]
}

func TestHistoryAndTopicSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	withStore := func(db *store.DB) func(*Config) {
		return func(c *Config) { c.Store = db; c.HistoryLen = 3 }
	}
	db := openStoreDir(t, dir)
	s := startUnmanagedServer(t, withStore(db))
	a, nickA := s.dial()
	a.send("/join dev")
	a.expectPrefix("*** You are in room dev with nobody else")
	a.send("/topic persistent things")
	a.expect("*** " + nickA + " set the topic: persistent things")
	for i := range 4 {
		a.send(fmt.Sprintf("before restart %d", i))
	}
	a.send("/me waves")
	a.expect("* " + nickA + " waves")
	if _, err := s.shutdown(); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	// A new process, as it were: a new server on the same data.
	db = openStoreDir(t, dir)
	s = startServer(t, withStore(db))
	b, _ := s.dial()
	b.send("/join dev")
	b.expectPrefix("*** You are in room dev with nobody else")
	b.expect("*** Topic: persistent things")
	var got []string
	for range 3 {
		got = append(got, historyText(t, b.line()))
	}
	want := []string{"<" + nickA + "> before restart 2", "<" + nickA + "> before restart 3", "* " + nickA + " waves"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("history after restart: %q, want %q", got, want)
	}
	b.send("/topic")
	b.expectPrefix("*** Topic: persistent things (set by " + nickA + ", ")

	b.send("/history 5")
	got = nil
	for range 5 {
		got = append(got, historyText(t, b.line()))
	}
	if got[0] != "<"+nickA+"> before restart 0" || got[4] != "* "+nickA+" waves" {
		t.Fatalf("/history 5: %q", got)
	}
	b.send("/history 0")
	b.expect("!!! usage: /history [N], N from 1 to 100")
	b.send("/join empty")
	b.expectPrefix("*** You are in room empty with nobody else")
	b.send("/history")
	b.expect("*** No history in empty yet.")
}

func TestRoomReopensWithItsHistory(t *testing.T) {
	db := openStoreDir(t, t.TempDir())
	s := startServer(t, func(c *Config) { c.Store = db })
	a, nickA := s.dial()
	a.send("/join dev")
	a.expectPrefix("*** You are in room dev")
	a.send("/topic kept")
	a.expect("*** " + nickA + " set the topic: kept")
	a.send("said before the room closed")
	a.send("/leave") // dev is empty, and closes
	a.expectPrefix("*** You are in room lobby")
	testkit.Eventually(t, "room dev closed", func() bool {
		for _, id := range roomActors(s) {
			if strings.HasPrefix(id, "server/rooms/dev-") {
				return false
			}
		}
		return true
	})
	a.send("/join dev")
	a.expectPrefix("*** You are in room dev with nobody else")
	a.expect("*** Topic: kept")
	if got := historyText(t, a.line()); got != "<"+nickA+"> said before the room closed" {
		t.Fatalf("history of the reopened room: %q", got)
	}
}

func TestHistoryWithoutStore(t *testing.T) {
	s := startServer(t, nil)
	a, nickA := s.dial()
	for i := range 30 {
		a.send(fmt.Sprintf("line %d", i))
	}
	a.send("/history 25")
	for i := 5; i < 30; i++ {
		if got, want := historyText(t, a.line()), fmt.Sprintf("<%s> line %d", nickA, i); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	a.send("/history")
	for i := 10; i < 30; i++ { // HistoryLen, 20
		if got, want := historyText(t, a.line()), fmt.Sprintf("<%s> line %d", nickA, i); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	a.send("/help history")
	a.expectPrefix("*** /history [N]")
}
