package guides_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/guides"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/localbuild"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/poll"
)

// Every guide runs as an operator would copy it: the HAProxy configurations
// it shows are started as they are, the Terraform configurations are
// applied with this build through the real CLI, and traffic goes through
// the frontends after each step. Only the directories /run/haproxy and
// /etc/haproxy are moved into the test's own (everything else is
// verbatim), so the test needs no root and leaves nothing behind.
func TestGuidesRunAsWritten(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TF_ACC is not set but CI is: the guides must run in CI (use `make test`)")
		}
		t.Skip("runs the guides through terraform: set TF_ACC=1 (make test does)")
	}
	if _, err := exec.LookPath(localbuild.Terraform()); err != nil {
		t.Fatalf("%s is not on PATH", localbuild.Terraform())
	}
	bin := haproxytest.Binary(t)
	files, err := filepath.Glob("../../docs/guides/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no guides found: %v", err)
	}
	ran := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		steps, err := guides.Parse(string(raw))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(steps) == 0 {
			continue
		}
		ran++
		t.Run(strings.TrimSuffix(filepath.Base(file), ".md"), func(t *testing.T) {
			g := &guide{t: t, bin: bin, root: t.TempDir(), procs: map[string]*proc{}}
			g.work = localbuild.Use(t, "../..")
			for _, st := range steps {
				g.run(st)
			}
		})
	}
	if ran == 0 {
		t.Fatal("no guide marks a runnable step: the guides are not tested")
	}
}

// Every Terraform block of every guide, the fragments a guide shows but
// does not run included, is valid HCL as `terraform fmt` writes it: an
// operator who copies one gets no syntax error and no formatting diff.
func TestGuideTerraformBlocksAreFormatted(t *testing.T) {
	tf, err := exec.LookPath(localbuild.Terraform())
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not on PATH", localbuild.Terraform())
		}
		t.Skip("needs terraform on PATH")
	}
	files, _ := filepath.Glob("../../docs/guides/*.md")
	checked := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range guides.Blocks(string(raw), "terraform") {
			checked++
			cmd := exec.Command(tf, "fmt", "-")
			cmd.Stdin = strings.NewReader(b.Body)
			var stderr strings.Builder
			cmd.Stderr = &stderr // warnings about the CLI configuration are not the block's
			out, err := cmd.Output()
			switch {
			case err != nil:
				t.Errorf("%s:%d: terraform fmt: %v\n%s", filepath.Base(file), b.Line, err, stderr.String())
			case string(out) != b.Body:
				t.Errorf("%s:%d: not formatted as terraform fmt writes it:\n%s", filepath.Base(file), b.Line, out)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no terraform block found in the guides")
	}
}

type guide struct {
	t     *testing.T
	bin   string
	root  string // stands in for / where the guide names /run/haproxy or /etc/haproxy
	work  string // the Terraform working directory's parent (localbuild)
	procs map[string]*proc
}

// proc is one running HAProxy of the guide.
type proc struct {
	cfg    string // as localised
	path   string
	cmd    *exec.Cmd
	stderr *strings.Builder
}

// local moves the guide's system paths under the test's directory.
func (g *guide) local(text string) string {
	for _, dir := range []string{"/run/haproxy", "/etc/haproxy", "/var/lib/haproxy"} {
		text = strings.ReplaceAll(text, dir, filepath.Join(g.root, dir))
	}
	return text
}

func (g *guide) run(st guides.Step) {
	t := g.t
	t.Logf("line %d: %s %s", st.Line, st.Kind, strings.Join(st.Args, " "))
	switch st.Kind {
	case "haproxy":
		g.startHAProxy(st.Args[0], g.local(st.Body))
	case "file":
		g.write(g.local(st.Args[0]), g.local(st.Body))
	case "empty-file":
		g.write(g.local(st.Args[0]), "")
	case "serve":
		g.serve(st.Args[0], st.Args[1])
	case "apply", "reapply":
		if st.Kind == "apply" {
			g.write(filepath.Join(g.work, "tf", "main.tf"), g.local(st.Body))
		}
		g.terraform(st, "apply", "-auto-approve", "-input=false")
		if out, code := g.terraformCode("plan", "-detailed-exitcode", "-input=false"); code != 0 {
			t.Fatalf("line %d: the plan after apply is not empty (exit %d):\n%s", st.Line, code, out)
		}
	case "destroy":
		g.terraform(st, "destroy", "-auto-approve", "-input=false")
	case "plan-empty":
		if out, code := g.terraformCode("plan", "-detailed-exitcode", "-input=false"); code != 0 {
			t.Fatalf("line %d: the plan is not empty (exit %d):\n%s", st.Line, code, out)
		}
	case "plan-changes":
		if out, code := g.terraformCode("plan", "-detailed-exitcode", "-input=false"); code != 2 {
			t.Fatalf("line %d: the plan shows no change (exit %d, want 2):\n%s", st.Line, code, out)
		}
	case "shell":
		g.shell(st)
	case "invoke":
		g.terraform(st, "apply", "-auto-approve", "-input=false", "-invoke="+st.Args[0])
	case "stop", "start":
		p, ok := g.procs[st.Args[0]]
		if !ok {
			t.Fatalf("line %d: %s %s: no such instance in the guide", st.Line, st.Kind, st.Args[0])
		}
		g.stop(p)
		if st.Kind == "start" {
			g.launch(st.Args[0], p)
		}
	case "reload":
		g.reload(st.Args[0])
	case "expect":
		g.expect(st)
	case "expect-cert":
		g.expectCert(st)
	default:
		t.Fatalf("line %d: step %q has no runner", st.Line, st.Kind)
	}
}

func (g *guide) write(path, content string) {
	g.t.Helper()
	if !filepath.IsAbs(path) {
		path = filepath.Join(g.root, path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		g.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		g.t.Fatal(err)
	}
}

var statsSocket = regexp.MustCompile(`(?m)^\s*stats socket (/\S+)`)

// tcpStatsSocket is a stats socket on a loopback TCP port.
var tcpStatsSocket = regexp.MustCompile(`(?m)^\s*stats socket ipv4@(127\.[0-9.]+:[0-9]+)`)

// startHAProxy checks and starts one configuration as the guide shows it
// (in the foreground, stopped when the test ends) and waits until every
// unix stats socket it declares answers.
func (g *guide) startHAProxy(name, cfg string) {
	t := g.t
	path := filepath.Join(g.root, "etc", "haproxy", name+".cfg")
	g.write(path, cfg)
	for _, m := range statsSocket.FindAllStringSubmatch(cfg, -1) {
		if err := os.MkdirAll(filepath.Dir(m[1]), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if m := stateFile.FindStringSubmatch(cfg); m != nil {
		if err := os.MkdirAll(filepath.Dir(m[1]), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(g.bin, "-c", "-f", path).CombinedOutput(); err != nil || strings.Contains(string(out), "[WARNING]") {
		t.Fatalf("haproxy -c of %s (as the guide shows it): %v\n%s", name, err, out)
	}
	p := &proc{cfg: cfg, path: path}
	g.launch(name, p)
	g.procs[name] = p
	t.Cleanup(func() { g.stop(p) })
}

func (g *guide) launch(name string, p *proc) {
	t := g.t
	p.cmd = exec.Command(g.bin, "-db", "-f", p.path)
	p.stderr = &strings.Builder{}
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var sockets [][2]string // network, address
	for _, m := range statsSocket.FindAllStringSubmatch(p.cfg, -1) {
		sockets = append(sockets, [2]string{"unix", m[1]})
	}
	for _, m := range tcpStatsSocket.FindAllStringSubmatch(p.cfg, -1) {
		sockets = append(sockets, [2]string{"tcp", m[1]})
	}
	for _, sock := range sockets {
		var err error
		if !poll.For(10*time.Second, 50*time.Millisecond, func() bool {
			var c net.Conn
			if c, err = net.Dial(sock[0], sock[1]); err == nil {
				_ = c.Close()
			}
			return err == nil
		}) {
			t.Fatalf("%s: %s does not answer: %v\n%s", name, sock[1], err, p.stderr.String())
		}
	}
}

func (g *guide) stop(p *proc) {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

var stateFile = regexp.MustCompile(`(?m)^\s*server-state-file (/\S+)`)

// reload does what the guide's reload block does: dump `show servers
// state` through the first stats socket into the server-state-file, then
// replace the process by a new one from the same configuration (what
// `systemctl reload` does to the workers).
func (g *guide) reload(name string) {
	t := g.t
	p, ok := g.procs[name]
	if !ok {
		t.Fatalf("reload %s: no such instance in the guide", name)
	}
	sock := statsSocket.FindStringSubmatch(p.cfg)
	file := stateFile.FindStringSubmatch(p.cfg)
	if sock == nil || file == nil {
		t.Fatalf("reload %s: the configuration has no stats socket or no server-state-file", name)
	}
	c, err := net.Dial("unix", sock[1])
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "show servers state\n"); err != nil {
		t.Fatal(err)
	}
	dump, err := io.ReadAll(c)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	g.write(file[1], string(dump))
	g.stop(p)
	g.launch(name, p)
}

// shell runs a shell block of the guide as an operator pastes it, with the
// guide's system paths moved as everywhere else, from the test's root.
func (g *guide) shell(st guides.Step) {
	for _, dir := range []string{"/run/haproxy", "/etc/haproxy", "/var/lib/haproxy"} {
		if err := os.MkdirAll(g.local(dir), 0o755); err != nil {
			g.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", g.local(st.Body))
	cmd.Dir = g.root
	if out, err := cmd.CombinedOutput(); err != nil {
		g.t.Fatalf("line %d: the shell block failed: %v\n%s", st.Line, err, out)
	}
}

// serve answers every request at addr (loopback only) with name.
func (g *guide) serve(addr, name string) {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		g.t.Fatalf("serve %s: guides serve on loopback only", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		g.t.Fatalf("serve %s: %v", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprint(w, name) }), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	g.t.Cleanup(func() { _ = srv.Close() })
}

func (g *guide) terraformCode(args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, localbuild.Terraform(), append(args, "-no-color")...)
	cmd.Dir = filepath.Join(g.work, "tf")
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		g.t.Fatalf("terraform %s: %v", args[0], err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

func (g *guide) terraform(st guides.Step, args ...string) {
	if out, code := g.terraformCode(args...); code != 0 {
		g.t.Fatalf("line %d: terraform %s: exit %d\n%s", st.Line, args[0], code, out)
	}
}

// expect sends requests to the URL until the answers seen are exactly the
// names given ("503": no server available), bounded in count and time.
func (g *guide) expect(st guides.Step) {
	url, names := st.Args[0], st.Args[1:]
	var host string
	if h, ok := strings.CutPrefix(names[0], "host="); ok {
		host, names = h, names[1:]
	}
	want := slices.Sorted(slices.Values(names))
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	var seen []string
	for round := 0; round < 30; round++ {
		got := map[string]bool{}
		for range 20 {
			req, err := http.NewRequest(http.MethodGet, url, nil)
			if err != nil {
				g.t.Fatal(err)
			}
			if host != "" {
				req.Host = host
			}
			resp, err := client.Do(req)
			if err != nil {
				got["error: "+err.Error()] = true
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				got[strings.TrimSpace(string(body))] = true
			} else {
				got[fmt.Sprint(resp.StatusCode)] = true
			}
		}
		seen = seen[:0]
		for k := range got {
			seen = append(seen, k)
		}
		sort.Strings(seen)
		if slices.Equal(seen, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !slices.Equal(seen, want) {
		g.t.Fatalf("line %d: %s answered %q, the guide promises %q", st.Line, url, seen, want)
	}
}

// expectCert makes TLS handshakes with the address (loopback only) until
// it serves the first certificate of the file given (as the guide names
// it), for at most 10 seconds.
func (g *guide) expectCert(st guides.Step) {
	addr, file := st.Args[0], g.local(st.Args[1])
	if host, _, err := net.SplitHostPort(addr); err != nil || net.ParseIP(host) == nil || !net.ParseIP(host).IsLoopback() {
		g.t.Fatalf("line %d: expect-cert %s: guides connect to loopback only", st.Line, addr)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		g.t.Fatalf("line %d: %v", st.Line, err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		g.t.Fatalf("line %d: %s does not start with a certificate", st.Line, st.Args[1])
	}
	want, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		g.t.Fatalf("line %d: %v", st.Line, err)
	}
	var served string
	if !poll.For(10*time.Second, 200*time.Millisecond, func() bool {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reads what is served, trusts nothing
		if err != nil {
			served = err.Error()
			return false
		}
		defer func() { _ = conn.Close() }()
		leaf := conn.ConnectionState().PeerCertificates[0]
		served = fmt.Sprintf("%s (serial %X)", leaf.Subject, leaf.SerialNumber)
		return bytes.Equal(leaf.Raw, want.Raw)
	}) {
		g.t.Fatalf("line %d: %s serves %s, the guide promises %s (serial %X)", st.Line, addr, served, st.Args[1], want.SerialNumber)
	}
}
