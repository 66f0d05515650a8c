#!/usr/bin/env bash
# `make testacc-tofu`: the acceptance suite against OpenTofu (see
# tofu-bin.sh for where it comes from). TOFU_RUN narrows it to the tests it
# matches (go test -run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tofu=$(bash "$root/scripts/tofu-bin.sh")
# OpenTofu reads TF_CLI_CONFIG_FILE; it must point at a file that exists.
rc=$(mktemp)
export TF_CLI_CONFIG_FILE="$rc"
echo "==> $("$tofu" version | sed -n 1p)"

export TF_ACC=1 CHECKPOINT_DISABLE=1 \
  TF_ACC_TERRAFORM_PATH="$tofu" \
  TF_ACC_PROVIDER_HOST=registry.opentofu.org \
  TF_ACC_PROVIDER_NAMESPACE=haproxy-runtime
cd "$root"
status=0
go test -count=1 -timeout 20m -run "${TOFU_RUN:-.}" ./internal/provider/ || status=$?
rm -f "$rc"
exit $status
