package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/certpem"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

var (
	_ resource.Resource                   = (*sslCertificateResource)(nil)
	_ resource.ResourceWithConfigure      = (*sslCertificateResource)(nil)
	_ resource.ResourceWithImportState    = (*sslCertificateResource)(nil)
	_ resource.ResourceWithValidateConfig = (*sslCertificateResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*sslCertificateResource)(nil)
)

func newSSLCertificateResource() resource.Resource { return &sslCertificateResource{} }

type sslCertificateResource struct {
	fleet *fleet.Fleet
}

type sslCertificateModel struct {
	ID                  types.String `tfsdk:"id"`
	File                types.String `tfsdk:"file"`
	Certificate         types.String `tfsdk:"certificate"`
	PrivateKeyWO        types.String `tfsdk:"private_key_wo"`
	PrivateKeyWOVersion types.Int64  `tfsdk:"private_key_wo_version"`
	Create              types.Bool   `tfsdk:"create"`
	WarnBeforeExpiry    types.String `tfsdk:"warn_before_expiry"`
	Serial              types.String `tfsdk:"serial"`
	SHA1Fingerprint     types.String `tfsdk:"sha1_fingerprint"`
	NotAfter            types.String `tfsdk:"not_after"`
	Subject             types.String `tfsdk:"subject"`
	DNSNames            types.List   `tfsdk:"dns_names"`
}

func (r *sslCertificateResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ssl_certificate"
}

func computedString(description string) schema.StringAttribute {
	return schema.StringAttribute{Computed: true, MarkdownDescription: description}
}

func (r *sslCertificateResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The certificate one HAProxy certificate store serves (the file a `bind … ssl crt` line loads), on every " +
			"configured socket at once and without a reload: served everywhere or nowhere.\n\n" +
			"Every socket is checked first, by the plan and again by apply (level admin, no certificate transaction open, the store exists). Then a transaction is " +
			"opened on every instance (`set ssl cert`) and read back, and only when every instance holds the new certificate is it " +
			"committed everywhere; otherwise every transaction opened is aborted and nothing changes. The private key is write-only: " +
			"it is never in the plan or the state, nor in any log line. A runtime certificate lives in memory only: after a reload " +
			"HAProxy serves the file on disk again, the next plan shows it and apply restores it. Destroy leaves the certificate " +
			"served (HAProxy cannot remove a store a `bind` uses); it is forgotten by Terraform only. A walk-through, with the `tls` " +
			"provider as the issuer: [Rotating certificates without a reload](../guides/certificates.md).",
		Attributes: map[string]schema.Attribute{
			"id": idAttribute("The store's file name, as the import ID."),
			"file": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The certificate store, named as HAProxy names it: the path a `crt` line loads (for example " +
					"`/etc/haproxy/certs/site.pem`). Changing it replaces the resource.",
				Validators:    []validator.String{certFileValidator{}},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"certificate": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The certificate chain in PEM: the leaf first, then each issuer (for example `acme_certificate`'s " +
					"`certificate_pem` followed by its `issuer_pem`). Checked at plan time: it parses, is in order, matches the key, " +
					"and fits what HAProxy 2.6 accepts in one request.",
			},
			"private_key_wo": schema.StringAttribute{
				Required:  true,
				WriteOnly: true,
				Sensitive: true,
				MarkdownDescription: "The leaf certificate's private key in PEM. Write-only: sent to HAProxy at apply, never " +
					"stored. Terraform 1.11 and later and OpenTofu 1.12 (tested with 1.12.6) accept write-only arguments, so there " +
					"is no `sensitive` fallback that would keep the key in the state. Terraform cannot see it change: change " +
					"`private_key_wo_version` (or the certificate) to send it again.",
			},
			"private_key_wo_version": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Any number; changing it sends `private_key_wo` again, with the certificate, to every instance.",
			},
			"create": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
				MarkdownDescription: "Create the store where HAProxy has none (`new ssl cert`), for a `crt-list` to use. Default " +
					"`false`: a store that does not exist is an error, which catches a typo in `file`. A created store is lost " +
					"at the next reload; the plan then creates it again.",
			},
			"warn_before_expiry": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("720h"),
				MarkdownDescription: "The plan warns when the certificate expires within this long (default `720h`, 30 days), and when it has expired.",
				Validators:          []validator.String{durationValidator{allowZero: true}},
			},
			"serial":           computedString("The leaf certificate's serial number, in hexadecimal, as every instance serves it."),
			"sha1_fingerprint": computedString("The leaf certificate's SHA-1 fingerprint (`SHA1 FingerPrint` of `show ssl cert`): where an instance serves another, the plan shows it."),
			"not_after":        computedString("When the leaf certificate expires (RFC 3339)."),
			"subject":          computedString("The leaf certificate's subject."),
			"dns_names": schema.ListAttribute{
				Computed:    true,
				ElementType: types.StringType,
				MarkdownDescription: "The leaf certificate's DNS subject alternative names, in its order. Other kinds (IP " +
					"addresses, e-mail) are left out: `show ssl cert` does not print them.",
			},
		},
	}
}

func (r *sslCertificateResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.fleet = configureFleet(req.ProviderData, &resp.Diagnostics)
}

// certPayload is the certificate and key as one payload, with its parsed
// chain; diags say what is wrong with them.
func certPayload(cert, key types.String, diags *diag.Diagnostics) (certpem.Chain, string, bool) {
	if cert.IsUnknown() || cert.IsNull() {
		return certpem.Chain{}, "", false
	}
	chain, err := certpem.ParseChain(cert.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("certificate"), "Invalid certificate", err.Error())
		return chain, "", false
	}
	if key.IsUnknown() || key.IsNull() {
		return chain, "", false
	}
	signer, err := certpem.ParseKey(key.ValueString())
	if err == nil {
		err = chain.Matches(signer)
	}
	if err != nil {
		diags.AddAttributeError(path.Root("private_key_wo"), "Invalid private key", err.Error())
		return chain, "", false
	}
	payload := strings.TrimRight(cert.ValueString(), "\n") + "\n" + strings.TrimRight(key.ValueString(), "\n") + "\n"
	if _, err := haproxy.SetSSLCert("/check", payload); err != nil {
		diags.AddAttributeError(path.Root("certificate"), "Certificate cannot be sent to HAProxy", err.Error())
		return chain, "", false
	}
	return chain, payload, true
}

func (r *sslCertificateResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m sslCertificateModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	chain, _, _ := certPayload(m.Certificate, m.PrivateKeyWO, &resp.Diagnostics)
	if len(chain.Certs) == 0 || m.WarnBeforeExpiry.IsUnknown() {
		return
	}
	warn := 720 * time.Hour
	if !m.WarnBeforeExpiry.IsNull() {
		warn, _ = parseDuration(m.WarnBeforeExpiry.ValueString(), true) // its validator words a bad one
	}
	if w := chain.Expiry(time.Now(), warn); w != "" {
		resp.Diagnostics.AddAttributeWarning(path.Root("certificate"), "Certificate expiring", w+".")
	}
}

// ModifyPlan plans what every instance will serve, from the configured
// certificate: an instance that serves another (a hand change, a reload)
// then shows as an update.
func (r *sslCertificateResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan sslCertificateModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Certificate.IsUnknown() {
		return
	}
	chain, err := certpem.ParseChain(plan.Certificate.ValueString())
	if err != nil {
		return // ValidateConfig said it
	}
	plan.ID = plan.File
	plan.Serial = types.StringValue(chain.Serial())
	plan.SHA1Fingerprint = types.StringValue(chain.SHA1())
	plan.NotAfter = types.StringValue(chain.Leaf().NotAfter.UTC().Format(time.RFC3339))
	plan.Subject = types.StringValue(chain.Subject())
	plan.DNSNames = stringList(chain.DNSNames())
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)

	// A plan that writes runs apply's pre-flight, read-only: a typo in
	// file, a socket below level admin or another tool's open transaction
	// stop the plan, not the apply that a reviewer already accepted.
	var prior sslCertificateModel
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	}
	if (!req.State.Raw.IsNull() && !sends(prior, plan)) || r.fleet == nil || plan.File.IsUnknown() || plan.Create.IsUnknown() || resp.Diagnostics.HasError() {
		return
	}
	warnings, err := r.fleet.PreflightCertificate(ctx, fleet.Certificate{File: plan.File.ValueString(), SHA1: chain.SHA1(), Create: plan.Create.ValueBool()})
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("file"), fmt.Sprintf("Certificate %s cannot be written on every HAProxy instance", plan.File.ValueString()),
			err.Error()+unreachableHint(err)+"\n\nNothing was changed.")
		return
	}
	if len(warnings) > 0 {
		resp.Diagnostics.AddWarning(fmt.Sprintf("Certificate %s not checked on every HAProxy instance", plan.File.ValueString()), skippedDetail(warnings))
	}
}

func (r *sslCertificateResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.write(ctx, req.Plan, req.Config, &resp.State, &resp.Diagnostics)
}

func (r *sslCertificateResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var prior, plan sslCertificateModel
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !sends(prior, plan) { // warn_before_expiry alone: nothing for HAProxy
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	r.write(ctx, req.Plan, req.Config, &resp.State, &resp.Diagnostics)
}

// sends says whether an update puts the certificate on the sockets: the
// one rule for the plan (which pre-flights every such update) and for
// apply. The certificate (its chain too), the key's version, the store or
// what an instance serves (a refresh records drift in sha1_fingerprint)
// changed; an import (no certificate recorded) sends it too.
func sends(prior, plan sslCertificateModel) bool {
	return !prior.Certificate.Equal(plan.Certificate) || !prior.PrivateKeyWOVersion.Equal(plan.PrivateKeyWOVersion) ||
		!prior.SHA1Fingerprint.Equal(plan.SHA1Fingerprint) || !prior.File.Equal(plan.File)
}

// write puts the planned certificate on every socket; the key comes from
// the configuration (it is write-only: the plan holds none).
func (r *sslCertificateResource) write(ctx context.Context, planData tfsdk.Plan, config tfsdk.Config, state *tfsdk.State, diags *diag.Diagnostics) {
	var plan sslCertificateModel
	diags.Append(planData.Get(ctx, &plan)...)
	var key types.String
	diags.Append(config.GetAttribute(ctx, path.Root("private_key_wo"), &key)...)
	if diags.HasError() || !requireFleet(r.fleet, diags) {
		return
	}
	chain, payload, ok := certPayload(plan.Certificate, key, diags)
	if !ok {
		if !diags.HasError() {
			diags.AddAttributeError(path.Root("private_key_wo"), "No private key", "private_key_wo must be known at apply.")
		}
		return
	}
	file := plan.File.ValueString()
	out, err := r.fleet.SetCertificate(ctx, fleet.Certificate{File: file, PEM: payload, SHA1: chain.SHA1(), Create: plan.Create.ValueBool()})
	warnReadSkipped("Certificate "+file, out.Skipped, diags)
	if err != nil {
		diags.AddError(fmt.Sprintf("Cannot put the certificate on %s on every HAProxy instance", file), err.Error()+unreachableHint(err))
		return
	}
	plan.PrivateKeyWO = types.StringNull() // write-only: never in the state
	diags.Append(state.Set(ctx, &plan)...)
	if len(out.Failed) > 0 {
		// Committed on some instances: the state records the new one, and
		// the next refresh shows the others as serving something else.
		diags.AddError(fmt.Sprintf("The certificate on %s was committed on some HAProxy instances only", file),
			fmt.Sprintf("Committed on: %s.\n%s\nRun apply again: the plan shows the instances that still serve another certificate.",
				strings.Join(r.names(out.Committed), ", "), out.Failed.Error()))
	}
}

// names is how messages call sockets.
func (r *sslCertificateResource) names(sockets []string) []string {
	out := make([]string, len(sockets))
	for i, s := range sockets {
		out[i] = r.fleet.Name(s)
	}
	return out
}

func (r *sslCertificateResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state, ok := loadState[sslCertificateModel](ctx, req.State, r.fleet, &resp.Diagnostics)
	if !ok {
		return
	}
	file := state.File.ValueString()
	read, skipped, err := r.fleet.ReadCertificate(ctx, file)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read certificate "+file, err.Error()+unreachableHint(err))
		return
	}
	warnReadSkipped("Certificate "+file, skipped, &resp.Diagnostics)
	missing := 0
	rows := [][]string{{"instance", "serial", "sha1 fingerprint", "not after"}}
	var differs, served *haproxy.SSLCert
	for _, sc := range read {
		if sc.Missing {
			missing++
			rows = append(rows, []string{sc.Name, "(no such store)", "", ""})
			continue
		}
		rows = append(rows, []string{sc.Name, sc.Cert.Serial, sc.Cert.SHA1, sc.Cert.NotAfter.UTC().Format(time.RFC3339)})
		if served == nil {
			c := sc.Cert
			served = &c
		}
		if differs == nil && !strings.EqualFold(sc.Cert.SHA1, state.SHA1Fingerprint.ValueString()) {
			c := sc.Cert
			differs = &c
		}
	}
	switch {
	case missing == len(read) && len(skipped) == 0:
		resp.State.RemoveResource(ctx) // no instance has the store: a created one that a reload dropped, or it left the configuration
		return
	case missing > 0 && !state.Create.ValueBool():
		resp.Diagnostics.AddError(fmt.Sprintf("Certificate store %s is not loaded on every HAProxy instance", file),
			table(rows)+"\nThe configurations differ: load the same file on every instance, or set create = true.")
		return
	}
	imported := state.SHA1Fingerprint.IsNull()
	if imported && splitServing(read) {
		resp.Diagnostics.AddWarning(fmt.Sprintf("Certificate %s: the HAProxy instances serve different certificates", file),
			table(rows)+"\nThe state records the first instance's. The next apply puts the configured certificate on every instance.")
	}
	switch {
	case missing > 0:
		state.SHA1Fingerprint = types.StringValue("") // apply creates it where missing
	case differs != nil:
		if !imported {
			resp.Diagnostics.AddWarning(fmt.Sprintf("Certificate %s changed outside Terraform", file),
				table(rows)+"\nApply puts the configured certificate on every instance. An instance that serves the file on disk again was reloaded.")
		}
		state.SHA1Fingerprint = types.StringValue(differs.SHA1)
		state.Serial = types.StringValue(strings.TrimLeft(differs.Serial, "0"))
		state.NotAfter = types.StringValue(differs.NotAfter.UTC().Format(time.RFC3339))
		state.Subject = types.StringValue(differs.Subject)
		state.DNSNames = stringList(differs.DNSNames())
	case state.DNSNames.IsNull() && served != nil:
		state.DNSNames = stringList(served.DNSNames()) // a state written before dns_names
	}
	state.ID = state.File
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// splitServing says whether the instances that have the store serve
// different certificates.
func splitServing(read []fleet.SocketCert) bool {
	first := ""
	for _, sc := range read {
		switch {
		case sc.Missing:
		case first == "":
			first = sc.Cert.SHA1
		case !strings.EqualFold(first, sc.Cert.SHA1):
			return true
		}
	}
	return false
}

func (r *sslCertificateResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	state, ok := loadState[sslCertificateModel](ctx, req.State, r.fleet, &resp.Diagnostics)
	if !ok {
		return
	}
	resp.Diagnostics.AddWarning("Certificate "+state.File.ValueString()+" left in place",
		"HAProxy keeps serving it until it reloads (then it serves the file on disk): a store a `bind` uses cannot be removed at run time. Terraform no longer manages it.")
}

// ImportState takes the store's file name.
func (r *sslCertificateResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := haproxy.ValidateCertFile(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid certificate store to import", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("file"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("create"), false)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("warn_before_expiry"), "720h")...)
}

// certFileValidator checks a store name as HAProxy's runtime API takes it.
type certFileValidator struct{}

func (certFileValidator) Description(context.Context) string {
	return "must be a certificate file name as HAProxy names it: printable, no spaces, `;`, `\\` or `#`"
}
func (v certFileValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (certFileValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	stringCheck(req, resp, "Invalid certificate file", haproxy.ValidateCertFile)
}
