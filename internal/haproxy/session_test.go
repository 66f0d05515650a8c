package haproxy_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// A session sends the next batch only after reading the previous replies,
// on one connection: a refused first command keeps the second from being
// sent at all.
func TestSessionDecidesBetweenBatches(t *testing.T) {
	inst := haproxytest.Start(t)
	for transport, c := range clients(t, inst) {
		t.Run(transport, func(t *testing.T) {
			before := c.RoundTrips()
			addr, _ := haproxy.SetServerAddr("app", "websrv6", netip.MustParseAddr("127.0.0.6"), 6)
			ready, _ := haproxy.SetServerState("app", "websrv6", haproxy.StateReady)
			err := c.Session(ctx(t), func(s *haproxy.Session) error {
				each, err := s.Run(addr)
				if err != nil || each[0] != nil {
					t.Fatalf("addr: %v %v", each, err)
				}
				each, err = s.Run(ready)
				if err != nil || each[0] != nil {
					t.Fatalf("ready: %v %v", each, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := c.RoundTrips() - before; n != 1 {
				t.Fatalf("%d connections for one session", n)
			}
			// The address is not confirmed here: HAProxy 2.9+ applies it a
			// moment after replying.
			inst.WaitState(t, "app", "websrv6", func(s haproxytest.Server) bool {
				return s.Addr == "127.0.0.6" && s.Port == "6" && s.Admin == 4
			})

			// A failing first batch: the caller stops, nothing else changes.
			bad, _ := haproxy.SetServerWeight("staticlb", "t1", 3)
			drain, _ := haproxy.SetServerState("staticlb", "t1", haproxy.StateReady)
			beforeT1 := inst.State(t, "staticlb", "t1")
			err = c.Session(ctx(t), func(s *haproxy.Session) error {
				each, err := s.Run(bad)
				if err != nil {
					return err
				}
				if each[0] != nil {
					return each[0]
				}
				_, err = s.Run(drain)
				return err
			})
			if !errors.Is(err, haproxy.ErrInvalidArgument) {
				t.Fatalf("err = %v", err)
			}
			if after := inst.State(t, "staticlb", "t1"); after != beforeT1 {
				t.Fatalf("the second batch ran: %+v -> %+v", beforeT1, after)
			}
		})
	}
}
