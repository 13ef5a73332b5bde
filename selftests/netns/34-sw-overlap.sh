#!/bin/bash
# Child SAs with identical traffic selectors, against strongSwan 5.9.8
# (charon, kernel-libipsec; tcpiked backend none).  The policies of
# identical selectors are shared by the Child SAs that have them (one
# reqid, as strongSwan and Libreswan do), installed once and deleted with
# the last of them, so
#   - charon's make-before-break reauthentication (make_before_break = yes,
#     reauth_time) sets up the new IKE SA and Child SA while the old ones
#     still stand and deletes the old ones after: tcpiked ends with the new
#     ones, nothing refused on the way, no gap in its policies
#   - a second Child SA with the same selectors, asked for by charon
#     (a second child config) and by tcpiked (two children with the same
#     selectors), is installed beside the first on both sides
# Each case is checked on both sides' status and on what tcpiked's backend
# was asked to install (TCPIKE_KB_NONE_RECORD).  No ESP flows: backend
# none installs nothing and charon's kernel-libipsec needs a peer with a
# data plane (the VM's xfrm/module runs carry ESP).
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
trap 'sw_cleanup; ike_cleanup' EXIT
swt_prereq swov

# kb_pol: "ADDS DELS", the policy requests tcpiked's backend got so far
kb_pol() {
	echo "$(grep -c '^policy-add' "$IKE_DIR/t.kb") $(grep -c '^policy-del' "$IKE_DIR/t.kb")"
}
# kb_reqids: the distinct reqids of the SAs and policies it was asked for
kb_reqids() {
	grep -E '^(sa|policy)-add' "$IKE_DIR/t.kb" | grep -o 'reqid [0-9]*' | sort -u |
		cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//'
}
# kb_sa_adds: SAs it was asked to add
kb_sa_adds() { grep -c '^sa-add' "$IKE_DIR/t.kb"; }
# the charon unique id of its first installed Child SA "net"
sw_first_child_id() {
	sw_ctl s --list-sas 2>/dev/null | sed -nE 's/^ *net: #([0-9]+),.*INSTALLED.*/\1/p' | head -1
}
no_refusal() {
	local l
	l=$(grep -E 'refused|installing a policy failed|TEMPORARY_FAILURE|NO_PROPOSAL_CHOSEN' \
		"$IKE_DIR/t.log" | head -3)
	if [ -z "$l" ]; then
		tap_ok "$1"
	else
		tap_fail "$1" "$l"
	fi
}
policies_once() {
	tap_expect_eq "$1: the policies of the selectors were installed once (out, in, fwd) and never deleted" \
		"3 0" "$(kb_pol)"
	tap_expect_eq "$1: every SA and policy under one reqid" 1 "$(kb_reqids | wc -w)"
}
gone() { swt_none && [ "$(kb_pol)" = "3 3" ]; }

# --- make-before-break reauthentication by charon -----------------------------
# (over_time: by default the old IKE SA's lifetime ends 1 s after the reauth
# starts, too soon on a loaded machine: charon then deletes it first)
swt_up -- "charon_extra=make_before_break = yes" "conn_extra=reauth_time = 12s;over_time = 60s;rand_time = 0s"
sw_initiate s >/dev/null
swt_wait 10 swt_agreed
old=$(swt_t_ike) old_child=$(swt_t_children)
reauthed() {
	swt_agreed && [ "$(swt_t_ike)" != "$old" ] && [ "$T_CHILD" != "$old_child" ]
}
swt_expect 30 "mbb: charon reauthenticates: both end with a new IKE SA and Child SA only" reauthed
# charon: the new IKE SA's Child SA established before the old IKE SA is
# deleted (break-before-make deletes c[1] first)
order=$(awk '/CHILD_SA net\{2\} established/ && !n { n = NR }
	     /deleting IKE_SA c\[1\]/ && !d { d = NR }
	     END { print (n && d && n < d) ? "new-first" : "n=" n " d=" d }' "$SW_DIR/s/charon.log")
tap_expect_eq "mbb: charon established the new Child SA before deleting the old IKE SA" \
	new-first "$order"
# the old Child SA's SAs (the first two added) went only after the new
# one's (the next two) were added
order=$(awk '$1 == "sa-add" { if (++a <= 2) old[$4] = 1; if (a == 4) n = NR }
	     $1 == "sa-del" && !d { d = NR; first = ($3 in old) }
	     END { print (n && d && first && n < d) ? "new-first" : "a=" a " n=" n " d=" d " first=" first }' \
	"$IKE_DIR/t.kb")
tap_expect_eq "mbb: tcpiked's backend added the new Child SA before deleting the old one" \
	new-first "$order"
policies_once mbb
tap_expect_eq "mbb: tcpiked failed no Child SA" 0 "$(ike_counter t child_failed)"
no_refusal "mbb: tcpiked refused nothing and no policy failed"
sw_terminate s >/dev/null
swt_expect 10 "mbb: charon deletes the IKE SA: nothing left, the policies deleted once" gone

# --- a second Child SA with the same selectors, from charon ----------------------
# (charon will not initiate a Child SA whose config equals an installed
# one's but for the name: net2 has net's selectors and another rekey_time;
# tcpiked takes both for its net)
swt_up -- "children_extra=net2 {;local_ts = 192.168.2.0/24;remote_ts = 192.168.1.0/24;esp_proposals = aes256gcm16;start_action = none;rekey_time = 50m;}"
sw_initiate s >/dev/null
swt_wait 10 swt_agreed
sw_ctl s --initiate --child net2 --timeout 30 >/dev/null
swt_expect 10 "charon asks for a second Child SA with the same selectors: two on both sides" \
	swt_agreed 2
tap_expect_eq "both Child SAs' SAs were installed" 4 "$(kb_sa_adds)"
policies_once "second (charon)"
no_refusal "second (charon): tcpiked refused nothing"
id=$(sw_first_child_id)
sw_ctl s --terminate --child-id "$id" --timeout 30 >/dev/null
swt_expect 10 "charon deletes the first Child SA: the second stays on both sides" swt_agreed 1
tap_expect_eq "... and the shared policies stay" "3 0" "$(kb_pol)"
sw_terminate s >/dev/null
swt_expect 10 "the last Child SA goes with the IKE SA: the policies deleted once" gone

# --- two children with the same selectors, initiated by tcpiked ------------------
swt_up "children_extra=net2 {;local_ts = 192.168.1.0/24;remote_ts = 192.168.2.0/24;esp_proposals = aes256gcm16;}"
ike_ctl t initiate c --no-wait >/dev/null
swt_expect 10 "tcpiked has two children with the same selectors: two Child SAs on both sides" \
	swt_agreed 2
policies_once "second (tcpiked)"
no_refusal "second (tcpiked): tcpiked refused nothing"
ike_ctl t terminate c >/dev/null
swt_expect 10 "tcpiked terminates: nothing left, the policies deleted once" gone

ike_stop t
sw_stop s
tap_done
