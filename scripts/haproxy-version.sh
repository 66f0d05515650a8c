#!/usr/bin/env bash
# Usage: scripts/haproxy-version.sh <2.6|3.0|3.2|3.4>
#
# Prints the directory of an `haproxy` binary of that version, fetching and
# caching it on first use; `make test HAPROXY_VERSION=3.2` puts it first on
# PATH. Only the project's own cache is written: the machine's apt state and
# libraries are never touched.
#
# 2.6 is Debian 12's own package (scripts/ensure-deps.sh installs it). The
# 3.x builds come from newer Debian suites and need a newer libc than Debian
# 12's, so each is unpacked with its suite's libraries into one folder and
# a copy of the binary is pointed at them (patchelf: interpreter + rpath;
# --force-rpath so the libraries' own dependencies resolve there too).
set -euo pipefail
want=${1:?usage: $0 <2.6|3.0|3.2|3.4>}

case "$want" in
  2.6) suites="bookworm" ;;
  3.0) suites="trixie" ;;
  3.2) suites="unstable" ;;
  3.4) suites="experimental unstable" ;; # experimental carries haproxy alone
  *) echo "haproxy-version: unsupported HAProxy version '$want' (supported: 2.6 3.0 3.2 3.4)" >&2; exit 2 ;;
esac

if [ "$want" = 2.6 ]; then
  bash "$(dirname "$0")/ensure-deps.sh" >&2
  bin=$(command -v haproxy)
  # The first line by sed, which reads to the end: `head -1 | grep -q` exits
  # early, SIGPIPEs haproxy, and pipefail fails the check (1 run in 20 here).
  case "$("$bin" -v | sed -n 1p)" in
    *"version 2.6."*) ;;
    *) echo "haproxy-version: $bin is not 2.6" >&2; exit 1 ;;
  esac
  dirname "$bin"
  exit 0
fi

cache=${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-haproxy/haproxy-$want
if [ -x "$cache/bin/haproxy" ] && "$cache/bin/haproxy" -v >/dev/null 2>&1; then
  echo "$cache/bin"
  exit 0
fi

if ! command -v patchelf >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "haproxy-version: patchelf is missing. Run: sudo apt-get install -y patchelf" >&2; exit 1; }
  echo "==> installing patchelf (apt-get)" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq patchelf >&2
fi

# The Debian mirror the machine's own apt sources use.
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/\{0,1\}$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 1p)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\{1,\}\(http[^[:space:]]*\/debian\)\/\{0,1\}[[:space:]].*/\1/p' /etc/apt/sources.list 2>/dev/null | sed -n 1p)
[ -n "$mirror" ] || { echo "haproxy-version: cannot find a Debian mirror in /etc/apt/sources.list{,.d}" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
: > "$work/sources.list"
for s in $suites; do echo "deb $mirror $s main" >> "$work/sources.list"; done
apt_priv=(-o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)

echo "==> fetching HAProxy $want from Debian ($suites)" >&2
apt-get "${apt_priv[@]}" -qq update >&2
version=$(apt-cache "${apt_priv[@]}" madison haproxy | awk -v w="$want" '{print $3}' |
  grep -E "^([0-9]+:)?${want//./\\.}\." | sort -V | tail -1)
[ -n "$version" ] || { echo "haproxy-version: no haproxy $want.x in Debian $suites" >&2; exit 1; }

libs="libc6 libcrypt1 libjemalloc2 liblua5.4-0 libopentracing-c-wrapper0t64 libopentracing1
  libpcre2-8-0 libssl3t64 libstdc++6 libgcc-s1 libzstd1"
(cd "$work/debs" && apt-get "${apt_priv[@]}" -qq download "haproxy=$version" $libs >&2)

root="$work/root"
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
lib="$cache/root/usr/lib/x86_64-linux-gnu"
rm -rf "$cache"
mkdir -p "$cache/bin"
mv "$root" "$cache/root"
cp "$cache/root/usr/sbin/haproxy" "$cache/bin/haproxy"
patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$lib" "$cache/bin/haproxy"
# Only what a run needs stays: the binary and its libraries.
rm -rf "$cache/root/usr/share" "$cache/root/etc" "$cache/root/usr/sbin" "$cache/root/usr/bin"
case "$("$cache/bin/haproxy" -v | sed -n 1p)" in
  *"version $want."*) ;;
  *) echo "haproxy-version: the unpacked haproxy does not run as $want:" >&2; "$cache/bin/haproxy" -v >&2; exit 1 ;;
esac
echo "$cache/bin"
