package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/actorchat/actorchat/internal/store"
)

// Values of -store besides a postgres:// URL.
const (
	storeEmbedded = "sqlite" // the embedded store, in -data
	storeNone     = "none"   // memory only
)

// storageConfig is what the storage flags set.
type storageConfig struct {
	store string // storeEmbedded, storeNone or a postgres:// URL
	data  string // -data as given; empty: the default (see dataDir)
}

// openStore opens the store the flags name: nil for -store none.
func openStore(ctx context.Context, sc storageConfig, lookupEnv func(string) (string, bool)) (*store.DB, string, error) {
	switch {
	case sc.store == storeNone:
		return nil, "memory only (-store none): history and topics are lost at exit", nil
	case sc.store == storeEmbedded:
		dir, err := dataDir(sc.data, lookupEnv)
		if err != nil {
			return nil, "", err
		}
		db, err := store.OpenSQLite(ctx, dir)
		if err != nil {
			return nil, "", fmt.Errorf("store in %s: %w", dir, err)
		}
		return db, filepath.Join(dir, store.DatabaseFile), nil
	default:
		db, err := store.OpenPostgres(ctx, sc.store)
		if err != nil {
			return nil, "", fmt.Errorf("store %s: %w", redact(sc.store), err)
		}
		return db, redact(sc.store), nil
	}
}

// dataDir is where the embedded store lives: -data if given; else the
// directory systemd made for the unit (StateDirectory=, passed as
// $STATE_DIRECTORY); else $XDG_STATE_HOME/chatd, which is
// ~/.local/state/chatd by default.
func dataDir(given string, lookupEnv func(string) (string, bool)) (string, error) {
	if given != "" {
		return given, nil
	}
	if dirs, ok := lookupEnv("STATE_DIRECTORY"); ok && dirs != "" {
		return strings.Split(dirs, ":")[0], nil
	}
	if xdg, ok := lookupEnv("XDG_STATE_HOME"); ok && filepath.IsAbs(xdg) {
		return filepath.Join(xdg, "chatd"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no data directory: give one with -data (%w)", err)
	}
	return filepath.Join(home, ".local", "state", "chatd"), nil
}

// validStore checks -store's value.
func validStore(v string) error {
	if v == storeEmbedded || v == storeNone {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("-store must be sqlite, none or a postgres:// URL, got %q", redact(v))
	}
	return nil
}

// redact hides the password of a database URL, for logs and errors.
func redact(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return u.Redacted()
}

// ageValue is a flag holding a retention age: "30d", "12h", "0" (none).
type ageValue struct{ d *time.Duration }

func (a ageValue) String() string {
	if a.d == nil {
		return "0"
	}
	return store.FormatAge(*a.d)
}

func (a ageValue) Set(s string) error {
	d, err := store.ParseAge(s)
	if err != nil {
		return err
	}
	*a.d = d
	return nil
}

// runBackup is "chatd backup": a consistent copy of the embedded store,
// taken while chatd runs.
func runBackup(args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chatd backup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", "", "the data directory of the embedded store (default: as chatd's -data)")
	out := fs.String("o", "", "the file to write the copy to; it must not exist")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: chatd backup [-data DIR] -o FILE\n\nWrites a consistent copy of the embedded store (SQLite's VACUUM INTO) while chatd runs.\nThe copy is a data directory's chatd.db: restore it by putting it in place while chatd is stopped.\nPostgreSQL stores are backed up with pg_dump.\n\nFlags:")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return exitOK
		}
		fmt.Fprintf(stderr, "chatd backup: %v\n", err)
		return exitUsage
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "chatd backup: usage: chatd backup [-data DIR] -o FILE")
		return exitUsage
	}
	if *data == "" {
		*data, _ = lookupEnv(envName("data"))
	}
	dir, err := dataDir(*data, lookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "chatd backup: %v\n", err)
		return exitRuntime
	}
	ctx := context.Background()
	db, err := store.OpenSQLiteReadOnly(ctx, dir)
	if err == nil {
		err = db.Backup(ctx, *out)
		_ = db.Close()
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatd backup: %v\n", err)
		return exitRuntime
	}
	fmt.Fprintf(stdout, "chatd backup: %s written from %s\n", *out, dir)
	return exitOK
}
