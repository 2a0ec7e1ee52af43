package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/actorchat/actorchat/internal/testkit"
)

// backends runs a test against the embedded store and against PostgreSQL
// (skipped without its binaries, except under CI).
func backends(t *testing.T, test func(t *testing.T, open func() *DB)) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		test(t, func() *DB {
			db, err := OpenSQLite(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) {
		pg := testkit.StartPostgres(t)
		test(t, func() *DB {
			db, err := OpenPostgres(context.Background(), pg.URL())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		})
	})
}

var t0 = time.UnixMilli(1_790_000_000_000)

func post(room, nick, text string, i int) Post {
	return Post{Room: room, Nick: nick, Text: text, At: t0.Add(time.Duration(i) * time.Second)}
}

func TestWriteAndLoad(t *testing.T) {
	backends(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		db := open()
		var b Batch
		for i := range 450 { // more than one INSERT's worth
			b.Posts = append(b.Posts, post("lobby", "alice", fmt.Sprintf("line %d", i), i))
		}
		b.Posts = append(b.Posts, Post{Room: "go", Nick: "bob", Text: "waves 👋 ünïcode", Action: true, At: t0})
		b.Topics = append(b.Topics, Topic{Room: "go", Text: "gophers", Nick: "bob", At: t0},
			Topic{Room: "go", Text: "gophers & friends", Nick: "carol", At: t0.Add(time.Minute)})
		if err := db.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		r, err := db.LoadRoom(ctx, "lobby", 20)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.History) != 20 || r.History[0].Text != "line 430" || r.History[19].Text != "line 449" {
			t.Fatalf("lobby history: %d posts, first %+v", len(r.History), r.History[0])
		}
		if r.Topic.Text != "" {
			t.Fatalf("lobby topic %+v", r.Topic)
		}
		if got := r.History[19]; got.Nick != "alice" || !got.At.Equal(t0.Add(449*time.Second)) || got.Action || got.Room != "lobby" {
			t.Fatalf("last lobby post %+v", got)
		}
		r, err = db.LoadRoom(ctx, "go", 20)
		if err != nil {
			t.Fatal(err)
		}
		want := Topic{Room: "go", Text: "gophers & friends", Nick: "carol", At: t0.Add(time.Minute)}
		if len(r.History) != 1 || !r.History[0].Action || r.History[0].Text != "waves 👋 ünïcode" || r.Topic != want {
			t.Fatalf("go: %+v", r)
		}
		r, err = db.LoadRoom(ctx, "nowhere", 20)
		if err != nil || len(r.History) != 0 || r.Topic.Text != "" {
			t.Fatalf("empty room: %+v %v", r, err)
		}
	})
}

func TestSurvivesReopen(t *testing.T) {
	backends(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		db := open()
		if err := db.Write(ctx, Batch{Posts: []Post{post("r", "a", "kept", 1)}, Topics: []Topic{{Room: "r", Text: "t", Nick: "a", At: t0}}}); err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
		db = open() // migrations run again and change nothing
		r, err := db.LoadRoom(ctx, "r", 10)
		if err != nil || len(r.History) != 1 || r.History[0].Text != "kept" || r.Topic.Text != "t" {
			t.Fatalf("after reopen: %+v %v", r, err)
		}
	})
}

func TestQueriesTakeParameters(t *testing.T) {
	backends(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		db := open()
		evil := `x'); DROP TABLE posts; --`
		if err := db.Write(ctx, Batch{Posts: []Post{post(evil, evil, evil, 1)}, Topics: []Topic{{Room: evil, Text: evil, Nick: evil, At: t0}}}); err != nil {
			t.Fatal(err)
		}
		r, err := db.LoadRoom(ctx, evil, 10)
		if err != nil || len(r.History) != 1 || r.History[0].Text != evil || r.Topic.Text != evil {
			t.Fatalf("%+v %v", r, err)
		}
	})
}

func TestPrune(t *testing.T) {
	backends(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		db := open()
		var b Batch
		for i := range 10 {
			b.Posts = append(b.Posts, post("a", "n", fmt.Sprint(i), i*60)) // one a minute
			b.Posts = append(b.Posts, post("b", "n", fmt.Sprint(i), i*60))
		}
		b.Posts = append(b.Posts, post("c", "n", "only", 9*60))
		if err := db.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(9 * time.Minute)
		n, err := db.Prune(ctx, Retention{MaxAge: 5*time.Minute + time.Second}, now)
		if err != nil || n != 8 { // posts 0-3 of a and b
			t.Fatalf("by age: deleted %d, %v", n, err)
		}
		n, err = db.Prune(ctx, Retention{PerRoom: 2}, now)
		if err != nil || n != 8 { // 6 of a and b each remain; 4 each go
			t.Fatalf("by count: deleted %d, %v", n, err)
		}
		for room, want := range map[string][]string{"a": {"8", "9"}, "b": {"8", "9"}, "c": {"only"}} {
			r, err := db.LoadRoom(ctx, room, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range r.History {
				got = append(got, p.Text)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("room %s keeps %v, want %v", room, got, want)
			}
		}
		if n, err := db.Prune(ctx, Retention{}, now); err != nil || n != 0 {
			t.Fatalf("keep all: %d %v", n, err)
		}
	})
}

// TestPruneOrphansAndExpired: the topics of rooms with nothing else left
// go with the retention's age, and expired bans and k-lines go at once.
func TestPruneOrphansAndExpired(t *testing.T) {
	backends(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		db := open()
		b := Batch{
			Posts: []Post{post("talk", "n", "recent", 0)},
			Topics: []Topic{{Room: "talk", Text: "kept: the room has posts", At: t0.Add(-time.Hour)},
				{Room: "ruled", Text: "kept: the room has a ban", At: t0.Add(-time.Hour)},
				{Room: "fresh", Text: "kept: set within the age", At: t0},
				{Room: "gone", Text: "pruned", At: t0.Add(-time.Hour)}},
			Entries: []EntryChange{
				{Entry: Entry{Room: "ruled", Kind: "ban", Subject: "address:10.0.0.1/32", At: t0}},
				{Entry: Entry{Room: "ruled", Kind: "ban", Subject: "address:10.0.0.2/32", At: t0, Expires: t0.Add(-time.Second)}},
				{Entry: Entry{Room: "", Kind: "kline", Subject: "192.0.2.0/24", At: t0, Expires: t0.Add(-time.Second)}},
			},
		}
		if err := db.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		n, err := db.Prune(ctx, Retention{MaxAge: 30 * time.Minute}, t0)
		if err != nil || n != 3 {
			t.Fatalf("deleted %d, %v; want the topic of gone, a ban and a k-line", n, err)
		}
		for room, want := range map[string]string{"talk": "kept: the room has posts", "ruled": "kept: the room has a ban", "fresh": "kept: set within the age", "gone": ""} {
			if r, err := db.LoadRoom(ctx, room, 1); err != nil || r.Topic.Text != want {
				t.Errorf("%s: topic %q %v, want %q", room, r.Topic.Text, err, want)
			}
		}
		var entries int
		if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM room_entries`).Scan(&entries); err != nil || entries != 1 {
			t.Fatalf("%d entries left (%v), want 1", entries, err)
		}
	})
}

func TestNewerSchemaRefused(t *testing.T) {
	backends(t, func(t *testing.T, open func() *DB) {
		db := open()
		if _, err := db.db.Exec(`INSERT INTO chatd_schema (version, applied_at) VALUES ($1, 0)`, SchemaVersion()+1); err != nil {
			t.Fatal(err)
		}
		err := db.migrate(context.Background())
		if !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("got %v, want ErrSchemaTooNew", err)
		}
		t.Log(err)
	})
}

func TestSQLiteFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "chatd")
	db, err := OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Write(context.Background(), Batch{Posts: []Post{post("r", "a", "x", 1)}}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, DatabaseFile): 0o600, filepath.Join(dir, DatabaseFile+"-wal"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	db, err := OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Write(ctx, Batch{Posts: []Post{post("r", "a", "backed up", 1)}}); err != nil {
		t.Fatal(err)
	}
	// A backup reads as found, without the schema steps of a writer.
	ro, err := OpenSQLiteReadOnly(ctx, filepath.Dir(db.path))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Write(ctx, Batch{Posts: []Post{post("r", "a", "x", 2)}}); err == nil {
		t.Fatal("a read-only store took a write")
	}
	if _, err := OpenSQLiteReadOnly(ctx, t.TempDir()); err == nil {
		t.Fatal("opened a store that is not there")
	}
	db = ro
	out := filepath.Join(t.TempDir(), "copy")
	if err := db.Backup(ctx, filepath.Join(out, DatabaseFile)); err == nil {
		t.Fatal("a backup into a missing directory succeeded")
	}
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, filepath.Join(out, DatabaseFile)); err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, filepath.Join(out, DatabaseFile)); err == nil {
		t.Fatal("a backup over an existing file succeeded")
	}
	if fi, err := os.Stat(filepath.Join(out, DatabaseFile)); err != nil || fi.Mode() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	copy, err := OpenSQLite(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer copy.Close()
	if r, err := copy.LoadRoom(ctx, "r", 5); err != nil || len(r.History) != 1 || r.History[0].Text != "backed up" {
		t.Fatalf("the copy holds %+v, %v", r, err)
	}
}

func TestAccounts(t *testing.T) {
	backends(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		db := open()
		a, err := db.CreateAccount(ctx, Account{Name: "alice", Nick: "Alice", Hash: "$argon2id$x", Created: t0})
		if err != nil || a.ID == "" || !a.LastSeen.Equal(t0) {
			t.Fatalf("create: %+v %v", a, err)
		}
		if _, err := db.CreateAccount(ctx, Account{Name: "alice", Nick: "ALICE", Hash: "h2", Created: t0}); !errors.Is(err, ErrAccountExists) {
			t.Fatalf("second create: %v", err)
		}
		got, err := db.Account(ctx, "alice")
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("got %+v %v, want %+v", got, err, a)
		}
		if _, err := db.Account(ctx, "bob"); !errors.Is(err, ErrNoAccount) {
			t.Fatalf("missing account: %v", err)
		}
		if err := db.SetAccountHash(ctx, "alice", "new"); err != nil {
			t.Fatal(err)
		}
		if err := db.TouchAccount(ctx, "alice", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Account(ctx, "alice"); got.Hash != "new" || !got.LastSeen.Equal(t0.Add(time.Hour)) {
			t.Fatalf("after changes %+v", got)
		}
		if err := db.SetAccountHash(ctx, "bob", "x"); !errors.Is(err, ErrNoAccount) {
			t.Fatal(err)
		}
		bob, err := db.CreateAccount(ctx, Account{Name: "bob", Nick: "bob", Hash: "h", Created: t0})
		if err != nil {
			t.Fatal(err)
		}
		if all, err := db.Accounts(ctx); err != nil || fmt.Sprint(all) != fmt.Sprint([]AccountName{{"alice", a.ID}, {"bob", bob.ID}}) {
			t.Fatalf("accounts %v %v", all, err)
		}
		if gone, err := db.DeleteAccount(ctx, "alice"); err != nil || gone.ID != a.ID {
			t.Fatalf("delete: %+v %v", gone, err)
		}
		if _, err := db.DeleteAccount(ctx, "alice"); !errors.Is(err, ErrNoAccount) {
			t.Fatal(err)
		}
		// Registered again, the name is a new account: another id.
		again, err := db.CreateAccount(ctx, Account{Name: "alice", Nick: "alice", Hash: "h", Created: t0})
		if err != nil || again.ID == a.ID {
			t.Fatalf("alice again: %+v %v (the first was %s)", again, err, a.ID)
		}
	})
}

// TestAccountRooms: an account keeps the rooms its user was in, in order,
// and whether they are joined again at identify.
func TestAccountRooms(t *testing.T) {
	backends(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		db := open()
		a, err := db.CreateAccount(ctx, Account{Name: "alice", Nick: "alice", Hash: "h", Created: t0})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Account(ctx, "alice"); got.Rooms != nil || !got.Rejoin {
			t.Fatalf("a new account: rooms %q, rejoin %v; want none, on", got.Rooms, got.Rejoin)
		}
		if err := db.SetAccountRooms(ctx, a.ID, []string{"ops", "dev", "lobby"}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetAccountRejoin(ctx, a.ID, false); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Account(ctx, "alice"); !slices.Equal(got.Rooms, []string{"ops", "dev", "lobby"}) || got.Rejoin {
			t.Fatalf("rooms %q, rejoin %v; want ops, dev, lobby, off", got.Rooms, got.Rejoin)
		}
		if err := db.SetAccountRooms(ctx, a.ID, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Account(ctx, "alice"); got.Rooms != nil {
			t.Fatalf("rooms %q after none", got.Rooms)
		}
		if err := db.SetAccountRooms(ctx, a.ID, []string{"a,b"}); err == nil {
			t.Fatal("a room name with a comma was stored")
		}
		if err := db.SetAccountRooms(ctx, "a000000000000000", []string{"dev"}); !errors.Is(err, ErrNoAccount) {
			t.Fatalf("rooms of no account: %v", err)
		}
		if err := db.SetAccountRejoin(ctx, "a000000000000000", true); !errors.Is(err, ErrNoAccount) {
			t.Fatalf("rejoin of no account: %v", err)
		}
	})
}

// TestAccountRightsGoWithTheAccount: an account's ownership, op and bans
// name its id, and go when it does; a new account of the same name holds
// none of them.
func TestAccountRightsGoWithTheAccount(t *testing.T) {
	backends(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		db := open()
		bob, err := db.CreateAccount(ctx, Account{Name: "bob", Nick: "bob", Hash: "h", Created: t0})
		if err != nil {
			t.Fatal(err)
		}
		carol, _ := db.CreateAccount(ctx, Account{Name: "carol", Nick: "carol", Hash: "h", Created: t0})
		entries := []EntryChange{
			{Entry: Entry{Room: "dev", Kind: "op", Subject: bob.ID, Label: "bob", By: "carol", At: t0}},
			{Entry: Entry{Room: "ops", Kind: "ban", Subject: "account:" + bob.ID, Label: "bob", By: "carol", At: t0}},
			{Entry: Entry{Room: "dev", Kind: "op", Subject: carol.ID, Label: "carol", By: "bob", At: t0}},
		}
		if err := db.Write(ctx, Batch{Entries: entries}); err != nil {
			t.Fatal(err)
		}
		if _, took, err := db.ClaimRoom(ctx, Entry{Room: "bobs", Subject: bob.ID, Label: "bob", By: "bob", At: t0}); err != nil || !took {
			t.Fatalf("claim: %v %v", took, err)
		}
		if _, err := db.DeleteAccount(ctx, "bob"); err != nil {
			t.Fatal(err)
		}
		for room, want := range map[string]string{"dev": "[op " + carol.ID + "]", "ops": "[]", "bobs": "[]"} {
			got, err := db.Entries(ctx, room, t0)
			var kinds []string
			for _, e := range got {
				kinds = append(kinds, e.Kind+" "+e.Subject)
			}
			if err != nil || fmt.Sprint(kinds) != want {
				t.Errorf("%s: entries %v %v, want %s", room, kinds, err, want)
			}
		}
	})
}

func TestClaimRoomHasOneOwner(t *testing.T) {
	backends(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		db := open()
		first := Entry{Room: "dev", Subject: "a1", Label: "alice", By: "alice", At: t0}
		if owner, took, err := db.ClaimRoom(ctx, first); err != nil || !took || owner.Subject != "a1" {
			t.Fatalf("first claim: %+v %v %v", owner, took, err)
		}
		if owner, took, err := db.ClaimRoom(ctx, Entry{Room: "dev", Subject: "m1", Label: "mallory", By: "mallory", At: t0.Add(time.Second)}); err != nil || took || owner.Label != "alice" {
			t.Fatalf("second claim: %+v %v %v", owner, took, err)
		}
		// An owner entry in a batch (a queued change) never makes a second
		// owner either, nor fails the batch.
		second := Entry{Room: "dev", Kind: KindOwner, Subject: "m1", Label: "mallory", At: t0}
		if err := db.Write(ctx, Batch{Entries: []EntryChange{{Entry: second}}}); err != nil {
			t.Fatal(err)
		}
		got, err := db.Entries(ctx, "dev", t0)
		if err != nil || len(got) != 1 || got[0].Subject != "a1" {
			t.Fatalf("entries %+v %v", got, err)
		}
	})
}

func TestExpireAccounts(t *testing.T) {
	backends(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		db := open()
		for i, name := range []string{"old", "older", "fresh"} {
			if _, err := db.CreateAccount(ctx, Account{Name: name, Nick: name, Hash: "h", Created: t0.Add(time.Duration(i) * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.TouchAccount(ctx, "fresh", t0.Add(48*time.Hour)); err != nil {
			t.Fatal(err)
		}
		gone, err := db.ExpireAccounts(ctx, t0.Add(24*time.Hour), 100)
		if err != nil || len(gone) != 2 || gone[0].Name != "old" || gone[1].Name != "older" {
			t.Fatalf("expired %+v %v", gone, err)
		}
		if all, _ := db.Accounts(ctx); len(all) != 1 || all[0].Name != "fresh" {
			t.Fatalf("left %+v", all)
		}
	})
}

// TestSchemaFourUpgrade: a version 3 store (rights by account name, two
// owners of one room) is brought to version 4: rights name the account's
// id, those of accounts that do not exist are dropped, the earlier owner
// stays; and on to version 5: their rooms empty, rejoined at identify.
func TestSchemaFourUpgrade(t *testing.T) {
	backends(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		db := open()
		// Back to version 3, with its data.
		for _, q := range []string{
			`ALTER TABLE accounts DROP COLUMN rejoin`, `ALTER TABLE accounts DROP COLUMN rooms`, `DELETE FROM chatd_schema WHERE version = 5`,
			`DROP INDEX room_entries_one_owner`, `DROP INDEX accounts_id`,
			`ALTER TABLE room_entries DROP COLUMN label`, `ALTER TABLE accounts DROP COLUMN last_seen_at`, `ALTER TABLE accounts DROP COLUMN id`,
			`DELETE FROM chatd_schema WHERE version = 4`,
			`INSERT INTO accounts (name, nick, hash, created_at) VALUES ('alice', 'Alice', 'h', 1), ('bob', 'bob', 'h', 2)`,
			`INSERT INTO room_entries (room, kind, subject, reason, by_account, created_at, expires_at) VALUES
				('dev', 'owner', 'mallory', '', 'mallory', 5, 0), ('dev', 'owner', 'alice', '', 'alice', 1, 0), ('dev', 'owner', 'bob', '', 'bob', 3, 0),
				('dev', 'op', 'bob', '', 'alice', 2, 0), ('dev', 'op', 'ghost', '', 'alice', 2, 0),
				('dev', 'ban', 'account:bob', 'spam', 'alice', 4, 0), ('dev', 'ban', 'account:nobody', '', 'alice', 4, 0),
				('dev', 'ban', 'address:10.0.0.0/8', '', 'alice', 4, 0), ('dev', 'flag', 'private', '', 'alice', 4, 0)`,
		} {
			if _, err := db.db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := db.migrate(ctx); err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		all, err := db.Accounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range all {
			if len(a.ID) != 16 || a.ID[0] != 'a' {
				t.Errorf("account %s got id %q", a.Name, a.ID)
			}
			ids[a.Name] = a.ID
		}
		if ids["alice"] == ids["bob"] {
			t.Fatalf("two accounts, one id: %v", ids)
		}
		if alice, err := db.Account(ctx, "alice"); err != nil || alice.Rooms != nil || !alice.Rejoin {
			t.Fatalf("alice after version 5: %+v %v", alice, err)
		}
		got, err := db.Entries(ctx, "dev", t0)
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, e := range got {
			rows = append(rows, e.Kind+" "+e.Subject+" "+e.Label)
		}
		want := []string{"ban account:" + ids["bob"] + " bob", "ban address:10.0.0.0/8 ", "flag private ", "op " + ids["bob"] + " bob", "owner " + ids["alice"] + " alice"}
		if fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Fatalf("entries\n%q\nwant\n%q", rows, want)
		}
	})
}

func TestRoomEntries(t *testing.T) {
	backends(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		db := open()
		owner := Entry{Room: "dev", Kind: "owner", Subject: "a1", Label: "alice", By: "alice", At: t0}
		ban := Entry{Room: "dev", Kind: "ban", Subject: "address:10.0.0.0/8", Reason: "spam", By: "alice", At: t0, Expires: t0.Add(time.Hour)}
		old := Entry{Room: "dev", Kind: "ban", Subject: "account:m1", Label: "mallory", Reason: "old", By: "alice", At: t0, Expires: t0.Add(-time.Minute)}
		kline := Entry{Room: "", Kind: "kline", Subject: "192.0.2.0/24", Reason: "abuse", By: "root", At: t0}
		if err := db.Write(ctx, Batch{Entries: []EntryChange{{Entry: owner}, {Entry: ban}, {Entry: old}, {Entry: kline}}}); err != nil {
			t.Fatal(err)
		}
		got, err := db.Entries(ctx, "dev", t0)
		if err != nil || len(got) != 2 || got[0] != ban || got[1] != owner {
			t.Fatalf("entries %+v %v", got, err)
		}
		// A put replaces; a delete removes.
		ban.Reason = "more spam"
		if err := db.Write(ctx, Batch{Entries: []EntryChange{{Entry: ban}, {Entry: owner, Delete: true}}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Entries(ctx, "dev", t0); len(got) != 1 || got[0].Reason != "more spam" {
			t.Fatalf("after changes %+v", got)
		}
		if got, _ := db.Entries(ctx, "", t0); len(got) != 1 || got[0] != kline {
			t.Fatalf("k-lines %+v", got)
		}
		// LoadRoom reads them as of now: the ban has expired since t0.
		op := Entry{Room: "dev", Kind: "op", Subject: "b1", Label: "bob", By: "alice", At: t0}
		if err := db.Write(ctx, Batch{Entries: []EntryChange{{Entry: op}}}); err != nil {
			t.Fatal(err)
		}
		if r, err := db.LoadRoom(ctx, "dev", 5); err != nil || len(r.Entries) != 1 || r.Entries[0] != op {
			t.Fatalf("LoadRoom entries %+v %v", r.Entries, err)
		}
	})
}
