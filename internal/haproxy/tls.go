package haproxy

import (
	"context"
	"crypto/tls"
	"net"
)

// tlsTransport reaches a HAProxy CLI through mutual TLS. HAProxy silently
// ignores `ssl … verify required` on a `stats socket` line and serves the
// CLI in plaintext there (seen on 2.6 and 3.2), so the TLS end is a `listen`
// section in `mode tcp` whose `bind … ssl crt … ca-file … verify required`
// forwards to the admin unix socket. The handshake is part of Dial, so the
// caller's deadline covers it; there is no plaintext fallback.
type tlsTransport struct {
	addr string
	cfg  *tls.Config
}

func (t tlsTransport) String() string { return "tls://" + t.addr }

func (t tlsTransport) Dial(ctx context.Context) (net.Conn, error) {
	d := tls.Dialer{Config: t.cfg}
	return d.DialContext(ctx, "tcp", t.addr)
}
