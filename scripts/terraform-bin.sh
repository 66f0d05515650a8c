#!/usr/bin/env bash
# Prints the path of a Terraform binary of TERRAFORM_VERSION (default
# v1.16.4, the newest the Go module proxy serves): the `terraform` on PATH
# when it is that version, or else Terraform built from source fetched
# through the Go module proxy (no download site needed) and cached.
# Progress goes to stderr. About 3.5 minutes on 2 cores the first time.
set -euo pipefail
version=${TERRAFORM_VERSION:-v1.16.4}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-haproxy
bin="$cache/terraform-$version/terraform"

onpath=$(command -v terraform || true)
# First lines by sed, not head or grep -q: an early exit would SIGPIPE the
# writer, which pipefail turns into a failure.
first_line() { "$1" version 2>/dev/null | sed -n 1p; }
if [ -n "$onpath" ] && [ "$(first_line "$onpath")" = "Terraform ${version}" ]; then
  echo "$onpath"
  exit 0
fi
if [ ! -x "$bin" ]; then
  echo "==> building Terraform $version from the Go module proxy (cached in $cache)" >&2
  mkdir -p "$(dirname "$bin")"
  dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/hashicorp/terraform@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { echo "go mod download gave no directory for Terraform $version" >&2; exit 1; }
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  # The module zip lacks the nested modules that go.mod replaces with local
  # folders (the cloud state backends and internal/legacy, which only they
  # use). Drop them from go.mod and from the backend table; local, remote,
  # cloud, http and inmem stay.
  mods=$(sed -n 's|^replace \(github.com/hashicorp/terraform/internal/[^ ]*\) => \./.*|\1|p' "$work/go.mod")
  [ -n "$mods" ] || { echo "Terraform $version: no local replace lines in go.mod (layout changed?)" >&2; exit 1; }
  init="$work/internal/backend/init/init.go"
  for m in $mods; do
    (cd "$work" && go mod edit -dropreplace="$m" -droprequire="$m")
    alias=$(sed -n "s|^[[:space:]]*\([A-Za-z0-9_]*\) \"$m\"$|\1|p" "$init")
    [ -n "$alias" ] || continue # internal/legacy is not imported there
    sed -i -e "\|^[[:space:]]*$alias \"$m\"$|d" -e "/return $alias\.New()/d" "$init"
  done
  (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
    -ldflags "-X github.com/hashicorp/terraform/version.dev=no" -o "$bin.tmp" .) >&2
  [ "$(first_line "$bin.tmp")" = "Terraform ${version}" ] ||
    { echo "the Terraform built does not report $version: $(first_line "$bin.tmp")" >&2; exit 1; }
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
