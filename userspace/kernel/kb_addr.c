// SPDX-License-Identifier: GPL-2.0
/*
 * A road warrior's virtual IP on the host (RFC 7296 §3.15), through
 * rtnetlink: RTM_NEWADDR of a host prefix (/32, /128) on the interface
 * that holds the IKE SA's local address, or lo when none does, as
 * strongSwan's kernel-netlink adds one (IPv6 with IFA_F_NODAD: no
 * duplicate detection holds the address back); RTM_DELADDR on whichever
 * interface has it when the IKE SA goes.  The xfrm and module backends
 * share it; none installs nothing.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "backend.h"

/* The index of the interface holding a (port aside), or 0. */
static unsigned int if_holding(const struct sockaddr_storage *a)
{
	struct ifaddrs *ifs, *i;
	unsigned int idx = 0;

	if (getifaddrs(&ifs))
		return 0;
	for (i = ifs; i && !idx; i = i->ifa_next) {
		struct sockaddr_storage s = { 0 };

		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET &&
				     i->ifa_addr->sa_family != AF_INET6))
			continue;
		memcpy(&s, i->ifa_addr, i->ifa_addr->sa_family == AF_INET ?
			sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		if (addr_eq(&s, a))
			idx = if_nametoindex(i->ifa_name);
	}
	freeifaddrs(ifs);
	return idx;
}

/* One RTM_NEWADDR or RTM_DELADDR, its ack read: 0 or -errno, the
 * kernel's reason in kb_error. */
static int addr_msg(struct kbackend *kb, int type, const struct sockaddr_storage *a,
		    unsigned int ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
		char attrs[64];
	} req;
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
		char more[256];
	} ack;
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };
	const uint8_t *p;
	size_t l = addr_bytes(a, &p);
	struct rtattr *rta;
	ssize_t n;
	int fd, r;

	if (!l)
		return -EAFNOSUPPORT;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.nh.nlmsg_type = (uint16_t)type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
			     (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
	req.nh.nlmsg_seq = 1;
	req.ifa.ifa_family = a->ss_family;
	req.ifa.ifa_prefixlen = (uint8_t)(l * 8);
	req.ifa.ifa_flags = a->ss_family == AF_INET6 ? IFA_F_NODAD : 0;
	req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	req.ifa.ifa_index = ifindex;
	for (int t = 0; t < 2; t++) {
		rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
		rta->rta_type = t ? IFA_ADDRESS : IFA_LOCAL;
		rta->rta_len = (unsigned short)RTA_LENGTH(l);
		memcpy(RTA_DATA(rta), p, l);
		req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&k, sizeof(k)) < 0) {
		r = -errno;
		goto out;
	}
	n = recv(fd, &ack, sizeof(ack), 0);
	if (n < 0)
		r = -errno;
	else if ((size_t)n < NLMSG_LENGTH(sizeof(ack.err)) || ack.nh.nlmsg_type != NLMSG_ERROR)
		r = -EPROTO;
	else
		r = ack.err.error;
out:
	if (r)
		snprintf(kb->kb_error, sizeof(kb->kb_error), "rtnetlink %s: %s",
			 type == RTM_NEWADDR ? "RTM_NEWADDR" : "RTM_DELADDR", strerror(-r));
	close(fd);
	return r;
}

int kb_vip_add(struct kbackend *kb, const struct sockaddr_storage *vip,
	       const struct sockaddr_storage *near, char *ifname)
{
	unsigned int idx = near ? if_holding(near) : 0;

	if (!idx)
		idx = if_nametoindex("lo");
	if (!idx) {
		snprintf(kb->kb_error, sizeof(kb->kb_error), "no interface for the address");
		return -ENODEV;
	}
	if (ifname && !if_indextoname(idx, ifname))
		snprintf(ifname, IF_NAMESIZE, "%u", idx);
	return addr_msg(kb, RTM_NEWADDR, vip, idx);
}

int kb_vip_del(struct kbackend *kb, const struct sockaddr_storage *vip)
{
	unsigned int idx = if_holding(vip);

	if (!idx) {
		snprintf(kb->kb_error, sizeof(kb->kb_error), "no interface has the address");
		return -ENOENT;
	}
	return addr_msg(kb, RTM_DELADDR, vip, idx);
}
