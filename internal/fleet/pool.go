package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// PoolMember is what a pool's configuration asks for one member.
type PoolMember struct {
	Addr   netip.Addr
	Port   int
	State  haproxy.State
	Weight *int
}

// Pool is one authoritative assignment of members to the slots named
// <Prefix><number> of one backend.
type Pool struct {
	Backend     string
	Prefix      string
	Placeholder netip.AddrPort        // where free slots are parked
	Members     map[string]PoolMember // by member key
	Assigned    map[string]string     // member key → slot, as recorded in state
	Grace       Grace
}

// poolLocks serialises allocation per backend and prefix inside one provider
// process, so two pools of one configuration never pick the same slot.
var poolLocks sync.Map // "backend/prefix" → *sync.Mutex

func poolLock(backend, prefix string) *sync.Mutex {
	m, _ := poolLocks.LoadOrStore(backend+"/"+prefix, &sync.Mutex{})
	return m.(*sync.Mutex) //nolint:forcetypeassert // only *sync.Mutex is stored
}

// ApplyPool makes HAProxy match p on every socket. Members keep their slots;
// new members take the lowest free slots; slots of members that left are
// drained (per p.Grace), put in maint and parked. A slot of the prefix that
// serves but is not assigned to this pool is never taken and only reported.
// The returned assignment is complete even when some writes failed, so the
// caller can record what was allocated.
func (f *Fleet) ApplyPool(ctx context.Context, p Pool) (assigned map[string]string, warnings []string, err error) {
	lock := poolLock(p.Backend, p.Prefix)
	lock.Lock()
	defer lock.Unlock()

	listings, warnings, err := f.list(ctx, p.Backend, time.Now(), true)
	if err != nil {
		return nil, warnings, err
	}
	slots := slotNames(p.Prefix, listings)
	assigned = map[string]string{}
	owned := map[string]bool{}
	var removed []string
	for member, slot := range p.Assigned {
		if !slots[slot] {
			return nil, warnings, fmt.Errorf("slot %s of member %q no longer exists in backend %s", slot, member, p.Backend)
		}
		if _, ok := p.Members[member]; ok {
			assigned[member] = slot
			owned[slot] = true
		} else {
			removed = append(removed, slot)
		}
	}
	sort.Strings(removed)

	var newcomers []string
	for member := range p.Members {
		if _, ok := assigned[member]; !ok {
			newcomers = append(newcomers, member)
		}
	}
	sort.Strings(newcomers)
	var free []string
	for _, s := range FreeSlots(p.Prefix, listings, p.Placeholder) {
		if !owned[s] && !contains(removed, s) {
			free = append(free, s)
		}
	}
	if len(newcomers) > len(free) {
		return nil, warnings, fmt.Errorf("backend %s has %d %s slots (%d free, %d kept by this pool); %d members need %d more than are free",
			p.Backend, len(slots), p.Prefix, len(free), len(owned), len(p.Members), len(newcomers)-len(free))
	}
	for i, member := range newcomers {
		assigned[member] = free[i]
		owned[free[i]] = true
	}
	warnings = append(warnings, foreignSlots(p, listings, owned, removed)...)

	// Another workspace may have taken a slot since the listing: look again,
	// right before writing, and take nothing that is no longer free.
	if len(newcomers) > 0 {
		again, _, err := f.list(ctx, p.Backend, time.Now(), true)
		if err != nil {
			return nil, warnings, err
		}
		for _, member := range newcomers {
			if !IsFree(assigned[member], again, p.Placeholder) {
				return nil, warnings, fmt.Errorf("slot %s was taken by someone else while it was being assigned to %q; run apply again", assigned[member], member)
			}
		}
		listings = again
	}

	if p.Grace.DrainTimeout == 0 {
		return assigned, warnings, errors.Join(f.applyPoolBatched(ctx, p, assigned, removed, listings)...)
	}
	// Waiting for sessions to drain paces each server on its own.
	var mu sync.Mutex
	var errs []error
	collect := func(w []string, err error) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, w...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	var wg sync.WaitGroup
	limit := make(chan struct{}, 8)
	run := func(fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			limit <- struct{}{}
			defer func() { <-limit }()
			fn()
		}()
	}
	for _, slot := range removed {
		run(func() { collect(f.Park(ctx, p.Backend, slot, parkedOrigins(slot, listings, p.Placeholder), p.Grace)) })
	}
	for member, slot := range assigned {
		run(func() { collect(f.applyMember(ctx, p, member, slot, listings)) })
	}
	wg.Wait()
	return assigned, warnings, errors.Join(errs...)
}

func (f *Fleet) applyMember(ctx context.Context, p Pool, member, slot string, listings []Listing) ([]string, error) {
	m := p.Members[member]
	port := m.Port
	d := Desired{Backend: p.Backend, Server: slot, Addr: m.Addr, Port: &port, State: m.State, Weight: m.Weight, Grace: p.Grace}
	var warnings []string
	var failed Errors
	for _, r := range f.Apply(ctx, d, slotsFrom(f, slot, listings)) {
		warnings = append(warnings, r.Warnings...)
		if r.Err != nil {
			failed = append(failed, SocketError{r.Socket, r.Err})
		}
	}
	if len(failed) > 0 {
		return warnings, fmt.Errorf("member %q (%s/%s):\n%w", member, p.Backend, slot, failed)
	}
	return warnings, nil
}

// slotsFrom turns listings into Apply's per-socket starting points; a socket
// missing from the listings (skipped as unreachable) is skipped here too.
func slotsFrom(f *Fleet, server string, listings []Listing) []Slot {
	out := make([]Slot, len(f.clients))
	for i, c := range f.clients {
		out[i] = Slot{Socket: c.Target(), Skipped: errors.New("unreachable")}
		for _, l := range listings {
			if l.Socket != c.Target() {
				continue
			}
			for _, s := range l.Servers {
				if s.Name == server {
					out[i] = Slot{Socket: c.Target(), Current: s}
				}
			}
		}
	}
	return out
}

// parkedOrigins parks a slot on the placeholder with its configured weight.
func parkedOrigins(slot string, listings []Listing, placeholder netip.AddrPort) map[string]Origin {
	out := map[string]Origin{}
	for _, l := range listings {
		for _, s := range l.Servers {
			if s.Name == slot {
				out[l.Socket] = Origin{Addr: placeholder.Addr().String(), Port: int(placeholder.Port()), Weight: s.InitialWeight}
			}
		}
	}
	return out
}

// foreignSlots reports slots of the prefix that serve but are not this pool's.
func foreignSlots(p Pool, listings []Listing, owned map[string]bool, removed []string) []string {
	var out []string
	for slot := range slotNames(p.Prefix, listings) {
		if owned[slot] || contains(removed, slot) || IsFree(slot, listings, netip.AddrPort{}) {
			continue
		}
		out = append(out, fmt.Sprintf("%s/%s is in service but not assigned to this pool (set by hand or by another workspace); it is left alone and never assigned", p.Backend, slot))
	}
	sort.Strings(out)
	return out
}

// slotNames lists the servers named <prefix><number>.
func slotNames(prefix string, listings []Listing) map[string]bool {
	out := map[string]bool{}
	for _, s := range listings[0].Servers {
		if _, ok := slotNumber(prefix, s.Name); ok {
			out[s.Name] = true
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ReadPool reads every assigned slot on every socket and reconciles each
// member as Reconcile does for one server. Slots of the prefix that serve but
// are not the pool's are reported in the warnings, so a plan shows them.
func (f *Fleet) ReadPool(ctx context.Context, p Pool, prior map[string]Values) (map[string]Reading, []string, error) {
	backend := p.Backend
	listings, warnings, err := f.List(ctx, backend)
	if err != nil {
		return nil, warnings, err
	}
	owned := map[string]bool{}
	for _, slot := range p.Assigned {
		owned[slot] = true
	}
	warnings = append(warnings, foreignSlots(p, listings, owned, nil)...)
	out := map[string]Reading{}
	for member, slot := range p.Assigned {
		var obs []Observation
		for _, l := range listings {
			o := Observation{Socket: l.Socket}
			for _, s := range l.Servers {
				if s.Name == slot {
					o.Server, o.Found = s, true
				}
			}
			obs = append(obs, o)
		}
		var p *Values
		if v, ok := prior[member]; ok {
			p = &v
		}
		r, err := Reconcile(backend, slot, p, obs)
		if err != nil {
			return nil, warnings, err
		}
		if r.Gone {
			return nil, warnings, fmt.Errorf("slot %s of member %q is gone from backend %s on every socket", slot, member, backend)
		}
		out[member] = r
	}
	return out, warnings, nil
}

// DeletePool parks every assigned slot.
func (f *Fleet) DeletePool(ctx context.Context, p Pool) ([]string, error) {
	listings, warnings, err := f.List(ctx, p.Backend)
	if err != nil {
		return warnings, err
	}
	var errs []error
	for _, slot := range sortedValues(p.Assigned) {
		w, err := f.Park(ctx, p.Backend, slot, parkedOrigins(slot, listings, p.Placeholder), p.Grace)
		warnings = append(warnings, w...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return warnings, errors.Join(errs...)
}

// ServingSlots lists the slots of the prefix not in maint on the first
// socket, for adopting them on import.
func (f *Fleet) ServingSlots(ctx context.Context, backend, prefix string) ([]haproxy.ServerState, error) {
	listings, _, err := f.List(ctx, backend)
	if err != nil {
		return nil, err
	}
	var out []haproxy.ServerState
	for _, s := range listings[0].Servers {
		if _, ok := slotNumber(prefix, s.Name); ok && s.Admin.UserState() != haproxy.StateMaint {
			out = append(out, s)
		}
	}
	return out, nil
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// slotNumber parses <prefix><number>, rejecting leading zeros.
func slotNumber(prefix, name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || rest == "" || rest[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range rest {
		if c < '0' || c > '9' || n > 1e8 {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
