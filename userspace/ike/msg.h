/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IKEv2 message framing: the fixed header and the generic payload chain
 * (RFC 7296 §3.1, §3.2), parsed through struct cursor and validated before
 * anything is read, and built through struct ike_builder.
 *
 * Parsing never descends into a payload body: typed decoders (payload.h)
 * do that on the spans recorded here.  The SK and SKF payloads must be the
 * last of a chain; their next-payload field names the first inner payload.
 */
#ifndef TCPIKE_MSG_H
#define TCPIKE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "wire.h"

#define IKE_MAX_PAYLOADS	64

struct ike_hdr {
	uint8_t spi_i[8], spi_r[8];
	uint8_t next;		/* first payload type */
	uint8_t major, minor;
	uint8_t exch;
	uint8_t flags;
	uint32_t msgid;
	uint32_t length;
};

struct ike_pl {
	uint8_t type;
	bool critical;
	uint8_t flags;		/* the C bit and RESERVED as received (RFC 9242
				 * §3.3.2 authenticates SK's) */
	uint8_t next;		/* its next-payload field (for SK/SKF: the
				 * first inner payload) */
	const uint8_t *body;	/* after the 4-byte generic header */
	uint16_t len;		/* body length */
};

/* Why a parse failed, and what RFC 7296 answers with. */
enum ike_perr {
	IKE_PERR_NONE = 0,
	IKE_PERR_SHORT,		/* shorter than a header: drop silently */
	IKE_PERR_LENGTH,	/* header length disagrees with the datagram */
	IKE_PERR_VERSION,	/* major version not 2: INVALID_MAJOR_VERSION */
	IKE_PERR_SYNTAX,	/* malformed chain: INVALID_SYNTAX */
	IKE_PERR_TOO_MANY,	/* more than IKE_MAX_PAYLOADS: INVALID_SYNTAX */
	IKE_PERR_CRITICAL,	/* unknown critical payload: UNSUPPORTED_CRITICAL_PAYLOAD */
};

struct ike_msg {
	struct ike_hdr hdr;
	struct ike_pl pl[IKE_MAX_PAYLOADS];
	int n;
	enum ike_perr err;
	uint8_t critical_type;	/* with IKE_PERR_CRITICAL: the payload type */
	const struct ike_pl *sk;	/* the SK or SKF payload (last), or NULL */
	uint8_t sk_next;	/* its next-payload: first inner type */
	const char *why;	/* a sentence for the log */
};

/* Reads the 28-byte header.  Returns 0 or -EBADMSG (m->err says why);
 * checks the version but not the total length. */
int ike_hdr_parse(struct cursor *c, struct ike_hdr *h, struct ike_msg *m);

/*
 * A whole message: header, then the payload chain.  The header's length
 * must equal len.  Returns 0, or -EBADMSG with m->err/m->why set; after an
 * error the payloads parsed so far stay in m (for diagnostics only).
 */
int ike_msg_parse(const uint8_t *p, size_t len, struct ike_msg *m);

/* A chain on its own (the decrypted contents of SK, or a reassembled SKF
 * message): first is the type of its first payload. */
int ike_chain_parse(uint8_t first, const uint8_t *p, size_t len, struct ike_msg *m);

/* The first payload of a type, or NULL; ike_msg_next continues after one. */
const struct ike_pl *ike_msg_find(const struct ike_msg *m, uint8_t type);
const struct ike_pl *ike_msg_next(const struct ike_msg *m, const struct ike_pl *after,
				  uint8_t type);

/* The type is one RFC 7296 and its extensions define (unknown ones are
 * skipped unless critical, §2.5). */
bool ike_pl_known(uint8_t type);
const char *ike_pl_name(uint8_t type);
const char *ike_exch_name(uint8_t exch);

/*
 * Building.  msg_begin writes the header; each payload is pl_begin, its
 * body written straight into the buf, pl_end; msg_finish patches the
 * total length.  chain_begin does the same for an inner chain with no
 * header (first_type tells what the enclosing SK must name).
 */
struct ike_builder {
	struct buf *b;
	size_t start;		/* offset of the header, or of the chain */
	size_t np_off;		/* next-payload byte to patch, or SIZE_MAX */
	size_t pl_off;		/* open payload's generic header, or SIZE_MAX */
	uint8_t first_type;
	int err;		/* sticky: the first failure */
};

void msg_begin(struct ike_builder *bld, struct buf *b, const struct ike_hdr *h);
void chain_begin(struct ike_builder *bld, struct buf *b);
void pl_begin(struct ike_builder *bld, uint8_t type, bool critical);
void pl_end(struct ike_builder *bld);
/* Appends n body bytes to the open payload. */
void pl_put(struct ike_builder *bld, const void *p, size_t n);
void pl_put_u8(struct ike_builder *bld, uint8_t v);
void pl_put_u16(struct ike_builder *bld, uint16_t v);
void pl_put_u32(struct ike_builder *bld, uint32_t v);
/* Patches the header length; returns 0 or the first error (-EMSGSIZE for
 * a payload or message over 65535 bytes, -ENOMEM). */
int msg_finish(struct ike_builder *bld);
int chain_finish(struct ike_builder *bld);

#endif
