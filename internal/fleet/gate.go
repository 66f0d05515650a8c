package fleet

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// The two ways a change is made gently, written once for a resource's apply
// (Apply), the state action (ChangeState), park and removal (takeOut).

// drainFirst takes a serving server out of rotation before what comes next
// (a move, maint): `state drain`, then a wait, up to g.DrainTimeout, for its
// sessions to end (waitDrained says what happens when they do not).
func (f *Fleet) drainFirst(ctx context.Context, c *haproxy.Client, cur haproxy.ServerState, g Grace) (warnings []string, err error) {
	var drain commands
	drain.add(haproxy.SetServerState(cur.Backend, cur.Name, haproxy.StateDrain))
	if err := f.runWrite(ctx, c, cur.Backend, cur.Name, drain); err != nil {
		return nil, err
	}
	return f.waitDrained(ctx, c, cur, g)
}

// passGate finishes a server held in drain, health forced down, until a
// health check passes (gated[i]: socket i holds it so, as held[i]): it
// waits on every such socket until one deadline, and makes the server ready
// only if it passed on every one of them (the last group of the safe order,
// order.go). Where it did not pass somewhere, every socket keeps it in
// drain and says so. errs[i] receives socket i's outcome; a socket that
// failed before (errs[i] set) is not waited on.
func (f *Fleet) passGate(ctx context.Context, views []SocketView, d Desired, held []haproxy.ServerState, gated []bool, errs []error) {
	waiting := func(i int) bool { return gated[i] && errs[i] == nil }
	some := false
	for i := range views {
		some = some || waiting(i)
	}
	if !some {
		return
	}
	d.Grace.progress("%s/%s is held in drain: waiting up to %s for a health check to pass on every instance", d.Backend, d.Server, d.Grace.WaitHealthy)
	deadline := f.clock.Now().Add(d.Grace.WaitHealthy)
	var mu sync.Mutex
	var unhealthy []string
	f.parallel(views, func(i int, c *haproxy.Client) {
		if !waiting(i) {
			return
		}
		if err := f.waitHealthy(ctx, c, d, deadline); err != nil {
			errs[i] = err
			mu.Lock()
			unhealthy = append(unhealthy, c.Name())
			mu.Unlock()
		}
	})
	f.parallel(views, func(i int, c *haproxy.Client) {
		if !waiting(i) {
			return
		}
		if len(unhealthy) > 0 {
			errs[i] = fmt.Errorf("%s: %s/%s passed its health check here, but not on %s; it holds %s port %d now, %s",
				c.Name(), d.Backend, d.Server, strings.Join(unhealthy, ", "), held[i].Addr, held[i].Port, heldInDrain)
			return
		}
		held[i], errs[i] = f.makeReady(ctx, c, d.Backend, d.Server, held[i])
	})
}

func (g Grace) progress(format string, args ...any) {
	if g.Progress != nil {
		g.Progress(fmt.Sprintf(format, args...))
	}
}

// makeReady puts a server held in drain until its health check passed into
// service: the last group of the safe order.
func (f *Fleet) makeReady(ctx context.Context, c *haproxy.Client, backend, server string, held haproxy.ServerState) (haproxy.ServerState, error) {
	want := ValuesOf(held)
	want.State = haproxy.StateReady
	w, err := safeOrder(backend, server, held, want, false)
	if err != nil {
		return held, err
	}
	return f.runAndConfirm(ctx, c, backend, server, w.steps(nil), held, want)
}
