package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

var (
	_ datasource.DataSource              = (*mapDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*mapDataSource)(nil)
)

func newMapDataSource() datasource.DataSource { return &mapDataSource{} }

type mapDataSource struct {
	fleet *fleet.Fleet
}

type mapDataModel struct {
	ID      types.String      `tfsdk:"id"`
	Map     types.String      `tfsdk:"map"`
	Entries map[string]string `tfsdk:"entries"`
}

func (d *mapDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_map"
}

func (d *mapDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The current entries of an HAProxy map, read from every configured socket. When the instances " +
			"hold different entries, a warning shows which keys differ where, and `entries` is the first instance's.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The map, as `map` names it."},
			"map": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The map, by the file name HAProxy loaded it from (as `show map` lists it), or by `#<id>`.",
				Validators:          []validator.String{patternRefValidator},
			},
			"entries": schema.MapAttribute{
				Computed:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "Every entry, key to value (a key listed more than once keeps its first value, the one HAProxy matches).",
			},
		},
	}
}

func (d *mapDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

func (d *mapDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m mapDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !requireFleet(d.fleet, &resp.Diagnostics) {
		return
	}
	p := haproxy.PatternRef{Kind: haproxy.KindMap, Ref: m.Map.ValueString()}
	got := readPatternList(ctx, d.fleet, p, patternWhat(p), nil, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if got.gone {
		resp.Diagnostics.AddError(fmt.Sprintf("No map %q", p.Ref), "No HAProxy instance loads a map by that name: `show map` lists the ones it has.")
		return
	}
	m.ID, m.Entries = m.Map, got.entries
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
