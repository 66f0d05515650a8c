package provider

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// killedPoolSlots is the size of the backend the killed-pool test fills.
const killedPoolSlots = 30

// claimMarkers counts the `.claim` marker servers of backend app.
func claimMarkers(t *testing.T, inst *haproxytest.Instance) int {
	t.Helper()
	return strings.Count(inst.Admin(t, "show servers state app"), ".claim ")
}

// expectPoolServes checks every member on every instance: its recorded slot
// holds its address, ready, every slot not recorded is parked, and the only
// claim markers are the members' own.
func expectPoolServes(t *testing.T, c *cli, insts []*haproxytest.Instance, members map[string]httpBackend) {
	t.Helper()
	recorded := map[string]bool{}
	out := ""
	if len(members) > 0 {
		out = c.must("state", "show", "haproxy_backend_pool.p")
	}
	for key, be := range members {
		slot := ""
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == fmt.Sprintf("%q", key) && f[1] == "=" {
				slot = strings.Trim(f[2], `"`)
			}
		}
		if slot == "" {
			t.Fatalf("member %s has no slot in the state:\n%s", key, out)
		}
		recorded[slot] = true
		for _, inst := range insts {
			if err := expectSlot(t, inst, "app", slot, be.Host, be.Port, adminReady, -1); err != nil {
				t.Error(err)
			}
		}
	}
	for i := 1; i <= killedPoolSlots; i++ {
		slot := fmt.Sprintf("websrv%d", i)
		for _, inst := range insts {
			if !recorded[slot] {
				if err := expectSlot(t, inst, "app", slot, "127.0.0.1", 1, adminMaint, -1); err != nil {
					t.Errorf("a slot the state does not record: %v", err)
				}
			}
		}
	}
	for _, inst := range insts {
		if n := claimMarkers(t, inst); n != len(members) {
			t.Errorf("%s has %d claim markers for %d members", inst.AdminSock, n, len(members))
		}
	}
}

func poolOf(n int, be httpBackend) (map[string]httpBackend, []member) {
	m := map[string]httpBackend{}
	var list []member
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("m%02d", i)
		m[key] = be
		list = append(list, member{key, be})
	}
	return m, list
}

// A pool create killed during its socket work (after its claims, then
// after its first writes) and a grow killed the same way: the next apply
// recognises the claims and slots the killed run left and finishes, with no
// slot left claimed by nobody; destroy parks and releases everything.
func TestCLIKilledPoolApplyIsRecognised(t *testing.T) {
	preCheck(t)
	for _, tc := range []struct{ name, mark string }{
		{"after its claims", `add server app/websrv`},
		{"after its first writes", `addr 127.0.0.1 port`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := haproxytest.Start(t, haproxytest.Options{Slots: killedPoolSlots}), haproxytest.Start(t, haproxytest.Options{Slots: killedPoolSlots})
			insts := []*haproxytest.Instance{a, b}
			be := startBackend(t, "be", "127.0.0.1")
			// b is slow to answer, so the kill lands mid-apply.
			slow := newSlowSocket(t, b.AdminTCP, 300*time.Millisecond)
			prov := providerBlock(a.UnixTarget(), slow.Target)
			_, smallList := poolOf(8, be)
			big, bigList := poolOf(20, be)

			// More members than slots stay free if the killed run's claims
			// were not recognised: 20 of 30 wanted, 20 claimed.
			c := newCLI(t, prov+poolConfig("p", bigList...))
			c.killDuring(tc.mark, "apply", "-auto-approve")
			slow.fast()
			c.expectUnsaved()
			if n := claimMarkers(t, a) + claimMarkers(t, b); n == 0 {
				t.Fatal("the kill landed before any claim: the test proves nothing")
			}
			c.must("apply", "-auto-approve")
			expectPoolServes(t, c, insts, big)
			c.mustPlanEmpty("after the re-run of the create")
			if err := expectTraffic(a, "be"); err != nil {
				t.Error(err)
			}
			c.must("destroy", "-auto-approve")
			expectPoolServes(t, c, insts, nil)

			// A grow from 8 to 20 members killed the same way.
			c.write(prov + poolConfig("p", smallList...))
			c.must("apply", "-auto-approve")
			c.write(prov + poolConfig("p", bigList...))
			slow.delay.Store(int64(300 * time.Millisecond))
			c.killDuring(tc.mark, "apply", "-auto-approve")
			slow.fast()
			if out := c.must("state", "show", "haproxy_backend_pool.p"); strings.Contains(out, `"m08"`) {
				t.Fatalf("the killed grow was saved: the test proves nothing:\n%s", out)
			}
			c.must("apply", "-auto-approve")
			expectPoolServes(t, c, insts, big)
			c.mustPlanEmpty("after the re-run of the grow")
			c.must("destroy", "-auto-approve")
			expectPoolServes(t, c, insts, nil)
		})
	}
}

// A member removed while one instance hangs (unreachable_sockets = "warn")
// stays the pool's until every instance parked it, without the plan
// promising otherwise ("inconsistent result after apply"); once the
// instance answers, the next plan removes it again and apply finishes.
func TestCLIPoolMemberLeavingWhileAnInstanceHangs(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	be1, be2 := startBackend(t, "be1", "127.0.0.1"), startBackend(t, "be2", "127.0.0.1")
	prov := fmt.Sprintf("provider \"haproxy\" {\n  sockets = [%s]\n  timeout = \"2s\"\n  unreachable_sockets = \"warn\"\n}\n",
		quoteAll([]string{a.UnixTarget(), b.UnixTarget()}))
	c := newCLI(t, prov+poolConfig("p", member{"p1", be1}, member{"p2", be2}))
	c.must("apply", "-auto-approve")
	out := c.must("state", "show", "haproxy_backend_pool.p")
	if !strings.Contains(out, `"p2" = "websrv2"`) {
		t.Fatalf("p2 should hold websrv2:\n%s", out)
	}

	c.write(prov + poolConfig("p", member{"p1", be1}))
	b.Pause(t)
	out, code := c.run("apply", "-auto-approve")
	if strings.Contains(out, "inconsistent result") || code != 0 {
		t.Fatalf("removing a member while an instance hangs (exit %d):\n%s", code, out)
	}
	if !strings.Contains(out, "stay recorded") {
		t.Errorf("the apply should say the member stays recorded:\n%s", out)
	}
	b.Resume()
	if err := expectSlot(t, a, "app", "websrv2", "127.0.0.1", 1, adminMaint, -1); err != nil {
		t.Error(err)
	}
	if err := expectSlot(t, b, "app", "websrv2", be2.Host, be2.Port, adminReady, -1); err != nil {
		t.Errorf("the hung instance should still serve p2: %v", err)
	}
	if out, code := c.run("plan", "-detailed-exitcode"); code != 2 {
		t.Fatalf("p2 still serves on one instance: the plan must remove it again (exit %d):\n%s", code, out)
	}
	c.must("apply", "-auto-approve")
	for _, inst := range insts {
		if err := expectSlot(t, inst, "app", "websrv2", "127.0.0.1", 1, adminMaint, -1); err != nil {
			t.Error(err)
		}
		if n := claimMarkers(t, inst); n != 1 {
			t.Errorf("%s has %d claim markers for 1 member", inst.AdminSock, n)
		}
	}
	c.mustPlanEmpty("after p2 left everywhere")
	c.must("destroy", "-auto-approve")
	for _, inst := range insts {
		if n := claimMarkers(t, inst); n != 0 {
			t.Errorf("%s keeps %d claim markers after destroy", inst.AdminSock, n)
		}
	}
}
