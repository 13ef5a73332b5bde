// SPDX-License-Identifier: GPL-2.0
/*
 * IKE_AUTH (RFC 7296 §1.2, §2.15, §2.16 none, §3.5-§3.8), with the first
 * Child SA (§1.2) and INITIAL_CONTACT (§2.4).
 *
 * Authentication is PSK (§2.15: prf(prf(secret, "Key Pad for IKEv2"),
 * octets)) or certificates: RFC 7427 digital signatures when the peer
 * announced SIGNATURE_HASH_ALGORITHMS, else the classic ECDSA methods of
 * RFC 4754.  The peer's end-entity certificate must chain to one of the
 * connection's CAs and carry the ID the peer claims.
 *
 * A failed authentication answers AUTHENTICATION_FAILED and leaves nothing
 * behind (§2.21.2); as initiator we say so in an INFORMATIONAL of its own,
 * and the log says whether the certificate or the AUTH was refused.  A
 * Child SA that cannot be made does not stop the IKE SA (§1.2): the error
 * notify goes in the response instead.  As initiator, a response with the
 * responder's AUTH and such a notify establishes the IKE SA without the
 * Child SA (§2.21.2); after TEMPORARY_FAILURE it is asked for again 2-10 s
 * later by CREATE_CHILD_SA (§2.25), after the others not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "dns.h"
#include "exch.h"
#include "log.h"

struct cred {
	const struct conn_cfg *cc;
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;	/* certificates after the first in `certs` */
	STACK_OF(X509) *cas;	/* to validate the peer */
	bool failed;
	struct cred *next;
};

void cred_free_all(struct engine *e)
{
	struct cred *c, *n;

	for (c = e->creds; c; c = n) {
		n = c->next;
		EVP_PKEY_free(c->key);
		X509_free(c->cert);
		sk_X509_pop_free(c->chain, X509_free);
		sk_X509_pop_free(c->cas, X509_free);
		free(c);
	}
	e->creds = NULL;
}

/* Credentials of a connection, loaded on first use and kept until reload. */
static struct cred *cred_get(struct engine *e, const struct conn_cfg *cc)
{
	struct cred_err why;
	struct cred *c;

	for (c = e->creds; c; c = c->next)
		if (c->cc == cc)
			return c->failed ? NULL : c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cc = cc;
	c->next = e->creds;
	e->creds = c;
	if (cc->local.auth == CFG_AUTH_PUBKEY) {
		STACK_OF(X509) *all = crypto_load_ca(cc->local.certs, &why);

		c->key = all ? crypto_load_privkey(cc->local.key, &why) : NULL;
		if (!all || !c->key) {
			log_err("connection %s: cannot load its certificate or key: %s",
				cc->name, why.msg);
			sk_X509_pop_free(all, X509_free);
			c->failed = true;
			return NULL;
		}
		c->cert = sk_X509_shift(all);
		c->chain = all;
		if (X509_check_private_key(c->cert, c->key) != 1) {
			log_err("connection %s: key %s does not match certificate %s",
				cc->name, cc->local.key, cc->local.certs);
			c->failed = true;
			return NULL;
		}
		if (cc->rsa_pss == CFG_PSS_NO && EVP_PKEY_is_a(c->key, "RSA-PSS"))
			log_warn("connection %s: key %s is RSASSA-PSS only: it signs with PSS although rsa_pss = no",
				 cc->name, cc->local.key);
	}
	if (cc->remote.auth == CFG_AUTH_PUBKEY) {
		const char *path = cc->remote.cacerts ? cc->remote.cacerts : cc->local.cacerts;

		c->cas = path ? crypto_load_ca(path, &why) : NULL;
		if (!c->cas) {
			if (path)
				log_err("connection %s: cannot load a CA certificate from %s",
					cc->name, why.msg);
			else
				log_err("connection %s: remote auth = pubkey needs 'cacerts' with at least one CA certificate",
					cc->name);
			c->failed = true;
			return NULL;
		}
	}
	return c;
}

int auth_certreq_data(struct engine *e, const struct conn_cfg *cc, struct buf *out)
{
	struct cred *c = cred_get(e, cc);

	if (!c || !c->cas)
		return -ENOENT;
	return crypto_certreq_data(c->cas, out);
}

/* "C=DE, O=x, CN=y" (a configured DN) as DER. */
static int dn_to_der(const struct id_cfg *in, struct id_cfg *out)
{
	char text[256], *save = NULL, *tok;
	X509_NAME *nm = X509_NAME_new();
	unsigned char *der = NULL;
	int n;

	if (!nm)
		return -ENOMEM;
	snprintf(text, sizeof(text), "%.*s", in->len, in->data);
	for (tok = strtok_r(text, ",/", &save); tok; tok = strtok_r(NULL, ",/", &save)) {
		char *eq = strchr(tok, '=');

		while (*tok == ' ')
			tok++;
		if (!eq)
			continue;
		*eq = 0;
		if (!X509_NAME_add_entry_by_txt(nm, tok, MBSTRING_UTF8,
						(const unsigned char *)eq + 1, -1, -1, 0)) {
			X509_NAME_free(nm);
			return -EINVAL;
		}
	}
	n = i2d_X509_NAME(nm, &der);
	X509_NAME_free(nm);
	if (n <= 0 || n > (int)sizeof(out->data)) {
		OPENSSL_free(der);
		return -EINVAL;
	}
	out->type = IKEV2_ID_DER_ASN1_DN;
	out->len = (uint8_t)n;
	memcpy(out->data, der, (size_t)n);
	OPENSSL_free(der);
	return 0;
}

/* A configured ID in wire form (DNs are text in the config). */
static int id_wire(const struct id_cfg *in, struct id_cfg *out)
{
	return auth_id_der(in, out);
}

int auth_id_der(const struct id_cfg *in, struct id_cfg *out)
{
	if (in->type == IKEV2_ID_DER_ASN1_DN) {
		const unsigned char *p = in->data;
		X509_NAME *nm = d2i_X509_NAME(NULL, &p, in->len);

		if (nm && p == in->data + in->len) {
			X509_NAME_free(nm);
			*out = *in;
			return 0;
		}
		X509_NAME_free(nm);
		return dn_to_der(in, out);
	}
	*out = *in;
	return 0;
}

/* An address as an ID: the peer's for secrets when no remote ID is set,
 * ours when none is configured. */
static void addr_id(const struct sockaddr_storage *a, struct id_cfg *id)
{
	memset(id, 0, sizeof(*id));
	if (a->ss_family == AF_INET6) {
		id->type = IKEV2_ID_IPV6_ADDR;
		id->len = 16;
		memcpy(id->data, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
	} else {
		id->type = IKEV2_ID_IPV4_ADDR;
		id->len = 4;
		memcpy(id->data, &((const struct sockaddr_in *)a)->sin_addr, 4);
	}
}

/* Our ID: configured, else the certificate's subject, else our address. */
static int my_id(struct ike_sa *sa, struct cred *cr, struct id_cfg *id)
{
	if (sa->cfg->local.id.type)
		return id_wire(&sa->cfg->local.id, id);
	if (cr && cr->cert) {
		unsigned char *der = NULL;
		int n = i2d_X509_NAME(X509_get_subject_name(cr->cert), &der);

		if (n > 0 && n <= (int)sizeof(id->data)) {
			memset(id, 0, sizeof(*id));
			id->type = IKEV2_ID_DER_ASN1_DN;
			id->len = (uint8_t)n;
			memcpy(id->data, der, (size_t)n);
			OPENSSL_free(der);
			return 0;
		}
		OPENSSL_free(der);
	}
	addr_id(&sa->path.local, id);
	return 0;
}

static size_t id_body(const struct id_cfg *id, uint8_t *out)
{
	out[0] = id->type;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, id->data, id->len);
	return 4u + id->len;
}

/* How specific a wildcard match is: by the literal bytes it held to,
 * between any identity (0) and the exact one (AUTH_ID_EXACT). */
static int wild_score(size_t literal)
{
	return 2 + (int)(literal < AUTH_ID_EXACT - 3 ? literal : AUTH_ID_EXACT - 3);
}

/* s (n bytes) is longer than suf (m) and ends with it, case aside. */
static bool suffix_match(const uint8_t *s, size_t n, const uint8_t *suf, size_t m)
{
	return n > m && !strncasecmp((const char *)s + n - m, (const char *)suf, m);
}

/* strongSwan's rule for DNs: the same RDNs in the same order, a value *
 * matches any value, *.suffix (our addition, for CNs) one ending so. */
static int dn_match(const struct id_cfg *pattern, const struct id_cfg *peer)
{
	X509_NAME *a = NULL, *b = NULL;
	const unsigned char *p;
	struct id_cfg pw;
	size_t literal = 0;
	int n, r = -1;

	if (id_wire(pattern, &pw))
		return -1;
	p = pw.data;
	a = d2i_X509_NAME(NULL, &p, pw.len);
	p = peer->data;
	b = d2i_X509_NAME(NULL, &p, peer->len);
	if (!a || !b || (n = X509_NAME_entry_count(a)) != X509_NAME_entry_count(b))
		goto out;
	for (int i = 0; i < n; i++) {
		X509_NAME_ENTRY *ea = X509_NAME_get_entry(a, i), *eb = X509_NAME_get_entry(b, i);
		const ASN1_STRING *va = X509_NAME_ENTRY_get_data(ea);
		const ASN1_STRING *vb = X509_NAME_ENTRY_get_data(eb);
		const uint8_t *da = ASN1_STRING_get0_data(va), *db = ASN1_STRING_get0_data(vb);
		size_t la = (size_t)ASN1_STRING_length(va), lb = (size_t)ASN1_STRING_length(vb);

		if (OBJ_cmp(X509_NAME_ENTRY_get_object(ea), X509_NAME_ENTRY_get_object(eb)))
			goto out;
		if (la && da[0] == '*') {
			if (la > 1 && !suffix_match(db, lb, da + 1, la - 1))
				goto out;
			literal += la - 1;
		} else if (la != lb || strncasecmp((const char *)da, (const char *)db, la)) {
			goto out;
		} else {
			literal += la;
		}
	}
	r = wild_score(literal);
out:
	X509_NAME_free(a);
	X509_NAME_free(b);
	return r;
}

int auth_id_match(const struct id_cfg *pattern, const struct id_cfg *peer)
{
	struct id_cfg w;

	if (!pattern->type)
		return 0;
	if (!config_id_wild(pattern))
		return !id_wire(pattern, &w) && config_id_equal(&w, peer) ? AUTH_ID_EXACT : -1;
	if (pattern->type != peer->type)
		return -1;
	if (pattern->type == IKEV2_ID_DER_ASN1_DN)
		return dn_match(pattern, peer);
	/* *.domain, *@domain */
	return suffix_match(peer->data, peer->len, pattern->data + 1, pattern->len - 1u) ?
	       wild_score(pattern->len - 1u) : -1;
}

/* The peer's ID as a config-comparable id_cfg; false if it is too long. */
static bool id_from_payload(const struct ike_typed *t, struct id_cfg *id)
{
	if (t->data.len > sizeof(id->data) || !t->data.len)
		return false;
	memset(id, 0, sizeof(*id));
	id->type = t->type;
	id->len = (uint8_t)t->data.len;
	memcpy(id->data, t->data.p, t->data.len);
	return true;
}

static const struct secret_cfg *psk_for(struct ike_sa *sa, const struct id_cfg *me,
					const struct id_cfg *peer)
{
	const struct secret_cfg *s = config_secret(sa->e->cfg, me, peer);
	struct id_cfg a;

	if (!s) {
		addr_id(&sa->path.remote, &a);
		s = config_secret(sa->e->cfg, me, &a);
	}
	return s;
}

/*
 * prf(PSK, "Key Pad for IKEv2") under prf (§2.15), a read-only view in
 * *pad: computed on the secret's first use with this PRF and kept beside
 * it (config.h, struct psk_pad_cache), one HMAC fewer per IKE_AUTH on
 * each side.  -errno if it cannot be computed.
 */
static int psk_pad_get(uint16_t prf, const struct secret_cfg *s, struct buf *pad)
{
	struct psk_pad_cache *pc = s->pad;

	_Static_assert(sizeof(pc->pad) >= CRYPTO_MAX_PRF_LEN, "a PRF's output fits the cache");
	if (pc->prf != prf) {
		struct buf b = BUF_INIT;
		int r = crypto_auth_psk_pad(prf, s->secret, s->secret_len, &b);

		if (!r && b.len > sizeof(pc->pad))
			r = -EOVERFLOW;
		if (r) {
			buf_wipe(&b);
			return r;
		}
		OPENSSL_cleanse(pc->pad, sizeof(pc->pad));
		memcpy(pc->pad, b.data, b.len);
		pc->len = (uint8_t)b.len;
		pc->prf = prf;
		buf_wipe(&b);
	}
	*pad = (struct buf){ .data = pc->pad, .len = pc->len };
	return 0;
}

static uint8_t ec_method(EVP_PKEY *k)
{
	int bits = EVP_PKEY_get_bits(k);

	return bits <= 256 ? IKEV2_AUTH_ECDSA_256 : bits <= 384 ? IKEV2_AUTH_ECDSA_384 :
	       IKEV2_AUTH_ECDSA_521;
}

/*
 * Our AUTH payload data.  octets: our first message | peer's nonce |
 * prf(SK_p, our ID body) (§2.15).
 */
static int make_auth(struct ike_sa *sa, struct cred *cr, const struct id_cfg *me,
		     const struct id_cfg *peer, const struct buf *octets,
		     uint8_t *method, struct buf *out)
{
	if (sa->cfg->local.auth == CFG_AUTH_PSK) {
		const struct secret_cfg *s = psk_for(sa, me, peer);
		struct buf pad;

		if (!s) {
			log_err("%s: no shared secret for this pair of identities",
				ike_sa_name(sa));
			return -ENOENT;
		}
		*method = IKEV2_AUTH_SHARED_KEY_MIC;
		log_debug("%s: our AUTH: shared key", ike_sa_name(sa));
		return psk_pad_get(sa->suite.prf, s, &pad) ? -EIO :
		       crypto_auth_psk_mac(sa->suite.prf, &pad, octets->data, octets->len, out);
	}
	if (!cr || !cr->key)
		return -ENOENT;
	if (sa->peer_sig_hashes || EVP_PKEY_get_base_id(cr->key) != EVP_PKEY_EC) {
		/* RFC 8247 §3.2: RSASSA-PSS is the MUST; a peer that announced
		 * SIGNATURE_HASH_ALGORITHMS speaks RFC 7427, whose
		 * AlgorithmIdentifier names it. */
		bool pss = sa->cfg->rsa_pss == CFG_PSS_YES ||
			   (sa->cfg->rsa_pss == CFG_PSS_AUTO && sa->peer_sig_hashes);
		enum crypto_sig_scheme sch = crypto_sig_choose(cr->key, sa->peer_sig_hashes, pss);

		if (sch == CRYPTO_SIG_NONE && crypto_sig_choose(cr->key, 1u << CRYPTO_HASH_IDENTITY,
								pss) != CRYPTO_SIG_NONE) {
			/* draft-ietf-ipsecme-ikev2-pqc-auth */
			log_err("%s: our key is ML-DSA, but the peer did not announce Identity (5) in SIGNATURE_HASH_ALGORITHMS: it takes no ML-DSA signature",
				ike_sa_name(sa));
			return -ENOTSUP;
		}
		if (sch == CRYPTO_SIG_NONE) {
			log_err("%s: no signature scheme the peer accepts fits our key",
				ike_sa_name(sa));
			return -ENOTSUP;
		}
		*method = IKEV2_AUTH_DIGITAL_SIGNATURE;
		log_debug("%s: our AUTH: %s", ike_sa_name(sa), crypto_sig_scheme_name(sch));
		return crypto_auth_sign(cr->key, *method, sch, octets->data, octets->len, out);
	}
	*method = ec_method(cr->key);
	log_debug("%s: our AUTH: %s (method %u)", ike_sa_name(sa),
		  crypto_sig_scheme_name(crypto_auth_scheme(*method, NULL, 0)), *method);
	return crypto_auth_sign(cr->key, *method, CRYPTO_SIG_NONE, octets->data,
				octets->len, out);
}

static const char *auth_method_name(uint8_t m)
{
	switch (m) {
	case IKEV2_AUTH_RSA_SIG:
		return "RSA signature";
	case IKEV2_AUTH_SHARED_KEY_MIC:
		return "shared key";
	case IKEV2_AUTH_DSS:
		return "DSS signature";
	case IKEV2_AUTH_ECDSA_256:
	case IKEV2_AUTH_ECDSA_384:
	case IKEV2_AUTH_ECDSA_521:
		return "ECDSA signature";
	case IKEV2_AUTH_DIGITAL_SIGNATURE:
		return "digital signature";
	default:
		return "unknown";
	}
}

/* Why the peer's authentication was refused: the part (its certificate or
 * its AUTH) and a sentence, for the one line that is logged. */
struct refusal {
	const char *part;
	char why[192];
};

static int refuse(struct refusal *no, const char *part, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(struct refusal *no, const char *part, int err, const char *fmt, ...)
{
	va_list ap;

	no->part = part;
	va_start(ap, fmt);
	vsnprintf(no->why, sizeof(no->why), fmt, ap);
	va_end(ap);
	return err;
}

/* The peer's certificates from one IKE_AUTH message: its own, then the
 * intermediates, parsed once for conn_fit (every connection's CAs) and
 * check_auth.  Each chain check is done once: the CA sets the chain was
 * checked against, with the result, are kept beside (chain_ok). */
#define PEER_CERTS_MEMO	8

struct peer_certs {
	X509 *ee;
	STACK_OF(X509) *inter;
	const struct cred *memo[PEER_CERTS_MEMO];
	bool memo_ok[PEER_CERTS_MEMO];
	int n_memo;
};

static void peer_certs_get(const struct ike_msg *inner, struct peer_certs *pc)
{
	const struct ike_pl *pl = NULL;

	memset(pc, 0, sizeof(*pc));
	while ((pl = ike_msg_next(inner, pl, IKEV2_PL_CERT))) {
		struct ike_typed c;
		X509 *x;

		if (ike_get_cert(pl, &c) || c.type != IKEV2_CERT_X509_SIG)
			continue;
		x = crypto_cert_from_der(c.data.p, c.data.len);
		if (!x)
			continue;
		if (!pc->ee) {
			pc->ee = x;
			continue;
		}
		if (!pc->inter)
			pc->inter = sk_X509_new_null();
		if (!pc->inter || !sk_X509_push(pc->inter, x))
			X509_free(x);
	}
}

static void peer_certs_free(struct peer_certs *pc)
{
	X509_free(pc->ee);
	sk_X509_pop_free(pc->inter, X509_free);
}

/* Whether the peer's certificate chains to cr's CAs (checked once per
 * credential set and message). */
static bool chain_ok(struct peer_certs *pc, const struct cred *cr)
{
	bool ok;
	int i;

	for (i = 0; i < pc->n_memo; i++)
		if (pc->memo[i] == cr)
			return pc->memo_ok[i];
	ok = pc->ee && cr && cr->cas && !crypto_cert_verify(pc->ee, pc->inter, cr->cas, 0);
	if (pc->n_memo < PEER_CERTS_MEMO) {
		pc->memo[pc->n_memo] = cr;
		pc->memo_ok[pc->n_memo++] = ok;
	}
	return ok;
}

/*
 * Checks the peer's certificate and AUTH.  octets: peer's first message |
 * our nonce | prf(SK_p(peer), peer's ID body).  Returns 0, or -errno with
 * what was refused and why in *no.
 */
static int check_auth(struct ike_sa *sa, struct cred *cr, const struct ike_msg *inner,
		      struct peer_certs *pc, const struct id_cfg *me, const struct id_cfg *peer,
		      const struct buf *octets, struct refusal *no)
{
	const struct ike_pl *pa = ike_msg_find(inner, IKEV2_PL_AUTH);
	struct ike_typed auth;
	X509 *ee = pc->ee;
	EVP_PKEY *pub;
	char pid[PEER_ID_STRLEN];
	int r;

	if (!pa || ike_get_auth(pa, &auth))
		return refuse(no, "AUTH", -EBADMSG, "it is malformed");
	if (sa->cfg->remote.auth == CFG_AUTH_PSK) {
		const struct secret_cfg *s;
		struct buf pad;

		if (auth.type != IKEV2_AUTH_SHARED_KEY_MIC)
			return refuse(no, "AUTH", -EACCES,
				      "it uses method %u (%s) where a shared key is expected",
				      auth.type, auth_method_name(auth.type));
		s = psk_for(sa, me, peer);
		if (!s)
			return refuse(no, "AUTH", -ENOENT, "we have no shared secret for its identity %s",
				      peer_id_str(sa, pid));
		if (psk_pad_get(sa->suite.prf, s, &pad))
			return refuse(no, "AUTH", -EIO, "cannot compute the shared key's pad");
		r = crypto_auth_psk_check(sa->suite.prf, &pad, octets->data, octets->len,
					  auth.data.p, auth.data.len);
		if (r)
			return refuse(no, "AUTH", r, "it does not match our shared secret");
		log_debug("%s: the peer's AUTH verifies: shared key", ike_sa_name(sa));
		return 0;
	}
	if (auth.type == IKEV2_AUTH_SHARED_KEY_MIC)
		return refuse(no, "AUTH", -EACCES,
			      "it uses method 2 (shared key) where a signature is expected");
	if (!cr || !cr->cas)
		return refuse(no, "certificate", -ENOENT, "we have no CA to check it against");
	if (!ee) {
		r = refuse(no, "certificate", -EKEYREJECTED, "it sent no X.509 certificate");
	} else if (!chain_ok(pc, cr)) {
		r = refuse(no, "certificate", -EKEYREJECTED, "it does not chain to our CAs");
	} else if (!crypto_cert_matches_id(ee, peer->type, peer->data, peer->len)) {
		r = refuse(no, "certificate", -EKEYREJECTED, "it does not contain the identity %s",
			   peer_id_str(sa, pid));
	} else if (!(pub = X509_get0_pubkey(ee))) {
		r = refuse(no, "certificate", -EKEYREJECTED, "it has no usable key");
	} else {
		enum crypto_sig_scheme sch = crypto_auth_scheme(auth.type, auth.data.p,
								 auth.data.len);

		r = crypto_auth_verify(pub, auth.type, auth.data.p, auth.data.len,
				       octets->data, octets->len);
		if (r)
			refuse(no, "AUTH", r, "its %s (method %u, %s) does not verify with the certificate's key: %s",
			       auth_method_name(auth.type), auth.type, crypto_sig_scheme_name(sch),
			       strerror(-r));
		else
			log_debug("%s: the peer's AUTH verifies: %s", ike_sa_name(sa),
				  crypto_sig_scheme_name(sch));
	}
	return r;
}

static void put_certs(struct ike_builder *bld, struct cred *cr)
{
	struct buf der = BUF_INIT;
	int i;

	if (!cr || !cr->cert)
		return;
	if (!crypto_cert_to_der(cr->cert, &der))
		ike_put_cert(bld, IKEV2_CERT_X509_SIG, der.data, der.len);
	for (i = 0; cr->chain && i < sk_X509_num(cr->chain); i++)
		if (!crypto_cert_to_der(sk_X509_value(cr->chain, i), &der))
			ike_put_cert(bld, IKEV2_CERT_X509_SIG, der.data, der.len);
	buf_free(&der);
}

/* octets = msg | nonce | prf(SK_p, ID body) [| IntAuth (RFC 9242)] */
static int octets_for(struct ike_sa *sa, const struct buf *msg, const struct buf *nonce,
		      const struct buf *skp, const struct id_cfg *id, struct buf *out)
{
	uint8_t body[4 + 255];
	size_t n = id_body(id, body);
	int r;

	r = crypto_auth_octets(sa->suite.prf, skp, msg->data, msg->len, nonce->data,
			       nonce->len, body, n, out);
	return r ? r : inter_octets(sa, out);
}

/* The peer's AUTH over what it signed (§2.15: its first message, our
 * nonce, its identity under SK_pi or SK_pr); 0, or refused in *no. */
static int peer_auth_check(struct ike_sa *sa, struct cred *cr, const struct ike_msg *inner,
			   struct peer_certs *pc, const struct id_cfg *me, struct refusal *no)
{
	struct buf oct = BUF_INIT;
	int r;

	if (sa->initiator)
		r = octets_for(sa, &sa->init->init_resp, &sa->ni, &sa->init->keys.sk_pr, sa->peer_id, &oct);
	else
		r = octets_for(sa, &sa->init->init_req, &sa->nr, &sa->init->keys.sk_pi, sa->peer_id, &oct);
	if (r)
		refuse(no, "AUTH", r, "cannot compute the signed octets: %s", strerror(-r));
	else
		r = check_auth(sa, cr, inner, pc, me, sa->peer_id, &oct, no);
	buf_wipe(&oct);
	return r;
}

/* --- initiator ------------------------------------------------------------------ */

/* §2.4: INITIAL_CONTACT says this is the only IKE SA between us; not so
 * while another of the connection's is up (a second initiate, a rekey's
 * or a reauthentication's overlap). */
static bool has_contact(const struct ike_sa *sa)
{
	for (const struct ike_sa *o = sa->e->all; o; o = o->next)
		if (o != sa && o->cfg == sa->cfg &&
		    (o->state == IKE_S_ESTABLISHED || o->state == IKE_S_REKEYED))
			return true;
	return false;
}

int auth_start(struct ike_sa *sa)
{
	struct buf in = BUF_INIT, oct = BUF_INIT, au = BUF_INIT, cr = BUF_INIT;
	struct ike_builder bld;
	struct id_cfg me, peer;
	struct cred *c = cred_get(sa->e, sa->cfg);
	uint8_t method = 0;
	int r;

	if (!c)
		return -ENOENT;
	my_id(sa, c, &me);
	if (sa->cfg->remote.id.type && !config_id_wild(&sa->cfg->remote.id))
		id_wire(&sa->cfg->remote.id, &peer);
	else
		addr_id(&sa->path.remote, &peer);
	r = octets_for(sa, &sa->init->init_req, &sa->nr, &sa->init->keys.sk_pi, &me, &oct);
	if (!r)
		r = make_auth(sa, c, &me, &peer, &oct, &method, &au);
	buf_wipe(&oct);
	if (r) {
		buf_wipe(&au);
		return r;
	}
	chain_begin(&bld, &in);
	ike_put_id(&bld, IKEV2_PL_IDI, me.type, me.data, me.len);
	if (sa->cfg->local.auth == CFG_AUTH_PUBKEY)
		put_certs(&bld, c);
	if (sa->cfg->remote.auth == CFG_AUTH_PUBKEY && c->cas &&
	    !crypto_certreq_data(c->cas, &cr) && cr.len)
		ike_put_certreq(&bld, IKEV2_CERT_X509_SIG, cr.data, cr.len);
	if (sa->cfg->remote.id.type && !config_id_wild(&sa->cfg->remote.id))
		ike_put_id(&bld, IKEV2_PL_IDR, peer.type, peer.data, peer.len);
	ike_put_auth(&bld, method, au.data, au.len);
	if (sa->cfg->initial_contact && !has_contact(sa))
		ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_INITIAL_CONTACT, NULL, 0);
	vip_put_request(sa, &bld);
	if (sa->cfg->children) {
		struct child_sa *ch = child_new(sa, sa->cfg->children);

		if (ch) {
			if (ch->cfg->mode == CFG_MODE_TRANSPORT)
				ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
			child_put_sa(ch, &bld, true);
			child_put_ts(ch, &bld, true);
			sa->req.child = ch;
		}
	}
	buf_wipe(&au);
	buf_free(&cr);
	/* the child (if any) stays in req.child across the send */
	{
		struct child_sa *keep = sa->req.child;

		r = ike_send_request(sa, TASK_AUTH, IKEV2_EXCH_IKE_AUTH, &bld);
		sa->req.child = keep;
	}
	buf_free(&in);
	return r;
}

/*
 * The error notifies of an IKE_AUTH response: true if the responder
 * refused the exchange.  §2.21.2: when the response carries the
 * responder's AUTH, a Child SA that could not be made ("for any reason":
 * the notifies §1.2 names, NO_ADDITIONAL_SAS, or TEMPORARY_FAILURE, which
 * §2.25 says to try again later) leaves the IKE SA up; *child_err is that
 * notify.  Without an AUTH, any error notify refuses the exchange.
 */
static bool auth_error_notify(struct ike_sa *sa, const struct ike_msg *inner,
			      uint16_t *child_err)
{
	bool authed = ike_msg_find(inner, IKEV2_PL_AUTH) != NULL;
	const struct ike_pl *pl = NULL;

	*child_err = 0;
	while ((pl = ike_msg_next(inner, pl, IKEV2_PL_NOTIFY))) {
		struct ike_notify n;

		if (ike_get_notify(pl, &n) || n.type > IKEV2_N_ERROR_MAX)
			continue;
		if (authed && child_refusal_notify(n.type)) {
			*child_err = n.type;
			continue;
		}
		log_warn("%s: IKE_AUTH refused: %s", ike_sa_name(sa), ikev2_notify_name(n.type));
		return true;
	}
	return false;
}

static void auth_fail(struct ike_sa *sa, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void auth_fail(struct ike_sa *sa, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	sa->e->st.ike_failed++;
	log_warn("%s: IKE_AUTH failed: %s", ike_sa_name(sa), why);
	ike_sa_destroy(sa, NULL);
}

/*
 * §2.21.2: the initiator that cannot authenticate the responder says so
 * in an INFORMATIONAL with AUTHENTICATION_FAILED (the exception to never
 * starting an exchange for an error in a response); the responder then
 * need not keep its half of the IKE SA until its own timeout.  Sent once,
 * not waited for.
 */
static void tell_auth_failed(struct ike_sa *sa)
{
	struct buf in = BUF_INIT;
	struct ike_builder bld;

	ike_req_done(sa);	/* IKE_AUTH is over: the next message ID */
	chain_begin(&bld, &in);
	ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
	if (!ike_send_request(sa, TASK_DPD, IKEV2_EXCH_INFORMATIONAL, &bld))
		log_info("%s: AUTHENTICATION_FAILED sent to the responder", ike_sa_name(sa));
	buf_free(&in);
}

/* §2.4: INITIAL_CONTACT: the peer has no other SA with us any more.  Acted
 * on before the new IKE SA's first Child SA is installed, whose selectors
 * and policies the old ones may hold. */
static void initial_contact(struct ike_sa *sa)
{
	struct ike_sa *o, *n;

	for (o = ike_by_peer_first(sa->e, sa->peer_id); o; o = n) {
		n = ike_by_peer_next(o, sa->peer_id);
		if (o != sa && o->cfg == sa->cfg && o->state == IKE_S_ESTABLISHED) {
			char pid[PEER_ID_STRLEN];

			log_info("%s: INITIAL_CONTACT from %s", ike_sa_name(o), peer_id_str(sa, pid));
			ike_sa_destroy(o, "replaced after INITIAL_CONTACT");
		}
	}
}

/*
 * An identity with an IKE SA of the connection already (strongSwan's
 * unique; after INITIAL_CONTACT, which drops the old ones first): false
 * when `unique = keep` or `ike_sas_per_id` refuses the new IKE SA
 * (logged), *replace true when older ones are to go (unique_replace,
 * before and after the new one's Child SA).  Counted are established IKE
 * SAs, so that rekeying (CREATE_CHILD_SA, not IKE_AUTH) never meets the
 * limit.
 */
static bool unique_admit(struct ike_sa *sa, bool *replace)
{
	const struct conn_cfg *cc = sa->cfg;
	const struct ike_sa *o, *kept = NULL;
	char pid[PEER_ID_STRLEN];
	uint32_t n = 0;

	*replace = false;
	for (o = ike_by_peer_first(sa->e, sa->peer_id); o;
	     o = ike_by_peer_next(o, sa->peer_id)) {
		if (o == sa || o->cfg != cc || o->state != IKE_S_ESTABLISHED)
			continue;
		if (cc->unique == CFG_UNIQUE_REPLACE) {
			*replace = true;
			continue;
		}
		if (cc->unique == CFG_UNIQUE_KEEP && !kept)
			kept = o;
		n++;
	}
	if (kept) {
		log_warn("%s: IKE SA of %s refused (unique = keep): %s is up for the identity",
			 ike_sa_name(sa), peer_id_str(sa, pid), ike_sa_name(kept));
		return false;
	}
	if (cc->ike_sas_per_id && n >= cc->ike_sas_per_id) {
		log_warn("%s: IKE SA refused: %u IKE SAs of %s up, the limit (ike_sas_per_id)",
			 ike_sa_name(sa), n, peer_id_str(sa, pid));
		return false;
	}
	return true;
}

/*
 * unique = replace: the identity's older IKE SAs of the connection go with
 * their Child SAs, their peer told by a Delete (a TCP connection that
 * carried only them closed).  Those from another address (moved: the
 * client roamed) go before the new IKE SA's virtual IP and first Child
 * SA, as after INITIAL_CONTACT: their Child SAs hold its selectors with
 * another tunnel.  Those from the same address are given UNIQUE_GRACE_MS
 * once the new one stands (moved false), its Child SAs sharing their
 * policies meanwhile: a make-before-break reauthentication (strongSwan's
 * make_before_break) deletes the old IKE SA itself once its new Child SAs
 * are installed, and a Delete from us racing with our IKE_AUTH response
 * would make the peer drop its old Child SA before the new one is in.
 * Either way the identity's lease of a virtual IP stays, the same address.
 */
#define UNIQUE_GRACE_MS	10000

static void unique_grace_over(struct timer *t)
{
	struct ike_sa *o = container_of(t, struct ike_sa, replace_timer);

	if (o->state != IKE_S_ESTABLISHED)
		return;
	log_info("%s: deleted: replaced by a newer IKE SA of the identity %u s ago (unique = replace)",
		 ike_sa_name(o), UNIQUE_GRACE_MS / 1000);
	ike_sa_delete_now(o, "replaced by a new IKE SA of the identity");
}

static void unique_replace(struct ike_sa *sa, bool moved)
{
	struct ike_sa *o, *n;
	char pid[PEER_ID_STRLEN];

	for (o = ike_by_peer_first(sa->e, sa->peer_id); o; o = n) {
		n = ike_by_peer_next(o, sa->peer_id);
		if (o == sa || o->cfg != sa->cfg || o->state != IKE_S_ESTABLISHED ||
		    (moved && addr_eq(&o->path.remote, &sa->path.remote)))
			continue;
		if (!moved) {
			if (!timer_armed(&o->replace_timer)) {
				log_info("%s: replaces %s of %s in %u s unless its peer deletes it first (unique = replace)",
					 ike_sa_name(sa), ike_sa_name(o), peer_id_str(sa, pid),
					 UNIQUE_GRACE_MS / 1000);
				timer_arm(sa->e->loop, &o->replace_timer, UNIQUE_GRACE_MS,
					  unique_grace_over);
			}
			continue;
		}
		log_info("%s: replaces %s of %s (unique = replace)", ike_sa_name(sa),
			 ike_sa_name(o), peer_id_str(sa, pid));
		ike_sa_delete_now(o, "replaced by a new IKE SA of the identity");
	}
}

void auth_rx_response(struct ike_sa *sa, const struct ike_msg *inner)
{
	const struct ike_pl *pid = ike_msg_find(inner, IKEV2_PL_IDR);
	struct cred *cr = cred_get(sa->e, sa->cfg);
	struct child_sa *ch = sa->req.child;
	struct ike_typed idr;
	struct id_cfg me, peer;
	struct refusal no = { .part = "AUTH", .why = "" };
	struct peer_certs pc;
	struct ike_notify ic;
	char a[PEER_ID_STRLEN], b[PEER_ID_STRLEN];
	uint16_t child_err;
	bool replace;
	int r, vr;

	if (auth_error_notify(sa, inner, &child_err)) {
		auth_fail(sa, "the responder refused our authentication");
		return;
	}
	if (!pid || ike_get_id(pid, &idr) || !id_from_payload(&idr, &peer)) {
		auth_fail(sa, "response has no usable IDr");
		return;
	}
	if (ike_sa_set_peer_id(sa, &peer)) {
		auth_fail(sa, "no memory for the responder's identity");
		return;
	}
	if (auth_id_match(&sa->cfg->remote.id, sa->peer_id) < 0) {
		config_id_str(&sa->cfg->remote.id, b, sizeof(b));
		tell_auth_failed(sa);
		auth_fail(sa, "the responder's identity %s is not the configured %s",
			  peer_id_str(sa, a), b);
		return;
	}
	my_id(sa, cr, &me);
	peer_certs_get(inner, &pc);
	r = peer_auth_check(sa, cr, inner, &pc, &me, &no);
	peer_certs_free(&pc);
	if (r) {
		tell_auth_failed(sa);
		auth_fail(sa, "the responder's %s is refused: %s", no.part, no.why);
		return;
	}
	/* A responder may send INITIAL_CONTACT too (§2.4). */
	if (!ike_find_notify(inner, IKEV2_N_INITIAL_CONTACT, &ic))
		initial_contact(sa);
	if (!unique_admit(sa, &replace)) {
		tell_auth_failed(sa);
		auth_fail(sa, "the identity's IKE SAs refuse another");
		return;
	}
	if (replace)
		unique_replace(sa, true);
	sa->req.child = NULL;
	vr = vip_reply_take(sa, inner);
	if (vr == -EBADMSG) {
		/* §2.21.2: authenticated, so the IKE SA is up at the peer
		 * and goes by an INFORMATIONAL Delete */
		log_warn("%s: the IKE SA is deleted: its IKE_AUTH response is malformed", ike_sa_name(sa));
		if (ch)
			child_free(ch, true);
		sa->e->st.child_failed += ch ? 1 : 0;
		ike_sa_established(sa);
		sa->pending |= PEND_DELETE_IKE;
		ike_req_done(sa);
		return;
	}
	if (ch && child_err) {
		/* §2.21.2: the IKE SA is up without it; §2.25: after
		 * TEMPORARY_FAILURE it is asked for again later, by
		 * CREATE_CHILD_SA; the others refuse it for good. */
		log_warn("%s: Child SA %s not established: the peer refused it in IKE_AUTH with %s; the IKE SA stays up without it",
			 ike_sa_name(sa), ch->cfg->name, ikev2_notify_name(child_err));
		sa->e->st.child_failed++;
		child_new_refused(sa, ch->cfg, child_err);
		child_free(ch, true);
	} else if (ch) {
		uint16_t e = child_accept(ch, inner, true);

		if (!e && vr)
			child_refuse_at_peer(ch, "we asked for a virtual IP for its selectors and got none");
		else if (!e && !(r = child_install(ch, &sa->ni, &sa->nr, NULL, true)) &&
		    !(r = child_policies(ch))) {
			child_link(ch);
			child_schedule(ch);
			child_new_done(sa, ch->cfg);
		} else if (!e) {
			child_refused_by_kernel(ch, r);	/* the responder has it */
		} else {
			log_warn("%s: Child SA %s not established: %s", ike_sa_name(sa),
				 ch->cfg->name, ikev2_notify_name(e));
			child_free(ch, true);
			sa->e->st.child_failed++;
		}
	}
	ike_sa_established(sa);
	if (replace)
		unique_replace(sa, false);
	esp_probe_start(sa);
	/* Further children of the connection come by CREATE_CHILD_SA; the
	 * first was asked for in IKE_AUTH, and if it was refused, this pass
	 * does not ask again (a TEMPORARY_FAILURE's later pass does). */
	if (sa->cfg->children && sa->cfg->children->next) {
		sa->child_from = ch ? 1 : 0;
		sa->pending |= PEND_CHILD;
	}
	ike_req_done(sa);
}

/* --- responder ------------------------------------------------------------------- */

/*
 * How well connection c fits the peer: -1 when it does not, else
 * FIT_ADDR times its longest remote_addrs prefix holding the peer's
 * address (an address 32 or 128, %any 0) plus how its remote id matches
 * (auth_id_match: 0 any, a wildcard's score, AUTH_ID_EXACT).  A peer
 * with a certificate fits a pubkey connection only when it chains to the
 * connection's CAs (strongSwan's CA constraint).
 */
#define FIT_ADDR (AUTH_ID_EXACT + 1)

/* conn_fit: all but the certificate, which chains to none of its CAs */
#define FIT_BUT_CHAIN	(-2)

static int conn_fit(struct ike_sa *sa, const struct conn_cfg *c, const struct id_cfg *peer,
		    const struct id_cfg *idr, struct peer_certs *pc)
{
	int plen = dns_remote_match(sa->e, c, &sa->path.remote), idm;
	struct id_cfg w;

	if (plen < 0 || (idm = auth_id_match(&c->remote.id, peer)) < 0)
		return -1;
	if (idr && c->local.id.type && (id_wire(&c->local.id, &w) || !config_id_equal(&w, idr)))
		return -1;
	if (pc->ee && c->remote.auth == CFG_AUTH_PUBKEY && !chain_ok(pc, cred_get(sa->e, c)))
		return FIT_BUT_CHAIN;
	return plen * FIT_ADDR + idm;
}

/* ", its remote id", ... for a fit's identity part. */
static const char *fit_id_str(int f)
{
	return f % FIT_ADDR == AUTH_ID_EXACT ? " and its remote id" :
	       f % FIT_ADDR ? " and a wildcard remote id" : "";
}

/* The connection for the peer's identity among those that fit the
 * addresses: the most specific (conn_fit), then the one chosen at
 * IKE_SA_INIT, then the first in the file.  When more than one fitted,
 * the log says which won and why, and warns when another fitted as
 * well. */
static const struct conn_cfg *conn_for_id(struct ike_sa *sa, struct peer_certs *pc,
					  const struct id_cfg *peer, const struct id_cfg *idr)
{
	const struct conn_cfg *c, *best = NULL, *tie = NULL, *chain = NULL;
	int *fit, i, k = 0, best_f = -1, n = 0;
	char others[256] = "", ids[PEER_ID_STRLEN], a[ADDR_STRLEN];
	size_t o = 0;

	for (c = sa->e->cfg->conns; c; c = c->next)
		k++;
	fit = calloc((size_t)k + 1, sizeof(*fit));
	if (!fit)
		return NULL;
	for (c = sa->e->cfg->conns, i = 0; c; c = c->next, i++) {
		fit[i] = conn_fit(sa, c, peer, idr, pc);
		if (fit[i] == FIT_BUT_CHAIN && (!chain || c == sa->cfg))
			chain = c;
		if (fit[i] < 0)
			continue;
		n++;
		if (fit[i] > best_f || (fit[i] == best_f && c == sa->cfg)) {
			best = c;
			best_f = fit[i];
		}
	}
	for (c = sa->e->cfg->conns, i = 0; n > 1 && c && o < sizeof(others); c = c->next, i++) {
		if (c == best || fit[i] < 0)
			continue;
		if (fit[i] == best_f && !tie)
			tie = c;
		o += (size_t)snprintf(others + o, sizeof(others) - o, "%s%s (/%d%s)",
				      o ? ", " : "", c->name, fit[i] / FIT_ADDR,
				      fit[i] % FIT_ADDR == AUTH_ID_EXACT ? ", its id" :
				      fit[i] % FIT_ADDR ? ", a wildcard id" : "");
	}
	free(fit);
	/* None fits but one whose CAs the certificate does not chain to: that
	 * one, so that its check names the certificate as what is refused. */
	if (!best)
		return chain;
	if (n < 2)
		return best;
	peer_id_str(sa, ids);
	addr_str(&sa->path.remote, a, sizeof(a));
	log_info("%s: %d connections fit peer %s at %s: %s chosen, remote_addrs /%d%s, over %s",
		 ike_sa_name(sa), n, ids, a, best->name, best_f / FIT_ADDR, fit_id_str(best_f),
		 others);
	if (tie)
		log_warn("%s: connections %s and %s match peer %s at %s equally (remote_addrs /%d%s): %s taken as %s; make one more specific",
			 ike_sa_name(sa), best->name, tie->name, ids, a, best_f / FIT_ADDR,
			 fit_id_str(best_f), best->name,
			 best == sa->cfg ? "the one chosen at IKE_SA_INIT" : "the first in the file");
	return best;
}

/* Responder: the Child SA asked for in IKE_AUTH, installed into *ch; 0 or
 * the notify type that refuses it (*ch NULL). */
static uint16_t auth_first_child(struct ike_sa *sa, const struct conn_cfg *cc,
				 const struct ike_msg *inner, const struct child_ts *ts,
				 struct child_sa **ch, struct ike_proposal *chosen)
{
	const struct child_cfg *chc = child_cfg_match(cc, ts);
	char why[96] = "";
	uint16_t err;
	int r;

	*ch = NULL;
	if (!chc) {
		err = IKEV2_N_TS_UNACCEPTABLE;
	} else {
		*ch = child_new(sa, chc);
		if (!*ch)
			err = IKEV2_N_NO_ADDITIONAL_SAS;
		else
			err = child_select(sa, chc, *ch, inner, ts, true, chosen);
		/* the backend's own words are in the line before */
		if (!err && ((r = child_install(*ch, &sa->ni, &sa->nr, NULL, false)) ||
			     (r = child_policies(*ch)))) {
			err = child_install_notify(r, true);
			snprintf(why, sizeof(why), ": the kernel refused it (%s)", strerror(-r));
		}
	}
	if (!err)
		return 0;
	log_warn("%s: Child SA%s%s refused with %s%s", ike_sa_name(sa), chc ? " " : "",
		 chc ? chc->name : "", ikev2_notify_name(err), why);
	if (*ch)
		child_free(*ch, true);
	*ch = NULL;
	sa->e->st.child_failed++;
	return err;
}

void auth_rx_request(struct ike_sa *sa, const struct ike_msg *m,
		     const struct ike_msg *inner, const uint8_t *raw_plain)
{
	const struct ike_pl *pid = ike_msg_find(inner, IKEV2_PL_IDI);
	const struct ike_pl *pidr = ike_msg_find(inner, IKEV2_PL_IDR);
	uint32_t msgid = m->hdr.msgid;
	struct ike_typed idi, idr_t;
	struct id_cfg me, idr_want, peer;
	const struct conn_cfg *cc;
	struct buf oct = BUF_INIT, au = BUF_INIT, out = BUF_INIT;
	struct ike_builder bld;
	struct peer_certs pc;
	struct cred *cr;
	struct child_sa *ch = NULL;
	struct child_ts ts;
	struct ike_proposal chosen;
	struct ike_notify ic;
	struct refusal no = { .part = "AUTH", .why = "" };
	struct vip_ask ask;
	uint16_t child_err = 0;
	uint8_t method = 0;
	bool replace;
	int r;

	(void)raw_plain;
	/* RFC 9370 §2.2.1: IKE_AUTH only after every additional key exchange
	 * negotiated, or it would go without them. */
	if (inter_pending(sa)) {
		ike_respond_notify(sa, IKEV2_EXCH_IKE_AUTH, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		auth_fail(sa, "IKE_AUTH before the additional key exchanges (RFC 9370)");
		return;
	}
	if (!pid || ike_get_id(pid, &idi) || !id_from_payload(&idi, &peer) ||
	    !ike_msg_find(inner, IKEV2_PL_AUTH)) {
		ike_respond_notify(sa, IKEV2_EXCH_IKE_AUTH, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		auth_fail(sa, "request lacks IDi or AUTH");
		return;
	}
	if (ike_sa_set_peer_id(sa, &peer)) {
		auth_fail(sa, "no memory for the initiator's identity");
		return;
	}
	/* §2.21.2: INVALID_SYNTAX is not among the notifies that refuse only
	 * the Child SA: a malformed TS payload fails the exchange. */
	if (ike_msg_find(inner, IKEV2_PL_SA) && child_ts_get(inner, &ts)) {
		ike_respond_notify(sa, IKEV2_EXCH_IKE_AUTH, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		auth_fail(sa, "request has TSi and TSr missing or malformed");
		return;
	}
	/* ... and so does a malformed CP payload (§3.15.1's lengths) */
	if (vip_request_get(sa, inner, &ask)) {
		ike_respond_notify(sa, IKEV2_EXCH_IKE_AUTH, msgid, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		auth_fail(sa, "request has a malformed CP payload");
		return;
	}
	memset(&idr_want, 0, sizeof(idr_want));
	if (pidr && !ike_get_id(pidr, &idr_t))
		id_from_payload(&idr_t, &idr_want);
	peer_certs_get(inner, &pc);
	cc = conn_for_id(sa, &pc, sa->peer_id, idr_want.type ? &idr_want : NULL);
	if (!cc) {
		char ids[PEER_ID_STRLEN];

		peer_certs_free(&pc);
		log_warn("%s: no connection for peer identity %s", ike_sa_name(sa),
			 peer_id_str(sa, ids));
		explain_no_conn(sa, idr_want.type ? &idr_want : NULL);
		ike_respond_notify(sa, IKEV2_EXCH_IKE_AUTH, msgid,
				   IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
		auth_fail(sa, "unknown peer identity");
		return;
	}
	sa->cfg = cc;
	cr = cred_get(sa->e, cc);
	my_id(sa, cr, &me);
	r = peer_auth_check(sa, cr, inner, &pc, &me, &no);
	peer_certs_free(&pc);
	if (r) {
		ike_respond_notify(sa, IKEV2_EXCH_IKE_AUTH, msgid,
				   IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
		auth_fail(sa, "the initiator's %s is refused: %s", no.part, no.why);
		return;
	}
	r = octets_for(sa, &sa->init->init_resp, &sa->ni, &sa->init->keys.sk_pr, &me, &oct);
	if (!r)
		r = make_auth(sa, cr, &me, sa->peer_id, &oct, &method, &au);
	buf_wipe(&oct);
	if (r) {
		ike_respond_notify(sa, IKEV2_EXCH_IKE_AUTH, msgid,
				   IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
		auth_fail(sa, "cannot compute our AUTH");
		buf_wipe(&au);
		return;
	}
	/* §2.4: the peer holds no other SA with us: the old ones go before
	 * the first Child SA, whose selectors and policies they may hold. */
	if (!ike_find_notify(inner, IKEV2_N_INITIAL_CONTACT, &ic))
		initial_contact(sa);
	if (!unique_admit(sa, &replace)) {
		ike_respond_notify(sa, IKEV2_EXCH_IKE_AUTH, msgid,
				   IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
		buf_wipe(&au);
		auth_fail(sa, "the identity's IKE SAs refuse another");
		return;
	}
	if (replace)
		unique_replace(sa, true);
	/* Virtual IPs before the first Child SA, whose remote selectors
	 * they narrow; none to give refuses that Child SA (§3.15.4). */
	child_err = vip_assign(sa, cc, &ask);
	/* The first Child SA (§1.2). */
	if (ike_msg_find(inner, IKEV2_PL_SA) && !child_err)
		child_err = auth_first_child(sa, cc, inner, &ts, &ch, &chosen);
	else if (child_err)
		sa->e->st.child_failed++;
	chain_begin(&bld, &out);
	ike_put_id(&bld, IKEV2_PL_IDR, me.type, me.data, me.len);
	if (cc->local.auth == CFG_AUTH_PUBKEY)
		put_certs(&bld, cr);
	ike_put_auth(&bld, method, au.data, au.len);
	buf_wipe(&au);
	vip_put_reply(sa, &bld);
	if (ch) {
		if (ch->mode == CFG_MODE_TRANSPORT)
			ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
		prop_put_chosen(&bld, &chosen, &ch->esp, (const uint8_t *)&ch->spi_in, 4);
		ts_set_put(&bld, IKEV2_PL_TSI, &ch->ts_remote);
		ts_set_put(&bld, IKEV2_PL_TSR, &ch->ts_local);
	} else if (child_err) {
		ike_put_notify(&bld, 0, NULL, 0, child_err, NULL, 0);
	}
	r = ike_send_response(sa, IKEV2_EXCH_IKE_AUTH, msgid, &bld);
	buf_free(&out);
	if (r) {
		if (ch)
			child_free(ch, true);
		auth_fail(sa, "cannot send the IKE_AUTH response");
		return;
	}
	if (ch) {
		child_link(ch);
		child_schedule(ch);
	}
	/* §2.21.2: an AUTHENTICATION_FAILED from the initiator can only come
	 * in its next request. */
	sa->auth_next_msgid = msgid + 1;
	ike_sa_established(sa);
	if (replace)
		unique_replace(sa, false);
	esp_probe_start(sa);
}
