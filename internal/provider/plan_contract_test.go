package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// The plan is the contract (issue #31), through the real CLI on two
// instances, one reached by its unix socket and one by TCP: a plan that
// passed review applies, and apply never does what no reviewer would
// accept. After each step the test reads HAProxy itself and sends traffic.

// contract is two instances and a CLI whose provider reaches them.
type contract struct {
	a, b  *haproxytest.Instance
	c     *cli
	block string
}

func newContract(t *testing.T) *contract {
	t.Helper()
	preCheck(t)
	k := &contract{a: haproxytest.Start(t), b: haproxytest.Start(t)}
	k.block = providerBlock(k.a.UnixTarget(), k.b.TCPTarget())
	k.c = newCLI(t, k.block)
	return k
}

func (k *contract) insts() []*haproxytest.Instance { return []*haproxytest.Instance{k.a, k.b} }

// servesEverywhere checks that app/websrv1 is ready on be on both
// instances and that traffic through each reaches be.
func (k *contract) servesEverywhere(t *testing.T, be httpBackend) {
	t.Helper()
	for _, inst := range k.insts() {
		if err := expectSlot(t, inst, "app", "websrv1", be.Host, be.Port, adminReady, -1); err != nil {
			t.Error(err)
		}
		if err := expectTraffic(inst, be.Name); err != nil {
			t.Error(err)
		}
	}
}

// serveByHand points app/websrv1 of inst at be and makes it ready, as an
// operator (or an earlier tool) would, and waits until a read shows it.
func serveByHand(t *testing.T, inst *haproxytest.Instance, be httpBackend) {
	t.Helper()
	inst.Admin(t, fmt.Sprintf("set server app/websrv1 addr %s port %d", be.Host, be.Port))
	inst.Admin(t, "set server app/websrv1 state ready")
	inst.WaitState(t, "app", "websrv1", func(s haproxytest.Server) bool { return s.Port == fmt.Sprint(be.Port) })
}

// mustFail runs a command that has to fail with output matching every
// pattern (whitespace in a pattern matches any run of it: Terraform wraps
// long lines).
func (c *cli) mustFail(args []string, patterns ...string) string {
	c.t.Helper()
	out, code := c.run(args...)
	if code == 0 {
		c.t.Fatalf("%s should fail:\n%s", strings.Join(args, " "), out)
	}
	for _, p := range patterns {
		if !wrapped(p).MatchString(out) {
			c.t.Errorf("%s: the output does not say %q:\n%s", strings.Join(args, " "), p, out)
		}
	}
	return out
}

// expectSays fails unless out matches every pattern (as mustFail).
func expectSays(t *testing.T, out string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !wrapped(p).MatchString(out) {
			t.Errorf("the output does not say %q:\n%s", p, out)
		}
	}
}

// Case 1: instances disagree on the port, and the configuration leaves it
// unset. Import records what each instance holds and says so; the plan
// stops and asks the user to choose, instead of moving a serving instance;
// destroy parks both, since both hold a value this object imported.
func TestCLIImportOfSplitPortStopsThePlan(t *testing.T) {
	k := newContract(t)
	be1, be2 := startBackend(t, "be1", "127.0.0.1"), startBackend(t, "be2", "127.0.0.1")
	serveByHand(t, k.a, be1)
	serveByHand(t, k.b, be2)
	k.c.write(k.block + `resource "haproxy_backend_server" "web" {
  backend = "app"
  server  = "websrv1"
  address = "127.0.0.1"
}
`)
	out := k.c.must("import", "haproxy_backend_server.web", "app/websrv1")
	expectSays(t, out, "instances disagree", fmt.Sprintf("port %d on a.sock", be1.Port), fmt.Sprintf("%d on %s", be2.Port, k.b.AdminTCP))

	k.c.mustFail([]string{"plan"}, "instances disagree on port", fmt.Sprintf("port %d on a.sock, %d on %s", be1.Port, be2.Port, k.b.AdminTCP), "Set port to the value")
	k.c.mustFail([]string{"apply", "-auto-approve"}, "instances disagree on port")
	if err := expectSlot(t, k.a, "app", "websrv1", be1.Host, be1.Port, adminReady, -1); err != nil {
		t.Error(err)
	}
	if err := expectSlot(t, k.b, "app", "websrv1", be2.Host, be2.Port, adminReady, -1); err != nil {
		t.Error(err)
	}
	if err := expectTraffic(k.b, "be2"); err != nil {
		t.Error(err)
	}

	// Destroy's own refresh plans the configuration too (Terraform fails a
	// destroy on a plan error), so the error says how to remove it: drop
	// the block and apply, which parks both.
	k.c.mustFail([]string{"destroy", "-auto-approve"}, "delete the resource block and apply")
	k.c.write(k.block)
	out = k.c.must("apply", "-auto-approve")
	if strings.Contains(out, "left alone") {
		t.Errorf("the removal left an imported instance serving:\n%s", out)
	}
	expectParked(t, k.insts())
}

// Case 1, chosen: once the user sets the port, the plan moves the odd
// instance (it holds a value this object imported) and apply converges.
func TestCLIImportOfSplitPortConvergesOnceChosen(t *testing.T) {
	k := newContract(t)
	be1, be2 := startBackend(t, "be1", "127.0.0.1"), startBackend(t, "be2", "127.0.0.1")
	serveByHand(t, k.a, be1)
	serveByHand(t, k.b, be2)
	k.c.write(k.block + serverConfig("web", "websrv1", be1.Host, be1.Port, ""))
	k.c.must("import", "haproxy_backend_server.web", "app/websrv1")
	k.c.must("apply", "-auto-approve")
	k.servesEverywhere(t, be1)
	k.c.mustPlanEmpty("after converging")
}

// Case 2: one instance was reloaded (its slot is parked on the placeholder,
// in maint), the other serves. The parked instance contributes nothing:
// import records the serving one's values, and apply restores the parked
// one from it. Before, both ended ready on the placeholder.
func TestCLIImportAfterReloadRestoresTheParkedInstance(t *testing.T) {
	k := newContract(t)
	be := startBackend(t, "be", "127.0.0.1")
	serveByHand(t, k.b, be)
	k.c.write(k.block + `resource "haproxy_backend_server" "web" {
  backend = "app"
  server  = "websrv1"
  address = "127.0.0.1"
}
`)
	out := k.c.must("import", "haproxy_backend_server.web", "app/websrv1")
	expectSays(t, out, "a.sock", "parked")
	state := k.c.must("state", "show", "haproxy_backend_server.web")
	if !regexp.MustCompile(fmt.Sprintf(`port\s+=\s+%d\b`, be.Port)).MatchString(state) {
		t.Errorf("import should record the serving instance's port %d:\n%s", be.Port, state)
	}
	k.c.must("apply", "-auto-approve")
	k.servesEverywhere(t, be)
	k.c.mustPlanEmpty("after restoring the parked instance")
}

// Case 3: the placeholder is never made ready or drain: asked for
// explicitly, or by leaving the port unset on a slot parked everywhere
// (the placeholder's port is not a server's). Refused at plan, nothing
// changed.
func TestCLIPlanRefusesServingOnThePlaceholder(t *testing.T) {
	k := newContract(t)
	for name, tc := range map[string]struct{ body, says string }{
		"explicit":                    {"  address = \"127.0.0.1\"\n  port    = 1\n  state   = \"drain\"\n", `state = "drain" would send traffic there`},
		"unset port on a parked slot": {"  address = \"127.0.0.2\"\n", "whose port 1 is not a server's; set port"},
	} {
		t.Run(name, func(t *testing.T) {
			k.c.write(k.block + "resource \"haproxy_backend_server\" \"web\" {\n  backend = \"app\"\n  server  = \"websrv1\"\n" + tc.body + "}\n")
			k.c.mustFail([]string{"plan"}, "would serve on the placeholder", tc.says)
			expectParked(t, k.insts())
		})
	}
	// Every other writer: a pool member, a dynamic server.
	for name, tc := range map[string]struct{ config, says string }{
		"pool member": {"resource \"haproxy_backend_pool\" \"p\" {\n  backend     = \"app\"\n  slot_prefix = \"websrv\"\n  members = {\n    m1 = { address = \"127.0.0.1\", port = 1 }\n  }\n}\n",
			`members "m1" (127.0.0.1:1, ready) are on the placeholder`},
		"dynamic server": {"resource \"haproxy_dynamic_server\" \"d\" {\n  backend = \"app\"\n  server  = \"dyn1\"\n  address = \"127.0.0.1\"\n  port    = 1\n}\n",
			`state = "ready" would send traffic there`},
	} {
		t.Run(name, func(t *testing.T) {
			k.c.write(k.block + tc.config)
			k.c.mustFail([]string{"plan"}, "serve on the placeholder", tc.says)
			expectParked(t, k.insts())
			for _, inst := range k.insts() {
				if inst.Has(t, "app", "dyn1") || strings.Contains(inst.Admin(t, "show servers state app"), ".claim") {
					t.Errorf("%s: something was added", inst.AdminSock)
				}
			}
		})
	}
}

// Case 4: pre-flight at plan time. Each mistake is an error of the plan
// that says what is wrong and what to do; nothing is written anywhere.
func TestCLIPlanPreflightsACreate(t *testing.T) {
	k := newContract(t)
	res := func(backend, server string) string {
		return fmt.Sprintf("resource \"haproxy_backend_server\" \"web\" {\n  backend = %q\n  server  = %q\n  address = \"127.0.0.1\"\n  port    = 8080\n}\n", backend, server)
	}
	cases := []struct {
		name, cfg string
		says      []string
	}{
		{"backend typo", k.block + res("ap", "websrv1"), []string{`backend "ap" does not exist`, `closest: app`}},
		{"no such slot", k.block + res("app", "websrv99"), []string{`no server "websrv99"`, `(its servers: websrv1–websrv10)`}},
		{"operator socket", providerBlock(k.a.UnixTarget(), "unix://"+k.b.OperSock) + res("app", "websrv1"),
			[]string{`level is "operator"`, "level admin"}},
		{"http port as socket", providerBlock(k.a.UnixTarget(), "tcp://"+k.b.Frontend) + res("app", "websrv1"),
			[]string{"not a HAProxy stats socket", k.b.Frontend}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k.c.write(tc.cfg)
			k.c.mustFail([]string{"plan"}, tc.says...)
			expectParked(t, k.insts())
		})
	}
}

// Case 5: two resources of one configuration on one slot are refused at
// plan, naming the slot; the advice is not "import it".
func TestCLIPlanRefusesTwoResourcesOnOneSlot(t *testing.T) {
	k := newContract(t)
	be1, be2 := startBackend(t, "be1", "127.0.0.1"), startBackend(t, "be2", "127.0.0.1")
	k.c.write(k.block + serverConfig("one", "websrv1", be1.Host, be1.Port, "") + serverConfig("two", "websrv1", be2.Host, be2.Port, ""))
	out := k.c.mustFail([]string{"plan"}, "app/websrv1", "more than one resource")
	if strings.Contains(out, "import it") {
		t.Errorf("the advice should not be to import:\n%s", out)
	}
	expectParked(t, k.insts())
}
