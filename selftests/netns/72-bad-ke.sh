#!/bin/bash
# Bad key exchange values sent at a live tcpiked responder by a peer that is
# not tcpiked: selftests/ikeprobe.py (Python, from the RFCs) makes each
# value and checks it in Python integers before it sends it (RFC 3526's
# prime and the Legendre symbol, RFC 5903's P-256 equation, RFC 7748's
# X25519 ladder), one IKE_SA_INIT request each with its own SPIi:
#   MODP-2048 (14)  0, 1, p-1, p (RFC 6989 §2.1: 1 < r < p-1); 255 and 257
#                   bytes (RFC 7296 §3.4: the prime's length); p-2 and a
#                   random value of Legendre symbol -1, of order 2q, outside
#                   the order-q subgroup (RFC 6989 §2.2's r^q = 1 test)
#   ECP-256 (19)    a point off the curve, x = y = 0 (RFC 6989 §2.3), 63 bytes
#   X25519 (31)     u = 0, u = 1, a point of order 8: an all-zero shared
#                   secret (RFC 7748 §6.1, through RFC 8031 §3.2)
# RFC 6989 §2.5: in IKE_SA_INIT the recipient MUST drop the message and
# MUST NOT use it to create the IKE SA; it MAY answer INVALID_SYNTAX.
# tcpiked answers: one response each, N(INVALID_SYNTAX) alone, SPIr zero
# (no state), read by the probe and counted on the wire; no IKE SA, no
# half-open one, in tcpikectl status; its log says why for each value.
# Then the control: each group's last SPIi again with a valid KE, and
# IKE_AUTH: established, the response opened under keys from the probe's
# own g^ir (so the bad request left nothing under that SPI either).
# Last, once an IKE SA is up: a rekey of it (CREATE_CHILD_SA) with X25519
# u = 0 gets INVALID_SYNTAX and the IKE SA is dropped (RFC 6989 §2.5); and
# tcpiked as the initiator of a rekey answered with u = 0 (by
# selftests/ikepeer.py) deletes its IKE SA by a Delete.
# Bounded: about 3 s alone on this host.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
probe_responder "ikk$$" proposals=aes256gcm16-prfsha256-x25519-ecp256-modp2048
PO=$IKE_DIR/bad.out
ip netns exec "$NS_A" timeout -s KILL 60 python3 -u "$TOP/selftests/ikeprobe.py" 10.0.0.1 10.0.0.2 \
	badke >"$PO" 2>&1
# the answer to each: INVALID_SYNTAX (7), the Notify payload (41) alone, SPIr zero
NONE='notify=7 payloads=41 spi_r=0000000000000000$'
bad() {	# bad GROUP LABEL WHAT
	saw "$3: INVALID_SYNTAX alone, SPIr zero" "^badke $1 $2 $NONE"
}
bad 14 0 "MODP-2048 KE 0"
bad 14 1 "MODP-2048 KE 1 (RFC 6989 2.1)"
bad 14 p-1 "MODP-2048 KE p-1 (RFC 6989 2.1)"
bad 14 p "MODP-2048 KE p"
bad 14 255-bytes "MODP-2048 KE of 255 bytes (RFC 7296 3.4)"
bad 14 257-bytes "MODP-2048 KE of 257 bytes, a leading zero (RFC 7296 3.4)"
bad 14 p-2-nonresidue "MODP-2048 KE p-2, Legendre symbol -1, order 2q (RFC 6989 2.2)"
bad 14 random-nonresidue "MODP-2048 KE random, Legendre symbol -1 (RFC 6989 2.2)"
bad 19 off-curve "ECP-256 KE off the curve (RFC 6989 2.3)"
bad 19 x=y=0 "ECP-256 KE x = y = 0"
bad 19 63-bytes "ECP-256 KE of 63 bytes"
bad 31 u=0 "X25519 KE u = 0, all-zero secret (RFC 7748 6.1)"
bad 31 u=1 "X25519 KE u = 1, all-zero secret"
bad 31 order-8 "X25519 KE of order 8, all-zero secret"
sent=$(grep -c '^badke ' "$PO")
wire_check "on the wire at b: $sent requests in, one response each out, nothing else" \
	b:in_ike500="$sent" b:out_ike500="$sent" b:in_ike4500=0 b:out_ike4500=0
tap_expect_eq "no IKE SA and no half-open one in b's status after the bad values (RFC 6989 2.5)" \
	"0 0" "$(ike_jq b "'%d %d' % (len(s['ike_sas']), s['half_open'])")"

# the log says why, once for each value (at most 8 a reason: under the
# rate limit of 10 a call site)
why() {	# why WHAT COUNT TEXT
	local n
	n=$(grep -cF "$3" "$IKE_DIR/b.log")
	tap_expect_eq "b's log says why: $1" "$2" "$n"
}
why "0, 1, p-1, p outside 1 < y < p-1" 4 "(group 14, modp_2048): outside 1 < y < p-1"
why "the two non-residues outside the order-q subgroup" 2 \
	"(group 14, modp_2048): not in the order-q subgroup (Legendre symbol -1)"
why "255 bytes" 1 "(group 14, modp_2048): 255 bytes, not 256"
why "257 bytes" 1 "(group 14, modp_2048): 257 bytes, not 256"
why "two points not on P-256" 2 "(group 19, P-256): not a point on the curve"
why "63 bytes" 1 "(group 19, P-256): 63 bytes, not 64"
why "three all-zero X25519 secrets" 3 "(group 31, X25519): all-zero shared secret (a low-order point)"

# the control: a valid KE of each group under the last bad request's SPIi
PO=$IKE_DIR/good.out
ip netns exec "$NS_A" timeout -s KILL 60 python3 -u "$TOP/selftests/ikeprobe.py" 10.0.0.1 10.0.0.2 \
	goodke >"$PO" 2>&1
saw "control: MODP-2048 with a valid KE under the SPIi of the last bad one: established, AUTH under the probe's g^ir" \
	'^goodke 14 established spi_i=bad0000e00000007 '
saw "control: ECP-256 likewise" '^goodke 19 established spi_i=bad0001300000002 '
saw "control: X25519 likewise" '^goodke 31 established spi_i=bad0001f00000002 '
tap_expect_eq "b's status: the three control IKE SAs, one per group, and nothing else" \
	"bad0000e00000007:MODP_2048 bad0001300000002:ECP_256 bad0001f00000002:CURVE25519" \
	"$(ike_jq b "' '.join(sorted(i['spi_i'] + ':' + i['proposal'].split('/')[-1] for i in s['ike_sas'] if i['state'] == 'ESTABLISHED' and len(s['ike_sas']) == 3))")"

# RFC 6989 §2.5 once the IKE SA is up: a CREATE_CHILD_SA request with an
# invalid KE MUST get INVALID_SYNTAX and the IKE SA dropped (RFC 7296
# §2.21.3: INVALID_SYNTAX is fatal to the IKE SA in both peers)
PO=$IKE_DIR/child.out
ip netns exec "$NS_A" timeout -s KILL 60 python3 -u "$TOP/selftests/ikeprobe.py" 10.0.0.1 10.0.0.2 \
	childke >"$PO" 2>&1
saw "an IKE SA rekey (CREATE_CHILD_SA) with X25519 KE u = 0: INVALID_SYNTAX (RFC 6989 2.5)" \
	'^childke rekey notify=7 spi_i='
saw "... and the IKE SA dropped: an INFORMATIONAL on it not answered (RFC 6989 2.5, RFC 7296 2.21.3)" \
	'^childke info silent$'
spi=$(sed -n 's/^childke rekey .* spi_i=\([0-9a-f]*\) .*/\1/p' "$PO")
tap_check "... nor listed in b's status (${spi:-no SPI})" \
	eval 'test -n "$spi" && ike_ctl b status >"$IKE_DIR/st" && ! grep -q "SPIs ${spi}_i" "$IKE_DIR/st"'
ike_stop b

# RFC 6989 §2.5, the initiator's side: tcpiked a rekeys its IKE SA with
# the Python responder (selftests/ikepeer.py at b's address), whose KEr is
# X25519 u = 0: a MUST delete the IKE SA at once, by a Delete in a new
# exchange, which the peer waits for on the old SA
. "$TOP/selftests/ikepeer.sh"
A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:py.test)
a_run rekey-zero --rekey-ke-mistake zero resp expect-delete:10
expect_established "a established with the Python responder" a
ike_ctl a rekey c ike >/dev/null
peer_wait 12
peer_ok $? "a's IKE SA rekey answered with KEr u = 0: a deleted the IKE SA by a Delete (RFC 6989 2.5)"
saw "... the peer had answered the rekey with KEr u = 0" '^ike-rekey-req answered KEr u=0$'
# within 2 s of the peer's exit (a rekey retried at a peer that is gone
# ends the IKE SA too, but only after its retransmissions)
tap_check "... and a keeps no IKE SA" ike_gone_soon a
tap_check "... a's log says why: an all-zero shared secret" \
	grep -qF "(group 31, X25519): all-zero shared secret" "$IKE_DIR/a.log"
ike_stop a
tap_done
