package fleet

import (
	"context"
	"errors"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
)

// What package pool builds on: the engine's sockets, fresh listings, the
// batched safe-order writes (apply_many.go) and the per-process memory of slot
// writers (handover.go). Nothing here decides anything about pools.

// Clients are the configured sockets' clients, in configuration order (the
// first is a pool's claim arbiter).
func (f *Fleet) Clients() []*haproxy.Client { return f.clients }

// Client is the client of a socket (nil for one not configured).
func (f *Fleet) Client(socket string) *haproxy.Client {
	for _, c := range f.clients {
		if c.Target() == socket {
			return c
		}
	}
	return nil
}

// Reachable lists the clients of the sockets that have a listing.
func (f *Fleet) Reachable(listings []Listing) []*haproxy.Client {
	var out []*haproxy.Client
	for _, c := range f.clients {
		for _, l := range listings {
			if l.Socket == c.Target() {
				out = append(out, c)
			}
		}
	}
	return out
}

// RunBatch sends cmds to one socket in as many connections as their size
// needs, each bounded by the fleet's timeout, and notes the write for the
// read cache: no reply fetched before it answers a later read of backend.
// each holds every command's own outcome.
func (f *Fleet) RunBatch(ctx context.Context, c *haproxy.Client, backend string, cmds ...haproxy.Command) (each []error, err error) {
	defer f.reads.wrote(readKey{c.Target(), backend}, nil) // even a failed batch may have changed something
	return c.RunEach(f.eachWithin(ctx), cmds...)
}

// ListFresh is List with a read that starts after the call (never a shared
// older reply), on sockets that must be at level admin; skipped says why
// each socket left out was skipped (with SkipUnreachable).
func (f *Fleet) ListFresh(ctx context.Context, backend, prefix string) (listings []Listing, skipped Errors, warnings []string, err error) {
	return f.listSkipping(ctx, backend, prefix, f.clock.Now(), true)
}

// Clock is the clock the fleet's waits run on.
func (f *Fleet) Clock() poll.Clock { return f.clock }

// NoteWriter remembers writer as the last in this process to write
// backend/server (see handover.go): a park by another resource object then
// hands the slot over.
func (f *Fleet) NoteWriter(backend, server, writer string) { f.writers.wrote(backend, server, writer) }

// HandedOver says why a take-out by writer must leave backend/server alone
// (another resource object wrote it in this process); "" when it is
// writer's.
func (f *Fleet) HandedOver(backend, server, writer string) string {
	return f.writers.handedOver(backend, server, writer)
}

// ViewsFrom turns listings into Apply's per-socket starting points for
// server; a socket missing from the listings (skipped as unreachable) is
// skipped here too.
func (f *Fleet) ViewsFrom(server string, listings []Listing) []SocketView {
	out := make([]SocketView, len(f.clients))
	for i, c := range f.clients {
		out[i] = SocketView{Socket: c.Target(), Skipped: errors.New("unreachable")}
		for _, l := range listings {
			if s, ok := l.Server(server); ok && l.Socket == c.Target() {
				out[i] = SocketView{Socket: c.Target(), Current: s}
			}
		}
	}
	return out
}
