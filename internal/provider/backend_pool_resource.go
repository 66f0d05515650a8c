package provider

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/pool"
)

var (
	_ resource.Resource                = (*backendPoolResource)(nil)
	_ resource.ResourceWithConfigure   = (*backendPoolResource)(nil)
	_ resource.ResourceWithImportState = (*backendPoolResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*backendPoolResource)(nil)
	_ resource.ResourceWithIdentity    = (*backendPoolResource)(nil)
)

func newBackendPoolResource() resource.Resource { return &backendPoolResource{} }

// addPoolWarnings says everything the fleet reported of one pool in one
// phase (refresh, apply, destroy) in one warning: Terraform folds warnings
// that share a summary into "(and N more similar warnings)", also across
// the refresh and the apply of one run, which would hide all but the first.
func addPoolWarnings(diags *diag.Diagnostics, phase, backend, prefix string, warnings []string) {
	if len(warnings) > 0 {
		diags.AddWarning(fmt.Sprintf("Pool %s/%s (%s)", backend, prefix, phase), strings.Join(warnings, "\n\n"))
	}
}

// poolWriter is the pool object's writer id, made on its first write and
// kept in respPriv (reqPriv is nil on create).
func poolWriter(ctx context.Context, reqPriv privateGetter, respPriv privateSetter, diags *diag.Diagnostics) string {
	var id string
	if reqPriv != nil {
		id = privatePoolWriter.get(ctx, reqPriv, diags)
	}
	if id == "" {
		id = newWriterID()
	}
	privatePoolWriter.set(ctx, respPriv, id, diags)
	return id
}

// withLeaving is slots with the members that left but are not parked
// everywhere yet.
func withLeaving(ctx context.Context, slots types.Map, priv privateGetter, diags *diag.Diagnostics) types.Map {
	leaving := privateLeavingSlots.get(ctx, priv, diags)
	if len(leaving) == 0 {
		return slots
	}
	all := slotMap(slots)
	for key, slot := range leaving {
		if _, ok := all[key]; !ok {
			all[key] = slot
		}
	}
	return slotsValue(all)
}

// claimToken reads the pool's token, making a new one for a pool recorded
// before claims existed (it has no markers to match).
func claimToken(ctx context.Context, priv privateGetter, diags *diag.Diagnostics) (token netip.AddrPort, adopt bool) {
	token, err := netip.ParseAddrPort(privateClaimToken.get(ctx, priv, diags))
	if err != nil {
		token = pool.NewToken()
	}
	return token, privateAdopt.get(ctx, priv, diags)
}

func saveClaimToken(ctx context.Context, priv privateSetter, token netip.AddrPort, adopt bool, diags *diag.Diagnostics) {
	privateClaimToken.set(ctx, priv, token.String(), diags)
	privateAdopt.set(ctx, priv, adopt, diags)
}

type backendPoolResource struct {
	fleet *fleet.Fleet
}

type backendPoolModel struct {
	ID           types.String          `tfsdk:"id"`
	Backend      types.String          `tfsdk:"backend"`
	Mode         types.String          `tfsdk:"mode"`
	SlotPrefix   types.String          `tfsdk:"slot_prefix"`
	Placeholder  types.String          `tfsdk:"placeholder"`
	DrainTimeout types.String          `tfsdk:"drain_timeout"`
	Members      map[string]poolMember `tfsdk:"members"`
	Slots        types.Map             `tfsdk:"slots"`
}

type poolMember struct {
	Address types.String `tfsdk:"address"`
	Port    types.Int64  `tfsdk:"port"`
	State   types.String `tfsdk:"state"`
	Weight  types.Int64  `tfsdk:"weight"`
}

func (r *backendPoolResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_backend_pool"
}

func (r *backendPoolResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Assigns a map of members to the `server-template` slots of one backend, choosing the " +
			"slots itself: a member keeps its slot for life, a new member takes the lowest free slot (a slot freed in the " +
			"same apply is not reused until the next one: it may still be draining), and a removed " +
			"member's slot is drained, put in `maint` and parked on `placeholder`. A slot is free when it is in `maint` " +
			"and parked on `placeholder` on every socket. A slot of the prefix that is in service but not assigned to " +
			"this pool (set by hand or by another workspace) is never taken and is reported as a warning.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`<backend>/<slot_prefix>`.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"backend": nameAttribute("backend", "app"),
			"mode": schema.StringAttribute{
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString(poolSlots),
				MarkdownDescription: "`slots` (default): members take the `server-template` slots of `slot_prefix`. " +
					"`dynamic`: members become dynamic servers (`add server`) named `<slot_prefix><member key>`, " +
					"with no slots to size and no claim to race for (HAProxy refuses a second server of one name; " +
					"a name another workspace holds is an error naming its address). A reload drops dynamic " +
					"servers: the next plan adds them again. Changing it replaces the pool.",
				Validators: []validator.String{stringvalidator.OneOf(poolSlots, poolDynamic)},
				// A pool recorded before modes existed has none: it is a slots
				// pool, and recording that replaces nothing.
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
					resp.RequiresReplace = !req.StateValue.IsNull()
				}, "Replaces the pool.", "Replaces the pool.")},
			},
			"slot_prefix": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The `server-template` name: `websrv` for `server-template websrv 1-100 …`, whose " +
					"slots are `websrv1` … `websrv100`. In `dynamic` mode, the prefix of the servers' names " +
					"(`api-` and member `a` make `api-a`). Changing it replaces the pool.",
				Validators:    nameValidators(),
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"placeholder": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "The `address:port` free slots are parked on, as in the `server-template` line. " +
					"Defaults to the provider's `placeholder` (`127.0.0.1:1` unless set).",
				Validators: []validator.String{placeholderValidator{}},
			},
			"drain_timeout": schema.StringAttribute{
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString("0s"),
				MarkdownDescription: "How long a removed or moved member may finish its sessions in `drain` before " +
					"its slot is put in `maint` (or moved). `0s` does not wait.",
				Validators: []validator.String{durationValidator{allowZero: true}},
			},
			"members": schema.MapNestedAttribute{
				Required:            true,
				MarkdownDescription: "The members, by a key of your choosing (an instance name, say).",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"address": schema.StringAttribute{
						Required:            true,
						MarkdownDescription: "IPv4 or IPv6 address, written as HAProxy prints it.",
						Validators:          []validator.String{addressValidator{}},
					},
					"port": schema.Int64Attribute{
						Required:            true,
						MarkdownDescription: "Port, 1-65535.",
						Validators:          []validator.Int64{int64validator.Between(1, 65535)},
					},
					"state": schema.StringAttribute{
						Optional:            true,
						Computed:            true,
						Default:             stringdefault.StaticString(string(haproxy.StateReady)),
						MarkdownDescription: "`ready` (default), `drain` or `maint`.",
						Validators: []validator.String{stringvalidator.OneOf(
							string(haproxy.StateReady), string(haproxy.StateDrain), string(haproxy.StateMaint))},
					},
					"weight": schema.Int64Attribute{
						Optional:            true,
						MarkdownDescription: "Weight, 0-256. Unset leaves HAProxy's weight alone.",
						Validators:          []validator.Int64{int64validator.Between(0, 256)},
					},
				}},
			},
			"slots": schema.MapAttribute{
				Computed:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "The slot (in `dynamic` mode, the server) each member holds, by member key.",
			},
		},
	}
}

func (r *backendPoolResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identitySchema(identitySlotPrefix, "The pool's slot prefix: its slots are named `<slot_prefix><number>`.")
}

func (r *backendPoolResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan keeps every existing member's slot in the plan, so a reviewer
// sees that nothing moves; only new members' slots are "known after apply".
func (r *backendPoolResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	// An unset placeholder is the provider's.
	var placeholder types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("placeholder"), &placeholder)...)
	if placeholder.IsUnknown() && r.fleet != nil {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("placeholder"), r.fleet.Placeholder().String())...)
	}
	r.refuseServingPlaceholder(ctx, resp.Plan, &resp.Diagnostics)
	if req.State.Raw.IsNull() {
		return
	}
	var plan, state backendPoolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || plan.Members == nil {
		return
	}
	prior := slotMap(state.Slots)
	next := map[string]attr.Value{}
	for member := range plan.Members {
		if plan.dynamic() {
			next[member] = types.StringValue(plan.SlotPrefix.ValueString() + member)
		} else if slot, ok := prior[member]; ok {
			next[member] = types.StringValue(slot)
		} else {
			next[member] = types.StringUnknown()
		}
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("slots"), types.MapValueMust(types.StringType, next))...)
}

// refuseServingPlaceholder stops the plan of a pool whose member would
// serve on the placeholder: apply would refuse it before any write.
func (r *backendPoolResource) refuseServingPlaceholder(ctx context.Context, plan tfsdk.Plan, diags *diag.Diagnostics) {
	var m backendPoolModel
	if d := plan.Get(ctx, &m); d.HasError() || m.Members == nil || m.Placeholder.IsUnknown() || r.fleet == nil {
		return // unknown values are checked once they are known, at apply
	}
	for _, mem := range m.Members {
		if mem.Address.IsUnknown() || mem.Port.IsUnknown() || mem.State.IsUnknown() {
			return
		}
	}
	if err := m.pool().PlaceholderCheck(r.fleet.Placeholder()); err != nil {
		diags.AddAttributeError(path.Root("members"), "A member would serve on the placeholder", err.Error())
	}
}

func slotMap(m types.Map) map[string]string {
	out := map[string]string{}
	for k, v := range m.Elements() {
		if s, ok := v.(types.String); ok && !s.IsUnknown() && !s.IsNull() {
			out[k] = s.ValueString()
		}
	}
	return out
}

// pool converts the model into the fleet's terms (values validated at plan time).
func (m backendPoolModel) pool() pool.Pool {
	placeholder, _ := netip.ParseAddrPort(m.Placeholder.ValueString())
	drain, _ := parseDuration(m.DrainTimeout.ValueString(), true)
	p := pool.Pool{
		Backend:     m.Backend.ValueString(),
		Prefix:      m.SlotPrefix.ValueString(),
		Placeholder: placeholder,
		Members:     map[string]pool.Member{},
		Assigned:    slotMap(m.Slots),
		Grace:       fleet.Grace{DrainTimeout: drain},
	}
	for key, mem := range m.Members {
		addr, _ := haproxy.ParseAddress(mem.Address.ValueString())
		pm := pool.Member{Addr: addr, Port: int(mem.Port.ValueInt64()), State: haproxy.State(mem.State.ValueString())}
		if !mem.Weight.IsNull() && !mem.Weight.IsUnknown() {
			w := int(mem.Weight.ValueInt64())
			pm.Weight = &w
		}
		p.Members[key] = pm
	}
	p.Recorded = m.values()
	return p
}

// values are the members' addresses and ports as the model holds them: of
// the prior state, what a leaver's slot may still hold (pool.Pool.Recorded).
func (m backendPoolModel) values() map[string]netip.AddrPort {
	out := map[string]netip.AddrPort{}
	for key, mem := range m.Members {
		if addr, err := haproxy.ParseAddress(mem.Address.ValueString()); err == nil && haproxy.ValidatePort(int(mem.Port.ValueInt64())) == nil {
			out[key] = netip.AddrPortFrom(addr, uint16(mem.Port.ValueInt64()))
		}
	}
	return out
}

func (r *backendPoolResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan backendPoolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.Slots = types.MapValueMust(types.StringType, map[string]attr.Value{})
	if plan.dynamic() {
		r.applyDynamic(ctx, &plan, backendPoolModel{}, nil, resp.Private, &resp.State, resp.Identity, &resp.Diagnostics)
		return
	}
	// Derived from the configuration, so that a re-run after this Create was
	// killed recognises its claims (see pool.TokenFor).
	p := plan.pool()
	token := pool.TokenFor(p.Backend, p.Prefix, p.Members)
	if r.apply(ctx, &plan, nil, token, false, nil, resp.Private, &resp.State, &resp.Diagnostics) {
		setIdentity(ctx, resp.Identity, identitySlotPrefix, plan.Backend, plan.SlotPrefix, &resp.Diagnostics)
	}
	saveClaimToken(ctx, resp.Private, token, false, &resp.Diagnostics)
}

func (r *backendPoolResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state backendPoolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.Slots = state.Slots // the assignment so far; apply extends it
	if plan.dynamic() {
		r.applyDynamic(ctx, &plan, state, req.Private, resp.Private, &resp.State, resp.Identity, &resp.Diagnostics)
		return
	}
	token, adopt := claimToken(ctx, req.Private, &resp.Diagnostics)
	if r.apply(ctx, &plan, state.values(), token, adopt, req.Private, resp.Private, &resp.State, &resp.Diagnostics) {
		adopt = false // the recorded slots' markers are this pool's now
		setIdentity(ctx, resp.Identity, identitySlotPrefix, plan.Backend, plan.SlotPrefix, &resp.Diagnostics)
	}
	saveClaimToken(ctx, resp.Private, token, adopt, &resp.Diagnostics)
}

// apply runs the pool on every socket and records the assignment, also when
// some member failed, so that no allocated slot is forgotten. It reports
// whether the pool's claims were made.
//
// A member that left but may still be served (an instance did not answer,
// or its park failed) is not forgotten, but it is not in `slots` either:
// the plan said it leaves, and Terraform holds apply to the plan. It is
// kept in private state (privateLeavingSlots); the next refresh shows it in
// `slots` again, so that the next plan removes it once more and the next
// apply finishes the job.
func (r *backendPoolResource) apply(ctx context.Context, plan *backendPoolModel, prior map[string]netip.AddrPort, token netip.AddrPort, adopt bool, reqPriv privateGetter, respPriv privateSetter, st *tfsdk.State, diags *diag.Diagnostics) bool {
	if !requireFleet(r.fleet, diags) {
		return false
	}
	p := plan.pool()
	p.Token, p.Adopt = token, adopt
	p.Recorded = prior // a leaver's slot is parked only while it holds its recorded value
	p.Writer = poolWriter(ctx, reqPriv, respPriv, diags)
	if reqPriv != nil {
		for key, slot := range privateLeavingSlots.get(ctx, reqPriv, diags) {
			if _, ok := p.Assigned[key]; !ok { // planned with -refresh=false
				p.Assigned[key] = slot
			}
		}
	}
	assigned, warnings, err := pool.Apply(ctx, r.fleet, p)
	addPoolWarnings(diags, "apply", p.Backend, p.Prefix, warnings)
	if assigned == nil {
		diags.AddError(fmt.Sprintf("Pool %s/%s: nothing was changed", p.Backend, p.Prefix), err.Error())
		return false
	}
	if err != nil {
		diags.AddError(fmt.Sprintf("Pool %s/%s: some members were not applied on every socket", p.Backend, p.Prefix),
			err.Error()+"\n\nThe next plan reads every socket again and shows what still differs.")
	}
	plan.ID = types.StringValue(p.Backend + "/" + p.Prefix)
	leaving := map[string]string{}
	for key, slot := range assigned {
		if _, ok := p.Members[key]; !ok {
			leaving[key] = slot
			delete(assigned, key)
		}
	}
	privateLeavingSlots.set(ctx, respPriv, leaving, diags)
	plan.Slots = slotsValue(assigned)
	diags.Append(st.Set(ctx, plan)...)
	return true
}

func slotsValue(assigned map[string]string) types.Map {
	vals := map[string]attr.Value{}
	for k, v := range assigned {
		vals[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, vals)
}

func (r *backendPoolResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state, ok := loadState[backendPoolModel](ctx, req.State, r.fleet, &resp.Diagnostics)
	if !ok {
		return
	}
	if state.Mode.IsNull() { // recorded before modes existed
		state.Mode = types.StringValue(poolSlots)
	}
	if state.dynamic() {
		r.readDynamic(ctx, &state, resp)
		return
	}
	state.Slots = withLeaving(ctx, state.Slots, req.Private, &resp.Diagnostics)
	p := state.pool()
	p.Token, _ = claimToken(ctx, req.Private, &resp.Diagnostics)
	prior := map[string]fleet.Values{}
	for key, mem := range state.Members {
		prior[key] = fleet.Values{Addr: mem.Address.ValueString(), Port: int(mem.Port.ValueInt64()),
			State: haproxy.State(mem.State.ValueString()), Weight: int(mem.Weight.ValueInt64())}
	}
	readings, warnings, err := pool.Read(ctx, r.fleet, p, prior)
	addPoolWarnings(&resp.Diagnostics, "refresh", p.Backend, p.Prefix, warnings)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot read pool %s/%s from every HAProxy socket", p.Backend, p.Prefix), err.Error()+unreachableHint(err))
		return
	}
	members := map[string]poolMember{}
	for key, rd := range readings {
		if _, ok := state.Members[key]; !ok {
			continue // a member that left but is not parked everywhere yet: its slot stays in `slots`
		}
		warnPoolMember(p, key, rd, &resp.Diagnostics)
		mem := state.Members[key]
		mem.Address = types.StringValue(rd.Values.Addr)
		mem.Port = types.Int64Value(int64(rd.Values.Port))
		mem.State = types.StringValue(string(rd.Values.State))
		if !mem.Weight.IsNull() {
			mem.Weight = types.Int64Value(int64(rd.Values.Weight))
		}
		members[key] = mem
	}
	state.Members = members
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	setIdentity(ctx, resp.Identity, identitySlotPrefix, state.Backend, state.SlotPrefix, &resp.Diagnostics)
}

func (r *backendPoolResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	state, ok := loadState[backendPoolModel](ctx, req.State, r.fleet, &resp.Diagnostics)
	if !ok {
		return
	}
	if state.dynamic() {
		r.deleteDynamic(ctx, state, req.Private, &resp.Diagnostics)
		return
	}
	state.Slots = withLeaving(ctx, state.Slots, req.Private, &resp.Diagnostics)
	p := state.pool()
	p.Token, _ = claimToken(ctx, req.Private, &resp.Diagnostics)
	p.Writer = privatePoolWriter.get(ctx, req.Private, &resp.Diagnostics)
	warnings, err := pool.Delete(ctx, r.fleet, p)
	addPoolWarnings(&resp.Diagnostics, "destroy", p.Backend, p.Prefix, warnings)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot park every slot of pool %s/%s", p.Backend, p.Prefix), err.Error())
	}
}

// ImportState adopts the slots of the prefix that are in service, as members
// keyed by slot name.
func (r *backendPoolResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id, ok := importedName(ctx, req, identitySlotPrefix, "slot prefix", &resp.Diagnostics)
	if !ok {
		return
	}
	backend, prefix := id.backend, id.name
	if !requireFleet(r.fleet, &resp.Diagnostics) {
		return
	}
	serving, err := pool.ServingSlots(ctx, r.fleet, backend, prefix)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot list backend %s", backend), err.Error())
		return
	}
	m := backendPoolModel{
		ID: types.StringValue(backend + "/" + prefix), Backend: types.StringValue(backend), Mode: types.StringValue(poolSlots), SlotPrefix: types.StringValue(prefix),
		Placeholder: types.StringValue(r.fleet.Placeholder().String()), DrainTimeout: types.StringValue("0s"), Members: map[string]poolMember{},
	}
	assigned := map[string]string{}
	for _, s := range serving {
		v := fleet.ValuesOf(s)
		m.Members[s.Name] = poolMember{Address: types.StringValue(v.Addr), Port: types.Int64Value(int64(v.Port)),
			State: types.StringValue(string(v.State)), Weight: types.Int64Null()}
		assigned[s.Name] = s.Name
	}
	m.Slots = slotsValue(assigned)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
	setIdentity(ctx, resp.Identity, identitySlotPrefix, m.Backend, m.SlotPrefix, &resp.Diagnostics)
	// The first apply takes the adopted slots' claims over.
	saveClaimToken(ctx, resp.Private, pool.NewToken(), true, &resp.Diagnostics)
}
