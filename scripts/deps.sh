#!/bin/bash
# Install every Debian 12 package that building, the demo and the tests
# need, and nothing else.  Idempotent: when everything is present it only
# checks (no apt run).  Needs root when something is missing.
set -euo pipefail

pkgs=(
	# build: userspace
	gcc make pkg-config libc6-dev libssl-dev libnl-3-dev libnl-genl-3-dev
	# build: module against Debian's 6.1 headers, and the 6.12 test kernel
	linux-headers-amd64 linux-source-6.12 bc flex bison libelf-dev cpio kmod
	xz-utils zstd dwarves perl
	# fuzzing and static checks
	clang libclang-rt-14-dev cppcheck
	# the VM test bed; debootstrap: the Debian 13 root of the post-quantum tests
	qemu-system-x86 linux-image-amd64 debootstrap
	# tests: namespaces, NAT, loss, captures, traffic
	iproute2 nftables tcpdump tshark iperf3 busybox-static procps psmisc
	python3 python3-cryptography bsdextrautils iputils-ping socat conntrack curl
	# packaging checks: man page lint, the Debian 12 root (scripts/check-pkg.sh)
	mandoc debootstrap strace
	# make bench: plots in the report
	gnuplot-nox
	# interop peer: strongSwan 5.9.8 (charon + swanctl; kernel-libipsec for the host)
	strongswan-charon strongswan-swanctl libcharon-extra-plugins
	libstrongswan-extra-plugins libstrongswan-standard-plugins
	# interop peer: Libreswan 4.10's libraries (the package itself conflicts
	# with strongSwan's and is unpacked privately by scripts/libreswan-root.sh)
	libnss3-tools libnss3 libnspr4 libcurl3-nss libevent-core-2.1-7
	libevent-pthreads-2.1-7 libldns3 libunbound8 libcap-ng0 libaudit1
	dns-root-data
)

missing=()
for p in "${pkgs[@]}"; do
	case "$p" in \#*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run scripts/deps.sh as root to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# charon must not start as a system service during install (no init here,
# and tests start their own instances).
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done" >&2
