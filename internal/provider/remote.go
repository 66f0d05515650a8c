package provider

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxy"
)

// Settings of the remote transports (tls:// and ssh:// sockets) and the
// environment variables that stand in for them when unset. Secrets (a key's
// passphrase) come from the environment only, so they never reach a plan,
// the state or a log.
const (
	envSSHKeyFile      = "HAPROXY_SSH_PRIVATE_KEY_FILE"
	envSSHKnownHosts   = "HAPROXY_SSH_KNOWN_HOSTS_FILE"
	envSSHKeyPass      = "HAPROXY_SSH_KEY_PASSPHRASE"
	envTLSCAFile       = "HAPROXY_TLS_CA_FILE"
	envTLSCertFile     = "HAPROXY_TLS_CERT_FILE"
	envTLSKeyFile      = "HAPROXY_TLS_KEY_FILE"
	envTLSServerName   = "HAPROXY_TLS_SERVER_NAME"
	defaultKnownHosts  = "~/.ssh/known_hosts"
	sshAuthSockEnvName = "SSH_AUTH_SOCK"
)

type sshModel struct {
	PrivateKeyFile types.String `tfsdk:"private_key_file"`
	KnownHostsFile types.String `tfsdk:"known_hosts_file"`
}

type tlsModel struct {
	CAFile     types.String `tfsdk:"ca_file"`
	CertFile   types.String `tfsdk:"cert_file"`
	KeyFile    types.String `tfsdk:"key_file"`
	ServerName types.String `tfsdk:"server_name"`
}

func envAttribute(description, env string) schema.StringAttribute {
	return schema.StringAttribute{Optional: true, MarkdownDescription: description + " Defaults to `" + env + "`."}
}

func sshAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "How `ssh://user@host[:port]/path/to/admin.sock` sockets are reached: SSH stream-local " +
			"forwarding to the remote admin socket, one SSH connection per host for the whole run. Host keys are " +
			"checked against `known_hosts_file`; an unknown or changed key refuses the connection before any command.",
		Attributes: map[string]schema.Attribute{
			"private_key_file": envAttribute("Private key file (OpenSSH or PEM). Its passphrase, if any, is read from `"+
				envSSHKeyPass+"`. When neither this nor `"+envSSHKeyFile+"` is set, ssh-agent (`SSH_AUTH_SOCK`) is used.", envSSHKeyFile),
			"known_hosts_file": envAttribute("The known_hosts file host keys are checked against, `"+defaultKnownHosts+"` "+
				"when this and the variable are unset.", envSSHKnownHosts),
		},
	}
}

func tlsAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "How `tls://host:port` sockets are reached: mutual TLS (TLS 1.2 or later), never plaintext. " +
			"HAProxy ignores TLS options on a `stats socket` line; terminate TLS in a `listen` section that forwards " +
			"to the admin socket (see the remote access guide).",
		Attributes: map[string]schema.Attribute{
			"ca_file":     envAttribute("CA bundle (PEM) the server certificate must chain to.", envTLSCAFile),
			"cert_file":   envAttribute("Client certificate (PEM) presented to HAProxy.", envTLSCertFile),
			"key_file":    envAttribute("Private key (PEM) of the client certificate.", envTLSKeyFile),
			"server_name": envAttribute("Name the server certificate must carry, when it is not the socket's host.", envTLSServerName),
		},
	}
}

// setting is an attribute's value, or its environment variable's.
func setting(v types.String, env string) string {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueString()
	}
	return os.Getenv(env)
}

// expandHome turns a leading ~/ into the home directory.
func expandHome(path string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return path
}

// remoteSettings are the resolved remote-transport settings.
type remoteSettings struct {
	sshKeyFile, knownHosts             string
	caFile, certFile, keyFile, tlsName string
}

func resolveRemote(sshCfg *sshModel, tlsCfg *tlsModel) remoteSettings {
	var s sshModel
	if sshCfg != nil {
		s = *sshCfg
	}
	var t tlsModel
	if tlsCfg != nil {
		t = *tlsCfg
	}
	r := remoteSettings{
		sshKeyFile: expandHome(setting(s.PrivateKeyFile, envSSHKeyFile)),
		knownHosts: expandHome(setting(s.KnownHostsFile, envSSHKnownHosts)),
		caFile:     expandHome(setting(t.CAFile, envTLSCAFile)),
		certFile:   expandHome(setting(t.CertFile, envTLSCertFile)),
		keyFile:    expandHome(setting(t.KeyFile, envTLSKeyFile)),
		tlsName:    setting(t.ServerName, envTLSServerName),
	}
	if r.knownHosts == "" {
		r.knownHosts = expandHome(defaultKnownHosts)
	}
	return r
}

// problems lists what keeps the sockets from being reached, in words a
// reviewer acts on: settings a tls:// or ssh:// socket needs, files that do
// not exist. Nothing is read beyond checking that files exist.
func (r remoteSettings) problems(sockets []string) []string {
	var out []string
	needTLS, needSSH := false, false
	for _, s := range sockets {
		needTLS = needTLS || haproxy.IsTLS(s)
		needSSH = needSSH || haproxy.IsSSH(s)
	}
	exists := func(what, path string) {
		if path == "" {
			return
		}
		if _, err := os.Stat(path); err != nil {
			out = append(out, fmt.Sprintf("%s %q cannot be read: %v", what, path, err))
		}
	}
	if needTLS {
		if r.caFile == "" || r.certFile == "" || r.keyFile == "" {
			out = append(out, "a tls:// socket needs tls.ca_file, tls.cert_file and tls.key_file (or "+
				envTLSCAFile+", "+envTLSCertFile+" and "+envTLSKeyFile+"): HAProxy is reached with mutual TLS only")
		}
		exists("tls.ca_file", r.caFile)
		exists("tls.cert_file", r.certFile)
		exists("tls.key_file", r.keyFile)
	}
	if needSSH {
		if r.sshKeyFile == "" && os.Getenv(sshAuthSockEnvName) == "" {
			out = append(out, "an ssh:// socket needs ssh.private_key_file (or "+envSSHKeyFile+") or a running ssh-agent (SSH_AUTH_SOCK)")
		}
		exists("ssh.private_key_file", r.sshKeyFile)
		exists("ssh.known_hosts_file", r.knownHosts)
	}
	return out
}

// credentials builds what the transports need.
func (r remoteSettings) credentials(sockets []string) (haproxy.Credentials, error) {
	var cr haproxy.Credentials
	for _, s := range sockets {
		switch {
		case haproxy.IsTLS(s) && cr.TLS == nil:
			cfg, err := r.tlsConfig()
			if err != nil {
				return cr, err
			}
			cr.TLS = cfg
		case haproxy.IsSSH(s) && cr.SSH == nil:
			d, err := r.sshDialer()
			if err != nil {
				return cr, err
			}
			cr.SSH = d
		}
	}
	return cr, nil
}

func (r remoteSettings) tlsConfig() (*tls.Config, error) {
	pem, err := os.ReadFile(r.caFile)
	if err != nil {
		return nil, fmt.Errorf("tls.ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls.ca_file %q holds no PEM certificate", r.caFile)
	}
	pair, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls.cert_file / tls.key_file: %w", err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, ServerName: r.tlsName, MinVersion: tls.VersionTLS12}, nil
}

func (r remoteSettings) sshDialer() (*haproxy.SSHDialer, error) {
	var auth []ssh.AuthMethod
	if r.sshKeyFile != "" {
		raw, err := os.ReadFile(r.sshKeyFile)
		if err != nil {
			return nil, fmt.Errorf("ssh.private_key_file: %w", err)
		}
		var signer ssh.Signer
		if pass := os.Getenv(envSSHKeyPass); pass != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase(raw, []byte(pass))
		} else {
			signer, err = ssh.ParsePrivateKey(raw)
		}
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("ssh.private_key_file %q is encrypted: set its passphrase in %s", r.sshKeyFile, envSSHKeyPass)
		}
		if err != nil {
			return nil, fmt.Errorf("ssh.private_key_file %q: %w", r.sshKeyFile, err)
		}
		auth = append(auth, ssh.PublicKeys(signer))
	} else if sock := os.Getenv(sshAuthSockEnvName); sock != "" {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, fmt.Errorf("ssh-agent (%s=%s): %w", sshAuthSockEnvName, sock, err)
		}
		auth = append(auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	return haproxy.NewSSHDialer(r.knownHosts, auth...)
}
