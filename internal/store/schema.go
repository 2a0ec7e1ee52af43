package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// A migration brings the schema from version-1 to version, in statements
// for each backend. Migrations are only ever appended: a released one never
// changes.
//
// This is a small runner of our own rather than pressly/goose: every goose
// release served today requires OpenTelemetry v1.35 or newer, which breaks
// the build of the OpenTelemetry SDK v1.21 that our protoactor-go pin
// depends on.
type migration struct {
	version  int
	sqlite   []string
	postgres []string
}

var migrations = []migration{
	{
		version: 1,
		sqlite: []string{
			`CREATE TABLE posts (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				room TEXT NOT NULL,
				nick TEXT NOT NULL,
				body TEXT NOT NULL,
				action BOOLEAN NOT NULL,
				posted_at BIGINT NOT NULL
			)`,
			`CREATE INDEX posts_room_id ON posts (room, id)`,
			`CREATE INDEX posts_posted_at ON posts (posted_at)`,
			`CREATE TABLE topics (
				room TEXT PRIMARY KEY,
				topic TEXT NOT NULL,
				nick TEXT NOT NULL,
				set_at BIGINT NOT NULL
			)`,
		},
		postgres: []string{
			`CREATE TABLE posts (
				id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
				room TEXT NOT NULL,
				nick TEXT NOT NULL,
				body TEXT NOT NULL,
				action BOOLEAN NOT NULL,
				posted_at BIGINT NOT NULL
			)`,
			`CREATE INDEX posts_room_id ON posts (room, id)`,
			`CREATE INDEX posts_posted_at ON posts (posted_at)`,
			`CREATE TABLE topics (
				room TEXT PRIMARY KEY,
				topic TEXT NOT NULL,
				nick TEXT NOT NULL,
				set_at BIGINT NOT NULL
			)`,
		},
	},
	{version: 2, sqlite: accountsV2, postgres: accountsV2},
	{version: 3, sqlite: roomEntriesV3, postgres: roomEntriesV3},
	{version: 4, sqlite: identitiesV4(sqliteAccountIDs), postgres: identitiesV4(postgresAccountIDs)},
	{version: 5, sqlite: accountRoomsV5, postgres: accountRoomsV5},
}

// Version 5 keeps the rooms an account's user was in (names joined by
// commas, the current one first: room names have no comma), to join them
// again when they identify, unless they turned that off.
var accountRoomsV5 = []string{
	`ALTER TABLE accounts ADD COLUMN rooms TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE accounts ADD COLUMN rejoin BOOLEAN NOT NULL DEFAULT TRUE`,
}

// Version 4 makes accounts identities: every account gets an id that a new
// registration of the same name never gets (rights name the id, so that
// whoever registers a name after its owner unregistered inherits nothing),
// and the time it was last used (accounts unused for long expire). Owner
// and op entries and account bans name the id from now on, with the
// account's name kept beside it as a label for people to read; entries of
// accounts that no longer exist are dropped. A room has at most one owner:
// where two were stored, the earlier claim stays.
//
// The ids of existing accounts are random, like NewAccountID's: an "a" and
// 15 hex digits.
const (
	sqliteAccountIDs   = `UPDATE accounts SET id = 'a' || substr(lower(hex(randomblob(8))), 1, 15)`
	postgresAccountIDs = `UPDATE accounts SET id = 'a' || substr(md5(random()::text || name), 1, 15)`
)

func identitiesV4(setIDs string) []string {
	return []string{
		`ALTER TABLE accounts ADD COLUMN id TEXT NOT NULL DEFAULT ''`,
		setIDs,
		`CREATE UNIQUE INDEX accounts_id ON accounts (id)`,
		`ALTER TABLE accounts ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0`,
		`UPDATE accounts SET last_seen_at = created_at`,
		`ALTER TABLE room_entries ADD COLUMN label TEXT NOT NULL DEFAULT ''`,
		`UPDATE room_entries SET label = subject WHERE kind IN ('owner', 'op')`,
		`UPDATE room_entries SET subject = COALESCE((SELECT id FROM accounts WHERE accounts.name = room_entries.label), '') WHERE kind IN ('owner', 'op')`,
		`UPDATE room_entries SET label = substr(subject, 9) WHERE kind = 'ban' AND subject LIKE 'account:%'`,
		`UPDATE room_entries SET subject = COALESCE('account:' || (SELECT id FROM accounts WHERE accounts.name = room_entries.label), '') WHERE kind = 'ban' AND subject LIKE 'account:%'`,
		`DELETE FROM room_entries WHERE subject = ''`,
		`DELETE FROM room_entries WHERE kind = 'owner' AND EXISTS (SELECT 1 FROM room_entries o WHERE o.room = room_entries.room AND o.kind = 'owner'
		AND (o.created_at < room_entries.created_at OR (o.created_at = room_entries.created_at AND o.subject < room_entries.subject)))`,
		`CREATE UNIQUE INDEX room_entries_one_owner ON room_entries (room) WHERE kind = 'owner'`,
	}
}

// roomEntriesV3 keeps moderation: a room's owner and ops, its flags, its
// bans, and (room "") the server's k-lines.
var roomEntriesV3 = []string{
	`CREATE TABLE room_entries (
		room TEXT NOT NULL,
		kind TEXT NOT NULL,
		subject TEXT NOT NULL,
		reason TEXT NOT NULL,
		by_account TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		expires_at BIGINT NOT NULL,
		PRIMARY KEY (room, kind, subject)
	)`,
}

// accountsV2 is the same SQL on both backends.
var accountsV2 = []string{
	`CREATE TABLE accounts (
		name TEXT PRIMARY KEY,
		nick TEXT NOT NULL,
		hash TEXT NOT NULL,
		created_at BIGINT NOT NULL
	)`,
}

// SchemaVersion is the newest schema this build knows.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// ErrSchemaTooNew reports a database written by a newer chatd.
var ErrSchemaTooNew = errors.New("the database's schema is newer than this chatd knows")

// migrateLock is the PostgreSQL advisory lock that serialises migrations
// when several nodes start at once.
const migrateLock = 7_345_112_019

// migrate applies the migrations the database lacks, each in its own
// transaction with its version row, and refuses a database whose schema is
// newer than this build's.
func (d *DB) migrate(ctx context.Context) error {
	if _, err := d.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS chatd_schema (
		version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	for _, m := range migrations {
		done, err := d.apply(ctx, m)
		if err != nil {
			return fmt.Errorf("schema version %d: %w", m.version, err)
		}
		if done {
			break // a newer schema was found
		}
	}
	v, err := d.schemaVersion(ctx, d.db)
	if err != nil {
		return err
	}
	if v > SchemaVersion() {
		return fmt.Errorf("%w: it is version %d, this chatd knows up to %d; run a newer chatd or restore a backup", ErrSchemaTooNew, v, SchemaVersion())
	}
	return nil
}

// apply applies one migration unless the database already has it. It
// reports stop when the database's schema is newer than this migration's
// version and newer than this build knows.
func (d *DB) apply(ctx context.Context, m migration) (stop bool, err error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	if d.kind == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
			return false, err
		}
	}
	v, err := d.schemaVersion(ctx, tx)
	if err != nil {
		return false, err
	}
	if v > SchemaVersion() {
		return true, nil
	}
	if v >= m.version {
		return false, nil
	}
	stmts := m.sqlite
	if d.kind == Postgres {
		stmts = m.postgres
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO chatd_schema (version, applied_at) VALUES ($1, $2)`, m.version, time.Now().UnixMilli()); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (d *DB) schemaVersion(ctx context.Context, q querier) (int, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM chatd_schema`).Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return int(v.Int64), nil
}
