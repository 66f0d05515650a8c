package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/tfplancheck"
)

// routedBy is a fixture whose frontend sends each request to the backend
// the hosts map names for its Host header, and denies paths the ACL file
// lists: the routing the maps guide describes.
func routedBy(hostsMap, blockACL string) haproxytest.Options {
	return haproxytest.Options{FrontendRules: fmt.Sprintf(`http-request deny if { path_beg -f %s }
    use_backend %%[req.hdr(host),lower,map(%s)] if { req.hdr(host),lower,map(%s) -m found }`, blockACL, hostsMap, hostsMap)}
}

// expectRoute checks that requests for host reach want (a backend's name,
// or "403" for a denied path) on every instance, retrying briefly while a
// server's first health check settles.
func expectRoute(insts []*haproxytest.Instance, host, path, want string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, inst := range insts {
			var got string
			if !poll.For(5*time.Second, 100*time.Millisecond, func() bool {
				status, body, err := inst.Get(host, path)
				got = body
				if err != nil {
					got = err.Error()
				} else if status != 200 {
					got = fmt.Sprint(status)
				}
				return got == want
			}) {
				return fmt.Errorf("%s%s through %s reached %q, want %q", host, path, inst.Frontend, got, want)
			}
		}
		return nil
	}
}

// expectMap checks a map's whole content on every instance's own socket.
func expectMap(t *testing.T, insts []*haproxytest.Instance, file string, want ...string) resource.TestCheckFunc {
	return expectPatterns(t, insts, "map", file, want...)
}

// expectPatterns checks a map's entries (`key value`) or an ACL's patterns
// on every instance, through the fixture's own socket reader.
func expectPatterns(t *testing.T, insts []*haproxytest.Instance, kind, file string, want ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, inst := range insts {
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(inst.Admin(t, "show "+kind+" "+file)), "\n") {
				if _, entry, ok := strings.Cut(l, " "); ok {
					got = append(got, entry)
				}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				return fmt.Errorf("%s: %s %s holds %q, want %q", inst.AdminSock, kind, file, got, want)
			}
		}
		return nil
	}
}

func mapConfig(sockets []string, file string, entries map[string]string) string {
	var b strings.Builder
	for k, v := range entries {
		fmt.Fprintf(&b, "    %q = %q\n", k, v)
	}
	return providerBlock(sockets...) + fmt.Sprintf(`
resource "haproxy_map" "hosts" {
  map     = %q
  entries = {
%s  }
}
`, file, b.String())
}

// Two instances route by one map: every apply moves real traffic, a hand
// `set map` on one instance shows as drift and is converged, a reload
// (which loads the file again) shows as lost and is restored, an injection
// is refused at plan time, and the map imports by its file name.
func TestAccMapRoutesTrafficOnEveryInstance(t *testing.T) {
	preCheck(t)
	hosts := haproxytest.PatternFile(t, "hosts.map", "a.example app\n")
	block := haproxytest.PatternFile(t, "block.acl", "/blocked\n")
	reloadable := routedBy(hosts, block)
	reloadable.MasterWorker = true
	a, b := haproxytest.Start(t, reloadable), haproxytest.Start(t, routedBy(hosts, block))
	insts := []*haproxytest.Instance{a, b}
	sockets := []string{a.UnixTarget(), b.TCPTarget()}
	beA, beB := startBackend(t, "A", "127.0.0.1"), startBackend(t, "B", "127.0.0.1")
	servers := serverConfig("a", "websrv1", beA.Host, beA.Port, "") + serverConfigIn("b", "plain", "s1", beB.Host, beB.Port, "")
	cfg := func(entries map[string]string) string { return mapConfig(sockets, hosts, entries) + servers }
	two := map[string]string{"a.example": "app", "b.example": "plain"}
	moved := map[string]string{"a.example": "app", "b.example": "app", "c.example": "plain"}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: cfg(two),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("haproxy_map.hosts", tfjsonpath.New("entries"),
						knownvalue.MapExact(map[string]knownvalue.Check{"a.example": knownvalue.StringExact("app"), "b.example": knownvalue.StringExact("plain")})),
					statecheck.ExpectKnownValue("haproxy_map.hosts", tfjsonpath.New("id"), knownvalue.StringExact(hosts)),
				},
				Check: resource.ComposeTestCheckFunc(
					expectMap(t, insts, hosts, "a.example app", "b.example plain"),
					expectRoute(insts, "a.example", "/", "A"),
					expectRoute(insts, "b.example", "/", "B"),
				),
			},
			{
				Config:           cfg(moved),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{tfplancheck.ExpectChanges("haproxy_map.hosts", "entries")}},
				Check: resource.ComposeTestCheckFunc(
					expectMap(t, insts, hosts, "a.example app", "b.example app", "c.example plain"),
					expectRoute(insts, "b.example", "/", "A"),
					expectRoute(insts, "c.example", "/", "B"),
				),
			},
			{
				// A hand edit on one instance: the plan shows it, apply converges.
				PreConfig:        func() { b.Admin(t, "set map "+hosts+" b.example plain") },
				Config:           cfg(moved),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{tfplancheck.ExpectChanges("haproxy_map.hosts", "entries")}},
				Check: resource.ComposeTestCheckFunc(
					expectMap(t, insts, hosts, "a.example app", "b.example app", "c.example plain"),
					expectRoute(insts, "b.example", "/", "A"),
				),
			},
			{
				// A reload (SIGUSR2 to the master, as systemctl reload) loads
				// the file again: every runtime change is lost there (the slot
				// too), the plan shows it, apply restores it.
				PreConfig: func() {
					a.Reload(t)
					if out := a.Admin(t, "show map "+hosts); strings.Contains(out, "c.example") {
						t.Fatalf("the reload kept the runtime map:\n%s", out)
					}
				},
				Config:           cfg(moved),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{tfplancheck.ExpectChanges("haproxy_map.hosts", "entries")}},
				Check: resource.ComposeTestCheckFunc(
					expectMap(t, insts, hosts, "a.example app", "b.example app", "c.example plain"),
					expectRoute(insts, "c.example", "/", "B"),
					expectRoute(insts, "a.example", "/", "A"),
				),
			},
			{Config: cfg(moved), PlanOnly: true}, // converged: the plan is empty
			{
				ResourceName:      "haproxy_map.hosts",
				ImportState:       true,
				ImportStateId:     hosts,
				ImportStateVerify: true,
			},
			{Config: cfg(map[string]string{"x;show info": "app"}), PlanOnly: true, ExpectError: regexp.MustCompile(`contains ';'`)},
			{Config: cfg(map[string]string{"x.example": "two words"}), PlanOnly: true, ExpectError: regexp.MustCompile(`contains ' '`)},
			{Config: mapConfig(sockets, hosts+" extra", two) + servers, PlanOnly: true, ExpectError: regexp.MustCompile(`Invalid map or ACL value`)},
			{Config: cfg(moved), PlanOnly: true},
		},
	})
	// Destroy leaves the map's content: it belongs to the configuration.
	if err := expectMap(t, insts, hosts, "a.example app", "b.example app", "c.example plain")(nil); err != nil {
		t.Fatalf("after destroy: %v", err)
	}
}
