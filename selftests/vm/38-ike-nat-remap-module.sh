#!/bin/bash
# A NAT mapping change under a live tunnel (selftests/nat_remap.sh) with
# the module backend (tcpike.ko steers the SAs).
NAT_REMAP_BACKEND=module . "$(dirname "$0")/../nat_remap.sh"
