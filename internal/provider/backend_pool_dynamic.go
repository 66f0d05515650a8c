package provider

import (
	"context"
	"fmt"
	"maps"
	"net/netip"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/pool"
)

// A pool in `dynamic` mode: its members are dynamic servers named
// <slot_prefix><key> (see pool.Dynamic).

// Values of a pool's mode.
const (
	poolSlots   = "slots"
	poolDynamic = "dynamic"
)

var _ resource.ResourceWithValidateConfig = (*backendPoolResource)(nil)

func (m backendPoolModel) dynamic() bool { return m.Mode.ValueString() == poolDynamic }

// ValidateConfig checks, in dynamic mode, that every member key makes a
// valid server name with the prefix.
func (r *backendPoolResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg backendPoolModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || !cfg.dynamic() || cfg.SlotPrefix.IsUnknown() {
		return
	}
	for key := range cfg.Members {
		if err := haproxy.ValidateName("server", cfg.SlotPrefix.ValueString()+key); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("members").AtMapKey(key), "Invalid member key",
				fmt.Sprintf("In dynamic mode, member %q becomes the server %q: %v.", key, cfg.SlotPrefix.ValueString()+key, err))
		}
	}
}

func addrPortOf(m poolMember) netip.AddrPort {
	addr, _ := netip.ParseAddr(m.Address.ValueString())
	return netip.AddrPortFrom(addr, uint16(m.Port.ValueInt64()))
}

// sameMember reports whether a member's planned values are what was
// recorded (and read back at the last refresh): nothing to send.
func sameMember(plan, prior poolMember) bool {
	return plan.Address.Equal(prior.Address) && plan.Port.Equal(prior.Port) && plan.State.Equal(prior.State) &&
		(plan.Weight.IsNull() || plan.Weight.Equal(prior.Weight))
}

// applyDynamic adds, changes and removes the members' servers, and records
// every server that exists afterwards, also when some member failed.
func (r *backendPoolResource) applyDynamic(ctx context.Context, plan *backendPoolModel, prior backendPoolModel, reqPriv privateGetter, respPriv privateSetter,
	st *tfsdk.State, identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	if !requireFleet(r.fleet, diags) {
		return
	}
	all := plan.pool()
	p := pool.Dynamic{Backend: all.Backend, Prefix: all.Prefix, Grace: all.Grace, Writer: poolWriter(ctx, reqPriv, respPriv, diags),
		Members: map[string]pool.Member{}, Recorded: map[string]netip.AddrPort{}, Leaving: map[string]netip.AddrPort{}}
	var leaving map[string]netip.AddrPort
	if reqPriv != nil { // nil on create
		leaving = privateLeaving.get(ctx, reqPriv, diags)
	}
	maps.Copy(p.Leaving, leaving)
	recorded := slotMap(prior.Slots)
	unchanged := map[string]string{}
	for key, mem := range prior.Members {
		if _, stays := plan.Members[key]; !stays {
			p.Leaving[key] = addrPortOf(mem)
		}
	}
	for key, mem := range plan.Members {
		was, known := prior.Members[key]
		if _, ok := recorded[key]; !ok {
			known = false
		}
		switch {
		case known && sameMember(mem, was):
			unchanged[key] = p.ServerName(key)
			continue
		case known:
			p.Recorded[key] = addrPortOf(was)
		case leaving[key].IsValid(): // came back before its server was deleted
			p.Recorded[key] = leaving[key]
		}
		delete(p.Leaving, key)
		p.Members[key] = all.Members[key]
	}
	done, left, warnings, err := pool.ApplyDynamic(ctx, r.fleet, p)
	addPoolWarnings(diags, "apply", p.Backend, p.Prefix, warnings)
	if err != nil {
		diags.AddError(fmt.Sprintf("Pool %s/%s: some members were not applied on every socket", p.Backend, p.Prefix),
			err.Error()+"\n\nEvery server that was added is recorded; the next plan reads every socket again and shows what still differs.")
	}
	maps.Copy(done, unchanged)
	for _, key := range left {
		delete(p.Leaving, key)
	}
	members := map[string]poolMember{}
	for key := range done {
		members[key] = plan.Members[key]
	}
	slots := maps.Clone(done)
	for key := range p.Leaving {
		slots[key] = p.ServerName(key) // still exists somewhere: not forgotten
	}
	plan.ID = types.StringValue(p.Backend + "/" + p.Prefix)
	plan.Members = members
	plan.Slots = slotsValue(slots)
	diags.Append(st.Set(ctx, plan)...)
	setIdentity(ctx, identity, identitySlotPrefix, plan.Backend, plan.SlotPrefix, diags)
	privateLeaving.set(ctx, respPriv, p.Leaving, diags)
}

// readDynamic refreshes every member from every socket. A member whose
// server is gone everywhere (a reload drops dynamic servers) leaves the
// state, so the plan adds it again.
func (r *backendPoolResource) readDynamic(ctx context.Context, state *backendPoolModel, resp *resource.ReadResponse) {
	all := state.pool()
	p := pool.Dynamic{Backend: all.Backend, Prefix: all.Prefix, Recorded: map[string]netip.AddrPort{}}
	prior := map[string]fleet.Values{}
	for key, mem := range state.Members {
		p.Recorded[key] = addrPortOf(mem)
		prior[key] = fleet.Values{Addr: mem.Address.ValueString(), Port: int(mem.Port.ValueInt64()),
			State: haproxy.State(mem.State.ValueString()), Weight: int(mem.Weight.ValueInt64())}
	}
	readings, err := pool.ReadDynamic(ctx, r.fleet, p, prior)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("Cannot read pool %s/%s from every HAProxy socket", p.Backend, p.Prefix),
			err.Error()+"\n\nReplace the pool (terraform apply -replace=…) to delete its servers gracefully where they remain and add them everywhere.")
		return
	}
	slots := slotMap(state.Slots)
	members := map[string]poolMember{}
	var dropped []string
	for key, mem := range state.Members {
		rd, ok := readings[key]
		if !ok {
			dropped = append(dropped, p.ServerName(key))
			delete(slots, key)
			continue
		}
		warnPoolMember(pool.Pool{Backend: p.Backend, Prefix: p.Prefix}, key, rd, &resp.Diagnostics)
		mem.Address = types.StringValue(rd.Values.Addr)
		mem.Port = types.Int64Value(int64(rd.Values.Port))
		mem.State = types.StringValue(string(rd.Values.State))
		if !mem.Weight.IsNull() {
			mem.Weight = types.Int64Value(int64(rd.Values.Weight))
		}
		members[key] = mem
	}
	if len(dropped) > 0 {
		resp.Diagnostics.AddWarning(fmt.Sprintf("Pool %s/%s: %d server(s) no longer exist", p.Backend, p.Prefix, len(dropped)),
			fmt.Sprintf("Every socket confirmed that %v are gone; a reload or restart drops dynamic servers. The plan adds them again.", dropped))
	}
	state.Members = members
	state.Slots = slotsValue(slots)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	setIdentity(ctx, resp.Identity, identitySlotPrefix, state.Backend, state.SlotPrefix, &resp.Diagnostics)
}

// deleteDynamic deletes every member's server, gracefully.
func (r *backendPoolResource) deleteDynamic(ctx context.Context, state backendPoolModel, priv privateGetter, diags *diag.Diagnostics) {
	all := state.pool()
	p := pool.Dynamic{Backend: all.Backend, Prefix: all.Prefix, Grace: all.Grace, Leaving: map[string]netip.AddrPort{},
		Writer: privatePoolWriter.get(ctx, priv, diags)}
	maps.Copy(p.Leaving, privateLeaving.get(ctx, priv, diags))
	for key, mem := range state.Members {
		p.Leaving[key] = addrPortOf(mem)
	}
	_, _, warnings, err := pool.ApplyDynamic(ctx, r.fleet, p)
	addPoolWarnings(diags, "destroy", p.Backend, p.Prefix, warnings)
	if err != nil {
		diags.AddError(fmt.Sprintf("Cannot delete every server of pool %s/%s", p.Backend, p.Prefix),
			err.Error()+"\n\nThe pool stays in the state; run apply again once they can be removed.")
	}
}
