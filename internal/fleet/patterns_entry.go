package fleet

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// One key of a map that other tools write too. The key belongs to whoever
// wrote the value it holds: a write or delete goes ahead on an instance only
// where the key is absent or holds a value of the caller's (the one it
// recorded, or the one it is about to write), and is refused everywhere
// before anything is written when any instance holds someone else's.

// EntryView is one socket's view of one key.
type EntryView struct {
	Name    string   // the socket as messages call it
	Values  []string // every entry with that key, in HAProxy's order; none: absent
	Missing bool     // HAProxy there knows no such map
}

// EntryOf picks key out of a reading.
func EntryOf(r PatternReading, key string) []EntryView {
	out := make([]EntryView, len(r.PerSocket))
	for i, s := range r.PerSocket {
		out[i] = EntryView{Name: s.Name, Missing: s.Missing}
		for _, e := range s.Entries {
			if e.Key == key {
				out[i].Values = append(out[i].Values, e.Value)
			}
		}
	}
	return out
}

// entryPlan is what one instance needs for key to hold value.
func entryPlan(v EntryView, value string, owned []string) (verb string, refusal error) {
	switch {
	case len(v.Values) == 0:
		return "add", nil
	case len(v.Values) == 1 && v.Values[0] == value:
		return "", nil
	case len(v.Values) > 1:
		return "", fmt.Errorf("%s: the key is listed %d times (%s); a hand `add map` of an existing key adds another entry: remove the extras there first",
			v.Name, len(v.Values), strings.Join(v.Values, ", "))
	case slices.Contains(owned, v.Values[0]):
		return "set", nil
	}
	return "", fmt.Errorf("%s: the key holds %q, which this resource did not write (another tool, or a hand edit): it is left alone; import it to take it over",
		v.Name, v.Values[0])
}

// PutEntry makes key hold value on every socket. owned are the values this
// caller wrote before (its recorded value); a key holding anything else is
// refused on every instance before any is written.
func (f *Fleet) PutEntry(ctx context.Context, p haproxy.PatternRef, key, value string, owned []string) ([]string, error) {
	add, err := haproxy.AddEntry(p, haproxy.Entry{Key: key, Value: value})
	if err != nil {
		return nil, err
	}
	set, err := haproxy.SetEntry(p, haproxy.Entry{Key: key, Value: value})
	if err != nil {
		return nil, err
	}
	targets, views, warnings, err := f.entryViews(ctx, p, key)
	if err != nil {
		return nil, err
	}
	verbs := make([]string, len(views))
	var refused Errors
	for i, v := range views {
		if targets[i].skipped != nil {
			continue
		}
		if verbs[i], err = entryPlan(v, value, owned); err != nil {
			refused = append(refused, SocketError{v.Name, err})
		}
	}
	if len(refused) > 0 {
		return warnings, fmt.Errorf("nothing was written on any instance:\n%w", refused)
	}
	_, err = onTargets(ctx, f, targets, func(ctx context.Context, c *haproxy.Client) (struct{}, error) {
		cmd := map[string]haproxy.Command{"add": add, "set": set}
		verb := verbs[f.index(c)]
		if verb == "" {
			return struct{}{}, nil
		}
		ctx, cancel := f.op(ctx)
		defer cancel()
		_, err := c.Run(ctx, cmd[verb])
		return struct{}{}, err
	})
	return warnings, err
}

// DeleteEntry removes key from every socket where it holds one of owned.
// Where it holds another value it is left alone, with a warning: someone
// else wrote it since. An instance where the key or the map is already gone
// needs nothing.
func (f *Fleet) DeleteEntry(ctx context.Context, p haproxy.PatternRef, key string, owned []string) ([]string, error) {
	del, err := haproxy.DelEntry(p, key)
	if err != nil {
		return nil, err
	}
	targets, views, warnings, err := f.entryViews(ctx, p, key)
	if err != nil {
		return nil, err
	}
	doomed := make([]bool, len(views))
	for i, v := range views {
		switch {
		case targets[i].skipped != nil || len(v.Values) == 0:
		case !slices.ContainsFunc(v.Values, func(s string) bool { return !slices.Contains(owned, s) }):
			doomed[i] = true
		default:
			warnings = append(warnings, fmt.Sprintf("%s: the key holds %s, which this resource did not write: it was left there", v.Name, strings.Join(v.Values, ", ")))
		}
	}
	_, err = onTargets(ctx, f, targets, func(ctx context.Context, c *haproxy.Client) (struct{}, error) {
		if !doomed[f.index(c)] {
			return struct{}{}, nil
		}
		ctx, cancel := f.op(ctx)
		defer cancel()
		_, err := c.Run(ctx, del)
		return struct{}{}, err
	})
	return warnings, err
}

// entryViews pre-flights every socket and reads key there, in socket order.
// A map missing on a socket is an error: the configurations differ.
func (f *Fleet) entryViews(ctx context.Context, p haproxy.PatternRef, key string) ([]patternTarget, []EntryView, []string, error) {
	if err := haproxy.ValidatePatternKey(key); err != nil {
		return nil, nil, nil, err
	}
	targets, warnings, err := f.preflightPatterns(ctx, p)
	if err != nil {
		return nil, nil, nil, err
	}
	entries, err := onTargets(ctx, f, targets, func(ctx context.Context, c *haproxy.Client) ([]haproxy.Entry, error) {
		ctx, cancel := f.op(ctx)
		defer cancel()
		return c.Patterns(ctx, p)
	})
	if err != nil {
		return nil, nil, nil, err
	}
	var r PatternReading
	for i, t := range targets {
		r.PerSocket = append(r.PerSocket, SocketPatterns{Socket: t.c.Target(), Name: t.c.Name(), Entries: entries[i]})
	}
	return targets, EntryOf(r, key), warnings, nil
}
