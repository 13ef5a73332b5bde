// SPDX-License-Identifier: GPL-2.0
#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

const char *addr_str(const struct sockaddr_storage *ss, char *out, size_t len)
{
	const uint8_t *p;
	char a[INET6_ADDRSTRLEN] = "?";

	if (addr_bytes(ss, &p))
		inet_ntop(ss->ss_family, p, a, sizeof(a));
	snprintf(out, len, "%s", a);
	return out;
}

const char *addr_port_str(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	addr_str(ss, a, sizeof(a));
	if (ss->ss_family == AF_INET6)
		snprintf(out, len, "[%s]:%u", a, addr_port(ss));
	else if (ss->ss_family == AF_INET)
		snprintf(out, len, "%s:%u", a, addr_port(ss));
	else
		snprintf(out, len, "?");
	return out;
}

uint16_t addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

int addr_parse(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	return -1;
}

void addr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

size_t addr_bytes(const struct sockaddr_storage *ss, const uint8_t **p)
{
	if (ss->ss_family == AF_INET) {
		*p = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
		return 4;
	}
	if (ss->ss_family == AF_INET6) {
		*p = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
		return 16;
	}
	*p = NULL;
	return 0;
}

void addr_from_bytes(struct sockaddr_storage *ss, int af, const uint8_t *p)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)af;
	if (af == AF_INET)
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, p, 4);
	else
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, p, 16);
}

void addr_ip_set(struct addr_ip *ip, const struct sockaddr_storage *ss)
{
	const uint8_t *p;
	size_t n = addr_bytes(ss, &p);

	memset(ip, 0, sizeof(*ip));
	if (!n)
		return;
	ip->family = (uint8_t)ss->ss_family;
	memcpy(ip->a, p, n);
}

const struct sockaddr_storage *addr_ip_ss(const struct addr_ip *ip,
					  struct sockaddr_storage *ss)
{
	if (ip->family == AF_INET || ip->family == AF_INET6)
		addr_from_bytes(ss, ip->family, ip->a);
	else
		memset(ss, 0, sizeof(*ss));
	return ss;
}

bool addr_ip_is(const struct addr_ip *ip, const struct sockaddr_storage *ss)
{
	const uint8_t *p;
	size_t n = addr_bytes(ss, &p);

	return n && ip->family == ss->ss_family && !memcmp(ip->a, p, n);
}

bool addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const uint8_t *pa, *pb;
	size_t n = addr_bytes(a, &pa);

	return n && a->ss_family == b->ss_family && addr_bytes(b, &pb) == n &&
	       !memcmp(pa, pb, n);
}

bool addr_port_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return addr_eq(a, b) && addr_port(a) == addr_port(b);
}

socklen_t addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					   sizeof(struct sockaddr_in);
}
