/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcpiked.conf: a swanctl.conf-like file (see tcpiked.conf.example).
 *
 *   section { key = value  subsection { ... } }     # comments
 *
 * config_load() parses and validates the whole file or nothing: every error
 * is "file:line: what was expected", and a failed load leaves no state.
 * Secrets are wiped when the config is freed.
 */
#ifndef TCPIKE_CONFIG_H
#define TCPIKE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define CFG_MAX_XF	8	/* transforms of one type in one proposal */
#define CFG_MAX_ADDKE	7	/* RFC 9370's ADDKE1..ADDKE7 */
#define CFG_MAX_PROP	8	/* proposals in one list */
#define CFG_MAX_TS	8	/* traffic selectors on one side */
#define CFG_MAX_ADDR	4
#define CFG_MAX_POOLS	4	/* pools of one connection */
#define CFG_MAX_DNS	4	/* DNS servers of one pool */
#define CFG_NAME_MAX	64	/* a pool's name */
#define CFG_HOST_MAX	254	/* a DNS name in remote_addrs, its NUL */

#define CFG_CONTROL_SOCKET	"/run/tcpiked/tcpiked.sock"

enum cfg_transport {
	CFG_XPORT_UDP = 0,	/* RFC 7296 over UDP (default) */
	CFG_XPORT_TCP,		/* RFC 9329 from the start */
	CFG_XPORT_AUTO,		/* UDP, then RFC 9329 when UDP gets no answer */
	CFG_XPORT_SEPARATE,	/* SA_INIT on UDP 4500 + notify, then IKE on TCP */
	CFG_XPORT_SEPARATE_TCP_FIRST,	/* SA_INIT on TCP with the notify */
};

enum cfg_auth { CFG_AUTH_PSK = 1, CFG_AUTH_PUBKEY };
enum cfg_mode { CFG_MODE_TUNNEL = 0, CFG_MODE_TRANSPORT };
enum cfg_start { CFG_START_NONE = 0, CFG_START_START, CFG_START_TRAP };
enum cfg_frag { CFG_FRAG_NO = 0, CFG_FRAG_YES, CFG_FRAG_FORCE };
/* RFC 9242 IKE_INTERMEDIATE: answered when the initiator asks (accept),
 * also asked for as initiator (yes), or neither (no). */
enum cfg_inter { CFG_INTER_ACCEPT = 0, CFG_INTER_YES, CFG_INTER_NO };
/* What follows a dead peer (dpd_action) or the peer's Delete
 * (close_action): nothing more, trap policies, or initiating again. */
enum cfg_action { CFG_ACTION_CLEAR = 0, CFG_ACTION_TRAP, CFG_ACTION_RESTART };
/* RSASSA-PSS for our RSA signatures: auto = when the peer announced
 * SIGNATURE_HASH_ALGORITHMS (RFC 7427); RSA-PSS-only keys always. */
enum cfg_pss { CFG_PSS_AUTO = 0, CFG_PSS_YES, CFG_PSS_NO };
/* A second IKE SA of one identity on one connection (strongSwan's
 * unique): the old one deleted, the new one refused, or both kept. */
enum cfg_unique { CFG_UNIQUE_REPLACE = 0, CFG_UNIQUE_KEEP, CFG_UNIQUE_NEVER };

/* IANA transform IDs (RFC 7296 §3.3.2), one list per transform type. */
struct proposal_cfg {
	struct {
		uint16_t id;
		uint16_t keylen;	/* bits, 0 when the cipher has none */
	} encr[CFG_MAX_XF];
	uint16_t prf[CFG_MAX_XF], integ[CFG_MAX_XF], ke[CFG_MAX_XF], esn[2];
	uint8_t n_encr, n_prf, n_integ, n_ke, n_esn;
	/* RFC 9370: Additional Key Exchange n + 1 (transform type 6 + n),
	 * strongSwan's "ke1_ecp384" ... "ke7_x448"; 0 ("ke1_none") makes it
	 * optional.  IKE proposals only. */
	uint16_t addke[CFG_MAX_ADDKE][CFG_MAX_XF];
	uint8_t n_addke[CFG_MAX_ADDKE];
};

struct ts_cfg {
	int family;		/* AF_INET / AF_INET6 */
	uint8_t start[16], end[16];	/* address range, network order */
	uint8_t proto;		/* 0 = any */
	uint16_t port_lo, port_hi;	/* host order; 0-65535 = any */
};

/* An identity: IANA ID type (RFC 7296 §3.5) and its data. */
struct id_cfg {
	uint8_t type;		/* 0 = unset (use the local address) */
	uint8_t len;
	uint8_t data[255];
};

struct end_cfg {
	enum cfg_auth auth;
	struct id_cfg id;
	char *certs, *key, *cacerts;	/* paths (pubkey) */
	int certs_line, key_line, cacerts_line;
	bool send_certreq;
};

struct child_cfg {
	char *name;
	int line;
	struct ts_cfg local_ts[CFG_MAX_TS], remote_ts[CFG_MAX_TS];
	int n_local_ts, n_remote_ts;
	enum cfg_mode mode;
	struct proposal_cfg esp[CFG_MAX_PROP];
	int n_esp;
	uint32_t rekey_time_s, life_time_s;
	uint64_t life_bytes, life_packets;
	uint32_t replay_window;
	enum cfg_start start_action;
	struct child_cfg *next;
};

/*
 * One item of remote_addrs: an address (plen 32 or 128), a prefix such as
 * 10.0.0.0/8 (host bits zero), a range, or %any (family AF_UNSPEC, plen 0).  Only a
 * connection with an address can initiate; prefixes and %any admit peers
 * as responder (a remote-access gateway's road warriors).
 */
struct cfg_peer {
	struct sockaddr_storage addr;
	uint8_t plen;
	/* A range addr-last (10.1.0.5-10.1.0.50): plen is then the longest
	 * prefix holding both ends, its specificity among connections. */
	bool range;
	struct sockaddr_storage last;
	/* A DNS name (addr AF_UNSPEC): resolved by the daemon when it
	 * initiates and on (re)load (dns.c), never while parsing. */
	char host[CFG_HOST_MAX];
};

/* A pool's name, as a connection's pools = lists it. */
struct cfg_pool_name {
	char name[CFG_NAME_MAX];
};

struct conn_cfg {
	char *name;
	int line;
	struct sockaddr_storage local_addrs[CFG_MAX_ADDR];
	struct cfg_peer remote_addrs[CFG_MAX_ADDR];
	int n_local, n_remote;		/* 0 local = any */
	/* Virtual IPs handed out to peers asking with a CP payload (RFC
	 * 7296 §3.15), from these pools in order. */
	struct cfg_pool_name pools[CFG_MAX_POOLS];
	int n_pools, pools_line;
	/* As initiator, the virtual IPs asked for in IKE_AUTH (a CFG_REQUEST,
	 * §3.15): 0.0.0.0 and :: for any, an address for that one; at most
	 * one per family. */
	struct sockaddr_storage vips[2];
	int n_vips;
	uint16_t local_port, remote_port;	/* IKE UDP ports (500) */
	enum cfg_transport transport;
	uint16_t tcp_port;
	/* tcp_fallback_delay, obsolete, sets tcp_race_delay_ms too */
	uint32_t tcp_race_delay_ms, tcp_connect_timeout_ms;
	uint32_t tcp_connect_race_ms;	/* second connect() after this; 0 none */
	bool udp_retry_without_separate;	/* RT-8 */
	bool tcp_preconnect;		/* separate: connect beside IKE_SA_INIT */
	/* RT-24..28: ESP reachability after a TCP-first separate setup */
	bool esp_probe;
	uint32_t esp_probe_delay_ms, esp_probe_timeout_ms;
	struct proposal_cfg ike[CFG_MAX_PROP];
	int n_ike;
	enum cfg_frag fragmentation;
	uint16_t fragment_size;
	enum cfg_inter intermediate;
	bool encap, assume_no_nat, initial_contact;
	enum cfg_unique unique;
	/* Per-client limits, 0: none: established IKE SAs of one peer
	 * identity on the connection, Child SAs of one IKE SA. */
	uint32_t ike_sas_per_id, child_sas_max;
	uint32_t dpd_delay_s, dpd_timeout_s, rekey_time_s;
	uint32_t retransmit_base_ms, retransmit_tries;
	double retransmit_factor;
	uint32_t keepalive_interval_s;
	enum cfg_start start_action;
	/* Attempts to establish before giving up; 0: forever, with back-off
	 * (charon's keyingtries = 0). */
	uint32_t keyingtries;
	enum cfg_action dpd_action, close_action;
	enum cfg_pss rsa_pss;
	struct end_cfg local, remote;
	struct child_cfg *children;
	struct conn_cfg *next;
};

/*
 * prf(secret, "Key Pad for IKEv2") (RFC 7296 §2.15) under the PRF it was
 * last asked for: exch_auth.c computes it once per secret and PRF rather
 * than in every IKE_AUTH.  It stands for the secret (whoever holds it can
 * make the AUTH the secret makes), so it lives and is wiped with it.
 */
struct psk_pad_cache {
	uint16_t prf;		/* 0: none yet */
	uint8_t len;
	uint8_t pad[64];	/* CRYPTO_MAX_PRF_LEN */
};

struct secret_cfg {
	char *name;
	struct id_cfg ids[4];
	int n_ids;
	uint8_t *secret;
	size_t secret_len;
	struct psk_pad_cache *pad;	/* its own allocation: filled through a const secret_cfg */
	int line;			/* of an inline 'secret =', else 0 */
	int section_line;
	struct secret_cfg *next;
};

/*
 * An address pool (pools { NAME { addrs = ...; dns = ... } }): one range
 * of one family, first..last in network order, and the DNS servers sent
 * with its addresses.
 */
struct pool_cfg {
	char *name;
	int line;
	int family;			/* AF_INET / AF_INET6 */
	uint8_t first[16], last[16];
	struct sockaddr_storage dns[CFG_MAX_DNS];
	int n_dns;
	struct pool_cfg *next;
};

struct daemon_cfg {
	char *backend;			/* auto | module | xfrm | none */
	struct sockaddr_storage listen[CFG_MAX_ADDR];
	int n_listen;			/* 0 = wildcard */
	uint16_t udp_port, natt_port;
	uint16_t tcp_ports[4];
	int n_tcp_ports;
	char *control_socket;
	int log_level;
	int8_t log_levels[8];		/* per subsystem (log.h), -1: log_level */
	uint16_t separate_transports_notify;
	uint16_t esp_transport_notify;	/* private: move ESP raw <-> UDP */
	bool separate_transports;	/* responder: echo the notify (RT-3) */
	bool delete_on_stop;		/* a Delete to every peer at shutdown */
	uint32_t stop_timeout_ms;	/* ... sent within this */
	uint32_t cookie_threshold, half_open_max, half_open_per_ip;
	uint8_t tcp_puzzle_difficulty;	/* RFC 8019 ZBC with cookies over TCP */
	uint32_t tcp_max, tcp_per_ip, tcp_prefix_timeout_ms, tcp_idle_timeout_ms;
	uint32_t max_ike_message, max_frag_buffers, max_frag_memory, keepalive_interval_s;
	uint32_t max_stream_memory;
	/* Key pairs generated ahead per group by a second thread (0: none;
	 * CFG_KEX_POOL_AUTO: 64 when the daemon may run on another CPU). */
	uint32_t kex_pool;
};

#define CFG_KEX_POOL_AUTO UINT32_MAX

struct config {
	char *path;
	char *warnings;		/* "file:line: text\n" lines, or NULL */
	struct daemon_cfg daemon;
	struct conn_cfg *conns;
	struct secret_cfg *secrets;
	struct pool_cfg *pools;
};

/*
 * Returns 0 and *out, or -1 with "file:line: message" in err.  The file
 * must be a regular file owned by root (or the user tcpiked runs as), not
 * writable by group or others.  What is accepted with a warning is in
 * (*out)->warnings.
 */
int config_load(const char *path, struct config **out, char *err, size_t errlen);
/*
 * What start-up needs beyond the syntax, checked on the file system: a
 * secret for every PSK connection, the certificates, keys (and that they
 * match) and CA files of every pubkey connection, readable and safe.
 * tcpiked -t, start-up and reload run it; 0 or -1 with "file:line: ...".
 */
int config_check(const struct config *c, char *err, size_t errlen);
/* The same from memory (name is used in messages). */
int config_parse(const char *name, const char *text, size_t len,
		 struct config **out, char *err, size_t errlen);
void config_free(struct config *c);

const struct conn_cfg *config_conn(const struct config *c, const char *name);
const struct pool_cfg *config_pool(const struct config *c, const char *name);
/* The addresses of a pool (at most 2^32). */
uint64_t cfg_pool_size(const struct pool_cfg *pl);
/* How well peer address a fits one of cc's remote_addrs: the longest
 * matching prefix length (0 for %any), or -1 when none admits it. */
int cfg_remote_match(const struct conn_cfg *cc, const struct sockaddr_storage *a);
/* The first address (not a prefix, not %any) of cc's remote_addrs: the
 * one it initiates to; NULL when it has none (a responder only). */
const struct sockaddr_storage *cfg_remote_addr(const struct conn_cfg *cc);
/* The DNS name among cc's remote_addrs (at most one), or NULL. */
const char *cfg_remote_host(const struct conn_cfg *cc);
/* "10.0.0.2", "10.0.0.0/8", "%any". */
const char *config_peer_str(const struct cfg_peer *p, char *out, size_t len);
/* The PSK for a pair of identities (either order), or NULL. */
const struct secret_cfg *config_secret(const struct config *c,
				       const struct id_cfg *a,
				       const struct id_cfg *b);
/* start_action = trap on the child, or on its connection when the
 * child's is none: its policies are installed with the configuration. */
bool cfg_child_trapped(const struct conn_cfg *cc, const struct child_cfg *ch);
/* Same settings (for reload: SAs of unchanged connections are kept). */
bool conn_cfg_equal(const struct conn_cfg *a, const struct conn_cfg *b);
/* The same but for timers a reload applies to running IKE SAs (the keys
 * marked live in the table: dpd_delay, dpd_timeout, rekey_time and the
 * retransmission keys of a connection). */
bool conn_cfg_equal_but_timers(const struct conn_cfg *a, const struct conn_cfg *b);

/* Parses one proposal list ("aes256gcm16-prfsha256-x25519, ...").
 * esp: ESP proposals (no PRF; ESN allowed).  Returns the count or -1
 * with a message. */
int config_parse_proposals(const char *s, bool esp, struct proposal_cfg *out,
			   int max, char *err, size_t errlen);
/* Parses an identity: "10.0.0.1", "fd00::1", "fqdn:gw.example",
 * "email:a@b", "dn:C=DE, CN=x", or a bare name taken as FQDN. */
int config_parse_id(const char *s, struct id_cfg *id, char *err, size_t errlen);
/* An identity as it would be written: "10.0.0.1", "fqdn:gw", "dn:CN=gw". */
void config_id_str(const struct id_cfg *id, char *out, size_t len);
/* A remote id with strongSwan's wildcards (*@domain, *.domain, a DN
 * value * or *.suffix), matched by exch_auth.c rather than compared. */
bool config_id_wild(const struct id_cfg *id);
/* Whether a and b name the same identity: FQDN and RFC 822 identities
 * regardless of case, the others byte for byte; config_id_hash agrees
 * (equal identities, equal hashes), for tables keyed by identity. */
bool config_id_equal(const struct id_cfg *a, const struct id_cfg *b);
uint32_t config_id_hash(const struct id_cfg *id);
/* A copy of id in the bytes it takes (its type, length and data: an
 * IKE SA holds its peer's, a pool its leases'), for free(); only the first
 * id->len bytes of its data may be read.  NULL without memory. */
struct id_cfg *config_id_dup(const struct id_cfg *id);

const char *cfg_transport_name(enum cfg_transport t);
/* The daemon's log levels (log_level, with its subsystem levels) set. */
void config_log_apply(const struct daemon_cfg *d);

/* A transform in strongSwan's words ("aes256gcm16", "prfsha256", "x25519";
 * type and ID as on the wire, RFC 7296 §3.3.2), else "KE_36" in buf. */
const char *config_alg_name(uint8_t type, uint16_t id, uint16_t keylen, char *buf, size_t len);
/* "aes256gcm16-prfsha256-x25519" of one proposal, "a, b" of a list. */
int config_proposal_str(const struct proposal_cfg *p, char *out, size_t len);
int config_proposals_str(const struct proposal_cfg *p, int n, char *out, size_t len);
/* Does any IKE proposal of the connection have an additional key exchange
 * (RFC 9370, keN_)? */
bool config_has_addke(const struct conn_cfg *cc);

/*
 * The key table (config.c): every key of every section, with its type,
 * bounds, default and help, is one row there.  The parser, the "expected
 * ..." lists of its errors, the reload comparison and the reference below
 * all read it; adding a key is adding a row (and the field it fills).
 */
enum cfg_section {
	CFG_SEC_DAEMON,		/* daemon { } */
	CFG_SEC_CONN,		/* connections { NAME { } } */
	CFG_SEC_END,		/* a connection's local { } and remote { } */
	CFG_SEC_CHILD,		/* a connection's children { NAME { } } */
	CFG_SEC_SECRET,		/* secrets { NAME { } } */
	CFG_SEC_POOL,		/* pools { NAME { } } */
	CFG_SEC_COUNT
};

/* The name of key i of a section, in the table's order; NULL past the last. */
const char *config_key_name(enum cfg_section s, size_t i);

enum cfg_ref_format {
	CFG_REF_TEXT,		/* plain text, for a terminal */
	CFG_REF_MDOC,		/* mdoc(7) sections for tcpiked.conf(5) */
};

/* Every section and key with its value, bounds, default and help. */
void config_reference(FILE *f, enum cfg_ref_format fmt);

/* What makes ss no host's address (unspecified, broadcast, multicast;
 * IPv4-mapped too), or NULL. */
const char *config_not_a_host(const struct sockaddr_storage *ss);

#endif
