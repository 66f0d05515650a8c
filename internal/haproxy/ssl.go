package haproxy

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Runtime certificates: `show ssl cert`, `new ssl cert`, `set ssl cert`
// (a certificate and key sent as a payload, which opens a transaction),
// `commit ssl cert` and `abort ssl cert`. Verified on 2.6.12, 3.0.11 and
// 3.4.7 (TestSSLCert* in integration tests):
//
//   - One transaction at a time per process, whatever the file. 3.0+ refuses
//     a `set` of another file ("The ongoing transaction is about …"). 2.6
//     answers "Transaction updated for certificate <the other file>!" and
//     puts the new certificate into the other file's transaction, which a
//     commit would then serve for that file: so a `set` succeeds here only
//     when its reply names its own file, and callers check that no
//     transaction is open first (ShowSSLCerts).
//   - 2.6 drops a request of more than about 16 KB (tune.bufsize) without a
//     reply and without a transaction; MaxPayload keeps far below it.
//   - A transaction whose content cannot be committed (a certificate
//     without its key) fails at commit ("… Failed!" or "Can't commit").
//   - `del ssl cert` removes a store nothing uses; one a `bind` or a
//     crt-list uses is refused ("… in use, can't be deleted!").
//
// Not used yet, seen on 2.6.12 and 3.4.7, for whoever adds crt-list
// entries: `add ssl crt-list <list> <file> <filters>` answers "Success!"
// and drops the filters without a word (only the payload form, `add ssl
// crt-list <list> <<` and a line `<file> [opts] filters`, keeps them); the
// same file can be added twice, and `del ssl crt-list` then wants
// `<file>:<line>`; `show ssl crt-list -n` prints an `alpn` option with a NUL
// byte before its closing bracket ("[alpn h2\x00]").

// ErrOtherTransaction: another certificate's transaction is open on the
// process (only one can be), left by another tool or a run that was killed.
var ErrOtherTransaction = errors.New("another certificate transaction is open")

// ErrNoTransaction: `commit` or `abort` found no transaction.
var ErrNoTransaction = errors.New("no ongoing certificate transaction")

// ErrNoSuchCert: HAProxy has no certificate store by that name.
var ErrNoSuchCert = errors.New("no such certificate store")

// MaxPayload bounds a payload command (its line and payload): HAProxy 2.6
// silently drops a request larger than its buffer (16384 bytes by default).
// A certificate chain and key of 15 000 bytes is already very large.
const MaxPayload = 15000

// SSLStores is `show ssl cert`: the certificate stores, and the one with an
// open transaction ("" when none is).
type SSLStores struct {
	Transaction string
	Files       []string
}

// ShowSSLCerts builds `show ssl cert`. A process that loads no certificate
// answers with nothing at all (not even the `# filename` header).
func ShowSSLCerts() Command {
	return Command{line: "show ssl cert", reply: func(msg string) (string, error) {
		if msg == "" || strings.HasPrefix(msg, "# ") {
			return "", nil
		}
		return "expected `# filename` and the stores", ErrUnexpectedReply
	}}
}

// ParseSSLStores parses a `show ssl cert` reply.
func ParseSSLStores(body string) (SSLStores, error) {
	var s SSLStores
	section := ""
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		switch {
		case line == "# transaction" || line == "# filename":
			section = line
		case line == "":
		case section == "# transaction":
			s.Transaction = strings.TrimPrefix(line, "*")
		case section == "# filename":
			s.Files = append(s.Files, line)
		default:
			return SSLStores{}, fmt.Errorf("ssl cert: line %q outside a section", shorten(line, 60))
		}
	}
	if section == "" && strings.TrimSpace(body) != "" {
		return SSLStores{}, fmt.Errorf("ssl cert: no `# filename` section")
	}
	return s, nil
}

// SSLCert is what `show ssl cert <file>` says of a store's certificate.
type SSLCert struct {
	File      string
	Status    string // Used, Unused, Empty
	Serial    string
	NotBefore time.Time
	NotAfter  time.Time
	SANs      string // as HAProxy prints them ("DNS:a, DNS:b, , "), "" when none
	SHA1      string
	Subject   string
	Issuer    string
}

// DNSNames are the DNS names among the certificate's subject alternative
// names. HAProxy prints only those: an IP address or an e-mail address is an
// empty item (verified on 2.6.12 and 3.4.7: DNS:a, DNS:b, IP and email
// print as "DNS:a, DNS:b, , ").
func (c SSLCert) DNSNames() []string {
	names := []string{}
	for _, item := range strings.Split(c.SANs, ",") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(item), "DNS:"); ok {
			names = append(names, name)
		}
	}
	return names
}

// ShowSSLCert builds `show ssl cert <file>`; with inTransaction, the
// certificate of the open transaction on that file (`*<file>`).
func ShowSSLCert(file string, inTransaction bool) (Command, error) {
	if err := ValidateCertFile(file); err != nil {
		return Command{}, invalid(err)
	}
	ref := file
	if inTransaction {
		ref = "*" + file
	}
	return Command{line: "show ssl cert " + ref, reply: func(msg string) (string, error) {
		switch {
		case strings.HasPrefix(msg, "Filename: "):
			return "", nil
		case strings.HasPrefix(msg, "Can't display the certificate"):
			return "", ErrNoSuchCert
		}
		return "expected `Filename: …`", ErrUnexpectedReply
	}}, nil
}

// opensslTime is how HAProxy prints notBefore and notAfter.
const opensslTime = "Jan _2 15:04:05 2006 MST"

// ParseSSLCert parses a `show ssl cert <file>` reply.
func ParseSSLCert(body string) (SSLCert, error) {
	var c SSLCert
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue // chain and OCSP details are not read
		}
		v = strings.TrimSpace(v)
		var err error
		switch k {
		case "Filename":
			c.File = strings.TrimPrefix(v, "*")
		case "Status":
			c.Status = v
		case "Serial":
			c.Serial = v
		case "notBefore":
			c.NotBefore, err = time.Parse(opensslTime, v)
		case "notAfter":
			c.NotAfter, err = time.Parse(opensslTime, v)
		case "Subject Alternative Name":
			c.SANs = v
		case "SHA1 FingerPrint":
			c.SHA1 = v
		case "Subject":
			c.Subject = v
		case "Issuer":
			c.Issuer = v
		}
		if err != nil {
			return SSLCert{}, fmt.Errorf("ssl cert: %s %q: %w", k, v, err)
		}
	}
	if c.File == "" {
		return SSLCert{}, fmt.Errorf("ssl cert: no Filename")
	}
	return c, nil
}

// NewSSLCert builds `new ssl cert <file>`: an empty store, which a `set`
// and `commit` then fill.
func NewSSLCert(file string) (Command, error) {
	if err := ValidateCertFile(file); err != nil {
		return Command{}, invalid(err)
	}
	return Command{line: "new ssl cert " + file, reply: func(msg string) (string, error) {
		switch {
		case msg == "New empty certificate store '"+file+"'!":
			return "", nil
		case strings.HasSuffix(msg, "already exists!"):
			return "", ErrAlreadyExists
		}
		return "expected `New empty certificate store …`", ErrUnexpectedReply
	}}, nil
}

// DelSSLCert builds `del ssl cert <file>`: it removes a store no `bind` or
// `crt-list` uses (an empty one `new ssl cert` made); a store in use is
// refused, and one that is gone already is ErrNoSuchCert. Same replies on
// 2.6.12 and 3.4.7.
func DelSSLCert(file string) (Command, error) {
	if err := ValidateCertFile(file); err != nil {
		return Command{}, invalid(err)
	}
	return Command{line: "del ssl cert " + file, reply: func(msg string) (string, error) {
		switch {
		case msg == "Certificate '"+file+"' deleted!":
			return "", nil
		case strings.HasSuffix(msg, "doesn't exist!"):
			return "", ErrNoSuchCert
		}
		return "expected `Certificate … deleted!`", ErrUnexpectedReply
	}}, nil
}

// SetSSLCert builds `set ssl cert <file> <<` with pemData (the certificate,
// its chain and its private key) as the payload. It succeeds only when
// HAProxy says the transaction is this file's (see the package notes on
// 2.6).
func SetSSLCert(file, pemData string) (Command, error) {
	if err := ValidateCertFile(file); err != nil {
		return Command{}, invalid(err)
	}
	payload := strings.TrimRight(strings.ReplaceAll(pemData, "\r\n", "\n"), "\n")
	if err := validatePayload(payload); err != nil {
		return Command{}, invalid(err)
	}
	line := "set ssl cert " + file + " <<"
	if n := len(line) + len(payload) + 2; n > MaxPayload {
		return Command{}, invalid(fmt.Errorf("the certificate payload is %d bytes; the limit is %d (HAProxy 2.6 drops larger requests without a word)", n, MaxPayload))
	}
	return Command{line: line, payload: payload, reply: func(msg string) (string, error) {
		switch {
		case msg == "Transaction created for certificate "+file+"!", msg == "Transaction updated for certificate "+file+"!":
			return "", nil
		case strings.HasPrefix(msg, "Transaction updated for certificate "), strings.HasPrefix(msg, "The ongoing transaction is about"):
			return "", ErrOtherTransaction
		case msg == "":
			return "HAProxy gave no answer and opened no transaction (a request larger than its buffer, tune.bufsize, is dropped)", ErrUnexpectedReply
		}
		return "expected `Transaction created for certificate …`", ErrInvalidArgument
	}}, nil
}

// CommitSSLCert builds `commit ssl cert <file>`.
func CommitSSLCert(file string) (Command, error) {
	if err := ValidateCertFile(file); err != nil {
		return Command{}, invalid(err)
	}
	return Command{line: "commit ssl cert " + file, reply: func(msg string) (string, error) {
		switch {
		case strings.HasPrefix(msg, "No ongoing transaction"):
			return "", ErrNoTransaction
		case strings.HasPrefix(msg, "Committing "+file) && strings.HasSuffix(msg, "Success!"):
			return "", nil
		}
		return "the commit failed", ErrInvalidArgument
	}}, nil
}

// AbortSSLCert builds `abort ssl cert <file>`.
func AbortSSLCert(file string) (Command, error) {
	if err := ValidateCertFile(file); err != nil {
		return Command{}, invalid(err)
	}
	return Command{line: "abort ssl cert " + file, reply: func(msg string) (string, error) {
		switch {
		case msg == "Transaction aborted for certificate '"+file+"'!":
			return "", nil
		case strings.HasPrefix(msg, "No ongoing transaction"):
			return "", ErrNoTransaction
		}
		return "expected `Transaction aborted …`", ErrUnexpectedReply
	}}, nil
}

// ValidateCertFile checks a certificate store's name as HAProxy names it
// (the path of the `crt` file): printable, no space, `;` or `\`, not
// starting with `*` (which names a transaction) or `@`.
func ValidateCertFile(file string) error {
	switch {
	case file == "":
		return fmt.Errorf("certificate file name is empty")
	case len(file) > 1024:
		return fmt.Errorf("certificate file name is %d bytes; the limit is 1024", len(file))
	case file[0] == '*' || file[0] == '@':
		return fmt.Errorf("certificate file name %q starts with %q", file, file[0])
	}
	for i := 0; i < len(file); i++ {
		if c := file[i]; c <= 0x20 || c >= 0x7f || c == ';' || c == '\\' || c == '#' {
			return fmt.Errorf("certificate file name %q contains a forbidden byte at %d", file, i)
		}
	}
	return nil
}

// validatePayload checks what goes after `<<`: printable ASCII lines, none
// empty (an empty line ends the payload, so anything after it would run as
// commands).
func validatePayload(payload string) error {
	if payload == "" {
		return fmt.Errorf("the certificate payload is empty")
	}
	for i, line := range strings.Split(payload, "\n") {
		if strings.TrimSpace(line) == "" {
			return fmt.Errorf("line %d of the certificate payload is empty: HAProxy would end the payload there", i+1)
		}
		for j := 0; j < len(line); j++ {
			if c := line[j]; c < 0x20 || c >= 0x7f {
				return fmt.Errorf("line %d of the certificate payload contains a byte that is not printable ASCII at %d", i+1, j)
			}
		}
	}
	return nil
}
