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
	UseSSL        bool // srv_use_ssl
	AgentPort     int  // srv_agent_port; 0 without an agent check
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
	index   map[serverKey]int // position; one reply serves many lookups
}

type serverKey struct{ backend, server string }

// Find returns the named server of the named backend.
func (s *ServersState) Find(backend, server string) (ServerState, bool) {
	i, ok := s.index[serverKey{backend, server}]
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
// Every row is checked, not only the ones asked for: a reply garbled
// anywhere is refused whole. One reply of a large backend is parsed for
// every resource confirmed in an apply, so rows are split into one reused
// buffer and columns are found by index, not by name.
func ParseServersState(body string) (*ServersState, error) {
	body = strings.TrimRight(body, "\n")
	version, rest, _ := strings.Cut(body, "\n")
	header, rows, _ := strings.Cut(rest, "\n")
	if rest == "" {
		return nil, fmt.Errorf("servers state: expected a version line and a header, got 1 line(s)")
	}
	if version != "1" {
		return nil, fmt.Errorf("servers state: unsupported format version %q (expected 1)", shorten(version, 40))
	}
	if !strings.HasPrefix(header, "# ") {
		return nil, fmt.Errorf("servers state: line 2 is not a `# ` header")
	}
	names := strings.Fields(header[2:])
	col := make(map[string]int, len(names))
	for i, name := range names {
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
	cols := columnsOf(col)

	n := strings.Count(rows, "\n") + 1
	if rows == "" {
		n = 0
	}
	out := &ServersState{Servers: make([]ServerState, 0, n), index: make(map[serverKey]int, n)}
	fields := make([]string, 0, len(names))
	for row := 1; rows != ""; row++ {
		var line string
		line, rows, _ = strings.Cut(rows, "\n")
		fields = splitSpaces(fields[:0], line)
		if len(fields) != len(names) {
			return nil, fmt.Errorf("servers state: row %d has %d fields, the header has %d", row, len(fields), len(names))
		}
		r, err := cols.parse(fields)
		if err != nil {
			return nil, fmt.Errorf("servers state: row %d: %w", row, err)
		}
		key := serverKey{r.Backend, r.Name}
		if _, dup := out.index[key]; dup {
			return nil, fmt.Errorf("servers state: server %s/%s appears twice", r.Backend, r.Name)
		}
		out.index[key] = len(out.Servers)
		out.Servers = append(out.Servers, r)
	}
	return out, nil
}

// splitSpaces appends line's single-space-separated fields to dst.
func splitSpaces(dst []string, line string) []string {
	for {
		field, rest, more := strings.Cut(line, " ")
		dst = append(dst, field)
		if !more {
			return dst
		}
		line = rest
	}
}

// columns holds each column's index in a row; -1 for an optional column the
// header lacks.
type columns struct {
	beID, beName, srvID, srvName, addr, op, admin, uweight, iweight, port int
	checkStatus, checkResult, checkHealth, checkState, fqdn               int
	useSSL, agentPort                                                     int
}

func columnsOf(col map[string]int) columns {
	opt := func(name string) int {
		if i, ok := col[name]; ok {
			return i
		}
		return -1
	}
	return columns{
		beID: col["be_id"], beName: col["be_name"], srvID: col["srv_id"], srvName: col["srv_name"],
		addr: col["srv_addr"], op: col["srv_op_state"], admin: col["srv_admin_state"],
		uweight: col["srv_uweight"], iweight: col["srv_iweight"], port: col["srv_port"],
		checkStatus: opt("srv_check_status"), checkResult: opt("srv_check_result"),
		checkHealth: opt("srv_check_health"), checkState: opt("srv_check_state"), fqdn: opt("srv_fqdn"),
		useSSL: opt("srv_use_ssl"), agentPort: opt("srv_agent_port"),
	}
}

// parse reads one row's fields.
func (c columns) parse(fields []string) (ServerState, error) {
	var r ServerState
	var err error
	num := func(idx int, name string) int {
		if err != nil || idx < 0 {
			return 0
		}
		v, e := strconv.Atoi(fields[idx])
		if e != nil || v < 0 {
			err = fmt.Errorf("column %s: %q is not a non-negative integer", name, shorten(fields[idx], 40))
			return 0
		}
		return v
	}

	r.Backend, r.Name = fields[c.beName], fields[c.srvName]
	if e := ValidateName("backend", r.Backend); e != nil {
		return r, e
	}
	if e := ValidateName("server", r.Name); e != nil {
		return r, e
	}
	r.BackendID = num(c.beID, "be_id")
	r.ID = num(c.srvID, "srv_id")
	op := num(c.op, "srv_op_state")
	admin := num(c.admin, "srv_admin_state")
	r.UserWeight = num(c.uweight, "srv_uweight")
	r.InitialWeight = num(c.iweight, "srv_iweight")
	r.Port = num(c.port, "srv_port")
	r.CheckStatus = num(c.checkStatus, "srv_check_status")
	r.CheckResult = num(c.checkResult, "srv_check_result")
	r.CheckHealth = num(c.checkHealth, "srv_check_health")
	r.CheckState = num(c.checkState, "srv_check_state")
	r.UseSSL = num(c.useSSL, "srv_use_ssl") == 1
	r.AgentPort = num(c.agentPort, "srv_agent_port")
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

	if a := fields[c.addr]; a != "-" {
		addr, e := netip.ParseAddr(a)
		if e != nil {
			return r, fmt.Errorf("column srv_addr: %q is not an IP address", shorten(a, 60))
		}
		r.Addr = addr
	}
	if c.fqdn >= 0 && fields[c.fqdn] != "-" {
		r.FQDN = fields[c.fqdn]
	}
	return r, nil
}
