package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// waitDrained polls `show stat` until the server has no sessions or
// g.DrainTimeout passes. Sessions left at the timeout are a warning, or an
// error with FailOnDrainTimeout. Live session counts are not in
// `show servers state`, hence `show stat` (scur).
func (f *Fleet) waitDrained(ctx context.Context, c *haproxy.Client, srv haproxy.ServerState, g Grace) (warnings []string, err error) {
	if g.DrainTimeout <= 0 {
		return nil, nil
	}
	backend, server := srv.Backend, srv.Name
	deadline := time.Now().Add(g.DrainTimeout)
	last := time.Now()
	for {
		opCtx, cancel := f.op(ctx)
		// By ids: a frontend can share the backend's name; one row, however
		// large the backend.
		row, found, err := c.StatServer(opCtx, srv.BackendID, srv.ID, server)
		cancel()
		if err != nil {
			return nil, err
		}
		sessions := -1
		if found && row.ProxyID == srv.BackendID {
			sessions = row.Sessions
		}
		switch {
		case sessions < 0:
			return nil, fmt.Errorf("%s: %s/%s is missing from `show stat`", c.Name(), backend, server)
		case sessions == 0:
			return nil, nil
		case time.Now().After(deadline):
			msg := fmt.Sprintf("%s: %d session(s) still open on %s/%s after draining for %s", c.Name(), sessions, backend, server, g.DrainTimeout)
			if g.FailOnDrainTimeout {
				return nil, fmt.Errorf("%s; stopping here: the server stays in drain: %w", msg, ErrDrainUnfinished)
			}
			return []string{msg + "; continuing"}, nil
		}
		g.report(&last, func() string {
			return fmt.Sprintf("%s/%s: %d session(s) still open on %s, %s left", backend, server, sessions, c.Name(), time.Until(deadline).Round(time.Second))
		})
		if err := sleep(ctx, pollEvery); err != nil {
			return nil, err
		}
	}
}

// ErrDrainUnfinished marks a drain that still had sessions at its timeout,
// when the caller asked for that to stop the change.
var ErrDrainUnfinished = errors.New("sessions outlasted the drain timeout")

// waitHealthy polls until a health check made after applyOne forced the
// server's health down has brought it back up: op state running with a
// passing last check. HAProxy only marks it UP again after `rise` passing
// checks, so this cannot be satisfied by a stale result.
func (f *Fleet) waitHealthy(ctx context.Context, c *haproxy.Client, d Desired, deadline time.Time) error {
	last := time.Now()
	for {
		snap, err := f.read(ctx, c, d.Backend, []string{d.Server}, time.Now())
		if err != nil {
			return err
		}
		row, ok := snap.st.Find(d.Backend, d.Server)
		if !ok {
			return fmt.Errorf("%s: %s/%s vanished while waiting for its health check", c.Name(), d.Backend, d.Server)
		}
		passed := row.CheckResult == haproxy.CheckPassed || row.CheckResult == haproxy.CheckCondPassed
		if row.OpState == haproxy.OpRunning && passed {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s/%s did not pass a health check within %s (op state %s, last check result %s); it is held in drain",
				c.Name(), d.Backend, d.Server, d.Grace.WaitHealthy, row.OpState, checkResult(row.CheckResult))
		}
		d.Grace.report(&last, func() string {
			return fmt.Sprintf("%s/%s on %s: op state %s, last check %s; %s left", d.Backend, d.Server, c.Name(), row.OpState, checkResult(row.CheckResult), time.Until(deadline).Round(time.Second))
		})
		if err := sleep(ctx, pollEvery); err != nil {
			return err
		}
	}
}

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

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
