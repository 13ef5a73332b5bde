#!/bin/bash
# A Debian root made with debootstrap from Debian's archive, with the
# packages named, cached under ~/.cache/tcpike by a name keyed by the suite
# and the package list (a new list makes a new root).  Used by
# trixie-root.sh and strongswan-pq-root.sh, which name the packages.
#
#   scripts/debootstrap-root.sh NAME SUITE [--print-dir] -- PACKAGE...
#
# Prints the root's path, $cache/NAME-HASH, on stdout.
set -euo pipefail

name=$1 suite=$2
shift 2
print=0
[ "${1:-}" = --print-dir ] && { print=1; shift; }
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "debootstrap-root: usage: NAME SUITE [--print-dir] -- PACKAGE..." >&2; exit 2; }
cache=${TCPIKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcpike}
mirror=${TCPIKE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# trixie's root keeps the name it had before the suite was part of it
hash=$( { [ "$suite" = trixie ] || echo "$suite"; printf '%s\n' "$@"; } | sha256sum | cut -c1-12)
root="$cache/$name-$hash"

if [ $print = 1 ] || [ -f "$root/.tcpike-ready" ]; then
	echo "$root"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "$name: needs root (debootstrap)" >&2
	exit 1
fi
command -v debootstrap >/dev/null || {
	echo "$name: debootstrap missing (scripts/deps.sh installs it)" >&2
	exit 1
}
mkdir -p "$cache"
rm -rf "$root.tmp"
# Debian 12's debootstrap has no script for releases after trixie: sid's
# does for them.
script=/usr/share/debootstrap/scripts/$suite
[ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
echo "$name: debootstrap $suite into $root (about a minute, once)" >&2
if ! debootstrap --variant=minbase --include="$(IFS=,; echo "$*")" "$suite" "$root.tmp" \
	"$mirror" "$script" >"$cache/$name.log" 2>&1; then
	tail -n 20 "$cache/$name.log" >&2
	echo "$name: debootstrap failed (log: $cache/$name.log)" >&2
	exit 1
fi
rm -rf "$root.tmp/var/cache/apt/archives/"*.deb
touch "$root.tmp/.tcpike-ready"
mv "$root.tmp" "$root"
echo "$root"
