package fleet

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

func TestSlotOf(t *testing.T) {
	for name, want := range map[string]string{"websrv12": "websrv", "s1": "s", "api-7": "api-"} {
		if got, ok := SlotOf(name); !ok || got != want {
			t.Errorf("SlotOf(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"websrv", "12", "web01", "websrv1.claim"} {
		if p, ok := SlotOf(name); ok {
			t.Errorf("SlotOf(%q) = %q: not a slot name", name, p)
		}
	}
}

func surveyRow(name, addr string, port int, admin haproxy.AdminFlags) haproxy.ServerState {
	return haproxy.ServerState{Backend: "app", Name: name, ID: 1, Addr: netip.MustParseAddr(addr), Port: port, Admin: admin, UserWeight: 1}
}

// merge joins what each instance holds: who lacks a server, which values
// split, which slot is claimed; Parked needs maint on the placeholder
// everywhere.
func TestMergeAndParked(t *testing.T) {
	f := &Fleet{}
	const maint, ready = haproxy.AdminFlags(1), haproxy.AdminFlags(0)
	read := []survey{
		{socket: "a", servers: []haproxy.ServerState{
			surveyRow("websrv1", "127.0.0.1", 1, maint), surveyRow("websrv2", "127.0.0.5", 80, ready), surveyRow("only_a", "127.0.0.5", 80, ready)},
			claims: map[string]bool{"app/websrv2": true}},
		{socket: "b", servers: []haproxy.ServerState{
			surveyRow("websrv1", "127.0.0.1", 1, maint), surveyRow("websrv2", "127.0.0.6", 80, haproxy.AdminFlags(8))}},
	}
	found := f.merge(read)
	if len(found) != 3 {
		t.Fatalf("got %d servers, want 3", len(found))
	}
	ph := netip.MustParseAddrPort("127.0.0.1:1")
	w1, w2, a := found[0], found[1], found[2]
	if !w1.Parked(ph) || len(w1.Split) != 0 || w1.Claimed {
		t.Errorf("websrv1: %+v", w1)
	}
	if w2.Parked(ph) || !w2.Claimed || !slices.Equal(w2.Split, []Attr{AttrAddress, AttrState}) {
		t.Errorf("websrv2: parked=%v claimed=%v split=%v", w2.Parked(ph), w2.Claimed, w2.Split)
	}
	if !slices.Equal(a.Missing, []string{"b"}) {
		t.Errorf("only_a: missing %v, want [b]", a.Missing)
	}
	if v, ok := w2.Agreed(AttrPort); !ok || v.Port != 80 {
		t.Errorf("websrv2 agrees on port 80: %v %v", v, ok)
	}
}
