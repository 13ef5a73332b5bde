#!/bin/bash
# Extract kselftest_harness.h and kselftest.h from Debian's linux-source-6.12
# tarball into the given directory.  The harness is GPL-2.0 kernel code; it is
# used at build time and never committed to this repository.
set -euo pipefail
dest=${1:?usage: kselftest-headers.sh DIR}
tarball=/usr/src/linux-source-6.12.tar.xz
tree=$("$(dirname "$0")"/build-kernel.sh --print-dir)
mkdir -p "$dest"
for f in kselftest_harness.h kselftest.h; do
	if [ -f "$tree/tools/testing/selftests/$f" ]; then
		cp "$tree/tools/testing/selftests/$f" "$dest/$f.tmp"
	elif [ -r "$tarball" ]; then
		tar -xJOf "$tarball" "linux-source-6.12/tools/testing/selftests/$f" >"$dest/$f.tmp"
	else
		echo "kselftest-headers: need $tarball (scripts/deps.sh installs linux-source-6.12)" >&2
		exit 1
	fi
	mv "$dest/$f.tmp" "$dest/$f"
done
