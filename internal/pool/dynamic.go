package pool

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Dynamic is a pool whose members are dynamic servers named
// <Prefix><member key>: no slots to allocate, and no claim to race for,
// since HAProxy refuses a second server of one name.
type Dynamic struct {
	Backend string
	Prefix  string
	Members map[string]Member
	// Recorded is where each member was last recorded (by key), for the
	// members that exist: the server is ours where it holds this.
	Recorded map[string]netip.AddrPort
	// Leaving are members no longer wanted whose servers may still exist
	// (by key, with the address they were recorded at).
	Leaving map[string]netip.AddrPort
	Grace   fleet.Grace
	// Writer identifies the pool object (see handover.go).
	Writer string
}

// ServerName is the server a member key becomes.
func (p Dynamic) ServerName(key string) string { return p.Prefix + key }

// dynamicPoolParallelism bounds how many members are added, changed or
// removed at once (each costs a few connections per socket; HAProxy's CLI
// has ten).
const dynamicPoolParallelism = 4

// ApplyDynamic removes leaving members (gracefully, as RemoveServer),
// changes members whose values changed (as ApplyServer) and adds new ones
// (as AddServer). done lists the members whose server exists now (key →
// server), including any that failed to change: they are the caller's to
// record, so that nothing added is forgotten. err names every member that
// failed, and why.
func ApplyDynamic(ctx context.Context, fl *fleet.Fleet, p Dynamic) (done map[string]string, left []string, warnings []string, err error) {
	return fleetOps{fl}.applyDynamic(ctx, p)
}

func (f fleetOps) applyDynamic(ctx context.Context, p Dynamic) (done map[string]string, left []string, warnings []string, err error) {
	for key := range p.Members {
		if e := haproxy.ValidateName("server", p.ServerName(key)); e != nil {
			return nil, nil, nil, fmt.Errorf("member %q: %w", key, e)
		}
	}
	var mu sync.Mutex
	done = map[string]string{}
	var failed []string
	note := func(key string, err error, warn ...string) {
		mu.Lock()
		defer mu.Unlock()
		for _, w := range warn {
			warnings = append(warnings, fmt.Sprintf("member %q: %s", key, w))
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("member %q (%s/%s): %v", key, p.Backend, p.ServerName(key), err))
		}
	}

	// Leaving members first: a key that is removed and re-added under
	// another name frees capacity before anything is added.
	run := newBounded(dynamicPoolParallelism)
	for _, key := range slices.Sorted(maps.Keys(p.Leaving)) {
		run.do(func() {
			w, err := f.RemoveServer(ctx, p.Backend, p.ServerName(key), nil, fleet.Holding(p.Writer, p.Leaving[key]), p.Grace)
			note(key, err, w...)
			if err == nil {
				mu.Lock()
				left = append(left, key)
				mu.Unlock()
			}
		})
	}
	run.wait()

	for _, key := range slices.Sorted(maps.Keys(p.Members)) {
		run.do(func() {
			exists, w, err := f.applyDynamicMember(ctx, p, key)
			if exists {
				mu.Lock()
				done[key] = p.ServerName(key)
				mu.Unlock()
			}
			note(key, err, w...)
		})
	}
	run.wait()
	sort.Strings(warnings)
	if len(failed) > 0 {
		sort.Strings(failed)
		return done, left, warnings, fmt.Errorf("%s", strings.Join(failed, "\n"))
	}
	return done, left, warnings, nil
}

// applyDynamicMember adds a new member or changes an existing one. A new
// member that some socket refused is taken back where it was added (it is
// in maint there, and ours), so the next apply adds it everywhere instead of
// finding the instances split. exists says the member's server exists now,
// somewhere: it is the caller's to record.
func (f fleetOps) applyDynamicMember(ctx context.Context, p Dynamic, key string) (exists bool, warnings []string, err error) {
	m := p.Members[key]
	d := fleet.Desired{Backend: p.Backend, Server: p.ServerName(key), Addr: m.Addr, Port: &m.Port, State: m.State, Weight: m.Weight, Grace: p.Grace, Owner: fleet.Holding(p.Writer)}
	if recorded, ok := p.Recorded[key]; ok {
		d.Owner.Recorded = append(d.Owner.Recorded, recorded)
		out, err := f.ApplyServer(ctx, d)
		if err == nil && len(out.Failed) > 0 {
			err = out.Failed
		}
		return true, out.Unfinished, err
	}
	out, err := f.AddServer(ctx, fleet.Dynamic{Desired: d})
	if err == nil && len(out.Failed) > 0 {
		err = out.Failed
	}
	warnings = out.Unfinished
	if len(out.Adopted) > 0 {
		warnings = append(warnings, fmt.Sprintf("member %q: %s/%s already existed on %s with the member's address, added by an earlier run that did not finish; it was adopted",
			key, p.Backend, d.Server, strings.Join(out.Adopted, ", ")))
	}
	if len(out.Added) > 0 && len(out.Added) < len(f.Clients()) {
		// A server left alone there (someone else's address by now) is
		// said, not silently forgotten.
		w, rerr := f.RemoveServer(ctx, p.Backend, d.Server, out.Added, fleet.Holding(p.Writer, netip.AddrPortFrom(m.Addr, uint16(m.Port))), fleet.Grace{})
		warnings = append(warnings, w...)
		if rerr == nil {
			out.Added = nil
		}
	}
	return len(out.Added) > 0, warnings, err
}

// ReadDynamic reads every recorded member's server on every socket
// (one shared read per socket). A member gone on every socket is left out
// of the result (a reload drops dynamic servers: the plan adds it again);
// one gone on some sockets only is an error naming them.
func ReadDynamic(ctx context.Context, fl *fleet.Fleet, p Dynamic, prior map[string]fleet.Values) (map[string]fleet.Reading, error) {
	f := fleetOps{fl}
	out := map[string]fleet.Reading{}
	var failed []string
	for _, key := range slices.Sorted(maps.Keys(p.Recorded)) {
		name := p.ServerName(key)
		obs := f.Observe(ctx, p.Backend, name)
		if have, lost := f.FoundAndMissing(obs); len(have) > 0 && len(lost) > 0 {
			failed = append(failed, fmt.Sprintf("member %q: %s/%s exists on %s but not on %s (a reload or restart there dropped it)",
				key, p.Backend, name, strings.Join(have, ", "), strings.Join(lost, ", ")))
			continue
		}
		var pr *fleet.Values
		if v, ok := prior[key]; ok {
			pr = &v
		}
		rd, err := f.Reconcile(p.Backend, name, pr, obs)
		if err != nil {
			failed = append(failed, fmt.Sprintf("member %q: %v", key, err))
			continue
		}
		if !rd.Gone {
			out[key] = rd
		}
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(failed, "\n"))
	}
	return out, nil
}

// bounded runs functions concurrently, at most n at a time.
type bounded struct {
	wg  sync.WaitGroup
	sem chan struct{}
}

func newBounded(n int) *bounded { return &bounded{sem: make(chan struct{}, n)} }

func (b *bounded) do(fn func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.sem <- struct{}{}
		defer func() { <-b.sem }()
		fn()
	}()
}

// wait returns once every function given to do has returned.
func (b *bounded) wait() { b.wg.Wait() }
