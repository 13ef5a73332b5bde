// SPDX-License-Identifier: GPL-2.0
/*
 * tcpike-bench: an IKEv2 initiator load generator for the handshake-rate
 * and scale benchmarks (B1, B5, B7).  Opens N IKE SAs, each with one Child SA,
 * against one responder with PSK authentication and the proposal
 * AES-GCM-16-256 / PRF-HMAC-SHA2-256 / Curve25519 (ESP: AES-GCM-16-256),
 * keeping at most W handshakes in flight, and verifies every answer:
 * the responder's KE is used to derive the keys, the IKE_AUTH response must
 * decrypt (ICV checked), carry IDr, a PSK AUTH payload that verifies
 * (RFC 7296 §2.15), an ESP SA with a 4-byte SPI and both TS payloads.
 * Anything else counts as a failed SA, so a broken responder cannot look
 * fast.
 *
 *   tcpike-bench --dst ADDR --count N [--window W] [--mode udp|tcp|separate]
 *                [--src ADDR[,ADDR...]] [--sockets N] [--port 500]
 *                [--tcp-port 4500] [--id FQDN] [--psk SECRET]
 *                [--tsi CIDR] [--tsr CIDR] [--timeout SECONDS]
 *                [--sep-notify 49152] [--nat] [--distinct-ids]
 *                [--vip-out FILE] [--certs DIR] [--deciles]
 *                [--rekey PCT [--rekey-window SECONDS] [--rekey-rounds N]
 *                 [--rekey-wait]]
 *
 * IDi is --id [bench.tcpike.test] (FQDN) for every IKE SA, or with
 * --distinct-ids c<k>.<--id> for the k-th (c0.bench.tcpike.test, ...), as
 * many clients would have: a responder that keeps state per identity
 * (charon's lists per identity pair) then pays what it would pay for real.
 *
 * The Child SA of the k-th IKE SA asks for TSi = the (k+1)-th host of
 * --tsi [10.128.0.0/9] and TSr = --tsr [192.168.2.0/24], so every Child
 * SA has policies of its own (as remote-access clients would).
 *
 * --vip-out FILE: every IKE_AUTH asks for a virtual IPv4 address (CP
 * CFG_REQUEST with an empty INTERNAL_IP4_ADDRESS, RFC 7296 §3.15) with TSi
 * 0.0.0.0-255.255.255.255 for the gateway to narrow, as a road warrior
 * does; FILE gets one line per IKE SA, "IDi ADDRESS", "IDi
 * INTERNAL_ADDRESS_FAILURE" (the IKE SA up, its Child SA refused: counted
 * as failed) or "IDi -" (failed otherwise).
 *
 * --certs DIR: each IKE SA authenticates with a certificate of its own
 * instead of the PSK: DIR/<IDi>.crt (its end-entity certificate, sent in a
 * CERT payload) and DIR/<IDi>.key (an ECDSA P-256 key: AUTH method 9, RFC
 * 4754), loaded before the clock starts; the responder's AUTH is still
 * checked with --psk.
 *
 * Modes: udp (both exchanges on UDP), tcp (RFC 9329: one TCP connection
 * per IKE SA, "IKETCP" then length-framed messages with the non-ESP
 * marker), separate (draft-ietf-ipsecme-ikev2-reliable-transport:
 * IKE_SA_INIT on UDP 4500 with the non-ESP marker and
 * N(SEPARATE_TRANSPORTS), which the responder must echo, then IKE_AUTH
 * over a new TCP connection).  --nat sends NAT-D
 * notifies that cannot match (as from behind a NAT), so the responder uses
 * UDP encapsulation; over UDP the IKE_AUTH then goes to port 4500 with the
 * non-ESP marker (RFC 7296 §2.23, RFC 3948 §2.2).
 *
 * Key pairs and nonces are generated before the clock starts (that is the
 * initiator's own work, not the responder's); everything else, including
 * the Diffie-Hellman derivation, is timed.  UDP requests are retransmitted
 * after 1, 2, 4 s (the responder must answer from its cache).
 *
 * Prints one line:
 *   mode=M count=N window=W ok=N failed=N timeouts=N retransmits=N
 *   elapsed_ms=X rate=X p50_ms=X p90_ms=X p99_ms=X max_ms=X cpu_pct=X
 *   ids=one|distinct maxrss_kib=X [deciles=R1,...,R10]
 * cpu_pct is this process's CPU time over the elapsed time: near 100 means
 * the generator, not the responder, set the pace; maxrss_kib its peak
 * resident memory (the key pairs made ahead: about 1.2 KiB per SA).
 * --deciles: the rate (SAs/s) of each tenth of the SAs in the order they
 * were established, from the time the one before was done (the first:
 * from the start): whether setup slows as the responder fills.  Tenths
 * never reached are left out.  The first failure of
 * each kind is described on stderr.
 *
 * --rekey PCT (UDP only): once every SA is up and verified (and, with
 * --rekey-wait, once SIGUSR1 came: the caller measures the idle
 * responder meanwhile), a rekey storm: PCT % of the SAs (every
 * (100 / PCT)-th by index) are rekeyed within --rekey-window [60]
 * seconds, one started every window / count, --rekey-rounds [1] times in
 * a row (the second round rekeys the SAs the first made).  Each is an
 * IKE SA rekey (§1.3.2): CREATE_CHILD_SA with SA (a new SPIi), Ni and
 * KEi on the current SA; the response's proposal, Nr and KEr give the
 * new SA's keys (§2.18); then the old SA's Delete (§2.8) and an empty
 * INFORMATIONAL on the new SA, both answers decrypted and empty.  The
 * first round's key pairs are made ahead, later rounds' when they
 * start.  A second line:
 *   rk_count=N rk_sas=N rk_rounds=N rk_pct=P rk_window_s=S rk_ok=N
 *   rk_failed=N rk_timeouts=N rk_retransmits=N rk_elapsed_ms=X rk_rate=X
 *   rk_requested=X rk_p50_ms=X rk_p99_ms=X rk_max_ms=X rk_cpu_pct=X
 *   rk_deciles=R1,...,R10 rk_p50s=... rk_p99s=... rk_fails=...
 * rk_rate counts from the first start to the last completion;
 * rk_deciles as --deciles over the rekeys in the order they completed;
 * rk_p50s, rk_p99s (ms) and rk_fails per tenth of the schedule.
 *
 * Exit status: 0 when every SA was established and verified (and with
 * --rekey every rekey), 1 otherwise, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "tools/cli.h"
#include "crypto.h"
#include "msg.h"
#include "payload.h"
#include "stream.h"
#include "wire.h"

#define NONCE_LEN	32
#define MAX_SRC		64
#define RTO_US		1000000u
#define MAX_TRIES	4

enum mode { M_UDP, M_TCP, M_SEP };
enum st { S_IDLE, S_INIT, S_AUTH, S_DONE, S_FAILED };

struct sa {
	uint8_t spi_i[8], spi_r[8];
	struct ike_kex *kex;
	uint8_t ni[NONCE_LEN];
	struct buf req;		/* the request in flight (for retransmission) */
	struct buf init_req, init_resp;	/* for the AUTH payloads */
	struct ike_keys keys;
	enum st state;
	int usock;		/* UDP socket index */
	int tfd;		/* TCP connection, -1 if none */
	struct stream stream;
	bool natt;		/* IKE_AUTH to the NAT-T port, with marker */
	int tries;
	uint64_t t0, tsent;
	uint32_t child_spi;
	uint8_t vip[4];		/* --vip-out: the CFG_REPLY's address */
	bool has_vip, addr_fail;
	EVP_PKEY *key;		/* --certs: ours, and our certificate (DER) */
	struct buf cert;
	struct rk *rk;		/* --rekey: this SA is rekeyed in the storm */
};

/* --rekey: one IKE SA rekey (§1.3.2) of an established SA, then the old
 * SA's Delete (§2.8) and an empty INFORMATIONAL on the new one. */
enum rk_st { R_WAIT, R_CCS, R_FIN, R_DONE, R_FAILED };

struct rk {
	uint8_t spi_i[8], spi_r[8];	/* the new IKE SA's */
	struct ike_kex *kex;
	uint8_t ni[NONCE_LEN];
	struct ike_keys keys;		/* the new IKE SA's */
	struct buf req_old, req_new;	/* in flight on the old / new SA */
	enum rk_st state;
	bool del_ok, info_ok;
	int tries;
	uint32_t msgid;			/* the current SA's next request's */
	unsigned long slot;		/* the storm's rekey under way */
	uint64_t t0, tsent;
};

#define RK_FAILED	UINT64_MAX	/* in g.rk_lat */

static struct {
	enum mode mode;
	unsigned long count, window, nsock, timeout_s;
	struct sockaddr_storage dst, src[MAX_SRC];
	socklen_t dlen;
	int nsrc, fam;
	uint16_t port, natt_port, tcp_port, sep_notify;
	bool nat, distinct;
	const char *id, *psk, *vip_out, *certs;
	struct ike_ts tsi, tsr;
	int *usock;
	int ep;
	struct sa *sas;
	unsigned long next, inflight, ok, failed, timeouts, retransmits;
	bool reported[32];
	/* --deciles: when the k-th tenth of the SAs was established */
	bool deciles;
	unsigned int dec_n;
	/* the Child SAs' SPIs: spi_base + index, above the reserved 0..255
	 * (RFC 4303 §2.1) and below 2^31 + 10^6 */
	uint32_t spi_base;
	uint64_t start_us, dec_us[10];
	/* --rekey PCT of the SAs (rks[]) within --rekey-window seconds,
	 * paced evenly, --rekey-rounds times in a row: rk_slots rekeys */
	unsigned long rk_pct, rk_window_s, rk_rounds, rk_n, rk_slots, rk_next, rk_ok,
		      rk_failed, rk_inflight, rk_retransmits;
	bool rk_wait, rk_reported[32];
	struct sa **rks;
	/* per slot (rekey s of the SA rks[s % rk_n]): its latency in us,
	 * RK_FAILED, or 0 (not done) */
	uint64_t *rk_lat;
	unsigned int rk_dec_n;
	uint64_t rk_start_us, rk_dec_us[10];
} g = {
	.mode = M_UDP, .count = 1000, .window = 64, .nsock = 64, .timeout_s = 60,
	.port = IKEV2_UDP_PORT, .natt_port = IKEV2_NATT_PORT,
	.tcp_port = IKEV2_NATT_PORT, .sep_notify = IKEV2_N_SEPARATE_TRANSPORTS_DEFAULT,
	.id = "bench.tcpike.test", .psk = "tcpike-test-psk-0123456789",
	.rk_window_s = 60, .rk_rounds = 1,
};

static const uint8_t marker[STREAM_NON_ESP_MARKER];

static void usage(void)
{
	fprintf(stderr,
		"usage: tcpike-bench --dst ADDR --count N [--window W] [--mode udp|tcp|separate]\n"
		"                    [--src ADDR[,ADDR...]] [--sockets N] [--port N] [--natt-port N]\n"
		"                    [--tcp-port N] [--id FQDN] [--psk SECRET] [--tsi CIDR]\n"
		"                    [--tsr CIDR] [--timeout SECONDS] [--sep-notify N] [--nat]\n"
		"                    [--distinct-ids] [--vip-out FILE] [--certs DIR] [--deciles]\n"
		"                    [--rekey PCT [--rekey-window SECONDS] [--rekey-rounds N]\n"
		"                     [--rekey-wait]]\n");
	exit(2);
}

/* An IPv4 CIDR as a range selector (any protocol and port). */
static void parse_ts(const char *s, struct ike_ts *ts)
{
	char a[64], *slash;
	struct in_addr in;
	unsigned long plen = 32;
	uint32_t h, mask;

	if (strlen(s) >= sizeof(a))
		goto bad;
	strcpy(a, s);
	slash = strchr(a, '/');
	if (slash) {
		*slash = '\0';
		plen = cli_num("tcpike-bench", slash + 1, 0, 32);
	}
	if (inet_pton(AF_INET, a, &in) != 1)
		goto bad;
	memset(ts, 0, sizeof(*ts));
	ts->type = IKEV2_TS_IPV4_ADDR_RANGE;
	ts->eport = 65535;
	mask = plen ? ~0u << (32 - plen) : 0;
	h = ntohl(in.s_addr) & mask;
	h = htonl(h);
	memcpy(ts->start, &h, 4);
	h = htonl(ntohl(h) | ~mask);
	memcpy(ts->end, &h, 4);
	return;
bad:
	fprintf(stderr, "tcpike-bench: '%s': expected an IPv4 CIDR\n", s);
	exit(2);
}

static int parse_addr(const char *s, struct sockaddr_storage *ss)
{
	return addr_parse(s, ss) ? -1 : ss->ss_family;
}

/* The first Notify of a message as a name, for failure messages. */
static const char *first_notify(const struct ike_msg *m)
{
	const struct ike_pl *pl = ike_msg_find(m, IKEV2_PL_NOTIFY);
	static char s[64];
	struct ike_notify n;

	if (!pl || ike_get_notify(pl, &n))
		return "none";
	snprintf(s, sizeof(s), "%s (%u)", ikev2_notify_name(n.type), n.type);
	return s;
}

/* One message per failure kind on stderr; the counters say how many. */
static void fail_n(struct sa *sa, int kind, const char *why, const struct ike_msg *m)
{
	if (sa->state == S_DONE || sa->state == S_FAILED)
		return;
	if (kind >= 0 && kind < 32 && !g.reported[kind]) {
		g.reported[kind] = true;
		fprintf(stderr, "tcpike-bench: SA %ld: %s%s%s\n", (long)(sa - g.sas), why,
			m ? "; first notify: " : "", m ? first_notify(m) : "");
	}
	sa->state = S_FAILED;
	g.failed++;
	g.inflight--;
}

static void fail(struct sa *sa, int kind, const char *why)
{
	fail_n(sa, kind, why, NULL);
}

/* --- sending ------------------------------------------------------------- */

static int send_udp(struct sa *sa, const struct buf *msg, bool natt)
{
	struct sockaddr_storage d = g.dst;
	struct iovec iov[2] = {
		{ (void *)marker, sizeof(marker) },
		{ msg->data, msg->len },
	};
	struct msghdr mh = {
		.msg_name = &d, .msg_namelen = g.dlen,
		.msg_iov = natt ? iov : iov + 1, .msg_iovlen = natt ? 2 : 1,
	};

	addr_set_port(&d, natt ? g.natt_port : g.port);
	if (sendmsg(g.usock[sa->usock], &mh, 0) < 0 &&
	    errno != EAGAIN && errno != ENOBUFS) {
		fprintf(stderr, "tcpike-bench: sendmsg: %s\n", strerror(errno));
		return -1;
	}
	return 0;	/* a full buffer is a lost packet: retransmitted */
}

static int tcp_open(struct sa *sa)
{
	struct sockaddr_storage d = g.dst, s = g.src[(sa - g.sas) % g.nsrc];
	struct epoll_event ev = { .events = EPOLLIN };
	int one = 1, fd;

	addr_set_port(&d, g.tcp_port);
	addr_set_port(&s, 0);
	fd = socket(g.fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&s, g.dlen) ||
	    connect(fd, (struct sockaddr *)&d, g.dlen) ||
	    send(fd, STREAM_PREFIX, STREAM_PREFIX_LEN, MSG_NOSIGNAL) != STREAM_PREFIX_LEN ||
	    fcntl(fd, F_SETFL, O_NONBLOCK)) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (stream_init(&sa->stream, false, STREAM_MAX_MSG)) {
		close(fd);
		return -ENOMEM;
	}
	ev.data.u64 = (uint64_t)1 << 32 | (uint64_t)(sa - g.sas);
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, fd, &ev)) {
		stream_free(&sa->stream);
		close(fd);
		return -errno;
	}
	sa->tfd = fd;
	return 0;
}

static int send_tcp(struct sa *sa, const struct buf *msg)
{
	struct buf f = BUF_INIT;
	ssize_t n;
	int r = 0;

	if (stream_frame(&f, true, msg->data, msg->len) < 0) {
		buf_free(&f);
		return -1;
	}
	n = send(sa->tfd, f.data, f.len, MSG_NOSIGNAL);
	if (n != (ssize_t)f.len)
		r = -1;
	buf_free(&f);
	return r;
}

/* Sends sa->req on the exchange's transport. */
static int send_req(struct sa *sa)
{
	bool tcp = g.mode == M_TCP || (g.mode == M_SEP && sa->state == S_AUTH);

	sa->tsent = cli_now_us();
	if (tcp)
		return send_tcp(sa, &sa->req) ? -1 : 0;
	/* The draft's discovery is on UDP 4500 (with the non-ESP marker):
	 * N(SEPARATE_TRANSPORTS) sent to 500 is not echoed. */
	return send_udp(sa, &sa->req, (sa->state == S_AUTH && sa->natt) || g.mode == M_SEP);
}

static const struct ike_suite suite = {
	.encr = IKEV2_ENCR_AES_GCM_16, .encr_keylen = 256,
	.prf = IKEV2_PRF_HMAC_SHA2_256, .integ = 0, .ke = IKEV2_KE_CURVE25519,
};

/* A request's header on the IKE SA (spi_i, spi_r). */
static void spi_header(const uint8_t *spi_i, const uint8_t *spi_r, struct ike_hdr *h,
		       uint8_t exch, uint32_t msgid)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->spi_i, spi_i, 8);
	memcpy(h->spi_r, spi_r, 8);
	h->major = IKEV2_MAJOR_VERSION;
	h->exch = exch;
	h->flags = IKEV2_FLAG_INITIATOR;
	h->msgid = msgid;
}

static void ike_header(struct sa *sa, struct ike_hdr *h, uint8_t exch, uint32_t msgid)
{
	spi_header(sa->spi_i, sa->spi_r, h, exch, msgid);
}

/* out = the request (exch, msgid) on the IKE SA (spi_i, spi_r) with the
 * payload chain inner in SK, sealed with sk_ei. */
static int seal_req(struct buf *out, const uint8_t *spi_i, const uint8_t *spi_r,
		    uint8_t exch, uint32_t msgid, const struct buf *sk_ei,
		    uint8_t first, const struct buf *inner)
{
	struct ike_builder bld;
	struct ike_hdr h;
	struct sk_ctx k;
	size_t sk_off;
	int r;

	spi_header(spi_i, spi_r, &h, exch, msgid);
	buf_reset(out);
	msg_begin(&bld, out, &h);
	sk_off = ike_put_sk_header(&bld, first);
	r = sk_off == SIZE_MAX ? -EMSGSIZE : 0;
	if (!r)
		r = crypto_sk_init(&k, &suite, sk_ei, NULL);
	if (!r) {
		r = crypto_sk_seal(&k, out, sk_off, false, inner->data, inner->len);
		crypto_sk_wipe(&k);
	}
	return r;
}

static void put_ike_sa(struct ike_builder *bld)
{
	struct ike_sa_pl sa;

	cli_bench_proposal(&sa, NULL);
	ike_put_sa(bld, &sa);
}

/* IKE_SA_INIT request: SA, KE, Ni, [NAT-D], [SEPARATE_TRANSPORTS]. */
static int build_init(struct sa *sa)
{
	struct ike_builder bld;
	struct ike_hdr h;
	struct buf pub = BUF_INIT;
	uint8_t natd[20];
	int r;

	if (kex_public(sa->kex, &pub))
		return -EIO;
	ike_header(sa, &h, IKEV2_EXCH_IKE_SA_INIT, 0);
	buf_reset(&sa->req);
	msg_begin(&bld, &sa->req, &h);
	put_ike_sa(&bld);
	ike_put_ke(&bld, IKEV2_KE_CURVE25519, pub.data, pub.len);
	ike_put_nonce(&bld, sa->ni, sizeof(sa->ni));
	if (g.nat) {
		/* Hashes of no real address: the responder sees a NAT in
		 * front of us (§2.23) and encapsulates. */
		crypto_random(natd, sizeof(natd));
		ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_NAT_DETECTION_SOURCE_IP,
			       natd, sizeof(natd));
		crypto_random(natd, sizeof(natd));
		ike_put_notify(&bld, 0, NULL, 0, IKEV2_N_NAT_DETECTION_DESTINATION_IP,
			       natd, sizeof(natd));
	}
	if (g.mode == M_SEP)
		ike_put_notify(&bld, 0, NULL, 0, g.sep_notify, NULL, 0);
	r = msg_finish(&bld);
	buf_free(&pub);
	if (!r)
		r = buf_copy(&sa->init_req, &sa->req);
	return r;
}

/* The ID payload body: type, 3 reserved bytes, data (§3.5). */
static void id_body(uint8_t *out, size_t *len, const uint8_t *data, size_t dlen)
{
	out[0] = IKEV2_ID_FQDN;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, data, dlen);
	*len = 4 + dlen;
}

/* This SA's IDi (FQDN data): --id, or c<k>.--id with --distinct-ids. */
static size_t sa_id(const struct sa *sa, char *out, size_t len)
{
	int n;

	if (g.distinct)
		n = snprintf(out, len, "c%lu.%s", (unsigned long)(sa - g.sas), g.id);
	else
		n = snprintf(out, len, "%s", g.id);
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

/* IKE_AUTH request: SK { IDi, AUTH, SA(ESP), TSi, TSr }. */
static int build_auth(struct sa *sa, const struct ike_span *nr)
{
	struct ike_builder in;
	struct buf inner = BUF_INIT, oct = BUF_INIT, auth = BUF_INIT;
	struct ike_sa_pl esp;
	uint8_t idb[260];
	char id[256];
	size_t idlen, ilen;
	struct ike_ts tsi;
	uint32_t spi, host, last;
	int r;

	ilen = sa_id(sa, id, sizeof(id));
	if (!ilen)
		return -ENAMETOOLONG;
	id_body(idb, &idlen, (const uint8_t *)id, ilen);
	if (crypto_auth_octets(suite.prf, &sa->keys.sk_pi, sa->init_req.data,
			       sa->init_req.len, nr->p, nr->len, idb, idlen, &oct) ||
	    (sa->key ? crypto_auth_sign(sa->key, IKEV2_AUTH_ECDSA_256, CRYPTO_SIG_NONE,
					oct.data, oct.len, &auth) :
	     crypto_auth_psk(suite.prf, (const uint8_t *)g.psk, strlen(g.psk),
			     oct.data, oct.len, &auth))) {
		buf_wipe(&oct);
		return -EIO;
	}
	/* Unique among the SAs: the responder's outbound SAs to our few
	 * addresses are (SPI, address) in its kernel, and random SPIs
	 * collide there by the birthday bound (one in 10^5 SAs was refused
	 * as a duplicate).  From a random base, so that a second run
	 * against the same responder meets none of the first's. */
	spi = htonl(g.spi_base + (uint32_t)(sa - g.sas));
	sa->child_spi = spi;
	cli_bench_proposal(&esp, (const uint8_t *)&spi);

	chain_begin(&in, &inner);
	ike_put_id(&in, IKEV2_PL_IDI, IKEV2_ID_FQDN, (const uint8_t *)id, ilen);
	if (sa->key)
		ike_put_cert(&in, IKEV2_CERT_X509_SIG, sa->cert.data, sa->cert.len);
	ike_put_auth(&in, sa->key ? IKEV2_AUTH_ECDSA_256 : IKEV2_AUTH_SHARED_KEY_MIC,
		     auth.data, auth.len);
	ike_put_sa(&in, &esp);
	if (g.vip_out) {
		struct ike_cp cp = { .cfg_type = IKEV2_CFG_REQUEST, .n = 1 };

		cp.a[0].type = IKEV2_CP_INTERNAL_IP4_ADDRESS;
		ike_put_cp(&in, &cp);
		tsi = g.tsi;
		memset(tsi.start, 0, 4);
		memset(tsi.end, 0xff, 4);
		goto put_ts;
	}
	/* A host of its own inside --tsi per SA: every Child SA gets
	 * distinct policies, as remote-access clients would. */
	tsi = g.tsi;
	memcpy(&host, g.tsi.start, 4);
	memcpy(&last, g.tsi.end, 4);
	host = ntohl(host) + 1 + (uint32_t)(sa - g.sas);
	if (host > ntohl(last))
		return -ERANGE;
	host = htonl(host);
	memcpy(tsi.start, &host, 4);
	memcpy(tsi.end, &host, 4);
put_ts:
	ike_put_ts(&in, IKEV2_PL_TSI, &tsi, 1);
	ike_put_ts(&in, IKEV2_PL_TSR, &g.tsr, 1);
	r = chain_finish(&in);
	buf_wipe(&oct);
	buf_wipe(&auth);
	if (r) {
		buf_free(&inner);
		return r;
	}
	r = seal_req(&sa->req, sa->spi_i, sa->spi_r, IKEV2_EXCH_IKE_AUTH, 1,
		     &sa->keys.sk_ei, in.first_type, &inner);
	buf_free(&inner);
	return r;
}

/* --- receiving ------------------------------------------------------------- */

static int has_notify(const struct ike_msg *m, uint16_t type)
{
	struct ike_notify n;

	return !ike_find_notify(m, type, &n);
}

/* The proposal a response chose is ours (suite): nothing we did not offer. */
static bool suite_chosen(const struct ike_proposal *pr)
{
	for (int i = 0; i < pr->ntrans; i++) {
		const struct ike_transform *t = &pr->t[i];

		if ((t->type == IKEV2_TRANS_ENCR && (t->id != suite.encr || t->keylen != 256)) ||
		    (t->type == IKEV2_TRANS_PRF && t->id != suite.prf) ||
		    (t->type == IKEV2_TRANS_KE && t->id != suite.ke) ||
		    t->type == IKEV2_TRANS_INTEG)
			return false;
	}
	return true;
}

/* Our NAT-D hashes never match, so the responder's do: a NAT is "there"
 * exactly when we sent them. */
static void on_init_resp(struct sa *sa, const uint8_t *p, size_t len, const struct ike_msg *m)
{
	const struct ike_pl *pl;
	struct ike_sa_pl sap;
	struct ike_ke ke;
	struct ike_span nr;
	struct buf gir = BUF_INIT;
	const struct ike_proposal *pr;
	int r;

	if (m->hdr.msgid != 0)
		return fail(sa, 1, "IKE_SA_INIT response with a message ID other than 0");
	if (!(pl = ike_msg_find(m, IKEV2_PL_SA)) || ike_get_sa_reply(pl, &sap) || sap.nprop != 1)
		return fail_n(sa, 2, "IKE_SA_INIT response without one SA proposal", m);
	pr = &sap.p[0];
	if (!suite_chosen(pr))
		return fail(sa, 3, "IKE_SA_INIT response chose a transform we did not offer");
	if (!(pl = ike_msg_find(m, IKEV2_PL_KE)) || ike_get_ke(pl, &ke) ||
	    ke.group != suite.ke)
		return fail(sa, 4, "IKE_SA_INIT response without a Curve25519 KE payload");
	if (!(pl = ike_msg_find(m, IKEV2_PL_NONCE)) || ike_get_nonce(pl, &nr))
		return fail(sa, 5, "IKE_SA_INIT response without a nonce");
	if (g.mode == M_SEP && !has_notify(m, g.sep_notify))
		return fail(sa, 6, "responder did not echo SEPARATE_TRANSPORTS");
	memcpy(sa->spi_r, m->hdr.spi_r, 8);
	r = kex_derive(sa->kex, ke.data.p, ke.data.len, &gir);
	kex_free(sa->kex);
	sa->kex = NULL;
	if (r) {
		buf_wipe(&gir);
		return fail(sa, 7, "responder's KE value rejected");
	}
	r = crypto_ike_keys(&suite, sa->ni, sizeof(sa->ni), nr.p, nr.len, gir.data,
			    gir.len, sa->spi_i, sa->spi_r, &sa->keys);
	buf_wipe(&gir);
	if (r)
		return fail(sa, 8, "key derivation failed");
	sa->natt = g.nat && has_notify(m, IKEV2_N_NAT_DETECTION_SOURCE_IP);
	if (buf_append(&sa->init_resp, p, len))
		return fail(sa, 9, "out of memory");
	sa->state = S_AUTH;
	sa->tries = 0;
	if (build_auth(sa, &nr))
		return fail(sa, 10, "cannot build IKE_AUTH");
	if (g.mode == M_SEP && (r = tcp_open(sa)))
		return fail(sa, 11, "TCP connection for IKE_AUTH failed");
	if (send_req(sa))
		return fail(sa, 12, "cannot send IKE_AUTH");
}

/* Frees what the handshake needed; the keys stay for a rekey to come. */
static void done(struct sa *sa)
{
	if (!sa->rk || sa->state != S_DONE)
		ike_keys_wipe(&sa->keys);
	buf_free(&sa->req);
	buf_free(&sa->init_req);
	buf_free(&sa->init_resp);
}

/* --vip-out: the CFG_REPLY's IPv4 address, or INTERNAL_ADDRESS_FAILURE
 * (the SA failed, 1); 0 to go on checking the Child SA. */
static int vip_take(struct sa *sa, const struct ike_msg *in)
{
	const struct ike_pl *pl = ike_msg_find(in, IKEV2_PL_CP);
	struct ike_cp cp;
	struct ike_cp_got got;

	if (has_notify(in, IKEV2_N_INTERNAL_ADDRESS_FAILURE)) {
		sa->addr_fail = true;
		fail_n(sa, 21, "IKE_AUTH response: INTERNAL_ADDRESS_FAILURE", in);
		return 1;
	}
	if (!pl || ike_get_cp(pl, &cp) || cp.cfg_type != IKEV2_CFG_REPLY ||
	    ike_cp_got(&cp, &got) || !got.has4) {
		fail_n(sa, 22, "IKE_AUTH response: no CFG_REPLY with an IPv4 address", in);
		return 1;
	}
	memcpy(sa->vip, got.ip4, 4);
	sa->has_vip = true;
	return 0;
}

/* --vip-out FILE: what each IKE SA was given; 0, or -1 with the reason told. */
static int vip_write(void)
{
	FILE *f = fopen(g.vip_out, "w");
	char id[256], a[INET_ADDRSTRLEN];
	unsigned long i;

	if (!f) {
		fprintf(stderr, "tcpike-bench: %s: %s\n", g.vip_out, strerror(errno));
		return -1;
	}
	for (i = 0; i < g.count; i++) {
		const struct sa *sa = &g.sas[i];

		sa_id(sa, id, sizeof(id));
		fprintf(f, "%s %s\n", id,
			sa->state == S_DONE && sa->has_vip ? inet_ntop(AF_INET, sa->vip, a, sizeof(a)) :
			sa->addr_fail ? "INTERNAL_ADDRESS_FAILURE" : "-");
	}
	if (fclose(f)) {
		fprintf(stderr, "tcpike-bench: %s: %s\n", g.vip_out, strerror(errno));
		return -1;
	}
	return 0;
}

/* Opens the SK payload of a response to message ID msgid with sk_er into
 * plain (wiped on failure), its payloads into in; 0, or the failure's
 * kind (fail_n) with why set. */
static int open_resp(const struct buf *sk_er, const uint8_t *p, size_t len,
		     const struct ike_msg *m, uint32_t msgid, struct buf *plain,
		     struct ike_msg *in, const char **why)
{
	struct sk_ctx k;
	int r;

	*why = "response not one SK payload with the request's message ID";
	if (m->hdr.msgid != msgid || !m->sk || m->sk->type != IKEV2_PL_SK)
		return 13;
	*why = "key setup failed";
	if (crypto_sk_init(&k, &suite, sk_er, NULL))
		return 8;
	r = crypto_sk_open(&k, p, len, (size_t)(m->sk->body - 4 - p), false, plain);
	crypto_sk_wipe(&k);
	*why = "response does not decrypt (ICV)";
	if (r)
		return 14;
	memset(in, 0, sizeof(*in));
	*why = "response: malformed inner payloads";
	if (ike_chain_parse(m->sk_next, plain->data, plain->len, in)) {
		buf_wipe(plain);
		return 15;
	}
	return 0;
}

static void on_auth_resp(struct sa *sa, const uint8_t *p, size_t len, const struct ike_msg *m)
{
	static struct ike_msg in;
	struct buf plain = BUF_INIT, oct = BUF_INIT;
	const struct ike_pl *pl;
	struct ike_typed idr, auth;
	struct ike_sa_pl esp;
	const char *why;
	int r;

	r = open_resp(&sa->keys.sk_er, p, len, m, 1, &plain, &in, &why);
	if (r)
		return fail(sa, r, why);
	if (!(pl = ike_msg_find(&in, IKEV2_PL_IDR)) || ike_get_id(pl, &idr)) {
		fail_n(sa, 20, "IKE_AUTH response without IDr", &in);	/* in is in plain */
		buf_wipe(&plain);
		return;
	}
	/* The responder signs its IKE_SA_INIT response, Ni and prf(SK_pr,
	 * IDr') (§2.15); IDr' is the payload body as received. */
	(void)idr;
	r = crypto_auth_octets(suite.prf, &sa->keys.sk_pr, sa->init_resp.data,
			       sa->init_resp.len, sa->ni, sizeof(sa->ni),
			       pl->body, pl->len, &oct);
	if (r || !(pl = ike_msg_find(&in, IKEV2_PL_AUTH)) || ike_get_auth(pl, &auth) ||
	    auth.type != IKEV2_AUTH_SHARED_KEY_MIC ||
	    crypto_auth_psk_verify(suite.prf, (const uint8_t *)g.psk, strlen(g.psk),
				   oct.data, oct.len, auth.data.p, auth.data.len)) {
		buf_wipe(&oct);
		buf_wipe(&plain);
		return fail(sa, 0, "IKE_AUTH response: AUTH payload missing or does not verify");
	}
	buf_wipe(&oct);
	if (g.vip_out && vip_take(sa, &in)) {
		buf_wipe(&plain);
		return;
	}
	if (!(pl = ike_msg_find(&in, IKEV2_PL_SA)) || ike_get_sa_reply(pl, &esp) ||
	    esp.nprop != 1 || esp.p[0].proto != IKEV2_PROTO_ESP || esp.p[0].spi_len != 4 ||
	    !ike_msg_find(&in, IKEV2_PL_TSI) || !ike_msg_find(&in, IKEV2_PL_TSR)) {
		fail_n(sa, 16, "IKE_AUTH response without a Child SA (SA, TSi, TSr)", &in);
		buf_wipe(&plain);
		return;
	}
	buf_wipe(&plain);
	sa->state = S_DONE;
	g.ok++;
	g.inflight--;
	sa->t0 = cli_now_us() - sa->t0;	/* from here on: the latency */
	while (g.dec_n < 10 && g.ok * 10 >= (g.dec_n + 1) * g.count)
		g.dec_us[g.dec_n++] = cli_now_us();
	done(sa);
}

static void rk_resp(struct sa *sa, const uint8_t *p, size_t len, const struct ike_msg *m);

/* One IKE message from the responder, on any transport. */
static void on_msg(const uint8_t *p, size_t len, long hint)
{
	static struct ike_msg m;
	unsigned long idx;
	struct sa *sa;

	memset(&m, 0, sizeof(m));
	if (ike_msg_parse(p, len, &m) || !(m.hdr.flags & IKEV2_FLAG_RESPONSE))
		return;
	idx = (unsigned long)m.hdr.spi_i[4] << 24 | (unsigned long)m.hdr.spi_i[5] << 16 |
	      (unsigned long)m.hdr.spi_i[6] << 8 | m.hdr.spi_i[7];
	if (idx >= g.next || (hint >= 0 && (unsigned long)hint != idx))
		return;
	sa = &g.sas[idx];
	if (sa->rk && sa->state == S_DONE) {
		rk_resp(sa, p, len, &m);
		return;
	}
	if (memcmp(sa->spi_i, m.hdr.spi_i, 8))
		return;
	if (sa->state == S_INIT && m.hdr.exch == IKEV2_EXCH_IKE_SA_INIT)
		on_init_resp(sa, p, len, &m);
	else if (sa->state == S_AUTH && m.hdr.exch == IKEV2_EXCH_IKE_AUTH &&
		 !memcmp(m.hdr.spi_r, sa->spi_r, 8))
		on_auth_resp(sa, p, len, &m);
	/* anything else: a duplicate answer or a responder's request
	 * (DPD): ignored */
}

static int tcp_msg(void *ctx, enum stream_kind kind, const uint8_t *msg, size_t len)
{
	if (kind == STREAM_IKE)
		on_msg(msg, len, (long)(intptr_t)ctx);
	return 0;
}

static void read_udp(int fd)
{
	static uint8_t pkt[65536];
	ssize_t n;

	while ((n = recv(fd, pkt, sizeof(pkt), MSG_DONTWAIT)) >= 0) {
		if (n >= 4 && !memcmp(pkt, marker, 4))
			on_msg(pkt + 4, (size_t)n - 4, -1);
		else
			on_msg(pkt, (size_t)n, -1);
	}
}

static void read_tcp(struct sa *sa)
{
	static uint8_t b[65536];
	ssize_t n;

	while (sa->tfd >= 0 && (n = recv(sa->tfd, b, sizeof(b), MSG_DONTWAIT)) != 0) {
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			break;
		}
		if (stream_feed(&sa->stream, b, (size_t)n, tcp_msg,
				(void *)(intptr_t)(sa - g.sas))) {
			fail(sa, 17, "malformed RFC 9329 stream from the responder");
			break;
		}
	}
	/* closed by the responder: an SA not finished by then fails */
	fail(sa, 18, "responder closed the TCP connection");
	epoll_ctl(g.ep, EPOLL_CTL_DEL, sa->tfd, NULL);
}

/* --- driver ------------------------------------------------------------------ */

static void start_one(void)
{
	struct sa *sa = &g.sas[g.next++];
	int r;

	g.inflight++;
	sa->state = S_INIT;
	sa->t0 = cli_now_us();
	if (build_init(sa))
		return fail(sa, 10, "cannot build IKE_SA_INIT");
	if (g.mode == M_TCP && (r = tcp_open(sa))) {
		fprintf(stderr, "tcpike-bench: connect: %s\n", strerror(-r));
		return fail(sa, 11, "TCP connection failed");
	}
	if (send_req(sa))
		fail(sa, 12, "cannot send IKE_SA_INIT");
}

static void retransmit(uint64_t now, unsigned long from)
{
	unsigned long i;

	for (i = from; i < g.next; i++) {
		struct sa *sa = &g.sas[i];
		bool udp = g.mode == M_UDP || (g.mode == M_SEP && sa->state == S_INIT);

		if ((sa->state != S_INIT && sa->state != S_AUTH) || !udp)
			continue;
		if (now - sa->tsent < (uint64_t)RTO_US << sa->tries)
			continue;
		if (++sa->tries >= MAX_TRIES) {
			fail(sa, 19, "no answer after retransmissions");
			continue;
		}
		g.retransmits++;
		send_req(sa);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, unsigned long n, double q)
{
	unsigned long i;

	if (!n)
		return 0;
	i = (unsigned long)(q * (double)(n - 1) + 0.5);
	return (double)v[i] / 1000.0;
}

/* --- the rekey storm (--rekey) ------------------------------------------------ */

static void rk_count_fail(unsigned long slot, int kind, long idx, const char *why,
			  const struct ike_msg *m)
{
	if (kind >= 0 && kind < 32 && !g.rk_reported[kind]) {
		g.rk_reported[kind] = true;
		fprintf(stderr, "tcpike-bench: rekey %lu (SA %ld): %s%s%s\n", slot, idx, why,
			m ? "; first notify: " : "", m ? first_notify(m) : "");
	}
	g.rk_lat[slot] = RK_FAILED;
	g.rk_failed++;
}

static void rk_fail(struct sa *sa, int kind, const char *why, const struct ike_msg *m)
{
	struct rk *r = sa->rk;

	if (r->state != R_CCS && r->state != R_FIN)
		return;
	rk_count_fail(r->slot, kind, (long)(sa - g.sas), why, m);
	r->state = R_FAILED;
	g.rk_inflight--;
}

/* CREATE_CHILD_SA request on the current SA: SK { SA(IKE, the new
 * SPIi), Ni, KEi } (§1.3.2). */
static int rk_build(struct sa *sa)
{
	struct rk *r = sa->rk;
	struct ike_builder in;
	struct buf inner = BUF_INIT, pub = BUF_INIT;
	struct ike_sa_pl sap;
	int err;

	if (kex_public(r->kex, &pub))
		return -EIO;
	ike_sa_reset(&sap);
	ike_sa_add_prop(&sap, IKEV2_PROTO_IKE, r->spi_i, 8);
	ike_sa_add_trans(&sap, IKEV2_TRANS_ENCR, suite.encr, suite.encr_keylen);
	ike_sa_add_trans(&sap, IKEV2_TRANS_PRF, suite.prf, 0);
	ike_sa_add_trans(&sap, IKEV2_TRANS_KE, suite.ke, 0);
	chain_begin(&in, &inner);
	ike_put_sa(&in, &sap);
	ike_put_nonce(&in, r->ni, sizeof(r->ni));
	ike_put_ke(&in, suite.ke, pub.data, pub.len);
	err = chain_finish(&in);
	if (!err)
		err = seal_req(&r->req_old, sa->spi_i, sa->spi_r, IKEV2_EXCH_CREATE_CHILD_SA,
			       r->msgid, &sa->keys.sk_ei, in.first_type, &inner);
	buf_free(&inner);
	buf_free(&pub);
	return err;
}

/* The next rekey's key pair, nonce and SPIi: the SA's index in its last
 * four bytes, as every SPI of the SA's; the first four random and not
 * the current SA's. */
static int rk_material(struct sa *sa)
{
	struct rk *r = sa->rk;

	r->kex = kex_new(IKEV2_KE_CURVE25519);
	if (!r->kex || crypto_random(r->ni, sizeof(r->ni)) || crypto_random(r->spi_i, 4))
		return -EIO;
	memcpy(r->spi_i + 4, sa->spi_i + 4, 4);
	r->spi_i[0] |= 1;
	if (!memcmp(r->spi_i, sa->spi_i, 4))
		r->spi_i[1] ^= 0xff;
	return 0;
}

/* The storm's rekey slot of sa (the SA's round slot / rk_n). */
static void rk_start(struct sa *sa, unsigned long slot)
{
	struct rk *r = sa->rk;

	if (r->state != R_WAIT && r->state != R_DONE)
		return rk_count_fail(slot, 9, (long)(sa - g.sas),
				     "the SA's earlier rekey failed or is still out", NULL);
	if (!r->kex && rk_material(sa))
		return rk_count_fail(slot, 10, (long)(sa - g.sas), "key generation failed", NULL);
	g.rk_inflight++;
	r->slot = slot;
	r->state = R_CCS;
	r->del_ok = r->info_ok = false;
	r->tries = 0;
	r->t0 = r->tsent = cli_now_us();
	if (rk_build(sa))
		return rk_fail(sa, 0, "cannot build CREATE_CHILD_SA", NULL);
	if (send_udp(sa, &r->req_old, sa->natt))
		rk_fail(sa, 1, "cannot send CREATE_CHILD_SA", NULL);
}

/* The new SA's keys from the CREATE_CHILD_SA response (§2.18), then the
 * old SA's Delete and an empty INFORMATIONAL on the new SA (message ID
 * 0), which proves it usable. */
static void rk_on_ccs(struct sa *sa, const struct ike_msg *in)
{
	struct rk *r = sa->rk;
	const struct ike_pl *pl;
	struct ike_sa_pl sap;
	struct ike_ke ke;
	struct ike_span nr;
	struct ike_builder bld;
	struct buf gir = BUF_INIT, inner = BUF_INIT;
	const struct ike_proposal *pr;
	int err;

	if (!(pl = ike_msg_find(in, IKEV2_PL_SA)) || ike_get_sa_reply(pl, &sap) ||
	    sap.nprop != 1 || sap.p[0].proto != IKEV2_PROTO_IKE || sap.p[0].spi_len != 8)
		return rk_fail(sa, 2, "CREATE_CHILD_SA response without one IKE proposal", in);
	pr = &sap.p[0];
	if (!suite_chosen(pr))
		return rk_fail(sa, 3, "CREATE_CHILD_SA response chose a transform we did not offer", NULL);
	if (!(pl = ike_msg_find(in, IKEV2_PL_KE)) || ike_get_ke(pl, &ke) || ke.group != suite.ke ||
	    !(pl = ike_msg_find(in, IKEV2_PL_NONCE)) || ike_get_nonce(pl, &nr))
		return rk_fail(sa, 4, "CREATE_CHILD_SA response without Nonce and a Curve25519 KE", in);
	memcpy(r->spi_r, pr->spi, 8);
	err = kex_derive(r->kex, ke.data.p, ke.data.len, &gir);
	kex_free(r->kex);
	r->kex = NULL;
	if (!err)
		err = crypto_ike_rekey_keys(&suite, suite.prf, &sa->keys.sk_d, gir.data, gir.len,
					    r->ni, sizeof(r->ni), nr.p, nr.len, r->spi_i,
					    r->spi_r, &r->keys);
	buf_wipe(&gir);
	if (err)
		return rk_fail(sa, 5, "new IKE SA's keys not derived (KE rejected?)", NULL);
	/* §2.8: the initiator of the rekey deletes the old SA */
	chain_begin(&bld, &inner);
	ike_put_delete(&bld, IKEV2_PROTO_IKE, 0, NULL, 0);
	err = chain_finish(&bld) ||
	      seal_req(&r->req_old, sa->spi_i, sa->spi_r, IKEV2_EXCH_INFORMATIONAL, r->msgid + 1,
		       &sa->keys.sk_ei, bld.first_type, &inner);
	buf_reset(&inner);
	if (!err)
		err = seal_req(&r->req_new, r->spi_i, r->spi_r, IKEV2_EXCH_INFORMATIONAL, 0,
			       &r->keys.sk_ei, IKEV2_PL_NONE, &inner);
	buf_free(&inner);
	if (err)
		return rk_fail(sa, 6, "cannot build the Delete or the INFORMATIONAL", NULL);
	r->state = R_FIN;
	r->tries = 0;
	r->tsent = cli_now_us();
	if (send_udp(sa, &r->req_old, sa->natt) || send_udp(sa, &r->req_new, sa->natt))
		rk_fail(sa, 1, "cannot send the Delete or the INFORMATIONAL", NULL);
}

/* Verified: the new SA is the SA's current one (its next request is
 * message ID 1), for a later round. */
static void rk_done(struct sa *sa)
{
	struct rk *r = sa->rk;
	uint64_t now = cli_now_us();

	r->state = R_DONE;
	g.rk_lat[r->slot] = now - r->t0 ? now - r->t0 : 1;
	g.rk_ok++;
	g.rk_inflight--;
	while (g.rk_dec_n < 10 && g.rk_ok * 10 >= (g.rk_dec_n + 1) * g.rk_slots)
		g.rk_dec_us[g.rk_dec_n++] = now;
	memcpy(sa->spi_i, r->spi_i, 8);
	memcpy(sa->spi_r, r->spi_r, 8);
	ike_keys_wipe(&sa->keys);
	sa->keys = r->keys;
	ike_keys_init(&r->keys);
	r->msgid = 1;
	buf_free(&r->req_old);
	buf_free(&r->req_new);
}

/* A response on the old SA (CREATE_CHILD_SA, then INFORMATIONAL to the
 * Delete) or on the new one (INFORMATIONAL); duplicates are ignored. */
static void rk_resp(struct sa *sa, const uint8_t *p, size_t len, const struct ike_msg *m)
{
	static struct ike_msg in;
	struct rk *r = sa->rk;
	struct buf plain = BUF_INIT;
	bool old = !memcmp(m->hdr.spi_i, sa->spi_i, 8) && !memcmp(m->hdr.spi_r, sa->spi_r, 8);
	bool new = !memcmp(m->hdr.spi_i, r->spi_i, 8);
	const char *why;
	int kind;

	if (old && r->state == R_CCS && m->hdr.exch == IKEV2_EXCH_CREATE_CHILD_SA) {
		kind = open_resp(&sa->keys.sk_er, p, len, m, r->msgid, &plain, &in, &why);
		if (kind)
			return rk_fail(sa, 16 + kind % 16, why, NULL);
		rk_on_ccs(sa, &in);
	} else if (r->state == R_FIN && m->hdr.exch == IKEV2_EXCH_INFORMATIONAL &&
		   ((old && !r->del_ok) ||
		    (new && !r->info_ok && !memcmp(m->hdr.spi_r, r->spi_r, 8)))) {
		kind = open_resp(old ? &sa->keys.sk_er : &r->keys.sk_er, p, len, m,
				 old ? r->msgid + 1 : 0, &plain, &in, &why);
		if (kind)
			return rk_fail(sa, 16 + kind % 16, why, NULL);
		/* §1.4.1: the answer to a Delete of the IKE SA is empty */
		if (in.n) {
			buf_wipe(&plain);
			return rk_fail(sa, 7, "INFORMATIONAL response not empty", &in);
		}
		*(old ? &r->del_ok : &r->info_ok) = true;
		if (r->del_ok && r->info_ok)
			rk_done(sa);
	}
	buf_wipe(&plain);
}

/* UDP: requests unanswered after 1, 2, 4 s are sent again. */
static void rk_retransmit(uint64_t now, unsigned long from)
{
	for (unsigned long s = from; s < g.rk_next; s++) {
		struct sa *sa = g.rks[s % g.rk_n];
		struct rk *r = sa->rk;

		if (r->slot != s || (r->state != R_CCS && r->state != R_FIN))
			continue;
		if (now - r->tsent < (uint64_t)RTO_US << r->tries)
			continue;
		if (++r->tries >= MAX_TRIES) {
			rk_fail(sa, 8, "no answer after retransmissions", NULL);
			continue;
		}
		g.rk_retransmits++;
		r->tsent = now;
		if (r->state == R_CCS || !r->del_ok)
			send_udp(sa, &r->req_old, sa->natt);
		if (r->state == R_FIN && !r->info_ok)
			send_udp(sa, &r->req_new, sa->natt);
	}
}

/* Starts slot s (the SA rks[s % rk_n], its round s / rk_n) at s * window
 * / rk_n until every one is done or failed, or 30 s after the last
 * round's window. */
static void rk_drive(void)
{
	struct epoll_event evs[256];
	uint64_t start = g.rk_start_us = cli_now_us(), last_rt = 0;
	uint64_t win = (uint64_t)g.rk_window_s * 1000000u;
	unsigned long lo = 0;
	int n, wait_ms;

	while (g.rk_ok + g.rk_failed < g.rk_slots) {
		uint64_t t = cli_now_us();

		while (g.rk_next < g.rk_slots && t - start >= win * g.rk_next / g.rk_n) {
			rk_start(g.rks[g.rk_next % g.rk_n], g.rk_next);
			g.rk_next++;
		}
		if (t - start > win * g.rk_rounds + 30000000u)
			break;
		t = cli_now_us();	/* after the sends above */
		if (t - last_rt > 100000) {
			while (lo < g.rk_next && g.rk_lat[lo])
				lo++;
			rk_retransmit(t, lo);
			last_rt = t;
		}
		wait_ms = 50;
		if (g.rk_next < g.rk_slots) {
			uint64_t due = start + win * g.rk_next / g.rk_n;

			wait_ms = due > t ? (int)((due - t + 999) / 1000) : 0;
			if (wait_ms > 50)
				wait_ms = 50;
		}
		n = epoll_wait(g.ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), wait_ms);
		for (int e = 0; e < n; e++)
			read_udp(g.usock[evs[e].data.u64]);
	}
}

/* --rekey: the storm's line, "rk_..." keys: the rate of each tenth of the
 * rekeys as they completed (as --deciles), and per tenth of the schedule
 * the latency p50 and p99 and the failures. */
static void rk_report(uint64_t end, double cpu)
{
	uint64_t *lat = calloc(g.rk_slots, sizeof(*lat));
	uint64_t t0 = g.rk_start_us, last = g.rk_dec_n ? g.rk_dec_us[g.rk_dec_n - 1] : end;
	char dec[200] = "", p50[200] = "", p99[200] = "", fails[200] = "";
	unsigned long n0 = 0, nall = 0, timeouts = 0;
	size_t od = 0, o5 = 0, o9 = 0, of = 0;

	if (!lat) {
		fprintf(stderr, "tcpike-bench: out of memory\n");
		return;
	}
	for (unsigned int k = 0; k < g.rk_dec_n; k++) {
		unsigned long n1 = ((k + 1) * g.rk_slots + 9) / 10;
		uint64_t t1 = g.rk_dec_us[k];

		od += (size_t)snprintf(dec + od, sizeof(dec) - od, ",%.1f",
				       t1 > t0 ? (double)(n1 - n0) * 1e6 / (double)(t1 - t0) : 0.0);
		t0 = t1;
		n0 = n1;
	}
	for (unsigned int k = 0; k < 10; k++) {
		unsigned long n = 0, nf = 0;

		for (unsigned long s = k * g.rk_slots / 10; s < (k + 1) * g.rk_slots / 10; s++) {
			if (g.rk_lat[s] == RK_FAILED)
				nf++;
			else if (g.rk_lat[s])
				lat[n++] = g.rk_lat[s];
		}
		qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
		o5 += (size_t)snprintf(p50 + o5, sizeof(p50) - o5, ",%.2f", pct(lat, n, 0.5));
		o9 += (size_t)snprintf(p99 + o9, sizeof(p99) - o9, ",%.2f", pct(lat, n, 0.99));
		of += (size_t)snprintf(fails + of, sizeof(fails) - of, ",%lu", nf);
	}
	for (unsigned long s = 0; s < g.rk_slots; s++) {
		if (!g.rk_lat[s])
			timeouts++;
		else if (g.rk_lat[s] != RK_FAILED)
			lat[nall++] = g.rk_lat[s];
	}
	qsort(lat, (size_t)nall, sizeof(*lat), cmp_u64);
	printf("rk_count=%lu rk_sas=%lu rk_rounds=%lu rk_pct=%lu rk_window_s=%lu rk_ok=%lu "
	       "rk_failed=%lu rk_timeouts=%lu rk_retransmits=%lu rk_elapsed_ms=%.1f rk_rate=%.1f "
	       "rk_requested=%.1f rk_p50_ms=%.2f rk_p99_ms=%.2f rk_max_ms=%.2f rk_cpu_pct=%.0f "
	       "rk_deciles=%s rk_p50s=%s rk_p99s=%s rk_fails=%s\n",
	       g.rk_slots, g.rk_n, g.rk_rounds, g.rk_pct, g.rk_window_s, g.rk_ok,
	       g.rk_failed, timeouts, g.rk_retransmits, (double)(last - g.rk_start_us) / 1000.0,
	       last > g.rk_start_us ? (double)g.rk_ok * 1e6 / (double)(last - g.rk_start_us) : 0.0,
	       (double)g.rk_n / (double)g.rk_window_s,
	       pct(lat, nall, 0.5), pct(lat, nall, 0.99), nall ? (double)lat[nall - 1] / 1000.0 : 0.0,
	       end > g.rk_start_us ? 100.0 * cpu / ((double)(end - g.rk_start_us) / 1e6) : 0.0,
	       dec[0] ? dec + 1 : "-", p50 + 1, p99 + 1, fails + 1);
	free(lat);
}

/* The options into g; 0, or the exit code. */
static int parse_opts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dst", required_argument, NULL, 'd' },
		{ "src", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "mode", required_argument, NULL, 'm' },
		{ "sockets", required_argument, NULL, 'k' },
		{ "port", required_argument, NULL, 'p' },
		{ "natt-port", required_argument, NULL, 'P' },
		{ "tcp-port", required_argument, NULL, 't' },
		{ "id", required_argument, NULL, 'i' },
		{ "psk", required_argument, NULL, 'K' },
		{ "tsi", required_argument, NULL, 'I' },
		{ "tsr", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "sep-notify", required_argument, NULL, 'S' },
		{ "nat", no_argument, NULL, 'N' },
		{ "distinct-ids", no_argument, NULL, 'D' },
		{ "vip-out", required_argument, NULL, 'V' },
		{ "certs", required_argument, NULL, 'C' },
		{ "deciles", no_argument, NULL, 'Z' },
		{ "rekey", required_argument, NULL, 'r' },
		{ "rekey-window", required_argument, NULL, 'W' },
		{ "rekey-wait", no_argument, NULL, 'X' },
		{ "rekey-rounds", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dst_s = NULL, *src_s = NULL, *tsi = "10.128.0.0/9",
		   *tsr = "192.168.2.0/24";
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd': dst_s = optarg; break;
		case 's': src_s = optarg; break;
		case 'n': g.count = cli_num("tcpike-bench", optarg, 1, 1000000); break;
		case 'w': g.window = cli_num("tcpike-bench", optarg, 1, 100000); break;
		case 'm':
			if (!strcmp(optarg, "udp"))
				g.mode = M_UDP;
			else if (!strcmp(optarg, "tcp"))
				g.mode = M_TCP;
			else if (!strcmp(optarg, "separate"))
				g.mode = M_SEP;
			else
				usage();
			break;
		case 'k': g.nsock = cli_num("tcpike-bench", optarg, 1, 4096); break;
		case 'p': g.port = (uint16_t)cli_num("tcpike-bench", optarg, 1, 65535); break;
		case 'P': g.natt_port = (uint16_t)cli_num("tcpike-bench", optarg, 1, 65535); break;
		case 't': g.tcp_port = (uint16_t)cli_num("tcpike-bench", optarg, 1, 65535); break;
		case 'i': g.id = optarg; break;
		case 'K': g.psk = optarg; break;
		case 'I': tsi = optarg; break;
		case 'R': tsr = optarg; break;
		case 'T': g.timeout_s = cli_num("tcpike-bench", optarg, 1, 3600); break;
		case 'S': g.sep_notify = (uint16_t)cli_num("tcpike-bench", optarg, 1, 65535); break;
		case 'N': g.nat = true; break;
		case 'D': g.distinct = true; break;
		case 'V': g.vip_out = optarg; break;
		case 'C': g.certs = optarg; break;
		case 'Z': g.deciles = true; break;
		case 'r': g.rk_pct = cli_num("tcpike-bench", optarg, 1, 100); break;
		case 'W': g.rk_window_s = cli_num("tcpike-bench", optarg, 1, 3600); break;
		case 'X': g.rk_wait = true; break;
		case 'O': g.rk_rounds = cli_num("tcpike-bench", optarg, 1, 100); break;
		default: usage();
		}
	}
	/* with --distinct-ids, room for "c999999." */
	if (!dst_s || optind != argc || strlen(g.id) > (g.distinct ? 247 : 255) || !*g.psk)
		usage();
	/* the storm runs over UDP, on the handshakes' sockets */
	if (g.rk_pct && (g.mode != M_UDP || g.vip_out || g.certs)) {
		fprintf(stderr, "tcpike-bench: --rekey needs --mode udp, without --vip-out and --certs\n");
		return 2;
	}
	parse_ts(tsi, &g.tsi);
	parse_ts(tsr, &g.tsr);
	g.fam = parse_addr(dst_s, &g.dst);
	if (g.fam < 0) {
		fprintf(stderr, "tcpike-bench: --dst '%s': not an IPv4 or IPv6 address\n", dst_s);
		return 2;
	}
	g.dlen = g.fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (src_s) {
		char *list = strdup(src_s), *tok, *save = NULL;

		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (g.nsrc == MAX_SRC || parse_addr(tok, &g.src[g.nsrc]) != g.fam) {
				fprintf(stderr, "tcpike-bench: --src '%s': at most %d addresses of the --dst family\n",
					tok, MAX_SRC);
				return 2;
			}
			g.nsrc++;
		}
		free(list);
	} else {
		g.src[0].ss_family = (sa_family_t)g.fam;
		g.nsrc = 1;
	}
	return 0;
}

/* --certs: the SA's key and certificate, DIR/<IDi>.key and .crt; 0, or 1
 * with the reason told. */
static int load_cred(struct sa *sa)
{
	char id[256], path[4096];
	struct cred_err why = { 0 };
	X509 *x;

	sa_id(sa, id, sizeof(id));
	snprintf(path, sizeof(path), "%s/%s.key", g.certs, id);
	sa->key = crypto_load_privkey(path, &why);
	if (sa->key) {
		snprintf(path, sizeof(path), "%s/%s.crt", g.certs, id);
		x = crypto_load_cert(path, &why);
		if (x && crypto_cert_to_der(x, &sa->cert))
			snprintf(why.msg, sizeof(why.msg), "%.400s: cannot encode it", path);
		else if (x)
			why.msg[0] = 0;
		X509_free(x);
	}
	if (!sa->key || why.msg[0]) {
		fprintf(stderr, "tcpike-bench: %s\n", why.msg[0] ? why.msg : path);
		return 1;
	}
	return 0;
}

/* --rekey: the SAs to rekey, spread evenly over the indices, each with
 * its first rekey's key pair, nonce and SPIi made ahead (as the
 * handshakes' are; later rounds' when they start); 0, or 1 with the
 * reason told. */
static int rk_prepare(void)
{
	g.rk_n = (g.count * g.rk_pct + 99) / 100;
	g.rk_slots = g.rk_n * g.rk_rounds;
	g.rks = calloc(g.rk_n, sizeof(*g.rks));
	g.rk_lat = calloc(g.rk_slots, sizeof(*g.rk_lat));
	if (!g.rks || !g.rk_lat)
		goto nomem;
	for (unsigned long j = 0; j < g.rk_n; j++) {
		struct sa *sa = &g.sas[j * g.count / g.rk_n];
		struct rk *r = calloc(1, sizeof(*r));

		if (!r)
			goto nomem;
		sa->rk = r;
		g.rks[j] = sa;
		ike_keys_init(&r->keys);
		r->msgid = 2;		/* after IKE_AUTH's */
		if (rk_material(sa)) {
			fprintf(stderr, "tcpike-bench: key generation failed\n");
			return 1;
		}
	}
	return 0;
nomem:
	fprintf(stderr, "tcpike-bench: out of memory\n");
	return 1;
}

/* The UDP sockets, key pairs, nonces and SPIs, all before the clock
 * starts; 0, or 1 with the reason told. */
static int prepare(void)
{
	unsigned long i;

	/* Many source ports (and addresses): each socket its own. */
	for (i = 0; i < g.nsock && g.mode != M_TCP; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = i };
		int buf = 1 << 20;

		g.usock[i] = socket(g.fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (g.usock[i] < 0 ||
		    bind(g.usock[i], (struct sockaddr *)&g.src[i % (unsigned long)g.nsrc], g.dlen) ||
		    epoll_ctl(g.ep, EPOLL_CTL_ADD, g.usock[i], &ev)) {
			fprintf(stderr, "tcpike-bench: UDP socket %lu: %s\n", i, strerror(errno));
			return 1;
		}
		setsockopt(g.usock[i], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	}
	if (crypto_random(&g.spi_base, sizeof(g.spi_base))) {
		fprintf(stderr, "tcpike-bench: no random bytes\n");
		return 1;
	}
	g.spi_base = 0x100 + g.spi_base % 0x7fffff00u;
	/* The SPI's last four bytes index the SA. */
	for (i = 0; i < g.count; i++) {
		struct sa *sa = &g.sas[i];

		sa->kex = kex_new(IKEV2_KE_CURVE25519);
		if (!sa->kex || crypto_random(sa->ni, sizeof(sa->ni)) ||
		    crypto_random(sa->spi_i, 4)) {
			fprintf(stderr, "tcpike-bench: key generation failed\n");
			return 1;
		}
		sa->spi_i[0] |= 1;
		sa->spi_i[4] = (uint8_t)(i >> 24);
		sa->spi_i[5] = (uint8_t)(i >> 16);
		sa->spi_i[6] = (uint8_t)(i >> 8);
		sa->spi_i[7] = (uint8_t)i;
		sa->usock = (int)(i % g.nsock);
		sa->tfd = -1;
		ike_keys_init(&sa->keys);
		if (g.certs && load_cred(sa))
			return 1;
	}
	return g.rk_pct ? rk_prepare() : 0;
}

/* The CPU time used so far, in seconds. */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Starts SAs up to the window until every one is done or failed, or the
 * timeout is up; the time it began. */
static uint64_t drive(void)
{
	struct epoll_event evs[256];
	uint64_t start = g.start_us = cli_now_us(), last_rt = 0;
	unsigned long lo = 0;
	int n;

	while (g.ok + g.failed < g.count) {
		uint64_t t = cli_now_us();

		while (g.inflight < g.window && g.next < g.count)
			start_one();
		if (t - start > g.timeout_s * 1000000u)
			break;
		t = cli_now_us();	/* after the sends above */
		if (t - last_rt > 100000) {
			while (lo < g.next && (g.sas[lo].state == S_DONE ||
					       g.sas[lo].state == S_FAILED))
				lo++;
			retransmit(t, lo);
			last_rt = t;
		}
		n = epoll_wait(g.ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), 50);
		for (int e = 0; e < n; e++) {
			uint64_t d = evs[e].data.u64;

			if (d >> 32)
				read_tcp(&g.sas[(uint32_t)d]);
			else
				read_udp(g.usock[d]);
		}
	}
	return start;
}

/* --deciles: ",R1,...,Rk" (SAs/s) into out for the tenths reached. */
static void deciles_str(char *out, size_t len)
{
	uint64_t t0 = g.start_us;
	unsigned long n0 = 0;
	size_t o = 0;

	out[0] = 0;
	for (unsigned int k = 0; k < g.dec_n && o < len; k++) {
		/* the SAs up to the (k+1)-th tenth: ceil((k+1) N / 10) */
		unsigned long n1 = ((k + 1) * g.count + 9) / 10;
		uint64_t t1 = g.dec_us[k];
		int w = snprintf(out + o, len - o, ",%.1f",
				 t1 > t0 ? (double)(n1 - n0) * 1e6 / (double)(t1 - t0) : 0.0);

		if (w < 0)
			break;
		o += (size_t)w;
		t0 = t1;
		n0 = n1;
	}
}

/* Frees the SAs, their latencies (from t0) into lat sorted; how many. */
static unsigned long collect(uint64_t *lat)
{
	unsigned long i, n = 0;

	for (i = 0; i < g.count; i++) {
		struct sa *sa = &g.sas[i];

		if (sa->state == S_DONE)
			lat[n++] = sa->t0;
		else if (sa->state != S_FAILED)
			g.timeouts++;
		if (sa->tfd >= 0) {
			close(sa->tfd);
			stream_free(&sa->stream);
		}
		kex_free(sa->kex);
		EVP_PKEY_free(sa->key);
		buf_free(&sa->cert);
		done(sa);
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
	return n;
}

static void rk_free(struct sa *sa)
{
	struct rk *r = sa->rk;

	ike_keys_wipe(&sa->keys);
	kex_free(r->kex);
	ike_keys_wipe(&r->keys);
	buf_free(&r->req_old);
	buf_free(&r->req_new);
	free(r);
	sa->rk = NULL;
}

/* --rekey, once every SA is up: with --rekey-wait first SIGUSR1 (the
 * caller measures the idle responder meanwhile), then the storm and its
 * line; 0 when every rekey was verified. */
static int storm(void)
{
	sigset_t usr1;
	double cpu;
	int sig;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (g.rk_wait && sigwait(&usr1, &sig))
		return 1;
	cpu = -cpu_s();
	rk_drive();
	cpu += cpu_s();
	rk_report(cli_now_us(), cpu);
	return g.rk_ok == g.rk_slots ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	struct rusage ru;
	sigset_t usr1;
	char dec[200];
	uint64_t start, end, *lat;
	unsigned long i, n;
	double cpu;
	int rc;

	rc = parse_opts(argc, argv);
	if (rc)
		return rc;
	/* --rekey-wait: held until the storm is asked for */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	/* one descriptor per TCP connection, all held to the end */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	g.sas = calloc(g.count, sizeof(*g.sas));
	g.usock = calloc(g.nsock, sizeof(*g.usock));
	lat = calloc(g.count, sizeof(*lat));
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!g.sas || !g.usock || !lat || g.ep < 0) {
		fprintf(stderr, "tcpike-bench: out of memory\n");
		free(lat);
		return 1;
	}
	if (prepare()) {
		free(lat);
		return 1;
	}
	cpu = -cpu_s();
	start = drive();
	end = cli_now_us();
	cpu += cpu_s();
	if (g.vip_out && vip_write())
		rc = 1;
	n = collect(lat);
	deciles_str(dec, sizeof(dec));
	getrusage(RUSAGE_SELF, &ru);
	printf("mode=%s count=%lu window=%lu ok=%lu failed=%lu timeouts=%lu retransmits=%lu "
	       "elapsed_ms=%.1f rate=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f cpu_pct=%.0f ids=%s maxrss_kib=%ld%s%s\n",
	       g.mode == M_UDP ? "udp" : g.mode == M_TCP ? "tcp" : "separate",
	       g.count, g.window, g.ok, g.failed, g.timeouts, g.retransmits,
	       (double)(end - start) / 1000.0,
	       end > start ? (double)g.ok * 1e6 / (double)(end - start) : 0.0,
	       pct(lat, n, 0.5), pct(lat, n, 0.9),
	       pct(lat, n, 0.99), n ? (double)lat[n - 1] / 1000.0 : 0.0,
	       end > start ? 100.0 * cpu / ((double)(end - start) / 1e6) : 0.0,
	       g.distinct ? "distinct" : "one", ru.ru_maxrss, g.deciles ? " deciles=" : "",
	       g.deciles ? (dec[0] ? dec + 1 : "-") : "");
	fflush(stdout);
	if (g.rk_pct && g.ok == g.count && !rc)
		rc = storm();
	for (i = 0; i < g.nsock && g.mode != M_TCP; i++)
		close(g.usock[i]);
	close(g.ep);
	for (i = 0; i < g.rk_n; i++)
		rk_free(g.rks[i]);
	free(g.rks);
	free(g.rk_lat);
	free(g.sas);
	free(g.usock);
	free(lat);
	return g.ok == g.count && !rc ? 0 : 1;
}
