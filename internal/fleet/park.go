package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Origin is where a slot was before the provider took it, per socket, so
// that delete can park it there again and it is visibly free.
type Origin struct {
	Addr   string `json:"addr"`
	Port   int    `json:"port"`
	Weight int    `json:"weight"`
}

// OriginsOf records each socket's pre-write address, port and weight.
func OriginsOf(slots []Slot) map[string]Origin {
	out := make(map[string]Origin, len(slots))
	for _, s := range slots {
		out[s.Socket] = Origin{Addr: s.Current.Addr.String(), Port: s.Current.Port, Weight: s.Current.UserWeight}
	}
	return out
}

// Park takes the server out of service on every socket (`state maint`) and
// then puts it back on its origin. A socket without a recorded origin (the
// resource was imported, or the socket was added later) borrows another
// socket's; with none at all the server is left in maint where it is, and a
// warning says so. A server already gone from a socket is skipped with a
// warning: there is nothing left to park.
// With g.DrainTimeout, a server still taking traffic is drained first and
// its sessions waited for; with g.ShutdownSessions, sessions left after
// `maint` are closed.
func (f *Fleet) Park(ctx context.Context, backend, server string, origins map[string]Origin, g Grace) (warnings []string, err error) {
	fallback, haveFallback := Origin{}, false
	for _, s := range f.Sockets() {
		if o, ok := origins[s]; ok {
			fallback, haveFallback = o, true
			break
		}
	}
	type result struct {
		warnings []string
		err      error
	}
	results := each(ctx, f, func(ctx context.Context, c *haproxy.Client) result {
		o, ok := origins[c.Target()]
		if !ok {
			o, ok = fallback, haveFallback
		}
		w, err := f.parkOne(ctx, c, backend, server, o, ok, g)
		// A process that is gone lost its runtime changes: nothing serves
		// there any more. A socket that does not answer may still serve, so
		// it stays an error: the resource is not forgotten.
		if err != nil && f.skipUnreachable && Unreachable(err) && ProcessGone(err) {
			return result{append(w, fmt.Sprintf("%s is not running (%v): its runtime changes are gone, so there is nothing to park", c.Target(), err)), nil}
		}
		return result{w, err}
	})
	var failed Errors
	for i, r := range results {
		warnings = append(warnings, r.warnings...)
		if r.err != nil {
			failed = append(failed, SocketError{f.clients[i].Target(), r.err})
		}
	}
	if len(failed) > 0 {
		return warnings, failed
	}
	return warnings, nil
}

func (f *Fleet) parkOne(ctx context.Context, c *haproxy.Client, backend, server string, o Origin, haveOrigin bool, g Grace) (warnings []string, err error) {
	gone := []string{fmt.Sprintf("%s: %s/%s no longer exists there; nothing to park", c.Target(), backend, server)}
	opCtx, cancel := f.op(ctx)
	snap, err := f.read(opCtx, c, backend, time.Now())
	cancel()
	if errors.Is(err, haproxy.ErrNoSuchBackend) {
		return gone, nil
	}
	if err != nil {
		return nil, err
	}
	cur, ok := snap.st.Find(backend, server)
	if !ok {
		return gone, nil
	}

	if g.DrainTimeout > 0 && cur.Admin.UserState() != haproxy.StateMaint {
		var drain batch
		drain.add(haproxy.SetServerState(backend, server, haproxy.StateDrain))
		if err := f.runWrite(ctx, c, backend, drain); err != nil {
			return nil, err
		}
		if warnings, err = f.waitDrained(ctx, c, cur, g); err != nil {
			return warnings, err
		}
	}
	var out batch
	out.add(haproxy.SetServerState(backend, server, haproxy.StateMaint))
	if g.ShutdownSessions {
		out.add(haproxy.ShutdownSessions(backend, server))
	}
	if err := f.runWrite(ctx, c, backend, out); err != nil {
		if haproxy.IsGone(err) {
			return gone, nil
		}
		return warnings, err
	}
	if !haveOrigin {
		return append(warnings, fmt.Sprintf("%s: %s/%s was put in maint but left on its address: its original address is unknown (the resource was imported)", c.Target(), backend, server)), nil
	}
	addr, err := netip.ParseAddr(o.Addr)
	if err != nil {
		return warnings, fmt.Errorf("recorded origin address %q is invalid: %w", o.Addr, err)
	}
	var move batch
	move.add(haproxy.SetServerAddr(backend, server, addr, o.Port))
	move.add(haproxy.SetServerWeight(backend, server, o.Weight))
	if move.err != nil {
		return warnings, move.err
	}
	want := Values{Addr: addr.String(), Port: o.Port, State: haproxy.StateMaint, Weight: o.Weight, Health: ValuesOf(cur).Health}
	_, err = f.runAndConfirm(ctx, c, backend, server, []step{{cmds: move.cmds}}, want)
	return warnings, err
}
