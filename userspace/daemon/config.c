// SPDX-License-Identifier: GPL-2.0
/*
 * tcpiked.conf parser.  Two passes: the text becomes a tree of sections and
 * "key = value" lines (each remembering its line), then the tree is
 * interpreted into struct config.  Any error stops the load with
 * "file:line: what was expected"; nothing is kept from a failed load.
 */
#define LOG_SUBSYS LOG_SUB_CFG

#include "addr.h"
#include "config.h"
#include "crypto.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "file.h"
#include "htab.h"
#include "log.h"
#include "payload.h"
#include "wire.h"

#define CFG_MAX_FILE	(1 << 20)
#define CFG_MAX_DEPTH	6

struct node {
	char *key;		/* section name or key */
	char *value;		/* NULL for a section */
	int line;
	struct node *child, *next;
};

struct ctx {
	const char *file;
	char *err;
	size_t errlen;
	int failed;
	char *warnings;		/* "file:line: text\n" lines, or NULL */
	size_t warn_len;
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

static void warn(struct ctx *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A warning: the load goes on; the daemon logs it, -t and reload print it. */
static void warn(struct ctx *c, int line, const char *fmt, ...)
{
	char msg[512];
	size_t n;
	char *w;
	va_list ap;

	n = (size_t)snprintf(msg, sizeof(msg), "%s:%d: ", c->file, line);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	n = strlen(msg);
	w = realloc(c->warnings, c->warn_len + n + 2);
	if (!w)
		return;
	memcpy(w + c->warn_len, msg, n);
	w[c->warn_len + n] = '\n';
	w[c->warn_len + n + 1] = 0;
	c->warnings = w;
	c->warn_len += n + 1;
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

/* Whether s starts with a decimal number ("12", "1.5"); *end after it. */
static bool decimal(const char *s, char **end)
{
	size_t i = strspn(s, "0123456789");

	if (!i)
		return false;
	if (s[i] == '.') {
		size_t f = strspn(s + i + 1, "0123456789");

		if (!f)
			return false;
		i += 1 + f;
	}
	*end = (char *)s + i;
	return true;
}

/*
 * "500ms", "20s", "1.5s", "5m", "4h", "1d"; a plain number is seconds.
 * Decimal digits, one optional fraction, a unit: no hex, no exponent.
 * Exact (no floating point): a part of a millisecond is rounded up, and
 * *part says so (0.0001s must not become 0, which turns a timer off).
 */
static int parse_duration_ms(struct ctx *c, const struct node *n, uint64_t *ms, bool *part)
{
	static const struct { const char *unit; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	const char *p = n->value;
	size_t i = strspn(p, "0123456789");
	uint64_t whole = 0, frac = 0, scale = 1, mult = 0;
	char *end;

	if (!decimal(p, &end) || i > 13)
		goto bad;
	for (size_t j = 0; j < i; j++)
		whole = whole * 10 + (uint64_t)(p[j] - '0');
	*part = false;
	/* the fraction: nine digits are exact below 1 ms for every unit;
	 * any further non-zero digit is a part of a millisecond */
	for (const char *d = p + i + 1; d < end; d++) {
		if (d - (p + i + 1) < 9) {
			frac = frac * 10 + (uint64_t)(*d - '0');
			scale *= 10;
		} else {
			*part |= *d != '0';
		}
	}
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++)
		if (!strcmp(end, units[u].unit))
			mult = units[u].ms;
	if (!mult || whole > 10000000000000ULL / mult)
		goto bad;
	*part |= frac * mult % scale != 0;
	*ms = whole * mult + frac * mult / scale + *part;
	return 0;
bad:
	return fail(c, n->line, "%s: expected a duration like 500ms, 20s, 5m or 4h, got '%s'",
		    n->key, n->value);
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
		if (addr_parse(items[i], &out[i])) {
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

/* Keeps the first plen bits of the address bytes a (len bytes); true when
 * the bits after them were zero already. */
static bool mask_bits(uint8_t *a, size_t len, unsigned int plen)
{
	bool clean = true;

	for (size_t i = 0; i < len; i++) {
		uint8_t mask = i * 8 >= plen ? 0 :
			       (i * 8 + 8 <= plen ? 0xff : (uint8_t)(0xff << (8 - (plen - i * 8))));

		clean &= !(a[i] & ~mask);
		a[i] &= mask;
	}
	return clean;
}

/* An address with its prefix length: "10.0.0.0/8", "fd00::1" (a full
 * length); NULL, or what is wrong with s. */
static const char *parse_prefix(const char *s, struct sockaddr_storage *ss, unsigned int *plen)
{
	char a[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned long bits, l;
	uint8_t *p;

	if (strlen(s) >= sizeof(a))
		return "expected an address or a prefix";
	snprintf(a, sizeof(a), "%s", s);
	slash = strchr(a, '/');
	if (slash)
		*slash = 0;
	if (addr_parse(trim(a), ss))
		return "expected an address or a prefix";
	bits = ss->ss_family == AF_INET ? 32 : 128;
	l = bits;
	if (slash) {
		l = strtoul(slash + 1, &end, 10);
		if (*end || !isdigit((unsigned char)slash[1]) || l > bits)
			return "expected a prefix length after '/' of at most 32 (IPv4) or 128 (IPv6)";
	}
	p = ss->ss_family == AF_INET ? (uint8_t *)&((struct sockaddr_in *)ss)->sin_addr :
				       (uint8_t *)&((struct sockaddr_in6 *)ss)->sin6_addr;
	if (!mask_bits(p, bits / 8, (unsigned int)l))
		return "host bits are set after the prefix length";
	*plen = (unsigned int)l;
	return NULL;
}

/* The bits a and b (len bytes) share from the start. */
static unsigned int common_bits(const uint8_t *a, const uint8_t *b, size_t len)
{
	unsigned int n = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t x = a[i] ^ b[i];

		if (x) {
			while (!(x & 0x80)) {
				x <<= 1;
				n++;
			}
			return n;
		}
		n += 8;
	}
	return n;
}

/* A DNS name (RFC 1123): labels of letters, digits and inner hyphens,
 * one letter at least (so that 10.0.0.256 is a bad address, no name). */
static bool is_host(const char *s)
{
	size_t len = strlen(s), label = 0;
	bool letter = false;

	if (!len || len >= CFG_HOST_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(ch) && (ch != '-' || !label))
			return false;
		letter |= isalpha(ch) != 0;
		if (++label > 63)
			return false;
	}
	return letter && s[len - 1] != '-';
}

/* FIRST-LAST, two addresses of one family, the lower first. */
static int parse_range(struct ctx *c, const struct node *n, char *item, struct cfg_peer *p)
{
	char *dash = strchr(item, '-');
	const uint8_t *a, *b;
	size_t la, lb;

	*dash = 0;
	if (addr_parse(trim(item), &p->addr) || addr_parse(trim(dash + 1), &p->last)) {
		*dash = '-';
		return fail(c, n->line, "%s: expected a range of two addresses like 10.1.0.5-10.1.0.50, got '%s'",
			    n->key, item);
	}
	*dash = '-';
	la = addr_bytes(&p->addr, &a);
	lb = addr_bytes(&p->last, &b);
	if (la != lb)
		return fail(c, n->line, "%s: a range's two ends are addresses of one family, got '%s'",
			    n->key, item);
	if (memcmp(a, b, la) > 0)
		return fail(c, n->line, "%s: a range goes from the lower address to the higher, got '%s'",
			    n->key, item);
	p->plen = (uint8_t)common_bits(a, b, la);
	p->range = p->plen < la * 8;
	return 0;
}

/* remote_addrs: addresses, prefixes, ranges and %any (struct cfg_peer). */
static int parse_peers(struct ctx *c, const struct node *n, struct cfg_peer *out,
		       int max, int *count)
{
	char *copy = strdup(n->value), *items[CFG_MAX_ADDR + 1];
	int k = copy ? split_list(copy, items, max) : -1;

	if (k < 0) {
		free(copy);
		return fail(c, n->line, "%s: at most %d addresses, prefixes or %%any", n->key, max);
	}
	for (int i = 0; i < k; i++) {
		const char *why = NULL;
		unsigned int plen;

		if (!strcmp(items[i], "%any")) {
			out[i].addr.ss_family = AF_UNSPEC;
			out[i].plen = 0;
			continue;
		}
		if (is_host(items[i])) {
			for (int j = 0; j < i; j++)
				if (out[j].host[0]) {
					fail(c, n->line, "%s: at most one DNS name, got '%s' after '%s'",
					     n->key, items[i], out[j].host);
					free(copy);
					return -1;
				}
			snprintf(out[i].host, sizeof(out[i].host), "%s", items[i]);
			continue;
		}
		if (!strchr(items[i], '/') && !strchr(items[i], '-') &&
		    addr_parse(items[i], &out[i].addr)) {
			fail(c, n->line, "%s: expected an address, a prefix, a range, %%any or a DNS name (like 10.0.0.2, 10.0.0.0/8, 10.1.0.5-10.1.0.50, %%any or gw.example.com), got '%s'",
			     n->key, items[i]);
			free(copy);
			return -1;
		}
		if (strchr(items[i], '-')) {
			if (parse_range(c, n, items[i], &out[i])) {
				free(copy);
				return -1;
			}
			continue;
		}
		why = parse_prefix(items[i], &out[i].addr, &plen);
		if (why) {
			fail(c, n->line, "%s: %s (like 10.0.0.2, 10.0.0.0/8, 2001:db8::/32 or %%any), got '%s'",
			     n->key, why, items[i]);
			free(copy);
			return -1;
		}
		out[i].plen = (uint8_t)plen;
	}
	*count = k;
	free(copy);
	return 0;
}

static unsigned int peer_bits(const struct cfg_peer *p)
{
	return p->addr.ss_family == AF_INET ? 32 : p->addr.ss_family == AF_INET6 ? 128 : 0;
}

static bool peer_is_addr(const struct cfg_peer *p)
{
	return p->addr.ss_family != AF_UNSPEC && p->plen == peer_bits(p) && !p->range;
}

const char *config_peer_str(const struct cfg_peer *p, char *out, size_t len)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	if (p->host[0])
		snprintf(out, len, "%s", p->host);
	else if (p->addr.ss_family == AF_UNSPEC)
		snprintf(out, len, "%%any");
	else if (peer_is_addr(p))
		snprintf(out, len, "%s", addr_str(&p->addr, a, sizeof(a)));
	else if (p->range)
		snprintf(out, len, "%s-%s", addr_str(&p->addr, a, sizeof(a)),
			 addr_str(&p->last, b, sizeof(b)));
	else
		snprintf(out, len, "%s/%u", addr_str(&p->addr, a, sizeof(a)), p->plen);
	return out;
}

int cfg_remote_match(const struct conn_cfg *cc, const struct sockaddr_storage *a)
{
	const uint8_t *pa, *pp;
	size_t len = addr_bytes(a, &pa);
	int best = -1;

	for (int i = 0; i < cc->n_remote; i++) {
		const struct cfg_peer *p = &cc->remote_addrs[i];
		uint8_t m[16];

		if (p->host[0])
			continue;	/* dns.c: the addresses last resolved */
		if (p->addr.ss_family == AF_UNSPEC) {
			best = best < 0 ? 0 : best;
			continue;
		}
		if (p->addr.ss_family != a->ss_family || !len || addr_bytes(&p->addr, &pp) != len)
			continue;
		if (p->range) {
			const uint8_t *pl;

			addr_bytes(&p->last, &pl);
			if (memcmp(pa, pp, len) >= 0 && memcmp(pa, pl, len) <= 0 &&
			    (int)p->plen > best)
				best = p->plen;
			continue;
		}
		memcpy(m, pa, len);
		mask_bits(m, len, p->plen);
		if (!memcmp(m, pp, len) && (int)p->plen > best)
			best = p->plen;
	}
	return best;
}

const struct sockaddr_storage *cfg_remote_addr(const struct conn_cfg *cc)
{
	for (int i = 0; i < cc->n_remote; i++)
		if (peer_is_addr(&cc->remote_addrs[i]))
			return &cc->remote_addrs[i].addr;
	return NULL;
}

const char *cfg_remote_host(const struct conn_cfg *cc)
{
	for (int i = 0; i < cc->n_remote; i++)
		if (cc->remote_addrs[i].host[0])
			return cc->remote_addrs[i].host;
	return NULL;
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
	if (addr_parse(trim(addr), &ss))
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

/* Every ',' or '/' separated part is ATTR=VALUE, ATTR letters (a DN as
 * strongSwan writes them, which exch_auth.c's dn_to_der takes). */
static bool looks_like_dn(const char *s)
{
	int parts = 0;

	while (*s) {
		const char *a;

		while (*s == ' ' || *s == ',' || *s == '/')
			s++;
		if (!*s)
			break;
		for (a = s; isalpha((unsigned char)*s); s++)
			;
		if (s == a || *s != '=' || !s[1] || s[1] == ',' || s[1] == '/')
			return false;
		while (*s && *s != ',' && *s != '/')
			s++;
		parts++;
	}
	return parts > 0;
}

static bool wild_head(const char *v, size_t len, char c);

/*
 * strongSwan's wildcards: an FQDN *.domain, an email *@domain, a DN whose
 * RDN values are * or *.suffix; a '*' nowhere else.
 */
static bool wild_ok(uint8_t type, const char *v)
{
	if (type == 2)
		return wild_head(v, strlen(v), '.') && strlen(v) > 1 && !strchr(v + 1, '*');
	if (type == 3)
		return wild_head(v, strlen(v), '@') && strlen(v) > 2 && !strchr(v + 1, '*');
	if (type != 9)
		return false;
	while (*v) {
		size_t n = strcspn(v, ",/");
		const char *eq = memchr(v, '=', n), *star = memchr(v, '*', n);

		if (star && (!eq || star != eq + 1 || !wild_head(star, n - (size_t)(star - v), '.') ||
			     memchr(star + 1, '*', n - (size_t)(star + 1 - v))))
			return false;
		v += n + !!v[n];
	}
	return true;
}

int config_parse_id(const char *s, struct id_cfg *id, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	const char *v = s;

	memset(id, 0, sizeof(*id));
	if (!strcmp(s, "%any"))
		return 0;	/* any identity: as if none were set */
	if (!addr_parse(s, &ss)) {
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
	} else if (s[0] == '@' && s[1] == '#') {
		snprintf(err, errlen, "'%s': key-id identities are not supported; "
			 "write an address, fqdn:, email: or dn:", s);
		return -1;
	} else if (s[0] == '@') {
		/* strongSwan's spellings: @@user@host an email, @host an FQDN */
		id->type = s[1] == '@' ? 3 : 2;
		v = s + (s[1] == '@' ? 2 : 1);
	} else if (strchr(s, '@')) {
		id->type = 3;
	} else if (strchr(s, '=')) {
		/* a DN written without dn: ("C=CH, O=Org, CN=host") */
		if (!looks_like_dn(s)) {
			snprintf(err, errlen, "'%s' is neither an FQDN nor a DN "
				 "(\"C=CH, O=Org, CN=host\"); write fqdn:, email: or dn:", s);
			return -1;
		}
		id->type = 9;
	} else {
		id->type = 2;
	}
	if (!*v || strlen(v) > sizeof(id->data)) {
		snprintf(err, errlen, "expected an identity (address, fqdn:, email: or dn:), got '%s'", s);
		return -1;
	}
	if (strchr(v, '*') && !wild_ok(id->type, v)) {
		snprintf(err, errlen, "'*' stands only for a whole name part: write *@domain, *.domain, or a DN value * or *.suffix, got '%s'",
			 s);
		return -1;
	}
	id->len = (uint8_t)strlen(v);
	memcpy(id->data, v, id->len);
	return 0;
}

/* A '*' that starts v and is followed by its end or by c and more. */
static bool wild_head(const char *v, size_t len, char c)
{
	return v[0] == '*' && (len == 1 || (len > 2 && v[1] == c));
}

bool config_id_wild(const struct id_cfg *id)
{
	return (id->type == 2 || id->type == 3 || id->type == 9) &&
	       memchr(id->data, '*', id->len);
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
	{ "curve448", T_KE, 32, 0 },		/* strongSwan's name */
	{ "mlkem512", T_KE, 35, 0 },		/* ML-KEM: OpenSSL 3.5 or later */
	{ "mlkem768", T_KE, 36, 0 },
	{ "mlkem1024", T_KE, 37, 0 },
	{ "aes128gcm128", T_ENCR, 20, 128 },	/* strongSwan: the ICV in bits */
	{ "aes192gcm128", T_ENCR, 20, 192 },
	{ "aes256gcm128", T_ENCR, 20, 256 },
	{ "esn", T_ESN, 1, 0 },
	{ "noesn", T_ESN, 0, 0 },
};

const char *config_alg_name(uint8_t type, uint16_t id, uint16_t keylen, char *buf, size_t len)
{
	static const struct { uint8_t type; uint16_t id; const char *name; } weak[] = {
		{ T_ENCR, 3, "3des" }, { T_INTEG, 1, "md5" }, { T_INTEG, 2, "sha1" },
		{ T_PRF, 1, "prfmd5" }, { T_PRF, 2, "prfsha1" }, { T_KE, 1, "modp768" },
		{ T_KE, 2, "modp1024" }, { T_KE, 5, "modp1536" },
	};

	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		const struct kw *k = &keywords[i];

		if ((k->type == type && k->id == id && (type != T_ENCR || k->keylen == keylen)) ||
		    (type == T_INTEG && k->type == T_INTEG_PRF && k->id == id))
			return k->name;
	}
	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++)
		if (weak[i].type == type && weak[i].id == id)
			return weak[i].name;
	if (type == T_ENCR && keylen)
		snprintf(buf, len, "ENCR_%u_%u", id, keylen);
	else
		snprintf(buf, len, "%s_%u", type == T_ENCR ? "ENCR" : type == T_PRF ? "PRF" :
			 type == T_INTEG ? "INTEG" : type == T_KE ? "KE" : "T", id);
	return buf;
}

int config_proposal_str(const struct proposal_cfg *p, char *out, size_t len)
{
	char b[32];
	size_t o = 0;

	out[0] = 0;
#define PUT(name) do { if (o < len) o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "-" : "", name); } while (0)
	for (int i = 0; i < p->n_encr; i++)
		PUT(config_alg_name(T_ENCR, p->encr[i].id, p->encr[i].keylen, b, sizeof(b)));
	for (int i = 0; i < p->n_integ; i++)
		PUT(config_alg_name(T_INTEG, p->integ[i], 0, b, sizeof(b)));
	for (int i = 0; i < p->n_prf; i++)
		PUT(config_alg_name(T_PRF, p->prf[i], 0, b, sizeof(b)));
	for (int i = 0; i < p->n_ke; i++)
		PUT(config_alg_name(T_KE, p->ke[i], 0, b, sizeof(b)));
	for (int n = 0; n < CFG_MAX_ADDKE; n++) {
		for (int i = 0; i < p->n_addke[n]; i++) {
			char kb[48];

			snprintf(kb, sizeof(kb), "ke%d_%s", n + 1, p->addke[n][i] ?
				 config_alg_name(T_KE, p->addke[n][i], 0, b, sizeof(b)) : "none");
			PUT(kb);
		}
	}
	for (int i = 0; i < p->n_esn; i++)
		PUT(p->esn[i] ? "esn" : "noesn");
#undef PUT
	return (int)o;
}

int config_proposals_str(const struct proposal_cfg *p, int n, char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	for (int i = 0; i < n && o + 3 < len; i++) {
		if (i) {
			memcpy(out + o, ", ", 3);
			o += 2;
		}
		o += (size_t)config_proposal_str(&p[i], out + o, len - o);
	}
	return (int)o;
}

static bool is_aead(uint16_t encr)
{
	return encr == 20 || encr == 28;
}

/* Names in strongSwan's proposal syntax that tcpike does not implement
 * (RFC 8247 deprecates most of them): said so, not "unknown". */
static bool strongswan_only(const char *tok)
{
	static const char *const names[] = {
		"sha1", "md5", "prfsha1", "prfmd5", "sha1_160", "aesxcbc", "aescmac",
		"prfaesxcbc", "prfaescmac", "modp768", "modp1024", "modp1536", "modp6144",
		"modp8192", "modp1024s160", "modp2048s224", "modp2048s256", "ecp192",
		"ecp224", "ecp224bp", "ecp256bp", "ecp384bp", "ecp512bp", "3des", "des",
		"blowfish", "cast128", "null", "camellia", "aes128ctr", "aes256ctr",
		"aes128ccm16", "aes256ccm16", "aes128ccm8", "aes256ccm8", "aes128ccm12",
		"aes256ccm12", "aes128gcm8", "aes256gcm8", "aes128gcm12", "aes256gcm12",
		"aes128gcm64", "aes256gcm64", "aes128gcm96", "aes256gcm96", "aes128gmac",
		"aes256gmac", "sha256_96",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(tok, names[i]) || (!strncmp(tok, "camellia", 8) && !strcmp(names[i], "camellia")))
			return true;
	return false;
}

/* A key exchange method in the table that OpenSSL lacks: ML-KEM before 3.5,
 * or a 3.5 whose provider configuration leaves it out. */
static void mlkem_missing(const char *tok, char *err, size_t errlen)
{
#if OPENSSL_VERSION_NUMBER < 0x30500000L
	(void)tok;
	snprintf(err, errlen, "ML-KEM needs OpenSSL 3.5 or later; this tcpiked was built with OpenSSL %s",
		 OPENSSL_VERSION_STR);
#else
	snprintf(err, errlen, "'%s': OpenSSL %s has no such key exchange here (do its providers leave ML-KEM out?)",
		 tok, OpenSSL_version(OPENSSL_VERSION_STRING));
#endif
}

/*
 * strongSwan's "keN_METHOD" (N 1..7): an Additional Key Exchange of RFC
 * 9370, METHOD any key exchange keyword or "none" (the exchange optional).
 * 1 when tok is one (added to p), 0 when it is not, -1 on an error.
 */
static int addke_token(const char *tok, bool esp, struct proposal_cfg *p, char *err,
		       size_t errlen)
{
	int n;

	if (strncmp(tok, "ke", 2) || tok[2] < '1' || tok[2] > '7' || tok[3] != '_')
		return 0;
	n = tok[2] - '1';
	/* RFC 9370 §2.2.4: in CREATE_CHILD_SA the additional exchanges
	 * follow the one of transform type 4, the PFS group */
	if (esp && !p->n_ke) {
		snprintf(err, errlen, "'%s' needs a key exchange method for PFS before it (e.g. aes256gcm16-x25519-%s): RFC 9370 runs additional key exchanges after the CREATE_CHILD_SA's own",
			 tok, tok);
		return -1;
	}
	if (p->n_addke[n] == CFG_MAX_XF) {
		snprintf(err, errlen, "too many algorithms of one kind in a proposal (at most %d)",
			 CFG_MAX_XF);
		return -1;
	}
	if (!strcmp(tok + 4, "none")) {
		p->addke[n][p->n_addke[n]++] = 0;
		return 1;
	}
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (keywords[i].type == T_KE && !strcmp(tok + 4, keywords[i].name)) {
			p->addke[n][p->n_addke[n]++] = keywords[i].id;
			return 1;
		}
	}
	snprintf(err, errlen, "unknown key exchange method in '%s' (expected e.g. ke1_ecp384, ke2_x448, ke1_none)",
		 tok);
	return -1;
}

static int one_proposal(char *s, bool esp, struct proposal_cfg *p, char *err, size_t errlen)
{
	char *save = NULL, *tok;
	uint16_t integ_prf[CFG_MAX_XF];
	int n_ip = 0, r;

	memset(p, 0, sizeof(*p));
	for (tok = strtok_r(s, "-", &save); tok; tok = strtok_r(NULL, "-", &save)) {
		const struct kw *k = NULL;

		tok = trim(tok);
		r = addke_token(tok, esp, p, err, errlen);
		if (r < 0)
			return -1;
		if (r)
			continue;
		for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
			if (!strcmp(tok, keywords[i].name))
				k = &keywords[i];
		if (!k) {
			snprintf(err, errlen, "%s algorithm '%s' (expected e.g. aes256gcm16, aes256, chacha20poly1305, sha256, prfsha256, modp2048, ecp256, x25519, esn)",
				 strongswan_only(tok) ? "strongSwan knows it but tcpike does not offer (weak, or not implemented) the" :
				 "unknown", tok);
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
			if (!kex_supported(k->id)) {
				mlkem_missing(tok, err, errlen);
				return -1;
			}
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
	for (int i = 0; n > 0 && i < n; i++) {
		size_t l = strlen(items[i]);

		/* strongSwan's '!' (no defaults added): tcpike never adds any. */
		if (l > 1 && items[i][l - 1] == '!')
			items[i][l - 1] = 0;
		if (!strcmp(items[i], "default")) {
			snprintf(err, errlen, "strongSwan's 'default' has no meaning here: tcpike adds no proposals to a list, write them out (e.g. %s)",
				 esp ? "aes256gcm16" : "aes256gcm16-prfsha256-x25519");
			n = -1;
		} else if (one_proposal(items[i], esp, &out[i], err, errlen)) {
			n = -1;
		}
	}
	free(copy);
	return n > 0 ? n : -1;
}

/* --- the key table ------------------------------------------------------------- */

enum key_type {
	KT_BOOL,	/* bool: yes | no (true | false) */
	KT_UINT,	/* unsigned of the field's size, min..max */
	KT_DUR_S,	/* uint32_t seconds from a duration; min/max in ms */
	KT_DUR_MS,	/* uint32_t milliseconds; min/max in ms */
	KT_FACTOR,	/* double; min/max in thousandths */
	KT_ENUM,	/* int from one of values[] */
	KT_WORD,	/* char *: one of values[], as written */
	KT_STR,		/* char * */
	KT_ADDRS,	/* struct sockaddr_storage[max], int count */
	KT_PEERS,	/* struct cfg_peer[max], int count */
	KT_PORTS,	/* uint16_t[max], int count */
	KT_PROP_IKE,	/* struct proposal_cfg[max], int count */
	KT_PROP_ESP,
	KT_TS,		/* struct ts_cfg[max], int count */
	KT_ID,		/* struct id_cfg */
	KT_IDS,		/* struct id_cfg[max], int count; one per "idN" key */
	KT_CUSTOM,	/* parse() */
};

/* A value of a KT_ENUM or KT_WORD key; an alias is accepted, not listed. */
struct key_value {
	const char *name;
	int value;
	bool alias;
	const char *help;	/* a sentence in the reference, or NULL */
};

struct key;
typedef int (*key_parse_fn)(struct ctx *c, const struct node *n, const struct key *k,
			    void *base);

/*
 * One key: where its value goes in the section's struct (off, size; a
 * list's count at count_off), its bounds (numbers; durations in ms; list
 * lengths), its default as it would be written in the file (parsed like
 * any value before the section is read), and its help.  In help texts a
 * word in `backquotes` is a keyword (Cm in the manual page).
 */
struct key {
	const char *name;
	enum key_type type;
	size_t off, size, count_off;
	uint64_t min, max;
	const char *def;
	const char *arg;		/* the value's name in the reference */
	const struct key_value *values;
	key_parse_fn parse;
	const char *help;
	bool numbered;			/* also "name1", "name2", "name-x" */
	bool live;			/* a reload applies it to running SAs */
};

#define K(n, t)		.name = n, .type = t
#define V(n, v)		.name = n, .value = v
#define ALIAS(n, v)	.name = n, .value = v, .alias = true
#define FIELD(st, m)	.off = offsetof(struct st, m), .size = sizeof(((struct st *)0)->m)
#define COUNT(st, m)	.count_off = offsetof(struct st, m)
#define DAEMON(m)	FIELD(daemon_cfg, m)
#define CONN(m)		FIELD(conn_cfg, m)
#define END(m)		FIELD(end_cfg, m)
#define CHILD(m)	FIELD(child_cfg, m)
#define SECRET(m)	FIELD(secret_cfg, m)
#define POOL(m)		FIELD(pool_cfg, m)
#define PORT		.min = 1, .max = 65535, .arg = "port"
#define NOTIFY_TYPE	.min = 16384, .max = 65535, .arg = "type"
#define COUNTER		.min = 1, .max = 10000000, .arg = "n"

static int parse_kex_pool(struct ctx *c, const struct node *n, const struct key *k, void *base);
static int parse_action(struct ctx *c, const struct node *n, const struct key *k, void *base);
static int parse_log_level(struct ctx *c, const struct node *n, const struct key *k, void *base);
static int parse_ts_list(struct ctx *c, const struct node *n, struct ts_cfg *out, int *count);
static int parse_secret_value(struct ctx *c, const struct node *n, const struct key *k, void *base);
static int parse_secret_file(struct ctx *c, const struct node *n, const struct key *k, void *base);
static int parse_pool_names(struct ctx *c, const struct node *n, const struct key *k, void *base);
static int parse_pool_addrs(struct ctx *c, const struct node *n, const struct key *k, void *base);

static const struct key_value v_bool[] = {
	{ V("yes", 1) }, { V("no", 0) }, { ALIAS("true", 1) }, { ALIAS("false", 0) }, { .name = NULL },
};

static const struct key_value v_backend[] = {
	{ V("auto", 0), .help = "The module when it is loaded, else XFRM; when neither can install SAs tcpiked does not start (none must be named)." },
	{ V("module", 0), .help = "The tcpike module's generic netlink family." },
	{ V("xfrm", 0), .help = "The kernel's XFRM netlink interface." },
	{ V("none", 0), .help = "No kernel at all: the control plane alone." },
	{ .name = NULL },
};

static const struct key_value v_transport[] = {
	{ V("udp", CFG_XPORT_UDP), .help = "RFC 7296 over UDP." },
	{ V("tcp", CFG_XPORT_TCP), .help = "RFC 9329: IKE and ESP in one TCP connection." },
	{ V("auto", CFG_XPORT_AUTO),
	  .help = "UDP first; when it gets no answer within `tcp_race_delay`, a second IKE SA over TCP races it, and the first to complete IKE_SA_INIT is kept." },
	{ V("separate", CFG_XPORT_SEPARATE),
	  .help = "IKE_SA_INIT over UDP with the SEPARATE_TRANSPORTS notify, then IKE over TCP, ESP on IP or in UDP." },
	{ V("separate-tcp-first", CFG_XPORT_SEPARATE_TCP_FIRST),
	  .help = "IKE_SA_INIT over TCP with the notify; a peer that does not echo it gets plain RFC 9329. After IKE_AUTH the initiator probes that ESP gets through, see `esp_probe`." },
	{ .name = NULL },
};

static const struct key_value v_frag[] = {
	{ V("yes", CFG_FRAG_YES) }, { V("no", CFG_FRAG_NO) }, { V("force", CFG_FRAG_FORCE) },
	{ ALIAS("true", CFG_FRAG_YES) }, { ALIAS("false", CFG_FRAG_NO) }, { .name = NULL },
};

static const struct key_value v_inter[] = {
	{ V("accept", CFG_INTER_ACCEPT),
	  .help = "As responder, answer the notify and take the exchange; as initiator, ask for it only when the proposals have additional key exchanges (keN_, RFC 9370 section 2.2.1 requires it then). Section 3.1 has a responder that supports the exchange say so and section 3.2 leaves its use to the initiator, so answering costs nothing until one asks." },
	{ V("yes", CFG_INTER_YES),
	  .help = "As initiator too: announce the notify in IKE_SA_INIT and, when the responder announces it as well, run IKE_INTERMEDIATE before IKE_AUTH: one exchange per additional key exchange negotiated (RFC 9370), else one that carries nothing, as Libreswan's intermediate=yes does, which AUTH covers all the same (section 3.3.2)." },
	{ V("no", CFG_INTER_NO),
	  .help = "Neither announce nor answer, as an implementation without RFC 9242 (Libreswan's intermediate=no); proposals with keN_ need the exchange and are refused with it." },
	{ ALIAS("true", CFG_INTER_YES) }, { ALIAS("false", CFG_INTER_NO) }, { .name = NULL },
};

static const struct key_value v_unique[] = {
	{ V("replace", CFG_UNIQUE_REPLACE),
	  .help = "The old IKE SA and its Child SAs are deleted: the peer gets an INFORMATIONAL Delete, sent once and not waited for as the client is usually gone, and a TCP connection that carried only the old IKE SA is closed. One from another address (the client moved) goes before the new one's virtual IP and first Child SA, whose selectors its Child SAs hold through another tunnel; one from the same address 10 s after the new one stands, the new Child SAs sharing its policies meanwhile: a make-before-break reauthentication (strongSwan's make_before_break) deletes it itself first and loses nothing. The identity's virtual IP stays the same." },
	{ V("keep", CFG_UNIQUE_KEEP),
	  .help = "The new IKE SA is refused with AUTHENTICATION_FAILED, as strongSwan does; the old one stays." },
	{ V("never", CFG_UNIQUE_NEVER),
	  .help = "Both stay, up to `ike_sas_per_id`." },
	{ .name = NULL },
};

static const struct key_value v_start[] = {
	{ V("none", CFG_START_NONE) }, { V("start", CFG_START_START) }, { V("trap", CFG_START_TRAP) },
	{ .name = NULL },
};

static const struct key_value v_action[] = {
	{ V("clear", CFG_ACTION_CLEAR), .help = "Nothing more: the SAs are gone." },
	{ V("trap", CFG_ACTION_TRAP), .help = "The children's trap policies are installed (as for `start_action = trap`): traffic that meets them initiates the connection." },
	{ V("restart", CFG_ACTION_RESTART), .help = "Set up again at once, see `keyingtries`." },
	{ ALIAS("none", CFG_ACTION_CLEAR) }, { ALIAS("start", CFG_ACTION_RESTART) },
	{ .name = NULL },
};

static const struct key_value v_pss[] = {
	{ V("yes", CFG_PSS_YES) }, { V("no", CFG_PSS_NO) },
	{ ALIAS("true", CFG_PSS_YES) }, { ALIAS("false", CFG_PSS_NO) }, { .name = NULL },
};

static const struct key_value v_auth[] = {
	{ V("psk", CFG_AUTH_PSK) }, { V("pubkey", CFG_AUTH_PUBKEY) }, { .name = NULL },
};

static const struct key_value v_mode[] = {
	{ V("tunnel", CFG_MODE_TUNNEL) }, { V("transport", CFG_MODE_TRANSPORT) }, { .name = NULL },
};

static const struct key daemon_keys[] = {
	{ K("backend", KT_WORD), DAEMON(backend), .def = "auto", .values = v_backend,
	  .help = "How SAs reach the kernel." },
	{ K("listen", KT_ADDRS), DAEMON(listen), COUNT(daemon_cfg, n_listen), .max = CFG_MAX_ADDR,
	  .arg = "address , ...",
	  .help = "Up to 4 local addresses to bind; none: every address. They must exist when the daemon starts." },
	{ K("udp_port", KT_UINT), DAEMON(udp_port), PORT, .def = "500", .help = "IKE over UDP." },
	{ K("natt_port", KT_UINT), DAEMON(natt_port), PORT, .def = "4500",
	  .help = "IKE and ESP over UDP after NAT traversal (RFC 3948)." },
	{ K("tcp_ports", KT_PORTS), DAEMON(tcp_ports), COUNT(daemon_cfg, n_tcp_ports), .max = 4,
	  .arg = "port , ...", .def = "4500", .help = "Up to 4 ports listened on for RFC 9329 TCP." },
	{ K("control_socket", KT_STR), DAEMON(control_socket), .arg = "path",
	  .def = CFG_CONTROL_SOCKET, .help = "The control socket of tcpikectl(8)." },
	{ K("log_level", KT_CUSTOM), DAEMON(log_level), .parse = parse_log_level, .def = "info",
	  .arg = "level [, subsystem=level ...]",
	  .help = "The least severe messages logged: `error`, `warning`, `info` or `debug`, then, if one subsystem should differ, subsystem=level for `ike`, `cfg`, `net`, `tcp`, `kernel` or `crypto`, e.g. \"info, tcp=debug\". tcpiked -d and tcpikectl loglevel override it." },
	{ K("separate_transports", KT_BOOL), DAEMON(separate_transports), .def = "yes",
	  .help = "As responder, echo the SEPARATE_TRANSPORTS notify and run IKE over TCP with ESP outside it; `no` answers as plain RFC 7296 and RFC 9329." },
	{ K("separate_transports_notify", KT_UINT), DAEMON(separate_transports_notify), NOTIFY_TYPE,
	  .def = "49152",
	  .help = "The notify type of SEPARATE_TRANSPORTS. It has no IANA number yet; both peers must use the same." },
	{ K("esp_transport_notify", KT_UINT), DAEMON(esp_transport_notify), NOTIFY_TYPE,
	  .def = "49153",
	  .help = "tcpike's own notify asking the peer to move ESP between IP and UDP 4500 during the ESP probe; both peers the same." },
	{ K("tcp_puzzle_difficulty", KT_UINT), DAEMON(tcp_puzzle_difficulty), .min = 0,
	  .max = CRYPTO_PUZZLE_MAX_ZBC, .arg = "bits", .def = "8",
	  .help = "The zero bits asked by the RFC 8019 puzzle sent with cookies over TCP; 0 sends none." },
	{ K("cookie_threshold", KT_UINT), DAEMON(cookie_threshold), .min = 0, .max = 10000000,
	  .arg = "n", .def = "50",
	  .help = "Half-open IKE SAs above which every IKE_SA_INIT must return a COOKIE (RFC 7296 section 2.6); 0 always asks." },
	{ K("half_open_max", KT_UINT), DAEMON(half_open_max), COUNTER, .def = "5000",
	  .help = "Half-open IKE SAs in all." },
	{ K("half_open_per_ip", KT_UINT), DAEMON(half_open_per_ip), COUNTER, .def = "100",
	  .help = "Half-open IKE SAs from one source address." },
	{ K("tcp_max", KT_UINT), DAEMON(tcp_max), COUNTER, .def = "10000",
	  .help = "TCP connections in all, a second connect of `tcp_connect_race` counted while it runs (none is made when there is no room for it); more are accepted and closed at once." },
	{ K("tcp_per_ip", KT_UINT), DAEMON(tcp_per_ip), COUNTER, .def = "50",
	  .help = "TCP connections from one source address." },
	{ K("tcp_prefix_timeout", KT_DUR_MS), DAEMON(tcp_prefix_timeout_ms), .def = "5s",
	  .help = "Time a new connection has to send the IKETCP prefix." },
	{ K("tcp_idle_timeout", KT_DUR_MS), DAEMON(tcp_idle_timeout_ms), .def = "30s",
	  .help = "A TCP connection carrying no IKE SA is closed after this." },
	{ K("max_stream_memory", KT_UINT), DAEMON(max_stream_memory), .min = 65536, .max = 1u << 30,
	  .arg = "bytes", .def = "33554432",
	  .help = "Bytes of TCP frame buffers of all connections together (a frame is buffered as it arrives, up to 64 KB each; a connection keeps at most 4 KB between frames); past it the oldest connection with a buffer and no authenticated IKE SA is closed first." },
	{ K("max_ike_message", KT_UINT), DAEMON(max_ike_message), .min = 1280, .max = 65529,
	  .arg = "bytes", .def = "65000",
	  .help = "The largest IKE message; a larger TCP frame closes the connection." },
	{ K("max_frag_buffers", KT_UINT), DAEMON(max_frag_buffers), .min = 1, .max = 100000,
	  .arg = "n", .def = "64",
	  .help = "Fragments of one IKE message (RFC 7383) held for reassembly." },
	{ K("max_frag_memory", KT_UINT), DAEMON(max_frag_memory), .min = 65536, .max = 1u << 30,
	  .arg = "bytes", .def = "16777216",
	  .help = "Bytes of RFC 7383 fragments held for reassembly by all IKE SAs together; past it the oldest incomplete message is dropped first." },
	{ K("keepalive_interval", KT_DUR_S), DAEMON(keepalive_interval_s), .def = "20s",
	  .help = "NAT keepalives behind a NAT, for connections that do not set their own." },
	{ K("delete_on_stop", KT_BOOL), DAEMON(delete_on_stop), .def = "yes",
	  .help = "When the daemon stops (SIGTERM, SIGINT), tell the peer of every established IKE SA by an INFORMATIONAL with a Delete (RFC 7296 section 1.4.1), sent once, never retransmitted, its answer not awaited; over TCP it is written out before the connection closes. A Delete the socket has no room for waits for room, within `stop_timeout` for all of them; past that, or with a request of ours still unanswered (the peer's window, section 2.3), the peer is not told. One line logs how many were sent and not sent. Set to `no`, it sends none: the peers find the SAs gone by their liveness checks. The Child SAs leave the kernel either way." },
	{ K("stop_timeout", KT_DUR_MS), DAEMON(stop_timeout_ms), .min = 100, .max = 600000,
	  .def = "3s",
	  .help = "The time the Deletes of `delete_on_stop` may take in all, however many IKE SAs there are (100,000 took 0.5 s on one core of a test machine) and however slowly the sockets drain; the SAs then leave the kernel, which takes its own time, and the daemon exits." },
	{ K("kex_pool", KT_CUSTOM), DAEMON(kex_pool), .parse = parse_kex_pool, .max = KEX_POOL_MAX,
	  .arg = "auto | no | n", .def = "auto",
	  .help = "Key-exchange key pairs generated ahead, per group in use, by a second thread: `auto` is 64 when the daemon may run on more than one CPU and none otherwise." },
};

static const struct key conn_keys[] = {
	{ K("local_addrs", KT_ADDRS), CONN(local_addrs), COUNT(conn_cfg, n_local),
	  .max = CFG_MAX_ADDR, .arg = "address , ...",
	  .help = "Local addresses of the connection; none: any." },
	{ K("remote_addrs", KT_PEERS), CONN(remote_addrs), COUNT(conn_cfg, n_remote),
	  .max = CFG_MAX_ADDR, .arg = "address | prefix | range | %any | name , ...",
	  .help = "The peer's addresses, required: up to 4 addresses, prefixes (10.0.0.0/8, 2001:db8::/32, 0.0.0.0/0), ranges (10.1.0.5-10.1.0.50), `%any` (either family) or one DNS name (gw.example.com). A connection initiates to its first address, else to its name: resolved when it initiates (again on every keyingtries attempt) and on start-up and reload, never while the file is read, in a resolver thread so that the daemon never waits; a name that does not resolve (within 5 s) is logged with the resolver's words and counts as a failed attempt. As responder, a name admits the addresses it last resolved to (as specific as an address); one with prefixes, ranges or `%any` alone only responds (a remote-access gateway's road warriors), so `start_action = start` or `trap` needs an address listed. Of the connections whose `local_addrs` and `remote_addrs` admit a peer, the one with the longest matching prefix wins (an address is the longest, `%any` the shortest, a range counts as the longest prefix holding it), then the one whose remote `id` matches the peer's identity best (the identity itself, then wildcards holding to more of it, then `%any` or none), then the one chosen at IKE_SA_INIT, then the first in the file; the choice is logged when more than one fitted, with a warning naming both when two fitted equally. A peer sending a certificate fits a pubkey connection only when the certificate chains to that connection's `cacerts`." },
	{ K("pools", KT_CUSTOM), CONN(pools), .parse = parse_pool_names, .arg = "name , ...",
	  .help = "Up to 4 address pools (see the pools section) from which a peer asking for a virtual IP in IKE_AUTH (a CFG_REQUEST configuration payload, RFC 7296 section 3.15) gets one, the first pool of the family asked for with a free address; with it go the pool's `dns` servers, and the Child SA's remote selector is narrowed to that address. An identity gets the address it had before while its lease is remembered, after reconnecting too. A pool with no address left refuses the Child SA with INTERNAL_ADDRESS_FAILURE; the IKE SA stays. Without `pools` a request for an address gets nothing (RFC 7296 section 3.15.4)." },
	{ K("vips", KT_ADDRS), CONN(vips), COUNT(conn_cfg, n_vips), .max = 2,
	  .arg = "0.0.0.0 | :: | address , ...",
	  .help = "As initiator (a road warrior), ask the peer for a virtual IP of each family listed in IKE_AUTH (a CFG_REQUEST configuration payload, RFC 7296 section 3.15), with its DNS servers: `0.0.0.0` or `::` for any address, a literal address for that one; after a reconnect the address had before is asked for. The address the peer gives is the Child SAs' local selector (the `local_ts` that holds it, narrowed to it) and, with a kernel backend (`xfrm` or `module`), is added to the interface holding the IKE SA's local address (`lo` if none) while the IKE SA lives; backend `none` installs nothing. DNS servers received are logged and shown by `tcpikectl status`, never written to resolv.conf. A peer that gives no usable address fails the Child SA; the IKE SA stays." },
	{ K("local_port", KT_UINT), CONN(local_port), PORT, .def = "500",
	  .help = "The local IKE UDP port." },
	{ K("remote_port", KT_UINT), CONN(remote_port), PORT, .def = "500",
	  .help = "The peer's IKE UDP port." },
	{ K("transport", KT_ENUM), CONN(transport), .values = v_transport, .def = "udp",
	  .help = "How IKE and ESP travel." },
	{ K("tcp_port", KT_UINT), CONN(tcp_port), PORT, .def = "4500", .help = "The peer's TCP port." },
	{ K("tcp_fallback_delay", KT_DUR_MS), CONN(tcp_race_delay_ms),
	  .help = "Obsolete: `auto` and `separate` used to drop UDP for TCP after this long (1.5 s by default). With either it is now taken for `tcp_race_delay` when that is not set (configurations older than the race), with a warning; setting both is refused. Other transports ignore it." },
	{ K("tcp_race_delay", KT_DUR_MS), CONN(tcp_race_delay_ms), .def = "250ms",
	  .help = "`auto` and `separate`: time the UDP IKE_SA_INIT has alone, about one round trip to the peer. Unanswered by then, it is sent once more and a new IKE SA (a new SPI, RFC 9329 section 5.1) starts over TCP beside it, as Happy Eyeballs (RFC 8305) races address families; the first to complete IKE_SA_INIT goes on and the other is dropped without a word (its TCP connection closed). With `separate` the TCP SA is `separate-tcp-first` (the notify from TCP) and takes the connection `tcp_preconnect` opened. With `auto`, when UDP answers in time no TCP connection is opened. `0` starts TCP together with the first UDP request (which then goes only once, against RFC 9329 section 5.1's advice to retransmit over UDP first): a TCP connection and a half-open IKE SA at the peer for every setup, even where UDP works." },
	{ K("tcp_connect_timeout", KT_DUR_MS), CONN(tcp_connect_timeout_ms), .def = "3s",
	  .help = "Time to establish the TCP connection." },
	{ K("tcp_connect_race", KT_DUR_MS), CONN(tcp_connect_race_ms), .max = 60000, .def = "250ms",
	  .help = "`tcp`, `separate` and `separate-tcp-first` (every connect to the peer's TCP port, `tcp_preconnect`'s too): a connect not completed after this long gets one more beside it, to the same address and port, as Happy Eyeballs (RFC 8305) starts its next attempt after the connection attempt delay; the first to complete is kept and the other is closed before a byte went on it. Linux retransmits a lost SYN or SYN-ACK only after 1 s (TCP_TIMEOUT_INIT, no socket option changes it); the second SYN takes that loss's place after this delay. The default, RFC 8305's recommended 250 ms, is above most round trips, so a path with a shorter round trip and no loss sends one SYN; a longer round trip (a satellite link) costs one SYN more per connect, which the peer sees reset, never accepted with data. RFC 9329 section 6 (via RFC 8229): an originator SHOULD open only one TCP connection per IKE SA, over which it sends all of its IKE and ESP messages: only the winner carries the IKETCP prefix, IKE or ESP, and at most one extra attempt is made per connect. `0` makes one attempt, as before the race." },
	{ K("tcp_preconnect", KT_BOOL), CONN(tcp_preconnect), .def = "yes",
	  .help = "`separate`: open the TCP connection for IKE_AUTH when IKE_SA_INIT goes out over UDP, not when its response echoes the notify, so that the connect (a lost SYN's retransmission included) overlaps the first round trip. Nothing but the IKETCP prefix goes on it before the echo; without the echo it is closed unused (counted as `tcp_preconnects_unused`), and a connect that fails before the echo fails the IKE SA only if the echo comes. Set `no` where a connection to a peer that may not want TCP is unwelcome." },
	{ K("udp_retry_without_separate", KT_BOOL), CONN(udp_retry_without_separate), .def = "yes",
	  .help = "`separate`: when TCP cannot be reached, set the IKE SA up again over UDP without the notify." },
	{ K("esp_probe", KT_BOOL), CONN(esp_probe), .def = "yes",
	  .help = "`separate-tcp-first`: after IKE_AUTH, prove that ESP gets through, on IP, then in UDP 4500." },
	{ K("esp_probe_delay", KT_DUR_MS), CONN(esp_probe_delay_ms), .def = "500ms",
	  .help = "Time the probe on IP alone gets before UDP 4500 is tried too. With the module backend the module's reachability watch on the Child SA tells it (no ESP back for this long, rounded up to whole seconds); with the xfrm backend UDP 4500 cannot be tried." },
	{ K("esp_probe_timeout", KT_DUR_MS), CONN(esp_probe_timeout_ms), .min = 200, .def = "5s",
	  .help = "No transport carrying ESP within this: the IKE SA is deleted and set up again as plain RFC 9329 with ESP in TCP." },
	{ K("proposals", KT_PROP_IKE), CONN(ike), COUNT(conn_cfg, n_ike), .max = CFG_MAX_PROP,
	  .arg = "proposal , ...", .def = "aes256gcm16-prfsha256-x25519-ecp256-modp2048",
	  .help = "IKE proposals in strongSwan's notation, e.g. aes256gcm16-prfsha256-x25519: encryption `aes128`, `aes192`, `aes256` (CBC), `aes128gcm16`, `aes192gcm16`, `aes256gcm16`, `chacha20poly1305`; integrity `sha256`, `sha384`, `sha512`; PRF `prfsha256`, `prfsha384`, `prfsha512`; key exchange `modp2048`, `modp3072`, `modp4096`, `ecp256`, `ecp384`, `ecp521`, `x25519` (or `curve25519`), `x448` (or `curve448`), and ML-KEM (FIPS 203, draft-ietf-ipsecme-ikev2-mlkem) `mlkem512`, `mlkem768`, `mlkem1024` where tcpiked was built with OpenSSL 3.5 or later (elsewhere a configuration error). Additional key exchanges (RFC 9370) as strongSwan writes them, `ke1_` to `ke7_` followed by any key exchange method (`ke1_ecp384`, `ke2_mlkem768`), run in IKE_INTERMEDIATE exchanges in the order of N after IKE_SA_INIT, with `keN_none` making that one optional (e.g. aes256gcm16-prfsha256-x25519-ke1_ecp384-ke2_x448-ke2_none). An IKE SA rekey runs them too, in IKE_FOLLOWUP_KE exchanges after its CREATE_CHILD_SA (RFC 9370 2.2.4), in both roles; so do Child SAs made or rekeyed by CREATE_CHILD_SA when esp_proposals name them (see there)." },
	{ K("fragmentation", KT_ENUM), CONN(fragmentation), .values = v_frag, .def = "yes",
	  .help = "RFC 7383 IKE fragmentation; `force` fragments before the peer has said it supports it." },
	{ K("fragment_size", KT_UINT), CONN(fragment_size), .min = 576, .max = 65535, .arg = "bytes",
	  .def = "1280", .help = "Largest fragment." },
	{ K("intermediate", KT_ENUM), CONN(intermediate), .values = v_inter, .def = "accept",
	  .help = "RFC 9242 IKE_INTERMEDIATE (N(INTERMEDIATE_EXCHANGE_SUPPORTED) in IKE_SA_INIT), which carries the additional key exchanges of RFC 9370 (keN_ in proposals)." },
	{ K("encap", KT_BOOL), CONN(encap), .def = "no",
	  .help = "Claim a NAT so that ESP is UDP-encapsulated even without one." },
	{ K("assume_no_nat", KT_BOOL), CONN(assume_no_nat), .def = "no",
	  .help = "Send no NAT detection payloads." },
	{ K("initial_contact", KT_BOOL), CONN(initial_contact), .def = "yes",
	  .help = "Send INITIAL_CONTACT with the first IKE_AUTH." },
	{ K("unique", KT_ENUM), CONN(unique), .values = v_unique, .live = true, .def = "replace",
	  .help = "What an IKE_AUTH does, as responder or initiator, when the peer's identity already has an established IKE SA of this connection and the peer did not send INITIAL_CONTACT (RFC 7296 section 2.4; with it the old SAs are dropped without a Delete, whatever this says), as strongSwan's `unique`; the log names both IKE SAs and the identity." },
	{ K("ike_sas_per_id", KT_UINT), CONN(ike_sas_per_id), .live = true, .min = 0, .max = 100000,
	  .arg = "n", .def = "4",
	  .help = "Established IKE SAs of one peer identity on the connection (after `unique` has replaced an old one; the connections of a site-to-site peer count apart); one more is refused in IKE_AUTH with AUTHENTICATION_FAILED and logged with the identity and the limit, so that one client cannot take the gateway's memory. Rekeying an IKE SA does not count. 0: no limit." },
	{ K("child_sas_max", KT_UINT), CONN(child_sas_max), .live = true, .min = 0, .max = 100000,
	  .arg = "n", .def = "64",
	  .help = "Child SAs of one IKE SA; a CREATE_CHILD_SA request for one more is answered with NO_ADDITIONAL_SAS (RFC 7296 section 3.10.1) and logged with the identity and the limit. Rekeying a Child SA does not count. 0: no limit." },
	{ K("dpd_delay", KT_DUR_S), CONN(dpd_delay_s), .live = true, .def = "30s",
	  .help = "Dead peer detection after this long without traffic; 0 disables it." },
	{ K("dpd_timeout", KT_DUR_S), CONN(dpd_timeout_s), .live = true, .def = "150s",
	  .help = "A peer that answers no liveness check for this long is dead." },
	{ K("rekey_time", KT_DUR_S), CONN(rekey_time_s), .live = true, .def = "4h", .help = "IKE SA rekeying." },
	{ K("retransmit_base", KT_DUR_MS), CONN(retransmit_base_ms), .live = true, .min = 1, .def = "1s",
	  .help = "First retransmission of a request." },
	{ K("retransmit_factor", KT_FACTOR), CONN(retransmit_factor), .live = true, .min = 1000, .max = 10000,
	  .arg = "factor", .def = "2.0", .help = "Back-off between retransmissions." },
	{ K("retransmit_tries", KT_UINT), CONN(retransmit_tries), .live = true, .min = 0, .max = 100, .arg = "n",
	  .def = "5", .help = "Retransmissions before the peer is given up." },
	{ K("keepalive_interval", KT_DUR_S), CONN(keepalive_interval_s), .def = "0",
	  .help = "NAT keepalives of this connection; 0: the daemon's `keepalive_interval`." },
	{ K("start_action", KT_CUSTOM), CONN(start_action), .parse = parse_action, .values = v_start,
	  .def = "none",
	  .help = "`start` initiates the connection when the daemon starts and after a reload. With `trap` the policies of every child (that does not set its own `start_action`) are installed when the configuration loads, and traffic that meets them initiates the connection (the kernel's acquire, as strongSwan's trap policies); such a connection needs one `remote_addrs` and at most one `local_addrs` (none: the source address of the route to the peer), the outer addresses of the tunnel. The Child SA shares the trap's policies and reqid; they stay when it is deleted, and go with a reload that drops or changes the connection, and at shutdown. A Child SA the peer narrowed has policies of its own, which take precedence over the trap's (every policy's priority, as strongSwan's: the more specific selector first, then an SA's policy before a trap's). The request names the packet that met the trap first, then the configured selectors (RFC 7296 §2.9). Traffic that meets the trap while a failed attempt waits for its next one (`keyingtries`) leaves it to that attempt." },
	{ K("keyingtries", KT_UINT), CONN(keyingtries), .min = 0, .max = 10000, .arg = "n", .def = "0",
	  .help = "Attempts at establishing the connection, each with its retransmissions, before giving up; 0 tries for ever. Between attempts the daemon waits 1 s, doubling up to a minute. A peer that answers with an error (a refused proposal or authentication) is not tried again." },
	{ K("dpd_action", KT_CUSTOM), CONN(dpd_action), .parse = parse_action, .values = v_action,
	  .def = "clear",
	  .help = "What follows when the peer does not answer a request of an established IKE SA (a liveness check, a rekey). With `trap` the children's trap policies are installed as the SAs go (as for `start_action = trap`, with its need of one `remote_addrs` and at most one `local_addrs`): the Child SA's policies pass to the trap, so traffic is held, never sent in clear, and the next packet that meets them initiates the connection. They stay until `tcpikectl terminate`, a reload that drops or changes the connection, or shutdown." },
	{ K("close_action", KT_CUSTOM), CONN(close_action), .parse = parse_action,
	  .values = v_action, .def = "clear",
	  .help = "What follows when the peer deletes the IKE SA or a Child SA other than in a rekey (`none` and `start` are taken for `clear` and `restart`, as swanctl writes them): `restart` makes the Child SA again, or initiates the connection after 2 s unless the peer has set up a new IKE SA by then (a peer that reauthenticates deletes the old one first). With `trap` the daemon installs the trap policies of the deleted Child SA's child (of every child, when the IKE SA is deleted), as `dpd_action = trap` does." },
	{ K("rsa_pss", KT_ENUM), CONN(rsa_pss), .values = v_pss,
	  .help = "Sign with RSASSA-PSS (RFC 8247 section 3.2) when the local key is RSA; `no` keeps PKCS#1 v1.5. Unset, PSS is used when the peer announced SIGNATURE_HASH_ALGORITHMS (RFC 7427). A key of type RSA-PSS always signs with PSS; the peer's signatures are verified in either padding." },
};

static const struct key end_keys[] = {
	{ K("auth", KT_ENUM), END(auth), .values = v_auth, .help = "Required." },
	{ K("id", KT_ID), END(id), .arg = "identity", .help = "The identity; none: the IP address in use. The remote one may match many: `%any` (as if none were set), `*@example.com`, `*.example.com`, or a DN whose RDN values are `*` (any value) or `*.suffix` (`C=CH, O=Org, CN=*.clients.example.com`; the RDNs in the same number and order); a `*` elsewhere, or in the local id, is an error." },
	{ K("certs", KT_STR), END(certs), .arg = "path",
	  .help = "`pubkey`: this end's certificate in PEM, with its chain." },
	{ K("key", KT_STR), END(key), .arg = "path",
	  .help = "`pubkey`, local: the private key in PEM, mode 600: RSA (PKCS#1 v1.5 or RSASSA-PSS), ECDSA, or ML-DSA-44, -65, -87 (FIPS 204; draft-ietf-ipsecme-ikev2-pqc-auth: RFC 7427 signatures of pure ML-DSA, to a peer that announces Identity in SIGNATURE_HASH_ALGORITHMS) where tcpiked was built with OpenSSL 3.5 or later (elsewhere a configuration error on this line)." },
	{ K("cacerts", KT_STR), END(cacerts), .arg = "path",
	  .help = "`pubkey`, remote: the CA certificates the peer's chain must end at." },
	{ K("send_certreq", KT_BOOL), END(send_certreq),
	  .help = "Accepted; CERTREQ is sent whenever either end authenticates with `pubkey`." },
};

static const struct key child_keys[] = {
	{ K("local_ts", KT_TS), CHILD(local_ts), COUNT(child_cfg, n_local_ts), .max = CFG_MAX_TS,
	  .arg = "selector , ...",
	  .help = "Local traffic selectors, up to 8, required: a subnet like 192.168.1.0/24 or fd00::/64, optionally followed by [proto/port] (proto `tcp`, `udp`, `icmp`, `icmpv6` or a number; port a number or lo-hi). A request that names one packet's selectors first (an initiation the peer's kernel asked for, RFC 7296 §2.9) gets the child whose selectors hold that packet, narrowed to those that do." },
	{ K("remote_ts", KT_TS), CHILD(remote_ts), COUNT(child_cfg, n_remote_ts), .max = CFG_MAX_TS,
	  .arg = "selector , ...", .help = "The peer's traffic selectors, as `local_ts`." },
	{ K("mode", KT_ENUM), CHILD(mode), .values = v_mode, .def = "tunnel", .help = "The IPsec mode." },
	{ K("esp_proposals", KT_PROP_ESP), CHILD(esp), COUNT(child_cfg, n_esp), .max = CFG_MAX_PROP,
	  .arg = "proposal , ...", .def = "aes256gcm16, aes128gcm16",
	  .help = "ESP proposals, as `proposals` without PRF, with `esn` or `noesn`; a key exchange method (`ecp256`, `mlkem768`, ...) is the PFS of CREATE_CHILD_SA; after it, `ke1_` to `ke7_` (e.g. aes256gcm16-x25519-ke1_mlkem768) are additional key exchanges (RFC 9370 2.2.4) run in IKE_FOLLOWUP_KE exchanges after the CREATE_CHILD_SA of a new Child SA or of a Child SA rekey, the Child SA installed after the last; the first Child SA, made in IKE_AUTH, has neither." },
	{ K("rekey_time", KT_DUR_S), CHILD(rekey_time_s), .def = "1h", .help = "Child SA rekeying." },
	{ K("life_time", KT_DUR_S), CHILD(life_time_s), .def = "66m",
	  .help = "Hard lifetime, longer than `rekey_time`." },
	{ K("life_bytes", KT_UINT), CHILD(life_bytes), .min = 0, .max = UINT64_MAX, .arg = "n",
	  .def = "0", .help = "Byte lifetime, counted by the kernel: the SA's hard byte limit, and a soft one below it whose expire makes tcpiked rekey the Child SA: at 80 to 85 % (random per SA) on the IKE SA's original initiator, 90 to 95 % on the responder, so the two ends do not rekey at once; 0: none." },
	{ K("life_packets", KT_UINT), CHILD(life_packets), .min = 0, .max = UINT64_MAX, .arg = "n",
	  .def = "0", .help = "Packet lifetime, as `life_bytes`: the hard limit, and the soft limit that starts the rekey at 80 to 85 % (initiator) or 90 to 95 % (responder); 0: none." },
	{ K("replay_window", KT_UINT), CHILD(replay_window), .min = 0, .max = 4096, .arg = "n",
	  .def = "64", .help = "The anti-replay window in packets." },
	{ K("start_action", KT_CUSTOM), CHILD(start_action), .parse = parse_action, .values = v_start,
	  .def = "none",
	  .help = "As for the connection (where swanctl.conf puts it): `start` initiates the connection, this child with the others; `trap` installs this child's policies and initiates the connection when traffic meets them; `none` takes the connection's." },
};

static const struct key secret_keys[] = {
	{ K("id", KT_IDS), SECRET(ids), COUNT(secret_cfg, n_ids), .max = 4, .arg = "identity",
	  .numbered = true,
	  .help = "Up to 4 identities the key is used with: the key of an IKE SA is the one naming both ends' identities, or the remote one." },
	{ K("secret", KT_CUSTOM), SECRET(secret), .parse = parse_secret_value, .arg = "string",
	  .help = "The key itself; `0x` followed by hex digits or `0s` followed by base64 is decoded, as strongSwan does." },
	{ K("secret_file", KT_CUSTOM), SECRET(secret), .parse = parse_secret_file, .arg = "path",
	  .help = "A file holding the key, 1 to 1023 bytes, mode 600; a final newline is not part of it." },
};

static const struct key pool_keys[] = {
	{ K("addrs", KT_CUSTOM), POOL(first), .parse = parse_pool_addrs, .arg = "prefix | first-last",
	  .help = "The pool's addresses, required: a prefix (10.10.0.0/24, fd00:10::/112) without its first and, in IPv4, its last address (the network and broadcast addresses; a /31 or /32, /127 or /128 keeps them), or a range 10.10.0.10-10.10.0.99 of one family, at most 2^32 addresses." },
	{ K("dns", KT_ADDRS), POOL(dns), COUNT(pool_cfg, n_dns), .max = CFG_MAX_DNS,
	  .arg = "address , ...",
	  .help = "Up to 4 DNS servers sent with an address of the pool (INTERNAL_IP4_DNS, INTERNAL_IP6_DNS), of either family." },
};

/* A subsection of a section, for the "expected" lists and the reference. */
struct sub_def {
	const char *names;	/* "local, remote" */
	const char *help;
};

static const struct sub_def conn_subs[] = {
	{ "local, remote", "The two ends, see below." },
	{ "children", "The Child SAs, see below." },
	{ NULL, NULL },
};

#define KEYS(t)	.keys = t, .n_keys = sizeof(t) / sizeof(t[0])

static const struct section_def {
	const char *what;		/* in messages */
	const struct key *keys;
	size_t n_keys;
	const struct sub_def *subs;
	const char *title, *intro;	/* the reference */
} sections[CFG_SEC_COUNT] = {
	[CFG_SEC_DAEMON] = { .what = "daemon", KEYS(daemon_keys), .title = "The daemon section" },
	[CFG_SEC_CONN] = { .what = "connection", KEYS(conn_keys), .subs = conn_subs,
			   .title = "The connections section",
			   .intro = "Each subsection is a connection, named by its section name." },
	[CFG_SEC_END] = { .what = "local", KEYS(end_keys), .title = "The local and remote sections" },
	[CFG_SEC_CHILD] = { .what = "child", KEYS(child_keys), .title = "Child sections",
			    .intro = "Each subsection of `children` is a Child SA, named by its section name." },
	[CFG_SEC_SECRET] = { .what = "secret", KEYS(secret_keys), .title = "The secrets section",
			     .intro = "Each subsection is a pre-shared key." },
	[CFG_SEC_POOL] = { .what = "pool", KEYS(pool_keys), .title = "The pools section",
			   .intro = "Each subsection is an address pool for virtual IPs, named by its section name, which a connection's `pools` lists." },
};

const char *config_key_name(enum cfg_section s, size_t i)
{
	if ((unsigned int)s >= CFG_SEC_COUNT || i >= sections[s].n_keys)
		return NULL;
	return sections[s].keys[i].name;
}

static bool key_matches(const struct key *k, const char *name)
{
	size_t l = strlen(k->name);

	if (strncmp(name, k->name, l))
		return false;
	if (!name[l])
		return true;
	return k->numbered && (isdigit((unsigned char)name[l]) || name[l] == '-');
}

static const struct key *find_key(enum cfg_section s, const char *name)
{
	for (size_t i = 0; i < sections[s].n_keys; i++)
		if (key_matches(&sections[s].keys[i], name))
			return &sections[s].keys[i];
	return NULL;
}

/* "a, b, c or d" of the values of a key (aliases left out). */
static void values_list(const struct key_value *v, char *out, size_t len, const char *last_sep)
{
	size_t n = 0, total = 0, o = 0;

	for (const struct key_value *p = v; p->name; p++)
		total += !p->alias;
	out[0] = 0;
	for (const struct key_value *p = v; p->name && o < len; p++) {
		if (p->alias)
			continue;
		o += (size_t)snprintf(out + o, len - o, "%s%s", n == 0 ? "" :
				      n + 1 == total ? last_sep : ", ", p->name);
		n++;
	}
}

/* "unknown key 'x' in connection (expected a, b, ..., local, remote, children)" */
static int unknown(struct ctx *c, const struct node *n, enum cfg_section s, const char *where)
{
	const struct section_def *sd = &sections[s];
	char list[1024];
	size_t o = 0;

	list[0] = 0;
	for (size_t i = 0; i < sd->n_keys && o < sizeof(list); i++) {
		const char *name = sd->keys[i].name;

		if (sd->keys[i].numbered)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s, %s1, %s2, ...",
					      i ? ", " : "", name, name, name);
		else
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", name);
	}
	for (const struct sub_def *sub = sd->subs; sub && sub->names && o < sizeof(list); sub++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, ", %s", sub->names);
	return fail(c, n->line, "unknown %s '%s' in %s (expected %s)",
		    n->value ? "key" : "section", n->key, where, list);
}

static void store_uint(void *f, size_t size, uint64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)f = (uint8_t)v; break;
	case 2: *(uint16_t *)f = (uint16_t)v; break;
	case 4: *(uint32_t *)f = (uint32_t)v; break;
	default: *(uint64_t *)f = v; break;
	}
}

static uint64_t uint_max(size_t size)
{
	return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

static const char *fmt_duration(uint64_t ms, char *s, size_t len)
{
	static const struct { uint64_t ms; const char *unit; } units[] = {
		{ 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ms && ms % units[i].ms == 0) {
			snprintf(s, len, "%llu%s", (unsigned long long)(ms / units[i].ms), units[i].unit);
			return s;
		}
	snprintf(s, len, "%llums", (unsigned long long)ms);
	return s;
}

static uint64_t dur_max(const struct key *k)
{
	if (k->max)
		return k->max;
	return k->type == KT_DUR_S ? (uint64_t)UINT32_MAX * 1000 : UINT32_MAX;
}

static int parse_dur(struct ctx *c, const struct node *n, const struct key *k, void *f)
{
	uint64_t ms = 0;
	bool part = false;
	char b[32];

	if (parse_duration_ms(c, n, &ms, &part))
		return -1;
	if (k->type == KT_DUR_MS && part)
		warn(c, n->line, "%s = %s rounded up to %s (%s counts whole milliseconds)", n->key,
		     n->value, fmt_duration(ms, b, sizeof(b)), n->key);
	if (ms < k->min)
		return fail(c, n->line, "%s must be at least %s", n->key,
			    fmt_duration(k->min, b, sizeof(b)));
	if (ms > dur_max(k))
		return fail(c, n->line, "%s: duration too long", n->key);
	if (k->type == KT_DUR_S && ms % 1000) {
		/* 500ms must not become 0, which turns a timer off. */
		uint64_t up = (ms + 999) / 1000 * 1000;

		warn(c, n->line, "%s = %s rounded up to %s (%s counts whole seconds)", n->key,
		     n->value, fmt_duration(up, b, sizeof(b)), n->key);
		ms = up;
	}
	*(uint32_t *)f = (uint32_t)(k->type == KT_DUR_S ? ms / 1000 : ms);
	return 0;
}

static int parse_enum(struct ctx *c, const struct node *n, const struct key *k, void *f)
{
	char list[256];

	for (const struct key_value *v = k->values; v->name; v++) {
		if (strcmp(n->value, v->name))
			continue;
		if (k->type == KT_ENUM) {
			*(int *)f = v->value;
			return 0;
		}
		free(*(char **)f);
		*(char **)f = strdup(v->name);
		return *(char **)f ? 0 : fail(c, n->line, "out of memory");
	}
	values_list(k->values, list, sizeof(list), " or ");
	if (k->values == v_bool)
		return fail(c, n->line, "%s: expected %s, got '%s'", n->key, list, n->value);
	return fail(c, n->line, "unknown %s '%s' (expected %s)", n->key, n->value, list);
}

static int parse_factor(struct ctx *c, const struct node *n, const struct key *k, double *f)
{
	char *end = NULL;
	double v = decimal(n->value, &end) ? strtod(n->value, NULL) : -1;

	if (!end || *end || !(v >= (double)k->min / 1000 && v <= (double)k->max / 1000))
		return fail(c, n->line, "%s: expected a number from %.1f to %.1f, got '%s'",
			    n->key, (double)k->min / 1000, (double)k->max / 1000, n->value);
	*f = v;
	return 0;
}

static int parse_ports(struct ctx *c, const struct node *n, const struct key *k, uint16_t *out,
		       int *count)
{
	char *copy = strdup(n->value), *items[8];
	int r = 0, m = copy ? split_list(copy, items, (int)k->max) : -1;

	if (m < 0)
		r = fail(c, n->line, "%s: at most %d ports", n->key, (int)k->max);
	for (int i = 0; !r && i < m; i++) {
		struct node tmp = { .key = n->key, .value = items[i], .line = n->line };
		uint64_t v;

		r = parse_u64(c, &tmp, 1, 65535, &v);
		out[i] = (uint16_t)v;
	}
	if (!r)
		*count = m;
	free(copy);
	return r;
}

static int parse_ids(struct ctx *c, const struct node *n, const struct key *k, void *base)
{
	int *count = (int *)((char *)base + k->count_off);
	struct id_cfg *ids = (struct id_cfg *)((char *)base + k->off);
	char msg[200];

	if ((uint64_t)*count == k->max)
		return fail(c, n->line, "at most %d ids in a secret", (int)k->max);
	if (config_parse_id(n->value, &ids[*count], msg, sizeof(msg)))
		return fail(c, n->line, "%s: %s", n->key, msg);
	(*count)++;
	return 0;
}

/* One "key = value" into the section's struct at base. */
static int parse_value(struct ctx *c, const struct node *n, const struct key *k, void *base)
{
	void *f = (char *)base + k->off;
	int *count = (int *)((char *)base + k->count_off);
	char msg[256];
	uint64_t v;

	switch (k->type) {
	case KT_BOOL:
		return parse_bool(c, n, f);
	case KT_UINT:
		if (parse_u64(c, n, k->min, k->max ? k->max : uint_max(k->size), &v))
			return -1;
		store_uint(f, k->size, v);
		return 0;
	case KT_DUR_S:
	case KT_DUR_MS:
		return parse_dur(c, n, k, f);
	case KT_FACTOR:
		return parse_factor(c, n, k, f);
	case KT_ENUM:
	case KT_WORD:
		return parse_enum(c, n, k, f);
	case KT_STR:
		free(*(char **)f);
		*(char **)f = strdup(n->value);
		return *(char **)f ? 0 : fail(c, n->line, "out of memory");
	case KT_ADDRS:
		memset(f, 0, k->size);
		return parse_addrs(c, n, f, (int)k->max, count);
	case KT_PEERS:
		memset(f, 0, k->size);
		return parse_peers(c, n, f, (int)k->max, count);
	case KT_PORTS:
		memset(f, 0, k->size);
		return parse_ports(c, n, k, f, count);
	case KT_PROP_IKE:
	case KT_PROP_ESP:
		memset(f, 0, k->size);
		*count = config_parse_proposals(n->value, k->type == KT_PROP_ESP, f, (int)k->max,
						msg, sizeof(msg));
		return *count < 0 ? fail(c, n->line, "%s: %s", n->key, msg) : 0;
	case KT_TS:
		memset(f, 0, k->size);
		return parse_ts_list(c, n, f, count);
	case KT_ID:
		if (config_parse_id(n->value, f, msg, sizeof(msg)))
			return fail(c, n->line, "%s: %s", n->key, msg);
		return 0;
	case KT_IDS:
		return parse_ids(c, n, k, base);
	case KT_CUSTOM:
		return k->parse(c, n, k, base);
	}
	return fail(c, n->line, "%s: no parser", n->key);
}

/* Every default of a section, parsed as if written in the file. */
static int apply_defaults(struct ctx *c, enum cfg_section s, void *base)
{
	for (size_t i = 0; i < sections[s].n_keys; i++) {
		const struct key *k = &sections[s].keys[i];
		struct node n = { .key = (char *)k->name, .value = (char *)k->def };

		if (k->def && parse_value(c, &n, k, base))
			return -1;
	}
	return 0;
}

static void free_keys(enum cfg_section s, void *base)
{
	for (size_t i = 0; i < sections[s].n_keys; i++) {
		const struct key *k = &sections[s].keys[i];

		if (k->type == KT_STR || k->type == KT_WORD) {
			free(*(char **)((char *)base + k->off));
			*(char **)((char *)base + k->off) = NULL;
		}
	}
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The same value for every key of the section (reload keeps SAs then);
 * with but_live, keys a reload applies to running SAs may differ. */
static bool keys_equal(enum cfg_section s, const void *a, const void *b, bool but_live)
{
	for (size_t i = 0; i < sections[s].n_keys; i++) {
		const struct key *k = &sections[s].keys[i];
		const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;

		if (but_live && k->live)
			continue;
		switch (k->type) {
		case KT_STR:
		case KT_WORD:
			if (!str_eq(*(char *const *)fa, *(char *const *)fb))
				return false;
			continue;
		case KT_ADDRS:
		case KT_PEERS:
		case KT_PORTS:
		case KT_PROP_IKE:
		case KT_PROP_ESP:
		case KT_TS:
		case KT_IDS:
			if (*(const int *)((const char *)a + k->count_off) !=
			    *(const int *)((const char *)b + k->count_off))
				return false;
			break;
		case KT_CUSTOM:
			if (s == CFG_SEC_SECRET)
				continue;	/* secrets are not compared */
			break;
		default:
			break;
		}
		if (memcmp(fa, fb, k->size))
			return false;
	}
	return true;
}

/* --- sections ------------------------------------------------------------------ */

static int need_value(struct ctx *c, const struct node *n)
{
	if (!n->value)
		return fail(c, n->line, "'%s' must be a value: expected '%s = ...'", n->key, n->key);
	return 0;
}

static int need_section(struct ctx *c, const struct node *n)
{
	if (n->value)
		return fail(c, n->line, "'%s' must be a section: expected '%s { ... }'", n->key, n->key);
	return 0;
}

/*
 * The keys of one section into base: defaults first, then each line
 * through the table.  sub() takes the subsections, when the section has
 * any.
 */
static int parse_section(struct ctx *c, const struct node *sec, enum cfg_section s,
			 const char *where, void *base,
			 int (*sub)(struct ctx *c, const struct node *n, void *base))
{
	if (apply_defaults(c, s, base))
		return -1;
	for (const struct node *n = sec->child; n; n = n->next) {
		const struct key *k;
		int r;

		if (!n->value && sub)
			r = sub(c, n, base);
		else if (need_value(c, n))
			r = -1;
		else if (!(k = find_key(s, n->key)))
			r = unknown(c, n, s, where);
		else
			r = parse_value(c, n, k, base);
		if (r)
			return r;
	}
	return 0;
}

/* dpd_action, close_action (enum cfg_action), start_action (enum
 * cfg_start). */
static int parse_action(struct ctx *c, const struct node *n, const struct key *k, void *base)
{
	char list[64];

	values_list(k->values, list, sizeof(list), " or ");
	for (const struct key_value *v = k->values; v->name; v++)
		if (!strcmp(n->value, v->name)) {
			if (k->values == v_start)
				*(enum cfg_start *)((char *)base + k->off) = (enum cfg_start)v->value;
			else
				*(enum cfg_action *)((char *)base + k->off) = (enum cfg_action)v->value;
			return 0;
		}
	return fail(c, n->line, "unknown %s '%s' (expected %s)", n->key, n->value, list);
}

static int parse_log_level(struct ctx *c, const struct node *n, const struct key *k, void *base)
{
	struct daemon_cfg *d = base;
	int all, levels[LOG_SUB_COUNT];
	char err[256];

	if (log_levels_parse(n->value, &all, levels, err, sizeof(err)))
		return fail(c, n->line, "log_level: %s", err);
	d->log_level = all >= 0 ? all : LOG_LVL_INFO;
	for (int i = 0; i < (int)sizeof(d->log_levels); i++)
		d->log_levels[i] = (int8_t)(i < LOG_SUB_COUNT ? levels[i] : -1);
	return 0;
}

void config_log_apply(const struct daemon_cfg *d)
{
	log_set_level((enum log_level)d->log_level);
	for (int i = 0; i < LOG_SUB_COUNT; i++)
		if (d->log_levels[i] >= 0)
			log_set_subsys_level((enum log_subsys)i, d->log_levels[i]);
}

static int parse_kex_pool(struct ctx *c, const struct node *n, const struct key *k, void *base)
{
	uint32_t *f = (uint32_t *)((char *)base + k->off);
	uint64_t v;

	if (!strcmp(n->value, "auto")) {
		*f = CFG_KEX_POOL_AUTO;
		return 0;
	}
	if (!strcmp(n->value, "no")) {
		*f = 0;
		return 0;
	}
	if (!isdigit((unsigned char)n->value[0]) || strtoul(n->value, NULL, 10) > k->max ||
	    parse_u64(c, n, 0, k->max, &v))
		return fail(c, n->line, "%s: expected auto, no or a number of key pairs from 0 to %d, got '%s'",
			    n->key, (int)k->max, n->value);
	*f = (uint32_t)v;
	return 0;
}

/* The line where key is set in section sec (its last), 0 if it is not. */
static int set_line(const struct node *sec, const char *key)
{
	int line = 0;

	for (const struct node *n = sec->child; n; n = n->next)
		if (n->value && !strcmp(n->key, key))
			line = n->line;
	return line;
}

/* The line of key in section sec (its last), else the section's. */
static int line_of(const struct node *sec, const char *key)
{
	int line = set_line(sec, key);

	return line ? line : sec->line;
}

static int parse_end(struct ctx *c, const struct node *sec, struct end_cfg *e, const char *where)
{
	if (parse_section(c, sec, CFG_SEC_END, where, e, NULL))
		return -1;
	e->certs_line = set_line(sec, "certs");
	e->key_line = set_line(sec, "key");
	e->cacerts_line = set_line(sec, "cacerts");
	for (const struct node *n = sec->child; n && !strcmp(where, "local"); n = n->next)
		if (n->value && !strcmp(n->key, "id") &&
		    (!strcmp(n->value, "%any") || strchr(n->value, '*')))
			return fail(c, n->line, "id: our own identity cannot be a wildcard or %%any (only the remote one matches many), got '%s'",
				    n->value);
	if (!e->auth)
		return fail(c, sec->line, "%s: missing 'auth = psk|pubkey'", where);
	if (e->auth == CFG_AUTH_PUBKEY && !strcmp(where, "local") && (!e->certs || !e->key))
		return fail(c, sec->line, "local: auth = pubkey needs 'certs' and 'key'");
	return 0;
}

static int parse_ts_list(struct ctx *c, const struct node *n, struct ts_cfg *out, int *count)
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

static void child_free(struct child_cfg *ch)
{
	while (ch) {
		struct child_cfg *next = ch->next;

		free_keys(CFG_SEC_CHILD, ch);
		free(ch->name);
		free(ch);
		ch = next;
	}
}

static int parse_child(struct ctx *c, const struct node *sec, struct child_cfg *ch)
{
	if (parse_section(c, sec, CFG_SEC_CHILD, "child", ch, NULL))
		return -1;
	if (!ch->n_local_ts || !ch->n_remote_ts)
		return fail(c, sec->line, "child '%s': local_ts and remote_ts are required", ch->name);
	if (ch->life_time_s && ch->rekey_time_s >= ch->life_time_s)
		return fail(c, sec->line, "child '%s': rekey_time must be shorter than life_time", ch->name);
	return 0;
}

const char *cfg_transport_name(enum cfg_transport t)
{
	for (const struct key_value *v = v_transport; v->name; v++)
		if (v->value == (int)t)
			return v->name;
	return "?";
}

/* A calloc'd struct for a named subsection k ("name { ... }"), its name
 * (a char * at name_off) set; NULL with the error given. */
static void *named_new(struct ctx *c, const struct node *k, size_t size, size_t name_off)
{
	char *p, *name = NULL;

	if (need_section(c, k))
		return NULL;
	p = calloc(1, size);
	if (!p || !(name = strdup(k->key))) {
		free(p);
		fail(c, k->line, "out of memory");
		return NULL;
	}
	*(char **)(p + name_off) = name;
	return p;
}

static int parse_children(struct ctx *c, const struct node *sec, struct conn_cfg *cc)
{
	struct child_cfg **tail = &cc->children;

	for (const struct node *k = sec->child; k; k = k->next) {
		struct child_cfg *ch = named_new(c, k, sizeof(*ch), offsetof(struct child_cfg, name));

		if (!ch)
			return -1;
		ch->line = k->line;
		*tail = ch;
		tail = &ch->next;
		if (parse_child(c, k, ch))
			return -1;
	}
	return 0;
}

/* A connection's subsections: local, remote, children. */
static int conn_sub(struct ctx *c, const struct node *n, void *base)
{
	struct conn_cfg *cc = base;

	if (!strcmp(n->key, "local"))
		return parse_end(c, n, &cc->local, "local");
	if (!strcmp(n->key, "remote"))
		return parse_end(c, n, &cc->remote, "remote");
	if (!strcmp(n->key, "children"))
		return parse_children(c, n, cc);
	return fail(c, n->line, "unknown section '%s' in connection (expected local, remote, children)",
		    n->key);
}

/* An IPv4 address no peer has: unspecified, broadcast or multicast. */
static const char *not_a_peer4(uint32_t a)
{
	if (a == 0)
		return "the unspecified address";
	if (a == 0xffffffff)
		return "the broadcast address";
	if ((a >> 28) == 0xe)
		return "a multicast address";
	return NULL;
}

/* An address no peer has, IPv4-mapped IPv6 included. */
static const char *not_a_peer(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		return not_a_peer4(ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr));
	} else {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		uint32_t v4;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(&v4, &a->s6_addr[12], 4);
			return not_a_peer4(ntohl(v4));
		}
		if (IN6_IS_ADDR_UNSPECIFIED(a))
			return "the unspecified address";
		if (IN6_IS_ADDR_MULTICAST(a))
			return "a multicast address";
	}
	return NULL;
}

bool cfg_child_trapped(const struct conn_cfg *cc, const struct child_cfg *ch)
{
	return ch->start_action == CFG_START_TRAP ||
	       (ch->start_action == CFG_START_NONE && cc->start_action == CFG_START_TRAP);
}

/* A trap's policies are those of the Child SA to come: tunnel mode
 * templates name the outer addresses, known before any IKE SA.  With
 * dpd_action or close_action = trap, every child may have one. */
static int check_trap(struct ctx *c, const struct node *sec, const struct conn_cfg *cc)
{
	const struct child_cfg *ch = cc->children;
	const char *why = "start_action";
	int n_addr = 0;

	while (ch && !cfg_child_trapped(cc, ch))
		ch = ch->next;
	if (!ch && (cc->dpd_action == CFG_ACTION_TRAP || cc->close_action == CFG_ACTION_TRAP)) {
		ch = cc->children;
		why = cc->dpd_action == CFG_ACTION_TRAP ? "dpd_action" : "close_action";
	}
	if (!ch)
		return 0;
	for (int i = 0; i < cc->n_remote; i++)
		n_addr += peer_is_addr(&cc->remote_addrs[i]);
	if (n_addr != 1 || cc->n_remote != 1)
		return fail(c, line_of(sec, "remote_addrs"),
			    "remote_addrs: child '%s' has %s = trap: its policies need the peer's one address (a tunnel template), got %d addresses%s",
			    ch->name, why, n_addr, n_addr == cc->n_remote ? "" : " and prefixes or %any");
	if (cc->n_local > 1)
		return fail(c, line_of(sec, "local_addrs"),
			    "local_addrs: child '%s' has %s = trap: its policies need one local address, or none for the one the route to the peer takes, got %d addresses",
			    ch->name, why, cc->n_local);
	return 0;
}

/* A connection that starts (or traps) initiates, to an address: prefixes
 * and %any only say whom a responder admits. */
static int check_start(struct ctx *c, const struct node *sec, const struct conn_cfg *cc)
{
	const char *what = cc->start_action == CFG_START_START ? "start" :
			   cc->start_action == CFG_START_TRAP ? "trap" : NULL;
	char p[CFG_HOST_MAX + 2 * ADDR_STRLEN];

	for (const struct child_cfg *ch = cc->children; ch && !what; ch = ch->next)
		what = ch->start_action == CFG_START_START ? "start" :
		       ch->start_action == CFG_START_TRAP ? "trap" : NULL;
	if (!what || cfg_remote_addr(cc) || (cfg_remote_host(cc) && !strcmp(what, "start")))
		return 0;
	return fail(c, line_of(sec, "remote_addrs"),
		    "remote_addrs: connection '%s' has start_action = %s, but %s%s admits peers and is no address to initiate to: list the peer's address too, or set start_action = none",
		    cc->name, what, config_peer_str(&cc->remote_addrs[0], p, sizeof(p)),
		    cc->n_remote > 1 ? " (and the rest)" : "");
}

/* auto and separate race UDP and TCP after tcp_race_delay; before, they
 * dropped UDP for TCP after tcp_fallback_delay.  An older configuration
 * that set the latter keeps its delay: the key writes tcp_race_delay_ms. */
static int check_race(struct ctx *c, const struct node *sec, const struct conn_cfg *cc)
{
	int fb = set_line(sec, "tcp_fallback_delay");
	const char *t = cfg_transport_name(cc->transport);

	if ((cc->transport != CFG_XPORT_AUTO && cc->transport != CFG_XPORT_SEPARATE) || !fb)
		return 0;
	if (set_line(sec, "tcp_race_delay"))
		return fail(c, fb, "tcp_fallback_delay: transport = %s starts TCP after tcp_race_delay, which is set too: remove tcp_fallback_delay",
			    t);
	warn(c, fb, "tcp_fallback_delay: transport = %s now races TCP beside UDP after tcp_race_delay (default 250ms); taken as tcp_race_delay = %ums, write that instead",
	     t, cc->tcp_race_delay_ms);
	return 0;
}

/*
 * draft-ietf-ipsecme-ikev2-mlkem §3: ML-KEM-768 and -1024 in IKE_SA_INIT
 * over UDP make a request the path MTU may not carry, and RFC 7383 cannot
 * fragment IKE_SA_INIT, so without path MTU discovery they SHOULD NOT be
 * used there; over a reliable transport (RFC 9329, or separate transports
 * starting on TCP) any ML-KEM MAY.  A warning, the load goes on.
 */
static void check_mlkem_udp(struct ctx *c, const struct node *sec, const struct conn_cfg *cc)
{
	int i, k;

	if (cc->transport == CFG_XPORT_TCP || cc->transport == CFG_XPORT_SEPARATE_TCP_FIRST)
		return;
	for (i = 0; i < cc->n_ike; i++)
		for (k = 0; k < cc->ike[i].n_ke; k++)
			if (cc->ike[i].ke[k] == 36 || cc->ike[i].ke[k] == 37) {
				warn(c, line_of(sec, "proposals"),
				     "proposals: %s in IKE_SA_INIT over UDP makes a request of over 1,400 bytes that IKE fragmentation cannot split (draft-ietf-ipsecme-ikev2-mlkem: SHOULD NOT without path MTU discovery); use transport = tcp or separate-tcp-first, or a classical method with ke1_%s",
				     cc->ike[i].ke[k] == 36 ? "mlkem768" : "mlkem1024",
				     cc->ike[i].ke[k] == 36 ? "mlkem768" : "mlkem1024");
				return;
			}
}

const char *config_not_a_host(const struct sockaddr_storage *ss)
{
	return not_a_peer(ss);
}

/* vips: one per family, an address that could be a host's (§3.15.1). */
static int check_vips(struct ctx *c, const struct node *sec, struct conn_cfg *cc)
{
	char a[ADDR_STRLEN];

	if (cc->n_vips == 2 && cc->vips[0].ss_family == cc->vips[1].ss_family)
		return fail(c, line_of(sec, "vips"), "vips: one address of each family at most, got two %s",
			    cc->vips[0].ss_family == AF_INET ? "IPv4" : "IPv6");
	for (int i = 0; i < cc->n_vips; i++) {
		static const uint8_t zero[16];
		const uint8_t *p;
		size_t l = addr_bytes(&cc->vips[i], &p);
		const char *what = !memcmp(p, zero, l) ? NULL : not_a_peer(&cc->vips[i]);

		if (what)
			return fail(c, line_of(sec, "vips"), "vips: %s is %s, not a virtual IP",
				    addr_str(&cc->vips[i], a, sizeof(a)), what);
	}
	return 0;
}

bool config_has_addke(const struct conn_cfg *cc)
{
	for (int i = 0; i < cc->n_ike; i++)
		for (int n = 0; n < CFG_MAX_ADDKE; n++)
			if (cc->ike[i].n_addke[n])
				return true;
	return false;
}

/* RFC 9370 §2.2.1: additional key exchanges run in IKE_INTERMEDIATE. */
static int check_addke(struct ctx *c, const struct node *sec, const struct conn_cfg *cc)
{
	if (cc->intermediate != CFG_INTER_NO || !config_has_addke(cc))
		return 0;
	return fail(c, line_of(sec, "intermediate"),
		    "intermediate: connection '%s' has additional key exchanges (keN_) in its proposals, which run in IKE_INTERMEDIATE exchanges (RFC 9370): set intermediate = accept or yes, or remove them",
		    cc->name);
}

static int parse_conn(struct ctx *c, const struct node *sec, struct conn_cfg *cc)
{
	if (parse_section(c, sec, CFG_SEC_CONN, "connection", cc, conn_sub))
		return -1;
	if (!cc->n_remote)
		return fail(c, sec->line, "connection '%s': remote_addrs is required", cc->name);
	cc->pools_line = line_of(sec, "pools");
	for (int i = 0; i < cc->n_remote; i++) {
		const char *what = peer_is_addr(&cc->remote_addrs[i]) ?
				   not_a_peer(&cc->remote_addrs[i].addr) : NULL;
		char a[ADDR_STRLEN];

		if (!what)
			continue;
		return fail(c, line_of(sec, "remote_addrs"),
			    "remote_addrs: %s is %s, not a peer's address",
			    addr_str(&cc->remote_addrs[i].addr, a, sizeof(a)), what);
	}
	if (!cc->local.auth || !cc->remote.auth)
		return fail(c, sec->line, "connection '%s': needs 'local { auth = ... }' and 'remote { auth = ... }'", cc->name);
	if (check_race(c, sec, cc) || check_start(c, sec, cc) || check_vips(c, sec, cc) ||
	    check_addke(c, sec, cc))
		return -1;
	check_mlkem_udp(c, sec, cc);
	return check_trap(c, sec, cc);
}

static void conn_free(struct conn_cfg *cc)
{
	while (cc) {
		struct conn_cfg *next = cc->next;

		child_free(cc->children);
		free_keys(CFG_SEC_END, &cc->local);
		free_keys(CFG_SEC_END, &cc->remote);
		free_keys(CFG_SEC_CONN, cc);
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

/* RFC 7296 §2.15: a PSK as strong as the keys it makes. */
static void secret_strength(struct ctx *c, const struct node *n, const struct secret_cfg *s)
{
	if (s->secret_len < 16)
		warn(c, n->line, "secret '%s' is %zu bytes: a PSK shorter than 16 bytes can be guessed offline from one exchange (RFC 7296 section 2.15), use a long random one",
		     s->name, s->secret_len);
}

static int parse_secret_value(struct ctx *c, const struct node *n, const struct key *k, void *base)
{
	struct secret_cfg *s = base;
	const char *v = n->value;

	if (s->secret || !*v)
		return fail(c, n->line, "secret: expected one non-empty secret");
	s->line = n->line;
	/* strongSwan's encodings: 0x hex, 0s base64 */
	if (!strncmp(v, "0x", 2) || !strncmp(v, "0s", 2)) {
		size_t len = strlen(v + 2), pad = 0;
		int r = -1;

		if (v[1] == 'x') {
			if (len && len % 2 == 0 && (s->secret = malloc(len / 2))) {
				r = 0;
				for (size_t i = 0; i < len / 2 && !r; i++) {
					int hi = OPENSSL_hexchar2int((unsigned char)v[2 + 2 * i]);
					int lo = OPENSSL_hexchar2int((unsigned char)v[3 + 2 * i]);

					r = hi < 0 || lo < 0 ? -1 : 0;
					if (!r)
						s->secret[i] = (uint8_t)(hi << 4 | lo);
				}
				s->secret_len = len / 2;
			}
		} else if (len && len % 4 == 0 && (s->secret = malloc(len / 4 * 3))) {
			r = EVP_DecodeBlock(s->secret, (const unsigned char *)v + 2, (int)len);
			while (pad < 2 && v[2 + len - 1 - pad] == '=')
				pad++;
			s->secret_len = r > 0 ? (size_t)r - pad : 0;
			r = s->secret_len ? 0 : -1;
		}
		if (!r) {
			secret_strength(c, n, s);
			return 0;
		}
		if (s->secret) {
			OPENSSL_cleanse(s->secret, v[1] == 'x' ? len / 2 : len / 4 * 3);
			free(s->secret);
			s->secret = NULL;
		}
		s->secret_len = 0;
		return fail(c, n->line, "secret: expected %s after '0%c' (a secret that starts "
			    "with 0x or 0s is read as hex or base64, as strongSwan reads it)",
			    v[1] == 'x' ? "an even number of hex digits" : "base64", v[1]);
	}
	s->secret_len = strlen(v);
	s->secret = (uint8_t *)strdup(v);
	if (!s->secret)
		return fail(c, n->line, "out of memory");
	secret_strength(c, n, s);
	return 0;
}

/* A secret file: regular, ours or root's, not readable by group or others. */
static int parse_secret_file(struct ctx *c, const struct node *n, const struct key *k, void *base)
{
	struct secret_cfg *s = base;
	char msg[512];
	size_t len = 0;
	char *text;

	if (s->secret)
		return fail(c, n->line, "secret: expected one non-empty secret");
	text = file_read_regular(n->value, FILE_NO_GROUP_READ | FILE_OWNER, 1023, &len, NULL,
				 msg, sizeof(msg));
	if (!text)
		return fail(c, n->line, "secret_file: %s", msg);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (!len) {
		free(text);
		return fail(c, n->line, "secret_file: '%s' must hold 1 to 1023 bytes", n->value);
	}
	s->secret = (uint8_t *)text;
	s->secret_len = len;
	secret_strength(c, n, s);
	return 0;
}

static int parse_secret(struct ctx *c, const struct node *sec, struct secret_cfg *s)
{
	if (parse_section(c, sec, CFG_SEC_SECRET, "secret", s, NULL))
		return -1;
	if (!s->secret)
		return fail(c, sec->line, "secret '%s': missing 'secret' or 'secret_file'", s->name);
	if (!s->n_ids)
		return fail(c, sec->line, "secret '%s': needs at least one 'id'", s->name);
	return 0;
}

/*
 * Two keys that must differ: the one set last is blamed, on its line,
 * and the other said to be its default when it is not in the file.
 * Returns which of a (0) or b (1) is blamed.
 */
static int blame(const struct node *sec, const char *a, const char *b, int *line,
		 const char **dflt)
{
	int la = set_line(sec, a), lb = set_line(sec, b);

	*line = la > lb ? la : lb ? lb : sec->line;
	*dflt = la && lb ? "" : " (its default)";
	return lb > la;
}

/*
 * A private notify type must be one no one else uses: not one IANA
 * assigned (RFC 7296 section 3.10.1: 16384-40959 are IANA's), not
 * Libreswan's or strongSwan's own (40960-40969); daemon_checks keeps the
 * two apart.
 */
static int check_notify(struct ctx *c, const struct node *sec, const char *key, uint16_t type)
{
	const char *name = ikev2_notify_name(type);

	if (strncmp(name, "unknown", 7) && type != IKEV2_N_SEPARATE_TRANSPORTS_DEFAULT)
		return fail(c, line_of(sec, key), "%s: %u is %s, assigned by IANA: choose an unassigned type, e.g. from the private-use range 40970-65535",
			    key, type, name);
	if (type >= 40960 && type <= 40969)
		return fail(c, line_of(sec, key), "%s: %u is a private notify of Libreswan or strongSwan: choose another, e.g. from 40970-65535",
			    key, type);
	return 0;
}

/* What the daemon's keys must be together. */
static int daemon_checks(struct ctx *c, const struct node *sec, const struct daemon_cfg *d)
{
	static const char *const port[] = { "udp_port", "natt_port" };
	static const char *const notify[] = { "separate_transports_notify", "esp_transport_notify" };
	const char *dflt;
	int line, b;

	if (d->udp_port == d->natt_port) {
		b = blame(sec, port[0], port[1], &line, &dflt);
		return fail(c, line, "%s: %u is %s too%s: IKE and NAT traversal need two ports",
			    port[b], d->natt_port, port[!b], dflt);
	}
	for (int i = 0; i < d->n_tcp_ports; i++)
		for (int j = 0; j < i; j++)
			if (d->tcp_ports[i] == d->tcp_ports[j])
				return fail(c, line_of(sec, "tcp_ports"), "tcp_ports: %u is listed twice",
					    d->tcp_ports[i]);
	if (check_notify(c, sec, notify[0], d->separate_transports_notify) ||
	    check_notify(c, sec, notify[1], d->esp_transport_notify))
		return -1;
	if (d->separate_transports_notify == d->esp_transport_notify) {
		b = blame(sec, notify[0], notify[1], &line, &dflt);
		return fail(c, line, "%s: %u is also %s%s: the two must differ",
			    notify[b], d->esp_transport_notify, notify[!b], dflt);
	}
	if (d->cookie_threshold > d->half_open_max) {
		/* the threshold's line when it is set, the maximum's if not */
		line = set_line(sec, "cookie_threshold");
		return fail(c, line ? line : line_of(sec, "half_open_max"),
			    "cookie_threshold (%u%s) is above half_open_max (%u%s): cookies would never be asked for",
			    d->cookie_threshold, line ? "" : ", its default", d->half_open_max,
			    line && !set_line(sec, "half_open_max") ? ", its default" : "");
	}
	return 0;
}

static bool id_eq(const struct id_cfg *a, const struct id_cfg *b);

static int node_cmp(const void *a, const void *b)
{
	const struct node *x = *(const struct node *const *)a, *y = *(const struct node *const *)b;
	int r = strcmp(x->key, y->key);

	if (r)
		return r;
	if (!x->value != !y->value)
		return !x->value ? -1 : 1;
	return x->line - y->line;
}

/*
 * No key set twice in one section, no two subsections of one name: the
 * second would silently win (or be merged).  parent names the section
 * whose subsections these are, for the message.
 */
static int check_dups(struct ctx *c, const struct node *first, const char *parent)
{
	static const struct { const char *parent, *what; } named[] = {
		{ "connections", "connection" }, { "secrets", "secret" }, { "children", "child" },
		{ "pools", "pool" },
	};
	const struct node **v;
	size_t n = 0, i;
	const char *what = "section";
	int r = 0;

	for (const struct node *k = first; k; k = k->next)
		n++;
	if (n < 2)
		goto children;
	v = malloc(n * sizeof(*v));
	if (!v)
		return fail(c, first->line, "out of memory");
	i = 0;
	for (const struct node *k = first; k; k = k->next)
		v[i++] = k;
	qsort(v, n, sizeof(*v), node_cmp);
	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (parent && !strcmp(parent, named[i].parent))
			what = named[i].what;
	for (i = 1; i < n && !r; i++) {
		if (strcmp(v[i]->key, v[i - 1]->key) || !v[i]->value != !v[i - 1]->value)
			continue;
		if (v[i]->value)
			r = fail(c, v[i]->line, "'%s' is set twice in this section (first on line %d): remove one",
				 v[i]->key, v[i - 1]->line);
		else
			r = fail(c, v[i]->line, "%s '%s' defined twice (first on line %d)%s",
				 what, v[i]->key, v[i - 1]->line, parent ? "" : ": merge them");
	}
	free(v);
children:
	for (const struct node *k = first; k && !r; k = k->next)
		if (!k->value)
			r = check_dups(c, k->child, k->key);
	return r;
}

/* A connection's pools = p4, p6: names, checked against the pools
 * section once the file is read (check_pool_names). */
static int parse_pool_names(struct ctx *c, const struct node *n, const struct key *k, void *base)
{
	struct conn_cfg *cc = base;
	char *copy = strdup(n->value), *items[CFG_MAX_POOLS + 1];
	int m = copy ? split_list(copy, items, CFG_MAX_POOLS) : -1;

	(void)k;
	memset(cc->pools, 0, sizeof(cc->pools));
	cc->n_pools = 0;
	if (m <= 0) {
		free(copy);
		return fail(c, n->line, "%s: expected 1 to %d pool names", n->key, CFG_MAX_POOLS);
	}
	for (int i = 0; i < m; i++) {
		if (strlen(items[i]) >= CFG_NAME_MAX || !valid_key(items[i])) {
			fail(c, n->line, "%s: expected the name of a section of pools { }, got '%s'",
			     n->key, items[i]);
			free(copy);
			return -1;
		}
		for (int j = 0; j < i; j++)
			if (!strcmp(cc->pools[j].name, items[i])) {
				fail(c, n->line, "%s: pool '%s' is listed twice", n->key, items[i]);
				free(copy);
				return -1;
			}
		snprintf(cc->pools[i].name, CFG_NAME_MAX, "%s", items[i]);
	}
	cc->n_pools = m;
	free(copy);
	return 0;
}

/* Address bytes of ss into out (16 bytes, zero-padded); the family. */
static int addr_raw(const struct sockaddr_storage *ss, uint8_t out[16])
{
	const uint8_t *p;
	size_t l = addr_bytes(ss, &p);

	memset(out, 0, 16);
	memcpy(out, p, l);
	return ss->ss_family;
}

/* The count of first..last (first <= last), UINT64_MAX when they differ
 * before their last 32 bits. */
static uint64_t range_size(const uint8_t *first, const uint8_t *last, size_t len)
{
	uint32_t f, l;

	if (memcmp(first, last, len - 4))
		return UINT64_MAX;
	memcpy(&f, first + len - 4, 4);
	memcpy(&l, last + len - 4, 4);
	return (uint64_t)ntohl(l) - ntohl(f) + 1;
}

uint64_t cfg_pool_size(const struct pool_cfg *pl)
{
	return range_size(pl->first, pl->last, pl->family == AF_INET ? 4 : 16);
}

/* pool addrs: "10.10.0.0/24" or "10.10.0.10-10.10.0.99". */
static int parse_pool_addrs(struct ctx *c, const struct node *n, const struct key *k, void *base)
{
	struct pool_cfg *pl = base;
	struct sockaddr_storage a, b;
	const char *dash = strchr(n->value, '-'), *why = NULL;
	unsigned int plen, bits;
	size_t len;

	(void)k;
	if (dash) {
		char lo[INET6_ADDRSTRLEN + 1];

		if ((size_t)(dash - n->value) >= sizeof(lo))
			goto bad;
		snprintf(lo, sizeof(lo), "%.*s", (int)(dash - n->value), n->value);
		if (addr_parse(trim(lo), &a) || addr_parse(dash + 1 + strspn(dash + 1, " \t"), &b))
			goto bad;
		if (a.ss_family != b.ss_family)
			return fail(c, n->line, "%s: the range's ends are of two families", n->key);
		pl->family = addr_raw(&a, pl->first);
		addr_raw(&b, pl->last);
		len = pl->family == AF_INET ? 4 : 16;
		if (memcmp(pl->first, pl->last, len) > 0)
			return fail(c, n->line, "%s: the range's first address is after its last", n->key);
	} else {
		why = parse_prefix(n->value, &a, &plen);
		if (why)
			return fail(c, n->line, "%s: %s, got '%s'", n->key, why, n->value);
		pl->family = addr_raw(&a, pl->first);
		bits = pl->family == AF_INET ? 32 : 128;
		len = bits / 8;
		memcpy(pl->last, pl->first, 16);
		for (unsigned int i = plen; i < bits; i++)
			pl->last[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		/* not the network address, nor IPv4's broadcast address */
		if (bits - plen >= 2) {
			for (int i = (int)len - 1; i >= 0 && !++pl->first[i]; i--)
				;
			if (pl->family == AF_INET)
				pl->last[3]--;
		}
	}
	if (range_size(pl->first, pl->last, len) == UINT64_MAX)
		return fail(c, n->line, "%s: at most 2^32 addresses in a pool", n->key);
	return 0;
bad:
	return fail(c, n->line, "%s: expected a prefix like 10.10.0.0/24 or a range like 10.10.0.10-10.10.0.99, got '%s'",
		    n->key, n->value);
}

static int parse_pool(struct ctx *c, const struct node *sec, struct pool_cfg *pl)
{
	if (strlen(pl->name) >= CFG_NAME_MAX)
		return fail(c, sec->line, "pool '%s': a pool's name has at most %d characters",
			    pl->name, CFG_NAME_MAX - 1);
	if (parse_section(c, sec, CFG_SEC_POOL, "pool", pl, NULL))
		return -1;
	if (!pl->family)
		return fail(c, sec->line, "pool '%s': addrs is required", pl->name);
	return 0;
}

static void pool_free(struct pool_cfg *pl)
{
	while (pl) {
		struct pool_cfg *next = pl->next;

		free_keys(CFG_SEC_POOL, pl);
		free(pl->name);
		free(pl);
		pl = next;
	}
}

static void parse_pools(struct ctx *c, const struct node *sec, struct config *cfg)
{
	struct pool_cfg **tail = &cfg->pools;

	for (const struct node *k = sec->child; k && !c->failed; k = k->next) {
		struct pool_cfg *pl = named_new(c, k, sizeof(*pl), offsetof(struct pool_cfg, name));

		if (!pl)
			break;
		pl->line = k->line;
		*tail = pl;
		tail = &pl->next;
		parse_pool(c, k, pl);
	}
}

/* Every pool a connection names exists; the file is read by now. */
static int check_pool_names(struct ctx *c, const struct config *cfg)
{
	for (const struct conn_cfg *cc = cfg->conns; cc; cc = cc->next)
		for (int i = 0; i < cc->n_pools; i++)
			if (!config_pool(cfg, cc->pools[i].name))
				return fail(c, cc->pools_line, "pools: connection '%s' names pool '%s', which the pools section does not define",
					    cc->name, cc->pools[i].name);
	return 0;
}

/* Two secrets for the same identities: one of them could never be used. */
static int check_secrets(struct ctx *c, const struct config *cfg)
{
	for (const struct secret_cfg *a = cfg->secrets; a; a = a->next)
		for (const struct secret_cfg *b = a->next; b; b = b->next) {
			int common = 0;

			for (int i = 0; i < a->n_ids; i++)
				for (int j = 0; j < b->n_ids; j++)
					common += id_eq(&a->ids[i], &b->ids[j]);
			if (common >= 2 || (common == 1 && a->n_ids == 1 && b->n_ids == 1))
				return fail(c, b->section_line, "secret '%s' is for the same identities as secret '%s' (line %d): one of them would never be used",
					    b->name, a->name, a->section_line);
		}
	return 0;
}

static void parse_connections(struct ctx *c, const struct node *sec, struct config *cfg)
{
	struct conn_cfg **tail = &cfg->conns;

	for (const struct node *k = sec->child; k && !c->failed; k = k->next) {
		struct conn_cfg *cc;

		if (!k->value && config_conn(cfg, k->key)) {
			fail(c, k->line, "connection '%s' defined twice", k->key);
			break;
		}
		cc = named_new(c, k, sizeof(*cc), offsetof(struct conn_cfg, name));
		if (!cc)
			break;
		cc->line = k->line;
		*tail = cc;
		tail = &cc->next;
		parse_conn(c, k, cc);
	}
}

static void parse_secrets(struct ctx *c, const struct node *sec, struct config *cfg)
{
	struct secret_cfg **tail = &cfg->secrets;

	for (const struct node *k = sec->child; k && !c->failed; k = k->next) {
		struct secret_cfg *s = named_new(c, k, sizeof(*s), offsetof(struct secret_cfg, name));

		if (!s)
			break;
		s->section_line = k->line;
		*tail = s;
		tail = &s->next;
		parse_secret(c, k, s);
	}
}

int config_parse(const char *name, const char *text, size_t len,
		 struct config **out, char *err, size_t errlen)
{
	struct ctx c = { .file = name, .err = err, .errlen = errlen };
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
	if (!copy || !cfg || !(cfg->path = strdup(name))) {
		free(copy);
		if (cfg)
			free(cfg->path);
		free(cfg);
		return fail(&c, 0, "out of memory");
	}
	memcpy(copy, text, len);
	copy[len] = 0;
	tree = parse_tree(&c, copy);
	OPENSSL_cleanse(copy, len);
	free(copy);
	apply_defaults(&c, CFG_SEC_DAEMON, &cfg->daemon);
	if (!c.failed)
		check_dups(&c, tree, NULL);
	for (struct node *n = tree; n && !c.failed; n = n->next) {
		if (need_section(&c, n))
			break;
		/* a second section of a name would be merged or replace the
		 * first: neither is what its writer meant */
		for (struct node *m = tree; m != n; m = m->next)
			if (!strcmp(m->key, n->key)) {
				fail(&c, n->line, "section '%s' defined twice (first on line %d): merge them",
				     n->key, m->line);
				break;
			}
		if (c.failed)
			break;
		if (!strcmp(n->key, "daemon")) {
			if (!parse_section(&c, n, CFG_SEC_DAEMON, "daemon", &cfg->daemon, NULL))
				daemon_checks(&c, n, &cfg->daemon);
		}
		else if (!strcmp(n->key, "connections"))
			parse_connections(&c, n, cfg);
		else if (!strcmp(n->key, "secrets"))
			parse_secrets(&c, n, cfg);
		else if (!strcmp(n->key, "pools"))
			parse_pools(&c, n, cfg);
		else
			fail(&c, n->line, "unknown section '%s' in the file (expected daemon, connections, secrets, pools)",
			     n->key);
	}
	node_free(tree);
	if (!c.failed)
		check_secrets(&c, cfg);
	if (!c.failed)
		check_pool_names(&c, cfg);
	cfg->warnings = c.warnings;
	if (c.failed) {
		config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct stat st;
	size_t n = 0;
	char *text;
	int r;

	*out = NULL;
	text = file_read_regular(path, FILE_NO_GROUP_WRITE | FILE_OWNER, CFG_MAX_FILE, &n, &st,
				 err, errlen);
	if (!text)
		return -1;
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
	pool_free(c->pools);
	free_keys(CFG_SEC_DAEMON, &c->daemon);
	free(c->warnings);
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

const struct pool_cfg *config_pool(const struct config *c, const char *name)
{
	for (const struct pool_cfg *pl = c->pools; pl; pl = pl->next)
		if (!strcmp(pl->name, name))
			return pl;
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

static bool conns_equal(const struct conn_cfg *a, const struct conn_cfg *b, bool but_live)
{
	const struct child_cfg *x, *y;

	if (strcmp(a->name, b->name) || !keys_equal(CFG_SEC_CONN, a, b, but_live) ||
	    !keys_equal(CFG_SEC_END, &a->local, &b->local, but_live) ||
	    !keys_equal(CFG_SEC_END, &a->remote, &b->remote, but_live))
		return false;
	for (x = a->children, y = b->children; x && y; x = x->next, y = y->next)
		if (strcmp(x->name, y->name) || !keys_equal(CFG_SEC_CHILD, x, y, but_live))
			return false;
	return !x && !y;
}

bool conn_cfg_equal(const struct conn_cfg *a, const struct conn_cfg *b)
{
	return conns_equal(a, b, false);
}

bool conn_cfg_equal_but_timers(const struct conn_cfg *a, const struct conn_cfg *b)
{
	return conns_equal(a, b, true);
}

/* --- what start-up needs ----------------------------------------------------------- */

void config_id_str(const struct id_cfg *id, char *out, size_t len)
{
	switch (id->type) {
	case 1:
	case 5:
		inet_ntop(id->type == 1 ? AF_INET : AF_INET6, id->data, out, (socklen_t)len);
		return;
	case 2:
	case 3:
	case 9:	/* a DN is kept as its text (exch_auth.c makes it DER) */
		snprintf(out, len, "%s:%.*s", id->type == 2 ? "fqdn" : id->type == 3 ? "email" : "dn",
			 id->len, id->data);
		return;
	}
	snprintf(out, len, "(id type %u)", id->type);
}

/* RFC 7296 §3.5: an FQDN is compared as DNS names are (RFC 4343), an
 * RFC 822 address as mail does in practice; the others are bytes. */
static bool id_folds(const struct id_cfg *id)
{
	return id->type == IKEV2_ID_FQDN || id->type == IKEV2_ID_RFC822_ADDR;
}

bool config_id_equal(const struct id_cfg *a, const struct id_cfg *b)
{
	if (a->type != b->type || a->len != b->len)
		return false;
	if (id_folds(a))
		return !strncasecmp((const char *)a->data, (const char *)b->data, a->len);
	return !memcmp(a->data, b->data, a->len);
}

struct id_cfg *config_id_dup(const struct id_cfg *id)
{
	size_t n = offsetof(struct id_cfg, data) + id->len;
	uint8_t *d = malloc(n);

	if (!d)
		return NULL;
	memcpy(d, id, n);
	return (struct id_cfg *)(void *)d;
}

uint32_t config_id_hash(const struct id_cfg *id)
{
	const size_t head = offsetof(struct id_cfg, data);
	uint8_t folded[sizeof(*id)];

	if (!id_folds(id))
		return htab_hash(id, head + id->len);
	memcpy(folded, id, head);
	for (size_t i = 0; i < id->len; i++)
		folded[head + i] = (uint8_t)tolower(id->data[i]);
	return htab_hash(folded, head + id->len);
}

static void addr_id(const struct sockaddr_storage *ss, struct id_cfg *id)
{
	memset(id, 0, sizeof(*id));
	if (ss->ss_family == AF_INET) {
		id->type = 1;
		id->len = 4;
		memcpy(id->data, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else {
		id->type = 5;
		id->len = 16;
		memcpy(id->data, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

/* Whether one of secret s's identities can be this end's: the configured
 * one, else one of its addresses, else (addresses unknown) any address. */
static bool secret_names_end(const struct secret_cfg *s, const struct id_cfg *id,
			     const struct sockaddr_storage *addrs, int n_addrs)
{
	for (int i = 0; i < s->n_ids; i++) {
		struct id_cfg a;

		if (id->type) {
			if (id_eq(&s->ids[i], id))
				return true;
			continue;
		}
		if (!n_addrs && (s->ids[i].type == 1 || s->ids[i].type == 5))
			return true;
		for (int j = 0; j < n_addrs; j++) {
			addr_id(&addrs[j], &a);
			if (id_eq(&s->ids[i], &a))
				return true;
		}
	}
	return false;
}

/* Whether a secret's id is one a wildcard remote id admits: *.domain and
 * *@domain by their suffix; any DN for a DN pattern (exch_auth.c matches
 * the RDNs when the peer comes). */
static bool wild_names(const struct id_cfg *pattern, const struct id_cfg *id)
{
	size_t m = pattern->len - 1u;

	if (id->type != pattern->type)
		return false;
	if (id->type == 9)
		return true;
	return id->len > m && !strncasecmp((const char *)id->data + id->len - m,
					   (const char *)pattern->data + 1, m);
}

/* The same for the peer's end, whose addresses may be prefixes or %any:
 * an address identity of the secret within one of them names it. */
static bool secret_names_peer(const struct secret_cfg *s, const struct conn_cfg *cc)
{
	for (int i = 0; i < s->n_ids; i++) {
		const struct id_cfg *id = &s->ids[i];
		struct sockaddr_storage a = { 0 };

		if (config_id_wild(&cc->remote.id)) {
			if (wild_names(&cc->remote.id, id))
				return true;
			continue;
		}
		if (cc->remote.id.type) {
			if (id_eq(id, &cc->remote.id))
				return true;
			continue;
		}
		if (id->type == 1 && id->len == 4) {
			a.ss_family = AF_INET;
			memcpy(&((struct sockaddr_in *)&a)->sin_addr, id->data, 4);
		} else if (id->type == 5 && id->len == 16) {
			a.ss_family = AF_INET6;
			memcpy(&((struct sockaddr_in6 *)&a)->sin6_addr, id->data, 16);
		} else {
			continue;
		}
		if (cfg_remote_match(cc, &a) >= 0)
			return true;
	}
	return false;
}

static int check_psk(const struct config *cfg, const struct conn_cfg *cc, char *err, size_t errlen)
{
	char l[300] = "its address", r[300] = "its address";
	struct id_cfg a;

	for (const struct secret_cfg *s = cfg->secrets; s; s = s->next)
		if (secret_names_end(s, &cc->local.id, cc->local_addrs, cc->n_local) ||
		    secret_names_peer(s, cc))
			return 0;
	if (cc->local.id.type) {
		config_id_str(&cc->local.id, l, sizeof(l));
	} else if (cc->n_local) {
		addr_id(&cc->local_addrs[0], &a);
		config_id_str(&a, l, sizeof(l));
	}
	if (cc->remote.id.type) {
		config_id_str(&cc->remote.id, r, sizeof(r));
	} else if (cfg_remote_addr(cc)) {
		addr_id(cfg_remote_addr(cc), &a);
		config_id_str(&a, r, sizeof(r));
	}
	snprintf(err, errlen, "%s:%d: connection '%s' authenticates with a PSK, but no secret names its identities (local %s, remote %s): add a secrets { } section with id = and id2 = them",
		 cfg->path, cc->line, cc->name, l, r);
	return -1;
}

/* A credential the daemon could not load: a file it cannot open, or a key
 * this OpenSSL cannot use (ML-DSA before 3.5), on the line naming it; one
 * that holds no key or certificate on the connection's.  what: "the key",
 * ... */
static int cred_failed(const struct config *cfg, const struct conn_cfg *cc, const char *key,
		       int line, const char *what, const struct cred_err *why, char *err,
		       size_t errlen)
{
	if (why->opened && !why->unsupported)
		snprintf(err, errlen, "%s:%d: connection '%s': cannot load %s %s",
			 cfg->path, cc->line, cc->name, what, why->msg);
	else
		snprintf(err, errlen, "%s:%d: %s: %s", cfg->path, line ? line : cc->line, key, why->msg);
	return -1;
}

/* The certificate, key and CA files, loaded as the daemon loads them:
 * each opened once. */
static int check_pubkey(const struct config *cfg, const struct conn_cfg *cc, char *err, size_t errlen)
{
	const struct end_cfg *ca_end = cc->remote.cacerts ? &cc->remote : &cc->local;
	const char *ca = ca_end->cacerts;
	struct cred_err why;

	if (cc->local.auth == CFG_AUTH_PUBKEY) {
		STACK_OF(X509) *certs = crypto_load_ca(cc->local.certs, &why);
		EVP_PKEY *key = NULL;
		bool match;

		if (!certs)
			return cred_failed(cfg, cc, "certs", cc->local.certs_line, "the certificate",
					   &why, err, errlen);
		key = crypto_load_privkey(cc->local.key, &why);
		match = key && X509_check_private_key(sk_X509_value(certs, 0), key) == 1;
		ERR_clear_error();
		sk_X509_pop_free(certs, X509_free);
		EVP_PKEY_free(key);
		if (!key)
			return cred_failed(cfg, cc, "key", cc->local.key_line, "the key", &why,
					   err, errlen);
		if (!match) {
			snprintf(err, errlen, "%s:%d: connection '%s': the key '%s' is not the one of the certificate '%s'",
				 cfg->path, cc->line, cc->name, cc->local.key, cc->local.certs);
			return -1;
		}
	}
	if (cc->remote.auth == CFG_AUTH_PUBKEY) {
		STACK_OF(X509) *cas = ca ? crypto_load_ca(ca, &why) : NULL;

		sk_X509_pop_free(cas, X509_free);
		if (!ca) {
			snprintf(err, errlen, "%s:%d: connection '%s': remote auth = pubkey needs 'cacerts' with at least one CA certificate",
				 cfg->path, cc->line, cc->name);
			return -1;
		}
		if (!cas)
			return cred_failed(cfg, cc, "cacerts", ca_end->cacerts_line,
					   "a CA certificate from", &why, err, errlen);
	}
	return 0;
}

/* Whether an earlier connection has the same credential files. */
static bool creds_checked(const struct config *cfg, const struct conn_cfg *cc)
{
	for (const struct conn_cfg *p = cfg->conns; p != cc; p = p->next)
		if (p->local.auth == cc->local.auth && p->remote.auth == cc->remote.auth &&
		    str_eq(p->local.certs, cc->local.certs) && str_eq(p->local.key, cc->local.key) &&
		    str_eq(p->local.cacerts, cc->local.cacerts) &&
		    str_eq(p->remote.cacerts, cc->remote.cacerts))
			return true;
	return false;
}

int config_check(const struct config *cfg, char *err, size_t errlen)
{
	for (const struct conn_cfg *cc = cfg->conns; cc; cc = cc->next) {
		if ((cc->local.auth == CFG_AUTH_PSK || cc->remote.auth == CFG_AUTH_PSK) &&
		    check_psk(cfg, cc, err, errlen))
			return -1;
		if (!creds_checked(cfg, cc) && check_pubkey(cfg, cc, err, errlen))
			return -1;
	}
	return 0;
}

/* --- the reference ------------------------------------------------------------- */

/* An output line of mdoc text, written without trailing blanks. */
struct mline {
	char b[1024];
	size_t n;
};

static void mline_flush(FILE *f, struct mline *l)
{
	while (l->n && l->b[l->n - 1] == ' ')
		l->n--;
	if (l->n)
		fprintf(f, "%.*s\n", (int)l->n, l->b);
	l->n = 0;
}

static void mline_put(struct mline *l, const char *s)
{
	size_t n = strlen(s);

	if (n > sizeof(l->b) - l->n)
		n = sizeof(l->b) - l->n;
	memcpy(l->b + l->n, s, n);
	l->n += n;
}

static bool abbreviation(const char *start, const char *dot)
{
	return dot - start >= 3 && (!strncmp(dot - 3, "e.g", 3) || !strncmp(dot - 3, "i.e", 3));
}

/*
 * mdoc text: one sentence a line, a `word` as a Cm macro line (with the
 * punctuation around it as delimiters), roff's escapes escaped.
 */
static void mdoc_text(FILE *f, const char *s)
{
	const char *start = s;
	struct mline l = { .n = 0 };

	while (*s) {
		const char *e = *s == '`' ? strchr(s + 1, '`') : NULL;

		if (e) {
			bool open = l.n && l.b[l.n - 1] == '(';

			if (open)
				l.n--;
			mline_flush(f, &l);
			fprintf(f, ".Cm %s%.*s", open ? "( " : "", (int)(e - s - 1), s + 1);
			for (s = e + 1; *s && strchr(".,;:)", *s) && (!s[1] || strchr(" .,;:)", s[1])); s++)
				fprintf(f, " %c", *s);
			fputc('\n', f);
			while (*s == ' ')
				s++;
			continue;
		}
		if (!l.n) {
			while (*s == ' ')
				s++;
			if (!*s)
				break;
			if (*s == '.' || *s == '\'')
				mline_put(&l, "\\&");
		}
		if (*s == '\\') {
			mline_put(&l, "\\e");
		} else if (*s == ' ' && l.n > 64) {
			mline_flush(f, &l);	/* lines of at most 80 bytes */
		} else {
			char ch[2] = { *s, 0 };

			mline_put(&l, ch);
		}
		/* A new sentence on a new line. */
		if (*s == '.' && s[1] == ' ' && !abbreviation(start, s))
			mline_flush(f, &l);
		s++;
	}
	mline_flush(f, &l);
}

/* Plain text, the backquotes dropped, wrapped at 79 columns: the first
 * line after first, the others after indent. */
static void text_wrap(FILE *f, const char *s, const char *first, const char *indent)
{
	size_t col = strlen(first);
	bool bol = true;

	fputs(first, f);
	for (;;) {
		size_t w, out = 0;

		while (*s == ' ')
			s++;
		if (!*s)
			break;
		w = strcspn(s, " ");
		for (size_t i = 0; i < w; i++)
			out += s[i] != '`';
		if (!bol && col + 1 + out > 79) {
			fprintf(f, "\n%s", indent);
			col = strlen(indent);
			bol = true;
		}
		if (!bol) {
			fputc(' ', f);
			col++;
		}
		for (size_t i = 0; i < w; i++)
			if (s[i] != '`')
				fputc(s[i], f);
		col += out;
		bol = false;
		s += w;
	}
	fputc('\n', f);
}

static const char *key_arg(const struct key *k)
{
	if (k->arg)
		return k->arg;
	switch (k->type) {
	case KT_BOOL: return "yes | no";
	case KT_DUR_S:
	case KT_DUR_MS: return "duration";
	default: return "value";
	}
}

static void ref_bounds(const struct key *k, char *s, size_t len)
{
	char a[32];

	s[0] = 0;
	if (k->type == KT_UINT && k->arg && strcmp(k->arg, "port") &&
	    k->max != uint_max(k->size))
		snprintf(s, len, "From %llu to %llu.", (unsigned long long)k->min,
			 (unsigned long long)k->max);
	else if (k->type == KT_FACTOR)
		snprintf(s, len, "From %.1f to %.1f.", (double)k->min / 1000, (double)k->max / 1000);
	else if ((k->type == KT_DUR_S || k->type == KT_DUR_MS) && k->min)
		snprintf(s, len, "At least %s.", fmt_duration(k->min, a, sizeof(a)));
}

/* "name = value" of a key's item: mdoc's macro line, or text. */
static void key_head(FILE *f, const struct key *k, bool mdoc)
{
	const char *comma = mdoc ? " ," : ",";
	bool first = true;

	fprintf(f, mdoc ? ".It Cm %s" : "  %s", k->name);
	if (k->numbered)
		fprintf(f, "%s %s1%s %s2%s ...", comma, k->name, comma, k->name, comma);
	fputs(" = ", f);
	if (k->values && k->values != v_bool) {
		fputs(mdoc ? "Cm " : "", f);
		for (const struct key_value *v = k->values; v->name; v++)
			if (!v->alias) {
				fprintf(f, "%s%s", first ? "" : " | ", v->name);
				first = false;
			}
	} else if (mdoc) {
		fprintf(f, "Ar %s", k->type == KT_BOOL ? "bool" : key_arg(k));
	} else {
		for (const char *a = key_arg(k); *a; a++)
			if (!(a[0] == ' ' && a[1] == ','))
				fputc(*a, f);
	}
}

static void ref_key_mdoc(FILE *f, const struct key *k)
{
	char bounds[64];

	key_head(f, k, true);
	fputc('\n', f);
	mdoc_text(f, k->help);
	if (k->values && k->values[0].help) {
		fputs(".Bl -tag -width Ds\n", f);
		for (const struct key_value *v = k->values; v->name; v++) {
			if (v->alias)
				continue;
			fprintf(f, ".It Cm %s\n", v->name);
			mdoc_text(f, v->help);
		}
		fputs(".El\n", f);
	}
	ref_bounds(k, bounds, sizeof(bounds));
	if (bounds[0])
		mdoc_text(f, bounds);
	if (!k->def)
		return;
	if (k->type == KT_UINT || k->type == KT_PORTS || k->type == KT_FACTOR ||
	    k->type == KT_DUR_S || k->type == KT_DUR_MS)
		fprintf(f, "Default %s.\n", k->def);
	else
		fprintf(f, "Default\n.%s %s .\n", k->type == KT_STR ? "Pa" :
			k->type == KT_PROP_IKE || k->type == KT_PROP_ESP ? "Ql" : "Cm", k->def);
}

static void ref_key_text(FILE *f, const struct key *k)
{
	char bounds[64];

	key_head(f, k, false);
	if (k->def)
		fprintf(f, "  (default %s)", k->def);
	fputc('\n', f);
	text_wrap(f, k->help, "      ", "      ");
	for (const struct key_value *v = k->values; v && v->name && v->help; v++)
		if (!v->alias) {
			char indent[64];

			snprintf(indent, sizeof(indent), "      %s: ", v->name);
			text_wrap(f, v->help, indent, "        ");
		}
	ref_bounds(k, bounds, sizeof(bounds));
	if (bounds[0])
		text_wrap(f, bounds, "      ", "      ");
}

void config_reference(FILE *f, enum cfg_ref_format fmt)
{
	for (unsigned int s = 0; s < CFG_SEC_COUNT; s++) {
		const struct section_def *sd = &sections[s];

		if (fmt == CFG_REF_MDOC) {
			fprintf(f, ".Ss %s\n", sd->title);
			if (sd->intro)
				mdoc_text(f, sd->intro);
			fputs(".Bl -tag -width Ds\n", f);
		} else {
			fprintf(f, "%s%s\n", s ? "\n" : "", sd->title);
			if (sd->intro)
				text_wrap(f, sd->intro, "  ", "  ");
		}
		for (size_t i = 0; i < sd->n_keys; i++) {
			if (fmt == CFG_REF_MDOC)
				ref_key_mdoc(f, &sd->keys[i]);
			else
				ref_key_text(f, &sd->keys[i]);
		}
		for (const struct sub_def *sub = sd->subs; sub && sub->names; sub++) {
			if (fmt == CFG_REF_MDOC) {
				const char *p = sub->names;

				fputs(".It", f);
				while (*p) {
					size_t l = strcspn(p, ",");

					fprintf(f, "%s Cm %.*s Brq ...", p == sub->names ? "" : " ,",
						(int)l, p);
					p += l;
					while (*p == ',' || *p == ' ')
						p++;
				}
				fputc('\n', f);
				mdoc_text(f, sub->help);
			} else {
				fprintf(f, "  %s { ... }\n", sub->names);
				text_wrap(f, sub->help, "      ", "      ");
			}
		}
		if (fmt == CFG_REF_MDOC)
			fputs(".El\n", f);
	}
}
