package fleet

import (
	"context"
	"sync"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
)

// `show servers state <backend>` lists every server of the backend, so one
// reply per socket can answer every resource of that backend. Without
// sharing, N resources of one backend would cost N round trips and N² rows
// parsed on each socket. The readCache shares replies under one rule: a
// caller states how fresh the reply must be (the earliest moment its fetch
// may have started), and gets either a fetch that started no earlier, or a
// new one.
//
//   - Refresh (Observe) and pre-flight accept replies up to `freshness` old:
//     a plan's reads of one backend share one round trip per socket, and so
//     do the pre-flights of an apply.
//   - Write confirmation accepts only a fetch that starts after it asks.
//     While one fetch is in flight, such callers queue for the next one,
//     which then serves all of them: under Terraform's parallelism ten
//     concurrent writes cost about two reads per socket, not ten.
//   - A completed write moves the floor for every later caller about the
//     servers it wrote (or, for a write to many, about every server): no
//     reply fetched before this process wrote a server ever answers a read of
//     that server made after it. Writes to other servers do not: they cannot
//     change this server's row.
const freshness = 2 * time.Second

// snapshot is one fetch: the socket's level and the backend's servers.
type snapshot struct {
	level string
	st    *haproxy.ServersState
}

type readKey struct {
	socket  string
	backend string
}

type readEntry struct {
	started time.Time
	done    chan struct{} // closed when snap/err are set
	snap    snapshot
	err     error
	callers int // how many reads this fetch answers (set under the cache's lock)
}

func (e *readEntry) finished() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

type backendReads struct {
	current *readEntry // latest fetch, in flight or done
	next    *readEntry // queued behind current; starts when it finishes
	// Completed writes: to the whole backend, to any server, per server.
	wroteAll, wroteAny time.Time
	wrote              map[string]time.Time
}

// floor is the earliest start a fetch may have to answer a read of servers
// (nil: of every server).
func (s *backendReads) floor(servers []string) time.Time {
	if servers == nil {
		return s.wroteAny
	}
	f := s.wroteAll
	for _, name := range servers {
		if t := s.wrote[name]; t.After(f) {
			f = t
		}
	}
	return f
}

type readCache struct {
	mu       sync.Mutex
	backends map[readKey]*backendReads
	now      func() time.Time
}

func newReadCache(clk poll.Clock) *readCache {
	return &readCache{backends: map[readKey]*backendReads{}, now: clk.Now}
}

// fetchFunc performs one fetch; it gets its own context because a queued
// fetch serves several callers and must not die with the first one.
type fetchFunc func(ctx context.Context) (snapshot, error)

// get returns a snapshot whose fetch started at or after notBefore, and
// after the last write recorded for this socket and backend that touched
// one of servers (nil: any server).
func (rc *readCache) get(ctx context.Context, key readKey, servers []string, notBefore time.Time, fetch fetchFunc) (snapshot, error) {
	rc.mu.Lock()
	s := rc.backend(key)
	if f := s.floor(servers); f.After(notBefore) {
		notBefore = f
	}
	var e *readEntry
	cur := s.current
	switch {
	case cur != nil && !cur.started.Before(notBefore) && (!cur.finished() || cur.err == nil):
		e = cur // fresh enough: in flight, or done without error
	case cur != nil && !cur.finished():
		// Too old but still running: queue for the fetch that starts when it ends.
		if s.next == nil {
			s.next = &readEntry{done: make(chan struct{})}
		}
		e = s.next
	default:
		e = &readEntry{started: rc.now(), done: make(chan struct{})}
		s.current = e
		// The fetch keeps the caller's values (its logger) but not its
		// cancellation: it may serve other callers too.
		go rc.run(context.WithoutCancel(ctx), key, s, e, fetch)
	}
	e.callers++
	rc.mu.Unlock()

	select {
	case <-e.done:
		return e.snap, e.err
	case <-ctx.Done():
		return snapshot{}, &haproxy.Error{Kind: haproxy.ErrTimeout, Target: key.socket,
			Command: "show servers state " + key.backend, Detail: "waiting for a shared read", Cause: ctx.Err()}
	}
}

// run performs e's fetch and then starts the queued one, if any.
func (rc *readCache) run(ctx context.Context, key readKey, s *backendReads, e *readEntry, fetch fetchFunc) {
	e.snap, e.err = fetch(ctx)
	close(e.done)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if n := s.next; n != nil && s.current == e {
		s.next = nil
		n.started = rc.now()
		s.current = n
		go rc.run(ctx, key, s, n, fetch)
	}
}

// wrote records that a write to servers of this socket and backend (nil:
// to any of them) has completed: no fetch started before now may answer a
// later read of them.
func (rc *readCache) wrote(key readKey, servers []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	s := rc.backend(key)
	now := rc.now()
	s.wroteAny = now
	if servers == nil {
		s.wroteAll = now
	}
	for _, name := range servers {
		s.wrote[name] = now
	}
}

// backend returns what the cache keeps of key, creating it; rc.mu must be
// held.
func (rc *readCache) backend(key readKey) *backendReads {
	s := rc.backends[key]
	if s == nil {
		s = &backendReads{wrote: map[string]time.Time{}}
		rc.backends[key] = s
	}
	return s
}
