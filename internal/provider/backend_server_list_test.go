package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/querycheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck/queryfilter"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// handFleet is a fleet of two instances run by hand, as terraform query
// finds it:
//
//	app/websrv1   be1, ready, on both                  a plain server
//	app/websrv2   be1 on a, be2 on b                   instances disagree
//	app/websrv3   parked (placeholder, maint)          nobody's
//	app/websrv4   be1 with a pool's claim marker       a pool's slot
//	app/websrv5   be2, drain                           a plain server
//	app/dyn1      be2, added at run time               a dynamic server
//	plain/s1      be2, ready, weight 50 on a, 30 on b  instances disagree
type handFleet struct {
	a, b     *haproxytest.Instance
	be1, be2 httpBackend
}

func (h handFleet) insts() []*haproxytest.Instance { return []*haproxytest.Instance{h.a, h.b} }

func newHandFleet(t *testing.T) handFleet {
	t.Helper()
	h := handFleet{a: haproxytest.Start(t), b: haproxytest.Start(t),
		be1: startBackend(t, "be1", "127.0.0.1"), be2: startBackend(t, "be2", "127.0.0.2")}
	point := func(inst *haproxytest.Instance, srv string, be httpBackend, state string) {
		inst.Admin(t, fmt.Sprintf("set server %s addr %s port %d", srv, be.Host, be.Port))
		inst.Admin(t, "set server "+srv+" state "+state)
	}
	for _, inst := range h.insts() {
		point(inst, "app/websrv1", h.be1, "ready")
		point(inst, "app/websrv4", h.be1, "ready")
		inst.Admin(t, "add server app/"+fleet.ClaimMarker("websrv4")+" 127.9.9.9:4000 disabled")
		point(inst, "app/websrv5", h.be2, "drain")
		inst.Admin(t, fmt.Sprintf("add server app/dyn1 %s:%d", h.be2.Host, h.be2.Port))
		inst.Admin(t, "set server app/dyn1 state ready")
		point(inst, "plain/s1", h.be2, "ready")
	}
	point(h.a, "app/websrv2", h.be1, "ready")
	point(h.b, "app/websrv2", h.be2, "ready")
	h.a.Admin(t, "set server plain/s1 weight 50")
	h.b.Admin(t, "set server plain/s1 weight 30")
	return h
}

// agree makes the instances agree again, as an operator would before
// adopting: websrv2 on be1 and plain/s1 at weight 50 everywhere.
func (h handFleet) agree(t *testing.T) {
	h.b.Admin(t, fmt.Sprintf("set server app/websrv2 addr %s port %d", h.be1.Host, h.be1.Port))
	h.b.Admin(t, "set server plain/s1 weight 50")
}

func skipBelowQuery() []tfversion.TerraformVersionCheck {
	return []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_14_0)}
}

func listBlock(kind, name, backend string) string {
	cfg := ""
	if backend != "" {
		cfg = fmt.Sprintf("  config {\n    backend = %q\n  }\n", backend)
	}
	return fmt.Sprintf("list %q %q {\n  provider = haproxy\n  include_resource = true\n%s}\n", kind, name, cfg)
}

func identity(backend, second, name string) map[string]knownvalue.Check {
	return map[string]knownvalue.Check{"backend": knownvalue.StringExact(backend), second: knownvalue.StringExact(name)}
}

// terraform query lists the servers set by hand, and only those: not the
// parked slot, the pool's claimed slot or the dynamic server. Where the
// instances disagree the result says so, and the resource it offers leaves
// the choice open.
func TestAccBackendServerListFindsHandSetServers(t *testing.T) {
	preCheck(t)
	h := newHandFleet(t)
	prov := providerBlock(h.a.UnixTarget(), h.b.TCPTarget())
	const all = "haproxy_backend_server.all"
	byName := func(backend, server string) queryfilter.QueryFilter {
		return queryfilter.ByResourceIdentity(identity(backend, identityServer, server))
	}
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   skipBelowQuery(),
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{Config: prov},
			{
				Query:  true,
				Config: listBlock("haproxy_backend_server", "all", "") + listBlock("haproxy_backend_server", "plain", "plain"),
				QueryResultChecks: []querycheck.QueryResultCheck{
					querycheck.ExpectLength(all, 4),
					querycheck.ExpectIdentity(all, identity("app", identityServer, "websrv1")),
					querycheck.ExpectIdentity(all, identity("app", identityServer, "websrv2")),
					querycheck.ExpectIdentity(all, identity("app", identityServer, "websrv5")),
					querycheck.ExpectIdentity(all, identity("plain", identityServer, "s1")),
					querycheck.ExpectLength("haproxy_backend_server.plain", 1),
					querycheck.ExpectResourceDisplayName(all, byName("app", "websrv1"),
						knownvalue.StringExact(fmt.Sprintf("app/websrv1: %s:%d ready, weight 1", h.be1.Host, h.be1.Port))),
					querycheck.ExpectResourceDisplayName(all, byName("app", "websrv2"), knownvalue.StringRegexp(regexp.MustCompile(
						`^app/websrv2: instances disagree \(address 127\.0\.0\.1 on \S+, 127\.0\.0\.2 on \S+; port \d+ on \S+, \d+ on \S+\)$`))),
					querycheck.ExpectResourceKnownValues(all, byName("app", "websrv5"), []querycheck.KnownValueCheck{
						{Path: tfjsonpath.New("address"), KnownValue: knownvalue.StringExact(h.be2.Host)},
						{Path: tfjsonpath.New("port"), KnownValue: knownvalue.Int64Exact(int64(h.be2.Port))},
						{Path: tfjsonpath.New("state"), KnownValue: knownvalue.StringExact("drain")},
					}),
					querycheck.ExpectResourceKnownValues(all, byName("app", "websrv2"), []querycheck.KnownValueCheck{
						{Path: tfjsonpath.New("address"), KnownValue: knownvalue.StringRegexp(regexp.MustCompile(`^instances disagree, choose one: 127\.0\.0\.1 on .*, 127\.0\.0\.2 on `))},
						{Path: tfjsonpath.New("port"), KnownValue: knownvalue.Null()},
						{Path: tfjsonpath.New("state"), KnownValue: knownvalue.StringExact("ready")},
					}),
					querycheck.ExpectResourceKnownValues(all, byName("plain", "s1"), []querycheck.KnownValueCheck{
						{Path: tfjsonpath.New("address"), KnownValue: knownvalue.StringExact(h.be2.Host)},
						{Path: tfjsonpath.New("weight"), KnownValue: knownvalue.Null()},
					}),
				},
			},
		},
	})
	// Listing changed nothing.
	for _, inst := range h.insts() {
		if s := inst.State(t, "app", "websrv3"); s.Addr != "127.0.0.1" || s.Port != "1" {
			t.Fatalf("the parked slot moved: %+v", s)
		}
	}
}

// The whole adoption through the real CLI: terraform query
// -generate-config-out writes a configuration that cannot be applied while
// the instances disagree (and says on what); once they agree, the
// configuration it writes validates, the apply imports every server with no
// change, HAProxy serves as before and the next plan is empty.
func TestCLIQueryGeneratesConfigurationThatAdoptsTheFleet(t *testing.T) {
	preCheck(t)
	requireQuery(t)
	h := newHandFleet(t)
	c := newCLI(t, providerBlock(h.a.UnixTarget(), h.b.TCPTarget()))
	c.writeFile("fleet.tfquery.hcl", listBlock("haproxy_backend_server", "servers", ""))

	c.must("query", "-generate-config-out=generated.tf")
	gen := c.readFile("generated.tf")
	if !regexp.MustCompile(`address += "instances disagree, choose one: 127\.0\.0\.1 on `).MatchString(gen) {
		t.Fatalf("the generated configuration should leave websrv2's address open:\n%s", gen)
	}
	out, code := c.run("validate")
	if code == 0 || !strings.Contains(out, "instances disagree, choose one") {
		t.Fatalf("a configuration with an undecided address must not validate (exit %d):\n%s", code, out)
	}

	h.agree(t)
	if err := os.Remove(filepath.Join(c.dir, "generated.tf")); err != nil { // query does not overwrite
		t.Fatal(err)
	}
	c.must("query", "-generate-config-out=generated.tf")
	gen = c.readFile("generated.tf")
	for _, want := range []string{"websrv1", "websrv2", "websrv5", "s1"} {
		if !regexp.MustCompile(`(?m)^\s+server += "` + want + `"$`).MatchString(gen) {
			t.Fatalf("generated configuration lacks server %s:\n%s", want, gen)
		}
	}
	for _, unwanted := range []string{`"websrv3"`, `"websrv4"`, `"dyn1"`} {
		if strings.Contains(gen, unwanted) {
			t.Fatalf("generated configuration adopts %s, which is not a hand-set server:\n%s", unwanted, gen)
		}
	}
	c.must("validate")
	apply := c.must("apply", "-auto-approve")
	if !strings.Contains(apply, "4 imported, 0 added, 0 changed, 0 destroyed") {
		t.Fatalf("the apply should import the four servers and change nothing:\n%s", apply)
	}
	c.mustPlanEmpty("after adopting the fleet")
	for _, inst := range h.insts() {
		if s := inst.State(t, "app", "websrv5"); s.Addr != h.be2.Host || s.Port != fmt.Sprint(h.be2.Port) {
			t.Fatalf("websrv5 moved: %+v", s)
		}
		if err := expectTraffic(inst, "be1", "be2"); err != nil {
			t.Fatal(err)
		}
	}
}

// What a generated configuration holds where instances disagree: address and
// state as sentences their validators refuse, port, weight and health
// checks unset; and what every instance agrees on, as they hold it.
func TestAdoptedServerLeavesDisagreementOpen(t *testing.T) {
	fd := fleet.Found{Backend: "app", Server: "websrv2", PerSocket: []fleet.SocketValues{
		{Name: "lb1", Values: fleet.Values{Addr: "10.0.3.15", Port: 80, State: "ready", Weight: 10, Health: true}},
		{Name: "lb2", Values: fleet.Values{Addr: "10.0.3.15", Port: 81, State: "drain", Weight: 10, Health: true}},
	}, Split: []fleet.Attr{fleet.AttrPort, fleet.AttrState}}
	m := adoptedServer(fd)
	if m.Address.ValueString() != "10.0.3.15" || m.Weight.ValueInt64() != 10 || !m.HealthCheck.ValueBool() {
		t.Errorf("agreed values: %+v", m)
	}
	if !m.Port.IsNull() {
		t.Errorf("a split port must be left unset, got %v", m.Port)
	}
	if got, want := m.State.ValueString(), "instances disagree, choose one: ready on lb1, drain on lb2"; got != want {
		t.Errorf("state = %q, want %q", got, want)
	}
	if _, err := haproxy.ParseState(m.State.ValueString()); err == nil {
		t.Error("the undecided state must not be a valid state")
	}
	fd.Split, fd.Missing = nil, []string{"lb3"}
	if m := adoptedServer(fd); m.Address.ValueString() != "instances disagree, choose one: 10.0.3.15 on lb1, 10.0.3.15 on lb2, missing on lb3" {
		t.Errorf("a server missing on an instance leaves its address open, got %q", m.Address.ValueString())
	}
}
