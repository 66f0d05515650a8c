package provider

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
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

// load sends requests through the frontends of insts until stopped, at most
// maxRequests or maxDuration, and tallies who answered.
type load struct {
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	answers map[string]int
	fails   []string
	total   atomic.Int64
}

func startLoad(insts []*haproxytest.Instance, maxRequests int64, maxDuration time.Duration) *load {
	l := &load{stop: make(chan struct{}), done: make(chan struct{}), answers: map[string]int{}}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(maxDuration)
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				if l.total.Add(1) > maxRequests || time.Now().After(deadline) {
					return
				}
				inst := insts[(i+w)%len(insts)]
				resp, err := client.Get(inst.FrontendURL() + "/")
				l.mu.Lock()
				switch {
				case err != nil:
					l.fails = append(l.fails, err.Error())
				case resp.StatusCode != http.StatusOK:
					l.fails = append(l.fails, fmt.Sprintf("%s: HTTP %d", inst.Frontend, resp.StatusCode))
				default:
					body, _ := io.ReadAll(resp.Body)
					l.answers[string(body)]++
				}
				l.mu.Unlock()
				if resp != nil {
					_ = resp.Body.Close()
				}
			}
		}()
	}
	go func() { wg.Wait(); close(l.done) }()
	return l
}

func (l *load) finish() (map[string]int, []string) {
	close(l.stop)
	<-l.done
	return l.answers, l.fails
}

// Every server of a backend is replaced (new slots, new addresses) under
// HTTP load, with create_before_destroy, wait_healthy_timeout and
// drain_timeout; one new backend starts listening only seconds into the
// apply. No request may fail, the load must see old and new backends, and
// only new backends may serve at the end.
func TestAccBackendServerZeroDowntimeReplacement(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	old1, old2 := startBackend(t, "old1", "127.0.0.1"), startBackend(t, "old2", "127.0.0.1")
	new1 := startBackend(t, "new1", "127.0.0.1")
	lateAddr := haproxytest.FreeAddr(t) // new2 listens here only once the apply is under way
	_, latePort, _ := net.SplitHostPort(lateAddr)

	srv := func(name, server, addr, port string) string {
		return fmt.Sprintf(`
resource "haproxy_backend_server" %q {
  backend              = "app"
  server               = %q
  address              = %q
  port                 = %s
  drain_timeout        = "5s"
  wait_healthy_timeout = "20s"
  lifecycle {
    create_before_destroy = true
  }
}
`, name, server, addr, port)
	}
	prov := providerBlock(a.UnixTarget(), b.TCPTarget())
	before := prov + srv("one", "websrv1", old1.Host, fmt.Sprint(old1.Port)) + srv("two", "websrv2", old2.Host, fmt.Sprint(old2.Port))
	after := prov + srv("one", "websrv3", new1.Host, fmt.Sprint(new1.Port)) + srv("two", "websrv4", "127.0.0.1", latePort)

	var ld *load
	var lateStarted atomic.Bool
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: before,
				Check: checkAll(insts, func(inst *haproxytest.Instance) error {
					return expectTraffic(inst, "old1", "old2")
				}),
			},
			{
				PreConfig: func() {
					ld = startLoad(insts, 200000, 90*time.Second)
					// Later than an apply takes without waiting for health checks.
					time.AfterFunc(6*time.Second, func() {
						lateStarted.Store(true)
						startBackendAt(t, "new2", lateAddr)
					})
				},
				Config: after,
				Check: func(*terraform.State) error {
					answers, fails := ld.finish()
					t.Logf("load during replacement: %v, %d failures", answers, len(fails))
					if !lateStarted.Load() {
						return fmt.Errorf("the apply finished before the late backend started: the health wait did not wait")
					}
					if len(fails) > 0 {
						return fmt.Errorf("%d of %d requests failed during the replacement, first: %s", len(fails), ld.total.Load(), fails[0])
					}
					for _, name := range []string{"old1", "old2", "new1"} {
						if answers[name] == 0 {
							return fmt.Errorf("load never reached %s: %v", name, answers)
						}
					}
					return checkAll(insts, func(inst *haproxytest.Instance) error {
						return expectTraffic(inst, "new1", "new2")
					})(nil)
				},
			},
		},
	})
}

// startBackendAt is startBackend on a fixed address.
func startBackendAt(t *testing.T, name, addr string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Errorf("late backend %s: %v", name, err)
		return
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// A request held open on a server keeps destroy in its drain phase until
// the request ends: the server is seen in drain while the request runs, the
// request completes, and destroy finishes only after it.
func TestAccBackendServerDrainWaitsForSessions(t *testing.T) {
	preCheck(t)
	a := haproxytest.Start(t)
	release := make(chan struct{})
	var released atomic.Int64 // unix nanos
	port := haproxytest.StartHoldingHTTP(t, "slow", "127.0.0.1", release).Port

	cfg := providerBlock(a.UnixTarget()) + serverConfig("one", "websrv1", "127.0.0.1", port, "  drain_timeout = \"20s\"\n")
	held := make(chan error, 1)
	var sawDrain atomic.Bool
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: func(*terraform.State) error {
					return expectTraffic(a, "slow")
				},
			},
			{
				PreConfig: func() {
					go func() {
						client := &http.Client{Timeout: 15 * time.Second}
						resp, err := client.Get(a.FrontendURL() + "/hold")
						if err == nil {
							body, _ := io.ReadAll(resp.Body)
							_ = resp.Body.Close()
							if string(body) != "slow" {
								err = fmt.Errorf("held request got %q", body)
							}
						}
						held <- err
					}()
					time.AfterFunc(3*time.Second, func() {
						sawDrain.Store(a.State(t, "app", "websrv1").Admin == adminDrain)
						released.Store(time.Now().UnixNano())
						close(release)
					})
				},
				Config: providerBlock(a.UnixTarget()),
				Check: func(*terraform.State) error {
					finished := time.Now()
					if err := <-held; err != nil {
						return fmt.Errorf("the held request did not complete: %w", err)
					}
					if !sawDrain.Load() {
						return fmt.Errorf("the server was not in drain while its session was open")
					}
					if r := released.Load(); r == 0 || finished.UnixNano() < r {
						return fmt.Errorf("destroy finished before the held session ended")
					}
					return expectSlot(t, a, "app", "websrv1", "127.0.0.1", 1, adminMaint, 1)
				},
			},
		},
	})
}

// A server whose new address never passes a health check is held in drain
// on every socket and the apply fails naming them; weight 0 and health_check
// round-trip.
func TestAccBackendServerWaitHealthyAndHealthToggle(t *testing.T) {
	preCheck(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	be1 := startBackend(t, "be1", "127.0.0.1")
	dead := haproxytest.FreeAddr(t) // nothing listens here
	_, deadPort, _ := net.SplitHostPort(dead)
	prov := providerBlock(a.UnixTarget(), b.TCPTarget())
	wait := "  wait_healthy_timeout = \"2s\"\n"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config: prov + fmt.Sprintf(`
resource "haproxy_backend_server" "one" {
  backend              = "app"
  server               = "websrv1"
  address              = "127.0.0.1"
  port                 = %s
  wait_healthy_timeout = "2s"
}
`, deadPort),
				// The error says what each instance holds now: the address
				// was taken, and the server is held in drain.
				ExpectError: regexp.MustCompile(`(?s)Fully\s+applied\s+on:\s+none.*(` + regexp.QuoteMeta(named(a.UnixTarget(), a.UnixTarget(), b.TCPTarget())) + `|` +
					regexp.QuoteMeta(named(b.TCPTarget(), a.UnixTarget(), b.TCPTarget())) + `):\s+app/websrv1\s+did\s+not\s+pass\s+a\s+health\s+check.*holds\s+127\.0\.0\.1\s+port\s+` +
					deadPort + `\s+now,\s+held\s+in\s+drain`),
			},
			{
				// Held in drain on both instances: no traffic reached the dead address.
				Config: prov,
				Check: checkAll(insts, func(inst *haproxytest.Instance) error {
					s := inst.State(t, "app", "websrv1")
					if s.Admin != adminDrain && s.Admin != adminMaint {
						return fmt.Errorf("%s: a server that never passed its check is not held out of rotation: %+v", inst.AdminSock, s)
					}
					return nil
				}),
			},
			{
				Config:      prov + serverConfig("one", "websrv1", be1.Host, be1.Port, wait+"  weight = 0\n  health_check = false\n"),
				ExpectError: regexp.MustCompile(`Contradictory settings`),
			},
			{
				Config: prov + serverConfig("one", "websrv1", be1.Host, be1.Port, wait+"  weight = 0\n  health_check = true\n"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("haproxy_backend_server.one", tfjsonpath.New("weight"), knownvalue.Int64Exact(0)),
				},
				Check: checkAll(insts, func(inst *haproxytest.Instance) error {
					return expectSlot(t, inst, "app", "websrv1", be1.Host, be1.Port, adminReady, 0)
				}),
			},
			{
				Config: prov + serverConfig("one", "websrv1", be1.Host, be1.Port, "  weight = 5\n  health_check = false\n"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("haproxy_backend_server.one", tfjsonpath.New("health_check"), knownvalue.Bool(false)),
				},
				Check: checkAll(insts, func(inst *haproxytest.Instance) error {
					if err := expectSlot(t, inst, "app", "websrv1", be1.Host, be1.Port, adminReady, 5); err != nil {
						return err
					}
					return expectTraffic(inst, "be1")
				}),
			},
			{
				// Health checks turned back on by hand: drift.
				PreConfig: func() { a.Admin(t, "enable health app/websrv1") },
				Config:    prov + serverConfig("one", "websrv1", be1.Host, be1.Port, "  weight = 5\n  health_check = false\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{tfplancheck.ExpectChanges("haproxy_backend_server.one", "health_check")},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("haproxy_backend_server.one", tfjsonpath.New("health_check"), knownvalue.Bool(false)),
				},
				Check: checkAll(insts, func(inst *haproxytest.Instance) error {
					if s := inst.State(t, "app", "websrv1"); s.Checks&4 != 0 {
						return fmt.Errorf("health checks still enabled on %s: %+v", inst.UnixTarget(), s)
					}
					return nil
				}),
			},
		},
	})
}
