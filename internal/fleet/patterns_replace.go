package fleet

import (
	"context"
	"errors"
	"fmt"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Replaced says what a whole replacement did.
type Replaced struct {
	Warnings []string
	Commands int // lines sent per instance, the prepare and commit included
	Bytes    int // bytes of those lines per instance
}

// ReplacePatterns makes entries the whole content of p on every socket,
// so that no instance ever serves a half-written list:
//
//  1. pre-flight every socket (level admin, p loaded) before writing any;
//  2. `prepare` a new version on each: invisible to traffic;
//  3. add every entry to that version (one command per entry, in
//     connections of at most haproxy.MaxLineLength bytes);
//  4. only when every instance holds its complete version, `commit` it on
//     each: HAProxy swaps the list in one step.
//
// If any socket fails before step 4, nothing changed anywhere, and the
// versions already prepared are cleared (see abandon). A failure in step 4 names the
// instances that did and did not commit; the next read shows the split.
//
// The payload form of `add map` (one command, entries on the following
// lines) is not used: in prompt mode 2.6 echoes a `+ ` per line, and a
// payload of about 47 KB was dropped without an error there.
func (f *Fleet) ReplacePatterns(ctx context.Context, p haproxy.PatternRef, entries []haproxy.Entry) (Replaced, error) {
	for _, e := range entries { // validate everything before any socket is asked anything
		if _, err := haproxy.AddToVersion(p, 1, e); err != nil {
			return Replaced{}, err
		}
	}
	prepare, err := haproxy.PreparePatterns(p)
	if err != nil {
		return Replaced{}, err
	}
	targets, warnings, err := f.preflightPatterns(ctx, p)
	if err != nil {
		return Replaced{}, err
	}
	out := Replaced{Warnings: warnings, Commands: len(entries) + 2}

	versions, err := onTargets(ctx, f, targets, func(ctx context.Context, c *haproxy.Client) (uint64, error) {
		ctx, cancel := f.op(ctx)
		defer cancel()
		bodies, err := c.Run(ctx, prepare)
		if err != nil {
			return 0, err
		}
		return haproxy.ParseVersion(bodies[0])
	})
	if err != nil {
		return out, f.uncommitted(ctx, p, targets, versions, err)
	}

	bytes := make([]int, len(targets))
	_, err = onTargets(ctx, f, targets, func(ctx context.Context, c *haproxy.Client) (struct{}, error) {
		i := f.index(c)
		cmds := make([]haproxy.Command, len(entries))
		for j, e := range entries {
			cmds[j], _ = haproxy.AddToVersion(p, versions[i], e) // validated above
			bytes[i] += len(cmds[j].String()) + 1
		}
		// Each connection carries at most MaxLineLength bytes and has the
		// operation timeout of its own.
		_, err := c.Run(f.eachWithin(ctx), cmds...)
		return struct{}{}, err
	})
	if err != nil {
		return out, f.uncommitted(ctx, p, targets, versions, err)
	}
	for i, t := range targets {
		if t.skipped == nil {
			commit, _ := haproxy.CommitVersion(p, versions[i])
			out.Bytes = len(prepare.String()) + 1 + bytes[i] + len(commit.String()) + 1
			break
		}
	}

	committed := make([]bool, len(targets))
	_, err = onTargets(ctx, f, targets, func(ctx context.Context, c *haproxy.Client) (struct{}, error) {
		i := f.index(c)
		commit, _ := haproxy.CommitVersion(p, versions[i])
		ctx, cancel := f.op(ctx)
		defer cancel()
		_, err := c.Run(ctx, commit)
		committed[i] = err == nil
		return struct{}{}, err
	})
	if err != nil {
		var done, not []string
		for i, t := range targets {
			switch {
			case t.skipped != nil:
			case committed[i]:
				done = append(done, t.c.Name())
			default:
				not = append(not, t.c.Name())
			}
		}
		return out, fmt.Errorf("%w\n\nThe new %s content is live on %s and not on %s; the next plan shows the difference", err, p.Kind, orNone(done), orNone(not))
	}
	return out, nil
}

// uncommitted is the error of a replacement that stopped before any
// commit: it clears the versions prepared so far and says nothing changed.
func (f *Fleet) uncommitted(ctx context.Context, p haproxy.PatternRef, targets []patternTarget, versions []uint64, err error) error {
	return errors.Join(err,
		fmt.Errorf("nothing was committed: the %s is unchanged on every instance", p.Kind),
		f.abandon(ctx, p, targets, versions))
}

// abandon clears the versions prepared so far. It is best effort: an
// instance that cannot be reached keeps an invisible version, and HAProxy
// 3.4.7 answers `clear map @<version>` with success but keeps the entries
// (2.6 to 3.2 drop them). Either way traffic never sees them, and the next
// commit there purges every older version.
func (f *Fleet) abandon(ctx context.Context, p haproxy.PatternRef, targets []patternTarget, versions []uint64) error {
	_, err := onTargets(ctx, f, targets, func(ctx context.Context, c *haproxy.Client) (struct{}, error) {
		v := versions[f.index(c)]
		if v == 0 {
			return struct{}{}, nil
		}
		ctx, cancel := f.op(ctx)
		defer cancel()
		drop, _ := haproxy.ClearVersion(p, v)
		_, err := c.Run(ctx, drop)
		return struct{}{}, err
	})
	if err != nil {
		return fmt.Errorf("clearing the unfinished version failed too (it stays invisible to traffic):\n%w", err)
	}
	return nil
}

// index is c's position in configuration order.
func (f *Fleet) index(c *haproxy.Client) int {
	for i, x := range f.clients {
		if x == c {
			return i
		}
	}
	panic("fleet: client not in fleet")
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return fmt.Sprint(names)
}
