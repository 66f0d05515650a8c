package haproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshTransport reaches a HAProxy CLI unix socket on another host through
// SSH stream-local forwarding (`direct-streamlocal@openssh.com`), so the
// remote host needs nothing but sshd: no socat, no shell, no open CLI port.
type sshTransport struct {
	user   string
	host   string // host:port
	path   string // the remote admin socket
	dialer *SSHDialer
}

func (t sshTransport) String() string { return "ssh://" + t.user + "@" + t.host + t.path }

func (t sshTransport) Dial(ctx context.Context) (net.Conn, error) {
	return t.dialer.dial(ctx, t.user, t.host, t.path)
}

// parseSSHTarget reads ssh://user@host[:port]/absolute/socket/path.
func parseSSHTarget(s string, u *url.URL) (Transport, error) {
	form := fmt.Errorf("socket %q: an SSH socket is written ssh://user@host[:port]/absolute/path/to/admin.sock", s)
	if u.User == nil || u.User.Username() == "" || u.Host == "" || !strings.HasPrefix(u.Path, "/") || u.Path == "/" {
		return nil, form
	}
	if _, set := u.User.Password(); set {
		return nil, fmt.Errorf("socket %q: no password in a socket address; use a key (ssh.private_key_file) or ssh-agent", s)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "22")
	} else if _, _, err := net.SplitHostPort(host); err != nil {
		return nil, form
	}
	return sshTransport{user: u.User.Username(), host: host, path: u.Path}, nil
}

// SSHDialer keeps one SSH connection per user and host for the whole run and
// opens a channel over it for every CLI connection. The per-socket
// connection cap of Client still holds: it counts channels.
type SSHDialer struct {
	auth     []ssh.AuthMethod
	hostKeys ssh.HostKeyCallback
	knownTo  string // the known_hosts file, for errors

	mu      sync.Mutex
	clients map[string]*ssh.Client
	dials   int // SSH connections made, for tests and benchmarks
}

// Connections counts the SSH connections made so far.
func (d *SSHDialer) Connections() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dials
}

// NewSSHDialer checks host keys against knownHostsFile (an unknown or
// changed key refuses the connection before any command: there is no
// trust-on-first-use) and authenticates with auth, tried in order.
func NewSSHDialer(knownHostsFile string, auth ...ssh.AuthMethod) (*SSHDialer, error) {
	if len(auth) == 0 {
		return nil, errors.New("ssh: no way to authenticate (no private key file and no ssh-agent)")
	}
	cb, err := knownhosts.New(knownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("ssh: known_hosts file: %w", err)
	}
	return &SSHDialer{auth: auth, hostKeys: cb, knownTo: knownHostsFile, clients: map[string]*ssh.Client{}}, nil
}

// dial opens a stream-local channel to path, over the shared connection to
// user@host; a connection found dead is dialed again, once.
func (d *SSHDialer) dial(ctx context.Context, user, host, path string) (net.Conn, error) {
	c, err := d.client(ctx, user, host, nil)
	if err != nil {
		return nil, err
	}
	conn, err := c.DialContext(ctx, "unix", path)
	var refused *ssh.OpenChannelError
	if err != nil && ctx.Err() == nil && !errors.As(err, &refused) {
		// Not a refusal from a live sshd: the connection itself broke.
		if c, err = d.client(ctx, user, host, c); err != nil {
			return nil, err
		}
		conn, err = c.DialContext(ctx, "unix", path)
	}
	if err != nil {
		return nil, fmt.Errorf("ssh %s@%s: open %s: %w", user, host, path, err)
	}
	return conn, nil
}

// client returns the shared connection to user@host, dialing it when there
// is none or when it is dead (the one passed in).
func (d *SSHDialer) client(ctx context.Context, user, host string, dead *ssh.Client) (*ssh.Client, error) {
	key := user + "@" + host
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.clients[key]; c != nil && c != dead {
		return c, nil
	}
	if dead != nil {
		_ = dead.Close()
	}
	d.dials++
	var nd net.Dialer
	raw, err := nd.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	// The handshake is bounded by the caller's deadline too.
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	conn, chans, reqs, err := ssh.NewClientConn(raw, host, &ssh.ClientConfig{
		User:            user,
		Auth:            d.auth,
		HostKeyCallback: d.hostKeys,
	})
	stop()
	if err != nil {
		_ = raw.Close()
		var ke *knownhosts.KeyError
		switch {
		case errors.As(err, &ke) && len(ke.Want) == 0:
			return nil, fmt.Errorf("ssh %s: the host key is not in %s; refused before any command (add it with ssh-keyscan after checking it)", host, d.knownTo)
		case errors.As(err, &ke):
			return nil, fmt.Errorf("ssh %s: the host key does not match %s (line %d); refused before any command: it CHANGED, which can mean an attack", host, ke.Want[0].Filename, ke.Want[0].Line)
		}
		return nil, fmt.Errorf("ssh %s@%s: %w", user, host, err)
	}
	_ = raw.SetDeadline(time.Time{})
	c := ssh.NewClient(conn, chans, reqs)
	d.clients[key] = c
	return c, nil
}

// Close closes every shared connection.
func (d *SSHDialer) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for k, c := range d.clients {
		errs = append(errs, c.Close())
		delete(d.clients, k)
	}
	return errors.Join(errs...)
}
