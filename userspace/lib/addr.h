/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Socket addresses as the daemon keeps them: a struct sockaddr_storage
 * holding an AF_INET or AF_INET6 address and port.  The one place for
 * printing, comparing and changing them (udp.c, tcp.c, the engine, the
 * backends and the tools all use these).
 */
#ifndef TCPIKE_ADDR_H
#define TCPIKE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Room for addr_port_str(): "[" IPv6 "]:" port. */
#define ADDR_STRLEN	(46 + 8)

/* "10.0.0.1" or "fd00::1" into ss (port 0): 0, or -1 when it is neither. */
int addr_parse(const char *s, struct sockaddr_storage *ss);
/* The address alone ("10.0.0.1", "fd00::1"; "?" for another family). */
const char *addr_str(const struct sockaddr_storage *ss, char *out, size_t len);
/* With the port: "10.0.0.1:500", "[fd00::1]:500". */
const char *addr_port_str(const struct sockaddr_storage *ss, char *out, size_t len);
/* Host order; 0 for another family. */
uint16_t addr_port(const struct sockaddr_storage *ss);
/* Host order; nothing for another family. */
void addr_set_port(struct sockaddr_storage *ss, uint16_t port);
/* Same family and address (ports aside). */
bool addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* Same family, address and port. */
bool addr_port_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* The length to hand to bind/connect/sendto: that of sockaddr_in or _in6. */
socklen_t addr_len(const struct sockaddr_storage *ss);
/* The address bytes (4 or 16) and their count; 0 for another family. */
size_t addr_bytes(const struct sockaddr_storage *ss, const uint8_t **p);
/* ss = the address of family af (AF_INET: 4 bytes, else 16) at p, port 0. */
void addr_from_bytes(struct sockaddr_storage *ss, int af, const uint8_t *p);

/* An address without a port in 17 bytes, not a sockaddr_storage's 128:
 * for what is held per SA (a Child SA's outer addresses). */
struct addr_ip {
	uint8_t family;		/* AF_INET, AF_INET6; 0 = none */
	uint8_t a[16];		/* IPv4 in the first 4 */
};

/* ip = the address of ss (its port left out; none for another family). */
void addr_ip_set(struct addr_ip *ip, const struct sockaddr_storage *ss);
/* ip as a sockaddr_storage with port 0 in *ss; returns ss. */
const struct sockaddr_storage *addr_ip_ss(const struct addr_ip *ip,
					  struct sockaddr_storage *ss);
/* ip holds the address of ss (ports aside), as addr_eq. */
bool addr_ip_is(const struct addr_ip *ip, const struct sockaddr_storage *ss);

#endif
