// Command terraform-provider-haproxy serves the HAProxy runtime API provider.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/provider"
)

// version is set at build time by goreleaser (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run with support for debuggers such as delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/haproxy-runtime/haproxy",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
