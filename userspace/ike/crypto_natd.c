// SPDX-License-Identifier: GPL-2.0
/*
 * NAT detection hashes (RFC 7296 §2.23).
 */
#include <errno.h>
#include <netinet/in.h>

#include <openssl/evp.h>

#include "addr.h"
#include "crypto.h"

int crypto_natd_hash(const uint8_t spii[8], const uint8_t spir[8],
		     const struct sockaddr *addr, uint8_t out[20])
{
	const struct sockaddr_storage *ss = (const void *)addr;
	uint16_t port = htons(addr_port(ss));
	const uint8_t *ip;
	size_t iplen = addr_bytes(ss, &ip);
	unsigned int outl = 0;
	EVP_MD_CTX *ctx;
	int ret = 0;

	if (!iplen)
		return -EAFNOSUPPORT;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	/* RFC 7296 §2.23: SHA-1(SPIi | SPIr | IP | Port) */
	if (!EVP_DigestInit_ex(ctx, crypto_md(CRYPTO_MD_SHA1), NULL) ||
	    !EVP_DigestUpdate(ctx, spii, 8) || !EVP_DigestUpdate(ctx, spir, 8) ||
	    !EVP_DigestUpdate(ctx, ip, iplen) ||
	    !EVP_DigestUpdate(ctx, &port, 2) ||
	    !EVP_DigestFinal_ex(ctx, out, &outl) || outl != 20)
		ret = -EIO;
	EVP_MD_CTX_free(ctx);
	return ret;
}
