package actors

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/messages"
)

// Store is where history and topics are kept: *store.DB (SQLite or
// PostgreSQL). The store actor calls it from one worker goroutine, never
// from a room.
type Store interface {
	Write(ctx context.Context, b store.Batch) error
	LoadRoom(ctx context.Context, room string, limit int) (store.Room, error)
	ClaimRoom(ctx context.Context, owner store.Entry) (store.Entry, bool, error)
	Prune(ctx context.Context, r store.Retention, now time.Time) (int64, error)
}

// storeConfig is the part of Config the store actor uses.
type storeConfig struct {
	FlushInterval time.Duration   // a queued record is written within this (plus one write)
	BatchMax      int             // records in one write at most
	QueueMax      int             // records queued at most; past it new ones are not stored
	Timeout       time.Duration   // one database call at most
	Retention     store.Retention // what to keep
	PruneEvery    time.Duration   // how often to apply the retention
}

// Retry back-off after a failed write.
const (
	minStoreRetry = 100 * time.Millisecond
	maxStoreRetry = 5 * time.Second
)

// storeActor takes every post and topic change of the node's rooms as
// messages and writes them to the store in batches. Rooms never wait for it,
// and it never waits for the database: one worker goroutine makes the calls,
// one job at a time, and reports each as a StoreJobDone message. So a slow or
// unreachable database delays no delivery; while it is down, records queue up
// to QueueMax and the failed batch is retried with back-off; past the bound
// new records are dropped from storage only, counted, and logged once per
// episode.
//
// Jobs run in the order they are handed out, and a room's load (or claim)
// is handed out only after every record queued before it has been written,
// so a room that starts again finds everything its earlier instance posted.
type storeActor struct {
	// Static after construction.
	db      Store
	cfg     storeConfig
	logger  *slog.Logger
	metrics *Metrics
	now     func() time.Time

	// Owned by Receive.
	jobs       chan storeJob // to the worker; it holds at most one job
	workerDone chan struct{} // closed when the worker returns
	base       context.Context
	cancel     context.CancelFunc // ends the worker's call at once when the actor stops
	busy       *storeJob          // the job the worker has; nil: idle
	posts      []store.Post       // queued posts, oldest first
	topics     map[string]store.Topic
	entries    []store.EntryChange   // queued moderation changes, in order
	loads      []*messages.LoadRoom  // loads waiting for the queue to be written
	claims     []*messages.ClaimRoom // claims waiting for the queue to be written
	flushers   []*messages.ActorRef  // FlushStore requests waiting for an empty queue
	flushArmed bool                  // the flush timer is running
	flushDue   bool                  // write what is queued as soon as the worker is free
	pruneDue   bool
	down       bool // the last write failed; waiting for the retry
	backoff    time.Duration
	lastErr    string
	dropped    uint64 // records not stored in the current episode of a full queue
}

// storeJob is one call the worker makes.
type storeJob struct {
	kind  messages.StoreJob
	batch store.Batch
	load  *messages.LoadRoom
	claim *messages.ClaimRoom
}

func newStoreActor(db Store, cfg storeConfig, logger *slog.Logger, metrics *Metrics) actor.Producer {
	return func() actor.Actor {
		return &storeActor{db: db, cfg: cfg, logger: logger, metrics: metrics, now: time.Now, topics: make(map[string]store.Topic)}
	}
}

func (s *storeActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.handleStarted(ctx)
	case *actor.Stopped:
		s.handleStopped()
	case *actor.Stopping, *actor.Restarting:

	case *messages.MessagePosted:
		s.handlePosted(ctx, msg)
	case *messages.TopicChanged:
		s.handleTopicChanged(ctx, msg)
	case *messages.RoomEntry:
		s.handleRoomEntry(ctx, msg)
	case *messages.LoadRoom:
		s.handleLoadRoom(ctx, msg)
	case *messages.ClaimRoom:
		s.handleClaimRoom(ctx, msg)
	case *messages.FlushStore:
		s.handleFlushStore(ctx, msg)
	case *messages.StoreTimer:
		s.handleTimer(ctx, msg)
	case *messages.StoreJobDone:
		s.handleJobDone(ctx, msg)
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	}
}

func (s *storeActor) handleStarted(ctx actor.Context) {
	if s.jobs != nil {
		return // resumed after a panic: the worker runs on
	}
	s.jobs = make(chan storeJob, 1)
	s.workerDone = make(chan struct{})
	s.base, s.cancel = context.WithCancel(context.Background())
	go s.work(ctx.ActorSystem(), ctx.Self())
	s.metrics.storeUp.Set(1)
	s.pruneDue = true // expired bans and k-lines go whatever the retention
	s.dispatch(ctx)
}

// handleStopped ends the worker once its job is done. Whatever is still
// queued was not written: shutdown flushes first (FlushStore), so this is
// only what came after, or what a dead database kept.
func (s *storeActor) handleStopped() {
	if s.jobs == nil {
		return
	}
	s.cancel()
	close(s.jobs)
	s.jobs = nil
	<-s.workerDone
	if n := s.queued(); n > 0 {
		s.logger.Error("store: posts and topics not written at shutdown; they are lost from the history", "records", n, "error", s.lastErr)
	}
}

func (s *storeActor) handlePosted(ctx actor.Context, msg *messages.MessagePosted) {
	if !s.admit() {
		return
	}
	s.posts = append(s.posts, store.Post{Room: msg.GetRoom(), Nick: msg.GetNick(), Text: msg.GetText(), Action: msg.GetAction(), At: time.UnixMilli(msg.GetUnixMillis())})
	s.queuedOne(ctx)
}

func (s *storeActor) handleTopicChanged(ctx actor.Context, msg *messages.TopicChanged) {
	_, replaces := s.topics[msg.GetRoom()]
	if !replaces && !s.admit() {
		return
	}
	s.topics[msg.GetRoom()] = store.Topic{Room: msg.GetRoom(), Text: msg.GetTopic(), Nick: msg.GetNick(), At: time.UnixMilli(msg.GetUnixMillis())}
	s.queuedOne(ctx)
}

// handleRoomEntry queues a moderation change. It is never dropped for a
// full queue (a lost ban would let someone back in after a restart): such
// changes come from people's commands, a handful at a time.
func (s *storeActor) handleRoomEntry(ctx actor.Context, msg *messages.RoomEntry) {
	s.entries = append(s.entries, store.EntryChange{Entry: entryOf(msg), Delete: msg.GetDelete()})
	s.queuedOne(ctx)
}

// entryOf is a RoomEntry as the store keeps it.
func entryOf(m *messages.RoomEntry) store.Entry {
	e := store.Entry{Room: m.GetRoom(), Kind: m.GetKind(), Subject: m.GetSubject(), Label: m.GetLabel(), Reason: m.GetReason(), By: m.GetBy(),
		At: time.UnixMilli(m.GetUnixMillis())}
	if m.GetExpiresUnixMillis() != 0 {
		e.Expires = time.UnixMilli(m.GetExpiresUnixMillis())
	}
	return e
}

// admit reports whether one more record fits in the queue; one that does not
// is counted and dropped (from storage only), and the first drop of an
// episode is logged.
func (s *storeActor) admit() bool {
	if s.queued() < s.cfg.QueueMax {
		return true
	}
	if s.dropped == 0 {
		s.logger.Warn("store: queue full; new posts are delivered but not stored until it drains",
			"queued", s.queued(), "limit", s.cfg.QueueMax, "error", s.lastErr)
	}
	s.dropped++
	s.metrics.storeDropped.Inc()
	return false
}

// queuedOne arms the flush timer for a record just queued.
func (s *storeActor) queuedOne(ctx actor.Context) {
	s.metrics.storeQueued.Set(float64(s.queued()))
	if !s.flushArmed && !s.flushDue {
		s.flushArmed = true
		s.after(ctx, s.cfg.FlushInterval, messages.StoreTimerKind_STORE_TIMER_KIND_FLUSH)
	}
	if len(s.posts) >= s.cfg.BatchMax {
		s.flushDue = true
	}
	s.dispatch(ctx)
}

func (s *storeActor) queued() int { return len(s.posts) + len(s.topics) + len(s.entries) }

// handleLoadRoom queues a room's load behind every record queued before it.
func (s *storeActor) handleLoadRoom(ctx actor.Context, msg *messages.LoadRoom) {
	if s.down {
		// Do not wait for the database to come back: the room answers its
		// joiners with what is still queued for it.
		s.answerLoad(ctx, msg, &messages.RoomLoaded{Room: msg.GetRoom(), Error: "the store is down: " + s.lastErr})
		return
	}
	s.loads = append(s.loads, msg)
	if s.queued() > 0 {
		s.flushDue = true
	}
	s.dispatch(ctx)
}

// handleClaimRoom queues a claim behind every record queued before it.
func (s *storeActor) handleClaimRoom(ctx actor.Context, msg *messages.ClaimRoom) {
	if s.down {
		reply(ctx, msg.GetReplyTo(), &messages.RoomClaimed{RequestId: msg.GetRequestId(), Error: "the store is down: " + s.lastErr})
		return
	}
	s.claims = append(s.claims, msg)
	if s.queued() > 0 {
		s.flushDue = true
	}
	s.dispatch(ctx)
}

func (s *storeActor) handleFlushStore(ctx actor.Context, msg *messages.FlushStore) {
	s.flushers = append(s.flushers, msg.GetReplyTo())
	s.flushDue = s.queued() > 0
	s.dispatch(ctx)
	s.answerFlushers(ctx)
}

func (s *storeActor) handleTimer(ctx actor.Context, msg *messages.StoreTimer) {
	switch msg.GetKind() {
	case messages.StoreTimerKind_STORE_TIMER_KIND_FLUSH:
		s.flushArmed = false
		s.flushDue = s.queued() > 0
	case messages.StoreTimerKind_STORE_TIMER_KIND_RETRY:
		s.flushDue = s.queued() > 0
		s.down = false // try again; a failure sets it again
	case messages.StoreTimerKind_STORE_TIMER_KIND_PRUNE:
		s.pruneDue = true
	}
	s.dispatch(ctx)
}

// dispatch hands the worker its next job if it is free: a write when one is
// due (or loads wait behind the queue), else a load, else a prune.
func (s *storeActor) dispatch(ctx actor.Context) {
	if s.busy != nil || s.jobs == nil || s.down {
		return
	}
	var j storeJob
	switch {
	case s.flushDue && s.queued() > 0:
		j = storeJob{kind: messages.StoreJob_STORE_JOB_WRITE, batch: s.takeBatch()}
	case len(s.loads) > 0:
		j = storeJob{kind: messages.StoreJob_STORE_JOB_LOAD, load: s.loads[0]}
		s.loads = s.loads[1:]
	case len(s.claims) > 0:
		j = storeJob{kind: messages.StoreJob_STORE_JOB_CLAIM, claim: s.claims[0]}
		s.claims = s.claims[1:]
	case s.pruneDue:
		s.pruneDue = false
		j = storeJob{kind: messages.StoreJob_STORE_JOB_PRUNE}
	default:
		return
	}
	s.busy = &j
	s.jobs <- j // never blocks: the worker is idle and the channel holds one
}

// takeBatch takes up to BatchMax posts, oldest first, and every queued
// topic, off the queue.
func (s *storeActor) takeBatch() store.Batch {
	n := min(len(s.posts), s.cfg.BatchMax)
	b := store.Batch{Posts: s.posts[:n:n]}
	s.posts = s.posts[n:]
	if len(s.posts) == 0 {
		s.posts = nil // let the old array go
	}
	for room, t := range s.topics {
		b.Topics = append(b.Topics, t)
		delete(s.topics, room)
	}
	b.Entries, s.entries = s.entries, nil
	return b
}

// putBack returns a batch that failed to the front of the queue, unless a
// newer topic for the same room came meanwhile.
func (s *storeActor) putBack(b store.Batch) {
	s.posts = append(b.Posts, s.posts...)
	s.entries = append(b.Entries, s.entries...)
	for _, t := range b.Topics {
		if _, newer := s.topics[t.Room]; !newer {
			s.topics[t.Room] = t
		}
	}
}

func (s *storeActor) handleJobDone(ctx actor.Context, msg *messages.StoreJobDone) {
	j := s.busy
	if j == nil || j.kind != msg.GetJob() {
		return // cannot happen: one job at a time
	}
	s.busy = nil
	switch j.kind {
	case messages.StoreJob_STORE_JOB_WRITE:
		s.writeDone(ctx, j.batch, msg)
	case messages.StoreJob_STORE_JOB_LOAD:
		s.answerLoad(ctx, j.load, msg.GetLoaded())
	case messages.StoreJob_STORE_JOB_CLAIM:
		res := msg.GetClaimed()
		res.RequestId = j.claim.GetRequestId()
		reply(ctx, j.claim.GetReplyTo(), res)
	case messages.StoreJob_STORE_JOB_PRUNE:
		s.pruneDone(ctx, msg)
	}
	s.dispatch(ctx)
	s.answerFlushers(ctx)
}

func (s *storeActor) writeDone(ctx actor.Context, b store.Batch, msg *messages.StoreJobDone) {
	elapsed := time.Duration(msg.GetMicros()) * time.Microsecond
	s.metrics.storeWriteSeconds.Observe(elapsed.Seconds())
	if msg.GetError() != "" {
		s.metrics.storeErrors.Inc()
		s.putBack(b)
		s.backoff = min(max(2*s.backoff, minStoreRetry), maxStoreRetry)
		if !s.down && s.lastErr == "" {
			s.logger.Error("store: write failed; chat goes on, posts are queued and retried",
				"error", msg.GetError(), "queued", s.queued(), "limit", s.cfg.QueueMax)
			s.metrics.storeUp.Set(0)
			s.metrics.storeDown.Store(&storeDown{since: s.now(), err: msg.GetError()})
		}
		s.down, s.lastErr = true, msg.GetError()
		s.after(ctx, s.backoff, messages.StoreTimerKind_STORE_TIMER_KIND_RETRY)
		s.answerWaitingLoads(ctx)
		return
	}
	s.metrics.storeWrites.Add(float64(b.Len()))
	s.metrics.storeBatchRecords.Observe(float64(b.Len()))
	if s.lastErr != "" {
		s.logger.Info("store: writing again", "after_error", s.lastErr, "not_stored", s.dropped)
		s.metrics.storeUp.Set(1)
		s.metrics.storeDown.Store(nil)
	} else if s.dropped > 0 && s.queued() < s.cfg.QueueMax {
		s.logger.Info("store: queue has room again", "not_stored", s.dropped)
	}
	if s.queued() < s.cfg.QueueMax {
		s.dropped = 0
	}
	s.down, s.lastErr, s.backoff = false, "", 0
	// What came during the write waits for the next flush, unless someone
	// waits for it or a whole batch is there: a busy room is written in
	// batches, not a write per post.
	s.flushDue = s.queued() > 0 && (len(s.loads) > 0 || len(s.claims) > 0 || len(s.flushers) > 0 || len(s.posts) >= s.cfg.BatchMax)
	if s.queued() > 0 && !s.flushDue && !s.flushArmed {
		s.flushArmed = true
		s.after(ctx, s.cfg.FlushInterval, messages.StoreTimerKind_STORE_TIMER_KIND_FLUSH)
	}
	s.metrics.storeQueued.Set(float64(s.queued()))
}

// answerWaitingLoads answers every waiting load and claim now that the
// database is down: waiting for it would leave the rooms' joiners waiting.
func (s *storeActor) answerWaitingLoads(ctx actor.Context) {
	for _, l := range s.loads {
		s.answerLoad(ctx, l, &messages.RoomLoaded{Room: l.GetRoom(), Error: "the store is down: " + s.lastErr})
	}
	s.loads = nil
	for _, c := range s.claims {
		reply(ctx, c.GetReplyTo(), &messages.RoomClaimed{RequestId: c.GetRequestId(), Error: "the store is down: " + s.lastErr})
	}
	s.claims = nil
}

// answerLoad sends a load's result to the room. A failed load is answered
// with what is still queued for the room: the posts and topic it had before
// it stopped that are not written yet.
func (s *storeActor) answerLoad(ctx actor.Context, req *messages.LoadRoom, res *messages.RoomLoaded) {
	if res == nil {
		res = &messages.RoomLoaded{Room: req.GetRoom(), Error: "no result"}
	}
	if res.GetError() != "" {
		s.logger.Warn("store: could not load a room's history", "room", req.GetRoom(), "error", res.GetError())
		var h []*messages.MessagePosted
		for _, p := range s.posts {
			if p.Room == req.GetRoom() {
				h = append(h, postedOf(p))
			}
		}
		res.History = h[max(0, len(h)-int(req.GetLimit())):]
		if t, ok := s.topics[req.GetRoom()]; ok {
			res.Topic, res.TopicNick, res.TopicUnixMillis = t.Text, t.Nick, t.At.UnixMilli()
		}
		for _, c := range s.entries { // the moderation changes still queued, in order
			if c.Entry.Room == req.GetRoom() {
				e := roomEntryOf(c.Entry)
				e.Delete = c.Delete
				res.Entries = append(res.Entries, e)
			}
		}
	}
	reply(ctx, req.GetReplyTo(), res)
}

func (s *storeActor) pruneDone(ctx actor.Context, msg *messages.StoreJobDone) {
	if msg.GetError() != "" {
		s.metrics.storeErrors.Inc()
		s.logger.Warn("store: pruning failed", "error", msg.GetError())
	} else if msg.GetRecords() > 0 {
		s.metrics.storePruned.Add(float64(msg.GetRecords()))
		s.logger.Info("store: pruned old posts", "deleted", msg.GetRecords(), "max_age", s.cfg.Retention.MaxAge, "per_room", s.cfg.Retention.PerRoom)
	}
	s.after(ctx, s.cfg.PruneEvery, messages.StoreTimerKind_STORE_TIMER_KIND_PRUNE)
}

// answerFlushers answers the FlushStore requests once nothing is queued or
// being written.
func (s *storeActor) answerFlushers(ctx actor.Context) {
	if len(s.flushers) == 0 || s.queued() > 0 || (s.busy != nil && s.busy.kind == messages.StoreJob_STORE_JOB_WRITE) {
		return
	}
	for _, to := range s.flushers {
		reply(ctx, to, &messages.StoreFlushed{})
	}
	s.flushers = nil
}

// after sends the actor a StoreTimer of kind after d.
func (s *storeActor) after(ctx actor.Context, d time.Duration, kind messages.StoreTimerKind) {
	system, self := ctx.ActorSystem(), ctx.Self()
	time.AfterFunc(d, func() { system.Root.Send(self, &messages.StoreTimer{Kind: kind}) })
}

// work is the worker goroutine: it makes each job's database call, bounded
// by the store timeout, and reports it to the actor.
func (s *storeActor) work(system *actor.ActorSystem, self *actor.PID) {
	defer close(s.workerDone)
	for j := range s.jobs {
		system.Root.Send(self, s.run(j))
	}
}

func (s *storeActor) run(j storeJob) *messages.StoreJobDone {
	ctx, cancel := context.WithTimeout(s.base, s.cfg.Timeout)
	defer cancel()
	start := time.Now()
	done := &messages.StoreJobDone{Job: j.kind}
	var err error
	switch j.kind {
	case messages.StoreJob_STORE_JOB_WRITE:
		err = s.db.Write(ctx, j.batch)
		done.Records = uint64(j.batch.Len())
	case messages.StoreJob_STORE_JOB_LOAD:
		var r store.Room
		r, err = s.db.LoadRoom(ctx, j.load.GetRoom(), int(j.load.GetLimit()))
		done.Loaded = loadedOf(j.load.GetRoom(), r)
		if err != nil {
			done.Loaded.Error = err.Error()
		}
	case messages.StoreJob_STORE_JOB_CLAIM:
		owner, took, cerr := s.db.ClaimRoom(ctx, entryOf(j.claim.GetOwner()))
		done.Claimed = &messages.RoomClaimed{Took: took}
		if cerr == nil {
			done.Claimed.Owner = roomEntryOf(owner)
		} else {
			done.Claimed.Error = errorText(cerr)
		}
	case messages.StoreJob_STORE_JOB_PRUNE:
		var n int64
		n, err = s.db.Prune(ctx, s.cfg.Retention, s.now())
		done.Records = uint64(max(n, 0))
	}
	if err != nil {
		done.Error = errorText(err)
	}
	done.Micros = time.Since(start).Microseconds()
	return done
}

// errorText is an error in one line, saying plainly when it was the store
// timeout.
func errorText(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer within the store timeout: " + err.Error()
	}
	return err.Error()
}

func loadedOf(room string, r store.Room) *messages.RoomLoaded {
	out := &messages.RoomLoaded{Room: room, Topic: r.Topic.Text, TopicNick: r.Topic.Nick}
	if !r.Topic.At.IsZero() {
		out.TopicUnixMillis = r.Topic.At.UnixMilli()
	}
	for _, p := range r.History {
		out.History = append(out.History, postedOf(p))
	}
	for _, e := range r.Entries {
		out.Entries = append(out.Entries, roomEntryOf(e))
	}
	return out
}

// roomEntryOf is a stored entry as a message.
func roomEntryOf(e store.Entry) *messages.RoomEntry {
	m := &messages.RoomEntry{Room: e.Room, Kind: e.Kind, Subject: e.Subject, Label: e.Label, Reason: e.Reason, By: e.By, UnixMillis: e.At.UnixMilli()}
	if !e.Expires.IsZero() {
		m.ExpiresUnixMillis = e.Expires.UnixMilli()
	}
	return m
}

func postedOf(p store.Post) *messages.MessagePosted {
	return &messages.MessagePosted{Room: p.Room, Nick: p.Nick, Text: p.Text, Action: p.Action, UnixMillis: p.At.UnixMilli()}
}
