package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/tfplancheck"
)

// The full lifecycle with one instance reached over ssh:// (a real sshd
// forwarding to its admin socket) and one over tls:// (HAProxy terminating
// mutual TLS for its own admin socket), then refusals that change nothing.
func TestAccRemoteSockets(t *testing.T) {
	preCheck(t)
	a := haproxytest.Start(t)
	b := haproxytest.Start(t, haproxytest.Options{TLS: true})
	insts := []*haproxytest.Instance{a, b}
	sshd := haproxytest.StartSSHD(t)
	pki := b.PKI
	be1 := startBackend(t, "be1", "127.0.0.1")
	be2 := startBackend(t, "be2", "127.0.0.1")

	prov := func(knownHosts, sshKey, cert, key string) string {
		return fmt.Sprintf(`provider "haproxy" {
  sockets = [%q, %q]
  timeout = "5s"
  ssh = {
    private_key_file = %q
    known_hosts_file = %q
  }
  tls = {
    ca_file   = %q
    cert_file = %q
    key_file  = %q
  }
}
`, sshd.Target(a.AdminSock), b.TLSTarget(), sshKey, knownHosts, pki.CA, cert, key)
	}
	good := prov(sshd.KnownHosts, sshd.ClientKey, pki.ClientCert, pki.ClientKey)
	serving := func(be httpBackend, names ...string) resource.TestCheckFunc {
		return checkAll(insts, func(inst *haproxytest.Instance) error {
			if err := expectSlot(t, inst, "app", "websrv1", be.Host, be.Port, adminReady, 1); err != nil {
				return err
			}
			return expectTraffic(inst, names...)
		})
	}
	unchanged := checkAll(insts, func(inst *haproxytest.Instance) error {
		return expectSlot(t, inst, "app", "websrv1", be1.Host, be1.Port, adminReady, 1)
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{Config: good + serverConfig("one", "websrv1", be1.Host, be1.Port, ""), Check: serving(be1, "be1")},
			{
				// Drift on the TLS instance: the plan shows it, apply converges.
				PreConfig: func() {
					b.Admin(t, "set server app/websrv1 state maint")
				},
				Config: good + serverConfig("one", "websrv1", be1.Host, be1.Port, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{tfplancheck.ExpectChanges("haproxy_backend_server.one", "state")},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: serving(be1, "be1"),
			},
			{
				ResourceName:      "haproxy_backend_server.one",
				ImportState:       true,
				ImportStateId:     "app/websrv1",
				ImportStateVerify: true,
			},
			// Refusals: each fails before anything is written anywhere.
			{
				Config:      prov(sshd.WrongKnownHosts, sshd.ClientKey, pki.ClientCert, pki.ClientKey) + serverConfig("one", "websrv1", be2.Host, be2.Port, ""),
				ExpectError: regexp.MustCompile(`(?s)host\s+key\s+does\s+not\s+match.*CHANGED`),
			},
			{Config: good + serverConfig("one", "websrv1", be1.Host, be1.Port, ""), Check: unchanged},
			{
				Config:      prov(sshd.EmptyKnownHosts, sshd.ClientKey, pki.ClientCert, pki.ClientKey) + serverConfig("one", "websrv1", be2.Host, be2.Port, ""),
				ExpectError: regexp.MustCompile(`host\s+key\s+is\s+not\s+in`),
			},
			{Config: good + serverConfig("one", "websrv1", be1.Host, be1.Port, ""), Check: unchanged},
			{
				Config:      prov(sshd.KnownHosts, sshd.OtherKey, pki.ClientCert, pki.ClientKey) + serverConfig("one", "websrv1", be2.Host, be2.Port, ""),
				ExpectError: regexp.MustCompile(`unable\s+to\s+authenticate`),
			},
			{Config: good + serverConfig("one", "websrv1", be1.Host, be1.Port, ""), Check: unchanged},
			{
				Config:      prov(sshd.KnownHosts, sshd.ClientKey, pki.OtherCert, pki.OtherKey) + serverConfig("one", "websrv1", be2.Host, be2.Port, ""),
				ExpectError: regexp.MustCompile(regexp.QuoteMeta(named(b.TLSTarget(), sshd.Target(a.AdminSock), b.TLSTarget()))),
			},
			{Config: good + serverConfig("one", "websrv1", be1.Host, be1.Port, ""), Check: unchanged},
			{
				// tls:// pointed at the plaintext CLI: the handshake fails.
				Config: fmt.Sprintf(`provider "haproxy" {
  sockets = [%q]
  tls = {
    ca_file   = %q
    cert_file = %q
    key_file  = %q
  }
}
`, "tls://"+b.AdminTCP, pki.CA, pki.ClientCert, pki.ClientKey) + serverConfig("one", "websrv1", be2.Host, be2.Port, ""),
				ExpectError: regexp.MustCompile(`(?s)` + regexp.QuoteMeta(b.AdminTCP) + `.*handshake`),
			},
			{Config: good + serverConfig("one", "websrv1", be1.Host, be1.Port, ""), Check: unchanged},
			{
				// No client certificate: refused at plan time.
				Config: fmt.Sprintf(`provider "haproxy" {
  sockets = [%q]
  tls = {
    ca_file = %q
  }
}
`, b.TLSTarget(), pki.CA) + serverConfig("one", "websrv1", be2.Host, be2.Port, ""),
				ExpectError: regexp.MustCompile(`(?s)needs\s+tls.ca_file,\s+tls.cert_file\s+and\s+tls.key_file`),
			},
			{Config: good + serverConfig("one", "websrv1", be1.Host, be1.Port, ""), Check: unchanged},
			{
				// A move over both transports.
				Config: good + serverConfig("one", "websrv1", be2.Host, be2.Port, ""),
				Check:  serving(be2, "be2"),
			},
		},
		CheckDestroy: func(*terraform.State) error {
			return checkAll(insts, func(inst *haproxytest.Instance) error {
				return expectSlot(t, inst, "app", "websrv1", "127.0.0.1", 1, adminMaint, 1)
			})(nil)
		},
	})
}

// Settings a remote socket needs are checked at plan time.
func TestAccRemoteSocketSettingsValidated(t *testing.T) {
	preCheck(t)
	t.Setenv(envTLSCAFile, "")
	t.Setenv(envSSHKeyFile, "")
	t.Setenv(sshAuthSockEnvName, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config:      "provider \"haproxy\" {\n  sockets = [\"tls://127.0.0.1:9443\"]\n}\n" + serverConfig("x", "websrv1", "127.0.0.1", 80, ""),
				ExpectError: regexp.MustCompile(`(?s)tls://\s+socket\s+needs\s+tls.ca_file`),
			},
			{
				Config:      "provider \"haproxy\" {\n  sockets = [\"ssh://ops@127.0.0.1/run/haproxy/admin.sock\"]\n}\n" + serverConfig("x", "websrv1", "127.0.0.1", 80, ""),
				ExpectError: regexp.MustCompile(`(?s)ssh://\s+socket\s+needs\s+ssh.private_key_file`),
			},
			{
				Config: "provider \"haproxy\" {\n  sockets = [\"ssh://ops@127.0.0.1/run/haproxy/admin.sock\"]\n  ssh = {\n    private_key_file = \"/nonexistent/id_ed25519\"\n  }\n}\n" +
					serverConfig("x", "websrv1", "127.0.0.1", 80, ""),
				ExpectError: regexp.MustCompile(`(?s)ssh.private_key_file\s+"/nonexistent/id_ed25519"\s+cannot\s+be\s+read`),
			},
			{
				Config:      "provider \"haproxy\" {\n  sockets = [\"ssh://ops:secret@127.0.0.1/run/haproxy/admin.sock\"]\n}\n" + serverConfig("x", "websrv1", "127.0.0.1", 80, ""),
				ExpectError: regexp.MustCompile(`no\s+password\s+in\s+a\s+socket\s+address`),
			},
		},
	})
}
