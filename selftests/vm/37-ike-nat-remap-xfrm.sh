#!/bin/bash
# A NAT mapping change under a live tunnel (selftests/nat_remap.sh) with
# the plain XFRM backend: the SAs' ports move by XFRM_MSG_UPDSA.
NAT_REMAP_BACKEND=xfrm . "$(dirname "$0")/../nat_remap.sh"
