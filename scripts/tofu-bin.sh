#!/usr/bin/env bash
# Prints the path of an OpenTofu binary: `tofu` on PATH, or else OpenTofu
# built from source fetched through the Go module proxy (no download site
# needed) and cached. Progress goes to stderr.
set -euo pipefail
# 1.12 is the first OpenTofu with resource identities (import { identity = … }).
version=${TOFU_VERSION:-v1.12.6}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-haproxy
tofu=$(command -v tofu || true)

if [ -z "$tofu" ]; then
  tofu="$cache/tofu-$version"
  if [ ! -x "$tofu" ]; then
    echo "==> building OpenTofu $version from the Go module proxy (cached in $cache)" >&2
    mkdir -p "$cache"
    dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@$version" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -n "$dir" ] || { echo "go mod download gave no directory for OpenTofu $version" >&2; exit 1; }
    work=$(mktemp -d)
    trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
    cp -r "$dir/." "$work/"
    chmod -R u+w "$work"
    # dev=no: report the release version, not "-dev".
    (cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags "-X github.com/opentofu/opentofu/version.dev=no" -o "$tofu.tmp" ./cmd/tofu) >&2
    mv "$tofu.tmp" "$tofu"
  fi
fi
echo "$tofu"
