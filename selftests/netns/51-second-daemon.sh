#!/bin/bash
# A second tcpiked must not hijack the first (issue 18): started in the same
# namespace it refuses to start, with a sentence saying why, and leaves the
# first one's control socket and UDP 500/4500 alone.
#   same control socket (other TCP port): refused, the socket still the first's
#   other control socket, same UDP ports: refused, no second UDP socket bound
# A socket file left by a daemon that died (SIGKILL) is still taken over.
# Bounded: about 10 s.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_pair "iks$$" || tap_skip_all "cannot build the namespace pair"

ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
ike_start "$NS_B" b || tap_skip_all "tcpiked did not start"
ino() { stat -c %i "$IKE_DIR/b.sock"; }
udp_socks() { ip netns exec "$NS_B" ss -Hulnp "sport = :$1" | wc -l; }
ino0=$(ino) u500=$(udp_socks 500) u4500=$(udp_socks 4500)

# second NAME SOCKET TCP-PORT: runs a second tcpiked on b's configuration
# with that control socket and TCP port; its exit status (124: still
# running after 5 s).
conf2() {
	sed -e "s|control_socket = .*|control_socket = $2|" \
	    -e "s|^daemon {|daemon {\n\ttcp_ports = $3|" "$IKE_DIR/b.conf" >"$IKE_DIR/$1.conf"
	chmod 600 "$IKE_DIR/$1.conf"
}
second() {
	conf2 "$@"
	ip netns exec "$NS_B" timeout -s KILL 5 "$BIN/tcpiked" -f "$IKE_DIR/$1.conf" \
		>"$IKE_DIR/$1.log" 2>&1
}

second b2 "$IKE_DIR/b.sock" 4501
rc=$?
tap_check "a second tcpiked on the same control socket refuses to start (exit $rc)" test $rc = 1
tap_check "it says another tcpiked answers on that socket" \
	grep -q "another tcpiked is running.*b.sock" "$IKE_DIR/b2.log"
[ $rc = 1 ] || tap_diag "$(tail -n 5 "$IKE_DIR/b2.log")"
tap_check "the first one's control socket is the same file and answers" \
	test "$(ino)" = "$ino0" -a -n "$(ike_ctl b status)"

second b3 "$IKE_DIR/b3.sock" 4502
rc=$?
tap_check "a second tcpiked on other control socket, same UDP ports, refuses to start (exit $rc)" test $rc = 1
tap_check "it says UDP port 500 is in use" grep -q "udp: cannot bind .*:500: Address already in use" "$IKE_DIR/b3.log"
[ $rc = 1 ] || tap_diag "$(tail -n 5 "$IKE_DIR/b3.log")"
tap_check "it left no control socket" test ! -e "$IKE_DIR/b3.sock"
tap_check "UDP 500 and 4500 bound by the first one only ($u500 and $u4500 sockets, as before)" \
	test "$(udp_socks 500)" = "$u500" -a "$(udp_socks 4500)" = "$u4500"
tap_check "the first one still answers" ike_ctl b status
ike_stop b

# A daemon killed with SIGKILL leaves its socket file: the next one takes it.
ike_start "$NS_B" b || tap_skip_all "tcpiked did not start"
kill -9 "${IKE_PID[b]}"; wait "${IKE_PID[b]}" 2>/dev/null; unset "IKE_PID[b]"
tap_check "a killed daemon left its socket file" test -S "$IKE_DIR/b.sock"
conf2 b4 "$IKE_DIR/b.sock" 4500
ip netns exec "$NS_B" "$BIN/tcpiked" -f "$IKE_DIR/b4.conf" >"$IKE_DIR/b4.log" 2>&1 &
IKE_PID[b4]=$!
tap_check "the next tcpiked starts on the stale socket and answers" wait_for 5 ike_ctl b status
ike_stop b4
tap_done
