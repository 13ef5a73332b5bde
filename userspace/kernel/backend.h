/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel backends: how the daemon installs IPsec SAs and policies.
 *
 *   module  the tcpike generic-netlink family (tcpike.ko), preferred
 *   xfrm    plain XFRM netlink (kernel with ESP, no module)
 *   none    nothing is installed; SAs are logged and kept in memory
 *           (control-plane tests and benchmarks on kernels without ESP)
 *
 * All functions return 0 or a negative errno; on failure a sentence for the
 * log is left in kb_error (the kernel's extack message where there is one).
 * Key bytes passed in are copied and the copies wiped after use.
 */
#ifndef TCPIKE_BACKEND_H
#define TCPIKE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "htab.h"

enum kb_kind { KB_NONE = 0, KB_XFRM, KB_MODULE };

enum kb_encap {
	KB_ENCAP_RAW = 0,	/* ESP directly over IP (proto 50) */
	KB_ENCAP_UDP,		/* RFC 3948 ESP-in-UDP */
	KB_ENCAP_TCP,		/* RFC 9329 espintcp */
};

enum kb_mode { KB_MODE_TUNNEL = 0, KB_MODE_TRANSPORT };
enum kb_dir { KB_DIR_IN = 0, KB_DIR_OUT, KB_DIR_FWD };

struct kb_selector {
	int family;			/* AF_INET or AF_INET6 */
	struct sockaddr_storage src, dst;	/* addresses only */
	uint8_t src_plen, dst_plen;
	uint8_t proto;			/* 0 = any */
	uint16_t sport, dport;		/* 0 = any (host order) */
};

struct kb_sa {
	uint32_t spi;			/* network order */
	uint32_t reqid;
	enum kb_mode mode;
	struct sockaddr_storage src, dst;	/* outer addresses, ports unused */
	struct kb_selector sel;		/* transport mode / inner selector */
	/* Kernel crypto names: "rfc4106(gcm(aes))", "rfc7539esp(chacha20,poly1305)",
	 * or enc "cbc(aes)" + auth "hmac(sha256)" etc. */
	char aead[64];
	uint16_t aead_icv_bits;
	char enc[64];
	char auth[64];
	uint16_t auth_trunc_bits;
	const uint8_t *enc_key;		/* for AEAD: key || salt */
	uint16_t enc_key_len;		/* bytes */
	const uint8_t *auth_key;
	uint16_t auth_key_len;
	bool esn;
	uint32_t replay_window;
	uint64_t soft_bytes, hard_bytes, soft_packets, hard_packets;
	uint64_t soft_seconds, hard_seconds;	/* 0 = none */
	uint32_t mark, mark_mask, if_id;
	enum kb_encap encap;
	uint16_t encap_sport, encap_dport;	/* host order, UDP and TCP */
	bool inbound;
};

struct kb_policy {
	enum kb_dir dir;
	struct kb_selector sel;
	uint32_t priority;
	uint32_t reqid;
	enum kb_mode mode;
	struct sockaddr_storage tmpl_src, tmpl_dst;	/* tunnel endpoints */
	uint32_t mark, mark_mask, if_id;
};

struct kb_stats {
	uint64_t bytes, packets, errors;
};

/*
 * What the kernel tells the daemon (the module's "events" group, or
 * XFRM's expire, acquire and mapping groups).  SAs are named as the kernel
 * names them: SPI (network order) and outer destination address (no
 * port); the daemon ignores SAs it does not know.
 */
enum kb_event_kind {
	KB_EV_EXPIRE = 1,	/* a lifetime ran out: hard (the kernel deleted
				 * the SA) or soft (time to rekey) */
	KB_EV_ACQUIRE,		/* traffic hit a policy without an SA */
	KB_EV_MAPPING,		/* UDP-encapsulated ESP arrived from a new
				 * address or port (a NAT rebound) */
	KB_EV_SA_GONE,		/* someone else deleted the SA (ip xfrm state
				 * delete/flush): as a hard expire */
	KB_EV_REACH,		/* a reachability watch (reach_set) changed:
				 * up, inbound ESP on pair_spi, the first
				 * since the watch was set or since a down;
				 * down, outbound ESP on spi for the timeout
				 * and nothing inbound */
};

struct kb_event {
	enum kb_event_kind kind;
	uint32_t spi;				/* network order */
	struct sockaddr_storage src, dst;	/* outer, ports 0; acquire: the
						 * template's */
	bool hard;				/* expire */
	struct kb_selector sel;			/* acquire: the packet's */
	uint32_t reqid;				/* acquire */
	/* mapping: the peer's new address with its port (network order in
	 * the sockaddr), and the encapsulation source port it had (host
	 * order) */
	struct sockaddr_storage new_remote;
	uint16_t old_port;
	/* reach: the outbound SA is (spi, dst), its inbound pair pair_spi
	 * (network order) */
	uint32_t pair_spi;
	bool up;
};

typedef void (*kb_event_fn)(void *ctx, const struct kb_event *ev);

/*
 * One installed Child SA moved to new outer addresses (RFC 7296 §2.23: the
 * peer's NAT now shows it from another address; RFC 3948): both halves
 * keep their SPIs, keys, sequence numbers and replay state, and its
 * policies' templates name the new tunnel.  Addresses without ports.
 */
struct kb_move {
	uint32_t reqid;
	enum kb_mode mode;
	uint32_t spi_in, spi_out;	/* network order; 0: that half is not installed */
	struct sockaddr_storage old_local, old_remote;	/* as installed */
	struct sockaddr_storage local, remote;		/* where they go */
	enum kb_encap encap;		/* RAW or UDP, as installed (unchanged) */
	uint16_t lport, rport;		/* UDP: the new encapsulation ports (host order) */
	uint16_t old_lport, old_rport;	/* UDP: the ports installed (to go back) */
	/* The Child SA's policies as installed (the old tunnel in their
	 * templates) whose templates move: each direction's. */
	const struct kb_policy *pols;
	unsigned int n_pols;
};

struct kbackend;

struct kbackend_ops {
	const char *name;
	int (*sa_add)(struct kbackend *kb, const struct kb_sa *sa);
	int (*sa_del)(struct kbackend *kb, const struct sockaddr_storage *dst,
		      uint32_t spi);
	/* Move an SA's ESP to another transport, keeping keys and replay
	 * state (module only; others return -EOPNOTSUPP). */
	int (*sa_steer)(struct kbackend *kb, const struct sockaddr_storage *dst,
			uint32_t spi, enum kb_encap encap, uint16_t sport,
			uint16_t dport);
	int (*sa_stats)(struct kbackend *kb, const struct sockaddr_storage *dst,
			uint32_t spi, struct kb_stats *st);
	/* Move a Child SA and its policies' templates to new outer addresses
	 * (struct kb_move), never by a delete and an add (a sequence number
	 * restarted under the same key reuses AES-GCM nonces).  All or
	 * nothing where the backend can tell: on failure the SAs are where
	 * they were, or kb_error says which is where.  Call it through
	 * kb_child_move(), which keeps the shared policies' records. */
	int (*sa_move)(struct kbackend *kb, const struct kb_move *m);
	int (*policy_add)(struct kbackend *kb, const struct kb_policy *pol);
	int (*policy_del)(struct kbackend *kb, const struct kb_policy *pol);
	/* The installed policy with pol's key gets pol's priority, in place
	 * (no moment without it); NULL: the backend cannot (module). */
	int (*policy_update)(struct kbackend *kb, const struct kb_policy *pol);
	/* Kernel NAT keepalives for one UDP-encapsulated peer (module only). */
	int (*keepalive_set)(struct kbackend *kb,
			     const struct sockaddr_storage *local,
			     const struct sockaddr_storage *remote,
			     uint32_t interval_s);
	/* A reachability watch on a Child SA: the outbound SA (dst, spi)
	 * and its inbound pair_spi (both network order), KB_EV_REACH events
	 * when inbound ESP arrives (the first after this call, or after a
	 * down) and after timeout_s seconds of outbound with no inbound.
	 * Set again, a watch starts over; timeout_s 0 removes it.  NULL:
	 * the backend has none (xfrm, none), counters are read instead. */
	int (*reach_set)(struct kbackend *kb, const struct sockaddr_storage *dst,
			 uint32_t spi, uint32_t pair_spi, uint32_t timeout_s);
	/* The event source: an fd for the event loop to watch (opened on
	 * first use, before privileges are dropped: the module's group needs
	 * CAP_NET_ADMIN), or -1 with kb_error saying why; events_process()
	 * then reads what is waiting without blocking and calls fn for each
	 * event: 0 or -errno (a lost event, ENOBUFS, is logged and not
	 * fatal).  NULL: the backend has no events (none). */
	int (*event_fd)(struct kbackend *kb);
	int (*events_process)(struct kbackend *kb, kb_event_fn fn, void *ctx);
	void (*destroy)(struct kbackend *kb);
	/* A road warrior's virtual IP on the host: added (as a host prefix)
	 * to the interface holding near, the IKE SA's local address, or lo;
	 * ifname (IF_NAMESIZE) gets the interface's name.  none only
	 * records it. */
	int (*vip_add)(struct kbackend *kb, const struct sockaddr_storage *vip,
		       const struct sockaddr_storage *near, char *ifname);
	int (*vip_del)(struct kbackend *kb, const struct sockaddr_storage *vip);
};

struct kbackend {
	const struct kbackend_ops *ops;
	enum kb_kind kind;
	char kb_error[256];
	void *priv;
	struct htab shared;	/* kb_policy_add's policies (kbackend.c) */
	struct htab reqids;	/* how many of them each reqid holds */
};

/* What a kernel's SPD tells policies apart by (selector, direction, mark,
 * if_id), in few bytes: addresses as 16 octets (IPv4 in the first 4).
 * Built by kb_pol_key_of() only, so keys compare with memcmp. */
struct kb_pol_key {
	uint8_t src[16], dst[16];
	uint32_t mark, if_id;
	uint16_t sport, dport;
	uint8_t family, dir, src_plen, dst_plen, proto;
};

void kb_pol_key_of(struct kb_pol_key *k, const struct kb_policy *pol);
/* The address of ss in 16 octets (IPv4 in the first 4; zero for another
 * family). */
void kb_ip16(uint8_t out[16], const struct sockaddr_storage *ss);
/* "in", "out" or "fwd". */
const char *kb_dir_name(enum kb_dir d);
uint32_t kb_pol_key_hash(const struct kb_pol_key *k);

/*
 * Policies shared by Child SAs (kbackend.c), the way strongSwan and
 * Libreswan share them: Child SAs with identical selectors and tunnel
 * (make-before-break reauthentication, a second Child SA for the same
 * traffic) take one reqid and install its policies once.  kb_policy_add
 * installs a policy the first time and counts the later adds of the same
 * policy (same key, reqid, mode and tunnel); one held by another reqid or
 * tunnel is -EEXIST with a sentence in kb_error.  kb_policy_del deletes it
 * at the backend with the last reference (a policy never added here is
 * passed through).  The same for the three backends.  Holders may ask for
 * two priorities (a trap's, its Child SA's: child.c): the policy has the
 * better (lower) of those asked for by its present holders, changed in
 * place by policy_update where the backend has it (not the module's).
 */
int kb_policy_add(struct kbackend *kb, const struct kb_policy *pol);
int kb_policy_del(struct kbackend *kb, const struct kb_policy *pol);
/* m->pols whose templates have not yet moved (a policy shared with a
 * Child SA moved before this one is left out) go with the SAs to the
 * backend's sa_move; on success the shared records name the new tunnel. */
int kb_child_move(struct kbackend *kb, const struct kb_move *m);
/* The reqid whose policy has pol's key, mode and tunnel (pol's own reqid
 * is not compared), or 0. */
uint32_t kb_policy_holder(const struct kbackend *kb, const struct kb_policy *pol);
/* The reqid whose policy has pol's key, whatever its tunnel, or 0. */
uint32_t kb_policy_owner(const struct kbackend *kb, const struct kb_policy *pol);
/* How many distinct policies reqid holds through kb_policy_add. */
uint32_t kb_reqid_policies(const struct kbackend *kb, uint32_t reqid);

/* For backends without kernel keepalives or events (none, xfrm). */
/* kb_addr.c: vip_add and vip_del through rtnetlink (xfrm, module). */
int kb_vip_add(struct kbackend *kb, const struct sockaddr_storage *vip,
	       const struct sockaddr_storage *near, char *ifname);
int kb_vip_del(struct kbackend *kb, const struct sockaddr_storage *vip);
int kb_keepalive_unsupported(struct kbackend *kb, const struct sockaddr_storage *local,
			     const struct sockaddr_storage *remote, uint32_t interval_s);
int kb_no_event_fd(struct kbackend *kb);

/* Wipes the payload of the message in the received datagram raw (len
 * bytes) that equals h (same length, type, sequence number and bytes),
 * leaving its header for the walk over the datagram (kb_xfrm.c). */
struct nlmsghdr;
void kb_nl_wipe_raw(unsigned char *raw, size_t len, const struct nlmsghdr *h);

/* The XFRM backend's reply parsers on a byte buffer (fuzzing harness). */
int kb_xfrm_parse_replies(const void *buf, size_t len);

/* One XFRM notification (expire, acquire, mapping) as the xfrm backend's
 * event source reads it: 0 with *ev filled, or -EPROTO (tests). */
int kb_xfrm_parse_event(const void *buf, size_t len, struct kb_event *ev);

/* Open a backend; "auto" picks module, then xfrm, else fails (never none). */
struct kbackend *kbackend_open(const char *name);
void kbackend_close(struct kbackend *kb);

#endif
