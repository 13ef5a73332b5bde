/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The differences between the kernels tcpike.ko builds against (Debian 12's
 * 6.1 and the 6.12 test kernel), in one place so that the rest of the
 * module has no #if.
 *
 * ESP in TCP (RFC 9329, net/xfrm/espintcp.c) is a bool Kconfig option per
 * family (CONFIG_INET_ESPINTCP, CONFIG_INET6_ESPINTCP): a kernel has it
 * built in or not at all, so the kernel the module is built against says
 * whether it exists.  Debian's 6.1 is built without it; tcp_is_ulp_esp()
 * is only exported when it is there.
 */
#ifndef _TCPIKE_COMPAT_H
#define _TCPIKE_COMPAT_H

#include <linux/in6.h>
#include <net/inet_connection_sock.h>
#include <net/inet_hashtables.h>
#include <net/inet6_hashtables.h>
#include <net/sock.h>
#include <net/tcp_states.h>
#include <net/xfrm.h>
#if IS_ENABLED(CONFIG_XFRM_ESPINTCP)
#include <net/espintcp.h>
#endif

/*
 * The events group needs CAP_NET_ADMIN to join (GENL_MCAST_CAP_NET_ADMIN:
 * 6.7, and 6.1.66 in the stable series, which Debian 12's 6.1 has).  A
 * kernel without it would let every user read the events: refuse to build.
 */
#include <net/genetlink.h>
#ifndef GENL_MCAST_CAP_NET_ADMIN
/* Without it the events group would be open to every user. */
#error "this kernel has no GENL_MCAST_CAP_NET_ADMIN (6.1.66 or later is needed)"
#endif

#ifndef TCP_ENCAP_ESPINTCP		/* include/uapi/linux/udp.h, since 5.6 */
#define TCP_ENCAP_ESPINTCP	7
#endif

/* True when the kernel's ESP can carry SAs of family over TCP. */
static inline bool tcpike_have_espintcp(unsigned short family)
{
	return family == AF_INET ? IS_ENABLED(CONFIG_INET_ESPINTCP) :
	       family == AF_INET6 && IS_ENABLED(CONFIG_INET6_ESPINTCP);
}

/* Whether the socket is a TCP socket with the espintcp ULP, the test
 * esp_output uses when it looks the SA's connection up.
 */
static inline bool tcpike_sk_is_espintcp(struct sock *sk)
{
#if IS_ENABLED(CONFIG_XFRM_ESPINTCP)
	return tcp_is_ulp_esp(sk);
#else
	return false;
#endif
}

/*
 * The established TCP socket of the namespace whose remote end is
 * raddr:rport and local end laddr:lport (ports in network order), with a
 * reference (release with sock_gen_put), or NULL.  The ehash is per
 * namespace or shared (net.ipv4.tcp_child_ehash_entries); both kernels
 * point net->ipv4.tcp_death_row.hashinfo at the right one.
 */
static inline struct sock *tcpike_tcp_lookup(struct net *net, unsigned short family,
					     const xfrm_address_t *raddr, __be16 rport,
					     const xfrm_address_t *laddr, __be16 lport)
{
	struct inet_hashinfo *h = net->ipv4.tcp_death_row.hashinfo;

	if (family == AF_INET)
		return __inet_lookup_established(net, h, raddr->a4, rport, laddr->a4,
						 ntohs(lport), 0, 0);
	if (IS_ENABLED(CONFIG_IPV6))
		return __inet6_lookup_established(net, h, &raddr->in6, rport, &laddr->in6,
						  ntohs(lport), 0, 0);
	return NULL;
}

#endif
