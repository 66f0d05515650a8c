// Command terraform-provider-haproxy serves the HAProxy runtime API provider.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/pprof"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/provider"
)

// version is set at build time by goreleaser (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run with support for debuggers such as delve")
	flag.Parse()
	quietFrameworkTrace()
	defer profileCPU()()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/haproxy-runtime/haproxy",
		Debug:   debug,
	})
	if err != nil {
		log.Print(err.Error())
		os.Exit(1) //nolint:gocritic // the profile of a failed serve is of no use
	}
}

// profileCPU writes a CPU profile of this plugin process to
// $HAPROXY_PROVIDER_CPUPROFILE.<pid> when that is set (the benchmark's
// profiles: Terraform starts the plugin, so no flag can reach it), and
// returns what stops it. Terraform stops a plugin by closing its gRPC
// server, so Serve returns and the profile is complete.
func profileCPU() (stop func()) {
	prefix := os.Getenv("HAPROXY_PROVIDER_CPUPROFILE")
	if prefix == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", prefix, os.Getpid()))
	if err != nil {
		log.Printf("cpu profile: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Printf("cpu profile: %v", err)
		_ = f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }
}

// quietFrameworkTrace gives the framework's own log the level the user asked
// Terraform for. Unset, terraform-plugin-log treats the level as "log
// everything": the framework then writes trace lines for every element of a
// collection in every plan (three per entry of a map attribute), which
// Terraform reads and drops. For a 10 000-entry haproxy_map that was about
// three quarters of the provider's CPU in a plan (pprof). The most specific
// setting wins, as in Terraform; with none, the framework's log is off.
func quietFrameworkTrace() {
	const framework = "TF_LOG_SDK_FRAMEWORK"
	if os.Getenv(framework) != "" {
		return
	}
	level := "OFF"
	for _, v := range []string{"TF_LOG_SDK", "TF_LOG_PROVIDER_HAPROXY", "TF_LOG_PROVIDER", "TF_LOG"} {
		if l := os.Getenv(v); l != "" {
			level = l
			break
		}
	}
	_ = os.Setenv(framework, level)
}
