package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
)

// `show stat <name>` finds a frontend before a backend of the same name,
// which HAProxy allows up to 3.2 (3.3+ refuses such a configuration). The
// drain wait reads live sessions by backend id, so it works there.
func TestDrainWithAFrontendNamedLikeTheBackend(t *testing.T) {
	cfg := "frontend www\n    bind " + haproxytest.FreeAddr(t) + "\n    default_backend www\n\n" +
		"backend www\n    server-template w 1-3 127.0.0.1:1 disabled\n"
	if v := haproxytest.Version(t); v.AtLeast(3, 3) {
		// The defect cannot happen there: the configuration is refused.
		if err := haproxytest.CheckConfig(t, haproxytest.Options{ExtraConfig: cfg}); err == nil || !strings.Contains(err.Error(), "same name") {
			t.Fatalf("HAProxy %s accepted a frontend and a backend named alike: %v", v, err)
		}
		return
	}
	inst := haproxytest.Start(t, haproxytest.Options{ExtraConfig: cfg})
	f := fleettest.New(t, inst.UnixTarget())
	ctx := context.Background()
	set := func(addr string, port int, st haproxy.State, g fleet.Grace) {
		t.Helper()
		d := fleet.Desired{Backend: "www", Server: "w2", Addr: netip.MustParseAddr(addr), Port: &port, State: st, Grace: g}
		pre, _, err := f.Preflight(ctx, "www", "w2")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Apply(ctx, d, pre) {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	set("127.0.0.21", 21, haproxy.StateReady, fleet.Grace{})
	// A move with a drain wait reads `show stat` for the server's sessions.
	set("127.0.0.22", 22, haproxy.StateReady, fleet.Grace{DrainTimeout: 2 * time.Second, FailOnDrainTimeout: true})
	if s := inst.State(t, "www", "w2"); s.Addr != "127.0.0.22" || s.Admin != 4 {
		t.Fatalf("after the move: %+v", s)
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
