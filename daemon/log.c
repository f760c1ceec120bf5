/*
 * log.c: crdbfeedd's log lines. Three targets, chosen once by log_init():
 *  - the journal's native protocol (sd_journal_send), when built with
 *    libsystemd and stderr is the journal stream systemd gave us
 *    (JOURNAL_STREAM's "dev:ino" is fstat(2)'s): MESSAGE, PRIORITY,
 *    SYSLOG_IDENTIFIER=crdbfeedd and the structured fields FEED, SINK,
 *    TABLE, SQLSTATE. A message the journal refuses (or any message while
 *    journald's socket is missing) goes to stderr instead.
 *  - stderr with syslog priority prefixes, "<3>" to "<7>", and no timestamp
 *    (the journal adds one) under systemd otherwise (JOURNAL_STREAM or
 *    INVOCATION_ID set);
 *  - elsewhere stderr lines reading
 *    "2026-11-25T05:15:08.123Z crdbfeedd[42]: warning: feed orders: ...".
 */
#include <config.h> /* autoconf's, from the build directory */

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-journal.h>

/* journald's native socket. sd_journal_send() reports success when it is
 * missing ("fail silently"), so we look ourselves. */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#endif

static enum log_level current_level = LOG_LEVEL_INFO;
static bool under_systemd;
static bool to_journal;

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

bool log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char extra;

	/* systemd sets "<device>:<inode>" of the stream it connected to
	 * stderr; once we are redirected elsewhere it no longer matches. */
	if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &extra) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_init(enum log_level level)
{
	const char *js = getenv("JOURNAL_STREAM");
	const char *inv = getenv("INVOCATION_ID");

	under_systemd = (js && *js) || (inv && *inv);
#ifdef HAVE_SYSTEMD
	to_journal = log_stderr_is_journal();
#else
	to_journal = false;
#endif
	current_level = level;
}

enum log_target log_get_target(void)
{
	if (to_journal)
		return LOG_TARGET_JOURNAL;
	return under_systemd ? LOG_TARGET_STDERR_PRIORITY : LOG_TARGET_STDERR;
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

#ifdef HAVE_SYSTEMD
/* "NAME=value" for one iovec; value cut to fit. */
static void journal_field(struct iovec *iov, size_t *n, char *buf, size_t len,
			  const char *name, const char *value)
{
	int w;

	if (!value)
		return;
	w = snprintf(buf, len, "%s=%s", name, value);
	if (w < 0)
		return;
	iov[*n].iov_base = buf;
	iov[*n].iov_len = (size_t)w < len ? (size_t)w : len - 1;
	(*n)++;
}

/*
 * The message with its fields to the journal. who without a ctx ("feed
 * orders", "sink x") still gives FEED= or SINK=. 0, or -1 when the journal
 * refused it (the caller then writes to stderr).
 */
static int journal_send(enum log_level level, const char *who,
			const struct log_ctx *ctx, const char *text)
{
	char message[2048 + 16], priority[16], feed[192], sink[192],
	     table[192], sqlstate[32];
	struct iovec iov[8];
	size_t n = 0;
	const char *feed_name = ctx ? ctx->feed : NULL;
	const char *sink_name = ctx ? ctx->sink : NULL;

	if (!ctx && who && strncmp(who, "feed ", 5) == 0)
		feed_name = who + 5;
	else if (!ctx && who && strncmp(who, "sink ", 5) == 0)
		sink_name = who + 5;
	journal_field(iov, &n, message, sizeof(message), "MESSAGE", text);
	snprintf(priority, sizeof(priority), "PRIORITY=%d", level_info[level].priority);
	iov[n].iov_base = priority;
	iov[n++].iov_len = strlen(priority);
	iov[n].iov_base = (char *)"SYSLOG_IDENTIFIER=crdbfeedd";
	iov[n++].iov_len = strlen("SYSLOG_IDENTIFIER=crdbfeedd");
	journal_field(iov, &n, feed, sizeof(feed), "FEED", feed_name);
	journal_field(iov, &n, sink, sizeof(sink), "SINK", sink_name);
	journal_field(iov, &n, table, sizeof(table), "TABLE", ctx ? ctx->table : NULL);
	journal_field(iov, &n, sqlstate, sizeof(sqlstate), "SQLSTATE",
		      ctx ? ctx->sqlstate : NULL);
	if (access(JOURNAL_SOCKET, W_OK) != 0)
		return -1;
	return sd_journal_sendv(iov, (int)n) < 0 ? -1 : 0;
}
#endif

static void log_vmsg(enum log_level level, const char *who,
		     const struct log_ctx *ctx, const char *suffix,
		     const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

static void log_vmsg(enum log_level level, const char *who,
		     const struct log_ctx *ctx, const char *suffix,
		     const char *fmt, va_list ap)
{
	char line[2048];
	size_t len = 0, text_start, body_start = 0, text_end;
	int n;

	if (!log_enabled(level))
		return;
	if (under_systemd || to_journal) {
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
	/* The journal's MESSAGE is the line from here on: its priority is a
	 * field of its own. */
	text_start = len;
	text_end = len;
	if (who && len < sizeof(line)) {
		n = snprintf(line + len, sizeof(line) - len, "%s: ", who);
		if (n > 0)
			len += (size_t)n;
	}
	if (len < sizeof(line)) {
		body_start = len;
		n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
		if (n > 0)
			len += (size_t)n;
		text_end = len < sizeof(line) ? len : sizeof(line) - 1;
		if (suffix && len < sizeof(line)) {
			n = snprintf(line + len, sizeof(line) - len, "%s", suffix);
			if (n > 0)
				len += (size_t)n;
		}
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		/* One event, one line: the message may quote server text. */
		for (size_t i = body_start; i < len; i++)
			if (line[i] == '\n' || line[i] == '\r')
				line[i] = ' ';
	}
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	if (text_end > len)
		text_end = len;
#ifdef HAVE_SYSTEMD
	/* The journal gets the message without the " [table T]" suffix:
	 * those are fields there. */
	if (to_journal && text_start <= text_end) {
		char saved = line[text_end];
		int rc;

		line[text_end] = '\0';
		rc = journal_send(level, who, ctx, line + text_start);
		line[text_end] = saved;
		if (rc == 0)
			return;
	}
#else
	(void)text_start;
	(void)ctx;
#endif
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
	log_vmsg(level, who, NULL, NULL, fmt, ap);
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
	log_vmsg(level, who[0] ? who : NULL, ctx, suffix, fmt, ap);
	va_end(ap);
}
