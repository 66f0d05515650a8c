package fleet

import (
	"slices"
	"testing"
)

func TestClosest(t *testing.T) {
	names := []string{"plain", "app", "staticlb", "off", "api"}
	for want, exp := range map[string][]string{
		"ap":     {"app", "api"},
		"APP":    {"app", "api"},
		"stat":   {"staticlb"},
		"zzzzzz": nil,
	} {
		if got := closest(want, names, 3); !slices.Equal(got, exp) {
			t.Errorf("closest(%q) = %v, want %v", want, got, exp)
		}
	}
}

func TestServerRanges(t *testing.T) {
	for _, tc := range []struct {
		names []string
		limit int
		want  string
	}{
		{[]string{"websrv1", "websrv2", "websrv3", "websrv10"}, 5, "websrv1–websrv10"},
		{[]string{"s1", "s2", "backup", "web7"}, 5, "s1–s2, backup, web7"},
		{[]string{"a", "b", "c"}, 2, "a, b, …"},
		{nil, 5, "none"},
	} {
		if got := serverRanges(tc.names, tc.limit); got != tc.want {
			t.Errorf("serverRanges(%v) = %q, want %q", tc.names, got, tc.want)
		}
	}
}
