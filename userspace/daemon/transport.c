// SPDX-License-Identifier: GPL-2.0
#include "transport.h"

const char *xport_name(enum xport_kind kind)
{
	switch (kind) {
	case XPORT_UDP500:
		return "udp";
	case XPORT_UDP4500:
		return "udp-natt";
	case XPORT_TCP:
		return "tcp";
	}
	return "?";
}
