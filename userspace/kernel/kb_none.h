/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "none" backend: SAs and policies are logged (never keys) and kept in
 * memory so status and tests can see them; the kernel is never touched.
 *
 * Test hooks, read from the environment when the backend opens:
 *   TCPIKE_KB_NONE_RECORD=FILE  every request the backend gets is appended
 *       to FILE, one line each: "sa-add", "sa-steer", "sa-del",
 *       "policy-add", "policy-del", "policy-update" with every field but the key bytes,
 *       "vip-add", "vip-del" with a road warrior's virtual IP (never put
 *       on the host)
 *   TCPIKE_KB_NONE_ESP=LIST     inbound ESP is simulated: an inbound SA
 *       whose encapsulation is in LIST (raw, udp, tcp, comma-separated;
 *       empty for none) counts 4 packets a second from 250 ms after it was
 *       added or moved there, others count none ("udp": ESP on IP never
 *       arrives).  The ESP reachability probe then runs on this backend.
 */
#ifndef TCPIKE_KB_NONE_H
#define TCPIKE_KB_NONE_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"

struct buf;

int kb_none_open(struct kbackend *kb);
/* Number of SAs and policies currently installed (kb must be "none"). */
void kb_none_counts(const struct kbackend *kb, size_t *n_sa, size_t *n_pol);
/* One line per SA/policy (for status). */
int kb_none_dump(const struct kbackend *kb, struct buf *out);
/* TCPIKE_KB_NONE_ESP is set: sa_stats simulates inbound ESP. */
bool kb_none_esp_simulated(const struct kbackend *kb);

#endif
