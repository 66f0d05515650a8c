package haproxy

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// capture reads a reply captured from HAProxy 2.6.12 (see testdata/2.6.12/README.md)
// and returns it as the body Run hands to a rule: the reply minus HAProxy's
// one-byte terminator.
func capture(t testing.TB, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "2.6.12", name))
	if err != nil {
		t.Fatal(err)
	}
	_, reply, ok := strings.Cut(string(raw), "\n")
	if !ok || !strings.HasSuffix(reply, "\n") {
		t.Fatalf("%s: malformed capture", name)
	}
	return strings.TrimSuffix(reply, "\n")
}

// must unwraps a constructor's result in test set-up, where an error is a bug.
func must(c Command, err error) Command {
	if err != nil {
		panic(err)
	}
	return c
}

func TestClassifyCapturedReplies(t *testing.T) {
	addr := must(SetServerAddr("app", "websrv1", netip.MustParseAddr("127.0.0.2"), 8080))
	state := must(SetServerState("app", "websrv1", StateReady))
	weight := must(SetServerWeight("app", "websrv1", 50))
	enable := must(EnableHealth("app", "websrv1"))
	disable := must(DisableHealth("app", "websrv1"))
	sss := must(ShowServersState("app"))
	stat := must(ShowStat("app"))

	cases := []struct {
		file string
		cmd  Command
		want error // nil = success
	}{
		{"addr-changed-ip-port.txt", addr, nil},
		{"addr-no-change.txt", addr, nil},
		{"addr-changed-ip-only-port.txt", addr, nil},
		{"addr-changed-port-only.txt", addr, nil},
		{"addr-ipv6.txt", addr, nil},
		{"addr-invalid.txt", addr, ErrInvalidArgument},
		{"addr-hostname.txt", addr, ErrInvalidArgument},
		{"addr-bad-port-half-applied.txt", addr, ErrInvalidArgument},
		{"addr-port-map.txt", addr, ErrInvalidArgument},
		{"state-ready.txt", state, nil},
		{"state-drain.txt", state, nil},
		{"state-bad.txt", state, ErrInvalidArgument},
		{"weight-ok.txt", weight, nil},
		{"weight-too-big.txt", weight, ErrInvalidArgument},
		{"weight-garbage.txt", weight, ErrInvalidArgument},
		{"weight-static-lb.txt", weight, ErrInvalidArgument},
		{"no-such-backend.txt", state, ErrNoSuchBackend},
		{"no-such-server.txt", state, ErrNoSuchServer},
		{"no-such-server.txt", addr, ErrNoSuchServer},
		{"no-such-server.txt", weight, ErrNoSuchServer},
		{"proxy-disabled.txt", state, ErrBackendDisabled},
		{"permission-denied.txt", state, ErrPermission},
		{"permission-denied.txt", addr, ErrPermission},
		{"unknown-command.txt", state, ErrUnknownCommand},
		{"enable-health-ok.txt", enable, nil},
		{"enable-health-not-configured.txt", enable, ErrInvalidArgument},
		{"disable-health-ok.txt", disable, nil},
		{"servers-state-all.txt", sss, nil},
		{"servers-state-missing-backend.txt", sss, ErrNoSuchBackend},
		{"show-stat-app.txt", stat, nil},
		{"show-stat-missing.txt", stat, ErrNoSuchBackend},
		{"show-info.txt", ShowInfo(), nil},
		{"show-version.txt", ShowVersion(), nil},
		{"show-cli-level-admin.txt", ShowCLILevel(), nil},
		{"show-cli-level-user.txt", ShowCLILevel(), nil},
		// A reply meant for another command is never success.
		{"addr-changed-ip-port.txt", state, ErrUnexpectedReply},
		{"state-ready.txt", addr, ErrUnexpectedReply},
		{"state-ready.txt", sss, ErrUnexpectedReply},
		{"show-version.txt", sss, ErrUnexpectedReply},
		{"unknown-command.txt", sss, ErrUnknownCommand},
	}
	for _, tc := range cases {
		t.Run(tc.file+"/"+tc.cmd.line, func(t *testing.T) {
			detail, kind := classify(tc.cmd, capture(t, tc.file))
			if !errors.Is(kind, tc.want) || (kind == nil) != (tc.want == nil) {
				t.Fatalf("classify = %v (%s), want %v", kind, detail, tc.want)
			}
		})
	}
}

// Replies that look like success at first sight but are not (3.x wording and
// invented variants). Success is a whole-reply match, not a prefix.
func TestAddrReplyGrammar(t *testing.T) {
	ok := []string{
		"IP changed from '127.0.0.1' to '127.0.0.5', port changed from '9003' to '8080' by 'stats socket command'",
		"IP changed from '127.0.0.5' to '127.0.0.6' by 'stats socket command'",
		"no need to change the addr by 'stats socket command'",
		"port changed from '1' to '80' by 'stats socket command'", // 3.x, port only
		"nothing changed", // 3.x
	}
	bad := []string{
		"IP changed from '127.0.0.1' to '127.0.0.1', problem converting port 'abc' to an int by 'stats socket command'",
		"no need to change the addr, problem converting port '' to an int by 'stats socket command'",
		"Update for the current server address family is only supported through configuration file by 'stats socket command'",
		"Invalid addr 'x'",
		"IP changed from '1' to '2' by 'stats socket command'\nNo such server.",
		"",
		"nothing changed yet",
		"IP changed",
	}
	for _, m := range ok {
		if d, k := addrReply(m); k != nil {
			t.Errorf("%q: got %v (%s), want success", m, k, d)
		}
	}
	for _, m := range bad {
		if _, k := addrReply(m); k == nil {
			t.Errorf("%q: classified as success", m)
		}
	}
	if d, _ := addrReply("IP changed from '127.0.0.3' to '127.0.0.4', problem converting port 'abc' to an int by 'stats socket command'"); !strings.Contains(d, "half-updated") {
		t.Errorf("half-applied change not called out: %q", d)
	}
}

func TestErrorNamesTargetCommandAndReply(t *testing.T) {
	e := &Error{Kind: ErrNoSuchServer, Target: "unix:///x.sock", Command: "set server a/b state ready", Reply: "No such server.\n"}
	msg := e.Error()
	for _, want := range []string{"unix:///x.sock", "set server a/b state ready", "No such server.", "no such server"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if !errors.Is(e, ErrNoSuchServer) || !IsGone(e) {
		t.Error("errors.Is / IsGone do not see the kind")
	}
	if IsGone(&Error{Kind: ErrTimeout}) || IsGone(&Error{Kind: ErrTransport}) {
		t.Error("a timeout or transport failure must never read as gone")
	}
}
