// SPDX-License-Identifier: GPL-2.0
/*
 * UDP and TCP (RFC 9329) transports over loopback: marker handling on 4500,
 * keepalive and ESP drops, replies batched per read (order, failures),
 * IPv6 with pktinfo both ways, prefix, framing both ways, bad prefix,
 * connect refused reported, connection limit, idle timeout, the connect
 * race (tcp_connect's race_ms: a second SYN for a lost first one, counted
 * against max_conns).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "loop.h"
#include "tcp.h"
#include "udp.h"
#include "kselftest_harness.h"

struct sink {
	int n;
	enum xport_kind kind;
	uint8_t last[256];
	size_t last_len;
	struct ike_path path;
	int connected, connect_err, closed, close_err;
	struct tcp_conn *conn;
};

static void on_rx(void *ctx, const struct ike_rx *rx)
{
	struct sink *s = ctx;

	s->n++;
	s->kind = rx->path.kind;
	s->path = rx->path;
	s->last_len = rx->len < sizeof(s->last) ? rx->len : sizeof(s->last);
	memcpy(s->last, rx->msg, s->last_len);
}

static void on_connected(void *ctx, struct tcp_conn *c, int err)
{
	struct sink *s = ctx;

	s->connected++;
	s->connect_err = err;
}

static void on_closed(void *ctx, struct tcp_conn *c, int err)
{
	struct sink *s = ctx;

	s->closed++;
	s->close_err = err;
}

static const struct tcp_ops ops = { on_connected, on_closed };

static struct sockaddr_storage lo4(uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s = (void *)&ss;

	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return ss;
}

static void spin(struct loop *l, int *what, int want)
{
	for (int i = 0; i < 200 && *what < want; i++)
		loop_once(l, 10);
}

/* Ports in the dynamic range picked from the pid to avoid collisions. */
static uint16_t base_port(void)
{
	return (uint16_t)(40000 + (getpid() % 5000) * 4);
}

/* A TCP transport on 127.0.0.1, port base_port() + off, with o's limits
 * (its addresses and ports are set here, and kept: the transport holds
 * them), reporting to srv; *dst is where to connect. */
static struct tcp *listen_lo(struct loop *l, struct tcp_opts o, int off, struct sink *srv,
			     struct sockaddr_storage *dst)
{
	static struct sockaddr_storage a;
	static uint16_t port;

	a = lo4(0);
	port = (uint16_t)(base_port() + off);
	*dst = lo4(port);
	o.addrs = &a;
	o.n_addrs = 1;
	o.ports = &port;
	o.n_ports = 1;
	return tcp_open(l, &o, on_rx, srv, &ops, srv);
}

TEST(udp_natt_marker_keepalive_esp)
{
	struct loop *l = loop_new();
	struct sink s = { 0 };
	struct sockaddr_storage a = lo4(0);
	uint16_t p = base_port();
	struct udp_opts o = { .addrs = &a, .n_addrs = 1, .ike_port = p,
			      .natt_port = (uint16_t)(p + 1) };
	struct udp *u = udp_open(l, &o, on_rx, &s);
	struct sockaddr_storage dst = lo4((uint16_t)(p + 1)), dst500 = lo4(p);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint8_t ike[8] = { 0, 0, 0, 0, 'h', 'e', 'l', 'o' };
	uint8_t ka = 0xff, esp[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	ASSERT_NE(NULL, u);
	sendto(fd, &ka, 1, 0, (void *)&dst, sizeof(struct sockaddr_in));
	sendto(fd, esp, 8, 0, (void *)&dst, sizeof(struct sockaddr_in));
	sendto(fd, ike, 8, 0, (void *)&dst, sizeof(struct sockaddr_in));
	spin(l, &s.n, 1);
	ASSERT_EQ(1, s.n);
	EXPECT_EQ(XPORT_UDP4500, s.kind);
	ASSERT_EQ(4, s.last_len);
	EXPECT_EQ(0, memcmp(s.last, "helo", 4));
	EXPECT_EQ(1, u->st.drop_keepalive);
	EXPECT_EQ(1, u->st.drop_esp);
	/* On 500 the datagram is the message, zeros included. */
	sendto(fd, ike, 8, 0, (void *)&dst500, sizeof(struct sockaddr_in));
	spin(l, &s.n, 2);
	ASSERT_EQ(2, s.n);
	EXPECT_EQ(XPORT_UDP500, s.kind);
	EXPECT_EQ(8, s.last_len);

	/* Reply on 4500 carries the marker and comes from the bound addr. */
	struct sockaddr_storage me = lo4(0);
	socklen_t ml = sizeof(me);
	uint8_t back[16];

	bind(fd, (void *)&me, sizeof(struct sockaddr_in));
	getsockname(fd, (void *)&me, &ml);
	struct ike_path path = { .kind = XPORT_UDP4500, .remote = me,
				 .local = lo4((uint16_t)(p + 1)) };
	ASSERT_EQ(0, udp_send(u, &path, (const uint8_t *)"abc", 3));
	ASSERT_EQ(7, recv(fd, back, sizeof(back), 0));
	EXPECT_EQ(0, memcmp(back, "\0\0\0\0abc", 7));
	/* Oversized messages are refused. */
	static uint8_t big[70000];
	EXPECT_EQ(-EMSGSIZE, udp_send(u, &path, big, sizeof(big)));
	close(fd);
	udp_close(u);
	loop_free(l);
}

/* Replies to what arrives; "Z..." to port 0 (the kernel refuses it),
 * "B..." with a datagram too big for the send queue. */
struct echo {
	struct udp *u;
	int client;		/* the peer's socket */
	int n, early;		/* datagrams seen; replies readable before
				 * the batch was done */
	struct sockaddr_storage last_local;	/* where the last one came to */
};

static void on_echo(void *ctx, const struct ike_rx *rx)
{
	static uint8_t big[UDP_TXQ_SLOT + 100];
	struct echo *e = ctx;
	struct ike_path path = rx->path;
	uint8_t b;

	e->n++;
	e->last_local = rx->path.local;
	if (recv(e->client, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1)
		e->early++;
	if (rx->msg[0] == 'Z') {
		((struct sockaddr_in *)&path.remote)->sin_port = 0;
	} else if (rx->msg[0] == 'B') {
		memset(big, 'B', sizeof(big));
		udp_send(e->u, &path, big, sizeof(big));
		return;
	}
	udp_send(e->u, &path, rx->msg, rx->len);
}

TEST(udp_replies_leave_together_in_order)
{
	struct loop *l = loop_new();
	struct echo e = { 0 };
	struct sockaddr_storage a = lo4(0), me = lo4(0);
	uint16_t p = base_port();
	struct udp_opts o = { .addrs = &a, .n_addrs = 1, .natt_port = (uint16_t)(p + 1) };
	struct sockaddr_storage dst = lo4((uint16_t)(p + 1));
	const char *first[] = { "a", "b", "Zc", "Bd", "e" };
	uint8_t back[UDP_TXQ_SLOT + 200], msg[8] = { 0 };
	socklen_t ml = sizeof(me);
	uint64_t tx0;
	ssize_t n;

	e.u = udp_open(l, &o, on_echo, &e);
	ASSERT_NE(NULL, e.u);
	e.client = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_EQ(0, bind(e.client, (void *)&me, sizeof(struct sockaddr_in)));
	getsockname(e.client, (void *)&me, &ml);

	/* Five requests read in one batch: the replies wait for its end,
	 * the refused one is counted and the rest still leave, and the big
	 * one, sent at once, comes after the two queued before it. */
	for (int i = 0; i < 5; i++) {
		memcpy(msg + 4, first[i], strlen(first[i]));
		sendto(e.client, msg, 4 + strlen(first[i]), 0, (void *)&dst,
		       sizeof(struct sockaddr_in));
	}
	tx0 = e.u->st.tx;
	spin(l, &e.n, 5);
	ASSERT_EQ(5, e.n);
	/* Nothing had left until the big one pushed the queue out: only
	 * "e" found replies waiting at the peer. */
	EXPECT_EQ(1, e.early);
	EXPECT_EQ(1, e.u->st.tx_err);
	EXPECT_EQ(tx0 + 4, e.u->st.tx);
	const char *want[] = { "a", "b", NULL, "e" };
	for (int i = 0; i < 4; i++) {
		n = recv(e.client, back, sizeof(back), MSG_DONTWAIT);
		ASSERT_LT(4, n);
		EXPECT_EQ(0, memcmp(back, "\0\0\0\0", 4));	/* marker */
		if (want[i]) {
			EXPECT_EQ(0, memcmp(back + 4, want[i], strlen(want[i])));
		} else {
			EXPECT_EQ(4 + UDP_TXQ_SLOT + 100, n);
		}
	}
	EXPECT_GT(0, recv(e.client, back, sizeof(back), MSG_DONTWAIT));

	/* More than a queue's worth: it is sent when full, then the rest,
	 * all in order. */
	e.n = 0;
	for (int i = 0; i < UDP_TXQ + 5; i++) {
		msg[4] = (uint8_t)('a' + i);
		sendto(e.client, msg, 5, 0, (void *)&dst, sizeof(struct sockaddr_in));
	}
	spin(l, &e.n, UDP_TXQ + 5);
	ASSERT_EQ(UDP_TXQ + 5, e.n);
	for (int i = 0; i < UDP_TXQ + 5; i++) {
		ASSERT_EQ(5, recv(e.client, back, sizeof(back), MSG_DONTWAIT));
		EXPECT_EQ('a' + i, back[4]);
	}
	close(e.client);
	udp_close(e.u);
	loop_free(l);
}

/* Every datagram of a batch the kernel holds, read in one system call:
 * each into its own room (a truncated one among them dropped, its
 * neighbours whole and in order, each with its own source). */
struct seen {
	int n;
	char msg[8][8];
	uint16_t port[8];
};

static void on_seen(void *ctx, const struct ike_rx *rx)
{
	struct seen *s = ctx;

	if (s->n < 8 && rx->len < sizeof(s->msg[0])) {
		memcpy(s->msg[s->n], rx->msg, rx->len);
		s->port[s->n] = ntohs(((const struct sockaddr_in *)&rx->path.remote)->sin_port);
	}
	s->n++;
}

TEST(udp_batch_read_in_one_call)
{
	struct loop *l = loop_new();
	struct seen s = { 0 };
	struct sockaddr_storage a = lo4(0), me = lo4(0), me2 = lo4(0);
	uint16_t p = base_port();
	struct udp_opts o = { .addrs = &a, .n_addrs = 1, .natt_port = (uint16_t)(p + 1),
			      .max_msg = 64 };
	struct sockaddr_storage dst = lo4((uint16_t)(p + 1));
	const char *want[] = { "one", "two", "three", "four" };
	uint8_t msg[4 + 100] = { 0 };
	socklen_t ml = sizeof(me);
	struct udp *u = udp_open(l, &o, on_seen, &s);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), fd2 = socket(AF_INET, SOCK_DGRAM, 0);

	ASSERT_NE(NULL, u);
	ASSERT_EQ(0, bind(fd, (void *)&me, sizeof(struct sockaddr_in)));
	ASSERT_EQ(0, bind(fd2, (void *)&me2, sizeof(struct sockaddr_in)));
	getsockname(fd, (void *)&me, &ml);
	ml = sizeof(me2);
	getsockname(fd2, (void *)&me2, &ml);
	for (int i = 0; i < 4; i++) {
		memcpy(msg + 4, want[i], strlen(want[i]));
		sendto(i % 2 ? fd2 : fd, msg, 4 + strlen(want[i]), 0, (void *)&dst,
		       sizeof(struct sockaddr_in));
		if (i == 1) {	/* above max_msg: truncated */
			memset(msg + 4, 'x', 100);
			sendto(fd, msg, sizeof(msg), 0, (void *)&dst, sizeof(struct sockaddr_in));
		}
	}
	spin(l, &s.n, 4);
	ASSERT_EQ(4, s.n);
	EXPECT_EQ(1, u->st.drop_trunc);
	for (int i = 0; i < 4; i++) {
		EXPECT_STREQ(want[i], s.msg[i]);
		EXPECT_EQ(ntohs(((struct sockaddr_in *)(i % 2 ? &me2 : &me))->sin_port), s.port[i]);
	}
	/* Five datagrams, one receive call (one recvmsg each, and one more
	 * to find the queue empty, before). */
	EXPECT_EQ(1, u->st.rx_calls);
	close(fd);
	close(fd2);
	udp_close(u);
	loop_free(l);
}

/* Wildcard sockets: an IPv6 request to ::1 is seen as sent to ::1
 * (IPV6_PKTINFO on receive) and answered with that address in the
 * reply's IPV6_PKTINFO (a malformed one fails the send), at once and
 * from a batch alike. */
TEST(udp_ipv6_reply_from_the_address_asked)
{
	struct loop *l = loop_new();
	struct echo e = { 0 };
	uint16_t p = base_port();
	struct udp_opts o = { .natt_port = (uint16_t)(p + 1) };
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)(p + 1)),
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in6 me = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in6 from;
	socklen_t fl;
	uint8_t msg[5] = { 0, 0, 0, 0, 'x' }, back[64];

	e.client = socket(AF_INET6, SOCK_DGRAM, 0);
	if (e.client < 0 || bind(e.client, (void *)&me, sizeof(me)) < 0)
		SKIP(return, "no IPv6 loopback here (%s)", strerror(errno));
	e.u = udp_open(l, &o, on_echo, &e);
	ASSERT_NE(NULL, e.u);
	/* Two in one batch. */
	sendto(e.client, msg, sizeof(msg), 0, (void *)&dst, sizeof(dst));
	sendto(e.client, msg, sizeof(msg), 0, (void *)&dst, sizeof(dst));
	spin(l, &e.n, 2);
	ASSERT_EQ(2, e.n);
	ASSERT_EQ(AF_INET6, e.last_local.ss_family);
	EXPECT_EQ(0, memcmp(&((struct sockaddr_in6 *)&e.last_local)->sin6_addr,
			    &in6addr_loopback, 16));
	for (int i = 0; i < 2; i++) {
		fl = sizeof(from);
		ASSERT_EQ(5, recvfrom(e.client, back, sizeof(back), MSG_DONTWAIT,
				      (void *)&from, &fl));
		EXPECT_EQ(0, memcmp(&from.sin6_addr, &in6addr_loopback, 16));
		EXPECT_EQ(htons((uint16_t)(p + 1)), from.sin6_port);
		EXPECT_EQ('x', back[4]);
	}
	/* Outside a batch: sent at once, from ::1 too. */
	struct ike_path path = { .kind = XPORT_UDP4500, .local = e.last_local };
	fl = sizeof(me);
	getsockname(e.client, (void *)&me, &fl);
	memcpy(&path.remote, &me, sizeof(me));
	ASSERT_EQ(0, udp_send(e.u, &path, (const uint8_t *)"now", 3));
	fl = sizeof(from);
	ASSERT_EQ(7, recvfrom(e.client, back, sizeof(back), MSG_DONTWAIT, (void *)&from, &fl));
	EXPECT_EQ(0, memcmp(&from.sin6_addr, &in6addr_loopback, 16));
	close(e.client);
	udp_close(e.u);
	loop_free(l);
}

TEST(tcp_prefix_frames_both_ways)
{
	struct loop *l = loop_new();
	struct sink srv = { 0 }, cli = { 0 };
	struct sockaddr_storage dst;
	struct tcp_opts oc = { 0 };
	struct tcp *ts = listen_lo(l, (struct tcp_opts){ 0 }, 2, &srv, &dst);
	struct tcp *tc = tcp_open(l, &oc, on_rx, &cli, &ops, &cli);
	struct tcp_conn *c;
	int err;

	ASSERT_NE(NULL, ts);
	ASSERT_NE(NULL, tc);
	c = tcp_connect(tc, NULL, &dst, 2000, 0, &err);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, tcp_send(c, (const uint8_t *)"IKEMSG1", 7));
	spin(l, &srv.n, 1);
	ASSERT_EQ(1, cli.connected);
	EXPECT_EQ(0, cli.connect_err);
	ASSERT_EQ(1, srv.n);
	EXPECT_EQ(XPORT_TCP, srv.kind);
	ASSERT_EQ(7, srv.last_len);
	EXPECT_EQ(0, memcmp(srv.last, "IKEMSG1", 7));
	EXPECT_EQ(1, srv.connected);	/* after the prefix */
	/* The responder answers on the same connection. */
	ASSERT_EQ(0, tcp_send(srv.path.conn, (const uint8_t *)"REPLY", 5));
	spin(l, &cli.n, 1);
	ASSERT_EQ(1, cli.n);
	EXPECT_EQ(0, memcmp(cli.last, "REPLY", 5));
	EXPECT_EQ(1, ts->n_conns);
	tcp_conn_put(c);
	tcp_close_all(tc);
	spin(l, &srv.closed, 1);
	EXPECT_EQ(1, srv.closed);
	EXPECT_EQ(0, ts->n_conns);
	tcp_close_all(ts);
	loop_free(l);
}

TEST(tcp_bad_prefix_closes_without_delivery)
{
	struct loop *l = loop_new();
	struct sink srv = { 0 };
	struct sockaddr_storage dst;
	struct tcp *ts = listen_lo(l, (struct tcp_opts){ 0 }, 3, &srv, &dst);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	/* A valid frame but no IKETCP first (TCP-24). */
	uint8_t junk[] = { 0, 9, 0, 0, 0, 0, 'a', 'b', 'c' };
	char b[4];

	ASSERT_NE(NULL, ts);
	ASSERT_EQ(0, connect(fd, (void *)&dst, sizeof(struct sockaddr_in)));
	ASSERT_EQ(sizeof(junk), write(fd, junk, sizeof(junk)));
	for (int i = 0; i < 50 && ts->st.bad_prefix == 0; i++)
		loop_once(l, 10);
	EXPECT_EQ(1, ts->st.bad_prefix);
	EXPECT_EQ(0, srv.n);
	EXPECT_EQ(0, read(fd, b, sizeof(b)));	/* closed by the daemon */
	close(fd);
	tcp_close_all(ts);
	loop_free(l);
}

TEST(tcp_connect_refused_reported)
{
	struct loop *l = loop_new();
	struct sink cli = { 0 };
	struct tcp_opts oc = { 0 };
	struct tcp *tc = tcp_open(l, &oc, on_rx, &cli, &ops, &cli);
	/* Nothing listens on port 1 of loopback. */
	struct sockaddr_storage dst = lo4(1);
	struct tcp_conn *c;
	int err;

	c = tcp_connect(tc, NULL, &dst, 2000, 0, &err);
	if (c) {
		spin(l, &cli.connected, 1);
		EXPECT_EQ(1, cli.connected);
		EXPECT_EQ(-ECONNREFUSED, cli.connect_err);
		tcp_conn_put(c);
	} else {
		EXPECT_EQ(-ECONNREFUSED, err);
	}
	tcp_close_all(tc);
	loop_free(l);
}

/* --- the connect race (tcp_connect's race_ms) ------------------------------ */

/*
 * A client transport and a listener on 127.0.0.1 (lfd, connect to dst).
 * full: the listener's accept queue (backlog 0: one connection) is held
 * full by blocker, so the kernel drops the SYNs that come meanwhile, as a
 * lossy path would, and a connect waits for its 1 s retransmission.
 */
struct race {
	struct loop *l;
	struct sink cli;
	struct tcp *tc;
	struct sockaddr_storage dst;
	int lfd, blocker;
	uint64_t t0;
};

static int race_open(struct race *r, bool full, uint32_t max_conns)
{
	socklen_t sl = sizeof(struct sockaddr_in);
	struct tcp_opts oc = { .max_conns = max_conns };

	memset(r, 0, sizeof(*r));
	r->blocker = -1;
	r->l = loop_new();
	r->tc = tcp_open(r->l, &oc, on_rx, &r->cli, &ops, &r->cli);
	r->dst = lo4(0);
	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	r->t0 = loop_now_ms();
	if (!r->tc || r->lfd < 0 || bind(r->lfd, (void *)&r->dst, sl) ||
	    listen(r->lfd, full ? 0 : 8) || getsockname(r->lfd, (void *)&r->dst, &sl))
		return -1;
	if (!full)
		return 0;
	r->blocker = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return r->blocker < 0 || connect(r->blocker, (void *)&r->dst, sl) ? -1 : 0;
}

static void race_close(struct race *r, struct tcp_conn *c)
{
	if (r->blocker >= 0)
		close(r->blocker);
	close(r->lfd);
	tcp_conn_put(c);
	tcp_close_all(r->tc);
	loop_free(r->l);
}

/* The blocker accepted and gone: the next SYN gets through. */
static void unblock(struct race *r)
{
	close(accept(r->lfd, NULL, NULL));
	close(r->blocker);
	r->blocker = -1;
}

static void run_ms(struct loop *l, uint64_t ms)
{
	uint64_t end = loop_now_ms() + ms;

	while (loop_now_ms() < end)
		loop_once(l, 10);
}

/* Accepts what connected to lfd by now: -1 when nothing did. */
static int accept_now(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 ? accept(lfd, NULL, NULL) : -1;
}

/* Accepts and closes every connection waiting at lfd: how many. */
static int accept_all(int lfd)
{
	int a, n = 0;

	while ((a = accept_now(lfd)) >= 0) {
		close(a);
		n++;
	}
	return n;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/*
 * The first SYN is lost: after race_ms a second connect() goes out, wins,
 * and carries the prefix and the queued message; the first is closed
 * unconnected, so its retransmitted SYN (1 s) never reaches the peer: one
 * connection, well before the kernel's retransmission.
 */
TEST(tcp_connect_race_second_syn_wins)
{
	static const uint8_t want[] = "IKETCP\0\x0d\0\0\0\0IKEMSG1";
	struct race r;
	struct tcp_conn *c;
	uint8_t b[64];
	int a, err;

	ASSERT_EQ(0, race_open(&r, true, 0));
	c = tcp_connect(r.tc, NULL, &r.dst, 3000, 200, &err);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, tcp_send(c, (const uint8_t *)"IKEMSG1", 7));
	run_ms(r.l, 100);
	EXPECT_EQ(0, r.cli.connected);	/* the first SYN was dropped */
	unblock(&r);
	spin(r.l, &r.cli.connected, 1);
	ASSERT_EQ(1, r.cli.connected);
	EXPECT_EQ(0, r.cli.connect_err);
	EXPECT_GT(700, loop_now_ms() - r.t0);	/* not the 1 s retransmission */
	EXPECT_EQ(1, r.tc->st.connect_races);
	EXPECT_EQ(1, r.tc->st.connect_races_won);
	EXPECT_EQ(1, r.tc->st.connected);
	EXPECT_EQ(1, r.tc->n_conns);
	a = accept_now(r.lfd);
	ASSERT_LE(0, a);
	run_ms(r.l, 50);
	ASSERT_EQ(sizeof(want) - 1, recv(a, b, sizeof(b), MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(b, want, sizeof(want) - 1));
	/* Past the first SYN's retransmission: the loser sent nothing. */
	run_ms(r.l, 1300 - (loop_now_ms() - r.t0));
	EXPECT_EQ(-1, accept_now(r.lfd));
	EXPECT_EQ(1, r.cli.connected);
	close(a);
	race_close(&r, c);
}

/*
 * Both SYNs lost, the first retransmitted and through first: the first is
 * kept, the second closed before it connected (no second connection at the
 * listener after its own retransmission either).
 */
TEST(tcp_connect_race_first_syn_wins)
{
	struct race r;
	struct tcp_conn *c;
	int a = -1, err;

	ASSERT_EQ(0, race_open(&r, true, 0));
	c = tcp_connect(r.tc, NULL, &r.dst, 3000, 100, &err);
	ASSERT_NE(NULL, c);
	run_ms(r.l, 200);
	EXPECT_EQ(1, r.tc->st.connect_races);	/* both SYNs dropped so far */
	unblock(&r);
	/* The first SYN's retransmission (1 s) comes before the second's
	 * (1.1 s); its connection is taken at once so that a second would
	 * find room in the queue. */
	while (loop_now_ms() - r.t0 < 2500 && a < 0) {
		loop_once(r.l, 5);
		a = accept_now(r.lfd);
	}
	ASSERT_LE(0, a);
	spin(r.l, &r.cli.connected, 1);
	ASSERT_EQ(1, r.cli.connected);
	EXPECT_EQ(0, r.cli.connect_err);
	EXPECT_EQ(0, r.tc->st.connect_races_won);
	run_ms(r.l, 1500 - (loop_now_ms() - r.t0));
	EXPECT_EQ(-1, accept_now(r.lfd));
	EXPECT_EQ(1, r.tc->n_conns);
	close(a);
	race_close(&r, c);
}

/*
 * The first attempt refused while the race's is pending (the listener gone
 * when the first SYN is retransmitted at 1 s, back before the second's at
 * 1.5 s): the second goes on alone and the connection comes up on it.
 */
TEST(tcp_connect_race_first_refused_second_goes_on)
{
	socklen_t sl = sizeof(struct sockaddr_in);
	struct race r;
	struct tcp_conn *c;
	int one = 1, err;

	ASSERT_EQ(0, race_open(&r, true, 0));
	c = tcp_connect(r.tc, NULL, &r.dst, 3000, 500, &err);
	ASSERT_NE(NULL, c);
	run_ms(r.l, 600);
	EXPECT_EQ(1, r.tc->st.connect_races);
	close(r.lfd);
	run_ms(r.l, 1250 - (loop_now_ms() - r.t0));
	EXPECT_EQ(0, r.cli.connected);		/* the first refused quietly */
	r.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(r.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ASSERT_EQ(0, bind(r.lfd, (void *)&r.dst, sl));
	ASSERT_EQ(0, listen(r.lfd, 8));
	spin(r.l, &r.cli.connected, 1);
	ASSERT_EQ(1, r.cli.connected);
	EXPECT_EQ(0, r.cli.connect_err);
	EXPECT_EQ(1, r.tc->st.connect_races_won);
	EXPECT_EQ(1, r.tc->n_conns);
	EXPECT_EQ(1, accept_all(r.lfd));	/* one connection, one SYN through */
	race_close(&r, c);
}

/* Bound to an address, the second attempt leaves from it too. */
TEST(tcp_connect_race_second_from_the_bound_address)
{
	struct sockaddr_storage from = lo4(0), src;
	socklen_t sl = sizeof(src);
	struct race r;
	struct tcp_conn *c;
	int a, err;

	((struct sockaddr_in *)&from)->sin_addr.s_addr = htonl(0x7f000002);
	ASSERT_EQ(0, race_open(&r, true, 0));
	c = tcp_connect(r.tc, &from, &r.dst, 3000, 200, &err);
	ASSERT_NE(NULL, c);
	run_ms(r.l, 100);
	unblock(&r);		/* the first SYN was dropped, the second passes */
	spin(r.l, &r.cli.connected, 1);
	ASSERT_EQ(1, r.cli.connected);
	EXPECT_EQ(1, r.tc->st.connect_races_won);
	a = accept(r.lfd, (struct sockaddr *)&src, &sl);
	ASSERT_LE(0, a);
	EXPECT_EQ(htonl(0x7f000002), ((struct sockaddr_in *)&src)->sin_addr.s_addr);
	close(a);
	race_close(&r, c);
}

/* A path that answers within race_ms: one connect, one SYN. */
TEST(tcp_connect_race_clean_path_one_syn)
{
	struct race r;
	struct tcp_conn *c;
	int err;

	ASSERT_EQ(0, race_open(&r, false, 0));
	c = tcp_connect(r.tc, NULL, &r.dst, 3000, 50, &err);
	ASSERT_NE(NULL, c);
	spin(r.l, &r.cli.connected, 1);
	EXPECT_EQ(0, r.cli.connect_err);
	run_ms(r.l, 200);
	EXPECT_EQ(0, r.tc->st.connect_races);
	EXPECT_EQ(1, accept_all(r.lfd));	/* one connection, one SYN through */
	race_close(&r, c);
}

/* race_ms 0: one attempt, the kernel's retransmission its only second. */
TEST(tcp_connect_race_off_waits_for_the_kernel)
{
	struct race r;
	struct tcp_conn *c;
	int err;

	ASSERT_EQ(0, race_open(&r, true, 0));
	c = tcp_connect(r.tc, NULL, &r.dst, 3000, 0, &err);
	ASSERT_NE(NULL, c);
	run_ms(r.l, 100);
	unblock(&r);
	run_ms(r.l, 500);
	EXPECT_EQ(0, r.cli.connected);
	EXPECT_EQ(0, r.tc->st.connect_races);
	spin(r.l, &r.cli.connected, 1);
	EXPECT_EQ(1, r.cli.connected);
	EXPECT_EQ(0, r.cli.connect_err);
	EXPECT_LE(900, loop_now_ms() - r.t0);
	race_close(&r, c);
}

/* Both attempts unanswered: the connect timeout fails the connection once,
 * as without the race, and both sockets are closed. */
TEST(tcp_connect_race_both_lost_times_out)
{
	struct race r;
	struct tcp_conn *c;
	int fds, err;

	ASSERT_EQ(0, race_open(&r, true, 0));
	fds = open_fds();
	c = tcp_connect(r.tc, NULL, &r.dst, 400, 100, &err);
	ASSERT_NE(NULL, c);
	spin(r.l, &r.cli.connected, 1);
	ASSERT_EQ(1, r.cli.connected);
	EXPECT_EQ(-ETIMEDOUT, r.cli.connect_err);
	EXPECT_EQ(1, r.tc->st.connect_races);
	EXPECT_EQ(0, r.tc->st.connect_races_won);
	EXPECT_EQ(1, r.tc->st.connect_failed);
	EXPECT_EQ(0, r.tc->n_conns);
	EXPECT_EQ(fds, open_fds());
	run_ms(r.l, 200);
	EXPECT_EQ(1, r.cli.connected);
	race_close(&r, c);
}

/*
 * The race's second socket counts against tcp_max, as a connection does
 * (tcp_max + TCP_FD_RESERVE descriptors, tcp_fit_nofile): with tcp_max
 * taken by the connect itself, no second connect() is made, no second
 * descriptor opened, and the first attempt goes on alone (the kernel's
 * retransmission).
 */
TEST(tcp_connect_race_none_at_tcp_max)
{
	struct race r;
	struct tcp_conn *c;
	int fds, err;

	ASSERT_EQ(0, race_open(&r, true, 1));
	c = tcp_connect(r.tc, NULL, &r.dst, 3000, 100, &err);
	ASSERT_NE(NULL, c);
	fds = open_fds();
	run_ms(r.l, 300);
	EXPECT_EQ(fds, open_fds());
	EXPECT_EQ(0, r.tc->st.connect_races);
	unblock(&r);
	spin(r.l, &r.cli.connected, 1);
	ASSERT_EQ(1, r.cli.connected);
	EXPECT_EQ(0, r.cli.connect_err);
	EXPECT_LE(900, loop_now_ms() - r.t0);
	EXPECT_EQ(1, accept_all(r.lfd));
	race_close(&r, c);
}

/* ... and while it runs, it holds its place: a connect that would take
 * tcp_max past it is refused until the race is over. */
TEST(tcp_connect_race_holds_a_place_in_tcp_max)
{
	struct race r;
	struct tcp_conn *c, *d;
	int err;

	ASSERT_EQ(0, race_open(&r, true, 2));
	c = tcp_connect(r.tc, NULL, &r.dst, 3000, 100, &err);
	ASSERT_NE(NULL, c);
	run_ms(r.l, 200);
	ASSERT_EQ(1, r.tc->st.connect_races);
	EXPECT_EQ(NULL, tcp_connect(r.tc, NULL, &r.dst, 3000, 0, &err));
	EXPECT_EQ(-EMFILE, err);
	unblock(&r);
	spin(r.l, &r.cli.connected, 1);
	ASSERT_EQ(1, r.cli.connected);
	d = tcp_connect(r.tc, NULL, &r.dst, 3000, 0, &err);	/* its place is free */
	EXPECT_NE(NULL, d);
	tcp_conn_put(d);
	race_close(&r, c);
}

/*
 * At stop the loop no longer runs: a message tcp_send refuses (-ENOBUFS,
 * the output queue full; -EAGAIN, espintcp's socket full) is waited for
 * by tcp_wait_room (engine_net wait), which gives up at the deadline and
 * otherwise returns once the socket takes more, what is queued written
 * out, so that the message then goes.
 */
static void wait_room(struct __test_metadata *_metadata, bool espintcp)
{
	static uint8_t msg[32768], b[1 << 16];
	struct race r;
	struct tcp_conn *c;
	uint64_t t0;
	int a, err, refused, n = 0, sent = 0;

	ASSERT_EQ(0, race_open(&r, false, 0));
	c = tcp_connect(r.tc, NULL, &r.dst, 3000, 0, &err);
	ASSERT_NE(NULL, c);
	spin(r.l, &r.cli.connected, 1);
	ASSERT_EQ(0, r.cli.connect_err);
	a = accept(r.lfd, NULL, NULL);
	ASSERT_LE(0, a);
	run_ms(r.l, 20);		/* IKETCP written */
	if (espintcp) {
		err = tcp_enable_espintcp(c);
		if (err == -ENOENT || err == -EOPNOTSUPP) {
			close(a);
			race_close(&r, c);
			SKIP(return, "by design: this kernel has no espintcp ULP (CONFIG_INET_ESPINTCP); vm/36 runs this case on 6.12");
		}
		ASSERT_EQ(0, err);
	}
	/* the peer reads nothing: socket and queue fill up */
	while (n < 100000 && !(err = tcp_send(c, msg, sizeof(msg))))
		n++;
	ASSERT_EQ(espintcp ? -EAGAIN : -ENOBUFS, err);
	refused = err;
	t0 = loop_now_ms();
	while (!(err = tcp_wait_room(c, refused, t0 + 200)))
		;
	EXPECT_EQ(-ETIMEDOUT, err);
	EXPECT_LE(200, loop_now_ms() - t0);
	EXPECT_GT(400, loop_now_ms() - t0);
	/* the peer reads: the next message goes, the loop still stopped */
	for (int i = 0; i < 1000 && !sent; i++) {
		while (recv(a, b, sizeof(b), MSG_DONTWAIT) > 0)
			;
		ASSERT_EQ(0, tcp_wait_room(c, refused, loop_now_ms() + 1000));
		sent = !tcp_send(c, msg, sizeof(msg));
	}
	EXPECT_TRUE(sent);
	close(a);
	race_close(&r, c);
}

TEST(tcp_wait_room_for_a_full_queue)
{
	wait_room(_metadata, false);
}

TEST(tcp_wait_room_for_a_full_espintcp_socket)
{
	wait_room(_metadata, true);
}

/*
 * A connection closed in order (err 0: its IKE SA ended) while its queue
 * holds what the socket had no room for (the SA's last answer, RFC 7296
 * §2.21.3) writes all of it out before its FIN, for TCP_DRAIN_MS at most;
 * a peer that never reads gets the close after that, not sooner.
 */
static struct tcp_conn *queue_full(struct __test_metadata *_metadata, struct race *r,
				   int *a, size_t *bytes)
{
	static uint8_t msg[1000];
	struct tcp_conn *c;
	int err;

	c = tcp_connect(r->tc, NULL, &r->dst, 3000, 0, &err);
	EXPECT_NE(NULL, c);
	if (!c)
		return NULL;
	spin(r->l, &r->cli.connected, 1);
	*a = accept(r->lfd, NULL, NULL);
	EXPECT_LE(0, *a);
	run_ms(r->l, 20);		/* IKETCP written */
	*bytes = 6;
	/* the peer reads nothing yet: the socket fills, then the queue */
	for (int i = 0; i < 100000 && c->outq_off >= c->outq_len; i++) {
		EXPECT_EQ(0, tcp_send(c, msg, sizeof(msg)));
		*bytes += 2 + STREAM_NON_ESP_MARKER + sizeof(msg);
	}
	EXPECT_LT(c->outq_off, c->outq_len);
	return c;
}

TEST(tcp_close_writes_out_the_queue)
{
	static uint8_t b[1 << 16];
	struct race r;
	struct tcp_conn *c;
	size_t want = 0, got = 0;
	ssize_t n = -1;
	int a = -1;

	ASSERT_EQ(0, race_open(&r, false, 0));
	c = queue_full(_metadata, &r, &a, &want);
	ASSERT_NE(NULL, c);
	tcp_conn_close(c, 0);
	EXPECT_TRUE(c->dead);
	for (int i = 0; i < 1000 && n; i++) {
		n = recv(a, b, sizeof(b), MSG_DONTWAIT);
		if (n > 0)
			got += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			break;
		loop_once(r.l, 1);
	}
	EXPECT_EQ(0, n);		/* a FIN after it all, not a reset */
	EXPECT_EQ(want, got);
	EXPECT_EQ(NULL, r.tc->lingering);
	close(a);
	race_close(&r, c);
}

TEST(tcp_close_gives_up_on_a_peer_that_never_reads)
{
	struct race r;
	struct tcp_conn *c;
	uint64_t t0;
	size_t want;
	int a = -1;

	ASSERT_EQ(0, race_open(&r, false, 0));
	c = queue_full(_metadata, &r, &a, &want);
	ASSERT_NE(NULL, c);
	t0 = loop_now_ms();
	tcp_conn_close(c, 0);
	while (r.tc->lingering && loop_now_ms() - t0 < 2000)
		loop_once(r.l, 10);
	EXPECT_EQ(NULL, r.tc->lingering);
	EXPECT_LE(500, loop_now_ms() - t0);	/* TCP_DRAIN_MS */
	EXPECT_GT(1000, loop_now_ms() - t0);
	close(a);
	race_close(&r, c);
}

/* The peer closed fd (EOF or reset) within a second. */
static bool closed_by_peer(struct loop *l, int fd)
{
	char b[16];

	for (int i = 0; i < 100; i++) {
		ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN))
			return true;
		loop_once(l, 10);
	}
	return false;
}

static void prove_all(struct tcp *t)
{
	for (struct tcp_conn *c = t->conns; c; c = c->next)
		tcp_conn_proven(c);
}

/*
 * tcp_per_ip: a new connection beyond the limit displaces the oldest of
 * its address with no IKE SA proven on it; when all are proven it is
 * refused.  Another address is counted apart.
 */
TEST(tcp_per_ip_limit)
{
	struct loop *l = loop_new();
	struct sink srv = { 0 };
	struct sockaddr_storage dst;
	struct tcp *ts = listen_lo(l, (struct tcp_opts){ .max_per_ip = 2 }, 3, &srv, &dst);
	int fd[4];

	ASSERT_NE(NULL, ts);
	for (int i = 0; i < 3; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM, 0);
		ASSERT_EQ(0, connect(fd[i], (void *)&dst, sizeof(struct sockaddr_in)));
		for (int j = 0; j < 50 && ts->st.accepted < (uint64_t)i + 1; j++)
			loop_once(l, 10);
	}
	EXPECT_EQ(2, ts->n_conns);
	EXPECT_EQ(1, ts->st.evicted_per_ip);
	EXPECT_EQ(0, ts->st.refused_per_ip);
	EXPECT_TRUE(closed_by_peer(l, fd[0]));	/* the oldest went */
	EXPECT_FALSE(closed_by_peer(l, fd[2]));

	/* Proven connections are kept: the newcomer is refused. */
	prove_all(ts);
	fd[3] = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_EQ(0, connect(fd[3], (void *)&dst, sizeof(struct sockaddr_in)));
	for (int i = 0; i < 50 && ts->st.refused_per_ip == 0; i++)
		loop_once(l, 10);
	EXPECT_EQ(2, ts->n_conns);
	EXPECT_EQ(1, ts->st.refused_per_ip);
	EXPECT_EQ(1, ts->st.evicted_per_ip);
	EXPECT_TRUE(closed_by_peer(l, fd[3]));

	/* Another address is counted apart. */
	struct sockaddr_storage other = lo4(0);
	int fo = socket(AF_INET, SOCK_STREAM, 0);

	((struct sockaddr_in *)&other)->sin_addr.s_addr = htonl(0x7f000002);
	ASSERT_EQ(0, bind(fo, (void *)&other, sizeof(struct sockaddr_in)));
	ASSERT_EQ(0, connect(fo, (void *)&dst, sizeof(struct sockaddr_in)));
	for (int i = 0; i < 50 && ts->n_conns < 3; i++)
		loop_once(l, 10);
	EXPECT_EQ(3, ts->n_conns);
	EXPECT_EQ(1, ts->st.refused_per_ip);

	/* A connection that goes gives its place back. */
	close(fd[1]);
	for (int i = 0; i < 50 && ts->n_conns > 2; i++)
		loop_once(l, 10);
	EXPECT_EQ(2, ts->n_conns);
	fd[1] = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_EQ(0, connect(fd[1], (void *)&dst, sizeof(struct sockaddr_in)));
	for (int i = 0; i < 50 && ts->n_conns < 3; i++)
		loop_once(l, 10);
	EXPECT_EQ(3, ts->n_conns);
	EXPECT_EQ(1, ts->st.refused_per_ip);
	EXPECT_EQ(1, ts->st.evicted_per_ip);
	for (int i = 0; i < 4; i++)
		close(fd[i]);
	close(fo);
	tcp_close_all(ts);
	loop_free(l);
}

/*
 * fd[0..n-1] connected to dst, each from an address of its own
 * (127.0.0.1 + i) and accepted; first() is applied to the server once
 * the first one is in.
 */
static void connect_each(struct __test_metadata *_metadata, struct loop *l, struct tcp *ts,
			 const struct sockaddr_storage *dst, int *fd, int n,
			 void (*first)(struct tcp *))
{
	for (int i = 0; i < n; i++) {
		struct sockaddr_storage src = lo4(0);

		((struct sockaddr_in *)&src)->sin_addr.s_addr = htonl(0x7f000001 + i);
		fd[i] = socket(AF_INET, SOCK_STREAM, 0);
		ASSERT_EQ(0, bind(fd[i], (void *)&src, sizeof(struct sockaddr_in)));
		ASSERT_EQ(0, connect(fd[i], (const void *)dst, sizeof(struct sockaddr_in)));
		for (int j = 0; j < 50 && ts->st.accepted < (uint64_t)i + 1; j++)
			loop_once(l, 10);
		if (i == 0)
			first(ts);
	}
}

/* The engine's mark of an IKE SA (half open) on the only connection. */
static void half_open_sa(struct tcp *ts)
{
	ts->conns->user = ts;
}

/*
 * tcp_max = 3, five connections from five addresses, first(ts) run on the
 * first once it is accepted: the first is kept and the two oldest after it
 * make room for the last two.  *lp and *tsp for the caller to go on with.
 */
static void first_of_five_kept(struct __test_metadata *_metadata, void (*first)(struct tcp *),
			       struct sink *srv, struct loop **lp, struct tcp **tsp, int *fd)
{
	struct sockaddr_storage dst;
	struct loop *l = loop_new();
	struct tcp *ts = listen_lo(l, (struct tcp_opts){ .max_conns = 3 }, 3, srv, &dst);

	*lp = l;
	*tsp = ts;
	ASSERT_NE(NULL, ts);
	connect_each(_metadata, l, ts, &dst, fd, 5, first);
	EXPECT_EQ(3, ts->n_conns);
	EXPECT_EQ(2, ts->st.evicted_global);
	EXPECT_EQ(0, ts->st.refused_global);
	EXPECT_FALSE(closed_by_peer(l, fd[0]));	/* kept */
	EXPECT_TRUE(closed_by_peer(l, fd[1]));	/* the two oldest after it */
	EXPECT_TRUE(closed_by_peer(l, fd[2]));
	EXPECT_FALSE(closed_by_peer(l, fd[3]));
	EXPECT_FALSE(closed_by_peer(l, fd[4]));
}

/* What first_of_five_kept left open, closed. */
static void five_closed(int *fd, struct tcp *ts, struct loop *l)
{
	for (int i = 0; i < 5; i++)
		close(fd[i]);
	tcp_close_all(ts);
	loop_free(l);
}

/* first_of_five_kept, and no more. */
static void only_first_of_five_kept(struct __test_metadata *_metadata,
				    void (*first)(struct tcp *))
{
	struct sink srv = { 0 };
	struct loop *l;
	struct tcp *ts;
	int fd[5];

	first_of_five_kept(_metadata, first, &srv, &l, &ts, fd);
	five_closed(fd, ts, l);
}

/* tcp_max: the oldest unproven connection of any address makes room. */
static void nothing(struct tcp *ts)
{
	(void)ts;
}

/* After a burst of connections has gone, the allocator is asked to give
 * the memory back (malloc_trim), once; a handful is no burst. */
TEST(tcp_memory_given_back_after_a_connection_burst)
{
	static const int counts[] = { 3, MEM_BURST_MIN + 16 };

	for (int k = 0; k < 2; k++) {
		struct loop *l = loop_new();
		struct sink srv = { 0 };
		struct sockaddr_storage dst;
		struct tcp *ts = listen_lo(l, (struct tcp_opts){ 0 }, 2, &srv, &dst);
		int fd[MEM_BURST_MIN + 16], n = counts[k];

		ASSERT_NE(NULL, ts);
		connect_each(_metadata, l, ts, &dst, fd, n, nothing);
		ASSERT_EQ(n, ts->n_conns);
		for (int i = 0; i < n; i++)
			close(fd[i]);
		for (int i = 0; i < 200 && ts->n_conns; i++)
			loop_once(l, 10);
		ASSERT_EQ(0, ts->n_conns);
		for (int i = 0; i < 30; i++)	/* MEM_BURST_DELAY_MS and more */
			loop_once(l, 50);
		EXPECT_EQ(k, ts->mem.trims);
		tcp_close_all(ts);
		loop_free(l);
	}
}

TEST(tcp_max_displaces_the_oldest_unproven)
{
	/* one proven connection first: kept */
	only_first_of_five_kept(_metadata, prove_all);
}

/*
 * A connection that carries an IKE SA (its IKE_SA_INIT exchange done: the
 * engine set c->user) is not displaced while one without any SA is left:
 * a flood of bare connections must not cut a peer off between IKE_SA_INIT
 * and IKE_AUTH (netns 48 lost its peer that way, reset right after its
 * IKE_AUTH request).  With none left, the oldest unproven one goes.
 */
TEST(tcp_max_keeps_a_connection_with_an_sa)
{
	struct sink srv = { 0 };
	struct sockaddr_storage dst = lo4((uint16_t)(base_port() + 3));
	struct loop *l;
	struct tcp *ts;
	int fd[5];

	first_of_five_kept(_metadata, half_open_sa, &srv, &l, &ts, fd);
	for (struct tcp_conn *c = ts->conns; c; c = c->next)
		c->user = &srv;
	/* Every connection has an SA now: the oldest unproven one goes. */
	int f = socket(AF_INET, SOCK_STREAM, 0);

	ASSERT_EQ(0, connect(f, (void *)&dst, sizeof(struct sockaddr_in)));
	for (int j = 0; j < 50 && ts->st.evicted_global < 3; j++)
		loop_once(l, 10);
	EXPECT_EQ(3, ts->st.evicted_global);
	EXPECT_TRUE(closed_by_peer(l, fd[0]));
	for (struct tcp_conn *c = ts->conns; c; c = c->next)
		c->user = NULL;
	close(f);
	five_closed(fd, ts, l);
}

/* The engine's answer (a cookie, say) on the only connection, no SA. */
static void answered_once(struct tcp *ts)
{
	static const uint8_t msg[28] = { 1 };

	tcp_send(ts->conns, msg, sizeof(msg));
}

/* tcp_max: a connection we answered on (a peer in its cookie exchange)
 * outlasts newer connections that never got an answer (netns 48: a
 * flood's second batch of bare connections displaced the legitimate
 * peer waiting for its cookie). */
TEST(tcp_max_keeps_an_answered_connection)
{
	only_first_of_five_kept(_metadata, answered_once);
}

/* The prefix and n bytes (marker included) of an IKE frame announcing
 * 60,004; the loop runs until the tcp's frame buffers hold want bytes. */
static void send_part(struct __test_metadata *_metadata, struct loop *l, struct tcp *ts,
		      int fd, size_t n, size_t want)
{
	static uint8_t b[8 + 60004];

	ASSERT_GE(sizeof(b) - 8, n);
	memcpy(b, "IKETCP\xea\x66", 8);
	ASSERT_EQ((ssize_t)(8 + n), send(fd, b, 8 + n, 0));
	for (int i = 0; i < 100 && ts->pool.used != want; i++)
		loop_once(l, 10);
	EXPECT_EQ(want, ts->pool.used);
}

/*
 * max_stream_memory: the frame buffers of all connections stay under it.
 * A frame that would pass it closes the oldest unproven connection holding
 * a buffer (never a proven one); when closing those is not enough, its own
 * connection is closed.  A closed connection's buffer is back at once.
 */
TEST(tcp_stream_memory_closes_the_oldest_holder)
{
	struct sink srv = { 0 };
	struct sockaddr_storage a = lo4(0);
	uint16_t port = (uint16_t)(base_port() + 1);
	struct tcp_opts o = { .addrs = &a, .n_addrs = 1, .ports = &port, .n_ports = 1,
			      .max_stream_mem = 65536 };
	struct sockaddr_storage dst = lo4(port);
	struct loop *l = loop_new();
	struct tcp *ts = tcp_open(l, &o, on_rx, &srv, &ops, &srv);
	int fd[4];

	ASSERT_NE(NULL, ts);
	connect_each(_metadata, l, ts, &dst, fd, 4, prove_all);
	send_part(_metadata, l, ts, fd[0], 20000, 32768);	/* proven */
	send_part(_metadata, l, ts, fd[1], 20000, 65536);
	/* 1 KB more: the oldest unproven holder, fd[1], makes room. */
	send_part(_metadata, l, ts, fd[2], 600, 32768 + 1024);
	EXPECT_EQ(1, ts->st.evicted_memory);
	EXPECT_TRUE(closed_by_peer(l, fd[1]));
	/* 60,004 more: fd[2] goes, and that is not enough: fd[3] is closed. */
	send_part(_metadata, l, ts, fd[3], 40000, 32768);
	EXPECT_EQ(3, ts->st.evicted_memory);
	EXPECT_TRUE(closed_by_peer(l, fd[2]));
	EXPECT_TRUE(closed_by_peer(l, fd[3]));
	EXPECT_FALSE(closed_by_peer(l, fd[0]));
	EXPECT_EQ(1, ts->n_conns);
	for (int i = 0; i < 4; i++)
		close(fd[i]);
	tcp_close_all(ts);
	loop_free(l);
}

TEST(tcp_prefix_timeout_and_bad_length)
{
	struct loop *l = loop_new();
	struct sink srv = { 0 };
	struct sockaddr_storage dst;
	struct tcp *ts = listen_lo(l, (struct tcp_opts){ .prefix_timeout_ms = 100 }, 3, &srv, &dst);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int fd2 = socket(AF_INET, SOCK_STREAM, 0);
	/* Prefix split over two writes, then a frame of length 1: fatal. */
	static const uint8_t bad[] = { 'T', 'C', 'P', 0, 1 };
	char b[4];

	ASSERT_NE(NULL, ts);
	/* Silent client: closed after the prefix timeout. */
	ASSERT_EQ(0, connect(fd, (void *)&dst, sizeof(struct sockaddr_in)));
	for (int i = 0; i < 100 && ts->st.prefix_timeout == 0; i++)
		loop_once(l, 10);
	EXPECT_EQ(1, ts->st.prefix_timeout);
	EXPECT_EQ(0, read(fd, b, sizeof(b)));
	ASSERT_EQ(0, connect(fd2, (void *)&dst, sizeof(struct sockaddr_in)));
	ASSERT_EQ(3, write(fd2, "IKE", 3));
	for (int i = 0; i < 5; i++)
		loop_once(l, 10);
	ASSERT_EQ(sizeof(bad), write(fd2, bad, sizeof(bad)));
	for (int i = 0; i < 100 && ts->st.bad_length == 0; i++)
		loop_once(l, 10);
	EXPECT_EQ(1, ts->st.bad_length);
	EXPECT_EQ(0, ts->st.bad_prefix);
	/* Prefix and fatal frame came in one read: the engine never hears
	 * of this connection (no connected, no closed). */
	EXPECT_EQ(0, srv.connected);
	EXPECT_EQ(0, srv.closed);
	EXPECT_EQ(0, srv.n);
	EXPECT_EQ(0, read(fd2, b, sizeof(b)));
	close(fd);
	close(fd2);
	tcp_close_all(ts);
	loop_free(l);
}

/*
 * tcp_idle_timeout: a frame with the zero marker reaches the engine but
 * keeps nothing open by itself; only a connection the engine uses for an
 * IKE SA (conn->user set) stays, and it is closed once that ends.
 */
TEST(tcp_idle_timeout_needs_an_sa)
{
	struct loop *l = loop_new();
	struct sink srv = { 0 };
	struct sockaddr_storage dst;
	struct tcp *ts = listen_lo(l, (struct tcp_opts){ .idle_timeout_ms = 100 }, 3, &srv, &dst);
	static const uint8_t msg[] = { 'I', 'K', 'E', 'T', 'C', 'P',
				       0, 10, 0, 0, 0, 0, 'j', 'u', 'n', 'k' };
	static int engine_sa;
	struct tcp_conn *used;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int fd2 = socket(AF_INET, SOCK_STREAM, 0);
	char b[4];

	ASSERT_NE(NULL, ts);
	ASSERT_EQ(0, connect(fd, (void *)&dst, sizeof(struct sockaddr_in)));
	ASSERT_EQ(sizeof(msg), write(fd, msg, sizeof(msg)));
	spin(l, &srv.n, 1);
	ASSERT_EQ(1, srv.n);
	ASSERT_EQ(0, connect(fd2, (void *)&dst, sizeof(struct sockaddr_in)));
	ASSERT_EQ(sizeof(msg), write(fd2, msg, sizeof(msg)));
	spin(l, &srv.n, 2);
	ASSERT_EQ(2, srv.n);
	/* The "engine" made an IKE SA on the second connection only. */
	used = srv.path.conn;
	used->user = &engine_sa;
	for (int i = 0; i < 50; i++)
		loop_once(l, 10);
	EXPECT_EQ(1, ts->st.idle_timeout);
	EXPECT_EQ(1, srv.closed);
	EXPECT_EQ(0, read(fd, b, sizeof(b)));		/* closed */
	EXPECT_EQ(-1, recv(fd2, b, sizeof(b), MSG_DONTWAIT));	/* still open */
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(1, ts->n_conns);
	/* The SA is gone: the connection goes at the next look. */
	used->user = NULL;
	spin(l, &srv.closed, 2);
	EXPECT_EQ(2, ts->st.idle_timeout);
	EXPECT_EQ(0, read(fd2, b, sizeof(b)));
	EXPECT_EQ(0, ts->n_conns);
	close(fd);
	close(fd2);
	tcp_close_all(ts);
	loop_free(l);
}

/*
 * Out of descriptors: accept() fails with EMFILE while the connection stays
 * in the backlog, so a level-triggered listener fires again at once.  The
 * listener must rest instead of spinning (each loop_once then waits its
 * full 10 ms) and take the connections once descriptors are free again.
 */
TEST(tcp_accept_out_of_descriptors_rests)
{
	struct loop *l = loop_new();
	struct sink srv = { 0 };
	struct sockaddr_storage dst;
	struct tcp *ts = listen_lo(l, (struct tcp_opts){ 0 }, 3, &srv, &dst);
	struct rlimit rl;
	int fd[3], fill[64], n_fill = 0, f;
	uint64_t t0;

	ASSERT_NE(NULL, ts);
	for (int i = 0; i < 3; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM, 0);
		ASSERT_EQ(0, connect(fd[i], (void *)&dst, sizeof(struct sockaddr_in)));
	}
	/* Leave no descriptor free (this test runs in its own process). */
	f = dup(0);
	ASSERT_LE(0, f);
	close(f);
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	rl.rlim_cur = (rlim_t)f + 8;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	while (n_fill < 64 && (f = dup(0)) >= 0)
		fill[n_fill++] = f;
	ASSERT_EQ(EMFILE, errno);
	t0 = loop_now_ms();
	for (int i = 0; i < 30; i++)
		loop_once(l, 10);
	EXPECT_EQ(0, ts->n_conns);
	/* Spinning takes a few ms for the 30 rounds; resting about 300. */
	EXPECT_LE(150, (long)(loop_now_ms() - t0));
	/* Counted once per rest, not once per wake-up. */
	EXPECT_LE(1, ts->st.accept_nofile);
	EXPECT_GE(4, ts->st.accept_nofile);
	while (n_fill)
		close(fill[--n_fill]);
	for (int i = 0; i < 300 && ts->n_conns < 3; i++)
		loop_once(l, 10);
	EXPECT_EQ(3, ts->n_conns);
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	tcp_close_all(ts);
	loop_free(l);
}

/* tcp_max needs tcp_max + TCP_FD_RESERVE descriptors: the soft limit is
 * raised up to the hard one; above that, fewer connections are allowed. */
TEST(tcp_fit_nofile_raises_or_lowers)
{
	struct rlimit rl;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 2000)
		SKIP(return, "hard limit on open files below 2000");
	rl.rlim_cur = 100;
	rl.rlim_max = 2000;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	EXPECT_EQ(1000, tcp_fit_nofile(1000));
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	EXPECT_EQ(1000 + TCP_FD_RESERVE, rl.rlim_cur);
	EXPECT_EQ(2000 - TCP_FD_RESERVE, tcp_fit_nofile(10000));
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	EXPECT_EQ(2000, rl.rlim_cur);
	rl.rlim_cur = rl.rlim_max = 50;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	EXPECT_EQ(1, tcp_fit_nofile(10000));
}

TEST_HARNESS_MAIN
