// SPDX-License-Identifier: GPL-2.0
/*
 * The transport state machine's tables (ike_xport.c) against the
 * requirements: every walk below is what the draft or RFC 9329 says an SA
 * goes through, step by step.  Together the walks must use every row of
 * the tables, and every (state, event) pair no walk uses must be refused:
 * a row added without a requirement behind it, or one removed, fails here.
 * The refusals that matter most are also named one by one with their
 * reason.
 */
#include <string.h>

#include "ike_xport.h"
#include "kselftest_harness.h"

struct step {
	int ev, to;
};

#define END { -1, -1 }

struct walk {
	const char *what;
	int from;
	struct step steps[8];
};

static const struct walk mode_walks[] = {
	{ "udp: IKE_SA_INIT, a cookie, done, IKE on UDP (RFC 7296)", XS_NEW,
	  { { XE_START_UDP, XS_UDP_INIT }, { XE_INIT_RETRY, XS_UDP_INIT },
	    { XE_INIT_DONE, XS_UDP }, { XE_IKE_UDP, XS_UDP }, END } },
	{ "auto: UDP answered (TCP-4, TCP-15)", XS_NEW,
	  { { XE_START_AUTO, XS_AUTO_INIT }, { XE_INIT_RETRY, XS_AUTO_INIT },
	    { XE_INIT_DONE, XS_UDP }, END } },
	{ "auto: UDP unanswered in tcp_race_delay, TCP races it, UDP answers first (TCP-15, TCP-4)",
	  XS_AUTO_INIT,
	  { { XE_RACE, XS_AUTO_RACE }, { XE_INIT_RETRY, XS_AUTO_RACE },
	    { XE_INIT_DONE, XS_UDP }, END } },
	{ "auto: ... TCP answers first, the UDP SA goes (TCP-16)", XS_AUTO_RACE,
	  { { XE_RACE_LOST, XS_CLOSED }, END } },
	{ "auto: the racing TCP SA, a cookie on a new connection, answered first (TCP-16, TCP-29)",
	  XS_NEW,
	  { { XE_START_RACE, XS_RACE_TCP_INIT }, { XE_INIT_RETRY, XS_RACE_TCP_INIT },
	    { XE_INIT_DONE, XS_TCP }, END } },
	{ "auto: ... UDP answered first, the TCP SA goes (TCP-4)", XS_RACE_TCP_INIT,
	  { { XE_RACE_LOST, XS_CLOSED }, END } },
	{ "auto: ... TCP unreachable, UDP goes on alone (TCP-30)", XS_RACE_TCP_INIT,
	  { { XE_TCP_FAIL, XS_CLOSED }, END } },
	{ "separate: echoed, IKE_AUTH on TCP, ESP to UDP and back (RT-4, RT-27)", XS_NEW,
	  { { XE_START_SEP, XS_SEP_INIT }, { XE_INIT_RETRY, XS_SEP_INIT },
	    { XE_INIT_ECHO, XS_SEP_CONNECT }, { XE_TCP_UP, XS_SEP },
	    { XE_ESP_UDP, XS_SEP_UDP }, { XE_ESP_UDP, XS_SEP_UDP },
	    { XE_ESP_IP, XS_SEP }, { XE_ESP_IP, XS_SEP } } },
	{ "separate: not echoed, plain UDP (RT-3)", XS_SEP_INIT,
	  { { XE_INIT_DONE, XS_UDP }, END } },
	{ "separate: UDP unanswered in tcp_race_delay, a new SA from TCP races it, UDP echoed first (RT-9, RT-4)",
	  XS_SEP_INIT,
	  { { XE_RACE, XS_SEP_RACE }, { XE_INIT_RETRY, XS_SEP_RACE },
	    { XE_INIT_ECHO, XS_SEP_CONNECT }, END } },
	{ "separate: ... UDP answered, not echoed (RT-3)", XS_SEP_RACE,
	  { { XE_INIT_DONE, XS_UDP }, END } },
	{ "separate: ... TCP answered first, the UDP SA goes (TCP-16)", XS_SEP_RACE,
	  { { XE_RACE_LOST, XS_CLOSED }, END } },
	{ "separate: the racing TCP SA, UDP answered first (TCP-4)", XS_SEP_TCP_INIT,
	  { { XE_RACE_LOST, XS_CLOSED }, END } },
	{ "separate: TCP 4500 unreachable after the echo (RT-7)", XS_SEP_CONNECT,
	  { { XE_TCP_FAIL, XS_CLOSED }, END } },
	{ "separate: IKE_AUTH's connection broke (RT-7)", XS_SEP,
	  { { XE_TCP_FAIL, XS_CLOSED }, END } },
	{ "tcp: connect, a cookie on a new connection, done (TCP-29, TCP-14)", XS_NEW,
	  { { XE_START_TCP, XS_TCP_INIT }, { XE_INIT_RETRY, XS_TCP_INIT },
	    { XE_INIT_DONE, XS_TCP }, END } },
	{ "tcp: TCP unreachable (TCP-30)", XS_TCP_INIT,
	  { { XE_TCP_FAIL, XS_CLOSED }, END } },
	{ "tcp-first: echoed, probe on IP answers (RT-9, RT-24, RT-28)", XS_NEW,
	  { { XE_START_SEP_TCP, XS_SEP_TCP_INIT }, { XE_INIT_RETRY, XS_SEP_TCP_INIT },
	    { XE_INIT_ECHO, XS_SEP_PROBE }, { XE_PROBE_OK, XS_SEP }, END } },
	{ "tcp-first: probe moves to UDP 4500, answered there (RT-27, RT-28)", XS_SEP_PROBE,
	  { { XE_ESP_UDP, XS_SEP_PROBE_UDP }, { XE_ESP_UDP, XS_SEP_PROBE_UDP },
	    { XE_PROBE_OK, XS_SEP_UDP }, END } },
	{ "tcp-first: ESP back on IP, probe skipped", XS_SEP_PROBE_UDP,
	  { { XE_ESP_IP, XS_SEP_PROBE }, { XE_ESP_IP, XS_SEP_PROBE },
	    { XE_PROBE_SKIP, XS_SEP }, END } },
	{ "tcp-first: probe skipped after the move", XS_SEP_PROBE_UDP,
	  { { XE_PROBE_SKIP, XS_SEP_UDP }, END } },
	{ "tcp-first: nothing came back, rebuild in RFC 9329 mode (RT-25)", XS_SEP_PROBE,
	  { { XE_PROBE_FAIL, XS_REBUILD }, { XE_ESP_UDP, XS_REBUILD },
	    { XE_ESP_IP, XS_REBUILD }, END } },
	{ "tcp-first: nothing came back in UDP either (RT-25)", XS_SEP_PROBE_UDP,
	  { { XE_PROBE_FAIL, XS_REBUILD }, END } },
	{ "tcp-first: IKE_AUTH's connection broke (RT-7)", XS_SEP_PROBE,
	  { { XE_TCP_FAIL, XS_CLOSED }, END } },
	{ "tcp-first: not echoed, RFC 9329 proper (RT-11)", XS_SEP_TCP_INIT,
	  { { XE_INIT_DONE, XS_TCP }, END } },
	{ "tcp-first: TCP unreachable", XS_SEP_TCP_INIT,
	  { { XE_TCP_FAIL, XS_CLOSED }, END } },
	{ "responder: UDP without the notify", XS_NEW,
	  { { XE_RX_INIT_UDP, XS_UDP }, END } },
	{ "responder: echoed over UDP, IKE_AUTH may still come on UDP, then TCP (RT-3, RT-5)",
	  XS_NEW,
	  { { XE_RX_INIT_UDP_SEP, XS_SEP_AWAIT }, { XE_IKE_UDP, XS_SEP_AWAIT },
	    { XE_TCP_UP, XS_SEP }, END } },
	{ "responder: TCP without the notify (TCP-2)", XS_NEW,
	  { { XE_RX_INIT_TCP, XS_TCP }, END } },
	{ "responder: TCP with the notify echoed (RT-10)", XS_NEW,
	  { { XE_RX_INIT_TCP_SEP, XS_SEP_PROBE }, END } },
};

static const struct walk link_walks[] = {
	{ "originator: connect, lose it, reconnect (TCP-1, TCP-19, TCP-21)", XL_NONE,
	  { { XLE_CONNECT, XL_CONNECTING }, { XLE_CONNECTED, XL_UP },
	    { XLE_CLOSED, XL_DOWN }, { XLE_CONNECT, XL_CONNECTING },
	    { XLE_FAILED, XL_DOWN }, { XLE_PEER_CONN, XL_UP }, { XLE_PEER_CONN, XL_UP },
	    { XLE_DROP, XL_NONE } } },
	{ "originator: connected beside IKE_SA_INIT, not echoed (RT-3)", XL_NONE,
	  { { XLE_CONNECT, XL_CONNECTING }, { XLE_DROP, XL_NONE }, END } },
	{ "originator: pre-connect refused, not echoed (RT-3)", XL_NONE,
	  { { XLE_CONNECT, XL_CONNECTING }, { XLE_FAILED, XL_DOWN }, { XLE_DROP, XL_NONE },
	    END } },
	{ "originator: the peer's connection while connecting (TCP-26)", XL_CONNECTING,
	  { { XLE_PEER_CONN, XL_UP }, END } },
	{ "responder: the peer reconnects (TCP-19, TCP-26)", XL_NONE,
	  { { XLE_PEER_CONN, XL_PEER }, { XLE_PEER_CONN, XL_PEER },
	    { XLE_CLOSED, XL_PEER_LOST }, { XLE_PEER_CONN, XL_PEER }, END } },
};

typedef int (*next_fn)(int from, int ev, size_t *rule);

static int mode_next(int from, int ev, size_t *rule)
{
	return xport_next(from, ev, rule);
}

static int link_next(int from, int ev, size_t *rule)
{
	return xport_link_next(from, ev, rule);
}

/* Runs the walks; marks the rows they used and the pairs they allowed. */
static void run_walks(struct __test_metadata *_metadata, const struct walk *w, size_t nw,
		      next_fn next, size_t nrules, bool *used, bool *allowed, int nev)
{
	size_t i, j;

	for (i = 0; i < nw; i++) {
		int s = w[i].from;

		for (j = 0; j < 8 && w[i].steps[j].ev >= 0; j++) {
			size_t row = (size_t)-1;
			int to = next(s, w[i].steps[j].ev, &row);

			if (to != w[i].steps[j].to)
				TH_LOG("%s: step %zu: %d -> %d, expected %d", w[i].what, j,
				       s, to, w[i].steps[j].to);
			ASSERT_EQ(w[i].steps[j].to, to);
			ASSERT_LT(row, nrules);
			used[row] = true;
			allowed[s * nev + w[i].steps[j].ev] = true;
			s = to;
		}
	}
}

TEST(mode_walks_use_every_row_and_nothing_else)
{
	bool used[128] = { false }, allowed[XS_COUNT * XE_COUNT] = { false };
	size_t i;
	int s, ev;

	ASSERT_LE(xport_n_rules, 128);
	run_walks(_metadata, mode_walks, sizeof(mode_walks) / sizeof(mode_walks[0]),
		  mode_next, xport_n_rules, used, allowed, XE_COUNT);
	for (i = 0; i < xport_n_rules; i++) {
		if (!used[i])
			TH_LOG("row %zu (%s + %s) is in no walk", i,
			       xport_state_name(xport_rules[i].from),
			       xport_event_name(xport_rules[i].ev));
		EXPECT_TRUE(used[i]);
		EXPECT_NE(NULL, xport_rules[i].cite);
		EXPECT_LT(0, strlen(xport_rules[i].cite));
	}
	for (s = 0; s < XS_COUNT; s++) {
		for (ev = 0; ev < XE_COUNT; ev++) {
			if (allowed[s * XE_COUNT + ev])
				continue;
			if (xport_next(s, ev, NULL) >= 0)
				TH_LOG("%s + %s allowed by the table, by no walk",
				       xport_state_name(s), xport_event_name(ev));
			EXPECT_EQ(-1, xport_next(s, ev, NULL));
		}
	}
}

TEST(link_walks_use_every_row_and_nothing_else)
{
	bool used[64] = { false }, allowed[XL_COUNT * XLE_COUNT] = { false };
	size_t i;
	int s, ev;

	ASSERT_LE(xport_n_link_rules, 64);
	run_walks(_metadata, link_walks, sizeof(link_walks) / sizeof(link_walks[0]),
		  link_next, xport_n_link_rules, used, allowed, XLE_COUNT);
	for (i = 0; i < xport_n_link_rules; i++) {
		EXPECT_TRUE(used[i]);
		EXPECT_LT(0, strlen(xport_link_rules[i].cite));
	}
	for (s = 0; s < XL_COUNT; s++)
		for (ev = 0; ev < XLE_COUNT; ev++)
			if (!allowed[s * XLE_COUNT + ev])
				EXPECT_EQ(-1, xport_link_next(s, ev, NULL));
}

/* One row per (from, event): the machine is deterministic. */
TEST(no_two_rows_for_one_pair)
{
	size_t i, j;

	for (i = 0; i < xport_n_rules; i++)
		for (j = i + 1; j < xport_n_rules; j++)
			EXPECT_FALSE(xport_rules[i].from == xport_rules[j].from &&
				     xport_rules[i].ev == xport_rules[j].ev);
	for (i = 0; i < xport_n_link_rules; i++)
		for (j = i + 1; j < xport_n_link_rules; j++)
			EXPECT_FALSE(xport_link_rules[i].from == xport_link_rules[j].from &&
				     xport_link_rules[i].ev == xport_link_rules[j].ev);
}

TEST(named_refusals)
{
	static const struct { int s, ev; const char *why; } no[] = {
		{ XS_UDP, XE_TCP_UP, "an SA on UDP moves to TCP only by separate transports (RT-5, TCP-16)" },
		{ XS_SEP, XE_IKE_UDP, "IKE stays on TCP (RT-12)" },
		{ XS_SEP_UDP, XE_IKE_UDP, "IKE stays on TCP (RT-12)" },
		{ XS_SEP_PROBE, XE_IKE_UDP, "IKE stays on TCP (RT-12)" },
		{ XS_SEP_CONNECT, XE_IKE_UDP, "IKE_AUTH goes on TCP (RT-4)" },
		{ XS_TCP, XE_IKE_UDP, "RFC 9329 keeps IKE on TCP (TCP-14)" },
		{ XS_REBUILD, XE_IKE_UDP, "IKE stays on TCP (RT-12)" },
		{ XS_UDP_INIT, XE_RACE, "transport = udp never uses TCP (TCP-4)" },
		{ XS_AUTO_RACE, XE_RACE, "one race per attempt" },
		{ XS_SEP_RACE, XE_RACE, "one race per attempt" },
		{ XS_SEP_TCP_INIT, XE_RACE, "the TCP SA of a race does not race again" },
		{ XS_SEP_INIT, XE_RACE_LOST, "no race before tcp_race_delay" },
		{ XS_SEP_RACE, XE_TCP_FAIL, "the UDP SA of a race has no TCP" },
		{ XS_RACE_TCP_INIT, XE_RACE, "the TCP SA of a race does not race again" },
		{ XS_UDP, XE_RACE, "UDP answered" },
		{ XS_AUTO_INIT, XE_RACE_LOST, "no race before tcp_race_delay" },
		{ XS_TCP_INIT, XE_RACE_LOST, "transport = tcp races nothing" },
		{ XS_UDP, XE_RACE_LOST, "the winner stays (IKE_SA_INIT done)" },
		{ XS_TCP, XE_RACE_LOST, "the winner stays (IKE_SA_INIT done)" },
		{ XS_AUTO_RACE, XE_TCP_FAIL, "the UDP SA of a race has no TCP" },
		{ XS_AUTO_RACE, XE_INIT_ECHO, "an echo we did not ask for" },
		{ XS_RACE_TCP_INIT, XE_INIT_ECHO, "an echo we did not ask for" },
		{ XS_UDP_INIT, XE_INIT_ECHO, "an echo we did not ask for" },
		{ XS_AUTO_INIT, XE_INIT_ECHO, "an echo we did not ask for" },
		{ XS_TCP_INIT, XE_INIT_ECHO, "an echo we did not ask for (RT-25 rebuild)" },
		{ XS_TCP, XE_ESP_UDP, "RFC 9329 keeps ESP in the stream (TCP-14)" },
		{ XS_UDP, XE_ESP_UDP, "not separate transports" },
		{ XS_SEP_AWAIT, XE_ESP_UDP, "IKE not on TCP yet" },
		{ XS_TCP, XE_TCP_FAIL, "an RFC 9329 SA survives its connection (TCP-19)" },
		{ XS_UDP, XE_TCP_FAIL, "no TCP" },
		{ XS_SEP, XE_PROBE_FAIL, "the probe concluded" },
		{ XS_SEP_UDP, XE_PROBE_FAIL, "the probe concluded" },
		{ XS_REBUILD, XE_PROBE_OK, "too late: the SA is being rebuilt" },
		{ XS_UDP, XE_PROBE_OK, "no probe after a UDP IKE_SA_INIT (RT-23)" },
		{ XS_SEP, XE_INIT_DONE, "IKE_SA_INIT is over" },
		{ XS_UDP, XE_START_UDP, "started once" },
		{ XS_NEW, XE_INIT_DONE, "nothing was sent" },
	};
	size_t i;
	int ev;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (xport_next(no[i].s, no[i].ev, NULL) != -1)
			TH_LOG("%s + %s: %s", xport_state_name(no[i].s),
			       xport_event_name(no[i].ev), no[i].why);
		EXPECT_EQ(-1, xport_next(no[i].s, no[i].ev, NULL));
	}
	/* Nothing leaves the terminal state. */
	for (ev = 0; ev < XE_COUNT; ev++)
		EXPECT_EQ(-1, xport_next(XS_CLOSED, ev, NULL));
	/* Only the originator (re)connects (TCP-1, TCP-19); one connection
	 * per IKE SA (TCP-22). */
	EXPECT_EQ(-1, xport_link_next(XL_PEER, XLE_CONNECT, NULL));
	EXPECT_EQ(-1, xport_link_next(XL_PEER_LOST, XLE_CONNECT, NULL));
	EXPECT_EQ(-1, xport_link_next(XL_UP, XLE_CONNECT, NULL));
	EXPECT_EQ(-1, xport_link_next(XL_CONNECTING, XLE_CONNECT, NULL));
	EXPECT_EQ(-1, xport_link_next(XL_NONE, XLE_CLOSED, NULL));
	/* Only our own connection is let go unused (tcp_preconnect). */
	EXPECT_EQ(-1, xport_link_next(XL_PEER, XLE_DROP, NULL));
	EXPECT_EQ(-1, xport_link_next(XL_PEER_LOST, XLE_DROP, NULL));
}

/* The configured transport and the reason for an SA give its start. */
TEST(start_by_transport_and_origin)
{
	static const struct { enum cfg_transport t; enum xport_origin o; int s; } v[] = {
		{ CFG_XPORT_UDP, XO_CONFIG, XS_UDP_INIT },
		{ CFG_XPORT_AUTO, XO_CONFIG, XS_AUTO_INIT },
		{ CFG_XPORT_SEPARATE, XO_CONFIG, XS_SEP_INIT },
		{ CFG_XPORT_TCP, XO_CONFIG, XS_TCP_INIT },
		{ CFG_XPORT_SEPARATE_TCP_FIRST, XO_CONFIG, XS_SEP_TCP_INIT },
		/* TCP-16: auto's race is a new SA over TCP ... */
		{ CFG_XPORT_AUTO, XO_RACE, XS_RACE_TCP_INIT },
		/* ... separate's still asks for separate transports (RT-9) */
		{ CFG_XPORT_SEPARATE, XO_RACE, XS_SEP_TCP_INIT },
		/* RT-8: over UDP without the notify */
		{ CFG_XPORT_SEPARATE, XO_UDP_RETRY, XS_UDP_INIT },
		/* RT-25: over TCP without the notify */
		{ CFG_XPORT_SEPARATE_TCP_FIRST, XO_REBUILD, XS_TCP_INIT },
		{ CFG_XPORT_SEPARATE, XO_REBUILD, XS_TCP_INIT },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		enum cfg_transport m = xport_start_mode(v[i].t, v[i].o);

		EXPECT_EQ(v[i].s, xport_next(XS_NEW, xport_start_event(m, v[i].o), NULL));
	}
	/* The notify goes only where the start offers it. */
	EXPECT_TRUE(xport_state_offers(XS_SEP_INIT));
	EXPECT_TRUE(xport_state_offers(XS_SEP_RACE));
	EXPECT_TRUE(xport_state_offers(XS_SEP_TCP_INIT));
	EXPECT_FALSE(xport_state_offers(XS_TCP_INIT));
	EXPECT_FALSE(xport_state_offers(XS_UDP_INIT));
	EXPECT_FALSE(xport_state_offers(XS_AUTO_INIT));
	EXPECT_FALSE(xport_state_offers(XS_AUTO_RACE));
	EXPECT_FALSE(xport_state_offers(XS_RACE_TCP_INIT));
}

/* What the states mean to the rest of the engine (the old booleans). */
TEST(state_meanings)
{
	int s;

	for (s = 0; s < XS_COUNT; s++) {
		bool sep = s == XS_SEP_CONNECT || s == XS_SEP_AWAIT || s == XS_SEP_PROBE ||
			   s == XS_SEP_PROBE_UDP || s == XS_SEP || s == XS_SEP_UDP ||
			   s == XS_REBUILD;
		bool tcp = s == XS_TCP_INIT || s == XS_RACE_TCP_INIT || s == XS_SEP_TCP_INIT || s == XS_SEP_CONNECT ||
			   s == XS_SEP_PROBE || s == XS_SEP_PROBE_UDP || s == XS_SEP ||
			   s == XS_SEP_UDP || s == XS_TCP || s == XS_REBUILD;
		struct ike_xport x = { .state = s };

		EXPECT_EQ(sep, xport_state_separate(s));
		EXPECT_EQ(tcp, xport_state_ike_tcp(s));
		EXPECT_EQ(s == XS_SEP_PROBE || s == XS_SEP_PROBE_UDP, xport_state_probing(s));
		EXPECT_EQ(s == XS_TCP, xport_esp_in_tcp(&x));
		EXPECT_EQ(s == XS_SEP_UDP || s == XS_SEP_PROBE_UDP, xport_esp_udp(&x));
		EXPECT_STRNE("?", xport_state_name(s));
	}
	for (s = 0; s < XE_COUNT; s++)
		EXPECT_STRNE("?", xport_event_name(s));
	for (s = 0; s < XL_COUNT; s++) {
		EXPECT_STRNE("?", xport_link_name(s));
		EXPECT_EQ(s == XL_CONNECTING || s == XL_UP || s == XL_DOWN,
			  xport_link_originator(s));
	}
	for (s = 0; s < XLE_COUNT; s++)
		EXPECT_STRNE("?", xport_link_event_name(s));
}

TEST_HARNESS_MAIN
