/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IKEv2 typed payloads: decoders and encoders (RFC 7296 §3.3-§3.16,
 * RFC 7383 §2.5 for SKF).
 *
 * API overview
 * ------------
 * Receiving:
 *   struct ike_msg m;
 *   ike_msg_parse(dgram, len, &m)         header + generic payload chain
 *                                         (msg.h); on -EBADMSG m.err says
 *                                         what to answer (ike_perr_notify()).
 *   pl = ike_msg_find(&m, IKEV2_PL_SA)    the first payload of a type
 *   ike_get_sa(pl, &sa)                   typed decode of one payload
 *   After crypto_sk_open() on the SK payload:
 *   ike_chain_parse(m.sk_next, plain, plainlen, &inner)
 *   (m.sk is the SK/SKF payload, m.sk_next its next-payload field).
 * Every ike_get_*() validates the whole body before filling its output and
 * returns 0, -EBADMSG (malformed: answer INVALID_SYNTAX) or -E2BIG (more
 * selectors than the fixed bounds below: also INVALID_SYNTAX,
 * logged as a local limit; SA payloads are bounded by their format only).  On error the output
 * holds no usable entries (counts 0 for SA/TS; CP undefined).  Spans (const uint8_t *
 * + length) point into the received message: they live as long as it.
 *
 * Sending:
 *   struct ike_builder bld;  struct buf out = BUF_INIT;
 *   msg_begin(&bld, &out, &hdr);          header (length patched later)
 *   ike_put_sa(&bld, &sa); ike_put_ke(&bld, grp, pub, publen); ...
 *   msg_finish(&bld)                      0 or the first error.
 * Encrypted messages: build the inner chain with chain_begin() on a
 * second buf (bld.first_type = first inner type), then on the outer:
 *   msg_begin(...); sk_off = ike_put_sk_header(&bld, inner.first_type);
 *   crypto_sk_seal(k, &out, sk_off, false, inner_buf.data, inner_buf.len)
 * (seal patches the SK and IKE lengths; do not call msg_finish after).
 * Fragments (RFC 7383): ike_put_skf_header(&bld, first, num, total) and
 * crypto_sk_seal(..., true, ...); first is 0 for all but fragment 1.
 */
#ifndef TCPIKE_PAYLOAD_H
#define TCPIKE_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/*
 * SA payload bounds: what the wire format allows, not a guess at what
 * peers send (strongSwan's default IKE proposal alone lists more than 32
 * transforms).  Proposal Num and the transform count are one octet each
 * (§3.3.1); a transform takes at least 8 bytes and a proposal 8 more, so
 * an SA payload's 16-bit length holds at most (65535 - 4 - 8) / 8 of them.
 * The transforms of all proposals share one pool in struct ike_sa_pl:
 * about 70 KB, whatever the peer sends.
 */
#define IKE_MAX_PROPOSALS	255
#define IKE_MAX_TRANSFORMS	255	/* per proposal */
#define IKE_MAX_SA_TRANSFORMS	((65535 - 4 - 8) / 8)	/* in one SA payload */
#define IKE_MAX_TS		16	/* selectors per TS payload */
#define IKE_MAX_CP_ATTRS	32
#define IKE_SPI_MAX		8

/* --- SA (§3.3) ----------------------------------------------------------- */

struct ike_transform {
	uint8_t type;		/* IKEV2_TRANS_* */
	uint16_t id;		/* kept even when unknown: the engine skips it */
	uint16_t keylen;	/* KEY_LENGTH attribute in bits, 0 = absent */
	bool unknown_attr;	/* §3.3.6: an attribute we do not know; the
				 * engine must ignore this transform */
};

struct ike_proposal {
	uint8_t num;		/* 1, 2, ... (§3.3.1) */
	uint8_t proto;		/* IKEV2_PROTO_* */
	uint8_t spi_len;	/* 0 (IKE_SA_INIT), 4 (ESP/AH) or 8 (IKE rekey) */
	uint8_t spi[IKE_SPI_MAX];
	uint8_t ntrans;
	struct ike_transform *t;	/* ntrans entries in the owner's pool */
};

/* Holds pointers into itself: do not copy it; a copied ike_proposal's t
 * lives only as long as the ike_sa_pl it came from. */
struct ike_sa_pl {
	int nprop;
	int npool;
	struct ike_proposal p[IKE_MAX_PROPOSALS];
	struct ike_transform pool[IKE_MAX_SA_TRANSFORMS];
};

/* Building one: ike_sa_reset(), then for each proposal ike_sa_add_prop()
 * followed by its transforms (ike_sa_add_trans() appends to the last
 * proposal).  NULL / false at a bound; ike_put_sa() then sends what fit. */
void ike_sa_reset(struct ike_sa_pl *sa);
struct ike_proposal *ike_sa_add_prop(struct ike_sa_pl *sa, uint8_t proto,
				     const uint8_t *spi, uint8_t spi_len);
bool ike_sa_add_trans(struct ike_sa_pl *sa, uint8_t type, uint16_t id, uint16_t keylen);

/* An offer (a request's SA payload).  Checks numbering (first 1, each next
 * +1), last-substructure markers, every length, SPI size against protocol
 * (IKE 0/8, ESP/AH 4); at least one proposal and one transform per
 * proposal. */
int ike_get_sa(const struct ike_pl *pl, struct ike_sa_pl *sa);
/* A reply (a response's SA payload): the same checks, but exactly one
 * proposal, carrying the number of the offered one it accepts (§3.3.1;
 * any but 0: the caller checks it against what it offered). */
int ike_get_sa_reply(const struct ike_pl *pl, struct ike_sa_pl *sa);
/* Each proposal goes out with its num: ike_sa_add_prop() numbers them 1,
 * 2, ...; a reply sets the accepted one's. */
void ike_put_sa(struct ike_builder *bld, const struct ike_sa_pl *sa);

/* --- KE, Nonce, ID, AUTH, CERT, CERTREQ, Vendor ID ------------------------ */

struct ike_span {
	const uint8_t *p;
	size_t len;
};

struct ike_ke {
	uint16_t group;		/* IKEV2_KE_* */
	struct ike_span data;	/* may be empty: the kex layer checks size */
};

int ike_get_ke(const struct ike_pl *pl, struct ike_ke *ke);
void ike_put_ke(struct ike_builder *bld, uint16_t group, const uint8_t *p, size_t len);

/* Nonce: 16..256 bytes (§3.9). */
int ike_get_nonce(const struct ike_pl *pl, struct ike_span *n);
void ike_put_nonce(struct ike_builder *bld, const uint8_t *p, size_t len);

/* ID (§3.5), AUTH (§3.8), CERT (§3.6), CERTREQ (§3.7): one type octet
 * (ID type, auth method, cert encoding), then data.  ID and AUTH have 3
 * reserved bytes after the type; CERT/CERTREQ do not.  The AUTH
 * computation needs the raw ID body: that is pl->body/pl->len. */
struct ike_typed {
	uint8_t type;
	struct ike_span data;
};

int ike_get_id(const struct ike_pl *pl, struct ike_typed *id);
/* pltype is IKEV2_PL_IDI or IKEV2_PL_IDR. */
void ike_put_id(struct ike_builder *bld, uint8_t pltype, uint8_t idtype,
		const uint8_t *p, size_t len);
int ike_get_auth(const struct ike_pl *pl, struct ike_typed *a);
void ike_put_auth(struct ike_builder *bld, uint8_t method, const uint8_t *p, size_t len);
int ike_get_cert(const struct ike_pl *pl, struct ike_typed *c);
void ike_put_cert(struct ike_builder *bld, uint8_t enc, const uint8_t *p, size_t len);
/* CERTREQ data is a list of 20-byte SHA-1 key hashes for X.509 (§3.7);
 * the length must be a multiple of 20 for IKEV2_CERT_X509_SIG. */
int ike_get_certreq(const struct ike_pl *pl, struct ike_typed *c);
void ike_put_certreq(struct ike_builder *bld, uint8_t enc, const uint8_t *p, size_t len);
int ike_get_vendor(const struct ike_pl *pl, struct ike_span *v);
void ike_put_vendor(struct ike_builder *bld, const uint8_t *p, size_t len);
/* RFC 8019 §8.2 Puzzle Solution: the four keys, back to back. */
void ike_put_ps(struct ike_builder *bld, const uint8_t *p, size_t len);

/* --- Notify (§3.10) ------------------------------------------------------ */

struct ike_notify {
	uint8_t proto;		/* 0 or IKEV2_PROTO_* */
	uint8_t spi_len;
	uint8_t spi[IKE_SPI_MAX];
	uint16_t type;		/* IKEV2_N_* */
	struct ike_span data;
};

/* SPI size must fit the protocol: 0 with protocol 0; 0 or 8 with IKE;
 * 4 with ESP/AH. */
int ike_get_notify(const struct ike_pl *pl, struct ike_notify *n);
void ike_put_notify(struct ike_builder *bld, uint8_t proto, const uint8_t *spi,
		    uint8_t spi_len, uint16_t type, const uint8_t *p, size_t len);
/* The first Notify of a type in m (decoded), or -ENOENT. */
int ike_find_notify(const struct ike_msg *m, uint16_t type, struct ike_notify *n);
/* The type of the first error Notify (type <= 16383) in m, or 0. */
uint16_t ike_first_error(const struct ike_msg *m);

/* --- Delete (§3.11) ------------------------------------------------------ */

struct ike_delete {
	uint8_t proto;
	uint8_t spi_len;	/* 0 for IKE, 4 for ESP/AH */
	uint16_t nspi;
	struct ike_span spis;	/* nspi * spi_len bytes */
};

int ike_get_delete(const struct ike_pl *pl, struct ike_delete *d);
/* The i-th 4-byte SPI (host order); i < d->nspi and spi_len 4. */
uint32_t ike_delete_spi(const struct ike_delete *d, unsigned int i);
void ike_put_delete(struct ike_builder *bld, uint8_t proto, uint8_t spi_len,
		    const uint8_t *spis, uint16_t nspi);

/* --- Traffic selectors (§3.13) -------------------------------------------- */

struct ike_ts {
	uint8_t type;		/* IKEV2_TS_IPV4_ADDR_RANGE / _IPV6_ */
	uint8_t proto;		/* IP protocol, 0 = any */
	uint16_t sport, eport;	/* 0..65535 = any; 65535..0 = OPAQUE */
	uint8_t start[16], end[16];	/* IPv4 uses the first 4 bytes */
};

struct ike_ts_pl {
	int n;
	struct ike_ts ts[IKE_MAX_TS];
	int nunknown;		/* selectors of unknown types, skipped */
};

/* Lengths 16 (IPv4) / 40 (IPv6); start address <= end; start port <=
 * end port unless OPAQUE (65535, 0). */
int ike_get_ts(const struct ike_pl *pl, struct ike_ts_pl *ts);
/* pltype is IKEV2_PL_TSI or IKEV2_PL_TSR. */
void ike_put_ts(struct ike_builder *bld, uint8_t pltype, const struct ike_ts *ts, int n);

/* --- Configuration (§3.15) ------------------------------------------------- */

struct ike_cp_attr {
	uint16_t type;		/* IKEV2_CP_* (15 bits) */
	struct ike_span val;
};

struct ike_cp {
	uint8_t cfg_type;	/* IKEV2_CFG_* */
	int n;
	struct ike_cp_attr a[IKE_MAX_CP_ATTRS];
	int skipped;		/* attributes past IKE_MAX_CP_ATTRS: length
				 * checked, not kept */
};

/* Every attribute's header and length is checked (-EBADMSG); the first
 * IKE_MAX_CP_ATTRS are kept, the rest counted in skipped: a peer asking
 * for more than we could answer gets an answer to the first ones. */
int ike_get_cp(const struct ike_pl *pl, struct ike_cp *cp);
void ike_put_cp(struct ike_builder *bld, const struct ike_cp *cp);

/* What a CFG_REQUEST's kept attributes ask for (§3.15.1): 0, or -EBADMSG
 * when a known attribute has a length §3.15.1 does not allow (address
 * attributes may be empty or carry the address the peer would like). */
struct ike_cp_want {
	bool ip4, ip6, dns4, dns6;
	int other;		/* attributes of other types, ignored */
};

int ike_cp_want(const struct ike_cp *cp, struct ike_cp_want *w);

/* What a CFG_REPLY's kept attributes give (§3.15.1): the first address of
 * each family (IPv6 with its prefix length) and the first IKE_MAX_CP_DNS
 * DNS servers of each; 0, or -EBADMSG when a known attribute has not the
 * length of its value (a reply carries it; a prefix length is at most
 * 128).  Whether an address is usable is the caller's to judge. */
#define IKE_MAX_CP_DNS	2

struct ike_cp_got {
	bool has4, has6;
	uint8_t ip4[4], ip6[16], plen6;
	uint8_t dns4[IKE_MAX_CP_DNS][4], dns6[IKE_MAX_CP_DNS][16];
	int n_dns4, n_dns6;
	int extra;		/* addresses and DNS servers past those kept */
	int other;		/* attributes of other types, ignored */
};

int ike_cp_got(const struct ike_cp *cp, struct ike_cp_got *g);

/* --- SK / SKF (§3.14, RFC 7383 §2.5) --------------------------------------- */

/* The protected span (IV || ciphertext || ICV); sizes are the crypto
 * layer's to check.  The first inner type is the SK's next-payload,
 * available as ike_msg.sk_next. */
int ike_get_sk(const struct ike_pl *pl, struct ike_span *prot);

struct ike_skf {
	uint16_t num, total;	/* 1 <= num <= total */
	struct ike_span prot;
};

int ike_get_skf(const struct ike_pl *pl, struct ike_skf *f);

/* Close the open payload and write an SK (or SKF) generic header with
 * next-payload = first (0 for SKF fragments after the first); returns its
 * offset in the buf for crypto_sk_seal(), or SIZE_MAX on error (bld->err).
 * No payload may follow. */
size_t ike_put_sk_header(struct ike_builder *bld, uint8_t first);
size_t ike_put_skf_header(struct ike_builder *bld, uint8_t first, uint16_t num,
			  uint16_t total);

/* --- names and error mapping --------------------------------------------- */

/* The notify type RFC 7296 answers a parse error with (0: drop). */
uint16_t ike_perr_notify(enum ike_perr e);

const char *ikev2_exch_name(uint8_t exch);
const char *ikev2_pl_name(uint8_t type);
const char *ikev2_notify_name(uint16_t type);
const char *ikev2_transform_name(uint8_t type, uint16_t id);

#endif
