#!/bin/bash
# strongSwan's charon, the version of Debian 12's strongswan-charon, built
# from Debian's source package with the load-tester plugin, for B1's
# like-for-like row (bench/run.sh): the load-tester's fake kernel interface
# (charon.plugins.load-tester.fake_kernel = yes, initiators = 0) installs
# nothing, as tcpiked's backend none does.  Only what the benchmark needs is
# built: openssl (every algorithm and the RNG), kdf (prf+ through
# openssl's HMAC: 5.9.8 has no KDF in openssl), nonce, random, pem, x509,
# pubkey, pkcs1, socket-default, vici and swanctl, load-tester, and
# kernel-netlink, because libcharon will not start without a kernel-net
# interface (addresses, routes; 5.9.8 src/libcharon/daemon.c): its
# kernel-ipsec half stays unused when load-tester comes first in
# charon.load.  No stroke, no other kernel plugin.
#
#   scripts/charon-loadtester.sh          -> prints the prefix (cached)
#   scripts/charon-loadtester.sh --check  -> the prefix if built, else
#                                            exit 1 (nothing is built)
#
# apt-get source needs a deb-src entry: a private sources file for the
# archive and suites that /etc/apt/sources.list.d/debian.sources names,
# with private lists, so the system's apt state is not touched.  The build
# runs at nice 19 with -j2 (the machine is shared).  Never committed.
set -euo pipefail
check=0
case "${1:-}" in
--check) check=1 ;;
"") ;;
*) echo "usage: scripts/charon-loadtester.sh [--check]" >&2; exit 2 ;;
esac
cache=${TCPIKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcpike}
ver=$(dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null || true)
[ -n "$ver" ] || ver=$(apt-cache policy strongswan-charon 2>/dev/null | sed -n 's/^  Candidate: //p')
[ -n "$ver" ] && [ "$ver" != "(none)" ] ||
	{ echo "charon-loadtester: no strongswan-charon version in dpkg or apt" >&2; exit 1; }
upver=${ver%%-*}
upver=${upver#*:}
prefix=$cache/strongswan-$upver-lt
stamp=$prefix/.built-$ver
if [ -f "$stamp" ] && [ -x "$prefix/libexec/ipsec/charon" ] && [ -x "$prefix/sbin/swanctl" ]; then
	echo "$prefix"
	exit 0
fi
[ $check = 0 ] || exit 1
[ "$(id -u)" = 0 ] || { echo "charon-loadtester: run as root (apt-get update)" >&2; exit 1; }
w=$(mktemp -d /tmp/charon-lt.XXXXXX)
trap 'rm -rf "$w"' EXIT
chmod 755 "$w"
mkdir -p "$w/parts" "$w/lists/partial" "$w/cache/archives/partial" "$w/src"
# deb-src for every deb stanza of debian.sources (same URIs, suites, keys)
sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$w/parts/src.sources"
grep -q '^Types: deb-src' "$w/parts/src.sources" ||
	{ echo "charon-loadtester: no deb stanza in debian.sources" >&2; exit 1; }
apt=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$w/parts"
     -o Dir::State::Lists="$w/lists" -o Dir::Cache="$w/cache")
apt-get "${apt[@]}" -qq update >&2
chown -R _apt "$w/src" 2>/dev/null || true
# The installed revision first; a mirror may list a revision in its
# Sources index that its pool lacks (seen: +deb12u6 in bookworm-security),
# then the other revisions of the same upstream version, newest first.
# The one built is in $prefix/VERSION.
got=
for v in "$ver" $(apt-cache "${apt[@]}" showsrc strongswan 2>/dev/null |
		  sed -n "s/^Version: \($upver-.*\)/\1/p" | sort -rV | grep -vxF "$ver"); do
	if (cd "$w/src" && apt-get "${apt[@]}" -qq source "strongswan=$v" >"$w/source.log" 2>&1); then
		got=$v
		break
	fi
	echo "charon-loadtester: strongswan $v: $(grep -m1 '^E:' "$w/source.log")" >&2
	rm -rf "${w:?}"/src/*
done
[ -n "$got" ] || { echo "charon-loadtester: no source package of strongswan $upver" >&2; exit 1; }
s=$(find "$w/src" -maxdepth 1 -type d -name 'strongswan-*' | head -n1)
[ -n "$s" ] || { echo "charon-loadtester: apt-get source left no tree" >&2; exit 1; }
t0=$(date +%s)
cd "$s"
# Debian's patches are applied by dpkg-source (3.0 quilt); configure is
# shipped in the upstream tarball.
rm -rf "$prefix"
nice -n 19 ./configure --prefix="$prefix" --sysconfdir="$prefix/etc" \
	--disable-defaults --enable-charon --enable-ikev2 --enable-swanctl --enable-vici \
	--enable-openssl --enable-nonce --enable-random --enable-pem --enable-x509 \
	--enable-pubkey --enable-pkcs1 --enable-kdf --enable-socket-default --enable-load-tester \
	--enable-kernel-netlink --disable-stroke --disable-scepclient --disable-pki \
	>"$w/configure.log" 2>&1 ||
	{ tail -n 20 "$w/configure.log" >&2; exit 1; }
nice -n 19 make -s -j2 >"$w/make.log" 2>&1 || { tail -n 30 "$w/make.log" >&2; exit 1; }
nice -n 19 make -s install >"$w/install.log" 2>&1 || { tail -n 30 "$w/install.log" >&2; exit 1; }
echo "built in $(( $(date +%s) - t0 )) s (configure, make -j2 at nice 19, install)" >&2
echo "$got" >"$prefix/VERSION"
echo "built in $(( $(date +%s) - t0 )) s" >"$stamp"
echo "$prefix"
