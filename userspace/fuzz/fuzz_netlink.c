// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the parsers of what the kernel sends back over
 * netlink: the tcpike generic-netlink replies, dumps and events
 * (tcpike_nl.c) and the XFRM GETSA replies and error acks (kb_xfrm.c).
 * The input is a buffer of netlink messages as one recvmsg() returns it.
 * Attributes are read through libnl's nla_parse() validated against a
 * policy (tcpike_nl.c) or by checked lengths (kb_xfrm.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "tcpike_nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Netlink buffers are 4-byte aligned, as libnl's receive buffer is. */
	uint32_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	tnl_parse_replies(buf, size);
	kb_xfrm_parse_replies(buf, size);
	free(buf);
	return 0;
}
