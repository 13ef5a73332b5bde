/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging to stderr or syslog with levels.  Key material, nonces and
 * shared secrets are never passed to these functions.
 */
#ifndef TCPIKE_LOG_H
#define TCPIKE_LOG_H

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Returns -1 for an unknown name. */
int log_level_from_name(const char *name);
const char *log_level_name(enum log_level lvl);
/* Switch output to syslog (ident "tcpiked") instead of stderr. */
void log_use_syslog(const char *ident);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Whether a message of lvl is written: test it before building text that
 * is only there to be logged. */
#define log_enabled(lvl) (log_get_level() >= (lvl))

#define log_err(...)	log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)						\
	do {							\
		if (log_enabled(LOG_LVL_DEBUG))			\
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);	\
	} while (0)

#endif
