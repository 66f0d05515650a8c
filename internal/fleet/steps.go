package fleet

import (
	"context"
	"errors"
	"net/netip"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// How one server's writes go out: groups of commands in interactive
// sessions, each group only once every command of the one before
// succeeded, and an address change followed by reads until it shows
// (confirm.go) before the groups after it. order.go says what the groups
// are; this file sends them.

// commands collects commands built from validated values, keeping the first
// construction error.
type commands struct {
	cmds []haproxy.Command
	err  error
}

func (b *commands) add(cmd haproxy.Command, err error) {
	switch {
	case b.err != nil:
	case err != nil:
		b.err = err
	default:
		b.cmds = append(b.cmds, cmd)
	}
}

// step is a group of commands sent together; with until, polling reads
// must show it before anything after the step is sent.
type step struct {
	cmds  []haproxy.Command
	until *expectation
}

// runSteps sends the steps' commands to one server in order. Consecutive
// groups share one interactive session, each group sent only once every
// command of the one before succeeded; a step with until ends the session
// after one read of the server's row there (writeAndProbe), because the
// reads that confirm it must not hold a connection while waiting. read is
// the server's row from the last whole-backend confirmation (nil when none
// was needed).
func (f *Fleet) runSteps(ctx context.Context, c *haproxy.Client, backend, server string, steps []step) (read *haproxy.ServerState, err error) {
	var groups [][]haproxy.Command
	for i, s := range steps {
		if len(s.cmds) == 0 {
			continue
		}
		groups = append(groups, s.cmds)
		if s.until == nil {
			continue
		}
		e := *s.until
		// When nothing after waits for a read, the rest goes out in the
		// session whose read showed the address.
		then, last := thenGroups(steps[i+1:])
		if !last {
			then = nil
		}
		// With a probe, the row read in the writing session, then polled
		// rows, confirm the address (and then goes out with the one that
		// showed it); without one, or where no row can tell, reads of the
		// whole backend do.
		var done bool
		var err error
		if e.probe != nil {
			done, err = f.writeAndProbe(ctx, c, backend, server, groups, e, then)
			if err == nil && !done {
				done, err = f.settleStat(ctx, c, backend, e, s.cmds, then)
			}
		} else {
			err = f.runGroups(ctx, c, backend, server, groups)
		}
		groups = nil
		switch {
		case err != nil:
			return read, err
		case done && last:
			return read, nil
		case done:
			continue
		}
		row, err := f.settleOne(ctx, c, backend, e, s.cmds)
		if err != nil {
			return read, err
		}
		read = &row
	}
	return read, f.runGroups(ctx, c, backend, server, groups)
}

// writeAndProbe sends the groups (the last of them changes an address) in
// one session and reads the server's `show stat` row in that same session.
// Where the row shows the new address (always before HAProxy 2.9, which
// applies it before replying; often on 2.9+, which applies it a moment
// after), then goes out in the same session too: one connection instead of
// two. Where it does not, done is false and the caller polls on new
// connections.
func (f *Fleet) writeAndProbe(ctx context.Context, c *haproxy.Client, backend, server string, groups [][]haproxy.Command, e expectation, then [][]haproxy.Command) (done bool, err error) {
	opCtx, cancel := f.op(ctx)
	defer cancel()
	defer f.reads.wrote(readKey{c.Target(), backend}, scope(server)) // even a failed group may have changed something
	last := len(groups) - 1
	err = c.Session(opCtx, func(s *haproxy.Session) error {
		if err := sendGroups(s, groups[:last]); err != nil {
			return err
		}
		// The read goes with the address change: one exchange.
		each, row, found, err := s.RunThenStat(groups[last], e.probe.backendID, e.probe.serverID, e.server)
		if refused := errors.Join(each...); refused != nil {
			return refused
		}
		if err != nil || !found || row.Addr != e.probe.want {
			return err
		}
		done = true
		return sendGroups(s, then)
	})
	return done, err
}

// thenGroups returns the commands of steps, one group per step, and whether
// none of them waits for a read (so all can follow a confirmation at once).
func thenGroups(steps []step) (groups [][]haproxy.Command, last bool) {
	for _, s := range steps {
		if s.until != nil {
			return nil, false
		}
		if len(s.cmds) > 0 {
			groups = append(groups, s.cmds)
		}
	}
	return groups, true
}

// runGroups sends the groups over one interactive session, reading each
// group's replies before sending the next, and records the write. A refused
// command stops the rest.
func (f *Fleet) runGroups(ctx context.Context, c *haproxy.Client, backend, server string, groups [][]haproxy.Command) error {
	if len(groups) == 0 {
		return nil
	}
	opCtx, cancel := f.op(ctx)
	defer cancel()
	defer f.reads.wrote(readKey{c.Target(), backend}, scope(server)) // even a failed group may have changed something
	return c.Session(opCtx, func(s *haproxy.Session) error { return sendGroups(s, groups) })
}

// sendGroups sends each group once every command of the one before
// succeeded: a refused command stops the rest.
func sendGroups(s *haproxy.Session, groups [][]haproxy.Command) error {
	for _, g := range groups {
		each, err := s.Run(g...)
		if err != nil {
			return err
		}
		if err := errors.Join(each...); err != nil {
			return err
		}
	}
	return nil
}

// runWrite sends one batch on one connection and records the write.
func (f *Fleet) runWrite(ctx context.Context, c *haproxy.Client, backend, server string, b commands) error {
	if b.err != nil {
		return b.err
	}
	opCtx, cancel := f.op(ctx)
	defer cancel()
	_, err := c.Run(opCtx, b.cmds...)
	f.reads.wrote(readKey{c.Target(), backend}, scope(server)) // even a failed batch may have changed something
	return err
}

// scope is the servers a write touched, for the read cache: one, or ("")
// possibly any of the backend's.
func scope(server string) []string {
	if server == "" {
		return nil
	}
	return []string{server}
}

// runAndConfirm runs the steps and returns the server as it now is: the
// row last read (the confirmation of an address change, which HAProxy 2.9+
// applies after replying, so only a read proves it; else before, the row
// pre-flight read) with what the other commands set. Those need no read
// back: `set server … state|weight` and `enable|disable health` are
// applied before HAProxy replies, on every supported version (a read in the
// same session shows them), and only the empty reply counts as success.
func (f *Fleet) runAndConfirm(ctx context.Context, c *haproxy.Client, backend, server string, steps []step, before haproxy.ServerState, want Values) (haproxy.ServerState, error) {
	read, err := f.runSteps(ctx, c, backend, server, steps)
	if err != nil {
		return haproxy.ServerState{}, err
	}
	now := before
	if read != nil {
		now = *read
	}
	return withValues(now, want), nil
}

// withValues is row with the values a confirmed write set.
func withValues(row haproxy.ServerState, v Values) haproxy.ServerState {
	if addr, err := netip.ParseAddr(v.Addr); err == nil {
		row.Addr = addr
	}
	row.Port = v.Port
	row.UserWeight = v.Weight
	row.Admin = row.Admin.WithUserState(v.State)
	if v.Health {
		row.CheckState |= haproxy.CheckEnabled
	} else {
		row.CheckState &^= haproxy.CheckEnabled
	}
	return row
}
