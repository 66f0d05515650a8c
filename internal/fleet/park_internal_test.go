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
