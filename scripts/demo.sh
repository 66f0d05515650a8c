#!/usr/bin/env bash
# `make demo`: a throwaway HAProxy with ten server-template slots, two small
# HTTP backends on loopback, `terraform apply` with the locally built
# provider (dev_overrides: no registry), and real traffic through HAProxy.
# Everything it starts is recorded by PID in .demo/; `make demo-down` stops it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
demo="$root/.demo"

bash scripts/ensure-deps.sh >/dev/null
if [ -d "$demo" ]; then
  echo "==> a previous demo exists: tearing it down first"
  bash scripts/demo-down.sh
fi
mkdir -p "$demo/bin" "$demo/tf"

# Unix socket paths are limited to ~100 bytes.
sockdir="$demo"
if [ ${#sockdir} -gt 80 ]; then
  sockdir=$(mktemp -d /tmp/hxdemo.XXXXXX)
  echo "$sockdir" > "$demo/sockdir"
fi

echo "==> building the provider and the demo backend"
go build -o "$demo/bin/terraform-provider-haproxy" .
go build -o "$demo/demo-backend" ./cmd/demo-backend

# A port nobody listens on yet (bash's /dev/tcp connect fails on a free port).
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  echo "no free port found" >&2; return 1
}
admin_port=$(free_port); front_port=$(free_port); a_port=$(free_port); b_port=$(free_port)

echo "==> starting backends alpha (127.0.0.1:$a_port) and beta (127.0.0.1:$b_port)"
"$demo/demo-backend" -listen "127.0.0.1:$a_port" -name alpha >"$demo/alpha.log" 2>&1 &
echo $! > "$demo/alpha.pid"
"$demo/demo-backend" -listen "127.0.0.1:$b_port" -name beta >"$demo/beta.log" 2>&1 &
echo $! > "$demo/beta.pid"

sed -e "s|@DIR@|$sockdir|g" -e "s|@ADMIN_PORT@|$admin_port|g" -e "s|@FRONT_PORT@|$front_port|g" \
  examples/quickstart/haproxy.cfg.tmpl > "$demo/haproxy.cfg"
haproxy -c -q -f "$demo/haproxy.cfg"
echo "==> starting haproxy (frontend 127.0.0.1:$front_port, admin sockets $sockdir/admin.sock and 127.0.0.1:$admin_port)"
haproxy -db -f "$demo/haproxy.cfg" >"$demo/haproxy.log" 2>&1 &
echo $! > "$demo/haproxy.pid"
for i in $(seq 1 50); do
  if [ -S "$sockdir/admin.sock" ] && (exec 3<>"/dev/tcp/127.0.0.1/$admin_port") 2>/dev/null; then break; fi
  if [ "$i" = 50 ]; then echo "haproxy did not start; see $demo/haproxy.log" >&2; exit 1; fi
  sleep 0.1
done

cat > "$demo/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "haproxy-runtime/haproxy" = "$demo/bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$demo/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
cp examples/quickstart/main.tf "$demo/tf/main.tf"
cat > "$demo/tf/terraform.tfvars" <<VARS
sockets        = ["unix://$sockdir/admin.sock", "tcp://127.0.0.1:$admin_port"]
backend_a_port = $a_port
backend_b_port = $b_port
VARS

echo "==> terraform apply (local build via dev_overrides)"
terraform -chdir="$demo/tf" validate -no-color >/dev/null
terraform -chdir="$demo/tf" apply -auto-approve -input=false -no-color 2>&1 | grep -v -i "provider development overrides\|dev_overrides\|^ - haproxy-runtime\|may encounter problems\|^│\|^╷\|^╵" || true
terraform -chdir="$demo/tf" state list >/dev/null

get() {
  if command -v curl >/dev/null 2>&1; then
    curl -s --max-time 2 "http://127.0.0.1:$front_port/"
  else
    exec 3<>"/dev/tcp/127.0.0.1/$front_port"
    printf 'GET / HTTP/1.0\r\nHost: demo\r\n\r\n' >&3
    sed -n '$p' <&3
    exec 3<&-
  fi
}
echo "==> six requests through HAProxy (127.0.0.1:$front_port):"
answers=""
for _ in 1 2 3 4 5 6; do
  a=$(get || true); echo "    $a"; answers="$answers $a"
done
case "$answers" in *alpha*) ;; *) echo "alpha never answered" >&2; exit 1 ;; esac
case "$answers" in *beta*) ;; *) echo "beta never answered" >&2; exit 1 ;; esac

set +e
terraform -chdir="$demo/tf" plan -detailed-exitcode -input=false -no-color >"$demo/plan.log" 2>&1
rc=$?
set -e
if [ "$rc" != 0 ]; then echo "the second plan is not empty (exit $rc); see $demo/plan.log" >&2; exit 1; fi
echo "==> terraform plan after apply: no changes"

cat <<MSG

The demo is running. Look around:
  echo "show servers state app" | socat stdio unix-connect:$sockdir/admin.sock
  TF_CLI_CONFIG_FILE=$demo/terraformrc terraform -chdir=.demo/tf state list
  curl http://127.0.0.1:$front_port/
Edit .demo/tf/main.tf (say, state = "drain" for beta) and run
  TF_CLI_CONFIG_FILE=$demo/terraformrc terraform -chdir=.demo/tf apply
Tear it all down with:  make demo-down
MSG
