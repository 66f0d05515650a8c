package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

var (
	_ resource.Resource                = (*mapEntryResource)(nil)
	_ resource.ResourceWithConfigure   = (*mapEntryResource)(nil)
	_ resource.ResourceWithImportState = (*mapEntryResource)(nil)
)

// Ownership of one key: see privateWrote.

func newMapEntryResource() resource.Resource { return &mapEntryResource{} }

type mapEntryResource struct {
	fleet *fleet.Fleet
}

type mapEntryModel struct {
	ID    types.String `tfsdk:"id"`
	Map   types.String `tfsdk:"map"`
	Key   types.String `tfsdk:"key"`
	Value types.String `tfsdk:"value"`
}

func (m mapEntryModel) ref() haproxy.PatternRef {
	return haproxy.PatternRef{Kind: haproxy.KindMap, Ref: m.Map.ValueString()}
}

func (m mapEntryModel) what() string {
	return fmt.Sprintf("Map %q key %q", m.Map.ValueString(), m.Key.ValueString())
}

func (r *mapEntryResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_map_entry"
}

func (r *mapEntryResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One key of an HAProxy map that other tools may also write, on every configured socket.\n\n" +
			"The resource only ever changes or deletes the key where it is absent or holds the value this resource wrote: " +
			"where another value is found (another tool, a hand `set map`), the apply is refused on every instance before " +
			"any is written, and a destroy leaves that instance's value in place. Import the key to take it over. To own a " +
			"whole map, use `haproxy_map`.",
		Attributes: map[string]schema.Attribute{
			"id":  idAttribute("`<map>:<key>`, as the import ID."),
			"map": refAttribute(haproxy.KindMap),
			"key": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The key: printable ASCII without spaces, `;` or `\\`, up to 1024 bytes. Changing it replaces " +
					"the resource.",
				Validators:    []validator.String{patternKeyValidator},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"value": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The value: printable ASCII without spaces, `;` or `\\`, up to 4096 bytes.",
				Validators:          []validator.String{patternValueValidator},
			},
		},
	}
}

func (r *mapEntryResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

// put writes plan's value on every instance; owned is the value recorded in
// the state (none on create). It returns what the state should hold.
func (r *mapEntryResource) put(ctx context.Context, plan mapEntryModel, owned []string, priv privateSetter, diags *diag.Diagnostics) (mapEntryModel, bool) {
	if !requireFleet(r.fleet, diags) {
		return plan, false
	}
	warnings, err := r.fleet.PutEntry(ctx, plan.ref(), plan.Key.ValueString(), plan.Value.ValueString(), owned)
	for _, w := range warnings {
		diags.AddWarning("HAProxy socket skipped", w)
	}
	if err != nil {
		diags.AddError("Cannot write "+plan.what(), err.Error())
		return plan, false
	}
	plan.ID = types.StringValue(plan.Map.ValueString() + ":" + plan.Key.ValueString())
	privateWrote.set(ctx, priv, []string{plan.Value.ValueString()}, diags)
	return plan, true
}

func (r *mapEntryResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan mapEntryModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if got, ok := r.put(ctx, plan, nil, resp.Private, &resp.Diagnostics); ok {
		resp.Diagnostics.Append(resp.State.Set(ctx, got)...)
	}
}

func (r *mapEntryResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state mapEntryModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if got, ok := r.put(ctx, plan, privateWrote.get(ctx, req.Private, &resp.Diagnostics), resp.Private, &resp.Diagnostics); ok {
		resp.Diagnostics.Append(resp.State.Set(ctx, got)...)
	}
}

// Read takes the value of the first instance that differs from the state
// (so the plan shows it and apply converges every instance), "" where the
// key is absent, and drops the resource when no instance has the key.
func (r *mapEntryResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state, ok := loadState[mapEntryModel](ctx, req.State, r.fleet, &resp.Diagnostics)
	if !ok {
		return
	}
	reading, err := r.fleet.ReadPatterns(ctx, state.ref())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read "+state.what(), err.Error()+unreachableHint(err))
		return
	}
	warnReadSkipped(state.what(), reading.Skipped, &resp.Diagnostics)
	imported := state.Value.IsNull()
	e, err := fleet.ReconcileEntry(reading, state.ref(), state.Key.ValueString(), state.Value.ValueString())
	if err != nil {
		notLoaded(fmt.Sprintf("Map %q", state.Map.ValueString()), err, &resp.Diagnostics)
		return
	}
	if e.Gone {
		resp.State.RemoveResource(ctx) // every instance answered, and none has it
		return
	}
	wrote := privateWrote.get(ctx, req.Private, &resp.Diagnostics)
	rows := [][]string{{"instance", "value"}}
	foreign := !imported && e.HoldsOtherThan(wrote)
	for _, v := range e.PerSocket {
		shown := "(absent)"
		if len(v.Values) > 0 {
			shown = strings.Join(v.Values, ", ")
		}
		rows = append(rows, []string{v.Name, shown})
	}
	if (e.Differs || foreign) && !imported {
		rows = append(rows[:1], append([][]string{{"(written by Terraform)", strings.Join(wrote, ", ")}}, rows[1:]...)...)
		then := "Apply writes the configured value where the key is absent or holds what Terraform wrote."
		if foreign {
			then = "An instance holds a value this resource did not write: apply stops before writing anything. Import the key to take it over, or remove that value there."
		}
		resp.Diagnostics.AddWarning(state.what()+" differs from what Terraform wrote", table(rows)+"\n"+then)
	}
	if imported { // what is there is now this resource's
		privateWrote.set(ctx, resp.Private, e.Found, &resp.Diagnostics)
	}
	state.Value = types.StringValue(e.Value)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *mapEntryResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	state, ok := loadState[mapEntryModel](ctx, req.State, r.fleet, &resp.Diagnostics)
	if !ok {
		return
	}
	warnings, err := r.fleet.DeleteEntry(ctx, state.ref(), state.Key.ValueString(), privateWrote.get(ctx, req.Private, &resp.Diagnostics))
	for _, w := range warnings {
		resp.Diagnostics.AddWarning(state.what()+" left in place", w)
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot delete "+state.what(), err.Error())
	}
}

// ImportState takes `<map>:<key>`, split at the first colon (keys such as
// host:port or IPv6 addresses keep theirs). The next refresh records the
// value the instances hold, which makes it this resource's.
func (r *mapEntryResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ref, key, ok := strings.Cut(req.ID, ":")
	if !ok || haproxy.ValidatePatternRef(ref) != nil || haproxy.ValidatePatternKey(key) != nil {
		resp.Diagnostics.AddError("Invalid map entry to import",
			fmt.Sprintf("The import ID is `<map>:<key>`, such as `/etc/haproxy/hosts.map:www.example.com`; got %q.", req.ID))
		return
	}
	for name, v := range map[string]string{"id": req.ID, "map": ref, "key": key} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(name), v)...)
	}
}
