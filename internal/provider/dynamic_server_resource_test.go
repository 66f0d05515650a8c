package provider

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
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
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/tfplancheck"
)

func dynamicConfig(name, backend, server string, be httpBackend, extra string) string {
	return fmt.Sprintf(`
resource "haproxy_dynamic_server" %q {
  backend = %q
  server  = %q
  address = %q
  port    = %d
%s}
`, name, backend, server, be.Host, be.Port, extra)
}

// expectServing checks a dynamic server on one instance through the
// fixture's own reader: present, ready, with this address, port and weight
// (weight < 0: any).
func expectServing(t *testing.T, inst *haproxytest.Instance, server string, be httpBackend, weight int) error {
	const admin = 0 // ready, and not in maint by configuration: dynamic servers have no CMAINT
	if !inst.Has(t, "app", server) {
		return fmt.Errorf("%s has no app/%s", inst.AdminSock, server)
	}
	s := inst.State(t, "app", server)
	if s.Addr != be.Host || s.Port != strconv.Itoa(be.Port) || s.Admin != admin || weight >= 0 && s.Wt != weight {
		return fmt.Errorf("%s app/%s = %+v, want %s:%d admin %d weight %d", inst.AdminSock, server, s, be.Host, be.Port, admin, weight)
	}
	return nil
}

func expectNoDynamic(t *testing.T, insts []*haproxytest.Instance, server string) resource.TestCheckFunc {
	return checkAll(insts, func(inst *haproxytest.Instance) error {
		if inst.Has(t, "app", server) {
			return fmt.Errorf("%s still has app/%s", inst.AdminSock, server)
		}
		return nil
	})
}

// Two instances (master-worker, one over TCP): add with health checks, move
// and reweigh in place, replace on an option change, import, lose the
// server to a reload on one instance (a clear error) and then on both (the
// plan adds it again), destroy. HAProxy's sockets and real traffic are
// checked after every step.
func TestAccDynamicServerLifecycle(t *testing.T) {
	preCheck(t)
	a := haproxytest.Start(t, haproxytest.Options{MasterWorker: true})
	b := haproxytest.Start(t, haproxytest.Options{MasterWorker: true})
	insts := []*haproxytest.Instance{a, b}
	be1 := startBackend(t, "be1", "127.0.0.61")
	be2 := startBackend(t, "be2", "127.0.0.62")
	prov := providerBlock(a.UnixTarget(), b.TCPTarget())
	const res = "haproxy_dynamic_server.api"
	cfg := func(be httpBackend, extra string) string {
		return prov + dynamicConfig("api", "app", "api1", be, "  check  = true\n"+extra)
	}
	serving := func(be httpBackend, weight int) resource.TestCheckFunc {
		return checkAll(insts, func(inst *haproxytest.Instance) error {
			if err := expectServing(t, inst, "api1", be, weight); err != nil {
				return err
			}
			if s := inst.State(t, "app", "api1"); s.Checks&6 != 6 {
				return fmt.Errorf("%s: health checks not running: %+v", inst.AdminSock, s)
			}
			return expectTraffic(inst, be.Name)
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: cfg(be1, "  weight = 5\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("id"), knownvalue.StringExact("app/api1")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("health_check"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("weight"), knownvalue.Int64Exact(5)),
				},
				Check: serving(be1, 5),
			},
			{
				Config: cfg(be2, "  weight = 7\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{tfplancheck.ExpectChanges(res, "address", "port", "weight")},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: serving(be2, 7),
			},
			{
				// An option HAProxy cannot change at run time: replaced.
				Config: cfg(be2, "  weight  = 7\n  maxconn = 20\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionDestroyBeforeCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: serving(be2, 7),
			},
			{
				ResourceName:      res,
				ImportState:       true,
				ImportStateId:     "app/api1",
				ImportStateVerify: true,
				// Not reported by HAProxy: an import records the configured value.
				ImportStateVerifyIgnore: []string{"maxconn"},
			},
			{
				// A reload of one instance drops the server there only.
				PreConfig: func() { b.Reload(t) },
				Config:    cfg(be2, "  weight  = 7\n  maxconn = 20\n"),
				ExpectError: regexp.MustCompile(`(?s)app/api1 is missing on ` + regexp.QuoteMeta(named(b.TCPTarget(), a.UnixTarget(), b.TCPTarget())) +
					`.*reload or\s+restart`),
				Check: checkAll([]*haproxytest.Instance{a}, func(inst *haproxytest.Instance) error { return expectServing(t, inst, "api1", be2, 7) }),
			},
			{
				// Both reloaded: gone everywhere, so the plan adds it again.
				PreConfig: func() { a.Reload(t) },
				Config:    cfg(be2, "  weight  = 7\n  maxconn = 20\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: serving(be2, 7),
			},
		},
		CheckDestroy: func(s *terraform.State) error {
			if err := expectNoDynamic(t, insts, "api1")(s); err != nil {
				return err
			}
			for _, inst := range insts {
				if got := hits(inst, 3); got["be2"] > 0 {
					return fmt.Errorf("%s: traffic after destroy: %v", inst.AdminSock, got)
				}
			}
			return nil
		},
	})
}

// A backend whose balance algorithm refuses dynamic servers (on one
// instance), and a name already taken by someone else: clear errors before
// anything is added, and nothing changed.
func TestAccDynamicServerRefusals(t *testing.T) {
	preCheck(t)
	a := haproxytest.Start(t, haproxytest.Options{ExtraConfig: "backend dyn\n    balance roundrobin\n"})
	b := haproxytest.Start(t, haproxytest.Options{ExtraConfig: "backend dyn\n    balance source\n"})
	insts := []*haproxytest.Instance{a, b}
	be1 := startBackend(t, "be1", "127.0.0.63")
	prov := providerBlock(a.UnixTarget(), b.UnixTarget())
	nothingIn := func(backend, server string) resource.TestCheckFunc {
		return checkAll(insts, func(inst *haproxytest.Instance) error {
			if inst.Has(t, backend, server) {
				return fmt.Errorf("%s: %s/%s was added", inst.AdminSock, backend, server)
			}
			return nil
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: prov + dynamicConfig("x", "dyn", "d1", be1, ""),
				ExpectError: regexp.MustCompile(`(?s)Cannot add dyn/d1: nothing was added on any socket.*` +
					regexp.QuoteMeta(named(b.UnixTarget(), a.UnixTarget(), b.UnixTarget())) + `.*does not accept dynamic\s+servers.*load\s+balancing`),
				Check: nothingIn("dyn", "d1"),
			},
			{
				// Someone else holds the name on one instance.
				PreConfig: func() { b.Admin(t, "add server app/taken 127.0.0.64:80") },
				Config:    prov + dynamicConfig("y", "app", "taken", be1, ""),
				ExpectError: regexp.MustCompile(`(?s)Cannot add app/taken.*` + regexp.QuoteMeta(named(b.UnixTarget(), a.UnixTarget(), b.UnixTarget())) +
					`.*already exists.*127\.0\.0\.64`),
				Check: func(*terraform.State) error {
					if a.Has(t, "app", "taken") {
						return fmt.Errorf("app/taken was added on %s", a.AdminSock)
					}
					if s := b.State(t, "app", "taken"); s.Addr != "127.0.0.64" {
						return fmt.Errorf("someone else's app/taken was changed: %+v", s)
					}
					return nil
				},
			},
			{
				// Two resources of one configuration on one name: the plan
				// stops, naming it, and nothing is added. (Two workspaces
				// adding one name at once is a race only apply can lose:
				// fleet's TestTwoWritersAddTheSameName covers that.)
				Config: prov + dynamicConfig("w1", "app", "shared", be1, "") +
					dynamicConfig("w2", "app", "shared", httpBackend{Name: "other", Host: "127.0.0.65", Port: 80}, "  state = \"maint\"\n"),
				ExpectError: regexp.MustCompile(`(?s)One server, one resource.*app/shared is the server of more than one\s+resource`),
				Check:       nothingIn("app", "shared"),
			},
		},
	})
}

// Destroy drains: a request in flight keeps the server until it ends (then
// `del server`), on every version; without it, the server would be deleted
// at once and the request cut.
func TestAccDynamicServerDrainsBeforeDelete(t *testing.T) {
	preCheck(t)
	a := haproxytest.Start(t)
	release := make(chan struct{})
	held := haproxytest.StartHeldHTTP(t, "held", "127.0.0.66", release)
	prov := providerBlock(a.UnixTarget())
	var status, during chan string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: prov + dynamicConfig("d", "app", "slow1", held, "  drain_timeout = \"20s\"\n"),
				Check: func(*terraform.State) error {
					return expectServing(t, a, "slow1", held, 1)
				},
			},
			{
				PreConfig: func() {
					status = make(chan string, 1)
					go func() {
						resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(a.FrontendURL())
						if err != nil {
							status <- err.Error()
							return
						}
						_ = resp.Body.Close()
						status <- resp.Status
					}()
					a.WaitSession(t, "slow1")
					during = make(chan string, 1)
					go func() {
						defer close(release)
						during <- a.StillThereWhileRemoving("app", "slow1", time.Second)
					}()
				},
				Config: prov,
				Check: func(*terraform.State) error {
					if v := <-during; v != "" {
						return errors.New(v)
					}
					if got := <-status; got != "200 OK" {
						return fmt.Errorf("the request in flight ended with %s", got)
					}
					if a.Has(t, "app", "slow1") {
						return fmt.Errorf("app/slow1 was not deleted")
					}
					return nil
				},
			},
		},
	})
}

// Bad options are refused by `terraform plan`, before any socket is
// contacted (the provider points at a socket nobody listens on).
func TestAccDynamicServerPlanTimeValidation(t *testing.T) {
	preCheck(t)
	prov := providerBlock("unix:///tmp/no-such-haproxy.sock")
	bad := []struct{ attrs, want string }{
		{"rise = 2", `check interval, rise and fall need health checks`},
		{"ssl = true\n  ssl_verify = \"required\"", `verify required needs a ca-file`},
		{"sni = \"example.com\"", `verify, ca-file and sni need ssl`},
		{"ssl = true\n  sni = \"a;quit\"", `is not a host name`},
		{"ssl = true\n  ssl_verify = \"required\"\n  ssl_ca_file = \"certs/ca.pem\"", `is neither "@system-ca" nor an absolute path`},
		{"check = true\n  check_interval = \"1500us\"", `not a whole number of milliseconds`},
		{"send_proxy = \"v3\"", `value must be one of`},
		{"health_check = true", `set check = true`},
		{"wait_healthy_timeout = \"10s\"", `it needs check = true`},
	}
	var steps []resource.TestStep
	for _, tc := range bad {
		steps = append(steps, resource.TestStep{
			Config:      prov + dynamicConfig("x", "app", "d1", httpBackend{Host: "127.0.0.1", Port: 80}, "  "+tc.attrs+"\n"),
			PlanOnly:    true,
			ExpectError: wrapped(tc.want),
		})
	}
	steps = append(steps, resource.TestStep{
		Config:      prov + "resource \"haproxy_backend_pool\" \"p\" {\n  backend = \"app\"\n  mode = \"dynamic\"\n  slot_prefix = \"api-\"\n  members = { \"a b\" = { address = \"127.0.0.1\", port = 80 } }\n}\n",
		PlanOnly:    true,
		ExpectError: wrapped(`member "a b" becomes the server "api-a b"`),
	})
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: steps})
}

// An add that only some instances accept (a CA file only the first has
// loaded): an error naming the other instance and HAProxy's reply, the
// half-added server recorded (tainted) and kept out of service, and then
// deleted where it was added once the configuration drops it.
func TestAccDynamicServerAddedOnSomeInstances(t *testing.T) {
	preCheck(t)
	pki := haproxytest.NewPKI(t, t.TempDir())
	a := haproxytest.Start(t, haproxytest.Options{ExtraConfig: "backend tlsref\n    server r1 127.0.0.1:1 ssl verify required ca-file " + pki.CA + " disabled\n"})
	b := haproxytest.Start(t)
	prov := providerBlock(a.UnixTarget(), b.UnixTarget())
	tls := dynamicConfig("t", "app", "tls1", httpBackend{Host: "127.0.0.67", Port: 443},
		fmt.Sprintf("  ssl = true\n  ssl_verify = \"required\"\n  ssl_ca_file = %q\n", pki.CA))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: prov + tls,
				ExpectError: regexp.MustCompile(`(?s)Adding app/tls1 failed on 1 socket.*Added on: ` + regexp.QuoteMeta(named(a.UnixTarget(), a.UnixTarget(), b.UnixTarget())) +
					`.*` + regexp.QuoteMeta(named(b.UnixTarget(), a.UnixTarget(), b.UnixTarget())) + `.*unable to load`),
				Check: func(*terraform.State) error {
					if s := a.State(t, "app", "tls1"); s.Admin&1 == 0 {
						return fmt.Errorf("the half-added server left maint: %+v", s)
					}
					if b.Has(t, "app", "tls1") {
						return fmt.Errorf("added where HAProxy refused it")
					}
					return nil
				},
			},
			{
				Config: prov,
				Check: func(*terraform.State) error {
					if a.Has(t, "app", "tls1") {
						return fmt.Errorf("the half-added server was forgotten on %s", a.AdminSock)
					}
					return nil
				},
			},
		},
	})
}

// An option HAProxy reports drifts on one instance (the server was deleted
// and added again by hand without `check`): the plan replaces the server,
// and apply gives it its checks back everywhere.
func TestAccDynamicServerOptionDrift(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	be1 := startBackend(t, "be1", "127.0.0.68")
	cfg := providerBlock(a.UnixTarget(), b.UnixTarget()) + dynamicConfig("o", "app", "o1", be1, "  check = true\n")
	checked := checkAll(insts, func(inst *haproxytest.Instance) error {
		if err := expectServing(t, inst, "o1", be1, 1); err != nil {
			return err
		}
		if s := inst.State(t, "app", "o1"); s.Checks&6 != 6 {
			return fmt.Errorf("%s: health checks not running: %+v", inst.AdminSock, s)
		}
		return expectTraffic(inst, "be1")
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{Config: cfg, Check: checked},
			{
				PreConfig: func() {
					b.DeleteServer(t, "app", "o1")
					if out := b.Admin(t, fmt.Sprintf("add server app/o1 %s:%d", be1.Host, be1.Port)); !strings.Contains(out, "New server registered.") {
						t.Fatalf("add server: %q", out)
					}
					b.Admin(t, "set server app/o1 state ready")
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("haproxy_dynamic_server.o", plancheck.ResourceActionDestroyBeforeCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: checked,
			},
		},
	})
}
