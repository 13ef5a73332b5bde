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

static enum log_level cur_level = LOG_LVL_INFO;
static bool to_syslog;

static const char *const names[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void log_set_level(enum log_level lvl)
{
	cur_level = lvl;
}

enum log_level log_get_level(void)
{
	return cur_level;
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

void log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	to_syslog = true;
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

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	struct timespec ts;
	va_list ap;

	if (lvl > cur_level)
		return;
	va_start(ap, fmt);
	if (to_syslog) {
		vsyslog(prio[lvl], fmt, ap);
	} else if (stderr_is_journal()) {
		fprintf(stderr, "<%d>", prio[lvl]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		fprintf(stderr, "%ld.%03ld %s: ", (long)ts.tv_sec,
			ts.tv_nsec / 1000000, names[lvl]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
