package fleet

import (
	"fmt"
	"net/netip"
	"slices"
)

// The one owner rule. Several workspaces, pipelines and people write to the
// same HAProxy, and HAProxy records no owner: a slot belongs to whoever's
// value it holds. So before any object writes, parks or removes a server,
// it asks Claim.Mine of what the socket holds now, and leaves the server
// alone when the answer is no. Pre-flight, apply, park, dynamic removal and
// the pool's leavers all ask here; nothing else decides.

// Act is what an object is about to do to a server on one socket.
type Act int

const (
	// ActWrite points the server at an address, weighs it or changes its
	// state (create, update, a pool member, a state action).
	ActWrite Act = iota
	// ActPark takes it out of service and puts it back where it was found.
	ActPark
	// ActRemove deletes a dynamic server.
	ActRemove
	// ActAdopt takes an existing dynamic server of the name as what an
	// earlier, killed run of the object added.
	ActAdopt
)

func (a Act) String() string {
	return [...]string{"write", "park", "remove", "adopt"}[a]
}

// done words the act as what was not done: "not written".
func (a Act) done() string {
	return [...]string{"written", "parked", "deleted", "adopted"}[a]
}

// Claim is everything one object can show that a server is its own.
type Claim struct {
	// Recorded are the values the object's state records: the one value
	// Terraform holds, and each instance's value that an import found
	// (instances that disagree are each the object's).
	Recorded []netip.AddrPort
	// Wrote are the values the object itself wrote, as its last write
	// recorded them: a refresh may since have recorded another instance's
	// value, but a server still holding one of these holds what the object
	// put there.
	Wrote []netip.AddrPort
	// Origin is where the object found the slot on this socket (zero when
	// it was the placeholder or unknown): a park puts it back there, so a
	// slot already there is parked.
	Origin netip.AddrPort
	// Asked is the address a write asks for, AskedPort its port (0: the
	// port is left as it is). A server already holding it was written by
	// an earlier run of the object that was killed before Terraform saved
	// anything: it is the object's to go on with (never to park on).
	Asked     netip.Addr
	AskedPort int
	// Marker: a pool's claim marker names the object for the slot. It
	// proves the slot's name, not what the slot holds: with Recorded set,
	// the address must still be one of the object's too.
	Marker bool
}

// Verdict is the answer of Claim.Mine: Why says which of the claim's
// facts made the server the object's; empty when it is not.
type Verdict struct {
	Why string
}

// Mine reports whether the object may act on a server that holds held on
// one socket, where placeholder is where free slots are parked.
//
//   - Its own values (Recorded, Wrote) are the object's for every act.
//   - The placeholder is a free slot: anyone may write it, and parking it
//     again changes nothing. A dynamic server is never on it by design, so
//     for removal or adoption it is not a reason.
//   - The origin (park only): the slot is back where it was found.
//   - The asked value (write and adopt only): a killed run's own write.
//   - A claim marker without a recorded value (a pool slot recorded before
//     the pool kept its members' values) proves the slot by its name.
//
// Anything else is someone else's: another workspace, a hand edit.
func (c Claim) Mine(act Act, held, placeholder netip.AddrPort) Verdict {
	switch {
	case slices.Contains(c.Recorded, held):
		return Verdict{"recorded"}
	case slices.Contains(c.Wrote, held):
		return Verdict{"written by this object"}
	case held == placeholder && (act == ActWrite || act == ActPark):
		return Verdict{"the placeholder"}
	case act == ActPark && c.Origin.IsValid() && held == c.Origin:
		return Verdict{"its origin"}
	case (act == ActWrite || act == ActAdopt) && c.Asked.IsValid() && held.Addr() == c.Asked && (c.AskedPort == 0 || int(held.Port()) == c.AskedPort):
		return Verdict{"the value asked for"}
	case c.Marker && len(c.Recorded) == 0 && act != ActRemove:
		return Verdict{"its claim marker"}
	}
	return Verdict{}
}

// Ok reports whether the verdict makes the server the object's.
func (v Verdict) Ok() bool { return v.Why != "" }

// Foreign words why an object leaves a server alone: what it holds, and
// what the object could have shown.
func (c Claim) Foreign(name string, act Act, held, placeholder netip.AddrPort) string {
	own := "nothing recorded"
	if len(c.Recorded) > 0 {
		own = joinAddrPorts(c.Recorded)
	}
	return fmt.Sprintf("%s holds %s, which is neither this resource's (%s) nor the placeholder %s: it belongs to someone else (another workspace, or a hand edit), so it was left alone (not %s)",
		name, held, own, placeholder, act.done())
}

func joinAddrPorts(aps []netip.AddrPort) string {
	s := ""
	for i, ap := range aps {
		if i > 0 {
			s += ", "
		}
		s += ap.String()
	}
	return s
}
