/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DNS names in remote_addrs (dns.c): resolved in glibc's thread
 * (getaddrinfo_a), polled from the loop, never stalling it.
 */
#ifndef TCPIKE_DNS_H
#define TCPIKE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct engine;
struct conn_cfg;

/* Resolves cc's name again; with initiate, attempt n of cc starts when
 * the answer comes (conn_attempt_start), or fails (conn_attempt_failed).
 * 0 when under way, or -errno (logged). */
int dns_resolve(struct engine *e, const struct conn_cfg *cc, bool initiate, unsigned int n);
/* Every name of the configuration, without initiating (load, reload). */
void dns_resolve_all(struct engine *e);
/* The first address last resolved for cc's name, or NULL. */
const struct sockaddr_storage *dns_addr(struct engine *e, const struct conn_cfg *cc);
/* An initiation of cc waits for its name; else why holds the last
 * resolution's error, if it failed. */
bool dns_pending(struct engine *e, const struct conn_cfg *cc, char *why, size_t len);
/* cfg_remote_match, and a name's addresses last resolved (32 or 128). */
int dns_remote_match(struct engine *e, const struct conn_cfg *cc,
		     const struct sockaddr_storage *a);
void dns_free_all(struct engine *e);

#endif
