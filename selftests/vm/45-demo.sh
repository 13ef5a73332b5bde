#!/bin/bash
# The README's demo (scripts/demo.sh), run as it runs inside the VM: two
# gateways behind a NAT router, tcpiked with the module, separate
# transports; it checks its own capture (IKE on TCP, ESP and keepalives on
# UDP, no malformed packets) and the ping, and exits non-zero otherwise.
. "$(dirname "$0")/../lib.sh"
require_netns
[ -x "$TOP/build/tcpiked" ] || tap_skip_all "build/tcpiked not built (make userspace)"
[ -f "$TCPIKE_MODULE" ] || tap_skip_all "module not built ($TCPIKE_MODULE)"
if out=$(TCPIKE_MODULE=$TCPIKE_MODULE "$TOP/scripts/demo.sh" --inside 2>&1); then
	tap_ok "make demo: tunnel in separate mode through a NAT, IKE on TCP, ESP on UDP, ping"
else
	tap_fail "make demo: tunnel in separate mode through a NAT, IKE on TCP, ESP on UDP, ping"
	printf '%s\n' "$out" | tail -n 30 | sed 's/^/# /'
fi
lsmod | grep -q '^tcpike ' && rmmod tcpike
tap_done
