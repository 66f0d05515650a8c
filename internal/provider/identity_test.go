package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// A server and a pool that already serve (set up by hand) are brought under
// Terraform with `import { identity = { … } }` blocks: the plan imports
// them with no change, HAProxy keeps serving, and both record their
// identity. Identities need Terraform or OpenTofu 1.12+: CI runs this under
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
	cfg := providerBlock(a.UnixTarget(), b.TCPTarget()) +
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
		return expectTraffic(inst, "be2")
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
				},
				Check: serving,
			},
		},
	})
}
