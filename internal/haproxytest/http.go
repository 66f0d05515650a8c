package haproxytest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// HTTPBackend is a real HTTP server on a loopback address that answers every
// request with its name, so traffic through HAProxy can be attributed.
type HTTPBackend struct {
	Name string
	Host string
	Port int
}

// StartHTTP starts an HTTPBackend on host (a loopback address) and a free
// port, stopped when t ends.
func StartHTTP(t testing.TB, name, host string) HTTPBackend {
	t.Helper()
	return serveHTTP(t, name, host, nil)
}

// StartHeldHTTP is StartHTTP whose every request waits until release is
// closed (or 30s pass) before it is answered: a request still in flight,
// for tests of draining and removal.
func StartHeldHTTP(t testing.TB, name, host string, release <-chan struct{}) HTTPBackend {
	t.Helper()
	return serveHTTP(t, name, host, release)
}

// StartHoldingHTTP is StartHTTP whose requests for /hold wait until release
// is closed (or 30s pass): one session held open while other requests are
// answered at once.
func StartHoldingHTTP(t testing.TB, name, host string, release <-chan struct{}) HTTPBackend {
	t.Helper()
	return serve(t, name, host, func(r *http.Request) <-chan struct{} {
		if r.URL.Path == "/hold" {
			return release
		}
		return nil
	})
}

func serveHTTP(t testing.TB, name, host string, release <-chan struct{}) HTTPBackend {
	t.Helper()
	return serve(t, name, host, func(*http.Request) <-chan struct{} { return release })
}

// serve answers every request with name, after what hold returns for it is
// closed (nil: at once).
func serve(t testing.TB, name, host string, hold func(*http.Request) <-chan struct{}) HTTPBackend {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if release := hold(r); release != nil {
				select {
				case <-release:
				case <-time.After(30 * time.Second):
				}
			}
			_, _ = io.WriteString(w, name)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("listener address %v is not TCP", l.Addr())
	}
	return HTTPBackend{Name: name, Host: host, Port: addr.Port}
}

// Hits sends n requests through the instance's frontend and counts which
// backend answered each; failures count under "error …".
func (i *Instance) Hits(n int) map[string]int {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	out := map[string]int{}
	for k := 0; k < n; k++ {
		resp, err := client.Get(i.FrontendURL() + "/")
		if err != nil {
			out["error "+err.Error()]++
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			out[fmt.Sprintf("error %d", resp.StatusCode)]++
			continue
		}
		out[string(body)]++
	}
	return out
}

// Get sends one request through the instance's frontend with the given
// Host header and path, and returns the status and body.
func (i *Instance) Get(host, path string) (int, string, error) {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, err := http.NewRequest(http.MethodGet, i.FrontendURL()+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, string(body), nil
}
