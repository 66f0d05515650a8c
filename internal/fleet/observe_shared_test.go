package fleet_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"

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
