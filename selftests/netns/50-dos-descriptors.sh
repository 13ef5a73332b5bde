#!/bin/bash
# Out of file descriptors (issue 18).  tcpiked's tcp_max (10,000 by
# default) needs more descriptors than a default service gets (1,024).
#   soft limit 100, hard limit high: tcpiked raises its soft limit to what
#     tcp_max needs;
#   soft = hard = 100: tcpiked lowers tcp_max to fit, says so, and a flood
#     of 150 stalled TCP connections and 60 idle control-socket clients
#     neither spins (log lines and CPU time bounded over 3 s) nor locks
#     out `tcpikectl status` or a legitimate peer over TCP.
# Bounded: about 20 s, 210 connections.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
command -v python3 >/dev/null || tap_skip_all "python3 not installed"
command -v prlimit >/dev/null || tap_skip_all "prlimit not installed"
. "$TOP/selftests/ike.sh"
topo_pair "ikf$$" || tap_skip_all "cannot build the namespace pair"
ip -n "$NS_A" addr add 10.0.0.3/24 dev va

EST_MAX_S=15
LOG_MAX=50		# lines above debug b may log while flooded for 3 s
CPU_MAX_TICKS=60	# user + system clock ticks (1/100 s) in those 3 s: 20 %
ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	"conn_extra=transport = tcp"
ike_conf b local=10.0.0.2 "remote=10.0.0.1, 10.0.0.3" \
	lts=192.168.2.0/24 rts=192.168.1.0/24 "daemon_extra=tcp_per_ip = 1000"
nofile() { awk '/^Max open files/ { print $4, $5 }' "/proc/${IKE_PID[$1]}/limits"; }

# --- a low soft limit under a high hard limit is raised ---------------------------
IKE_WRAP="prlimit --nofile=100:20000 --" ike_start "$NS_B" b || tap_skip_all "tcpiked did not start"
set -- $(nofile b)
tap_check "soft limit 100, hard 20000: tcpiked raised its soft limit for tcp_max = 10000 (now $1)" \
	test "$1" -ge 10000 -a "$1" -le 20000
ike_stop b

# --- hard limit 100: tcp_max lowered; floods neither spin nor lock out ------------
IKE_WRAP="prlimit --nofile=100:100 --" ike_start "$NS_B" b || tap_skip_all "tcpiked did not start"
ike_start "$NS_A" a || tap_skip_all "tcpiked did not start"
tap_check "hard limit 100: b says it lowered tcp_max to fit" \
	grep -q "tcp_max lowered to [0-9]* to fit" "$IKE_DIR/b.log"

F=$IKE_DIR/flood
cpu() { awk '{ print $14 + $15 }' "/proc/${IKE_PID[b]}/stat"; }
ip netns exec "$NS_A" python3 "$TOP/selftests/ikestream.py" --src 10.0.0.3 10.0.0.2 4500 \
	slow:150:8 >"$F.slow" 2>&1 & p_slow=$!
python3 - "$IKE_DIR/b.sock" >"$F.ctl" 2>&1 <<'EOF' & p_ctl=$!
import socket, sys, time
socks = []
for _ in range(60):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    socks.append(s)
time.sleep(6)
print("held", len(socks))
EOF
sleep 1
lines() { grep -vc ' debug: ' "$IKE_DIR/b.log"; }
l0=$(lines) c0=$(cpu)
sleep 3
l1=$(lines) c1=$(cpu)
tap_diag "over 3 s of flood: $((l1 - l0)) log lines, $((c1 - c0)) ticks of CPU"
tap_check "b logged at most $LOG_MAX lines (info and above) in 3 s of flood ($((l1 - l0)))" test $((l1 - l0)) -le $LOG_MAX
tap_check "b used at most $CPU_MAX_TICKS ticks of CPU in 3 s of flood ($((c1 - c0)))" \
	test $((c1 - c0)) -le $CPU_MAX_TICKS
t0=$(date +%s%N)
if timeout 2 "$BIN/tcpikectl" -s "$IKE_DIR/b.sock" status >/dev/null; then
	tap_ok "tcpikectl status answered during the flood in $(( ($(date +%s%N) - t0) / 1000000 )) ms (bound 2 s)"
else
	tap_fail "tcpikectl status answered during the flood within 2 s"
fi
t0=$(date +%s.%N)
ike_ctl a initiate c --no-wait >/dev/null
if wait_for $EST_MAX_S ike_established a; then
	tap_ok "legitimate peer over TCP established during the flood in $(echo "scale=1; ($(date +%s.%N) - $t0) / 1" | bc) s (bound ${EST_MAX_S} s)"
else
	tap_fail "legitimate peer over TCP established during the flood within ${EST_MAX_S} s"
	ike_log a; ike_log b
fi
wait $p_slow $p_ctl
tap_diag "slow: $(cat "$F.slow"); control: $(cat "$F.ctl")"
ike_stop a
ike_stop b
tap_done
