package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Origin is where a slot was before the provider took it, per socket, so
// that delete can park it there again and it is visibly free.
type Origin struct {
	Addr   string `json:"addr"`
	Port   int    `json:"port"`
	Weight int    `json:"weight"`
}

// OriginsOf records each socket's pre-write address, port and weight, for
// Park. A socket skipped at pre-flight was not read, so it has no origin;
// nor has one whose slot sat on the placeholder with its configured weight,
// which is where Park puts a slot without an origin anyway. That is nearly
// every slot, so the record a resource keeps is usually empty.
//
// Nor is a slot that already held d's own address an origin: an earlier run
// of this resource wrote it (a run killed before Terraform saved its state),
// so what the slot held before that run is unknown and Park puts it on the
// placeholder. Recording it would "park" the slot on the member's address.
func (f *Fleet) OriginsOf(views []SocketView, d Desired) map[string]Origin {
	out := make(map[string]Origin, len(views))
	for _, s := range views {
		cur := s.Current
		switch {
		case s.Skipped != nil || !cur.Addr.IsValid():
		case d.holdsOwn(cur):
		case netip.AddrPortFrom(cur.Addr, uint16(cur.Port)) == f.placeholder && cur.UserWeight == cur.InitialWeight:
		default:
			out[s.Socket] = Origin{Addr: cur.Addr.String(), Port: cur.Port, Weight: cur.UserWeight}
		}
	}
	return out
}

// Owner is the object that writes, parks or removes a server: what it can
// show the server is its own (the one rule, owner.go), and its writer id
// (handover.go): a slot another object wrote in this process is handed over
// to that one instead of parked.
type Owner struct {
	Claim
	Writer string
}

// Holding is the owner whose state records recorded (any zero value is
// dropped), with writer id writer.
func Holding(writer string, recorded ...netip.AddrPort) Owner {
	o := Owner{Writer: writer}
	for _, ap := range recorded {
		if ap.IsValid() {
			o.Recorded = append(o.Recorded, ap)
		}
	}
	return o
}

// Park takes the server out of service on every socket (`state maint`) and
// then puts it back on its origin. A socket without a valid recorded origin
// (the resource was imported, the socket was skipped when it was created, or
// added later) parks on the provider's placeholder, with the weight the
// server had in the configuration, so the slot is visibly free again. A
// server already gone from a socket is skipped with a warning: there is
// nothing left to park.
// With g.DrainTimeout, a server still taking traffic is drained first and
// its sessions waited for; with g.ShutdownSessions, sessions left after
// `maint` are closed.
func (f *Fleet) Park(ctx context.Context, backend, server string, origins map[string]Origin, owner Owner, g Grace) (warnings []string, err error) {
	unlock, why := f.guard(backend, server, owner)
	defer unlock()
	if why != "" {
		return []string{why}, nil
	}
	return f.takeOutEverywhere(ctx, nil, "its runtime changes are gone, so there is nothing to park", func(ctx context.Context, c *haproxy.Client) ([]string, error) {
		o, ok := origins[c.Target()]
		if _, err := netip.ParseAddr(o.Addr); !ok || err != nil || haproxy.ValidatePort(o.Port) != nil {
			o = Origin{Addr: f.placeholder.Addr().String(), Port: int(f.placeholder.Port()), Weight: -1}
		}
		return f.parkOne(ctx, c, backend, server, o, owner, g)
	})
}

// takeOutEverywhere runs fn on every socket (only: on those listed, as
// configured) and gathers the warnings. With SkipUnreachable, a socket
// whose process is gone is a warning (why says what that means): it lost
// its runtime changes, nothing serves there any more. A socket that does
// not answer may still serve, so it stays an error: the resource is not
// forgotten.
func (f *Fleet) takeOutEverywhere(ctx context.Context, only []string, why string, fn func(ctx context.Context, c *haproxy.Client) ([]string, error)) (warnings []string, err error) {
	answers, err := gather(ctx, f, false, func(ctx context.Context, c *haproxy.Client) ([]string, error) {
		if only != nil && !slices.Contains(only, c.Target()) {
			return nil, nil
		}
		w, err := fn(ctx, c)
		if err != nil && f.skipUnreachable && unreachable(err) && ProcessGone(err) {
			return append(w, fmt.Sprintf("%s is not running (%v): %s", c.Name(), err, why)), nil
		}
		return w, err
	})
	for _, a := range answers {
		warnings = append(warnings, a.v...)
	}
	return warnings, err
}

// parkOne parks on one socket; an origin weight of -1 means the weight the
// server has in the configuration.
func (f *Fleet) parkOne(ctx context.Context, c *haproxy.Client, backend, server string, o Origin, owner Owner, g Grace) (warnings []string, err error) {
	gone := []string{fmt.Sprintf("%s: %s/%s no longer exists there; nothing to park", c.Name(), backend, server)}
	cur, ok, err := f.current(ctx, c, backend, server)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return gone, nil
	}
	if o.Weight < 0 {
		o.Weight = cur.InitialWeight
	}
	origin, _ := netip.ParseAddr(o.Addr)
	held := netip.AddrPortFrom(cur.Addr, uint16(cur.Port))
	claim := owner.Claim
	claim.Origin = netip.AddrPortFrom(origin, uint16(o.Port))
	if !claim.Mine(ActPark, held, f.placeholder).Ok() {
		return []string{fmt.Sprintf("%s: %s", c.Name(), claim.Foreign(backend+"/"+server, ActPark, held, f.placeholder))}, nil
	}

	warnings, err = f.takeOut(ctx, c, cur, g)
	if err != nil {
		if haproxy.IsGone(err) {
			return gone, nil
		}
		return warnings, err
	}
	addr, err := netip.ParseAddr(o.Addr)
	if err != nil {
		return warnings, fmt.Errorf("origin address %q is invalid: %w", o.Addr, err)
	}
	want := Values{Addr: addr.String(), Port: o.Port, State: haproxy.StateMaint, Weight: o.Weight, Health: ValuesOf(cur).Health}
	out := cur
	out.Admin = out.Admin.WithUserState(haproxy.StateMaint) // takeOut put it there
	w, err := safeOrder(backend, server, out, want, false)
	if err != nil {
		return warnings, err
	}
	parked := showsAddr(server, addr.String(), o.Port, cur)
	_, err = f.runAndConfirm(ctx, c, backend, server, w.steps(&parked), cur, want)
	return warnings, err
}

// takeOut takes a server out of service: with g.DrainTimeout, a server not
// already in maint is drained first and its sessions waited for; then
// `maint`, and with g.ShutdownSessions, the sessions left are closed.
func (f *Fleet) takeOut(ctx context.Context, c *haproxy.Client, cur haproxy.ServerState, g Grace) (warnings []string, err error) {
	backend, server := cur.Backend, cur.Name
	if g.DrainTimeout > 0 && cur.Admin.UserState() != haproxy.StateMaint {
		if warnings, err = f.drainFirst(ctx, c, cur, g); err != nil {
			return warnings, err
		}
	}
	var out commands
	out.add(haproxy.SetServerState(backend, server, haproxy.StateMaint))
	if g.ShutdownSessions {
		out.add(haproxy.ShutdownSessions(backend, server))
	}
	return warnings, f.runWrite(ctx, c, backend, server, out)
}

// current reads the server as it is now (not from a read older than this
// call). ok is false when HAProxy confirmed it (or its backend) absent.
func (f *Fleet) current(ctx context.Context, c *haproxy.Client, backend, server string) (cur haproxy.ServerState, ok bool, err error) {
	snap, err := f.read(ctx, c, backend, []string{server}, f.clock.Now())
	if errors.Is(err, haproxy.ErrNoSuchBackend) {
		return cur, false, nil
	}
	if err != nil {
		return cur, false, err
	}
	cur, ok = snap.st.Find(backend, server)
	return cur, ok, nil
}
