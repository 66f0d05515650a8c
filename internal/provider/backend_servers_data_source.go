package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

var (
	_ datasource.DataSource              = (*backendServersDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*backendServersDataSource)(nil)
)

func newBackendServersDataSource() datasource.DataSource { return &backendServersDataSource{} }

type backendServersDataSource struct {
	fleet *fleet.Fleet
}

type backendServersModel struct {
	ID          types.String         `tfsdk:"id"`
	Backend     types.String         `tfsdk:"backend"`
	Placeholder types.String         `tfsdk:"placeholder"`
	Servers     []backendServerEntry `tfsdk:"servers"`
}

type backendServerEntry struct {
	Socket  types.String `tfsdk:"socket"`
	Name    types.String `tfsdk:"name"`
	Address types.String `tfsdk:"address"`
	Port    types.Int64  `tfsdk:"port"`
	State   types.String `tfsdk:"state"`
	Weight  types.Int64  `tfsdk:"weight"`
	OpState types.String `tfsdk:"op_state"`
	Free    types.Bool   `tfsdk:"free"`
}

func (d *backendServersDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_backend_servers"
}

func (d *backendServersDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Every server of a backend as each HAProxy instance reports it, read from every " +
			"configured socket. Fails when the instances disagree about which servers the backend has.",
		Attributes: map[string]schema.Attribute{
			"id":          schema.StringAttribute{Computed: true, MarkdownDescription: "The backend name."},
			"backend":     backendAttribute(),
			"placeholder": placeholderAttribute(),
			"servers": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "One entry per server per socket, in socket order and then in the order " +
					"HAProxy lists the servers.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"socket":  schema.StringAttribute{Computed: true, MarkdownDescription: "The socket this entry was read from."},
					"name":    schema.StringAttribute{Computed: true, MarkdownDescription: "Server name."},
					"address": schema.StringAttribute{Computed: true, MarkdownDescription: "Current IP address; empty when the server has none."},
					"port":    schema.Int64Attribute{Computed: true, MarkdownDescription: "Current port (0 when none)."},
					"state": schema.StringAttribute{Computed: true, MarkdownDescription: "Administrative state set from the CLI: " +
						"`ready`, `drain` or `maint`."},
					"weight": schema.Int64Attribute{Computed: true, MarkdownDescription: "Current weight."},
					"op_state": schema.StringAttribute{Computed: true, MarkdownDescription: "Operational state from health " +
						"checks: `stopped`, `starting`, `running` or `stopping`."},
					"free": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the server is a free slot: " +
						"in `maint` on every socket (and on `placeholder` when set)."},
				}},
			},
		},
	}
}

func (d *backendServersDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

func (d *backendServersDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m backendServersModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	listings := listBackend(ctx, d.fleet, m.Backend.ValueString(), "", &resp.Diagnostics)
	if listings == nil {
		return
	}
	placeholder := placeholderOr(m.Placeholder, d.fleet)
	m.ID = m.Backend
	m.Servers = []backendServerEntry{}
	for _, l := range listings {
		for _, s := range l.Servers {
			v := fleet.ValuesOf(s)
			m.Servers = append(m.Servers, backendServerEntry{
				Socket:  types.StringValue(l.Socket),
				Name:    types.StringValue(s.Name),
				Address: types.StringValue(v.Addr),
				Port:    types.Int64Value(int64(v.Port)),
				State:   types.StringValue(string(v.State)),
				Weight:  types.Int64Value(int64(v.Weight)),
				OpState: types.StringValue(s.OpState.String()),
				Free:    types.BoolValue(fleet.IsFree(s.Name, listings, placeholder)),
			})
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
