package pool

import (
	"net/netip"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Which unrecorded slot a pool adopts after a killed run, no socket.
func TestMemberHoldingAdoptsOnlyTheAskedAddress(t *testing.T) {
	placeholder := netip.MustParseAddrPort("127.0.0.1:1")
	p := Pool{Placeholder: placeholder, Members: map[string]Member{
		"a": {Addr: netip.MustParseAddr("127.0.0.3"), Port: 80},
		"b": {Addr: netip.MustParseAddr("127.0.0.4"), Port: 80},
		"c": {Addr: netip.MustParseAddr("127.0.0.5"), Port: 80},
		"d": {Addr: netip.MustParseAddr("127.0.0.5"), Port: 80},
	}}
	row := func(ap string) haproxy.ServerState {
		a := netip.MustParseAddrPort(ap)
		return haproxy.ServerState{Addr: a.Addr(), Port: int(a.Port())}
	}
	for _, tc := range []struct {
		name string
		held []haproxy.ServerState
		has  map[string]bool
		want string
	}{
		{"written everywhere", []haproxy.ServerState{row("127.0.0.4:80"), row("127.0.0.4:80")}, nil, "b"},
		{"written on one socket, the other still on the placeholder", []haproxy.ServerState{row("127.0.0.3:80"), row("127.0.0.1:1")}, nil, "a"},
		{"the member already has a slot", []haproxy.ServerState{row("127.0.0.3:80")}, map[string]bool{"a": true}, ""},
		{"another address on one socket", []haproxy.ServerState{row("127.0.0.3:80"), row("127.0.0.9:80")}, nil, ""},
		{"only the placeholder", []haproxy.ServerState{row("127.0.0.1:1"), row("127.0.0.1:1")}, nil, ""},
		{"another port", []haproxy.ServerState{row("127.0.0.3:81")}, nil, ""},
		{"no socket", nil, nil, ""},
		{"two members ask for the address: the first by key", []haproxy.ServerState{row("127.0.0.5:80")}, nil, "c"},
		{"two members ask for the address, the first has a slot", []haproxy.ServerState{row("127.0.0.5:80")}, map[string]bool{"c": true}, "d"},
	} {
		got, ok := indexMembers(p.Members).holding(tc.held, p.Placeholder, tc.has)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: holding = %q %v, want %q", tc.name, got, ok, tc.want)
		}
	}
}
