package provider

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/certpem"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// certInstances are two instances loading the same store, a.pem, each on a
// TLS frontend of its own.
func certInstances(t *testing.T) (insts []*haproxytest.Instance, file string, addrs []string) {
	t.Helper()
	_, files := haproxytest.CertStores(t, "a")
	for range 2 {
		inst := haproxytest.Start(t, haproxytest.Options{CertStores: files})
		insts = append(insts, inst)
		addrs = append(addrs, inst.CertFrontends[files[0]])
	}
	return insts, files[0], addrs
}

func certConfig(sockets []string, file, cert, key string, version int) string {
	return providerBlock(sockets...) + fmt.Sprintf(`
resource "haproxy_ssl_certificate" "site" {
  file                   = %q
  certificate            = <<-EOT
%sEOT
  private_key_wo         = <<-EOT
%sEOT
  private_key_wo_version = %d
}
`, file, cert, key, version)
}

// serves checks that every instance's TLS frontend serves the certificate.
func serves(t *testing.T, addrs []string, pemCert string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		chain, err := certpem.ParseChain(pemCert)
		if err != nil {
			return err
		}
		for _, addr := range addrs {
			if got := haproxytest.ServedSerial(t, addr); got != chain.Serial() {
				return fmt.Errorf("%s serves %s, want %s", addr, got, chain.Serial())
			}
		}
		return nil
	}
}

func TestAccSSLCertificateOnEveryInstance(t *testing.T) {
	preCheck(t)
	insts, file, addrs := certInstances(t)
	sockets := []string{insts[0].UnixTarget(), insts[1].TCPTarget()}
	c1, k1, _ := haproxytest.SelfSigned(t, "site-1")
	c2, k2, _ := haproxytest.SelfSigned(t, "site-2")
	hand, handKey, _ := haproxytest.SelfSigned(t, "by-hand")
	chain2, _ := certpem.ParseChain(string(c2))
	var load func() (int, []string)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)}, // write-only arguments
		Steps: []resource.TestStep{
			{
				Config: certConfig(sockets, file, string(c1), string(k1), 1),
				Check:  serves(t, addrs, string(c1)),
			},
			{ // rotation under TLS load: both instances serve the new certificate, and no handshake failed
				PreConfig: func() { load = startTLSLoad(addrs, 3000, 30*time.Second) },
				Config:    certConfig(sockets, file, string(c2), string(k2), 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("haproxy_ssl_certificate.site", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("haproxy_ssl_certificate.site", tfjsonpath.New("sha1_fingerprint"), knownvalue.StringExact(chain2.SHA1())),
					statecheck.ExpectKnownValue("haproxy_ssl_certificate.site", tfjsonpath.New("private_key_wo"), knownvalue.Null()),
					statecheck.ExpectKnownValue("haproxy_ssl_certificate.site", tfjsonpath.New("dns_names"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("site-2.test")})),
				},
				Check: resource.ComposeTestCheckFunc(serves(t, addrs, string(c2)), func(*terraform.State) error {
					total, failed := load()
					t.Logf("%d TLS handshakes during the rotation, %d failed", total, len(failed))
					if total < 10 || len(failed) > 0 {
						return fmt.Errorf("%d handshakes during the rotation, %d failed: %v", total, len(failed), failed[:min(3, len(failed))])
					}
					return nil
				}),
			},
			{ // a key that is not the certificate's: refused at plan, nothing sent
				Config:      certConfig(sockets, file, string(c1), string(k2), 3),
				ExpectError: regexp.MustCompile(`private key is not the key of the certificate`),
			},
			{ // a store no instance has: refused by the plan's pre-flight, not at apply
				Config:      certConfig(sockets, strings.TrimSuffix(file, "a.pem")+"typo.pem", string(c2), string(k2), 2),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)cannot be written on every HAProxy instance.*has no certificate store`),
			},
			{ // a hand change on one instance shows as drift, and apply restores it
				PreConfig: func() {
					insts[1].Admin(t, "set ssl cert "+file+" <<\n"+strings.TrimRight(string(hand)+string(handKey), "\n")+"\n")
					insts[1].Admin(t, "commit ssl cert "+file)
					if err := serves(t, addrs[1:], string(hand))(nil); err != nil {
						t.Fatal(err)
					}
				},
				Config: certConfig(sockets, file, string(c2), string(k2), 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("haproxy_ssl_certificate.site", plancheck.ResourceActionUpdate),
				}},
				Check: serves(t, addrs, string(c2)),
			},
			{ // import by the store's name: what HAProxy serves, without the certificate's PEM or the key, which HAProxy does not give back
				ResourceName:                         "haproxy_ssl_certificate.site",
				ImportState:                          true,
				ImportStateId:                        file,
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "id",
				ImportStateVerifyIgnore:              []string{"certificate", "private_key_wo", "private_key_wo_version"},
			},
			{ // a restart serves the file on disk again: the plan shows it, apply restores it
				PreConfig: func() {
					insts[0].Restart(t)
					if err := serves(t, addrs[:1], string(c2))(nil); err == nil {
						t.Fatal("the restarted instance still serves the runtime certificate")
					}
				},
				Config: certConfig(sockets, file, string(c2), string(k2), 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("haproxy_ssl_certificate.site", plancheck.ResourceActionUpdate),
				}},
				Check: serves(t, addrs, string(c2)),
			},
		},
	})
}

// The data source lists every store on every instance, with what it serves.
func TestAccSSLCertificatesDataSource(t *testing.T) {
	preCheck(t)
	insts, file, _ := certInstances(t)
	sockets := []string{insts[0].UnixTarget(), insts[1].TCPTarget()}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config: providerBlock(sockets...) + `data "haproxy_ssl_certificates" "all" {}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.haproxy_ssl_certificates.all", tfjsonpath.New("certificates"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"socket": knownvalue.StringExact(sockets[0]), "file": knownvalue.StringExact(file),
						"subject": knownvalue.StringExact("/CN=initial-a"), "dns_names": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("initial-a.test")})}),
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"socket": knownvalue.StringExact(sockets[1]), "file": knownvalue.StringExact(file),
						"subject": knownvalue.StringExact("/CN=initial-a"), "dns_names": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("initial-a.test")})}),
				})),
			},
		}},
	})
}

// startTLSLoad makes TLS handshakes with addrs in turn until stopped, at
// most `most` of them and for at most d (loopback only); stop returns how many
// were made and what every failed one said.
func startTLSLoad(addrs []string, most int, d time.Duration) (stop func() (int, []string)) {
	done := make(chan struct{})
	var mu sync.Mutex
	var failed []string
	total := 0
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		deadline := time.Now().Add(d)
		for i := 0; i < most && time.Now().Before(deadline); i++ {
			select {
			case <-done:
				return
			default:
			}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addrs[i%len(addrs)], &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a handshake, not trust
			mu.Lock()
			total++
			if err != nil {
				failed = append(failed, err.Error())
			} else {
				_ = conn.Close()
			}
			mu.Unlock()
		}
	}()
	return func() (int, []string) {
		close(done)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return total, failed
	}
}

// A hung instance (SIGSTOP): the run stops with an error that names it (at
// the refresh, before any write), nothing is committed anywhere, the
// healthy instance included, and once it answers again the apply goes
// through. (A failure between pre-flight and commit is fleet's
// TestSetCertificateCommitsNowhereWhenOneInstanceFails.)
func TestAccSSLCertificateHungInstanceCommitsNothing(t *testing.T) {
	preCheck(t)
	insts, file, addrs := certInstances(t)
	sockets := []string{insts[0].UnixTarget(), insts[1].TCPTarget()}
	c1, k1, _ := haproxytest.SelfSigned(t, "first")
	c2, k2, _ := haproxytest.SelfSigned(t, "never-served")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: []resource.TestStep{
			{Config: certConfig(sockets, file, string(c1), string(k1), 1), Check: serves(t, addrs, string(c1))},
			{
				PreConfig:   func() { insts[1].Pause(t) },
				Config:      certConfig(sockets, file, string(c2), string(k2), 2),
				ExpectError: regexp.MustCompile(`(?s)Cannot read certificate.*` + regexp.QuoteMeta(insts[1].AdminTCP) + `.*timed out`), // the refresh stops it before any write
			},
			{
				PreConfig: func() {
					insts[1].Resume()
					if err := serves(t, addrs, string(c1))(nil); err != nil {
						t.Fatalf("after the failed apply: %v", err)
					}
				},
				Config: certConfig(sockets, file, string(c2), string(k2), 2),
				Check:  serves(t, addrs, string(c2)),
			},
		},
	})
}

// The private key reaches HAProxy and nothing else: not the plan's output,
// not the state (file or `show -json`), not a DEBUG log of Terraform and
// the provider, through the real CLI. The log must show the write itself
// (its payload as a size), or the test would pass on a run that sent
// nothing.
func TestCLISSLCertificateKeyNeverLeaves(t *testing.T) {
	preCheck(t)
	insts, file, addrs := certInstances(t)
	sockets := []string{insts[0].UnixTarget(), insts[1].TCPTarget()}
	cert, key, _ := haproxytest.SelfSigned(t, "secret-key-test")
	// The key comes from a file, as from a vault or the tls provider: a key
	// written as a literal in the .tf file is in the saved plan's copy of
	// the configuration, which is the configuration's business, not ours.
	c := newCLI(t, strings.Replace(certConfig(sockets, file, string(cert), "", 1),
		"private_key_wo         = <<-EOT\nEOT", `private_key_wo         = file("${path.module}/key.pem")`, 1))
	c.writeFile("key.pem", string(key))
	logFile := filepath.Join(t.TempDir(), "debug.log")
	c.env = []string{"TF_LOG=DEBUG", "TF_LOG_PATH=" + logFile}

	plan := c.must("plan", "-out=tfplan")
	apply := c.must("apply", "tfplan")
	if err := serves(t, addrs, string(cert))(nil); err != nil {
		t.Fatal(err)
	}
	shown := c.must("show", "-json")
	planShown := c.must("show", "-json", "tfplan")
	stateFile := c.readFile("terraform.tfstate")
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "set ssl cert "+file) || !regexp.MustCompile(`payload of \d+ bytes, not shown`).Match(log) {
		t.Fatalf("the DEBUG log does not show the certificate's write, so it proves nothing (%d bytes)", len(log))
	}
	for _, line := range keyLines(string(key)) {
		for what, text := range map[string]string{"plan output": plan, "apply output": apply, "state (show -json)": shown,
			"saved plan (show -json)": planShown, "state file": stateFile, "DEBUG log": string(log)} {
			if strings.Contains(text, line) {
				t.Errorf("the %s holds a line of the private key", what)
			}
		}
	}
}

// keyLines are the base64 lines of a PEM key (each is secret; the armour
// lines are not).
func keyLines(pemKey string) []string {
	var lines []string
	for _, l := range strings.Split(pemKey, "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			lines = append(lines, l)
		}
	}
	return lines
}

// A commit that fails on one instance after another committed (here an
// operator aborts the second instance's transaction between the provider's
// read-back and its commit, which a slow socket holds back): apply fails
// saying where it committed and where not, the state records the new
// certificate, the next plan shows the instance that still serves the old
// one, and apply puts it there.
func TestCLISSLCertificateCommitFailsOnOneInstance(t *testing.T) {
	preCheck(t)
	insts, file, addrs := certInstances(t)
	slow := newSlowSocket(t, insts[1].AdminTCP, 0)
	sockets := []string{insts[0].UnixTarget(), slow.Target}
	c1, k1, _ := haproxytest.SelfSigned(t, "before")
	c2, k2, _ := haproxytest.SelfSigned(t, "after")
	c := newCLI(t, certConfig(sockets, file, string(c1), string(k1), 1))
	c.must("apply", "-auto-approve")
	if err := serves(t, addrs, string(c1))(nil); err != nil {
		t.Fatal(err)
	}

	c.write(certConfig(sockets, file, string(c2), string(k2), 2))
	slow.delay.Store(int64(1500 * time.Millisecond)) // the second instance's commit is held this long after the first's
	out, code := c.whenLogged("commit ssl cert "+file, func(int) { insts[1].Admin(t, "abort ssl cert "+file) }, "apply", "-auto-approve")
	slow.fast()
	if code == 0 {
		t.Fatalf("apply should fail when a commit fails:\n%s", out)
	}
	expectSays(t, out, "was committed on some HAProxy instances only", "Committed on: a.sock", slow.Target[len("tcp://"):], "plan shows the instances")
	if err := serves(t, addrs[:1], string(c2))(nil); err != nil {
		t.Errorf("the first instance: %v", err)
	}
	if err := serves(t, addrs[1:], string(c1))(nil); err != nil {
		t.Errorf("the second instance (its commit failed): %v", err)
	}

	out, code = c.run("plan", "-detailed-exitcode")
	if code != 2 {
		t.Fatalf("the plan should show the instance that serves the old certificate (exit %d):\n%s", code, out)
	}
	expectSays(t, out, "changed outside Terraform", strings.TrimLeft(haproxytest.ServedSerial(t, addrs[1]), "0"))
	c.must("apply", "-auto-approve")
	if err := serves(t, addrs, string(c2))(nil); err != nil {
		t.Fatal(err)
	}
	c.mustPlanEmpty("after the second apply")
}

// An import where the instances serve different certificates says so,
// naming each instance's; the plan then writes the configured certificate
// on every instance, and apply makes them agree.
func TestCLISSLCertificateImportOfASplitFleet(t *testing.T) {
	preCheck(t)
	insts, file, addrs := certInstances(t)
	sockets := []string{insts[0].UnixTarget(), insts[1].TCPTarget()}
	other, otherKey, _ := haproxytest.SelfSigned(t, "by-hand")
	insts[1].Admin(t, "set ssl cert "+file+" <<\n"+strings.TrimRight(string(other)+string(otherKey), "\n")+"\n")
	insts[1].Admin(t, "commit ssl cert "+file)
	want, wantKey, _ := haproxytest.SelfSigned(t, "configured")
	c := newCLI(t, certConfig(sockets, file, string(want), string(wantKey), 1))
	out := c.must("import", "haproxy_ssl_certificate.site", file)
	expectSays(t, out, "instances serve different certificates", haproxytest.ServedSerial(t, addrs[0]), haproxytest.ServedSerial(t, addrs[1]))
	c.must("apply", "-auto-approve")
	if err := serves(t, addrs, string(want))(nil); err != nil {
		t.Fatal(err)
	}
	c.mustPlanEmpty("after the apply")
}

// Every update that sends the certificate runs the pre-flight at plan, not
// only one that changes the certificate served: bumping
// private_key_wo_version while another tool holds a transaction stops the
// plan. An update that sends nothing (warn_before_expiry alone) writes to
// no socket, so that same open transaction does not stop it.
func TestAccSSLCertificatePlanPreflightsEveryWrite(t *testing.T) {
	preCheck(t)
	insts, file, addrs := certInstances(t)
	sockets := []string{insts[0].UnixTarget(), insts[1].TCPTarget()}
	c1, k1, _ := haproxytest.SelfSigned(t, "served")
	other, otherKey, _ := haproxytest.SelfSigned(t, "other-tool")
	withWarn := func(cfg, warn string) string {
		return strings.Replace(cfg, "  private_key_wo_version", "  warn_before_expiry     = \""+warn+"\"\n  private_key_wo_version", 1)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: []resource.TestStep{
			{Config: certConfig(sockets, file, string(c1), string(k1), 1), Check: serves(t, addrs, string(c1))},
			{ // another tool's transaction on the second instance: a version bump sends the certificate, so the plan stops
				PreConfig: func() {
					insts[1].Admin(t, "set ssl cert "+file+" <<\n"+strings.TrimRight(string(other)+string(otherKey), "\n")+"\n")
				},
				Config:      certConfig(sockets, file, string(c1), string(k1), 2),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)cannot be written on every HAProxy instance.*a certificate transaction is open`),
			},
			{ // warn_before_expiry alone sends nothing: it applies with that transaction still open
				Config: withWarn(certConfig(sockets, file, string(c1), string(k1), 1), "48h"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("haproxy_ssl_certificate.site", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if !strings.Contains(insts[1].Admin(t, "show ssl cert"), "# transaction") {
						return fmt.Errorf("the other tool's transaction is gone")
					}
					return serves(t, addrs, string(c1))(nil)
				},
			},
		},
	})
}
