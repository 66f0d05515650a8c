package pool

import (
	"context"
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
func (f pools) applyPoolBatched(ctx context.Context, p Pool, assigned map[string]string, removed []string, listings []fleet.Listing) []error {
	perSocket := make([][]error, len(f.Clients()))
	var wg sync.WaitGroup
	for i, c := range f.Clients() {
		for _, l := range listings { // a socket skipped as unreachable has no listing
			if l.Socket != c.Target() {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				perSocket[i] = f.ApplyBatch(ctx, c, p.Backend, poolChanges(p, assigned, removed, l))
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
// become, in slot order.
func poolChanges(p Pool, assigned map[string]string, removed []string, l fleet.Listing) []fleet.Change {
	rows := map[string]haproxy.ServerState{}
	for _, s := range l.Servers {
		rows[s.Name] = s
	}
	var out []fleet.Change
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
		out = append(out, fleet.Change{Server: slot, Cur: cur, Want: fleet.Values{
			Addr: p.Placeholder.Addr().String(), Port: int(p.Placeholder.Port()), State: haproxy.StateMaint,
			Weight: cur.InitialWeight, Health: fleet.ValuesOf(cur).Health,
		}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Server < out[j].Server })
	return out
}
