// Package fleet addresses every configured HAProxy socket at once: it reads a
// server's state on all of them, checks all of them before writing to any,
// writes concurrently in a safe order (order.go), checks every reply and
// reads an address change back until HAProxy shows it (confirm.go), and
// parks slots again on delete. Maps and ACLs go through it too
// (patterns*.go): read on every socket, pre-flighted everywhere, replaced
// atomically per instance, and reconciled for a refresh as a server is
// (patterns_read.go). They stay in this package because what they need of
// it is what servers need (the fan-out, skipping unreachable sockets,
// pre-flight), not a layer above it as pools are. It knows nothing about
// Terraform; the provider turns its results into plans, state and
// diagnostics.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
)

// Fleet is the set of sockets one provider configuration manages.
type Fleet struct {
	clients         []*haproxy.Client
	timeout         time.Duration
	reads           *readCache
	skipUnreachable bool
	maxConns        int
	placeholder     netip.AddrPort
	credentials     haproxy.Credentials
	names           map[string]string // socket → the short name messages use
	procs           processes
	writers         slotWriters
	planned         plannedSlots
	clock           poll.Clock // every wait and the read cache run on it
}

// DefaultPlaceholder is where free slots are parked unless the provider
// says otherwise: the address of the `server-template` lines the guides use.
var DefaultPlaceholder = netip.MustParseAddrPort("127.0.0.1:1")

// Option tunes a Fleet.
type Option func(*Fleet)

// SkipUnreachable makes reads and writes go on without sockets that cannot
// be reached (refused, reset or timed out), reporting each as a warning,
// instead of failing. A socket that answers with an error is never skipped.
func SkipUnreachable() Option { return func(f *Fleet) { f.skipUnreachable = true } }

// Credentials gives remote targets (tls://, ssh://) what they need.
func Credentials(cr haproxy.Credentials) Option { return func(f *Fleet) { f.credentials = cr } }

// Placeholder sets where slots are parked when their own origin is unknown
// (default DefaultPlaceholder).
func Placeholder(ap netip.AddrPort) Option { return func(f *Fleet) { f.placeholder = ap } }

// Placeholder is where slots are parked when their origin is unknown.
func (f *Fleet) Placeholder() netip.AddrPort { return f.placeholder }

// Clock runs the fleet's waits and read cache on clk instead of the wall
// clock (tests).
func Clock(clk poll.Clock) Option { return func(f *Fleet) { f.clock = clk } }

// MaxConns caps concurrent connections per socket (default haproxy.DefaultMaxConns).
func MaxConns(n int) Option { return func(f *Fleet) { f.maxConns = n } }

// unreachable reports whether err means the socket could not be talked to at
// all, as opposed to HAProxy answering with an error.
func unreachable(err error) bool {
	return errors.Is(err, haproxy.ErrTransport) || errors.Is(err, haproxy.ErrTimeout)
}

// ProcessGone reports whether err means nothing listens on the socket any
// more (connection refused, or no socket file): the HAProxy process is gone,
// and its runtime changes went with it. A timeout is not that: a hung
// process may still be serving what it was told.
func ProcessGone(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}

// New parses every target and builds one client per socket. timeout bounds
// each socket operation (one connection's dial, write and read).
func New(targets []string, timeout time.Duration, observe haproxy.Observer, opts ...Option) (*Fleet, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("no HAProxy sockets configured")
	}
	var cfg Fleet
	for _, o := range opts {
		o(&cfg)
	}
	transports := make([]haproxy.Transport, len(targets))
	for i, t := range targets {
		tr, err := haproxy.ParseTarget(t, cfg.credentials)
		if err != nil {
			return nil, err
		}
		transports[i] = tr
	}
	return FromTransports(transports, timeout, observe, opts...)
}

// FromTransports is New for sockets that are already transports: the seam
// through which tests put a fault (a dropped connection, a hang, a lagging
// read) between the fleet and a real HAProxy.
func FromTransports(transports []haproxy.Transport, timeout time.Duration, observe haproxy.Observer, opts ...Option) (*Fleet, error) {
	if len(transports) == 0 {
		return nil, fmt.Errorf("no HAProxy sockets configured")
	}
	seen := map[string]bool{}
	f := &Fleet{timeout: timeout, maxConns: haproxy.DefaultMaxConns, placeholder: DefaultPlaceholder, clock: poll.Wall()}
	for _, o := range opts {
		o(f)
	}
	f.reads = newReadCache(f.clock)
	targets := make([]string, len(transports))
	for i, tr := range transports {
		targets[i] = tr.String()
		if seen[targets[i]] {
			return nil, fmt.Errorf("socket %s is listed twice", targets[i])
		}
		seen[targets[i]] = true
	}
	f.names = map[string]string{}
	for i, name := range haproxy.ShortNames(targets) {
		f.names[targets[i]] = name
		f.clients = append(f.clients, haproxy.New(transports[i],
			haproxy.WithObserver(observe), haproxy.WithMaxConns(f.maxConns), haproxy.WithName(name)))
	}
	return f, nil
}

// Name is what messages call a socket: its file name or host:port when
// that is unambiguous (see haproxy.ShortNames), else the socket as written.
func (f *Fleet) Name(socket string) string {
	if n, ok := f.names[socket]; ok {
		return n
	}
	return socket
}

// RoundTrips is the total number of connections made to all sockets.
func (f *Fleet) RoundTrips() uint64 {
	var n uint64
	for _, c := range f.clients {
		n += c.RoundTrips()
	}
	return n
}

// Sockets lists the sockets in configuration order.
func (f *Fleet) Sockets() []string {
	out := make([]string, len(f.clients))
	for i, c := range f.clients {
		out[i] = c.Target()
	}
	return out
}

// each runs fn for every socket concurrently and returns the results in
// socket order. Each call gets its own timeout.
func each[T any](ctx context.Context, f *Fleet, fn func(ctx context.Context, c *haproxy.Client) T) []T {
	out := make([]T, len(f.clients))
	var wg sync.WaitGroup
	for i, c := range f.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = fn(ctx, c)
		}()
	}
	wg.Wait()
	return out
}

// op bounds one socket operation by the configured timeout.
func (f *Fleet) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, f.timeout)
}

// eachWithin bounds each connection of a batch that may span several (a pool's
// phases and claims, a map's entries) by the configured timeout, and not
// the batch as a whole.
func (f *Fleet) eachWithin(ctx context.Context) context.Context {
	return haproxy.EachConnectionWithin(ctx, f.timeout)
}

// SocketError is one socket's failure.
type SocketError struct {
	Socket string
	Err    error
}

// Errors is a list of per-socket failures; its message names every socket.
type Errors []SocketError

func (e Errors) Error() string {
	parts := make([]string, len(e))
	for i, se := range e {
		parts[i] = se.Err.Error()
		if !strings.Contains(parts[i], se.Socket) {
			parts[i] = se.Socket + ": " + parts[i]
		}
	}
	return strings.Join(parts, "\n")
}

// Unwrap lets errors.Is see each socket's error.
func (e Errors) Unwrap() []error {
	out := make([]error, len(e))
	for i, se := range e {
		out[i] = se.Err
	}
	return out
}
