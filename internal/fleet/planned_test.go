package fleet

import (
	"strings"
	"testing"
)

// One slot, one resource per run: the first plan of a slot gets a token; a
// second plan of it is the same object (Terraform re-planning a replacement
// as a create) only when it shows that token; anything else is refused.
func TestPlanWriteOneObjectPerSlot(t *testing.T) {
	var f Fleet
	first, err := f.PlanWrite("app", "websrv1", "")
	if err != nil || first == "" {
		t.Fatalf("first plan: %q, %v", first, err)
	}
	if again, err := f.PlanWrite("app", "websrv1", first); err != nil || again != first {
		t.Fatalf("the same object planned again: %q, %v", again, err)
	}
	for _, shown := range []string{"", "stale/1"} {
		if _, err := f.PlanWrite("app", "websrv1", shown); err == nil || !strings.Contains(err.Error(), "app/websrv1 is the server of more than one resource") {
			t.Errorf("another object (token %q) on the slot: %v", shown, err)
		}
	}
	other, err := f.PlanWrite("app", "websrv2", "")
	if err != nil || other == first {
		t.Errorf("another slot: %q, %v", other, err)
	}
	var g Fleet // another run
	if tok, err := g.PlanWrite("app", "websrv1", first); err != nil || tok == first {
		t.Errorf("a token of another run means nothing: %q, %v", tok, err)
	}
}
