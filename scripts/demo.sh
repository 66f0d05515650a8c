#!/usr/bin/env bash
# `make demo`: a throwaway HAProxy with ten server-template slots, two small
# HTTP backends (alpha, beta), `terraform apply` with the locally built
# provider (dev_overrides: no registry), real traffic through HAProxy, and a
# second plan that must be empty. Everything listens on 127.0.0.1 only.
# Every process it starts is recorded by PID in .demo/*.pid; `make demo-down`
# (scripts/demo-down.sh) stops exactly those and removes .demo/.
# It cds to the repository root first, so it can be run from anywhere.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
demo="$root/.demo"

# --- tools -------------------------------------------------------------------
# haproxy is installed when missing (apt-get, root only; otherwise the exact
# command is printed); go and terraform must be on PATH.
bash scripts/ensure-deps.sh

# --- a previous demo ---------------------------------------------------------
if [ -d "$demo" ]; then
  running=""
  for f in "$demo"/*.pid; do
    [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && running="$running $(basename "$f" .pid)"
  done
  if [ -n "$running" ]; then
    echo "==> a previous demo is running (${running# }): stopping it first"
  else
    echo "==> removing the leftovers of a previous demo"
  fi
  bash scripts/demo-down.sh
fi
mkdir -p "$demo/bin" "$demo/tf"

on_exit() {
  local rc=$?
  [ "$rc" = 0 ] && return 0
  echo >&2
  echo "demo FAILED. Logs are in $demo/ (haproxy.log, alpha.log, beta.log, apply.log, plan.log)." >&2
  echo "Stop what was started with:  make demo-down" >&2
}
trap on_exit EXIT

# Unix socket paths are limited to ~100 bytes, and the path goes into the
# haproxy config unquoted: use a short /tmp directory when .demo/ is long or
# has unusual characters. demo-down.sh removes it.
sockdir="$demo"
if [ ${#sockdir} -gt 80 ] || [[ ! "$sockdir" =~ ^[A-Za-z0-9/._-]+$ ]]; then
  sockdir=$(mktemp -d /tmp/hxdemo.XXXXXX)
  echo "$sockdir" >"$demo/sockdir"
fi
sock="$sockdir/admin.sock"

# --- build -------------------------------------------------------------------
echo "==> building the provider and the demo backend"
go build -o "$demo/bin/terraform-provider-haproxy" .
go build -o "$demo/bin/demo-backend" ./cmd/demo-backend

# --- ports -------------------------------------------------------------------
# A free loopback port: bash's /dev/tcp connect is refused when nobody
# listens. Picked below 32768, where Linux takes ephemeral ports, and never
# twice in one run.
taken=" "
free_port() { # sets $port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 12768))
    case "$taken" in *" $port "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      taken="$taken$port "
      return 0
    fi
  done
  echo "no free port found on 127.0.0.1 in 20000-32767" >&2
  return 1
}
free_port; admin_port=$port
free_port; front_port=$port
free_port; a_port=$port
free_port; b_port=$port

# accepts PORT: something listens on 127.0.0.1:PORT.
accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for WHAT PIDFILE CHECK...: polls CHECK for up to 5s while the
# process is alive.
wait_for() {
  local what=$1 pid
  pid=$(cat "$2")
  shift 2
  for _ in $(seq 1 50); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$what exited during start-up; see $demo/$what.log:" >&2
      cat "$demo/$what.log" >&2
      return 1
    fi
    if "$@"; then return 0; fi
    sleep 0.1
  done
  echo "$what did not become ready within 5s; see $demo/$what.log" >&2
  return 1
}

# --- backends ----------------------------------------------------------------
echo "==> starting backends alpha (127.0.0.1:$a_port) and beta (127.0.0.1:$b_port)"
"$demo/bin/demo-backend" -listen "127.0.0.1:$a_port" -name alpha >"$demo/alpha.log" 2>&1 &
echo $! >"$demo/alpha.pid"
"$demo/bin/demo-backend" -listen "127.0.0.1:$b_port" -name beta >"$demo/beta.log" 2>&1 &
echo $! >"$demo/beta.pid"
wait_for alpha "$demo/alpha.pid" accepts "$a_port"
wait_for beta "$demo/beta.pid" accepts "$b_port"

# --- haproxy -----------------------------------------------------------------
sed -e "s|@DIR@|$sockdir|g" -e "s|@ADMIN_PORT@|$admin_port|g" -e "s|@FRONT_PORT@|$front_port|g" \
  examples/quickstart/haproxy.cfg.tmpl >"$demo/haproxy.cfg"
if ! haproxy -c -q -f "$demo/haproxy.cfg"; then
  # -q hides the reason too (HAProxy 2.6): check again, verbosely.
  echo "haproxy rejected $demo/haproxy.cfg:" >&2
  haproxy -c -f "$demo/haproxy.cfg" >&2 || true
  false
fi
echo "==> starting haproxy: frontend 127.0.0.1:$front_port, admin sockets $sock and 127.0.0.1:$admin_port"
haproxy -db -f "$demo/haproxy.cfg" >"$demo/haproxy.log" 2>&1 &
echo $! >"$demo/haproxy.pid"

# haproxy_ready: the admin TCP socket answers `show version` and the unix
# socket exists (no socat needed).
haproxy_ready() {
  [ -S "$sock" ] || return 1
  # In a subshell: `exec` redirections must not touch this shell's fds.
  local reply
  reply=$(
    exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$admin_port" || exit 1
    printf 'show version\n' >&3
    IFS= read -r -t 1 line <&3 || exit 1
    printf '%s' "$line"
  ) || return 1
  [[ "$reply" =~ ^[0-9]+\.[0-9]+ ]]
}
wait_for haproxy "$demo/haproxy.pid" haproxy_ready
echo "    haproxy $(haproxy -v | sed -n 1p | awk '{print $3}') is up (pid $(cat "$demo/haproxy.pid"))"

# --- terraform ---------------------------------------------------------------
cat >"$demo/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "haproxy-runtime/haproxy" = "$demo/bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$demo/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
cp examples/quickstart/main.tf "$demo/tf/main.tf"
# Variables go to terraform.tfvars rather than -var flags, so that the
# commands printed at the end and demo-down.sh's destroy need no flags.
cat >"$demo/tf/terraform.tfvars" <<VARS
sockets        = ["unix://$sock", "tcp://127.0.0.1:$admin_port"]
backend_a_port = $a_port
backend_b_port = $b_port
VARS

tf() { terraform -chdir="$demo/tf" "$@"; }

echo "==> terraform validate"
if ! tf validate -no-color >"$demo/validate.log" 2>&1; then
  cat "$demo/validate.log" >&2
  false
fi
# No `terraform init`: with dev_overrides Terraform uses .demo/bin directly.
echo "==> terraform apply (local build via dev_overrides; no init, no registry)"
tf apply -auto-approve -input=false -no-color -compact-warnings 2>&1 | tee "$demo/apply.log" |
  sed -e 's/^/    /'
tf state list >/dev/null 2>&1 || { echo "apply left no state" >&2; false; }

# --- traffic -----------------------------------------------------------------
get() {
  if command -v curl >/dev/null 2>&1; then
    # --noproxy: a proxy from the environment must never see this traffic.
    curl -s --noproxy '*' --max-time 2 "http://127.0.0.1:$front_port/"
  else
    local reply
    reply=$(
      exec 3<>"/dev/tcp/127.0.0.1/$front_port" || exit 1
      printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
      timeout 2 cat <&3
    ) || return 1
    printf '%s\n' "$reply" | tail -n 1
  fi
}
echo "==> six requests through HAProxy (http://127.0.0.1:$front_port/):"
answers=""
for _ in 1 2 3 4 5 6; do
  a=$(get || echo "(no answer)")
  echo "    $a"
  answers="$answers|$a"
done
for name in alpha beta; do
  case "$answers" in
    *"hello from $name"*) ;;
    *) echo "$name never answered through HAProxy" >&2; false ;;
  esac
done
echo "    both backends answered"

# --- the second plan must be empty -------------------------------------------
rc=0
tf plan -detailed-exitcode -input=false -no-color -compact-warnings >"$demo/plan.log" 2>&1 || rc=$?
if [ "$rc" != 0 ]; then
  echo "the plan after apply is not empty (terraform plan -detailed-exitcode exited $rc):" >&2
  sed -e 's/^/    /' "$demo/plan.log" >&2
  false
fi
echo "==> terraform plan after apply: no changes (exit code 0)"

if command -v socat >/dev/null 2>&1; then
  show="echo 'show servers state app' | socat stdio unix-connect:$sock"
else
  show="bash -c 'exec 3<>/dev/tcp/127.0.0.1/$admin_port; echo \"show servers state app\" >&3; cat <&3'"
fi
cat <<MSG

The demo is running (everything on 127.0.0.1; PIDs in .demo/*.pid). Look around:
  admin sockets:  $sock   and   tcp://127.0.0.1:$admin_port
                  $show
  frontend:       curl http://127.0.0.1:$front_port/
  terraform:      export TF_CLI_CONFIG_FILE=$demo/terraformrc
                  terraform -chdir=.demo/tf state list
                  terraform -chdir=.demo/tf plan
  Edit .demo/tf/main.tf (say, state = "drain" for beta) and run
                  terraform -chdir=.demo/tf apply
Tear it all down with:  make demo-down   (or: bash scripts/demo-down.sh)
MSG
