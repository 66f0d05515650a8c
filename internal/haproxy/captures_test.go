package haproxy

import (
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// The capture script: the commands whose exact replies are kept under
// testdata/<version>/ for every supported HAProxy version, in the order they
// are sent (later replies show the effect of earlier commands), each with the
// outcome its reply must classify as on every version. The same script runs
// live against whichever haproxy the test run uses (TestCaptureScriptLive),
// and over every version's stored replies (TestClassifyCapturedReplies), so a
// version that words a reply differently fails both.
//
//	go test ./internal/haproxy -run TestCaptureScriptLive -update-captures
//
// rewrites testdata/<version>/ from the haproxy on PATH (see CONTRIBUTING.md
// for running against one version).
var updateCaptures = flag.Bool("update-captures", false, "rewrite testdata/<version>/ from the haproxy on PATH")

// captureConfig is added to the fixture's config for the captures: an IPv6
// slot, and a backend with an explicit id whose server has health checks
// configured but never runs one (disabled), so no reply depends on timing.
const captureConfig = `
backend v6
    server x1 ::1:1 disabled

backend chk
    id 77
    server c1 127.0.0.1:1 check inter 60s disabled
`

type captureStep struct {
	file   string
	socket string // "" admin, "user" the user-level socket, "sev" the severity-output number socket
	cmd    Command
	want   error // nil: the reply must classify as success
	// settle: before this step, wait until the server shows this address
	// and port (HAProxy 2.9+ applies an address after replying, and the next
	// step's reply depends on it).
	settle *settlePoint
}

type settlePoint struct{ server, addr, port string }

// raw builds a command line our constructors refuse to build (they validate
// every value), with the reply rule of the command it imitates.
func raw(line string, like Command) Command { return Command{line: line, reply: like.reply} }

func captureScript() []captureStep {
	addr := func(server, ip string, port int) Command {
		return must(SetServerAddr("app", server, mustAddr(ip), port))
	}
	state := func(backend, server string, st State) Command { return must(SetServerState(backend, server, st)) }
	anyAddr := addr("websrv1", "127.0.0.9", 9)
	return []captureStep{
		{file: "show-version.txt", cmd: ShowVersion()},
		{file: "show-cli-level-admin.txt", cmd: ShowCLILevel()},
		{file: "show-cli-level-user.txt", socket: "user", cmd: ShowCLILevel()},
		{file: "show-info.txt", cmd: ShowInfo()},
		{file: "servers-state-all.txt", cmd: must(ShowServersState(""))},
		{file: "servers-state-missing-backend.txt", cmd: must(ShowServersState("nope")), want: ErrNoSuchBackend},
		{file: "show-stat-chk.txt", cmd: must(ShowStat(77))},
		{file: "show-stat-unknown-id.txt", cmd: must(ShowStat(99999))},
		{file: "addr-changed-ip-port.txt", cmd: addr("websrv1", "127.0.0.2", 8080)},
		{file: "addr-no-change.txt", cmd: addr("websrv1", "127.0.0.2", 8080), settle: &settlePoint{"websrv1", "127.0.0.2", "8080"}},
		{file: "addr-changed-ip-only.txt", cmd: addr("websrv1", "127.0.0.3", 8080)},
		{file: "addr-changed-port-only.txt", cmd: addr("websrv1", "127.0.0.3", 8081), settle: &settlePoint{"websrv1", "127.0.0.3", "8080"}},
		{file: "addr-ipv6.txt", cmd: addr("websrv2", "::1", 8080)},
		{file: "addr-invalid.txt", cmd: raw("set server app/websrv1 addr 300.1.1.1 port 8080", anyAddr), want: ErrInvalidArgument,
			settle: &settlePoint{"websrv1", "127.0.0.3", "8081"}},
		{file: "addr-hostname.txt", cmd: raw("set server app/websrv1 addr localhost port 8080", anyAddr), want: ErrInvalidArgument},
		// 2.6 changes the address and then refuses the port; 3.0+ refuses first.
		{file: "addr-bad-port.txt", cmd: raw("set server app/websrv1 addr 127.0.0.4 port abc", anyAddr), want: ErrInvalidArgument},
		{file: "addr-restore.txt", cmd: addr("websrv1", "127.0.0.4", 8081)},
		{file: "state-bad.txt", cmd: raw("set server app/websrv1 state READY", state("app", "websrv1", StateReady)), want: ErrInvalidArgument},
		{file: "state-drain.txt", cmd: state("app", "websrv3", StateDrain)},
		{file: "state-ready.txt", cmd: state("app", "websrv1", StateReady)},
		{file: "no-such-backend.txt", cmd: state("nope", "websrv1", StateReady), want: ErrNoSuchBackend},
		{file: "no-such-server.txt", cmd: state("app", "nope", StateReady), want: ErrNoSuchServer},
		{file: "proxy-disabled.txt", cmd: state("off", "o1", StateReady), want: ErrBackendDisabled},
		{file: "unknown-command.txt", cmd: raw("show serverz", ShowVersion()), want: ErrUnknownCommand},
		{file: "weight-garbage.txt", cmd: raw("set server app/websrv1 weight abc", must(SetServerWeight("app", "websrv1", 1))), want: ErrInvalidArgument},
		{file: "weight-ok.txt", cmd: must(SetServerWeight("app", "websrv1", 50))},
		{file: "weight-static-lb.txt", cmd: must(SetServerWeight("staticlb", "t1", 3)), want: ErrInvalidArgument},
		{file: "weight-too-big.txt", cmd: raw("set server app/websrv1 weight 257", must(SetServerWeight("app", "websrv1", 1))), want: ErrInvalidArgument},
		{file: "disable-health-ok.txt", cmd: must(DisableHealth("chk", "c1"))},
		{file: "enable-health-ok.txt", cmd: must(EnableHealth("chk", "c1"))},
		{file: "enable-health-not-configured.txt", cmd: must(EnableHealth("plain", "s1")), want: ErrInvalidArgument},
		{file: "health-down.txt", cmd: must(SetServerHealthDown("chk", "c1"))},
		{file: "shutdown-sessions.txt", cmd: must(ShutdownSessions("app", "websrv1"))},
		{file: "permission-denied.txt", socket: "user", cmd: state("app", "websrv1", StateMaint), want: ErrPermission},
		{file: "severity-cli-level.txt", socket: "sev", cmd: ShowCLILevel()},
		{file: "severity-addr-no-change.txt", socket: "sev", cmd: addr("websrv1", "127.0.0.4", 8081), settle: &settlePoint{"websrv1", "127.0.0.4", "8081"}},
		{file: "severity-addr-invalid.txt", socket: "sev", cmd: raw("set server app/websrv1 addr 300.1.1.1 port 8080", anyAddr), want: ErrInvalidArgument},
		{file: "severity-no-such-server.txt", socket: "sev", cmd: state("app", "nope", StateReady), want: ErrNoSuchServer},
		{file: "severity-state-ready.txt", socket: "sev", cmd: state("app", "websrv1", StateReady)},
		{file: "add-server-ok.txt", cmd: must(AddServer("app", "websrv9.claim", mustAddr("127.0.9.9"), 4099))},
		{file: "add-server-exists.txt", cmd: must(AddServer("app", "websrv9.claim", mustAddr("127.0.9.8"), 4098)), want: ErrAlreadyExists},
		{file: "add-server-static-lb.txt", cmd: must(AddServer("staticlb", "t1.claim", mustAddr("127.0.9.9"), 4099)), want: ErrNoDynamicServers},
		{file: "del-server-ok.txt", cmd: must(DelServer("app", "websrv9.claim"))},
		{file: "del-server-missing.txt", cmd: must(DelServer("app", "websrv9.claim")), want: ErrNoSuchServer},
		{file: "servers-state-after-changes.txt", cmd: must(ShowServersState(""))},
	}
}

// capturedVersions lists the versions under testdata/.
func capturedVersions(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	if len(out) < 4 {
		t.Fatalf("testdata/ holds captures of %d HAProxy versions (%v); every supported version (2.6, 3.0, 3.2, 3.4) needs its own", len(out), out)
	}
	return out
}

// capture reads a stored reply and returns it as the body Run hands to a
// rule (the reply minus HAProxy's one-byte terminator), checking that it was
// captured for the request line we expect.
func capture(t testing.TB, version, name string, cmd ...Command) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", version, name))
	if err != nil {
		t.Fatal(err)
	}
	head, reply, ok := strings.Cut(string(raw), "\n")
	if !ok || !strings.HasSuffix(reply, "\n") || !strings.HasPrefix(head, "# request: ") {
		t.Fatalf("%s/%s: malformed capture", version, name)
	}
	if len(cmd) > 0 && head != "# request: "+cmd[0].line {
		t.Fatalf("%s/%s was captured for %q, the script now sends %q: run the capture again", version, name, head, cmd[0].line)
	}
	return strings.TrimSuffix(reply, "\n")
}

func TestClassifyCapturedReplies(t *testing.T) {
	for _, v := range capturedVersions(t) {
		for _, step := range captureScript() {
			t.Run(v+"/"+step.file, func(t *testing.T) {
				detail, kind := classify(step.cmd, capture(t, v, step.file, step.cmd))
				if !sameOutcome(kind, step.want) {
					t.Fatalf("classify = %v (%s), want %v", kind, detail, step.want)
				}
			})
		}
		// A reply meant for another command is never success.
		addr := must(SetServerAddr("app", "websrv1", mustAddr("127.0.0.2"), 8080))
		state := must(SetServerState("app", "websrv1", StateReady))
		sss := must(ShowServersState("app"))
		for _, tc := range []struct {
			file string
			cmd  Command
		}{
			{"addr-changed-ip-port.txt", state},
			{"state-ready.txt", addr},
			{"state-ready.txt", sss},
			{"show-version.txt", sss},
			{"severity-no-such-server.txt", state},
			{"severity-addr-invalid.txt", addr},
		} {
			if _, kind := classify(tc.cmd, capture(t, v, tc.file)); kind == nil {
				t.Errorf("%s/%s classified as success of %q", v, tc.file, tc.cmd.line)
			}
		}
	}
}

// sameOutcome: both success, or both the same kind of failure.
func sameOutcome(got, want error) bool {
	if want == nil {
		return got == nil
	}
	return errors.Is(got, want)
}

var versionNumber = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+`)

// TestCaptureScriptLive runs the script against a real haproxy and checks
// every reply's outcome; with -update-captures it also stores the replies.
func TestCaptureScriptLive(t *testing.T) {
	inst := haproxytest.Start(t, haproxytest.Options{ExtraConfig: captureConfig, NoHealthChecks: true, SeverityOutput: "number"})
	socket := map[string]string{"": inst.AdminSock, "user": inst.UserSock, "sev": inst.SevSock}
	version := versionNumber.FindString(strings.TrimSpace(inst.Admin(t, "show version")))
	if version == "" {
		t.Fatal("cannot read the haproxy version")
	}
	dir := filepath.Join("testdata", version)
	if *updateCaptures {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range captureScript() {
		if p := step.settle; p != nil {
			inst.WaitState(t, "app", p.server, func(s haproxytest.Server) bool { return s.Addr == p.addr && s.Port == p.port })
		}
		reply, err := inst.Raw("unix", socket[step.socket], step.cmd.line)
		if err != nil {
			t.Fatalf("%s: %v", step.file, err)
		}
		if !strings.HasSuffix(reply, "\n") {
			t.Fatalf("%s: reply %q lacks HAProxy's terminating newline", step.file, reply)
		}
		if detail, kind := classify(step.cmd, strings.TrimSuffix(reply, "\n")); !sameOutcome(kind, step.want) {
			t.Errorf("HAProxy %s, %s: %q answered %q, classified %v (%s), want %v", version, step.file, step.cmd.line, reply, kind, detail, step.want)
		}
		if *updateCaptures {
			body := "# request: " + step.cmd.line + "\n" + reply
			if err := os.WriteFile(filepath.Join(dir, step.file), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if *updateCaptures {
		readme := "Replies captured from a real HAProxy " + strings.TrimSpace(inst.Admin(t, "show version")) +
			" by `go test ./internal/haproxy -run TestCaptureScriptLive -update-captures`.\n" +
			"Each file is `# request: <line>` followed by the exact reply bytes (body plus HAProxy's\n" +
			"terminating `\\n`), read in the CLI's plain mode over a unix socket. The script\n" +
			"(captureScript in captures_test.go) sends them in file order, so later replies show the\n" +
			"effect of earlier commands. `severity-*` files come from a socket declared with\n" +
			"`severity-output number`; `show-cli-level-user` and `permission-denied` from a `level user` one.\n"
		if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d captures to %s", len(captureScript()), dir)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
