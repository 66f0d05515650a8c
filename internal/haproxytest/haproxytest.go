// Package haproxytest starts real haproxy processes for tests: a throwaway
// config, an admin unix socket, an admin TCP socket on loopback, a user-level
// unix socket, a server-template backend whose slots are parked on
// 127.0.0.1:1, and an HTTP frontend on a free loopback port.
//
// Facts it relies on (HAProxy 2.6.12): `haproxy -c` checks a config, `-db`
// keeps it in the foreground as our child, it is ready when `show version`
// answers, SIGUSR1 stops it cleanly, and `noreuseport` stops two instances
// from silently sharing a port.
package haproxytest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
)

// Slots is how many server-template slots the `app` backend has.
const Slots = 10

// Instance is one running haproxy.
type Instance struct {
	Dir        string // holds the config, sockets and log
	AdminSock  string // unix socket path, level admin
	UserSock   string // unix socket path, level user
	OperSock   string // unix socket path, level operator
	AdminTCP   string // host:port of the admin TCP socket
	SevSock    string // with Options.SeverityOutput: an admin unix socket whose replies carry severity prefixes
	MasterSock string // with Options.MasterWorker: the master CLI socket (`-S`)
	TLSAddr    string // with Options.TLS: host:port of the mutual-TLS front of the admin socket
	// CertFrontends maps each of Options.CertStores to the host:port of the
	// TLS frontend that serves it.
	CertFrontends map[string]string
	PKI           *PKI   // with Options.TLS: the CA and certificates it uses
	Frontend      string // host:port of the HTTP frontend (default_backend app)
	ConfigPath    string

	bin          string
	masterWorker bool
	cmd          *exec.Cmd
	done         chan struct{}
	log          *syncBuffer
}

// syncBuffer is haproxy's output, written by exec's copier goroutine and
// read by tests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// MasterTarget is the master CLI as a provider target string.
func (i *Instance) MasterTarget() string { return "master+unix://" + i.MasterSock }

// TLSTarget is the mutual-TLS front as a provider target string.
func (i *Instance) TLSTarget() string { return "tls://" + i.TLSAddr }

// UnixTarget is the admin socket as a provider target string.
func (i *Instance) UnixTarget() string { return "unix://" + i.AdminSock }

// TCPTarget is the admin TCP socket as a provider target string.
func (i *Instance) TCPTarget() string { return "tcp://" + i.AdminTCP }

// FrontendURL is the base URL of the HTTP frontend.
func (i *Instance) FrontendURL() string { return "http://" + i.Frontend }

// Options tune the generated config.
type Options struct {
	// ExtraConfig is appended verbatim (more backends for a test).
	ExtraConfig string
	// Slots overrides how many server-template slots `app` has (default Slots).
	Slots int
	// NoHealthChecks drops `check` from the slots (benchmarks: no check
	// traffic competing with what is measured).
	NoHealthChecks bool
	// MasterWorker runs haproxy in master-worker mode (-W, with a master CLI
	// socket), so that Reload does what `systemctl reload` does.
	MasterWorker bool
	// SeverityOutput ("number" or "string") adds an admin unix socket,
	// Instance.SevSock, declared with `severity-output <value>`, as sockets
	// shared with monitoring tools often are.
	SeverityOutput string
	// TLS adds the mutual-TLS front of the admin unix socket that the
	// remote-access guide recommends: a `listen` section in `mode tcp` whose
	// bind requires a client certificate of Instance.PKI's CA.
	TLS bool
	// CertStores are certificate files (see CertStores), each served by a
	// TLS frontend of its own on a port the instance picks, as its other
	// ports, afresh at every start attempt (Instance.CertFrontends).
	CertStores []string
	// FrontendRules go into the `fe` frontend before its default_backend:
	// routing by a map, or a deny by an ACL file (see PatternFile).
	FrontendRules string
}

var configTemplate = template.Must(template.New("cfg").Parse(`global
    noreuseport
    stats socket {{.AdminSock}} mode 600 level admin
    stats socket {{.UserSock}} mode 600 level user
    stats socket {{.OperSock}} mode 600 level operator
    stats socket ipv4@{{.AdminTCP}} level admin
{{- if .Severity}}
    stats socket {{.SevSock}} mode 600 level admin severity-output {{.Severity}}
{{- end}}
    stats timeout 10s

defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout check 1s

frontend fe
    bind {{.Frontend}}
{{- if .Rules}}
    {{.Rules}}
{{- end}}
    default_backend app

# Free slots are parked on an inet placeholder (a hostname would make
# 'set server addr' fail) and start disabled.
backend app
    balance roundrobin
    server-template websrv 1-{{.Slots}} 127.0.0.1:1 {{.Check}}disabled

backend plain
    balance roundrobin
    server s1 127.0.0.1:1 disabled
    server s2 127.0.0.1:1 disabled

backend staticlb
    balance static-rr
    server t1 127.0.0.1:1 disabled

backend off
    disabled
    server o1 127.0.0.1:1
{{- if .TLSAddr}}

listen runtime_api_tls
    mode tcp
    bind {{.TLSAddr}} ssl crt {{.PKI.ServerPEM}} ca-file {{.PKI.CA}} verify required
    server cli unix@{{.AdminSock}}
{{- end}}
{{.Extra}}
`))

func (o Options) check() string {
	if o.NoHealthChecks {
		return ""
	}
	return "check inter 300ms fall 2 rise 1 "
}

// Start runs a new haproxy for t and stops it when t ends. Without haproxy
// on PATH the test is skipped, unless CI is set: then it fails, because a
// CI run that skips its integration tests proves nothing.
func Start(t testing.TB, opts ...Options) *Instance {
	t.Helper()
	bin := Binary(t)
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	var lastErr error
	// Free ports are picked by binding :0 and closing; another process can
	// take one in between, so retry a few times.
	for attempt := 0; attempt < 4; attempt++ {
		inst, err := start(t, bin, o)
		if err == nil {
			return inst
		}
		lastErr = err
	}
	t.Fatalf("haproxytest: could not start haproxy: %v", lastErr)
	return nil
}

// Binary returns the haproxy binary's path, skipping or failing t when absent.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("haproxy is not installed but CI is set: install it (apt-get install -y haproxy); integration tests must not be skipped in CI")
		}
		t.Skip("haproxy not installed; run `make test`, which installs it")
	}
	return bin
}

func start(t testing.TB, bin string, o Options) (*Instance, error) {
	inst, cfg, err := prepare(t, o)
	if err != nil {
		return nil, err
	}
	if out, err := exec.Command(bin, "-c", "-q", "-f", inst.ConfigPath).CombinedOutput(); err != nil {
		_ = os.RemoveAll(inst.Dir)
		t.Fatalf("haproxytest: config rejected: %v\n%s\n%s", err, out, cfg)
	}

	inst.bin = bin
	inst.masterWorker = o.MasterWorker
	if err := inst.launch(); err != nil {
		_ = os.RemoveAll(inst.Dir)
		return nil, err
	}
	t.Cleanup(func() {
		inst.stop()
		_ = os.RemoveAll(inst.Dir)
	})
	return inst, nil
}

// prepare writes an instance's config into a new short directory.
func prepare(t testing.TB, o Options) (*Instance, string, error) {
	// Unix socket paths are limited to ~100 bytes; t.TempDir() can be longer.
	dir, err := os.MkdirTemp("/tmp", "hx") //nolint:usetesting // t.TempDir() paths overflow the ~100-byte unix socket limit
	if err != nil {
		return nil, "", err
	}
	inst := &Instance{
		Dir:        dir,
		AdminSock:  filepath.Join(dir, "a.sock"),
		UserSock:   filepath.Join(dir, "u.sock"),
		OperSock:   filepath.Join(dir, "o.sock"),
		AdminTCP:   FreeAddr(t),
		Frontend:   FreeAddr(t),
		ConfigPath: filepath.Join(dir, "haproxy.cfg"),
		log:        &syncBuffer{},
	}
	if o.SeverityOutput != "" {
		inst.SevSock = filepath.Join(dir, "s.sock")
	}
	if o.Slots == 0 {
		o.Slots = Slots
	}
	if o.TLS {
		inst.TLSAddr, inst.PKI = FreeAddr(t), NewPKI(t, dir)
	}
	if o.MasterWorker {
		inst.MasterSock = filepath.Join(dir, "m.sock")
	}
	extra := o.ExtraConfig
	inst.CertFrontends = map[string]string{}
	for i, file := range o.CertStores {
		inst.CertFrontends[file] = FreeAddr(t)
		extra += fmt.Sprintf("\nfrontend tls_%d\n    bind %s ssl crt %s\n    default_backend app\n", i, inst.CertFrontends[file], file)
	}
	var cfg bytes.Buffer
	err = configTemplate.Execute(&cfg, map[string]any{
		"AdminSock": inst.AdminSock, "UserSock": inst.UserSock, "OperSock": inst.OperSock, "AdminTCP": inst.AdminTCP,
		"Frontend": inst.Frontend, "Slots": o.Slots, "Extra": extra, "Check": o.check(),
		"SevSock": inst.SevSock, "Severity": o.SeverityOutput, "TLSAddr": inst.TLSAddr, "PKI": inst.PKI,
		"Rules": o.FrontendRules,
	})
	if err == nil {
		err = os.WriteFile(inst.ConfigPath, cfg.Bytes(), 0o600)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", err
	}
	return inst, cfg.String(), nil
}

// CheckConfig writes the config Start would run and returns what
// `haproxy -c` says of it (nil when it is valid), starting nothing.
func CheckConfig(t testing.TB, o Options) error {
	t.Helper()
	inst, _, err := prepare(t, o)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(inst.Dir) }()
	if out, err := exec.Command(Binary(t), "-c", "-f", inst.ConfigPath).CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// HAProxyVersion is the major.minor.patch of the haproxy on PATH.
type HAProxyVersion struct{ Major, Minor, Patch int }

func (v HAProxyVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports whether v is major.minor or newer.
func (v HAProxyVersion) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// Version runs `haproxy -v` on the haproxy tests use.
func Version(t testing.TB) HAProxyVersion {
	t.Helper()
	out, err := exec.Command(Binary(t), "-v").Output()
	if err != nil {
		t.Fatalf("haproxytest: haproxy -v: %v", err)
	}
	var v HAProxyVersion
	if _, err := fmt.Sscanf(string(out), "HAProxy version %d.%d.%d", &v.Major, &v.Minor, &v.Patch); err != nil {
		t.Fatalf("haproxytest: cannot read the version in %q: %v", out, err)
	}
	return v
}

// launch starts haproxy on the instance's config and waits for its sockets.
func (i *Instance) launch() error {
	i.done = make(chan struct{})
	args := []string{"-db", "-f", i.ConfigPath}
	if i.masterWorker {
		args = append([]string{"-W", "-S", i.MasterSock}, args...)
	}
	i.cmd = exec.Command(i.bin, args...)
	i.cmd.Stdout, i.cmd.Stderr = i.log, i.log
	if err := i.cmd.Start(); err != nil {
		return err
	}
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(i.cmd, i.done)
	if err := i.waitReady(5 * time.Second); err != nil {
		i.stop()
		return fmt.Errorf("%w; haproxy log:\n%s", err, i.log.String())
	}
	return nil
}

// Restart stops haproxy and starts it again on the same config, sockets and
// ports: every runtime change is lost, as after a reload without a
// server-state file.
func (i *Instance) Restart(t testing.TB) {
	t.Helper()
	i.stop()
	if err := i.launch(); err != nil {
		t.Fatalf("haproxytest: restart: %v", err)
	}
}

// Reload makes a master-worker instance reload its configuration (SIGUSR2
// to the master, as `systemctl reload` does) and waits until a new worker
// answers on the sockets. Runtime changes are lost, as in production.
func (i *Instance) Reload(t testing.TB) {
	t.Helper()
	if !i.masterWorker {
		t.Fatal("haproxytest: Reload needs Options{MasterWorker: true}")
	}
	before := i.workerPid()
	if err := i.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatalf("haproxytest: reload: %v", err)
	}
	if !poll.For(10*time.Second, 50*time.Millisecond, func() bool {
		pid := i.workerPid()
		return pid != "" && pid != before
	}) {
		t.Fatalf("haproxytest: no new worker 10s after reload; log:\n%s", i.Log())
	}
	if err := i.waitReady(5 * time.Second); err != nil {
		t.Fatalf("haproxytest: after reload: %v", err)
	}
}

// workerPid is the Pid the admin socket's `show info` reports ("" while no
// worker answers).
func (i *Instance) workerPid() string {
	out, err := i.Raw("unix", i.AdminSock, "show info")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Pid: "); ok {
			return v
		}
	}
	return ""
}

// waitReady polls `show version` on both admin sockets.
func (i *Instance) waitReady(limit time.Duration) error {
	var errU, errT error
	exited := false
	up := poll.For(limit, 20*time.Millisecond, func() bool {
		select {
		case <-i.done:
			exited = true
			return true
		default:
		}
		_, errU = i.Raw("unix", i.AdminSock, "show version")
		_, errT = i.Raw("tcp", i.AdminTCP, "show version")
		if errU == nil && errT == nil && i.MasterSock != "" {
			// The master CLI answers only once the client half-closes, so
			// accepting a connection is the sign it is up.
			var c net.Conn
			if c, errU = net.DialTimeout("unix", i.MasterSock, time.Second); errU == nil {
				_ = c.Close()
			}
		}
		return errU == nil && errT == nil
	})
	switch {
	case exited:
		return fmt.Errorf("haproxy exited during start-up")
	case !up:
		return fmt.Errorf("sockets did not answer within %s: unix: %w, tcp: %w", limit, errU, errT)
	}
	return nil
}

// stop sends SIGUSR1 (soft stop) to our own child by PID, then SIGKILL if it
// lingers. It never looks processes up by name.
func (i *Instance) stop() {
	select {
	case <-i.done:
		return
	default:
	}
	_ = i.cmd.Process.Signal(syscall.SIGUSR1)
	select {
	case <-i.done:
	case <-time.After(3 * time.Second):
		_ = i.cmd.Process.Kill()
		<-i.done
	}
}

// Kill kills the instance with SIGKILL, as a crash would (for tests of an
// instance that dies); its socket files stay behind, refusing connections.
func (i *Instance) Kill() {
	select {
	case <-i.done:
		return
	default:
	}
	_ = i.cmd.Process.Kill()
	<-i.done
}

// Pause stops the instance with SIGSTOP: its sockets still accept
// connections (the kernel queues them) but nothing answers, as with a hung
// process. Resume undoes it; cleanup resumes it too, so it can stop.
func (i *Instance) Pause(t testing.TB) {
	t.Helper()
	if err := i.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(i.Resume)
	// The signal stops the threads asynchronously: one may still answer a
	// connection for a moment. Return once every thread is stopped.
	if !poll.For(5*time.Second, time.Millisecond, i.stopped) {
		t.Fatal("haproxytest: the instance did not stop within 5s of SIGSTOP")
	}
}

// stopped reports whether every thread of the process is stopped (state T
// in /proc).
func (i *Instance) stopped() bool {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", i.cmd.Process.Pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		fields, err := procStat(task)
		if err != nil || len(fields) == 0 || (fields[0] != "T" && fields[0] != "t") {
			return false
		}
	}
	return true
}

// Resume continues an instance stopped by Pause.
func (i *Instance) Resume() { _ = i.cmd.Process.Signal(syscall.SIGCONT) }

// CPU is the processor time the haproxy process has used so far (user and
// system, from /proc; with MasterWorker, the master's only), for benchmarks
// that must tell HAProxy's own work from the caller's on a shared machine.
func (i *Instance) CPU(t testing.TB) time.Duration {
	t.Helper()
	fields, err := procStat(fmt.Sprintf("/proc/%d/stat", i.cmd.Process.Pid))
	if err != nil || len(fields) < 13 {
		t.Fatalf("haproxytest: cpu time: %v %q", err, fields)
	}
	// utime and stime, in clock ticks (100 a second on Linux).
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("haproxytest: cpu time: %v", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// procStat reads a /proc stat file and returns its fields after the command
// name (which is in parentheses and may hold spaces): the state first.
func procStat(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:])), nil
}

// Log is what haproxy printed so far.
func (i *Instance) Log() string { return i.log.String() }

// Raw sends one command line to a socket in the CLI's plain mode and returns
// the reply. It deliberately bypasses internal/haproxy so that tests check
// HAProxy's state through an independent path.
func (i *Instance) Raw(network, addr, line string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	if _, err := conn.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(conn); err != nil {
		return buf.String(), err
	}
	return buf.String(), nil
}

// Admin sends one command to the admin unix socket, failing t on I/O errors.
func (i *Instance) Admin(t testing.TB, line string) string {
	t.Helper()
	out, err := i.Raw("unix", i.AdminSock, line)
	if err != nil {
		t.Fatalf("haproxytest: %q: %v", line, err)
	}
	return out
}

// Server is one row of `show servers state`, read by the fixture itself.
type Server struct {
	Addr   string
	Port   string
	Admin  int
	Op     int
	Wt     int
	Checks int // srv_check_state: 2 = configured, 4 = enabled
}

// State reads one server's row with the fixture's own minimal parser,
// failing t when it cannot or the server is not there.
func (i *Instance) State(t testing.TB, backend, server string) Server {
	t.Helper()
	s, found, err := i.Lookup(backend, server)
	switch {
	case err != nil:
		t.Fatalf("haproxytest: %v", err)
	case !found:
		t.Fatalf("haproxytest: server %s/%s not found", backend, server)
	}
	return s
}

// Lookup is State for a goroutine other than the test's (which may not
// fail t): found is false when the backend has no such server.
func (i *Instance) Lookup(backend, server string) (s Server, found bool, err error) {
	out, err := i.Raw("unix", i.AdminSock, "show servers state "+backend)
	if err != nil {
		return s, false, err
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "# ") {
		return s, false, fmt.Errorf("unexpected servers state: %q", out)
	}
	cols := strings.Fields(lines[1][2:])
	idx := map[string]int{}
	for n, c := range cols {
		idx[c] = n
	}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != len(cols) || f[idx["srv_name"]] != server {
			continue
		}
		s.Addr, s.Port = f[idx["srv_addr"]], f[idx["srv_port"]]
		for col, v := range map[string]*int{"srv_admin_state": &s.Admin, "srv_op_state": &s.Op, "srv_uweight": &s.Wt, "srv_check_state": &s.Checks} {
			if _, err := fmt.Sscan(f[idx[col]], v); err != nil {
				return s, true, fmt.Errorf("%s of %s/%s: %w", col, backend, server, err)
			}
		}
		return s, true, nil
	}
	return s, false, nil
}

// Placeholder is where the tests' slots are parked (server-template …
// 127.0.0.1:1).
const Placeholder = "127.0.0.1:1"

// Parked reports whether the row is a free slot: in maint, on Placeholder.
func (s Server) Parked() bool {
	return s.Admin&1 != 0 && s.Addr+":"+s.Port == Placeholder
}

// ExpectParked checks that every one of slots is parked (Server.Parked) on
// the instance; the error names each that is not, with its row.
func (i *Instance) ExpectParked(t testing.TB, backend string, slots ...string) error {
	t.Helper()
	var bad []string
	for _, slot := range slots {
		if s := i.State(t, backend, slot); !s.Parked() {
			bad = append(bad, fmt.Sprintf("%s/%s holds %+v", backend, slot, s))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: not parked on %s in maint: %s", i.AdminSock, Placeholder, strings.Join(bad, "; "))
	}
	return nil
}

// Has reports whether the backend has the server (a dynamic server added or
// deleted at run time), read with the fixture's own parser.
func (i *Instance) Has(t testing.TB, backend, server string) bool {
	t.Helper()
	for _, l := range strings.Split(i.Admin(t, "show servers state "+backend), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[1] == backend && f[3] == server {
			return true
		}
	}
	return false
}

// StillThereWhileRemoving is for tests of a removal that must wait for a
// request in flight. Run from a goroutine of its own while the removal
// runs, it waits until the removal has started (the server left rotation)
// and checks the server is still there then and hold later. It returns
// what went wrong, "" when nothing did; a removal that never started is
// wrong too, or the test would pass without testing anything.
func (i *Instance) StillThereWhileRemoving(backend, server string, hold time.Duration) string {
	var s Server
	var found bool
	var err error
	started := poll.For(20*time.Second, 10*time.Millisecond, func() bool {
		s, found, err = i.Lookup(backend, server)
		return err != nil || !found || s.Admin != 0
	})
	verdict := func() string {
		switch {
		case err != nil:
			return err.Error()
		case !found:
			return fmt.Sprintf("%s/%s was deleted while a request was in flight", backend, server)
		case !started:
			return fmt.Sprintf("the removal of %s/%s never started (it stayed %+v for 20s)", backend, server, s)
		}
		return ""
	}
	if v := verdict(); v != "" {
		return v
	}
	time.Sleep(hold) // the removal is under way: it has to wait for the request
	_, found, err = i.Lookup(backend, server)
	return verdict()
}

// DeleteServer takes a dynamic server out by hand, as an operator would:
// maint, then `del server`, retried for a few seconds because HAProxy
// refuses while a connection from recent traffic is still attached to the
// server. It fails t with HAProxy's last reply rather than leaving the
// server in place, so a test that edits by hand knows its edit happened.
func (i *Instance) DeleteServer(t testing.TB, backend, server string) {
	t.Helper()
	i.Admin(t, "set server "+backend+"/"+server+" state maint")
	var out string
	if !poll.For(5*time.Second, 20*time.Millisecond, func() bool {
		if out != "" {
			t.Logf("haproxytest: del server %s/%s refused (%q); trying again", backend, server, strings.TrimSpace(out))
		}
		out = i.Admin(t, "del server "+backend+"/"+server)
		return strings.Contains(out, "Server deleted.")
	}) {
		t.Fatalf("haproxytest: del server %s/%s: %q", backend, server, out)
	}
}

// WaitSession polls `show sess` until a session of server shows (a request
// the test started is being served by it), failing t after a few seconds:
// a test that needs a session in flight must not go on without one.
func (i *Instance) WaitSession(t testing.TB, server string) {
	t.Helper()
	if !poll.For(3*time.Second, 10*time.Millisecond, func() bool { return strings.Contains(i.Admin(t, "show sess"), server) }) {
		t.Fatalf("haproxytest: no session of %s showed in `show sess` within 3s", server)
	}
}

// WaitState polls the server's row until ok accepts it, failing t after a
// few seconds with the last row read. It is for checking a raw client write
// that nothing else confirmed: from HAProxy 2.9 on, an address change shows
// in `show servers state` only a moment after `set server … addr` replied.
func (i *Instance) WaitState(t testing.TB, backend, server string, ok func(Server) bool) Server {
	t.Helper()
	var s Server
	if !poll.For(3*time.Second, 5*time.Millisecond, func() bool { s = i.State(t, backend, server); return ok(s) }) {
		t.Fatalf("haproxytest: %s/%s never reached the expected state; last read %+v", backend, server, s)
	}
	return s
}

// FreeAddr returns 127.0.0.1:<a port that was free a moment ago>.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("haproxytest: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// PatternFile writes a map or ACL file that several instances of one test
// can load, as a fleet loads the same /etc/haproxy/hosts.map: the runtime
// API names a map by its file, so every instance must use the same path.
func PatternFile(t testing.TB, name, content string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "hxmap") //nolint:usetesting // short paths, as for sockets
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
