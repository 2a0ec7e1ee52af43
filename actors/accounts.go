package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/ipkey"
	"github.com/actorchat/actorchat/internal/password"
	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/messages"
)

// AccountStore keeps accounts: *store.DB.
type AccountStore interface {
	CreateAccount(ctx context.Context, a store.Account) (store.Account, error)
	Account(ctx context.Context, name string) (store.Account, error)
	SetAccountHash(ctx context.Context, name, hash string) error
	TouchAccount(ctx context.Context, name string, at time.Time) error
	DeleteAccount(ctx context.Context, name string) (store.Account, error)
	Accounts(ctx context.Context) ([]store.AccountName, error)
	ExpireAccounts(ctx context.Context, cutoff time.Time, limit int) ([]store.Account, error)
	SetAccountRooms(ctx context.Context, id string, rooms []string) error
	SetAccountRejoin(ctx context.Context, id string, on bool) error
}

// accountsConfig is the part of Config the accounts actor uses.
type accountsConfig struct {
	Hash          password.Params
	Workers       int           // password checks at once
	Queue         int           // jobs waiting at most; past it the server is busy
	PerAddress    int           // jobs of one address waiting or running at most
	PerAccount    int           // attempts against one account waiting or running at most
	Timeout       time.Duration // one store call at most
	FailBurst     int           // attempts at once, per account and address, and per address
	FailEvery     time.Duration // then one more per this
	RegisterBurst int           // registrations at once, per address
	RegisterEvery time.Duration // then one more per this
	Expiry        time.Duration // accounts unused for this long are removed; 0: never
	ExpireEvery   time.Duration // how often to look for them
	MaxLimiters   int           // allowances kept per kind before full ones are dropped
}

// errBadCredentials is the one answer to a wrong password and to an account
// that does not exist, so that nobody learns which nicks are registered by
// guessing.
const errBadCredentials = "wrong account or password"

// errBadOperator is the same for /oper: an operator name that is not in
// the -admins file and a wrong password read alike.
const errBadOperator = "wrong operator name or password"

// expireBatch bounds the accounts one expiry job removes.
const expireBatch = 1000

// accounts checks passwords (accounts' and server operators') and keeps
// accounts in the store, on worker goroutines: Argon2id costs tens of
// milliseconds and megabytes by design, and must never run on an actor that
// chat goes through. What succeeds is handed to the registry, which owns who
// is identified as what.
//
// Guessing is limited where it is asked, not where it is checked: every
// attempt spends one of the allowance of its (account, address) and of its
// address when it is submitted (a success gives it back), so a hundred
// attempts sent at once are refused as one at a time would be; and one
// address has at most PerAddress jobs waiting or running, one account at
// most PerAccount attempts. No allowance is kept per account alone: then
// strangers' wrong guesses would lock its owner out. Workers take the
// waiting jobs address by address in turn, so that a few addresses cannot
// fill the queue ahead of everyone else. An address is an IPv4 address or
// an IPv6 /64 (internal/ipkey).
type accounts struct {
	// Static after construction.
	db       AccountStore // nil: no accounts, only operators
	cfg      accountsConfig
	admins   *Admins
	registry *actor.PID
	logger   *slog.Logger
	now      func() time.Time

	// Owned by Receive.
	work       chan accountJob // to the workers; holds at most one job per idle worker
	workerDone chan struct{}
	running    int                     // jobs the workers have
	waiting    map[string][]accountJob // address -> its jobs not yet handed out, oldest first
	turns      []string                // addresses with waiting jobs, in the order they get a worker
	queued     int                     // jobs waiting, in every address
	perAddress map[string]int          // jobs waiting or running, by address
	perAccount map[string]int          // attempts waiting or running, by account
	attempts   map[string]*allowance   // by account and address, and by address
	signups    map[string]*allowance   // registrations, by address
	expireDue  bool
	saves      map[string]*accountSave // rooms and settings to save, by account id; one job at a time writes them
	saving     bool                    // that job is running
	inflight   map[string]*accountSave // what it writes
	settled    map[string]settledSave  // what the last jobs wrote, for identifies that read before it
}

// settledSave is a save that was written at at.
type settledSave struct {
	save *accountSave
	at   time.Time
}

// accountSave is what is to be saved of one account: the last word of its
// connection wins.
type accountSave struct {
	rooms     []string
	setRooms  bool
	rejoin    bool
	setRejoin bool
}

// maxSaves bounds the accounts whose rooms wait to be saved; past it a
// save is dropped (and logged): the store is far behind.
const maxSaves = 100_000

// accountJob is one request a worker carries out.
type accountJob struct {
	kind    messages.AccountJob
	member  string
	account string // case-folded name (an operator's, for OPER)
	nick    string // register: the nick as typed
	pw, pw2 string // the password (and, to change it, the new one)
	ip      string
	address string // what ip counts as: ipkey.String
	replyTo *messages.ActorRef
	saves   map[string]*accountSave // SAVE_ROOMS: what to write
	started time.Time               // when it was handed to a worker
}

func newAccounts(db AccountStore, cfg accountsConfig, admins *Admins, registry *actor.PID, logger *slog.Logger) actor.Producer {
	return func() actor.Actor {
		return &accounts{db: db, cfg: cfg, admins: admins, registry: registry, logger: logger, now: time.Now,
			waiting: make(map[string][]accountJob), perAddress: make(map[string]int), perAccount: make(map[string]int),
			attempts: make(map[string]*allowance), signups: make(map[string]*allowance)}
	}
}

func (a *accounts) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.handleStarted(ctx)
	case *actor.Stopped:
		a.handleStopped()
	case *actor.Stopping, *actor.Restarting:

	case *messages.RegisterAccount:
		a.submit(ctx, accountJob{kind: messages.AccountJob_ACCOUNT_JOB_REGISTER, member: msg.GetMemberId(), account: foldNick(msg.GetNick()),
			nick: msg.GetNick(), pw: msg.GetPassword(), ip: msg.GetRemoteIp(), replyTo: msg.GetReplyTo()})
	case *messages.IdentifyAccount:
		a.submit(ctx, accountJob{kind: messages.AccountJob_ACCOUNT_JOB_IDENTIFY, member: msg.GetMemberId(), account: foldNick(msg.GetAccount()),
			pw: msg.GetPassword(), ip: msg.GetRemoteIp(), replyTo: msg.GetReplyTo()})
	case *messages.ChangePassword:
		a.submit(ctx, accountJob{kind: messages.AccountJob_ACCOUNT_JOB_CHANGE_PASSWORD, member: msg.GetMemberId(), account: foldNick(msg.GetAccount()),
			pw: msg.GetOldPassword(), pw2: msg.GetNewPassword(), ip: msg.GetRemoteIp(), replyTo: msg.GetReplyTo()})
	case *messages.UnregisterAccount:
		a.submit(ctx, accountJob{kind: messages.AccountJob_ACCOUNT_JOB_UNREGISTER, member: msg.GetMemberId(), account: foldNick(msg.GetAccount()),
			pw: msg.GetPassword(), ip: msg.GetRemoteIp(), replyTo: msg.GetReplyTo()})
	case *messages.OperLogin:
		a.submit(ctx, accountJob{kind: messages.AccountJob_ACCOUNT_JOB_OPER, member: msg.GetMemberId(), account: foldNick(msg.GetName()),
			pw: msg.GetPassword(), ip: msg.GetRemoteIp(), replyTo: msg.GetReplyTo()})
	case *messages.SaveAccountRooms:
		if a.fromThisNode(ctx) {
			a.save(msg.GetAccountId(), func(s *accountSave) { s.rooms, s.setRooms = msg.GetRooms(), true })
		}
	case *messages.SetRejoin:
		if a.fromThisNode(ctx) {
			a.save(msg.GetAccountId(), func(s *accountSave) { s.rejoin, s.setRejoin = msg.GetOn(), true })
		}
	case *messages.AccountJobDone:
		a.handleJobDone(ctx, msg)
	case *messages.IdleCheck: // the expiry's timer
		a.expireDue = true
		a.dispatch()
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	}
}

func (a *accounts) handleStarted(ctx actor.Context) {
	if a.work != nil {
		return // resumed after a panic: the workers run on
	}
	a.work = make(chan accountJob, a.cfg.Workers)
	a.workerDone = make(chan struct{}, a.cfg.Workers)
	system, self := ctx.ActorSystem(), ctx.Self()
	for range a.cfg.Workers {
		go a.worker(system, self)
	}
	if a.db != nil && a.cfg.Expiry > 0 {
		a.expireDue = true
		a.dispatch()
	}
}

// handleStopped ends the workers once their jobs are done; jobs still
// waiting get no answer (their connections are stopping too).
func (a *accounts) handleStopped() {
	if a.work == nil {
		return
	}
	close(a.work)
	for range a.cfg.Workers {
		<-a.workerDone
	}
	a.work = nil
}

// isAttempt reports whether a job checks a password someone gave.
func isAttempt(kind messages.AccountJob) bool {
	return kind != messages.AccountJob_ACCOUNT_JOB_REGISTER && kind != messages.AccountJob_ACCOUNT_JOB_EXPIRE && kind != messages.AccountJob_ACCOUNT_JOB_SAVE_ROOMS
}

// fromThisNode reports whether the message being handled came from an
// actor of this node: a connection's word on its user's rooms is taken
// only from the node it is on.
func (a *accounts) fromThisNode(ctx actor.Context) bool {
	if s := ctx.Sender(); s != nil && s.GetAddress() == ctx.Self().GetAddress() {
		return true
	}
	a.logger.Warn("ignored a message that only this node's connections may send", "message", fmt.Sprintf("%T", ctx.Message()), "sender", ctx.Sender().String())
	return false
}

// save notes a change to an account's rooms or settings, to be written by
// the next save job.
func (a *accounts) save(id string, change func(*accountSave)) {
	if a.db == nil || id == "" {
		return
	}
	s := a.saves[id]
	if s == nil {
		if len(a.saves) >= maxSaves {
			a.logger.Warn("account: too many saves waiting; one dropped", "account_id", id)
			return
		}
		if a.saves == nil {
			a.saves = make(map[string]*accountSave)
		}
		s = &accountSave{}
		a.saves[id] = s
	}
	change(s)
	a.dispatch()
}

// accountKey is the key of a job's account in perAccount: an operator's
// name is another namespace than accounts'.
func (j accountJob) accountKey() string {
	if j.kind == messages.AccountJob_ACCOUNT_JOB_OPER {
		return "oper:" + j.account
	}
	return j.account
}

// submit queues a job for the workers, unless its address or account is
// over an allowance, or the queue is full; either way the answer is one
// line for the user. An attempt spends its allowance here, as it is asked.
func (a *accounts) submit(ctx actor.Context, j accountJob) {
	refuse := func(reason string) { reject(ctx, j.replyTo, requestOf(j.kind), reason) }
	if j.kind != messages.AccountJob_ACCOUNT_JOB_OPER && a.db == nil {
		refuse("accounts are off on this server: it keeps no data")
		return
	}
	j.address = ipkey.String(j.ip)
	now := a.now()
	switch {
	case a.work == nil || a.queued >= a.cfg.Queue:
		refuse("the server is busy checking passwords; try again in a moment")
		return
	case a.perAddress[j.address] >= a.cfg.PerAddress:
		refuse("too many password checks from your address at once; wait for their answers")
		return
	case isAttempt(j.kind) && a.perAccount[j.accountKey()] >= a.cfg.PerAccount:
		refuse("the server is busy checking passwords; try again in a moment")
		return
	}
	if isAttempt(j.kind) {
		if wait := a.spend(now, a.attempts, a.cfg.FailBurst, a.cfg.FailEvery, "address "+j.address, "account "+j.accountKey()+" "+j.address); wait > 0 {
			refuse(fmt.Sprintf("too many failed attempts; try again in %s", wait.Round(time.Second)))
			return
		}
		a.perAccount[j.accountKey()]++
	} else if wait := a.spend(now, a.signups, a.cfg.RegisterBurst, a.cfg.RegisterEvery, j.address); wait > 0 {
		refuse(fmt.Sprintf("too many accounts registered from your address; try again in %s", wait.Round(time.Second)))
		return
	}
	a.perAddress[j.address]++
	if len(a.waiting[j.address]) == 0 {
		a.turns = append(a.turns, j.address)
	}
	a.waiting[j.address] = append(a.waiting[j.address], j)
	a.queued++
	a.dispatch()
}

// spend takes one from the allowance of every key in limiters, or none if
// one of them has nothing left, and then says how long until it has.
func (a *accounts) spend(now time.Time, limiters map[string]*allowance, burst int, every time.Duration, keys ...string) time.Duration {
	var wait time.Duration
	for _, k := range keys {
		if l := limiters[k]; l != nil {
			wait = max(wait, l.waitFor(now, burst, every))
		}
	}
	if wait > 0 {
		return wait
	}
	for _, k := range keys {
		l := limiters[k]
		if l == nil {
			if len(limiters) >= a.cfg.MaxLimiters {
				dropFull(limiters, now, burst, every)
			}
			l = &allowance{tokens: float64(burst), at: now}
			limiters[k] = l
		}
		l.take(now, burst, every)
	}
	return 0
}

// refund gives back what spend took: the attempt was not a guess (it
// succeeded), or the registration did not happen.
func refund(limiters map[string]*allowance, burst int, keys ...string) {
	for _, k := range keys {
		if l := limiters[k]; l != nil {
			l.tokens = min(l.tokens+1, float64(burst))
		}
	}
}

// dispatch hands waiting jobs to idle workers, one address after another;
// the expiry goes first when it is due.
func (a *accounts) dispatch() {
	for a.work != nil && a.running < a.cfg.Workers {
		if a.expireDue {
			a.expireDue = false
			a.running++
			a.work <- accountJob{kind: messages.AccountJob_ACCOUNT_JOB_EXPIRE}
			continue
		}
		if len(a.saves) > 0 && !a.saving {
			a.saving = true
			a.running++
			a.work <- accountJob{kind: messages.AccountJob_ACCOUNT_JOB_SAVE_ROOMS, saves: a.saves}
			a.inflight, a.saves = a.saves, nil
			continue
		}
		if len(a.turns) == 0 {
			return
		}
		addr := a.turns[0]
		a.turns = a.turns[1:]
		q := a.waiting[addr]
		j := q[0]
		if len(q) == 1 {
			delete(a.waiting, addr)
		} else {
			a.waiting[addr] = q[1:]
			a.turns = append(a.turns, addr) // its next job waits for the others' turn
		}
		a.queued--
		a.running++
		j.started = a.now()
		a.work <- j // never blocks: a worker is idle, and the channel holds one job per worker
	}
}

// requestOf is the request a job answers, for CommandRejected.
func requestOf(kind messages.AccountJob) messages.Request {
	if kind == messages.AccountJob_ACCOUNT_JOB_OPER {
		return messages.Request_REQUEST_OPER
	}
	return messages.Request_REQUEST_ACCOUNT
}

func (a *accounts) handleJobDone(ctx actor.Context, msg *messages.AccountJobDone) {
	a.running--
	defer a.dispatch()
	switch msg.GetJob() {
	case messages.AccountJob_ACCOUNT_JOB_EXPIRE:
		a.expired(ctx, msg)
		return
	case messages.AccountJob_ACCOUNT_JOB_SAVE_ROOMS:
		a.saved(msg)
		return
	}
	j := accountJob{kind: msg.GetJob(), account: msg.GetAccount(), address: ipkey.String(msg.GetRemoteIp())}
	if a.perAddress[j.address]--; a.perAddress[j.address] <= 0 {
		delete(a.perAddress, j.address)
	}
	if isAttempt(j.kind) {
		if a.perAccount[j.accountKey()]--; a.perAccount[j.accountKey()] <= 0 {
			delete(a.perAccount, j.accountKey())
		}
		if msg.GetOutcome() != messages.AccountOutcome_ACCOUNT_OUTCOME_BAD_CREDENTIALS {
			refund(a.attempts, a.cfg.FailBurst, "address "+j.address, "account "+j.accountKey()+" "+j.address)
		}
	} else if msg.GetOutcome() != messages.AccountOutcome_ACCOUNT_OUTCOME_OK {
		refund(a.signups, a.cfg.RegisterBurst, j.address)
	}
	to := msg.GetReplyTo()
	switch msg.GetOutcome() {
	case messages.AccountOutcome_ACCOUNT_OUTCOME_BAD_CREDENTIALS:
		what := "account"
		if j.kind == messages.AccountJob_ACCOUNT_JOB_OPER {
			what = "operator"
		}
		a.logger.Warn(what+": wrong "+what+" or password", "member", msg.GetMemberId(), what, msg.GetAccount(), "remote_ip", msg.GetRemoteIp())
		reason := errBadCredentials
		if j.kind == messages.AccountJob_ACCOUNT_JOB_OPER {
			reason = errBadOperator
		}
		reject(ctx, to, requestOf(j.kind), reason)
		return
	case messages.AccountOutcome_ACCOUNT_OUTCOME_EXISTS:
		reject(ctx, to, messages.Request_REQUEST_ACCOUNT, fmt.Sprintf("%s is already registered", msg.GetNick()))
		return
	case messages.AccountOutcome_ACCOUNT_OUTCOME_ERROR:
		a.logger.Error("account: store failed", "account", msg.GetAccount(), "error", msg.GetError())
		reject(ctx, to, messages.Request_REQUEST_ACCOUNT, "the account store is not answering; try again later")
		return
	}
	switch j.kind {
	case messages.AccountJob_ACCOUNT_JOB_REGISTER, messages.AccountJob_ACCOUNT_JOB_IDENTIFY:
		registered := j.kind == messages.AccountJob_ACCOUNT_JOB_REGISTER
		a.logger.Info("account: identified", "member", msg.GetMemberId(), "account", msg.GetAccount(), "registered", registered, "remote_ip", msg.GetRemoteIp())
		rooms, rejoin := a.latestRooms(msg)
		ctx.Request(a.registry, &messages.AccountIdentified{MemberId: msg.GetMemberId(), Account: msg.GetAccount(), AccountId: msg.GetAccountId(),
			Nick: msg.GetNick(), Registered: registered, ReplyTo: to, Rooms: rooms, Rejoin: rejoin})
	case messages.AccountJob_ACCOUNT_JOB_CHANGE_PASSWORD:
		a.logger.Info("account: password changed", "member", msg.GetMemberId(), "account", msg.GetAccount())
		reply(ctx, to, &messages.PasswordChanged{})
	case messages.AccountJob_ACCOUNT_JOB_UNREGISTER:
		a.logger.Info("account: unregistered", "member", msg.GetMemberId(), "account", msg.GetAccount())
		ctx.Request(a.registry, &messages.AccountRemoved{Account: msg.GetAccount(), AccountId: msg.GetAccountId(), ReplyTo: to})
	case messages.AccountJob_ACCOUNT_JOB_OPER:
		a.logger.Info("operator: identified", "member", msg.GetMemberId(), "operator", msg.GetAccount(), "remote_ip", msg.GetRemoteIp())
		ctx.Request(a.registry, &messages.OperatorIdentified{MemberId: msg.GetMemberId(), Name: msg.GetAccount(), Token: msg.GetAccountId(), ReplyTo: to})
	}
}

// saved ends a save job: what it wrote is kept a while for the identifies
// that read the store before it.
func (a *accounts) saved(msg *messages.AccountJobDone) {
	a.saving = false
	if msg.GetFailed() > 0 {
		a.logger.Warn("account: rooms not saved", "accounts", msg.GetFailed(), "error", msg.GetError())
	}
	now := a.now()
	for id, at := range a.settled {
		if now.Sub(at.at) > 2*a.cfg.Timeout { // no job reads for longer: it times out
			delete(a.settled, id)
		}
	}
	if a.settled == nil && len(a.inflight) > 0 {
		a.settled = make(map[string]settledSave)
	}
	for id, s := range a.inflight {
		a.settled[id] = settledSave{save: s, at: now}
	}
	a.inflight = nil
}

// latestRooms is an identified account's rooms and rejoin setting: what
// the store said, unless its connection said otherwise since (a save not
// yet written, or written after the store was read).
func (a *accounts) latestRooms(msg *messages.AccountJobDone) ([]string, bool) {
	rooms, rejoin := msg.GetRooms(), msg.GetRejoin()
	apply := func(s *accountSave) {
		if s == nil {
			return
		}
		if s.setRooms {
			rooms = s.rooms
		}
		if s.setRejoin {
			rejoin = s.rejoin
		}
	}
	id := msg.GetAccountId()
	if at, ok := a.settled[id]; ok && at.at.UnixNano() >= msg.GetStartedUnixNanos() {
		apply(at.save)
	}
	apply(a.inflight[id])
	apply(a.saves[id])
	return rooms, rejoin
}

// expired hands the accounts an expiry removed to the registry, which
// frees their nicks and has the rooms drop their rights, and arms the next
// expiry.
func (a *accounts) expired(ctx actor.Context, msg *messages.AccountJobDone) {
	if msg.GetError() != "" {
		a.logger.Warn("account: expiry failed", "error", msg.GetError())
	}
	for _, gone := range msg.GetExpired() {
		a.logger.Info("account: expired", "account", gone.GetAccount(), "unused_for", a.cfg.Expiry)
		ctx.Request(a.registry, gone)
	}
	system, self := ctx.ActorSystem(), ctx.Self()
	time.AfterFunc(a.cfg.ExpireEvery, func() { system.Root.Send(self, &messages.IdleCheck{}) })
}

// worker carries out jobs and reports each to the actor, without the
// passwords.
func (a *accounts) worker(system *actor.ActorSystem, self *actor.PID) {
	defer func() { a.workerDone <- struct{}{} }()
	for j := range a.work {
		done := &messages.AccountJobDone{Job: j.kind, MemberId: j.member, Account: j.account, Nick: j.nick, RemoteIp: j.ip, ReplyTo: j.replyTo,
			StartedUnixNanos: j.started.UnixNano()}
		var acct store.Account
		var err error
		switch j.kind {
		case messages.AccountJob_ACCOUNT_JOB_EXPIRE:
			done.Expired, err = a.expire()
		case messages.AccountJob_ACCOUNT_JOB_SAVE_ROOMS:
			done.Failed, err = a.saveAll(j.saves)
		default:
			acct, err = a.run(j)
		}
		if acct.Nick != "" {
			done.Nick = acct.Nick
		}
		done.AccountId = acct.ID
		if j.kind == messages.AccountJob_ACCOUNT_JOB_IDENTIFY {
			done.Rooms, done.Rejoin = acct.Rooms, acct.Rejoin
		}
		switch {
		case err == nil:
			done.Outcome = messages.AccountOutcome_ACCOUNT_OUTCOME_OK
		case errors.Is(err, errWrongPassword), errors.Is(err, store.ErrNoAccount):
			done.Outcome = messages.AccountOutcome_ACCOUNT_OUTCOME_BAD_CREDENTIALS
		case errors.Is(err, store.ErrAccountExists):
			done.Outcome = messages.AccountOutcome_ACCOUNT_OUTCOME_EXISTS
		default:
			done.Outcome, done.Error = messages.AccountOutcome_ACCOUNT_OUTCOME_ERROR, err.Error()
		}
		system.Root.Send(self, done)
	}
}

var errWrongPassword = errors.New("wrong password")

// expire removes the accounts unused for longer than the expiry.
func (a *accounts) expire() ([]*messages.AccountRemoved, error) {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Timeout)
	defer cancel()
	gone, err := a.db.ExpireAccounts(ctx, a.now().Add(-a.cfg.Expiry), expireBatch)
	out := make([]*messages.AccountRemoved, 0, len(gone))
	for _, g := range gone {
		out = append(out, &messages.AccountRemoved{Account: g.Name, AccountId: g.ID})
	}
	return out, err
}

// saveAll writes the rooms and settings of the accounts in saves, and says
// how many failed (an account removed meanwhile is no failure) and the last
// error.
func (a *accounts) saveAll(saves map[string]*accountSave) (failed uint32, last error) {
	for id, s := range saves {
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Timeout)
		var err error
		if s.setRooms {
			err = a.db.SetAccountRooms(ctx, id, s.rooms)
		}
		if err == nil && s.setRejoin {
			err = a.db.SetAccountRejoin(ctx, id, s.rejoin)
		}
		cancel()
		if err != nil && !errors.Is(err, store.ErrNoAccount) {
			failed++
			last = err
		}
	}
	return failed, last
}

// run carries out one job and returns the account it was about. For OPER
// the account's ID is the operator's token.
func (a *accounts) run(j accountJob) (store.Account, error) {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Timeout)
	defer cancel()
	switch j.kind {
	case messages.AccountJob_ACCOUNT_JOB_REGISTER:
		return a.db.CreateAccount(ctx, store.Account{Name: j.account, Nick: j.nick, Hash: password.Hash(j.pw, a.cfg.Hash), Created: a.now()})
	case messages.AccountJob_ACCOUNT_JOB_OPER:
		return a.verifyOperator(j.account, j.pw)
	}
	acct, err := a.verify(ctx, j.account, j.pw)
	if err != nil {
		return store.Account{}, err
	}
	switch j.kind {
	case messages.AccountJob_ACCOUNT_JOB_CHANGE_PASSWORD:
		err = a.db.SetAccountHash(ctx, acct.Name, password.Hash(j.pw2, a.cfg.Hash))
	case messages.AccountJob_ACCOUNT_JOB_UNREGISTER:
		_, err = a.db.DeleteAccount(ctx, acct.Name)
	}
	return acct, err
}

// verify checks a password against the account's hash, and notes the
// account as used. A missing account costs as much time as a wrong
// password.
func (a *accounts) verify(ctx context.Context, name, pw string) (store.Account, error) {
	acct, err := a.db.Account(ctx, name)
	if errors.Is(err, store.ErrNoAccount) {
		password.Waste(a.cfg.Hash)
		return store.Account{}, err
	}
	if err != nil {
		return store.Account{}, err
	}
	ok, stale, err := password.Check(pw, acct.Hash, a.cfg.Hash)
	if err != nil {
		return store.Account{}, fmt.Errorf("account %s: %w", name, err)
	}
	if !ok {
		return store.Account{}, errWrongPassword
	}
	if stale { // made with older parameters: hash it again with today's
		_ = a.db.SetAccountHash(ctx, acct.Name, password.Hash(pw, a.cfg.Hash))
	}
	_ = a.db.TouchAccount(ctx, acct.Name, a.now())
	return acct, nil
}

// verifyOperator checks an operator's password against the -admins file's
// hash; the account it returns carries the operator's token as its ID. An
// unknown operator costs as much time as a wrong password.
func (a *accounts) verifyOperator(name, pw string) (store.Account, error) {
	op, ok := a.admins.lookup(name)
	if !ok {
		password.Waste(a.cfg.Hash)
		return store.Account{}, store.ErrNoAccount
	}
	if ok, _, err := password.Check(pw, op.Hash, a.cfg.Hash); err != nil || !ok {
		return store.Account{}, errWrongPassword
	}
	return store.Account{Name: op.Name, ID: op.token()}, nil
}

// allowance is a token bucket: burst tokens at most, one more every every.
type allowance struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func (l *allowance) refill(now time.Time, burst int, every time.Duration) {
	if now.After(l.at) {
		l.tokens = min(float64(burst), l.tokens+float64(now.Sub(l.at))/float64(every))
		l.at = now
	}
}

// waitFor says how long until the allowance has a token; 0 if it has one.
func (l *allowance) waitFor(now time.Time, burst int, every time.Duration) time.Duration {
	l.refill(now, burst, every)
	if l.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - l.tokens) * float64(every))
}

func (l *allowance) take(now time.Time, burst int, every time.Duration) {
	l.refill(now, burst, every)
	l.tokens--
}

// dropFull bounds an allowance map: the allowances that are full again
// (they limit nothing) are dropped.
func dropFull(limiters map[string]*allowance, now time.Time, burst int, every time.Duration) {
	for k, l := range limiters {
		if l.refill(now, burst, every); l.tokens >= float64(burst) {
			delete(limiters, k)
		}
	}
}

// foldNick is a nick as an account name: nicks are unique whatever the case.
func foldNick(nick string) string { return strings.ToLower(nick) }
