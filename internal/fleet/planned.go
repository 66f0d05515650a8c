package fleet

import (
	"crypto/rand"
	"fmt"
	"sync"
)

// One slot, one resource per plan. Two resource objects of one
// configuration that both point one slot somewhere would both pass
// pre-flight (the slot is free), and the second to apply would find the
// first's server there and fail as if it were someone else's. Terraform
// configures a new provider, and so a new Fleet, for every plan and every
// apply, and plans each resource object once per run, except that it plans
// a replacement twice: against its prior state, then again as a create,
// handing the second call the private data the first one returned. So the
// first plan of a slot gets a token, the object carries it in its planned
// private data, and a second plan of the slot is the same object only when
// it shows that token. Planned deletes do not count: a replacement
// (create_before_destroy, -replace, a renamed for_each key) hands the slot
// over as before.

// plannedSlots remembers, for each slot a write was planned for, the token
// of the object that planned it.
type plannedSlots struct {
	mu    sync.Mutex
	slots map[string]string
}

// PlanWrite notes that a resource object plans to write backend/server.
// shown is the token the object carries from an earlier plan of this run
// ("" when it carries none). It returns the object's token for the slot, to
// carry on, and fails when another object already planned the slot.
func (f *Fleet) PlanWrite(backend, server, shown string) (token string, err error) {
	p := &f.planned
	p.mu.Lock()
	defer p.mu.Unlock()
	key := backend + "/" + server
	if held, ok := p.slots[key]; ok {
		if shown == held {
			return held, nil // the same object, planned again as a create
		}
		return "", fmt.Errorf("%s is the server of more than one resource in this configuration: the second would find the first's server on it at apply. "+
			"Give each resource a server of its own (the haproxy_free_slots data source lists the free ones), or manage many servers as one haproxy_backend_pool", key)
	}
	if p.slots == nil {
		p.slots = map[string]string{}
	}
	// Random, so that a token an earlier run left in some object's private
	// state never equals one of this run's.
	token = rand.Text()
	p.slots[key] = token
	return token, nil
}
