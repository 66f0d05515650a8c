package haproxy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Replies as HAProxy 2.6.12 gives them (3.0.11 and 3.4.7 alike unless said).
const (
	storesWithTransaction = "# transaction\n*/etc/haproxy/a.pem\n# filename\n/etc/haproxy/a.pem\n/etc/haproxy/b.pem\n"
	certDetail            = "Filename: */etc/haproxy/a.pem\nStatus: Unused\nSerial: 1594E051C5DF4B8C424FDD1AA8F938C0EF6B6E7C\n" +
		"notBefore: Dec  7 12:17:35 2026 GMT\nnotAfter: Jan  6 12:17:35 2027 GMT\nSubject Alternative Name: \nAlgorithm: EC256\n" +
		"SHA1 FingerPrint: 6822DEEEE3335A6A811E0BE0439A56F6E1EA90F6\nSubject: /CN=b2\nIssuer: /CN=b2\nOCSP Response Key: \n"
)

func TestParseSSLStoresAndCert(t *testing.T) {
	s, err := ParseSSLStores(storesWithTransaction)
	if err != nil || s.Transaction != "/etc/haproxy/a.pem" || len(s.Files) != 2 || s.Files[1] != "/etc/haproxy/b.pem" {
		t.Fatalf("%+v %v", s, err)
	}
	if s, err := ParseSSLStores("# filename\n/etc/haproxy/a.pem\n"); err != nil || s.Transaction != "" || len(s.Files) != 1 {
		t.Fatalf("without a transaction: %+v %v", s, err)
	}
	if s, err := ParseSSLStores(""); err != nil || len(s.Files) != 0 { // a process without certificates
		t.Fatalf("empty reply: %+v %v", s, err)
	}
	if _, err := ParseSSLStores("garbage\n"); err == nil {
		t.Fatal("a reply without sections parsed")
	}
	c, err := ParseSSLCert(certDetail)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != "/etc/haproxy/a.pem" || c.Serial != "1594E051C5DF4B8C424FDD1AA8F938C0EF6B6E7C" || c.Subject != "/CN=b2" ||
		c.SHA1 != "6822DEEEE3335A6A811E0BE0439A56F6E1EA90F6" || c.SANs != "" || c.Status != "Unused" ||
		!c.NotAfter.Equal(time.Date(2027, 1, 6, 12, 17, 35, 0, time.UTC)) {
		t.Fatalf("%+v", c)
	}
}

func TestSSLCertDNSNames(t *testing.T) {
	for sans, want := range map[string]string{
		"":                                     "",
		"DNS:site.test, DNS:www.site.test, , ": "site.test www.site.test", // as 2.6.12 and 3.4.7 print DNS, DNS, IP, email
		", DNS:a.test":                         "a.test",
	} {
		if got := strings.Join(SSLCert{SANs: sans}.DNSNames(), " "); got != want {
			t.Errorf("%q: %q, want %q", sans, got, want)
		}
	}
}

func TestDelSSLCertReplies(t *testing.T) {
	cmd, err := DelSSLCert("/tmp/x.pem")
	if err != nil {
		t.Fatal(err)
	}
	for reply, want := range map[string]error{ // as 2.6.12 and 3.4.7 answer
		"Certificate '/tmp/x.pem' deleted!":                                                nil,
		"Can't remove the certificate: certificate '/tmp/x.pem' doesn't exist!":            ErrNoSuchCert,
		"Can't remove the certificate: certificate '/tmp/x.pem' in use, can't be deleted!": ErrUnexpectedReply,
	} {
		if _, kind := classify(cmd, reply+"\n"); !errors.Is(kind, want) {
			t.Errorf("reply %q: %v, want %v", reply, kind, want)
		}
	}
}

func TestSetSSLCertRules(t *testing.T) {
	pem := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
	cmd, err := SetSSLCert("/etc/haproxy/a.pem", pem)
	if err != nil {
		t.Fatal(err)
	}
	if cmd.line != "set ssl cert /etc/haproxy/a.pem <<" || strings.HasSuffix(cmd.payload, "\n") || !strings.HasSuffix(cmd.wire(), "-----END PRIVATE KEY-----\n") {
		t.Fatalf("line %q payload %q", cmd.line, cmd.payload)
	}
	for reply, want := range map[string]error{
		"Transaction created for certificate /etc/haproxy/a.pem!":                                                                                nil,
		"Transaction updated for certificate /etc/haproxy/a.pem!":                                                                                nil,
		"Transaction updated for certificate /etc/haproxy/b.pem!":                                                                                ErrOtherTransaction, // 2.6 retargets
		"The ongoing transaction is about '/etc/haproxy/b.pem' but you are trying to set '/etc/haproxy/a.pem'\nCan't update /etc/haproxy/a.pem!": ErrOtherTransaction, // 3.0+
		"": ErrUnexpectedReply, // 2.6 dropped a request larger than its buffer
	} {
		if _, kind := classify(cmd, reply+"\n"); !errors.Is(kind, want) {
			t.Errorf("reply %q: %v, want %v", reply, kind, want)
		}
	}
	for name, bad := range map[string]string{
		"an empty line ends the payload":  "-----BEGIN CERTIFICATE-----\n\nshow info\n-----END CERTIFICATE-----\n",
		"a control byte":                  "-----BEGIN CERTIFICATE-----\n\x1b\n-----END CERTIFICATE-----\n",
		"nothing":                         "\n",
		"larger than HAProxy 2.6 accepts": "-----BEGIN CERTIFICATE-----\n" + strings.Repeat(strings.Repeat("A", 64)+"\n", MaxPayload/65+1) + "-----END CERTIFICATE-----\n",
	} {
		if _, err := SetSSLCert("/etc/haproxy/a.pem", bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, file := range []string{"", "*a.pem", "@1", "a pem", "a;show info", "a\\b"} {
		if _, err := SetSSLCert(file, pem); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("file %q accepted: %v", file, err)
		}
	}
}

func TestCommitAndAbortReplies(t *testing.T) {
	commit, _ := CommitSSLCert("/etc/haproxy/a.pem")
	abort, _ := AbortSSLCert("/etc/haproxy/a.pem")
	for _, tc := range []struct {
		cmd   Command
		reply string
		want  error
	}{
		{commit, "Committing /etc/haproxy/a.pem.\nSuccess!\n", nil},
		{commit, "The transaction must contain at least a certificate and a private key!\nCan't commit /etc/haproxy/a.pem!\n", ErrInvalidArgument},
		{commit, "No ongoing transaction! !\nCan't commit /etc/haproxy/a.pem!\n", ErrNoTransaction},
		{abort, "Transaction aborted for certificate '/etc/haproxy/a.pem'!\n", nil},
		{abort, "No ongoing transaction!\n", ErrNoTransaction},
	} {
		if _, kind := classify(tc.cmd, tc.reply); !errors.Is(kind, tc.want) {
			t.Errorf("%s → %q: %v, want %v", tc.cmd.line, tc.reply, kind, tc.want)
		}
	}
}

// The private key never reaches a log line or an error: only the command
// and the payload's size.
func TestPayloadIsNeverShown(t *testing.T) {
	cmd, err := SetSSLCert("/etc/haproxy/a.pem", "-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := withoutPayload(cmd.wire()); strings.Contains(got, "SECRET") || !strings.Contains(got, "payload of") {
		t.Fatalf("shown as %q", got)
	}
}
