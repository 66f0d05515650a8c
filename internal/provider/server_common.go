package provider

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// What haproxy_backend_server and haproxy_dynamic_server share: the model
// and attributes of a server, how a plan is written to every socket, how a
// refresh reads it back and words drift, and how a plan is modified. Each
// resource's own file keeps only what is its own (as
// terraform-provider-tls keeps common_cert.go beside its resources).

// Values of drain_timeout_action.
const (
	drainContinue = "continue"
	drainFail     = "fail"
)

// convergeValues is what privateConverge holds.
type convergeValues struct {
	Port   *int64 `json:"port,omitempty"`
	Weight *int64 `json:"weight,omitempty"`
}

// backendServerModel is a server's attributes: all of haproxy_backend_server,
// and the part haproxy_dynamic_server embeds.
type backendServerModel struct {
	ID      types.String `tfsdk:"id"`
	Backend types.String `tfsdk:"backend"`
	Server  types.String `tfsdk:"server"`
	Address types.String `tfsdk:"address"`
	Port    types.Int64  `tfsdk:"port"`
	State   types.String `tfsdk:"state"`
	Weight  types.Int64  `tfsdk:"weight"`

	HealthCheck              types.Bool   `tfsdk:"health_check"`
	DrainTimeout             types.String `tfsdk:"drain_timeout"`
	DrainTimeoutAction       types.String `tfsdk:"drain_timeout_action"`
	ShutdownSessionsOnDelete types.Bool   `tfsdk:"shutdown_sessions_on_delete"`
	WaitHealthyTimeout       types.String `tfsdk:"wait_healthy_timeout"`
}

// keptWhenUnset is an optional number that, when unset, reports HAProxy's
// value and keeps it across plans instead of showing it as unknown.
func keptWhenUnset(lo, hi int64, description string) schema.Int64Attribute {
	return schema.Int64Attribute{
		Optional:            true,
		Computed:            true,
		MarkdownDescription: description,
		Validators:          []validator.Int64{int64validator.Between(lo, hi)},
		PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
	}
}

// serverAttributes are haproxy_backend_server's attributes; the dynamic
// server has them too, and more.
func serverAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"id": schema.StringAttribute{
			Computed:            true,
			MarkdownDescription: "`<backend>/<server>`.",
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"backend": nameAttribute("backend", "app"),
		"server":  nameAttribute("server", "websrv50"),
		"address": schema.StringAttribute{
			Required: true,
			MarkdownDescription: "IPv4 or IPv6 address the server points at, written as HAProxy prints it " +
				"(`10.0.3.15`, `2001:db8::15`). The runtime API takes IP addresses only, not hostnames.",
			Validators: []validator.String{addressValidator{}},
		},
		"port": keptWhenUnset(1, 65535, "Port the server points at, 1-65535. When unset, the server keeps the port "+
			"it has in HAProxy and this attribute reports it."),
		"state": schema.StringAttribute{
			Optional: true,
			Computed: true,
			Default:  stringdefault.StaticString(string(haproxy.StateReady)),
			MarkdownDescription: "Administrative state: `ready` (takes traffic), `drain` (no new traffic, " +
				"existing sessions continue) or `maint` (out of service). Defaults to `ready`.",
			Validators: []validator.String{stringvalidator.OneOf(
				string(haproxy.StateReady), string(haproxy.StateDrain), string(haproxy.StateMaint))},
		},
		"weight": keptWhenUnset(0, 256, "Load-balancing weight, 0-256 (0 sends no new traffic, like drain). "+
			"When unset, HAProxy's weight is left alone and this attribute reports it."),
		"health_check": schema.BoolAttribute{
			Optional: true,
			Computed: true,
			MarkdownDescription: "Turn the server's health checks on (`true`, `enable health`) or off (`false`, " +
				"`disable health`). The server line must have `check` for checks to exist. Unset leaves them alone " +
				"and this attribute reports them, so an import of a server whose configuration sets it plans no change. " +
				"Turning checks off freezes the server's up/down status as it is.",
			PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
		},
		"drain_timeout": schema.StringAttribute{
			Optional: true,
			Computed: true,
			Default:  stringdefault.StaticString("0s"),
			MarkdownDescription: "How long to let a serving server finish its sessions before it is removed " +
				"(destroy) or moved to another address or port (update). The server is put in `drain` (no new " +
				"traffic) and its live sessions are polled on every socket until none are left or this time " +
				"passes. `0s` (the default) does not wait: a move is one atomic address change, and destroy " +
				"puts the server in `maint` at once.",
			Validators: []validator.String{durationValidator{allowZero: true}},
		},
		"drain_timeout_action": schema.StringAttribute{
			Optional: true,
			Computed: true,
			Default:  stringdefault.StaticString(drainContinue),
			MarkdownDescription: "What to do when sessions are still open at `drain_timeout`: `continue` (default) " +
				"goes on with a warning naming the sockets that still had sessions; `fail` stops with an error and " +
				"leaves the server in `drain`.",
			Validators: []validator.String{stringvalidator.OneOf(drainContinue, drainFail)},
		},
		"shutdown_sessions_on_delete": schema.BoolAttribute{
			Optional: true,
			Computed: true,
			Default:  booldefault.StaticBool(false),
			MarkdownDescription: "On destroy, close every session still using the server (`shutdown sessions " +
				"server`) after it is put in `maint`. Default `false`: sessions are left to finish.",
		},
		"wait_healthy_timeout": schema.StringAttribute{
			Optional: true,
			Computed: true,
			Default:  stringdefault.StaticString("0s"),
			MarkdownDescription: "When a server is to become `ready` after being created, moved or out of " +
				"service, first keep it in `drain` and wait up to this long for a health check made after the " +
				"change to pass on every socket; only then make it `ready`, on every socket. If a check does not " +
				"pass in time, the apply fails naming the sockets and the server stays in `drain`. Needs health " +
				"checks (`check` on the server line). `0s` (the default) does not wait.",
			Validators: []validator.String{durationValidator{allowZero: true}},
		},
	}
}

// desired converts a plan into what the fleet should write. Values were
// validated at plan time; parsing again here is the last line of defence.
func desired(m backendServerModel, configuredHealth types.Bool) (fleet.Desired, error) {
	addr, err := haproxy.ParseAddress(m.Address.ValueString())
	if err != nil {
		return fleet.Desired{}, err
	}
	st, err := haproxy.ParseState(m.State.ValueString())
	if err != nil {
		return fleet.Desired{}, err
	}
	d := fleet.Desired{Backend: m.Backend.ValueString(), Server: m.Server.ValueString(), Addr: addr, State: st, Grace: grace(m)}
	// Health checks are managed only when the configuration sets them: the
	// plan's value of an unset one is merely what HAProxy reported.
	if !configuredHealth.IsNull() && !configuredHealth.IsUnknown() {
		h := configuredHealth.ValueBool()
		d.Health = &h
	}
	if !m.Port.IsNull() && !m.Port.IsUnknown() {
		p := int(m.Port.ValueInt64())
		d.Port = &p
	}
	if !m.Weight.IsNull() && !m.Weight.IsUnknown() {
		w := int(m.Weight.ValueInt64())
		d.Weight = &w
	}
	return d, nil
}

// grace reads the drain and health-wait settings; they were validated at
// plan time, so a parse failure means "do not wait".
func grace(m backendServerModel) fleet.Grace {
	drain, _ := parseDuration(m.DrainTimeout.ValueString(), true)
	wait, _ := parseDuration(m.WaitHealthyTimeout.ValueString(), true)
	return fleet.Grace{
		DrainTimeout:       drain,
		FailOnDrainTimeout: m.DrainTimeoutAction.ValueString() == drainFail,
		WaitHealthy:        wait,
		ShutdownSessions:   m.ShutdownSessionsOnDelete.ValueBool(),
	}
}

// recorded is the address:port the state holds (zero when it holds none).
func (m backendServerModel) recorded() netip.AddrPort {
	addr, err := netip.ParseAddr(m.Address.ValueString())
	if err != nil || m.Port.IsNull() || m.Port.IsUnknown() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(addr, uint16(m.Port.ValueInt64()))
}

// values is what the model asks of HAProxy (unknown values read as zero).
func (m backendServerModel) values() fleet.Values {
	return fleet.Values{
		Addr:   m.Address.ValueString(),
		Port:   int(m.Port.ValueInt64()),
		State:  haproxy.State(m.State.ValueString()),
		Weight: int(m.Weight.ValueInt64()),
		Health: m.HealthCheck.ValueBool(),
	}
}

// setValues copies HAProxy's values into the model.
func (m *backendServerModel) setValues(v fleet.Values) {
	m.HealthCheck = types.BoolValue(v.Health)
	m.Address = types.StringValue(v.Addr)
	m.Port = types.Int64Value(int64(v.Port))
	m.State = types.StringValue(string(v.State))
	m.Weight = types.Int64Value(int64(v.Weight))
}

// updatedPrivate is the private state after a successful update: nothing
// left to converge or to report as drift, and the processes that took it.
func updatedPrivate(ctx context.Context, f *fleet.Fleet, req resource.UpdateRequest, resp *resource.UpdateResponse, out fleet.ServerOutcome) {
	privateConverge.clear(ctx, resp.Private, &resp.Diagnostics)
	privateDrift.clear(ctx, resp.Private, &resp.Diagnostics)
	if out.Everywhere() { // no socket may still hold what the import found
		privateImportedAt.clear(ctx, resp.Private, &resp.Diagnostics)
	}
	processes := getProcesses(ctx, req.Private, f.Sockets(), &resp.Diagnostics)
	maps.Copy(processes, recordOf(out.Processes))
	setProcesses(ctx, resp.Private, processes, &resp.Diagnostics)
}

// writeServer applies the plan on every socket through the fleet and words the
// outcome. ok is false when pre-flight failed and nothing was written. plan
// receives the confirmed values.
func writeServer(ctx context.Context, f *fleet.Fleet, plan *backendServerModel, configuredHealth types.Bool, owner fleet.Owner, diags *diag.Diagnostics) (out fleet.ServerOutcome, ok bool) {
	if !requireFleet(f, diags) {
		return out, false
	}
	d, err := desired(*plan, configuredHealth)
	if err != nil {
		diags.AddError("Invalid value", err.Error())
		return out, false
	}
	d.Owner = owner
	id := d.Backend + "/" + d.Server
	plan.ID = types.StringValue(id) // the plan may leave it unknown to converge split instances
	out, err = f.ApplyServer(ctx, d)
	if err != nil {
		diags.AddError(fmt.Sprintf("Pre-flight check failed for %s: nothing was changed on any socket", id), err.Error()+checksHint(err))
		return out, false
	}
	if len(out.SkipWarnings) > 0 {
		diags.AddWarning(fmt.Sprintf("%s not changed on every HAProxy instance", id), skippedDetail(out.SkipWarnings))
	}
	if len(out.Unfinished) > 0 {
		diags.AddWarning(fmt.Sprintf("%s: drain did not finish", id),
			strings.Join(out.Unfinished, "\n")+"\n\ndrain_timeout_action = \"continue\" went on with the change.")
	}
	if len(out.Failed) == 0 {
		plan.setValues(*out.Holds)
		return out, true
	}
	applied := "none"
	if len(out.Applied) > 0 {
		applied = strings.Join(out.Applied, ", ")
	}
	diags.AddError(fmt.Sprintf("Change to %s failed on %d of %d sockets", id, len(out.Failed), len(out.Failed)+len(out.Applied)),
		fmt.Sprintf("Fully applied on: %s.\nNot fully applied on (each line says why, and what the instance holds where that is known):\n%s%s\n\nThe next plan reads every socket again and shows what still differs.",
			applied, out.Failed.Error(), drainHint(out.Failed)))
	// Unknown computed values must still become known in state: take them
	// from a socket that was read.
	if out.Seen != nil {
		plan.fillUnknown(*out.Seen)
	}
	return out, true
}

// fillUnknown takes the values the plan left unknown from s.
func (m *backendServerModel) fillUnknown(s haproxy.ServerState) {
	if m.Port.IsUnknown() {
		m.Port = types.Int64Value(int64(s.Port))
	}
	if m.Weight.IsUnknown() {
		m.Weight = types.Int64Value(int64(s.UserWeight))
	}
	if m.HealthCheck.IsUnknown() {
		_, enabled := s.HealthChecks()
		m.HealthCheck = types.BoolValue(enabled)
	}
}

// refreshServer reconciles what every socket holds of the server into
// state, with the warnings a reviewer needs (skipped sockets, states not
// managed, drift kept for ModifyPlan). ok is false after an error; gone
// says every socket confirmed the server absent (state is then untouched).
func refreshServer(ctx context.Context, f *fleet.Fleet, state *backendServerModel, obs []fleet.Observation, private privateGetter, resp *resource.ReadResponse) (gone, ok bool) {
	backend, server := state.Backend.ValueString(), state.Server.ValueString()
	id := backend + "/" + server
	var prior *fleet.Values
	if !state.Address.IsNull() { // null right after import
		v := state.values()
		prior = &v
	}
	// Where the instances disagree, the state takes a value that differs
	// from what this resource last wrote, so that the plan shows a change
	// and apply converges them all. Against the state itself the choice
	// would flip back after a `-refresh-only` recorded the odd instance's
	// value, and the plan would be empty while the instances stay split.
	ref := getApplied(ctx, private, &resp.Diagnostics).values()
	own := ref != nil // what this object wrote decides an unset value
	if ref == nil {
		ref = prior
	}
	reading, err := f.Reconcile(backend, server, ref, obs)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot read %s from every HAProxy socket", id), err.Error()+unreachableHint(err))
		return false, false
	}
	if reading.Gone {
		return true, true
	}
	warnReadSkipped(id, reading.Skipped, &resp.Diagnostics)
	for _, u := range reading.Unmanaged {
		resp.Diagnostics.AddWarning(fmt.Sprintf("%s is in a state this resource does not manage", id),
			fmt.Sprintf("On %s the server is also in %s (not managed by haproxy_backend_server).", u.Socket, strings.Join(u.States, ", ")))
	}
	noteDrift(ctx, f, prior, reading, private, resp)

	if prior == nil { // the Read of an import
		privateImportedAt.set(ctx, resp.Private, importedValues(reading), &resp.Diagnostics)
		warnImported(id, reading, &resp.Diagnostics)
	}

	// Only this object's own write decides a value the instances disagree
	// on; after an import nothing does, and the plan asks (refuseUndecided).
	var converge convergeValues
	if own && reading.Splits(fleet.AttrPort) {
		converge.Port = types.Int64Value(int64(ref.Port)).ValueInt64Pointer()
	}
	if own && reading.Splits(fleet.AttrWeight) {
		converge.Weight = types.Int64Value(int64(ref.Weight)).ValueInt64Pointer()
	}
	privateConverge.set(ctx, resp.Private, converge, &resp.Diagnostics) // none: the key goes
	state.ID = types.StringValue(id)
	state.setValues(reading.Values)
	return false, true
}

// noteDrift keeps what the refresh saw for ModifyPlan to word, naming the
// instances that restarted since their values were recorded; and records,
// for every instance that holds the recorded values, the process that
// holds them now.
func noteDrift(ctx context.Context, f *fleet.Fleet, prior *fleet.Values, reading fleet.Reading, private privateGetter, resp *resource.ReadResponse) {
	read := make([]string, len(reading.PerSocket))
	for i, sv := range reading.PerSocket {
		read[i] = sv.Socket
	}
	now := f.Processes(ctx, read)
	recorded := getProcesses(ctx, private, f.Sockets(), &resp.Diagnostics)
	rep := newDriftReport(prior, reading)
	if rep != nil {
		rep.noteRestarts(recorded, now, f.Name, time.Now())
	}
	for _, sv := range reading.PerSocket {
		if p, ok := now[sv.Socket]; ok && (rep == nil || !rep.drifted(driftInstance{Values: sv.Values})) {
			recorded[sv.Socket] = fingerprint(p)
		}
	}
	setProcesses(ctx, resp.Private, recorded, &resp.Diagnostics)
	privateDrift.set(ctx, resp.Private, rep, &resp.Diagnostics) // nil: the key goes
}

// modifyServerPlan is ModifyPlan for every resource with serverAttributes.
func modifyServerPlan(ctx context.Context, f *fleet.Fleet, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	planOneSlot(ctx, f, req, resp)
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() || resp.Diagnostics.HasError() {
		return
	}
	converge := privateConverge.get(ctx, req.Private, &resp.Diagnostics)
	configured := map[fleet.Attr]bool{}
	for a, v := range map[fleet.Attr]*int64{fleet.AttrPort: converge.Port, fleet.AttrWeight: converge.Weight} {
		var cfg types.Int64
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(hclName[a]), &cfg)...)
		configured[a] = !cfg.IsNull()
		if v != nil && cfg.IsNull() {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(hclName[a]), *v)...)
			configured[a] = true // apply converges it
		}
	}
	rep := privateDrift.get(ctx, req.Private, &resp.Diagnostics)
	if rep == nil {
		return
	}
	var cfgHealth types.Bool
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("health_check"), &cfgHealth)...)
	configured[fleet.AttrHealth] = !cfgHealth.IsNull()
	var id types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("id"), &id)...)
	refuseUndecided(ctx, id.ValueString(), rep, configured, req, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	configured[fleet.AttrAddress], configured[fleet.AttrState] = true, true
	var unmanaged []fleet.Attr
	for _, a := range fleet.Attrs {
		if !configured[a] {
			unmanaged = append(unmanaged, a)
		}
	}
	if rep = rep.without(unmanaged); rep == nil {
		return
	}
	var plan backendServerModel
	for name, target := range map[string]any{"backend": &plan.Backend, "server": &plan.Server, "address": &plan.Address,
		"port": &plan.Port, "state": &plan.State, "weight": &plan.Weight, "health_check": &plan.HealthCheck} {
		resp.Diagnostics.Append(resp.Plan.GetAttribute(ctx, path.Root(name), target)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	will := map[fleet.Attr]planned{
		fleet.AttrAddress: plannedString(plan.Address),
		fleet.AttrPort:    plannedInt(plan.Port),
		fleet.AttrState:   plannedString(plan.State),
		fleet.AttrWeight:  plannedInt(plan.Weight),
		fleet.AttrHealth:  plannedBool(plan.HealthCheck),
	}
	for a := range will {
		p := will[a]
		p.managed = configured[a]
		will[a] = p
	}
	if rep.needsApply(will) && resp.Plan.Raw.Equal(req.State.Raw) {
		// Some instance holds other values than the plan, yet the state
		// (one instance's view) already equals it: without a change in the
		// plan, apply would not run and the warning below would promise
		// what never happens. An unknown id makes it an update, which
		// writes every socket.
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), types.StringUnknown())...)
	}
	resp.Diagnostics.AddWarning(rep.summary(plan.Backend.ValueString()+"/"+plan.Server.ValueString()), rep.detail(rep.applies(will)))
}
