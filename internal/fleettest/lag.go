package fleettest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// Lag sits between a fleet and a real HAProxy and makes it act
// like HAProxy 2.9+ at its slowest, deterministically: after
// `set server <b>/<s> addr …`, the next `reads` replies of
// `show servers state` or `show stat` still show the address the server had
// before (-1: forever). Every command still reaches the real HAProxy. It records each
// `state ready` or `state drain` sent while reads still show the old
// address: the provider must never send one.
type Lag struct {
	inner haproxy.Transport
	reads int

	// HideStatAddr renames the `addr` column of every `show stat` reply, so
	// no stat row can tell an address (as if HAProxy had dropped the
	// column): the provider must fall back to reading the whole backend.
	HideStatAddr bool

	mu         sync.Mutex
	pending    map[string]*lagging // "backend/server" → change not yet visible
	violations []string
	lagged     int // rows rewritten to their old address
	hidden     int // `show stat` replies whose addr column was hidden
}

// Hidden counts the `show stat` replies whose addr column was hidden.
func (l *Lag) Hidden() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hidden
}

type lagging struct {
	addr, port string // what reads keep showing
	left       int
}

// NewLag lags inner's reads after each address change by reads replies.
func NewLag(inner haproxy.Transport, reads int) *Lag {
	return &Lag{inner: inner, reads: reads, pending: map[string]*lagging{}}
}

func (l *Lag) String() string { return l.inner.String() }

func (l *Lag) Dial(ctx context.Context) (net.Conn, error) {
	c, err := l.inner.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return &lagConn{Conn: c, l: l, ctx: ctx}, nil
}

var (
	addrCmd  = regexp.MustCompile(`^set server (\S+)/(\S+) addr (\S+) port (\S+)$`)
	serveCmd = regexp.MustCompile(`^set server (\S+)/(\S+) state (ready|drain)$`)
)

// sent looks at the lines of one write before it goes to HAProxy.
func (l *Lag) sent(ctx context.Context, lines []string) {
	for _, line := range lines {
		if m := addrCmd.FindStringSubmatch(line); m != nil {
			addr, port := l.current(ctx, m[1], m[2])
			l.mu.Lock()
			if _, ok := l.pending[m[1]+"/"+m[2]]; !ok && (addr != m[3] || port != m[4]) {
				l.pending[m[1]+"/"+m[2]] = &lagging{addr: addr, port: port, left: l.reads}
			}
			l.mu.Unlock()
		}
		if m := serveCmd.FindStringSubmatch(line); m != nil {
			l.mu.Lock()
			if p, ok := l.pending[m[1]+"/"+m[2]]; ok {
				l.violations = append(l.violations, fmt.Sprintf("%q sent while reads still show %s:%s", line, p.addr, p.port))
			}
			l.mu.Unlock()
		}
	}
}

// current reads a server's address from HAProxy itself, in plain mode.
func (l *Lag) current(ctx context.Context, backend, server string) (addr, port string) {
	c, err := l.inner.Dial(ctx)
	if err != nil {
		return "", ""
	}
	defer c.Close()
	_, _ = c.Write([]byte("show servers state " + backend + "\n"))
	body, _ := io.ReadAll(c)
	for _, row := range strings.Split(string(body), "\n") {
		f := strings.Fields(row)
		if len(f) > 18 && f[1] == backend && f[3] == server {
			return f[4], f[18]
		}
	}
	return "", ""
}

// rewrite shows each pending server's old address in a prompt-mode reply
// holding `show servers state` or `show stat` (its `addr` column), and
// counts the read against its lag.
func (l *Lag) rewrite(reply []byte) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(string(reply), "\n")
	statAddr := -1
	shown := map[string]bool{}
	for i, row := range lines {
		if _, h, ok := strings.Cut(row, "# pxname,"); ok { // after a prompt, perhaps
			statAddr = slices.Index(strings.Split("pxname,"+h, ","), "addr")
			if l.HideStatAddr && statAddr > 0 {
				lines[i] = strings.Replace(row, ",addr,", ",addr_hidden_by_test,", 1)
				statAddr = -1
				l.hidden++
			}
			continue
		}
		if c := strings.Split(row, ","); statAddr > 0 && len(c) > statAddr {
			if p, ok := l.pending[c[0]+"/"+c[1]]; ok {
				c[statAddr] = net.JoinHostPort(p.addr, p.port)
				lines[i] = strings.Join(c, ",")
				l.lagged++
				shown[c[0]+"/"+c[1]] = true
			}
			continue
		}
		f := strings.Fields(row)
		if len(f) < 25 {
			continue
		}
		if p, ok := l.pending[f[1]+"/"+f[3]]; ok {
			f[4], f[18] = p.addr, p.port
			lines[i] = strings.Join(f, " ")
			l.lagged++
			shown[f[1]+"/"+f[3]] = true
		}
	}
	// Only a reply that showed the server counts against its lag: in an
	// interactive session the empty replies to other writes pass through
	// here too, and counting them let the lag run out unseen.
	for key, p := range l.pending {
		if !shown[key] {
			continue
		}
		if p.left > 0 {
			p.left--
		}
		if p.left == 0 {
			delete(l.pending, key)
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

// Report lists the serving states sent while reads still showed an old
// address, and counts the rows shown lagged.
func (l *Lag) Report() (violations []string, lagged int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.violations...), l.lagged
}

// lagConn passes writes through after a look, and buffers each reply to a
// read (up to its prompt, or to EOF) to rewrite it whole.
type lagConn struct {
	net.Conn
	l       *Lag
	ctx     context.Context
	reads   bool
	buf     bytes.Reader
	readErr error
}

func (c *lagConn) Write(p []byte) (int, error) {
	lines := strings.Split(string(p), "\n")
	c.l.sent(c.ctx, lines)
	for _, line := range lines {
		c.reads = c.reads || strings.HasPrefix(line, "show servers state") || strings.HasPrefix(line, "show stat")
	}
	return c.Conn.Write(p)
}

func (c *lagConn) Read(p []byte) (int, error) {
	if !c.reads {
		return c.Conn.Read(p)
	}
	if c.buf.Len() == 0 {
		if c.readErr != nil {
			return 0, c.readErr
		}
		// Up to the prompt that ends a reply in an interactive session, or
		// to the end of a one-shot connection.
		var all []byte
		chunk := make([]byte, 64<<10)
		for !bytes.HasSuffix(all, []byte("\n> ")) {
			n, err := c.Conn.Read(chunk)
			all = append(all, chunk[:n]...)
			if err != nil {
				c.readErr = err
				break
			}
		}
		c.buf.Reset(c.l.rewrite(all))
	}
	n, _ := c.buf.Read(p)
	if n == 0 && c.readErr != nil {
		return 0, c.readErr
	}
	return n, nil
}

// CheckLagged fails t when a serving state was sent before its address
// showed, or when no read lagged at all (the test would prove nothing).
func CheckLagged(t testing.TB, lags ...*Lag) {
	t.Helper()
	for _, l := range lags {
		violations, lagged := l.Report()
		if len(violations) > 0 {
			t.Errorf("%s: %v", l, violations)
		}
		if lagged == 0 {
			t.Errorf("%s: no read showed an old address: the test proved nothing", l)
		}
	}
}

// LagFleet is a fleet on lagged sockets.
func LagFleet(t testing.TB, timeout time.Duration, lags ...*Lag) *fleet.Fleet {
	t.Helper()
	trs := make([]haproxy.Transport, len(lags))
	for i, l := range lags {
		trs[i] = l
	}
	f, err := fleet.FromTransports(trs, timeout, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// UnixTransport is inst's admin socket as a transport.
func UnixTransport(t testing.TB, inst *haproxytest.Instance) haproxy.Transport {
	t.Helper()
	return Transport(t, inst.UnixTarget())
}

// Transport parses target, failing t when it cannot.
func Transport(t testing.TB, target string) haproxy.Transport {
	t.Helper()
	tr, err := haproxy.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
