# tcpiked built against OpenSSL 3.5 in the Debian 13 root
# (scripts/trixie-root.sh), for the post-quantum tests (netns/61, 65) and
# the post-quantum benchmark (bench/large-messages/run.sh --pq); source
# after lib.sh and ike.sh.
#
#   trixie_tcpiked ROOT   build tcpiked in ROOT with this tree bind-mounted
#       at /src, into build-trixie/ (ASan like $BIN's; make is incremental:
#       after the first run a few seconds), one TAP line; then point $BIN
#       at a wrapper that runs it in ROOT with $IKE_DIR (configs, sockets,
#       the backend's record) at the same path.  Ends the test when the
#       build fails.
#   trixie_build ROOT TARGET   make TARGET (e.g. build-trixie/tcpiked, the
#       -O2 one) in ROOT the same way; make's output on failure.
#   trixie_wrap ROOT PROGRAM   point $BIN at a wrapper that runs PROGRAM
#       (a path under /src, the tree) in ROOT, $IKE_DIR at the same path.
trixie_build() {
	"$TOP/scripts/kselftest-headers.sh" "$TOP/build-trixie/include" >/dev/null 2>&1
	unshare -m --propagation private sh -c '
		set -e
		mount -t proc proc "$1/proc"
		mount --rbind /dev "$1/dev"
		mount -t tmpfs tmpfs "$1/tmp"
		mkdir -p "$1/src"
		mount --bind "$2" "$1/src"
		chroot "$1" make -s -C /src -j2 O=build-trixie "$3"
	' sh "$1" "$TOP" "$2" 2>&1
}

trixie_wrap() {
	local wrap=$IKE_DIR/bin
	mkdir -p "$wrap"
	cat >"$wrap/tcpiked" <<EOW
#!/bin/sh
exec unshare -m --propagation private sh -c '
	mount -t proc proc "\$0/proc" && mount --rbind /dev "\$0/dev" &&
	mount -t tmpfs tmpfs "\$0/tmp" && mkdir -p "\$0/src" "\$0$IKE_DIR" &&
	mount --bind "$TOP" "\$0/src" && mount --bind "$IKE_DIR" "\$0$IKE_DIR" &&
	exec chroot "\$0" $2 "\$@"' "$1" "\$@"
EOW
	chmod +x "$wrap/tcpiked"
	BIN=$wrap
}

trixie_tcpiked() {
	local root=$1 out
	if ! out=$(trixie_build "$root" build-trixie/asan/tcpiked); then
		tap_fail "tcpiked builds in the Debian 13 root" "$(tail -n 20 <<<"$out")"
		tap_done
	fi
	tap_ok "tcpiked builds in the Debian 13 root against $(chroot "$root" openssl version | cut -d' ' -f1-2)"
	trixie_wrap "$root" /src/build-trixie/asan/tcpiked
}
