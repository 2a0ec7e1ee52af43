package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/internal/testkit"
	"github.com/actorchat/actorchat/messages"
)

// faultyStore is a real embedded store that a test can make fail (as a
// database that is down) and that records the size of every write.
type faultyStore struct {
	*store.DB
	mu      sync.Mutex
	failing bool
	writes  []int // records in each write, failed ones included
}

var errStoreDown = errors.New("connection refused (the test's store is down)")

func openTestStore(t *testing.T) *faultyStore {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return &faultyStore{DB: db}
}

func (f *faultyStore) setFailing(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = v
}

func (f *faultyStore) fails() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failing
}

func (f *faultyStore) Write(ctx context.Context, b store.Batch) error {
	f.mu.Lock()
	f.writes = append(f.writes, b.Len())
	failing := f.failing
	f.mu.Unlock()
	if failing {
		return errStoreDown
	}
	return f.DB.Write(ctx, b)
}

func (f *faultyStore) LoadRoom(ctx context.Context, room string, limit int) (store.Room, error) {
	if f.fails() {
		return store.Room{}, errStoreDown
	}
	return f.DB.LoadRoom(ctx, room, limit)
}

func (f *faultyStore) writeSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.writes...)
}

// stored returns the texts stored for room, oldest first.
func (f *faultyStore) stored(t *testing.T, room string) []string {
	t.Helper()
	r, err := f.DB.LoadRoom(context.Background(), room, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range r.History {
		out = append(out, p.Text)
	}
	return out
}

// testStoreConfig never flushes on its own: the test says when.
func testStoreConfig() storeConfig {
	return storeConfig{FlushInterval: time.Hour, BatchMax: 1000, QueueMax: 1000, Timeout: 5 * time.Second, PruneEvery: time.Hour}
}

func startStoreActor(t *testing.T, system *actor.ActorSystem, db Store, cfg storeConfig, logger *slog.Logger, m *Metrics) *actor.PID {
	t.Helper()
	pid := supervised(t, system, newStoreActor(db, cfg, logger, m), actor.ResumeDirective)
	t.Cleanup(func() { _ = system.Root.StopFuture(pid).Wait() })
	return pid
}

func post(room string, i int) *messages.MessagePosted {
	return &messages.MessagePosted{Room: room, Nick: "alice", Text: fmt.Sprintf("line %d", i), UnixMillis: time.Now().UnixMilli()}
}

func lines(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("line %d", i))
	}
	return out
}

// flush asks the store actor to write everything and waits for its answer.
func flush(t *testing.T, p *probe, pid *actor.PID) {
	t.Helper()
	p.send(pid, &messages.FlushStore{})
	expect[*messages.StoreFlushed](t, p)
}

func TestStoreActorWritesInBatches(t *testing.T) {
	system := newTestSystem(t)
	db := openTestStore(t)
	m := NewMetrics()
	pid := startStoreActor(t, system, db, testStoreConfig(), testLogger(), m)
	p := newProbe(t, system)

	for i := range 50 {
		p.send(pid, post("dev", i))
	}
	p.send(pid, &messages.TopicChanged{Room: "dev", Nick: "bob", Topic: "first", UnixMillis: 1})
	p.send(pid, &messages.TopicChanged{Room: "dev", Nick: "carol", Topic: "second", UnixMillis: 2})
	p.sync(t, pid)
	if got := db.writeSizes(); len(got) != 0 {
		t.Fatalf("wrote %v before the flush interval", got)
	}
	flush(t, p, pid)
	// One write: 50 posts and the room's latest topic.
	if got := db.writeSizes(); fmt.Sprint(got) != "[51]" {
		t.Fatalf("writes %v, want one of 51 records", got)
	}
	if got := db.stored(t, "dev"); fmt.Sprint(got) != fmt.Sprint(lines(0, 50)) {
		t.Fatalf("stored %v", got)
	}
	r, _ := db.DB.LoadRoom(context.Background(), "dev", 1)
	if r.Topic.Text != "second" || r.Topic.Nick != "carol" {
		t.Fatalf("topic %+v", r.Topic)
	}
	if got := testutil.ToFloat64(m.storeWrites); got != 51 {
		t.Errorf("chatd_store_writes_total %v", got)
	}
	if got := testutil.ToFloat64(m.storeQueued); got != 0 {
		t.Errorf("chatd_store_queue_records %v", got)
	}
}

func TestStoreActorFlushInterval(t *testing.T) {
	system := newTestSystem(t)
	db := openTestStore(t)
	cfg := testStoreConfig()
	cfg.FlushInterval = 20 * time.Millisecond
	pid := startStoreActor(t, system, db, cfg, testLogger(), NewMetrics())
	p := newProbe(t, system)
	for i := range 100 {
		p.send(pid, post("dev", i))
	}
	testkit.Eventually(t, "100 posts stored", func() bool { return len(db.stored(t, "dev")) == 100 })
	if got := db.stored(t, "dev"); fmt.Sprint(got) != fmt.Sprint(lines(0, 100)) {
		t.Fatalf("stored %v", got)
	}
	if n := len(db.writeSizes()); n > 10 {
		t.Errorf("%d writes for 100 posts sent at once: not batched", n)
	}
}

func TestStoreActorFullBatchDoesNotWait(t *testing.T) {
	system := newTestSystem(t)
	db := openTestStore(t)
	cfg := testStoreConfig()
	cfg.BatchMax = 10
	pid := startStoreActor(t, system, db, cfg, testLogger(), NewMetrics())
	p := newProbe(t, system)
	for i := range 35 {
		p.send(pid, post("dev", i))
	}
	// Three whole batches are written without waiting for the (hour-long)
	// flush interval; the last five wait.
	testkit.Eventually(t, "30 posts stored", func() bool { return len(db.stored(t, "dev")) == 30 })
	flush(t, p, pid)
	if got := db.stored(t, "dev"); fmt.Sprint(got) != fmt.Sprint(lines(0, 35)) {
		t.Fatalf("stored %v", got)
	}
	for _, n := range db.writeSizes() {
		if n > 10 {
			t.Fatalf("a write of %d records, over the batch bound: %v", n, db.writeSizes())
		}
	}
}

func TestStoreActorQueueBound(t *testing.T) {
	system := newTestSystem(t)
	db := openTestStore(t)
	db.setFailing(true)
	cfg := testStoreConfig()
	cfg.QueueMax = 20
	logs := &testkit.SyncBuffer{}
	m := NewMetrics()
	pid := startStoreActor(t, system, db, cfg, slog.New(slog.NewTextHandler(logs, nil)), m)
	p := newProbe(t, system)
	for i := range 30 {
		p.send(pid, post("dev", i))
	}
	p.sync(t, pid)
	if got := testutil.ToFloat64(m.storeDropped); got != 10 {
		t.Fatalf("chatd_store_dropped_total %v, want 10", got)
	}
	if got := testutil.ToFloat64(m.storeQueued); got != 20 {
		t.Fatalf("chatd_store_queue_records %v, want 20", got)
	}
	if n := strings.Count(logs.String(), "queue full"); n != 1 {
		t.Fatalf("logged a full queue %d times, want once:\n%s", n, logs)
	}
	// The store comes back: the 20 that fitted are written, in order.
	db.setFailing(false)
	flush(t, p, pid)
	if got := db.stored(t, "dev"); fmt.Sprint(got) != fmt.Sprint(lines(0, 20)) {
		t.Fatalf("stored %v", got)
	}
}

func TestStoreActorRetriesUntilTheStoreIsBack(t *testing.T) {
	system := newTestSystem(t)
	db := openTestStore(t)
	db.setFailing(true)
	cfg := testStoreConfig()
	cfg.FlushInterval = 10 * time.Millisecond
	logs := &testkit.SyncBuffer{}
	m := NewMetrics()
	pid := startStoreActor(t, system, db, cfg, slog.New(slog.NewTextHandler(logs, nil)), m)
	p := newProbe(t, system)
	for i := range 5 {
		p.send(pid, post("dev", i))
	}
	testkit.Eventually(t, "the store reported down", func() bool { return m.storeDown.Load() != nil && len(db.writeSizes()) >= 2 })
	if got := testutil.ToFloat64(m.storeUp); got != 0 {
		t.Fatalf("chatd_store_up %v while down", got)
	}
	// Chat goes on meanwhile: more posts queue behind the failed ones.
	for i := 5; i < 10; i++ {
		p.send(pid, post("dev", i))
	}
	db.setFailing(false)
	testkit.Eventually(t, "every post stored after the store came back", func() bool { return len(db.stored(t, "dev")) == 10 })
	if got := db.stored(t, "dev"); fmt.Sprint(got) != fmt.Sprint(lines(0, 10)) {
		t.Fatalf("stored %v", got)
	}
	testkit.Eventually(t, "the store reported up", func() bool { return m.storeDown.Load() == nil && testutil.ToFloat64(m.storeUp) == 1 })
	if got := testutil.ToFloat64(m.storeErrors); got < 2 {
		t.Errorf("chatd_store_errors_total %v", got)
	}
	if n := strings.Count(logs.String(), "write failed"); n != 1 {
		t.Errorf("logged the failure %d times, want once per episode:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "writing again") {
		t.Errorf("no log line of the recovery:\n%s", logs)
	}
}

func TestStoreActorLoadSeesEverythingQueuedBeforeIt(t *testing.T) {
	system := newTestSystem(t)
	db := openTestStore(t)
	pid := startStoreActor(t, system, db, testStoreConfig(), testLogger(), NewMetrics())
	p := newProbe(t, system)
	for i := range 5 {
		p.send(pid, post("dev", i))
	}
	p.send(pid, &messages.TopicChanged{Room: "dev", Nick: "bob", Topic: "hello", UnixMillis: 1234})
	p.send(pid, post("other", 99))
	p.send(pid, &messages.LoadRoom{Room: "dev", Limit: 3})
	got := expect[*messages.RoomLoaded](t, p)
	var texts []string
	for _, m := range got.GetHistory() {
		texts = append(texts, m.GetText())
	}
	if got.GetError() != "" || fmt.Sprint(texts) != fmt.Sprint(lines(2, 5)) || got.GetTopic() != "hello" || got.GetTopicNick() != "bob" || got.GetTopicUnixMillis() != 1234 {
		t.Fatalf("loaded %v", got)
	}
}

func TestStoreActorLoadWhileDownGetsWhatIsQueued(t *testing.T) {
	system := newTestSystem(t)
	db := openTestStore(t)
	cfg := testStoreConfig()
	cfg.FlushInterval = 10 * time.Millisecond
	m := NewMetrics()
	pid := startStoreActor(t, system, db, cfg, testLogger(), m)
	p := newProbe(t, system)
	p.send(pid, post("dev", 0))
	flush(t, p, pid)
	db.setFailing(true)
	for i := 1; i < 4; i++ {
		p.send(pid, post("dev", i))
	}
	p.send(pid, &messages.TopicChanged{Room: "dev", Nick: "bob", Topic: "queued", UnixMillis: 1})
	testkit.Eventually(t, "the store reported down", func() bool { return m.storeDown.Load() != nil })
	p.send(pid, &messages.LoadRoom{Room: "dev", Limit: 10})
	got := expect[*messages.RoomLoaded](t, p)
	var texts []string
	for _, m := range got.GetHistory() {
		texts = append(texts, m.GetText())
	}
	// What was written before is out of reach; what is queued is there.
	if got.GetError() == "" || fmt.Sprint(texts) != fmt.Sprint(lines(1, 4)) || got.GetTopic() != "queued" {
		t.Fatalf("loaded %v", got)
	}
}

func TestStoreActorPrunes(t *testing.T) {
	system := newTestSystem(t)
	db := openTestStore(t)
	var b store.Batch
	for i := range 5 {
		b.Posts = append(b.Posts, store.Post{Room: "dev", Nick: "a", Text: fmt.Sprintf("line %d", i), At: time.Now()})
	}
	if err := db.DB.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	cfg := testStoreConfig()
	cfg.Retention = store.Retention{PerRoom: 2}
	m := NewMetrics()
	startStoreActor(t, system, db, cfg, testLogger(), m)
	testkit.Eventually(t, "the retention applied at start", func() bool { return len(db.stored(t, "dev")) == 2 })
	if got := db.stored(t, "dev"); fmt.Sprint(got) != fmt.Sprint(lines(3, 5)) {
		t.Fatalf("kept %v", got)
	}
	testkit.Eventually(t, "the pruned metric", func() bool { return testutil.ToFloat64(m.storePruned) == 3 })
}

// TestStoreActorKeepsModerationWhenFull: a ban is never dropped for a full
// queue, and is written in order with the posts once the store is back.
func TestStoreActorKeepsModerationWhenFull(t *testing.T) {
	system := newTestSystem(t)
	db := openTestStore(t)
	db.setFailing(true)
	cfg := testStoreConfig()
	cfg.QueueMax = 2
	m := NewMetrics()
	pid := startStoreActor(t, system, db, cfg, testLogger(), m)
	p := newProbe(t, system)
	for i := range 3 {
		p.send(pid, post("dev", i))
	}
	p.send(pid, &messages.RoomEntry{Room: "dev", Kind: entryBan, Subject: "account:mallory", Reason: "spam", By: "alice", UnixMillis: 1})
	p.sync(t, pid)
	if got := testutil.ToFloat64(m.storeDropped); got != 1 {
		t.Fatalf("dropped %v, want the one post over the bound", got)
	}
	db.setFailing(false)
	flush(t, p, pid)
	entries, err := db.Entries(context.Background(), "dev", time.UnixMilli(0))
	if err != nil || len(entries) != 1 || entries[0].Subject != "account:mallory" {
		t.Fatalf("entries %+v %v", entries, err)
	}
}
