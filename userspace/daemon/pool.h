/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Address pools for virtual IPs (RFC 7296 §3.15): one pool per section
 * of the configuration's pools { }, its leases kept by identity.
 *
 * A lease binds an identity to one address of a pool.  It is held while
 * an IKE SA of that identity uses it (refs) and remembered after, so that
 * the identity gets the same address back when it reconnects.  A
 * remembered lease is given to another identity only when the pool has
 * no address left that was never leased, the oldest released first.
 * Nothing here knows the engine: the responder acquires and releases by
 * pool name and identity (exch_auth.c, ikesa.c).
 */
#ifndef TCPIKE_POOL_H
#define TCPIKE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

struct pool_set;

struct pool_lease_info {
	const char *pool;
	const struct sockaddr_storage *addr;
	const struct id_cfg *id;
	unsigned int refs;	/* IKE SAs holding it; 0: remembered */
};

struct pool_set *pool_set_new(void);
void pool_set_free(struct pool_set *ps);
/*
 * The pools of cfg: a pool whose name, family and range are unchanged
 * keeps its leases (a reload), the others start empty, and pools no
 * longer configured go with theirs (an IKE SA that held one keeps its
 * address; releasing it finds nothing).  0 or -ENOMEM (nothing changed).
 */
int pool_set_apply(struct pool_set *ps, const struct config *cfg);
/*
 * An address of pool name for identity id into *addr (port 0): the
 * identity's lease if it has one, else a new one.  0, -ENOENT (no such
 * pool), -ENOSPC (every address leased to an IKE SA) or -ENOMEM.
 */
int pool_acquire(struct pool_set *ps, const char *name, const struct id_cfg *id,
		 struct sockaddr_storage *addr);
/* An IKE SA of identity id no longer holds its address of pool name;
 * the lease is remembered.  false when there was none to release. */
bool pool_release(struct pool_set *ps, const char *name, const struct id_cfg *id);
/* The family of pool name, 0 when there is none. */
int pool_family(const struct pool_set *ps, const char *name);
/* Calls fn for each lease, pools in configuration order, leases in the
 * order their addresses were first leased; stops when fn returns false. */
void pool_leases(const struct pool_set *ps,
		 bool (*fn)(const struct pool_lease_info *l, void *arg), void *arg);

#endif
