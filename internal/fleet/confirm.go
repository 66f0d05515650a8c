package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
)

// From HAProxy 2.9 on, `set server … addr` answers "IP changed from …"
// before the change is applied: a `show servers state` sent next, even in the
// same session, can still show the old address, and one a moment later shows
// the new one. A single read after a write therefore proves nothing. An
// address change is confirmed by polling fresh reads until they show it,
// bounded by the provider's timeout, and a server is made ready (or its
// weight raised) only after a read on that socket has shown its new address.
// State, weight and health-check commands are applied before HAProxy
// replies, on every supported version: their empty reply confirms them
// (runAndConfirm). A pool batch, which writes many slots at once, reads
// every slot it wrote once more at the end (apply_many.go).

// confirmPace paces confirmation reads: the first re-read comes almost at
// once (the lag is usually well under a millisecond), later ones back off
// so a change that never shows does not flood the socket.
var confirmPace = poll.Pace{First: 2 * time.Millisecond, Max: 100 * time.Millisecond}

// expectation is what one server must show before a step counts as applied.
type expectation struct {
	server string
	ok     func(haproxy.ServerState) bool
	want   string     // what ok checks, for the error message
	probe  *statProbe // when set, runSteps tries a one-server read first (settleStat)
}

// unsettled is a server whose reads never showed what was expected.
type unsettled struct {
	server string
	last   haproxy.ServerState
	found  bool
	want   string
}

// settle polls fresh reads of backend on c until every expectation holds or
// the provider's timeout passes. It returns the last row read of each
// server, and the servers that never showed what was expected (in server
// order). A failed read ends the polling with that error.
func (f *Fleet) settle(ctx context.Context, c *haproxy.Client, backend string, exps []expectation) (map[string]haproxy.ServerState, []unsettled, error) {
	rows := make(map[string]haproxy.ServerState, len(exps))
	servers := make([]string, len(exps))
	for i, e := range exps {
		servers[i] = e.server
	}
	var missing []unsettled
	err := poll.Until(ctx, f.clock, f.clock.Now().Add(f.timeout), confirmPace, func() (bool, error) {
		snap, err := f.read(ctx, c, backend, servers, f.clock.Now())
		if err != nil {
			return false, err
		}
		missing = missing[:0]
		for _, e := range exps {
			row, ok := snap.st.Find(backend, e.server)
			if ok {
				rows[e.server] = row
			}
			if !ok || !e.ok(row) {
				missing = append(missing, unsettled{server: e.server, last: row, found: ok, want: e.want})
			}
		}
		return len(missing) == 0, nil
	})
	switch {
	case errors.Is(err, poll.ErrDeadline):
		sort.Slice(missing, func(i, j int) bool { return missing[i].server < missing[j].server })
		return rows, missing, nil
	case err != nil: // a failed read, or cancelled
		return rows, nil, err
	}
	return rows, nil, nil
}

// settleOne is settle for one server, with the error already worded: it
// names the socket, the commands HAProxy accepted, and what it last read.
// (runSteps first tries the server's own `show stat` row, settleStat,
// whose size does not grow with the backend; this reads the whole backend.)
func (f *Fleet) settleOne(ctx context.Context, c *haproxy.Client, backend string, e expectation, sent []haproxy.Command) (haproxy.ServerState, error) {
	rows, missing, err := f.settle(ctx, c, backend, []expectation{e})
	if err != nil {
		return haproxy.ServerState{}, err
	}
	if len(missing) > 0 {
		return rows[e.server], fmt.Errorf("%s: %w", c.Name(), missing[0].error(backend, f.timeout, sent))
	}
	return rows[e.server], nil
}

// error says what was sent and what was last read instead; the caller adds
// the socket.
func (u unsettled) error(backend string, waited time.Duration, sent []haproxy.Command) error {
	if !u.found {
		return fmt.Errorf("server %s/%s vanished during the change", backend, u.server)
	}
	return fmt.Errorf("HAProxy accepted %s, but %s later `show servers state %s` still reports %s for %s/%s, not %s",
		quoteCommands(sent), waited, backend, describe(ValuesOf(u.last)), backend, u.server, u.want)
}

func quoteCommands(cmds []haproxy.Command) string {
	if len(cmds) == 0 {
		return "the commands"
	}
	q := make([]string, len(cmds))
	for i, c := range cmds {
		q[i] = "`" + c.String() + "`"
	}
	return strings.Join(q, ", ")
}

// showsValues expects the server to hold exactly want.
func showsValues(server string, want Values) expectation {
	return expectation{server: server, want: describe(want), ok: func(s haproxy.ServerState) bool { return ValuesOf(s) == want }}
}

// showsAddr expects the server to hold addr:port, whatever else it shows.
// ids, when valid, is the server as pre-flight read it: its backend and
// server ids let settleOne read its row alone.
func showsAddr(server, addr string, port int, ids ...haproxy.ServerState) expectation {
	e := expectation{server: server, want: fmt.Sprintf("address %s port %d", addr, port), ok: func(s haproxy.ServerState) bool {
		v := ValuesOf(s)
		return v.Addr == addr && v.Port == port
	}}
	if a, err := netip.ParseAddr(addr); err == nil && len(ids) == 1 && ids[0].BackendID > 0 && ids[0].ID > 0 {
		e.probe = &statProbe{backendID: ids[0].BackendID, serverID: ids[0].ID, want: netip.AddrPortFrom(a, uint16(port))}
	}
	return e
}

// statProbe confirms an address change from one `show stat` row.
type statProbe struct {
	backendID, serverID int
	want                netip.AddrPort
}

// settleStat polls the server's `show stat` row, each poll on a new
// connection (nothing is held open while HAProxy 2.9+ applies it), until
// its address is e's, bounded by the provider's timeout; then, in the same
// session, it sends then (each group once the one before succeeded): the
// commands that had to wait for the address, without a connection of their
// own. done is false, with no error and nothing sent, when the row cannot
// tell (no row by that id and name, or no address column): the caller then
// reads the whole backend.
func (f *Fleet) settleStat(ctx context.Context, c *haproxy.Client, backend string, e expectation, sent []haproxy.Command, then [][]haproxy.Command) (done bool, err error) {
	var row haproxy.StatRow
	var found, shown, unknown bool
	err = poll.Until(ctx, f.clock, f.clock.Now().Add(f.timeout), confirmPace, func() (bool, error) {
		opCtx, cancel := f.op(ctx)
		defer cancel()
		err := c.Session(opCtx, func(s *haproxy.Session) error {
			var err error
			row, found, err = s.StatServer(e.probe.backendID, e.probe.serverID, e.server)
			shown = err == nil && found && row.Addr == e.probe.want
			if !shown || len(then) == 0 {
				return err
			}
			defer f.reads.wrote(readKey{c.Target(), backend}, []string{e.server})
			return sendGroups(s, then)
		})
		unknown = err == nil && !shown && (!found || !row.Addr.IsValid())
		return shown || unknown, err
	})
	switch {
	case shown:
		return true, err
	case errors.Is(err, poll.ErrDeadline):
		return false, fmt.Errorf("%s: HAProxy accepted %s, but %s later `show stat` still reports address %s port %d for %s/%s, not %s",
			c.Name(), quoteCommands(sent), f.timeout, row.Addr.Addr(), row.Addr.Port(), backend, e.server, e.want)
	}
	return false, err // unknown: nil, and the caller reads the whole backend
}
