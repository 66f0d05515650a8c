package fleet

import (
	"net/netip"
	"testing"
)

// The one owner rule as a table: every fact an object can show (recorded,
// imported per instance, written, origin, asked, claim marker), the
// placeholder and a parked slot, and another writer's value, for every act.
func TestClaimMine(t *testing.T) {
	ap := netip.MustParseAddrPort
	placeholder := ap("127.0.0.1:1")
	mine, imported, wrote := ap("127.0.0.3:80"), ap("127.0.0.3:81"), ap("127.0.0.4:80")
	origin, theirs := ap("127.0.0.9:90"), ap("127.0.0.7:70")
	full := Claim{Recorded: []netip.AddrPort{mine, imported}, Wrote: []netip.AddrPort{wrote}, Origin: origin}
	asked := Claim{Asked: netip.MustParseAddr("127.0.0.5"), AskedPort: 80}
	anyPort := Claim{Asked: netip.MustParseAddr("127.0.0.5")}
	marker := Claim{Marker: true}
	markerRecorded := Claim{Marker: true, Recorded: []netip.AddrPort{mine}}
	all := []Act{ActWrite, ActPark, ActRemove, ActAdopt}
	only := func(acts ...Act) map[Act]bool {
		m := map[Act]bool{}
		for _, a := range acts {
			m[a] = true
		}
		return m
	}
	cases := []struct {
		name  string
		claim Claim
		held  netip.AddrPort
		ok    map[Act]bool
	}{
		{"the recorded value", full, mine, only(all...)},
		{"a value an import found on another instance", full, imported, only(all...)},
		{"a value the object wrote", full, wrote, only(all...)},
		{"the origin", full, origin, only(ActPark)},
		{"the placeholder (a free or parked slot)", full, placeholder, only(ActWrite, ActPark)},
		{"another writer's value", full, theirs, only()},
		{"the origin's address on another port", full, ap("127.0.0.9:91"), only()},
		{"the value asked for (a killed run)", asked, ap("127.0.0.5:80"), only(ActWrite, ActAdopt)},
		{"the asked address on another port", asked, ap("127.0.0.5:81"), only()},
		{"the asked address, port left alone", anyPort, ap("127.0.0.5:8443"), only(ActWrite, ActAdopt)},
		{"nothing shown", Claim{}, theirs, only()},
		{"nothing shown, the placeholder", Claim{}, placeholder, only(ActWrite, ActPark)},
		{"a claim marker alone", marker, theirs, only(ActWrite, ActPark, ActAdopt)},
		{"a claim marker with the member's value, held", markerRecorded, mine, only(all...)},
		{"a claim marker with the member's value, a hand edit", markerRecorded, theirs, only()},
	}
	for _, tc := range cases {
		for _, act := range all {
			v := tc.claim.Mine(act, tc.held, placeholder)
			if v.Ok() != tc.ok[act] {
				t.Errorf("%s: %s of %s: mine = %v (%q), want %v", tc.name, act, tc.held, v.Ok(), v.Why, tc.ok[act])
			}
		}
	}
}

// What an object that leaves a server alone says: what it holds, and what
// the object could have shown.
func TestClaimForeignWording(t *testing.T) {
	ap := netip.MustParseAddrPort
	c := Claim{Recorded: []netip.AddrPort{ap("127.0.0.3:80"), ap("127.0.0.3:81")}}
	got := c.Foreign("app/websrv1", ActPark, ap("127.0.0.7:70"), ap("127.0.0.1:1"))
	want := "app/websrv1 holds 127.0.0.7:70, which is neither this resource's (127.0.0.3:80, 127.0.0.3:81) nor the placeholder 127.0.0.1:1: it belongs to someone else (another workspace, or a hand edit), so it was left alone (not parked)"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
