#!/usr/bin/env bash
# `make demo-down`: destroys the demo's resources and stops exactly the
# processes `make demo` recorded by PID. Safe to run when nothing runs.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/.demo"
[ -d "$demo" ] || { echo "no demo running"; exit 0; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if [ -f "$demo/tf/terraform.tfstate" ] && alive "$demo/haproxy.pid"; then
  echo "==> terraform destroy"
  if ! TF_CLI_CONFIG_FILE="$demo/terraformrc" CHECKPOINT_DISABLE=1 \
      terraform -chdir="$demo/tf" destroy -auto-approve -input=false -no-color >"$demo/destroy.log" 2>&1; then
    echo "    destroy failed (see $demo/destroy.log); stopping the processes anyway"
  fi
fi
for name in haproxy alpha beta; do
  pidfile="$demo/$name.pid"
  if alive "$pidfile"; then
    pid=$(cat "$pidfile")
    if [ "$name" = haproxy ]; then kill -USR1 "$pid"; else kill -TERM "$pid"; fi
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "==> stopped $name (pid $pid)"
  fi
done
if [ -f "$demo/sockdir" ]; then rm -rf "$(cat "$demo/sockdir")"; fi
rm -rf "$demo"
echo "==> demo removed"
