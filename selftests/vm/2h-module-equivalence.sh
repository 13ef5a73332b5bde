#!/bin/bash
# tcpike.ko makes the kernel's own XFRM states and policies, so what it
# installs must be what `ip xfrm` installs for the same SA: equivalence by
# construction, the reason its data plane is the kernel's (issue 21).  For
# each kind (raw IP, UDP and TCP encapsulation, AEAD and cipher + HMAC,
# replay windows legacy / wide / ESN, lifetimes, mark and if_id, transport
# mode, IPv6, policies in every direction) the same SA or policy is made
# twice: through the module (tcpike-nl) in namespace a and by hand with
# ip xfrm in namespace h; both kernels' netlink dumps (selftests/
# xfrm_dump.py: every field of xfrm_usersa_info / xfrm_userpolicy_info and
# every attribute) must match field for field.  Same SPIs and keys on both
# sides; what moves by itself (current lifetime, statistics, last use, a
# policy's index) is left out of the dump.  Then the daemon's xfrm
# backend's SAs (selftests/kb_xfrm) against ip xfrm the same way.
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"

DUMP=$TOP/selftests/xfrm_dump.py
MOD_ONLY=
module_load
topo_pair eq
NS_H=eq-h
ns_add "$NS_H" || tap_skip_all "cannot make namespace $NS_H"

AUTH_KEY=0x$(printf 'b%.0s' $(seq 64))
CBC_KEY=0x$(printf 'c%.0s' $(seq 64))

# same DESC -- MODULE-ARGS -- IP-ARGS: one SA each way, dumps compared.
same() {
	local desc=$1 mod=() hand=() out
	shift 2
	while [ "$1" != -- ]; do mod+=("$1"); shift; done
	shift
	hand=("$@")
	if ! out=$(ip netns exec "$NS_A" "$NL" "${mod[@]}" 2>&1); then
		tap_fail "$desc" "module refused: $out"
		return
	fi
	if ! out=$(ip -n "$NS_H" "${hand[@]}" 2>&1); then
		tap_fail "$desc" "ip xfrm refused: $out"
		return
	fi
	dumps_match "$desc" "$NS_A" module
}

# dumps_match DESC NS LABEL: ok when NS's netlink dump is NS_H's (ip
# xfrm's), but for the line MOD_ONLY, which NS's must have.
dumps_match() {
	local a h
	a=$(ip netns exec "$2" python3 "$DUMP" 2>&1)
	h=$(ip netns exec "$NS_H" python3 "$DUMP" 2>&1)
	if [ -n "$MOD_ONLY" ]; then
		if ! printf '%s\n' "$a" | grep -qxF "  $MOD_ONLY"; then
			tap_fail "$1" "the $3's state has no '$MOD_ONLY'"
			return
		fi
		a=$(printf '%s\n' "$a" | grep -vxF "  $MOD_ONLY")
	fi
	if [ -n "$a" ] && [ "$a" = "$h" ]; then
		tap_ok "$1"
	else
		tap_fail "$1" "$(diff <(printf '%s\n' "$h") <(printf '%s\n' "$a") |
			sed "s/^</ip xfrm:/; s/^>/$3: /" | grep -v '^---' | head -20)"
	fi
}

# sa_same DESC SPI SRC DST -- MODULE-EXTRA -- IP-EXTRA: an ESP SA made both
# ways, compared, then removed from both namespaces.
sa_same() {
	local desc=$1 spi=$2 src=$3 dst=$4 mod=()
	shift 5
	while [ "$1" != -- ]; do mod+=("$1"); shift; done
	shift
	same "$desc" -- sa-new --spi "$spi" --src "$src" --dst "$dst" "${mod[@]}" -- \
		xfrm state add src "$src" dst "$dst" proto esp spi "$spi" "$@"
	ip netns exec "$NS_A" "$NL" sa-del --spi "$spi" --dst "$dst" >/dev/null 2>&1
	ip -n "$NS_H" xfrm state flush
}

GCM_MOD=(--reqid 7 --aead 'rfc4106(gcm(aes))' --icv 128 --key "$KEY_AB")
GCM_IP=(reqid 7 mode tunnel aead 'rfc4106(gcm(aes))' "$KEY_AB" 128)

sa_same "AES-GCM tunnel SA, no replay window (outbound)" 0x1001 10.0.0.1 10.0.0.2 \
	-- "${GCM_MOD[@]}" --replay 0 -- "${GCM_IP[@]}" replay-window 0
sa_same "AES-GCM SA with a 32-packet window (the legacy bitmap)" 0x1002 10.0.0.2 10.0.0.1 \
	-- "${GCM_MOD[@]}" --replay 32 -- "${GCM_IP[@]}" replay-window 32
sa_same "AES-GCM SA with a 64-packet window (wider than the legacy bitmap)" 0x1003 10.0.0.2 10.0.0.1 \
	-- "${GCM_MOD[@]}" --replay 64 -- "${GCM_IP[@]}" replay-window 64
sa_same "AES-GCM SA with ESN and a 128-packet window" 0x1004 10.0.0.2 10.0.0.1 \
	-- "${GCM_MOD[@]}" --replay 128 --esn -- "${GCM_IP[@]}" replay-window 128 flag esn
sa_same "AES-CBC + HMAC-SHA-256-128 SA" 0x1005 10.0.0.1 10.0.0.2 \
	-- --reqid 7 --enc 'cbc(aes)' --key "$CBC_KEY" --auth 'hmac(sha256)' --trunc 128 \
	   --auth-key "$AUTH_KEY" --replay 32 \
	-- reqid 7 mode tunnel enc 'cbc(aes)' "$CBC_KEY" auth-trunc 'hmac(sha256)' "$AUTH_KEY" 128 \
	   replay-window 32
sa_same "transport-mode SA" 0x1006 10.0.0.1 10.0.0.2 \
	-- --mode transport --reqid 8 --aead 'rfc4106(gcm(aes))' --icv 128 --key "$KEY_AB" \
	-- reqid 8 mode transport aead 'rfc4106(gcm(aes))' "$KEY_AB" 128 replay-window 32
sa_same "SA with byte, packet and time lifetimes" 0x1007 10.0.0.1 10.0.0.2 \
	-- "${GCM_MOD[@]}" --soft-bytes 1000000 --hard-bytes 2000000 --soft-packets 1000 \
	   --hard-packets 2000 --soft-seconds 100 --hard-seconds 200 \
	-- "${GCM_IP[@]}" replay-window 32 limit byte-soft 1000000 limit byte-hard 2000000 \
	   limit packet-soft 1000 limit packet-hard 2000 limit time-soft 100 limit time-hard 200
sa_same "SA with a mark and an if_id" 0x1008 10.0.0.1 10.0.0.2 \
	-- "${GCM_MOD[@]}" --mark 0x10/0xff --if-id 5 -- "${GCM_IP[@]}" mark 0x10 mask 0xff if_id 5 replay-window 32
sa_same "IPv6 SA" 0x1009 2001:db8::1 2001:db8::2 \
	-- "${GCM_MOD[@]}" --replay 64 -- "${GCM_IP[@]}" replay-window 64
# The one difference by design: on an encapsulated SA the module asks the
# kernel for NAT mapping events at most every TCPIKE_MAPPING_MAXAGE (5) s
# (XFRMA_MTIMER_THRESH, x->mapping_maxage), which iproute2 cannot set.
MOD_ONLY="XFRMA_MTIMER_THRESH 05000000"
encap_sockets eq-udp 300 || tap_diag "no RFC 3948 socket: the UDP case will say why"
sa_same "ESP in UDP 4500 (RFC 3948)" 0x100a 10.0.0.1 10.0.0.2 \
	-- "${GCM_MOD[@]}" --encap udp --sport 4500 --dport 4500 \
	-- "${GCM_IP[@]}" replay-window 32 encap espinudp 4500 4500 0.0.0.0

if have_espintcp &&
   [ -x "$TOOL_BIN/selftests/espintcp_conn" ]; then
	espintcp_conn "$NS_B" /tmp/eq-b listen 10.0.0.2 4500
	wait_for 10 sh -c "ip netns exec $NS_B ss -Hltn 'sport = :4500' | grep -q LISTEN"
	espintcp_conn "$NS_A" /tmp/eq-a connect 10.0.0.1 40500 10.0.0.2 4500
	wait_for 10 test -s /tmp/eq-a
	sa_same "ESP in TCP (RFC 9329, espintcp)" 0x100b 10.0.0.1 10.0.0.2 \
		-- "${GCM_MOD[@]}" --encap tcp --sport 40500 --dport 4500 \
		-- "${GCM_IP[@]}" replay-window 32 encap espintcp 40500 4500 0.0.0.0
else
	tap_skip_design "ESP in TCP compared" "kernel without espintcp (CONFIG_INET_ESPINTCP), e.g. Debian's 6.1"
fi
MOD_ONLY=

# pol_same DESC DIR FROM TO -- MODULE-EXTRA -- IP-EXTRA: a policy made both
# ways, compared, then removed (SEL_IP: more of ip's selector, before dir).
pol_same() {
	local desc=$1 dir=$2 from=$3 to=$4 mod=()
	shift 5
	while [ "$1" != -- ]; do mod+=("$1"); shift; done
	shift
	same "$desc" -- policy-new --dir "$dir" --from "$from" --to "$to" "${mod[@]}" -- \
		xfrm policy add src "$from" dst "$to" "${SEL_IP[@]}" dir "$dir" "$@"
	ip netns exec "$NS_A" "$NL" policy-del --dir "$dir" --from "$from" --to "$to" \
		"${DEL_EXTRA[@]}" >/dev/null 2>&1
	ip -n "$NS_H" xfrm policy flush
	DEL_EXTRA=() SEL_IP=()
}
DEL_EXTRA=() SEL_IP=()
TMPL=(tmpl src 10.0.0.1 dst 10.0.0.2 proto esp reqid 7 mode tunnel)
TMPL_IN=(tmpl src 10.0.0.2 dst 10.0.0.1 proto esp reqid 7 mode tunnel)

for dir in out in fwd; do
	if [ $dir = out ]; then t=("${TMPL[@]}") s=(--src 10.0.0.1 --dst 10.0.0.2)
	else t=("${TMPL_IN[@]}") s=(--src 10.0.0.2 --dst 10.0.0.1); fi
	pol_same "tunnel policy, dir $dir" $dir 192.168.1.0/24 192.168.2.0/24 \
		-- --reqid 7 "${s[@]}" -- "${t[@]}"
done
pol_same "policy with a priority" out 192.168.1.0/24 192.168.2.0/24 \
	-- --reqid 7 --src 10.0.0.1 --dst 10.0.0.2 --priority 2000 -- priority 2000 "${TMPL[@]}"
DEL_EXTRA=(--proto 6) SEL_IP=(proto 6)
pol_same "policy for one protocol (TCP)" out 192.168.1.0/24 192.168.2.0/24 \
	-- --reqid 7 --src 10.0.0.1 --dst 10.0.0.2 --proto 6 -- "${TMPL[@]}"
DEL_EXTRA=(--mark 0x10/0xff --if-id 5)
pol_same "policy with a mark and an if_id" out 192.168.1.0/24 192.168.2.0/24 \
	-- --reqid 7 --src 10.0.0.1 --dst 10.0.0.2 --mark 0x10/0xff --if-id 5 \
	-- mark 0x10 mask 0xff if_id 5 "${TMPL[@]}"
pol_same "transport-mode policy" out 10.0.0.1/32 10.0.0.2/32 \
	-- --reqid 8 --mode transport -- tmpl proto esp reqid 8 mode transport
pol_same "IPv6 tunnel policy" out 2001:db8:1::/48 2001:db8:2::/48 \
	-- --reqid 9 --src 2001:db8::1 --dst 2001:db8::2 \
	-- tmpl src 2001:db8::1 dst 2001:db8::2 proto esp reqid 9 mode tunnel

# The daemon's other kernel backend (xfrm: XFRM netlink from tcpiked, the
# same kb_sa) against ip xfrm, for the windows tcpiked configures (default
# 64): a window above 32 is the bitmap's, not a legacy window xfrm_user
# clamps to 32.
KX=$BIN/selftests/kb_xfrm
NS_X=eq-x
ns_add "$NS_X" || tap_fail "namespace $NS_X"
KX_KEY=0x010203$(printf '0%.0s' $(seq 34))
for w in "32" "64" "1024" "128 esn"; do
	set -- $w
	# kb_xfrm holds its SA until a line on its stdin (the backend's
	# close removes what it installed).
	rm -f /tmp/eq-kx.in /tmp/eq-kx.out
	mkfifo /tmp/eq-kx.in
	ip netns exec "$NS_X" "$KX" sa $w </tmp/eq-kx.in >/tmp/eq-kx.out 2>/tmp/eq-kx.err &
	kx=$!
	exec 7>/tmp/eq-kx.in
	if ! wait_for 20 grep -q "^sa ok" /tmp/eq-kx.out; then
		tap_fail "xfrm backend, window $w, as ip xfrm installs it" \
			"$(cat /tmp/eq-kx.out /tmp/eq-kx.err)"
		exec 7>&-
		wait $kx
		continue
	fi
	ip -n "$NS_H" xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1000 mode tunnel \
		aead 'rfc4106(gcm(aes))' "$KX_KEY" 128 replay-window "$1" ${2:+flag esn}
	dumps_match "xfrm backend, window $w, as ip xfrm installs it" "$NS_X" "xfrm backend"
	echo >&7
	exec 7>&-
	wait $kx
	ip -n "$NS_H" xfrm state flush
done

# The comparison can fail: a field set differently on one side shows.
out=$(ip netns exec "$NS_A" "$NL" sa-new --spi 0x10ff --src 10.0.0.1 --dst 10.0.0.2 "${GCM_MOD[@]}" --replay 32 2>&1 &&
      ip -n "$NS_H" xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x10ff "${GCM_IP[@]}" replay-window 16 2>&1)
a=$(ip netns exec "$NS_A" python3 "$DUMP") h=$(ip netns exec "$NS_H" python3 "$DUMP")
if [ "$a" != "$h" ] && diff <(printf '%s\n' "$h") <(printf '%s\n' "$a") | grep -q 'replay_window'; then
	tap_ok "a 16- against a 32-packet window shows as replay_window in the comparison"
else
	tap_fail "a 16- against a 32-packet window shows as replay_window in the comparison" "$out"
fi
ip netns exec "$NS_A" "$NL" sa-del --spi 0x10ff --dst 10.0.0.2 >/dev/null 2>&1

module_unload "rmmod once the namespaces are gone"
tap_done
