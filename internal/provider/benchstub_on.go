//go:build benchstub

package provider

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// benchStub is set in the benchmark's socket-stubbed build (`go build -tags
// benchstub`): same schema and plans, but Create and Update only copy the
// plan, Read keeps the state, Delete forgets. Such a build never opens a
// socket, so `make bench` can tell the provider's own cost from Terraform's.
// Never ship it.
const benchStub = true

// stubPoolApply records an assignment without a socket: members keep their
// slots and newcomers take the next free numbers, as the real pool would on
// empty slots.
func stubPoolApply(ctx context.Context, plan *backendPoolModel, st *tfsdk.State, diags *diag.Diagnostics) bool {
	assigned := slotMap(plan.Slots)
	used := map[string]bool{}
	for _, s := range assigned {
		used[s] = true
	}
	next := 1
	for _, key := range slices.Sorted(maps.Keys(plan.Members)) {
		if _, ok := assigned[key]; ok {
			continue
		}
		for used[plan.SlotPrefix.ValueString()+strconv.Itoa(next)] {
			next++
		}
		assigned[key] = plan.SlotPrefix.ValueString() + strconv.Itoa(next)
		used[assigned[key]] = true
	}
	for key := range assigned {
		if _, ok := plan.Members[key]; !ok {
			delete(assigned, key)
		}
	}
	plan.ID = types.StringValue(plan.Backend.ValueString() + "/" + plan.SlotPrefix.ValueString())
	plan.Slots = slotsValue(assigned)
	diags.Append(st.Set(ctx, plan)...)
	return true
}
