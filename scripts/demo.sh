#!/bin/bash
# make demo: two gateways with a NAT router between them, two tcpiked with
# the tcpike module, a tunnel in "separate" mode (IKE_SA_INIT on UDP 4500,
# then IKE on TCP 4500; ESP on UDP 4500 because of the NAT), shown with
# tcpikectl status and a capture on the router, pinged through, and torn
# down.
#
#   scripts/demo.sh [--here | --vm]
#
# The module must load into the running kernel.  When this machine's kernel
# cannot take it (no headers to build against, module loading off, or
# insmod refused), the demo boots the project's test kernel under QEMU
# (scripts/vm-run) and runs there; it says which.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
where=auto
case "${1:-}" in
--here) where=here ;;
--vm) where=vm ;;
--inside) where=inside ;;
"") ;;
*) echo "demo: unknown argument '$1' (expected --here or --vm)" >&2; exit 2 ;;
esac

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# --- outside: prepare, then decide where to run ---------------------------------
if [ "$where" != inside ]; then
	[ "$(id -u)" = 0 ] || { echo "demo: run as root (it makes namespaces and loads a module)" >&2; exit 1; }
	say "installing what the demo needs (scripts/deps.sh) and building"
	scripts/deps.sh || exit 1
	make -s -j"$(nproc)" userspace >/dev/null || { echo "demo: build failed" >&2; exit 1; }
	if [ "$where" != vm ]; then
		kdir=/lib/modules/$(uname -r)/build
		why=
		if [ "$(cat /proc/sys/kernel/modules_disabled 2>/dev/null)" = 1 ]; then
			why="module loading is disabled on this kernel"
		elif [ ! -d "$kdir" ]; then
			why="no headers for the running kernel $(uname -r) ($kdir)"
		else
			# Built in a copy: the tree's own tcpike.ko is the test
			# kernel's.
			rm -rf build/kmod-host && mkdir -p build/kmod-host &&
				cp -r Kbuild kernel uapi build/kmod-host/
			if ! make -s -C "$kdir" M="$top/build/kmod-host" modules >/dev/null 2>&1; then
				why="tcpike.ko does not build against $(uname -r)"
			else
				modprobe -a xfrm_user esp4 2>/dev/null
				if ! out=$(insmod build/kmod-host/tcpike.ko 2>&1) &&
				   ! lsmod | grep -q '^tcpike '; then
					why="insmod refused: $out"
				fi
			fi
		fi
		if [ -z "$why" ]; then
			TCPIKE_MODULE=$top/build/kmod-host/tcpike.ko exec "$0" --inside
		fi
		[ "$where" = here ] && { echo "demo: cannot run here: $why" >&2; exit 1; }
		echo "demo: $why; running inside the VM test bed instead (scripts/vm-run)"
	fi
	tree=$(scripts/build-kernel.sh) || { echo "demo: cannot build the test kernel" >&2; exit 1; }
	make -s module KDIR="$tree" >/dev/null || { echo "demo: cannot build tcpike.ko" >&2; exit 1; }
	exec scripts/vm-run --timeout 300 -- scripts/demo.sh --inside
fi

# --- inside: the demo itself ----------------------------------------------------
BIN=$top/build
TCPIKE_MODULE=${TCPIKE_MODULE:-$top/tcpike.ko}
. "$top/selftests/lib.sh"
dir=$(mktemp -d /tmp/tcpike-demo.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ns_cleanup
	rm -rf "$dir"
}
trap cleanup EXIT

echo "kernel $(uname -r)"
if ! lsmod | grep -q '^tcpike '; then
	modprobe -a xfrm_user esp4 2>/dev/null
	insmod "$TCPIKE_MODULE" || { echo "demo: insmod $TCPIKE_MODULE failed" >&2; exit 1; }
fi
echo "tcpike.ko loaded"

say "topology: gw-a 10.1.0.2 -- NAT router (masquerade) -- 10.0.0.2 gw-b"
topo_nat demo || { echo "demo: cannot create the namespaces" >&2; exit 1; }
ip -n "$NS_A" route add 192.168.2.0/24 via 10.1.0.1 src 192.168.1.1
ip -n "$NS_B" route add 192.168.1.0/24 via 10.0.0.1 src 192.168.2.1
echo "inner networks: 192.168.1.0/24 behind gw-a, 192.168.2.0/24 behind gw-b"

conf() {	# conf NAME LOCAL REMOTE|- LTS RTS LID RID
	local remote="remote_addrs = $3"
	[ "$3" = - ] && remote="# remote_addrs: any (the peer is behind a NAT)"
	: >"$dir/$1.conf"
	chmod 600 "$dir/$1.conf"
	cat >"$dir/$1.conf" <<EOF
daemon {
	backend = module
	control_socket = $dir/$1.sock
	keepalive_interval = 2s
}
connections {
	demo {
		local_addrs = $2
		$remote
		transport = separate
		proposals = aes256gcm16-prfsha256-x25519
		local {
			auth = psk
			id = $6
		}
		remote {
			auth = psk
			id = $7
		}
		children {
			net {
				local_ts = $4
				remote_ts = $5
				esp_proposals = aes256gcm16
			}
		}
	}
}
secrets {
	s {
		id = $6
		id2 = $7
		secret = "tcpike demo secret, not for production"
	}
}
EOF
}
conf a 10.1.0.2 10.0.0.2 192.168.1.0/24 192.168.2.0/24 gw-a.demo gw-b.demo
conf b 10.0.0.2 10.0.0.1 192.168.2.0/24 192.168.1.0/24 gw-b.demo gw-a.demo

ip netns exec "$NS_R" tcpdump -q -n -U -i rb -w "$dir/router.pcap" 2>/dev/null &
pids+=($!)
for n in a b; do
	ns=$NS_A; [ $n = b ] && ns=$NS_B
	ip netns exec "$ns" "$BIN/tcpiked" -f "$dir/$n.conf" >"$dir/$n.log" 2>&1 &
	pids+=($!)
	wait_for 10 test -S "$dir/$n.sock" || { echo "demo: tcpiked on gw-$n did not start"; cat "$dir/$n.log"; exit 1; }
done
sleep 1

say "gw-a: tcpikectl initiate demo"
"$BIN/tcpikectl" -s "$dir/a.sock" initiate demo --no-wait
up() { "$BIN/tcpikectl" -s "$dir/a.sock" status | grep -q "INSTALLED"; }
if ! wait_for 15 up; then
	echo "demo: the tunnel did not come up; logs:"
	tail -n 20 "$dir/a.log" "$dir/b.log"
	exit 1
fi
say "gw-a: tcpikectl status"
"$BIN/tcpikectl" -s "$dir/a.sock" status
say "gw-b: tcpikectl status"
"$BIN/tcpikectl" -s "$dir/b.sock" status
say "gw-a: ip xfrm state (made by tcpike.ko, used by the kernel's ESP)"
ip -n "$NS_A" xfrm state | sed -n '/^src/p;/proto esp/p;/encap/p;/aead/p' | sed 's/0x[0-9a-f]\{16,\}/<key>/g'

say "ping 192.168.1.1 -> 192.168.2.1 through the tunnel"
ip netns exec "$NS_A" ping -c 5 -i 0.3 -I 192.168.1.1 192.168.2.1
ping_rc=$?
sleep 7	# let a few NAT keepalives pass (every 2 s here, RT-21)
grep -h -o "NAT keepalives.*" "$dir/a.log" | sed 's/^/gw-a: /'
kill "${pids[0]}" 2>/dev/null
wait "${pids[0]}" 2>/dev/null

say "what crossed the NAT router (tshark on the router's public side)"
count() { tshark -r "$dir/router.pcap" -Y "$1" 2>/dev/null | wc -l; }
ike_udp=$(count "udp.port == 4500 && isakmp")
ike_tcp=$(count "tcp.port == 4500 && tcp.len > 0")
esp_udp=$(count "udp.port == 4500 && esp")
esp_raw=$(count "esp && !udp && !tcp")
ka=$(count "udp.port == 4500 && udp.length == 9")
printf '  %-42s %s\n' "IKE_SA_INIT on UDP 4500 (with the notify)" "$ike_udp packets" \
	"IKE on TCP 4500 (IKE_AUTH onwards)" "$ike_tcp segments with data" \
	"ESP in UDP 4500 (NAT detected)" "$esp_udp packets" \
	"ESP directly on IP" "$esp_raw packets" \
	"NAT keepalives on UDP 4500 (0xFF)" "$ka packets"
malformed=$(tshark -r "$dir/router.pcap" -V 2>/dev/null | grep -c -i malformed)

say "teardown"
"$BIN/tcpikectl" -s "$dir/a.sock" terminate demo >/dev/null
sleep 0.5
for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
pids=()
if [ $ping_rc = 0 ] && [ "$ike_udp" -ge 2 ] && [ "$ike_tcp" -ge 2 ] && [ "$esp_udp" -ge 10 ] &&
   [ "$esp_raw" = 0 ] && [ "$ka" -ge 2 ] && [ "$malformed" = 0 ]; then
	echo "demo: OK: IKE ran on TCP, ESP and NAT keepalives on UDP, the ping went through"
	exit 0
fi
echo "demo: FAILED (ping rc $ping_rc, malformed $malformed)"
tail -n 20 "$dir/a.log" "$dir/b.log"
exit 1
