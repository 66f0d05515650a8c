package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// The glue haproxy_map, haproxy_acl and the haproxy_map data source share:
// a whole list as a Go map (an ACL pattern maps to ""), read on every
// instance, with one warning per resource that shows, key by key, where the
// instances differ from each other or from the state.

// entriesOf turns a list into what ReplacePatterns sends, in key order
// (HAProxy matches exact keys through a tree, where order does not matter).
func entriesOf(list map[string]string) []haproxy.Entry {
	out := make([]haproxy.Entry, 0, len(list))
	for _, k := range slices.Sorted(maps.Keys(list)) {
		out = append(out, haproxy.Entry{Key: k, Value: list[k]})
	}
	return out
}

// patternRead is the outcome of reading a list for a resource's state.
type patternRead struct {
	entries map[string]string // what the state should hold; nil with gone
	gone    bool              // no instance loads the list (and every one answered): it left the configuration
}

// readPatternList reads p on every socket and words what fleet.ReconcileList
// settled: one warning says which keys differ where. A list loaded on some
// instances only is an error.
func readPatternList(ctx context.Context, f *fleet.Fleet, p haproxy.PatternRef, what string, prior map[string]string, diags *diag.Diagnostics) patternRead {
	r, err := f.ReadPatterns(ctx, p)
	if err != nil {
		diags.AddError(fmt.Sprintf("Cannot read %s", what), err.Error()+unreachableHint(err))
		return patternRead{}
	}
	warnReadSkipped(what, r.Skipped, diags)
	l, err := fleet.ReconcileList(r, p, prior)
	if err != nil {
		notLoaded(what, err, diags)
		return patternRead{}
	}
	if l.Gone {
		return patternRead{gone: true}
	}
	if w := patternDrift(p.Kind, l); w != "" {
		diags.AddWarning(driftSummary(what, l), w)
	}
	tflog.Debug(ctx, "read map or ACL", map[string]any{"ref": p.String(), "entries": len(l.Entries)})
	return patternRead{entries: l.Entries}
}

// notLoaded words a map or ACL that some instances do not load.
func notLoaded(what string, err error, diags *diag.Diagnostics) {
	diags.AddError(fmt.Sprintf("%s is not loaded on every HAProxy instance", what),
		err.Error()+". Load the same file on every instance, or point this provider at the instances that have it.")
}

// driftSummary names the resource and where it changed.
func driftSummary(what string, l fleet.ListReading) string {
	changed := l.Changed()
	switch {
	case l.Prior != nil && len(changed) == len(l.PerSocket) && len(l.PerSocket) > 1:
		return what + " changed outside Terraform on every HAProxy instance"
	case len(changed) > 0:
		return what + " changed outside Terraform on " + strings.Join(changed, ", ")
	}
	return what + " differs between HAProxy instances"
}

// maxDriftRows bounds the table: a reload of a 10 000-entry map would
// otherwise print every key.
const maxDriftRows = 20

// patternDrift words the keys that differ, as a table of (recorded) and
// each instance's value, or "" when nothing differs. An ACL pattern shows
// as present or absent.
func patternDrift(kind haproxy.PatternKind, l fleet.ListReading) string {
	prior, sorted := l.Prior, l.DifferingKeys()
	var dups []string
	for _, s := range l.PerSocket {
		for _, k := range slices.Sorted(maps.Keys(s.Dups)) {
			dups = append(dups, fmt.Sprintf("%s lists %q %d more time(s); HAProxy uses the first.", s.Name, k, s.Dups[k]))
		}
	}
	if len(sorted) == 0 && len(dups) == 0 {
		return ""
	}
	show := func(m map[string]string, k string) string {
		v, ok := m[k]
		switch {
		case !ok:
			return "(absent)"
		case kind == haproxy.KindACL:
			return "present"
		}
		return v
	}
	header := []string{"key"}
	if prior != nil {
		header = append(header, "(recorded)")
	}
	for _, s := range l.PerSocket {
		header = append(header, s.Name)
	}
	rows := [][]string{header}
	for _, k := range sorted[:min(len(sorted), maxDriftRows)] {
		row := []string{k}
		if prior != nil {
			row = append(row, show(prior, k))
		}
		for _, s := range l.PerSocket {
			row = append(row, show(s.Entries, k))
		}
		rows = append(rows, row)
	}
	var b strings.Builder
	if len(sorted) > 0 {
		b.WriteString(table(rows))
		if len(sorted) > maxDriftRows {
			fmt.Fprintf(&b, "  … and %d more keys\n", len(sorted)-maxDriftRows)
		}
		b.WriteString("\n")
	}
	for _, d := range dups {
		b.WriteString(d + "\n")
	}
	b.WriteString("Apply replaces the whole content on every instance with the configured entries, atomically on each.")
	if len(sorted) > 0 {
		b.WriteString("\nAn instance that lost every runtime change was reloaded or restarted: HAProxy loaded the file again there.")
	}
	return b.String()
}

// replacePatternList writes list as p's whole content on every instance.
func replacePatternList(ctx context.Context, f *fleet.Fleet, p haproxy.PatternRef, what string, list map[string]string, diags *diag.Diagnostics) bool {
	res, err := f.ReplacePatterns(ctx, p, entriesOf(list))
	for _, w := range res.Warnings {
		diags.AddWarning("HAProxy socket skipped", w)
	}
	if err != nil {
		diags.AddError(fmt.Sprintf("Cannot replace %s", what), err.Error())
		return false
	}
	tflog.Debug(ctx, "replaced map or ACL", map[string]any{"ref": p.String(), "entries": len(list), "commands": res.Commands, "bytes": res.Bytes})
	return true
}

// patternWhat is how messages name a list.
func patternWhat(p haproxy.PatternRef) string {
	if p.Kind == haproxy.KindACL {
		return "ACL " + strconv.Quote(p.Ref)
	}
	return "Map " + strconv.Quote(p.Ref)
}
