#!/bin/bash
# The daemon's "module" kernel backend (kb_module.c) against the loaded
# tcpike.ko: selftests/kb_module drives its ops (SA add, duplicate refused
# with the kernel's sentence, stats, steer, events fd, delete) and, after
# unload, checks that opening it says the family is absent (-ENOENT).
# Also the SA dump (resumable, per namespace, no keys).
. "$(dirname "$0")/../lib.sh"
. "$TOP/selftests/module.sh"
KBT=$BIN/selftests/kb_module
[ -x "$KBT" ] || tap_skip_all "selftests/kb_module not built ($KBT)"
module_load
topo_pair kb
out=$(ip netns exec "$NS_A" "$KBT" 2>&1)
tap_check "backend ops through the module" sh -c "printf '%s\n' \"\$1\" | grep -q '^1\\.\\.' && ! printf '%s\n' \"\$1\" | grep -q '^not ok'" _ "$out"
tap_diag "$out"
tap_expect_eq "the backend's SA is gone after its delete" 0 "$(ip -n "$NS_A" xfrm state | grep -c '^src')"
# SA dump: 60 SAs in A (more than one dump buffer) and 1 in B; each
# namespace sees its own, every SA once, no key.
FAST=$TOP/build/tools/tcpike-nl
[ -x "$FAST" ] || FAST=$NL
mk() { ip netns exec "$1" "$FAST" sa-new --spi "$2" --src 10.0.0.1 --dst 10.0.0.2 \
	--aead 'rfc4106(gcm(aes))' --icv 128 --key $KEY_AB; }
ok=1
for i in $(seq 1 60); do mk "$NS_A" $((0x7000 + i)) || ok=0; done
mk "$NS_B" 0x8001 || ok=0
tap_expect_eq "61 SAs made for the dump" 1 "$ok"
da=$(ip netns exec "$NS_A" "$NL" sa-dump)
tap_expect_eq "dump lists every SA of the namespace once" 60 "$(printf '%s\n' "$da" | grep '^spi' | sort -u | wc -l)"
tap_expect_eq "dump in the other namespace lists its one SA" \
	"spi 0x00008001 src 10.0.0.1 dst 10.0.0.2 reqid 0 rfc4106(gcm(aes)) encap raw packets 0" \
	"$(ip netns exec "$NS_B" "$NL" sa-dump)"
tap_check "dump echoes no key" sh -c "! printf '%s' \"\$1\" | grep -q KEY" _ "$da"
module_unload_refused "rmmod refused while the backend's SAs live"
for ns in "$NS_A" "$NS_B"; do ip -n "$ns" xfrm state flush; ip -n "$ns" xfrm policy flush; done
tap_check "rmmod once they are flushed" wait_for 10 rmmod tcpike
out=$(ip netns exec "$NS_A" "$KBT" --absent 2>&1)
tap_check "without the module the backend reports the family absent" sh -c "! printf '%s\n' \"\$1\" | grep -q '^not ok'" _ "$out"
tap_diag "$out"
tap_done
