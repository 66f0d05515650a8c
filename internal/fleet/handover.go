package fleet

import (
	"fmt"
	"sync"
)

// Terraform can write one slot from two resource objects in one apply:
// create_before_destroy creates the replacement and only then destroys the
// deposed object, and a for_each key renamed without a `moved` block creates
// the new instance and destroys the old one at the same time. Both objects
// name the same backend/server and hold the same address, so HAProxy cannot
// tell them apart; but both run in this provider process, which can.
//
// So every write and every park of a slot by a server resource runs under
// the slot's lock, and the last object to write a slot in this process is
// remembered by its writer id (a random id the resource keeps in private
// state). A park by any other object hands the slot over instead: it
// leaves it serving and says so. The same holds for a dynamic server
// (whose replacement adopts the server, same name and address) and for a
// pool's slots (whose replacement, with the same configuration, has the
// same claim token: see pool.TokenFor). Without the lock, a destroy could park
// the slot between the replacement's address check and its `state ready`.

// guard takes the slot's lock for a take-out by owner (Park, RemoveServer)
// and says why it must hand the slot over instead, if it must. A pool's
// take-out (owner.Marker) is serialised by the pool's own lock.
func (f *Fleet) guard(backend, server string, owner Owner) (unlock func(), why string) {
	if owner.Marker {
		return func() {}, ""
	}
	unlock = f.writers.lock(backend, server)
	return unlock, f.writers.handedOver(backend, server, owner.Writer)
}

// slotWriters is the per-process memory of who wrote which slot last.
type slotWriters struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
	last  map[string]string // backend/server → writer id
}

// ready makes the maps (call with mu held).
func (w *slotWriters) ready() {
	if w.locks == nil {
		w.locks, w.last = map[string]*sync.Mutex{}, map[string]string{}
	}
}

func (w *slotWriters) lock(backend, server string) (unlock func()) {
	w.mu.Lock()
	w.ready()
	m, ok := w.locks[backend+"/"+server]
	if !ok {
		m = &sync.Mutex{}
		w.locks[backend+"/"+server] = m
	}
	w.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// wrote remembers writer as the slot's last writer (call under the slot's
// lock, or a pool's).
func (w *slotWriters) wrote(backend, server, writer string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ready()
	w.last[backend+"/"+server] = writer
}

// handedOver says why a park by writer must leave the slot alone: another
// resource object wrote it in this process (call under the lock). Empty
// when the slot is writer's to park.
func (w *slotWriters) handedOver(backend, server, writer string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	last, ok := w.last[backend+"/"+server]
	if !ok || last == writer {
		return ""
	}
	return fmt.Sprintf("%s/%s was written in this run by another resource object (the replacement of this one, "+
		"or a for_each instance that took the same slot), so it is handed over to it as it is: nothing was changed on any socket",
		backend, server)
}
