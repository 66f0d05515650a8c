package provider

import (
	"encoding/json"
	"net/netip"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

// Every key of private state, for every resource, with what it holds and
// what the resource does when it cannot read it (see private.go). A key's
// name is what old states hold: renaming one loses it.

// Servers (haproxy_backend_server, and haproxy_dynamic_server, which shares
// their code).
var (
	// privateOrigin holds each socket's address, port and weight from before
	// Create, so that Delete parks the slot where it was. Without it Delete
	// would park on the placeholder, which it must not guess: an error.
	privateOrigin = privateKey[map[string]fleet.Origin]{name: "origin"}

	// privateApplied holds what this object itself last wrote (an
	// appliedRecord). The state's attributes cannot say that: a refresh
	// records what one socket holds now (a parked instance after an
	// interrupted destroy, a hand edit after `-refresh-only`), and ownership
	// must not follow it. Only Create and Update write it; Read leaves it.
	privateApplied = privateKey[appliedRecord]{name: "applied",
		withoutIt: "Only the address the state records counts as this resource's until its next apply."}

	// privateImportedAt holds, after an import, the address:port every
	// instance that was not parked held then: instances that disagreed are
	// each this object's, not only the one the state's single value names.
	// Written by the Read of an import alone (a later refresh must not make
	// a hand edit the object's), dropped once a write took the object's
	// values on every socket.
	privateImportedAt = privateKey[[]string]{name: "imported_at",
		withoutIt: "Only the address the state records counts as this resource's; an instance that held another value at import is left alone."}

	// privateConverge holds, while the instances disagree on a port or
	// weight the configuration leaves unset, the value last recorded for it:
	// the plan then sets every socket back to it instead of recording
	// whichever value a refresh happened to pick.
	privateConverge = privateKey[convergeValues]{name: "converge",
		withoutIt: "The plan takes the port and weight the state records."}

	// privateProcesses holds, per socket, a fingerprint of the HAProxy
	// process that last held the recorded values (private_processes.go):
	// when one that drifted has been replaced, the plan says it restarted.
	// Its value has its own compact form, decoded there.
	privateProcesses = privateKey[json.RawMessage]{name: "processes",
		withoutIt: "The plan does not say whether an instance restarted."}

	// privateDrift holds what the last refresh saw differ (a driftReport),
	// for ModifyPlan to word once it knows what apply will do.
	privateDrift = privateKey[*driftReport]{name: "drift",
		withoutIt: "The plan shows the change without saying which instance drifted."}

	// privatePlanToken carries the token of fleet.PlanWrite from Terraform's
	// first plan of a replacement to its second (see fleet/planned.go). It
	// means nothing outside the run that wrote it.
	privatePlanToken = privateKey[string]{name: "plan_token",
		withoutIt: "The plan takes this object for a second one writing the same server."}
)

// Dynamic servers.
var (
	// privateAdded lists the sockets (as configured) where Create added the
	// server: Delete removes it there only. A socket where another writer
	// holds the name was never ours. Without it Delete could remove a
	// server another writer added: an error.
	privateAdded = privateKey[[]string]{name: "added"}

	// privatePartial marks a server that Create added on some sockets only
	// (the resource is then tainted): Read looks for it where it was added,
	// not on the sockets that refused it.
	privatePartial = privateKey[bool]{name: "partial",
		withoutIt: "Read looks for the server on every socket."}

	// privateImported marks a server imported and not yet updated: its
	// options HAProxy does not report are unknown to the state.
	privateImported = privateKey[bool]{name: "imported",
		withoutIt: "A change of an option HAProxy does not report replaces the server."}
)

// Pools.
var (
	// privateClaimToken is the address:port of the pool's claim markers
	// (pool/claim.go); a pool without one gets a new token (it has no
	// markers to match).
	privateClaimToken = privateKey[string]{name: "claim_token",
		withoutIt: "The pool makes a new claim token; slots it marked before are not recognised as its own by their marker."}

	// privateAdopt says the next apply takes over the recorded slots'
	// markers (set by import).
	privateAdopt = privateKey[bool]{name: "adopt",
		withoutIt: "The next apply does not take over the markers of the recorded slots."}

	// privatePoolWriter is the pool object's writer id (fleet/handover.go):
	// a replacement with the same configuration has the same claim token,
	// and only this id tells the two apart when Terraform destroys the old
	// one.
	privatePoolWriter = privateKey[string]{name: "writer",
		withoutIt: "The pool takes a new writer id."}

	// privateLeavingSlots holds members that left but may still be served
	// (member key → slot): the next refresh shows them and the next apply
	// parks them. Without it they would be forgotten while they serve: an
	// error.
	privateLeavingSlots = privateKey[map[string]string]{name: "leaving_slots"}

	// privateLeaving holds, in dynamic mode, members that left the
	// configuration but whose servers could not be deleted everywhere yet
	// (key → address:port): the next apply tries again, so none is
	// forgotten. Without it: an error.
	privateLeaving = privateKey[map[string]netip.AddrPort]{name: "leaving"}
)

// Map and ACL entries.
var (
	// privateWrote records the values this resource wrote, apart from the
	// state's value, which a refresh sets to what an instance holds so that
	// the plan shows drift. A run killed after its writes and before the
	// state was saved finds the key holding exactly the planned value, which
	// needs no write and is taken as its own; any other value is someone
	// else's. An import owns what it found.
	privateWrote = privateKey[[]string]{name: "wrote",
		withoutIt: "Only the value the state records counts as this entry's."}
)
