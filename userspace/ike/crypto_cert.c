// SPDX-License-Identifier: GPL-2.0
/*
 * Keys and X.509 certificates: loading (private keys only from files no one
 * else can read), chain validation against the configured CAs, matching an
 * IKE identity to a certificate (RFC 4945 §3.1), and CERTREQ CA hashes
 * (RFC 7296 §3.7).
 */
#define LOG_SUBSYS LOG_SUB_CRYPTO

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "file.h"
#include "log.h"

static const char *ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown error";
}

/*
 * A regular file, root's or ours (file.h: a FIFO or device named here
 * cannot block the daemon), not readable by group or others when private.
 */
static FILE *open_cred(const char *path, bool private, struct cred_err *why)
{
	char err[sizeof(why->msg)];
	int fd = file_open_regular(path, FILE_OWNER | (private ? FILE_NO_GROUP_READ : 0),
				   err, sizeof(err));
	FILE *f = fd < 0 ? NULL : fdopen(fd, "rb");

	if (fd >= 0 && !f) {
		snprintf(err, sizeof(err), "'%s': %s", path, strerror(errno));
		close(fd);
	}
	if (!f && why) {
		why->opened = false;
		why->unsupported = false;
		snprintf(why->msg, sizeof(why->msg), "%s", err);
	}
	return f;
}

/* The file was opened but holds no "what": why says so, with OpenSSL's
 * reason when it has one. */
static void cred_unread(struct cred_err *why, const char *path, const char *what,
			const char *reason)
{
	if (why) {
		why->opened = true;
		why->unsupported = false;
		snprintf(why->msg, sizeof(why->msg), "'%s': no %s in it (PEM or DER)%s%s", path,
			 what, reason ? ": " : "", reason ? reason : "");
	}
}

/*
 * The ML-DSA parameter set of an unencrypted PKCS#8 key in f (PEM or DER)
 * that OpenSSL could not load, NONE when it is none: reads the
 * PrivateKeyInfo without knowing the key's algorithm.  The PEM's DER is
 * read into the secure heap and wiped, the PrivateKeyInfo's key octets
 * are wiped when it is freed; a DER file is read as d2i_PrivateKey_fp()
 * reads it.
 */
static enum crypto_sig_scheme p8_mldsa(FILE *f)
{
	/* id-ml-dsa-44/65/87 (FIPS 204; RFC 9881) */
	static const char *const oids[] = {
		"2.16.840.1.101.3.4.3.17", "2.16.840.1.101.3.4.3.18", "2.16.840.1.101.3.4.3.19",
	};
	enum crypto_sig_scheme s = CRYPTO_SIG_NONE;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	const ASN1_OBJECT *alg;
	char name[64], *pname = NULL;
	long len = 0;
	BIO *b;

	rewind(f);
	b = BIO_new_fp(f, BIO_NOCLOSE);
	if (b && PEM_bytes_read_bio_secmem(&der, &len, &pname, PEM_STRING_PKCS8INF, b, NULL,
					   NULL) == 1) {
		p = der;
		p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len);
		OPENSSL_secure_clear_free(der, (size_t)len);
	}
	OPENSSL_free(pname);
	BIO_free(b);
	if (!p8) {
		rewind(f);
		p8 = d2i_PKCS8_PRIV_KEY_INFO_fp(f, NULL);
	}
	if (p8 && PKCS8_pkey_get0(&alg, NULL, NULL, NULL, p8) == 1 &&
	    OBJ_obj2txt(name, sizeof(name), alg, 1) > 0)
		for (int i = 0; i < 3; i++)
			if (!strcmp(name, oids[i]))
				s = CRYPTO_SIG_MLDSA_44 + i;
	PKCS8_PRIV_KEY_INFO_free(p8);	/* wipes the key octets */
	ERR_clear_error();
	return s;
}

/* An ML-DSA key this OpenSSL cannot use: why says what is needed. */
static void mldsa_unsupported(struct cred_err *why, const char *path,
			      enum crypto_sig_scheme s)
{
	if (!why)
		return;
	why->opened = true;
	why->unsupported = true;
#if OPENSSL_VERSION_NUMBER < 0x30500000L
	snprintf(why->msg, sizeof(why->msg),
		 "'%s': an %s key (FIPS 204): ML-DSA needs OpenSSL 3.5 or later; this tcpiked was built with OpenSSL %s",
		 path, crypto_sig_scheme_name(s), OPENSSL_VERSION_STR);
#else
	snprintf(why->msg, sizeof(why->msg),
		 "'%s': an %s key (FIPS 204), which OpenSSL %s cannot use here (do its providers leave ML-DSA out?)",
		 path, crypto_sig_scheme_name(s), OpenSSL_version(OPENSSL_VERSION_STRING));
#endif
}

EVP_PKEY *crypto_load_privkey(const char *path, struct cred_err *why)
{
	enum crypto_sig_scheme mldsa;
	const char *reason;
	EVP_PKEY *k = NULL;
	FILE *f = open_cred(path, true, why);

	if (!f)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (!k) {
		rewind(f);
		k = d2i_PrivateKey_fp(f, NULL);
	}
	reason = ossl_reason();
	if (!k && (mldsa = p8_mldsa(f)) && !crypto_sig_supported(mldsa))
		mldsa_unsupported(why, path, mldsa);
	else if (!k)
		cred_unread(why, path, "private key", reason);
	ERR_clear_error();
	fclose(f);
	return k;
}

X509 *crypto_load_cert(const char *path, struct cred_err *why)
{
	X509 *x;
	FILE *f = open_cred(path, false, why);

	if (!f)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	if (!x) {
		rewind(f);
		x = d2i_X509_fp(f, NULL);
	}
	if (!x)
		cred_unread(why, path, "certificate", ossl_reason());
	ERR_clear_error();
	fclose(f);
	return x;
}

STACK_OF(X509) *crypto_load_ca(const char *path, struct cred_err *why)
{
	STACK_OF(X509) *sk;
	X509 *x;
	FILE *f = open_cred(path, false, why);

	if (!f)
		return NULL;
	sk = sk_X509_new_null();
	while (sk && (x = PEM_read_X509(f, NULL, NULL, NULL)))
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			break;
		}
	ERR_clear_error();	/* the end of the file reads as an error */
	if (sk && sk_X509_num(sk) == 0) {
		/* Perhaps a single DER certificate. */
		rewind(f);
		x = d2i_X509_fp(f, NULL);
		if (x && !sk_X509_push(sk, x))
			X509_free(x);
		ERR_clear_error();
	}
	fclose(f);
	if (!sk || sk_X509_num(sk) == 0) {
		cred_unread(why, path, "certificate", sk ? NULL : strerror(ENOMEM));
		sk_X509_pop_free(sk, X509_free);
		return NULL;
	}
	return sk;
}

X509 *crypto_cert_from_der(const uint8_t *der, size_t len)
{
	const uint8_t *p = der;
	X509 *x;

	if (len > INT32_MAX)
		return NULL;
	x = d2i_X509(NULL, &p, (long)len);
	/* The CERT payload holds exactly one certificate. */
	if (x && p != der + len) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}

int crypto_cert_to_der(X509 *x, struct buf *out)
{
	uint8_t *p = NULL;
	int n;

	buf_reset(out);
	n = i2d_X509(x, &p);
	if (n <= 0)
		return -EIO;
	n = buf_append(out, p, (size_t)n) ? -ENOMEM : 0;
	OPENSSL_free(p);
	return n;
}

int crypto_cert_verify(X509 *ee, STACK_OF(X509) *intermediates,
		       STACK_OF(X509) *cas, time_t at)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	char subj[256];
	int i, ret = -ENOMEM;

	if (!store || !ctx)
		goto out;
	for (i = 0; cas && i < sk_X509_num(cas); i++)
		if (!X509_STORE_add_cert(store, sk_X509_value(cas, i)))
			goto out;
	if (!X509_STORE_CTX_init(ctx, store, ee, intermediates))
		goto out;
	if (at)
		X509_STORE_CTX_set_time(ctx, 0, at);
	if (X509_verify_cert(ctx) == 1) {
		ret = 0;
		goto out;
	}
	X509_NAME_oneline(X509_get_subject_name(ee), subj, sizeof(subj));
	log_warn("crypto: certificate %s rejected: %s", subj,
		 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	ret = -EKEYREJECTED;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ret;
}

static bool san_matches(X509 *x, int type, const uint8_t *id, size_t len)
{
	GENERAL_NAMES *gens;
	bool found = false;
	int i;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens && !found && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s;
		int gtype;

		s = GENERAL_NAME_get0_value(g, &gtype);
		if (gtype != type || !s || (size_t)ASN1_STRING_length(s) != len)
			continue;
		if (type == GEN_IPADD)
			found = !memcmp(ASN1_STRING_get0_data(s), id, len);
		else	/* DNS names and mail domains: case-insensitive */
			found = !strncasecmp((const char *)ASN1_STRING_get0_data(s),
					     (const char *)id, len);
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return found;
}

bool crypto_cert_matches_id(X509 *x, uint8_t id_type, const uint8_t *id,
			    size_t len)
{
	uint8_t *der = NULL;
	bool ok = false;
	int n;

	if (!len)
		return false;
	/* An embedded NUL never belongs in a name (NUL-prefix attacks). */
	if ((id_type == CRYPTO_ID_FQDN || id_type == CRYPTO_ID_RFC822_ADDR) &&
	    memchr(id, 0, len))
		return false;
	switch (id_type) {
	case CRYPTO_ID_IPV4_ADDR:
		return len == 4 && san_matches(x, GEN_IPADD, id, len);
	case CRYPTO_ID_IPV6_ADDR:
		return len == 16 && san_matches(x, GEN_IPADD, id, len);
	case CRYPTO_ID_FQDN:
		return san_matches(x, GEN_DNS, id, len);
	case CRYPTO_ID_RFC822_ADDR:
		return san_matches(x, GEN_EMAIL, id, len);
	case CRYPTO_ID_DER_ASN1_DN:
		n = i2d_X509_NAME(X509_get_subject_name(x), &der);
		ok = n > 0 && (size_t)n == len && !memcmp(der, id, len);
		OPENSSL_free(der);
		return ok;
	}
	return false;
}

/* SHA-1 of the DER SubjectPublicKeyInfo (RFC 7296 §3.7). */
static int spki_sha1(X509 *x, uint8_t out[20])
{
	uint8_t *der = NULL;
	unsigned int mdlen = 0;
	int n, ret = -EIO;

	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (n > 0 && EVP_Digest(der, (size_t)n, out, &mdlen, EVP_sha1(), NULL) &&
	    mdlen == 20)
		ret = 0;
	OPENSSL_free(der);
	return ret;
}

int crypto_certreq_data(STACK_OF(X509) *cas, struct buf *out)
{
	uint8_t h[20];
	int i, ret;

	for (i = 0; cas && i < sk_X509_num(cas); i++) {
		ret = spki_sha1(sk_X509_value(cas, i), h);
		if (ret)
			return ret;
		if (buf_append(out, h, 20))
			return -ENOMEM;
	}
	return 0;
}

bool crypto_certreq_match(STACK_OF(X509) *cas, const uint8_t *data,
			  size_t len)
{
	struct cursor c;
	const uint8_t *p;
	uint8_t h[20];
	int i;

	for (i = 0; cas && i < sk_X509_num(cas); i++) {
		if (spki_sha1(sk_X509_value(cas, i), h))
			continue;
		cur_init(&c, data, len);
		while ((p = cur_take(&c, 20)))
			if (!memcmp(p, h, 20))
				return true;
	}
	return false;
}
