package haproxy_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// Every client command against a real haproxy, over both transports. State
// is checked afterwards through the fixture's own socket reader, not through
// the client under test.

func clients(t *testing.T, inst *haproxytest.Instance) map[string]*haproxy.Client {
	t.Helper()
	out := map[string]*haproxy.Client{}
	for _, target := range []string{inst.UnixTarget(), inst.TCPTarget()} {
		tr, err := haproxy.ParseTarget(target)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.SplitN(target, ":", 2)[0]] = haproxy.New(tr)
	}
	return out
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestIntegrationCommands(t *testing.T) {
	for transport := range map[string]bool{"unix": true, "tcp": true} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			inst := haproxytest.Start(t)
			c := clients(t, inst)[transport]

			if lvl, err := c.Level(ctx(t)); err != nil || lvl != "admin" {
				t.Fatalf("Level = %q, %v", lvl, err)
			}
			if v, err := c.Version(ctx(t)); err != nil || !strings.HasPrefix(v, "2.") && !strings.HasPrefix(v, "3.") {
				t.Fatalf("Version = %q, %v", v, err)
			}
			if info, err := c.Info(ctx(t)); err != nil || info["Name"] != "HAProxy" {
				t.Fatalf("Info = %v, %v", info, err)
			}

			st, err := c.ServersState(ctx(t), "app")
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Servers) != haproxytest.Slots {
				t.Fatalf("%d slots, want %d", len(st.Servers), haproxytest.Slots)
			}
			w1, _ := st.Find("app", "websrv1")
			if w1.Addr.String() != "127.0.0.1" || w1.Port != 1 || w1.Admin.UserState() != haproxy.StateMaint {
				t.Fatalf("fresh slot = %+v", w1)
			}

			if err := c.SetAddr(ctx(t), "app", "websrv1", netip.MustParseAddr("127.0.0.2"), 8080); err != nil {
				t.Fatal(err)
			}
			// SetAddr is not confirmed by the client; HAProxy 2.9+ applies it
			// a moment after replying.
			inst.WaitState(t, "app", "websrv1", func(s haproxytest.Server) bool { return s.Addr == "127.0.0.2" && s.Port == "8080" })
			// The same change again is "no need to change": still success.
			if err := c.SetAddr(ctx(t), "app", "websrv1", netip.MustParseAddr("127.0.0.2"), 8080); err != nil {
				t.Fatal(err)
			}
			if err := c.SetAddr(ctx(t), "app", "websrv2", netip.MustParseAddr("::1"), 8081); err != nil {
				t.Fatal(err)
			}
			inst.WaitState(t, "app", "websrv2", func(s haproxytest.Server) bool { return s.Addr == "::1" && s.Port == "8081" })

			if err := c.SetWeight(ctx(t), "app", "websrv1", 50); err != nil {
				t.Fatal(err)
			}
			if s := inst.State(t, "app", "websrv1"); s.Wt != 50 {
				t.Fatalf("after SetWeight: %+v", s)
			}
			for _, tc := range []struct {
				st    haproxy.State
				admin int
			}{{haproxy.StateReady, 4}, {haproxy.StateDrain, 12}, {haproxy.StateMaint, 5}, {haproxy.StateReady, 4}} {
				if err := c.SetState(ctx(t), "app", "websrv1", tc.st); err != nil {
					t.Fatal(err)
				}
				if s := inst.State(t, "app", "websrv1"); s.Admin != tc.admin {
					t.Fatalf("after state %s: admin %d, want %d", tc.st, s.Admin, tc.admin)
				}
			}

			if err := c.DisableHealth(ctx(t), "app", "websrv1"); err != nil {
				t.Fatal(err)
			}
			if got := checkState(t, c, "websrv1"); got&0x04 != 0 {
				t.Fatalf("check still enabled after DisableHealth: check_state %d", got)
			}
			if err := c.EnableHealth(ctx(t), "app", "websrv1"); err != nil {
				t.Fatal(err)
			}
			if got := checkState(t, c, "websrv1"); got&0x04 == 0 {
				t.Fatalf("check not enabled after EnableHealth: check_state %d", got)
			}

			rows, err := c.Stat(ctx(t), w1.BackendID)
			if err != nil || len(rows) != haproxytest.Slots || rows[0].Server != "websrv1" || rows[0].Proxy != "app" {
				t.Fatalf("Stat = %+v, %v", rows, err)
			}

			// A write and its confirming read in one connection.
			set, _ := haproxy.SetServerState("app", "websrv3", haproxy.StateDrain)
			show, _ := haproxy.ShowServersState("app")
			bodies, err := c.Run(ctx(t), set, show)
			if err != nil {
				t.Fatal(err)
			}
			st, err = c.ParseServersStateReply(show, bodies[1])
			if err != nil {
				t.Fatal(err)
			}
			if w3, _ := st.Find("app", "websrv3"); w3.Admin.UserState() != haproxy.StateDrain {
				t.Fatalf("batched read does not show the batched write: %+v", w3)
			}
		})
	}
}

func checkState(t *testing.T, c *haproxy.Client, server string) int {
	t.Helper()
	st, err := c.ServersState(ctx(t), "app")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := st.Find("app", server)
	return s.CheckState
}

func TestIntegrationErrors(t *testing.T) {
	inst := haproxytest.Start(t)
	for transport, c := range clients(t, inst) {
		t.Run(transport, func(t *testing.T) {
			check := func(name string, err, want error) {
				t.Helper()
				if !errors.Is(err, want) {
					t.Errorf("%s: err = %v, want %v", name, err, want)
					return
				}
				if !strings.Contains(err.Error(), c.Target()) {
					t.Errorf("%s: error does not name the socket: %v", name, err)
				}
			}
			_, err := c.ServersState(ctx(t), "nope")
			check("ServersState missing backend", err, haproxy.ErrNoSuchBackend)
			check("SetState missing backend", c.SetState(ctx(t), "nope", "websrv1", haproxy.StateReady), haproxy.ErrNoSuchBackend)
			check("SetState missing server", c.SetState(ctx(t), "app", "nope", haproxy.StateReady), haproxy.ErrNoSuchServer)
			check("SetAddr missing server", c.SetAddr(ctx(t), "app", "nope", netip.MustParseAddr("127.0.0.1"), 80), haproxy.ErrNoSuchServer)
			check("SetState disabled backend", c.SetState(ctx(t), "off", "o1", haproxy.StateReady), haproxy.ErrBackendDisabled)
			check("SetWeight static LB", c.SetWeight(ctx(t), "staticlb", "t1", 3), haproxy.ErrInvalidArgument)
			check("EnableHealth without check", c.EnableHealth(ctx(t), "plain", "s1"), haproxy.ErrInvalidArgument)
			// `show stat` of an id no proxy has is an empty table, not an error.
			if rows, err := c.Stat(ctx(t), 99999); err != nil || len(rows) != 0 {
				t.Errorf("Stat of a missing backend id = %+v, %v", rows, err)
			}
		})
	}

	// A user-level socket: reads work, writes are refused, nothing changes.
	user := haproxy.New(mustTarget(t, "unix://"+inst.UserSock))
	if lvl, err := user.Level(ctx(t)); err != nil || lvl != "user" {
		t.Fatalf("user socket level = %q, %v", lvl, err)
	}
	before := inst.State(t, "app", "websrv5")
	if err := user.SetState(ctx(t), "app", "websrv5", haproxy.StateReady); !errors.Is(err, haproxy.ErrPermission) {
		t.Fatalf("user socket write: %v", err)
	}
	if after := inst.State(t, "app", "websrv5"); after != before {
		t.Fatalf("refused write changed the server: %+v -> %+v", before, after)
	}

	// A socket whose haproxy is gone: transport error, never "gone".
	inst.Kill()
	for transport, c := range clients(t, inst) {
		_, err := c.ServersState(ctx(t), "app")
		if !errors.Is(err, haproxy.ErrTransport) || haproxy.IsGone(err) {
			t.Errorf("%s after kill: err = %v, want transport error", transport, err)
		}
	}
}

func mustTarget(t *testing.T, s string) haproxy.Transport {
	t.Helper()
	tr, err := haproxy.ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
