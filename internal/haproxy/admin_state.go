package haproxy

import "strings"

// AdminFlags is srv_admin_state: a bit mask printed in DECIMAL (some public
// clients read it as hex and get every value above 9 wrong).
type AdminFlags uint32

// The bits of srv_admin_state (SRV_ADMF_* in HAProxy's server-t.h).
const (
	AdminForcedMaint    AdminFlags = 0x01 // FMAINT: `state maint` from the CLI
	AdminInheritedMaint AdminFlags = 0x02 // IMAINT: inherited through `track`
	AdminConfigDisabled AdminFlags = 0x04 // CMAINT: `disabled` in the config; stays set after `state ready`
	AdminForcedDrain    AdminFlags = 0x08 // FDRAIN: `state drain` from the CLI
	AdminInheritedDrain AdminFlags = 0x10 // IDRAIN: inherited through `track`
	AdminResolverMaint  AdminFlags = 0x20 // RMAINT: DNS resolution failed
	AdminFQDNChanged    AdminFlags = 0x40 // HMAINT before 3.1, FQDN_CHANGED after: a marker, not maintenance
)

// UserState is the state the provider manages, taken from the forced bits
// only: FMAINT → maint, else FDRAIN → drain, else ready. A template slot that
// was `disabled` and then set ready keeps CMAINT (value 4): that is ready.
func (f AdminFlags) UserState() State {
	switch {
	case f&AdminForcedMaint != 0:
		return StateMaint
	case f&AdminForcedDrain != 0:
		return StateDrain
	default:
		return StateReady
	}
}

// WithUserState is f after `set server … state s` (see UserState): ready
// clears the forced maintenance and drain, drain forces drain and clears
// forced maintenance, maint forces maintenance.
func (f AdminFlags) WithUserState(s State) AdminFlags {
	switch s {
	case StateReady:
		return f &^ (AdminForcedMaint | AdminForcedDrain)
	case StateDrain:
		return f&^AdminForcedMaint | AdminForcedDrain
	case StateMaint:
		return f | AdminForcedMaint
	}
	return f
}

// InMaintenance is HAProxy's own test (SRV_ADMF_MAINT = 0x23): forced,
// inherited or resolver maintenance.
func (f AdminFlags) InMaintenance() bool {
	return f&(AdminForcedMaint|AdminInheritedMaint|AdminResolverMaint) != 0
}

// Draining is HAProxy's SRV_ADMF_DRAIN (0x18): forced or inherited drain.
func (f AdminFlags) Draining() bool {
	return f&(AdminForcedDrain|AdminInheritedDrain) != 0
}

// NotForced lists the bits that affect traffic but are not the user state:
// inherited maintenance or drain and resolver maintenance. They are reported
// beside the user state, never folded into it.
func (f AdminFlags) NotForced() []string {
	var out []string
	if f&AdminInheritedMaint != 0 {
		out = append(out, "maintenance inherited from a tracked server")
	}
	if f&AdminInheritedDrain != 0 {
		out = append(out, "drain inherited from a tracked server")
	}
	if f&AdminResolverMaint != 0 {
		out = append(out, "maintenance because DNS resolution failed")
	}
	return out
}

// String renders the set bits by name, for messages.
func (f AdminFlags) String() string {
	names := []struct {
		bit  AdminFlags
		name string
	}{
		{AdminForcedMaint, "FMAINT"}, {AdminInheritedMaint, "IMAINT"}, {AdminConfigDisabled, "CMAINT"},
		{AdminForcedDrain, "FDRAIN"}, {AdminInheritedDrain, "IDRAIN"}, {AdminResolverMaint, "RMAINT"},
		{AdminFQDNChanged, "FQDN_CHANGED"},
	}
	var parts []string
	for _, n := range names {
		if f&n.bit != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// OpState is srv_op_state.
type OpState int

// Values of srv_op_state.
const (
	OpStopped  OpState = 0
	OpStarting OpState = 1
	OpRunning  OpState = 2
	OpStopping OpState = 3
)

func (o OpState) String() string {
	switch o {
	case OpStopped:
		return "stopped"
	case OpStarting:
		return "starting"
	case OpRunning:
		return "running"
	case OpStopping:
		return "stopping"
	}
	return "unknown"
}
