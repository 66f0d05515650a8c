package provider

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

// expectChanges asserts that the plan updates resource in place and that
// exactly attrs (top-level attributes) change: a drift step says which
// values drifted, not only that something did.
func expectChanges(resource string, attrs ...string) plancheck.PlanCheck {
	return changesCheck{resource, attrs}
}

type changesCheck struct {
	resource string
	attrs    []string
}

func (c changesCheck) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != c.resource {
			continue
		}
		if !rc.Change.Actions.Update() {
			resp.Error = fmt.Errorf("%s: planned %v, want an update in place", c.resource, rc.Change.Actions)
			return
		}
		before, _ := rc.Change.Before.(map[string]any)
		after, _ := rc.Change.After.(map[string]any)
		unknown, _ := rc.Change.AfterUnknown.(map[string]any)
		var changed []string
		for k := range maps.Keys(before) {
			if u, _ := unknown[k].(bool); u || !reflect.DeepEqual(before[k], after[k]) {
				changed = append(changed, k)
			}
		}
		slices.Sort(changed)
		want := slices.Sorted(slices.Values(c.attrs))
		if !slices.Equal(changed, want) {
			resp.Error = fmt.Errorf("%s: plan changes %v, want %v", c.resource, changed, want)
		}
		return
	}
	resp.Error = fmt.Errorf("%s is not in the plan", c.resource)
}
