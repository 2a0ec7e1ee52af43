// Package store keeps room history and topics in a database: an embedded
// SQLite file (modernc.org/sqlite, pure Go) by default, or PostgreSQL
// (github.com/jackc/pgx/v5) when several nodes share one. Both backends take
// the same SQL with numbered parameters ($1, $2, ...), so every query is
// written once and every test runs against both.
//
// A DB is safe for concurrent use, but chatd calls it from one goroutine (the
// store actor's worker), so writes reach the database in the order rooms
// made them.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers "pgx" for database/sql
	_ "modernc.org/sqlite"           // registers "sqlite"
)

// Post is one room post or action as stored.
type Post struct {
	Room   string
	Nick   string
	Text   string
	Action bool
	At     time.Time // millisecond precision
}

// Topic is a room's topic, who set it and when. An empty Text is a cleared
// topic.
type Topic struct {
	Room string
	Text string
	Nick string
	At   time.Time
}

// Batch is what one write stores: posts in the order rooms posted them,
// topic changes (only a room's latest topic is kept), and changes to rooms'
// entries, in the order they were made.
type Batch struct {
	Posts   []Post
	Topics  []Topic
	Entries []EntryChange
}

// Len returns how many records the batch holds.
func (b Batch) Len() int { return len(b.Posts) + len(b.Topics) + len(b.Entries) }

// Entry is one fact about a room that moderation keeps: its owner or an op
// (Kind "owner", "op"; Subject an account id), a flag ("flag", "private" or
// "topic-lock"), a ban ("ban"; Subject "account:ID" or "address:CIDR"); on
// room "" the server's k-lines ("kline", a CIDR). Label is how people read
// the subject (the account's name when the entry was made); By who made it.
// Expires zero: never. A room has at most one owner entry (ClaimRoom).
type Entry struct {
	Room, Kind, Subject string
	Reason, By          string
	At, Expires         time.Time
	Label               string
}

// EntryChange puts an entry (replacing one of the same room, kind and
// subject) or deletes it.
type EntryChange struct {
	Entry  Entry
	Delete bool
}

// Room is what is stored of one room: its latest posts, oldest first, its
// topic (Text empty when none was ever set), and its entries that have not
// expired.
type Room struct {
	History []Post
	Topic   Topic
	Entries []Entry
}

// Kind names a backend.
type Kind string

const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// DB is an open store.
type DB struct {
	db   *sql.DB
	kind Kind
	path string // SQLite: the database file
}

// DatabaseFile is the name of the SQLite file in a data directory.
const DatabaseFile = "chatd.db"

// OpenSQLite opens (creating if needed) the embedded store in directory
// dir, which is created readable by its owner only, as is the file, and
// brings its schema up to date.
func OpenSQLite(ctx context.Context, dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(dir, DatabaseFile)
	// Create the file ourselves so that its mode does not depend on the
	// umask; SQLite gives its -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("database file: %w", err)
	}
	_ = f.Close()
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, err
	}
	// One connection: the file has one writer, and the pragmas below hold
	// for the connection that set them.
	db.SetMaxOpenConns(1)
	return open(ctx, db, SQLite, path)
}

// OpenSQLiteReadOnly opens the embedded store in dir for reading only, as
// found: no schema change, no file created. It is for taking a backup while
// chatd (perhaps another version) runs.
func OpenSQLiteReadOnly(ctx context.Context, dir string) (*DB, error) {
	path := filepath.Join(dir, DatabaseFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no store in %s: %w", dir, err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	d := &DB{db: db, kind: SQLite, path: path}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return d, nil
}

// sqliteDSN is the DSN of the database file at path: write-ahead logging,
// so that a backup or a reader never blocks the writer; synchronous=FULL, so
// that a committed batch survives a power loss as well as a crash; a busy
// timeout for a backup taken by another process.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_txlock=immediate"
}

// OpenPostgres connects to PostgreSQL at url (postgres://...) and brings its
// schema up to date. It fails if the server cannot be reached now.
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	return open(ctx, db, Postgres, "")
}

func open(ctx context.Context, db *sql.DB, kind Kind, path string) (*DB, error) {
	d := &DB{db: db, kind: kind, path: path}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: %w", kind, connectError(err))
	}
	if err := d.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return d, nil
}

// connectError is a failed connection to PostgreSQL in one line: pgx says
// it in one line per attempt (with sslmode=prefer, a TLS attempt first,
// then a plain one), and the first is misleading (a tls error, when the
// server only refused the password); the last attempt's is the cause.
func connectError(err error) error {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		return err
	}
	cause := ce.Unwrap()
	if joined, ok := cause.(interface{ Unwrap() []error }); ok {
		if errs := joined.Unwrap(); len(errs) > 0 {
			cause = errs[len(errs)-1]
		}
	}
	return fmt.Errorf("cannot connect as user %s to database %s: %s", ce.Config.User, ce.Config.Database, strings.ReplaceAll(cause.Error(), "\n", " "))
}

// Kind returns the backend.
func (d *DB) Kind() Kind { return d.kind }

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// rowsPerInsert bounds the rows of one INSERT: 5 parameters a row stays far
// below both backends' parameter limits (SQLite 32766, PostgreSQL 65535).
const rowsPerInsert = 200

// Write stores a batch in one transaction: all of it or, on error, none.
func (d *DB) Write(ctx context.Context, b Batch) error {
	if b.Len() == 0 {
		return nil
	}
	if d.kind == Postgres {
		return d.writePostgres(ctx, b)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for start := 0; start < len(b.Posts); start += rowsPerInsert {
		chunk := b.Posts[start:min(start+rowsPerInsert, len(b.Posts))]
		query, args := insertPosts(chunk)
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("store posts: %w", err)
		}
	}
	for _, t := range b.Topics {
		if _, err := tx.ExecContext(ctx, upsertTopic, t.Room, t.Text, t.Nick, t.At.UnixMilli()); err != nil {
			return fmt.Errorf("store topic: %w", err)
		}
	}
	for _, c := range b.Entries {
		query, args := entryChange(c)
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("store room entry: %w", err)
		}
	}
	return tx.Commit()
}

// upsertEntry, insertOwner and deleteEntry change one room entry. An owner
// is only ever added if the room has none (a room has one owner: a unique
// index says so too).
const (
	upsertEntry = `INSERT INTO room_entries (room, kind, subject, reason, by_account, created_at, expires_at, label) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
	ON CONFLICT (room, kind, subject) DO UPDATE SET reason = excluded.reason, by_account = excluded.by_account,
		created_at = excluded.created_at, expires_at = excluded.expires_at, label = excluded.label`
	insertOwner = `INSERT INTO room_entries (room, kind, subject, reason, by_account, created_at, expires_at, label) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
	ON CONFLICT DO NOTHING`
	deleteEntry = `DELETE FROM room_entries WHERE room = $1 AND kind = $2 AND subject = $3`
)

// KindOwner is the kind of a room's owner entry.
const KindOwner = "owner"

// entryChange returns the statement of one entry change, with its
// parameters.
func entryChange(c EntryChange) (string, []any) {
	e := c.Entry
	if c.Delete {
		return deleteEntry, []any{e.Room, e.Kind, e.Subject}
	}
	var expires int64
	if !e.Expires.IsZero() {
		expires = e.Expires.UnixMilli()
	}
	query := upsertEntry
	if e.Kind == KindOwner {
		query = insertOwner
	}
	return query, []any{e.Room, e.Kind, e.Subject, e.Reason, e.By, e.At.UnixMilli(), expires, e.Label}
}

// ClaimRoom makes e (an owner entry) the room's owner if it has none, and
// returns the room's owner after it: e if the claim took, else the owner it
// had. Two claims of one room, from two nodes or two instances of the room,
// cannot both take.
func (d *DB) ClaimRoom(ctx context.Context, e Entry) (Entry, bool, error) {
	e.Kind = KindOwner
	query, args := entryChange(EntryChange{Entry: e})
	res, err := d.db.ExecContext(ctx, query, args...)
	if err != nil {
		return Entry{}, false, fmt.Errorf("claim room: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return e, true, nil
	}
	entries, err := d.Entries(ctx, e.Room, time.Now())
	if err != nil {
		return Entry{}, false, err
	}
	for _, o := range entries {
		if o.Kind == KindOwner {
			return o, false, nil
		}
	}
	return Entry{}, false, fmt.Errorf("claim room %s: no owner stored, and none could be added", e.Room)
}

// Entries returns a room's entries that have not expired by now (room ""
// holds the server's k-lines).
func (d *DB) Entries(ctx context.Context, room string, now time.Time) ([]Entry, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT kind, subject, reason, by_account, created_at, expires_at, label FROM room_entries
		WHERE room = $1 AND (expires_at = 0 OR expires_at > $2) ORDER BY kind, subject`, room, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("load room entries: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e := Entry{Room: room}
		var at, expires int64
		if err := rows.Scan(&e.Kind, &e.Subject, &e.Reason, &e.By, &at, &expires, &e.Label); err != nil {
			return nil, fmt.Errorf("load room entries: %w", err)
		}
		e.At = time.UnixMilli(at)
		if expires != 0 {
			e.Expires = time.UnixMilli(expires)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// upsertTopic stores a room's topic, replacing the one it had.
const upsertTopic = `INSERT INTO topics (room, topic, nick, set_at) VALUES ($1, $2, $3, $4)
	ON CONFLICT (room) DO UPDATE SET topic = excluded.topic, nick = excluded.nick, set_at = excluded.set_at`

// writePostgres writes a batch with PostgreSQL's COPY, its bulk path (binary,
// one round trip for the rows, no statement to parse), in one transaction
// with the topics.
func (d *DB) writePostgres(ctx context.Context, b Batch) error {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		pc := driverConn.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if len(b.Posts) > 0 {
			rows := pgx.CopyFromSlice(len(b.Posts), func(i int) ([]any, error) {
				p := b.Posts[i]
				return []any{p.Room, p.Nick, p.Text, p.Action, p.At.UnixMilli()}, nil
			})
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"posts"}, []string{"room", "nick", "body", "action", "posted_at"}, rows); err != nil {
				return fmt.Errorf("store posts: %w", err)
			}
		}
		for _, t := range b.Topics {
			if _, err := tx.Exec(ctx, upsertTopic, t.Room, t.Text, t.Nick, t.At.UnixMilli()); err != nil {
				return fmt.Errorf("store topic: %w", err)
			}
		}
		for _, c := range b.Entries {
			query, args := entryChange(c)
			if _, err := tx.Exec(ctx, query, args...); err != nil {
				return fmt.Errorf("store room entry: %w", err)
			}
		}
		return tx.Commit(ctx)
	})
}

// insertPosts returns one INSERT for posts, with its parameters.
func insertPosts(posts []Post) (string, []any) {
	var q strings.Builder
	q.WriteString("INSERT INTO posts (room, nick, body, action, posted_at) VALUES ")
	args := make([]any, 0, 5*len(posts))
	for i, p := range posts {
		if i > 0 {
			q.WriteString(", ")
		}
		n := 5 * i
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5)
		args = append(args, p.Room, p.Nick, p.Text, p.Action, p.At.UnixMilli())
	}
	return q.String(), args
}

// LoadRoom returns a room's last limit posts, oldest first, and its topic.
func (d *DB) LoadRoom(ctx context.Context, room string, limit int) (Room, error) {
	r := Room{Topic: Topic{Room: room}}
	if limit > 0 {
		h, err := d.history(ctx, room, limit)
		if err != nil {
			return Room{}, err
		}
		r.History = h
	}
	entries, err := d.Entries(ctx, room, time.Now())
	if err != nil {
		return Room{}, err
	}
	r.Entries = entries
	var at int64
	err = d.db.QueryRowContext(ctx, `SELECT topic, nick, set_at FROM topics WHERE room = $1`, room).Scan(&r.Topic.Text, &r.Topic.Nick, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return Room{}, fmt.Errorf("load topic: %w", err)
	default:
		r.Topic.At = time.UnixMilli(at)
	}
	return r, nil
}

func (d *DB) history(ctx context.Context, room string, limit int) ([]Post, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT nick, body, action, posted_at FROM posts WHERE room = $1 ORDER BY id DESC LIMIT $2`, room, limit)
	if err != nil {
		return nil, fmt.Errorf("load history: %w", err)
	}
	defer rows.Close()
	var out []Post
	for rows.Next() {
		p := Post{Room: room}
		var at int64
		if err := rows.Scan(&p.Nick, &p.Text, &p.Action, &at); err != nil {
			return nil, fmt.Errorf("load history: %w", err)
		}
		p.At = time.UnixMilli(at)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load history: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// CountPosts returns how many posts the store holds, in every room.
func (d *DB) CountPosts(ctx context.Context) (int64, error) {
	var n int64
	err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM posts`).Scan(&n)
	return n, err
}

// Retention says which posts to keep: none older than MaxAge (0: any age),
// and at most PerRoom in each room (0: any number).
type Retention struct {
	MaxAge  time.Duration
	PerRoom int
}

// ErrAge says what an age looks like.
var ErrAge = errors.New("want a number of days (30d) or a duration (720h)")

// maxAgeDays is the most days a time.Duration holds (about 292 years).
const maxAgeDays = uint64(math.MaxInt64 / int64(24*time.Hour))

// ParseAge reads a retention age: a number of days ("30d") or a Go duration
// ("720h", "90m"); "0" is none. It is never negative.
func ParseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 64)
		if err != nil || n > maxAgeDays {
			return 0, ErrAge
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, ErrAge
	}
	return d, nil
}

// FormatAge writes an age as ParseAge reads it: whole days as "30d".
func FormatAge(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// Prune deletes what the retention does not keep, as of now, and returns
// how many records it deleted: posts older than MaxAge, posts past PerRoom
// in a room, the topics of rooms that have neither posts nor entries left
// and were set before MaxAge, and expired bans and k-lines.
func (d *DB) Prune(ctx context.Context, r Retention, now time.Time) (int64, error) {
	var deleted int64
	exec := func(what, query string, args ...any) error {
		res, err := d.db.ExecContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("prune %s: %w", what, err)
		}
		n, _ := res.RowsAffected()
		deleted += n
		return nil
	}
	if r.MaxAge > 0 {
		cutoff := now.Add(-r.MaxAge).UnixMilli()
		if err := exec("by age", `DELETE FROM posts WHERE posted_at < $1`, cutoff); err != nil {
			return deleted, err
		}
		if err := exec("topics", `DELETE FROM topics WHERE set_at < $1 AND NOT EXISTS (SELECT 1 FROM posts WHERE posts.room = topics.room)
			AND NOT EXISTS (SELECT 1 FROM room_entries WHERE room_entries.room = topics.room)`, cutoff); err != nil {
			return deleted, err
		}
	}
	if err := exec("expired entries", `DELETE FROM room_entries WHERE expires_at <> 0 AND expires_at <= $1`, now.UnixMilli()); err != nil {
		return deleted, err
	}
	if r.PerRoom > 0 {
		n, err := d.pruneRooms(ctx, r.PerRoom)
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// pruneRooms keeps the newest keep posts of every room that has more.
func (d *DB) pruneRooms(ctx context.Context, keep int) (int64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT room FROM posts GROUP BY room HAVING COUNT(*) > $1`, keep)
	if err != nil {
		return 0, fmt.Errorf("prune by count: %w", err)
	}
	var rooms []string
	for rows.Next() {
		var room string
		if err := rows.Scan(&room); err != nil {
			_ = rows.Close()
			return 0, fmt.Errorf("prune by count: %w", err)
		}
		rooms = append(rooms, room)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("prune by count: %w", err)
	}
	var deleted int64
	for _, room := range rooms {
		res, err := d.db.ExecContext(ctx, `DELETE FROM posts WHERE room = $1 AND id <=
			(SELECT id FROM posts WHERE room = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`, room, keep)
		if err != nil {
			return deleted, fmt.Errorf("prune room %s: %w", room, err)
		}
		n, _ := res.RowsAffected()
		deleted += n
	}
	return deleted, nil
}

// ErrNotSQLite reports a backup asked of a PostgreSQL store: use its own
// tools (pg_dump).
var ErrNotSQLite = errors.New("backup is for the embedded store; back up PostgreSQL with pg_dump")

// Backup writes a consistent copy of the embedded store to path (which must
// not exist) while it may be in use by a running chatd: SQLite's VACUUM
// INTO reads one snapshot and never blocks the writer. The copy is readable
// by its owner only.
func (d *DB) Backup(ctx context.Context, path string) error {
	if d.kind != SQLite {
		return ErrNotSQLite
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s already exists", path)
	}
	// Create it empty with the right mode first: VACUUM INTO accepts an
	// empty file and keeps its mode.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_ = f.Close()
	if _, err := d.db.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}
