package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Desired is what a resource asks of one server on every socket.
type Desired struct {
	Backend string
	Server  string
	Addr    netip.Addr
	Port    *int // nil: keep each socket's current port
	State   haproxy.State
	Weight  *int  // nil: leave HAProxy's weight alone
	Health  *bool // nil: leave health checks alone; else enable or disable them
	Grace   Grace
	// Owner is what the resource can show that the server is its own
	// (owner.go); the value asked for is added to it by the write itself.
	// The server is written only where Owner.Mine says so.
	Owner Owner
}

// claim is d's owner claim for a write: its own, plus the value asked for.
func (d Desired) claim() Claim {
	c := d.Owner.Claim
	c.Asked, c.AskedPort = d.Addr, 0
	if d.Port != nil {
		c.AskedPort = *d.Port
	}
	return c
}

// holdsOwn reports whether s holds the address:port d asks for (with d's
// port, or any port when d leaves it alone).
func (d Desired) holdsOwn(s haproxy.ServerState) bool {
	return s.Addr == d.Addr && (d.Port == nil || s.Port == *d.Port)
}

// Grace says how gently a server is taken out of and put into service.
type Grace struct {
	// DrainTimeout > 0: before a serving server is moved or removed, put it
	// in drain and wait up to this long for its sessions to end.
	DrainTimeout time.Duration
	// FailOnDrainTimeout makes sessions still open at DrainTimeout an error
	// (nothing more is changed on that socket) instead of a warning.
	FailOnDrainTimeout bool
	// WaitHealthy > 0: a server that is to become ready after being moved or
	// out of service is held in drain, with its health forced down, until a
	// health check made after the change has passed on every socket.
	WaitHealthy time.Duration
	// ShutdownSessions closes remaining sessions after `maint` on delete.
	ShutdownSessions bool
	// Progress, when set, is told every progressEvery what a wait is still
	// waiting for (actions show it in the CLI).
	Progress func(string)
}

// Result is one socket's outcome of a write.
type Result struct {
	Socket   string
	After    haproxy.ServerState // what the server holds now (runAndConfirm); valid when Err is nil and not Skipped
	Err      error
	Skipped  error // non-nil: unreachable at pre-flight (SocketView.Skipped); nothing was sent
	Warnings []string
}

// needsChecks reports whether d can only be applied to a server whose
// health checks are configured (and enabled, unless d enables them): Preflight
// verifies that on every socket before anything is written.
func (d Desired) needsChecks() bool { return d.Grace.WaitHealthy > 0 && d.State == haproxy.StateReady }

// requirements are the pre-flight conditions d adds: waiting for a health
// check needs checks that are configured, and enabled unless d enables them.
func (d Desired) requirements() []func(haproxy.ServerState) error {
	if !d.needsChecks() {
		return nil
	}
	return []func(haproxy.ServerState) error{func(s haproxy.ServerState) error {
		configured, enabled := s.HealthChecks()
		switch {
		case !configured:
			return ErrNoChecks
		case !enabled && (d.Health == nil || !*d.Health):
			return ErrChecksDisabled
		}
		return nil
	}}
}

// The ways a server cannot wait for a passing health check.
var (
	ErrNoChecks       = errors.New("waiting for a passing health check needs health checks, but the server has no `check` in the HAProxy configuration")
	ErrChecksDisabled = errors.New("waiting for a passing health check needs health checks, but they are disabled on this server")
)

// Apply writes d to every socket concurrently, each starting from the state
// Preflight saw there, in the safe order (order.go): every reply is checked,
// and an address change is read back before anything lets traffic in.
// With Grace.WaitHealthy, servers that must pass a health check first are
// held in drain on every socket until all of them have passed; only then are
// they made ready, anywhere.
func (f *Fleet) Apply(ctx context.Context, d Desired, views []SocketView) []Result {
	out := make([]Result, len(views))
	for i, s := range views {
		out[i] = Result{Socket: f.clients[i].Target(), Skipped: s.Skipped}
	}
	gated := make([]bool, len(views))
	f.parallel(views, func(i int, c *haproxy.Client) {
		out[i], gated[i] = f.applyOne(ctx, c, views[i], d)
	})
	held, errs := make([]haproxy.ServerState, len(out)), make([]error, len(out))
	for i := range out {
		held[i], errs[i] = out[i].After, out[i].Err
	}
	f.passGate(ctx, views, d, held, gated, errs)
	for i := range out {
		out[i].After, out[i].Err = held[i], errs[i]
	}
	return out
}

// parallel runs fn for every socket not skipped at pre-flight, concurrently.
func (f *Fleet) parallel(views []SocketView, fn func(i int, c *haproxy.Client)) {
	var wg sync.WaitGroup
	for i := range views {
		if views[i].Skipped != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i, f.clients[i])
		}()
	}
	wg.Wait()
}

// applyOne applies d on one socket, in the safe order (order.go): the
// server never serves from a wrong address. A failed group stops the rest:
// HAProxy would run a batch to the end.
//
// When the server must first pass a health check, applyOne leaves it in drain
// with its health forced down and reports gated = true; Apply finishes it.
func (f *Fleet) applyOne(ctx context.Context, c *haproxy.Client, view SocketView, d Desired) (res Result, gated bool) {
	res.Socket = c.Target()
	cur := view.Current
	port := cur.Port
	if d.Port != nil {
		port = *d.Port
	}
	moving := cur.Addr != d.Addr || cur.Port != port
	curState := cur.Admin.UserState()
	gate := d.needsChecks() && (moving || curState != haproxy.StateReady)
	fail := func(err error) (Result, bool) { res.Err = err; return res, false }
	// The last guard before any write: pre-flight refused this already.
	if err := f.offPlaceholder(d)(cur); err != nil {
		return fail(fmt.Errorf("%s: %s/%s: %w", c.Name(), d.Backend, d.Server, err))
	}

	// A serving server leaves rotation before it moves, when asked to be gentle.
	if moving && curState == haproxy.StateReady && (d.Grace.DrainTimeout > 0 || gate) {
		w, err := f.drainFirst(ctx, c, cur, d.Grace)
		res.Warnings = append(res.Warnings, w...)
		if err != nil {
			return fail(err)
		}
		curState = haproxy.StateDrain
	}

	target := d.State
	if gate {
		target = haproxy.StateDrain // ready only once the check has passed
	}
	want := Values{Addr: d.Addr.String(), Port: port, State: target, Weight: cur.UserWeight, Health: ValuesOf(cur).Health}
	if d.Weight != nil {
		want.Weight = *d.Weight
	}
	if d.Health != nil {
		want.Health = *d.Health
	}
	now := cur
	now.Admin = now.Admin.WithUserState(curState) // after the drain above
	// Preflight made sure checks are enabled where gate holds the health
	// down, so that is never the permanent DOWN of a server without checks.
	w, err := safeOrder(d.Backend, d.Server, now, want, gate)
	if err != nil {
		return fail(err)
	}
	moved := showsAddr(d.Server, d.Addr.String(), port, cur)
	steps := w.steps(&moved)
	res.After, res.Err = f.runAndConfirm(ctx, c, d.Backend, d.Server, steps, cur, want)
	return res, gate && res.Err == nil
}

func describe(v Values) string {
	addr := v.Addr
	if addr == "" {
		addr = "-"
	}
	return fmt.Sprintf("address %s port %d state %s weight %d health checks %s", addr, v.Port, v.State, v.Weight, onOff(v.Health))
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
