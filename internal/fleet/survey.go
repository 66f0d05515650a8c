package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Found is one server as every instance reports it: what a listing of the
// fleet (terraform query) shows and adopts.
type Found struct {
	Backend, Server string
	// PerSocket holds every instance that has the server, in configuration
	// order; Split the values they disagree on.
	PerSocket []SocketValues
	Split     []Attr
	Missing   []string // instances that were read and lack the server (names)
	Claimed   bool     // a pool's claim marker names it on some instance
	Dynamic   bool     // added at run time on some instance (only when probed)
	// Row is the server's row on the first instance that has it, for what
	// Values leave out (checks configured, TLS, agent port).
	Row haproxy.ServerState
}

// Parked reports whether the server is in maint on placeholder on every
// instance that has it: a free slot, nobody's server.
func (fd Found) Parked(placeholder netip.AddrPort) bool {
	for _, sv := range fd.PerSocket {
		if sv.Values.State != haproxy.StateMaint || sv.Values.Addr != placeholder.Addr().String() || sv.Values.Port != int(placeholder.Port()) {
			return false
		}
	}
	return true
}

// Agreed is the instances' common value of a, and whether they agree.
func (fd Found) Agreed(a Attr) (Values, bool) {
	for _, s := range fd.Split {
		if s == a {
			return fd.PerSocket[0].Values, false
		}
	}
	return fd.PerSocket[0].Values, true
}

// SlotOf splits a slot name into its `server-template` prefix and number:
// websrv12 is slot 12 of websrv.
func SlotOf(name string) (prefix string, ok bool) {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	if i == 0 || i == len(name) {
		return "", false
	}
	_, ok = SlotNumber(name[:i], name)
	return name[:i], ok
}

// survey is one socket's servers and claims.
type survey struct {
	socket  string
	servers []haproxy.ServerState
	claims  map[string]bool // "<backend>/<slot>"
}

// Survey reads every server of backend ("" for every backend) on every
// socket. Unlike List it does not require the instances to agree: Missing
// and Split say where they differ, for the caller to show. probe selects the
// servers whose dynamic flag is worth a command per instance (nil: none).
func (f *Fleet) Survey(ctx context.Context, backend string, probe func(Found) bool) (found []Found, warnings []string, err error) {
	if backend != "" {
		if err := haproxy.ValidateName("backend", backend); err != nil {
			return nil, nil, err
		}
	}
	answers, err := gather(ctx, f, true, func(ctx context.Context, c *haproxy.Client) (survey, error) {
		snap, err := f.read(ctx, c, backend, nil, f.clock.Now().Add(-freshness))
		if errors.Is(err, haproxy.ErrNoSuchBackend) {
			return survey{socket: c.Target()}, fmt.Errorf("%s: backend %q does not exist", c.Name(), backend)
		}
		if err != nil {
			return survey{socket: c.Target()}, err
		}
		sv := survey{socket: c.Target(), claims: map[string]bool{}}
		for _, s := range snap.st.Servers {
			if s.ID == 0 {
				continue // a disabled backend's: nothing can be done to it
			}
			if isClaimMarker(s.Name) {
				sv.claims[s.Backend+"/"+claimedSlot(s.Name)] = true
				continue
			}
			sv.servers = append(sv.servers, s)
		}
		return sv, nil
	})
	if err != nil {
		return nil, nil, err
	}
	var read []survey
	for _, a := range answers {
		if a.skipped == nil {
			read = append(read, a.v)
		}
	}
	warnings = skipWarnings(skippedOf(answers), "")
	found = f.merge(read)
	if probe != nil {
		if err := f.probeDynamic(ctx, found, probe); err != nil {
			return nil, warnings, err
		}
	}
	return found, warnings, nil
}

// merge joins the sockets' servers by name, in the order the first socket
// that has each lists them.
func (f *Fleet) merge(read []survey) []Found {
	index := map[string]int{}
	var found []Found
	for _, sv := range read {
		for _, s := range sv.servers {
			key := s.Backend + "/" + s.Name
			i, ok := index[key]
			if !ok {
				i = len(found)
				index[key] = i
				found = append(found, Found{Backend: s.Backend, Server: s.Name, Row: s})
			}
			found[i].PerSocket = append(found[i].PerSocket, SocketValues{Socket: sv.socket, Name: f.Name(sv.socket), Values: ValuesOf(s)})
			found[i].Claimed = found[i].Claimed || sv.claims[key]
		}
	}
	for i := range found {
		fd := &found[i]
		for _, sv := range read {
			if !fd.on(sv.socket) {
				fd.Missing = append(fd.Missing, f.Name(sv.socket))
			}
		}
		for _, a := range Attrs {
			for _, sv := range fd.PerSocket[1:] {
				if sv.Values.Get(a) != fd.PerSocket[0].Values.Get(a) {
					fd.Split = append(fd.Split, a)
					break
				}
			}
		}
	}
	return found
}

func (fd Found) on(socket string) bool {
	for _, sv := range fd.PerSocket {
		if sv.Socket == socket {
			return true
		}
	}
	return false
}

// probeDynamic asks every instance, over one connection each, which of the
// selected servers were added at run time (haproxy.ProbeDynamic).
func (f *Fleet) probeDynamic(ctx context.Context, found []Found, probe func(Found) bool) error {
	var picked []int
	for i := range found {
		if probe(found[i]) {
			picked = append(picked, i)
		}
	}
	if len(picked) == 0 {
		return nil
	}
	answers, err := gather(ctx, f, true, func(ctx context.Context, c *haproxy.Client) ([]bool, error) {
		var cmds []haproxy.Command
		var which []int
		for _, i := range picked {
			if !found[i].on(c.Target()) {
				continue
			}
			cmd, err := haproxy.ProbeDynamic(found[i].Backend, found[i].Server)
			if err != nil {
				return nil, err
			}
			cmds, which = append(cmds, cmd), append(which, i)
		}
		if len(cmds) == 0 {
			return nil, nil
		}
		ctx, cancel := f.op(ctx)
		defer cancel()
		bodies, err := c.Run(ctx, cmds...)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot tell dynamic servers from configured ones: %w", c.Name(), err)
		}
		flags := make([]bool, len(found))
		for k, i := range which {
			flags[i] = haproxy.IsDynamicReply(bodies[k])
		}
		return flags, nil
	})
	if err != nil {
		return err
	}
	for _, a := range answers {
		for i, d := range a.v {
			found[i].Dynamic = found[i].Dynamic || d
		}
	}
	return nil
}
