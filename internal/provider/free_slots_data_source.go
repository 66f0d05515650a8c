package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

var (
	_ datasource.DataSource              = (*freeSlotsDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*freeSlotsDataSource)(nil)
)

func newFreeSlotsDataSource() datasource.DataSource { return &freeSlotsDataSource{} }

type freeSlotsDataSource struct {
	fleet *fleet.Fleet
}

type freeSlotsModel struct {
	ID          types.String `tfsdk:"id"`
	Backend     types.String `tfsdk:"backend"`
	SlotPrefix  types.String `tfsdk:"slot_prefix"`
	Prefix      types.String `tfsdk:"prefix"`
	Placeholder types.String `tfsdk:"placeholder"`
	Slots       []string     `tfsdk:"slots"`
}

func (d *freeSlotsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_free_slots"
}

func (d *freeSlotsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The free `server-template` slots of a backend, in allocation order. A slot is free " +
			"when it is in `maint` on every configured socket and parked on `placeholder` (the provider's unless set here). " +
			"The list is a snapshot taken at plan time: another workspace may take a slot before you apply.",
		Attributes: map[string]schema.Attribute{
			"id":      schema.StringAttribute{Computed: true, MarkdownDescription: "`<backend>/<slot_prefix>`."},
			"backend": backendAttribute(),
			"slot_prefix": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The slot name prefix of the `server-template` line (`websrv` for " +
					"`server-template websrv 1-100 …`), as `slot_prefix` of `haproxy_backend_pool`. Only servers named " +
					"`<slot_prefix><number>` are slots.",
				Validators: append(nameValidators(), stringvalidator.ExactlyOneOf(path.MatchRoot("prefix"))),
			},
			"prefix": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Deprecated: use `slot_prefix`, the name `haproxy_backend_pool` uses.",
				DeprecationMessage:  "Use slot_prefix, the name haproxy_backend_pool uses; prefix will be removed in a future major version.",
				Validators:          nameValidators(),
			},
			"placeholder": placeholderAttribute(),
			"slots": schema.ListAttribute{
				Computed:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "Free slot names, lowest number first (`websrv2` before `websrv10`).",
			},
		},
	}
}

func (d *freeSlotsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

func (d *freeSlotsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m freeSlotsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	prefix := m.SlotPrefix.ValueString()
	if m.SlotPrefix.IsNull() {
		prefix = m.Prefix.ValueString()
	}
	listings := listBackend(ctx, d.fleet, m.Backend.ValueString(), prefix, &resp.Diagnostics)
	if listings == nil {
		return
	}
	m.ID = types.StringValue(m.Backend.ValueString() + "/" + prefix)
	m.Slots = fleet.FreeSlots(prefix, listings, placeholderOr(m.Placeholder, d.fleet))
	if m.Slots == nil {
		m.Slots = []string{}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
