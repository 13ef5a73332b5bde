#!/bin/bash
# make style: the kernel's checkpatch.pl on kernel/ and uapi/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tree=$("$top/scripts/build-kernel.sh" --print-dir)
cp=$tree/scripts/checkpatch.pl
if [ ! -x "$cp" ]; then
	echo "style: $cp missing (run scripts/build-kernel.sh to unpack the tree)" >&2
	exit 1
fi
cd "$top"
files=$(ls kernel/*.[ch] uapi/linux/*.h 2>/dev/null || true)
[ -n "$files" ] || { echo "style: no kernel sources yet"; exit 0; }
# --no-tree: an out-of-tree module (spelling.txt is found next to checkpatch.pl).
"$cp" --no-tree --strict --terse --show-types --ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG \
	-f $files
