package fleet

import (
	"context"
	"fmt"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Change is what one server of a batch must become on one socket.
type Change struct {
	Server string
	Member string // the pool member it serves, for messages; "" for a slot being parked
	Cur    haproxy.ServerState
	Want   Values
}

// ServerError is a failure of a batch that concerns one server.
type ServerError struct {
	Server string
	Err    error
}

func (e ServerError) Error() string { return e.Err.Error() }
func (e ServerError) Unwrap() error { return e.Err }

// ApplyBatch writes many servers of one backend on one socket in batched
// phases instead of a few connections per server, so a pool of a thousand
// members costs a few dozen connections per socket. Each phase is one
// group of the safe order (order.go) for every server:
//
//  1. state changes that reduce traffic (ready → drain/maint, parking),
//  2. address changes, for servers whose phase 1 succeeded, then reads until
//     every moved server shows its new address (HAProxy 2.9+ applies an
//     address after replying),
//  3. weight and health-check changes, for servers whose address showed,
//  4. state changes that add traffic, for servers whose phase 3 succeeded,
//
// then reads until every server shows what it must: every server written
// since a read last showed it whole (a read is the only proof of an
// address; the other values are checked too). A server nothing was sent to
// held what it must in Cur, and one whose address read already showed it
// all needs no second read: a one-member change of a large pool reads the
// backend twice per socket, not three times. A failed command stops only
// its own server: HAProxy runs the rest of a batch, so each command's reply
// is checked before the next phase includes that server. Each phase goes
// out through RunBatch: each connection bounded by the fleet's timeout. The errors are ServerErrors. It
// is for servers with no drain or health wait (those need per-server
// pacing: Apply).
func (f *Fleet) ApplyBatch(ctx context.Context, c *haproxy.Client, backend string, changes []Change) []error {
	failed := map[string]error{}
	// seen is each slot's row as last read (the listing's, then the address
	// confirmation's); dirty marks the slots written to since.
	seen := map[string]haproxy.ServerState{}
	for _, ch := range changes {
		seen[ch.Server] = ch.Cur
	}
	dirty := map[string]bool{}
	phase := func(build func(ch Change) []haproxy.Command) {
		var cmds []haproxy.Command
		var owners []string
		for _, ch := range changes {
			if failed[ch.Server] != nil {
				continue
			}
			for _, cmd := range build(ch) {
				cmds = append(cmds, cmd)
				owners = append(owners, ch.Server)
				dirty[ch.Server] = true
			}
		}
		if len(cmds) == 0 {
			return
		}
		each, err := f.RunBatch(ctx, c, backend, cmds...)
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
		if f.servesPlaceholder(ch.Want) { // the last guard before any write
			failed[ch.Server] = fmt.Errorf("%w: %s:%d is the placeholder (where free slots are parked), and state %q would send traffic there",
				ErrServesPlaceholder, ch.Want.Addr, ch.Want.Port, ch.Want.State)
			continue
		}
		w, err := safeOrder(backend, ch.Server, ch.Cur, ch.Want, false)
		if err != nil {
			failed[ch.Server] = err
			continue
		}
		ws[ch.Server] = w
	}
	phase(func(ch Change) []haproxy.Command { return ws[ch.Server].less })
	phase(func(ch Change) []haproxy.Command { return ws[ch.Server].move })
	for slot, row := range f.settleChanges(ctx, c, backend, changes, failed, func(ch Change) *expectation {
		if len(ws[ch.Server].move) == 0 {
			return nil
		}
		e := showsAddr(ch.Server, ch.Want.Addr, ch.Want.Port)
		return &e
	}) {
		seen[slot], dirty[slot] = row, false
	}
	phase(func(ch Change) []haproxy.Command { return ws[ch.Server].tune })
	phase(func(ch Change) []haproxy.Command { return ws[ch.Server].more })
	f.settleChanges(ctx, c, backend, changes, failed, func(ch Change) *expectation {
		e := showsValues(ch.Server, ch.Want)
		if !dirty[ch.Server] && e.ok(seen[ch.Server]) {
			return nil
		}
		return &e
	})

	var errs []error
	for _, ch := range changes {
		if failed[ch.Server] != nil {
			errs = append(errs, ServerError{Server: ch.Server, Err: fmt.Errorf("%s: %s: %w", c.Name(), ch.what(backend), failed[ch.Server])})
		}
	}
	return errs
}

func (ch Change) what(backend string) string {
	if ch.Member != "" {
		return fmt.Sprintf("member %q (%s/%s)", ch.Member, backend, ch.Server)
	}
	return backend + "/" + ch.Server
}

// settleChanges polls reads until every slot not yet failed shows what
// expect asks of it (nil: nothing); a slot that never does, or a read that
// fails, fails its slot. It returns the rows that showed what was expected.
func (f *Fleet) settleChanges(ctx context.Context, c *haproxy.Client, backend string, changes []Change, failed map[string]error, expect func(Change) *expectation) map[string]haproxy.ServerState {
	var exps []expectation
	for _, ch := range changes {
		if failed[ch.Server] != nil {
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
