package fleet

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

func row(addr string, port int, admin haproxy.AdminFlags, weight int) haproxy.ServerState {
	return haproxy.ServerState{Backend: "app", Name: "w1", ID: 1, Addr: netip.MustParseAddr(addr), Port: port, Admin: admin, UserWeight: weight}
}

func found(socket string, s haproxy.ServerState) Observation {
	return Observation{Socket: socket, Found: true, Server: s}
}

func TestReconcileAgreement(t *testing.T) {
	obs := []Observation{found("unix:///a", row("10.0.0.1", 80, 4, 10)), found("tcp://b:1", row("10.0.0.1", 80, 4, 10))}
	r, err := (&Fleet{}).Reconcile("app", "w1", &Values{Addr: "10.0.0.1", Port: 80, State: "ready", Weight: 10}, obs)
	if err != nil || r.Gone || len(r.Split) != 0 || len(r.PerSocket) != 2 {
		t.Fatalf("r=%+v err=%v", r, err)
	}
	if r.Values != (Values{Addr: "10.0.0.1", Port: 80, State: haproxy.StateReady, Weight: 10}) {
		t.Fatalf("values = %+v", r.Values)
	}
}

// Disagreement reports the value that differs from prior, whichever socket
// holds it, so the plan shows a change; and a warning names each socket.
func TestReconcileDisagreementPicksTheDrift(t *testing.T) {
	prior := &Values{Addr: "10.0.0.1", Port: 80, State: "ready", Weight: 10}
	for _, driftFirst := range []bool{true, false} {
		good := found("unix:///a", row("10.0.0.1", 80, 4, 10))
		bad := found("tcp://b:1", row("127.0.0.1", 1, 5, 1))
		obs := []Observation{good, bad}
		if driftFirst {
			obs = []Observation{bad, good}
		}
		r, err := (&Fleet{}).Reconcile("app", "w1", prior, obs)
		if err != nil {
			t.Fatal(err)
		}
		if r.Values != (Values{Addr: "127.0.0.1", Port: 1, State: haproxy.StateMaint, Weight: 1}) {
			t.Fatalf("driftFirst=%v: values = %+v", driftFirst, r.Values)
		}
		if !slices.Equal(r.Split, []Attr{AttrAddress, AttrPort, AttrState, AttrWeight}) {
			t.Fatalf("split = %q", r.Split)
		}
		for _, sv := range r.PerSocket {
			want := map[string]string{"unix:///a": "10.0.0.1", "tcp://b:1": "127.0.0.1"}[sv.Socket]
			if sv.Values.Addr != want {
				t.Fatalf("%s holds %s, reported %+v", sv.Socket, want, sv)
			}
		}
	}
}

func TestReconcileGoneAndErrors(t *testing.T) {
	absent := Observation{Socket: "unix:///a"}
	absent2 := Observation{Socket: "tcp://b:1"}
	r, err := (&Fleet{}).Reconcile("app", "w1", nil, []Observation{absent, absent2})
	if err != nil || !r.Gone {
		t.Fatalf("absent everywhere: r=%+v err=%v", r, err)
	}

	_, err = (&Fleet{}).Reconcile("app", "w1", nil, []Observation{found("unix:///a", row("10.0.0.1", 80, 4, 1)), absent2})
	if err == nil || !strings.Contains(err.Error(), "exists on unix:///a but not on tcp://b:1") {
		t.Fatalf("absent on some: err = %v", err)
	}

	// An unreachable socket is an error even when every other one says gone.
	down := Observation{Socket: "tcp://b:1", Err: &haproxy.Error{Kind: haproxy.ErrTransport, Target: "tcp://b:1"}}
	r, err = (&Fleet{}).Reconcile("app", "w1", nil, []Observation{absent, down})
	if err == nil || r.Gone || !errors.Is(err, haproxy.ErrTransport) || !strings.Contains(err.Error(), "tcp://b:1") {
		t.Fatalf("unreachable: r=%+v err=%v", r, err)
	}

	// The same socket skipped (unreachable_sockets = "warn"): still not gone,
	// because it was never read.
	skipped := down
	skipped.Skipped, skipped.Err = down.Err, nil
	r, err = (&Fleet{}).Reconcile("app", "w1", nil, []Observation{absent, skipped})
	if err == nil || r.Gone || !strings.Contains(err.Error(), "cannot be called gone") || !strings.Contains(err.Error(), "tcp://b:1") {
		t.Fatalf("absent where read, one socket skipped: r=%+v err=%v", r, err)
	}
}

func TestReconcileReportsStatesItDoesNotManage(t *testing.T) {
	obs := []Observation{found("unix:///a", row("10.0.0.1", 80, haproxy.AdminInheritedMaint, 1))}
	r, err := (&Fleet{}).Reconcile("app", "w1", nil, obs)
	if err != nil || r.Values.State != haproxy.StateReady || len(r.Unmanaged) != 1 || !strings.Contains(strings.Join(r.Unmanaged[0].States, ","), "tracked server") {
		t.Fatalf("r=%+v err=%v", r, err)
	}
}

// Disagreement on health checks is reported like any other.
func TestReconcileHealthSplit(t *testing.T) {
	on := row("10.0.0.1", 80, 4, 1)
	on.CheckState = haproxy.CheckConfigured | haproxy.CheckEnabled
	off := row("10.0.0.1", 80, 4, 1)
	off.CheckState = haproxy.CheckConfigured
	r, err := (&Fleet{}).Reconcile("app", "w1", nil, []Observation{found("unix:///a", on), found("tcp://b:1", off)})
	if err != nil || !slices.Equal(r.Split, []Attr{AttrHealth}) || !r.PerSocket[0].Values.Health || r.PerSocket[1].Values.Health {
		t.Fatalf("r=%+v err=%v", r, err)
	}
}

// A parked instance (maint on the placeholder: reloaded, or never pointed
// anywhere) contributes nothing to the values while another serves; when
// every instance is parked, the address and port are prior's, or on import
// the placeholder's.
func TestReconcileParkedContributesNothing(t *testing.T) {
	f := &Fleet{placeholder: DefaultPlaceholder}
	parked := found("unix:///a", row("127.0.0.1", 1, 5, 1))
	serving := found("tcp://b:1", row("127.0.0.1", 8080, 4, 1))
	prior := &Values{Addr: "127.0.0.1", Port: 8080, State: haproxy.StateReady, Weight: 1}
	for name, tc := range map[string]struct {
		prior *Values
		obs   []Observation
		want  Values
		split []Attr
	}{
		"import, parked first":   {nil, []Observation{parked, serving}, Values{Addr: "127.0.0.1", Port: 8080, State: haproxy.StateReady, Weight: 1}, nil},
		"refresh, parked second": {prior, []Observation{serving, parked}, *prior, nil},
		"import, every instance parked": {nil, []Observation{parked, parked},
			Values{Addr: "127.0.0.1", Port: 1, State: haproxy.StateMaint, Weight: 1}, nil},
		"refresh, every instance parked": {prior, []Observation{parked, parked},
			Values{Addr: "127.0.0.1", Port: 8080, State: haproxy.StateMaint, Weight: 1}, nil},
	} {
		r, err := f.Reconcile("app", "w1", tc.prior, tc.obs)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Values != tc.want || !slices.Equal(r.Split, tc.split) {
			t.Errorf("%s: values %+v split %v, want %+v split %v", name, r.Values, r.Split, tc.want, tc.split)
		}
		if !r.PerSocket[0].Parked && tc.obs[0].Server.Port == 1 {
			t.Errorf("%s: the parked instance is not marked parked", name)
		}
	}
}
