package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/actorchat/actorchat/actors"
	"github.com/actorchat/actorchat/internal/clustertls"
	"github.com/actorchat/actorchat/internal/peers"
)

// Cluster providers.
const (
	providerAutomanaged = "automanaged"
	providerEtcd        = "etcd"
)

// clusterConfig is what the cluster flags say.
type clusterConfig struct {
	name       string        // empty: a single node
	node       string        // host:port of this node's cluster transport
	provider   string        // automanaged or etcd
	peers      string        // automanaged: every node's health endpoint, host:port, comma-separated
	healthPort int           // automanaged: this node's health port; 0: the node's port + 100
	refresh    time.Duration // automanaged: how often each node checks the others
	etcd       string        // etcd: client URLs, comma-separated
	settle     time.Duration
	join       time.Duration // how long joining may take at start-up
	tlsCert    string        // this node's certificate, signed by the cluster's CA; empty: no TLS
	tlsKey     string
	tlsCA      string // the cluster's CA certificate
	insecure   bool   // the network between the nodes is trusted: plain traffic beyond loopback
}

func (c *clusterConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.name, "cluster", "", "join the Proto.Actor cluster of this name (empty: a single node, no cluster port); the README's \"Running a cluster\"")
	fs.StringVar(&c.node, "node", "", "host:port this node's cluster transport listens on and the others reach it at, e.g. 10.0.0.5:7701 (with -cluster); beyond loopback it needs -cluster-tls-cert, -cluster-tls-key and -cluster-tls-ca, or -cluster-insecure")
	fs.StringVar(&c.provider, "cluster-provider", providerAutomanaged, "how nodes find each other: automanaged (a fixed list, -peers) or etcd (-etcd)")
	fs.StringVar(&c.peers, "peers", "", "automanaged: the health endpoint (host:port) of every node, this one included, comma-separated, e.g. 10.0.0.5:7801,10.0.0.6:7801")
	fs.IntVar(&c.healthPort, "cluster-health-port", 0, "automanaged: the port of this node's health endpoint, on the -node host (0: the -node port + 100)")
	fs.DurationVar(&c.refresh, "cluster-refresh", time.Second, "automanaged: how often every node checks the others; a node that misses one check leaves the cluster for good and must restart")
	fs.StringVar(&c.etcd, "etcd", "", "etcd: client URLs, comma-separated, e.g. http://127.0.0.1:2379 (a node's lease lasts 3s)")
	fs.DurationVar(&c.settle, "cluster-settle", 2*time.Second, "how long a new coordinator waits for the other nodes' users to take their nicks back before handing out nicks")
	fs.DurationVar(&c.join, "cluster-join-timeout", 30*time.Second, "joining the cluster at start-up must be done within this, or chatd exits 1 (an unreachable etcd, say)")
	fs.StringVar(&c.tlsCert, "cluster-tls-cert", "", "PEM file of this node's certificate, signed by the cluster's CA (-cluster-tls-ca): the nodes speak mutual TLS, and only to nodes with such a certificate")
	fs.StringVar(&c.tlsKey, "cluster-tls-key", "", "PEM file of the key of -cluster-tls-cert")
	fs.StringVar(&c.tlsCA, "cluster-tls-ca", "", "PEM file of the cluster's CA certificate")
	fs.BoolVar(&c.insecure, "cluster-insecure", false, "the network between the nodes is trusted: without TLS, a -node beyond loopback is allowed (anyone who reaches the cluster ports can act as any user)")
}

// validate checks the cluster flags; without -cluster they must be unset.
func (c *clusterConfig) validate() error {
	if c.name == "" {
		if c.node != "" || c.peers != "" || c.etcd != "" || c.tlsCert != "" || c.tlsKey != "" || c.tlsCA != "" {
			return errors.New("-node, -peers, -etcd and -cluster-tls-* need -cluster")
		}
		return nil
	}
	if c.node == "" {
		return errors.New("-cluster needs -node HOST:PORT, the address of this node's cluster transport")
	}
	host, port, err := splitHostPort(c.node)
	if err != nil || host == "" {
		return fmt.Errorf("-node must be HOST:PORT with a host the other nodes can reach, got %q", c.node)
	}
	if c.settle <= 0 {
		return fmt.Errorf("-cluster-settle must be positive, got %v", c.settle)
	}
	if c.join < time.Second {
		return fmt.Errorf("-cluster-join-timeout must be at least 1s, got %v", c.join)
	}
	switch c.provider {
	case providerAutomanaged:
		if c.peers == "" {
			return errors.New("-cluster-provider automanaged needs -peers: the health endpoint (host:port) of every node")
		}
		for _, p := range strings.Split(c.peers, ",") {
			if _, _, err := splitHostPort(strings.TrimSpace(p)); err != nil {
				return fmt.Errorf("-peers: %q is not host:port", p)
			}
		}
		if hp := c.healthPortOr(port); hp < 1 || hp > 65535 || hp == port {
			return fmt.Errorf("-cluster-health-port must be a port other than the -node port, got %d", hp)
		}
		if c.refresh < 100*time.Millisecond {
			return fmt.Errorf("-cluster-refresh must be at least 100ms, got %v", c.refresh)
		}
	case providerEtcd:
		if c.etcd == "" {
			return errors.New("-cluster-provider etcd needs -etcd: etcd's client URLs")
		}
	default:
		return fmt.Errorf("-cluster-provider must be automanaged or etcd, got %q", c.provider)
	}
	tlsGiven := c.tlsCert != "" || c.tlsKey != "" || c.tlsCA != ""
	switch {
	case tlsGiven && (c.tlsCert == "" || c.tlsKey == "" || c.tlsCA == ""):
		return errors.New("-cluster-tls-cert, -cluster-tls-key and -cluster-tls-ca go together")
	case !tlsGiven && !c.insecure && !isLoopbackHost(host):
		return fmt.Errorf("-node %s is not on loopback, and cluster traffic without TLS can be forged by anyone who reaches it: "+
			"give -cluster-tls-cert, -cluster-tls-key and -cluster-tls-ca (see the README's \"Running a cluster\"), or -cluster-insecure if the network is trusted", c.node)
	}
	return nil
}

// isLoopbackHost reports whether host is a loopback address, or localhost.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// healthPortOr is the automanaged health port: -cluster-health-port, else
// the node's port + 100.
func (c *clusterConfig) healthPortOr(nodePort int) int {
	if c.healthPort != 0 {
		return c.healthPort
	}
	return nodePort + 100
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return host, port, nil
}

// serverConfig builds the server's cluster configuration and its provider;
// nil without -cluster. evicted is called when the cluster drops the node.
// Its errors say which file or address and why.
func (c *clusterConfig) serverConfig(logger *slog.Logger, evicted func()) (*actors.ClusterConfig, error) {
	if c.name == "" {
		return nil, nil
	}
	host, port, _ := splitHostPort(c.node)
	var tc *clustertls.Config
	if c.tlsCert != "" {
		loaded, err := clustertls.Load(c.tlsCert, c.tlsKey, c.tlsCA)
		if err != nil {
			return nil, err
		}
		tc = &loaded
	} else if !isLoopbackHost(host) {
		logger.Warn("cluster traffic is not authenticated (-cluster-insecure): anyone who reaches the cluster ports can act as any user", "node", c.node)
	}
	var provider cluster.ClusterProvider
	switch c.provider {
	case providerAutomanaged:
		var list []string
		for _, p := range strings.Split(c.peers, ",") {
			list = append(list, strings.TrimSpace(p))
		}
		cfg := peers.Config{Listen: net.JoinHostPort(host, strconv.Itoa(c.healthPortOr(port))), Peers: list, Refresh: c.refresh, Logger: logger}
		if tc != nil {
			cfg.ServerTLS, cfg.ClientTLS = tc.Server, tc.Client
		}
		provider = peers.New(cfg)
	case providerEtcd:
		p, err := etcd.NewWithConfig("/actorchat/"+c.name, clientv3.Config{
			Endpoints:   strings.Split(c.etcd, ","),
			DialTimeout: 5 * time.Second,
		})
		if err != nil {
			return nil, fmt.Errorf("etcd at %s: %w", c.etcd, err)
		}
		provider = p
	}
	evictAfter := 5 * time.Second
	if c.provider == providerAutomanaged {
		evictAfter = max(evictAfter, 5*c.refresh)
	}
	return &actors.ClusterConfig{Name: c.name, Host: host, Port: port, Provider: provider, Evicted: evicted, SettleTime: c.settle, EvictAfter: evictAfter,
		TLS: tc, JoinTimeout: c.join}, nil
}
