#!/bin/bash
# ML-KEM-768 as RFC 9370's ADDKE1 against an ML-KEM that is neither
# OpenSSL's nor tcpiked's: selftests/ikepeer.py takes ML-KEM from
# @noble/post-quantum (JavaScript, run by node through
# selftests/noblepq.mjs), X25519 in IKE_SA_INIT, one IKE_INTERMEDIATE with
# the ML-KEM exchange and the key update (RFC 9370 2.2.2), IKE_AUTH with
# PSK over IntAuth under the updated keys.  tcpiked is built against
# OpenSSL 3.5 in the Debian 13 root and runs from it (selftests/trixie.sh,
# as netns/61 and 65); the peer runs on the host.
#
# @noble/post-quantum 0.7.1 is fetched from the npm registry (curl, pinned sha512),
# once, into ~/.cache/tcpike/noble-pq-0.7.1 (scripts/noble-pq.sh; never into
# the tree); when that cannot be done the test is skipped, saying why.
#
#   the peer initiates (b answers), over UDP, over TCP (RFC 9329), and with
#   separate transports (IKE_SA_INIT over UDP, the rest over TCP): its
#   KEi(1) is noble's 1184-byte encapsulation key, b encapsulates (OpenSSL)
#   and sends the 1088-byte ciphertext, the peer decapsulates it (noble);
#   b's AUTH verifies at the peer under the keys from that secret
#   tcpiked initiates (a), over UDP, TCP and separate transports: a's
#   encapsulation key (OpenSSL)
#   encapsulated to by the peer (noble), a decapsulates; a's AUTH verifies
#   under the updated keys, the peer's at a
#   the peer's keys not updated with the ML-KEM secret: IKE_AUTH is not
#   understood, each role
#   bad input to b: KEi(1) one byte short, an encapsulation key failing
#   FIPS 203's modulus check: INVALID_SYNTAX, no SA, b keeps running and
#   establishes with the next peer; to a: KEr(1) a byte short, a gives up
#   ML-DSA-65 (FIPS 204) from noble: the peer signs its IKE_AUTH with the key
#   noble makes from the seed in an openssl 3.5 key file (the certificate's
#   key, checked), verifies tcpiked's certificate against the CA and its
#   AUTH; each role over TCP; a signature over other octets and a CA the peer
#   does not trust are refused
#   FIPS 203 known-answer vectors (NIST ACVP) through crypto_kex.c against
#   OpenSSL 3.5: userspace/tests/test_mlkem_kat.c, built and run in the root
#
# TCPIKE_DEBIAN13_ROOT names the root; by default the cached one, which
# scripts/check builds for the netns layer.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/trixie.sh"

require_netns
require_py_crypto
troot=${TCPIKE_DEBIAN13_ROOT:-$("$TOP/scripts/trixie-root.sh" --print-dir)}
[ -x "$troot/usr/bin/gcc" ] && [ -f "$troot/usr/include/openssl/opensslv.h" ] ||
	tap_skip_all "no Debian 13 root at $troot (scripts/trixie-root.sh)"
[ -x "$troot/usr/bin/node" ] || tap_skip_all "no node in $troot (scripts/trixie-root.sh installs nodejs)"
if ! noble=$("$TOP/scripts/noble-pq.sh" 2>"$IKE_DIR/noble.err"); then
	tap_skip_all "@noble/post-quantum 0.7.1 is not cached and scripts/noble-pq.sh could not fetch it (the npm registry unreachable: a network outage, not a fault of tcpiked): $(tail -n 1 "$IKE_DIR/noble.err")"
fi
# the peer's noble, run by the root's node (selftests/trixie.sh)
trixie_noble "$troot" "$noble"

# The daemon under test, built in the Debian 13 root (selftests/trixie.sh).
trixie_tcpiked "$troot"

# --- FIPS 203 known answers through crypto_kex.c, OpenSSL 3.5 ---------------------
trixie_unit "$troot" test_mlkem_kat

topo_pair mlkp$$ || tap_skip_all "cannot build the namespace pair"
. "$TOP/selftests/ikepeer.sh"

P=aes256gcm16-prfsha256-x25519-ke1_mlkem768
PROP="AES_GCM_16_256/HMAC_SHA2_256/CURVE25519/ADDKE1:ML_KEM_768"
B_ARGS=(local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
	lid=fqdn:b.test rid=fqdn:py.test proposals=$P)
A_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24
	lid=fqdn:a.test rid=fqdn:py.test proposals=$P)
# b_start: b (tcpiked, answering) started anew
b_start() {
	[ -n "${IKE_PID[b]:-}" ] && ike_stop b
	ike_conf b "${B_ARGS[@]}" && ike_start "$NS_B" b || tap_fail "b started"
}
# peer_init "case" PEER-ARGS...: the peer initiates to b (running) from 10.0.0.1
peer_init() {
	PO=$IKE_DIR/peer-$1.out
	shift
	peer_start "$NS_A" "$PO" --local 10.0.0.1 --id py.test --intermediate --addke 1=36 "$@" ||
		tap_fail "the peer started"
	wait_for 15 grep -qE '^(established|FAIL)' "$PO"
}

# --- the peer initiates, b answers ----------------------------------------------------------
# t: the case; start: where IKE_SA_INIT goes; w: where the rest goes
# (separate transports: TCP after the echo, the draft §3.1)
for c in udp:udp500:udp500 tcp:tcp:tcp separate:udp4500:tcp; do
	IFS=: read -r t start w <<<"$c"
	notify=(--no-notify)
	[ $t = separate ] && notify=()
	b_start
	peer_init "init-$t" --start $start "${notify[@]}" init 10.0.0.2 info
	peer_wait 10
	peer_ok $? "peer -> b over $t: established, b's AUTH verified under the keys from the ML-KEM secret the peer decapsulated"
	saw "peer -> b over $t: b chose ADDKE1 ML-KEM-768" '^addke chosen=36$'
	saw "peer -> b over $t: KEi(1) of 1184 bytes (noble's key), KEr(1) of 1088 (b's ciphertext)" \
		'^ke-len msgid=1 sent=1184 got=1088$'
	saw "peer -> b over $t: the ML-KEM exchange in IKE_INTERMEDIATE 1 over $w" "^inter-resp $w msgid=1 "
	saw "peer -> b over $t: IKE_AUTH response 2 under the updated keys" "^rx $w IKE_AUTH resp msgid=2\$"
	saw "peer -> b over $t: a later request answered" "^rx $w INFORMATIONAL resp msgid=3\$"
	expect_established "peer -> b over $t: b established (the peer's AUTH verified)" b
	tap_expect_eq "peer -> b over $t: b's IKE SA names ADDKE1 ML-KEM-768" "$PROP" \
		"$(ike_jq b "s['ike_sas'][0]['proposal']")"
	[ $t = separate ] &&
		tap_expect_eq "peer -> b separate: b reports separate transports, IKE on TCP" "True tcp" \
			"$(ike1 b separate) $(ike1 b transport)"
done

# the peer's keys not updated with the ML-KEM secret: b cannot decrypt
peer_init init-no-update --start udp500 --no-notify --addke-mistake no-update --timeout 4 \
	init 10.0.0.2
peer_wait 8
saw "peer keys without the ML-KEM secret: b answered the IKE_INTERMEDIATE" '^addke-resp msgid=1 ke=36$'
saw "... but its IKE_AUTH under the old keys got no answer" \
	'^FAIL: timed out waiting for the response to message 2$'

# --- bad input to b: INVALID_SYNTAX, b keeps running ---------------------------------------
b_start
bpid=${IKE_PID[b]}
peer_init short-ke --start udp500 --no-notify --addke-mistake short-ke --timeout 4 init 10.0.0.2
peer_wait 8
saw "KEi(1) of 1183 bytes for ML-KEM-768: INVALID_SYNTAX" '^FAIL: IKE_INTERMEDIATE error notify 7$'
peer_init bad-ek --start udp500 --no-notify --addke-mistake bad-ek --timeout 4 init 10.0.0.2
peer_wait 8
saw "an encapsulation key with a coefficient >= q (FIPS 203 7.2): INVALID_SYNTAX" \
	'^FAIL: IKE_INTERMEDIATE error notify 7$'
tap_check "b said why: the encapsulation key was rejected" \
	grep -q 'peer ML-KEM encapsulation key rejected' "$IKE_DIR/b.log"
tap_expect_eq "bad KEi(1): no IKE SA at b" 0 "$(ike_counter b ike_established)"
peer_init after-bad --start udp500 --no-notify init 10.0.0.2
peer_wait 10
peer_ok $? "the same b, after the bad keys, establishes with the next peer"
tap_check "b is the same process" test "$bpid" = "${IKE_PID[b]}" -a -d "/proc/$bpid"
ike_stop b

# --- a (tcpiked) initiates, the peer answers -------------------------------------------------
for c in udp:udp500 tcp:tcp separate:tcp; do
	IFS=: read -r t w <<<"$c"
	extra=()
	[ $t = udp ] || extra=("conn_extra=transport = $t")
	a_run "resp-$t" --intermediate --addke 1=36 resp serve:2 -- "${extra[@]}"
	expect_established "a -> peer over $t: a established (the peer's AUTH verified)" a
	peer_wait 10
	peer_ok $? "a -> peer over $t: the peer verified a's AUTH under the keys from the secret it encapsulated"
	saw "a -> peer over $t: KEi(1) of 1184 bytes (a's key), KEr(1) of 1088 (noble's ciphertext)" \
		'^ke-len msgid=1 got=1184 sent=1088$'
	saw "a -> peer over $t: a's ML-KEM exchange in IKE_INTERMEDIATE 1 over $w" "^inter-req $w msgid=1\$"
	saw "a -> peer over $t: a's IKE_AUTH with Message ID 2" "^auth-req $w msgid=2 spis=same\$"
	tap_expect_eq "a -> peer over $t: a's IKE SA names ADDKE1 ML-KEM-768" "$PROP" \
		"$(ike_jq a "s['ike_sas'][0]['proposal']")"
done

for m in no-update short-ke; do
	a_run "resp-$m" --intermediate --addke 1=36 --addke-mistake $m --timeout 4 resp
	peer_wait 8
	rc=$?
	tap_check "a -> peer, peer mistake $m: the peer did not establish" test "$rc" != 0
	if [ $m = no-update ]; then
		saw "peer keys without the ML-KEM secret: a's IKE_AUTH does not decrypt" \
			'^FAIL: .*does not decrypt'
	else
		saw "KEr(1) of 1087 bytes: a sent no IKE_AUTH" '^FAIL: timed out waiting for IKE_AUTH$'
	fi
	tap_expect_eq "a -> peer, peer mistake $m: no IKE SA at a" 0 "$(ike_counter a ike_established)"
	tap_check "a -> peer, peer mistake $m: a still runs" test -d "/proc/${IKE_PID[a]}"
done
ike_stop a

# --- ML-DSA-65 from noble (FIPS 204): the peer signs and verifies ---------------------------
# The PKI by openssl 3.5's CLI in the Debian 13 root: an ML-DSA-65 CA,
# tcpiked's certificate (t.tcpike.test) and the peer's (py.tcpike.test),
# another CA; the peer's key is noble's keygen of the seed in its key file.
pki=$IKE_DIR/pki
if ! out=$(trixie_pki "$troot" "$pki" t py 2>&1); then
	tap_fail "openssl 3.5 makes the ML-DSA-65 PKI" "$(tail -n 20 <<<"$out")"
	tap_done
fi
DSA_PEER=(--id py.tcpike.test --cert "$pki/py.pem" --key "$pki/py.key" --cacert "$pki/ca.pem")
DSA_CONF=(auth=files cert="$pki/t.pem" key="$pki/t.key" cacerts="$pki/ca.pem"
	lid=fqdn:t.tcpike.test rid=fqdn:py.tcpike.test)
B_ARGS+=("${DSA_CONF[@]}")
A_ARGS+=("${DSA_CONF[@]}")
b_start
peer_init dsa-init --start tcp --no-notify "${DSA_PEER[@]}" init 10.0.0.2 info
peer_wait 10
peer_ok $? "ML-DSA-65, peer -> b over tcp: established"
saw "the peer's key: noble's keygen of the seed in openssl's key file gives the certificate's" \
	"^mldsa key ml_dsa65 from the seed: the certificate's\$"
saw "b's certificate signed by the CA and b's AUTH (3309-byte ML-DSA-65) verified by noble" \
	'^peer-auth ml_dsa65 sig=3309 cert=[0-9]+ by-ca=yes$'
expect_established "ML-DSA-65, peer -> b: b established" b
tap_check "b verified the peer's noble ML-DSA-65 signature" \
	grep -q "the peer's AUTH verifies: ML-DSA-65" "$IKE_DIR/b.log"
# signed over the wrong octets (IntAuth_r before IntAuth_i): refused
peer_init dsa-swap --start tcp --no-notify --int-auth-mistake swap --timeout 4 "${DSA_PEER[@]}" \
	init 10.0.0.2
peer_wait 8
saw "the peer's ML-DSA signature over other octets: AUTHENTICATION_FAILED" \
	'^FAIL: IKE_AUTH error notify 24$'
ike_stop b

a_run dsa-resp --intermediate --addke 1=36 "${DSA_PEER[@]}" resp serve:2 -- "conn_extra=transport = tcp"
expect_established "ML-DSA-65, a -> peer over tcp: a established (the peer's noble signature verified)" a
peer_wait 10
peer_ok $? "ML-DSA-65, a -> peer: the peer checked a's certificate and AUTH"
saw "a's certificate signed by the CA and a's ML-DSA-65 AUTH verified by noble" \
	'^peer-auth ml_dsa65 sig=3309 cert=[0-9]+ by-ca=yes$'
# the peer trusting another CA: a's certificate refused by noble's check
a_run dsa-other-ca --intermediate --addke 1=36 --id py.tcpike.test --cert "$pki/py.pem" \
	--key "$pki/py.key" --cacert "$pki/other-ca.pem" --timeout 4 resp -- "conn_extra=transport = tcp"
peer_wait 8
saw "the peer trusting another CA refuses a's certificate (noble)" \
	'^FAIL: certificate signature does not verify under the CA'"'"'s key \(noble\)$'
ike_stop a
tap_done
