package main

import (
	"strings"
	"syscall"
	"testing"

	"github.com/actorchat/actorchat/internal/testkit"
)

// The shutdown deadline is a promise to the supervisor: these tests run the
// chatd binary built with fault injection and make an actor busy, wedged or
// panicking, then send SIGTERM. Nothing here is timed against the deadline
// itself (the machine may be loaded): a fault lasts 30 s or for good, so a
// chatd that waited for it would not exit before testkit's 10 s wait ends.

// chatdFaulty starts the fault-injection build with a 1 s shutdown timeout.
func chatdFaulty(t *testing.T) (*testkit.Process, string) {
	t.Helper()
	addr := testkit.FreeAddr(t)
	p := testkit.Start(t, chatdFaultsBin, nil, "-listen", addr, "-shutdown-timeout", "1s", "-flood-rate", "0")
	return p, addr
}

// joined dials and reads until the client is in the lobby.
func joined(t *testing.T, addr string) *testkit.Client {
	t.Helper()
	c := testkit.Dial(t, addr)
	for !strings.HasPrefix(c.Line(), "*** You are in room lobby") {
	}
	return c
}

// waitFault waits until the fault-injection build logs that a fault struck
// the actor with id actor: from then on it is in effect.
func waitFault(t *testing.T, p *testkit.Process, actor string) {
	t.Helper()
	testkit.Eventually(t, "the fault to strike "+actor, func() bool {
		return strings.Contains(p.Stderr.String(), `msg="fault injected" actor=`+actor+` `)
	})
}

const goodbye = "*** The server is shutting down. Goodbye!\r\nbye...\r\n"

func TestShutdownBusyConnection(t *testing.T) {
	p, addr := chatdFaulty(t)
	busy := joined(t, addr)
	other := joined(t, addr)
	busy.Send("!fault busy 30s")
	waitFault(t, p, "server/connections/conn-1")
	// The busy actor still has the line after the fault in its mailbox: it
	// is handled only when the actor is free again.
	busy.Send("/who")
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if rest := other.EOF(); !strings.HasSuffix(rest, goodbye) {
		t.Errorf("the other client read %q, want the goodbye", rest)
	}
	if code := p.Wait(t); code != exitAbandoned {
		t.Errorf("exit code %d, want %d (an actor was abandoned); log:\n%s", code, exitAbandoned, p.Stderr)
	}
	if rest := busy.EOF(); strings.Contains(rest, "bye...") {
		t.Errorf("the busy connection read %q: its actor cannot have said goodbye", rest)
	}
	log := p.Stderr.String()
	for _, want := range []string{`msg="actors did not stop before the shutdown deadline; abandoning them"`, "server/connections/conn-1", `msg="closed sockets at the shutdown deadline, some of actors that did not stop" conns=[1`} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
}

func TestShutdownWedgedRegistry(t *testing.T) {
	p, addr := chatdFaulty(t)
	a := joined(t, addr)
	b := joined(t, addr)
	a.Send("!fault registry wedge")
	waitFault(t, p, "server/registry")
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The connections do not need the registry to say goodbye.
	for _, c := range []*testkit.Client{a, b} {
		if rest := c.EOF(); !strings.HasSuffix(rest, goodbye) {
			t.Errorf("read %q, want the goodbye", rest)
		}
	}
	if code := p.Wait(t); code != exitAbandoned {
		t.Errorf("exit code %d, want %d; log:\n%s", code, exitAbandoned, p.Stderr)
	}
	if log := p.Stderr.String(); !strings.Contains(log, "server/registry") {
		t.Errorf("the log does not name the wedged registry:\n%s", log)
	}
}

// TestShutdownSpawnRacingShutdown: connections accepted while the
// connections supervisor is busy wait as parked sockets whose
// SpawnConnection reaches no actor; shutdown tells them goodbye and closes
// them instead of waiting for them.
func TestShutdownSpawnRacingShutdown(t *testing.T) {
	addr, admin := testkit.FreeAddr(t), testkit.FreeAddr(t)
	p := testkit.Start(t, chatdFaultsBin, nil, "-listen", addr, "-admin", admin, "-shutdown-timeout", "1s")
	a := joined(t, addr)
	a.Send("!fault connections busy 30s")
	waitFault(t, p, "server/connections")
	// Accepted, parked, never spawned: the supervisor is busy.
	late := make([]*testkit.Client, 3)
	for i := range late {
		late[i] = testkit.Dial(t, addr)
	}
	testkit.Eventually(t, "the late connections to be accepted", func() bool {
		return scrape(t, "http://"+admin+"/metrics")["chatd_connections_total"] == 4
	})
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for i, c := range late {
		if rest := c.EOF(); rest != goodbye {
			t.Errorf("late client %d read %q, want just the goodbye", i, rest)
		}
	}
	if code := p.Wait(t); code != exitAbandoned {
		t.Errorf("exit code %d, want %d (the busy supervisor was abandoned); log:\n%s", code, exitAbandoned, p.Stderr)
	}
	if log := p.Stderr.String(); !strings.Contains(log, `msg="said goodbye to connections that shutdown kept from their actors" connections=3`) {
		t.Errorf("the log lacks the three parked connections:\n%s", log)
	}
}

// TestServerActorPanic: a panic in the server actor resumes it (it is never
// started twice) and shutdown is clean afterwards.
func TestServerActorPanic(t *testing.T) {
	p, addr := chatdFaulty(t)
	a := joined(t, addr)
	a.Send("!fault server panic")
	testkit.Eventually(t, "the panic to be logged", func() bool {
		return strings.Contains(p.Stderr.String(), `msg="actor panicked" actor=server`)
	})
	b := joined(t, addr) // still accepting
	b.Send("/who")
	if got := b.Line(); got != "*** 2 in lobby: guest1, guest2" {
		t.Errorf("got %q", got)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(t); code != exitOK {
		t.Errorf("exit code %d, want 0; log:\n%s", code, p.Stderr)
	}
	if log := p.Stderr.String(); strings.Contains(log, "close of closed channel") {
		t.Errorf("the server actor was started twice:\n%s", log)
	}
}

// TestProductionIgnoresFaults: the production binary has no fault injection:
// a client's "!fault" line is chat, and shutdown is clean.
func TestProductionIgnoresFaults(t *testing.T) {
	addr := testkit.FreeAddr(t)
	p := testkit.Start(t, chatdBin, nil, "-listen", addr, "-shutdown-timeout", "1s")
	a := joined(t, addr)
	b := joined(t, addr)
	a.Send("!fault registry wedge")
	b.SkipUntil("<guest1> !fault registry wedge")
	b.Send("/users")
	if got := b.Line(); got != "*** 2 online:" {
		t.Errorf("got %q: the registry does not answer", got)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(t); code != exitOK {
		t.Errorf("exit code %d, want 0; log:\n%s", code, p.Stderr)
	}
}

// TestShutdownWedgedServerActor: with the server actor itself wedged,
// nobody would close the listener or tell the connections; the deadline
// still holds: the listener and every socket are closed, and chatd exits 3.
func TestShutdownWedgedServerActor(t *testing.T) {
	p, addr := chatdFaulty(t)
	a := joined(t, addr)
	a.Send("!fault server wedge")
	waitFault(t, p, "server")
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a.EOF()
	if code := p.Wait(t); code != exitAbandoned {
		t.Errorf("exit code %d, want %d; log:\n%s", code, exitAbandoned, p.Stderr)
	}
	if log := p.Stderr.String(); !strings.Contains(log, "actors=server,") {
		t.Errorf("the log does not name the server actor:\n%s", log)
	}
}
