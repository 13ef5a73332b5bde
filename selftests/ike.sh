# Helpers for tests that run tcpiked (source after lib.sh).
#
#   ike_conf NAME key=value...   write $IKE_DIR/NAME.conf for one gateway
#   ike_start NS NAME [args]     run $BIN/tcpiked in NS on that config
#                                (IKE_WRAP="prlimit ... --": a command in front;
#                                IKE_KB_RECORD= (empty): no record for kb_sas,
#                                as the benchmarks run it)
#   ike_ctl NAME args...         tcpikectl on that daemon's socket
#   ike_json NAME                `status --json` of that daemon
#   ike_stop NAME                SIGTERM, then check exit status and the log
#                                for sanitizer reports (one TAP line)
#   ike_kill NAME                SIGKILL, like a crash
#   probe_responder PREFIX [k=v] b in a new namespace pair, answering
#                                selftests/ikeprobe.py, its wire counted
#   kb_sas NAME                  the SAs its backend (none) holds now, from
#                                what it was asked to install ($IKE_DIR/NAME.kb,
#                                kb_none.h's TCPIKE_KB_NONE_RECORD)
#
# ike_conf keys (defaults in brackets):
#   local=ADDR remote=ADDR [any]  lts=CIDR rts=CIDR  lid=ID rid=ID
#   auth=psk|ecdsa|rsa|rsapss [psk]  psk=SECRET  proposals=... esp=...
#   (rsapss: an RSASSA-PSS-only key, OpenSSL type RSA-PSS)
#   auth=files cert=FILE key=FILE  a certificate (chain) and key of the
#     test's own (ML-DSA in netns/65), absolute paths
#   rauth=psk|pubkey [as auth]  cacerts=FILE [ca.pem, in tests/data; or an
#     absolute path]
#   conn_extra="key = value;..."  daemon_extra="..."  child_extra="..."
#   children_extra="name {;key = value;...;}"  more children beside net
#   backend=none|xfrm|module [none]  mode=tunnel|transport
IKE_DIR=$(mktemp -d /tmp/tcpike-ike.XXXXXX)
chmod 700 "$IKE_DIR"
IKE_DATA=$TOP/userspace/tests/data
declare -A IKE_PID

ike_cleanup() {
	local n
	for n in "${!IKE_PID[@]}"; do
		kill -9 "${IKE_PID[$n]}" 2>/dev/null
	done
	ns_cleanup
	[ -n "${KEEP_IKE_DIR:-}" ] || rm -rf "$IKE_DIR"
}
trap ike_cleanup EXIT

# Key files must not be readable by others (tcpiked refuses them).
ike_keys() {
	[ -f "$IKE_DIR/ec256.key" ] && return
	cp "$IKE_DATA/ec256.key" "$IKE_DATA/rsa.key" "$IKE_DATA/rsapss.key" "$IKE_DIR/"
	chmod 600 "$IKE_DIR"/*.key
	cat "$IKE_DATA/rsa.pem" "$IKE_DATA/inter.pem" > "$IKE_DIR/rsa-chain.pem"
}

ike_conf() {
	local name=$1; shift
	local local= remote= lts= rts= lid= rid= auth=psk psk=tcpike-test-psk-0123456789
	local proposals=aes256gcm16-prfsha256-x25519 esp=aes256gcm16 backend=none
	local conn_extra= daemon_extra= child_extra= children_extra= mode=tunnel rauth= cacerts=ca.pem
	local cert= key=
	local kv
	for kv in "$@"; do
		local k=${kv%%=*} v=${kv#*=}
		case $k in
		local|remote|lts|rts|lid|rid|auth|rauth|psk|proposals|esp|backend|mode| \
		conn_extra|daemon_extra|child_extra|children_extra|cacerts|cert|key) printf -v "$k" '%s' "$v" ;;
		*) echo "ike_conf: unknown key $k" >&2; return 1 ;;
		esac
	done
	rauth=${rauth:-$auth}
	local lauth_block rauth_block
	case $auth in
	psk) lauth_block="auth = psk" ;;
	ecdsa) ike_keys; lauth_block="auth = pubkey
			certs = $IKE_DATA/ec256.pem
			key = $IKE_DIR/ec256.key" ;;
	rsa) ike_keys; lauth_block="auth = pubkey
			certs = $IKE_DIR/rsa-chain.pem
			key = $IKE_DIR/rsa.key" ;;
	rsapss) ike_keys; lauth_block="auth = pubkey
			certs = $IKE_DATA/rsapss.pem
			key = $IKE_DIR/rsapss.key" ;;
	files) lauth_block="auth = pubkey
			certs = $cert
			key = $key" ;;
	esac
	[[ $cacerts = /* ]] || cacerts=$IKE_DATA/$cacerts
	case $rauth in
	psk) rauth_block="auth = psk" ;;
	*) rauth_block="auth = pubkey
			cacerts = $cacerts" ;;
	esac
	: > "$IKE_DIR/$name.conf"
	chmod 600 "$IKE_DIR/$name.conf"
	cat > "$IKE_DIR/$name.conf" <<EOF
daemon {
	backend = $backend
	control_socket = $IKE_DIR/$name.sock
	log_level = debug
	$(printf '%s\n' "$daemon_extra" | tr ';' '\n')
}
connections {
	c {
		${local:+local_addrs = $local}
		${remote:+remote_addrs = $remote}
		proposals = $proposals
		$(printf '%s\n' "$conn_extra" | tr ';' '\n')
		local {
			$lauth_block
			${lid:+id = $lid}
		}
		remote {
			$rauth_block
			${rid:+id = $rid}
		}
		children {
			net {
				local_ts = $lts
				remote_ts = $rts
				esp_proposals = $esp
				mode = $mode
				$(printf '%s\n' "$child_extra" | tr ';' '\n')
			}
			$(printf '%s\n' "$children_extra" | tr ';' '\n')
		}
	}
}
secrets {
	s {
		id = ${lid:-$local}
		id2 = ${rid:-$remote}
		secret = "$psk"
	}
}
EOF
}

ike_start() {
	local ns=$1 name=$2; shift 2
	rm -f "$IKE_DIR/$name.sock"
	: >"$IKE_DIR/$name.kb"
	TCPIKE_KB_NONE_RECORD=${IKE_KB_RECORD-$IKE_DIR/$name.kb} \
	${IKE_WRAP:-} ip netns exec "$ns" "$BIN/tcpiked" -f "$IKE_DIR/$name.conf" "$@" \
		>"$IKE_DIR/$name.log" 2>&1 &
	IKE_PID[$name]=$!
	IKE_NS[$name]=$ns
	wait_for 10 test -S "$IKE_DIR/$name.sock"
}
declare -A IKE_NS

# ike_kill NAME: tcpiked killed like a crash (SIGKILL): no Delete, no
# cleanup, its kernel SAs and policies left behind
ike_kill() {
	kill -9 "${IKE_PID[$1]}" 2>/dev/null
	wait "${IKE_PID[$1]}" 2>/dev/null
	unset "IKE_PID[$1]"
}

ike_ctl() {
	local name=$1; shift
	timeout 10 "$TOOL_BIN/tcpikectl" -s "$IKE_DIR/$name.sock" "$@"
}

ike_json() { ike_ctl "$1" status --json; }

# ike_jq NAME PYTHON-EXPRESSION: evaluates the expression on the status
# JSON (as `s`) and prints the result.
ike_jq() {
	ike_json "$1" | python3 -c "import json,sys
s=json.load(sys.stdin)
try:
    r=$2
except (IndexError, KeyError):
    r=None
print(r)"
}

ike_established() {
	# The common case without python (slow to start under TCG).
	if [ "${2:-1}" = 1 ]; then
		ike_ctl "$1" status 2>/dev/null | awk '/: ESTABLISHED /{e=1; next} /^[^ ]/{e=0} e && /: INSTALLED /{ok=1} END{exit !ok}'
		return
	fi
	[ "$(ike_jq "$1" "sum(1 for i in s['ike_sas'] if i['state']=='ESTABLISHED' and any(c['state']=='INSTALLED' for c in i['children']))")" -ge "${2:-1}" ]
}

ike_count() { ike_jq "$1" "len(s['ike_sas'])"; }
# ike_gone_soon NAME: NAME holds no IKE SA within 2 s
ike_gone_soon() {
	local end=$((SECONDS + 2))
	while [ $SECONDS -le $end ]; do
		[ "$(ike_count "$1")" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}

# --- memory under a flood ------------------------------------------------------
# ike_rss NAME                  VmRSS of NAME's tcpiked, kB
# ike_tcp NAME FIELD            a field of its status' "tcp" (connections, ...)
# ike_sample NAME FILE          until killed, every 0.2 s: its half-open SAs
#                               to FILE.ho, its VmRSS to FILE.rss
# ike_sample_end PID NAME FILE  stops that sampler (PID), then one last round
#                               (on a loaded machine a short flood may end
#                               before the loop came round)
# max_of FILE                   the largest number in FILE
ike_rss() { awk '/^VmRSS/ { print $2 }' "/proc/${IKE_PID[$1]}/status"; }
ike_tcp() { ike_jq "$1" "s['tcp']['$2']"; }
ike_sample() {
	while :; do
		ike_jq "$1" "s['half_open']" >>"$2.ho" 2>/dev/null
		ike_rss "$1" >>"$2.rss" 2>/dev/null
		sleep 0.2
	done
}
ike_sample_end() {
	kill "$1"; wait "$1" 2>/dev/null
	ike_jq "$2" "s['half_open']" >>"$3.ho" 2>/dev/null
	ike_rss "$2" >>"$3.rss" 2>/dev/null
}
max_of() { sort -n "$1" | tail -n1; }

ike_stop() {
	local name=$1 pid=${IKE_PID[$1]} rc i
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -ABRT "$pid" 2>/dev/null
		sleep 1
		kill -9 "$pid" 2>/dev/null
		wait "$pid"
		unset "IKE_PID[$name]"
		tap_fail "$name: tcpiked exits cleanly with no sanitizer report" \
			"still running 10 s after SIGTERM; $(tail -n 5 "$IKE_DIR/$name.log")"
		return 1
	fi
	wait "$pid"
	rc=$?
	unset "IKE_PID[$name]"
	if [ $rc -ne 0 ] || grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$IKE_DIR/$name.log"; then
		tap_fail "$name: tcpiked exits cleanly with no sanitizer report" \
			"exit $rc; $(grep -E -m3 -A5 'Sanitizer|runtime error' "$IKE_DIR/$name.log")"
		return 1
	fi
	tap_ok "$name: tcpiked exits cleanly with no sanitizer report"
}

# The log's tail without the tests' own status polling.
ike_log() {
	tap_diag "--- $1 log (tail)"
	grep -v 'debug: control: status' "$IKE_DIR/$1.log" | tail -n "${2:-30}" | sed 's/^/# /'
}

# --- the status of one daemon --------------------------------------------------
# ike1 NAME FIELD       FIELD of its first ESTABLISHED IKE SA
# child1 NAME FIELD     FIELD of the first INSTALLED Child SA of those
# ike_counter NAME C    the daemon's counter C (status "counters")
# ike_rekeys NAME / child_rekeys NAME: the rekeys behind the newest IKE SA /
#                       Child SA (an SA counts its predecessors' rekeys)
# rekeyed NAME ike|child N: established, and N rekeys of that kind behind it
ike1() { ike_jq "$1" "[i for i in s['ike_sas'] if i['state']=='ESTABLISHED'][0]['$2']"; }
child1() {
	ike_jq "$1" "[c for i in s['ike_sas'] if i['state']=='ESTABLISHED' for c in i['children'] if c['state']=='INSTALLED'][0]['$2']"
}
ike_counter() { ike_jq "$1" "s['counters']['$2']"; }
ike_rekeys() { ike_jq "$1" "max([i['rekeys'] for i in s['ike_sas']] or [0])"; }
child_rekeys() { ike_jq "$1" "max([c['rekeys'] for i in s['ike_sas'] for c in i['children']] or [0])"; }
rekeyed() {
	ike_established "$1" || return 1
	if [ "$2" = ike ]; then
		[ "$(ike_rekeys "$1")" -ge "$3" ]
	else
		[ "$(child_rekeys "$1")" -ge "$3" ]
	fi 2>/dev/null
}

# log_ms NAME FROM TO: milliseconds from the first line of NAME's log
# containing FROM to the first one after it containing TO, by the log's own
# stamps (ISO 8601, UTC, ms: the daemon's clock, not when a command
# returned on a loaded machine); 99999 when either is missing.
log_ms() {
	python3 - "$IKE_DIR/$1.log" "$2" "$3" <<'PY'
import sys, datetime
t = []
for line in open(sys.argv[1]):
    if len(t) < 2 and sys.argv[2 + len(t)] in line:
        t.append(datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f"))
print(int((t[1] - t[0]).total_seconds() * 1000) if len(t) == 2 else 99999)
PY
}

# --- b answering selftests/ikeprobe.py ----------------------------------------
# probe_responder PREFIX [KEY=VALUE...]: the namespace pair (PREFIX-a,
# PREFIX-b), nft counting at b, and tcpiked b at 10.0.0.2 for the probe's
# PSK and identity (py.test at 10.0.0.1), with these ike_conf keys added;
# the counters reset once b is up.  Skips the script when any of it cannot
# be had.
probe_responder() {
	local p=$1
	shift
	command -v nft >/dev/null || tap_skip_all "nft not installed"
	require_py_crypto
	topo_pair "$p" || tap_skip_all "cannot build the namespace pair"
	wire_count b="$NS_B"
	ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
		lid=fqdn:b.test rid=fqdn:py.test "$@"
	ike_start "$NS_B" b || tap_skip_all "tcpiked did not start"
	wire_reset
}

# --- a pair: a (in NS_A, the initiator) and b (in NS_B) ------------------------
# ike_up [A-KEY=VALUE...] [-- B-KEY=VALUE...]: stop a and b if running (their
# clean-exit TAP lines), write their configs from A_ARGS / B_ARGS plus these
# ike_conf keys, reset the wire counters (and run ike_up_hook, when a test
# defines one, for counters of its own), start b then a, and a initiates c.
ike_up() {
	local a=() b=() x side=a
	for x in "$@"; do
		[ "$x" = -- ] && { side=b; continue; }
		if [ $side = a ]; then a+=("$x"); else b+=("$x"); fi
	done
	[ -n "${IKE_PID[a]:-}" ] && ike_stop a
	[ -n "${IKE_PID[b]:-}" ] && ike_stop b
	ike_conf a "${A_ARGS[@]}" "${a[@]}" && ike_conf b "${B_ARGS[@]}" "${b[@]}" || return 1
	[ ${#WIRE_NS[@]} -gt 0 ] && wire_reset
	declare -F ike_up_hook >/dev/null && ike_up_hook
	ike_start "$NS_B" b && ike_start "$NS_A" a && ike_ctl a initiate c --no-wait >/dev/null
}

# expect_established [-t SECONDS] "description" [NAME...]: one TAP line, ok
# when each daemon (a and b by default) has its IKE SA and Child SA up,
# waiting SECONDS (10) for the first and 5 more for each other; on failure
# the daemons' logs follow.  Returns the outcome.
expect_established() {
	local t=10 desc n
	[ "$1" = -t ] && { t=$2; shift 2; }
	desc=$1; shift
	[ $# -gt 0 ] || set -- a b
	for n in "$@"; do
		if ! wait_for "$t" ike_established "$n"; then
			tap_fail "$desc" "$n has no established IKE SA with an installed Child SA"
			for n in "${!IKE_PID[@]}"; do ike_log "$n"; done
			return 1
		fi
		t=5
	done
	tap_ok "$desc"
}

# kb_sas NAME: one line per SA that NAME's none backend holds now, folded
# from the record of every request it got (sa-add, sa-steer, sa-del):
#   DIR SPI SRC DST ENCAP SPORT DPORT    (in order of installation)
kb_sas() {
	awk '$1 == "sa-add" { k = $4 " " $8; o[k] = ++n; d[k] = $2; s[k] = $6
			      e[k] = $(NF - 2) " " $(NF - 1) " " $NF }
	     $1 == "sa-steer" { k = $3 " " $5; if (k in d) e[k] = $7 " " $8 " " $9 }
	     $1 == "sa-del" { k = $3 " " $5; delete d[k] }
	     END { for (k in d) { split(k, x, " "); print o[k], d[k], x[1], s[k], x[2], e[k] } }' \
		"$IKE_DIR/$1.kb" | sort -n | cut -d' ' -f2-
}
# kb_encaps NAME: the distinct "DIR:ENCAP:SPORT:DPORT" of those SAs, sorted
kb_encaps() { kb_sas "$1" | awk '{print $1 ":" $5 ":" $6 ":" $7}' | sort -u | tr '\n' ' ' | sed 's/ $//'; }

# child_spis NAME / ike_spis NAME: "in/out" of each installed Child SA,
# "spi_i/spi_r" of each established IKE SA, space-separated
child_spis() { ike_jq "$1" "' '.join(c['spi_in']+'/'+c['spi_out'] for i in s['ike_sas'] for c in i['children'] if c['state']=='INSTALLED')"; }
ike_spis() { ike_jq "$1" "' '.join(i['spi_i']+'/'+i['spi_r'] for i in s['ike_sas'] if i['state']=='ESTABLISHED')"; }
# child_new OLD: a and b agree on one Child SA (mirrored SPIs) other than OLD
child_new() {
	local x
	x=$(child_spis a)
	[ -n "$x" ] && [ "$x" != "$1" ] && [ "$(echo "$x" | wc -w)" = 1 ] &&
		[ "$(child_spis b | awk -F/ '{print $2"/"$1}')" = "$x" ]
}
# ike_new OLD CHILD: a and b on one IKE SA other than OLD, the Child SA
# CHILD carried over
ike_new() {
	local x
	x=$(ike_spis a)
	[ -n "$x" ] && [ "$x" != "$1" ] && [ "$(ike_spis b)" = "$x" ] &&
		[ "$(ike_count a)" = 1 ] && [ "$(ike_count b)" = 1 ] && [ "$(child_spis a)" = "$2" ]
}
# no_sa NAME...: none of them holds an IKE SA
no_sa() {
	local n
	for n in "$@"; do [ "$(ike_count "$n")" = 0 ] || return 1; done
}
# failed_ge NAME N: NAME counted N or more failed IKE SAs
failed_ge() { [ "$(ike_counter "$1" ike_failed)" -ge "$2" ] 2>/dev/null; }
