// Package certpem reads what a runtime certificate is made of before any
// of it is sent to HAProxy: the certificate chain (leaf first, each signed
// by the next), the private key, whether they belong together, and what
// HAProxy will report of it (its SHA-1 fingerprint, serial, validity).
package certpem

import (
	"crypto"
	"crypto/sha1" //nolint:gosec // HAProxy names certificates by their SHA-1 fingerprint; nothing is trusted on it
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Chain is a parsed certificate chain, leaf first.
type Chain struct {
	Certs []*x509.Certificate
}

// Leaf is the certificate served.
func (c Chain) Leaf() *x509.Certificate { return c.Certs[0] }

// SHA1 is the leaf's fingerprint as HAProxy prints it (`SHA1 FingerPrint`).
func (c Chain) SHA1() string {
	sum := sha1.Sum(c.Leaf().Raw) //nolint:gosec // see the import
	return fmt.Sprintf("%X", sum)
}

// Serial is the leaf's serial in upper-case hex, without leading zeros.
func (c Chain) Serial() string { return fmt.Sprintf("%X", c.Leaf().SerialNumber) }

// DNSNames are the leaf's DNS subject alternative names (the ones HAProxy
// shows), never nil.
func (c Chain) DNSNames() []string { return append([]string{}, c.Leaf().DNSNames...) }

// ParseChain reads every CERTIFICATE block of pemData, leaf first, and
// checks the order: each certificate is signed by the one after it. A block
// of another type (a key pasted into the certificate) is an error.
func ParseChain(pemData string) (Chain, error) {
	var c Chain
	rest := []byte(pemData)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return Chain{}, fmt.Errorf("the certificate holds a %s block: give the private key in private_key_wo, and only certificates here", b.Type)
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return Chain{}, fmt.Errorf("certificate %d of the chain: %w", len(c.Certs)+1, err)
		}
		c.Certs = append(c.Certs, cert)
	}
	if strings.TrimSpace(string(rest)) != "" {
		return Chain{}, errors.New("the certificate has text that is not PEM after its last block")
	}
	if len(c.Certs) == 0 {
		return Chain{}, errors.New("no PEM CERTIFICATE block found")
	}
	for i := 0; i+1 < len(c.Certs); i++ {
		if err := c.Certs[i].CheckSignatureFrom(c.Certs[i+1]); err != nil {
			return Chain{}, fmt.Errorf("the chain is out of order: certificate %d (%s) is not signed by certificate %d (%s); put the leaf first, then each issuer",
				i+1, c.Certs[i].Subject, i+2, c.Certs[i+1].Subject)
		}
	}
	return c, nil
}

// ParseKey reads one private key block (PKCS#8, PKCS#1 or EC).
func ParseKey(pemData string) (crypto.Signer, error) {
	b, rest := pem.Decode([]byte(pemData))
	if b == nil {
		return nil, errors.New("no PEM private key block found")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("the private key has more than one PEM block")
	}
	var key any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("a %s block is not a private key", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("the private key cannot sign")
	}
	return s, nil
}

// Matches reports whether key is the leaf certificate's.
func (c Chain) Matches(key crypto.Signer) error {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := key.Public().(equaler)
	if !ok || !pub.Equal(c.Leaf().PublicKey) {
		return fmt.Errorf("the private key is not the key of the certificate %s", c.Leaf().Subject)
	}
	return nil
}

// Expiry says, when the leaf has expired or expires within warn of now,
// how it stands ("" otherwise).
func (c Chain) Expiry(now time.Time, warn time.Duration) string {
	na := c.Leaf().NotAfter
	switch {
	case !now.Before(na):
		return fmt.Sprintf("the certificate %s expired on %s", c.Leaf().Subject, na.UTC().Format(time.RFC3339))
	case na.Sub(now) < warn:
		return fmt.Sprintf("the certificate %s expires on %s, in %s", c.Leaf().Subject, na.UTC().Format(time.RFC3339), na.Sub(now).Round(time.Hour))
	}
	return ""
}

// shortNames are the attribute names OpenSSL's one-line form uses.
var shortNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
	"2.5.4.5": "serialNumber", "2.5.4.9": "street", "2.5.4.17": "postalCode",
	"0.9.2342.19200300.100.1.25": "DC", "1.2.840.113549.1.9.1": "emailAddress",
}

// Subject is the leaf's subject as HAProxy prints it (OpenSSL's one-line
// form, `/C=FR/O=Example/CN=www.example.com`, in the certificate's order),
// so that the plan and `show ssl cert` agree.
func (c Chain) Subject() string {
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(c.Leaf().RawSubject, &rdns); err != nil {
		return c.Leaf().Subject.String()
	}
	var b strings.Builder
	for _, rdn := range rdns {
		for _, atv := range rdn {
			name, ok := shortNames[atv.Type.String()]
			if !ok {
				name = atv.Type.String()
			}
			fmt.Fprintf(&b, "/%s=%v", name, atv.Value)
		}
	}
	return b.String()
}
