package fleet

import (
	"net/netip"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Pure decisions of ownership, no socket: which pre-write value is an
// origin, who may park a slot, when a park hands over, which unrecorded
// slot a pool adopts, and the token a created pool derives.

func TestOriginsOfSkipsTheResourcesOwnAddress(t *testing.T) {
	f, err := New([]string{"unix:///tmp/a.sock", "unix:///tmp/b.sock", "unix:///tmp/c.sock"}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	port := 8080
	d := Desired{Addr: netip.MustParseAddr("127.0.0.3"), Port: &port}
	row := func(addr string, port, weight int) haproxy.ServerState {
		return haproxy.ServerState{Addr: netip.MustParseAddr(addr), Port: port, UserWeight: weight, InitialWeight: 1}
	}
	got := f.OriginsOf([]SocketView{
		{Socket: "unix:///tmp/a.sock", Current: row("127.0.0.3", 8080, 1)}, // a killed run of d wrote it
		{Socket: "unix:///tmp/b.sock", Current: row("127.0.0.1", 1, 1)},    // the placeholder
		{Socket: "unix:///tmp/c.sock", Current: row("127.0.0.9", 90, 5)},   // a true origin
	}, d)
	if len(got) != 1 || got["unix:///tmp/c.sock"] != (Origin{Addr: "127.0.0.9", Port: 90, Weight: 5}) {
		t.Errorf("origins = %v, want only c's 127.0.0.9:90 weight 5", got)
	}
	// With the port left alone, any port on the asked address is d's.
	d.Port = nil
	if got := f.OriginsOf([]SocketView{{Socket: "unix:///tmp/a.sock", Current: row("127.0.0.3", 9999, 1)}}, d); len(got) != 0 {
		t.Errorf("origins = %v, want none", got)
	}
}

func TestOwnerAcceptsWhatItWrote(t *testing.T) {
	ap := netip.MustParseAddrPort
	placeholder, origin := ap("127.0.0.1:1"), ap("127.0.0.9:90")
	o := Owner{Recorded: placeholder, Wrote: []netip.AddrPort{ap("127.0.0.3:8080"), ap("127.0.0.4:8080")}}
	for held, want := range map[netip.AddrPort]bool{
		ap("127.0.0.3:8080"): true, ap("127.0.0.4:8080"): true, placeholder: true, origin: true,
		ap("127.0.0.5:8080"): false, ap("127.0.0.3:8081"): false,
	} {
		if got := o.owns(held, origin, placeholder); got != want {
			t.Errorf("owns(%s) = %v, want %v", held, got, want)
		}
	}
}

func TestParkHandsOverOnlyToAnotherWriter(t *testing.T) {
	var w slotWriters
	if why := w.handedOver("app", "s1", "x"); why != "" {
		t.Errorf("a slot nobody wrote in this process is the parker's: %s", why)
	}
	w.wrote("app", "s0", "pool") // a pool writes under its own lock, not the slot's
	unlock := w.lock("app", "s1")
	w.wrote("app", "s1", "new")
	unlock()
	if why := w.handedOver("app", "s1", "new"); why != "" {
		t.Errorf("the writer itself parks: %s", why)
	}
	if why := w.handedOver("app", "s1", "old"); why == "" {
		t.Error("the deposed object must hand the slot over")
	}
	if why := w.handedOver("app", "s2", "old"); why != "" {
		t.Errorf("another slot is not handed over: %s", why)
	}
}

func TestMemberHoldingAdoptsOnlyTheAskedAddress(t *testing.T) {
	placeholder := netip.MustParseAddrPort("127.0.0.1:1")
	p := Pool{Placeholder: placeholder, Members: map[string]PoolMember{
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

func TestPoolTokenIsTheConfigurations(t *testing.T) {
	members := map[string]PoolMember{"a": {Addr: netip.MustParseAddr("127.0.0.3"), Port: 80}, "b": {Addr: netip.MustParseAddr("127.0.0.4"), Port: 80}}
	tok := PoolToken("app", "websrv", members)
	if again := PoolToken("app", "websrv", map[string]PoolMember{"b": members["b"], "a": members["a"]}); again != tok {
		t.Errorf("the same configuration gives %s and %s", tok, again)
	}
	b := tok.Addr().As4()
	if b[0] != 127 || b[1] == 0 || tok.Port() < 1024 {
		t.Errorf("token %s is not in 127.1-255.x.x with a port >= 1024", tok)
	}
	other := map[string]PoolMember{"a": members["a"], "b": {Addr: members["b"].Addr, Port: 81}}
	for name, t2 := range map[string]netip.AddrPort{
		"another port":    PoolToken("app", "websrv", other),
		"another prefix":  PoolToken("app", "web", members),
		"another backend": PoolToken("api", "websrv", members),
	} {
		if t2 == tok {
			t.Errorf("%s gives the same token %s", name, tok)
		}
	}
}
