// SPDX-License-Identifier: GPL-2.0
/*
 * log.c: peer bytes escaped (log_escape), the level of each subsystem and
 * its spelling (log_levels_parse), and the rate limit of lines a packet
 * from anyone can cause (log_rl).  Lines are read through the log tap.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "log.h"

static char seen[16][256];
static int n_seen;

static void tap(void *ctx, enum log_subsys s, enum log_level lvl, const char *line)
{
	(void)ctx;
	if (n_seen < 16)
		snprintf(seen[n_seen], sizeof(seen[0]), "%s %s %s", log_subsys_name(s),
			 log_level_name(lvl), line);
	n_seen++;
}

TEST(escape_backslash_controls_and_high_bytes)
{
	static const unsigned char in[] = "a\\b\nc\x1b[2J\xff";
	char out[64];

	EXPECT_STREQ("a\\\\b\\x0ac\\x1b[2J\\xff", log_escape(in, sizeof(in) - 1, out, sizeof(out)));
	/* a NUL in the data does not end it */
	EXPECT_STREQ("x\\x00y", log_escape("x\0y", 3, out, sizeof(out)));
	EXPECT_STREQ("", log_escape("", 0, out, sizeof(out)));
}

TEST(escape_cut_with_dots_never_past_out)
{
	char out[12];

	memset(out, 'Z', sizeof(out));
	log_escape("0123456789abcdef", 16, out, sizeof(out));
	EXPECT_EQ(11, strlen(out));
	EXPECT_STREQ("01234567...", out);
	/* an escape is never cut in half */
	log_escape("\n\n\n\n", 4, out, 10);
	EXPECT_STREQ("\\x0a...", out);
	log_escape("abc", 3, out, 1);
	EXPECT_STREQ("", out);
}

TEST(levels_parse_all_and_subsystems)
{
	int all, lv[LOG_SUB_COUNT];
	char err[256];

	ASSERT_EQ(0, log_levels_parse("info, tcp=debug kernel=warning", &all, lv, err, sizeof(err)));
	EXPECT_EQ(LOG_LVL_INFO, all);
	EXPECT_EQ(LOG_LVL_DEBUG, lv[LOG_SUB_TCP]);
	EXPECT_EQ(LOG_LVL_WARN, lv[LOG_SUB_KERNEL]);
	EXPECT_EQ(-1, lv[LOG_SUB_IKE]);
	ASSERT_EQ(0, log_levels_parse("ike=debug", &all, lv, err, sizeof(err)));
	EXPECT_EQ(-1, all);
	EXPECT_EQ(LOG_LVL_DEBUG, lv[LOG_SUB_IKE]);
	EXPECT_EQ(-1, log_levels_parse("tcp=loud", &all, lv, err, sizeof(err)));
	EXPECT_STREQ("unknown level 'loud' (expected error, warning, info or debug)", err);
	EXPECT_EQ(-1, log_levels_parse("udp=debug", &all, lv, err, sizeof(err)));
	EXPECT_STREQ("unknown subsystem 'udp' (expected ike, cfg, net, tcp, kernel or crypto)", err);
	EXPECT_EQ(-1, log_levels_parse("tcp=debug info", &all, lv, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "expected error, warning, info or debug first"));
	EXPECT_EQ(-1, log_levels_parse("", &all, lv, err, sizeof(err)));
}

TEST(subsystem_level_filters_its_lines_only)
{
	char s[128];

	log_set_tap(tap, NULL);
	n_seen = 0;
	log_set_level(LOG_LVL_WARN);
	log_set_subsys_level(LOG_SUB_TCP, LOG_LVL_DEBUG);
	log_levels_str(s, sizeof(s));
	EXPECT_STREQ("warning, tcp=debug", s);
	log_msg_sub(LOG_SUB_TCP, LOG_LVL_DEBUG, "tcp line %d", 1);
	log_msg_sub(LOG_SUB_IKE, LOG_LVL_INFO, "ike info, filtered");
	log_msg_sub(LOG_SUB_IKE, LOG_LVL_WARN, "ike warning");
	ASSERT_EQ(2, n_seen);
	EXPECT_STREQ("tcp debug tcp line 1", seen[0]);
	EXPECT_STREQ("ike warning ike warning", seen[1]);
	/* -1: tcp follows the others again; log_set_level resets all */
	log_set_subsys_level(LOG_SUB_TCP, -1);
	EXPECT_EQ(LOG_LVL_WARN, log_subsys_level(LOG_SUB_TCP));
	log_set_subsys_level(LOG_SUB_CRYPTO, LOG_LVL_ERR);
	log_set_level(LOG_LVL_INFO);
	EXPECT_EQ(LOG_LVL_INFO, log_subsys_level(LOG_SUB_CRYPTO));
	log_set_tap(NULL, NULL);
}

TEST(rate_limit_burst_then_counted)
{
	log_set_tap(tap, NULL);
	log_set_level(LOG_LVL_INFO);
	n_seen = 0;
	for (int i = 0; i < LOG_RL_BURST + 5; i++)
		log_warn_rl("refused %d", i);
	EXPECT_EQ(LOG_RL_BURST, n_seen);
	EXPECT_STREQ("ike warning refused 0", seen[0]);
	log_set_tap(NULL, NULL);
}

/* A foreground line (stderr, not the journal): ISO 8601 UTC time with
 * milliseconds, the level, the message; the time is now's. */
/* The arguments of a line that is not written are not evaluated: the
 * responder builds addresses and names for info lines on every SA, and
 * formatting them at log_level = warning cost more than a HMAC. */
static int formatted;

static const char *costly(void)
{
	formatted++;
	return "x";
}

TEST(line_below_level_is_not_formatted)
{
	n_seen = 0;
	formatted = 0;
	log_set_tap(tap, NULL);
	log_set_level(LOG_LVL_WARN);
	log_info("%s", costly());
	log_msg(LOG_LVL_INFO, "%s", costly());
	log_debug("%s", costly());
	EXPECT_EQ(0, formatted);
	EXPECT_EQ(0, n_seen);
	log_warn("%s", costly());
	log_err("%s", costly());
	EXPECT_EQ(2, formatted);
	EXPECT_EQ(2, n_seen);
	log_set_level(LOG_LVL_ERR);
	log_warn("%s", costly());
	EXPECT_EQ(2, formatted);
	log_set_level(LOG_LVL_INFO);
	log_info("%s", costly());
	EXPECT_EQ(3, formatted);
	EXPECT_EQ(3, n_seen);
	EXPECT_STREQ("ike info x", seen[2]);
	log_set_tap(NULL, NULL);
}

TEST(foreground_line_iso8601_utc_ms)
{
	FILE *f = tmpfile();
	int saved = dup(2), y, mo, d, h, mi, sec, ms;
	char line[256] = "", lvl[16] = "", msg[32] = "";
	time_t t0 = time(NULL), t;
	struct tm tm = { 0 };

	ASSERT_NE(NULL, f);
	fflush(stderr);
	ASSERT_EQ(2, dup2(fileno(f), 2));
	log_set_level(LOG_LVL_INFO);
	log_msg_sub(LOG_SUB_IKE, LOG_LVL_INFO, "stamped");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	fclose(f);
	ASSERT_EQ(9, sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ %15[a-z]: %31s",
			    &y, &mo, &d, &h, &mi, &sec, &ms, lvl, msg)) {
		TH_LOG("line: %s", line);
	}
	EXPECT_STREQ("info", lvl);
	EXPECT_STREQ("stamped", msg);
	EXPECT_EQ(':', line[13]);
	EXPECT_EQ('.', line[19]);
	EXPECT_EQ('Z', line[23]);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	EXPECT_TRUE(t >= t0 && t <= t0 + 2);
}

TEST_HARNESS_MAIN
