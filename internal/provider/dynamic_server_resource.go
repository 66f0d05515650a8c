package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

var (
	_ resource.Resource                   = (*dynamicServerResource)(nil)
	_ resource.ResourceWithConfigure      = (*dynamicServerResource)(nil)
	_ resource.ResourceWithImportState    = (*dynamicServerResource)(nil)
	_ resource.ResourceWithValidateConfig = (*dynamicServerResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*dynamicServerResource)(nil)
	_ resource.ResourceWithIdentity       = (*dynamicServerResource)(nil)
)

func newDynamicServerResource() resource.Resource { return &dynamicServerResource{} }

type dynamicServerResource struct {
	fleet *fleet.Fleet
}

type dynamicServerModel struct {
	backendServerModel

	Check         types.Bool   `tfsdk:"check"`
	CheckInterval types.String `tfsdk:"check_interval"`
	Rise          types.Int64  `tfsdk:"rise"`
	Fall          types.Int64  `tfsdk:"fall"`
	SSL           types.Bool   `tfsdk:"ssl"`
	SSLVerify     types.String `tfsdk:"ssl_verify"`
	SSLCAFile     types.String `tfsdk:"ssl_ca_file"`
	SNI           types.String `tfsdk:"sni"`
	MaxConn       types.Int64  `tfsdk:"maxconn"`
	SendProxy     types.String `tfsdk:"send_proxy"`
	AgentPort     types.Int64  `tfsdk:"agent_port"`
	AgentInterval types.String `tfsdk:"agent_interval"`
}

func (r *dynamicServerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dynamic_server"
}

// stringOption and intOption are options HAProxy does not report: a change
// replaces the server, except in the first apply after an import, where
// the state has none and the configured value is recorded as it is (an
// update that sends nothing).
func stringOption(description string, validators ...validator.String) schema.StringAttribute {
	return schema.StringAttribute{
		Optional:            true,
		MarkdownDescription: description + " Changing it replaces the server.",
		Validators:          validators,
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(func(ctx context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
			resp.RequiresReplace = !privateImported.get(ctx, req.Private, &resp.Diagnostics)
		}, replacesUnlessImported, replacesUnlessImported)},
	}
}

func intOption(description string, lo, hi int64) schema.Int64Attribute {
	return schema.Int64Attribute{
		Optional:            true,
		MarkdownDescription: description + " Changing it replaces the server.",
		Validators:          []validator.Int64{int64validator.Between(lo, hi)},
		PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplaceIf(func(ctx context.Context, req planmodifier.Int64Request, resp *int64planmodifier.RequiresReplaceIfFuncResponse) {
			resp.RequiresReplace = !privateImported.get(ctx, req.Private, &resp.Diagnostics)
		}, replacesUnlessImported, replacesUnlessImported)},
	}
}

const replacesUnlessImported = "Replaces the server, except in the first apply after an import."

func (r *dynamicServerResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	attrs := serverAttributes()
	attrs["server"] = schema.StringAttribute{
		Required: true,
		MarkdownDescription: "Name the server gets in the backend (for example `api-7f3c`). It must be free on " +
			"every socket: a name already there (declared in the configuration, or added by someone else) is an " +
			"error and nothing is added. Changing it replaces the server.",
		Validators:    nameValidators(),
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
	attrs["backend"] = schema.StringAttribute{
		Required: true,
		MarkdownDescription: "Name of the backend, as in the HAProxy configuration. Its `balance` algorithm must " +
			"accept dynamic servers (HAProxy refuses `static-rr` and map-based hashing; use `hash-type consistent`). " +
			"Changing it replaces the server.",
		Validators:    nameValidators(),
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
	attrs["port"] = schema.Int64Attribute{
		Required:            true,
		MarkdownDescription: "Port the server points at, 1-65535.",
		Validators:          []validator.Int64{int64validator.Between(1, 65535)},
	}
	attrs["weight"] = keptWhenUnset(0, 256, "Load-balancing weight, 0-256 (0 sends no new traffic, like drain). "+
		"When unset, the server gets HAProxy's default (1) and this attribute reports it.")
	attrs["health_check"] = schema.BoolAttribute{
		Optional: true,
		Computed: true,
		MarkdownDescription: "Run the health checks that `check` configures (`true`, `enable health`) or stop them " +
			"(`false`). Unset: they run whenever `check = true` (HAProxy adds a dynamic server with its checks " +
			"stopped; the provider starts them).",
		PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
	}
	attrs["shutdown_sessions_on_delete"] = schema.BoolAttribute{
		Optional: true,
		Computed: true,
		Default:  booldefault.StaticBool(false),
		MarkdownDescription: "On destroy, close every session still using the server (`shutdown sessions server`) " +
			"after it is put in `maint`, so that it can be deleted at once. Default `false`: destroy waits for them " +
			"to end, up to `drain_timeout` or the provider's `timeout`, whichever is longer, and fails (the server " +
			"stays, in `maint`) if they do not.",
	}
	describe := func(name, d string) {
		a, _ := attrs[name].(schema.StringAttribute)
		a.MarkdownDescription = d
		attrs[name] = a
	}
	describe("drain_timeout", "How long to let a serving server finish its sessions before it is deleted (destroy) or "+
		"moved to another address or port (update): it is put in `drain` and its live sessions are polled on every socket "+
		"until none are left or this time passes. `0s` (the default) does not wait: destroy puts it in `maint` at once, "+
		"and then waits only for HAProxy to call it removable.")
	describe("wait_healthy_timeout", "When the server is to become `ready` after being added, moved or out of service, "+
		"first keep it in `drain` and wait up to this long for a health check made after the change to pass on every "+
		"socket; only then make it `ready`, on every socket. Needs `check = true`. `0s` (the default) does not wait.")
	readBack := func(d string) schema.BoolAttribute {
		return schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(false),
			MarkdownDescription: d + " Default `false`. HAProxy reports it, so a server that lost or gained it shows as drift. Changing it replaces the server.",
			PlanModifiers:       []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
		}
	}
	attrs["check"] = readBack("Give the server health checks (`check`): HTTP or TCP as the backend's `option httpchk` says.")
	attrs["check_interval"] = stringOption("Time between two health checks (`inter`), such as `2s`; HAProxy's default is 2s. Needs `check`.",
		durationValidator{})
	attrs["rise"] = intOption("Consecutive passing checks that make the server UP (`rise`, 1-1000); HAProxy's default is 2. Needs `check`.", 1, 1000)
	attrs["fall"] = intOption("Consecutive failing checks that make the server DOWN (`fall`, 1-1000); HAProxy's default is 3. Needs `check`.", 1, 1000)
	attrs["ssl"] = readBack("Connect to the server over TLS (`ssl`).")
	attrs["ssl_verify"] = stringOption("Verify the server's certificate: `required` (needs `ssl_ca_file`) or `none`, the default. Needs `ssl`.",
		stringvalidator.OneOf(haproxy.VerifyNone, haproxy.VerifyRequired))
	attrs["ssl_ca_file"] = stringOption("CA file the server's certificate must chain to (`ca-file`): `@system-ca` for the system's " +
		"trusted CAs, or the absolute path of a CA file HAProxy has already loaded (named in its configuration, or added with " +
		"`add ssl ca-file`): HAProxy cannot read a new file at run time. Needs `ssl_verify = \"required\"`.")
	attrs["sni"] = stringOption("Host name sent as TLS SNI (`sni str(<name>)`). Needs `ssl`.")
	attrs["maxconn"] = intOption("Most concurrent connections HAProxy opens to the server (`maxconn`, 1-1048576); the rest queue.", 1, 1<<20)
	attrs["send_proxy"] = stringOption("Send the PROXY protocol header: `v1` (`send-proxy`) or `v2` (`send-proxy-v2`).",
		stringvalidator.OneOf(haproxy.ProxyV1, haproxy.ProxyV2))
	attrs["agent_port"] = schema.Int64Attribute{
		Optional: true,
		MarkdownDescription: "Run an agent check on this port (`agent-check agent-port`, 1-65535); the provider starts it " +
			"(`enable agent`) once the server has its state, and stops it before a delete. HAProxy reports it. Changing it replaces the server.",
		Validators:    []validator.Int64{int64validator.Between(1, 65535)},
		PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplace()},
	}
	attrs["agent_interval"] = stringOption("Time between two agent checks (`agent-inter`), such as `5s`. Needs `agent_port`.",
		durationValidator{})
	resp.Schema = schema.Schema{
		MarkdownDescription: "Adds a server to a backend at run time (`add server`), on every configured socket, " +
			"with no `server-template` slot to size in advance; destroy drains it, waits until HAProxy can remove it " +
			"and deletes it (`del server`). A dynamic server lives only in the running HAProxy process: a reload or " +
			"restart drops it, and the next plan shows it being added again.",
		Attributes: attrs,
	}
}

func (r *dynamicServerResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identitySchema(identityServer, "Name of the server in the backend.")
}

func (r *dynamicServerResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

// options converts the configured options into what HAProxy is told.
// Values were validated at plan time.
func (m dynamicServerModel) options() haproxy.ServerOptions {
	o := haproxy.ServerOptions{
		Check:     m.Check.ValueBool(),
		Rise:      int(m.Rise.ValueInt64()),
		Fall:      int(m.Fall.ValueInt64()),
		SSL:       m.SSL.ValueBool(),
		Verify:    m.SSLVerify.ValueString(),
		CAFile:    m.SSLCAFile.ValueString(),
		SNI:       m.SNI.ValueString(),
		MaxConn:   int(m.MaxConn.ValueInt64()),
		SendProxy: m.SendProxy.ValueString(),
		AgentPort: int(m.AgentPort.ValueInt64()),
	}
	o.CheckInter, _ = parseDuration(m.CheckInterval.ValueString(), true)
	o.AgentInter, _ = parseDuration(m.AgentInterval.ValueString(), true)
	if !m.Weight.IsNull() && !m.Weight.IsUnknown() {
		w := int(m.Weight.ValueInt64())
		o.Weight = &w
	}
	return o
}

// health is what the server's health checks should be: as configured, or
// running whenever the server has them.
func (m dynamicServerModel) health(configured types.Bool) types.Bool {
	if configured.IsNull() && m.Check.ValueBool() {
		return types.BoolValue(true)
	}
	return configured
}

func (r *dynamicServerResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg dynamicServerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	known := true
	for _, v := range []interface{ IsUnknown() bool }{cfg.Check, cfg.CheckInterval, cfg.Rise, cfg.Fall, cfg.SSL, cfg.SSLVerify,
		cfg.SSLCAFile, cfg.SNI, cfg.MaxConn, cfg.SendProxy, cfg.AgentPort, cfg.AgentInterval, cfg.Weight, cfg.HealthCheck, cfg.WaitHealthyTimeout} {
		known = known && !v.IsUnknown()
	}
	if !known {
		return
	}
	if err := cfg.options().Validate(); err != nil {
		resp.Diagnostics.AddError("Invalid server options", err.Error())
	}
	if cfg.HealthCheck.ValueBool() && !cfg.Check.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("health_check"), "Health checks not configured",
			"health_check = true starts health checks, but the server has none: set check = true.")
	}
	wait, err := parseDuration(cfg.WaitHealthyTimeout.ValueString(), true)
	if err == nil && wait > 0 && (!cfg.Check.ValueBool() || !cfg.HealthCheck.IsNull() && !cfg.HealthCheck.ValueBool()) {
		resp.Diagnostics.AddAttributeError(path.Root("wait_healthy_timeout"), "Contradictory settings",
			"wait_healthy_timeout waits for a passing health check: it needs check = true and health checks running.")
	}
}

func (r *dynamicServerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan dynamicServerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !requireFleet(r.fleet, &resp.Diagnostics) {
		return
	}
	plan.ID = types.StringValue(plan.Backend.ValueString() + "/" + plan.Server.ValueString())
	id := plan.ID.ValueString()
	var configuredHealth types.Bool
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("health_check"), &configuredHealth)...)
	d, err := desired(plan.backendServerModel, plan.health(configuredHealth))
	if err != nil {
		resp.Diagnostics.AddError("Invalid value", err.Error())
		return
	}
	// A replacement adopts the server (same name and address): the writer id
	// tells it from the object it replaces (see fleet/handover.go).
	writer := newWriterID()
	d.Owner.Writer = writer
	out, err := r.fleet.AddServer(ctx, fleet.Dynamic{Desired: d, Options: plan.options()})
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot add %s: nothing was added on any socket", id), err.Error()+checksHint(err))
		return
	}
	if len(out.Adopted) > 0 {
		resp.Diagnostics.AddWarning(fmt.Sprintf("%s was already there: adopted", id),
			fmt.Sprintf("On %s the server already existed with the address and port this resource asks for: an earlier run of it "+
				"added it and was stopped before Terraform saved it. It is this resource's now, there and where it was added.",
				strings.Join(out.Adopted, ", ")))
	}
	if len(out.Unfinished) > 0 {
		resp.Diagnostics.AddWarning(fmt.Sprintf("%s: drain did not finish", id), strings.Join(out.Unfinished, "\n"))
	}
	if len(out.Failed) > 0 {
		resp.Diagnostics.AddError(fmt.Sprintf("Adding %s failed on %d socket(s)", id, len(out.Failed)),
			fmt.Sprintf("Added on: %s.\nFailed:\n%s%s\n\nThe server is recorded as tainted: the next apply deletes it where it was added and adds it again.",
				r.fleet.SocketNames(out.Added), out.Failed.Error(), drainHint(out.Failed)))
	}
	if out.Holds != nil {
		plan.setValues(*out.Holds)
	} else if out.Seen != nil {
		plan.fillUnknown(*out.Seen)
	} else {
		plan.fillUnknown(haproxy.ServerState{Port: int(plan.Port.ValueInt64()), UserWeight: 1})
	}
	setApplied(ctx, resp.Private, appliedRecord{Writer: writer}, &resp.Diagnostics)
	privateAdded.set(ctx, resp.Private, out.Added, &resp.Diagnostics)
	privatePartial.set(ctx, resp.Private, len(out.Failed) > 0, &resp.Diagnostics)
	setProcesses(ctx, resp.Private, recordOf(out.Processes), &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	setIdentity(ctx, resp.Identity, identityServer, plan.Backend, plan.Server, &resp.Diagnostics)
}

// Update changes what can change at run time (address, port, state,
// weight, health checks) the way haproxy_backend_server does; every other
// option replaces the server, except right after import, where it is only
// recorded.
func (r *dynamicServerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, prior dynamicServerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var configuredHealth types.Bool
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("health_check"), &configuredHealth)...)
	writer := appliedRecord{Writer: getApplied(ctx, req.Private, &resp.Diagnostics).Writer}
	if writer.Writer == "" { // added before writer ids existed
		writer.Writer = newWriterID()
	}
	out, ok := writeServer(ctx, r.fleet, &plan.backendServerModel, plan.health(configuredHealth), fleet.Holding(writer.Writer, prior.recorded()), &resp.Diagnostics)
	if !ok {
		resp.Diagnostics.Append(resp.State.Set(ctx, &prior)...)
		return
	}
	setApplied(ctx, resp.Private, writer, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	setIdentity(ctx, resp.Identity, identityServer, plan.Backend, plan.Server, &resp.Diagnostics)
	privateImported.clear(ctx, resp.Private, &resp.Diagnostics)
	updatedPrivate(ctx, r.fleet, req, resp, out)
}

func (r *dynamicServerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state, ok := loadState[dynamicServerModel](ctx, req.State, r.fleet, &resp.Diagnostics)
	if !ok {
		return
	}
	backend, server := state.Backend.ValueString(), state.Server.ValueString()
	id := backend + "/" + server
	obs := r.fleet.Observe(ctx, backend, server)
	if privatePartial.get(ctx, req.Private, &resp.Diagnostics) {
		added := privateAdded.get(ctx, req.Private, &resp.Diagnostics)
		obs = slices.DeleteFunc(obs, func(o fleet.Observation) bool { return !slices.Contains(added, o.Socket) })
	}
	if have, lost := r.fleet.FoundAndMissing(obs); len(have) > 0 && len(lost) > 0 {
		resp.Diagnostics.AddError(fmt.Sprintf("%s is missing on %s", id, strings.Join(lost, ", ")),
			fmt.Sprintf("The dynamic server exists on %s but not on %s. A dynamic server lives only in the running "+
				"process, so a reload or restart of %s most likely dropped it. Replace this resource "+
				"(terraform apply -replace=<its address>) to delete it gracefully where it remains and add it on every instance.",
				strings.Join(have, ", "), strings.Join(lost, ", "), strings.Join(lost, ", ")))
		return
	}
	gone, ok := refreshServer(ctx, r.fleet, &state.backendServerModel, obs, req.Private, resp)
	switch {
	case !ok:
		return
	case gone:
		resp.Diagnostics.AddWarning(fmt.Sprintf("%s no longer exists", id),
			"Every socket confirmed that the dynamic server is gone. A reload or restart drops dynamic servers; "+
				"it was removed from the state, so the plan adds it again.")
		// The framework wants an identity even for a resource that is gone
		// (Terraform before 1.12 sends none to copy).
		setIdentity(ctx, resp.Identity, identityServer, state.Backend, state.Server, &resp.Diagnostics)
		resp.State.RemoveResource(ctx)
		return
	}
	// The options HAProxy reports, from the first instance whose server
	// differs from the state in them (a server re-added by hand with other
	// options shows as drift, and the plan replaces it), else from any.
	var reported *dynamicServerModel
	for _, o := range obs {
		if !o.Found {
			continue
		}
		m := state
		m.Check = types.BoolValue(o.Server.CheckState&haproxy.CheckConfigured != 0)
		m.SSL = types.BoolValue(o.Server.UseSSL)
		m.AgentPort = types.Int64Null()
		if o.Server.AgentPort > 0 {
			m.AgentPort = types.Int64Value(int64(o.Server.AgentPort))
		}
		differs := !m.Check.Equal(state.Check) || !m.SSL.Equal(state.SSL) || !m.AgentPort.Equal(state.AgentPort)
		if reported == nil || differs {
			reported = &m
		}
		if differs {
			break
		}
	}
	state = *reported // refreshServer found the server, so some instance has it
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	setIdentity(ctx, resp.Identity, identityServer, state.Backend, state.Server, &resp.Diagnostics)
}

func (r *dynamicServerResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	modifyServerPlan(ctx, r.fleet, req, resp)
	if !resp.Diagnostics.HasError() {
		refuseDynamicOnPlaceholder(ctx, r.fleet, req, resp)
	}
}

func (r *dynamicServerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	state, ok := loadState[dynamicServerModel](ctx, req.State, r.fleet, &resp.Diagnostics)
	if !ok {
		return
	}
	backend, server := state.Backend.ValueString(), state.Server.ValueString()
	// Imported servers have no record of where they were added: every
	// socket, where the address still proves them ours.
	added := privateAdded.get(ctx, req.Private, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	warnings, err := r.fleet.RemoveServer(ctx, backend, server, added, fleet.Holding(getApplied(ctx, req.Private, &resp.Diagnostics).Writer, state.recorded()), grace(state.backendServerModel))
	for _, w := range warnings {
		resp.Diagnostics.AddWarning(fmt.Sprintf("Deleting %s/%s", backend, server), w)
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot delete %s/%s on every socket", backend, server),
			err.Error()+removeHint(err)+"\n\nThe resource stays in the state; run apply again once it can be removed.")
	}
}

// removeHint says what lets a busy server be deleted.
func removeHint(err error) string {
	if errors.Is(err, fleet.ErrStillInUse) {
		return "\n\nA longer drain_timeout lets its sessions end; shutdown_sessions_on_delete = true closes them."
	}
	return ""
}

func (r *dynamicServerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id, ok := importedName(ctx, req, identityServer, "server", &resp.Diagnostics)
	if !ok {
		return
	}
	for name, v := range map[string]any{
		"id": id.backend + "/" + id.name, "backend": id.backend, "server": id.name,
		// Settings that only shape how changes are made take their defaults.
		"drain_timeout": "0s", "drain_timeout_action": drainContinue, "shutdown_sessions_on_delete": false, "wait_healthy_timeout": "0s",
	} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(name), v)...)
	}
	privateImported.set(ctx, resp.Private, true, &resp.Diagnostics)
}
