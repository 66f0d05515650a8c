package pool

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

// allocation is a pool's decision of which member holds which slot, made
// from its recorded assignment, its configuration and what HAProxy lists.
// It reads and writes nothing, so every rule of it is tested as a table
// (allocation_test.go); ApplyPool does the reading, claiming and
// writing around it.
type allocation struct {
	kept      map[string]string // member → the slot it keeps
	leaving   map[string]string // slot → the member that left it
	removed   []string          // slots of members that left: to park and release, in order
	newcomers []string          // members that need a slot, in order
	taken     map[string]bool   // slots no newcomer may get
}

// splitRecorded starts an allocation from the recorded assignment:
// members still configured keep their slot, the slots of members that left
// are to be parked. A recorded slot the backend no longer has is an error:
// the configuration changed under the pool, and a human must decide.
func splitRecorded(p Pool, slots map[string]bool) (allocation, error) {
	a := allocation{kept: map[string]string{}, leaving: map[string]string{}}
	for member, slot := range p.Assigned {
		if !slots[slot] {
			return allocation{}, fmt.Errorf("slot %s of member %q no longer exists in backend %s", slot, member, p.Backend)
		}
		if _, ok := p.Members[member]; ok {
			a.kept[member] = slot
		} else {
			a.removed = append(a.removed, slot)
			a.leaving[slot] = member
		}
	}
	sort.Strings(a.removed)
	return a, nil
}

// adopt keeps members whose slot was found holding this pool's marker and
// value though not recorded (a killed run's; see recoverOwn).
func (a *allocation) adopt(adopted map[string]string) { maps.Copy(a.kept, adopted) }

// finish completes the allocation once the claims were checked: lost are
// kept members whose slot another pool claimed since (a reload dropped this
// pool's marker), and foreign names, for a slot, the other pools that claim
// it. A slot of a member
// that left but that another pool claims is not this pool's to park: it is
// left alone, with a warning.
func (a *allocation) finish(p Pool, lost []string, foreign func(slot string) []string) (warnings []string) {
	for _, member := range lost {
		delete(a.kept, member)
	}
	a.removed = slices.DeleteFunc(a.removed, func(slot string) bool {
		others := foreign(slot)
		if len(others) == 0 {
			return false
		}
		warnings = append(warnings, fmt.Sprintf("slot %s/%s of member %q, which left, is claimed by another pool (%s); it was left alone",
			p.Backend, slot, a.leaving[slot], strings.Join(others, ", ")))
		return true
	})
	a.newcomers = nil
	for member := range p.Members {
		if _, ok := a.kept[member]; !ok {
			a.newcomers = append(a.newcomers, member)
		}
	}
	sort.Strings(a.newcomers)
	a.taken = map[string]bool{}
	for _, slot := range a.kept {
		a.taken[slot] = true
	}
	for _, slot := range a.removed {
		a.taken[slot] = true
	}
	return warnings
}

// freeSlots are the slots a newcomer may get: free on every listing
// (fleet.FreeSlots: parked on the placeholder, unclaimed), lowest first, and
// not taken by this allocation (a kept member's, or one that left in this
// apply: a slot freed here is not reused in the same apply, so that a
// newcomer never lands on a server that may still be draining).
func freeSlots(p Pool, listings []fleet.Listing, taken map[string]bool) []string {
	var free []string
	for _, s := range fleet.FreeSlots(p.Prefix, listings, p.Placeholder) {
		if !taken[s] {
			free = append(free, s)
		}
	}
	return free
}

// lowestFree gives the newcomers, in order, the lowest free slots.
func lowestFree(newcomers, free []string) (map[string]string, error) {
	if len(newcomers) > len(free) {
		return nil, &exhausted{need: len(newcomers) - len(free)}
	}
	out := map[string]string{}
	for i, member := range newcomers {
		out[member] = free[i]
	}
	return out, nil
}
