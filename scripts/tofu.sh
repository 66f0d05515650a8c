#!/usr/bin/env bash
# `make testacc-tofu`: the acceptance suite against OpenTofu. When no `tofu`
# is on PATH, OpenTofu is built from source fetched through the Go module
# proxy (no download site needed) and cached.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# 1.12 is the first OpenTofu with resource identities (import { identity = … }).
version=${TOFU_VERSION:-v1.12.6}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-haproxy
tofu=$(command -v tofu || true)

if [ -z "$tofu" ]; then
  tofu="$cache/tofu-$version"
  if [ ! -x "$tofu" ]; then
    echo "==> building OpenTofu $version from the Go module proxy (cached in $cache)"
    mkdir -p "$cache"
    dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@$version" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -n "$dir" ] || { echo "go mod download gave no directory for OpenTofu $version" >&2; exit 1; }
    work=$(mktemp -d)
    trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
    cp -r "$dir/." "$work/"
    chmod -R u+w "$work"
    # dev=no: report the release version, not "-dev".
    (cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags "-X github.com/opentofu/opentofu/version.dev=no" -o "$tofu.tmp" ./cmd/tofu)
    mv "$tofu.tmp" "$tofu"
  fi
fi
# OpenTofu reads TF_CLI_CONFIG_FILE; it must point at a file that exists.
rc=$(mktemp)
export TF_CLI_CONFIG_FILE="$rc"
echo "==> $("$tofu" version | head -1)"

export TF_ACC=1 CHECKPOINT_DISABLE=1 \
  TF_ACC_TERRAFORM_PATH="$tofu" \
  TF_ACC_PROVIDER_HOST=registry.opentofu.org \
  TF_ACC_PROVIDER_NAMESPACE=haproxy-runtime
cd "$root"
status=0
go test -count=1 -timeout 20m ./internal/provider/ || status=$?
rm -f "$rc"
exit $status
