package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

var (
	_ action.Action                   = (*serverStateAction)(nil)
	_ action.ActionWithConfigure      = (*serverStateAction)(nil)
	_ action.ActionWithValidateConfig = (*serverStateAction)(nil)
)

func newServerStateAction() action.Action { return &serverStateAction{} }

// serverStateAction puts servers in drain, maint or ready on every socket:
// the day-2 change operators make by hand (`set server … state`), with the
// waits the resources have.
type serverStateAction struct {
	fleet *fleet.Fleet
}

type serverStateModel struct {
	Backend          types.String `tfsdk:"backend"`
	Servers          []string     `tfsdk:"servers"`
	State            types.String `tfsdk:"state"`
	WaitSessions     types.String `tfsdk:"wait_sessions_timeout"`
	WaitHealthy      types.String `tfsdk:"wait_healthy_timeout"`
	ShutdownSessions types.Bool   `tfsdk:"shutdown_sessions"`
}

func (a *serverStateAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_server_state"
}

// actionServers are the backend and servers every action names.
func actionServers() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"backend": schema.StringAttribute{
			Required:            true,
			MarkdownDescription: "Name of the backend, as in the HAProxy configuration (for example `app`).",
			Validators:          nameValidators(),
		},
		"servers": schema.ListAttribute{
			Required:    true,
			ElementType: types.StringType,
			MarkdownDescription: "Names of the servers, as in the HAProxy configuration (for example `[\"websrv1\"]`). " +
				"Every one must exist on every socket, or nothing is changed.",
			Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
				listvalidator.ValueStringsAre(nameValidators()...)},
		},
	}
}

func (a *serverStateAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	attrs := actionServers()
	attrs["state"] = schema.StringAttribute{
		Required: true,
		MarkdownDescription: "`drain` (no new traffic, sessions go on), `maint` (out of service) or `ready`. A server " +
			"parked on the provider's `placeholder` is never made `ready`.",
		Validators: []validator.String{stringvalidator.OneOf(
			string(haproxy.StateReady), string(haproxy.StateDrain), string(haproxy.StateMaint))},
	}
	attrs["wait_sessions_timeout"] = schema.StringAttribute{
		Optional: true,
		MarkdownDescription: "With `drain` or `maint`: wait up to this long (such as `60s`) for the servers' sessions " +
			"to end on every socket; sessions still open then fail the action (the state stays). Unset or `0s`: no wait.",
		Validators: []validator.String{durationValidator{allowZero: true}},
	}
	attrs["wait_healthy_timeout"] = schema.StringAttribute{
		Optional: true,
		MarkdownDescription: "With `ready`: first hold each server in `drain`, with its health forced down, and wait up " +
			"to this long for a health check made after the change to pass on every socket; only then make it `ready` " +
			"anywhere. A check that does not pass in time fails the action and the server stays in `drain`. Needs " +
			"health checks (`check` on the server line). Unset or `0s`: no wait.",
		Validators: []validator.String{durationValidator{allowZero: true}},
	}
	attrs["shutdown_sessions"] = schema.BoolAttribute{
		Optional: true,
		MarkdownDescription: "After the state is set (and any wait is over), close every session still using the " +
			"servers (`shutdown sessions server`). Default `false`.",
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Puts servers in `drain`, `maint` or `ready` on every configured socket, optionally " +
			"waiting until their sessions end or until a fresh health check passed. Every socket is checked first " +
			"(reachable, `level admin`, every server exists and holds an IP address); if one fails, nothing is changed. " +
			"Only the state changes: never the address or the weight. An action records nothing: if a " +
			"`haproxy_backend_server` manages the same server, its next plan shows the action's change as drift and " +
			"applying restores the configured state.",
		Attributes: attrs,
	}
}

func (a *serverStateAction) Configure(_ context.Context, req action.ConfigureRequest, resp *action.ConfigureResponse) {
	a.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

func (a *serverStateAction) ValidateConfig(ctx context.Context, req action.ValidateConfigRequest, resp *action.ValidateConfigResponse) {
	var m serverStateModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.State.IsUnknown() {
		return
	}
	st := m.State.ValueString()
	if nonZeroDuration(m.WaitHealthy) && st != string(haproxy.StateReady) {
		resp.Diagnostics.AddAttributeError(path.Root("wait_healthy_timeout"), "Contradictory settings",
			"wait_healthy_timeout waits before a server becomes ready; state is "+st+".")
	}
	if nonZeroDuration(m.WaitSessions) && st == string(haproxy.StateReady) {
		resp.Diagnostics.AddAttributeError(path.Root("wait_sessions_timeout"), "Contradictory settings",
			"wait_sessions_timeout waits for the sessions of a server taken out of rotation; state is ready.")
	}
}

// nonZeroDuration reports a duration that is given and not zero.
func nonZeroDuration(v types.String) bool {
	if v.IsNull() || v.IsUnknown() {
		return false
	}
	d, err := parseDuration(v.ValueString(), true)
	return err == nil && d > 0
}

func (a *serverStateAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	var m serverStateModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !requireFleet(a.fleet, &resp.Diagnostics) {
		return
	}
	waitSessions, _ := parseDuration(m.WaitSessions.ValueString(), true) // validated; null reads as ""
	waitHealthy, _ := parseDuration(m.WaitHealthy.ValueString(), true)
	ch := fleet.StateChange{
		Backend: m.Backend.ValueString(), Servers: m.Servers, State: haproxy.State(m.State.ValueString()),
		WaitSessions: waitSessions, WaitHealthy: waitHealthy, Shutdown: m.ShutdownSessions.ValueBool(),
	}
	invokeChange(ctx, a.fleet, ch, fmt.Sprintf("set %s %s", strings.Join(qualified(ch), ", "), ch.State), resp)
}

// qualified names the servers as backend/server.
func qualified(ch fleet.StateChange) []string {
	out := make([]string, len(ch.Servers))
	for i, s := range ch.Servers {
		out[i] = ch.Backend + "/" + s
	}
	return out
}

// invokeChange runs a state change for an action, reporting progress and
// its outcome in one wording for every action.
func invokeChange(ctx context.Context, f *fleet.Fleet, ch fleet.StateChange, what string, resp *action.InvokeResponse) {
	ch.Progress = func(msg string) {
		if resp.SendProgress != nil {
			resp.SendProgress(action.InvokeProgressEvent{Message: msg})
		}
	}
	warnings, err := f.ChangeState(ctx, ch)
	for _, w := range warnings {
		resp.Diagnostics.AddWarning("HAProxy socket skipped", w)
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot "+what+" on every HAProxy socket", err.Error())
		return
	}
	ch.Progress(fmt.Sprintf("done: %s on %s", what, f.SocketNames(f.Sockets())))
}
