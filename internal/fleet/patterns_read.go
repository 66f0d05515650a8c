package fleet

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// What a refresh of a map or ACL records, decided here as Reconcile decides
// it for a server, so that the provider only words it: where the instances
// disagree, the state takes the first instance's content that differs from
// what was recorded (the plan then shows the difference, and apply, which
// writes every instance, converges them all); where none differs, it keeps
// what was recorded.

// NotLoadedError: HAProxy on some instances knows no such map or ACL (their
// configurations differ), while others load it.
type NotLoadedError struct {
	Ref     haproxy.PatternRef
	Missing []string // the instances that do not load it, as messages call them
}

func (e *NotLoadedError) Error() string {
	return fmt.Sprintf("HAProxy on %s knows no %s; the configurations differ", strings.Join(e.Missing, ", "), e.Ref)
}

// loadedEverywhere says whether every answering instance loads the list:
// gone when none does and every instance answered (the list left the
// configuration), an error when only some do.
func loadedEverywhere(r PatternReading, ref haproxy.PatternRef) (gone bool, err error) {
	missing := r.Missing()
	switch {
	case len(missing) == 0:
		return false, nil
	case len(missing) == len(r.PerSocket) && len(r.Skipped) == 0:
		return true, nil
	}
	return false, &NotLoadedError{Ref: ref, Missing: missing}
}

// firstDiffering is the one rule of what a refresh records where instances
// disagree: the index of the first that differs from what was recorded, or
// -1 when none does.
func firstDiffering(n int, differs func(i int) bool) int {
	for i := range n {
		if differs(i) {
			return i
		}
	}
	return -1
}

// SocketList is one instance's whole list: an ACL pattern maps to "".
type SocketList struct {
	Name    string
	Entries map[string]string
	Dups    map[string]int // keys listed more than once: how many more times (HAProxy's lookup uses the first)
}

func listOf(s SocketPatterns) SocketList {
	l := SocketList{Name: s.Name, Entries: map[string]string{}}
	for _, e := range s.Entries {
		if _, seen := l.Entries[e.Key]; seen {
			if l.Dups == nil {
				l.Dups = map[string]int{}
			}
			l.Dups[e.Key]++
			continue
		}
		l.Entries[e.Key] = e.Value
	}
	return l
}

// ListReading is a whole map or ACL as the instances hold it, against
// what was recorded.
type ListReading struct {
	Entries   map[string]string // what the state takes; nil when Gone
	Gone      bool              // every instance answered and none loads it
	Prior     map[string]string // what was recorded (nil: nothing, as after an import)
	PerSocket []SocketList
	Skipped   Errors
}

// ReconcileList settles a reading of a whole list against prior.
func ReconcileList(r PatternReading, ref haproxy.PatternRef, prior map[string]string) (ListReading, error) {
	gone, err := loadedEverywhere(r, ref)
	if err != nil || gone {
		return ListReading{Gone: gone, Skipped: r.Skipped}, err
	}
	out := ListReading{Entries: prior, Prior: prior, Skipped: r.Skipped}
	for _, s := range r.PerSocket {
		out.PerSocket = append(out.PerSocket, listOf(s))
	}
	if i := firstDiffering(len(out.PerSocket), func(i int) bool {
		return prior == nil || !maps.Equal(out.PerSocket[i].Entries, prior)
	}); i >= 0 {
		out.Entries = out.PerSocket[i].Entries
	}
	return out, nil
}

// Changed lists the instances whose list differs from what was recorded
// (none when nothing was).
func (l ListReading) Changed() []string {
	var out []string
	for _, s := range l.PerSocket {
		if l.Prior != nil && !maps.Equal(s.Entries, l.Prior) {
			out = append(out, s.Name)
		}
	}
	return out
}

// DifferingKeys lists, sorted, the keys on which an instance differs from
// another or from what was recorded.
func (l ListReading) DifferingKeys() []string {
	keys := map[string]bool{}
	for _, s := range l.PerSocket {
		for k, v := range s.Entries {
			if pv, ok := l.Prior[k]; l.Prior != nil && (!ok || pv != v) {
				keys[k] = true
			}
			for _, o := range l.PerSocket {
				if ov, ok := o.Entries[k]; !ok || ov != v {
					keys[k] = true
				}
			}
		}
	}
	for k := range l.Prior {
		for _, s := range l.PerSocket {
			if _, ok := s.Entries[k]; !ok {
				keys[k] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(keys))
}

// EntryReading is one key of a map as the instances hold it, against the
// value recorded.
type EntryReading struct {
	Value     string // what the state takes ("" where the key is absent)
	Differs   bool   // some instance holds another value than the one recorded
	Gone      bool   // every instance answered and none has the key
	PerSocket []EntryView
	Found     []string // every value any instance holds, first seen first
}

// ReconcileEntry settles a reading of key against the recorded value.
func ReconcileEntry(r PatternReading, ref haproxy.PatternRef, key, prior string) (EntryReading, error) {
	if _, err := loadedEverywhere(r, ref); err != nil {
		return EntryReading{}, err
	}
	out := EntryReading{Value: prior, PerSocket: EntryOf(r, key)}
	present := 0
	for _, v := range out.PerSocket {
		if len(v.Values) > 0 {
			present++
		}
		for _, x := range v.Values {
			if !slices.Contains(out.Found, x) {
				out.Found = append(out.Found, x)
			}
		}
	}
	held := func(i int) string { return strings.Join(out.PerSocket[i].Values, ",") }
	if i := firstDiffering(len(out.PerSocket), func(i int) bool { return held(i) != prior }); i >= 0 {
		out.Value, out.Differs = held(i), true
	}
	out.Gone = present == 0 && len(r.Skipped) == 0
	return out, nil
}

// HoldsOtherThan reports whether some instance holds a value that is not
// one of owned: someone else's (entryPlan refuses to write over it).
func (e EntryReading) HoldsOtherThan(owned []string) bool {
	return slices.ContainsFunc(e.Found, func(v string) bool { return !slices.Contains(owned, v) })
}
