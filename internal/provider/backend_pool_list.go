package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

var (
	_ list.ListResource              = (*backendPoolList)(nil)
	_ list.ListResourceWithConfigure = (*backendPoolList)(nil)
)

func newBackendPoolList() list.ListResource { return &backendPoolList{} }

// backendPoolList finds the `server-template` prefixes that serve: one
// result per backend and prefix, its serving slots as members keyed by slot
// name, as an import of the pool adopts them.
type backendPoolList struct {
	fleet *fleet.Fleet
}

func (l *backendPoolList) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_backend_pool"
}

func (l *backendPoolList) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = listConfigSchema("One result per slot prefix (servers named `<prefix><number>`, as a `server-template` " +
		"makes them) that has a slot in service, read on every socket: the members are the slots not in `maint`, keyed " +
		"by slot name, as importing the pool adopts them. Dynamic servers are left out. Where instances disagree about a " +
		"member, the generated configuration leaves its address for you to choose.")
}

func (l *backendPoolList) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	l.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

// poolGroup is one backend's slots of one prefix.
type poolGroup struct {
	backend, prefix string
	serving         []fleet.Found
}

func (l *backendPoolList) List(ctx context.Context, req list.ListRequest, resp *list.ListResultsStream) {
	found, diags := survey(ctx, l.fleet, req, func(fd fleet.Found) bool { _, ok := fleet.SlotOf(fd.Server); return ok })
	var groups []*poolGroup
	index := map[string]*poolGroup{}
	for _, fd := range found {
		prefix, ok := fleet.SlotOf(fd.Server)
		if !ok || fd.Dynamic {
			continue
		}
		g := index[fd.Backend+"/"+prefix]
		if g == nil {
			g = &poolGroup{backend: fd.Backend, prefix: prefix}
			index[fd.Backend+"/"+prefix] = g
			groups = append(groups, g)
		}
		// Serving as the pool's import sees it: not in maint on the first
		// instance.
		if fd.PerSocket[0].Values.State != haproxy.StateMaint && hasAddress(fd) {
			g.serving = append(g.serving, fd)
		}
	}
	resp.Results = stream(diags, req.Limit, func(yield func(list.ListResult) bool) {
		for _, g := range groups {
			if len(g.serving) == 0 {
				continue
			}
			r := req.NewListResult(ctx)
			setIdentity(ctx, r.Identity, identitySlotPrefix, types.StringValue(g.backend), types.StringValue(g.prefix), &r.Diagnostics)
			var split, claimed []string
			m := backendPoolModel{ID: types.StringValue(g.backend + "/" + g.prefix), Backend: types.StringValue(g.backend),
				Mode: types.StringValue(poolSlots), SlotPrefix: types.StringValue(g.prefix),
				Placeholder: types.StringValue(l.fleet.Placeholder().String()), DrainTimeout: types.StringValue("0s"),
				Members: map[string]poolMember{}}
			assigned := map[string]string{}
			for _, fd := range g.serving {
				s := adoptedServer(fd)
				m.Members[fd.Server] = poolMember{Address: s.Address, Port: s.Port, State: s.State, Weight: types.Int64Null()}
				assigned[fd.Server] = fd.Server
				if d := disagreement(fd, fleet.AttrAddress, fleet.AttrPort, fleet.AttrState); d != "" {
					split = append(split, fd.Server+": "+d)
					r.Diagnostics.Append(disagreeWarning("pool", fd, "the member's address or state as a sentence that does not validate, its port unset (it is required).",
						fleet.AttrAddress, fleet.AttrPort, fleet.AttrState)...)
				}
				if fd.Claimed {
					claimed = append(claimed, fd.Server)
				}
			}
			m.Slots = slotsValue(assigned)
			r.DisplayName = fmt.Sprintf("%s/%s: %d slots serving", g.backend, g.prefix, len(g.serving))
			if len(split) > 0 {
				r.DisplayName += "; instances disagree (" + strings.Join(split, "; ") + ")"
			}
			if len(claimed) > 0 {
				r.DisplayName += "; claimed by a pool already: " + strings.Join(claimed, ", ")
				r.Diagnostics.AddWarning(fmt.Sprintf("%s/%s: slots claimed by a pool", g.backend, g.prefix),
					"A pool (another workspace, or an earlier run) holds claim markers on "+strings.Join(claimed, ", ")+
						". Importing this prefix as a second pool would make two pools manage those slots; import it where that pool is managed instead.")
			}
			if req.IncludeResource {
				r.Diagnostics.Append(r.Resource.Set(ctx, &m)...)
			}
			if !yield(r) {
				return
			}
		}
	})
}
