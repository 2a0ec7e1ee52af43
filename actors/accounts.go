package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/time/rate"

	"github.com/actorchat/actorchat/internal/password"
	"github.com/actorchat/actorchat/internal/store"
	"github.com/actorchat/actorchat/messages"
)

// AccountStore keeps accounts: *store.DB.
type AccountStore interface {
	CreateAccount(ctx context.Context, a store.Account) error
	Account(ctx context.Context, name string) (store.Account, error)
	SetAccountHash(ctx context.Context, name, hash string) error
	DeleteAccount(ctx context.Context, name string) error
	AccountNames(ctx context.Context) ([]string, error)
}

// accountsConfig is the part of Config the accounts actor uses.
type accountsConfig struct {
	Hash        password.Params
	Workers     int           // password checks at once
	Queue       int           // checks waiting at most; past it the server is busy
	Timeout     time.Duration // one store call at most
	FailBurst   int           // failed attempts at once, per account and per address
	FailEvery   time.Duration // then one more per this
	MaxLimiters int           // limiters kept per kind before idle ones are dropped
}

// errBadCredentials is the one answer to a wrong password and to an account
// that does not exist, so that nobody learns which nicks are registered by
// guessing.
const errBadCredentials = "wrong account or password"

// accounts checks passwords and keeps accounts in the store, on worker
// goroutines: Argon2id costs tens of milliseconds and megabytes by design,
// and must never run on an actor that chat goes through. Failed attempts are
// limited per account and per remote address (a token bucket each, refilled
// at one attempt per FailEvery); a limited attempt is refused before any
// password is checked. What succeeds is handed to the registry, which owns
// who is identified as what.
type accounts struct {
	// Static after construction.
	db       AccountStore
	cfg      accountsConfig
	registry *actor.PID
	logger   *slog.Logger

	// Owned by Receive.
	jobs       chan accountJob
	workerDone chan struct{}
	queued     int
	byAccount  map[string]*rate.Limiter // failed attempts per account
	byAddress  map[string]*rate.Limiter // failed attempts per remote IP
}

// accountJob is one request a worker carries out.
type accountJob struct {
	kind    messages.AccountJob
	member  string
	account string // case-folded name
	nick    string // register: the nick as typed
	pw, pw2 string // the password (and, to change it, the new one)
	ip      string
	replyTo *messages.ActorRef
}

func newAccounts(db AccountStore, cfg accountsConfig, registry *actor.PID, logger *slog.Logger) actor.Producer {
	return func() actor.Actor {
		return &accounts{db: db, cfg: cfg, registry: registry, logger: logger,
			byAccount: make(map[string]*rate.Limiter), byAddress: make(map[string]*rate.Limiter)}
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
	case *messages.AccountJobDone:
		a.handleJobDone(ctx, msg)
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	}
}

func (a *accounts) handleStarted(ctx actor.Context) {
	if a.jobs != nil {
		return // resumed after a panic: the workers run on
	}
	a.jobs = make(chan accountJob, a.cfg.Queue)
	a.workerDone = make(chan struct{}, a.cfg.Workers)
	system, self := ctx.ActorSystem(), ctx.Self()
	for range a.cfg.Workers {
		go a.work(system, self)
	}
}

// handleStopped ends the workers once their jobs are done; jobs still
// queued get no answer (their connections are stopping too).
func (a *accounts) handleStopped() {
	if a.jobs == nil {
		return
	}
	close(a.jobs)
	for range a.cfg.Workers {
		<-a.workerDone
	}
	a.jobs = nil
}

// submit queues a job for the workers, unless the attempt is limited or the
// queue is full; either way the answer is one line for the user.
func (a *accounts) submit(ctx actor.Context, j accountJob) {
	if j.kind != messages.AccountJob_ACCOUNT_JOB_REGISTER {
		if wait := a.limitedFor(j); wait > 0 {
			reject(ctx, j.replyTo, messages.Request_REQUEST_ACCOUNT,
				fmt.Sprintf("too many failed attempts; try again in %s", wait.Round(time.Second)))
			return
		}
	}
	if a.jobs == nil || a.queued >= a.cfg.Queue {
		reject(ctx, j.replyTo, messages.Request_REQUEST_ACCOUNT, "the server is busy checking passwords; try again in a moment")
		return
	}
	a.queued++
	a.jobs <- j // never blocks: at most Queue are queued
}

// limitedFor returns how long the account and the address must wait before
// another attempt; zero when they may try now.
func (a *accounts) limitedFor(j accountJob) time.Duration {
	now := time.Now()
	var wait time.Duration
	for _, l := range []*rate.Limiter{a.byAccount[j.account], a.byAddress[j.ip]} {
		if l == nil {
			continue
		}
		if tokens := l.TokensAt(now); tokens < 1 {
			wait = max(wait, time.Duration((1-tokens)*float64(a.cfg.FailEvery)))
		}
	}
	return wait
}

// failed spends one attempt of the account's and the address's allowance.
func (a *accounts) failed(account, ip string) {
	for _, m := range []struct {
		limiters map[string]*rate.Limiter
		key      string
	}{{a.byAccount, account}, {a.byAddress, ip}} {
		l, ok := m.limiters[m.key]
		if !ok {
			a.dropIdle(m.limiters)
			l = rate.NewLimiter(rate.Every(a.cfg.FailEvery), a.cfg.FailBurst)
			m.limiters[m.key] = l
		}
		l.Allow()
	}
}

// dropIdle bounds a limiter map: once it holds MaxLimiters, the limiters
// that have refilled (they limit nothing) are dropped.
func (a *accounts) dropIdle(limiters map[string]*rate.Limiter) {
	if len(limiters) < a.cfg.MaxLimiters {
		return
	}
	now := time.Now()
	for k, l := range limiters {
		if l.TokensAt(now) >= float64(a.cfg.FailBurst) {
			delete(limiters, k)
		}
	}
}

func (a *accounts) handleJobDone(ctx actor.Context, msg *messages.AccountJobDone) {
	a.queued--
	to := msg.GetReplyTo()
	switch msg.GetOutcome() {
	case messages.AccountOutcome_ACCOUNT_OUTCOME_BAD_CREDENTIALS:
		a.failed(msg.GetAccount(), msg.GetRemoteIp())
		a.logger.Info("account: wrong account or password", "member", msg.GetMemberId(), "account", msg.GetAccount(), "remote_ip", msg.GetRemoteIp())
		reject(ctx, to, messages.Request_REQUEST_ACCOUNT, errBadCredentials)
		return
	case messages.AccountOutcome_ACCOUNT_OUTCOME_EXISTS:
		reject(ctx, to, messages.Request_REQUEST_ACCOUNT, fmt.Sprintf("%s is already registered", msg.GetNick()))
		return
	case messages.AccountOutcome_ACCOUNT_OUTCOME_ERROR:
		a.logger.Error("account: store failed", "account", msg.GetAccount(), "error", msg.GetError())
		reject(ctx, to, messages.Request_REQUEST_ACCOUNT, "the account store is not answering; try again later")
		return
	}
	switch msg.GetJob() {
	case messages.AccountJob_ACCOUNT_JOB_REGISTER, messages.AccountJob_ACCOUNT_JOB_IDENTIFY:
		registered := msg.GetJob() == messages.AccountJob_ACCOUNT_JOB_REGISTER
		a.logger.Info("account: identified", "member", msg.GetMemberId(), "account", msg.GetAccount(), "registered", registered)
		ctx.Send(a.registry, &messages.AccountIdentified{MemberId: msg.GetMemberId(), Account: msg.GetAccount(), Nick: msg.GetNick(),
			Registered: registered, ReplyTo: to})
	case messages.AccountJob_ACCOUNT_JOB_CHANGE_PASSWORD:
		a.logger.Info("account: password changed", "member", msg.GetMemberId(), "account", msg.GetAccount())
		reply(ctx, to, &messages.PasswordChanged{})
	case messages.AccountJob_ACCOUNT_JOB_UNREGISTER:
		a.logger.Info("account: unregistered", "member", msg.GetMemberId(), "account", msg.GetAccount())
		ctx.Send(a.registry, &messages.AccountRemoved{Account: msg.GetAccount(), ReplyTo: to})
	}
}

// work is a worker goroutine: it carries out jobs and reports each to the
// actor, without the passwords.
func (a *accounts) work(system *actor.ActorSystem, self *actor.PID) {
	defer func() { a.workerDone <- struct{}{} }()
	for j := range a.jobs {
		done := &messages.AccountJobDone{Job: j.kind, MemberId: j.member, Account: j.account, Nick: j.nick, RemoteIp: j.ip, ReplyTo: j.replyTo}
		nick, err := a.run(j)
		if nick != "" {
			done.Nick = nick
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

// run carries out one job and returns the account's registered nick.
func (a *accounts) run(j accountJob) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Timeout)
	defer cancel()
	if j.kind == messages.AccountJob_ACCOUNT_JOB_REGISTER {
		return j.nick, a.db.CreateAccount(ctx, store.Account{Name: j.account, Nick: j.nick, Hash: password.Hash(j.pw, a.cfg.Hash), Created: time.Now()})
	}
	acct, err := a.verify(ctx, j.account, j.pw)
	if err != nil {
		return "", err
	}
	switch j.kind {
	case messages.AccountJob_ACCOUNT_JOB_CHANGE_PASSWORD:
		err = a.db.SetAccountHash(ctx, acct.Name, password.Hash(j.pw2, a.cfg.Hash))
	case messages.AccountJob_ACCOUNT_JOB_UNREGISTER:
		err = a.db.DeleteAccount(ctx, acct.Name)
	}
	return acct.Nick, err
}

// verify checks a password against the account's hash. A missing account
// costs as much time as a wrong password.
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
	return acct, nil
}

// foldNick is a nick as an account name: nicks are unique whatever the case.
func foldNick(nick string) string { return strings.ToLower(nick) }
