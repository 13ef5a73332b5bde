// SPDX-License-Identifier: GPL-2.0
/*
 * tcpike-nl: a direct client of the tcpike generic-netlink family, for
 * tests and operators (the daemon uses the same library).
 *
 *   tcpike-nl sa-new --spi N --src A --dst A [--mode tunnel|transport]
 *                    [--reqid N] [--replay N] [--esn]
 *                    (--aead NAME --icv BITS | --enc NAME --auth NAME --trunc BITS
 *                     --auth-key HEX) --key HEX
 *   tcpike-nl sa-steer --spi N --dst A --encap raw|udp|tcp [--sport N --dport N]
 *   tcpike-nl sa-steer --reqid N --encap raw|udp|tcp [--sport LOCAL --dport PEER]
 *   tcpike-nl sa-del --spi N --dst A
 *   tcpike-nl sa-get --spi N --dst A
 *   tcpike-nl sa-dump
 *   tcpike-nl keepalive --src A --dst A --sport N --dport N --interval S (0: off)
 *   tcpike-nl reach --spi N --dst A --pair-spi N --timeout S (0: off, no --pair-spi)
 *   tcpike-nl policy-new --dir in|out|fwd --from NET --to NET --reqid N
 *                        [--mode tunnel|transport] [--src A --dst A] [--proto N]
 *                        [--priority N]
 *   tcpike-nl policy-del --dir in|out|fwd --from NET --to NET [--proto N]
 *   tcpike-nl policy-dump
 *   tcpike-nl stats
 *   tcpike-nl monitor [--count N] [--timeout SECONDS]
 *
 * Lifetimes for sa-new: --soft-bytes/--hard-bytes, --soft-packets/
 * --hard-packets, --soft-seconds/--hard-seconds.  sa-new, policy-new and
 * policy-del take --mark V[/M] (mask default 0xffffffff, as iproute2) and
 * --if-id N.
 *
 * Keys are given in hex (0x optional).  Exit status: 0 ok, 1 refused by
 * the kernel (its sentence is printed), 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/tcpike.h>
#include <openssl/crypto.h>

#include "addr.h"
#include "tcpike_nl.h"

static const char *encap_name(uint8_t e)
{
	return e == TCPIKE_ENCAP_RAW ? "raw" : e == TCPIKE_ENCAP_UDP ? "udp" :
	       e == TCPIKE_ENCAP_TCP ? "tcp" : "unknown";
}

static void usage_to(FILE *f, int status)
{
	fprintf(f,
		"usage: tcpike-nl --help | --version\n"
		"       tcpike-nl sa-new --spi N --src ADDR --dst ADDR [--mode tunnel|transport]\n"
		"                 [--reqid N] [--replay N] [--esn]\n"
		"                 (--aead NAME --icv BITS | --enc NAME --auth NAME --trunc BITS --auth-key HEX)\n"
		"                 --key HEX\n"
		"       tcpike-nl sa-steer --spi N --dst ADDR --encap raw|udp|tcp [--sport N --dport N]\n"
		"       tcpike-nl sa-steer --reqid N --encap raw|udp|tcp [--sport LOCAL --dport PEER]\n"
		"       tcpike-nl sa-del --spi N --dst ADDR\n"
		"       tcpike-nl sa-get --spi N --dst ADDR\n"
		"       tcpike-nl sa-dump\n"
		"       tcpike-nl keepalive --src ADDR --dst ADDR --sport N --dport N --interval S\n"
		"       tcpike-nl reach --spi N --dst ADDR --pair-spi N --timeout S (0: off)\n"
		"       tcpike-nl policy-new --dir in|out|fwd --from NET --to NET --reqid N\n"
		"                 [--mode tunnel|transport] [--src ADDR --dst ADDR] [--proto N] [--priority N]\n"
		"       tcpike-nl policy-del --dir in|out|fwd --from NET --to NET [--proto N]\n"
		"       tcpike-nl policy-dump\n"
		"       tcpike-nl stats\n"
		"       tcpike-nl monitor [--count N] [--timeout SECONDS]\n"
		"sa-new also takes --encap raw|udp|tcp --sport N --dport N (tcp: the ports of an\n"
		"established connection with the espintcp ULP; sport is the SA source's)\n"
		"sa-new lifetimes: --soft-bytes N --hard-bytes N --soft-packets N --hard-packets N\n"
		"                  --soft-seconds N --hard-seconds N\n"
		"sa-new, policy-new, policy-del: --mark V[/M] (mask default 0xffffffff) --if-id N\n");
	exit(status);
}

static void usage(void)
{
	usage_to(stderr, 2);
}

static int parse_addr(const char *s, struct sockaddr_storage *ss)
{
	if (!addr_parse(s, ss))
		return 0;
	fprintf(stderr, "tcpike-nl: '%s' is not an IPv4 or IPv6 address\n", s);
	exit(2);
}

/* "192.168.1.0/24" or an address (full length). */
static void parse_net(const char *s, struct sockaddr_storage *ss, uint8_t *plen)
{
	char a[INET6_ADDRSTRLEN + 8];
	char *slash;

	snprintf(a, sizeof(a), "%s", s);
	slash = strchr(a, '/');
	if (slash)
		*slash = 0;
	parse_addr(a, ss);
	*plen = ss->ss_family == AF_INET ? 32 : 128;
	if (slash) {
		char *end;
		unsigned long v = strtoul(slash + 1, &end, 10);

		if (*end || v > *plen) {
			fprintf(stderr, "tcpike-nl: bad prefix length in '%s'\n", s);
			exit(2);
		}
		*plen = (uint8_t)v;
	}
}

static uint16_t parse_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	if (!strncmp(s, "0x", 2))
		s += 2;
	if (strlen(s) % 2 || strlen(s) / 2 > max)
		goto bad;
	for (; *s; s += 2) {
		unsigned int v;

		if (sscanf(s, "%2x", &v) != 1)
			goto bad;
		out[n++] = (uint8_t)v;
	}
	return (uint16_t)n;
bad:
	fprintf(stderr, "tcpike-nl: a key is an even number of hex digits, at most %zu bytes\n", max);
	exit(2);
}

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*end || !*s) {
		fprintf(stderr, "tcpike-nl: '%s' is not a number\n", s);
		exit(2);
	}
	return v;
}

static const char *ntop(const struct sockaddr_storage *ss, char *buf, size_t n)
{
	const void *a = ss->ss_family == AF_INET ?
			(const void *)&((const struct sockaddr_in *)ss)->sin_addr :
			(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (!inet_ntop(ss->ss_family, a, buf, (socklen_t)n))
		snprintf(buf, n, "?");
	return buf;
}

/* " mark 0xV/0xM" and " if_id 0xN" when set, as ip xfrm prints them. */
static void print_mark(uint32_t mark, uint32_t mask, uint32_t if_id)
{
	if (mask)
		printf(" mark 0x%x/0x%x", mark, mask);
	if (if_id)
		printf(" if_id 0x%x", if_id);
}

static const char *del_reason(int reason)
{
	return reason == TCPIKE_DEL_DELETE ? "delete" : reason == TCPIKE_DEL_FLUSH ? "flush" :
	       reason == TCPIKE_DEL_VANISHED ? "vanished" : "unknown";
}

/* One line per event, flushed, so a test can read them as they come. */
static int monitor(struct tnl *t, unsigned long count, unsigned long timeout_s)
{
	struct tnl_event ev;
	unsigned long seen = 0;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int err = tnl_events_join(t);

	if (err)
		return err;
	printf("listening\n");
	fflush(stdout);
	while (!count || seen < count) {
		int r = tnl_event_next(t, &ev, timeout_s ? (int)timeout_s * 1000 : -1);

		if (r <= 0)
			return r;
		seen++;
		if (ev.kind == TNL_EV_EXPIRE)
			printf("expire %s spi 0x%08x dst %s\n", ev.hard ? "hard" : "soft",
			       ntohl(ev.spi), ntop(&ev.dst, a, sizeof(a)));
		else if (ev.kind == TNL_EV_MAPPING)
			printf("mapping spi 0x%08x dst %s peer %s:%u now %s:%u\n", ntohl(ev.spi),
			       ntop(&ev.dst, a, sizeof(a)), ntop(&ev.src, b, sizeof(b)), ev.old_port,
			       ntop(&ev.new_addr, c, sizeof(c)), ev.new_port);
		else if (ev.kind == TNL_EV_REACH)
			printf("reach %s spi 0x%08x dst %s pair 0x%08x timeout %u\n",
			       ev.up ? "up" : "down", ntohl(ev.spi), ntop(&ev.dst, a, sizeof(a)),
			       ntohl(ev.pair_spi), ev.timeout_s);
		else if (ev.kind == TNL_EV_SA_DELETED)
			printf("sa-deleted %s spi 0x%08x src %s dst %s reqid %u\n",
			       del_reason(ev.reason), ntohl(ev.spi), ntop(&ev.src, a, sizeof(a)),
			       ntop(&ev.dst, b, sizeof(b)), ev.reqid);
		else if (ev.kind == TNL_EV_POLICY_DELETED)
			printf("policy-deleted %s dir %s sel %s/%u -> %s/%u proto %u reqid %u\n",
			       del_reason(ev.reason), ev.dir == TCPIKE_DIR_IN ? "in" :
			       ev.dir == TCPIKE_DIR_OUT ? "out" : "fwd",
			       ntop(&ev.sel.src, a, sizeof(a)), ev.sel.src_plen,
			       ntop(&ev.sel.dst, b, sizeof(b)), ev.sel.dst_plen, ev.sel.proto,
			       ev.reqid);
		else
			printf("acquire reqid %u sel %s/%u -> %s/%u proto %u tmpl %s -> %s\n",
			       ev.reqid, ntop(&ev.sel.src, a, sizeof(a)), ev.sel.src_plen,
			       ntop(&ev.sel.dst, b, sizeof(b)), ev.sel.dst_plen, ev.sel.proto,
			       ntop(&ev.src, c, sizeof(c)), ntop(&ev.dst, d, sizeof(d)));
		fflush(stdout);
	}
	return 0;
}

/* What the options say; which of them were given. */
struct args {
	struct kb_sa sa;
	struct kb_policy pol;
	uint8_t key[64], akey[64];
	unsigned long count, timeout_s;
	uint32_t interval, pair_spi;
	bool have_sel, have_encap, have_interval, have_timeout;
	bool have_spi, have_dst, have_reqid;
};

static void parse_opts(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "spi", 1, 0, 's' }, { "src", 1, 0, 'S' }, { "dst", 1, 0, 'D' },
		{ "mode", 1, 0, 'm' }, { "reqid", 1, 0, 'r' }, { "replay", 1, 0, 'w' },
		{ "esn", 0, 0, 'e' }, { "aead", 1, 0, 'a' }, { "icv", 1, 0, 'i' },
		{ "enc", 1, 0, 'E' }, { "auth", 1, 0, 'A' }, { "trunc", 1, 0, 't' },
		{ "key", 1, 0, 'k' }, { "auth-key", 1, 0, 'K' },
		{ "dir", 1, 0, 'd' }, { "from", 1, 0, 'f' }, { "to", 1, 0, 'T' },
		{ "proto", 1, 0, 'p' }, { "priority", 1, 0, 'P' },
		{ "soft-bytes", 1, 0, 1 }, { "hard-bytes", 1, 0, 2 },
		{ "soft-packets", 1, 0, 3 }, { "hard-packets", 1, 0, 4 },
		{ "soft-seconds", 1, 0, 5 }, { "hard-seconds", 1, 0, 6 },
		{ "count", 1, 0, 7 }, { "timeout", 1, 0, 8 },
		{ "encap", 1, 0, 9 }, { "sport", 1, 0, 10 }, { "dport", 1, 0, 11 },
		{ "interval", 1, 0, 12 }, { "pair-spi", 1, 0, 13 },
		{ "mark", 1, 0, 14 }, { "if-id", 1, 0, 15 },
		{ 0, 0, 0, 0 },
	};
	struct kb_sa *sa = &a->sa;
	struct kb_policy *pol = &a->pol;
	char *slash;
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': sa->spi = htonl((uint32_t)num(optarg)); a->have_spi = true; break;
		case 'S': parse_addr(optarg, &sa->src); break;
		case 'D': parse_addr(optarg, &sa->dst); a->have_dst = true; break;
		case 'm':
			if (!strcmp(optarg, "tunnel"))
				sa->mode = KB_MODE_TUNNEL;
			else if (!strcmp(optarg, "transport"))
				sa->mode = KB_MODE_TRANSPORT;
			else
				usage();
			break;
		case 'r': sa->reqid = (uint32_t)num(optarg); a->have_reqid = true; break;
		case 'w': sa->replay_window = (uint32_t)num(optarg); break;
		case 'e': sa->esn = true; break;
		case 'a': snprintf(sa->aead, sizeof(sa->aead), "%s", optarg); break;
		case 'i': sa->aead_icv_bits = (uint16_t)num(optarg); break;
		case 'E': snprintf(sa->enc, sizeof(sa->enc), "%s", optarg); break;
		case 'A': snprintf(sa->auth, sizeof(sa->auth), "%s", optarg); break;
		case 't': sa->auth_trunc_bits = (uint16_t)num(optarg); break;
		case 'k':
			sa->enc_key_len = parse_hex(optarg, a->key, sizeof(a->key));
			sa->enc_key = a->key;
			break;
		case 'K':
			sa->auth_key_len = parse_hex(optarg, a->akey, sizeof(a->akey));
			sa->auth_key = a->akey;
			break;
		case 'd':
			if (!strcmp(optarg, "in"))
				pol->dir = KB_DIR_IN;
			else if (!strcmp(optarg, "out"))
				pol->dir = KB_DIR_OUT;
			else if (!strcmp(optarg, "fwd"))
				pol->dir = KB_DIR_FWD;
			else
				usage();
			break;
		case 'f':
			parse_net(optarg, &pol->sel.src, &pol->sel.src_plen);
			a->have_sel = true;
			break;
		case 'T': parse_net(optarg, &pol->sel.dst, &pol->sel.dst_plen); break;
		case 'p': pol->sel.proto = (uint8_t)num(optarg); break;
		case 'P': pol->priority = (uint32_t)num(optarg); break;
		case 1: sa->soft_bytes = num(optarg); break;
		case 2: sa->hard_bytes = num(optarg); break;
		case 3: sa->soft_packets = num(optarg); break;
		case 4: sa->hard_packets = num(optarg); break;
		case 5: sa->soft_seconds = num(optarg); break;
		case 6: sa->hard_seconds = num(optarg); break;
		case 7: a->count = num(optarg); break;
		case 8: a->timeout_s = num(optarg); a->have_timeout = true; break;
		case 9:
			if (!strcmp(optarg, "raw"))
				sa->encap = KB_ENCAP_RAW;
			else if (!strcmp(optarg, "udp"))
				sa->encap = KB_ENCAP_UDP;
			else if (!strcmp(optarg, "tcp"))
				sa->encap = KB_ENCAP_TCP;
			else
				usage();
			a->have_encap = true;
			break;
		case 10: sa->encap_sport = (uint16_t)num(optarg); break;
		case 11: sa->encap_dport = (uint16_t)num(optarg); break;
		case 12: a->interval = (uint32_t)num(optarg); a->have_interval = true; break;
		case 13: a->pair_spi = htonl((uint32_t)num(optarg)); break;
		case 14:
			slash = strchr(optarg, '/');
			if (slash)
				*slash = 0;
			sa->mark = (uint32_t)num(optarg);
			sa->mark_mask = slash ? (uint32_t)num(slash + 1) : 0xffffffff;
			break;
		case 15: sa->if_id = (uint32_t)num(optarg); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
}

/* Exits with the usage when cmd lacks an option it needs; a policy
 * command's template comes from the SA options. */
static void check_args(const char *cmd, struct args *a)
{
	struct kb_policy *pol = &a->pol;

	if (!strncmp(cmd, "policy-", 7) && strcmp(cmd, "policy-dump")) {
		if (!a->have_sel || !pol->sel.dst.ss_family)
			usage();
		pol->sel.family = pol->sel.src.ss_family;
		pol->reqid = a->sa.reqid;
		pol->mode = a->sa.mode;
		pol->tmpl_src = a->sa.src;
		pol->tmpl_dst = a->sa.dst;
		pol->mark = a->sa.mark;
		pol->mark_mask = a->sa.mark_mask;
		pol->if_id = a->sa.if_id;
	} else if (!strcmp(cmd, "keepalive")) {
		if (!a->have_dst || !a->sa.src.ss_family || !a->sa.encap_sport ||
		    !a->sa.encap_dport || !a->have_interval)
			usage();
	} else if (!strcmp(cmd, "sa-steer")) {
		/* --reqid, or --spi and --dst; a mix is sent as given and the
		 * kernel says why it refuses it. */
		if (!a->have_reqid && (!a->have_spi || !a->have_dst))
			usage();
	} else if (strcmp(cmd, "stats") && strcmp(cmd, "monitor") && strcmp(cmd, "sa-dump") &&
		   strcmp(cmd, "policy-dump") &&
		   (!a->have_spi || !a->have_dst)) {
		usage();
	}
}

/* An SA's source and destination as text, by the family it reports. */
static void sa_info_addrs(const struct tnl_sa_info *i, char *s, char *d)
{
	inet_ntop(i->family, i->family == AF_INET ?
		  (const void *)&((const struct sockaddr_in *)&i->src)->sin_addr :
		  (const void *)&((const struct sockaddr_in6 *)&i->src)->sin6_addr, s,
		  INET6_ADDRSTRLEN);
	inet_ntop(i->family, i->family == AF_INET ?
		  (const void *)&((const struct sockaddr_in *)&i->dst)->sin_addr :
		  (const void *)&((const struct sockaddr_in6 *)&i->dst)->sin6_addr, d,
		  INET6_ADDRSTRLEN);
}

static int sa_dump(struct tnl *t)
{
	struct tnl_sa_info *v = NULL;
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	size_t k, n = 0;
	int err = tnl_sa_dump(t, &v, &n);

	for (k = 0; !err && k < n; k++) {
		sa_info_addrs(&v[k], s, d);
		printf("spi 0x%08x src %s dst %s reqid %u %s encap %s packets %llu",
		       ntohl(v[k].spi), s, d, v[k].reqid,
		       v[k].aead[0] ? v[k].aead : v[k].enc, encap_name(v[k].encap),
		       (unsigned long long)v[k].packets);
		print_mark(v[k].mark, v[k].mark_mask, v[k].if_id);
		printf("%s\n", v[k].has_key ? " KEY ATTRIBUTE ECHOED" : "");
	}
	free(v);
	return err;
}

static int policy_dump(struct tnl *t)
{
	static const char *const dirs[] = { "in", "out", "fwd" };
	struct tnl_policy_info *v = NULL;
	char addr[4][INET6_ADDRSTRLEN];
	size_t k, n = 0;
	int err = tnl_policy_dump(t, &v, &n);

	for (k = 0; !err && k < n; k++) {
		printf("%s %s/%u -> %s/%u proto %u priority %u reqid %u",
		       v[k].dir < 3 ? dirs[v[k].dir] : "?",
		       ntop(&v[k].sel.src, addr[0], sizeof(addr[0])), v[k].sel.src_plen,
		       ntop(&v[k].sel.dst, addr[1], sizeof(addr[1])), v[k].sel.dst_plen,
		       v[k].sel.proto, v[k].priority, v[k].reqid);
		if (v[k].mode == TCPIKE_MODE_TUNNEL)
			printf(" tunnel %s -> %s", ntop(&v[k].tmpl_src, addr[2], sizeof(addr[2])),
			       ntop(&v[k].tmpl_dst, addr[3], sizeof(addr[3])));
		else
			printf(" transport");
		print_mark(v[k].mark, v[k].mark_mask, v[k].if_id);
		printf("\n");
	}
	free(v);
	return err;
}

static int sa_get(struct tnl *t, const struct kb_sa *sa)
{
	struct tnl_sa_info i;
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int err = tnl_sa_get(t, &sa->dst, sa->spi, &i);

	if (err)
		return err;
	sa_info_addrs(&i, s, d);
	printf("spi 0x%08x src %s dst %s mode %s reqid %u replay %u%s\n",
	       ntohl(i.spi), s, d, i.mode ? "transport" : "tunnel", i.reqid,
	       i.replay_window, i.flags & 1 ? " esn" : "");
	if (i.aead[0])
		printf("aead %s icv %u\n", i.aead, i.aead_icv_bits);
	else
		printf("enc %s auth %s trunc %u\n", i.enc, i.auth, i.auth_trunc_bits);
	if (i.encap)
		printf("encap %s %u -> %u\n", encap_name(i.encap), i.encap_sport,
		       i.encap_dport);
	else
		printf("encap raw\n");
	printf("packets %llu bytes %llu errors %llu\n",
	       (unsigned long long)i.packets, (unsigned long long)i.bytes,
	       (unsigned long long)i.errors);
	if (i.mark_mask || i.if_id) {
		printf("xfrm");
		print_mark(i.mark, i.mark_mask, i.if_id);
		printf("\n");
	}
	if (i.has_key)
		printf("KEY ATTRIBUTE ECHOED\n");
	return 0;
}

static int stats(struct tnl *t)
{
	struct tnl_stats st;
	int err = tnl_stats_get(t, &st);

	if (err)
		return err;
	printf("sas %u created %llu deleted %llu policies %u events %llu dropped %llu steers %llu\n",
	       st.sas, (unsigned long long)st.sa_created,
	       (unsigned long long)st.sa_deleted, st.policies,
	       (unsigned long long)st.events_sent,
	       (unsigned long long)st.events_dropped,
	       (unsigned long long)st.steers);
	/* A second line only when keepalives exist or were sent. */
	if (st.reaches)
		printf("reach watches %u\n", st.reaches);
	if (st.keepalives || st.keepalives_sent)
		printf("keepalives %u sent %llu skipped %llu bh-peak-us %llu\n",
		       st.keepalives, (unsigned long long)st.keepalives_sent,
		       (unsigned long long)st.keepalives_skipped,
		       (unsigned long long)(st.keepalive_bh_peak_ns / 1000));
	return 0;
}

/* cmd on the open family; 0 or -errno.  Exits with the usage (t closed)
 * for an unknown command or a missing option. */
static int run(struct tnl *t, const char *cmd, const struct args *a)
{
	const struct kb_sa *sa = &a->sa;

	if (!strcmp(cmd, "sa-new"))
		return tnl_sa_new(t, sa);
	if (!strcmp(cmd, "sa-steer") && a->have_encap) {
		struct tnl_steer st = { .dst = a->have_spi || a->have_dst ? &sa->dst : NULL,
					.spi = sa->spi, .by_reqid = a->have_reqid,
					.reqid = sa->reqid, .encap = sa->encap,
					.sport = sa->encap_sport, .dport = sa->encap_dport };

		return tnl_sa_steer_req(t, &st);
	}
	if (!strcmp(cmd, "reach") && a->have_timeout)
		return tnl_reach_set(t, &sa->dst, sa->spi, a->pair_spi, (uint32_t)a->timeout_s);
	if (!strcmp(cmd, "sa-del"))
		return tnl_sa_del(t, &sa->dst, sa->spi);
	if (!strcmp(cmd, "keepalive"))
		return tnl_keepalive_set(t, &sa->src, &sa->dst, sa->encap_sport,
					 sa->encap_dport, a->interval);
	if (!strcmp(cmd, "sa-dump"))
		return sa_dump(t);
	if (!strcmp(cmd, "policy-dump"))
		return policy_dump(t);
	if (!strcmp(cmd, "sa-get"))
		return sa_get(t, sa);
	if (!strcmp(cmd, "policy-new"))
		return tnl_policy_new(t, &a->pol);
	if (!strcmp(cmd, "policy-del"))
		return tnl_policy_del(t, &a->pol);
	if (!strcmp(cmd, "monitor"))
		return monitor(t, a->count, a->timeout_s);
	if (!strcmp(cmd, "stats"))
		return stats(t);
	/* unknown, or sa-steer without --encap, reach without --timeout */
	tnl_close(t);
	usage();
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct args a = { .sa.replay_window = 32, .pol.dir = KB_DIR_OUT };
	struct tnl t;
	const char *cmd;
	int err;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		usage_to(stdout, 0);
	if (!strcmp(cmd, "--version")) {
		printf("tcpike-nl %s\n", TCPIKE_VERSION);
		return 0;
	}
	parse_opts(argc, argv, &a);
	check_args(cmd, &a);
	err = tnl_open(&t);
	if (err) {
		fprintf(stderr, "tcpike-nl: %s\n", t.error[0] ? t.error : strerror(-err));
		return 1;
	}
	err = run(&t, cmd, &a);
	OPENSSL_cleanse(a.key, sizeof(a.key));
	OPENSSL_cleanse(a.akey, sizeof(a.akey));
	if (err)
		fprintf(stderr, "tcpike-nl: %s: %s\n", cmd, t.error[0] ? t.error : strerror(-err));
	tnl_close(&t);
	return err ? 1 : 0;
}
