package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/tfplancheck"
)

func mapEntryConfig(sockets []string, file, key, value string) string {
	return providerBlock(sockets...) + fmt.Sprintf(`
resource "haproxy_map_entry" "b" {
  map   = %q
  key   = %q
  value = %q
}

data "haproxy_map" "hosts" {
  map        = %q
  depends_on = [haproxy_map_entry.b]
}
`, file, key, value, file)
}

// One key in a map that another tool also writes: the entry routes real
// traffic, never touches the other tool's key, refuses a key someone else
// changed by hand (on every instance, before writing), converges once the
// hand value is gone, and on destroy removes only its own key. The data
// source reads the whole map.
func TestAccMapEntryOwnsOnlyItsKey(t *testing.T) {
	preCheck(t)
	hosts := haproxytest.PatternFile(t, "hosts.map", "a.example app\n")
	block := haproxytest.PatternFile(t, "block.acl", "/blocked\n")
	a, b := haproxytest.Start(t, routedBy(hosts, block)), haproxytest.Start(t, routedBy(hosts, block))
	insts := []*haproxytest.Instance{a, b}
	sockets := []string{a.UnixTarget(), b.UnixTarget()}
	beA, beB := startBackend(t, "A", "127.0.0.1"), startBackend(t, "B", "127.0.0.1")
	servers := serverConfig("a", "websrv1", beA.Host, beA.Port, "") + serverConfigIn("b", "plain", "s1", beB.Host, beB.Port, "")
	cfg := func(value string) string { return mapEntryConfig(sockets, hosts, "b.example", value) + servers }

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: cfg("plain"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("haproxy_map_entry.b", tfjsonpath.New("id"), knownvalue.StringExact(hosts+":b.example")),
					statecheck.ExpectKnownValue("data.haproxy_map.hosts", tfjsonpath.New("entries"),
						knownvalue.MapExact(map[string]knownvalue.Check{"a.example": knownvalue.StringExact("app"), "b.example": knownvalue.StringExact("plain")})),
				},
				Check: resource.ComposeTestCheckFunc(
					expectMap(t, insts, hosts, "a.example app", "b.example plain"),
					expectRoute(insts, "b.example", "/", "B"),
				),
			},
			{
				Config:           cfg("app"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{tfplancheck.ExpectChanges("haproxy_map_entry.b", "value")}},
				Check: resource.ComposeTestCheckFunc(
					expectMap(t, insts, hosts, "a.example app", "b.example app"),
					expectRoute(insts, "b.example", "/", "A"),
				),
			},
			{
				// Someone else takes the key on b: the plan shows it and the
				// apply is refused before a is written.
				PreConfig:   func() { b.Admin(t, "set map "+hosts+" b.example off") },
				Config:      cfg("plain"),
				ExpectError: regexp.MustCompile(`holds "off", which this resource did not write`),
				Check:       expectMap(t, insts[:1], hosts, "a.example app", "b.example app"),
			},
			{
				PreConfig: func() {
					if out := a.Admin(t, "show map "+hosts); !strings.Contains(out, "b.example app") {
						t.Fatalf("the refused apply wrote instance a:\n%s", out)
					}
					b.Admin(t, "del map "+hosts+" b.example") // the other tool gave it up
				},
				Config: cfg("plain"),
				Check: resource.ComposeTestCheckFunc(
					expectMap(t, insts, hosts, "a.example app", "b.example plain"),
					expectRoute(insts, "b.example", "/", "B"),
				),
			},
			{ResourceName: "haproxy_map_entry.b", ImportState: true, ImportStateId: hosts + ":b.example", ImportStateVerify: true},
			{Config: mapEntryConfig(sockets, hosts, "b.example\nshow info", "app") + servers, PlanOnly: true, ExpectError: regexp.MustCompile(`contains '\\n'`)},
			{Config: cfg("plain"), PlanOnly: true},
		},
	})
	if err := expectMap(t, insts, hosts, "a.example app")(nil); err != nil {
		t.Fatalf("after destroy: %v", err)
	}
}

// A key gone from every instance that answered stays in the state while
// another instance hangs (unreachable_sockets = "warn"): the hung one may
// still serve it. The plan shows it being written again, not created anew.
func TestAccMapEntryStaysWhileAnInstanceHangs(t *testing.T) {
	preCheck(t)
	hosts := haproxytest.PatternFile(t, "hosts.map", "a.example app\n")
	block := haproxytest.PatternFile(t, "block.acl", "/blocked\n")
	a := haproxytest.Start(t, routedBy(hosts, block))
	warn := fmt.Sprintf("provider \"haproxy\" {\n  sockets = [%s]\n  timeout = \"1s\"\n  unreachable_sockets = \"warn\"\n}\n", quoteAll([]string{a.UnixTarget(), hungSocket(t)}))
	cfg := warn + fmt.Sprintf(`
resource "haproxy_map_entry" "b" {
  map   = %q
  key   = "b.example"
  value = "plain"
}
`, hosts)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{Config: cfg, Check: expectMap(t, []*haproxytest.Instance{a}, hosts, "a.example app", "b.example plain")},
			{
				PreConfig:          func() { a.Admin(t, "del map "+hosts+" b.example") },
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("haproxy_map_entry.b", plancheck.ResourceActionUpdate),
				}},
			},
		},
	})
}
