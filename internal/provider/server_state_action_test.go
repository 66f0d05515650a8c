package provider

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

func stateAction(name, servers, state, extra string) string {
	return fmt.Sprintf(`
action "haproxy_server_state" %q {
  config {
    backend = "app"
    servers = [%s]
    state   = %q
%s  }
}
`, name, servers, state, extra)
}

// holdRequest sends one request to /hold through inst and reports which
// backend answered (the held one only once released).
func holdRequest(inst *haproxytest.Instance) <-chan string {
	done := make(chan string, 1)
	go func() {
		client := &http.Client{Timeout: 30 * time.Second}
		resp, err := client.Get(inst.FrontendURL() + "/hold")
		if err != nil {
			done <- err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		done <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	return done
}

// The drain action through the real CLI: while a request is held open on
// websrv1 the action waits with websrv1 in drain on both instances, new
// requests go to websrv2 only, and it ends only after the held request
// finished. Then ready, gated on a fresh health check, brings websrv1 back.
func TestCLIServerStateActionDrainsAndRestores(t *testing.T) {
	preCheck(t)
	requireQuery(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	release := make(chan struct{})
	held := haproxytest.StartHoldingHTTP(t, "held", "127.0.0.1", release)
	other := startBackend(t, "other", "127.0.0.1")
	for _, inst := range insts {
		for srv, be := range map[string]httpBackend{"websrv1": held, "websrv2": other} {
			inst.Admin(t, fmt.Sprintf("set server app/%s addr %s port %d", srv, be.Host, be.Port))
			inst.Admin(t, "set server app/"+srv+" state ready")
		}
		if err := expectTraffic(inst, "held", "other"); err != nil {
			t.Fatal(err)
		}
	}
	c := newCLI(t, providerBlock(a.UnixTarget(), b.TCPTarget())+
		stateAction("drain", `"websrv1"`, "drain", "    wait_sessions_timeout = \"25s\"\n")+
		stateAction("ready", `"websrv1"`, "ready", "    wait_healthy_timeout = \"20s\"\n"))

	// Round robin over two servers: two requests put one on websrv1.
	var holds []<-chan string
	for range 2 {
		holds = append(holds, holdRequest(a))
	}
	a.WaitSession(t, "websrv1")
	cmd := c.command("apply", "-auto-approve", "-invoke=action.haproxy_server_state.drain")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	finished := make(chan error, 1)
	go func() { finished <- cmd.Wait() }()
	for _, inst := range insts {
		inst.WaitState(t, "app", "websrv1", func(s haproxytest.Server) bool { return s.Admin == adminDrain })
	}
	select {
	case err := <-finished:
		t.Fatalf("the action ended (%v) while a session was still open:\n%s", err, out.String())
	case <-time.After(2500 * time.Millisecond): // long enough for a progress report
	}
	for _, inst := range insts {
		if got := hits(inst, 8); got["other"] != 8 {
			t.Fatalf("a drained server must take no new requests: %v", got)
		}
	}
	close(release)
	answers := map[string]int{}
	for _, h := range holds {
		answers[<-h]++
	}
	if answers["200 held"] != 1 || answers["200 other"] != 1 {
		t.Fatalf("the request held on websrv1 should finish after the release: %v", answers)
	}
	if err := <-finished; err != nil {
		t.Fatalf("the drain action failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{"waiting up to 25s for its sessions to end", "1 session(s) still open on a.sock",
		"has no sessions left", "done: set app/websrv1 drain"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("the action's progress lacks %q:\n%s", want, out.String())
		}
	}

	ready := c.must("apply", "-auto-approve", "-invoke=action.haproxy_server_state.ready")
	if !strings.Contains(ready, "waiting up to 20s for a health check to pass on every instance") {
		t.Fatalf("ready should wait for a fresh health check:\n%s", ready)
	}
	for _, inst := range insts {
		if s := inst.State(t, "app", "websrv1"); s.Admin != adminReady || s.Addr != held.Host {
			t.Fatalf("websrv1 should be ready where it was: %+v", s)
		}
		if err := expectTraffic(inst, "held", "other"); err != nil {
			t.Fatal(err)
		}
	}
}

// Bad input is refused before anything is sent, a server missing on one
// instance stops the action before any instance changes, and a server a
// resource manages shows the action's change as drift that apply undoes.
func TestCLIServerStateActionRefusesAndIsDriftForResources(t *testing.T) {
	preCheck(t)
	requireQuery(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	be := startBackend(t, "be", "127.0.0.1")
	a.Admin(t, fmt.Sprintf("add server app/dyn1 %s:%d", be.Host, be.Port)) // on a only
	prov := providerBlock(a.UnixTarget(), b.TCPTarget())
	cfg := prov + serverConfig("web", "websrv1", be.Host, be.Port, "") +
		stateAction("split", `"websrv1", "dyn1"`, "maint", "") +
		stateAction("parked", `"websrv2"`, "ready", "") +
		stateAction("drain", `"websrv1"`, "drain", "")
	c := newCLI(t, cfg)
	c.must("apply", "-auto-approve")

	c.write(cfg + stateAction("bad", `"web;srv1"`, "drain", ""))
	out, code := c.run("apply", "-auto-approve", "-invoke=action.haproxy_server_state.bad")
	if code == 0 || !strings.Contains(out, "may only contain letters, digits") {
		t.Fatalf("a name with ';' must be refused at plan time (exit %d):\n%s", code, out)
	}
	c.write(cfg)
	out, code = c.run("apply", "-auto-approve", "-invoke=action.haproxy_server_state.split")
	if code == 0 || !strings.Contains(out, `backend "app" has no server "dyn1"`) || !strings.Contains(out, "nothing was changed") {
		t.Fatalf("a server missing on one instance must stop the action, naming it (exit %d):\n%s", code, out)
	}
	out, code = c.run("apply", "-auto-approve", "-invoke=action.haproxy_server_state.parked")
	if code == 0 || !strings.Contains(out, "parked on the placeholder") {
		t.Fatalf("a parked slot must not be made ready (exit %d):\n%s", code, out)
	}
	for _, inst := range insts {
		if s := inst.State(t, "app", "websrv1"); s.Admin != adminReady {
			t.Fatalf("a refused action changed websrv1: %+v", s)
		}
		if s := inst.State(t, "app", "websrv2"); s.Admin != adminMaint {
			t.Fatalf("a refused action changed websrv2: %+v", s)
		}
	}

	c.must("apply", "-auto-approve", "-invoke=action.haproxy_server_state.drain")
	out, code = c.run("plan", "-detailed-exitcode")
	if code != 2 || !strings.Contains(out, `~ state`) || !strings.Contains(out, `"drain" -> "ready"`) {
		t.Fatalf("the resource's next plan must show the action's drain as drift (exit %d):\n%s", code, out)
	}
	c.must("apply", "-auto-approve")
	for _, inst := range insts {
		if s := inst.State(t, "app", "websrv1"); s.Admin != adminReady {
			t.Fatalf("apply should restore the configured state: %+v", s)
		}
	}
	c.mustPlanEmpty("after restoring")
}

// An action runs from action_trigger in a resource's lifecycle, as the
// day-2 guide shows: creating the maintenance window drains the server on
// every instance.
func TestCLIServerStateActionRunsFromActionTrigger(t *testing.T) {
	preCheck(t)
	requireQuery(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	be := startBackend(t, "be", "127.0.0.1")
	for _, inst := range []*haproxytest.Instance{a, b} {
		inst.Admin(t, fmt.Sprintf("set server app/websrv1 addr %s port %d", be.Host, be.Port))
		inst.Admin(t, "set server app/websrv1 state ready")
	}
	c := newCLI(t, providerBlock(a.UnixTarget(), b.TCPTarget())+stateAction("drain", `"websrv1"`, "drain", "")+`
resource "terraform_data" "maintenance" {
  input = "window"
  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.haproxy_server_state.drain]
    }
  }
}
`)
	out := c.must("apply", "-auto-approve")
	for _, inst := range []*haproxytest.Instance{a, b} {
		if s := inst.State(t, "app", "websrv1"); s.Admin != adminDrain {
			t.Fatalf("the triggered action should have drained websrv1 on %s: %+v\n%s", inst.AdminSock, s, out)
		}
	}
}

// haproxy_shutdown_sessions cuts a session held open on a drained server,
// on every instance, and leaves the state alone.
func TestCLIShutdownSessionsActionCutsHeldSessions(t *testing.T) {
	preCheck(t)
	requireQuery(t)
	a, b := haproxytest.Start(t), haproxytest.Start(t)
	insts := []*haproxytest.Instance{a, b}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	held := haproxytest.StartHoldingHTTP(t, "held", "127.0.0.1", release)
	for _, inst := range insts {
		inst.Admin(t, fmt.Sprintf("set server app/websrv1 addr %s port %d", held.Host, held.Port))
		inst.Admin(t, "set server app/websrv1 state ready")
		if err := expectTraffic(inst, "held"); err != nil {
			t.Fatal(err)
		}
	}
	answers := []<-chan string{holdRequest(a), holdRequest(b)}
	a.WaitSession(t, "websrv1")
	b.WaitSession(t, "websrv1")
	for _, inst := range insts {
		inst.Admin(t, "set server app/websrv1 state drain")
	}
	for i, ans := range answers {
		select {
		case got := <-ans:
			t.Fatalf("instance %d: the request should still be held, got %q", i, got)
		default:
		}
	}
	c := newCLI(t, providerBlock(a.UnixTarget(), b.TCPTarget())+`
action "haproxy_shutdown_sessions" "cut" {
  config {
    backend = "app"
    servers = ["websrv1"]
  }
}
`)
	out := c.must("apply", "-auto-approve", "-invoke=action.haproxy_shutdown_sessions.cut")
	if !strings.Contains(out, "done: shut down the sessions of app/websrv1") {
		t.Fatalf("the action should report what it did:\n%s", out)
	}
	for i, ans := range answers {
		select {
		case got := <-ans:
			if got == "200 held" {
				t.Fatalf("instance %d: the held session was answered, not cut", i)
			}
		case <-time.After(3 * time.Second): // well before HAProxy's own `timeout server 10s`
			t.Fatalf("instance %d: the held session is still open after shutdown sessions", i)
		}
	}
	for _, inst := range insts {
		if s := inst.State(t, "app", "websrv1"); s.Admin != adminDrain {
			t.Fatalf("shutdown sessions must leave the state alone: %+v", s)
		}
	}
}
