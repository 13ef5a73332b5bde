#!/bin/bash
# make fuzz: build every libFuzzer harness (userspace/fuzz/fuzz_*.c) with
# clang, ASan and UBSan, and run each for a bounded time on its corpus.
#
#   scripts/fuzz.sh [--seconds N] [--runs N] [NAME...]
#
# Seeds come from userspace/fuzz/corpus/NAME/ (committed); new inputs found
# go to build/fuzz/corpus/NAME/.  Crashes are written to build/fuzz/ and
# make the run fail: turn each into a regression test.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
seconds=${FUZZ_SECONDS:-60}
runs=
names=()
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) names+=("$1"); shift ;;
	esac
done
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
make -s -j"$(nproc)" O=build/fuzz CC=clang \
	CFLAGS="-O1 -g -fsanitize=fuzzer-no-link $san -Wno-unknown-warning-option" \
	build/fuzz/libtcpike.a
libs="$(pkg-config --libs openssl libnl-3.0 libnl-genl-3.0) -lm"
incs="-Iuapi -Iuserspace -Iuserspace/lib -Iuserspace/ike -Iuserspace/daemon -Iuserspace/kernel $(pkg-config --cflags libnl-3.0)"
status=0
for src in userspace/fuzz/fuzz_*.c; do
	[ -e "$src" ] || { echo "fuzz: no harnesses"; exit 0; }
	name=$(basename "$src" .c)
	name=${name#fuzz_}
	if [ ${#names[@]} -gt 0 ] && ! printf '%s\n' "${names[@]}" | grep -qx "$name"; then
		continue
	fi
	bin=build/fuzz/fuzz_$name
	clang -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer $san $incs "$src" build/fuzz/libtcpike.a $libs -o "$bin"
	mkdir -p "build/fuzz/corpus/$name" "userspace/fuzz/corpus/$name"
	echo "fuzz: $name for ${runs:+$runs runs / }${seconds}s"
	if ! "$bin" -max_total_time="$seconds" ${runs:+-runs=$runs} -print_final_stats=1 \
		-artifact_prefix="build/fuzz/$name-" \
		"build/fuzz/corpus/$name" "userspace/fuzz/corpus/$name" 2>"build/fuzz/$name.log"; then
		echo "fuzz: $name FAILED, see build/fuzz/$name.log and build/fuzz/$name-*" >&2
		tail -n 40 "build/fuzz/$name.log" >&2
		status=1
	fi
	grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "build/fuzz/$name.log" | sed "s/^/fuzz: $name /"
done
exit $status
