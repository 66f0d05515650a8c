package fleet

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// recoverOwn finds what an earlier run of this pool wrote but never
// recorded, because it was killed (or failed) before Terraform saved the
// pool: slots of the prefix that carry this pool's claim marker but are not
// in p.Assigned. The marker proves they are this pool's (see PoolToken for
// a pool that was being created). A slot that holds the configured address
// and port of a member that has no slot yet (on every socket the run got to
// write) is that member's: it is adopted, and nothing about it moves. Any other is given
// back: parked where it is not free already, and its markers released, so
// that this run's newcomers can claim it again (a slot serving an address no
// member asks for is not parked: someone may have written it since).
func (f *Fleet) recoverOwn(ctx context.Context, p Pool, listings []Listing, kept map[string]string) (adopted map[string]string, warnings []string, err error) {
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
	for _, slot := range slices.Sorted(maps.Keys(slotNames(p.Prefix, listings))) {
		ours := f.oursOf(listings, slot, p.Token)
		if assigned[slot] || len(ours) == 0 {
			continue
		}
		held := heldOn(slot, listings)
		if member, ok := memberHolding(p, held, has); ok && len(f.claimStateOf(listings, slot, p.Token).foreign) == 0 {
			adopted[member], has[member] = slot, true
			continue
		}
		switch contested := len(f.claimStateOf(listings, slot, p.Token).foreign) > 0; {
		case contested, parkedEverywhere(held, p.Placeholder):
		case onPlaceholder(held, p.Placeholder):
			w, err := f.Park(ctx, p.Backend, slot, parkedOrigins(slot, listings, p.Placeholder), Owner{Claimed: true}, p.Grace)
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
		if err := f.release(ctx, ours, p.Backend, slot); err != nil {
			return nil, warnings, err
		}
		released = append(released, slot)
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
func heldOn(slot string, listings []Listing) []haproxy.ServerState {
	var out []haproxy.ServerState
	for _, l := range listings {
		for _, s := range l.Servers {
			if s.Name == slot {
				out = append(out, s)
			}
		}
	}
	return out
}

// memberHolding finds the member without a slot (not in has) whose
// configured address and port the slot holds, on every socket where it is
// not still on the placeholder.
func memberHolding(p Pool, held []haproxy.ServerState, has map[string]bool) (string, bool) {
	if len(held) == 0 {
		return "", false
	}
	for _, key := range slices.Sorted(maps.Keys(p.Members)) {
		m := p.Members[key]
		if has[key] {
			continue
		}
		want := netip.AddrPortFrom(m.Addr, uint16(m.Port))
		mine, rest := 0, 0
		for _, s := range held {
			switch netip.AddrPortFrom(s.Addr, uint16(s.Port)) {
			case want:
				mine++
			case p.Placeholder: // the run was killed before it wrote this socket
			default:
				rest++
			}
		}
		if mine > 0 && rest == 0 {
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
