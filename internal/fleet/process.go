package fleet

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Process identifies the HAProxy process behind a socket. A restart or a
// reload starts a new one, and every runtime change is lost with the old
// one: a server that drifted on a socket whose process changed since it was
// written was reset, not edited.
type Process struct {
	PID     int   `json:"pid"`
	Started int64 `json:"started"` // Unix seconds, from `show info` Start_time_sec
}

// Age is how long ago the process started.
func (p Process) Age(now time.Time) time.Duration {
	return now.Sub(time.Unix(p.Started, 0))
}

// processes caches each socket's process for the life of the fleet (one
// provider run): one `show info` per socket, whatever the number of servers.
type processes struct {
	mu   sync.Mutex
	seen map[string]Process
}

// Processes returns the process behind each of sockets that answers `show
// info`, keyed by socket. A socket that does not answer is left out: the
// caller then cannot tell whether it restarted, and says nothing. Only the
// sockets asked for are asked, so one known to hang is not waited for.
func (f *Fleet) Processes(ctx context.Context, sockets []string) map[string]Process {
	f.procs.mu.Lock()
	defer f.procs.mu.Unlock()
	if f.procs.seen == nil {
		f.procs.seen = map[string]Process{}
	}
	ask := func(c *haproxy.Client) bool {
		_, known := f.procs.seen[c.Target()]
		return !known && slices.Contains(sockets, c.Target())
	}
	if slices.ContainsFunc(f.clients, ask) {
		found := each(ctx, f, func(ctx context.Context, c *haproxy.Client) *Process {
			if !ask(c) {
				return nil
			}
			ctx, cancel := f.op(ctx)
			defer cancel()
			info, err := c.Info(ctx)
			if err != nil {
				return nil
			}
			pid, err1 := strconv.Atoi(info["Pid"])
			started, err2 := strconv.ParseInt(info["Start_time_sec"], 10, 64)
			if err1 != nil || err2 != nil {
				return nil
			}
			return &Process{PID: pid, Started: started}
		})
		for i, p := range found {
			if p != nil {
				f.procs.seen[f.clients[i].Target()] = *p
			}
		}
	}
	out := make(map[string]Process, len(sockets))
	for _, s := range sockets {
		if p, ok := f.procs.seen[s]; ok {
			out[s] = p
		}
	}
	return out
}
