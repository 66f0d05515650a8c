package fleet_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/pool"
)

// lagTransport sits between the fleet and a real HAProxy and makes it act
// like HAProxy 2.9+ at its slowest, deterministically: after
// `set server <b>/<s> addr …`, the next `reads` replies of
// `show servers state` or `show stat` still show the address the server had
// before (-1: forever). Every command still reaches the real HAProxy. It records each
// `state ready` or `state drain` sent while reads still show the old
// address: the provider must never send one.
type lagTransport struct {
	inner haproxy.Transport
	reads int

	// hideStatAddr renames the `addr` column of every `show stat` reply, so
	// no stat row can tell an address (as if HAProxy had dropped the
	// column): the provider must fall back to reading the whole backend.
	hideStatAddr bool

	mu         sync.Mutex
	pending    map[string]*lagging // "backend/server" → change not yet visible
	violations []string
	lagged     int // rows rewritten to their old address
	hidden     int // `show stat` replies whose addr column was hidden
}

type lagging struct {
	addr, port string // what reads keep showing
	left       int
}

func newLag(inner haproxy.Transport, reads int) *lagTransport {
	return &lagTransport{inner: inner, reads: reads, pending: map[string]*lagging{}}
}

func (l *lagTransport) String() string { return l.inner.String() }

func (l *lagTransport) Dial(ctx context.Context) (net.Conn, error) {
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
func (l *lagTransport) sent(ctx context.Context, lines []string) {
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
func (l *lagTransport) current(ctx context.Context, backend, server string) (addr, port string) {
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
func (l *lagTransport) rewrite(reply []byte) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(string(reply), "\n")
	statAddr := -1
	shown := map[string]bool{}
	for i, row := range lines {
		if _, h, ok := strings.Cut(row, "# pxname,"); ok { // after a prompt, perhaps
			statAddr = slices.Index(strings.Split("pxname,"+h, ","), "addr")
			if l.hideStatAddr && statAddr > 0 {
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

func (l *lagTransport) report() (violations []string, lagged int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.violations...), l.lagged
}

// lagConn passes writes through after a look, and buffers each reply to a
// read (up to its prompt, or to EOF) to rewrite it whole.
type lagConn struct {
	net.Conn
	l       *lagTransport
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

// checkLagged fails t when a serving state was sent before its address
// showed, or when no read lagged at all (the test would prove nothing).
func checkLagged(t *testing.T, lags ...*lagTransport) {
	t.Helper()
	for _, l := range lags {
		violations, lagged := l.report()
		if len(violations) > 0 {
			t.Errorf("%s: %v", l, violations)
		}
		if lagged == 0 {
			t.Errorf("%s: no read showed an old address: the test proved nothing", l)
		}
	}
}

func lagFleet(t *testing.T, timeout time.Duration, lags ...*lagTransport) *fleet.Fleet {
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

func unixTransport(t *testing.T, inst *haproxytest.Instance) haproxy.Transport {
	t.Helper()
	tr, err := haproxy.ParseTarget(inst.UnixTarget())
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// A confirmation that reads once and trusts what it read fails here: the
// first reads after an address change still show the old address. The
// provider polls until the change shows, and sends `state ready` only then.
func TestConfirmationWaitsOutTheAddressLag(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	la, lb := newLag(unixTransport(t, a), 3), newLag(unixTransport(t, b), 5)
	f := lagFleet(t, 5*time.Second, la, lb)
	applyEverywhere(t, f, fleet.Desired{Backend: "app", Server: "websrv1", Addr: netip.MustParseAddr("127.0.0.7"), Port: intp(7), State: haproxy.StateReady, Weight: intp(20)})
	checkLagged(t, la, lb)
	for _, inst := range []*haproxytest.Instance{a, b} {
		if s := inst.State(t, "app", "websrv1"); s.Addr != "127.0.0.7" || s.Port != "7" || s.Admin != 4 || s.Wt != 20 {
			t.Errorf("%s: %+v", inst.AdminSock, s)
		}
	}
}

// Where a `show stat` row cannot tell the address (no `addr` column; real
// HAProxy 2.6–3.4 always has it, so only a test can take it away), the
// write is confirmed from whole-backend reads instead, and still waits out
// the lag before the server is made ready.
func TestConfirmationFallsBackWhenTheStatRowCannotTell(t *testing.T) {
	a := haproxytest.Start(t)
	l := newLag(unixTransport(t, a), 3)
	l.hideStatAddr = true
	f := lagFleet(t, 5*time.Second, l)
	applyEverywhere(t, f, fleet.Desired{Backend: "app", Server: "websrv3", Addr: netip.MustParseAddr("127.0.0.9"), Port: intp(9), State: haproxy.StateReady})
	checkLagged(t, l) // every lagged row was a `show servers state` row: stat rows had no address
	l.mu.Lock()
	hidden := l.hidden
	l.mu.Unlock()
	if hidden == 0 {
		t.Fatal("no `show stat` reply was read, so the fallback was not what confirmed the write")
	}
	if s := a.State(t, "app", "websrv3"); s.Addr != "127.0.0.9" || s.Port != "9" || s.Admin != 4 {
		t.Fatalf("not applied: %+v", s)
	}
}

// When the change never shows, the write fails within the timeout, naming
// the socket, the command and what was read, and the server is not made
// ready anywhere.
func TestConfirmationThatNeverShowsFails(t *testing.T) {
	a := haproxytest.Start(t)
	l := newLag(unixTransport(t, a), -1)
	f := lagFleet(t, 400*time.Millisecond, l)
	ctx := context.Background()
	d := fleet.Desired{Backend: "app", Server: "websrv2", Addr: netip.MustParseAddr("127.0.0.8"), Port: intp(8), State: haproxy.StateReady}
	slots, _, err := f.Preflight(ctx, "app", "websrv2")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := f.Apply(ctx, d, slots)
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %s with a 400ms timeout", el)
	}
	err = res[0].Err
	if err == nil {
		t.Fatal("a change that never showed was reported as applied")
	}
	for _, want := range []string{f.Name(a.UnixTarget()), "set server app/websrv2 addr 127.0.0.8 port 8", "address 127.0.0.1 port 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if violations, _ := l.report(); len(violations) > 0 {
		t.Errorf("%v", violations)
	}
	if s := a.State(t, "app", "websrv2"); s.Admin != 5 {
		t.Errorf("the server left maint although its address never showed: %+v", s)
	}
}

// The batched pool path waits out the lag too: no member is made ready
// before a read shows its address.
func TestPoolWaitsOutTheAddressLag(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	la, lb := newLag(unixTransport(t, a), 2), newLag(unixTransport(t, b), 4)
	f := lagFleet(t, 5*time.Second, la, lb)
	p := pool.Pool{Backend: "app", Prefix: "websrv", Placeholder: netip.MustParseAddrPort("127.0.0.1:1"), Token: pool.NewToken(), Members: map[string]pool.Member{
		"m1": {Addr: netip.MustParseAddr("127.0.0.11"), Port: 11, State: haproxy.StateReady, Weight: intp(3)},
		"m2": {Addr: netip.MustParseAddr("127.0.0.12"), Port: 12, State: haproxy.StateDrain},
		"m3": {Addr: netip.MustParseAddr("127.0.0.13"), Port: 13, State: haproxy.StateReady},
	}}
	assigned, _, err := pool.Apply(context.Background(), f, p)
	if err != nil {
		t.Fatal(err)
	}
	checkLagged(t, la, lb)
	for _, inst := range []*haproxytest.Instance{a, b} {
		for member, want := range map[string]string{"m1": "127.0.0.11", "m2": "127.0.0.12", "m3": "127.0.0.13"} {
			if s := inst.State(t, "app", assigned[member]); s.Addr != want || s.Admin&1 != 0 {
				t.Errorf("%s: %s (%s) = %+v", inst.AdminSock, member, assigned[member], s)
			}
		}
	}
}

// pausable passes connections through to a real HAProxy until paused; then
// every connection is accepted and never answered, like a hung instance.
type pausable struct {
	haproxy.Transport
	paused atomic.Bool
}

func (p *pausable) Dial(ctx context.Context) (net.Conn, error) {
	if p.paused.Load() {
		c, _ := net.Pipe() // the other end never answers
		return c, nil
	}
	return p.Transport.Dial(ctx)
}

// A member removed while an instance hangs stays recorded (with its claim)
// until every instance parked it: the hung one may still serve it. Once the
// instance answers again, the next apply finishes the removal.
func TestPoolMemberRemovedWhileAnInstanceHangs(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	pb := &pausable{Transport: unixTransport(t, b)}
	f, err := fleet.FromTransports([]haproxy.Transport{unixTransport(t, a), pb}, 500*time.Millisecond, nil, fleet.SkipUnreachable())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := pool.Pool{Backend: "app", Prefix: "websrv", Placeholder: netip.MustParseAddrPort("127.0.0.1:1"), Token: pool.NewToken(), Members: map[string]pool.Member{
		"m1": {Addr: netip.MustParseAddr("127.0.0.11"), Port: 11, State: haproxy.StateReady},
		"m2": {Addr: netip.MustParseAddr("127.0.0.12"), Port: 12, State: haproxy.StateReady},
	}}
	assigned, _, err := pool.Apply(ctx, f, p)
	if err != nil {
		t.Fatal(err)
	}
	slot2 := assigned["m2"]

	pb.paused.Store(true)
	p.Assigned = assigned
	delete(p.Members, "m2")
	assigned, warnings, err := pool.Apply(ctx, f, p)
	if err != nil {
		t.Fatal(err)
	}
	if assigned["m2"] != slot2 {
		t.Fatalf("m2 was forgotten while %s may still serve it: %v", pb, assigned)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "stay recorded") {
		t.Errorf("no warning says why m2 stays: %v", warnings)
	}
	if s := a.State(t, "app", slot2); s.Admin != 5 || s.Addr != "127.0.0.1" {
		t.Errorf("the answering instance did not park %s: %+v", slot2, s)
	}
	if s := b.State(t, "app", slot2); s.Admin != 4 || s.Addr != "127.0.0.12" {
		t.Errorf("the hung instance changed: %+v", s)
	}

	pb.paused.Store(false)
	p.Assigned = assigned
	assigned, _, err = pool.Apply(ctx, f, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := assigned["m2"]; ok || len(assigned) != 1 {
		t.Fatalf("after the instance answered again: %v", assigned)
	}
	for _, inst := range []*haproxytest.Instance{a, b} {
		if s := inst.State(t, "app", slot2); s.Admin != 5 || s.Addr != "127.0.0.1" || s.Port != "1" {
			t.Errorf("%s: %s not parked: %+v", inst.AdminSock, slot2, s)
		}
		if out := inst.Admin(t, "show servers state app"); strings.Contains(out, slot2+".claim") {
			t.Errorf("%s: the claim on %s was not released", inst.AdminSock, slot2)
		}
	}
}

// A member that left, whose slot another pool claimed in the meantime (after
// a reload dropped this pool's marker), is not parked: the slot is someone
// else's now. It leaves this pool's record with a warning.
func TestPoolDoesNotParkAnotherPoolsSlot(t *testing.T) {
	a := haproxytest.Start(t)
	f := newFleet(t, a.UnixTarget())
	ctx := context.Background()
	p := pool.Pool{Backend: "app", Prefix: "websrv", Placeholder: netip.MustParseAddrPort("127.0.0.1:1"), Token: pool.NewToken(), Members: map[string]pool.Member{
		"m1": {Addr: netip.MustParseAddr("127.0.0.11"), Port: 11, State: haproxy.StateReady},
		"m2": {Addr: netip.MustParseAddr("127.0.0.12"), Port: 12, State: haproxy.StateReady},
	}}
	assigned, _, err := pool.Apply(ctx, f, p)
	if err != nil {
		t.Fatal(err)
	}
	slot2 := assigned["m2"]
	// Another pool holds slot2 now: its marker, its server.
	a.DeleteServer(t, "app", fleet.ClaimMarker(slot2))
	a.Admin(t, "add server app/"+fleet.ClaimMarker(slot2)+" 127.9.9.9:9999")
	a.Admin(t, "set server app/"+slot2+" addr 127.0.0.99 port 99")
	a.WaitState(t, "app", slot2, func(s haproxytest.Server) bool { return s.Addr == "127.0.0.99" })

	p.Assigned = assigned
	delete(p.Members, "m2")
	assigned, warnings, err := pool.Apply(ctx, f, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := assigned["m2"]; ok {
		t.Errorf("m2 is still recorded: %v", assigned)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "claimed by another pool") {
		t.Errorf("no warning says whose the slot is: %v", warnings)
	}
	if s := a.State(t, "app", slot2); s.Addr != "127.0.0.99" || s.Admin != 4 {
		t.Fatalf("another pool's server was parked: %+v", s)
	}
	if out := a.Admin(t, "show servers state app"); !strings.Contains(out, fleet.ClaimMarker(slot2)+" 127.9.9.9") {
		t.Fatalf("another pool's claim was released:\n%s", out)
	}
}

// A server outside the pool's prefix that exists on some instances only (a
// dynamic server another resource is adding or deleting at that moment, as
// Terraform does in parallel with the pool) is none of the pool's business:
// the pool still applies, reads and deletes. A slot of its own prefix
// missing on one instance still stops it.
func TestPoolIgnoresOtherServersOnSomeInstances(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	f := newFleet(t, a.UnixTarget(), b.TCPTarget())
	ctx := context.Background()
	p := pool.Pool{Backend: "app", Prefix: "websrv", Placeholder: netip.MustParseAddrPort("127.0.0.1:1"), Token: pool.NewToken(), Members: map[string]pool.Member{
		"m1": {Addr: netip.MustParseAddr("127.0.0.11"), Port: 11, State: haproxy.StateReady},
	}}
	a.Admin(t, "add server app/dyn1 127.0.0.1:9 disabled")
	assigned, _, err := pool.Apply(ctx, f, p)
	if err != nil {
		t.Fatalf("apply with another server on one instance only: %v", err)
	}
	p.Assigned = assigned
	if _, _, err := pool.Read(ctx, f, p, nil); err != nil {
		t.Fatalf("read: %v", err)
	}
	if _, err := pool.Delete(ctx, f, p); err != nil {
		t.Fatalf("delete: %v", err)
	}
	for _, inst := range []*haproxytest.Instance{a, b} {
		if s := inst.State(t, "app", assigned["m1"]); s.Admin&1 == 0 || s.Addr != "127.0.0.1" {
			t.Fatalf("%s: %s not parked: %+v", inst.AdminSock, assigned["m1"], s)
		}
	}

	// One of the pool's own slots missing on one instance: the
	// configurations differ, and the pool says so.
	a.DeleteServer(t, "app", "websrv3")
	if _, _, err := pool.Apply(ctx, f, p); err == nil || !strings.Contains(err.Error(), "websrv3") {
		t.Fatalf("a slot of the prefix missing on one instance: err = %v", err)
	}
}
