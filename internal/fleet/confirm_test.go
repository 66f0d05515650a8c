package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
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
	views, _, err := f.Preflight(ctx, "app", "websrv2")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := f.Apply(ctx, d, views)
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

// A second connection watches `show servers state` while servers are taken
// out of their parked slot, pointed at a new address and made ready, again
// and again, on two instances at once. No read may ever show a server out of
// maint on any address but the one it is being given: in particular never
// on the placeholder, which from HAProxy 2.9 is still visible for a moment
// after `set server … addr` replied.
func TestNoServerServesBeforeItsAddressShows(t *testing.T) {
	const slots, rounds = 5, 12
	insts := []*haproxytest.Instance{haproxytest.Start(t), haproxytest.Start(t)}
	f := fleettest.New(t, insts[0].UnixTarget(), insts[1].TCPTarget())
	ctx := context.Background()

	// target[i] is slot i's address this round, as "addr:port"; it changes
	// only while the slot is parked in maint, and before round[i] moves on.
	// A watcher takes both before it reads and judges the sample only when
	// the round did not change while it was being read. (Taking the target
	// after the read let a round that began meanwhile judge a server ready
	// on the round before's address against the new round's: the flake
	// "ready on an address two acknowledged changes old" seen on 3.4.)
	var target [slots + 1]atomic.Value
	var round [slots + 1]atomic.Int64
	stop := make(chan struct{})
	var violations []string
	var samples atomic.Int64
	var vmu sync.Mutex
	var watchers sync.WaitGroup
	for _, inst := range insts {
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var before [slots + 1]int64
				var want [slots + 1]string
				for i := 1; i <= slots; i++ {
					before[i] = round[i].Load()
					want[i], _ = target[i].Load().(string)
				}
				out, err := inst.Raw("unix", inst.AdminSock, "show servers state app")
				if err != nil {
					continue
				}
				samples.Add(1)
				for _, row := range strings.Split(out, "\n") {
					f := strings.Fields(row)
					if len(f) < 25 || f[1] != "app" {
						continue
					}
					var i int
					if _, err := fmt.Sscanf(f[3], "websrv%d", &i); err != nil || i < 1 || i > slots || round[i].Load() != before[i] {
						continue
					}
					var admin int
					_, _ = fmt.Sscan(f[6], &admin)
					if admin&1 == 0 && f[4]+":"+f[18] != want[i] {
						vmu.Lock()
						violations = append(violations, fmt.Sprintf("%s: websrv%d out of maint (admin %d) on %s:%s, its address this round is %s", inst.AdminSock, i, admin, f[4], f[18], want[i]))
						vmu.Unlock()
					}
				}
			}
		}()
	}

	var wg sync.WaitGroup
	for i := 1; i <= slots; i++ {
		server := fmt.Sprintf("websrv%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				addr := fmt.Sprintf("127.0.%d.%d", 10+r, i)
				target[i].Store(addr + ":" + fmt.Sprint(8000+r)) // before the round moves on: see target
				round[i].Add(1)
				d := fleet.Desired{Backend: "app", Server: server, Addr: netip.MustParseAddr(addr), Port: fleettest.IntP(8000 + r), State: haproxy.StateReady}
				pre, _, err := f.Preflight(ctx, "app", server)
				if err != nil {
					t.Error(err)
					return
				}
				for _, res := range f.Apply(ctx, d, pre) {
					if res.Err != nil {
						t.Errorf("round %d: %v", r, res.Err)
						return
					}
				}
				owner := fleet.Holding("", netip.AddrPortFrom(d.Addr, uint16(*d.Port)))
				if _, err := f.Park(ctx, "app", server, f.OriginsOf(pre, fleet.Desired{}), owner, fleet.Grace{}); err != nil {
					t.Errorf("round %d: park: %v", r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	watchers.Wait()
	if len(violations) > 0 {
		t.Fatalf("%d violations in %d reads, first: %s", len(violations), samples.Load(), strings.Join(violations[:min(5, len(violations))], "\n"))
	}
	if samples.Load() < 20 {
		t.Fatalf("the watchers read only %d times: the test proved nothing", samples.Load())
	}
	t.Logf("%d applies and parks, %d watcher reads, no server out of maint before its address showed", slots*rounds, samples.Load())
}

// runAndConfirm reads back only an address change (HAProxy 2.9+ applies it
// after replying) and trusts the empty reply of `set server … state`,
// `… weight` and `enable|disable health`. That holds only if HAProxy applies
// those before it replies: a read in the same session must show them, on
// every version of the matrix.
func TestStateWeightAndHealthApplyBeforeTheReply(t *testing.T) {
	inst := haproxytest.Start(t)
	tr, err := haproxy.ParseTarget(inst.UnixTarget())
	if err != nil {
		t.Fatal(err)
	}
	c := haproxy.New(tr)
	ctx := context.Background()
	show, err := haproxy.ShowServersState("app")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		srv := fmt.Sprintf("websrv%d", i%haproxytest.Slots+1)
		state := []haproxy.State{haproxy.StateReady, haproxy.StateDrain, haproxy.StateMaint}[i%3]
		weight, health := i%200+2, i%2 == 0
		st, err1 := haproxy.SetServerState("app", srv, state)
		wt, err2 := haproxy.SetServerWeight("app", srv, weight)
		hc, err3 := haproxy.EnableHealth("app", srv)
		if !health {
			hc, err3 = haproxy.DisableHealth("app", srv)
		}
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		bodies, err := c.Run(ctx, st, wt, hc, show)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := c.ParseServersStateReply(show, bodies[3])
		if err != nil {
			t.Fatal(err)
		}
		row, _ := rows.Find("app", srv)
		if v := fleet.ValuesOf(row); v.State != state || v.Weight != weight || v.Health != health {
			t.Fatalf("round %d: a read in the same session shows %+v, not state %s weight %d health %v", i, v, state, weight, health)
		}
	}
}

// Before HAProxy 2.9 an address change shows in a read of the session that
// made it, so moving a server and making it ready is one connection per
// socket: the write, a read of its row, and `state ready` once the read
// showed the address. From 2.9 that read may still show the old address;
// then the confirmation polls on new connections (the lag tests check that
// nothing is made ready before a read shows it).
func TestAddressConfirmedInTheWritingSessionWhereItShows(t *testing.T) {
	inst := haproxytest.Start(t)
	f := fleettest.New(t, inst.UnixTarget())
	ctx := context.Background()
	lags := haproxytest.Version(t).AtLeast(2, 9)
	for i, server := range []string{"websrv1", "websrv2"} {
		d := fleet.Desired{Backend: "app", Server: server, Addr: netip.MustParseAddr("127.0.0.9" + fmt.Sprint(i)), Port: fleettest.IntP(90 + i), State: haproxy.StateReady}
		views, _, err := f.Preflight(ctx, "app", server)
		if err != nil {
			t.Fatal(err)
		}
		before := f.RoundTrips()
		for _, r := range f.Apply(ctx, d, views) {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
		trips := f.RoundTrips() - before
		if !lags && trips != 1 {
			t.Errorf("%s on HAProxy %s: %d connections, want 1", server, haproxytest.Version(t), trips)
		}
		if s := inst.State(t, "app", server); s.Addr != d.Addr.String() || s.Admin != 4 {
			t.Errorf("%s: %+v", server, s)
		}
	}
}
