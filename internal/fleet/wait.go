package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
)

// progressEvery is how often a wait tells Grace.Progress where it stands.
const progressEvery = 2 * time.Second

// pollEvery is how often drain and health waits re-read a socket. Each poll
// is a new, short connection: nothing is held open while waiting.
const pollEvery = 200 * time.Millisecond

// waitDrained polls `show stat` until the server has no sessions or
// g.DrainTimeout passes. Sessions left at the timeout are a warning, or an
// error with FailOnDrainTimeout. Live session counts are not in
// `show servers state`, hence `show stat` (scur).
func (f *Fleet) waitDrained(ctx context.Context, c *haproxy.Client, srv haproxy.ServerState, g Grace) (warnings []string, err error) {
	if g.DrainTimeout <= 0 {
		return nil, nil
	}
	backend, server := srv.Backend, srv.Name
	deadline := f.clock.Now().Add(g.DrainTimeout)
	tick := poll.NewTicker(f.clock, progressEvery, g.Progress)
	sessions := -1
	err = poll.Until(ctx, f.clock, deadline, poll.Every(pollEvery), func() (bool, error) {
		opCtx, cancel := f.op(ctx)
		defer cancel()
		// By ids: a frontend can share the backend's name; one row, however
		// large the backend.
		row, found, err := c.StatServer(opCtx, srv.BackendID, srv.ID, server)
		if err != nil {
			return false, err
		}
		sessions = -1
		if found && row.ProxyID == srv.BackendID {
			sessions = row.Sessions
		}
		if sessions < 0 {
			return false, fmt.Errorf("%s: %s/%s is missing from `show stat`", c.Name(), backend, server)
		}
		if sessions == 0 {
			return true, nil
		}
		tick.Maybe(func() string {
			return fmt.Sprintf("%s/%s: %d session(s) still open on %s, %s left", backend, server, sessions, c.Name(), deadline.Sub(f.clock.Now()).Round(time.Second))
		})
		return false, nil
	})
	if !errors.Is(err, poll.ErrDeadline) {
		return nil, err
	}
	msg := fmt.Sprintf("%s: %d session(s) still open on %s/%s after draining for %s", c.Name(), sessions, backend, server, g.DrainTimeout)
	if g.FailOnDrainTimeout {
		return nil, fmt.Errorf("%s; stopping here: the server stays in drain: %w", msg, ErrDrainUnfinished)
	}
	return []string{msg + "; continuing"}, nil
}

// ErrDrainUnfinished marks a drain that still had sessions at its timeout,
// when the caller asked for that to stop the change.
var ErrDrainUnfinished = errors.New("sessions outlasted the drain timeout")

// waitHealthy polls until a health check made after applyOne forced the
// server's health down has brought it back up: op state running with a
// passing last check. HAProxy only marks it UP again after `rise` passing
// checks, so this cannot be satisfied by a stale result.
func (f *Fleet) waitHealthy(ctx context.Context, c *haproxy.Client, d Desired, deadline time.Time) error {
	tick := poll.NewTicker(f.clock, progressEvery, d.Grace.Progress)
	var row haproxy.ServerState
	err := poll.Until(ctx, f.clock, deadline, poll.Every(pollEvery), func() (bool, error) {
		snap, err := f.read(ctx, c, d.Backend, []string{d.Server}, f.clock.Now())
		if err != nil {
			return false, err
		}
		var ok bool
		if row, ok = snap.st.Find(d.Backend, d.Server); !ok {
			return false, fmt.Errorf("%s: %s/%s vanished while waiting for its health check", c.Name(), d.Backend, d.Server)
		}
		passed := row.CheckResult == haproxy.CheckPassed || row.CheckResult == haproxy.CheckCondPassed
		if row.OpState == haproxy.OpRunning && passed {
			return true, nil
		}
		tick.Maybe(func() string {
			return fmt.Sprintf("%s/%s on %s: op state %s, last check %s; %s left", d.Backend, d.Server, c.Name(), row.OpState, checkResult(row.CheckResult), deadline.Sub(f.clock.Now()).Round(time.Second))
		})
		return false, nil
	})
	if errors.Is(err, poll.ErrDeadline) {
		return fmt.Errorf("%s: %s/%s did not pass a health check within %s (op state %s, last check result %s); it holds %s port %d now, %s",
			c.Name(), d.Backend, d.Server, d.Grace.WaitHealthy, row.OpState, checkResult(row.CheckResult), row.Addr, row.Port, heldInDrain)
	}
	return err
}

// heldInDrain says what a server gated on its health check is left as.
const heldInDrain = "held in drain with its health forced down, so it takes no new traffic there"

func checkResult(r int) string {
	switch r {
	case 0:
		return "unknown (no check has completed)"
	case 1:
		return "neutral"
	case 2:
		return "failed"
	case haproxy.CheckPassed:
		return "passed"
	case haproxy.CheckCondPassed:
		return "passed conditionally"
	}
	return fmt.Sprint(r)
}
