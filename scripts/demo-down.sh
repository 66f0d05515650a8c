#!/usr/bin/env bash
# `make demo-down`: destroys the demo's Terraform resources (when haproxy is
# still up), stops exactly the processes `make demo` recorded in .demo/*.pid
# (never anything looked up by name), and removes .demo/ and the socket
# directory in /tmp if one was made. Safe to run when nothing runs, and twice.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/.demo"
if [ ! -d "$demo" ]; then
  echo "==> no demo to stop (.demo/ does not exist)"
  exit 0
fi

# ours NAME: prints the PID recorded in .demo/NAME.pid when that process is
# alive and still runs the program the demo started (a stale PID file whose
# PID was reused by something else is ignored).
ours() {
  local f="$demo/$1.pid" pid want
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  case "$1" in
    haproxy) want="$demo/haproxy.cfg" ;;
    *) want="$demo/bin/demo-backend" ;;
  esac
  if [ -r "/proc/$pid/cmdline" ] && [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" != *"$want"* ]]; then
    echo "    pid $pid in $1.pid is no longer the demo's $1; leaving it alone" >&2
    return 1
  fi
  echo "$pid"
}

if [ -f "$demo/tf/terraform.tfstate" ] && ours haproxy >/dev/null; then
  echo "==> terraform destroy (parks the slots back)"
  if TF_CLI_CONFIG_FILE="$demo/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 \
    terraform -chdir="$demo/tf" destroy -auto-approve -input=false -no-color -compact-warnings \
    >"$demo/destroy.log" 2>&1; then
    echo "    $(grep -E '^Destroy complete' "$demo/destroy.log" || echo done)"
  else
    echo "    terraform destroy FAILED (ignored; the processes are stopped anyway). Its output:"
    sed -e 's/^/    | /' "$demo/destroy.log"
  fi
fi

for name in haproxy alpha beta; do
  pid=$(ours "$name") || continue
  # SIGUSR1 is haproxy's soft stop; the backends stop on SIGTERM.
  if [ "$name" = haproxy ]; then sig=USR1; else sig=TERM; fi
  kill -s "$sig" "$pid" 2>/dev/null
  for _ in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -s KILL "$pid" 2>/dev/null
    echo "==> stopped $name (pid $pid, SIG$sig then SIGKILL after 3s)"
  else
    echo "==> stopped $name (pid $pid, SIG$sig)"
  fi
done

if [ -f "$demo/sockdir" ]; then
  sockdir=$(cat "$demo/sockdir")
  case "$sockdir" in
    /tmp/hxdemo.*) rm -rf -- "$sockdir" ;;
    *) echo "    not removing unexpected socket directory '$sockdir'" >&2 ;;
  esac
fi
rm -rf -- "$demo"
echo "==> demo removed"
