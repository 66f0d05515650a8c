package pool

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Member is what a pool's configuration asks for one member.
type Member struct {
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
	Placeholder netip.AddrPort    // where free slots are parked
	Members     map[string]Member // by member key
	Assigned    map[string]string // member key → slot, as recorded in state
	// Recorded is each member's address and port as the state records
	// them (members that leave included): a leaver's slot is parked only
	// while it still holds that value or the placeholder.
	Recorded map[string]netip.AddrPort
	Grace    fleet.Grace
	// Token is the address:port of this pool's claim markers (see claim.go).
	Token netip.AddrPort
	// Adopt replaces other pools' markers on the recorded slots: set on the
	// first apply after an import, which takes the slots over.
	Adopt bool
	// Writer identifies the pool object (see handover.go).
	Writer string
}

// poolLocks serialises allocation per backend and prefix inside one provider
// process, so two pools of one configuration never pick the same slot.
var poolLocks sync.Map // "backend/prefix" → *sync.Mutex

func poolLock(backend, prefix string) *sync.Mutex {
	m, _ := poolLocks.LoadOrStore(backend+"/"+prefix, &sync.Mutex{})
	return m.(*sync.Mutex) //nolint:forcetypeassert // only *sync.Mutex is stored
}

// Apply makes HAProxy match p on every socket. Members keep their slots;
// new members claim the lowest free slots (claim.go); slots of members that
// left are drained (per p.Grace), put in maint, parked and released. A slot
// of the prefix that serves but is not assigned to this pool is never taken
// and only reported. The returned assignment is complete even when some
// writes failed, so the caller can record what was allocated.
func Apply(ctx context.Context, fl *fleet.Fleet, p Pool) (assigned map[string]string, warnings []string, err error) {
	return fleetOps{fl}.apply(ctx, p)
}

func (f fleetOps) apply(ctx context.Context, p Pool) (assigned map[string]string, warnings []string, err error) {
	if !p.Token.IsValid() {
		return nil, nil, errors.New("the pool has no claim token")
	}
	if err := p.PlaceholderCheck(f.Placeholder()); err != nil {
		return nil, nil, err
	}
	lock := poolLock(p.Backend, p.Prefix)
	lock.Lock()
	defer lock.Unlock()

	listings, skipped, warnings, err := f.ListFresh(ctx, p.Backend, p.Prefix)
	if err != nil {
		return nil, warnings, err
	}
	slots := slotNames(p.Prefix, listings)
	a, err := splitRecorded(p, slots)
	if err != nil {
		return nil, warnings, err
	}
	// A socket skipped because it hangs may still serve the members that
	// left; one whose process is gone has lost every runtime change.
	hung := hungSockets(skipped)

	adopted, w, err := f.recoverOwn(ctx, p, listings, a.kept)
	warnings = append(warnings, w...)
	if err != nil {
		return nil, warnings, err
	}
	a.adopt(adopted)

	claims := true
	lost, w, err := f.keepClaims(ctx, p, listings, a.kept)
	warnings = append(warnings, w...)
	switch {
	case errors.Is(err, errNoClaims):
		claims = false
		warnings = append(warnings, noClaimsWarning(p))
	case err != nil:
		return nil, warnings, err
	}
	warnings = append(warnings, a.finish(p, lost, func(slot string) []string {
		return f.claimStateOf(listings, slot, p.Token).foreign
	})...)
	kept, removed, leaving, newcomers, taken := a.kept, a.removed, a.leaving, a.newcomers, a.taken

	var fresh map[string]string
	if claims && len(newcomers) > 0 {
		fresh, err = f.claimNew(ctx, p, newcomers, taken)
		if errors.Is(err, errNoClaims) {
			claims, err = false, nil
			warnings = append(warnings, noClaimsWarning(p))
		}
	}
	if !claims && len(newcomers) > 0 {
		fresh, err = f.pickUnclaimed(ctx, p, newcomers, taken)
	}
	var ex *exhausted
	if errors.As(err, &ex) {
		err = fmt.Errorf("backend %s has %d %s slots (%d kept by this pool); %d members need %d more than are free",
			p.Backend, len(slots), p.Prefix, len(kept), len(p.Members), ex.need)
	}
	if err != nil {
		// Nothing was written to any slot: give back what was claimed.
		giveBack := map[string][]*haproxy.Client{}
		for _, slot := range fresh {
			giveBack[slot] = f.Reachable(listings)
		}
		return nil, warnings, errors.Join(err, f.releaseMarkers(ctx, p.Backend, giveBack))
	}
	assigned = map[string]string{}
	owned := map[string]bool{}
	for _, m := range []map[string]string{kept, fresh} {
		for member, slot := range m {
			assigned[member], owned[slot] = slot, true
		}
	}
	if len(fresh) > 0 {
		if listings, _, _, err = f.ListFresh(ctx, p.Backend, p.Prefix); err != nil {
			return assigned, warnings, err
		}
	}
	warnings = append(warnings, foreignSlots(p, listings, owned, removed)...)
	for slot := range owned {
		f.NoteWriter(p.Backend, slot, p.Writer)
	}

	var errs []error
	if p.Grace.DrainTimeout == 0 {
		errs = f.applyPoolBatched(ctx, p, assigned, removed, leaving, listings, &warnings)
	} else {
		errs = f.applyPoolPaced(ctx, p, assigned, removed, leaving, listings, &warnings)
	}
	// A removed member's claim is released once its slot is parked.
	failed := failedSlots(errs)
	var released []string
	for _, slot := range removed {
		// Nothing is forgotten while it may serve: a member whose slot is
		// not confirmed parked everywhere stays recorded, with its claim,
		// so the next plan shows its removal again and the next apply
		// finishes it.
		if failed[slot] || len(hung) > 0 {
			assigned[leaving[slot]] = slot
			continue
		}
		released = append(released, slot)
	}
	errs = append(errs, f.releaseAll(ctx, listings, p.Backend, released, p.Token))
	if len(hung) > 0 && len(removed) > 0 {
		warnings = append(warnings, fmt.Sprintf("%s did not answer: members that left (%s) may still be served there, so they stay recorded until an apply parks them on every socket",
			strings.Join(hung, ", "), strings.Join(removed, ", ")))
	}
	return assigned, warnings, errors.Join(errs...)
}

func noClaimsWarning(p Pool) string {
	return fmt.Sprintf("backend %s does not accept servers added at run time (its balance algorithm is static), so this pool cannot "+
		"claim slots race-free: two workspaces applying pools on %s/%s at the same moment may pick the same slot. "+
		"Give each workspace its own backend or slot prefix, or use a dynamic balance algorithm (roundrobin, leastconn, random, first).",
		p.Backend, p.Backend, p.Prefix)
}

// pickUnclaimed allocates without claims (static backends): free slots
// lowest first, checked once more just before writing.
func (f fleetOps) pickUnclaimed(ctx context.Context, p Pool, newcomers []string, taken map[string]bool) (map[string]string, error) {
	listings, _, _, err := f.ListFresh(ctx, p.Backend, p.Prefix)
	if err != nil {
		return nil, err
	}
	return lowestFree(newcomers, freeSlots(p, listings, taken))
}

// applyPoolPaced applies member by member, for drain waits that pace each
// server on its own.
func (f fleetOps) applyPoolPaced(ctx context.Context, p Pool, assigned map[string]string, removed []string, leaving map[string]string, listings []fleet.Listing, warnings *[]string) []error {
	var mu sync.Mutex
	var errs []error
	collect := func(slot string, w []string, err error) {
		mu.Lock()
		defer mu.Unlock()
		*warnings = append(*warnings, w...)
		if err != nil {
			errs = append(errs, fleet.ServerError{Server: slot, Err: err})
		}
	}
	run := newBounded(8)
	for _, slot := range removed {
		run.do(func() {
			w, err := f.Park(ctx, p.Backend, slot, parkedOrigins(slot, listings, p.Placeholder), p.leaver(leaving[slot]), p.Grace)
			collect(slot, w, err)
		})
	}
	for member, slot := range assigned {
		run.do(func() {
			w, err := f.applyMember(ctx, p, member, slot, listings)
			collect(slot, w, err)
		})
	}
	run.wait()
	return errs
}

func (f fleetOps) applyMember(ctx context.Context, p Pool, member, slot string, listings []fleet.Listing) ([]string, error) {
	m := p.Members[member]
	port := m.Port
	d := fleet.Desired{Backend: p.Backend, Server: slot, Addr: m.Addr, Port: &port, State: m.State, Weight: m.Weight, Grace: p.Grace}
	var warnings []string
	var failed fleet.Errors
	for _, r := range f.Apply(ctx, d, f.ViewsFrom(slot, listings)) {
		warnings = append(warnings, r.Warnings...)
		if r.Err != nil {
			failed = append(failed, fleet.SocketError{Socket: f.Name(r.Socket), Err: r.Err})
		}
	}
	if len(failed) > 0 {
		return warnings, fmt.Errorf("member %q (%s/%s):\n%w", member, p.Backend, slot, failed)
	}
	return warnings, nil
}

// PlaceholderCheck refuses, before anything is written, members that would
// serve (ready or drain) on the pool's placeholder or the provider's:
// traffic to nowhere, on a slot every writer takes for free.
func (p Pool) PlaceholderCheck(provider netip.AddrPort) error {
	var bad []string
	for _, key := range slices.Sorted(maps.Keys(p.Members)) {
		m := p.Members[key]
		ap := netip.AddrPortFrom(m.Addr, uint16(m.Port))
		if m.State != haproxy.StateMaint && (ap == p.Placeholder || ap == provider) {
			bad = append(bad, fmt.Sprintf("%q (%s, %s)", key, ap, m.State))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%w: members %s are on the placeholder, where free slots are parked; give each its own address and port, or state = \"maint\"; nothing was changed",
		fleet.ErrServesPlaceholder, strings.Join(bad, ", "))
}

// leaver is the owner of the slot of a member that left: the pool's claim
// marker proves the slot's name, and the member's recorded value what the
// slot may hold. A slot edited by hand since holds neither it nor the
// placeholder, and is left alone (the one owner rule, fleet/owner.go).
// Without a recorded value (a leaver kept over from an unfinished apply)
// the marker alone speaks for it.
func (p Pool) leaver(member string) fleet.Owner {
	o := fleet.Owner{Claim: fleet.Claim{Marker: true}}
	if ap, ok := p.Recorded[member]; ok && ap.IsValid() {
		o.Recorded = []netip.AddrPort{ap}
	}
	return o
}

// parkedOrigins parks a slot on the placeholder with its configured weight.
func parkedOrigins(slot string, listings []fleet.Listing, placeholder netip.AddrPort) map[string]fleet.Origin {
	out := map[string]fleet.Origin{}
	for _, l := range listings {
		if s, ok := l.Server(slot); ok {
			out[l.Socket] = fleet.Origin{Addr: placeholder.Addr().String(), Port: int(placeholder.Port()), Weight: s.InitialWeight}
		}
	}
	return out
}

// foreignSlots reports slots of the prefix that serve but are not this pool's.
func foreignSlots(p Pool, listings []fleet.Listing, owned map[string]bool, removed []string) []string {
	leaving := make(map[string]bool, len(removed))
	for _, slot := range removed {
		leaving[slot] = true
	}
	var out []string
	for slot := range slotNames(p.Prefix, listings) {
		if owned[slot] || leaving[slot] || fleet.IsFree(slot, listings, netip.AddrPort{}) {
			continue
		}
		out = append(out, fmt.Sprintf("%s/%s is held by someone else (in service, or claimed by another pool, but not assigned to this pool); it is left alone and never assigned", p.Backend, slot))
	}
	sort.Strings(out)
	return out
}

// slotNames lists the servers named <prefix><number>.
func slotNames(prefix string, listings []fleet.Listing) map[string]bool {
	out := map[string]bool{}
	for _, s := range listings[0].Servers {
		if _, ok := fleet.SlotNumber(prefix, s.Name); ok {
			out[s.Name] = true
		}
	}
	return out
}

// Read reads every assigned slot on every socket and reconciles each
// member as Reconcile does for one server. Slots of the prefix that serve but
// are not the pool's are reported in the warnings, so a plan shows them.
func Read(ctx context.Context, fl *fleet.Fleet, p Pool, prior map[string]fleet.Values) (map[string]fleet.Reading, []string, error) {
	f := fleetOps{fl}
	backend := p.Backend
	listings, warnings, err := f.List(ctx, backend, p.Prefix)
	if err != nil {
		return nil, warnings, err
	}
	owned := map[string]bool{}
	for _, slot := range p.Assigned {
		owned[slot] = true
	}
	warnings = append(warnings, foreignSlots(p, listings, owned, nil)...)
	if p.Token.IsValid() {
		for _, member := range slices.Sorted(maps.Keys(p.Assigned)) {
			slot := p.Assigned[member]
			if cs := f.claimStateOf(listings, slot, p.Token); len(cs.foreign) > 0 {
				warnings = append(warnings, fmt.Sprintf("slot %s/%s of member %q is claimed by another pool (%s); the next apply moves the member to a new slot",
					p.Backend, slot, member, strings.Join(cs.foreign, ", ")))
			}
		}
	}
	out := map[string]fleet.Reading{}
	for member, slot := range p.Assigned {
		var obs []fleet.Observation
		for _, l := range listings {
			s, found := l.Server(slot)
			obs = append(obs, fleet.Observation{Socket: l.Socket, Server: s, Found: found})
		}
		var p *fleet.Values
		if v, ok := prior[member]; ok {
			p = &v
		}
		r, err := f.Reconcile(backend, slot, p, obs)
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

// Delete parks every assigned slot this pool still holds and releases
// its claims, in the same batched phases as an apply (one batch per socket
// and phase, not a few connections per slot: parking slot after slot read
// the whole backend again for each, which made a destroy quadratic in
// slots). A slot another pool has claimed (after a reload dropped this
// pool's marker) is left alone with a warning. A socket that did not answer
// may still serve the members, so the pool is then not forgotten: the error
// keeps it in the state, and its claims stay until a destroy reaches every
// socket.
func Delete(ctx context.Context, fl *fleet.Fleet, p Pool) ([]string, error) {
	f := fleetOps{fl}
	lock := poolLock(p.Backend, p.Prefix)
	lock.Lock()
	defer lock.Unlock()
	listings, skipped, warnings, err := f.ListFresh(ctx, p.Backend, p.Prefix)
	if err != nil {
		return warnings, err
	}
	var park []string
	for _, slot := range slices.Sorted(maps.Values(p.Assigned)) {
		if why := f.HandedOver(p.Backend, slot, p.Writer); why != "" {
			warnings = append(warnings, why) // its marker is the replacement's too
			continue
		}
		if cs := f.claimStateOf(listings, slot, p.Token); len(cs.foreign) > 0 {
			warnings = append(warnings, fmt.Sprintf("%s/%s is claimed by another pool (%s); it was left alone", p.Backend, slot, strings.Join(cs.foreign, ", ")))
			continue
		}
		if _, ok := listings[0].Server(slot); !ok { // List checked that every socket agrees
			warnings = append(warnings, fmt.Sprintf("%s/%s no longer exists; nothing to park", p.Backend, slot))
			continue
		}
		park = append(park, slot)
	}
	leaving := map[string]string{}
	for member, slot := range p.Assigned {
		leaving[slot] = member
	}
	var errs []error
	if p.Grace.DrainTimeout == 0 {
		errs = f.applyPoolBatched(ctx, p, nil, park, leaving, listings, &warnings)
	} else {
		errs = f.applyPoolPaced(ctx, p, nil, park, leaving, listings, &warnings)
	}
	if hung := hungSockets(skipped); len(hung) > 0 {
		return warnings, errors.Join(append(errs, fmt.Errorf("%s did not answer: the pool's slots may still be served there, so the pool stays in the state until a destroy parks them on every socket",
			strings.Join(hung, ", ")))...)
	}
	failed := failedSlots(errs)
	released := slices.DeleteFunc(park, func(slot string) bool { return failed[slot] })
	return warnings, errors.Join(append(errs, f.releaseAll(ctx, listings, p.Backend, released, p.Token))...)
}

// hungSockets names the skipped sockets that may still serve: skipped
// because they did not answer, not because their process is gone (which
// lost every runtime change).
func hungSockets(skipped fleet.Errors) []string {
	var out []string
	for _, se := range skipped {
		if !fleet.ProcessGone(se.Err) {
			out = append(out, se.Socket)
		}
	}
	return out
}

// failedSlots lists the slots that errs (from the batched or paced apply)
// concern.
func failedSlots(errs []error) map[string]bool {
	out := map[string]bool{}
	for _, e := range errs {
		var se fleet.ServerError
		if errors.As(e, &se) {
			out[se.Server] = true
		}
	}
	return out
}

// ServingSlots lists the slots of the prefix not in maint on the first
// socket, for adopting them on import.
func ServingSlots(ctx context.Context, f *fleet.Fleet, backend, prefix string) ([]haproxy.ServerState, error) {
	listings, _, err := f.List(ctx, backend, prefix)
	if err != nil {
		return nil, err
	}
	var out []haproxy.ServerState
	for _, s := range listings[0].Servers {
		if _, ok := fleet.SlotNumber(prefix, s.Name); ok && s.Admin.UserState() != haproxy.StateMaint {
			out = append(out, s)
		}
	}
	return out, nil
}
