package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
	rc := newReadCache()
	key := readKey{"unix:///a", "app"}
	var calls atomic.Int32
	release := make(chan struct{})
	fetch := countingFetch(&calls, release)

	// First caller starts fetch 1.
	var wg sync.WaitGroup
	first := make(chan snapshot, 1)
	wg.Add(1)
	go func() { defer wg.Done(); s, _ := rc.get(context.Background(), key, nil, time.Now(), fetch); first <- s }()
	waitFor(t, func() bool { return calls.Load() == 1 })

	// Ten callers that need a fetch started after they asked: they must not
	// join fetch 1, and must all share fetch 2.
	results := make(chan snapshot, 10)
	var asking sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		asking.Add(1)
		go func() {
			defer wg.Done()
			asking.Done()
			s, _ := rc.get(context.Background(), key, nil, time.Now(), fetch)
			results <- s
		}()
	}
	asking.Wait()
	time.Sleep(200 * time.Millisecond) // let every caller reach the queue
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
	if s, _ := rc.get(context.Background(), key, nil, time.Now().Add(-freshness), fetch); s.level != "2" || calls.Load() != 2 {
		t.Fatalf("tolerant reader got %q after %d fetches", s.level, calls.Load())
	}
	// ... and a read of one server reuses it after a write to another ...
	rc.wrote(key, []string{"w2"})
	if s, _ := rc.get(context.Background(), key, []string{"w1"}, time.Now().Add(-freshness), fetch); s.level != "2" {
		t.Fatalf("a write to w2 made a read of w1 fetch again (%q)", s.level)
	}
	// ... but not a read of the server written, nor of every server.
	if s, _ := rc.get(context.Background(), key, []string{"w2"}, time.Now().Add(-freshness), fetch); s.level != "3" {
		t.Fatalf("read of w2 after a write to it got stale fetch %q", s.level)
	}
	rc.wrote(key, nil)
	if s, _ := rc.get(context.Background(), key, []string{"w1"}, time.Now().Add(-freshness), fetch); s.level != "4" {
		t.Fatalf("read of w1 after a write to the whole backend got stale fetch %q", s.level)
	}
	rc.wrote(key, []string{"w1"})
	if s, _ := rc.get(context.Background(), key, nil, time.Now().Add(-freshness), fetch); s.level != "5" {
		t.Fatalf("read of every server after a write to one got stale fetch %q", s.level)
	}
}

func TestReadCacheDoesNotKeepErrors(t *testing.T) {
	rc := newReadCache()
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
	rc := newReadCache()
	release := make(chan struct{})
	defer close(release)
	var calls atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := rc.get(ctx, readKey{"unix:///a", "app"}, nil, time.Now(), countingFetch(&calls, release))
	if err == nil {
		t.Fatal("a stuck shared read did not time out")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
