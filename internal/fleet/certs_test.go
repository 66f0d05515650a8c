package fleet_test

import (
	"context"
	"crypto/sha1" //nolint:gosec // HAProxy names certificates by their SHA-1 fingerprint
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// certFleet is two instances serving the same stores (a and b) on their own
// TLS frontends, and a fleet on both.
func certFleet(t *testing.T) (f *fleet.Fleet, insts []*haproxytest.Instance, dir string, addrs []map[string]string) {
	t.Helper()
	dir, files := haproxytest.CertStores(t, "a", "b")
	// Both instances load the same files, each on frontends of its own.
	for range 2 {
		inst := haproxytest.Start(t, haproxytest.Options{CertStores: files})
		insts = append(insts, inst)
		addrs = append(addrs, map[string]string{"a": inst.CertFrontends[files[0]], "b": inst.CertFrontends[files[1]]})
	}
	return fleettest.New(t, insts[0].UnixTarget(), insts[1].TCPTarget()), insts, dir, addrs
}

func newCert(t *testing.T, cn string) (fleet.Certificate, *x509.Certificate) {
	t.Helper()
	cert, key, parsed := haproxytest.SelfSigned(t, cn)
	sum := sha1.Sum(parsed.Raw) //nolint:gosec // see the import
	return fleet.Certificate{PEM: string(cert) + string(key), SHA1: fmt.Sprintf("%X", sum)}, parsed
}

func TestSetCertificateEverywhere(t *testing.T) {
	f, insts, dir, addrs := certFleet(t)
	cert, parsed := newCert(t, "rotated")
	cert.File = dir + "/a.pem"
	out, err := f.SetCertificate(context.Background(), cert)
	if err != nil || len(out.Committed) != 2 || len(out.Failed) > 0 {
		t.Fatalf("%+v %v", out, err)
	}
	for i := range insts {
		if got := haproxytest.ServedSerial(t, addrs[i]["a"]); got != fmt.Sprintf("%X", parsed.SerialNumber) {
			t.Fatalf("instance %d serves %s", i, got)
		}
	}
	read, skipped, err := f.ReadCertificate(context.Background(), cert.File)
	if err != nil || len(skipped) > 0 || len(read) != 2 || !strings.EqualFold(read[1].Cert.SHA1, cert.SHA1) {
		t.Fatalf("read back %+v %v %v", read, skipped, err)
	}
}

// A transaction another writer left open on one instance stops the write
// before anything is sent anywhere: the other instance keeps its
// certificate, and the foreign transaction is left as it was.
func TestSetCertificateRefusesAForeignTransaction(t *testing.T) {
	f, insts, dir, addrs := certFleet(t)
	before := haproxytest.ServedSerial(t, addrs[0]["a"])
	foreign, _ := newCert(t, "someone-else")
	insts[1].Admin(t, "set ssl cert "+dir+"/b.pem <<\n"+strings.TrimRight(foreign.PEM, "\n")+"\n")
	cert, _ := newCert(t, "ours")
	cert.File = dir + "/a.pem"
	_, err := f.SetCertificate(context.Background(), cert)
	if err == nil || !strings.Contains(err.Error(), "nothing was written") || !strings.Contains(err.Error(), dir+"/b.pem") {
		t.Fatalf("want a refusal naming the open transaction, got %v", err)
	}
	if got := haproxytest.ServedSerial(t, addrs[0]["a"]); got != before {
		t.Fatal("the instance without a foreign transaction changed")
	}
	if !strings.Contains(insts[1].Admin(t, "show ssl cert"), "*"+dir+"/b.pem") {
		t.Fatal("the foreign transaction was touched")
	}
}

// One instance's connection drops as the certificate is sent (a fault a
// real HAProxy cannot produce on demand), after pre-flight passed
// everywhere: the healthy instance had opened its transaction, but nothing
// is committed anywhere, and that transaction is aborted.
func TestSetCertificateCommitsNowhereWhenOneInstanceFails(t *testing.T) {
	dir, files := haproxytest.CertStores(t, "a")
	a, b := haproxytest.Start(t, haproxytest.Options{CertStores: files}), haproxytest.Start(t)
	addrs := map[string]string{"a": a.CertFrontends[files[0]]}
	ta, tb := fleettest.Transport(t, a.UnixTarget()), fleettest.Transport(t, b.UnixTarget())
	f, err := fleet.FromTransports([]haproxy.Transport{ta, dropOn{tb, "set ssl cert"}}, 3*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := haproxytest.ServedSerial(t, addrs["a"])
	cert, _ := newCert(t, "never")
	cert.File = dir + "/a.pem"
	cert.Create = true // b has no such store: pre-flight passes, the set is where it fails
	_, err = f.SetCertificate(context.Background(), cert)
	if err == nil || !strings.Contains(err.Error(), "nothing was committed") {
		t.Fatalf("want nothing committed, got %v", err)
	}
	if got := haproxytest.ServedSerial(t, addrs["a"]); got != before {
		t.Fatal("committed on the healthy instance although the other failed")
	}
	if strings.Contains(a.Admin(t, "show ssl cert"), "# transaction") {
		t.Fatal("the transaction opened on the healthy instance was not aborted")
	}
	// b had no store: the write created one there, and removes it again
	// (nothing changed), over a connection the drop does not touch.
	if stores := b.Admin(t, "show ssl cert"); strings.Contains(stores, cert.File) {
		t.Fatalf("the store created for the write is left on the failed instance:\n%s", stores)
	}
}

// dropOn closes a connection, unanswered, once what is written to it
// contains cmd.
type dropOn struct {
	haproxy.Transport
	cmd string
}

func (d dropOn) Dial(ctx context.Context) (net.Conn, error) {
	c, err := d.Transport.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return &droppingConn{Conn: c, cmd: d.cmd}, nil
}

type droppingConn struct {
	net.Conn
	cmd string
}

func (c *droppingConn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.cmd) {
		_ = c.Close()
		return 0, net.ErrClosed
	}
	return c.Conn.Write(p)
}

// Every store on every socket; an empty store (`new ssl cert`, not filled)
// is left out, not an error.
func TestReadCertificatesEveryStore(t *testing.T) {
	f, insts, dir, _ := certFleet(t)
	insts[0].Admin(t, "new ssl cert "+dir+"/empty.pem")
	read, skipped, err := f.ReadCertificates(context.Background())
	if err != nil || len(skipped) > 0 {
		t.Fatal(err, skipped)
	}
	got := map[string]int{}
	for _, sc := range read {
		got[sc.Cert.File]++
		if sc.Cert.SHA1 == "" || sc.Cert.NotAfter.IsZero() {
			t.Errorf("%+v", sc)
		}
	}
	if got[dir+"/a.pem"] != 2 || got[dir+"/b.pem"] != 2 || len(got) != 2 {
		t.Fatalf("stores read: %v", got)
	}
}

// A run killed between its set and its commit left its own transaction
// open on one instance: the next run recognises it (it holds the very
// certificate being written) and commits everywhere, with no hand abort.
func TestSetCertificateGoesOnOverItsOwnTransaction(t *testing.T) {
	f, insts, dir, addrs := certFleet(t)
	cert, parsed := newCert(t, "killed-run")
	cert.File = dir + "/a.pem"
	insts[1].Admin(t, "set ssl cert "+cert.File+" <<\n"+strings.TrimRight(cert.PEM, "\n")+"\n")
	out, err := f.SetCertificate(context.Background(), cert)
	if err != nil || len(out.Committed) != 2 {
		t.Fatalf("%+v %v", out, err)
	}
	for i := range insts {
		if got := haproxytest.ServedSerial(t, addrs[i]["a"]); got != fmt.Sprintf("%X", parsed.SerialNumber) {
			t.Fatalf("instance %d serves %s", i, got)
		}
	}
}
