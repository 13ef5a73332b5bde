#!/bin/bash
# A Debian 12 (bookworm) root for the packaging tests (scripts/check-pkg.sh):
# debootstrap from Debian's archive, then what building, checking and
# installing the packages needs.  Cached under ~/.cache/tcpike like the
# test kernel; rebuilt when the package list below changes.  Prints the
# root's directory.
#
#   scripts/debian-root.sh [--print-dir]
set -euo pipefail

cache=${TCPIKE_CACHE:-$HOME/.cache/tcpike}
mirror=${TCPIKE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
pkgs=(
	# dpkg-buildpackage -b
	build-essential debhelper dh-dkms pkg-config libssl-dev libnl-3-dev
	libnl-genl-3-dev
	# checks of the result
	lintian
	# installing tcpike-dkms builds the module against Debian's 6.1 headers
	dkms linux-headers-amd64
	# the installed package: unit directories, completion, kill, setpriv
	systemd bash-completion procps util-linux
)
stamp=$(printf '%s\n' bookworm "$mirror" "${pkgs[@]}" | md5sum | cut -c1-12)
dir=$cache/debian12-root
if [ "${1:-}" = --print-dir ]; then
	echo "$dir"
	exit 0
fi
if [ -f "$dir/.tcpike-root-$stamp" ]; then
	echo "$dir"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "debian-root: needs root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null ||
	{ echo "debian-root: debootstrap missing (scripts/deps.sh installs it)" >&2; exit 1; }

tmp=$dir.new
rm -rf "$tmp"
mkdir -p "$cache"
echo "debian-root: debootstrap bookworm into $tmp" >&2
debootstrap --variant=minbase bookworm "$tmp" "$mirror" >"$cache/debian12-root.log" 2>&1 ||
	{ tail -n 20 "$cache/debian12-root.log" >&2; exit 1; }
cat >"$tmp/etc/apt/sources.list" <<EOS
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
EOS
# No service starts inside the root while packages are installed.
printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
chmod +x "$tmp/usr/sbin/policy-rc.d"
mount -t proc proc "$tmp/proc"
mount --bind /dev "$tmp/dev"
trap 'umount "$tmp/dev" "$tmp/proc" 2>/dev/null || true' EXIT
echo "debian-root: installing ${pkgs[*]}" >&2
if ! chroot "$tmp" /bin/sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq &&
	apt-get install -y -qq --no-install-recommends ${pkgs[*]} && apt-get clean" \
	>>"$cache/debian12-root.log" 2>&1; then
	tail -n 30 "$cache/debian12-root.log" >&2
	exit 1
fi
umount "$tmp/dev" "$tmp/proc"
trap - EXIT
rm -rf "$dir"
mv "$tmp" "$dir"
touch "$dir/.tcpike-root-$stamp"
echo "$dir"
