#!/usr/bin/env bash
# `make lint`: our scripts run under `set -o pipefail`, where a reader that
# exits early (`| head`, `| grep -q`) SIGPIPEs the writer and fails the
# pipeline now and then (1 run in 20 for `haproxy -v | head -1 | grep -q`,
# which once failed CI as "HAProxy 2.6 (not installed)"). Read the first
# line with `sed -n 1p`, which reads to the end, or match a captured value.
set -euo pipefail
cd "$(dirname "$0")/.."
if found=$(grep -nE '\|[[:space:]]*(head\b|grep[[:space:]]+-[A-Za-z]*q)' scripts/*.sh .ci/run | grep -vE '^[^:]+:[0-9]+:[[:space:]]*#'); then
  echo "early-exit readers in a pipe (use sed -n 1p, or match a captured value):" >&2
  echo "$found" >&2
  exit 1
fi
