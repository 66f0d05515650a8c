package provider

import (
	"context"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
)

var (
	_ datasource.DataSource              = (*sslCertificatesDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*sslCertificatesDataSource)(nil)
)

func newSSLCertificatesDataSource() datasource.DataSource { return &sslCertificatesDataSource{} }

type sslCertificatesDataSource struct {
	fleet *fleet.Fleet
}

type sslCertificatesModel struct {
	ID           types.String          `tfsdk:"id"`
	Certificates []sslCertificateEntry `tfsdk:"certificates"`
}

type sslCertificateEntry struct {
	Socket          types.String `tfsdk:"socket"`
	File            types.String `tfsdk:"file"`
	Serial          types.String `tfsdk:"serial"`
	SHA1Fingerprint types.String `tfsdk:"sha1_fingerprint"`
	NotAfter        types.String `tfsdk:"not_after"`
	Subject         types.String `tfsdk:"subject"`
	DNSNames        types.List   `tfsdk:"dns_names"`
}

func (d *sslCertificatesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ssl_certificates"
}

func (d *sslCertificatesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(description string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: description}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Every certificate store of every HAProxy instance, with the certificate each serves: expiry " +
			"monitoring in a plan (a `check` block on `not_after`), and a view of which instance serves what.",
		Attributes: map[string]schema.Attribute{
			"id": str("Always `ssl_certificates`."),
			"certificates": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "One entry per store per socket, in socket order and then in the order HAProxy lists the stores.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"socket":           str("The socket this entry was read from."),
					"file":             str("The store, as HAProxy names it (the `crt` file)."),
					"serial":           str("The leaf certificate's serial number, in hexadecimal."),
					"sha1_fingerprint": str("The leaf certificate's SHA-1 fingerprint."),
					"not_after":        str("When the leaf certificate expires (RFC 3339)."),
					"subject":          str("The leaf certificate's subject."),
					"dns_names": schema.ListAttribute{Computed: true, ElementType: types.StringType,
						MarkdownDescription: "The leaf certificate's DNS subject alternative names (`show ssl cert` prints no other kind)."},
				}},
			},
		},
	}
}

func (d *sslCertificatesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

func (d *sslCertificatesDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	if !requireFleet(d.fleet, &resp.Diagnostics) {
		return
	}
	read, skipped, err := d.fleet.ReadCertificates(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the certificates of every HAProxy instance", err.Error()+unreachableHint(err))
		return
	}
	warnReadSkipped("Certificates", skipped, &resp.Diagnostics)
	m := sslCertificatesModel{ID: types.StringValue("ssl_certificates"), Certificates: []sslCertificateEntry{}}
	for _, sc := range read {
		m.Certificates = append(m.Certificates, sslCertificateEntry{
			Socket:          types.StringValue(sc.Socket),
			File:            types.StringValue(sc.Cert.File),
			Serial:          types.StringValue(strings.TrimLeft(sc.Cert.Serial, "0")),
			SHA1Fingerprint: types.StringValue(sc.Cert.SHA1),
			NotAfter:        types.StringValue(sc.Cert.NotAfter.UTC().Format(time.RFC3339)),
			Subject:         types.StringValue(sc.Cert.Subject),
			DNSNames:        stringList(sc.Cert.DNSNames()),
		})
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
