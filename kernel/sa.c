// SPDX-License-Identifier: GPL-2.0
/*
 * SAs: validated parameters -> an ordinary xfrm_state, created the way
 * net/xfrm/xfrm_user.c and net/key/af_key.c create theirs, and recorded as
 * owned by the module.
 */
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

int tcpike_sa_init(struct tcpike_net *tn)
{
	INIT_LIST_HEAD(&tn->sas);
	return rhashtable_init(&tn->sa_ht, &sa_ht_params);
}

/* After tcpike_sa_flush(): the table is empty. */
void tcpike_sa_fini(struct tcpike_net *tn)
{
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

/* Caller holds own_lock. */
static struct tcpike_sa *sa_find(struct tcpike_net *tn, unsigned short family,
				 const xfrm_address_t *daddr, __be32 spi)
{
	struct tcpike_sa_key k;

	tcpike_sa_key(&k, family, daddr, spi);
	return rhashtable_lookup_fast(&tn->sa_ht, &k, sa_ht_params);
}

/* Caller holds own_lock; s is then freed with sa_free(). */
static void sa_unlink(struct tcpike_net *tn, struct tcpike_sa *s)
{
	rhashtable_remove_fast(&tn->sa_ht, &s->hnode, sa_ht_params);
	list_del(&s->node);
	tn->nr_sas--;
	tn->sa_gen++;
}

static void sa_free(struct tcpike_sa *s)
{
	kfree_rcu(s, rcu);
}

/* Caller holds own_lock; own is in the table already. */
static void sa_link(struct tcpike_net *tn, struct tcpike_sa *own)
{
	list_add_tail(&own->node, &tn->sas);
	tn->nr_sas++;
	tn->sa_gen++;
}

/*
 * Caller holds tn->lock.  Records own.  A record of the same SA whose
 * state the kernel no longer has (deleted with `ip xfrm state`, which
 * tells no key manager) gives way; -EEXIST when the kernel has it.
 */
static int sa_record(struct net *net, struct tcpike_net *tn, struct tcpike_sa *own)
{
	struct tcpike_sa *old;
	struct tcpike_sa_id id;
	struct xfrm_state *x;
	int err;

	spin_lock_bh(&tn->own_lock);
	old = rhashtable_lookup_get_insert_fast(&tn->sa_ht, &own->hnode, sa_ht_params);
	if (!old)
		sa_link(tn, own);
	else if (!IS_ERR(old))
		id = old->id;
	spin_unlock_bh(&tn->own_lock);
	if (IS_ERR_OR_NULL(old))
		return PTR_ERR_OR_ZERO(old);

	x = tcpike_sa_state(net, &id);
	if (x) {
		xfrm_state_put(x);
		return -EEXIST;
	}
	spin_lock_bh(&tn->own_lock);
	old = rhashtable_lookup_fast(&tn->sa_ht, &own->id.key, sa_ht_params);
	if (old) {		/* unless a hard expire forgot it meanwhile */
		sa_unlink(tn, old);
		sa_free(old);
	}
	err = rhashtable_insert_fast(&tn->sa_ht, &own->hnode, sa_ht_params);
	if (!err)
		sa_link(tn, own);
	spin_unlock_bh(&tn->own_lock);
	return err;
}

/* forget: the kernel deleted the state itself (hard expire): drop it. */
bool tcpike_sa_owned(struct tcpike_net *tn, unsigned short family,
		     const xfrm_address_t *daddr, __be32 spi, bool forget)
{
	struct tcpike_sa *s;

	spin_lock_bh(&tn->own_lock);
	s = sa_find(tn, family, daddr, spi);
	if (s && forget) {
		sa_unlink(tn, s);
		sa_free(s);
	}
	spin_unlock_bh(&tn->own_lock);
	return s;
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
		NL_SET_ERR_MSG_MOD(extack, "truncation length out of range for the integrity algorithm");
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

/*
 * A steer's new state gets a copy of the old one's anti-replay state,
 * sized from its own bmp_len (xfrm_replay_state_esn_len), never from
 * replay_window: XFRM_MSG_NEWAE may lower the window and keeps bmp_len.
 * The same mode too: a bitmap state whose window was lowered to 32 or less
 * stays a bitmap state (its output sequence number is in replay_esn), as
 * xfrm_replay_clone does for xfrm_state_migrate.  What a live state
 * changes meanwhile is copied again at the switch (steer_commit).
 */
static int clone_replay(struct xfrm_state *x, const struct xfrm_state *from)
{
	x->props.replay_window = from->props.replay_window;
	x->props.flags |= from->props.flags & XFRM_STATE_ESN;
	if (!from->replay_esn)
		return 0;
	x->replay_esn = kmemdup(from->replay_esn, xfrm_replay_state_esn_len(from->replay_esn),
				GFP_KERNEL);
	x->preplay_esn = kmemdup(from->preplay_esn, xfrm_replay_state_esn_len(from->preplay_esn),
				 GFP_KERNEL);
	return x->replay_esn && x->preplay_esn ? 0 : -ENOMEM;
}

/* Anti-replay state: with ESN, or with a window wider than the legacy
 * 32-bit bitmap, the kernel uses the bitmap of xfrm_replay_state_esn.
 */
static int attach_replay(struct xfrm_state *x, const struct tcpike_sa_params *p)
{
	struct xfrm_replay_state_esn *r, *pr;
	unsigned int words, len;

	if (p->replay_from)
		return clone_replay(x, p->replay_from);
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
	x->props.replay_window = min_t(unsigned int, p->replay_window,
				       sizeof(x->replay.bitmap) * 8);
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
static int check_espintcp(struct net *net, const struct tcpike_sa_params *p,
			  struct netlink_ext_ack *extack)
{
	struct sock *sk;
	bool ulp;

	if (!tcpike_have_espintcp(p->family)) {
		if (p->family == AF_INET)
			NL_SET_ERR_MSG_MOD(extack,
					   "this kernel has no ESP in TCP (built without CONFIG_INET_ESPINTCP)");
		else
			NL_SET_ERR_MSG_MOD(extack,
					   "this kernel has no ESP in TCP for IPv6 (built without CONFIG_INET6_ESPINTCP)");
		return -EOPNOTSUPP;
	}
	rcu_read_lock();
	sk = tcpike_tcp_lookup(net, p->family, &p->daddr, p->encap_dport,
			       &p->saddr, p->encap_sport);
	if (!sk)
		sk = tcpike_tcp_lookup(net, p->family, &p->saddr, p->encap_sport,
				       &p->daddr, p->encap_dport);
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

/* An initialised, not yet inserted state from p, or an ERR_PTR. */
static struct xfrm_state *sa_build(struct net *net, const struct tcpike_sa_params *p,
				   struct netlink_ext_ack *extack)
{
	struct xfrm_state *x;
	int err;

	if (p->encap == TCPIKE_ENCAP_TCP) {
		err = check_espintcp(net, p, extack);
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

	if (p->encap != TCPIKE_ENCAP_RAW) {
		/* RFC 3948 ESP-in-UDP or RFC 9329 ESP-in-TCP (espintcp);
		 * esp_init_state sizes headers from it.  For TCP the ports
		 * name the connection: esp_output looks up the established
		 * socket daddr:dport -> saddr:sport and hands it the packet.
		 */
		x->encap = kzalloc(sizeof(*x->encap), GFP_KERNEL);
		if (!x->encap) {
			err = -ENOMEM;
			goto err_put;
		}
		x->encap->encap_type = p->encap == TCPIKE_ENCAP_TCP ? TCP_ENCAP_ESPINTCP :
								      UDP_ENCAP_ESPINUDP;
		x->encap->encap_sport = p->encap_sport;
		x->encap->encap_dport = p->encap_dport;
		/* NAT mapping reports (km_new_mapping): at most one per
		 * TCPIKE_MAPPING_MAXAGE seconds unless the port changes again,
		 * not one per packet.
		 */
		x->mapping_maxage = TCPIKE_MAPPING_MAXAGE;
	}
	err = p->aead_name ? attach_aead(x, p, extack) : attach_enc_auth(x, p, extack);
	if (err)
		goto err_put;
	err = attach_replay(x, p);
	if (err)
		goto err_put;
	err = __xfrm_init_state(x, true, false, extack);
	if (err) {
		if (!extack || !extack->_msg)
			NL_SET_ERR_MSG_MOD(extack, "the kernel refused the SA parameters");
		goto err_put;
	}
	x->km.state = XFRM_STATE_VALID;
	return x;

err_put:
	x->km.state = XFRM_STATE_DEAD;
	xfrm_state_put(x);
	return ERR_PTR(err);
}

int tcpike_sa_create(struct net *net, const struct tcpike_sa_params *p,
		     struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_sa *own;
	struct xfrm_state *x;
	int err;

	own = kzalloc(sizeof(*own), GFP_KERNEL);
	if (!own)
		return -ENOMEM;
	tcpike_sa_key(&own->id.key, p->family, &p->daddr, p->spi);
	own->id.reqid = p->reqid;
	own->id.mark = p->mark;

	x = sa_build(net, p, extack);
	if (IS_ERR(x)) {
		kfree(own);
		return PTR_ERR(x);
	}

	mutex_lock(&tn->lock);
	/* Owned before it is visible, so an event for it is never missed. */
	err = sa_record(net, tn, own);
	if (err) {
		mutex_unlock(&tn->lock);
		if (err == -EEXIST)
			NL_SET_ERR_MSG_MOD(extack, "an SA with this SPI and destination exists");
		else
			NL_SET_ERR_MSG_MOD(extack, "no memory to record the SA");
		goto err_put;
	}
	xfrm_state_hold(x);
	err = xfrm_state_add(x);
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
		goto err_put;
	}
	spin_lock_bh(&tn->own_lock);
	tn->sa_created++;
	spin_unlock_bh(&tn->own_lock);
	mutex_unlock(&tn->lock);
	xfrm_state_put(x);
	return 0;

err_put:
	x->km.state = XFRM_STATE_DEAD;
	xfrm_state_put(x);
	sa_free(own);		/* it may have been in the table */
	return err;
}

/*
 * xfrm_state_lookup() matches a state when (mark & x->mark.m) == x->mark.v;
 * the module's marks have no value bits outside the mask, so looking up
 * with the value finds the state.  A state of someone else's with the same
 * SPI and destination may match as well (a mark mask of 0 matches every
 * mark): only the one with exactly this mark is ours.
 */
struct xfrm_state *tcpike_sa_state(struct net *net, const struct tcpike_sa_id *id)
{
	struct xfrm_state *x;

	x = xfrm_state_lookup(net, id->mark.v, &id->key.daddr, id->key.spi, IPPROTO_ESP,
			      id->key.family);
	if (x && (x->mark.v != id->mark.v || x->mark.m != id->mark.m)) {
		xfrm_state_put(x);
		x = NULL;
	}
	return x;
}

struct xfrm_state *tcpike_sa_lookup(struct net *net, unsigned short family,
				    const xfrm_address_t *daddr, __be32 spi,
				    struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct xfrm_state *x = NULL;
	struct tcpike_sa_id id;
	struct tcpike_sa *s;

	spin_lock_bh(&tn->own_lock);
	s = sa_find(tn, family, daddr, spi);
	if (s)
		id = s->id;
	spin_unlock_bh(&tn->own_lock);
	if (s)
		x = tcpike_sa_state(net, &id);
	if (!x)
		NL_SET_ERR_MSG_MOD(extack, "no SA with this SPI and destination was created by tcpike");
	return x;
}

/* s is off the list already; called without own_lock. */
static void sa_remove(struct net *net, struct tcpike_sa *s)
{
	struct xfrm_state *x;

	x = tcpike_sa_state(net, &s->id);
	if (x) {
		xfrm_state_delete(x);
		xfrm_state_put(x);
	}
	sa_free(s);
}

int tcpike_sa_delete(struct net *net, unsigned short family,
		     const xfrm_address_t *daddr, __be32 spi,
		     struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_sa *s;

	mutex_lock(&tn->lock);
	spin_lock_bh(&tn->own_lock);
	s = sa_find(tn, family, daddr, spi);
	if (s) {
		sa_unlink(tn, s);
		tn->sa_deleted++;
	}
	spin_unlock_bh(&tn->own_lock);
	if (s)
		sa_remove(net, s);
	mutex_unlock(&tn->lock);
	if (!s) {
		NL_SET_ERR_MSG_MOD(extack, "no SA with this SPI and destination was created by tcpike");
		return -ENOENT;
	}
	return 0;
}

void tcpike_sa_flush(struct net *net)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct tcpike_sa *s, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&tn->lock);
	spin_lock_bh(&tn->own_lock);
	list_for_each_entry_safe(s, tmp, &tn->sas, node) {
		sa_unlink(tn, s);
		list_add_tail(&s->node, &gone);
	}
	spin_unlock_bh(&tn->own_lock);
	list_for_each_entry_safe(s, tmp, &gone, node)
		sa_remove(net, s);
	mutex_unlock(&tn->lock);
}

/* What xfrm_user tells the other key managers (ip xfrm monitor). */
static void sa_notify(struct xfrm_state *x, int event)
{
	struct km_event c = { .event = event, .net = xs_net(x) };

	km_state_notify(x, &c);
}

/*
 * Steer: the same SA (SPI, keys, lifetimes, mark, if_id) on another ESP
 * transport.  The encapsulation is part of an ESP state's initialisation
 * (header sizes, the espintcp socket), so a move between raw IP, UDP and
 * TCP needs a new state, built beforehand (steer_build: it allocates, may
 * sleep, changes nothing and can fail).  The switch (steer_commit) is one
 * critical section under the old state's lock, the lock output and input
 * take to hand out and check sequence numbers: the output sequence number,
 * the anti-replay window and the counters are copied, the new state goes
 * into the table and the old one is deleted.  Output on another CPU that
 * found the old state takes its lock afterwards, sees it dead and drops
 * the packet; so no sequence number leaves twice under the same key (with
 * AES-GCM and ChaCha20-Poly1305 it is the nonce).  An ESP-in-UDP state
 * whose ports change, and raw to raw, change in place under the lock, as
 * xfrm_state_update does (steer_in_place).
 */
static struct xfrm_state *steer_build(struct net *net, struct xfrm_state *x, u8 encap,
				      __be16 sport, __be16 dport,
				      struct netlink_ext_ack *extack)
{
	struct tcpike_sa_params p = { 0 };

	p.spi = x->id.spi;
	p.family = x->props.family;
	p.daddr = x->id.daddr;
	p.saddr = x->props.saddr;
	p.mode = x->props.mode == XFRM_MODE_TRANSPORT ? TCPIKE_MODE_TRANSPORT : TCPIKE_MODE_TUNNEL;
	p.reqid = x->props.reqid;
	p.mark = x->mark;
	p.if_id = x->if_id;
	if (x->aead) {
		p.aead_name = x->aead->alg_name;
		p.aead_icv_bits = x->aead->alg_icv_len;
		p.enc_key = x->aead->alg_key;
		p.enc_key_len = (x->aead->alg_key_len + 7) / 8;
	} else if (x->ealg && x->aalg) {
		p.enc_name = x->ealg->alg_name;
		p.enc_key = x->ealg->alg_key;
		p.enc_key_len = (x->ealg->alg_key_len + 7) / 8;
		p.auth_name = x->aalg->alg_name;
		p.auth_key = x->aalg->alg_key;
		p.auth_key_len = (x->aalg->alg_key_len + 7) / 8;
		p.auth_trunc_bits = x->aalg->alg_trunc_len;
	} else {
		NL_SET_ERR_MSG_MOD(extack, "the SA has no algorithms to carry over");
		return ERR_PTR(-EINVAL);
	}
	p.replay_from = x;
	p.soft_bytes = x->lft.soft_byte_limit == XFRM_INF ? 0 : x->lft.soft_byte_limit;
	p.hard_bytes = x->lft.hard_byte_limit == XFRM_INF ? 0 : x->lft.hard_byte_limit;
	p.soft_packets = x->lft.soft_packet_limit == XFRM_INF ? 0 : x->lft.soft_packet_limit;
	p.hard_packets = x->lft.hard_packet_limit == XFRM_INF ? 0 : x->lft.hard_packet_limit;
	p.soft_seconds = x->lft.soft_add_expires_seconds;
	p.hard_seconds = x->lft.hard_add_expires_seconds;
	p.encap = encap;
	p.encap_sport = sport;
	p.encap_dport = dport;
	return sa_build(net, &p, extack);
}

/*
 * Caller holds x->lock, after the switch: x's window refuses every
 * sequence number from now on.  A packet that passed x's replay check
 * before the switch and is still being decrypted is rechecked against
 * x's window afterwards (xfrm_input's resume, which does not look at
 * km.state again); nx may have accepted the same number meanwhile, so
 * the recheck must fail.  Legacy window: the highest number seen is the
 * largest there is and every bit is set.  Bitmap (with or without ESN):
 * the same, and with ESN a high half no packet in flight was checked
 * against.  A window of 0 checks nothing, sealed or not.
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
 * nx replaces x (see above).  On success the table has taken the caller's
 * reference on nx; on failure the caller still holds it.  -ESRCH: x is no
 * longer VALID (deleted, flushed or hard expired while nx was built), so
 * nothing was done: a dead SA does not come back.
 */
static int steer_commit(struct xfrm_state *x, struct xfrm_state *nx)
{
	struct xfrm_replay_state_esn *r;

	spin_lock_bh(&x->lock);
	if (x->km.state != XFRM_STATE_VALID) {
		spin_unlock_bh(&x->lock);
		return -ESRCH;
	}
	r = x->replay_esn;
	if (r) {
		/* Same lengths: nx's were cloned from x's (bmp_len never
		 * changes on a live state, NEWAE checks it).
		 */
		memcpy(nx->replay_esn, r, xfrm_replay_state_esn_len(r));
		memcpy(nx->preplay_esn, x->preplay_esn, xfrm_replay_state_esn_len(x->preplay_esn));
	}
	nx->props.replay_window = x->props.replay_window;
	nx->replay = x->replay;
	nx->preplay = x->preplay;
	nx->curlft = x->curlft;
	nx->lft = x->lft;
	nx->stats = x->stats;
	nx->lastused = x->lastused;
	nx->replay_maxage = x->replay_maxage;
	nx->replay_maxdiff = x->replay_maxdiff;
	/* A soft expire already reported is not reported again. */
	nx->km.dying = x->km.dying;
	/* Same (daddr, SPI, mark): nx goes in front of x in the lookup hash,
	 * then x is deleted, as xfrm_state_migrate's callers do, but with
	 * x's lock held throughout (x->lock before xfrm_state_lock, the
	 * order __xfrm_state_delete's callers use).
	 */
	xfrm_state_hold(nx);		/* for the notification below */
	xfrm_state_insert(nx);		/* the table takes the caller's reference */
	steer_seal(x);
	__xfrm_state_delete(x);
	spin_unlock_bh(&x->lock);
	/* The audit log sees a state replace another; key managers (ip xfrm
	 * monitor) hear of the SA updated, as for XFRM_MSG_UPDSA.
	 */
	xfrm_audit_state_delete(x, 1, true);
	xfrm_audit_state_add(nx, 1, true);
	sa_notify(nx, XFRM_MSG_UPDSA);
	xfrm_state_put(nx);
	return 0;
}

/* Whether moving x to encap is a change of ports at most (raw to raw,
 * ESP-in-UDP to ESP-in-UDP): then it is done in place.
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

static void steer_discard(struct xfrm_state *nx)
{
	nx->km.state = XFRM_STATE_DEAD;
	xfrm_state_put(nx);
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
		err = IS_ERR(nx) ? PTR_ERR(nx) : steer_commit(x, nx);
		if (err && !IS_ERR(nx))
			steer_discard(nx);
	}
	if (err == -ESRCH)
		NL_SET_ERR_MSG_MOD(extack, "the SA was deleted or expired during the steer");
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

/*
 * Steer by reqid: every SA the module owns with this reqid (both
 * directions of a Child SA, and its rekeyed successor while both live)
 * moves, or none does.  All new states are built and checked first (an
 * espintcp connection missing for one of them, memory, the kernel's
 * init), and only when every one of them could be built are they swapped
 * in.  tn->lock keeps module requests out meanwhile; an SA the kernel
 * deletes by itself in between (hard expire) is simply not moved.
 *
 * UDP and TCP ports are given as the local port and the peer's: an SA
 * whose destination is an address of this namespace is inbound and gets
 * (peer, local) as (source, destination) ports, the others (local, peer).
 */
int tcpike_sa_steer_reqid(struct net *net, u32 reqid, u8 encap, __be16 lport, __be16 pport,
			  unsigned int *moved, struct netlink_ext_ack *extack)
{
	struct tcpike_net *tn = tcpike_pernet(net);
	struct xfrm_state **old = NULL, **new = NULL;
	__be16 *sports = NULL, *dports = NULL;
	struct tcpike_sa_id *ids = NULL;
	unsigned int n = 0, cap = 0, i, built = 0;
	struct tcpike_sa *s;
	int err = 0;

	*moved = 0;
	mutex_lock(&tn->lock);
	/* Creation takes tn->lock, so the matches can only become fewer
	 * between counting and copying them.
	 */
	spin_lock_bh(&tn->own_lock);
	list_for_each_entry(s, &tn->sas, node)
		cap += s->id.reqid == reqid;
	spin_unlock_bh(&tn->own_lock);
	if (cap) {
		ids = kcalloc(cap, sizeof(*ids), GFP_KERNEL);
		old = kcalloc(cap, sizeof(*old), GFP_KERNEL);
		new = kcalloc(cap, sizeof(*new), GFP_KERNEL);
		sports = kcalloc(cap, sizeof(*sports), GFP_KERNEL);
		dports = kcalloc(cap, sizeof(*dports), GFP_KERNEL);
		if (!ids || !old || !new || !sports || !dports) {
			err = -ENOMEM;
			goto out;
		}
	}
	spin_lock_bh(&tn->own_lock);
	list_for_each_entry(s, &tn->sas, node)
		if (s->id.reqid == reqid && n < cap)
			ids[n++] = s->id;
	spin_unlock_bh(&tn->own_lock);

	for (i = 0; i < n; i++) {
		struct xfrm_state *x = tcpike_sa_state(net, &ids[i]);
		__be16 sport = 0, dport = 0;
		bool in, out;

		if (!x)
			continue;	/* the kernel deleted it (hard expire) */
		old[built] = x;
		if (encap != TCPIKE_ENCAP_RAW) {
			in = addr_is_local(net, x->props.family, &x->id.daddr);
			out = addr_is_local(net, x->props.family, &x->props.saddr);
			if (in == out) {
				NL_SET_ERR_MSG_MOD(extack,
						   "an SA of this reqid has both or neither of its addresses in this namespace, so its ports cannot be oriented: steer it by SPI");
				xfrm_state_put(x);
				err = -EINVAL;
				goto out;
			}
			sport = in ? pport : lport;
			dport = in ? lport : pport;
		}
		sports[built] = sport;
		dports[built] = dport;
		if (!steer_same_type(x, encap)) {
			new[built] = steer_build(net, x, encap, sport, dport, extack);
			if (IS_ERR(new[built])) {
				err = PTR_ERR(new[built]);
				new[built] = NULL;
				xfrm_state_put(x);
				goto out;
			}
		}
		built++;
	}
	if (!built) {
		NL_SET_ERR_MSG_MOD(extack, "no SA with this reqid was created by tcpike");
		err = -ENOENT;
		goto out;
	}
	/* Nothing can fail now but a state that went meanwhile (hard
	 * expire, flush, deleted by another key manager): it is not moved,
	 * as if it had gone before the steer.
	 */
	for (i = 0; i < built; i++) {
		int r;

		if (new[i]) {
			r = steer_commit(old[i], new[i]);
			if (!r)
				new[i] = NULL;
		} else {
			r = steer_in_place(old[i], encap, sports[i], dports[i]);
		}
		if (!r)
			(*moved)++;
	}
	if (!*moved) {
		NL_SET_ERR_MSG_MOD(extack, "every SA of this reqid was deleted during the steer");
		err = -ESRCH;
	}
out:
	for (i = 0; i < built; i++) {
		if (new[i])
			steer_discard(new[i]);
		xfrm_state_put(old[i]);
	}
	mutex_unlock(&tn->lock);
	kfree(ids);
	kfree(old);
	kfree(new);
	kfree(sports);
	kfree(dports);
	return err;
}
