//go:build bench

package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/localbuild"
)

// e2e is one configuration's Terraform runs, timed.
type e2e struct{ apply, plan, planNR, change, destroy time.Duration }

// changeWork is the socket work of a one-member change (apply
// -refresh=false, so that only the change's own pre-flight, writes and
// confirmations count), summed over every instance.
type changeWork struct{ trips, commands, sent, received int }

type poolRow struct {
	n, k              int
	floor, stub, real e2e
	tracePlan         time.Duration // real plan with the framework's trace log on, as before main.go set its level
	tracePlanNR       time.Duration
	work              changeWork
}

// TestBenchPoolEndToEnd measures haproxy_backend_pool through terraform
// against terraform_data holding the same members map (the floor) and the
// same provider with its socket work stubbed out, for BENCH_POOL_E2E
// members (default 1000,5000) on BENCH_POOL_E2E_K instances (default 3,20):
// create, plan, plan -refresh=false, a change of one member's port and the
// destroy. One
// round each: at these sizes a round takes minutes.
func TestBenchPoolEndToEnd(t *testing.T) {
	haproxytest.Binary(t)
	work := localbuild.Use(t, "..")
	var rows []poolRow
	for _, k := range sizes(t, "BENCH_POOL_E2E_K", "3,20") {
		for _, n := range sizes(t, "BENCH_POOL_E2E", "1000,5000") {
			rows = append(rows, measurePool(t, work, n, k))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Pool end to end (HAProxy %s, %s, measured %s, one round each)\n\n", haproxytest.Version(t), version("terraform", "version"),
		time.Now().UTC().Format("2006-01-02 15:04 MST"))
	b.WriteString("| members × instances | run | floor | stub | pool | pool ÷ floor | pool ÷ stub |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		for _, c := range []struct {
			name              string
			floor, stub, real time.Duration
		}{
			{"apply (create)", r.floor.apply, r.stub.apply, r.real.apply},
			{"plan", r.floor.plan, r.stub.plan, r.real.plan},
			{"plan -refresh=false", r.floor.planNR, r.stub.planNR, r.real.planNR},
			{"change one member's port", r.floor.change, r.stub.change, r.real.change},
			{"destroy", r.floor.destroy, r.stub.destroy, r.real.destroy},
		} {
			fmt.Fprintf(&b, "| %d × %d | %s | %s | %s | %s | %.2f | %.2f |\n", r.n, r.k, c.name, secs(c.floor), secs(c.stub), secs(c.real),
				ratio(c.real, c.floor), ratio(c.real, c.stub))
		}
	}
	b.WriteString("\n| members × instances | plan ÷ plan -refresh=false: pool | stub | real plan ÷ stub plan | plan with the framework's trace log (before) | one-member change: connections, commands, bytes sent, bytes read (all instances) |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d × %d | %.2f | %.2f | %.2f | %s (-refresh=false %s) | %d, %d, %d, %d |\n", r.n, r.k,
			ratio(r.real.plan, r.real.planNR), ratio(r.stub.plan, r.stub.planNR), ratio(r.real.plan, r.stub.plan),
			secs(r.tracePlan), secs(r.tracePlanNR), r.work.trips, r.work.commands, r.work.sent, r.work.received)
	}
	fmt.Print(b.String())
	plot := "results-pool.png"
	if out := os.Getenv("BENCH_OUT"); out != "" {
		plot = strings.TrimSuffix(out, ".md") + "-pool.png"
	} else {
		appendFile(t, "results.md", b.String()+"\n![seconds per terraform run, pool against its floor](results-pool.png)\n")
	}
	if err := plotPool(plot, rows); err != nil {
		t.Fatal(err)
	}
}

func poolConfig(sockets []string, n, changed int) string {
	var b strings.Builder
	b.WriteString("terraform {\n  required_providers {\n    haproxy = { source = \"haproxy-runtime/haproxy\" }\n  }\n}\n")
	fmt.Fprintf(&b, "provider \"haproxy\" {\n  sockets = [%s]\n}\n", quote(sockets))
	b.WriteString("resource \"haproxy_backend_pool\" \"app\" {\n  backend     = \"app\"\n  slot_prefix = \"websrv\"\n  members = {\n")
	b.WriteString(poolMembers(n, changed))
	b.WriteString("  }\n}\n")
	return b.String()
}

// poolMembers is the members map; member number changed gets another port.
func poolMembers(n, changed int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		port := 20000 + i
		if i == changed {
			port += 10000
		}
		fmt.Fprintf(&b, "    m%05d = { address = \"127.0.0.1\", port = %d }\n", i, port)
	}
	return b.String()
}

func measurePool(t *testing.T, work string, n, k int) poolRow {
	t.Logf("pool N=%d K=%d", n, k)
	r := poolRow{n: n, k: k}
	var sockets []string
	stubSockets := stubs(t, n, k)
	var insts []*haproxytest.Instance
	for i := 0; i < k; i++ {
		inst := haproxytest.Start(t, haproxytest.Options{Slots: n, NoHealthChecks: true})
		insts = append(insts, inst)
		sockets = append(sockets, inst.UnixTarget())
	}
	dir := func(name string) string { return filepath.Join(work, fmt.Sprintf("pool-%s-%d-%d", name, n, k)) }
	floorCfg := func(changed int) string {
		return "resource \"terraform_data\" \"app\" {\n  input = {\n" + poolMembers(n, changed) + "  }\n}\n"
	}
	run := func(d string, env []string, cfg func(changed int) string) e2e {
		var e e2e
		writeFile(t, filepath.Join(d, "main.tf"), cfg(0))
		e.apply = tf(t, d, env, "apply", "-auto-approve", "-input=false")
		e.plan = tf(t, d, env, "plan", "-input=false", "-detailed-exitcode")
		e.planNR = tf(t, d, env, "plan", "-input=false", "-refresh=false", "-detailed-exitcode")
		writeFile(t, filepath.Join(d, "main.tf"), cfg(n/2))
		e.change = tf(t, d, env, "apply", "-auto-approve", "-input=false")
		return e
	}
	r.floor = run(dir("floor"), nil, floorCfg)
	r.floor.destroy = tf(t, dir("floor"), nil, "destroy", "-auto-approve", "-input=false")
	var stubEnv []string // the same build, against the stand-ins
	r.stub = run(dir("stub"), stubEnv, func(c int) string { return poolConfig(stubSockets, n, c) })
	r.stub.destroy = tf(t, dir("stub"), stubEnv, "destroy", "-auto-approve", "-input=false")

	real := dir("real")
	r.real = run(real, nil, func(c int) string { return poolConfig(sockets, n, c) })
	checkPool(t, insts, n, n/2, 30000+n/2)
	trace := []string{"TF_LOG_SDK_FRAMEWORK=trace"}
	r.tracePlan = tf(t, real, trace, "plan", "-input=false", "-detailed-exitcode")
	r.tracePlanNR = tf(t, real, trace, "plan", "-input=false", "-refresh=false", "-detailed-exitcode")
	// The change back, logged and untimed, without the refresh round.
	writeFile(t, filepath.Join(real, "main.tf"), poolConfig(sockets, n, 0))
	r.work = loggedChange(t, real)
	checkPool(t, insts, n, n/2, 20000+n/2)
	r.real.destroy = tf(t, real, nil, "destroy", "-auto-approve", "-input=false")
	checkParked(t, insts, n)
	return r
}

// checkPool proves the pool's writes reached every instance: the first
// member's slot and the changed member's slot (slots are assigned in key
// order on empty instances) hold their ports.
func checkPool(t *testing.T, insts []*haproxytest.Instance, n, changed, port int) {
	for _, inst := range insts {
		if s := inst.State(t, "app", "websrv1"); s.Port != "20001" || s.Admin != 4 {
			t.Fatalf("%s websrv1: %+v", inst.AdminSock, s)
		}
		if s := inst.State(t, "app", fmt.Sprintf("websrv%d", changed)); s.Port != strconv.Itoa(port) {
			t.Fatalf("%s websrv%d: %+v, want port %d", inst.AdminSock, changed, s, port)
		}
	}
}

// checkParked proves the destroy reached every instance: the first and the
// last slot are back in maint on the placeholder.
func checkParked(t *testing.T, insts []*haproxytest.Instance, n int) {
	for _, inst := range insts {
		for _, i := range []int{1, n} {
			if s := inst.State(t, "app", fmt.Sprintf("websrv%d", i)); s.Admin&1 == 0 || s.Addr != "127.0.0.1" || s.Port != "1" {
				t.Fatalf("%s websrv%d not parked after destroy: %+v", inst.AdminSock, i, s)
			}
		}
	}
}

var (
	commandCount = regexp.MustCompile(`command_count=(\d+)`)
	sentBytes    = regexp.MustCompile(`sent_bytes=(\d+)`)
)

func loggedChange(t *testing.T, dir string) changeWork {
	logPath := filepath.Join(dir, "debug-change.log")
	_ = os.Remove(logPath)
	tf(t, dir, []string{"TF_LOG_PROVIDER=DEBUG", "TF_LOG_PATH=" + logPath}, "apply", "-auto-approve", "-input=false", "-refresh=false")
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := func(re *regexp.Regexp) int {
		total := 0
		for _, m := range re.FindAllSubmatch(log, -1) {
			v, _ := strconv.Atoi(string(m[1]))
			total += v
		}
		return total
	}
	return changeWork{trips: bytes.Count(log, []byte("haproxy runtime API exchange:")), commands: sum(commandCount), sent: sum(sentBytes), received: sum(replyBytes)}
}
