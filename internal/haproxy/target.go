package haproxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Transport opens one connection to one HAProxy CLI socket. Each transport
// (unix, tcp, later tls, ssh, master CLI) is one small type; everything above
// it is transport-blind.
type Transport interface {
	// Dial connects, honouring ctx's deadline and cancellation.
	Dial(ctx context.Context) (net.Conn, error)
	// String is the canonical address, used in every error and log line.
	String() string
}

// Credentials are what the remote transports need: the provider builds
// them from its `tls` and `ssh` settings. Local transports need none.
type Credentials struct {
	TLS *tls.Config // tls:// targets: CA pool, client certificate, server name
	SSH *SSHDialer  // ssh:// targets: one SSH connection per host, shared
}

// ParseTarget turns a socket address from the provider configuration into a
// Transport. Accepted forms:
//
//	unix:///run/haproxy/admin.sock
//	/run/haproxy/admin.sock          (a bare absolute path means unix)
//	tcp://127.0.0.1:9999
//	tcp://[::1]:9999
//	tls://lb2.example.net:9443       (mutual TLS; needs Credentials.TLS)
//	ssh://user@lb1.example.net[:22]/run/haproxy/admin.sock
//	                                 (the remote unix socket over SSH
//	                                 stream-local forwarding; needs
//	                                 Credentials.SSH)
//	master+unix:///run/haproxy-master.sock, master+ssh://…
//	                                 the master CLI (`haproxy -W -S …`):
//	                                 every command goes to the current
//	                                 worker (`@1`), one socket across reloads
func ParseTarget(s string, cr ...Credentials) (Transport, error) {
	var c Credentials
	if len(cr) > 0 {
		c = cr[0]
	}
	t, err := parseTarget(s)
	if err != nil {
		return nil, err
	}
	return withCredentials(s, t, c)
}

// withCredentials gives a remote transport what it needs.
func withCredentials(s string, t Transport, c Credentials) (Transport, error) {
	switch t := t.(type) {
	case masterTransport:
		inner, err := withCredentials(s, t.Transport, c)
		return masterTransport{inner}, err
	case tlsTransport:
		if c.TLS == nil {
			return nil, fmt.Errorf("socket %q: a tls:// socket needs the provider's tls settings (ca_file, cert_file, key_file)", s)
		}
		t.cfg = c.TLS
		return t, nil
	case sshTransport:
		if c.SSH == nil {
			return nil, fmt.Errorf("socket %q: an ssh:// socket needs the provider's ssh settings", s)
		}
		t.dialer = c.SSH
		return t, nil
	}
	return t, nil
}

// CheckTarget reports whether s is a well-formed target, without needing
// any credentials (plan-time validation).
func CheckTarget(s string) error {
	_, err := parseTarget(s)
	return err
}

// IsTLS and IsSSH say which credentials a well-formed target needs.
func IsTLS(s string) bool { return strings.HasPrefix(strings.TrimPrefix(s, "master+"), "tls://") }

// IsSSH reports whether s is an ssh:// target.
func IsSSH(s string) bool { return strings.HasPrefix(strings.TrimPrefix(s, "master+"), "ssh://") }

func parseTarget(s string) (Transport, error) {
	if rest, ok := strings.CutPrefix(s, "master+"); ok {
		inner, err := parseTarget(rest)
		if err != nil {
			return nil, err
		}
		if _, nested := inner.(masterTransport); nested {
			return nil, fmt.Errorf("socket %q: master+ is written once", s)
		}
		return masterTransport{inner}, nil
	}
	if strings.HasPrefix(s, "/") {
		return unixTransport{path: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("socket %q: %w", s, err)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("socket %q: unexpected query or fragment", s)
	}
	switch u.Scheme {
	case "unix":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return nil, fmt.Errorf("socket %q: a unix socket is written unix:///absolute/path (three slashes)", s)
		}
		return unixTransport{path: u.Path}, nil
	case "tcp", "tls":
		if u.Path != "" || u.User != nil {
			return nil, fmt.Errorf("socket %q: a %s socket is written %s://host:port with nothing after the port", s, u.Scheme, u.Scheme)
		}
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("socket %q: a %s socket is written %s://host:port", s, u.Scheme, u.Scheme)
		}
		if u.Scheme == "tls" {
			return tlsTransport{addr: net.JoinHostPort(host, port)}, nil
		}
		return tcpTransport{addr: net.JoinHostPort(host, port)}, nil
	case "ssh":
		return parseSSHTarget(s, u)
	case "":
		return nil, fmt.Errorf("socket %q: expected unix:///path, an absolute path, tcp://host:port, tls://host:port or ssh://user@host/path", s)
	default:
		return nil, fmt.Errorf("socket %q: unsupported scheme %q (supported: unix, tcp, tls, ssh)", s, u.Scheme)
	}
}

type unixTransport struct{ path string }

func (t unixTransport) String() string { return "unix://" + t.path }

func (t unixTransport) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", t.path)
}

type tcpTransport struct{ addr string }

func (t tcpTransport) String() string { return "tcp://" + t.addr }

func (t tcpTransport) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", t.addr)
}
