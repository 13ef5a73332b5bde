// SPDX-License-Identifier: GPL-2.0
/*
 * IKEv2 crypto: PRF known answers (RFC 4868 §2.7), prf+ and the key
 * schedule against vectors computed independently (Python hmac), key
 * exchange known answers (RFC 5903 §8, RFC 7748 §6.1), MODP agreement and
 * range checks, SK/SKF protection round trips, tamper detection, and
 * decryption of messages sealed by an independent implementation (Python
 * cryptography).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>

#include "crypto.h"
#include "kselftest_harness.h"
#include "leakcheck.h"

/* Hex string (spaces ignored) into a buf. */
static void hex(struct buf *b, const char *s)
{
	unsigned int v;

	buf_reset(b);
	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		if (sscanf(s, "%2x", &v) != 1)
			abort();
		buf_put_u8(b, (uint8_t)v);
		s += 2;
	}
}

static bool eq_hex(const struct buf *b, const char *s)
{
	struct buf want = BUF_INIT;
	bool ok;

	hex(&want, s);
	ok = want.len == b->len && !memcmp(want.data, b->data, b->len);
	if (!ok) {
		size_t i;

		fprintf(stderr, "# got ");
		for (i = 0; i < b->len; i++)
			fprintf(stderr, "%02x", b->data[i]);
		fprintf(stderr, "\n# want %s\n", s);
	}
	buf_free(&want);
	return ok;
}

TEST(prf_rfc4868_vectors)
{
	static const struct {
		uint16_t prf;
		const char *key, *data, *out;
	} v[] = {
		{ CRYPTO_PRF_HMAC_SHA2_256, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
		  "4869205468657265",
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
		{ CRYPTO_PRF_HMAC_SHA2_384, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
		  "4869205468657265",
		  "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
		  "faea9ea9076ede7f4af152e8b2fa9cb6" },
		{ CRYPTO_PRF_HMAC_SHA2_512, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
		  "4869205468657265",
		  "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
		  "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854" },
		{ CRYPTO_PRF_HMAC_SHA2_256, "4a656665",
		  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ CRYPTO_PRF_HMAC_SHA2_512, "4a656665",
		  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		  "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
		  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737" },
	};
	struct buf k = BUF_INIT, d = BUF_INIT, out = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hex(&k, v[i].key);
		hex(&d, v[i].data);
		ASSERT_EQ(0, crypto_prf(v[i].prf, k.data, k.len, d.data, d.len, &out));
		ASSERT_EQ(crypto_prf_len(v[i].prf), out.len);
		ASSERT_TRUE(eq_hex(&out, v[i].out));
	}
	ASSERT_EQ(-ENOTSUP, crypto_prf(2, k.data, k.len, d.data, d.len, &out));
	buf_free(&k);
	buf_free(&d);
	buf_wipe(&out);
}

/* RFC 4868 AUTH256-1: HMAC-SHA-256-128 is the first 16 bytes, and that is
 * what the CBC SK ICV uses (checked end to end in sk_cbc_known_message). */
TEST(integ_rfc4868_truncation)
{
	struct buf k = BUF_INIT, d = BUF_INIT, out = BUF_INIT;

	hex(&k, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
	hex(&d, "4869205468657265");
	ASSERT_EQ(0, crypto_prf(CRYPTO_PRF_HMAC_SHA2_256, k.data, k.len, d.data,
				d.len, &out));
	out.len = crypto_integ_icv_len(CRYPTO_INTEG_HMAC_SHA2_256_128);
	ASSERT_TRUE(eq_hex(&out, "198a607eb44bfbc69903a0f1cf2bbdc5"));
	ASSERT_EQ(32, crypto_integ_key_len(CRYPTO_INTEG_HMAC_SHA2_256_128));
	ASSERT_EQ(24, crypto_integ_icv_len(CRYPTO_INTEG_HMAC_SHA2_384_192));
	ASSERT_EQ(32, crypto_integ_icv_len(CRYPTO_INTEG_HMAC_SHA2_512_256));
	ASSERT_EQ(0, crypto_integ_key_len(2));	/* HMAC-SHA1-96: not ours */
	buf_free(&k);
	buf_free(&d);
	buf_wipe(&out);
}

TEST(prf_plus_vector_and_limit)
{
	uint8_t key[32];
	struct buf out = BUF_INIT;
	const char seed[] = "tcpike prf+ seed";
	size_t i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	ASSERT_EQ(0, crypto_prf_plus(CRYPTO_PRF_HMAC_SHA2_256, key, 32,
				     (const uint8_t *)seed, strlen(seed), 100, &out));
	ASSERT_TRUE(eq_hex(&out,
		"f950ed2ae3706fb25faf287e039f876303938f300990fa7a962232f71d492a60"
		"d06064fe664d3cc88d88b728857d094d8814c714d5cc6768b8d91ec2da1b327c"
		"b6a2a6139d9d90bdee5bba28b429f79e8f5282eae1e2a11eae77e2e6fdf98ff3"
		"bc41d6e7"));
	/* 255 blocks is the most the one-octet counter allows. */
	ASSERT_EQ(0, crypto_prf_plus(CRYPTO_PRF_HMAC_SHA2_256, key, 32,
				     (const uint8_t *)seed, 3, 255 * 32, &out));
	ASSERT_EQ(-EINVAL, crypto_prf_plus(CRYPTO_PRF_HMAC_SHA2_256, key, 32,
					   (const uint8_t *)seed, 3,
					   255 * 32 + 1, &out));
	buf_wipe(&out);
}

static void fill(uint8_t *p, uint8_t v, size_t n)
{
	memset(p, v, n);
}

/* Trailing zero bits of HMAC-SHA2-256(k, s), computed here independently. */
static int tz_of(const uint8_t *k, size_t kl, const uint8_t *s, size_t sl)
{
	struct buf out = BUF_INIT;
	int z = 0, i;

	if (crypto_prf(CRYPTO_PRF_HMAC_SHA2_256, k, kl, s, sl, &out))
		return -1;
	for (i = (int)out.len - 1; i >= 0; i--) {
		uint8_t b = out.data[i];

		if (b) {
			while (!(b & 1)) {
				b >>= 1;
				z++;
			}
			break;
		}
		z += 8;
	}
	buf_free(&out);
	return z;
}

/* RFC 8019 §7.1.3 / §7.1.4: four different keys, each PRF(K, cookie)
 * with enough trailing zero bits; the checker finds the weakest one. */
TEST(puzzle_solve_and_check)
{
	const uint8_t ck[] = "\x01tcpike cookie for the puzzle test";
	const uint16_t prf = CRYPTO_PRF_HMAC_SHA2_256;
	struct buf sol = BUF_INIT;
	uint8_t bad[16], big[4 * 33] = { 0 };
	int i, z, zmin = 256;

	ASSERT_EQ(0, crypto_puzzle_solve(prf, ck, sizeof(ck) - 1, 10, &sol));
	ASSERT_EQ(16, sol.len);
	for (i = 0; i < 4; i++) {
		z = tz_of(sol.data + 4 * i, 4, ck, sizeof(ck) - 1);
		zmin = z < zmin ? z : zmin;
		EXPECT_GE(z, 10);
	}
	/* the checker reports the smallest count, as computed here */
	EXPECT_EQ(zmin, crypto_puzzle_zbc(prf, ck, sizeof(ck) - 1, sol.data, sol.len));
	/* another cookie: the same keys are (almost surely) no solution */
	EXPECT_LT(crypto_puzzle_zbc(prf, (const uint8_t *)"other", 5, sol.data, sol.len), 10);
	/* malformed: two equal keys, not a multiple of 4, keys longer than
	 * the PRF's 32 bytes, empty */
	memcpy(bad, sol.data, 16);
	memcpy(bad + 4, bad, 4);
	EXPECT_EQ(-EINVAL, crypto_puzzle_zbc(prf, ck, sizeof(ck) - 1, bad, 16));
	EXPECT_EQ(-EINVAL, crypto_puzzle_zbc(prf, ck, sizeof(ck) - 1, sol.data, 15));
	for (i = 0; i < 4; i++)
		big[i * 33] = (uint8_t)i;
	EXPECT_EQ(-EINVAL, crypto_puzzle_zbc(prf, ck, sizeof(ck) - 1, big, sizeof(big)));
	EXPECT_EQ(-EINVAL, crypto_puzzle_zbc(prf, ck, sizeof(ck) - 1, sol.data, 0));
	/* difficulty 0: the initiator picks CRYPTO_PUZZLE_FREE_ZBC */
	ASSERT_EQ(0, crypto_puzzle_solve(prf, ck, sizeof(ck) - 1, 0, &sol));
	EXPECT_GE(crypto_puzzle_zbc(prf, ck, sizeof(ck) - 1, sol.data, sol.len),
		  CRYPTO_PUZZLE_FREE_ZBC);
	/* too hard, or a PRF we do not have: refused */
	EXPECT_EQ(-E2BIG, crypto_puzzle_solve(prf, ck, sizeof(ck) - 1,
					      CRYPTO_PUZZLE_MAX_ZBC + 1, &sol));
	EXPECT_EQ(-ENOTSUP, crypto_puzzle_solve(4 /* AES128_XCBC */, ck, 5, 1, &sol));
	buf_free(&sol);
}

TEST(key_schedule_initial_rekey_child)
{
	struct ike_suite gcm = { CRYPTO_ENCR_AES_GCM_16, 256,
				 CRYPTO_PRF_HMAC_SHA2_256, CRYPTO_INTEG_NONE,
				 CRYPTO_KE_MODP_2048, false, { 0 } };
	struct ike_suite cbc = { CRYPTO_ENCR_AES_CBC, 256,
				 CRYPTO_PRF_HMAC_SHA2_384,
				 CRYPTO_INTEG_HMAC_SHA2_256_128,
				 CRYPTO_KE_ECP_256, false, { 0 } };
	uint8_t ni[32], nr[32], gir[256], spii[8], spir[8];
	struct ike_keys k, k2;
	struct buf km = BUF_INIT;
	int i;

	fill(ni, 0x11, 32);
	fill(nr, 0x22, 32);
	fill(gir, 0x33, 256);
	for (i = 0; i < 8; i++) {
		spii[i] = (uint8_t)(1 + i);
		spir[i] = (uint8_t)(9 + i);
	}
	ike_keys_init(&k);
	ike_keys_init(&k2);
	ASSERT_EQ(0, crypto_ike_keys(&gcm, ni, 32, nr, 32, gir, 256, spii, spir, &k));
	ASSERT_EQ(32, k.sk_d.len);
	ASSERT_EQ(0, k.sk_ai.len);
	ASSERT_EQ(36, k.sk_ei.len);	/* 256-bit key + 4-byte salt */
	ASSERT_EQ(32, k.sk_pi.len);
	ASSERT_TRUE(eq_hex(&k.sk_d, "9f903712f48381691f886c084aab2b360cceb8a762fb95d62d2712161ea3045f"));
	ASSERT_TRUE(eq_hex(&k.sk_er, "60e9028de057946446ccbd28d788273d1a3236f08a3a5087f0ab4d96f03bb0fb11dc78d1"));
	ASSERT_TRUE(eq_hex(&k.sk_pr, "8f138e87c3ee5dfb3710dabda1e60bb64311a7c0b4d93b4ac7db76553359222b"));

	/* Rekey to a suite with another PRF: SKEYSEED uses the old one. */
	ASSERT_EQ(0, crypto_ike_rekey_keys(&cbc, CRYPTO_PRF_HMAC_SHA2_256,
					   &k.sk_d, gir, 256, ni, 32, nr, 32,
					   spii, spir, &k2));
	ASSERT_TRUE(eq_hex(&k2.sk_d, "f905a5ec8e7ebde9a137068fd1f7457a9e8b0bf1868175a803ff8d596e2895c78447f390eb9319312f23785f7e34dc10"));
	ASSERT_TRUE(eq_hex(&k2.sk_ar, "ff2763903fe4ba9aab7ed62dc8b8e688921ac184231cf31ad73215780f392ee8"));
	ASSERT_EQ(32, k2.sk_ei.len);

	ASSERT_EQ(0, crypto_child_keymat(CRYPTO_PRF_HMAC_SHA2_256, &k.sk_d,
					 gir, 256, ni, 32, nr, 32, 72, &km));
	ASSERT_TRUE(eq_hex(&km, "4022d84814252bca82623073324d371939a7e067d740b3ff92bdb2bb752e39e1c4dc1579bfbceb5ada9778225cdb8ba792dd6242449eb6455fc123aa7edf9c0bfe3310a1832651dd"));

	/* AEAD with an integrity transform is refused. */
	gcm.integ = CRYPTO_INTEG_HMAC_SHA2_256_128;
	ASSERT_EQ(-ENOTSUP, crypto_ike_keys(&gcm, ni, 32, nr, 32, gir, 256,
					    spii, spir, &k));
	ASSERT_EQ(0, k.sk_d.len);
	ike_keys_wipe(&k);
	ike_keys_wipe(&k2);
	buf_wipe(&km);
}

TEST(suites_and_esp_names)
{
	struct crypto_esp_algs a;

	ASSERT_EQ(20, crypto_encr_key_len(CRYPTO_ENCR_AES_GCM_16, 128));
	ASSERT_EQ(36, crypto_encr_key_len(CRYPTO_ENCR_CHACHA20_POLY1305, 0));
	ASSERT_EQ(16, crypto_encr_key_len(CRYPTO_ENCR_AES_CBC, 128));
	ASSERT_FALSE(crypto_encr_supported(CRYPTO_ENCR_AES_CBC, 0));
	ASSERT_FALSE(crypto_encr_supported(3, 0));	/* 3DES */

	ASSERT_EQ(0, crypto_esp_xfrm_names(CRYPTO_ENCR_AES_GCM_16, 256, 0, &a));
	ASSERT_TRUE(a.aead);
	ASSERT_STREQ("rfc4106(gcm(aes))", a.enc_name);
	ASSERT_EQ(128, a.icv_bits);
	ASSERT_EQ(36, a.enc_key_len);
	ASSERT_EQ(72, crypto_esp_keymat_len(&a));

	ASSERT_EQ(0, crypto_esp_xfrm_names(CRYPTO_ENCR_CHACHA20_POLY1305, 0, 0, &a));
	ASSERT_STREQ("rfc7539esp(chacha20,poly1305)", a.enc_name);

	ASSERT_EQ(0, crypto_esp_xfrm_names(CRYPTO_ENCR_AES_CBC, 128,
					   CRYPTO_INTEG_HMAC_SHA2_384_192, &a));
	ASSERT_FALSE(a.aead);
	ASSERT_STREQ("cbc(aes)", a.enc_name);
	ASSERT_STREQ("hmac(sha384)", a.auth_name);
	ASSERT_EQ(192, a.trunc_bits);
	ASSERT_EQ(2 * (16 + 48), crypto_esp_keymat_len(&a));
	ASSERT_EQ(-ENOTSUP, crypto_esp_xfrm_names(CRYPTO_ENCR_AES_CBC, 128, 0, &a));
}

/* --- key exchange ------------------------------------------------------- */

static void ecp_kat(struct __test_metadata *_metadata, uint16_t group,
		    const char *i, const char *gi, const char *r,
		    const char *gr, const char *shared)
{
	struct buf bi = BUF_INIT, bgi = BUF_INIT, br = BUF_INIT, bgr = BUF_INIT;
	struct buf pub = BUF_INIT, s1 = BUF_INIT, s2 = BUF_INIT;
	struct ike_kex *ki, *kr;

	hex(&bi, i);
	hex(&bgi, gi);
	hex(&br, r);
	hex(&bgr, gr);
	ki = kex_new_from_private(group, bi.data, bi.len, bgi.data, bgi.len);
	kr = kex_new_from_private(group, br.data, br.len, bgr.data, bgr.len);
	ASSERT_NE(NULL, ki);
	ASSERT_NE(NULL, kr);
	ASSERT_EQ(0, kex_public(ki, &pub));
	ASSERT_TRUE(eq_hex(&pub, gi));
	ASSERT_EQ(kex_public_len(group), pub.len);
	ASSERT_EQ(0, kex_derive(ki, bgr.data, bgr.len, &s1));
	ASSERT_EQ(0, kex_derive(kr, bgi.data, bgi.len, &s2));
	ASSERT_TRUE(eq_hex(&s1, shared));
	ASSERT_TRUE(eq_hex(&s2, shared));
	/* A point off the curve: flip a bit of y. */
	bgr.data[bgr.len - 1] ^= 1;
	ASSERT_EQ(-EPROTO, kex_derive(ki, bgr.data, bgr.len, &s1));
	ASSERT_EQ(0, s1.len);
	ASSERT_EQ(-EMSGSIZE, kex_derive(ki, bgr.data, bgr.len - 1, &s1));
	kex_free(ki);
	kex_free(kr);
	buf_free(&bi);
	buf_free(&bgi);
	buf_free(&br);
	buf_free(&bgr);
	buf_free(&pub);
	buf_wipe(&s1);
	buf_wipe(&s2);
}

TEST(ecp256_rfc5903)
{
	ecp_kat(_metadata, CRYPTO_KE_ECP_256,
		"C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433",
		"DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180"
		"5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
		"C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53",
		"D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63"
		"56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
		"D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE");
}

TEST(ecp384_rfc5903)
{
	ecp_kat(_metadata, CRYPTO_KE_ECP_384,
		"099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655"
		"E35B5380 41E649EE 3FAEF896 783AB194",
		"667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6"
		"DE3AC808 ACB4BDB4 C88732AE E95F41AA"
		"9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E"
		"EB9FCFF3 C2C947DA E69B4C63 4573A81C",
		"41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942"
		"E0308312 916B8ED2 960E4BD5 5A7448FC",
		"E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D"
		"0D1AC43A 0336DEF9 6FDA41D0 774A3571"
		"DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF"
		"F83FA401 42209DFF 5EAAD96D B9E6386C",
		"11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4"
		"D6031355 69B9E9D0 9CF5D4A2 70F59746");
}

TEST(ecp521_rfc5903)
{
	ecp_kat(_metadata, CRYPTO_KE_ECP_521,
		"0037ADE9 319A89F4 DABDB3EF 411AACCC A5123C61 ACAB57B5 393DCE47 608172A0"
		"95AA85A3 0FE1C295 2C6771D9 37BA9777 F5957B26 39BAB072 462F68C2 7A57382D 4A52",
		"0015417E 84DBF28C 0AD3C278 713349DC 7DF153C8 97A1891B D98BAB43 57C9ECBE"
		"E1E3BF42 E00B8E38 0AEAE57C 2D107564 94188594 2AF5A7F4 601723C4 195D176C ED3E"
		"017CAE20 B6641D2E EB695786 D8C94614 6239D099 E18E1D5A 514C739D 7CB4A10A"
		"D8A78801 5AC405D7 799DC75E 7B7D5B6C F2261A6A 7F150743 8BF01BEB 6CA3926F 9582",
		"0145BA99 A847AF43 793FDD0E 872E7CDF A16BE30F DC780F97 BCCC3F07 8380201E"
		"9C677D60 0B343757 A3BDBF2A 3163E4C2 F869CCA7 458AA4A4 EFFC311F 5CB15168 5EB9",
		"00D0B397 5AC4B799 F5BEA16D 5E13E9AF 971D5E9B 984C9F39 728B5E57 39735A21"
		"9B97C356 436ADC6E 95BB0352 F6BE64A6 C2912D4E F2D0433C ED2B6171 640012D9 460F"
		"015C6822 6383956E 3BD066E7 97B623C2 7CE0EAC2 F551A10C 2C724D98 52077B87"
		"220B6536 C5C408A1 D2AEBB8E 86D678AE 49CB5709 1F473229 6579AB44 FCD17F0F C56A",
		"01144C7D 79AE6956 BC8EDB8E 7C787C45 21CB086F A64407F9 7894E5E6 B2D79B04"
		"D1427E73 CA4BAA24 0A347868 59810C06 B3C715A3 A8CC3151 F2BEE417 996D19F3 DDEA");
}

TEST(x25519_rfc7748)
{
	struct buf a = BUF_INIT, b = BUF_INIT, pub = BUF_INIT, s = BUF_INIT;
	struct ike_kex *ka, *kb;
	uint8_t zero[32] = { 0 };

	hex(&a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	hex(&b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	ka = kex_new_from_private(CRYPTO_KE_CURVE25519, a.data, a.len, NULL, 0);
	kb = kex_new_from_private(CRYPTO_KE_CURVE25519, b.data, b.len, NULL, 0);
	ASSERT_NE(NULL, ka);
	ASSERT_NE(NULL, kb);
	ASSERT_EQ(0, kex_public(ka, &pub));
	ASSERT_TRUE(eq_hex(&pub, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
	ASSERT_EQ(0, kex_public(kb, &pub));
	ASSERT_TRUE(eq_hex(&pub, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
	ASSERT_EQ(0, kex_derive(ka, pub.data, pub.len, &s));
	ASSERT_TRUE(eq_hex(&s, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"));
	/* RFC 7748 §6.1: a low-order point gives all zeros: rejected. */
	ASSERT_EQ(-EPROTO, kex_derive(ka, zero, 32, &s));
	ASSERT_EQ(0, s.len);
	ASSERT_EQ(-EMSGSIZE, kex_derive(ka, zero, 31, &s));
	/* The peer's key object is reused (crypto_kex.c ecx_public): each
	 * derivation sees its own peer value, the other side's too. */
	ASSERT_EQ(0, kex_public(ka, &pub));
	ASSERT_EQ(0, kex_derive(kb, pub.data, pub.len, &s));
	ASSERT_TRUE(eq_hex(&s, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"));
	ASSERT_EQ(0, kex_derive(ka, pub.data, pub.len, &s));	/* a's own: another secret */
	hex(&a, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	ASSERT_NE(0, memcmp(s.data, a.data, a.len));
	ASSERT_EQ(0, kex_public(kb, &pub));
	ASSERT_EQ(0, kex_derive(ka, pub.data, pub.len, &s));
	ASSERT_TRUE(eq_hex(&s, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"));
	kex_free(ka);
	kex_free(kb);
	buf_wipe(&a);
	buf_wipe(&b);
	buf_free(&pub);
	buf_wipe(&s);
}

/* Both sides of an exchange of group id: whether they agree. */
static bool ecx_exchange(uint16_t id)
{
	struct ike_kex *a = kex_new(id), *b = kex_new(id);
	struct buf pa = BUF_INIT, pb = BUF_INIT, sa = BUF_INIT, sb = BUF_INIT;
	bool ok = a && b && !kex_public(a, &pa) && !kex_public(b, &pb) &&
		  !kex_derive(a, pb.data, pb.len, &sa) && !kex_derive(b, pa.data, pa.len, &sb) &&
		  sa.len == kex_public_len(id) && sa.len == sb.len &&
		  !memcmp(sa.data, sb.data, sa.len);

	kex_free(a);
	kex_free(b);
	buf_free(&pa);
	buf_free(&pb);
	buf_wipe(&sa);
	buf_wipe(&sb);
	return ok;
}

#ifdef __SANITIZE_ADDRESS__
/* An X25519 exchange in a thread: NULL, or (void *)1 on a failure (for
 * x25519_peer_key_freed_when_its_thread_ends, the asan build's). */
static void *x25519_exchange(void *arg)
{
	(void)arg;
	return ecx_exchange(CRYPTO_KE_CURVE25519) ? NULL : (void *)1;
}
#endif

/*
 * Key pairs generated and peer keys imported in two threads at once, and
 * the kex pool's thread generating beside them: each thread's import
 * contexts are its own (crypto_kex.c struct ecx_tls), made by the first
 * use in each thread, which the barrier makes simultaneous.  Every
 * exchange must agree, in X25519 and in X448.  Built with
 * -fsanitize=thread it also fails if two threads share one: OpenSSL 3's
 * EVP_PKEY_fromdata only reads its context, so sharing gives no wrong
 * answer to see, only the race on making it.
 */
#define ECX_THREAD_ROUNDS	200

static pthread_barrier_t ecx_start;

static void *ecx_rounds(void *arg)
{
	static const uint16_t ids[] = { CRYPTO_KE_CURVE25519, CRYPTO_KE_CURVE448 };
	uintptr_t bad = 0;

	(void)arg;
	pthread_barrier_wait(&ecx_start);
	for (int n = 0; n < ECX_THREAD_ROUNDS; n++)
		bad += !ecx_exchange(ids[n % 2]);
	return (void *)bad;
}

TEST(ecx_generate_and_import_in_threads_at_once)
{
	pthread_t t[2];
	void *bad;
	int i;

	ASSERT_EQ(0, kex_pool_start(4));
	ASSERT_EQ(0, pthread_barrier_init(&ecx_start, NULL, 2));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, ecx_rounds, NULL));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &bad));
		EXPECT_EQ(NULL, bad);
	}
	pthread_barrier_destroy(&ecx_start);
	kex_pool_stop();
}

/* Each thread that derives X25519 keeps a peer key object for the next
 * derivation (crypto_kex.c ecx_public) and its import contexts: a thread
 * that ends frees them.
 * LeakSanitizer tells, checking as the test leaves (leakcheck.c): only in
 * the asan build. */
TEST(x25519_peer_key_freed_when_its_thread_ends)
{
#ifdef __SANITIZE_ADDRESS__
	pthread_t t;
	void *rc;

	ASSERT_EQ(NULL, x25519_exchange(NULL));	/* this thread's contexts made */
	ASSERT_EQ(0, pthread_create(&t, NULL, x25519_exchange, NULL));
	ASSERT_EQ(0, pthread_join(t, &rc));
	ASSERT_EQ(NULL, rc);
#else
	SKIP(return, "LeakSanitizer tells: the asan build only");
#endif
}

static void agree(struct __test_metadata *_metadata, uint16_t group)
{
	struct ike_kex *i = kex_new(group), *r = kex_new_responder(group);
	struct buf pi = BUF_INIT, pr = BUF_INIT, si = BUF_INIT, sr = BUF_INIT;

	ASSERT_NE(NULL, i);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(group, kex_group(i));
	ASSERT_EQ(group, kex_group(r));
	ASSERT_EQ(0, kex_public(i, &pi));
	ASSERT_EQ(kex_public_len(group), pi.len);
	/* The responder's order: the initiator's value first (for a KEM it
	 * is what the responder's value is made from). */
	ASSERT_EQ(0, kex_derive(r, pi.data, pi.len, &sr));
	ASSERT_EQ(0, kex_public(r, &pr));
	ASSERT_EQ(kex_response_len(group), pr.len);
	ASSERT_EQ(0, kex_derive(i, pr.data, pr.len, &si));
	ASSERT_EQ(si.len, sr.len);
	ASSERT_EQ(0, memcmp(si.data, sr.data, si.len));
	kex_free(i);
	kex_free(r);
	buf_free(&pi);
	buf_free(&pr);
	buf_wipe(&si);
	buf_wipe(&sr);
}

TEST(kex_agree_all_groups)
{
	static const uint16_t g[] = {
		CRYPTO_KE_MODP_2048, CRYPTO_KE_MODP_3072, CRYPTO_KE_ECP_256,
		CRYPTO_KE_ECP_384, CRYPTO_KE_ECP_521, CRYPTO_KE_CURVE25519,
		CRYPTO_KE_CURVE448,
	};
	size_t n;

	for (n = 0; n < sizeof(g) / sizeof(g[0]); n++)
		agree(_metadata, g[n]);
	ASSERT_EQ(NULL, kex_new(2));	/* MODP-1024: refused */
	ASSERT_EQ(NULL, kex_new_responder(2));
}

/* Whether this OpenSSL has ML-KEM, asked of OpenSSL, not of crypto_kex.c. */
static bool openssl_has_mlkem(void)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "ML-KEM-768", NULL);

	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return c != NULL;
}

/* OpenSSL's own encapsulation to the initiator's key: the secret that
 * kex_derive() must decapsulate from ct. */
static void mlkem_encap(struct __test_metadata *_metadata, const char *name,
			const struct buf *ek, struct buf *ct, uint8_t ss[32])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key_ex(NULL, name, NULL, ek->data, ek->len);
	EVP_PKEY_CTX *c = pk ? EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL) : NULL;
	size_t ctlen = 0, sslen = 32;

	ASSERT_NE(NULL, c);
	ASSERT_EQ(1, EVP_PKEY_encapsulate_init(c, NULL));
	ASSERT_EQ(1, EVP_PKEY_encapsulate(c, NULL, &ctlen, NULL, &sslen));
	buf_reset(ct);
	ASSERT_NE(NULL, buf_extend(ct, ctlen));
	ASSERT_EQ(1, EVP_PKEY_encapsulate(c, ct->data, &ctlen, ss, &sslen));
	ASSERT_EQ(32, sslen);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(pk);
}

/*
 * ML-KEM (draft-ietf-ipsecme-ikev2-mlkem, FIPS 203): the initiator's KE
 * data is the encapsulation key (800, 1184, 1568 bytes), the responder's
 * the ciphertext (768, 1088, 1568), the shared secret the KEM's 32 bytes.
 * Lengths are checked exactly each way; an encapsulation key that fails
 * FIPS 203's modulus check is refused; a changed ciphertext decapsulates
 * to another secret (implicit rejection), not to an error.
 */
TEST(kex_mlkem)
{
	static const struct {
		uint16_t id;
		const char *name;
		size_t ek, ct;
	} m[] = {
		{ 35, "ML-KEM-512", 800, 768 },
		{ 36, "ML-KEM-768", 1184, 1088 },
		{ 37, "ML-KEM-1024", 1568, 1568 },
	};
	struct buf ek = BUF_INIT, ct = BUF_INIT, si = BUF_INIT, sr = BUF_INIT;
	uint8_t ss[32];

	for (size_t n = 0; n < 3; n++) {
		struct ike_kex *i, *r;

		if (!openssl_has_mlkem()) {
			/* OpenSSL 3.0-3.4: not offered, not made. */
			ASSERT_FALSE(kex_supported(m[n].id));
			ASSERT_EQ(NULL, kex_new(m[n].id));
			ASSERT_EQ(NULL, kex_new_responder(m[n].id));
			ASSERT_EQ(0, kex_public_len(m[n].id));
			continue;
		}
		ASSERT_TRUE(kex_supported(m[n].id));
		ASSERT_EQ(m[n].ek, kex_public_len(m[n].id));
		ASSERT_EQ(m[n].ct, kex_response_len(m[n].id));
		agree(_metadata, m[n].id);
		i = kex_new(m[n].id);
		r = kex_new_responder(m[n].id);
		ASSERT_NE(NULL, i);
		ASSERT_NE(NULL, r);
		/* A responder has nothing to send before it has the key. */
		ASSERT_EQ(-EINVAL, kex_public(r, &ct));
		ASSERT_EQ(0, kex_public(i, &ek));
		ASSERT_EQ(m[n].ek, ek.len);
		ASSERT_EQ(-EMSGSIZE, kex_derive(r, ek.data, ek.len - 1, &sr));
		ASSERT_EQ(0, sr.len);
		/* OpenSSL's encapsulation, our decapsulation. */
		mlkem_encap(_metadata, m[n].name, &ek, &ct, ss);
		ASSERT_EQ(m[n].ct, ct.len);
		ASSERT_EQ(-EMSGSIZE, kex_derive(i, ct.data, ct.len - 1, &si));
		ASSERT_EQ(-EMSGSIZE, kex_derive(i, ct.data, ct.len + 1, &si));
		ASSERT_EQ(0, kex_derive(i, ct.data, ct.len, &si));
		ASSERT_EQ(32, si.len);
		ASSERT_EQ(0, memcmp(si.data, ss, 32));
		ct.data[5] ^= 0x40;
		ASSERT_EQ(0, kex_derive(i, ct.data, ct.len, &si));
		ASSERT_NE(0, memcmp(si.data, ss, 32));
		/* FIPS 203 §7.2: a coefficient of q or more (12 bits 0xfff). */
		ek.data[0] = 0xff;
		ek.data[1] |= 0x0f;
		ASSERT_EQ(-EPROTO, kex_derive(r, ek.data, ek.len, &sr));
		ASSERT_EQ(0, sr.len);
		kex_free(i);
		kex_free(r);
	}
	buf_free(&ek);
	buf_free(&ct);
	buf_wipe(&si);
	buf_wipe(&sr);
}

/* Waits up to 10 s for the pool to hold want pairs. */
static int pool_wait(unsigned int want)
{
	struct kex_pool_stats st;
	int i;

	for (i = 0; i < 1000; i++) {
		kex_pool_stats(&st);
		if (st.ready >= want)
			return 0;
		usleep(10000);
	}
	return -1;
}

/* The key pair pool: a group joins on first use, pairs are handed out
 * once each (all different) and work; a fork child neither has the
 * producer nor hands out its parent's pairs; after stop, kex_new goes on
 * generating in place. */
TEST(kex_pool)
{
	struct buf pub[9] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT,
			      BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	struct kex_pool_stats st;
	struct ike_kex *k[9];
	int i, j, status;
	pid_t pid;

	ASSERT_EQ(-EINVAL, kex_pool_start(0));
	ASSERT_EQ(-EINVAL, kex_pool_start(KEX_POOL_MAX + 1));
	ASSERT_EQ(0, kex_pool_start(8));
	ASSERT_EQ(-EALREADY, kex_pool_start(8));
	k[0] = kex_new(CRYPTO_KE_CURVE25519);	/* a miss: X25519 joins */
	ASSERT_NE(NULL, k[0]);
	ASSERT_EQ(0, pool_wait(8));
	kex_pool_stats(&st);
	EXPECT_TRUE(st.running);
	EXPECT_EQ(1, st.misses);
	EXPECT_EQ(0, st.hits);
	EXPECT_EQ(8, st.ready);		/* never more than the depth */

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct ike_kex *c;

		bool bad;

		kex_pool_stats(&st);
		c = kex_new(CRYPTO_KE_CURVE25519);
		bad = st.running || st.ready || !c;
		kex_free(c);
		/* The producer thread did not follow: its memory looks leaked. */
		leakcheck_exit_unchecked(bad ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	for (i = 1; i < 9; i++) {
		k[i] = kex_new(CRYPTO_KE_CURVE25519);
		ASSERT_NE(NULL, k[i]);
	}
	kex_pool_stats(&st);
	EXPECT_EQ(8, st.hits);
	for (i = 0; i < 9; i++)
		ASSERT_EQ(0, kex_public(k[i], &pub[i]));
	for (i = 0; i < 9; i++)
		for (j = i + 1; j < 9; j++)
			EXPECT_NE(0, memcmp(pub[i].data, pub[j].data, pub[i].len));
	kex_pool_stop();
	kex_pool_stats(&st);
	EXPECT_FALSE(st.running);
	EXPECT_EQ(0, st.ready);
	/* Pairs handed out stay valid after the stop. */
	for (i = 0; i < 9; i++) {
		struct buf s1 = BUF_INIT, s2 = BUF_INIT;

		j = (i + 1) % 9;
		ASSERT_EQ(0, kex_derive(k[i], pub[j].data, pub[j].len, &s1));
		ASSERT_EQ(0, kex_derive(k[j], pub[i].data, pub[i].len, &s2));
		EXPECT_EQ(0, memcmp(s1.data, s2.data, s1.len));
		buf_wipe(&s1);
		buf_wipe(&s2);
	}
	for (i = 0; i < 9; i++) {
		kex_free(k[i]);
		buf_free(&pub[i]);
	}
	agree(_metadata, CRYPTO_KE_CURVE25519);
}

#define MODP2048_P \
	"FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1" \
	"29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD" \
	"EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245" \
	"E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED" \
	"EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D" \
	"C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F" \
	"83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D" \
	"670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B" \
	"E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9" \
	"DE2BCBF6 95581718 3995497C EA956AE5 15D22618 98FA0510" \
	"15728E5A 8AACAA68 FFFFFFFF FFFFFFFF"

TEST(modp2048_rejects_bad_values)
{
	struct ike_kex *k = kex_new(CRYPTO_KE_MODP_2048);
	struct buf pub = BUF_INIT, s = BUF_INIT, v = BUF_INIT;
	uint8_t *p;

	ASSERT_NE(NULL, k);
	ASSERT_EQ(0, kex_public(k, &pub));
	ASSERT_EQ(256, pub.len);
	/* y = 1 */
	p = buf_extend(&v, 256);
	p[255] = 1;
	ASSERT_EQ(-EPROTO, kex_derive(k, v.data, 256, &s));
	/* y = 0 */
	p[255] = 0;
	ASSERT_EQ(-EPROTO, kex_derive(k, v.data, 256, &s));
	/* y = p - 1 (RFC 3526 §3 prime, last byte FF -> FE): rejected,
	 * as is p itself.  p - 2 is in range but, p being 7 mod 8, is a
	 * non-residue outside the order-q subgroup honest peers use
	 * (g = 2 is a residue): refused too (SP 800-56A's full check),
	 * whichever OpenSSL (3.5's own check is the range alone). */
	hex(&v, MODP2048_P);
	ASSERT_EQ(256, v.len);
	ASSERT_EQ(-EPROTO, kex_derive(k, v.data, 256, &s));	/* p */
	v.data[255] = 0xfe;
	ASSERT_EQ(-EPROTO, kex_derive(k, v.data, 256, &s));	/* p-1 */
	ASSERT_EQ(0, s.len);
	v.data[255] = 0xfd;
	ASSERT_EQ(-EPROTO, kex_derive(k, v.data, 256, &s));	/* p-2 */
	memset(v.data, 0xff, 256);
	ASSERT_EQ(-EPROTO, kex_derive(k, v.data, 256, &s));	/* > p */
	p = v.data;
	ASSERT_EQ(-EMSGSIZE, kex_derive(k, pub.data, 255, &s));
	ASSERT_EQ(0, s.len);
	/* 2 and 4 are valid (if weak) subgroup elements. */
	memset(p, 0, 256);
	p[255] = 2;
	ASSERT_EQ(0, kex_derive(k, v.data, 256, &s));
	ASSERT_EQ(256, s.len);
	p[255] = 4;
	ASSERT_EQ(0, kex_derive(k, v.data, 256, &s));
	/* 11, the smallest non-residue mod p: refused as p - 2 is. */
	p[255] = 11;
	ASSERT_EQ(-EPROTO, kex_derive(k, v.data, 256, &s));
	ASSERT_EQ(0, s.len);
	kex_free(k);
	buf_free(&pub);
	buf_free(&v);
	buf_wipe(&s);
}

/* --- SK payloads -------------------------------------------------------- */

/* An IKE header (28 bytes) followed by an SK(F) header, as the engine
 * would build it before crypto_sk_seal(). */
static void mkhdr(struct buf *m, bool skf)
{
	int i;

	buf_reset(m);
	for (i = 0; i < 16; i++)
		buf_put_u8(m, (uint8_t)i);
	buf_put_u8(m, skf ? 53 : 46);	/* next payload SK / SKF */
	buf_put_u8(m, 0x20);
	buf_put_u8(m, 35);		/* INFORMATIONAL */
	buf_put_u8(m, 0x08);
	buf_put_u32(m, 7);
	buf_put_u32(m, 0);		/* length: patched by seal */
	buf_put_u8(m, 41);		/* inner: NOTIFY */
	buf_put_u8(m, 0);
	buf_put_u16(m, 0);
	if (skf) {
		buf_put_u16(m, 2);	/* fragment 2 */
		buf_put_u16(m, 3);	/* of 3 */
	}
}

static void roundtrip(struct __test_metadata *_metadata,
		      const struct ike_suite *s, bool skf)
{
	size_t el = crypto_encr_key_len(s->encr, s->encr_keylen);
	size_t al = crypto_integ_key_len(s->integ);
	struct buf ke = BUF_INIT, ka = BUF_INIT, m = BUF_INIT, pt = BUF_INIT;
	struct sk_ctx k;
	uint8_t plain[100];
	size_t hl = skf ? 8 : 4, plen, bit;
	uint8_t *p;

	p = buf_extend(&ke, el);
	ASSERT_EQ(0, crypto_random(p, el));
	if (al) {
		p = buf_extend(&ka, al);
		ASSERT_EQ(0, crypto_random(p, al));
	}
	ASSERT_EQ(0, crypto_sk_init(&k, s, &ke, &ka));
	ASSERT_EQ(0, crypto_random(plain, sizeof(plain)));
	for (plen = 0; plen <= sizeof(plain); plen += 33) {
		mkhdr(&m, skf);
		ASSERT_EQ(0, crypto_sk_seal(&k, &m, 28, skf, plain, plen));
		ASSERT_EQ(28 + hl + crypto_sk_sealed_len(&k, plen), m.len);
		ASSERT_EQ(m.len, (size_t)m.data[24] << 24 | m.data[25] << 16 |
				 m.data[26] << 8 | m.data[27]);
		ASSERT_EQ(m.len - 28, (size_t)m.data[30] << 8 | m.data[31]);
		ASSERT_EQ(0, crypto_sk_open(&k, m.data, m.len, 28, skf, &pt));
		ASSERT_EQ(plen, pt.len);
		if (plen) {
			ASSERT_EQ(0, memcmp(plain, pt.data, plen));
		}
		/* Any single flipped bit of header, IV, ciphertext or ICV is
		 * caught (length fields give -EMSGSIZE, the rest -EBADMSG). */
		for (bit = 0; bit < m.len * 8; bit += 7) {
			int r;

			m.data[bit / 8] ^= (uint8_t)(1 << (bit % 8));
			r = crypto_sk_open(&k, m.data, m.len, 28, skf, &pt);
			ASSERT_TRUE(r == -EBADMSG || r == -EMSGSIZE);
			m.data[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		}
		/* Truncated: wrong sizes, distinct error. */
		ASSERT_EQ(-EMSGSIZE, crypto_sk_open(&k, m.data, m.len - 1, 28, skf, &pt));
	}
	/* Fragment sizing: the largest plaintext for a room fits, one more
	 * byte does not. */
	for (plen = 0; plen < 200; plen++) {
		size_t mp = crypto_sk_max_plain(&k, plen);

		if (mp) {
			ASSERT_LE(crypto_sk_sealed_len(&k, mp), plen);
		}
		ASSERT_GT(crypto_sk_sealed_len(&k, mp + 1), plen);
	}
	crypto_sk_wipe(&k);
	buf_wipe(&ke);
	buf_wipe(&ka);
	buf_free(&m);
	buf_wipe(&pt);
}

TEST(sk_roundtrip_and_tamper)
{
	struct ike_suite s[] = {
		{ CRYPTO_ENCR_AES_GCM_16, 128, CRYPTO_PRF_HMAC_SHA2_256, 0, 0, false, { 0 } },
		{ CRYPTO_ENCR_AES_GCM_16, 256, CRYPTO_PRF_HMAC_SHA2_256, 0, 0, false, { 0 } },
		{ CRYPTO_ENCR_AES_GCM_8, 256, CRYPTO_PRF_HMAC_SHA2_256, 0, 0, false, { 0 } },
		{ CRYPTO_ENCR_CHACHA20_POLY1305, 0, CRYPTO_PRF_HMAC_SHA2_256, 0, 0, false, { 0 } },
		{ CRYPTO_ENCR_AES_CBC, 128, CRYPTO_PRF_HMAC_SHA2_256,
		  CRYPTO_INTEG_HMAC_SHA2_256_128, 0, false, { 0 } },
		{ CRYPTO_ENCR_AES_CBC, 256, CRYPTO_PRF_HMAC_SHA2_512,
		  CRYPTO_INTEG_HMAC_SHA2_512_256, 0, false, { 0 } },
	};
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		roundtrip(_metadata, &s[i], false);
		roundtrip(_metadata, &s[i], true);
	}
}

/* Messages sealed by Python's `cryptography` (independent implementation)
 * with fixed keys and IV; crypto_sk_open() must recover the plaintext. */
static void known_message(struct __test_metadata *_metadata,
			  const struct ike_suite *s, const char *ekey,
			  const char *akey, const char *msg)
{
	struct buf ke = BUF_INIT, ka = BUF_INIT, m = BUF_INIT, pt = BUF_INIT;
	struct sk_ctx k;

	hex(&ke, ekey);
	hex(&ka, akey);
	hex(&m, msg);
	ASSERT_EQ(0, crypto_sk_init(&k, s, &ke, &ka));
	ASSERT_EQ(0, crypto_sk_open(&k, m.data, m.len, 28, false, &pt));
	ASSERT_EQ(15, pt.len);
	ASSERT_EQ(0, memcmp(pt.data, "inner payloads!", 15));
	crypto_sk_wipe(&k);
	buf_free(&ke);
	buf_free(&ka);
	buf_free(&m);
	buf_free(&pt);
}

TEST(sk_known_messages)
{
	struct ike_suite gcm = { CRYPTO_ENCR_AES_GCM_16, 256, CRYPTO_PRF_HMAC_SHA2_256, 0, 0, false, { 0 } };
	struct ike_suite cc = { CRYPTO_ENCR_CHACHA20_POLY1305, 0, CRYPTO_PRF_HMAC_SHA2_256, 0, 0, false, { 0 } };
	struct ike_suite cbc = { CRYPTO_ENCR_AES_CBC, 128, CRYPTO_PRF_HMAC_SHA2_256,
				 CRYPTO_INTEG_HMAC_SHA2_256_128, 0, false, { 0 } };
	const char *k32s = "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f01020304";

	known_message(_metadata, &gcm, k32s, "",
		"000102030405060708090a0b0c0d0e0f2e20230800000000000000482900002c"
		"09090909090909099e557c93ea15f1b1022217e8b2477e64b239b401aa1646b2"
		"0031c70683848107");
	known_message(_metadata, &cc, k32s, "",
		"000102030405060708090a0b0c0d0e0f2e20230800000000000000482900002c"
		"0909090909090909646a9e1ef8aed2c2e245458375b10fe2073d4a7bb0c36d43"
		"7d9d4c07432afba6");
	known_message(_metadata, &cbc, "000102030405060708090a0b0c0d0e0f",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"000102030405060708090a0b0c0d0e0f2e202308000000000000005029000034"
		"07070707070707070707070707070707f8581b3936227c15f602f0ef48aaf8bb"
		"6e513a03d9b02939c2d8bfd3252ec61c");
}

/* A pad length byte larger than the ciphertext under a valid tag (sealed
 * by Python's AESGCM: plaintext 01 02 03 c8): the distinct -EPROTO. */
TEST(sk_bad_pad_length)
{
	struct ike_suite s = { CRYPTO_ENCR_AES_GCM_16, 128, CRYPTO_PRF_HMAC_SHA2_256, 0, 0, false, { 0 } };
	struct buf ke = BUF_INIT, m = BUF_INIT, pt = BUF_INIT;
	struct sk_ctx k;

	hex(&ke, "404142434445464748494a4b4c4d4e4f01020304");
	hex(&m, "000102030405060708090a0b0c0d0e0f2e202308000000000000003c29000020"
		"090909090909090953da10502e5b403a83c8157d0828197ce5379326");
	ASSERT_EQ(0, crypto_sk_init(&k, &s, &ke, NULL));
	ASSERT_EQ(-EPROTO, crypto_sk_open(&k, m.data, m.len, 28, false, &pt));
	ASSERT_EQ(0, pt.len);
	/* SK payload length disagreeing with the message: -EMSGSIZE. */
	m.data[31]--;
	ASSERT_EQ(-EMSGSIZE, crypto_sk_open(&k, m.data, m.len, 28, false, &pt));
	crypto_sk_wipe(&k);
	buf_wipe(&ke);
	buf_free(&m);
	buf_free(&pt);
}

TEST(natd_and_cookie)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(500) };
	struct sockaddr_in b = a;
	uint8_t spii[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, spir[8] = { 0 };
	uint8_t h1[20], h2[20], c1[32], c2[32];
	uint8_t secret[32] = { 9 }, ni[32] = { 7 };

	inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
	inet_pton(AF_INET, "192.0.2.1", &b.sin_addr);
	b.sin_port = htons(4500);
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(4500) };
	struct buf h = BUF_INIT;

	inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr);
	/* Expected values: Python hashlib.sha1 over the RFC 7296 §2.23 input. */
	ASSERT_EQ(0, crypto_natd_hash(spii, spir, (void *)&a, h1));
	buf_append(&h, h1, 20);
	ASSERT_TRUE(eq_hex(&h, "644b4575455bd6fcc1efe2be8162a9218e448e5f"));
	ASSERT_EQ(0, crypto_natd_hash(spii, spir, (void *)&a6, h1));
	buf_reset(&h);
	buf_append(&h, h1, 20);
	ASSERT_TRUE(eq_hex(&h, "98c75483db80168697635aa7844504963e87de33"));
	buf_free(&h);
	ASSERT_EQ(0, crypto_natd_hash(spii, spir, (void *)&b, h2));
	ASSERT_NE(0, memcmp(h1, h2, 20));
	ASSERT_EQ(0, crypto_cookie(secret, 32, ni, 32, (void *)&a, spii, c1));
	ASSERT_EQ(0, crypto_cookie(secret, 32, ni, 32, (void *)&a, spii, c2));
	ASSERT_EQ(0, memcmp(c1, c2, 32));
	spii[0] ^= 1;
	ASSERT_EQ(0, crypto_cookie(secret, 32, ni, 32, (void *)&a, spii, c2));
	ASSERT_NE(0, memcmp(c1, c2, 32));
}

/* One pass of EVP cipher c (key, 12-byte IV for AEAD, 16 for CBC) over
 * 48 bytes: ciphertext and, for AEAD, tag into out (64 bytes). */
static bool cipher_once(const EVP_CIPHER *c, bool aead, const uint8_t *key,
			const uint8_t *iv, uint8_t *out)
{
	static const uint8_t aad[16] = { 0xaa }, in[48] = { 1, 2, 3 };
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int l, ok;

	memset(out, 0, 64);
	ok = ctx && EVP_EncryptInit_ex(ctx, c, NULL, key, iv) &&
	     (!aead || EVP_EncryptUpdate(ctx, NULL, &l, aad, sizeof(aad))) &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) &&
	     EVP_EncryptUpdate(ctx, out, &l, in, sizeof(in)) &&
	     EVP_EncryptFinal_ex(ctx, out + l, &l) &&
	     (!aead || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + 48));
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* The digests and ciphers fetched once (crypto_fetch.c) are the named
 * algorithms: each gives what OpenSSL's built-in object gives, on the
 * first use and again after the others and another key were used, so
 * nothing of one use is left in them for the next. */
TEST(fetched_algorithms_match_builtin)
{
	static const struct {
		enum crypto_cipher_id id;
		const EVP_CIPHER *(*builtin)(void);
		bool aead;
	} ciphers[] = {
		{ CRYPTO_CIPHER_AES_128_CBC, EVP_aes_128_cbc, false },
		{ CRYPTO_CIPHER_AES_192_CBC, EVP_aes_192_cbc, false },
		{ CRYPTO_CIPHER_AES_256_CBC, EVP_aes_256_cbc, false },
		{ CRYPTO_CIPHER_AES_128_GCM, EVP_aes_128_gcm, true },
		{ CRYPTO_CIPHER_AES_192_GCM, EVP_aes_192_gcm, true },
		{ CRYPTO_CIPHER_AES_256_GCM, EVP_aes_256_gcm, true },
		{ CRYPTO_CIPHER_CHACHA20_POLY1305, EVP_chacha20_poly1305, true },
	};
	static const struct {
		enum crypto_md_id id;
		const EVP_MD *(*builtin)(void);
	} mds[] = {
		{ CRYPTO_MD_SHA1, EVP_sha1 },
		{ CRYPTO_MD_SHA2_256, EVP_sha256 },
	};
	uint8_t key[32], key2[32], iv[16] = { 7 }, a[64], b[64], c[64];
	uint8_t d1[EVP_MAX_MD_SIZE], d2[EVP_MAX_MD_SIZE], d3[EVP_MAX_MD_SIZE];
	unsigned int n1, n2, n3;
	struct buf h = BUF_INIT;
	size_t i, j;

	ASSERT_EQ(CRYPTO_CIPHER_COUNT, sizeof(ciphers) / sizeof(ciphers[0]));
	ASSERT_EQ(CRYPTO_MD_COUNT, sizeof(mds) / sizeof(mds[0]));
	for (i = 0; i < sizeof(key); i++) {
		key[i] = (uint8_t)i;
		key2[i] = (uint8_t)(0xff - i);
	}
	for (i = 0; i < CRYPTO_CIPHER_COUNT; i++) {
		ASSERT_EQ(ciphers[i].id, (int)i);
		ASSERT_NE(NULL, crypto_cipher(ciphers[i].id));
		ASSERT_TRUE(cipher_once(ciphers[i].builtin(), ciphers[i].aead, key, iv, a));
		ASSERT_TRUE(cipher_once(crypto_cipher(ciphers[i].id), ciphers[i].aead, key, iv, b));
		EXPECT_EQ(0, memcmp(a, b, sizeof(a))) TH_LOG("cipher %zu, first use", i);
		for (j = 0; j < CRYPTO_CIPHER_COUNT; j++)
			ASSERT_TRUE(cipher_once(crypto_cipher(ciphers[j].id), ciphers[j].aead,
						key2, iv, c));
		ASSERT_TRUE(cipher_once(crypto_cipher(ciphers[i].id), ciphers[i].aead, key2, iv, c));
		EXPECT_NE(0, memcmp(b, c, sizeof(c)));
		ASSERT_TRUE(cipher_once(crypto_cipher(ciphers[i].id), ciphers[i].aead, key, iv, b));
		EXPECT_EQ(0, memcmp(a, b, sizeof(a))) TH_LOG("cipher %zu, after others", i);
	}
	for (i = 0; i < CRYPTO_MD_COUNT; i++) {
		ASSERT_EQ(mds[i].id, (int)i);
		ASSERT_EQ(1, EVP_Digest("abc", 3, d1, &n1, mds[i].builtin(), NULL));
		ASSERT_EQ(1, EVP_Digest("abc", 3, d2, &n2, crypto_md(mds[i].id), NULL));
		ASSERT_EQ(n1, n2);
		EXPECT_EQ(0, memcmp(d1, d2, n1));
		for (j = 0; j < CRYPTO_MD_COUNT; j++)
			ASSERT_EQ(1, EVP_Digest("xyz", 3, d3, &n3, crypto_md(mds[j].id), NULL));
		ASSERT_EQ(1, EVP_Digest("abc", 3, d2, &n2, crypto_md(mds[i].id), NULL));
		EXPECT_EQ(0, memcmp(d1, d2, n1));
	}
	/* SHA-256("abc"), FIPS 180-2 appendix B.1 */
	ASSERT_EQ(0, crypto_sha256("abc", 3, d1));
	buf_append(&h, d1, 32);
	EXPECT_TRUE(eq_hex(&h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	buf_free(&h);
}

/* Small requests come from a block: consecutive draws never repeat
 * bytes, large ones bypass it, and a forked child does not hand out the
 * bytes its parent is about to use.  The same for both blocks (public
 * values, private keys), and they never hand out the same bytes. */
static void check_random_block(struct __test_metadata *_metadata,
			       int (*draw)(void *p, size_t len))
{
	uint8_t a[16], b[16], big[4096], parent[16], child[16], zero[16] = { 0 };
	int fds[2], st;
	pid_t pid;
	int i;

	ASSERT_EQ(0, draw(a, sizeof(a)));
	ASSERT_EQ(0, draw(b, sizeof(b)));
	ASSERT_NE(0, memcmp(a, b, sizeof(a)));
	ASSERT_NE(0, memcmp(a, zero, sizeof(a)));
	/* across the block's refill (1024 bytes / 16) */
	for (i = 0; i < 70; i++) {
		memcpy(a, b, sizeof(a));
		ASSERT_EQ(0, draw(b, sizeof(b)));
		ASSERT_NE(0, memcmp(a, b, sizeof(a)));
	}
	memset(big, 0, sizeof(big));
	ASSERT_EQ(0, draw(big, sizeof(big)));
	ASSERT_NE(0, memcmp(big + 4080, zero, 16));
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		_exit(draw(child, sizeof(child)) == 0 &&
		      write(fds[1], child, sizeof(child)) == (ssize_t)sizeof(child) ? 0 : 1);
	}
	ASSERT_EQ(0, draw(parent, sizeof(parent)));
	ASSERT_EQ((ssize_t)sizeof(child), read(fds[0], child, sizeof(child)));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_EQ(0, st);
	ASSERT_NE(0, memcmp(parent, child, sizeof(child)));
	close(fds[0]);
	close(fds[1]);
}

TEST(random_block_and_fork)
{
	uint8_t a[16], b[16];

	check_random_block(_metadata, crypto_random);
	check_random_block(_metadata, crypto_random_priv);
	ASSERT_EQ(0, crypto_random(a, sizeof(a)));
	ASSERT_EQ(0, crypto_random_priv(b, sizeof(b)));
	EXPECT_NE(0, memcmp(a, b, sizeof(a)));
}

/* X25519 and X448 pairs (made from the private block's bytes): the
 * public value sent is the one of the private key held, X25519(k, 9) and
 * X448(k, 5) (RFC 7748 §6), which a derivation with the base point as
 * the peer's value gives; and every pair is new. */
TEST(kex_ecx_public_is_the_private_keys)
{
	static const struct {
		uint16_t group;
		size_t len;
		uint8_t base;
	} t[] = { { CRYPTO_KE_CURVE25519, 32, 9 }, { CRYPTO_KE_CURVE448, 56, 5 } };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct buf pub = BUF_INIT, pub2 = BUF_INIT, s = BUF_INIT;
		uint8_t base[56] = { t[i].base };
		struct ike_kex *k = kex_new(t[i].group), *k2 = kex_new(t[i].group);

		ASSERT_NE(NULL, k);
		ASSERT_NE(NULL, k2);
		ASSERT_EQ(0, kex_public(k, &pub));
		ASSERT_EQ(0, kex_public(k2, &pub2));
		ASSERT_EQ(t[i].len, pub.len);
		EXPECT_NE(0, memcmp(pub.data, pub2.data, pub.len));
		ASSERT_EQ(0, kex_derive(k, base, t[i].len, &s));
		ASSERT_EQ(pub.len, s.len);
		EXPECT_EQ(0, memcmp(pub.data, s.data, s.len));
		buf_wipe(&s);
		buf_free(&pub);
		buf_free(&pub2);
		kex_free(k);
		kex_free(k2);
	}
}

TEST_HARNESS_MAIN
