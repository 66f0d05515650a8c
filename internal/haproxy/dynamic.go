package haproxy

import (
	"net/netip"
	"strings"
)

// AddServer builds `add server <b>/<s> <addr>:<port>`. HAProxy adds the
// server in maintenance, with no health checks, and refuses a name the
// backend already has: the check and the insertion happen under HAProxy's
// thread isolation, so of several concurrent adds of one name exactly one
// succeeds (verified on 2.6, 3.0 and 3.4).
func AddServer(backend, server string, addr netip.Addr, port int) (Command, error) {
	ref, err := serverRef(backend, server)
	if err == nil {
		err = checkAddrPort(addr, port)
	}
	if err != nil {
		return Command{}, invalid(err)
	}
	return Command{
		line:  "add server " + ref + " " + netip.AddrPortFrom(addr, uint16(port)).String(),
		reply: addServerReply,
	}, nil
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
		if msg == "Server deleted." {
			return "", nil
		}
		if msg != "" {
			return "", ErrInvalidArgument // not in maint, still has connections, …
		}
		return "expected `Server deleted.`", ErrUnexpectedReply
	}}, nil
}
