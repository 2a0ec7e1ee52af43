package testkit

import (
	"errors"
	"os"
	"testing"

	"github.com/actorchat/actorchat/internal/pgserver"
)

// Postgres is a PostgreSQL server a test started (package pgserver). Stop
// and Start let a test take it away and bring it back on the same port with
// the same data.
type Postgres struct {
	t   testing.TB
	srv *pgserver.Server
}

// StartPostgres starts a PostgreSQL server for the test, removed when the
// test ends. Without PostgreSQL's binaries the test is skipped with a
// message saying how to install them, except under CI (CI set), where that
// is a failure: CI installs the package, so there its tests never skip.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	srv, err := pgserver.New()
	if errors.Is(err, pgserver.ErrNoBinaries) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI must install the postgresql package)", err)
		}
		t.Skipf("%v; install them with: apt-get install -y postgresql", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &Postgres{t: t, srv: srv}
}

// URL is the server's connection URL, for the database "postgres".
func (p *Postgres) URL() string { return p.srv.URL("postgres") }

// Start starts the server again after Stop.
func (p *Postgres) Start() {
	p.t.Helper()
	if err := p.srv.Start(); err != nil {
		p.t.Fatalf("%v\n%s", err, p.srv.Log())
	}
}

// Stop stops the server and waits for it to exit.
func (p *Postgres) Stop() { p.srv.Stop() }
