package provider

import (
	"fmt"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// The acceptance tests' own checks of HAProxy (expectSlot, expectTraffic,
// expectPatterns, expectRoute), each shown to pass on what it checks and to
// fail on what it must catch, against a real instance set by hand: a check
// that cannot fail would make every test that uses it pass.
func TestExpectChecksCatchWhatTheyCheck(t *testing.T) {
	hosts := haproxytest.PatternFile(t, "hosts.map", "")
	block := haproxytest.PatternFile(t, "block.acl", "")
	inst := haproxytest.Start(t, routedBy(hosts, block))
	be := startBackend(t, "A", "127.0.0.1")
	inst.Admin(t, fmt.Sprintf("set server app/websrv1 addr %s port %d", be.Host, be.Port))
	inst.Admin(t, "set server app/websrv1 weight 7")
	inst.Admin(t, "set server app/websrv1 state ready")
	inst.Admin(t, "add map "+hosts+" a.example app")
	inst.Admin(t, "add acl "+block+" /admin")

	t.Run("expectSlot", func(t *testing.T) {
		if err := expectSlot(t, inst, "app", "websrv1", be.Host, be.Port, adminReady, 7); err != nil {
			t.Fatal(err)
		}
		for name, err := range map[string]error{
			"address": expectSlot(t, inst, "app", "websrv1", "127.0.0.2", be.Port, adminReady, 7),
			"port":    expectSlot(t, inst, "app", "websrv1", be.Host, be.Port+1, adminReady, 7),
			"state":   expectSlot(t, inst, "app", "websrv1", be.Host, be.Port, adminMaint, 7),
			"weight":  expectSlot(t, inst, "app", "websrv1", be.Host, be.Port, adminReady, 1),
		} {
			if err == nil {
				t.Errorf("a wrong %s passed", name)
			}
		}
		if err := expectSlot(t, inst, "app", "websrv1", be.Host, be.Port, adminReady, -1); err != nil {
			t.Errorf("weight -1 means any weight: %v", err)
		}
	})
	t.Run("expectTraffic", func(t *testing.T) {
		if err := expectTraffic(inst, "A"); err != nil {
			t.Fatal(err)
		}
	})
	// A check that fails waits out its whole deadline: these run at once.
	for name, want := range map[string][]string{"traffic to A passed as traffic to B": {"B"}, "traffic to A alone passed as traffic to A and B": {"A", "B"}} {
		t.Run("expectTraffic fails", func(t *testing.T) {
			t.Parallel()
			if err := expectTraffic(inst, want...); err == nil {
				t.Error(name)
			}
		})
	}
	t.Run("expectPatterns", func(t *testing.T) {
		if err := expectMap(t, []*haproxytest.Instance{inst}, hosts, "a.example app")(nil); err != nil {
			t.Fatal(err)
		}
		if err := expectMap(t, []*haproxytest.Instance{inst}, hosts, "a.example other")(nil); err == nil {
			t.Error("a wrong value passed")
		}
		if err := expectMap(t, []*haproxytest.Instance{inst}, hosts)(nil); err == nil {
			t.Error("an entry too many passed")
		}
		if err := expectPatterns(t, []*haproxytest.Instance{inst}, "acl", block, "/admin")(nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("expectRoute", func(t *testing.T) {
		if err := expectRoute([]*haproxytest.Instance{inst}, "a.example", "/", "A")(nil); err != nil {
			t.Fatal(err)
		}
		if err := expectRoute([]*haproxytest.Instance{inst}, "a.example", "/admin", "403")(nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("expectRoute fails", func(t *testing.T) {
		t.Parallel()
		if err := expectRoute([]*haproxytest.Instance{inst}, "a.example", "/", "B")(nil); err == nil {
			t.Error("a route to A passed as one to B")
		}
	})
}
