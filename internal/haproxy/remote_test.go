package haproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// Remote transports against real parts: HAProxy terminating mutual TLS for
// its own admin socket, and a real sshd forwarding to it.

func tlsConfig(t *testing.T, ca, cert, key string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

func remoteCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestTLSTransport(t *testing.T) {
	inst := haproxytest.Start(t, haproxytest.Options{TLS: true})
	p := inst.PKI
	good, err := ParseTarget(inst.TLSTarget(), Credentials{TLS: tlsConfig(t, p.CA, p.ClientCert, p.ClientKey)})
	if err != nil {
		t.Fatal(err)
	}
	c := New(good)
	if lvl, err := c.Level(remoteCtx(t)); err != nil || lvl != "admin" {
		t.Fatalf("level over mutual TLS = %q, %v", lvl, err)
	}
	if err := c.SetState(remoteCtx(t), "app", "websrv3", StateDrain); err != nil {
		t.Fatal(err)
	}
	if s := inst.State(t, "app", "websrv3"); s.Admin != 12 {
		t.Fatalf("write over TLS did not land: %+v", s)
	}

	refused := map[string]Credentials{
		"no client certificate":              {TLS: tlsConfig(t, p.CA, "", "")},
		"a client certificate of another CA": {TLS: tlsConfig(t, p.CA, p.OtherCert, p.OtherKey)},
	}
	for name, cr := range refused {
		tr, err := ParseTarget(inst.TLSTarget(), cr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(tr).Level(remoteCtx(t)); err == nil {
			t.Errorf("%s: the admin CLI answered", name)
		} else if !strings.Contains(err.Error(), inst.TLSTarget()) {
			t.Errorf("%s: error does not name the socket: %v", name, err)
		}
	}
	// tls:// pointed at the plaintext CLI: the handshake fails, nothing is
	// sent in the clear.
	plain, err := ParseTarget("tls://"+inst.AdminTCP, Credentials{TLS: tlsConfig(t, p.CA, p.ClientCert, p.ClientKey)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(plain).Level(remoteCtx(t)); err == nil {
		t.Error("tls:// to a plaintext socket answered")
	}
	if _, err := ParseTarget(inst.TLSTarget()); err == nil {
		t.Error("a tls:// target without TLS settings was accepted")
	}
}

func sshAuth(t *testing.T, keyFile string) ssh.AuthMethod {
	t.Helper()
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.PublicKeys(signer)
}

func TestSSHTransport(t *testing.T) {
	inst := haproxytest.Start(t)
	sshd := haproxytest.StartSSHD(t)
	d, err := NewSSHDialer(sshd.KnownHosts, sshAuth(t, sshd.ClientKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	tr, err := ParseTarget(sshd.Target(inst.AdminSock), Credentials{SSH: d})
	if err != nil {
		t.Fatal(err)
	}
	c := New(tr)
	for i := 0; i < 5; i++ {
		if lvl, err := c.Level(remoteCtx(t)); err != nil || lvl != "admin" {
			t.Fatalf("level over ssh = %q, %v", lvl, err)
		}
	}
	if err := c.SetState(remoteCtx(t), "app", "websrv4", StateDrain); err != nil {
		t.Fatal(err)
	}
	if s := inst.State(t, "app", "websrv4"); s.Admin != 12 {
		t.Fatalf("write over ssh did not land: %+v", s)
	}
	if n := d.Connections(); n != 1 {
		t.Fatalf("%d SSH connections for six exchanges, want one reused", n)
	}

	// A connection that died is dialed again, once.
	d.mu.Lock()
	for _, cl := range d.clients {
		_ = cl.Close()
	}
	d.mu.Unlock()
	if _, err := c.Level(remoteCtx(t)); err != nil {
		t.Fatalf("after the SSH connection died: %v", err)
	}
	if n := d.Connections(); n != 2 {
		t.Fatalf("%d SSH connections, want a second one after the first died", n)
	}

	// Refusals, each before any command reaches HAProxy.
	cases := map[string]struct {
		known, key, want string
	}{
		"changed host key":   {sshd.WrongKnownHosts, sshd.ClientKey, "does not match"},
		"unknown host":       {sshd.EmptyKnownHosts, sshd.ClientKey, "not in"},
		"key not authorized": {sshd.KnownHosts, sshd.OtherKey, "unable to authenticate"},
	}
	for name, tc := range cases {
		d, err := NewSSHDialer(tc.known, sshAuth(t, tc.key))
		if err != nil {
			t.Fatal(err)
		}
		tr, _ := ParseTarget(sshd.Target(inst.AdminSock), Credentials{SSH: d})
		_, err = New(tr).Level(remoteCtx(t))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tr.String()) {
			t.Errorf("%s: err = %v, want it to say %q and name the socket", name, err, tc.want)
		}
		_ = d.Close()
	}
}
