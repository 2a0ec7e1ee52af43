package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/actorchat/actorchat/internal/pgserver"
	"github.com/actorchat/actorchat/internal/store"
)

// The chatd servers differ only in their store:
//
//	chatd           -store none: the chat alone, as every earlier measurement
//	chatd-sqlite    the embedded store, in a fresh directory each run
//	chatd-postgres  PostgreSQL, a fresh database each run on a server that
//	                chatbench starts from the machine's binaries (or -postgres)
//	chatd-cluster3  three nodes of one cluster on loopback, -store none; the
//	                clients are spread over them, round robin
//
// chatd-base runs with CHATD_STORE=none too (a revision from before the
// store ignores it, with a warning).
var storeOf = map[string]string{"chatd": "none", "chatd-base": "none", "chatd-sqlite": "sqlite", "chatd-postgres": "postgres", "chatd-cluster3": "none"}

// runStore is the store of one run.
type runStore struct {
	kind string // none, sqlite, postgres
	dir  string // sqlite: the data directory
	url  string // postgres: the run's database
	drop func()
}

// stores hands out a fresh store for each run.
type stores struct {
	pgURL string // -postgres: a server to use; empty: start one when needed
	pg    *pgserver.Server
	admin *sql.DB // on the postgres server's "postgres" database, to create and drop
	runs  int
}

// prepare returns the environment for a chatd server of this kind, and its
// store.
func (s *stores) prepare(server, tmp string) ([]string, *runStore, error) {
	kind, ok := storeOf[server]
	if !ok {
		return nil, nil, nil // not a chatd
	}
	s.runs++
	switch kind {
	case "sqlite":
		dir, err := os.MkdirTemp(tmp, "data-")
		if err != nil {
			return nil, nil, err
		}
		return []string{"CHATD_DATA=" + dir}, &runStore{kind: kind, dir: dir, drop: func() { _ = os.RemoveAll(dir) }}, nil
	case "postgres":
		if err := s.startPostgres(); err != nil {
			return nil, nil, err
		}
		name := fmt.Sprintf("chatbench_%d_%d", os.Getpid(), s.runs)
		if _, err := s.admin.Exec("CREATE DATABASE " + name); err != nil {
			return nil, nil, fmt.Errorf("create database %s: %w", name, err)
		}
		dbURL := s.urlOf(name)
		drop := func() { _, _ = s.admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") }
		return []string{"CHATD_STORE=" + dbURL}, &runStore{kind: kind, url: dbURL, drop: drop}, nil
	}
	return []string{"CHATD_STORE=none"}, &runStore{kind: kind, drop: func() {}}, nil
}

func (s *stores) urlOf(db string) string {
	if s.pg != nil {
		return s.pg.URL(db)
	}
	return replaceDB(s.pgURL, db)
}

// replaceDB puts database db in a postgres:// URL.
func replaceDB(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + db
	return u.String()
}

func (s *stores) startPostgres() error {
	if s.admin != nil {
		return nil
	}
	if s.pgURL == "" {
		pg, err := pgserver.New()
		if err != nil {
			return fmt.Errorf("chatd-postgres: %w (install postgresql, or give -postgres URL)", err)
		}
		s.pg = pg
	}
	admin, err := sql.Open("pgx", s.urlOf("postgres"))
	if err != nil {
		return err
	}
	s.admin = admin
	return admin.Ping()
}

func (s *stores) close() {
	if s.admin != nil {
		_ = s.admin.Close()
	}
	if s.pg != nil {
		s.pg.Close()
	}
}

// storedPosts counts the posts a run's store holds, once its chatd has
// stopped (and so written everything).
func (r *runStore) storedPosts() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var db *store.DB
	var err error
	switch r.kind {
	case "sqlite":
		if _, statErr := os.Stat(filepath.Join(r.dir, store.DatabaseFile)); statErr != nil {
			return 0, statErr
		}
		db, err = store.OpenSQLiteReadOnly(ctx, r.dir)
	case "postgres":
		db, err = store.OpenPostgres(ctx, r.url)
	default:
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return db.CountPosts(ctx)
}
