#!/bin/bash
# What an operator types and names (issues 18 and 23):
#   tcpiked, tcpikectl and tcpike-nl answer --version and --help on stdout, exit 0,
#   without a daemon or a configuration;
#   a FIFO named as the configuration, a secret_file or a private key is
#   refused at once by its type with file:line and why, instead of the
#   daemon blocking in open() until someone writes to it (tcpiked -t and a
#   real start);
#   an identity a peer sends (selftests/ikepeer.py, not tcpiked) reaches
#   the log escaped: a newline in it cannot start a forged log line, a
#   backslash or control byte is written \\ or \xNN;
#   backend = auto with neither the module nor XFRM usable: a refusal
#   saying why each failed and to write backend = none, which still starts;
#   a proposal, selector or identity mismatch: the responder's log says what
#   the peer offered and what is configured, asserted by content; list-conns
#   shows identities, auth, proposals and selectors;
#   a Child SA with the selectors another peer's tunnel holds: refused with
#   NO_ADDITIONAL_SAS, the IKE SA kept at both ends, the holder logged;
#   reload of a timer keeps that IKE SA, a port change is a printed warning;
#   the message trace (payloads, transport) and status CONN by content;
#   a new Child SA refused with TEMPORARY_FAILURE is not asked for again at
#   once (it was, thousands of times a second);
#   tcpikectl initiate waits for the result: exit 0 once established, 1 with
#   the reason (a peer that does not answer: the timeout); --no-wait returns
#   at once.
# Bounded: about 17 s (10 s alone on this host).
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/ike.sh"
topo_pair "iko$$" || tap_skip_all "cannot build the namespace pair"

# --- --version and --help -------------------------------------------------------
# cli NAME ARGS...: runs a program with no daemon; its stdout, stderr and exit
# status in $IKE_DIR/cli.{out,err}, $st
cli() {
	timeout -s KILL 5 "$BIN/$1" "${@:2}" >"$IKE_DIR/cli.out" 2>"$IKE_DIR/cli.err"
	st=$?
}
for path in tcpiked tcpikectl tools/tcpike-nl; do
	p=${path##*/}
	cli $path --version
	tap_check "$p --version: exit 0 ($st), one line '$p VERSION' on stdout, nothing on stderr" \
		test $st = 0 -a "$(wc -l <"$IKE_DIR/cli.out")" = 1 -a ! -s "$IKE_DIR/cli.err"
	tap_check "... the version is the build's ($(cat "$IKE_DIR/cli.out"))" \
		grep -qE "^$p [0-9]+\.[0-9]+\.[0-9]+" "$IKE_DIR/cli.out"
	for h in --help -h; do
		cli $path $h
		tap_check "$p $h: exit 0 ($st), the usage on stdout naming --version" \
			eval 'test $st = 0 && grep -q "^usage: $p" "$IKE_DIR/cli.out" && grep -q -- --version "$IKE_DIR/cli.out"'
	done
done
cli tcpikectl status --help
tap_check "tcpikectl status --help: exit 0 ($st), the command's usage" \
	eval 'test $st = 0 && grep -q "status" "$IKE_DIR/cli.out"'
# usage errors: exit 2 (tcpiked(8), tcpikectl(8)), the usage (or where to
# find it) on stderr; tcpikectl's socket is no daemon's, so a command that
# got through would exit 3
for args in "tcpiked --no-such-option" "tcpiked stray-operand" "tcpiked -f" \
	"tcpikectl" "tcpikectl no-such-command" "tcpikectl initiate" "tcpikectl initiate c extra" \
	"tcpikectl status --no-such-flag" "tools/tcpike-nl --no-such-option"; do
	set -- $args
	p=${1##*/}
	if [ $p = tcpikectl ]; then cli $1 -s "$IKE_DIR/no.sock" "${@:2}"; else cli $args; fi
	tap_check "usage error '$p ${*:2}': exit 2 ($st), the usage on stderr" \
		eval 'test $st = 2 && grep -q "usage: $p\|$p --help" "$IKE_DIR/cli.err"'
done

# --- FIFOs named as files -----------------------------------------------------------
mkfifo -m 600 "$IKE_DIR/fifo"
# daemon_t CONF [ARGS]: tcpiked on CONF in b's namespace, killed after 10 s
# (the exit status then 137); $st, $secs, the output in $IKE_DIR/t.log
daemon_t() {
	local t0=$SECONDS
	ip netns exec "$NS_B" timeout -s KILL 10 "$BIN/tcpiked" -f "$@" >"$IKE_DIR/t.log" 2>&1
	st=$? secs=$((SECONDS - t0))
}
ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
	lid=fqdn:b.test rid=fqdn:py.test
sed "s|^\t\tsecret = .*|\t\tsecret_file = $IKE_DIR/fifo|" "$IKE_DIR/b.conf" >"$IKE_DIR/sf.conf"
chmod 600 "$IKE_DIR/sf.conf"
sf_line=$(grep -n secret_file "$IKE_DIR/sf.conf" | cut -d: -f1)
for mode in -t start; do
	if [ $mode = -t ]; then daemon_t "$IKE_DIR/sf.conf" -t; else daemon_t "$IKE_DIR/sf.conf"; fi
	tap_check "secret_file a FIFO, tcpiked $mode: exit 1 ($st) within 5 s (${secs} s), not blocked" \
		test $st = 1 -a $secs -le 5
	tap_check "... the reason with file:line: sf.conf:$sf_line, 'is a FIFO, not a regular file'" \
		grep -q "sf.conf:$sf_line: secret_file: '$IKE_DIR/fifo' is a FIFO, not a regular file" "$IKE_DIR/t.log"
	[ $st = 1 ] || tap_diag "$(tail -n 5 "$IKE_DIR/t.log")"
done
daemon_t "$IKE_DIR/fifo"
tap_check "the configuration a FIFO: exit 1 ($st) within 5 s (${secs} s), saying so" \
	eval 'test $st = 1 -a $secs -le 5 && grep -q "fifo'"'"' is a FIFO, not a regular file" "$IKE_DIR/t.log"'
ike_conf k local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 auth=ecdsa
sed -i "s|key = .*|key = $IKE_DIR/fifo|" "$IKE_DIR/k.conf"
daemon_t "$IKE_DIR/k.conf" -t
tap_check "a private key that is a FIFO: exit 1 ($st) within 5 s (${secs} s), saying so" \
	eval 'test $st = 1 -a $secs -le 5 && grep -q "fifo'"'"' is a FIFO, not a regular file" "$IKE_DIR/t.log"'
[ $st = 1 ] || tap_diag "$(tail -n 5 "$IKE_DIR/t.log")"

# --- backend = auto where no kernel backend works -----------------------------------
# auto is the module or XFRM; with neither (no tcpike.ko, and a kernel that
# cannot hold an ESP state: this host has no esp4) tcpiked refuses to start
# saying why each failed, and runs without kernel SAs only when told so.
ike_conf ab local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 backend=auto
if [ -d /sys/module/tcpike ] || ip -n "$NS_B" xfrm state add src 192.0.2.2 dst 192.0.2.1 proto esp \
	spi 0x7cb1d0e6 mode transport aead 'rfc4106(gcm(aes))' 0x$(printf '%040d' 0) 128 2>/dev/null; then
	ip -n "$NS_B" xfrm state flush 2>/dev/null
	tap_skip "backend = auto with neither module nor XFRM usable" "this kernel can hold ESP states"
else
	daemon_t "$IKE_DIR/ab.conf"
	tap_check "backend = auto, neither module nor XFRM usable: exit 1 ($st) at once (${secs} s)" \
		test $st = 1 -a $secs -le 5
	tap_check "... one sentence: why the module and XFRM failed, and to write 'backend = none'" \
		grep -q "error: backend auto: neither the tcpike module (generic netlink family 'tcpike' not found (is tcpike.ko loaded?)) nor XFRM (the kernel cannot hold ESP states: .*) can install SAs; write 'backend = none' (or tcpiked -b none) to run the control plane alone, without kernel SAs" "$IKE_DIR/t.log"
	tap_check "... and it never said it runs on backend none" \
		eval '! grep -q "backend: none\|backend none" "$IKE_DIR/t.log"'
	[ $st = 1 ] || tap_diag "$(tail -n 5 "$IKE_DIR/t.log")"
fi
ike_start "$NS_B" ab -b none
tap_check "backend = auto overridden with -b none: starts, on backend none" \
	eval 'ike_ctl ab status >/dev/null && grep -q "tcpiked started: backend none" "$IKE_DIR/ab.log"'
ike_stop ab

# --- a peer's identity in the log -------------------------------------------------
# b knows py.test only: the identities below are unknown, logged and refused.
ike_start "$NS_B" b || tap_skip_all "tcpiked did not start"
# peer_id TYPE DATA: the Python peer initiates to b with that ID payload
peer_id() {
	ip netns exec "$NS_A" timeout -s KILL 10 python3 -u "$TOP/selftests/ikepeer.py" \
		--local 10.0.0.1 --id-type "$1" --id "$2" --timeout 3 init 10.0.0.2 \
		>"$IKE_DIR/peer.out" 2>&1
}
# a DER_ASN1_DN (9) that is no DER: its bytes were logged as they came
peer_id 9 $'cn\nFORGED-DN line'
# an FQDN (2) with an escape sequence, a backslash and a newline
peer_id 2 $'evil\e[2J\\\nFORGED-FQDN line'
wait_for 5 grep -q 'FORGED-FQDN' "$IKE_DIR/b.log"
tap_check "a DN that is no DER: logged escaped (cn\\x0aFORGED-DN)" \
	grep -qF 'cn\x0aFORGED-DN line' "$IKE_DIR/b.log"
tap_check "an FQDN: ESC, backslash and newline escaped (evil\\x1b[2J\\\\\\x0aFORGED-FQDN)" \
	grep -qF 'evil\x1b[2J\\\x0aFORGED-FQDN line' "$IKE_DIR/b.log"
tap_check "no log line starts with what the peer wrote after its newline" \
	eval '! grep -q "^FORGED" "$IKE_DIR/b.log"'
tap_check "no raw ESC byte in the log" eval '! grep -q $'"'"'\e'"'"' "$IKE_DIR/b.log"'
grep -q FORGED "$IKE_DIR/b.log" || tap_diag "b.log: $(tail -n 8 "$IKE_DIR/b.log")" "peer: $(tail -n 3 "$IKE_DIR/peer.out")"

# --- the same selectors through another tunnel ---------------------------------------
# b holds 192.168.2.0/24 === 192.168.1.0/24 with the Python peer (py.test,
# 10.0.0.1); m (m.test, 10.0.0.3) asks for the same selectors through its
# own tunnel (b's connection c2).  The SPD is ordered (RFC 4301 §4.4.1): the
# policy stays with the first tunnel; b takes m's IKE SA without the Child
# SA, with a notify that concerns only the Child SA in IKE_AUTH (RFC 7296
# §1.2: NO_ADDITIONAL_SAS; strongSwan ends the whole IKE SA on a
# TEMPORARY_FAILURE there) and logs who holds the selectors.
ip -n "$NS_A" addr add 10.0.0.3/24 dev va
ike_conf b2 local=10.0.0.2 remote=10.0.0.3 lts=192.168.2.0/24 rts=192.168.1.0/24 \
	lid=fqdn:b.test rid=fqdn:m.test
python3 - "$IKE_DIR/b.conf" "$IKE_DIR/b2.conf" <<'PY'
import re, sys
b, b2 = (open(f).read() for f in sys.argv[1:])
conn = re.search(r"\n\tc \{.*?\n\t\}\n", b2, re.S).group(0).replace("\tc {", "\tc2 {", 1)
sec = re.search(r"\n\ts \{.*?\n\t\}\n", b2, re.S).group(0).replace("\ts {", "\ts2 {", 1)
b = b.replace("\n}\nsecrets {", conn + "}\nsecrets {", 1)
open(sys.argv[1], "w").write(b[:b.rindex("}")] + sec.lstrip("\n") + "}\n")
PY
ike_ctl b reload >/dev/null || tap_fail "b reloaded with c2"
: >"$IKE_DIR/b.kb"
ip netns exec "$NS_A" timeout -s KILL 15 python3 -u "$TOP/selftests/ikepeer.py" \
	--local 10.0.0.1 --timeout 5 --start udp500 --no-notify init 10.0.0.2 serve:8 >"$IKE_DIR/peer.out" 2>&1 &
pypid=$!
b_child() { test "$(ike_jq b "sum(len(i['children']) for i in s['ike_sas'] if i['state']=='ESTABLISHED')")" = "$1"; }
tap_check "b: a Child SA with the Python peer" wait_for 5 b_child 1
ike_conf m local=10.0.0.3 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	lid=fqdn:m.test rid=fqdn:b.test "daemon_extra=listen = 10.0.0.3"
ike_start "$NS_A" m || tap_fail "m started"
ike_ctl m initiate c --no-wait >/dev/null
m_up() { test "$(ike_jq m "[i['state'] for i in s['ike_sas']]")" = "['ESTABLISHED']"; }
tap_check "m: its IKE SA established all the same (the notify concerned the Child SA)" wait_for 5 m_up
tap_expect_eq "m: no Child SA; b: the Python peer's only" "0 1" \
	"$(ike_jq m "sum(len(i['children']) for i in s['ike_sas'])") $(ike_jq b "sum(len(i['children']) for i in s['ike_sas'])")"
tap_check "b refused m's Child SA with NO_ADDITIONAL_SAS" \
	grep -q "c2\[[0-9]*\]: Child SA net refused with NO_ADDITIONAL_SAS: the kernel refused it (File exists)" "$IKE_DIR/b.log"
tap_check "... saying which Child SA and peer hold the selectors" \
	grep -q "c2\[[0-9]*\]: Child SA net: 192.168.2.0/24 === 192.168.1.0/24 is held by Child SA net of c\[[0-9]*\] with 10.0.0.1 (another tunnel): refused" "$IKE_DIR/b.log"
tap_expect_eq "b's backend: the first tunnel's three policies only, none deleted" "3 0" \
	"$(grep -c '^policy-add' "$IKE_DIR/b.kb") $(grep -c '^policy-del' "$IKE_DIR/b.kb")"
# the message trace (debug), charon's style, with the transport
tap_check "trace: b's IKE_AUTH response to m, its payloads and transport" \
	grep -q "c2\[[0-9]*\]: sending IKE_AUTH response 1 \[ IDr AUTH N(NO_ADD_SAS) \] to 10.0.0.3\[500\] over udp/500 ([0-9]* bytes)" "$IKE_DIR/b.log"
tap_check "trace: m's IKE_AUTH request as b received it" \
	grep -qE "received IKE_AUTH request 1 \[ IDi .*AUTH .*SA TSi TSr \] from 10.0.0.3\[500\] over udp/500" "$IKE_DIR/b.log"
# status CONN: only that connection's IKE SAs
tap_check "status c2: m's IKE SA only, not the Python peer's" \
	eval 'ike_ctl b status | grep -q "^c\[" && ike_ctl b status c2 | grep -q "^c2\[" && ! ike_ctl b status c2 | grep -q "^c\["'
# reload: a timer of c2 changed (dpd_delay) keeps m's IKE SA with the new
# timer; a port changed is a warning printed by tcpikectl (restart needed)
sed -i -e 's/^\tc2 {/&\n\t\tdpd_delay = 7s/' -e 's/^daemon {/&\n\tnatt_port = 4501/' "$IKE_DIR/b.conf"
out=$(ike_ctl b reload 2>&1)
tap_check "reload, dpd_delay of c2 changed: its IKE SA kept with the new timers ($(tail -n 1 <<<"$out"))" \
	grep -q "(1 with new timers), 0 deleted" <<<"$out"
tap_check "... b logged it for m's IKE SA" grep -q "c2\[[0-9]*\]: new timers of c2 applied" "$IKE_DIR/b.log"
tap_check "... and tcpikectl prints the daemon's warning about the port" \
	grep -q "^warning: listening addresses or ports changed: they take effect on restart" <<<"$out"
# m asks again on its IKE SA (initiate of an established connection):
# CREATE_CHILD_SA, refused with TEMPORARY_FAILURE while the other tunnel
# holds the selectors; m must not ask again at once (§2.25)
ike_ctl m initiate c --no-wait >/dev/null
sleep 1.5	# a window: how often m asked in it
n=$(grep -c "CREATE_CHILD_SA for net refused: TEMPORARY_FAILURE" "$IKE_DIR/m.log")
tap_check "CREATE_CHILD_SA refused with TEMPORARY_FAILURE: m asked once in 1.5 s ($n), not again at once" test "$n" = 1
tap_check "... and says when it asks again" grep -qE "c\[[0-9]+\]: asking for net again in [0-9]+ ms" "$IKE_DIR/m.log"
ike_stop m
kill $pypid 2>/dev/null; wait $pypid 2>/dev/null

# --- a mismatch in the log: what the peer offered and what is configured -------------
# tcpiked m (as py.test, from 10.0.0.1) differs from b's connection in one
# thing at a time (reloaded between cases); b's log names both sides of it.
M_ARGS=(local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 lid=fqdn:py.test rid=fqdn:b.test)
# mismatch DESC LINE [ike_conf ARGS]: m initiates with those changes; b logs LINE
mismatch() {
	local desc=$1 line=$2
	shift 2
	ike_conf m "${M_ARGS[@]}" "$@"
	if [ -z "${IKE_PID[m]:-}" ]; then
		ike_start "$NS_A" m || tap_fail "m started"
	else
		ike_ctl m reload >/dev/null
	fi
	ike_ctl m initiate c --no-wait >/dev/null
	if wait_for 5 grep -qF -- "$line" "$IKE_DIR/b.log"; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "b.log: $(grep -E 'warn|info: IKE_SA_INIT' "$IKE_DIR/b.log" | tail -n 3)"
	fi
}
mismatch "IKE proposals: b logs the peer's offer and its own, in proposal strings" \
	"IKE_SA_INIT from 10.0.0.1: no acceptable proposal: the peer offered aes128gcm16-prfsha384-ecp256; connection c has aes256gcm16-prfsha256-x25519" \
	proposals=aes128gcm16-prfsha384-ecp256
mismatch "ESP proposals: b logs the peer's offer and its esp_proposals" \
	"Child SA net: no acceptable ESP proposal: the peer offered aes128gcm16-noesn; configured esp_proposals aes256gcm16" \
	esp=aes128gcm16
mismatch "traffic selectors: b logs both sides' selectors" \
	"traffic selectors do not fit child net: the peer proposes TSi 192.168.9.0/24, TSr 192.168.2.0/24; configured local_ts 192.168.2.0/24, remote_ts 192.168.1.0/24" \
	lts=192.168.9.0/24
mismatch "identities: b logs the peer's and the one configured for its address" \
	"no connection for the peer's identity m.test asking for ours to be b.test; configured for its address: c (remote id py.test, local id b.test)" \
	lid=fqdn:m.test
ike_stop m
lc=$(ike_ctl b list-conns)
tap_expect_eq "list-conns: addresses, IKE proposals, both ends' auth and identities, selectors, ESP proposals" \
	"c: 10.0.0.2 ... 10.0.0.1, transport udp, start_action none
  IKE aes256gcm16-prfsha256-x25519
  local: psk, id fqdn:b.test
  remote: psk, id fqdn:py.test
  net: 192.168.2.0/24 === 192.168.1.0/24, tunnel, ESP aes256gcm16-noesn, rekey 3600s, start_action none
c2: 10.0.0.2 ... 10.0.0.3, transport udp, start_action none
  IKE aes256gcm16-prfsha256-x25519
  local: psk, id fqdn:b.test
  remote: psk, id fqdn:m.test
  net: 192.168.2.0/24 === 192.168.1.0/24, tunnel, ESP aes256gcm16-noesn, rekey 3600s, start_action none" "$lc"
ike_stop b

# --- tcpikectl initiate waits for the result; --no-wait returns at once ---------------
# a peer that does not answer (b's address, a port nobody listens on): the
# result is the timeout, after the retransmissions (0.1 + 0.2 + 0.4 s)
ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
	lid=fqdn:b.test rid=fqdn:a.test
ike_conf m local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	lid=fqdn:a.test rid=fqdn:b.test \
	"conn_extra=remote_port = 5000;retransmit_base = 100ms;retransmit_tries = 2;keyingtries = 1"
ike_start "$NS_B" b || tap_fail "b started"
ike_start "$NS_A" m || tap_fail "m started"
# ictl ARGS...: tcpikectl against m; stdout, stderr in $IKE_DIR/ictl.{out,err},
# the exit status in $st, the time it took in $ms
ictl() {
	local t0=$(date +%s%N)
	ike_ctl m "$@" >"$IKE_DIR/ictl.out" 2>"$IKE_DIR/ictl.err"
	st=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}
ictl initiate c
tap_check "initiate, the peer does not answer: exit 1 ($st) after the retransmissions ($ms ms, at least 700)" \
	test "$st" = 1 -a "$ms" -ge 700
tap_check "... the reason on stderr: the peer did not answer ($(cat "$IKE_DIR/ictl.err"))" \
	grep -q "^tcpikectl: initiate failed: .*c\[[0-9]*\]: connecting failed (attempt 1 of 1): peer did not answer" "$IKE_DIR/ictl.err"
tap_check "... the connection's log lines on stdout meanwhile" \
	grep -q "^c\[[0-9]*\]: retransmit 1 of message 0" "$IKE_DIR/ictl.out"
ictl initiate c --no-wait
tap_check "initiate --no-wait, the peer does not answer: exit 0 ($st) at once ($ms ms, under 2000)" \
	test "$st" = 0 -a "$ms" -lt 2000
tap_check "... saying the IKE_SA_INIT is sent ($(cat "$IKE_DIR/ictl.out"))" \
	grep -q "^c\[[0-9]*\]: IKE_SA_INIT sent" "$IKE_DIR/ictl.out"
ictl initiate c --no-wait --timeout 5
tap_check "initiate --no-wait --timeout: a usage error, exit 2 ($st)" test "$st" = 2
# a peer that answers: exit 0 once the IKE SA and its Child SA are up
ike_conf m local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	lid=fqdn:a.test rid=fqdn:b.test
ike_ctl m reload >/dev/null 2>&1
ictl initiate c
tap_check "initiate, the peer answers: exit 0 ($st), saying established with the Child SA ($(tail -n 1 "$IKE_DIR/ictl.out"))" \
	eval 'test "$st" = 0 && grep -q "^c\[[0-9]*\] established over udp, Child SA net{[0-9]*}" "$IKE_DIR/ictl.out"'
tap_expect_eq "... m's status when it returned: ESTABLISHED with one Child SA" "ESTABLISHED 1" \
	"$(ike_jq m "' '.join(str(x) for i in s['ike_sas'] if i['state']=='ESTABLISHED' for x in (i['state'], len(i['children'])))")"
ike_stop m
ike_stop b
tap_done
