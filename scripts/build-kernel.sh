#!/bin/bash
# Build the tcpike test kernel (Linux 6.12 from Debian's linux-source-6.12)
# from allnoconfig plus a fragment kept in this repository, and cache the
# built tree so it is built once per machine.
#
#   scripts/build-kernel.sh [--debug] [--print-dir]
#
# The tree lives in $TCPIKE_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/tcpike)
# under a name keyed by the source package version and the fragment's hash.
# With --print-dir only the tree's path is printed (and nothing is built).
# --debug merges scripts/kernel/debug.config on top (KASAN, lockdep, kmemleak).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${TCPIKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcpike}
tarball=/usr/src/linux-source-6.12.tar.xz
frags=("$here/kernel/test.config")
print_only=0
must="INET_ESPINTCP INET6_ESPINTCP INET_ESP XFRM_USER XFRM_MIGRATE NET_SCH_NETEM
      VETH NFT_MASQ NET_9P_VIRTIO MODULES MODULE_UNLOAD PACKET X86_MPPARSE
      USER_NS"

for arg in "$@"; do
	case "$arg" in
	--debug)
		frags+=("$here/kernel/debug.config")
		must="$must KASAN KASAN_VMALLOC PROVE_LOCKING DEBUG_ATOMIC_SLEEP DEBUG_KMEMLEAK"
		;;
	--print-dir) print_only=1 ;;
	*) echo "build-kernel: unknown argument '$arg'" >&2; exit 2 ;;
	esac
done

if [ ! -r "$tarball" ]; then
	echo "build-kernel: $tarball missing (install linux-source-6.12: scripts/deps.sh)" >&2
	exit 1
fi
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || stat -c %Y "$tarball")
hash=$(cat "${frags[@]}" | sha256sum | cut -c1-12)
tree="$cache/linux-$srcver-$hash"

if [ "$print_only" = 1 ]; then
	echo "$tree"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock-$hash"
flock 9

if [ -f "$tree/.tcpike-built" ]; then
	echo "$tree"
	exit 0
fi

log() { echo "build-kernel: $*" >&2; }
# Built in place: a kernel tree records absolute paths, so it cannot be moved.
rm -rf "$tree"
mkdir -p "$tree"
log "extracting $tarball (version $srcver)"
tar -xJf "$tarball" -C "$tree" --strip-components=1
cd "$tree"
log "configuring: allnoconfig + ${frags[*]##*/}"
make -s allnoconfig >/dev/null
scripts/kconfig/merge_config.sh -m .config "${frags[@]}" >/dev/null
make -s olddefconfig >/dev/null
# merge_config silently drops symbols whose dependencies are missing:
# insist on the ones the tests cannot do without.
for sym in $must; do
	if ! grep -q "^CONFIG_$sym=y" .config; then
		log "CONFIG_$sym did not survive olddefconfig"
		exit 1
	fi
done
log "building bzImage and modules with $(nproc) jobs (about 8 minutes on 2 cores)"
make -s -j"$(nproc)" bzImage modules >/dev/null
touch .tcpike-built
log "done: $tree"
echo "$tree"
