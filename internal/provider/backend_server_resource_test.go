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
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/tfplancheck"
)

// Admin-state values of a `server-template … disabled` slot: CMAINT (4)
// stays set for life, so ready reads 4, drain 12 and maint 5.
const (
	adminReady = 4
	adminDrain = 12
	adminMaint = 5
)

func serverConfig(name, server, addr string, port int, extra string) string {
	return serverConfigIn(name, "app", server, addr, port, extra)
}

func serverConfigIn(name, backend, server, addr string, port int, extra string) string {
	return fmt.Sprintf(`
resource "haproxy_backend_server" %q {
  backend = %q
  server  = %q
  address = %q
  port    = %d
%s}
`, name, backend, server, addr, port, extra)
}

// checkAll runs fn against every instance and fails on the first error.
func checkAll(insts []*haproxytest.Instance, fn func(inst *haproxytest.Instance) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, inst := range insts {
			if err := fn(inst); err != nil {
				return err
			}
		}
		return nil
	}
}

// Two HAProxy instances, one reached over its unix socket and one over TCP:
// create, update every attribute, import, drift by hand, destroy. After each
// step both instances are checked on their sockets and with real HTTP.
func TestAccBackendServerLifecycle(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	be1 := startBackend(t, "be1", "127.0.0.1")
	be2 := startBackend(t, "be2", "127.0.0.1")
	be3 := startBackend(t, "be3", "127.0.0.3") // a different address, not only a different port
	prov := providerBlock(a.UnixTarget(), b.TCPTarget())

	step := func(s1 httpBackend, s2extra string, s2 httpBackend) string {
		return prov +
			serverConfig("one", "websrv1", s1.Host, s1.Port, "") +
			serverConfig("two", "websrv2", s2.Host, s2.Port, s2extra)
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: step(be1, "", be2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("haproxy_backend_server.one", plancheck.ResourceActionCreate),
						plancheck.ExpectKnownValue("haproxy_backend_server.one", tfjsonpath.New("port"), knownvalue.Int64Exact(int64(be1.Port))),
						// Unset, so HAProxy's weight: known only once applied.
						plancheck.ExpectUnknownValue("haproxy_backend_server.two", tfjsonpath.New("weight")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("haproxy_backend_server.one", tfjsonpath.New("id"), knownvalue.StringExact("app/websrv1")),
					statecheck.ExpectKnownValue("haproxy_backend_server.one", tfjsonpath.New("state"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue("haproxy_backend_server.two", tfjsonpath.New("weight"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue("haproxy_backend_server.two", tfjsonpath.New("health_check"), knownvalue.Bool(true)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkAll(insts, func(inst *haproxytest.Instance) error {
						if err := expectSlot(t, inst, "app", "websrv1", be1.Host, be1.Port, adminReady, 1); err != nil {
							return err
						}
						if err := expectSlot(t, inst, "app", "websrv2", be2.Host, be2.Port, adminReady, 1); err != nil {
							return err
						}
						return expectTraffic(inst, "be1", "be2")
					}),
				),
			},
			{
				// Move websrv1 to another address and port; drain websrv2 with a new weight.
				Config: step(be3, "  state  = \"drain\"\n  weight = 50\n", be2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						tfplancheck.ExpectChanges("haproxy_backend_server.one", "address", "port"), // in place, not replaced
						tfplancheck.ExpectChanges("haproxy_backend_server.two", "state", "weight"),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: checkAll(insts, func(inst *haproxytest.Instance) error {
					if err := expectSlot(t, inst, "app", "websrv1", be3.Host, be3.Port, adminReady, 1); err != nil {
						return err
					}
					if err := expectSlot(t, inst, "app", "websrv2", be2.Host, be2.Port, adminDrain, 50); err != nil {
						return err
					}
					return expectTraffic(inst, "be3")
				}),
			},
			{
				Config: step(be3, "  state  = \"maint\"\n  weight = 50\n", be2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{tfplancheck.ExpectChanges("haproxy_backend_server.two", "state")},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: checkAll(insts, func(inst *haproxytest.Instance) error {
					if err := expectSlot(t, inst, "app", "websrv2", be2.Host, be2.Port, adminMaint, 50); err != nil {
						return err
					}
					return expectTraffic(inst, "be3")
				}),
			},
			{
				Config: step(be3, "  state  = \"ready\"\n  weight = 50\n", be2),
				Check: checkAll(insts, func(inst *haproxytest.Instance) error {
					if err := expectSlot(t, inst, "app", "websrv2", be2.Host, be2.Port, adminReady, 50); err != nil {
						return err
					}
					return expectTraffic(inst, "be2", "be3")
				}),
			},
			{
				ResourceName:      "haproxy_backend_server.two",
				ImportState:       true,
				ImportStateId:     "app/websrv2",
				ImportStateVerify: true,
			},
			{
				// Someone parks websrv1 by hand on instance b only: a parked
				// instance's placeholder is not the server's, so the state
				// keeps a's values, and the plan is an update that restores
				// b (its id is re-confirmed), which apply does.
				PreConfig: func() {
					b.Admin(t, "set server app/websrv1 state maint")
					b.Admin(t, "set server app/websrv1 addr 127.0.0.1 port 1")
				},
				Config: step(be3, "  state  = \"ready\"\n  weight = 50\n", be2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						tfplancheck.ExpectChanges("haproxy_backend_server.one", "id"),
						plancheck.ExpectResourceAction("haproxy_backend_server.one", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("haproxy_backend_server.two", plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: checkAll(insts, func(inst *haproxytest.Instance) error {
					if err := expectSlot(t, inst, "app", "websrv1", be3.Host, be3.Port, adminReady, 1); err != nil {
						return err
					}
					return expectTraffic(inst, "be2", "be3")
				}),
			},
		},
		// Destroy parks both slots: maint, back on the placeholder, weight restored.
		CheckDestroy: checkAll(insts, func(inst *haproxytest.Instance) error {
			for _, srv := range []string{"websrv1", "websrv2"} {
				if err := expectSlot(t, inst, "app", srv, "127.0.0.1", 1, adminMaint, 1); err != nil {
					return err
				}
			}
			return nil
		}),
	})
}

// A backend that exists on one instance but not the other: pre-flight fails
// on the second, and the first is not touched.
func TestAccBackendServerPreflightWritesNothing(t *testing.T) {
	preCheck(t)
	a := haproxytest.Start(t, haproxytest.Options{ExtraConfig: "backend extra\n    server e1 127.0.0.1:1 disabled\n"})
	b := haproxytest.Start(t)
	be1 := startBackend(t, "be1", "127.0.0.1")
	untouched := func(*terraform.State) error {
		if err := expectSlot(t, a, "extra", "e1", "127.0.0.1", 1, adminMaint, 1); err != nil {
			return fmt.Errorf("pre-flight failure still changed a socket: %w", err)
		}
		return expectSlot(t, a, "app", "websrv9", "127.0.0.1", 1, adminMaint, 1)
	}
	extra := serverConfigIn("x", "extra", "e1", be1.Host, be1.Port, "")
	missing := serverConfig("y", "nope", be1.Host, be1.Port, "")
	user := providerBlock(a.UnixTarget(), "unix://"+a.UserSock)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config:      providerBlock(a.UnixTarget(), b.TCPTarget()) + extra,
				ExpectError: regexp.MustCompile(`(?s)Pre-flight check failed.*` + regexp.QuoteMeta(named(b.TCPTarget(), a.UnixTarget(), b.TCPTarget())) + `.*backend "extra" does\s+not\s+exist`),
			},
			{
				Config:      providerBlock(a.UnixTarget(), b.TCPTarget()) + missing,
				ExpectError: regexp.MustCompile(`(?s)Pre-flight check failed.*backend "app" has no server\s+"nope"`),
			},
			{
				// A user-level socket beside an admin one: refused before any write.
				Config:      user + serverConfig("z", "websrv9", be1.Host, be1.Port, ""),
				ExpectError: regexp.MustCompile(`(?s)Pre-flight check failed.*level is "user"`),
			},
			{
				Config: providerBlock(a.UnixTarget(), b.TCPTarget()),
				Check:  untouched,
			},
		},
	})
}

// Bad values are refused by `terraform plan` before any socket is contacted.
func TestAccBackendServerPlanTimeValidation(t *testing.T) {
	preCheck(t)
	// A socket nobody listens on: if validation let anything through to
	// the provider's socket code, the error would be a connection failure.
	prov := providerBlock("unix:///tmp/no-such-haproxy.sock")
	bad := []struct{ attrs, want string }{
		{`address = "localhost"`, `IP addresses only`},
		{`address = "10.0.0.1:80"`, `IP addresses only`},
		{`address = "2001:DB8::1"`, `as "2001:db8::1"`},
		{`address = "::ffff:10.0.0.1"`, `IPv4-mapped`},
		{"address = \"127.0.0.1\"\n  port = 0", `between 1 and 65535`},
		{"address = \"127.0.0.1\"\n  port = 99999", `between 1 and 65535`},
		{"address = \"127.0.0.1\"\n  state = \"up\"", `value must be one of`},
		{"address = \"127.0.0.1\"\n  weight = 257", `between 0 and 256`},
		{"address = \"127.0.0.1\"\n  server = \"web;set\"", `may only contain letters`},
	}
	var steps []resource.TestStep
	for _, tc := range bad {
		server := "  server = \"websrv1\"\n"
		if regexp.MustCompile(`server =`).MatchString(tc.attrs) {
			server = ""
		}
		steps = append(steps, resource.TestStep{
			Config:      prov + "resource \"haproxy_backend_server\" \"x\" {\n  backend = \"app\"\n" + server + "  " + tc.attrs + "\n}\n",
			PlanOnly:    true,
			ExpectError: wrapped(tc.want),
		})
	}
	steps = append(steps, resource.TestStep{Config: prov, PlanOnly: true})
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: steps})
}

// wrapped matches text that Terraform may have wrapped across lines.
func wrapped(text string) *regexp.Regexp {
	return regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(text), " ", `\s+`))
}

// A restart (or a reload without a server-state file) resets every slot on
// one instance: the next plan shows it and apply restores it. The same holds
// for an instance that was down during an apply with unreachable_sockets =
// "warn".
func TestAccBackendServerRecoversFromRestart(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	be1 := startBackend(t, "be1", "127.0.0.1")
	cfg := providerBlock(a.UnixTarget(), b.TCPTarget()) + serverConfig("one", "websrv1", be1.Host, be1.Port, "")
	warnCfg := fmt.Sprintf("provider \"haproxy\" {\n  sockets = [%s]\n  timeout = \"2s\"\n  unreachable_sockets = \"warn\"\n}\n", quoteAll([]string{a.UnixTarget(), b.TCPTarget()})) +
		serverConfig("one", "websrv1", be1.Host, be1.Port, "  weight = 7\n")
	bothServe := checkAll([]*haproxytest.Instance{a, b}, func(inst *haproxytest.Instance) error {
		if err := expectSlot(t, inst, "app", "websrv1", be1.Host, be1.Port, adminReady, -1); err != nil {
			return err
		}
		return expectTraffic(inst, "be1")
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{Config: cfg, Check: bothServe},
			{
				PreConfig: func() { b.Restart(t) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					// b is parked on the placeholder: that is not the server's
					// value, so the state keeps a's, and the plan is an update
					// that restores b.
					PreApply: []plancheck.PlanCheck{
						tfplancheck.ExpectChanges("haproxy_backend_server.one", "id"),
						plancheck.ExpectResourceAction("haproxy_backend_server.one", plancheck.ResourceActionUpdate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: bothServe,
			},
			{
				// b is down: with "warn" the change goes to a only.
				PreConfig: func() { b.Kill() },
				Config:    warnCfg,
				Check: func(*terraform.State) error {
					return expectSlot(t, a, "app", "websrv1", be1.Host, be1.Port, adminReady, 7)
				},
			},
			{
				// b comes back with its slots reset: the plan shows it, and
				// apply restores it.
				PreConfig: func() { b.Restart(t) },
				Config:    warnCfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						tfplancheck.ExpectChanges("haproxy_backend_server.one", "id"),
						plancheck.ExpectResourceAction("haproxy_backend_server.one", plancheck.ResourceActionUpdate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: checkAll([]*haproxytest.Instance{a, b}, func(inst *haproxytest.Instance) error {
					return expectSlot(t, inst, "app", "websrv1", be1.Host, be1.Port, adminReady, 7)
				}),
			},
		},
	})
}

// A real reload of a master-worker haproxy (SIGUSR2, as `systemctl reload`)
// forgets runtime changes: the next plan shows it and apply restores it.
// One of the sockets is the master CLI (master+unix://), which stays the
// same across the reload and reaches the new worker.
func TestAccBackendServerRecoversFromReload(t *testing.T) {
	preCheck(t)
	a := haproxytest.Start(t, haproxytest.Options{MasterWorker: true})
	be1 := startBackend(t, "be1", "127.0.0.1")
	cfg := providerBlock(a.UnixTarget(), a.TCPTarget(), "unix://"+a.UserSock) + serverConfig("one", "websrv1", be1.Host, be1.Port, "")
	serving := func(*terraform.State) error {
		if err := expectSlot(t, a, "app", "websrv1", be1.Host, be1.Port, adminReady, 1); err != nil {
			return err
		}
		return expectTraffic(a, "be1")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				// The user-level socket makes pre-flight refuse: nothing written.
				Config:      cfg,
				ExpectError: regexp.MustCompile(`level is "user"`),
			},
			{Config: providerBlock(a.MasterTarget(), a.TCPTarget()) + serverConfig("one", "websrv1", be1.Host, be1.Port, ""), Check: serving},
			{
				PreConfig: func() {
					a.Reload(t)
					if s := a.State(t, "app", "websrv1"); s.Admin != adminMaint {
						t.Errorf("the reload did not reset the slot: %+v", s)
					}
				},
				// Every socket shows the slot parked: its placeholder port
				// is not the server's, so the state keeps the recorded
				// address and port, and only the state is to be restored.
				Config: providerBlock(a.MasterTarget(), a.TCPTarget()) + serverConfig("one", "websrv1", be1.Host, be1.Port, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{tfplancheck.ExpectChanges("haproxy_backend_server.one", "state")},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: serving,
			},
		},
	})
}

// A server deleted from every instance (here by hand, `del server` works on
// template slots) leaves the state with a warning, and the plan to create
// it again stops at plan time: the server to write no longer exists, so
// apply would fail. Read must still answer with the resource identity.
func TestAccBackendServerGoneEverywhere(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	be1 := startBackend(t, "be1", "127.0.0.1")
	prov := providerBlock(a.UnixTarget(), b.UnixTarget())
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{Config: prov + serverConfig("one", "websrv1", be1.Host, be1.Port, "")},
			{
				PreConfig: func() {
					for _, inst := range []*haproxytest.Instance{a, b} {
						inst.DeleteServer(t, "app", "websrv1")
					}
				},
				Config:      prov + serverConfig("one", "websrv1", be1.Host, be1.Port, ""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Pre-flight check failed for app/websrv1.*has no server "websrv1"`),
			},
			{Config: prov},
		},
	})
}
