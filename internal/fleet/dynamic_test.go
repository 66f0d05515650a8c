package fleet_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// parkTemplate puts every slot of `app` in maint, so that traffic through
// the frontend can only reach dynamic servers.
func dynamicTo(be haproxytest.HTTPBackend, name string, st haproxy.State) fleet.Dynamic {
	return fleet.Dynamic{Desired: fleet.Desired{Backend: "app", Server: name, Addr: netip.MustParseAddr(be.Host), Port: fleettest.IntP(be.Port), State: st}}
}

// A dynamic server is added to every instance, serves real traffic, and is
// deleted from every instance.
func TestDynamicServerLifecycle(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	fleettest.ParkTemplate(t, a, b)
	f := fleettest.New(t, a.UnixTarget(), b.TCPTarget())
	ctx := context.Background()
	be := haproxytest.StartHTTP(t, "dyn-one", "127.0.0.51")
	dyn := dynamicTo(be, "dyn1", haproxy.StateReady)
	dyn.Weight = fleettest.IntP(5)

	out, err := f.AddServer(ctx, dyn)
	if err != nil || len(out.Failed) > 0 || len(out.Added) != 2 {
		t.Fatalf("add: %+v %v", out, err)
	}
	for _, inst := range []*haproxytest.Instance{a, b} {
		s := inst.State(t, "app", "dyn1")
		if s.Addr != be.Host || s.Port != strconv.Itoa(be.Port) || s.Admin != 0 || s.Wt != 5 {
			t.Errorf("%s: %+v", inst.AdminSock, s)
		}
		if hits := inst.Hits(10); hits["dyn-one"] != 10 {
			t.Errorf("%s: traffic %v", inst.AdminSock, hits)
		}
	}
	warnings, err := f.RemoveServer(ctx, "app", "dyn1", out.Added, fleet.Holding("", netip.AddrPortFrom(dyn.Addr, uint16(be.Port))), fleet.Grace{})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("remove: %v %v", warnings, err)
	}
	for _, inst := range []*haproxytest.Instance{a, b} {
		if inst.Has(t, "app", "dyn1") {
			t.Errorf("%s still has dyn1", inst.AdminSock)
		}
		if hits := inst.Hits(3); hits["dyn-one"] != 0 {
			t.Errorf("%s: traffic after delete %v", inst.AdminSock, hits)
		}
	}
}

// A backend whose balance algorithm refuses dynamic servers on one
// instance: a clear error naming it, and nothing added anywhere.
func TestDynamicServerRefusedByBalanceAlgorithm(t *testing.T) {
	a := haproxytest.Start(t, haproxytest.Options{ExtraConfig: "backend dyn\n    balance roundrobin\n"})
	b := haproxytest.Start(t, haproxytest.Options{ExtraConfig: "backend dyn\n    balance static-rr\n"})
	f := fleettest.New(t, a.UnixTarget(), b.UnixTarget())
	dyn := fleet.Dynamic{Desired: fleet.Desired{Backend: "dyn", Server: "d1", Addr: netip.MustParseAddr("127.0.0.52"), Port: fleettest.IntP(80), State: haproxy.StateReady}}
	_, err := f.AddServer(context.Background(), dyn)
	if !errors.Is(err, fleet.ErrNotDynamic) || !strings.Contains(err.Error(), f.Name(b.UnixTarget())) || !strings.Contains(err.Error(), "dynamic load balancing") && !strings.Contains(err.Error(), "non dynamic load balancing") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), f.Name(a.UnixTarget())) {
		t.Errorf("the error blames the instance that accepts: %v", err)
	}
	for _, inst := range []*haproxytest.Instance{a, b} {
		if inst.Has(t, "dyn", "d1") {
			t.Errorf("%s: d1 was added", inst.AdminSock)
		}
	}
}

// Removal waits for a request in flight (drain, then maint, then until
// HAProxy calls the server removable) and deletes it once the request
// ended; a request that outlasts the wait leaves the server in maint with
// an error naming the instance.
func TestDynamicServerRemovalWaitsForARequest(t *testing.T) {
	a := haproxytest.Start(t)
	fleettest.ParkTemplate(t, a)
	f := fleettest.New(t, a.UnixTarget())
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		releases bool
	}{{"released", true}, {"outlasts", false}} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			defer func() {
				select {
				case <-release:
				default:
					close(release)
				}
			}()
			be := haproxytest.StartHeldHTTP(t, "held", "127.0.0.53", release)
			dyn := dynamicTo(be, "held_"+tc.name, haproxy.StateReady)
			out, err := f.AddServer(ctx, dyn)
			if err != nil || len(out.Failed) > 0 {
				t.Fatalf("add: %+v %v", out, err)
			}
			got := make(chan string, 1)
			go func() {
				resp, err := (&http.Client{Timeout: 20 * time.Second}).Get(a.FrontendURL())
				if err != nil {
					got <- err.Error()
					return
				}
				_ = resp.Body.Close()
				got <- resp.Status
			}()
			a.WaitSession(t, dyn.Server)
			done := make(chan error, 1)
			var warnings []string
			go func() {
				var err error
				warnings, err = f.RemoveServer(ctx, "app", dyn.Server, nil, fleet.Holding("", netip.AddrPortFrom(dyn.Addr, uint16(be.Port))),
					fleet.Grace{DrainTimeout: 1500 * time.Millisecond})
				done <- err
			}()
			if v := a.StillThereWhileRemoving("app", dyn.Server, 300*time.Millisecond); v != "" {
				t.Fatal(v)
			}
			if tc.releases {
				close(release)
				if err := <-done; err != nil {
					t.Fatalf("remove: %v", err)
				}
				if status := <-got; status != "200 OK" {
					t.Errorf("the held request ended with %s", status)
				}
				if a.Has(t, "app", dyn.Server) {
					t.Error("not deleted once the request ended")
				}
				return
			}
			err = <-done
			if !errors.Is(err, fleet.ErrStillInUse) || !strings.Contains(err.Error(), f.Name(a.UnixTarget())) {
				t.Fatalf("remove of a busy server: %v (warnings %v)", err, warnings)
			}
			if s := a.State(t, "app", dyn.Server); s.Admin&1 == 0 {
				t.Errorf("the busy server is not in maint: %+v", s)
			}
		})
	}
}

// Two writers add the same name at once: exactly one wins, on every
// instance, and the other gets an error naming the taken name and changed
// nothing.
func TestTwoWritersAddTheSameName(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	ctx := context.Background()
	for round := range 5 {
		name := "same" + strconv.Itoa(round)
		addrs := []string{"127.0.0.54", "127.0.0.55"}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 2 {
			f := fleettest.New(t, a.UnixTarget(), b.UnixTarget())
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = f.AddServer(ctx, fleet.Dynamic{Desired: fleet.Desired{Backend: "app", Server: name,
					Addr: netip.MustParseAddr(addrs[i]), Port: fleettest.IntP(80), State: haproxy.StateMaint}})
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner < 0:
				winner = i
			case err == nil:
				t.Fatalf("round %d: both writers added %s", round, name)
			case !errors.Is(err, fleet.ErrNameTaken):
				t.Fatalf("round %d: writer %d: %v", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody added %s: %v", round, name, errs)
		}
		for _, inst := range []*haproxytest.Instance{a, b} {
			if s := inst.State(t, "app", name); s.Addr != addrs[winner] {
				t.Errorf("round %d: %s holds %s, the winner set %s", round, inst.AdminSock, s.Addr, addrs[winner])
			}
		}
	}
}

// An add HAProxy accepts on the first instance and refuses on the second
// (a CA file only the first has loaded): the outcome names the second and
// HAProxy's reply, records the first as added (its server is the caller's
// to delete), and the server is in maint there, serving nothing.
func TestDynamicServerAddedOnSomeSockets(t *testing.T) {
	pki := haproxytest.NewPKI(t, t.TempDir())
	a := haproxytest.Start(t, haproxytest.Options{ExtraConfig: "backend tlsref\n    server r1 127.0.0.1:1 ssl verify required ca-file " + pki.CA + " disabled\n"})
	b := haproxytest.Start(t)
	f := fleettest.New(t, a.UnixTarget(), b.UnixTarget())
	dyn := fleet.Dynamic{
		Desired: fleet.Desired{Backend: "app", Server: "tls1", Addr: netip.MustParseAddr("127.0.0.56"), Port: fleettest.IntP(443), State: haproxy.StateReady},
		Options: haproxy.ServerOptions{SSL: true, Verify: haproxy.VerifyRequired, CAFile: pki.CA},
	}
	out, err := f.AddServer(context.Background(), dyn)
	if err != nil {
		t.Fatalf("something was added, so AddServer must not report nothing added: %v", err)
	}
	if len(out.Added) != 1 || out.Added[0] != a.UnixTarget() {
		t.Errorf("Added = %v, want only %s", out.Added, a.UnixTarget())
	}
	msg := out.Failed.Error()
	if len(out.Failed) != 1 || !strings.Contains(msg, f.Name(b.UnixTarget())) || !strings.Contains(msg, "unable to load") {
		t.Errorf("Failed = %q", msg)
	}
	if s := a.State(t, "app", "tls1"); s.Admin&1 == 0 {
		t.Errorf("the half-added server left maint: %+v", s)
	}
	if b.Has(t, "app", "tls1") {
		t.Error("added where HAProxy refused it")
	}
}
