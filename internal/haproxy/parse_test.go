package haproxy

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

const header25 = "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port"

func TestParseServersStateCaptured(t *testing.T) {
	for _, v := range capturedVersions(t) {
		st, err := ParseServersState(capture(t, v, "servers-state-after-changes.txt"))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if len(st.Servers) != 16 {
			t.Fatalf("%s: got %d servers, want 16", v, len(st.Servers))
		}
		w1, ok := st.Find("app", "websrv1")
		if !ok {
			t.Fatalf("%s: websrv1 missing", v)
		}
		// ready from a `disabled` template slot: CMAINT (4) stays, and that is ready.
		if w1.Addr != netip.MustParseAddr("127.0.0.4") || w1.Port != 8081 || w1.Admin != 4 ||
			w1.Admin.UserState() != StateReady || w1.UserWeight != 50 || w1.InitialWeight != 1 || w1.OpState != OpRunning {
			t.Errorf("%s: websrv1 = %+v", v, w1)
		}
		w2, _ := st.Find("app", "websrv2")
		if w2.Addr != netip.MustParseAddr("::1") || w2.Port != 8080 || w2.Admin.UserState() != StateMaint || w2.OpState != OpStopped {
			t.Errorf("%s: websrv2 = %+v", v, w2)
		}
		// maint → drain clears FMAINT: 12 = CMAINT|FDRAIN. Decimal, not hex.
		w3, _ := st.Find("app", "websrv3")
		if w3.Admin != 12 || w3.Admin.UserState() != StateDrain || !w3.Admin.Draining() || w3.Admin.InMaintenance() {
			t.Errorf("%s: websrv3 = %+v (%s)", v, w3, w3.Admin)
		}
		// A disabled backend lists its servers with srv_id 0.
		if o1, ok := st.Find("off", "o1"); !ok || o1.ID != 0 {
			t.Errorf("%s: off/o1 = %+v, %v", v, o1, ok)
		}
		// Health checks configured on chk/c1, enabled again after disable/enable.
		if c1, ok := st.Find("chk", "c1"); !ok || c1.BackendID != 77 {
			t.Errorf("%s: chk/c1 = %+v", v, c1)
		} else if configured, enabled := c1.HealthChecks(); !configured || !enabled {
			t.Errorf("%s: chk/c1 health checks configured=%v enabled=%v", v, configured, enabled)
		}
	}
}

func TestAdminFlags(t *testing.T) {
	cases := []struct {
		v         AdminFlags
		user      State
		maint     bool
		notForced int
	}{
		{0, StateReady, false, 0},
		{1, StateMaint, true, 0},
		{4, StateReady, false, 0},  // CMAINT alone: in service
		{5, StateMaint, true, 0},   // template slot at start
		{8, StateDrain, false, 0},  // FDRAIN
		{12, StateDrain, false, 0}, // CMAINT|FDRAIN
		{16, StateReady, false, 1}, // IDRAIN only: user state is still ready
		{17, StateMaint, true, 1},
		{2, StateReady, true, 1},   // IMAINT: in maintenance, but not by us
		{32, StateReady, true, 1},  // RMAINT
		{64, StateReady, false, 0}, // FQDN marker is not maintenance
		{96, StateReady, true, 1},
	}
	for _, c := range cases {
		if got := c.v.UserState(); got != c.user {
			t.Errorf("%d (%s): UserState = %s, want %s", c.v, c.v, got, c.user)
		}
		if got := c.v.InMaintenance(); got != c.maint {
			t.Errorf("%d: InMaintenance = %v", c.v, got)
		}
		if got := len(c.v.NotForced()); got != c.notForced {
			t.Errorf("%d: NotForced = %v", c.v, c.v.NotForced())
		}
	}
}

func TestParseServersStateByHeader(t *testing.T) {
	// Columns reordered and an unknown one added: parsing is by name.
	body := "1\n# srv_name be_name future_col srv_addr srv_port srv_op_state srv_admin_state srv_uweight srv_iweight be_id srv_id\n" +
		"w1 app x 10.0.0.1 80 2 8 7 1 3 1\n"
	st, err := ParseServersState(body)
	if err != nil {
		t.Fatal(err)
	}
	r := st.Servers[0]
	if r.Name != "w1" || r.Backend != "app" || r.Port != 80 || r.UserWeight != 7 || r.Admin.UserState() != StateDrain {
		t.Errorf("%+v", r)
	}
	// `-` means no value.
	st, err = ParseServersState("1\n" + header25 + "\n7 be_dns 2 r2 - 0 32 1 1 3 1 0 0 14 0 0 0 doesnotexist.invalid 9002 - 0 0 - - 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if st.Servers[0].HasInetAddr() || st.Servers[0].FQDN != "doesnotexist.invalid" {
		t.Errorf("%+v", st.Servers[0])
	}
}

func TestParseServersStateRejects(t *testing.T) {
	row := "3 app 1 websrv1 127.0.0.1 0 5 1 1 1 1 0 0 14 0 0 0 - 1 - 0 0 - - 0"
	cases := map[string]string{
		"empty":           "",
		"wrong version":   "2\n" + header25 + "\n" + row,
		"no header":       "1\n" + row,
		"missing column":  "1\n# be_id be_name srv_id srv_name\n3 app 1 w",
		"ragged row":      "1\n" + header25 + "\n" + row + " extra",
		"short row":       "1\n" + header25 + "\n3 app 1",
		"bad number":      "1\n" + header25 + "\n" + strings.Replace(row, " 0 5 ", " 0 x5 ", 1),
		"negative":        "1\n" + header25 + "\n" + strings.Replace(row, " 0 5 ", " 0 -5 ", 1),
		"bad addr":        "1\n" + header25 + "\n" + strings.Replace(row, "127.0.0.1", "localhost", 1),
		"bad op state":    "1\n" + header25 + "\n" + strings.Replace(row, " 0 5 ", " 7 5 ", 1),
		"bad name":        "1\n" + header25 + "\n" + strings.Replace(row, "websrv1", "web;srv", 1),
		"help text":       "Unknown command, but maybe one of the following ones is a better match:\n  show env",
		"duplicate col":   "1\n# be_name be_name\n",
		"port over 65535": "1\n" + header25 + "\n" + strings.Replace(row, " - 1 - ", " - 70000 - ", 1),
	}
	for name, body := range cases {
		if _, err := ParseServersState(body); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

func TestParseStatCaptured(t *testing.T) {
	for _, v := range capturedVersions(t) {
		rows, err := ParseStat(capture(t, v, "show-stat-chk.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Server != "c1" || rows[0].Sessions != 0 || rows[0].Proxy != "chk" || rows[0].ProxyID != 77 {
			t.Errorf("%s: %+v", v, rows)
		}
		if rows, err := ParseStat(capture(t, v, "show-stat-unknown-id.txt")); err != nil || len(rows) != 0 {
			t.Errorf("%s: unknown id: %+v, %v", v, rows, err)
		}
		info, err := ParseInfo(capture(t, v, "show-info.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if info["Name"] != "HAProxy" || !strings.HasPrefix(info["Version"], v) {
			t.Errorf("%s: info = %v", v, info)
		}
	}
	if _, err := ParseStat("# pxname,iid,svname\napp,3,w1\n"); err == nil {
		t.Error("missing scur accepted")
	}
}

func TestSplitPromptReply(t *testing.T) {
	// Exact bytes of a 2.6.12 prompt-mode session with a one-LF message.
	reply := "\n> admin\n\n> Empty weight string empty or preceded by garbage\n> No such server.\n\n> "
	got, err := splitPromptReply(reply, 3, workerCLI.mark())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"admin\n", "Empty weight string empty or preceded by garbage", "No such server.\n"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("body %d = %q, want %q", i, got[i], want[i])
		}
	}
	for _, cut := range []string{"", "\n> ", "\n> admin\n\n> ", "\n> admin\n\n> Empty", reply[:len(reply)-1]} {
		if _, err := splitPromptReply(cut, 3, workerCLI.mark()); err == nil {
			t.Errorf("truncated reply %q accepted", cut)
		}
	}
	if _, err := splitPromptReply(reply+"extra", 3, workerCLI.mark()); err == nil {
		t.Error("trailing garbage accepted")
	}
}

func TestChunkLines(t *testing.T) {
	lines := []string{strings.Repeat("a", 10), strings.Repeat("b", 10), strings.Repeat("c", 10)}
	chunks := chunkLines(lines, 23)
	if len(chunks) != 2 || len(chunks[0]) != 2 || len(chunks[1]) != 1 {
		t.Errorf("chunks = %v", chunks)
	}
	if n := len(chunkLines(lines, 1000)); n != 1 {
		t.Errorf("%d chunks for a small batch", n)
	}
}

// BenchmarkParseServersState parses a 500-server reply: an apply confirms
// every resource from replies like this one.
func BenchmarkParseServersState(b *testing.B) {
	var body strings.Builder
	body.WriteString("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n")
	for i := 1; i <= 500; i++ {
		fmt.Fprintf(&body, "3 app %d websrv%d 127.0.0.1 0 5 1 1 %d 1 0 0 14 0 0 0 - 1 - 0 0 - - 0\n", i, i, i)
	}
	for b.Loop() {
		if _, err := ParseServersState(body.String()); err != nil {
			b.Fatal(err)
		}
	}
}
