package fleet

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

var hostsRef = haproxy.PatternRef{Kind: haproxy.KindMap, Ref: "/etc/haproxy/hosts.map"}

func held(name string, kv ...string) SocketPatterns {
	s := SocketPatterns{Name: name}
	for i := 0; i+1 < len(kv); i += 2 {
		s.Entries = append(s.Entries, haproxy.Entry{Key: kv[i], Value: kv[i+1]})
	}
	return s
}

func TestReconcileListTakesTheFirstInstanceThatDiffers(t *testing.T) {
	prior := map[string]string{"a": "app"}
	for _, tc := range []struct {
		name  string
		prior map[string]string
		views []SocketPatterns
		want  map[string]string
	}{
		{"none differs: the record stays", prior, []SocketPatterns{held("lb1", "a", "app"), held("lb2", "a", "app")}, prior},
		{"the first that differs", prior, []SocketPatterns{held("lb1", "a", "app"), held("lb2", "a", "hand"), held("lb3", "b", "x")}, map[string]string{"a": "hand"}},
		{"nothing recorded (import): the first instance", nil, []SocketPatterns{held("lb1", "a", "one"), held("lb2", "a", "two")}, map[string]string{"a": "one"}},
		{"a key listed twice counts once, first value", prior, []SocketPatterns{held("lb1", "a", "app", "a", "late")}, prior},
	} {
		l, err := ReconcileList(PatternReading{PerSocket: tc.views}, hostsRef, tc.prior)
		if err != nil || !maps.Equal(l.Entries, tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.name, l.Entries, err, tc.want)
		}
	}
	l, _ := ReconcileList(PatternReading{PerSocket: []SocketPatterns{held("lb1", "a", "app"), held("lb2", "a", "hand", "c", "new")}}, hostsRef, prior)
	if got := l.Changed(); !slices.Equal(got, []string{"lb2"}) {
		t.Errorf("changed on %v, want lb2", got)
	}
	if got := l.DifferingKeys(); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("differing keys %v, want a and c", got)
	}
}

func TestReconcileListGoneOrNotLoaded(t *testing.T) {
	missing := func(name string) SocketPatterns { return SocketPatterns{Name: name, Missing: true} }
	l, err := ReconcileList(PatternReading{PerSocket: []SocketPatterns{missing("lb1"), missing("lb2")}}, hostsRef, nil)
	if err != nil || !l.Gone {
		t.Fatalf("no instance loads it: gone, got %+v %v", l, err)
	}
	var nl *NotLoadedError
	_, err = ReconcileList(PatternReading{PerSocket: []SocketPatterns{held("lb1"), missing("lb2")}}, hostsRef, nil)
	if !errors.As(err, &nl) || !slices.Equal(nl.Missing, []string{"lb2"}) {
		t.Fatalf("loaded on lb1 only: want NotLoadedError naming lb2, got %v", err)
	}
	// Every instance that answered lacks it, one did not answer: not gone
	// (that one may still load and use it).
	_, err = ReconcileList(PatternReading{PerSocket: []SocketPatterns{missing("lb1")}, Skipped: Errors{SocketError{"lb2", errors.New("timeout")}}}, hostsRef, nil)
	if !errors.As(err, &nl) {
		t.Fatalf("with a skipped instance, missing everywhere else is not gone: %v", err)
	}
	// The entry reading follows the same rule.
	if _, err := ReconcileEntry(PatternReading{PerSocket: []SocketPatterns{held("lb1", "k", "v"), missing("lb2")}}, hostsRef, "k", "v"); !errors.As(err, &nl) {
		t.Fatalf("entry: want NotLoadedError, got %v", err)
	}
}

func TestReconcileEntry(t *testing.T) {
	e, err := ReconcileEntry(PatternReading{PerSocket: []SocketPatterns{held("lb1", "k", "v"), held("lb2"), held("lb3", "k", "hand")}}, hostsRef, "k", "v")
	if err != nil || e.Value != "" || !e.Differs || e.Gone {
		t.Fatalf("absent on lb2 is the first difference (\"\"): %+v %v", e, err)
	}
	if !slices.Equal(e.Found, []string{"v", "hand"}) || !e.HoldsOtherThan([]string{"v"}) || e.HoldsOtherThan([]string{"v", "hand"}) {
		t.Fatalf("found %v", e.Found)
	}
	e, _ = ReconcileEntry(PatternReading{PerSocket: []SocketPatterns{held("lb1", "k", "v"), held("lb2", "k", "v")}}, hostsRef, "k", "v")
	if e.Value != "v" || e.Differs || e.Gone {
		t.Fatalf("agreed: %+v", e)
	}
	e, _ = ReconcileEntry(PatternReading{PerSocket: []SocketPatterns{held("lb1"), held("lb2", "other", "x")}}, hostsRef, "k", "v")
	if !e.Gone {
		t.Fatalf("no instance has the key: gone, got %+v", e)
	}
	e, _ = ReconcileEntry(PatternReading{PerSocket: []SocketPatterns{held("lb1")}, Skipped: Errors{SocketError{"lb2", errors.New("timeout")}}}, hostsRef, "k", "v")
	if e.Gone {
		t.Fatal("absent where answered, unknown where skipped: not gone")
	}
}
