#!/bin/bash
# strongSwan with ML-KEM, the peer of the post-quantum interop tests that is
# not tcpiked.  Debian 13's strongSwan (6.0.1) has none (swanctl
# --list-algs shows no ML_KEM: its openssl plugin has no KEM code yet, and
# Debian builds no `ml` plugin).  Debian's next
# release (forky, 6.1) has it, but its libstrongswan needs a newer glibc
# than Debian 13's, so it gets a root of its own instead of going into the
# Debian 13 root (scripts/trixie-root.sh, where tcpiked is built against
# OpenSSL 3.5).  Built once per machine with debootstrap and cached like
# the other roots, under a name keyed by the suite and package list
# (scripts/debootstrap-root.sh).
#
#   scripts/strongswan-pq-root.sh [--print-dir]
#
# Prints the root's path on stdout.  charon is <root>/usr/lib/ipsec/charon,
# run with `chroot <root>` and /proc, /dev, /run mounted (selftests/netns/60).
set -euo pipefail

suite=${TCPIKE_SWPQ_SUITE:-forky}
pkgs=(
	strongswan-charon strongswan-swanctl libstrongswan-standard-plugins
	libstrongswan-extra-plugins
	# kernel-libipsec: userspace ESP, for a host kernel without ESP
	libcharon-extra-plugins
	iproute2 procps
)
root=$("$(dirname "$0")/debootstrap-root.sh" strongswan-pq-root "$suite" "$@" -- "${pkgs[@]}")
# The plugin that does ML-KEM (through OpenSSL's KEM API): a root whose
# strongSwan has none is of no use.
if [ "${1:-}" != --print-dir ] &&
	! grep -qs EVP_PKEY_encapsulate "$root/usr/lib/ipsec/plugins/libstrongswan-openssl.so"; then
	echo "strongswan-pq-root: strongSwan of $suite in $root has no openssl plugin with ML-KEM" >&2
	exit 1
fi
echo "$root"
