package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Account is a registered nick: its case-folded name (the key), the nick
// as registered, and its password hash (internal/password).
type Account struct {
	Name    string
	Nick    string
	Hash    string
	Created time.Time
}

// Errors of the account calls.
var (
	ErrAccountExists = errors.New("account exists")
	ErrNoAccount     = errors.New("no such account")
)

// CreateAccount stores a new account; ErrAccountExists if its name is
// taken.
func (d *DB) CreateAccount(ctx context.Context, a Account) error {
	res, err := d.db.ExecContext(ctx, `INSERT INTO accounts (name, nick, hash, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO NOTHING`, a.Name, a.Nick, a.Hash, a.Created.UnixMilli())
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrAccountExists
	}
	return nil
}

// Account returns the account of that name; ErrNoAccount if there is none.
func (d *DB) Account(ctx context.Context, name string) (Account, error) {
	a := Account{Name: name}
	var created int64
	err := d.db.QueryRowContext(ctx, `SELECT nick, hash, created_at FROM accounts WHERE name = $1`, name).Scan(&a.Nick, &a.Hash, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Account{}, ErrNoAccount
	case err != nil:
		return Account{}, fmt.Errorf("load account: %w", err)
	}
	a.Created = time.UnixMilli(created)
	return a, nil
}

// SetAccountHash replaces an account's password hash.
func (d *DB) SetAccountHash(ctx context.Context, name, hash string) error {
	res, err := d.db.ExecContext(ctx, `UPDATE accounts SET hash = $2 WHERE name = $1`, name, hash)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoAccount
	}
	return nil
}

// DeleteAccount removes an account; ErrNoAccount if there is none.
func (d *DB) DeleteAccount(ctx context.Context, name string) error {
	res, err := d.db.ExecContext(ctx, `DELETE FROM accounts WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNoAccount
	}
	return nil
}

// AccountNames returns the name of every account.
func (d *DB) AccountNames(ctx context.Context) ([]string, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name FROM accounts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
