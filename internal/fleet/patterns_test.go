package fleet_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// mapAnswering is a frontend that answers every request with the value the
// map holds for its Host header, and 404 when the map lacks the key: a
// request that ever saw a half-written map shows as a 404.
func mapAnswering(file string) haproxytest.Options {
	return haproxytest.Options{NoHealthChecks: true, FrontendRules: fmt.Sprintf(
		`http-request return status 200 content-type text/plain lf-string "%%[req.hdr(host),map(%s)]" if { req.hdr(host),map(%s) -m found }
    http-request return status 404`, file, file)}
}

func numberedEntries(n int, value string) []haproxy.Entry {
	out := make([]haproxy.Entry, n)
	for i := range out {
		out[i] = haproxy.Entry{Key: fmt.Sprintf("k%d.example", i), Value: value}
	}
	return out
}

func mapFileOf(entries []haproxy.Entry) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Key + " " + e.Value + "\n")
	}
	return b.String()
}

// Replacing 10 000 entries on three instances while requests flow: every
// request is answered from the old or the new content, never from a map
// missing the key, and afterwards every instance holds exactly the new one.
func TestReplacePatternsIsAtomicUnderLoad(t *testing.T) {
	const n = 10000
	old := numberedEntries(n, "old")
	file := haproxytest.PatternFile(t, "hosts.map", mapFileOf(old))
	insts := []*haproxytest.Instance{haproxytest.Start(t, mapAnswering(file)), haproxytest.Start(t, mapAnswering(file)), haproxytest.Start(t, mapAnswering(file))}
	f := fleettest.New(t, insts[0].UnixTarget(), insts[1].UnixTarget(), insts[2].TCPTarget())
	p := haproxy.PatternRef{Kind: haproxy.KindMap, Ref: file}

	var served, bad atomic.Int64
	var badMu sync.Mutex
	var badSample []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 2 * time.Second}
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20000; i++ { // bounded; stop ends it sooner
				select {
				case <-stop:
					return
				default:
				}
				inst := insts[(w+i)%len(insts)]
				req, _ := http.NewRequest("GET", inst.FrontendURL()+"/", nil)
				req.Host = fmt.Sprintf("k%d.example", (i*7919+w)%n)
				resp, err := client.Do(req)
				if err != nil {
					bad.Add(1)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				served.Add(1)
				if resp.StatusCode != 200 || string(body) != "old" && string(body) != "new" {
					bad.Add(1)
					badMu.Lock()
					badSample = append(badSample, fmt.Sprintf("%s: %d %q", req.Host, resp.StatusCode, body))
					badMu.Unlock()
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	before := served.Load()
	start := time.Now()
	res, err := f.ReplacePatterns(context.Background(), p, numberedEntries(n, "new"))
	took := time.Since(start)
	during := served.Load() - before
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("replaced %d entries on 3 instances in %v (%d commands, %d bytes per instance); %d requests answered during it, %d in all",
		n, took, res.Commands, res.Bytes, during, served.Load())
	if bad.Load() > 0 {
		t.Fatalf("%d requests saw neither the old nor the new content, e.g. %q", bad.Load(), badSample[:min(5, len(badSample))])
	}
	if during == 0 {
		t.Fatal("no request was answered during the replacement: the test proved nothing")
	}
	r, err := f.ReadPatterns(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.PerSocket {
		if len(s.Entries) != n || s.Entries[0].Value != "new" || s.Entries[n-1].Value != "new" {
			t.Fatalf("%s holds %d entries after the replacement (first %q)", s.Name, len(s.Entries), s.Entries[:1])
		}
	}
}

// Pre-flight refuses before any write: an instance that does not load the
// map, and a socket below level admin, each named; the others keep their
// content.
func TestReplacePatternsPreflightWritesNothing(t *testing.T) {
	file := haproxytest.PatternFile(t, "hosts.map", "a.example old\n")
	a := haproxytest.Start(t, mapAnswering(file))
	b := haproxytest.Start(t) // loads no map
	p := haproxy.PatternRef{Kind: haproxy.KindMap, Ref: file}
	for name, f := range map[string]*fleet.Fleet{
		"no map":     fleettest.New(t, a.UnixTarget(), b.UnixTarget()),
		"level user": fleettest.New(t, a.UnixTarget(), "unix://"+a.UserSock),
	} {
		_, err := f.ReplacePatterns(context.Background(), p, []haproxy.Entry{{Key: "a.example", Value: "new"}})
		want := map[string]string{"no map": "HAProxy has no map " + file, "level user": "level is user"}[name]
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, want)
		}
		if out := a.Admin(t, "show map "+file); !strings.Contains(out, " a.example old") {
			t.Fatalf("%s: the healthy instance was written:\n%s", name, out)
		}
		if out := a.Admin(t, "show map"); !strings.Contains(out, "next_ver=0") {
			t.Fatalf("%s: a version was prepared on the healthy instance:\n%s", name, out)
		}
	}
	if _, err := fleettest.New(t, a.UnixTarget()).ReplacePatterns(context.Background(), p, []haproxy.Entry{{Key: "x;show info", Value: "v"}}); err == nil {
		t.Fatal("an entry with ; was accepted")
	}
}

// A key someone else wrote is refused on every instance before any write;
// the caller's own recorded value is overwritten; delete leaves a value it
// did not write.
func TestEntryOwnership(t *testing.T) {
	file := haproxytest.PatternFile(t, "hosts.map", "theirs.example other\n")
	a, b := haproxytest.Start(t, mapAnswering(file)), haproxytest.Start(t, mapAnswering(file))
	f := fleettest.New(t, a.UnixTarget(), b.UnixTarget())
	p := haproxy.PatternRef{Kind: haproxy.KindMap, Ref: file}
	ctx := context.Background()
	show := func(inst *haproxytest.Instance) string { return inst.Admin(t, "show map "+file) }

	if _, err := f.PutEntry(ctx, p, "theirs.example", "mine", nil); err == nil || !strings.Contains(err.Error(), `holds "other"`) {
		t.Fatalf("overwrote someone else's key: %v", err)
	}
	if _, err := f.PutEntry(ctx, p, "mine.example", "v1", nil); err != nil {
		t.Fatal(err)
	}
	b.Admin(t, "set map "+file+" mine.example hand")
	if _, err := f.PutEntry(ctx, p, "mine.example", "v2", []string{"v1"}); err == nil || !strings.Contains(err.Error(), `holds "hand"`) {
		t.Fatalf("a hand edit on one instance was overwritten: %v", err)
	}
	if !strings.Contains(show(a), " mine.example v1\n") {
		t.Fatalf("the refused write reached the other instance:\n%s", show(a))
	}
	b.Admin(t, "set map "+file+" mine.example v1")
	if _, err := f.PutEntry(ctx, p, "mine.example", "v2", []string{"v1"}); err != nil {
		t.Fatal(err)
	}
	a.Admin(t, "del map "+file+" mine.example") // as after a reload: absent is restored
	if _, err := f.PutEntry(ctx, p, "mine.example", "v2", []string{"v2"}); err != nil {
		t.Fatal(err)
	}
	for _, inst := range []*haproxytest.Instance{a, b} {
		if out := show(inst); strings.Count(out, "mine.example") != 1 || !strings.Contains(out, " mine.example v2\n") {
			t.Fatalf("after the writes:\n%s", out)
		}
	}
	b.Admin(t, "set map "+file+" mine.example hand")
	warnings, err := f.DeleteEntry(ctx, p, "mine.example", []string{"v2"})
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "hand") {
		t.Fatalf("DeleteEntry = %q, %v", warnings, err)
	}
	if strings.Contains(show(a), "mine.example") || !strings.Contains(show(b), " mine.example hand") {
		t.Fatalf("after delete:\n%s\n%s", show(a), show(b))
	}
	if !strings.Contains(show(a), "theirs.example other") {
		t.Fatal("someone else's key was touched")
	}
}

// A run killed between prepare and commit leaves a version traffic never
// sees; the next replacement's commit purges it (HAProxy drops every older
// version), so nothing of the killed run is left.
func TestReplacePatternsPurgesAKilledRunsVersion(t *testing.T) {
	file := haproxytest.PatternFile(t, "hosts.map", "a.example old\n")
	inst := haproxytest.Start(t, mapAnswering(file))
	if out := inst.Admin(t, "prepare map "+file); !strings.HasPrefix(out, "New version created: 1") {
		t.Fatalf("prepare: %q", out)
	}
	inst.Admin(t, "add map @1 "+file+" killed.example half")
	if status, _, _ := inst.Get("killed.example", "/"); status != 404 {
		t.Fatalf("an uncommitted entry answered: %d", status)
	}
	f := fleettest.New(t, inst.UnixTarget())
	p := haproxy.PatternRef{Kind: haproxy.KindMap, Ref: file}
	if _, err := f.ReplacePatterns(context.Background(), p, []haproxy.Entry{{Key: "a.example", Value: "new"}}); err != nil {
		t.Fatal(err)
	}
	if out := inst.Admin(t, "show map"); !strings.Contains(out, "entry_cnt=1") {
		t.Fatalf("the killed run's version was not purged:\n%s", out)
	}
	if status, body, _ := inst.Get("a.example", "/"); status != 200 || body != "new" {
		t.Fatalf("a.example: %d %q", status, body)
	}
}

// hangsAfter passes its first n connections through, then hangs every
// later one: an instance that stops answering in the middle of a change.
type hangsAfter struct {
	haproxy.Transport
	n     int32
	dials atomic.Int32
}

func (h *hangsAfter) Dial(ctx context.Context) (net.Conn, error) {
	if h.dials.Add(1) > h.n {
		c, _ := net.Pipe() // the other end never answers
		return c, nil
	}
	return h.Transport.Dial(ctx)
}

// An instance that hangs after its version was prepared: nothing is
// committed anywhere, the healthy instance's prepared version is cleared,
// and the error names the hung instance and the command it hung on.
func TestReplacePatternsCommitsNowhereWhenOneInstanceHangs(t *testing.T) {
	file := haproxytest.PatternFile(t, "hosts.map", "a.example old\n")
	a, b := haproxytest.Start(t, mapAnswering(file)), haproxytest.Start(t, mapAnswering(file))
	// b answers the pre-flight (level, then `show map`) and the prepare.
	hung := &hangsAfter{Transport: fleettest.UnixTransport(t, b), n: 3}
	f, err := fleet.FromTransports([]haproxy.Transport{fleettest.UnixTransport(t, a), hung}, 300*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := haproxy.PatternRef{Kind: haproxy.KindMap, Ref: file}
	_, err = f.ReplacePatterns(context.Background(), p, numberedEntries(50, "new"))
	if err == nil || !strings.Contains(err.Error(), filepath.Base(b.Dir)+"/a.sock") || strings.Contains(err.Error(), filepath.Base(a.Dir)) || !strings.Contains(err.Error(), "add map @") {
		t.Fatalf("error %v, want one naming the hung instance and its add", err)
	}
	t.Logf("the error reads:\n%v", err)
	for _, inst := range []*haproxytest.Instance{a, b} {
		if status, body, _ := inst.Get("a.example", "/"); status != 200 || body != "old" {
			t.Fatalf("%s serves %d %q after a replacement that failed elsewhere", inst.AdminSock, status, body)
		}
	}
	out := a.Admin(t, "show map")
	if !strings.Contains(out, "curr_ver=0") {
		t.Fatalf("the healthy instance committed:\n%s", out)
	}
	// HAProxy up to 3.2 empties the abandoned version at once; 3.4.7 answers
	// `clear map @1` with success and keeps it (invisible to traffic).
	if !haproxytest.Version(t).AtLeast(3, 4) && !strings.Contains(out, "entry_cnt=1") {
		t.Fatalf("the healthy instance kept its prepared version:\n%s", out)
	}
	// Either way the next replacement's commit purges it.
	f2 := fleettest.New(t, a.UnixTarget(), b.UnixTarget())
	if _, err := f2.ReplacePatterns(context.Background(), p, numberedEntries(3, "again")); err != nil {
		t.Fatal(err)
	}
	if out := a.Admin(t, "show map"); !strings.Contains(out, "entry_cnt=3") {
		t.Fatalf("the abandoned version outlived the next commit:\n%s", out)
	}
}
