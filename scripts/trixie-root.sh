#!/bin/bash
# A Debian 13 ("trixie") root with OpenSSL 3.5, for building tcpiked against
# it and running the post-quantum tests (ML-KEM, ML-DSA) inside it.  Debian
# 12 has OpenSSL 3.0, which has neither.  Built once per machine with
# debootstrap from Debian's archive and cached like the test kernel, under a
# name keyed by this script's package list (scripts/debootstrap-root.sh).
#
#   scripts/trixie-root.sh [--print-dir]
#
# Prints the root's path on stdout.  Enter it with scripts/trixie-run.
set -euo pipefail

pkgs=(
	# build
	gcc make pkg-config libc6-dev libssl-dev openssl libnl-3-dev libnl-genl-3-dev
	# tests: namespaces, the independent peer (python3 + cryptography; node
	# for @noble/post-quantum, an ML-KEM that is not OpenSSL's)
	iproute2 nftables procps psmisc python3 python3-cryptography python3-cffi-backend nodejs
	ca-certificates
)
exec "$(dirname "$0")/debootstrap-root.sh" trixie-root trixie "$@" -- \
	$(printf '%s\n' "${pkgs[@]}")
