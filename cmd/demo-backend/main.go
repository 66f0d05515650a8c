// Command demo-backend is the tiny HTTP server `make demo` runs behind its
// throwaway HAProxy: it answers every request with its name, so the demo
// can show which backend HAProxy sent each request to. It only listens on
// loopback addresses.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "loopback address:port to listen on")
	name := flag.String("name", "backend", "name to answer with")
	flag.Parse()

	ap, err := netip.ParseAddrPort(*listen)
	if err != nil || !ap.Addr().IsLoopback() {
		fmt.Fprintf(os.Stderr, "demo-backend: -listen must be a loopback address:port (127.0.0.0/8 or [::1]), got %q\n", *listen)
		os.Exit(2)
	}
	l, err := net.Listen("tcp", ap.String())
	if err != nil {
		log.Fatalf("demo-backend: %v", err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = fmt.Fprintf(w, "hello from %s\n", *name)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	log.Fatal(srv.Serve(l))
}
