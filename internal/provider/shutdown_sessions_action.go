package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

var (
	_ action.Action              = (*shutdownSessionsAction)(nil)
	_ action.ActionWithConfigure = (*shutdownSessionsAction)(nil)
)

func newShutdownSessionsAction() action.Action { return &shutdownSessionsAction{} }

// shutdownSessionsAction closes the sessions of servers on every socket
// (`shutdown sessions server`), leaving their state alone.
type shutdownSessionsAction struct {
	fleet *fleet.Fleet
}

type shutdownSessionsModel struct {
	Backend types.String `tfsdk:"backend"`
	Servers []string     `tfsdk:"servers"`
}

func (a *shutdownSessionsAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_shutdown_sessions"
}

func (a *shutdownSessionsAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Closes every session still using the servers (`shutdown sessions server`) on every " +
			"configured socket, after checking every socket first (reachable, `level admin`, every server exists); " +
			"their state is left as it is. On a server that is `ready`, new sessions arrive at once: put it in `drain` " +
			"or `maint` first (`haproxy_server_state`) to empty it.",
		Attributes: actionServers(),
	}
}

func (a *shutdownSessionsAction) Configure(_ context.Context, req action.ConfigureRequest, resp *action.ConfigureResponse) {
	a.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

func (a *shutdownSessionsAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	var m shutdownSessionsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !requireFleet(a.fleet, &resp.Diagnostics) {
		return
	}
	ch := fleet.StateChange{Backend: m.Backend.ValueString(), Servers: m.Servers, Shutdown: true}
	invokeChange(ctx, a.fleet, ch, "shut down the sessions of "+strings.Join(qualified(ch), ", "), resp)
}
