// Command terraform-provider-haproxy serves the HAProxy runtime API provider.
package main

import (
	"context"
	"flag"
	"log"
	"os"

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

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/haproxy-runtime/haproxy",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
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
