package provider

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// The data sources read both instances; every entry is compared with what
// the instance's own socket says, and a slot taken by a resource is neither
// listed as free nor offered as a free slot.
func TestAccBackendServersAndFreeSlotsDataSources(t *testing.T) {
	preCheck(t)
	a := haproxytest.Start(t, haproxytest.Options{ExtraConfig: "backend extra\n    server e1 127.0.0.1:1\n"})
	b := haproxytest.Start(t, haproxytest.Options{ExtraConfig: "backend extra\n    server e2 127.0.0.1:1\n"})
	insts := map[string]*haproxytest.Instance{a.UnixTarget(): a, b.TCPTarget(): b}
	be := startBackend(t, "be", "127.0.0.1")
	cfg := providerBlock(a.UnixTarget(), b.TCPTarget()) + serverConfig("two", "websrv2", be.Host, be.Port, "") + `
data "haproxy_backend_servers" "app" {
  backend     = "app"
  placeholder = "127.0.0.1:1"
  depends_on  = [haproxy_backend_server.two]
}

data "haproxy_free_slots" "app" {
  backend     = "app"
  slot_prefix = "websrv"
  depends_on  = [haproxy_backend_server.two]
}

# The deprecated name still works.
data "haproxy_free_slots" "old" {
  backend     = "app"
  prefix      = "websrv"
  placeholder = "127.0.0.1:1"
  depends_on  = [haproxy_backend_server.two]
}
`
	matchesSockets := func(s *terraform.State) error {
		ds := s.RootModule().Resources["data.haproxy_backend_servers.app"].Primary.Attributes
		n, _ := strconv.Atoi(ds["servers.#"])
		if n != 2*haproxytest.Slots {
			return fmt.Errorf("%d entries, want %d", n, 2*haproxytest.Slots)
		}
		for i := 0; i < n; i++ {
			at := func(k string) string { return ds[fmt.Sprintf("servers.%d.%s", i, k)] }
			inst := insts[at("socket")]
			if inst == nil {
				return fmt.Errorf("entry %d names unknown socket %q", i, at("socket"))
			}
			live := inst.State(t, "app", at("name"))
			if live.Addr != at("address") || live.Port != at("port") || strconv.Itoa(live.Wt) != at("weight") {
				return fmt.Errorf("entry %d (%s on %s) = %s:%s weight %s, the socket says %+v", i, at("name"), at("socket"), at("address"), at("port"), at("weight"), live)
			}
			wantFree := at("name") != "websrv2"
			if at("free") != strconv.FormatBool(wantFree) {
				return fmt.Errorf("entry %d (%s): free = %s", i, at("name"), at("free"))
			}
		}
		return nil
	}
	var freeSlots []knownvalue.Check
	for i := 1; i <= haproxytest.Slots; i++ {
		if i != 2 {
			freeSlots = append(freeSlots, knownvalue.StringExact(fmt.Sprintf("websrv%d", i)))
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.haproxy_backend_servers.app", tfjsonpath.New("servers").AtSliceIndex(1).AtMapKey("name"), knownvalue.StringExact("websrv2")),
					statecheck.ExpectKnownValue("data.haproxy_backend_servers.app", tfjsonpath.New("servers").AtSliceIndex(1).AtMapKey("state"), knownvalue.StringExact("ready")),
					// Every slot but websrv2, in numeric order.
					statecheck.ExpectKnownValue("data.haproxy_free_slots.app", tfjsonpath.New("slots"), knownvalue.ListExact(freeSlots)),
					// The deprecated `prefix` finds the same.
					statecheck.ExpectKnownValue("data.haproxy_free_slots.old", tfjsonpath.New("slots"), knownvalue.ListExact(freeSlots)),
				},
				Check: matchesSockets,
			},
			{
				// The instances disagree about backend extra's servers.
				Config:      providerBlock(a.UnixTarget(), b.TCPTarget()) + "data \"haproxy_backend_servers\" \"x\" {\n  backend = \"extra\"\n}\n",
				ExpectError: regexp.MustCompile(`(?s)disagree\s+about\s+which\s+servers.*e1\s+is\s+on`),
			},
			{
				Config:      providerBlock(a.UnixTarget()) + "data \"haproxy_free_slots\" \"x\" {\n  backend = \"app\"\n  slot_prefix = \"websrv\"\n  placeholder = \"127.0.0.1\"\n}\n",
				ExpectError: regexp.MustCompile(`is not address:port`),
			},
			{
				Config:      providerBlock(a.UnixTarget()) + "data \"haproxy_free_slots\" \"x\" {\n  backend = \"app\"\n  slot_prefix = \"websrv\"\n  placeholder = \"127.0.0.1:0\"\n}\n",
				ExpectError: regexp.MustCompile(`port must be 1-65535`),
			},
			{
				Config:      providerBlock(a.UnixTarget()) + "data \"haproxy_free_slots\" \"x\" {\n  backend = \"app\"\n  slot_prefix = \"websrv\"\n  prefix = \"websrv\"\n}\n",
				ExpectError: regexp.MustCompile(`(?s)Invalid Attribute Combination.*one \(and only one\) of \[prefix\]`),
			},
			{Config: providerBlock(a.UnixTarget())},
		},
	})
}
