package fleet

import (
	"context"
	"fmt"
	"net/netip"

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
func (f *Fleet) Park(ctx context.Context, backend, server string, origins map[string]Origin) (warnings []string, err error) {
	fallback, haveFallback := Origin{}, false
	for _, s := range f.Sockets() {
		if o, ok := origins[s]; ok {
			fallback, haveFallback = o, true
			break
		}
	}
	type result struct {
		warning string
		err     error
	}
	results := each(ctx, f, func(ctx context.Context, c *haproxy.Client) result {
		o, ok := origins[c.Target()]
		if !ok {
			o, ok = fallback, haveFallback
		}
		w, err := f.parkOne(ctx, c, backend, server, o, ok)
		if err != nil && f.skipUnreachable && Unreachable(err) {
			return result{fmt.Sprintf("%s could not be reached and was not parked (unreachable_sockets = \"warn\"): %v", c.Target(), err), nil}
		}
		return result{w, err}
	})
	var failed Errors
	for i, r := range results {
		if r.warning != "" {
			warnings = append(warnings, r.warning)
		}
		if r.err != nil {
			failed = append(failed, SocketError{f.clients[i].Target(), r.err})
		}
	}
	if len(failed) > 0 {
		return warnings, failed
	}
	return warnings, nil
}

func (f *Fleet) parkOne(ctx context.Context, c *haproxy.Client, backend, server string, o Origin, haveOrigin bool) (string, error) {
	maint, err := haproxy.SetServerState(backend, server, haproxy.StateMaint)
	if err != nil {
		return "", err
	}
	opCtx, cancel := f.op(ctx)
	_, err = c.Run(opCtx, maint)
	cancel()
	f.reads.wrote(readKey{c.Target(), backend})
	if haproxy.IsGone(err) {
		return fmt.Sprintf("%s: %s/%s no longer exists there; nothing to park", c.Target(), backend, server), nil
	}
	if err != nil {
		return "", err
	}
	if !haveOrigin {
		return fmt.Sprintf("%s: %s/%s was put in maint but left on its address: its original address is unknown (the resource was imported)", c.Target(), backend, server), nil
	}
	addr, err := netip.ParseAddr(o.Addr)
	if err != nil {
		return "", fmt.Errorf("recorded origin address %q is invalid: %w", o.Addr, err)
	}
	move, err := haproxy.SetServerAddr(backend, server, addr, o.Port)
	if err != nil {
		return "", err
	}
	weight, err := haproxy.SetServerWeight(backend, server, o.Weight)
	if err != nil {
		return "", err
	}
	want := Values{Addr: addr.String(), Port: o.Port, State: haproxy.StateMaint, Weight: o.Weight}
	_, err = f.runAndConfirm(ctx, c, backend, server, [][]haproxy.Command{{move, weight}}, want)
	return "", err
}
