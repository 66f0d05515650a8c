package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/tfplancheck"
)

// A server, a pool and a dynamic server that already serve (set up by
// hand) are brought under Terraform with `import { identity = { … } }`
// blocks: the plan imports them with no change, HAProxy keeps serving, and
// each records its identity. Then an option HAProxy does not report is
// recorded without replacing the dynamic server, and changing it after
// that replaces it. Identities need Terraform or OpenTofu 1.12+: CI runs this under
// OpenTofu 1.12 (make testacc-tofu); Terraform 1.11 skips it.
func TestAccImportByIdentity(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	be1, be2 := startBackend(t, "be1", "127.0.0.1"), startBackend(t, "be2", "127.0.0.1")
	for _, inst := range insts {
		for srv, be := range map[string]httpBackend{"plain/s1": be1, "app/websrv1": be2} {
			inst.Admin(t, fmt.Sprintf("set server %s addr %s port %d", srv, be.Host, be.Port))
			inst.Admin(t, "set server "+srv+" state ready")
		}
	}
	be3 := startBackend(t, "be3", "127.0.0.81")
	for _, inst := range insts {
		inst.Admin(t, fmt.Sprintf("add server app/dyn1 %s:%d check", be3.Host, be3.Port))
		inst.Admin(t, "enable health app/dyn1")
		inst.Admin(t, "set server app/dyn1 state ready")
	}
	dyn := func(extra string) string { return dynamicConfig("d", "app", "dyn1", be3, "  check = true\n"+extra) }
	const dynRes = "haproxy_dynamic_server.d"
	cfg := providerBlock(a.UnixTarget(), b.TCPTarget()) + dyn("") +
		`
import {
  to       = haproxy_dynamic_server.d
  identity = { backend = "app", server = "dyn1" }
}
` +
		serverConfigIn("one", "plain", "s1", be1.Host, be1.Port, "") +
		poolConfig("p", member{"websrv1", be2}) + // keyed by slot name, as an import adopts members
		`
import {
  to       = haproxy_backend_server.one
  identity = { backend = "plain", server = "s1" }
}

import {
  to       = haproxy_backend_pool.p
  identity = { backend = "app", slot_prefix = "websrv" }
}
`
	serving := checkAll(insts, func(inst *haproxytest.Instance) error {
		if err := expectSlot(t, inst, "plain", "s1", be1.Host, be1.Port, adminReady, 1); err != nil {
			return err
		}
		if err := expectSlot(t, inst, "app", "websrv1", be2.Host, be2.Port, adminReady, 1); err != nil {
			return err
		}
		if err := expectServing(t, inst, "dyn1", be3, 1); err != nil {
			return err
		}
		return expectTraffic(inst, "be2", "be3")
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("haproxy_backend_server.one", plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction("haproxy_backend_pool.p", plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction(dynRes, plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectIdentity("haproxy_backend_server.one", map[string]knownvalue.Check{
						"backend": knownvalue.StringExact("plain"), "server": knownvalue.StringExact("s1"),
					}),
					statecheck.ExpectIdentity("haproxy_backend_pool.p", map[string]knownvalue.Check{
						"backend": knownvalue.StringExact("app"), "slot_prefix": knownvalue.StringExact("websrv"),
					}),
					statecheck.ExpectIdentity(dynRes, map[string]knownvalue.Check{
						"backend": knownvalue.StringExact("app"), "server": knownvalue.StringExact("dyn1"),
					}),
				},
				Check: serving,
			},
			{
				// HAProxy does not report maxconn: the first apply after the
				// import records it without replacing the server...
				Config: strings.Replace(cfg, dyn(""), dyn("  maxconn = 40\n"), 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{tfplancheck.ExpectChanges(dynRes, "maxconn")},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: serving,
			},
			{
				// ...and once recorded, changing it replaces the server.
				Config: strings.Replace(cfg, dyn(""), dyn("  maxconn = 50\n"), 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(dynRes, plancheck.ResourceActionDestroyBeforeCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: serving,
			},
		},
	})
}
