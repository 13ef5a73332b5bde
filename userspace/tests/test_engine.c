// SPDX-License-Identifier: GPL-2.0
/*
 * Two IKEv2 engines back to back in one process (the way strongSwan's
 * exchange_test_helper runs two daemons): a fake clock drives every timer,
 * the "none" backend keeps the SAs in memory, and a fake network between
 * them (struct engine_net) carries each message as the test says: deliver
 * it, drop it, deliver it twice, hold it back while the other side's
 * crosses it.  TCP connections are fake too: a connect completes, fails or
 * is cut when the test says.
 *
 * What namespaces test badly: RFC 7296 §2.8.1/§2.8.2 rekey collisions in
 * both orders, delete during rekey, retransmission and response caching
 * with lost and duplicated messages, INITIAL_CONTACT, and every transport
 * transition of ike_xport.c walked by real exchanges.  Runs in seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
/* sanitizer/allocator_interface.h's, which GCC does not install here */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#include "backend.h"
#include "config.h"
#include "engine.h"
#include "ike_xport.h"
#include "exch.h"
#include "kb_none.h"
#include "log.h"
#include "loop.h"
#include "tcp.h"
#include "wire.h"

#include "kselftest_harness.h"

/* --- the fake world ------------------------------------------------------------ */

static uint64_t now_ms = 1000000;
/* The none backend's own ops (a pretend kernel swaps them, see below). */
static const struct kbackend_ops *none_ops;

static uint64_t fake_now(void)
{
	return now_ms;
}

struct peer;

/* One end of a fake TCP connection. */
struct tconn {
	struct tcp_conn *c;
	struct peer *owner;
	struct tconn *other;
	struct tconn *next;
	uint64_t up_ms;		/* originator: when its connect completes */
};

struct pkt {
	struct pkt *next;
	bool fin;		/* not a message: via's peer closed (FIN) */
	struct peer *to;
	struct ike_path path;	/* as the receiver sees it */
	struct tconn *via;	/* TCP: the receiving end */
	uint64_t due_ms;	/* not delivered before (net's one_way_ms) */
	size_t len;
	uint8_t data[];
};

struct peer {
	const char *name;
	struct engine *e;
	struct kbackend *kb;
	struct config *cfg;
	struct sockaddr_storage addr;
	struct net *net;
	uint64_t sent, keepalives;
	size_t sent_bytes;	/* heap taken by its messages put in flight */
};

struct net {
	struct loop *loop;
	struct peer p[2];
	struct pkt *head;
	struct tconn *conns;
	uint16_t next_port;
	bool block_udp, block_tcp;
	unsigned int dropped, connects;
	/* Path delay: each message takes one_way_ms, a connect connect_ms
	 * (a lost first SYN: the kernel's 1 s retransmission plus a round
	 * trip); 0 by default, everything at once. */
	uint64_t one_way_ms, connect_ms;
	uint64_t connect_at[8];	/* when the first connects were started */
	/* A full send buffer: the next eagain UDP sends fail with -EAGAIN;
	 * each wait for room (fake_wait) takes wait_ms and is counted. */
	unsigned int eagain, waits;
	uint64_t wait_ms;
	uint32_t race_ms;	/* tcp_connect_race the last connect was given */
	/* A NAT in front of a (family 0: none): b sees a's UDP from this
	 * address, a's ports kept, and reaches a only there. */
	struct sockaddr_storage nat_a;
};

static struct peer *other_peer(struct peer *p)
{
	struct net *n = p->net;

	return p == &n->p[0] ? &n->p[1] : &n->p[0];
}

static struct tconn *tconn_of(struct net *n, const struct tcp_conn *c)
{
	struct tconn *t;

	for (t = n->conns; t; t = t->next)
		if (t->c == c)
			return t;
	return NULL;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return addr_eq(a, b);
}

static void enqueue(struct net *n, struct pkt *k)
{
	struct pkt **pp;

	for (pp = &n->head; *pp; pp = &(*pp)->next)
		;
	*pp = k;
}

static int fake_send(void *ctx, const struct ike_path *path, const uint8_t *msg, size_t len)
{
	struct peer *p = ctx, *to = other_peer(p);
	struct net *n = p->net;
	struct tconn *t = NULL;
	struct pkt *k;

	if (path->kind == XPORT_TCP) {
		t = tconn_of(n, path->conn);
		if (!t || t->owner != p || t->c->dead || t->c->connecting)
			return -ENOTCONN;
	} else if (!same_addr(&path->remote, to == &n->p[0] && n->nat_a.ss_family ?
					      &n->nat_a : &to->addr)) {
		n->dropped++;	/* nobody there */
		return 0;
	} else if (n->block_udp) {
		n->dropped++;
		return 0;
	} else if (n->eagain) {
		n->eagain--;
		return -EAGAIN;
	}
	k = calloc(1, sizeof(*k) + len);
	if (!k)
		return -ENOMEM;
	k->to = to;
	k->path.kind = path->kind;
	k->path.local = path->remote;
	k->path.remote = path->local;
	if (!t && n->nat_a.ss_family) {
		bool to_a = to == &n->p[0];
		struct sockaddr_storage *ext = to_a ? &k->path.local : &k->path.remote;
		uint16_t port = addr_port(ext);

		*ext = to_a ? to->addr : n->nat_a;
		addr_set_port(ext, port);
	}
	if (t) {
		k->via = t->other;
		k->path.local = t->other->c->local;
		k->path.remote = t->other->c->remote;
		k->path.conn = t->other->c;
	}
	k->len = len;
	k->due_ms = now_ms + n->one_way_ms;
	memcpy(k->data, msg, len);
	enqueue(n, k);
	p->sent++;
	p->sent_bytes += sizeof(*k) + len;
	return 0;
}

static int fake_keepalive(void *ctx, const struct sockaddr_storage *local,
			  const struct sockaddr_storage *remote)
{
	struct peer *p = ctx;

	(void)local;
	(void)remote;
	p->keepalives++;
	return 0;
}

static struct tconn *tconn_new(struct net *n, struct peer *owner, bool originator,
			       const struct sockaddr_storage *local,
			       const struct sockaddr_storage *remote)
{
	struct tconn *t = calloc(1, sizeof(*t));

	t->c = calloc(1, sizeof(*t->c));
	t->c->refs = 1;		/* the fake network's own */
	t->c->fd = -1;
	t->c->originator = originator;
	t->c->local = *local;
	t->c->remote = *remote;
	t->owner = owner;
	t->next = n->conns;
	n->conns = t;
	return t;
}

static struct tcp_conn *fake_connect(void *ctx, const struct sockaddr_storage *local,
				     const struct sockaddr_storage *remote,
				     uint32_t timeout_ms, uint32_t race_ms, int *err)
{
	struct peer *p = ctx, *to = other_peer(p);
	struct net *n = p->net;
	struct sockaddr_storage l = *local;
	struct tconn *a, *b;

	(void)timeout_ms;
	(void)err;
	n->race_ms = race_ms;
	if (n->connects < sizeof(n->connect_at) / sizeof(n->connect_at[0]))
		n->connect_at[n->connects] = now_ms;
	n->connects++;
	addr_set_port(&l, n->next_port++);
	a = tconn_new(n, p, true, &l, remote);
	a->c->connecting = true;
	a->up_ms = now_ms + n->connect_ms;
	b = tconn_new(n, to, false, remote, &l);
	/* The responder's end is announced once IKETCP is in (tcp.c); its
	 * engine learns of it from the first message. */
	b->c->announced = b->c->prefix_seen = true;
	a->other = b;
	b->other = a;
	return tcp_conn_get(a->c);	/* the caller's reference */
}

/* Both ends go; each engine that knew its end hears of it. */
static void tconn_cut(struct tconn *t, int err)
{
	struct tconn *ends[2] = { t, t->other };
	int i;

	for (i = 0; i < 2; i++) {
		struct tcp_conn *c = ends[i]->c;

		if (c->dead)
			continue;
		c->dead = true;
		if (c->announced)
			engine_tcp_closed(ends[i]->owner->e, c, i ? 0 : err);
	}
}

static void tconn_cut_one(struct tconn *t, int err)
{
	if (t->c->dead)
		return;
	t->c->dead = true;
	if (t->c->announced)
		engine_tcp_closed(t->owner->e, t->c, err);
}

/* An orderly close: this end at once, the other after what is already in
 * flight towards it (its FIN). */
static void fake_close(void *ctx, struct tcp_conn *c, int err)
{
	struct peer *p = ctx;
	struct tconn *t = tconn_of(p->net, c);
	struct pkt *k;

	if (!t || c->dead)
		return;
	tconn_cut_one(t, err);
	k = calloc(1, sizeof(*k));
	k->fin = true;
	k->due_ms = now_ms + p->net->one_way_ms;
	k->to = t->other->owner;
	k->via = t->other;
	enqueue(p->net, k);
}

static int fake_wait(void *ctx, const struct ike_path *path, int err, uint64_t deadline_ms)
{
	struct net *n = ((struct peer *)ctx)->net;

	(void)path;
	(void)err;
	if (now_ms >= deadline_ms)
		return -ETIMEDOUT;
	n->waits++;
	now_ms += n->wait_ms;
	return 0;
}

static const struct engine_net fake_net = {
	.send = fake_send,
	.keepalive = fake_keepalive,
	.connect = fake_connect,
	.close = fake_close,
	.wait = fake_wait,
};

static void set_addr(struct sockaddr_storage *ss, const char *a, uint16_t port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strchr(a, ':')) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, a, &s6->sin6_addr);
	} else {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, a, &s4->sin_addr);
	}
}

struct side {
	const char *addr, *ts;
	const char *ts2;	/* a second Child SA, net2, with these */
	const char *more;	/* more children, as configuration text */
};

static const struct side v4[2] = {
	{ "10.0.0.1", "10.1.0.0/16", NULL, NULL }, { "10.0.0.2", "10.2.0.0/16", NULL, NULL },
};
static const struct side v6[2] = {
	{ "fd00::1", "fd01::/64, fd01:1::/64, fd01:2::/64, fd01:3::/64, fd01:4::/64", NULL, NULL },
	{ "fd00::2", "fd02::/64, fd02:1::/64, fd02:2::/64, fd02:3::/64, fd02:4::/64", NULL, NULL },
};

/* The configuration of one side: conn "c" towards the other. */
static struct config *make_cfg(const struct side *me, const struct side *peer,
			       const char *extra, const char *dextra)
{
	char text[16384], err[256], net2[256] = "";
	struct config *c = NULL;

	if (me->ts2)
		snprintf(net2, sizeof(net2),
			 " net2 { local_ts = %s\n remote_ts = %s\n"
			 "  esp_proposals = aes128gcm16\n rekey_time = 0 }", me->ts2, peer->ts2);
	snprintf(text, sizeof(text),
		 "daemon { backend = none\n separate_transports = yes\n"
		 " cookie_threshold = 1000\n %s }\n"
		 "connections { c {\n local_addrs = %s\n remote_addrs = %s\n"
		 " proposals = aes128gcm16-prfsha256-x25519\n"
		 " dpd_delay = 0\n rekey_time = 0\n retransmit_base = 1s\n"
		 " retransmit_tries = 3\n %s\n"
		 " local { auth = psk\n id = %s }\n remote { auth = psk\n id = %s }\n"
		 " children { net { local_ts = %s\n remote_ts = %s\n"
		 "  esp_proposals = aes128gcm16\n rekey_time = 0 }%s%s } } }\n"
		 "secrets { s { id = %s\n id2 = %s\n"
		 " secret = \"a test secret of some length\" } }\n",
		 dextra ? dextra : "", me->addr, peer->addr, extra ? extra : "",
		 me->addr, peer->addr, me->ts, peer->ts, net2, me->more ? me->more : "",
		 me->addr, peer->addr);
	if (config_parse("test.conf", text, strlen(text), &c, err, sizeof(err))) {
		fprintf(stderr, "config: %s\n", err);
		return NULL;
	}
	return c;
}

/* a (initiates) and b; extra goes into both conns, dextra into both
 * daemon sections. */
static struct net *net_new_on(const struct side *sides, const char *extra, const char *dextra)
{
	struct net *n = calloc(1, sizeof(*n));
	int i;

	loop_set_clock(fake_now);
	if (getenv("TEST_ENGINE_DEBUG"))
		log_set_level(LOG_LVL_DEBUG);
	else
		log_set_level(LOG_LVL_ERR);
	n->loop = loop_new();
	n->next_port = 40000;
	for (i = 0; i < 2; i++) {
		struct peer *p = &n->p[i];

		p->name = i ? "b" : "a";
		p->net = n;
		set_addr(&p->addr, sides[i].addr, 500);
		p->cfg = make_cfg(&sides[i], &sides[!i], extra, dextra);
		p->kb = kbackend_open("none");
		if (!p->cfg || !p->kb)
			return NULL;
		none_ops = p->kb->ops;
		p->e = engine_new(n->loop, p->cfg, p->kb);
		engine_set_net(p->e, &fake_net, p);
	}
	return n;
}

static struct net *net_new(const char *extra)
{
	return net_new_on(v4, extra, NULL);
}

static void net_free(struct net *n)
{
	struct pkt *k;
	struct tconn *t;
	int i;

	for (i = 0; i < 2; i++) {
		engine_shutdown(n->p[i].e);
		engine_free(n->p[i].e);
		kbackend_close(n->p[i].kb);
		config_free(n->p[i].cfg);
	}
	while ((k = n->head)) {
		n->head = k->next;
		free(k);
	}
	while ((t = n->conns)) {
		n->conns = t->next;
		tcp_conn_put(t->c);
		free(t);
	}
	loop_free(n->loop);
	loop_set_clock(NULL);
	free(n);
}

/* --- driving it ------------------------------------------------------------------ */

static unsigned int queued(const struct net *n)
{
	unsigned int q = 0;

	for (const struct pkt *k = n->head; k; k = k->next)
		q++;
	return q;
}

/* The first message in flight: its exchange type, response flag, sender. */
static int head_exch(const struct net *n)
{
	return n->head && !n->head->fin ? n->head->data[18] : -1;
}

static bool head_response(const struct net *n)
{
	return n->head && !n->head->fin && (n->head->data[19] & IKEV2_FLAG_RESPONSE);
}

static struct peer *head_to(const struct net *n)
{
	return n->head ? n->head->to : NULL;
}

static struct pkt *pop(struct net *n)
{
	struct pkt *k = n->head;

	if (k)
		n->head = k->next;
	return k;
}

static void deliver_pkt(struct pkt *k)
{
	struct ike_rx rx = { .path = k->path, .msg = k->data, .len = k->len };

	if (k->via && k->via->c->dead)
		return;		/* the stream is gone with its connection */
	if (k->fin) {
		tconn_cut_one(k->via, 0);
		return;
	}
	engine_rx(k->to->e, &rx);
}

/* Delivers the first message in flight; returns false when there is none
 * (or it is still on its way: one_way_ms). */
static bool deliver(struct net *n)
{
	struct pkt *k = n->head && n->head->due_ms <= now_ms ? pop(n) : NULL;

	if (!k)
		return false;
	deliver_pkt(k);
	free(k);
	return true;
}

static void drop(struct net *n)
{
	free(pop(n));
	n->dropped++;
}

/* Delivers the first message and keeps a copy at the end of the queue. */
static void duplicate(struct net *n)
{
	struct pkt *k = pop(n), *c;

	if (!k)
		return;
	c = malloc(sizeof(*c) + k->len);
	memcpy(c, k, sizeof(*c) + k->len);
	c->next = NULL;
	deliver_pkt(k);
	free(k);
	enqueue(n, c);
}

/* The message at position i (0 = first) is moved to the front. */
static void to_front(struct net *n, unsigned int i)
{
	struct pkt **pp = &n->head, *k;

	while (i-- && *pp)
		pp = &(*pp)->next;
	k = *pp;
	if (!k)
		return;
	*pp = k->next;
	k->next = n->head;
	n->head = k;
}

/* Connects in progress finish (or are refused with block_tcp). */
static bool finish_connects(struct net *n)
{
	struct tconn *t;
	bool any = false;

	for (t = n->conns; t; t = t->next) {
		struct tcp_conn *c = t->c;

		if (!c->originator || !c->connecting || c->dead || now_ms < t->up_ms)
			continue;
		any = true;
		c->connecting = false;
		if (n->block_tcp) {
			c->dead = true;
			engine_tcp_connected(t->owner->e, c, -ECONNREFUSED);
		} else {
			c->announced = true;
			engine_tcp_connected(t->owner->e, c, 0);
		}
		break;		/* the list may have changed */
	}
	return any;
}

static void timers(struct net *n)
{
	loop_once(n->loop, 0);
}

/* Everything in flight delivered, connects finished, timers due run. */
static void pump(struct net *n)
{
	int guard = 0;

	do {
		timers(n);
		while (finish_connects(n))
			;
	} while ((deliver(n) || (n->head && n->head->due_ms <= now_ms)) && ++guard < 10000);
	timers(n);
}

/* Time passes in steps of 100 ms, the world running at each. */
static void elapse(struct net *n, uint64_t ms)
{
	uint64_t end = now_ms + ms;

	while (now_ms < end) {
		now_ms += 100;
		pump(n);
	}
}

static struct ike_sa *first_sa(struct peer *p, enum ike_state st)
{
	struct ike_sa *sa;

	for (sa = p->e->all; sa; sa = sa->next)
		if (sa->state == st)
			return sa;
	return NULL;
}

static int count_sa(struct peer *p, enum ike_state st)
{
	int n = 0;

	for (struct ike_sa *sa = p->e->all; sa; sa = sa->next)
		n += sa->state == st;
	return n;
}

static int count_all(struct peer *p)
{
	int n = 0;

	for (struct ike_sa *sa = p->e->all; sa; sa = sa->next)
		n++;
	return n;
}

static int count_children(const struct ike_sa *sa)
{
	int n = 0;

	for (const struct child_sa *c = sa ? sa->children : NULL; c; c = c->next)
		n++;
	return n;
}

static void kernel_counts(struct peer *p, size_t *nsa, size_t *npol)
{
	const struct kbackend_ops *o = p->kb->ops;

	p->kb->ops = none_ops;
	kb_none_counts(p->kb, nsa, npol);
	p->kb->ops = o;
}

static size_t kernel_sas(struct peer *p)
{
	size_t nsa, npol;

	kernel_counts(p, &nsa, &npol);
	return nsa;
}

static size_t kernel_policies(struct peer *p)
{
	size_t nsa, npol;

	kernel_counts(p, &nsa, &npol);
	return npol;
}

static void initiate(struct net *n)
{
	struct buf out = BUF_INIT;

	engine_initiate(n->p[0].e, "c", &out);
	buf_free(&out);
}

/* The two IKE SAs are one: same SPIs, each the other's peer. */
static bool paired(const struct ike_sa *a, const struct ike_sa *b)
{
	return a && b && !memcmp(a->spi_i, b->spi_i, 8) && !memcmp(a->spi_r, b->spi_r, 8) &&
	       a->initiator != b->initiator;
}

/* Every Child SA of a has its twin at b (SPIs crossed), and no more. */
static bool children_paired(const struct ike_sa *a, const struct ike_sa *b)
{
	const struct child_sa *c, *d;

	if (count_children(a) != count_children(b))
		return false;
	for (c = a->children; c; c = c->next) {
		for (d = b->children; d; d = d->next)
			if (c->spi_in == d->spi_out && c->spi_out == d->spi_in)
				break;
		if (!d)
			return false;
	}
	return true;
}

#define A (&n->p[0])
#define B (&n->p[1])

/* Both ends up with one IKE SA and one Child SA between them. */
static void established(struct __test_metadata *_metadata, struct net *n)
{
	struct ike_sa *a = first_sa(A, IKE_S_ESTABLISHED), *b = first_sa(B, IKE_S_ESTABLISHED);

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_TRUE(paired(a, b));
	ASSERT_EQ(1, count_children(a));
	ASSERT_TRUE(children_paired(a, b));
	ASSERT_EQ(2, kernel_sas(A));
	ASSERT_EQ(2, kernel_sas(B));
}

/* The IKE SA stays up at both ends without its Child SA, nothing of which
 * is left in the kernels. */
static void childless_pair(struct __test_metadata *_metadata, struct net *n)
{
	EXPECT_EQ(1, count_sa(A, IKE_S_ESTABLISHED));
	EXPECT_EQ(1, count_sa(B, IKE_S_ESTABLISHED));
	EXPECT_EQ(0, count_children(first_sa(A, IKE_S_ESTABLISHED)));
	EXPECT_EQ(0, count_children(first_sa(B, IKE_S_ESTABLISHED)));
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(0, kernel_sas(B));
}

/* A initiates, the exchanges run to the end: both established. */
static void bring_up(struct __test_metadata *_metadata, struct net *n)
{
	initiate(n);
	pump(n);
	established(_metadata, n);
}

/* --- IKE_SA_INIT, IKE_AUTH ------------------------------------------------------- */

static void sc_udp_setup_again(struct __test_metadata *_metadata);

TEST(udp_setup)
{
	sc_udp_setup_again(_metadata);
}

static void sc_udp_setup_again(struct __test_metadata *_metadata)
{
	struct net *n = net_new(NULL);

	ASSERT_NE(NULL, n);
	initiate(n);
	ASSERT_EQ(1, queued(n));
	EXPECT_EQ(IKEV2_EXCH_IKE_SA_INIT, head_exch(n));
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_UDP, first_sa(A, IKE_S_ESTABLISHED)->x.state);
	EXPECT_EQ(XS_UDP, first_sa(B, IKE_S_ESTABLISHED)->x.state);
	EXPECT_EQ(XL_NONE, first_sa(A, IKE_S_ESTABLISHED)->x.link);
	/* Two exchanges, two messages each way. */
	EXPECT_EQ(2, A->sent);
	EXPECT_EQ(2, B->sent);
	net_free(n);
}

static void rekey(struct peer *p, bool child)
{
	struct buf out = BUF_INIT;

	engine_rekey(p->e, "c", child, &out);
	buf_free(&out);
}

static struct ike_sa *sa_a_any(struct net *n)
{
	return A->e->all;
}

/* msg delivered along the way k (popped) came, in its place; k freed. */
static void deliver_instead(struct pkt *k, const struct buf *msg)
{
	struct pkt *c = calloc(1, sizeof(*c) + msg->len);

	if (!c || !k)
		abort();
	*c = *k;
	c->len = msg->len;
	memcpy(c->data, msg->data, msg->len);
	deliver_pkt(c);
	free(c);
	free(k);
}

/* a's IKE_SA_INIT request rebuilt with its own KE and Nonce, an SA
 * payload of its one proposal with an SPI of spi_len bytes, and the
 * initiator SPI zeroed if zero_spi.  Delivered to b in place of the real one. */
static void send_init_variant(struct net *n, uint8_t spi_len, bool zero_spi)
{
	static struct ike_msg m;
	static struct ike_sa_pl sa;
	static const uint8_t spi[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct pkt *k = pop(n);
	struct buf out = BUF_INIT;
	struct ike_builder bld;
	struct ike_hdr h;
	struct ike_ke ke;
	struct ike_span ni;

	if (!k || ike_msg_parse(k->data, k->len, &m) ||
	    ike_get_sa(ike_msg_find(&m, IKEV2_PL_SA), &sa) ||
	    ike_get_ke(ike_msg_find(&m, IKEV2_PL_KE), &ke) ||
	    ike_get_nonce(ike_msg_find(&m, IKEV2_PL_NONCE), &ni))
		abort();
	h = m.hdr;
	if (zero_spi)
		memset(h.spi_i, 0, 8);
	sa.p[0].spi_len = spi_len;
	memcpy(sa.p[0].spi, spi, spi_len);
	msg_begin(&bld, &out, &h);
	ike_put_sa(&bld, &sa);
	ike_put_ke(&bld, ke.group, ke.data.p, ke.data.len);
	ike_put_nonce(&bld, ni.p, ni.len);
	if (msg_finish(&bld))
		abort();
	deliver_instead(k, &out);
	buf_free(&out);
}

/* The notify type in b's unprotected answer at the head, 0 for none. */
static uint16_t head_notify(struct net *n)
{
	static struct ike_msg m;

	if (!n->head || ike_msg_parse(n->head->data, n->head->len, &m) || m.n < 1 ||
	    m.pl[0].type != IKEV2_PL_NOTIFY)
		return 0;
	return (uint16_t)(m.pl[0].body[2] << 8 | m.pl[0].body[3]);
}

/* RFC 7296 §3.1: the initiator's SPI is never zero; §3.3.1: in an initial
 * IKE SA negotiation the proposal's SPI Size MUST be zero. */
TEST(init_request_spi_rules)
{
	struct net *n = net_new(NULL);
	uint64_t dropped;

	/* the rebuilt request itself is fine */
	initiate(n);
	send_init_variant(n, 0, false);
	ASSERT_EQ(1, queued(n));
	EXPECT_EQ(0, head_notify(n));
	EXPECT_EQ(1, count_all(B));
	net_free(n);

	n = net_new(NULL);
	initiate(n);
	dropped = B->e->st.rx_dropped;
	send_init_variant(n, 0, true);
	EXPECT_EQ(0, queued(n));
	EXPECT_EQ(0, count_all(B));
	EXPECT_EQ(dropped + 1, B->e->st.rx_dropped);
	net_free(n);

	n = net_new(NULL);
	initiate(n);
	send_init_variant(n, 8, false);
	ASSERT_EQ(1, queued(n));
	EXPECT_EQ(IKEV2_N_INVALID_SYNTAX, head_notify(n));
	EXPECT_EQ(0, count_all(B));
	net_free(n);
}

/* The first message in flight decrypted with the receiver's inbound keys
 * (`to`'s only IKE SA): plain gets the inner chain, *first its first type. */
static int head_open(struct net *n, struct peer *to, struct buf *plain, uint8_t *first)
{
	static struct ike_msg m;

	if (!n->head || ike_msg_parse(n->head->data, n->head->len, &m) || !m.sk)
		return -EBADMSG;
	*first = m.sk_next;
	return crypto_sk_open(&to->e->all->sk_in, n->head->data, n->head->len,
			      (size_t)(m.sk->body - n->head->data) - IKEV2_GENERIC_HDR_LEN,
			      false, plain);
}

/* out = HDR h, SK{plain} (first: its first payload type) sealed with the
 * keys of `from`'s only IKE SA. */
static void seal_from(struct peer *from, const struct ike_hdr *h, uint8_t first,
		      const uint8_t *plain, size_t len, struct buf *out)
{
	struct ike_builder bld;
	size_t off;

	msg_begin(&bld, out, h);
	off = ike_put_sk_header(&bld, first);
	if (off == SIZE_MAX || crypto_sk_seal(&from->e->all->sk_out, out, off, false, plain, len))
		abort();
}

/* plain, an inner chain starting with type first, sealed with from's keys
 * under header h, delivered in place of the head; plain wiped. */
static void deliver_sealed(struct net *n, struct peer *from, const struct ike_hdr *h,
			   uint8_t first, struct buf *plain)
{
	struct buf out = BUF_INIT;

	seal_from(from, h, first, plain->data, plain->len, &out);
	deliver_instead(pop(n), &out);
	buf_free(&out);
	buf_wipe(plain);
}

/* The head (from `from` to the other) sealed again with from's keys after
 * edit() changed the body of its first inner payload of type pltype in
 * place; then delivered. */
static void deliver_edited_from(struct net *n, struct peer *from, uint8_t pltype,
				void (*edit)(uint8_t *body, size_t len))
{
	static struct ike_msg m, inner;
	struct buf plain = BUF_INIT;
	const struct ike_pl *ts;
	uint8_t first;

	if (head_open(n, other_peer(from), &plain, &first) ||
	    ike_msg_parse(n->head->data, n->head->len, &m) ||
	    ike_chain_parse(first, plain.data, plain.len, &inner) ||
	    !(ts = ike_msg_find(&inner, pltype)))
		abort();
	edit(plain.data + (ts->body - plain.data), ts->len);
	deliver_sealed(n, from, &m.hdr, first, &plain);
}

/* The head, from a to b, edited (see deliver_edited_from). */
static void deliver_edited(struct net *n, uint8_t pltype, void (*edit)(uint8_t *body, size_t len))
{
	deliver_edited_from(n, A, pltype, edit);
}

static void ts_start_after_end(uint8_t *b, size_t len)
{
	(void)len;
	b[4 + 8] = 0xff;	/* first selector's start address: 255.x > end */
}

static void ts_bad_length(uint8_t *b, size_t len)
{
	(void)len;
	b[4 + 3] = 20;		/* an IPv4 range is 16 bytes */
}

static void ts_unknown_type(uint8_t *b, size_t len)
{
	(void)len;
	b[4] = 200;		/* a type we do not know: skipped, not malformed */
}

/* The notify in b's IKE_AUTH answer at the head, as a reads it. */
static uint16_t auth_answer_notify(struct net *n)
{
	static struct ike_msg inner;
	struct buf plain = BUF_INIT;
	struct ike_notify no;
	uint8_t first;
	uint16_t t = 0;

	if (!head_open(n, A, &plain, &first) &&
	    !ike_chain_parse(first, plain.data, plain.len, &inner) &&
	    (!ike_find_notify(&inner, IKEV2_N_INVALID_SYNTAX, &no) ||
	     !ike_find_notify(&inner, IKEV2_N_TS_UNACCEPTABLE, &no)))
		t = no.type;
	buf_wipe(&plain);
	return t;
}

/* RFC 7296 §3.13.1: a TS payload with bad lengths or start > end is
 * malformed: INVALID_SYNTAX, which in IKE_AUTH fails the IKE SA (§2.21.2
 * lists the notifies that only refuse the Child SA; it is not one).  A
 * selector of an unknown type is not malformed: with nothing else, the
 * selectors are unacceptable. */
static void malformed_ts(struct __test_metadata *_metadata, const char *extra)
{
	void (*edits[])(uint8_t *, size_t) = { ts_start_after_end, ts_bad_length,
					       ts_unknown_type };
	static const uint16_t want[] = { IKEV2_N_INVALID_SYNTAX, IKEV2_N_INVALID_SYNTAX,
					 IKEV2_N_TS_UNACCEPTABLE };

	for (int i = 0; i < 3; i++) {
		struct net *n = net_new(extra);

		initiate(n);
		for (int guard = 0; head_exch(n) != IKEV2_EXCH_IKE_AUTH && guard < 100; guard++) {
			timers(n);
			while (finish_connects(n))
				;
			deliver(n);
		}
		ASSERT_EQ(IKEV2_EXCH_IKE_AUTH, head_exch(n));
		ASSERT_EQ(extra != NULL, n->head->via != NULL);	/* on TCP */
		deliver_edited(n, IKEV2_PL_TSI, edits[i]);
		ASSERT_EQ(1, queued(n));
		ASSERT_TRUE(head_response(n));
		EXPECT_EQ(want[i], auth_answer_notify(n));
		EXPECT_EQ(i == 2, count_sa(B, IKE_S_ESTABLISHED));
		EXPECT_EQ(0, kernel_sas(B));
		net_free(n);
	}
}

TEST(malformed_ts_is_invalid_syntax)
{
	malformed_ts(_metadata, NULL);
}

/* RFC 9329 §3 (TCP-25): IKE syntax errors over TCP get INVALID_SYNTAX too. */
TEST(malformed_ts_is_invalid_syntax_tcp)
{
	malformed_ts(_metadata, "transport = tcp");
}

/* --- retransmission and the response cache (RFC 7296 §2.1) ------------------------- */

TEST(lost_request_is_retransmitted)
{
	struct net *n = net_new(NULL);
	struct ike_sa *a;

	initiate(n);
	drop(n);			/* IKE_SA_INIT lost */
	elapse(n, 900);
	EXPECT_EQ(0, queued(n));
	now_ms += 100;			/* retransmit_base = 1s */
	timers(n);
	ASSERT_EQ(1, queued(n));
	EXPECT_EQ(IKEV2_EXCH_IKE_SA_INIT, head_exch(n));
	pump(n);
	established(_metadata, n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	EXPECT_EQ(1, a->stats_retx);
	net_free(n);
}

TEST(lost_response_comes_from_the_cache)
{
	struct net *n = net_new(NULL);
	struct pkt *k;
	uint8_t first[2048];
	size_t first_len;

	initiate(n);
	deliver(n);			/* IKE_SA_INIT request */
	deliver(n);			/* its response */
	ASSERT_EQ(IKEV2_EXCH_IKE_AUTH, head_exch(n));
	deliver(n);			/* IKE_AUTH request: b installs */
	ASSERT_TRUE(head_response(n));
	EXPECT_EQ(2, kernel_sas(B));
	k = pop(n);			/* ... and its response is lost */
	ASSERT_LE(k->len, sizeof(first));
	first_len = k->len;
	memcpy(first, k->data, k->len);
	free(k);
	elapse(n, 900);
	now_ms += 100;
	timers(n);
	ASSERT_EQ(IKEV2_EXCH_IKE_AUTH, head_exch(n));
	ASSERT_FALSE(head_response(n));
	deliver(n);			/* the retransmission */
	ASSERT_EQ(1, queued(n));
	/* The cached response, byte for byte; nothing made twice. */
	EXPECT_EQ(first_len, n->head->len);
	EXPECT_EQ(0, memcmp(first, n->head->data, first_len));
	EXPECT_EQ(2, kernel_sas(B));
	pump(n);
	established(_metadata, n);
	net_free(n);
}

/* Established, then a's Child SA rekey request delivered to b, and a copy
 * of it queued after b's response. */
static void rekey_request_twice(struct __test_metadata *_metadata, struct net *n)
{
	bring_up(_metadata, n);
	rekey(A, true);
	ASSERT_EQ(IKEV2_EXCH_CREATE_CHILD_SA, head_exch(n));
	duplicate(n);
	ASSERT_EQ(2, queued(n));	/* the response, then the copy */
}

static void flip_first(uint8_t *b, size_t len)
{
	(void)len;
	b[0] ^= 1;
}

/* A request with the Message ID of the one answered last but other
 * content (authentic: sealed with the peer's keys) is not a
 * retransmission: dropped, not answered from the cache. */
static void same_msgid_other_request(struct __test_metadata *_metadata, const char *extra)
{
	struct net *n = net_new(extra);
	uint64_t bad;

	rekey_request_twice(_metadata, n);
	to_front(n, 1);
	bad = B->e->st.rx_bad;
	deliver_edited(n, IKEV2_PL_NONCE, flip_first);
	EXPECT_EQ(1, queued(n));	/* only the first answer */
	EXPECT_EQ(bad + 1, B->e->st.rx_bad);
	ASSERT_TRUE(head_response(n));
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(1, first_sa(B, IKE_S_ESTABLISHED)->children->rekeys);
	net_free(n);
}

TEST(same_msgid_other_request_udp)
{
	same_msgid_other_request(_metadata, NULL);
}

TEST(same_msgid_other_request_tcp)
{
	same_msgid_other_request(_metadata, "transport = tcp");
}

/* count copies of a's IKE_SA_INIT request, each with its own initiator
 * SPI, reach b and get answered; nothing else moves; then the half-open
 * SAs time out (30 s). */
static void half_open_burst(struct net *n, int count)
{
	struct pkt *k;

	initiate(n);
	k = pop(n);
	for (int i = 0; i < count; i++) {
		k->data[0] = (uint8_t)(i + 1);	/* the initiator's SPI */
		deliver_pkt(k);		/* b holds a half-open SA */
		drop(n);		/* its answer */
	}
	free(k);
	n->block_udp = true;
	elapse(n, 32000);
}

/* After a burst of half-open SAs has gone, the allocator is asked to give
 * the memory back (malloc_trim), once; a handful of SAs is no burst. */
TEST(memory_given_back_after_a_half_open_burst)
{
	struct net *n = net_new(NULL);

	half_open_burst(n, 3);
	EXPECT_EQ(0, B->e->n_half_open);
	EXPECT_EQ(0, B->e->ho_mem.trims);
	net_free(n);
	n = net_new(NULL);
	half_open_burst(n, 80);
	EXPECT_EQ(0, B->e->n_half_open);
	EXPECT_EQ(1, B->e->ho_mem.trims);
	net_free(n);
}

/* Heap bytes in use: the sizes asked for under ASan, malloc's chunks
 * otherwise. */
static size_t heap_in_use(void)
{
#ifdef __SANITIZE_ADDRESS__
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

/* Everything in flight delivered; what b's handling of its messages left
 * on the heap, less the messages it put in flight (the fake network's,
 * freed by a's delivery). */
static long pump_growth_of(struct net *n, struct peer *p)
{
	long grown = 0;
	struct pkt *k;

	while ((k = pop(n))) {
		size_t before = heap_in_use(), sent = p->sent_bytes;

		deliver_pkt(k);
		if (k->to == p)
			grown += (long)(heap_in_use() - before) - (long)(p->sent_bytes - sent);
		free(k);
	}
	return grown;
}

/*
 * Issue 21: at most 4 KiB of daemon memory per IKE SA, for a million of
 * them (B5/B7: a responder, backend none, one Child SA each, RSS over
 * N of them).  The heap a responder keeps for one more established IKE SA
 * with its Child SA, the none backend's two SAs and three policies
 * included, stays within 3 KiB: malloc's chunk headers and rounding and
 * the hash tables' slots come on top in RSS (about 0.5 KiB).  State that
 * most SAs never use (virtual IPs, RFC 9370's IKE_FOLLOWUP_KE, the ESP
 * probe, separate transports' ESP path, a rekey responder's deferred
 * outbound SA, a rekey collision's nonce) is allocated only when used;
 * what only IKE_SA_INIT and IKE_AUTH need (all keys but SK_d) goes at
 * establishment; the peer's identity takes its own length, a Child SA's
 * outer addresses 17 bytes each, the none backend's records no list.
 * 6,396 bytes here before the first of these, 3,989 before the last.
 * The first SA and its teardown take what is allocated once
 * (credentials, OpenSSL's tables).
 */
#define IKE_SA_HEAP_BUDGET	3072

TEST(responder_heap_per_ike_sa)
{
	struct net *n = net_new(NULL);
	struct buf out = BUF_INIT;
	long grown;

	ASSERT_NE(NULL, n);
	bring_up(_metadata, n);
	engine_terminate(A->e, "c", &out);
	pump(n);
	ASSERT_EQ(0, count_all(B));
	initiate(n);
	grown = pump_growth_of(n, B);
	pump(n);
	established(_metadata, n);
	TH_LOG("responder: %ld heap bytes for one IKE SA with one Child SA", grown);
	EXPECT_GE(IKE_SA_HEAP_BUDGET, grown);
	buf_free(&out);
	net_free(n);
}

TEST(duplicated_request_and_response)
{
	struct net *n = net_new(NULL);
	struct ike_sa *a, *b;
	uint64_t dropped;

	rekey_request_twice(_metadata, n);	/* b answers it ... */
	/* the new Child SA's inbound half beside the old (its outbound
	 * waits for a's Delete) */
	EXPECT_EQ(3, kernel_sas(B));
	to_front(n, 1);
	deliver(n);			/* ... and answers the copy from its cache */
	EXPECT_EQ(3, kernel_sas(B));
	ASSERT_EQ(2, queued(n));
	EXPECT_EQ(n->head->len, n->head->next->len);
	EXPECT_EQ(0, memcmp(n->head->data, n->head->next->data, n->head->len));
	a = first_sa(A, IKE_S_ESTABLISHED);
	dropped = A->e->st.rx_dropped;
	deliver(n);			/* the response: a sends its Delete */
	EXPECT_EQ(dropped, A->e->st.rx_dropped);
	ASSERT_TRUE(head_response(n));
	deliver(n);			/* the same response again: no answer */
	EXPECT_EQ(dropped + 1, A->e->st.rx_dropped);
	pump(n);
	established(_metadata, n);
	b = first_sa(B, IKE_S_ESTABLISHED);
	EXPECT_EQ(1, a->children->rekeys);
	EXPECT_EQ(1, b->children->rekeys);
	net_free(n);
}

/* Lines logged while a test listens (at info level). */
static char heard[2048][256];
static unsigned int n_heard;

static void hear(void *ctx, enum log_subsys s, enum log_level lvl, const char *line)
{
	(void)ctx;
	(void)s;
	(void)lvl;
	if (n_heard < sizeof(heard) / sizeof(heard[0]))
		snprintf(heard[n_heard++], sizeof(heard[0]), "%s", line);
}

static void listen_log(bool on)
{
	n_heard = 0;
	log_set_tap(on ? hear : NULL, NULL);
	log_set_level(on ? LOG_LVL_INFO : LOG_LVL_ERR);
}

/* The first line heard that contains s, or NULL. */
static const char *heard_line(const char *s)
{
	for (unsigned int i = 0; i < n_heard; i++)
		if (strstr(heard[i], s))
			return heard[i];
	return NULL;
}

static unsigned int heard_count(const char *s)
{
	unsigned int c = 0;

	for (unsigned int i = 0; i < n_heard; i++)
		c += !!strstr(heard[i], s);
	return c;
}

/* engine_shutdown(e), listening: its one summary line ("" when none). */
static const char *shutdown_heard(struct engine *e)
{
	static char line[256];
	const char *l;

	listen_log(true);
	engine_shutdown(e);
	l = heard_line("stopping: ");
	snprintf(line, sizeof(line), "%s", l ? l : "");
	listen_log(false);
	return line;
}

/* The responder's IKE_SA_INIT line names the chosen suite when info is
 * logged; below it the line is neither logged nor built. */
TEST(init_line_names_the_suite)
{
	struct net *n = net_new(NULL);
	const char *l;

	listen_log(true);
	bring_up(_metadata, n);
	l = heard_line("IKE_SA_INIT from ");
	ASSERT_NE(NULL, l);
	EXPECT_NE(NULL, strstr(l, ": AES_GCM_16_128/HMAC_SHA2_256/CURVE25519")) TH_LOG("%s", l);
	listen_log(false);
	net_free(n);
	n = net_new(NULL);
	log_set_tap(hear, NULL);
	n_heard = 0;
	bring_up(_metadata, n);
	EXPECT_EQ(0, heard_count("IKE_SA_INIT from "));
	listen_log(false);
	net_free(n);
}

/* Stopping with our IKE SA rekey in flight: the shutdown takes the
 * newest SA first, the rekey's new one, and the old SA's request must not
 * point at it afterwards (ASan saw a use after free in netns/60 when its
 * retried rekey was out at the end). */
TEST(shutdown_during_ike_rekey)
{
	struct net *n = net_new(NULL);

	bring_up(_metadata, n);
	rekey(A, false);
	ASSERT_NE(NULL, first_sa(A, IKE_S_ESTABLISHED)->req.new_ike);
	EXPECT_EQ(first_sa(A, IKE_S_ESTABLISHED)->req.new_ike, A->e->all);
	engine_shutdown(A->e);
	EXPECT_EQ(NULL, A->e->all);
	net_free(n);
}

/* At stop the peer is told once: one INFORMATIONAL with a Delete, which
 * deletes its IKE SA; never retransmitted. */
TEST(stop_sends_one_delete)
{
	struct net *n = net_new(NULL);
	uint64_t sent;

	bring_up(_metadata, n);
	sent = A->sent;
	EXPECT_STREQ("stopping: sent 1 Deletes in 0.0 s, 0 not sent", shutdown_heard(A->e));
	EXPECT_EQ(NULL, A->e->all);
	EXPECT_EQ(0, kernel_sas(A));
	ASSERT_EQ(1, queued(n));
	EXPECT_EQ(IKEV2_EXCH_INFORMATIONAL, head_exch(n));
	EXPECT_FALSE(head_response(n));
	pump(n);
	EXPECT_EQ(0, count_all(B));
	elapse(n, 60000);
	EXPECT_EQ(sent + 1, A->sent);
	net_free(n);
}

/* A full send buffer at stop: the Delete waits for room (the loop no
 * longer runs) and goes; before, the datagram the socket refused with
 * EAGAIN was lost. */
TEST(stop_delete_waits_for_room)
{
	struct net *n = net_new(NULL);

	bring_up(_metadata, n);
	n->eagain = 3;
	n->wait_ms = 10;
	EXPECT_STREQ("stopping: sent 1 Deletes in 0.0 s, 0 not sent", shutdown_heard(A->e));
	EXPECT_EQ(3, n->waits);
	ASSERT_EQ(1, queued(n));
	EXPECT_EQ(IKEV2_EXCH_INFORMATIONAL, head_exch(n));
	pump(n);
	EXPECT_EQ(0, count_all(B));
	net_free(n);
}

/* ... but not for ever: past the deadline (stop_timeout, 3 s by default)
 * the SA goes untold, counted; each wait takes wait_ms. */
static void stop_gives_up(struct __test_metadata *_metadata, const char *dextra,
			  uint64_t wait_ms, uint64_t limit_ms)
{
	struct net *n = net_new_on(v4, NULL, dextra);
	char want[128];
	const char *line;
	uint64_t t0;

	ASSERT_NE(NULL, n);
	bring_up(_metadata, n);
	n->eagain = 1000000;
	n->wait_ms = wait_ms;
	t0 = now_ms;
	line = shutdown_heard(A->e);
	EXPECT_EQ(NULL, A->e->all);
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(0, queued(n));
	EXPECT_GE(now_ms - t0, limit_ms);
	EXPECT_LE(now_ms - t0, limit_ms + wait_ms);
	EXPECT_NE(NULL, strstr(line, "stopping: sent 0 Deletes in "));
	snprintf(want, sizeof(want),
		 " s, 1 not sent (0 with a request of ours unanswered, 1 past stop_timeout = %.1f s, 0 with",
		 (double)limit_ms / 1000);
	EXPECT_NE(NULL, strstr(line, want)) TH_LOG("%s", line);
	net_free(n);
}

TEST(stop_delete_gives_up_at_the_deadline)
{
	stop_gives_up(_metadata, NULL, 500, 3000);
}

TEST(stop_timeout_sets_the_deadline)
{
	stop_gives_up(_metadata, "stop_timeout = 1s", 100, 1000);
}

/* With a request of ours out, the peer's window (RFC 7296 §2.3) has no
 * room for a Delete: none is sent, the SA counts as not told. */
TEST(stop_with_a_request_out_sends_nothing)
{
	struct net *n = net_new(NULL);

	bring_up(_metadata, n);
	rekey(A, true);
	ASSERT_EQ(1, queued(n));
	EXPECT_NE(NULL, strstr(shutdown_heard(A->e),
			       "stopping: sent 0 Deletes in 0.0 s, 1 not sent (1 with a request of ours unanswered, 0 past"));
	EXPECT_EQ(1, queued(n));	/* the rekey's request only */
	net_free(n);
}

/* delete_on_stop = no: the SAs go, their peers untold. */
TEST(stop_without_deletes)
{
	struct net *n = net_new_on(v4, NULL, "delete_on_stop = no");

	ASSERT_NE(NULL, n);
	bring_up(_metadata, n);
	EXPECT_STREQ("stopping: 1 IKE SAs deleted without a Delete (delete_on_stop = no)",
		     shutdown_heard(A->e));
	EXPECT_EQ(NULL, A->e->all);
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(0, queued(n));
	EXPECT_EQ(1, count_all(B));
	net_free(n);
}

/* A terminate while the loop runs sends its Delete once and waits for
 * nothing, room included. */
TEST(terminate_delete_does_not_wait)
{
	struct net *n = net_new(NULL);

	bring_up(_metadata, n);
	n->eagain = 1;
	ike_sa_delete_now(first_sa(A, IKE_S_ESTABLISHED), "terminated");
	EXPECT_EQ(0, n->waits);
	EXPECT_EQ(0, queued(n));
	EXPECT_EQ(0, count_all(A));
	net_free(n);
}

TEST(peer_gone_after_retransmits)
{
	struct net *n = net_new(NULL);

	bring_up(_metadata, n);
	n->block_udp = true;
	rekey(A, true);
	/* 1 s, 2 s, 4 s, then the last wait of 8 s (retransmit_tries = 3). */
	elapse(n, 16000);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(1, count_all(B));
	net_free(n);
}

/* An IKE_SA_INIT the peer never answers is a failed IKE SA (ike_failed),
 * as one it refuses is. */
TEST(unanswered_ike_sa_init_counts_as_failed)
{
	struct net *n = net_new("keyingtries = 1");

	n->block_udp = true;
	initiate(n);
	elapse(n, 16000);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(1, A->e->st.ike_failed);
	EXPECT_EQ(0, A->e->st.ike_established);
	net_free(n);
}

/* RFC 7383: over IPv6 every fragment's datagram (40-byte IPv6 header)
 * stays within fragment_size, and a message that fits over IPv4 but not
 * over IPv6 is fragmented. */
TEST(ipv6_fragments_fit_the_fragment_size)
{
	struct net *n = net_new_on(v6, "fragment_size = 65535", NULL);
	char conf[64];
	size_t whole, fs;
	struct pkt *k;

	ASSERT_NE(NULL, n);
	initiate(n);
	deliver(n);
	deliver(n);
	ASSERT_EQ(1, queued(n));
	ASSERT_EQ(IKEV2_EXCH_IKE_AUTH, head_exch(n));
	whole = n->head->len;
	net_free(n);
	/* Room for it with IPv4 and UDP headers (28), not with IPv6's (48). */
	fs = whole + 40;
	ASSERT_LE(576, fs);
	snprintf(conf, sizeof(conf), "fragment_size = %zu", fs);
	n = net_new_on(v6, conf, NULL);
	initiate(n);
	deliver(n);
	deliver(n);
	EXPECT_LT(1, queued(n));
	for (k = n->head; k; k = k->next)
		EXPECT_GE(fs, k->len + 40 + 8);
	pump(n);
	established(_metadata, n);
	EXPECT_LT(0, A->e->st.frags_sent);
	net_free(n);
}

/* --- collisions (RFC 7296 §2.8.1, §2.8.2, §2.25) ------------------------------------ */

/* Both ends rekey at once; their requests cross, then the responses come
 * back in the order asked: a's first or b's first. */
static void both_rekey(struct __test_metadata *_metadata, struct net *n, bool child,
		       bool b_first)
{
	bring_up(_metadata, n);
	rekey(A, child);
	rekey(B, child);
	ASSERT_EQ(2, queued(n));
	ASSERT_EQ(B, head_to(n));
	deliver(n);			/* a's request at b */
	deliver(n);			/* b's request at a */
	ASSERT_EQ(2, queued(n));
	ASSERT_TRUE(head_response(n));
	ASSERT_EQ(A, head_to(n));	/* b's answer to a */
	if (b_first)
		to_front(n, 1);
	deliver(n);
	deliver(n);
	pump(n);
}

static void one_of_each(struct __test_metadata *_metadata, struct net *n)
{
	established(_metadata, n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(1, count_all(B));
	EXPECT_EQ(0, queued(n));
}

TEST(child_rekey_collision_a_answer_first)
{
	struct net *n = net_new(NULL);
	size_t pol;

	initiate(n);
	pump(n);
	pol = kernel_policies(A);
	net_free(n);
	n = net_new(NULL);
	both_rekey(_metadata, n, true, false);
	one_of_each(_metadata, n);
	/* The survivor is the same SA at both ends, once rekeyed, and
	 * inherited the policies (§2.8.1: the redundant one is deleted). */
	EXPECT_EQ(1, first_sa(A, IKE_S_ESTABLISHED)->children->rekeys);
	EXPECT_EQ(pol, kernel_policies(A));
	EXPECT_EQ(pol, kernel_policies(B));
	EXPECT_TRUE(first_sa(A, IKE_S_ESTABLISHED)->children->policies ||
		    first_sa(B, IKE_S_ESTABLISHED)->children->policies);
	net_free(n);
}

TEST(child_rekey_collision_b_answer_first)
{
	struct net *n = net_new(NULL);

	both_rekey(_metadata, n, true, true);
	one_of_each(_metadata, n);
	EXPECT_EQ(1, first_sa(A, IKE_S_ESTABLISHED)->children->rekeys);
	EXPECT_EQ(1, first_sa(B, IKE_S_ESTABLISHED)->children->rekeys);
	net_free(n);
}

TEST(ike_rekey_collision_a_answer_first)
{
	struct net *n = net_new(NULL);

	both_rekey(_metadata, n, false, false);
	one_of_each(_metadata, n);
	EXPECT_EQ(1, first_sa(A, IKE_S_ESTABLISHED)->rekeys);
	EXPECT_EQ(1, first_sa(B, IKE_S_ESTABLISHED)->rekeys);
	/* the redundant and the old SAs gone, nothing points at the survivor */
	EXPECT_EQ(0, first_sa(A, IKE_S_ESTABLISHED)->referenced);
	EXPECT_EQ(0, first_sa(B, IKE_S_ESTABLISHED)->referenced);
	net_free(n);
}

TEST(ike_rekey_collision_b_answer_first)
{
	struct net *n = net_new(NULL);

	both_rekey(_metadata, n, false, true);
	one_of_each(_metadata, n);
	EXPECT_EQ(1, first_sa(A, IKE_S_ESTABLISHED)->rekeys);
	EXPECT_EQ(0, first_sa(A, IKE_S_ESTABLISHED)->referenced);
	EXPECT_EQ(0, first_sa(B, IKE_S_ESTABLISHED)->referenced);
	net_free(n);
}

/* Once a rekey's old IKE SA is gone, nothing points at the new one, at
 * either end: its own delete (at the next rekey) then has no pointers
 * to clear in other SAs.  It walked every SA held, which made every
 * rekey after the first O(n) in the IKE SAs held (issue 21's storm). */
TEST(ike_rekey_leaves_no_reference)
{
	struct net *n = net_new(NULL);

	initiate(n);
	pump(n);
	for (int i = 0; i < 3; i++) {
		rekey(i % 2 ? B : A, false);
		pump(n);
		ASSERT_EQ(1, count_all(A));
		ASSERT_EQ(1, count_all(B));
		EXPECT_EQ(IKE_S_ESTABLISHED, A->e->all->state);
		EXPECT_EQ(0, A->e->all->referenced);
		EXPECT_EQ(0, B->e->all->referenced);
		EXPECT_EQ(1, count_children(A->e->all));
	}
	net_free(n);
}

/* §2.25.1: a Child SA rekey meets an IKE SA rekey; both are refused with
 * TEMPORARY_FAILURE and done again later. */
TEST(child_rekey_meets_ike_rekey)
{
	struct net *n = net_new(NULL);
	struct ike_sa *a;

	initiate(n);
	pump(n);
	rekey(A, true);
	rekey(B, false);
	ASSERT_EQ(2, queued(n));
	deliver(n);
	deliver(n);
	pump(n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	EXPECT_EQ(0, a->rekeys);
	EXPECT_EQ(0, a->children->rekeys);
	elapse(n, 25000);		/* the retries come within 10 s */
	one_of_each(_metadata, n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	EXPECT_EQ(1, a->rekeys);
	EXPECT_EQ(1, a->children->rekeys);
	net_free(n);
}

/* ike_sa_name() twice in one log line names two SAs ("IKE SA rekeyed, now
 * X" named the old SA twice with one static buffer). */
TEST(two_sa_names_in_one_line)
{
	struct net *n = net_new(NULL);
	struct ike_sa *old, *ns;
	char line[256];

	initiate(n);
	pump(n);
	old = sa_a_any(n);
	rekey(A, false);
	deliver(n);
	deliver(n);			/* a has both SAs now */
	ns = old->rekeyed_to;
	ASSERT_NE(NULL, ns);
	snprintf(line, sizeof(line), "%s rekeyed, now %s", ike_sa_name(old), ike_sa_name(ns));
	EXPECT_STRNE(ike_sa_name(old), ike_sa_name(ns));
	EXPECT_STREQ("c[1] rekeyed, now c[2]", line);
	pump(n);
	net_free(n);
}

/* A Delete for a Child SA crosses our rekey of it. */
TEST(child_delete_during_rekey)
{
	struct net *n = net_new(NULL);
	struct ike_sa *b;

	initiate(n);
	pump(n);
	rekey(A, true);
	b = first_sa(B, IKE_S_ESTABLISHED);
	b->children->pending |= CHILD_PEND_DELETE;
	ike_kick(b);
	ASSERT_EQ(2, queued(n));
	deliver(n);			/* the rekey at b: being deleted */
	deliver(n);			/* the delete at a */
	pump(n);
	childless_pair(_metadata, n);
	net_free(n);
}

/* The IKE SA's Delete crosses our rekey of it. */
TEST(ike_delete_during_ike_rekey)
{
	struct net *n = net_new(NULL);
	struct buf out = BUF_INIT;

	initiate(n);
	pump(n);
	rekey(A, false);
	engine_terminate(B->e, "c", &out);
	buf_free(&out);
	ASSERT_EQ(2, queued(n));
	to_front(n, 1);			/* the Delete arrives first */
	deliver(n);
	pump(n);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(0, count_all(B));
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(0, kernel_sas(B));
	net_free(n);
}


/* --- kernel events (expire, RFC 7296 §2.8 rekey on a lifetime) ------------------- */

/* An expire event from the backend as the kernel would send it: the SA
 * named by its SPI and outer destination (no port). */
static void kernel_expire(struct peer *p, uint32_t spi, const struct sockaddr_storage *dst,
			  bool hard)
{
	struct kb_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = KB_EV_EXPIRE;
	ev.spi = spi;
	ev.dst = *dst;
	addr_set_port(&ev.dst, 0);
	ev.hard = hard;
	engine_kernel_event(p->e, &ev);
}

/* A soft expire of the outbound SA (a byte or packet limit) rekeys that
 * Child SA: new SPIs at both ends, the old ones gone from the kernel. */
TEST(soft_expire_rekeys_the_child)
{
	struct net *n = net_new(NULL);
	struct ike_sa *a, *b;
	uint32_t in, out;

	bring_up(_metadata, n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	in = a->children->spi_in;
	out = a->children->spi_out;
	kernel_expire(A, out, &B->addr, false);
	/* the inbound SA reaches its limit too: one rekey, not two */
	kernel_expire(A, in, &A->addr, false);
	pump(n);
	established(_metadata, n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	b = first_sa(B, IKE_S_ESTABLISHED);
	EXPECT_EQ(1, a->children->rekeys);	/* once, not once per half */
	EXPECT_EQ(1, b->children->rekeys);
	EXPECT_NE(in, a->children->spi_in);
	EXPECT_NE(out, a->children->spi_out);
	EXPECT_EQ(2, kernel_sas(A));
	EXPECT_EQ(2, kernel_sas(B));
	net_free(n);
}

/* A hard expire: the kernel removed the SA; the Child SA is deleted and
 * the peer told (its half goes too), nothing left in either kernel. */
TEST(hard_expire_deletes_the_child_and_tells_the_peer)
{
	struct net *n = net_new(NULL);
	struct ike_sa *a;
	uint32_t in;
	const struct kbackend_ops *o;

	bring_up(_metadata, n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	in = a->children->spi_in;
	/* what the kernel does on a hard expire */
	o = A->kb->ops;
	A->kb->ops = none_ops;
	ASSERT_EQ(0, none_ops->sa_del(A->kb, &A->addr, in));
	A->kb->ops = o;
	kernel_expire(A, in, &A->addr, true);
	pump(n);
	childless_pair(_metadata, n);
	EXPECT_EQ(0, kernel_policies(A));
	EXPECT_EQ(0, kernel_policies(B));
	net_free(n);
}

/* An expire for an SA the daemon does not know (another key manager's,
 * or one already deleted) changes nothing. */
TEST(expire_of_a_foreign_sa_is_ignored)
{
	struct net *n = net_new(NULL);
	struct ike_sa *a;

	initiate(n);
	pump(n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	kernel_expire(A, a->children->spi_in ^ htonl(0x1000), &A->addr, false);
	kernel_expire(A, a->children->spi_out, &A->addr, true);	/* wrong dst */
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(0, first_sa(A, IKE_S_ESTABLISHED)->children->rekeys);
	net_free(n);
}

/* Child SA life_bytes/life_packets become the kernel's hard limits, and
 * a soft limit below them (with jitter) triggers the rekey in time: the
 * original initiator's at 80..85 %, the responder's at 90..95 % (both ends
 * count the same bytes: equal limits would make every rekey collide). */
static struct kb_sa last_sa, last_sa_b;
static struct kbackend *capture_b;

static int capture_sa_add(struct kbackend *kb, const struct kb_sa *sa)
{
	struct kb_sa *l = kb == capture_b ? &last_sa_b : &last_sa;

	*l = *sa;
	l->enc_key = l->auth_key = NULL;
	return none_ops->sa_add(kb, sa);
}

TEST(life_bytes_become_soft_and_hard_limits)
{
	struct net *n = net_new(NULL);
	struct kbackend_ops cap;
	uint64_t soft_b[2] = { 0 };
	int i;

	for (i = 0; i < 2; i++) {
		n->p[i].cfg->conns->children->life_bytes = 1000000;
		n->p[i].cfg->conns->children->life_packets = 10000;
	}
	cap = *none_ops;
	cap.sa_add = capture_sa_add;
	A->kb->ops = &cap;
	B->kb->ops = &cap;
	capture_b = B->kb;
	bring_up(_metadata, n);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(1000000, last_sa.hard_bytes);
		EXPECT_EQ(10000, last_sa.hard_packets);
		EXPECT_GE(last_sa.soft_bytes, 800000);
		EXPECT_LE(last_sa.soft_bytes, 850000);
		EXPECT_GE(last_sa.soft_packets, 8000);
		EXPECT_LE(last_sa.soft_packets, 8500);
		EXPECT_EQ(1000000, last_sa_b.hard_bytes);
		EXPECT_GE(last_sa_b.soft_bytes, 900000);
		EXPECT_LE(last_sa_b.soft_bytes, 950000);
		EXPECT_GE(last_sa_b.soft_packets, 9000);
		EXPECT_LE(last_sa_b.soft_packets, 9500);
		soft_b[i] = last_sa.soft_bytes;
		if (!i) {
			rekey(B, true);	/* the roles stay those of the IKE SA */
			pump(n);
		}
	}
	EXPECT_NE(soft_b[0], soft_b[1]);	/* jitter: per SA */
	A->kb->ops = none_ops;
	B->kb->ops = none_ops;
	capture_b = NULL;
	net_free(n);
}


/* The peer's NAT handed out a new port: the kernel saw ESP-in-UDP from
 * it (a mapping event for our inbound SA).  The IKE SA and its Child SAs
 * follow (same SPIs: steered, not rekeyed) and a liveness check goes out
 * to the new port. */
TEST(mapping_event_follows_the_new_port)
{
	struct net *n = net_new("encap = yes");
	struct ike_sa *b;
	struct kb_event ev;
	uint32_t in;
	uint64_t tx;

	bring_up(_metadata, n);
	b = first_sa(B, IKE_S_ESTABLISHED);
	ASSERT_TRUE(b->children->encap);
	ASSERT_EQ(4500, addr_port(&b->path.remote));
	in = b->children->spi_in;
	memset(&ev, 0, sizeof(ev));
	ev.kind = KB_EV_MAPPING;
	ev.spi = in;
	ev.dst = B->addr;
	addr_set_port(&ev.dst, 0);
	ev.new_remote = A->addr;
	addr_set_port(&ev.new_remote, 4611);
	ev.old_port = 4500;
	tx = B->sent;
	engine_kernel_event(B->e, &ev);
	EXPECT_EQ(4611, addr_port(&b->path.remote));
	EXPECT_EQ(in, b->children->spi_in);
	EXPECT_EQ(4611, b->children->encap_rport);
	EXPECT_EQ(4500, b->children->encap_lport);
	EXPECT_LT(tx, B->sent);		/* the liveness check */
	/* the same again changes nothing */
	tx = B->sent;
	engine_kernel_event(B->e, &ev);
	EXPECT_EQ(tx, B->sent);
	pump(n);
	EXPECT_EQ(1, count_sa(B, IKE_S_ESTABLISHED));
	net_free(n);
}

/* Whether p's backend (none) holds a line with s in its dump. */
static bool kernel_has(struct peer *p, const char *s)
{
	const struct kbackend_ops *o = p->kb->ops;
	struct buf dump = BUF_INIT;
	bool has = false;

	p->kb->ops = none_ops;
	if (!kb_none_dump(p->kb, &dump) && !buf_put_u8(&dump, 0))
		has = strstr((char *)dump.data, s) != NULL;
	p->kb->ops = o;
	buf_free(&dump);
	return has;
}

/* b's Child SA is installed on (and only on) a's address as, both halves
 * and the templates of its out, in and fwd policies. */
static void child_on(struct __test_metadata *_metadata, struct net *n, const char *as,
		     const char *not)
{
	struct child_sa *c = first_sa(B, IKE_S_ESTABLISHED)->children;
	struct sockaddr_storage at;
	char want[128];

	snprintf(want, sizeof(want), "sa out spi 0x%08x 10.0.0.2 -> %s ", ntohl(c->spi_out), as);
	EXPECT_TRUE(kernel_has(B, want));
	snprintf(want, sizeof(want), "sa in spi 0x%08x %s -> 10.0.0.2 ", ntohl(c->spi_in), as);
	EXPECT_TRUE(kernel_has(B, want));
	snprintf(want, sizeof(want), "tmpl 10.0.0.2 -> %s\n", as);
	EXPECT_TRUE(kernel_has(B, want));
	snprintf(want, sizeof(want), "tmpl %s -> 10.0.0.2\n", as);
	EXPECT_TRUE(kernel_has(B, want));
	EXPECT_FALSE(kernel_has(B, not));
	set_addr(&at, as, 0);
	EXPECT_TRUE(addr_ip_is(&c->addr_remote, &at));
}

/* b's Child SA, deleted from where it is now, leaves nothing behind. */
static void child_deleted(struct __test_metadata *_metadata, struct net *n, struct peer *by)
{
	struct buf out = BUF_INIT;

	engine_terminate(by->e, "c", &out);
	buf_free(&out);
	pump(n);
	elapse(n, 20000);
	EXPECT_EQ(0, kernel_sas(B));
	EXPECT_EQ(0, kernel_policies(B));
	EXPECT_EQ(0, kernel_sas(A));
}

/* The peer's NAT now shows it from another public address (RFC 7296
 * §2.23): the kernel saw its ESP-in-UDP from there (a mapping event, only
 * after the packet decrypted).  The IKE SA and its Child SA follow: same
 * SPIs, both halves and the policies' templates moved (not deleted and
 * added again), a liveness check goes to the new address and is answered,
 * and the Child SA is deleted later from where it is.  (tcpiked used to
 * log the new address and follow nothing.) */
TEST(mapping_event_follows_a_new_address)
{
	struct net *n = net_new("encap = yes");
	struct ike_sa *b;
	struct kb_event ev;
	uint32_t in, out;
	uint64_t tx;

	bring_up(_metadata, n);
	b = first_sa(B, IKE_S_ESTABLISHED);
	ASSERT_TRUE(b->children->encap);
	child_on(_metadata, n, "10.0.0.1", "10.9.9.10");
	in = b->children->spi_in;
	out = b->children->spi_out;
	set_addr(&n->nat_a, "10.9.9.10", 0);
	memset(&ev, 0, sizeof(ev));
	ev.kind = KB_EV_MAPPING;
	ev.spi = in;
	ev.dst = B->addr;
	addr_set_port(&ev.dst, 0);
	set_addr(&ev.new_remote, "10.9.9.10", 4500);
	ev.old_port = 4500;
	tx = B->sent;
	engine_kernel_event(B->e, &ev);
	EXPECT_TRUE(addr_port_eq(&b->path.remote, &ev.new_remote));
	EXPECT_EQ(in, b->children->spi_in);
	EXPECT_EQ(out, b->children->spi_out);
	EXPECT_EQ(4500, b->children->encap_rport);
	child_on(_metadata, n, "10.9.9.10", "10.0.0.1");
	EXPECT_LT(tx, B->sent);		/* the liveness check */
	/* the same again changes nothing */
	tx = B->sent;
	engine_kernel_event(B->e, &ev);
	EXPECT_EQ(tx, B->sent);
	pump(n);
	EXPECT_EQ(1, count_sa(B, IKE_S_ESTABLISHED));
	EXPECT_EQ(1, count_sa(A, IKE_S_ESTABLISHED));
	EXPECT_EQ(0, n->dropped);	/* nothing went to the old address */
	child_deleted(_metadata, n, B);
	net_free(n);
}

/* The same move told by IKE: an authenticated request from the peer's new
 * public address, with a NAT between (§2.23).  The IKE SA answers there
 * and its Child SA's SAs and policies follow; a's delete later removes
 * them from there.  (tcpiked used to move the IKE SA only, logging "Child
 * SAs keep the old one".) */
TEST(ike_request_from_a_new_address_moves_the_child_sas)
{
	struct net *n = net_new("encap = yes");
	struct ike_sa *a, *b;
	uint32_t in;

	bring_up(_metadata, n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	b = first_sa(B, IKE_S_ESTABLISHED);
	in = b->children->spi_in;
	set_addr(&n->nat_a, "10.9.9.10", 0);
	a->pending |= PEND_DPD;
	ike_kick(a);
	pump(n);
	EXPECT_EQ(1, count_sa(A, IKE_S_ESTABLISHED));
	set_addr(&n->nat_a, "10.9.9.10", 4500);
	EXPECT_TRUE(addr_port_eq(&b->path.remote, &n->nat_a));
	EXPECT_EQ(in, b->children->spi_in);
	child_on(_metadata, n, "10.9.9.10", "10.0.0.1");
	/* a rekey then installs the new Child SA there and removes the old
	 * one from there: two SAs and three policies, none elsewhere */
	rekey(B, true);
	pump(n);
	ASSERT_NE(NULL, first_sa(B, IKE_S_ESTABLISHED)->children);
	EXPECT_NE(in, first_sa(B, IKE_S_ESTABLISHED)->children->spi_in);
	child_on(_metadata, n, "10.9.9.10", "10.0.0.1");
	EXPECT_EQ(2, kernel_sas(B));
	EXPECT_EQ(3, kernel_policies(B));
	child_deleted(_metadata, n, A);
	net_free(n);
}

static int refuse_move(struct kbackend *kb, const struct kb_move *m)
{
	(void)m;
	snprintf(kb->kb_error, sizeof(kb->kb_error), "refused (test)");
	return -ENODATA;
}

/* A Child SA the backend cannot move (its kernel refused) stays recorded
 * where it is installed, so its delete still finds it there; the IKE SA
 * follows the peer all the same. */
TEST(child_that_cannot_move_is_deleted_where_it_is)
{
	struct net *n = net_new("encap = yes");
	struct kbackend_ops refusing;
	struct ike_sa *b;
	struct kb_event ev;

	bring_up(_metadata, n);
	b = first_sa(B, IKE_S_ESTABLISHED);
	refusing = *none_ops;
	refusing.sa_move = refuse_move;
	B->kb->ops = &refusing;
	set_addr(&n->nat_a, "10.9.9.10", 0);
	memset(&ev, 0, sizeof(ev));
	ev.kind = KB_EV_MAPPING;
	ev.spi = b->children->spi_in;
	ev.dst = B->addr;
	addr_set_port(&ev.dst, 0);
	set_addr(&ev.new_remote, "10.9.9.10", 4500);
	engine_kernel_event(B->e, &ev);
	B->kb->ops = none_ops;
	EXPECT_TRUE(addr_port_eq(&b->path.remote, &ev.new_remote));
	child_on(_metadata, n, "10.0.0.1", "10.9.9.10");
	pump(n);	/* the liveness check, answered */
	EXPECT_EQ(1, count_sa(B, IKE_S_ESTABLISHED));
	child_deleted(_metadata, n, B);
	net_free(n);
}

/* A mapping event for an SA that is not UDP-encapsulated (no NAT), or
 * one of another family, moves nothing. */
TEST(mapping_event_for_raw_esp_moves_nothing)
{
	struct net *n = net_new(NULL);
	struct ike_sa *b;
	struct kb_event ev;

	bring_up(_metadata, n);
	b = first_sa(B, IKE_S_ESTABLISHED);
	ASSERT_FALSE(b->children->encap);
	memset(&ev, 0, sizeof(ev));
	ev.kind = KB_EV_MAPPING;
	ev.spi = b->children->spi_in;
	ev.dst = B->addr;
	addr_set_port(&ev.dst, 0);
	set_addr(&ev.new_remote, "10.9.9.9", 4611);
	engine_kernel_event(B->e, &ev);
	EXPECT_EQ(500, addr_port(&b->path.remote));
	EXPECT_TRUE(addr_eq(&b->path.remote, &A->addr));
	child_on(_metadata, n, "10.0.0.1", "10.9.9.9");
	net_free(n);
}

/* A Child SA is deleted with the addresses it was installed with, even
 * after the IKE SA's path moved elsewhere (the delete used to recompute
 * them from the path and missed, leaving both SAs in the kernel). */
TEST(child_deleted_with_the_addresses_it_was_installed_with)
{
	struct net *n = net_new(NULL);
	struct ike_sa *a;
	struct buf out = BUF_INIT;

	bring_up(_metadata, n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	set_addr(&a->path.remote, "10.9.9.9", 500);
	engine_terminate(A->e, "c", &out);
	buf_free(&out);
	pump(n);
	elapse(n, 20000);
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(0, kernel_policies(A));
	net_free(n);
}


/* §2.8: the responder of a Child SA rekey sends on the new SA only once
 * the initiator has it (its Delete of the old SA says so): before that,
 * its replies on the new SA would be dropped by a peer that has not yet
 * installed the inbound half (ping loss at every rekey). */
TEST(rekey_responder_sends_on_the_new_sa_after_the_delete)
{
	struct net *n = net_new(NULL);
	struct ike_sa *b;
	struct child_sa *c;

	bring_up(_metadata, n);
	rekey(A, true);
	deliver(n);			/* the rekey request at b */
	b = first_sa(B, IKE_S_ESTABLISHED);
	for (c = b->children; c && c->state != CHILD_S_INSTALLED; c = c->next)
		;
	ASSERT_NE(NULL, c);
	EXPECT_TRUE(c->installed_in);
	EXPECT_FALSE(c->installed_out);
	EXPECT_EQ(3, kernel_sas(B));	/* old pair + the new inbound */
	deliver(n);			/* the answer at a: it installs both */
	EXPECT_EQ(4, kernel_sas(A));
	pump(n);			/* a's Delete of the old SA at b */
	established(_metadata, n);
	EXPECT_TRUE(first_sa(B, IKE_S_ESTABLISHED)->children->installed_out);
	net_free(n);
}

/* Outbound SAs of one peer as its backend was asked for them, and the
 * fewest there ever were after a delete (a moment with none drops what
 * the kernel sends then). */
static struct {
	const struct kbackend *kb;
	struct sockaddr_storage self;	/* the inbound SAs' destination */
	int out, min;
} outs;

static int outs_sa_add(struct kbackend *kb, const struct kb_sa *sa)
{
	int r = none_ops->sa_add(kb, sa);

	if (!r && kb == outs.kb && !sa->inbound)
		outs.out++;
	return r;
}

static int outs_sa_del(struct kbackend *kb, const struct sockaddr_storage *dst, uint32_t spi)
{
	bool out = kb == outs.kb && !addr_eq(dst, &outs.self);
	int r = none_ops->sa_del(kb, dst, spi);

	if (!r && out && --outs.out < outs.min)
		outs.min = outs.out;
	return r;
}

/* §2.8: when the initiator's Delete of the old SA arrives, the responder
 * sends on the new SA before it removes the old one: never a moment with
 * no outbound SA (its replies would be dropped then). */
TEST(rekey_responder_never_without_an_outbound_sa)
{
	struct net *n = net_new(NULL);
	struct kbackend_ops ops;

	bring_up(_metadata, n);
	ops = *none_ops;
	ops.sa_add = outs_sa_add;
	ops.sa_del = outs_sa_del;
	B->kb->ops = &ops;
	outs.kb = B->kb;
	outs.self = B->addr;
	outs.out = outs.min = 1;
	rekey(A, true);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(1, outs.out);
	EXPECT_EQ(1, outs.min);
	B->kb->ops = none_ops;
	outs.kb = NULL;
	net_free(n);
}

/* Up, and a's Child SA rekey answered by b (a's Delete of the old one not
 * yet sent): b's new Child SA, or NULL. */
static struct child_sa *rekey_answered_by_b(struct net *n)
{
	struct child_sa *c;

	initiate(n);
	pump(n);
	rekey(A, true);
	deliver(n);
	for (c = first_sa(B, IKE_S_ESTABLISHED)->children; c && c->state != CHILD_S_INSTALLED;
	     c = c->next)
		;
	return c;
}

/* The responder's old outbound SA reaches its soft limit before the
 * initiator's Delete came: the new outbound SA takes over at once. */
TEST(rekey_responder_sends_on_the_new_sa_when_the_old_runs_out)
{
	struct net *n = net_new(NULL);
	struct child_sa *c = rekey_answered_by_b(n), *old;

	ASSERT_NE(NULL, c);
	for (old = c->ike->children; old && old->state != CHILD_S_REKEYED; old = old->next)
		;
	ASSERT_NE(NULL, old);
	ASSERT_FALSE(c->installed_out);
	kernel_expire(B, old->spi_in, &B->addr, false);	/* inbound: not yet */
	EXPECT_FALSE(c->installed_out);
	kernel_expire(B, old->spi_out, &A->addr, false);
	EXPECT_TRUE(c->installed_out);
	EXPECT_EQ(4, kernel_sas(B));
	pump(n);
	established(_metadata, n);
	net_free(n);
}

/* The initiator's Delete never comes: the responder sends on the new SA
 * after a while anyway. */
TEST(rekey_responder_sends_on_the_new_sa_after_a_timeout)
{
	struct net *n = net_new(NULL);
	struct child_sa *c = rekey_answered_by_b(n);

	ASSERT_NE(NULL, c);
	n->block_udp = true;		/* the answer and all after it lost */
	elapse(n, 3100);
	EXPECT_TRUE(c->installed_out);
	EXPECT_EQ(4, kernel_sas(B));
	n->block_udp = false;
	net_free(n);
}

/* --- INITIAL_CONTACT (RFC 7296 §2.4) ----------------------------------------------- */

TEST(initial_contact_replaces_the_old_sa)
{
	struct net *n = net_new(NULL);
	struct ike_sa *b;
	uint64_t old_b;

	bring_up(_metadata, n);
	old_b = first_sa(B, IKE_S_ESTABLISHED)->id;
	/* a restarts: its SA is gone without a word to b. */
	ike_sa_destroy(first_sa(A, IKE_S_ESTABLISHED), NULL);
	ASSERT_EQ(0, queued(n));
	ASSERT_EQ(1, count_all(B));
	bring_up(_metadata, n);
	b = first_sa(B, IKE_S_ESTABLISHED);
	EXPECT_EQ(1, count_all(B));
	EXPECT_NE(old_b, b->id);
	EXPECT_EQ(2, kernel_sas(B));
	net_free(n);
}

/*
 * Make-before-break: a second IKE SA of the connection, with its own Child
 * SA for the same selectors, while the first still stands; then the first
 * deleted by a Delete.  Each side installs the policies once (the second
 * Child SA takes the first's reqid) and keeps them until the last Child SA
 * goes.  (Before: the second Child SA failed, "installing a policy failed:
 * File exists".)
 */
TEST(same_selectors_share_policies)
{
	struct net *n = net_new("unique = never");
	struct ike_sa *old_a, *a2;
	int r;

	bring_up(_metadata, n);
	old_a = first_sa(A, IKE_S_ESTABLISHED);
	EXPECT_EQ(3, kernel_policies(A));
	EXPECT_EQ(3, kernel_policies(B));
	a2 = ike_initiate(A->e, config_conn(A->cfg, "c"), 0, &r);
	ASSERT_NE(NULL, a2);
	pump(n);
	/* (a2 is freed when its IKE_AUTH fails) */
	ASSERT_EQ(2, count_sa(A, IKE_S_ESTABLISHED));
	EXPECT_EQ(2, count_sa(B, IKE_S_ESTABLISHED));
	ASSERT_EQ(IKE_S_ESTABLISHED, a2->state);
	ASSERT_EQ(1, count_children(a2));
	EXPECT_EQ(0, A->e->st.child_failed);
	EXPECT_EQ(0, B->e->st.child_failed);
	EXPECT_EQ(4, kernel_sas(A));
	EXPECT_EQ(4, kernel_sas(B));
	EXPECT_EQ(3, kernel_policies(A));
	EXPECT_EQ(3, kernel_policies(B));
	EXPECT_EQ(old_a->children->reqid, a2->children->reqid);
	/* the old IKE SA goes (the end of a reauthentication) */
	old_a->pending |= PEND_DELETE_IKE;
	ike_kick(old_a);
	pump(n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(1, count_all(B));
	EXPECT_EQ(2, kernel_sas(A));
	EXPECT_EQ(2, kernel_sas(B));
	EXPECT_EQ(3, kernel_policies(A));
	EXPECT_EQ(3, kernel_policies(B));
	/* and the last */
	a2->pending |= PEND_DELETE_IKE;
	ike_kick(a2);
	pump(n);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(0, count_all(B));
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(0, kernel_policies(A));
	EXPECT_EQ(0, kernel_policies(B));
	net_free(n);
}

/*
 * b's policy for the selectors is another tunnel's: the Child SA in
 * IKE_AUTH is refused with NO_ADDITIONAL_SAS and the IKE SA stands at both
 * ends; asked for again by CREATE_CHILD_SA it is refused with
 * TEMPORARY_FAILURE, once, not again at once (§2.25); once the other
 * tunnel is gone the later pass installs it.
 */
/* b's outbound policy for net's selectors through a tunnel to someone
 * else (10.0.0.9): b cannot install net while it is there. */
static void other_tunnel(struct kb_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->dir = KB_DIR_OUT;
	p->reqid = 99;
	p->mode = KB_MODE_TUNNEL;
	p->sel.family = AF_INET;
	set_addr(&p->sel.src, "10.2.0.0", 0);
	set_addr(&p->sel.dst, "10.1.0.0", 0);
	p->sel.src_plen = p->sel.dst_plen = 16;
	set_addr(&p->tmpl_src, "10.0.0.2", 0);
	set_addr(&p->tmpl_dst, "10.0.0.9", 0);
}

TEST(selectors_of_another_tunnel_then_free)
{
	struct net *n = net_new(NULL);
	struct kb_policy other;
	struct ike_sa *a, *b;
	struct buf out = BUF_INIT;

	other_tunnel(&other);
	ASSERT_EQ(0, kb_policy_add(B->kb, &other));
	initiate(n);
	pump(n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	b = first_sa(B, IKE_S_ESTABLISHED);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(0, count_children(a));
	EXPECT_EQ(0, count_children(b));
	EXPECT_EQ(1, B->e->st.child_failed);
	engine_initiate(A->e, "c", &out);	/* the missing Child SA again */
	buf_free(&out);
	pump(n);
	EXPECT_EQ(0, count_children(a));
	EXPECT_EQ(2, A->e->st.child_failed);	/* IKE_AUTH's, one CREATE_CHILD_SA's */
	elapse(n, 1000);
	EXPECT_EQ(2, A->e->st.child_failed);	/* not asked again at once */
	ASSERT_EQ(0, kb_policy_del(B->kb, &other));	/* the other tunnel goes */
	elapse(n, 11000);
	EXPECT_EQ(a, first_sa(A, IKE_S_ESTABLISHED));
	EXPECT_EQ(1, count_children(a));
	EXPECT_EQ(1, count_children(b));
	EXPECT_TRUE(children_paired(a, b));
	EXPECT_EQ(3, kernel_policies(B));
	net_free(n);
}

/* --- a Child SA refused in the IKE_AUTH response (RFC 7296 §1.2, §2.21.2) ------------ */

/* a's connection with two Child SAs: net (the one asked for in IKE_AUTH)
 * and net2 (by CREATE_CHILD_SA after). */
static const struct side v4_two[2] = {
	{ "10.0.0.1", "10.1.0.0/16", "10.3.0.0/16", NULL },
	{ "10.0.0.2", "10.2.0.0/16", "10.4.0.0/16", NULL },
};

/* Runs the exchanges until b's IKE_AUTH response is the next message. */
static void to_auth_response(struct __test_metadata *_metadata, struct net *n)
{
	for (int guard = 0; !(head_exch(n) == IKEV2_EXCH_IKE_AUTH && head_response(n)) &&
			    guard < 100; guard++) {
		timers(n);
		while (finish_connects(n))
			;
		deliver(n);
	}
	ASSERT_EQ(IKEV2_EXCH_IKE_AUTH, head_exch(n));
	ASSERT_TRUE(head_response(n));
	ASSERT_EQ(A, head_to(n));
}

/* The notify b put in its IKE_AUTH response (NO_ADDITIONAL_SAS: its
 * kernel refused the Child SA) made another. */
static uint16_t notify_now;

static void notify_retype(uint8_t *b, size_t len)
{
	if (len < 4 || (b[2] << 8 | b[3]) != IKEV2_N_NO_ADDITIONAL_SAS)
		abort();
	b[2] = (uint8_t)(notify_now >> 8);
	b[3] = (uint8_t)notify_now;
}

/* pump(), counting the requests of exchange exch from a to b. */
static unsigned int pump_counting(struct net *n, int exch)
{
	unsigned int c = 0;
	int guard = 0;

	do {
		timers(n);
		while (finish_connects(n))
			;
		c += head_exch(n) == exch && !head_response(n) && head_to(n) == B;
	} while ((deliver(n) || n->head) && ++guard < 10000);
	timers(n);
	return c;
}

/* elapse(), counting as pump_counting() does. */
static unsigned int elapse_counting(struct net *n, uint64_t ms, int exch)
{
	uint64_t end = now_ms + ms;
	unsigned int c = 0;

	while (now_ms < end) {
		now_ms += 100;
		c += pump_counting(n, exch);
	}
	return c;
}

/* --- IKE_INTERMEDIATE (RFC 9242) ------------------------------------------------- */

/* The Message ID of the first message in flight. */
static uint32_t head_msgid(const struct net *n)
{
	const uint8_t *d = n->head->data;

	return (uint32_t)d[20] << 24 | (uint32_t)d[21] << 16 | (uint32_t)d[22] << 8 | d[23];
}

/* The world runs until a message of exchange exch is first in flight;
 * false if none comes. */
static bool step_to(struct net *n, int exch)
{
	for (int guard = 0; guard < 100; guard++) {
		if (head_exch(n) == exch)
			return true;
		timers(n);
		while (finish_connects(n))
			;
		if (head_exch(n) != exch)
			deliver(n);
	}
	return head_exch(n) == exch;
}

/* A message of exchange exch with Message ID msgid from `from`'s only IKE
 * SA (a request, or a response), its SK holding plain (first: its first
 * payload type), sealed with from's keys and delivered to the other as it
 * sees the path; what is in flight stays there. */
static void inject_from(struct net *n, struct peer *from, uint8_t exch, bool response,
			uint32_t msgid, uint8_t first, const uint8_t *plain, size_t len)
{
	struct peer *to = other_peer(from);
	struct pkt *k = calloc(1, sizeof(*k));
	struct buf out = BUF_INIT;
	struct ike_hdr h;

	if (!k || !to->e->all)
		abort();
	k->to = to;
	k->path = to->e->all->path;
	k->due_ms = now_ms;
	ike_sa_hdr(from->e->all, &h, exch, response, msgid);
	seal_from(from, &h, first, plain, len, &out);
	deliver_instead(k, &out);
	buf_free(&out);
}

/* The head (an answer to `to`) carries an error notify of this type. */
static bool answer_to_has(struct net *n, struct peer *to, uint16_t type)
{
	static struct ike_msg inner;
	struct buf plain = BUF_INIT;
	struct ike_notify no;
	uint8_t first;
	bool has = false;

	if (!head_open(n, to, &plain, &first) &&
	    !ike_chain_parse(first, plain.data, plain.len, &inner))
		has = !ike_find_notify(&inner, type, &no);
	buf_wipe(&plain);
	return has;
}

/* ... b's answer to a. */
static bool answer_has(struct net *n, uint16_t type)
{
	return answer_to_has(n, A, type);
}

/*
 * RFC 7296 §2.15: prf(PSK, "Key Pad for IKEv2") is computed once per
 * secret and PRF and kept beside the secret: after a handshake each end's
 * secret holds it, equal to the prf computed afresh, and it is what AUTH
 * uses: spoiled at b, b's next IKE_AUTH refuses a's AUTH
 * (AUTHENTICATION_FAILED) although the secrets are the same.
 */
TEST(psk_pad_kept_with_the_secret)
{
	struct net *n = net_new(NULL);
	struct buf want = BUF_INIT;

	ASSERT_NE(NULL, n);
	bring_up(_metadata, n);
	for (int i = 0; i < 2; i++) {
		const struct secret_cfg *s = n->p[i].cfg->secrets;

		ASSERT_NE(NULL, s);
		ASSERT_EQ(first_sa(&n->p[i], IKE_S_ESTABLISHED)->suite.prf, s->pad->prf);
		ASSERT_EQ(0, crypto_auth_psk_pad(s->pad->prf, s->secret, s->secret_len, &want));
		ASSERT_EQ(want.len, s->pad->len);
		EXPECT_EQ(0, memcmp(want.data, s->pad->pad, want.len));
	}
	buf_wipe(&want);
	engine_terminate(A->e, "c", &want);
	pump(n);
	ASSERT_EQ(0, count_all(B));
	n->p[1].cfg->secrets->pad->pad[0] ^= 1;
	initiate(n);
	ASSERT_TRUE(step_to(n, IKEV2_EXCH_IKE_AUTH));
	deliver(n);
	ASSERT_TRUE(head_response(n));
	EXPECT_TRUE(answer_has(n, IKEV2_N_AUTHENTICATION_FAILED));
	buf_wipe(&want);
	net_free(n);
}

/* A new pair, a initiating, run until a message of exchange exch is first
 * in flight; NULL if it does not come. */
static struct net *started_to(const char *extra, int exch)
{
	struct net *n = net_new(extra);

	if (n) {
		initiate(n);
		if (!step_to(n, exch)) {
			net_free(n);
			n = NULL;
		}
	}
	return n;
}

/* An empty IKE_INTERMEDIATE request from a with Message ID msgid: true
 * when b answers nothing and counts it dropped. */
static bool inter_dropped(struct net *n, uint32_t msgid)
{
	unsigned int q = queued(n);
	uint64_t dropped = B->e->st.rx_dropped;

	inject_from(n, A, IKEV2_EXCH_IKE_INTERMEDIATE, false, msgid, 0, NULL, 0);
	return queued(n) == q && B->e->st.rx_dropped == dropped + 1;
}

/*
 * RFC 9242 §3.1-§3.3 end to end: both announce the exchange, a (intermediate
 * = yes) runs one IKE_INTERMEDIATE with Message ID 1 before IKE_AUTH, which
 * takes Message ID 2 (§3.2), over the path IKE_AUTH would have taken
 * (TCP after the separate transports' echo, RT-4); b answers with its
 * default (accept); both AUTHs cover IntAuth.
 */
static void inter_setup(struct __test_metadata *_metadata, const char *extra, bool tcp)
{
	char conf[256];
	struct net *n;

	snprintf(conf, sizeof(conf), "intermediate = yes\n %s", extra ? extra : "");
	n = net_new(conf);
	ASSERT_NE(NULL, n);
	B->cfg->conns->intermediate = CFG_INTER_ACCEPT;
	initiate(n);
	ASSERT_TRUE(step_to(n, IKEV2_EXCH_IKE_INTERMEDIATE));
	EXPECT_FALSE(head_response(n));
	EXPECT_EQ(1, head_msgid(n));
	EXPECT_EQ(tcp, n->head->via != NULL);
	deliver(n);
	ASSERT_EQ(IKEV2_EXCH_IKE_INTERMEDIATE, head_exch(n));
	EXPECT_TRUE(head_response(n));
	EXPECT_EQ(1, head_msgid(n));
	deliver(n);
	ASSERT_TRUE(step_to(n, IKEV2_EXCH_IKE_AUTH));
	EXPECT_EQ(2, head_msgid(n));
	EXPECT_EQ(tcp, n->head->via != NULL);
	pump(n);
	established(_metadata, n);
	EXPECT_TRUE(sa_a_any(n)->inter);
	EXPECT_EQ(1, first_sa(A, IKE_S_ESTABLISHED)->inter_n);
	EXPECT_EQ(1, first_sa(B, IKE_S_ESTABLISHED)->inter_n);
	/* the next request goes on from IKE_AUTH's Message ID */
	rekey(A, true);
	EXPECT_EQ(3, head_msgid(n));
	pump(n);
	EXPECT_EQ(1, count_sa(A, IKE_S_ESTABLISHED));
	EXPECT_EQ(1, count_children(first_sa(A, IKE_S_ESTABLISHED)));
	net_free(n);
}

TEST(intermediate_udp)
{
	inter_setup(_metadata, NULL, false);
}

TEST(intermediate_tcp)
{
	inter_setup(_metadata, "transport = tcp", true);
}

TEST(intermediate_separate)
{
	inter_setup(_metadata, "transport = separate", true);
}

/* §3.2: with a NAT seen in IKE_SA_INIT (here claimed, encap = yes), the
 * first IKE_INTERMEDIATE already goes to port 4500, and so does the rest. */
TEST(intermediate_moves_to_4500_with_a_nat)
{
	struct net *n = started_to("intermediate = yes\n encap = yes", IKEV2_EXCH_IKE_INTERMEDIATE);

	ASSERT_NE(NULL, n);
	EXPECT_EQ(XPORT_UDP4500, n->head->path.kind);
	EXPECT_EQ(IKEV2_NATT_PORT, addr_port(&n->head->path.local));
	ASSERT_TRUE(step_to(n, IKEV2_EXCH_IKE_AUTH));
	EXPECT_EQ(XPORT_UDP4500, n->head->path.kind);
	pump(n);
	established(_metadata, n);
	net_free(n);
}

/* §3.1: a responder that does not announce the exchange (intermediate =
 * no) gets plain IKE_AUTH with Message ID 1; an initiator that does not
 * ask (accept) is not answered with the notify and runs none either. */
TEST(intermediate_not_supported_falls_back_to_ike_auth)
{
	for (int i = 0; i < 2; i++) {
		struct net *n = net_new("intermediate = yes");

		ASSERT_NE(NULL, n);
		if (i)
			A->cfg->conns->intermediate = CFG_INTER_ACCEPT;
		else
			B->cfg->conns->intermediate = CFG_INTER_NO;
		initiate(n);
		ASSERT_TRUE(step_to(n, IKEV2_EXCH_IKE_AUTH));
		EXPECT_EQ(1, head_msgid(n));
		EXPECT_FALSE(sa_a_any(n)->inter);
		EXPECT_EQ(0, pump_counting(n, IKEV2_EXCH_IKE_INTERMEDIATE));
		established(_metadata, n);
		EXPECT_EQ(0, first_sa(B, IKE_S_ESTABLISHED)->inter_n);
		net_free(n);
	}
}

/* The head (an IKE_INTERMEDIATE message from `from`) sealed again with an
 * extra status notify of private type in its SK: its ICV is good, its
 * content is not what from sent. */
static void deliver_inter_tampered(struct net *n, struct peer *from)
{
	static const uint8_t data[4] = { 1, 2, 3, 4 };
	struct buf plain = BUF_INIT, in = BUF_INIT;
	struct ike_builder bld;
	struct pkt *k;
	uint8_t first;

	if (head_open(n, other_peer(from), &plain, &first) || plain.len || first)
		abort();
	chain_begin(&bld, &in);
	ike_put_notify(&bld, 0, NULL, 0, 40961, data, sizeof(data));
	if (chain_finish(&bld))
		abort();
	inject_from(n, from, IKEV2_EXCH_IKE_INTERMEDIATE, from == B, head_msgid(n),
		    bld.first_type, in.data, in.len);
	k = pop(n);
	free(k);
	buf_free(&in);
	buf_wipe(&plain);
}

/*
 * §3.3.2: IntAuth binds every IKE_INTERMEDIATE message into AUTH.  The
 * request (then the response) changed in flight under valid keys, as an
 * attacker who broke the key exchange could: the receiver takes it, and
 * its IntAuth then differs from the sender's, so the AUTH that b checks
 * fails, and no IKE SA comes up.
 */
TEST(intermediate_tampered_fails_auth)
{
	for (int resp = 0; resp < 2; resp++) {
		struct net *n = started_to("intermediate = yes", IKEV2_EXCH_IKE_INTERMEDIATE);

		ASSERT_NE(NULL, n);
		if (resp) {
			deliver(n);
			ASSERT_TRUE(head_response(n));
			deliver_inter_tampered(n, B);
		} else {
			deliver_inter_tampered(n, A);
			ASSERT_TRUE(head_response(n));
			EXPECT_EQ(IKEV2_EXCH_IKE_INTERMEDIATE, head_exch(n));
		}
		ASSERT_TRUE(step_to(n, IKEV2_EXCH_IKE_AUTH));
		deliver(n);
		ASSERT_TRUE(head_response(n));
		EXPECT_TRUE(answer_has(n, IKEV2_N_AUTHENTICATION_FAILED));
		pump(n);
		EXPECT_EQ(0, count_sa(A, IKE_S_ESTABLISHED));
		EXPECT_EQ(0, count_sa(B, IKE_S_ESTABLISHED));
		EXPECT_EQ(0, kernel_sas(B));
		net_free(n);
	}
}

/*
 * §3.3.2: IntAuth is over the message before fragmentation; one received
 * in RFC 7383 fragments is reconstructed (Next Payload naming SK, SK's
 * length of the whole) before the prf.  a's request is replaced by one
 * carrying 3000 bytes, in three fragments delivered out of order, and
 * a's IntAuth_i1 by the test's own over the unfragmented form: AUTH
 * succeeds only if b computed the same over the fragments.
 */
TEST(intermediate_fragmented_request)
{
	static uint8_t data[3000];
	struct buf in = BUF_INIT, a = BUF_INIT;
	struct ike_builder bld;
	struct ike_sa *sa;
	struct ike_hdr h;
	struct net *n = started_to("intermediate = yes", IKEV2_EXCH_IKE_INTERMEDIATE);
	struct pkt *k;
	size_t chunk = 1100;
	static const int order[3] = { 2, 0, 1 };

	ASSERT_NE(NULL, n);
	sa = A->e->all;
	memset(data, 0x5a, sizeof(data));
	chain_begin(&bld, &in);
	ike_put_notify(&bld, 0, NULL, 0, 40961, data, sizeof(data));
	ASSERT_EQ(0, chain_finish(&bld));
	/* A: SPIs, Next Payload SK, version 2.0, exchange 43, I, MID 1,
	 * adjusted Length; SK's header with its adjusted Payload Length. */
	buf_append(&a, sa->spi_i, 8);
	buf_append(&a, sa->spi_r, 8);
	buf_put_u8(&a, IKEV2_PL_SK);
	buf_put_u8(&a, 0x20);
	buf_put_u8(&a, IKEV2_EXCH_IKE_INTERMEDIATE);
	buf_put_u8(&a, IKEV2_FLAG_INITIATOR);
	buf_put_u32(&a, 1);
	buf_put_u32(&a, (uint32_t)(28 + 4 + in.len));
	buf_put_u8(&a, bld.first_type);
	buf_put_u8(&a, 0);
	buf_put_u16(&a, (uint16_t)(4 + in.len));
	buf_free(&sa->init->int_auth_i);
	ASSERT_EQ(0, crypto_int_auth(sa->suite.prf, &sa->init->keys.sk_pi, &sa->init->int_auth_i,
				     a.data, a.len, in.data, in.len));
	k = pop(n);
	ike_sa_hdr(sa, &h, IKEV2_EXCH_IKE_INTERMEDIATE, false, 1);
	for (int j = 0; j < 3; j++) {
		int i = order[j];
		size_t off = (size_t)i * chunk, l = i < 2 ? chunk : in.len - off;
		struct pkt *c = calloc(1, sizeof(*c));
		struct buf out = BUF_INIT;
		struct ike_builder fb;
		size_t sk;

		ASSERT_NE(NULL, c);
		*c = *k;
		msg_begin(&fb, &out, &h);
		sk = ike_put_skf_header(&fb, i ? 0 : bld.first_type, (uint16_t)(i + 1), 3);
		ASSERT_NE(SIZE_MAX, sk);
		ASSERT_EQ(0, crypto_sk_seal(&sa->sk_out, &out, sk, true, in.data + off, l));
		deliver_instead(c, &out);
		buf_free(&out);
	}
	free(k);
	ASSERT_EQ(1, queued(n));
	ASSERT_TRUE(head_response(n));
	EXPECT_EQ(IKEV2_EXCH_IKE_INTERMEDIATE, head_exch(n));
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(1, B->e->st.frags_reassembled);
	buf_free(&a);
	buf_free(&in);
	net_free(n);
}

/*
 * Bad input (RFC 9242 §3.2, §5): IKE_INTERMEDIATE that was not negotiated
 * is dropped and IKE_AUTH still goes on; one out of order (Message ID 5)
 * is outside the window; a second one where one was all the IKE SA
 * needs, or one with a KE without an additional key exchange, is refused
 * with INVALID_SYNTAX and the half-open SA goes; one after IKE_AUTH, or
 * sent to the initiator, is dropped and the IKE SA stays.
 */
TEST(intermediate_bad_input)
{
	static const uint8_t ke[4 + 32] = { 0, 31, 0, 0 };	/* x25519, zeros */
	struct buf kp = BUF_INIT;
	struct ike_builder bld;
	struct net *n;

	/* not negotiated (b does not announce it) */
	n = started_to("intermediate = no", IKEV2_EXCH_IKE_AUTH);
	ASSERT_NE(NULL, n);
	EXPECT_TRUE(inter_dropped(n, 1));
	EXPECT_EQ(1, count_sa(B, IKE_S_HALF_OPEN));
	pump(n);
	established(_metadata, n);
	/* after IKE_AUTH, and towards the initiator */
	inject_from(n, A, IKEV2_EXCH_IKE_INTERMEDIATE, false, B->e->all->peer_msgid, 0, NULL, 0);
	EXPECT_EQ(0, queued(n));
	rekey(A, true);
	inject_from(n, B, IKEV2_EXCH_IKE_INTERMEDIATE, false, B->e->all->my_msgid, 0, NULL, 0);
	EXPECT_EQ(1, queued(n));
	pump(n);
	EXPECT_EQ(1, count_sa(A, IKE_S_ESTABLISHED));
	EXPECT_EQ(1, count_sa(B, IKE_S_ESTABLISHED));
	net_free(n);

	/* out of order, then one too many */
	n = started_to("intermediate = yes", IKEV2_EXCH_IKE_INTERMEDIATE);
	ASSERT_NE(NULL, n);
	EXPECT_TRUE(inter_dropped(n, 5));
	deliver(n);
	deliver(n);
	ASSERT_TRUE(step_to(n, IKEV2_EXCH_IKE_AUTH));
	inject_from(n, A, IKEV2_EXCH_IKE_INTERMEDIATE, false, 2, 0, NULL, 0);
	ASSERT_EQ(2, queued(n));
	free(pop(n));		/* the IKE_AUTH request */
	ASSERT_TRUE(head_response(n));
	EXPECT_TRUE(answer_has(n, IKEV2_N_INVALID_SYNTAX));
	EXPECT_EQ(0, count_all(B));
	net_free(n);

	/* a KE with no additional key exchange negotiated */
	n = started_to("intermediate = yes", IKEV2_EXCH_IKE_INTERMEDIATE);
	ASSERT_NE(NULL, n);
	chain_begin(&bld, &kp);
	pl_begin(&bld, IKEV2_PL_KE, false);
	pl_put(&bld, ke, sizeof(ke));
	ASSERT_EQ(0, chain_finish(&bld));
	inject_from(n, A, IKEV2_EXCH_IKE_INTERMEDIATE, false, 1, bld.first_type, kp.data, kp.len);
	free(pop(n));		/* a's own */
	ASSERT_TRUE(head_response(n));
	EXPECT_TRUE(answer_has(n, IKEV2_N_INVALID_SYNTAX));
	EXPECT_EQ(0, count_all(B));
	buf_free(&kp);
	net_free(n);
}

/*
 * §2.21.2: the IKE_AUTH response authenticates b, but b cannot make the
 * Child SA now (TEMPORARY_FAILURE): a's IKE SA is established without it,
 * and (§2.25) a asks for it again by CREATE_CHILD_SA 2-10 s later, which
 * succeeds; then nothing more is asked.
 */
TEST(child_refused_in_ike_auth_with_temporary_failure)
{
	struct net *n = net_new(NULL);
	struct kb_policy other;
	struct ike_sa *a, *b;
	unsigned int asked = 0;
	uint64_t t0;
	const char *l;

	other_tunnel(&other);
	ASSERT_EQ(0, kb_policy_add(B->kb, &other));
	listen_log(true);
	initiate(n);
	to_auth_response(_metadata, n);
	notify_now = IKEV2_N_TEMPORARY_FAILURE;
	deliver_edited_from(n, B, IKEV2_PL_NOTIFY, notify_retype);
	a = first_sa(A, IKE_S_ESTABLISHED);
	b = first_sa(B, IKE_S_ESTABLISHED);
	ASSERT_NE(NULL, a);
	ASSERT_TRUE(paired(a, b));
	EXPECT_EQ(0, count_children(a));
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(0, A->e->st.ike_failed);
	EXPECT_EQ(1, A->e->st.child_failed);
	l = heard_line("Child SA net not established");
	ASSERT_NE(NULL, l);
	EXPECT_NE(NULL, strstr(l, ": Child SA net not established: the peer refused it in IKE_AUTH with TEMPORARY_FAILURE; the IKE SA stays up without it"));
	EXPECT_NE(NULL, heard_line(": asking for net again in "));
	ASSERT_EQ(0, kb_policy_del(B->kb, &other));	/* b could now */
	t0 = now_ms;
	asked = pump_counting(n, IKEV2_EXCH_CREATE_CHILD_SA);
	while (!asked && now_ms - t0 < 12000) {
		now_ms += 100;
		asked = pump_counting(n, IKEV2_EXCH_CREATE_CHILD_SA);
	}
	EXPECT_EQ(1, asked);
	EXPECT_LE(2000, now_ms - t0);
	EXPECT_GE(10100, now_ms - t0);
	EXPECT_EQ(a, first_sa(A, IKE_S_ESTABLISHED));
	ASSERT_EQ(1, count_children(a));
	EXPECT_TRUE(children_paired(a, b));
	EXPECT_EQ(2, kernel_sas(A));
	EXPECT_EQ(3, kernel_policies(B));
	EXPECT_EQ(0, elapse_counting(n, 60000, IKEV2_EXCH_CREATE_CHILD_SA));
	EXPECT_EQ(1, A->e->st.child_failed);
	listen_log(false);
	net_free(n);
}

/*
 * §1.2, §2.21.2: the notifies that refuse the Child SA of IKE_AUTH for
 * good.  The IKE SA stays; the log names the notify and the Child SA;
 * the refused one is not asked for again (not at once by CREATE_CHILD_SA,
 * not later); the connection's other Child SA (net2) is made as usual.
 */
TEST(child_refused_in_ike_auth_for_good)
{
	static const uint16_t types[] = {
		IKEV2_N_NO_PROPOSAL_CHOSEN, IKEV2_N_TS_UNACCEPTABLE,
		IKEV2_N_SINGLE_PAIR_REQUIRED, IKEV2_N_INTERNAL_ADDRESS_FAILURE,
		IKEV2_N_FAILED_CP_REQUIRED, IKEV2_N_NO_ADDITIONAL_SAS,
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct net *n = net_new_on(v4_two, NULL, NULL);
		struct kb_policy other;
		struct ike_sa *a, *b;
		unsigned int asked;
		char want[192];

		other_tunnel(&other);
		ASSERT_EQ(0, kb_policy_add(B->kb, &other));
		listen_log(true);
		initiate(n);
		to_auth_response(_metadata, n);
		notify_now = types[i];
		deliver_edited_from(n, B, IKEV2_PL_NOTIFY, notify_retype);
		a = first_sa(A, IKE_S_ESTABLISHED);
		b = first_sa(B, IKE_S_ESTABLISHED);
		ASSERT_NE(NULL, a);
		ASSERT_TRUE(paired(a, b));
		EXPECT_EQ(0, A->e->st.ike_failed);
		EXPECT_EQ(1, A->e->st.child_failed);
		snprintf(want, sizeof(want),
			 ": Child SA net not established: the peer refused it in IKE_AUTH with %s; the IKE SA stays up without it",
			 ikev2_notify_name(types[i]));
		EXPECT_NE(NULL, heard_line(want));
		asked = pump_counting(n, IKEV2_EXCH_CREATE_CHILD_SA);
		EXPECT_EQ(1, asked);		/* net2 only */
		ASSERT_EQ(1, count_children(a));
		EXPECT_STREQ("net2", a->children->cfg->name);
		EXPECT_TRUE(children_paired(a, b));
		EXPECT_EQ(0, elapse_counting(n, 60000, IKEV2_EXCH_CREATE_CHILD_SA));
		EXPECT_EQ(0u, heard_count("asking for net again"));
		EXPECT_EQ(1, A->e->st.child_failed);
		EXPECT_EQ(a, first_sa(A, IKE_S_ESTABLISHED));
		listen_log(false);
		net_free(n);
	}
}

/* Lines heard that end with s. */
static unsigned int heard_ending(const char *s)
{
	size_t n = strlen(s);
	unsigned int c = 0;

	for (unsigned int i = 0; i < n_heard; i++) {
		size_t l = strlen(heard[i]);

		c += l >= n && !strcmp(heard[i] + l - n, s);
	}
	return c;
}

/*
 * net is refused for good in IKE_AUTH (TS_UNACCEPTABLE); net2 is refused
 * by CREATE_CHILD_SA with TEMPORARY_FAILURE (b holds its selectors for
 * another tunnel) again and again.  The passes that ask for net2 again
 * do not ask for net; an operator's initiate does.
 */
TEST(child_refused_for_good_stays_out_of_later_passes)
{
	struct net *n = net_new_on(v4_two, NULL, NULL);
	struct kb_policy other, other2;
	struct buf out = BUF_INIT;
	struct ike_sa *a;

	other_tunnel(&other);
	other2 = other;
	set_addr(&other2.sel.src, "10.4.0.0", 0);
	set_addr(&other2.sel.dst, "10.3.0.0", 0);
	ASSERT_EQ(0, kb_policy_add(B->kb, &other));
	ASSERT_EQ(0, kb_policy_add(B->kb, &other2));
	listen_log(true);
	initiate(n);
	to_auth_response(_metadata, n);
	notify_now = IKEV2_N_TS_UNACCEPTABLE;
	deliver_edited_from(n, B, IKEV2_PL_NOTIFY, notify_retype);
	a = first_sa(A, IKE_S_ESTABLISHED);
	ASSERT_NE(NULL, a);
	elapse(n, 40000);
	/* after 2-10 s, then 4-20 s */
	EXPECT_LE(3u, heard_ending(": creating Child SA net2"));
	EXPECT_EQ(0u, heard_ending(": creating Child SA net"));
	EXPECT_EQ(0, count_children(a));
	/* the operator asks: net is asked for (and refused: b's kernel) */
	engine_initiate(A->e, "c", &out);
	buf_free(&out);
	pump(n);
	EXPECT_EQ(1u, heard_ending(": creating Child SA net"));
	EXPECT_EQ(a, first_sa(A, IKE_S_ESTABLISHED));
	listen_log(false);
	net_free(n);
}

/* b's outbound policy for net2's selectors through another tunnel. */
static void other_tunnel2(struct kb_policy *p)
{
	other_tunnel(p);
	set_addr(&p->sel.src, "10.4.0.0", 0);
	set_addr(&p->sel.dst, "10.3.0.0", 0);
}

/*
 * b refuses net2 with TEMPORARY_FAILURE for ever (its kernel holds the
 * selectors for another tunnel).  a asks again 5 times, each wait about
 * twice the last (2-10 s first), then takes net2 as refused, says so in
 * one line and asks no more; an operator's initiate asks again.
 */
TEST(child_temporary_failure_for_ever_is_given_up)
{
	struct net *n = net_new_on(v4_two, NULL, NULL);
	struct kb_policy other2;
	struct buf out = BUF_INIT;
	struct ike_sa *a;
	unsigned int asked;

	other_tunnel2(&other2);
	ASSERT_EQ(0, kb_policy_add(B->kb, &other2));
	listen_log(true);
	initiate(n);
	asked = pump_counting(n, IKEV2_EXCH_CREATE_CHILD_SA);
	asked += elapse_counting(n, 400000, IKEV2_EXCH_CREATE_CHILD_SA);
	EXPECT_EQ(1 + 5, asked);
	EXPECT_EQ(1u, heard_count(": Child SA net2 refused with TEMPORARY_FAILURE 6 times; not asked for again until an initiate or a reload"));
	EXPECT_EQ(0, elapse_counting(n, 600000, IKEV2_EXCH_CREATE_CHILD_SA));
	a = first_sa(A, IKE_S_ESTABLISHED);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(1, count_children(a));
	EXPECT_STREQ("net", a->children->cfg->name);
	engine_initiate(A->e, "c", &out);
	buf_free(&out);
	EXPECT_EQ(1, pump_counting(n, IKEV2_EXCH_CREATE_CHILD_SA));
	ASSERT_EQ(0, kb_policy_del(B->kb, &other2));
	elapse(n, 11000);
	EXPECT_EQ(a, first_sa(A, IKE_S_ESTABLISHED));
	EXPECT_EQ(2, count_children(a));
	EXPECT_TRUE(children_paired(a, first_sa(B, IKE_S_ESTABLISHED)));
	listen_log(false);
	net_free(n);
}

/* The time now jumps to when t is due, and the timers due run (nothing is
 * delivered meanwhile). */
static void jump_to(struct net *n, const struct timer *t)
{
	if (t->due_ms > now_ms)
		now_ms = t->due_ms;
	timers(n);
}

/* a's IKE SA, up without net: b refused it in IKE_AUTH with
 * TEMPORARY_FAILURE (its kernel held the selectors, and holds them no
 * more); NULL if that went otherwise. */
static struct ike_sa *net_refused_for_now(struct __test_metadata *_metadata, struct net *n)
{
	struct kb_policy other;
	struct ike_sa *a;

	other_tunnel(&other);
	EXPECT_EQ(0, kb_policy_add(B->kb, &other));
	initiate(n);
	to_auth_response(_metadata, n);
	notify_now = IKEV2_N_TEMPORARY_FAILURE;
	deliver_edited_from(n, B, IKEV2_PL_NOTIFY, notify_retype);
	a = first_sa(A, IKE_S_ESTABLISHED);
	EXPECT_EQ(0, kb_policy_del(B->kb, &other));
	EXPECT_TRUE(a && timer_armed(&a->child_timer));
	return a && timer_armed(&a->child_timer) ? a : NULL;
}

/*
 * net, refused with TEMPORARY_FAILURE in IKE_AUTH, is due again while the
 * pass that asks for net2 is still out: it is asked for once that pass
 * is over, not lost in it.
 */
TEST(child_retry_due_during_a_pass_is_not_lost)
{
	struct net *n = net_new_on(v4_two, NULL, NULL);
	struct ike_sa *a = net_refused_for_now(_metadata, n), *b;

	ASSERT_NE(NULL, a);
	ASSERT_EQ(IKEV2_EXCH_CREATE_CHILD_SA, head_exch(n));	/* net2's, held */
	jump_to(n, &a->child_timer);
	EXPECT_FALSE(timer_armed(&a->child_timer));
	pump(n);
	elapse(n, 30000);
	b = first_sa(B, IKE_S_ESTABLISHED);
	EXPECT_EQ(a, first_sa(A, IKE_S_ESTABLISHED));
	EXPECT_EQ(2, count_children(a));
	EXPECT_TRUE(children_paired(a, b));
	net_free(n);
}

/* The same while our IKE SA rekey is out: the new IKE SA asks for it. */
TEST(child_retry_due_during_an_ike_rekey_is_not_lost)
{
	struct net *n = net_new(NULL);
	struct ike_sa *a;

	for (int fire_first = 0; fire_first < 2; fire_first++) {
		a = net_refused_for_now(_metadata, n);
		ASSERT_NE(NULL, a);
		rekey(A, false);
		ASSERT_EQ(IKEV2_EXCH_CREATE_CHILD_SA, head_exch(n));	/* the rekey, held */
		if (fire_first)
			jump_to(n, &a->child_timer);	/* due while it is out */
		pump(n);	/* else due after, at the new IKE SA */
		elapse(n, 30000);
		a = first_sa(A, IKE_S_ESTABLISHED);
		ASSERT_NE(NULL, a);
		EXPECT_EQ(1, a->rekeys);
		EXPECT_EQ(1, count_children(a));
		EXPECT_TRUE(children_paired(a, first_sa(B, IKE_S_ESTABLISHED)));
		net_free(n);
		n = net_new(NULL);
	}
	net_free(n);
}

/* a's kernel refuses its adds.fail_at-th SA (1: the first). */
static struct {
	const struct kbackend *kb;
	int n, fail_at;
} adds;

static int failing_sa_add(struct kbackend *kb, const struct kb_sa *sa)
{
	if (kb == adds.kb && ++adds.n == adds.fail_at)
		return -EEXIST;
	return none_ops->sa_add(kb, sa);
}

/*
 * §1.4.1: a Child SA the peer accepted but our kernel refused (its inbound
 * or outbound SA; net in IKE_AUTH, net2 by CREATE_CHILD_SA) is deleted at
 * the peer by an INFORMATIONAL Delete: no half is left at b.
 */
TEST(child_our_kernel_refused_is_deleted_at_the_peer)
{
	for (int at = 1; at <= 4; at++) {
		struct net *n = net_new_on(v4_two, NULL, NULL);
		struct kbackend_ops ops = *none_ops;
		struct ike_sa *a, *b;

		ops.sa_add = failing_sa_add;
		adds.kb = A->kb;
		adds.n = 0;
		adds.fail_at = at;
		A->kb->ops = &ops;
		initiate(n);
		pump(n);
		elapse(n, 2000);
		A->kb->ops = none_ops;
		a = first_sa(A, IKE_S_ESTABLISHED);
		b = first_sa(B, IKE_S_ESTABLISHED);
		ASSERT_NE(NULL, a);
		ASSERT_TRUE(paired(a, b));
		EXPECT_EQ(1, count_children(a));
		EXPECT_STREQ(at <= 2 ? "net2" : "net", a->children->cfg->name);
		EXPECT_TRUE(children_paired(a, b));
		EXPECT_EQ(2, kernel_sas(A));
		EXPECT_EQ(2, kernel_sas(B));
		EXPECT_EQ(3, kernel_policies(A));
		EXPECT_EQ(3, kernel_policies(B));
		EXPECT_LE(1, A->e->st.child_failed);
		adds.kb = NULL;
		net_free(n);
	}
}

/* The same for the new SA of our Child SA rekey: b deletes it and keeps
 * the old one with its policies; a rekeys again later. */
TEST(child_rekey_our_kernel_refused_is_deleted_at_the_peer)
{
	struct net *n = net_new(NULL);
	struct kbackend_ops ops = *none_ops;
	struct ike_sa *a, *b;
	uint32_t spi;

	bring_up(_metadata, n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	b = first_sa(B, IKE_S_ESTABLISHED);
	spi = a->children->spi_in;
	ops.sa_add = failing_sa_add;
	adds.kb = A->kb;
	adds.n = 0;
	adds.fail_at = 2;	/* the new outbound SA */
	A->kb->ops = &ops;
	rekey(A, true);
	pump(n);
	A->kb->ops = none_ops;
	adds.kb = NULL;
	established(_metadata, n);
	EXPECT_EQ(spi, a->children->spi_in);
	EXPECT_EQ(CHILD_S_INSTALLED, a->children->state);
	EXPECT_EQ(CHILD_S_INSTALLED, b->children->state);
	EXPECT_TRUE(b->children->policies);
	EXPECT_EQ(3, kernel_policies(A));
	EXPECT_EQ(3, kernel_policies(B));
	elapse(n, 11000);
	established(_metadata, n);
	EXPECT_EQ(1, a->children->rekeys);
	EXPECT_EQ(1, b->children->rekeys);
	EXPECT_EQ(3, kernel_policies(B));
	net_free(n);
}

/*
 * Forty Child SAs; b has no configuration for the last one (c40), which
 * it refuses for good (TS_UNACCEPTABLE), and its kernel holds net2's
 * selectors for another tunnel (TEMPORARY_FAILURE, later passes).  The
 * later passes ask for net2 but not for c40: a refusal counts beyond the
 * 32nd child too.
 */
TEST(child_refused_for_good_beyond_the_32nd)
{
	static char more[2][8192];
	struct side sides[2] = { v4_two[0], v4_two[1] };
	struct kb_policy other2;
	struct net *n;
	struct ike_sa *a;
	char name[48];

	for (int s = 0; s < 2; s++) {
		size_t o = 0;

		for (int k = 3; k <= (s ? 39 : 40); k++)
			o += snprintf(more[s] + o, sizeof(more[s]) - o,
				      " c%d { local_ts = 10.%d.0.0/16\n remote_ts = 10.%d.0.0/16\n"
				      "  esp_proposals = aes128gcm16\n rekey_time = 0 }",
				      k, (s ? 150 : 50) + k, (s ? 50 : 150) + k);
		sides[s].more = more[s];
	}
	n = net_new_on(sides, NULL, NULL);
	ASSERT_NE(NULL, n);
	other_tunnel2(&other2);
	ASSERT_EQ(0, kb_policy_add(B->kb, &other2));
	listen_log(true);
	initiate(n);
	pump(n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	ASSERT_NE(NULL, a);
	EXPECT_EQ(38, count_children(a));	/* all but net2 and c40 */
	EXPECT_EQ(1u, heard_ending(": creating Child SA c40"));
	elapse(n, 30000);
	EXPECT_LE(2u, heard_ending(": creating Child SA net2"));
	EXPECT_EQ(1u, heard_ending(": creating Child SA c40"));
	for (int k = 3; k <= 39; k++) {
		snprintf(name, sizeof(name), ": creating Child SA c%d", k);
		EXPECT_EQ(1u, heard_ending(name));
	}
	EXPECT_EQ(38, count_children(a));
	listen_log(false);
	net_free(n);
}

/* The head (from `from`) with its encrypted payloads replaced by a lone
 * notify of type, sealed with from's keys; then delivered. */
static void deliver_lone_notify_from(struct net *n, struct peer *from, uint16_t type)
{
	static struct ike_msg m;
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct ike_builder ib, bld;
	size_t off;

	if (!n->head || ike_msg_parse(n->head->data, n->head->len, &m))
		abort();
	chain_begin(&ib, &in);
	ike_put_notify(&ib, 0, NULL, 0, type, NULL, 0);
	if (chain_finish(&ib))
		abort();
	msg_begin(&bld, &out, &m.hdr);
	off = ike_put_sk_header(&bld, ib.first_type);
	if (off == SIZE_MAX || crypto_sk_seal(&from->e->all->sk_out, &out, off, false,
					      in.data, in.len))
		abort();
	deliver_instead(pop(n), &out);
	buf_free(&out);
	buf_free(&in);
}

/* §2.21.2: an IKE_AUTH response with an error notify and no AUTH refuses
 * the exchange, whatever the notify: the IKE SA goes, and the log names
 * the notify (not "no usable IDr"). */
TEST(ike_auth_refused_without_auth)
{
	static const uint16_t types[] = { IKEV2_N_TEMPORARY_FAILURE, IKEV2_N_NO_PROPOSAL_CHOSEN };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct net *n = net_new(NULL);
		char want[96];

		listen_log(true);
		initiate(n);
		to_auth_response(_metadata, n);
		deliver_lone_notify_from(n, B, types[i]);
		EXPECT_EQ(0, count_all(A));
		EXPECT_EQ(1, A->e->st.ike_failed);
		snprintf(want, sizeof(want), ": IKE_AUTH refused: %s", ikev2_notify_name(types[i]));
		EXPECT_NE(NULL, heard_line(want));
		listen_log(false);
		net_free(n);
	}
}

/* --- transports: every transition of ike_xport.c by real exchanges --------------------- */

/*
 * Each scenario is a TEST of its own and runs again in
 * every_transition_by_exchanges, which checks that together they took
 * every row of the tables (xport_rule_hits) but those only a peer other
 * than tcpiked could make us take.
 */
#define SCENARIO(name) \
	static void sc_##name(struct __test_metadata *_metadata); \
	TEST(name) { sc_##name(_metadata); } \
	static void sc_##name(struct __test_metadata *_metadata)

static struct ike_sa *sa_a(struct net *n)
{
	return first_sa(A, IKE_S_ESTABLISHED);
}

static struct ike_sa *sa_b(struct net *n)
{
	return first_sa(B, IKE_S_ESTABLISHED);
}

static struct tconn *live_conn(struct net *n, struct peer *owner)
{
	for (struct tconn *t = n->conns; t; t = t->next)
		if (t->owner == owner && !t->c->dead)
			return t;
	return NULL;
}


SCENARIO(tcp_rfc9329)
{
	struct net *n = net_new("transport = tcp");

	initiate(n);
	EXPECT_EQ(XS_TCP_INIT, A->e->all->x.state);
	EXPECT_EQ(XL_CONNECTING, A->e->all->x.link);
	EXPECT_EQ(0, queued(n));	/* IKE_SA_INIT waits for the connection */
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(1, n->connects);
	EXPECT_EQ(XS_TCP, sa_a(n)->x.state);
	EXPECT_EQ(XL_UP, sa_a(n)->x.link);
	EXPECT_EQ(XS_TCP, sa_b(n)->x.state);
	EXPECT_EQ(XL_PEER, sa_b(n)->x.link);
	EXPECT_TRUE(sa_a(n)->children->esp_tcp);
	EXPECT_TRUE(sa_b(n)->children->esp_tcp);
	EXPECT_EQ(XPORT_TCP, ike_esp_path(sa_a(n))->kind);
	net_free(n);
}

/* UDP answers: no TCP connection is ever opened, and the SA is up as
 * fast as over transport = udp (no clock passes); UDP answering slowly,
 * within tcp_race_delay, still opens none. */
SCENARIO(auto_udp_answers)
{
	struct net *n = net_new("transport = auto");
	uint64_t t0 = now_ms;

	initiate(n);
	EXPECT_EQ(XS_AUTO_INIT, A->e->all->x.state);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(t0, now_ms);
	elapse(n, 3000);
	EXPECT_EQ(0, n->connects);	/* the race was called off */
	EXPECT_EQ(0, A->e->st.tcp_connects);
	EXPECT_EQ(0, A->e->st.tcp_races);
	EXPECT_EQ(XS_UDP, sa_a(n)->x.state);
	net_free(n);

	n = net_new("transport = auto");
	initiate(n);
	now_ms += 200;			/* the request is 200 ms on its way */
	timers(n);
	EXPECT_EQ(1, queued(n));
	pump(n);
	established(_metadata, n);
	elapse(n, 3000);
	EXPECT_EQ(0, n->connects);
	EXPECT_EQ(0, A->e->st.tcp_connects);
	EXPECT_EQ(1, count_all(A));
	net_free(n);
}

/* UDP blocked: after tcp_race_delay (250 ms) without an answer the UDP
 * IKE_SA_INIT goes once more (TCP-15) and a new IKE SA starts over TCP
 * beside it (TCP-16); TCP completes IKE_SA_INIT first and the UDP SA goes.
 * Within the race delay and one round trip. */
SCENARIO(auto_races_tcp_when_udp_is_blocked)
{
	struct net *n = net_new("transport = auto");
	struct buf out = BUF_INIT;
	uint8_t spi[8];

	n->block_udp = true;
	initiate(n);
	memcpy(spi, A->e->all->spi_i, 8);
	elapse(n, 200);
	EXPECT_EQ(0, n->connects);
	EXPECT_EQ(1, n->dropped);
	elapse(n, 100);			/* tcp_race_delay = 250 ms */
	EXPECT_EQ(1, n->connects);
	EXPECT_EQ(2, n->dropped);	/* TCP-15: UDP twice before TCP */
	established(_metadata, n);
	EXPECT_EQ(1, count_all(A));	/* the UDP SA is gone */
	EXPECT_EQ(1, count_all(B));
	EXPECT_EQ(XS_TCP, sa_a(n)->x.state);
	EXPECT_EQ(XO_RACE, sa_a(n)->x.origin);
	EXPECT_NE(0, memcmp(spi, sa_a(n)->spi_i, 8));	/* TCP-16: a new SA */
	EXPECT_EQ(1, A->e->st.tcp_races);
	EXPECT_EQ(1, A->e->st.tcp_races_tcp_won);
	EXPECT_EQ(1, A->e->st.tcp_connects);
	EXPECT_EQ(0, A->e->st.ike_failed);
	ASSERT_EQ(0, engine_status(A->e, true, &out));
	ASSERT_EQ(0, buf_put_u8(&out, 0));
	EXPECT_NE(NULL, strstr((char *)out.data, "\"tcp_connects\":1,\"tcp_races\":1,"
			       "\"tcp_races_udp_won\":0,\"tcp_races_tcp_won\":1,"));
	EXPECT_NE(NULL, strstr((char *)out.data, "\"tcp_fallback\":true"));
	buf_free(&out);
	elapse(n, 5000);		/* no UDP retransmission is left */
	EXPECT_EQ(2, n->dropped);
	EXPECT_EQ(1, n->connects);
	EXPECT_EQ(1, count_all(A));
	net_free(n);
}

static int count_xstate(struct peer *p, enum xport_state xs)
{
	int n = 0;

	for (struct ike_sa *sa = p->e->all; sa; sa = sa->next)
		n += sa->x.state == xs;
	return n;
}

/* The race started: UDP's IKE_SA_INIT went again and TCP's connect is
 * under way (the first request was held up, not lost). */
static struct net *race_started(const char *dextra_b)
{
	struct net *n = net_new("transport = auto");

	if (dextra_b) {
		B->cfg->daemon.cookie_threshold = 0;
		B->cfg->daemon.tcp_puzzle_difficulty = 4;
	}
	initiate(n);
	now_ms += 300;
	timers(n);
	return n;
}

/* UDP answers after TCP started but before TCP's IKE_SA_INIT completed:
 * UDP wins, the TCP SA goes and its connection is closed; the peer's
 * half-open SA over TCP times out. */
SCENARIO(auto_race_udp_answers_first)
{
	struct net *n = race_started(NULL);

	EXPECT_EQ(1, n->connects);
	EXPECT_EQ(2, queued(n));	/* the UDP request, sent again */
	EXPECT_EQ(2, count_all(A));
	EXPECT_EQ(1, count_xstate(A, XS_AUTO_RACE));
	EXPECT_EQ(1, count_xstate(A, XS_RACE_TCP_INIT));
	while (finish_connects(n))
		;
	EXPECT_EQ(3, queued(n));	/* and the TCP one */
	deliver(n);
	deliver(n);
	deliver(n);
	EXPECT_EQ(2, count_all(B));	/* one half-open SA per request */
	ASSERT_EQ(IKEV2_EXCH_IKE_SA_INIT, head_exch(n));
	ASSERT_EQ(A, head_to(n));
	ASSERT_EQ(XPORT_UDP500, n->head->path.kind);
	deliver(n);			/* UDP's response, first */
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(XS_UDP, A->e->all->x.state);
	EXPECT_EQ(NULL, live_conn(n, A));
	EXPECT_EQ(1, A->e->st.tcp_races_udp_won);
	pump(n);			/* TCP's response comes to nothing */
	established(_metadata, n);
	EXPECT_EQ(XS_UDP, sa_a(n)->x.state);
	EXPECT_EQ(XS_UDP, sa_b(n)->x.state);
	EXPECT_EQ(NULL, live_conn(n, B));
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(0, A->e->st.ike_failed);
	elapse(n, 60000);
	EXPECT_EQ(1, count_all(B));	/* the half-open one timed out */
	EXPECT_EQ(1, n->connects);
	net_free(n);
}

/* TCP completes IKE_SA_INIT first: the UDP SA goes; UDP's response,
 * coming late, finds no SA and is dropped without a word. */
SCENARIO(auto_race_tcp_answers_first)
{
	struct net *n = race_started(NULL);
	uint64_t sent, dropped;

	while (finish_connects(n))
		;
	to_front(n, 2);
	deliver(n);			/* TCP's IKE_SA_INIT */
	to_front(n, 2);
	deliver(n);			/* its response: TCP wins */
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(XS_TCP, A->e->all->x.state);
	EXPECT_EQ(1, A->e->st.tcp_races_tcp_won);
	deliver(n);			/* UDP's first request, late */
	drop(n);
	ASSERT_EQ(IKEV2_EXCH_IKE_AUTH, head_exch(n));
	deliver(n);
	ASSERT_EQ(IKEV2_EXCH_IKE_SA_INIT, head_exch(n));
	ASSERT_EQ(A, head_to(n));
	sent = A->sent;
	dropped = A->e->st.rx_dropped;
	deliver(n);			/* UDP's response */
	EXPECT_EQ(sent, A->sent);
	EXPECT_EQ(dropped + 1, A->e->st.rx_dropped);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_TCP, sa_a(n)->x.state);
	EXPECT_EQ(XS_TCP, sa_b(n)->x.state);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(sent, A->sent);
	EXPECT_EQ(0, A->e->st.ike_failed);
	net_free(n);
}

/* TCP unreachable during the race: UDP goes on alone, and that is no
 * failed attempt of the connection. */
SCENARIO(auto_race_tcp_refused)
{
	struct net *n = race_started(NULL);

	n->block_tcp = true;
	while (finish_connects(n))
		;
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(XS_AUTO_RACE, A->e->all->x.state);
	EXPECT_EQ(0, A->e->st.ike_failed);
	EXPECT_EQ(NULL, A->e->retries);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_UDP, sa_a(n)->x.state);
	EXPECT_EQ(0, A->e->st.ike_failed);
	net_free(n);
}

/* Neither answers: the last of the two to fail makes the one failed
 * attempt (keyingtries), once. */
TEST(auto_race_both_fail_once)
{
	struct net *n = net_new("transport = auto");

	n->block_udp = n->block_tcp = true;
	initiate(n);
	elapse(n, 300);
	EXPECT_EQ(1, n->connects);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(0, A->e->st.ike_failed);
	EXPECT_EQ(NULL, A->e->retries);
	elapse(n, 15000);		/* UDP's retransmissions spent */
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(1, A->e->st.ike_failed);
	EXPECT_NE(NULL, A->e->retries);
	net_free(n);
}

/* Time passes in steps of 5 ms until a has its IKE SA (10 s at most):
 * the time from t0 that took. */
static uint64_t until_established(struct net *n, uint64_t t0)
{
	while (!sa_a(n) && now_ms - t0 < 10000) {
		now_ms += 5;
		pump(n);
	}
	return now_ms - t0;
}

/* initiate with UDP blocked, over a path of 50 ms round trip whose
 * connect takes one round trip too, until a has its IKE SA (checked);
 * *ms the time that took.  The caller checks the rest and frees. */
static struct net *blocked_established(struct __test_metadata *_metadata, const char *extra,
				       uint64_t *ms)
{
	struct net *n = net_new(extra);
	uint64_t t0 = now_ms;

	n->block_udp = true;
	n->one_way_ms = 25;
	n->connect_ms = 50;
	initiate(n);
	timers(n);		/* the loop's next pass, before any time passes */
	*ms = until_established(n, t0);
	established(_metadata, n);
	return n;
}

/* Time from initiate to an established IKE SA with UDP blocked (auto). */
static uint64_t auto_blocked_ms(struct __test_metadata *_metadata, const char *extra)
{
	uint64_t t;
	struct net *n = blocked_established(_metadata, extra, &t);

	EXPECT_EQ(XS_TCP, sa_a(n)->x.state);
	EXPECT_EQ(1, A->e->st.tcp_races_tcp_won);
	EXPECT_EQ(1, n->connects);
	net_free(n);
	return t;
}

/* tcp_race_delay = 0: TCP starts with the first UDP request, which goes
 * once (not again ahead of its timer, as after a delay); the first to
 * complete IKE_SA_INIT goes on and the other is dropped, its connection
 * closed.  With UDP blocked that saves the delay: race 250 + connect 50 +
 * IKE_SA_INIT 50 + IKE_AUTH 50 against 0 + 50 + 50 + 50. */
TEST(auto_race_delay_zero_starts_both_at_once)
{
	struct net *n = net_new("transport = auto\n tcp_race_delay = 0");
	uint64_t t0 = now_ms;

	initiate(n);
	EXPECT_EQ(0, n->connects);	/* from the loop, right after */
	timers(n);
	EXPECT_EQ(1, n->connects);
	EXPECT_EQ(1, queued(n));	/* the UDP request, once */
	EXPECT_EQ(XPORT_UDP500, n->head->path.kind);
	EXPECT_EQ(2, count_all(A));
	EXPECT_EQ(1, count_xstate(A, XS_AUTO_RACE));
	EXPECT_EQ(1, count_xstate(A, XS_RACE_TCP_INIT));
	EXPECT_EQ(1, A->e->st.tcp_races);
	EXPECT_EQ(0, A->e->st.retransmits);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(t0, now_ms);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(1, A->e->st.tcp_races_udp_won + A->e->st.tcp_races_tcp_won);
	if (sa_a(n)->x.state == XS_UDP) {
		EXPECT_EQ(NULL, live_conn(n, A));
	} else {
		EXPECT_EQ(XS_TCP, sa_a(n)->x.state);
	}
	EXPECT_EQ(0, A->e->st.ike_failed);
	elapse(n, 3000);
	EXPECT_EQ(1, n->connects);
	EXPECT_EQ(1, count_all(A));
	net_free(n);

	EXPECT_EQ(400, auto_blocked_ms(_metadata, "transport = auto"));
	EXPECT_EQ(150, auto_blocked_ms(_metadata, "transport = auto\n tcp_race_delay = 0"));
}

/* separate with UDP blocked races as auto does (after tcp_race_delay, 250
 * ms), the TCP SA (separate-tcp-first, RT-9) taking the connection made
 * beside IKE_SA_INIT: one connect, and the tunnel after race 250 +
 * IKE_SA_INIT 50 + IKE_AUTH 50 over a 50 ms round trip (before: UDP had
 * tcp_fallback_delay, 1.5 s, and the fallback connected again: 1650 ms,
 * two connects).  Without the pre-connect the race connects: 50 more. */
static uint64_t separate_blocked_ms(struct __test_metadata *_metadata, const char *extra,
				    unsigned int *connects)
{
	uint64_t t;
	struct net *n = blocked_established(_metadata, extra, &t);

	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(XS_SEP, sa_a(n)->x.state);
	EXPECT_EQ(XO_RACE, sa_a(n)->x.origin);
	EXPECT_EQ(CFG_XPORT_SEPARATE_TCP_FIRST, sa_a(n)->x.mode);
	EXPECT_EQ(XPORT_UDP4500, ike_esp_path(sa_a(n))->kind);
	EXPECT_EQ(1, A->e->st.tcp_races);
	EXPECT_EQ(1, A->e->st.tcp_races_tcp_won);
	EXPECT_EQ(n->connects, A->e->st.tcp_connects);
	*connects = n->connects;
	net_free(n);
	return t;
}

TEST(separate_races_tcp_when_udp_is_blocked)
{
	unsigned int c;

	EXPECT_EQ(350, separate_blocked_ms(_metadata, "transport = separate", &c));
	EXPECT_EQ(1, c);
	EXPECT_EQ(400, separate_blocked_ms(_metadata, "transport = separate\n tcp_preconnect = no", &c));
	EXPECT_EQ(1, c);
	EXPECT_EQ(150, separate_blocked_ms(_metadata,
				      "transport = separate\n tcp_preconnect = no\n tcp_race_delay = 0", &c));
	EXPECT_EQ(1, c);
}

/* separate, its pre-connection up, UDP unanswered past tcp_race_delay:
 * the race started. */
static struct net *separate_race_started(void)
{
	struct net *n = net_new("transport = separate");

	initiate(n);
	while (finish_connects(n))
		;
	now_ms += 300;
	timers(n);
	return n;
}

/* separate's race, UDP echoed first: the UDP SA goes on to TCP for
 * IKE_AUTH (RT-4) and the TCP SA goes, with the connection it took from
 * the UDP SA, so the UDP SA connects again. */
SCENARIO(separate_race_udp_answers_first)
{
	struct net *n = separate_race_started();

	EXPECT_EQ(2, count_all(A));
	EXPECT_EQ(1, count_xstate(A, XS_SEP_RACE));
	EXPECT_EQ(1, count_xstate(A, XS_SEP_TCP_INIT));
	EXPECT_EQ(1, n->connects);	/* the pre-connection, taken over */
	ASSERT_EQ(3, queued(n));	/* UDP twice, then TCP */
	deliver(n);			/* UDP's request */
	drop(n);			/* UDP's again */
	drop(n);			/* TCP's */
	ASSERT_EQ(IKEV2_EXCH_IKE_SA_INIT, head_exch(n));
	ASSERT_EQ(A, head_to(n));
	deliver(n);			/* echoed over UDP: UDP wins */
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(XS_SEP_CONNECT, A->e->all->x.state);
	EXPECT_EQ(1, A->e->st.tcp_races_udp_won);
	EXPECT_EQ(2, n->connects);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_SEP, sa_a(n)->x.state);
	EXPECT_EQ(XO_CONFIG, sa_a(n)->x.origin);
	EXPECT_EQ(0, A->e->st.ike_failed);
	net_free(n);
}

/* ... TCP first: the UDP SA goes; its late response is dropped. */
SCENARIO(separate_race_tcp_answers_first)
{
	struct net *n = separate_race_started();

	ASSERT_EQ(3, queued(n));
	to_front(n, 2);
	deliver(n);			/* TCP's IKE_SA_INIT */
	to_front(n, 2);
	deliver(n);			/* its response, echoed: TCP wins */
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(XS_SEP_PROBE, A->e->all->x.state);
	EXPECT_EQ(1, A->e->st.tcp_races_tcp_won);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_SEP, sa_a(n)->x.state);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(1, n->connects);
	EXPECT_EQ(0, A->e->st.ike_failed);
	net_free(n);
}

/* ... UDP answered by a peer without separate transports: plain UDP,
 * the TCP SA goes. */
SCENARIO(separate_race_udp_not_echoed)
{
	struct net *n = net_new("transport = separate");

	B->cfg->daemon.separate_transports = false;
	initiate(n);
	now_ms += 300;
	timers(n);
	EXPECT_EQ(2, count_all(A));
	deliver(n);
	ASSERT_EQ(IKEV2_EXCH_IKE_SA_INIT, head_exch(n));
	while (head_to(n) != A || head_exch(n) != IKEV2_EXCH_IKE_SA_INIT)
		ASSERT_TRUE(deliver(n) || finish_connects(n));
	deliver(n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(XS_UDP, A->e->all->x.state);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_UDP, sa_a(n)->x.state);
	EXPECT_EQ(1, count_all(A));
	net_free(n);
}

/* Cookies on both during separate's race: each retries on its transport. */
SCENARIO(separate_race_with_cookies)
{
	struct net *n = net_new("transport = separate");

	B->cfg->daemon.cookie_threshold = 0;
	initiate(n);
	now_ms += 300;
	timers(n);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_LE(2, B->e->st.cookies_sent);
	EXPECT_EQ(1, A->e->st.tcp_races_udp_won + A->e->st.tcp_races_tcp_won);
	net_free(n);
}

/* A responder asking for cookies on both: each retries on its transport
 * (over TCP on a new connection, TCP-29), one wins. */
SCENARIO(auto_race_with_cookies)
{
	struct net *n = race_started("cookies");

	pump(n);
	established(_metadata, n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_LE(2, B->e->st.cookies_sent);	/* over UDP and over TCP */
	EXPECT_EQ(1, A->e->st.tcp_races_udp_won + A->e->st.tcp_races_tcp_won);
	net_free(n);
}

SCENARIO(separate_moves_ike_to_tcp)
{
	struct net *n = net_new("transport = separate");

	initiate(n);
	EXPECT_EQ(XS_SEP_INIT, A->e->all->x.state);
	EXPECT_EQ(XPORT_UDP4500, A->e->all->path.kind);
	deliver(n);			/* IKE_SA_INIT on UDP 4500 (RT-1) */
	EXPECT_EQ(XS_SEP_AWAIT, B->e->all->x.state);
	deliver(n);			/* echoed (RT-3) */
	EXPECT_EQ(XS_SEP_CONNECT, A->e->all->x.state);
	EXPECT_EQ(XL_CONNECTING, A->e->all->x.link);
	EXPECT_EQ(0, queued(n));	/* IKE_AUTH waits for TCP (RT-4) */
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_SEP, sa_a(n)->x.state);
	EXPECT_EQ(XS_SEP, sa_b(n)->x.state);
	EXPECT_EQ(XL_UP, sa_a(n)->x.link);
	EXPECT_EQ(XL_PEER, sa_b(n)->x.link);
	EXPECT_EQ(XPORT_TCP, sa_a(n)->path.kind);
	EXPECT_EQ(XPORT_TCP, sa_b(n)->path.kind);
	/* ESP stays beside it (RT-15). */
	EXPECT_EQ(XPORT_UDP4500, ike_esp_path(sa_a(n))->kind);
	EXPECT_EQ(XPORT_UDP4500, ike_esp_path(sa_b(n))->kind);
	EXPECT_FALSE(sa_a(n)->children->esp_tcp);
	/* RT-12: a rekey stays on TCP. */
	rekey(A, true);
	EXPECT_EQ(XPORT_TCP, n->head->path.kind);
	pump(n);
	one_of_each(_metadata, n);
	net_free(n);
}

/* RT-12: a middlebox hands the IKE_AUTH over UDP instead: the responder
 * (which only offered TCP, RT-5) answers there, the initiator takes the
 * answer but keeps IKE on TCP. */
SCENARIO(separate_udp_message_does_not_move_ike)
{
	struct net *n = net_new("transport = separate");
	struct ike_sa *a;
	struct pkt *k;

	initiate(n);
	deliver(n);
	deliver(n);
	while (finish_connects(n))
		;
	ASSERT_EQ(IKEV2_EXCH_IKE_AUTH, head_exch(n));
	k = n->head;
	a = A->e->all;
	k->path.kind = XPORT_UDP4500;
	k->path.conn = NULL;
	k->via = NULL;
	k->path.local = B->e->all->path.local;
	k->path.remote = B->e->all->path.remote;
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_SEP_AWAIT, sa_b(n)->x.state);
	EXPECT_EQ(XPORT_UDP4500, sa_b(n)->path.kind);
	EXPECT_EQ(a, sa_a(n));
	EXPECT_EQ(XS_SEP, a->x.state);
	EXPECT_EQ(XPORT_TCP, a->path.kind);
	net_free(n);
}

/* RT-3: the peer lacks the draft; the connection opened beside
 * IKE_SA_INIT (tcp_preconnect) is closed unused, counted. */
static bool status_contains(struct peer *p, bool json, const char *what)
{
	struct buf out = BUF_INIT;
	bool has = !engine_status(p->e, json, &out) && !buf_put_u8(&out, 0) &&
		   strstr((char *)out.data, what);

	buf_free(&out);
	return has;
}

static bool status_has(struct peer *p, const char *what)
{
	return status_contains(p, true, what);
}

SCENARIO(separate_not_echoed_stays_udp)
{
	struct net *n = net_new("transport = separate");

	B->cfg->daemon.separate_transports = false;
	initiate(n);
	EXPECT_EQ(1, n->connects);
	EXPECT_EQ(XL_CONNECTING, A->e->all->x.link);
	deliver(n);
	deliver(n);		/* not echoed, still connecting */
	EXPECT_EQ(XL_NONE, A->e->all->x.link);
	EXPECT_EQ(NULL, A->e->all->x.pre);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_UDP, sa_a(n)->x.state);
	EXPECT_EQ(XS_UDP, sa_b(n)->x.state);
	EXPECT_EQ(XL_NONE, sa_a(n)->x.link);
	EXPECT_EQ(XPORT_UDP4500, sa_a(n)->path.kind);
	EXPECT_EQ(NULL, live_conn(n, A));
	EXPECT_EQ(NULL, live_conn(n, B));
	EXPECT_EQ(1, n->connects);
	EXPECT_EQ(1, A->e->st.tcp_preconnects);
	EXPECT_EQ(1, A->e->st.tcp_preconnects_unused);
	EXPECT_EQ(0, A->e->st.ike_failed);
	EXPECT_TRUE(status_has(A, "\"tcp_preconnects\":1,\"tcp_preconnects_unused\":1,"
			       "\"tcp_preconnects_failed\":0,"));
	net_free(n);
}

/* tcp_preconnect = no: nothing is opened before the echo. */
TEST(separate_without_preconnect_connects_after_the_echo)
{
	struct net *n = net_new("transport = separate\n tcp_preconnect = no");

	initiate(n);
	EXPECT_EQ(0, n->connects);
	deliver(n);
	deliver(n);
	EXPECT_EQ(1, n->connects);
	EXPECT_EQ(XS_SEP_CONNECT, A->e->all->x.state);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_SEP, sa_a(n)->x.state);
	EXPECT_EQ(0, A->e->st.tcp_preconnects);
	B->cfg->daemon.separate_transports = false;
	net_free(n);
	n = net_new("transport = separate\n tcp_preconnect = no");
	B->cfg->daemon.separate_transports = false;
	initiate(n);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(0, n->connects);
	net_free(n);
}

/* Every connect to the peer's TCP port is given the connection's
 * tcp_connect_race (tcp.c races a second SYN after it; 0: none):
 * tcp_preconnect's beside IKE_SA_INIT, tcp's and separate-tcp-first's. */
TEST(tcp_connect_race_reaches_every_connect)
{
	static const struct { const char *conf; uint32_t race_ms; } cases[] = {
		{ "transport = separate", 250 },
		{ "transport = separate\n tcp_connect_race = 100ms", 100 },
		{ "transport = separate\n tcp_connect_race = 0", 0 },
		{ "transport = tcp", 250 },
		{ "transport = tcp\n tcp_connect_race = 0", 0 },
		{ "transport = separate-tcp-first\n tcp_connect_race = 400ms", 400 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct net *n = net_new(cases[i].conf);

		n->race_ms = 12345;
		initiate(n);
		EXPECT_EQ(1, n->connects);
		EXPECT_EQ(cases[i].race_ms, n->race_ms);
		pump(n);
		established(_metadata, n);
		net_free(n);
	}
}

/* The connect starts with IKE_SA_INIT (fake time 0), carries nothing
 * before the echo, and IKE_AUTH goes on it the moment the echo is in
 * (RT-4; IKETCP went first when it came up, RT-6). */
SCENARIO(separate_preconnects_beside_init)
{
	struct net *n = net_new("transport = separate");
	uint64_t t0 = now_ms;
	struct ike_sa *a;

	initiate(n);
	a = A->e->all;
	EXPECT_EQ(XS_SEP_INIT, a->x.state);
	EXPECT_EQ(XPORT_UDP4500, a->path.kind);		/* RT-1 */
	EXPECT_EQ(1, n->connects);
	EXPECT_EQ(t0, n->connect_at[0]);
	EXPECT_EQ(XL_CONNECTING, a->x.link);
	ASSERT_EQ(1, queued(n));
	EXPECT_EQ(XPORT_UDP4500, n->head->path.kind);
	while (finish_connects(n))
		;
	EXPECT_EQ(XL_UP, a->x.link);
	EXPECT_EQ(XS_SEP_INIT, a->x.state);
	EXPECT_EQ(1, queued(n));		/* nothing on the connection yet */
	deliver(n);				/* IKE_SA_INIT */
	deliver(n);				/* echoed */
	/* No connect now: IKE_AUTH at once, first on the connection. */
	ASSERT_EQ(IKEV2_EXCH_IKE_AUTH, head_exch(n));
	EXPECT_EQ(XPORT_TCP, n->head->path.kind);
	EXPECT_EQ(XS_SEP, a->x.state);
	EXPECT_EQ(XPORT_TCP, a->path.kind);
	EXPECT_EQ(XPORT_UDP4500, a->x.esp->kind);
	EXPECT_EQ(t0, now_ms);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_SEP, sa_a(n)->x.state);
	EXPECT_EQ(XS_SEP, sa_b(n)->x.state);
	EXPECT_EQ(XL_UP, sa_a(n)->x.link);
	EXPECT_EQ(XPORT_UDP4500, ike_esp_path(sa_a(n))->kind);
	EXPECT_EQ(1, n->connects);
	EXPECT_EQ(1, A->e->st.tcp_connects);
	EXPECT_EQ(1, A->e->st.tcp_preconnects);
	EXPECT_EQ(0, A->e->st.tcp_preconnects_unused);
	EXPECT_EQ(0, A->e->st.tcp_preconnects_failed);
	net_free(n);
}

/* Time from initiate to an established IKE SA over a path of 50 ms round
 * trip whose first SYN is lost (the connect takes 1 s more), and, with
 * lose_init, whose first IKE_SA_INIT is lost too (retransmit_base 1 s). */
static uint64_t setup_ms(struct __test_metadata *_metadata, const char *extra,
			 bool lose_init)
{
	struct net *n = net_new(extra);
	uint64_t t0 = now_ms, t;

	n->one_way_ms = 25;
	n->connect_ms = 1050;
	initiate(n);
	if (lose_init)
		drop(n);
	t = until_established(n, t0);
	established(_metadata, n);
	EXPECT_EQ(XS_SEP, sa_a(n)->x.state);
	EXPECT_EQ(1, n->connects);
	net_free(n);
	return t;
}

/* A lost SYN costs its second (the kernel's retransmission) either way;
 * the pre-connect hides the IKE_SA_INIT round trip behind it, and when
 * the IKE_SA_INIT is lost as well the two losses overlap instead of
 * adding up. */
TEST(separate_preconnect_overlaps_a_lost_syn)
{
	uint64_t before = setup_ms(_metadata, "transport = separate\n tcp_preconnect = no", false);
	uint64_t after = setup_ms(_metadata, "transport = separate", false);
	uint64_t before2 = setup_ms(_metadata, "transport = separate\n tcp_preconnect = no", true);
	uint64_t after2 = setup_ms(_metadata, "transport = separate", true);

	TH_LOG("first SYN lost: %llu ms without the pre-connect, %llu ms with it",
	       (unsigned long long)before, (unsigned long long)after);
	TH_LOG("first SYN and first IKE_SA_INIT lost: %llu ms without, %llu ms with",
	       (unsigned long long)before2, (unsigned long long)after2);
	/* init 50 + connect 1050 + auth 50, against connect 1050 + auth 50 */
	EXPECT_EQ(1150, before);
	EXPECT_EQ(1100, after);
	/* Without: the race (tcp_race_delay 250) sends IKE_SA_INIT again,
	 * answered at 300 with the echo, and its TCP SA's connect, made at
	 * 250, still connecting, goes to IKE_AUTH: 250 + 1050 + auth 50 (with
	 * the fallback of before: init 1050 + connect 1050 + auth 50 = 2150);
	 * with: 1050 + auth 50, the pre-connection back from the race. */
	EXPECT_EQ(1350, before2);
	EXPECT_EQ(1100, after2);
}

/* ... and when the peer does not echo, the failure was of no matter. */
SCENARIO(separate_preconnect_refused_not_echoed)
{
	struct net *n = net_new("transport = separate");

	n->block_tcp = true;
	B->cfg->daemon.separate_transports = false;
	initiate(n);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(XS_UDP, sa_a(n)->x.state);
	EXPECT_EQ(XO_CONFIG, sa_a(n)->x.origin);
	EXPECT_EQ(XL_NONE, sa_a(n)->x.link);
	EXPECT_EQ(0, A->e->st.ike_failed);
	EXPECT_EQ(0, A->e->st.separate_tcp_failed);
	EXPECT_EQ(1, A->e->st.tcp_preconnects_failed);
	net_free(n);
}

/* The pre-connection came up and was closed before the echo (the peer's
 * tcp_idle_timeout, a middlebox): the echo connects again, as without
 * the pre-connect. */
SCENARIO(separate_preconnection_closed_before_the_echo)
{
	struct net *n = net_new("transport = separate");

	initiate(n);
	while (finish_connects(n))
		;
	tconn_cut(live_conn(n, A), -ECONNRESET);
	EXPECT_EQ(XL_DOWN, A->e->all->x.link);
	EXPECT_EQ(XS_SEP_INIT, A->e->all->x.state);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_SEP, sa_a(n)->x.state);
	EXPECT_EQ(2, n->connects);
	EXPECT_EQ(0, A->e->st.separate_tcp_failed);
	net_free(n);
}

/*
 * TCP refused.  Pre-connecting (the default), the refusal comes before
 * the echo: the UDP exchange goes on (nothing is known of the peer yet),
 * and the echo then finds TCP unreachable as a connect after it would.
 * RT-7: cancelled; RT-8: a new IKE_SA_INIT over UDP without the notify.
 */
static void tcp_blocked_retries(struct __test_metadata *_metadata, bool pre)
{
	struct net *n = net_new(pre ? "transport = separate" :
				"transport = separate\n tcp_preconnect = no");
	struct ike_sa *a;

	n->block_tcp = true;
	initiate(n);
	a = A->e->all;
	while (finish_connects(n))
		;
	EXPECT_EQ(pre, A->e->st.tcp_preconnects_failed);
	EXPECT_EQ(XS_SEP_INIT, a->x.state);
	EXPECT_EQ(IKE_S_INIT_SENT, a->state);
	EXPECT_EQ(0, A->e->st.ike_failed);
	ASSERT_EQ(1, queued(n));
	EXPECT_EQ(IKEV2_EXCH_IKE_SA_INIT, head_exch(n));
	EXPECT_EQ(0, A->e->st.separate_tcp_failed);
	pump(n);
	EXPECT_EQ(1, A->e->st.separate_tcp_failed);
	established(_metadata, n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(XS_UDP, sa_a(n)->x.state);
	EXPECT_EQ(XO_UDP_RETRY, sa_a(n)->x.origin);
	EXPECT_EQ(XS_UDP, sa_b(n)->x.state);
	EXPECT_EQ(1, n->connects);	/* one connect either way */
	net_free(n);
}

SCENARIO(separate_tcp_blocked_retries_over_udp)
{
	tcp_blocked_retries(_metadata, false);
	tcp_blocked_retries(_metadata, true);
}

/* RT-7 again: the connection carrying IKE_AUTH breaks (UDP IKE_SA_INIT,
 * or TCP from the start). */
static void auth_connection_breaks(struct __test_metadata *_metadata, const char *mode,
				   enum xport_state during)
{
	struct net *n = net_new(mode);

	initiate(n);
	while (finish_connects(n))
		;
	deliver(n);
	deliver(n);
	while (finish_connects(n))
		;
	ASSERT_EQ(IKEV2_EXCH_IKE_AUTH, head_exch(n));
	EXPECT_EQ(during, A->e->all->x.state);
	tconn_cut(live_conn(n, A), -ECONNRESET);
	EXPECT_EQ(1, A->e->st.separate_tcp_failed);
	pump(n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(XO_UDP_RETRY, sa_a(n)->x.origin);
	EXPECT_EQ(XS_UDP, sa_a(n)->x.state);
	net_free(n);
}

SCENARIO(separate_auth_connection_breaks)
{
	auth_connection_breaks(_metadata, "transport = separate", XS_SEP);
}

SCENARIO(tcp_first_auth_connection_breaks)
{
	auth_connection_breaks(_metadata, "transport = separate-tcp-first", XS_SEP_PROBE);
}

static void unreachable_over_tcp(struct __test_metadata *_metadata, const char *mode)
{
	struct net *n = net_new(mode);

	n->block_tcp = true;
	initiate(n);
	pump(n);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(1, A->e->st.ike_failed);
	EXPECT_EQ(0, B->sent);
	net_free(n);
}

SCENARIO(tcp_unreachable)
{
	unreachable_over_tcp(_metadata, "transport = tcp");
}

SCENARIO(tcp_first_unreachable)
{
	unreachable_over_tcp(_metadata, "transport = separate-tcp-first");
}

SCENARIO(separate_udp_blocked_goes_tcp_first)
{
	struct net *n = net_new("transport = separate");

	n->block_udp = true;
	initiate(n);
	elapse(n, 1600);
	established(_metadata, n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(XO_RACE, sa_a(n)->x.origin);
	EXPECT_EQ(CFG_XPORT_SEPARATE_TCP_FIRST, sa_a(n)->x.mode);
	/* The none backend has no ESP to probe: skipped, separate kept. */
	EXPECT_EQ(XS_SEP, sa_a(n)->x.state);
	EXPECT_EQ(PROBE_SKIPPED, ike_probe(sa_a(n))->state);
	EXPECT_EQ(XS_SEP, sa_b(n)->x.state);
	EXPECT_EQ(XPORT_UDP4500, ike_esp_path(sa_a(n))->kind);
	net_free(n);
}

SCENARIO(tcp_first_not_echoed_is_rfc9329)
{
	struct net *n = net_new("transport = separate-tcp-first");

	B->cfg->daemon.separate_transports = false;
	initiate(n);
	EXPECT_EQ(XS_SEP_TCP_INIT, A->e->all->x.state);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_TCP, sa_a(n)->x.state);	/* RT-11 */
	EXPECT_EQ(XS_TCP, sa_b(n)->x.state);
	EXPECT_TRUE(sa_a(n)->children->esp_tcp);
	net_free(n);
}

/* The status JSON tells each SA's transport state and TCP role. */
TEST(status_shows_the_transport)
{
	struct net *n = net_new("transport = separate");
	struct buf out = BUF_INIT;
	int depth = 0;

	initiate(n);
	pump(n);
	ASSERT_EQ(0, engine_status(A->e, true, &out));
	ASSERT_EQ(0, buf_put_u8(&out, 0));
	EXPECT_NE(NULL, strstr((char *)out.data, "\"xport_state\":\"separate\",\"tcp_link\":\"up\""));
	EXPECT_NE(NULL, strstr((char *)out.data, "\"separate\":true,\"esp_in_tcp\":false,"
			       "\"tcp_fallback\":false,\"tcp_originator\":true"));
	for (const char *p = (char *)out.data; *p; p++)
		depth += (*p == '{' || *p == '[') - (*p == '}' || *p == ']');
	EXPECT_EQ(0, depth);
	buf_free(&out);
	ASSERT_EQ(0, engine_status(B->e, true, &out));
	ASSERT_EQ(0, buf_put_u8(&out, 0));
	EXPECT_NE(NULL, strstr((char *)out.data, "\"xport_state\":\"separate\",\"tcp_link\":\"peer\""));
	buf_free(&out);
	net_free(n);
}

/* RFC 7296 §2.6, RFC 9329 §6.3 (TCP-29): the responder wants a cookie
 * (over TCP with a puzzle, then it closes the connection); every
 * transport retries with it, over TCP on a new connection. */
SCENARIO(cookies_on_every_transport)
{
	static const char *const modes[] = {
		"transport = udp", "transport = auto", "transport = separate",
		"transport = tcp", "transport = separate-tcp-first",
	};
	static const unsigned int conns[] = { 0, 0, 1, 2, 2 };
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct net *n = net_new(modes[i]);

		B->cfg->daemon.cookie_threshold = 0;
		B->cfg->daemon.tcp_puzzle_difficulty = 4;
		bring_up(_metadata, n);
		EXPECT_EQ(1, B->e->st.cookies_sent);
		EXPECT_EQ(1, B->e->st.cookies_ok);
		EXPECT_EQ(conns[i], n->connects);
		if (i >= 3)
			EXPECT_EQ(1, B->e->st.puzzles_solved);
		net_free(n);
	}
}

/* TCP-19, TCP-28: the originator reconnects and resends; the responder
 * waits, and its own request goes out on the new connection. */
SCENARIO(tcp_reconnect)
{
	struct net *n = net_new("transport = tcp");
	struct tconn *t;

	bring_up(_metadata, n);
	t = live_conn(n, A);
	ASSERT_NE(NULL, t);
	tconn_cut(t, -ECONNRESET);
	EXPECT_EQ(XL_DOWN, sa_a(n)->x.link);
	EXPECT_EQ(XL_PEER_LOST, sa_b(n)->x.link);
	pump(n);
	/* ESP is in the stream: the originator reconnects at once and says
	 * where it is with a liveness check. */
	EXPECT_EQ(2, n->connects);
	EXPECT_EQ(XL_UP, sa_a(n)->x.link);
	EXPECT_EQ(XL_PEER, sa_b(n)->x.link);
	/* Again, with b wanting to rekey while no connection is up: b waits
	 * (it is not the originator), a's next message brings the
	 * connection, b's request follows on it. */
	tconn_cut(live_conn(n, A), -ECONNRESET);
	rekey(B, true);
	EXPECT_EQ(2, n->connects);
	EXPECT_EQ(XL_PEER_LOST, sa_b(n)->x.link);
	pump(n);
	EXPECT_EQ(3, n->connects);
	one_of_each(_metadata, n);
	EXPECT_EQ(1, sa_b(n)->children->rekeys);
	/* The responder misses the close (a lost FIN, a NAT that forgot
	 * the connection); the originator's new connection
	 * takes over all the same (TCP-26, TCP-27). */
	tconn_cut_one(live_conn(n, A), -ECONNRESET);
	EXPECT_EQ(XL_PEER, sa_b(n)->x.link);
	pump(n);
	EXPECT_EQ(4, n->connects);
	EXPECT_EQ(sa_b(n)->path.conn, live_conn(n, A)->other->c);
	/* Reconnecting fails for a while: the originator tries again later. */
	tconn_cut(live_conn(n, A), -ECONNRESET);
	n->block_tcp = true;
	pump(n);
	EXPECT_EQ(5, n->connects);
	EXPECT_EQ(XL_DOWN, sa_a(n)->x.link);
	n->block_tcp = false;
	elapse(n, 1100);		/* the backoff after one failure: 1 s */
	EXPECT_EQ(6, n->connects);
	EXPECT_EQ(XL_UP, sa_a(n)->x.link);
	one_of_each(_metadata, n);
	net_free(n);
}

/* TCP-1: the originator keeps its role when the responder rekeys the IKE
 * SA; the connection is handed over, not reopened. */
SCENARIO(tcp_originator_kept_across_rekey)
{
	struct net *n = net_new("transport = separate");

	initiate(n);
	pump(n);
	rekey(B, false);
	pump(n);
	one_of_each(_metadata, n);
	EXPECT_EQ(1, sa_a(n)->rekeys);
	EXPECT_FALSE(sa_a(n)->initiator);	/* b made the new SA ... */
	EXPECT_EQ(XL_UP, sa_a(n)->x.link);	/* ... a still opens TCP */
	EXPECT_EQ(XL_PEER, sa_b(n)->x.link);
	EXPECT_EQ(XS_SEP, sa_a(n)->x.state);
	EXPECT_EQ(1, n->connects);
	net_free(n);
}

/* TCP-18: the originator closes the connection when its IKE SA ends with
 * no successor; a rekey hands it on instead. */
SCENARIO(tcp_closed_when_the_sa_ends)
{
	struct net *n = net_new("transport = tcp");
	struct buf out = BUF_INIT;
	struct tcp_conn *c;

	initiate(n);
	pump(n);
	rekey(A, false);
	pump(n);
	one_of_each(_metadata, n);
	ASSERT_NE(NULL, live_conn(n, A));
	c = live_conn(n, A)->c;
	EXPECT_EQ(c, sa_a(n)->path.conn);	/* the rekeyed SA kept it */
	engine_terminate(A->e, "c", &out);
	buf_free(&out);
	pump(n);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(0, count_all(B));
	EXPECT_TRUE(c->dead);
	EXPECT_EQ(NULL, live_conn(n, A));
	EXPECT_EQ(NULL, live_conn(n, B));
	EXPECT_EQ(1, n->connects);
	net_free(n);
}

/* --- the ESP reachability probe (RT-24..28) with a pretend kernel ---------------------- */

/* The none backend, but counting inbound ESP as the test says and
 * claiming to be the module, so the probe runs and ESP may move between
 * IP and UDP 4500 in place. */
static uint64_t esp_in[2];
static unsigned int stats_calls[2];
static struct kbackend *probe_kb[2];
static struct kbackend_ops pretend_ops;

static int pretend_stats(struct kbackend *kb, const struct sockaddr_storage *dst,
			 uint32_t spi, struct kb_stats *st)
{
	int i = kb == probe_kb[1];

	(void)dst;
	(void)spi;
	stats_calls[i]++;
	memset(st, 0, sizeof(*st));
	st->packets = esp_in[i];
	return 0;
}

static struct net *probe_net(const char *extra)
{
	char conf[256];
	struct net *n;
	int i;

	/* a key set twice is an error: extra's replaces the default */
	snprintf(conf, sizeof(conf), "transport = separate-tcp-first\n%s%s %s",
		 extra && strstr(extra, "esp_probe_delay") ? "" : " esp_probe_delay = 500ms\n",
		 extra && strstr(extra, "esp_probe_timeout") ? "" : " esp_probe_timeout = 2s\n",
		 extra ? extra : "");
	n = net_new(conf);
	if (!n)
		return NULL;
	pretend_ops = *n->p[0].kb->ops;
	pretend_ops.sa_stats = pretend_stats;
	for (i = 0; i < 2; i++) {
		esp_in[i] = 0;
		stats_calls[i] = 0;
		probe_kb[i] = n->p[i].kb;
		n->p[i].kb->ops = &pretend_ops;
		n->p[i].kb->kind = KB_MODULE;
	}
	return n;
}

/* ESP comes back on IP at once (RT-24, RT-28); the responder's answering
 * window closes with nothing to answer. */
SCENARIO(probe_answered_on_ip)
{
	struct net *n = probe_net(NULL);

	bring_up(_metadata, n);
	EXPECT_EQ(XS_SEP_PROBE, sa_a(n)->x.state);
	EXPECT_EQ(PROBE_RUNNING, ike_probe(sa_a(n))->state);
	esp_in[0] = 1;
	elapse(n, 200);
	EXPECT_EQ(XS_SEP, sa_a(n)->x.state);
	EXPECT_EQ(PROBE_OK, ike_probe(sa_a(n))->state);
	EXPECT_EQ(XS_SEP_PROBE, sa_b(n)->x.state);
	elapse(n, 4100);
	EXPECT_EQ(XS_SEP, sa_b(n)->x.state);
	EXPECT_EQ(PROBE_SKIPPED, ike_probe(sa_b(n))->state);
	net_free(n);
}

/* Nothing on IP: both ends move ESP to UDP 4500 (RT-27), which answers
 * (RT-28); the Child SAs stay encapsulated. */
SCENARIO(probe_moves_to_udp)
{
	struct net *n = probe_net(NULL);

	initiate(n);
	pump(n);
	elapse(n, 700);
	EXPECT_EQ(XS_SEP_PROBE_UDP, sa_a(n)->x.state);
	EXPECT_EQ(XS_SEP_PROBE_UDP, sa_b(n)->x.state);
	EXPECT_TRUE(sa_a(n)->children->encap);
	EXPECT_TRUE(sa_b(n)->children->encap);
	esp_transport_start(sa_a(n));	/* asked again: nothing moves */
	pump(n);
	EXPECT_EQ(XS_SEP_PROBE_UDP, sa_a(n)->x.state);
	EXPECT_EQ(XS_SEP_PROBE_UDP, sa_b(n)->x.state);
	esp_in[0] = 1;
	esp_in[1] = 1;
	elapse(n, 300);
	EXPECT_EQ(XS_SEP_UDP, sa_a(n)->x.state);
	elapse(n, 4100);
	EXPECT_EQ(XS_SEP_UDP, sa_b(n)->x.state);
	/* b could not send an answer (no address of this host in its
	 * selectors): its window closed unanswered. */
	EXPECT_EQ(PROBE_SKIPPED, ike_probe(sa_b(n))->state);
	/* A Child SA made now is encapsulated too. */
	rekey(A, true);
	pump(n);
	EXPECT_TRUE(sa_a(n)->children->encap);
	one_of_each(_metadata, n);
	net_free(n);
}

/* Nothing anywhere: the IKE SA is deleted and built again over TCP
 * without the notify, ESP inside (RT-25), from the loop after the old one
 * is gone. */
static void probe_fails(struct __test_metadata *_metadata, const char *extra,
			enum xport_state before)
{
	struct net *n = probe_net(extra);
	uint64_t old;

	initiate(n);
	pump(n);
	old = sa_a(n)->id;
	elapse(n, 1500);
	EXPECT_EQ(before, sa_a(n)->x.state);
	for (;;) {
		now_ms += 100;
		timers(n);
		ASSERT_NE(NULL, A->e->all);
		if (A->e->all->x.state == XS_REBUILD)
			break;
		while (deliver(n))
			;
	}
	/* The Delete went and was answered: the old SA is gone, and
	 * ike_sa_destroy() started nothing; the new one comes from the loop. */
	while (deliver(n))
		;
	EXPECT_EQ(0, count_all(A));
	EXPECT_NE(NULL, A->e->later);
	timers(n);
	EXPECT_EQ(1, count_all(A));
	pump(n);
	ASSERT_EQ(1, count_all(A));
	EXPECT_NE(old, sa_a(n)->id);
	EXPECT_EQ(XO_REBUILD, sa_a(n)->x.origin);
	EXPECT_EQ(XS_TCP, sa_a(n)->x.state);
	EXPECT_EQ(XS_TCP, sa_b(n)->x.state);
	EXPECT_TRUE(sa_a(n)->children->esp_tcp);
	EXPECT_EQ(1, A->e->st.esp_probes_failed);
	one_of_each(_metadata, n);
	net_free(n);
}

SCENARIO(probe_fails_on_ip)
{
	probe_fails(_metadata, "esp_probe_delay = 10s", XS_SEP_PROBE);
}

SCENARIO(probe_fails_in_udp)
{
	probe_fails(_metadata, NULL, XS_SEP_PROBE_UDP);
}

/* The move's answer comes after the probe gave up: followed until the
 * Delete. */
SCENARIO(probe_move_answered_late)
{
	struct net *n = probe_net("esp_probe_timeout = 1s");

	initiate(n);
	pump(n);
	while (now_ms += 100, timers(n), !n->head)
		;
	ASSERT_EQ(IKEV2_EXCH_INFORMATIONAL, head_exch(n));
	now_ms += 600;
	timers(n);
	EXPECT_EQ(XS_REBUILD, sa_a(n)->x.state);
	pump(n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(XO_REBUILD, sa_a(n)->x.origin);
	one_of_each(_metadata, n);
	net_free(n);
}

/* The IKE SA is rekeyed while the probe runs: the new SA does not probe. */
static void probe_rekeyed(struct __test_metadata *_metadata, uint64_t after)
{
	struct net *n = probe_net(NULL);

	initiate(n);
	pump(n);
	elapse(n, after);
	rekey(A, false);
	pump(n);
	one_of_each(_metadata, n);
	EXPECT_EQ(PROBE_SKIPPED, ike_probe(sa_a(n))->state);
	EXPECT_FALSE(xport_state_probing(sa_a(n)->x.state));
	EXPECT_FALSE(xport_state_probing(sa_b(n)->x.state));
	net_free(n);
}

SCENARIO(probe_rekeyed_on_ip)
{
	probe_rekeyed(_metadata, 0);
}

SCENARIO(probe_rekeyed_in_udp)
{
	probe_rekeyed(_metadata, 700);
}

/* A peer asks to have ESP back on IP (our private notify with 0). */
static void ask_esp_ip(struct net *n)
{
	struct buf in = BUF_INIT;
	struct ike_builder bld;
	uint8_t zero = 0;

	chain_begin(&bld, &in);
	ike_put_notify(&bld, 0, NULL, 0, A->cfg->daemon.esp_transport_notify, &zero, 1);
	ike_send_request(sa_a(n), TASK_ESP_TRANSPORT, IKEV2_EXCH_INFORMATIONAL, &bld);
	buf_free(&in);
	pump(n);
}

SCENARIO(esp_back_on_ip)
{
	struct net *n = probe_net(NULL);

	initiate(n);
	pump(n);
	elapse(n, 700);
	EXPECT_EQ(XS_SEP_PROBE_UDP, sa_b(n)->x.state);
	ask_esp_ip(n);
	EXPECT_EQ(XS_SEP_PROBE, sa_b(n)->x.state);
	EXPECT_FALSE(sa_b(n)->children->encap);
	ask_esp_ip(n);			/* already there */
	EXPECT_EQ(XS_SEP_PROBE, sa_b(n)->x.state);
	esp_in[0] = esp_in[1] = 5;
	elapse(n, 4500);
	EXPECT_EQ(XS_SEP, sa_b(n)->x.state);
	ask_esp_ip(n);
	EXPECT_EQ(XS_SEP, sa_b(n)->x.state);
	net_free(n);
}

/* A peer moves ESP to UDP after the probe (the responder's window closed). */
SCENARIO(esp_to_udp_after_probe)
{
	struct net *n = probe_net("esp_probe_delay = 10s");

	initiate(n);
	pump(n);
	esp_in[0] = 1;
	elapse(n, 4500);
	EXPECT_EQ(XS_SEP, sa_b(n)->x.state);
	esp_transport_start(sa_a(n));
	pump(n);
	EXPECT_EQ(XS_SEP_UDP, sa_b(n)->x.state);
	EXPECT_EQ(XS_SEP_UDP, sa_a(n)->x.state);
	esp_transport_start(sa_a(n));	/* again: nothing moves */
	pump(n);
	EXPECT_EQ(XS_SEP_UDP, sa_b(n)->x.state);
	ask_esp_ip(n);
	EXPECT_EQ(XS_SEP, sa_b(n)->x.state);
	net_free(n);
}

/* --- the probe on the module's reachability events (reach_set) ------------------ */

/* The watches each end has set, as the module keeps them: one per
 * outbound SA, set again in place, removed by timeout 0. */
struct pretend_watch {
	struct sockaddr_storage dst;
	uint32_t spi, pair, timeout;
};

#define PRETEND_WATCHES 4
static struct pretend_watch watches[2][PRETEND_WATCHES];
static unsigned int reach_calls[2];
static bool reach_refused;	/* the module says no to every watch */

static int pretend_reach_set(struct kbackend *kb, const struct sockaddr_storage *dst,
			     uint32_t spi, uint32_t pair_spi, uint32_t timeout_s)
{
	struct pretend_watch *w = watches[kb == probe_kb[1]], *free_w = NULL;
	int i;

	reach_calls[kb == probe_kb[1]]++;
	if (reach_refused && timeout_s)
		return -EINVAL;
	for (i = 0; i < PRETEND_WATCHES; i++) {
		if (!w[i].timeout) {
			free_w = free_w ?: &w[i];
			continue;
		}
		if (w[i].spi == spi && addr_eq(&w[i].dst, dst))
			break;
	}
	if (!timeout_s) {
		if (i == PRETEND_WATCHES)
			return -ENOENT;		/* no reachability watch on this SA */
		w[i].timeout = 0;
		return 0;
	}
	if (i == PRETEND_WATCHES && !free_w)
		return -ENOSPC;
	if (i == PRETEND_WATCHES)
		w = free_w;
	else
		w = &w[i];
	w->dst = *dst;
	w->spi = spi;
	w->pair = pair_spi;
	w->timeout = timeout_s;
	return 0;
}

static int watches_live(int side)
{
	int i, k = 0;

	for (i = 0; i < PRETEND_WATCHES; i++)
		k += watches[side][i].timeout != 0;
	return k;
}

/* The one live watch of a side (NULL when not exactly one). */
static const struct pretend_watch *watch_of(int side)
{
	int i;

	if (watches_live(side) != 1)
		return NULL;
	for (i = 0; !watches[side][i].timeout; i++)
		;
	return &watches[side][i];
}

/* probe_net with a backend that has reach_set: the module as the probe
 * sees it. */
static struct net *probe_watch_net(const char *extra)
{
	struct net *n = probe_net(extra);

	pretend_ops.reach_set = pretend_reach_set;
	memset(watches, 0, sizeof(watches));
	memset(reach_calls, 0, sizeof(reach_calls));
	reach_refused = false;
	return n;
}

/* The module's reachability event for c (outbound SA, its inbound pair),
 * up or down, at side's engine. */
static void reach_event(struct net *n, int side, const struct child_sa *c, bool up)
{
	struct kb_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = KB_EV_REACH;
	ev.spi = c->spi_out;
	addr_ip_ss(&c->addr_remote, &ev.dst);
	ev.pair_spi = c->spi_in;
	ev.up = up;
	engine_kernel_event(n->p[side].e, &ev);
}

static void expect_watch_on(struct __test_metadata *_metadata, int side,
			    const struct child_sa *c, uint32_t timeout)
{
	const struct pretend_watch *w = watch_of(side);

	ASSERT_NE(NULL, w);
	EXPECT_EQ(c->spi_out, w->spi);
	EXPECT_EQ(c->spi_in, w->pair);
	EXPECT_TRUE(addr_ip_is(&c->addr_remote, &w->dst));
	EXPECT_EQ(timeout, w->timeout);
}

/* Both ends watch their Child SA (a for esp_probe_delay rounded up to a
 * second, b for 1 s) and read no counter while the probe runs, though the
 * counters say ESP came in; b answers an up and watches again; a's up is
 * the confirmation, and each watch is removed when its side is done. */
SCENARIO(probe_watch_confirms_on_up)
{
	struct net *n = probe_watch_net(NULL);
	unsigned int polled, b_calls;

	bring_up(_metadata, n);
	ASSERT_EQ(PROBE_RUNNING, ike_probe(sa_a(n))->state);
	expect_watch_on(_metadata, 0, sa_a(n)->children, 1);
	expect_watch_on(_metadata, 1, sa_b(n)->children, 1);
	polled = stats_calls[0] + stats_calls[1];
	esp_in[0] = esp_in[1] = 1;
	elapse(n, 300);
	EXPECT_EQ(polled, stats_calls[0] + stats_calls[1]);
	EXPECT_EQ(PROBE_RUNNING, ike_probe(sa_a(n))->state);
	EXPECT_EQ(XS_SEP_PROBE, sa_a(n)->x.state);
	/* the probe reached b: b answers and starts its watch over */
	b_calls = reach_calls[1];
	reach_event(n, 1, sa_b(n)->children, true);
	EXPECT_EQ(b_calls + 1, reach_calls[1]);
	expect_watch_on(_metadata, 1, sa_b(n)->children, 1);
	reach_event(n, 0, sa_a(n)->children, true);
	EXPECT_EQ(PROBE_OK, ike_probe(sa_a(n))->state);
	EXPECT_EQ(XS_SEP, sa_a(n)->x.state);
	EXPECT_EQ(0, watches_live(0));
	/* b's answering window closes (2 x esp_probe_timeout) */
	elapse(n, 4200);
	EXPECT_FALSE(xport_state_probing(sa_b(n)->x.state));
	EXPECT_EQ(0, watches_live(1));
	EXPECT_EQ(polled, stats_calls[0] + stats_calls[1]);
	net_free(n);
}

/* A down on IP moves both ends to UDP 4500 at once (long before
 * esp_probe_delay); both watches start over there, and the up in UDP
 * confirms it. */
SCENARIO(probe_watch_down_moves_to_udp)
{
	struct net *n = probe_watch_net("esp_probe_delay = 3s\n esp_probe_timeout = 8s\n");
	unsigned int polled, a_calls, b_calls;

	initiate(n);
	pump(n);
	ASSERT_EQ(PROBE_RUNNING, ike_probe(sa_a(n))->state);
	expect_watch_on(_metadata, 0, sa_a(n)->children, 3);
	polled = stats_calls[0] + stats_calls[1];
	elapse(n, 1000);
	EXPECT_EQ(XS_SEP_PROBE, sa_a(n)->x.state);
	a_calls = reach_calls[0];
	b_calls = reach_calls[1];
	reach_event(n, 0, sa_a(n)->children, false);
	pump(n);
	EXPECT_EQ(XS_SEP_PROBE_UDP, sa_a(n)->x.state);
	EXPECT_EQ(XS_SEP_PROBE_UDP, sa_b(n)->x.state);
	EXPECT_TRUE(sa_a(n)->children->encap);
	EXPECT_TRUE(sa_b(n)->children->encap);
	EXPECT_LT(a_calls, reach_calls[0]);
	EXPECT_LT(b_calls, reach_calls[1]);
	expect_watch_on(_metadata, 0, sa_a(n)->children, 3);
	expect_watch_on(_metadata, 1, sa_b(n)->children, 1);
	/* a second down in UDP changes nothing: the timeout decides */
	reach_event(n, 0, sa_a(n)->children, false);
	pump(n);
	EXPECT_EQ(PROBE_RUNNING, ike_probe(sa_a(n))->state);
	esp_in[0] = esp_in[1] = 1;
	elapse(n, 500);
	EXPECT_EQ(PROBE_RUNNING, ike_probe(sa_a(n))->state);
	reach_event(n, 0, sa_a(n)->children, true);
	EXPECT_EQ(PROBE_OK, ike_probe(sa_a(n))->state);
	EXPECT_EQ(XS_SEP_UDP, sa_a(n)->x.state);
	EXPECT_TRUE(ike_probe(sa_a(n))->udp);
	EXPECT_EQ(0, watches_live(0));
	EXPECT_EQ(polled, stats_calls[0] + stats_calls[1]);
	net_free(n);
}

/* The watch follows a rekeyed Child SA (the old one's removed, no other
 * Child SA watched), an event on an SA that is not watched changes
 * nothing, and when the probe fails both watches go with their IKE SAs;
 * the rebuilt one (ESP in TCP) sets none. */
SCENARIO(probe_watch_follows_rekey)
{
	struct net *n = probe_watch_net("esp_probe_delay = 2001ms\n esp_probe_timeout = 4s\n");
	uint64_t end = now_ms + 20000;
	struct child_sa old;

	initiate(n);
	pump(n);
	ASSERT_EQ(PROBE_RUNNING, ike_probe(sa_a(n))->state);
	old = *sa_a(n)->children;
	rekey(A, true);
	pump(n);
	elapse(n, 200);
	ASSERT_NE(old.spi_in, sa_a(n)->children->spi_in);
	expect_watch_on(_metadata, 0, sa_a(n)->children, 3);	/* 2001 ms rounded up */
	expect_watch_on(_metadata, 1, sa_b(n)->children, 1);
	/* the old pair is no Child SA any more: nothing happens */
	reach_event(n, 0, &old, true);
	EXPECT_EQ(PROBE_RUNNING, ike_probe(sa_a(n))->state);
	while (!A->e->st.esp_probes_failed && now_ms < end)
		elapse(n, 100);
	EXPECT_EQ(1, A->e->st.esp_probes_failed);
	EXPECT_EQ(0, watches_live(0));
	pump(n);
	elapse(n, 1000);
	one_of_each(_metadata, n);
	EXPECT_EQ(XS_TCP, sa_a(n)->x.state);
	EXPECT_EQ(0, watches_live(0));
	EXPECT_EQ(0, watches_live(1));
	net_free(n);
}

/* A watch the module refuses: the probe reads the counters, as with the
 * backends that have no watches. */
TEST(probe_watch_refused_reads_counters)
{
	struct net *n = probe_watch_net(NULL);

	reach_refused = true;
	bring_up(_metadata, n);
	ASSERT_EQ(PROBE_RUNNING, ike_probe(sa_a(n))->state);
	EXPECT_LE(1, reach_calls[0]);
	EXPECT_EQ(0, watches_live(0));
	esp_in[0] = 1;
	elapse(n, 200);
	EXPECT_EQ(PROBE_OK, ike_probe(sa_a(n))->state);
	EXPECT_EQ(XS_SEP, sa_a(n)->x.state);
	net_free(n);
}

typedef void (*scenario_fn)(struct __test_metadata *_metadata);

/* Rows only a peer other than tcpiked makes us take (the peer opening a
 * TCP connection to its initiator; ESP moved back to IP during a rebuild);
 * test_xport walks them on the table. */
static bool unreachable_row(bool link, size_t i)
{
	const struct xport_rule *r = link ? &xport_link_rules[i] : &xport_rules[i];

	if (link)
		return r->ev == XLE_PEER_CONN &&
		       (r->from == XL_CONNECTING || r->from == XL_UP || r->from == XL_DOWN);
	return r->from == XS_REBUILD && r->ev == XE_ESP_IP;
}

TEST(every_transition_by_exchanges)
{
	static const scenario_fn all[] = {
		sc_tcp_rfc9329, sc_auto_udp_answers, sc_auto_races_tcp_when_udp_is_blocked,
		sc_auto_race_udp_answers_first, sc_auto_race_tcp_answers_first,
		sc_auto_race_tcp_refused, sc_auto_race_with_cookies,
		sc_separate_moves_ike_to_tcp, sc_separate_udp_message_does_not_move_ike,
		sc_separate_not_echoed_stays_udp, sc_separate_tcp_blocked_retries_over_udp,
		sc_separate_preconnects_beside_init,
		sc_separate_preconnect_refused_not_echoed,
		sc_separate_preconnection_closed_before_the_echo,
		sc_separate_auth_connection_breaks, sc_tcp_first_auth_connection_breaks,
		sc_tcp_unreachable, sc_tcp_first_unreachable,
		sc_separate_udp_blocked_goes_tcp_first, sc_tcp_first_not_echoed_is_rfc9329,
		sc_separate_race_udp_answers_first, sc_separate_race_tcp_answers_first,
		sc_separate_race_udp_not_echoed, sc_separate_race_with_cookies,
		sc_cookies_on_every_transport, sc_tcp_reconnect,
		sc_tcp_originator_kept_across_rekey, sc_tcp_closed_when_the_sa_ends,
		sc_probe_answered_on_ip,
		sc_probe_moves_to_udp, sc_probe_fails_on_ip, sc_probe_fails_in_udp,
		sc_probe_move_answered_late, sc_probe_rekeyed_on_ip, sc_probe_rekeyed_in_udp,
		sc_esp_back_on_ip, sc_esp_to_udp_after_probe,
		sc_probe_watch_confirms_on_up, sc_probe_watch_down_moves_to_udp,
		sc_probe_watch_follows_rekey,
	};
	size_t i;
	int link;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		all[i](_metadata);
	/* The plain UDP rows come with the setups above. */
	sc_udp_setup_again(_metadata);
	for (link = 0; link < 2; link++) {
		size_t nr = link ? xport_n_link_rules : xport_n_rules;

		for (i = 0; i < nr; i++) {
			const struct xport_rule *r = link ? &xport_link_rules[i] : &xport_rules[i];
			bool hit = xport_rule_hits(link, i) > 0;

			if (unreachable_row(link, i)) {
				EXPECT_FALSE(hit);
				continue;
			}
			if (!hit)
				TH_LOG("%s row %zu (%s + %s, %s) not taken by any exchange",
				       link ? "link" : "mode", i,
				       link ? xport_link_name(r->from) : xport_state_name(r->from),
				       link ? xport_link_event_name(r->ev) : xport_event_name(r->ev),
				       r->cite);
			EXPECT_TRUE(hit);
		}
	}
}

/* --- a gateway that stays up: keyingtries, dpd_action, close_action,
 *     AUTHENTICATION_FAILED after IKE_AUTH ------------------------------------------- */

static const struct conn_retry *retry_of(struct peer *p)
{
	return p->e->retries;
}

/* keyingtries = 0 (the default): a peer that does not answer is tried again
 * after 1 s, 2 s, ... for as long as it takes. */
TEST(keyingtries_forever_with_backoff)
{
	struct net *n = net_new(NULL);

	n->block_udp = true;
	initiate(n);
	/* retransmit_tries = 3: 1 + 2 + 4 + 8 s, then attempt 2 one second on */
	elapse(n, 15000);
	EXPECT_EQ(0, count_all(A));
	ASSERT_NE(NULL, retry_of(A));
	elapse(n, 1000);
	ASSERT_EQ(1, count_sa(A, IKE_S_INIT_SENT));
	EXPECT_EQ(2, A->e->all->keying_attempt);
	EXPECT_EQ(NULL, retry_of(A));
	elapse(n, 15000);
	EXPECT_EQ(0, count_all(A));
	/* attempt 3 waits 2 s */
	elapse(n, 1000);
	EXPECT_EQ(0, count_all(A));
	elapse(n, 1000);
	ASSERT_EQ(1, count_sa(A, IKE_S_INIT_SENT));
	EXPECT_EQ(3, A->e->all->keying_attempt);
	n->block_udp = false;
	elapse(n, 2000);
	established(_metadata, n);
	EXPECT_EQ(NULL, retry_of(A));
	net_free(n);
}

/* keyingtries: a TCP connection refused or reset before IKE_SA_INIT is
 * answered (transport = tcp) is a failed attempt like an unanswered one:
 * tried again after 1 s (netns 48: the legitimate peer, displaced by a
 * flood from its own address, gave up at once). */
TEST(keyingtries_after_tcp_failure)
{
	struct net *n = net_new("transport = tcp");

	n->block_tcp = true;
	initiate(n);
	pump(n);
	EXPECT_EQ(0, count_all(A));
	ASSERT_NE(NULL, retry_of(A));
	n->block_tcp = false;
	elapse(n, 1000);
	EXPECT_EQ(NULL, retry_of(A));
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XS_TCP, sa_a(n)->x.state);
	net_free(n);
}

TEST(keyingtries_gives_up)
{
	struct net *n = net_new("keyingtries = 2");
	struct buf out = BUF_INIT;

	n->block_udp = true;
	initiate(n);
	elapse(n, 16000);
	ASSERT_EQ(1, count_sa(A, IKE_S_INIT_SENT));
	elapse(n, 60000);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(NULL, retry_of(A));
	/* terminate cancels a retry that is due */
	net_free(n);
	n = net_new(NULL);
	n->block_udp = true;
	initiate(n);
	elapse(n, 15000);
	ASSERT_NE(NULL, retry_of(A));
	EXPECT_EQ(0, engine_terminate(A->e, "c", &out));
	EXPECT_EQ(NULL, retry_of(A));
	elapse(n, 5000);
	EXPECT_EQ(0, count_all(A));
	buf_free(&out);
	net_free(n);
}

/* dpd_action = restart: a request of an established SA goes unanswered;
 * the SA goes and the connection is initiated again, with INITIAL_CONTACT
 * so b drops what it still holds. */
TEST(dpd_action_restart)
{
	struct net *n = net_new("dpd_action = restart");

	bring_up(_metadata, n);
	n->block_udp = true;
	rekey(A, true);
	elapse(n, 15000);
	EXPECT_EQ(1, count_sa(A, IKE_S_INIT_SENT));
	n->block_udp = false;
	elapse(n, 2000);
	established(_metadata, n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(1, count_all(B));
	net_free(n);

	/* clear (the default): gone, and nothing more */
	n = net_new(NULL);
	initiate(n);
	pump(n);
	n->block_udp = true;
	rekey(A, true);
	elapse(n, 30000);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(NULL, retry_of(A));
	net_free(n);
}

static void delete_child(struct peer *p)
{
	struct ike_sa *sa = first_sa(p, IKE_S_ESTABLISHED);

	sa->children->pending |= CHILD_PEND_DELETE;
	ike_kick(sa);
}

/* close_action = restart: the peer deletes the IKE SA (or a Child SA) and
 * the connection (the Child SA) comes back; the peer initiating first
 * makes our restart unneeded. */
TEST(close_action_restart)
{
	struct net *n = net_new("close_action = restart");
	struct buf out = BUF_INIT;
	uint32_t spi;

	bring_up(_metadata, n);
	engine_terminate(B->e, "c", &out);
	pump(n);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(0, count_all(B));
	ASSERT_NE(NULL, retry_of(A));
	EXPECT_EQ(NULL, retry_of(B));	/* b deleted it: nothing for b */
	elapse(n, 2000);
	established(_metadata, n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(1, count_all(B));

	/* b deletes it and initiates itself at once: a only answers */
	engine_terminate(B->e, "c", &out);
	pump(n);
	engine_initiate(B->e, "c", &out);
	pump(n);
	elapse(n, 3000);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(1, count_all(B));
	EXPECT_FALSE(first_sa(A, IKE_S_ESTABLISHED)->initiator);

	/* a Child SA deleted by b comes back on the same IKE SA */
	spi = first_sa(A, IKE_S_ESTABLISHED)->children->spi_in;
	delete_child(B);
	pump(n);
	ASSERT_EQ(1, count_children(first_sa(A, IKE_S_ESTABLISHED)));
	EXPECT_NE(spi, first_sa(A, IKE_S_ESTABLISHED)->children->spi_in);
	EXPECT_TRUE(children_paired(first_sa(A, IKE_S_ESTABLISHED), first_sa(B, IKE_S_ESTABLISHED)));
	buf_free(&out);
	net_free(n);

	/* clear: nothing comes back */
	n = net_new(NULL);
	initiate(n);
	pump(n);
	delete_child(B);
	pump(n);
	EXPECT_EQ(0, count_children(first_sa(A, IKE_S_ESTABLISHED)));
	engine_terminate(B->e, "c", &out);
	elapse(n, 5000);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(NULL, retry_of(A));
	buf_free(&out);
	net_free(n);
}

/* A request of exchange type exch from sa as its next one (in place of
 * any outstanding), with one notify of type notify (0: empty). */
static void send_request(struct ike_sa *sa, uint8_t exch, uint16_t notify)
{
	struct buf in = BUF_INIT;
	struct ike_builder bld;

	chain_begin(&bld, &in);
	if (notify)
		ike_put_notify(&bld, 0, NULL, 0, notify, NULL, 0);
	ike_send_request(sa, TASK_DPD, exch, &bld);
	buf_free(&in);
}

static void send_auth_failed(struct ike_sa *sa)
{
	send_request(sa, IKEV2_EXCH_INFORMATIONAL, IKEV2_N_AUTHENTICATION_FAILED);
}

/*
 * Each exchange type's requests are taken in their state only (the core's
 * table of exchanges, struct exch_ops): a responder's half-open SA takes
 * IKE_AUTH and nothing else, an established one anything but IKE_AUTH, and
 * a type no exchange handles is dropped.  Dropped means unanswered, the
 * message ID window where it was.
 */
TEST(requests_taken_only_in_their_exchange_state)
{
	static const uint8_t not_yet[] = { IKEV2_EXCH_CREATE_CHILD_SA, IKEV2_EXCH_INFORMATIONAL };
	struct net *n = net_new(NULL);
	struct ike_sa *a, *b;

	initiate(n);
	deliver(n);		/* IKE_SA_INIT */
	deliver(n);		/* its response: a's IKE_AUTH goes */
	ASSERT_EQ(IKEV2_EXCH_IKE_AUTH, head_exch(n));
	drop(n);
	a = first_sa(A, IKE_S_AUTH_SENT);
	b = first_sa(B, IKE_S_HALF_OPEN);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	for (unsigned int i = 0; i < sizeof(not_yet); i++) {
		send_request(a, not_yet[i], 0);
		ASSERT_EQ(1, queued(n));
		deliver(n);
		EXPECT_EQ(0, queued(n)) TH_LOG("exchange %u answered half-open", not_yet[i]);
		EXPECT_EQ(1, b->peer_msgid);
		EXPECT_EQ(IKE_S_HALF_OPEN, b->state);
	}
	net_free(n);

	n = net_new(NULL);
	bring_up(_metadata, n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	b = first_sa(B, IKE_S_ESTABLISHED);
	for (unsigned int exch = IKEV2_EXCH_IKE_AUTH; exch <= 45; exch += 45 - IKEV2_EXCH_IKE_AUTH) {
		uint32_t msgid = b->peer_msgid;

		send_request(a, (uint8_t)exch, 0);
		ASSERT_EQ(1, queued(n));
		deliver(n);
		EXPECT_EQ(0, queued(n)) TH_LOG("exchange %u answered when established", exch);
		EXPECT_EQ(msgid, b->peer_msgid);
		EXPECT_EQ(IKE_S_ESTABLISHED, b->state);
	}
	/* what is taken there is answered */
	send_request(a, IKEV2_EXCH_INFORMATIONAL, 0);
	deliver(n);
	EXPECT_EQ(1, queued(n));
	EXPECT_TRUE(head_response(n));
	net_free(n);
}

/* RFC 7296 §2.21.2: the initiator's AUTHENTICATION_FAILED in its first
 * request after IKE_AUTH ends the responder's IKE SA and Child SA at once;
 * the same notify later means nothing. */
TEST(authentication_failed_after_ike_auth)
{
	struct net *n = net_new(NULL);

	bring_up(_metadata, n);
	send_auth_failed(first_sa(A, IKE_S_ESTABLISHED));
	pump(n);
	EXPECT_EQ(0, count_all(B));
	EXPECT_EQ(0, kernel_sas(B));
	EXPECT_EQ(0, kernel_policies(B));
	EXPECT_EQ(1, B->e->st.ike_failed);
	net_free(n);

	n = net_new(NULL);
	initiate(n);
	pump(n);
	A->e->all->pending |= PEND_DPD;
	ike_kick(A->e->all);
	pump(n);
	send_auth_failed(first_sa(A, IKE_S_ESTABLISHED));
	pump(n);
	EXPECT_EQ(1, count_sa(B, IKE_S_ESTABLISHED));
	EXPECT_EQ(2, kernel_sas(B));
	EXPECT_EQ(0, B->e->st.ike_failed);
	net_free(n);
}

/* --- trap policies (start_action = trap) ------------------------------------------ */

/* The kernel's acquire: a packet from src to dst met a policy without an
 * SA (reqid: its template's; 0 for a backend that does not say). */
static void kernel_acquire(struct peer *p, uint32_t reqid, const char *src, const char *dst)
{
	struct kb_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = KB_EV_ACQUIRE;
	ev.reqid = reqid;
	ev.sel.family = strchr(src, ':') ? AF_INET6 : AF_INET;
	set_addr(&ev.sel.src, src, 0);
	set_addr(&ev.sel.dst, dst, 0);
	ev.sel.src_plen = ev.sel.dst_plen = ev.sel.family == AF_INET ? 32 : 128;
	ev.sel.proto = IPPROTO_ICMP;
	ev.src = p->addr;
	ev.dst = other_peer(p)->addr;
	addr_set_port(&ev.src, 0);
	addr_set_port(&ev.dst, 0);
	engine_kernel_event(p->e, &ev);
}

/* p's configuration replaced by its own with extra (as the other tests
 * log: a reload applies the file's log level). */
static int reload(struct peer *p, const char *extra)
{
	struct buf out = BUF_INIT;
	int r = engine_reload(p->e, make_cfg(&v4[p != &p->net->p[0]], &v4[p == &p->net->p[0]],
					     extra, NULL), &out);

	p->cfg = engine_config(p->e);
	log_set_level(getenv("TEST_ENGINE_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	buf_free(&out);
	return r;
}

/* The reqid of the one trap of p (0: none installed). */
static uint32_t trap_reqid(struct peer *p)
{
	return p->e->traps && !p->e->traps->next ? p->e->traps->c->reqid : 0;
}

/*
 * The trap's policies (out, in, fwd) are installed with the configuration
 * and no SA; an acquire initiates the connection once, however often the
 * kernel repeats it; the Child SA takes the trap's reqid and shares its
 * policies; deleting the Child SA leaves them, and the next acquire makes
 * a new Child SA in the IKE SA that is up; shutdown removes them.
 */
TEST(trap_acquire_initiates_once)
{
	struct net *n = net_new("start_action = trap");
	struct ike_sa *a;
	uint32_t reqid;
	struct buf out = BUF_INIT;
	char want[256];

	ASSERT_NE(NULL, n);
	engine_autostart(A->e);
	engine_autostart(B->e);
	EXPECT_EQ(0, queued(n));	/* nothing initiated */
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(3, kernel_policies(A));
	EXPECT_EQ(3, kernel_policies(B));
	EXPECT_EQ(0, kernel_sas(A));
	reqid = trap_reqid(A);
	ASSERT_NE(0, reqid);
	/* status and list-conns show it */
	snprintf(want, sizeof(want), "start_action trap, trap installed (reqid %u)\n", reqid);
	ASSERT_EQ(0, engine_list_conns(A->e, false, &out));
	ASSERT_EQ(0, buf_put_u8(&out, 0));
	EXPECT_NE(NULL, strstr((char *)out.data, want)) TH_LOG("%s", (char *)out.data);
	buf_reset(&out);
	snprintf(want, sizeof(want),
		 "trap c/net: 10.1.0.0-10.1.255.255 === 10.2.0.0-10.2.255.255, reqid %u\n", reqid);
	ASSERT_EQ(0, engine_status(A->e, false, &out));
	ASSERT_EQ(0, buf_put_u8(&out, 0));
	EXPECT_NE(NULL, strstr((char *)out.data, want)) TH_LOG("%s", (char *)out.data);
	buf_reset(&out);
	snprintf(want, sizeof(want), "\"traps\":[{\"conn\":\"c\",\"child\":\"net\","
		 "\"local_ts\":[\"10.1.0.0-10.1.255.255\"],"
		 "\"remote_ts\":[\"10.2.0.0-10.2.255.255\"],\"reqid\":%u}]",
		 reqid);
	ASSERT_EQ(0, engine_status(A->e, true, &out));
	ASSERT_EQ(0, buf_put_u8(&out, 0));
	EXPECT_NE(NULL, strstr((char *)out.data, want)) TH_LOG("%s", (char *)out.data);
	buf_reset(&out);
	/* a reload of the same file keeps them as they are */
	ASSERT_EQ(0, reload(A, "start_action = trap"));
	EXPECT_EQ(reqid, trap_reqid(A));
	EXPECT_EQ(3, kernel_policies(A));
	/* traffic outside the child's selectors, for another reqid: not ours */
	kernel_acquire(A, reqid + 100, "10.9.0.1", "10.2.0.7");
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(0, queued(n));
	kernel_acquire(A, reqid, "10.1.0.5", "10.2.0.7");
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(1, queued(n));	/* IKE_SA_INIT */
	kernel_acquire(A, reqid, "10.1.0.5", "10.2.0.7");	/* the kernel repeats */
	kernel_acquire(A, 0, "10.1.0.6", "10.2.0.8");	/* by its selectors */
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(1, queued(n));
	pump(n);
	established(_metadata, n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	EXPECT_EQ(reqid, a->children->reqid);
	EXPECT_EQ(trap_reqid(B), first_sa(B, IKE_S_ESTABLISHED)->children->reqid);
	EXPECT_EQ(3, kernel_policies(A));	/* shared, not installed twice */
	EXPECT_EQ(3, kernel_policies(B));
	kernel_acquire(A, reqid, "10.1.0.5", "10.2.0.7");
	EXPECT_EQ(0, queued(n));
	EXPECT_EQ(1, count_all(A));
	/* the Child SA deleted: the trap stays */
	buf_reset(&out);
	ASSERT_EQ(0, engine_terminate_id(A->e, true, a->children->id, &out));
	pump(n);
	EXPECT_EQ(0, count_children(first_sa(A, IKE_S_ESTABLISHED)));
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(0, kernel_sas(B));
	EXPECT_EQ(3, kernel_policies(A));
	EXPECT_EQ(3, kernel_policies(B));
	/* the next acquire: a Child SA in the IKE SA that is up, once */
	kernel_acquire(A, reqid, "10.1.0.5", "10.2.0.7");
	EXPECT_EQ(1, queued(n));
	EXPECT_EQ(IKEV2_EXCH_CREATE_CHILD_SA, head_exch(n));
	kernel_acquire(A, reqid, "10.1.0.5", "10.2.0.7");
	EXPECT_EQ(1, queued(n));
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(reqid, first_sa(A, IKE_S_ESTABLISHED)->children->reqid);
	EXPECT_EQ(3, kernel_policies(A));
	/* shutdown: SAs and the trap's policies gone */
	engine_shutdown(A->e);
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(0, kernel_policies(A));
	buf_free(&out);
	net_free(n);
}

/* Two trapped connections to two peers: an acquire starts the one its
 * reqid names, or (reqid 0) the one whose selectors hold the packet, and
 * nothing for traffic neither holds. */
TEST(trap_acquire_picks_its_connection)
{
	static const char text[] =
		"daemon { backend = none }\n"
		"connections {\n"
		" c { local_addrs = 10.0.0.1\n remote_addrs = 10.0.0.2\n start_action = trap\n"
		"  local { auth = psk }\n remote { auth = psk }\n"
		"  children { net { local_ts = 10.1.0.0/16\n remote_ts = 10.2.0.0/16 } } }\n"
		" d { local_addrs = 10.0.0.1\n remote_addrs = 10.0.0.3\n"
		"  local { auth = psk }\n remote { auth = psk }\n"
		"  children { x { local_ts = 10.1.0.0/16\n remote_ts = 10.3.0.0/16 }\n"
		"   y { local_ts = 10.1.0.0/16\n remote_ts = 10.4.0.0/16\n start_action = trap } } }\n"
		"}\n"
		"secrets { s { id = 10.0.0.1\n id2 = 10.0.0.3\n secret = \"a test secret of some length\" } }\n";
	struct net *n = net_new(NULL);
	struct config *cfg = NULL;
	struct buf out = BUF_INIT;
	const struct trap *t;
	char err[256];
	uint32_t d_reqid = 0;

	ASSERT_NE(NULL, n);
	ASSERT_EQ(0, config_parse("two.conf", text, strlen(text), &cfg, err, sizeof(err)))
		TH_LOG("%s", err);
	ASSERT_EQ(0, engine_reload(A->e, cfg, &out));
	log_set_level(getenv("TEST_ENGINE_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	A->cfg = engine_config(A->e);
	engine_autostart(A->e);
	EXPECT_EQ(6, kernel_policies(A));	/* c/net and d/y, not d/x */
	for (t = A->e->traps; t; t = t->next)
		if (!strcmp(t->holder.cfg->name, "d"))
			d_reqid = t->c->reqid;
	ASSERT_NE(0, d_reqid);
	EXPECT_EQ(NULL, trap_of(A->e, config_conn(A->cfg, "d"), A->cfg->conns->next->children));
	/* d/x's traffic: no trap */
	kernel_acquire(A, 0, "10.1.0.5", "10.3.0.7");
	EXPECT_EQ(0, count_all(A));
	kernel_acquire(A, d_reqid, "10.1.0.5", "10.4.0.7");
	kernel_acquire(A, d_reqid, "10.1.0.5", "10.4.0.7");
	ASSERT_EQ(1, count_all(A));
	EXPECT_STREQ("d", A->e->all->cfg->name);
	EXPECT_EQ(1, n->dropped);	/* its IKE_SA_INIT: nobody at 10.0.0.3 */
	EXPECT_EQ(0, queued(n));
	kernel_acquire(A, 0, "10.1.0.5", "10.2.0.7");
	ASSERT_EQ(2, count_all(A));
	EXPECT_STREQ("c", A->e->all->cfg->name);
	EXPECT_EQ(1, queued(n));	/* its IKE_SA_INIT, to b */
	buf_free(&out);
	net_free(n);
}

/* A reload that drops the trap (start_action back to none) removes its
 * policies; one that brings it back installs them again. */
TEST(trap_follows_reload)
{
	struct net *n = net_new("start_action = trap");

	ASSERT_NE(NULL, n);
	engine_autostart(A->e);
	EXPECT_EQ(3, kernel_policies(A));
	ASSERT_EQ(0, reload(A, NULL));
	EXPECT_EQ(0, kernel_policies(A));
	EXPECT_EQ(0, trap_reqid(A));
	kernel_acquire(A, 0, "10.1.0.5", "10.2.0.7");
	EXPECT_EQ(0, count_all(A));
	ASSERT_EQ(0, reload(A, "start_action = trap"));
	EXPECT_EQ(3, kernel_policies(A));
	EXPECT_NE(0, trap_reqid(A));
	EXPECT_EQ(0, count_all(A));
	net_free(n);
}

/* The engine's call, its reply dropped. */
static int terminate(struct peer *p)
{
	struct buf out = BUF_INIT;
	int r = engine_terminate(p->e, "c", &out);

	buf_free(&out);
	return r;
}

/* b stops answering: a's Child SA rekey goes unanswered until a finds
 * it dead (retransmit_tries = 3: 1 + 2 + 4 + 8 s). */
static void peer_goes_dead(struct net *n)
{
	n->block_udp = true;
	rekey(A, true);
	elapse(n, 15000);
}

/*
 * dpd_action = trap: the peer stops answering; the SAs go, the children's
 * trap policies stay (the Child SA's own, shared with the trap's reqid:
 * never absent from the kernel), and the next acquire initiates once;
 * `terminate` removes the traps.
 */
TEST(trap_dpd_action)
{
	struct net *n = net_new("dpd_action = trap");
	uint32_t reqid;

	ASSERT_NE(NULL, n);
	engine_autostart(A->e);
	EXPECT_EQ(0, kernel_policies(A));	/* nothing trapped before */
	bring_up(_metadata, n);
	reqid = first_sa(A, IKE_S_ESTABLISHED)->children->reqid;
	peer_goes_dead(n);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(NULL, retry_of(A));	/* not initiated again without traffic */
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(3, kernel_policies(A));
	EXPECT_EQ(reqid, trap_reqid(A));
	n->block_udp = false;
	elapse(n, 5000);
	EXPECT_EQ(0, count_all(A));
	kernel_acquire(A, reqid, "10.1.0.5", "10.2.0.7");
	kernel_acquire(A, reqid, "10.1.0.5", "10.2.0.7");
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(1, queued(n));
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(reqid, first_sa(A, IKE_S_ESTABLISHED)->children->reqid);
	EXPECT_EQ(3, kernel_policies(A));
	/* terminate: the SAs and the traps go */
	EXPECT_EQ(0, terminate(A));
	pump(n);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(0, kernel_policies(A));
	EXPECT_EQ(0, trap_reqid(A));
	/* with no IKE SA, terminate still removes them */
	n->block_udp = false;
	initiate(n);
	pump(n);
	peer_goes_dead(n);
	EXPECT_EQ(3, kernel_policies(A));
	EXPECT_EQ(0, terminate(A));
	EXPECT_EQ(0, kernel_policies(A));
	EXPECT_EQ(0, trap_reqid(A));
	net_free(n);
}

/*
 * close_action = trap: the peer deletes the IKE SA, or a Child SA other
 * than in a rekey: that child's trap (the Child SA's reqid and policies)
 * stays for the next acquire.  A rekey leaves nothing; a reload that
 * changes the connection removes the traps.
 */
TEST(trap_close_action)
{
	struct net *n = net_new("close_action = trap");
	uint32_t reqid;

	ASSERT_NE(NULL, n);
	bring_up(_metadata, n);
	rekey(B, true);
	pump(n);
	EXPECT_EQ(0, trap_reqid(A));
	reqid = first_sa(A, IKE_S_ESTABLISHED)->children->reqid;
	EXPECT_EQ(0, terminate(B));
	pump(n);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(0, count_all(B));
	EXPECT_EQ(NULL, retry_of(A));
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(3, kernel_policies(A));
	EXPECT_EQ(reqid, trap_reqid(A));
	EXPECT_EQ(0, kernel_policies(B));	/* b's own terminate: no trap */
	kernel_acquire(A, reqid, "10.1.0.5", "10.2.0.7");
	kernel_acquire(A, reqid, "10.1.0.5", "10.2.0.7");
	EXPECT_EQ(1, queued(n));
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(3, kernel_policies(A));
	/* a reload that changes the connection: gone (with its SAs) */
	ASSERT_EQ(0, reload(A, "close_action = clear"));
	EXPECT_EQ(0, trap_reqid(A));
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(0, kernel_policies(A));
	net_free(n);

	/* the peer deletes the Child SA: a trap, the IKE SA stays */
	n = net_new("close_action = trap");
	ASSERT_NE(NULL, n);
	initiate(n);
	pump(n);
	reqid = first_sa(A, IKE_S_ESTABLISHED)->children->reqid;
	delete_child(B);
	pump(n);
	EXPECT_EQ(0, count_children(first_sa(A, IKE_S_ESTABLISHED)));
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(3, kernel_policies(A));
	EXPECT_EQ(reqid, trap_reqid(A));
	kernel_acquire(A, reqid, "10.1.0.5", "10.2.0.7");
	kernel_acquire(A, reqid, "10.1.0.5", "10.2.0.7");
	EXPECT_EQ(1, queued(n));
	EXPECT_EQ(IKEV2_EXCH_CREATE_CHILD_SA, head_exch(n));
	pump(n);
	EXPECT_EQ(1, count_children(first_sa(A, IKE_S_ESTABLISHED)));
	EXPECT_EQ(0, terminate(A));
	pump(n);
	EXPECT_EQ(0, kernel_policies(A));
	EXPECT_EQ(0, trap_reqid(A));
	net_free(n);
}

/* The priority the backend holds for the policy whose dump line starts
 * with sel ("policy out 10.1.0.0/16 -> 10.2.0.0/16"), or -1. */
static long policy_priority(struct peer *p, const char *sel)
{
	const struct kbackend_ops *o = p->kb->ops;
	struct buf dump = BUF_INIT;
	const char *l = NULL;
	long prio = -1;

	p->kb->ops = none_ops;
	if (!kb_none_dump(p->kb, &dump) && !buf_put_u8(&dump, 0))
		l = strstr((char *)dump.data, sel);
	p->kb->ops = o;
	l = l ? strstr(l, " priority ") : NULL;
	if (l)
		prio = strtol(l + 10, NULL, 10);
	buf_free(&dump);
	return prio;
}

/* b's child with these selectors (a's stay 10.1.0.0/16 === 10.2.0.0/16). */
static void b_selectors(struct net *n, const char *local_ts, const char *remote_ts)
{
	const struct side me = { "10.0.0.2", local_ts, NULL, NULL };
	const struct side peer = { "10.0.0.1", remote_ts, NULL, NULL };
	struct buf out = BUF_INIT;

	engine_reload(B->e, make_cfg(&me, &peer, NULL, NULL), &out);
	B->cfg = engine_config(B->e);
	log_set_level(getenv("TEST_ENGINE_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	buf_free(&out);
}

/* b, the responder, configured to narrow a's 10.1.0.0/16 to remote_ts. */
static void b_narrows_to(struct net *n, const char *remote_ts)
{
	b_selectors(n, "10.2.0.0/16", remote_ts);
}

/*
 * A trap's acquire answered by a Child SA the responder narrowed: its
 * policies (another reqid) must win over the trap's, which were installed
 * first, or the kernel keeps matching the trap's and asking for SAs; and
 * the more specific of two selectors wins (the priority counts prefix
 * lengths, as strongSwan's).  Before, every policy had priority 2000.
 */
TEST(trap_narrowed_child_outranks_the_trap)
{
	static const char *const narrow[] = { "10.1.2.0/24", "10.1.2.3/32" };
	static const char *const out_sel[] = { "policy out 10.1.2.0/24 -> 10.2.0.0/16 ",
					       "policy out 10.1.2.3/32 -> 10.2.0.0/16 " };
	const char *trap_sel = "policy out 10.1.0.0/16 -> 10.2.0.0/16 ";
	long trap_prio = -1, prio[2] = { -1, -1 };

	for (int i = 0; i < 2; i++) {
		struct net *n = net_new("start_action = trap");
		struct ike_sa *a;

		ASSERT_NE(NULL, n);
		b_narrows_to(n, narrow[i]);
		engine_autostart(A->e);
		trap_prio = policy_priority(A, trap_sel);
		kernel_acquire(A, trap_reqid(A), "10.1.2.3", "10.2.0.7");
		pump(n);
		established(_metadata, n);
		a = first_sa(A, IKE_S_ESTABLISHED);
		EXPECT_NE(trap_reqid(A), a->children->reqid);
		EXPECT_EQ(6, kernel_policies(A));	/* the trap's and the SA's */
		prio[i] = policy_priority(A, out_sel[i]);
		ASSERT_NE(-1, prio[i]);
		ASSERT_NE(-1, trap_prio);
		EXPECT_LT(prio[i], trap_prio) TH_LOG("%s: %ld, the trap's %ld", narrow[i],
						      prio[i], trap_prio);
		/* in and fwd too */
		for (int d = 0; d < 2; d++) {
			char s[128], t[128];

			snprintf(s, sizeof(s), "policy %s 10.2.0.0/16 -> %s ", d ? "fwd" : "in",
				 narrow[i]);
			snprintf(t, sizeof(t), "policy %s 10.2.0.0/16 -> 10.1.0.0/16 ",
				 d ? "fwd" : "in");
			EXPECT_NE(-1, policy_priority(A, s));
			EXPECT_LT(policy_priority(A, s), policy_priority(A, t));
		}
		net_free(n);
	}
	EXPECT_LT(prio[1], prio[0]) TH_LOG("/32 %ld, /24 %ld", prio[1], prio[0]);
}

/* A trap and the Child SA with its very selectors share each policy; it
 * has the Child SA's priority (better than the trap's alone) while the
 * Child SA lives, and the trap's again after it is deleted. */
TEST(trap_shared_policy_takes_the_child_priority)
{
	struct net *n = net_new("start_action = trap");
	const char *sel = "policy out 10.1.0.0/16 -> 10.2.0.0/16 ";
	const char *bsel = "policy out 10.2.0.0/16 -> 10.1.0.0/16 ";
	struct buf out = BUF_INIT;
	long trap_prio, b_trap_prio;

	ASSERT_NE(NULL, n);
	engine_autostart(A->e);
	engine_autostart(B->e);
	trap_prio = policy_priority(A, sel);
	b_trap_prio = policy_priority(B, bsel);
	ASSERT_NE(-1, trap_prio);
	ASSERT_NE(-1, b_trap_prio);
	kernel_acquire(A, trap_reqid(A), "10.1.2.3", "10.2.0.7");
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(trap_reqid(A), first_sa(A, IKE_S_ESTABLISHED)->children->reqid);
	EXPECT_EQ(3, kernel_policies(A));
	EXPECT_LT(policy_priority(A, sel), trap_prio);
	EXPECT_LT(policy_priority(B, bsel), b_trap_prio);	/* the responder's too */
	ASSERT_EQ(0, engine_terminate_id(A->e, true, first_sa(A, IKE_S_ESTABLISHED)->children->id,
					 &out));
	pump(n);
	EXPECT_EQ(3, kernel_policies(A));
	EXPECT_EQ(trap_prio, policy_priority(A, sel));
	EXPECT_EQ(b_trap_prio, policy_priority(B, bsel));
	buf_free(&out);
	net_free(n);
}

/* An acquire while the connection waits out its keyingtries back-off (an
 * attempt failed, the next is due): no extra attempt now, the back-off
 * makes it when due, with its attempt number; the kernel repeats acquires
 * for as long as traffic meets the trap. */
TEST(trap_acquire_leaves_the_backoff_to_retry)
{
	struct net *n = net_new("start_action = trap");
	uint32_t reqid;

	ASSERT_NE(NULL, n);
	engine_autostart(A->e);
	reqid = trap_reqid(A);
	n->block_udp = true;
	kernel_acquire(A, reqid, "10.1.0.5", "10.2.0.7");
	ASSERT_EQ(1, count_sa(A, IKE_S_INIT_SENT));
	/* retransmit_tries = 3: 1 + 2 + 4 + 8 s, then attempt 2 one second on */
	elapse(n, 15000);
	EXPECT_EQ(0, count_all(A));
	ASSERT_NE(NULL, retry_of(A));
	kernel_acquire(A, reqid, "10.1.0.5", "10.2.0.7");
	kernel_acquire(A, 0, "10.1.0.6", "10.2.0.8");
	EXPECT_EQ(0, count_all(A));
	ASSERT_NE(NULL, retry_of(A));
	n->block_udp = false;
	elapse(n, 1000);
	ASSERT_EQ(1, count_all(A));
	EXPECT_EQ(2, A->e->all->keying_attempt);
	EXPECT_EQ(NULL, retry_of(A));
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(reqid, first_sa(A, IKE_S_ESTABLISHED)->children->reqid);
	net_free(n);
}

/* The selectors of the request in flight (a to b), decrypted, as text:
 * "TSi 10.1.2.3-10.1.2.3[1/0-65535],10.1.0.0-10.1.255.255 TSr ...". */
static void head_ts(struct net *n, char *out, size_t len)
{
	static struct ike_msg inner;
	struct buf plain = BUF_INIT;
	struct ike_ts_pl tsi, tsr;
	struct ts_set si = { 0 }, sr = { 0 };
	char a[256] = "?", b[256] = "?";
	uint8_t first;

	if (!head_open(n, B, &plain, &first) &&
	    !ike_chain_parse(first, plain.data, plain.len, &inner) &&
	    ike_msg_find(&inner, IKEV2_PL_TSI) && ike_msg_find(&inner, IKEV2_PL_TSR) &&
	    !ike_get_ts(ike_msg_find(&inner, IKEV2_PL_TSI), &tsi) &&
	    !ike_get_ts(ike_msg_find(&inner, IKEV2_PL_TSR), &tsr)) {
		/* ts_set_add would drop duplicates: copied as they are */
		si.ts = tsi.ts;
		si.n = tsi.n;
		sr.ts = tsr.ts;
		sr.n = tsr.n;
		ts_set_str(&si, a, sizeof(a));
		ts_set_str(&sr, b, sizeof(b));
	}
	snprintf(out, len, "TSi %s TSr %s", a, b);
	buf_wipe(&plain);
}

/*
 * RFC 7296 §2.9: a request an acquire started carries the packet's
 * selectors first (its addresses, its protocol), then the configured
 * ones; the responder (tcpiked) narrows to its configured range that
 * holds the packet, not to that and the packet's too, so the Child SA has
 * the trap's selectors, takes its reqid and shares its policies (before:
 * the configured selectors only were sent).  The same for a Child SA made
 * by CREATE_CHILD_SA in the IKE SA that is up.
 */
TEST(trap_request_starts_with_the_packet)
{
	const char *want = "TSi 10.1.2.3-10.1.2.3[1/0-65535],10.1.0.0-10.1.255.255 "
			   "TSr 10.2.0.7-10.2.0.7[1/0-65535],10.2.0.0-10.2.255.255";
	struct net *n = net_new("start_action = trap");
	struct buf out = BUF_INIT;
	struct ike_sa *a, *b;
	char got[600], ls[256], rs[256];

	ASSERT_NE(NULL, n);
	engine_autostart(A->e);
	engine_autostart(B->e);
	kernel_acquire(A, trap_reqid(A), "10.1.2.3", "10.2.0.7");
	deliver(n);	/* IKE_SA_INIT */
	deliver(n);
	ASSERT_EQ(IKEV2_EXCH_IKE_AUTH, head_exch(n));
	head_ts(n, got, sizeof(got));
	EXPECT_STREQ(want, got);
	pump(n);
	established(_metadata, n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	b = first_sa(B, IKE_S_ESTABLISHED);
	ts_set_str(&a->children->ts_local, ls, sizeof(ls));
	ts_set_str(&a->children->ts_remote, rs, sizeof(rs));
	EXPECT_STREQ("10.1.0.0-10.1.255.255", ls);
	EXPECT_STREQ("10.2.0.0-10.2.255.255", rs);
	EXPECT_EQ(trap_reqid(A), a->children->reqid);
	EXPECT_EQ(trap_reqid(B), b->children->reqid);
	EXPECT_EQ(3, kernel_policies(A));	/* one set, shared */
	EXPECT_EQ(3, kernel_policies(B));
	/* the Child SA deleted; the next acquire's CREATE_CHILD_SA too */
	ASSERT_EQ(0, engine_terminate_id(A->e, true, a->children->id, &out));
	pump(n);
	kernel_acquire(A, trap_reqid(A), "10.1.2.3", "10.2.0.7");
	ASSERT_EQ(IKEV2_EXCH_CREATE_CHILD_SA, head_exch(n));
	head_ts(n, got, sizeof(got));
	EXPECT_STREQ(want, got);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(trap_reqid(A), first_sa(A, IKE_S_ESTABLISHED)->children->reqid);
	EXPECT_EQ(3, kernel_policies(A));
	/* an operator's initiate: the configured selectors only */
	ASSERT_EQ(0, engine_terminate_id(A->e, true, first_sa(A, IKE_S_ESTABLISHED)->children->id,
					 &out));
	pump(n);
	initiate(n);
	head_ts(n, got, sizeof(got));
	EXPECT_STREQ("TSi 10.1.0.0-10.1.255.255 TSr 10.2.0.0-10.2.255.255", got);
	buf_free(&out);
	net_free(n);
}

/* separate with UDP and TCP both blocked: the racing TCP SA belongs to the
 * same attempt as the UDP IKE_SA_INIT it races, so keyingtries counts
 * attempts, not races, and gives up (before, with the fallback: its SA
 * started again at attempt 0, and keyingtries = 2 retried for ever). */
TEST(separate_race_is_the_same_attempt)
{
	struct net *n = net_new("transport = separate\n tcp_preconnect = no\n keyingtries = 2");
	unsigned int i;

	n->block_udp = n->block_tcp = true;
	initiate(n);
	elapse(n, 300);			/* the race, TCP refused: UDP alone */
	EXPECT_EQ(1, A->e->st.tcp_races);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(NULL, retry_of(A));
	for (i = 0; i < 30 && !retry_of(A); i++)
		elapse(n, 1000);	/* UDP's retransmissions spent */
	EXPECT_EQ(0, count_all(A));
	ASSERT_NE(NULL, retry_of(A));
	for (i = 0; i < 30 && !count_all(A); i++)
		elapse(n, 500);		/* attempt 2, over UDP */
	ASSERT_EQ(1, count_all(A));
	EXPECT_EQ(2, A->e->all->keying_attempt);
	elapse(n, 300);			/* and its race over TCP, attempt 2 too */
	EXPECT_EQ(2, A->e->st.tcp_races);
	for (i = 0; i < 60; i++)
		elapse(n, 2000);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(NULL, retry_of(A));
	EXPECT_EQ(2, A->e->st.tcp_races);
	net_free(n);
}

/* A trapped connection over separate transports, UDP blocked: the IKE_AUTH
 * that the racing TCP SA sends still names the packet that met the trap
 * first (RFC 7296 §2.9), as the UDP attempt would have. */
TEST(separate_race_keeps_the_trigger)
{
	const char *want = "TSi 10.1.2.3-10.1.2.3[1/0-65535],10.1.0.0-10.1.255.255 "
			   "TSr 10.2.0.7-10.2.0.7[1/0-65535],10.2.0.0-10.2.255.255";
	struct net *n = net_new("start_action = trap\n transport = separate\n tcp_preconnect = no");
	char got[600];
	int guard = 0;

	ASSERT_NE(NULL, n);
	engine_autostart(A->e);
	engine_autostart(B->e);
	n->block_udp = true;
	kernel_acquire(A, trap_reqid(A), "10.1.2.3", "10.2.0.7");
	elapse(n, 200);
	now_ms += 50;		/* tcp_race_delay: step by step from here */
	timers(n);
	EXPECT_EQ(1, A->e->st.tcp_races);
	while (head_exch(n) != IKEV2_EXCH_IKE_AUTH && ++guard < 100)
		if (!deliver(n))
			finish_connects(n);
	ASSERT_EQ(IKEV2_EXCH_IKE_AUTH, head_exch(n));
	head_ts(n, got, sizeof(got));
	EXPECT_STREQ(want, got);
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(trap_reqid(A), first_sa(A, IKE_S_ESTABLISHED)->children->reqid);
	net_free(n);
}

/* A responder that answers with the packet's selector and the range that
 * holds it (b configured with both): the initiator keeps the range, the
 * packet's adds nothing to it, so the Child SA still has the trap's
 * selectors and reqid and no policies of its own (before: a /32 policy
 * more, another reqid, and the trap's policies refusing it). */
TEST(trap_initiator_drops_a_selector_the_range_holds)
{
	struct net *n = net_new("start_action = trap");
	struct ike_sa *a;
	char rs[256];

	ASSERT_NE(NULL, n);
	b_selectors(n, "10.2.0.7/32, 10.2.0.0/16", "10.1.0.0/16");
	engine_autostart(A->e);
	kernel_acquire(A, trap_reqid(A), "10.1.2.3", "10.2.0.7");
	pump(n);
	established(_metadata, n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	ts_set_str(&a->children->ts_remote, rs, sizeof(rs));
	EXPECT_STREQ("10.2.0.0-10.2.255.255", rs);
	EXPECT_EQ(trap_reqid(A), a->children->reqid);
	EXPECT_EQ(3, kernel_policies(A));
	net_free(n);
}

/* §2.9 and the responder's choice of child: of b's two children on a's
 * range, the one whose selectors hold the packet, though the other comes
 * first in b's configuration (before: the first whose selectors met the
 * range, which does not carry the packet). */
TEST(trap_responder_picks_the_child_holding_the_packet)
{
	const struct side me = { "10.0.0.2", "10.2.0.0/16", "10.2.0.0/16", NULL };
	const struct side peer = { "10.0.0.1", "10.1.5.0/24", "10.1.2.0/24", NULL };
	struct net *n = net_new("start_action = trap");
	struct buf out = BUF_INIT;
	struct ike_sa *a;
	char ls[256];

	ASSERT_NE(NULL, n);
	engine_reload(B->e, make_cfg(&me, &peer, NULL, NULL), &out);
	B->cfg = engine_config(B->e);
	log_set_level(getenv("TEST_ENGINE_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	engine_autostart(A->e);
	kernel_acquire(A, trap_reqid(A), "10.1.2.3", "10.2.0.7");
	pump(n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(1, count_children(a));
	ts_set_str(&a->children->ts_local, ls, sizeof(ls));
	EXPECT_STREQ("10.1.2.0-10.1.2.255", ls);
	ASSERT_EQ(1, count_children(first_sa(B, IKE_S_ESTABLISHED)));
	EXPECT_STREQ("net2", first_sa(B, IKE_S_ESTABLISHED)->children->cfg->name);
	buf_free(&out);
	net_free(n);
}

/* --- virtual IPs (RFC 7296 §3.15) and connections by prefix ---------------------- */

/* p's configuration replaced by text. */
static void reload_text(struct __test_metadata *_metadata, struct peer *p, const char *text)
{
	char err[256];
	struct config *cfg = NULL;
	struct buf out = BUF_INIT;

	ASSERT_EQ(0, config_parse("test.conf", text, strlen(text), &cfg, err, sizeof(err)))
		TH_LOG("%s", err);
	ASSERT_EQ(0, engine_reload(p->e, cfg, &out));
	p->cfg = engine_config(p->e);
	log_set_level(getenv("TEST_ENGINE_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	buf_free(&out);
}

/* b as a gateway: connection c admits peers from remote (a prefix, %any)
 * and gives addresses from pool p (addrs); more: further connections. */
static void gateway(struct __test_metadata *_metadata, struct net *n, const char *remote,
		    const char *addrs, const char *more)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "daemon { backend = none }\n"
		 "pools { p { addrs = %s\n dns = 10.2.0.53 } }\n"
		 "connections {\n"
		 " c { local_addrs = 10.0.0.2\n remote_addrs = %s\n pools = p\n"
		 "  proposals = aes128gcm16-prfsha256-x25519\n dpd_delay = 0\n rekey_time = 0\n"
		 "  local { auth = psk\n id = 10.0.0.2 }\n remote { auth = psk }\n"
		 "  children { net { local_ts = 10.2.0.0/16\n remote_ts = 10.1.0.0/16\n"
		 "   esp_proposals = aes128gcm16\n rekey_time = 0 } } }\n"
		 "%s}\n"
		 "secrets { s { id = 10.0.0.2\n id2 = 10.0.0.1\n"
		 " secret = \"a test secret of some length\" } }\n", addrs, remote, more);
	reload_text(_metadata, B, text);
}

/* from's IKE_AUTH message at the head, with a CP payload of this body
 * added at the end of its inner chain (AUTH does not cover it), sealed
 * again and delivered to the other. */
static void deliver_cp_from(struct net *n, struct peer *from, const uint8_t *cp, size_t len)
{
	static struct ike_msg m, inner;
	struct buf plain = BUF_INIT;
	uint8_t first, hdr[4] = { 0, 0, (uint8_t)((len + 4) >> 8), (uint8_t)(len + 4) };
	size_t last;

	if (head_exch(n) != IKEV2_EXCH_IKE_AUTH || head_open(n, other_peer(from), &plain, &first) ||
	    ike_msg_parse(n->head->data, n->head->len, &m) ||
	    ike_chain_parse(first, plain.data, plain.len, &inner) || !inner.n)
		abort();
	last = (size_t)(inner.pl[inner.n - 1].body - plain.data) - IKEV2_GENERIC_HDR_LEN;
	plain.data[last] = IKEV2_PL_CP;	/* the last payload's Next Payload */
	if (buf_append(&plain, hdr, 4) || buf_append(&plain, cp, len))
		abort();
	deliver_sealed(n, from, &m.hdr, first, &plain);
}

static void deliver_with_cp(struct net *n, const uint8_t *cp, size_t len)
{
	deliver_cp_from(n, A, cp, len);
}

/* The IKE_AUTH message at the head, opened with the keys of to, its
 * receiver: its CP (cp->n -1 when it has none; its values live until the
 * next call) and the first notify's type (0: none). */
static void auth_cp(struct net *n, struct peer *to, struct ike_cp *cp, uint16_t *notify)
{
	static struct ike_msg inner;
	static struct buf plain = BUF_INIT;
	const struct ike_pl *pl;
	uint8_t first;

	*notify = 0;
	cp->n = -1;
	buf_wipe(&plain);
	if (head_exch(n) != IKEV2_EXCH_IKE_AUTH || head_open(n, to, &plain, &first) ||
	    ike_chain_parse(first, plain.data, plain.len, &inner))
		abort();
	pl = ike_msg_find(&inner, IKEV2_PL_CP);
	if (pl && ike_get_cp(pl, cp))
		abort();
	pl = ike_msg_find(&inner, IKEV2_PL_NOTIFY);
	if (pl)
		*notify = (uint16_t)(pl->body[2] << 8 | pl->body[3]);
}

/* b's IKE_AUTH response at the head (auth_cp). */
static void auth_response(struct net *n, struct ike_cp *cp, uint16_t *notify)
{
	auth_cp(n, A, cp, notify);
}

/* a initiated, up to its IKE_AUTH request at the head (over whichever
 * transport). */
static void up_to_auth(struct net *n)
{
	int guard = 0;

	initiate(n);
	while (head_exch(n) != IKEV2_EXCH_IKE_AUTH && ++guard < 1000) {
		timers(n);
		while (finish_connects(n))
			;
		deliver(n);
	}
}

/* a up to its IKE_AUTH request, which goes with a CP body added. */
static void auth_with_cp(struct net *n, const uint8_t *cp, size_t len)
{
	up_to_auth(n);
	deliver_with_cp(n, cp, len);
}

static const uint8_t cp_req4[] = {
	IKEV2_CFG_REQUEST, 0, 0, 0,
	0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 0,
	0, IKEV2_CP_INTERNAL_IP4_DNS, 0, 0,
};

static bool lease_count(const struct pool_lease_info *l, void *arg)
{
	unsigned int *c = arg;

	c[0]++;
	c[1] += l->refs;
	return true;
}

/* Leases of b's pools, and the IKE SAs holding them, as "leases/refs". */
static const char *leases(struct net *n)
{
	static char s[32];
	unsigned int c[2] = { 0, 0 };

	pool_leases(B->e->pools, lease_count, c);
	snprintf(s, sizeof(s), "%u/%u", c[0], c[1]);
	return s;
}

static const char *vip_of(const struct ike_sa *sa)
{
	static char a[ADDR_STRLEN];

	return sa && ike_n_vip(sa) ? addr_str(&sa->rw->vip[0].addr, a, sizeof(a)) : "-";
}

/* A %any gateway with the pool 10.1.7.0/30 answers a's IKE_AUTH carrying
 * the CP body req with no error notify and a CFG_REPLY whose first
 * attribute is the pool's first address; the reply in *cp. */
static void pool_start_replied(struct __test_metadata *_metadata, struct net *n,
			       const uint8_t *req, size_t len, struct ike_cp *cp)
{
	uint16_t nt;

	gateway(_metadata, n, "%any", "10.1.7.0/30", "");
	auth_with_cp(n, req, len);
	auth_response(n, cp, &nt);
	EXPECT_EQ(0, nt);
	ASSERT_LE(1, cp->n);
	EXPECT_EQ(IKEV2_CFG_REPLY, cp->cfg_type);
	EXPECT_EQ(IKEV2_CP_INTERNAL_IP4_ADDRESS, cp->a[0].type);
	ASSERT_EQ(4, cp->a[0].val.len);
	EXPECT_EQ(0, memcmp(cp->a[0].val.p, "\x0a\x01\x07\x01", 4));
}

/*
 * A CFG_REQUEST to a %any gateway: the pool's first address and its DNS
 * server in a CFG_REPLY, TSi narrowed to the address on both ends; a
 * rekey of the IKE SA keeps it, a delete keeps the lease for the identity
 * (remembered, not held), and reconnecting gets the same address.
 */
TEST(vip_from_pool_narrowed_and_kept_by_identity)
{
	struct net *n = net_new(NULL);
	static struct ike_cp cp;
	struct buf out = BUF_INIT;
	struct ike_sa *b;

	ASSERT_NE(NULL, n);
	pool_start_replied(_metadata, n, cp_req4, sizeof(cp_req4), &cp);
	ASSERT_EQ(2, cp.n);
	EXPECT_EQ(IKEV2_CP_INTERNAL_IP4_DNS, cp.a[1].type);
	ASSERT_EQ(4, cp.a[1].val.len);
	EXPECT_EQ(0, memcmp(cp.a[1].val.p, "\x0a\x02\x00\x35", 4));
	pump(n);
	established(_metadata, n);
	b = first_sa(B, IKE_S_ESTABLISHED);
	EXPECT_STREQ("10.1.7.1", vip_of(b));
	ASSERT_EQ(1, b->children->ts_remote.n);
	EXPECT_EQ(0, memcmp(b->children->ts_remote.ts[0].start, "\x0a\x01\x07\x01", 4));
	EXPECT_EQ(0, memcmp(b->children->ts_remote.ts[0].end, "\x0a\x01\x07\x01", 4));
	/* a took the narrowed selector for its own */
	ASSERT_EQ(1, first_sa(A, IKE_S_ESTABLISHED)->children->ts_local.n);
	EXPECT_EQ(0, memcmp(first_sa(A, IKE_S_ESTABLISHED)->children->ts_local.ts[0].end,
			    "\x0a\x01\x07\x01", 4));
	EXPECT_STREQ("1/1", leases(n));

	rekey(A, false);
	pump(n);
	b = first_sa(B, IKE_S_ESTABLISHED);
	ASSERT_EQ(1, count_all(B));
	EXPECT_NE(0, b->rekeys);
	EXPECT_STREQ("10.1.7.1", vip_of(b));
	EXPECT_STREQ("1/1", leases(n));

	engine_terminate(A->e, "c", &out);
	pump(n);
	EXPECT_EQ(0, count_all(B));
	EXPECT_STREQ("1/0", leases(n));	/* remembered, not held */
	auth_with_cp(n, cp_req4, sizeof(cp_req4));
	pump(n);
	established(_metadata, n);
	EXPECT_STREQ("10.1.7.1", vip_of(first_sa(B, IKE_S_ESTABLISHED)));
	EXPECT_STREQ("1/1", leases(n));
	buf_free(&out);
	net_free(n);
}

/* A client asking for an address outside every pool (§3.15.1 lets it
 * name the address it would like) gets one of the pool, never its own
 * choice. */
TEST(vip_requested_outside_the_pool)
{
	static const uint8_t want_outside[] = {
		IKEV2_CFG_REQUEST, 0, 0, 0,
		0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 4, 192, 0, 2, 77,
	};
	struct net *n = net_new(NULL);
	static struct ike_cp cp;

	ASSERT_NE(NULL, n);
	pool_start_replied(_metadata, n, want_outside, sizeof(want_outside), &cp);
	pump(n);
	established(_metadata, n);
	EXPECT_STREQ("10.1.7.1", vip_of(first_sa(B, IKE_S_ESTABLISHED)));
	EXPECT_STREQ("1/1", leases(n));
	net_free(n);
}

/* §3.15.4: no address left (the pool's one held by another identity):
 * INTERNAL_ADDRESS_FAILURE, no Child SA, the IKE SA stays; without a
 * CFG_REQUEST the same peer gets its Child SA, unnarrowed. */
TEST(vip_pool_exhausted)
{
	struct net *n = net_new(NULL);
	static struct ike_cp cp;
	struct sockaddr_storage held;
	struct id_cfg other;
	char err[64];
	uint16_t nt;

	ASSERT_NE(NULL, n);
	gateway(_metadata, n, "10.0.0.0/8", "10.1.7.5/32", "");
	ASSERT_EQ(0, config_parse_id("email:other@x", &other, err, sizeof(err)));
	ASSERT_EQ(0, pool_acquire(B->e->pools, "p", &other, &held));
	auth_with_cp(n, cp_req4, sizeof(cp_req4));
	auth_response(n, &cp, &nt);
	EXPECT_EQ(IKEV2_N_INTERNAL_ADDRESS_FAILURE, nt);
	EXPECT_EQ(-1, cp.n);
	pump(n);
	childless_pair(_metadata, n);
	EXPECT_STREQ("-", vip_of(first_sa(B, IKE_S_ESTABLISHED)));
	EXPECT_STREQ("1/1", leases(n));
	net_free(n);

	n = net_new(NULL);
	ASSERT_NE(NULL, n);
	gateway(_metadata, n, "10.0.0.0/8", "10.1.7.5/32", "");
	bring_up(_metadata, n);
	EXPECT_STREQ("-", vip_of(first_sa(B, IKE_S_ESTABLISHED)));
	EXPECT_EQ(0, memcmp(first_sa(B, IKE_S_ESTABLISHED)->children->ts_remote.ts[0].end,
			    "\x0a\x01\xff\xff", 4));
	EXPECT_STREQ("0/0", leases(n));
	net_free(n);
}

/* A new pair, b a %any gateway with a pool, a's IKE_AUTH request sent
 * with CP body cp: b's response read into *out and *nt (auth_response),
 * not yet delivered. */
static void gw_asked(struct __test_metadata *_metadata, struct net **np, const uint8_t *cp,
		     size_t len, struct ike_cp *out, uint16_t *nt)
{
	struct net *n = net_new(NULL);

	*np = n;
	ASSERT_NE(NULL, n);
	gateway(_metadata, n, "%any", "10.1.7.0/24", "");
	auth_with_cp(n, cp, len);
	auth_response(n, out, nt);
}

/* A malformed CP fails the exchange with INVALID_SYNTAX (§2.21.2); a
 * CFG_REPLY from the initiator is ignored; 100 attributes get an answer
 * to the first ones. */
TEST(vip_bad_requests)
{
	static const uint8_t short4[] = {
		IKEV2_CFG_REQUEST, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 3, 10, 1, 7,
	};
	static const uint8_t reply[] = {
		IKEV2_CFG_REPLY, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 4, 10, 1, 7, 9,
	};
	static uint8_t many[4 + 100 * 4];
	static struct ike_cp cp;
	struct net *n;
	uint16_t nt;

	gw_asked(_metadata, &n, short4, sizeof(short4), &cp, &nt);
	EXPECT_EQ(IKEV2_N_INVALID_SYNTAX, nt);
	pump(n);
	EXPECT_EQ(0, count_sa(B, IKE_S_ESTABLISHED));
	EXPECT_STREQ("0/0", leases(n));
	net_free(n);

	gw_asked(_metadata, &n, reply, sizeof(reply), &cp, &nt);
	EXPECT_EQ(0, nt);
	EXPECT_EQ(-1, cp.n);
	pump(n);
	established(_metadata, n);
	EXPECT_STREQ("-", vip_of(first_sa(B, IKE_S_ESTABLISHED)));
	net_free(n);

	many[0] = IKEV2_CFG_REQUEST;
	many[5] = IKEV2_CP_INTERNAL_IP4_ADDRESS;
	for (int i = 1; i < 100; i++)
		many[4 + 4 * i + 1] = 0x50;	/* unknown */
	gw_asked(_metadata, &n, many, sizeof(many), &cp, &nt);
	EXPECT_EQ(0, nt);
	ASSERT_EQ(2, cp.n);	/* the address, and the pool's DNS with it */
	EXPECT_EQ(IKEV2_CP_INTERNAL_IP4_ADDRESS, cp.a[0].type);
	pump(n);
	established(_metadata, n);
	EXPECT_STREQ("10.1.7.1", vip_of(first_sa(B, IKE_S_ESTABLISHED)));
	net_free(n);
}

/* An IPv6 address from an IPv6 pool (§3.15.1: with its prefix length):
 * a's IPv4 selectors hold no IPv6 address, so the Child SA is refused
 * with TS_UNACCEPTABLE, the IKE SA keeping the address. */
TEST(vip_ipv6_address)
{
	static const uint8_t req6[] = {
		IKEV2_CFG_REQUEST, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP6_ADDRESS, 0, 0,
	};
	static const uint8_t want[17] = { 0xfd, 0, 0, 7, [15] = 1, [16] = 128 };
	struct net *n = net_new(NULL);
	static struct ike_cp cp;
	uint16_t nt;

	ASSERT_NE(NULL, n);
	gateway(_metadata, n, "%any", "fd00:7::/120", "");
	auth_with_cp(n, req6, sizeof(req6));
	auth_response(n, &cp, &nt);
	EXPECT_EQ(IKEV2_N_TS_UNACCEPTABLE, nt);
	ASSERT_EQ(2, cp.n);
	EXPECT_EQ(IKEV2_CP_INTERNAL_IP6_ADDRESS, cp.a[0].type);
	ASSERT_EQ(17, cp.a[0].val.len);
	EXPECT_EQ(0, memcmp(want, cp.a[0].val.p, 17));
	EXPECT_EQ(IKEV2_CP_INTERNAL_IP4_DNS, cp.a[1].type);
	pump(n);
	childless_pair(_metadata, n);
	EXPECT_STREQ("fd00:7::1", vip_of(first_sa(B, IKE_S_ESTABLISHED)));
	net_free(n);
}

/* The same over TCP (RFC 9329): the gateway's answer does not depend on
 * the transport. */
TEST(vip_over_tcp)
{
	struct net *n = net_new("transport = tcp");
	static struct ike_cp cp;
	uint16_t nt;

	ASSERT_NE(NULL, n);
	gateway(_metadata, n, "%any", "10.1.7.0/24", "");
	auth_with_cp(n, cp_req4, sizeof(cp_req4));
	EXPECT_EQ(XPORT_TCP, B->e->all->path.kind);
	auth_response(n, &cp, &nt);
	EXPECT_EQ(0, nt);
	ASSERT_EQ(2, cp.n);
	EXPECT_EQ(0, memcmp(cp.a[0].val.p, "\x0a\x01\x07\x01", 4));
	pump(n);
	established(_metadata, n);
	EXPECT_EQ(XPORT_TCP, first_sa(B, IKE_S_ESTABLISHED)->path.kind);
	EXPECT_STREQ("10.1.7.1", vip_of(first_sa(B, IKE_S_ESTABLISHED)));
	net_free(n);
}

/* --- tcpiked as a road warrior: vips = (RFC 7296 §3.15, initiator side) --------- */

/* a's IKE_AUTH request at the head (auth_cp); not delivered. */
static void auth_request_cp(struct net *n, struct ike_cp *cp)
{
	uint16_t nt;

	if (head_response(n))
		abort();
	auth_cp(n, B, cp, &nt);
}

static bool status_text_has(struct peer *p, const char *what)
{
	return status_contains(p, false, what);
}

static bool ts_is(const struct ts_set *s, const char *want)
{
	char t[256];

	ts_set_str(s, t, sizeof(t));
	return !strcmp(t, want);
}

/*
 * a with vips = 0.0.0.0 against a %any gateway: its IKE_AUTH request
 * asks for an IPv4 address and DNS, it takes the CFG_REPLY's address as
 * its TSi (both ends narrowed to it) and shows it and the DNS server in
 * its status; a rekey of the IKE SA and of the Child SA keep it (the new
 * Child SA asks with TSi = the address); after a reconnect a asks for
 * the address it had.
 */
TEST(rw_vip_requested_used_and_kept)
{
	struct net *n = net_new("vips = 0.0.0.0");
	static struct ike_cp cp;
	struct buf out = BUF_INIT;
	struct ike_sa *a;
	bool ip4 = false, dns4 = false;
	char ts[256];

	ASSERT_NE(NULL, n);
	gateway(_metadata, n, "%any", "10.1.7.0/30", "");
	up_to_auth(n);
	auth_request_cp(n, &cp);
	ASSERT_NE(-1, cp.n);
	EXPECT_EQ(IKEV2_CFG_REQUEST, cp.cfg_type);
	for (int i = 0; i < cp.n; i++) {
		ip4 |= cp.a[i].type == IKEV2_CP_INTERNAL_IP4_ADDRESS && !cp.a[i].val.len;
		dns4 |= cp.a[i].type == IKEV2_CP_INTERNAL_IP4_DNS;
		EXPECT_NE(IKEV2_CP_INTERNAL_IP6_ADDRESS, cp.a[i].type);
	}
	EXPECT_TRUE(ip4);
	EXPECT_TRUE(dns4);
	pump(n);
	established(_metadata, n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	EXPECT_TRUE(ts_is(&a->children->ts_local, "10.1.7.1-10.1.7.1"));
	EXPECT_TRUE(ts_is(&first_sa(B, IKE_S_ESTABLISHED)->children->ts_remote, "10.1.7.1-10.1.7.1"));
	EXPECT_TRUE(status_text_has(A, "  virtual IP 10.1.7.1 (ours, from the peer)\n"));
	EXPECT_TRUE(status_text_has(A, "  DNS server 10.2.0.53 (from the peer, not applied)\n"));
	EXPECT_TRUE(status_has(A, "\"our_vips\":[\"10.1.7.1\"],\"dns\":[\"10.2.0.53\"]"));

	rekey(A, false);
	pump(n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	ASSERT_EQ(1, count_all(A));
	EXPECT_NE(0, a->rekeys);
	EXPECT_TRUE(status_text_has(A, "  virtual IP 10.1.7.1 (ours, from the peer)\n"));
	rekey(A, true);
	ASSERT_EQ(IKEV2_EXCH_CREATE_CHILD_SA, head_exch(n));
	head_ts(n, ts, sizeof(ts));
	EXPECT_STREQ("TSi 10.1.7.1-10.1.7.1 TSr 10.2.0.0-10.2.255.255", ts);
	pump(n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	ASSERT_EQ(1, count_children(a));
	EXPECT_TRUE(ts_is(&a->children->ts_local, "10.1.7.1-10.1.7.1"));
	EXPECT_TRUE(ts_is(&first_sa(B, IKE_S_ESTABLISHED)->children->ts_remote, "10.1.7.1-10.1.7.1"));

	engine_terminate(A->e, "c", &out);
	pump(n);
	EXPECT_EQ(0, count_all(A));
	up_to_auth(n);
	auth_request_cp(n, &cp);
	ip4 = false;
	for (int i = 0; i < cp.n; i++)
		ip4 |= cp.a[i].type == IKEV2_CP_INTERNAL_IP4_ADDRESS && cp.a[i].val.len == 4 &&
		       !memcmp(cp.a[i].val.p, "\x0a\x01\x07\x01", 4);
	EXPECT_TRUE(ip4);	/* the address it had, asked for again */
	pump(n);
	established(_metadata, n);
	EXPECT_TRUE(status_text_has(A, "  virtual IP 10.1.7.1 (ours, from the peer)\n"));
	buf_free(&out);
	net_free(n);
}

/* §3.15.4: the gateway has no address left: INTERNAL_ADDRESS_FAILURE; a
 * counts the Child SA as failed, the IKE SA stays without it. */
TEST(rw_vip_refused_by_gateway)
{
	struct net *n = net_new("vips = 0.0.0.0");
	struct sockaddr_storage held;
	struct id_cfg other;
	char err[64];

	ASSERT_NE(NULL, n);
	gateway(_metadata, n, "%any", "10.1.7.5/32", "");
	ASSERT_EQ(0, config_parse_id("email:other@x", &other, err, sizeof(err)));
	ASSERT_EQ(0, pool_acquire(B->e->pools, "p", &other, &held));
	initiate(n);
	pump(n);
	childless_pair(_metadata, n);
	EXPECT_EQ(1, A->e->st.child_failed);
	EXPECT_FALSE(status_text_has(A, "virtual IP"));
	net_free(n);
}

/* A responder that answers no CFG_REQUEST (no pools) but makes the Child
 * SA: a has no address for its TSi, refuses it and deletes it at the
 * peer, as charon does; a failed attempt. */
TEST(rw_vip_none_given)
{
	struct net *n = net_new("vips = 0.0.0.0");

	ASSERT_NE(NULL, n);
	initiate(n);
	pump(n);
	childless_pair(_metadata, n);
	EXPECT_EQ(1, A->e->st.child_failed);
	EXPECT_FALSE(status_text_has(A, "virtual IP"));
	net_free(n);
}

/* b's IKE_AUTH response with a CP body added, a with vips (or not). */
static struct net *rw_reply(const char *extra, const uint8_t *cp, size_t len)
{
	struct net *n = net_new(extra);
	int guard = 0;

	if (!n)
		return NULL;
	up_to_auth(n);
	deliver(n);
	while (!(head_exch(n) == IKEV2_EXCH_IKE_AUTH && head_response(n)) && ++guard < 100)
		deliver(n);
	deliver_cp_from(n, B, cp, len);
	pump(n);
	return n;
}

/* Replies a road warrior cannot use: an address we did not ask for (no
 * vips), 0.0.0.0, multicast, only the family not asked for: never used;
 * the Child SA is refused and deleted at the peer where we asked.  A
 * malformed CP deletes the IKE SA (§2.21.2).  100 attributes: the first
 * ones are read. */
TEST(rw_vip_bad_replies)
{
	static const uint8_t unasked[] = {
		IKEV2_CFG_REPLY, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 4, 10, 1, 7, 9,
	};
	static const uint8_t zero[] = {
		IKEV2_CFG_REPLY, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 4, 0, 0, 0, 0,
	};
	static const uint8_t mcast[] = {
		IKEV2_CFG_REPLY, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 4, 224, 0, 0, 1,
	};
	static const uint8_t v6only[] = {
		IKEV2_CFG_REPLY, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP6_ADDRESS, 0, 17,
		0xfd, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 128,
	};
	static const uint8_t request[] = {
		IKEV2_CFG_REQUEST, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 4, 10, 1, 7, 9,
	};
	static const uint8_t short4[] = {
		IKEV2_CFG_REPLY, 0, 0, 0, 0, IKEV2_CP_INTERNAL_IP4_ADDRESS, 0, 3, 10, 1, 7,
	};
	static const struct {
		const uint8_t *cp;
		size_t len;
	} unusable[] = {
		{ zero, sizeof(zero) }, { mcast, sizeof(mcast) }, { v6only, sizeof(v6only) },
		{ request, sizeof(request) },
	};
	static uint8_t many[4 + 8 + 99 * 4];
	struct net *n;

	n = rw_reply(NULL, unasked, sizeof(unasked));
	ASSERT_NE(NULL, n);
	established(_metadata, n);
	EXPECT_TRUE(ts_is(&first_sa(A, IKE_S_ESTABLISHED)->children->ts_local, "10.1.0.0-10.1.255.255"));
	EXPECT_FALSE(status_text_has(A, "virtual IP"));
	net_free(n);

	for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++) {
		n = rw_reply("vips = 0.0.0.0", unusable[i].cp, unusable[i].len);
		ASSERT_NE(NULL, n);
		childless_pair(_metadata, n);
		EXPECT_EQ(1, A->e->st.child_failed);
		EXPECT_FALSE(status_text_has(A, "virtual IP")) TH_LOG("case %zu", i);
		net_free(n);
	}

	n = rw_reply("vips = 0.0.0.0", short4, sizeof(short4));
	ASSERT_NE(NULL, n);
	EXPECT_EQ(0, count_all(A));
	net_free(n);

	many[0] = IKEV2_CFG_REPLY;
	memcpy(many + 4, "\x00\x01\x00\x04\x0a\x01\x07\x09", 8);
	for (int i = 0; i < 99; i++)
		many[12 + 4 * i + 1] = 0x50;	/* unknown */
	n = rw_reply("vips = 0.0.0.0", many, sizeof(many));
	ASSERT_NE(NULL, n);
	ASSERT_EQ(1, count_sa(A, IKE_S_ESTABLISHED));
	EXPECT_TRUE(status_text_has(A, "  virtual IP 10.1.7.9 (ours, from the peer)\n"));
	ASSERT_EQ(1, count_children(first_sa(A, IKE_S_ESTABLISHED)));
	EXPECT_TRUE(ts_is(&first_sa(A, IKE_S_ESTABLISHED)->children->ts_local, "10.1.7.9-10.1.7.9"));
	net_free(n);
}

/* Of vips = 0.0.0.0, :: the gateway has only an IPv4 pool: a takes that
 * one (§3.15.4), its IPv6 request unanswered; an IPv6 address alone. */
TEST(rw_vip_both_families_one_given)
{
	struct net *n = net_new("vips = 0.0.0.0, ::");
	static struct ike_cp cp;
	bool ip6 = false;

	ASSERT_NE(NULL, n);
	gateway(_metadata, n, "%any", "10.1.7.0/30", "");
	up_to_auth(n);
	auth_request_cp(n, &cp);
	for (int i = 0; i < cp.n; i++)
		ip6 |= cp.a[i].type == IKEV2_CP_INTERNAL_IP6_ADDRESS;
	EXPECT_TRUE(ip6);
	pump(n);
	established(_metadata, n);
	EXPECT_TRUE(status_text_has(A, "  virtual IP 10.1.7.1 (ours, from the peer)\n"));
	net_free(n);

	/* vips = :: from an IPv6 pool: a takes fd00:7::1 (its IPv4
	 * selectors hold it not, so b refuses the Child SA) */
	n = net_new("vips = ::");
	ASSERT_NE(NULL, n);
	gateway(_metadata, n, "%any", "fd00:7::/120", "");
	initiate(n);
	pump(n);
	childless_pair(_metadata, n);
	EXPECT_TRUE(status_text_has(A, "  virtual IP fd00:7::1 (ours, from the peer)\n"));
	EXPECT_TRUE(status_has(A, "\"our_vips\":[\"fd00:7::1\"],\"dns\":[\"10.2.0.53\"]"));
	net_free(n);
}

/* Of the connections whose remote_addrs admit a peer, the longest prefix
 * wins over a shorter one naming the peer's identity and over %any,
 * whatever their order in the file. */
TEST(most_specific_connection_wins)
{
	struct net *n = net_new(NULL);
	static const char more[] =
		" wide { remote_addrs = 10.0.0.0/8\n proposals = aes128gcm16-prfsha256-x25519\n"
		"  local { auth = psk\n id = 10.0.0.2 }\n remote { auth = psk\n id = 10.0.0.1 }\n"
		"  children { net { local_ts = 10.2.0.0/16\n remote_ts = 10.1.0.0/16 } } }\n"
		" near { remote_addrs = 10.9.0.0/16, 10.0.0.0/24\n proposals = aes128gcm16-prfsha256-x25519\n"
		"  local { auth = psk\n id = 10.0.0.2 }\n remote { auth = psk }\n"
		"  children { net { local_ts = 10.2.0.0/16\n remote_ts = 10.1.0.0/16 } } }\n"
		" far { remote_addrs = 10.9.0.0/16\n proposals = aes128gcm16-prfsha256-x25519\n"
		"  local { auth = psk\n id = 10.0.0.2 }\n remote { auth = psk }\n"
		"  children { net { local_ts = 10.2.0.0/16\n remote_ts = 10.1.0.0/16 } } }\n";

	ASSERT_NE(NULL, n);
	gateway(_metadata, n, "%any", "10.1.7.0/24", more);
	bring_up(_metadata, n);
	EXPECT_STREQ("near", first_sa(B, IKE_S_ESTABLISHED)->cfg->name);
	net_free(n);
}


/* --- connections by the peer's identity, with wildcards ------------------------ */

#define ID_CONN(name, id) \
	" " name " { local_addrs = 10.0.0.2\n remote_addrs = %any\n" \
	"  proposals = aes128gcm16-prfsha256-x25519\n dpd_delay = 0\n rekey_time = 0\n" \
	"  local { auth = psk\n id = 10.0.0.2 }\n remote { auth = psk\n id = " id " }\n" \
	"  children { net { local_ts = 10.2.0.0/16\n remote_ts = 10.1.0.0/16\n" \
	"   esp_proposals = aes128gcm16\n rekey_time = 0 } } }\n"

/* a as a road warrior with identity id; b with connections (ID_CONN)
 * and a secret for every identity a takes here. */
static struct net *by_id(struct __test_metadata *_metadata, const char *id, const char *conns)
{
	struct net *n = net_new(NULL);
	char text[4096];

	if (!n)
		return NULL;
	snprintf(text, sizeof(text),
		 "daemon { backend = none }\n"
		 "connections { c { local_addrs = 10.0.0.1\n remote_addrs = 10.0.0.2\n"
		 "  proposals = aes128gcm16-prfsha256-x25519\n dpd_delay = 0\n rekey_time = 0\n"
		 "  retransmit_base = 1s\n retransmit_tries = 3\n"
		 "  local { auth = psk\n id = %s }\n remote { auth = psk\n id = 10.0.0.2 }\n"
		 "  children { net { local_ts = 10.1.0.0/16\n remote_ts = 10.2.0.0/16\n"
		 "   esp_proposals = aes128gcm16\n rekey_time = 0 } } } }\n"
		 "secrets { s { id = %s\n id2 = 10.0.0.2\n"
		 " secret = \"a test secret of some length\" } }\n", id, id);
	reload_text(_metadata, A, text);
	snprintf(text, sizeof(text),
		 "daemon { backend = none }\nconnections {\n%s}\n"
		 "secrets { s { id = 10.0.0.2\n id2 = alice@example.com\n id3 = bob@example.com\n"
		 " id4 = h1.clients.example.com\n"
		 " secret = \"a test secret of some length\" }\n"
		 " t { id = 10.0.0.2\n id2 = h1.other.org\n"
		 " secret = \"a test secret of some length\" } }\n", conns);
	reload_text(_metadata, B, text);
	return n;
}

/* The exact identity wins over *@domain and %any, in any order; a
 * longer suffix over a shorter; %any takes the rest. */
TEST(connection_by_wildcard_id)
{
	static const char conns[] =
		ID_CONN("any", "%any") ID_CONN("mail", "*@example.com")
		ID_CONN("dom", "*.example.com") ID_CONN("exact", "alice@example.com")
		ID_CONN("host", "*.clients.example.com");
	static const struct {
		const char *id, *conn;
	} cases[] = {
		{ "alice@example.com", "exact" }, { "bob@example.com", "mail" },
		{ "h1.clients.example.com", "host" }, { "h1.other.org", "any" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct net *n = by_id(_metadata, cases[i].id, conns);

		ASSERT_NE(NULL, n);
		bring_up(_metadata, n);
		EXPECT_STREQ(cases[i].conn, first_sa(B, IKE_S_ESTABLISHED)->cfg->name)
			TH_LOG("peer %s", cases[i].id);
		net_free(n);
	}
}

/* An identity no wildcard matches is refused with AUTHENTICATION_FAILED. */
TEST(connection_by_wildcard_id_none)
{
	static const char conns[] = ID_CONN("mail", "*@example.com")
				    ID_CONN("host", "*.clients.example.com");
	struct net *n = by_id(_metadata, "h1.other.org", conns);

	ASSERT_NE(NULL, n);
	initiate(n);
	while (queued(n) && !(head_exch(n) == IKEV2_EXCH_IKE_AUTH && head_response(n)))
		deliver(n);
	ASSERT_EQ(IKEV2_EXCH_IKE_AUTH, head_exch(n));
	EXPECT_TRUE(answer_has(n, IKEV2_N_AUTHENTICATION_FAILED));
	pump(n);
	EXPECT_EQ(0, count_sa(B, IKE_S_ESTABLISHED));
	EXPECT_EQ(0, count_sa(A, IKE_S_ESTABLISHED));
	net_free(n);
}

/* Two connections matching equally: the first in the file. */
TEST(connection_by_wildcard_id_tie)
{
	static const char conns[] = ID_CONN("one", "*@example.com") ID_CONN("two", "*@example.com");
	struct net *n = by_id(_metadata, "bob@example.com", conns);

	ASSERT_NE(NULL, n);
	bring_up(_metadata, n);
	EXPECT_STREQ("one", first_sa(B, IKE_S_ESTABLISHED)->cfg->name);
	net_free(n);
}

/* DNs: an RDN value * matches any value, *.suffix a CN ending so; the
 * RDNs must be the same in number and order; fewer wildcards and longer
 * literals rank higher, the exact DN highest. */
TEST(dn_wildcard_match)
{
	static const struct {
		const char *pattern, *dn;
		int match;	/* -1 none, 1 a wildcard, 2 exact */
	} cases[] = {
		{ "C=CH, O=Org, CN=*", "C=CH, O=Org, CN=alice", 1 },
		{ "C=CH, O=Org, CN=*.clients.example.com", "C=CH, O=Org, CN=h1.clients.example.com", 1 },
		{ "C=CH, O=Org, CN=*.clients.example.com", "C=CH, O=Org, CN=h1.example.com", -1 },
		{ "C=CH, O=Org, CN=*", "C=CH, O=Other, CN=alice", -1 },
		{ "C=CH, O=Org, CN=*", "C=CH, O=Org, OU=x, CN=alice", -1 },
		{ "C=CH, O=Org, CN=*", "C=CH, CN=alice, O=Org", -1 },
		{ "C=CH, O=Org, CN=alice", "C=CH, O=Org, CN=alice", 2 },
	};
	char err[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct id_cfg pat, text, der;
		int m;

		ASSERT_EQ(0, config_parse_id(cases[i].pattern, &pat, err, sizeof(err)));
		ASSERT_EQ(0, config_parse_id(cases[i].dn, &text, err, sizeof(err)));
		ASSERT_EQ(0, auth_id_der(&text, &der));
		m = auth_id_match(&pat, &der);
		EXPECT_EQ(cases[i].match, m < 0 ? -1 : m == AUTH_ID_EXACT ? 2 : 1)
			TH_LOG("%s against %s: %d", cases[i].pattern, cases[i].dn, m);
	}
	/* more literal parts, more specific */
	{
		struct id_cfg a, b, text, der;

		ASSERT_EQ(0, config_parse_id("C=CH, O=*, CN=*", &a, err, sizeof(err)));
		ASSERT_EQ(0, config_parse_id("C=CH, O=Org, CN=*", &b, err, sizeof(err)));
		ASSERT_EQ(0, config_parse_id("C=CH, O=Org, CN=alice", &text, err, sizeof(err)));
		ASSERT_EQ(0, auth_id_der(&text, &der));
		EXPECT_LT(auth_id_match(&a, &der), auth_id_match(&b, &der));
		EXPECT_GE(auth_id_match(&a, &der), 0);
	}
}


/* The test PKI of test_crypto_auth.c (userspace/tests/data); a few
 * paths may be in use at once (the arguments of one snprintf). */
static const char *pki(const char *name)
{
	static char paths[8][1024];
	static unsigned int next;
	char *path = paths[next++ % 8];
	const char *slash = strrchr(__FILE__, '/');

	snprintf(path, sizeof(paths[0]), "%.*s/data/%s", (int)(slash ? slash - __FILE__ : 1),
		 slash ? __FILE__ : ".", name);
	return path;
}

/* A private 0600 copy of a key of the test PKI (git checks out 0644),
 * into path (a mkstemp template). */
static int private_key(const char *name, char *path)
{
	char buf[4096];
	FILE *in = fopen(pki(name), "r");
	int out = mkstemp(path);
	size_t n;

	if (!in || out < 0 || fchmod(out, 0600))
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (write(out, buf, n) != (ssize_t)n)
			return -1;
	fclose(in);
	close(out);
	return 0;
}

/* Two %any connections with certificates, the first trusting another CA:
 * a's certificate (from the test CA) picks the second, whose CA it
 * chains to, and not the first in the file. */
TEST(connection_by_ca)
{
	char ka[] = "/tmp/tcpike-eng-XXXXXX", kb[] = "/tmp/tcpike-eng-XXXXXX", text[4096];
	struct net *n = net_new(NULL);

	ASSERT_NE(NULL, n);
	ASSERT_EQ(0, private_key("ec256.key", ka));
	ASSERT_EQ(0, private_key("ec384.key", kb));
	snprintf(text, sizeof(text),
		 "daemon { backend = none }\n"
		 "connections { c { local_addrs = 10.0.0.1\n remote_addrs = 10.0.0.2\n"
		 "  proposals = aes128gcm16-prfsha256-x25519\n dpd_delay = 0\n rekey_time = 0\n"
		 "  local { auth = pubkey\n id = ec.tcpike.test\n certs = %s\n key = %s }\n"
		 "  remote { auth = pubkey\n id = ec384.tcpike.test\n cacerts = %s }\n"
		 "  children { net { local_ts = 10.1.0.0/16\n remote_ts = 10.2.0.0/16\n"
		 "   esp_proposals = aes128gcm16\n rekey_time = 0 } } } }\n",
		 pki("ec256.pem"), ka, pki("ca.pem"));
	reload_text(_metadata, A, text);
#define CA_CONN(name, ca) \
	" " name " { local_addrs = 10.0.0.2\n remote_addrs = %%any\n" \
	"  proposals = aes128gcm16-prfsha256-x25519\n dpd_delay = 0\n rekey_time = 0\n" \
	"  local { auth = pubkey\n id = ec384.tcpike.test\n certs = %s\n key = %s }\n" \
	"  remote { auth = pubkey\n cacerts = %s }\n" \
	"  children { net { local_ts = 10.2.0.0/16\n remote_ts = 10.1.0.0/16\n" \
	"   esp_proposals = aes128gcm16\n rekey_time = 0 } } }\n"
	snprintf(text, sizeof(text), "daemon { backend = none }\nconnections {\n"
		 CA_CONN("theirs", "other-ca.pem") CA_CONN("ours", "ca.pem") "}\n",
		 pki("ec384.pem"), kb, pki("other-ca.pem"), pki("ec384.pem"), kb, pki("ca.pem"));
#undef CA_CONN
	reload_text(_metadata, B, text);
	bring_up(_metadata, n);
	EXPECT_STREQ("ours", first_sa(B, IKE_S_ESTABLISHED)->cfg->name);
	net_free(n);
	unlink(ka);
	unlink(kb);
}


/* --- remote_addrs names ----------------------------------------------------------- */

/* A pair where b is where "localhost" resolves first, a initiating to
 * that name; NULL if the name does not resolve here. */
static struct net *by_name(struct __test_metadata *_metadata, const char *name)
{
	static struct side sides[2];
	static char baddr[ADDR_STRLEN];
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM }, *ai;
	struct sockaddr_storage ss = { 0 };
	char text[4096];
	struct net *n;
	bool is6;

	if (getaddrinfo("localhost", NULL, &hints, &ai))
		return NULL;
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	addr_str(&ss, baddr, sizeof(baddr));
	is6 = ss.ss_family == AF_INET6;
	sides[0] = is6 ? v6[0] : v4[0];
	sides[1] = is6 ? v6[1] : v4[1];
	sides[1].addr = baddr;
	n = net_new_on(sides, NULL, NULL);
	if (!n)
		return NULL;
	snprintf(text, sizeof(text),
		 "daemon { backend = none }\n"
		 "connections { c { local_addrs = %s\n remote_addrs = %s\n"
		 "  proposals = aes128gcm16-prfsha256-x25519\n dpd_delay = 0\n rekey_time = 0\n"
		 "  retransmit_base = 1s\n retransmit_tries = 3\n"
		 "  local { auth = psk\n id = %s }\n remote { auth = psk\n id = %s }\n"
		 "  children { net { local_ts = %s\n remote_ts = %s\n"
		 "   esp_proposals = aes128gcm16\n rekey_time = 0 } } } }\n"
		 "secrets { s { id = %s\n id2 = %s\n"
		 " secret = \"a test secret of some length\" } }\n",
		 sides[0].addr, name, sides[0].addr, baddr, sides[0].ts, sides[1].ts,
		 sides[0].addr, baddr);
	reload_text(_metadata, A, text);
	return n;
}

/* The resolver's thread answers in real time: the loop polls it as the
 * test's clock goes on, until done gives true or 2 s have passed. */
static bool resolve_until(struct net *n, bool (*done)(struct net *n))
{
	for (int i = 0; i < 1000 && !done(n); i++) {
		usleep(2000);
		now_ms += 20;
		timers(n);
	}
	return done(n);
}

static bool something_sent(struct net *n)
{
	return queued(n) > 0;
}

static bool retry_due(struct net *n)
{
	unsigned int attempt;
	uint64_t in;

	return conn_retry_pending(A->e, "c", &attempt, &in);
}

/* remote_addrs = localhost: nothing is sent before the name resolves, in
 * the resolver's thread; IKE_SA_INIT goes to its address then, and b (a
 * responder for a) sees it from there. */
TEST(initiate_to_dns_name)
{
	struct net *n = by_name(_metadata, "localhost");
	struct buf out = BUF_INIT;

	ASSERT_NE(NULL, n);
	ASSERT_EQ(0, engine_initiate(A->e, "c", &out));
	EXPECT_NE(NULL, strstr((const char *)out.data, "resolving localhost"))
		TH_LOG("%.*s", (int)out.len, (const char *)out.data);
	EXPECT_EQ(0, queued(n));
	ASSERT_TRUE(resolve_until(n, something_sent));
	pump(n);
	established(_metadata, n);
	buf_free(&out);
	net_free(n);
}

/* A name that does not resolve: a failed attempt, tried again with
 * back-off (keyingtries), and asked again then. */
TEST(initiate_to_dns_name_unresolved)
{
	struct net *n = by_name(_metadata, "no-such-host.invalid");
	struct buf out = BUF_INIT;
	unsigned int attempt = 0;
	uint64_t in = 0;

	ASSERT_NE(NULL, n);
	ASSERT_EQ(0, engine_initiate(A->e, "c", &out));
	ASSERT_TRUE(resolve_until(n, retry_due));
	EXPECT_TRUE(conn_retry_pending(A->e, "c", &attempt, &in));
	EXPECT_EQ(2, attempt);
	EXPECT_EQ(0, queued(n));
	EXPECT_EQ(0, count_all(A));
	/* the retry resolves again and fails again: attempt 3 */
	now_ms += in;
	timers(n);
	EXPECT_FALSE(retry_due(n));
	ASSERT_TRUE(resolve_until(n, retry_due));
	EXPECT_TRUE(conn_retry_pending(A->e, "c", &attempt, &in));
	EXPECT_EQ(3, attempt);
	buf_free(&out);
	net_free(n);
}

/* --- unique and per-client limits (issue 22) ------------------------------------------ */

/* a sets up a second IKE SA of c beside the first; pumped to the end. */
static struct ike_sa *second_sa(struct __test_metadata *_metadata, struct net *n)
{
	struct ike_sa *sa;
	int r;

	sa = ike_initiate(A->e, config_conn(A->cfg, "c"), 0, &r);
	EXPECT_NE(NULL, sa);
	pump(n);
	return sa;
}

/* p's IKE SA that is the other end of sa */
static struct ike_sa *sa_paired_with(struct peer *p, struct ike_sa *sa)
{
	struct ike_sa *o;

	for (o = p->e->all; o; o = o->next)
		if (paired(sa, o))
			return o;
	return NULL;
}

static void set_unique(struct peer *p, enum cfg_unique u)
{
	((struct conn_cfg *)config_conn(p->cfg, "c"))->unique = u;
}

/*
 * A client comes again without INITIAL_CONTACT while its first IKE SA
 * stands (a keeps both: it plays the client the gateway sees twice): b's
 * unique = replace deletes the old one with a Delete, which takes a's
 * old one too; one IKE SA at each end, the new one.
 */
static void replace_by_responder(struct __test_metadata *_metadata, const char *extra)
{
	char x[128];
	struct net *n;
	struct ike_sa *a2, *b;
	uint64_t old_b;

	snprintf(x, sizeof(x), "initial_contact = no\n %s", extra);
	n = net_new(x);
	ASSERT_NE(NULL, n);
	set_unique(A, CFG_UNIQUE_NEVER);
	bring_up(_metadata, n);
	old_b = first_sa(B, IKE_S_ESTABLISHED)->id;
	listen_log(true);
	a2 = second_sa(_metadata, n);
	/* the same address: the old one is given UNIQUE_GRACE_MS (a
	 * make-before-break peer deletes it itself meanwhile); both stand */
	EXPECT_EQ(2, count_all(B));
	EXPECT_EQ(1u, heard_count("in 10 s unless its peer deletes it first (unique = replace)"));
	EXPECT_EQ(0u, heard_count(": IKE SA deleted: deleted by the peer"));
	elapse(n, 9800);
	EXPECT_EQ(2, count_all(B));
	elapse(n, 300);
	EXPECT_EQ(1, count_all(B));
	b = first_sa(B, IKE_S_ESTABLISHED);
	ASSERT_NE(NULL, b);
	EXPECT_NE(old_b, b->id);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(a2, first_sa(A, IKE_S_ESTABLISHED));
	EXPECT_TRUE(paired(a2, b));
	EXPECT_EQ(1, count_children(b));
	EXPECT_EQ(2, kernel_sas(A));
	EXPECT_EQ(2, kernel_sas(B));
	EXPECT_EQ(2u, heard_count("(unique = replace)"));
	EXPECT_EQ(1u, heard_count(": IKE SA deleted: deleted by the peer"));
	listen_log(false);
	net_free(n);
}

TEST(unique_replace_deletes_the_old_sa)
{
	replace_by_responder(_metadata, "");
}

TEST(unique_replace_over_tcp)
{
	replace_by_responder(_metadata, "transport = tcp");
}

/* As initiator too: a's second IKE SA of the same identity pair replaces
 * its first (and b's does the same on its side). */
TEST(unique_replace_as_initiator)
{
	struct net *n = net_new("initial_contact = no");
	struct ike_sa *a2;

	ASSERT_NE(NULL, n);
	set_unique(B, CFG_UNIQUE_NEVER);
	bring_up(_metadata, n);
	a2 = second_sa(_metadata, n);
	EXPECT_EQ(2, count_all(A));	/* the grace of the same address */
	elapse(n, 10100);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(a2, first_sa(A, IKE_S_ESTABLISHED));
	EXPECT_EQ(1, count_all(B));
	EXPECT_TRUE(paired(a2, first_sa(B, IKE_S_ESTABLISHED)));
	net_free(n);
}

/* keep: the newcomer is refused with AUTHENTICATION_FAILED, logged with
 * both IKE SAs and the identity; the old one stays at both ends. */
TEST(unique_keep_refuses_the_new_sa)
{
	struct net *n = net_new("initial_contact = no");
	struct ike_sa *old_a, *old_b;
	const char *l;

	ASSERT_NE(NULL, n);
	set_unique(A, CFG_UNIQUE_NEVER);
	set_unique(B, CFG_UNIQUE_KEEP);
	bring_up(_metadata, n);
	old_a = first_sa(A, IKE_S_ESTABLISHED);
	old_b = first_sa(B, IKE_S_ESTABLISHED);
	listen_log(true);
	second_sa(_metadata, n);
	EXPECT_EQ(1, count_all(A));
	EXPECT_EQ(1, count_all(B));
	EXPECT_EQ(old_a, first_sa(A, IKE_S_ESTABLISHED));
	EXPECT_EQ(old_b, first_sa(B, IKE_S_ESTABLISHED));
	EXPECT_EQ(1u, B->e->st.ike_failed);
	EXPECT_NE(NULL, heard_line("IKE_AUTH refused: AUTHENTICATION_FAILED"));
	l = heard_line("(unique = keep)");
	ASSERT_NE(NULL, l);
	EXPECT_NE(NULL, strstr(l, ike_sa_name(old_b))) TH_LOG("%s", l);
	EXPECT_NE(NULL, strstr(l, "10.0.0.1")) TH_LOG("%s", l);
	EXPECT_EQ(2, kernel_sas(B));
	listen_log(false);
	net_free(n);
}

/* never: both stay, up to ike_sas_per_id; one more is refused. */
TEST(ike_sas_per_id_limit)
{
	struct net *n = net_new("initial_contact = no\n unique = never\n ike_sas_per_id = 2");

	ASSERT_NE(NULL, n);
	bring_up(_metadata, n);
	second_sa(_metadata, n);
	EXPECT_EQ(2, count_sa(A, IKE_S_ESTABLISHED));
	EXPECT_EQ(2, count_sa(B, IKE_S_ESTABLISHED));
	listen_log(true);
	second_sa(_metadata, n);
	EXPECT_EQ(2, count_all(A));
	EXPECT_EQ(2, count_all(B));
	EXPECT_NE(NULL, heard_line("IKE_AUTH refused: AUTHENTICATION_FAILED"));
	EXPECT_NE(NULL, heard_line("2 IKE SAs of 10.0.0.1 up, the limit (ike_sas_per_id)"));
	listen_log(false);
	net_free(n);
}

/* child_sas_max = 1: net in IKE_AUTH, net2 by CREATE_CHILD_SA is answered
 * with NO_ADDITIONAL_SAS; rekeying net is not one more. */
TEST(child_sas_max_limit)
{
	struct net *n = net_new_on(v4_two, "child_sas_max = 1", NULL);
	struct ike_sa *a, *b;
	uint32_t spi;

	ASSERT_NE(NULL, n);
	listen_log(true);
	initiate(n);
	pump(n);
	a = first_sa(A, IKE_S_ESTABLISHED);
	b = first_sa(B, IKE_S_ESTABLISHED);
	ASSERT_TRUE(paired(a, b));
	EXPECT_TRUE(children_paired(a, b));
	EXPECT_EQ(1, count_children(b));
	EXPECT_NE(NULL, heard_line("(NO_ADDITIONAL_SAS): 1 Child SAs of 10.0.0.1 up, the limit (child_sas_max)"));
	spi = b->children->spi_in;
	rekey(A, true);
	pump(n);
	ASSERT_EQ(1, count_children(b));
	EXPECT_NE(spi, b->children->spi_in);
	EXPECT_EQ(1, count_children(a));
	listen_log(false);
	net_free(n);
}

/* A client with a virtual IP comes again without INITIAL_CONTACT: the
 * old IKE SA goes, the new one has the same address, one lease held. */
TEST(unique_replace_keeps_the_vip)
{
	struct net *n = net_new("initial_contact = no\n unique = never");
	struct ike_sa *a2;
	int r, guard = 0;

	ASSERT_NE(NULL, n);
	gateway(_metadata, n, "%any", "10.1.7.0/30", "");
	auth_with_cp(n, cp_req4, sizeof(cp_req4));
	pump(n);
	established(_metadata, n);
	EXPECT_STREQ("10.1.7.1", vip_of(first_sa(B, IKE_S_ESTABLISHED)));
	a2 = ike_initiate(A->e, config_conn(A->cfg, "c"), 0, &r);
	ASSERT_NE(NULL, a2);
	while (head_exch(n) != IKEV2_EXCH_IKE_AUTH && ++guard < 1000)
		deliver(n);
	deliver_with_cp(n, cp_req4, sizeof(cp_req4));
	pump(n);
	EXPECT_STREQ("10.1.7.1", vip_of(sa_paired_with(B, a2)));
	elapse(n, 10100);	/* the old one's grace over */
	EXPECT_EQ(1, count_all(B));
	EXPECT_EQ(1, count_all(A));
	EXPECT_TRUE(paired(a2, first_sa(B, IKE_S_ESTABLISHED)));
	EXPECT_STREQ("10.1.7.1", vip_of(first_sa(B, IKE_S_ESTABLISHED)));
	EXPECT_STREQ("1/1", leases(n));
	net_free(n);
}

/* --- RFC 9370 §2.2.4: additional key exchanges in CREATE_CHILD_SA -------------- */

/* Keys each kernel got, by SPI: a Child SA's two ends must agree. */
struct key_rec {
	struct kbackend *kb;
	uint32_t spi;
	uint8_t key[64];
	uint16_t len;
};
static struct key_rec keys_seen[32];
static unsigned int n_keys_seen;

static int keys_sa_add(struct kbackend *kb, const struct kb_sa *sa)
{
	if (n_keys_seen < sizeof(keys_seen) / sizeof(keys_seen[0]) &&
	    sa->enc_key_len <= sizeof(keys_seen[0].key)) {
		struct key_rec *k = &keys_seen[n_keys_seen++];

		k->kb = kb;
		k->spi = sa->spi;
		k->len = sa->enc_key_len;
		memcpy(k->key, sa->enc_key, sa->enc_key_len);
	}
	return none_ops->sa_add(kb, sa);
}

/* Every SPI one kernel got, the other got with the same key (and it is
 * one of them at least). */
static bool keys_agree(struct net *n)
{
	unsigned int i, j, pairs = 0;

	for (i = 0; i < n_keys_seen; i++) {
		for (j = 0; j < n_keys_seen; j++) {
			if (keys_seen[j].kb == keys_seen[i].kb ||
			    keys_seen[j].spi != keys_seen[i].spi)
				continue;
			if (keys_seen[j].len != keys_seen[i].len ||
			    memcmp(keys_seen[j].key, keys_seen[i].key, keys_seen[i].len))
				return false;
			pairs++;
		}
	}
	(void)n;
	return pairs == n_keys_seen && pairs > 0;
}

/* Both ends' Child SA "net": PFS with x25519, then the methods of addke
 * (0-terminated) as ADDKE1, ADDKE2, ... (keN_ in esp_proposals). */
static void child_addke(struct net *n, const uint16_t *addke)
{
	for (int i = 0; i < 2; i++) {
		struct proposal_cfg *p = &n->p[i].cfg->conns->children->esp[0];

		p->ke[0] = IKEV2_KE_CURVE25519;
		p->n_ke = 1;
		for (int k = 0; addke[k]; k++) {
			p->addke[k][0] = addke[k];
			p->n_addke[k] = 1;
		}
	}
}

static struct kbackend_ops keys_ops;

/* A pair up with the Child SA's additional key exchanges configured, its
 * kernels recording keys. */
static struct net *addke_pair(struct __test_metadata *_metadata, const uint16_t *addke)
{
	struct net *n = net_new(NULL);

	if (!n)
		return NULL;
	child_addke(n, addke);
	n_keys_seen = 0;
	keys_ops = *none_ops;
	keys_ops.sa_add = keys_sa_add;
	A->kb->ops = &keys_ops;
	B->kb->ops = &keys_ops;
	bring_up(_metadata, n);
	return n;
}

/* by rekeys the Child SA: CREATE_CHILD_SA, then one IKE_FOLLOWUP_KE per
 * additional method (§2.2.4), nothing new in either kernel before the
 * last; then the new pair alone, its keys the same at both ends. */
static void child_rekey_addke(struct __test_metadata *_metadata, struct net *n,
			      struct peer *by, unsigned int nke)
{
	struct peer *to = other_peer(by);
	uint32_t old_in = first_sa(by, IKE_S_ESTABLISHED)->children->spi_in;
	uint64_t rekeys = sa_a(n)->children->rekeys;
	unsigned int i;

	rekey(by, true);
	ASSERT_EQ(IKEV2_EXCH_CREATE_CHILD_SA, head_exch(n));
	ASSERT_EQ(to, head_to(n));
	deliver(n);
	ASSERT_EQ(IKEV2_EXCH_CREATE_CHILD_SA, head_exch(n));
	ASSERT_TRUE(head_response(n));
	deliver(n);
	for (i = 0; i < nke; i++) {
		EXPECT_EQ(2, kernel_sas(A));
		EXPECT_EQ(2, kernel_sas(B));
		EXPECT_EQ(1, count_children(sa_a(n)));
		EXPECT_EQ(1, count_children(sa_b(n)));
		ASSERT_EQ(IKEV2_EXCH_IKE_FOLLOWUP_KE, head_exch(n)) TH_LOG("exchange %u", i + 1);
		EXPECT_FALSE(head_response(n));
		EXPECT_EQ(to, head_to(n));
		deliver(n);
		ASSERT_EQ(IKEV2_EXCH_IKE_FOLLOWUP_KE, head_exch(n));
		EXPECT_TRUE(head_response(n));
		deliver(n);
	}
	EXPECT_NE(IKEV2_EXCH_IKE_FOLLOWUP_KE, head_exch(n));
	pump(n);
	one_of_each(_metadata, n);
	EXPECT_NE(old_in, first_sa(by, IKE_S_ESTABLISHED)->children->spi_in);
	EXPECT_EQ(rekeys + 1, sa_a(n)->children->rekeys);
	EXPECT_EQ(rekeys + 1, sa_b(n)->children->rekeys);
	EXPECT_TRUE(keys_agree(n));
}

static const uint16_t addke_two[] = { IKEV2_KE_CURVE448, IKEV2_KE_ECP_256, 0 };
static const uint16_t addke_one[] = { IKEV2_KE_CURVE448, 0 };

TEST(child_rekey_addke_by_initiator)
{
	struct net *n = addke_pair(_metadata, addke_two);

	ASSERT_NE(NULL, n);
	/* IKE_AUTH's Child SA had none (its ESP proposals carry no KE) */
	EXPECT_EQ(0, sa_a(n)->children->esp.addke[0]);
	child_rekey_addke(_metadata, n, A, 2);
	EXPECT_EQ(IKEV2_KE_CURVE448, sa_a(n)->children->esp.addke[0]);
	EXPECT_EQ(IKEV2_KE_ECP_256, sa_b(n)->children->esp.addke[1]);
	net_free(n);
}

TEST(child_rekey_addke_by_responder)
{
	struct net *n = addke_pair(_metadata, addke_one);

	ASSERT_NE(NULL, n);
	child_rekey_addke(_metadata, n, B, 1);
	/* and again, by the other side */
	child_rekey_addke(_metadata, n, A, 1);
	net_free(n);
}

/* A new Child SA (CREATE_CHILD_SA without REKEY_SA) with an additional key
 * exchange: installed after its IKE_FOLLOWUP_KE only. */
TEST(child_new_addke)
{
	struct net *n = addke_pair(_metadata, addke_one);
	struct ike_sa *a;

	ASSERT_NE(NULL, n);
	a = sa_a(n);
	child_free(a->children, true);	/* a forgot it: b's goes too, below */
	child_free(sa_b(n)->children, true);
	a->pending |= PEND_CHILD;
	ike_kick(a);
	ASSERT_EQ(IKEV2_EXCH_CREATE_CHILD_SA, head_exch(n));
	deliver(n);
	ASSERT_TRUE(head_response(n));
	deliver(n);
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(0, kernel_sas(B));
	ASSERT_EQ(IKEV2_EXCH_IKE_FOLLOWUP_KE, head_exch(n));
	deliver(n);
	ASSERT_EQ(IKEV2_EXCH_IKE_FOLLOWUP_KE, head_exch(n));
	deliver(n);
	pump(n);
	established(_metadata, n);
	EXPECT_TRUE(keys_agree(n));
	net_free(n);
}

/* A pair with one additional key exchange, a rekeying the Child SA: its
 * first IKE_FOLLOWUP_KE taken out of the network into *k (NULL, and the
 * pair, if it did not come). */
static struct net *followup_held(struct __test_metadata *_metadata, struct pkt **k)
{
	struct net *n = addke_pair(_metadata, addke_one);

	*k = NULL;
	if (!n)
		return NULL;
	rekey(A, true);
	deliver(n);
	deliver(n);
	if (head_exch(n) == IKEV2_EXCH_IKE_FOLLOWUP_KE)
		*k = pop(n);
	return n;
}

/*
 * §2.2.4: the responder drops its state when no IKE_FOLLOWUP_KE comes in
 * time, and answers a late one with STATE_NOT_FOUND; the initiator takes
 * that as the failure of the whole rekey: nothing new installed, the old
 * Child SA stays and is rekeyed again later.
 */
TEST(child_addke_state_dropped_then_not_found)
{
	uint32_t old_in;
	struct pkt *k;
	struct net *n = followup_held(_metadata, &k);

	ASSERT_NE(NULL, k);
	free(k);
	old_in = sa_a(n)->children->spi_in;	/* the old one: the new is not linked */
	A->cfg->conns->retransmit_tries = 20;	/* a waits longer than b */
	listen_log(true);
	/* a's retransmits lost for 21 s: b's state goes after 20 */
	for (int i = 0; i < 210; i++) {
		now_ms += 100;
		timers(n);
		while (n->head)
			drop(n);
	}
	EXPECT_NE(NULL, heard_line("no IKE_FOLLOWUP_KE within"));
	EXPECT_EQ(2, kernel_sas(B));
	EXPECT_EQ(1, count_children(sa_b(n)));
	/* the next retransmit gets STATE_NOT_FOUND */
	jump_to(n, &sa_a(n)->req.timer);
	ASSERT_EQ(IKEV2_EXCH_IKE_FOLLOWUP_KE, head_exch(n));
	deliver(n);
	ASSERT_TRUE(head_response(n));
	EXPECT_TRUE(answer_has(n, IKEV2_N_STATE_NOT_FOUND));
	deliver(n);
	listen_log(false);
	EXPECT_EQ(2, kernel_sas(A));
	EXPECT_EQ(1, count_children(sa_a(n)));
	EXPECT_EQ(old_in, sa_a(n)->children->spi_in);
	EXPECT_EQ(CHILD_S_INSTALLED, sa_a(n)->children->state);
	EXPECT_EQ(1, count_sa(A, IKE_S_ESTABLISHED));
	/* tried again later, this time through */
	elapse(n, 40000);
	one_of_each(_metadata, n);
	EXPECT_NE(old_in, sa_a(n)->children->spi_in);
	net_free(n);
}

/*
 * §2.2.4: "The former 'Diffie-Hellman Group Num' ... field in the KEi(n)
 * and KEr(n) payloads MUST match the n-th negotiated additional key
 * exchange": b expects another method than a sends (its state edited),
 * answers INVALID_KE_PAYLOAD and drops its state; a fails the series.
 * Nothing of the new Child SA is installed at either end.
 */
TEST(child_addke_wrong_method_fails_the_series)
{
	struct net *n = addke_pair(_metadata, addke_one);
	uint32_t old_in;

	ASSERT_NE(NULL, n);
	old_in = sa_a(n)->children->spi_in;
	rekey(A, true);
	deliver(n);
	ASSERT_NE(NULL, sa_b(n)->fu_resp);
	ASSERT_NE(NULL, sa_b(n)->fu_resp->child);
	sa_b(n)->fu_resp->child->esp.addke[0] = IKEV2_KE_ECP_384;
	deliver(n);
	ASSERT_EQ(IKEV2_EXCH_IKE_FOLLOWUP_KE, head_exch(n));
	deliver(n);
	ASSERT_TRUE(head_response(n));
	EXPECT_TRUE(answer_has(n, IKEV2_N_INVALID_KE_PAYLOAD));
	EXPECT_EQ(NULL, sa_b(n)->fu_resp->child);
	deliver(n);
	EXPECT_EQ(NULL, sa_a(n)->fu_init ? sa_a(n)->fu_init->child : NULL);
	EXPECT_EQ(0, queued(n));
	EXPECT_EQ(2, kernel_sas(A));
	EXPECT_EQ(2, kernel_sas(B));
	EXPECT_EQ(old_in, sa_a(n)->children->spi_in);
	EXPECT_EQ(CHILD_S_INSTALLED, sa_a(n)->children->state);
	EXPECT_EQ(1, count_children(sa_b(n)));
	net_free(n);
}

/*
 * An IKE_FOLLOWUP_KE never answered: a gives up on b (the IKE SA goes, as
 * any exchange's timeout), b drops its state after 20 s; neither installed
 * anything of the new Child SA.
 */
TEST(child_addke_unanswered_installs_nothing)
{
	struct pkt *k;
	struct net *n = followup_held(_metadata, &k);

	ASSERT_NE(NULL, k);
	free(k);
	for (int i = 0; i < 250; i++) {
		now_ms += 100;
		timers(n);
		while (n->head && head_to(n) == B)
			drop(n);
		pump(n);
	}
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(NULL, first_sa(B, IKE_S_ESTABLISHED) && first_sa(B, IKE_S_ESTABLISHED)->fu_resp ?
		  first_sa(B, IKE_S_ESTABLISHED)->fu_resp->child : NULL);
	EXPECT_LE(kernel_sas(B), 2);
	net_free(n);
}

/*
 * §2.2.4: "If the initiator continues to receive STATE_NOT_FOUND
 * notifications after several retries, it MUST treat this situation as a
 * fatal error and delete the IKE SA by sending a DELETE payload."  b
 * forgets every series before its IKE_FOLLOWUP_KE arrives.
 */
static void not_found_for_ever(struct __test_metadata *_metadata, struct net *n, bool child)
{
	unsigned int series = 0, guard = 0;

	rekey(A, child);
	while (count_sa(A, IKE_S_ESTABLISHED) && ++guard < 2000) {
		if (head_exch(n) == IKEV2_EXCH_IKE_FOLLOWUP_KE && !head_response(n)) {
			followup_clear(sa_b(n)->fu_resp);
			series++;
		}
		if (!n->head) {
			now_ms += 100;
			timers(n);
			continue;
		}
		deliver(n);
	}
	EXPECT_EQ(FOLLOWUP_NOT_FOUND_MAX, series);
	pump(n);
	EXPECT_EQ(0, count_all(A));
	EXPECT_EQ(0, count_all(B));	/* a's Delete came */
	EXPECT_EQ(0, kernel_sas(A));
	EXPECT_EQ(0, kernel_sas(B));
}

TEST(child_addke_state_not_found_for_ever_deletes_the_ike_sa)
{
	struct net *n = addke_pair(_metadata, addke_one);

	ASSERT_NE(NULL, n);
	not_found_for_ever(_metadata, n, true);
	net_free(n);
}

/* The IKE SA's own rekey with an additional key exchange (x448 as ADDKE1
 * after IKE_INTERMEDIATE in the IKE SA's setup). */
static struct net *ike_addke_pair(struct __test_metadata *_metadata)
{
	struct net *n = net_new(NULL);

	if (!n)
		return NULL;
	for (int i = 0; i < 2; i++) {
		struct proposal_cfg *p = &n->p[i].cfg->conns->ike[0];

		p->addke[0][0] = IKEV2_KE_CURVE448;
		p->n_addke[0] = 1;
		n->p[i].cfg->conns->intermediate = i ? CFG_INTER_ACCEPT : CFG_INTER_YES;
	}
	bring_up(_metadata, n);
	return n;
}

TEST(ike_addke_state_not_found_for_ever_deletes_the_ike_sa)
{
	struct net *n = ike_addke_pair(_metadata);

	ASSERT_NE(NULL, n);
	EXPECT_EQ(IKEV2_KE_CURVE448, sa_a(n)->suite.addke[0]);
	not_found_for_ever(_metadata, n, false);
	net_free(n);
}

/*
 * §2.2.4: "a TEMPORARY_FAILURE notification MUST be sent in response to"
 * a CREATE_CHILD_SA rekeying an SA whose rekey's IKE_FOLLOWUP_KE series
 * this end runs.  a's series is under way (its IKE_FOLLOWUP_KE in flight)
 * when b's rekey of the same Child SA reaches it.
 */
TEST(child_rekey_during_our_followup_gets_temporary_failure)
{
	struct pkt *k;
	struct net *n = followup_held(_metadata, &k);

	ASSERT_NE(NULL, k);
	rekey(B, true);
	ASSERT_EQ(IKEV2_EXCH_CREATE_CHILD_SA, head_exch(n));
	ASSERT_EQ(A, head_to(n));
	deliver(n);
	ASSERT_EQ(IKEV2_EXCH_CREATE_CHILD_SA, head_exch(n));
	ASSERT_TRUE(head_response(n));
	EXPECT_TRUE(answer_to_has(n, B, IKEV2_N_TEMPORARY_FAILURE));
	deliver(n);
	deliver_pkt(k);		/* a's series goes on */
	free(k);
	pump(n);
	one_of_each(_metadata, n);
	EXPECT_EQ(1, sa_a(n)->children->rekeys);
	EXPECT_TRUE(keys_agree(n));
	net_free(n);
}

/*
 * §2.2.4: simultaneous rekeys that both negotiated additional key
 * exchanges: the initiator of the exchange with the lowest nonce stops
 * without IKE_FOLLOWUP_KE ("there is nothing to delete yet"); the other
 * series alone runs, one new pair at the end.
 */
static void addke_collision(struct __test_metadata *_metadata, struct net *n, bool child,
			    bool b_first)
{
	unsigned int a_fu = 0, b_fu = 0, guard = 0;

	rekey(A, child);
	rekey(B, child);
	ASSERT_EQ(2, queued(n));
	deliver(n);		/* a's request at b */
	deliver(n);		/* b's request at a */
	ASSERT_EQ(2, queued(n));
	ASSERT_TRUE(head_response(n));
	if (b_first)
		to_front(n, 1);
	while (n->head && ++guard < 1000) {
		if (head_exch(n) == IKEV2_EXCH_IKE_FOLLOWUP_KE && !head_response(n)) {
			a_fu += head_to(n) == B;
			b_fu += head_to(n) == A;
		}
		deliver(n);
	}
	EXPECT_EQ(1, a_fu + b_fu);
	EXPECT_TRUE(!a_fu || !b_fu);
	pump(n);
	elapse(n, 25000);	/* the loser's state at the winner dropped */
	one_of_each(_metadata, n);
	if (child) {
		EXPECT_EQ(1, sa_a(n)->children->rekeys);
		EXPECT_EQ(1, sa_b(n)->children->rekeys);
		EXPECT_TRUE(keys_agree(n));
	} else {
		EXPECT_EQ(1, sa_a(n)->rekeys);
	}
}

TEST(child_addke_collision_a_answer_first)
{
	struct net *n = addke_pair(_metadata, addke_one);

	ASSERT_NE(NULL, n);
	addke_collision(_metadata, n, true, false);
	net_free(n);
}

TEST(child_addke_collision_b_answer_first)
{
	struct net *n = addke_pair(_metadata, addke_one);

	ASSERT_NE(NULL, n);
	addke_collision(_metadata, n, true, true);
	net_free(n);
}

TEST(ike_addke_collision)
{
	struct net *n = ike_addke_pair(_metadata);

	ASSERT_NE(NULL, n);
	addke_collision(_metadata, n, false, false);
	net_free(n);
}

TEST_HARNESS_MAIN
