package haproxy

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// AddServer builds `add server <b>/<s> <addr>:<port>`. HAProxy adds the
// server in maintenance, with no health checks, and refuses a name the
// backend already has: the check and the insertion happen under HAProxy's
// thread isolation, so of several concurrent adds of one name exactly one
// succeeds (verified on 2.6, 3.0 and 3.4).
func AddServer(backend, server string, addr netip.Addr, port int) (Command, error) {
	return AddServerWith(backend, server, addr, port, ServerOptions{})
}

// AddServerWith is AddServer with the server's options (validated here).
func AddServerWith(backend, server string, addr netip.Addr, port int, opts ServerOptions) (Command, error) {
	ref, err := serverRef(backend, server)
	if err == nil {
		err = checkAddrPort(addr, port)
	}
	if err == nil {
		err = opts.Validate()
	}
	if err != nil {
		return Command{}, invalid(err)
	}
	line := append([]string{"add server", ref, netip.AddrPortFrom(addr, uint16(port)).String()}, opts.args()...)
	return Command{line: strings.Join(line, " "), reply: addServerReply}, nil
}

// ProbeAddServer builds `add server <b>/<s>` without an address: HAProxy
// checks the backend (it exists, its balance algorithm takes dynamic
// servers) before it parses the address, so the missing address makes it
// stop there, having added nothing. That answers "would an add be
// accepted" without writing (verified on 2.6, 3.0, 3.2 and 3.4; 3.4 also
// refuses a name already taken, earlier versions do not tell).
func ProbeAddServer(backend, server string) (Command, error) {
	ref, err := serverRef(backend, server)
	if err != nil {
		return Command{}, invalid(err)
	}
	return Command{line: "add server " + ref, reply: func(msg string) (string, error) {
		if strings.HasPrefix(msg, "'server' expects <name> and <addr>") {
			return "", nil // got past the backend checks
		}
		return addServerReply(msg)
	}}, nil
}

func addServerReply(msg string) (string, error) {
	switch {
	case msg == "New server registered.":
		return "", nil
	case msg == "Already exists a server with the same name in backend.":
		return "", ErrAlreadyExists
	case strings.HasPrefix(msg, "Backend must use a dynamic load balancing"), // 2.6-3.2
		strings.HasPrefix(msg, "Backend does not support dynamic servers"): // 3.4
		return "", ErrNoDynamicServers
	case msg != "" && !strings.Contains(msg, "\n"):
		// A keyword or value HAProxy refused ("unknown keyword 'x'.",
		// "verify is enabled by default but no CA file specified…").
		return "", ErrInvalidArgument
	}
	return "not a reply `add server` gives on success", ErrUnexpectedReply
}

// DelServer builds `del server <b>/<s>`; HAProxy only deletes a server that
// is in maintenance and has no connections left.
func DelServer(backend, server string) (Command, error) {
	ref, err := serverRef(backend, server)
	if err != nil {
		return Command{}, invalid(err)
	}
	return Command{line: "del server " + ref, reply: func(msg string) (string, error) {
		switch {
		case msg == "Server deleted.":
			return "", nil
		case strings.HasPrefix(msg, "Server still has connections attached"):
			return "", ErrServerInUse
		case msg != "":
			return "", ErrInvalidArgument // not in maint, referenced by the configuration, …
		}
		return "expected `Server deleted.`", ErrUnexpectedReply
	}}, nil
}

// WaitRemovable builds `wait <ms> srv-removable <b>/<s>` (HAProxy 3.0+):
// HAProxy answers once the server is in maintenance with no connection
// left ("Done."), when it never can be ("Failed.", with the reason from
// 3.4), or when the delay ran out ("Wait delay expired." on 3.0 and 3.2,
// "Interrupted. Server still has connections…" on 3.4). 2.6 does not know `wait`
// (ErrUnknownCommand): callers then poll `del server` instead.
func WaitRemovable(backend, server string, d time.Duration) (Command, error) {
	ref, err := serverRef(backend, server)
	if err == nil && (d < time.Millisecond || d > time.Hour) {
		err = fmt.Errorf("wait of %s is outside 1ms-1h", d)
	}
	if err != nil {
		return Command{}, invalid(err)
	}
	return Command{line: fmt.Sprintf("wait %d srv-removable %s", d.Milliseconds(), ref), reply: func(msg string) (string, error) {
		switch {
		case msg == "Done.":
			return "", nil
		case strings.Contains(msg, "still has connections"), strings.HasPrefix(msg, "Wait delay expired"), // 3.0, 3.2
			strings.HasPrefix(msg, "Interrupted"):
			return "", ErrServerInUse
		case strings.HasPrefix(msg, "Failed"):
			return "", ErrInvalidArgument
		}
		return "expected `Done.`", ErrUnexpectedReply
	}}, nil
}

// ProbeDynamic builds `set server <b>/<s> ssl probe`, which asks whether a
// server was added at run time (`add server`) without changing anything.
// HAProxy's show commands do not tell a dynamic server from one of the
// configuration, but `set server … ssl` refuses dynamic servers before it
// reads its argument, and refuses "probe" (neither on nor off) for every
// other server, so nothing is ever set. Verified on 2.6 and 3.4, whose
// source (cli_parse_set_server) checks in this order from 2.6 to 3.4.
// Read the reply with IsDynamicReply.
func ProbeDynamic(backend, server string) (Command, error) {
	ref, err := serverRef(backend, server)
	if err != nil {
		return Command{}, invalid(err)
	}
	return Command{line: "set server " + ref + " ssl probe", reply: func(msg string) (string, error) {
		switch {
		case msg == probeDynamicYes,
			strings.HasPrefix(msg, "'set server <srv> ssl' cannot be set."), // no ssl settings
			msg == "'set server <srv> ssl' expects 'on' or 'off'.":          // ssl settings, nothing changed
			return "", nil
		case msg == "server ssl setting not supported.":
			return "HAProxy was built without OpenSSL, so it cannot tell a dynamic server from a configured one", ErrUnexpectedReply
		}
		return "not a reply `set server … ssl` gives", ErrUnexpectedReply
	}}, nil
}

const probeDynamicYes = "'set server <srv> ssl' not supported on dynamic servers"

// IsDynamicReply reads a successful ProbeDynamic reply.
func IsDynamicReply(body string) bool {
	return strings.TrimRight(withoutSeverity(body), "\n") == probeDynamicYes
}
