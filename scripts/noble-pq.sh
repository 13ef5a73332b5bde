#!/bin/bash
# @noble/post-quantum (ML-KEM, ML-DSA in JavaScript, not OpenSSL's), for the
# independent test peer (selftests/noblepq.mjs, ikev2.py): fetched once per
# machine from the npm registry into the cache beside the Debian roots,
# never into the tree.  No npm is needed (a fresh Debian 12 has none, and
# some machines carry a node of their own that Debian's npm conflicts
# with): the four packages, at the versions npm resolved for
# @noble/post-quantum 0.7.1, are downloaded with curl and each checked
# against the sha512 integrity the registry published for it (pinned
# below) before it is unpacked.
#
#   scripts/noble-pq.sh [--print-dir]
#
# Prints the directory holding node_modules/@noble/post-quantum on stdout;
# fails (status 1, the reason on stderr) when the registry cannot be
# reached or a download does not match its integrity and nothing is cached.
set -euo pipefail

version=0.7.1
cache=${TCPIKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcpike}
dir=$cache/noble-pq-$version
registry=${TCPIKE_NPM_REGISTRY:-https://registry.npmjs.org}
# name version sha512 (base64, as in the registry's dist.integrity)
pkgs=(
	"post-quantum 0.7.1 +P9981IiAnVh+rmcubozzVwrEy3XsN/tMhTnvsjV9VDaYpOnNCqWqKo2FLWxbu92YHfjGIlE5XnW175UK+ln+Q=="
	"ciphers 2.4.0 AnjFn0Jv92laAkvMrghlFZq4qQCIN/4DxFV/eooqtC2YTjB7kBeLMS2T9KJX4Dn+ZVXLOwK0lSgqDtx9gvxtiw=="
	"curves 2.4.0 P4/62zrgfH33CneE3Dn4WhJVA22YUU0eR51wKIan4NVRvwsA0YnPTwWGpNbpuacSujmSFLvyzpyuR30+fbq2Ew=="
	"hashes 2.4.0 X5XaVWZIBCT7HHZGm5I7ZQXDwLG+bGXuSrMQAW+7Zvl87h1kmc1ZB1VSRJcpUfoUrGQp4Fkoxm5kZ+Ms+aW+eA=="
)

if [ "${1:-}" = --print-dir ] || [ -f "$dir/.tcpike-ready" ]; then
	echo "$dir"
	exit 0
fi
command -v curl >/dev/null || {
	echo "noble-pq: curl missing (scripts/deps.sh installs it)" >&2
	exit 1
}
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/node_modules/@noble"
for p in "${pkgs[@]}"; do
	read -r name ver sum <<<"$p"
	tgz=$dir.tmp/$name-$ver.tgz
	if ! out=$(curl -fsS --retry 2 --max-time 60 -o "$tgz" \
		"$registry/@noble/$name/-/$name-$ver.tgz" 2>&1); then
		rm -rf "$dir.tmp"
		echo "noble-pq: cannot fetch @noble/$name@$ver from $registry (registry unreachable?): $out" >&2
		exit 1
	fi
	got=$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)
	if [ "$got" != "$sum" ]; then
		rm -rf "$dir.tmp"
		echo "noble-pq: @noble/$name@$ver does not match its pinned sha512 (got $got)" >&2
		exit 1
	fi
	mkdir -p "$dir.tmp/node_modules/@noble/$name"
	tar -xzf "$tgz" -C "$dir.tmp/node_modules/@noble/$name" --strip-components=1
	rm -f "$tgz"
done
touch "$dir.tmp/.tcpike-ready"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
echo "$dir"
