package fleet_test

import (
	"context"
	"errors"
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

// recorder keeps every command sent, in order, as the provider's log sees
// them.
type recorder struct {
	mu   sync.Mutex
	sent []string
}

func (r *recorder) observe(_ context.Context, ex haproxy.Exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, ex.Commands...)
}

// after lists the commands sent after the first one starting with prefix.
func (r *recorder) after(prefix string) (rest []string, found bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, c := range r.sent {
		if strings.HasPrefix(c, prefix) {
			return append([]string(nil), r.sent[i+1:]...), true
		}
	}
	return nil, false
}

func reads(cmds []string) (n int) {
	for _, c := range cmds {
		if strings.HasPrefix(c, "show servers state") || strings.HasPrefix(c, "show stat") {
			n++
		}
	}
	return n
}

// What the docs say is read back, and only that: an address change is
// confirmed by a read before anything that lets traffic in is sent; a
// weight or state change is trusted on HAProxy's empty reply and not read
// back (the reply comes after the change is applied, on every supported
// version). If this test fails, the read-back sentences of README.md,
// docs/index.md, the backend_server page and the multiple-instances guide
// are no longer true.
func TestOnlyAnAddressChangeIsReadBack(t *testing.T) {
	a := haproxytest.Start(t)
	rec := &recorder{}
	f, err := fleet.New([]string{a.UnixTarget()}, 3*time.Second, rec.observe)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	port, weight := 9001, 7
	d := fleet.Desired{Backend: "app", Server: "websrv1", Addr: netip.MustParseAddr("127.0.0.56"), Port: &port, State: haproxy.StateReady, Weight: &weight}

	if _, err := f.ApplyServer(ctx, d); err != nil {
		t.Fatal(err)
	}
	rest, ok := rec.after("set server app/websrv1 addr 127.0.0.56 port 9001")
	if !ok {
		t.Fatalf("no address change was sent: %q", rec.sent)
	}
	ready := -1
	for i, c := range rest {
		if c == "set server app/websrv1 state ready" || strings.HasPrefix(c, "set server app/websrv1 weight") {
			ready = i
			break
		}
	}
	if ready < 0 || reads(rest[:ready]) == 0 {
		t.Fatalf("weight or ready went out before a read showed the address: after the address change %q", rest)
	}

	rec.mu.Lock()
	rec.sent = nil
	rec.mu.Unlock()
	weight = 9
	d.State = haproxy.StateDrain
	if _, err := f.ApplyServer(ctx, d); err != nil {
		t.Fatal(err)
	}
	rest, ok = rec.after("set server app/websrv1 state drain")
	if !ok {
		t.Fatalf("no state change was sent: %q", rec.sent)
	}
	if n := reads(rest); n != 0 {
		t.Fatalf("a change without an address was read back (%d reads after the write): %q", n, rest)
	}
	if s := a.State(t, "app", "websrv1"); s.Wt != 9 || s.Admin&8 == 0 {
		t.Fatalf("HAProxy does not hold what the empty replies promised: %+v", s)
	}
}

// An instance that dies between pre-flight and write: the healthy one takes
// the change, the dead one reports a transport error naming its socket, and
// a read afterwards reports the failure instead of a value.
func TestApplyPartialFailure(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	f := fleettest.New(t, a.UnixTarget(), b.TCPTarget())
	ctx := context.Background()
	views, _, err := f.Preflight(ctx, "app", "websrv1")
	if err != nil {
		t.Fatal(err)
	}
	b.Kill()
	d := fleet.Desired{Backend: "app", Server: "websrv1", Addr: netip.MustParseAddr("127.0.0.7"), Port: fleettest.IntP(7), State: haproxy.StateMaint}
	res := f.Apply(ctx, d, views)
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
