//go:build bench

package bench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/certpem"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleet"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/localbuild"
)

// TestBenchCerts times a certificate rotation on BENCH_CERT_K instances
// (default 3), each serving the store on a TLS frontend of its own: the
// socket work alone (fleet.SetCertificate: pre-flight, set and read back
// everywhere, commit everywhere; median of 3), the shell workflow it
// replaces (one socat process per command per instance: set, then commit,
// nothing checked), and end to end through terraform against
// terraform_data holding the same certificate (create, plan with nothing
// changed, rotation; one round each). Every rotation is checked by a TLS
// handshake with every instance.
func TestBenchCerts(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Fatal("socat is not on PATH (make bench installs it)")
	}
	k := sizes(t, "BENCH_CERT_K", "3")[0]
	_, files := haproxytest.CertStores(t, "site")
	file := files[0]
	var sockets, addrs []string
	for i := 0; i < k; i++ {
		inst := haproxytest.Start(t, haproxytest.Options{NoHealthChecks: true, CertStores: files})
		sockets = append(sockets, inst.UnixTarget())
		addrs = append(addrs, inst.CertFrontends[file])
	}
	issue := func(cn string) (cert, key string, chain certpem.Chain) {
		c, kk, _ := haproxytest.SelfSigned(t, cn)
		chain, err := certpem.ParseChain(string(c))
		if err != nil {
			t.Fatal(err)
		}
		return string(c), string(kk), chain
	}
	servedEverywhere := func(chain certpem.Chain) {
		for _, addr := range addrs {
			if got := haproxytest.ServedSerial(t, addr); got != chain.Serial() {
				t.Fatalf("%s serves %s, want %s", addr, got, chain.Serial())
			}
		}
	}

	f, err := fleet.New(sockets, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	var socket []time.Duration
	var trips uint64
	for i := range 3 {
		cert, key, chain := issue(fmt.Sprintf("fleet-%d", i))
		before := f.RoundTrips()
		start := time.Now()
		out, err := f.SetCertificate(context.Background(), fleet.Certificate{File: file, PEM: cert + key, SHA1: chain.SHA1()})
		socket = append(socket, time.Since(start))
		if err != nil || len(out.Committed) != k {
			t.Fatalf("rotation %d: %v (committed on %d of %d)", i, err, len(out.Committed), k)
		}
		trips = f.RoundTrips() - before
		servedEverywhere(chain)
	}

	work := localbuild.Use(t, "..")
	cert, key, chain := issue("socat")
	pemFile := filepath.Join(work, "socat.pem")
	writeFile(t, pemFile, cert+key)
	var sh strings.Builder
	for _, s := range sockets {
		addr := "unix-connect:" + strings.TrimPrefix(s, "unix://")
		fmt.Fprintf(&sh, "{ echo 'set ssl cert %s <<'; cat %s; echo; } | socat stdio %s >/dev/null\n", file, pemFile, addr)
		fmt.Fprintf(&sh, "echo 'commit ssl cert %s' | socat stdio %s >/dev/null\n", file, addr)
	}
	script := filepath.Join(work, "socat-cert.sh")
	writeFile(t, script, sh.String())
	start := time.Now()
	if out, err := exec.Command("bash", script).CombinedOutput(); err != nil {
		t.Fatalf("socat workflow: %v\n%s", err, out)
	}
	socatTime := time.Since(start)
	servedEverywhere(chain)

	floor, prov := filepath.Join(work, "cert-floor"), filepath.Join(work, "cert-prov")
	type e2e struct{ apply, plan, rotate time.Duration }
	run := func(dir string, cfg func(cert, key string, version int) string, check func(certpem.Chain)) e2e {
		var r e2e
		c1, k1, ch1 := issue("tf-1")
		writeFile(t, filepath.Join(dir, "main.tf"), cfg(c1, k1, 1))
		r.apply = tf(t, dir, nil, "apply", "-auto-approve", "-input=false")
		check(ch1)
		r.plan = tf(t, dir, nil, "plan", "-input=false", "-detailed-exitcode")
		c2, k2, ch2 := issue("tf-2")
		writeFile(t, filepath.Join(dir, "main.tf"), cfg(c2, k2, 2))
		r.rotate = tf(t, dir, nil, "apply", "-auto-approve", "-input=false")
		check(ch2)
		return r
	}
	fl := run(floor, func(cert, key string, _ int) string {
		return fmt.Sprintf("resource \"terraform_data\" \"site\" {\n  input = { file = %q, certificate = %q, key = %q }\n}\n", file, cert, key)
	}, func(certpem.Chain) {})
	pr := run(prov, func(cert, key string, version int) string {
		return "terraform {\n  required_providers {\n    haproxy = { source = \"haproxy-runtime/haproxy\" }\n  }\n}\n" +
			fmt.Sprintf("provider \"haproxy\" {\n  sockets = [%s]\n}\n", quote(sockets)) +
			fmt.Sprintf("resource \"haproxy_ssl_certificate\" \"site\" {\n  file = %q\n  certificate = %q\n  private_key_wo = %q\n  private_key_wo_version = %d\n}\n",
				file, cert, key, version)
	}, servedEverywhere)

	var b strings.Builder
	fmt.Fprintf(&b, "\n## Certificate rotation on %d instances (HAProxy %s, measured %s)\n\n", k, haproxytest.Version(t), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Socket work only (`fleet.SetCertificate`: pre-flight, set and read back, commit, on every instance): median %s of %s, %s, %s; "+
		"%d connections per rotation. The shell workflow (socat: set, then commit, per instance, nothing checked): %s (%.2f × the socket work).\n\n",
		ms(median(socket)), ms(socket[0]), ms(socket[1]), ms(socket[2]), trips, ms(socatTime), ratio(socatTime, median(socket)))
	writeFloorTable(&b, "haproxy_ssl_certificate", []floorRow{{"apply (create)", fl.apply, pr.apply}, {"plan (nothing changed)", fl.plan, pr.plan}, {"apply, rotation", fl.rotate, pr.rotate}})
	saveSection(t, b.String())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
