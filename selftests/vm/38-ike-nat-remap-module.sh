#!/bin/bash
# 37-ike-nat-remap with the module backend (tcpike.ko steers the SAs).
NAT_REMAP_BACKEND=module . "$(dirname "$0")/37-ike-nat-remap.sh"
