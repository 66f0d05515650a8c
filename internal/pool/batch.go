package pool

import (
	"context"
	"sort"
	"sync"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// applyPoolBatched applies a whole pool to each socket in batched phases
// instead of a few connections per member, so a pool of a thousand members
// costs a few dozen connections per socket:
//
//  1. state changes that reduce traffic (ready → drain/maint, parking),
//  2. address changes, for slots whose phase 1 succeeded, then reads until
//     every moved slot shows its new address (HAProxy 2.9+ applies an
//     address after replying),
//  3. weight and health-check changes, for slots whose address showed,
//  4. state changes that add traffic, for slots whose phase 3 succeeded,
//
// each phase one group of safeOrder's (order.go) for every slot,
//
// then reads until every slot shows what it must: every slot written since
// a read last showed it whole (a read is the only proof of an address; the
// other values are checked too). A slot nothing was sent to held what it
// must in the listing, and one whose address read already showed it all
// needs no second read: a one-member change of a large pool reads the
// backend twice per socket, not three times. A failed command stops
// only its own slot: HAProxy runs the rest of a batch, so each command's
// reply is checked before the next phase includes that slot. It is used when
// no drain wait or health wait is asked for (those need per-server pacing).
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
