#!/bin/bash
# @noble/post-quantum (ML-KEM, ML-DSA in JavaScript, not OpenSSL's), for the
# independent test peer (selftests/noblepq.mjs, ikev2.py): installed once
# per machine with npm from the npm registry, version pinned (its own
# dependencies are pinned exactly by its package.json), into the cache
# beside the Debian roots; never into the tree.
#
#   scripts/noble-pq.sh [--print-dir]
#
# Prints the directory holding node_modules/@noble/post-quantum on stdout;
# fails (status 1, the reason on stderr) when npm is missing or the registry
# cannot be reached and nothing is cached yet.
set -euo pipefail

version=0.7.1
cache=${TCPIKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcpike}
dir=$cache/noble-pq-$version

if [ "${1:-}" = --print-dir ] || [ -f "$dir/.tcpike-ready" ]; then
	echo "$dir"
	exit 0
fi
command -v npm >/dev/null || {
	echo "noble-pq: npm missing (scripts/deps.sh installs it)" >&2
	exit 1
}
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"
echo '{ "private": true }' >"$dir.tmp/package.json"
if ! out=$(cd "$dir.tmp" && timeout 120 npm install --no-audit --no-fund --ignore-scripts \
	--save-exact "@noble/post-quantum@$version" 2>&1); then
	rm -rf "$dir.tmp"
	printf '%s\n' "$out" | tail -n 5 >&2
	echo "noble-pq: npm could not install @noble/post-quantum@$version (npm registry unreachable?)" >&2
	exit 1
fi
touch "$dir.tmp/.tcpike-ready"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
echo "$dir"
