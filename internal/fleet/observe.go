package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

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
	Skipped error // non-nil: unreachable, and the fleet was told to go on without it (Err is then nil)
}

// Observe reads the server's row from every socket concurrently.
func (f *Fleet) Observe(ctx context.Context, backend, server string) []Observation {
	return each(ctx, f, func(ctx context.Context, c *haproxy.Client) Observation {
		o := f.observeOne(ctx, c, backend, server)
		if f.skipUnreachable && unreachable(o.Err) {
			o.Skipped, o.Err = o.Err, nil
		}
		return o
	})
}

func (f *Fleet) observeOne(ctx context.Context, c *haproxy.Client, backend, server string) Observation {
	o := Observation{Socket: c.Target()}
	snap, err := f.read(ctx, c, backend, []string{server}, f.clock.Now().Add(-freshness))
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

// Attr names one managed value of a server.
type Attr string

// The managed values, in the order messages list them.
const (
	AttrAddress Attr = "address"
	AttrPort    Attr = "port"
	AttrState   Attr = "state"
	AttrWeight  Attr = "weight"
	AttrHealth  Attr = "health checks"
)

// Attrs lists every Attr in message order.
var Attrs = []Attr{AttrAddress, AttrPort, AttrState, AttrWeight, AttrHealth}

// Get returns v's value of a, as HAProxy would print it.
func (v Values) Get(a Attr) string {
	switch a {
	case AttrAddress:
		return v.Addr
	case AttrPort:
		return strconv.Itoa(v.Port)
	case AttrState:
		return string(v.State)
	case AttrWeight:
		return strconv.Itoa(v.Weight)
	case AttrHealth:
		return onOff(v.Health)
	}
	return ""
}

// SocketValues is one socket's values of a server.
type SocketValues struct {
	Socket string // as configured (the key)
	Name   string // as messages call it
	Values Values
	// Parked: in maint on the placeholder (a reload reset it, or it was
	// never pointed anywhere). Its address and port are the placeholder's,
	// not the server's, so it contributes nothing to the reading's values.
	Parked bool `json:"-"`
}

// parked reports whether v is a slot parked on placeholder.
func (v Values) parked(placeholder netip.AddrPort) bool {
	return v.State == haproxy.StateMaint && v.Addr == placeholder.Addr().String() && v.Port == int(placeholder.Port())
}

// Unmanaged is a socket where the server is also in a state the caller
// does not manage (maintenance forced by a health check, a DNS resolution…).
type Unmanaged struct {
	Socket string // as messages call it
	States []string
}

// Reading is the reconciled view of one server across all sockets.
type Reading struct {
	Values    Values
	Gone      bool           // confirmed absent on every socket
	PerSocket []SocketValues // every socket that was read, in configuration order
	Split     []Attr         // values the sockets disagree on
	Skipped   Errors         // sockets that could not be reached (SkipUnreachable)
	Unmanaged []Unmanaged
}

// Splits reports whether the sockets disagree on a.
func (r Reading) Splits(a Attr) bool { return slices.Contains(r.Split, a) }

// Reconcile merges per-socket observations. prior is what Terraform last
// recorded, or what the resource last wrote (nil on import).
//
// A parked instance (in maint on the placeholder: reloaded, or never
// pointed anywhere) contributes nothing while another instance is not
// parked: the values are the serving instances', and the parked one shows
// as drift, so the plan restores it from them. When every instance is
// parked, the address and port are prior's (the placeholder's are not the
// server's); on import they are the placeholder's, which no plan may make
// serve.
//
// Where the contributing sockets disagree on a value, Split names it and
// PerSocket says which socket holds what; the values then hold the one
// that differs from prior, so the plan shows a change that converges every
// socket to what the configuration (or the resource's own last write)
// says. On import (prior nil) nothing decides: the values hold the first
// socket's, and the caller must not take them for the fleet's (see Split).
//
// A socket that could not be read is an error, never "gone"; a server found
// on some sockets but not others is an error too, because the HAProxy
// configurations differ and a human must decide.
func (f *Fleet) Reconcile(backend, server string, prior *Values, obs []Observation) (Reading, error) {
	var failed, skipped Errors
	var found, missing []Observation
	for _, o := range obs {
		switch {
		case o.Skipped != nil:
			skipped = append(skipped, SocketError{f.Name(o.Socket), o.Skipped})
		case o.Err != nil:
			failed = append(failed, SocketError{f.Name(o.Socket), o.Err})
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
		return Reading{}, fmt.Errorf("no HAProxy socket could be reached:\n%w", skipped)
	}
	if len(found) == 0 && len(skipped) > 0 {
		// Gone where it was read, but a socket was not read: it may still
		// be there, and serve. Only every socket confirming it gone counts.
		return Reading{}, fmt.Errorf("server %s/%s is gone on %s, but %d socket(s) could not be read, so it cannot be called gone:\n%w",
			backend, server, f.socketList(missing), len(skipped), skipped)
	}
	if len(found) == 0 {
		return Reading{Gone: true}, nil
	}
	if len(missing) > 0 {
		return Reading{}, fmt.Errorf("server %s/%s exists on %s but not on %s: the HAProxy configurations differ; fix them before applying",
			backend, server, f.socketList(found), f.socketList(missing))
	}

	r := Reading{Skipped: skipped}
	var serving []SocketValues
	for _, o := range found {
		sv := SocketValues{Socket: o.Socket, Name: f.Name(o.Socket), Values: ValuesOf(o.Server)}
		sv.Parked = sv.Values.parked(f.placeholder)
		r.PerSocket = append(r.PerSocket, sv)
		if !sv.Parked {
			serving = append(serving, sv)
		}
		if extra := o.Server.Admin.NotForced(); len(extra) > 0 {
			r.Unmanaged = append(r.Unmanaged, Unmanaged{Socket: f.Name(o.Socket), States: extra})
		}
	}
	allParked := len(serving) == 0
	if allParked {
		serving = r.PerSocket
	}
	r.Values = serving[0].Values
	if allParked && prior != nil {
		r.Values.Addr, r.Values.Port = prior.Addr, prior.Port
	}
	for _, a := range Attrs {
		first := serving[0].Values.Get(a)
		agree := true
		for _, sv := range serving[1:] {
			agree = agree && sv.Values.Get(a) == first
		}
		if agree {
			continue
		}
		r.Split = append(r.Split, a)
		// The first value that differs from prior wins, so the plan shows
		// a change that converges every socket.
		for _, sv := range serving {
			if prior != nil && sv.Values.Get(a) != prior.Get(a) {
				r.Values.set(a, sv.Values)
				break
			}
		}
	}
	return r, nil
}

// set copies a's value from v.
func (v *Values) set(a Attr, from Values) {
	switch a {
	case AttrAddress:
		v.Addr = from.Addr
	case AttrPort:
		v.Port = from.Port
	case AttrState:
		v.State = from.State
	case AttrWeight:
		v.Weight = from.Weight
	case AttrHealth:
		v.Health = from.Health
	}
}

// FoundAndMissing names the sockets that have the server and those that
// confirmed it absent (sockets not read are in neither).
func (f *Fleet) FoundAndMissing(obs []Observation) (found, missing []string) {
	for _, o := range obs {
		switch {
		case o.Err != nil || o.Skipped != nil:
		case o.Found:
			found = append(found, f.Name(o.Socket))
		default:
			missing = append(missing, f.Name(o.Socket))
		}
	}
	return found, missing
}

// SocketNames words sockets (as configured) as messages name them.
func (f *Fleet) SocketNames(sockets []string) string {
	if len(sockets) == 0 {
		return "none"
	}
	names := make([]string, len(sockets))
	for i, s := range sockets {
		names[i] = f.Name(s)
	}
	return strings.Join(names, ", ")
}

func (f *Fleet) socketList(obs []Observation) string {
	sockets := make([]string, len(obs))
	for i, o := range obs {
		sockets[i] = o.Socket
	}
	return f.SocketNames(sockets)
}
