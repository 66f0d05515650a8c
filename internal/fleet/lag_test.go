package fleet_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// A confirmation that reads once and trusts what it read fails here: the
// first reads after an address change still show the old address. The
// provider polls until the change shows, and sends `state ready` only then.
func TestConfirmationWaitsOutTheAddressLag(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	la, lb := fleettest.NewLag(fleettest.UnixTransport(t, a), 3), fleettest.NewLag(fleettest.UnixTransport(t, b), 5)
	f := fleettest.LagFleet(t, 5*time.Second, la, lb)
	applyEverywhere(t, f, fleet.Desired{Backend: "app", Server: "websrv1", Addr: netip.MustParseAddr("127.0.0.7"), Port: fleettest.IntP(7), State: haproxy.StateReady, Weight: fleettest.IntP(20)})
	fleettest.CheckLagged(t, la, lb)
	for _, inst := range []*haproxytest.Instance{a, b} {
		if s := inst.State(t, "app", "websrv1"); s.Addr != "127.0.0.7" || s.Port != "7" || s.Admin != 4 || s.Wt != 20 {
			t.Errorf("%s: %+v", inst.AdminSock, s)
		}
	}
}

// Where a `show stat` row cannot tell the address (no `addr` column; real
// HAProxy 2.6–3.4 always has it, so only a test can take it away), the
// write is confirmed from whole-backend reads instead, and still waits out
// the lag before the server is made ready.
func TestConfirmationFallsBackWhenTheStatRowCannotTell(t *testing.T) {
	a := haproxytest.Start(t)
	l := fleettest.NewLag(fleettest.UnixTransport(t, a), 3)
	l.HideStatAddr = true
	f := fleettest.LagFleet(t, 5*time.Second, l)
	applyEverywhere(t, f, fleet.Desired{Backend: "app", Server: "websrv3", Addr: netip.MustParseAddr("127.0.0.9"), Port: fleettest.IntP(9), State: haproxy.StateReady})
	fleettest.CheckLagged(t, l) // every lagged row was a `show servers state` row: stat rows had no address
	if l.Hidden() == 0 {
		t.Fatal("no `show stat` reply was read, so the fallback was not what confirmed the write")
	}
	if s := a.State(t, "app", "websrv3"); s.Addr != "127.0.0.9" || s.Port != "9" || s.Admin != 4 {
		t.Fatalf("not applied: %+v", s)
	}
}

// When the change never shows, the write fails within the timeout, naming
// the socket, the command and what was read, and the server is not made
// ready anywhere.
func TestConfirmationThatNeverShowsFails(t *testing.T) {
	a := haproxytest.Start(t)
	l := fleettest.NewLag(fleettest.UnixTransport(t, a), -1)
	f := fleettest.LagFleet(t, 400*time.Millisecond, l)
	ctx := context.Background()
	d := fleet.Desired{Backend: "app", Server: "websrv2", Addr: netip.MustParseAddr("127.0.0.8"), Port: fleettest.IntP(8), State: haproxy.StateReady}
	slots, _, err := f.Preflight(ctx, "app", "websrv2")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := f.Apply(ctx, d, slots)
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %s with a 400ms timeout", el)
	}
	err = res[0].Err
	if err == nil {
		t.Fatal("a change that never showed was reported as applied")
	}
	for _, want := range []string{f.Name(a.UnixTarget()), "set server app/websrv2 addr 127.0.0.8 port 8", "address 127.0.0.1 port 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if violations, _ := l.Report(); len(violations) > 0 {
		t.Errorf("%v", violations)
	}
	if s := a.State(t, "app", "websrv2"); s.Admin != 5 {
		t.Errorf("the server left maint although its address never showed: %+v", s)
	}
}
