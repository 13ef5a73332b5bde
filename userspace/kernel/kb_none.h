/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "none" backend: SAs and policies are logged (never keys) and kept in
 * memory so status and tests can see them; the kernel is never touched.
 */
#ifndef TCPIKE_KB_NONE_H
#define TCPIKE_KB_NONE_H

#include <stddef.h>

#include "backend.h"

struct buf;

int kb_none_open(struct kbackend *kb);
/* Number of SAs and policies currently installed (kb must be "none"). */
void kb_none_counts(const struct kbackend *kb, size_t *n_sa, size_t *n_pol);
/* One line per SA/policy (for status). */
int kb_none_dump(const struct kbackend *kb, struct buf *out);

#endif
