//go:build bench

package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/localbuild"
)

// TestBenchRemote measures what reaching HAProxy over ssh:// costs against
// the same apply over unix://: N servers on one instance, applied and
// destroyed over each transport in turn, three times, in one run.
func TestBenchRemote(t *testing.T) {
	n := sizes(t, "BENCH_N", "100")[0]
	work := localbuild.Use(t, "..")
	inst := haproxytest.Start(t, haproxytest.Options{Slots: n, NoHealthChecks: true})
	sshd := haproxytest.StartSSHD(t)
	dirs := map[string]string{}
	for name, provider := range map[string]string{
		"unix": fmt.Sprintf("provider \"haproxy\" {\n  sockets = [%q]\n}\n", inst.UnixTarget()),
		"ssh": fmt.Sprintf("provider \"haproxy\" {\n  sockets = [%q]\n  ssh = {\n    private_key_file = %q\n    known_hosts_file = %q\n  }\n}\n",
			sshd.Target(inst.AdminSock), sshd.ClientKey, sshd.KnownHosts),
	} {
		var cfg strings.Builder
		cfg.WriteString("terraform {\n  required_providers {\n    haproxy = { source = \"haproxy-runtime/haproxy\" }\n  }\n}\n")
		cfg.WriteString(provider)
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&cfg, "resource \"haproxy_backend_server\" \"s%d\" {\n  backend = \"app\"\n  server  = \"websrv%d\"\n  address = \"127.0.0.1\"\n  port    = %d\n}\n", i, i, 20000+i)
		}
		dirs[name] = filepath.Join(work, name)
		writeFile(t, filepath.Join(dirs[name], "main.tf"), cfg.String())
	}
	applies := map[string][]time.Duration{}
	for round := 0; round < 3; round++ {
		for _, name := range []string{"unix", "ssh"} {
			applies[name] = append(applies[name], tf(t, dirs[name], nil, "apply", "-auto-approve", "-input=false"))
			checkApplied(t, []*haproxytest.Instance{inst}, n)
			tf(t, dirs[name], nil, "destroy", "-auto-approve", "-input=false")
		}
	}
	med := func(d []time.Duration) time.Duration { return slices.Sorted(slices.Values(d))[len(d)/2] }
	var b strings.Builder
	fmt.Fprintf(&b, "# Remote transport cost\n\nMeasured %s; %s; one instance, N = %d `haproxy_backend_server`, apply over each transport in turn, three rounds (medians).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), version("haproxy", "-v"), n)
	b.WriteString("| transport | apply (median of 3) | runs | ssh / unix |\n|---|---|---|---|\n")
	for _, name := range []string{"unix", "ssh"} {
		fmt.Fprintf(&b, "| %s | %s | %v | %.2f |\n", name, secs(med(applies[name])), applies[name], ratio(med(applies[name]), med(applies["unix"])))
	}
	fmt.Print("\n" + b.String())
	if os.Getenv("BENCH_OUT") == "" {
		if err := os.WriteFile("results-remote.md", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
