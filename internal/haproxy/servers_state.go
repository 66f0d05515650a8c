package haproxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ServerState is one row of `show servers state`, with the columns the
// provider uses decoded. Health-check columns are kept for waiting on checks
// but are volatile: they never belong in Terraform state.
type ServerState struct {
	BackendID     int
	Backend       string
	ID            int
	Name          string
	Addr          netip.Addr // invalid when HAProxy prints "-" (no address)
	Port          int        // 0 when the server has no port
	OpState       OpState
	Admin         AdminFlags
	UserWeight    int
	InitialWeight int
	CheckStatus   int // srv_check_status: HCHK_STATUS_* enum
	CheckResult   int // srv_check_result: 0 unknown, 1 neutral, 2 failed, 3 passed, 4 condpass
	CheckHealth   int
	CheckState    int // bit mask; unknown bits ignored
	FQDN          string
}

// Health-check bits of srv_check_state (CHK_ST_*); other bits may leak on
// 2.6 and are ignored.
const (
	CheckConfigured = 0x02
	CheckEnabled    = 0x04
)

// CheckPassed and CheckCondPassed are the srv_check_result values of a
// passing check.
const (
	CheckPassed     = 3
	CheckCondPassed = 4
)

// HealthChecks reports whether health checks are configured and enabled.
func (s ServerState) HealthChecks() (configured, enabled bool) {
	return s.CheckState&CheckConfigured != 0, s.CheckState&CheckEnabled != 0
}

// HasInetAddr reports whether the slot holds an IPv4/IPv6 address, the
// precondition for `set server … addr` to work at all.
func (s ServerState) HasInetAddr() bool { return s.Addr.IsValid() }

// ServersState is a parsed `show servers state` reply.
type ServersState struct {
	Servers []ServerState
	index   map[string]int // "backend/server" → position; one reply serves many lookups
}

// Find returns the named server of the named backend.
func (s *ServersState) Find(backend, server string) (ServerState, bool) {
	i, ok := s.index[backend+"/"+server]
	if !ok {
		return ServerState{}, false
	}
	return s.Servers[i], true
}

// requiredColumns must be present in the header; the format has grown from 17
// to 25 columns over the years and newer ones are simply ignored.
var requiredColumns = []string{
	"be_id", "be_name", "srv_id", "srv_name", "srv_addr", "srv_op_state",
	"srv_admin_state", "srv_uweight", "srv_iweight", "srv_port",
}

// ParseServersState parses the body of `show servers state` by its header:
// line 1 is the format version (always 1), line 2 the `# ` header naming the
// columns, then one row per server with exactly as many fields as the header.
func ParseServersState(body string) (*ServersState, error) {
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("servers state: expected a version line and a header, got %d line(s)", len(lines))
	}
	if lines[0] != "1" {
		return nil, fmt.Errorf("servers state: unsupported format version %q (expected 1)", shorten(lines[0], 40))
	}
	if !strings.HasPrefix(lines[1], "# ") {
		return nil, fmt.Errorf("servers state: line 2 is not a `# ` header")
	}
	header := strings.Fields(lines[1][2:])
	col := make(map[string]int, len(header))
	for i, name := range header {
		if _, dup := col[name]; dup {
			return nil, fmt.Errorf("servers state: column %q appears twice in the header", name)
		}
		col[name] = i
	}
	for _, name := range requiredColumns {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("servers state: required column %q is missing from the header", name)
		}
	}

	out := &ServersState{Servers: make([]ServerState, 0, len(lines)-2), index: make(map[string]int, len(lines)-2)}
	for n, line := range lines[2:] {
		fields := strings.Split(line, " ")
		if len(fields) != len(header) {
			return nil, fmt.Errorf("servers state: row %d has %d fields, the header has %d", n+1, len(fields), len(header))
		}
		row, err := parseServerRow(fields, col)
		if err != nil {
			return nil, fmt.Errorf("servers state: row %d: %w", n+1, err)
		}
		key := row.Backend + "/" + row.Name
		if _, dup := out.index[key]; dup {
			return nil, fmt.Errorf("servers state: server %s appears twice", key)
		}
		out.index[key] = len(out.Servers)
		out.Servers = append(out.Servers, row)
	}
	return out, nil
}

func parseServerRow(fields []string, col map[string]int) (ServerState, error) {
	var r ServerState
	var err error
	get := func(name string) string { return fields[col[name]] }
	num := func(name string, dst *int) {
		if err != nil {
			return
		}
		v, e := strconv.Atoi(get(name))
		if e != nil || v < 0 {
			err = fmt.Errorf("column %s: %q is not a non-negative integer", name, shorten(get(name), 40))
			return
		}
		*dst = v
	}
	optNum := func(name string, dst *int) {
		if _, ok := col[name]; ok {
			num(name, dst)
		}
	}

	r.Backend, r.Name = get("be_name"), get("srv_name")
	if e := ValidateName("backend", r.Backend); e != nil {
		return r, e
	}
	if e := ValidateName("server", r.Name); e != nil {
		return r, e
	}
	var op, admin int
	num("be_id", &r.BackendID)
	num("srv_id", &r.ID)
	num("srv_op_state", &op)
	num("srv_admin_state", &admin)
	num("srv_uweight", &r.UserWeight)
	num("srv_iweight", &r.InitialWeight)
	num("srv_port", &r.Port)
	optNum("srv_check_status", &r.CheckStatus)
	optNum("srv_check_result", &r.CheckResult)
	optNum("srv_check_health", &r.CheckHealth)
	optNum("srv_check_state", &r.CheckState)
	if err != nil {
		return r, err
	}
	if op > int(OpStopping) {
		return r, fmt.Errorf("column srv_op_state: unknown value %d", op)
	}
	if r.Port > 65535 {
		return r, fmt.Errorf("column srv_port: %d is not a port", r.Port)
	}
	r.OpState, r.Admin = OpState(op), AdminFlags(admin)

	if a := get("srv_addr"); a != "-" {
		addr, e := netip.ParseAddr(a)
		if e != nil {
			return r, fmt.Errorf("column srv_addr: %q is not an IP address", shorten(a, 60))
		}
		r.Addr = addr
	}
	if _, ok := col["srv_fqdn"]; ok && get("srv_fqdn") != "-" {
		r.FQDN = get("srv_fqdn")
	}
	return r, nil
}
