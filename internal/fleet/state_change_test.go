package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// A state change checks every server on every socket first: one server
// missing on one instance, or one parked slot asked to be ready, changes
// nothing anywhere. A pool's claimed slot is the operator's to drain.
func TestChangeStatePreflightsEverything(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	for _, inst := range []*haproxytest.Instance{a, b} {
		for _, srv := range []string{"websrv1", "websrv2"} {
			inst.Admin(t, "set server app/"+srv+" addr 127.0.0.1 port 9")
			inst.Admin(t, "set server app/"+srv+" state ready")
		}
		inst.Admin(t, "add server app/"+fleet.ClaimMarker("websrv2")+" 127.9.9.9:4000 disabled")
	}
	a.Admin(t, "add server app/dyn1 127.0.0.1:9") // on a only
	f := fleettest.New(t, a.UnixTarget(), b.TCPTarget())
	ctx := context.Background()
	unchanged := func(why string) {
		t.Helper()
		for _, inst := range []*haproxytest.Instance{a, b} {
			if s := inst.State(t, "app", "websrv1"); s.Admin != 4 { // ready (4: CMAINT left from the `disabled` slot line)
				t.Fatalf("%s: websrv1 changed on %s: %+v", why, inst.AdminSock, s)
			}
		}
	}

	_, err := f.ChangeState(ctx, fleet.StateChange{Backend: "app", Servers: []string{"websrv1", "dyn1"}, State: haproxy.StateMaint})
	if err == nil || !strings.Contains(err.Error(), `has no server "dyn1"`) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("a server missing on one instance must stop everything, got %v", err)
	}
	unchanged("missing server")
	_, err = f.ChangeState(ctx, fleet.StateChange{Backend: "app", Servers: []string{"websrv1", "websrv3"}, State: haproxy.StateReady})
	if !errors.Is(err, fleet.ErrParkedServer) && (err == nil || !strings.Contains(err.Error(), fleet.ErrParkedServer.Error())) {
		t.Fatalf("a parked slot must not be made ready, got %v", err)
	}
	if s := a.State(t, "app", "websrv3"); s.Admin != 5 {
		t.Fatalf("websrv3 left maint: %+v", s)
	}

	if _, err := f.ChangeState(ctx, fleet.StateChange{Backend: "app", Servers: []string{"websrv1", "websrv2"}, State: haproxy.StateDrain}); err != nil {
		t.Fatal(err)
	}
	for _, inst := range []*haproxytest.Instance{a, b} {
		for _, srv := range []string{"websrv1", "websrv2"} {
			if s := inst.State(t, "app", srv); s.Admin != 12 || s.Addr != "127.0.0.1" || s.Port != fmt.Sprint(9) {
				t.Fatalf("%s on %s should be in drain where it was: %+v", srv, inst.AdminSock, s)
			}
		}
	}
}
