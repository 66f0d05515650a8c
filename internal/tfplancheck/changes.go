// Package tfplancheck holds the provider's own plan checks for acceptance
// tests, beside terraform-plugin-testing's plancheck (as
// terraform-provider-time keeps its in timetesting), each tested against
// plans built by hand (changes_test.go).
package tfplancheck

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

// ExpectChanges asserts that the plan updates resource in place and that
// exactly attrs (top-level attributes) change: a drift step says which
// values drifted, not only that something did. An attribute changes when
// its value differs before and after, when it is unknown after, or when it
// is present on one side only.
func ExpectChanges(resource string, attrs ...string) plancheck.PlanCheck {
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
		keys := map[string]bool{}
		for _, m := range []map[string]any{before, after, unknown} {
			for k := range m {
				keys[k] = true
			}
		}
		var changed []string
		for k := range keys {
			b, inBefore := before[k]
			a, inAfter := after[k]
			if u, _ := unknown[k].(bool); u || inBefore != inAfter || !reflect.DeepEqual(b, a) {
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
