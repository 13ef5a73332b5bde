// SPDX-License-Identifier: GPL-2.0
/* tcpiked.conf: the example parses into the expected structure, and every
 * malformed input is refused with "file:line: what was expected". */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/opensslv.h>


#include "addr.h"
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

/* The error of a text that must not parse (static: one at a time). */
static const char *parse_err(const char *text)
{
	static char err[2048];
	struct config *c = parse(text, err, sizeof(err));

	if (!c)
		return err;
	config_free(c);
	return "(parsed)";
}

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

/* keyingtries, dpd_action, close_action, rsa_pss: defaults and values. */
/* start_action = trap on a connection traps its children, on a child
 * that child alone; a child's own start or none is kept. */
TEST(trap_start_action)
{
	char err[512];
	struct config *c = parse(BASE "  start_action = trap\n"
				 "  children {\n   x { local_ts = 10.0.0.0/8\n remote_ts = 10.1.0.0/16 }\n"
				 "   y { local_ts = 10.2.0.0/16\n remote_ts = 10.3.0.0/16\n start_action = start }\n"
				 "  }\n" END, err, sizeof(err));
	const struct conn_cfg *cc;

	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	cc = c->conns;
	EXPECT_EQ(CFG_START_TRAP, cc->start_action);
	EXPECT_TRUE(cfg_child_trapped(cc, cc->children));
	EXPECT_FALSE(cfg_child_trapped(cc, cc->children->next));
	config_free(c);
	c = parse(BASE "  children {\n   x { local_ts = 10.0.0.0/8\n remote_ts = 10.1.0.0/16\n"
		  " start_action = trap }\n   y { local_ts = 10.2.0.0/16\n remote_ts = 10.3.0.0/16 }\n"
		  "  }\n" END, err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	cc = c->conns;
	EXPECT_EQ(CFG_START_TRAP, cc->children->start_action);
	EXPECT_TRUE(cfg_child_trapped(cc, cc->children));
	EXPECT_FALSE(cfg_child_trapped(cc, cc->children->next));
	config_free(c);
	/* dpd_action and close_action = trap: accepted, nothing trapped at start */
	c = parse(BASE "  dpd_action = trap\n  close_action = trap\n"
		  "  children {\n   x { local_ts = 10.0.0.0/8\n remote_ts = 10.1.0.0/16 }\n  }\n" END,
		  err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	cc = c->conns;
	EXPECT_EQ(CFG_ACTION_TRAP, cc->dpd_action);
	EXPECT_EQ(CFG_ACTION_TRAP, cc->close_action);
	EXPECT_FALSE(cfg_child_trapped(cc, cc->children));
	config_free(c);
	/* a connection without children has nothing to trap: accepted */
	c = parse("connections {\n c {\n  remote_addrs = 10.0.0.2, 10.0.0.3\n  start_action = trap\n"
		  "  local { auth = psk }\n  remote { auth = psk }\n" END, err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	config_free(c);
}

/* remote_addrs takes prefixes and %any (a responder's road warriors);
 * the longest matching prefix is the better fit, and such a connection
 * cannot start or trap without an address among them. */
TEST(remote_addrs_prefixes_and_any)
{
	char err[512];
	struct sockaddr_storage a, b6;
	const struct conn_cfg *cc;
	struct config *c;
	char s[64];

	c = parse("connections {\n"
		  " any {\n  remote_addrs = %any\n  local { auth = psk }\n  remote { auth = psk }\n }\n"
		  " ten {\n  remote_addrs = 10.0.0.0/8, 2001:db8::/32\n"
		  "  local { auth = psk }\n  remote { auth = psk }\n }\n"
		  " both {\n  remote_addrs = 10.1.2.3, 0.0.0.0/0\n  start_action = start\n"
		  "  local { auth = psk }\n  remote { auth = psk }\n }\n}\n", err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	ASSERT_EQ(0, addr_parse("10.1.2.3", &a));
	ASSERT_EQ(0, addr_parse("2001:db8:1::7", &b6));
	cc = config_conn(c, "any");
	EXPECT_EQ(0, cfg_remote_match(cc, &a));
	EXPECT_EQ(0, cfg_remote_match(cc, &b6));
	EXPECT_EQ(NULL, cfg_remote_addr(cc));
	EXPECT_STREQ("%any", config_peer_str(&cc->remote_addrs[0], s, sizeof(s)));
	cc = config_conn(c, "ten");
	EXPECT_EQ(8, cfg_remote_match(cc, &a));
	EXPECT_EQ(32, cfg_remote_match(cc, &b6));
	EXPECT_STREQ("2001:db8::/32", config_peer_str(&cc->remote_addrs[1], s, sizeof(s)));
	ASSERT_EQ(0, addr_parse("11.0.0.1", &a));
	EXPECT_EQ(-1, cfg_remote_match(cc, &a));
	ASSERT_EQ(0, addr_parse("10.1.2.3", &a));
	cc = config_conn(c, "both");
	EXPECT_EQ(32, cfg_remote_match(cc, &a));
	EXPECT_EQ(-1, cfg_remote_match(cc, &b6));
	ASSERT_NE(NULL, cfg_remote_addr(cc));
	EXPECT_STREQ("10.1.2.3", addr_str(cfg_remote_addr(cc), s, sizeof(s)));
	EXPECT_FALSE(conn_cfg_equal(config_conn(c, "any"), config_conn(c, "ten")));
	config_free(c);

	EXPECT_STREQ("t.conf:3: remote_addrs: connection 'c' has start_action = start, but %any admits peers and is no address to initiate to: list the peer's address too, or set start_action = none",
		     parse_err("connections {\n c {\n  remote_addrs = %any\n  start_action = start\n"
			       "  local { auth = psk }\n  remote { auth = psk }\n" END));
	EXPECT_STREQ("t.conf:3: remote_addrs: connection 'c' has start_action = trap, but 10.0.0.0/8 (and the rest) admits peers and is no address to initiate to: list the peer's address too, or set start_action = none",
		     parse_err("connections {\n c {\n  remote_addrs = 10.0.0.0/8, %any\n"
			       "  local { auth = psk }\n  remote { auth = psk }\n"
			       "  children { x { local_ts = 10.0.0.0/8\n remote_ts = 10.1.0.0/16\n start_action = trap } }\n" END));
	EXPECT_NE(NULL, strstr(parse_err("connections {\n c {\n  remote_addrs = 10.0.0.2, %any\n"
					 "  start_action = trap\n"
					 "  local { auth = psk }\n  remote { auth = psk }\n"
					 "  children { x { local_ts = 10.0.0.0/8\n remote_ts = 10.1.0.0/16 } }\n" END),
			       "t.conf:3: remote_addrs: child 'x' has start_action = trap: its policies need the peer's one address (a tunnel template), got 1 addresses and prefixes or %any"));
	EXPECT_STREQ("t.conf:3: remote_addrs: host bits are set after the prefix length (like 10.0.0.2, 10.0.0.0/8, 2001:db8::/32 or %any), got '10.0.0.1/8'",
		     parse_err("connections {\n c {\n  remote_addrs = 10.0.0.1/8\n" END));
	EXPECT_STREQ("t.conf:3: remote_addrs: expected a prefix length after '/' of at most 32 (IPv4) or 128 (IPv6) (like 10.0.0.2, 10.0.0.0/8, 2001:db8::/32 or %any), got '10.0.0.0/33'",
		     parse_err("connections {\n c {\n  remote_addrs = 10.0.0.0/33\n" END));
	EXPECT_STREQ("t.conf:3: remote_addrs: expected an address, a prefix, a range, %any or a DNS name (like 10.0.0.2, 10.0.0.0/8, 10.1.0.5-10.1.0.50, %any or gw.example.com), got '%all'",
		     parse_err("connections {\n c {\n  remote_addrs = %all\n" END));
	/* the address of a literal is still checked */
	EXPECT_STREQ("t.conf:3: remote_addrs: 224.0.0.1 is a multicast address, not a peer's address",
		     parse_err("connections {\n c {\n  remote_addrs = 224.0.0.1\n" END));
}

/* A remote id may be %any or carry wildcards (strongSwan's: *@domain,
 * *.domain, a DN whose RDN values are * or *.suffix); a local id may not,
 * and a * anywhere else is refused on its line. */
TEST(remote_id_wildcards)
{
	char err[512];
	const struct conn_cfg *cc;
	struct config *c;

	c = parse("connections {\n"
		  " any {\n  remote_addrs = %any\n  local { auth = psk }\n"
		  "  remote { auth = psk\n   id = %any }\n }\n"
		  " mail {\n  remote_addrs = %any\n  local { auth = psk }\n"
		  "  remote { auth = psk\n   id = *@example.com }\n }\n"
		  " host {\n  remote_addrs = %any\n  local { auth = psk }\n"
		  "  remote { auth = psk\n   id = *.clients.example.com }\n }\n"
		  " dn {\n  remote_addrs = %any\n  local { auth = psk }\n"
		  "  remote { auth = psk\n   id = \"C=CH, O=Org, CN=*\" }\n }\n"
		  " dn2 {\n  remote_addrs = %any\n  local { auth = psk }\n"
		  "  remote { auth = psk\n   id = \"C=CH, O=*, CN=*.clients.example.com\" }\n }\n"
		  "}\n", err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(0, config_conn(c, "any")->remote.id.type);
	cc = config_conn(c, "mail");
	EXPECT_EQ(3, cc->remote.id.type);
	EXPECT_TRUE(config_id_wild(&cc->remote.id));
	cc = config_conn(c, "host");
	EXPECT_EQ(2, cc->remote.id.type);
	EXPECT_TRUE(config_id_wild(&cc->remote.id));
	EXPECT_TRUE(config_id_wild(&config_conn(c, "dn")->remote.id));
	EXPECT_TRUE(config_id_wild(&config_conn(c, "dn2")->remote.id));
	config_free(c);

	EXPECT_STREQ("t.conf:4: id: '*' stands only for a whole name part: write *@domain, *.domain, or a DN value * or *.suffix, got 'a*.example.com'",
		     parse_err("connections {\n c {\n  remote_addrs = %any\n"
			       "  remote { id = a*.example.com }\n" END));
	EXPECT_STREQ("t.conf:4: id: '*' stands only for a whole name part: write *@domain, *.domain, or a DN value * or *.suffix, got 'C=CH, CN=x*'",
		     parse_err("connections {\n c {\n  remote_addrs = %any\n"
			       "  remote { id = \"C=CH, CN=x*\" }\n" END));
	EXPECT_STREQ("t.conf:4: id: '*' stands only for a whole name part: write *@domain, *.domain, or a DN value * or *.suffix, got 'alice@*'",
		     parse_err("connections {\n c {\n  remote_addrs = %any\n"
			       "  remote { id = alice@* }\n" END));
	EXPECT_STREQ("t.conf:4: id: our own identity cannot be a wildcard or %any (only the remote one matches many), got '*.example.com'",
		     parse_err("connections {\n c {\n  remote_addrs = %any\n"
			       "  local { id = *.example.com }\n" END));
	EXPECT_STREQ("t.conf:4: id: our own identity cannot be a wildcard or %any (only the remote one matches many), got '%any'",
		     parse_err("connections {\n c {\n  remote_addrs = %any\n"
			       "  local { id = %any }\n" END));
}

/* remote_addrs ranges: first-last of one family, matched as specific as
 * the longest prefix holding the whole range. */
TEST(remote_addrs_ranges)
{
	char err[512], s[96];
	struct sockaddr_storage a;
	const struct conn_cfg *cc;
	struct config *c;

	c = parse("connections {\n c {\n  remote_addrs = 10.1.0.5-10.1.0.50, fd00::10-fd00::1f\n"
		  "  local { auth = psk }\n  remote { auth = psk }\n }\n}\n", err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	cc = config_conn(c, "c");
	ASSERT_EQ(0, addr_parse("10.1.0.5", &a));
	EXPECT_EQ(26, cfg_remote_match(cc, &a));
	ASSERT_EQ(0, addr_parse("10.1.0.50", &a));
	EXPECT_EQ(26, cfg_remote_match(cc, &a));
	ASSERT_EQ(0, addr_parse("10.1.0.51", &a));
	EXPECT_EQ(-1, cfg_remote_match(cc, &a));
	ASSERT_EQ(0, addr_parse("10.1.0.4", &a));
	EXPECT_EQ(-1, cfg_remote_match(cc, &a));
	ASSERT_EQ(0, addr_parse("fd00::1a", &a));
	EXPECT_EQ(124, cfg_remote_match(cc, &a));
	EXPECT_EQ(NULL, cfg_remote_addr(cc));
	EXPECT_STREQ("10.1.0.5-10.1.0.50", config_peer_str(&cc->remote_addrs[0], s, sizeof(s)));
	config_free(c);

	EXPECT_STREQ("t.conf:3: remote_addrs: a range goes from the lower address to the higher, got '10.1.0.50-10.1.0.5'",
		     parse_err("connections {\n c {\n  remote_addrs = 10.1.0.50-10.1.0.5\n" END));
	EXPECT_STREQ("t.conf:3: remote_addrs: a range's two ends are addresses of one family, got '10.1.0.5-fd00::1'",
		     parse_err("connections {\n c {\n  remote_addrs = 10.1.0.5-fd00::1\n" END));
}

/* remote_addrs names: kept as names (resolved by the daemon when it
 * initiates, never while parsing), admitting no peer until resolved; one
 * may be started. */
TEST(remote_addrs_names)
{
	char err[512], s[300];
	struct sockaddr_storage a;
	const struct conn_cfg *cc;
	struct config *c;

	c = parse("connections {\n c {\n  remote_addrs = gw.example.com, 10.9.0.0/16\n"
		  "  start_action = start\n"
		  "  local { auth = psk }\n  remote { auth = psk }\n }\n}\n", err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	cc = config_conn(c, "c");
	EXPECT_STREQ("gw.example.com", cfg_remote_host(cc));
	EXPECT_EQ(NULL, cfg_remote_addr(cc));
	EXPECT_STREQ("gw.example.com", config_peer_str(&cc->remote_addrs[0], s, sizeof(s)));
	ASSERT_EQ(0, addr_parse("10.1.2.3", &a));
	EXPECT_EQ(-1, cfg_remote_match(cc, &a));
	ASSERT_EQ(0, addr_parse("10.9.2.3", &a));
	EXPECT_EQ(16, cfg_remote_match(cc, &a));
	config_free(c);

	EXPECT_STREQ("t.conf:3: remote_addrs: expected an address, a prefix, a range, %any or a DNS name (like 10.0.0.2, 10.0.0.0/8, 10.1.0.5-10.1.0.50, %any or gw.example.com), got 'gw_1.example.com'",
		     parse_err("connections {\n c {\n  remote_addrs = gw_1.example.com\n" END));
	EXPECT_STREQ("t.conf:3: remote_addrs: expected an address, a prefix, a range, %any or a DNS name (like 10.0.0.2, 10.0.0.0/8, 10.1.0.5-10.1.0.50, %any or gw.example.com), got '10.0.0.256'",
		     parse_err("connections {\n c {\n  remote_addrs = 10.0.0.256\n" END));
	EXPECT_STREQ("t.conf:3: remote_addrs: at most one DNS name, got 'a.example.com' after 'b.example.com'",
		     parse_err("connections {\n c {\n  remote_addrs = b.example.com, a.example.com\n" END));
}

/* vips = (a road warrior's request): any address of a family or a
 * literal one, one per family, never one no host has. */
TEST(vips_key)
{
	char err[512], s[64];
	struct config *c;

	c = parse("connections {\n c {\n  remote_addrs = 10.0.0.2\n  vips = 0.0.0.0, fd00::7\n"
		  "  local { auth = psk }\n  remote { auth = psk }\n }\n}\n", err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	ASSERT_EQ(2, config_conn(c, "c")->n_vips);
	EXPECT_STREQ("fd00::7", addr_str(&config_conn(c, "c")->vips[1], s, sizeof(s)));
	config_free(c);
	EXPECT_STREQ("t.conf:4: vips: one address of each family at most, got two IPv4",
		     parse_err("connections {\n c {\n  remote_addrs = 10.0.0.2\n  vips = 0.0.0.0, 10.1.1.1\n"
			       "  local { auth = psk }\n  remote { auth = psk }\n }\n}\n"));
	EXPECT_STREQ("t.conf:4: vips: 224.0.0.1 is a multicast address, not a virtual IP",
		     parse_err("connections {\n c {\n  remote_addrs = 10.0.0.2\n  vips = 224.0.0.1\n"
			       "  local { auth = psk }\n  remote { auth = psk }\n }\n}\n"));
}

/* pools { NAME { addrs, dns } } and a connection's pools = NAME. */
TEST(pools_section)
{
	char err[512], s[64];
	const struct pool_cfg *pl;
	const struct conn_cfg *cc;
	struct config *c;

	c = parse("pools {\n p4 {\n  addrs = 10.10.0.0/24\n  dns = 10.10.0.1, fd00::53\n }\n"
		  " one { addrs = 10.20.0.5/32 }\n"
		  " r6 { addrs = fd00:10::10-fd00:10::1f }\n}\n"
		  "connections {\n c {\n  remote_addrs = %any\n  pools = p4, r6\n"
		  "  local { auth = psk }\n  remote { auth = psk }\n }\n}\n", err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	pl = config_pool(c, "p4");
	ASSERT_NE(NULL, pl);
	EXPECT_EQ(AF_INET, pl->family);
	EXPECT_EQ(1, pl->first[3]);	/* not the network address */
	EXPECT_EQ(254, pl->last[3]);	/* nor the broadcast address */
	EXPECT_EQ(254, cfg_pool_size(pl));
	EXPECT_EQ(2, pl->n_dns);
	EXPECT_STREQ("fd00::53", addr_str(&pl->dns[1], s, sizeof(s)));
	pl = config_pool(c, "one");
	ASSERT_NE(NULL, pl);
	EXPECT_EQ(1, cfg_pool_size(pl));
	EXPECT_EQ(5, pl->first[3]);
	pl = config_pool(c, "r6");
	ASSERT_NE(NULL, pl);
	EXPECT_EQ(AF_INET6, pl->family);
	EXPECT_EQ(16, cfg_pool_size(pl));
	cc = config_conn(c, "c");
	EXPECT_EQ(2, cc->n_pools);
	EXPECT_STREQ("r6", cc->pools[1].name);
	config_free(c);

	EXPECT_STREQ("t.conf:3: pools: connection 'c' names pool 'p9', which the pools section does not define",
		     parse_err("connections {\n c {\n  pools = p9\n  remote_addrs = %any\n"
			       "  local { auth = psk }\n  remote { auth = psk }\n }\n}\n"
			       "pools {\n p4 { addrs = 10.10.0.0/24 }\n}\n"));
	EXPECT_STREQ("t.conf:2: pool 'p': addrs is required",
		     parse_err("pools {\n p {\n  dns = 10.0.0.1\n }\n}\n"));
	EXPECT_STREQ("t.conf:2: addrs: expected a prefix like 10.10.0.0/24 or a range like 10.10.0.10-10.10.0.99, got '10.0.0.9-x'",
		     parse_err("pools {\n p { addrs = 10.0.0.9-x }\n}\n"));
	EXPECT_STREQ("t.conf:2: addrs: the range's first address is after its last",
		     parse_err("pools {\n p { addrs = 10.0.0.9-10.0.0.1 }\n}\n"));
	EXPECT_STREQ("t.conf:2: addrs: the range's ends are of two families",
		     parse_err("pools {\n p { addrs = 10.0.0.9-fd00::1 }\n}\n"));
	EXPECT_STREQ("t.conf:2: addrs: at most 2^32 addresses in a pool",
		     parse_err("pools {\n p { addrs = fd00::/64 }\n}\n"));
	EXPECT_STREQ("t.conf:3: pool 'p' defined twice (first on line 2)",
		     parse_err("pools {\n p { addrs = 10.0.0.0/24 }\n p { addrs = 10.1.0.0/24 }\n}\n"));
	EXPECT_STREQ("t.conf:6: pools: pool 'p' is listed twice",
		     parse_err(BASE "  pools = p, p\n" END));
}

TEST(recovery_and_signature_settings)
{
	char err[512];
	struct config *c = parse(BASE END, err, sizeof(err));

	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(0, c->conns->keyingtries);	/* forever, with back-off */
	EXPECT_EQ(CFG_ACTION_CLEAR, c->conns->dpd_action);
	EXPECT_EQ(CFG_ACTION_CLEAR, c->conns->close_action);
	EXPECT_EQ(CFG_PSS_AUTO, c->conns->rsa_pss);
	config_free(c);
	c = parse(BASE "  keyingtries = 3\n  dpd_action = restart\n  close_action = restart\n"
		  "  rsa_pss = yes\n" END, err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(3, c->conns->keyingtries);
	EXPECT_EQ(CFG_ACTION_RESTART, c->conns->dpd_action);
	EXPECT_EQ(CFG_ACTION_RESTART, c->conns->close_action);
	EXPECT_EQ(CFG_PSS_YES, c->conns->rsa_pss);
	config_free(c);
	/* swanctl's spellings for close_action: none (= clear), start */
	c = parse(BASE "  close_action = start\n  dpd_action = clear\n  rsa_pss = no\n" END,
		  err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(CFG_ACTION_RESTART, c->conns->close_action);
	EXPECT_EQ(CFG_ACTION_CLEAR, c->conns->dpd_action);
	EXPECT_EQ(CFG_PSS_NO, c->conns->rsa_pss);
	config_free(c);
	c = parse(BASE "  close_action = none\n" END, err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(CFG_ACTION_CLEAR, c->conns->close_action);
	config_free(c);
}

/* What an operator pastes from swanctl.conf: @host (FQDN), @@user@host
 * (email), a DN without dn:, 0x/0s secrets, curve448. */
TEST(strongswan_spellings)
{
	char err[512];
	struct id_cfg id;
	struct config *c;

	ASSERT_EQ(0, config_parse_id("@gw.example", &id, err, sizeof(err)));
	EXPECT_EQ(2, id.type);	/* ID_FQDN, without the @ */
	EXPECT_EQ(10, id.len);
	EXPECT_EQ(0, memcmp(id.data, "gw.example", 10));
	ASSERT_EQ(0, config_parse_id("@@ops@gw.example", &id, err, sizeof(err)));
	EXPECT_EQ(3, id.type);	/* ID_RFC822_ADDR */
	EXPECT_EQ(0, memcmp(id.data, "ops@gw.example", 14));
	ASSERT_EQ(0, config_parse_id("C=CH, O=strongSwan, CN=gw", &id, err, sizeof(err)));
	EXPECT_EQ(9, id.type);	/* ID_DER_ASN1_DN, as with dn: */
	EXPECT_EQ(0, memcmp(id.data, "C=CH, O=strongSwan, CN=gw", 25));
	EXPECT_EQ(-1, config_parse_id("@#0a1b", &id, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "key-id identities are not supported"));
	EXPECT_EQ(-1, config_parse_id("CN=gw, =x", &id, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "is neither an FQDN nor a DN"));
	c = parse(BASE "  proposals = aes256gcm16-prfsha256-curve448\n" END
		  "secrets {\n a {\n  id = a\n  secret = 0x616263\n }\n"
		  " b {\n  id = b\n  secret = 0sYWJjZA==\n }\n}\n", err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	ASSERT_NE(NULL, c->secrets);
	ASSERT_NE(NULL, c->secrets->next);
	for (const struct secret_cfg *sc = c->secrets; sc; sc = sc->next) {
		if (!strcmp(sc->name, "a")) {
			EXPECT_EQ(3, sc->secret_len);
			EXPECT_EQ(0, memcmp(sc->secret, "abc", 3));
		} else {
			EXPECT_EQ(4, sc->secret_len);
			EXPECT_EQ(0, memcmp(sc->secret, "abcd", 4));
		}
	}
	config_free(c);
	EXPECT_EQ(0, strncmp(parse_err("secrets {\n a {\n  id = a\n  secret = 0x123\n }\n}\n"),
			     "t.conf:4: secret: expected an even number of hex digits after '0x'", 64));
	EXPECT_EQ(0, strncmp(parse_err("secrets {\n a {\n  id = a\n  secret = 0s!!!!\n }\n}\n"),
			     "t.conf:4: secret: expected base64 after '0s'", 44));
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
	  "t.conf:6: unknown transport 'tpc' (expected udp, tcp, auto, separate or separate-tcp-first)" },
	{ BASE "  proposals = aes256gcm16-prfsha256-x2559\n" END,
	  "t.conf:6: proposals: unknown algorithm 'x2559'" },
	{ BASE "  proposals = aes256-prfsha256-x25519\n" END,
	  "t.conf:6: proposals: proposal with a non-AEAD cipher needs an integrity algorithm" },
	{ BASE "  proposals = aes256gcm16-x25519\n" END,
	  "t.conf:6: proposals: IKE proposal has no PRF" },
	{ BASE "  dpd_delay = 30 seconds\n" END,
	  "t.conf:6: dpd_delay: expected a duration like 500ms, 20s, 5m or 4h, got '30 seconds'" },
	{ BASE "  encap = maybe\n" END, "t.conf:6: encap: expected yes or no, got 'maybe'" },
	{ BASE "  unique = no\n" END, "t.conf:6: unknown unique 'no' (expected replace, keep or never)" },
	{ BASE "  ike_sas_per_id = -1\n" END,
	  "t.conf:6: ike_sas_per_id: expected a number from 0 to 100000, got '-1'" },
	{ BASE "  child_sas_max = 100001\n" END,
	  "t.conf:6: child_sas_max: expected a number from 0 to 100000, got '100001'" },
	/* found by fuzz_config: a bad value must not read an unset flag */
	{ BASE "  fragmentation = \xaf\n" END, "t.conf:6: unknown fragmentation '\xaf' (expected yes, no or force)" },
	{ BASE "  children { x {\n   local_ts = 10.0.0.0/33\n   remote_ts = 10.1.0.0/16\n  } }\n" END,
	  "t.conf:7: local_ts: expected a subnet like 192.168.1.0/24" },
	{ BASE "  children { x {\n   local_ts = 10.0.0.0/8\n  } }\n" END,
	  "t.conf:6: child 'x': local_ts and remote_ts are required" },
	{ BASE "  children { x {\n   local_ts = 10.0.0.0/8\n   remote_ts = 10.1.0.0/16\n   esp_proposals = aes256gcm16-prfsha256\n  } }\n" END,
	  "t.conf:9: esp_proposals: 'prfsha256' is not valid in ESP proposals" },
	{ "connections {\n c {\n  local { auth = psk }\n  remote { auth = psk }\n }\n}\n",
	  "t.conf:2: connection 'c': remote_addrs is required" },
	{ "connections {\n c {\n  remote_addrs = 10.0.0.300\n }\n}\n",
	  "t.conf:3: remote_addrs: expected an address, a prefix, a range, %any or a DNS name (like 10.0.0.2, 10.0.0.0/8, 10.1.0.5-10.1.0.50, %any or gw.example.com), got '10.0.0.300'" },
	{ BASE " }\n c {\n  remote_addrs = 10.0.0.3\n }\n}\n",
	  "t.conf:7: connection 'c' defined twice" },
	{ "secrets {\n s {\n  id = 1.2.3.4\n }\n}\n",
	  "t.conf:2: secret 's': missing 'secret' or 'secret_file'" },
	/* the second list replaced the first's head: leaked (fuzz/config) */
	{ "secrets {\n a {\n  id = a\n  secret = \"0123456789abcdef\"\n }\n}\nsecrets {\n b {\n  id = b\n  secret = \"0123456789abcdef\"\n }\n}\n",
	  "t.conf:7: section 'secrets' defined twice (first on line 1): merge them" },
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
	{ BASE "  dpd_action = hold\n" END,
	  "t.conf:6: unknown dpd_action 'hold' (expected clear, trap or restart)" },
	{ BASE "  close_action = restrat\n" END,
	  "t.conf:6: unknown close_action 'restrat' (expected clear, trap or restart)" },
	/* dpd_action and close_action = trap: as start_action = trap */
	{ "connections {\n c {\n  remote_addrs = 10.0.0.2, 10.0.0.3\n"
	  "  local { auth = psk }\n  remote { auth = psk }\n  dpd_action = trap\n"
	  "  children { x {\n   local_ts = 10.0.0.0/8\n   remote_ts = 10.1.0.0/16\n  } }\n" END,
	  "t.conf:3: remote_addrs: child 'x' has dpd_action = trap: its policies need the peer's one address (a tunnel template), got 2 addresses" },
	{ "connections {\n c {\n  local_addrs = 10.0.0.1, 10.0.0.4\n  remote_addrs = 10.0.0.2\n"
	  "  local { auth = psk }\n  remote { auth = psk }\n  close_action = trap\n"
	  "  children { x {\n   local_ts = 10.0.0.0/8\n   remote_ts = 10.1.0.0/16\n  } }\n" END,
	  "t.conf:3: local_addrs: child 'x' has close_action = trap: its policies need one local address, or none for the one the route to the peer takes, got 2 addresses" },
	{ BASE "  start_action = begin\n" END, "t.conf:6: unknown start_action 'begin' (expected none, start or trap)" },
	/* trap policies point at one peer from one local address */
	{ "connections {\n c {\n  remote_addrs = 10.0.0.2, 10.0.0.3\n"
	  "  local { auth = psk }\n  remote { auth = psk }\n"
	  "  children { x {\n   local_ts = 10.0.0.0/8\n   remote_ts = 10.1.0.0/16\n   start_action = trap\n  } }\n" END,
	  "t.conf:3: remote_addrs: child 'x' has start_action = trap: its policies need the peer's one address (a tunnel template), got 2 addresses" },
	{ "connections {\n c {\n  local_addrs = 10.0.0.1, 10.0.0.4\n  remote_addrs = 10.0.0.2\n"
	  "  local { auth = psk }\n  remote { auth = psk }\n  start_action = trap\n"
	  "  children { x {\n   local_ts = 10.0.0.0/8\n   remote_ts = 10.1.0.0/16\n  } }\n" END,
	  "t.conf:3: local_addrs: child 'x' has start_action = trap: its policies need one local address, or none for the one the route to the peer takes, got 2 addresses" },
	{ BASE "  keyingtries = forever\n" END,
	  "t.conf:6: keyingtries: expected a number from 0 to 10000, got 'forever'" },
	{ BASE "  rsa_pss = maybe\n" END, "t.conf:6: unknown rsa_pss 'maybe' (expected yes or no)" },
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

/* --- the key table ---------------------------------------------------------- */

/* The section kind of a path of section names in the example. */
static int kind_of(char stack[][64], int depth)
{
	if (depth == 1 && !strcmp(stack[0], "daemon"))
		return CFG_SEC_DAEMON;
	if (depth == 2 && !strcmp(stack[0], "connections"))
		return CFG_SEC_CONN;
	if (depth == 3 && !strcmp(stack[0], "connections") &&
	    (!strcmp(stack[2], "local") || !strcmp(stack[2], "remote")))
		return CFG_SEC_END;
	if (depth == 4 && !strcmp(stack[0], "connections") && !strcmp(stack[2], "children"))
		return CFG_SEC_CHILD;
	if (depth == 2 && !strcmp(stack[0], "secrets"))
		return CFG_SEC_SECRET;
	if (depth == 2 && !strcmp(stack[0], "pools"))
		return CFG_SEC_POOL;
	return -1;
}

/* The example shows every key of the table, in its section (written or
 * commented out as "# key = ..."). */
TEST(example_has_every_key)
{
	FILE *f = fopen("userspace/daemon/tcpiked.conf.example", "r");
	static char seen[CFG_SEC_COUNT][64][40];
	int n_seen[CFG_SEC_COUNT] = { 0 }, depth = 0, missing = 0;
	char line[512], stack[8][64];

	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		char *s = line, key[40];
		bool commented = false;
		int kind;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '#') {
			commented = true;
			for (s++; *s == ' ' || *s == '\t'; s++)
				;
		}
		if (!commented && sscanf(s, "%63[a-z0-9_-] {", stack[depth]) == 1 &&
		    strchr(s, '{')) {
			ASSERT_LT(depth, 7);
			depth++;
			continue;
		}
		if (!commented && *s == '}') {
			ASSERT_GT(depth, 0);
			depth--;
			continue;
		}
		kind = kind_of(stack, depth);
		if (kind >= 0 && sscanf(s, "%39[a-z0-9_] =", key) == 1 && strchr(s, '=') &&
		    n_seen[kind] < 64)
			snprintf(seen[kind][n_seen[kind]++], sizeof(seen[0][0]), "%s", key);
	}
	fclose(f);
	for (int s = 0; s < CFG_SEC_COUNT; s++) {
		for (size_t i = 0; config_key_name(s, i); i++) {
			const char *name = config_key_name(s, i);
			bool found = false;

			for (int j = 0; j < n_seen[s]; j++)
				found |= !strcmp(seen[s][j], name);
			if (!found) {
				TH_LOG("section kind %d: key '%s' is not in the example", s, name);
				missing++;
			}
		}
		EXPECT_GT(n_seen[s], 0);
	}
	EXPECT_EQ(0, missing);
}

/* An unknown key's error lists every key of its section, from the table. */
TEST(unknown_key_lists_every_key_of_the_table)
{
	static const char *const text[CFG_SEC_COUNT] = {
		[CFG_SEC_DAEMON] = "daemon {\n bogus = 1\n}\n",
		[CFG_SEC_CONN] = BASE "  bogus = 1\n" END,
		[CFG_SEC_END] = "connections {\n c {\n  remote_addrs = 10.0.0.2\n  local { bogus = 1 }\n }\n}\n",
		[CFG_SEC_CHILD] = BASE "  children { x {\n   bogus = 1\n  } }\n" END,
		[CFG_SEC_SECRET] = "secrets {\n s {\n  bogus = 1\n }\n}\n",
		[CFG_SEC_POOL] = "pools {\n p {\n  bogus = 1\n }\n}\n",
	};

	for (int s = 0; s < CFG_SEC_COUNT; s++) {
		char err[2048] = "", *list;

		EXPECT_EQ(NULL, parse(text[s], err, sizeof(err)));
		list = strstr(err, "unknown key 'bogus' in ");
		ASSERT_NE(NULL, list) TH_LOG("%s", err);
		list = strstr(list, "(expected ");
		ASSERT_NE(NULL, list) TH_LOG("%s", err);
		for (size_t i = 0; config_key_name(s, i); i++) {
			char want[64];
			const char *name = config_key_name(s, i);
			size_t l = strlen(name);
			bool found = false;

			/* a whole item of the list: after "(expected " or ", " */
			for (char *p = strstr(list, name); p; p = strstr(p + 1, name))
				found |= (p[-1] == ' ') && (p[l] == ',' || p[l] == ')');
			snprintf(want, sizeof(want), "%s", name);
			EXPECT_TRUE(found) TH_LOG("section %d: '%s' missing from: %s", s, want, err);
		}
	}
	EXPECT_NE(NULL, strstr(parse_err(BASE "  bogus = 1\n" END), ", local, remote, children)"));
}

/* The reference names every key with its item line, in mdoc that mandoc
 * lints clean (when mandoc is installed), and in text. */
TEST(reference_documents_every_key)
{
	char *mdoc = NULL, *text = NULL, path[] = "/tmp/tcpike-ref-XXXXXX", cmd[256];
	size_t ml = 0, tl = 0;
	FILE *f = open_memstream(&mdoc, &ml);
	int fd;

	ASSERT_NE(NULL, f);
	config_reference(f, CFG_REF_MDOC);
	fclose(f);
	f = open_memstream(&text, &tl);
	config_reference(f, CFG_REF_TEXT);
	fclose(f);
	for (int s = 0; s < CFG_SEC_COUNT; s++)
		for (size_t i = 0; config_key_name(s, i); i++) {
			char item[80], line[80];

			snprintf(item, sizeof(item), "\n.It Cm %s ", config_key_name(s, i));
			snprintf(line, sizeof(line), "\n  %s", config_key_name(s, i));
			EXPECT_NE(NULL, strstr(mdoc, item)) TH_LOG("no '%s' in the mdoc reference", item + 1);
			EXPECT_NE(NULL, strstr(text, line)) TH_LOG("no '%s' in the text reference", line + 1);
		}
	/* values with help are a nested list; defaults are printed */
	EXPECT_NE(NULL, strstr(mdoc, "\n.It Cm separate-tcp-first\n"));
	EXPECT_NE(NULL, strstr(mdoc, "\n.It Cm transport = Cm udp | tcp | auto | separate | separate-tcp-first\n"));
	EXPECT_NE(NULL, strstr(mdoc, "\nDefault 150s.\n"));
	EXPECT_NE(NULL, strstr(mdoc, "\n.It Cm id , id1 , id2 , ... = Ar identity\n"));
	EXPECT_NE(NULL, strstr(text, "  dpd_timeout = duration  (default 150s)\n"));
	/* obsolete, it sets tcp_race_delay's field: a default would overwrite that one's */
	EXPECT_NE(NULL, strstr(text, "\n  tcp_fallback_delay = duration\n"));
	EXPECT_EQ(NULL, strstr(mdoc, " \n"));
	EXPECT_EQ(NULL, strstr(mdoc, "\n\n"));
	EXPECT_EQ(NULL, strchr(text, '`'));
	fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	dprintf(fd, ".Dd November 28, 2026\n.Dt TCPIKED.CONF 5\n.Os\n.Sh NAME\n.Nm tcpiked.conf\n"
		".Nd test\n.Sh DESCRIPTION\n%s", mdoc);
	close(fd);
	if (!access("/usr/bin/mandoc", X_OK)) {
		snprintf(cmd, sizeof(cmd), "mandoc -Tlint -Wwarning %s", path);
		EXPECT_EQ(0, system(cmd));
	}
	unlink(path);
	free(mdoc);
	free(text);
}

/* The defaults of the table are those tcpiked always had. */
TEST(defaults)
{
	char err[512];
	struct config *c = parse(BASE "  children { x {\n   local_ts = 10.0.0.0/8\n"
				 "   remote_ts = 10.1.0.0/16\n  } }\n" END, err, sizeof(err));
	const struct conn_cfg *cc;
	const struct child_cfg *ch;

	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_STREQ("auto", c->daemon.backend);
	EXPECT_STREQ(CFG_CONTROL_SOCKET, c->daemon.control_socket);
	EXPECT_EQ(0, c->daemon.n_listen);
	EXPECT_EQ(500, c->daemon.udp_port);
	EXPECT_EQ(4500, c->daemon.natt_port);
	EXPECT_EQ(1, c->daemon.n_tcp_ports);
	EXPECT_EQ(4500, c->daemon.tcp_ports[0]);
	EXPECT_EQ(2, c->daemon.log_level);	/* info */
	EXPECT_TRUE(c->daemon.separate_transports);
	EXPECT_EQ(49152, c->daemon.separate_transports_notify);
	EXPECT_EQ(49153, c->daemon.esp_transport_notify);
	EXPECT_EQ(8, c->daemon.tcp_puzzle_difficulty);
	EXPECT_EQ(50, c->daemon.cookie_threshold);
	EXPECT_EQ(5000, c->daemon.half_open_max);
	EXPECT_EQ(100, c->daemon.half_open_per_ip);
	EXPECT_EQ(10000, c->daemon.tcp_max);
	EXPECT_EQ(50, c->daemon.tcp_per_ip);
	EXPECT_EQ(5000, c->daemon.tcp_prefix_timeout_ms);
	EXPECT_EQ(30000, c->daemon.tcp_idle_timeout_ms);
	EXPECT_EQ(65000, c->daemon.max_ike_message);
	EXPECT_EQ(64, c->daemon.max_frag_buffers);
	EXPECT_EQ(20, c->daemon.keepalive_interval_s);
	EXPECT_EQ(CFG_KEX_POOL_AUTO, c->daemon.kex_pool);
	cc = c->conns;
	EXPECT_EQ(0, cc->n_local);
	EXPECT_EQ(500, cc->local_port);
	EXPECT_EQ(500, cc->remote_port);
	EXPECT_EQ(CFG_XPORT_UDP, cc->transport);
	EXPECT_EQ(4500, cc->tcp_port);
	EXPECT_EQ(250, cc->tcp_race_delay_ms);
	EXPECT_EQ(3000, cc->tcp_connect_timeout_ms);
	EXPECT_EQ(250, cc->tcp_connect_race_ms);
	EXPECT_TRUE(cc->udp_retry_without_separate);
	EXPECT_TRUE(cc->esp_probe);
	EXPECT_EQ(1, cc->n_ike);
	EXPECT_EQ(3, cc->ike[0].n_ke);		/* x25519-ecp256-modp2048 */
	EXPECT_EQ(CFG_FRAG_YES, cc->fragmentation);
	EXPECT_EQ(1280, cc->fragment_size);
	EXPECT_FALSE(cc->encap);
	EXPECT_FALSE(cc->assume_no_nat);
	EXPECT_TRUE(cc->initial_contact);
	EXPECT_EQ(CFG_UNIQUE_REPLACE, cc->unique);
	EXPECT_EQ(4, cc->ike_sas_per_id);
	EXPECT_EQ(64, cc->child_sas_max);
	EXPECT_EQ(30, cc->dpd_delay_s);
	EXPECT_EQ(150, cc->dpd_timeout_s);
	EXPECT_EQ(14400, cc->rekey_time_s);
	EXPECT_EQ(1000, cc->retransmit_base_ms);
	EXPECT_EQ(2.0, cc->retransmit_factor);
	EXPECT_EQ(5, cc->retransmit_tries);
	EXPECT_EQ(0, cc->keepalive_interval_s);
	EXPECT_EQ(CFG_START_NONE, cc->start_action);
	EXPECT_EQ(0, cc->local.id.type);
	ch = cc->children;
	EXPECT_EQ(CFG_MODE_TUNNEL, ch->mode);
	EXPECT_EQ(2, ch->n_esp);
	EXPECT_EQ(3600, ch->rekey_time_s);
	EXPECT_EQ(3960, ch->life_time_s);
	EXPECT_EQ(0, ch->life_bytes);
	EXPECT_EQ(64, ch->replay_window);
	config_free(c);
}

/*
 * Reload keeps the SAs of a connection only when no key of it changed: a
 * different value of each key of a connection, its ends and its children
 * makes conn_cfg_equal() false.  A key added to the table without a line
 * here fails the test.
 */
TEST(reload_compares_every_key)
{
	static const struct { int sec; const char *line; } change[] = {
		{ CFG_SEC_CONN, "local_addrs = 10.0.0.1" },
		{ CFG_SEC_CONN, "remote_addrs = 10.0.0.3" },
		{ CFG_SEC_CONN, "local_port = 501" },
		{ CFG_SEC_CONN, "remote_port = 501" },
		{ CFG_SEC_CONN, "transport = tcp" },
		{ CFG_SEC_CONN, "tcp_port = 443" },
		{ CFG_SEC_CONN, "tcp_fallback_delay = 2s" },
		{ CFG_SEC_CONN, "tcp_race_delay = 100ms" },
		{ CFG_SEC_CONN, "tcp_connect_timeout = 4s" },
		{ CFG_SEC_CONN, "tcp_connect_race = 100ms" },
		{ CFG_SEC_CONN, "udp_retry_without_separate = no" },
		{ CFG_SEC_CONN, "tcp_preconnect = no" },
		{ CFG_SEC_CONN, "esp_probe = no" },
		{ CFG_SEC_CONN, "esp_probe_delay = 1s" },
		{ CFG_SEC_CONN, "esp_probe_timeout = 6s" },
		{ CFG_SEC_CONN, "proposals = aes128gcm16-prfsha256-x25519" },
		{ CFG_SEC_CONN, "fragmentation = no" },
		{ CFG_SEC_CONN, "fragment_size = 1400" },
		{ CFG_SEC_CONN, "encap = yes" },
		{ CFG_SEC_CONN, "assume_no_nat = yes" },
		{ CFG_SEC_CONN, "initial_contact = no" },
		{ CFG_SEC_CONN, "unique = keep" },
		{ CFG_SEC_CONN, "ike_sas_per_id = 1" },
		{ CFG_SEC_CONN, "child_sas_max = 2" },
		{ CFG_SEC_CONN, "intermediate = yes" },
		{ CFG_SEC_CONN, "dpd_delay = 10s" },
		{ CFG_SEC_CONN, "dpd_timeout = 100s" },
		{ CFG_SEC_CONN, "rekey_time = 1h" },
		{ CFG_SEC_CONN, "retransmit_base = 2s" },
		{ CFG_SEC_CONN, "retransmit_factor = 1.5" },
		{ CFG_SEC_CONN, "retransmit_tries = 3" },
		{ CFG_SEC_CONN, "keepalive_interval = 10s" },
		{ CFG_SEC_CONN, "start_action = start" },
		{ CFG_SEC_CONN, "keyingtries = 3" },
		{ CFG_SEC_CONN, "dpd_action = restart" },
		{ CFG_SEC_CONN, "close_action = restart" },
		{ CFG_SEC_CONN, "rsa_pss = no" },
		{ CFG_SEC_CONN, "pools = q" },
		{ CFG_SEC_CONN, "vips = 0.0.0.0" },
		{ CFG_SEC_END, "auth = pubkey" },
		{ CFG_SEC_END, "id = fqdn:b.example" },
		{ CFG_SEC_END, "certs = /b.pem" },
		{ CFG_SEC_END, "key = /b.key" },
		{ CFG_SEC_END, "cacerts = /ca.pem" },
		{ CFG_SEC_END, "send_certreq = yes" },
		{ CFG_SEC_CHILD, "local_ts = 10.9.0.0/16" },
		{ CFG_SEC_CHILD, "remote_ts = 10.8.0.0/16" },
		{ CFG_SEC_CHILD, "mode = transport" },
		{ CFG_SEC_CHILD, "esp_proposals = aes128gcm16" },
		{ CFG_SEC_CHILD, "rekey_time = 30m" },
		{ CFG_SEC_CHILD, "life_time = 2h" },
		{ CFG_SEC_CHILD, "life_bytes = 1000000" },
		{ CFG_SEC_CHILD, "life_packets = 1000" },
		{ CFG_SEC_CHILD, "replay_window = 128" },
		{ CFG_SEC_CHILD, "start_action = start" },
	};
	static const char *const fmt =
		"connections {\n c {\n%s  local { auth = psk }\n  remote {\n%s  }\n"
		"  children { x {\n%s  } }\n }\n}\n"
		"pools {\n q { addrs = 10.11.0.0/24 }\n}\n";
	/* each section's lines without the change, then the change */
	static const char *const base_lines[3][3] = {
		{ "remote_addrs = 10.0.0.2" }, { "auth = psk" },
		{ "local_ts = 10.0.0.0/8", "remote_ts = 10.1.0.0/16" },
	};
	char err[512], text[1024], sec[3][256];
	struct config *base = NULL, *c;

	for (size_t i = 0; i <= sizeof(change) / sizeof(change[0]); i++) {
		const char *line = i ? change[i - 1].line : "";
		int which = i ? change[i - 1].sec - CFG_SEC_CONN : -1;

		for (int s = 0; s < 3; s++) {
			size_t o = 0;

			sec[s][0] = 0;
			for (int l = 0; l < 3 && base_lines[s][l]; l++) {
				size_t kl = strcspn(base_lines[s][l], " ");

				if (s != which || strncmp(line, base_lines[s][l], kl) || line[kl] != ' ')
					o += snprintf(sec[s] + o, sizeof(sec[s]) - o, "   %s\n", base_lines[s][l]);
			}
			if (s == which)
				snprintf(sec[s] + o, sizeof(sec[s]) - o, "   %s\n", line);
		}
		snprintf(text, sizeof(text), fmt, sec[0], sec[1], sec[2]);
		c = parse(text, err, sizeof(err));
		ASSERT_NE(NULL, c) TH_LOG("%s: %s", line, err);
		if (!base) {
			base = c;
			continue;
		}
		EXPECT_FALSE(conn_cfg_equal(base->conns, c->conns)) TH_LOG("%s", line);
		EXPECT_TRUE(conn_cfg_equal(c->conns, c->conns));
		config_free(c);
	}
	for (int s = CFG_SEC_CONN; s <= CFG_SEC_CHILD; s++)
		for (size_t i = 0; config_key_name(s, i); i++) {
			const char *name = config_key_name(s, i);
			bool found = false;

			for (size_t j = 0; j < sizeof(change) / sizeof(change[0]); j++)
				found |= change[j].sec == s && !strncmp(change[j].line, name, strlen(name)) &&
					 change[j].line[strlen(name)] == ' ';
			EXPECT_TRUE(found) TH_LOG("section %d: no change of '%s' tested", s, name);
		}
	config_free(base);
}

/* --- strongSwan's spellings (issue 17) ----------------------------------------- */

/* Each text refused with an error that starts with its msg. */
static void expect_refused(struct __test_metadata *_metadata, const struct bad *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *err = parse_err(cases[i].text);

		EXPECT_EQ(0, strncmp(err, cases[i].msg, strlen(cases[i].msg)))
			TH_LOG("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].msg);
	}
}

TEST(strongswan_spellings_accepted)
{
	char err[512];
	struct config *c = parse("connections {\n c {\n  remote_addrs = 10.0.0.2\n"
		"  proposals = aes256gcm128-prfsha384-curve448!, aes128gcm16-prfsha256-x25519\n"
		"  local { auth = psk\n   id = @gw.example.org }\n"
		"  remote { auth = psk\n   id = \"C=CH, O=strongSwan Project, CN=moon.strongswan.org\" }\n"
		" }\n}\nsecrets {\n s {\n  id = @@alice@example.org\n"
		"  secret = 0x000102030405060708090a0b0c0d0e0fff\n }\n"
		" t {\n  id = \"/C=DE/O=x/CN=y\"\n  secret = 0sAAECAwQFBgcICQoLDA0ODw==\n }\n}\n",
		err, sizeof(err));
	const struct conn_cfg *cc;
	static const char dn[] = "C=CH, O=strongSwan Project, CN=moon.strongswan.org";

	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	cc = c->conns;
	EXPECT_EQ(2, cc->n_ike);
	EXPECT_EQ(32, cc->ike[0].ke[0]);	/* curve448 = x448 */
	EXPECT_EQ(20, cc->ike[0].encr[0].id);	/* aes256gcm128 = aes256gcm16 */
	EXPECT_EQ(256, cc->ike[0].encr[0].keylen);
	EXPECT_EQ(2, cc->local.id.type);	/* @gw: FQDN without the @ */
	EXPECT_EQ(14, cc->local.id.len);
	EXPECT_EQ(0, memcmp("gw.example.org", cc->local.id.data, 14));
	/* a DN: its text, made DER where certificates are (exch_auth.c) */
	EXPECT_EQ(9, cc->remote.id.type);
	EXPECT_EQ(sizeof(dn) - 1, cc->remote.id.len);
	EXPECT_EQ(0, memcmp(dn, cc->remote.id.data, sizeof(dn) - 1));
	EXPECT_EQ(3, c->secrets->ids[0].type);	/* @@: e-mail */
	EXPECT_EQ(0, memcmp("alice@example.org", c->secrets->ids[0].data, 17));
	EXPECT_EQ(17, c->secrets->secret_len);	/* 0x: hex */
	EXPECT_EQ(0x0f, c->secrets->secret[15]);
	EXPECT_EQ(0xff, c->secrets->secret[16]);
	EXPECT_EQ(16, c->secrets->next->secret_len);	/* 0s: base64 */
	EXPECT_EQ(0x0f, c->secrets->next->secret[15]);
	EXPECT_EQ(9, c->secrets->next->ids[0].type);	/* "/C=.../CN=..." */
	EXPECT_EQ(NULL, c->warnings);
	config_free(c);
}

TEST(strongswan_spellings_refused_with_what_to_write)
{
	static const struct bad cases[] = {
		{ BASE "  proposals = aes256-sha1-modp1024\n" END,
		  "t.conf:6: proposals: strongSwan knows it but tcpike does not offer (weak, or not implemented) the algorithm 'sha1'" },
		{ BASE "  proposals = aes256gcm16-prfsha256-x25519, default\n" END,
		  "t.conf:6: proposals: strongSwan's 'default' has no meaning here: tcpike adds no proposals to a list, write them out" },
	};

	expect_refused(_metadata, cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * ML-KEM (draft-ietf-ipsecme-ikev2-mlkem, IDs 35-37) by strongSwan's names:
 * accepted where OpenSSL provides it (3.5 and later), and where it does
 * not, refused on the line that asked for it with what is missing.
 */
TEST(mlkem_needs_openssl_3_5)
{
	static const char *const names[] = { "mlkem512", "mlkem768", "mlkem1024" };
	char text[512], err[512];

	for (size_t i = 0; i < 3; i++) {
		struct config *c;
#if OPENSSL_VERSION_NUMBER < 0x30500000L
		char want[256];
#endif

		snprintf(text, sizeof(text), BASE "  proposals = aes256gcm16-prfsha256-%s\n" END,
			 names[i]);
		c = parse(text, err, sizeof(err));
#if OPENSSL_VERSION_NUMBER >= 0x30500000L
		ASSERT_NE(NULL, c) TH_LOG("%s: %s", names[i], err);
		EXPECT_EQ(35 + i, c->conns->ike[0].ke[0]);
		config_free(c);
#else
		snprintf(want, sizeof(want), "t.conf:6: proposals: ML-KEM needs OpenSSL 3.5 or "
			 "later; this tcpiked was built with OpenSSL %s", OPENSSL_VERSION_STR);
		ASSERT_EQ(NULL, c) TH_LOG("%s accepted", names[i]);
		EXPECT_STREQ(want, err);
#endif
	}
}

static const char *tmp_file(const char *name, const char *text, mode_t mode);
static void tmp_cleanup(void);

/* --- nonsense refused (issue 18), duplicates (issue 17) ----------------------- */

TEST(nonsense_refused)
{
	static const struct bad cases[] = {
		/* a clash with a default is blamed on the line that made it */
		{ "daemon {\n udp_port = 4500\n}\n",
		  "t.conf:2: udp_port: 4500 is natt_port too (its default): IKE and NAT traversal need two ports" },
		{ "daemon {\n natt_port = 500\n}\n",
		  "t.conf:2: natt_port: 500 is udp_port too (its default)" },
		{ "daemon {\n udp_port = 600\n natt_port = 600\n}\n",
		  "t.conf:3: natt_port: 600 is udp_port too" },
		{ "daemon {\n separate_transports_notify = 16390\n}\n",
		  "t.conf:2: separate_transports_notify: 16390 is COOKIE, assigned by IANA: choose an unassigned type" },
		{ "daemon {\n esp_transport_notify = 16430\n}\n",
		  "t.conf:2: esp_transport_notify: 16430 is IKEV2_FRAGMENTATION_SUPPORTED, assigned by IANA" },
		{ "daemon {\n esp_transport_notify = 40960\n}\n",
		  "t.conf:2: esp_transport_notify: 40960 is a private notify of Libreswan or strongSwan" },
		{ "daemon {\n esp_transport_notify = 49152\n}\n",
		  "t.conf:2: esp_transport_notify: 49152 is also separate_transports_notify (its default): the two must differ" },
		{ "daemon {\n separate_transports_notify = 50000\n esp_transport_notify = 50000\n}\n",
		  "t.conf:3: esp_transport_notify: 50000 is also separate_transports_notify: the two must differ" },
		{ "daemon {\n esp_transport_notify = 50000\n separate_transports_notify = 50000\n}\n",
		  "t.conf:3: separate_transports_notify: 50000 is also esp_transport_notify: the two must differ" },
		{ "daemon {\n cookie_threshold = 600\n half_open_max = 500\n}\n",
		  "t.conf:2: cookie_threshold (600) is above half_open_max (500): cookies would never be asked for" },
		{ "daemon {\n cookie_threshold = 6000\n}\n",
		  "t.conf:2: cookie_threshold (6000) is above half_open_max (5000, its default)" },
		{ "daemon {\n half_open_max = 10\n}\n",
		  "t.conf:2: cookie_threshold (50, its default) is above half_open_max (10): cookies would never be asked for" },
		{ "daemon {\n tcp_ports = 4500, 443, 4500\n}\n",
		  "t.conf:2: tcp_ports: 4500 is listed twice" },
		{ BASE "  dpd_delay = 0x10\n" END,
		  "t.conf:6: dpd_delay: expected a duration like 500ms, 20s, 5m or 4h, got '0x10'" },
		{ BASE "  dpd_delay = 1e3\n" END, "t.conf:6: dpd_delay: expected a duration" },
		{ BASE "  tcp_connect_timeout = 0x1p3s\n" END, "t.conf:6: tcp_connect_timeout: expected a duration" },
		{ BASE "  retransmit_factor = 0x1p1\n" END,
		  "t.conf:6: retransmit_factor: expected a number from 1.0 to 10.0, got '0x1p1'" },
		{ BASE "  retransmit_factor = 2e0\n" END, "t.conf:6: retransmit_factor: expected a number" },
		{ "connections {\n c {\n  remote_addrs = 0.0.0.0\n }\n}\n",
		  "t.conf:3: remote_addrs: 0.0.0.0 is the unspecified address, not a peer's address" },
		{ "connections {\n c {\n  remote_addrs = 10.0.0.2, 255.255.255.255\n }\n}\n",
		  "t.conf:3: remote_addrs: 255.255.255.255 is the broadcast address, not a peer's address" },
		{ "connections {\n c {\n  remote_addrs = 239.1.2.3\n }\n}\n",
		  "t.conf:3: remote_addrs: 239.1.2.3 is a multicast address" },
		{ "connections {\n c {\n  remote_addrs = ::\n }\n}\n",
		  "t.conf:3: remote_addrs: :: is the unspecified address" },
		{ "connections {\n c {\n  remote_addrs = ff02::1\n }\n}\n",
		  "t.conf:3: remote_addrs: ff02::1 is a multicast address" },
		/* the same written as IPv4-mapped IPv6 */
		{ "connections {\n c {\n  remote_addrs = ::ffff:0.0.0.0\n }\n}\n",
		  "t.conf:3: remote_addrs: ::ffff:0.0.0.0 is the unspecified address" },
		{ "connections {\n c {\n  remote_addrs = ::ffff:255.255.255.255\n }\n}\n",
		  "t.conf:3: remote_addrs: ::ffff:255.255.255.255 is the broadcast address" },
		{ "connections {\n c {\n  remote_addrs = ::ffff:224.0.0.1\n }\n}\n",
		  "t.conf:3: remote_addrs: ::ffff:224.0.0.1 is a multicast address" },
		{ "secrets {\n a {\n  id = 1.1.1.1\n  id2 = 2.2.2.2\n  secret = 0123456789abcdef\n }\n"
		  " b {\n  id = 2.2.2.2\n  id2 = 1.1.1.1\n  secret = fedcba9876543210\n }\n}\n",
		  "t.conf:7: secret 'b' is for the same identities as secret 'a' (line 2): one of them would never be used" },
		{ "secrets {\n a {\n  id = fqdn:x\n  secret = 0123456789abcdef\n }\n"
		  " b {\n  id = fqdn:x\n  secret = fedcba9876543210\n }\n}\n",
		  "t.conf:6: secret 'b' is for the same identities as secret 'a' (line 2)" },
		/* duplicates: both lines named */
		{ BASE "  dpd_delay = 10s\n  dpd_delay = 20s\n" END,
		  "t.conf:7: 'dpd_delay' is set twice in this section (first on line 6): remove one" },
		{ "daemon {\n}\ndaemon {\n}\n", "t.conf:3: section 'daemon' defined twice (first on line 1)" },
		{ "secrets {\n s {\n  id = 1.1.1.1\n  secret = 0123456789abcdef\n }\n s {\n  id = 2.2.2.2\n"
		  "  secret = 0123456789abcdef\n }\n}\n", "t.conf:6: secret 's' defined twice (first on line 2)" },
		{ BASE "  children {\n   x { local_ts = 10.0.0.0/8\n    remote_ts = 10.1.0.0/8 }\n"
		  "   x { local_ts = 10.0.0.0/8\n    remote_ts = 10.1.0.0/8 }\n  }\n" END,
		  "t.conf:9: child 'x' defined twice (first on line 7)" },
		{ BASE "  local { auth = psk }\n" END, "t.conf:6: section 'local' defined twice (first on line 4)" },
		{ "secrets {\n s {\n  id2 = 1.1.1.1\n  id2 = 2.2.2.2\n  secret = 0123456789abcdef\n }\n}\n",
		  "t.conf:4: 'id2' is set twice in this section (first on line 3)" },
	};

	expect_refused(_metadata, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Accepted, with a warning the daemon logs and reload prints. */
TEST(warnings)
{
	char err[512];
	struct config *c = parse(BASE "  dpd_delay = 500ms\n  rekey_time = 1500ms\n  dpd_timeout = 2s\n"
				 " }\n}\nsecrets {\n s {\n  id = 1.1.1.1\n  secret = short\n }\n}\n",
				 err, sizeof(err));

	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(1, c->conns->dpd_delay_s);		/* not 0, which is off */
	EXPECT_EQ(2, c->conns->rekey_time_s);
	EXPECT_EQ(2, c->conns->dpd_timeout_s);
	ASSERT_NE(NULL, c->warnings);
	EXPECT_STREQ("t.conf:6: dpd_delay = 500ms rounded up to 1s (dpd_delay counts whole seconds)\n"
		     "t.conf:7: rekey_time = 1500ms rounded up to 2s (rekey_time counts whole seconds)\n"
		     "t.conf:14: secret 's' is 5 bytes: a PSK shorter than 16 bytes can be guessed offline from one exchange (RFC 7296 section 2.15), use a long random one\n",
		     c->warnings);
	config_free(c);
}

/* transport = auto and separate race TCP after tcp_race_delay; a
 * configuration from before the race that set tcp_fallback_delay keeps its
 * delay, with a warning; both set is refused; udp ignores it. */
TEST(auto_takes_an_old_fallback_delay_for_the_race)
{
	char err[512];
	struct config *c = parse(BASE "  transport = auto\n  tcp_fallback_delay = 1s\n" END,
				 err, sizeof(err));

	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(1000, c->conns->tcp_race_delay_ms);
	ASSERT_NE(NULL, c->warnings);
	EXPECT_STREQ("t.conf:7: tcp_fallback_delay: transport = auto now races TCP beside UDP after tcp_race_delay (default 250ms); taken as tcp_race_delay = 1000ms, write that instead\n",
		     c->warnings);
	config_free(c);

	c = parse(BASE "  transport = auto\n  tcp_race_delay = 100ms\n" END, err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(100, c->conns->tcp_race_delay_ms);
	EXPECT_EQ(NULL, c->warnings);
	config_free(c);

	c = parse(BASE "  transport = separate\n  tcp_fallback_delay = 1s\n" END, err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(1000, c->conns->tcp_race_delay_ms);
	ASSERT_NE(NULL, c->warnings);
	EXPECT_STREQ("t.conf:7: tcp_fallback_delay: transport = separate now races TCP beside UDP after tcp_race_delay (default 250ms); taken as tcp_race_delay = 1000ms, write that instead\n",
		     c->warnings);
	config_free(c);

	c = parse(BASE "  transport = separate\n" END, err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(250, c->conns->tcp_race_delay_ms);
	EXPECT_EQ(NULL, c->warnings);
	config_free(c);

	EXPECT_STREQ("t.conf:7: tcp_fallback_delay: transport = auto starts TCP after tcp_race_delay, which is set too: remove tcp_fallback_delay",
		     parse_err(BASE "  transport = auto\n  tcp_fallback_delay = 1s\n"
			       "  tcp_race_delay = 300ms\n" END));
	EXPECT_STREQ("t.conf:7: tcp_fallback_delay: transport = separate starts TCP after tcp_race_delay, which is set too: remove tcp_fallback_delay",
		     parse_err(BASE "  transport = separate\n  tcp_fallback_delay = 1s\n"
			       "  tcp_race_delay = 300ms\n" END));

	/* 0: TCP together with UDP, in either spelling. */
	c = parse(BASE "  transport = auto\n  tcp_race_delay = 0\n" END, err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(0, c->conns->tcp_race_delay_ms);
	EXPECT_EQ(NULL, c->warnings);
	config_free(c);
	c = parse(BASE "  transport = auto\n  tcp_fallback_delay = 0\n" END, err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(0, c->conns->tcp_race_delay_ms);
	ASSERT_NE(NULL, c->warnings);
	config_free(c);
}

/* Under a millisecond: a fraction lost on the way to ms must not make a
 * timer 0 (off) either; and a short PSK is warned about in every spelling. */
TEST(warnings_below_a_millisecond_and_short_psk_spellings)
{
	const char *secret = tmp_file("short", "abcdefgh\n", 0600);
	char err[512], text[512];
	struct config *c = parse(BASE "  dpd_delay = 0.0001s\n  tcp_fallback_delay = 0.4ms\n"
				 "  esp_probe_delay = 1.5ms\n  tcp_connect_timeout = 1.1s\n"
				 "  esp_probe_timeout = 0.0002999999999d\n" END, err, sizeof(err));

	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_EQ(1, c->conns->dpd_delay_s);
	EXPECT_EQ(1, c->conns->tcp_race_delay_ms);	/* tcp_fallback_delay's field */
	EXPECT_EQ(2, c->conns->esp_probe_delay_ms);
	EXPECT_EQ(1100, c->conns->tcp_connect_timeout_ms);	/* exact: no warning */
	EXPECT_EQ(25920, c->conns->esp_probe_timeout_ms);	/* 25919.99999136ms */
	ASSERT_NE(NULL, c->warnings);
	EXPECT_STREQ("t.conf:6: dpd_delay = 0.0001s rounded up to 1s (dpd_delay counts whole seconds)\n"
		     "t.conf:7: tcp_fallback_delay = 0.4ms rounded up to 1ms (tcp_fallback_delay counts whole milliseconds)\n"
		     "t.conf:8: esp_probe_delay = 1.5ms rounded up to 2ms (esp_probe_delay counts whole milliseconds)\n"
		     "t.conf:10: esp_probe_timeout = 0.0002999999999d rounded up to 25920ms (esp_probe_timeout counts whole milliseconds)\n",
		     c->warnings);
	config_free(c);

	ASSERT_NE(NULL, secret);
	snprintf(text, sizeof(text), "secrets {\n a {\n  id = 1.1.1.1\n  secret = 0x0001020304\n }\n"
		 " b {\n  id = 2.2.2.2\n  secret = 0sAAECAw==\n }\n c {\n  id = 3.3.3.3\n  secret_file = %s\n }\n"
		 " d {\n  id = 4.4.4.4\n  secret = 0x000102030405060708090a0b0c0d0e0f\n }\n}\n", secret);
	c = parse(text, err, sizeof(err));
	ASSERT_NE(NULL, c) TH_LOG("%s", err);
	EXPECT_STREQ("t.conf:4: secret 'a' is 5 bytes: a PSK shorter than 16 bytes can be guessed offline from one exchange (RFC 7296 section 2.15), use a long random one\n"
		     "t.conf:8: secret 'b' is 4 bytes: a PSK shorter than 16 bytes can be guessed offline from one exchange (RFC 7296 section 2.15), use a long random one\n"
		     "t.conf:12: secret 'c' is 8 bytes: a PSK shorter than 16 bytes can be guessed offline from one exchange (RFC 7296 section 2.15), use a long random one\n",
		     c->warnings);
	config_free(c);
	tmp_cleanup();
}

/* --- files: tcpiked -t checks what start-up would (issues 17, 18) ------------- */

static char tmpdir[64];

static const char *tmp_file(const char *name, const char *text, mode_t mode)
{
	static char path[64][128];
	static int next;
	char *p = path[next++ % 64];
	int fd;

	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/tcpike-cfg-XXXXXX");
		if (!mkdtemp(tmpdir))
			return NULL;
	}
	snprintf(p, 128, "%s/%s", tmpdir, name);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return NULL;
	fchmod(fd, mode);
	close(fd);
	return p;
}

/* open() of this program, counting the opens of up to four watched paths
 * (each credential file opened once at config load); the system call does
 * the rest. */
static const char *watched[4];
static int opens[4];

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;
	int i;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	for (i = 0; i < 4; i++)
		if (watched[i] && !strcmp(path, watched[i]))
			opens[i]++;
	return syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static void tmp_cleanup(void)
{
	char cmd[128];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		return;
	tmpdir[0] = 0;
}

static const char *copy_data_as(const char *name, const char *as, mode_t mode)
{
	char src[128], buf[8192];
	int fd;
	ssize_t n;

	snprintf(src, sizeof(src), "userspace/tests/data/%s", name);
	fd = open(src, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return tmp_file(as, buf, mode);
}

static const char *copy_data(const char *name, mode_t mode)
{
	return copy_data_as(name, name, mode);
}

/* Loads text as a file of mode mode and runs config_check: the error, or
 * "" when both passed. */
static const char *load_check(const char *text, mode_t mode)
{
	static char err[1024];
	struct config *c = NULL;
	const char *path = tmp_file("t.conf", text, mode);

	err[0] = 0;
	if (!path)
		return "(no temporary file)";
	if (!config_load(path, &c, err, sizeof(err)))
		config_check(c, err, sizeof(err));
	config_free(c);
	return err;
}

#define PSK_CONN(extra) \
	"connections {\n gw {\n  remote_addrs = 10.0.0.2\n  local { auth = psk\n   id = fqdn:a }\n" \
	"  remote { auth = psk\n   id = fqdn:b }\n }\n}\n" extra

#define CERT_CONN(certs, key, ca) \
	"connections {\n gw {\n  remote_addrs = 10.0.0.2\n  local { auth = pubkey\n" \
	"   certs = " certs "\n   key = " key " }\n  remote { auth = pubkey\n   cacerts = " ca " }\n }\n}\n"

TEST(check_psk_secret_present)
{
	EXPECT_STREQ("", load_check(PSK_CONN("secrets {\n s {\n  id = fqdn:b\n  secret = 0123456789abcdef\n }\n}\n"), 0600));
	EXPECT_STREQ("", load_check(PSK_CONN("secrets {\n s {\n  id = fqdn:a\n  secret = 0123456789abcdef\n }\n}\n"), 0600));
	EXPECT_NE(NULL, strstr(load_check(PSK_CONN("secrets {\n s {\n  id = fqdn:c\n  secret = 0123456789abcdef\n }\n}\n"), 0600),
			       "t.conf:2: connection 'gw' authenticates with a PSK, but no secret names its identities (local fqdn:a, remote fqdn:b)"));
	EXPECT_NE(NULL, strstr(load_check(PSK_CONN(""), 0600), "no secret names its identities"));
	tmp_cleanup();
}

/* A wildcard remote id names every peer it matches: a secret for one of
 * them (or for our own id) will do; one for no such peer is an error. */
TEST(check_psk_secret_wildcard)
{
#define WILD_CONN(extra) \
	"connections {\n gw {\n  remote_addrs = %any\n  local { auth = psk\n   id = fqdn:gw }\n" \
	"  remote { auth = psk\n   id = *@example.com }\n }\n}\n" extra
	EXPECT_STREQ("", load_check(WILD_CONN("secrets {\n s {\n  id = gw.example.net\n  id2 = carol@example.com\n  secret = 0123456789abcdef\n }\n}\n"), 0600));
	EXPECT_NE(NULL, strstr(load_check(WILD_CONN("secrets {\n s {\n  id = other.example.net\n  id2 = carol@example.org\n  secret = 0123456789abcdef\n }\n}\n"), 0600),
			       "t.conf:2: connection 'gw' authenticates with a PSK, but no secret names its identities (local fqdn:gw, remote email:*@example.com)"));
#undef WILD_CONN
	tmp_cleanup();
}

TEST(check_certificates_keys_and_cas)
{
	char text[1024], want[512];
	const char *ec = copy_data("ec256.pem", 0644), *eckey = copy_data("ec256.key", 0600);
	const char *rsakey = copy_data("rsa.key", 0600), *ca = copy_data("ca.pem", 0644);
	const char *openkey;

	ASSERT_NE(NULL, ec);
	ASSERT_NE(NULL, eckey);
	ASSERT_NE(NULL, rsakey);
	ASSERT_NE(NULL, ca);
	snprintf(text, sizeof(text), CERT_CONN("%s", "%s", "%s"), ec, eckey, ca);
	EXPECT_STREQ("", load_check(text, 0600));
	/* the key of another certificate */
	snprintf(text, sizeof(text), CERT_CONN("%s", "%s", "%s"), ec, rsakey, ca);
	EXPECT_NE(NULL, strstr(load_check(text, 0600), "connection 'gw': the key '")) TH_LOG("%s", load_check(text, 0600));
	EXPECT_NE(NULL, strstr(load_check(text, 0600), "is not the one of the certificate '"));
	/* a key others can read */
	openkey = copy_data_as("ec256.key", "open.key", 0644);
	snprintf(text, sizeof(text), CERT_CONN("%s", "%s", "%s"), ec, openkey, ca);
	snprintf(want, sizeof(want), "%s/t.conf:6: key: '%s' is accessible by group or others (mode 644): chmod 600 it",
		 tmpdir, openkey);
	EXPECT_STREQ(want, load_check(text, 0600));
	/* no such CA file; a directory as CA file */
	snprintf(text, sizeof(text), CERT_CONN("%s", "%s", "%s/none.pem"), ec, eckey, tmpdir);
	snprintf(want, sizeof(want), "%s/t.conf:8: cacerts: '%s/none.pem': No such file or directory", tmpdir, tmpdir);
	EXPECT_STREQ(want, load_check(text, 0600));
	snprintf(text, sizeof(text), CERT_CONN("%s", "%s", "%s"), ec, eckey, tmpdir);
	snprintf(want, sizeof(want), "%s/t.conf:8: cacerts: '%s' is a directory, not a regular file", tmpdir, tmpdir);
	EXPECT_STREQ(want, load_check(text, 0600));
	/* a file that is there but holds no certificate */
	snprintf(text, sizeof(text), CERT_CONN("%s", "%s", "%s"), ec, eckey, eckey);
	EXPECT_NE(NULL, strstr(load_check(text, 0600), "t.conf:2: connection 'gw': cannot load a CA certificate from '"))
		TH_LOG("%s", load_check(text, 0600));
	tmp_cleanup();
}

/*
 * An ML-DSA key and certificate (FIPS 204): loaded where OpenSSL has
 * ML-DSA (3.5 or later); elsewhere refused on the line naming the key, with
 * what is needed.
 */
TEST(check_mldsa_key_needs_openssl_35)
{
	const char *cert = copy_data("mldsa65.pem", 0644), *key = copy_data("mldsa65.key", 0600);
	const char *ca = copy_data("mldsa-ca.pem", 0644);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "ML-DSA-65", NULL);
	bool have = c && EVP_PKEY_keygen_init(c) > 0;
	char text[1024], want[512];

	EVP_PKEY_CTX_free(c);
	ASSERT_NE(NULL, cert);
	ASSERT_NE(NULL, key);
	ASSERT_NE(NULL, ca);
	snprintf(text, sizeof(text), CERT_CONN("%s", "%s", "%s"), cert, key, ca);
	if (have) {
		EXPECT_STREQ("", load_check(text, 0600));
	} else {
		snprintf(want, sizeof(want), "%s/t.conf:6: key: '%s': an ML-DSA-65 key (FIPS 204): ML-DSA needs OpenSSL 3.5 or later; this tcpiked was built with OpenSSL %s",
			 tmpdir, key, OPENSSL_VERSION_STR);
		EXPECT_STREQ(want, load_check(text, 0600));
	}
	tmp_cleanup();
}

/* Checking a credential is loading it: each file opened once. */
TEST(check_opens_each_credential_once)
{
	const char *ec = copy_data("ec256.pem", 0644), *eckey = copy_data("ec256.key", 0600);
	const char *ca = copy_data("ca.pem", 0644);
	char text[1024];

	ASSERT_NE(NULL, ec);
	ASSERT_NE(NULL, eckey);
	ASSERT_NE(NULL, ca);
	snprintf(text, sizeof(text), CERT_CONN("%s", "%s", "%s"), ec, eckey, ca);
	watched[0] = ec;
	watched[1] = eckey;
	watched[2] = ca;
	EXPECT_STREQ("", load_check(text, 0600));
	EXPECT_EQ(1, opens[0]);	/* certs */
	EXPECT_EQ(1, opens[1]);	/* key */
	EXPECT_EQ(1, opens[2]);	/* cacerts */
	memset(watched, 0, sizeof(watched));
	tmp_cleanup();
}

/* Not a regular file: refused at once, with the path and the reason; a
 * FIFO must not block (the test would hang). */
TEST(config_and_secret_file_must_be_regular)
{
	char fifo[128], text[1024], err[512];
	struct config *c = NULL;

	ASSERT_NE(NULL, tmp_file("x", "", 0600));
	EXPECT_EQ(-1, config_load(tmpdir, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "' is a directory, not a regular file")) TH_LOG("%s", err);
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	unlink(fifo);
	ASSERT_EQ(0, mkfifo(fifo, 0600));
	EXPECT_EQ(-1, config_load(fifo, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "/fifo' is a FIFO, not a regular file")) TH_LOG("%s", err);
	EXPECT_EQ(-1, config_load("/dev/null", &c, err, sizeof(err)));
	EXPECT_STREQ("'/dev/null' is a character device, not a regular file", err);
	snprintf(text, sizeof(text), "secrets {\n s {\n  id = 1.2.3.4\n  secret_file = %s\n }\n}\n", fifo);
	EXPECT_NE(NULL, strstr(load_check(text, 0600), "t.conf:4: secret_file: '")) TH_LOG("%s", load_check(text, 0600));
	EXPECT_NE(NULL, strstr(load_check(text, 0600), "/fifo' is a FIFO, not a regular file"));
	snprintf(text, sizeof(text), CERT_CONN("%s", "%s", "%s"), fifo, fifo, fifo);
	EXPECT_NE(NULL, strstr(load_check(text, 0600), "t.conf:5: certs: '")) TH_LOG("%s", load_check(text, 0600));
	EXPECT_NE(NULL, strstr(load_check(text, 0600), "/fifo' is a FIFO, not a regular file"));
	unlink(fifo);
	tmp_cleanup();
}

/* A configuration others may change, or files of another user, refused. */
TEST(file_modes_and_owners)
{
	const char *secret = tmp_file("psk", "0123456789abcdef\n", 0600);
	char text[256];

	EXPECT_NE(NULL, strstr(load_check("daemon {\n}\n", 0620), "t.conf' is writable by group or others (mode 620): chmod go-w it"));
	EXPECT_NE(NULL, strstr(load_check("daemon {\n}\n", 0602), "is writable by group or others (mode 602)"));
	EXPECT_STREQ("", load_check("daemon {\n}\n", 0644));
	snprintf(text, sizeof(text), "secrets {\n s {\n  id = 1.2.3.4\n  secret_file = %s\n }\n}\n", secret);
	EXPECT_STREQ("", load_check(text, 0600));
	if (geteuid() == 0) {
		/* root: a file of another user is refused */
		ASSERT_EQ(0, chown(secret, 65534, 65534));
		EXPECT_NE(NULL, strstr(load_check(text, 0600), "psk' is owned by uid 65534, not by root: chown root it"))
			TH_LOG("%s", load_check(text, 0600));
	}
	tmp_cleanup();
}

/* Run as root (as the daemon is), every file it reads must be root's: the
 * configuration, a secret file, a key, a certificate, a CA file. */
TEST(files_of_another_user_refused)
{
	const char *cert = copy_data("ec256.pem", 0644), *key = copy_data("ec256.key", 0600);
	const char *ca = copy_data("ca.pem", 0644);
	const char *paths[] = { cert, key, ca }, *keys[] = { "certs", "key", "cacerts" }, *conf;
	const int lines[] = { 5, 6, 8 };	/* CERT_CONN's */
	char text[1024], err[1024];
	struct config *c = NULL;

	if (geteuid() != 0)
		SKIP(return, "needs root to give a file to another user");
	ASSERT_NE(NULL, cert);
	ASSERT_NE(NULL, key);
	ASSERT_NE(NULL, ca);
	snprintf(text, sizeof(text), CERT_CONN("%s", "%s", "%s"), cert, key, ca);
	EXPECT_STREQ("", load_check(text, 0600));
	/* the configuration itself */
	conf = tmp_file("own.conf", text, 0600);
	ASSERT_NE(NULL, conf);
	ASSERT_EQ(0, chown(conf, 65534, 65534));
	EXPECT_EQ(-1, config_load(conf, &c, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "own.conf' is owned by uid 65534, not by root: chown root it"))
		TH_LOG("%s", err);
	EXPECT_EQ(NULL, c);
	/* each on the line that names it, with the reason */
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char want[256];

		ASSERT_EQ(0, chown(paths[i], 65534, 65534));
		snprintf(want, sizeof(want), "%s/t.conf:%d: %s: '%s' is owned by uid 65534, not by root: chown root it",
			 tmpdir, lines[i], keys[i], paths[i]);
		EXPECT_STREQ(want, load_check(text, 0600));
		ASSERT_EQ(0, chown(paths[i], 0, 0));
	}
	EXPECT_STREQ("", load_check(text, 0600));
	tmp_cleanup();
}

/* RFC 9370 in strongSwan's words: keN_METHOD and keN_none, IKE only. */
TEST(additional_key_exchanges)
{
	struct proposal_cfg p[2];
	char err[512], s[256];
	struct config *c;

	ASSERT_EQ(1, config_parse_proposals("aes256gcm16-prfsha256-x25519-ke1_ecp384-ke2_x448-ke2_none",
					    false, p, 2, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(1, p[0].n_addke[0]);
	EXPECT_EQ(20, p[0].addke[0][0]);
	EXPECT_EQ(2, p[0].n_addke[1]);
	EXPECT_EQ(32, p[0].addke[1][0]);
	EXPECT_EQ(0, p[0].addke[1][1]);
	EXPECT_EQ(0, p[0].n_addke[2]);
	config_proposal_str(&p[0], s, sizeof(s));
	EXPECT_STREQ("aes256gcm16-prfsha256-x25519-ke1_ecp384-ke2_x448-ke2_none", s);
	/* RFC 9370 §2.2.4: Child SAs too, after a KE for PFS */
	ASSERT_EQ(1, config_parse_proposals("aes256gcm16-x25519-ke1_ecp384-ke2_x448", true, p, 2,
					    err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(31, p[0].ke[0]);
	EXPECT_EQ(20, p[0].addke[0][0]);
	EXPECT_EQ(32, p[0].addke[1][0]);
	config_proposal_str(&p[0], s, sizeof(s));
	EXPECT_STREQ("aes256gcm16-x25519-ke1_ecp384-ke2_x448-noesn", s);
	EXPECT_EQ(-1, config_parse_proposals("aes256gcm16-ke1_ecp384", true, p, 2, err,
					     sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "'ke1_ecp384' needs a key exchange method for PFS before it"))
		TH_LOG("%s", err);
	EXPECT_STREQ("t.conf:8: esp_proposals: 'ke1_ecp384' needs a key exchange method for PFS before it (e.g. aes256gcm16-x25519-ke1_ecp384): RFC 9370 runs additional key exchanges after the CREATE_CHILD_SA's own",
		     parse_err(BASE "  children { n {\n   remote_ts = 10.2.0.0/16\n"
			       "   esp_proposals = aes256gcm16-ke1_ecp384\n  } }\n" END));
	c = parse(BASE "  children { n {\n   local_ts = 10.1.0.0/16\n   remote_ts = 10.2.0.0/16\n"
		  "   esp_proposals = aes256gcm16-x25519-ke1_ecp384\n  } }\n" END, err, sizeof(err));
	EXPECT_NE(NULL, c) TH_LOG("%s", err);
	config_free(c);
	EXPECT_EQ(-1, config_parse_proposals("aes256gcm16-prfsha256-x25519-ke8_ecp384", false, p,
					     2, err, sizeof(err)));
	EXPECT_EQ(-1, config_parse_proposals("aes256gcm16-prfsha256-x25519-ke1_sha256", false, p,
					     2, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "ke1_sha256"));
	c = parse("connections {\n c {\n  remote_addrs = 10.0.0.2\n  intermediate = no\n"
		  "  proposals = aes256gcm16-prfsha256-x25519-ke1_ecp384\n"
		  "  local { auth = psk }\n  remote { auth = psk }\n }\n}\n", err, sizeof(err));
	EXPECT_EQ(NULL, c);
	EXPECT_NE(NULL, strstr(err, "intermediate = accept or yes"));
	config_free(c);
}

TEST_HARNESS_MAIN
