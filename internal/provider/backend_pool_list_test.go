package provider

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/querycheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck/queryfilter"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

// One result per prefix that serves, its serving slots as members keyed by
// slot name; the parked slot is not a member, the claimed slot is named as
// a pool's, and a member the instances disagree on is left undecided.
func TestAccBackendPoolListFindsServingPrefixes(t *testing.T) {
	preCheck(t)
	h := newHandFleet(t)
	const all = "haproxy_backend_pool.all"
	app := queryfilter.ByResourceIdentity(identity("app", identitySlotPrefix, "websrv"))
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   skipBelowQuery(),
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{Config: providerBlock(h.a.UnixTarget(), h.b.TCPTarget())},
			{
				Query:  true,
				Config: listBlock("haproxy_backend_pool", "all", ""),
				QueryResultChecks: []querycheck.QueryResultCheck{
					querycheck.ExpectLength(all, 2),
					querycheck.ExpectIdentity(all, identity("app", identitySlotPrefix, "websrv")),
					querycheck.ExpectIdentity(all, identity("plain", identitySlotPrefix, "s")),
					querycheck.ExpectResourceDisplayName(all, app, knownvalue.StringRegexp(regexp.MustCompile(
						`^app/websrv: 4 slots serving; instances disagree \(websrv2: address .*\); claimed by a pool already: websrv4$`))),
					querycheck.ExpectResourceKnownValues(all, app, []querycheck.KnownValueCheck{
						{Path: tfjsonpath.New("members").AtMapKey("websrv1").AtMapKey("address"), KnownValue: knownvalue.StringExact(h.be1.Host)},
						{Path: tfjsonpath.New("members").AtMapKey("websrv5").AtMapKey("state"), KnownValue: knownvalue.StringExact("drain")},
						{Path: tfjsonpath.New("members").AtMapKey("websrv2").AtMapKey("port"), KnownValue: knownvalue.Null()},
						{Path: tfjsonpath.New("slots"), KnownValue: knownvalue.MapSizeExact(4)},
					}),
				},
			},
		},
	})
}

// The other lists adopt through the real CLI too: once the instances agree
// and no pool claims a slot, the configuration terraform query generates for
// the dynamic server and the pool of backend app validates, the apply imports
// both and changes nothing, HAProxy serves as before and the plan is empty.
func TestCLIQueryAdoptsDynamicServersAndPools(t *testing.T) {
	preCheck(t)
	requireQuery(t)
	h := newHandFleet(t)
	h.agree(t)
	for _, inst := range h.insts() {
		inst.DeleteServer(t, "app", fleet.ClaimMarker("websrv4"))
	}
	c := newCLI(t, providerBlock(h.a.UnixTarget(), h.b.TCPTarget()))
	c.writeFile("fleet.tfquery.hcl", listBlock("haproxy_dynamic_server", "dyn", "app")+listBlock("haproxy_backend_pool", "pool", "app"))
	c.must("query", "-generate-config-out=generated.tf")
	gen := c.readFile("generated.tf")
	for _, want := range []string{`resource "haproxy_dynamic_server" "dyn_0"`, `resource "haproxy_backend_pool" "pool_0"`, `slot_prefix = "websrv"`} {
		if !strings.Contains(gen, want) {
			t.Fatalf("generated configuration lacks %q:\n%s", want, gen)
		}
	}
	c.must("validate")
	apply := c.must("apply", "-auto-approve")
	if !strings.Contains(apply, "2 imported, 0 added, 0 changed, 0 destroyed") {
		t.Fatalf("the apply should import the dynamic server and the pool and change nothing:\n%s", apply)
	}
	c.mustPlanEmpty("after adopting the dynamic server and the pool")
	for _, inst := range h.insts() {
		if s := inst.State(t, "app", "websrv5"); s.Admin != adminDrain || s.Addr != h.be2.Host {
			t.Fatalf("websrv5 changed: %+v", s)
		}
		if err := expectTraffic(inst, "be1", "be2"); err != nil {
			t.Fatal(err)
		}
	}
}
