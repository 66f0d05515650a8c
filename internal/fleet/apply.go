package fleet

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Desired is what a resource asks of one server on every socket.
type Desired struct {
	Backend string
	Server  string
	Addr    netip.Addr
	Port    *int // nil: keep each socket's current port
	State   haproxy.State
	Weight  *int // nil: leave HAProxy's weight alone
}

// Result is one socket's outcome of a write.
type Result struct {
	Socket  string
	After   haproxy.ServerState // confirmed by reading back; valid when Err is nil and not Skipped
	Err     error
	Skipped bool // unreachable at pre-flight; nothing was sent
}

// Apply writes d to every socket concurrently, each starting from the state
// Preflight saw there, and confirms each write by reading the server back.
func (f *Fleet) Apply(ctx context.Context, d Desired, slots []Slot) []Result {
	out := make([]Result, len(slots))
	done := make(chan struct{})
	for i := range slots {
		go func() {
			defer func() { done <- struct{}{} }()
			c := f.clients[i]
			if slots[i].Skipped != nil {
				out[i] = Result{Socket: c.Target(), Skipped: true}
				return
			}
			after, err := f.applyOne(ctx, c, slots[i].Current, d)
			out[i] = Result{Socket: c.Target(), After: after, Err: err}
		}()
	}
	for range slots {
		<-done
	}
	return out
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

// applyOne orders the commands so the server never serves from a wrong
// address: when it is to serve less (ready → drain/maint) the state changes
// first and the address after; otherwise the address and weight change first
// and the state last, so a slot is never put `ready` on its placeholder. A
// failed group stops the rest: HAProxy would run a batch to the end.
func (f *Fleet) applyOne(ctx context.Context, c *haproxy.Client, cur haproxy.ServerState, d Desired) (haproxy.ServerState, error) {
	port := cur.Port
	if d.Port != nil {
		port = *d.Port
	}
	var move, state []haproxy.Command
	if cur.Addr != d.Addr || cur.Port != port {
		cmd, err := haproxy.SetServerAddr(d.Backend, d.Server, d.Addr, port)
		if err != nil {
			return cur, err
		}
		move = append(move, cmd)
	}
	if d.Weight != nil && cur.UserWeight != *d.Weight {
		cmd, err := haproxy.SetServerWeight(d.Backend, d.Server, *d.Weight)
		if err != nil {
			return cur, err
		}
		move = append(move, cmd)
	}
	if cur.Admin.UserState() != d.State {
		cmd, err := haproxy.SetServerState(d.Backend, d.Server, d.State)
		if err != nil {
			return cur, err
		}
		state = append(state, cmd)
	}
	groups := [][]haproxy.Command{move, state}
	if serving(d.State) < serving(cur.Admin.UserState()) {
		groups = [][]haproxy.Command{state, move}
	}

	want := Values{Addr: d.Addr.String(), Port: port, State: d.State, Weight: cur.UserWeight}
	if d.Weight != nil {
		want.Weight = *d.Weight
	}
	return f.runAndConfirm(ctx, c, d.Backend, d.Server, groups, want)
}

// runAndConfirm runs the non-empty groups in order, one connection each, and
// then checks, with a read that started after the last write, that the
// server now holds want.
func (f *Fleet) runAndConfirm(ctx context.Context, c *haproxy.Client, backend, server string, groups [][]haproxy.Command, want Values) (haproxy.ServerState, error) {
	key := readKey{c.Target(), backend}
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		opCtx, cancel := f.op(ctx)
		_, err := c.Run(opCtx, g...)
		cancel()
		f.reads.wrote(key) // even a failed batch may have changed something
		if err != nil {
			return haproxy.ServerState{}, err
		}
	}
	opCtx, cancel := f.op(ctx)
	defer cancel()
	snap, err := f.read(opCtx, c, backend, time.Now())
	if err != nil {
		return haproxy.ServerState{}, err
	}
	row, ok := snap.st.Find(backend, server)
	if !ok {
		return haproxy.ServerState{}, fmt.Errorf("%s: server %s/%s vanished during the change", c.Target(), backend, server)
	}
	if got := ValuesOf(row); got != want {
		return row, fmt.Errorf("%s: HAProxy accepted the commands but now reports %s for %s/%s, not %s",
			c.Target(), describe(got), backend, server, describe(want))
	}
	return row, nil
}

func describe(v Values) string {
	addr := v.Addr
	if addr == "" {
		addr = "-"
	}
	return fmt.Sprintf("address %s port %d state %s weight %d", addr, v.Port, v.State, v.Weight)
}
