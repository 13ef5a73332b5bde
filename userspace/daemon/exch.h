/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the exchange files share (exch_init.c, exch_auth.c, exch_child.c,
 * exch_info.c, esp_probe.c's INFORMATIONAL, child.c's negotiation): on
 * top of the core (ikesa.h), which they call and which reaches them only
 * through struct exch_ops, filled in from these by engine_ctl.c.
 */
#ifndef TCPIKE_EXCH_H
#define TCPIKE_EXCH_H

#include "ikesa.h"
#include "proposal.h"

/* The handlers engine_new() gives the core (engine_ctl.c). */
extern const struct exch_ops exch_ops;

/* A message's TSi and TSr payloads, parsed (child_ts_get). */
struct child_ts {
	struct ike_ts_pl tsi, tsr;
};

/* trace.c: a failed negotiation explained, with both sides' values */
void explain_ike_proposals(const char *from, const struct ike_sa_pl *sap,
			   const struct conn_cfg *cc);
void explain_esp_proposals(const struct ike_sa *sa, const struct ike_sa_pl *sap,
			   const struct child_cfg *ch, bool reply);
void explain_ts(const char *who, const struct child_ts *ts, const struct conn_cfg *cc,
		const struct child_cfg *one, bool reply);
void explain_no_conn(const struct ike_sa *sa, const struct id_cfg *idr);

/* vip.c: virtual IPs for a peer's CFG_REQUEST (RFC 7296 §3.15) */
struct vip_ask {
	bool present;		/* a CFG_REQUEST asking for something we know */
	struct ike_cp_want w;
};

/* The CP payload of an IKE_AUTH request into ask: 0 (none, or not a
 * CFG_REQUEST: ignored with a log) or -EBADMSG (malformed). */
int vip_request_get(struct ike_sa *sa, const struct ike_msg *inner, struct vip_ask *ask);
/* Addresses from cc's pools into sa->vip for what ask wants, by the
 * peer's identity: 0, or INTERNAL_ADDRESS_FAILURE (logged) when pools of
 * the families asked for had none left (§3.15.4). */
uint16_t vip_assign(struct ike_sa *sa, const struct conn_cfg *cc, const struct vip_ask *ask);
/* The CFG_REPLY with sa's virtual IPs and their pools' DNS servers;
 * nothing when sa has none. */
void vip_put_reply(struct ike_sa *sa, struct ike_builder *bld);
/* Initiator (vips =): the CFG_REQUEST of an IKE_AUTH request, asking for
 * the addresses had before when there were some. */
void vip_put_request(struct ike_sa *sa, struct ike_builder *bld);
/* The CFG_REPLY of an IKE_AUTH response into sa->my_vip, put on the host:
 * 0 (taken, or none asked for: one unasked for is ignored with a log),
 * -ENOENT (asked, none usable given: logged) or -EBADMSG (malformed). */
int vip_reply_take(struct ike_sa *sa, const struct ike_msg *inner);

/* exch_init.c */
int init_start(struct ike_sa *sa);
void init_rx_request(struct engine *e, const struct ike_rx *rx,
		     const struct ike_msg *m);
void init_rx_response(struct ike_sa *sa, const struct ike_rx *rx,
		      const struct ike_msg *m);
void cookie_rotate(struct engine *e);
/* Our NAT-D notifies for the current path into an IKE_SA_INIT. */
void natd_put(struct ike_sa *sa, struct ike_builder *bld);

/* esp_probe.c */
/* After IKE_AUTH (both roles): starts the probe or the answering when
 * IKE started over TCP with separate transports. */
void esp_probe_start(struct ike_sa *sa);
void esp_probe_stop(struct ike_sa *sa);
/* The module's reachability event for the watch on c (kevent.c). */
void esp_probe_reach(struct child_sa *c, bool up);
/* The INFORMATIONAL asking the peer to move ESP to UDP 4500 (RT-27). */
int esp_transport_start(struct ike_sa *sa);
/* Responder: a request carrying our private notify; puts the echo into
 * the response being built when the move was done. */
void esp_transport_rx_request(struct ike_sa *sa, const struct ike_msg *inner,
			      struct ike_builder *resp);
void esp_transport_rx_response(struct ike_sa *sa, const struct ike_msg *inner);
/* "confirmed on IP after 40 ms", "running", ... for status */
void esp_probe_str(const struct ike_sa *sa, char *out, size_t len);

/* exch_auth.c */
int auth_start(struct ike_sa *sa);
void auth_rx_request(struct ike_sa *sa, const struct ike_msg *m,
		     const struct ike_msg *inner, const uint8_t *raw_plain);
void auth_rx_response(struct ike_sa *sa, const struct ike_msg *inner);
void cred_free_all(struct engine *e);
/* CERTREQ data (SHA-1 of our trusted CAs' keys) for a connection. */
int auth_certreq_data(struct engine *e, const struct conn_cfg *cc, struct buf *out);
/* How configured remote id pattern matches the peer's (wire form): -1
 * not, 0 any identity (none set, %any), a wildcard's score rising with
 * the literal bytes it holds to, AUTH_ID_EXACT for the identity itself. */
#define AUTH_ID_EXACT 63
int auth_id_match(const struct id_cfg *pattern, const struct id_cfg *peer);
/* A configured identity in wire form (a DN's text as DER): 0 or -errno. */
int auth_id_der(const struct id_cfg *in, struct id_cfg *out);

/* exch_inter.c (RFC 9242, RFC 9370) */
/* The initiator after IKE_SA_INIT: IKE_INTERMEDIATE when negotiated and
 * not yet done (one per additional key exchange), else auth_start(). */
int inter_start(struct ike_sa *sa);
/* Initiator: do we announce INTERMEDIATE_EXCHANGE_SUPPORTED (intermediate =
 * yes, or additional key exchanges in the proposals)? */
bool inter_announce(const struct conn_cfg *cc);
/* Responder: how the ADDKE types of a request m's proposals are taken. */
enum prop_addke inter_addke_mode(const struct conn_cfg *cc, const struct ike_msg *m);
/* Additional key exchanges negotiated (not NONE) and not yet done. */
bool inter_pending(const struct ike_sa *sa);
void inter_rx_request(struct ike_sa *sa, const struct ike_msg *m,
		      const struct ike_msg *inner, const uint8_t *plain);
void inter_rx_response(struct ike_sa *sa, const struct ike_msg *inner);
/* Appends IntAuth (§3.3.2) to the signed octets after IKE_INTERMEDIATE;
 * nothing without one. */
int inter_octets(const struct ike_sa *sa, struct buf *octets);

/* exch_followup.c: IKE_FOLLOWUP_KE (RFC 9370 §2.2.4), both roles of an IKE
 * SA rekey and of a new or rekeyed Child SA with additional key
 * exchanges.  followup_count: the
 * additional exchanges a suite negotiated with a method, _method the one
 * after n done (0: none left), in type order. */
/* §2.2.4: "If the initiator continues to receive STATE_NOT_FOUND
 * notifications after several retries", the IKE SA is deleted: after
 * this many series in a row ended so. */
#define FOLLOWUP_NOT_FOUND_MAX 3
unsigned int followup_count(const struct ike_suite *s);
uint16_t followup_method(const struct ike_suite *s, unsigned int n);
/* The rekey's CREATE_CHILD_SA answered (SA, Nr, KEr of type 4 and the
 * link), ns kept for the exchanges that follow; -errno when not sent. */
int followup_begin(struct ike_sa *sa, uint32_t msgid, struct ike_sa *ns,
		   const struct ike_proposal *chosen, const struct buf *gir,
		   const struct buf *pub);
/* Initiator: the rekey's CREATE_CHILD_SA answered with additional
 * exchanges (the SA's keys from SK(0) in gir, ns->ni, ns->nr, the link in
 * inner): its request done, the first IKE_FOLLOWUP_KE sent; -errno when
 * not (ns still the request's). */
int followup_start(struct ike_sa *sa, struct ike_sa *ns, const struct ike_msg *inner,
		   const struct buf *gir);
/* Responder: the peer's new Child SA c (not linked; old: the one it
 * rekeys, or NULL) waits for its IKE_FOLLOWUP_KE exchanges, its seed SK(0)
 * in gir, ni, nr; followup_put_link then adds the link to the
 * CREATE_CHILD_SA response (and starts the wait).  -errno: c not taken. */
int followup_child_begin(struct ike_sa *sa, struct child_sa *c, struct child_sa *old,
			 const struct buf *gir, const struct buf *ni, const struct buf *nr);
int followup_put_link(struct ike_sa *sa, struct ike_builder *bld);
/* Initiator: our CREATE_CHILD_SA for c (rekeying old, or NULL) answered
 * with additional exchanges: its request done, c taken, the first
 * IKE_FOLLOWUP_KE sent; -errno when not (c still the request's). */
int followup_child_start(struct ike_sa *sa, struct child_sa *c, struct child_sa *old,
			 const struct ike_msg *inner, const struct buf *ni,
			 const struct buf *nr, const struct buf *gir);
/* Our IKE_FOLLOWUP_KE exchanges under way, of an IKE SA rekey or a Child
 * SA (§2.2.4: the peer's rekeys get TEMPORARY_FAILURE meanwhile). */
bool followup_busy(const struct ike_sa *sa);
void followup_clear(struct ike_followup *f);
void followup_rx_request(struct ike_sa *sa, const struct ike_msg *m,
			 const struct ike_msg *inner, const uint8_t *plain);
void followup_rx_response(struct ike_sa *sa, const struct ike_msg *inner);
/* exch_child.c: our Child SA c (rekeying old, or NULL) installed, or
 * refused by our kernel (kr), the request then done; lost: ours is the
 * redundant one of a collision (§2.8.1).  The peer's Child SA c after its
 * last IKE_FOLLOWUP_KE installed, or any the peer made: it takes over from
 * old, if any (child_peer_adopt). */
void child_new_installed(struct ike_sa *sa, struct child_sa *c, struct child_sa *old, int kr,
			 bool lost);
void child_peer_adopt(struct child_sa *c, struct child_sa *old);
/* exch_child.c: the peer's rekey of sa into ns done, ns takes over
 * (_adopt); ours (_finish, ns keyed); when to try a refused exchange
 * again. */
void ike_rekey_adopt(struct ike_sa *sa, struct ike_sa *ns);
void ike_rekey_finish(struct ike_sa *sa, struct ike_sa *ns);
uint64_t exch_retry_delay(void);

/* exch_child.c */
/* cc, a new Child SA the peer refused with err: asked for again later
 * (§2.25: TEMPORARY_FAILURE, by a new pass over the connection's Child SAs
 * 2-10 s later, the wait doubling up to CHILD_TEMP_RETRIES times, then
 * refused) or, after the notifies that refuse a Child SA for good (§1.2,
 * §1.3: NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, SINGLE_PAIR_REQUIRED,
 * INTERNAL_ADDRESS_FAILURE, FAILED_CP_REQUIRED, NO_ADDITIONAL_SAS), in no
 * later pass (struct child_want). */
void child_new_refused(struct ike_sa *sa, const struct child_cfg *cc, uint16_t err);
#define CHILD_TEMP_RETRIES	5
/* cc was established: its TEMPORARY_FAILUREs are forgotten. */
void child_new_done(struct ike_sa *sa, const struct child_cfg *cc);
/* c, accepted by the peer (IKE_AUTH, CREATE_CHILD_SA), could not be
 * installed (err): the peer is told to delete its half (§1.4.1). */
void child_refused_by_kernel(struct child_sa *c, int err);
/* The same for a reason of ours (why: a sentence for the log). */
void child_refuse_at_peer(struct child_sa *c, const char *why);
/* The peer deleted c, the new SA of its rekey we answered, before the
 * old one (its kernel refused c): the old one is whole and stays. */
void child_rekey_undo(struct child_sa *c);
/* The error notifies that refuse a Child SA and not the IKE SA (§1.2,
 * §1.3, §2.21.2), TEMPORARY_FAILURE (§2.25) among them. */
bool child_refusal_notify(uint16_t type);
/* PEND_CHILD: the pass over the connection's missing Child SAs (a new one
 * asked for: true), its timer re-armed once it is over (exch_ops). */
bool child_pass(struct ike_sa *sa);
int child_start_rekey(struct ike_sa *sa, struct child_sa *old);
int ike_start_rekey(struct ike_sa *sa);
void create_rx_request(struct ike_sa *sa, const struct ike_msg *m,
		       const struct ike_msg *inner, const uint8_t *plain);
void create_rx_response(struct ike_sa *sa, const struct ike_msg *inner);

/* exch_info.c */
int info_start_dpd(struct ike_sa *sa);
int info_start_delete_ike(struct ike_sa *sa);
int info_start_delete_child(struct ike_sa *sa, struct child_sa *c);
void info_rx_request(struct ike_sa *sa, const struct ike_msg *m,
		     const struct ike_msg *inner, const uint8_t *plain);
void info_rx_response(struct ike_sa *sa, const struct ike_msg *inner);

/* child.c: a Child SA's negotiation */
struct child_sa *child_by_spi_out(struct ike_sa *sa, uint32_t spi);
/* Our SA payload (ESP proposals with our SPI).  in_auth: the Child SA is
 * made in IKE_AUTH, whose proposals carry no KE transform (RFC 7296 §1.2);
 * the same flag goes to child_select() and child_accept(). */
void child_put_sa(struct child_sa *c, struct ike_builder *bld, bool in_auth);
/* Our TSi/TSr from the config (initiator) */
void child_put_ts(struct child_sa *c, struct ike_builder *bld, bool initiator);
/* Responder: pick a proposal, narrow selectors; returns 0 or the notify
 * type to answer with (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, ...). */
uint16_t child_select(struct ike_sa *sa, const struct child_cfg *cfg,
		      struct child_sa *c, const struct ike_msg *inner,
		      const struct child_ts *ts, bool in_auth, struct ike_proposal *chosen);
/* Initiator: accept the responder's choice; 0 or a notify type. */
uint16_t child_accept(struct child_sa *c, const struct ike_msg *inner, bool in_auth);
/* A request's TSi and TSr into *ts, parsed once and handed on; -EBADMSG
 * when either is missing or malformed (§3.13.1: INVALID_SYNTAX);
 * selectors of unknown types are skipped, not malformed. */
int child_ts_get(const struct ike_msg *inner, struct child_ts *ts);
/* Responder side: the config child whose selectors meet the request's,
 * one holding the packet the request names first (§2.9) before others. */
const struct child_cfg *child_cfg_match(const struct conn_cfg *cc, const struct child_ts *ts);
/* Keys from SK_d (+ g^ir) and nonces, then into the kernel. */
int child_install(struct child_sa *c, const struct buf *ni,
		  const struct buf *nr, const struct buf *gir, bool we_initiated);
/* The same from the whole seed of KEYMAT = prf+(SK_d, seed): RFC 9370
 * §2.2.4's SK(0) | Ni | Nr | SK(1) | ... | SK(n). */
int child_install_seed(struct child_sa *c, const struct buf *seed, bool we_initiated);
/* The notify that answers a Child SA the kernel refused (-errno from
 * child_install/child_policies): TEMPORARY_FAILURE or NO_ADDITIONAL_SAS. */
uint16_t child_install_notify(int err, bool ike_auth);
void child_link(struct child_sa *c);
void child_schedule(struct child_sa *c);
void child_rekey_later(struct child_sa *c, uint64_t ms);
void ts_set_put(struct ike_builder *bld, uint8_t pltype, const struct ts_set *s);

#endif
