package haproxy

import (
	"fmt"
	"net/netip"
	"strconv"
)

// MaxLineLength caps any line we send. HAProxy 2.6 leaks a CLI connection
// forever on lines of about 15.5 KB and more, and the whole CLI has only ten
// connections at a time, so we stay far below that.
const MaxLineLength = 8 * 1024

// MaxNameLength is generous for real configs and keeps lines short.
const MaxNameLength = 255

// NamePattern is HAProxy's charset for proxy and server names, for callers
// that validate with regular expressions (Terraform plan-time validators).
const NamePattern = `^[A-Za-z0-9_.:-]+$`

// ValidateName accepts HAProxy's own charset for proxy and server names
// (invalid_char() in src/tools.c): [A-Za-z0-9_.:-]+. Anything else, above all
// `;`, space and newline, could split or extend a CLI command.
func ValidateName(what, name string) error {
	if name == "" {
		return fmt.Errorf("%s name is empty", what)
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("%s name is %d bytes long; the limit is %d", what, len(name), MaxNameLength)
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return fmt.Errorf("%s name %q contains %q at byte %d; HAProxy names may only use letters, digits and _ . : -", what, name, name[i], i)
		}
	}
	return nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == ':' || c == '-'
}

// ParseAddress parses an IPv4 or IPv6 literal the way the runtime API needs it:
// no brackets, no port, no zone, and no hostname (HAProxy's CLI refuses
// hostnames for `set server addr`). The result's String() is the form HAProxy
// prints back in `show servers state`.
func ParseAddress(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 or IPv6 address; HAProxy's runtime API takes IP addresses only, not hostnames, brackets or ports", s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q has an IPv6 zone; the runtime API does not take zones", s)
	}
	return a, nil
}

// ValidatePort accepts 1..65535. HAProxy 2.6 itself accepts 0, truncates
// 99999 to 34463 and reads "80abc" as 80, so the check has to be ours.
func ValidatePort(p int) error {
	if p < 1 || p > 65535 {
		return fmt.Errorf("port %d is outside 1-65535", p)
	}
	return nil
}

// ValidateWeight accepts HAProxy's absolute weight range, 0..256.
func ValidateWeight(w int) error {
	if w < 0 || w > 256 {
		return fmt.Errorf("weight %d is outside 0-256", w)
	}
	return nil
}

// checkLine is the last gate before bytes reach a socket: whatever built the
// line, it must be one printable ASCII line without `;`, within the length cap.
func checkLine(line string) error {
	if line == "" {
		return fmt.Errorf("empty command (HAProxy would answer with its full help)")
	}
	if len(line) > MaxLineLength {
		return fmt.Errorf("command is %d bytes; the limit is %d", len(line), MaxLineLength)
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c < 0x20 || c >= 0x7f || c == ';' || c == '\\' {
			return fmt.Errorf("command contains forbidden byte %s at %d", strconv.QuoteRune(rune(c)), i)
		}
	}
	return nil
}
