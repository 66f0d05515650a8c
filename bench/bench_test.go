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
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxystub"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/localbuild"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/pool"
)

type row struct {
	n, k                       int
	floorApply, stubApply      time.Duration
	apply, socat               time.Duration
	floorPlan, stubPlan, plan  time.Duration
	stubPlanNoRefresh          time.Duration
	planNoRefresh              time.Duration
	applyWork, refreshWork     work // per resource
	rounds                     int  // stub and real applies and plans measured (medians)
	stateBytes, stubStateBytes int  // terraform.tfstate per resource
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// work is the socket work of one Terraform run, per resource: round trips
// (each is one connection) and reply bytes read, from the provider's debug
// log of every exchange.
type work struct {
	trips, bytes float64
}

// rounds is BENCH_REPEAT when set, else 3 up to N = 500 and 1 above (a
// round at N = 2000 takes minutes).
func rounds(t *testing.T, n int) int {
	if os.Getenv("BENCH_REPEAT") != "" {
		return sizes(t, "BENCH_REPEAT", "1")[0]
	}
	if n <= 500 {
		return 3
	}
	return 1
}

func fileSize(t *testing.T, path string) int {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Size())
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
	for _, k := range sizes(t, "BENCH_K", "1,2,3") {
		for _, n := range sizes(t, "BENCH_N", "100,500,2000") {
			rows = append(rows, measure(t, work, n, k))
		}
	}
	report(t, rows)
}

func measure(t *testing.T, work string, n, k int) row {
	t.Logf("N=%d K=%d", n, k)
	r := row{n: n, k: k, rounds: rounds(t, n)}
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
	stubSockets := stubs(t, n, k)

	floor := filepath.Join(work, fmt.Sprintf("floor-%d-%d", n, k))
	stub := filepath.Join(work, fmt.Sprintf("stub-%d-%d", n, k))
	prov := filepath.Join(work, fmt.Sprintf("prov-%d-%d", n, k))
	var fcfg strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&fcfg, "resource \"terraform_data\" \"s%d\" {\n  input = { backend = \"app\", server = \"websrv%d\", address = \"127.0.0.1\", port = %d }\n}\n", i, i, 20000+i)
	}
	writeFile(t, filepath.Join(floor, "main.tf"), fcfg.String())
	writeFile(t, filepath.Join(stub, "main.tf"), serversConfig(stubSockets, n))
	writeFile(t, filepath.Join(prov, "main.tf"), serversConfig(sockets, n))

	r.floorApply = tf(t, floor, nil, "apply", "-auto-approve", "-input=false")
	r.floorPlan = tf(t, floor, nil, "plan", "-input=false")
	var stubEnv []string // the same build

	// Socket work, counted from the provider's debug log of every exchange
	// in separate, untimed runs (logging costs time).
	r.applyWork = logged(t, prov, n, "apply", "-auto-approve", "-input=false")
	checkApplied(t, insts, n)
	r.refreshWork = logged(t, prov, n, "plan", "-input=false")
	tf(t, prov, nil, "destroy", "-auto-approve", "-input=false")

	// Rounds of stub and real, alternating, each an apply from empty state,
	// both plans and a destroy; the medians are reported, since one round
	// on a shared machine is noisy. Rounds are many where they are cheap.
	var stubApply, apply, stubPlan, stubPlanNR, plan, planNR []time.Duration
	for i := 0; i < r.rounds; i++ {
		stubApply = append(stubApply, tf(t, stub, stubEnv, "apply", "-auto-approve", "-input=false"))
		stubPlan = append(stubPlan, tf(t, stub, stubEnv, "plan", "-input=false", "-detailed-exitcode"))
		stubPlanNR = append(stubPlanNR, tf(t, stub, stubEnv, "plan", "-input=false", "-refresh=false", "-detailed-exitcode"))
		if i == 0 {
			r.stubStateBytes = fileSize(t, filepath.Join(stub, "terraform.tfstate")) / n
		}
		tf(t, stub, stubEnv, "destroy", "-auto-approve", "-input=false")

		apply = append(apply, tf(t, prov, nil, "apply", "-auto-approve", "-input=false"))
		checkApplied(t, insts, n)
		plan = append(plan, tf(t, prov, nil, "plan", "-input=false", "-detailed-exitcode"))
		planNR = append(planNR, tf(t, prov, nil, "plan", "-input=false", "-refresh=false", "-detailed-exitcode"))
		if i == 0 {
			r.stateBytes = fileSize(t, filepath.Join(prov, "terraform.tfstate")) / n
		}
		tf(t, prov, nil, "destroy", "-auto-approve", "-input=false")
	}
	r.stubApply, r.apply = median(stubApply), median(apply)
	r.stubPlan, r.stubPlanNoRefresh = median(stubPlan), median(stubPlanNR)
	r.plan, r.planNoRefresh = median(plan), median(planNR)

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

func serversConfig(sockets []string, n int) string {
	var b strings.Builder
	b.WriteString("terraform {\n  required_providers {\n    haproxy = { source = \"haproxy-runtime/haproxy\" }\n  }\n}\n")
	fmt.Fprintf(&b, "provider \"haproxy\" {\n  sockets = [%s]\n}\n", quote(sockets))
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "resource \"haproxy_backend_server\" \"s%d\" {\n  backend = \"app\"\n  server  = \"websrv%d\"\n  address = \"127.0.0.1\"\n  port    = %d\n}\n", i, i, 20000+i)
	}
	return b.String()
}

var replyBytes = regexp.MustCompile(`reply_bytes=(\d+)`)

// logged runs terraform with the provider's debug log and returns its
// socket work per resource.
func logged(t *testing.T, dir string, n int, args ...string) work {
	logPath := filepath.Join(dir, "debug-"+args[0]+".log")
	_ = os.Remove(logPath)
	tf(t, dir, []string{"TF_LOG_PROVIDER=DEBUG", "TF_LOG_PATH=" + logPath}, args...)
	logBytes, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// Replies span lines in the log: count the exchanges, and sum the
	// reply_bytes field wherever it falls.
	var w work
	w.trips = float64(bytes.Count(logBytes, []byte("haproxy runtime API exchange:")))
	for _, m := range replyBytes.FindAllSubmatch(logBytes, -1) {
		b, _ := strconv.Atoi(string(m[1]))
		w.bytes += float64(b)
	}
	w.trips /= float64(n)
	w.bytes /= float64(n)
	return w
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

func tf(t *testing.T, dir string, env []string, args ...string) time.Duration {
	cmd := exec.Command("terraform", append(args, "-no-color")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
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
	b.WriteString("All figures are from one run on a shared machine; compare ratios, not seconds. N `haproxy_backend_server` on K instances, fresh state each time.\n\n")
	b.WriteString("- floor: the same N resources as built-in `terraform_data`.\n")
	b.WriteString("- stub: this provider, as built, against in-memory stand-ins of HAProxy's runtime API (`internal/haproxystub`) that the benchmark serves on unix sockets: all of the provider's own code runs (pre-flight, read-backs, allocation), HAProxy's work does not.\n")
	b.WriteString("- real: this provider.\n")
	b.WriteString("- socat: one `echo \"set server …\" | socat` process per command per socket (addr, then state ready), no verification.\n\n")
	b.WriteString("## Apply\n\n")
	b.WriteString("Stub and real: the median of `rounds` alternating applies (plans likewise).\n\n")
	b.WriteString("| N | K | floor | stub | real | rounds | socat | real / stub (goal ≤ 1.10) | real / socat (goal < 1) | stub / socat |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %d | %s | %.2f | %.2f | %.2f |\n", r.n, r.k, secs(r.floorApply), secs(r.stubApply), secs(r.apply), r.rounds, secs(r.socat),
			ratio(r.apply, r.stubApply), ratio(r.apply, r.socat), ratio(r.stubApply, r.socat))
	}
	b.WriteString("\n## Plan\n\n")
	b.WriteString("| N | K | floor plan | stub plan | stub plan -refresh=false | stub refresh cost | real plan | real plan -refresh=false | real refresh cost (goal ≤ 1.15) |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %.2f | %s | %s | %.2f |\n", r.n, r.k, secs(r.floorPlan), secs(r.stubPlan), secs(r.stubPlanNoRefresh),
			ratio(r.stubPlan, r.stubPlanNoRefresh), secs(r.plan), secs(r.planNoRefresh), ratio(r.plan, r.planNoRefresh))
	}
	b.WriteString("\n## Socket work per resource\n\n")
	b.WriteString("Round trips (each one connection) and reply bytes read, per resource, from the provider's debug log; flat in N means no N² anywhere.\n\n")
	b.WriteString("| N | K | apply round trips | apply bytes read | refresh round trips | refresh bytes read |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %d | %.2f | %.0f | %.3f | %.0f |\n", r.n, r.k, r.applyWork.trips, r.applyWork.bytes, r.refreshWork.trips, r.refreshWork.bytes)
	}
	b.WriteString("\n## State file per resource\n\n")
	b.WriteString("Terraform's local backend rewrites the whole state file after every resource it applies, so each byte a resource keeps there is written about N²/2 times in an apply of N.\n\n")
	b.WriteString("| N | K | stub | real |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %d | %d B | %d B |\n", r.n, r.k, r.stubStateBytes, r.stateBytes)
	}
	b.WriteString("\n![seconds per resource against N](results.png)\n")
	fmt.Print("\n" + b.String())
	out := os.Getenv("BENCH_OUT") // CI's smoke run writes elsewhere
	if out == "" {
		out = "results.md"
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := plotPerResource(strings.TrimSuffix(out, ".md")+".png", rows); err != nil {
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

// TestBenchPool measures the socket work of a pool straight through
// internal/fleet (no Terraform): BENCH_POOL members (default 1000) on
// BENCH_POOL_K sockets (default 3), in four phases: the apply from parked
// slots to all ready, a read of every member (a refresh), an apply that
// changes one member's port, and the delete that parks every slot again.
// Each phase reports its time, connections and reply bytes, so a phase that
// grows faster than its members and sockets shows here first.
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
	var received atomic.Int64
	observe := func(_ context.Context, e haproxy.Exchange) { received.Add(int64(len(e.Reply))) }
	// Each phase runs on a fleet of its own, as each Terraform run starts a
	// provider process of its own: no phase reads another's cached reads.
	var f *fleet.Fleet
	ctx := context.Background()
	p := pool.Pool{Backend: "app", Prefix: "websrv", Placeholder: netip.MustParseAddrPort("127.0.0.1:1"), Token: pool.NewToken(), Members: map[string]pool.Member{}}
	for i := 1; i <= n; i++ {
		p.Members[fmt.Sprintf("m%05d", i)] = pool.Member{Addr: netip.MustParseAddr("127.0.0.1"), Port: 20000 + i, State: haproxy.StateReady}
	}
	type phase struct {
		name      string
		took      time.Duration
		trips     uint64
		received  int64
		haproxy   time.Duration // CPU of every haproxy process
		ourselves time.Duration // CPU of this process (the fleet's side)
	}
	haproxyCPU := func() time.Duration {
		var sum time.Duration
		for _, inst := range insts {
			sum += inst.CPU(t)
		}
		return sum
	}
	var phases []phase
	timed := func(name string, fn func() error) {
		var err error
		if f, err = fleet.New(sockets, 30*time.Second, observe); err != nil {
			t.Fatal(err)
		}
		got, start, hcpu, own := received.Load(), time.Now(), haproxyCPU(), processCPU(t)
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		phases = append(phases, phase{name, time.Since(start), f.RoundTrips(), received.Load() - got, haproxyCPU() - hcpu, processCPU(t) - own})
	}
	timed("apply (create)", func() error {
		assigned, _, err := pool.Apply(ctx, f, p)
		if err == nil && len(assigned) != n {
			err = fmt.Errorf("%d members assigned, want %d", len(assigned), n)
		}
		p.Assigned = assigned
		return err
	})
	for _, inst := range insts {
		for _, i := range []int{1, n} {
			if s := inst.State(t, "app", fmt.Sprintf("websrv%d", i)); s.Admin != 4 || s.Port == "1" {
				t.Fatalf("websrv%d not applied on %s: %+v", i, inst.AdminSock, s)
			}
		}
	}
	timed("read every member", func() error {
		readings, _, err := pool.Read(ctx, f, p, nil)
		if err == nil && len(readings) != n {
			err = fmt.Errorf("%d members read, want %d", len(readings), n)
		}
		return err
	})
	changed := fmt.Sprintf("m%05d", n/2+1)
	m := p.Members[changed]
	m.Port += 10000
	p.Members[changed] = m
	timed("change one member's port", func() error {
		_, _, err := pool.Apply(ctx, f, p)
		return err
	})
	for _, inst := range insts {
		if s := inst.State(t, "app", p.Assigned[changed]); s.Port != strconv.Itoa(m.Port) {
			t.Fatalf("%s %s: %+v, want port %d", inst.AdminSock, p.Assigned[changed], s, m.Port)
		}
	}
	timed("delete", func() error {
		_, err := pool.Delete(ctx, f, p)
		return err
	})
	for _, inst := range insts {
		for _, i := range []int{1, n} {
			if s := inst.State(t, "app", fmt.Sprintf("websrv%d", i)); s.Admin&1 == 0 || s.Port != "1" {
				t.Fatalf("websrv%d not parked on %s: %+v", i, inst.AdminSock, s)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nPool socket work (no Terraform, HAProxy %s), %d members on %d sockets:\n\n| phase | time | connections | reply bytes | CPU: all haproxy processes | CPU: the fleet (this process) |\n|---|---|---|---|---|---|\n", haproxytest.Version(t), n, k)
	for _, ph := range phases {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s |\n", ph.name, secs(ph.took), ph.trips, ph.received, secs(ph.haproxy), secs(ph.ourselves))
	}
	fmt.Fprintf(&b, "\n(%d CPUs: a phase whose CPU over all processes approaches its time × CPUs is bound by this machine, not by waiting.)\n", runtime.NumCPU())
	fmt.Print(b.String())
	if out := os.Getenv("BENCH_OUT"); out == "" {
		appendFile(t, "results.md", b.String())
	}
}

// processCPU is the CPU time this process has used so far.
func processCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// floorRow is one Terraform run of the provider against the same run of
// terraform_data holding the same data.
type floorRow struct {
	name        string
	floor, prov time.Duration
}

// writeFloorTable writes rows as a section's table; resource heads the
// provider's column.
func writeFloorTable(b *strings.Builder, resource string, rows []floorRow) {
	fmt.Fprintf(b, "| through terraform, one round | terraform_data floor | %s | ÷ floor |\n|---|---|---|---|\n", resource)
	for _, row := range rows {
		fmt.Fprintf(b, "| %s | %s | %s | %.2f |\n", row.name, secs(row.floor), secs(row.prov), ratio(row.prov, row.floor))
	}
}

// saveSection prints a section of results and appends it to results.md,
// except in CI's smoke run (BENCH_OUT set), whose sizes mean nothing.
func saveSection(t *testing.T, section string) {
	fmt.Print(section)
	if os.Getenv("BENCH_OUT") == "" {
		appendFile(t, "results.md", section)
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

// stubs serves k in-memory stand-ins of HAProxy's runtime API
// (internal/haproxystub), each a backend app of n template slots without
// checks as the benchmark's instances have, and returns their sockets. The
// provider build under test runs all of its own code against them; what
// it does not pay there is HAProxy's own work.
func stubs(t *testing.T, n, k int) []string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "hxb") //nolint:usetesting // short paths for unix sockets
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	var out []string
	for i := range k {
		s, err := haproxystub.Listen(fmt.Sprintf("%s/%d.sock", dir, i), 1000+i,
			haproxystub.Backend{Name: "app", ID: 3, Template: "websrv", Slots: n, Placeholder: fleet.DefaultPlaceholder, NoChecks: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		out = append(out, "unix://"+s.Path)
	}
	return out
}
