package main

import (
	"os"
	"testing"
)

// The framework's log follows the most specific level the user set, and is
// off when none is: unset, terraform-plugin-log would log everything.
func TestQuietFrameworkTrace(t *testing.T) {
	vars := []string{"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PROVIDER_HAPROXY", "TF_LOG_SDK", "TF_LOG_SDK_FRAMEWORK"}
	for _, v := range vars {
		t.Setenv(v, "") // restored after the test
	}
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "OFF"},
		{map[string]string{"TF_LOG": "DEBUG"}, "DEBUG"},
		{map[string]string{"TF_LOG": "DEBUG", "TF_LOG_PROVIDER": "INFO"}, "INFO"},
		{map[string]string{"TF_LOG_PROVIDER": "INFO", "TF_LOG_SDK": "TRACE"}, "TRACE"},
		{map[string]string{"TF_LOG": "DEBUG", "TF_LOG_SDK_FRAMEWORK": "WARN"}, "WARN"},
	} {
		for _, v := range vars {
			if c.env[v] == "" {
				_ = os.Unsetenv(v)
			} else {
				t.Setenv(v, c.env[v])
			}
		}
		quietFrameworkTrace()
		if got := os.Getenv("TF_LOG_SDK_FRAMEWORK"); got != c.want {
			t.Errorf("%v: TF_LOG_SDK_FRAMEWORK = %q, want %q", c.env, got, c.want)
		}
	}
}
