//go:build bench

// Package bench measures the provider against Terraform's own floor and
// against the shell workflow it replaces, on real haproxy processes. Run it
// with `make bench` (BENCH_N and BENCH_K choose the sizes); it is kept out of
// the normal test run by its build tag.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/localbuild"
)

type row struct {
	n, k                                  int
	floorApply, apply                     time.Duration
	floorPlan, plan, planNoRefresh, socat time.Duration
	refreshTrips                          float64
}

func sizes(t *testing.T, env, def string) []int {
	v := os.Getenv(env)
	if v == "" {
		v = def
	}
	var out []int
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			t.Fatalf("%s: bad size %q", env, s)
		}
		out = append(out, n)
	}
	return out
}

func TestBench(t *testing.T) {
	for _, tool := range []string{"terraform", "socat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on PATH (make bench installs socat)", tool)
		}
	}
	haproxytest.Binary(t)
	work := localbuild.Use(t, "..")

	var rows []row
	for _, k := range sizes(t, "BENCH_K", "1,3") {
		for _, n := range sizes(t, "BENCH_N", "100,500") {
			rows = append(rows, measure(t, work, n, k))
		}
	}
	report(t, rows)
}

func measure(t *testing.T, work string, n, k int) row {
	t.Logf("N=%d K=%d", n, k)
	r := row{n: n, k: k}
	var insts []*haproxytest.Instance
	var sockets []string
	for i := 0; i < k; i++ {
		inst := haproxytest.Start(t, haproxytest.Options{Slots: n, NoHealthChecks: true})
		insts = append(insts, inst)
		// Alternate transports so both are measured.
		if i%2 == 0 {
			sockets = append(sockets, inst.UnixTarget())
		} else {
			sockets = append(sockets, inst.TCPTarget())
		}
	}

	floor := filepath.Join(work, fmt.Sprintf("floor-%d-%d", n, k))
	prov := filepath.Join(work, fmt.Sprintf("prov-%d-%d", n, k))
	var fcfg, pcfg strings.Builder
	pcfg.WriteString("terraform {\n  required_providers {\n    haproxy = { source = \"haproxy-runtime/haproxy\" }\n  }\n}\n")
	fmt.Fprintf(&pcfg, "provider \"haproxy\" {\n  sockets = [%s]\n}\n", quote(sockets))
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&fcfg, "resource \"terraform_data\" \"s%d\" {\n  input = { backend = \"app\", server = \"websrv%d\", address = \"127.0.0.1\", port = %d }\n}\n", i, i, 20000+i)
		fmt.Fprintf(&pcfg, "resource \"haproxy_backend_server\" \"s%d\" {\n  backend = \"app\"\n  server  = \"websrv%d\"\n  address = \"127.0.0.1\"\n  port    = %d\n}\n", i, i, 20000+i)
	}
	writeFile(t, filepath.Join(floor, "main.tf"), fcfg.String())
	writeFile(t, filepath.Join(prov, "main.tf"), pcfg.String())

	r.floorApply = tf(t, floor, "apply", "-auto-approve", "-input=false")
	r.floorPlan = tf(t, floor, "plan", "-input=false")
	r.apply = tf(t, prov, "apply", "-auto-approve", "-input=false")
	checkApplied(t, insts, n)
	r.plan = tf(t, prov, "plan", "-input=false", "-detailed-exitcode")
	r.planNoRefresh = tf(t, prov, "plan", "-input=false", "-refresh=false", "-detailed-exitcode")

	// Socket round trips per refreshed resource, counted from the provider's
	// debug log of every exchange (a separate, untimed run).
	logPath := filepath.Join(work, fmt.Sprintf("plan-%d-%d.log", n, k))
	cmd := exec.Command("terraform", "plan", "-input=false")
	cmd.Dir = prov
	cmd.Env = append(os.Environ(), "TF_LOG_PROVIDER=DEBUG", "TF_LOG_PATH="+logPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("plan with debug log: %v\n%s", err, out)
	}
	logBytes, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	r.refreshTrips = float64(bytes.Count(logBytes, []byte("haproxy runtime API exchange:"))) / float64(n)

	tf(t, prov, "destroy", "-auto-approve", "-input=false")

	// The seed's shell workflow: one socat process per command per socket.
	var sh strings.Builder
	sh.WriteString("set -e\n")
	for i := 1; i <= n; i++ {
		for j, inst := range insts {
			addr := "unix-connect:" + inst.AdminSock
			if j%2 == 1 {
				addr = "tcp:" + inst.AdminTCP
			}
			fmt.Fprintf(&sh, "echo 'set server app/websrv%d addr 127.0.0.1 port %d' | socat stdio %s >/dev/null\n", i, 20000+i, addr)
			fmt.Fprintf(&sh, "echo 'set server app/websrv%d state ready' | socat stdio %s >/dev/null\n", i, addr)
		}
	}
	script := filepath.Join(work, fmt.Sprintf("socat-%d-%d.sh", n, k))
	writeFile(t, script, sh.String())
	start := time.Now()
	if out, err := exec.Command("bash", script).CombinedOutput(); err != nil {
		t.Fatalf("socat workflow: %v\n%s", err, out)
	}
	r.socat = time.Since(start)
	checkApplied(t, insts, n)
	return r
}

// checkApplied proves the measured work really happened on every instance.
func checkApplied(t *testing.T, insts []*haproxytest.Instance, n int) {
	for _, inst := range insts {
		for _, i := range []int{1, n} {
			s := inst.State(t, "app", fmt.Sprintf("websrv%d", i))
			if s.Port != strconv.Itoa(20000+i) || s.Admin != 4 {
				t.Fatalf("%s websrv%d not applied: %+v", inst.AdminSock, i, s)
			}
		}
	}
}

func tf(t *testing.T, dir string, args ...string) time.Duration {
	cmd := exec.Command("terraform", append(args, "-no-color")...)
	cmd.Dir = dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	el := time.Since(start)
	if err != nil {
		t.Fatalf("terraform %s in %s: %v\n%s", strings.Join(args, " "), dir, err, tail(out))
	}
	return el
}

func report(t *testing.T, rows []row) {
	var b strings.Builder
	b.WriteString("# Benchmark results\n\n")
	fmt.Fprintf(&b, "Measured %s on %s/%s, %d CPUs; %s; %s; %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"),
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), version("terraform", "version"), version("haproxy", "-v"), runtime.Version())
	b.WriteString("All figures are from one run on a shared machine; compare ratios, not seconds.\n")
	b.WriteString("Floor = the same N resources as built-in `terraform_data`. Refresh cost = `plan` / `plan -refresh=false`.\n")
	b.WriteString("socat = one `echo \"set server …\" | socat` process per command per socket (addr, then state ready), no verification.\n\n")
	b.WriteString("| N | K | apply | floor apply | apply / floor | plan | plan -refresh=false | refresh cost | plan / floor plan | socat loop | apply / socat | round trips per refreshed resource |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %.2f | %s | %s | %.2f | %.2f | %s | %.2f | %.3f |\n",
			r.n, r.k, secs(r.apply), secs(r.floorApply), ratio(r.apply, r.floorApply),
			secs(r.plan), secs(r.planNoRefresh), ratio(r.plan, r.planNoRefresh), ratio(r.plan, r.floorPlan),
			secs(r.socat), ratio(r.apply, r.socat), r.refreshTrips)
	}
	fmt.Print("\n" + b.String())
	out := os.Getenv("BENCH_OUT") // CI's smoke run writes elsewhere
	if out == "" {
		out = "results.md"
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }

func version(cmd string, arg string) string {
	out, err := exec.Command(cmd, arg).Output()
	if err != nil {
		return cmd + " (unknown version)"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

func quote(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func writeFile(t *testing.T, path, content string) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func tail(b []byte) string {
	if len(b) > 4000 {
		return "…" + string(b[len(b)-4000:])
	}
	return string(b)
}

// TestBenchPool measures the socket work of one pool apply: BENCH_POOL
// members (default 1000) on BENCH_POOL_K sockets (default 3), straight
// through internal/fleet (no Terraform), from parked slots to all ready.
func TestBenchPool(t *testing.T) {
	n := sizes(t, "BENCH_POOL", "1000")[0]
	k := sizes(t, "BENCH_POOL_K", "3")[0]
	var sockets []string
	var insts []*haproxytest.Instance
	for i := 0; i < k; i++ {
		inst := haproxytest.Start(t, haproxytest.Options{Slots: n, NoHealthChecks: true})
		insts = append(insts, inst)
		sockets = append(sockets, inst.UnixTarget())
	}
	f, err := fleet.New(sockets, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := fleet.Pool{Backend: "app", Prefix: "websrv", Placeholder: netip.MustParseAddrPort("127.0.0.1:1"), Token: fleet.NewClaimToken(), Members: map[string]fleet.PoolMember{}}
	for i := 1; i <= n; i++ {
		p.Members[fmt.Sprintf("m%05d", i)] = fleet.PoolMember{Addr: netip.MustParseAddr("127.0.0.1"), Port: 20000 + i, State: haproxy.StateReady}
	}
	start := time.Now()
	assigned, _, err := f.ApplyPool(context.Background(), p)
	el := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(assigned) != n {
		t.Fatalf("%d members assigned, want %d", len(assigned), n)
	}
	for _, inst := range insts {
		for _, i := range []int{1, n} {
			if s := inst.State(t, "app", fmt.Sprintf("websrv%d", i)); s.Admin != 4 || s.Port == "1" {
				t.Fatalf("websrv%d not applied on %s: %+v", i, inst.AdminSock, s)
			}
		}
	}
	line := fmt.Sprintf("Pool apply (socket work only, no Terraform): %d members on %d sockets in %.2fs, %d connections.\n", n, k, el.Seconds(), f.RoundTrips())
	fmt.Print(line)
	if out := os.Getenv("BENCH_OUT"); out == "" {
		appendFile(t, "results.md", "\n"+line)
	}
}

func appendFile(t *testing.T, path, s string) {
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(s); err != nil {
		t.Fatal(err)
	}
}
