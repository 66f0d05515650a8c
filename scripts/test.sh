#!/usr/bin/env bash
# `make test`, the README's test command: unit, integration (real haproxy)
# and acceptance (real haproxy + real terraform) tests, once per supported
# HAProxy version, then the examples. HAPROXY_VERSION picks versions
# (`make test HAPROXY_VERSION=3.2`); each is fetched on first use by
# scripts/haproxy-version.sh and put first on PATH for its run.
#
# The suite runs under Terraform 1.16.4 (built from the Go module proxy on
# first use by scripts/terraform-bin.sh, about 4 minutes, then cached).
# TERRAFORM=<path> runs it under another Terraform instead (CI also runs it
# under 1.11, the oldest supported); TEST_PACKAGES narrows what runs (and
# then the examples, which need 1.14+, are not validated).
set -euo pipefail
cd "$(dirname "$0")/.."
versions=${HAPROXY_VERSION:-2.6 3.0 3.2 3.4}
packages=${TEST_PACKAGES:-./...}

tf=${TERRAFORM:-$(bash scripts/terraform-bin.sh)}
tf_version=$("$tf" version 2>/dev/null | sed -n 1p) # sed, not head: no SIGPIPE under pipefail
case "$tf_version" in
  "Terraform v"*) ;;
  *) echo "==> $tf is not a Terraform binary (it says: $tf_version)" >&2; exit 1 ;;
esac
# terraform on PATH (the acceptance framework, the examples) and the one
# the CLI tests run are this one. The tests fail when they find another
# (TF_ACC_TERRAFORM_WANT): tests of Terraform 1.14+ features skip only on
# an older CLI, so under 1.16 nothing may skip.
export PATH="$(dirname "$tf"):$PATH" TF_ACC_TERRAFORM_PATH="$tf" TF_ACC_TERRAFORM_WANT="${tf_version#Terraform v}"
echo "==> $tf_version ($tf)"

failed=()
for v in $versions; do
  if ! dir=$(bash scripts/haproxy-version.sh "$v"); then
    echo "==> HAProxy $v could not be installed" >&2
    failed+=("$v (not installed)")
    continue
  fi
  echo "==> HAProxy $v: $("$dir/haproxy" -v | sed -n 1p)"
  if ! PATH="$dir:$PATH" CI=${CI:-} TF_ACC=1 go test -count=1 -timeout 20m $packages; then
    failed+=("$v")
  fi
done
# The examples use Terraform 1.14+ blocks (list, action): validated with the
# whole suite only.
if [ -z "${TEST_PACKAGES:-}" ]; then
  bash scripts/validate-examples.sh
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "==> the suite failed on HAProxy: ${failed[*]}" >&2
  exit 1
fi
echo "==> the suite passed on HAProxy: $versions, under $tf_version"
