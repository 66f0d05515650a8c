package fleet

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// slotChange is what one slot must become on one socket.
type slotChange struct {
	slot  string
	owner string // member key, or "" for a slot being parked
	cur   haproxy.ServerState
	want  Values
}

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
func (f *Fleet) applyPoolBatched(ctx context.Context, p Pool, assigned map[string]string, removed []string, listings []Listing) []error {
	perSocket := make([][]error, len(f.clients))
	var wg sync.WaitGroup
	for i, c := range f.clients {
		for _, l := range listings { // a socket skipped as unreachable has no listing
			if l.Socket != c.Target() {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				perSocket[i] = f.applyChanges(ctx, c, p.Backend, poolChanges(p, assigned, removed, l))
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
func poolChanges(p Pool, assigned map[string]string, removed []string, l Listing) []slotChange {
	rows := map[string]haproxy.ServerState{}
	for _, s := range l.Servers {
		rows[s.Name] = s
	}
	var out []slotChange
	for member, slot := range assigned {
		m, cur := p.Members[member], rows[slot]
		want := Values{Addr: m.Addr.String(), Port: m.Port, State: m.State, Weight: cur.UserWeight, Health: ValuesOf(cur).Health}
		if m.Weight != nil {
			want.Weight = *m.Weight
		}
		out = append(out, slotChange{slot: slot, owner: member, cur: cur, want: want})
	}
	for _, slot := range removed {
		cur := rows[slot]
		out = append(out, slotChange{slot: slot, cur: cur, want: Values{
			Addr: p.Placeholder.Addr().String(), Port: int(p.Placeholder.Port()), State: haproxy.StateMaint,
			Weight: cur.InitialWeight, Health: ValuesOf(cur).Health,
		}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].slot < out[j].slot })
	return out
}

func (f *Fleet) applyChanges(ctx context.Context, c *haproxy.Client, backend string, changes []slotChange) []error {
	failed := map[string]error{}
	// seen is each slot's row as last read (the listing's, then the address
	// confirmation's); dirty marks the slots written to since.
	seen := map[string]haproxy.ServerState{}
	for _, ch := range changes {
		seen[ch.slot] = ch.cur
	}
	dirty := map[string]bool{}
	phase := func(build func(ch slotChange) []haproxy.Command) {
		var cmds []haproxy.Command
		var owners []string
		for _, ch := range changes {
			if failed[ch.slot] != nil {
				continue
			}
			for _, cmd := range build(ch) {
				cmds = append(cmds, cmd)
				owners = append(owners, ch.slot)
				dirty[ch.slot] = true
			}
		}
		if len(cmds) == 0 {
			return
		}
		each, err := c.RunEach(f.batch(ctx), cmds...)
		f.reads.wrote(readKey{c.Target(), backend}, nil)
		for i, slot := range owners {
			switch {
			case err != nil && failed[slot] == nil:
				failed[slot] = err
			case err == nil && each[i] != nil && failed[slot] == nil:
				failed[slot] = each[i]
			}
		}
	}
	// Each slot's writes in the safe order (order.go); the batch sends one
	// group of every slot per phase.
	ws := make(map[string]writes, len(changes))
	for _, ch := range changes {
		w, err := safeOrder(backend, ch.slot, ch.cur, ch.want, false)
		if err != nil {
			failed[ch.slot] = err
			continue
		}
		ws[ch.slot] = w
	}
	phase(func(ch slotChange) []haproxy.Command { return ws[ch.slot].less })
	phase(func(ch slotChange) []haproxy.Command { return ws[ch.slot].move })
	for slot, row := range f.settleChanges(ctx, c, backend, changes, failed, func(ch slotChange) *expectation {
		if len(ws[ch.slot].move) == 0 {
			return nil
		}
		e := showsAddr(ch.slot, ch.want.Addr, ch.want.Port)
		return &e
	}) {
		seen[slot], dirty[slot] = row, false
	}
	phase(func(ch slotChange) []haproxy.Command { return ws[ch.slot].tune })
	phase(func(ch slotChange) []haproxy.Command { return ws[ch.slot].more })
	f.settleChanges(ctx, c, backend, changes, failed, func(ch slotChange) *expectation {
		e := showsValues(ch.slot, ch.want)
		if !dirty[ch.slot] && e.ok(seen[ch.slot]) {
			return nil
		}
		return &e
	})

	var errs []error
	for _, ch := range changes {
		if failed[ch.slot] != nil {
			errs = append(errs, slotError{slot: ch.slot, err: fmt.Errorf("%s: %s: %w", c.Name(), ch.what(backend), failed[ch.slot])})
		}
	}
	return errs
}

func (ch slotChange) what(backend string) string {
	if ch.owner != "" {
		return fmt.Sprintf("member %q (%s/%s)", ch.owner, backend, ch.slot)
	}
	return backend + "/" + ch.slot
}

// settleChanges polls reads until every slot not yet failed shows what
// expect asks of it (nil: nothing); a slot that never does, or a read that
// fails, fails its slot. It returns the rows that showed what was expected.
func (f *Fleet) settleChanges(ctx context.Context, c *haproxy.Client, backend string, changes []slotChange, failed map[string]error, expect func(slotChange) *expectation) map[string]haproxy.ServerState {
	var exps []expectation
	for _, ch := range changes {
		if failed[ch.slot] != nil {
			continue
		}
		if e := expect(ch); e != nil {
			exps = append(exps, *e)
		}
	}
	if len(exps) == 0 {
		return nil
	}
	rows, missing, err := f.settle(ctx, c, backend, exps)
	if err != nil {
		for _, e := range exps {
			failed[e.server] = fmt.Errorf("cannot confirm: %w", err)
		}
		return nil
	}
	for _, u := range missing {
		failed[u.server] = u.error(backend, f.timeout, nil)
		delete(rows, u.server)
	}
	return rows
}
