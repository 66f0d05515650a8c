package haproxy

import (
	"slices"
	"testing"
)

func TestShortNames(t *testing.T) {
	for _, tc := range []struct {
		targets, want []string
	}{
		{[]string{"unix:///run/haproxy/lb1.sock", "unix:///run/haproxy/lb2.sock"}, []string{"lb1.sock", "lb2.sock"}},
		// Same file name in two directories: the directory tells them apart.
		{[]string{"unix:///run/a/admin.sock", "unix:///run/b/admin.sock", "tcp://127.0.0.1:9999"},
			[]string{"a/admin.sock", "b/admin.sock", "127.0.0.1:9999"}},
		// Same directory name too: only the full form tells them apart.
		{[]string{"unix:///x/run/admin.sock", "unix:///y/run/admin.sock"},
			[]string{"unix:///x/run/admin.sock", "unix:///y/run/admin.sock"}},
		{[]string{"tls://lb1.example.com:9443", "ssh://ops@lb2.example.com:22/run/haproxy/admin.sock",
			"master+unix:///run/haproxy-master.sock"},
			[]string{"lb1.example.com:9443", "lb2.example.com:22/admin.sock", "master+haproxy-master.sock"}},
		// A tcp and a tls socket on one address keep their scheme.
		{[]string{"tcp://10.0.0.1:9999", "tls://10.0.0.1:9999"}, []string{"tcp://10.0.0.1:9999", "tls://10.0.0.1:9999"}},
		{[]string{"unix:///admin.sock"}, []string{"admin.sock"}},
	} {
		if got := ShortNames(tc.targets); !slices.Equal(got, tc.want) {
			t.Errorf("ShortNames(%q) = %q, want %q", tc.targets, got, tc.want)
		}
	}
}
