package fleet_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// What each writer sends, as haproxy-ingress tests its dynamic updates: the
// command lines in order, against a recording observer on a real HAProxy
// (so the start state is real and what was sent is what HAProxy accepted).
// Reads of servers (`show servers state`, `show stat`) show as one
// "(read)" after a write, however many a version needs
// (2.9+ polls until an address shows): where a read must come between two
// writes is part of the rule; how many is not.

// sentTo is what the recorder saw for servers of backend: their writes in
// order, with "(read)" where reads of servers came after them. Reads before
// the first write (pre-flight) are left out, as are other reads (`show
// info`, `show cli level`). With one server, its name shows as S.
func (r *recorder) sentTo(backend string, servers ...string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.sent {
		if reads([]string{c}) > 0 {
			if len(out) > 0 && out[len(out)-1] != "(read)" {
				out = append(out, "(read)")
			}
			continue
		}
		for _, server := range servers {
			if name := backend + "/" + server; strings.Contains(c+" ", name+" ") {
				if len(servers) == 1 {
					c = strings.Replace(c, name, "S", 1)
				}
				out = append(out, c)
			}
		}
	}
	return out
}

func TestWhatEachWriterSends(t *testing.T) {
	inst := haproxytest.Start(t, haproxytest.Options{Slots: 12})
	be := haproxytest.StartHTTP(t, "A", "127.0.0.1") // health checks pass here
	at := func(n int) string { return fmt.Sprintf("127.0.0.%d", 60+n) }
	ctx := context.Background()

	type start struct {
		addr  string
		port  int
		state string // ready, drain or maint
	}
	cases := []struct {
		name  string
		start *start // nil: the slot as the template parks it
		run   func(f *fleet.Fleet, server string) error
		want  []string
	}{
		{
			name: "a parked slot is pointed at its address, read back, tuned, then made ready",
			run: func(f *fleet.Fleet, server string) error {
				return apply(ctx, f, fleet.Desired{Backend: "app", Server: server, Addr: netip.MustParseAddr(at(1)), Port: fleettest.IntP(8001), State: haproxy.StateReady, Weight: fleettest.IntP(7)})
			},
			want: []string{"set server S addr " + at(1) + " port 8001", "(read)", "set server S weight 7", "set server S state ready"},
		},
		{
			name:  "only what differs is sent: a weight",
			start: &start{at(2), 8002, "ready"},
			run: func(f *fleet.Fleet, server string) error {
				return apply(ctx, f, fleet.Desired{Backend: "app", Server: server, Addr: netip.MustParseAddr(at(2)), Port: fleettest.IntP(8002), State: haproxy.StateReady, Weight: fleettest.IntP(3)})
			},
			want: []string{"set server S weight 3"},
		},
		{
			name:  "nothing differs: nothing is sent",
			start: &start{at(3), 8003, "ready"},
			run: func(f *fleet.Fleet, server string) error {
				return apply(ctx, f, fleet.Desired{Backend: "app", Server: server, Addr: netip.MustParseAddr(at(3)), Port: fleettest.IntP(8003), State: haproxy.StateReady})
			},
			want: nil,
		},
		{
			name:  "less traffic goes first: maint before the move",
			start: &start{at(4), 8004, "ready"},
			run: func(f *fleet.Fleet, server string) error {
				return apply(ctx, f, fleet.Desired{Backend: "app", Server: server, Addr: netip.MustParseAddr(at(5)), Port: fleettest.IntP(8005), State: haproxy.StateMaint,
					Owner: fleet.Holding("", netip.MustParseAddrPort(at(4)+":8004"))})
			},
			want: []string{"set server S state maint", "set server S addr " + at(5) + " port 8005", "(read)"},
		},
		{
			name:  "a serving server moved gently is drained first (drain-first), then moved and made ready again",
			start: &start{at(6), 8006, "ready"},
			run: func(f *fleet.Fleet, server string) error {
				return apply(ctx, f, fleet.Desired{Backend: "app", Server: server, Addr: netip.MustParseAddr(at(7)), Port: fleettest.IntP(8007), State: haproxy.StateReady,
					Grace: fleet.Grace{DrainTimeout: 2 * time.Second}, Owner: fleet.Holding("", netip.MustParseAddrPort(at(6)+":8006"))})
			},
			want: []string{"set server S state drain", "(read)", "set server S addr " + at(7) + " port 8007", "(read)", "set server S state ready"},
		},
		{
			name: "the health gate: held in drain with its health forced down until a check passes, then ready",
			run: func(f *fleet.Fleet, server string) error {
				return apply(ctx, f, fleet.Desired{Backend: "app", Server: server, Addr: netip.MustParseAddr(be.Host), Port: fleettest.IntP(be.Port), State: haproxy.StateReady,
					Grace: fleet.Grace{WaitHealthy: 10 * time.Second}})
			},
			want: []string{fmt.Sprintf("set server S addr %s port %d", be.Host, be.Port), "(read)", "set server S state drain", "set server S health down", "(read)", "set server S state ready"},
		},
		{
			name:  "park: out of service first, then back on the placeholder",
			start: &start{at(8), 8008, "ready"},
			run: func(f *fleet.Fleet, server string) error {
				owner := fleet.Holding("", netip.MustParseAddrPort(at(8)+":8008"))
				_, err := f.Park(ctx, "app", server, nil, owner, fleet.Grace{})
				return err
			},
			want: []string{"set server S state maint", "set server S addr 127.0.0.1 port 1", "(read)"},
		},
		{
			name:  "park, gently: drain-first, then maint and the placeholder",
			start: &start{at(9), 8009, "ready"},
			run: func(f *fleet.Fleet, server string) error {
				owner := fleet.Holding("", netip.MustParseAddrPort(at(9)+":8009"))
				_, err := f.Park(ctx, "app", server, nil, owner, fleet.Grace{DrainTimeout: 2 * time.Second})
				return err
			},
			want: []string{"set server S state drain", "(read)", "set server S state maint", "set server S addr 127.0.0.1 port 1", "(read)"},
		},
		{
			name:  "the state action: only the state, then the wait for sessions",
			start: &start{at(10), 8010, "ready"},
			run: func(f *fleet.Fleet, server string) error {
				_, err := f.ChangeState(ctx, fleet.StateChange{Backend: "app", Servers: []string{server}, State: haproxy.StateDrain, WaitSessions: 2 * time.Second})
				return err
			},
			want: []string{"set server S state drain", "(read)"},
		},
		{
			name:  "the state action's health gate is the same gate",
			start: &start{be.Host, be.Port, "maint"},
			run: func(f *fleet.Fleet, server string) error {
				_, err := f.ChangeState(ctx, fleet.StateChange{Backend: "app", Servers: []string{server}, State: haproxy.StateReady, WaitHealthy: 10 * time.Second})
				return err
			},
			want: []string{"set server S state drain", "set server S health down", "(read)", "set server S state ready"},
		},
	}
	if len(cases) > 10 {
		t.Fatalf("%d cases for 10 slots", len(cases))
	}
	for i, tc := range cases {
		server := fmt.Sprintf("websrv%d", i+1)
		t.Run(tc.name, func(t *testing.T) {
			if s := tc.start; s != nil {
				inst.Admin(t, fmt.Sprintf("set server app/%s addr %s port %d", server, s.addr, s.port))
				inst.WaitState(t, "app", server, func(r haproxytest.Server) bool { return r.Addr == s.addr })
				inst.Admin(t, "set server app/"+server+" state "+s.state)
			}
			rec := &recorder{}
			f, err := fleet.New([]string{inst.UnixTarget()}, 3*time.Second, rec.observe)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.run(f, server); err != nil {
				t.Fatal(err)
			}
			if got := rec.sentTo("app", server); !slices.Equal(got, tc.want) {
				t.Fatalf("sent\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}

	// A pool's batch: each phase for every server before the next, one
	// read between the move and what follows it.
	t.Run("a batch sends each phase for every server before the next", func(t *testing.T) {
		rec := &recorder{}
		f, err := fleet.New([]string{inst.UnixTarget()}, 3*time.Second, rec.observe)
		if err != nil {
			t.Fatal(err)
		}
		var changes []fleet.Change
		for _, server := range []string{"websrv11", "websrv12"} {
			views, _, err := f.Preflight(ctx, "app", server)
			if err != nil {
				t.Fatal(err)
			}
			n := len(changes) + 1
			changes = append(changes, fleet.Change{Server: server, Cur: views[0].Current,
				Want: fleet.Values{Addr: at(20 + n), Port: 8020 + n, State: haproxy.StateReady, Weight: 2, Health: fleet.ValuesOf(views[0].Current).Health}})
		}
		rec.mu.Lock()
		rec.sent = nil // pre-flight
		rec.mu.Unlock()
		for _, err := range f.ApplyBatch(ctx, f.Clients()[0], "app", changes) {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := rec.sentTo("app", "websrv11", "websrv12")
		want := []string{
			"set server app/websrv11 addr " + at(21) + " port 8021", "set server app/websrv12 addr " + at(22) + " port 8022", "(read)",
			"set server app/websrv11 weight 2", "set server app/websrv12 weight 2",
			"set server app/websrv11 state ready", "set server app/websrv12 state ready", "(read)",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("sent\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	})
}

// apply is a resource's apply of d on every socket, failing on any error.
func apply(ctx context.Context, f *fleet.Fleet, d fleet.Desired) error {
	out, err := f.ApplyServer(ctx, d)
	if err != nil {
		return err
	}
	if len(out.Failed) > 0 {
		return out.Failed
	}
	return nil
}
