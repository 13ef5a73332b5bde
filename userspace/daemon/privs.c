// SPDX-License-Identifier: GPL-2.0
/*
 * Least privilege: once the sockets are bound and the kernel backend is
 * open, tcpiked keeps only what it still needs, CAP_NET_ADMIN (XFRM and
 * the tcpike family are admin netlink operations) and CAP_NET_BIND_SERVICE
 * (the privileged ports are bound at start-up; it is kept for listeners a
 * future reload may rebind).  Every other capability leaves the effective, permitted,
 * inheritable and bounding sets, and no_new_privs stops regaining any by
 * exec.  The process stays uid 0 so that it can still read the root-owned
 * 0600 key files it loads on demand (file ownership, not a capability).
 *
 * This is the minimum of issue "least privilege"; privilege separation
 * (an unprivileged parser process, OpenIKED's model) is not done.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"

#define KEEP ((1ull << CAP_NET_ADMIN) | (1ull << CAP_NET_BIND_SERVICE))

int privs_drop(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	int cap;

	if (geteuid() != 0)
		return 0;	/* nothing to drop: tests run unprivileged parts */
	for (cap = 0; cap <= 63; cap++) {
		/* Already out (a service manager's CapabilityBoundingSet=), or
		 * unknown to this kernel (EINVAL): nothing to drop, and no
		 * CAP_SETPCAP needed to drop it. */
		if ((KEEP & (1ull << cap)) || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL) {
			log_err("cannot drop capability %d from the bounding set: %s",
				cap, strerror(errno));
			return -errno;
		}
	}
	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = (uint32_t)KEEP;
	d[1].effective = d[1].permitted = (uint32_t)(KEEP >> 32);
	if (syscall(SYS_capset, &h, d)) {
		log_err("cannot reduce capabilities: %s", strerror(errno));
		return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		log_err("cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	log_info("capabilities reduced to CAP_NET_ADMIN and CAP_NET_BIND_SERVICE");
	return 0;
}
