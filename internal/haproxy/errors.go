package haproxy

import (
	"errors"
	"fmt"
	"strings"
)

// Kind sentinels. An *Error unwraps to exactly one of them, so callers test
// with errors.Is(err, haproxy.ErrNoSuchServer) and never parse messages.
var (
	// ErrTransport: the socket could not be reached, or the connection broke
	// before a complete reply arrived.
	ErrTransport = errors.New("transport failure")
	// ErrTimeout: the context deadline ran out during dial, write or read.
	ErrTimeout = errors.New("timed out")
	// ErrPermission: the socket's level is too low for the command.
	ErrPermission = errors.New("permission denied")
	// ErrNoSuchBackend: HAProxy confirmed the backend does not exist.
	ErrNoSuchBackend = errors.New("no such backend")
	// ErrNoSuchServer: HAProxy confirmed the server does not exist.
	ErrNoSuchServer = errors.New("no such server")
	// ErrBackendDisabled: the backend exists but is disabled in the config.
	ErrBackendDisabled = errors.New("backend is disabled")
	// ErrInvalidArgument: the value was refused, either by our own validation
	// (nothing was sent) or by HAProxy.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrUnknownCommand: this HAProxy does not know the command.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrAlreadyExists: `add server` of a name the backend already has. It
	// is HAProxy's only atomic test-and-set, which slot claims rely on.
	ErrAlreadyExists = errors.New("already exists")
	// ErrNoDynamicServers: the backend's balance algorithm does not accept
	// servers added at run time.
	ErrNoDynamicServers = errors.New("backend does not accept dynamic servers")
	// ErrServerInUse: `del server` (or `wait … srv-removable`) found
	// connections still using the server.
	ErrServerInUse = errors.New("server still has connections")
	// ErrNoSuchMap: HAProxy knows no map or ACL by that file name or #id.
	ErrNoSuchMap = errors.New("no such map or ACL")
	// ErrNoSuchEntry: `set map` or `del map|acl` found no entry with that key.
	ErrNoSuchEntry = errors.New("no such entry")
	// ErrNoSuchVersion: a `commit` or `clear` of a map version that does not
	// exist (another writer committed a newer one in between).
	ErrNoSuchVersion = errors.New("no such map version")
	// ErrNotStatsSocket: something answered, but not as a HAProxy stats
	// socket does (an HTTP port, another service): never "unreachable", so
	// never skipped.
	ErrNotStatsSocket = errors.New("not a HAProxy stats socket")
	// ErrUnexpectedReply: a reply that is none of the known successes or
	// failures, or one that cannot be parsed. Never treated as success.
	ErrUnexpectedReply = errors.New("unexpected reply")
)

// Error is every failure this package returns once a target is involved. It
// names the target, the command and HAProxy's raw reply so that a person
// reading a failed plan knows where to look.
type Error struct {
	Kind    error  // one of the Err* sentinels above
	Target  string // the socket as messages name it (Client.Name), e.g. admin.sock
	Command string // the line sent, without its newline; empty for dial errors
	Reply   string // HAProxy's reply body, as received
	Detail  string // what we concluded, when the reply alone does not say it
	Cause   error  // underlying I/O error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Target)
	if e.Command != "" {
		fmt.Fprintf(&b, ": %q", e.Command)
	}
	b.WriteString(": ")
	b.WriteString(e.Kind.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if r := strings.TrimSpace(e.Reply); r != "" {
		who := "HAProxy"
		if errors.Is(e.Kind, ErrNotStatsSocket) {
			who = "it"
		}
		fmt.Fprintf(&b, " (%s replied %q)", who, shorten(r, 300))
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap exposes both the kind and the I/O cause to errors.Is / errors.As.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Kind, e.Cause}
	}
	return []error{e.Kind}
}

// IsGone reports whether err is HAProxy confirming that a backend or server
// does not exist. It is the only kind of error that may ever justify dropping
// a resource: a timeout or a refused connection says nothing about existence.
func IsGone(err error) bool {
	return errors.Is(err, ErrNoSuchBackend) || errors.Is(err, ErrNoSuchServer)
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
