// Package peers is a Proto.Actor cluster provider over a fixed list of
// nodes, each of which serves a health endpoint that the others poll: what
// protoactor's automanaged provider does, with three differences that
// chatd needs.
//
//   - The health endpoint listens on the node's own host, not on every
//     interface.
//   - With TLS (internal/clustertls) the endpoints speak HTTPS, and serve
//     and poll only the cluster's nodes.
//   - A peer that does not answer is logged at debug level: during a
//     staggered start and after a node's death that is normal, and the
//     cluster reports who left. A bind error fails StartMember, so that the
//     node exits with one line saying why.
//
// A peer that misses a poll leaves the member list, as with automanaged; at
// our protoactor pin the cluster then blocks it for good (it must restart).
package peers

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
)

// Config says where a node's health endpoint is and whom it polls.
type Config struct {
	Listen  string        // host:port of this node's health endpoint: the -node host
	Peers   []string      // host:port of every node's health endpoint, this one's included
	Refresh time.Duration // how often the peers are polled
	// TLS, when the cluster's traffic is authenticated; nil: plain HTTP.
	ServerTLS, ClientTLS *tls.Config
	Logger               *slog.Logger
}

// Provider is the cluster provider. Make one with New.
type Provider struct {
	cfg    Config
	client *http.Client

	mu      sync.Mutex
	cluster *cluster.Cluster
	server  *http.Server
	stop    chan struct{} // closed by Shutdown
	done    chan struct{} // closed when the poll loop ends
}

var _ cluster.ClusterProvider = (*Provider)(nil)

// New returns a provider for cfg.
func New(cfg Config) *Provider {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 5 * time.Second}).DialContext,
		TLSClientConfig:     cfg.ClientTLS,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Provider{cfg: cfg, client: &http.Client{Transport: transport, Timeout: 2 * time.Second}}
}

// node is what a health endpoint says of its node: the JSON of
// automanaged's NodeModel.
type node struct {
	ID             string   `json:"id"`
	Address        string   `json:"address"`
	AutoManagePort int      `json:"auto_manage_port"`
	Port           int      `json:"port"`
	Kinds          []string `json:"kinds"`
	ClusterName    string   `json:"cluster_name"`
}

// StartMember serves this node's health endpoint and starts polling the
// peers. It fails if the endpoint cannot listen.
func (p *Provider) StartMember(c *cluster.Cluster) error {
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", p.cfg.Listen)
	if err != nil {
		return fmt.Errorf("cluster health endpoint: %w", err)
	}
	if p.cfg.ServerTLS != nil {
		ln = tls.NewListener(ln, p.cfg.ServerTLS)
	}
	_, hp, _ := net.SplitHostPort(p.cfg.Listen)
	healthPort, _ := strconv.Atoi(hp)
	self := node{ID: c.ActorSystem.ID, Address: host, Port: port, AutoManagePort: healthPort, Kinds: c.GetClusterKinds(), ClusterName: c.Config.Name}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(self)
	})
	// A peer that fails the TLS handshake (one outside the cluster) is
	// logged at debug level, not on stderr.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 2 * time.Second, ErrorLog: slog.NewLogLogger(p.cfg.Logger.Handler(), slog.LevelDebug)}
	p.mu.Lock()
	p.cluster, p.server = c, srv
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	p.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.cfg.Logger.Error("cluster health endpoint failed", "error", err)
		}
	}()
	go p.poll()
	return nil
}

// StartClient is not used: every chatd is a member.
func (p *Provider) StartClient(*cluster.Cluster) error {
	return errors.New("peers: a chatd node is always a member")
}

// Shutdown stops polling and closes the health endpoint, so that the other
// nodes see this one leave at their next poll.
func (p *Provider) Shutdown(bool) error {
	p.mu.Lock()
	srv, stop, done := p.server, p.stop, p.done
	p.server, p.stop = nil, nil
	p.mu.Unlock()
	if srv == nil {
		return nil
	}
	close(stop)
	<-done
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// poll asks every peer for its node each Refresh, and hands the cluster the
// nodes that answered.
func (p *Provider) poll() {
	p.mu.Lock()
	c, stop, done := p.cluster, p.stop, p.done
	p.mu.Unlock()
	defer close(done)
	ticker := time.NewTicker(p.cfg.Refresh)
	defer ticker.Stop()
	for {
		if members := p.check(c.Config.Name); members != nil {
			c.MemberList.UpdateClusterTopology(members)
		}
		select {
		case <-stop:
			return
		case <-ticker.C:
		}
	}
}

// check polls every peer at once; nil when none answered (not even this
// node: then nothing is known, and nothing changes).
func (p *Provider) check(clusterName string) []*cluster.Member {
	found := make([]*node, len(p.cfg.Peers))
	var wg sync.WaitGroup
	for i, peer := range p.cfg.Peers {
		wg.Go(func() {
			n, err := p.fetch(peer)
			if err != nil {
				p.cfg.Logger.Debug("cluster: a peer's health endpoint did not answer", "peer", peer, "error", err)
				return
			}
			found[i] = n
		})
	}
	wg.Wait()
	members := []*cluster.Member{}
	answered := false
	for _, n := range found {
		if n == nil {
			continue
		}
		answered = true
		if n.ClusterName == clusterName {
			members = append(members, &cluster.Member{Id: n.ID, Host: n.Address, Port: int32(n.Port), Kinds: n.Kinds})
		}
	}
	if !answered {
		return nil
	}
	return members
}

func (p *Provider) fetch(peer string) (*node, error) {
	scheme := "http"
	if p.cfg.ClientTLS != nil {
		scheme = "https"
	}
	resp, err := p.client.Get(scheme + "://" + peer + "/_health")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var n node
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 64<<10)).Decode(&n); err != nil {
		return nil, err
	}
	return &n, nil
}
