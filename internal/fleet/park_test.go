package fleet_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// Park restores each socket's own origin; a socket with none recorded (an
// imported resource, a socket skipped at create) parks on the placeholder.
// A slot that holds someone else's server is left alone.
func TestParkRestoresOrigins(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	f := fleettest.New(t, a.UnixTarget(), b.TCPTarget())
	ctx := context.Background()
	apply := func(addr string, port int) []fleet.SocketView {
		t.Helper()
		return applyEverywhere(t, f, fleet.Desired{Backend: "app", Server: "websrv2", Addr: netip.MustParseAddr(addr), Port: fleettest.IntP(port), State: haproxy.StateReady, Weight: fleettest.IntP(30)})
	}
	parked := func(weightOnA int) {
		t.Helper()
		for _, inst := range []*haproxytest.Instance{a, b} {
			want := 1
			if inst == a {
				want = weightOnA
			}
			if s := inst.State(t, "app", "websrv2"); s.Addr != "127.0.0.1" || s.Port != "1" || s.Admin != 5 || s.Wt != want {
				t.Fatalf("%s not parked with weight %d: %+v", inst.AdminSock, want, s)
			}
		}
	}
	// On a the slot's weight was changed by hand before it was taken: that
	// is its origin. On b it sat as configured, which needs no record.
	a.Admin(t, "set server app/websrv2 weight 7")
	origins := f.OriginsOf(apply("127.0.0.8", 8), fleet.Desired{})
	if o, ok := origins[a.UnixTarget()]; len(origins) != 1 || !ok || o.Weight != 7 || o.Addr != "127.0.0.1" || o.Port != 1 {
		t.Fatalf("origins = %+v, want only %s at 127.0.0.1:1 weight 7", origins, a.UnixTarget())
	}
	owner := fleet.Holding("", netip.MustParseAddrPort("127.0.0.8:8"))
	if warnings, err := f.Park(ctx, "app", "websrv2", origins, owner, fleet.Grace{}); err != nil || len(warnings) != 0 {
		t.Fatalf("park: %v %v", warnings, err)
	}
	parked(7)
	a.Admin(t, "set server app/websrv2 weight 1")

	// No origin at all, or an invalid one: the placeholder.
	apply("127.0.0.9", 9)
	owner = fleet.Holding("", netip.MustParseAddrPort("127.0.0.9:9"))
	bad := map[string]fleet.Origin{a.UnixTarget(): {Addr: "invalid IP", Port: 0, Weight: 1}}
	if warnings, err := f.Park(ctx, "app", "websrv2", bad, owner, fleet.Grace{}); err != nil || len(warnings) != 0 {
		t.Fatalf("park without origin: %v %v", warnings, err)
	}
	parked(1)

	// Someone else's server in the slot on one instance: left alone there.
	apply("127.0.0.10", 10)
	b.Admin(t, "set server app/websrv2 addr 127.0.0.77 port 77")
	b.WaitState(t, "app", "websrv2", func(s haproxytest.Server) bool { return s.Addr == "127.0.0.77" })
	owner = fleet.Holding("", netip.MustParseAddrPort("127.0.0.10:10"))
	warnings, err := f.Park(ctx, "app", "websrv2", nil, owner, fleet.Grace{})
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "127.0.0.77:77") || !strings.Contains(warnings[0], f.Name(b.TCPTarget())) {
		t.Fatalf("park of a foreign slot: %v %v", warnings, err)
	}
	if s := b.State(t, "app", "websrv2"); s.Addr != "127.0.0.77" || s.Admin != 4 {
		t.Fatalf("someone else's server was touched: %+v", s)
	}
	if s := a.State(t, "app", "websrv2"); s.Addr != "127.0.0.1" || s.Admin != 5 {
		t.Fatalf("our own slot was not parked: %+v", s)
	}
}
