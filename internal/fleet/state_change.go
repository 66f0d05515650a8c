package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// StateChange is a one-off change of servers' state on every socket, as an
// operator makes by hand (day-2 work: drain before maintenance, back to
// ready after). It touches nothing else: not the address, not the weight,
// and it records no ownership, so a resource that manages the server sees
// the change as drift.
type StateChange struct {
	Backend string
	Servers []string
	State   haproxy.State // "": leave the state alone (Shutdown only)
	// WaitSessions > 0 (drain, maint): wait up to this long, on every
	// socket, for the server's sessions to end; sessions still open then
	// are an error.
	WaitSessions time.Duration
	// WaitHealthy > 0 (ready): hold the server in drain, health forced down,
	// until a health check made after the change has passed on every
	// socket; only then make it ready anywhere.
	WaitHealthy time.Duration
	// Shutdown closes every session still using the server (`shutdown
	// sessions server`) after the state is set (and any wait is over).
	Shutdown bool
	// Progress is told what is being waited for (nil: nothing).
	Progress func(string)
}

// ErrParkedServer: ready on the placeholder would send traffic nowhere.
var ErrParkedServer = errors.New("the server is parked on the placeholder: point it at an address before making it ready")

// ChangeState pre-flights every server on every socket (reachable, level
// admin, the server exists and holds an IP, and for ready: not parked on the
// placeholder, health checks enabled when waiting for one; a pool's slot is
// accepted, its pool shows the change as drift) and writes
// nothing anywhere unless all pass. Then it changes every server
// concurrently. warnings name sockets skipped (SkipUnreachable).
func (f *Fleet) ChangeState(ctx context.Context, ch StateChange) (warnings []string, err error) {
	needs := []func(haproxy.ServerState) error{}
	if ch.State == haproxy.StateReady {
		needs = append(needs, func(s haproxy.ServerState) error {
			if s.Addr == f.placeholder.Addr() && s.Port == int(f.placeholder.Port()) {
				return ErrParkedServer
			}
			return nil
		})
		if ch.WaitHealthy > 0 {
			needs = append(needs, Desired{State: haproxy.StateReady, Grace: Grace{WaitHealthy: ch.WaitHealthy}}.requirements()...)
		}
	}
	views := make([][]SocketView, len(ch.Servers))
	var failed []string
	for i, server := range ch.Servers {
		v, w, err := f.preflight(ctx, ch.Backend, server, true, needs...)
		if err != nil {
			failed = append(failed, err.Error())
			continue
		}
		views[i] = v
		if i == 0 {
			warnings = append(warnings, w...)
		}
	}
	if len(failed) > 0 {
		return warnings, fmt.Errorf("nothing was changed:\n%s", strings.Join(failed, "\n"))
	}
	errs := make([]error, len(ch.Servers))
	var wg sync.WaitGroup
	for i, server := range ch.Servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.changeOne(ctx, ch, server, views[i])
		}()
	}
	wg.Wait()
	return warnings, errors.Join(errs...)
}

func (ch StateChange) progress(format string, args ...any) {
	if ch.Progress != nil {
		ch.Progress(fmt.Sprintf(format, args...))
	}
}

// changeOne changes one server on every socket that pre-flight read.
func (f *Fleet) changeOne(ctx context.Context, ch StateChange, server string, views []SocketView) error {
	gate := ch.State == haproxy.StateReady && ch.WaitHealthy > 0
	errs := make([]error, len(views))
	after := make([]haproxy.ServerState, len(views))
	gated := make([]bool, len(views))
	f.parallel(views, func(i int, c *haproxy.Client) {
		cur := views[i].Current
		target := ch.State
		if target == "" { // sessions only
			target = cur.Admin.UserState()
		}
		if gate && cur.Admin.UserState() != haproxy.StateReady {
			// As for a resource (applyOne): held in drain with its health
			// down until a check passes (order.go).
			target, gated[i] = haproxy.StateDrain, true
		}
		want := ValuesOf(cur)
		want.State = target
		w, err := safeOrder(ch.Backend, server, cur, want, gated[i])
		if err != nil {
			errs[i] = err
			return
		}
		after[i], errs[i] = f.runAndConfirm(ctx, c, ch.Backend, server, w.steps(nil), cur, want)
		if errs[i] != nil || target == haproxy.StateReady || ch.WaitSessions <= 0 {
			return
		}
		ch.progress("%s/%s is in %s on %s: waiting up to %s for its sessions to end", ch.Backend, server, target, c.Name(), ch.WaitSessions)
		if _, errs[i] = f.waitDrained(ctx, c, cur, Grace{DrainTimeout: ch.WaitSessions, FailOnDrainTimeout: true, Progress: ch.Progress}); errs[i] == nil {
			ch.progress("%s/%s has no sessions left on %s", ch.Backend, server, c.Name())
		}
	})
	if err := errors.Join(errs...); err != nil || !slices.Contains(gated, true) {
		return errors.Join(err, f.shutdown(ctx, ch, server, views))
	}
	d := Desired{Backend: ch.Backend, Server: server, State: haproxy.StateReady, Grace: Grace{WaitHealthy: ch.WaitHealthy, Progress: ch.Progress}}
	f.passGate(ctx, views, d, after, gated, errs)
	return errors.Join(errors.Join(errs...), f.shutdown(ctx, ch, server, views))
}

// shutdown closes the server's sessions on every socket, when asked.
func (f *Fleet) shutdown(ctx context.Context, ch StateChange, server string, views []SocketView) error {
	if !ch.Shutdown {
		return nil
	}
	errs := make([]error, len(views))
	f.parallel(views, func(i int, c *haproxy.Client) {
		cmd, err := haproxy.ShutdownSessions(ch.Backend, server)
		if err == nil {
			ctx, cancel := f.op(ctx)
			defer cancel()
			_, err = c.Run(ctx, cmd)
		}
		errs[i] = err
	})
	return errors.Join(errs...)
}
