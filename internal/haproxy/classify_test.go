package haproxy

import (
	"errors"
	"strings"
	"testing"
)

// must unwraps a constructor's result in test set-up, where an error is a bug.
func must(c Command, err error) Command {
	if err != nil {
		panic(err)
	}
	return c
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

// Severity prefixes of `severity-output number|string` are removed before a
// reply is classified; anything else that starts with `[` is left alone.
func TestWithoutSeverity(t *testing.T) {
	cases := map[string]string{
		"[4]: nothing changed\n":   "nothing changed\n",
		"[err]: No such server.\n": "No such server.\n",
		"[info]: admin\n":          "admin\n",
		"[8]: admin\n":             "[8]: admin\n", // no such level
		"[warn]: x\n":              "[warn]: x\n",  // not HAProxy's name
		"[3]: \n":                  "[3]: \n",      // a level without a message
		"[3]:No such server.\n":    "[3]:No such server.\n",
		"admin\n":                  "admin\n",
		"":                         "",
		"[6]: [6]: admin\n":        "[6]: admin\n", // one prefix only
		"1\n# be_id be_name\n":     "1\n# be_id be_name\n",
	}
	for in, want := range cases {
		if got := withoutSeverity(in); got != want {
			t.Errorf("withoutSeverity(%q) = %q, want %q", in, got, want)
		}
	}
	state := must(SetServerState("app", "websrv1", StateReady))
	if _, kind := classify(state, "[3]: No such server."); !errors.Is(kind, ErrNoSuchServer) {
		t.Errorf("prefixed error classified as %v", kind)
	}
}

// The dynamic probe's replies, as 2.6.12 and 3.4.7 give them (with the
// blank line the CLI adds): only "not supported on dynamic servers" says
// dynamic; the refusals of configured servers are success too (the probe
// changed nothing), and anything else is an unexpected reply.
func TestProbeDynamicReplies(t *testing.T) {
	cmd := must(ProbeDynamic("app", "x"))
	cases := []struct {
		body    string
		dynamic bool
		ok      bool
	}{
		{"'set server <srv> ssl' not supported on dynamic servers\n\n", true, true},
		{"'set server <srv> ssl' cannot be set.  default-server should define ssl settings\n\n", false, true},
		{"'set server <srv> ssl' expects 'on' or 'off'.\n\n", false, true},
		{"server ssl setting not supported.\n\n", false, false}, // built without OpenSSL
		{"No such server.\n\n", false, false},
		{"\n", false, false}, // an empty reply would mean something was set
	}
	for _, c := range cases {
		_, kind := classify(cmd, c.body)
		if (kind == nil) != c.ok {
			t.Errorf("%q: classified %v, want ok=%v", c.body, kind, c.ok)
		}
		if c.ok && IsDynamicReply(c.body) != c.dynamic {
			t.Errorf("%q: dynamic=%v, want %v", c.body, !c.dynamic, c.dynamic)
		}
	}
	if cmd.String() != "set server app/x ssl probe" {
		t.Errorf("line %q", cmd.String())
	}
	if _, err := ProbeDynamic("app", "x;show info"); err == nil {
		t.Error("a name with ';' must be refused before anything is sent")
	}
}
