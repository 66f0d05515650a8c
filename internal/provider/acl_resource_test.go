package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/tfplancheck"
)

func aclConfig(sockets []string, file string, patterns ...string) string {
	return providerBlock(sockets...) + fmt.Sprintf(`
resource "haproxy_acl" "block" {
  acl      = %q
  patterns = [%s]
}
`, file, quoteAll(patterns))
}

// expectACL checks an ACL's whole pattern list on every instance's socket.
func expectACL(t *testing.T, insts []*haproxytest.Instance, file string, want ...string) resource.TestCheckFunc {
	return expectPatterns(t, insts, "acl", file, want...)
}

// A blocklist on two instances: each apply changes which paths real
// requests are denied, a hand `add acl` shows as drift and is removed.
func TestAccACLBlocksPathsOnEveryInstance(t *testing.T) {
	preCheck(t)
	hosts := haproxytest.PatternFile(t, "hosts.map", "a.example app\n")
	block := haproxytest.PatternFile(t, "block.acl", "/blocked\n")
	a, b := haproxytest.Start(t, routedBy(hosts, block)), haproxytest.Start(t, routedBy(hosts, block))
	insts := []*haproxytest.Instance{a, b}
	sockets := []string{a.TCPTarget(), b.UnixTarget()}
	beA := startBackend(t, "A", "127.0.0.1")
	servers := serverConfig("a", "websrv1", beA.Host, beA.Port, "")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: aclConfig(sockets, block, "/admin", "/internal") + servers,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("haproxy_acl.block", tfjsonpath.New("patterns"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("/admin"), knownvalue.StringExact("/internal")})),
				},
				Check: resource.ComposeTestCheckFunc(
					expectACL(t, insts, block, "/admin", "/internal"),
					expectRoute(insts, "a.example", "/admin/x", "403"),
					expectRoute(insts, "a.example", "/blocked", "A"), // the file's pattern was replaced
				),
			},
			{
				Config:           aclConfig(sockets, block, "/internal") + servers,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{tfplancheck.ExpectChanges("haproxy_acl.block", "patterns")}},
				Check: resource.ComposeTestCheckFunc(
					expectACL(t, insts, block, "/internal"),
					expectRoute(insts, "a.example", "/admin/x", "A"),
					expectRoute(insts, "a.example", "/internal", "403"),
				),
			},
			{
				PreConfig:        func() { a.Admin(t, "add acl "+block+" /") }, // would block everything on a
				Config:           aclConfig(sockets, block, "/internal") + servers,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{tfplancheck.ExpectChanges("haproxy_acl.block", "patterns")}},
				Check: resource.ComposeTestCheckFunc(
					expectACL(t, insts, block, "/internal"),
					expectRoute(insts, "a.example", "/admin/x", "A"),
				),
			},
			{ResourceName: "haproxy_acl.block", ImportState: true, ImportStateId: block, ImportStateVerify: true},
			{Config: aclConfig(sockets, block, "/a;show info") + servers, PlanOnly: true, ExpectError: regexp.MustCompile(`contains ';'`)},
			{Config: aclConfig(sockets, block, "/internal") + servers, PlanOnly: true},
		},
	})
}
