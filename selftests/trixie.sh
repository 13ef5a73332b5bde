# tcpiked built against OpenSSL 3.5 in the Debian 13 root
# (scripts/trixie-root.sh), for the post-quantum tests (netns/61, 65, 67) and
# the post-quantum benchmark (bench/large-messages/run.sh --pq);
# source after lib.sh and ike.sh.
#
#   trixie_tcpiked ROOT   build tcpiked in ROOT with this tree bind-mounted
#       at /src, into build-trixie/ (ASan like $BIN's; make is incremental:
#       after the first run a few seconds), one TAP line; then point $BIN
#       at a wrapper that runs it in ROOT with $IKE_DIR (configs, sockets,
#       the backend's record) at the same path.  Ends the test when the
#       build fails.
#   trixie_unit ROOT NAME   build the unit test userspace/tests/NAME.c there
#       (build-trixie/asan/tests/NAME) and run it in ROOT from /src: a TAP
#       line for each of its tests (a SKIP stays one), one failing line
#       when it does not build
#   trixie_noble ROOT DIR   the Python peer's @noble/post-quantum
#       (ikev2.py Noble) run by ROOT's node (Debian 13's, 20.19: noble
#       0.7.1 needs 20.19 or later), DIR (scripts/noble-pq.sh) at /noble
#       and the tree at /src: exports TCPIKE_NOBLE_CMD
#   trixie_make ROOT TARGET...  make -C /src O=build-trixie TARGET... in ROOT
#   trixie_pq_roots   for the tests against charon 6.1 (netns/61, vm/42):
#       troot (the Debian 13 root) and sroot (scripts/strongswan-pq-root.sh)
#       from TCPIKE_DEBIAN13_ROOT and TCPIKE_SWPQ_ROOT, by default the
#       cached ones (make check builds them, and exports them for the VM);
#       skips the test when one is missing, or swanctl is
#   trixie_wrap ROOT PROGRAM   point $BIN at a wrapper that runs PROGRAM
#       (a path under /src, the tree: build-trixie/tcpiked is the -O2 one,
#       for bench/large-messages/run.sh --pq) in ROOT, $IKE_DIR at the same
#       path
#   trixie_pki ROOT DIR EE...   an ML-DSA-65 PKI made by ROOT's openssl 3.5
#       in DIR: ca and other-ca (.pem, .key), and for each EE EE.pem
#       (CN and DNS name EE.tcpike.test, signed by ca) and EE.key; prints
#       the first EE's certificate as text; its output is the error when it
#       fails
trixie_tcpiked() {
	local root=$1 out
	if ! out=$(trixie_make "$root" build-trixie/asan/tcpiked 2>&1); then
		tap_fail "tcpiked builds in the Debian 13 root" "$(tail -n 20 <<<"$out")"
		tap_done
	fi
	tap_ok "tcpiked builds in the Debian 13 root against $(chroot "$root" openssl version | cut -d' ' -f1-2)"
	trixie_wrap "$root" /src/build-trixie/asan/tcpiked
}

trixie_pq_roots() {
	troot=${TCPIKE_DEBIAN13_ROOT:-$("$TOP/scripts/trixie-root.sh" --print-dir)}
	sroot=${TCPIKE_SWPQ_ROOT:-$("$TOP/scripts/strongswan-pq-root.sh" --print-dir)}
	[ -x "$troot/usr/bin/gcc" ] && [ -f "$troot/usr/include/openssl/opensslv.h" ] ||
		tap_skip_all "no Debian 13 root at $troot (scripts/trixie-root.sh)"
	[ -x "$sroot/usr/lib/ipsec/charon" ] ||
		tap_skip_all "no strongSwan root with ML-KEM at $sroot (scripts/strongswan-pq-root.sh)"
	command -v swanctl >/dev/null || tap_skip_all "swanctl (strongswan-swanctl) not installed"
}

trixie_wrap() {
	local wrap=$IKE_DIR/bin
	mkdir -p "$wrap"
	cat >"$wrap/tcpiked" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c '
	mount -t proc proc "\$0/proc" && mount --rbind /dev "\$0/dev" &&
	mount -t tmpfs tmpfs "\$0/tmp" && mkdir -p "\$0/src" "\$0$IKE_DIR" &&
	mount --bind "$TOP" "\$0/src" && mount --bind "$IKE_DIR" "\$0$IKE_DIR" &&
	exec chroot "\$0" $2 "\$@"' "$1" "\$@"
EOF
	chmod +x "$wrap/tcpiked"
	BIN=$wrap
}

trixie_make() {
	local root=$1
	shift
	"$TOP/scripts/kselftest-headers.sh" "$TOP/build-trixie/include" >/dev/null 2>&1
	unshare -m --propagation private sh -c '
		set -e
		r=$1 top=$2
		shift 2
		mount -t proc proc "$r/proc"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs tmpfs "$r/tmp"
		mkdir -p "$r/src"
		mount --bind "$top" "$r/src"
		chroot "$r" make -s -C /src -j2 O=build-trixie "$@"
	' sh "$root" "$TOP" "$@"
}

trixie_unit() {
	local root=$1 name=$2 out line
	if ! out=$(trixie_make "$root" "build-trixie/asan/tests/$name" 2>&1); then
		tap_fail "$name builds in the Debian 13 root" "$(tail -n 20 <<<"$out")"
		return
	fi
	out=$(unshare -m --propagation private sh -c '
		mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" &&
		mount -t tmpfs tmpfs "$1/tmp" && mkdir -p "$1/src" &&
		mount --bind "$2" "$1/src" &&
		exec chroot "$1" sh -c "cd /src && exec build-trixie/asan/tests/$3"
	' sh "$root" "$TOP" "$name" 2>&1)
	while IFS= read -r line; do
		case $line in
		"ok "*"# SKIP"*)
			line=${line#ok * }
			tap_skip "$name: ${line%% # SKIP*}" "${line#* # SKIP }" ;;
		"ok "*) line=${line#ok * }; tap_ok "$name: $line" ;;
		"not ok "*)
			line=${line#not ok * }
			tap_fail "$name: $line" "in the Debian 13 root:"
			grep -E '^#' <<<"$out" | tail -n 15 ;;
		esac
	done <<<"$out"
	grep -qE '^(not )?ok ' <<<"$out" ||
		tap_fail "$name runs in the Debian 13 root" "$(tail -n 15 <<<"$out")"
}

trixie_noble() {
	local root=$1 dir=$2 wrap=$IKE_DIR/bin
	mkdir -p "$wrap"
	cat >"$wrap/noblepq" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c '
	mount -t proc proc "\$0/proc" && mount --rbind /dev "\$0/dev" &&
	mkdir -p "\$0/src" "\$0/noble" &&
	mount --bind "$TOP" "\$0/src" && mount --bind "$dir" "\$0/noble" &&
	exec chroot "\$0" node /src/selftests/noblepq.mjs /noble' "$root"
EOF
	chmod +x "$wrap/noblepq"
	export TCPIKE_NOBLE_CMD=$wrap/noblepq
}

trixie_pki() {
	local root=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	unshare -m --propagation private sh -c '
	r=$1 d=$2
	shift 2
	mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" &&
	mkdir -p "$r$d" && mount --bind "$d" "$r$d" && exec chroot "$r" sh -ec "
	cd $d
	umask 077
	for ca in ca other-ca; do
		openssl req -x509 -newkey ML-DSA-65 -nodes -keyout \$ca.key -out \$ca.pem \
			-days 2 -subj /O=tcpike/CN=\$ca-ML-DSA-65 \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign
	done
	for ee in $*; do
		openssl req -newkey ML-DSA-65 -nodes -keyout \$ee.key -out \$ee.csr \
			-subj /O=tcpike/CN=\$ee.tcpike.test
		printf \"basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nsubjectAltName=DNS:%s\n\" \
			\$ee.tcpike.test > \$ee.ext
		openssl x509 -req -in \$ee.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-days 2 -extfile \$ee.ext -out \$ee.pem
	done
	chmod 644 ./*.pem
	openssl x509 -in $1.pem -noout -text"' sh "$root" "$dir" "$@"
}
