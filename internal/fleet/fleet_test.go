package fleet_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// With SkipUnreachable a dead socket is skipped with a warning, the rest is
// written, and a socket that answers with an error still stops everything.
func TestSkipUnreachable(t *testing.T) {
	a := haproxytest.Start(t)
	dead := "unix:///tmp/no-such-haproxy-" + fmt.Sprint(time.Now().UnixNano()) + ".sock"
	f, err := fleet.New([]string{a.UnixTarget(), dead}, 2*time.Second, nil, fleet.SkipUnreachable())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	views, warnings, err := f.Preflight(ctx, "app", "websrv4")
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], f.Name(dead)) || views[1].Skipped == nil {
		t.Fatalf("views=%+v warnings=%q err=%v", views, warnings, err)
	}
	d := fleet.Desired{Backend: "app", Server: "websrv4", Addr: netip.MustParseAddr("127.0.0.4"), Port: fleettest.IntP(4), State: haproxy.StateMaint}
	res := f.Apply(ctx, d, views)
	if res[0].Err != nil || res[1].Skipped == nil {
		t.Fatalf("results = %+v", res)
	}
	r, err := f.Reconcile("app", "websrv4", nil, f.Observe(ctx, "app", "websrv4"))
	if err != nil || r.Values.Addr != "127.0.0.4" || len(r.Skipped) != 1 {
		t.Fatalf("read: %+v %v", r, err)
	}
	if _, _, err := f.Preflight(ctx, "app", "nope"); err == nil {
		t.Fatal("a socket answering `no such server` was skipped")
	}
	_, err = f.Reconcile("app", "websrv4", nil, []fleet.Observation{{Socket: dead, Skipped: &haproxy.Error{Kind: haproxy.ErrTransport}}})
	if err == nil {
		t.Fatal("nothing reachable, yet no error")
	}
}

// A socket declared with `severity-output` prefixes replies with their level;
// every operation works through it, and a refused command is still an error.
func TestSeverityOutputSockets(t *testing.T) {
	for _, mode := range []string{"number", "string"} {
		t.Run(mode, func(t *testing.T) {
			inst := haproxytest.Start(t, haproxytest.Options{SeverityOutput: mode})
			f := fleettest.New(t, "unix://"+inst.SevSock)
			ctx := context.Background()
			d := fleet.Desired{Backend: "app", Server: "websrv1", Addr: netip.MustParseAddr("127.0.0.5"), Port: fleettest.IntP(5), State: haproxy.StateDrain, Weight: fleettest.IntP(7)}
			pre, _, err := f.Preflight(ctx, "app", "websrv1")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range f.Apply(ctx, d, pre) {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			if s := inst.State(t, "app", "websrv1"); s.Addr != "127.0.0.5" || s.Port != "5" || s.Admin != 12 || s.Wt != 7 {
				t.Fatalf("after apply: %+v", s)
			}
			r, err := f.Reconcile("app", "websrv1", nil, f.Observe(ctx, "app", "websrv1"))
			if err != nil || r.Values.Addr != "127.0.0.5" || r.Values.State != haproxy.StateDrain {
				t.Fatalf("observe: %+v %v", r, err)
			}
			owner := fleet.Holding("", netip.MustParseAddrPort("127.0.0.5:5"))
			if _, err := f.Park(ctx, "app", "websrv1", f.OriginsOf(pre, fleet.Desired{}), owner, fleet.Grace{}); err != nil {
				t.Fatal(err)
			}
			if s := inst.State(t, "app", "websrv1"); s.Addr != "127.0.0.1" || s.Port != "1" || s.Admin != 5 {
				t.Fatalf("after park: %+v", s)
			}
			// Refusals stay refusals: a disabled backend, a static-rr weight.
			if _, _, err := f.Preflight(ctx, "off", "o1"); err == nil {
				t.Fatal("pre-flight of a disabled backend passed")
			}
			c := haproxy.New(fleettest.Transport(t, "unix://"+inst.SevSock))
			weight, _ := haproxy.SetServerWeight("staticlb", "t1", 3)
			if _, err := c.Run(ctx, weight); err == nil || !strings.Contains(err.Error(), "static LB") {
				t.Fatalf("refused weight: %v", err)
			}
			ready, _ := haproxy.SetServerState("app", "nope", haproxy.StateReady)
			if _, err := c.Run(ctx, ready); !haproxy.IsGone(err) {
				t.Fatalf("missing server: %v", err)
			}
		})
	}
}
