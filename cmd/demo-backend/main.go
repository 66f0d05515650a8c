// Command demo-backend is the tiny HTTP server `make demo` runs behind its
// throwaway HAProxy: it answers every request with "hello from NAME", so the
// demo can show which backend HAProxy sent each request to.
//
//	demo-backend -listen 127.0.0.1:8081 -name alpha
//
// It only listens on loopback addresses (127.0.0.0/8 or ::1) and exits with
// status 2 when asked to listen anywhere else. Standard library only.
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
	listen := flag.String("listen", "127.0.0.1:8081", "loopback `address:port` to listen on (127.0.0.0/8 or [::1])")
	name := flag.String("name", "backend", "`name` to answer with")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "demo-backend: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}

	ap, err := netip.ParseAddrPort(*listen)
	if err != nil || !ap.Addr().IsLoopback() {
		fmt.Fprintf(os.Stderr, "demo-backend: refusing to listen on %q: -listen must be a loopback IP and port "+
			"(127.0.0.0/8 or [::1], e.g. 127.0.0.1:8081)\n", *listen)
		os.Exit(2)
	}
	l, err := net.Listen("tcp", ap.String())
	if err != nil {
		log.Fatalf("demo-backend: %v", err)
	}
	log.Printf("demo-backend %q listening on http://%s/", *name, l.Addr())
	answer := []byte("hello from " + *name + "\n")
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write(answer)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	log.Fatal(srv.Serve(l))
}
