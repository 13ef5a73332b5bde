#!/bin/bash
# Issue 18's RFC conformance fixes, seen on the wire by a peer that is not
# tcpiked: selftests/ikeprobe.py (Python, written from RFC 7296 and RFC
# 7383) sends crafted requests over UDP 500 to tcpiked b and reports what
# came back; nft counts the datagrams both ways at b.  A "silent" check
# sends a probe after the crafted request and waits for the probe's answer
# (plus 0.3 s): b answers in order, so an answer to the crafted request
# would have come first.
#   9de021c  17 proposals, only the 17th acceptable: proposal 17 chosen;
#            a proposal of 35 transforms whose acceptable ENCR is the 33rd
#   8e40e3d  a zero initiator SPI: no answer; a proposal with an SPI in
#            IKE_SA_INIT: INVALID_SYNTAX
#   c167bec  IKE_AUTH with TSi start > end: INVALID_SYNTAX inside SK, and
#            the IKE SA gone (§2.21.2: not a Child-SA-only notify); over
#            UDP and over TCP (RFC 9329 §3, TCP-25)
#   b19585e  RFC 7383 §2.6.2: a larger Total Fragments starts reassembly
#            over, a smaller one between the others is discarded; the
#            message completes
#   9f44805  a request with the answered Message ID: byte-identical, the
#            cached response again; other content (authentic), no answer;
#            over UDP and TCP (netns 43 replays over TCP only a
#            byte-identical copy and one with a broken ICV, which fails
#            authentication in any case)
#   and tcpiked's own SA payloads numbered as RFC 7296 §3.3.1 says: as
#   responder, the number of the proposal it accepts (IKE: props17 above;
#   ESP: the second of two in IKE_AUTH); as initiator, a reply from
#   selftests/ikepeer.py numbered 2 accepted.
# Bounded: about 5 s alone on this host (10 s under a load of 5).
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
probe_responder "ikh$$"
PO=$IKE_DIR/probe.out
ip netns exec "$NS_A" timeout -s KILL 30 python3 -u "$TOP/selftests/ikeprobe.py" 10.0.0.1 10.0.0.2 \
	props17 trans33 spi0 propspi badts frag retrans tcp:badts tcp:retrans >"$PO" 2>&1
# the one suite offered, as chosen: AES-GCM-16 256, PRF-HMAC-SHA2-256, X25519
SUITE='1/20/256,2/5,4/31'
saw "17 proposals, only the 17th acceptable: b chose proposal 17 (9de021c)" \
	"^props17 answered proposal=17 transforms=$SUITE\$"
saw "one proposal of 35 transforms, the acceptable ENCR the 33rd: b chose it (9de021c)" \
	"^trans33 answered proposal=1 transforms=$SUITE\$"
saw "IKE_SA_INIT with a zero initiator SPI: no answer, the valid one after it answered (8e40e3d, RFC 7296 §3.1)" \
	'^spi0 silent$'
saw "a proposal with an 8-byte SPI in IKE_SA_INIT: INVALID_SYNTAX (8e40e3d, RFC 7296 §3.3.1)" \
	'^propspi notify=7$'
saw "IKE_AUTH with TSi start after end: INVALID_SYNTAX in the encrypted response, no AUTH (c167bec, RFC 7296 §3.13.1)" \
	'^badts auth notify=7 auth=no '
saw "... and the IKE SA gone: an INFORMATIONAL on it not answered (RFC 7296 §2.21.2)" \
	'^badts info silent$'
# gone_from_status PREFIX: ok when the SA of the probe's "PREFIXbadts auth"
# line is not in b's status
gone_from_status() {
	local spi
	spi=$(sed -n "s/^${1}badts auth .* spi_i=\([0-9a-f]*\) .*/\1/p" "$PO")
	tap_check "... nor listed in b's status (${spi:-no SPI})" \
		eval 'test -n "$spi" && ike_ctl b status >"$IKE_DIR/st" && ! grep -q "SPIs ${spi}_i" "$IKE_DIR/st"'
}
gone_from_status ""
saw "IKE_AUTH fragment 1 of 2, then 3 fragments with fragment 2 of 2 among them: the larger total started over, the smaller was discarded, the message completed (b19585e, RFC 7383 §2.6.2)" \
	'^frag established$'
saw "IKE_AUTH with two ESP proposals, only the second acceptable: b answered proposal 2 (§3.3.1)" \
	'^auth esp answered proposal=2 transforms=1/20/256,5/0$'
saw "a byte-identical retransmission of an answered request: the cached response, byte for byte (RFC 7296 §2.1)" \
	'^retrans same answered identical=yes$'
saw "another authentic request with the answered Message ID: no answer (9f44805)" \
	'^retrans other silent$'
saw "... and the next request answered" '^retrans next answered$'
sent=$(sed -n 's/^summary sent=\([0-9]*\) .*/\1/p' "$PO")
recv=$(sed -n 's/^summary .* received=\([0-9]*\)$/\1/p' "$PO")
if [ -n "$sent" ]; then
	wire_check "on the wire at b: the probe's $sent datagrams in, the $recv it received out, nothing else on UDP; one TCP connection (tcp:badts)" \
		b:in_ike500="$sent" b:out_ike500="$recv" b:in_ike4500=0 b:out_ike4500=0 b:in_syn=1 b:out_syn=0
else
	tap_fail "on the wire at b: the probe's datagrams" "no summary line: $(tail -n 3 "$PO")"
fi
# the same IKE_AUTH over TCP (RFC 9329 §3: syntax errors get INVALID_SYNTAX,
# TCP-25), through a connection of the probe's
saw "over TCP, IKE_AUTH with TSi start after end: INVALID_SYNTAX in the encrypted response (TCP-25)" \
	'^tcp badts auth notify=7 auth=no '
saw "... and the IKE SA gone: an INFORMATIONAL on it over that connection not answered" \
	'^tcp badts info silent$'
gone_from_status "tcp "
saw "over TCP, a byte-identical copy of an answered request on the same connection: the cached response, byte for byte (TCP-28)" \
	'^tcp retrans same answered identical=yes$'
saw "over TCP, another authentic request with the answered Message ID: no answer (9f44805)" \
	'^tcp retrans other silent$'
saw "... and the next request answered" '^tcp retrans next answered$'
ike_stop b

# tcpiked as initiator offering two IKE and two ESP proposals, the second
# of each the Python responder's one suite (selftests/ikepeer.py answers
# with the number of the proposal it accepts, §3.3.1): a reply numbered 2
# was refused as malformed (only 1 was read)
PO=$IKE_DIR/peer.out
ip netns exec "$NS_B" timeout -s KILL 15 python3 -u "$TOP/selftests/ikepeer.py" --local 10.0.0.2 \
	--id py.test --timeout 5 resp serve:1 >"$PO" 2>&1 &
ppid=$!
wait_for 5 grep -q '^ready' "$PO"
ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	lid=fqdn:a.test rid=fqdn:py.test \
	"proposals=aes128gcm16-prfsha256-x25519, aes256gcm16-prfsha256-x25519" "esp=aes128gcm16, aes256gcm16"
ike_start "$NS_A" a || tap_fail "a started"
ike_ctl a initiate c >/dev/null 2>&1
# a's status: the IKE SA and the Child SA with the suites of proposal 2
ike_ctl a status >"$IKE_DIR/st"
if grep -q "^c\[[0-9]*\]: ESTABLISHED " "$IKE_DIR/st" &&
	grep -q "^  IKE: AES_GCM_16_256/HMAC_SHA2_256/CURVE25519, " "$IKE_DIR/st" &&
	grep -q "^  net: INSTALLED .*, AES_GCM_16_256, id " "$IKE_DIR/st"; then
	tap_ok "a offered two proposals, the responder took the second of each and numbered it 2: established with those"
else
	tap_fail "a offered two proposals, the responder took the second of each and numbered it 2: established with those"
	tap_diag "a's status:" "$(cat "$IKE_DIR/st")" "the peer: $(tail -n 3 "$PO")"
fi
kill $ppid 2>/dev/null; wait $ppid 2>/dev/null
ike_stop a
tap_done
