package haproxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
)

var hostileNames = []string{
	"", "a;b", "a b", "a\nb", "a\rb", "a\tb", "a\x00b", "a/b", "a\\;b", "a#b", "é", "a'b", `a"b`,
	"websrv1;set server app/websrv2 state ready", strings.Repeat("a", MaxNameLength+1),
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"app", "websrv50", "be_app.v2", "a:b-c", "A0"} {
		if err := ValidateName("server", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range hostileNames {
		if err := ValidateName("server", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseAddress(t *testing.T) {
	for _, ok := range []string{"10.0.3.15", "127.0.0.1", "::1", "2001:db8::1"} {
		if _, err := ParseAddress(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "localhost", "[::1]", "10.0.0.1:80", "fe80::1%eth0", "300.1.1.1", "10.0.0.1;x", " 10.0.0.1"} {
		if _, err := ParseAddress(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	_, err := ParseAddress("api.example.com")
	if err == nil || !strings.Contains(err.Error(), "IP addresses only") {
		t.Errorf("hostname error does not explain the rule: %v", err)
	}
}

func TestPortAndWeightRanges(t *testing.T) {
	for p, ok := range map[int]bool{0: false, 1: true, 8080: true, 65535: true, 65536: false, 99999: false, -1: false} {
		if (ValidatePort(p) == nil) != ok {
			t.Errorf("port %d: ok=%v expected", p, ok)
		}
	}
	for w, ok := range map[int]bool{-1: false, 0: true, 256: true, 257: false} {
		if (ValidateWeight(w) == nil) != ok {
			t.Errorf("weight %d: ok=%v expected", w, ok)
		}
	}
}

// recordingTransport accepts connections on a real unix socket and records
// every byte a client writes, so a test can prove nothing was sent.
type recordingTransport struct {
	Transport
	got chan []byte
}

func newRecorder(t *testing.T) *recordingTransport {
	t.Helper()
	got := make(chan []byte, 16)
	tr := fakeSocket(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		got <- buf[:n]
	})
	return &recordingTransport{Transport: tr, got: got}
}

func TestHostileValuesNeverReachTheSocket(t *testing.T) {
	rec := newRecorder(t)
	c := New(rec)
	ctx := context.Background()
	ip := netip.MustParseAddr("127.0.0.1")
	for _, bad := range hostileNames {
		calls := map[string]error{
			"SetState backend":  c.SetState(ctx, bad, "s", StateReady),
			"SetState server":   c.SetState(ctx, "b", bad, StateReady),
			"SetAddr server":    c.SetAddr(ctx, "b", bad, ip, 80),
			"SetWeight server":  c.SetWeight(ctx, "b", bad, 1),
			"EnableHealth":      c.EnableHealth(ctx, "b", bad),
			"DisableHealth":     c.DisableHealth(ctx, bad, "s"),
			"SetState bad word": c.SetState(ctx, "b", "s", State("ready;"+bad)),
		}
		if bad != "" { // "" means "all backends" for the show commands
			_, err := c.ServersState(ctx, bad)
			calls["ServersState"] = err
		}
		for name, err := range calls {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%s(%q): err = %v, want ErrInvalidArgument", name, bad, err)
			}
		}
	}
	for _, id := range []int{0, -1} {
		if _, err := c.Stat(ctx, id); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Stat(%d): %v", id, err)
		}
	}
	for _, bad := range []int{0, -1, 65536, 99999} {
		if err := c.SetAddr(ctx, "b", "s", ip, bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("port %d: %v", bad, err)
		}
	}
	if err := c.SetAddr(ctx, "b", "s", netip.Addr{}, 80); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("zero address: %v", err)
	}
	if err := c.SetWeight(ctx, "b", "s", 257); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("weight 257: %v", err)
	}
	// The raw gate as well, for commands built in this package.
	if _, err := c.Run(ctx, Command{line: "show version;show info", reply: dataReply("")}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("raw `;`: %v", err)
	}
	if _, err := c.Run(ctx, Command{line: strings.Repeat("a", MaxLineLength+1), reply: dataReply("")}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("over-long line: %v", err)
	}
	select {
	case b := <-rec.got:
		t.Fatalf("bytes reached the socket: %q", b)
	case <-time.After(100 * time.Millisecond):
	}
	// Sanity: the recorder does see a valid command, so the silence above means something.
	go func() { _, _ = c.Version(context.Background()) }()
	select {
	case b := <-rec.got:
		if !strings.Contains(string(b), "show version\n") {
			t.Errorf("recorder got %q", b)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("recorder saw nothing for a valid command")
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range append(hostileNames, "app", "websrv1", "a.b:c-d_e") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName("server", name) != nil {
			return
		}
		// Whatever passes can be put in a line that passes the socket gate,
		// and cannot split or extend a command.
		cmd, err := SetServerState(name, name, StateReady)
		if err != nil {
			t.Fatalf("valid name %q rejected by constructor: %v", name, err)
		}
		if err := checkLine(cmd.line); err != nil {
			t.Fatalf("valid name %q produced a bad line: %v", name, err)
		}
		if strings.Count(cmd.line, " ") != 4 {
			t.Fatalf("name %q changed the command's word count: %q", name, cmd.line)
		}
	})
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "::1", "fe80::1%eth0", "localhost", "1.2.3.4;x", "::ffff:1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		cmd, err := SetServerAddr("b", "s", a, 80)
		if err != nil {
			t.Fatalf("%q parsed but constructor refused: %v", s, err)
		}
		if err := checkLine(cmd.line); err != nil {
			t.Fatalf("%q produced a bad line: %v", s, err)
		}
	})
}

func FuzzParseServersState(f *testing.F) {
	for _, v := range capturedVersions(f) {
		f.Add(capture(f, v, "servers-state-all.txt"))
		f.Add(capture(f, v, "servers-state-after-changes.txt"))
	}
	f.Add("1\n# be_name srv_name\n")
	f.Add("1\n" + header25 + "\n3 app 1 w - 0 5 1 1 1 1 0 0 14 0 0 0 - 1 - 0 0 - - 0\n")
	f.Fuzz(func(t *testing.T, body string) {
		st, err := ParseServersState(body)
		if err != nil {
			return
		}
		for _, s := range st.Servers {
			if ValidateName("backend", s.Backend) != nil || ValidateName("server", s.Name) != nil {
				t.Fatalf("parser returned an invalid name: %+v", s)
			}
			if s.Port < 0 || s.Port > 65535 || s.OpState < 0 || s.OpState > OpStopping {
				t.Fatalf("parser returned out-of-range values: %+v", s)
			}
		}
	})
}

func FuzzClassify(f *testing.F) {
	for _, v := range capturedVersions(f) {
		for _, step := range captureScript() {
			f.Add(capture(f, v, step.file))
		}
	}
	addr, _ := SetServerAddr("b", "s", netip.MustParseAddr("127.0.0.1"), 80)
	state, _ := SetServerState("b", "s", StateReady)
	f.Fuzz(func(t *testing.T, body string) {
		// Must not panic, and an error reply must never pass as success.
		_, k := classify(addr, body)
		if k == nil && (strings.Contains(body, "problem converting") || strings.Contains(body, "Invalid addr")) {
			t.Fatalf("addr error classified as success: %q", body)
		}
		if _, k := classify(state, body); k == nil && strings.TrimRight(body, "\n") != "" {
			t.Fatalf("non-empty reply to state classified as success: %q", body)
		}
		_, _ = splitPromptReply(body, 2, workerCLI.mark())
	})
}

// NamePattern and ValidateName must be the same rule: plan-time validation
// uses the pattern, the client the function.
func FuzzNamePatternMatchesValidateName(f *testing.F) {
	for _, s := range append(hostileNames, "app", "a.b") {
		f.Add(s)
	}
	re := regexp.MustCompile(NamePattern)
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > MaxNameLength {
			return
		}
		if re.MatchString(s) != (ValidateName("x", s) == nil) {
			t.Fatalf("pattern and ValidateName disagree on %q", s)
		}
	})
}

// Whatever passes the pattern checks makes a versioned add of exactly its
// words, within the socket gate, that ParseEntries reads back unchanged.
func FuzzPatternEntry(f *testing.F) {
	for _, s := range append(hostileNames, "a.example", "#k", `v"q'`, "x y", "a\\b") {
		f.Add(s, "app")
		f.Add("a.example", s)
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		if ValidatePatternKey(key) != nil || ValidatePatternValue(value) != nil {
			return
		}
		p := PatternRef{Kind: KindMap, Ref: "/etc/haproxy/hosts.map"}
		cmd, err := AddToVersion(p, 4294967295, Entry{Key: key, Value: value})
		if err != nil {
			t.Fatalf("valid entry %q=%q rejected by the constructor: %v", key, value, err)
		}
		if err := checkLine(cmd.line); err != nil {
			t.Fatalf("valid entry %q=%q produced a bad line: %v", key, value, err)
		}
		if strings.Count(cmd.line, " ") != 5 {
			t.Fatalf("entry %q=%q changed the command's word count: %q", key, value, cmd.line)
		}
		got, err := ParseEntries(KindMap, "0x55e20a657b50 "+key+" "+value+"\n")
		if err != nil || len(got) != 1 || got[0] != (Entry{Key: key, Value: value}) {
			t.Fatalf("entry %q=%q read back as %q, %v", key, value, got, err)
		}
	})
}

func FuzzParsePatternReplies(f *testing.F) {
	f.Add("# id (file) description\n2 (/m) pattern loaded curr_ver=1 next_ver=2 entry_cnt=3\n\n")
	f.Add("0x1 a b\n0x2 c d e\n")
	f.Add("# id (file) description\nx (\n")
	f.Fuzz(func(t *testing.T, body string) {
		_, _ = ParsePatternRefs(body) // must not panic
		_, _ = ParseEntries(KindMap, body)
		_, _ = ParseEntries(KindACL, body)
	})
}
