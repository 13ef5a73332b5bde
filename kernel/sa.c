// SPDX-License-Identifier: GPL-2.0
/*
 * SAs: validated parameters -> an ordinary xfrm_state, created the way
 * net/xfrm/xfrm_user.c and net/key/af_key.c create theirs (audit record,
 * key-manager notification), and recorded as owned by the module.
 *
 * A record holds a reference on its state: "ours" means that very state,
 * never another one with the same SPI, destination and mark (ip xfrm can
 * make one after ours is gone).  A record lives until the module deletes
 * its state, the kernel deletes it at hard expiry, someone else deletes or
 * flushes it (the key-manager notifications, events.c), or the namespace
 * goes; each holds a reference on the module, so the module cannot be
 * unloaded while it owns a state (unloading would leave traffic in clear).
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/udp.h>
#include <net/addrconf.h>
#include <net/route.h>
#include <net/xfrm.h>

#include "compat.h"
#include "tcpike.h"

static const struct rhashtable_params sa_ht_params = {
	.key_len = sizeof(struct tcpike_sa_key),
	.key_offset = offsetof(struct tcpike_sa, id.key),
	.head_offset = offsetof(struct tcpike_sa, hnode),
	.automatic_shrinking = true,
};

static const struct rhashtable_params sa_pair_params = {
	.key_len = sizeof(struct tcpike_pair_key),
	.key_offset = offsetof(struct tcpike_sa, pair),
	.head_offset = offsetof(struct tcpike_sa, pnode),
	.automatic_shrinking = true,
};

int tcpike_sa_init(struct tcpike_net *tn)
{
	int err;

	INIT_LIST_HEAD(&tn->sas);
	err = rhashtable_init(&tn->sa_ht, &sa_ht_params);
	if (err)
		return err;
	err = rhltable_init(&tn->sa_pair_ht, &sa_pair_params);
	if (err)
		rhashtable_destroy(&tn->sa_ht);
	return err;
}

/* After tcpike_sa_forget_all(): the tables are empty. */
void tcpike_sa_fini(struct tcpike_net *tn)
{
	rhltable_destroy(&tn->sa_pair_ht);
	rhashtable_destroy(&tn->sa_ht);
}

void tcpike_sa_key(struct tcpike_sa_key *k, unsigned short family,
		   const xfrm_address_t *daddr, __be32 spi)
{
	memset(k, 0, sizeof(*k));
	if (family == AF_INET)
		k->daddr.a4 = daddr->a4;
	else
		k->daddr.in6 = daddr->in6;
	k->spi = spi;
	k->family = family;
}

static void pair_key(struct tcpike_pair_key *k, unsigned short family,
		     const xfrm_address_t *saddr, const xfrm_address_t *daddr)
{
	memset(k, 0, sizeof(*k));
	if (family == AF_INET) {
		k->saddr.a4 = saddr->a4;
		k->daddr.a4 = daddr->a4;
	} else {
		k->saddr.in6 = saddr->in6;
		k->daddr.in6 = daddr->in6;
	}
	k->family = family;
}

static bool state_dead(const struct xfrm_state *x)
{
	return READ_ONCE(x->km.state) == XFRM_STATE_DEAD;
}

/* Caller holds own_lock. */
static struct tcpike_sa *sa_find(struct tcpike_net *tn, const struct tcpike_sa_key *k)
{
	return rhashtable_lookup_fast(&tn->sa_ht, k, sa_ht_params);
}

/* Caller holds own_lock: the record of exactly x, or NULL. */
static struct tcpike_sa *sa_of(struct tcpike_net *tn, const struct xfrm_state *x)
{
	struct tcpike_sa_key k;
	struct tcpike_sa *s;

	if (tn->dead || x->id.proto != IPPROTO_ESP)
		return NULL;
	tcpike_sa_key(&k, x->props.family, &x->id.daddr, x->id.spi);
	s = sa_find(tn, &k);
	return s && s->x == x ? s : NULL;
}

/* A record for x (taking a reference on it and on the module), not yet
 * in the tables; NULL when out of memory or the module is going.
 */
static struct tcpike_sa *sa_alloc(struct xfrm_state *x)
{
	struct tcpike_sa *s;

	if (!try_module_get(THIS_MODULE))
		return NULL;
	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s) {
		module_put(THIS_MODULE);
		return NULL;
	}
	tcpike_sa_key(&s->id.key, x->props.family, &x->id.daddr, x->id.spi);
	s->id.reqid = x->props.reqid;
	s->id.mark = x->mark;
	pair_key(&s->pair, x->props.family, &x->props.saddr, &x->id.daddr);
	xfrm_state_hold(x);
	s->x = x;
	return s;
}

/* Drops what the record holds (any context, own_lock or not). */
static void sa_release(struct tcpike_sa *s)
{
	xfrm_state_put(s->x);
	module_put(THIS_MODULE);
	kfree_rcu(s, rcu);
}

/* Caller holds own_lock; s is then released with sa_release(). */
static void sa_unlink(struct tcpike_net *tn, struct tcpike_sa *s)
{
	rhashtable_remove_fast(&tn->sa_ht, &s->hnode, sa_ht_params);
	rhltable_remove(&tn->sa_pair_ht, &s->pnode, sa_pair_params);
	list_del(&s->node);
	tn->nr_sas--;
	tn->sa_gen++;
}

/*
 * Caller holds tn->lock.  Records own.  A record of the same SA whose
 * state is dead (deleted by someone else and not yet noticed) gives way
 * and is left in *stale for the caller to report and release; -EEXIST
 * when the live state is ours.  A live state of someone else's with the
 * same identity makes xfrm_state_add() fail afterwards.
 */
static int sa_record(struct tcpike_net *tn, struct tcpike_sa *own, struct tcpike_sa **stale)
{
	struct tcpike_sa *old;
	int err;

	*stale = NULL;
	spin_lock_bh(&tn->own_lock);
	old = sa_find(tn, &own->id.key);
	if (old && !state_dead(old->x)) {
		spin_unlock_bh(&tn->own_lock);
		return -EEXIST;
	}
	if (old) {
		sa_unlink(tn, old);
		*stale = old;
	}
	err = rhashtable_insert_fast(&tn->sa_ht, &own->hnode, sa_ht_params);
	if (!err) {
		err = rhltable_insert(&tn->sa_pair_ht, &own->pnode, sa_pair_params);
		if (err)
			rhashtable_remove_fast(&tn->sa_ht, &own->hnode, sa_ht_params);
	}
	if (!err) {
		list_add_tail(&own->node, &tn->sas);
		tn->nr_sas++;
		tn->sa_gen++;
	}
	spin_unlock_bh(&tn->own_lock);
	return err;
}

bool tcpike_sa_ours(struct tcpike_net *tn, const struct xfrm_state *x)
{
	bool ours;

	spin_lock_bh(&tn->own_lock);
	ours = sa_of(tn, x);
	spin_unlock_bh(&tn->own_lock);
	return ours;
}

bool tcpike_sa_forget(struct tcpike_net *tn, const struct xfrm_state *x)
{
	struct tcpike_sa *s;

	spin_lock_bh(&tn->own_lock);
	s = sa_of(tn, x);
	if (s)
		sa_unlink(tn, s);
	spin_unlock_bh(&tn->own_lock);
	if (s)
		sa_release(s);	/* the caller still holds x */
	return s;
}

bool tcpike_sa_known(struct tcpike_net *tn, unsigned short family,
		     const xfrm_address_t *daddr, __be32 spi)
{
	struct xfrm_state *x;
	struct tcpike_sa_key k;

	tcpike_sa_key(&k, family, daddr, spi);
	x = tcpike_sa_get(tn, &k);
	if (x)
		xfrm_state_put(x);
	return x;
}

/* The live state of the record with key k, with a reference, or NULL.  A
 * dead one (someone else deleted it, and no notification named it yet)
 * asks gone_work to drop the record.
 */
struct xfrm_state *tcpike_sa_get(struct tcpike_net *tn, const struct tcpike_sa_key *k)
{
	struct xfrm_state *x = NULL;
	struct tcpike_sa *s;

	spin_lock_bh(&tn->own_lock);
	s = tn->dead ? NULL : sa_find(tn, k);
	if (s && state_dead(s->x)) {
		tn->gone_flags |= TCPIKE_GONE_SA_SCAN;
		schedule_work(&tn->gone_work);
	} else if (s) {
		x = s->x;
		xfrm_state_hold(x);
	}
	spin_unlock_bh(&tn->own_lock);
	return x;
}

static int attach_aead(struct xfrm_state *x, const struct tcpike_sa_params *p,
		       struct netlink_ext_ack *extack)
{
	struct xfrm_algo_desc *desc;
	struct xfrm_algo_aead *a;
	unsigned int key_bits;
	bool ok;

	desc = xfrm_aead_get_byname((char *)p->aead_name, p->aead_icv_bits, 1);
	if (!desc) {
		NL_SET_ERR_MSG_MOD(extack, "unknown AEAD algorithm or ICV length");
		return -ENOENT;
	}
	/* Key length includes the 4-byte salt (RFC 4106 §8.1, RFC 7634 §2).
	 * The kernel's table has no key sizes for ChaCha20-Poly1305.
	 */
	key_bits = p->enc_key_len * 8;
	if (!strcmp(desc->name, "rfc7539esp(chacha20,poly1305)"))
		ok = key_bits == 256 + 32;
	else
		ok = key_bits >= 32 + desc->desc.sadb_alg_minbits &&
		     key_bits <= 32 + desc->desc.sadb_alg_maxbits &&
		     (key_bits == 32 + 128 || key_bits == 32 + 192 || key_bits == 32 + 256);
	if (!ok) {
		NL_SET_ERR_MSG_MOD(extack,
				   "key length does not fit the AEAD algorithm (key + 4-byte salt)");
		return -EINVAL;
	}
	a = kzalloc(sizeof(*a) + p->enc_key_len, GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	strscpy(a->alg_name, desc->name, sizeof(a->alg_name));
	a->alg_key_len = key_bits;
	a->alg_icv_len = p->aead_icv_bits;
	memcpy(a->alg_key, p->enc_key, p->enc_key_len);
	x->aead = a;
	x->props.ealgo = desc->desc.sadb_alg_id;
	x->geniv = desc->uinfo.aead.geniv;
	return 0;
}

static int attach_enc_auth(struct xfrm_state *x, const struct tcpike_sa_params *p,
			   struct netlink_ext_ack *extack)
{
	struct xfrm_algo_desc *edesc, *adesc;
	struct xfrm_algo_auth *a;
	struct xfrm_algo *e;
	unsigned int ebits = p->enc_key_len * 8, abits = p->auth_key_len * 8;

	edesc = xfrm_ealg_get_byname((char *)p->enc_name, 1);
	if (!edesc) {
		NL_SET_ERR_MSG_MOD(extack, "unknown encryption algorithm");
		return -ENOENT;
	}
	adesc = xfrm_aalg_get_byname((char *)p->auth_name, 1);
	if (!adesc) {
		NL_SET_ERR_MSG_MOD(extack, "unknown integrity algorithm");
		return -ENOENT;
	}
	if (ebits < edesc->desc.sadb_alg_minbits || ebits > edesc->desc.sadb_alg_maxbits ||
	    (ebits != 128 && ebits != 192 && ebits != 256)) {
		NL_SET_ERR_MSG_MOD(extack, "key length does not fit the encryption algorithm");
		return -EINVAL;
	}
	if (abits < adesc->desc.sadb_alg_minbits || abits > adesc->desc.sadb_alg_maxbits) {
		NL_SET_ERR_MSG_MOD(extack, "key length does not fit the integrity algorithm");
		return -EINVAL;
	}
	/* RFC 4868: truncation to half the hash, never above the full hash. */
	if (p->auth_trunc_bits < adesc->uinfo.auth.icv_truncbits ||
	    p->auth_trunc_bits > adesc->uinfo.auth.icv_fullbits) {
		NL_SET_ERR_MSG_MOD(extack,
				   "truncation length out of range for the integrity algorithm");
		return -EINVAL;
	}
	e = kzalloc(sizeof(*e) + p->enc_key_len, GFP_KERNEL);
	a = kzalloc(sizeof(*a) + p->auth_key_len, GFP_KERNEL);
	if (!e || !a) {
		kfree_sensitive(e);
		kfree_sensitive(a);
		return -ENOMEM;
	}
	strscpy(e->alg_name, edesc->name, sizeof(e->alg_name));
	e->alg_key_len = ebits;
	memcpy(e->alg_key, p->enc_key, p->enc_key_len);
	strscpy(a->alg_name, adesc->name, sizeof(a->alg_name));
	a->alg_key_len = abits;
	a->alg_trunc_len = p->auth_trunc_bits;
	memcpy(a->alg_key, p->auth_key, p->auth_key_len);
	x->ealg = e;
	x->props.ealgo = edesc->desc.sadb_alg_id;
	x->geniv = edesc->uinfo.encr.geniv;
	x->aalg = a;
	x->props.aalgo = adesc->desc.sadb_alg_id;
	return 0;
}

/* Anti-replay state: with ESN, or with a window wider than the legacy
 * 32-bit bitmap, the kernel uses the bitmap of xfrm_replay_state_esn.
 */
static int attach_replay(struct xfrm_state *x, const struct tcpike_sa_params *p)
{
	struct xfrm_replay_state_esn *r, *pr;
	unsigned int words, len;

	if (!(p->flags & TCPIKE_SA_F_ESN) && p->replay_window <= 32) {
		x->props.replay_window = p->replay_window;
		return 0;
	}
	words = DIV_ROUND_UP(p->replay_window ?: 1, 32);
	len = sizeof(*r) + words * sizeof(__u32);
	r = kzalloc(len, GFP_KERNEL);
	pr = kzalloc(len, GFP_KERNEL);
	if (!r || !pr) {
		kfree(r);
		kfree(pr);
		return -ENOMEM;
	}
	r->bmp_len = words;
	r->replay_window = p->replay_window;
	memcpy(pr, r, len);
	x->replay_esn = r;
	x->preplay_esn = pr;
	/* As xfrm_user requires of a state with XFRMA_REPLAY_ESN_VAL
	 * (verify_replay): the legacy window is 0, the bitmap's is the one.
	 */
	x->props.replay_window = 0;
	if (p->flags & TCPIKE_SA_F_ESN)
		x->props.flags |= XFRM_STATE_ESN;
	return 0;
}

/*
 * ESP in TCP: the kernel must have espintcp for the family, and the
 * namespace must hold the TCP connection between the SA's addresses and
 * ports with the espintcp ULP (RFC 9329 §3: the IKE peers' connection, set
 * up by the daemon), or the SA could never send.  The SA may be outbound
 * (its source is the local end) or inbound (its destination is), so both
 * orientations are looked up.
 */
static int check_espintcp(struct net *net, unsigned short family, const xfrm_address_t *saddr,
			  const xfrm_address_t *daddr, __be16 sport, __be16 dport,
			  struct netlink_ext_ack *extack)
{
	struct sock *sk;
	bool ulp;

	if (!tcpike_have_espintcp(family)) {
		if (family == AF_INET)
			NL_SET_ERR_MSG_MOD(extack,
					   "this kernel has no ESP in TCP (built without CONFIG_INET_ESPINTCP)");
		else
			NL_SET_ERR_MSG_MOD(extack,
					   "this kernel has no ESP in TCP for IPv6 (built without CONFIG_INET6_ESPINTCP)");
		return -EOPNOTSUPP;
	}
	rcu_read_lock();
	sk = tcpike_tcp_lookup(net, family, daddr, dport, saddr, sport);
	if (!sk)
		sk = tcpike_tcp_lookup(net, family, saddr, sport, daddr, dport);
	rcu_read_unlock();
	if (!sk || !sk_fullsock(sk) || sk->sk_state != TCP_ESTABLISHED) {
		if (sk)
			sock_gen_put(sk);
		NL_SET_ERR_MSG_MOD(extack,
				   "no established TCP connection between the SA's addresses and ports");
		return -ENOTCONN;
	}
	ulp = tcpike_sk_is_espintcp(sk);
	sock_gen_put(sk);
	if (!ulp) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the TCP connection of the SA does not have the espintcp ULP (TCP_ULP \"espintcp\")");
		return -ENOPROTOOPT;
	}
	return 0;
}

/* The encapsulation of a state being built: RFC 3948 ESP-in-UDP or RFC
 * 9329 ESP-in-TCP (espintcp); esp_init_state sizes headers from it.  For
 * TCP the ports name the connection: esp_output looks up the established
 * socket daddr:dport -> saddr:sport and hands it the packet.
 */
static int set_encap(struct xfrm_state *x, u8 encap, __be16 sport, __be16 dport)
{
	if (encap == TCPIKE_ENCAP_RAW)
		return 0;
	x->encap = kzalloc(sizeof(*x->encap), GFP_KERNEL);
	if (!x->encap)
		return -ENOMEM;
	x->encap->encap_type = encap == TCPIKE_ENCAP_TCP ? TCP_ENCAP_ESPINTCP : UDP_ENCAP_ESPINUDP;
	x->encap->encap_sport = sport;
	x->encap->encap_dport = dport;
	/* NAT mapping reports (km_new_mapping): at most one per
	 * TCPIKE_MAPPING_MAXAGE seconds unless the port changes again, not
	 * one per packet.
	 */
	x->mapping_maxage = TCPIKE_MAPPING_MAXAGE;
	return 0;
}

/* The kernel's own checks and initialisation of a built state. */
static int sa_init(struct xfrm_state *x, struct netlink_ext_ack *extack)
{
	int err = __xfrm_init_state(x, true, false, extack);

	if (err) {
		if (!extack || !extack->_msg)
			NL_SET_ERR_MSG_MOD(extack, "the kernel refused the SA parameters");
		return err;
	}
	x->km.state = XFRM_STATE_VALID;
	return 0;
}

static void sa_discard(struct xfrm_state *x)
{
	x->km.state = XFRM_STATE_DEAD;
	xfrm_state_put(x);
}

/* An initialised, not yet inserted state from p, or an ERR_PTR. */
static struct xfrm_state *sa_build(struct net *net, const struct tcpike_sa_params *p,
				   struct netlink_ext_ack *extack)
{
	struct xfrm_state *x;
	int err;

	if (p->encap == TCPIKE_ENCAP_TCP) {
		err = check_espintcp(net, p->family, &p->saddr, &p->daddr, p->encap_sport,
				     p->encap_dport, extack);
		if (err)
			return ERR_PTR(err);
	}
	x = xfrm_state_alloc(net);
	if (!x)
		return ERR_PTR(-ENOMEM);
	x->id.proto = IPPROTO_ESP;
	x->id.spi = p->spi;
	x->id.daddr = p->daddr;
	x->props.saddr = p->saddr;
	x->props.family = p->family;
	x->props.mode = p->mode == TCPIKE_MODE_TRANSPORT ? XFRM_MODE_TRANSPORT :
							   XFRM_MODE_TUNNEL;
	x->props.reqid = p->reqid;
	/* XFRMA_MARK and XFRMA_IF_ID semantics: inbound, the state is found
	 * for packets with (skb->mark & m) == v; outbound, for policies whose
	 * mark selects it; if_id ties it to an xfrm interface.
	 */
	x->mark = p->mark;
	x->if_id = p->if_id;
	/* The selector is left open (family only): the policies decide what
	 * traffic uses the SA, as with a tunnel installed by iproute2.
	 */
	x->sel.family = p->family;
	/* Lifetimes: 0 means none (XFRM_INF, as xfrm_state_alloc left it). */
	if (p->soft_bytes)
		x->lft.soft_byte_limit = p->soft_bytes;
	if (p->hard_bytes)
		x->lft.hard_byte_limit = p->hard_bytes;
	if (p->soft_packets)
		x->lft.soft_packet_limit = p->soft_packets;
	if (p->hard_packets)
		x->lft.hard_packet_limit = p->hard_packets;
	x->lft.soft_add_expires_seconds = p->soft_seconds;
	x->lft.hard_add_expires_seconds = p->hard_seconds;
	x->replay_maxdiff = net->xfrm.sysctl_aevent_rseqth;
	x->replay_maxage = (net->xfrm.sysctl_aevent_etime * HZ) / XFRM_AE_ETH_M;

	err = set_encap(x, p->encap, p->encap_sport, p->encap_dport) ?:
	      (p->aead_name ? attach_aead(x, p, extack) : attach_enc_auth(x, p, extack)) ?:
	      attach_replay(x, p) ?:
	      sa_init(x, extack);
	if (err) {
		sa_discard(x);
		return ERR_PTR(err);
	}
	return x;
}

/* What xfrm_user tells the other key managers (ip xfrm monitor). */
static void sa_notify(struct xfrm_state *x, int event)
{
	struct km_event c = { .event = event, .net = xs_net(x) };

	km_state_notify(x, &c);
}

int tcpike_sa_create(struct net *net, const struct tcpike_sa_params *p,
		     struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_sa *own, *stale;
	struct xfrm_state *x;
	int err;

	x = sa_build(net, p, extack);
	if (IS_ERR(x))
		return PTR_ERR(x);
	own = sa_alloc(x);
	if (!own) {
		sa_discard(x);
		NL_SET_ERR_MSG_MOD(extack,
				   "no memory to record the SA, or the module is being unloaded");
		return -ENOMEM;
	}

	mutex_lock(&tn->lock);
	/* Owned before it is visible, so an event for it is never missed. */
	err = sa_record(tn, own, &stale);
	if (err) {
		mutex_unlock(&tn->lock);
		if (err == -EEXIST)
			NL_SET_ERR_MSG_MOD(extack, "an SA with this SPI and destination exists");
		else
			NL_SET_ERR_MSG_MOD(extack, "no memory to record the SA");
		goto err_release;
	}
	if (stale) {
		tcpike_event_sa_deleted(tn, stale->x, TCPIKE_DEL_VANISHED, GFP_KERNEL);
		sa_release(stale);
	}
	xfrm_state_hold(x);	/* for after the add: the table takes ours */
	err = xfrm_state_add(x);
	xfrm_audit_state_add(x, err ? 0 : 1, true);
	if (err) {
		spin_lock_bh(&tn->own_lock);
		sa_unlink(tn, own);
		spin_unlock_bh(&tn->own_lock);
		mutex_unlock(&tn->lock);
		__xfrm_state_put(x);
		if (err == -EEXIST)
			NL_SET_ERR_MSG_MOD(extack, "an SA with this SPI and destination exists");
		else
			NL_SET_ERR_MSG_MOD(extack, "the kernel refused to add the SA");
		goto err_release;
	}
	spin_lock_bh(&tn->own_lock);
	tn->sa_created++;
	spin_unlock_bh(&tn->own_lock);
	mutex_unlock(&tn->lock);
	sa_notify(x, XFRM_MSG_NEWSA);
	xfrm_state_put(x);
	return 0;

err_release:
	sa_release(own);
	sa_discard(x);
	return err;
}

struct xfrm_state *tcpike_sa_lookup(struct net *net, unsigned short family,
				    const xfrm_address_t *daddr, __be32 spi,
				    struct netlink_ext_ack *extack)
{
	struct tcpike_sa_key k;
	struct xfrm_state *x;

	tcpike_sa_key(&k, family, daddr, spi);
	x = tcpike_sa_get(tcpike_pernet(net), &k);
	if (!x)
		NL_SET_ERR_MSG_MOD(extack,
				   "no SA with this SPI and destination was created by tcpike");
	return x;
}

int tcpike_sa_delete(struct net *net, unsigned short family,
		     const xfrm_address_t *daddr, __be32 spi,
		     struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct xfrm_state *x = NULL;
	struct tcpike_sa_key k;
	struct tcpike_sa *s;
	int err = -ENOENT;

	tcpike_sa_key(&k, family, daddr, spi);
	mutex_lock(&tn->lock);
	spin_lock_bh(&tn->own_lock);
	s = sa_find(tn, &k);
	if (s) {
		sa_unlink(tn, s);
		x = s->x;
		xfrm_state_hold(x);
	}
	spin_unlock_bh(&tn->own_lock);
	if (s) {
		sa_release(s);
		err = xfrm_state_delete(x);
		xfrm_audit_state_delete(x, err ? 0 : 1, true);
		if (!err) {
			sa_notify(x, XFRM_MSG_DELSA);
			spin_lock_bh(&tn->own_lock);
			tn->sa_deleted++;
			spin_unlock_bh(&tn->own_lock);
		} else {
			/* Dead already: someone else deleted it first. */
			tcpike_event_sa_deleted(tn, x, TCPIKE_DEL_VANISHED, GFP_KERNEL);
			err = -ENOENT;
		}
		xfrm_state_put(x);
	}
	mutex_unlock(&tn->lock);
	if (err)
		NL_SET_ERR_MSG_MOD(extack,
				   "no SA with this SPI and destination was created by tcpike");
	return err;
}

/*
 * Namespace exit (marked dead first, so no callback touches the tables):
 * the records go, the states stay for XFRM's own exit, which runs after
 * this module's and flushes every state of the namespace.
 */
void tcpike_sa_forget_all(struct tcpike_net *tn)
{
	struct tcpike_sa *s, *tmp;
	LIST_HEAD(gone);

	spin_lock_bh(&tn->own_lock);
	list_for_each_entry_safe(s, tmp, &tn->sas, node) {
		sa_unlink(tn, s);
		list_add_tail(&s->node, &gone);
	}
	spin_unlock_bh(&tn->own_lock);
	list_for_each_entry_safe(s, tmp, &gone, node)
		sa_release(s);
}

/* gone_work: the records whose state is dead are dropped and reported. */
void tcpike_sa_drop_dead(struct tcpike_net *tn, u8 reason)
{
	struct tcpike_sa *s, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&tn->lock);
	spin_lock_bh(&tn->own_lock);
	list_for_each_entry_safe(s, tmp, &tn->sas, node) {
		if (!state_dead(s->x))
			continue;
		sa_unlink(tn, s);
		list_add_tail(&s->node, &gone);
	}
	spin_unlock_bh(&tn->own_lock);
	mutex_unlock(&tn->lock);
	list_for_each_entry_safe(s, tmp, &gone, node) {
		tcpike_event_sa_deleted(tn, s->x, reason, GFP_KERNEL);
		sa_release(s);
	}
}

/*
 * Keepalives (keepalive.c) are not sent for a peer an SA of ours sent ESP
 * to within the interval: x->lastused is the wall-clock second of the
 * state's last packet (xfrm_output, 6.9 and later), and an outbound state
 * has only those; on older kernels a change of its packet count since the
 * walk's last look stands in for it.
 */
bool tcpike_sa_sent_lately(struct tcpike_net *tn, __be32 saddr, __be32 daddr,
			   __be16 sport, __be16 dport, u32 interval_s)
{
	time64_t now = ktime_get_real_seconds();
	struct rhlist_head *list, *pos;
	struct tcpike_pair_key k;
	struct tcpike_sa *s;
	bool sent = false;

	memset(&k, 0, sizeof(k));
	k.saddr.a4 = saddr;
	k.daddr.a4 = daddr;
	k.family = AF_INET;
	rcu_read_lock();
	spin_lock_bh(&tn->own_lock);
	list = tn->dead ? NULL : rhltable_lookup(&tn->sa_pair_ht, &k, sa_pair_params);
	rhl_for_each_entry_rcu(s, pos, list, pnode) {
		struct xfrm_state *x = s->x;
		struct xfrm_encap_tmpl *e = x->encap;
		u64 packets = READ_ONCE(x->curlft.packets);

		/* Output counted since the walk's last look (every interval
		 * or so) counts as sent now: 6.1 keeps no lastused on output.
		 */
		if (packets != s->ka_packets) {
			s->ka_packets = packets;
			s->ka_changed = now;
		}
		if (e && READ_ONCE(e->encap_type) == UDP_ENCAP_ESPINUDP &&
		    READ_ONCE(e->encap_sport) == sport && READ_ONCE(e->encap_dport) == dport &&
		    (now - READ_ONCE(x->lastused) < interval_s ||
		     now - s->ka_changed < interval_s)) {
			sent = true;
			break;
		}
	}
	spin_unlock_bh(&tn->own_lock);
	rcu_read_unlock();
	return sent;
}

/*
 * Steer: the same SA (SPI, keys, sequence numbers, anti-replay window,
 * lifetimes, mark, if_id, counters) on another ESP transport.
 *
 * The output sequence number is the IV of AES-GCM and ChaCha20-Poly1305
 * (RFC 4106 §3.1, RFC 7634 §2): two packets sent with one sequence number
 * under one key reuse a nonce.  So at no moment may two states of the SA
 * hand out sequence numbers.  xfrm_output_one() takes a number under
 * x->lock and only while x is VALID; the switch (steer_commit) therefore
 * happens entirely under the old state's lock: check it is still VALID,
 * copy its counters, replay window and lifetimes into the new state, put
 * the new state in the record, insert it and delete the old one
 * (__xfrm_state_delete marks it DEAD).  A packet that took its number
 * before the switch was counted in what was copied; one that comes after
 * finds the old state DEAD and is dropped (XfrmOutStateInvalid) or finds
 * the new one.  Lock order x->lock, then the namespace's xfrm_state_lock
 * (inside xfrm_state_insert and __xfrm_state_delete), as in
 * xfrm_state_update() and xfrm_state_delete(); own_lock after x->lock, as
 * in the key-manager callbacks.
 *
 * Inbound, xfrm_input() checks the window, decrypts without the lock and
 * then checks again and advances the window, with no second look at the
 * state's VALID.  A packet between the two checks at the switch would
 * advance the old state's window after it was copied, and the same packet
 * sent again would pass the new state's.  So the switch leaves the old
 * state's window refusing everything (steer_seal), and such a packet is
 * dropped (XfrmInStateSeqError) instead of being accepted twice.
 *
 * The encapsulation type is part of an ESP state's initialisation (header
 * sizes, the espintcp socket), so moving between raw, UDP and TCP needs a
 * new state, built beforehand (steer_build: it allocates and may sleep,
 * changes nothing and can fail).  Only the ports of an ESP-in-UDP state
 * change in place, under its lock, as xfrm_state_update() does.  (For
 * espintcp the state caches its socket, so new ports need a new state.)
 */

/* A copy of a state's anti-replay bitmap state, sized from its own
 * bmp_len (xfrm_replay_state_esn_len), never from replay_window:
 * XFRM_MSG_NEWAE may lower the window and keeps bmp_len (as
 * xfrm_replay_clone does for xfrm_state_migrate).
 */
static struct xfrm_replay_state_esn *replay_dup(struct xfrm_replay_state_esn *r)
{
	return r ? kmemdup(r, xfrm_replay_state_esn_len(r), GFP_KERNEL) : NULL;
}

/*
 * A new state like x (as xfrm_state_clone builds one for
 * xfrm_state_migrate) on the transport encap, initialised by the kernel
 * and not inserted, or an ERR_PTR.  What can change on a live state
 * (counters, window, lifetimes, output mark, if_id) is copied again at
 * the switch, under x's lock.
 */
static struct xfrm_state *steer_build(struct net *net, struct xfrm_state *x, u8 encap,
				      __be16 sport, __be16 dport,
				      struct netlink_ext_ack *extack)
{
	struct xfrm_state *nx;
	int err = -ENOMEM;

	if (encap == TCPIKE_ENCAP_TCP) {
		err = check_espintcp(net, x->props.family, &x->props.saddr, &x->id.daddr,
				     sport, dport, extack);
		if (err)
			return ERR_PTR(err);
	}
	if (!x->aead && !(x->ealg && x->aalg)) {
		NL_SET_ERR_MSG_MOD(extack, "the SA has no algorithms to carry over");
		return ERR_PTR(-EINVAL);
	}
	nx = xfrm_state_alloc(net);
	if (!nx)
		return ERR_PTR(-ENOMEM);
	nx->id = x->id;
	nx->sel = x->sel;
	nx->props.mode = x->props.mode;
	nx->props.reqid = x->props.reqid;
	nx->props.family = x->props.family;
	nx->props.saddr = x->props.saddr;
	nx->props.flags = x->props.flags;
	nx->props.extra_flags = x->props.extra_flags;
	nx->props.replay_window = x->props.replay_window;
	nx->props.aalgo = x->props.aalgo;
	nx->props.ealgo = x->props.ealgo;
	nx->mark = x->mark;
	nx->tfcpad = x->tfcpad;
	nx->geniv = x->geniv;
	if (x->aead) {
		nx->aead = kmemdup(x->aead, aead_len(x->aead), GFP_KERNEL);
		if (!nx->aead)
			goto err;
	} else {
		nx->ealg = kmemdup(x->ealg, xfrm_alg_len(x->ealg), GFP_KERNEL);
		nx->aalg = kmemdup(x->aalg, xfrm_alg_auth_len(x->aalg), GFP_KERNEL);
		if (!nx->ealg || !nx->aalg)
			goto err;
	}
	/* bmp_len never changes on a live state (NEWAE checks it), so the
	 * sizes read here hold at the switch; the ESN flag and the legacy
	 * window make the kernel pick the same replay mode for nx.
	 */
	if (x->replay_esn) {
		nx->replay_esn = replay_dup(x->replay_esn);
		nx->preplay_esn = replay_dup(x->preplay_esn);
		if (!nx->replay_esn || !nx->preplay_esn)
			goto err;
	}
	err = set_encap(nx, encap, sport, dport) ?:
	      sa_init(nx, extack);
	if (err)
		goto err;
	return nx;
err:
	if (err == -ENOMEM)
		NL_SET_ERR_MSG_MOD(extack, "no memory for the steered SA");
	sa_discard(nx);
	return ERR_PTR(err);
}

/* Caller holds x->lock: what changes on a live state, into nx. */
static void steer_copy(struct xfrm_state *nx, struct xfrm_state *x)
{
	struct xfrm_replay_state_esn *r = x->replay_esn;

	if (r) {
		/* Same length: nx's were duplicated from x's (steer_build). */
		memcpy(nx->replay_esn, r, xfrm_replay_state_esn_len(r));
		memcpy(nx->preplay_esn, x->preplay_esn, xfrm_replay_state_esn_len(x->preplay_esn));
	}
	nx->replay = x->replay;
	nx->preplay = x->preplay;
	nx->curlft = x->curlft;
	nx->stats = x->stats;
	nx->lft = x->lft;
	nx->lastused = x->lastused;
	nx->props.smark = x->props.smark;
	nx->if_id = x->if_id;
	nx->replay_maxage = x->replay_maxage;
	nx->replay_maxdiff = x->replay_maxdiff;
	/* A soft expire already reported is not reported again. */
	nx->km.dying = x->km.dying;
}

/*
 * Caller holds x->lock, after the switch: x's window refuses every
 * sequence number from now on (see above).  Legacy window: the highest
 * number seen is the largest there is and every bit is set.  Bitmap (with
 * or without ESN): the same, and with ESN a high half no packet in flight
 * was checked against, so the recheck's high-half comparison fails first.
 * A window of 0 checks nothing, sealed or not: such an SA has no replay
 * protection at all.
 */
static void steer_seal(struct xfrm_state *x)
{
	struct xfrm_replay_state_esn *r = x->replay_esn;

	x->replay.seq = U32_MAX;
	x->replay.bitmap = U32_MAX;
	if (r) {
		r->seq = U32_MAX;
		r->seq_hi += 2;
		memset(r->bmp, 0xff, r->bmp_len * sizeof(r->bmp[0]));
	}
}

/*
 * A test hook (selftests/vm/2c): the switch holds x->lock this many
 * microseconds longer, between the copy and the delete, so that output on
 * another CPU meets the switch even under emulation.  Output there waits
 * for the lock; a steer that dropped the lock before the delete (as
 * tcpike did until 2026-11) would hand out the copied sequence numbers
 * twice, and vm/2c catches that.  0 (the default) in normal use.
 */
static unsigned int steer_hold_us;
module_param(steer_hold_us, uint, 0600);
MODULE_PARM_DESC(steer_hold_us,
		 "test hook: microseconds a steer holds the SA's lock at the switch (default 0, at most 20000)");

static void steer_hold(void)
{
	unsigned int us = min(READ_ONCE(steer_hold_us), 20000U);

	if (us) {
		mdelay(us / 1000);
		udelay(us % 1000);
	}
}

/*
 * Caller holds x->lock with x VALID, and has put nx in x's record: nx
 * goes in front of x in the lookup hash (same (daddr, SPI, mark) for a
 * steer; a move's nx hashes elsewhere), x's window is sealed and x is
 * deleted, as xfrm_state_migrate's callers do; x->lock is released and
 * the audit log sees a state replace another.  The table takes the
 * caller's reference on nx; nx is returned held once more for the
 * caller's key-manager notification.
 */
static void state_switch(struct xfrm_state *x, struct xfrm_state *nx)
{
	xfrm_state_hold(nx);		/* for the caller's notification */
	xfrm_state_insert(nx);		/* the table takes the caller's reference */
	steer_seal(x);
	__xfrm_state_delete(x);
	spin_unlock_bh(&x->lock);
	xfrm_audit_state_delete(x, 1, true);
	xfrm_audit_state_add(nx, 1, true);
}

/*
 * nx replaces x, atomically for x's packets (see above).  On success the
 * table has taken the caller's reference on nx; on failure the caller
 * still holds it.  -ESRCH: x is no longer VALID or no longer the
 * record's (deleted, flushed or hard expired meanwhile), nothing done.
 */
static int steer_commit(struct tcpike_net *tn, struct xfrm_state *x, struct xfrm_state *nx)
{
	struct tcpike_sa *s;

	spin_lock_bh(&x->lock);
	if (x->km.state != XFRM_STATE_VALID) {
		spin_unlock_bh(&x->lock);
		return -ESRCH;
	}
	spin_lock(&tn->own_lock);
	s = sa_of(tn, x);
	if (s) {
		steer_copy(nx, x);
		steer_hold();
		xfrm_state_hold(nx);
		s->x = nx;		/* the record's reference on x is ours now */
	}
	spin_unlock(&tn->own_lock);
	if (!s) {
		spin_unlock_bh(&x->lock);
		return -ESRCH;
	}
	state_switch(x, nx);
	/* Key managers (ip xfrm monitor) hear of the SA updated, as for
	 * XFRM_MSG_UPDSA.
	 */
	sa_notify(nx, XFRM_MSG_UPDSA);
	xfrm_state_put(nx);
	xfrm_state_put(x);		/* the record's; the caller holds x too */
	return 0;
}

/* Whether moving x to encap is a change of ports at most (raw to raw,
 * UDP to UDP): then it is done in place (steer_in_place).
 */
static bool steer_same_type(struct xfrm_state *x, u8 encap)
{
	u16 type = x->encap ? READ_ONCE(x->encap->encap_type) : 0;

	return (encap == TCPIKE_ENCAP_RAW && !x->encap) ||
	       (encap == TCPIKE_ENCAP_UDP && type == UDP_ENCAP_ESPINUDP);
}

/*
 * The ports of an ESP-in-UDP state changed in place under its lock (what
 * xfrm_state_update does for XFRM_MSG_UPDSA); raw to raw is nothing to
 * do.  -ESRCH when x is no longer VALID.
 */
static int steer_in_place(struct xfrm_state *x, u8 encap, __be16 sport, __be16 dport)
{
	bool changed = false;
	int err = 0;

	spin_lock_bh(&x->lock);
	if (x->km.state != XFRM_STATE_VALID) {
		err = -ESRCH;
	} else if (encap == TCPIKE_ENCAP_UDP &&
		   (x->encap->encap_sport != sport || x->encap->encap_dport != dport)) {
		x->encap->encap_sport = sport;
		x->encap->encap_dport = dport;
		changed = true;
	}
	spin_unlock_bh(&x->lock);
	if (changed)
		sa_notify(x, XFRM_MSG_UPDSA);
	return err;
}

static void steer_gone_msg(int err, struct netlink_ext_ack *extack)
{
	if (err == -ESRCH)
		NL_SET_ERR_MSG_MOD(extack, "the SA was deleted or expired during the steer");
}

int tcpike_sa_steer(struct net *net, unsigned short family, const xfrm_address_t *daddr,
		    __be32 spi, u8 encap, __be16 sport, __be16 dport,
		    struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct xfrm_state *x, *nx;
	int err;

	mutex_lock(&tn->lock);
	x = tcpike_sa_lookup(net, family, daddr, spi, extack);
	if (!x) {
		mutex_unlock(&tn->lock);
		return -ENOENT;
	}
	if (steer_same_type(x, encap)) {
		err = steer_in_place(x, encap, sport, dport);
	} else {
		nx = steer_build(net, x, encap, sport, dport, extack);
		err = IS_ERR(nx) ? PTR_ERR(nx) : steer_commit(tn, x, nx);
		if (err && !IS_ERR(nx))
			sa_discard(nx);
	}
	steer_gone_msg(err, extack);
	xfrm_state_put(x);
	mutex_unlock(&tn->lock);
	return err;
}

/* Whether addr is an address of this namespace (its local table says so). */
static bool addr_is_local(struct net *net, unsigned short family, const xfrm_address_t *addr)
{
	if (family == AF_INET)
		return inet_addr_type(net, addr->a4) == RTN_LOCAL;
	if (IS_ENABLED(CONFIG_IPV6))
		return ipv6_chk_addr(net, &addr->in6, NULL, 0);
	return false;
}

/* One SA of a steer by reqid: its state, what replaces it (NULL: in
 * place), its ports.
 */
struct steer_one {
	struct xfrm_state *x, *nx;
	__be16 sport, dport;
};

/*
 * Steer by reqid: every SA the module owns with this reqid (both
 * directions of a Child SA, and its rekeyed successor while both live)
 * moves, or none does.  All new states are built and checked first (an
 * espintcp connection missing for one of them, memory, the kernel's
 * init), and only when every one of them could be built are they swapped
 * in, each under its own lock; nothing can fail then but a state that
 * went meanwhile (hard expire, flush, deleted by someone else), which is
 * not moved, as if it had been gone before the steer.  tn->lock keeps
 * module requests out meanwhile.
 *
 * UDP and TCP ports are given as the local port and the peer's: an SA
 * whose destination is an address of this namespace is inbound and gets
 * (peer, local) as (source, destination) ports, the others (local, peer).
 */
int tcpike_sa_steer_reqid(struct net *net, u32 reqid, u8 encap, __be16 lport, __be16 pport,
			  unsigned int *moved, struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct steer_one *v = NULL;
	unsigned int n = 0, cap = 0, i;
	struct tcpike_sa *s;
	int err = 0;

	*moved = 0;
	mutex_lock(&tn->lock);
	/* Records of live states change only under tn->lock (a callback
	 * drops some, never adds), so the matches can only become fewer
	 * between counting and taking them.
	 */
	spin_lock_bh(&tn->own_lock);
	list_for_each_entry(s, &tn->sas, node)
		cap += s->id.reqid == reqid;
	spin_unlock_bh(&tn->own_lock);
	if (cap) {
		v = kcalloc(cap, sizeof(*v), GFP_KERNEL);
		if (!v) {
			err = -ENOMEM;
			goto out;
		}
	}
	spin_lock_bh(&tn->own_lock);
	list_for_each_entry(s, &tn->sas, node) {
		if (s->id.reqid != reqid || n == cap || state_dead(s->x))
			continue;
		v[n].x = s->x;
		xfrm_state_hold(s->x);
		n++;
	}
	spin_unlock_bh(&tn->own_lock);
	if (!n) {
		NL_SET_ERR_MSG_MOD(extack, "no SA with this reqid was created by tcpike");
		err = -ENOENT;
		goto out;
	}

	for (i = 0; i < n; i++) {
		struct xfrm_state *x = v[i].x;
		bool in, out;

		if (encap != TCPIKE_ENCAP_RAW) {
			in = addr_is_local(net, x->props.family, &x->id.daddr);
			out = addr_is_local(net, x->props.family, &x->props.saddr);
			if (in == out) {
				NL_SET_ERR_MSG_MOD(extack,
						   "an SA of this reqid has both or neither of its addresses in this namespace, so its ports cannot be oriented: steer it by SPI");
				err = -EINVAL;
				goto out;
			}
			v[i].sport = in ? pport : lport;
			v[i].dport = in ? lport : pport;
		}
		if (steer_same_type(x, encap))
			continue;
		v[i].nx = steer_build(net, x, encap, v[i].sport, v[i].dport, extack);
		if (IS_ERR(v[i].nx)) {
			err = PTR_ERR(v[i].nx);
			v[i].nx = NULL;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		int r;

		if (v[i].nx) {
			r = steer_commit(tn, v[i].x, v[i].nx);
			if (!r)
				v[i].nx = NULL;
		} else {
			r = steer_in_place(v[i].x, encap, v[i].sport, v[i].dport);
		}
		if (!r)
			(*moved)++;
	}
	if (!*moved) {
		NL_SET_ERR_MSG_MOD(extack, "every SA of this reqid was deleted during the steer");
		err = -ESRCH;
	}
out:
	for (i = 0; i < n; i++) {
		if (v[i].nx)
			sa_discard(v[i].nx);
		xfrm_state_put(v[i].x);
	}
	mutex_unlock(&tn->lock);
	kfree(v);
	return err;
}

/*
 * Move: the same SA on new outer addresses (RFC 7296 §2.23: the peer's
 * NAT now shows it from another address).  The addresses are the state's
 * identity in the SAD (daddr, SPI) and its hashes, so a new state is built
 * as a steer builds one (steer_build, on the SA's own transport) and
 * switched in as a steer switches (under the old state's lock: counters,
 * replay state and lifetimes copied, the old one sealed and deleted); the
 * module's record moves to the new identity in the same moment.
 */

/* The SA's own transport, as steer_build takes it. */
static u8 move_encap(const struct xfrm_state *x)
{
	if (!x->encap)
		return TCPIKE_ENCAP_RAW;
	return x->encap->encap_type == UDP_ENCAP_ESPINUDP ? TCPIKE_ENCAP_UDP : TCPIKE_ENCAP_TCP;
}

/* Caller holds own_lock: the record's keys put back in the tables (after
 * a failed move_rekey); false when not even that could be done.
 */
static bool move_rehash(struct tcpike_net *tn, struct tcpike_sa *s)
{
	if (rhashtable_insert_fast(&tn->sa_ht, &s->hnode, sa_ht_params))
		return false;
	if (!rhltable_insert(&tn->sa_pair_ht, &s->pnode, sa_pair_params))
		return true;
	rhashtable_remove_fast(&tn->sa_ht, &s->hnode, sa_ht_params);
	return false;
}

/* Caller holds own_lock: the record s takes nx's identity; on failure it
 * keeps its own, or (when the tables cannot take it back either) it is
 * unlinked and left in *lost for the caller to release.
 */
static int move_rekey(struct tcpike_net *tn, struct tcpike_sa *s, struct xfrm_state *nx,
		      struct tcpike_sa **lost)
{
	struct tcpike_sa_key key = s->id.key;
	struct tcpike_pair_key pair = s->pair;

	rhashtable_remove_fast(&tn->sa_ht, &s->hnode, sa_ht_params);
	rhltable_remove(&tn->sa_pair_ht, &s->pnode, sa_pair_params);
	tcpike_sa_key(&s->id.key, nx->props.family, &nx->id.daddr, nx->id.spi);
	pair_key(&s->pair, nx->props.family, &nx->props.saddr, &nx->id.daddr);
	if (move_rehash(tn, s))
		return 0;
	s->id.key = key;
	s->pair = pair;
	if (!move_rehash(tn, s)) {
		list_del(&s->node);
		tn->nr_sas--;
		tn->sa_gen++;
		*lost = s;
	}
	return -ENOMEM;
}

/* nx (x on new addresses) replaces x, as steer_commit does it. */
static int move_commit(struct tcpike_net *tn, struct xfrm_state *x, struct xfrm_state *nx)
{
	struct tcpike_sa *s, *lost = NULL;
	int err = -ESRCH;

	spin_lock_bh(&x->lock);
	if (x->km.state != XFRM_STATE_VALID) {
		spin_unlock_bh(&x->lock);
		return -ESRCH;
	}
	spin_lock(&tn->own_lock);
	s = sa_of(tn, x);
	if (s)
		err = move_rekey(tn, s, nx, &lost);
	if (!err) {
		steer_copy(nx, x);
		xfrm_state_hold(nx);
		s->x = nx;		/* the record's reference on x is ours now */
	}
	spin_unlock(&tn->own_lock);
	if (err) {
		spin_unlock_bh(&x->lock);
		if (lost)
			sa_release(lost);
		return err;
	}
	state_switch(x, nx);
	sa_notify(x, XFRM_MSG_DELSA);
	sa_notify(nx, XFRM_MSG_NEWSA);
	xfrm_state_put(nx);
	xfrm_state_put(x);		/* the record's; the caller holds x too */
	return 0;
}

int tcpike_sa_move(struct net *net, unsigned short family, const xfrm_address_t *daddr,
		   __be32 spi, const xfrm_address_t *nsaddr, const xfrm_address_t *ndaddr,
		   bool ports, __be16 sport, __be16 dport, struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct xfrm_state *x, *nx, *o;
	u8 encap;
	int err;

	mutex_lock(&tn->lock);
	x = tcpike_sa_lookup(net, family, daddr, spi, extack);
	if (!x) {
		mutex_unlock(&tn->lock);
		return -ENOENT;
	}
	encap = move_encap(x);
	err = -EINVAL;
	if (x->props.mode != XFRM_MODE_TUNNEL) {
		NL_SET_ERR_MSG_MOD(extack,
				   "only a tunnel-mode SA moves: a transport-mode SA's selector is its addresses");
		goto out;
	}
	if (encap == TCPIKE_ENCAP_TCP) {
		NL_SET_ERR_MSG_MOD(extack,
				   "an ESP-in-TCP SA moves with its connection: steer it instead");
		goto out;
	}
	if (ports && encap != TCPIKE_ENCAP_UDP) {
		NL_SET_ERR_MSG_MOD(extack, "ports given for an SA that is not UDP-encapsulated");
		goto out;
	}
	if (!ports && x->encap) {
		sport = x->encap->encap_sport;
		dport = x->encap->encap_dport;
	}
	o = xfrm_addr_equal(ndaddr, daddr, family) ? NULL :
	    xfrm_state_lookup(net, x->mark.v & x->mark.m, ndaddr, spi, IPPROTO_ESP, family);
	if (o) {
		xfrm_state_put(o);
		NL_SET_ERR_MSG_MOD(extack,
				   "an SA with this SPI to the new destination exists already");
		err = -EEXIST;
		goto out;
	}
	nx = steer_build(net, x, encap, sport, dport, extack);
	if (IS_ERR(nx)) {
		err = PTR_ERR(nx);
		goto out;
	}
	/* Initialised for the family, which is the same; the addresses take
	 * no part in it (xfrm_state_migrate sets them so too).
	 */
	nx->id.daddr = *ndaddr;
	nx->props.saddr = *nsaddr;
	err = move_commit(tn, x, nx);
	if (err)
		sa_discard(nx);
	if (err == -ESRCH)
		NL_SET_ERR_MSG_MOD(extack, "the SA was deleted or expired during the move");
	else if (err == -ENOMEM)
		NL_SET_ERR_MSG_MOD(extack, "no memory for the moved SA's record");
out:
	xfrm_state_put(x);
	mutex_unlock(&tn->lock);
	return err;
}
