package fleet

import (
	"fmt"
	"sync"
)

// One slot, one resource per plan. Two resource objects of one
// configuration that both point one slot somewhere would both pass
// pre-flight (the slot is free), and the second to apply would find the
// first's server there and fail as if it were someone else's. A provider
// process plans each resource object once per run (Terraform configures a
// new provider, and so a new Fleet, for every plan and every apply), so a
// second planned write of the same slot in one Fleet is another object.
// Planned deletes do not count: a replacement (create_before_destroy,
// -replace, a renamed for_each key) hands the slot over as before.

// plannedSlots remembers the slots a write was planned for.
type plannedSlots struct {
	mu    sync.Mutex
	slots map[string]bool
}

// PlanWrite notes that a resource object plans to write backend/server, and
// fails when another object of this run already planned to.
func (f *Fleet) PlanWrite(backend, server string) error {
	p := &f.planned
	p.mu.Lock()
	defer p.mu.Unlock()
	key := backend + "/" + server
	if p.slots[key] {
		return fmt.Errorf("%s is the server of more than one resource in this configuration: the second would find the first's server on it at apply. "+
			"Give each resource a server of its own (the haproxy_free_slots data source lists the free ones), or manage many servers as one haproxy_backend_pool", key)
	}
	if p.slots == nil {
		p.slots = map[string]bool{}
	}
	p.slots[key] = true
	return nil
}
