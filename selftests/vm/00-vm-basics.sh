#!/bin/bash
# The test bed itself: the VM runs the test kernel and it has what the other
# VM tests rely on (ESP, espintcp, netem, nftables NAT, namespaces).
. "$(dirname "$0")/../lib.sh"

tap_expect_eq "VM runs the tcpike test kernel" "-tcpike-test" "$(uname -r | grep -o -- '-tcpike-test')"
tap_check "root file system is read-only" sh -c '! touch /usr/.tcpike-rw-probe 2>/dev/null'

ns_add vmb-x
tap_check "ESP state can be created (CONFIG_INET_ESP)" \
	ip -n vmb-x xfrm state add src 10.9.0.1 dst 10.9.0.2 proto esp spi 0x100 \
	mode tunnel aead 'rfc4106(gcm(aes))' 0x0102030405060708091011121314151617181920 128
tap_check "netem qdisc works" sh -c \
	'ip -n vmb-x link add d0 type dummy && ip -n vmb-x link set d0 up && tc -n vmb-x qdisc add dev d0 root netem loss 1%'
tap_check "nftables masquerade loads" ip netns exec vmb-x nft -f - <<'NFT'
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		masquerade
	}
}
NFT
tap_check "espintcp ULP is available (CONFIG_INET_ESPINTCP)" \
	grep -qw espintcp /proc/sys/net/ipv4/tcp_available_ulp
tap_expect_eq "guest has 2 CPUs (MP table parsed)" 2 "$(nproc)"
tap_done
