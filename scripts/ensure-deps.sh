#!/usr/bin/env bash
# Installs what `make test` and `make demo` need and a fresh machine lacks:
# haproxy (Debian package) when running as root, otherwise it stops with the
# exact command to run. terraform and go must already be on PATH.
set -euo pipefail

missing=0
# need <command> <Debian package>: installs the package when the command is
# missing (as root, through apt-get), or says the exact command to run.
need() {
  if command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; then
    return
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing $2 (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  else
    echo "$1 is not installed. Run: sudo apt-get update && sudo apt-get install -y $2" >&2
    missing=1
  fi
}
need haproxy haproxy
# sshd: the remote-access tests run a real one, never as a service, only as
# their own child process.
need sshd openssh-server
# openssl and socat: the guides' own commands use them, as an operator would.
need openssl openssl
need socat socat
# The Debian package starts a system haproxy; we never touch it, and our
# tests and demo use their own processes, sockets and ports.
for tool in go terraform; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$tool is not on PATH; install it first (terraform: https://developer.hashicorp.com/terraform/install)" >&2
    missing=1
  fi
done
[ "$missing" = 0 ] || exit 1
echo "==> $(haproxy -v | sed -n 1p)"
echo "==> $(terraform version 2>/dev/null | sed -n 1p)"
