package fleet

import (
	"context"
	"sync"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// freshness is how long a `show servers state <backend>` reply answers other
// reads of the same backend on the same socket. Terraform refreshes every
// resource of a plan within moments of each other, so a short window turns
// N reads of one backend into one round trip per socket; any write to that
// backend on that socket drops the entry at once.
const freshness = 2 * time.Second

type readKey struct {
	socket  string
	backend string
}

type readEntry struct {
	done chan struct{} // closed when st/err are set
	st   *haproxy.ServersState
	err  error
	at   time.Time
}

// readCache coalesces concurrent and near-simultaneous reads (singleflight
// plus a freshness window). Errors are shared only with reads already
// waiting, never cached.
type readCache struct {
	mu      sync.Mutex
	entries map[readKey]*readEntry
	now     func() time.Time
}

func newReadCache() *readCache {
	return &readCache{entries: map[readKey]*readEntry{}, now: time.Now}
}

// get returns the backend's state on the client's socket, fetching it at
// most once per freshness window.
func (rc *readCache) get(ctx context.Context, c *haproxy.Client, backend string, fetch func(context.Context) (*haproxy.ServersState, error)) (*haproxy.ServersState, error) {
	key := readKey{c.Target(), backend}
	rc.mu.Lock()
	e, ok := rc.entries[key]
	if ok {
		select {
		case <-e.done:
			if e.err != nil || rc.now().Sub(e.at) > freshness {
				ok = false
			}
		default: // in flight: join it
		}
	}
	if !ok {
		e = &readEntry{done: make(chan struct{})}
		rc.entries[key] = e
		rc.mu.Unlock()
		e.st, e.err = fetch(ctx)
		e.at = rc.now()
		close(e.done)
		if e.err != nil {
			rc.drop(key, e)
		}
		return e.st, e.err
	}
	rc.mu.Unlock()
	select {
	case <-e.done:
		return e.st, e.err
	case <-ctx.Done():
		return nil, &haproxy.Error{Kind: haproxy.ErrTimeout, Target: c.Target(), Command: "show servers state " + backend,
			Detail: "waiting for a shared read", Cause: ctx.Err()}
	}
}

// invalidate forgets the backend's state on one socket: called around every
// write, so no read started before a write answers a read made after it.
func (rc *readCache) invalidate(socket, backend string) {
	rc.mu.Lock()
	delete(rc.entries, readKey{socket, backend})
	rc.mu.Unlock()
}

func (rc *readCache) drop(key readKey, e *readEntry) {
	rc.mu.Lock()
	if rc.entries[key] == e {
		delete(rc.entries, key)
	}
	rc.mu.Unlock()
}
