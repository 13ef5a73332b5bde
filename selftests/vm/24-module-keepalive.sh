#!/bin/bash
# tcpike.ko NAT keepalives (RFC 3948): the kernel sends one 0xFF byte in
# UDP 4500 -> 4500 every interval, from one per-namespace work; they stop
# when removed; bad requests are refused; unload with a live keepalive is
# clean.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
module_load
topo_pair ka
ip netns exec "$NS_B" nft -f - <<'NFT'
table inet wire {
	chain in {
		type filter hook input priority -300;
		iifname "vb" ip saddr 10.0.0.1 udp sport 4500 udp dport 4500 udp length 9 @th,64,8 0xff counter comment "ka"
	}
}
NFT
cnt() { ip netns exec "$NS_B" nft list table inet wire | sed -n 's/.*counter packets \([0-9]*\) .*comment "ka".*/\1/p'; }
KA="ip netns exec $NS_A $NL keepalive --src 10.0.0.1 --dst 10.0.0.2 --sport 4500 --dport 4500"
tap_check "keepalive every 1 s set" $KA --interval 1
# Reading the counter takes a while under emulation: the window is timed
# from before the first read to after the second.
t0=$(date +%s)
c0=$(cnt)
sleep 5
c1=$(cnt)
t1=$(date +%s)
n=$((c1 - c0)) d=$((t1 - t0))
[ $n -ge $((d / 2)) ] && [ $n -le $((d + 2)) ] &&
	tap_ok "0xFF keepalives on the wire, about one a second ($n in $d s)" ||
	tap_fail "0xFF keepalives on the wire, about one a second" "$n in $d s"
st=$(ip netns exec "$NS_A" "$NL" stats | sed -n 2p)
case "$st" in "keepalives 1 sent "[1-9]*) tap_ok "module counts the keepalives ($st)" ;;
*) tap_fail "module counts the keepalives" "$st" ;; esac
tap_check "keepalive removed" $KA --interval 0
sleep 1
c2=$(cnt)
sleep 3
c3=$(cnt)
tap_expect_eq "no keepalive after removal" "$c2" "$c3"
out=$($KA --interval 0 2>&1)
case "$out" in *"no keepalive for these"*) tap_ok "removing an unknown keepalive refused" ;;
*) tap_fail "removing an unknown keepalive refused" "$out" ;; esac
out=$($KA --interval 5000 2>&1)
case "$out" in *"tcpike"*|*"range"*|*"policy"*) tap_ok "interval above 3600 s refused ($out)" ;;
*) tap_fail "interval above 3600 s refused" "$out" ;; esac
out=$(ip netns exec "$NS_A" "$NL" keepalive --src 10.0.0.1 --dst 10.0.0.2 --sport 4500 --dport 0 --interval 1 2>&1)
case "$out" in *"usage"*|*"non-zero"*) tap_ok "port 0 refused" ;;
*) tap_fail "port 0 refused" "$out" ;; esac
tap_check "keepalive set again, left running" $KA --interval 1
# Only what unload logs is looked at; the log is not cleared (vm-init and
# the debug runner read all of it at the end).
mark=$(dmesg | wc -l)
tap_check "rmmod with a live keepalive" rmmod tcpike
sleep 2
tap_expect_eq "no WARNING or BUG at unload" "" "$(dmesg | tail -n +$((mark + 1)) | grep -E 'WARNING|BUG|Oops')"
c4=$(cnt)
sleep 2
tap_expect_eq "no keepalive after unload" "$c4" "$(cnt)"
tap_done
