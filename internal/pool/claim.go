package pool

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	mathrand "math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Slot claims. Pools of several workspaces may allocate slots of one
// backend at the same moment, sharing nothing but the HAProxy sockets. The
// runtime API has one atomic test-and-set: `add server` of a name the
// backend already has fails, and of several concurrent adds of one name
// exactly one succeeds (HAProxy checks and inserts under thread isolation;
// verified on 2.6, 3.0 and 3.4). The reply of `set server … addr` is no such
// witness from 2.9 on: two concurrent writers can both be told
// "IP changed from '<placeholder>'" (seen on 3.0.11).
//
// So a pool claims slot S by adding a marker server named `S.claim` on every
// socket, holding the pool's token address, before it writes anything to S.
// A marker is added in maintenance with no health checks: it never receives
// traffic, and nothing is ever sent to its address. Whoever gets "already
// exists" on any socket has lost: it removes the markers it added, leaves S
// alone and tries the next free slot. The marker stays while the member
// holds the slot and is removed after the slot is parked again.
//
// A reload drops markers (they are dynamic servers) together with every
// runtime change: a pool re-adds its markers on the next apply, and a member
// whose slot another pool claimed in the meantime moves to a new slot.

// NewToken returns a random address:port for a pool's markers:
// 127.a.b.c with a ≥ 1, so never in 127.0.0.0/16 where placeholders live,
// and a port ≥ 1024. It identifies the pool on the sockets.
func NewToken() netip.AddrPort {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return tokenFrom(b[:])
}

// TokenFor is the claim token of a pool being created: derived from what
// the configuration asks (backend, prefix, and every member's key, address
// and port), not drawn at random, so that when the creating run is killed
// before Terraform saved the pool, the next run of the same configuration
// has the same token and recognises the markers (and written slots) as its
// own. Once created, a pool keeps its token in state whatever its members
// become. Two pools can share a token only by asking for exactly the same
// servers on the same slots.
func TokenFor(backend, prefix string, members map[string]Member) netip.AddrPort {
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "%s\x00%s\x00", backend, prefix)
	for _, key := range slices.Sorted(maps.Keys(members)) {
		m := members[key]
		_, _ = fmt.Fprintf(h, "%s\x00%s\x00%d\x00", key, m.Addr, m.Port)
	}
	return tokenFrom(h.Sum(nil))
}

// tokenFrom turns 6 bytes into a token address:port (see NewToken).
func tokenFrom(b []byte) netip.AddrPort {
	addr := netip.AddrFrom4([4]byte{127, 1 + b[0]%254, b[1], b[2]})
	return netip.AddrPortFrom(addr, 1024+binary.BigEndian.Uint16(b[4:6])%(65535-1024))
}

// errNoClaims means the backend refuses dynamic servers, so no marker can be
// added and claims cannot be made race-proof.
var errNoClaims = errors.New("no claims")

// claim adds the markers of slots, one batch per socket: on the first of
// clients alone, then on all the others at once. A slot is won when every
// socket accepted its marker; on "already exists" anywhere it is lost to
// someone else, and the markers added for it are removed again. It returns
// the slots won, in order.
//
// The first socket is the arbiter: of writers that list the sockets in the
// same order, only the one that won a slot there goes on to the others, so
// they cannot take each other's claims further on. The rest need no order
// among themselves, and `add server` costs HAProxy time that grows with the
// backend (0.7 ms each at 5000 slots on 2.6, against 0.06 ms at 500), so
// claiming socket after socket made a 5000-member pool on 20 instances spend
// a minute on claims alone.
func (f fleetOps) claim(ctx context.Context, clients []*haproxy.Client, backend string, slots []string, token netip.AddrPort) ([]string, error) {
	cmds := make(map[string]haproxy.Command, len(slots))
	for _, slot := range slots {
		cmd, err := haproxy.AddServer(backend, fleet.ClaimMarker(slot), token.Addr(), int(token.Port()))
		if err != nil {
			return nil, err
		}
		cmds[slot] = cmd
	}
	added := map[string][]*haproxy.Client{}
	lost := map[string]bool{}
	var failure error
	// addOn claims every slot not yet lost on each of cs at once and
	// records the outcome of every marker.
	addOn := func(cs []*haproxy.Client) {
		var pending []string
		var batch []haproxy.Command
		for _, slot := range slots {
			if !lost[slot] {
				pending, batch = append(pending, slot), append(batch, cmds[slot])
			}
		}
		if len(batch) == 0 {
			return
		}
		type outcome struct {
			each []error
			err  error
		}
		outs := make([]outcome, len(cs))
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i].each, outs[i].err = f.RunBatch(ctx, c, backend, batch...)
			}()
		}
		wg.Wait()
		for i, c := range cs {
			if outs[i].err != nil {
				failure = errors.Join(failure, outs[i].err)
				continue
			}
			// One failure per socket is enough to say why: a refusal
			// usually repeats for every marker of the batch.
			var first error
			for j, slot := range pending {
				switch e := outs[i].each[j]; {
				case e == nil:
					added[slot] = append(added[slot], c)
				case errors.Is(e, haproxy.ErrAlreadyExists):
					lost[slot] = true
				case errors.Is(e, haproxy.ErrNoDynamicServers):
					first = errNoClaims
				case first == nil:
					first = e
				}
			}
			failure = errors.Join(failure, first)
		}
	}
	if len(clients) > 0 {
		addOn(clients[:1])
	}
	if failure == nil && len(clients) > 1 {
		addOn(clients[1:])
	}
	if failure != nil {
		// Give back every marker added; errNoClaims stays recognisable.
		err := failure
		if errors.Is(failure, errNoClaims) {
			err = errNoClaims
		}
		return nil, errors.Join(err, f.releaseMarkers(ctx, backend, added))
	}
	var won []string
	giveBack := map[string][]*haproxy.Client{}
	for _, slot := range slots {
		if lost[slot] {
			claimsLost.Add(1)
			giveBack[slot] = added[slot]
		} else {
			won = append(won, slot)
		}
	}
	return won, f.releaseMarkers(ctx, backend, giveBack)
}

// releaseAll removes this pool's markers of slots wherever the listings show
// them. A marker already gone is fine: nothing is left to release.
func (f fleetOps) releaseAll(ctx context.Context, listings []fleet.Listing, backend string, slots []string, token netip.AddrPort) error {
	on := map[string][]*haproxy.Client{}
	for _, l := range listings {
		c := f.Client(l.Socket)
		for _, slot := range slots {
			if c != nil && l.Claims[slot] == token {
				on[slot] = append(on[slot], c)
			}
		}
	}
	return f.releaseMarkers(ctx, backend, on)
}

// releaseMarkers removes the markers of each slot from the sockets listed
// for it, in one batch per socket and all sockets at once (a slot at a time
// would be a connection per slot and socket).
func (f fleetOps) releaseMarkers(ctx context.Context, backend string, on map[string][]*haproxy.Client) error {
	type work struct {
		cmds  []haproxy.Command
		slots []string
	}
	per := map[*haproxy.Client]*work{}
	for _, slot := range slices.Sorted(maps.Keys(on)) {
		cmd, err := haproxy.DelServer(backend, fleet.ClaimMarker(slot))
		if err != nil {
			return err
		}
		for _, c := range on[slot] {
			if per[c] == nil {
				per[c] = &work{}
			}
			per[c].cmds, per[c].slots = append(per[c].cmds, cmd), append(per[c].slots, slot)
		}
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for c, w := range per {
		wg.Add(1)
		go func() {
			defer wg.Done()
			each, err := f.RunBatch(ctx, c, backend, w.cmds...)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: cannot release the claims on %d slots of %s: %w", c.Name(), len(w.cmds), backend, err))
				return
			}
			// Named once per socket, with the first reply: a refusal
			// usually repeats for every marker of the batch.
			var failed []string
			var first error
			for i, e := range each {
				if e != nil && !haproxy.IsGone(e) {
					failed = append(failed, w.slots[i])
					first = cmp.Or(first, e)
				}
			}
			if len(failed) > 0 {
				errs = append(errs, fmt.Errorf("%s: cannot release the claim on %d slot(s) of %s (%s): %w", c.Name(), len(failed), backend, summarise(failed), first))
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// claimState is what the listings say of one slot's markers.
type claimState struct {
	missing []*haproxy.Client // sockets where the slot has no marker
	foreign []string          // "socket: address:port" of markers not ours
}

func (f fleetOps) claimStateOf(listings []fleet.Listing, slot string, token netip.AddrPort) claimState {
	var cs claimState
	for _, c := range f.Reachable(listings) {
		for _, l := range listings {
			if l.Socket != c.Target() {
				continue
			}
			switch holder, ok := l.Claims[slot]; {
			case !ok:
				cs.missing = append(cs.missing, c)
			case holder != token:
				cs.foreign = append(cs.foreign, fmt.Sprintf("%s: %s", f.Name(l.Socket), holder))
			}
		}
	}
	return cs
}

// keepClaims makes sure every kept member's slot carries this pool's marker
// on every reachable socket (re-adding markers a reload dropped). A slot
// claimed by another pool on some socket is no longer this pool's: its
// member is returned in lost and must take a new slot, and the slot is left
// alone. With adopt (after an import), foreign markers of kept slots are
// replaced by this pool's. Markers are added and removed in batches, slots
// grouped by the sockets they miss, so a reload that dropped every marker
// costs a few connections per socket, not one per slot.
func (f fleetOps) keepClaims(ctx context.Context, p Pool, listings []fleet.Listing, kept map[string]string) (lost []string, warnings []string, err error) {
	clients := f.Reachable(listings)
	members := slices.Sorted(maps.Keys(kept))
	states := make(map[string]claimState, len(kept))
	adopted := map[string][]*haproxy.Client{}
	for _, member := range members {
		slot := kept[member]
		cs := f.claimStateOf(listings, slot, p.Token)
		if len(cs.foreign) > 0 && p.Adopt {
			adopted[slot] = clients
			cs.missing, cs.foreign = clients, nil
		}
		states[member] = cs
	}
	if err := f.releaseMarkers(ctx, p.Backend, adopted); err != nil {
		return nil, warnings, err
	}
	// Slots missing their marker on the same sockets are claimed together.
	groups := map[string][]string{} // sockets → slots
	groupClients := map[string][]*haproxy.Client{}
	for _, member := range members {
		if cs := states[member]; len(cs.foreign) == 0 && len(cs.missing) > 0 {
			key := socketsKey(cs.missing)
			groups[key] = append(groups[key], kept[member])
			groupClients[key] = cs.missing
		}
	}
	won := map[string]bool{}
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		got, err := f.claim(ctx, groupClients[key], p.Backend, groups[key], p.Token)
		if errors.Is(err, errNoClaims) {
			return nil, warnings, err
		}
		if err != nil {
			return nil, warnings, fmt.Errorf("claiming the slots of %d members again (%s): %w", len(groups[key]), summarise(groups[key]), err)
		}
		for _, slot := range got {
			won[slot] = true
		}
	}
	giveBack := map[string][]*haproxy.Client{}
	for _, member := range members {
		slot, cs := kept[member], states[member]
		if len(cs.foreign) == 0 && len(cs.missing) > 0 && !won[slot] {
			cs.foreign = append(cs.foreign, "a marker added by someone else just now")
		}
		if len(cs.foreign) == 0 {
			continue
		}
		// Someone else claimed the slot (after a reload dropped our marker):
		// drop our own markers of it and move the member.
		if ours := f.oursOf(listings, slot, p.Token); len(ours) > 0 {
			giveBack[slot] = ours
		}
		lost = append(lost, member)
		warnings = append(warnings, fmt.Sprintf("slot %s/%s of member %q is now claimed by another pool (%s); it is left alone and the member takes a new slot",
			p.Backend, slot, member, strings.Join(cs.foreign, ", ")))
	}
	if err := f.releaseMarkers(ctx, p.Backend, giveBack); err != nil {
		return nil, warnings, err
	}
	return lost, warnings, nil
}

// socketsKey names a set of sockets, for grouping.
func socketsKey(cs []*haproxy.Client) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Target()
	}
	return strings.Join(names, "\x00")
}

// oursOf lists the clients whose listing shows this pool's marker on slot.
func (f fleetOps) oursOf(listings []fleet.Listing, slot string, token netip.AddrPort) []*haproxy.Client {
	var out []*haproxy.Client
	for _, c := range f.Reachable(listings) {
		for _, l := range listings {
			if l.Socket == c.Target() && l.Claims[slot] == token {
				out = append(out, c)
			}
		}
	}
	return out
}

// claimNew gives each newcomer a free slot, claimed on every reachable
// socket. Candidates are tried lowest first; a slot lost to another pool is
// skipped. A claim counts only once a fresh read shows the slot still free
// apart from this pool's marker (a writer that takes no claims, such as a
// hand edit, may have taken it); otherwise it is released and the next
// candidate tried. It returns the slots it holds, also on error, so the
// caller can release them.
func (f fleetOps) claimNew(ctx context.Context, p Pool, newcomers []string, taken map[string]bool) (map[string]string, error) {
	out := map[string]string{}
	unconfirmed := map[string]string{}
	for round := 0; ; round++ {
		listings, _, _, err := f.ListFresh(ctx, p.Backend, p.Prefix)
		if err != nil {
			maps.Copy(out, unconfirmed)
			return out, err
		}
		overtaken := map[string][]*haproxy.Client{} // taken by a writer without claims
		for member, slot := range unconfirmed {
			if fleet.IsFreeButClaimed(slot, listings, p.Placeholder, p.Token) {
				out[member] = slot
			} else {
				overtaken[slot] = f.Reachable(listings)
			}
		}
		clear(unconfirmed)
		if err := f.releaseMarkers(ctx, p.Backend, overtaken); err != nil {
			return out, err
		}
		var need []string
		for _, member := range newcomers {
			if _, ok := out[member]; !ok {
				need = append(need, member)
			}
		}
		if len(need) == 0 {
			return out, nil
		}
		// Slots claimed by others carry their markers and are not free; a
		// slot two writers both lost on different sockets is free again.
		free := freeSlots(p, listings, taken)
		if len(free) == 0 {
			return out, &exhausted{need: len(need)}
		}
		if round == maxClaimRounds {
			return out, fmt.Errorf("could not claim %d free slots of %s/%s in %d rounds: other workspaces kept taking them; run apply again",
				len(need), p.Backend, p.Prefix, maxClaimRounds)
		}
		if round > 0 {
			// Writers that listed their sockets in different orders can keep
			// taking each other's claims; a random pause breaks the tie.
			if err := f.Clock().Sleep(ctx, time.Duration(mathrand.IntN(20))*time.Millisecond); err != nil {
				return out, err
			}
		}
		// Claim as many of the lowest free slots as members need, in one
		// batch per socket; members whose slot was lost try again.
		candidates := free[:min(len(need), len(free))]
		won, err := f.claim(ctx, f.Reachable(listings), p.Backend, candidates, p.Token)
		for i, slot := range won {
			unconfirmed[need[i]] = slot
		}
		if err != nil {
			maps.Copy(out, unconfirmed)
			return out, err
		}
	}
}

// maxClaimRounds bounds how often claimNew reads and claims again after
// losing slots to other writers.
const maxClaimRounds = 20

// exhausted is claimNew running out of free slots.
type exhausted struct{ need int }

func (e *exhausted) Error() string { return fmt.Sprintf("%d more free slots needed", e.need) }
