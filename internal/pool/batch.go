package pool

import (
	"context"
	"net/netip"
	"sort"
	"sync"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// applyPoolBatched applies a whole pool to every socket that has a listing
// at once, each in the batched phases of fleet.ApplyBatch: a pool of a
// thousand members costs a few dozen connections per socket, not a few per
// member. It is used when no drain wait is asked for (that needs per-server
// pacing: applyPoolPaced).
func (f fleetOps) applyPoolBatched(ctx context.Context, p Pool, assigned map[string]string, removed []string, leaving map[string]string, listings []fleet.Listing, warnings *[]string) []error {
	perSocket := make([][]error, len(f.Clients()))
	var wg sync.WaitGroup
	for i, c := range f.Clients() {
		for _, l := range listings { // a socket skipped as unreachable has no listing
			if l.Socket != c.Target() {
				continue
			}
			changes, left := poolChanges(p, assigned, removed, leaving, l)
			for _, why := range left {
				*warnings = append(*warnings, f.Name(c.Target())+": "+why)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				perSocket[i] = f.ApplyBatch(ctx, c, p.Backend, changes)
			}()
		}
	}
	wg.Wait()
	var errs []error
	for _, e := range perSocket {
		errs = append(errs, e...)
	}
	return errs
}

// poolChanges lists, for one socket, what every owned or removed slot must
// become, in slot order. A removed slot that is not the leaver's any more
// on this socket (the one owner rule) is left out; left says why.
func poolChanges(p Pool, assigned map[string]string, removed []string, leaving map[string]string, l fleet.Listing) (out []fleet.Change, left []string) {
	rows := map[string]haproxy.ServerState{}
	for _, s := range l.Servers {
		rows[s.Name] = s
	}
	for member, slot := range assigned {
		m, cur := p.Members[member], rows[slot]
		want := fleet.Values{Addr: m.Addr.String(), Port: m.Port, State: m.State, Weight: cur.UserWeight, Health: fleet.ValuesOf(cur).Health}
		if m.Weight != nil {
			want.Weight = *m.Weight
		}
		out = append(out, fleet.Change{Server: slot, Member: member, Cur: cur, Want: want})
	}
	for _, slot := range removed {
		cur := rows[slot]
		held := netip.AddrPortFrom(cur.Addr, uint16(cur.Port))
		if owner := p.leaver(leaving[slot]); !owner.Mine(fleet.ActPark, held, p.Placeholder).Ok() {
			left = append(left, owner.Foreign(p.Backend+"/"+slot, fleet.ActPark, held, p.Placeholder))
			continue
		}
		out = append(out, fleet.Change{Server: slot, Cur: cur, Want: fleet.Values{
			Addr: p.Placeholder.Addr().String(), Port: int(p.Placeholder.Port()), State: haproxy.StateMaint,
			Weight: cur.InitialWeight, Health: fleet.ValuesOf(cur).Health,
		}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Server < out[j].Server })
	return out, left
}
