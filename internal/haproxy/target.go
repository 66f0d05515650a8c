package haproxy

import (
	"context"
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

// ParseTarget turns a socket address from the provider configuration into a
// Transport. Accepted forms:
//
//	unix:///run/haproxy/admin.sock
//	/run/haproxy/admin.sock          (a bare absolute path means unix)
//	tcp://127.0.0.1:9999
//	tcp://[::1]:9999
func ParseTarget(s string) (Transport, error) {
	if strings.HasPrefix(s, "/") {
		return unixTransport{path: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("socket %q: %w", s, err)
	}
	switch u.Scheme {
	case "unix":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return nil, fmt.Errorf("socket %q: a unix socket is written unix:///absolute/path (three slashes)", s)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("socket %q: unexpected query or fragment", s)
		}
		return unixTransport{path: u.Path}, nil
	case "tcp":
		if u.Path != "" || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("socket %q: a TCP socket is written tcp://host:port with nothing after the port", s)
		}
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("socket %q: a TCP socket is written tcp://host:port", s)
		}
		return tcpTransport{addr: net.JoinHostPort(host, port)}, nil
	case "":
		return nil, fmt.Errorf("socket %q: expected unix:///path, an absolute path, or tcp://host:port", s)
	default:
		return nil, fmt.Errorf("socket %q: unsupported scheme %q (supported: unix, tcp)", s, u.Scheme)
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
