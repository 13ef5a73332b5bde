#!/bin/bash
# A client that comes again with the same identity and without
# INITIAL_CONTACT (issue 22: unique, per-client limits), seen from outside
# tcpiked: selftests/ikepeer.py sends no INITIAL_CONTACT, and two of them
# run as one client (IDi fqdn:py.test) from two addresses (10.0.0.1, then
# 10.0.0.3: it moved) against a %any responder (b, backend none).  What
# each peer saw is its own output; b's view is tcpikectl status and its log.
#
#   replace (default), over UDP and over TCP (RFC 9329): the first peer
#                     gets an INFORMATIONAL Delete of its IKE SA (over its
#                     TCP connection, which then closes); b has one IKE
#                     SA, the second peer's
#   keep              the second peer's IKE_AUTH is refused with
#                     AUTHENTICATION_FAILED; the first peer gets no Delete
#                     and b keeps its IKE SA; the log names both SAs
#   never + ike_sas_per_id = 1: the limit refuses the second with
#                     AUTHENTICATION_FAILED, logged with the identity
#   never             both stay
#   child_sas_max = 2 one client's third Child SA (CREATE_CHILD_SA) is
#                     refused with NO_ADDITIONAL_SAS, the IKE SA stays
# (Virtual IPs across the replacement: test_engine.c's
# unique_replace_keeps_the_vip; ikepeer.py sends no CP payload.)
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_pair "iku$$" || tap_skip_all "cannot build the namespace pair"
. "$TOP/selftests/ikepeer.sh"
ip -n "$NS_A" addr add 10.0.0.3/24 dev va

B_ARGS=(local=10.0.0.2 remote=%any lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:py.test)

# b's established TCP connections on 4500, by peer address; whether the
# first peer's is gone
b_tcp() {
	ip netns exec "$NS_B" ss -Htn state established '( sport = :4500 )' |
		awk '{print $4}' | sed 's/:[0-9]*$//' | sort | tr '\n' ' '
}
first_gone() { ! b_tcp | grep -q '^10\.0\.0\.1 '; }

# two_peers CASE "B conf extra" FIRST-ACTION START: b starts; the first
# peer (10.0.0.1) establishes and runs FIRST-ACTION, then the second
# (10.0.0.3, its local selector LTS2 if set) initiates and serves 2 s;
# both are waited for.  PO1/PO2 are
# their outputs, RC1/RC2 their exit status.
two_peers() {
	local start=(--start udp500 --no-notify)

	[ "$4" = tcp ] && start=(--start tcp --no-notify)
	PO1=$IKE_DIR/peer-$1-1.out PO2=$IKE_DIR/peer-$1-2.out
	[ -n "${IKE_PID[b]:-}" ] && ike_stop b
	ike_conf b "${B_ARGS[@]}" ${2:+"$2"} && ike_start "$NS_B" b || { tap_fail "$1: b started"; return 1; }
	peer_start "$NS_A" "$PO1" --local 10.0.0.1 --id py.test "${start[@]}" init 10.0.0.2 "$3" ||
		tap_fail "$1: the first peer started"
	P1=$PEER_PID
	wait_for 15 grep -qE '^(established|FAIL)' "$PO1"
	tap_check "$1: the first peer established" grep -q '^established' "$PO1"
	peer_start "$NS_A" "$PO2" --local 10.0.0.3 --id py.test "${start[@]}" ${LTS2:+--lts "$LTS2"} \
		init 10.0.0.2 serve:2 ||
		tap_fail "$1: the second peer started"
	P2=$PEER_PID
	wait_for 15 grep -qE '^(established|FAIL)' "$PO2"
	B_COUNT=$(ike_count b)
	B_PEERS=$(ike_jq b "' '.join(sorted(i['remote'] for i in s['ike_sas'] if i['state']=='ESTABLISHED'))")
	# Over TCP the first peer's connection goes once it has answered
	# b's Delete and closed it (b keeps a connection its peer opened,
	# TCP-22): that may come after the second peer has established, so
	# wait for it, 5 s at most, while the second peer still serves.
	[ "$4" = tcp ] && wait_for 5 first_gone
	B_TCP=$(b_tcp)
	PEER_PID=$P2; peer_wait 10; RC2=$?
	PEER_PID=$P1; peer_wait 10; RC1=$?
}

for t in udp tcp; do
	two_peers "replace-$t" "" expect-delete:10 "$t"
	PO=$PO1
	peer_ok "$RC1" "replace over $t: the first peer got a Delete of its IKE SA and answered it"
	saw "replace over $t: ... as an INFORMATIONAL Delete of the IKE SA" '^peer deleted the IKE SA$'
	PO=$PO2
	peer_ok "$RC2" "replace over $t: the second peer established"
	saw "replace over $t: on $t" "^established transport=$t"
	tap_expect_eq "replace over $t: b has one IKE SA, the second peer's" "1 10.0.0.3" "$B_COUNT $B_PEERS"
	tap_check "replace over $t: b logged the replacement with both SAs and the identity" \
		grep -qE 'c\[[0-9]+\]: replaces c\[[0-9]+\] of py.test \(unique = replace\)' "$IKE_DIR/b.log"
	if [ "$t" = tcp ]; then
		tap_expect_eq "replace over tcp: b's TCP connection to the first peer is closed" \
			"10.0.0.3 " "$B_TCP"
	fi
done

two_peers keep "conn_extra=unique = keep" serve:4 udp
PO=$PO2
tap_check "keep: the second peer did not establish" test "$RC2" != 0
saw "keep: ... refused with AUTHENTICATION_FAILED" '^FAIL: IKE_AUTH error notify 24$'
PO=$PO1
peer_ok "$RC1" "keep: the first peer served on"
not_saw "keep: the first peer got no Delete" '^peer deleted'
tap_expect_eq "keep: b has one IKE SA, the first peer's" "1 10.0.0.1" "$B_COUNT $B_PEERS"
tap_check "keep: b logged the refusal with both SAs and the identity" \
	grep -qE 'c\[[0-9]+\]: IKE SA of py.test refused \(unique = keep\): c\[[0-9]+\] is up' "$IKE_DIR/b.log"

two_peers limit "conn_extra=unique = never;ike_sas_per_id = 1" serve:4 udp
PO=$PO2
tap_check "ike_sas_per_id = 1: the second peer did not establish" test "$RC2" != 0
saw "ike_sas_per_id = 1: ... refused with AUTHENTICATION_FAILED" '^FAIL: IKE_AUTH error notify 24$'
tap_expect_eq "ike_sas_per_id = 1: b has one IKE SA, the first peer's" "1 10.0.0.1" "$B_COUNT $B_PEERS"
tap_check "ike_sas_per_id = 1: b logged the identity and the limit" \
	grep -q 'IKE SA refused: 1 IKE SAs of py.test up, the limit (ike_sas_per_id)' "$IKE_DIR/b.log"

# the second tunnel's selectors must differ from the first's (b would
# refuse its Child SA: a policy of another tunnel holds them)
LTS2=192.168.1.128/25 two_peers never "conn_extra=unique = never" serve:4 udp
PO=$PO1
peer_ok "$RC1" "never: the first peer served on"
not_saw "never: the first peer got no Delete" '^peer deleted'
PO=$PO2
peer_ok "$RC2" "never: the second peer established"
tap_expect_eq "never: b has both IKE SAs" "2 10.0.0.1 10.0.0.3" "$B_COUNT $B_PEERS"

# child_sas_max = 2: the peer's first CREATE_CHILD_SA is answered, the
# second refused with NO_ADDITIONAL_SAS (35, RFC 7296 section 3.10.1)
PO=$IKE_DIR/peer-children.out
ike_stop b
ike_conf b "${B_ARGS[@]}" "conn_extra=child_sas_max = 2" && ike_start "$NS_B" b ||
	tap_fail "children: b started"
peer_start "$NS_A" "$PO" --local 10.0.0.1 --id py.test --start udp500 --no-notify \
	init 10.0.0.2 child child info || tap_fail "children: the peer started"
peer_wait 15; peer_ok $? "child_sas_max = 2: the peer ran its exchanges"
saw "child_sas_max = 2: the second Child SA was made" '^child created$'
saw "child_sas_max = 2: the third was refused with NO_ADDITIONAL_SAS" '^child refused notify=35$'
saw "child_sas_max = 2: the IKE SA stayed (an INFORMATIONAL answered after)" '^info answered'
tap_expect_eq "child_sas_max = 2: b has two Child SAs" 2 \
	"$(ike_jq b "len([c for c in s['ike_sas'][0]['children'] if c['state']=='INSTALLED'])")"
tap_check "child_sas_max = 2: b logged the identity and the limit" \
	grep -q 'refused (NO_ADDITIONAL_SAS): 2 Child SAs of py.test up, the limit (child_sas_max)' \
	"$IKE_DIR/b.log"

ike_stop b
tap_done
