package haproxy

import "strings"

// A stats socket configured with `severity-output number|string` (or a
// session that ran `set severity-output`) prefixes every message reply with
// its level: `[4]: IP changed from …`, `[err]: No such server.`. Data dumps
// (`show servers state`, `show stat`, `show info`) and empty replies carry
// no prefix. The level is no help in deciding success (a refused address and
// an accepted one are both level 4), so the prefix is removed and the
// message classified by its content, as on a socket without the option.
//
// The prefix is parsed rather than switched off with `set severity-output
// none`: that would cost a command per connection, and through the master
// CLI every forwarded command runs in a session of its own, where a
// setting would not hold.

// severityNames are the `string` form's levels (HAProxy's syslog names).
var severityNames = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// withoutSeverity removes one leading severity prefix, if there is one.
func withoutSeverity(body string) string {
	if !strings.HasPrefix(body, "[") {
		return body
	}
	level, rest, ok := strings.Cut(body[1:], "]: ")
	if !ok || strings.TrimRight(rest, "\n") == "" { // a level with no message is no reply we know
		return body
	}
	if len(level) == 1 && level[0] >= '0' && level[0] <= '7' {
		return rest
	}
	for _, n := range severityNames {
		if level == n {
			return rest
		}
	}
	return body
}
