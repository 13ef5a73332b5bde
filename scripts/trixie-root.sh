#!/bin/bash
# A Debian 13 ("trixie") root with OpenSSL 3.5, for building tcpiked against
# it and running the post-quantum tests (ML-KEM, ML-DSA) inside it.  Debian
# 12 has OpenSSL 3.0, which has neither.  Built once per machine with
# debootstrap from Debian's archive and cached like the test kernel, under a
# name keyed by this script's package list.
#
#   scripts/trixie-root.sh [--print-dir]
#
# Prints the root's path on stdout.  Enter it with scripts/trixie-run.
set -euo pipefail

cache=${TCPIKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcpike}
mirror=${TCPIKE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
pkgs=(
	# build
	gcc make pkg-config libc6-dev libssl-dev openssl libnl-3-dev libnl-genl-3-dev
	# tests: namespaces, the independent peer (python3 + cryptography; node
	# for @noble/post-quantum, an ML-KEM that is not OpenSSL's)
	iproute2 nftables procps psmisc python3 python3-cryptography python3-cffi-backend nodejs
	ca-certificates
)
hash=$(printf '%s\n' "${pkgs[@]}" | sha256sum | cut -c1-12)
root="$cache/trixie-root-$hash"

if [ "${1:-}" = --print-dir ]; then
	echo "$root"
	exit 0
fi
if [ -f "$root/.tcpike-ready" ]; then
	echo "$root"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "trixie-root: needs root (debootstrap)" >&2
	exit 1
fi
command -v debootstrap >/dev/null || {
	echo "trixie-root: debootstrap missing (scripts/deps.sh installs it)" >&2
	exit 1
}
mkdir -p "$cache"
rm -rf "$root.tmp"
inc=$(printf '%s\n' "${pkgs[@]}" | grep -v '^#' | paste -sd, -)
echo "trixie-root: debootstrap trixie into $root (a few minutes, once)" >&2
if ! debootstrap --variant=minbase --include="$inc" trixie "$root.tmp" "$mirror" \
	>"$cache/trixie-root.log" 2>&1; then
	tail -n 20 "$cache/trixie-root.log" >&2
	echo "trixie-root: debootstrap failed (log: $cache/trixie-root.log)" >&2
	exit 1
fi
rm -rf "$root.tmp/var/cache/apt/archives/"*.deb
touch "$root.tmp/.tcpike-ready"
mv "$root.tmp" "$root"
echo "$root"
