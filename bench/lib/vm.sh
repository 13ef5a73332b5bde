#!/bin/bash
# Sourced by the benchmarks that run in the test VM (bench-b3.sh,
# bench-b4vm.sh, bench-b5vm.sh), from the project's top directory ($top).
# Their report writers share bench/lib/report_vm.py.
#
# vm_bench_raw NAME TAG TIMEOUT RAW FROM SCRIPT [VAR...]: fills RAW with the
# lines of one VM run of SCRIPT (scripts/vm-run, TIMEOUT seconds; each VAR
# passed into the guest by name), or, when FROM is not empty, with the
# saved raw file FROM.  Appends and reads back "<TAG>EXIT rc" and
# "<TAG>VMTIME seconds"; sets rc and vm_s.  NAME prefixes the errors.
vm_bench_raw() {
	local name=$1 tag=$2 timeout=$3 raw=$4 from=$5 script=$6 t0 v
	local env=()
	shift 6
	if [ -n "$from" ]; then
		[ "$from" -ef "$raw" ] || cp "$from" "$raw"
		rc=$(sed -n "s/^${tag}EXIT //p" "$raw" | tail -n 1)
		vm_s=$(sed -n "s/^${tag}VMTIME //p" "$raw" | tail -n 1)
		return 0
	fi
	[ "$(id -u)" = 0 ] || { echo "$name: run as root (the VM's namespaces)" >&2; exit 1; }
	make -s -j2 userspace >/dev/null || { echo "$name: userspace build failed" >&2; exit 1; }
	make -s module >/dev/null || { echo "$name: module build failed" >&2; exit 1; }
	[ -f tcpike.ko ] ||
		{ echo "$name: no tcpike.ko (the test kernel is not built: scripts/build-kernel.sh)" >&2; exit 1; }
	for v in "$@"; do
		env+=("$v=${!v}")
	done
	t0=$(date +%s)
	# (vm-run passes only TCPIKE_*, BIN and V into the guest: the rest by env)
	BIN=$top/build scripts/vm-run --timeout "$timeout" -- env "${env[@]}" "$script" >"$raw" 2>&1
	rc=$?
	vm_s=$(( $(date +%s) - t0 ))
	printf '%sEXIT %s\n%sVMTIME %s\n' "$tag" "$rc" "$tag" "$vm_s" >>"$raw"
}

# vm_bench_args NAME [--from-raw FILE] [OUTDIR]: the arguments both VM
# benchmarks take; sets from (the raw file to re-read, or empty) and out
# (made if missing, today's results directory by default).
vm_bench_args() {
	local name=$1
	shift
	from=
	if [ "${1:-}" = --from-raw ]; then
		from=${2:-}
		shift 2
		[ -r "$from" ] || { echo "$name: cannot read $from" >&2; exit 1; }
	fi
	out=${1:-bench/results/$(date -u +%Y-%m-%d)}
	mkdir -p "$out"
}

# vm_bench_show NAME TAG RESULT-ERE: after vm_bench_raw, the run's time, its
# TAGINFO and TAGERR lines and those matching RESULT-ERE on the terminal;
# fails (with the raw file's tail) when no line matches RESULT-ERE.
vm_bench_show() {
	local name=$1 tag=$2 re=$3
	echo "$name: VM run ${vm_s:-?} s, exit ${rc:-?}"
	grep -E "^${tag}(ERR|INFO)|$re" "$raw" | sed "s/^/$name: /"
	grep -qE "$re" "$raw" && return 0
	echo "$name: no results (see $raw)" >&2
	tail -n 30 "$raw" >&2
	return 1
}
