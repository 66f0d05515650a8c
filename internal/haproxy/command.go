package haproxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Command is one validated CLI line together with the rule that decides,
// from the reply's content, whether it succeeded. Commands are only built by
// the constructors below, which validate every value they put in the line.
type Command struct {
	line  string
	reply replyRule
	// payload follows the line (which ends in `<<`) on lines of its own,
	// ended by an empty line: a certificate, validated by its constructor.
	payload string
}

// wire is what is sent for the command, without the final newline.
func (c Command) wire() string {
	if c.payload == "" {
		return c.line
	}
	return c.line + "\n" + c.payload + "\n"
}

// String is the line sent to HAProxy, without its newline.
func (c Command) String() string { return c.line }

// replyRule inspects a reply body (with its trailing newlines removed) and
// returns a nil kind for success, or what it concluded and a kind sentinel.
type replyRule func(msg string) (detail string, kind error)

// commonFailures are replies that mean the same for every command. They are
// matched whole (or by their fixed prefix), never by substring, so a success
// reply that happens to contain the words cannot be mistaken for them.
var commonFailures = []struct {
	text   string
	prefix bool
	kind   error
}{
	{"Permission denied", false, ErrPermission},
	{"Unknown command", true, ErrUnknownCommand},
	{"No such backend.", false, ErrNoSuchBackend},
	{"No such server.", false, ErrNoSuchServer},
	{"Can't find backend.", false, ErrNoSuchBackend},
	{"No such proxy.", false, ErrNoSuchBackend}, // show stat <proxy>
	{"Require 'backend/server'.", false, ErrInvalidArgument},
	{"Proxy is disabled.", false, ErrBackendDisabled},
	{"usage: set server ", true, ErrInvalidArgument},
	{"This command is restricted to experimental mode", true, ErrUnknownCommand},
}

func classify(cmd Command, body string) (detail string, kind error) {
	msg := strings.TrimRight(withoutSeverity(body), "\n")
	if cmd.payload != "" {
		// In prompt mode HAProxy answers every payload line with a "+ "
		// prompt before the reply.
		for strings.HasPrefix(msg, "+ ") {
			msg = msg[2:]
		}
	}
	for _, f := range commonFailures {
		if msg == f.text || f.prefix && strings.HasPrefix(msg, f.text) {
			return "", f.kind
		}
	}
	return cmd.reply(msg)
}

// emptyReply is the rule for commands whose only success is silence.
func emptyReply(known ...string) replyRule {
	return func(msg string) (string, error) {
		if msg == "" {
			return "", nil
		}
		for _, k := range known {
			if strings.HasPrefix(msg, k) {
				return "", ErrInvalidArgument
			}
		}
		return "expected an empty reply", ErrUnexpectedReply
	}
}

// State is the user-controlled state of a server.
type State string

// The three states `set server … state` accepts.
const (
	StateReady State = "ready"
	StateDrain State = "drain"
	StateMaint State = "maint"
)

// ParseState accepts exactly ready, drain or maint (HAProxy is case-sensitive).
func ParseState(s string) (State, error) {
	switch st := State(s); st {
	case StateReady, StateDrain, StateMaint:
		return st, nil
	}
	return "", fmt.Errorf("state %q is not one of ready, drain, maint", s)
}

func serverRef(backend, server string) (string, error) {
	if err := ValidateName("backend", backend); err != nil {
		return "", err
	}
	if err := ValidateName("server", server); err != nil {
		return "", err
	}
	return backend + "/" + server, nil
}

func invalid(err error) error {
	return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
}

// SetServerState builds `set server <b>/<s> state ready|drain|maint`.
func SetServerState(backend, server string, st State) (Command, error) {
	ref, err := serverRef(backend, server)
	if err != nil {
		return Command{}, invalid(err)
	}
	if _, err := ParseState(string(st)); err != nil {
		return Command{}, invalid(err)
	}
	return Command{
		line:  "set server " + ref + " state " + string(st),
		reply: emptyReply("'set server <srv> state' expects"),
	}, nil
}

// SetServerWeight builds `set server <b>/<s> weight <n>` (absolute weight).
func SetServerWeight(backend, server string, weight int) (Command, error) {
	ref, err := serverRef(backend, server)
	if err != nil {
		return Command{}, invalid(err)
	}
	if err := ValidateWeight(weight); err != nil {
		return Command{}, invalid(err)
	}
	return Command{
		line: "set server " + ref + " weight " + strconv.Itoa(weight),
		reply: emptyReply(
			"Absolute weight can only be between",
			"Relative weight must be positive",
			"Empty weight string",
			"Trailing garbage in weight string",
			"Require <weight>",
			"Backend is using a static LB algorithm",
		),
	}, nil
}

// EnableHealth builds `enable health <b>/<s>`.
func EnableHealth(backend, server string) (Command, error) {
	return healthCommand("enable", backend, server)
}

// DisableHealth builds `disable health <b>/<s>`.
func DisableHealth(backend, server string) (Command, error) {
	return healthCommand("disable", backend, server)
}

// EnableAgent builds `enable agent <b>/<s>`: a dynamic server's agent
// check starts only with it.
func EnableAgent(backend, server string) (Command, error) {
	return checkCommand("enable", "agent", backend, server)
}

// DisableAgent builds `disable agent <b>/<s>`: an agent could otherwise
// bring a server back from maintenance while it is being removed.
func DisableAgent(backend, server string) (Command, error) {
	return checkCommand("disable", "agent", backend, server)
}

func healthCommand(verb, backend, server string) (Command, error) {
	return checkCommand(verb, "health", backend, server)
}

// checkCommand builds `<verb> health|agent <b>/<s>`.
func checkCommand(verb, check, backend, server string) (Command, error) {
	ref, err := serverRef(backend, server)
	if err != nil {
		return Command{}, invalid(err)
	}
	return Command{
		line:  verb + " " + check + " " + ref,
		reply: emptyReply("Health check was not configured", "Agent was not configured"),
	}, nil
}

// SetServerHealthDown builds `set server <b>/<s> health down`: the server is
// marked DOWN until its health checks bring it back up (rise successes). On
// a server without enabled checks this is permanent, so callers must check
// first.
func SetServerHealthDown(backend, server string) (Command, error) {
	ref, err := serverRef(backend, server)
	if err != nil {
		return Command{}, invalid(err)
	}
	return Command{
		line:  "set server " + ref + " health down",
		reply: emptyReply("'set server <srv> health' expects", "cannot change health on a tracking server"),
	}, nil
}

// ShutdownSessions builds `shutdown sessions server <b>/<s>`: it closes every
// session still using the server.
func ShutdownSessions(backend, server string) (Command, error) {
	ref, err := serverRef(backend, server)
	if err != nil {
		return Command{}, invalid(err)
	}
	return Command{line: "shutdown sessions server " + ref, reply: emptyReply()}, nil
}

// SetServerAddr builds `set server <b>/<s> addr <ip> port <port>`. The port
// is always sent: HAProxy keeps the old one otherwise, and its own port
// parsing is too lenient to trust.
func SetServerAddr(backend, server string, addr netip.Addr, port int) (Command, error) {
	ref, err := serverRef(backend, server)
	if err == nil {
		err = checkAddrPort(addr, port)
	}
	if err != nil {
		return Command{}, invalid(err)
	}
	return Command{
		line:  "set server " + ref + " addr " + addr.String() + " port " + strconv.Itoa(port),
		reply: addrReply,
	}, nil
}

// checkAddrPort accepts a plain IPv4 or IPv6 address and a port 1-65535.
func checkAddrPort(addr netip.Addr, port int) error {
	if !addr.IsValid() || addr.Zone() != "" {
		return fmt.Errorf("address %q is not a plain IPv4 or IPv6 address", addr.String())
	}
	return ValidatePort(port)
}

// ShowServersState builds `show servers state [<backend>]`; an empty backend
// lists every backend.
func ShowServersState(backend string) (Command, error) {
	line := "show servers state"
	if backend != "" {
		if err := ValidateName("backend", backend); err != nil {
			return Command{}, invalid(err)
		}
		line += " " + backend
	}
	return Command{line: line, reply: dataReply("1\n# ")}, nil
}

// ShowStat builds `show stat <iid> 4 -1`: the servers of the backend whose
// numeric id (be_id of `show servers state`) is backendID. It is where live
// session counts (scur) are. The id, not the name: `show stat <name>` finds a
// frontend before a backend of the same name (allowed up to HAProxy 3.2).
// An unknown id is not an error to HAProxy; it answers with the header alone.
func ShowStat(backendID int) (Command, error) {
	if backendID <= 0 {
		return Command{}, invalid(fmt.Errorf("backend id %d is not a positive number", backendID))
	}
	// <iid> <type> <sid>: type 4 = servers, sid -1 = all of them.
	return Command{line: "show stat " + strconv.Itoa(backendID) + " 4 -1", reply: dataReply("# pxname,")}, nil
}

// ShowStatServer builds `show stat <be_id> 4 <srv_id>`: one server's row.
func ShowStatServer(backendID, serverID int) (Command, error) {
	if backendID <= 0 || serverID <= 0 {
		return Command{}, invalid(fmt.Errorf("backend id %d / server id %d is not a pair of positive numbers", backendID, serverID))
	}
	return Command{line: "show stat " + strconv.Itoa(backendID) + " 4 " + strconv.Itoa(serverID), reply: dataReply("# pxname,")}, nil
}

// ShowInfo builds `show info`.
func ShowInfo() Command { return Command{line: "show info", reply: dataReply("Name: ")} }

// ShowBackends builds `show backend`, which lists every backend by name.
func ShowBackends() Command { return Command{line: "show backend", reply: dataReply("# name\n")} }

// ShowVersion builds `show version`.
func ShowVersion() Command {
	return Command{line: "show version", reply: func(msg string) (string, error) {
		if msg == "" || strings.ContainsAny(msg, "\n ") || msg[0] < '0' || msg[0] > '9' {
			return "expected a version number", ErrUnexpectedReply
		}
		return "", nil
	}}
}

// ShowCLILevel builds `show cli level`.
func ShowCLILevel() Command {
	return Command{line: "show cli level", reply: func(msg string) (string, error) {
		switch msg {
		case "admin", "operator", "user":
			return "", nil
		}
		return "expected admin, operator or user", ErrUnexpectedReply
	}}
}

// dataReply accepts a reply that starts the way the command's output always
// starts; the caller's parser then checks the rest.
func dataReply(prefix string) replyRule {
	return func(msg string) (string, error) {
		if strings.HasPrefix(msg+"\n", prefix) {
			return "", nil
		}
		if msg == "" {
			return "empty reply where data was expected", ErrUnexpectedReply
		}
		return fmt.Sprintf("expected output starting with %q", prefix), ErrUnexpectedReply
	}
}
