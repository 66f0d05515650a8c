package pool_test

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/pool"
)

// poolOf is a pool of n members, member i as member(i) says.
func poolOf(n int, member func(i int) (string, pool.Member)) pool.Pool {
	p := pool.Pool{Backend: "app", Prefix: "websrv", Placeholder: fleet.DefaultPlaceholder, Token: pool.NewToken(), Members: map[string]pool.Member{}}
	for i := 1; i <= n; i++ {
		key, m := member(i)
		p.Members[key] = m
	}
	return p
}

// bigPool is a pool of n members on 127.0.0.2, one port each, all ready.
func bigPool(n int) pool.Pool {
	return poolOf(n, func(i int) (string, pool.Member) {
		return fmt.Sprintf("m%03d", i), pool.Member{Addr: netip.MustParseAddr("127.0.0.2"), Port: 20000 + i, State: haproxy.StateReady}
	})
}

// readyPool is a pool of n (at most 9) ready members m1…mn, member i on
// 127.0.0.1i port 1i.
func readyPool(n int) pool.Pool {
	return poolOf(n, func(i int) (string, pool.Member) {
		return fmt.Sprintf("m%d", i), pool.Member{Addr: netip.MustParseAddr(fmt.Sprintf("127.0.0.1%d", i)), Port: 10 + i, State: haproxy.StateReady}
	})
}

// appliedPool applies bigPool(n) through a fleet of its own on targets and
// returns it with its slots assigned.
func appliedPool(t *testing.T, n int, targets ...string) pool.Pool {
	t.Helper()
	p := bigPool(n)
	assigned, _, err := pool.Apply(context.Background(), fleettest.New(t, targets...), p)
	if err != nil {
		t.Fatal(err)
	}
	p.Assigned = assigned
	return p
}

// markers counts the claim markers an instance shows for the backend.
func markers(t *testing.T, inst *haproxytest.Instance) int {
	t.Helper()
	return strings.Count(inst.Admin(t, "show servers state app"), ".claim ")
}

// expectPoolParked checks that every slot of assigned is parked
// (haproxytest's ExpectParked) with its configured weight, on every
// instance, unclaimed.
func expectPoolParked(t *testing.T, assigned map[string]string, insts ...*haproxytest.Instance) {
	t.Helper()
	for _, inst := range insts {
		if err := inst.ExpectParked(t, "app", slices.Collect(maps.Values(assigned))...); err != nil {
			t.Error(err)
		}
		for member, slot := range assigned {
			if s := inst.State(t, "app", slot); s.Wt != 1 {
				t.Errorf("%s: %s of %s parked with weight %d, want the configured 1", inst.AdminSock, slot, member, s.Wt)
			}
		}
		if n := markers(t, inst); n != 0 {
			t.Errorf("%s: %d claim markers left", inst.AdminSock, n)
		}
	}
}

// A destroy parks a pool's slots in batches: its connections do not grow
// with the slots. Parking slot after slot read the whole backend again for
// each, which made a destroy of 5000 members on 20 instances take minutes
// per thousand slots.
func TestDeletePoolParksInBatches(t *testing.T) {
	const n = 60
	a := haproxytest.Start(t, haproxytest.Options{Slots: n})
	b := haproxytest.Start(t, haproxytest.Options{Slots: n})
	p := appliedPool(t, n, a.UnixTarget(), b.TCPTarget())
	if len(p.Assigned) != n || markers(t, a) != n || markers(t, b) != n {
		t.Fatalf("setup: %d assigned, markers %d and %d", len(p.Assigned), markers(t, a), markers(t, b))
	}

	f := fleettest.New(t, a.UnixTarget(), b.TCPTarget())
	warnings, err := pool.Delete(context.Background(), f, p)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("delete: warnings %v, err %v", warnings, err)
	}
	expectPoolParked(t, p.Assigned, a, b)
	// A read, the phases (maint, address, its confirming read, the
	// confirmation of every value) and the release: a handful per socket.
	if trips := f.RoundTrips(); trips > 2*8 {
		t.Errorf("%d connections to park %d slots on 2 sockets: not batched", trips, n)
	}
}

// A destroy while an instance hangs parks what it can reach but keeps the
// pool (an error) and its claims: the hung instance may still serve the
// members. The next destroy, once it answers, finishes.
func TestDeletePoolKeepsThePoolWhileAnInstanceHangs(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	ctx := context.Background()
	p := appliedPool(t, 3, a.UnixTarget(), b.UnixTarget())
	assigned := p.Assigned
	f, err := fleet.New([]string{a.UnixTarget(), b.UnixTarget()}, 500*time.Millisecond, nil, fleet.SkipUnreachable())
	if err != nil {
		t.Fatal(err)
	}

	b.Pause(t)
	_, err = pool.Delete(ctx, f, p)
	if err == nil || !strings.Contains(err.Error(), "did not answer") || !strings.Contains(err.Error(), "stays in the state") {
		t.Fatalf("delete with a hung instance: err = %v", err)
	}
	b.Resume()
	for _, slot := range assigned {
		if s := a.State(t, "app", slot); s.Admin&1 == 0 || s.Addr != "127.0.0.1" {
			t.Errorf("the answering instance did not park %s: %+v", slot, s)
		}
		if s := b.State(t, "app", slot); s.Admin&1 != 0 || s.Addr != "127.0.0.2" {
			t.Errorf("the hung instance changed %s: %+v", slot, s)
		}
	}
	if markers(t, a) != 3 || markers(t, b) != 3 {
		t.Fatalf("claims released while the pool stays: %d and %d markers", markers(t, a), markers(t, b))
	}

	if _, err := pool.Delete(ctx, f, p); err != nil {
		t.Fatalf("delete once every instance answers: %v", err)
	}
	expectPoolParked(t, assigned, a, b)
}

// After a reload dropped every claim marker of an instance (and reset its
// slots), the next apply claims the same slots again and restores them, in
// batches: one connection per slot and socket would make a reload of a
// large pool's instance cost thousands.
func TestPoolReclaimsAfterAReloadInBatches(t *testing.T) {
	const n = 40
	a := haproxytest.Start(t, haproxytest.Options{Slots: n})
	b := haproxytest.Start(t, haproxytest.Options{Slots: n, MasterWorker: true})
	ctx := context.Background()
	p := appliedPool(t, n, a.UnixTarget(), b.UnixTarget())
	assigned := p.Assigned

	b.Reload(t)
	if markers(t, b) != 0 {
		t.Fatalf("setup: the reload kept %d markers", markers(t, b))
	}
	f := fleettest.New(t, a.UnixTarget(), b.UnixTarget())
	again, warnings, err := pool.Apply(ctx, f, p)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("apply after the reload: warnings %v, err %v", warnings, err)
	}
	for member, slot := range assigned {
		if again[member] != slot {
			t.Errorf("%s moved from %s to %s", member, slot, again[member])
		}
		want := fmt.Sprint(p.Members[member].Port)
		for _, inst := range []*haproxytest.Instance{a, b} {
			if s := inst.State(t, "app", slot); s.Addr != "127.0.0.2" || s.Port != want || s.Admin&1 != 0 {
				t.Errorf("%s: %s of %s: %+v", inst.AdminSock, slot, member, s)
			}
		}
	}
	if markers(t, b) != n {
		t.Errorf("%d of %d markers claimed again", markers(t, b), n)
	}
	if trips := f.RoundTrips(); trips > 2*10 {
		t.Errorf("%d connections to claim %d slots again on one socket and restore them: not batched", trips, n)
	}
}

// A one-member change of a pool writes that member only and reads each
// socket until the address shows, then stops: the read that confirmed the
// address showed every other value too, and the other slots held theirs in
// the listing, so no read of the whole backend follows.
func TestPoolOneMemberChangeStopsReadingOnceItShows(t *testing.T) {
	const n = 30
	a := haproxytest.Start(t, haproxytest.Options{Slots: n})
	b := haproxytest.Start(t, haproxytest.Options{Slots: n})
	ctx := context.Background()
	p := appliedPool(t, n, a.UnixTarget(), b.UnixTarget())
	assigned := p.Assigned
	m := p.Members["m015"]
	m.Port = 30015
	p.Members["m015"] = m

	type exchange struct{ commands, reply string }
	var mu sync.Mutex
	seen := map[string][]exchange{}
	observe := func(_ context.Context, ex haproxy.Exchange) {
		mu.Lock()
		defer mu.Unlock()
		seen[ex.Target] = append(seen[ex.Target], exchange{strings.Join(ex.Commands, "; "), ex.Reply})
	}
	f, err := fleet.New([]string{a.UnixTarget(), b.UnixTarget()}, 3*time.Second, observe)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pool.Apply(ctx, f, p); err != nil {
		t.Fatal(err)
	}
	slot := assigned["m015"]
	for _, inst := range []*haproxytest.Instance{a, b} {
		if s := inst.State(t, "app", slot); s.Port != "30015" || s.Addr != "127.0.0.2" || s.Admin&1 != 0 {
			t.Fatalf("%s: %s: %+v", inst.AdminSock, slot, s)
		}
		exs := seen[inst.UnixTarget()]
		var writes []string
		shown := -1
		for i, ex := range exs {
			if strings.Contains(ex.commands, "set server") || strings.Contains(ex.commands, "add server") {
				writes = append(writes, ex.commands)
			}
			if shown < 0 && len(writes) > 0 && strings.Contains(ex.commands, "show servers state") && strings.Contains(ex.reply, " 30015 ") {
				shown = i
			}
		}
		if len(writes) != 1 || !strings.Contains(writes[0], "set server app/"+slot+" addr 127.0.0.2 port 30015") {
			t.Errorf("%s: writes %q, want the one member's address only", inst.AdminSock, writes)
		}
		if shown != len(exs)-1 {
			t.Errorf("%s: %d exchanges after the read that showed the address: %v", inst.AdminSock, len(exs)-1-shown, exs[max(shown, 0):])
		}
	}
}

// The batched pool path waits out the lag too: no member is made ready
// before a read shows its address.
func TestPoolWaitsOutTheAddressLag(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	la, lb := fleettest.NewLag(fleettest.UnixTransport(t, a), 2), fleettest.NewLag(fleettest.UnixTransport(t, b), 4)
	f := fleettest.LagFleet(t, 5*time.Second, la, lb)
	p := pool.Pool{Backend: "app", Prefix: "websrv", Placeholder: netip.MustParseAddrPort("127.0.0.1:1"), Token: pool.NewToken(), Members: map[string]pool.Member{
		"m1": {Addr: netip.MustParseAddr("127.0.0.11"), Port: 11, State: haproxy.StateReady, Weight: fleettest.IntP(3)},
		"m2": {Addr: netip.MustParseAddr("127.0.0.12"), Port: 12, State: haproxy.StateDrain},
		"m3": {Addr: netip.MustParseAddr("127.0.0.13"), Port: 13, State: haproxy.StateReady},
	}}
	assigned, _, err := pool.Apply(context.Background(), f, p)
	if err != nil {
		t.Fatal(err)
	}
	fleettest.CheckLagged(t, la, lb)
	for _, inst := range []*haproxytest.Instance{a, b} {
		for member, want := range map[string]string{"m1": "127.0.0.11", "m2": "127.0.0.12", "m3": "127.0.0.13"} {
			if s := inst.State(t, "app", assigned[member]); s.Addr != want || s.Admin&1 != 0 {
				t.Errorf("%s: %s (%s) = %+v", inst.AdminSock, member, assigned[member], s)
			}
		}
	}
}

// pausable passes connections through to a real HAProxy until paused; then
// every connection is accepted and never answered, like a hung instance.
type pausable struct {
	haproxy.Transport
	paused atomic.Bool
}

func (p *pausable) Dial(ctx context.Context) (net.Conn, error) {
	if p.paused.Load() {
		c, _ := net.Pipe() // the other end never answers
		return c, nil
	}
	return p.Transport.Dial(ctx)
}

// A member removed while an instance hangs stays recorded (with its claim)
// until every instance parked it: the hung one may still serve it. Once the
// instance answers again, the next apply finishes the removal.
func TestPoolMemberRemovedWhileAnInstanceHangs(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	pb := &pausable{Transport: fleettest.UnixTransport(t, b)}
	f, err := fleet.FromTransports([]haproxy.Transport{fleettest.UnixTransport(t, a), pb}, 500*time.Millisecond, nil, fleet.SkipUnreachable())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := readyPool(2)
	assigned, _, err := pool.Apply(ctx, f, p)
	if err != nil {
		t.Fatal(err)
	}
	slot2 := assigned["m2"]

	pb.paused.Store(true)
	p.Assigned = assigned
	delete(p.Members, "m2")
	assigned, warnings, err := pool.Apply(ctx, f, p)
	if err != nil {
		t.Fatal(err)
	}
	if assigned["m2"] != slot2 {
		t.Fatalf("m2 was forgotten while %s may still serve it: %v", pb, assigned)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "stay recorded") {
		t.Errorf("no warning says why m2 stays: %v", warnings)
	}
	if s := a.State(t, "app", slot2); s.Admin != 5 || s.Addr != "127.0.0.1" {
		t.Errorf("the answering instance did not park %s: %+v", slot2, s)
	}
	if s := b.State(t, "app", slot2); s.Admin != 4 || s.Addr != "127.0.0.12" {
		t.Errorf("the hung instance changed: %+v", s)
	}

	pb.paused.Store(false)
	p.Assigned = assigned
	assigned, _, err = pool.Apply(ctx, f, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := assigned["m2"]; ok || len(assigned) != 1 {
		t.Fatalf("after the instance answered again: %v", assigned)
	}
	for _, inst := range []*haproxytest.Instance{a, b} {
		if s := inst.State(t, "app", slot2); s.Admin != 5 || s.Addr != "127.0.0.1" || s.Port != "1" {
			t.Errorf("%s: %s not parked: %+v", inst.AdminSock, slot2, s)
		}
		if out := inst.Admin(t, "show servers state app"); strings.Contains(out, slot2+".claim") {
			t.Errorf("%s: the claim on %s was not released", inst.AdminSock, slot2)
		}
	}
}

// A member that left, whose slot another pool claimed in the meantime (after
// a reload dropped this pool's marker), is not parked: the slot is someone
// else's now. It leaves this pool's record with a warning.
func TestPoolDoesNotParkAnotherPoolsSlot(t *testing.T) {
	a := haproxytest.Start(t)
	f := fleettest.New(t, a.UnixTarget())
	ctx := context.Background()
	p := readyPool(2)
	assigned, _, err := pool.Apply(ctx, f, p)
	if err != nil {
		t.Fatal(err)
	}
	slot2 := assigned["m2"]
	// Another pool holds slot2 now: its marker, its server.
	a.DeleteServer(t, "app", fleet.ClaimMarker(slot2))
	a.Admin(t, "add server app/"+fleet.ClaimMarker(slot2)+" 127.9.9.9:9999")
	a.Admin(t, "set server app/"+slot2+" addr 127.0.0.99 port 99")
	a.WaitState(t, "app", slot2, func(s haproxytest.Server) bool { return s.Addr == "127.0.0.99" })

	p.Assigned = assigned
	delete(p.Members, "m2")
	assigned, warnings, err := pool.Apply(ctx, f, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := assigned["m2"]; ok {
		t.Errorf("m2 is still recorded: %v", assigned)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "claimed by another pool") {
		t.Errorf("no warning says whose the slot is: %v", warnings)
	}
	if s := a.State(t, "app", slot2); s.Addr != "127.0.0.99" || s.Admin != 4 {
		t.Fatalf("another pool's server was parked: %+v", s)
	}
	if out := a.Admin(t, "show servers state app"); !strings.Contains(out, fleet.ClaimMarker(slot2)+" 127.9.9.9") {
		t.Fatalf("another pool's claim was released:\n%s", out)
	}
}

// A server outside the pool's prefix that exists on some instances only (a
// dynamic server another resource is adding or deleting at that moment, as
// Terraform does in parallel with the pool) is none of the pool's business:
// the pool still applies, reads and deletes. A slot of its own prefix
// missing on one instance still stops it.
func TestPoolIgnoresOtherServersOnSomeInstances(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	f := fleettest.New(t, a.UnixTarget(), b.TCPTarget())
	ctx := context.Background()
	p := readyPool(1)
	a.Admin(t, "add server app/dyn1 127.0.0.1:9 disabled")
	assigned, _, err := pool.Apply(ctx, f, p)
	if err != nil {
		t.Fatalf("apply with another server on one instance only: %v", err)
	}
	p.Assigned = assigned
	if _, _, err := pool.Read(ctx, f, p, nil); err != nil {
		t.Fatalf("read: %v", err)
	}
	if _, err := pool.Delete(ctx, f, p); err != nil {
		t.Fatalf("delete: %v", err)
	}
	for _, inst := range []*haproxytest.Instance{a, b} {
		if s := inst.State(t, "app", assigned["m1"]); s.Admin&1 == 0 || s.Addr != "127.0.0.1" {
			t.Fatalf("%s: %s not parked: %+v", inst.AdminSock, assigned["m1"], s)
		}
	}

	// One of the pool's own slots missing on one instance: the
	// configurations differ, and the pool says so.
	a.DeleteServer(t, "app", "websrv3")
	if _, _, err := pool.Apply(ctx, f, p); err == nil || !strings.Contains(err.Error(), "websrv3") {
		t.Fatalf("a slot of the prefix missing on one instance: err = %v", err)
	}
}

// A member that left, whose slot was edited by hand since (it holds neither
// the member's recorded value nor the placeholder), is someone else's now:
// the pool leaves it serving, says so, and forgets the member. Batched (no
// drain wait) and paced (a drain wait) alike, and so does a destroy.
func TestPoolLeaverEditedByHandIsLeftAlone(t *testing.T) {
	for _, tc := range []struct {
		name    string
		grace   fleet.Grace
		destroy bool
	}{
		{"batched", fleet.Grace{}, false},
		{"paced", fleet.Grace{DrainTimeout: time.Second}, false},
		{"destroy", fleet.Grace{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := haproxytest.Start(t)
			f := fleettest.New(t, a.UnixTarget())
			ctx := context.Background()
			p := readyPool(2)
			p.Grace = tc.grace
			assigned, _, err := pool.Apply(ctx, f, p)
			if err != nil {
				t.Fatal(err)
			}
			slot2 := assigned["m2"]
			p.Assigned = assigned
			p.Recorded = map[string]netip.AddrPort{}
			for key, m := range p.Members {
				p.Recorded[key] = netip.AddrPortFrom(m.Addr, uint16(m.Port))
			}
			a.Admin(t, "set server app/"+slot2+" addr 127.0.0.99 port 99")
			a.WaitState(t, "app", slot2, func(s haproxytest.Server) bool { return s.Addr == "127.0.0.99" })

			var warnings []string
			if tc.destroy {
				warnings, err = pool.Delete(ctx, f, p)
			} else {
				delete(p.Members, "m2")
				assigned, warnings, err = pool.Apply(ctx, f, p)
				if _, ok := assigned["m2"]; ok {
					t.Errorf("m2 is still recorded: %v", assigned)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			said := strings.Join(warnings, "\n")
			if !strings.Contains(said, "127.0.0.99:99") || !strings.Contains(said, "left alone") {
				t.Errorf("no warning says the edited slot was left alone: %q", said)
			}
			if s := a.State(t, "app", slot2); s.Addr != "127.0.0.99" || s.Port != "99" || s.Admin != 4 {
				t.Fatalf("the hand-edited slot was parked: %+v", s)
			}
			if tc.destroy { // the member that still held its value is parked
				if s := a.State(t, "app", assigned["m1"]); s.Admin&1 == 0 || s.Addr != "127.0.0.1" {
					t.Errorf("m1 not parked: %+v", s)
				}
			}
		})
	}
}
