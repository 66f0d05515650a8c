package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Maps and ACLs on every socket: read them, check every socket before
// writing, and replace a whole list with a prepared version per instance,
// committed only once every instance holds the complete new version.

// SocketPatterns is one socket's view of a map or ACL.
type SocketPatterns struct {
	Socket  string // as configured
	Name    string // as messages call it
	Entries []haproxy.Entry
	Missing bool // HAProxy there knows no map or ACL by that name
}

// PatternReading is a map or ACL as every answering socket holds it.
type PatternReading struct {
	PerSocket []SocketPatterns // in configuration order, skipped sockets left out
	Skipped   Errors
}

// Missing lists the instances that do not know the reference.
func (r PatternReading) Missing() []string {
	var out []string
	for _, s := range r.PerSocket {
		if s.Missing {
			out = append(out, s.Name)
		}
	}
	return out
}

// ReadPatterns reads p's current entries on every socket (one `show map`
// each). A socket where HAProxy knows no such map is Missing, not an error.
func (f *Fleet) ReadPatterns(ctx context.Context, p haproxy.PatternRef) (PatternReading, error) {
	answers, err := gather(ctx, f, true, func(ctx context.Context, c *haproxy.Client) (SocketPatterns, error) {
		ctx, cancel := f.op(ctx)
		defer cancel()
		entries, err := c.Patterns(ctx, p)
		if errors.Is(err, haproxy.ErrNoSuchMap) {
			return SocketPatterns{Socket: c.Target(), Name: c.Name(), Missing: true}, nil
		}
		return SocketPatterns{Socket: c.Target(), Name: c.Name(), Entries: entries}, err
	})
	if err != nil {
		return PatternReading{}, err
	}
	var r PatternReading
	for _, a := range answers {
		if a.skipped == nil {
			r.PerSocket = append(r.PerSocket, a.v)
		}
	}
	r.Skipped = skippedOf(answers)
	return r, nil
}

// patternTarget is one socket a pattern write goes to.
type patternTarget struct {
	c       *haproxy.Client
	skipped error
}

// preflightPatterns checks every socket before anything is written: it
// answers, its level is admin, and HAProxy there knows p. One connection
// per socket. The error names every socket that failed.
func (f *Fleet) preflightPatterns(ctx context.Context, p haproxy.PatternRef) ([]patternTarget, []string, error) {
	list, err := haproxy.ShowPatternRefs(p.Kind)
	if err != nil {
		return nil, nil, err
	}
	answers, err := gather(ctx, f, true, func(ctx context.Context, c *haproxy.Client) (struct{}, error) {
		ctx, cancel := f.op(ctx)
		defer cancel()
		// The level is asked on its own first: from 3.x `show map` itself is
		// refused below level operator, with a bare "Permission denied".
		bodies, err := c.Run(ctx, haproxy.ShowCLILevel())
		if err != nil {
			return struct{}{}, err
		}
		if level := strings.TrimSpace(bodies[0]); level != "admin" {
			return struct{}{}, fmt.Errorf("%s: the socket's level is %s; changing a %s needs level admin", c.Name(), level, p.Kind)
		}
		if bodies, err = c.Run(ctx, list); err != nil {
			return struct{}{}, err
		}
		refs, err := haproxy.ParsePatternRefs(bodies[0])
		if err != nil {
			return struct{}{}, fmt.Errorf("%s: %q: %w", c.Name(), list, err)
		}
		if _, ok := haproxy.FindPatternRef(refs, p.Ref); !ok {
			return struct{}{}, fmt.Errorf("%s: HAProxy has no %s %s (`show %s` lists %s): the configuration there does not load it",
				c.Name(), p.Kind, p.Ref, p.Kind, listedFiles(refs))
		}
		return struct{}{}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	targets := make([]patternTarget, len(answers))
	for i, a := range answers {
		targets[i] = patternTarget{c: a.c, skipped: a.skipped}
	}
	return targets, skipWarnings(skippedOf(answers), " (nothing was changed there; the next plan shows the difference once it answers)"), nil
}

func listedFiles(refs []haproxy.PatternRefInfo) string {
	var files []string
	for _, r := range refs {
		if r.File != "" {
			files = append(files, r.File)
		}
	}
	if len(files) == 0 {
		return "none loaded from a file"
	}
	return strings.Join(files, ", ")
}

// onTargets runs fn on every target that was not skipped, concurrently,
// and names each socket that failed.
func onTargets[T any](ctx context.Context, f *Fleet, targets []patternTarget, fn func(ctx context.Context, c *haproxy.Client) (T, error)) ([]T, error) {
	type result struct {
		v   T
		err error
	}
	results := each(ctx, f, func(ctx context.Context, c *haproxy.Client) result {
		for _, t := range targets {
			if t.c == c && t.skipped != nil {
				return result{}
			}
		}
		v, err := fn(ctx, c)
		return result{v, err}
	})
	out := make([]T, len(results))
	var failed Errors
	for i, r := range results {
		out[i] = r.v
		if r.err != nil {
			failed = append(failed, SocketError{f.clients[i].Name(), r.err})
		}
	}
	if len(failed) > 0 {
		return out, failed
	}
	return out, nil
}
