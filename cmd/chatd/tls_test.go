package main

import (
	"bufio"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actorchat/actorchat/internal/testkit"
)

// dialTLS connects to the TLS port trusting pool, and returns the
// connection and the serial number of the certificate it was shown.
func dialTLS(t *testing.T, addr string, cert testkit.Cert) (*tls.Conn, int64, error) {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: waitTimeout}, "tcp", addr, &tls.Config{RootCAs: cert.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		return nil, 0, err
	}
	t.Cleanup(func() { conn.Close() })
	return conn, conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
}

func TestProcessTLSCertificateReload(t *testing.T) {
	dir := t.TempDir()
	cert1 := testkit.NewCert(t, dir, 1)
	addr, tlsAddr := testkit.FreeAddr(t), testkit.FreeAddr(t)
	p := testkit.Start(t, chatdBin, nil, "-listen", addr, "-tls-listen", tlsAddr, "-tls-cert", cert1.CertFile, "-tls-key", cert1.KeyFile)

	var conn *tls.Conn
	var serial int64
	testkit.Eventually(t, "the TLS port to accept", func() bool {
		var err error
		conn, serial, err = dialTLS(t, tlsAddr, cert1)
		return err == nil
	})
	if serial != 1 {
		t.Fatalf("serial %d", serial)
	}
	r := bufio.NewReader(conn)
	readTLS := func() string {
		_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return strings.TrimRight(line, "\r\n")
	}
	if got := readTLS(); got != "*** Welcome to actorchat "+version+", a chat server built on actors." {
		t.Fatalf("welcome %q", got)
	}

	// A new certificate: new connections get it, the one connected stays.
	cert2 := testkit.NewCert(t, dir, 2)
	if err := p.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "new connections to get the new certificate", func() bool {
		_, serial, err := dialTLS(t, tlsAddr, cert2)
		return err == nil && serial == 2
	})
	if _, err := conn.Write([]byte("/me is still here\r\n")); err != nil {
		t.Fatal(err)
	}
	for !strings.HasSuffix(readTLS(), " is still here") {
	}

	// A bad certificate is not taken: the last good one stays.
	if err := os.WriteFile(cert2.CertFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the failed reload logged", func() bool {
		return strings.Contains(p.Stderr.String(), "keeping the old TLS certificate")
	})
	if _, serial, err := dialTLS(t, tlsAddr, cert2); err != nil || serial != 2 {
		t.Fatalf("after a bad reload: serial %d, %v", serial, err)
	}
}

func TestProcessTLSErrors(t *testing.T) {
	dir := t.TempDir()
	cert := testkit.NewCert(t, dir, 1)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-tls-listen", "127.0.0.1:0"}, exitUsage, "chatd: -tls-listen needs -tls-cert and -tls-key\n"},
		{[]string{"-tls-cert", cert.CertFile}, exitUsage, "chatd: -tls-cert and -tls-key go together\n"},
		{[]string{"-irc-tls-listen", "127.0.0.1:0"}, exitUsage, "chatd: -irc-tls-listen needs -tls-cert and -tls-key\n"},
		{[]string{"-irc-name", "nodot"}, exitUsage, "chatd: invalid -irc-name \"nodot\": want a host name with a dot, such as irc.example.org\n"},
		{[]string{"-irc-listen", "6667"}, exitUsage, "chatd: invalid -irc-listen \"6667\": missing port in address (want HOST:PORT, such as :7666 or 127.0.0.1:7666)\n"},
		{[]string{"-listen", "127.0.0.1:0", "-tls-listen", "127.0.0.1:0", "-tls-cert", filepath.Join(dir, "missing.pem"), "-tls-key", cert.KeyFile}, exitRuntime,
			"chatd: TLS certificate " + filepath.Join(dir, "missing.pem") + ", key " + cert.KeyFile + ": open " + filepath.Join(dir, "missing.pem") + ": no such file or directory\n"},
	} {
		code, _, stderr := runChatd(t, nil, tc.args...)
		if code != tc.code || stderr != tc.want {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

// TestSocketActivationWithTLS: systemd passes the plain port and a socket
// named tls (chatd-tls.socket's FileDescriptorName=tls); chatd serves TLS on
// the second.
func TestSocketActivationWithTLS(t *testing.T) {
	files, addrs := passedSockets(t, 2)
	cert := testkit.NewCert(t, t.TempDir(), 7)
	p := startActivated(t, files, "chatd.socket:tls", "-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
	_, r := dialLines(t, addrs[0])
	if line := readLine(t, r); !strings.HasPrefix(line, "*** Welcome to actorchat") {
		t.Errorf("plain port: got %q", line)
	}
	var serial int64
	testkit.Eventually(t, "the passed TLS socket to serve TLS", func() bool {
		_, s, err := dialTLS(t, addrs[1], cert)
		serial = s
		return err == nil
	})
	if serial != 7 || !strings.Contains(p.Stderr.String(), "using the TLS socket passed by systemd") {
		t.Errorf("serial %d; stderr:\n%s", serial, p.Stderr)
	}
}

// TestTLSOffersAEADOnly: the TLS port's configuration serves TLS 1.2
// clients with forward-secret AEAD suites only: a client that offers only
// CBC suites (or RSA key exchange) is refused.
func TestTLSOffersAEADOnly(t *testing.T) {
	dir := t.TempDir()
	cert := testkit.NewCert(t, dir, 1)
	c, err := loadCertificate(cert.CertFile, cert.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", c.config())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	dial := func(suites ...uint16) error {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: waitTimeout}, "tcp", ln.Addr().String(),
			&tls.Config{RootCAs: cert.Pool, ServerName: "127.0.0.1", MaxVersion: tls.VersionTLS12, CipherSuites: suites})
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := dial(tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_RSA_WITH_AES_128_GCM_SHA256); err == nil {
		t.Error("a client with CBC and RSA key exchange suites only was served")
	}
	if err := dial(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256); err != nil {
		t.Errorf("an AEAD client: %v", err)
	}
}

// passedSockets makes n listening sockets on loopback, as systemd passes
// them (the files, open until the test ends), and their addresses.
func passedSockets(t *testing.T, n int) ([]*os.File, []string) {
	t.Helper()
	var files []*os.File
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, ln.Addr().String())
		ln.Close() // the duplicate in f stays open, and passes to chatd
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
	}
	return files, addrs
}

// startActivated starts chatd as systemd would with the sockets files, of
// the names given (LISTEN_FDNAMES), and args; when the test ends it is
// interrupted and must exit 0.
func startActivated(t *testing.T, files []*os.File, names string, args ...string) *testkit.Process {
	t.Helper()
	cmd := exec.Command("/bin/sh", append([]string{"-c", `LISTEN_PID=$$ LISTEN_FDS=` + strconv.Itoa(len(files)) + ` LISTEN_FDNAMES=` + names +
		` exec "$0" -listen 127.0.0.1:1 "$@"`, chatdBin}, args...)...)
	cmd.ExtraFiles = files
	cmd.Env = append(os.Environ(), "CHATD_DATA="+t.TempDir())
	p := testkit.StartCmd(t, cmd)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		if code := p.Wait(t); code != exitOK {
			t.Errorf("chatd exited with %d; stderr:\n%s", code, p.Stderr)
		}
	})
	return p
}
