#!/usr/bin/env bash
# `make bench`: provider cost against terraform's floor, the same provider
# against in-memory stand-ins of HAProxy's runtime API (internal/haproxystub:
# all of the provider's code runs, HAProxy's work does not) and the socat
# workflow, on real haproxy. BENCH_N / BENCH_K pick sizes (default 100,500,2000 /
# 1,2,3: about an hour here). Stub and real applies and plans are medians
# of 3 rounds up to N = 500 and of 1 above; BENCH_REPEAT sets the rounds for
# every size. Then the pool end to end (BENCH_POOL_E2E members on
# BENCH_POOL_E2E_K instances, default 1000,5000 / 3,20) and a whole-map
# replacement (BENCH_MAP entries on BENCH_MAP_K instances, default 10000 / 3)
# and a certificate rotation (on BENCH_CERT_K instances, default 3).
# BENCH_ONLY=<regexp> runs only the tests it matches (TestBenchPool, …).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v socat >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq socat >/dev/null
  else
    echo "socat is needed for the shell-workflow baseline: sudo apt-get install -y socat" >&2; exit 1
  fi
fi
export CHECKPOINT_DISABLE=1
# Under the Terraform operators run (1.16.4, as `make test`); TERRAFORM=<path>
# measures another.
tf=${TERRAFORM:-$(bash scripts/terraform-bin.sh)}
export PATH="$(dirname "$tf"):$PATH"
echo "==> $("$tf" version 2>/dev/null | sed -n 1p) ($tf)"
cd bench
go test -tags bench -count=1 -timeout 120m -run "${BENCH_ONLY:-^TestBench(Pool|PoolEndToEnd|Remote|Maps|Certs)?\$}" -v . 2>&1 | grep -v '^=== RUN' 
echo "==> results written to ${BENCH_OUT:-bench/results.md}"
