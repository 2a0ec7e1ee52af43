package actors

import (
	"crypto/tls"
	"log/slog"
	"net"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/password"
	"github.com/actorchat/actorchat/internal/store"
)

// Config holds everything a server needs that is not an actor. Start from
// DefaultConfig. A field left zero takes its default (withDefaults), except
// where its comment says what zero means: no limit, never, none, one.
type Config struct {
	Version         string        // shown in the welcome
	MOTD            string        // message of the day, shown after the welcome; see Server.SetMOTD
	ShutdownTimeout time.Duration // graceful shutdown must end within this
	HistoryLen      int           // messages a room replays to a joiner; 0: none
	HistoryMax      int           // messages a room keeps for /history (at least HistoryLen)
	QuietRoomSize   int           // rooms with more members do not announce joins and leaves; 0: always announce
	MaxRoomsPerUser int           // rooms one user may be in at once (the lobby they land in apart)
	PostBatchWindow time.Duration // a room's first post of a batch waits this long for more; negative: not at all (0: the default)
	MaxLineBytes    int           // longest input line; longer ones are refused
	OutboxBytes     int           // bytes queued for one client before it counts as a slow consumer
	WriteTimeout    time.Duration // longest one write may block before the client counts as a slow consumer
	FlushTimeout    time.Duration // how long the goodbye may take to write at the end of a connection
	LingerTimeout   time.Duration // how long to drain a client's input after the goodbye before closing
	FloodRate       float64       // input lines per second a connection may sustain; 0: no flood control
	FloodBurst      int           // input lines a connection may send at once before the rate applies; 0: one
	FloodQueueLines int           // input lines over the flood allowance that wait their turn; past it they are dropped
	FloodQueueBytes int           // bytes of such lines that wait, at most
	FloodStrikes    int           // dropped lines (forgiven one a second) before a flooder is disconnected; 0: one
	RequestTimeout  time.Duration // longest a connection waits for an answer from the registry or a room
	MaxConns        int           // open connections at most; 0: no limit
	MaxConnsPerIP   int           // open connections from one IP address at most; 0: no limit
	IdleTimeout     time.Duration // disconnect a client that sends nothing for this long; 0: never
	KeepAlive       time.Duration // TCP keepalive idle time, so dead peers are found; probes follow every 10s, 3 times
	SendBuffer      int           // SO_SNDBUF of client sockets in bytes; 0: the kernel's default (autotuned)
	NodeID          string        // this process's id in member ids; empty: a random one

	// TLSListener is a second port, served the same chat over TLS with
	// TLSConfig; nil: none. The server takes ownership of it.
	TLSListener net.Listener
	TLSConfig   *tls.Config
	// IRCListener is a port that speaks IRC to the same chat, and
	// IRCTLSListener one that speaks it over TLS with TLSConfig; nil: none.
	// The server takes ownership of them.
	IRCListener    net.Listener
	IRCTLSListener net.Listener
	// IRCName is the server's name on IRC: the source of its numerics and
	// notices (a name with a dot, as IRC clients tell servers from users).
	IRCName             string
	TLSHandshakeTimeout time.Duration // a TLS client must finish its handshake within this

	// Store keeps history and topics across restarts; nil: memory only.
	Store              Store
	StoreFlushInterval time.Duration   // a post is written within this (plus one write) of being posted
	StoreQueue         int             // records waiting for the store at most; past it they are not stored
	StoreTimeout       time.Duration   // one call to the store at most
	Retention          store.Retention // which stored posts to keep

	// Cluster makes the server a member of a Proto.Actor cluster; nil: a
	// single node, with no remote transport.
	Cluster *ClusterConfig

	// Admins are the server operators; nil: none.
	Admins *Admins
	// KlineRules bound how wide a k-line may be (zero: a /16 of IPv4, a
	// /32 of IPv6); loopback is never k-lined.
	KlineRules KlineRules

	// Accounts (with a Store that keeps them).
	PasswordHash  password.Params // Argon2id's cost for new and changed passwords
	AuthFailBurst int             // password attempts at once, per account and address and per address (a success is given back)
	AuthFailEvery time.Duration   // then one more per this
	RegisterBurst int             // accounts registered at once from one address
	RegisterEvery time.Duration   // then one more per this
	AccountExpiry time.Duration   // accounts unused for this long are removed; 0: never
	Logger        *slog.Logger    // nil: discard
	Metrics       *Metrics        // nil: a fresh set

	// Middleware is added to every actor. It is for tests only (fault
	// injection, package internal/faults); production leaves it nil, so that
	// no message can stall an actor on purpose.
	Middleware []actor.ReceiverMiddleware
}

// storePruneEvery is how often the retention is applied.
const storePruneEvery = 10 * time.Minute

// storeBatchMax bounds the records of one write to the store.
const storeBatchMax = 1000

func (c Config) storeConfig() storeConfig {
	return storeConfig{FlushInterval: c.StoreFlushInterval, BatchMax: storeBatchMax, QueueMax: c.StoreQueue,
		Timeout: c.StoreTimeout, Retention: c.Retention, PruneEvery: storePruneEvery}
}

// Password checks run on this many goroutines at once, with this many
// waiting at most: each Argon2id check takes its memory while it runs. One
// address has at most accountPerAddress jobs waiting or running (so that
// 32 addresses are needed to fill the queue), one account at most
// accountPerAccount attempts.
const (
	accountWorkers     = 2
	accountQueue       = 64
	accountPerAddress  = 4
	accountPerAccount  = 4
	accountExpireEvery = time.Hour
	maxLimiters        = 10000
)

func (c Config) accountsConfig() accountsConfig {
	return accountsConfig{Hash: c.PasswordHash, Workers: accountWorkers, Queue: accountQueue, PerAddress: accountPerAddress,
		PerAccount: accountPerAccount, Timeout: c.StoreTimeout, FailBurst: c.AuthFailBurst, FailEvery: c.AuthFailEvery,
		RegisterBurst: c.RegisterBurst, RegisterEvery: c.RegisterEvery, Expiry: c.AccountExpiry, ExpireEvery: accountExpireEvery,
		MaxLimiters: maxLimiters}
}

// connectionConfig is the part of Config that connection actors use.
type connectionConfig struct {
	Version         string
	HistoryLen      int // /history shows this many at first
	HistoryMax      int // and this many at most
	MaxRooms        int // rooms one user may be in at once
	FloodRate       float64
	FloodBurst      int
	FloodQueueLines int
	FloodQueueBytes int
	FloodStrikes    int
	RequestTimeout  time.Duration
	IdleTimeout     time.Duration
	FlushTimeout    time.Duration
	Clustered       bool // posts are kept until the room echoes them, to post again at a rebuilt room
	IRCName         string
}

func (c Config) connectionConfig() connectionConfig {
	return connectionConfig{
		Version: c.Version, HistoryLen: c.HistoryLen, HistoryMax: c.HistoryMax, MaxRooms: c.MaxRoomsPerUser, FloodRate: c.FloodRate, FloodBurst: c.FloodBurst, FloodQueueLines: c.FloodQueueLines,
		FloodQueueBytes: c.FloodQueueBytes, FloodStrikes: c.FloodStrikes, RequestTimeout: c.RequestTimeout,
		IdleTimeout: c.IdleTimeout, FlushTimeout: c.FlushTimeout, Clustered: c.Cluster != nil, IRCName: c.IRCName,
	}
}

// DefaultConfig returns the defaults that chatd's flags start from.
func DefaultConfig() Config {
	return Config{
		Version:         "dev",
		IRCName:         "actorchat.server",
		ShutdownTimeout: 5 * time.Second,
		HistoryLen:      20,
		HistoryMax:      100,
		PostBatchWindow: 2 * time.Millisecond,
		QuietRoomSize:   200,
		MaxRoomsPerUser: 20,
		MaxLineBytes:    1024,
		OutboxBytes:     1 << 20,
		WriteTimeout:    10 * time.Second,
		FlushTimeout:    2 * time.Second,
		LingerTimeout:   1 * time.Second,
		FloodRate:       5,
		FloodBurst:      10,
		FloodQueueLines: 100,
		FloodQueueBytes: 32 << 10,
		FloodStrikes:    500,
		RequestTimeout:  5 * time.Second,
		MaxConns:        10000,
		MaxConnsPerIP:   32,
		KeepAlive:       30 * time.Second,

		TLSHandshakeTimeout: 5 * time.Second,

		StoreFlushInterval: 200 * time.Millisecond,
		StoreQueue:         100_000,
		StoreTimeout:       5 * time.Second,
		Retention:          store.Retention{MaxAge: 90 * 24 * time.Hour, PerRoom: 10_000},

		PasswordHash:  password.Default,
		AuthFailBurst: 5,
		AuthFailEvery: time.Minute,
		RegisterBurst: 3,
		RegisterEvery: 10 * time.Minute,
		AccountExpiry: 365 * 24 * time.Hour,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Version == "" {
		c.Version = d.Version
	}
	if c.IRCName == "" {
		c.IRCName = d.IRCName
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = d.ShutdownTimeout
	}
	if c.HistoryLen < 0 {
		c.HistoryLen = 0 // zero is valid: no history
	}
	if c.PostBatchWindow == 0 {
		c.PostBatchWindow = d.PostBatchWindow
	}
	if c.HistoryMax <= 0 {
		c.HistoryMax = d.HistoryMax
	}
	c.HistoryMax = max(c.HistoryMax, c.HistoryLen)
	if c.MaxRoomsPerUser <= 0 {
		c.MaxRoomsPerUser = d.MaxRoomsPerUser
	}
	if c.TLSHandshakeTimeout <= 0 {
		c.TLSHandshakeTimeout = d.TLSHandshakeTimeout
	}
	if c.StoreFlushInterval <= 0 {
		c.StoreFlushInterval = d.StoreFlushInterval
	}
	if c.StoreQueue <= 0 {
		c.StoreQueue = d.StoreQueue
	}
	if c.StoreTimeout <= 0 {
		c.StoreTimeout = d.StoreTimeout
	}
	if c.PasswordHash == (password.Params{}) {
		c.PasswordHash = d.PasswordHash
	}
	if c.AuthFailBurst <= 0 {
		c.AuthFailBurst = d.AuthFailBurst
	}
	if c.AuthFailEvery <= 0 {
		c.AuthFailEvery = d.AuthFailEvery
	}
	if c.RegisterBurst <= 0 {
		c.RegisterBurst = d.RegisterBurst
	}
	if c.RegisterEvery <= 0 {
		c.RegisterEvery = d.RegisterEvery
	}
	if c.AccountExpiry < 0 {
		c.AccountExpiry = 0
	}
	if c.MaxLineBytes <= 0 {
		c.MaxLineBytes = d.MaxLineBytes
	}
	if c.OutboxBytes <= 0 {
		c.OutboxBytes = d.OutboxBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.FlushTimeout <= 0 {
		c.FlushTimeout = d.FlushTimeout
	}
	if c.LingerTimeout <= 0 {
		c.LingerTimeout = d.LingerTimeout
	}
	if c.QuietRoomSize < 0 {
		c.QuietRoomSize = 0
	}
	if c.FloodRate < 0 {
		c.FloodRate = 0
	}
	if c.FloodBurst < 1 {
		c.FloodBurst = 1
	}
	if c.FloodStrikes < 1 {
		c.FloodStrikes = 1
	}
	if c.FloodQueueLines <= 0 {
		c.FloodQueueLines = d.FloodQueueLines
	}
	if c.FloodQueueBytes <= 0 {
		c.FloodQueueBytes = d.FloodQueueBytes
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = d.KeepAlive
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics()
	}
	return c
}
