#!/bin/bash
# strongSwan 5.9.8 against tcpiked (backend none) on the host, for the
# control plane: charon runs with kernel-libipsec (userspace ESP; the host
# kernel has no ESP), which in 5.9.8 always encapsulates ESP in UDP, so
# both sides also go through the NAT-T float to 4500.  INVALID_KE_PAYLOAD
# in both directions, charon's reauthentication (a new IKE SA replacing the
# old one), liveness checks from charon, and tcpiked's IKE_AUTH in RFC 7383
# fragments (RSA with an intermediate) reassembled by charon.  ESP itself
# is tested against charon in the VM (selftests/vm/40).
. "$(dirname "$0")/../lib.sh"
require_netns
[ -x "$BIN/tcpiked" ] || tap_skip_all "$BIN/tcpiked not built (make asan)"
. "$TOP/selftests/ike.sh"
. "$TOP/selftests/peers/strongswan.sh"
trap 'sw_cleanup; ike_cleanup' EXIT
sw_available || tap_skip_all "strongSwan (strongswan-charon, strongswan-swanctl) not installed"
[ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] ||
	tap_skip_all "charon's kernel-libipsec plugin (libcharon-extra-plugins) not installed"
[ -c /dev/net/tun ] || tap_skip_all "no /dev/net/tun for kernel-libipsec"
topo_pair "swcp$$" || tap_skip_all "cannot build the namespace pair"

# tcpiked "t" in a, charon "s" in b.  up [t:ARGS...] -- [s:ARGS...]
up() {
	local t=() s=() x side=t
	for x in "$@"; do
		[ "$x" = -- ] && { side=s; continue; }
		[ $side = t ] && t+=("$x") || s+=("$x")
	done
	[ -n "${IKE_PID[t]:-}" ] && ike_stop t
	sw_stop s
	ike_conf t local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
		lid=fqdn:t.tcpike.test rid=fqdn:s.tcpike.test "${t[@]}"
	sw_conf s local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
		lid=s.tcpike.test rid=t.tcpike.test kernel=libipsec "${s[@]}"
	sw_start "$NS_B" s && ike_start "$NS_A" t
}

t_child() { ike_jq t "' '.join(c['spi_in']+' '+c['spi_out'] for i in s['ike_sas'] for c in i['children'] if c['state']=='INSTALLED')"; }
t_ike() { ike_jq t "' '.join(i['spi_i']+'/'+i['spi_r'] for i in s['ike_sas'] if i['state']=='ESTABLISHED')"; }
# one IKE SA and one Child SA on each side, the same SPIs
agreed() {
	local c
	c=($(t_child))
	sw_sas s
	[ ${#c[@]} = 2 ] && [ "$SW_CHILD" = "${c[1]}/${c[0]}" ] &&
		[ "$(ike_count t)" = 1 ] && [ "$SW_COUNT" = 1 ] && [ "$(t_ike)" = "$SW_IKE" ]
}
fail_logs() { ike_log t 25; sw_log s 25; }

# --- INVALID_KE_PAYLOAD -----------------------------------------------------
up proposals=aes256gcm16-prfsha256-x25519-ecp256 -- proposals=aes256gcm16-prfsha256-ecp256
ike_ctl t initiate c >/dev/null
if wait_for 10 agreed; then
	tap_ok "tcpiked initiates with X25519, charon wants ECP-256: INVALID_KE and retry"
else
	tap_fail "tcpiked initiates with X25519, charon wants ECP-256" "$(ike_ctl t status)"; fail_logs
fi
tap_expect_eq "group in use" "AES_GCM_16_256/HMAC_SHA2_256/ECP_256" "$(ike_jq t "s['ike_sas'][0]['proposal']")"

up proposals=aes256gcm16-prfsha256-ecp256 -- proposals=aes256gcm16-prfsha256-x25519-ecp256
sw_initiate s >/dev/null
if wait_for 10 agreed; then
	tap_ok "charon initiates with X25519, tcpiked wants ECP-256: INVALID_KE and retry"
else
	tap_fail "charon initiates with X25519, tcpiked wants ECP-256" "$(ike_ctl t status)"; fail_logs
fi
tap_expect_eq "tcpiked sent one INVALID_KE_PAYLOAD" 1 "$(ike_jq t "s['counters']['invalid_ke_sent']")"

# --- reauthentication, DPD ----------------------------------------------------
up -- conn_extra="dpd_delay = 1s"
ike_ctl t initiate c >/dev/null
wait_for 10 agreed
old_ike=$(t_ike) old_child=$(t_child)
sw_ctl s --rekey --ike c --reauth >/dev/null
reauthed() { agreed && [ "$(t_ike)" != "$old_ike" ] && [ "$(t_child)" != "$old_child" ]; }
if wait_for 10 reauthed; then
	tap_ok "charon reauthenticates: tcpiked ends with the new IKE SA and Child SA only"
else
	tap_fail "charon reauthenticates" "IKE '$old_ike' -> '$(t_ike)', child '$old_child' -> '$(t_child)', $(ike_count t) IKE SAs"
	fail_logs
fi
in0=$(ike_jq t "s['ike_sas'][0]['msgid_in']")
sleep 3
in1=$(ike_jq t "s['ike_sas'][0]['msgid_in']")
if [ -n "$in0" ] && [ "$in0" != None ] && [ $((in1 - in0)) -ge 2 ] && agreed; then
	tap_ok "charon's liveness checks (dpd_delay 1s) answered: message IDs $in0 -> $in1, SA kept"
else
	tap_fail "charon's liveness checks answered" "msgid_in $in0 -> $in1"; fail_logs
fi

# --- fragmentation ------------------------------------------------------------
up auth=rsa lid=fqdn:rsa.tcpike.test rid=fqdn:ec384.tcpike.test conn_extra="fragment_size = 576" \
   -- auth=ecdsa lid=ec384.tcpike.test rid=rsa.tcpike.test
ike_ctl t initiate c >/dev/null
if wait_for 10 agreed; then
	tap_ok "RSA chain from tcpiked in RFC 7383 fragments, ECDSA P-384 from charon"
else
	tap_fail "RSA chain from tcpiked in RFC 7383 fragments" "$(ike_ctl t status)"; fail_logs
fi
tap_check "tcpiked sent IKE_AUTH in more than one fragment" \
	test "$(ike_jq t "s['counters']['fragments_sent']")" -gt 1
tap_check "charon reassembled them" grep -q "received fragment #" "$SW_DIR/s/charon.log"

ike_stop t
sw_stop s
tap_done
