/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where an IKE SA's IKE and ESP go: the transport state machine of RFC 9329
 * (IKE over TCP) and draft-ietf-ipsecme-ikev2-reliable-transport-04
 * (separate transports).  One struct ike_xport per IKE SA, owned by
 * ike_xport.c, which holds the transition tables (the states and events
 * below, each allowed transition citing its RT-n / TCP-n requirement of
 * /work/shared/spec/SPEC-DIGEST.md) and every TCP decision of the engine:
 * connecting and reconnecting, where a message may come from and go to,
 * when to retransmit, the TCP fallback and the RFC 9329 rebuild.
 *
 * Two machines, each a pure table (xport_next, xport_link_next):
 *   - the mode: which transport IKE and ESP use, from the first
 *     IKE_SA_INIT to the end of the SA (or its rekeyed successor);
 *   - the link: the SA's TCP connection and our role on it (TCP
 *     originator or responder, TCP-1), including reconnecting.
 * Anything not in a table is refused: the caller gets -EPERM and the SA is
 * left as it was.
 */
#ifndef TCPIKE_IKE_XPORT_H
#define TCPIKE_IKE_XPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "transport.h"

enum xport_state {
	XS_NEW = 0,		/* nothing sent or received yet */
	/* Initiator, IKE_SA_INIT out: */
	XS_UDP_INIT,		/* on UDP 500, no notify (udp; RT-8 retry) */
	XS_AUTO_INIT,		/* on UDP 500, the race armed (auto, TCP-15) */
	XS_AUTO_RACE,		/* ... unanswered in tcp_race_delay: still on
				 * UDP, a TCP IKE SA racing it (TCP-16) */
	XS_SEP_INIT,		/* on UDP 4500 with N(SEPARATE_TRANSPORTS)
				 * (RT-1, RT-2), the race armed */
	XS_SEP_RACE,		/* ... unanswered in tcp_race_delay: still on
				 * UDP, a separate-tcp-first SA racing it */
	XS_TCP_INIT,		/* over TCP, no notify (tcp; fallback; RT-25) */
	XS_RACE_TCP_INIT,	/* ... auto's TCP SA, racing the UDP one */
	XS_SEP_TCP_INIT,	/* over TCP with the notify (RT-9) */
	/* After IKE_SA_INIT: */
	XS_UDP,			/* IKE and ESP on UDP (RFC 7296) */
	XS_SEP_CONNECT,		/* initiator: notify echoed over UDP, IKE moving
				 * to TCP for IKE_AUTH (RT-4) */
	XS_SEP_AWAIT,		/* responder: notify echoed over UDP, IKE still
				 * on UDP until the initiator's TCP (RT-5) */
	XS_SEP_PROBE,		/* separate after a TCP IKE_SA_INIT: ESP on IP
				 * (UDP 4500 with a NAT) unproven (RT-24) */
	XS_SEP_PROBE_UDP,	/* ... ESP moved to UDP 4500 to probe there (RT-27) */
	XS_SEP,			/* separate: IKE on TCP (RT-12), ESP on IP, or in
				 * UDP 4500 with a NAT (RT-15, RT-20) */
	XS_SEP_UDP,		/* separate, ESP in UDP 4500 without a NAT: the
				 * transport that answered the probe (RT-28) */
	XS_TCP,			/* RFC 9329: IKE and ESP in TCP (RT-11, TCP-14) */
	XS_REBUILD,		/* ESP unreachable: deleting, then built again
				 * over TCP without the notify (RT-25) */
	XS_CLOSED,		/* given up (RT-7, TCP-16, TCP unreachable) */
	XS_COUNT
};

enum xport_event {
	XE_START_UDP = 0,	/* initiate: transport = udp, or RT-8 retry */
	XE_START_AUTO,		/* initiate: transport = auto */
	XE_START_SEP,		/* initiate: transport = separate */
	XE_START_TCP,		/* initiate: tcp, RT-25 rebuild */
	XE_START_SEP_TCP,	/* initiate: separate-tcp-first, separate's racing SA */
	XE_START_RACE,		/* initiate: auto's TCP SA beside the UDP one */
	XE_RX_INIT_UDP,		/* responder: IKE_SA_INIT over UDP, not echoing */
	XE_RX_INIT_UDP_SEP,	/* ... over UDP with the notify, echoed (RT-3) */
	XE_RX_INIT_TCP,		/* ... over TCP, not echoing */
	XE_RX_INIT_TCP_SEP,	/* ... over TCP with the notify, echoed (RT-3) */
	XE_INIT_RETRY,		/* initiator: COOKIE / INVALID_KE: IKE_SA_INIT again */
	XE_INIT_DONE,		/* initiator: final response, no notify in it */
	XE_INIT_ECHO,		/* initiator: final response echoing the notify */
	XE_RACE,		/* auto, separate: no answer over UDP in tcp_race_delay */
	XE_RACE_LOST,		/* the other SA of the race completed IKE_SA_INIT */
	XE_TCP_UP,		/* IKE on TCP now: our connection for IKE_AUTH is up,
				 * or an authenticated message came over TCP */
	XE_TCP_FAIL,		/* TCP failed before the IKE SA was up */
	XE_IKE_UDP,		/* an authenticated IKE message over UDP */
	XE_ESP_UDP,		/* both ends moved ESP into UDP 4500 (RT-27) */
	XE_ESP_IP,		/* both ends moved ESP back onto IP */
	XE_PROBE_OK,		/* ESP came back (RT-24, RT-28) */
	XE_PROBE_SKIP,		/* no probe possible or wanted, or abandoned */
	XE_PROBE_FAIL,		/* no ESP back in esp_probe_timeout (RT-25) */
	XE_COUNT
};

enum xport_link {
	XL_NONE = 0,		/* no TCP connection */
	XL_CONNECTING,		/* we (TCP originator) are connecting */
	XL_UP,			/* connected, we are the TCP originator (TCP-1) */
	XL_DOWN,		/* ours failed or closed: we reconnect (TCP-19) */
	XL_PEER,		/* the peer's connection: we are the TCP responder */
	XL_PEER_LOST,		/* the peer's connection closed: it reconnects */
	XL_COUNT
};

enum xport_link_event {
	XLE_CONNECT = 0,	/* open a connection */
	XLE_CONNECTED,		/* our connect finished */
	XLE_FAILED,		/* our connect failed or timed out */
	XLE_CLOSED,		/* the connection closed or broke */
	XLE_PEER_CONN,		/* an authenticated message on a connection the
				 * peer opened */
	XLE_DROP,		/* we let the connection go (TCP-29) */
	XLE_COUNT
};

/* Why an initiator SA was made; the start event follows from it and the
 * connection's transport. */
enum xport_origin {
	XO_CONFIG = 0,		/* initiate / start_action */
	XO_RACE,		/* auto, separate: UDP had no answer yet, TCP
				 * races it (TCP-15, TCP-16) */
	XO_UDP_RETRY,		/* TCP 4500 unreachable after separate (RT-8) */
	XO_REBUILD,		/* ESP unreachable beside TCP (RT-25) */
};

/* One allowed transition; a table is an array of these. */
struct xport_rule {
	unsigned char from, ev, to;
	const char *cite;
};

extern const struct xport_rule xport_rules[];
extern const size_t xport_n_rules;
extern const struct xport_rule xport_link_rules[];
extern const size_t xport_n_link_rules;

/* The state after ev in from, or -1 when the table refuses it.  *rule (if
 * not NULL) gets the index of the row used. */
int xport_next(enum xport_state from, enum xport_event ev, size_t *rule);
int xport_link_next(enum xport_link from, enum xport_link_event ev, size_t *rule);
/* What an initiator SA sets out with, and the event that starts it. */
enum cfg_transport xport_start_mode(enum cfg_transport configured, enum xport_origin o);
enum xport_event xport_start_event(enum cfg_transport mode, enum xport_origin o);

/* Times row was taken since start (all SAs). */
uint64_t xport_rule_hits(bool link, size_t row);

const char *xport_state_name(enum xport_state s);
const char *xport_event_name(enum xport_event ev);
const char *xport_link_name(enum xport_link l);
const char *xport_link_event_name(enum xport_link_event ev);

struct ike_xport {
	enum xport_state state;
	enum xport_link link;
	enum xport_origin origin;
	enum cfg_transport mode;	/* what the SA set out with (status) */
	struct ike_path *esp;		/* separate, IKE on TCP: ESP's UDP 4500
					 * path (ESP on IP uses its addresses);
					 * allocated then, else NULL */
	struct timer timer;		/* TCP fallback or race, reconnect backoff */
	struct ike_sa *race;		/* auto: the other SA of the race, until
					 * one completes IKE_SA_INIT */
	unsigned int reconnects;
	/* separate: the connection opened beside IKE_SA_INIT (tcp_preconnect),
	 * the SA's path once the response echoes the notify; pre_err: its
	 * connect failed before. */
	struct tcp_conn *pre;
	int pre_err;
};

/* What a state means (the old booleans, derived). */
bool xport_state_separate(enum xport_state s);	/* both ends agreed on it */
bool xport_state_ike_tcp(enum xport_state s);	/* IKE runs over TCP */
bool xport_state_offers(enum xport_state s);	/* our IKE_SA_INIT carries the notify */
bool xport_state_probing(enum xport_state s);	/* ESP unproven (RT-24) */
bool xport_link_originator(enum xport_link l);	/* TCP originator (TCP-1) */

/* --- the engine's side (struct ike_sa in ikesa.h) --------------------------- */

struct ike_sa;
struct ike_rx;
struct xport_later;
struct ike_msg;
struct engine;
struct tcp_conn;
struct conn_cfg;

static inline bool xport_separate(const struct ike_xport *x)
{
	return xport_state_separate(x->state);
}

static inline bool xport_esp_in_tcp(const struct ike_xport *x)
{
	return x->state == XS_TCP;
}

static inline bool xport_esp_udp(const struct ike_xport *x)
{
	return x->state == XS_SEP_UDP || x->state == XS_SEP_PROBE_UDP;
}

static inline bool xport_tcp_originator(const struct ike_xport *x)
{
	return xport_link_originator(x->link);
}

/* Applies ev to the SA's mode: 0, or -EPERM (logged) when refused. */
int xport_go(struct ike_sa *sa, enum xport_event ev);

/* The source address the kernel would use towards dst (a connected UDP
 * socket asks it, nothing is sent; for NAT-D, IDs and trap templates):
 * 0 or -errno (ikesa.c). */
int route_source(const struct sockaddr_storage *dst, struct sockaddr_storage *src);
/* A new initiator IKE SA for cc, linked and started (ikesa.c); NULL with
 * *err. */
struct ike_sa *ike_initiate(struct engine *e, const struct conn_cfg *cc,
			    enum xport_origin origin, int *err);
/* Sets an initiator SA on its transport (by its connection and origin):
 * 1 when IKE_SA_INIT may go now, 0 when it waits for the TCP connection
 * (ike_path_ready follows), or -errno. */
int xport_start(struct ike_sa *sa);
/* Initiates conn (by name) from the loop, right after the current event:
 * what an SA being destroyed asks for (RT-25). */
void xport_initiate_later(struct engine *e, const char *conn, enum xport_origin origin);
void xport_later_free(struct engine *e);
/* Closes a TCP connection through the engine's net (engine.h). */
void xport_close(struct engine *e, struct tcp_conn *c, int err);
/* Opens (or reopens) the SA's TCP connection; the request or IKE_SA_INIT
 * goes out when it is up. */
int ike_tcp_connect(struct ike_sa *sa);

/* IKE_SA_INIT.  Initiator: must the message wait for the TCP connection
 * (TCP-31: NAT-D covers its ports)?  Connects when so. */
bool xport_init_wait(struct ike_sa *sa, int *err);
/* Initiator: is this IKE_SA_INIT response from where the request went (it
 * is not authenticated)?  If so, UDP was answered: no TCP fallback. */
bool xport_init_response(struct ike_sa *sa, const struct ike_rx *rx);
/* Initiator: COOKIE or INVALID_KE_PAYLOAD, the request goes again; over TCP
 * after a cookie on a new connection (TCP-29). */
void xport_init_retry(struct ike_sa *sa, bool cookie);
/* Initiator: the final response; echoed: it carried the notify.  The
 * other SA of auto's race, if any, goes. */
void xport_init_done(struct ike_sa *sa, bool echoed);
/* Initiator, IKE_SA_INIT failed (unanswered, refused, TCP unreachable):
 * true when the other SA of a race goes on, and this failure is no failed
 * attempt of the connection (no keyingtries retry, not counted). */
bool xport_race_goes_on(struct ike_sa *sa);
/* Initiator, IKE_SA_INIT done: true when IKE_AUTH (or IKE_INTERMEDIATE)
 * waits for the TCP connection of separate transports (RT-4), which is
 * being opened. */
bool xport_auth_waits(struct ike_sa *sa);
/* Responder: the SA made for an IKE_SA_INIT request from rx, echo: we
 * answer with the notify (RT-3). */
void xport_init_rx(struct ike_sa *sa, const struct ike_rx *rx, bool echo);
/* Responder: where a retransmitted IKE_SA_INIT gets its response again
 * (over TCP on the connection it came on, TCP-28). */
const struct ike_path *xport_reply_path(const struct ike_sa *sa,
					const struct ike_rx *rx);

/*
 * Intake of an authenticated message (after decryption): over TCP the SA
 * answers on the newest connection with a valid message (TCP-26), and a
 * separate-transports responder moves IKE there (RT-5); once on TCP, IKE
 * stays (RT-12).  Returns true when the message's path was dealt with
 * here (the UDP NAT rules of §2.23 do not apply).
 */
bool xport_rx(struct ike_sa *sa, const struct ike_rx *rx, bool request);
/* A retransmitted request, byte for byte the one answered (checked by the
 * caller): over TCP on another connection the return path moves there
 * (TCP-26); an altered copy never gets here (TCP-42). */
void xport_rx_retransmit(struct ike_sa *sa, const struct ike_rx *rx);
/* May the SA send now without connecting: UDP, or a TCP connection that
 * is up?  What a message sent once (ike_send_once) asks; a request asks
 * xport_send_ready, which also connects. */
bool xport_may_send(const struct ike_sa *sa);
/* Can the SA send now?  0, or -ENOTCONN with the TCP originator
 * reconnecting (TCP-28: the outstanding request goes when it is up). */
int xport_send_ready(struct ike_sa *sa);
/* Retransmit requests?  Not over TCP (RFC 9329 §6.2, TCP-28). */
bool xport_retransmits(const struct ike_sa *sa);

/* Where ESP goes for this SA: a UDP 4500 path (encap or raw by NAT), or the
 * TCP connection (RFC 9329). */
const struct ike_path *ike_esp_path(const struct ike_sa *sa);
/* RFC 9329 proper: attach espintcp before ESP flows on the connection. */
void ike_esp_tcp_ready(struct ike_sa *sa);
/* ESP inside the stream: steer the Child SAs onto the current connection. */
void ike_tcp_follow(struct ike_sa *sa);
/* The new IKE SA of a rekey takes over the old one's transport (TCP-1:
 * the originator role is kept). */
void ike_xport_inherit(struct ike_sa *ns, struct ike_sa *old);
void ike_xport_free(struct ike_sa *sa);
const char *ike_xport_str(const struct ike_sa *sa);

#endif
