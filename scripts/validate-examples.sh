#!/usr/bin/env bash
# Runs `terraform validate` on every example against the locally built
# provider (dev_overrides: no registry, no network).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/bin/terraform-provider-haproxy" "$root"
cat > "$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "haproxy-runtime/haproxy" = "$work/bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc" CHECKPOINT_DISABLE=1

status=0
if ! terraform fmt -check -recursive "$root/examples" >/dev/null; then
  echo "FAIL terraform fmt -check: run 'terraform fmt -recursive examples/'"
  terraform fmt -check -recursive "$root/examples" || true
  status=1
fi
while IFS= read -r dir; do
  rel=${dir#"$root"/}
  tmp="$work/$(echo "$rel" | tr / _)"
  mkdir -p "$tmp"
  cp "$dir"/*.tf "$tmp"/ 2>/dev/null || true
  cp "$dir"/*.tfquery.hcl "$tmp"/ 2>/dev/null || true
  # Identity imports need Terraform/OpenTofu 1.12+: validated below.
  rm -f "$tmp/import-with-identity.tf"
  # Examples omit the required_providers block the registry would infer.
  if ! grep -qs required_providers "$tmp"/*.tf; then
    printf 'terraform {\n  required_providers {\n    haproxy = { source = "haproxy-runtime/haproxy" }\n  }\n}\n' > "$tmp/zz_providers.tf"
  fi
  # -query validates the list blocks too (Terraform 1.14+, as make test runs).
  if out=$(terraform -chdir="$tmp" validate -query -no-color 2>&1); then
    echo "ok   $rel"
  else
    echo "FAIL $rel"; echo "$out"; status=1
  fi
done < <(find "$root/examples" \( -name '*.tf' -o -name '*.tfquery.hcl' \) -exec dirname {} \; | sort -u)

# `import { identity = … }` needs 1.12+, which the Terraform here predates:
# each identity import is validated with OpenTofu 1.12 beside its resource.
tofu=$(bash "$root/scripts/tofu-bin.sh")
while IFS= read -r file; do
  dir=$(dirname "$file")
  rel=${file#"$root"/}
  tmp="$work/identity_$(basename "$dir")"
  mkdir -p "$tmp"
  cp "$dir/resource.tf" "$file" "$tmp"/
  printf 'terraform {\n  required_providers {\n    haproxy = { source = "haproxy-runtime/haproxy" }\n  }\n}\n' > "$tmp/zz_providers.tf"
  if out=$("$tofu" -chdir="$tmp" validate -no-color 2>&1); then
    echo "ok   $rel (OpenTofu)"
  else
    echo "FAIL $rel (OpenTofu)"; echo "$out"; status=1
  fi
done < <(find "$root/examples" -name 'import-with-identity.tf' | sort)
exit $status
