// Package clustertls authenticates the nodes of a chatd cluster to one
// another: mutual TLS, where a peer is a node of the cluster if and only if
// its certificate is signed by the cluster's certificate authority. That
// holds both ways: a node accepts a connection only from a peer with such a
// certificate (for the cluster transport, gRPC, and for the health
// endpoints), and dials only peers that show one.
//
// Host names are not checked: the nodes reach each other by address, and
// what makes a peer a node is the CA's signature, which only the cluster's
// administrator can make. Keep the CA's key off the nodes.
package clustertls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Config is the TLS of one node: what it serves and dials with.
type Config struct {
	Server *tls.Config // for the cluster transport's and the health endpoint's listeners
	Client *tls.Config // for dialing the other nodes
}

// Load reads a node's certificate and key and the cluster's CA (PEM files).
// Its errors say which file and why.
func Load(certFile, keyFile, caFile string) (Config, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return Config{}, fmt.Errorf("cluster TLS certificate %s, key %s: %w", certFile, keyFile, err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return Config{}, fmt.Errorf("cluster TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return Config{}, fmt.Errorf("cluster TLS CA %s: no PEM certificate in it", caFile)
	}
	return New(pair, pool), nil
}

// New is the TLS of a node with the certificate pair, in a cluster whose CA
// certificates are pool.
func New(pair tls.Certificate, pool *x509.CertPool) Config {
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error { return verifyPeer(raw, pool) }
	return Config{
		Server: &tls.Config{
			MinVersion:            tls.VersionTLS13,
			Certificates:          []tls.Certificate{pair},
			ClientAuth:            tls.RequireAnyClientCert, // verified below, against the cluster's CA
			VerifyPeerCertificate: verify,
			NextProtos:            []string{"h2", "http/1.1"},
		},
		Client: &tls.Config{
			MinVersion:            tls.VersionTLS13,
			Certificates:          []tls.Certificate{pair},
			InsecureSkipVerify:    true, // no host name check; the chain is verified below, against the cluster's CA
			VerifyPeerCertificate: verify,
		},
	}
}

// ErrNotInCluster reports a peer whose certificate the cluster's CA did not
// sign.
var ErrNotInCluster = errors.New("the peer's certificate is not signed by the cluster's CA")

// verifyPeer checks that the peer's certificate chains to the cluster's CA.
func verifyPeer(raw [][]byte, pool *x509.CertPool) error {
	if len(raw) == 0 {
		return ErrNotInCluster
	}
	certs := make([]*x509.Certificate, 0, len(raw))
	for _, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrNotInCluster, err)
		}
		certs = append(certs, c)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("%w: %v", ErrNotInCluster, err)
	}
	return nil
}
