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
#   - both ask for a virtual IP (vips = 0.0.0.0): each gets a distinct
#     address of tcpiked's pool, the one charon shows is the one tcpiked
#     shows for that identity (a road warrior with certificates)
#   - eve, with carol's certificate but her DN as identity
#     (O=tcpike, CN=ec.tcpike.test), matches no remote id (the DN wildcard
#     wants CN=*.clients.tcpike.test): AUTHENTICATION_FAILED, logged
#   - tcpiked initiates to carol by a DNS name (remote_addrs =
#     carol.tcpike.test, from the hosts file of tcpiked's namespace:
#     /etc/netns/NAME/hosts, which ip netns exec mounts on /etc/hosts);
#     a name that does not resolve is logged with the resolver's words and
#     is a failed attempt, tried again
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
trap 'sw_cleanup; ike_cleanup; [ -z "${NS_A:-}" ] || rm -rf "/etc/netns/$NS_A"' EXIT
swt_prereq swid
mkdir -p "/etc/netns/$NS_A"
printf '127.0.0.1 localhost\n10.0.0.2 carol.tcpike.test\n' >"/etc/netns/$NS_A/hosts"

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
		pools = rw
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
	printf 'daemon {\n\tbackend = none\n\tcontrol_socket = %s\n\tlog_level = debug\n}\n' \
		"$IKE_DIR/t.sock"
	printf 'pools {\n\trw {\n\t\taddrs = 10.10.0.0/24\n\t}\n}\nconnections {\n'
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
		lts=dynamic rts=192.168.1.0/24 kernel=libipsec conn_extra="vips = 0.0.0.0" \
		charon_extra="install_virtual_ip = yes" || return 1
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

# the virtual IP charon NAME shows ("local '...' @ 10.0.0.2[4500] [10.10.0.1]")
# and tcpiked's for peer ID
rw_vip() {
	sw_ctl "$1" --list-sas 2>/dev/null | sed -n "s/^  local .* \[\([0-9.]*\)\]\$/\1/p" | head -n1
}
t_vip() {
	ike_jq t "' '.join(v['address'] for i in s['ike_sas'] if i['state']=='ESTABLISHED' and i['peer_id']=='$1' for v in i['vips'])"
}
cv=$(rw_vip s) dv=$(rw_vip d)
tap_expect_eq "carol and dave were given distinct addresses of the pool, the same on both sides" \
	"carol 10.10.0.x=$(t_vip ec.tcpike.test), dave 10.10.0.x=$(t_vip rsa@tcpike.test), distinct" \
	"carol $(sed 's/[0-9]*$/x/' <<<"$cv")=$cv, dave $(sed 's/[0-9]*$/x/' <<<"$dv")=$dv, $([ -n "$cv" ] && [ "$cv" != "$dv" ] && echo distinct)"
child_on() {	# child_on CHARON VIP: its Child SA from the virtual IP
	grep -q "CHILD_SA net{[0-9]*} established .* TS $2/32 === 192.168.1.0/24" "$SW_DIR/$1/charon.log"
}
both_children() { child_on s "$cv" && child_on d "$dv"; }
tap_check "their Child SAs established (charon's logs), from the virtual IPs" both_children

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

# --- tcpiked initiates by a DNS name -------------------------------------------
ike_stop t
{
	printf 'daemon {\n\tbackend = none\n\tcontrol_socket = %s\n\tlog_level = debug\n}\nconnections {\n' \
		"$IKE_DIR/t.sock"
	conn tocarol ec.tcpike.test | sed -e 's/remote_addrs = %any/remote_addrs = carol.tcpike.test/' -e '/pools = rw/d' \
		-e 's|remote_ts = 10.0.0.0/8|remote_ts = 10.0.0.2/32|'
	conn nowhere ec.tcpike.test | sed -e 's/remote_addrs = %any/remote_addrs = nowhere.tcpike.test\n\t\tkeyingtries = 2/' -e '/pools = rw/d'
	printf '}\n'
} >"$IKE_DIR/t.conf"
ike_start "$NS_A" t || tap_fail "tcpiked starts with names in remote_addrs" "$(tail -n 5 "$IKE_DIR/t.log")"
ike_ctl t initiate tocarol >"$IKE_DIR/init.txt" 2>&1
tocarol_up() { [ "$(ike_jq t "' '.join(i['name'] + ' ' + i['remote'] for i in s['ike_sas'] if i['state']=='ESTABLISHED')")" = "tocarol 10.0.0.2" ]; }
if swt_wait 15 tocarol_up; then
	tap_ok "tcpiked initiated to carol.tcpike.test (its namespace's hosts file): established with 10.0.0.2"
else
	tap_fail "tcpiked initiated to carol.tcpike.test" "$(cat "$IKE_DIR/init.txt")"
	ike_log t 20
fi
swt_t_log_has "tcpiked logged what the name resolved to" \
	'tocarol: carol\.tcpike\.test resolved to 10\.0\.0\.2$'
ike_ctl t initiate nowhere >"$IKE_DIR/init.txt" 2>&1
gave_up() { grep -q 'nowhere: connecting failed (attempt 2 of 2): cannot resolve nowhere\.tcpike\.test: .*; giving up$' "$IKE_DIR/t.log"; }
if swt_wait 15 gave_up &&
   grep -qE 'nowhere: connecting failed \(attempt 1 of 2\): cannot resolve nowhere\.tcpike\.test: .+; next attempt in 1s$' "$IKE_DIR/t.log"; then
	tap_ok "a name that does not resolve: logged with the resolver's words, a failed attempt, asked again, given up after keyingtries = 2"
else
	tap_fail "a name that does not resolve is a failed attempt" "$(grep nowhere "$IKE_DIR/t.log" | tail -n 5)"
fi

ike_stop t
sw_stop s
sw_stop e
tap_done
