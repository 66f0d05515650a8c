package haproxy_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

func TestPatternValidationRefusesWhatTheCLIWouldSplit(t *testing.T) {
	m := haproxy.PatternRef{Kind: haproxy.KindMap, Ref: "/etc/haproxy/hosts.map"}
	for _, e := range []haproxy.Entry{
		{Key: "a;show info", Value: "x"}, {Key: "a", Value: "x;del map /m k"},
		{Key: "a b", Value: "x"}, {Key: "a", Value: "x y"}, {Key: "a\nb", Value: "x"},
		{Key: "a", Value: "x\\y"}, {Key: "", Value: "x"}, {Key: "a", Value: ""},
		{Key: "é", Value: "x"}, {Key: "a", Value: "\t"}, {Key: strings.Repeat("k", 1025), Value: "x"},
	} {
		if _, err := haproxy.AddEntry(m, e); !errors.Is(err, haproxy.ErrInvalidArgument) {
			t.Errorf("AddEntry(%q) = %v, want invalid argument", e, err)
		}
		if _, err := haproxy.AddToVersion(m, 1, e); !errors.Is(err, haproxy.ErrInvalidArgument) {
			t.Errorf("AddToVersion(%q) = %v, want invalid argument", e, err)
		}
	}
	for _, ref := range []string{"", "#", "#x", "/a b.map", "/a;b", "/a\\b"} {
		if _, err := haproxy.ShowPatterns(haproxy.PatternRef{Kind: haproxy.KindMap, Ref: ref}); !errors.Is(err, haproxy.ErrInvalidArgument) {
			t.Errorf("ShowPatterns(%q) = %v, want invalid argument", ref, err)
		}
	}
	if _, err := haproxy.AddEntry(haproxy.PatternRef{Kind: haproxy.KindACL, Ref: "#1"}, haproxy.Entry{Key: "/x", Value: "v"}); err == nil {
		t.Error("an ACL pattern with a value was accepted")
	}
	cmd, err := haproxy.AddToVersion(m, 7, haproxy.Entry{Key: "#a.example", Value: `v"q'`})
	if err != nil || cmd.String() != `add map @7 /etc/haproxy/hosts.map #a.example v"q'` {
		t.Fatalf("AddToVersion = %q, %v", cmd, err)
	}
}

func TestParsePatternReplies(t *testing.T) {
	refs, err := haproxy.ParsePatternRefs("# id (file) description\n" +
		"2 (/tmp/mt/hosts.map) pattern loaded from file '/tmp/mt/hosts.map' used by map at file 'cfg' line 13. curr_ver=3 next_ver=4 entry_cnt=7\n" +
		"1 () acl 'path_beg' file 'cfg' line 12. curr_ver=0 next_ver=0 entry_cnt=0\n\n")
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := haproxy.FindPatternRef(refs, "/tmp/mt/hosts.map"); !ok || r != (haproxy.PatternRefInfo{ID: 2, File: "/tmp/mt/hosts.map", CurrVer: 3, NextVer: 4, Entries: 7}) {
		t.Fatalf("by file: %+v %v", r, ok)
	}
	if r, ok := haproxy.FindPatternRef(refs, "#1"); !ok || r.File != "" {
		t.Fatalf("by id: %+v %v", r, ok)
	}
	if _, ok := haproxy.FindPatternRef(refs, ""); ok {
		t.Fatal("an empty file name matched an inline list")
	}
	got, err := haproxy.ParseEntries(haproxy.KindMap, "0x55e20a657b50 a.example app\n0x55e20a657ba0 b plain x\n\n")
	if err != nil || !slices.Equal(got, []haproxy.Entry{{Key: "a.example", Value: "app"}, {Key: "b", Value: "plain x"}}) {
		t.Fatalf("ParseEntries = %q, %v", got, err)
	}
	if _, err := haproxy.ParseEntries(haproxy.KindMap, "garbage\n"); err == nil {
		t.Fatal("garbage parsed")
	}
	if v, err := haproxy.ParseVersion("New version created: 12\n"); err != nil || v != 12 {
		t.Fatalf("ParseVersion = %d, %v", v, err)
	}
}

// TestIntegrationPatternCommands runs every pattern command against a real
// HAProxy and reads the result back through the fixture's own socket reader.
func TestIntegrationPatternCommands(t *testing.T) {
	hosts := haproxytest.PatternFile(t, "hosts.map", "a.example app\nb.example plain\n")
	block := haproxytest.PatternFile(t, "block.acl", "/blocked\n")
	inst := haproxytest.Start(t, haproxytest.Options{FrontendRules: fmt.Sprintf(
		"http-request deny if { path_beg -f %s }\n    use_backend %%[req.hdr(host),lower,map(%s)] if { req.hdr(host),lower,map(%s) -m found }", block, hosts, hosts)})
	c := clients(t, inst)["unix"]
	m := haproxy.PatternRef{Kind: haproxy.KindMap, Ref: hosts}
	a := haproxy.PatternRef{Kind: haproxy.KindACL, Ref: block}
	run := func(build func() (haproxy.Command, error)) error {
		t.Helper()
		cmd, err := build()
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Run(ctx(t), cmd)
		return err
	}

	refs, err := c.PatternRefs(ctx(t), haproxy.KindMap)
	if err != nil {
		t.Fatal(err)
	}
	info, ok := haproxy.FindPatternRef(refs, hosts)
	if !ok || info.Entries != 2 {
		t.Fatalf("show map: %+v %v", refs, ok)
	}
	byID := haproxy.PatternRef{Kind: haproxy.KindMap, Ref: fmt.Sprintf("#%d", info.ID)}
	if got, err := c.Patterns(ctx(t), byID); err != nil || len(got) != 2 || got[0] != (haproxy.Entry{Key: "a.example", Value: "app"}) {
		t.Fatalf("show map #id = %q, %v", got, err)
	}

	if err := run(func() (haproxy.Command, error) {
		return haproxy.SetEntry(m, haproxy.Entry{Key: "a.example", Value: "plain"})
	}); err != nil {
		t.Fatal(err)
	}
	if err := run(func() (haproxy.Command, error) {
		return haproxy.AddEntry(m, haproxy.Entry{Key: "c.example", Value: "app"})
	}); err != nil {
		t.Fatal(err)
	}
	if err := run(func() (haproxy.Command, error) { return haproxy.DelEntry(m, "b.example") }); err != nil {
		t.Fatal(err)
	}
	if out := inst.Admin(t, "show map "+hosts); !strings.Contains(out, " a.example plain\n") || !strings.Contains(out, " c.example app\n") || strings.Contains(out, "b.example") {
		t.Fatalf("after set/add/del:\n%s", out)
	}
	for name, build := range map[string]func() (haproxy.Command, error){
		"set of a missing key": func() (haproxy.Command, error) { return haproxy.SetEntry(m, haproxy.Entry{Key: "nope", Value: "x"}) },
		"del of a missing key": func() (haproxy.Command, error) { return haproxy.DelEntry(m, "nope") },
	} {
		if err := run(build); !errors.Is(err, haproxy.ErrNoSuchEntry) {
			t.Errorf("%s: %v, want no such entry", name, err)
		}
	}
	gone := haproxy.PatternRef{Kind: haproxy.KindMap, Ref: "/nonexistent.map"}
	if _, err := c.Patterns(ctx(t), gone); !errors.Is(err, haproxy.ErrNoSuchMap) || !strings.Contains(err.Error(), "Unknown map identifier") {
		t.Errorf("show of an unknown map: %v", err)
	}
	if _, err := c.Patterns(ctx(t), haproxy.PatternRef{Kind: haproxy.KindACL, Ref: "/nonexistent.acl"}); !errors.Is(err, haproxy.ErrNoSuchMap) {
		t.Errorf("show of an unknown ACL: %v", err)
	}

	// A whole replacement: nothing of the new version shows before commit.
	for _, p := range []haproxy.PatternRef{m, a} {
		cmd, _ := haproxy.PreparePatterns(p)
		bodies, err := c.Run(ctx(t), cmd)
		if err != nil {
			t.Fatal(err)
		}
		v, err := haproxy.ParseVersion(bodies[0])
		if err != nil {
			t.Fatal(err)
		}
		e := haproxy.Entry{Key: "/new"}
		if p.Kind == haproxy.KindMap {
			e = haproxy.Entry{Key: "new.example", Value: "app"}
		}
		if err := run(func() (haproxy.Command, error) { return haproxy.AddToVersion(p, v, e) }); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.Patterns(ctx(t), p); slices.Contains(got, e) {
			t.Fatalf("%s: the prepared entry shows before commit: %q", p, got)
		}
		if err := run(func() (haproxy.Command, error) { return haproxy.CommitVersion(p, v) }); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Patterns(ctx(t), p); err != nil || !slices.Equal(got, []haproxy.Entry{e}) {
			t.Fatalf("%s after commit: %q, %v", p, got, err)
		}
		if err := run(func() (haproxy.Command, error) { return haproxy.CommitVersion(p, v+5) }); !errors.Is(err, haproxy.ErrNoSuchVersion) {
			t.Fatalf("%s: commit of a version never prepared: %v", p, err)
		}
		if err := run(func() (haproxy.Command, error) { return haproxy.ClearVersion(p, v) }); err != nil {
			t.Fatalf("%s: clear: %v", p, err)
		}
	}
}
