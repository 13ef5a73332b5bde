// SPDX-License-Identifier: GPL-2.0
/*
 * tcpiked.conf parser.  Two passes: the text becomes a tree of sections and
 * "key = value" lines (each remembering its line), then the tree is
 * interpreted into struct config.  Any error stops the load with
 * "file:line: what was expected"; nothing is kept from a failed load.
 */
#include "config.h"
#include "crypto.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "log.h"

#define CFG_MAX_FILE	(1 << 20)
#define CFG_MAX_DEPTH	6

struct node {
	char *key;		/* section name or key */
	char *value;		/* NULL for a section */
	int line;
	bool used;
	struct node *child, *next;
};

struct ctx {
	const char *file;
	char *err;
	size_t errlen;
	int failed;
};

static int fail(struct ctx *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->failed++)
		return -1;
	n = snprintf(c->err, c->errlen, "%s:%d: ", c->file, line);
	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void node_free(struct node *n)
{
	while (n) {
		struct node *next = n->next;

		node_free(n->child);
		if (n->value) {
			OPENSSL_cleanse(n->value, strlen(n->value));
			free(n->value);
		}
		free(n->key);
		free(n);
		n = next;
	}
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static bool valid_key(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	return true;
}

/* Length of s up to the first character of stop that is not inside quotes
 * (or to the end).  *unterminated is set when a quote is left open. */
static size_t span_unquoted(const char *s, const char *stop, bool *unterminated)
{
	bool q = false;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] == '"')
			q = !q;
		else if (!q && strchr(stop, s[i]))
			break;
	}
	*unterminated = q;
	return i;
}

/* A value: trimmed, and unquoted when it is one quoted string. */
static char *make_value(struct ctx *c, int line, char *v)
{
	char *out;

	v = trim(v);
	if (v[0] == '"') {
		size_t n = strlen(v);

		if (n < 2 || v[n - 1] != '"' || memchr(v + 1, '"', n - 2)) {
			fail(c, line, "expected one quoted string, got '%s'", v);
			return NULL;
		}
		v[n - 1] = 0;
		v++;
	}
	out = strdup(v);
	if (!out)
		fail(c, line, "out of memory");
	return out;
}

/*
 * Statements: "name {", "}", "key = value".  Several may share a line
 * ("local { auth = psk }"); a value ends at the end of the line, at '#', or
 * at a '}' outside quotes.
 */
static struct node *parse_tree(struct ctx *c, char *text)
{
	struct node root = { 0 }, *stack[CFG_MAX_DEPTH + 1], **tail[CFG_MAX_DEPTH + 1];
	int depth = 0, line = 0;
	char *save = NULL, *l;

	stack[0] = &root;
	tail[0] = &root.child;
	for (l = text; l; l = save) {
		char *nl = strchr(l, '\n'), *s;
		bool open_q;
		size_t k;

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		line++;
		k = span_unquoted(l, "#", &open_q);
		if (open_q) {
			fail(c, line, "unterminated quoted string");
			goto err;
		}
		l[k] = 0;
		for (s = trim(l); *s; s = trim(s)) {
			struct node *n;
			char *key;

			if (*s == '}') {
				if (!depth) {
					fail(c, line, "'}' without an open section");
					goto err;
				}
				depth--;
				s++;
				continue;
			}
			k = span_unquoted(s, "{}=", &open_q);
			if (s[k] != '{' && s[k] != '=') {
				fail(c, line, "expected 'key = value', 'name {' or '}', got '%s'", s);
				goto err;
			}
			n = calloc(1, sizeof(*n));
			if (!n) {
				fail(c, line, "out of memory");
				goto err;
			}
			n->line = line;
			*tail[depth] = n;
			tail[depth] = &n->next;
			key = s;
			if (s[k] == '{') {
				s[k] = 0;
				s += k + 1;
				n->key = strdup(trim(key));
				if (!n->key || !valid_key(n->key)) {
					fail(c, line, "expected a section name before '{', got '%s'", trim(key));
					goto err;
				}
				if (depth == CFG_MAX_DEPTH) {
					fail(c, line, "sections nested too deeply");
					goto err;
				}
				depth++;
				stack[depth] = n;
				tail[depth] = &n->child;
				continue;
			}
			s[k] = 0;
			n->key = strdup(trim(key));
			if (!n->key || !valid_key(n->key)) {
				fail(c, line, "expected a key before '='");
				goto err;
			}
			s += k + 1;
			k = span_unquoted(s, "}", &open_q);
			{
				char saved = s[k];

				s[k] = 0;
				n->value = make_value(c, line, s);
				s[k] = saved;
			}
			if (!n->value)
				goto err;
			s += k;
		}
	}
	if (depth) {
		fail(c, stack[depth]->line, "section '%s' is not closed (expected '}')",
		     stack[depth]->key);
		goto err;
	}
	return root.child;
err:
	node_free(root.child);
	return NULL;
}

/* --- value parsers ------------------------------------------------------------- */

static int parse_bool(struct ctx *c, const struct node *n, bool *out)
{
	if (!strcmp(n->value, "yes") || !strcmp(n->value, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(n->value, "no") || !strcmp(n->value, "false")) {
		*out = false;
		return 0;
	}
	return fail(c, n->line, "%s: expected yes or no, got '%s'", n->key, n->value);
}

static int parse_u64(struct ctx *c, const struct node *n, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(n->value, &end, 10);
	if (!isdigit((unsigned char)n->value[0]) || *end || errno || v < min || v > max)
		return fail(c, n->line, "%s: expected a number from %llu to %llu, got '%s'",
			    n->key, (unsigned long long)min, (unsigned long long)max,
			    n->value);
	*out = v;
	return 0;
}

static int parse_u32(struct ctx *c, const struct node *n, uint32_t min, uint32_t max,
		     uint32_t *out)
{
	uint64_t v;

	if (parse_u64(c, n, min, max, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_u16(struct ctx *c, const struct node *n, uint16_t min, uint16_t max,
		     uint16_t *out)
{
	uint64_t v;

	if (parse_u64(c, n, min, max, &v))
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* "500ms", "20s", "1.5s", "5m", "4h", "1d"; a plain number is seconds. */
static int parse_duration_ms(struct ctx *c, const struct node *n, uint64_t *ms)
{
	char *end;
	double v, mult = 1000;

	errno = 0;
	v = strtod(n->value, &end);
	if (!isdigit((unsigned char)n->value[0]) || errno || v < 0)
		goto bad;
	if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "s") || !*end)
		mult = 1000;
	else if (!strcmp(end, "m"))
		mult = 60000;
	else if (!strcmp(end, "h"))
		mult = 3600000;
	else if (!strcmp(end, "d"))
		mult = 86400000;
	else
		goto bad;
	if (v * mult > 1e13)
		goto bad;
	*ms = (uint64_t)llround(v * mult);
	return 0;
bad:
	return fail(c, n->line, "%s: expected a duration like 500ms, 20s, 5m or 4h, got '%s'",
		    n->key, n->value);
}

static int dur_s(struct ctx *c, const struct node *n, uint32_t *s)
{
	uint64_t ms;

	if (parse_duration_ms(c, n, &ms))
		return -1;
	if (ms / 1000 > UINT32_MAX)
		return fail(c, n->line, "%s: duration too long", n->key);
	*s = (uint32_t)(ms / 1000);
	return 0;
}

static int dur_ms(struct ctx *c, const struct node *n, uint32_t *out)
{
	uint64_t ms;

	if (parse_duration_ms(c, n, &ms))
		return -1;
	if (ms > UINT32_MAX)
		return fail(c, n->line, "%s: duration too long", n->key);
	*out = (uint32_t)ms;
	return 0;
}

static int parse_addr(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

/* Splits a comma-separated list in place; returns the count or -1. */
static int split_list(char *s, char **items, int max)
{
	int n = 0;
	char *p;

	for (p = strtok(s, ","); p; p = strtok(NULL, ",")) {
		p = trim(p);
		if (!*p)
			continue;
		if (n == max)
			return -1;
		items[n++] = p;
	}
	return n;
}

static int parse_addrs(struct ctx *c, const struct node *n, struct sockaddr_storage *out,
		       int max, int *count)
{
	char *copy = strdup(n->value), *items[CFG_MAX_ADDR + 1];
	int k = copy ? split_list(copy, items, max) : -1;

	if (k < 0) {
		free(copy);
		return fail(c, n->line, "%s: at most %d addresses", n->key, max);
	}
	for (int i = 0; i < k; i++) {
		if (parse_addr(items[i], &out[i])) {
			fail(c, n->line, "%s: expected an IPv4 or IPv6 address, got '%s'",
			     n->key, items[i]);
			free(copy);
			return -1;
		}
	}
	*count = k;
	free(copy);
	return 0;
}

/* "192.168.1.0/24", "10.1.2.3", "fd00::/64", optionally "[proto/port]" or
 * "[proto/lo-hi]" with proto a number, tcp, udp, icmp or icmpv6. */
static int parse_ts(const char *s, struct ts_cfg *ts)
{
	char addr[INET6_ADDRSTRLEN + 8], *slash, *br;
	struct sockaddr_storage ss;
	unsigned long plen, bits;
	uint8_t *a;

	memset(ts, 0, sizeof(*ts));
	ts->port_hi = 65535;
	if (strlen(s) >= sizeof(addr) + 32)
		return -1;
	snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(s, "["), s);
	br = strchr(s, '[');
	if (br) {
		char proto[16];
		unsigned int lo, hi;
		const char *pp = strchr(br, '/');
		size_t pl = pp ? (size_t)(pp - br - 1) : strcspn(br + 1, "]");

		if (pl == 0 || pl >= sizeof(proto) || s[strlen(s) - 1] != ']')
			return -1;
		memcpy(proto, br + 1, pl);
		proto[pl] = 0;
		if (!strcmp(proto, "tcp"))
			ts->proto = 6;
		else if (!strcmp(proto, "udp"))
			ts->proto = 17;
		else if (!strcmp(proto, "icmp"))
			ts->proto = 1;
		else if (!strcmp(proto, "icmpv6"))
			ts->proto = 58;
		else if (strspn(proto, "0123456789") == pl && atoi(proto) < 256)
			ts->proto = (uint8_t)atoi(proto);
		else
			return -1;
		if (pp) {
			if (sscanf(pp + 1, "%u-%u]", &lo, &hi) == 2) {
				if (lo > hi || hi > 65535)
					return -1;
			} else if (sscanf(pp + 1, "%u]", &lo) == 1 && lo <= 65535) {
				hi = lo;
			} else {
				return -1;
			}
			ts->port_lo = (uint16_t)lo;
			ts->port_hi = (uint16_t)hi;
		}
	}
	slash = strchr(addr, '/');
	if (slash)
		*slash = 0;
	if (parse_addr(trim(addr), &ss))
		return -1;
	ts->family = ss.ss_family;
	bits = ts->family == AF_INET ? 32 : 128;
	a = ts->family == AF_INET ? (uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr :
				    (uint8_t *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
	plen = bits;
	if (slash) {
		char *end;

		plen = strtoul(slash + 1, &end, 10);
		if (*end || slash[1] == 0 || plen > bits)
			return -1;
	}
	for (unsigned long i = 0; i < bits / 8; i++) {
		uint8_t mask = i * 8 >= plen ? 0 :
			       (i * 8 + 8 <= plen ? 0xff : (uint8_t)(0xff << (8 - (plen - i * 8))));

		ts->start[i] = a[i] & mask;
		ts->end[i] = (uint8_t)(a[i] | ~mask);
	}
	return 0;
}

int config_parse_id(const char *s, struct id_cfg *id, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	const char *v = s;

	memset(id, 0, sizeof(*id));
	if (!parse_addr(s, &ss)) {
		if (ss.ss_family == AF_INET) {
			id->type = 1;	/* ID_IPV4_ADDR */
			id->len = 4;
			memcpy(id->data, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		} else {
			id->type = 5;	/* ID_IPV6_ADDR */
			id->len = 16;
			memcpy(id->data, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		}
		return 0;
	}
	if (!strncmp(s, "fqdn:", 5)) {
		id->type = 2;	/* ID_FQDN */
		v = s + 5;
	} else if (!strncmp(s, "email:", 6)) {
		id->type = 3;	/* ID_RFC822_ADDR */
		v = s + 6;
	} else if (!strncmp(s, "dn:", 3)) {
		/* DER encoding is done where certificates are loaded: keep the
		 * text form here, marked with the DN type. */
		id->type = 9;	/* ID_DER_ASN1_DN */
		v = s + 3;
	} else if (strchr(s, '@')) {
		id->type = 3;
	} else {
		id->type = 2;
	}
	if (!*v || strlen(v) > sizeof(id->data)) {
		snprintf(err, errlen, "expected an identity (address, fqdn:, email: or dn:), got '%s'", s);
		return -1;
	}
	id->len = (uint8_t)strlen(v);
	memcpy(id->data, v, id->len);
	return 0;
}

/* --- proposals ----------------------------------------------------------------- */

enum { T_ENCR = 1, T_PRF = 2, T_INTEG = 3, T_KE = 4, T_ESN = 5, T_INTEG_PRF = 6 };

/* strongSwan's keywords; values are IANA "IKEv2 Transform Type" IDs. */
static const struct kw {
	const char *name;
	uint8_t type;
	uint16_t id, keylen;
} keywords[] = {
	{ "aes128", T_ENCR, 12, 128 },		/* ENCR_AES_CBC */
	{ "aes192", T_ENCR, 12, 192 },
	{ "aes256", T_ENCR, 12, 256 },
	{ "aes128gcm16", T_ENCR, 20, 128 },	/* ENCR_AES_GCM_16 */
	{ "aes192gcm16", T_ENCR, 20, 192 },
	{ "aes256gcm16", T_ENCR, 20, 256 },
	{ "aes128gcm", T_ENCR, 20, 128 },
	{ "aes256gcm", T_ENCR, 20, 256 },
	{ "chacha20poly1305", T_ENCR, 28, 0 },	/* ENCR_CHACHA20_POLY1305 */
	{ "sha256", T_INTEG_PRF, 12, 5 },	/* AUTH_HMAC_SHA2_256_128 / PRF 5 */
	{ "sha384", T_INTEG_PRF, 13, 6 },
	{ "sha512", T_INTEG_PRF, 14, 7 },
	{ "prfsha256", T_PRF, 5, 0 },		/* PRF_HMAC_SHA2_256 */
	{ "prfsha384", T_PRF, 6, 0 },
	{ "prfsha512", T_PRF, 7, 0 },
	{ "modp2048", T_KE, 14, 0 },
	{ "modp3072", T_KE, 15, 0 },
	{ "modp4096", T_KE, 16, 0 },
	{ "ecp256", T_KE, 19, 0 },
	{ "ecp384", T_KE, 20, 0 },
	{ "ecp521", T_KE, 21, 0 },
	{ "x25519", T_KE, 31, 0 },
	{ "curve25519", T_KE, 31, 0 },
	{ "x448", T_KE, 32, 0 },
	{ "esn", T_ESN, 1, 0 },
	{ "noesn", T_ESN, 0, 0 },
};

static bool is_aead(uint16_t encr)
{
	return encr == 20 || encr == 28;
}

static int one_proposal(char *s, bool esp, struct proposal_cfg *p, char *err, size_t errlen)
{
	char *save = NULL, *tok;
	uint16_t integ_prf[CFG_MAX_XF];
	int n_ip = 0;

	memset(p, 0, sizeof(*p));
	for (tok = strtok_r(s, "-", &save); tok; tok = strtok_r(NULL, "-", &save)) {
		const struct kw *k = NULL;

		tok = trim(tok);
		for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
			if (!strcmp(tok, keywords[i].name))
				k = &keywords[i];
		if (!k) {
			snprintf(err, errlen, "unknown algorithm '%s' (expected e.g. aes256gcm16, aes256, chacha20poly1305, sha256, prfsha256, modp2048, ecp256, x25519, esn)", tok);
			return -1;
		}
		if ((k->type == T_ESN && !esp) || (k->type == T_PRF && esp)) {
			snprintf(err, errlen, "'%s' is not valid in %s proposals", tok, esp ? "ESP" : "IKE");
			return -1;
		}
		switch (k->type) {
		case T_ENCR:
			if (p->n_encr == CFG_MAX_XF)
				goto many;
			p->encr[p->n_encr].id = k->id;
			p->encr[p->n_encr++].keylen = k->keylen;
			break;
		case T_PRF:
			if (p->n_prf == CFG_MAX_XF)
				goto many;
			p->prf[p->n_prf++] = k->id;
			break;
		case T_INTEG_PRF:
			if (n_ip == CFG_MAX_XF)
				goto many;
			integ_prf[n_ip++] = k->keylen;	/* the PRF of the same hash */
			if (p->n_integ == CFG_MAX_XF)
				goto many;
			p->integ[p->n_integ++] = k->id;
			break;
		case T_KE:
			if (p->n_ke == CFG_MAX_XF)
				goto many;
			p->ke[p->n_ke++] = k->id;
			break;
		case T_ESN:
			if (p->n_esn == 2)
				goto many;
			p->esn[p->n_esn++] = k->id;
			break;
		}
	}
	if (!p->n_encr) {
		snprintf(err, errlen, "proposal has no encryption algorithm");
		return -1;
	}
	bool aead = is_aead(p->encr[0].id);

	for (int i = 1; i < p->n_encr; i++) {
		if (is_aead(p->encr[i].id) != aead) {
			snprintf(err, errlen, "proposal mixes AEAD and non-AEAD ciphers");
			return -1;
		}
	}
	if (aead && p->n_integ && (esp || p->n_prf)) {
		snprintf(err, errlen, "AEAD cipher with an integrity algorithm");
		return -1;
	}
	if (!esp && !p->n_prf) {
		/* As strongSwan: "sha256" names the PRF when no prfX is given. */
		for (int i = 0; i < n_ip; i++)
			p->prf[p->n_prf++] = integ_prf[i];
	}
	if (aead)
		p->n_integ = 0;
	if (!aead && !p->n_integ) {
		snprintf(err, errlen, "proposal with a non-AEAD cipher needs an integrity algorithm (e.g. sha256)");
		return -1;
	}
	if (!esp && !p->n_prf) {
		snprintf(err, errlen, "IKE proposal has no PRF (e.g. prfsha256)");
		return -1;
	}
	if (!esp && !p->n_ke) {
		snprintf(err, errlen, "IKE proposal has no key exchange method (e.g. x25519)");
		return -1;
	}
	if (esp && !p->n_esn)
		p->esn[p->n_esn++] = 0;
	return 0;
many:
	snprintf(err, errlen, "too many algorithms of one kind in a proposal (at most %d)", CFG_MAX_XF);
	return -1;
}

int config_parse_proposals(const char *s, bool esp, struct proposal_cfg *out,
			   int max, char *err, size_t errlen)
{
	char *copy = strdup(s), *items[CFG_MAX_PROP + 1];
	int n;

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = split_list(copy, items, max);
	if (n < 0)
		snprintf(err, errlen, "at most %d proposals", max);
	else if (n == 0)
		snprintf(err, errlen, "expected at least one proposal");
	for (int i = 0; n > 0 && i < n; i++)
		if (one_proposal(items[i], esp, &out[i], err, errlen))
			n = -1;
	free(copy);
	return n > 0 ? n : -1;
}

/* --- sections ------------------------------------------------------------------ */

static bool key_is(struct node *n, const char *k)
{
	if (strcmp(n->key, k))
		return false;
	n->used = true;
	return true;
}

static int need_value(struct ctx *c, struct node *n)
{
	if (!n->value)
		return fail(c, n->line, "'%s' must be a value: expected '%s = ...'", n->key, n->key);
	return 0;
}

static int need_section(struct ctx *c, struct node *n)
{
	if (n->value)
		return fail(c, n->line, "'%s' must be a section: expected '%s { ... }'", n->key, n->key);
	return 0;
}

static char *dup_value(struct ctx *c, struct node *n)
{
	char *s = strdup(n->value);

	if (!s)
		fail(c, n->line, "out of memory");
	return s;
}

static int unknown(struct ctx *c, struct node *n, const char *where, const char *expected)
{
	return fail(c, n->line, "unknown %s '%s' in %s (expected %s)",
		    n->value ? "key" : "section", n->key, where, expected);
}

static int parse_daemon(struct ctx *c, struct node *sec, struct daemon_cfg *d)
{
	for (struct node *n = sec->child; n; n = n->next) {
		int r = need_value(c, n);

		if (r)
			return r;
		if (key_is(n, "backend")) {
			if (strcmp(n->value, "auto") && strcmp(n->value, "module") &&
			    strcmp(n->value, "xfrm") && strcmp(n->value, "none"))
				return fail(c, n->line, "unknown backend '%s' (expected auto, module, xfrm or none)", n->value);
			free(d->backend);
			r = (d->backend = dup_value(c, n)) ? 0 : -1;
		} else if (key_is(n, "listen")) {
			r = parse_addrs(c, n, d->listen, CFG_MAX_ADDR, &d->n_listen);
		} else if (key_is(n, "udp_port")) {
			r = parse_u16(c, n, 1, 65535, &d->udp_port);
		} else if (key_is(n, "natt_port")) {
			r = parse_u16(c, n, 1, 65535, &d->natt_port);
		} else if (key_is(n, "tcp_ports")) {
			char *copy = strdup(n->value), *items[5];
			int k = copy ? split_list(copy, items, 4) : -1;

			if (k < 0)
				r = fail(c, n->line, "tcp_ports: at most 4 ports");
			for (int i = 0; !r && i < k; i++) {
				struct node tmp = { .key = n->key, .value = items[i], .line = n->line };

				r = parse_u16(c, &tmp, 1, 65535, &d->tcp_ports[i]);
			}
			if (!r)
				d->n_tcp_ports = k;
			free(copy);
		} else if (key_is(n, "control_socket")) {
			free(d->control_socket);
			r = (d->control_socket = dup_value(c, n)) ? 0 : -1;
		} else if (key_is(n, "log_level")) {
			d->log_level = log_level_from_name(n->value);
			if (d->log_level < 0)
				r = fail(c, n->line, "unknown log_level '%s' (expected error, warning, info or debug)", n->value);
		} else if (key_is(n, "separate_transports")) {
			r = parse_bool(c, n, &d->separate_transports);
		} else if (key_is(n, "separate_transports_notify")) {
			/* Status notify types are 16384-65535 (RFC 7296 §3.10.1). */
			r = parse_u16(c, n, 16384, 65535, &d->separate_transports_notify);
		} else if (key_is(n, "esp_transport_notify")) {
			r = parse_u16(c, n, 16384, 65535, &d->esp_transport_notify);
		} else if (key_is(n, "tcp_puzzle_difficulty")) {
			uint32_t v;

			r = parse_u32(c, n, 0, CRYPTO_PUZZLE_MAX_ZBC, &v);
			d->tcp_puzzle_difficulty = (uint8_t)v;
		} else if (key_is(n, "cookie_threshold")) {
			r = parse_u32(c, n, 0, 10000000, &d->cookie_threshold);
		} else if (key_is(n, "half_open_max")) {
			r = parse_u32(c, n, 1, 10000000, &d->half_open_max);
		} else if (key_is(n, "half_open_per_ip")) {
			r = parse_u32(c, n, 1, 10000000, &d->half_open_per_ip);
		} else if (key_is(n, "tcp_max")) {
			r = parse_u32(c, n, 1, 10000000, &d->tcp_max);
		} else if (key_is(n, "tcp_per_ip")) {
			r = parse_u32(c, n, 1, 10000000, &d->tcp_per_ip);
		} else if (key_is(n, "tcp_prefix_timeout")) {
			r = dur_ms(c, n, &d->tcp_prefix_timeout_ms);
		} else if (key_is(n, "tcp_idle_timeout")) {
			r = dur_ms(c, n, &d->tcp_idle_timeout_ms);
		} else if (key_is(n, "max_ike_message")) {
			r = parse_u32(c, n, 1280, 65529, &d->max_ike_message);
		} else if (key_is(n, "max_frag_buffers")) {
			r = parse_u32(c, n, 1, 100000, &d->max_frag_buffers);
		} else if (key_is(n, "keepalive_interval")) {
			r = dur_s(c, n, &d->keepalive_interval_s);
		} else if (key_is(n, "kex_pool")) {
			if (!strcmp(n->value, "auto"))
				d->kex_pool = CFG_KEX_POOL_AUTO;
			else if (!strcmp(n->value, "no"))
				d->kex_pool = 0;
			else if (!isdigit((unsigned char)n->value[0]) ||
				 strtoul(n->value, NULL, 10) > KEX_POOL_MAX ||
				 parse_u32(c, n, 0, KEX_POOL_MAX, &d->kex_pool))
				r = fail(c, n->line, "kex_pool: expected auto, no or a number of key pairs from 0 to %d, got '%s'",
					 KEX_POOL_MAX, n->value);
		} else {
			r = unknown(c, n, "daemon", "backend, listen, udp_port, natt_port, tcp_ports, control_socket, log_level, separate_transports, separate_transports_notify, esp_transport_notify, tcp_puzzle_difficulty, cookie_threshold, half_open_max, half_open_per_ip, tcp_max, tcp_per_ip, tcp_prefix_timeout, tcp_idle_timeout, max_ike_message, max_frag_buffers, keepalive_interval, kex_pool");
		}
		if (r)
			return r;
	}
	return 0;
}

static int parse_end(struct ctx *c, struct node *sec, struct end_cfg *e, const char *where)
{
	char msg[200];

	for (struct node *n = sec->child; n; n = n->next) {
		int r = need_value(c, n);

		if (r)
			return r;
		if (key_is(n, "auth")) {
			if (!strcmp(n->value, "psk"))
				e->auth = CFG_AUTH_PSK;
			else if (!strcmp(n->value, "pubkey"))
				e->auth = CFG_AUTH_PUBKEY;
			else
				r = fail(c, n->line, "unknown auth '%s' (expected psk or pubkey)", n->value);
		} else if (key_is(n, "id")) {
			if (config_parse_id(n->value, &e->id, msg, sizeof(msg)))
				r = fail(c, n->line, "id: %s", msg);
		} else if (key_is(n, "certs")) {
			free(e->certs);
			r = (e->certs = dup_value(c, n)) ? 0 : -1;
		} else if (key_is(n, "key")) {
			free(e->key);
			r = (e->key = dup_value(c, n)) ? 0 : -1;
		} else if (key_is(n, "cacerts")) {
			free(e->cacerts);
			r = (e->cacerts = dup_value(c, n)) ? 0 : -1;
		} else if (key_is(n, "send_certreq")) {
			r = parse_bool(c, n, &e->send_certreq);
		} else {
			r = unknown(c, n, where, "auth, id, certs, key, cacerts, send_certreq");
		}
		if (r)
			return r;
	}
	if (!e->auth)
		return fail(c, sec->line, "%s: missing 'auth = psk|pubkey'", where);
	if (e->auth == CFG_AUTH_PUBKEY && !strcmp(where, "local") && (!e->certs || !e->key))
		return fail(c, sec->line, "local: auth = pubkey needs 'certs' and 'key'");
	return 0;
}

static int parse_ts_list(struct ctx *c, struct node *n, struct ts_cfg *out, int *count)
{
	char *copy = strdup(n->value), *items[CFG_MAX_TS + 1];
	int k = copy ? split_list(copy, items, CFG_MAX_TS) : -1;

	if (k <= 0) {
		free(copy);
		return fail(c, n->line, "%s: expected 1 to %d traffic selectors", n->key, CFG_MAX_TS);
	}
	for (int i = 0; i < k; i++) {
		if (parse_ts(items[i], &out[i])) {
			fail(c, n->line, "%s: expected a subnet like 192.168.1.0/24 or fd00::/64, optionally [proto/port], got '%s'",
			     n->key, items[i]);
			free(copy);
			return -1;
		}
	}
	*count = k;
	free(copy);
	return 0;
}

static int parse_start(struct ctx *c, struct node *n, enum cfg_start *s)
{
	if (!strcmp(n->value, "none"))
		*s = CFG_START_NONE;
	else if (!strcmp(n->value, "start"))
		*s = CFG_START_START;
	else if (!strcmp(n->value, "trap"))
		*s = CFG_START_TRAP;
	else
		return fail(c, n->line, "unknown start_action '%s' (expected none, start or trap)", n->value);
	return 0;
}

static int parse_child(struct ctx *c, struct node *sec, struct child_cfg *ch)
{
	char msg[256];

	ch->rekey_time_s = 3600;
	ch->life_time_s = 3960;
	ch->replay_window = 64;
	for (struct node *n = sec->child; n; n = n->next) {
		int r = need_value(c, n);

		if (r)
			return r;
		if (key_is(n, "local_ts")) {
			r = parse_ts_list(c, n, ch->local_ts, &ch->n_local_ts);
		} else if (key_is(n, "remote_ts")) {
			r = parse_ts_list(c, n, ch->remote_ts, &ch->n_remote_ts);
		} else if (key_is(n, "mode")) {
			if (!strcmp(n->value, "tunnel"))
				ch->mode = CFG_MODE_TUNNEL;
			else if (!strcmp(n->value, "transport"))
				ch->mode = CFG_MODE_TRANSPORT;
			else
				r = fail(c, n->line, "unknown mode '%s' (expected tunnel or transport)", n->value);
		} else if (key_is(n, "esp_proposals")) {
			ch->n_esp = config_parse_proposals(n->value, true, ch->esp, CFG_MAX_PROP, msg, sizeof(msg));
			if (ch->n_esp < 0)
				r = fail(c, n->line, "esp_proposals: %s", msg);
		} else if (key_is(n, "rekey_time")) {
			r = dur_s(c, n, &ch->rekey_time_s);
		} else if (key_is(n, "life_time")) {
			r = dur_s(c, n, &ch->life_time_s);
		} else if (key_is(n, "life_bytes")) {
			r = parse_u64(c, n, 0, UINT64_MAX, &ch->life_bytes);
		} else if (key_is(n, "life_packets")) {
			r = parse_u64(c, n, 0, UINT64_MAX, &ch->life_packets);
		} else if (key_is(n, "replay_window")) {
			r = parse_u32(c, n, 0, 4096, &ch->replay_window);
		} else if (key_is(n, "start_action")) {
			r = parse_start(c, n, &ch->start_action);
		} else {
			r = unknown(c, n, "child", "local_ts, remote_ts, mode, esp_proposals, rekey_time, life_time, life_bytes, life_packets, replay_window, start_action");
		}
		if (r)
			return r;
	}
	if (!ch->n_local_ts || !ch->n_remote_ts)
		return fail(c, sec->line, "child '%s': local_ts and remote_ts are required", ch->name);
	if (!ch->n_esp)
		ch->n_esp = config_parse_proposals("aes256gcm16, aes128gcm16", true, ch->esp,
						   CFG_MAX_PROP, msg, sizeof(msg));
	if (ch->life_time_s && ch->rekey_time_s >= ch->life_time_s)
		return fail(c, sec->line, "child '%s': rekey_time must be shorter than life_time", ch->name);
	return 0;
}

static void child_free(struct child_cfg *ch)
{
	while (ch) {
		struct child_cfg *next = ch->next;

		free(ch->name);
		free(ch);
		ch = next;
	}
}

static int parse_transport(struct ctx *c, struct node *n, enum cfg_transport *t)
{
	static const char *const names[] = { "udp", "tcp", "auto", "separate", "separate-tcp-first" };

	for (unsigned int i = 0; i < 5; i++) {
		if (!strcmp(n->value, names[i])) {
			*t = (enum cfg_transport)i;
			return 0;
		}
	}
	return fail(c, n->line, "unknown transport '%s' (expected udp, tcp, auto, separate, separate-tcp-first)", n->value);
}

const char *cfg_transport_name(enum cfg_transport t)
{
	static const char *const names[] = { "udp", "tcp", "auto", "separate", "separate-tcp-first" };

	return (unsigned int)t < 5 ? names[t] : "?";
}

static int parse_conn(struct ctx *c, struct node *sec, struct conn_cfg *cc)
{
	char msg[256];
	struct child_cfg **tail = &cc->children;

	cc->local_port = 500;
	cc->remote_port = 500;
	cc->tcp_port = 4500;
	cc->tcp_fallback_delay_ms = 1500;	/* TCP-15: the UDP IKE_SA_INIT is retransmitted once first */
	cc->tcp_connect_timeout_ms = 3000;
	cc->udp_retry_without_separate = true;
	cc->esp_probe = true;
	/* RT-27: the UDP probe follows "after a short delay" (RFC 8305's
	 * spirit; an ESP round trip over a long path fits in it). */
	cc->esp_probe_delay_ms = 500;
	cc->esp_probe_timeout_ms = 5000;
	cc->fragmentation = CFG_FRAG_YES;
	cc->fragment_size = 1280;
	cc->initial_contact = true;
	cc->dpd_delay_s = 30;
	cc->dpd_timeout_s = 150;
	cc->rekey_time_s = 14400;
	cc->retransmit_base_ms = 1000;
	cc->retransmit_factor = 2.0;
	cc->retransmit_tries = 5;
	cc->keepalive_interval_s = 0;	/* 0: the daemon's keepalive_interval */
	for (struct node *n = sec->child; n; n = n->next) {
		int r = 0;

		if (!n->value) {
			if (key_is(n, "local")) {
				r = parse_end(c, n, &cc->local, "local");
			} else if (key_is(n, "remote")) {
				r = parse_end(c, n, &cc->remote, "remote");
			} else if (key_is(n, "children")) {
				for (struct node *k = n->child; k && !r; k = k->next) {
					struct child_cfg *ch;

					if ((r = need_section(c, k)))
						break;
					k->used = true;
					ch = calloc(1, sizeof(*ch));
					if (!ch || !(ch->name = strdup(k->key))) {
						free(ch);
						r = fail(c, k->line, "out of memory");
						break;
					}
					ch->line = k->line;
					*tail = ch;
					tail = &ch->next;
					r = parse_child(c, k, ch);
				}
			} else {
				r = unknown(c, n, "connection", "local, remote, children");
			}
		} else if (key_is(n, "local_addrs")) {
			r = parse_addrs(c, n, cc->local_addrs, CFG_MAX_ADDR, &cc->n_local);
		} else if (key_is(n, "remote_addrs")) {
			r = parse_addrs(c, n, cc->remote_addrs, CFG_MAX_ADDR, &cc->n_remote);
		} else if (key_is(n, "local_port")) {
			r = parse_u16(c, n, 1, 65535, &cc->local_port);
		} else if (key_is(n, "remote_port")) {
			r = parse_u16(c, n, 1, 65535, &cc->remote_port);
		} else if (key_is(n, "transport")) {
			r = parse_transport(c, n, &cc->transport);
		} else if (key_is(n, "tcp_port")) {
			r = parse_u16(c, n, 1, 65535, &cc->tcp_port);
		} else if (key_is(n, "tcp_fallback_delay")) {
			r = dur_ms(c, n, &cc->tcp_fallback_delay_ms);
		} else if (key_is(n, "tcp_connect_timeout")) {
			r = dur_ms(c, n, &cc->tcp_connect_timeout_ms);
		} else if (key_is(n, "udp_retry_without_separate")) {
			r = parse_bool(c, n, &cc->udp_retry_without_separate);
		} else if (key_is(n, "esp_probe")) {
			r = parse_bool(c, n, &cc->esp_probe);
		} else if (key_is(n, "esp_probe_delay")) {
			r = dur_ms(c, n, &cc->esp_probe_delay_ms);
		} else if (key_is(n, "esp_probe_timeout")) {
			r = dur_ms(c, n, &cc->esp_probe_timeout_ms);
			if (!r && cc->esp_probe_timeout_ms < 200)
				r = fail(c, n->line, "esp_probe_timeout must be at least 200ms");
		} else if (key_is(n, "proposals")) {
			cc->n_ike = config_parse_proposals(n->value, false, cc->ike, CFG_MAX_PROP, msg, sizeof(msg));
			if (cc->n_ike < 0)
				r = fail(c, n->line, "proposals: %s", msg);
		} else if (key_is(n, "fragmentation")) {
			if (!strcmp(n->value, "force")) {
				cc->fragmentation = CFG_FRAG_FORCE;
			} else {
				bool b = false;

				r = parse_bool(c, n, &b);
				cc->fragmentation = b ? CFG_FRAG_YES : CFG_FRAG_NO;
			}
		} else if (key_is(n, "fragment_size")) {
			r = parse_u16(c, n, 576, 65535, &cc->fragment_size);
		} else if (key_is(n, "encap")) {
			r = parse_bool(c, n, &cc->encap);
		} else if (key_is(n, "assume_no_nat")) {
			r = parse_bool(c, n, &cc->assume_no_nat);
		} else if (key_is(n, "initial_contact")) {
			r = parse_bool(c, n, &cc->initial_contact);
		} else if (key_is(n, "dpd_delay")) {
			r = dur_s(c, n, &cc->dpd_delay_s);
		} else if (key_is(n, "dpd_timeout")) {
			r = dur_s(c, n, &cc->dpd_timeout_s);
		} else if (key_is(n, "rekey_time")) {
			r = dur_s(c, n, &cc->rekey_time_s);
		} else if (key_is(n, "retransmit_base")) {
			r = dur_ms(c, n, &cc->retransmit_base_ms);
			if (!r && !cc->retransmit_base_ms)
				r = fail(c, n->line, "retransmit_base: must be above zero");
		} else if (key_is(n, "retransmit_factor")) {
			char *end;

			cc->retransmit_factor = strtod(n->value, &end);
			if (*end || !(cc->retransmit_factor >= 1.0 && cc->retransmit_factor <= 10.0))
				r = fail(c, n->line, "retransmit_factor: expected a number from 1.0 to 10.0, got '%s'", n->value);
		} else if (key_is(n, "retransmit_tries")) {
			r = parse_u32(c, n, 0, 100, &cc->retransmit_tries);
		} else if (key_is(n, "keepalive_interval")) {
			r = dur_s(c, n, &cc->keepalive_interval_s);
		} else if (key_is(n, "start_action")) {
			r = parse_start(c, n, &cc->start_action);
		} else {
			r = unknown(c, n, "connection", "local_addrs, remote_addrs, local_port, remote_port, transport, tcp_port, tcp_fallback_delay, tcp_connect_timeout, udp_retry_without_separate, esp_probe, esp_probe_delay, esp_probe_timeout, proposals, fragmentation, fragment_size, encap, assume_no_nat, initial_contact, dpd_delay, dpd_timeout, rekey_time, retransmit_base, retransmit_factor, retransmit_tries, keepalive_interval, start_action, local, remote, children");
		}
		if (r)
			return r;
	}
	if (!cc->n_remote)
		return fail(c, sec->line, "connection '%s': remote_addrs is required", cc->name);
	if (!cc->local.auth || !cc->remote.auth)
		return fail(c, sec->line, "connection '%s': needs 'local { auth = ... }' and 'remote { auth = ... }'", cc->name);
	if (!cc->n_ike)
		cc->n_ike = config_parse_proposals("aes256gcm16-prfsha256-x25519-ecp256-modp2048", false,
						   cc->ike, CFG_MAX_PROP, msg, sizeof(msg));
	return 0;
}

static void conn_free(struct conn_cfg *cc)
{
	while (cc) {
		struct conn_cfg *next = cc->next;

		child_free(cc->children);
		free(cc->local.certs);
		free(cc->local.key);
		free(cc->local.cacerts);
		free(cc->remote.certs);
		free(cc->remote.key);
		free(cc->remote.cacerts);
		free(cc->name);
		free(cc);
		cc = next;
	}
}

static void secret_free(struct secret_cfg *s)
{
	while (s) {
		struct secret_cfg *next = s->next;

		if (s->secret) {
			OPENSSL_cleanse(s->secret, s->secret_len);
			free(s->secret);
		}
		free(s->name);
		free(s);
		s = next;
	}
}

/* A secret file must not be readable by group or others. */
static int read_secret_file(struct ctx *c, struct node *n, struct secret_cfg *s)
{
	struct stat st;
	char tmp[1024];
	ssize_t len;
	int fd = open(n->value, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fail(c, n->line, "secret_file: cannot open '%s': %s", n->value, strerror(errno));
	if (fstat(fd, &st) || (st.st_mode & 077)) {
		close(fd);
		return fail(c, n->line, "secret_file: '%s' is accessible by group or others (mode %03o): chmod 600 it",
			    n->value, (unsigned int)(st.st_mode & 0777));
	}
	len = read(fd, tmp, sizeof(tmp));
	close(fd);
	if (len <= 0 || (size_t)len == sizeof(tmp)) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		return fail(c, n->line, "secret_file: '%s' must hold 1 to 1023 bytes", n->value);
	}
	while (len && (tmp[len - 1] == '\n' || tmp[len - 1] == '\r'))
		len--;
	s->secret = malloc((size_t)len + 1);
	if (s->secret) {
		memcpy(s->secret, tmp, (size_t)len);
		s->secret_len = (size_t)len;
	}
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return s->secret ? 0 : fail(c, n->line, "out of memory");
}

static int parse_secret(struct ctx *c, struct node *sec, struct secret_cfg *s)
{
	char msg[200];

	for (struct node *n = sec->child; n; n = n->next) {
		int r = need_value(c, n);

		if (r)
			return r;
		if (!strncmp(n->key, "id", 2) && (n->key[2] == 0 || isdigit((unsigned char)n->key[2]) ||
						  n->key[2] == '-')) {
			n->used = true;
			if (s->n_ids == 4)
				return fail(c, n->line, "at most 4 ids in a secret");
			if (config_parse_id(n->value, &s->ids[s->n_ids++], msg, sizeof(msg)))
				return fail(c, n->line, "%s: %s", n->key, msg);
		} else if (key_is(n, "secret")) {
			if (s->secret || !*n->value)
				return fail(c, n->line, "secret: expected one non-empty secret");
			s->secret_len = strlen(n->value);
			s->secret = (uint8_t *)strdup(n->value);
			s->line = n->line;
			if (!s->secret)
				return fail(c, n->line, "out of memory");
		} else if (key_is(n, "secret_file")) {
			if (s->secret)
				return fail(c, n->line, "secret: expected one non-empty secret");
			if (read_secret_file(c, n, s))
				return -1;
		} else {
			return unknown(c, n, "secret", "id, id1, id2, ..., secret, secret_file");
		}
	}
	if (!s->secret)
		return fail(c, sec->line, "secret '%s': missing 'secret' or 'secret_file'", s->name);
	if (!s->n_ids)
		return fail(c, sec->line, "secret '%s': needs at least one 'id'", s->name);
	return 0;
}

static void daemon_defaults(struct daemon_cfg *d)
{
	d->udp_port = 500;
	d->natt_port = 4500;
	d->tcp_ports[0] = 4500;
	d->n_tcp_ports = 1;
	d->log_level = LOG_LVL_INFO;
	/* draft-ietf-ipsecme-ikev2-reliable-transport has no IANA number yet:
	 * private-use status range, clear of libreswan's 40960 and strongSwan's
	 * 40961-40969 and 40501. */
	d->separate_transports_notify = 49152;
	/* tcpike's own: asks the peer to move the Child SAs' ESP between IP
	 * and UDP 4500 while probing (RT-27); same private-use block. */
	d->esp_transport_notify = 49153;
	d->separate_transports = true;
	d->cookie_threshold = 50;
	/* RFC 8019 §7.1.1.1: a fixed, modest level (4 * 2^8 HMACs on
	 * average for the initiator); 0 lets it choose. */
	d->tcp_puzzle_difficulty = 8;
	d->half_open_max = 5000;
	d->half_open_per_ip = 100;
	d->tcp_max = 10000;
	d->tcp_per_ip = 50;
	d->tcp_prefix_timeout_ms = 5000;
	d->tcp_idle_timeout_ms = 30000;
	d->max_ike_message = 65000;
	d->max_frag_buffers = 64;
	d->keepalive_interval_s = 20;
	d->kex_pool = CFG_KEX_POOL_AUTO;
}

int config_parse(const char *name, const char *text, size_t len,
		 struct config **out, char *err, size_t errlen)
{
	struct ctx c = { .file = name, .err = err, .errlen = errlen };
	struct conn_cfg **ctail;
	struct secret_cfg **stail;
	struct config *cfg;
	struct node *tree;
	char *copy;

	*out = NULL;
	if (errlen)
		err[0] = 0;
	if (memchr(text, 0, len))
		return fail(&c, 1, "file contains a NUL byte");
	copy = malloc(len + 1);
	cfg = calloc(1, sizeof(*cfg));
	if (!copy || !cfg) {
		free(copy);
		free(cfg);
		return fail(&c, 0, "out of memory");
	}
	memcpy(copy, text, len);
	copy[len] = 0;
	tree = parse_tree(&c, copy);
	OPENSSL_cleanse(copy, len);
	free(copy);
	if (c.failed) {
		free(cfg);
		return -1;
	}
	daemon_defaults(&cfg->daemon);
	cfg->path = strdup(name);
	ctail = &cfg->conns;
	stail = &cfg->secrets;
	for (struct node *n = tree; n && !c.failed; n = n->next) {
		if (need_section(&c, n))
			break;
		if (key_is(n, "daemon")) {
			parse_daemon(&c, n, &cfg->daemon);
		} else if (key_is(n, "connections")) {
			for (struct node *k = n->child; k && !c.failed; k = k->next) {
				struct conn_cfg *cc;

				if (need_section(&c, k))
					break;
				if (config_conn(cfg, k->key)) {
					fail(&c, k->line, "connection '%s' defined twice", k->key);
					break;
				}
				cc = calloc(1, sizeof(*cc));
				if (!cc || !(cc->name = strdup(k->key))) {
					free(cc);
					fail(&c, k->line, "out of memory");
					break;
				}
				cc->line = k->line;
				*ctail = cc;
				ctail = &cc->next;
				parse_conn(&c, k, cc);
			}
		} else if (key_is(n, "secrets")) {
			for (struct node *k = n->child; k && !c.failed; k = k->next) {
				struct secret_cfg *s;

				if (need_section(&c, k))
					break;
				s = calloc(1, sizeof(*s));
				if (!s || !(s->name = strdup(k->key))) {
					free(s);
					fail(&c, k->line, "out of memory");
					break;
				}
				*stail = s;
				stail = &s->next;
				parse_secret(&c, k, s);
			}
		} else {
			unknown(&c, n, "the file", "daemon, connections, secrets");
		}
	}
	node_free(tree);
	if (c.failed) {
		config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char *text;
	size_t n;
	int r;

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	text = malloc(CFG_MAX_FILE + 1);
	if (!text) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (fstat(fileno(f), &st))
		st.st_mode = 0;
	n = fread(text, 1, CFG_MAX_FILE + 1, f);
	fclose(f);
	if (n > CFG_MAX_FILE) {
		free(text);
		snprintf(err, errlen, "%s: larger than %d bytes", path, CFG_MAX_FILE);
		return -1;
	}
	r = config_parse(path, text, n, out, err, errlen);
	OPENSSL_cleanse(text, n);
	free(text);
	/* A file holding a PSK inline is a secret file (as secret_file). */
	for (const struct secret_cfg *s = r ? NULL : (*out)->secrets; s; s = s->next) {
		if (s->line && (st.st_mode & 077)) {
			snprintf(err, errlen,
				 "%s:%d: secret '%s' is in a file accessible by group or others (mode %03o): chmod 600 it, or move the secret to a secret_file",
				 path, s->line, s->name, (unsigned int)(st.st_mode & 0777));
			config_free(*out);
			*out = NULL;
			return -1;
		}
	}
	return r;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	conn_free(c->conns);
	secret_free(c->secrets);
	free(c->daemon.backend);
	free(c->daemon.control_socket);
	free(c->path);
	free(c);
}

const struct conn_cfg *config_conn(const struct config *c, const char *name)
{
	for (const struct conn_cfg *cc = c->conns; cc; cc = cc->next)
		if (!strcmp(cc->name, name))
			return cc;
	return NULL;
}

static bool id_eq(const struct id_cfg *a, const struct id_cfg *b)
{
	return a->type == b->type && a->len == b->len && !memcmp(a->data, b->data, a->len);
}

const struct secret_cfg *config_secret(const struct config *c,
				       const struct id_cfg *a,
				       const struct id_cfg *b)
{
	const struct secret_cfg *best = NULL;

	for (const struct secret_cfg *s = c->secrets; s; s = s->next) {
		bool ha = false, hb = false;

		for (int i = 0; i < s->n_ids; i++) {
			ha |= a && id_eq(&s->ids[i], a);
			hb |= b && id_eq(&s->ids[i], b);
		}
		if (ha && hb)
			return s;	/* both identities match: best */
		if ((ha || hb) && !best)
			best = s;
	}
	return best;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool end_eq(const struct end_cfg *a, const struct end_cfg *b)
{
	return a->auth == b->auth && id_eq(&a->id, &b->id) && str_eq(a->certs, b->certs) &&
	       str_eq(a->key, b->key) && str_eq(a->cacerts, b->cacerts) &&
	       a->send_certreq == b->send_certreq;
}

static bool child_eq(const struct child_cfg *a, const struct child_cfg *b)
{
	return !strcmp(a->name, b->name) &&
	       a->n_local_ts == b->n_local_ts && a->n_remote_ts == b->n_remote_ts &&
	       !memcmp(a->local_ts, b->local_ts, sizeof(a->local_ts)) &&
	       !memcmp(a->remote_ts, b->remote_ts, sizeof(a->remote_ts)) &&
	       a->mode == b->mode && a->n_esp == b->n_esp &&
	       !memcmp(a->esp, b->esp, sizeof(a->esp)) &&
	       a->rekey_time_s == b->rekey_time_s && a->life_time_s == b->life_time_s &&
	       a->life_bytes == b->life_bytes && a->life_packets == b->life_packets &&
	       a->replay_window == b->replay_window && a->start_action == b->start_action;
}

bool conn_cfg_equal(const struct conn_cfg *a, const struct conn_cfg *b)
{
	const struct child_cfg *x, *y;

	if (strcmp(a->name, b->name) || a->n_local != b->n_local || a->n_remote != b->n_remote ||
	    memcmp(a->local_addrs, b->local_addrs, sizeof(a->local_addrs)) ||
	    memcmp(a->remote_addrs, b->remote_addrs, sizeof(a->remote_addrs)) ||
	    a->local_port != b->local_port || a->remote_port != b->remote_port ||
	    a->transport != b->transport || a->tcp_port != b->tcp_port ||
	    a->tcp_fallback_delay_ms != b->tcp_fallback_delay_ms ||
	    a->tcp_connect_timeout_ms != b->tcp_connect_timeout_ms ||
	    a->udp_retry_without_separate != b->udp_retry_without_separate ||
	    a->esp_probe != b->esp_probe || a->esp_probe_delay_ms != b->esp_probe_delay_ms ||
	    a->esp_probe_timeout_ms != b->esp_probe_timeout_ms ||
	    a->n_ike != b->n_ike || memcmp(a->ike, b->ike, sizeof(a->ike)) ||
	    a->fragmentation != b->fragmentation || a->fragment_size != b->fragment_size ||
	    a->encap != b->encap || a->assume_no_nat != b->assume_no_nat ||
	    a->initial_contact != b->initial_contact || a->dpd_delay_s != b->dpd_delay_s ||
	    a->dpd_timeout_s != b->dpd_timeout_s || a->rekey_time_s != b->rekey_time_s ||
	    a->retransmit_base_ms != b->retransmit_base_ms ||
	    a->retransmit_factor != b->retransmit_factor ||
	    a->retransmit_tries != b->retransmit_tries ||
	    a->keepalive_interval_s != b->keepalive_interval_s ||
	    a->start_action != b->start_action ||
	    !end_eq(&a->local, &b->local) || !end_eq(&a->remote, &b->remote))
		return false;
	for (x = a->children, y = b->children; x && y; x = x->next, y = y->next)
		if (!child_eq(x, y))
			return false;
	return !x && !y;
}
