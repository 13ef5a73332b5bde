// SPDX-License-Identifier: GPL-2.0
/*
 * TAP test of the "module" kernel backend (userspace/kernel/kb_module.c).
 *   kb_module --absent   the family is not registered: open says -ENOENT
 *   kb_module            tcpike.ko loaded (VM): SA add/stats/steer/del and
 *                        refusals through the backend ops
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "backend.h"
#include "tcpike_nl.h"

static int n, failed;

static void check(int cond, const char *what, const char *detail)
{
	n++;
	printf("%sok %d %s\n", cond ? "" : "not ", n, what);
	if (!cond) {
		printf("# %s\n", detail);
		failed = 1;
	}
}

/*
 * sa_move (RFC 7296 §2.23): the UDP-encapsulated SA sa (10.0.0.1 ->
 * 10.0.0.9) and its out policy to the peer's new address 10.0.0.7 and port
 * 40001 (SA_MOVE, POLICY_MOVE), then back; a move whose policy is not
 * there leaves the SA where it was; addresses of the wrong family are
 * refused with the kernel's sentence.  sa ends where it began.
 */
static void move_checks(struct kbackend *kb, const struct kb_sa *sa)
{
	struct kb_policy pol = { 0 };
	struct kb_stats st;
	struct kb_move m = { 0 }, back;
	struct sockaddr_storage six;
	int err;

	pol.dir = KB_DIR_OUT;
	pol.sel.family = AF_INET;
	addr_parse("192.168.1.0", &pol.sel.src);
	addr_parse("192.168.2.0", &pol.sel.dst);
	pol.sel.src_plen = pol.sel.dst_plen = 24;
	pol.reqid = sa->reqid;
	pol.tmpl_src = sa->src;
	pol.tmpl_dst = sa->dst;
	err = kb->ops->policy_add(kb, &pol);
	check(err == 0, "move: policy_add", kb->kb_error);
	m.reqid = sa->reqid;
	m.spi_out = sa->spi;
	m.old_local = sa->src;
	m.old_remote = sa->dst;
	m.local = sa->src;
	addr_parse("10.0.0.7", &m.remote);
	m.encap = KB_ENCAP_UDP;
	m.lport = 4500;
	m.rport = 40001;
	m.old_lport = m.old_rport = 4500;
	m.pols = &pol;
	m.n_pols = 1;
	err = kb->ops->sa_move(kb, &m);
	check(err == 0, "sa_move to the peer's new address", kb->kb_error);
	check(kb->ops->sa_stats(kb, &m.remote, sa->spi, &st) == 0, "the SA is on the new address",
	      kb->kb_error);
	check(kb->ops->sa_stats(kb, &sa->dst, sa->spi, &st) == -ENOENT, "and not on the old",
	      kb->kb_error);
	err = kb->ops->policy_del(kb, &pol);
	check(err == 0, "move: policy_del", kb->kb_error);
	/* back, with the policy gone: the SA goes, the policy refuses, the SA
	 * comes back */
	back = m;
	back.old_remote = m.remote;
	back.remote = m.old_remote;
	back.old_rport = m.rport;
	back.rport = m.old_rport;
	err = kb->ops->sa_move(kb, &back);
	check(err == -ENOENT && strstr(kb->kb_error, "policy move: ") &&
	      strstr(kb->kb_error, "no policy with this direction"),
	      "sa_move with a missing policy refused with the kernel's sentence", kb->kb_error);
	check(kb->ops->sa_stats(kb, &m.remote, sa->spi, &st) == 0,
	      "and the SA is where it was", kb->kb_error);
	addr_parse("fd00::7", &six);
	err = tnl_sa_move(kb->priv, &m.remote, sa->spi, &sa->src, &six, 0, 0);
	check(err == -EINVAL && strstr(((struct tnl *)kb->priv)->error,
				       "new destination address length does not match the family"),
	      "sa-move to an address of another family refused", ((struct tnl *)kb->priv)->error);
	err = tnl_sa_move(kb->priv, &m.remote, sa->spi, &sa->src, &sa->dst, 4500, 0);
	check(err == -EINVAL && strstr(((struct tnl *)kb->priv)->error, "both new ports or neither"),
	      "sa-move with one port refused", ((struct tnl *)kb->priv)->error);
	err = tnl_policy_move(kb->priv, &pol, &sa->src, &sa->dst);
	check(err == -ENOENT && strstr(((struct tnl *)kb->priv)->error, "no policy"),
	      "policy-move of a policy not there refused", ((struct tnl *)kb->priv)->error);
	/* back where it began (ports kept as given) */
	err = tnl_sa_move(kb->priv, &m.remote, sa->spi, &sa->src, &sa->dst, 4500, 4500);
	check(err == 0 && kb->ops->sa_stats(kb, &sa->dst, sa->spi, &st) == 0, "sa-move back",
	      ((struct tnl *)kb->priv)->error);
}

int main(int argc, char **argv)
{
	static const uint8_t key[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
					 17, 18, 19, 20 };
	struct kbackend kb = { 0 };
	struct kb_sa sa = { 0 };
	struct kb_stats st = { 0 };
	int err;

	err = kb_module_open(&kb);
	if (argc > 1 && !strcmp(argv[1], "--absent")) {
		check(err == -ENOENT, "open without the family gives -ENOENT", kb.kb_error);
		check(strstr(kb.kb_error, "not found") != NULL, "with a sentence", kb.kb_error);
		printf("1..%d\n", n);
		return failed;
	}
	check(err == 0 && kb.ops == &kb_module_ops && kb.kind == KB_MODULE, "open", kb.kb_error);
	if (err) {
		printf("1..%d\n", n);
		return 1;
	}
	sa.spi = htonl(0x5005);
	sa.reqid = 9;
	addr_parse("10.0.0.1", &sa.src);
	addr_parse("10.0.0.9", &sa.dst);
	snprintf(sa.aead, sizeof(sa.aead), "rfc4106(gcm(aes))");
	sa.aead_icv_bits = 128;
	sa.enc_key = key;
	sa.enc_key_len = sizeof(key);
	sa.replay_window = 32;
	err = kb.ops->sa_add(&kb, &sa);
	check(err == 0, "sa_add", kb.kb_error);
	err = kb.ops->sa_add(&kb, &sa);
	check(err == -EEXIST && strstr(kb.kb_error, "SA add: "), "duplicate refused with the kernel's sentence",
	      kb.kb_error);
	err = kb.ops->sa_stats(&kb, &sa.dst, sa.spi, &st);
	check(err == 0 && st.packets == 0, "sa_stats", kb.kb_error);
	err = kb.ops->sa_steer(&kb, &sa.dst, sa.spi, KB_ENCAP_UDP, 4500, 4500);
	check(err == 0, "sa_steer to UDP 4500", kb.kb_error);
	err = kb.ops->sa_steer(&kb, &sa.dst, sa.spi, KB_ENCAP_TCP, 4500, 4500);
	/* No TCP connection 10.0.0.1:4500 <-> 10.0.0.9:4500 exists; a kernel
	 * without espintcp (Debian's 6.1) refuses earlier, with its reason. */
	check((err == -ENOTCONN && strstr(kb.kb_error, "SA steer: ") &&
	       strstr(kb.kb_error, "no established TCP connection")) ||
	      (err == -EOPNOTSUPP && strstr(kb.kb_error, "no ESP in TCP")),
	      "steer to TCP without the connection refused with the kernel's sentence", kb.kb_error);
	check(kb.ops->event_fd(&kb) >= 0, "event fd", kb.kb_error);
	((struct sockaddr_in *)&sa.src)->sin_port = htons(4500);
	((struct sockaddr_in *)&sa.dst)->sin_port = htons(4500);
	err = kb.ops->keepalive_set(&kb, &sa.src, &sa.dst, 1);
	check(err == 0, "keepalive on", kb.kb_error);
	err = kb.ops->keepalive_set(&kb, &sa.src, &sa.dst, 0);
	check(err == 0, "keepalive off", kb.kb_error);
	err = kb.ops->keepalive_set(&kb, &sa.src, &sa.dst, 0);
	check(err == -ENOENT && strstr(kb.kb_error, "no keepalive"), "keepalive off again refused",
	      kb.kb_error);
	move_checks(&kb, &sa);
	err = kb.ops->sa_del(&kb, &sa.dst, sa.spi);
	check(err == 0, "sa_del", kb.kb_error);
	err = kb.ops->sa_del(&kb, &sa.dst, sa.spi);
	check(err == -ENOENT && kb.kb_error[0], "second sa_del refused", kb.kb_error);
	kb.ops->destroy(&kb);
	check(kb.priv == NULL, "destroy", "priv left");
	printf("1..%d\n", n);
	return failed;
}
