package provider

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// The glue every resource and data source shares: getting the fleet from
// the provider, reading state, and the attributes they have in common.

// requireFleet reports the provider being unconfigured (no sockets), once,
// in one wording.
func requireFleet(f *fleet.Fleet, diags *diag.Diagnostics) bool {
	if f == nil {
		diags.AddError("Provider not configured", "The haproxy provider has no sockets configured.")
		return false
	}
	return true
}

// backendAttribute is a data source's `backend`.
func backendAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		Required:            true,
		MarkdownDescription: "Name of the backend, as in the HAProxy configuration.",
		Validators:          nameValidators(),
	}
}

// placeholderAttribute is a data source's `placeholder`.
func placeholderAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		Optional: true,
		MarkdownDescription: "The `address:port` free slots are parked on, such as `127.0.0.1:1` (IPv6 as " +
			"`[::1]:1`): a slot only counts as free if it is in `maint` there on every socket and no pool has " +
			"claimed it. Defaults to the provider's `placeholder`.",
		Validators: []validator.String{placeholderValidator{}},
	}
}

// configureFleet takes the fleet the provider configured (nil before the
// provider is configured, as during validation).
func configureFleet(providerData any, diags *diag.Diagnostics) *fleet.Fleet {
	if providerData == nil {
		return nil
	}
	f, ok := providerData.(*fleet.Fleet)
	if !ok {
		diags.AddError("Unexpected provider data",
			fmt.Sprintf("Expected *fleet.Fleet, got %T. This is a bug in the provider; please report it.", providerData))
	}
	return f
}

// listBackend reads the backend on every socket for a data source; servers
// named with prefix ("": any) must agree across sockets.
func listBackend(ctx context.Context, f *fleet.Fleet, backend, prefix string, diags *diag.Diagnostics) []fleet.Listing {
	if !requireFleet(f, diags) {
		return nil
	}
	listings, warnings, err := f.List(ctx, backend, prefix)
	for _, w := range warnings {
		diags.AddWarning("HAProxy socket skipped", w)
	}
	if err != nil {
		diags.AddError(fmt.Sprintf("Cannot list backend %s", backend), err.Error())
		return nil
	}
	return listings
}

// placeholderOr is the data source's placeholder, or the provider's when unset.
func placeholderOr(v types.String, f *fleet.Fleet) netip.AddrPort {
	if v.IsNull() || v.IsUnknown() {
		return f.Placeholder()
	}
	ap, _ := netip.ParseAddrPort(v.ValueString()) // validated at plan time
	return ap
}

// loadState reads a resource's state and checks the provider is configured.
func loadState[M any](ctx context.Context, st tfsdk.State, f *fleet.Fleet, diags *diag.Diagnostics) (M, bool) {
	var m M
	diags.Append(st.Get(ctx, &m)...)
	if diags.HasError() {
		return m, false
	}
	if !requireFleet(f, diags) {
		return m, false
	}
	return m, true
}

// nameAttribute is a resource's backend or server name; changing it
// replaces the resource.
func nameAttribute(what, example string) rschema.StringAttribute {
	return rschema.StringAttribute{
		Required: true,
		MarkdownDescription: fmt.Sprintf("Name of the %s, as in the HAProxy configuration (for example `%s`). "+
			"It must exist on every socket. Changing it replaces the resource.", what, example),
		Validators:    nameValidators(),
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
}

// skippedDetail words sockets an operation went on without.
func skippedDetail(lines []string) string {
	return strings.Join(lines, "\n") + "\n\nunreachable_sockets = \"warn\" lets Terraform go on without a socket that cannot be reached."
}

// warnReadSkipped words the sockets a read went on without, once per
// resource: drift there shows once they answer again.
func warnReadSkipped(what string, skipped fleet.Errors, diags *diag.Diagnostics) {
	if len(skipped) == 0 {
		return
	}
	lines := make([]string, len(skipped))
	for i, se := range skipped {
		lines[i] = fmt.Sprintf("%s could not be reached and was skipped; drift there shows once it answers again: %v", se.Socket, se.Err)
	}
	diags.AddWarning(what+" not read on every HAProxy instance", skippedDetail(lines))
}

// checksHint says which setting asked for health checks that are missing.
func checksHint(err error) string {
	switch {
	case errors.Is(err, fleet.ErrChecksDisabled):
		return "\n\nwait_healthy_timeout waits for a passing health check: set health_check = true, or wait_healthy_timeout = \"0s\"."
	case errors.Is(err, fleet.ErrNoChecks):
		return "\n\nwait_healthy_timeout waits for a passing health check: add `check` to the server line in the HAProxy configuration, or set wait_healthy_timeout = \"0s\"."
	}
	return unreachableHint(err)
}

// unreachableHint says what to do about an instance that does not answer
// (timed out, refused, reset): an operator whose instance is down for
// maintenance should not have to find the setting in the docs.
func unreachableHint(err error) string {
	if errors.Is(err, haproxy.ErrTimeout) || errors.Is(err, haproxy.ErrTransport) {
		return "\n\nIf that instance is down for a while, unreachable_sockets = \"warn\" in the provider block lets plan and apply " +
			"go on without it, with a warning; the first plan after it answers again shows what it missed."
	}
	return ""
}

// drainHint says which setting made an unfinished drain an error.
func drainHint(err error) string {
	if errors.Is(err, fleet.ErrDrainUnfinished) {
		return "\n\ndrain_timeout_action = \"fail\" stops the change when sessions outlast drain_timeout."
	}
	return ""
}

// planned* read one planned value for a drift warning.
func plannedString(v types.String) planned {
	return planned{value: v.ValueString(), unknown: v.IsUnknown()}
}

func plannedInt(v types.Int64) planned {
	return planned{value: strconv.FormatInt(v.ValueInt64(), 10), unknown: v.IsUnknown()}
}

func plannedBool(v types.Bool) planned {
	return planned{value: strconv.FormatBool(v.ValueBool()), unknown: v.IsUnknown()}
}

// stringList is a list of strings as an attribute's value (never null).
func stringList(items []string) types.List {
	elems := make([]attr.Value, len(items))
	for i, s := range items {
		elems[i] = types.StringValue(s)
	}
	return types.ListValueMust(types.StringType, elems)
}
