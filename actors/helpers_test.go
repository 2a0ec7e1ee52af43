package actors

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/actorchat/actorchat/internal/faults"
	"github.com/actorchat/actorchat/internal/telnet"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

// waitTimeout bounds every wait in these tests (see testkit.WaitTimeout).
const waitTimeout = testkit.WaitTimeout

// testLogger logs to stderr when CHATD_TEST_LOG is set, else nowhere.
func testLogger() *slog.Logger {
	if os.Getenv("CHATD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newTestSystem returns a fresh actor system that is shut down after the test.
func newTestSystem(t *testing.T) *actor.ActorSystem {
	t.Helper()
	logger := testLogger()
	system := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return protoactorLogger(logger) }),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
	t.Cleanup(system.Shutdown)
	return system
}

// probe is an actor that records every message it receives (lifecycle
// messages aside), so that a test can talk to the actor under test as a peer
// and assert what it was sent, in order.
type probe struct {
	system *actor.ActorSystem
	pid    *actor.PID
	member string // the member id the probe speaks as
	got    chan any
}

type probeActor struct{ got chan any }

func (p *probeActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
		return
	}
	p.got <- envelope{msg: ctx.Message(), sender: ctx.Sender()}
}

// envelope is a recorded message and who sent it.
type envelope struct {
	msg    any
	sender *actor.PID
}

func newProbe(t *testing.T, system *actor.ActorSystem) *probe {
	t.Helper()
	got := make(chan any, 4096)
	pid := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &probeActor{got: got} }))
	return &probe{system: system, pid: pid, member: "m-" + pid.GetId(), got: got}
}

// send delivers msg to target with the probe as its sender. The probe speaks
// as itself: a member_id or reply_to the message leaves empty is filled in
// with the probe's.
func (p *probe) send(target *actor.PID, msg any) {
	if m, ok := msg.(proto.Message); ok {
		r := m.ProtoReflect()
		fields := r.Descriptor().Fields()
		if f := fields.ByName("member_id"); f != nil && f.Kind() == protoreflect.StringKind && r.Get(f).String() == "" {
			r.Set(f, protoreflect.ValueOfString(p.member))
		}
		if f := fields.ByName("reply_to"); f != nil && !r.Has(f) {
			r.Set(f, protoreflect.ValueOfMessage(refOf(p.pid).ProtoReflect()))
		}
	}
	p.system.Root.RequestWithCustomSender(target, msg, p.pid)
}

// next returns the next message the probe received.
func (p *probe) next(t *testing.T) envelope {
	t.Helper()
	select {
	case e := <-p.got:
		return e.(envelope)
	case <-time.After(waitTimeout):
		t.Fatalf("probe: no message within %v", waitTimeout)
		return envelope{}
	}
}

// expect returns the next message, which must be a T.
func expect[T any](t *testing.T, p *probe) T {
	t.Helper()
	e := p.next(t)
	m, ok := e.msg.(T)
	if !ok {
		var want T
		t.Fatalf("probe got %T %v, want %T", e.msg, e.msg, want)
	}
	return m
}

// sync pings target from the probe and waits for its Pong. Whatever target
// sent the probe before it handled the ping arrives first, so after sync a
// test can assert that nothing else was sent.
func (p *probe) sync(t *testing.T, target *actor.PID) {
	t.Helper()
	p.send(target, &messages.Ping{})
	expect[*messages.Pong](t, p)
}

// expectQuiet asserts that the probe holds no further message.
func (p *probe) expectQuiet(t *testing.T) {
	t.Helper()
	select {
	case e := <-p.got:
		t.Fatalf("probe got unexpected %T %v", e.(envelope).msg, e.(envelope).msg)
	default:
	}
}

// supervised spawns the actor made by producer, with the tests' fault
// injection, under a parent that applies directive to its failures, as the
// server does.
func supervised(t *testing.T, system *actor.ActorSystem, producer actor.Producer, directive actor.Directive) *actor.PID {
	t.Helper()
	return supervisedProps(t, system, props(producer, faultMiddleware(t)), directive)
}

// faultMiddleware is the tests' fault injection (package faults): actors
// with it act on InjectFault. What it wedges is released when the test ends.
func faultMiddleware(t testing.TB) []actor.ReceiverMiddleware {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return []actor.ReceiverMiddleware{faults.New(release).Middleware}
}

// supervisedProps is supervised for an actor with props of its own.
func supervisedProps(t *testing.T, system *actor.ActorSystem, props *actor.Props, directive actor.Directive) *actor.PID {
	t.Helper()
	child := make(chan *actor.PID, 1)
	parent := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Started); ok {
			child <- ctx.Spawn(props)
		}
	}, actor.WithSupervisor(panicSupervisor{logger: testLogger(), directive: directive}))
	system.Root.Spawn(parent)
	return <-child
}

// lineConn reads and writes lines on a client connection, with a deadline
// on every read.
type lineConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func newLineConn(t *testing.T, conn net.Conn) *lineConn {
	return &lineConn{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// send writes one line with a CRLF, as telnet does.
func (c *lineConn) send(line string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
	if _, err := fmt.Fprintf(c.conn, "%s\r\n", line); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

// line reads one line; it must end with CRLF, which is removed.
func (c *lineConn) line() string {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	s, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read line (got %q so far): %v", s, err)
	}
	if !strings.HasSuffix(s, "\r\n") {
		c.t.Fatalf("line %q does not end with CRLF", s)
	}
	s = strings.TrimPrefix(s, telnet.Offer) // what a telnet client consumes
	return strings.TrimSuffix(s, "\r\n")
}

// expect reads one line, which must be want.
func (c *lineConn) expect(want string) {
	c.t.Helper()
	if got := c.line(); got != want {
		c.t.Fatalf("got line %q, want %q", got, want)
	}
}

// expectPrefix reads one line, which must start with prefix, and returns it.
func (c *lineConn) expectPrefix(prefix string) string {
	c.t.Helper()
	got := c.line()
	if !strings.HasPrefix(got, prefix) {
		c.t.Fatalf("got line %q, want one starting with %q", got, prefix)
	}
	return got
}

// skipUntil reads lines until one equals want, and returns those before it.
func (c *lineConn) skipUntil(want string) []string {
	c.t.Helper()
	var skipped []string
	for {
		got := c.line()
		if got == want {
			return skipped
		}
		skipped = append(skipped, got)
	}
}

// expectSilence asserts that nothing arrives for d: no byte, not even a
// telnet option.
func (c *lineConn) expectSilence(d time.Duration) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	b, err := c.r.Peek(1)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		c.t.Fatalf("got %q (err %v), want nothing for %v", b, err, d)
	}
}

// expectEOF reads until the server closes the connection; no line may come.
func (c *lineConn) expectEOF() {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	s, err := c.r.ReadString('\n')
	if err == nil || s != "" {
		c.t.Fatalf("got %q (err %v), want the connection closed", s, err)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.t.Fatalf("connection still open after %v", waitTimeout)
	}
}

// actorsUnder lists the ids of the live actors whose id starts with prefix,
// without the prefix, sorted.
func actorsUnder(system *actor.ActorSystem, prefix string) []string {
	var out []string
	for _, bucket := range system.ProcessRegistry.LocalPIDs.LocalPIDs {
		for _, id := range bucket.Keys() {
			if strings.HasPrefix(id, prefix) {
				out = append(out, strings.TrimPrefix(id, prefix))
			}
		}
	}
	slices.Sort(out)
	return out
}

// memberNicks returns the nicks of a MemberList, in its order.
func memberNicks(l *messages.MemberList) []string {
	out := make([]string, len(l.GetMembers()))
	for i, m := range l.GetMembers() {
		out[i] = m.GetNick()
	}
	return out
}
