// SPDX-License-Identifier: GPL-2.0
/*
 * The IKE SA table, message intake and output, retransmission and timers.
 *
 * Intake (engine_rx) follows RFC 7296 §2.1-§2.3 and §2.21: the header is
 * parsed and the SA found by our SPI before anything else is looked at;
 * requests must carry the next expected Message ID (the previous one gets
 * the cached response again, anything else is dropped), responses must
 * answer our one outstanding request.  Nothing an unauthenticated message
 * says changes state: decryption (and fragment reassembly, RFC 7383) comes
 * first, and only then do the exchange handlers run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "backend.h"
#include "dns.h"
#include "ikesa.h"
#include "log.h"
#include "tcp.h"
#include "udp.h"

#define HALF_OPEN_TIMEOUT_MS	30000u
#define TABLE_MIN		256u
#define FRAG_MAX_TOTAL		128u

uint64_t ike_now(void)
{
	return loop_now_ms();
}

/* --- identities ---------------------------------------------------------- */

const char *peer_id_str(const struct ike_sa *sa, char *out)
{
	out[0] = 0;
	if (sa->peer_id && sa->peer_id->type)
		id_str(sa->peer_id, out, PEER_ID_STRLEN);
	return out;
}

int ike_sa_set_peer_id(struct ike_sa *sa, const struct id_cfg *id)
{
	struct id_cfg *d = config_id_dup(id);

	if (!d)
		return -ENOMEM;
	free(sa->peer_id);
	sa->peer_id = d;
	return 0;
}

int id_str(const struct id_cfg *id, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	switch (id->type) {
	case IKEV2_ID_IPV4_ADDR:
		if (id->len == 4 && inet_ntop(AF_INET, id->data, a, sizeof(a)))
			return snprintf(out, len, "%s", a);
		break;
	case IKEV2_ID_IPV6_ADDR:
		if (id->len == 16 && inet_ntop(AF_INET6, id->data, a, sizeof(a)))
			return snprintf(out, len, "%s", a);
		break;
	case IKEV2_ID_FQDN:
	case IKEV2_ID_RFC822_ADDR:
		/* Peer-supplied text: escaped, so no one forges a log line. */
		return (int)strlen(log_escape(id->data, id->len, out, len));
	case IKEV2_ID_DER_ASN1_DN: {
		const unsigned char *p = id->data;
		X509_NAME *nm = d2i_X509_NAME(NULL, &p, id->len);

		if (nm) {
			X509_NAME_oneline(nm, out, (int)len);
			X509_NAME_free(nm);
			return (int)strlen(out);
		}
		/* a configured DN still in text form, or a peer's bytes that
		 * are not DER: escaped either way */
		return (int)strlen(log_escape(id->data, id->len, out, len));
	}
	default:
		break;
	}
	return snprintf(out, len, "(id type %u, %u bytes)", id->type, id->len);
}

/* --- the SA table ----------------------------------------------------------- */

static const uint8_t *our_spi(const struct ike_sa *sa)
{
	return sa->initiator ? sa->spi_i : sa->spi_r;
}

static size_t spi_hash(const struct engine *e, const uint8_t spi[8])
{
	uint64_t v;

	/* SPIs are random (we made ours), so their bits are the hash. */
	memcpy(&v, spi, 8);
	v ^= v >> 29;
	return (size_t)(v & (e->table_size - 1));
}

static int table_grow(struct engine *e)
{
	size_t nsize = e->table_size ? e->table_size * 2 : TABLE_MIN, i;
	struct ike_sa **nt = calloc(nsize, sizeof(*nt));
	struct ike_sa **old = e->table;
	size_t osize = e->table_size;

	if (!nt)
		return -ENOMEM;
	e->table = nt;
	e->table_size = nsize;
	for (i = 0; i < osize; i++) {
		struct ike_sa *sa = old[i], *n;

		for (; sa; sa = n) {
			size_t h = spi_hash(e, our_spi(sa));

			n = sa->hnext;
			sa->hnext = nt[h];
			nt[h] = sa;
		}
	}
	free(old);
	return 0;
}

struct ike_sa *ike_sa_by_spi(struct engine *e, const uint8_t spi[8])
{
	struct ike_sa *sa;

	if (!e->table_size)
		return NULL;
	for (sa = e->table[spi_hash(e, spi)]; sa; sa = sa->hnext)
		if (!memcmp(our_spi(sa), spi, 8))
			return sa;
	return NULL;
}

void ike_sa_link(struct ike_sa *sa)
{
	struct engine *e = sa->e;
	size_t h;

	if ((e->n_sa + 1) * 2 > e->table_size && table_grow(e) && !e->table_size)
		return;
	h = spi_hash(e, our_spi(sa));
	sa->hnext = e->table[h];
	e->table[h] = sa;
	e->n_sa++;
}

static void table_unlink(struct ike_sa *sa)
{
	struct engine *e = sa->e;
	struct ike_sa **pp;

	if (!e->table_size)
		return;
	for (pp = &e->table[spi_hash(e, our_spi(sa))]; *pp; pp = &(*pp)->hnext) {
		if (*pp == sa) {
			*pp = sa->hnext;
			e->n_sa--;
			return;
		}
	}
}

/* A fresh SPI of ours that no SA uses (§2.6: SPIs are unique per node). */
static void new_spi(struct engine *e, uint8_t spi[8])
{
	do {
		uint64_t v = crypto_random_spi();

		memcpy(spi, &v, 8);
	} while (ike_sa_by_spi(e, spi));
}

struct ike_sa *ike_sa_new(struct engine *e, const struct conn_cfg *cfg,
			  bool initiator)
{
	struct ike_sa *sa = calloc(1, sizeof(*sa));

	if (!sa)
		return NULL;
	sa->e = e;
	sa->cfg = cfg;
	sa->initiator = initiator;
	sa->id = ++e->next_id;
	sa->init = calloc(1, sizeof(*sa->init));
	if (!sa->init) {
		free(sa);
		return NULL;
	}
	buf_init(&sa->ni);
	buf_init(&sa->nr);
	buf_init(&sa->req.nonce);
	buf_init(&sa->sk_d);
	ike_keys_init(&sa->init->keys);
	new_spi(e, initiator ? sa->spi_i : sa->spi_r);
	sa->created_ms = sa->last_rx_ms = ike_now();
	sa->next = e->all;
	if (e->all)
		e->all->prev = sa;
	e->all = sa;
	return sa;
}

const char *ike_sa_name(const struct ike_sa *sa)
{
	/* A few buffers in turn: two SAs, or one twice, in one log line
	 * each print as they are, at no cost per SA. */
	static char s[4][96];
	static unsigned int next;
	char *b = s[next++ % 4];

	snprintf(b, sizeof(s[0]), "%s[%llu]", sa->cfg ? sa->cfg->name : "?",
		 (unsigned long long)sa->id);
	return b;
}

int ike_sa_keys_set(struct ike_sa *sa)
{
	const struct ike_keys *k;
	int r;

	if (!sa->init)
		return -EINVAL;	/* established: its keys are set */
	k = &sa->init->keys;
	/* Initiator-sent messages use SK_ei/SK_ai (§2.14). */
	if (sa->initiator) {
		r = crypto_sk_init(&sa->sk_out, &sa->suite, &k->sk_ei, &k->sk_ai);
		if (!r)
			r = crypto_sk_init(&sa->sk_in, &sa->suite, &k->sk_er, &k->sk_ar);
	} else {
		r = crypto_sk_init(&sa->sk_out, &sa->suite, &k->sk_er, &k->sk_ar);
		if (!r)
			r = crypto_sk_init(&sa->sk_in, &sa->suite, &k->sk_ei, &k->sk_ai);
	}
	sa->keyed = !r;
	return r;
}

void pktset_free(struct pktset *ps)
{
	int i;

	for (i = 0; i < ps->n; i++)
		buf_free(&ps->pkt[i]);
	free(ps->pkt);
	ps->pkt = NULL;
	ps->n = 0;
}

static void req_clear(struct ike_sa *sa)
{
	struct ike_req *r = &sa->req;

	timer_cancel(sa->e->loop, &r->timer);
	pktset_free(&r->out);
	kex_free(r->kex);
	r->kex = NULL;
	buf_wipe(&r->nonce);
	if (r->child) {
		child_free(r->child, true);
		r->child = NULL;
	}
	if (r->new_ike) {
		struct ike_sa *n = r->new_ike;

		ike_sa_unref(n);
		r->new_ike = NULL;
		ike_sa_destroy(n, "rekey abandoned");
	}
	r->old = NULL;
	r->task = TASK_NONE;
	r->tries = 0;
	r->deadline_ms = 0;
}

static void free_init_material(struct ike_sa *sa)
{
	kex_free(sa->kex);
	sa->kex = NULL;
	kex_free(sa->addke_kex);
	sa->addke_kex = NULL;
	buf_wipe(&sa->ni);
	buf_wipe(&sa->nr);
	if (sa->init) {
		/* SK_p sign AUTH only; SK_e and SK_a live on in sk_in and
		 * sk_out (ike_sa_keys_set): of the keys, SK_d alone is used
		 * again, kept as long as the SA. */
		buf_wipe(&sa->sk_d);
		sa->sk_d = sa->init->keys.sk_d;
		buf_init(&sa->init->keys.sk_d);
		buf_fit(&sa->sk_d);
		ike_keys_wipe(&sa->init->keys);
		buf_free(&sa->init->init_req);
		buf_free(&sa->init->init_resp);
		buf_free(&sa->init->cookie);
		buf_free(&sa->init->puzzle);
		buf_wipe(&sa->init->int_auth_i);
		buf_wipe(&sa->init->int_auth_r);
		buf_free(&sa->init->peer_certreq_data);
		free(sa->init);
		sa->init = NULL;
	}
}

/* Kernel keepalives are per peer: a rekeyed IKE SA's successor still
 * needs the ones the old SA turned on. */
static bool keepalive_shared(const struct ike_sa *sa)
{
	const struct ike_path *p = ike_esp_path(sa);

	for (const struct ike_sa *o = sa->e->all; o; o = o->next) {
		const struct ike_path *q;

		if (o == sa || !o->kernel_keepalive || o->state == IKE_S_DEAD)
			continue;
		q = ike_esp_path(o);
		if (addr_port_eq(&p->local, &q->local) && addr_port_eq(&p->remote, &q->remote))
			return true;
	}
	return false;
}

static void ike_half_open_del(struct ike_sa *sa)
{
	struct engine *e = sa->e;

	if (!sa->on_ho)
		return;
	sa->on_ho = false;
	if (sa->ho_prev)
		sa->ho_prev->ho_next = sa->ho_next;
	else
		e->half_open = sa->ho_next;
	if (sa->ho_next)
		sa->ho_next->ho_prev = sa->ho_prev;
	e->n_half_open--;
	mem_burst_down(&e->ho_mem);	/* after a flood */
}

static void reap_fire(struct timer *t)
{
	ike_sa_destroy(container_of(t, struct ike_sa, life_timer), NULL);
}

static void ike_sa_destroy_later(struct ike_sa *sa, const char *why)
{
	/* The life timer is free: nothing re-arms it on a deleting SA. */
	if (why)
		log_info("%s: IKE SA deleted: %s", ike_sa_name(sa), why);
	sa->state = IKE_S_DELETING;
	timer_arm(sa->e->loop, &sa->life_timer, 0, reap_fire);
}

struct ike_rw *ike_rw_get(struct ike_sa *sa)
{
	if (!sa->rw)
		sa->rw = calloc(1, sizeof(*sa->rw));
	return sa->rw;
}

void ike_vips_release(struct ike_sa *sa)
{
	char a[ADDR_STRLEN], ids[PEER_ID_STRLEN];

	for (int i = 0; i < ike_n_vip(sa); i++) {
		const struct ike_vip *v = &sa->rw->vip[i];

		if (!sa->e->pools || !sa->peer_id ||
		    !pool_release(sa->e->pools, v->pool, sa->peer_id))
			continue;	/* the pool went with a reload */
		log_info("%s: virtual IP %s of pool %s released by %s (kept for it)",
			 ike_sa_name(sa), addr_str(&v->addr, a, sizeof(a)),
			 v->pool, peer_id_str(sa, ids));
	}
	if (sa->rw)
		sa->rw->n_vip = 0;
}

void ike_sa_destroy(struct ike_sa *sa, const char *why)
{
	struct engine *e = sa->e;
	struct child_sa *c, *n;

	if (sa->state == IKE_S_DEAD)
		return;
	/* RT-25: ESP could not get through beside TCP: the same connection
	 * again in RFC 9329 mode (no SEPARATE_TRANSPORTS, ESP in TCP), started
	 * from the loop, not from here. */
	if (sa->x.state == XS_REBUILD && !e->shutting_down && sa->cfg)
		xport_initiate_later(e, sa->cfg->name, XO_REBUILD);
	if (why)
		log_info("%s: IKE SA deleted: %s", ike_sa_name(sa), why);
	ike_half_open_del(sa);
	sa->state = IKE_S_DEAD;
	req_clear(sa);
	for (c = sa->children; c; c = n) {
		n = c->next;
		child_free(c, true);
	}
	sa->children = NULL;
	ike_vips_release(sa);
	vip_drop(sa);
	free(sa->rw);
	if (sa->kernel_keepalive && e->kb && e->kb->ops->keepalive_set &&
	    !keepalive_shared(sa)) {
		const struct ike_path *ep = ike_esp_path(sa);

		e->kb->ops->keepalive_set(e->kb, &ep->local, &ep->remote, 0);
	}
	timer_cancel(e->loop, &sa->life_timer);
	timer_cancel(e->loop, &sa->dpd_timer);
	timer_cancel(e->loop, &sa->replace_timer);
	timer_cancel(e->loop, &sa->child_timer);
	child_wants_clear(sa);
	timer_cancel(e->loop, &sa->keepalive_timer);
	pktset_free(&sa->resp_cache);
	frag_reset(&sa->e->frags, &sa->frag);
	free_init_material(sa);
	/* rekeys still in IKE_FOLLOWUP_KE (RFC 9370 §2.2.4) */
	e->exch->followup_clear(sa->fu_resp);
	e->exch->followup_clear(sa->fu_init);
	free(sa->fu_resp);
	free(sa->fu_init);
	sa->fu_resp = sa->fu_init = NULL;
	if (sa->coll_nonce)
		buf_free(sa->coll_nonce);
	free(sa->coll_nonce);
	free(sa->trigger);
	buf_wipe(&sa->sk_d);
	crypto_sk_wipe(&sa->sk_in);
	crypto_sk_wipe(&sa->sk_out);
	sa->e->exch->probe_stop(sa);
	free(sa->probe);
	sa->probe = NULL;
	ike_xport_free(sa);
	table_unlink(sa);
	if (sa->id_indexed)
		htab_del(&e->peer_ids, &sa->id_node);
	free(sa->peer_id);
	if (sa->prev)
		sa->prev->next = sa->next;
	else
		e->all = sa->next;
	if (sa->next)
		sa->next->prev = sa->prev;
	/* This SA's own pointers at others (req.new_ike and fu_*->ns went
	 * above) no longer count ... */
	ike_sa_unref(sa->rekeyed_to);
	ike_sa_unref(sa->peer_ike);
	/* ... and SAs that point at this one forget it (only rekeys make
	 * such pointers, and only until the old SA goes: an SA no one
	 * points at needs no walk of all SAs, which made every delete
	 * O(n)). */
	for (struct ike_sa *o = sa->referenced ? e->all : NULL; o; o = o->next) {
		if (o->rekeyed_to == sa)
			o->rekeyed_to = NULL;
		if (o->peer_ike == sa)
			o->peer_ike = NULL;
		if (o->req.new_ike == sa)
			o->req.new_ike = NULL;
		if (o->fu_resp && o->fu_resp->ns == sa)
			o->fu_resp->ns = NULL;
		if (o->fu_init && o->fu_init->ns == sa)
			o->fu_init->ns = NULL;
	}
	if (e->rx_depth) {
		sa->next = e->dead;
		e->dead = sa;
		return;
	}
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

void ike_half_open_add(struct ike_sa *sa)
{
	struct engine *e = sa->e;

	if (sa->on_ho)
		return;
	sa->on_ho = true;
	sa->ho_prev = NULL;
	sa->ho_next = e->half_open;
	if (e->half_open)
		e->half_open->ho_prev = sa;
	e->half_open = sa;
	e->n_half_open++;
	mem_burst_up(&e->ho_mem);
}

/* --- starting an SA and its path ------------------------------------------ */

int route_source(const struct sockaddr_storage *dst, struct sockaddr_storage *src)
{
	socklen_t sl = sizeof(*src);
	int fd = socket(dst->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)dst, addr_len(dst)) ||
	    getsockname(fd, (struct sockaddr *)src, &sl))
		r = -errno;
	close(fd);
	return r;
}

struct ike_sa *ike_initiate(struct engine *e, const struct conn_cfg *cc,
			    enum xport_origin origin, int *err)
{
	/* a name: the address resolved for this attempt (dns.c) */
	const struct sockaddr_storage *to = cfg_remote_addr(cc) ? cfg_remote_addr(cc) :
					    dns_addr(e, cc);
	struct ike_sa *sa = to ? ike_sa_new(e, cc, true) : NULL;
	int r;

	if (!sa) {
		/* prefixes and %any admit peers, name none to initiate to */
		*err = to ? -ENOMEM : -EDESTADDRREQ;
		return NULL;
	}
	sa->x.origin = origin;
	sa->path.remote = *to;
	addr_set_port(&sa->path.remote, cc->remote_port);
	if (cc->n_local) {
		sa->path.local = cc->local_addrs[0];
	} else if ((r = route_source(&sa->path.remote, &sa->path.local))) {
		ike_sa_destroy(sa, NULL);
		*err = r;
		return NULL;
	}
	ike_sa_link(sa);
	r = xport_start(sa);
	if (r > 0)
		r = e->exch->init_start(sa);	/* over TCP: once connected */
	if (r) {
		ike_sa_destroy(sa, "cannot start");
		*err = r;
		return NULL;
	}
	*err = 0;
	return sa;
}

/* The SA's TCP connection is up (ike_xport.c): what waited for it goes. */
void ike_path_ready(struct ike_sa *sa)
{
	struct engine *e = sa->e;

	if (sa->state == IKE_S_INIT_SENT) {
		/* (Re)built now: NAT-D over this connection's ports. */
		if (e->exch->init_start(sa)) {
			e->st.ike_failed++;
			ike_sa_destroy(sa, "cannot send IKE_SA_INIT");
		}
	} else if (sa->state == IKE_S_AUTH_SENT && sa->req.task == TASK_NONE) {
		if (e->exch->auth_start(sa)) {
			e->st.ike_failed++;
			ike_sa_destroy(sa, "cannot build IKE_AUTH");
		}
	} else if (sa->req.task != TASK_NONE) {
		/* TCP-28: the request that was outstanding goes out again on
		 * the new connection. */
		ike_req_resend(sa);
	} else if (sa->state == IKE_S_ESTABLISHED) {
		/* With none, a liveness check tells the peer (which cannot
		 * reconnect) where we are now. */
		sa->pending |= PEND_DPD;
		ike_kick(sa);
	}
}

/* --- output ----------------------------------------------------------------- */

void ike_sa_hdr(const struct ike_sa *sa, struct ike_hdr *h, uint8_t exch,
		bool response, uint32_t msgid)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->spi_i, sa->spi_i, 8);
	memcpy(h->spi_r, sa->spi_r, 8);
	h->major = IKEV2_MAJOR_VERSION;
	h->exch = exch;
	h->msgid = msgid;
	/* §3.1: I is set by the original initiator, R on responses. */
	h->flags = (sa->initiator ? IKEV2_FLAG_INITIATOR : 0) |
		   (response ? IKEV2_FLAG_RESPONSE : 0);
}

int ike_send_raw(struct engine *e, const struct ike_path *path,
		 const uint8_t *p, size_t len)
{
	int r;

	if (!e->net)
		return -ENOTCONN;
	trace_tx_plain(e, path, p, len);
	r = e->net->send(e->net_ctx, path, p, len);
	if (!r)
		e->st.tx++;
	return r;
}

static int send_set(struct ike_sa *sa, const struct pktset *ps)
{
	int i, r = xport_send_ready(sa);

	if (r)
		return r;
	for (i = 0; i < ps->n; i++) {
		int s = ike_send_raw(sa->e, &sa->path, ps->pkt[i].data, ps->pkt[i].len);

		if (s && !r)
			r = s;
	}
	if (r)
		log_debug("%s: send failed: %s", ike_sa_name(sa), strerror(-r));
	sa->stats_tx += (uint64_t)ps->n;
	return r;
}

/* What a UDP datagram adds to an IKE message: IP and UDP headers, and the
 * non-ESP marker on port 4500.  The configured fragment size is that of
 * the whole IP datagram (RFC 7383 §2.5.1), as strongSwan counts it. */
static size_t dgram_overhead(const struct ike_sa *sa)
{
	size_t ip = sa->path.remote.ss_family == AF_INET6 ? 40 : 20;

	return ip + 8 + (sa->path.kind == XPORT_UDP4500 ? 4 : 0);
}

static size_t fragment_size(const struct ike_sa *sa)
{
	return sa->cfg ? sa->cfg->fragment_size : 1280;
}

/* Room for SKF contents in one fragment. */
static size_t frag_room(const struct ike_sa *sa)
{
	size_t over = dgram_overhead(sa) + IKEV2_HDR_LEN + CRYPTO_SKF_HDR_LEN;
	size_t fs = fragment_size(sa);

	return fs > over ? fs - over : 0;
}

static int seal_one(struct ike_sa *sa, const struct ike_hdr *h, uint8_t first,
		    bool skf, uint16_t num, uint16_t total,
		    const uint8_t *plain, size_t len, struct buf *out)
{
	struct ike_builder bld;
	size_t off;

	/* the sealed message's size is known: one allocation */
	if (buf_reserve(out, IKEV2_HDR_LEN + (skf ? CRYPTO_SKF_HDR_LEN : CRYPTO_SK_HDR_LEN) +
			crypto_sk_sealed_len(&sa->sk_out, len)))
		return -ENOMEM;
	msg_begin(&bld, out, h);
	off = skf ? ike_put_skf_header(&bld, first, num, total) :
		    ike_put_sk_header(&bld, first);
	if (off == SIZE_MAX)
		return bld.err ? bld.err : -EINVAL;
	return crypto_sk_seal(&sa->sk_out, out, off, skf, plain, len);
}

/*
 * Protects the chain in inner into one message, or into RFC 7383
 * fragments when the peer supports them, the path is UDP (TCP never
 * fragments, RFC 9329 §2), and the message would exceed the fragment size.
 */
static int seal_message(struct ike_sa *sa, uint8_t exch, bool response,
			uint32_t msgid, struct ike_builder *inner,
			struct pktset *ps)
{
	const uint8_t *plain = inner->b->data;
	size_t len = inner->b->len;
	struct ike_hdr h;
	size_t room, chunk, whole, sent = 0;
	int r, n, i;

	if (inner->err)
		return inner->err;
	r = chain_finish(inner);
	if (r)
		return r;
	plain = inner->b->data;
	len = inner->b->len;
	ike_sa_hdr(sa, &h, exch, response, msgid);
	whole = IKEV2_HDR_LEN + CRYPTO_SK_HDR_LEN + crypto_sk_sealed_len(&sa->sk_out, len);
	room = frag_room(sa);
	chunk = room ? crypto_sk_max_plain(&sa->sk_out, room) : 0;
	if (!sa->peer_frag || sa->path.kind == XPORT_TCP || !chunk ||
	    sa->cfg->fragmentation == CFG_FRAG_NO ||
	    whole + dgram_overhead(sa) <= fragment_size(sa)) {
		ps->pkt = calloc(1, sizeof(*ps->pkt));
		if (!ps->pkt)
			return -ENOMEM;
		ps->n = 1;
		r = seal_one(sa, &h, inner->first_type, false, 0, 0, plain, len, &ps->pkt[0]);
		if (!r)
			trace_tx_sealed(sa, &h, inner->first_type, plain, len, ps->pkt[0].len, 1);
		return r;
	}
	n = (int)((len + chunk - 1) / chunk);
	if (n < 1)
		n = 1;
	if (n > 65535)
		return -EMSGSIZE;
	ps->pkt = calloc((size_t)n, sizeof(*ps->pkt));
	if (!ps->pkt)
		return -ENOMEM;
	ps->n = n;
	for (i = 0; i < n; i++) {
		size_t off = (size_t)i * chunk;
		size_t l = len - off < chunk ? len - off : chunk;

		/* §2.5: Next Payload of fragment 1 names the first inner
		 * payload, 0 in the others. */
		r = seal_one(sa, &h, i ? 0 : inner->first_type, true,
			     (uint16_t)(i + 1), (uint16_t)n, plain + off, l,
			     &ps->pkt[i]);
		if (r)
			return r;
		sent += ps->pkt[i].len;
	}
	trace_tx_sealed(sa, &h, inner->first_type, plain, len, sent, n);
	sa->e->st.frags_sent += (uint64_t)n;
	return 0;
}

static uint64_t retransmit_delay(const struct ike_sa *sa, unsigned int tries)
{
	double d = sa->cfg ? sa->cfg->retransmit_base_ms : 1000;
	double f = sa->cfg ? sa->cfg->retransmit_factor : 2.0;
	unsigned int i;

	for (i = 0; i < tries && d < 3600e3; i++)
		d *= f;
	return d > 3600e3 ? 3600000 : (uint64_t)d;
}

static void retransmit_fire(struct timer *t);

static void req_arm(struct ike_sa *sa)
{
	timer_arm(sa->e->loop, &sa->req.timer,
		  retransmit_delay(sa, sa->req.tries), retransmit_fire);
}

static void retransmit_fire(struct timer *t)
{
	struct ike_sa *sa = container_of(t, struct ike_sa, req.timer);
	struct ike_req *r = &sa->req;
	uint64_t now = ike_now();
	unsigned int max = sa->cfg ? sa->cfg->retransmit_tries : 5;

	if (r->task == TASK_NONE)
		return;
	if (r->tries >= max || (r->deadline_ms && now >= r->deadline_ms)) {
		struct engine *e = sa->e;
		const struct conn_cfg *cc = sa->cfg;
		bool restart = false;

		e->st.dpd_dead += r->task == TASK_DPD;
		log_warn("%s: no response to %s (message %u) after %u retransmits: peer is gone",
			 ike_sa_name(sa), ike_exch_name(r->exch), r->msgid, r->tries);
		if (sa->state == IKE_S_INIT_SENT && xport_race_goes_on(sa)) {
			/* auto: the SA over TCP carries the attempt */
		} else if (sa->state == IKE_S_INIT_SENT || sa->state == IKE_S_AUTH_SENT) {
			e->st.ike_failed++;	/* as a refused one is */
			ike_keying_failed(sa, "peer did not answer");
		} else if (sa->state == IKE_S_ESTABLISHED && cc &&
			   cc->dpd_action == CFG_ACTION_RESTART) {
			/* Any request of an established SA that goes unanswered
			 * finds the peer dead, as a liveness check would. */
			log_info("%s: dpd_action = restart: initiating %s again", ike_sa_name(sa),
				 cc->name);
			restart = true;
		} else if (sa->state == IKE_S_ESTABLISHED && cc &&
			   cc->dpd_action == CFG_ACTION_TRAP) {
			trap_on_close(sa, NULL, "dpd_action");	/* before the policies go */
		}
		ike_sa_destroy(sa, "peer did not answer");
		/* after the old SA and its policies are gone */
		if (restart)
			conn_restart_later(e, cc, 0);
		return;
	}
	r->tries++;
	if (xport_retransmits(sa)) {
		log_debug("%s: retransmit %u of message %u", ike_sa_name(sa),
			  r->tries, r->msgid);
		ike_req_retransmit(sa);
	}
	req_arm(sa);
}

void ike_set_trigger(struct ike_sa *sa, const struct child_trigger *trig)
{
	if (!trig)
		return;
	if (!sa->trigger)
		sa->trigger = malloc(sizeof(*sa->trigger));
	if (sa->trigger)
		*sa->trigger = *trig;
}

void ike_req_retransmit(struct ike_sa *sa)
{
	if (sa->req.task == TASK_NONE || !sa->req.out.n)
		return;
	sa->stats_retx++;
	sa->e->st.retransmits++;
	send_set(sa, &sa->req.out);
}

void ike_req_resend(struct ike_sa *sa)
{
	if (sa->req.task != TASK_NONE && sa->req.out.n)
		send_set(sa, &sa->req.out);
}

int ike_send_request(struct ike_sa *sa, enum ike_task task, uint8_t exch,
		     struct ike_builder *inner)
{
	struct ike_req *r = &sa->req;
	int err;

	pktset_free(&r->out);
	err = seal_message(sa, exch, false, sa->my_msgid, inner, &r->out);
	if (err) {
		log_err("%s: cannot build %s request: %s", ike_sa_name(sa),
			ike_exch_name(exch), strerror(-err));
		pktset_free(&r->out);
		return err;
	}
	r->task = task;
	r->exch = exch;
	r->msgid = sa->my_msgid;
	r->tries = 0;
	r->started_ms = ike_now();
	send_set(sa, &r->out);
	req_arm(sa);
	return 0;
}

/* One message of ike_send_once: while the transport has no room for it,
 * the wait for room (engine_net wait) until deadline_ms, if any. */
static int send_waiting(struct ike_sa *sa, const struct buf *m, uint64_t deadline_ms)
{
	const struct engine_net *net = sa->e->net;

	for (;;) {
		int r = ike_send_raw(sa->e, &sa->path, m->data, m->len);

		if (r != -EAGAIN && r != -EWOULDBLOCK && r != -ENOBUFS)
			return r;
		if (!deadline_ms || !net->wait)
			return r;
		r = net->wait(sa->e->net_ctx, &sa->path, r, deadline_ms);
		if (r)
			return r;
	}
}

int ike_send_once(struct ike_sa *sa, uint8_t exch, struct ike_builder *inner,
		  uint64_t deadline_ms)
{
	struct pktset ps = { 0 };
	int err = 0;

	/* never a connection opened for it (xport_send_ready would) */
	if (!xport_may_send(sa))
		return -ENOTCONN;
	err = seal_message(sa, exch, false, sa->my_msgid, inner, &ps);
	for (int i = 0; !err && i < ps.n; i++)
		err = send_waiting(sa, &ps.pkt[i], deadline_ms);
	sa->stats_tx += (uint64_t)ps.n;
	pktset_free(&ps);
	if (err)
		log_debug("%s: %s request not sent: %s", ike_sa_name(sa), ike_exch_name(exch),
			  strerror(-err));
	return err;
}

int ike_send_plain(struct ike_sa *sa, const struct buf *msg, bool request)
{
	struct pktset *ps = request ? &sa->req.out : &sa->resp_cache;

	pktset_free(ps);
	ps->pkt = calloc(1, sizeof(*ps->pkt));
	if (!ps->pkt)
		return -ENOMEM;
	ps->n = 1;
	if (buf_copy(&ps->pkt[0], msg)) {
		pktset_free(ps);
		return -ENOMEM;
	}
	if (request) {
		sa->req.msgid = 0;
		sa->req.exch = IKEV2_EXCH_IKE_SA_INIT;
		sa->req.task = TASK_INIT;
		sa->req.tries = 0;
		sa->req.started_ms = ike_now();
		req_arm(sa);
	} else {
		sa->resp_cached = true;
		sa->resp_cache_msgid = 0;
		sa->resp_req_ok = false;	/* exch_init.c compares the bytes */
		sa->peer_msgid = 1;
	}
	return send_set(sa, ps);
}

int ike_send_response(struct ike_sa *sa, uint8_t exch, uint32_t msgid,
		      struct ike_builder *inner)
{
	int err;

	pktset_free(&sa->resp_cache);
	err = seal_message(sa, exch, true, msgid, inner, &sa->resp_cache);
	if (err) {
		log_err("%s: cannot build %s response: %s", ike_sa_name(sa),
			ike_exch_name(exch), strerror(-err));
		pktset_free(&sa->resp_cache);
		sa->resp_cached = false;
		return err;
	}
	/* §2.1: kept until the next request, which may be hours away: no
	 * bigger than it is */
	for (int i = 0; i < sa->resp_cache.n; i++)
		buf_fit(&sa->resp_cache.pkt[i]);
	sa->resp_cached = true;
	sa->resp_cache_msgid = msgid;
	sa->resp_req_ok = sa->pend_req_ok && sa->pend_req_msgid == msgid;
	memcpy(sa->resp_req_hash, sa->pend_req_hash, sizeof(sa->resp_req_hash));
	sa->pend_req_ok = false;
	sa->peer_msgid = msgid + 1;
	err = send_set(sa, &sa->resp_cache);
	/* §2.1: over UDP a send that fails locally (an output filter's
	 * EPERM, ENOBUFS) is one more lost packet: the response is cached
	 * and goes out again when the request is retransmitted.  Failing
	 * the exchange here would tear down an SA the peer completes. */
	return sa->path.kind == XPORT_TCP ? err : 0;
}

int ike_respond_notify(struct ike_sa *sa, uint8_t exch, uint32_t msgid,
		       uint16_t type, const uint8_t *data, size_t len)
{
	struct buf b = BUF_INIT;
	struct ike_builder bld;
	int r;

	chain_begin(&bld, &b);
	ike_put_notify(&bld, 0, NULL, 0, type, data, len);
	r = ike_send_response(sa, exch, msgid, &bld);
	buf_free(&b);
	/* §2.21.3 is about the IKE SA once authenticated; before, IKE_AUTH's
	 * and IKE_INTERMEDIATE's errors end the SA in their handlers. */
	if (type == IKEV2_N_INVALID_SYNTAX && sa->state >= IKE_S_ESTABLISHED)
		sa->syntax_fatal = true;
	return r;
}

/*
 * §2.21.3: a request found "badly formatted (after it has passed the
 * message authentication code checks and window checks)" and answered
 * INVALID_SYNTAX: "this error notification is considered fatal in both
 * peers, meaning that the IKE SA is deleted without needing an explicit
 * Delete payload" (RFC 6989 §2.5: the responder MUST drop the IKE SA after
 * an invalid KE).  The response went out first (ike_respond_notify); the
 * SA goes once the request is handled, whatever its exchange (rx_encrypted:
 * a handler that destroyed sa left it IKE_S_DEAD, engine.dead), not later: a
 * retransmission of that request then finds no SA and gets no answer
 * (§2.21.4 lets us stay silent outside an SA).  The peer deletes the SA
 * on reading INVALID_SYNTAX, or, if our answer was lost, after its
 * retransmissions give up (§2.4), so keeping the SA (and its keys) for
 * a resend would only keep an SA both ends count as deleted.
 */
static void syntax_fatal_end(struct ike_sa *sa, uint8_t exch)
{
	if (!sa->syntax_fatal || sa->state == IKE_S_DEAD)
		return;
	log_warn("%s: %s request answered INVALID_SYNTAX: the IKE SA ends without a Delete "
		 "(RFC 7296 2.21.3)", ike_sa_name(sa), ike_exch_name(exch));
	ike_sa_destroy(sa, "INVALID_SYNTAX is fatal in both peers (RFC 7296 2.21.3)");
}

void ike_req_done(struct ike_sa *sa)
{
	/* What the handler did not take over (r->child, r->new_ike) goes. */
	req_clear(sa);
	sa->my_msgid++;
	ike_kick(sa);
}

void ike_req_continue(struct ike_sa *sa)
{
	req_clear(sa);
	sa->my_msgid++;
}

/* --- queued work ------------------------------------------------------------ */

void ike_kick(struct ike_sa *sa)
{
	const struct exch_ops *x = sa->e->exch;
	struct child_sa *c;

	if (sa->req.task != TASK_NONE || sa->state == IKE_S_DEAD)
		return;
	if (sa->state != IKE_S_ESTABLISHED && sa->state != IKE_S_REKEYED &&
	    sa->state != IKE_S_DELETING)
		return;
	if (sa->pending & PEND_DELETE_IKE) {
		sa->pending &= ~PEND_DELETE_IKE;
		if (!x->delete_ike(sa))
			return;
		ike_sa_destroy_later(sa, "could not send Delete");
		return;
	}
	if (sa->state != IKE_S_ESTABLISHED)
		return;
	if (sa->pending & PEND_IKE_REKEY) {
		sa->pending &= ~PEND_IKE_REKEY;
		if (!x->ike_rekey(sa))
			return;
	}
	for (c = sa->children; c; c = c->next) {
		if (c->pending & CHILD_PEND_DELETE) {
			c->pending &= ~CHILD_PEND_DELETE;
			if (!x->delete_child(sa, c))
				return;
		}
	}
	for (c = sa->children; c; c = c->next) {
		if (c->pending & CHILD_PEND_REKEY) {
			c->pending &= ~CHILD_PEND_REKEY;
			if (c->state == CHILD_S_INSTALLED && !x->child_rekey(sa, c))
				return;
		}
	}
	if (sa->pending & PEND_CHILD) {
		sa->pending &= ~PEND_CHILD;
		if (x->child_pass(sa))
			return;
	}
	if (sa->pending & PEND_ESP_UDP) {
		sa->pending &= ~PEND_ESP_UDP;
		if (!x->esp_transport(sa))
			return;
	}
	if (sa->pending & PEND_DPD) {
		sa->pending &= ~PEND_DPD;
		x->dpd(sa);
	}
}

/* --- timers ------------------------------------------------------------------ */

static void dpd_fire(struct timer *t)
{
	struct ike_sa *sa = container_of(t, struct ike_sa, dpd_timer);
	uint64_t delay = (uint64_t)sa->cfg->dpd_delay_s * 1000, idle;

	if (!delay)
		return;
	idle = ike_now() - sa->last_rx_ms;
	if (idle >= delay) {
		/* §2.4: liveness check when nothing came for a while. */
		sa->pending |= PEND_DPD;
		ike_kick(sa);
		idle = 0;
	}
	timer_arm(sa->e->loop, &sa->dpd_timer, delay - idle, dpd_fire);
}

static void life_fire(struct timer *t)
{
	struct ike_sa *sa = container_of(t, struct ike_sa, life_timer);

	if (sa->state == IKE_S_HALF_OPEN || sa->state == IKE_S_INIT_SENT ||
	    sa->state == IKE_S_AUTH_SENT) {
		ike_sa_destroy(sa, "not established in time");
		return;
	}
	if (sa->state == IKE_S_ESTABLISHED) {
		log_info("%s: IKE SA rekey time reached", ike_sa_name(sa));
		sa->pending |= PEND_IKE_REKEY;
		ike_kick(sa);
	}
}

static void keepalive_fire(struct timer *t)
{
	struct ike_sa *sa = container_of(t, struct ike_sa, keepalive_timer);
	uint32_t iv = sa->cfg->keepalive_interval_s ? sa->cfg->keepalive_interval_s :
		      sa->e->cfg->daemon.keepalive_interval_s;
	const struct ike_path *ep = ike_esp_path(sa);

	/* RT-21/RT-22: on the ESP path, even while IKE runs over TCP. */
	if (ep->kind == XPORT_UDP4500 && sa->e->net)
		sa->e->net->keepalive(sa->e->net_ctx, &ep->local, &ep->remote);
	if (iv)
		timer_arm(sa->e->loop, &sa->keepalive_timer, (uint64_t)iv * 1000,
			  keepalive_fire);
}

void ike_rekey_later(struct ike_sa *sa, uint64_t ms)
{
	timer_arm(sa->e->loop, &sa->life_timer, ms, life_fire);
}

static void child_timer_fire(struct timer *t)
{
	struct ike_sa *sa = container_of(t, struct ike_sa, child_timer);

	if (sa->state != IKE_S_ESTABLISHED)
		return;
	/* A pass under way may be past the Child SA now due. */
	if (sa->child_from)
		sa->child_again = true;
	sa->pending |= PEND_CHILD;
	ike_kick(sa);
}

void child_wants_clear(struct ike_sa *sa)
{
	free(sa->wants);
	sa->wants = NULL;
	sa->n_wants = 0;
}

/* Never later than a pass already due. */
void ike_children_later(struct ike_sa *sa, uint64_t ms)
{
	if (timer_armed(&sa->child_timer) && sa->child_timer.due_ms <= ike_now() + ms)
		return;
	timer_arm(sa->e->loop, &sa->child_timer, ms, child_timer_fire);
}

void ike_schedule_timers(struct ike_sa *sa)
{
	struct loop *l = sa->e->loop;
	const struct ike_path *ep;
	uint32_t iv;

	if (sa->state == IKE_S_HALF_OPEN) {
		timer_arm(l, &sa->life_timer, HALF_OPEN_TIMEOUT_MS, life_fire);
		return;
	}
	if (sa->state != IKE_S_ESTABLISHED)
		return;
	timer_cancel(l, &sa->life_timer);
	if (sa->cfg->rekey_time_s) {
		/* A little jitter (up to 10 %) so both ends rarely collide. */
		uint64_t ms = (uint64_t)sa->cfg->rekey_time_s * 1000;
		uint32_t j = 0;

		crypto_random(&j, sizeof(j));
		ms -= ms / 10 * (j % 101) / 100;
		timer_arm(l, &sa->life_timer, ms, life_fire);
	}
	if (sa->cfg->dpd_delay_s)
		timer_arm(l, &sa->dpd_timer, (uint64_t)sa->cfg->dpd_delay_s * 1000, dpd_fire);
	/* RFC 3948 §4: the node behind the NAT keeps the mapping alive. */
	iv = sa->cfg->keepalive_interval_s ? sa->cfg->keepalive_interval_s :
	     sa->e->cfg->daemon.keepalive_interval_s;
	ep = ike_esp_path(sa);
	if (sa->nat_local && iv && ep->kind == XPORT_UDP4500 &&
	    !sa->kernel_keepalive && !timer_armed(&sa->keepalive_timer)) {
		struct kbackend *kb = sa->e->kb;

		if (kb && kb->ops->keepalive_set &&
		    !kb->ops->keepalive_set(kb, &ep->local, &ep->remote, iv)) {
			sa->kernel_keepalive = true;
			log_info("%s: NAT keepalives every %us from the kernel",
				 ike_sa_name(sa), iv);
		} else {
			timer_arm(l, &sa->keepalive_timer, (uint64_t)iv * 1000,
				  keepalive_fire);
			log_info("%s: NAT keepalives every %us from userspace",
				 ike_sa_name(sa), iv);
		}
	}
}

/*
 * A reload changed only timers of the SA's connection (sa->cfg is the new
 * one): DPD runs at the new interval, the rekey falls due at the new
 * rekey_time after establishment; retransmissions read sa->cfg each time.
 */
void ike_timers_reconfigured(struct ike_sa *sa)
{
	struct loop *l = sa->e->loop;
	uint64_t now = ike_now(), due;

	if (sa->state != IKE_S_ESTABLISHED)
		return;
	timer_cancel(l, &sa->dpd_timer);
	if (sa->cfg->dpd_delay_s)
		timer_arm(l, &sa->dpd_timer, (uint64_t)sa->cfg->dpd_delay_s * 1000, dpd_fire);
	timer_cancel(l, &sa->life_timer);
	if (sa->cfg->rekey_time_s) {
		due = sa->established_ms + (uint64_t)sa->cfg->rekey_time_s * 1000;
		timer_arm(l, &sa->life_timer, due > now ? due - now : 0, life_fire);
	}
}

static struct ike_sa *by_peer(const struct hnode *n, const struct id_cfg *id)
{
	for (; n; n = htab_next(n)) {
		struct ike_sa *o = container_of(n, struct ike_sa, id_node);

		if (config_id_equal(o->peer_id, id))
			return o;
	}
	return NULL;
}

struct ike_sa *ike_by_peer_first(struct engine *e, const struct id_cfg *id)
{
	return by_peer(htab_first(&e->peer_ids, config_id_hash(id)), id);
}

struct ike_sa *ike_by_peer_next(const struct ike_sa *o, const struct id_cfg *id)
{
	return by_peer(htab_next(&o->id_node), id);
}

void ike_sa_established(struct ike_sa *sa)
{
	char peer[64], idb[PEER_ID_STRLEN];

	ike_half_open_del(sa);
	sa->state = IKE_S_ESTABLISHED;
	/* Only the first add can fail (no bucket array): then unique and
	 * INITIAL_CONTACT would not see this SA, so it is said. */
	if (!sa->id_indexed && sa->peer_id) {
		if (htab_add(&sa->e->peer_ids, &sa->id_node, config_id_hash(sa->peer_id)))
			log_warn("%s: no memory to index the peer's identity: unique and INITIAL_CONTACT will not see this IKE SA",
				 ike_sa_name(sa));
		else
			sa->id_indexed = true;
	}
	if (sa->path.kind == XPORT_TCP)
		tcp_conn_proven(sa->path.conn);
	sa->established_ms = ike_now();
	sa->e->st.ike_established++;
	free_init_material(sa);
	log_info("%s: IKE SA established with %s port %u over %s, peer id %s%s",
		 ike_sa_name(sa), addr_str(&sa->path.remote, peer, sizeof(peer)),
		 addr_port(&sa->path.remote), xport_name(sa->path.kind), peer_id_str(sa, idb),
		 sa->nat_local ? " (we are behind a NAT)" :
		 sa->nat_remote ? " (peer is behind a NAT)" : "");
	ike_schedule_timers(sa);
}

/* --- intake ------------------------------------------------------------------- */

/*
 * §2.23: a peer behind a NAT may change address or port; the responder
 * follows it once a message authenticated.  Over TCP the latest
 * connection with a valid message is the one to answer on (TCP-26,
 * xport_rx).
 */
static void path_update(struct ike_sa *sa, const struct ike_rx *rx, bool request)
{
	struct ike_path *p = &sa->path;

	if (xport_rx(sa, rx, request))
		return;		/* TCP, or IKE on TCP (ike_xport.c) */
	if (!addr_port_eq(&p->remote, &rx->path.remote) || p->kind != rx->path.kind) {
		bool addr_moved = !addr_eq(&p->remote, &rx->path.remote);
		bool port_moved = addr_port(&p->remote) != addr_port(&rx->path.remote);

		if (!sa->nat_remote && !sa->nat_local && p->kind == rx->path.kind)
			return;
		if (addr_moved || port_moved) {
			char a[64];

			addr_str(&rx->path.remote, a, sizeof(a));
			log_info("%s: peer moved to %s port %u", ike_sa_name(sa), a,
				 addr_port(&rx->path.remote));
		}
		p->kind = rx->path.kind;
		p->remote = rx->path.remote;
		p->local = rx->path.local;
		/* A new NAT mapping on 4500: the Child SAs' ESP-in-UDP follows
		 * (RFC 3948), to new ports or, with their policies, to a new
		 * address (child_follow_path). */
		if ((port_moved || addr_moved) && p->kind == XPORT_UDP4500)
			child_follow_path(sa);
		else if (addr_moved && sa->children)
			log_warn("%s: peer address changed off UDP 4500: Child SAs keep the old one",
				 ike_sa_name(sa));
	}
}

/* Decrypts an SK message; *plain gets the inner chain. */
static int open_sk(struct ike_sa *sa, const struct ike_rx *rx,
		   const struct ike_msg *m, struct buf *plain)
{
	size_t sk_off = (size_t)(m->sk->body - rx->msg) - IKEV2_GENERIC_HDR_LEN;

	return crypto_sk_open(&sa->sk_in, rx->msg, rx->len, sk_off, false, plain);
}

/*
 * RFC 7383 §2.6: fragments are authenticated one by one and kept until all
 * of one message are in (skf: the SKF header, parsed by the caller).
 * Returns 1 when complete (plain has the chain, *first its first type), 0
 * while waiting, <0 to drop.
 */
static int frag_add(struct ike_sa *sa, const struct ike_rx *rx, const struct ike_msg *m,
		    const struct ike_skf *skf, struct buf *plain, uint8_t *first)
{
	struct engine *e = sa->e;
	struct buf p = BUF_INIT;
	size_t sk_off = (size_t)(m->sk->body - rx->msg) - IKEV2_GENERIC_HDR_LEN;
	uint32_t maxb = e->cfg->daemon.max_frag_buffers;
	uint64_t evicted;
	int r;

	if (skf->total > FRAG_MAX_TOTAL || (maxb && skf->total > maxb)) {
		log_warn_rl("%s: message in %u fragments: more than the limit, dropped",
			 ike_sa_name(sa), skf->total);
		return -E2BIG;
	}
	r = crypto_sk_open(&sa->sk_in, rx->msg, rx->len, sk_off, true, &p);
	if (r) {
		buf_wipe(&p);
		return r;
	}
	evicted = e->frags.evicted;
	r = frag_put(&e->frags, &sa->frag, m->hdr.msgid, skf->num, skf->total, m->sk_next, &p,
		     e->cfg->daemon.max_ike_message * 4u + 65536u, plain, first);
	if (e->frags.evicted != evicted)
		log_warn_rl("fragments of %llu incomplete messages dropped: more than max_frag_memory (%u bytes) held",
			    (unsigned long long)(e->frags.evicted - evicted),
			    e->cfg->daemon.max_frag_memory);
	if (r == 1)
		e->st.frags_reassembled++;
	return r;
}

/*
 * What tells a retransmission from another request with the same Message
 * ID (§2.1: a retransmission is the same message): SHA-256 of the request
 * as received, as strongSwan does.  Of a fragmented request, its first
 * fragment: RFC 7383 §2.6.1 answers a retransmitted fragmented request on
 * fragment 1 alone, without reassembling it again, so fragment 1 is all
 * there is to compare then (strongSwan hashes the first fragment too).
 */
static bool req_digest(const struct ike_rx *rx, uint8_t out[32])
{
	return !crypto_sha256(rx->msg, rx->len, out);
}

/* The request in hand (authenticated; whole or its fragment 1). */
static void req_note(struct ike_sa *sa, const struct ike_rx *rx, uint32_t msgid)
{
	sa->pend_req_ok = req_digest(rx, sa->pend_req_hash);
	sa->pend_req_msgid = msgid;
}

static void resend_response(struct ike_sa *sa, const struct ike_rx *rx,
			    const struct ike_msg *m)
{
	struct ike_skf skf;
	uint8_t h[32];

	/* RFC 7383 §2.6.1: answer a fragmented retransmission once, on its
	 * first fragment. */
	if (m->sk && m->sk->type == IKEV2_PL_SKF &&
	    (ike_get_skf(m->sk, &skf) || skf.num != 1))
		return;
	if (!sa->resp_req_ok || !req_digest(rx, h) ||
	    memcmp(h, sa->resp_req_hash, sizeof(h))) {
		log_info_rl("%s: request %u differs from the one answered with that Message ID: dropped, not answered again",
			    ike_sa_name(sa), m->hdr.msgid);
		sa->e->st.rx_bad++;	/* forged or corrupted: as a failed ICV */
		return;
	}
	xport_rx_retransmit(sa, rx);
	log_debug("%s: retransmitted request %u: resending response",
		  ike_sa_name(sa), m->hdr.msgid);
	send_set(sa, &sa->resp_cache);
}

/* The core's handlers of an encrypted exchange type, or NULL. */
static const struct exch_type *exch_type_of(const struct engine *e, uint8_t exch)
{
	const struct exch_type *t;

	if (exch < IKEV2_EXCH_IKE_AUTH || exch > IKEV2_EXCH_IKE_FOLLOWUP_KE)
		return NULL;
	t = &e->exch->types[exch - IKEV2_EXCH_IKE_AUTH];
	return t->rx_request ? t : NULL;
}

static void dispatch_request(struct ike_sa *sa, const struct ike_msg *m,
			     const struct ike_msg *inner, const uint8_t *plain)
{
	const struct exch_type *t = exch_type_of(sa->e, m->hdr.exch);

	if (!t) {
		log_info_rl("%s: request of exchange type %u not supported, dropped",
			    ike_sa_name(sa), m->hdr.exch);
		return;
	}
	if (t->half_open ? sa->state != IKE_S_HALF_OPEN || sa->initiator :
			   sa->state == IKE_S_HALF_OPEN) {
		log_debug("%s: %s request in the wrong state, dropped",
			  ike_sa_name(sa), ike_exch_name(m->hdr.exch));
		return;
	}
	t->rx_request(sa, m, inner, plain);
}

/*
 * §2.21.3: INVALID_SYNTAX returned for a request is fatal in both peers,
 * the IKE SA deleted without a Delete payload.  Once the IKE SA is up, a
 * protected response to any request of ours that carries it ends the SA
 * here, before the exchange's handler (IKE_AUTH's and IKE_INTERMEDIATE's
 * errors end the unfinished SA there, §2.21.2).  True: sa is gone.
 */
static bool response_syntax_fatal(struct ike_sa *sa, const struct ike_msg *inner)
{
	if (sa->state < IKE_S_ESTABLISHED || ike_first_error(inner) != IKEV2_N_INVALID_SYNTAX)
		return false;
	log_warn("%s: our %s request answered INVALID_SYNTAX: the IKE SA ends without a Delete "
		 "(RFC 7296 2.21.3)", ike_sa_name(sa), ike_exch_name(sa->req.exch));
	ike_sa_destroy(sa, "INVALID_SYNTAX is fatal in both peers (RFC 7296 2.21.3)");
	return true;
}

/* An unknown critical payload inside SK (§2.5), or a malformed chain;
 * INVALID_SYNTAX to the request ends the IKE SA (§2.21.3). */
static void inner_error(struct ike_sa *sa, const struct ike_msg *m,
			const struct ike_msg *inner, bool request)
{
	log_warn("%s: bad payloads in %s %s: %s", ike_sa_name(sa),
		 ike_exch_name(m->hdr.exch), request ? "request" : "response",
		 inner->why ? inner->why : "malformed");
	if (request) {
		uint8_t t = inner->critical_type;

		if (inner->err == IKE_PERR_CRITICAL)
			ike_respond_notify(sa, m->hdr.exch, m->hdr.msgid,
					   IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1);
		else
			ike_respond_notify(sa, m->hdr.exch, m->hdr.msgid,
					   IKEV2_N_INVALID_SYNTAX, NULL, 0);
		/* The initial exchanges end with their error (§2.21.1, and
		 * RFC 9242 §3.4 for IKE_INTERMEDIATE). */
		if (m->hdr.exch == IKEV2_EXCH_IKE_AUTH ||
		    (m->hdr.exch == IKEV2_EXCH_IKE_INTERMEDIATE &&
		     sa->state == IKE_S_HALF_OPEN))
			ike_sa_destroy(sa, "initial exchange's request malformed");
		return;
	}
	/* A malformed response ends the exchange and the SA (§2.21.1). */
	ike_sa_destroy(sa, "malformed response");
}

static void rx_encrypted(struct engine *e, const struct ike_rx *rx,
			 const struct ike_msg *m)
{
	const struct ike_hdr *h = &m->hdr;
	bool sender_is_orig_init = h->flags & IKEV2_FLAG_INITIATOR;
	bool response = h->flags & IKEV2_FLAG_RESPONSE;
	const uint8_t *spi = sender_is_orig_init ? h->spi_r : h->spi_i;
	struct ike_msg *inner = NULL;
	struct ike_rx_sk rx_sk;
	struct buf plain = BUF_INIT;
	struct ike_sa *sa = ike_sa_by_spi(e, spi);
	uint8_t first = 0;
	int r;

	if (!sa || sa->state == IKE_S_DEAD || !sa->keyed) {
		log_debug("message for an unknown IKE SA (exchange %s), dropped",
			  ike_exch_name(h->exch));
		e->st.rx_dropped++;
		return;
	}
	/* The sender's role must be the opposite of ours (§3.1). */
	if (sender_is_orig_init == sa->initiator ||
	    memcmp(sa->initiator ? h->spi_r : h->spi_i,
		   sa->initiator ? sa->spi_r : sa->spi_i, 8)) {
		e->st.rx_dropped++;
		return;
	}
	if (!m->sk) {
		/* §3.14: everything after IKE_SA_INIT is protected. */
		log_debug("%s: unprotected %s dropped", ike_sa_name(sa),
			  ike_exch_name(h->exch));
		e->st.rx_dropped++;
		return;
	}
	if (response) {
		if (sa->req.task == TASK_NONE || h->msgid != sa->req.msgid ||
		    h->exch != sa->req.exch) {
			e->st.rx_dropped++;
			return;
		}
	} else {
		if (sa->resp_cached && h->msgid == sa->resp_cache_msgid &&
		    h->msgid + 1 == sa->peer_msgid) {
			resend_response(sa, rx, m);
			return;
		}
		if (h->msgid != sa->peer_msgid) {
			log_debug("%s: request %u outside the window (expected %u), dropped",
				  ike_sa_name(sa), h->msgid, sa->peer_msgid);
			e->st.rx_dropped++;
			return;
		}
	}
	if (m->sk->type == IKEV2_PL_SKF) {
		struct ike_skf skf;

		r = ike_get_skf(m->sk, &skf) ? -EBADMSG : frag_add(sa, rx, m, &skf, &plain, &first);
		if (r >= 0 && skf.num == 1)
			sa->frag_sk_flags = m->sk->flags;
		if (r >= 0 && !response && skf.num == 1)
			req_note(sa, rx, h->msgid);
		if (r <= 0) {
			if (r < 0 && r != -EALREADY) {
				log_debug("%s: fragment dropped: %s", ike_sa_name(sa),
					  strerror(-r));
				e->st.rx_bad++;
			}
			buf_wipe(&plain);
			return;
		}
	} else {
		r = open_sk(sa, rx, m, &plain);
		if (r) {
			/* §2.21.2: an integrity failure is dropped silently. */
			log_debug("%s: %s %s failed to decrypt (%s), dropped",
				  ike_sa_name(sa), ike_exch_name(h->exch),
				  response ? "response" : "request", strerror(-r));
			e->st.rx_bad++;
			buf_wipe(&plain);
			return;
		}
		first = m->sk_next;
		if (!response)
			req_note(sa, rx, h->msgid);
	}
	sa->stats_rx++;
	sa->last_rx_ms = ike_now();
	path_update(sa, rx, !response);
	inner = calloc(1, sizeof(*inner));
	if (!inner) {
		buf_wipe(&plain);
		return;
	}
	sa->syntax_fatal = false;	/* of this message only (§2.21.3) */
	if (ike_chain_parse(first, plain.data, plain.len, inner)) {
		inner_error(sa, m, inner, !response);
		goto out;
	}
	trace_rx(e, sa, rx, m, inner);
	rx_sk = (struct ike_rx_sk){
		.m = m, .plain = plain.data, .plain_len = plain.len, .first = first,
		.sk_flags = m->sk->type == IKEV2_PL_SKF ? sa->frag_sk_flags : m->sk->flags,
		.fragmented = m->sk->type == IKEV2_PL_SKF,
	};
	sa->rx_sk = &rx_sk;
	if (response) {
		/* of the request's type: checked above */
		const struct exch_type *t = exch_type_of(e, sa->req.exch);

		if (t && !response_syntax_fatal(sa, inner))
			t->rx_response(sa, inner);
	} else {
		dispatch_request(sa, m, inner, plain.data);
	}
out:
	syntax_fatal_end(sa, h->exch);
	free(inner);
	buf_wipe(&plain);
}

/* What handlers destroyed while the message was in hand goes now. */
static void rx_done(struct engine *e)
{
	struct ike_sa *sa;

	if (--e->rx_depth)
		return;
	while ((sa = e->dead)) {
		e->dead = sa->next;
		OPENSSL_cleanse(sa, sizeof(*sa));
		free(sa);
	}
}

static void rx_one(struct engine *e, const struct ike_rx *rx)
{
	struct ike_msg *m = calloc(1, sizeof(*m));
	char a[64];

	if (!m)
		return;
	e->st.rx++;
	if (ike_msg_parse(rx->msg, rx->len, m)) {
		e->st.rx_bad++;
		addr_str(&rx->path.remote, a, sizeof(a));
		log_debug("malformed IKE message from %s: %s", a,
			  m->why ? m->why : "?");
		/* Only an IKE_SA_INIT request can be answered unprotected
		 * (§2.21.1); init_rx_request does that. */
		if (m->err >= IKE_PERR_VERSION && m->hdr.exch == IKEV2_EXCH_IKE_SA_INIT &&
		    !(m->hdr.flags & IKEV2_FLAG_RESPONSE))
			e->exch->init_rx_request(e, rx, m);
		free(m);
		return;
	}
	if (m->hdr.exch == IKEV2_EXCH_IKE_SA_INIT) {
		trace_rx(e, ike_sa_by_spi(e, m->hdr.spi_i), rx, m, NULL);
		if (!(m->hdr.flags & IKEV2_FLAG_RESPONSE)) {
			e->exch->init_rx_request(e, rx, m);
		} else {
			struct ike_sa *sa = ike_sa_by_spi(e, m->hdr.spi_i);

			if (sa && sa->initiator && sa->state == IKE_S_INIT_SENT &&
			    m->hdr.msgid == 0 && !(m->hdr.flags & IKEV2_FLAG_INITIATOR))
				e->exch->init_rx_response(sa, rx, m);
			else
				e->st.rx_dropped++;
		}
	} else {
		rx_encrypted(e, rx, m);
	}
	free(m);
}

void engine_rx(void *ctx, const struct ike_rx *rx)
{
	struct engine *e = ctx;

	e->rx_depth++;
	rx_one(e, rx);
	rx_done(e);
}
