// SPDX-License-Identifier: GPL-2.0
/*
 * Drives the xfrm kernel backend for selftests/netns/10-transport-xfrm.sh
 * and vm/2h-module-equivalence.sh:
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

int main(int argc, char **argv)
{
	struct kbackend *kb;

	if (argc != 2 && !(argc == 10 && !strcmp(argv[1], "tcp-tunnel")) &&
	    !((argc == 3 || argc == 4) && !strcmp(argv[1], "sa")))
		return 2;
	kb = kbackend_open("xfrm");
	if (!kb)
		return 1;
	if (!strcmp(argv[1], "tcp-tunnel"))
		return tcp_tunnel(kb, argc, argv);
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
