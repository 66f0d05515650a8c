package fleet

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Listing is one socket's view of every server of a backend.
type Listing struct {
	Socket  string
	Servers []haproxy.ServerState // without claim markers
	// Claims maps a slot to the address:port of its claim marker (see
	// pool/claim.go), for the slots that have one on this socket.
	Claims map[string]netip.AddrPort
	// byName indexes Servers by name. A pool looks up each of its slots in
	// every socket's listing: without an index that is members × servers ×
	// sockets, which at 5000 slots on 20 sockets took seconds per refresh.
	byName map[string]int
}

// Server finds a server of the listing by name.
func (l Listing) Server(name string) (haproxy.ServerState, bool) {
	if l.byName != nil {
		i, ok := l.byName[name]
		if !ok {
			return haproxy.ServerState{}, false
		}
		return l.Servers[i], true
	}
	for _, s := range l.Servers { // a listing built by hand (tests)
		if s.Name == name {
			return s, true
		}
	}
	return haproxy.ServerState{}, false
}

// indexed returns l with its name index built.
func (l Listing) indexed() Listing {
	l.byName = make(map[string]int, len(l.Servers))
	for i, s := range l.Servers {
		if _, dup := l.byName[s.Name]; !dup {
			l.byName[s.Name] = i
		}
	}
	return l
}

// List reads every server of a backend on every socket. It fails when a
// socket cannot be read (or is skipped: with SkipUnreachable a warning says
// so) and when the sockets disagree about which servers named with prefix
// exist ("": any server), because then the HAProxy configurations differ.
// Servers outside the prefix may differ: another resource's dynamic server
// is added and deleted one socket at a time, often while a pool is at work.
func (f *Fleet) List(ctx context.Context, backend, prefix string) (listings []Listing, warnings []string, err error) {
	return f.list(ctx, backend, prefix, f.clock.Now().Add(-freshness), false)
}

// list reads with a fetch that started no earlier than notBefore; with
// needAdmin, a socket whose level is not admin is an error.
func (f *Fleet) list(ctx context.Context, backend, prefix string, notBefore time.Time, needAdmin bool) (listings []Listing, warnings []string, err error) {
	listings, _, warnings, err = f.listSkipping(ctx, backend, prefix, notBefore, needAdmin)
	return listings, warnings, err
}

// listSkipping is list that also returns why each skipped socket was
// skipped (with SkipUnreachable).
func (f *Fleet) listSkipping(ctx context.Context, backend, prefix string, notBefore time.Time, needAdmin bool) (listings []Listing, skipped Errors, warnings []string, err error) {
	if err := haproxy.ValidateName("backend", backend); err != nil {
		return nil, nil, nil, err
	}
	answers, err := gather(ctx, f, true, func(ctx context.Context, c *haproxy.Client) (Listing, error) {
		snap, err := f.read(ctx, c, backend, nil, notBefore)
		if err == nil && needAdmin && snap.level != "admin" {
			err = fmt.Errorf("%s: the socket's level is %q; writes need `level admin` on the stats socket", c.Name(), snap.level)
		}
		if err != nil {
			return Listing{Socket: c.Target()}, err
		}
		l := Listing{Socket: c.Target(), Claims: map[string]netip.AddrPort{}}
		for _, s := range snap.st.Servers {
			switch {
			case s.Backend != backend:
			case isClaimMarker(s.Name):
				l.Claims[claimedSlot(s.Name)] = netip.AddrPortFrom(s.Addr, uint16(s.Port))
			default:
				l.Servers = append(l.Servers, s)
			}
		}
		return l.indexed(), nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	for _, a := range answers {
		if a.skipped == nil {
			listings = append(listings, a.v)
		}
	}
	skipped = skippedOf(answers)
	warnings = skipWarnings(skipped, "")
	if err := f.sameServers(backend, prefix, listings); err != nil {
		return nil, nil, nil, err
	}
	return listings, skipped, warnings, nil
}

// sameServers checks that every listing names the same servers among those
// named with prefix.
func (f *Fleet) sameServers(backend, prefix string, listings []Listing) error {
	names := func(l Listing) map[string]bool {
		m := make(map[string]bool, len(l.Servers))
		for _, s := range l.Servers {
			if strings.HasPrefix(s.Name, prefix) {
				m[s.Name] = true
			}
		}
		return m
	}
	first := names(listings[0])
	var diffs []string
	for _, l := range listings[1:] {
		other := names(l)
		for n := range first {
			if !other[n] {
				diffs = append(diffs, fmt.Sprintf("%s is on %s but not on %s", n, f.Name(listings[0].Socket), f.Name(l.Socket)))
			}
		}
		for n := range other {
			if !first[n] {
				diffs = append(diffs, fmt.Sprintf("%s is on %s but not on %s", n, f.Name(l.Socket), f.Name(listings[0].Socket)))
			}
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		return fmt.Errorf("the HAProxy instances disagree about which servers backend %q has: %s", backend, strings.Join(diffs, "; "))
	}
	return nil
}

// IsFree reports whether a server is a free slot on every listing: in
// forced maintenance, claimed by no pool and, when placeholder is valid,
// parked on it.
func IsFree(name string, listings []Listing, placeholder netip.AddrPort) bool {
	for _, l := range listings {
		if _, claimed := l.Claims[name]; claimed {
			return false
		}
		s, found := l.Server(name)
		if !found || s.Admin.UserState() != haproxy.StateMaint {
			return false
		}
		if placeholder.IsValid() && (s.Addr != placeholder.Addr() || s.Port != int(placeholder.Port())) {
			return false
		}
	}
	return true
}

// FreeSlots lists the free slots named <prefix><number> in allocation order:
// by number, so websrv2 comes before websrv10.
func FreeSlots(prefix string, listings []Listing, placeholder netip.AddrPort) []string {
	type slot struct {
		name string
		n    int
	}
	var slots []slot
	for _, s := range listings[0].Servers {
		n, ok := SlotNumber(prefix, s.Name)
		if !ok {
			continue
		}
		if IsFree(s.Name, listings, placeholder) {
			slots = append(slots, slot{s.Name, n})
		}
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].n < slots[j].n })
	out := make([]string, len(slots))
	for i, s := range slots {
		out[i] = s.name
	}
	return out
}

// IsFreeButClaimed is IsFree for a slot a pool has just claimed: free in
// every respect except that it carries that pool's marker (token)
// everywhere.
func IsFreeButClaimed(slot string, listings []Listing, placeholder, token netip.AddrPort) bool {
	stripped := make([]Listing, len(listings))
	for i, l := range listings {
		if l.Claims[slot] != token {
			return false
		}
		stripped[i] = Listing{Socket: l.Socket, Servers: l.Servers, byName: l.byName}
	}
	return IsFree(slot, stripped, placeholder)
}
