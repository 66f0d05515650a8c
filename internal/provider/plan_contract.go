package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

// The plan is the contract: what the plan of a server resource promises is
// what apply does, so whatever a read can tell is told at plan time. This
// file is that part of the plan: one slot per resource, nothing serving on
// the placeholder, the pre-flight of a create or a move, and instances that
// disagree where nothing decides.

// planOneSlot refuses a second resource object planning a write of the
// same slot in this run (see fleet/planned.go). Planned deletes do not
// count.
func planOneSlot(ctx context.Context, f *fleet.Fleet, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if f == nil || req.Plan.Raw.IsNull() {
		return
	}
	var backend, server types.String
	resp.Diagnostics.Append(resp.Plan.GetAttribute(ctx, path.Root("backend"), &backend)...)
	resp.Diagnostics.Append(resp.Plan.GetAttribute(ctx, path.Root("server"), &server)...)
	if backend.IsUnknown() || server.IsUnknown() || resp.Diagnostics.HasError() {
		return
	}
	shown := privatePlanToken.get(ctx, req.Private, &resp.Diagnostics)
	token, err := f.PlanWrite(backend.ValueString(), server.ValueString(), shown)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("server"), "One server, one resource", err.Error())
		return
	}
	privatePlanToken.set(ctx, resp.Private, token, &resp.Diagnostics)
}

// preflightPlan checks at plan time what apply's pre-flight would: the
// placeholder rule for every planned write, and for a create or a move the
// sockets themselves (read-only, from the read cache: a stats socket, level
// admin, the backend and the server exist, the slot is free or this
// object's), so that a plan that passed review applies.
func preflightPlan(ctx context.Context, f *fleet.Fleet, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if f == nil || req.Plan.Raw.IsNull() {
		return
	}
	var plan backendServerModel
	resp.Diagnostics.Append(resp.Plan.Get(ctx, &plan)...)
	checkPlannedWrite(ctx, f, plan, true, req, resp)
}

// refuseDynamicOnPlaceholder is the placeholder rule of the plan for a
// dynamic server (its add has its own pre-flight at apply: the name must
// not exist yet).
func refuseDynamicOnPlaceholder(ctx context.Context, f *fleet.Fleet, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if f == nil || req.Plan.Raw.IsNull() {
		return
	}
	var plan dynamicServerModel
	resp.Diagnostics.Append(resp.Plan.Get(ctx, &plan)...)
	checkPlannedWrite(ctx, f, plan.backendServerModel, false, req, resp)
}

// checkPlannedWrite refuses a plan that would serve on the placeholder and,
// with sockets, runs the pre-flight of a create or a move.
func checkPlannedWrite(ctx context.Context, f *fleet.Fleet, plan backendServerModel, sockets bool, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if resp.Diagnostics.HasError() || plan.Backend.IsUnknown() || plan.Server.IsUnknown() || plan.Address.IsUnknown() || plan.State.IsUnknown() {
		return // known at apply, where its own pre-flight checks it
	}
	var configuredHealth types.Bool
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("health_check"), &configuredHealth)...)
	d, err := desired(plan, configuredHealth)
	if err != nil {
		return // the attribute validators said so already
	}
	id := d.Backend + "/" + d.Server
	if err := f.PlaceholderCheck(d); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("address"), fmt.Sprintf("%s would serve on the placeholder", id), err.Error())
		return
	}
	if !sockets {
		return
	}
	var prior backendServerModel
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
		moves := !plan.Address.Equal(prior.Address) || !plan.Port.Equal(prior.Port)
		if !moves || resp.Diagnostics.HasError() {
			return // Read has just read every socket; apply checks again
		}
		d.Owner = serverOwner(ctx, prior.recorded(), req.Private, &resp.Diagnostics)
	}
	warnings, err := f.PlanCheck(ctx, d)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Pre-flight check failed for %s: this plan would fail at apply", id),
			err.Error()+checksHint(err)+"\n\nNothing was changed on any socket.")
		return
	}
	if len(warnings) > 0 {
		resp.Diagnostics.AddWarning(fmt.Sprintf("%s not checked on every HAProxy instance", id), skippedDetail(warnings))
	}
}

// undecidedAttrs are the attributes a plan cannot settle on its own when
// the configuration leaves them unset and the instances that serve
// disagree: apply would have to pick one instance's value for the others,
// moving or reweighing a server that serves.
var undecidedAttrs = []fleet.Attr{fleet.AttrPort, fleet.AttrWeight, fleet.AttrHealth}

// refuseUndecided stops the plan where the instances disagree on an
// attribute the configuration leaves unset and no write of this object
// decides it (after an import, until a write took the object's values on
// every socket): it names each instance's value and asks the user to
// choose, as the configuration `terraform query` generates does.
func refuseUndecided(ctx context.Context, id string, rep *driftReport, converging map[fleet.Attr]bool, req resource.ModifyPlanRequest, diags *diag.Diagnostics) {
	if rep == nil || !importedHere(ctx, req.Private, diags) {
		return
	}
	for _, a := range undecidedAttrs {
		if converging[a] || !rep.splitServing(a) {
			continue
		}
		name := hclName[a]
		diags.AddAttributeError(path.Root(name), fmt.Sprintf("%s: the HAProxy instances disagree on %s", id, name),
			fmt.Sprintf("%s %s. The configuration leaves %s unset, so nothing says which is right, and apply would have to change "+
				"the others to one instance's value while they serve. Set %s to the value every instance should have (or "+
				"change the odd instance by hand); the plan then shows what changes where. Nothing was changed.\n\n"+
				"To remove the resource instead, delete the resource block and apply: it parks every instance that holds "+
				"a value this resource imported. (`terraform destroy` plans the configuration first and stops here too, "+
				"unless run with -refresh=false.)",
				name, strings.Join(rep.perInstance(a), ", "), name, name))
	}
}

// warnImported says, on import, what the instances hold where they do not
// simply agree: the values they disagree on (each is this object's now),
// and the instances that are parked (they contribute nothing).
func warnImported(id string, r fleet.Reading, diags *diag.Diagnostics) {
	var serving, parked []fleet.SocketValues
	for _, sv := range r.PerSocket {
		if sv.Parked {
			parked = append(parked, sv)
		} else {
			serving = append(serving, sv)
		}
	}
	if d := disagreement(fleet.Found{PerSocket: serving, Split: r.Split}, r.Split...); d != "" && len(serving) > 1 {
		diags.AddWarning(id+": the HAProxy instances disagree",
			d+"\n\nThe import recorded each instance's value as this resource's: destroy parks every one of them. "+
				"Where the configuration leaves one of these unset, the plan stops until you choose a value.")
	}
	if len(parked) > 0 && len(serving) > 0 {
		names := make([]string, len(parked))
		for i, sv := range parked {
			names[i] = sv.Name
		}
		diags.AddWarning(fmt.Sprintf("%s is parked on %s", id, strings.Join(names, ", ")),
			"There the server is in maint on the placeholder (a reload reset it, or it never served there): its address "+
				"and port are not the server's, so the import took the values of the instances that serve, and the plan "+
				"restores the parked instances from them.")
	}
}
