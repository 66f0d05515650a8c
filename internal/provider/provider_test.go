package provider

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/localbuild"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
)

var testProviders = map[string]func() (tfprotov6.ProviderServer, error){
	"haproxy": providerserver.NewProtocol6WithError(New("test")()),
}

// preCheck fails (in CI) or skips (locally) when a real part is missing.
func preCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TF_ACC is not set but CI is: acceptance tests must run in CI (use `make test`)")
		}
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Fatal("terraform is not on PATH")
	}
	haproxytest.Binary(t)
	t.Setenv("CHECKPOINT_DISABLE", "1")
	checkTerraformWanted(t)
}

var terraformVersion = sync.OnceValues(func() (string, error) {
	out, err := exec.Command(localbuild.Terraform(), "version").Output()
	first, _, _ := strings.Cut(string(out), "\n")
	return first, err
})

// checkTerraformWanted fails when make test asked for one Terraform
// (TF_ACC_TERRAFORM_WANT) and the tests would run another: the tests of
// Terraform 1.14+ features skip on an older CLI, and under make test they
// must run.
func checkTerraformWanted(t *testing.T) {
	t.Helper()
	want := os.Getenv("TF_ACC_TERRAFORM_WANT")
	if want == "" {
		return
	}
	got, err := terraformVersion()
	if err != nil || got != "Terraform v"+want {
		t.Fatalf("make test runs the suite under Terraform %s, but %s says %q (%v)", want, localbuild.Terraform(), got, err)
	}
}

// providerBlock renders a provider block for the given sockets.
func providerBlock(sockets ...string) string {
	return fmt.Sprintf("provider \"haproxy\" {\n  sockets = [%s]\n  timeout = \"5s\"\n}\n", quoteAll(sockets))
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

type httpBackend = haproxytest.HTTPBackend

func startBackend(t *testing.T, name, host string) httpBackend {
	return haproxytest.StartHTTP(t, name, host)
}

func hits(inst *haproxytest.Instance, n int) map[string]int { return inst.Hits(n) }

// expectTraffic checks that requests through the frontend reach exactly the
// named backends. Health checks settle within a few check intervals, so it
// retries for a bounded time before failing.
func expectTraffic(inst *haproxytest.Instance, want ...string) error {
	var got map[string]int
	if poll.For(5*time.Second, 150*time.Millisecond, func() bool {
		got = hits(inst, 4*len(want)+4)
		ok := len(got) == len(want)
		for _, w := range want {
			if got[w] == 0 {
				ok = false
			}
		}
		return ok
	}) {
		return nil
	}
	return fmt.Errorf("traffic through %s reached %v, want exactly %v", inst.Frontend, got, want)
}

// expectSlot checks one server on one instance through the fixture's own
// socket reader (not the provider's client).
func expectSlot(t *testing.T, inst *haproxytest.Instance, backend, server, addr string, port, admin, weight int) error {
	s := inst.State(t, backend, server)
	if s.Addr != addr || s.Port != strconv.Itoa(port) || s.Admin != admin || (weight >= 0 && s.Wt != weight) {
		return fmt.Errorf("%s %s/%s = %+v, want addr %s port %d admin %d weight %d", inst.AdminSock, backend, server, s, addr, port, admin, weight)
	}
	return nil
}

// hungSocket accepts connections and never answers: the one fault a real
// haproxy cannot produce on demand.
func hungSocket(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "hxh") //nolint:usetesting // t.TempDir() paths overflow the ~100-byte unix socket limit
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", dir+"/hung.sock")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); _ = l.Close(); _ = os.RemoveAll(dir) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { <-stop; _ = c.Close() }()
		}
	}()
	return "unix://" + dir + "/hung.sock"
}

// A hung socket fails the operation after `timeout`, naming the socket, and
// nothing is written to the healthy one. With unreachable_sockets = "warn"
// the hung socket is skipped with a warning and the healthy one is changed.
func TestAccProviderHungSocket(t *testing.T) {
	preCheck(t)
	a := haproxytest.Start(t)
	hung := hungSocket(t)
	be := startBackend(t, "be1", "127.0.0.1")
	res := serverConfig("x", "websrv1", be.Host, be.Port, "")
	prov := func(extra string) string {
		return fmt.Sprintf("provider \"haproxy\" {\n  sockets = [%s]\n  timeout = \"1s\"\n%s}\n", quoteAll([]string{a.UnixTarget(), hung}), extra)
	}
	var started time.Time
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				PreConfig: func() { started = time.Now() },
				Config:    prov("") + res,
				// The error says what to do when the instance stays down.
				ExpectError: regexp.MustCompile(`(?s)Pre-flight check failed.*` + regexp.QuoteMeta(named(hung, a.UnixTarget(), hung)) + `.*timed out.*unreachable_sockets\s+=\s+"warn"\s+in\s+the\s+provider\s+block`),
			},
			{
				Config: prov(""),
				Check: func(*terraform.State) error {
					if el := time.Since(started); el > 60*time.Second {
						return fmt.Errorf("a 1s timeout took %s to fail", el)
					}
					return expectSlot(t, a, "app", "websrv1", "127.0.0.1", 1, 5, 1)
				},
			},
			{
				Config: prov("  unreachable_sockets = \"warn\"\n") + res,
				Check: func(*terraform.State) error {
					if err := expectSlot(t, a, "app", "websrv1", be.Host, be.Port, 4, 1); err != nil {
						return err
					}
					return expectTraffic(a, "be1")
				},
			},
			// Destroy while an instance hangs: it may still serve the server,
			// so the resource is not forgotten; the healthy one is parked.
			{
				Config:      prov("  unreachable_sockets = \"warn\"\n") + res,
				Destroy:     true,
				ExpectError: regexp.MustCompile(`(?s)Cannot take app/websrv1 out of service.*` + regexp.QuoteMeta(named(hung, a.UnixTarget(), hung)) + `.*timed out.*stays in the state`),
				Check: func(*terraform.State) error {
					return expectSlot(t, a, "app", "websrv1", "127.0.0.1", 1, 5, 1)
				},
			},
			// The hung instance is taken out of the configuration: the server
			// is still in the state, and the remaining instance is restored.
			{
				Config: fmt.Sprintf("provider \"haproxy\" {\n  sockets = [%q]\n}\n", a.UnixTarget()) + res,
				Check: func(*terraform.State) error {
					return expectSlot(t, a, "app", "websrv1", be.Host, be.Port, 4, 1)
				},
			},
		},
	})
}

// named is what the provider's messages call target when it is configured
// with sockets (see haproxy.ShortNames).
func named(target string, sockets ...string) string {
	for i, n := range haproxy.ShortNames(sockets) {
		if sockets[i] == target {
			return n
		}
	}
	return target
}

// requireQuery skips a CLI test of a Terraform 1.14+ feature (query,
// actions) under an older Terraform or OpenTofu; make test runs 1.16, and
// checkTerraformWanted makes sure of it.
func requireQuery(t *testing.T) {
	t.Helper()
	got, err := terraformVersion()
	if err != nil {
		t.Fatalf("%s version: %v", localbuild.Terraform(), err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(got, "Terraform v%d.%d", &major, &minor); err != nil || major == 1 && minor < 14 {
		t.Skipf("needs Terraform 1.14 or later, not %q", got)
	}
}
