package provider

import (
	"encoding/json"
	"fmt"
	"maps"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

func TestProcessRecordRoundTrip(t *testing.T) {
	lb1, lb2, gone := "unix:///run/haproxy/lb1.sock", "tcp://127.0.0.1:9999", "unix:///run/old.sock"
	m := map[string]fleet.Process{
		lb1:  {PID: 31840, Started: 1795549763},
		lb2:  {PID: 7, Started: 1795549001},
		gone: {PID: 9, Started: 1},
	}
	raw, err := json.Marshal(encodeProcesses(recordOf(m)))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(encodeProcesses(recordOf(maps.Clone(m))))
	if string(raw) != string(again) {
		t.Fatalf("the same record encodes differently: %s / %s", raw, again)
	}
	// A socket no longer configured is dropped; the others come back, and
	// say which process they ran.
	got := decodeProcesses(raw, []string{lb1, lb2, "unix:///run/new.sock"})
	if len(got) != 2 || !got.runs(lb1, m[lb1]) || !got.runs(lb2, m[lb2]) {
		t.Fatalf("decoded %+v from %s", got, raw)
	}
	if got.runs(lb1, fleet.Process{PID: 31841, Started: 1795549763}) || got.runs(lb1, fleet.Process{PID: 31840, Started: 1795549764}) {
		t.Fatal("another pid or start time reads as the recorded process")
	}
	if got.runs("unix:///run/new.sock", m[lb1]) {
		t.Fatal("a socket without an entry reads as running a process")
	}
}

// The point of the form: on 20 instances the record stays under 16
// characters per socket (the "<key>.<pid>.<started>" form took 27, and the
// JSON object keyed by socket about 60).
func TestProcessRecordIsCompact(t *testing.T) {
	m := map[string]fleet.Process{}
	for i := range 20 {
		m[fmt.Sprintf("unix:///run/haproxy/lb%d.sock", i)] = fleet.Process{PID: 4000000 + i, Started: 1795549763}
	}
	raw, _ := json.Marshal(encodeProcesses(recordOf(m)))
	if len(raw) > 20*16 {
		t.Fatalf("record of 20 sockets is %d bytes: %s", len(raw), raw)
	}
}

func TestProcessRecordReadsTheEarlierForms(t *testing.T) {
	lb1, lb2 := "unix:///run/haproxy/lb1.sock", "tcp://127.0.0.1:9999"
	p1, p2 := fleet.Process{PID: 12, Started: 34}, fleet.Process{PID: 31840, Started: 1795549763}
	object, _ := json.Marshal(map[string]fleet.Process{lb1: p1, "tcp://gone:1": {PID: 1, Started: 2}})
	if got := decodeProcesses(object, []string{lb1}); len(got) != 1 || !got.runs(lb1, p1) {
		t.Fatalf("the JSON object form read as %+v", got)
	}
	dotted, _ := json.Marshal(fmt.Sprintf("%s.%d.%d %s.%d.%d", processKey(lb1), p1.PID, p1.Started, processKey(lb2), p2.PID, p2.Started))
	if got := decodeProcesses(dotted, []string{lb1, lb2}); len(got) != 2 || !got.runs(lb1, p1) || !got.runs(lb2, p2) {
		t.Fatalf("the dotted form read as %+v", got)
	}
}

func TestProcessRecordUnreadableIsNoRecord(t *testing.T) {
	for _, raw := range []string{``, `"x"`, `"abc.1"`, `"abc.x.y"`, `42`, `{"a":`, `"0123456789abcdef"`} {
		if got := decodeProcesses([]byte(raw), []string{"unix:///a.sock"}); len(got) != 0 {
			t.Errorf("%q read as %+v, want no record", raw, got)
		}
	}
}
