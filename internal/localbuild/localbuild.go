// Package localbuild lets tests and benchmarks run the real `terraform`
// (or `tofu`) command against the provider built from this checkout,
// through a CLI configuration with dev_overrides: no registry involved.
package localbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Build builds the provider from the module at root (with the given build
// tags) into dir/bin and returns a CLI configuration file that overrides
// haproxy-runtime/haproxy with it: point TF_CLI_CONFIG_FILE at it.
func Build(t testing.TB, root, dir string, tags ...string) string {
	t.Helper()
	bin := filepath.Join(dir, "bin")
	args := []string{"build", "-o", filepath.Join(bin, "terraform-provider-haproxy")}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	build := exec.Command("go", append(args, ".")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	rc := filepath.Join(dir, "terraformrc")
	conf := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"haproxy-runtime/haproxy\" = %q\n  }\n  direct {}\n}\n", bin)
	if err := os.WriteFile(rc, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return rc
}

// Use builds the provider into a new work directory, points
// TF_CLI_CONFIG_FILE at it for the rest of the test, and returns the work
// directory.
func Use(t testing.TB, root string) string {
	t.Helper()
	work := t.TempDir()
	t.Setenv("TF_CLI_CONFIG_FILE", Build(t, root, work))
	t.Setenv("CHECKPOINT_DISABLE", "1")
	t.Setenv("TF_IN_AUTOMATION", "1")
	return work
}

// Terraform is the command the acceptance tests run: TF_ACC_TERRAFORM_PATH
// when set (OpenTofu in CI), else `terraform` on PATH.
func Terraform() string {
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p
	}
	return "terraform"
}
