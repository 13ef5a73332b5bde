#!/bin/bash
# Connections chosen by the peer's identity with wildcards, as strongSwan
# does, against strongSwan 5.9.8 road warriors (charon, kernel-libipsec;
# tcpiked backend none) with certificates from one CA: tcpiked's
# connections admit any address (remote_addrs = %any) and differ only in
# their remote id.
#
#   - carol (ec.tcpike.test, an FQDN in her certificate) lands on hosts
#     (*.tcpike.test), not on mail or on the DN wildcard
#   - dave (rsa@tcpike.test, an email in his certificate, from the
#     intermediate CA) lands on mail (*@tcpike.test)
#   - eve, with carol's certificate but her DN as identity
#     (O=tcpike, CN=ec.tcpike.test), matches no remote id (the DN wildcard
#     wants CN=*.clients.tcpike.test): AUTHENTICATION_FAILED, logged
#   - not here: DNS names in remote_addrs (not yet supported)
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
trap 'sw_cleanup; ike_cleanup' EXIT
swt_prereq swid

# dave's (then eve's) namespace, on a second link to tcpiked's
swt_third_ns swid$$-c

D=$TOP/userspace/tests/data
install -m 600 "$D/ec384.key" "$IKE_DIR/t.key"
cat "$D/ca.pem" "$D/inter.pem" >"$IKE_DIR/cas.pem"

# conn NAME REMOTE-ID: a %any connection of tcpiked's for that remote id
conn() {
	cat <<EOF
	$1 {
		remote_addrs = %any
		proposals = aes256gcm16-prfsha256-x25519
		local {
			auth = pubkey
			id = fqdn:ec384.tcpike.test
			certs = $D/ec384.pem
			key = $IKE_DIR/t.key
		}
		remote {
			auth = pubkey
			id = $2
			cacerts = $IKE_DIR/cas.pem
		}
		children {
			net {
				local_ts = 192.168.1.0/24
				remote_ts = 10.0.0.0/8
				esp_proposals = aes256gcm16
			}
		}
	}
EOF
}
: >"$IKE_DIR/t.conf"
chmod 600 "$IKE_DIR/t.conf"
{
	printf 'daemon {\n\tbackend = none\n\tcontrol_socket = %s\n\tlog_level = debug\n}\nconnections {\n' \
		"$IKE_DIR/t.sock"
	conn dn '"O=tcpike, CN=*.clients.tcpike.test"'
	conn mail '*@tcpike.test'
	conn hosts '*.tcpike.test'
	printf '}\n'
} >"$IKE_DIR/t.conf"
if ike_start "$NS_A" t; then
	tap_ok "tcpiked starts with three %any connections told apart by wildcard remote ids"
else
	tap_fail "tcpiked starts with wildcard remote ids" "$(tail -n 5 "$IKE_DIR/t.log")"
	tap_done
fi

# rw NAME LOCAL REMOTE ID AUTH [CERT]: a road warrior with a certificate
# (AUTH ecdsa or rsa as sw_conf has them; CERT another of the test PKI's)
rw() {
	local d=$SW_DIR/$1
	sw_conf "$1" local="$2" remote="$3" lid="$4" rid=ec384.tcpike.test auth="$5" \
		lts=dynamic rts=192.168.1.0/24 kernel=libipsec || return 1
	[ -n "${6:-}" ] || return 0
	rm -f "$d"/x509/* "$d"/private/*
	cp "$D/$6.pem" "$d/x509/"
	install -m 600 "$D/$6.key" "$d/private/"
	sed -i "s/certs = ec384\\.pem/certs = $6.pem/" "$d/swanctl.conf"
}
# t_conn ID: the connection of tcpiked's established IKE SA with peer ID
t_conn() {
	ike_jq t "' '.join(i['name'] for i in s['ike_sas'] if i['state']=='ESTABLISHED' and i['peer_id']=='$1')"
}
on_conn() { [ "$(t_conn "$1")" = "$2" ]; }
expect_conn() {	# expect_conn DESC CHARON ID CONN
	if swt_wait 15 on_conn "$3" "$4" &&
	   grep -q "IKE_SA c\\[1\\] established" "$SW_DIR/$2/charon.log"; then
		tap_ok "$1"
	else
		tap_fail "$1" "tcpiked: '$(t_conn "$3")'"
		ike_log t 20
		sw_log "$2" 20
	fi
}

rw s 10.0.0.2 10.0.0.1 ec.tcpike.test ecdsa ec256 && sw_start "$NS_B" s ||
	tap_skip_all "charon carol did not start"
rw d 10.0.1.2 10.0.1.1 rsa@tcpike.test rsa && sw_start "$NS_C" d ||
	tap_skip_all "charon dave did not start"

sw_initiate s >/dev/null
expect_conn "carol (ec.tcpike.test): established on hosts (*.tcpike.test); charon's log says established" \
	s ec.tcpike.test hosts
sw_initiate d >/dev/null
expect_conn "dave (rsa@tcpike.test, from the intermediate CA): established on mail (*@tcpike.test)" \
	d rsa@tcpike.test mail

# --- eve: carol's certificate, her DN as identity: no remote id matches --------
sw_stop d
rw e 10.0.1.2 10.0.1.1 '"O=tcpike, CN=ec.tcpike.test"' ecdsa ec256 && sw_start "$NS_C" e ||
	tap_skip_all "charon eve did not start"
sw_initiate e >/dev/null
swt_wait 15 grep -q 'parsed IKE_AUTH response 1 ' "$SW_DIR/e/charon.log"
if grep -qE 'parsed IKE_AUTH response 1 \[ N\(AUTH_FAILED\) \]' "$SW_DIR/e/charon.log"; then
	tap_ok "eve (O=tcpike, CN=ec.tcpike.test) matches no wildcard: AUTHENTICATION_FAILED"
else
	tap_fail "eve: AUTHENTICATION_FAILED in the IKE_AUTH response" "$(grep IKE_AUTH "$SW_DIR/e/charon.log")"
	ike_log t 20
fi
swt_t_log_has "tcpiked logged the identity it found no connection for" \
	'no connection for peer identity /O=tcpike/CN=ec\.tcpike\.test$'
tap_expect_eq "tcpiked holds carol's IKE SA only (dave stopped, eve refused)" "hosts" \
	"$(ike_jq t "' '.join(i['name'] for i in s['ike_sas'])")"

ike_stop t
sw_stop s
sw_stop e
tap_done
