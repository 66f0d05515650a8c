package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/querycheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck/queryfilter"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
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
