/*
 * log.c: crdbfeedd's log lines on stderr. Under systemd (JOURNAL_STREAM or
 * INVOCATION_ID set) each line starts with its syslog priority, "<3>" to
 * "<7>", which journald turns into the entry's priority, and carries no
 * timestamp (the journal adds one). Elsewhere a line reads
 * "2026-11-25T05:15:08.123Z crdbfeedd[42]: warning: feed orders: ...".
 */
#include <config.h> /* autoconf's, from the build directory */

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_LEVEL_INFO;
static bool under_systemd;

static const struct {
	const char *name;
	int priority; /* syslog(3) */
} level_info[] = {
	[LOG_LEVEL_ERROR] = { "error", 3 },
	[LOG_LEVEL_WARNING] = { "warning", 4 },
	[LOG_LEVEL_NOTICE] = { "notice", 5 },
	[LOG_LEVEL_INFO] = { "info", 6 },
	[LOG_LEVEL_DEBUG] = { "debug", 7 },
};

void log_init(enum log_level level)
{
	const char *js = getenv("JOURNAL_STREAM");
	const char *inv = getenv("INVOCATION_ID");

	under_systemd = (js && *js) || (inv && *inv);
	current_level = level;
}

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

bool log_enabled(enum log_level level)
{
	return level <= current_level;
}

static void log_vmsg(enum log_level level, const char *who, const char *suffix,
		     const char *fmt, va_list ap)
{
	char line[2048];
	size_t len = 0;
	int n;

	if (!log_enabled(level))
		return;
	if (under_systemd) {
		n = snprintf(line, sizeof(line), "<%d>", level_info[level].priority);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof(line),
			     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ crdbfeedd[%ld]: ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec,
			     ts.tv_nsec / 1000000, (long)getpid());
	}
	if (n > 0)
		len = (size_t)n;
	n = snprintf(line + len, sizeof(line) - len, "%s: ", level_info[level].name);
	if (n > 0)
		len += (size_t)n;
	if (who && len < sizeof(line)) {
		n = snprintf(line + len, sizeof(line) - len, "%s: ", who);
		if (n > 0)
			len += (size_t)n;
	}
	if (len < sizeof(line)) {
		size_t start = len;

		n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
		if (n > 0)
			len += (size_t)n;
		if (suffix && len < sizeof(line)) {
			n = snprintf(line + len, sizeof(line) - len, "%s", suffix);
			if (n > 0)
				len += (size_t)n;
		}
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		/* One event, one line: the message may quote server text. */
		for (size_t i = start; i < len; i++)
			if (line[i] == '\n' || line[i] == '\r')
				line[i] = ' ';
	}
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write(2) so that concurrent writers do not interleave lines. */
	if (write(STDERR_FILENO, line, len) < 0) {
		/* Nowhere left to report it. */
	}
}

void log_msg(enum log_level level, const char *who, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vmsg(level, who, NULL, fmt, ap);
	va_end(ap);
}

void log_ctx_msg(enum log_level level, const struct log_ctx *ctx,
		 const char *fmt, ...)
{
	char who[160], suffix[256];
	va_list ap;

	if (!log_enabled(level))
		return;
	who[0] = suffix[0] = '\0';
	if (ctx && ctx->feed)
		snprintf(who, sizeof(who), "feed %s", ctx->feed);
	else if (ctx && ctx->sink)
		snprintf(who, sizeof(who), "sink %s", ctx->sink);
	if (ctx)
		snprintf(suffix, sizeof(suffix), "%s%s%s%s%s%s",
			 ctx->table ? " [table " : "", ctx->table ? ctx->table : "",
			 ctx->table ? "]" : "",
			 ctx->sqlstate ? " [SQLSTATE " : "",
			 ctx->sqlstate ? ctx->sqlstate : "",
			 ctx->sqlstate ? "]" : "");
	va_start(ap, fmt);
	log_vmsg(level, who[0] ? who : NULL, suffix, fmt, ap);
	va_end(ap);
}
