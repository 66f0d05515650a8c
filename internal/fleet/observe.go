package fleet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Values is what the provider manages of one server, in HAProxy's terms.
type Values struct {
	Addr   string // as HAProxy prints it; empty when the server has no address
	Port   int
	State  haproxy.State
	Weight int
	Health bool // health checks enabled
}

// ValuesOf extracts the managed values from a servers-state row.
func ValuesOf(s haproxy.ServerState) Values {
	_, health := s.HealthChecks()
	v := Values{Port: s.Port, State: s.Admin.UserState(), Weight: s.UserWeight, Health: health}
	if s.Addr.IsValid() {
		v.Addr = s.Addr.String()
	}
	return v
}

// Observation is one socket's view of one server.
type Observation struct {
	Socket  string
	Found   bool // false with a nil Err only when HAProxy confirmed the absence
	Server  haproxy.ServerState
	Err     error
	Skipped bool // unreachable, and the fleet was told to go on without it
}

// Observe reads the server's row from every socket concurrently.
func (f *Fleet) Observe(ctx context.Context, backend, server string) []Observation {
	return each(ctx, f, func(ctx context.Context, c *haproxy.Client) Observation {
		o := f.observeOne(ctx, c, backend, server)
		o.Skipped = f.skipUnreachable && Unreachable(o.Err)
		return o
	})
}

func (f *Fleet) observeOne(ctx context.Context, c *haproxy.Client, backend, server string) Observation {
	o := Observation{Socket: c.Target()}
	snap, err := f.read(ctx, c, backend, time.Now().Add(-freshness))
	switch {
	case errors.Is(err, haproxy.ErrNoSuchBackend):
		return o // confirmed absent: the whole backend is gone
	case err != nil:
		o.Err = err
		return o
	}
	o.Server, o.Found = snap.st.Find(backend, server)
	return o
}

// Reading is the reconciled view of one server across all sockets.
type Reading struct {
	Values   Values
	Gone     bool     // confirmed absent on every socket
	Warnings []string // sockets that disagree, and states we do not manage
	// HealthWarning says sockets disagree on health checks; kept apart so a
	// caller that does not manage health checks need not show it.
	HealthWarning string
	// PortSplit and WeightSplit say the sockets disagree on that value. A
	// caller that leaves it unset (keeping HAProxy's) must still bring the
	// sockets in line, or the recorded value flips between them.
	PortSplit, WeightSplit bool
}

// Reconcile merges per-socket observations. prior is what Terraform last
// recorded (nil on import). Where sockets disagree on a value, the one that
// differs from prior wins, so the plan shows a change and the next apply
// converges every socket; a warning says which socket holds what.
//
// A socket that could not be read is an error, never "gone"; a server found
// on some sockets but not others is an error too, because the HAProxy
// configurations differ and a human must decide.
func Reconcile(backend, server string, prior *Values, obs []Observation) (Reading, error) {
	var failed Errors
	var found, missing []Observation
	var skipped []string
	for _, o := range obs {
		switch {
		case o.Skipped:
			skipped = append(skipped, fmt.Sprintf("%s could not be reached and was skipped (unreachable_sockets = \"warn\"); drift there shows once it answers again: %v", o.Socket, o.Err))
		case o.Err != nil:
			failed = append(failed, SocketError{o.Socket, o.Err})
		case o.Found:
			found = append(found, o)
		default:
			missing = append(missing, o)
		}
	}
	if len(failed) > 0 {
		return Reading{}, failed
	}
	if len(skipped) == len(obs) {
		return Reading{}, fmt.Errorf("no HAProxy socket could be reached:\n%s", strings.Join(skipped, "\n"))
	}
	if len(found) == 0 && len(skipped) > 0 {
		// Gone where it was read, but a socket was not read: it may still
		// be there, and serve. Only every socket confirming it gone counts.
		return Reading{}, fmt.Errorf("server %s/%s is gone on %s, but %d socket(s) could not be read, so it cannot be called gone:\n%s",
			backend, server, socketList(missing), len(skipped), strings.Join(skipped, "\n"))
	}
	if len(found) == 0 {
		return Reading{Gone: true}, nil
	}
	if len(missing) > 0 {
		return Reading{}, fmt.Errorf("server %s/%s exists on %s but not on %s: the HAProxy configurations differ; fix them before applying",
			backend, server, socketList(found), socketList(missing))
	}

	r := Reading{Warnings: skipped}
	vals := make([]Values, len(found))
	for i, o := range found {
		vals[i] = ValuesOf(o.Server)
		if extra := o.Server.Admin.NotForced(); len(extra) > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %s/%s is also in %s (not managed by this resource)",
				o.Socket, backend, server, strings.Join(extra, ", ")))
		}
	}
	var p Values
	if prior != nil {
		p = *prior
	}
	var w string
	r.Values.Addr, w = pick("address", p.Addr, prior != nil, found, vals, func(v Values) string { return v.Addr }, func(s string) string { return s })
	r.addWarning(w)
	r.Values.Port, w = pick("port", p.Port, prior != nil, found, vals, func(v Values) int { return v.Port }, strconv.Itoa)
	r.addWarning(w)
	r.PortSplit = w != ""
	r.Values.State, w = pick("state", p.State, prior != nil, found, vals, func(v Values) haproxy.State { return v.State }, func(s haproxy.State) string { return string(s) })
	r.addWarning(w)
	r.Values.Weight, w = pick("weight", p.Weight, prior != nil, found, vals, func(v Values) int { return v.Weight }, strconv.Itoa)
	r.addWarning(w)
	r.WeightSplit = w != ""
	r.Values.Health, r.HealthWarning = pick("health checks", p.Health, prior != nil, found, vals, func(v Values) bool { return v.Health }, onOff)
	return r, nil
}

func (r *Reading) addWarning(w string) {
	if w != "" {
		r.Warnings = append(r.Warnings, w)
	}
}

// pick returns the agreed value, or on disagreement the first value that
// differs from prior, plus a warning listing every socket's value.
func pick[T comparable](name string, prior T, havePrior bool, obs []Observation, vals []Values, get func(Values) T, show func(T) string) (T, string) {
	first := get(vals[0])
	agree := true
	for _, v := range vals[1:] {
		if get(v) != first {
			agree = false
			break
		}
	}
	if agree {
		return first, ""
	}
	chosen := first
	for _, v := range vals {
		if !havePrior || get(v) != prior {
			chosen = get(v)
			break
		}
	}
	held := make([]string, len(vals))
	for i, v := range vals {
		held[i] = fmt.Sprintf("%s has %s", obs[i].Socket, show(get(v)))
	}
	return chosen, fmt.Sprintf("HAProxy instances disagree on the %s: %s. The next apply sets every socket to the configured value.",
		name, strings.Join(held, ", "))
}

func socketList(obs []Observation) string {
	s := make([]string, len(obs))
	for i, o := range obs {
		s[i] = o.Socket
	}
	return strings.Join(s, ", ")
}
