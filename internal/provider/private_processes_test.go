package provider

import (
	"encoding/json"
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
	raw, err := json.Marshal(encodeProcesses(m))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(encodeProcesses(maps.Clone(m)))
	if string(raw) != string(again) {
		t.Fatalf("the same record encodes differently: %s / %s", raw, again)
	}
	// A socket no longer configured is dropped; the others come back.
	got := decodeProcesses(raw, []string{lb1, lb2, "unix:///run/new.sock"})
	want := map[string]fleet.Process{lb1: m[lb1], lb2: m[lb2]}
	if !maps.Equal(got, want) {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
	// The point of the form: far smaller than the JSON object it replaced.
	legacy, _ := json.Marshal(m)
	if len(raw)*2 > len(legacy) {
		t.Fatalf("record is %d bytes, the JSON object %d: not compact", len(raw), len(legacy))
	}
}

func TestProcessRecordReadsTheEarlierForm(t *testing.T) {
	lb1 := "unix:///run/haproxy/lb1.sock"
	legacy, _ := json.Marshal(map[string]fleet.Process{lb1: {PID: 12, Started: 34}, "tcp://gone:1": {PID: 1, Started: 2}})
	got := decodeProcesses(legacy, []string{lb1})
	if len(got) != 1 || got[lb1] != (fleet.Process{PID: 12, Started: 34}) {
		t.Fatalf("earlier form read as %+v", got)
	}
}

func TestProcessRecordUnreadableIsNoRecord(t *testing.T) {
	for _, raw := range []string{``, `"x"`, `"abc.1"`, `"abc.x.y"`, `42`, `{"a":`} {
		if got := decodeProcesses([]byte(raw), []string{"unix:///a.sock"}); len(got) != 0 {
			t.Errorf("%q read as %+v, want no record", raw, got)
		}
	}
}
