package provider

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// Work that is interrupted or overlaps, through the real CLI: a run killed
// mid-apply, a destroy that one instance missed, -refresh-only, and
// create_before_destroy on the same slot. After each: the next run
// recognises what the provider wrote, HAProxy holds what the state says,
// and destroy parks every instance on the placeholder.

// expectParked checks that the tests' slot, app/websrv1, is free again on
// every instance: on the placeholder, in maint.
func expectParked(t *testing.T, insts []*haproxytest.Instance) {
	t.Helper()
	for _, inst := range insts {
		if err := inst.ExpectParked(t, "app", "websrv1"); err != nil {
			t.Error(err)
		}
	}
}

// A create killed while it waits for the health check of the address it has
// just written: the re-run adopts the slot (it holds the asked address) but
// must not take that address as the slot's origin, or destroy would "park"
// the slot on the member's own address instead of the placeholder.
func TestCLIKilledCreateKeepsTheTrueOrigin(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	lateAddr := haproxytest.FreeAddr(t) // nothing listens yet: the health wait cannot end
	host, port, _ := net.SplitHostPort(lateAddr)
	p, _ := strconv.Atoi(port)
	c := newCLI(t, providerBlock(a.UnixTarget(), b.TCPTarget())+
		serverConfig("web", "websrv1", host, p, "  wait_healthy_timeout = \"60s\"\n"))

	c.killDuring("health down", "apply", "-auto-approve")
	c.expectUnsaved()
	for _, inst := range insts {
		if s := inst.State(t, "app", "websrv1"); s.Addr != host {
			t.Fatalf("the kill landed before the address was written on %s (%+v): the test proves nothing", inst.AdminSock, s)
		}
	}

	startBackendAt(t, "late", lateAddr)
	c.must("apply", "-auto-approve")
	for _, inst := range insts {
		if err := expectSlot(t, inst, "app", "websrv1", host, p, adminReady, -1); err != nil {
			t.Error(err)
		}
		if err := expectTraffic(inst, "late"); err != nil {
			t.Error(err)
		}
	}
	c.mustPlanEmpty("after the re-run")
	c.must("destroy", "-auto-approve")
	expectParked(t, insts)
}

// A destroy that parked the server on one instance but not on the other
// (it hung, or the run was killed) keeps the resource; the next destroy must
// park the other instance too, although the refresh before it recorded the
// parked instance's placeholder.
func TestCLIDestroyAfterInterruptedDestroyParksEveryInstance(t *testing.T) {
	preCheck(t)
	for _, killed := range []bool{false, true} {
		t.Run(map[bool]string{false: "an instance hung", true: "the run was killed"}[killed], func(t *testing.T) {
			a, b := haproxytest.Start(t), haproxytest.Start(t)
			insts := []*haproxytest.Instance{a, b}
			be := startBackend(t, "be", "127.0.0.1")
			cfg := strings.Replace(providerBlock(a.UnixTarget(), b.UnixTarget()), `"5s"`, `"2s"`, 1) +
				serverConfig("web", "websrv1", be.Host, be.Port, "")
			c := newCLI(t, cfg)
			c.must("apply", "-auto-approve")

			b.Pause(t)
			// Without a refresh, which would stop on the hung instance
			// before anything is parked.
			if killed {
				c.killDuring("addr 127.0.0.1 port 1", "destroy", "-auto-approve", "-refresh=false")
				c.expectUnsaved("haproxy_backend_server.web")
			} else if out, code := c.run("destroy", "-auto-approve", "-refresh=false"); code == 0 {
				t.Fatalf("destroy with a hung instance should fail:\n%s", out)
			}
			b.Resume()
			if err := expectSlot(t, a, "app", "websrv1", "127.0.0.1", 1, adminMaint, -1); err != nil {
				t.Fatalf("the first destroy should have parked the answering instance: %v", err)
			}
			if err := expectSlot(t, b, "app", "websrv1", be.Host, be.Port, adminReady, -1); err != nil {
				t.Fatalf("the hung instance should still serve: %v", err)
			}
			if err := expectTraffic(b, "be"); err != nil {
				t.Fatal(err)
			}

			out := c.must("destroy", "-auto-approve")
			if strings.Contains(out, "left alone") {
				t.Errorf("the second destroy left the server it wrote alone:\n%s", out)
			}
			expectParked(t, insts)
			if out, _ := c.run("state", "list"); strings.TrimSpace(out) != "" {
				t.Errorf("state after destroy: %s", out)
			}
		})
	}
}

// A hand edit on one instance recorded by -refresh-only must not hide the
// split: the next plan changes something and apply converges every
// instance. Then the configuration moves to the odd instance's value (the
// state, read from it, equals the configuration): the plan must still not
// be empty while the other instance differs.
func TestCLIRefreshOnlyDoesNotHideSplitInstances(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	be := startBackend(t, "be", "127.0.0.1")
	prov := providerBlock(a.UnixTarget(), b.UnixTarget())
	c := newCLI(t, prov+serverConfig("web", "websrv1", be.Host, be.Port, "  weight = 50\n"))
	c.must("apply", "-auto-approve")

	a.Admin(t, "set server app/websrv1 weight 77")
	c.must("apply", "-refresh-only", "-auto-approve")
	if out, code := c.run("plan", "-detailed-exitcode"); code != 2 {
		t.Fatalf("instances disagree on the weight, the plan must change something (exit %d):\n%s", code, out)
	}
	c.must("apply", "-auto-approve")
	for _, inst := range []*haproxytest.Instance{a, b} {
		if err := expectSlot(t, inst, "app", "websrv1", be.Host, be.Port, adminReady, 50); err != nil {
			t.Error(err)
		}
	}
	c.mustPlanEmpty("after converging")

	a.Admin(t, "set server app/websrv1 weight 77")
	c.write(prov + serverConfig("web", "websrv1", be.Host, be.Port, "  weight = 77\n"))
	out, code := c.run("plan", "-detailed-exitcode")
	if code != 2 {
		t.Fatalf("b still holds 50, the plan must change something (exit %d):\n%s", code, out)
	}
	if !strings.Contains(out, "Apply sets weight = 77") {
		t.Errorf("the plan should say what apply sets:\n%s", out)
	}
	c.must("apply", "-auto-approve")
	for _, inst := range []*haproxytest.Instance{a, b} {
		if err := expectSlot(t, inst, "app", "websrv1", be.Host, be.Port, adminReady, 77); err != nil {
			t.Error(err)
		}
	}
	c.mustPlanEmpty("after converging on the new weight")
}

// -replace with create_before_destroy on the same slot: the replacement is
// written first, and the deposed object's destroy must hand the slot over
// instead of parking it. Under load, no request may fail.
func TestCLICreateBeforeDestroyOnTheSameSlotHandsOver(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	be := startBackend(t, "be", "127.0.0.1")
	c := newCLI(t, providerBlock(a.UnixTarget(), b.TCPTarget())+
		serverConfig("web", "websrv1", be.Host, be.Port, "  lifecycle {\n    create_before_destroy = true\n  }\n"))
	c.must("apply", "-auto-approve")
	for _, inst := range insts {
		if err := expectTraffic(inst, "be"); err != nil {
			t.Fatal(err)
		}
	}

	replaceUnderLoad(t, c, insts, "haproxy_backend_server.web")
	for _, inst := range insts {
		if err := expectSlot(t, inst, "app", "websrv1", be.Host, be.Port, adminReady, -1); err != nil {
			t.Error(err)
		}
	}
	c.mustPlanEmpty("after the replacement")
	c.must("destroy", "-auto-approve")
	expectParked(t, insts)
}

// replaceUnderLoad runs `apply -replace=<address>` (create_before_destroy
// in the configuration) under HTTP load: no request may fail, and the
// deposed object's destroy must say it handed over.
func replaceUnderLoad(t *testing.T, c *cli, insts []*haproxytest.Instance, address string) {
	t.Helper()
	ld := startLoad(insts, 100000, 60*time.Second)
	out := c.must("apply", "-auto-approve", "-replace="+address)
	time.Sleep(500 * time.Millisecond) // a parked slot would fail requests from here on
	answers, fails := ld.finish()
	t.Logf("load during the replacement of %s: %v, %d failures", address, answers, len(fails))
	if len(fails) > 0 {
		t.Errorf("%d of %d requests failed during the replacement, first: %s\n%s", len(fails), ld.total.Load(), fails[0], out)
	}
	if !wrapped("handed over").MatchString(out) {
		t.Errorf("the deposed object's destroy should say it handed over:\n%s", out)
	}
}

// A dynamic server and a pool replaced with create_before_destroy: the
// replacement adopts the server (same name and address) or the slots (same
// configuration, so the same claim token), and the deposed object's
// destroy must not delete or park what the replacement now serves.
func TestCLICreateBeforeDestroyOfDynamicServerAndPoolHandsOver(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	be := startBackend(t, "be", "127.0.0.1")
	cbd := "  lifecycle {\n    create_before_destroy = true\n  }\n"
	prov := providerBlock(a.UnixTarget(), b.TCPTarget())
	for _, tc := range []struct{ address, cfg string }{
		{"haproxy_dynamic_server.dyn", dynamicConfig("dyn", "app", "dyn1", be, cbd)},
		{"haproxy_backend_pool.p", poolConfigWith("p", cbd, member{"m1", be})},
	} {
		t.Run(tc.address, func(t *testing.T) {
			c := newCLI(t, prov+tc.cfg)
			c.must("apply", "-auto-approve")
			for _, inst := range insts {
				if err := expectTraffic(inst, "be"); err != nil {
					t.Fatal(err)
				}
			}
			replaceUnderLoad(t, c, insts, tc.address)
			for _, inst := range insts {
				if err := expectTraffic(inst, "be"); err != nil {
					t.Error(err)
				}
			}
			c.mustPlanEmpty("after the replacement")
			c.must("destroy", "-auto-approve")
			for _, inst := range insts {
				if inst.Has(t, "app", "dyn1") || claimMarkers(t, inst) != 0 {
					t.Errorf("%s keeps a dynamic server or a claim marker after destroy", inst.AdminSock)
				}
			}
			expectParked(t, insts)
		})
	}
}

// A dynamic server's create killed after `add server` (so on some or all
// instances the server exists, in maint, recorded nowhere): the next apply
// adopts it (it holds exactly the asked address), serves, and destroy
// deletes it everywhere.
func TestCLIKilledDynamicServerCreateIsAdopted(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	be := startBackend(t, "be", "127.0.0.1")
	// b is slow to answer, so the kill lands between the adds.
	slow := newSlowSocket(t, b.AdminTCP, 300*time.Millisecond)
	c := newCLI(t, providerBlock(a.UnixTarget(), slow.Target)+dynamicConfig("dyn", "app", "dyn1", be, ""))

	// The add itself, not the probe (an add without an address) before it.
	c.killDuring(fmt.Sprintf("add server app/dyn1 %s:%d", be.Host, be.Port), "apply", "-auto-approve")
	slow.fast()
	c.expectUnsaved()
	if !a.Has(t, "app", "dyn1") {
		t.Fatal("the kill landed before the first add: the test proves nothing")
	}
	out := c.must("apply", "-auto-approve")
	if !strings.Contains(out, "adopted") {
		t.Errorf("the re-run should say it adopted the server:\n%s", out)
	}
	for _, inst := range insts {
		if err := expectServing(t, inst, "dyn1", be, -1); err != nil {
			t.Error(err)
		}
		if err := expectTraffic(inst, "be"); err != nil {
			t.Error(err)
		}
	}
	c.mustPlanEmpty("after the re-run")
	c.must("destroy", "-auto-approve")
	for _, inst := range insts {
		if inst.Has(t, "app", "dyn1") {
			t.Errorf("%s still has app/dyn1 after destroy", inst.AdminSock)
		}
	}
}
