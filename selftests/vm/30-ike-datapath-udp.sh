#!/bin/bash
# tcpiked against tcpiked with real kernel ESP, IKE over UDP: ping through the
# tunnel with the module and the plain XFRM backends, with and without a
# NAT router, the transport that carried ESP counted on the wire
# (selftests/datapath.sh).
. "$(dirname "$0")/../lib.sh"
require_tcpiked
. "$TOP/selftests/datapath.sh"
module_load
dp_run "module, udp" 0 module udp esp
dp_run "module, udp, NAT" 1 module udp espudp
dp_run "xfrm, udp, NAT" 1 xfrm udp espudp
rmmod tcpike 2>/dev/null
tap_done
