// SPDX-License-Identifier: GPL-2.0
/*
 * Drives the rtnetlink half of a road warrior's virtual IP (kb_addr.c,
 * shared by the xfrm and module backends) for
 * selftests/netns/60-sw-rw-vips.sh, without an SA:
 *   vip_addr add VIP [NEAR]   put VIP (a host prefix) on the interface
 *                             holding NEAR, else lo; print "added on IF"
 *                             or "failed: <kb_error>"
 *   vip_addr del VIP          take VIP off the interface holding it;
 *                             print "deleted" or "failed: <kb_error>"
 * Exit 0 when done, 1 when it failed, 2 on a usage error.
 */
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "backend.h"

int main(int argc, char **argv)
{
	struct kbackend kb = { 0 };
	struct sockaddr_storage vip, near;
	char ifn[IF_NAMESIZE] = "";
	int r;

	if (argc < 3 || addr_parse(argv[2], &vip) ||
	    (argc > 3 && addr_parse(argv[3], &near))) {
		fprintf(stderr, "usage: vip_addr add VIP [NEAR] | del VIP\n");
		return 2;
	}
	if (!strcmp(argv[1], "add"))
		r = kb_vip_add(&kb, &vip, argc > 3 ? &near : NULL, ifn);
	else if (!strcmp(argv[1], "del"))
		r = kb_vip_del(&kb, &vip);
	else
		return 2;
	if (r) {
		printf("failed: %s\n", kb.kb_error);
		return 1;
	}
	if (ifn[0])
		printf("added on %s\n", ifn);
	else
		printf("deleted\n");
	return 0;
}
