#!/bin/bash
# Recovery without an operator, against strongSwan 5.9.8 (charon,
# kernel-libipsec; tcpiked backend none), each ending with one IKE SA and
# one Child SA on both sides (status of each) and the log lines that say
# what happened asserted by content:
#   - keyingtries (default: for ever, with back-off): tcpiked starts the
#     connection (start_action = start) while charon is not up; charon
#     comes 20 s later; keyingtries = 2 (start_action = start in the
#     child this time) gives up after two attempts
#   - dpd_action = restart: charon killed and started again; tcpiked finds
#     it dead and initiates anew (with INITIAL_CONTACT)
#   - close_action = restart: charon deletes the IKE SA; tcpiked initiates
#     again
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
trap 'sw_cleanup; ike_cleanup' EXIT
swt_prereq swrc

# tcpiked's configuration for every case: retransmissions 1 s and 2 s,
# then 4 s more, so an attempt gives up after 7 s
T_FAST="retransmit_tries = 2;retransmit_base = 1s"

# --- keyingtries ------------------------------------------------------------------
ike_conf t local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	lid=fqdn:t.tcpike.test rid=fqdn:s.tcpike.test conn_extra="$T_FAST;start_action = start"
sw_conf s local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
	lid=s.tcpike.test rid=t.tcpike.test kernel=libipsec
ike_start "$NS_A" t
sleep 20
sw_start "$NS_B" s
swt_expect 25 "keyingtries (default): charon up 20 s after tcpiked started the connection; established" \
	swt_agreed
swt_t_log_has "the first attempt failed, the second was due a second later" \
	'c\[1\]: connecting failed \(attempt 1 of unlimited\): peer did not answer; next attempt in 1s$'
swt_t_log_has "... the third two seconds later" \
	': connecting failed \(attempt 2 of unlimited\): peer did not answer; next attempt in 2s$'
swt_t_log_has "... and each attempt said which it was" 'c\[2\]: initiating to c \(attempt 2\)$'
tap_expect_eq "no attempt is due any more" "[]" "$(ike_jq t "s['retries']")"

ike_stop t
sw_stop s
ike_conf t local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	lid=fqdn:t.tcpike.test rid=fqdn:s.tcpike.test \
	conn_extra="$T_FAST;keyingtries = 2" child_extra="start_action = start"
ike_start "$NS_A" t
gave_up() {
	grep -q ': connecting failed (attempt 2 of 2): peer did not answer; giving up$' "$IKE_DIR/t.log" &&
		[ "$(ike_jq t "(len(s['ike_sas']), s['retries'])")" = "(0, [])" ]
}
swt_expect 20 "keyingtries = 2 and no peer (start_action = start in the child, where swanctl.conf puts it): two attempts, then it gives up with nothing left" gave_up
swt_t_log_has "... having said the first would be followed" \
	'c\[1\]: connecting failed \(attempt 1 of 2\): peer did not answer; next attempt in 1s$'

# --- dpd_action = restart ------------------------------------------------------------
swt_up conn_extra="$T_FAST;dpd_delay = 2s;dpd_action = restart"
ike_ctl t initiate c --no-wait >/dev/null
swt_wait 10 swt_agreed
old=$(swt_t_ike)
sw_kill s
sw_start "$NS_B" s
restarted() { swt_agreed && [ "$(swt_t_ike)" != "$old" ]; }
swt_expect 30 "dpd_action = restart: charon killed and started again; tcpiked established anew" restarted
swt_t_log_has "tcpiked found the peer dead and said what it does" \
	'c\[1\]: dpd_action = restart: initiating c again$'
swt_s_log_has "... with INITIAL_CONTACT, as charon saw" 'parsed IKE_AUTH request 1 \[ .*N\(INIT_CONTACT\)'

# --- close_action = restart ------------------------------------------------------------
swt_up conn_extra="$T_FAST;close_action = restart"
ike_ctl t initiate c --no-wait >/dev/null
swt_wait 10 swt_agreed
old=$(swt_t_ike)
sw_terminate s >/dev/null
swt_expect 15 "close_action = restart: charon deleted the IKE SA; tcpiked established it again" restarted
swt_t_log_has "tcpiked said why" \
	'c: close_action = restart: initiating again in 2s unless the peer does first$'

ike_stop t
sw_stop s
tap_done
