#!/bin/bash
# strongSwan with ML-KEM, the peer of the post-quantum interop tests that is
# not tcpiked.  Debian 13's strongSwan (6.0.1) has none: its openssl plugin
# learnt ML-KEM in 6.0.2 and Debian builds no `ml` plugin.  Debian's next
# release (forky, 6.1) has it, but its libstrongswan needs a newer glibc
# than Debian 13's, so it gets a root of its own instead of going into the
# Debian 13 root (scripts/trixie-root.sh, where tcpiked is built against
# OpenSSL 3.5).  Built once per machine with debootstrap and cached like
# the other roots, under a name keyed by the suite and package list.
#
#   scripts/strongswan-pq-root.sh [--print-dir]
#
# Prints the root's path on stdout.  charon is <root>/usr/lib/ipsec/charon,
# run with `chroot <root>` and /proc, /dev, /run mounted (selftests/netns/61).
set -euo pipefail

cache=${TCPIKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcpike}
mirror=${TCPIKE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${TCPIKE_SWPQ_SUITE:-forky}
pkgs=(
	strongswan-charon strongswan-swanctl libstrongswan-standard-plugins
	libstrongswan-extra-plugins
	# kernel-libipsec: userspace ESP, for a host kernel without ESP
	libcharon-extra-plugins
	iproute2 procps
)
hash=$(printf '%s\n' "$suite" "${pkgs[@]}" | sha256sum | cut -c1-12)
root="$cache/strongswan-pq-root-$hash"

if [ "${1:-}" = --print-dir ]; then
	echo "$root"
	exit 0
fi
if [ -f "$root/.tcpike-ready" ]; then
	echo "$root"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "strongswan-pq-root: needs root (debootstrap)" >&2
	exit 1
fi
command -v debootstrap >/dev/null || {
	echo "strongswan-pq-root: debootstrap missing (scripts/deps.sh installs it)" >&2
	exit 1
}
mkdir -p "$cache"
rm -rf "$root.tmp"
inc=$(printf '%s\n' "${pkgs[@]}" | paste -sd, -)
# Debian 12's debootstrap has no script for releases after trixie: sid's
# does for them.
script=/usr/share/debootstrap/scripts/$suite
[ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
echo "strongswan-pq-root: debootstrap $suite into $root (about a minute, once)" >&2
if ! debootstrap --variant=minbase --include="$inc" "$suite" "$root.tmp" "$mirror" "$script" \
	>"$cache/strongswan-pq-root.log" 2>&1; then
	tail -n 20 "$cache/strongswan-pq-root.log" >&2
	echo "strongswan-pq-root: debootstrap failed (log: $cache/strongswan-pq-root.log)" >&2
	exit 1
fi
# The plugin that does ML-KEM: refuse a root whose strongSwan has none.
if ! grep -qs EVP_PKEY_encapsulate "$root.tmp/usr/lib/ipsec/plugins/libstrongswan-openssl.so"; then
	echo "strongswan-pq-root: strongSwan of $suite has no openssl plugin with ML-KEM" >&2
	exit 1
fi
rm -rf "$root.tmp/var/cache/apt/archives/"*.deb
touch "$root.tmp/.tcpike-ready"
mv "$root.tmp" "$root"
echo "$root"
