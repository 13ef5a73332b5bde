// SPDX-License-Identifier: GPL-2.0
/*
 * Drives the xfrm kernel backend for selftests/netns/10-transport-xfrm.sh,
 * netns/69-xfrm-migrate-policies.sh, vm/2h-module-equivalence.sh and
 * vm/39-xfrm-migrate.sh:
 *   kb_xfrm policy   add an out and an in policy (the in one's priority
 *                    3001, then updated to 3000; one already in the kernel
 *                    with those selectors is replaced), print "added", wait for a
 *                    line on stdin, then close the backend (which must
 *                    remove both) and print "closed"
 *   kb_xfrm sa [WINDOW [esn]]
 *                    add an AES-GCM ESP SA (spi 0x1000, 10.0.0.1 ->
 *                    10.0.0.2, key 01 02 03 and 17 zero bytes, replay
 *                    window WINDOW, default 32); print "sa ok" or
 *                    "sa failed: <kb_error>" (exit 0 either way); with a
 *                    WINDOW, hold the SA until a line on stdin
 *   kb_xfrm tcp-tunnel LOCAL LPORT LNET PEER PPORT PNET OUTSPI INSPI
 *                    a tunnel LNET/24 <-> PNET/24 between LOCAL and PEER
 *                    with ESP in TCP on the connection LOCAL:LPORT <->
 *                    PEER:PPORT (espintcp, XFRMA_ENCAP type 7): the two
 *                    SAs (keys derived from the SPI, so both ends agree)
 *                    and out/in/fwd policies; print "added", wait for a
 *                    line on stdin, close the backend, print "closed"
 *   kb_xfrm move     a UDP-encapsulated tunnel 192.168.1.0/24 <->
 *                    192.168.2.0/24 between 10.0.0.1 and 10.0.0.2 (SAs
 *                    0x2001 in, 0x2002 out, reqid 7, ports 4500) and its
 *                    out/in/fwd policies: print "added", wait for a line;
 *                    move it to the peer's new address 10.0.0.7 port 40001
 *                    (kb_child_move: XFRM_MSG_MIGRATE), print "moved" or
 *                    "move failed: <kb_error>", wait for a line; delete the
 *                    SAs (at their new address) and the policies, print
 *                    "deleted", wait for a line, close, print "closed"
 *   kb_xfrm move-policies [spi]
 *                    the same policies without SAs (no ESP needed): move
 *                    them (XFRM_MSG_MIGRATE with no state to take), or
 *                    with spi a move naming an outbound SA that is not
 *                    there (the templates must go back), print "moved" or
 *                    "move failed: <kb_error>", wait for a line, close,
 *                    print "closed"
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"

static void ip4(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in *s = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	inet_pton(AF_INET, a, &s->sin_addr);
}

/* An AES-GCM (128-bit ICV) tunnel-mode SA from src to dst, window 32. */
static void gcm_sa(struct kb_sa *sa, uint32_t spi, const char *src, const char *dst,
		   const uint8_t *key, size_t key_len)
{
	memset(sa, 0, sizeof(*sa));
	sa->spi = htonl(spi);
	ip4(&sa->src, src);
	ip4(&sa->dst, dst);
	sa->mode = KB_MODE_TUNNEL;
	strcpy(sa->aead, "rfc4106(gcm(aes))");
	sa->aead_icv_bits = 128;
	sa->enc_key = key;
	sa->enc_key_len = key_len;
	sa->replay_window = 32;
}

static int tcp_sa(struct kbackend *kb, const char *src, const char *sport,
		  const char *dst, const char *dport, const char *spi)
{
	uint32_t v = (uint32_t)strtoul(spi, NULL, 0);
	uint8_t key[20];
	struct kb_sa sa;
	int err;

	for (unsigned int i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(v + i * 7);
	gcm_sa(&sa, v, src, dst, key, sizeof(key));
	sa.reqid = 9;
	sa.encap = KB_ENCAP_TCP;
	sa.encap_sport = (uint16_t)atoi(sport);
	sa.encap_dport = (uint16_t)atoi(dport);
	err = kb->ops->sa_add(kb, &sa);
	if (err)
		printf("sa 0x%x failed: %s\n", v, kb->kb_error);
	return err;
}

static int tcp_policy(struct kbackend *kb, enum kb_dir dir, const char *from,
		      const char *to, const char *tsrc, const char *tdst)
{
	struct kb_policy p = { 0 };
	int err;

	p.sel.family = AF_INET;
	ip4(&p.sel.src, from);
	ip4(&p.sel.dst, to);
	p.sel.src_plen = p.sel.dst_plen = 24;
	p.reqid = 9;
	p.mode = KB_MODE_TUNNEL;
	ip4(&p.tmpl_src, tsrc);
	ip4(&p.tmpl_dst, tdst);
	p.dir = dir;
	err = kb->ops->policy_add(kb, &p);
	if (err)
		printf("policy failed: %s\n", kb->kb_error);
	return err;
}

/* "added", then the backend is held until a line comes on stdin (the
 * test looks at the kernel meanwhile), then closed: "closed". */
static int added_until_stdin(struct kbackend *kb)
{
	char line[16];

	printf("added\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	kbackend_close(kb);
	printf("closed\n");
	return 0;
}

static int tcp_tunnel(struct kbackend *kb, int argc, char **argv)
{
	const char *local = argv[2], *lport = argv[3], *lnet = argv[4];
	const char *peer = argv[5], *pport = argv[6], *pnet = argv[7];

	if (tcp_sa(kb, local, lport, peer, pport, argv[8]) ||
	    tcp_sa(kb, peer, pport, local, lport, argv[9]) ||
	    tcp_policy(kb, KB_DIR_OUT, lnet, pnet, local, peer) ||
	    tcp_policy(kb, KB_DIR_IN, pnet, lnet, peer, local) ||
	    tcp_policy(kb, KB_DIR_FWD, pnet, lnet, peer, local)) {
		kbackend_close(kb);
		return 1;
	}
	return added_until_stdin(kb);
}

static bool next_line(void)
{
	char line[16];

	fflush(stdout);
	return fgets(line, sizeof(line), stdin) != NULL;
}

/* The out, in and fwd policies of the tunnel 10.0.0.1 <-> 10.0.0.2,
 * reqid 7, added through the shared layer. */
static int move_policies(struct kbackend *kb, struct kb_policy pols[3])
{
	static const enum kb_dir dirs[] = { KB_DIR_OUT, KB_DIR_IN, KB_DIR_FWD };
	int i, err = 0;

	memset(pols, 0, 3 * sizeof(*pols));
	for (i = 0; i < 3 && !err; i++) {
		bool out = dirs[i] == KB_DIR_OUT;

		pols[i].dir = dirs[i];
		pols[i].sel.family = AF_INET;
		ip4(&pols[i].sel.src, out ? "192.168.1.0" : "192.168.2.0");
		ip4(&pols[i].sel.dst, out ? "192.168.2.0" : "192.168.1.0");
		pols[i].sel.src_plen = pols[i].sel.dst_plen = 24;
		pols[i].reqid = 7;
		pols[i].mode = KB_MODE_TUNNEL;
		ip4(&pols[i].tmpl_src, out ? "10.0.0.1" : "10.0.0.2");
		ip4(&pols[i].tmpl_dst, out ? "10.0.0.2" : "10.0.0.1");
		err = kb_policy_add(kb, &pols[i]);
	}
	return err;
}

/* The move of that tunnel to the peer's new address 10.0.0.7:40001. */
static void move_of(struct kb_move *m, const struct kb_policy *pols)
{
	memset(m, 0, sizeof(*m));
	m->reqid = 7;
	m->mode = KB_MODE_TUNNEL;
	ip4(&m->old_local, "10.0.0.1");
	ip4(&m->old_remote, "10.0.0.2");
	m->local = m->old_local;
	ip4(&m->remote, "10.0.0.7");
	m->encap = KB_ENCAP_UDP;
	m->lport = 4500;
	m->rport = 40001;
	m->old_lport = m->old_rport = 4500;
	m->pols = pols;
	m->n_pols = 3;
}

static int move_policies_only(struct kbackend *kb, const char *spi)
{
	struct kb_policy pols[3];
	struct kb_move m;

	if (move_policies(kb, pols)) {
		printf("add failed: %s\n", kb->kb_error);
		kbackend_close(kb);
		return 1;
	}
	move_of(&m, pols);
	if (spi)
		m.spi_out = htonl((uint32_t)strtoul(spi, NULL, 0));
	if (kb_child_move(kb, &m))
		printf("move failed: %s\n", kb->kb_error);
	else
		printf("moved\n");
	if (!next_line())
		return 1;
	kbackend_close(kb);
	printf("closed\n");
	return 0;
}

static int move_tunnel(struct kbackend *kb)
{
	static const uint8_t key[20] = { 7 };
	struct kb_policy pols[3];
	struct kb_sa sa;
	struct kb_move m;
	int i, err = 0;

	for (i = 0; i < 2 && !err; i++) {
		gcm_sa(&sa, i ? 0x2002 : 0x2001, i ? "10.0.0.1" : "10.0.0.2",
		       i ? "10.0.0.2" : "10.0.0.1", key, sizeof(key));
		sa.reqid = 7;
		sa.encap = KB_ENCAP_UDP;
		sa.encap_sport = sa.encap_dport = 4500;
		sa.inbound = !i;
		if (i)
			sa.replay_window = 0;
		err = kb->ops->sa_add(kb, &sa);
	}
	if (!err)
		err = move_policies(kb, pols);
	if (err) {
		printf("add failed: %s\n", kb->kb_error);
		kbackend_close(kb);
		return 1;
	}
	printf("added\n");
	if (!next_line())
		return 1;
	move_of(&m, pols);
	m.spi_in = htonl(0x2001);
	m.spi_out = htonl(0x2002);
	err = kb_child_move(kb, &m);
	if (err)
		printf("move failed: %s\n", kb->kb_error);
	else
		printf("moved\n");
	if (!next_line())
		return 1;
	if (!err && (kb->ops->sa_del(kb, &m.local, m.spi_in) ||
		     kb->ops->sa_del(kb, &m.remote, m.spi_out)))
		printf("delete failed: %s\n", kb->kb_error);
	for (i = 0; i < 3; i++)
		kb_policy_del(kb, &pols[i]);
	printf("deleted\n");
	if (!next_line())
		return 1;
	kbackend_close(kb);
	printf("closed\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct kbackend *kb;

	if (argc != 2 && !(argc == 10 && !strcmp(argv[1], "tcp-tunnel")) &&
	    !((argc == 3 || argc == 4) && !strcmp(argv[1], "sa")) &&
	    !(argc == 3 && !strcmp(argv[1], "move-policies")))
		return 2;
	kb = kbackend_open("xfrm");
	if (!kb)
		return 1;
	if (!strcmp(argv[1], "tcp-tunnel"))
		return tcp_tunnel(kb, argc, argv);
	if (!strcmp(argv[1], "move"))
		return move_tunnel(kb);
	if (!strcmp(argv[1], "move-policies"))
		return move_policies_only(kb, argc > 2 ? argv[2] : NULL);
	if (!strcmp(argv[1], "policy")) {
		struct kb_policy p = { 0 };

		p.sel.family = AF_INET;
		ip4(&p.sel.src, "192.168.1.0");
		ip4(&p.sel.dst, "192.168.2.0");
		p.sel.src_plen = p.sel.dst_plen = 24;
		p.reqid = 7;
		p.mode = KB_MODE_TUNNEL;
		ip4(&p.tmpl_src, "10.0.0.1");
		ip4(&p.tmpl_dst, "10.0.0.2");
		p.dir = KB_DIR_OUT;
		if (kb->ops->policy_add(kb, &p)) {
			printf("policy failed: %s\n", kb->kb_error);
			return 1;
		}
		p.dir = KB_DIR_IN;
		ip4(&p.sel.src, "192.168.2.0");
		ip4(&p.sel.dst, "192.168.1.0");
		ip4(&p.tmpl_src, "10.0.0.2");
		ip4(&p.tmpl_dst, "10.0.0.1");
		p.priority = 3001;
		if (kb->ops->policy_add(kb, &p)) {
			printf("policy failed: %s\n", kb->kb_error);
			return 1;
		}
		/* One already in the kernel (this one, or the stale out
		 * policy the test put there first) is replaced. */
		if (kb->ops->policy_add(kb, &p)) {
			printf("policy already in the kernel not replaced: %s\n", kb->kb_error);
			return 1;
		}
		/* The shared-policy layer's priority change, in place. */
		p.priority = 3000;
		if (kb->ops->policy_update(kb, &p)) {
			printf("policy update failed: %s\n", kb->kb_error);
			return 1;
		}
		return added_until_stdin(kb);
	}
	if (!strcmp(argv[1], "sa")) {
		static const uint8_t key[20] = { 1, 2, 3 };
		struct kb_sa sa;
		char line[16];

		gcm_sa(&sa, 0x1000, "10.0.0.1", "10.0.0.2", key, sizeof(key));
		sa.replay_window = argc > 2 ? (uint32_t)atoi(argv[2]) : 32;
		sa.esn = argc > 3 && !strcmp(argv[3], "esn");
		if (kb->ops->sa_add(kb, &sa)) {
			printf("sa failed: %s\n", kb->kb_error);
		} else {
			printf("sa ok\n");
			/* With a window given, held until a line on stdin. */
			fflush(stdout);
			if (argc > 2 && !fgets(line, sizeof(line), stdin))
				return 1;
		}
		kbackend_close(kb);
		return 0;
	}
	return 2;
}
