package tfplancheck

import (
	"context"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

func planOf(address string, actions tfjson.Actions, before, after, unknown map[string]any) *tfjson.Plan {
	return &tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{
		{Address: "other.thing", Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionDelete}}},
		{Address: address, Change: &tfjson.Change{Actions: actions, Before: before, After: after, AfterUnknown: unknown}},
	}}
}

func check(c plancheck.PlanCheck, plan *tfjson.Plan) error {
	var resp plancheck.CheckPlanResponse
	c.CheckPlan(context.Background(), plancheck.CheckPlanRequest{Plan: plan}, &resp)
	return resp.Error
}

func TestExpectChanges(t *testing.T) {
	update := tfjson.Actions{tfjson.ActionUpdate}
	before := map[string]any{"address": "127.0.0.1", "port": 80.0, "weight": 1.0, "state": "ready"}
	with := func(m map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for key, val := range m {
			out[key] = val
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		plan    *tfjson.Plan
		attrs   []string
		wantErr string // "" passes
	}{
		{
			name:  "exactly the attributes asked change",
			plan:  planOf("haproxy_backend_server.a", update, before, with(with(before, "port", 81.0), "weight", 2.0), nil),
			attrs: []string{"weight", "port"},
		},
		{
			name:    "one more attribute changes than asked",
			plan:    planOf("haproxy_backend_server.a", update, before, with(with(before, "port", 81.0), "weight", 2.0), nil),
			attrs:   []string{"port"},
			wantErr: "plan changes [port weight], want [port]",
		},
		{
			name:    "an attribute asked does not change",
			plan:    planOf("haproxy_backend_server.a", update, before, with(before, "port", 81.0), nil),
			attrs:   []string{"port", "state"},
			wantErr: "plan changes [port], want [port state]",
		},
		{
			name:  "unknown after counts as a change",
			plan:  planOf("haproxy_backend_server.a", update, before, before, map[string]any{"state": true, "port": false}),
			attrs: []string{"state"},
		},
		{
			name:    "a key present only after counts as a change",
			plan:    planOf("haproxy_backend_server.a", update, before, with(before, "instances", "x"), nil),
			attrs:   nil,
			wantErr: "plan changes [instances], want []",
		},
		{
			name:    "a key present only before counts as a change",
			plan:    planOf("haproxy_backend_server.a", update, before, with(before, "state", nil), nil),
			attrs:   []string{},
			wantErr: "plan changes [state], want []",
		},
		{
			name:    "a replacement is not an update in place",
			plan:    planOf("haproxy_backend_server.a", tfjson.Actions{tfjson.ActionDelete, tfjson.ActionCreate}, before, before, nil),
			attrs:   []string{"port"},
			wantErr: "want an update in place",
		},
		{
			name:    "the resource is not in the plan",
			plan:    planOf("haproxy_backend_server.b", update, before, before, nil),
			attrs:   []string{"port"},
			wantErr: "haproxy_backend_server.a is not in the plan",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := check(ExpectChanges("haproxy_backend_server.a", tc.attrs...), tc.plan)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("failed: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
