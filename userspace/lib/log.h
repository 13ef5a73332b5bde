/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging to stderr, the journal or syslog, with a level per subsystem.
 * Key material, nonces and shared secrets are never passed to these
 * functions; text a peer sent goes through log_escape() first.
 *
 * A file logs as one subsystem: it defines LOG_SUBSYS before any include,
 * e.g. "#define LOG_SUBSYS LOG_SUB_TCP"; without it, a file logs as ike.
 */
#ifndef TCPIKE_LOG_H
#define TCPIKE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

enum log_subsys {
	LOG_SUB_IKE = 0,	/* the exchanges, SAs, the engine */
	LOG_SUB_CFG,		/* configuration, control socket, start-up */
	LOG_SUB_NET,		/* UDP sockets */
	LOG_SUB_TCP,		/* RFC 9329 connections and framing */
	LOG_SUB_KERNEL,		/* the kernel backends */
	LOG_SUB_CRYPTO,		/* keys, certificates, algorithms */
	LOG_SUB_COUNT
};

#ifndef LOG_SUBSYS
#define LOG_SUBSYS LOG_SUB_IKE
#endif

/* The level of every subsystem (those set on their own included). */
void log_set_level(enum log_level lvl);
/* One subsystem's level; -1: the level of the others again. */
void log_set_subsys_level(enum log_subsys s, int lvl);
enum log_level log_get_level(void);
enum log_level log_subsys_level(enum log_subsys s);
/* Returns -1 for an unknown name. */
int log_level_from_name(const char *name);
const char *log_level_name(enum log_level lvl);
int log_subsys_from_name(const char *name);
const char *log_subsys_name(enum log_subsys s);
/*
 * "info", "debug, tcp=warning", "ike=debug": a level for all (optional,
 * first) and levels of single subsystems.  Fills levels[] (-1 where not
 * named) and *all (-1 when not given); -1 with a sentence in err.
 */
int log_levels_parse(const char *s, int *all, int levels[LOG_SUB_COUNT], char *err,
		     size_t errlen);
/* The current levels as "info, tcp=debug" (subsystems that differ). */
void log_levels_str(char *out, size_t len);

/* Switch output to syslog (ident "tcpiked") instead of stderr. */
void log_use_syslog(const char *ident);
void log_msg_sub(enum log_subsys s, enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Something else that wants each line (the control socket streams a
 * connection's lines to `tcpikectl initiate`): called for every line
 * written, with the text alone.  One tap; NULL removes it.
 */
typedef void (*log_tap_fn)(void *ctx, enum log_subsys s, enum log_level lvl, const char *line);
void log_set_tap(log_tap_fn fn, void *ctx);

/* Whether a message of lvl is written: test it before building text that
 * is only there to be logged. */
extern uint8_t log_levels_now[LOG_SUB_COUNT];
#define log_on(sub, lvl) (log_levels_now[(sub)] >= (lvl))
#define log_enabled(lvl) log_on(LOG_SUBSYS, lvl)

/* The level is tested before the arguments are evaluated: a line that
 * is not written costs no formatting of addresses and names (at
 * log_level = warning, what the info lines of every IKE SA cost was
 * several percent of a handshake).  Arguments must have no side effects. */
#define log_msg(lvl, ...)						\
	do {								\
		if (log_enabled(lvl))					\
			log_msg_sub(LOG_SUBSYS, lvl, __VA_ARGS__);	\
	} while (0)
#define log_err(...)	log_msg_sub(LOG_SUBSYS, LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/*
 * Rate-limited lines, for what a packet from anyone can cause (refusals,
 * drops): at most LOG_RL_BURST lines a call site in LOG_RL_WINDOW_MS; the
 * rest are counted and the next line that gets through is preceded by
 * "suppressed N messages like: <format>".
 */
#define LOG_RL_BURST		10
#define LOG_RL_WINDOW_MS	5000
struct log_rl {
	uint64_t window_ms;
	uint32_t n, suppressed;
};
bool log_rl_allow(struct log_rl *rl, enum log_subsys s, enum log_level lvl, const char *fmt);
#define log_rl(lvl, ...)						\
	do {								\
		static struct log_rl log_rl_site_;			\
		if (log_enabled(lvl) &&					\
		    log_rl_allow(&log_rl_site_, LOG_SUBSYS, lvl, log_rl_fmt_(__VA_ARGS__, 0))) \
			log_msg_sub(LOG_SUBSYS, lvl, __VA_ARGS__);	\
	} while (0)
#define log_rl_fmt_(fmt, ...) (fmt)
#define log_warn_rl(...)	log_rl(LOG_LVL_WARN, __VA_ARGS__)
#define log_info_rl(...)	log_rl(LOG_LVL_INFO, __VA_ARGS__)

/*
 * Bytes a peer chose (an identity, a certificate subject, notify data) as
 * one line of printable ASCII: '\' and anything outside 0x20-0x7e become
 * "\\" and "\xNN", so a peer cannot forge a log line or send escapes to a
 * terminal.  Cut with "..." when out is too small; returns out.
 */
char *log_escape(const void *p, size_t n, char *out, size_t outlen);

#endif
