package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// haproxy_map: the whole content of one runtime map (see
// pattern_list_resource.go for what it does).
func newMapResource() resource.Resource {
	return &patternListResource{kind: haproxy.KindMap, ref: "map", list: "entries", schema: schema.Schema{
		MarkdownDescription: "The whole content of one HAProxy map (a file loaded by a `map()` converter, such as " +
			"`map(/etc/haproxy/hosts.map)`) on every configured socket, changed at run time without a reload.\n\n" +
			"Each apply replaces the content atomically on each instance: the new entries are loaded into a prepared " +
			"version (`prepare map`, `add map @<version>`) on every instance first, and committed (`commit map`) only once " +
			"every instance holds all of them, so no request ever sees a half-written map. `terraform plan` shows, key by " +
			"key, where an instance differs (a hand `set map`, a reload that loaded the file again).\n\n" +
			"Destroying the resource leaves the content as it is; each instance loads its file again on its next reload. " +
			"To manage single keys of a map that other tools also write, use `haproxy_map_entry` instead.",
		Attributes: map[string]schema.Attribute{
			"id":  idAttribute("The map, as `map` names it."),
			"map": refAttribute(haproxy.KindMap),
			"entries": schema.MapAttribute{
				Required:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Every entry of the map, key to value: keys and values are printable ASCII without spaces, " +
					"`;` or `\\` (HAProxy's CLI splits words at spaces and commands at `;`), keys up to " +
					"1024 bytes, values up to 4096. Entries are loaded in key order, which suits exact-match maps (`map()`, " +
					"`map_str()`); in maps where the first match wins (`map_beg()`, `map_reg()`) order the keys accordingly.",
				Validators: []validator.Map{
					mapvalidator.KeysAre(patternKeyValidator),
					mapvalidator.ValueStringsAre(patternValueValidator),
				},
			},
		},
	}}
}
