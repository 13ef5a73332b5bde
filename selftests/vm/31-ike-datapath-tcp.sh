#!/bin/bash
# tcpiked against tcpiked with real kernel ESP, IKE over TCP (separate transports and RFC 9329): ping through the
# tunnel with the module and the plain XFRM backends, with and without a
# NAT router, the transport that carried ESP counted on the wire
# (selftests/datapath.sh).
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/datapath.sh"
module_load
dp_run "module, separate" 0 module separate esp
dp_run "module, separate, NAT" 1 module separate espudp
dp_run "xfrm, separate-tcp-first, NAT" 1 xfrm separate-tcp-first espudp
if have_espintcp; then
	dp_run "module, tcp (RFC 9329)" 0 module tcp tcpdata
	dp_run "xfrm, tcp (RFC 9329), NAT" 1 xfrm tcp tcpdata
else
	tap_skip_design "tcp (RFC 9329): ESP in TCP" "kernel without the espintcp ULP"
fi
rmmod tcpike 2>/dev/null
tap_done
