package fleet

import (
	"context"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// ServerOutcome is what ApplyServer did, socket by socket.
type ServerOutcome struct {
	// Views is the pre-flight view of every socket: where each server was
	// before (the origins a later park returns it to).
	Views []SocketView
	// SkipWarnings say, per skipped socket, that it could not be reached
	// and was left unchanged (SkipUnreachable).
	SkipWarnings []string
	// Unfinished says, per socket, that a drain still had sessions at its
	// timeout and the change went on anyway.
	Unfinished []string
	Applied    []string // sockets (as messages name them) that took the change
	Failed     Errors   // sockets where it failed, and why
	// Holds is what the server holds after the change, on a socket that
	// took it: the address and port as a read showed them, the state,
	// weight and health checks as HAProxy's empty replies confirmed them
	// (see runAndConfirm); nil when no socket took it.
	Holds *Values
	// Seen is the server as pre-flight read it on a socket that answered:
	// for values the caller did not set when the change failed everywhere.
	Seen *haproxy.ServerState
	// Processes is the process behind each socket that took the change.
	Processes map[string]Process
	// Added lists the sockets (as configured) where AddServer added the
	// server: those servers are the caller's.
	Added []string
	// Adopted names the sockets where AddServer found the server already
	// added, on the address asked for, by an earlier run that did not finish.
	Adopted []string
	// Origins is where the server was before, per socket, for Park (see
	// OriginsOf).
	Origins map[string]Origin
}

// Everywhere reports whether every socket took the change (none failed or
// was skipped), so none may still hold what it held before.
func (o ServerOutcome) Everywhere() bool { return len(o.Failed) == 0 && len(o.SkipWarnings) == 0 }

// ApplyServer pre-flights every socket for d (see preflightFor) and, when
// all pass, applies d to them (see Apply). err is non-nil only when
// pre-flight failed: then nothing was written anywhere. A write that fails
// on some sockets is in the outcome's Failed, beside what was applied.
func (f *Fleet) ApplyServer(ctx context.Context, d Desired) (ServerOutcome, error) {
	defer f.writers.lock(d.Backend, d.Server)()
	views, skipped, err := f.preflightFor(ctx, d)
	if err != nil {
		return ServerOutcome{}, err
	}
	// From here on something may be written: this object is the slot's
	// writer, whatever else wrote it earlier in this process.
	f.writers.wrote(d.Backend, d.Server, d.Owner.Writer)
	out := ServerOutcome{Views: views, SkipWarnings: skipped, Origins: f.OriginsOf(views, d)}
	for i := range views {
		if views[i].Skipped == nil && out.Seen == nil {
			out.Seen = &views[i].Current
		}
	}
	var took []string
	for _, res := range f.Apply(ctx, d, views) {
		out.Unfinished = append(out.Unfinished, res.Warnings...)
		switch {
		case res.Skipped != nil:
		case res.Err != nil:
			out.Failed = append(out.Failed, SocketError{f.Name(res.Socket), res.Err})
		default:
			out.Applied = append(out.Applied, f.Name(res.Socket))
			took = append(took, res.Socket)
			if out.Holds == nil {
				v := ValuesOf(res.After)
				out.Holds = &v
			}
		}
	}
	out.Processes = f.Processes(ctx, took)
	return out, nil
}
