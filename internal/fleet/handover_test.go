package fleet

import "testing"

func TestParkHandsOverOnlyToAnotherWriter(t *testing.T) {
	var w slotWriters
	if why := w.handedOver("app", "s1", "x"); why != "" {
		t.Errorf("a slot nobody wrote in this process is the parker's: %s", why)
	}
	w.wrote("app", "s0", "pool") // a pool writes under its own lock, not the slot's
	unlock := w.lock("app", "s1")
	w.wrote("app", "s1", "new")
	unlock()
	if why := w.handedOver("app", "s1", "new"); why != "" {
		t.Errorf("the writer itself parks: %s", why)
	}
	if why := w.handedOver("app", "s1", "old"); why == "" {
		t.Error("the deposed object must hand the slot over")
	}
	if why := w.handedOver("app", "s2", "old"); why != "" {
		t.Errorf("another slot is not handed over: %s", why)
	}
}
