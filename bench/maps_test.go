//go:build bench

package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/localbuild"
)

// TestBenchMaps measures a whole-map replacement of BENCH_MAP entries
// (default 10 000) on BENCH_MAP_K instances (default 3): the socket work
// alone (fleet.ReplacePatterns, median of 3), then end to end through
// terraform against terraform_data holding the same map (one round each:
// create, plan, one changed entry).
func TestBenchMaps(t *testing.T) {
	n := sizes(t, "BENCH_MAP", "10000")[0]
	k := sizes(t, "BENCH_MAP_K", "3")[0]
	entries := func(value string) []haproxy.Entry {
		out := make([]haproxy.Entry, n)
		for i := range out {
			out[i] = haproxy.Entry{Key: fmt.Sprintf("host%05d.example", i), Value: value}
		}
		return out
	}
	var file strings.Builder
	for _, e := range entries("old") {
		file.WriteString(e.Key + " " + e.Value + "\n")
	}
	path := haproxytest.PatternFile(t, "hosts.map", file.String())
	var sockets []string
	var insts []*haproxytest.Instance
	for i := 0; i < k; i++ {
		inst := haproxytest.Start(t, haproxytest.Options{NoHealthChecks: true, FrontendRules: fmt.Sprintf(
			"use_backend %%[req.hdr(host),map(%s)] if { req.hdr(host),map(%s) -m found }", path, path)})
		insts = append(insts, inst)
		sockets = append(sockets, inst.UnixTarget())
	}
	f, err := fleet.New(sockets, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := haproxy.PatternRef{Kind: haproxy.KindMap, Ref: path}
	check := func(value string) {
		r, err := f.ReadPatterns(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range r.PerSocket {
			if len(s.Entries) != n || s.Entries[n-1].Value != value {
				t.Fatalf("%s holds %d entries, want %d of %q", s.Name, len(s.Entries), n, value)
			}
		}
	}
	var socket []time.Duration
	var res fleet.Replaced
	trips := f.RoundTrips()
	for i, v := range []string{"a", "b", "c"} {
		start := time.Now()
		if res, err = f.ReplacePatterns(context.Background(), p, entries(v)); err != nil {
			t.Fatal(err)
		}
		socket = append(socket, time.Since(start))
		if i == 0 {
			trips = f.RoundTrips() - trips
		}
		check(v)
	}

	work := localbuild.Use(t, "..")
	floor, prov := filepath.Join(work, "map-floor"), filepath.Join(work, "map-prov")
	body := func(value, changed string) string {
		var b strings.Builder
		for i, e := range entries(value) {
			v := e.Value
			if i == n/2 {
				v = changed
			}
			fmt.Fprintf(&b, "    %q = %q\n", e.Key, v)
		}
		return b.String()
	}
	floorCfg := func(changed string) string {
		return "resource \"terraform_data\" \"hosts\" {\n  input = {\n" + body("web", changed) + "  }\n}\n"
	}
	provCfg := func(changed string) string {
		return "terraform {\n  required_providers {\n    haproxy = { source = \"haproxy-runtime/haproxy\" }\n  }\n}\n" +
			fmt.Sprintf("provider \"haproxy\" {\n  sockets = [%s]\n}\n", quote(sockets)) +
			fmt.Sprintf("resource \"haproxy_map\" \"hosts\" {\n  map = %q\n  entries = {\n%s  }\n}\n", path, body("web", changed))
	}
	type e2e struct{ apply, plan, change time.Duration }
	run := func(dir string, cfg func(string) string) e2e {
		var r e2e
		writeFile(t, filepath.Join(dir, "main.tf"), cfg("web"))
		r.apply = tf(t, dir, nil, "apply", "-auto-approve", "-input=false")
		r.plan = tf(t, dir, nil, "plan", "-input=false", "-detailed-exitcode")
		writeFile(t, filepath.Join(dir, "main.tf"), cfg("api"))
		r.change = tf(t, dir, nil, "apply", "-auto-approve", "-input=false")
		return r
	}
	fl, pr := run(floor, floorCfg), run(prov, provCfg)
	r, err := f.ReadPatterns(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.PerSocket {
		if len(s.Entries) != n || s.Entries[n/2].Value != "api" || s.Entries[0].Value != "web" {
			t.Fatalf("after terraform: %s holds %d entries", s.Name, len(s.Entries))
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n## Maps: %d entries on %d instances (HAProxy %s, measured %s)\n\n", n, k, haproxytest.Version(t), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Whole replacement, socket work only (`fleet.ReplacePatterns`: pre-flight, prepare, add, commit on every instance): "+
		"median %s of %s, %s, %s; %d connections in all, %d commands and %d bytes sent per instance.\n\n",
		secs(median(socket)), secs(socket[0]), secs(socket[1]), secs(socket[2]), trips, res.Commands, res.Bytes)
	writeFloorTable(&b, "haproxy_map", []floorRow{{"apply (create)", fl.apply, pr.apply}, {"plan (nothing changed)", fl.plan, pr.plan}, {"apply, one entry changed", fl.change, pr.change}})
	saveSection(t, b.String())
}
