// SPDX-License-Identifier: GPL-2.0
/*
 * The stateless COOKIE of RFC 7296 §2.6.
 */
#include <errno.h>
#include <sys/uio.h>

#include "addr.h"
#include "crypto.h"

int crypto_cookie(const uint8_t *secret, size_t secretlen,
		  const uint8_t *ni, size_t nilen,
		  const struct sockaddr *ipi, const uint8_t spii[8],
		  uint8_t out[32])
{
	const uint8_t *ip;
	size_t iplen = addr_bytes((const void *)ipi, &ip);
	struct iovec iov[3];

	if (!iplen)
		return -EAFNOSUPPORT;
	/* RFC 7296 §2.6: Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi
	 * | <secret>); a keyed HMAC is the same idea, the version byte is
	 * the caller's to prepend. */
	iov[0].iov_base = (void *)ni;
	iov[0].iov_len = nilen;
	iov[1].iov_base = (void *)ip;
	iov[1].iov_len = iplen;
	iov[2].iov_base = (void *)spii;
	iov[2].iov_len = 8;
	return crypto_hmac("SHA256", secret, secretlen, iov, 3, out, 32);
}
