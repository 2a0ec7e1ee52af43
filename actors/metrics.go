package actors

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/actorchat/actorchat/internal/netio"
	"github.com/actorchat/actorchat/internal/text"
	"github.com/actorchat/actorchat/messages"
)

// Metrics counts what the server does. Each server has its own Prometheus
// registry (no global state), which chatd's admin endpoint serves.
type Metrics struct {
	Registry *prometheus.Registry

	connectionsOpen     prometheus.Gauge
	connectionsTotal    prometheus.Counter
	connectionsRejected *prometheus.CounterVec // by reason: server_full, per_ip, kline, handshakes
	disconnects         *prometheus.CounterVec // by leave reason
	linesReceived       prometheus.Counter
	linesRefused        *prometheus.CounterVec // by reason: flood, too_long
	messagesPosted      prometheus.Counter
	deliveries          prometheus.Counter
	privateMessages     prometheus.Counter
	rooms               prometheus.Gauge
	nicks               prometheus.Gauge
	panics              *prometheus.CounterVec // by actor kind and directive
	requestTimeouts     prometheus.Counter

	storeUp           prometheus.Gauge
	storeWrites       prometheus.Counter
	storeBatchRecords prometheus.Histogram
	storeWriteSeconds prometheus.Histogram
	storeQueued       prometheus.Gauge
	storeDropped      prometheus.Counter
	storeErrors       prometheus.Counter
	storePruned       prometheus.Counter

	clusterMembers   prometheus.Gauge
	clusterSent      prometheus.Counter
	clusterReceived  prometheus.Counter
	clusterNodesLost prometheus.Counter

	storeDown atomic.Pointer[storeDown] // nil: the store writes (or there is none)

	served atomic.Pointer[netio.Table] // the table the outbox gauge sums; set by Start
}

// NewMetrics returns a fresh set of metrics with its own registry, which
// also holds the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		connectionsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatd_connections_open", Help: "Client connections open now.",
		}),
		connectionsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_connections_total", Help: "Client connections accepted and served.",
		}),
		connectionsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatd_connections_rejected_total", Help: "Connections refused at accept, by reason (server_full, per_ip, kline, handshakes).",
		}, []string{"reason"}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatd_disconnects_total", Help: "Connections ended, by reason (quit, connection_lost, slow_consumer, flooding, idle, error, shutdown).",
		}, []string{"reason"}),
		linesReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_lines_received_total", Help: "Input lines received from clients.",
		}),
		linesRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatd_lines_refused_total", Help: "Input lines refused, by reason (flood, too_long).",
		}, []string{"reason"}),
		messagesPosted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_messages_received_total", Help: "Chat lines and actions posted to rooms.",
		}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_messages_delivered_total", Help: "Chat lines, actions and private messages queued to a recipient.",
		}),
		privateMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_private_messages_total", Help: "Private messages delivered.",
		}),
		rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatd_rooms", Help: "Rooms open now, the lobby included.",
		}),
		nicks: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatd_nicks", Help: "Registered nicks (users online) now.",
		}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatd_actor_panics_total", Help: "Actor panics, by actor kind and the supervisor's directive (stop, resume).",
		}, []string{"actor", "directive"}),
		requestTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_request_timeouts_total", Help: "Requests of a connection to the registry or a room that got no answer within the request timeout.",
		}),

		clusterMembers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatd_cluster_members", Help: "Members of the cluster this node sees, itself included (0: not in a cluster, or not joined yet).",
		}),
		clusterSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_cluster_messages_sent_total", Help: "Messages this node's rooms, routers and relay sent to other nodes.",
		}),
		clusterReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_cluster_relay_deliveries_received_total", Help: "Room deliveries this node's relay received from a room on another node.",
		}),
		clusterNodesLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_cluster_nodes_lost_total", Help: "Nodes that left the cluster, as this node saw it.",
		}),
		storeUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatd_store_up", Help: "1 while the store's writes succeed, 0 while it is down (posts are queued and retried).",
		}),
		storeWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_store_writes_total", Help: "Records (posts and topics) written to the store.",
		}),
		storeBatchRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "chatd_store_batch_records", Help: "Records in each successful write to the store.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		storeWriteSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "chatd_store_write_seconds", Help: "How long each write to the store took, failed ones included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9),
		}),
		storeQueued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatd_store_queue_records", Help: "Records waiting to be written to the store.",
		}),
		storeDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_store_dropped_total", Help: "Records not stored because the store's queue was full (they were delivered).",
		}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_store_errors_total", Help: "Failed store calls (writes and prunes).",
		}),
		storePruned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_store_pruned_total", Help: "Posts deleted by the retention.",
		}),
	}
	outbox := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chatd_outbox_bytes", Help: "Bytes queued in client outboxes, waiting for their writers.",
	}, func() float64 {
		if t := m.served.Load(); t != nil {
			return float64(t.QueuedBytes())
		}
		return 0
	})
	m.Registry.MustRegister(
		outbox,
		m.connectionsOpen, m.connectionsTotal, m.connectionsRejected, m.disconnects,
		m.linesReceived, m.linesRefused, m.messagesPosted, m.deliveries, m.privateMessages,
		m.rooms, m.nicks, m.panics, m.requestTimeouts,
		m.clusterMembers, m.clusterSent, m.clusterReceived, m.clusterNodesLost,
		m.storeUp, m.storeWrites, m.storeBatchRecords, m.storeWriteSeconds, m.storeQueued, m.storeDropped, m.storeErrors, m.storePruned,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Every reason is present from the start, at zero, so that a dashboard
	// sees the series before the first event.
	for _, r := range messages.LeaveReason_value {
		if r != 0 && messages.LeaveReason(r) != messages.LeaveReason_LEAVE_REASON_PART {
			m.disconnects.WithLabelValues(reasonLabel(messages.LeaveReason(r)))
		}
	}
	for _, r := range []string{netio.RejectServerFull, netio.RejectPerIP, netio.RejectKline, netio.RejectHandshakes} {
		m.connectionsRejected.WithLabelValues(r)
	}
	for _, r := range []string{refusedFlood, refusedTooLong} {
		m.linesRefused.WithLabelValues(r)
	}
	m.panics.WithLabelValues("connection", "stop")
	for _, kind := range []string{"server", "registry", "rooms", "room", "connections", "store"} {
		m.panics.WithLabelValues(kind, "resume")
	}
	return m
}

// reasonLabel is a leave reason as a metric label value: snake case, like
// every label value.
func reasonLabel(r messages.LeaveReason) string {
	return strings.ReplaceAll(text.LeaveReason(r), " ", "_")
}

// Label values.
const (
	refusedFlood   = "flood"
	refusedTooLong = "too_long"
)

// storeDown is why and since when the store's writes fail.
type storeDown struct {
	since time.Time
	err   string
}

// table is what a socket table counts in these metrics.
func (m *Metrics) table() netio.TableMetrics {
	return netio.TableMetrics{Open: m.connectionsOpen, Total: m.connectionsTotal,
		Rejected: func(reason string) { m.connectionsRejected.WithLabelValues(reason).Inc() }}
}
