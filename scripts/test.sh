#!/usr/bin/env bash
# `make test`, the README's test command: unit, integration (real haproxy)
# and acceptance (real haproxy + real terraform) tests, once per supported
# HAProxy version, then the examples. HAPROXY_VERSION picks versions
# (`make test HAPROXY_VERSION=3.2`); each is fetched on first use by
# scripts/haproxy-version.sh and put first on PATH for its run.
set -euo pipefail
cd "$(dirname "$0")/.."
versions=${HAPROXY_VERSION:-2.6 3.0 3.2 3.4}

failed=()
for v in $versions; do
  if ! dir=$(bash scripts/haproxy-version.sh "$v"); then
    echo "==> HAProxy $v could not be installed" >&2
    failed+=("$v (not installed)")
    continue
  fi
  echo "==> HAProxy $v: $("$dir/haproxy" -v | head -1)"
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
