package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Resource identity: both resources are named by a backend and a second
// name (the server, or the pool's slot prefix), so
// `import { identity = { backend = "app", server = "websrv3" } }` works
// beside the `<backend>/<name>` import ID.

// backendIdentity is what an import names: a backend, and the server or
// slot prefix in it.
type backendIdentity struct {
	backend, name string
}

// The second identity attribute of each resource.
const (
	identityServer     = "server"
	identitySlotPrefix = "slot_prefix"
)

// identitySchema declares `backend` and the resource's second name.
func identitySchema(second, what string) identityschema.Schema {
	return identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"backend": identityschema.StringAttribute{
				RequiredForImport: true,
				Description:       "Name of the backend, as in the HAProxy configuration.",
			},
			second: identityschema.StringAttribute{
				RequiredForImport: true,
				Description:       what,
			},
		},
	}
}

// setIdentity records the identity after a create, read or update; a
// Terraform that does not support identities passes none.
func setIdentity(ctx context.Context, id *tfsdk.ResourceIdentity, second string, backend, name types.String, diags *diag.Diagnostics) {
	if id == nil {
		return
	}
	diags.Append(id.SetAttribute(ctx, path.Root("backend"), backend)...)
	diags.Append(id.SetAttribute(ctx, path.Root(second), name)...)
}

// importedName reads what an import names: the `<backend>/<name>` ID, or
// the identity's two attributes. Both names are checked as HAProxy names.
func importedName(ctx context.Context, req resource.ImportStateRequest, second, what string, diags *diag.Diagnostics) (backendIdentity, bool) {
	var id backendIdentity
	if req.ID != "" {
		var ok bool
		id.backend, id.name, ok = strings.Cut(req.ID, "/")
		if !ok {
			diags.AddError("Invalid import ID", fmt.Sprintf("Expected <backend>/<%s>, got %q.", second, req.ID))
			return id, false
		}
	} else if req.Identity != nil {
		var backend, name types.String
		diags.Append(req.Identity.GetAttribute(ctx, path.Root("backend"), &backend)...)
		diags.Append(req.Identity.GetAttribute(ctx, path.Root(second), &name)...)
		id.backend, id.name = backend.ValueString(), name.ValueString()
	}
	if haproxy.ValidateName("backend", id.backend) != nil || haproxy.ValidateName(what, id.name) != nil {
		diags.AddError("Invalid import name",
			fmt.Sprintf("Expected a backend and a %s with HAProxy names (letters, digits, _ . : -), got %q and %q.", what, id.backend, id.name))
		return id, false
	}
	return id, !diags.HasError()
}
