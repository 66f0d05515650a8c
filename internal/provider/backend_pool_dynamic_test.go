package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// dynamicPoolBody is a pool in dynamic mode whose servers are api-<key>.
func dynamicPoolBody(name string, members ...member) string {
	s := fmt.Sprintf("resource \"haproxy_backend_pool\" %q {\n  backend     = \"app\"\n  mode        = \"dynamic\"\n  slot_prefix = \"api-\"\n  members = {\n", name)
	for _, m := range members {
		s += fmt.Sprintf("    %q = { address = %q, port = %d }\n", m.key, m.be.Host, m.be.Port)
	}
	return s + "  }\n}\n"
}

// A pool in dynamic mode on two instances (master-worker), with real HTTP:
// grow, shrink, swap two members' addresses, lose everything to reloads
// (the plan adds it back), collide with another pool's name (an error
// naming the holder, nothing changed), destroy.
func TestAccBackendPoolDynamic(t *testing.T) {
	preCheck(t)
	a := haproxytest.Start(t, haproxytest.Options{MasterWorker: true})
	b := haproxytest.Start(t, haproxytest.Options{MasterWorker: true})
	insts := []*haproxytest.Instance{a, b}
	be1, be2, be3 := startBackend(t, "be1", "127.0.0.71"), startBackend(t, "be2", "127.0.0.72"), startBackend(t, "be3", "127.0.0.73")
	prov := providerBlock(a.UnixTarget(), b.TCPTarget())
	const res = "haproxy_backend_pool.p"
	serving := func(want map[string]httpBackend, gone ...string) resource.TestCheckFunc {
		return checkAll(insts, func(inst *haproxytest.Instance) error {
			var names []string
			for server, be := range want {
				if err := expectServing(t, inst, server, be, -1); err != nil {
					return err
				}
				names = append(names, be.Name)
			}
			for _, server := range gone {
				if inst.Has(t, "app", server) {
					return fmt.Errorf("%s still has app/%s", inst.AdminSock, server)
				}
			}
			return expectTraffic(inst, names...)
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: prov + dynamicPoolBody("p", member{"a", be1}, member{"b", be2}),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("slots"), knownvalue.MapExact(map[string]knownvalue.Check{
						"a": knownvalue.StringExact("api-a"), "b": knownvalue.StringExact("api-b"),
					})),
				},
				Check: serving(map[string]httpBackend{"api-a": be1, "api-b": be2}),
			},
			{
				// Grow: the newcomer's server name is known in the plan.
				Config: prov + dynamicPoolBody("p", member{"a", be1}, member{"b", be2}, member{"c", be3}),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(res, tfjsonpath.New("slots").AtMapKey("c"), knownvalue.StringExact("api-c")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: serving(map[string]httpBackend{"api-a": be1, "api-b": be2, "api-c": be3}),
			},
			{
				// Shrink, and swap two members' addresses (moved in place).
				Config:           prov + dynamicPoolBody("p", member{"b", be3}, member{"c", be2}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            serving(map[string]httpBackend{"api-b": be3, "api-c": be2}, "api-a"),
			},
			{
				// Another pool wants a name this one holds: refused, naming
				// the holder's address; nothing of either pool changes.
				Config: prov + dynamicPoolBody("p", member{"b", be3}, member{"c", be2}) +
					dynamicPoolBody("q", member{"b", be1}),
				ExpectError: regexp.MustCompile(`(?s)member "b".*app/api-b already exists.*` + regexp.QuoteMeta(be3.Host)),
				Check:       serving(map[string]httpBackend{"api-b": be3, "api-c": be2}),
			},
			{
				// Both instances reloaded: every server is gone; the plan
				// adds them again.
				PreConfig: func() { a.Reload(t); b.Reload(t) },
				Config:    prov + dynamicPoolBody("p", member{"b", be3}, member{"c", be2}),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: serving(map[string]httpBackend{"api-b": be3, "api-c": be2}),
			},
		},
		CheckDestroy: func(s *terraform.State) error {
			return checkAll(insts, func(inst *haproxytest.Instance) error {
				for _, server := range []string{"api-a", "api-b", "api-c"} {
					if inst.Has(t, "app", server) {
						return fmt.Errorf("%s still has app/%s after destroy", inst.AdminSock, server)
					}
				}
				return nil
			})(s)
		},
	})
}
