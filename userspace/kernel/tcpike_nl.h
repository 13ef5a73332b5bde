/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace side of the tcpike generic-netlink family (libnl-3/libnl-genl-3).
 * Extended acks are on: a refused request returns -errno and leaves the
 * kernel's sentence in tnl->error.  Only this file and kb_module.c speak
 * the family.
 */
#ifndef TCPIKE_NL_H
#define TCPIKE_NL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "backend.h"

struct tnl {
	struct nl_sock *sk;
	struct nl_sock *ev_sk;		/* events group member, when joined */
	int family_id;
	char error[256];
};

struct tnl_sa_info {
	uint32_t spi;			/* network order */
	int family;
	struct sockaddr_storage src, dst;
	uint8_t mode;			/* enum tcpike_mode */
	uint32_t reqid, replay_window, flags;
	char aead[64], enc[64], auth[64];
	uint32_t aead_icv_bits, auth_trunc_bits;
	uint64_t packets, bytes, errors;
	uint8_t encap;			/* enum tcpike_encap (raw, udp, tcp) */
	uint16_t encap_sport, encap_dport;	/* host order */
	uint32_t mark, mark_mask, if_id;	/* 0/0, 0: none */
	int has_key;			/* set if any key attribute came back (never should) */
};

struct tnl_stats {
	uint32_t sas, policies;
	uint64_t sa_created, sa_deleted, events_sent, events_dropped, steers;
	uint32_t keepalives;
	uint64_t keepalives_sent;
	uint32_t reaches;		/* reachability watches */
	uint64_t keepalives_skipped;	/* not sent: ESP left within the interval */
	uint64_t keepalive_bh_peak_ns;	/* longest keepalive batch with BHs off */
};

/* Returns 0, -ENOENT when the family is not registered (module not
 * loaded), or another -errno. */
int tnl_open(struct tnl *t);
void tnl_close(struct tnl *t);

int tnl_sa_new(struct tnl *t, const struct kb_sa *sa);
int tnl_sa_del(struct tnl *t, const struct sockaddr_storage *dst, uint32_t spi);
/* encap: KB_ENCAP_RAW, KB_ENCAP_UDP or KB_ENCAP_TCP (the ports of an
 * established espintcp connection); ports in host order. */
int tnl_sa_steer(struct tnl *t, const struct sockaddr_storage *dst, uint32_t spi,
		 enum kb_encap encap, uint16_t sport, uint16_t dport);
/* Every SA of reqid (both directions) to encap, all or none; lport is the
 * local port, pport the peer's (host order); the kernel orients them. */
int tnl_sa_steer_reqid(struct tnl *t, uint32_t reqid, enum kb_encap encap, uint16_t lport,
		       uint16_t pport);
/* A steer request as given: dst (NULL: no SPI, FAMILY, DST), by_reqid
 * (REQID), both or neither; the kernel judges the combination (tests). */
struct tnl_steer {
	const struct sockaddr_storage *dst;
	uint32_t spi;			/* network order */
	int by_reqid;
	uint32_t reqid;
	enum kb_encap encap;
	uint16_t sport, dport;		/* host order */
};
int tnl_sa_steer_req(struct tnl *t, const struct tnl_steer *s);
/* RFC 3948 keepalives local:sport -> remote:dport every interval_s seconds
 * (0 removes); IPv4 only; ports host order. */
int tnl_keepalive_set(struct tnl *t, const struct sockaddr_storage *local,
		      const struct sockaddr_storage *remote, uint16_t sport, uint16_t dport,
		      uint32_t interval_s);
/* Reachability watch on the outbound SA (dst, spi) with its inbound pair
 * (pair_spi, network order), set or set again in the unknown state: an
 * up event for the first inbound after that (or after a down), a down
 * event after timeout_s seconds of outbound with no inbound; timeout_s 0
 * removes it. */
int tnl_reach_set(struct tnl *t, const struct sockaddr_storage *dst, uint32_t spi,
		  uint32_t pair_spi, uint32_t timeout_s);
int tnl_sa_get(struct tnl *t, const struct sockaddr_storage *dst, uint32_t spi,
	       struct tnl_sa_info *out);
/* Every SA the module made in this namespace: *out (free() it; NULL on
 * an error) holds *n.
 * A dump the kernel flags inconsistent (the list changed) is retried. */
int tnl_sa_dump(struct tnl *t, struct tnl_sa_info **out, size_t *n);
/* A policy as the module reports it (tcpike_policy_dir, tcpike_mode). */
struct tnl_policy_info {
	uint8_t dir, mode;
	struct kb_selector sel;		/* ports unused */
	uint32_t priority, reqid;
	struct sockaddr_storage tmpl_src, tmpl_dst;	/* tunnel mode */
	uint32_t mark, mark_mask, if_id;	/* 0/0, 0: none */
};

/* Every policy the module made in this namespace: *out (free() it) holds
 * *n; retried as tnl_sa_dump. */
int tnl_policy_dump(struct tnl *t, struct tnl_policy_info **out, size_t *n);
int tnl_stats_get(struct tnl *t, struct tnl_stats *out);
int tnl_policy_new(struct tnl *t, const struct kb_policy *pol);

enum tnl_event_kind {
	TNL_EV_EXPIRE = 1, TNL_EV_ACQUIRE, TNL_EV_MAPPING, TNL_EV_REACH,
	TNL_EV_SA_DELETED, TNL_EV_POLICY_DELETED,
};

struct tnl_event {
	enum tnl_event_kind kind;
	int family;
	uint32_t spi;			/* expire: network order */
	struct sockaddr_storage src, dst;	/* expire: dst; acquire: template */
	int hard;			/* expire */
	struct kb_selector sel;		/* acquire */
	uint32_t reqid;			/* acquire */
	/* mapping: SA (spi, dst), its peer src:old_port now seen as
	 * new_addr:new_port (ports host order) */
	struct sockaddr_storage new_addr;
	uint16_t old_port, new_port;
	/* reach: SA (spi, dst) with its inbound pair_spi (network order);
	 * up 0: outbound for timeout_s seconds and nothing inbound, 1: inbound
	 * arrived (the first since the watch was set, or since a down) */
	uint32_t pair_spi, timeout_s;
	int up;
	/* sa-deleted (spi, src, dst, reqid) and policy-deleted (dir, sel,
	 * reqid): someone else deleted what the module owned; reason is an
	 * enum tcpike_del_reason; mark/mark_mask 0/0 and if_id 0: none */
	int reason;
	uint8_t dir;			/* policy-deleted: enum tcpike_policy_dir */
	uint32_t mark, mark_mask, if_id;
};

/* Joins the events group; then tnl_event_next() waits up to timeout_ms
 * (-1: forever) for one event: 1 with *ev filled, 0 on timeout, -errno. */
int tnl_events_join(struct tnl *t);
int tnl_event_next(struct tnl *t, struct tnl_event *ev, int timeout_ms);
int tnl_policy_del(struct tnl *t, const struct kb_policy *pol);
/* An SA to new outer addresses (SA_MOVE), keys and replay state kept;
 * sport and dport (host order, 0: kept) a UDP-encapsulated SA's new ports. */
int tnl_sa_move(struct tnl *t, const struct sockaddr_storage *dst, uint32_t spi,
		const struct sockaddr_storage *nsrc, const struct sockaddr_storage *ndst,
		uint16_t sport, uint16_t dport);
/* A tunnel-mode policy's template to new endpoints, in place (POLICY_MOVE). */
int tnl_policy_move(struct tnl *t, const struct kb_policy *pol,
		    const struct sockaddr_storage *tsrc, const struct sockaddr_storage *tdst);
/* The reply parsers on a byte buffer (for the fuzzing harness). */
int tnl_parse_replies(const void *buf, size_t len);

/* The "module" backend (kb_module.c).  kb_module_open() fills kb (ops,
 * kind, priv): 0, -ENOENT when the tcpike family is not registered, or
 * another -errno, with kb_error saying why.  ops->destroy frees priv only. */
extern const struct kbackend_ops kb_module_ops;
int kb_module_open(struct kbackend *kb);

#endif
