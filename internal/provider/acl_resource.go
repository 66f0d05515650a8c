package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// haproxy_acl: the whole pattern list of one ACL file (see
// pattern_list_resource.go for what it does).
func newACLResource() resource.Resource {
	return &patternListResource{kind: haproxy.KindACL, ref: "acl", list: "patterns", schema: schema.Schema{
		MarkdownDescription: "The whole pattern list of one HAProxy ACL file (loaded with `-f`, such as " +
			"`acl blocked src -f /etc/haproxy/block.acl`) on every configured socket, changed at run time without a reload.\n\n" +
			"Each apply replaces the list atomically on each instance (`prepare acl`, `add acl @<version>`, then `commit acl` " +
			"once every instance holds the whole new list), and `terraform plan` shows, pattern by pattern, where an " +
			"instance differs. Destroying the resource leaves the list as it is until the next reload.",
		Attributes: map[string]schema.Attribute{
			"id":  idAttribute("The ACL file, as `acl` names it."),
			"acl": refAttribute(haproxy.KindACL),
			"patterns": schema.SetAttribute{
				Required:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Every pattern of the list (an address or network for `src`, a path prefix for `path_beg`, …): " +
					"printable ASCII without spaces, `;` or `\\`, up to 1024 bytes each.",
				Validators: []validator.Set{setvalidator.ValueStringsAre(patternKeyValidator)},
			},
		},
	}}
}
