package pool

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// recoverOwn finds what an earlier run of this pool wrote but never
// recorded, because it was killed (or failed) before Terraform saved the
// pool: slots of the prefix that carry this pool's claim marker but are not
// in p.Assigned. The marker proves they are this pool's (see TokenFor for
// a pool that was being created). A slot that holds the configured address
// and port of a member that has no slot yet (on every socket the run got to
// write) is that member's: it is adopted, and nothing about it moves. Any other is given
// back: parked where it is not free already, and its markers released, so
// that this run's newcomers can claim it again (a slot serving an address no
// member asks for is not parked: someone may have written it since).
func (f fleetOps) recoverOwn(ctx context.Context, p Pool, listings []fleet.Listing, kept map[string]string) (adopted map[string]string, warnings []string, err error) {
	assigned := map[string]bool{}
	for _, slot := range p.Assigned {
		assigned[slot] = true
	}
	has := map[string]bool{}
	for member := range kept {
		has[member] = true
	}
	adopted = map[string]string{}
	var released []string
	giveBack := map[string][]*haproxy.Client{}
	byAddr := indexMembers(p.Members)
	for _, slot := range slices.Sorted(maps.Keys(slotNames(p.Prefix, listings))) {
		ours := f.oursOf(listings, slot, p.Token)
		if assigned[slot] || len(ours) == 0 {
			continue
		}
		held := heldOn(slot, listings)
		if member, ok := byAddr.holding(held, p.Placeholder, has); ok && len(f.claimStateOf(listings, slot, p.Token).foreign) == 0 {
			adopted[member], has[member] = slot, true
			continue
		}
		switch contested := len(f.claimStateOf(listings, slot, p.Token).foreign) > 0; {
		case contested, parkedEverywhere(held, p.Placeholder):
		case onPlaceholder(held, p.Placeholder):
			w, err := f.Park(ctx, p.Backend, slot, parkedOrigins(slot, listings, p.Placeholder), fleet.Owner{Claim: fleet.Claim{Marker: true}}, p.Grace)
			warnings = append(warnings, w...)
			if err != nil {
				return nil, warnings, fmt.Errorf("slot %s/%s, claimed by an earlier run of this pool that did not finish: %w", p.Backend, slot, err)
			}
		default:
			// It serves something this configuration does not ask for: the
			// marker says this pool claimed it, but not who wrote it since.
			// Only the claim is given back; the slot is left as it is.
			warnings = append(warnings, fmt.Sprintf("slot %s/%s carries this pool's claim from an earlier run that did not finish, but serves an address no member asks for; the claim was released and the slot left alone",
				p.Backend, slot))
		}
		giveBack[slot] = ours
		released = append(released, slot)
	}
	if err := f.releaseMarkers(ctx, p.Backend, giveBack); err != nil {
		return nil, warnings, err
	}
	if len(adopted) > 0 {
		warnings = append(warnings, fmt.Sprintf("an earlier run of this pool did not finish: %d slots it had written already serve members of this configuration and are kept for them (%s)",
			len(adopted), summarise(slices.Sorted(maps.Values(adopted)))))
	}
	if len(released) > 0 {
		warnings = append(warnings, fmt.Sprintf("an earlier run of this pool did not finish: %d slots it had claimed were parked and released (%s)",
			len(released), summarise(released)))
	}
	return adopted, warnings, nil
}

// heldOn is what slot holds on each socket's listing.
func heldOn(slot string, listings []fleet.Listing) []haproxy.ServerState {
	var out []haproxy.ServerState
	for _, l := range listings {
		if s, ok := l.Server(slot); ok {
			out = append(out, s)
		}
	}
	return out
}

// memberIndex lists a pool's member keys by configured address:port, each
// list sorted: looking a slot's address up in it keeps recovering thousands
// of slots linear, where trying every member for every slot was not.
type memberIndex map[netip.AddrPort][]string

func indexMembers(members map[string]Member) memberIndex {
	ix := memberIndex{}
	for _, key := range slices.Sorted(maps.Keys(members)) {
		m := members[key]
		want := netip.AddrPortFrom(m.Addr, uint16(m.Port))
		ix[want] = append(ix[want], key)
	}
	return ix
}

// holding finds the member without a slot (not in has) whose configured
// address and port the slot holds, on every socket where it is not still on
// the placeholder (a run killed before it wrote that socket); the first by
// key when several members ask for the same address.
func (ix memberIndex) holding(held []haproxy.ServerState, placeholder netip.AddrPort, has map[string]bool) (string, bool) {
	var on netip.AddrPort
	for _, s := range held {
		switch ap := netip.AddrPortFrom(s.Addr, uint16(s.Port)); {
		case ap == placeholder:
		case on.IsValid() && ap != on:
			return "", false // two addresses: no member holds it alone
		default:
			on = ap
		}
	}
	if !on.IsValid() {
		return "", false
	}
	for _, key := range ix[on] {
		if !has[key] {
			return key, true
		}
	}
	return "", false
}

// parkedEverywhere reports whether the slot is on the placeholder in maint
// on every socket.
func parkedEverywhere(held []haproxy.ServerState, placeholder netip.AddrPort) bool {
	for _, s := range held {
		if netip.AddrPortFrom(s.Addr, uint16(s.Port)) != placeholder || s.Admin.UserState() != haproxy.StateMaint {
			return false
		}
	}
	return true
}

// onPlaceholder reports whether the slot is on the placeholder on every
// socket (in any state).
func onPlaceholder(held []haproxy.ServerState, placeholder netip.AddrPort) bool {
	for _, s := range held {
		if netip.AddrPortFrom(s.Addr, uint16(s.Port)) != placeholder {
			return false
		}
	}
	return true
}

// summarise lists names, the first few only.
func summarise(names []string) string {
	const most = 5
	if len(names) <= most {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:most], ", "), len(names)-most)
}
