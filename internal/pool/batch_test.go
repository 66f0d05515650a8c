package pool_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/pool"
)

// In the batched pool path a refused command stops only its own slot: the
// member whose weight HAProxy refuses (static-rr) is never made ready, the
// other member is, and the error names the member and the socket.
func TestPoolBatchIsolatesFailures(t *testing.T) {
	cfg := "backend slb\n    balance static-rr\n    server-template s 1-3 127.0.0.1:1 disabled\n"
	a, b := haproxytest.Start(t, haproxytest.Options{ExtraConfig: cfg}), haproxytest.Start(t, haproxytest.Options{ExtraConfig: cfg})
	f := fleettest.New(t, a.UnixTarget(), b.TCPTarget())
	p := pool.Pool{Backend: "slb", Prefix: "s", Placeholder: netip.MustParseAddrPort("127.0.0.1:1"), Token: pool.NewToken(), Members: map[string]pool.Member{
		"m1": {Addr: netip.MustParseAddr("127.0.0.11"), Port: 11, State: haproxy.StateReady, Weight: fleettest.IntP(3)},
		"m2": {Addr: netip.MustParseAddr("127.0.0.12"), Port: 12, State: haproxy.StateReady},
	}}
	assigned, _, err := pool.Apply(context.Background(), f, p)
	if assigned["m1"] != "s1" || assigned["m2"] != "s2" {
		t.Fatalf("assigned = %v", assigned)
	}
	if err == nil || !strings.Contains(err.Error(), `member "m1"`) || !strings.Contains(err.Error(), "static LB") ||
		!strings.Contains(err.Error(), f.Name(a.UnixTarget())) || !strings.Contains(err.Error(), f.Name(b.TCPTarget())) {
		t.Fatalf("err = %v", err)
	}
	for _, inst := range []*haproxytest.Instance{a, b} {
		if s := inst.State(t, "slb", "s1"); s.Admin != 5 {
			t.Fatalf("%s: s1 was put in service although its weight was refused: %+v", inst.AdminSock, s)
		}
		if s := inst.State(t, "slb", "s2"); s.Admin != 4 || s.Addr != "127.0.0.12" || s.Port != "12" {
			t.Fatalf("%s: s2 not applied: %+v", inst.AdminSock, s)
		}
	}
}
