package fleet_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/fleettest"
	"github.com/haproxy-runtime/terraform-provider-haproxy/internal/haproxytest"
)

// One case per pre-flight reason: a healthy instance B and a second socket
// that fails for that reason. The write must be refused, the error must name
// the failing socket, and B must be unchanged.
func TestPreflightFailuresWriteNothing(t *testing.T) {
	extra := func(cfg string) haproxytest.Options { return haproxytest.Options{ExtraConfig: cfg} }
	b := haproxytest.Start(t, extra("backend extra\n    server e1 127.0.0.1:1 disabled\n"))
	dead := "unix:///tmp/no-such-haproxy-" + fmt.Sprint(time.Now().UnixNano()) + ".sock"
	cases := []struct {
		name   string
		socket func() string
		want   string
	}{
		{"unreachable", func() string { return dead }, "connect"},
		{"user level", func() string { return "unix://" + b.UserSock }, `level is "user"`},
		{"missing backend", func() string { return haproxytest.Start(t).UnixTarget() }, `backend "extra" does not exist`},
		{"missing server", func() string {
			return haproxytest.Start(t, extra("backend extra\n    server e2 127.0.0.1:1 disabled\n")).TCPTarget()
		}, `has no server "e1"`},
		{"no inet address", func() string {
			return haproxytest.Start(t, extra("backend extra\n    server e1 doesnotexist.invalid:80 init-addr none disabled\n")).UnixTarget()
		}, "has no IP address"},
		{"disabled backend", func() string {
			return haproxytest.Start(t, extra("backend extra\n    disabled\n    server e1 127.0.0.1:1\n")).UnixTarget()
		}, "is disabled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := tc.socket()
			f := fleettest.New(t, b.UnixTarget(), bad)
			views, _, err := f.Preflight(context.Background(), "extra", "e1")
			if err == nil || views != nil {
				t.Fatalf("pre-flight passed: %+v", views)
			}
			if !strings.Contains(err.Error(), f.Name(bad)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not name %s and say %q: %v", bad, tc.want, err)
			}
			if s := b.State(t, "extra", "e1"); s.Addr != "127.0.0.1" || s.Port != "1" || s.Admin != 5 {
				t.Fatalf("healthy instance changed: %+v", s)
			}
		})
	}
}
