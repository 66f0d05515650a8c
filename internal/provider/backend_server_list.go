package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

var (
	_ list.ListResource              = (*backendServerList)(nil)
	_ list.ListResourceWithConfigure = (*backendServerList)(nil)
)

func newBackendServerList() list.ListResource { return &backendServerList{} }

// backendServerList finds the servers a haproxy_backend_server could adopt:
// every server that is not parked, and neither a pool's slot nor a dynamic
// server (their own list resources show those).
type backendServerList struct {
	fleet *fleet.Fleet
}

func (l *backendServerList) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_backend_server"
}

func (l *backendServerList) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = listConfigSchema("Every server that is not parked (in `maint` on the provider's `placeholder` on every " +
		"instance), read on every socket: the servers set by hand that `haproxy_backend_server` can adopt. A pool's " +
		"claimed slots and dynamic servers are left to the `haproxy_backend_pool` and `haproxy_dynamic_server` lists. " +
		"Where instances disagree, the result says so and the generated configuration leaves the value for you to choose.")
}

func (l *backendServerList) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	l.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

// adoptable is what this list shows (the dynamic flag is probed for these).
func (l *backendServerList) adoptable(fd fleet.Found) bool {
	return !fd.Claimed && !fd.Parked(l.fleet.Placeholder()) && hasAddress(fd)
}

// hasAddress: haproxy_backend_server manages IP addresses only.
func hasAddress(fd fleet.Found) bool {
	for _, sv := range fd.PerSocket {
		if sv.Values.Addr != "" {
			return true
		}
	}
	return false
}

func (l *backendServerList) List(ctx context.Context, req list.ListRequest, resp *list.ListResultsStream) {
	found, diags := survey(ctx, l.fleet, req, l.adoptable)
	resp.Results = stream(diags, req.Limit, func(yield func(list.ListResult) bool) {
		for _, fd := range found {
			if !l.adoptable(fd) || fd.Dynamic {
				continue
			}
			r := req.NewListResult(ctx)
			setIdentity(ctx, r.Identity, identityServer, types.StringValue(fd.Backend), types.StringValue(fd.Server), &r.Diagnostics)
			r.DisplayName = serverDisplayName(fd)
			r.Diagnostics.Append(disagreeWarning("configuration", fd,
				"the address or state as a sentence that does not validate, the port, weight or health checks unset (each instance keeps its own).",
				fleet.Attrs...)...)
			if req.IncludeResource {
				m := adoptedServer(fd)
				r.Diagnostics.Append(r.Resource.Set(ctx, &m)...)
			}
			if !yield(r) {
				return
			}
		}
	})
}

// serverDisplayName is what terraform query prints for a server.
func serverDisplayName(fd fleet.Found) string {
	name := fd.Backend + "/" + fd.Server
	if d := disagreement(fd, fleet.Attrs...); d != "" {
		return fmt.Sprintf("%s: instances disagree (%s)", name, d)
	}
	v := fd.PerSocket[0].Values
	return fmt.Sprintf("%s: %s:%d %s, weight %d", name, v.Addr, v.Port, v.State, v.Weight)
}

// adoptedServer is the resource a generated configuration declares: what
// every instance holds, so that the plan after the import is empty. What
// they disagree on is never decided here: choosing would move a server.
func adoptedServer(fd fleet.Found) backendServerModel {
	v := fd.PerSocket[0].Values
	m := backendServerModel{
		ID:      types.StringValue(fd.Backend + "/" + fd.Server),
		Backend: types.StringValue(fd.Backend),
		Server:  types.StringValue(fd.Server),
		Address: types.StringValue(v.Addr), Port: types.Int64Value(int64(v.Port)),
		State: types.StringValue(string(v.State)), Weight: types.Int64Value(int64(v.Weight)),
		HealthCheck:  types.BoolValue(v.Health),
		DrainTimeout: types.StringValue("0s"), DrainTimeoutAction: types.StringValue(drainContinue),
		ShutdownSessionsOnDelete: types.BoolValue(false), WaitHealthyTimeout: types.StringValue("0s"),
	}
	if _, ok := fd.Agreed(fleet.AttrAddress); !ok || len(fd.Missing) > 0 {
		m.Address = types.StringValue(undecided(fd, fleet.AttrAddress))
	}
	if _, ok := fd.Agreed(fleet.AttrState); !ok {
		m.State = types.StringValue(undecided(fd, fleet.AttrState))
	}
	if _, ok := fd.Agreed(fleet.AttrPort); !ok {
		m.Port = types.Int64Null()
	}
	if _, ok := fd.Agreed(fleet.AttrWeight); !ok {
		m.Weight = types.Int64Null()
	}
	if _, ok := fd.Agreed(fleet.AttrHealth); !ok {
		m.HealthCheck = types.BoolNull()
	}
	return m
}
