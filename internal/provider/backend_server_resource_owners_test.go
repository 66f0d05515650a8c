package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// Acceptance tests of ownership and of values several writers leave behind.

// A slot that holds someone else's server (another workspace's, a hand
// edit) on one instance is not taken: pre-flight refuses, naming the socket
// and what the slot holds, and no instance is changed.
func TestAccBackendServerLeavesSomeoneElsesSlot(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	be1 := startBackend(t, "be1", "127.0.0.1")
	theirs := startBackend(t, "theirs", "127.0.0.1")
	b.Admin(t, fmt.Sprintf("set server app/websrv4 addr %s port %d", theirs.Host, theirs.Port))
	b.Admin(t, "set server app/websrv4 state ready")
	b.WaitState(t, "app", "websrv4", func(s haproxytest.Server) bool { return s.Port == fmt.Sprint(theirs.Port) })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: providerBlock(a.UnixTarget(), b.TCPTarget()) + serverConfig("mine", "websrv4", be1.Host, be1.Port, ""),
				ExpectError: regexp.MustCompile(`(?s)Pre-flight check failed.*` + regexp.QuoteMeta(named(b.TCPTarget(), a.UnixTarget(), b.TCPTarget())) +
					`.*` + regexp.QuoteMeta(fmt.Sprintf("%s:%d", theirs.Host, theirs.Port)) + `.*belongs\s+to\s+someone\s+else`),
			},
			{
				Config: providerBlock(a.UnixTarget(), b.TCPTarget()),
				Check: func(*terraform.State) error {
					if err := expectSlot(t, a, "app", "websrv4", "127.0.0.1", 1, adminMaint, 1); err != nil {
						return err
					}
					if err := expectSlot(t, b, "app", "websrv4", theirs.Host, theirs.Port, adminReady, 1); err != nil {
						return err
					}
					return expectTraffic(b, "theirs")
				},
			},
		},
	})
}

// With weight unset, instances that disagree (a hand edit on one) are
// brought back to the value last recorded: the plan shows it, apply does it.
// Before, the recorded value flipped between instances on every refresh and
// the plan stayed empty.
func TestAccBackendServerUnsetWeightConverges(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	be1 := startBackend(t, "be1", "127.0.0.1")
	cfg := providerBlock(a.UnixTarget(), b.TCPTarget()) + serverConfig("one", "websrv1", be1.Host, be1.Port, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				PreConfig: func() { b.Admin(t, "set server app/websrv1 weight 9") },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("haproxy_backend_server.one", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("haproxy_backend_server.one", tfjsonpath.New("weight"), knownvalue.Int64Exact(1)),
				}},
				Check: checkAll(insts, func(inst *haproxytest.Instance) error {
					return expectSlot(t, inst, "app", "websrv1", be1.Host, be1.Port, adminReady, 1)
				}),
			},
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// An imported server's original address is unknown: destroy parks it on
// the provider's placeholder, where pools and haproxy_free_slots see it free.
// A configuration that sets health_check plans no change after the import.
func TestAccBackendServerImportedThenDestroyedParksOnPlaceholder(t *testing.T) {
	preCheck(t)
	a := haproxytest.Start(t)
	be1 := startBackend(t, "be1", "127.0.0.1")
	a.Admin(t, fmt.Sprintf("set server app/websrv3 addr %s port %d", be1.Host, be1.Port))
	a.WaitState(t, "app", "websrv3", func(s haproxytest.Server) bool { return s.Port == fmt.Sprint(be1.Port) })
	a.Admin(t, "set server app/websrv3 state ready")
	cfg := providerBlock(a.UnixTarget()) + serverConfig("three", "websrv3", be1.Host, be1.Port, "  health_check = true\n")
	importBlock := "import {\n  to = haproxy_backend_server.three\n  id = \"app/websrv3\"\n}\n"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				// An import block: the plan imports and changes nothing.
				Config: cfg + importBlock,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("haproxy_backend_server.three", plancheck.ResourceActionNoop),
				}},
			},
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(*terraform.State) error {
					return expectTraffic(a, "be1")
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			return expectSlot(t, a, "app", "websrv3", "127.0.0.1", 1, adminMaint, 1)
		},
	})
}

// A hundred servers on two instances moved to new addresses four times:
// every move must be confirmed on every instance (from HAProxy 2.9 the
// address lands after the reply), none may fail or leave a server tainted,
// and every plan after an apply is empty.
func TestAccBackendServerManyMovesOnTwoInstances(t *testing.T) {
	preCheck(t)
	const n = 100
	opts := haproxytest.Options{Slots: n, NoHealthChecks: true}
	a, b := haproxytest.Start(t, opts), haproxytest.Start(t, opts)
	insts := []*haproxytest.Instance{a, b}
	config := func(round int) string {
		var sb strings.Builder
		sb.WriteString(providerBlock(a.UnixTarget(), b.TCPTarget()))
		fmt.Fprintf(&sb, `
resource "haproxy_backend_server" "s" {
  count   = %d
  backend = "app"
  server  = "websrv${count.index + 1}"
  address = "127.0.%d.${count.index + 1}"
  port    = %d
}
`, n, 10+round, 8000+round)
		return sb.String()
	}
	moved := func(round int) resource.TestCheckFunc {
		return checkAll(insts, func(inst *haproxytest.Instance) error {
			for i := 1; i <= n; i++ {
				addr := fmt.Sprintf("127.0.%d.%d", 10+round, i)
				if err := expectSlot(t, inst, "app", fmt.Sprintf("websrv%d", i), addr, 8000+round, adminReady, 1); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var steps []resource.TestStep
	for round := 0; round <= 4; round++ {
		steps = append(steps, resource.TestStep{
			Config:           config(round),
			Check:            moved(round),
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: steps})
}
