package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// Reads of many servers of one backend share one `show servers state` per
// socket; a write drops the shared reply so the next read sees the change.
func TestObserveSharesReadsAndWritesInvalidate(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	f := fleettest.New(t, a.UnixTarget(), b.TCPTarget())
	ctx := context.Background()

	var wg sync.WaitGroup
	for i := 1; i <= haproxytest.Slots; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := f.Reconcile("app", fmt.Sprintf("websrv%d", i), nil, f.Observe(ctx, "app", fmt.Sprintf("websrv%d", i)))
			if err != nil || r.Gone || r.Values.Addr != "127.0.0.1" {
				t.Errorf("websrv%d: %+v %v", i, r, err)
			}
		}()
	}
	wg.Wait()
	if n := f.RoundTrips(); n != 2 {
		t.Fatalf("%d reads of one backend on 2 sockets made %d round trips, want 2", haproxytest.Slots, n)
	}

	applyEverywhere(t, f, fleet.Desired{Backend: "app", Server: "websrv3", Addr: netip.MustParseAddr("127.0.0.9"), Port: fleettest.IntP(9), State: haproxy.StateMaint})
	r, err := f.Reconcile("app", "websrv3", nil, f.Observe(ctx, "app", "websrv3"))
	if err != nil || r.Values.Addr != "127.0.0.9" || r.Values.Port != 9 {
		t.Fatalf("read after write is stale: %+v %v", r, err)
	}
}

// An instance that dies between pre-flight and write: the healthy one takes
// the change, the dead one reports a transport error naming its socket, and
// a read afterwards reports the failure instead of a value.
func TestApplyPartialFailure(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	f := fleettest.New(t, a.UnixTarget(), b.TCPTarget())
	ctx := context.Background()
	slots, _, err := f.Preflight(ctx, "app", "websrv1")
	if err != nil {
		t.Fatal(err)
	}
	b.Kill()
	d := fleet.Desired{Backend: "app", Server: "websrv1", Addr: netip.MustParseAddr("127.0.0.7"), Port: fleettest.IntP(7), State: haproxy.StateMaint}
	res := f.Apply(ctx, d, slots)
	if res[0].Err != nil {
		t.Fatalf("healthy socket failed: %v", res[0].Err)
	}
	if s := a.State(t, "app", "websrv1"); s.Addr != "127.0.0.7" || s.Port != "7" {
		t.Fatalf("healthy socket not changed: %+v", s)
	}
	if !errors.Is(res[1].Err, haproxy.ErrTransport) || res[1].Socket != b.TCPTarget() {
		t.Fatalf("dead socket: %+v", res[1])
	}
	_, err = f.Reconcile("app", "websrv1", nil, f.Observe(ctx, "app", "websrv1"))
	if !errors.Is(err, haproxy.ErrTransport) {
		t.Fatalf("read with a dead socket: %v", err)
	}
}

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
	owner := fleet.Owner{Recorded: netip.MustParseAddrPort("127.0.0.8:8")}
	if warnings, err := f.Park(ctx, "app", "websrv2", origins, owner, fleet.Grace{}); err != nil || len(warnings) != 0 {
		t.Fatalf("park: %v %v", warnings, err)
	}
	parked(7)
	a.Admin(t, "set server app/websrv2 weight 1")

	// No origin at all, or an invalid one: the placeholder.
	apply("127.0.0.9", 9)
	owner.Recorded = netip.MustParseAddrPort("127.0.0.9:9")
	bad := map[string]fleet.Origin{a.UnixTarget(): {Addr: "invalid IP", Port: 0, Weight: 1}}
	if warnings, err := f.Park(ctx, "app", "websrv2", bad, owner, fleet.Grace{}); err != nil || len(warnings) != 0 {
		t.Fatalf("park without origin: %v %v", warnings, err)
	}
	parked(1)

	// Someone else's server in the slot on one instance: left alone there.
	apply("127.0.0.10", 10)
	b.Admin(t, "set server app/websrv2 addr 127.0.0.77 port 77")
	b.WaitState(t, "app", "websrv2", func(s haproxytest.Server) bool { return s.Addr == "127.0.0.77" })
	owner.Recorded = netip.MustParseAddrPort("127.0.0.10:10")
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

// One case per pre-flight reason: a healthy instance B and a second socket
// that fails for that reason. The write must be refused, the error must name
// the failing socket, and B must be unchanged.
func TestPreflightFailuresWriteNothing(t *testing.T) {
	extra := func(cfg string) haproxytest.Options { return haproxytest.Options{ExtraConfig: cfg} }
	b := haproxytest.Start(t, extra("backend extra\n    server e1 127.0.0.1:1 disabled\n"))
	dead := "unix:///tmp/no-such-haproxy-" + fmt.Sprint(time.Now().UnixNano()) + ".sock"
	cases := []struct {
		name   string
		socket func() string
		want   string
	}{
		{"unreachable", func() string { return dead }, "connect"},
		{"user level", func() string { return "unix://" + b.UserSock }, `level is "user"`},
		{"missing backend", func() string { return haproxytest.Start(t).UnixTarget() }, `backend "extra" does not exist`},
		{"missing server", func() string {
			return haproxytest.Start(t, extra("backend extra\n    server e2 127.0.0.1:1 disabled\n")).TCPTarget()
		}, `has no server "e1"`},
		{"no inet address", func() string {
			return haproxytest.Start(t, extra("backend extra\n    server e1 doesnotexist.invalid:80 init-addr none disabled\n")).UnixTarget()
		}, "has no IP address"},
		{"disabled backend", func() string {
			return haproxytest.Start(t, extra("backend extra\n    disabled\n    server e1 127.0.0.1:1\n")).UnixTarget()
		}, "is disabled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := tc.socket()
			f := fleettest.New(t, b.UnixTarget(), bad)
			slots, _, err := f.Preflight(context.Background(), "extra", "e1")
			if err == nil || slots != nil {
				t.Fatalf("pre-flight passed: %+v", slots)
			}
			if !strings.Contains(err.Error(), f.Name(bad)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not name %s and say %q: %v", bad, tc.want, err)
			}
			if s := b.State(t, "extra", "e1"); s.Addr != "127.0.0.1" || s.Port != "1" || s.Admin != 5 {
				t.Fatalf("healthy instance changed: %+v", s)
			}
		})
	}
}

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
	slots, warnings, err := f.Preflight(ctx, "app", "websrv4")
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], f.Name(dead)) || slots[1].Skipped == nil {
		t.Fatalf("slots=%+v warnings=%q err=%v", slots, warnings, err)
	}
	d := fleet.Desired{Backend: "app", Server: "websrv4", Addr: netip.MustParseAddr("127.0.0.4"), Port: fleettest.IntP(4), State: haproxy.StateMaint}
	res := f.Apply(ctx, d, slots)
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

// applyEverywhere pre-flights d's server and applies d on every socket,
// failing t on any error; it returns what pre-flight saw.
func applyEverywhere(t *testing.T, f *fleet.Fleet, d fleet.Desired) []fleet.SocketView {
	t.Helper()
	ctx := context.Background()
	views, _, err := f.Preflight(ctx, d.Backend, d.Server)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Apply(ctx, d, views) {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Socket, r.Err)
		}
	}
	return views
}
