package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// A pool saved before `mode` existed has none in its state. The plan must
// record `slots` for it without replacing the pool (which would park every
// member). Driven through the plugin protocol, since no older build of the
// provider exists to write such a state.
func TestPoolSavedBeforeModesIsNotReplaced(t *testing.T) {
	ctx := context.Background()
	srv, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ, ok := schemas.ResourceSchemas["haproxy_backend_pool"].ValueType().(tftypes.Object)
	if !ok {
		t.Fatal("the pool's schema is not an object")
	}
	members, ok := typ.AttributeTypes["members"].(tftypes.Map)
	if !ok {
		t.Fatal("members is not a map")
	}
	memberType := members.ElementType
	member := tftypes.NewValue(memberType, map[string]tftypes.Value{
		"address": tftypes.NewValue(tftypes.String, "127.0.0.1"),
		"port":    tftypes.NewValue(tftypes.Number, 8080),
		"state":   tftypes.NewValue(tftypes.String, "ready"),
		"weight":  tftypes.NewValue(tftypes.Number, nil),
	})
	object := func(mode, id, placeholder, drain any) tftypes.Value {
		return tftypes.NewValue(typ, map[string]tftypes.Value{
			"id":            tftypes.NewValue(tftypes.String, id),
			"backend":       tftypes.NewValue(tftypes.String, "app"),
			"mode":          tftypes.NewValue(tftypes.String, mode),
			"slot_prefix":   tftypes.NewValue(tftypes.String, "websrv"),
			"placeholder":   tftypes.NewValue(tftypes.String, placeholder),
			"drain_timeout": tftypes.NewValue(tftypes.String, drain),
			"members":       tftypes.NewValue(typ.AttributeTypes["members"], map[string]tftypes.Value{"a": member}),
			"slots": tftypes.NewValue(typ.AttributeTypes["slots"], map[string]tftypes.Value{
				"a": tftypes.NewValue(tftypes.String, "websrv1"),
			}),
		})
	}
	dv := func(v tftypes.Value) *tfprotov6.DynamicValue {
		d, err := tfprotov6.NewDynamicValue(typ, v)
		if err != nil {
			t.Fatal(err)
		}
		return &d
	}
	// Saved by the earlier version: no mode. The configuration sets none
	// either; Terraform proposes the prior value for it.
	prior := object(nil, "app/websrv", "127.0.0.1:1", "0s")
	config := tftypes.NewValue(typ, map[string]tftypes.Value{
		"id": tftypes.NewValue(tftypes.String, nil), "backend": tftypes.NewValue(tftypes.String, "app"),
		"mode": tftypes.NewValue(tftypes.String, nil), "slot_prefix": tftypes.NewValue(tftypes.String, "websrv"),
		"placeholder": tftypes.NewValue(tftypes.String, nil), "drain_timeout": tftypes.NewValue(tftypes.String, nil),
		"members": tftypes.NewValue(typ.AttributeTypes["members"], map[string]tftypes.Value{"a": member}),
		"slots":   tftypes.NewValue(typ.AttributeTypes["slots"], nil),
	})
	resp, err := srv.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
		TypeName:         "haproxy_backend_pool",
		PriorState:       dv(prior),
		ProposedNewState: dv(prior),
		Config:           dv(config),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Errorf("%s: %s", d.Summary, d.Detail)
	}
	if len(resp.RequiresReplace) > 0 {
		t.Errorf("the plan replaces the pool because of %v", resp.RequiresReplace)
	}
	planned, err := resp.PlannedState.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]tftypes.Value
	if err := planned.As(&attrs); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := attrs["mode"].As(&mode); err != nil || mode != poolSlots {
		t.Errorf("planned mode = %q (%v), want %q", mode, err, poolSlots)
	}
}
