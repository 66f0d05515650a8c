package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

var (
	_ list.ListResource              = (*dynamicServerList)(nil)
	_ list.ListResourceWithConfigure = (*dynamicServerList)(nil)
)

func newDynamicServerList() list.ListResource { return &dynamicServerList{} }

// dynamicServerList finds the servers added at run time (`add server`).
type dynamicServerList struct {
	fleet *fleet.Fleet
}

func (l *dynamicServerList) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dynamic_server"
}

func (l *dynamicServerList) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = listConfigSchema("Every server added at run time (`add server`), read on every socket. HAProxy's " +
		"show commands do not tell such a server from one of the configuration, so each server is asked with " +
		"`set server <b>/<s> ssl probe`, which HAProxy refuses for every server without changing anything, in words " +
		"that say which kind it is; this needs `level admin`. Options HAProxy does not report (`check_interval`, " +
		"`rise`, `fall`, `sni`, `maxconn`, …) are left unset.")
}

func (l *dynamicServerList) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	l.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

func (l *dynamicServerList) List(ctx context.Context, req list.ListRequest, resp *list.ListResultsStream) {
	found, diags := survey(ctx, l.fleet, req, func(fleet.Found) bool { return true })
	resp.Results = stream(diags, req.Limit, func(yield func(list.ListResult) bool) {
		for _, fd := range found {
			if !fd.Dynamic || !hasAddress(fd) {
				continue
			}
			r := req.NewListResult(ctx)
			setIdentity(ctx, r.Identity, identityServer, types.StringValue(fd.Backend), types.StringValue(fd.Server), &r.Diagnostics)
			r.DisplayName = serverDisplayName(fd)
			r.Diagnostics.Append(disagreeWarning("configuration", fd,
				"the address or state as a sentence that does not validate, the port unset (it is required), the weight or health checks unset.",
				fleet.Attrs...)...)
			if req.IncludeResource {
				m := dynamicServerModel{backendServerModel: adoptedServer(fd),
					Check: types.BoolValue(fd.Row.CheckState&haproxy.CheckConfigured != 0), SSL: types.BoolValue(fd.Row.UseSSL),
					AgentPort: types.Int64Null()}
				if fd.Row.AgentPort > 0 {
					m.AgentPort = types.Int64Value(int64(fd.Row.AgentPort))
				}
				r.Diagnostics.Append(r.Resource.Set(ctx, &m)...)
			}
			if !yield(r) {
				return
			}
		}
	})
}
