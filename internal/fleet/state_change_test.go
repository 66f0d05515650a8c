package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
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

// A drain wait runs on the fleet's clock: with a session held open, a wait
// of a minute ends in ErrDrainUnfinished after exactly a minute of that
// clock, polled every 200 ms of it, and takes real time only for the polls.
// The progress line is told every 2 s of it.
func TestDrainWaitRunsOnTheFleetsClock(t *testing.T) {
	a := haproxytest.Start(t)
	release := make(chan struct{})
	defer close(release)
	be := haproxytest.StartHeldHTTP(t, "held", "127.0.0.55", release)
	a.Admin(t, fmt.Sprintf("set server app/websrv1 addr %s port %d", be.Host, be.Port))
	a.Admin(t, "set server app/websrv1 state ready")
	a.WaitState(t, "app", "websrv1", func(s haproxytest.Server) bool { return s.Addr == be.Host })
	go func() { _, _ = (&http.Client{Timeout: 30 * time.Second}).Get(a.FrontendURL()) }()
	a.WaitSession(t, "websrv1")

	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	clk := poll.NewManual(start)
	f, err := fleet.New([]string{a.UnixTarget()}, 3*time.Second, nil, fleet.Clock(clk))
	if err != nil {
		t.Fatal(err)
	}
	var told []string
	began := time.Now()
	_, err = f.ChangeState(context.Background(), fleet.StateChange{Backend: "app", Servers: []string{"websrv1"}, State: haproxy.StateDrain,
		WaitSessions: time.Minute, Progress: func(s string) { told = append(told, s) }})
	took := time.Since(began)
	if !errors.Is(err, fleet.ErrDrainUnfinished) || !strings.Contains(err.Error(), "1 session(s) still open") {
		t.Fatalf("err = %v, want the drain to end unfinished with the held session", err)
	}
	if waited := clk.Now().Sub(start); waited != time.Minute {
		t.Fatalf("the wait took %s of the fleet's clock, want exactly 1m0s", waited)
	}
	slept := clk.Slept()
	if len(slept) != 300 || slept[0] != 200*time.Millisecond {
		t.Fatalf("%d pauses starting %v, want 300 of 200ms", len(slept), slept[:min(3, len(slept))])
	}
	if took > 30*time.Second {
		t.Fatalf("a minute of the fleet's clock took %s of real time", took)
	}
	// 2 s, 4 s, … 58 s of waiting, plus the lines before and after.
	if n := len(told); n < 29 || n > 32 {
		t.Fatalf("told %d progress lines, want one every 2 s of the wait: %q", n, told)
	}
	if s := a.State(t, "app", "websrv1"); s.Admin&8 == 0 {
		t.Fatalf("websrv1 is not in drain: %+v", s)
	}
}
