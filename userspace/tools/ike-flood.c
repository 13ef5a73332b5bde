// SPDX-License-Identifier: GPL-2.0
/*
 * ike-flood: a half-open flood for testing a responder's defences
 * (RFC 7296 §2.6 cookies, half-open limits).  Sends N IKE_SA_INIT requests,
 * each with a fresh random SPI, nonce and KE value (Curve25519-sized, never
 * a real key: nothing here completes an exchange), round robin from many
 * UDP source ports at a given rate, and counts what comes back.
 *
 *   ike-flood --dst ADDR [--port 500] [--src ADDR [--sources N]] [--count N]
 *             [--rate N/s] [--sockets N] [--wait SECONDS] [--answer-cookies]
 *
 * --answer-cookies returns each COOKIE once, as an initiator would (§2.6:
 * the same request with N(COOKIE) first), so the responder's half-open
 * limits rather than its cookies are what stops the flood.
 *
 * --sources N spreads the sockets over N consecutive addresses from --src
 * (socket i bound to --src + i mod N; the addresses must be configured),
 * to reach a responder's global limits past its per-address ones.
 *
 * Prints one line of counters:
 *   sent=N cookie_retries=N answers=N cookies=N sa_init=N invalid_ke=N
 *   no_proposal=N other=N malformed=N
 * Exit status: 0 when every request was sent, 1 on a socket error, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "tools/cli.h"
#include "crypto.h"
#include "msg.h"
#include "payload.h"
#include "wire.h"

#define KE_LEN		32	/* Curve25519 public value */
#define NONCE_LEN	32

/* What a request is rebuilt from when its COOKIE is answered. */
struct req {
	uint8_t spi[8];
	uint8_t ke[KE_LEN], nonce[NONCE_LEN];
	int sock;
	bool cookie_answered;
};

struct counts {
	unsigned long sent, cookie_retries, answers, cookies, sa_init,
		      invalid_ke, no_proposal, other, malformed;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: ike-flood --dst ADDR [--port N] [--src ADDR [--sources N]] [--count N]\n"
		"                 [--rate N] [--sockets N] [--wait SECONDS] [--answer-cookies]\n");
	exit(2);
}

/* IKE_SA_INIT request: [N(COOKIE)], SA (AES-GCM-16-256, PRF-HMAC-SHA2-256,
 * Curve25519), KE, Ni.  The SPI's last 4 bytes index the request. */
static int build(const struct req *r, const struct ike_notify *cookie, struct buf *out)
{
	struct ike_builder bld;
	struct ike_hdr h;
	struct ike_sa_pl sa;

	memset(&h, 0, sizeof(h));
	memcpy(h.spi_i, r->spi, 8);
	h.major = IKEV2_MAJOR_VERSION;
	h.exch = IKEV2_EXCH_IKE_SA_INIT;
	h.flags = IKEV2_FLAG_INITIATOR;
	cli_bench_proposal(&sa, NULL);
	buf_reset(out);
	msg_begin(&bld, out, &h);
	if (cookie)
		ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_COOKIE, cookie->data.p,
			       cookie->data.len);
	ike_put_sa(&bld, &sa);
	ike_put_ke(&bld, IKEV2_KE_CURVE25519, r->ke, sizeof(r->ke));
	ike_put_nonce(&bld, r->nonce, sizeof(r->nonce));
	return msg_finish(&bld);
}

/* a + n: the address n after a (the last bytes carry). */
static void addr_add(struct sockaddr_storage *a, unsigned long n)
{
	const uint8_t *cp;
	size_t len = addr_bytes(a, &cp);
	uint8_t *p = (uint8_t *)cp;

	for (size_t i = len; i-- > 0 && n;) {
		unsigned long v = p[i] + (n & 0xff);

		p[i] = (uint8_t)v;
		n = (n >> 8) + (v >> 8);
	}
}

/* nsock non-blocking sockets, each bound to an ephemeral port of its
 * address: src + (i mod nsrc).  Non-zero (said) when one cannot be. */
static int open_sockets(struct pollfd *pfd, unsigned long nsock,
			const struct sockaddr_storage *src, unsigned long nsrc)
{
	for (unsigned long i = 0; i < nsock; i++) {
		struct sockaddr_storage a = *src;

		addr_add(&a, i % nsrc);
		pfd[i].fd = socket(src->ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		pfd[i].events = POLLIN;
		if (pfd[i].fd < 0 || bind(pfd[i].fd, (struct sockaddr *)&a, addr_len(&a))) {
			fprintf(stderr, "ike-flood: socket %lu: %s\n", i, strerror(errno));
			return 1;
		}
	}
	return 0;
}

static int send_req(int fd, const struct sockaddr_storage *dst, socklen_t dlen,
		    const struct buf *msg)
{
	if (sendto(fd, msg->data, msg->len, 0, (const struct sockaddr *)dst, dlen) < 0) {
		/* a full socket buffer at a high rate is a lost packet */
		if (errno == EAGAIN || errno == ENOBUFS || errno == EPERM)
			return 0;
		fprintf(stderr, "ike-flood: sendto: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Reads every answer waiting on the sockets (for up to timeout_ms). */
static int drain(struct pollfd *pfd, int nsock, int timeout_ms, struct req *reqs,
		 unsigned long nreq, const struct sockaddr_storage *dst,
		 socklen_t dlen, bool answer_cookies, struct counts *c)
{
	static uint8_t pkt[65536];
	static struct ike_msg m;
	struct buf out = BUF_INIT;
	int i, n, err = 0;

	n = poll(pfd, (nfds_t)nsock, timeout_ms);
	if (n <= 0) {
		buf_free(&out);
		return 0;
	}
	for (i = 0; i < nsock; i++) {
		if (!(pfd[i].revents & POLLIN))
			continue;
		for (;;) {
			ssize_t len = recv(pfd[i].fd, pkt, sizeof(pkt), MSG_DONTWAIT);
			struct ike_notify nt;
			uint32_t idx;

			if (len < 0)
				break;
			c->answers++;
			memset(&m, 0, sizeof(m));
			if (ike_msg_parse(pkt, (size_t)len, &m) ||
			    m.hdr.exch != IKEV2_EXCH_IKE_SA_INIT ||
			    !(m.hdr.flags & IKEV2_FLAG_RESPONSE)) {
				c->malformed++;
				continue;
			}
			if (!ike_find_notify(&m, IKEV2_N_COOKIE, &nt)) {
				c->cookies++;
				idx = (uint32_t)m.hdr.spi_i[4] << 24 | (uint32_t)m.hdr.spi_i[5] << 16 |
				      (uint32_t)m.hdr.spi_i[6] << 8 | m.hdr.spi_i[7];
				if (!answer_cookies || idx >= nreq ||
				    memcmp(reqs[idx].spi, m.hdr.spi_i, 8) ||
				    reqs[idx].cookie_answered)
					continue;
				reqs[idx].cookie_answered = true;
				if (build(&reqs[idx], &nt, &out) ||
				    send_req(reqs[idx].sock, dst, dlen, &out)) {
					err = -1;
					continue;
				}
				c->cookie_retries++;
			} else if (!ike_find_notify(&m, IKEV2_N_INVALID_KE_PAYLOAD, &nt)) {
				c->invalid_ke++;
			} else if (!ike_find_notify(&m, IKEV2_N_NO_PROPOSAL_CHOSEN, &nt)) {
				c->no_proposal++;
			} else if (ike_msg_find(&m, IKEV2_PL_SA)) {
				c->sa_init++;
			} else {
				c->other++;
			}
		}
	}
	buf_free(&out);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dst", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "src", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "sockets", required_argument, NULL, 'k' },
		{ "wait", required_argument, NULL, 'w' },
		{ "answer-cookies", no_argument, NULL, 'c' },
		{ "sources", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dst_s = NULL, *src_s = NULL;
	unsigned long count = 1000, rate = 1000, nsock = 64, wait_s = 2, nsrc = 1, i;
	uint16_t port = IKEV2_UDP_PORT;
	bool answer_cookies = false;
	struct sockaddr_storage dst, src;
	socklen_t dlen;
	struct pollfd *pfd;
	struct req *reqs;
	struct counts c = { 0 };
	struct buf msg = BUF_INIT;
	uint64_t start, deadline;
	int o, rc = 0;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd': dst_s = optarg; break;
		case 'p': port = (uint16_t)cli_num("ike-flood", optarg, 1, 65535); break;
		case 's': src_s = optarg; break;
		case 'n': count = cli_num("ike-flood", optarg, 1, 10000000); break;
		case 'r': rate = cli_num("ike-flood", optarg, 1, 1000000); break;
		case 'k': nsock = cli_num("ike-flood", optarg, 1, 1024); break;
		case 'w': wait_s = cli_num("ike-flood", optarg, 0, 600); break;
		case 'c': answer_cookies = true; break;
		case 'a': nsrc = cli_num("ike-flood", optarg, 1, 1024); break;
		default: usage();
		}
	}
	if (!dst_s || optind != argc || (nsrc > 1 && !src_s))
		usage();
	if (nsrc > nsock)
		nsock = nsrc;		/* a socket for each address at least */
	if (addr_parse(dst_s, &dst)) {
		fprintf(stderr, "ike-flood: --dst '%s': not an IPv4 or IPv6 address\n", dst_s);
		return 2;
	}
	addr_set_port(&dst, port);
	dlen = addr_len(&dst);
	memset(&src, 0, sizeof(src));
	src.ss_family = dst.ss_family;
	if (src_s && (addr_parse(src_s, &src) || src.ss_family != dst.ss_family)) {
		fprintf(stderr, "ike-flood: --src '%s': not an address of the --dst family\n", src_s);
		return 2;
	}
	pfd = calloc(nsock, sizeof(*pfd));
	reqs = calloc(count, sizeof(*reqs));
	if (!pfd || !reqs) {
		fprintf(stderr, "ike-flood: out of memory\n");
		return 1;
	}
	/* Many source ports (and addresses, with --sources). */
	if (open_sockets(pfd, nsock, &src, nsrc))
		return 1;
	start = cli_now_us();
	for (i = 0; i < count && !rc; i++) {
		struct req *r = &reqs[i];
		uint64_t due = start + i * 1000000u / rate, t;

		/* pace to the rate, reading answers while waiting */
		while ((t = cli_now_us()) < due)
			if (drain(pfd, (int)nsock, (int)((due - t + 999) / 1000), reqs, count,
				  &dst, dlen, answer_cookies, &c))
				rc = 1;
		crypto_random(r->spi, 4);
		r->spi[4] = (uint8_t)(i >> 24);
		r->spi[5] = (uint8_t)(i >> 16);
		r->spi[6] = (uint8_t)(i >> 8);
		r->spi[7] = (uint8_t)i;
		r->spi[0] |= 1;		/* never the all-zero SPI */
		crypto_random(r->ke, sizeof(r->ke));
		crypto_random(r->nonce, sizeof(r->nonce));
		r->sock = pfd[i % nsock].fd;
		if (build(r, NULL, &msg)) {
			fprintf(stderr, "ike-flood: cannot build a request\n");
			rc = 1;
			break;
		}
		if (send_req(r->sock, &dst, dlen, &msg))
			rc = 1;
		else
			c.sent++;
		if (drain(pfd, (int)nsock, 0, reqs, count, &dst, dlen, answer_cookies, &c))
			rc = 1;
	}
	deadline = cli_now_us() + wait_s * 1000000u;
	while (cli_now_us() < deadline)
		if (drain(pfd, (int)nsock, 100, reqs, count, &dst, dlen, answer_cookies, &c))
			rc = 1;
	printf("sent=%lu cookie_retries=%lu answers=%lu cookies=%lu sa_init=%lu "
	       "invalid_ke=%lu no_proposal=%lu other=%lu malformed=%lu\n",
	       c.sent, c.cookie_retries, c.answers, c.cookies, c.sa_init,
	       c.invalid_ke, c.no_proposal, c.other, c.malformed);
	for (i = 0; i < nsock; i++)
		close(pfd[i].fd);
	buf_free(&msg);
	free(pfd);
	free(reqs);
	return rc;
}
