package provider

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Custom validators for values the framework-validators package cannot
// express. Each one delegates to internal/haproxy so that plan-time checks
// and the socket client's last-line checks are the same rules.

var (
	_ validator.String = socketValidator{}
	_ validator.String = durationValidator{}
	_ validator.String = addressValidator{}
	_ validator.String = placeholderValidator{}
)

// stringCheck adapts a func(string) error into a validator.String body.
func stringCheck(req validator.StringRequest, resp *validator.StringResponse, summary string, check func(string) error) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, summary, err.Error())
	}
}

type socketValidator struct{}

func (socketValidator) Description(context.Context) string {
	return "must be unix:///path, an absolute path, tcp://host:port, tls://host:port or ssh://user@host/path"
}
func (v socketValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (socketValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	stringCheck(req, resp, "Invalid HAProxy socket", func(s string) error {
		err := haproxy.CheckTarget(s)
		return err
	})
}

// durationValidator accepts Go durations; zero only when allowZero.
type durationValidator struct{ allowZero bool }

func (v durationValidator) Description(context.Context) string {
	if v.allowZero {
		return "must be a Go duration such as 30s or 2m, or 0s"
	}
	return "must be a positive Go duration such as 10s or 500ms"
}
func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (v durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	stringCheck(req, resp, "Invalid duration", func(s string) error {
		_, err := parseDuration(s, v.allowZero)
		return err
	})
}

func parseDuration(s string, allowZero bool) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 10s or 500ms", s)
	}
	if d < 0 || d == 0 && !allowZero {
		return 0, fmt.Errorf("%q must be greater than zero", s)
	}
	return d, nil
}

// addressValidator accepts an IP literal in the exact form HAProxy prints it
// back, so the plan never shows a difference that is only spelling.
type addressValidator struct{}

func (addressValidator) Description(context.Context) string {
	return "must be an IPv4 or IPv6 address in canonical form (HAProxy's runtime API takes IPs only)"
}
func (v addressValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (addressValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	stringCheck(req, resp, "Invalid address", func(s string) error {
		a, err := haproxy.ParseAddress(s)
		if err != nil {
			return err
		}
		if a.Is4In6() {
			return fmt.Errorf("%q is an IPv4-mapped IPv6 address; write %s", s, a.Unmap())
		}
		if a.String() != s {
			return fmt.Errorf("write %q as %q, the form HAProxy reports, so that plans stay empty", s, a.String())
		}
		return nil
	})
}

// placeholderValidator accepts the address:port free slots are parked on.
type placeholderValidator struct{}

func (placeholderValidator) Description(context.Context) string {
	return "must be address:port, such as 127.0.0.1:1 or [::1]:1"
}
func (v placeholderValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}
func (placeholderValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	stringCheck(req, resp, "Invalid placeholder", func(s string) error {
		_, err := parsePlaceholderString(s)
		return err
	})
}

// parsePlaceholderString accepts address:port with a port HAProxy can park
// a server on (1-65535: `set server … port 0` is refused after `maint` was
// already applied).
func parsePlaceholderString(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Addr().Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("%q is not address:port, such as 127.0.0.1:1 or [::1]:1", s)
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("%q: the port must be 1-65535", s)
	}
	if ap.Addr().Is4In6() {
		return netip.AddrPort{}, fmt.Errorf("%q: write the IPv4 address as IPv4, the form HAProxy reports", s)
	}
	return ap, nil
}

// nameValidators apply HAProxy's own charset for backend and server names
// (the same rule internal/haproxy enforces before anything is sent).
func nameValidators() []validator.String {
	return []validator.String{
		stringvalidator.LengthBetween(1, haproxy.MaxNameLength),
		stringvalidator.RegexMatches(regexp.MustCompile(haproxy.NamePattern),
			"may only contain letters, digits, `_`, `.`, `:` and `-` (HAProxy's own rule for names)"),
	}
}

// patternValidator checks a map or ACL file name, key or value with the
// rule the socket client applies (haproxy.ValidatePattern*).
type patternValidator struct {
	what  string
	check func(string) error
}

var (
	patternRefValidator   = patternValidator{"a map or ACL file name as HAProxy lists it, or #<id>", haproxy.ValidatePatternRef}
	patternKeyValidator   = patternValidator{"printable ASCII without spaces, `;` or `\\`", haproxy.ValidatePatternKey}
	patternValueValidator = patternValidator{"printable ASCII without spaces, `;` or `\\`", haproxy.ValidatePatternValue}
)

func (v patternValidator) Description(context.Context) string { return "must be " + v.what }
func (v patternValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}
func (v patternValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	stringCheck(req, resp, "Invalid map or ACL value", v.check)
}
