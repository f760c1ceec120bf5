/*
 * log.h: crdbfeedd's log lines. One line per event on stderr, with the feed
 * (or sink) it concerns; syslog priority prefixes ("<6>") under systemd;
 * the journal's native protocol with structured fields when stderr is the
 * journal (see log.c).
 */
#ifndef CRDBFEEDD_LOG_H
#define CRDBFEEDD_LOG_H

#include <stdbool.h>

#include "loglevel.h"

/* Read JOURNAL_STREAM / INVOCATION_ID once, before the first line. */
void log_init(enum log_level level);

/* Where lines go, as log_init() decided. */
enum log_target {
	LOG_TARGET_STDERR,          /* timestamped lines */
	LOG_TARGET_STDERR_PRIORITY, /* "<N>" lines for systemd */
	LOG_TARGET_JOURNAL          /* sd_journal_send; stderr ("<N>") when
				       the journal refuses a message */
};
enum log_target log_get_target(void);

/* True when JOURNAL_STREAM names the file stderr is now (dev:ino). */
bool log_stderr_is_journal(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
bool log_enabled(enum log_level level);

/*
 * Write one line: "who" names the feed or sink ("feed orders", "sink x"),
 * or is NULL for the daemon itself. The message must not end with a
 * newline; embedded newlines are replaced so that one event stays one line.
 */
void log_msg(enum log_level level, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Structured context for a line. Under the journal (JOURNAL_STREAM names our
 * stderr) the fields go out as FEED=, SINK=, TABLE=, SQLSTATE= with the
 * message; on plain stderr the line reads "feed F: message" (or "sink S:")
 * with " [table T] [SQLSTATE X]" after the message. Any field may be NULL.
 */
struct log_ctx {
	const char *feed;
	const char *sink;
	const char *table;
	const char *sqlstate;
};

void log_ctx_msg(enum log_level level, const struct log_ctx *ctx,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(who, ...)   log_msg(LOG_LEVEL_ERROR, who, __VA_ARGS__)
#define log_warning(who, ...) log_msg(LOG_LEVEL_WARNING, who, __VA_ARGS__)
#define log_notice(who, ...)  log_msg(LOG_LEVEL_NOTICE, who, __VA_ARGS__)
#define log_info(who, ...)    log_msg(LOG_LEVEL_INFO, who, __VA_ARGS__)
#define log_debug(who, ...)   log_msg(LOG_LEVEL_DEBUG, who, __VA_ARGS__)

#endif /* CRDBFEEDD_LOG_H */
