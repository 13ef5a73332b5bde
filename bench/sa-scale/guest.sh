#!/bin/bash
# B5's VM part inside the test VM (bench/sa-scale/host.sh boots it):
#
#   scripts/vm-run -- bench/sa-scale/guest.sh
#
# 1. Time to install B5_PAIRS (10,000) SA pairs, each method in a fresh
#    namespace, B5_RUNS (3) rounds interleaved:
#      module  tools/tcpike-scale through the daemon's module backend (the
#              tcpike generic-netlink family), one request per SA
#      xfrm    the same through the daemon's plain-XFRM backend (XFRM netlink)
#      ip      `ip -batch` of `ip xfrm state add` lines (XFRM netlink from
#              iproute2), and of `ip xfrm state delete` for the removal
#    Each run must leave 2 x pairs states after the adds (ip only; the tool
#    checks every ack) and none after the deletes.
# 2. The module's NAT keepalives for B5_PEERS (100,000) UDP peers every 20 s
#    (RFC 3948's usual interval) through a dummy device: CPU busy over
#    B5_HOLD (40) s without and with them (/proc/stat), keepalives counted
#    by the module against the expected number.
# Output lines:
#   B5SA METHOD RUN PAIRS ADD_MS DEL_MS FIRST_MS LAST_MS
#   B5KA <tcpike-scale keepalive line>
# and "B5ERR sentence" on any failure (exit 1).
set -u
. "$(dirname "$0")/../lib/guest.sh"
PAIRS=${B5_PAIRS:-10000}
RUNS=${B5_RUNS:-3}
PEERS=${B5_PEERS:-100000}
HOLD=${B5_HOLD:-40}
BUDGET=${B5_BUDGET:-300}	# seconds at most for setting the keepalives
SCALE=$BIN/tools/tcpike-scale
WORK=/tmp/b5
mkdir -p "$WORK"
err=0
berr() { echo "B5ERR $*"; err=1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "B5INFO kernel $(uname -r), $(nproc) cpus, HZ $(getconf CLK_TCK) (USER_HZ)"
[ -x "$SCALE" ] || { berr "$SCALE not built"; exit 1; }
lsmod 2>/dev/null | grep -q '^tcpike ' || insmod "$TCPIKE_MODULE" ||
	{ berr "insmod $TCPIKE_MODULE failed"; exit 1; }

# fresh_ns NAME: a namespace with 10.0.0.1/8 on a dummy device (the
# peers 10.64.0.0/10 routable, their packets dropped by the device).
fresh_ns() {
	ns_add "$1" &&
	ip -n "$1" link add d0 type dummy &&
	ip -n "$1" addr add 10.0.0.1/8 dev d0 &&
	ip -n "$1" link set d0 up
}
nstates() { ip -n "$1" xfrm state count | sed -n 's/.*SAD count \([0-9]*\).*/\1/p'; }

# The ip -batch files: same SAs as tcpike-scale makes (AES-GCM-16-256,
# tunnel, reqid 1, inbound replay window 64, one key for all).
key=0x$(openssl rand -hex 36)
awk -v n="$PAIRS" -v k="$key" 'BEGIN {
	for (i = 0; i < n; i++) {
		a = 1 + i; p = sprintf("10.%d.%d.%d", 64 + int(a / 65536), int(a / 256) % 256, a % 256)
		printf "xfrm state add src 10.0.0.1 dst %s proto esp spi 0x%x reqid 1 mode tunnel aead rfc4106(gcm(aes)) %s 128\n", p, 1048576 + i, k
		printf "xfrm state add src %s dst 10.0.0.1 proto esp spi 0x%x reqid 1 mode tunnel aead rfc4106(gcm(aes)) %s 128 replay-window 64\n", p, 2147483648 + i, k
	}
}' >"$WORK/add.batch"
awk -v n="$PAIRS" 'BEGIN {
	for (i = 0; i < n; i++) {
		a = 1 + i; p = sprintf("10.%d.%d.%d", 64 + int(a / 65536), int(a / 256) % 256, a % 256)
		printf "xfrm state delete src 10.0.0.1 dst %s proto esp spi 0x%x\n", p, 1048576 + i
		printf "xfrm state delete src %s dst 10.0.0.1 proto esp spi 0x%x\n", p, 2147483648 + i
	}
}' >"$WORK/del.batch"
[ "$(wc -l <"$WORK/add.batch")" = $((2 * PAIRS)) ] || berr "ip batch file incomplete"

t0=$(date +%s)
for run in $(seq "$RUNS"); do
	for m in module xfrm ip; do
		ns=b5-$m-$run
		fresh_ns "$ns" || { berr "$m run $run: namespace"; continue; }
		if [ $m = ip ]; then
			a0=$(now_ms)
			ip -n "$ns" -batch "$WORK/add.batch" 2>"$WORK/ip.err" || berr "ip -batch add: $(head -c 300 "$WORK/ip.err")"
			a1=$(now_ms)
			c=$(nstates "$ns")
			[ "$c" = $((2 * PAIRS)) ] || berr "ip run $run: $c states after the adds, not $((2 * PAIRS))"
			d0=$(now_ms)
			ip -n "$ns" -batch "$WORK/del.batch" 2>"$WORK/ip.err" || berr "ip -batch delete: $(head -c 300 "$WORK/ip.err")"
			d1=$(now_ms)
			echo "B5SA ip $run $PAIRS $((a1 - a0)) $((d1 - d0)) - -"
		else
			line=$(ip netns exec "$ns" "$SCALE" sa --backend $m --pairs "$PAIRS" --budget 300 2>"$WORK/s.err") ||
				berr "$m run $run: $(head -c 300 "$WORK/s.err") $line"
			set -- $line
			kv() { local w; for w in "$@"; do case $w in "$K"=*) echo "${w#*=}" ;; esac; done; }
			K=pairs; p=$(kv "$@"); K=add_ms; a=$(kv "$@"); K=del_ms; d=$(kv "$@")
			K=first_ms; f=$(kv "$@"); K=last_ms; l=$(kv "$@")
			[ "${p:-0}" = "$PAIRS" ] || berr "$m run $run: $p pairs, not $PAIRS: $line"
			echo "B5SA $m $run ${p:-0} ${a:--} ${d:--} ${f:--} ${l:--}"
		fi
		c=$(nstates "$ns")
		[ "$c" = 0 ] || berr "$m run $run: $c states left after the deletes"
		ip netns del "$ns"
	done
	echo "B5INFO SA round $run done at $(( $(date +%s) - t0 )) s"
done

fresh_ns b5-ka || berr "keepalive namespace"
line=$(ip netns exec b5-ka "$SCALE" keepalive --peers "$PEERS" --interval 20 --hold "$HOLD" \
	--budget "$BUDGET" 2>"$WORK/k.err") || berr "keepalive: $(head -c 300 "$WORK/k.err")"
echo "B5KA $line"
echo "B5INFO keepalives done at $(( $(date +%s) - t0 )) s"
ns_cleanup
exit $err
