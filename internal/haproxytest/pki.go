package haproxytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a throwaway certificate authority for mutual-TLS tests, with the
// files HAProxy and the provider read.
type PKI struct {
	CA         string // CA certificate (PEM): HAProxy's ca-file and the client's trust
	ServerPEM  string // server certificate and key in one file, as HAProxy's crt
	ClientCert string // client certificate signed by the CA
	ClientKey  string
	// OtherCert and OtherKey are a client certificate from another CA, which
	// the server must refuse.
	OtherCert string
	OtherKey  string
}

// NewPKI writes a CA, a server certificate for 127.0.0.1 and localhost, a
// client certificate, and a client certificate of a second CA into dir.
func NewPKI(t testing.TB, dir string) *PKI {
	t.Helper()
	ca, caKey := newCA(t, "haproxytest CA")
	other, otherKey := newCA(t, "some other CA")
	p := &PKI{
		CA:         filepath.Join(dir, "ca.pem"),
		ServerPEM:  filepath.Join(dir, "srv.pem"),
		ClientCert: filepath.Join(dir, "client.pem"),
		ClientKey:  filepath.Join(dir, "client.key"),
		OtherCert:  filepath.Join(dir, "other.pem"),
		OtherKey:   filepath.Join(dir, "other.key"),
	}
	writeFile(t, p.CA, pemCert(ca.Raw))
	srv, srvKey := newLeaf(t, ca, caKey, "localhost", x509.ExtKeyUsageServerAuth)
	writeFile(t, p.ServerPEM, append(pemCert(srv), pemKey(t, srvKey)...))
	cli, cliKey := newLeaf(t, ca, caKey, "terraform", x509.ExtKeyUsageClientAuth)
	writeFile(t, p.ClientCert, pemCert(cli))
	writeFile(t, p.ClientKey, pemKey(t, cliKey))
	oc, ocKey := newLeaf(t, other, otherKey, "terraform", x509.ExtKeyUsageClientAuth)
	writeFile(t, p.OtherCert, pemCert(oc))
	writeFile(t, p.OtherKey, pemKey(t, ocKey))
	return p
}

func newCA(t testing.TB, name string, dnsNames ...string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62)) // certificates of a test tell apart by serial
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
		DNSNames:              dnsNames,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func newLeaf(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     []string{name},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pemKey(t testing.TB, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// SelfSigned makes a certificate for cn (its DNS name cn.test) signed by its
// own key, with that key: what a `crt` file of a test's TLS frontend holds. It
// returns the PEM of the certificate and of the key, and the certificate.
func SelfSigned(t testing.TB, cn string) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	ca, key := newCA(t, cn, cn+".test")
	return pemCert(ca.Raw), pemKey(t, key), ca
}

// CertStores writes one certificate store per name (a self-signed
// certificate and its key, <dir>/<name>.pem) into a new short directory,
// and returns the directory and the files, for Options.CertStores.
func CertStores(t testing.TB, names ...string) (dir string, files []string) {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "hxc") //nolint:usetesting // short store names
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	for _, name := range names {
		cert, key, _ := SelfSigned(t, "initial-"+name)
		file := filepath.Join(dir, name+".pem")
		if err := os.WriteFile(file, append(cert, key...), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	return dir, files
}

// ServedSerial is the serial (upper-case hex) of the certificate a TLS
// client gets at addr.
func ServedSerial(t testing.TB, addr string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test reads the certificate, it trusts nothing
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	return fmt.Sprintf("%X", conn.ConnectionState().PeerCertificates[0].SerialNumber)
}
