// Package fleettest is what the tests of package fleet and of package pool
// share: fleets on real HAProxy instances, and transports that stage what
// a real HAProxy does only sometimes (the address lag of 2.9+, a hang, a
// race), deterministically. It is for tests only.
package fleettest

import (
	"strconv"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// New is a fleet on targets with a 3 s timeout.
func New(t testing.TB, targets ...string) *fleet.Fleet {
	t.Helper()
	f, err := fleet.New(targets, 3*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// IntP points at i.
func IntP(i int) *int { return &i }

// ParkTemplate puts every slot of the fixture's template in maint, as
// `server-template … disabled` leaves them.
func ParkTemplate(t testing.TB, insts ...*haproxytest.Instance) {
	t.Helper()
	for _, inst := range insts {
		for i := 1; i <= haproxytest.Slots; i++ {
			inst.Admin(t, "set server app/websrv"+strconv.Itoa(i)+" state maint")
		}
	}
}
