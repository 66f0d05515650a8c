package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// SocketView is one socket's view of the server, as checked before a write.
type SocketView struct {
	Socket  string
	Current haproxy.ServerState
	Skipped error // non-nil: unreachable and skipped (SkipUnreachable); no write goes there
}

// Preflight checks every socket before anything is written anywhere: it is
// reachable, its level is admin, the backend is enabled and has the server,
// and the server holds an IP address (HAProxy cannot give an address to a
// server that has none). One connection per socket. If any socket fails,
// the error names each failing socket and why, and the caller writes nothing.
// With SkipUnreachable, sockets that cannot be reached are marked Skipped
// and reported in warnings instead; at least one socket must pass.
// Each of needs is one more condition the server must meet on every socket
// (see Desired.requirements).
func (f *Fleet) Preflight(ctx context.Context, backend, server string, needs ...func(haproxy.ServerState) error) (views []SocketView, warnings []string, err error) {
	return f.preflight(ctx, backend, server, false, needs...)
}

// preflight is Preflight; claimedToo accepts a slot a pool has claimed (a
// state change by hand is as much the operator's to make on a pool's slot).
func (f *Fleet) preflight(ctx context.Context, backend, server string, claimedToo bool, needs ...func(haproxy.ServerState) error) (views []SocketView, warnings []string, err error) {
	if err := haproxy.ValidateName("backend", backend); err != nil {
		return nil, nil, err
	}
	answers, err := gather(ctx, f, true, func(ctx context.Context, c *haproxy.Client) (SocketView, error) {
		slot, err := f.preflightOne(ctx, c, backend, server, claimedToo)
		for _, need := range needs {
			if err == nil {
				if e := need(slot.Current); e != nil {
					err = fmt.Errorf("%s: %s/%s: %w", c.Name(), backend, server, e)
				}
			}
		}
		return slot, err
	})
	if err != nil {
		return nil, nil, err
	}
	views = make([]SocketView, len(answers))
	for i, a := range answers {
		views[i] = a.v
		views[i].Skipped = a.skipped
	}
	return views, skipWarnings(skippedOf(answers), " (nothing was changed there; the next plan shows the difference once it answers)"), nil
}

// preflightFor is Preflight for writing d: besides d's own requirements,
// the server must be this resource's on every socket. It holds d's recorded
// address, the address asked for, or the placeholder, and no pool has
// claimed it; otherwise it is someone else's and nothing is written.
func (f *Fleet) preflightFor(ctx context.Context, d Desired) ([]SocketView, []string, error) {
	claim := d.claim()
	owned := func(s haproxy.ServerState) error {
		held := netip.AddrPortFrom(s.Addr, uint16(s.Port))
		if claim.Mine(ActWrite, held, f.placeholder).Ok() {
			return nil
		}
		return fmt.Errorf("%s; if that server is yours to manage here, `terraform import` it (or free the slot by hand)",
			claim.Foreign("the server", ActWrite, held, f.placeholder))
	}
	return f.Preflight(ctx, d.Backend, d.Server, append(d.requirements(), f.offPlaceholder(d), owned)...)
}

// PlanCheck is the pre-flight of a write to d, made when the write is
// planned: read-only, from the read cache (one read per socket and backend
// serves every resource of the plan), with the same rules and errors the
// apply's own pre-flight has. A plan that passes it applies unless
// something changes in between.
func (f *Fleet) PlanCheck(ctx context.Context, d Desired) (warnings []string, err error) {
	_, warnings, err = f.preflightFor(ctx, d)
	return warnings, err
}

// PlaceholderCheck is the placeholder rule for d on its own, before any
// socket is read: d asks for the placeholder's address and port and a
// state that serves.
func (f *Fleet) PlaceholderCheck(d Desired) error {
	return f.offPlaceholder(d)(haproxy.ServerState{})
}

// ErrServesPlaceholder: a write would put a server into service (ready or
// drain) on the placeholder, where free slots are parked: traffic to
// nowhere, and a slot that looks free to every other writer.
var ErrServesPlaceholder = errors.New("the server would serve on the placeholder")

// offPlaceholder is the requirement that d never makes the server serve on
// the placeholder: asked for explicitly, or by leaving the port as it is on
// a slot that holds the placeholder (whose port is not a server's).
func (f *Fleet) offPlaceholder(d Desired) func(haproxy.ServerState) error {
	return func(s haproxy.ServerState) error {
		if d.State == haproxy.StateMaint {
			return nil
		}
		port := s.Port
		if d.Port != nil {
			port = *d.Port
		}
		switch {
		case netip.AddrPortFrom(d.Addr, uint16(port)) == f.placeholder:
			return fmt.Errorf("%w: %s:%d is the placeholder %s (where free slots are parked), and state = %q would send traffic there; give the server's own address and port, or state = \"maint\"",
				ErrServesPlaceholder, d.Addr, port, f.placeholder, d.State)
		case d.Port == nil && netip.AddrPortFrom(s.Addr, uint16(s.Port)) == f.placeholder:
			return fmt.Errorf("%w: port is unset, so the server would keep the port the slot holds, but the slot holds the placeholder %s, whose port %d is not a server's; set port",
				ErrServesPlaceholder, f.placeholder, s.Port)
		}
		return nil
	}
}

// servesPlaceholder reports whether want puts a server into service on the
// placeholder (the batched writers' form of offPlaceholder).
func (f *Fleet) servesPlaceholder(want Values) bool {
	addr, err := netip.ParseAddr(want.Addr)
	return err == nil && want.State != haproxy.StateMaint && netip.AddrPortFrom(addr, uint16(want.Port)) == f.placeholder
}

// preflightOne reads the server from a shared read at most `freshness`
// old that started after this process last wrote to the server (see
// readCache): an apply's pre-flights share one fetch per socket instead of
// one each. A change made by someone else since that read is still caught
// where it matters: the write itself fails on a missing server, and the
// confirmation read shows what HAProxy holds.
func (f *Fleet) preflightOne(ctx context.Context, c *haproxy.Client, backend, server string, claimedToo bool) (SocketView, error) {
	slot := SocketView{Socket: c.Target()}
	snap, err := f.read(ctx, c, backend, []string{server}, f.clock.Now().Add(-freshness))
	if snap.level != "" && snap.level != "admin" {
		return slot, fmt.Errorf("%s: the socket's level is %q; writes need `level admin` on the stats socket", c.Name(), snap.level)
	}
	if errors.Is(err, haproxy.ErrNoSuchBackend) {
		return slot, fmt.Errorf("%s: backend %q does not exist%s", c.Name(), backend, f.nearBackends(ctx, c, backend))
	}
	if err != nil {
		return slot, err
	}
	cur, ok := snap.st.Find(backend, server)
	switch {
	case !ok:
		return slot, fmt.Errorf("%s: backend %q has no server %q (its servers: %s)", c.Name(), backend, server, serverRanges(serverNames(snap.st, backend), 6))
	case cur.ID == 0:
		return slot, fmt.Errorf("%s: backend %q is disabled in the HAProxy configuration", c.Name(), backend)
	case !cur.HasInetAddr():
		return slot, fmt.Errorf("%s: server %s/%s has no IP address (srv_addr is \"-\"), and HAProxy's runtime API cannot give it one; declare the slot on an IP placeholder such as 127.0.0.1:1", c.Name(), backend, server)
	}
	if marker, claimed := snap.st.Find(backend, ClaimMarker(server)); claimed && !claimedToo {
		return slot, fmt.Errorf("%s: %s/%s is claimed by a pool (marker %s holds %s:%d); a pool's slot is not managed by haproxy_backend_server",
			c.Name(), backend, server, marker.Name, marker.Addr, marker.Port)
	}
	slot.Current = cur
	return slot, nil
}

// serverNames lists the backend's servers, without claim markers.
func serverNames(st *haproxy.ServersState, backend string) []string {
	var out []string
	for _, s := range st.Servers {
		if s.Backend == backend && !isClaimMarker(s.Name) {
			out = append(out, s.Name)
		}
	}
	return out
}

// nearBackends words the backends nearest to a missing one, for its error
// (one more read, on the error path only).
func (f *Fleet) nearBackends(ctx context.Context, c *haproxy.Client, backend string) string {
	ctx, cancel := f.op(ctx)
	defer cancel()
	names, err := c.Backends(ctx)
	switch near := closest(backend, names, 3); {
	case err != nil:
		return ""
	case len(near) > 0:
		return fmt.Sprintf(" (closest: %s)", strings.Join(near, ", "))
	default:
		return fmt.Sprintf(" (its backends: %s)", serverRanges(names, 8))
	}
}

// read returns the socket's level and the backend's servers, from a fetch
// that started no earlier than notBefore (see readCache). Callers pass their
// context unbounded: each fetch is bounded by the provider's timeout on its
// own, so a caller queued behind another caller's fetch waits for the fetch
// that serves it instead of timing out first (which, with
// SkipUnreachable, would skip a socket that is only slow).
func (f *Fleet) read(ctx context.Context, c *haproxy.Client, backend string, servers []string, notBefore time.Time) (snapshot, error) {
	return f.reads.get(ctx, readKey{c.Target(), backend}, servers, notBefore, func(ctx context.Context) (snapshot, error) {
		ctx, cancel := f.op(ctx)
		defer cancel()
		return fetchSnapshot(ctx, c, backend)
	})
}

// fetchSnapshot is one connection: `show cli level` and `show servers state`.
func fetchSnapshot(ctx context.Context, c *haproxy.Client, backend string) (snapshot, error) {
	show, err := haproxy.ShowServersState(backend)
	if err != nil {
		return snapshot{}, err
	}
	bodies, err := c.Run(ctx, haproxy.ShowCLILevel(), show)
	if bodies == nil { // transport failure: nothing to look at
		return snapshot{}, err
	}
	snap := snapshot{level: trimNL(bodies[0])}
	if err != nil {
		return snap, err
	}
	snap.st, err = c.ParseServersStateReply(show, bodies[1])
	return snap, err
}

func trimNL(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}
