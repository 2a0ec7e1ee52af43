package actors

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/password"
	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

// gatedAccounts is a real account store whose reads of an account wait at
// a gate the test opens, so that a test can hold password checks in flight;
// it records which accounts were looked up, in order.
type gatedAccounts struct {
	*store.DB
	gate chan struct{} // nil: no gate
	mu   sync.Mutex
	seen []string
}

func (g *gatedAccounts) Account(ctx context.Context, name string) (store.Account, error) {
	g.mu.Lock()
	g.seen = append(g.seen, name)
	g.mu.Unlock()
	if g.gate != nil {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return store.Account{}, ctx.Err()
		}
	}
	return g.DB.Account(ctx, name)
}

func (g *gatedAccounts) lookups() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.seen...)
}

// startAccounts starts an accounts actor on db, with the registry played by
// a probe, and registers the accounts named (password "NAME's password").
func startAccounts(t *testing.T, system *actor.ActorSystem, db AccountStore, mutate func(*accountsConfig), names ...string) (*actor.PID, *probe) {
	t.Helper()
	for _, n := range names {
		if _, err := db.CreateAccount(context.Background(), store.Account{Name: n, Nick: n, Hash: password.Hash(n+"'s password", password.Test), Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.PasswordHash = password.Test
	ac := cfg.withDefaults().accountsConfig()
	ac.Expiry = 0
	if mutate != nil {
		mutate(&ac)
	}
	registry := newProbe(t, system)
	pid := supervised(t, system, newAccounts(db, ac, nil, registry.pid, testLogger()), actor.ResumeDirective)
	t.Cleanup(func() { _ = system.Root.StopFuture(pid).Wait() })
	return pid, registry
}

func openGated(t *testing.T, gated bool) *gatedAccounts {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	g := &gatedAccounts{DB: db}
	if gated {
		g.gate = make(chan struct{})
	}
	return g
}

// answers collects n answers from p: how many of each reason (or "ok").
func answers(t *testing.T, p *probe, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		switch m := p.next(t).msg.(type) {
		case *messages.CommandRejected:
			reason := m.GetReason()
			if i := strings.Index(reason, "; try again in"); i > 0 {
				reason = reason[:i]
			}
			got[reason]++
		default:
			got[fmt.Sprintf("%T", m)]++
		}
	}
	return got
}

// TestAccountsCountAttemptsWhenAsked: 32 guesses sent at once from one
// address are limited as if sent one by one: the allowance is spent when an
// attempt is asked, not when its hash is done, and one address has at most
// a few checks in flight.
func TestAccountsCountAttemptsWhenAsked(t *testing.T) {
	system := newTestSystem(t)
	db := openGated(t, false)
	accounts, _ := startAccounts(t, system, db, nil, "dave")
	guesser := newProbe(t, system)
	for i := range 32 {
		guesser.send(accounts, &messages.IdentifyAccount{Account: "dave", Password: fmt.Sprint("guess ", i), RemoteIp: "203.0.113.9"})
	}
	got := answers(t, guesser, 32)
	if checked := got[errBadCredentials]; checked > 5 || checked < 1 {
		t.Errorf("%d guesses reached the password check, want at most the allowance, 5 (answers %v)", checked, got)
	}
	if n := len(db.lookups()); n != got[errBadCredentials] {
		t.Errorf("%d passwords checked, %d answers say so", n, got[errBadCredentials])
	}
}

// TestAccountsStrangersDoNotLockTheOwnerOut: failures from one address
// limit that address (and that address against that account), never the
// account for everyone: its owner, elsewhere, identifies and changes its
// password. An IPv6 address counts by its /64.
func TestAccountsStrangersDoNotLockTheOwnerOut(t *testing.T) {
	system := newTestSystem(t)
	db := openGated(t, false)
	accounts, registry := startAccounts(t, system, db, func(c *accountsConfig) { c.FailBurst, c.FailEvery = 3, time.Hour }, "dave")
	stranger, owner := newProbe(t, system), newProbe(t, system)
	for i := range 6 {
		stranger.send(accounts, &messages.IdentifyAccount{Account: "dave", Password: fmt.Sprint("guess ", i), RemoteIp: "2001:db8:1:2::" + fmt.Sprint(i+1)})
	}
	if got := answers(t, stranger, 6); got[errBadCredentials] != 3 || got["too many failed attempts"] != 3 {
		t.Fatalf("the stranger's /64 got %v, want 3 guesses then refusals", got)
	}
	owner.send(accounts, &messages.IdentifyAccount{Account: "dave", Password: "dave's password", RemoteIp: "198.51.100.7"})
	if id := expect[*messages.AccountIdentified](t, registry); id.GetAccount() != "dave" || id.GetAccountId() == "" {
		t.Fatalf("the owner got %v", id)
	}
	owner.send(accounts, &messages.ChangePassword{Account: "dave", OldPassword: "dave's password", NewPassword: "a new password", RemoteIp: "198.51.100.7"})
	expect[*messages.PasswordChanged](t, owner)
	// The stranger's next /64 is another address.
	stranger.send(accounts, &messages.IdentifyAccount{Account: "dave", Password: "guess", RemoteIp: "2001:db8:1:3::1"})
	if got := answers(t, stranger, 1); got[errBadCredentials] != 1 {
		t.Fatalf("another /64 got %v", got)
	}
}

// TestAccountsRegistrationLimit: one address registers a few accounts,
// then one per -register-every; an IPv6 /64 is one address.
func TestAccountsRegistrationLimit(t *testing.T) {
	system := newTestSystem(t)
	db := openGated(t, false)
	accounts, registry := startAccounts(t, system, db, func(c *accountsConfig) { c.RegisterBurst, c.RegisterEvery = 2, time.Hour })
	p := newProbe(t, system)
	for i := range 3 {
		p.send(accounts, &messages.RegisterAccount{Nick: fmt.Sprint("bot", i), Password: "password!", RemoteIp: "2001:db8::" + fmt.Sprint(i+1)})
	}
	for range 2 {
		expect[*messages.AccountIdentified](t, registry)
	}
	if r := expect[*messages.CommandRejected](t, p); !strings.HasPrefix(r.GetReason(), "too many accounts registered from your address; try again in") {
		t.Fatalf("the third registration got %v", r)
	}
	// A registration that does not happen costs nothing.
	p.send(accounts, &messages.RegisterAccount{Nick: "bot0", Password: "password!", RemoteIp: "192.0.2.1"})
	if r := expect[*messages.CommandRejected](t, p); r.GetReason() != "bot0 is already registered" {
		t.Fatalf("got %v", r)
	}
	for i := range 2 {
		p.send(accounts, &messages.RegisterAccount{Nick: fmt.Sprint("other", i), Password: "password!", RemoteIp: "192.0.2.1"})
		expect[*messages.AccountIdentified](t, registry)
	}
}

// TestAccountsFairQueue: an address has at most a few checks waiting or
// running, an account a few attempts, and the workers take waiting checks
// address by address in turn: a newcomer waits behind one check of each
// address, not behind a flood.
func TestAccountsFairQueue(t *testing.T) {
	system := newTestSystem(t)
	db := openGated(t, true)
	accounts, _ := startAccounts(t, system, db, func(c *accountsConfig) { c.FailBurst = 100 }, "a1", "a2", "a3", "a4", "a5", "b1", "c1")
	flood, other := newProbe(t, system), newProbe(t, system)
	for i := range 5 {
		flood.send(accounts, &messages.IdentifyAccount{Account: fmt.Sprint("a", i+1), Password: "wrong", RemoteIp: "203.0.113.1"})
	}
	if r := expect[*messages.CommandRejected](t, flood); r.GetReason() != "too many password checks from your address at once; wait for their answers" {
		t.Fatalf("the fifth check in flight from one address got %v", r)
	}
	other.send(accounts, &messages.IdentifyAccount{Account: "b1", Password: "wrong", RemoteIp: "198.51.100.1"})
	other.sync(t, accounts)
	for range 5 { // the two running, then a3, then b1 before a4
		db.gate <- struct{}{}
	}
	got := answers(t, flood, 4)
	got2 := answers(t, other, 1)
	if got[errBadCredentials] != 4 || got2[errBadCredentials] != 1 {
		t.Fatalf("answers %v %v", got, got2)
	}
	if order := db.lookups(); slices.Index(order, "b1") > slices.Index(order, "a4") {
		t.Errorf("checks ran in the order %v; b1 should come before the flood's last", order)
	}

	// One account: at most a few attempts in flight, from any addresses.
	for i := range 5 {
		other.send(accounts, &messages.IdentifyAccount{Account: "c1", Password: "wrong", RemoteIp: fmt.Sprint("192.0.2.", i+1)})
	}
	if r := expect[*messages.CommandRejected](t, other); r.GetReason() != "the server is busy checking passwords; try again in a moment" {
		t.Fatalf("the fifth attempt in flight against one account got %v", r)
	}
	for range 4 {
		db.gate <- struct{}{}
	}
	answers(t, other, 4)
}

// TestAccountsExpire: an account nobody has identified as for longer than
// the expiry is removed, and the registry is told (which frees its nick
// and has the rooms drop its rights).
func TestAccountsExpire(t *testing.T) {
	system := newTestSystem(t)
	db := openGated(t, false)
	for name, age := range map[string]time.Duration{"old": 48 * time.Hour, "recent": time.Hour} {
		if _, err := db.CreateAccount(context.Background(), store.Account{Name: name, Nick: name, Hash: "h", Created: time.Now().Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	_, registry := startAccounts(t, system, db, func(c *accountsConfig) { c.Expiry, c.ExpireEvery = 24*time.Hour, time.Hour })
	if gone := expect[*messages.AccountRemoved](t, registry); gone.GetAccount() != "old" || gone.GetAccountId() == "" {
		t.Fatalf("got %v", gone)
	}
	if all, _ := db.Accounts(context.Background()); len(all) != 1 || all[0].Name != "recent" {
		t.Fatalf("left %v", all)
	}
}

// TestAccountsSaveRoomsFromThisNodeOnly: a connection's word on its user's
// rooms and rejoin setting is saved; the same from no sender, or from an
// actor on another node, is ignored.
func TestAccountsSaveRoomsFromThisNodeOnly(t *testing.T) {
	ctx := context.Background()
	system := newTestSystem(t)
	db := openGated(t, false)
	pid, _ := startAccounts(t, system, db, nil, "alice")
	acct, err := db.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	conn := newProbe(t, system)
	conn.send(pid, &messages.SaveAccountRooms{AccountId: acct.ID, Rooms: []string{"dev", "ops"}})
	testkit.Eventually(t, "the rooms to be saved", func() bool {
		a, _ := db.Account(ctx, "alice")
		return slices.Equal(a.Rooms, []string{"dev", "ops"})
	})

	system.Root.Send(pid, &messages.SaveAccountRooms{AccountId: acct.ID, Rooms: []string{"nosender"}})
	system.Root.RequestWithCustomSender(pid, &messages.SaveAccountRooms{AccountId: acct.ID, Rooms: []string{"remote"}}, actor.NewPID("10.0.0.9:4000", "conn-1"))
	conn.send(pid, &messages.SetRejoin{AccountId: acct.ID, On: false}) // after them
	testkit.Eventually(t, "the setting to be saved", func() bool {
		a, _ := db.Account(ctx, "alice")
		return !a.Rejoin
	})
	if a, _ := db.Account(ctx, "alice"); !slices.Equal(a.Rooms, []string{"dev", "ops"}) {
		t.Fatalf("rooms %q: a message not from this node's connection was saved", a.Rooms)
	}
}
