// SPDX-License-Identifier: GPL-2.0
/*
 * Backend selection.  "auto" tries the tcpike module (its generic-netlink
 * family resolves only when tcpike.ko is loaded), then plain XFRM when
 * kb_xfrm.c is built in, then none.  Each choice is logged with the reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "kb_none.h"
#include "log.h"

int kb_module_open(struct kbackend *kb);
int kb_xfrm_open_probe(struct kbackend *kb, bool probe);

/*
 * auto: the module only when its family resolves (-ENOENT otherwise);
 * xfrm only when a probe ESP state can really be added and removed (a
 * kernel with xfrm_user but without esp4/esp6 accepts policies yet fails
 * every SA, so checking for NETLINK_XFRM alone is not enough).
 */
static int try_open(struct kbackend *kb, const char *name, bool probe)
{
	if (!strcmp(name, "module"))
		return kb_module_open(kb);
	if (!strcmp(name, "xfrm"))
		return kb_xfrm_open_probe(kb, probe);
	if (!strcmp(name, "none"))
		return kb_none_open(kb);
	return -EINVAL;
}

struct kbackend *kbackend_open(const char *name)
{
	struct kbackend *kb = calloc(1, sizeof(*kb));
	int r;

	if (!kb)
		return NULL;
	if (!name || !strcmp(name, "auto")) {
		static const char *const order[] = { "module", "xfrm", "none" };

		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			memset(kb, 0, sizeof(*kb));
			r = try_open(kb, order[i], true);
			if (!r) {
				log_info("kernel backend: %s (auto)", order[i]);
				return kb;
			}
			log_info("kernel backend %s not usable: %s", order[i],
				 kb->kb_error[0] ? kb->kb_error : strerror(-r));
		}
		free(kb);
		return NULL;
	}
	r = try_open(kb, name, false);
	if (r) {
		if (r == -EINVAL)
			log_err("unknown kernel backend '%s' (expected auto, module, xfrm or none)",
				name);
		else
			log_err("kernel backend %s: %s", name,
				kb->kb_error[0] ? kb->kb_error : strerror(-r));
		free(kb);
		return NULL;
	}
	log_info("kernel backend: %s", name);
	return kb;
}

void kbackend_close(struct kbackend *kb)
{
	if (!kb)
		return;
	if (kb->ops && kb->ops->destroy)
		kb->ops->destroy(kb);
	free(kb);
}

int kb_keepalive_unsupported(struct kbackend *kb, const struct sockaddr_storage *local,
			     const struct sockaddr_storage *remote, uint32_t interval_s)
{
	snprintf(kb->kb_error, sizeof(kb->kb_error),
		 "kernel NAT keepalives need the tcpike module");
	return -EOPNOTSUPP;
}

int kb_no_event_fd(struct kbackend *kb)
{
	return -1;
}
