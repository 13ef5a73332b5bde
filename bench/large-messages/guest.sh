#!/bin/bash
# B2 inside the test VM (bench/large-messages/host.sh boots it):
#
#   scripts/vm-run -- env B2_N=20 B2_LOSSES="0 5" bench/large-messages/guest.sh
#
# Runs bench/large-messages/run.sh --vm (what it measures is described
# there and in host.sh) with its working files in the VM's /tmp.  Output:
# its lines ("B2VM setup ...", "B2VM point ...", "B2INFO ...", the
# progress lines "B2 ..."), and its complaints as "B2ERR sentence".
set -u
. "$(dirname "$0")/../lib/guest.sh"
# B2_PQ=1 (host.sh --pq): B6, run.sh --vm --pq
"$TOP/bench/large-messages/run.sh" --vm ${B2_PQ:+--pq} /tmp/b2vm 2> >(sed -u 's/^/B2ERR /')
rc=$?
# the sed above has written everything before the status line
wait
exit $rc
