package haproxystub_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxystub"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/pool"
)

// The stand-in is good enough for the benchmark when the provider's own
// code runs through it as it runs through HAProxy: a server applied,
// confirmed, read back and parked, and a pool claimed, applied and
// released, every reply accepted by the provider's strict parsers.
func listen(t *testing.T, slots int) *haproxystub.Stub {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "hxs") //nolint:usetesting // short paths for unix sockets
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s, err := haproxystub.Listen(dir+"/s.sock", 4242, haproxystub.Backend{Name: "app", ID: 3, Template: "websrv", Slots: slots, Placeholder: fleet.DefaultPlaceholder})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestAServerThroughTheStub(t *testing.T) {
	a, b := listen(t, 5), listen(t, 5)
	f, err := fleet.New([]string{"unix://" + a.Path, "unix://" + b.Path}, 3*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	port, weight := 8001, 7
	d := fleet.Desired{Backend: "app", Server: "websrv2", Addr: netip.MustParseAddr("127.0.0.61"), Port: &port, State: haproxy.StateReady, Weight: &weight}
	out, err := f.ApplyServer(ctx, d)
	if err != nil || len(out.Failed) > 0 {
		t.Fatalf("apply: %+v %v", out, err)
	}
	r, err := f.Reconcile("app", "websrv2", nil, f.Observe(ctx, "app", "websrv2"))
	if err != nil {
		t.Fatal(err)
	}
	if v := r.Values; v.Addr != "127.0.0.61" || v.Port != 8001 || v.State != haproxy.StateReady || v.Weight != 7 {
		t.Fatalf("read back %+v", v)
	}
	if p := f.Processes(ctx, f.Sockets()); len(p) != 2 || p["unix://"+a.Path].PID != 4242 {
		t.Fatalf("processes %+v", p)
	}
	owner := fleet.Holding("", netip.MustParseAddrPort("127.0.0.61:8001"))
	if _, err := f.Park(ctx, "app", "websrv2", nil, owner, fleet.Grace{DrainTimeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	r, _ = f.Reconcile("app", "websrv2", nil, f.Observe(ctx, "app", "websrv2"))
	if v := r.Values; v.Addr != "127.0.0.1" || v.Port != 1 || v.State != haproxy.StateMaint {
		t.Fatalf("parked %+v", v)
	}
	if a.Writes() == 0 || b.Writes() == 0 {
		t.Fatal("nothing was written to the stand-in")
	}
}

func TestAPoolThroughTheStub(t *testing.T) {
	a, b := listen(t, 20), listen(t, 20)
	f, err := fleet.New([]string{"unix://" + a.Path, "unix://" + b.Path}, 3*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := pool.Pool{Backend: "app", Prefix: "websrv", Placeholder: fleet.DefaultPlaceholder, Members: map[string]pool.Member{}, Token: pool.NewToken()}
	for i := range 12 {
		p.Members[fmt.Sprintf("m%02d", i)] = pool.Member{Addr: netip.MustParseAddr("127.0.0.70"), Port: 9000 + i, State: haproxy.StateReady}
	}
	assigned, warnings, err := pool.Apply(ctx, f, p)
	if err != nil || len(assigned) != 12 {
		t.Fatalf("apply: %v %v %v", assigned, warnings, err)
	}
	if assigned["m00"] != "websrv1" || assigned["m11"] != "websrv12" {
		t.Fatalf("not the lowest free slots, in member order: %v", assigned)
	}
	// A member leaves, one joins: the joiner does not get the leaver's slot
	// in the same apply (allocation's rule), and the leaver is parked.
	p.Assigned, p.Recorded = assigned, map[string]netip.AddrPort{}
	for k, m := range p.Members {
		p.Recorded[k] = netip.AddrPortFrom(m.Addr, uint16(m.Port))
	}
	delete(p.Members, "m03")
	p.Members["m99"] = pool.Member{Addr: netip.MustParseAddr("127.0.0.71"), Port: 9099, State: haproxy.StateReady}
	again, _, err := pool.Apply(ctx, f, p)
	if err != nil || again["m99"] != "websrv13" || again["m03"] != "" {
		t.Fatalf("second apply: %v %v", again, err)
	}
	r, _ := f.Reconcile("app", "websrv4", nil, f.Observe(ctx, "app", "websrv4"))
	if r.Values.State != haproxy.StateMaint || r.Values.Addr != "127.0.0.1" {
		t.Fatalf("the leaver's slot: %+v", r.Values)
	}
}
