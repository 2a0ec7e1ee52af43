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
