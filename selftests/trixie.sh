# tcpiked built against OpenSSL 3.5 in the Debian 13 root
# (scripts/trixie-root.sh), for the post-quantum tests (netns/61, 65);
# source after lib.sh and ike.sh.
#
#   trixie_tcpiked ROOT   build tcpiked in ROOT with this tree bind-mounted
#       at /src, into build-trixie/ (ASan like $BIN's; make is incremental:
#       after the first run a few seconds), one TAP line; then point $BIN
#       at a wrapper that runs it in ROOT with $IKE_DIR (configs, sockets,
#       the backend's record) at the same path.  Ends the test when the
#       build fails.
trixie_tcpiked() {
	local root=$1 out wrap=$IKE_DIR/bin
	"$TOP/scripts/kselftest-headers.sh" "$TOP/build-trixie/include" >/dev/null 2>&1
	if ! out=$(unshare -m --propagation private sh -c '
		set -e
		mount -t proc proc "$1/proc"
		mount --rbind /dev "$1/dev"
		mount -t tmpfs tmpfs "$1/tmp"
		mkdir -p "$1/src"
		mount --bind "$2" "$1/src"
		chroot "$1" make -s -C /src -j2 O=build-trixie build-trixie/asan/tcpiked
	' sh "$root" "$TOP" 2>&1); then
		tap_fail "tcpiked builds in the Debian 13 root" "$(tail -n 20 <<<"$out")"
		tap_done
	fi
	tap_ok "tcpiked builds in the Debian 13 root against $(chroot "$root" openssl version | cut -d' ' -f1-2)"
	mkdir -p "$wrap"
	cat >"$wrap/tcpiked" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c '
	mount -t proc proc "\$0/proc" && mount --rbind /dev "\$0/dev" &&
	mount -t tmpfs tmpfs "\$0/tmp" && mkdir -p "\$0/src" "\$0$IKE_DIR" &&
	mount --bind "$TOP" "\$0/src" && mount --bind "$IKE_DIR" "\$0$IKE_DIR" &&
	exec chroot "\$0" /src/build-trixie/asan/tcpiked "\$@"' "$root" "\$@"
EOF
	chmod +x "$wrap/tcpiked"
	BIN=$wrap
}
