package haproxy_test

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
)

// builder returns a function that fails t when a command could not be built.
func builder(t *testing.T) func(haproxy.Command, error) haproxy.Command {
	return func(cmd haproxy.Command, err error) haproxy.Command {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return cmd
	}
}

func runOne(t *testing.T, c *haproxy.Client, cmd haproxy.Command) error {
	t.Helper()
	_, err := c.Run(ctx(t), cmd)
	return err
}

// The probe answers "would an add be accepted" and adds nothing, on every
// version: the backend checks come before the address is parsed.
func TestProbeAddServerAddsNothing(t *testing.T) {
	inst := haproxytest.Start(t)
	c := clients(t, inst)["unix"]
	built := builder(t)
	if err := runOne(t, c, built(haproxy.ProbeAddServer("app", "probe1"))); err != nil {
		t.Fatalf("probe of a dynamic backend: %v", err)
	}
	if inst.Has(t, "app", "probe1") {
		t.Fatal("the probe added a server")
	}
	err := runOne(t, c, built(haproxy.ProbeAddServer("staticlb", "probe1")))
	if !errors.Is(err, haproxy.ErrNoDynamicServers) || !strings.Contains(err.Error(), "dynamic") {
		t.Fatalf("probe of a static-rr backend: %v", err)
	}
	if err := runOne(t, c, built(haproxy.ProbeAddServer("nope", "probe1"))); !errors.Is(err, haproxy.ErrNoSuchBackend) {
		t.Fatalf("probe of a missing backend: %v", err)
	}
}

// Every option renders to a line HAProxy accepts, and reads back where
// HAProxy reports it.
func TestAddServerWithOptions(t *testing.T) {
	inst := haproxytest.Start(t)
	c := clients(t, inst)["unix"]
	built := builder(t)
	w := 7
	opts := haproxy.ServerOptions{Weight: &w, Check: true, CheckInter: 1500 * time.Millisecond, Rise: 2, Fall: 4,
		SSL: true, Verify: haproxy.VerifyRequired, CAFile: "@system-ca", SNI: "www.example.com",
		MaxConn: 30, SendProxy: haproxy.ProxyV2, AgentPort: 5555, AgentInter: 3 * time.Second}
	cmd, err := haproxy.AddServerWith("app", "dyn1", netip.MustParseAddr("127.0.0.41"), 8041, opts)
	if err := runOne(t, c, built(cmd, err)); err != nil {
		t.Fatal(err)
	}
	s := inst.State(t, "app", "dyn1")
	if s.Addr != "127.0.0.41" || s.Port != "8041" || s.Wt != 7 || s.Admin&1 == 0 || s.Checks&2 == 0 {
		t.Fatalf("dyn1 = %+v", s)
	}
	st, err := c.ServersState(ctx(t), "app")
	if err != nil {
		t.Fatal(err)
	}
	if srv, ok := st.Find("app", "dyn1"); !ok || !srv.UseSSL || srv.AgentPort != 5555 {
		t.Fatalf("read back: %+v", srv)
	}
	// A second add of the name is refused: the atomic claim.
	cmd, err = haproxy.AddServerWith("app", "dyn1", netip.MustParseAddr("127.0.0.42"), 8042, haproxy.ServerOptions{})
	if err := runOne(t, c, built(cmd, err)); !errors.Is(err, haproxy.ErrAlreadyExists) {
		t.Fatalf("second add: %v", err)
	}
}

func TestServerOptionsValidation(t *testing.T) {
	for _, o := range []haproxy.ServerOptions{
		{Rise: 2},                       // rise without check
		{SSL: true, Verify: "required"}, // no CA
		{SSL: true, SNI: "a b"},         // not a host name
		{SSL: true, SNI: "x;quit"},      // command injection
		{SNI: "example.com"},            // sni without ssl
		{SSL: true, Verify: haproxy.VerifyRequired, CAFile: "/etc/ssl/a b.pem"},
		{SSL: true, Verify: haproxy.VerifyRequired, CAFile: "relative.pem"},
		{SendProxy: "v3"},
		{AgentInter: time.Second}, // without a port
		{Check: true, CheckInter: 1500 * time.Microsecond},
		{MaxConn: -1},
	} {
		if _, err := haproxy.AddServerWith("app", "x", netip.MustParseAddr("127.0.0.1"), 80, o); !errors.Is(err, haproxy.ErrInvalidArgument) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// A server with a request in flight is not removable: 3.0+ say so through
// `wait … srv-removable` when the delay runs out, 2.6 does not know `wait`;
// `del server` refuses it on every version until the request ends.
func TestRemovalWaitsForARequestInFlight(t *testing.T) {
	inst := haproxytest.Start(t)
	c := clients(t, inst)["unix"]
	built := builder(t)
	release := make(chan struct{})
	be := haproxytest.StartHeldHTTP(t, "held", "127.0.0.43", release)
	cmd, err := haproxy.AddServerWith("app", "dyn1", netip.MustParseAddr(be.Host), be.Port, haproxy.ServerOptions{})
	if err := runOne(t, c, built(cmd, err)); err != nil {
		t.Fatal(err)
	}
	if err := runOne(t, c, built(haproxy.SetServerState("app", "dyn1", haproxy.StateReady))); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(inst.FrontendURL())
		if err == nil {
			_ = resp.Body.Close()
		}
		done <- err
	}()
	inst.WaitSession(t, "dyn1") // the test is of a server in use: it fails without one
	if err := runOne(t, c, built(haproxy.SetServerState("app", "dyn1", haproxy.StateMaint))); err != nil {
		t.Fatal(err)
	}
	if err := runOne(t, c, built(haproxy.DelServer("app", "dyn1"))); !errors.Is(err, haproxy.ErrServerInUse) {
		t.Fatalf("del server with a request in flight: %v", err)
	}
	wait, err := haproxy.WaitRemovable("app", "dyn1", 300*time.Millisecond)
	err = runOne(t, c, built(wait, err))
	if haproxytest.Version(t).AtLeast(3, 0) {
		if !errors.Is(err, haproxy.ErrServerInUse) {
			t.Fatalf("wait srv-removable with a request in flight: %v", err)
		}
	} else if !errors.Is(err, haproxy.ErrUnknownCommand) {
		t.Fatalf("2.6 has no wait: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if haproxytest.Version(t).AtLeast(3, 0) {
		wait, err := haproxy.WaitRemovable("app", "dyn1", 3*time.Second)
		if err := runOne(t, c, built(wait, err)); err != nil {
			t.Fatalf("wait srv-removable once the request ended: %v", err)
		}
	}
	var delErr error
	poll.For(3*time.Second, 20*time.Millisecond, func() bool {
		delErr = runOne(t, c, built(haproxy.DelServer("app", "dyn1")))
		return delErr == nil
	})
	if delErr != nil || inst.Has(t, "app", "dyn1") {
		t.Fatalf("del server after the request ended: %v", delErr)
	}
}
