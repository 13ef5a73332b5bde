# Sourced first by the guest parts of the VM benchmarks (bench-b3-vm.sh,
# bench-b4-vm.sh, bench-b5-vm.sh): TOP, BIN (the optimised build, also when
# vm-run passes the ASan one), selftests/lib.sh.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$TOP/build}
case $BIN in */asan) BIN=${BIN%/asan} ;; esac
export TOP BIN
. "$TOP/selftests/lib.sh"
