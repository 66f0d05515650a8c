package provider

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

type member struct {
	key string
	be  httpBackend
}

func poolConfig(name string, members ...member) string {
	return poolConfigWith(name, "", members...)
}

func poolConfigWith(name, extra string, members ...member) string {
	var b strings.Builder
	fmt.Fprintf(&b, "resource \"haproxy_backend_pool\" %q {\n  backend     = \"app\"\n  slot_prefix = \"websrv\"\n%s  members = {\n", name, extra)
	for _, m := range members {
		fmt.Fprintf(&b, "    %q = { address = %q, port = %d }\n", m.key, m.be.Host, m.be.Port)
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

// Two instances, real HTTP: grow, change one member, shrink, a slot enabled by
// hand is never taken, a second pool on the same prefix gets other slots,
// exhaustion is an error with the numbers, import adopts serving slots, and
// destroy parks every slot the pools held.
func TestAccBackendPool(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	be1, be2, be3 := startBackend(t, "be1", "127.0.0.1"), startBackend(t, "be2", "127.0.0.1"), startBackend(t, "be3", "127.0.0.1")
	prov := providerBlock(a.UnixTarget(), b.TCPTarget())
	slotIs := func(inst *haproxytest.Instance, slot string, be httpBackend) error {
		return expectSlot(t, inst, "app", slot, be.Host, be.Port, adminReady, -1)
	}
	parked := func(inst *haproxytest.Instance, slot string) error {
		return expectSlot(t, inst, "app", slot, "127.0.0.1", 1, adminMaint, 1)
	}
	var exhaust []member
	for i := 0; i < haproxytest.Slots; i++ {
		exhaust = append(exhaust, member{fmt.Sprintf("m%02d", i), be1})
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: prov + poolConfig("p", member{"api-1", be1}, member{"api-2", be2}),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("haproxy_backend_pool.p", plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("haproxy_backend_pool.p", tfjsonpath.New("slots"), knownvalue.MapExact(map[string]knownvalue.Check{
						"api-1": knownvalue.StringExact("websrv1"), "api-2": knownvalue.StringExact("websrv2"),
					})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkAll(insts, func(inst *haproxytest.Instance) error {
						if err := slotIs(inst, "websrv1", be1); err != nil {
							return err
						}
						if err := slotIs(inst, "websrv2", be2); err != nil {
							return err
						}
						return expectTraffic(inst, "be1", "be2")
					}),
				),
			},
			{
				// Grow: the newcomer takes the lowest free slot, nobody moves.
				Config: prov + poolConfig("p", member{"api-1", be1}, member{"api-2", be2}, member{"api-0", be3}),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("haproxy_backend_pool.p", plancheck.ResourceActionUpdate),
						// The plan already shows that the members who stay keep their slots.
						plancheck.ExpectKnownValue("haproxy_backend_pool.p", tfjsonpath.New("slots").AtMapKey("api-1"), knownvalue.StringExact("websrv1")),
						plancheck.ExpectKnownValue("haproxy_backend_pool.p", tfjsonpath.New("slots").AtMapKey("api-2"), knownvalue.StringExact("websrv2")),
						plancheck.ExpectUnknownValue("haproxy_backend_pool.p", tfjsonpath.New("slots").AtMapKey("api-0")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("haproxy_backend_pool.p", tfjsonpath.New("slots"), knownvalue.MapExact(map[string]knownvalue.Check{
						"api-0": knownvalue.StringExact("websrv3"), "api-1": knownvalue.StringExact("websrv1"), "api-2": knownvalue.StringExact("websrv2"),
					})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkAll(insts, func(inst *haproxytest.Instance) error {
						if err := slotIs(inst, "websrv3", be3); err != nil {
							return err
						}
						return expectTraffic(inst, "be1", "be2", "be3")
					}),
				),
			},
			{
				// One member changes: only its slot changes.
				Config: prov + poolConfig("p", member{"api-1", be1}, member{"api-2", be3}, member{"api-0", be3}),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("haproxy_backend_pool.p", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("haproxy_backend_pool.p", tfjsonpath.New("slots"), knownvalue.MapExact(map[string]knownvalue.Check{
							"api-0": knownvalue.StringExact("websrv3"), "api-1": knownvalue.StringExact("websrv1"), "api-2": knownvalue.StringExact("websrv2"),
						})),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: checkAll(insts, func(inst *haproxytest.Instance) error {
					for slot, be := range map[string]httpBackend{"websrv1": be1, "websrv2": be3, "websrv3": be3} {
						if err := slotIs(inst, slot, be); err != nil {
							return err
						}
					}
					return expectTraffic(inst, "be1", "be3")
				}),
			},
			{
				// Shrink: api-1 leaves, its slot is drained and parked (a drain
				// wait paces each server on its own, not in batches).
				Config: prov + poolConfigWith("p", "  drain_timeout = \"2s\"\n", member{"api-2", be3}, member{"api-0", be3}),
				Check: checkAll(insts, func(inst *haproxytest.Instance) error {
					if err := parked(inst, "websrv1"); err != nil {
						return err
					}
					return expectTraffic(inst, "be3")
				}),
			},
			{
				// Someone enables websrv1 by hand: the newcomer must not take it,
				// and a second pool on the same prefix gets yet another slot.
				PreConfig: func() {
					for _, inst := range insts {
						inst.Admin(t, fmt.Sprintf("set server app/websrv1 addr 127.0.0.1 port %d", be2.Port))
						inst.Admin(t, "set server app/websrv1 state ready")
					}
				},
				Config: prov + poolConfig("p", member{"api-2", be3}, member{"api-0", be3}, member{"api-9", be1}) +
					poolConfig("q", member{"other", be2}),
				Check: resource.ComposeAggregateTestCheckFunc(
					distinctSlots("haproxy_backend_pool.p", "haproxy_backend_pool.q"),
					checkAll(insts, func(inst *haproxytest.Instance) error {
						return slotIs(inst, "websrv1", be2) // still as set by hand
					}),
				),
			},
			{
				Config:      prov + poolConfig("p", member{"api-2", be3}, member{"api-0", be3}, member{"api-9", be1}) + poolConfig("q", exhaust...),
				ExpectError: regexp.MustCompile(`(?s)backend app has 10 websrv slots`),
			},
			{
				ResourceName:  "haproxy_backend_pool.p",
				ImportState:   true,
				ImportStateId: "app/websrv",
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					attrs := states[0].Attributes
					// Import adopts every serving slot of the prefix, including the
					// other pool's and the hand-enabled one, keyed by slot name.
					for _, slot := range []string{"websrv1", "websrv2", "websrv3"} {
						if attrs["slots."+slot] != slot {
							return fmt.Errorf("import did not adopt %s: %v", slot, attrs)
						}
					}
					if attrs["members.websrv2.port"] != fmt.Sprint(be3.Port) {
						return fmt.Errorf("imported websrv2 port = %s, want %d", attrs["members.websrv2.port"], be3.Port)
					}
					return nil
				},
			},
			{
				Config: prov + poolConfig("p", member{"api-2", be3}, member{"api-0", be3}, member{"api-9", be1}) +
					poolConfig("q", member{"other", be2}),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
		CheckDestroy: checkAll(insts, func(inst *haproxytest.Instance) error {
			for _, slot := range []string{"websrv2", "websrv3", "websrv4", "websrv5"} {
				if err := parked(inst, slot); err != nil {
					return err
				}
			}
			return slotIs(inst, "websrv1", be2) // never the pools'
		}),
	})
}

// distinctSlots checks that no slot is held by two members of the pools.
func distinctSlots(names ...string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		seen := map[string]string{}
		var all []string
		for _, name := range names {
			rs, ok := s.RootModule().Resources[name]
			if !ok {
				return fmt.Errorf("%s not in state", name)
			}
			for k, v := range rs.Primary.Attributes {
				if !strings.HasPrefix(k, "slots.") || k == "slots.%" {
					continue
				}
				if v == "websrv1" {
					return fmt.Errorf("%s %s took websrv1, which was enabled by hand", name, k)
				}
				if prev, dup := seen[v]; dup {
					return fmt.Errorf("slot %s assigned twice: %s and %s %s", v, prev, name, k)
				}
				seen[v] = name + " " + k
				all = append(all, v)
			}
		}
		sort.Strings(all)
		if strings.Join(all, ",") != "websrv2,websrv3,websrv4,websrv5" {
			return fmt.Errorf("slots held = %v, want websrv2..websrv5", all)
		}
		return nil
	}
}
