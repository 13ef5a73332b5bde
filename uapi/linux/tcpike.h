/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * tcpike: generic-netlink family for programming IPsec SAs as ordinary XFRM
 * states.  The source of truth is uapi/tcpike.yaml; this header follows it.
 * Grow by appending: values never change once released.
 *
 * Family "tcpike", version 1.  Every command acts on the caller's network
 * namespace only.  Policies are strict: an attribute a command does not
 * use, an unknown flag bit or a value out of range is refused, with an
 * extended-ack message.
 *
 * Privileges, and which user namespace they are checked in:
 *  - every command needs CAP_NET_ADMIN in the initial user namespace
 *    (GENL_ADMIN_PERM, netlink_capable()): a process that is root only in
 *    a user namespace of its own gets EPERM, even in a network namespace
 *    that user namespace owns;
 *  - joining the "events" group needs CAP_NET_ADMIN in the user namespace
 *    that owns the caller's network namespace (GENL_MCAST_CAP_NET_ADMIN,
 *    genl_bind(); genetlink has no initial-namespace check for groups):
 *    anyone else gets EPERM.  Such a process sees only events of network
 *    namespaces its user namespace owns, whose XFRM states it can read
 *    with ip xfrm anyway.
 *
 * SAs and policies the module makes are ordinary XFRM states and policies:
 * ip xfrm shows them, ip xfrm monitor and the audit log hear of them being
 * added, updated (a steer) and deleted.  The module never adopts a state
 * or policy it did not make, even one with the same identity, and tells
 * of one of its own deleted by someone else (EVENT_SA_DELETED,
 * EVENT_POLICY_DELETED).  It cannot be unloaded while it owns an SA or a
 * policy (each holds a reference on the module): traffic is never left in
 * clear by an unload.  Delete them first (or flush them with ip xfrm).
 *
 * Key attributes are write-only: they are never echoed in a reply, a dump
 * or a notification.
 */
#ifndef _UAPI_LINUX_TCPIKE_H
#define _UAPI_LINUX_TCPIKE_H

#define TCPIKE_GENL_NAME	"tcpike"
#define TCPIKE_GENL_VERSION	1
#define TCPIKE_MCGRP_EVENTS	"events"

/**
 * enum tcpike_cmd - commands
 * @TCPIKE_CMD_SA_NEW: create an ESP SA (an xfrm_state) owned by the module.
 *	Requires SPI, FAMILY, SRC, DST and either AEAD_NAME + AEAD_ICV_BITS +
 *	ENC_KEY, or ENC_NAME + ENC_KEY + AUTH_NAME + AUTH_TRUNC_BITS +
 *	AUTH_KEY.  Optional: MODE (default tunnel), REQID, REPLAY_WINDOW,
 *	SA_FLAGS, LIFE_{SOFT,HARD}_{BYTES,PACKETS,SECONDS} (soft <= hard),
 *	ENCAP (+ ENCAP_SPORT, ENCAP_DPORT), MARK, MARK_MASK, IF_ID.
 * @TCPIKE_CMD_SA_DEL: delete an SA the module created.  Requires SPI,
 *	FAMILY, DST.
 * @TCPIKE_CMD_SA_GET: one SA's parameters and counters (no keys; MARK +
 *	MARK_MASK and IF_ID when set).  Requires SPI, FAMILY, DST.  With
 *	NLM_F_DUMP: every SA the module made in the caller's namespace, one
 *	message each, same attributes; the dump
 *	resumes across buffers and is flagged NLM_F_DUMP_INTR when the set of
 *	SAs changed meanwhile (read it again).
 * @TCPIKE_CMD_STATS_GET: module counters of the caller's namespace.
 * @TCPIKE_CMD_POLICY_NEW: create an SPD entry (an xfrm_policy) owned by the
 *	module.  Requires POLICY_DIR, FAMILY, SEL_SRC, SEL_DST (with
 *	SEL_SRC_PLEN/SEL_DST_PLEN, default full length), and the template:
 *	REQID, MODE, and for tunnel mode SRC and DST (the tunnel endpoints,
 *	same family as the selector).  Optional: SEL_PROTO, PRIORITY, MARK,
 *	MARK_MASK, IF_ID (direction, selector, mark and if_id identify an SPD
 *	entry, as in XFRM).
 * @TCPIKE_CMD_POLICY_DEL: delete a policy the module created.  Requires
 *	POLICY_DIR, FAMILY, SEL_SRC, SEL_DST (+ prefix lengths, SEL_PROTO,
 *	MARK, MARK_MASK, IF_ID as when it was created).
 * @TCPIKE_CMD_EVENT_EXPIRE: notification on the events group: a lifetime
 *	of an SA the module owns ran out.  SPI, FAMILY, DST, EVENT_HARD
 *	(0: soft, rekey now; 1: hard, the kernel deleted the SA).
 * @TCPIKE_CMD_EVENT_ACQUIRE: notification on the events group: traffic hit
 *	an outbound policy the module owns and no SA exists.  FAMILY, SEL_SRC,
 *	SEL_DST (+ prefix lengths, SEL_PROTO), REQID, SRC and DST (template).
 * @TCPIKE_CMD_SA_STEER: move an SA the module owns to another ESP transport
 *	(ENCAP, and for udp and tcp ENCAP_SPORT/ENCAP_DPORT), keeping its SPI, keys,
 *	sequence numbers, anti-replay window, lifetimes, mark, if_id and
 *	counters.  Requires ENCAP and either SPI, FAMILY, DST (one SA) or
 *	REQID (not 0), never both: every SA the module owns with that reqid
 *	(both directions) moves, all or none (each new state is built and
 *	checked before any is swapped in; ENOENT when the reqid has none).
 *	With REQID, ENCAP_SPORT is the local port and ENCAP_DPORT the peer's:
 *	an SA whose destination is an address of the namespace (inbound)
 *	gets them swapped; an SA with both or neither address local is
 *	refused for udp and tcp (steer it by SPI).  STATS_STEERS counts
 *	every SA moved.
 * @TCPIKE_CMD_EVENT_MAPPING: notification on the events group: an inbound
 *	packet of a UDP-encapsulated SA the module owns authenticated from
 *	another address or port than the SA's peer (a NAT mapping changed), as
 *	XFRM reports it (km new_mapping).  SPI, FAMILY, DST, SRC (the SA's
 *	peer), ENCAP_SPORT (the SA's peer port), MAPPING_ADDR, MAPPING_PORT.
 *	Repeated at most every 5 s for the same new port.
 *	XFRM hands the report to the first key manager that takes it: with
 *	a listener on XFRMNLGRP_MAPPING (ip xfrm monitor) it goes there.
 * @TCPIKE_CMD_KEEPALIVE_SET: RFC 3948 NAT keepalives (one 0xFF byte in
 *	UDP) from SRC:ENCAP_SPORT to DST:ENCAP_DPORT every KEEPALIVE_INTERVAL
 *	seconds (1..3600; 0 removes them).  IPv4 only (FAMILY AF_INET).
 *	Setting an existing peer changes its interval.  Each keepalive is
 *	due up to an eighth of the interval early (jitter: peers set
 *	together do not stay in step), and is not sent when an SA the
 *	module owns on the same addresses and UDP ports sent ESP within
 *	the interval (RFC 3948 §2.3).  At most max_keepalives (module
 *	parameter) peers per namespace: ENOSPC beyond.  Sent in batches,
 *	with bottom halves enabled between them.
 * @TCPIKE_CMD_REACH_SET: watch the reachability of an SA's peer: SPI,
 *	FAMILY, DST name an outbound SA the module owns, PAIR_SPI its inbound
 *	partner (the SA with that SPI whose destination is the outbound SA's
 *	source), REACH_TIMEOUT seconds (1..3600; 0 removes the watch, then
 *	without PAIR_SPI).  Setting an existing watch changes it.  A watch
 *	set or changed starts unknown, from the SAs' counters at that moment.
 *	The watch goes with the outbound SA when the module no longer owns it.
 * @TCPIKE_CMD_EVENT_REACH: notification on the events group, each time a
 *	watch's state changes: REACH_UP 1 when inbound ESP arrived on the
 *	pair, the first packet after the watch was set or changed (unknown to
 *	up) or after a down (down to up); REACH_UP 0 when outbound ESP on the
 *	watched SA was sent for REACH_TIMEOUT seconds with no inbound ESP on
 *	its pair (unknown or up to down).  SPI, FAMILY, DST (the outbound SA),
 *	PAIR_SPI, REACH_TIMEOUT, REACH_UP.  Sampled twice a second from the
 *	SAs' packet counters.
 * @TCPIKE_CMD_POLICY_GET: with NLM_F_DUMP (only): every policy the module
 *	made in the caller's namespace as the kernel holds it, one message
 *	each: POLICY_DIR, FAMILY, SEL_SRC, SEL_DST, SEL_SRC_PLEN, SEL_DST_PLEN,
 *	SEL_PROTO, PRIORITY, REQID, MODE, for tunnel mode SRC and DST, and
 *	MARK + MARK_MASK, IF_ID when set.
 *	Resumable and flagged NLM_F_DUMP_INTR as the SA dump.
 * @TCPIKE_CMD_EVENT_SA_DELETED: notification on the events group: an SA
 *	the module owned is gone without the module deleting it, and the
 *	module has forgotten it.  SPI, FAMILY, SRC, DST, REQID, MARK +
 *	MARK_MASK and IF_ID when set, DEL_REASON (delete: another key
 *	manager deleted it, as ip xfrm state delete; flush: ip xfrm state
 *	flush; vanished: found gone with no notification).  A hard expire
 *	is reported by EVENT_EXPIRE instead.
 * @TCPIKE_CMD_EVENT_POLICY_DELETED: notification on the events group: a
 *	policy the module owned is gone without the module deleting it (ip
 *	xfrm policy delete, flush, or update, which replaces it), and the
 *	module has forgotten it.  POLICY_DIR, FAMILY, SEL_SRC, SEL_DST,
 *	SEL_SRC_PLEN, SEL_DST_PLEN, SEL_PROTO, REQID, MARK + MARK_MASK and
 *	IF_ID when set, DEL_REASON (vanished: replaced by an update).
 * @TCPIKE_CMD_SA_MOVE: move an SA the module owns (SPI, FAMILY, DST) to new
 *	outer addresses MOVE_SRC and MOVE_DST (of FAMILY), keeping SPI, keys,
 *	sequence numbers, replay window, lifetimes and counters, the switch
 *	atomic as SA_STEER's (RFC 7296 §2.23: the peer's NAT now shows it
 *	from another address).  ENCAP_SPORT and ENCAP_DPORT, when given, are
 *	a UDP-encapsulated SA's new ports.  Tunnel mode only, and not for
 *	espintcp SAs (they move with their connection).
 * @TCPIKE_CMD_POLICY_MOVE: a tunnel-mode policy the module owns (named as
 *	in POLICY_DEL) gets MOVE_SRC and MOVE_DST as its template's tunnel
 *	endpoints, in place (cached routes are dropped).
 */
enum tcpike_cmd {
	TCPIKE_CMD_UNSPEC,
	TCPIKE_CMD_SA_NEW,
	TCPIKE_CMD_SA_DEL,
	TCPIKE_CMD_SA_GET,
	TCPIKE_CMD_STATS_GET,
	TCPIKE_CMD_POLICY_NEW,
	TCPIKE_CMD_POLICY_DEL,
	TCPIKE_CMD_EVENT_EXPIRE,
	TCPIKE_CMD_EVENT_ACQUIRE,
	TCPIKE_CMD_SA_STEER,
	TCPIKE_CMD_EVENT_MAPPING,
	TCPIKE_CMD_KEEPALIVE_SET,
	TCPIKE_CMD_REACH_SET,
	TCPIKE_CMD_EVENT_REACH,
	TCPIKE_CMD_POLICY_GET,
	TCPIKE_CMD_EVENT_SA_DELETED,
	TCPIKE_CMD_EVENT_POLICY_DELETED,
	TCPIKE_CMD_SA_MOVE,
	TCPIKE_CMD_POLICY_MOVE,

	__TCPIKE_CMD_MAX,
	TCPIKE_CMD_MAX = __TCPIKE_CMD_MAX - 1
};

/** enum tcpike_mode - IPsec mode of an SA */
enum tcpike_mode {
	TCPIKE_MODE_TUNNEL = 0,
	TCPIKE_MODE_TRANSPORT = 1,
};

/** enum tcpike_policy_dir - direction of a policy (the XFRM values) */
enum tcpike_policy_dir {
	TCPIKE_DIR_IN = 0,
	TCPIKE_DIR_OUT = 1,
	TCPIKE_DIR_FWD = 2,
};

/**
 * enum tcpike_encap - the ESP transport of an SA
 * @TCPIKE_ENCAP_RAW: ESP directly over IP (protocol 50)
 * @TCPIKE_ENCAP_UDP: ESP in UDP (RFC 3948); the receiver needs a UDP socket
 *	with UDP_ENCAP_ESPINUDP on the destination port
 * @TCPIKE_ENCAP_TCP: ESP in TCP (RFC 9329, the kernel's espintcp); the ports
 *	are those of the SA's source and destination on the IKE peers' TCP
 *	connection, which must be established in the namespace with the
 *	"espintcp" ULP on it (after the "IKETCP" prefix) when the SA is made
 *	or steered; a kernel built without espintcp refuses it
 */
enum tcpike_encap {
	TCPIKE_ENCAP_RAW = 0,
	TCPIKE_ENCAP_UDP = 1,
	TCPIKE_ENCAP_TCP = 2,
};

/** enum tcpike_sa_flags - bits of TCPIKE_A_SA_FLAGS */
enum tcpike_sa_flags {
	TCPIKE_SA_F_ESN = 1 << 0,	/* 64-bit extended sequence numbers */
};

#define TCPIKE_SA_F_ALL		(TCPIKE_SA_F_ESN)

/**
 * enum tcpike_del_reason - how an SA or a policy went without the module
 *	deleting it (TCPIKE_A_DEL_REASON)
 * @TCPIKE_DEL_DELETE: another key manager deleted it (XFRM_MSG_DELSA,
 *	XFRM_MSG_DELPOLICY: ip xfrm state/policy delete, PF_KEY)
 * @TCPIKE_DEL_FLUSH: flushed (XFRM_MSG_FLUSHSA, XFRM_MSG_FLUSHPOLICY)
 * @TCPIKE_DEL_VANISHED: found gone with no such notification (a policy
 *	replaced by ip xfrm policy update, a state migrated)
 */
enum tcpike_del_reason {
	TCPIKE_DEL_DELETE = 0,
	TCPIKE_DEL_FLUSH = 1,
	TCPIKE_DEL_VANISHED = 2,
};

/**
 * enum tcpike_a - attributes (one space for every command)
 * @TCPIKE_A_SPI: SPI, u32 in network byte order, never 0
 * @TCPIKE_A_FAMILY: u16, AF_INET or AF_INET6 (of SRC and DST)
 * @TCPIKE_A_SRC: outer source address, 4 or 16 bytes
 * @TCPIKE_A_DST: outer destination address, 4 or 16 bytes
 * @TCPIKE_A_MODE: u8, enum tcpike_mode
 * @TCPIKE_A_REQID: u32, ties the SA to policies' templates; in SA_STEER,
 *	names every SA of that reqid
 * @TCPIKE_A_AEAD_NAME: string, "rfc4106(gcm(aes))" or
 *	"rfc7539esp(chacha20,poly1305)"
 * @TCPIKE_A_AEAD_ICV_BITS: u32, ICV length in bits (128 for both)
 * @TCPIKE_A_ENC_NAME: string, "cbc(aes)"
 * @TCPIKE_A_AUTH_NAME: string, "hmac(sha256)", "hmac(sha384)", "hmac(sha512)"
 * @TCPIKE_A_AUTH_TRUNC_BITS: u32, truncated ICV length in bits
 * @TCPIKE_A_ENC_KEY: binary, write-only: cipher key (AEAD: key || 4-byte salt)
 * @TCPIKE_A_AUTH_KEY: binary, write-only: integrity key
 * @TCPIKE_A_REPLAY_WINDOW: u32, anti-replay window in packets (0..4096;
 *	above 32 needs ESN or is carried in the ESN-style bitmap)
 * @TCPIKE_A_SA_FLAGS: u32, enum tcpike_sa_flags bits
 * @TCPIKE_A_STATS_PACKETS: u64, packets processed by the SA (reply)
 * @TCPIKE_A_STATS_BYTES: u64, bytes processed by the SA (reply)
 * @TCPIKE_A_STATS_ERRORS: u64, replay + integrity + other drops (reply)
 * @TCPIKE_A_STATS_SAS: u32, SAs the module owns in this namespace (reply)
 * @TCPIKE_A_STATS_SA_CREATED: u64, SAs created since load (reply)
 * @TCPIKE_A_STATS_SA_DELETED: u64, SAs deleted through the family (reply)
 * @TCPIKE_A_PAD: padding for 64-bit attributes
 * @TCPIKE_A_POLICY_DIR: u8, enum tcpike_policy_dir
 * @TCPIKE_A_SEL_SRC: selector source address, 4 or 16 bytes
 * @TCPIKE_A_SEL_DST: selector destination address, 4 or 16 bytes
 * @TCPIKE_A_SEL_SRC_PLEN: u8, selector source prefix length
 * @TCPIKE_A_SEL_DST_PLEN: u8, selector destination prefix length
 * @TCPIKE_A_SEL_PROTO: u8, upper-layer protocol, 0 = any
 * @TCPIKE_A_PRIORITY: u32, policy priority (lower wins; default 0)
 * @TCPIKE_A_STATS_POLICIES: u32, policies the module owns in this namespace
 * @TCPIKE_A_LIFE_SOFT_BYTES: u64, soft byte limit (0 = none): expire event
 * @TCPIKE_A_LIFE_HARD_BYTES: u64, hard byte limit (0 = none): SA deleted
 * @TCPIKE_A_LIFE_SOFT_PACKETS: u64, soft packet limit (0 = none)
 * @TCPIKE_A_LIFE_HARD_PACKETS: u64, hard packet limit (0 = none)
 * @TCPIKE_A_LIFE_SOFT_SECONDS: u64, soft lifetime in seconds (0 = none)
 * @TCPIKE_A_LIFE_HARD_SECONDS: u64, hard lifetime in seconds (0 = none)
 * @TCPIKE_A_EVENT_HARD: u8, in EVENT_EXPIRE: 1 hard, 0 soft
 * @TCPIKE_A_STATS_EVENTS_SENT: u64, notifications sent (reply)
 * @TCPIKE_A_STATS_EVENTS_DROPPED: u64, notifications lost for lack of
 *	memory or buffer space (reply)
 * @TCPIKE_A_ENCAP: u8, enum tcpike_encap: the SA's ESP transport (SA_NEW,
 *	SA_STEER, SA_GET reply; default raw)
 * @TCPIKE_A_ENCAP_SPORT: u16 network order, port of the SA's source (udp,
 *	tcp)
 * @TCPIKE_A_ENCAP_DPORT: u16 network order, port of the SA's destination
 *	(udp, tcp)
 * @TCPIKE_A_STATS_STEERS: u64, SAs steered, one per SA moved (reply)
 * @TCPIKE_A_MAPPING_ADDR: binary, 4 or 16 bytes: the peer's new address
 *	(EVENT_MAPPING)
 * @TCPIKE_A_MAPPING_PORT: u16 network order: the peer's new UDP port
 *	(EVENT_MAPPING)
 * @TCPIKE_A_KEEPALIVE_INTERVAL: u32, seconds between NAT keepalives, 0-3600
 *	(KEEPALIVE_SET; 0 removes)
 * @TCPIKE_A_STATS_KEEPALIVES: u32, peers with keepalives (reply)
 * @TCPIKE_A_STATS_KEEPALIVES_SENT: u64, keepalive datagrams sent (reply)
 * @TCPIKE_A_PAIR_SPI: SPI, u32 in network byte order: the inbound SA paired
 *	with an outbound one (REACH_SET, EVENT_REACH)
 * @TCPIKE_A_REACH_TIMEOUT: u32, seconds of outbound ESP with no inbound
 *	before the peer is reported unreachable (0-3600; 0 removes)
 * @TCPIKE_A_REACH_UP: u8, in EVENT_REACH: 0 unreachable, 1 inbound ESP
 *	arrived (the first since the watch was set, or since a down)
 * @TCPIKE_A_STATS_REACHES: u32, reachability watches (reply)
 * @TCPIKE_A_MARK: u32, XFRM mark value (XFRMA_MARK): an SA is used for
 *	inbound packets with (skb->mark & MARK_MASK) == MARK and by policies
 *	of that mark; a policy matches packets with that mark (SA_NEW,
 *	POLICY_NEW, POLICY_DEL, SA_GET and POLICY_GET replies; absent: no
 *	mark).  No bits outside MARK_MASK.
 * @TCPIKE_A_MARK_MASK: u32, XFRM mark mask, never 0 (default 0xffffffff
 *	when MARK is given; MARK_MASK alone is mark value 0 under that mask)
 * @TCPIKE_A_IF_ID: u32, XFRM interface id (XFRMA_IF_ID): ties the SA or
 *	policy to the xfrm interface with that if_id; never 0 (absent: none)
 *	(SA_NEW, POLICY_NEW, POLICY_DEL, SA_GET and POLICY_GET replies)
 * @TCPIKE_A_DEL_REASON: u8, enum tcpike_del_reason (EVENT_SA_DELETED,
 *	EVENT_POLICY_DELETED)
 * @TCPIKE_A_STATS_KEEPALIVES_SKIPPED: u64, keepalives not sent because an
 *	SA of the module sent ESP on the same addresses and ports within the
 *	interval (reply)
 * @TCPIKE_A_STATS_KEEPALIVE_BH_PEAK_NS: u64, the longest time one batch of
 *	the keepalive walk held its lock with bottom halves off, in
 *	nanoseconds, since the namespace's first keepalive (reply)
 * @TCPIKE_A_MOVE_SRC: new outer source address, 4 or 16 bytes (SA_MOVE:
 *	the SA's; POLICY_MOVE: the template's)
 * @TCPIKE_A_MOVE_DST: new outer destination address, 4 or 16 bytes
 */
enum tcpike_a {
	TCPIKE_A_UNSPEC,
	TCPIKE_A_SPI,
	TCPIKE_A_FAMILY,
	TCPIKE_A_SRC,
	TCPIKE_A_DST,
	TCPIKE_A_MODE,
	TCPIKE_A_REQID,
	TCPIKE_A_AEAD_NAME,
	TCPIKE_A_AEAD_ICV_BITS,
	TCPIKE_A_ENC_NAME,
	TCPIKE_A_AUTH_NAME,
	TCPIKE_A_AUTH_TRUNC_BITS,
	TCPIKE_A_ENC_KEY,
	TCPIKE_A_AUTH_KEY,
	TCPIKE_A_REPLAY_WINDOW,
	TCPIKE_A_SA_FLAGS,
	TCPIKE_A_STATS_PACKETS,
	TCPIKE_A_STATS_BYTES,
	TCPIKE_A_STATS_ERRORS,
	TCPIKE_A_STATS_SAS,
	TCPIKE_A_STATS_SA_CREATED,
	TCPIKE_A_STATS_SA_DELETED,
	TCPIKE_A_PAD,
	TCPIKE_A_POLICY_DIR,
	TCPIKE_A_SEL_SRC,
	TCPIKE_A_SEL_DST,
	TCPIKE_A_SEL_SRC_PLEN,
	TCPIKE_A_SEL_DST_PLEN,
	TCPIKE_A_SEL_PROTO,
	TCPIKE_A_PRIORITY,
	TCPIKE_A_STATS_POLICIES,
	TCPIKE_A_LIFE_SOFT_BYTES,
	TCPIKE_A_LIFE_HARD_BYTES,
	TCPIKE_A_LIFE_SOFT_PACKETS,
	TCPIKE_A_LIFE_HARD_PACKETS,
	TCPIKE_A_LIFE_SOFT_SECONDS,
	TCPIKE_A_LIFE_HARD_SECONDS,
	TCPIKE_A_EVENT_HARD,
	TCPIKE_A_STATS_EVENTS_SENT,
	TCPIKE_A_STATS_EVENTS_DROPPED,
	TCPIKE_A_ENCAP,
	TCPIKE_A_ENCAP_SPORT,
	TCPIKE_A_ENCAP_DPORT,
	TCPIKE_A_STATS_STEERS,
	TCPIKE_A_MAPPING_ADDR,
	TCPIKE_A_MAPPING_PORT,
	TCPIKE_A_KEEPALIVE_INTERVAL,
	TCPIKE_A_STATS_KEEPALIVES,
	TCPIKE_A_STATS_KEEPALIVES_SENT,
	TCPIKE_A_PAIR_SPI,
	TCPIKE_A_REACH_TIMEOUT,
	TCPIKE_A_REACH_UP,
	TCPIKE_A_STATS_REACHES,
	TCPIKE_A_MARK,
	TCPIKE_A_MARK_MASK,
	TCPIKE_A_IF_ID,
	TCPIKE_A_DEL_REASON,
	TCPIKE_A_STATS_KEEPALIVES_SKIPPED,
	TCPIKE_A_STATS_KEEPALIVE_BH_PEAK_NS,
	TCPIKE_A_MOVE_SRC,
	TCPIKE_A_MOVE_DST,

	__TCPIKE_A_MAX,
	TCPIKE_A_MAX = __TCPIKE_A_MAX - 1
};

#define TCPIKE_ALG_NAME_MAX	64	/* as struct xfrm_algo's alg_name */
#define TCPIKE_KEY_MAX		64	/* bytes */

#endif /* _UAPI_LINUX_TCPIKE_H */
