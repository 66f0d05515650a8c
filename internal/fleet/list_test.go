package fleet

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

func TestFreeSlotsOrderAndRules(t *testing.T) {
	mk := func(name, addr string, port int, admin haproxy.AdminFlags) haproxy.ServerState {
		return haproxy.ServerState{Backend: "app", Name: name, Addr: netip.MustParseAddr(addr), Port: port, Admin: admin}
	}
	a := Listing{Socket: "unix:///a", Servers: []haproxy.ServerState{
		mk("websrv10", "127.0.0.1", 1, 5), mk("websrv2", "127.0.0.1", 1, 5), mk("websrv1", "10.0.0.1", 80, 4),
		mk("websrv3", "127.0.0.1", 1, 5), mk("other1", "127.0.0.1", 1, 5), mk("websrv03", "127.0.0.1", 1, 5),
		mk("websrvx", "127.0.0.1", 1, 5), mk("websrv4", "10.0.0.4", 80, 1),
	}}
	b := Listing{Socket: "tcp://b:1", Servers: []haproxy.ServerState{
		mk("websrv10", "127.0.0.1", 1, 5), mk("websrv2", "127.0.0.1", 1, 5), mk("websrv1", "10.0.0.1", 80, 4),
		mk("websrv3", "127.0.0.1", 1, 4), // serving on b: not free
		mk("other1", "127.0.0.1", 1, 5), mk("websrv03", "127.0.0.1", 1, 5), mk("websrvx", "127.0.0.1", 1, 5), mk("websrv4", "10.0.0.4", 80, 1),
	}}
	got := FreeSlots("websrv", []Listing{a, b}, netip.AddrPort{})
	if strings.Join(got, ",") != "websrv2,websrv4,websrv10" {
		t.Fatalf("free slots = %v", got)
	}
	// With a placeholder, a slot in maint elsewhere is not free.
	got = FreeSlots("websrv", []Listing{a, b}, netip.MustParseAddrPort("127.0.0.1:1"))
	if strings.Join(got, ",") != "websrv2,websrv10" {
		t.Fatalf("free slots with placeholder = %v", got)
	}
	if err := (&Fleet{}).sameServers("app", "", []Listing{a, {Socket: "tcp://c:1", Servers: a.Servers[:3]}}); err == nil || !strings.Contains(err.Error(), "websrv3 is on unix:///a but not on tcp://c:1") {
		t.Fatalf("disagreement not reported: %v", err)
	}
	// Only servers named with the prefix must agree.
	other := Listing{Socket: "tcp://c:1", Servers: append(slices.Clone(a.Servers), haproxy.ServerState{Backend: "app", Name: "dyn1"})}
	if err := (&Fleet{}).sameServers("app", "websrv", []Listing{a, other}); err != nil {
		t.Fatalf("a server outside the prefix on one socket only: %v", err)
	}
	if err := (&Fleet{}).sameServers("app", "", []Listing{a, other}); err == nil || !strings.Contains(err.Error(), "dyn1") {
		t.Fatalf("with no prefix every server must agree: %v", err)
	}
}
