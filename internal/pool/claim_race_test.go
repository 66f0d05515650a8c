package pool_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/pool"
)

// The race between workspaces is tested with separate processes, which
// share nothing but the HAProxy sockets (no in-process lock helps them):
// this test binary re-runs itself as a pool worker.

const workerEnv = "FLEET_POOL_WORKER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(workerEnv); spec != "" {
		os.Exit(poolWorker(spec))
	}
	os.Exit(m.Run())
}

// workerSpec is one workspace: its sockets and members.
type workerSpec struct {
	Sockets []string
	Members map[string]string // member key → "addr:port"
}

// workerResult is what a worker prints after each phase.
type workerResult struct {
	Assigned   map[string]string
	Err        string
	ClaimsLost int64
}

// poolWorker waits on stdin for a byte (the barrier), applies its pool,
// prints the result, waits for a second byte, deletes its pool, prints the
// result and exits.
func poolWorker(raw string) int {
	var spec workerSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Println(`{"Err":"bad spec"}`)
		return 2
	}
	f, err := fleet.New(spec.Sockets, 10*time.Second, nil)
	if err != nil {
		fmt.Printf("{\"Err\":%q}\n", err.Error())
		return 2
	}
	p := pool.Pool{Backend: "app", Prefix: "websrv", Placeholder: netip.MustParseAddrPort("127.0.0.1:1"),
		Token: pool.NewToken(), Members: map[string]pool.Member{}}
	for key, ap := range spec.Members {
		a := netip.MustParseAddrPort(ap)
		p.Members[key] = pool.Member{Addr: a.Addr(), Port: int(a.Port()), State: haproxy.StateReady}
	}
	in := bufio.NewReader(os.Stdin)
	report := func(assigned map[string]string, err error) {
		r := workerResult{Assigned: assigned, ClaimsLost: pool.ClaimsLost()}
		if err != nil {
			r.Err = err.Error()
		}
		out, _ := json.Marshal(r)
		fmt.Println(string(out))
	}
	fmt.Println(workerReady) // waiting at the barrier
	if _, err := in.ReadByte(); err != nil {
		return 2
	}
	assigned, _, err := pool.Apply(context.Background(), f, p)
	report(assigned, err)
	if _, err := in.ReadByte(); err != nil {
		return 2
	}
	p.Assigned, p.Members = assigned, nil
	_, err = pool.Delete(context.Background(), f, p)
	report(nil, err)
	return 0
}

type worker struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

func startWorker(t *testing.T, spec workerSpec) *worker {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return &worker{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
}

func (w *worker) result(t *testing.T) workerResult {
	t.Helper()
	if !w.out.Scan() {
		t.Fatalf("worker %d printed nothing", w.cmd.Process.Pid)
	}
	var r workerResult
	if err := json.Unmarshal(w.out.Bytes(), &r); err != nil {
		t.Fatalf("worker said %q: %v", w.out.Text(), err)
	}
	return r
}

// workerReady is the line a worker prints once it waits at the barrier.
const workerReady = "ready"

// waitReady reads each worker's ready line: the barrier is released only
// once every worker waits at it, or the race would not be one.
func waitReady(t *testing.T, ws []*worker) {
	t.Helper()
	for _, w := range ws {
		if !w.out.Scan() || w.out.Text() != workerReady {
			t.Fatalf("worker %d did not reach the barrier: %q", w.cmd.Process.Pid, w.out.Text())
		}
	}
}

// release writes the barrier byte to every worker at once.
func release(t *testing.T, ws []*worker) {
	t.Helper()
	for _, w := range ws {
		if _, err := w.stdin.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
	}
}

// Three workspaces, as separate processes released by one barrier, apply
// pools of three members each on the same backend and prefix of two real
// instances, round after round. Every round: no slot is recorded by two
// workspaces, every member is served by exactly one slot on each instance,
// HTTP through each frontend reaches every member, and after every
// workspace destroyed its pool every slot is parked again with no claim left.
func TestPoolClaimRaceBetweenProcesses(t *testing.T) {
	const workspaces, perWorkspace, rounds = 3, 3, 20
	insts := []*haproxytest.Instance{
		haproxytest.Start(t, haproxytest.Options{NoHealthChecks: true}),
		haproxytest.Start(t, haproxytest.Options{NoHealthChecks: true}),
	}
	sockets := []string{insts[0].UnixTarget(), insts[1].TCPTarget()}
	specs := make([]workerSpec, workspaces)
	where := map[string]string{} // "addr:port" → member name
	for w := range specs {
		specs[w] = workerSpec{Sockets: sockets, Members: map[string]string{}}
		for m := 0; m < perWorkspace; m++ {
			name := fmt.Sprintf("w%dm%d", w, m)
			be := haproxytest.StartHTTP(t, name, "127.0.0.1")
			ap := fmt.Sprintf("%s:%d", be.Host, be.Port)
			specs[w].Members[name] = ap
			where[ap] = name
		}
	}
	interleavings := 0
	var lost int64
	for round := 1; round <= rounds; round++ {
		ws := make([]*worker, workspaces)
		for i := range ws {
			ws[i] = startWorker(t, specs[i])
		}
		waitReady(t, ws)
		release(t, ws)
		holder := map[string]string{}
		for i, w := range ws {
			r := w.result(t)
			if r.Err != "" {
				t.Fatalf("round %d: workspace %d: %s", round, i, r.Err)
			}
			lost += r.ClaimsLost
			if len(r.Assigned) != perWorkspace {
				t.Fatalf("round %d: workspace %d recorded %v", round, i, r.Assigned)
			}
			for member, slot := range r.Assigned {
				if other, ok := holder[slot]; ok {
					t.Fatalf("round %d: slot %s recorded by %s and by %s", round, slot, other, member)
				}
				holder[slot] = member
			}
		}
		if interleaved(holder) {
			interleavings++ // the workspaces really competed for the same slots
		}
		for _, inst := range insts {
			served := map[string]int{}
			for slot := 1; slot <= haproxytest.Slots; slot++ {
				s := inst.State(t, "app", fmt.Sprintf("websrv%d", slot))
				if s.Admin&1 != 0 {
					continue
				}
				name := where[s.Addr+":"+s.Port]
				if name == "" || holder[fmt.Sprintf("websrv%d", slot)] != name {
					t.Fatalf("round %d: %s: websrv%d serves %s:%s, recorded for %q", round, inst.AdminSock, slot, s.Addr, s.Port, holder[fmt.Sprintf("websrv%d", slot)])
				}
				served[name]++
			}
			if len(served) != workspaces*perWorkspace {
				t.Fatalf("round %d: %s serves %v", round, inst.AdminSock, served)
			}
			var hits map[string]int
			for start := time.Now(); ; {
				hits = inst.Hits(4 * workspaces * perWorkspace)
				missing := 0
				for _, name := range where {
					if hits[name] == 0 {
						missing++
					}
				}
				if missing == 0 {
					break
				}
				if time.Since(start) > 3*time.Second {
					t.Fatalf("round %d: requests through %s reach only %v\n%s", round, inst.Frontend, hits, inst.Admin(t, "show stat"))
				}
				t.Logf("round %d: %d members not reached yet: %v", round, missing, hits)
				time.Sleep(100 * time.Millisecond)
			}
		}
		release(t, ws)
		for i, w := range ws {
			if r := w.result(t); r.Err != "" {
				t.Fatalf("round %d: workspace %d destroy: %s", round, i, r.Err)
			}
			_ = w.cmd.Wait()
		}
		for _, inst := range insts {
			out := inst.Admin(t, "show servers state app")
			if strings.Contains(out, ".claim") {
				t.Fatalf("round %d: %s: claims left after every destroy:\n%s", round, inst.AdminSock, out)
			}
			for slot := 1; slot <= haproxytest.Slots; slot++ {
				if s := inst.State(t, "app", fmt.Sprintf("websrv%d", slot)); s.Admin&1 == 0 || s.Addr != "127.0.0.1" || s.Port != "1" {
					t.Fatalf("round %d: %s: websrv%d not parked after every destroy: %+v", round, inst.AdminSock, slot, s)
				}
			}
		}
	}
	if lost == 0 {
		t.Fatalf("in %d rounds no workspace ever lost a claim: the workspaces did not compete, and the test proved nothing", rounds)
	}
	t.Logf("%d rounds of %d workspaces: no slot shared; %d claims lost to another workspace; in %d rounds the workspaces' slots interleaved",
		rounds, workspaces, lost, interleavings)
}

// interleaved reports whether some workspace's slots are not one
// contiguous run (w0m1 in websrv2 and w1m0 in websrv3 and w0m2 in websrv4…).
func interleaved(holder map[string]string) bool {
	last := map[string]int{}
	for n := 1; n <= haproxytest.Slots; n++ {
		m := holder[fmt.Sprintf("websrv%d", n)]
		if m == "" {
			continue
		}
		ws := m[:2]
		if prev, ok := last[ws]; ok && prev != n-1 {
			return true
		}
		last[ws] = n
	}
	return false
}
