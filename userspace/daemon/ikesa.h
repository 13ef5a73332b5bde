/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The IKEv2 engine's core, shared by its files: IKE SAs, Child SAs, the
 * engine, and what ikesa.c, child.c, trace.c, retry.c and trap.c offer
 * them (RFC 7296).  The rest of the daemon sees only engine.h.
 *
 * Layers, each calling only the ones below it (and the core calling the
 * exchanges only through struct exch_ops):
 *   engine_ctl.c  engine life, control, status; fills in exch_ops
 *   exch.h        the exchanges: exch_init.c (IKE_SA_INIT, cookies,
 *                 NAT-D), exch_auth.c (IKE_AUTH), exch_child.c
 *                 (CREATE_CHILD_SA, rekeys and their collisions), exch_info.c
 *                 (INFORMATIONAL), esp_probe.c (RT-24..28), child.c's
 *                 negotiation; proposal.h (proposal.c)
 *   ikesa.h       this: ikesa.c (SA table, message intake, sending,
 *                 retransmission, timers, teardown), child.c (Child SAs,
 *                 kernel installation), trace.c, retry.c (establishing
 *                 again), trap.c (start_action = trap), kevent.c;
 *                 ike_xport.h (the transport state machine, ike_xport.c)
 *
 * Single-threaded: everything runs from the event loop.  (The one other
 * thread, the key pair pool in crypto_kex.c, only generates key pairs and
 * touches nothing here.)
 */
#ifndef TCPIKE_IKESA_H
#define TCPIKE_IKESA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "engine.h"
#include "frag.h"
#include "htab.h"
#include "ike_xport.h"
#include "loop.h"
#include "memtrim.h"
#include "payload.h"
#include "pool.h"
#include "transport.h"

struct kbackend;
struct kb_selector;
struct udp;
struct tcp;

enum ike_state {
	IKE_S_INIT_SENT = 1,	/* initiator: IKE_SA_INIT request out */
	IKE_S_AUTH_SENT,	/* initiator: IKE_AUTH request out */
	IKE_S_HALF_OPEN,	/* responder: IKE_SA_INIT answered, no AUTH yet */
	IKE_S_ESTABLISHED,
	IKE_S_REKEYED,		/* replaced by a new IKE SA; awaiting delete */
	IKE_S_DELETING,		/* our Delete is out */
	IKE_S_DEAD,		/* unlinked; freed, or in engine.dead */
};

enum child_state {
	CHILD_S_INSTALLED = 1,
	CHILD_S_REKEYING,	/* our CREATE_CHILD_SA(REKEY_SA) is out */
	CHILD_S_REKEYED,	/* replaced; our Delete for it is out or due */
	CHILD_S_DELETING,
};

/*
 * RFC 9370 §2.2.4: an IKE SA rekey, or a new or rekeyed Child SA, whose
 * additional key exchanges run in IKE_FOLLOWUP_KE exchanges after its
 * CREATE_CHILD_SA (exch_followup.c).  ns is the new IKE SA, or child the
 * new Child SA (old: the one it rekeys, NULL when gone), linked only after
 * the last; seed is SK(0) | Ni | Nr | SK(1) | ... so far; link the blob of
 * the next request (the responder's own, or the one the initiator got; the
 * responder drops it all when ns's life timer, or child's expire timer,
 * fires first); kex is the initiator's running key exchange.
 */
#define IKE_FOLLOWUP_LINK_MAX	64
struct ike_followup {
	struct ike_sa *ns;
	struct child_sa *child, *old;
	struct buf seed;
	uint8_t link[IKE_FOLLOWUP_LINK_MAX];
	size_t link_len;
	uint32_t n;
	struct ike_kex *kex;
};

/* What the one outstanding request of an IKE SA is doing (window 1). */
enum ike_task {
	TASK_NONE = 0,
	TASK_INIT,		/* IKE_SA_INIT */
	TASK_AUTH,		/* IKE_AUTH */
	TASK_INTER,		/* IKE_INTERMEDIATE (RFC 9242) */
	TASK_CHILD_NEW,		/* CREATE_CHILD_SA for a new Child SA */
	TASK_CHILD_REKEY,	/* CREATE_CHILD_SA with REKEY_SA */
	TASK_IKE_REKEY,		/* CREATE_CHILD_SA rekeying the IKE SA */
	TASK_IKE_FOLLOWUP,	/* IKE_FOLLOWUP_KE of that rekey (RFC 9370) */
	TASK_DELETE_CHILD,	/* INFORMATIONAL with Delete (ESP) */
	TASK_DELETE_IKE,	/* INFORMATIONAL with Delete (IKE) */
	TASK_DPD,		/* empty INFORMATIONAL */
	TASK_ESP_TRANSPORT,	/* INFORMATIONAL: move ESP to UDP 4500 */
};

/* Our nonces (IKE_SA_INIT and CREATE_CHILD_SA): §2.10 wants at least
 * half the PRF key size; 32 bytes covers SHA-512's. */
#define IKE_NONCE_LEN		32

/* Work queued until the window is free (bit per kind). */
#define PEND_DPD		0x01u
#define PEND_IKE_REKEY		0x02u
#define PEND_DELETE_IKE		0x04u
#define PEND_CHILD		0x08u	/* see child_sa.pending */
#define PEND_ESP_UDP		0x10u	/* ask the peer to move ESP to UDP */

#define CHILD_PEND_REKEY	0x01u
#define CHILD_PEND_DELETE	0x02u
#define CHILD_PEND_CREATE	0x04u

struct ike_sa;

/* One direction's negotiated selectors after narrowing: n entries on the
 * heap (at most IKE_MAX_TS), released with ts_set_clear().  Most Child SAs
 * have one selector a side, so this is 48 bytes where a fixed array of
 * IKE_MAX_TS was 612. */
struct ts_set {
	int n;
	struct ike_ts *ts;
};

/* A rekey responder's outbound SA until it is installed (child_sa.out). */
struct child_out {
	struct child_sa *c;
	struct buf keys;
	struct crypto_esp_algs al;
	struct timer timer;
};

struct child_sa {
	struct ike_sa *ike;
	struct hnode spi_node;	/* in engine.child_spis, by spi_in */
	const struct child_cfg *cfg;
	enum child_state state;
	unsigned int pending;	/* CHILD_PEND_* */
	uint32_t spi_in, spi_out;	/* network order */
	uint32_t reqid;
	uint32_t id;		/* "net{7}" in status; terminate --child 7 */
	enum cfg_mode mode;
	struct ike_suite esp;	/* encr, encr_keylen, integ, esn (ke = PFS group) */
	struct ts_set ts_local, ts_remote;	/* as negotiated */
	bool installed_in, installed_out, policies;
	bool trap;		/* a trap's stand-in (struct trap) */
	bool encap;		/* UDP-encapsulated (NAT) */
	bool esp_tcp;		/* ESP inside the IKE TCP connection (RFC 9329) */
	uint16_t encap_lport, encap_rport;	/* as in the kernel (host order) */
	/* The outer addresses (ports 0) the kernel SAs are installed with
	 * (at install, then wherever child_follow_path moved them): what
	 * deletes, steers and kernel events name them by, whatever the IKE
	 * SA's path is now (addr_ip_ss() for the backend). */
	struct addr_ip addr_local, addr_remote;
	/* Responder of a rekey (RFC 7296 §2.8): the outbound SA waits until
	 * the initiator, which installs its inbound SA only on our response,
	 * deletes the old one (or out's timer fires); meanwhile out holds
	 * its keys (wiped and freed when installed or with the Child SA). */
	bool out_deferred;
	struct child_out *out;
	uint64_t created_ms;
	struct timer rekey_timer;
	struct timer expire_timer;
	struct child_sa *rekeyed_by;	/* the Child SA that replaces this one */
	/* §2.8.1: the peer rekeyed this SA while our rekey was out: its new
	 * Child SA and the lower nonce of its exchange. */
	struct child_sa *peer_rekey;
	struct buf *coll_nonce;	/* allocated by the first collision */
	uint64_t rekeys;
	struct child_sa *next;
};

/* What the core decrypted of an encrypted message, while its handler runs:
 * the outer message (of a fragmented one, the last fragment), the SK
 * payload's content and first inner type, and SK's flags byte (of the
 * first fragment's SKF, RFC 9242 §3.3.2). */
struct ike_rx_sk {
	const struct ike_msg *m;
	const uint8_t *plain;
	size_t plain_len;
	uint8_t first, sk_flags;
	bool fragmented;
};

/* Packets of one message as sent (several with RFC 7383 fragments). */
struct pktset {
	struct buf *pkt;
	int n;
};

struct ike_req {
	enum ike_task task;
	uint32_t msgid;
	uint8_t exch;
	struct pktset out;
	unsigned int tries;
	uint64_t started_ms, deadline_ms;	/* 0 = no deadline but tries */
	struct timer timer;
	/* Exchange state */
	struct child_sa *child;	/* new Child SA being negotiated */
	struct child_sa *old;	/* Child SA being rekeyed or deleted */
	struct ike_sa *new_ike;	/* IKE SA rekey: the SA being made */
	struct ike_kex *kex;
	struct buf nonce;
};

/*
 * ESP reachability (RT-24..28) when IKE started over TCP: the initiator
 * sends a probe through its outbound Child SA and waits for ESP to come
 * back on the inbound one (the module's reachability events, else the
 * kernel's counters), first on IP, after esp_probe_delay also in UDP 4500;
 * the responder answers inbound ESP with a probe of its own.
 */
enum esp_probe_state {
	PROBE_NONE = 0,		/* not needed: IKE started over UDP (RT-23) */
	PROBE_SKIPPED,		/* see skip_why */
	PROBE_RUNNING,
	PROBE_OK,
	PROBE_FAILED,		/* RT-25: the SA is rebuilt in RFC 9329 mode */
};

struct esp_probe {
	struct ike_sa *sa;
	enum esp_probe_state state;
	bool answering;		/* responder: echo inbound ESP */
	bool udp;		/* the transport probed/confirmed: UDP 4500 */
	bool udp_asked;		/* our request to move to UDP went out */
	const char *skip_why;
	uint32_t spi_in;	/* the Child SA watched (network order) */
	uint64_t base;		/* its inbound packets when the transport began */
	uint64_t seen;		/* ... at the last look (responder) */
	uint64_t start_ms, phase_ms, done_ms, last_ms;
	unsigned int sent, answered, answered_before;
	unsigned int sent_ok;	/* probe datagrams that left */
	/* With a backend that has reach_set (the module), the kernel's
	 * reachability events on the probed Child SA replace reading its
	 * counters: events, the probe listens to them; watch, one is set,
	 * on the outbound SA (watch_dst, watch_spi) paired with watch_pair
	 * (network order). */
	bool events, watch;
	uint32_t watch_spi, watch_pair;
	struct sockaddr_storage watch_dst;
	struct timer timer;
};

/* What the passes over a connection's Child SAs know of one of them. */
struct child_want {
	/* Refused for good (not TEMPORARY_FAILURE, or that too often): no
	 * pass asks for it again. */
	bool refused;
	/* TEMPORARY_FAILURE answers in a row, and when it may be asked for
	 * again (the wait doubling each time, §2.25). */
	unsigned int temp_fails;
	uint64_t due_ms;
};

/*
 * Virtual IPs of an IKE SA (vip.c), apart from it since most SAs have none
 * (issue 21: memory per IKE SA): allocated by ike_rw_get() when the first
 * is asked for or taken, freed with the SA, passed to the SA that rekeys
 * it.
 */
struct ike_rw {
	/* Responder: the virtual IPs the peer was given from pools (a CP
	 * payload, RFC 7296 §3.15), at most one per family; their leases
	 * are released when the SA goes (ike_vips_release), or pass to the
	 * SA that rekeys it. */
	struct ike_vip {
		struct sockaddr_storage addr;
		char pool[CFG_NAME_MAX];
	} vip[2];
	int n_vip;
	/* Initiator (vips =): the virtual IPs the peer gave us in its
	 * CFG_REPLY, our Child SAs' local selectors; added to the host
	 * (bit i of vip_installed) while the SA lives, passed to the SA that
	 * rekeys it.  The DNS servers that came with them are shown, not
	 * applied. */
	bool vip_asked;
	struct sockaddr_storage my_vip[2];
	int n_my_vip;
	uint8_t vip_installed;
	struct sockaddr_storage vip_dns[2 * IKE_MAX_CP_DNS];
	int n_vip_dns;
};

/* The messages an IKE SA keeps only until IKE_AUTH is done (ike_sa.init):
 * apart from it so that established SAs do not carry them. */
struct ike_init {
	struct buf init_req, init_resp;	/* as sent/received, for AUTH */
	struct buf cookie;	/* initiator: cookie to echo */
	struct buf puzzle;	/* initiator: RFC 8019 solution for it */
	/* RFC 9242: IntAuth_iN and IntAuth_rN over the IKE_INTERMEDIATE
	 * messages (§3.3.2), for AUTH */
	struct buf int_auth_i, int_auth_r;
	struct buf peer_certreq_data;	/* the CERTREQ's CA hashes */
	/* As derived: SK_e and SK_a go on in ike_sa.sk_in/sk_out
	 * (ike_sa_keys_set), SK_p sign AUTH, SK_d moves to ike_sa.sk_d
	 * when the SA is established (ike_sk_d() reads either). */
	struct ike_keys keys;
};

struct ike_sa {
	struct engine *e;
	const struct conn_cfg *cfg;	/* NULL only briefly (responder lookup) */
	enum ike_state state;
	bool initiator;		/* original initiator (RFC 7296 §2.2 I flag) */
	uint8_t spi_i[8], spi_r[8];
	uint64_t id;		/* unique number for status and logs */
	struct ike_path path;	/* where the peer is now */

	struct ike_suite suite;
	bool keyed;
	struct sk_ctx sk_in, sk_out;
	/* SK_d once established, the only key of init->keys used again:
	 * read it through ike_sk_d() */
	struct buf sk_d;

	/* IKE_SA_INIT material, kept until IKE_AUTH is done */
	struct ike_kex *kex;
	struct ike_kex *addke_kex;	/* RFC 9370: the running additional one */
	struct buf ni, nr;
	/* made with the SA, NULL once established (struct ike_init) */
	struct ike_init *init;
	uint16_t ke_group;	/* initiator: group to offer */
	unsigned int init_restarts;

	/* Transports (RFC 9329, draft-ietf-ipsecme-ikev2-reliable-transport):
	 * path is where IKE goes; ESP goes where ike_esp_path() says; the
	 * state machine is ike_xport.c's. */
	struct ike_xport x;
	/* Allocated when a probe starts (ike_probe_get): NULL for SAs that
	 * began over UDP, most of them; ike_probe() reads either. */
	struct esp_probe *probe;

	/* NAT traversal (§2.23) */
	bool nat_local, nat_remote;	/* we / the peer are behind a NAT */
	bool natt;		/* moved to 4500 */
	struct timer keepalive_timer;
	bool kernel_keepalive;

	/* Extensions the peer announced */
	bool peer_frag;		/* IKEV2_FRAGMENTATION_SUPPORTED both ways */
	uint32_t peer_sig_hashes;	/* SIGNATURE_HASH_ALGORITHMS bitmask */
	bool peer_certreq;	/* its CAs: init->peer_certreq_data */

	/* RFC 9242 (exch_inter.c): both announced INTERMEDIATE_EXCHANGE_
	 * SUPPORTED; the IKE_INTERMEDIATE exchanges done (IntAuth over their
	 * messages: init). */
	bool inter;
	uint32_t inter_n;
	/* RFC 9370 §2.2.4: the peer's IKE SA rekey and ours while their
	 * additional key exchanges run (exch_followup.c), allocated by the
	 * first such rekey: NULL for most SAs. */
	struct ike_followup *fu_resp, *fu_init;
	/* §2.2.4: our series that ended in STATE_NOT_FOUND, in a row */
	unsigned int fu_not_found;
	/* The encrypted message handed to an exchange's handler, for the
	 * call only (IntAuth covers what lies outside SK): it points into the
	 * intake's stack frame. */
	const struct ike_rx_sk *rx_sk;

	/* Identities */
	/* As sent (printed by peer_id_str), in the bytes it takes
	 * (config_id_dup): NULL until its ID payload arrives. */
	struct id_cfg *peer_id;
	/* in engine.peer_ids once established (ike_by_peer_*) */
	struct hnode id_node;
	/* The road warrior's virtual IPs (struct ike_rw), allocated by the
	 * first that has any: NULL for most SAs. */
	struct ike_rw *rw;
	/* Responder: the message ID of the initiator's first request after
	 * IKE_AUTH, the one that may carry AUTHENTICATION_FAILED (§2.21.2). */
	uint32_t auth_next_msgid;
	/* Initiator: which attempt at establishing this is (keyingtries);
	 * 0 = the first. */
	unsigned int keying_attempt;

	/* Message IDs (window 1 both ways) */
	uint32_t my_msgid;	/* next request we send */
	uint32_t peer_msgid;	/* next request we expect */
	struct ike_req req;
	struct pktset resp_cache;	/* last response sent */
	uint32_t resp_cache_msgid;
	bool resp_cached;
	/* SHA-256 of the request resp_cache answers (resp_req_ok), so that
	 * only a true retransmission gets it again; and of the request in
	 * hand (pend_req_msgid), which becomes it when answered. */
	uint8_t resp_req_hash[32], pend_req_hash[32];
	uint32_t pend_req_msgid;
	bool resp_req_ok, pend_req_ok;
	/* A request of the peer's was answered INVALID_SYNTAX once the IKE SA
	 * was up (ike_respond_notify): fatal to the IKE SA (§2.21.3; RFC 6989
	 * §2.5 for an invalid KE), which goes, without a Delete, once that
	 * request is handled (syntax_fatal_end). */
	bool syntax_fatal;
	struct frag_rx frag;
	uint8_t frag_sk_flags;	/* fragment 1's SKF flags byte (struct ike_rx_sk) */
	unsigned int pending;	/* PEND_* */

	struct child_sa *children;
	/* The first Child SA, negotiated inside IKE_AUTH */
	const struct child_cfg *auth_child_cfg;

	uint64_t created_ms, established_ms, last_rx_ms;
	struct timer life_timer;	/* half-open limit, or IKE rekey */
	struct timer dpd_timer;
	/* unique = replace of an IKE SA from the same address: its peer's
	 * make-before-break reauthentication deletes it first, or this does */
	struct timer replace_timer;
	/* PEND_CHILD: the index in cfg->children to go on from (a refused
	 * Child SA is not asked for again in the same pass), and the timer
	 * of a new pass after TEMPORARY_FAILURE (§2.25); child_again: it
	 * fired while a pass was under way, another follows that one. */
	unsigned int child_from;
	bool child_again;
	struct timer child_timer;
	/* The peer's refusals of new Child SAs, by position in cfg->children
	 * (n_wants of them, allocated at the first refusal; NULL: none).
	 * Cleared by an operator's initiate and a reload (child_wants_clear);
	 * they move with the Child SAs to a new IKE SA (ike_move_children). */
	struct child_want *wants;
	unsigned int n_wants;
	/* The packet whose acquire asked for a Child SA of trigger->cfg: its
	 * selectors go first in that request (RFC 7296 §2.9), once. */
	struct child_trigger *trigger;
	uint64_t rekeys;
	struct ike_sa *rekeyed_to;	/* replaced by (for status) */
	/* §2.8.2: the peer rekeyed this IKE SA while our rekey was out. */
	struct ike_sa *peer_ike;
	/* How many of other SAs' rekeyed_to, peer_ike, req.new_ike and
	 * fu_*->ns point at this one (ike_sa_ref, ike_sa_unref when one is
	 * cleared or its holder goes): while some do, ike_sa_destroy()
	 * walks all SAs to clear them.  Never zero with such a pointer left;
	 * one left counted costs only that walk. */
	unsigned int referenced;
	bool on_ho;		/* on the engine's half-open list (ho_next) */
	/* in engine.peer_ids (id_node) */
	bool id_indexed;
	/* the lower nonce of the peer's colliding rekey, allocated by the
	 * first collision (collision_keep) */
	struct buf *coll_nonce;
	uint64_t stats_rx, stats_tx, stats_retx;

	struct ike_sa *hnext;	/* SA table chain */
	struct ike_sa *ho_next, *ho_prev;
	struct ike_sa *next, *prev;	/* all SAs */
};

/* sa is about to be pointed at from another SA (see referenced): sa. */
static inline struct ike_sa *ike_sa_ref(struct ike_sa *sa)
{
	if (sa)
		sa->referenced++;
	return sa;
}

/* A pointer at sa from another SA is about to be cleared. */
static inline void ike_sa_unref(struct ike_sa *sa)
{
	if (sa && sa->referenced)
		sa->referenced--;
}

/* SK_d: the derived one until the SA is established, then the one kept. */
static inline const struct buf *ike_sk_d(const struct ike_sa *sa)
{
	return sa->init ? &sa->init->keys.sk_d : &sa->sk_d;
}

/* sa's virtual IPs, allocated on first use; NULL when out of memory. */
struct ike_rw *ike_rw_get(struct ike_sa *sa);

static inline int ike_n_vip(const struct ike_sa *sa)
{
	return sa->rw ? sa->rw->n_vip : 0;
}

static inline int ike_n_my_vip(const struct ike_sa *sa)
{
	return sa->rw ? sa->rw->n_my_vip : 0;
}

/* Rotating secret for COOKIE (§2.6): version byte + HMAC. */
struct cookie_secret {
	uint8_t version;
	uint8_t cur[32], prev[32];
	bool have_prev;
	uint64_t rotated_ms;
};

struct engine_stats {
	uint64_t rx, rx_dropped, rx_bad, tx;
	uint64_t ike_established, ike_failed, child_installed, child_failed;
	uint64_t cookies_sent, cookies_ok, cookies_bad;
	/* RFC 8019 over TCP: puzzles sent, solved (PS valid), returned without
	 * a solution (legacy initiators, still served), solved badly. */
	uint64_t puzzles_sent, puzzles_solved, puzzles_unsolved, puzzles_bad;
	uint64_t puzzles_deferred;	/* unsolved, above half of half_open_max */
	uint64_t invalid_ke_sent, retransmits, dpd_dead;
	uint64_t frags_sent, frags_reassembled;
	uint64_t tcp_reconnects, separate_negotiated;
	/* Connections we opened; auto's races, and who won them. */
	uint64_t tcp_connects, tcp_races, tcp_races_udp_won, tcp_races_tcp_won;
	uint64_t separate_tcp_failed;
	/* separate: connects beside IKE_SA_INIT, closed unused, failed early */
	uint64_t tcp_preconnects, tcp_preconnects_unused, tcp_preconnects_failed;
	uint64_t esp_probes_ok, esp_probes_failed, esp_moved_udp;
};

struct engine {
	struct loop *loop;
	struct config *cfg;
	struct kbackend *kb;
	struct udp *udp;	/* for status; packets go through net */
	struct tcp *tcp;
	const struct engine_net *net;	/* NULL: nothing goes out */
	void *net_ctx;

	struct ike_sa **table;	/* by our SPI */
	size_t table_size, n_sa;
	struct ike_sa *all;
	struct htab child_spis;	/* every child_sa by spi_in (§2.6, RFC 4303
				 * §2.1: our inbound SPIs are unique) */
	struct htab peer_ids;	/* IKE SAs established once, by the peer's
				 * identity (config_id_hash): unique,
				 * INITIAL_CONTACT and ike_sas_per_id look
				 * there, not through every SA */
	struct ike_sa *half_open;	/* responder SAs before IKE_AUTH */
	uint32_t n_half_open;
	uint64_t next_id;
	uint32_t next_reqid, next_child_id;
	/* tcpikectl initiate --wait: the result of a connection (engine_ctl.c) */
	struct engine_waiter *waiters;

	struct cookie_secret cookie;
	struct timer cookie_timer;

	/* Credentials, loaded per connection name on demand */
	struct cred *creds;
	/* Connections to initiate again later (keyingtries, dpd_action,
	 * close_action), by name */
	struct conn_retry *retries;
	/* remote_addrs names and what they last resolved to (dns.c) */
	struct conn_dns *dns;
	/* The virtual IPs a connection had last, asked for again when it
	 * reconnects (vip.c), by name */
	struct vip_memo *vip_memo;

	struct engine_stats st;
	struct frag_pool frags;	/* every SA's reassembly, max_frag_memory */
	/* Memory given back once a burst of half-open SAs is over. */
	struct mem_burst ho_mem;
	bool shutting_down;
	/* Initiations asked for while an SA was being destroyed (RT-25),
	 * started from the loop right after (ike_xport.c). */
	struct xport_later *later;
	struct timer later_timer;
	/* separate's race: the connection opened beside the UDP IKE_SA_INIT,
	 * offered to the racing TCP SA while race_fire makes it. */
	struct tcp_conn *race_conn;
	/* The backend's event source, watched by the loop (kevent.c). */
	int kev_fd;
	bool kev_watched;
	/* Address pools and their leases by identity (pool.c). */
	struct pool_set *pools;
	/* Installed trap policies, one per trapped child (trap.c). */
	struct trap *traps;
	/* The SA payload of the message being read (~70 KB, kept off the
	 * stack): one at a time, never across a return to the loop. */
	struct ike_sa_pl rx_sap;
	/* While a received message is handled (rx_depth, engine_rx), the
	 * IKE SAs destroyed are torn down, IKE_S_DEAD and unlinked, but
	 * their memory waits here (linked by next) until the message is
	 * done: a handler up the stack may still hold one. */
	struct ike_sa *dead;
	unsigned int rx_depth;
	/* The exchanges' handlers (struct exch_ops, exch.h). */
	const struct exch_ops *exch;
};

/*
 * The policies of a child with start_action = trap (trap.c), installed
 * with the configuration: c is the Child SA to come as far as policies
 * go (selectors as configured, mode, outer addresses, a reqid of its
 * own), never negotiated nor linked into an IKE SA; holder stands for
 * its IKE SA where child.c's policy code names one (engine, connection).
 * A Child SA with these selectors and tunnel then shares the policies
 * and their reqid (child_reqid), so its SAs meet the kernel's template.
 */
/* What ike_sa.trigger holds: TSi and TSr of one packet (trap.c). */
struct child_trigger {
	const struct child_cfg *cfg;
	struct ike_ts tsi, tsr;
};

struct trap {
	struct trap *next;
	struct child_sa *c;
	bool action;	/* dpd_action or close_action's, not start_action's */
	struct ike_sa holder;
};

/*
 * What the core (ikesa.c) needs of the exchanges (exch.h): it hands on what
 * it receives and starts the work it queued through these, and names no
 * function of exch_*.c or esp_probe.c itself.  engine_new() puts exch_ops
 * (engine_ctl.c) in engine.exch; the exchanges call the core directly.
 */
struct exch_type {
	/* A request of this exchange type: m the message, inner its decrypted
	 * payloads, plain their bytes (what IKE_AUTH's AUTH signs). */
	void (*rx_request)(struct ike_sa *sa, const struct ike_msg *m,
			   const struct ike_msg *inner, const uint8_t *plain);
	/* The response to our request of this type. */
	void (*rx_response)(struct ike_sa *sa, const struct ike_msg *inner);
	/* Taken only by a responder before IKE_AUTH is done (IKE_AUTH,
	 * IKE_INTERMEDIATE); the others only after it. */
	bool half_open;
};

struct exch_ops {
	/* IKE_SA_INIT: a request (answered without an SA where refused), the
	 * response to ours, and ours (again: TCP connected, a cookie). */
	void (*init_rx_request)(struct engine *e, const struct ike_rx *rx,
				const struct ike_msg *m);
	void (*init_rx_response)(struct ike_sa *sa, const struct ike_rx *rx,
				 const struct ike_msg *m);
	int (*init_start)(struct ike_sa *sa);
	/* The initiator's first request after IKE_SA_INIT: IKE_INTERMEDIATE
	 * when negotiated (RFC 9242), else IKE_AUTH. */
	int (*auth_start)(struct ike_sa *sa);
	/* The encrypted exchanges, by type (IKE_AUTH .. IKE_FOLLOWUP_KE). */
	struct exch_type types[IKEV2_EXCH_IKE_FOLLOWUP_KE - IKEV2_EXCH_IKE_AUTH + 1];
	/* The queued work ike_kick() starts, in its order; 0 when the request
	 * went out. */
	/* An IKE SA rekey's additional key exchanges dropped (RFC 9370);
	 * f may be NULL. */
	void (*followup_clear)(struct ike_followup *f);
	int (*delete_ike)(struct ike_sa *sa);
	int (*ike_rekey)(struct ike_sa *sa);
	int (*delete_child)(struct ike_sa *sa, struct child_sa *c);
	int (*child_rekey)(struct ike_sa *sa, struct child_sa *old);
	/* PEND_CHILD: the next missing Child SAs of the connection; true when
	 * a request went out. */
	bool (*child_pass)(struct ike_sa *sa);
	int (*esp_transport)(struct ike_sa *sa);
	int (*dpd)(struct ike_sa *sa);
	/* sa goes: the ESP probe's timer and reachability watch with it. */
	void (*probe_stop)(struct ike_sa *sa);
	/* A reachability event (kevent.c) for the Child SA c's watch. */
	void (*probe_reach)(struct child_sa *c, bool up);
};

/* --- the core, for the engine's files ---------------------------------------- */

/* ikesa.c */
struct ike_sa *ike_sa_new(struct engine *e, const struct conn_cfg *cfg,
			  bool initiator);
void ike_sa_link(struct ike_sa *sa);		/* into the SPI table */
/* Frees the SA and everything it holds; starts nothing new.  Within
 * engine_rx the struct itself stays, IKE_S_DEAD, until the message is
 * done (engine.dead): callers may read sa->state after. */
void ike_sa_destroy(struct ike_sa *sa, const char *why);
/* An established SA's peer is told by a Delete, sent once and not waited
 * for (none while a request of ours is out), then the SA is destroyed. */
void ike_sa_delete_now(struct ike_sa *sa, const char *why);
/* The SA's virtual IPs go back to their pools (remembered for the
 * identity); the SA holds none after. */
void ike_vips_release(struct ike_sa *sa);
/* vip.c, initiator: the virtual IPs off the host, remembered for the
 * connection; called as the SA goes. */
void vip_drop(struct ike_sa *sa);
void vip_memo_free(struct engine *e);
struct ike_sa *ike_sa_by_spi(struct engine *e, const uint8_t spi[8]);
void ike_sa_established(struct ike_sa *sa);
/* The IKE SAs that were established and whose peer identity is id (in
 * any state since: callers check), without a walk of every SA; next is
 * taken before the caller may free o. */
struct ike_sa *ike_by_peer_first(struct engine *e, const struct id_cfg *id);
struct ike_sa *ike_by_peer_next(const struct ike_sa *o, const struct id_cfg *id);
void ike_half_open_add(struct ike_sa *sa);
int ike_sa_keys_set(struct ike_sa *sa);		/* sk_in/sk_out from keys */
/* "conn[id]", valid for four more calls (two SAs in one log line). */
const char *ike_sa_name(const struct ike_sa *sa);
void ike_sa_hdr(const struct ike_sa *sa, struct ike_hdr *h, uint8_t exch,
		bool response, uint32_t msgid);
/* Encrypts inner (a chain built with chain_begin) and sends it as the
 * next request / as the response to msgid.  Fragments per RFC 7383 when
 * allowed and needed. */
int ike_send_request(struct ike_sa *sa, enum ike_task task, uint8_t exch,
		     struct ike_builder *inner);
/* inner as a request with the next message ID, sent once: no
 * retransmission, no answer awaited, nothing kept.  A message the
 * transport has no room for waits for room (engine_net wait) until
 * deadline_ms, not at all with 0.  0 or -errno (-ETIMEDOUT: the deadline
 * passed; -ENOTCONN: no TCP connection, none is opened). */
int ike_send_once(struct ike_sa *sa, uint8_t exch, struct ike_builder *inner,
		  uint64_t deadline_ms);
int ike_send_response(struct ike_sa *sa, uint8_t exch, uint32_t msgid,
		      struct ike_builder *inner);
/* An unencrypted message (IKE_SA_INIT). */
int ike_send_plain(struct ike_sa *sa, const struct buf *msg, bool request);
int ike_send_raw(struct engine *e, const struct ike_path *path,
		 const uint8_t *p, size_t len);
/* The current request is done (response processed): clear it, go on
 * with queued work. */
void ike_req_done(struct ike_sa *sa);
/* ike_req_done without starting queued work: the handler sends the next
 * request of a series (IKE_FOLLOWUP_KE) itself. */
void ike_req_continue(struct ike_sa *sa);
/* Starts queued work if idle.  Never frees sa. */
void ike_kick(struct ike_sa *sa);
/* Sends the outstanding request again (a new TCP connection, TCP-32). */
void ike_req_resend(struct ike_sa *sa);
/* The same, as a retransmission (counted), outside the retransmit timer. */
void ike_req_retransmit(struct ike_sa *sa);
/* sa's next Child SA of trig->cfg asks with trig's selectors first (a copy;
 * NULL: nothing); a trigger not taken in memory is only a request
 * without them. */
void ike_set_trigger(struct ike_sa *sa, const struct child_trigger *trig);
/* The SA's TCP connection came up: IKE_SA_INIT or IKE_AUTH that waited for
 * it goes, or the outstanding request again (TCP-28). */
void ike_path_ready(struct ike_sa *sa);
void ike_rekey_later(struct ike_sa *sa, uint64_t ms);
/* The connection's missing Child SAs asked for again in ms. */
void ike_children_later(struct ike_sa *sa, uint64_t ms);
/* Forgets the peer's refusals of new Child SAs (struct child_want). */
void child_wants_clear(struct ike_sa *sa);
void ike_schedule_timers(struct ike_sa *sa);
void ike_timers_reconfigured(struct ike_sa *sa);
void pktset_free(struct pktset *ps);
/* An error notify in an encrypted response (INVALID_SYNTAX, ...); an
 * INVALID_SYNTAX once the IKE SA is up sets syntax_fatal, and the SA
 * ends once the request is handled (rx_encrypted, RFC 7296 §2.21.3). */
int ike_respond_notify(struct ike_sa *sa, uint8_t exch, uint32_t msgid,
		       uint16_t type, const uint8_t *data, size_t len);
uint64_t ike_now(void);

/* trace.c: the debug-level message trace */
void trace_rx(const struct engine *e, const struct ike_sa *sa, const struct ike_rx *rx,
	      const struct ike_msg *outer, const struct ike_msg *inner);
void trace_tx_plain(struct engine *e, const struct ike_path *path, const uint8_t *p, size_t len);
void trace_tx_sealed(const struct ike_sa *sa, const struct ike_hdr *h, uint8_t first,
		     const uint8_t *plain, size_t len, size_t bytes, int frags);
/* "192.168.1.0/24,10.1.0.0/16" of configured selectors */
void ts_cfgs_str(const struct ts_cfg *t, int n, char *out, size_t len);

/* ike_xport.c: see ike_xport.h, and: */
/* sa's ESP probe, made now if it has none; NULL when out of memory. */
struct esp_probe *ike_probe_get(struct ike_sa *sa);
/* sa's ESP probe, or one in PROBE_NONE when it never had one. */
const struct esp_probe *ike_probe(const struct ike_sa *sa);

/* retry.c: establishing again (keyingtries, dpd_action, close_action) */
/* An initiator SA that was not established failed for why (the peer did
 * not answer, could not be reached): the next attempt is scheduled with
 * back-off unless keyingtries are used up.  Logs; the caller destroys sa. */
void ike_keying_failed(struct ike_sa *sa, const char *why);
/* The connection again in delay_ms (attempt 1), unless by then one of its
 * IKE SAs exists (the peer's, say) or a retry is already due. */
void conn_restart_later(struct engine *e, const struct conn_cfg *cc, uint64_t delay_ms);
/* Drops the retry due for name; false if there was none. */
bool conn_retry_cancel(struct engine *e, const char *name);
/* Attempt n of cc (a name resolved: dns.c): started now, or failed with
 * why and tried again after the back-off (keyingtries). */
void conn_attempt_start(struct engine *e, const struct conn_cfg *cc, unsigned int n);
void conn_attempt_failed(struct engine *e, const struct conn_cfg *cc, unsigned int n,
			 const char *why);
/* cc names its peer: an address, or a DNS name to resolve first. */
bool conn_can_initiate(const struct conn_cfg *cc);
/* A retry of name is due: true, with the attempt it starts and in how
 * many ms. */
bool conn_retry_pending(struct engine *e, const char *name, unsigned int *attempt,
			uint64_t *in_ms);
void conn_retries_free(struct engine *e);
/* The retries due, as "conn: attempt N in Ss" lines or JSON objects. */
void conn_retries_status(struct engine *e, struct buf *b, bool json);

/* child.c: Child SAs as the core and the services see them (exch.h has
 * their negotiation) */
struct child_sa *child_new(struct ike_sa *sa, const struct child_cfg *cfg);
void child_free(struct child_sa *c, bool uninstall);
/* Installs a deferred outbound SA now (see child_sa.out_deferred). */
void child_install_out(struct child_sa *c);
/* SPD entries for the Child SA's selectors (first SA of a reqid). */
int child_policies(struct child_sa *c);
/* a lies within t, or within one of the n configured selectors ts
 * (addresses only). */
bool ts_has_addr(const struct ike_ts *t, const struct sockaddr_storage *a);
bool ts_cfg_has_addr(const struct ts_cfg *ts, int n, const struct sockaddr_storage *a);
/* The Child SA's selectors as its config writes them, unnarrowed (a
 * trap's, trap.c); 0, -ENOMEM or -E2BIG. */
int child_ts_configured(struct child_sa *c);
/* The reqid of a new Child SA: that of the installed policies that are
 * exactly c's, else a new one. */
uint32_t child_reqid(struct child_sa *c);
/* The IKE SA's ESP path moved (§2.23, a NAT's new mapping): its Child SAs
 * follow, to new UDP ports (steered) or to new addresses with their
 * policies' templates (the backend's sa_move); one that cannot stays as
 * installed, logged. */
void child_follow_path(struct ike_sa *sa);
/* Moves a Child SA's ESP (both directions) to raw IP or UDP encapsulation
 * with the given ports (host order), keys and replay state kept; 0 or
 * -errno with the backend's sentence logged. */
int child_steer(struct child_sa *c, bool udp, uint16_t lport, uint16_t rport);
/* Appends t unless already there; -ENOMEM, or -E2BIG past IKE_MAX_TS. */
int ts_set_add(struct ts_set *s, const struct ike_ts *t);
int ts_set_str(const struct ts_set *s, char *out, size_t len);

/* trap.c */
/* Installs the trap policies of every trapped child of the configuration
 * that has none yet (start-up, after a reload). */
void trap_install_all(struct engine *e);
/* Before a reload frees the old configuration: traps of children still
 * trapped in connections that changed at most in timers follow cfg, the
 * others are removed. */
void trap_reload(struct engine *e, const struct config *cfg);
void trap_remove_all(struct engine *e);
/* dpd_action or close_action (why) = trap: the traps of only's child, or
 * of every child of sa, before they go (the Child SAs' policies pass to
 * the traps). */
void trap_on_close(struct ike_sa *sa, const struct child_sa *only, const char *why);
/* `terminate`: removes cc's traps of trap_on_close; how many. */
int trap_remove_conn(struct engine *e, const struct conn_cfg *cc);
/* The kernel's acquire: the trapped child it is for (by reqid, else by
 * the packet's addresses) is initiated unless it is already up or being
 * set up. */
void trap_acquire(struct engine *e, const struct kb_event *ev);
/* engine_initiate for a trapped child of cc: a Child SA of ch, asked for
 * with the selectors of the packet pkt first (RFC 7296 §2.9). */
int conn_initiate_trap(struct engine *e, const struct conn_cfg *cc, const struct child_cfg *ch,
		       const struct kb_selector *pkt, struct buf *out);
/* The installed trap of child ch of cc, or NULL. */
const struct trap *trap_of(const struct engine *e, const struct conn_cfg *cc,
			   const struct child_cfg *ch);

/* identities (ikesa.c) */
int id_str(const struct id_cfg *id, char *out, size_t len);
/* The peer's identity as text into out (PEER_ID_STRLEN), "" before it is
 * known; returns out. */
#define PEER_ID_STRLEN 128
const char *peer_id_str(const struct ike_sa *sa, char *out);
/* sa->peer_id becomes a copy of id (before it is indexed): 0 or -ENOMEM. */
int ike_sa_set_peer_id(struct ike_sa *sa, const struct id_cfg *id);

#endif
