#!/bin/bash
# NAT traversal between two tcpiked (backend none): a sits behind an nft
# masquerade router r and initiates to b.  Both ends detect the NAT on the
# right side (RFC 7296 §2.23), IKE floats from UDP 500 to 4500, the Child SA
# is UDP-encapsulated (RFC 3948), a sends 1-byte NAT keepalives from
# userspace at the configured interval, and when r hands out a new mapping
# b follows it with the next authenticated message: the IKE SA answers at the
# new port and the existing Child SA's encapsulation moves there too.
# Then, without a NAT, encap = yes forces UDP encapsulation.
. "$(dirname "$0")/../lib.sh"
require_tcpiked
command -v conntrack >/dev/null || tap_skip_all "conntrack not installed (scripts/deps.sh)"
. "$TOP/selftests/ike.sh"
topo_nat "iken$$" || tap_skip_all "cannot build the NAT topology"

# Counters on the router's forward path: IKE from a per destination port,
# and NAT keepalives (RFC 3948 §2.3: UDP length 9, one 0xFF byte) each way.
ip netns exec "$NS_R" nft -f - <<'NFT'
table inet cnt {
	counter ike500 {}
	counter ike4500 {}
	counter ka_a {}
	counter ka_b {}
	chain count {
		type filter hook forward priority 0;
		iifname "ra" udp dport 500 counter name ike500
		iifname "ra" udp dport 4500 udp length 9 @th,64,8 0xff counter name ka_a
		iifname "ra" udp dport 4500 udp length != 9 counter name ike4500
		iifname "rb" udp length 9 @th,64,8 0xff counter name ka_b
	}
}
NFT
r() { cnt "$NS_R" "$1" "inet cnt"; }

ike_conf a local=10.1.0.2 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 \
	lid=fqdn:a.test rid=fqdn:b.test conn_extra="keepalive_interval = 1s;dpd_delay = 2s"
ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24 \
	lid=fqdn:b.test rid=fqdn:a.test
ike_start "$NS_A" a && ike_start "$NS_B" b && ike_ctl a initiate c --no-wait >/dev/null
expect_established "NAT: IKE SA and Child SA established through the masquerade"

sa0="s['ike_sas'][0]"
ch0="$sa0['children'][0]"
tap_expect_eq "a detects that it is behind a NAT (nat_local, not nat_remote)" "True False" \
	"$(ike_jq a "$sa0['nat_local']") $(ike_jq a "$sa0['nat_remote']")"
tap_expect_eq "b detects that its peer is behind a NAT (nat_remote, not nat_local)" "False True" \
	"$(ike_jq b "$sa0['nat_local']") $(ike_jq b "$sa0['nat_remote']")"
tap_expect_eq "both IKE SAs moved to port 4500 (udp-natt)" "udp-natt 4500 udp-natt 4500" \
	"$(ike_jq a "$sa0['transport']") $(ike_jq a "$sa0['remote_port']") $(ike_jq b "$sa0['transport']") $(ike_jq b "$sa0['local_port']")"
tap_expect_eq "b sees a at the router's address" "10.0.0.1" "$(ike_jq b "$sa0['remote']")"
tap_expect_eq "Child SA UDP-encapsulated on both sides" "udp udp" \
	"$(ike_jq a "$ch0['esp_transport']") $(ike_jq b "$ch0['esp_transport']")"
tap_expect_eq "encapsulation ports are the IKE SA's (a: 4500 -> 4500)" "4500 4500" \
	"$(ike_jq a "$ch0['encap_local_port']") $(ike_jq a "$ch0['encap_remote_port']")"
tap_expect_eq "b's encapsulation goes to the NAT mapping IKE uses" \
	"$(ike_jq b "$sa0['remote_port']")" "$(ike_jq b "$ch0['encap_remote_port']")"

# Only IKE_SA_INIT used 500; everything after it (IKE_AUTH, DPDs) is on 4500.
n500=$(r ike500); n4500=$(r ike4500)
tap_check "router: IKE_SA_INIT on 500 ($n500), IKE_AUTH and later on 4500 ($n4500)" \
	test "$n500" -ge 1 -a "$n4500" -ge 1
more4500() { test "$(r ike4500)" -gt "$n4500"; }
wait_for 5 more4500	# a DPD exchange (dpd_delay 2s)
tap_check "router: later exchanges stay on 4500 (500: $n500 -> $(r ike500), 4500: $n4500 -> $(r ike4500))" \
	test "$(r ike500)" = "$n500" -a "$(r ike4500)" -gt "$n4500"

# Keepalives: backend none has no kernel keepalives, so userspace sends
# them, every keepalive_interval (1 s) from the side behind the NAT only.
tap_check "a sends the keepalives from userspace" grep -q "NAT keepalives every 1s from userspace" "$IKE_DIR/a.log"
ka0=$(r ka_a); kb0=$(r ka_b)
sleep 5		# the window counted, not a wait for an event
ka=$(( $(r ka_a) - ka0 )); kb=$(( $(r ka_b) - kb0 ))
tap_check "router: $ka keepalives from a in 5 s at a 1 s interval (4 to 6)" test "$ka" -ge 4 -a "$ka" -le 6
tap_expect_eq "router: no keepalives from b (not behind a NAT)" 0 "$kb"

# New NAT mapping: r now masquerades to ports 40000-40009 and forgets its
# old mappings.  a's next packets (keepalives, then its periodic DPD, an
# authenticated request) arrive at b from a new port; b must follow (§2.23)
# and move the existing Child SA's ESP-in-UDP there.
spi_b=$(ike_jq b "$ch0['spi_in']")
old_port=$(ike_jq b "$sa0['remote_port']")
# one transaction, so no packet leaves r un-NATed in between
ip netns exec "$NS_R" nft -f - <<'NFT'
flush chain ip nat post
add rule ip nat post oifname "rb" meta l4proto udp masquerade to :40000-40009
NFT
ip netns exec "$NS_R" conntrack -F 2>/dev/null
moved() { p=$(ike_jq b "$sa0['remote_port']"); [ "$p" -ge 40000 ] && [ "$p" -le 40009 ]; }
if wait_for 8 moved; then
	tap_ok "b's IKE SA follows the new mapping ($old_port -> $(ike_jq b "$sa0['remote_port']"))"
else
	tap_fail "b's IKE SA follows the new mapping" "remote port $(ike_jq b "$sa0['remote_port']")"
	ike_log b
fi
new_port=$(ike_jq b "$sa0['remote_port']")
moved || new_port="none"	# the checks below then fail as well
tap_expect_eq "router: the mapping in conntrack is the one b uses" "$new_port" \
	"$(ip netns exec "$NS_R" conntrack -L -p udp --orig-src 10.1.0.2 --orig-port-dst 4500 2>/dev/null |
	   sed -n 's/.*src=10.0.0.2 dst=10.0.0.1 sport=4500 dport=\([0-9]*\).*/\1/p' | head -n1)"
tap_expect_eq "b's existing Child SA (same SPI) now encapsulates to the new port" \
	"$spi_b 4500 $new_port" \
	"$(ike_jq b "$ch0['spi_in']") $(ike_jq b "$ch0['encap_local_port']") $(ike_jq b "$ch0['encap_remote_port']")"
tap_check "b's backend was asked to move the outbound Child SA to the new mapping (sa-steer 4500 -> $new_port)" \
	grep -q "^sa-steer spi 0x[0-9a-f]* dst 10.0.0.1 encap udp 4500 $new_port$" "$IKE_DIR/b.kb"
tap_check "b logged the Child SA's move" grep -q "ESP-in-UDP now 4500 <-> $new_port (was 4500 <-> $old_port)" "$IKE_DIR/b.log"
tap_expect_eq "a still talks to b at 4500, its own Child SA unchanged" "4500 4500 4500" \
	"$(ike_jq a "$sa0['remote_port']") $(ike_jq a "$ch0['encap_local_port']") $(ike_jq a "$ch0['encap_remote_port']")"

# Exchanges keep working over the new mapping, and the rekeyed IKE SA
# inherits the moved Child SA.
old=$(ike_jq a "$ch0['spi_in']")
ike_ctl a rekey c ike >/dev/null
one_each() { rekeyed a ike 1 && [ "$(ike_count b)" = 1 ] && [ "$(ike_count a)" = 1 ]; }
if wait_for 5 one_each; then
	tap_ok "IKE SA rekey over the new mapping"
else
	tap_fail "IKE SA rekey over the new mapping"; ike_log a; ike_log b
fi
tap_expect_eq "b's new IKE SA and its inherited Child SA use the new port" \
	"$new_port $spi_b $new_port" \
	"$(ike_jq b "$sa0['remote_port']") $(ike_jq b "$ch0['spi_in']") $(ike_jq b "$ch0['encap_remote_port']")"
oldc=$(child_spis a)
ike_ctl a rekey c child >/dev/null
wait_for 5 child_new "$oldc"
tap_expect_eq "a Child SA made after the move encapsulates to the new port on b" \
	"udp $new_port" "$(ike_jq b "$ch0['esp_transport']") $(ike_jq b "$ch0['encap_remote_port']")"
tap_check "the Child SA rekey replaced the SA" test "$(ike_jq a "$ch0['spi_in']")" != "$old"
ike_stop a
ike_stop b

# --- encap = yes without a NAT ----------------------------------------------
topo_pair "ikee$$" || tap_skip_all "cannot build the namespace pair"
ike_conf a local=10.0.0.1 remote=10.0.0.2 lts=192.168.1.0/24 rts=192.168.2.0/24 conn_extra="encap = yes"
ike_conf b local=10.0.0.2 remote=10.0.0.1 lts=192.168.2.0/24 rts=192.168.1.0/24
ike_start "$NS_A" a && ike_start "$NS_B" b && ike_ctl a initiate c --no-wait >/dev/null
expect_established "encap = yes: established without a NAT"
tap_expect_eq "encap = yes: both sides on 4500, ESP in UDP 4500 <-> 4500" \
	"udp-natt udp 4500 4500 udp-natt udp 4500 4500" \
	"$(ike_jq a "$sa0['transport']") $(ike_jq a "$ch0['esp_transport']") $(ike_jq a "$ch0['encap_local_port']") $(ike_jq a "$ch0['encap_remote_port']") $(ike_jq b "$sa0['transport']") $(ike_jq b "$ch0['esp_transport']") $(ike_jq b "$ch0['encap_local_port']") $(ike_jq b "$ch0['encap_remote_port']")"
tap_expect_eq "encap = yes: b sees a faked NAT on a's side (a claims nat_local)" "True True" \
	"$(ike_jq a "$sa0['nat_local']") $(ike_jq b "$sa0['nat_remote']")"
ike_stop a
ike_stop b
tap_done
