// Package haproxystub is an in-memory stand-in for one HAProxy process's
// runtime API, served on a real unix socket: `server-template` backends
// whose slots it keeps in a table, the commands this provider sends to
// them answered as HAProxy 2.6.12 answers (shared/haproxy-runtime-reference.md),
// and the writes applied to the table.
//
// It exists for the benchmark (`make bench`): the provider, built as it
// ships, runs all of its own code against it (pre-flight, allocation,
// claims, the safe order, read-backs) with no HAProxy process behind the
// socket, so that its own cost can be told from HAProxy's and Terraform's.
// It is not HAProxy, and no test of behaviour may use it: no traffic, no
// health checks (a server out of maint is UP), no address lag, one
// connection's commands run to the end.
package haproxystub

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Backend is one backend of the stand-in: a `server-template <Template>
// 1-<Slots> <Placeholder> disabled`.
type Backend struct {
	Name        string
	ID          int
	Template    string
	Slots       int
	Placeholder netip.AddrPort
	NoChecks    bool // the template has no `check`
}

type server struct {
	id      int
	name    string
	addr    netip.Addr
	port    int
	admin   int // srv_admin_state bits: 0x01 FMAINT, 0x04 CMAINT, 0x08 FDRAIN
	weight  int
	checks  bool // checks configured
	health  bool // checks enabled
	dynamic bool // added at run time
}

type backend struct {
	Backend
	servers []*server
	byName  map[string]*server
}

// Stub is one stand-in process: its table and the socket it serves.
type Stub struct {
	Path string // the unix socket

	mu       sync.Mutex
	backends []*backend
	pid      int
	l        net.Listener
	wg       sync.WaitGroup
	writes   int
}

// Listen serves a stand-in with backends on a new unix socket at path.
// Every slot starts as the template leaves it: in maint (config and forced),
// on its placeholder, weight 1, checks configured and enabled.
func Listen(path string, pid int, backends ...Backend) (*Stub, error) {
	s := &Stub{Path: path, pid: pid}
	for _, b := range backends {
		be := &backend{Backend: b, byName: map[string]*server{}}
		for i := 1; i <= b.Slots; i++ {
			srv := &server{id: i, name: b.Template + strconv.Itoa(i), addr: b.Placeholder.Addr(), port: int(b.Placeholder.Port()), admin: 0x05, weight: 1,
				checks: !b.NoChecks, health: !b.NoChecks}
			be.servers = append(be.servers, srv)
			be.byName[srv.name] = srv
		}
		s.backends = append(s.backends, be)
	}
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	s.l = l
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Close stops serving and waits for every connection to end.
func (s *Stub) Close() {
	_ = s.l.Close()
	s.wg.Wait()
}

// Writes counts the write commands applied (for a benchmark's sanity check:
// a stubbed apply that wrote nothing measured nothing).
func (s *Stub) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

func (s *Stub) serve() {
	defer s.wg.Done()
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.session(c)
		}()
	}
}

// session is one connection: `prompt` turns on interactive mode (every
// reply followed by "\n> "), `quit` ends it; without `prompt`, one line of
// `;`-separated commands is answered and the connection closed, as HAProxy
// does.
func (s *Stub) session(c net.Conn) {
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriterSize(c, 64<<10)
	defer func() { _ = w.Flush() }()
	prompt := false
	for {
		line, err := r.ReadString('\n')
		line = strings.TrimSuffix(line, "\n")
		if line == "" && err != nil {
			return
		}
		for _, cmd := range strings.Split(line, ";") {
			cmd = strings.TrimSpace(cmd)
			switch cmd {
			case "prompt":
				prompt = !prompt
				if prompt {
					_, _ = w.WriteString("\n> ")
				}
				continue
			case "quit":
				return
			}
			_, _ = w.WriteString(s.run(cmd))
			if prompt {
				_, _ = w.WriteString("\n> ")
			}
		}
		if !prompt || err != nil {
			return
		}
		if r.Buffered() == 0 { // the client waits for these replies
			if w.Flush() != nil {
				return
			}
		}
	}
}

// run answers one command and applies it.
func (s *Stub) run(cmd string) string {
	f := strings.Fields(cmd)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case cmd == "show cli level":
		return "admin\n"
	case cmd == "show version":
		return "2.6.12-stub\n"
	case cmd == "show info":
		return fmt.Sprintf("Name: HAProxy\nVersion: 2.6.12-stub\nPid: %d\nStart_time_sec: 1795549763\n", s.pid)
	case cmd == "show backend":
		out := "# name\n"
		for _, b := range s.backends {
			out += b.Name + "\n"
		}
		return out
	case len(f) >= 3 && f[0] == "show" && f[1] == "servers" && f[2] == "state":
		return s.serversState(f[3:])
	case len(f) == 5 && f[0] == "show" && f[1] == "stat":
		return s.stat(f[2], f[4])
	case len(f) >= 4 && f[0] == "set" && f[1] == "server":
		return s.set(f[2], f[3:])
	case len(f) == 3 && (f[0] == "enable" || f[0] == "disable") && f[1] == "health":
		srv, refused := s.find(f[2])
		if srv == nil {
			return refused
		}
		if f[0] == "enable" && !srv.checks {
			return "Health check was not configured on this server, cannot enable.\n\n"
		}
		srv.health = f[0] == "enable" && srv.checks
		s.writes++
		return "\n"
	case len(f) >= 3 && f[0] == "add" && f[1] == "server":
		return s.add(f[2], f[3:])
	case len(f) == 3 && f[0] == "del" && f[1] == "server":
		return s.del(f[2])
	case len(f) == 4 && f[0] == "shutdown" && f[1] == "sessions" && f[2] == "server":
		if srv, refused := s.find(f[3]); srv == nil {
			return refused
		}
		return "\n"
	}
	return "Unknown command: '" + cmd + "'\n\n"
}

func (s *Stub) backend(name string) *backend {
	for _, b := range s.backends {
		if b.Name == name || "#"+strconv.Itoa(b.ID) == name {
			return b
		}
	}
	return nil
}

// find resolves "backend/server"; refused is HAProxy's reply when it
// cannot.
func (s *Stub) find(ref string) (srv *server, refused string) {
	bn, sn, ok := strings.Cut(ref, "/")
	if !ok {
		return nil, "Require 'backend/server'.\n\n"
	}
	b := s.backend(bn)
	if b == nil {
		return nil, "No such backend.\n\n"
	}
	if srv = b.byName[sn]; srv == nil {
		return nil, "No such server.\n\n"
	}
	return srv, ""
}

const stateHeader = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n"

func (s *Stub) serversState(args []string) string {
	list := s.backends
	if len(args) > 0 {
		b := s.backend(args[0])
		if b == nil {
			return "Can't find backend.\n\n"
		}
		list = []*backend{b}
	}
	var out strings.Builder
	out.WriteString(stateHeader)
	for _, b := range list {
		for _, srv := range b.servers {
			op, checkState, result := 2, 6, 3 // UP, checks configured+enabled, passed
			if srv.admin&0x01 != 0 {
				op, result = 0, 0
			}
			switch {
			case !srv.checks:
				checkState, result = 0, 0
			case !srv.health:
				checkState = 2
			}
			fmt.Fprintf(&out, "%d %s %d %s %s %d %d %d 1 3 6 %d 4 %d 0 0 0 - %d - 0 0 - - 0\n",
				b.ID, b.Name, srv.id, srv.name, srv.addr, op, srv.admin, srv.weight, result, checkState, srv.port)
		}
	}
	out.WriteString("\n")
	return out.String()
}

// stat is `show stat <be_id> 4 <srv_id|-1>`, with the columns the provider
// reads (the real reply has 129).
func (s *Stub) stat(beID, srvID string) string {
	out := "# pxname,svname,scur,status,iid,sid,addr,\n"
	for _, b := range s.backends {
		if strconv.Itoa(b.ID) != beID {
			continue
		}
		for _, srv := range b.servers {
			if srvID != "-1" && strconv.Itoa(srv.id) != srvID {
				continue
			}
			status := "UP"
			switch {
			case srv.admin&0x01 != 0:
				status = "MAINT"
			case srv.admin&0x08 != 0:
				status = "DRAIN"
			}
			out += fmt.Sprintf("%s,%s,0,%s,%d,%d,%s,\n", b.Name, srv.name, status, b.ID, srv.id, netip.AddrPortFrom(srv.addr, uint16(srv.port)))
		}
	}
	return out + "\n"
}

// set is `set server <b>/<s> addr|state|weight|health …`.
func (s *Stub) set(ref string, args []string) string {
	srv, refused := s.find(ref)
	if srv == nil {
		return refused
	}
	if args[0] == "ssl" { // the dynamic-server probe: nothing is set
		if srv.dynamic {
			return "'set server <srv> ssl' not supported on dynamic servers\n\n"
		}
		return "'set server <srv> ssl' cannot be set.  default-server should define ssl settings\n\n"
	}
	s.writes++
	switch args[0] {
	case "addr":
		addr, err := netip.ParseAddr(args[1])
		if err != nil {
			return fmt.Sprintf("Invalid addr '%s' by 'stats socket command'\n\n", args[1])
		}
		port := srv.port
		if len(args) == 4 && args[2] == "port" {
			if port, err = strconv.Atoi(args[3]); err != nil {
				return fmt.Sprintf("problem converting port '%s' to an int by 'stats socket command'\n\n", args[3])
			}
		}
		var parts []string
		if addr != srv.addr {
			parts = append(parts, fmt.Sprintf("IP changed from '%s' to '%s'", srv.addr, addr))
		} else {
			parts = append(parts, "no need to change the addr")
		}
		if len(args) == 4 {
			if port != srv.port {
				parts = append(parts, fmt.Sprintf("port changed from '%d' to '%d'", srv.port, port))
			} else {
				parts = append(parts, "no need to change the port")
			}
		}
		srv.addr, srv.port = addr, port
		return strings.Join(parts, ", ") + " by 'stats socket command'\n\n"
	case "state":
		switch args[1] {
		case "ready":
			srv.admin &^= 0x09
		case "drain":
			srv.admin = srv.admin&^0x01 | 0x08
		case "maint":
			srv.admin = srv.admin&^0x08 | 0x01
		default:
			return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"
		}
		return "\n"
	case "weight":
		w, err := strconv.Atoi(args[1])
		if err != nil || w < 0 || w > 256 {
			return "Absolute weight can only be between 0 and 256 inclusive.\n\n"
		}
		srv.weight = w
		return "\n"
	case "health":
		return "\n" // no checks run here: nothing to force
	}
	return "'set server <srv>' only supports 'agent', 'health', 'state', 'weight', 'addr', 'fqdn' and 'check-addr'.\n\n"
}

// add is `add server <b>/<s> <addr>:<port>` (a pool's claim markers): the
// new server starts in maint, as HAProxy adds it. Without an address it
// stops after the backend checks, as HAProxy does (a pre-flight's probe).
func (s *Stub) add(ref string, args []string) string {
	bn, sn, ok := strings.Cut(ref, "/")
	b := s.backend(bn)
	switch {
	case !ok:
		return "Require 'backend/server'.\n\n"
	case b == nil:
		return "No such backend.\n\n"
	case len(args) == 0:
		return "'server' expects <name> and <addr>[:<port>] as arguments.\n\n"
	case b.byName[sn] != nil:
		return "Already exists a server with the same name in backend.\n\n"
	}
	ap, err := netip.ParseAddrPort(args[0])
	if err != nil {
		return fmt.Sprintf("Invalid address '%s'.\n\n", args[0])
	}
	id := 1
	for _, srv := range b.servers {
		id = max(id, srv.id+1)
	}
	srv := &server{id: id, name: sn, addr: ap.Addr(), port: int(ap.Port()), admin: 0x01, weight: 1, dynamic: true}
	b.servers = append(b.servers, srv)
	b.byName[sn] = srv
	s.writes++
	return "New server registered.\n\n"
}

// del is `del server <b>/<s>`, for a server in maint (HAProxy refuses
// others; this stand-in has no connections to wait for).
func (s *Stub) del(ref string) string {
	srv, refused := s.find(ref)
	if srv == nil {
		return refused
	}
	if srv.admin&0x01 == 0 {
		return "Only servers in maintenance mode can be deleted.\n\n"
	}
	bn, _, _ := strings.Cut(ref, "/")
	b := s.backend(bn)
	delete(b.byName, srv.name)
	for i, x := range b.servers {
		if x == srv {
			b.servers = append(b.servers[:i], b.servers[i+1:]...)
			break
		}
	}
	s.writes++
	return "Server deleted.\n"
}
