// SPDX-License-Identifier: GPL-2.0
/* tcpiked.conf: the example parses into the expected structure, and every
 * malformed input is refused with "file:line: what was expected". */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "kselftest_harness.h"

/* Copies src to a new 0600 file named from the mkstemp() template path. */
static int copy_private(const char *src, char *path)
{
	char b[4096];
	ssize_t n;
	int in = open(src, O_RDONLY), out = mkstemp(path), r = 0;

	if (in < 0 || out < 0)
		r = -1;
	while (!r && (n = read(in, b, sizeof(b))) > 0)
		if (write(out, b, (size_t)n) != n)
			r = -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return r;
}

static struct config *parse(const char *text, char *err, size_t errlen)
{
	struct config *c = NULL;

	if (config_parse("t.conf", text, strlen(text), &c, err, errlen))
		return NULL;
	return c;
}

#define BASE \
	"connections {\n c {\n  remote_addrs = 10.0.0.2\n" \
	"  local { auth = psk }\n  remote { auth = psk }\n"
#define END " }\n}\n"

TEST(example_file_parses)
{
	struct config *c;
	const struct conn_cfg *cc;
	const struct child_cfg *ch;
	struct id_cfg a, b;
	char err[512];

	char path[] = "/tmp/tcpike-conf-XXXXXX";

	/* The example holds inline secrets: refused at 0644 (as git checks
	 * it out), loaded from a private copy. */
	ASSERT_EQ(0, copy_private("userspace/daemon/tcpiked.conf.example", path));
	chmod(path, 0644);
	ASSERT_EQ(-1, config_load(path, &c, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "secret 'ike-site-b' is in a file accessible by group or others (mode 644)"))
		TH_LOG("%s", err);
	ASSERT_EQ(NULL, c);
	chmod(path, 0600);
	ASSERT_EQ(0, config_load(path, &c, err, sizeof(err)))
		TH_LOG("%s", err);
	unlink(path);
	ASSERT_STREQ("auto", c->daemon.backend);
	ASSERT_EQ(49152, c->daemon.separate_transports_notify);
	ASSERT_EQ(5000, c->daemon.tcp_prefix_timeout_ms);
	cc = config_conn(c, "site-b");
	ASSERT_NE(NULL, cc);
	ASSERT_EQ(CFG_XPORT_SEPARATE, cc->transport);
	ASSERT_EQ(500, cc->retransmit_base_ms);
	ASSERT_EQ(14400, cc->rekey_time_s);
	ASSERT_EQ(2, cc->n_ike);
	/* aes256gcm16-prfsha256-x25519 */
	ASSERT_EQ(20, cc->ike[0].encr[0].id);
	ASSERT_EQ(256, cc->ike[0].encr[0].keylen);
	ASSERT_EQ(5, cc->ike[0].prf[0]);
	ASSERT_EQ(0, cc->ike[0].n_integ);
	ASSERT_EQ(31, cc->ike[0].ke[0]);
	/* aes256-sha256-modp2048: sha256 is the integrity and the PRF */
	ASSERT_EQ(12, cc->ike[1].encr[0].id);
	ASSERT_EQ(12, cc->ike[1].integ[0]);
	ASSERT_EQ(5, cc->ike[1].prf[0]);
	ASSERT_EQ(14, cc->ike[1].ke[0]);
	ASSERT_EQ(1, cc->local.id.type);	/* ID_IPV4_ADDR */
	ch = cc->children;
	ASSERT_NE(NULL, ch);
	ASSERT_STREQ("net", ch->name);
	ASSERT_EQ(AF_INET, ch->local_ts[0].family);
	ASSERT_EQ(192, ch->local_ts[0].start[0]);
	ASSERT_EQ(0, ch->local_ts[0].start[3]);
	ASSERT_EQ(255, ch->local_ts[0].end[3]);
	ASSERT_EQ(1, ch->esp[0].esn[0]);
	ASSERT_EQ(0, ch->esp[1].esn[0]);	/* noesn by default */
	ASSERT_EQ(0, config_parse_id("10.0.0.1", &a, err, sizeof(err)));
	ASSERT_EQ(0, config_parse_id("10.0.0.2", &b, err, sizeof(err)));
	ASSERT_NE(NULL, config_secret(c, &a, &b));
	ASSERT_EQ(29, config_secret(c, &b, &a)->secret_len);
	ASSERT_TRUE(conn_cfg_equal(cc, cc));
	config_free(c);
}

TEST(ts_with_protocol_and_ports)
{
	char err[512];
	struct config *c = parse(BASE
		"  children { x {\n   local_ts = 10.1.0.0/16[tcp/80-90], fd00::1\n"
		"   remote_ts = 0.0.0.0/0[udp]\n  } }\n" END, err, sizeof(err));
	const struct child_cfg *ch;

	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	ch = c->conns->children;
	ASSERT_EQ(2, ch->n_local_ts);
	ASSERT_EQ(6, ch->local_ts[0].proto);
	ASSERT_EQ(80, ch->local_ts[0].port_lo);
	ASSERT_EQ(90, ch->local_ts[0].port_hi);
	ASSERT_EQ(AF_INET6, ch->local_ts[1].family);
	ASSERT_EQ(1, ch->local_ts[1].end[15]);
	ASSERT_EQ(17, ch->remote_ts[0].proto);
	ASSERT_EQ(65535, ch->remote_ts[0].port_hi);
	config_free(c);
}

/* RT-24..28: the probe's settings, their defaults and the notify number. */
TEST(esp_probe_settings)
{
	char err[512];
	struct config *c = parse(BASE "  transport = separate-tcp-first\n" END, err, sizeof(err));

	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_TRUE(c->conns->esp_probe);
	EXPECT_EQ(500, c->conns->esp_probe_delay_ms);
	EXPECT_EQ(5000, c->conns->esp_probe_timeout_ms);
	EXPECT_EQ(49153, c->daemon.esp_transport_notify);
	EXPECT_NE(c->daemon.separate_transports_notify, c->daemon.esp_transport_notify);
	config_free(c);
	c = parse("daemon {\n esp_transport_notify = 50000\n}\n" BASE
		  "  esp_probe = no\n  esp_probe_delay = 1s\n  esp_probe_timeout = 30s\n" END,
		  err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_FALSE(c->conns->esp_probe);
	EXPECT_EQ(1000, c->conns->esp_probe_delay_ms);
	EXPECT_EQ(30000, c->conns->esp_probe_timeout_ms);
	EXPECT_EQ(50000, c->daemon.esp_transport_notify);
	config_free(c);
}

/* kex_pool: auto by default, no, or a number of key pairs. */
TEST(kex_pool_setting)
{
	static const struct { const char *v; uint32_t want; } ok[] = {
		{ "auto", CFG_KEX_POOL_AUTO }, { "no", 0 }, { "0", 0 }, { "32", 32 },
		{ "256", 256 },
	};
	char err[512], text[128];
	struct config *c = parse("daemon {\n}\n", err, sizeof(err));

	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(CFG_KEX_POOL_AUTO, c->daemon.kex_pool);
	config_free(c);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "daemon {\n kex_pool = %s\n}\n", ok[i].v);
		c = parse(text, err, sizeof(err));
		ASSERT_NE(NULL, c) TH_LOG("%s: %s", ok[i].v, err);
		EXPECT_EQ(ok[i].want, c->daemon.kex_pool);
		config_free(c);
	}
}

struct bad {
	const char *text, *msg;
};

/* Each malformed input and the exact start of the error it must give. */
static const struct bad bad[] = {
	{ "daemon {\n backend = kernel\n}\n",
	  "t.conf:2: unknown backend 'kernel' (expected auto, module, xfrm or none)" },
	{ "daemon {\n udp_port 500\n}\n",
	  "t.conf:2: expected 'key = value', 'name {' or '}', got 'udp_port 500'" },
	{ "daemon {\n udp_port = 70000\n}\n",
	  "t.conf:2: udp_port: expected a number from 1 to 65535, got '70000'" },
	{ "daemon {\n", "t.conf:1: section 'daemon' is not closed (expected '}')" },
	{ "}\n", "t.conf:1: '}' without an open section" },
	{ "demon {\n}\n", "t.conf:1: unknown section 'demon' in the file" },
	{ BASE "  transport = tpc\n" END,
	  "t.conf:6: unknown transport 'tpc' (expected udp, tcp, auto, separate, separate-tcp-first)" },
	{ BASE "  proposals = aes256gcm16-prfsha256-x2559\n" END,
	  "t.conf:6: proposals: unknown algorithm 'x2559'" },
	{ BASE "  proposals = aes256-prfsha256-x25519\n" END,
	  "t.conf:6: proposals: proposal with a non-AEAD cipher needs an integrity algorithm" },
	{ BASE "  proposals = aes256gcm16-x25519\n" END,
	  "t.conf:6: proposals: IKE proposal has no PRF" },
	{ BASE "  dpd_delay = 30 seconds\n" END,
	  "t.conf:6: dpd_delay: expected a duration like 500ms, 20s, 5m or 4h, got '30 seconds'" },
	{ BASE "  encap = maybe\n" END, "t.conf:6: encap: expected yes or no, got 'maybe'" },
	/* found by fuzz_config: a bad value must not read an unset flag */
	{ BASE "  fragmentation = \xaf\n" END, "t.conf:6: fragmentation: expected yes or no" },
	{ BASE "  children { x {\n   local_ts = 10.0.0.0/33\n   remote_ts = 10.1.0.0/16\n  } }\n" END,
	  "t.conf:7: local_ts: expected a subnet like 192.168.1.0/24" },
	{ BASE "  children { x {\n   local_ts = 10.0.0.0/8\n  } }\n" END,
	  "t.conf:6: child 'x': local_ts and remote_ts are required" },
	{ BASE "  children { x {\n   local_ts = 10.0.0.0/8\n   remote_ts = 10.1.0.0/16\n   esp_proposals = aes256gcm16-prfsha256\n  } }\n" END,
	  "t.conf:9: esp_proposals: 'prfsha256' is not valid in ESP proposals" },
	{ "connections {\n c {\n  local { auth = psk }\n  remote { auth = psk }\n }\n}\n",
	  "t.conf:2: connection 'c': remote_addrs is required" },
	{ "connections {\n c {\n  remote_addrs = 10.0.0.300\n }\n}\n",
	  "t.conf:3: remote_addrs: expected an IPv4 or IPv6 address, got '10.0.0.300'" },
	{ BASE " }\n c {\n  remote_addrs = 10.0.0.3\n }\n}\n",
	  "t.conf:7: connection 'c' defined twice" },
	{ "secrets {\n s {\n  id = 1.2.3.4\n }\n}\n",
	  "t.conf:2: secret 's': missing 'secret' or 'secret_file'" },
	{ "secrets {\n s {\n  secret = \"abc\n }\n}\n", "t.conf:3: unterminated quoted string" },
	{ "daemon {\n separate_transports_notify = 100\n}\n",
	  "t.conf:2: separate_transports_notify: expected a number from 16384 to 65535" },
	{ "daemon = x\n", "t.conf:1: 'daemon' must be a section: expected 'daemon { ... }'" },
	{ "daemon {\n esp_transport_notify = 9\n}\n",
	  "t.conf:2: esp_transport_notify: expected a number from 16384 to 65535" },
	{ BASE "  esp_probe_timeout = 100ms\n" END,
	  "t.conf:6: esp_probe_timeout must be at least 200ms" },
	{ BASE "  esp_probe = sometimes\n" END, "t.conf:6: esp_probe: expected yes or no" },
	{ "daemon {\n tcp_puzzle_difficulty = 21\n}\n",
	  "t.conf:2: tcp_puzzle_difficulty: expected a number from 0 to 20" },
	{ "daemon {\n kex_pool = 257\n}\n",
	  "t.conf:2: kex_pool: expected auto, no or a number of key pairs from 0 to 256, got '257'" },
	{ "daemon {\n kex_pool = yes\n}\n",
	  "t.conf:2: kex_pool: expected auto, no or a number of key pairs from 0 to 256, got 'yes'" },
};

TEST(malformed_inputs_give_file_line_messages)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512] = "";
		struct config *c = parse(bad[i].text, err, sizeof(err));

		EXPECT_EQ(NULL, c);
		EXPECT_EQ(0, strncmp(err, bad[i].msg, strlen(bad[i].msg)))
			TH_LOG("case %zu: got \"%s\", want \"%s\"", i, err, bad[i].msg);
		config_free(c);
	}
}

TEST(secret_file_with_group_access_refused)
{
	char path[] = "/tmp/tcpike-secret-XXXXXX", text[256], err[512];
	int fd = mkstemp(path);
	struct config *c;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(7, write(fd, "s3cret\n", 7));
	close(fd);
	snprintf(text, sizeof(text), "secrets {\n s {\n  id = 1.2.3.4\n  secret_file = %s\n }\n}\n", path);
	chmod(path, 0640);
	ASSERT_EQ(NULL, parse(text, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "accessible by group or others"));
	chmod(path, 0600);
	c = parse(text, err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	ASSERT_EQ(6, c->secrets->secret_len);	/* newline dropped */
	ASSERT_EQ(0, memcmp("s3cret", c->secrets->secret, 6));
	config_free(c);
	unlink(path);
}

TEST(reload_comparison)
{
	char err[512];
	struct config *a = parse(BASE END, err, sizeof(err));
	struct config *b = parse(BASE END, err, sizeof(err));
	struct config *d = parse(BASE "  dpd_delay = 10s\n" END, err, sizeof(err));

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, d);
	ASSERT_TRUE(conn_cfg_equal(a->conns, b->conns));
	ASSERT_FALSE(conn_cfg_equal(a->conns, d->conns));
	config_free(a);
	config_free(b);
	config_free(d);
}

TEST_HARNESS_MAIN
