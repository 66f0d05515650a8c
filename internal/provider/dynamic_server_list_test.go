package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/querycheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck/queryfilter"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// Only the server added at run time is listed as a dynamic server, with
// what HAProxy reports of it; the configured servers and slots are not.
func TestAccDynamicServerListFindsRunTimeServers(t *testing.T) {
	preCheck(t)
	h := newHandFleet(t)
	const all = "haproxy_dynamic_server.all"
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   skipBelowQuery(),
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{Config: providerBlock(h.a.UnixTarget(), h.b.TCPTarget())},
			{
				Query:  true,
				Config: listBlock("haproxy_dynamic_server", "all", "") + listBlock("haproxy_dynamic_server", "plain", "plain"),
				QueryResultChecks: []querycheck.QueryResultCheck{
					querycheck.ExpectLength(all, 1),
					querycheck.ExpectLength("haproxy_dynamic_server.plain", 0),
					querycheck.ExpectIdentity(all, identity("app", identityServer, "dyn1")),
					querycheck.ExpectResourceKnownValues(all, queryfilter.ByResourceIdentity(identity("app", identityServer, "dyn1")),
						[]querycheck.KnownValueCheck{
							{Path: tfjsonpath.New("address"), KnownValue: knownvalue.StringExact(h.be2.Host)},
							{Path: tfjsonpath.New("port"), KnownValue: knownvalue.Int64Exact(int64(h.be2.Port))},
							{Path: tfjsonpath.New("state"), KnownValue: knownvalue.StringExact("ready")},
							{Path: tfjsonpath.New("check"), KnownValue: knownvalue.Bool(false)},
							{Path: tfjsonpath.New("ssl"), KnownValue: knownvalue.Bool(false)},
							{Path: tfjsonpath.New("maxconn"), KnownValue: knownvalue.Null()},
						}),
				},
			},
		},
	})
}
