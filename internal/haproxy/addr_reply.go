package haproxy

import (
	"regexp"
	"strings"
)

// `set server … addr` answers in prose for success and failure alike, at the
// same severity, and in 2.6 can apply the address while refusing the port. So
// success is a whole-reply match against the grammar HAProxy uses:
//
//	2.6:  IP changed from 'a' to 'b', port changed from 'x' to 'y' by 'stats socket command'
//	      no need to change the addr, no need to change the port by 'stats socket command'
//	      (each half may be either form; the port half is absent without `port`)
//	3.x:  only the parts that changed, or `nothing changed`
//
// Anything else, including a success prefix followed by an error such as
// "problem converting port", is a failure.
var addrSuccess = regexp.MustCompile(`^(?:` +
	`(?:IP changed from '[^']*' to '[^']*'|no need to change the addr)` +
	`(?:, (?:port changed from '[^']*' to '[^']*'|no need to change the port))?` +
	`|port changed from '[^']*' to '[^']*'` +
	`) by 'stats socket command'$|^nothing changed$`)

// addrRefusals are the failures HAProxy 2.6 and 3.x word for address changes.
var addrRefusals = []string{
	"Invalid addr",
	"invalid addr",
	"problem converting port",
	"can't change <port>",
	"only supported through configuration file",
	"set server <b>/<s> addr requires",
}

func addrReply(msg string) (string, error) {
	if addrSuccess.MatchString(msg) {
		return "", nil
	}
	for _, r := range addrRefusals {
		if strings.Contains(msg, r) {
			if strings.HasPrefix(msg, "IP changed from") {
				return "HAProxy changed the address but refused the rest: the server is half-updated", ErrInvalidArgument
			}
			return "", ErrInvalidArgument
		}
	}
	return "not a reply `set server addr` gives on success", ErrUnexpectedReply
}
