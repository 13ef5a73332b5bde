#!/bin/bash
# Libreswan 4.10 (Debian 12) for the interop tests, unpacked into a private
# root, because its package conflicts with strongSwan's (both ship an IKE
# daemon and /usr/sbin/ipsec).  Its shared-library dependencies do not
# conflict and are installed normally by scripts/deps.sh.
#
#   scripts/libreswan-root.sh      -> prints the root (cached per version)
set -euo pipefail
cache=${TCPIKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcpike}
ver=$(apt-cache policy libreswan 2>/dev/null | sed -n 's/^  Candidate: //p')
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	[ "$(id -u)" = 0 ] && apt-get update -qq
	ver=$(apt-cache policy libreswan | sed -n 's/^  Candidate: //p')
fi
[ -n "$ver" ] && [ "$ver" != "(none)" ] || { echo "libreswan-root: no libreswan package in apt" >&2; exit 1; }
root=$cache/libreswan-$ver
if [ -x "$root/usr/libexec/ipsec/pluto" ]; then
	echo "$root"
	exit 0
fi
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
chmod 755 "$w"
(cd "$w" && apt-get download -qq "libreswan=$ver" >/dev/null 2>&1)
rm -rf "$root.tmp"
mkdir -p "$root.tmp"
dpkg -x "$w"/libreswan_*.deb "$root.tmp"
mv "$root.tmp" "$root"
echo "$root"
