// Package provider is the Terraform glue: schemas, plans, state and
// diagnostics. The socket work lives in internal/fleet and internal/haproxy.
package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

var (
	_ provider.Provider                   = (*haproxyProvider)(nil)
	_ provider.ProviderWithValidateConfig = (*haproxyProvider)(nil)
	_ provider.ProviderWithListResources  = (*haproxyProvider)(nil)
)

// Environment variables read when the provider block leaves a setting unset.
const (
	envSockets     = "HAPROXY_SOCKETS"
	envTimeout     = "HAPROXY_TIMEOUT"
	envPlaceholder = "HAPROXY_PLACEHOLDER"
)

const defaultTimeout = 10 * time.Second

// New returns the provider factory for providerserver.Serve.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &haproxyProvider{version: version} }
}

type haproxyProvider struct {
	version string
}

type providerModel struct {
	Sockets            types.List   `tfsdk:"sockets"`
	Timeout            types.String `tfsdk:"timeout"`
	UnreachableSockets types.String `tfsdk:"unreachable_sockets"`
	MaxConnections     types.Int64  `tfsdk:"max_connections"`
	Placeholder        types.String `tfsdk:"placeholder"`
	SSH                *sshModel    `tfsdk:"ssh"`
	TLS                *tlsModel    `tfsdk:"tls"`
}

func (p *haproxyProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "haproxy"
	resp.Version = p.version
}

func (p *haproxyProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manages HAProxy servers through the runtime API (the admin stats socket), " +
			"without reloads, on every configured HAProxy instance at once.",
		Attributes: map[string]schema.Attribute{
			"sockets": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "The admin stats sockets of every HAProxy instance to manage: `unix:///path/to.sock` " +
					"(or a bare absolute path), `tcp://host:port` (plaintext: keep it on a trusted network), " +
					"`tls://host:port` (mutual TLS, see `tls`) or `ssh://user@host[:port]/path/to/admin.sock` (see `ssh`); " +
					"prefixed with `master+`, a master CLI socket (`haproxy -W -S …`) whose current worker gets every command. " +
					"Every write goes to all of them. " +
					"Each socket needs `level admin`. When unset, the comma-separated `" + envSockets + "` " +
					"environment variable is used.",
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(socketValidator{}),
				},
			},
			"timeout": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "How long one connection to a socket (connect, send, read the reply) may take, " +
					"as a Go duration such as `10s` or `500ms`. Defaults to `" + envTimeout + "`, else `10s`. " +
					"A long batch (a pool's members, a map's entries) is sent over several connections, each with this bound.",
				Validators: []validator.String{durationValidator{}},
			},
			"unreachable_sockets": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "What to do when a socket cannot be reached (connection refused, reset or timed out): " +
					"`error` (default) fails the plan or apply and names the socket; `warn` goes on with the other " +
					"sockets and says which one was skipped. A skipped instance is not changed; once it answers " +
					"again, the next plan shows what it lacks. A socket that answers with an error is never skipped.",
				Validators: []validator.String{stringvalidator.OneOf(unreachableError, unreachableWarn)},
			},
			"max_connections": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Most connections the provider opens at once to each socket (1-10, default %d). "+
					"All stats sockets of one HAProxy process share a single 10-connection CLI: if you list several "+
					"sockets of the same process, keep their sum below 10.", haproxy.DefaultMaxConns),
				Validators: []validator.Int64{int64validator.Between(1, 10)},
			},
			"placeholder": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The `address:port` free slots are parked on, as in your `server-template` lines " +
					"(`server-template websrv 1-100 127.0.0.1:1 …`). Destroy parks a server here when the address it " +
					"had before is unknown (an imported server); pools and data sources count a slot as free only when " +
					"it is in `maint` here on every socket; and a server holding it is never someone else's. Defaults to `" +
					envPlaceholder + "`, else `127.0.0.1:1`.",
				Validators: []validator.String{placeholderValidator{}},
			},
			"ssh": sshAttribute(),
			"tls": tlsAttribute(),
		},
	}
}

// ValidateConfig refuses, at plan time, sockets whose transport lacks what
// it needs (a tls:// socket without certificates, an ssh:// one without a
// key or agent) and files that do not exist.
func (p *haproxyProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || cfg.Sockets.IsUnknown() {
		return
	}
	sockets := configuredSockets(ctx, cfg, &resp.Diagnostics)
	for _, problem := range resolveRemote(cfg.SSH, cfg.TLS).problems(sockets) {
		resp.Diagnostics.AddError("HAProxy socket cannot be reached as configured", problem)
	}
}

// configuredSockets is `sockets`, else the comma-separated HAPROXY_SOCKETS.
func configuredSockets(ctx context.Context, cfg providerModel, diags *diag.Diagnostics) []string {
	var sockets []string
	if !cfg.Sockets.IsNull() {
		diags.Append(cfg.Sockets.ElementsAs(ctx, &sockets, false)...)
		return sockets
	}
	for _, s := range strings.Split(os.Getenv(envSockets), ",") {
		if s = strings.TrimSpace(s); s != "" {
			sockets = append(sockets, s)
		}
	}
	return sockets
}

// Values of unreachable_sockets.
const (
	unreachableError = "error"
	unreachableWarn  = "warn"
)

func (p *haproxyProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if cfg.Sockets.IsUnknown() || cfg.Timeout.IsUnknown() || cfg.UnreachableSockets.IsUnknown() || cfg.MaxConnections.IsUnknown() || cfg.Placeholder.IsUnknown() {
		// Known only after apply of something else; Terraform calls again then.
		return
	}

	sockets := configuredSockets(ctx, cfg, &resp.Diagnostics)
	if len(sockets) == 0 {
		resp.Diagnostics.AddAttributeError(path.Root("sockets"), "No HAProxy sockets configured",
			"Set `sockets` in the provider block or the "+envSockets+" environment variable "+
				"(comma-separated), e.g. unix:///run/haproxy/admin.sock,tcp://127.0.0.1:9999.")
		return
	}

	timeout := defaultTimeout
	raw := cfg.Timeout.ValueString()
	if cfg.Timeout.IsNull() {
		raw = os.Getenv(envTimeout)
	}
	if raw != "" {
		d, err := parseDuration(raw, false)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("timeout"), "Invalid timeout", err.Error())
			return
		}
		timeout = d
	}

	placeholder := fleet.DefaultPlaceholder
	raw = cfg.Placeholder.ValueString()
	if cfg.Placeholder.IsNull() {
		raw = os.Getenv(envPlaceholder)
	}
	if raw != "" {
		ap, err := parsePlaceholderString(raw)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("placeholder"), "Invalid placeholder", err.Error())
			return
		}
		placeholder = ap
	}

	remote := resolveRemote(cfg.SSH, cfg.TLS)
	if problems := remote.problems(sockets); len(problems) > 0 {
		resp.Diagnostics.AddError("HAProxy socket cannot be reached as configured", strings.Join(problems, "\n"))
		return
	}
	credentials, err := remote.credentials(sockets)
	if err != nil {
		resp.Diagnostics.AddError("HAProxy socket cannot be reached as configured", err.Error())
		return
	}
	opts := []fleet.Option{fleet.Placeholder(placeholder), fleet.Credentials(credentials)}
	if cfg.UnreachableSockets.ValueString() == unreachableWarn {
		opts = append(opts, fleet.SkipUnreachable())
	}
	if !cfg.MaxConnections.IsNull() {
		opts = append(opts, fleet.MaxConns(int(cfg.MaxConnections.ValueInt64())))
	}
	f, err := fleet.New(sockets, timeout, logExchange, opts...)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("sockets"), "Invalid HAProxy socket", err.Error())
		return
	}
	resp.ResourceData = f
	resp.DataSourceData = f
	resp.ActionData = f
	resp.ListResourceData = f
}

// logExchange writes every socket round trip to Terraform's log: at DEBUG
// the socket, each command and HAProxy's reply (long replies, such as
// `show servers state` of a large backend, cut to their first 2 KiB with the
// full length given), and at TRACE the whole reply. Fields, not formatted
// strings, keep it cheap when logging is off.
func logExchange(ctx context.Context, ex haproxy.Exchange) {
	sent := 0
	for _, c := range ex.Commands {
		sent += len(c) + 1
	}
	fields := map[string]any{
		"socket":        ex.Target,
		"commands":      ex.Commands,
		"command_count": len(ex.Commands),
		"sent_bytes":    sent,
		"reply":         ex.Reply,
		"reply_bytes":   len(ex.Reply),
		"elapsed_ms":    ex.Elapsed.Milliseconds(),
	}
	if ex.Err != nil {
		fields["error"] = ex.Err.Error()
	}
	if len(ex.Reply) > maxLoggedReply {
		fields["reply"] = ex.Reply[:maxLoggedReply] + "…"
		tflog.Trace(ctx, "haproxy runtime API exchange, full reply", map[string]any{"socket": ex.Target, "reply": ex.Reply})
	}
	tflog.Debug(ctx, "haproxy runtime API exchange", fields)
}

const maxLoggedReply = 2048

func (p *haproxyProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{newBackendServerResource, newBackendPoolResource, newDynamicServerResource,
		newMapResource, newMapEntryResource, newACLResource, newSSLCertificateResource}
}

// ListResources are what `terraform query` (Terraform 1.14+) lists, to adopt
// a fleet that was run by hand.
func (p *haproxyProvider) ListResources(_ context.Context) []func() list.ListResource {
	return []func() list.ListResource{newBackendServerList, newDynamicServerList, newBackendPoolList}
}

// Actions are the day-2 operations people run by hand (Terraform 1.14+):
// `terraform apply -invoke=action.haproxy_server_state.<name>`.
func (p *haproxyProvider) Actions(_ context.Context) []func() action.Action {
	return []func() action.Action{newServerStateAction, newShutdownSessionsAction}
}

func (p *haproxyProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{newBackendServersDataSource, newFreeSlotsDataSource, newMapDataSource, newSSLCertificatesDataSource}
}
