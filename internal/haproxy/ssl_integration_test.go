package haproxy_test

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// tlsInstance starts an instance with two TLS frontends, each serving its
// own certificate store (a.pem, b.pem), as `bind … ssl crt` loads them.
func tlsInstance(t *testing.T) (c *haproxy.Client, dir string, addrs map[string]string) {
	t.Helper()
	dir, files := haproxytest.CertStores(t, "a", "b")
	inst := haproxytest.Start(t, haproxytest.Options{CertStores: files})
	addrs = map[string]string{"a": inst.CertFrontends[files[0]], "b": inst.CertFrontends[files[1]]}
	tr, err := haproxy.ParseTarget(inst.UnixTarget())
	if err != nil {
		t.Fatal(err)
	}
	return haproxy.New(tr), dir, addrs
}

func served(t *testing.T, addr string) string { return haproxytest.ServedSerial(t, addr) }

func serialOf(c *x509.Certificate) string { return fmt.Sprintf("%X", c.SerialNumber) }

func run1(t *testing.T, c *haproxy.Client, cmd haproxy.Command) (string, error) {
	t.Helper()
	bodies, err := c.Run(ctx(t), cmd)
	if err != nil {
		return "", err
	}
	return bodies[0], nil
}

// set, then commit: the frontend serves the new certificate at once, and
// `show ssl cert` says what it serves.
func TestSSLCertSetAndCommit(t *testing.T) {
	built := builder(t)
	c, dir, addrs := tlsInstance(t)
	file := dir + "/a.pem"
	cert, key, parsed := haproxytest.SelfSigned(t, "rotated")
	if _, err := run1(t, c, built(haproxy.SetSSLCert(file, string(cert)+string(key)))); err != nil {
		t.Fatal(err)
	}
	body, err := run1(t, c, haproxy.ShowSSLCerts())
	if err != nil {
		t.Fatal(err)
	}
	if s, err := haproxy.ParseSSLStores(body); err != nil || s.Transaction != file || len(s.Files) != 2 {
		t.Fatalf("stores with the transaction open: %+v %v", s, err)
	}
	if served(t, addrs["a"]) == serialOf(parsed) {
		t.Fatal("served before the commit")
	}
	if _, err := run1(t, c, built(haproxy.CommitSSLCert(file))); err != nil {
		t.Fatal(err)
	}
	if got := served(t, addrs["a"]); got != serialOf(parsed) {
		t.Fatalf("serves %s after the commit, want %s", got, serialOf(parsed))
	}
	body, err = run1(t, c, built(haproxy.ShowSSLCert(file, false)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := haproxy.ParseSSLCert(body); err != nil || !strings.EqualFold(strings.TrimLeft(got.Serial, "0"), serialOf(parsed)) || got.Subject != "/CN=rotated" || !got.NotAfter.Equal(parsed.NotAfter) {
		t.Fatalf("show ssl cert: %+v %v (want serial %s, not after %s)", got, err, serialOf(parsed), parsed.NotAfter)
	}
	if _, err := run1(t, c, built(haproxy.ShowSSLCert(dir+"/nope.pem", false))); !errors.Is(err, haproxy.ErrNoSuchCert) {
		t.Fatalf("an unknown store: %v", err)
	}
}

// One transaction at a time per process: a set of another file while one
// is open fails on every version (3.0+ refuses it; 2.6 answers with the
// other file's name, which the client refuses), and nothing is served.
func TestSSLCertOneTransactionPerProcess(t *testing.T) {
	built := builder(t)
	c, dir, addrs := tlsInstance(t)
	certA, keyA, _ := haproxytest.SelfSigned(t, "for-a")
	certB, keyB, parsedB := haproxytest.SelfSigned(t, "for-b")
	if _, err := run1(t, c, built(haproxy.SetSSLCert(dir+"/a.pem", string(certA)+string(keyA)))); err != nil {
		t.Fatal(err)
	}
	_, err := run1(t, c, built(haproxy.SetSSLCert(dir+"/b.pem", string(certB)+string(keyB))))
	if !errors.Is(err, haproxy.ErrOtherTransaction) {
		t.Fatalf("a second file's set with a transaction open: %v", err)
	}
	if _, err := run1(t, c, built(haproxy.AbortSSLCert(dir+"/a.pem"))); err != nil {
		t.Fatal(err)
	}
	if _, err := run1(t, c, built(haproxy.AbortSSLCert(dir+"/a.pem"))); !errors.Is(err, haproxy.ErrNoTransaction) {
		t.Fatalf("abort without a transaction: %v", err)
	}
	if served(t, addrs["b"]) == serialOf(parsedB) {
		t.Fatal("b serves the certificate of the refused set")
	}
}

// A certificate without its key opens a transaction, but the commit fails
// and the frontend keeps serving what it did.
func TestSSLCertWithoutKeyFailsAtCommit(t *testing.T) {
	built := builder(t)
	c, dir, addrs := tlsInstance(t)
	before := served(t, addrs["a"])
	cert, _, _ := haproxytest.SelfSigned(t, "no-key")
	if _, err := run1(t, c, built(haproxy.SetSSLCert(dir+"/a.pem", string(cert)))); err != nil {
		t.Fatal(err)
	}
	if _, err := run1(t, c, built(haproxy.CommitSSLCert(dir+"/a.pem"))); !errors.Is(err, haproxy.ErrInvalidArgument) {
		t.Fatalf("commit of a certificate without its key: %v", err)
	}
	_, _ = run1(t, c, built(haproxy.AbortSSLCert(dir+"/a.pem"))) // 2.6 keeps the transaction, 3.4 drops it
	if got := served(t, addrs["a"]); got != before {
		t.Fatalf("serves %s after a failed commit, want %s", got, before)
	}
	if _, err := run1(t, c, built(haproxy.NewSSLCert(dir+"/new.pem"))); err != nil {
		t.Fatal(err)
	}
	if _, err := run1(t, c, built(haproxy.NewSSLCert(dir+"/new.pem"))); !errors.Is(err, haproxy.ErrAlreadyExists) {
		t.Fatalf("new of an existing store: %v", err)
	}
}
