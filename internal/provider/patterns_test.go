package provider

import (
	"strings"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// lists is what fleet.ReconcileList makes of the instances' views.
func lists(t *testing.T, prior map[string]string, views ...fleet.SocketPatterns) fleet.ListReading {
	t.Helper()
	l, err := fleet.ReconcileList(fleet.PatternReading{PerSocket: views}, haproxy.PatternRef{Kind: haproxy.KindMap, Ref: "/m"}, prior)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func sockets(name string, kv ...string) fleet.SocketPatterns {
	s := fleet.SocketPatterns{Name: name}
	for i := 0; i+1 < len(kv); i += 2 {
		s.Entries = append(s.Entries, haproxy.Entry{Key: kv[i], Value: kv[i+1]})
	}
	return s
}

// The drift warning: one table with only the keys that differ, the
// recorded value first, and every instance's value or (absent).
func TestPatternDriftShowsOnlyDifferingKeys(t *testing.T) {
	prior := map[string]string{"a": "app", "b": "app", "c": "plain"}
	got := patternDrift(haproxy.KindMap, lists(t, prior,
		sockets("lb1", "a", "app", "b", "app", "c", "plain"),
		sockets("lb2", "a", "app", "b", "plain", "c", "plain", "d", "hand"),
	))
	want := "  key  (recorded)  lb1       lb2\n" +
		"  b    app         app       plain\n" +
		"  d    (absent)    (absent)  hand\n"
	if !strings.HasPrefix(got, want) {
		t.Fatalf("table:\n%s\nwant it to start with:\n%s", got, want)
	}
	if !strings.Contains(got, "Apply replaces the whole content on every instance") {
		t.Fatalf("the warning does not say what apply does:\n%s", got)
	}
	if s := driftSummary(`Map "/m"`, lists(t, prior, sockets("lb1", "a", "app", "b", "app", "c", "plain"), sockets("lb2", "a", "app"))); s != `Map "/m" changed outside Terraform on lb2` {
		t.Fatalf("summary %q", s)
	}
	if got := patternDrift(haproxy.KindMap, lists(t, prior, sockets("lb1", "a", "app", "b", "app", "c", "plain"))); got != "" {
		t.Fatalf("no drift, but:\n%s", got)
	}
}

// A map reset by a reload would list every key: the table stops at
// maxDriftRows and says how many more there are. An ACL shows presence, and
// a key listed twice is named.
func TestPatternDriftIsBoundedAndWordsACLs(t *testing.T) {
	prior := map[string]string{}
	var kv []string
	for i := range 50 {
		k := strings.Repeat("k", i+1)
		prior[k] = ""
		kv = append(kv, k, "")
	}
	got := patternDrift(haproxy.KindACL, lists(t, prior, sockets("lb1"), sockets("lb2", append(kv, "k", "")...)))
	if n := strings.Count(got, "\n  k"); n != maxDriftRows {
		t.Fatalf("%d rows shown, want %d:\n%s", n, maxDriftRows, got)
	}
	if !strings.Contains(got, "… and 30 more keys") || !strings.Contains(got, `lb2 lists "k" 1 more time(s)`) {
		t.Fatalf("missing the count or the duplicate:\n%s", got)
	}
}
