package fleet

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// writes are the commands that take one server from what it holds to what
// it must hold, in the one order every writer sends them (a server on every
// socket, a pool's slots in batches, a park, a state action):
//
//   - less: a state that lets less traffic through (ready → drain or maint)
//     goes first, so a server never serves on an address it is leaving;
//   - move: the address, which a read must show before anything after it
//     is sent (HAProxy 2.9+ applies it only after replying);
//   - tune: weight and health checks, so they act on the new address;
//   - more: a state that lets more traffic through goes last, so a slot is
//     never made ready on its placeholder or on an address no read showed.
//     With holdDown its health is then forced down: leaving maint with
//     checks marks a server UP at once, and forcing it down makes UP mean
//     "a check passed since now".
//
// Each group is sent only once every command of the one before succeeded.
type writes struct {
	less, move, tune, more []haproxy.Command
}

// groups lists the non-empty groups in the order they are sent.
func (w writes) groups() [][]haproxy.Command {
	var out [][]haproxy.Command
	for _, g := range [][]haproxy.Command{w.less, w.move, w.tune, w.more} {
		if len(g) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// steps are the groups as runSteps sends them: the address change waits
// until a read shows moved.
func (w writes) steps(moved *expectation) []step {
	return []step{{cmds: w.less}, {cmds: w.move, until: moved}, {cmds: w.tune}, {cmds: w.more}}
}

// serving ranks states by how much traffic they let through.
func serving(s haproxy.State) int {
	switch s {
	case haproxy.StateReady:
		return 2
	case haproxy.StateDrain:
		return 1
	}
	return 0
}

// safeOrder returns the writes that take server from cur to want: only what
// differs is sent. It is pure: it reads nothing and sends nothing, so the
// rule is tested as a table (order_test.go). An error is a value HAProxy's
// command builders refuse (a name or address that must never reach a
// socket); nothing is to be sent then.
func safeOrder(backend, server string, cur haproxy.ServerState, want Values, holdDown bool) (writes, error) {
	var less, move, tune, more commands
	have := ValuesOf(cur)
	lessFirst := serving(want.State) < serving(have.State)
	if lessFirst {
		less.add(haproxy.SetServerState(backend, server, want.State))
	}
	if have.Addr != want.Addr || have.Port != want.Port {
		addr, err := netip.ParseAddr(want.Addr)
		move.add(haproxy.SetServerAddr(backend, server, addr, want.Port))
		if err != nil {
			move.err = fmt.Errorf("address %q: %w", want.Addr, err)
		}
	}
	if have.Weight != want.Weight {
		tune.add(haproxy.SetServerWeight(backend, server, want.Weight))
	}
	switch {
	case have.Health == want.Health:
	case want.Health:
		tune.add(haproxy.EnableHealth(backend, server))
	default:
		tune.add(haproxy.DisableHealth(backend, server))
	}
	if !lessFirst && have.State != want.State {
		more.add(haproxy.SetServerState(backend, server, want.State))
	}
	if holdDown {
		more.add(haproxy.SetServerHealthDown(backend, server))
	}
	if err := errors.Join(less.err, move.err, tune.err, more.err); err != nil {
		return writes{}, err
	}
	return writes{less: less.cmds, move: move.cmds, tune: tune.cmds, more: more.cmds}, nil
}
