#!/usr/bin/env bash
# Installs what `make test` and `make demo` need and a fresh machine lacks:
# haproxy (Debian package) when running as root, otherwise it stops with the
# exact command to run. terraform and go must already be on PATH.
set -euo pipefail

missing=0
if ! command -v haproxy >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing haproxy (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
  else
    echo "haproxy is not installed. Run: sudo apt-get update && sudo apt-get install -y haproxy" >&2
    missing=1
  fi
fi
# sshd (the remote-access tests run a real one; it is never started as a
# service by the tests, only as their own child process).
if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing openssh-server (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null
  else
    echo "sshd is not installed. Run: sudo apt-get update && sudo apt-get install -y openssh-server" >&2
    missing=1
  fi
fi
# openssl (the remote-access guide makes its certificates with it, as an
# operator would).
if ! command -v openssl >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing openssl (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
  else
    echo "openssl is not installed. Run: sudo apt-get update && sudo apt-get install -y openssl" >&2
    missing=1
  fi
fi
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
