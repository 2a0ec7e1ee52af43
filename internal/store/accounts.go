package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Account is a registered nick: its id (what rights name: never given to
// another account, whatever its name), its case-folded name (the key for
// people), the nick as registered, its password hash (internal/password),
// when it was made and when its owner last proved it theirs; and the rooms
// its user was in (the current one first), which they join again when they
// identify if Rejoin is on.
type Account struct {
	ID       string
	Name     string
	Nick     string
	Hash     string
	Created  time.Time
	LastSeen time.Time
	Rooms    []string
	Rejoin   bool
}

// AccountName is an account's name and id, as the registry knows every
// account.
type AccountName struct {
	Name, ID string
}

// Errors of the account calls.
var (
	ErrAccountExists = errors.New("account exists")
	ErrNoAccount     = errors.New("no such account")
)

// NewAccountID returns a fresh account id: "a" and 15 random hex digits.
func NewAccountID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "a" + hex.EncodeToString(b[:])[:15]
}

// CreateAccount stores a new account; ErrAccountExists if its name is
// taken. An empty ID gets a fresh one; an empty LastSeen is Created.
func (d *DB) CreateAccount(ctx context.Context, a Account) (Account, error) {
	if a.ID == "" {
		a.ID = NewAccountID()
	}
	if a.LastSeen.IsZero() {
		a.LastSeen = a.Created
	}
	a.Rooms, a.Rejoin = nil, true // a new account has no rooms yet, and rejoins them
	res, err := d.db.ExecContext(ctx, `INSERT INTO accounts (name, nick, hash, created_at, id, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (name) DO NOTHING`, a.Name, a.Nick, a.Hash, a.Created.UnixMilli(), a.ID, a.LastSeen.UnixMilli())
	if err != nil {
		return Account{}, fmt.Errorf("create account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Account{}, ErrAccountExists
	}
	return a, nil
}

// Account returns the account of that name; ErrNoAccount if there is none.
func (d *DB) Account(ctx context.Context, name string) (Account, error) {
	a := Account{Name: name}
	var created, seen int64
	var rooms string
	err := d.db.QueryRowContext(ctx, `SELECT id, nick, hash, created_at, last_seen_at, rooms, rejoin FROM accounts WHERE name = $1`, name).
		Scan(&a.ID, &a.Nick, &a.Hash, &created, &seen, &rooms, &a.Rejoin)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Account{}, ErrNoAccount
	case err != nil:
		return Account{}, fmt.Errorf("load account: %w", err)
	}
	a.Created, a.LastSeen = time.UnixMilli(created), time.UnixMilli(seen)
	if rooms != "" {
		a.Rooms = strings.Split(rooms, ",")
	}
	return a, nil
}

// SetAccountRooms records the rooms the user of account id is in, the
// current one first; ErrNoAccount if there is no such account. A name with
// a comma is refused: names are joined by commas.
func (d *DB) SetAccountRooms(ctx context.Context, id string, rooms []string) error {
	for _, r := range rooms {
		if r == "" || strings.Contains(r, ",") {
			return fmt.Errorf("set account rooms: bad room name %q", r)
		}
	}
	return d.updateAccountByID(ctx, `UPDATE accounts SET rooms = $2 WHERE id = $1`, id, strings.Join(rooms, ","))
}

// SetAccountRejoin says whether the user of account id joins their rooms
// again when they identify; ErrNoAccount if there is no such account.
func (d *DB) SetAccountRejoin(ctx context.Context, id string, on bool) error {
	return d.updateAccountByID(ctx, `UPDATE accounts SET rejoin = $2 WHERE id = $1`, id, on)
}

func (d *DB) updateAccountByID(ctx context.Context, query, id string, value any) error {
	res, err := d.db.ExecContext(ctx, query, id, value)
	if err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoAccount
	}
	return nil
}

// SetAccountHash replaces an account's password hash.
func (d *DB) SetAccountHash(ctx context.Context, name, hash string) error {
	return d.updateAccount(ctx, `UPDATE accounts SET hash = $2 WHERE name = $1`, name, hash)
}

// TouchAccount records that the account's owner used it at at: accounts
// unused for long expire (ExpireAccounts).
func (d *DB) TouchAccount(ctx context.Context, name string, at time.Time) error {
	return d.updateAccount(ctx, `UPDATE accounts SET last_seen_at = $2 WHERE name = $1`, name, at.UnixMilli())
}

func (d *DB) updateAccount(ctx context.Context, query, name string, value any) error {
	res, err := d.db.ExecContext(ctx, query, name, value)
	if err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoAccount
	}
	return nil
}

// DeleteAccount removes an account and every right it held (room
// ownership, op, bans of it), in one transaction, and returns what it was;
// ErrNoAccount if there is none.
func (d *DB) DeleteAccount(ctx context.Context, name string) (Account, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return Account{}, fmt.Errorf("delete account: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	a := Account{Name: name}
	var created, seen int64
	err = tx.QueryRowContext(ctx, `DELETE FROM accounts WHERE name = $1 RETURNING id, nick, hash, created_at, last_seen_at`, name).
		Scan(&a.ID, &a.Nick, &a.Hash, &created, &seen)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Account{}, ErrNoAccount
	case err != nil:
		return Account{}, fmt.Errorf("delete account: %w", err)
	}
	a.Created, a.LastSeen = time.UnixMilli(created), time.UnixMilli(seen)
	if err := deleteRights(ctx, tx, a.ID); err != nil {
		return Account{}, err
	}
	return a, tx.Commit()
}

// deleteRights removes the entries that name account id: its ownership
// and op of rooms, and bans of it (which nobody can be any more).
func deleteRights(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM room_entries WHERE (kind IN ('owner', 'op') AND subject = $1) OR (kind = 'ban' AND subject = $2)`,
		id, "account:"+id); err != nil {
		return fmt.Errorf("delete the account's rights: %w", err)
	}
	return nil
}

// ExpireAccounts removes at most limit accounts last used before cutoff,
// with their rights, and returns them.
func (d *DB) ExpireAccounts(ctx context.Context, cutoff time.Time, limit int) ([]Account, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name FROM accounts WHERE last_seen_at < $1 ORDER BY last_seen_at LIMIT $2`, cutoff.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("expire accounts: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("expire accounts: %w", err)
		}
		names = append(names, n)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("expire accounts: %w", err)
	}
	var out []Account
	for _, n := range names {
		a, err := d.DeleteAccount(ctx, n)
		if errors.Is(err, ErrNoAccount) {
			continue // gone meanwhile
		}
		if err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Accounts returns the name and id of every account.
func (d *DB) Accounts(ctx context.Context) ([]AccountName, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name, id FROM accounts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var out []AccountName
	for rows.Next() {
		var a AccountName
		if err := rows.Scan(&a.Name, &a.ID); err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
