#!/bin/bash
# Many road warriors on one remote-access gateway (issue 22): 200 clients
# with distinct identities (tools/tcpike-bench --distinct-ids --vip-out:
# c<k>.rw.tcpike.test, PSK; each IKE_AUTH asks for a virtual IPv4 address
# with an empty INTERNAL_IP4_ADDRESS and TSi 0.0.0.0/0, and the generator
# reads the CFG_REPLY itself) against one tcpiked (backend none,
# remote_addrs = %any, no remote id, a pool):
#   - over UDP: all 200 established, 200 distinct addresses, every one in
#     the pool, and for every client the lease tcpiked's status lists for
#     its identity is the address the client was given
#   - the 200 again over TCP (RFC 9329), new IKE SAs of the same
#     identities: each client is given its own address back
#   - a pool of 150 addresses: 150 clients are given one, the other 50
#     INTERNAL_ADDRESS_FAILURE (RFC 7296 §3.15.4), never an address twice
#   - certificates: the 200 with an ECDSA certificate each from one CA
#     (tcpike-bench --certs; the gateway's remote auth = pubkey, cacerts =
#     that CA): 200 distinct addresses; with PSK AUTH instead all 200 are
#     refused; one with a certificate of another CA is refused with
#     AUTHENTICATION_FAILED, the 199 others up
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
trap 'ike_cleanup' EXIT
require_netns
GEN=$TOOL_BIN/tools/tcpike-bench
[ -x "$GEN" ] || GEN=$BIN/tools/tcpike-bench
[ -x "$GEN" ] || tap_skip_all "tools/tcpike-bench not built (make asan)"
topo_pair rwm$$ || tap_skip_all "cannot build the namespace pair"

PSK=tcpike-rw-many-psk-0123456789
N=200

# g_conf ADDRS [REMOTE-AUTH]: the gateway (in b), its pool "rw" of ADDRS,
# its peers' authentication (psk by default)
g_conf() {
	cat >"$IKE_DIR/g.conf" <<EOF
daemon {
	backend = none
	control_socket = $IKE_DIR/g.sock
	log_level = info
	cookie_threshold = 100000
	half_open_max = 100000
	half_open_per_ip = 100000
	tcp_per_ip = 100000
}
pools {
	rw {
		addrs = $1
	}
}
connections {
	rw {
		remote_addrs = %any
		pools = rw
		proposals = aes256gcm16-prfsha256-x25519
		dpd_delay = 0
		local {
			auth = psk
			id = fqdn:resp.tcpike.test
		}
		remote {
			${2:-auth = psk}
		}
		children {
			net {
				local_ts = 192.168.2.0/24
				remote_ts = 10.20.0.0/16
				esp_proposals = aes256gcm16
			}
		}
	}
}
secrets {
	rw {
		id = resp.tcpike.test
		secret = "$PSK"
	}
}
EOF
	chmod 600 "$IKE_DIR/g.conf"
}

# gen MODE OUT: the N clients from a, what each was given into OUT; prints
# the generator's summary line
gen() {
	ip netns exec "$NS_A" "$GEN" --dst 10.0.0.2 --count $N --window 20 --mode "$1" \
		--id rw.tcpike.test --psk "$PSK" --distinct-ids --vip-out "$2" --timeout 30 \
		${3:+--certs "$3"} 2>"$2.err"
}
# leases: "identity address" of every lease tcpiked's status lists, sorted
leases() {
	ike_jq g "'\n'.join(sorted('%s %s' % (l['identity'], l['address']) for l in s['leases']))"
}
in_pool() { awk '$2 !~ /^10\.20\.0\.[0-9]+$/ { bad++ } END { exit bad ? 1 : 0 }' "$1"; }
distinct() { [ "$(awk '{ print $2 }' "$1" | sort -u | wc -l)" = "$2" ]; }

g_conf 10.20.0.0/24
ike_start "$NS_B" g || { tap_fail "the gateway starts"; ike_log g 20; tap_done; }

# --- 200 clients over UDP -----------------------------------------------------
out=$(gen udp "$IKE_DIR/v1")
tap_check "$N clients over UDP: every one established with a virtual IP ($out)" \
	grep -q "ok=$N failed=0 timeouts=0" <<<"$out"
[ -s "$IKE_DIR/v1.err" ] && sed 's/^/# /' "$IKE_DIR/v1.err"
tap_check "$N distinct addresses" distinct "$IKE_DIR/v1" $N
tap_check "every one in the pool 10.20.0.0/24" in_pool "$IKE_DIR/v1"
sort "$IKE_DIR/v1" >"$IKE_DIR/v1.s"
leases >"$IKE_DIR/l1"
if cmp -s "$IKE_DIR/v1.s" "$IKE_DIR/l1"; then
	tap_ok "tcpiked's leases are the $N clients' identities and addresses, one each"
else
	tap_fail "tcpiked's leases are the $N clients' identities and addresses, one each" \
		"$(diff "$IKE_DIR/v1.s" "$IKE_DIR/l1" | head -n 6)"
fi

# --- the same 200 again, over TCP ----------------------------------------------
out=$(gen tcp "$IKE_DIR/v2")
tap_check "the $N again over TCP (RFC 9329): every one established ($out)" \
	grep -q "ok=$N failed=0 timeouts=0" <<<"$out"
[ -s "$IKE_DIR/v2.err" ] && sed 's/^/# /' "$IKE_DIR/v2.err"
sort "$IKE_DIR/v2" >"$IKE_DIR/v2.s"
if cmp -s "$IKE_DIR/v1.s" "$IKE_DIR/v2.s"; then
	tap_ok "each client was given its own address back"
else
	tap_fail "each client was given its own address back" \
		"$(diff "$IKE_DIR/v1.s" "$IKE_DIR/v2.s" | head -n 6)"
fi
tap_expect_eq "still $N leases, the same" "$(cat "$IKE_DIR/l1")" "$(leases)"
ike_stop g

# --- a pool of 150 --------------------------------------------------------------
g_conf 10.20.0.1-10.20.0.150
ike_start "$NS_B" g || { tap_fail "the gateway starts again"; ike_log g 20; tap_done; }
out=$(gen udp "$IKE_DIR/v3")
tap_check "a pool of 150: 150 established, 50 failed ($out)" \
	grep -q "ok=150 failed=50 timeouts=0" <<<"$out"
tap_expect_eq "50 clients were told INTERNAL_ADDRESS_FAILURE" 50 \
	"$(grep -c ' INTERNAL_ADDRESS_FAILURE$' "$IKE_DIR/v3")"
grep -v ' INTERNAL_ADDRESS_FAILURE$' "$IKE_DIR/v3" >"$IKE_DIR/v3.ok"
tap_check "150 distinct addresses, in the pool" \
	sh -c "[ \$(awk '{ print \$2 }' '$IKE_DIR/v3.ok' | sort -u | wc -l) = 150 ] &&
	       ! grep -qv ' 10\.20\.0\.\([1-9]\|[1-9][0-9]\|1[0-4][0-9]\|150\)$' '$IKE_DIR/v3.ok'"
tap_expect_eq "tcpiked logged each refusal: no virtual IP, every IPv4 pool exhausted" 50 \
	"$(grep -c ": no virtual IP for c[0-9]*\.rw\.tcpike\.test from connection rw's pools: every IPv4 pool exhausted; the Child SA is refused with INTERNAL_ADDRESS_FAILURE" "$IKE_DIR/g.log")"
ike_stop g

# --- certificates from one CA ------------------------------------------------------
# an ECDSA P-256 key and certificate (SAN DNS = its identity) per client
C=$IKE_DIR/certs
mkdir -p "$C"
(
	umask 077
	cd "$C" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-subj "/CN=rw CA" -days 2 -out ca.pem 2>/dev/null &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
		-subj "/CN=another CA" -days 2 -out other.pem 2>/dev/null || exit 1
	for k in $(seq 0 $((N - 1))); do
		n=c$k.rw.tcpike.test
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key \
			-subj "/CN=$n" -addext "subjectAltName=DNS:$n" 2>/dev/null |
		openssl x509 -req -CA ca.pem -CAkey ca.key -copy_extensions copy -days 2 \
			-out $n.crt 2>/dev/null || exit 1
	done
) || tap_fail "the CA and $N client certificates made (openssl)"
g_conf 10.20.0.0/24 "auth = pubkey
			cacerts = $C/ca.pem"
ike_start "$NS_B" g || { tap_fail "the gateway starts with pubkey"; ike_log g 20; tap_done; }
out=$(gen udp "$IKE_DIR/v4" "$C")
tap_check "$N clients with certificates from one CA: every one established ($out)" \
	grep -q "ok=$N failed=0 timeouts=0" <<<"$out"
[ -s "$IKE_DIR/v4.err" ] && sed 's/^/# /' "$IKE_DIR/v4.err"
both() { distinct "$1" $N && in_pool "$1"; }
tap_check "$N distinct addresses, in the pool" both "$IKE_DIR/v4"
# the same clients with the PSK instead: auth = pubkey refuses them all
out=$(gen udp "$IKE_DIR/v4p")
tap_check "the same $N with PSK AUTH instead: every one refused ($out)" \
	grep -q "ok=0 failed=$N timeouts=0" <<<"$out"
# c7 now with a certificate of another CA, its identity the same
n=c7.rw.tcpike.test
(umask 077; cd "$C" &&
 openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key \
	-subj "/CN=$n" -addext "subjectAltName=DNS:$n" 2>/dev/null |
 openssl x509 -req -CA other.pem -CAkey other.key -copy_extensions copy -days 2 -out $n.crt 2>/dev/null)
out=$(gen udp "$IKE_DIR/v5" "$C")
tap_check "c7 with another CA's certificate: 199 established, 1 failed ($out)" \
	grep -q "ok=199 failed=1 timeouts=0" <<<"$out"
tap_check "c7 was told AUTHENTICATION_FAILED" grep -q "AUTHENTICATION_FAILED" "$IKE_DIR/v5.err"
tap_expect_eq "c7 was given no address" "c7.rw.tcpike.test -" "$(grep '^c7\.' "$IKE_DIR/v5")"
ike_stop g
tap_done
