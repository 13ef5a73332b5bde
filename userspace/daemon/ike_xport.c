// SPDX-License-Identifier: GPL-2.0
/*
 * The transports of an IKE SA (RFC 9329, draft-ietf-ipsecme-ikev2-reliable-
 * transport-04): the state machine of ike_xport.h and everything the engine
 * does about TCP.  The configured transport picks the start:
 *
 *   udp                 RFC 7296: IKE and ESP over UDP (and ESP on IP)
 *   tcp                 RFC 9329: IKE and ESP inside one TCP connection
 *   auto                UDP first; when UDP gets no answer within
 *                       tcp_race_delay, IKE_SA_INIT goes over UDP once more
 *                       and a new IKE SA starts over TCP beside it (§5.1:
 *                       new SPI, NAT-D over the TCP ports); the first to
 *                       complete IKE_SA_INIT goes on, the other is dropped
 *                       (Happy Eyeballs, RFC 8305, between transports)
 *   separate            IKE_SA_INIT on UDP 4500 with N(SEPARATE_TRANSPORTS)
 *                       (RT-1, RT-2); if echoed, IKE moves to TCP 4500 for
 *                       IKE_AUTH and everything after (RT-4, RT-12), ESP
 *                       stays on IP or UDP 4500 (RT-15, RT-20).  The
 *                       connection is opened beside IKE_SA_INIT
 *                       (tcp_preconnect), IKE_AUTH its first message.
 *                       UDP unanswered in tcp_race_delay: races as auto
 *                       does, the TCP SA as separate-tcp-first (RT-9) on
 *                       the connection opened beside IKE_SA_INIT
 *   separate-tcp-first  IKE_SA_INIT over TCP with the notify (RT-9); no
 *                       echo means plain RFC 9329 (RT-11)
 *
 * The TCP originator is the original initiator and keeps that role across
 * rekeys (TCP-1); only it reconnects (TCP-19), re-sending an outstanding
 * request on the new connection (TCP-28).  Requests are not retransmitted
 * over a live connection but still time out (ikesa.c asks
 * xport_retransmits()).
 *
 * Every state change goes through xport_go() / link_go() and so through
 * the two tables below; the unit test (userspace/tests/test_xport.c)
 * walks every row and every refusal, and test_engine.c takes every row
 * with real exchanges.
 *
 * This file knows the IKE SA core (ikesa.c) but no exchange: when a
 * connection comes up it says so (ike_path_ready) and the core decides what
 * goes, IKE_SA_INIT, IKE_AUTH or the outstanding request.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "ike_xport.h"
#include "ikesa.h"
#include "log.h"
#include "tcp.h"
#include "wire.h"

#define RECONNECT_MIN_MS	500
#define RECONNECT_MAX_MS	30000

/* --- the tables ---------------------------------------------------------------
 *
 * Mode.  A row is (from, event) -> to, with the requirement it implements.
 * What no row allows is refused; the notable refusals, each tested:
 *   XS_UDP + XE_TCP_UP       an SA on UDP moves to TCP only by separate
 *                            transports (RT-5); RFC 9329 §5.1 needs a new
 *                            SA for that (TCP-16)
 *   XS_SEP.. + XE_IKE_UDP    once on TCP, IKE stays on TCP (RT-12, RT-30)
 *   XS_UDP_INIT + XE_RACE    transport = udp never goes to TCP (TCP-4)
 *   XS_AUTO_RACE + XE_RACE   one race per attempt (XS_SEP_RACE too)
 *   XS_TCP_INIT + XE_RACE_LOST a TCP SA that races nothing does not lose
 *   XS_*_INIT + XE_INIT_ECHO  an echo we did not ask for is ignored
 *                            (the SA goes on as without it: XE_INIT_DONE)
 *   XS_TCP + XE_ESP_UDP      RFC 9329 keeps ESP in the stream (TCP-14)
 *   XS_TCP + XE_TCP_FAIL     an RFC 9329 SA survives its connection
 *                            (TCP-19); its request times out
 *   XS_SEP + XE_PROBE_FAIL   a probe that concluded does not fail later
 */
const struct xport_rule xport_rules[] = {
	/* The initiator starts by its transport and the reason it was made. */
	{ XS_NEW, XE_START_UDP, XS_UDP_INIT, "RFC 7296; RT-8 (retry without the notify)" },
	{ XS_NEW, XE_START_AUTO, XS_AUTO_INIT, "TCP-13, TCP-15 (UDP first)" },
	{ XS_NEW, XE_START_SEP, XS_SEP_INIT, "RT-1, RT-2" },
	{ XS_NEW, XE_START_TCP, XS_TCP_INIT, "TCP-2; TCP-16 (fallback); RT-25 (rebuild)" },
	{ XS_NEW, XE_START_SEP_TCP, XS_SEP_TCP_INIT, "RT-9" },
	{ XS_NEW, XE_START_RACE, XS_RACE_TCP_INIT,
	  "TCP-16 (a new SPI, NAT-D over the TCP ports), TCP-31" },
	/* The responder by what its first IKE_SA_INIT came over. */
	{ XS_NEW, XE_RX_INIT_UDP, XS_UDP, "RFC 7296; RT-3 (no echo when disabled)" },
	{ XS_NEW, XE_RX_INIT_UDP_SEP, XS_SEP_AWAIT, "RT-3, RT-5" },
	{ XS_NEW, XE_RX_INIT_TCP, XS_TCP, "TCP-2, TCP-12, TCP-14" },
	{ XS_NEW, XE_RX_INIT_TCP_SEP, XS_SEP_PROBE, "RT-3, RT-10" },
	/* COOKIE, INVALID_KE_PAYLOAD: the request again, every payload kept. */
	{ XS_UDP_INIT, XE_INIT_RETRY, XS_UDP_INIT, "RFC 7296 §2.6, §2.7" },
	{ XS_AUTO_INIT, XE_INIT_RETRY, XS_AUTO_INIT, "RFC 7296 §2.6, §2.7" },
	{ XS_AUTO_RACE, XE_INIT_RETRY, XS_AUTO_RACE, "RFC 7296 §2.6, §2.7" },
	{ XS_RACE_TCP_INIT, XE_INIT_RETRY, XS_RACE_TCP_INIT, "TCP-29, TCP-30" },
	{ XS_SEP_INIT, XE_INIT_RETRY, XS_SEP_INIT, "RFC 7296 §2.6 (the notify is repeated)" },
	{ XS_SEP_RACE, XE_INIT_RETRY, XS_SEP_RACE, "RFC 7296 §2.6 (the notify is repeated)" },
	{ XS_TCP_INIT, XE_INIT_RETRY, XS_TCP_INIT, "TCP-29, TCP-30" },
	{ XS_SEP_TCP_INIT, XE_INIT_RETRY, XS_SEP_TCP_INIT, "TCP-29, TCP-30" },
	/* The final IKE_SA_INIT response. */
	{ XS_UDP_INIT, XE_INIT_DONE, XS_UDP, "RFC 7296" },
	{ XS_AUTO_INIT, XE_INIT_DONE, XS_UDP, "TCP-4 (UDP answered)" },
	{ XS_AUTO_RACE, XE_INIT_DONE, XS_UDP, "TCP-4 (UDP answered first: the TCP SA goes)" },
	{ XS_RACE_TCP_INIT, XE_INIT_DONE, XS_TCP, "TCP-14 (TCP answered first: the UDP SA goes)" },
	{ XS_SEP_INIT, XE_INIT_DONE, XS_UDP, "RT-3 (not echoed: the peer lacks it)" },
	{ XS_SEP_RACE, XE_INIT_DONE, XS_UDP,
	  "RT-3 (not echoed: the peer lacks it), TCP-4 (UDP answered first: the TCP SA goes)" },
	{ XS_TCP_INIT, XE_INIT_DONE, XS_TCP, "TCP-14" },
	{ XS_SEP_TCP_INIT, XE_INIT_DONE, XS_TCP, "RT-11" },
	{ XS_SEP_INIT, XE_INIT_ECHO, XS_SEP_CONNECT, "RT-4" },
	{ XS_SEP_RACE, XE_INIT_ECHO, XS_SEP_CONNECT, "RT-4 (UDP answered first: the TCP SA goes)" },
	{ XS_SEP_TCP_INIT, XE_INIT_ECHO, XS_SEP_PROBE, "RT-10, RT-24" },
	/* separate, UDP unanswered in tcp_race_delay: once more over UDP, and
	 * a new SA over TCP with the notify (RT-9) beside it, as auto's race. */
	{ XS_SEP_INIT, XE_RACE, XS_SEP_RACE,
	  "RT-9 (a new SA over TCP with the notify), TCP-15, TCP-16" },
	{ XS_SEP_RACE, XE_RACE_LOST, XS_CLOSED, "TCP-16 (the SA over TCP answered first)" },
	{ XS_SEP_TCP_INIT, XE_RACE_LOST, XS_CLOSED,
	  "TCP-4 (UDP answered first), TCP-18 (our connection closed)" },
	/* auto, UDP unanswered in tcp_race_delay: once more over UDP, and a
	 * new SA over TCP beside this one; the first to complete IKE_SA_INIT
	 * goes on, the other goes without a word (nothing is authenticated:
	 * no INFORMATIONAL is possible; the peer's half-open SA times out). */
	{ XS_AUTO_INIT, XE_RACE, XS_AUTO_RACE,
	  "TCP-13, TCP-15 (UDP retransmitted first), TCP-16 (a new SA over TCP)" },
	{ XS_AUTO_RACE, XE_RACE_LOST, XS_CLOSED, "TCP-16 (the SA over TCP answered first)" },
	{ XS_RACE_TCP_INIT, XE_RACE_LOST, XS_CLOSED,
	  "TCP-4 (UDP answered first), TCP-18 (our connection closed)" },
	/* IKE onto TCP after a UDP IKE_SA_INIT. */
	{ XS_SEP_CONNECT, XE_TCP_UP, XS_SEP, "RT-4, RT-6" },
	{ XS_SEP_AWAIT, XE_TCP_UP, XS_SEP, "RT-5" },
	/* TCP failed before the SA was up. */
	{ XS_TCP_INIT, XE_TCP_FAIL, XS_CLOSED, "TCP-30 (acted on at once)" },
	{ XS_RACE_TCP_INIT, XE_TCP_FAIL, XS_CLOSED, "TCP-30 (the SA over UDP goes on alone)" },
	{ XS_SEP_TCP_INIT, XE_TCP_FAIL, XS_CLOSED, "TCP-30 (acted on at once)" },
	{ XS_SEP_CONNECT, XE_TCP_FAIL, XS_CLOSED, "RT-7 (RT-8 may retry)" },
	{ XS_SEP, XE_TCP_FAIL, XS_CLOSED, "RT-7 (IKE_AUTH's connection broke)" },
	{ XS_SEP_PROBE, XE_TCP_FAIL, XS_CLOSED, "RT-7 (IKE_AUTH's connection broke)" },
	/* IKE over UDP where it may be. */
	{ XS_UDP, XE_IKE_UDP, XS_UDP, "RFC 7296 §2.23" },
	{ XS_SEP_AWAIT, XE_IKE_UDP, XS_SEP_AWAIT, "RT-5 (TCP is offered, not imposed)" },
	/* ESP between IP and UDP 4500 at both ends. */
	{ XS_SEP_PROBE, XE_ESP_UDP, XS_SEP_PROBE_UDP, "RT-27" },
	{ XS_SEP_PROBE_UDP, XE_ESP_UDP, XS_SEP_PROBE_UDP, "RT-27" },
	{ XS_SEP, XE_ESP_UDP, XS_SEP_UDP, "RT-27, RT-16" },
	{ XS_SEP_UDP, XE_ESP_UDP, XS_SEP_UDP, "RT-27" },
	{ XS_SEP_PROBE_UDP, XE_ESP_IP, XS_SEP_PROBE, "RT-15, RT-27" },
	{ XS_SEP_PROBE, XE_ESP_IP, XS_SEP_PROBE, "RT-15" },
	{ XS_SEP_UDP, XE_ESP_IP, XS_SEP, "RT-15" },
	{ XS_SEP, XE_ESP_IP, XS_SEP, "RT-15" },
	{ XS_REBUILD, XE_ESP_UDP, XS_REBUILD, "RT-25 (follow the peer until the Delete)" },
	{ XS_REBUILD, XE_ESP_IP, XS_REBUILD, "RT-25 (follow the peer until the Delete)" },
	/* The reachability probe after a TCP IKE_SA_INIT. */
	{ XS_SEP_PROBE, XE_PROBE_OK, XS_SEP, "RT-24, RT-28" },
	{ XS_SEP_PROBE_UDP, XE_PROBE_OK, XS_SEP_UDP, "RT-27, RT-28" },
	{ XS_SEP_PROBE, XE_PROBE_SKIP, XS_SEP, "RT-24 (SHOULD)" },
	{ XS_SEP_PROBE_UDP, XE_PROBE_SKIP, XS_SEP_UDP, "RT-24 (SHOULD)" },
	{ XS_SEP_PROBE, XE_PROBE_FAIL, XS_REBUILD, "RT-25" },
	{ XS_SEP_PROBE_UDP, XE_PROBE_FAIL, XS_REBUILD, "RT-25" },
};
const size_t xport_n_rules = sizeof(xport_rules) / sizeof(xport_rules[0]);

/*
 * Link: the SA's TCP connection.  The originator states (CONNECTING, UP,
 * DOWN) are those of the original initiator, kept across rekeys (TCP-1).
 * Refused: XL_PEER/XL_PEER_LOST + XLE_CONNECT (only the originator
 * reconnects, TCP-1, TCP-19); XL_CONNECTING/XL_UP + XLE_CONNECT (one
 * connection per IKE SA, TCP-22, TCP-26).
 */
const struct xport_rule xport_link_rules[] = {
	{ XL_NONE, XLE_CONNECT, XL_CONNECTING, "RT-6, TCP-11 (IKETCP first)" },
	{ XL_DOWN, XLE_CONNECT, XL_CONNECTING, "TCP-19, TCP-21 (the originator reconnects)" },
	{ XL_CONNECTING, XLE_CONNECTED, XL_UP, "TCP-1" },
	{ XL_CONNECTING, XLE_FAILED, XL_DOWN, "TCP-19 (again later)" },
	{ XL_UP, XLE_CLOSED, XL_DOWN, "TCP-19 (the SA survives)" },
	{ XL_PEER, XLE_CLOSED, XL_PEER_LOST, "TCP-19 (the originator reconnects)" },
	{ XL_NONE, XLE_PEER_CONN, XL_PEER, "RT-5, TCP-12" },
	{ XL_PEER, XLE_PEER_CONN, XL_PEER, "TCP-26, TCP-27" },
	{ XL_PEER_LOST, XLE_PEER_CONN, XL_PEER, "TCP-19 (new address and port), TCP-26" },
	{ XL_CONNECTING, XLE_PEER_CONN, XL_UP, "TCP-26 (still the originator, TCP-1)" },
	{ XL_UP, XLE_PEER_CONN, XL_UP, "TCP-26 (still the originator, TCP-1)" },
	{ XL_DOWN, XLE_PEER_CONN, XL_UP, "TCP-26 (still the originator, TCP-1)" },
	{ XL_UP, XLE_DROP, XL_NONE, "TCP-29 (the cookie retry on a new connection); RT-3 (pre-connected, not echoed)" },
	{ XL_CONNECTING, XLE_DROP, XL_NONE, "RT-3 (pre-connecting, not echoed)" },
	{ XL_DOWN, XLE_DROP, XL_NONE, "RT-3 (the pre-connect failed, not echoed)" },
};
const size_t xport_n_link_rules = sizeof(xport_link_rules) / sizeof(xport_link_rules[0]);

/* How often each row was taken (status, and the engine test's proof that
 * real exchanges walk every transition). */
static uint64_t mode_hits[sizeof(xport_rules) / sizeof(xport_rules[0])];
static uint64_t link_hits[sizeof(xport_link_rules) / sizeof(xport_link_rules[0])];

uint64_t xport_rule_hits(bool link, size_t row)
{
	if (link)
		return row < xport_n_link_rules ? link_hits[row] : 0;
	return row < xport_n_rules ? mode_hits[row] : 0;
}

static int table_next(const struct xport_rule *t, size_t n, int from, int ev, size_t *rule)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (t[i].from == from && t[i].ev == ev) {
			if (rule)
				*rule = i;
			return t[i].to;
		}
	}
	return -1;
}

int xport_next(enum xport_state from, enum xport_event ev, size_t *rule)
{
	return table_next(xport_rules, xport_n_rules, from, ev, rule);
}

int xport_link_next(enum xport_link from, enum xport_link_event ev, size_t *rule)
{
	return table_next(xport_link_rules, xport_n_link_rules, from, ev, rule);
}

enum cfg_transport xport_start_mode(enum cfg_transport configured, enum xport_origin o)
{
	switch (o) {
	case XO_UDP_RETRY:
		return CFG_XPORT_UDP;
	case XO_REBUILD:
		return CFG_XPORT_TCP;
	case XO_RACE:
		/* Separate transports are still asked for, from TCP (RT-9). */
		return configured == CFG_XPORT_SEPARATE ? CFG_XPORT_SEPARATE_TCP_FIRST :
							  CFG_XPORT_TCP;
	case XO_CONFIG:
		break;
	}
	return configured;
}

enum xport_event xport_start_event(enum cfg_transport mode, enum xport_origin o)
{
	switch (mode) {
	case CFG_XPORT_TCP:
		return o == XO_RACE ? XE_START_RACE : XE_START_TCP;
	case CFG_XPORT_AUTO:
		return XE_START_AUTO;
	case CFG_XPORT_SEPARATE:
		return XE_START_SEP;
	case CFG_XPORT_SEPARATE_TCP_FIRST:
		return XE_START_SEP_TCP;
	case CFG_XPORT_UDP:
		break;
	}
	return XE_START_UDP;
}

static const char *const state_names[XS_COUNT] = {
	[XS_NEW] = "new", [XS_UDP_INIT] = "udp-init", [XS_AUTO_INIT] = "auto-init",
	[XS_AUTO_RACE] = "auto-race", [XS_SEP_INIT] = "separate-init",
	[XS_SEP_RACE] = "separate-race",
	[XS_TCP_INIT] = "tcp-init", [XS_RACE_TCP_INIT] = "race-tcp-init",
	[XS_SEP_TCP_INIT] = "separate-tcp-init", [XS_UDP] = "udp",
	[XS_SEP_CONNECT] = "separate-connect", [XS_SEP_AWAIT] = "separate-await",
	[XS_SEP_PROBE] = "separate-probe", [XS_SEP_PROBE_UDP] = "separate-probe-udp",
	[XS_SEP] = "separate", [XS_SEP_UDP] = "separate-udp", [XS_TCP] = "tcp",
	[XS_REBUILD] = "rebuild", [XS_CLOSED] = "closed",
};

static const char *const event_names[XE_COUNT] = {
	[XE_START_UDP] = "start-udp", [XE_START_AUTO] = "start-auto",
	[XE_START_SEP] = "start-separate", [XE_START_TCP] = "start-tcp",
	[XE_START_SEP_TCP] = "start-separate-tcp", [XE_START_RACE] = "start-race",
	[XE_RX_INIT_UDP] = "rx-init-udp",
	[XE_RX_INIT_UDP_SEP] = "rx-init-udp-separate", [XE_RX_INIT_TCP] = "rx-init-tcp",
	[XE_RX_INIT_TCP_SEP] = "rx-init-tcp-separate", [XE_INIT_RETRY] = "init-retry",
	[XE_INIT_DONE] = "init-done", [XE_INIT_ECHO] = "init-echo",
	[XE_RACE] = "race", [XE_RACE_LOST] = "race-lost",
	[XE_TCP_UP] = "tcp-up", [XE_TCP_FAIL] = "tcp-fail",
	[XE_IKE_UDP] = "ike-on-udp", [XE_ESP_UDP] = "esp-to-udp", [XE_ESP_IP] = "esp-to-ip",
	[XE_PROBE_OK] = "probe-ok", [XE_PROBE_SKIP] = "probe-skip",
	[XE_PROBE_FAIL] = "probe-fail",
};

static const char *const link_names[XL_COUNT] = {
	[XL_NONE] = "none", [XL_CONNECTING] = "connecting", [XL_UP] = "up",
	[XL_DOWN] = "down", [XL_PEER] = "peer", [XL_PEER_LOST] = "peer-lost",
};

static const char *const link_event_names[XLE_COUNT] = {
	[XLE_CONNECT] = "connect", [XLE_CONNECTED] = "connected", [XLE_FAILED] = "failed",
	[XLE_CLOSED] = "closed", [XLE_PEER_CONN] = "peer-connection", [XLE_DROP] = "drop",
};

#define NAME(tab, i) ((unsigned int)(i) < sizeof(tab) / sizeof(tab[0]) && tab[i] ? tab[i] : "?")

const char *xport_state_name(enum xport_state s)
{
	return NAME(state_names, s);
}

const char *xport_event_name(enum xport_event ev)
{
	return NAME(event_names, ev);
}

const char *xport_link_name(enum xport_link l)
{
	return NAME(link_names, l);
}

const char *xport_link_event_name(enum xport_link_event ev)
{
	return NAME(link_event_names, ev);
}

bool xport_state_separate(enum xport_state s)
{
	switch (s) {
	case XS_SEP_CONNECT:
	case XS_SEP_AWAIT:
	case XS_SEP_PROBE:
	case XS_SEP_PROBE_UDP:
	case XS_SEP:
	case XS_SEP_UDP:
	case XS_REBUILD:
		return true;
	default:
		return false;
	}
}

bool xport_state_ike_tcp(enum xport_state s)
{
	switch (s) {
	case XS_TCP_INIT:
	case XS_RACE_TCP_INIT:
	case XS_SEP_TCP_INIT:
	case XS_SEP_CONNECT:
	case XS_SEP_PROBE:
	case XS_SEP_PROBE_UDP:
	case XS_SEP:
	case XS_SEP_UDP:
	case XS_TCP:
	case XS_REBUILD:
		return true;
	default:
		return false;
	}
}

bool xport_state_offers(enum xport_state s)
{
	return s == XS_SEP_INIT || s == XS_SEP_RACE || s == XS_SEP_TCP_INIT;
}

bool xport_state_probing(enum xport_state s)
{
	return s == XS_SEP_PROBE || s == XS_SEP_PROBE_UDP;
}

bool xport_link_originator(enum xport_link l)
{
	return l == XL_CONNECTING || l == XL_UP || l == XL_DOWN;
}

/* --- transitions of one SA ------------------------------------------------------ */

int xport_go(struct ike_sa *sa, enum xport_event ev)
{
	struct ike_xport *x = &sa->x;
	size_t row;
	int to = xport_next(x->state, ev, &row);

	if (to < 0) {
		log_debug("%s: transport: %s refused in state %s", ike_sa_name(sa),
			  xport_event_name(ev), xport_state_name(x->state));
		return -EPERM;
	}
	mode_hits[row]++;
	if (to != (int)x->state)
		log_debug("%s: transport: %s -> %s on %s (%s)", ike_sa_name(sa),
			  xport_state_name(x->state), xport_state_name(to),
			  xport_event_name(ev), xport_rules[row].cite);
	x->state = to;
	return 0;
}

static int link_go(struct ike_sa *sa, enum xport_link_event ev)
{
	struct ike_xport *x = &sa->x;
	size_t row;
	int to = xport_link_next(x->link, ev, &row);

	if (to < 0) {
		log_debug("%s: TCP: %s refused in state %s", ike_sa_name(sa),
			  xport_link_event_name(ev), xport_link_name(x->link));
		return -EPERM;
	}
	link_hits[row]++;
	x->link = to;
	return 0;
}

/* --- connections ---------------------------------------------------------------- */

/* Real kernel ESP (not the in-memory backend): espintcp is worth enabling. */
static bool kernel_esp(const struct engine *e)
{
	return e->kb && e->kb->kind != KB_NONE;
}

const char *ike_xport_str(const struct ike_sa *sa)
{
	const struct ike_xport *x = &sa->x;

	if (xport_separate(x))
		return sa->path.kind == XPORT_TCP ? "separate (IKE on TCP)" :
						    "separate (IKE on UDP)";
	if (sa->path.kind == XPORT_TCP)
		return x->origin == XO_REBUILD ?
		       "tcp (rebuilt: ESP did not get through beside it)" :
		       x->origin == XO_RACE ? "tcp (raced udp, answered first)" : "tcp";
	return xport_name(sa->path.kind);
}

static void detach_conn(struct ike_sa *sa)
{
	struct tcp_conn *c = sa->path.conn;

	if (!c)
		return;
	if (c->user == sa)
		c->user = NULL;
	sa->path.conn = NULL;
	tcp_conn_put(c);
}

void xport_close(struct engine *e, struct tcp_conn *c, int err)
{
	if (e->net)
		e->net->close(e->net_ctx, c, err);
}

/* The SA's path takes c (a reference of its own). */
static void attach_conn(struct ike_sa *sa, struct tcp_conn *c)
{
	sa->path.conn = tcp_conn_get(c);
	c->user = sa;
	if (sa->state >= IKE_S_ESTABLISHED)
		tcp_conn_proven(c);	/* an authenticated message came on it */
}

/* The pre-connection leaves the SA: closed, or failed (not counted). */
static void pre_close(struct ike_sa *sa)
{
	struct tcp_conn *c = sa->x.pre;

	sa->x.pre = NULL;
	sa->x.pre_err = 0;
	if (!c)
		return;
	if (c->user == sa)
		c->user = NULL;
	if (!c->dead && !sa->e->shutting_down)
		xport_close(sa->e, c, 0);
	tcp_conn_put(c);
}

void ike_xport_free(struct ike_sa *sa)
{
	struct tcp_conn *c = sa->path.conn;
	bool successor;

	timer_cancel(sa->e->loop, &sa->x.timer);
	free(sa->x.esp);
	sa->x.esp = NULL;
	pre_close(sa);
	if (sa->x.race) {
		sa->x.race->x.race = NULL;
		sa->x.race = NULL;
	}
	if (!c)
		return;
	/* One TCP connection per IKE SA (TCP-22, TCP-18): when the SA ends with no
	 * successor (a rekey hands the connection on), its originator closes
	 * the connection. */
	successor = c->user && c->user != sa;
	tcp_conn_get(c);
	detach_conn(sa);
	if (!successor && xport_tcp_originator(&sa->x) && !c->dead && !sa->e->shutting_down)
		xport_close(sa->e, c, 0);
	tcp_conn_put(c);
}

/* A connection to the peer's TCP port from our address on the SA's path:
 * NULL with *err, logged. */
static struct tcp_conn *open_conn(struct ike_sa *sa, int *err)
{
	struct sockaddr_storage local = sa->path.local, remote = sa->path.remote;
	struct engine *e = sa->e;
	struct tcp_conn *c;
	char a[64];

	addr_set_port(&remote, sa->cfg->tcp_port);
	addr_set_port(&local, 0);
	*err = -ENOTCONN;
	c = e->net ? e->net->connect(e->net_ctx, &local, &remote,
				     sa->cfg->tcp_connect_timeout_ms,
				     sa->cfg->tcp_connect_race_ms, err) : NULL;
	if (!c) {
		addr_str(&remote, a, sizeof(a));
		log_warn("%s: cannot connect to %s port %u over TCP: %s", ike_sa_name(sa),
			 a, sa->cfg->tcp_port, *err == -ENOTCONN ?
			 "the TCP listener, which IKE over TCP needs, is not open" :
			 strerror(-*err));
		return NULL;
	}
	link_go(sa, XLE_CONNECT);
	e->st.tcp_connects++;
	c->user = sa;
	return c;
}

/* c, which open_conn made for sa, becomes the SA's path (tcp_connect's
 * reference); the local port is the connection's once it is up (tcp_up). */
static void path_take_conn(struct ike_sa *sa, struct tcp_conn *c)
{
	sa->path.kind = XPORT_TCP;
	sa->path.conn = c;
	sa->path.remote = c->remote;
	addr_set_port(&sa->path.local, 0);
}

/*
 * separate (tcp_preconnect): the connection IKE_AUTH needs is opened as
 * IKE_SA_INIT goes out over UDP, so that its handshake, a lost SYN's
 * retransmission included, overlaps the first round trip.  The draft
 * moves IKE after IKE_SA_INIT and says nothing of when the connect
 * starts: nothing but the IKETCP prefix (RT-6, TCP-11, queued by tcp.c
 * with the connect) goes on it before the echo, and IKE_AUTH is its first
 * message (RT-4).  A failure is kept for the echo (xport_auth_waits) and
 * does not touch the UDP exchange: the peer may not want TCP at all.
 */
static void pre_connect(struct ike_sa *sa)
{
	struct tcp_conn *c;
	int err;

	sa->e->st.tcp_preconnects++;
	c = open_conn(sa, &err);
	if (!c) {
		sa->e->st.tcp_preconnects_failed++;
		sa->x.pre_err = err;
		return;
	}
	sa->x.pre = c;		/* tcp_connect's reference */
}

/* The pre-connection finished connecting (err 0), failed, or closed
 * (closed) before the echo: kept for it, or its failure is. */
static void pre_done(struct ike_sa *sa, int err, bool closed)
{
	struct tcp_conn *c = sa->x.pre;

	if (!err && !closed) {
		link_go(sa, XLE_CONNECTED);
		log_debug("%s: TCP port %u connected ahead of the IKE_SA_INIT response",
			  ike_sa_name(sa), sa->cfg->tcp_port);
		return;
	}
	closed = closed && sa->x.link == XL_UP;	/* not while connecting */
	sa->x.pre = NULL;
	if (c->user == sa)
		c->user = NULL;
	tcp_conn_put(c);
	link_go(sa, closed ? XLE_CLOSED : XLE_FAILED);
	/* A connection that was up and went (the peer's tcp_idle_timeout)
	 * is opened again at the echo; a refused connect is RT-7's then. */
	sa->x.pre_err = closed ? 0 : err ? err : -ECONNRESET;
	if (!closed)
		sa->e->st.tcp_preconnects_failed++;
	log_info("%s: TCP port %u %s before the IKE_SA_INIT response (%s); IKE_SA_INIT goes on over UDP",
		 ike_sa_name(sa), sa->cfg->tcp_port, closed ? "closed" : "unreachable",
		 err ? strerror(-err) : "by the peer");
}

static void path_local_of_conn(struct ike_sa *sa);

/*
 * separate's race: the TCP SA being made takes the connection its UDP rival
 * opened beside IKE_SA_INIT (tcp_preconnect), connecting or up, so that UDP
 * blocked costs one connect and no wait for it.  Nothing went on it but the
 * IKETCP prefix (RT-6); its IKE_SA_INIT is its first message.  NULL when
 * there is none to take.
 */
static struct tcp_conn *race_take_conn(struct ike_sa *sa)
{
	struct tcp_conn *c = sa->e->race_conn;
	struct ike_sa *o = c ? c->user : NULL;

	sa->e->race_conn = NULL;
	if (!c || !o || o->x.pre != c || c->dead)
		return NULL;
	o->x.pre = NULL;	/* its reference is ours now (tcp_connect's) */
	o->x.pre_err = 0;
	link_go(o, XLE_DROP);
	link_go(sa, XLE_CONNECT);
	c->user = sa;
	log_debug("%s: takes the TCP connection %s opened beside IKE_SA_INIT",
		  ike_sa_name(sa), ike_sa_name(o));
	return c;
}

int ike_tcp_connect(struct ike_sa *sa)
{
	struct tcp_conn *c;
	int err;

	if (sa->path.conn && !sa->path.conn->dead)
		return 0;	/* connecting or up */
	if (sa->path.conn) {
		/* Dead before its close was reported: lost all the same. */
		detach_conn(sa);
		link_go(sa, sa->x.link == XL_CONNECTING ? XLE_FAILED : XLE_CLOSED);
	}
	if (xport_link_next(sa->x.link, XLE_CONNECT, NULL) < 0) {
		log_debug("%s: not reconnecting: the peer is the TCP originator (TCP-1)",
			  ike_sa_name(sa));
		return -EPERM;
	}
	c = race_take_conn(sa);
	if (c) {
		path_take_conn(sa, c);
		if (!c->connecting) {
			/* Up already: what waits for it goes now. */
			link_go(sa, XLE_CONNECTED);
			path_local_of_conn(sa);
		}
		return 0;
	}
	c = open_conn(sa, &err);
	if (!c)
		return err;
	path_take_conn(sa, c);
	return 0;
}

/* Separate transports: ESP's own path p (without a connection), kept
 * apart from the SA that most never need; NULL when out of memory. */
static struct ike_path *esp_path_set(struct ike_sa *sa, const struct ike_path *p)
{
	if (!sa->x.esp && !(sa->x.esp = malloc(sizeof(*sa->x.esp))))
		return NULL;
	*sa->x.esp = *p;
	sa->x.esp->conn = NULL;
	return sa->x.esp;
}

/* Separate transports: ESP's UDP path when IKE came to TCP first (RT-9). */
static void esp_path_from_tcp(struct ike_sa *sa)
{
	struct ike_path *u = esp_path_set(sa, &sa->path);

	if (!u)
		return;
	u->kind = XPORT_UDP4500;
	addr_set_port(&u->local, sa->e->cfg->daemon.natt_port);
	addr_set_port(&u->remote, IKEV2_NATT_PORT);
}

const struct ike_path *ike_esp_path(const struct ike_sa *sa)
{
	const struct ike_xport *x = &sa->x;

	if (sa->path.kind != XPORT_TCP || xport_esp_in_tcp(x) || !xport_separate(x) || !x->esp)
		return &sa->path;
	return x->esp;
}

/* --- starting an SA ----------------------------------------------------------- */

static void race_fire(struct timer *t);
static void reconnect_fire(struct timer *t);

int xport_start(struct ike_sa *sa)
{
	const struct conn_cfg *cc = sa->cfg;
	struct engine *e = sa->e;
	struct ike_xport *x = &sa->x;
	int r;

	x->mode = xport_start_mode(cc->transport, x->origin);
	if (xport_go(sa, xport_start_event(x->mode, x->origin)))
		return -EINVAL;
	switch (x->state) {
	case XS_TCP_INIT:
	case XS_RACE_TCP_INIT:
	case XS_SEP_TCP_INIT:
		/* IKE_SA_INIT goes out once connected: NAT-D covers the
		 * connection's ports (TCP-31); at once on one that is up
		 * (separate's race). */
		sa->state = IKE_S_INIT_SENT;
		r = ike_tcp_connect(sa);
		return r ? r : x->link == XL_UP ? 1 : 0;
	case XS_SEP_INIT:
		/* RT-1: UDP to 4500, behind the non-ESP marker. */
		sa->path.kind = XPORT_UDP4500;
		addr_set_port(&sa->path.local, e->cfg->daemon.natt_port);
		addr_set_port(&sa->path.remote, IKEV2_NATT_PORT);
		/* UDP may be blocked altogether: TCP races it (race_fire). */
		timer_arm(e->loop, &x->timer, cc->tcp_race_delay_ms, race_fire);
		if (cc->tcp_preconnect)
			pre_connect(sa);
		return 1;
	case XS_AUTO_INIT:
		timer_arm(e->loop, &x->timer, cc->tcp_race_delay_ms, race_fire);
		/* fall through */
	default:
		sa->path.kind = XPORT_UDP500;
		addr_set_port(&sa->path.local, e->cfg->daemon.udp_port);
		return 1;
	}
}

/* --- initiations for later ------------------------------------------------------ */

struct xport_later {
	struct xport_later *next;
	enum xport_origin origin;
	char name[];
};

static void later_fire(struct timer *t)
{
	struct engine *e = container_of(t, struct engine, later_timer);
	struct xport_later *l;
	int err;

	while ((l = e->later)) {
		/* By name: a reload may have replaced the config since. */
		const struct conn_cfg *cc = config_conn(e->cfg, l->name);

		e->later = l->next;
		if (!cc)
			log_info("%s: not rebuilt: the connection is gone", l->name);
		else if (!ike_initiate(e, cc, l->origin, &err))
			log_err("%s: rebuilding over TCP failed: %s", l->name, strerror(-err));
		free(l);
	}
}

void xport_initiate_later(struct engine *e, const char *conn, enum xport_origin origin)
{
	size_t n = strlen(conn) + 1;
	struct xport_later *l = malloc(sizeof(*l) + n), **pp;

	if (!l) {
		log_err("%s: cannot rebuild: out of memory", conn);
		return;
	}
	l->next = NULL;
	l->origin = origin;
	memcpy(l->name, conn, n);
	for (pp = &e->later; *pp; pp = &(*pp)->next)
		;
	*pp = l;
	timer_arm(e->loop, &e->later_timer, 0, later_fire);
}

void xport_later_free(struct engine *e)
{
	struct xport_later *l;

	timer_cancel(e->loop, &e->later_timer);
	while ((l = e->later)) {
		e->later = l->next;
		free(l);
	}
}

/*
 * auto: UDP had tcp_race_delay (about one round trip) to answer.  As Happy
 * Eyeballs (RFC 8305) races address families, TCP now races UDP: RFC 9329
 * §5.1 lets TCP start "slightly before" UDP's retransmissions are spent,
 * recommends one UDP retransmission first (TCP-15: it goes now, ahead of
 * its timer) and wants a new IKE_SA_INIT over TCP, new SPI and NAT-D over
 * the TCP ports (TCP-16).  The UDP SA keeps retransmitting; whichever
 * completes IKE_SA_INIT first goes on (xport_init_done).  When UDP answers
 * within the delay no connection is ever opened.  tcp_race_delay = 0 starts
 * TCP right after the first UDP request (from the loop: the timer is 0),
 * without sending it again: the administrator's choice against §5.1's
 * advice, for paths known to drop UDP often.
 *
 * separate races the same way (it used to drop UDP for TCP after
 * tcp_fallback_delay, 1.5 s): its TCP SA is separate-tcp-first (RT-9: the
 * notify from TCP) and takes the connection opened beside the UDP
 * IKE_SA_INIT (race_take_conn), so UDP blocked costs the delay and one
 * round trip, and one connect.  When UDP then wins with the echo, IKE_AUTH
 * connects again (xport_auth_waits).
 */
static void race_fire(struct timer *t)
{
	struct ike_sa *sa = container_of(t, struct ike_sa, x.timer);
	struct engine *e = sa->e;
	const struct conn_cfg *cc = sa->cfg;
	struct ike_sa *ns;
	int err;

	if (sa->state != IKE_S_INIT_SENT || sa->x.race || xport_go(sa, XE_RACE))
		return;
	if (cc->tcp_race_delay_ms) {
		ike_req_retransmit(sa);
		log_info("%s: no answer over UDP in %u ms: IKE_SA_INIT sent again, and over TCP port %u beside it",
			 ike_sa_name(sa), cc->tcp_race_delay_ms, cc->tcp_port);
	} else {
		/* 0: both at once, the request just sent goes only once. */
		log_info("%s: tcp_race_delay = 0: IKE_SA_INIT over TCP port %u beside UDP",
			 ike_sa_name(sa), cc->tcp_port);
	}
	e->st.tcp_races++;
	e->race_conn = sa->x.pre;
	ns = ike_initiate(e, cc, XO_RACE, &err);
	e->race_conn = NULL;
	if (!ns) {
		log_warn("%s: no TCP beside UDP: %s; UDP goes on alone", cc->name,
			 strerror(-err));
		return;
	}
	ns->x.race = sa;
	sa->x.race = ns;
	ns->keying_attempt = sa->keying_attempt;
	ike_set_trigger(ns, sa->trigger);
	log_info("%s: IKE_SA_INIT over TCP, racing %s over UDP", ike_sa_name(ns),
		 ike_sa_name(sa));
}

bool xport_race_goes_on(struct ike_sa *sa)
{
	struct ike_sa *o = sa->x.race;

	if (!o)
		return false;
	log_info("%s: over %s given up; %s goes on over %s", ike_sa_name(sa),
		 xport_name(sa->path.kind), ike_sa_name(o), xport_name(o->path.kind));
	return true;
}

/*
 * separate's race won by UDP with the echo: the connection the TCP SA took
 * from it (race_take_conn) goes back for IKE_AUTH when it is still
 * connecting (a lost SYN),
 * as nothing but the IKETCP prefix can have gone on it; once the TCP
 * SA's IKE_SA_INIT went, the connection is that SA's (TCP-22) and goes
 * with it.
 */
static void race_give_back(struct ike_sa *sa, struct ike_sa *o)
{
	struct tcp_conn *c = o->path.conn;

	if (sa->x.state != XS_SEP_CONNECT || sa->x.pre || !c || !c->connecting || c->dead)
		return;
	o->path.conn = NULL;	/* its reference is sa's now */
	link_go(o, XLE_DROP);
	sa->x.pre = c;
	sa->x.pre_err = 0;
	c->user = sa;
	link_go(sa, XLE_CONNECT);
}

/* The first of a race to complete IKE_SA_INIT: the other goes. */
static void race_won(struct ike_sa *sa)
{
	struct ike_sa *o = sa->x.race;
	bool tcp = sa->path.kind == XPORT_TCP;
	uint64_t since;

	if (!o)
		return;
	/* From the UDP SA's start: the initiation, as far as the race goes. */
	since = ike_now() - (tcp ? o->created_ms : sa->created_ms);
	sa->x.race = NULL;
	o->x.race = NULL;
	xport_go(o, XE_RACE_LOST);
	if (!tcp)
		race_give_back(sa, o);
	if (tcp)
		sa->e->st.tcp_races_tcp_won++;
	else
		sa->e->st.tcp_races_udp_won++;
	log_info("%s: %s answered first, %llu ms after initiating; %s over %s dropped",
		 ike_sa_name(sa), tcp ? "TCP" : "UDP", (unsigned long long)since,
		 ike_sa_name(o), tcp ? "UDP" : "TCP");
	/* Nothing is authenticated yet: no Delete can go.  A TCP connection
	 * of the loser is closed with it (ike_xport_free, TCP-18). */
	ike_sa_destroy(o, NULL);
}

/*
 * RT-8: TCP 4500 could not be reached after a separate-transports
 * IKE_SA_INIT.  A new attempt over plain UDP is allowed when the
 * exchange fits UDP: our key exchanges are all far below the size that
 * would need IKE_SA_INIT fragmentation.
 */
static bool fits_udp(const struct ike_sa *sa)
{
	return !sa->init || sa->init->init_req.len < 1200;
}

static void reconnect_later(struct ike_sa *sa)
{
	unsigned int n = sa->x.reconnects < 6 ? sa->x.reconnects : 6;
	uint64_t ms = (uint64_t)RECONNECT_MIN_MS << n;

	if (ms > RECONNECT_MAX_MS)
		ms = RECONNECT_MAX_MS;
	timer_arm(sa->e->loop, &sa->x.timer, ms, reconnect_fire);
}

static void tcp_failed(struct ike_sa *sa, int err)
{
	struct engine *e = sa->e;
	const struct conn_cfg *cc = sa->cfg;
	enum xport_state was = sa->x.state;
	bool retry;
	char why[160];

	if (sa->state != IKE_S_INIT_SENT && sa->state != IKE_S_AUTH_SENT) {
		/* An established SA: try again later (its requests time out). */
		if (xport_tcp_originator(&sa->x) && sa->state == IKE_S_ESTABLISHED)
			reconnect_later(sa);
		return;
	}
	if (xport_go(sa, XE_TCP_FAIL))
		return;		/* RFC 9329 (TCP-19): IKE_AUTH times out instead */
	if ((was == XS_RACE_TCP_INIT || was == XS_SEP_TCP_INIT) && xport_race_goes_on(sa)) {
		ike_sa_destroy(sa, NULL);
		return;
	}
	e->st.ike_failed++;
	if (was == XS_TCP_INIT || was == XS_RACE_TCP_INIT || was == XS_SEP_TCP_INIT) {
		snprintf(why, sizeof(why), "cannot reach the peer over TCP port %u: %s",
			 cc->tcp_port, strerror(-err));
		/* A failed attempt, tried again with back-off (keyingtries)
		 * as an unanswered IKE_SA_INIT is. */
		ike_keying_failed(sa, why);
		ike_sa_destroy(sa, why);
		return;
	}
	/* RT-7: cancel this IKE SA. */
	retry = cc->udp_retry_without_separate && fits_udp(sa);
	e->st.separate_tcp_failed++;
	snprintf(why, sizeof(why), "separate transports: TCP port %u unreachable (%s)%s",
		 cc->tcp_port, strerror(-err),
		 retry ? "; retrying over UDP without separate transports" : "");
	ike_sa_destroy(sa, why);
	if (retry && !ike_initiate(e, cc, XO_UDP_RETRY, &err))
		log_err("%s: UDP retry failed: %s", cc->name, strerror(-err));
}

static void reconnect_fire(struct timer *t)
{
	struct ike_sa *sa = container_of(t, struct ike_sa, x.timer);

	if (sa->state != IKE_S_ESTABLISHED && sa->state != IKE_S_DELETING)
		return;
	sa->x.reconnects++;
	sa->e->st.tcp_reconnects++;
	if (ike_tcp_connect(sa))
		tcp_failed(sa, -ENOTCONN);
}

/* ESP inside the stream (RFC 9329 proper): the kernel's espintcp ULP on
 * the connection and every Child SA's ESP on its 4-tuple. */
void ike_tcp_follow(struct ike_sa *sa)
{
	struct engine *e = sa->e;
	struct tcp_conn *c = sa->path.conn;
	struct child_sa *ch;

	if (!xport_esp_in_tcp(&sa->x) || !c || c->dead)
		return;
	if (kernel_esp(e) && !c->espintcp && tcp_enable_espintcp(c))
		log_warn("%s: ESP-in-TCP refused: the kernel cannot attach espintcp to the connection",
			 ike_sa_name(sa));
	for (ch = sa->children; ch; ch = ch->next) {
		struct sockaddr_storage l, r;

		if (!ch->installed_in || !e->kb->ops->sa_steer)
			continue;
		e->kb->ops->sa_steer(e->kb, addr_ip_ss(&ch->addr_local, &l), ch->spi_in,
				     KB_ENCAP_TCP, addr_port(&sa->path.remote),
				     addr_port(&sa->path.local));
		if (ch->installed_out)
			e->kb->ops->sa_steer(e->kb, addr_ip_ss(&ch->addr_remote, &r), ch->spi_out,
					     KB_ENCAP_TCP, addr_port(&sa->path.local),
					     addr_port(&sa->path.remote));
	}
}

void ike_esp_tcp_ready(struct ike_sa *sa)
{
	struct tcp_conn *c = sa->path.conn;

	if (!xport_esp_in_tcp(&sa->x) || !c || c->dead || c->espintcp || !kernel_esp(sa->e))
		return;
	if (tcp_enable_espintcp(c))
		log_warn("%s: ESP-in-TCP refused: the kernel cannot attach espintcp to the connection",
			 ike_sa_name(sa));
}

static void tcp_up(struct ike_sa *sa);

void engine_tcp_connected(struct engine *e, struct tcp_conn *c, int err)
{
	struct ike_sa *sa = c->user;

	(void)e;
	if (sa && sa->x.pre == c) {
		pre_done(sa, err, false);
		return;
	}
	/* An accepted connection is announced once its prefix arrived; when
	 * its first frame came in the same read, that frame has already made
	 * it an SA's path (TCP-26), and there is nothing more to do: the
	 * rest here is the originator's connect finishing. */
	if (!sa || sa->path.conn != c || !c->originator)
		return;
	if (err) {
		detach_conn(sa);
		link_go(sa, XLE_FAILED);
		tcp_failed(sa, err);
		return;
	}
	link_go(sa, XLE_CONNECTED);
	tcp_up(sa);
}

/* The SA's connection (ours) is up: what waited for it goes. */
/* The SA's local address and port: its connection's, once up (NAT-D over
 * TCP covers the connection's ports, TCP-31). */
static void path_local_of_conn(struct ike_sa *sa)
{
	struct ike_path p;

	tcp_conn_path(sa->path.conn, &p);
	sa->path.local = p.local;
}

static void tcp_up(struct ike_sa *sa)
{
	path_local_of_conn(sa);
	sa->x.reconnects = 0;
	/* Separate transports: IKE_AUTH (or IKE_INTERMEDIATE before it, RFC
	 * 9242) is the first message on TCP (RT-4), after the "IKETCP"
	 * prefix tcp.c sent (RT-6). */
	if (sa->state == IKE_S_AUTH_SENT && sa->req.task == TASK_NONE &&
	    !xport_go(sa, XE_TCP_UP))
		log_info("%s: IKE moved to TCP port %u (separate transports)",
			 ike_sa_name(sa), addr_port(&sa->path.remote));
	ike_tcp_follow(sa);
	ike_path_ready(sa);
}

void engine_tcp_closed(struct engine *e, struct tcp_conn *c, int err)
{
	struct ike_sa *sa = c->user;
	bool orig;

	(void)e;
	if (sa && sa->x.pre == c) {
		pre_done(sa, err, true);
		return;
	}
	if (!sa || sa->path.conn != c)
		return;
	orig = xport_tcp_originator(&sa->x);
	/* TCP-19: the SA survives a lost connection. */
	log_info("%s: TCP connection closed (%s)%s", ike_sa_name(sa),
		 err ? strerror(-err) : "by the peer", orig ? "" : "; the peer reconnects");
	detach_conn(sa);
	link_go(sa, XLE_CLOSED);
	if (!orig || sa->state == IKE_S_DEAD)
		return;
	if (sa->state == IKE_S_INIT_SENT || sa->state == IKE_S_AUTH_SENT) {
		/* Before the SA exists a broken connection ends the attempt
		 * (TCP-30: errors during IKE_SA_INIT are acted on at once). */
		tcp_failed(sa, err ? err : -ECONNRESET);
		return;
	}
	/* Only the originator reconnects: at once when something must go
	 * out (a request, or ESP inside the stream), otherwise when the next
	 * request is sent. */
	if (sa->req.task != TASK_NONE || xport_esp_in_tcp(&sa->x))
		timer_arm(sa->e->loop, &sa->x.timer, 0, reconnect_fire);
}

/* --- IKE_SA_INIT ------------------------------------------------------------------ */

bool xport_init_wait(struct ike_sa *sa, int *err)
{
	if (xport_may_send(sa))
		return false;
	sa->state = IKE_S_INIT_SENT;
	*err = ike_tcp_connect(sa);
	return true;
}

bool xport_init_response(struct ike_sa *sa, const struct ike_rx *rx)
{
	/* Only from where the request went (the response is not
	 * authenticated). */
	if (!addr_eq(&rx->path.remote, &sa->path.remote) ||
	    (sa->path.kind == XPORT_TCP) != (rx->path.kind == XPORT_TCP) ||
	    (rx->path.kind == XPORT_TCP && rx->path.conn != sa->path.conn))
		return false;
	/* An answer: the TCP fallback is not needed. */
	timer_cancel(sa->e->loop, &sa->x.timer);
	return true;
}

void xport_init_retry(struct ike_sa *sa, bool cookie)
{
	struct tcp_conn *c = sa->path.conn;

	xport_go(sa, XE_INIT_RETRY);
	/* TCP-29: the responder closes the connection after a cookie; the
	 * retry goes on a new one. */
	if (!cookie || sa->path.kind != XPORT_TCP || !c)
		return;
	link_go(sa, XLE_DROP);
	c->user = NULL;
	sa->path.conn = NULL;
	xport_close(sa->e, c, 0);
	tcp_conn_put(c);
}

void xport_init_done(struct ike_sa *sa, bool echoed)
{
	/* An echo of a notify we did not send is ignored. */
	if (!echoed || xport_go(sa, XE_INIT_ECHO)) {
		xport_go(sa, XE_INIT_DONE);
		race_won(sa);
		/* RT-3: the peer lacks separate transports; the connection
		 * opened beside IKE_SA_INIT goes unused. */
		if (sa->x.pre)
			sa->e->st.tcp_preconnects_unused++;
		if (sa->x.pre || sa->x.link == XL_DOWN)
			link_go(sa, XLE_DROP);
		pre_close(sa);
		return;
	}
	race_won(sa);		/* separate's race */
	sa->e->st.separate_negotiated++;
	/* IKE_SA_INIT over TCP: ESP's path is UDP 4500 beside it, its
	 * reachability unproven (RT-24). */
	if (sa->x.state == XS_SEP_PROBE)
		esp_path_from_tcp(sa);
}

bool xport_auth_waits(struct ike_sa *sa)
{
	struct tcp_conn *c = sa->x.pre;
	int err = sa->x.pre_err;

	if (sa->x.state != XS_SEP_CONNECT)
		return false;
	/* RT-4: IKE_INTERMEDIATE or IKE_AUTH goes over TCP, once connected;
	 * ESP stays where IKE_SA_INIT went. */
	esp_path_set(sa, &sa->path);
	sa->path.conn = NULL;
	sa->x.pre = NULL;
	sa->x.pre_err = 0;
	if (c) {
		/* Opened beside IKE_SA_INIT: the SA's path now; when still
		 * connecting, engine_tcp_connected goes on as after a connect
		 * made now, and when gone (not reported yet) ike_tcp_connect
		 * below connects again. */
		path_take_conn(sa, c);
		if (!c->dead) {
			if (!c->connecting)
				tcp_up(sa);
			return true;
		}
	} else if (err) {
		/* Refused before the echo: as a connect refused now (RT-7,
		 * RT-8 may retry). */
		tcp_failed(sa, err);
		return true;
	}
	if (ike_tcp_connect(sa))
		tcp_failed(sa, -ENOTCONN);
	return true;
}

void xport_init_rx(struct ike_sa *sa, const struct ike_rx *rx, bool echo)
{
	bool tcp = rx->path.kind == XPORT_TCP;

	sa->path = rx->path;
	if (tcp) {
		attach_conn(sa, rx->path.conn);
		link_go(sa, XLE_PEER_CONN);
	}
	xport_go(sa, tcp ? (echo ? XE_RX_INIT_TCP_SEP : XE_RX_INIT_TCP) :
			   (echo ? XE_RX_INIT_UDP_SEP : XE_RX_INIT_UDP));
	if (!echo)
		return;
	sa->e->st.separate_negotiated++;
	if (tcp)
		esp_path_from_tcp(sa);
}

const struct ike_path *xport_reply_path(const struct ike_sa *sa, const struct ike_rx *rx)
{
	/* The originator may have reconnected, and the first connection may
	 * be gone (RFC 9329 §6.2, TCP-28). */
	return rx->path.kind == XPORT_TCP ? &rx->path : &sa->path;
}

/* --- intake and output ------------------------------------------------------------- */

bool xport_rx(struct ike_sa *sa, const struct ike_rx *rx, bool request)
{
	struct ike_path *p = &sa->path;

	if (rx->path.kind != XPORT_TCP)
		return xport_go(sa, XE_IKE_UDP) != 0;	/* RT-12 */
	if (p->conn == rx->path.conn)
		return true;
	if (p->kind != XPORT_TCP) {
		/* An SA on UDP moves to TCP only by separate transports:
		 * after a UDP IKE_SA_INIT IKE comes over (RT-5), ESP keeps
		 * the UDP path. */
		if (xport_go(sa, XE_TCP_UP))
			return true;
		esp_path_set(sa, p);
		log_info("%s: IKE moved to TCP (separate transports)", ike_sa_name(sa));
	}
	/* TCP-26: the newest connection with a valid message. */
	detach_conn(sa);
	*p = rx->path;
	attach_conn(sa, rx->path.conn);
	link_go(sa, XLE_PEER_CONN);
	/* ESP inside the stream follows the newest connection. */
	ike_tcp_follow(sa);
	/* Our request outstanding when the old connection broke goes out
	 * again on this one (TCP-28). */
	if (request)
		ike_req_resend(sa);
	return true;
}

void xport_rx_retransmit(struct ike_sa *sa, const struct ike_rx *rx)
{
	/* TCP-26: over TCP the response goes where the request came from.
	 * The caller has checked that this copy is byte for byte the request
	 * answered (authenticated when it first came), so an altered copy on
	 * an attacker's connection never pulls the return path there (RFC
	 * 9329 §10, TCP-42); an unaltered one is a replay, which the path
	 * rules allow (TCP-26: the newest connection with a valid message). */
	if (rx->path.kind == XPORT_TCP && rx->path.conn != sa->path.conn)
		xport_rx(sa, rx, true);
}

bool xport_may_send(const struct ike_sa *sa)
{
	const struct tcp_conn *c = sa->path.conn;

	return sa->path.kind != XPORT_TCP || (c && !c->dead && !c->connecting);
}

int xport_send_ready(struct ike_sa *sa)
{
	struct tcp_conn *c = sa->path.conn;

	if (xport_may_send(sa))
		return 0;
	/* No connection now: the TCP originator opens one and sends the
	 * outstanding request when it is up (TCP-28); the other end waits
	 * for the peer to reconnect (TCP-19). */
	if (xport_tcp_originator(&sa->x) && (!c || c->dead) && sa->state != IKE_S_DEAD)
		ike_tcp_connect(sa);
	return -ENOTCONN;
}

bool xport_retransmits(const struct ike_sa *sa)
{
	/* RFC 9329 §6.2 (TCP-28): not over a live TCP connection; the
	 * exchange still times out. */
	return sa->path.kind != XPORT_TCP;
}

/* --- rekeying ------------------------------------------------------------------ */

struct esp_probe *ike_probe_get(struct ike_sa *sa)
{
	if (!sa->probe && (sa->probe = calloc(1, sizeof(*sa->probe))))
		sa->probe->sa = sa;
	return sa->probe;
}

const struct esp_probe *ike_probe(const struct ike_sa *sa)
{
	static const struct esp_probe none = { .state = PROBE_NONE };

	return sa->probe ? sa->probe : &none;
}

void ike_xport_inherit(struct ike_sa *ns, struct ike_sa *old)
{
	const struct ike_xport *o = &old->x;
	struct ike_xport *x = &ns->x;

	ns->path = old->path;
	if (ns->path.conn)
		attach_conn(ns, old->path.conn);
	x->state = o->state;
	x->link = o->link;
	x->origin = o->origin;
	x->mode = o->mode;
	if (o->esp)
		esp_path_set(ns, o->esp);
	/* The probe and the rebuild belong to the first IKE SA; the probe's
	 * result is carried. */
	if (xport_state_probing(x->state))
		xport_go(ns, XE_PROBE_SKIP);
	else if (x->state == XS_REBUILD)
		x->state = XS_SEP;
	if (old->probe && ike_probe_get(ns)) {
		const struct esp_probe *op = old->probe;
		struct esp_probe *np = ns->probe;

		np->state = op->state == PROBE_RUNNING ? PROBE_SKIPPED : op->state;
		np->skip_why = op->state == PROBE_RUNNING ?
			       "IKE SA rekeyed while probing" : op->skip_why;
		np->answering = op->answering;
		np->udp = op->udp;
		np->sent = op->sent;
		np->answered = op->answered;
		np->start_ms = op->start_ms;
		np->done_ms = op->done_ms;
	}
	ns->natt = old->natt;
	ns->nat_local = old->nat_local;
	ns->nat_remote = old->nat_remote;
}
