// SPDX-License-Identifier: GPL-2.0
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

/* The level each subsystem logs at: the one set for all, or its own. */
uint8_t log_levels_now[LOG_SUB_COUNT] = {
	LOG_LVL_INFO, LOG_LVL_INFO, LOG_LVL_INFO, LOG_LVL_INFO, LOG_LVL_INFO, LOG_LVL_INFO,
};
static enum log_level all_level = LOG_LVL_INFO;
static int own_level[LOG_SUB_COUNT] = { -1, -1, -1, -1, -1, -1 };
static bool to_syslog;
static log_tap_fn tap;
static void *tap_ctx;

static const char *const names[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

static const char *const subsys_names[LOG_SUB_COUNT] = {
	[LOG_SUB_IKE] = "ike",
	[LOG_SUB_CFG] = "cfg",
	[LOG_SUB_NET] = "net",
	[LOG_SUB_TCP] = "tcp",
	[LOG_SUB_KERNEL] = "kernel",
	[LOG_SUB_CRYPTO] = "crypto",
};

static void levels_update(void)
{
	for (int s = 0; s < LOG_SUB_COUNT; s++)
		log_levels_now[s] = (uint8_t)(own_level[s] >= 0 ? own_level[s] : (int)all_level);
}

void log_set_level(enum log_level lvl)
{
	all_level = lvl;
	for (int s = 0; s < LOG_SUB_COUNT; s++)
		own_level[s] = -1;
	levels_update();
}

void log_set_subsys_level(enum log_subsys s, int lvl)
{
	if ((unsigned int)s >= LOG_SUB_COUNT)
		return;
	own_level[s] = lvl;
	levels_update();
}

enum log_level log_get_level(void)
{
	return all_level;
}

enum log_level log_subsys_level(enum log_subsys s)
{
	return (unsigned int)s < LOG_SUB_COUNT ? (enum log_level)log_levels_now[s] : all_level;
}

int log_level_from_name(const char *name)
{
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return (int)i;
	return -1;
}

const char *log_level_name(enum log_level lvl)
{
	return lvl <= LOG_LVL_DEBUG ? names[lvl] : "?";
}

int log_subsys_from_name(const char *name)
{
	for (int i = 0; i < LOG_SUB_COUNT; i++)
		if (!strcmp(name, subsys_names[i]))
			return i;
	return -1;
}

const char *log_subsys_name(enum log_subsys s)
{
	return (unsigned int)s < LOG_SUB_COUNT ? subsys_names[s] : "?";
}

int log_levels_parse(const char *s, int *all, int levels[LOG_SUB_COUNT], char *err,
		     size_t errlen)
{
	char copy[256], *save = NULL, *tok;
	bool first = true;

	*all = -1;
	for (int i = 0; i < LOG_SUB_COUNT; i++)
		levels[i] = -1;
	if (strlen(s) >= sizeof(copy)) {
		snprintf(err, errlen, "too long");
		return -1;
	}
	snprintf(copy, sizeof(copy), "%s", s);
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *eq = strchr(tok, '=');
		int sub, lvl;

		if (!eq) {
			lvl = log_level_from_name(tok);
			if (!first || lvl < 0) {
				snprintf(err, errlen, "'%s': expected error, warning, info or debug first, then SUBSYSTEM=LEVEL (subsystems: ike, cfg, net, tcp, kernel, crypto)",
					 tok);
				return -1;
			}
			*all = lvl;
		} else {
			*eq = 0;
			sub = log_subsys_from_name(tok);
			lvl = log_level_from_name(eq + 1);
			if (sub < 0 || lvl < 0) {
				snprintf(err, errlen, sub < 0 ?
					 "unknown subsystem '%s' (expected ike, cfg, net, tcp, kernel or crypto)" :
					 "unknown level '%s' (expected error, warning, info or debug)",
					 sub < 0 ? tok : eq + 1);
				return -1;
			}
			levels[sub] = lvl;
		}
		first = false;
	}
	if (first) {
		snprintf(err, errlen, "expected a level (error, warning, info or debug)");
		return -1;
	}
	return 0;
}

void log_levels_str(char *out, size_t len)
{
	size_t o = (size_t)snprintf(out, len, "%s", names[all_level]);

	for (int s = 0; s < LOG_SUB_COUNT && o < len; s++)
		if (log_levels_now[s] != all_level)
			o += (size_t)snprintf(out + o, len - o, ", %s=%s", subsys_names[s],
					      names[log_levels_now[s]]);
}

void log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	to_syslog = true;
}

void log_set_tap(log_tap_fn fn, void *ctx)
{
	tap = fn;
	tap_ctx = ctx;
}

/*
 * stderr is the journal when systemd says so ($JOURNAL_STREAM is the
 * device:inode of the stream it connected, systemd.exec(5)): each line then
 * starts with its syslog priority, "<3>" for an error (sd-daemon(3)), and
 * goes without a timestamp, which the journal adds.
 */
static bool stderr_is_journal(void)
{
	static int cached = -1;
	unsigned long long dev, ino;
	const char *e;
	struct stat st;

	if (cached < 0) {
		e = getenv("JOURNAL_STREAM");
		cached = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 &&
			 !fstat(2, &st) && st.st_dev == dev && st.st_ino == ino;
	}
	return cached;
}

void log_msg_sub(enum log_subsys s, enum log_level lvl, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[2048];
	struct timespec ts;
	va_list ap;

	if ((unsigned int)s >= LOG_SUB_COUNT)
		s = LOG_SUB_IKE;
	if (lvl > log_levels_now[s])
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (to_syslog) {
		syslog(prio[lvl], "%s", line);
	} else if (stderr_is_journal()) {
		fprintf(stderr, "<%d>%s\n", prio[lvl], line);
	} else {
		/* ISO 8601, UTC, milliseconds (2026-12-05T17:06:07.123Z):
		 * read by bench/large-messages/drive.py and check-pkg */
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s: %s\n", when, ts.tv_nsec / 1000000, names[lvl], line);
	}
	if (tap)
		tap(tap_ctx, s, lvl, line);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool log_rl_allow(struct log_rl *rl, enum log_subsys s, enum log_level lvl, const char *fmt)
{
	uint64_t now = mono_ms();

	if (!rl->window_ms || now - rl->window_ms >= LOG_RL_WINDOW_MS) {
		if (rl->suppressed)
			log_msg_sub(s, lvl, "suppressed %u messages like: %s", rl->suppressed, fmt);
		rl->window_ms = now;
		rl->n = 0;
		rl->suppressed = 0;
	}
	if (rl->n < LOG_RL_BURST) {
		rl->n++;
		return true;
	}
	rl->suppressed++;
	return false;
}

char *log_escape(const void *p, size_t n, char *out, size_t outlen)
{
	const uint8_t *b = p;
	size_t o = 0;

	if (!outlen)
		return out;
	for (size_t i = 0; i < n; i++) {
		char e[5];
		size_t l;

		if (b[i] == '\\')
			l = (size_t)snprintf(e, sizeof(e), "\\\\");
		else if (b[i] < 0x20 || b[i] > 0x7e)
			l = (size_t)snprintf(e, sizeof(e), "\\x%02x", b[i]);
		else
			l = (size_t)snprintf(e, sizeof(e), "%c", b[i]);
		if (o + l + 4 > outlen) {
			if (o + 4 <= outlen)
				memcpy(out + o, "...", 3), o += 3;
			break;
		}
		memcpy(out + o, e, l);
		o += l;
	}
	out[o] = 0;
	return out;
}
