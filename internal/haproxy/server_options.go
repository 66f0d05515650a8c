package haproxy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ServerOptions are the settings a dynamic server takes at `add server`
// time: the subset of the server line's keywords that users need, each
// validated and rendered here, never passed through as free text. They
// cannot be changed once the server exists (except through commands of
// their own, such as `set server … weight`).
type ServerOptions struct {
	Weight *int // nil: HAProxy's default (1)

	Check      bool          // health checks (`check`); started by `enable health`
	CheckInter time.Duration // `inter`; 0: HAProxy's default (2s)
	Rise, Fall int           // 0: HAProxy's defaults (2 and 3)

	SSL    bool
	Verify string // "none" or "required" (with SSL)
	CAFile string // `ca-file`: "@system-ca" or a file HAProxy has loaded; needed by verify required
	SNI    string // a host name sent as `sni str(<name>)`

	MaxConn   int    // 0: no limit
	SendProxy string // "", "v1" (`send-proxy`) or "v2" (`send-proxy-v2`)

	AgentPort  int           // > 0: `agent-check agent-port <n>`; started by `enable agent`
	AgentInter time.Duration // `agent-inter`; 0: HAProxy's default
}

// Values of ServerOptions.Verify and SendProxy.
const (
	VerifyNone     = "none"
	VerifyRequired = "required"
	ProxyV1        = "v1"
	ProxyV2        = "v2"
)

// Validate reports the first setting HAProxy would refuse or that could
// change the meaning of the command line.
func (o ServerOptions) Validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if o.Weight != nil {
		if err := ValidateWeight(*o.Weight); err != nil {
			bad("%v", err)
		}
	}
	if !o.Check && (o.CheckInter != 0 || o.Rise != 0 || o.Fall != 0) {
		bad("check interval, rise and fall need health checks (check)")
	}
	if err := validInterval("check interval", o.CheckInter); err != nil {
		bad("%v", err)
	}
	for name, v := range map[string]int{"rise": o.Rise, "fall": o.Fall} {
		if v < 0 || v > 1000 {
			bad("%s %d is outside 1-1000", name, v)
		}
	}
	if !o.SSL && (o.Verify != "" || o.CAFile != "" || o.SNI != "") {
		bad("verify, ca-file and sni need ssl")
	}
	switch o.Verify {
	case "", VerifyNone:
		if o.CAFile != "" {
			bad("a ca-file is only used with verify required")
		}
	case VerifyRequired:
		if o.CAFile == "" {
			bad("verify required needs a ca-file (\"@system-ca\" for the system's trusted CAs)")
		}
	default:
		bad("verify %q is neither %q nor %q", o.Verify, VerifyNone, VerifyRequired)
	}
	if o.CAFile != "" && o.CAFile != "@system-ca" && !validPath(o.CAFile) {
		bad("ca-file %q is neither \"@system-ca\" nor an absolute path of letters, digits and _ . - /", o.CAFile)
	}
	if o.SNI != "" && !validHostname(o.SNI) {
		bad("sni %q is not a host name", o.SNI)
	}
	if o.MaxConn < 0 || o.MaxConn > 1<<20 {
		bad("maxconn %d is outside 0-1048576", o.MaxConn)
	}
	if o.SendProxy != "" && o.SendProxy != ProxyV1 && o.SendProxy != ProxyV2 {
		bad("send-proxy %q is neither %q nor %q", o.SendProxy, ProxyV1, ProxyV2)
	}
	if o.AgentPort < 0 || o.AgentPort > 65535 {
		bad("agent port %d is outside 1-65535", o.AgentPort)
	}
	if o.AgentPort == 0 && o.AgentInter != 0 {
		bad("an agent interval needs an agent port")
	}
	if err := validInterval("agent interval", o.AgentInter); err != nil {
		bad("%v", err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// args renders the options as server-line keywords, in a fixed order.
func (o ServerOptions) args() []string {
	var a []string
	add := func(s ...string) { a = append(a, s...) }
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	if o.Weight != nil {
		add("weight", strconv.Itoa(*o.Weight))
	}
	if o.Check {
		add("check")
		if o.CheckInter > 0 {
			add("inter", ms(o.CheckInter))
		}
		if o.Rise > 0 {
			add("rise", strconv.Itoa(o.Rise))
		}
		if o.Fall > 0 {
			add("fall", strconv.Itoa(o.Fall))
		}
	}
	if o.SSL {
		add("ssl", "verify", cmpOr(o.Verify, VerifyNone))
		if o.CAFile != "" {
			add("ca-file", o.CAFile)
		}
		if o.SNI != "" {
			add("sni", "str("+o.SNI+")")
		}
	}
	if o.MaxConn > 0 {
		add("maxconn", strconv.Itoa(o.MaxConn))
	}
	switch o.SendProxy {
	case ProxyV1:
		add("send-proxy")
	case ProxyV2:
		add("send-proxy-v2")
	}
	if o.AgentPort > 0 {
		add("agent-check", "agent-port", strconv.Itoa(o.AgentPort))
		if o.AgentInter > 0 {
			add("agent-inter", ms(o.AgentInter))
		}
	}
	return a
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// validInterval accepts 0 (unset) or whole milliseconds from 1ms to 24h.
func validInterval(what string, d time.Duration) error {
	if d == 0 {
		return nil
	}
	if d < time.Millisecond || d > 24*time.Hour || d%time.Millisecond != 0 {
		return fmt.Errorf("%s %s is not a whole number of milliseconds between 1ms and 24h", what, d)
	}
	return nil
}

// validHostname: DNS letters, digits, hyphens and dots, 1-253 bytes, no
// empty label.
func validHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; c != '-' && (c == '_' || c == '.' || c == ':' || !isNameByte(c)) {
				return false
			}
		}
	}
	return true
}

// validPath: an absolute path of a conservative charset (no spaces, quotes
// or parentheses that HAProxy's argument parser would read differently).
func validPath(s string) bool {
	if !strings.HasPrefix(s, "/") || len(s) > 1024 || strings.Contains(s, "/../") || strings.HasSuffix(s, "/..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '/' && (c == ':' || !isNameByte(c)) {
			return false
		}
	}
	return true
}
