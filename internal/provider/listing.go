package provider

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	lschema "github.com/hashicorp/terraform-plugin-framework/list/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

// The glue the list resources (`terraform query`) share: their config,
// the fleet survey and how a result words instances that disagree.

// listConfig is every list resource's config block.
type listConfig struct {
	Backend types.String `tfsdk:"backend"`
}

// listConfigSchema is the config block: an optional backend.
func listConfigSchema(what string) lschema.Schema {
	return lschema.Schema{
		MarkdownDescription: what,
		Attributes: map[string]lschema.Attribute{
			"backend": lschema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "List this backend only. Unset: every backend of every instance.",
				Validators:          nameValidators(),
			},
		},
	}
}

// survey reads the fleet for a list resource; probe selects the servers
// whose dynamic flag must be known. Errors and the sockets skipped come
// back as diagnostics for a result of their own.
func survey(ctx context.Context, f *fleet.Fleet, req list.ListRequest, probe func(fleet.Found) bool) ([]fleet.Found, diag.Diagnostics) {
	var diags diag.Diagnostics
	var cfg listConfig
	diags.Append(req.Config.Get(ctx, &cfg)...)
	if diags.HasError() || !requireFleet(f, &diags) {
		return nil, diags
	}
	found, warnings, err := f.Survey(ctx, cfg.Backend.ValueString(), probe)
	for _, w := range warnings {
		diags.AddWarning("HAProxy socket skipped", w)
	}
	if err != nil {
		where := "every backend"
		if b := cfg.Backend.ValueString(); b != "" {
			where = "backend " + b
		}
		diags.AddError("Cannot list "+where, err.Error())
	}
	return found, diags
}

// stream pushes the results after any diagnostics of the survey, stopping
// at the limit Terraform asked for (0: none) or when Terraform stops.
func stream(diags diag.Diagnostics, limit int64, results func(yield func(list.ListResult) bool)) iter.Seq[list.ListResult] {
	return func(push func(list.ListResult) bool) {
		if len(diags) > 0 && !push(list.ListResult{Diagnostics: diags}) {
			return
		}
		if diags.HasError() {
			return
		}
		n := int64(0)
		results(func(r list.ListResult) bool {
			n++
			return push(r) && (limit <= 0 || n < limit)
		})
	}
}

// disagreement words where the instances differ about a server, or "".
func disagreement(fd fleet.Found, attrs ...fleet.Attr) string {
	var parts []string
	for _, a := range attrs {
		if _, ok := fd.Agreed(a); ok {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s", a, strings.Join(perInstance(fd, a), ", ")))
	}
	if len(fd.Missing) > 0 {
		parts = append(parts, "missing on "+strings.Join(fd.Missing, ", "))
	}
	return strings.Join(parts, "; ")
}

// undecided is what a generated configuration holds for a value the
// instances disagree on: a string the attribute's validator refuses, so
// that the configuration cannot be applied until someone chooses, and that
// says what to choose from.
func undecided(fd fleet.Found, a fleet.Attr) string {
	each := perInstance(fd, a)
	if len(fd.Missing) > 0 {
		each = append(each, "missing on "+strings.Join(fd.Missing, ", "))
	}
	return "instances disagree, choose one: " + strings.Join(each, ", ")
}

// perInstance words each instance's value of a: "10.0.3.15 on lb1".
func perInstance(fd fleet.Found, a fleet.Attr) []string {
	each := make([]string, len(fd.PerSocket))
	for i, sv := range fd.PerSocket {
		each[i] = fmt.Sprintf("%s on %s", sv.Values.Get(a), sv.Name)
	}
	return each
}

// disagreeWarning is the warning of a result whose instances differ.
func disagreeWarning(kind string, fd fleet.Found, why string, attrs ...fleet.Attr) diag.Diagnostics {
	var diags diag.Diagnostics
	if d := disagreement(fd, attrs...); d != "" {
		diags.AddWarning(fmt.Sprintf("%s/%s: the HAProxy instances disagree", fd.Backend, fd.Server),
			fmt.Sprintf("%s\n\n%s The generated %s leaves what they disagree on for you to choose: %s",
				d, "Nothing was changed.", kind, why))
	}
	return diags
}
