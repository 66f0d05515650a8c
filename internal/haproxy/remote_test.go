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

// The master CLI (`haproxy -W -S`) sends every command to the current
// worker; the same socket keeps working across a real reload, which starts
// a new worker with none of the old one's runtime changes.
func TestMasterCLITransport(t *testing.T) {
	inst := haproxytest.Start(t, haproxytest.Options{MasterWorker: true})
	tr, err := ParseTarget(inst.MasterTarget())
	if err != nil {
		t.Fatal(err)
	}
	if tr.String() != inst.MasterTarget() {
		t.Fatalf("target reads %q", tr.String())
	}
	c := New(tr)
	if lvl, err := c.Level(remoteCtx(t)); err != nil || lvl != "admin" {
		t.Fatalf("level through the master = %q, %v", lvl, err)
	}
	ready := must(SetServerState("app", "websrv2", StateReady))
	drain := must(SetServerState("app", "websrv2", StateDrain))
	err = c.Session(remoteCtx(t), func(s *Session) error {
		for _, cmd := range []Command{ready, drain} {
			each, err := s.Run(cmd)
			if err != nil || each[0] != nil {
				t.Fatalf("%s: %v %v", cmd, each, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := inst.State(t, "app", "websrv2"); s.Admin != 12 {
		t.Fatalf("a session through the master did not reach the worker: %+v", s)
	}
	// A refusal is still a refusal, and names the master socket.
	if err := c.SetState(remoteCtx(t), "app", "nope", StateReady); !IsGone(err) || !strings.Contains(err.Error(), inst.MasterTarget()) {
		t.Fatalf("missing server through the master: %v", err)
	}

	inst.Reload(t)
	st, err := c.ServersState(remoteCtx(t), "app")
	if err != nil {
		t.Fatalf("after a reload: %v", err)
	}
	if w2, _ := st.Find("app", "websrv2"); w2.Admin.UserState() != StateMaint {
		t.Fatalf("the read after the reload did not come from the new worker: %+v", w2)
	}
	// The master CLI over SSH.
	sshd := haproxytest.StartSSHD(t)
	d, err := NewSSHDialer(sshd.KnownHosts, sshAuth(t, sshd.ClientKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	overSSH, err := ParseTarget("master+"+sshd.Target(inst.MasterSock), Credentials{SSH: d})
	if err != nil {
		t.Fatal(err)
	}
	if lvl, err := New(overSSH).Level(remoteCtx(t)); err != nil || lvl != "admin" {
		t.Fatalf("level through the master over ssh = %q, %v", lvl, err)
	}
	for _, bad := range []string{"master+master+unix:///x.sock", "master+", "master+http://x:1"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
