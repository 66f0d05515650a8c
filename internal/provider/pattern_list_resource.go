package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// patternListResource is haproxy_map and haproxy_acl: the whole content of
// one list on every instance. They differ only in their schema: a map's
// `entries` is a map of key to value, an ACL's `patterns` a set.
type patternListResource struct {
	fleet  *fleet.Fleet
	kind   haproxy.PatternKind
	ref    string // the attribute naming the list: "map" or "acl"
	list   string // the attribute holding the content: "entries" or "patterns"
	schema schema.Schema
}

var (
	_ resource.Resource                = (*patternListResource)(nil)
	_ resource.ResourceWithConfigure   = (*patternListResource)(nil)
	_ resource.ResourceWithImportState = (*patternListResource)(nil)
)

func (r *patternListResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + string(r.kind)
}

func (r *patternListResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = r.schema
}

func (r *patternListResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

// exampleFile is the file name the docs of each kind show.
var exampleFile = map[haproxy.PatternKind]string{haproxy.KindMap: "/etc/haproxy/hosts.map", haproxy.KindACL: "/etc/haproxy/block.acl"}

// refAttribute is the attribute naming the list (`map` or `acl`).
func refAttribute(kind haproxy.PatternKind) schema.StringAttribute {
	return schema.StringAttribute{
		Required: true,
		MarkdownDescription: fmt.Sprintf("The %s, by the file name HAProxy loaded it from, as `show %s` lists it (for example "+
			"`%s`), or by `#<id>`. Every instance must load it from the same path. Changing it replaces the resource.", kind, kind, exampleFile[kind]),
		Validators:    []validator.String{patternRefValidator},
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
}

func idAttribute(what string) schema.StringAttribute {
	return schema.StringAttribute{
		Computed:            true,
		MarkdownDescription: what,
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

func (r *patternListResource) pattern(ctx context.Context, get func(context.Context, path.Path, any) diag.Diagnostics, diags *diag.Diagnostics) haproxy.PatternRef {
	var ref types.String
	diags.Append(get(ctx, path.Root(r.ref), &ref)...)
	return haproxy.PatternRef{Kind: r.kind, Ref: ref.ValueString()}
}

// content reads the list attribute as key → value (an ACL's values are "").
func (r *patternListResource) content(ctx context.Context, get func(context.Context, path.Path, any) diag.Diagnostics, diags *diag.Diagnostics) map[string]string {
	out := map[string]string{}
	if r.kind == haproxy.KindACL {
		var set []string
		diags.Append(get(ctx, path.Root(r.list), &set)...)
		for _, p := range set {
			out[p] = ""
		}
		return out
	}
	diags.Append(get(ctx, path.Root(r.list), &out)...)
	return out
}

// setContent writes the list attribute from key → value.
func (r *patternListResource) setContent(ctx context.Context, st *tfsdk.State, list map[string]string, diags *diag.Diagnostics) {
	if r.kind == haproxy.KindACL {
		vals := make([]attr.Value, 0, len(list))
		for _, e := range entriesOf(list) {
			vals = append(vals, types.StringValue(e.Key))
		}
		set, d := types.SetValue(types.StringType, vals)
		diags.Append(d...)
		diags.Append(st.SetAttribute(ctx, path.Root(r.list), set)...)
		return
	}
	diags.Append(st.SetAttribute(ctx, path.Root(r.list), list)...)
}

func (r *patternListResource) write(ctx context.Context, plan tfsdk.Plan, st *tfsdk.State, diags *diag.Diagnostics) {
	if !requireFleet(r.fleet, diags) {
		return
	}
	p := r.pattern(ctx, plan.GetAttribute, diags)
	list := r.content(ctx, plan.GetAttribute, diags)
	if diags.HasError() || !replacePatternList(ctx, r.fleet, p, patternWhat(p), list, diags) {
		return
	}
	diags.Append(st.SetAttribute(ctx, path.Root("id"), p.Ref)...)
	diags.Append(st.SetAttribute(ctx, path.Root(r.ref), p.Ref)...)
	r.setContent(ctx, st, list, diags)
}

func (r *patternListResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.write(ctx, req.Plan, &resp.State, &resp.Diagnostics)
}

func (r *patternListResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.write(ctx, req.Plan, &resp.State, &resp.Diagnostics)
}

func (r *patternListResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if !requireFleet(r.fleet, &resp.Diagnostics) {
		return
	}
	p := r.pattern(ctx, req.State.GetAttribute, &resp.Diagnostics)
	var prior map[string]string
	var raw attr.Value
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(r.list), &raw)...)
	if raw != nil && !raw.IsNull() { // null after an import
		prior = r.content(ctx, req.State.GetAttribute, &resp.Diagnostics)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	got := readPatternList(ctx, r.fleet, p, patternWhat(p), prior, &resp.Diagnostics)
	switch {
	case resp.Diagnostics.HasError():
	case got.gone:
		resp.State.RemoveResource(ctx)
	default:
		r.setContent(ctx, &resp.State, got.entries, &resp.Diagnostics)
	}
}

// Delete leaves the content where it is: the list belongs to HAProxy's
// configuration, and emptying it could stop routing or filtering. Each
// instance loads its file again on the next reload.
func (r *patternListResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
}

func (r *patternListResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := haproxy.ValidatePatternRef(req.ID); err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Invalid %s to import", r.kind), fmt.Sprintf("The import ID is the %s's file name as `show %s` lists it, or #<id>: %v", r.kind, r.kind, err))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(r.ref), req.ID)...)
}
