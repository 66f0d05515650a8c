package fleet

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// The safe order as a table, no socket: what safeOrder sends, and in which
// group, for each kind of change a writer makes.

// rowHolding is a servers-state row holding v, with checks configured.
func rowHolding(v Values) haproxy.ServerState {
	s := haproxy.ServerState{Backend: "app", Name: "websrv1", Port: v.Port, UserWeight: v.Weight, CheckState: haproxy.CheckConfigured}
	if v.Addr != "" {
		s.Addr = netip.MustParseAddr(v.Addr)
	}
	s.Admin = s.Admin.WithUserState(v.State)
	if v.Health {
		s.CheckState |= haproxy.CheckEnabled
	}
	return s
}

func lines(cmds []haproxy.Command) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.String())
	}
	return out
}

func TestSafeOrder(t *testing.T) {
	placeholder := Values{Addr: "127.0.0.1", Port: 1, State: haproxy.StateMaint, Weight: 1, Health: true}
	serving := Values{Addr: "127.0.0.5", Port: 8080, State: haproxy.StateReady, Weight: 1, Health: true}
	with := func(v Values, edit func(*Values)) Values { edit(&v); return v }
	const ref = "set server app/websrv1 "

	for _, tc := range []struct {
		name                   string
		cur, want              Values
		holdDown               bool
		less, move, tune, more []string
	}{
		{name: "nothing differs: nothing is sent", cur: serving, want: serving},
		{
			name: "a slot leaves its placeholder: address, then weight, then ready",
			cur:  placeholder, want: with(serving, func(v *Values) { v.Weight = 5 }),
			move: []string{ref + "addr 127.0.0.5 port 8080"},
			tune: []string{ref + "weight 5"},
			more: []string{ref + "state ready"},
		},
		{
			name: "a serving server is parked: maint first, then the address",
			cur:  with(serving, func(v *Values) { v.Weight = 5 }), want: placeholder,
			less: []string{ref + "state maint"},
			move: []string{ref + "addr 127.0.0.1 port 1"},
			tune: []string{ref + "weight 1"},
		},
		{
			name: "a serving server moves and stays ready: no state command",
			cur:  serving, want: with(serving, func(v *Values) { v.Addr = "127.0.0.6" }),
			move: []string{ref + "addr 127.0.0.6 port 8080"},
		},
		{
			name: "ready to drain in place: only the state, first",
			cur:  serving, want: with(serving, func(v *Values) { v.State = haproxy.StateDrain }),
			less: []string{ref + "state drain"},
		},
		{
			name: "drain to maint still serves less: first",
			cur:  with(serving, func(v *Values) { v.State = haproxy.StateDrain }), want: with(serving, func(v *Values) { v.State = haproxy.StateMaint; v.Port = 9090 }),
			less: []string{ref + "state maint"},
			move: []string{ref + "addr 127.0.0.5 port 9090"},
		},
		{
			name: "maint to drain serves more: last",
			cur:  with(serving, func(v *Values) { v.State = haproxy.StateMaint }), want: with(serving, func(v *Values) { v.State = haproxy.StateDrain }),
			more: []string{ref + "state drain"},
		},
		{
			name: "health checks go with the weight, after the address",
			cur:  placeholder, want: with(serving, func(v *Values) { v.Health = false; v.State = haproxy.StateMaint }),
			move: []string{ref + "addr 127.0.0.5 port 8080"},
			tune: []string{"disable health app/websrv1"},
		},
		{
			name: "held down for a health check: drain, then health down, after everything else",
			cur:  placeholder, want: with(serving, func(v *Values) { v.State = haproxy.StateDrain }), holdDown: true,
			move: []string{ref + "addr 127.0.0.5 port 8080"},
			more: []string{ref + "state drain", ref + "health down"},
		},
		{
			name: "a server with no address yet gets one",
			cur:  with(placeholder, func(v *Values) { v.Addr = "" }), want: with(placeholder, func(v *Values) { v.Addr = "127.0.0.9" }),
			move: []string{ref + "addr 127.0.0.9 port 1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := safeOrder("app", "websrv1", rowHolding(tc.cur), tc.want, tc.holdDown)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range []struct {
				name      string
				got, want []string
			}{{"less", lines(w.less), tc.less}, {"move", lines(w.move), tc.move}, {"tune", lines(w.tune), tc.tune}, {"more", lines(w.more), tc.more}} {
				if !reflect.DeepEqual(g.got, g.want) {
					t.Errorf("%s: got %q, want %q", g.name, g.got, g.want)
				}
			}
		})
	}
}

// Whatever the change, a state that lets traffic in is never in a group
// before the address, and one that lets less in is never after it: checked
// over every pair of states and of addresses.
func TestSafeOrderNeverServesFromAWrongAddress(t *testing.T) {
	states := []haproxy.State{haproxy.StateReady, haproxy.StateDrain, haproxy.StateMaint}
	addrs := []string{"127.0.0.1", "127.0.0.5"}
	for _, from := range states {
		for _, to := range states {
			for _, a := range addrs {
				for _, b := range addrs {
					cur := Values{Addr: a, Port: 80, State: from, Weight: 1}
					want := Values{Addr: b, Port: 80, State: to, Weight: 1}
					w, err := safeOrder("app", "websrv1", rowHolding(cur), want, false)
					if err != nil {
						t.Fatal(err)
					}
					var sent []string
					for _, g := range w.groups() {
						sent = append(sent, lines(g)...)
					}
					if a != b && (len(w.move) != 1 || len(sent) == 0) {
						t.Fatalf("%v → %v: the address is not sent: %q", cur, want, sent)
					}
					for _, g := range [][]haproxy.Command{w.move, w.tune} {
						for _, c := range g {
							if strings.Contains(c.String(), " state ") {
								t.Fatalf("%v → %v: a state change in the address or tune group: %q", cur, want, sent)
							}
						}
					}
					more := serving(to) > serving(from)
					if more && len(w.less) > 0 || !more && len(w.more) > 0 {
						t.Fatalf("%v → %v: state in the wrong group: less %q more %q", cur, want, lines(w.less), lines(w.more))
					}
				}
			}
		}
	}
}

func TestSafeOrderRefusesWhatMustNotReachASocket(t *testing.T) {
	cur := rowHolding(Values{Addr: "127.0.0.1", Port: 1, State: haproxy.StateMaint, Weight: 1})
	if _, err := safeOrder("app", "websrv1;shutdown", cur, Values{Addr: "127.0.0.5", Port: 80, State: haproxy.StateReady, Weight: 1}, false); err == nil {
		t.Fatal("a server name with ';' was accepted")
	}
	if _, err := safeOrder("app", "websrv1", cur, Values{Addr: "not-an-address", Port: 80, State: haproxy.StateMaint, Weight: 1}, false); err == nil || !strings.Contains(err.Error(), "not-an-address") {
		t.Fatalf("an invalid address: err = %v", err)
	}
}
