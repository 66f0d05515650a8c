package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

var (
	_ resource.Resource                   = (*backendServerResource)(nil)
	_ resource.ResourceWithConfigure      = (*backendServerResource)(nil)
	_ resource.ResourceWithImportState    = (*backendServerResource)(nil)
	_ resource.ResourceWithValidateConfig = (*backendServerResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*backendServerResource)(nil)
	_ resource.ResourceWithIdentity       = (*backendServerResource)(nil)
)

func newBackendServerResource() resource.Resource { return &backendServerResource{} }

type backendServerResource struct {
	fleet *fleet.Fleet
}

func (r *backendServerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_backend_server"
}

func (r *backendServerResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Points one HAProxy server (typically a `server-template` slot) at an address and " +
			"sets its state and weight through the runtime API, on every configured socket, without a reload. " +
			"Deleting the resource puts the server in `maint` and parks it back on the address it had before.",
		Attributes: serverAttributes(),
	}
}

func (r *backendServerResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identitySchema(identityServer, "Name of the server in the backend.")
}

func (r *backendServerResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg backendServerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || cfg.WaitHealthyTimeout.IsUnknown() || cfg.HealthCheck.IsUnknown() {
		return
	}
	wait, err := parseDuration(cfg.WaitHealthyTimeout.ValueString(), true)
	if err == nil && wait > 0 && !cfg.HealthCheck.IsNull() && !cfg.HealthCheck.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("wait_healthy_timeout"), "Contradictory settings",
			"wait_healthy_timeout waits for a passing health check, but health_check = false turns checks off.")
	}
}

func (r *backendServerResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

func (r *backendServerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan backendServerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.ID = types.StringValue(plan.Backend.ValueString() + "/" + plan.Server.ValueString())
	var configuredHealth types.Bool
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("health_check"), &configuredHealth)...)
	applied := appliedRecord{Writer: newWriterID()}
	out, ok := writeServer(ctx, r.fleet, &plan, configuredHealth, fleet.Holding(applied.Writer), &resp.Diagnostics)
	if !ok {
		return // pre-flight failed: nothing was written, nothing to record
	}
	privateOrigin.set(ctx, resp.Private, out.Origins, &resp.Diagnostics)
	setApplied(ctx, resp.Private, applied.after(plan.values(), out.Everywhere()), &resp.Diagnostics)
	setProcesses(ctx, resp.Private, recordOf(out.Processes), &resp.Diagnostics)
	// Recorded even when some socket failed: Terraform then marks the resource
	// tainted, and the next apply parks it and starts again.
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	setIdentity(ctx, resp.Identity, identityServer, plan.Backend, plan.Server, &resp.Diagnostics)
}

func (r *backendServerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, prior backendServerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var configuredHealth types.Bool
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("health_check"), &configuredHealth)...)
	applied := getApplied(ctx, req.Private, &resp.Diagnostics)
	if applied.Writer == "" { // recorded before writer ids existed
		applied.Writer = newWriterID()
	}
	owner := serverOwner(ctx, prior.recorded(), req.Private, &resp.Diagnostics)
	owner.Writer = applied.Writer
	out, ok := writeServer(ctx, r.fleet, &plan, configuredHealth, owner, &resp.Diagnostics)
	if !ok {
		resp.Diagnostics.Append(resp.State.Set(ctx, &prior)...)
		return
	}
	// On a partial failure the planned values are kept: the next refresh sees
	// the sockets that did not take the change as drift, and apply converges.
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	setIdentity(ctx, resp.Identity, identityServer, plan.Backend, plan.Server, &resp.Diagnostics)
	updatedPrivate(ctx, r.fleet, req, resp, out)
	setApplied(ctx, resp.Private, applied.after(plan.values(), out.Everywhere()), &resp.Diagnostics)
}

func (r *backendServerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state, ok := loadState[backendServerModel](ctx, req.State, r.fleet, &resp.Diagnostics)
	if !ok {
		return
	}
	backend, server := state.Backend.ValueString(), state.Server.ValueString()
	gone, ok := refreshServer(ctx, r.fleet, &state, r.fleet.Observe(ctx, backend, server), req.Private, resp)
	switch {
	case !ok:
	case gone:
		resp.Diagnostics.AddWarning(fmt.Sprintf("%s/%s no longer exists", backend, server),
			"Every socket confirmed that the server (or its backend) is gone, so it was removed from the state. "+
				"If the HAProxy configuration changed, update or remove this resource.")
		// The framework wants an identity even for a resource that is gone
		// (Terraform before 1.12 sends none to copy).
		setIdentity(ctx, resp.Identity, identityServer, state.Backend, state.Server, &resp.Diagnostics)
		resp.State.RemoveResource(ctx)
	default:
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		setIdentity(ctx, resp.Identity, identityServer, state.Backend, state.Server, &resp.Diagnostics)
	}
}

// ModifyPlan brings instances that disagree on an unset port or weight back
// to the value last recorded (see privateConverge), so the plan shows it;
// then words what the refresh saw differ (see drift.go), now that what
// apply will do is known.
func (r *backendServerResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	modifyServerPlan(ctx, r.fleet, req, resp)
	if !resp.Diagnostics.HasError() {
		preflightPlan(ctx, r.fleet, req, resp)
	}
}

func (r *backendServerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	state, ok := loadState[backendServerModel](ctx, req.State, r.fleet, &resp.Diagnostics)
	if !ok {
		return
	}
	origins := privateOrigin.get(ctx, req.Private, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	backend, server := state.Backend.ValueString(), state.Server.ValueString()
	// What this resource wrote counts as its own whatever the last refresh
	// recorded: after a destroy that parked one instance and not another,
	// the state may hold the parked instance's placeholder.
	owner := serverOwner(ctx, state.recorded(), req.Private, &resp.Diagnostics)
	warnings, err := r.fleet.Park(ctx, backend, server, origins, owner, grace(state))
	for _, w := range warnings {
		resp.Diagnostics.AddWarning(fmt.Sprintf("Parking %s/%s", backend, server), w)
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot take %s/%s out of service on every socket", backend, server),
			err.Error()+"\n\nThe resource stays in the state; run apply again once the sockets answer.")
	}
}

func (r *backendServerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id, ok := importedName(ctx, req, identityServer, "server", &resp.Diagnostics)
	if !ok {
		return
	}
	backend, server := id.backend, id.name
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), backend+"/"+server)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("backend"), backend)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("server"), server)...)
	// Settings that only shape how changes are made take their defaults.
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("drain_timeout"), "0s")...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("drain_timeout_action"), drainContinue)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("shutdown_sessions_on_delete"), false)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("wait_healthy_timeout"), "0s")...)
}
