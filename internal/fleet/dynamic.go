package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
)

// Dynamic is a server added at run time with `add server` instead of a
// pre-declared slot. Desired says what it serves (its Port must be set);
// Options are fixed when it is added.
type Dynamic struct {
	Desired
	Options haproxy.ServerOptions
}

// The ways a name cannot be added.
var (
	// ErrNameTaken: the backend already has a server of that name: another
	// workspace added it, a pool claimed it, or the configuration declares it.
	ErrNameTaken = errors.New("the backend already has a server of this name")
	// ErrNotDynamic: the backend's balance algorithm refuses dynamic servers.
	ErrNotDynamic = errors.New("the backend does not accept dynamic servers")
)

// AddServer pre-flights every socket (reachable, level admin, the backend
// exists and accepts dynamic servers, the name is free), then adds the
// server in maint: on the first socket alone, then on the others at once.
// The first socket is the claim: of two writers adding the same name, the
// one that loses there stops having added nothing anywhere, so the fleet
// is never split between them. The server then goes the way
// haproxy_backend_server's do (ApplyServer): health checks, weight, drain
// and a passing check when asked, then its state.
//
// A server of that name that already holds exactly the address and port
// asked for is what an earlier run of the same resource added before it was
// killed (Terraform saved nothing): it is adopted where it is (out.Adopted),
// added where it is missing, and goes on from there. One holding anything
// else is someone else's (ErrNameTaken).
//
// err is non-nil only when nothing was added anywhere. out.Added lists the
// sockets (as configured) that have the server, even when later steps
// failed (out.Failed): those servers are the caller's to delete.
func (f *Fleet) AddServer(ctx context.Context, dyn Dynamic) (out ServerOutcome, err error) {
	d := dyn.Desired
	if d.Port == nil {
		return out, fmt.Errorf("%s/%s: a dynamic server needs a port", d.Backend, d.Server)
	}
	cmd, err := haproxy.AddServerWith(d.Backend, d.Server, d.Addr, *d.Port, dyn.Options)
	if err != nil {
		return out, err
	}
	if err := f.PlaceholderCheck(d); err != nil {
		return out, fmt.Errorf("%s/%s: %w; nothing was added", d.Backend, d.Server, err)
	}
	adopted, err := f.preflightAdd(ctx, d)
	if err != nil {
		return out, err
	}
	add := func(ctx context.Context, c *haproxy.Client) error {
		opCtx, cancel := f.op(ctx)
		defer cancel()
		_, err := c.Run(opCtx, cmd)
		f.reads.wrote(readKey{c.Target(), d.Backend}, []string{d.Server})
		return err
	}
	first := f.clients[0]
	if !adopted[first.Target()] {
		if err := add(ctx, first); err != nil {
			if errors.Is(err, haproxy.ErrAlreadyExists) {
				return out, fmt.Errorf("%s: %s/%s was added by another writer between pre-flight and now; nothing was added anywhere: %w", first.Name(), d.Backend, d.Server, ErrNameTaken)
			}
			return out, fmt.Errorf("nothing was added anywhere: %w", err)
		}
	}
	out.Added = []string{first.Target()}
	others := make([]SocketView, len(f.clients)) // every socket but the first, and those that have it
	others[0].Skipped = errors.New("added first")
	for i, c := range f.clients {
		if adopted[c.Target()] {
			others[i].Skipped = errors.New("adopted")
			out.Adopted = append(out.Adopted, c.Name())
		}
	}
	errs := make([]error, len(f.clients))
	f.parallel(others, func(i int, c *haproxy.Client) { errs[i] = add(ctx, c) })
	for i := 1; i < len(f.clients); i++ {
		if c := f.clients[i]; errs[i] != nil {
			out.Failed = append(out.Failed, SocketError{c.Name(), errs[i]})
		} else {
			out.Added = append(out.Added, c.Target())
		}
	}
	if len(out.Failed) > 0 {
		for _, s := range out.Added {
			out.Applied = append(out.Applied, f.Name(s))
		}
		return out, nil
	}

	d.Owner.Recorded = append(d.Owner.Recorded, netip.AddrPortFrom(d.Addr, uint16(*d.Port)))
	applied, err := f.ApplyServer(ctx, d)
	if err != nil { // the servers were added: their failure is the outcome's
		applied.Failed = Errors{{"every socket", err}}
	}
	applied.Added, applied.Adopted = out.Added, out.Adopted
	if dyn.Options.AgentPort > 0 && len(applied.Failed) == 0 {
		applied.Failed = f.enableAgent(ctx, d.Backend, d.Server)
	}
	return applied, nil
}

// preflightAdd checks every socket before anything is added anywhere; no
// socket is skipped, because a dynamic server missing from one instance
// would be a fleet that disagrees from the start. adopted lists the sockets
// (as configured) that already have the server on d's address and port.
func (f *Fleet) preflightAdd(ctx context.Context, d Desired) (adopted map[string]bool, err error) {
	backend, server := d.Backend, d.Server
	probe, err := haproxy.ProbeAddServer(backend, server)
	if err != nil {
		return nil, err
	}
	answers, err := gather(ctx, f, false, func(ctx context.Context, c *haproxy.Client) (bool, error) {
		snap, err := f.read(ctx, c, backend, []string{server}, f.clock.Now())
		switch {
		case snap.level != "" && snap.level != "admin":
			return false, fmt.Errorf("%s: the socket's level is %q; adding servers needs `level admin` on the stats socket", c.Name(), snap.level)
		case errors.Is(err, haproxy.ErrNoSuchBackend):
			return false, fmt.Errorf("%s: backend %q does not exist", c.Name(), backend)
		case err != nil:
			return false, err
		}
		if cur, ok := snap.st.Find(backend, server); ok {
			if d.claim().Mine(ActAdopt, netip.AddrPortFrom(cur.Addr, uint16(cur.Port)), f.placeholder).Ok() {
				return true, nil
			}
			return false, fmt.Errorf("%s: %s/%s already exists (it holds %s port %d): %w; nothing was added", c.Name(), backend, server, cur.Addr, cur.Port, ErrNameTaken)
		}
		opCtx, cancel := f.op(ctx)
		defer cancel()
		_, err = c.Run(opCtx, probe)
		switch {
		case errors.Is(err, haproxy.ErrNoDynamicServers):
			return false, fmt.Errorf("%w: %w", ErrNotDynamic, err)
		case errors.Is(err, haproxy.ErrAlreadyExists): // added since the read (3.4's probe tells)
			return false, fmt.Errorf("%s: %s/%s was added by another writer a moment ago: %w; nothing was added", c.Name(), backend, server, ErrNameTaken)
		}
		return false, err
	})
	if err != nil {
		return nil, err
	}
	adopted = map[string]bool{}
	for i, a := range answers {
		if a.v {
			adopted[f.clients[i].Target()] = true
		}
	}
	return adopted, nil
}

// enableAgent starts the agent checks of a server just added (HAProxy adds
// them stopped), on every socket.
func (f *Fleet) enableAgent(ctx context.Context, backend, server string) Errors {
	_, err := gather(ctx, f, false, func(ctx context.Context, c *haproxy.Client) (struct{}, error) {
		var b commands
		b.add(haproxy.EnableAgent(backend, server))
		return struct{}{}, f.runWrite(ctx, c, backend, server, b)
	})
	var failed Errors
	errors.As(err, &failed)
	return failed
}

// RemoveServer deletes a dynamic server from the given sockets (as
// configured; nil: all). On each, the server must be owner's (owner.go);
// one that holds anything else is someone else's and is left alone, with
// a warning. Its agent is stopped first (it could bring the server back),
// then it is taken out of service as Park does (drain with g.DrainTimeout,
// maint, shutdown sessions), and deleted once HAProxy says it is removable:
// `wait srv-removable` on 3.0+, repeated `del server` on 2.6, for up to
// g.DrainTimeout or the socket timeout, whichever is longer. A server still
// in use then is an error naming the socket: it stays, in maint.
func (f *Fleet) RemoveServer(ctx context.Context, backend, server string, sockets []string, owner Owner, g Grace) (warnings []string, err error) {
	unlock, why := f.guard(backend, server, owner)
	defer unlock()
	if why != "" {
		return []string{why}, nil
	}
	return f.takeOutEverywhere(ctx, sockets, "a restart drops dynamic servers, so there is nothing to delete", func(ctx context.Context, c *haproxy.Client) ([]string, error) {
		return f.removeOne(ctx, c, backend, server, owner, g)
	})
}

func (f *Fleet) removeOne(ctx context.Context, c *haproxy.Client, backend, server string, owner Owner, g Grace) (warnings []string, err error) {
	gone := []string{fmt.Sprintf("%s: %s/%s no longer exists there; nothing to delete", c.Name(), backend, server)}
	cur, ok, err := f.current(ctx, c, backend, server)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return gone, nil
	}
	if held := netip.AddrPortFrom(cur.Addr, uint16(cur.Port)); !owner.Mine(ActRemove, held, f.placeholder).Ok() {
		return []string{fmt.Sprintf("%s: %s", c.Name(), owner.Foreign(backend+"/"+server, ActRemove, held, f.placeholder))}, nil
	}
	if cur.AgentPort > 0 {
		var b commands
		b.add(haproxy.DisableAgent(backend, server))
		if err := f.runWrite(ctx, c, backend, server, b); err != nil {
			return nil, err
		}
	}
	warnings, err = f.takeOut(ctx, c, cur, g)
	if err != nil {
		if haproxy.IsGone(err) {
			return gone, nil
		}
		return warnings, err
	}
	err = f.deleteWhenRemovable(ctx, c, backend, server, max(g.DrainTimeout, f.timeout))
	if haproxy.IsGone(err) {
		return append(warnings, gone...), nil
	}
	return warnings, err
}

// ErrStillInUse: a server in maint kept connections past the time allowed
// for its removal.
var ErrStillInUse = errors.New("the server still has connections")

// deleteWhenRemovable deletes a server in maint once its connections are
// gone, waiting up to within: `wait srv-removable` (at most an hour per
// command) followed by `del server` on 3.0+, `del server` every 100 ms on
// 2.6, which has no `wait`.
func (f *Fleet) deleteWhenRemovable(ctx context.Context, c *haproxy.Client, backend, server string, within time.Duration) error {
	del, err := haproxy.DelServer(backend, server)
	if err != nil {
		return err
	}
	deadline := f.clock.Now().Add(within)
	canWait := true
	var delErr error
	// On 3.0+ each try itself waits (`wait srv-removable`), so the pause
	// only paces 2.6, and a connection opened again between wait and del.
	err = poll.Until(ctx, f.clock, deadline, poll.Every(100*time.Millisecond), func() (bool, error) {
		cmds, limit := []haproxy.Command{del}, f.timeout
		if canWait {
			d := min(max(deadline.Sub(f.clock.Now()), time.Millisecond), time.Hour)
			wait, err := haproxy.WaitRemovable(backend, server, d)
			if err != nil {
				return false, err
			}
			// `del server` runs even when the wait failed; it then says why.
			cmds, limit = []haproxy.Command{wait, del}, d+f.timeout
		}
		opCtx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		each, err := c.RunEach(opCtx, cmds...)
		f.reads.wrote(readKey{c.Target(), backend}, []string{server})
		if err != nil {
			return false, err
		}
		canWait = canWait && !errors.Is(each[0], haproxy.ErrUnknownCommand)
		delErr = each[len(each)-1]
		return !errors.Is(delErr, haproxy.ErrServerInUse), nil
	})
	if err != nil && !errors.Is(err, poll.ErrDeadline) {
		return err
	}
	return removalError(c, backend, server, within, delErr)
}

func removalError(c *haproxy.Client, backend, server string, within time.Duration, err error) error {
	if errors.Is(err, haproxy.ErrServerInUse) {
		return fmt.Errorf("%s: %s/%s still had connections %s after it was put in maint, so it was not deleted (it stays in maint): %w: %w",
			c.Name(), backend, server, within, ErrStillInUse, err)
	}
	return err
}
