package certpem_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/certpem"
)

var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// issue makes a certificate for cn valid until notAfter, signed by parent
// (self-signed when nil).
func issue(t *testing.T, cn string, notAfter time.Time, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (string, string, *x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: notAfter, IsCA: parent == nil, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), cert, key
}

func TestChainOrderKeyAndExpiry(t *testing.T) {
	caPEM, _, ca, caKey := issue(t, "ca", now.Add(365*24*time.Hour), nil, nil)
	leafPEM, leafKey, _, _ := issue(t, "site", now.Add(10*24*time.Hour), ca, caKey)
	_, otherKey, _, _ := issue(t, "other", now.Add(time.Hour), nil, nil)

	chain, err := certpem.ParseChain(leafPEM + caPEM)
	if err != nil || len(chain.Certs) != 2 || chain.Leaf().Subject.CommonName != "site" || len(chain.SHA1()) != 40 {
		t.Fatalf("%+v %v", chain, err)
	}
	if got := chain.Subject(); got != "/CN=site" {
		t.Fatalf("subject %q, want HAProxy's form /CN=site", got)
	}
	if _, err := certpem.ParseChain(caPEM + leafPEM); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Fatalf("issuer first: %v", err)
	}
	if _, err := certpem.ParseChain(leafPEM + leafKey); err == nil || !strings.Contains(err.Error(), "private_key_wo") {
		t.Fatalf("a key in the certificate: %v", err)
	}
	if _, err := certpem.ParseChain("not pem"); err == nil {
		t.Fatal("garbage parsed")
	}
	key, err := certpem.ParseKey(leafKey)
	if err != nil || chain.Matches(key) != nil {
		t.Fatalf("the leaf's own key: %v", err)
	}
	other, _ := certpem.ParseKey(otherKey)
	if chain.Matches(other) == nil {
		t.Fatal("another key matched")
	}
	if w := chain.Expiry(now, 30*24*time.Hour); !strings.Contains(w, "expires on") {
		t.Fatalf("within 30 days: %q", w)
	}
	if w := chain.Expiry(now, 24*time.Hour); w != "" {
		t.Fatalf("10 days left, warned 1 day before: %q", w)
	}
	if w := chain.Expiry(now.Add(11*24*time.Hour), time.Hour); !strings.Contains(w, "expired") {
		t.Fatalf("after expiry: %q", w)
	}
}
