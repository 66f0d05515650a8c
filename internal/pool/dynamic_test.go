package pool_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/pool"
)

// racingTransport stages a real race on a real HAProxy: just before the
// fleet's `add server` of a name reaches it, another writer adds that name
// there first (through its own connection), and does also, if set.
type racingTransport struct {
	haproxy.Transport
	inst *haproxytest.Instance
	t    *testing.T
	also func(server string)
}

func (r racingTransport) Dial(ctx context.Context) (net.Conn, error) {
	c, err := r.Transport.Dial(ctx)
	return racingConn{Conn: c, r: r}, err
}

type racingConn struct {
	net.Conn
	r racingTransport
}

func (c racingConn) Write(p []byte) (int, error) {
	for _, line := range strings.Split(string(p), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "add" && f[1] == "server" {
			c.r.inst.Admin(c.r.t, "add server "+f[2]+" 127.0.0.99:9")
			if c.r.also != nil {
				c.r.also(f[2])
			}
		}
	}
	return c.Conn.Write(p)
}

// A pool member whose add loses a race on the second instance is taken
// back where it was added: the instances are not left split, nothing of it
// is recorded, and the other writer's server is untouched.
func TestDynamicPoolTakesBackAHalfAddedMember(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	f, err := fleet.FromTransports([]haproxy.Transport{fleettest.UnixTransport(t, a), racingTransport{fleettest.UnixTransport(t, b), b, t, nil}}, 3*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := pool.Dynamic{Backend: "app", Prefix: "api-", Members: map[string]pool.Member{
		"m1": {Addr: netip.MustParseAddr("127.0.0.57"), Port: 80, State: haproxy.StateReady},
	}}
	done, _, _, err := pool.ApplyDynamic(context.Background(), f, p)
	if err == nil || !strings.Contains(err.Error(), f.Name(b.UnixTarget())) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err = %v", err)
	}
	if len(done) != 0 {
		t.Errorf("recorded %v although it was taken back", done)
	}
	if a.Has(t, "app", "api-m1") {
		t.Error("the half-added member was left on the first instance")
	}
	if s := b.State(t, "app", "api-m1"); s.Addr != "127.0.0.99" {
		t.Errorf("the other writer's server was changed: %+v", s)
	}
}

// When the half-added member no longer holds its address where it was
// added (a hand edit in the meantime), the take-back leaves it alone there
// and says so: it is not recorded, and not silently forgotten either.
func TestDynamicPoolSaysWhatTheTakeBackLeft(t *testing.T) {
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	edit := func(server string) { a.Admin(t, "set server "+server+" addr 127.0.0.98 port 98") }
	f, err := fleet.FromTransports([]haproxy.Transport{fleettest.UnixTransport(t, a), racingTransport{fleettest.UnixTransport(t, b), b, t, edit}}, 3*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := pool.Dynamic{Backend: "app", Prefix: "api-", Members: map[string]pool.Member{
		"m1": {Addr: netip.MustParseAddr("127.0.0.57"), Port: 80, State: haproxy.StateReady},
	}}
	_, _, warnings, err := pool.ApplyDynamic(context.Background(), f, p)
	if err == nil {
		t.Fatal("a member refused on one instance was reported as added")
	}
	said := strings.Join(warnings, "\n")
	if !strings.Contains(said, "127.0.0.98:98") || !strings.Contains(said, f.Name(a.UnixTarget())) || !strings.Contains(said, "left alone") {
		t.Fatalf("warnings do not say what was left where: %q", said)
	}
	if s := a.State(t, "app", "api-m1"); s.Addr != "127.0.0.98" || s.Admin&1 == 0 {
		t.Errorf("the edited server was touched, or serves: %+v", s)
	}
}
