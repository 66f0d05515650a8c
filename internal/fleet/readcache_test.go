package fleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
)

// countingFetch returns a fetch that blocks until released and counts calls.
func countingFetch(calls *atomic.Int32, release <-chan struct{}) fetchFunc {
	return func(context.Context) (snapshot, error) {
		n := calls.Add(1)
		<-release
		return snapshot{level: fmt.Sprint(n)}, nil
	}
}

func TestReadCacheQueuesFreshReadersBehindOneFetch(t *testing.T) {
	clk := poll.NewManual(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	rc := newReadCache(clk)
	key := readKey{"unix:///a", "app"}
	var calls atomic.Int32
	release := make(chan struct{})
	fetch := countingFetch(&calls, release)

	// First caller starts fetch 1.
	var wg sync.WaitGroup
	first := make(chan snapshot, 1)
	wg.Add(1)
	go func() { defer wg.Done(); s, _ := rc.get(context.Background(), key, nil, clk.Now(), fetch); first <- s }()
	waitFor(t, func() bool { return calls.Load() == 1 })
	clk.Advance(time.Millisecond) // the callers below ask after fetch 1 started

	// Ten callers that need a fetch started after they asked: they must not
	// join fetch 1, and must all share fetch 2.
	results := make(chan snapshot, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _ := rc.get(context.Background(), key, nil, clk.Now(), fetch)
			results <- s
		}()
	}
	waitFor(t, func() bool { // every caller is queued behind fetch 1
		rc.mu.Lock()
		defer rc.mu.Unlock()
		next := rc.backend(key).next
		return next != nil && next.callers == 10
	})
	close(release)
	wg.Wait()
	close(results)
	if s := <-first; s.level != "1" {
		t.Fatalf("first caller got fetch %q", s.level)
	}
	for s := range results {
		if s.level != "2" {
			t.Fatalf("a fresh reader got fetch %q, want the queued fetch 2", s.level)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}

	// Within the freshness window a tolerant reader reuses fetch 2 ...
	if s, _ := rc.get(context.Background(), key, nil, clk.Now().Add(-freshness), fetch); s.level != "2" || calls.Load() != 2 {
		t.Fatalf("tolerant reader got %q after %d fetches", s.level, calls.Load())
	}
	// ... and a read of one server reuses it after a write to another ...
	clk.Advance(time.Millisecond) // a write completes after fetch 2 started
	rc.wrote(key, []string{"w2"})
	if s, _ := rc.get(context.Background(), key, []string{"w1"}, clk.Now().Add(-freshness), fetch); s.level != "2" {
		t.Fatalf("a write to w2 made a read of w1 fetch again (%q)", s.level)
	}
	// ... but not a read of the server written, nor of every server.
	if s, _ := rc.get(context.Background(), key, []string{"w2"}, clk.Now().Add(-freshness), fetch); s.level != "3" {
		t.Fatalf("read of w2 after a write to it got stale fetch %q", s.level)
	}
	clk.Advance(time.Millisecond)
	rc.wrote(key, nil)
	if s, _ := rc.get(context.Background(), key, []string{"w1"}, clk.Now().Add(-freshness), fetch); s.level != "4" {
		t.Fatalf("read of w1 after a write to the whole backend got stale fetch %q", s.level)
	}
	clk.Advance(time.Millisecond)
	rc.wrote(key, []string{"w1"})
	if s, _ := rc.get(context.Background(), key, nil, clk.Now().Add(-freshness), fetch); s.level != "5" {
		t.Fatalf("read of every server after a write to one got stale fetch %q", s.level)
	}
}

func TestReadCacheDoesNotKeepErrors(t *testing.T) {
	rc := newReadCache(poll.Wall())
	key := readKey{"unix:///a", "app"}
	fail := true
	fetch := func(context.Context) (snapshot, error) {
		if fail {
			return snapshot{}, errors.New("boom")
		}
		return snapshot{level: "admin"}, nil
	}
	if _, err := rc.get(context.Background(), key, nil, time.Now().Add(-freshness), fetch); err == nil {
		t.Fatal("error lost")
	}
	fail = false
	if s, err := rc.get(context.Background(), key, nil, time.Now().Add(-freshness), fetch); err != nil || s.level != "admin" {
		t.Fatalf("cached error served again: %v", err)
	}
}

func TestReadCacheWaitHonoursContext(t *testing.T) {
	rc := newReadCache(poll.Wall())
	release := make(chan struct{})
	defer close(release)
	var calls atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := rc.get(ctx, readKey{"unix:///a", "app"}, nil, time.Now(), countingFetch(&calls, release))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a stuck shared read ended with %v, want the context's deadline", err)
	}
}

// waitFor waits for other goroutines to reach a point, failing t if they
// do not within 2 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	if !poll.For(2*time.Second, time.Millisecond, cond) {
		t.Fatal("condition not reached")
	}
}

// slowTransport delays the first bytes of every reply: a socket that is
// healthy but slow (a loaded HAProxy, a long link).
type slowTransport struct {
	haproxy.Transport
	delay time.Duration
}

func (s slowTransport) Dial(ctx context.Context) (net.Conn, error) {
	c, err := s.Transport.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return &slowConn{Conn: c, delay: s.delay}, nil
}

type slowConn struct {
	net.Conn
	delay time.Duration
	once  sync.Once
}

func (c *slowConn) Read(p []byte) (int, error) {
	c.once.Do(func() { time.Sleep(c.delay) })
	return c.Conn.Read(p)
}

// A read that needs a fetch started after it asked queues behind the fetch
// in flight and waits for the one that serves it, however long that takes in
// all, not for one timeout: a slow but healthy socket is never taken for
// unreachable (and skipped, in warn mode). Each fetch here takes 1.5 s of a
// 2 s timeout (room for a loaded machine); the queued read waits for the
// rest of the first and all of the second.
func TestQueuedReadOutlastsOneTimeout(t *testing.T) {
	a := haproxytest.Start(t)
	tr, err := haproxy.ParseTarget(a.UnixTarget())
	if err != nil {
		t.Fatal(err)
	}
	f, err := FromTransports([]haproxy.Transport{slowTransport{Transport: tr, delay: 1500 * time.Millisecond}}, 2*time.Second, nil, SkipUnreachable())
	if err != nil {
		t.Fatal(err)
	}
	c, key := f.clients[0], readKey{f.clients[0].Target(), "app"}
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { _, err := f.read(ctx, c, "app", nil, time.Now()); first <- err }()
	var inFlight *readEntry
	waitFor(t, func() bool {
		f.reads.mu.Lock()
		defer f.reads.mu.Unlock()
		inFlight = f.reads.backend(key).current
		return inFlight != nil
	})

	asked := time.Now()
	snap, err := f.read(ctx, c, "app", nil, asked)
	waited := time.Since(asked)
	if err != nil {
		t.Fatalf("the queued read failed after %s: %v", waited, err)
	}
	if _, ok := snap.st.Find("app", "websrv1"); !ok {
		t.Fatalf("the queued read has no websrv1: %+v", snap)
	}
	f.reads.mu.Lock()
	served := f.reads.backend(key).current
	f.reads.mu.Unlock()
	if served == inFlight || served.started.Before(asked) {
		t.Fatalf("the read was answered by a fetch that started before it asked")
	}
	if waited <= f.timeout {
		t.Fatalf("the queued read took %s, not more than the %s timeout: the test did not exercise a wait longer than one timeout", waited, f.timeout)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}
