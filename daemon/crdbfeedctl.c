/*
 * crdbfeedctl.c: the operator's command line for crdbfeedd. It speaks the
 * control socket's protocol (daemon/control.h: one command line per
 * connection, the answer until end of file), for `tail` a sink's
 * subscriber protocol (crdbfeedd(8), "SUBSCRIBING"), and for `replay` of
 * a stopped daemon reads the feed's journal itself (ctl_replay.h, with the
 * daemon's configuration loader to find it). `scram-verifier` and
 * `notify-sql` need no daemon: they serve the LISTEN/NOTIFY set-up
 * (ctl_notify.h). Every failure is one line on
 * stderr and a distinct exit status (crdbfeedctl(1), "EXIT STATUS").
 */
#include <config.h> /* autoconf's, from the build directory */

#include "conf.h"
#include "ctl_notify.h"
#include "ctl_replay.h"
#include "scram.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/crdbfeedd/control.sock"
#define DEFAULT_CONFIG "/etc/crdbfeedd/crdbfeedd.conf"
#define ANSWER_MAX (64u << 20)   /* a control answer, bytes */
#define LINE_MAX_BYTES (64u << 20) /* one line from a sink, bytes */
#define ANSWER_TIMEOUT_S 60      /* a reload may take a while */

enum exit_status {
	EXIT_OK = 0,
	EXIT_FAILED = 1,        /* the daemon said no, or talking to it failed */
	EXIT_USAGE = 2,
	EXIT_NOT_RUNNING = 3,   /* no socket, or nobody listening on it */
	EXIT_DENIED = 4,        /* file permissions or the allow-list */
	EXIT_UNKNOWN_FEED = 5
};

static const char *progname = "crdbfeedctl";
static volatile sig_atomic_t interrupted;

static void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void complain(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [-s SOCKET] [-c CONFIG] COMMAND [ARGS]\n"
		"  status [--json]     feeds and sinks (a table, or the daemon's JSON)\n"
		"  metrics             the Prometheus metrics\n"
		"  pause FEED          close the feed's connection, keep its subscribers\n"
		"  resume FEED         reconnect a paused feed from its checkpoint\n"
		"                      (a job feed: PAUSE JOB, RESUME JOB)\n"
		"  cancel FEED         cancel a job feed's changefeed job\n"
		"  reload              reload the configuration (as SIGHUP)\n"
		"  tail FEED [--table T]... [--resolved] [--sink NAME]\n"
		"                      print the feed's lines until end of file or ^C\n"
		"  replay FEED [--after N | --since T] [--until T] [--table T]...\n"
		"                      print an ordered feed's journal (through the\n"
		"                      daemon, or read directly when it is stopped)\n"
		"  scram-verifier USER [--iterations N] [--append FILE]\n"
		"                      a LISTEN endpoint verifier line for USER, the\n"
		"                      password read from stdin (typed: no echo)\n"
		"  notify-sql          print the notify table and function's SQL\n"
		"  -s SOCKET           the control socket (default $CRDBFEEDCTL_SOCKET,\n"
		"                      else " DEFAULT_SOCKET ")\n"
		"  -c CONFIG           the daemon's configuration, for replay while it\n"
		"                      is stopped (default $CRDBFEEDCTL_CONFIG, else\n"
		"                      " DEFAULT_CONFIG ")\n",
		progname);
}

/* ---- connecting ------------------------------------------------------------ */

/*
 * Connect to a Unix socket; on failure say why in one line and return -1
 * with *status set. control: the control socket (else a sink's). quiet:
 * say nothing when the result is EXIT_NOT_RUNNING (the caller has another
 * way).
 */
static int connect_unix(const char *path, bool control, bool quiet,
			enum exit_status *status)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		complain("socket path too long: %s", path);
		*status = EXIT_USAGE;
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		complain("socket: %s", strerror(errno));
		*status = EXIT_FAILED;
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;
	switch (errno) {
	case ENOENT:
	case ENOTDIR:
		if (quiet)
			;
		else if (control)
			complain("crdbfeedd is not running (no socket at %s)", path);
		else
			complain("the sink is not listening (no socket at %s)", path);
		*status = EXIT_NOT_RUNNING;
		break;
	case ECONNREFUSED:
		if (quiet)
			;
		else if (control)
			complain("crdbfeedd is not running (nobody answers at %s)", path);
		else
			complain("the sink is not listening (nobody answers at %s)", path);
		*status = EXIT_NOT_RUNNING;
		break;
	case EACCES:
	case EPERM:
		complain("permission denied: cannot connect to %s (ask for its group, or run as the daemon's user)",
			 path);
		*status = EXIT_DENIED;
		break;
	default:
		complain("connect %s: %s", path, strerror(errno));
		*status = EXIT_FAILED;
		break;
	}
	close(fd);
	return -1;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Send one command to the control socket and read the whole answer
 * (malloc'd, NUL-terminated) into *answer. 0, or -1 with *status set and
 * the reason printed.
 */
static int control_call(const char *socket_path, const char *command,
			char **answer, size_t *answer_len, enum exit_status *status)
{
	struct timeval tv = { ANSWER_TIMEOUT_S, 0 };
	size_t len = 0, cap = 65536;
	char *buf;
	int fd;

	fd = connect_unix(socket_path, true, false, status);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		complain("setsockopt: %s", strerror(errno));
		close(fd);
		*status = EXIT_FAILED;
		return -1;
	}
	/* The daemon may answer (a refusal) before reading: a failed write
	 * is not the end, the answer may be waiting. */
	if (write_all(fd, command, strlen(command)) || write_all(fd, "\n", 1)) {
		if (errno != EPIPE && errno != ECONNRESET) {
			complain("sending \"%s\" to %s: %s", command, socket_path,
				 strerror(errno));
			close(fd);
			*status = EXIT_FAILED;
			return -1;
		}
	}
	buf = malloc(cap);
	if (!buf) {
		complain("out of memory");
		close(fd);
		*status = EXIT_FAILED;
		return -1;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			char *nbuf;

			if (cap >= ANSWER_MAX) {
				complain("the answer to \"%s\" is larger than %u bytes",
					 command, ANSWER_MAX);
				goto fail;
			}
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				complain("out of memory");
				goto fail;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == ECONNRESET)
			break; /* closed with our request unread (busy, or after
				  its answer): what came is all there is */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				complain("no answer to \"%s\" within %d s", command, ANSWER_TIMEOUT_S);
			else
				complain("reading the answer to \"%s\": %s", command, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (len == 0) {
		/* The daemon closes at once when too many clients are
		 * connected. */
		complain("crdbfeedd closed the connection without answering (busy or stopping?)");
		free(buf);
		*status = EXIT_FAILED;
		return -1;
	}
	*answer = buf;
	*answer_len = len;
	return 0;
fail:
	close(fd);
	free(buf);
	*status = EXIT_FAILED;
	return -1;
}

/* An {"ok":false,...} answer: print its error, return the exit status its
 * code means. */
static enum exit_status report_refusal(json_t *answer)
{
	const char *error = json_string_value(json_object_get(answer, "error"));
	const char *code = json_string_value(json_object_get(answer, "code"));

	complain("%s", error ? error : "the daemon refused without saying why");
	if (!code)
		return EXIT_FAILED;
	if (strcmp(code, "permission_denied") == 0)
		return EXIT_DENIED;
	if (strcmp(code, "unknown_feed") == 0)
		return EXIT_UNKNOWN_FEED;
	if (strcmp(code, "unknown_command") == 0 || strcmp(code, "bad_request") == 0)
		return EXIT_USAGE;
	return EXIT_FAILED;
}

/*
 * Call a command whose answer is JSON; *out gets the object when it says
 * "ok": true. Returns the exit status (EXIT_OK with *out set).
 */
static enum exit_status control_json(const char *socket_path, const char *command,
				     json_t **out)
{
	enum exit_status status = EXIT_OK;
	json_error_t jerr;
	size_t len;
	char *text;
	json_t *answer;

	*out = NULL;
	if (control_call(socket_path, command, &text, &len, &status))
		return status;
	answer = json_loadb(text, len, 0, &jerr);
	free(text);
	if (!json_is_object(answer)) {
		complain("the answer to \"%s\" is not a JSON object: %s", command,
			 answer ? "another JSON value" : jerr.text);
		json_decref(answer);
		return EXIT_FAILED;
	}
	if (!json_is_true(json_object_get(answer, "ok"))) {
		status = report_refusal(answer);
		json_decref(answer);
		return status;
	}
	*out = answer;
	return EXIT_OK;
}

/* ---- status ---------------------------------------------------------------- */

static const char *str_or(json_t *value, const char *fallback)
{
	const char *s = json_string_value(value);

	return s && *s ? s : fallback;
}

static void format_duration(char *out, size_t len, double seconds)
{
	long s = (long)seconds;

	if (seconds < 60)
		snprintf(out, len, "%.1fs", seconds);
	else if (s < 3600)
		snprintf(out, len, "%ldm%02lds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, len, "%ldh%02ldm", s / 3600, (s / 60) % 60);
	else
		snprintf(out, len, "%ldd%02ldh", s / 86400, (s / 3600) % 24);
}

static void lag_text(char *out, size_t len, json_t *lag)
{
	if (json_is_number(lag))
		format_duration(out, len, json_number_value(lag));
	else
		snprintf(out, len, "-");
}

static int text_width(const char *s)
{
	size_t n = strlen(s);

	return n > 60 ? 60 : (int)n;
}

static void print_status_table(json_t *status)
{
	json_t *feeds = json_object_get(status, "feeds");
	json_t *sinks = json_object_get(status, "sinks");
	json_t *item;
	size_t i;
	char up[32], lag[32];
	int w_feed = 4, w_state = 5, w_sink = 4, w_sfeed = 4, w_policy = 6;

	format_duration(up, sizeof(up), json_number_value(json_object_get(status, "uptime")));
	printf("crdbfeedd %s, pid %lld, up %s, %s\n",
	       str_or(json_object_get(status, "version"), "?"),
	       (long long)json_integer_value(json_object_get(status, "pid")), up,
	       json_is_true(json_object_get(status, "shutting_down")) ? "stopping" :
	       json_is_true(json_object_get(status, "ready")) ? "ready" : "starting");

	json_array_foreach(feeds, i, item) {
		int w = text_width(str_or(json_object_get(item, "name"), "?"));

		w_feed = w > w_feed ? w : w_feed;
		w = text_width(str_or(json_object_get(item, "state"), "?"));
		w_state = w > w_state ? w : w_state;
	}
	printf("\n%-*s  %-*s  %12s  %8s  %5s  %-31s  %s\n", w_feed, "FEED", w_state,
	       "STATE", "ROWS", "LAG", "SUBS", "CURSOR", "LAST ERROR");
	json_array_foreach(feeds, i, item) {
		json_t *counters = json_object_get(item, "counters");

		lag_text(lag, sizeof(lag), json_object_get(item, "lag"));
		printf("%-*.60s  %-*.60s  %12lld  %8s  %5lld  %-31s  %s\n",
		       w_feed, str_or(json_object_get(item, "name"), "?"),
		       w_state, str_or(json_object_get(item, "state"), "?"),
		       (long long)json_integer_value(json_object_get(counters, "rows")),
		       lag,
		       (long long)json_integer_value(json_object_get(item, "subscribers")),
		       str_or(json_object_get(item, "cursor"), "-"),
		       str_or(json_object_get(item, "last_error"), "-"));
	}

	json_array_foreach(sinks, i, item) {
		int w = text_width(str_or(json_object_get(item, "name"), "?"));

		w_sink = w > w_sink ? w : w_sink;
		w = text_width(str_or(json_object_get(item, "feed"), "?"));
		w_sfeed = w > w_sfeed ? w : w_sfeed;
		w = text_width(str_or(json_object_get(item, "policy"), "?"));
		w_policy = w > w_policy ? w : w_policy;
	}
	printf("\n%-*s  %-*s  %-6s  %-*s  %5s  %10s  %s\n", w_sink, "SINK", w_sfeed,
	       "FEED", "TYPE", w_policy, "POLICY", "SUBS", "QUEUED", "PATH");
	json_array_foreach(sinks, i, item) {
		printf("%-*.60s  %-*.60s  %-6s  %-*.60s  %5lld  %10lld  %s\n",
		       w_sink, str_or(json_object_get(item, "name"), "?"),
		       w_sfeed, str_or(json_object_get(item, "feed"), "?"),
		       str_or(json_object_get(item, "type"), "?"),
		       w_policy, str_or(json_object_get(item, "policy"), "-"),
		       (long long)json_integer_value(json_object_get(item, "subscribers")),
		       (long long)json_integer_value(json_object_get(item, "queued")),
		       str_or(json_object_get(item, "path"),
			      str_or(json_object_get(item, "error"), "-")));
	}
}

static long long int_at(json_t *obj, const char *key)
{
	return (long long)json_integer_value(json_object_get(obj, key));
}

/* Ordered feeds' held rows and journal, notify feeds' rows without a seq,
 * and journaled sinks' replay: more tables, printed only when there is
 * something to put in them. */
static void print_ordered_tables(json_t *status)
{
	json_t *item, *ordered, *journal;
	bool header = false;
	size_t i;

	json_array_foreach(json_object_get(status, "feeds"), i, item) {
		char seqs[64];

		ordered = json_object_get(item, "ordered");
		if (!json_is_object(ordered))
			continue;
		journal = json_object_get(ordered, "journal");
		if (!header)
			printf("\n%-20s  %10s  %10s  %12s  %10s  %6s  %10s  %-23s  %12s  %s\n",
			       "ORDERED FEED", "SEQ", "HELD", "HELD BYTES", "DUPLICATES",
			       "LATE", "JOURNAL", "JOURNAL SEQS", "JOURNAL SIZE", "STALLED");
		header = true;
		if (json_is_integer(json_object_get(journal, "oldest_seq")))
			snprintf(seqs, sizeof(seqs), "%lld-%lld", int_at(journal, "oldest_seq"),
				 int_at(journal, "newest_seq"));
		else
			snprintf(seqs, sizeof(seqs), "-");
		printf("%-20.60s  %10lld  %10lld  %12lld  %10lld  %6lld  %10lld  %-23s  %12lld  %s\n",
		       str_or(json_object_get(item, "name"), "?"),
		       int_at(ordered, "released_seq"), int_at(ordered, "held_rows"),
		       int_at(ordered, "held_bytes"),
		       int_at(json_object_get(item, "counters"), "duplicates"),
		       int_at(ordered, "late_rows"), int_at(journal, "records"), seqs,
		       int_at(journal, "file_bytes"),
		       json_is_true(json_object_get(journal, "stalled")) ? "yes" : "no");
	}
	header = false;
	json_array_foreach(json_object_get(status, "feeds"), i, item) {
		json_t *notify = json_object_get(item, "notify");

		if (!json_is_object(notify))
			continue;
		if (!header)
			printf("\n%-20s  %10s  %10s  %10s  %10s\n", "NOTIFY FEED",
			       "DELETES", "INVALID", "FOLDED", "UNFOLDED");
		header = true;
		printf("%-20.60s  %10lld  %10lld  %10lld  %10lld\n",
		       str_or(json_object_get(item, "name"), "?"),
		       int_at(notify, "deletes"), int_at(notify, "invalid"),
		       int_at(notify, "folded"), int_at(notify, "unfolded"));
	}
	header = false;
	json_array_foreach(json_object_get(status, "feeds"), i, item) {
		json_t *job = json_object_get(item, "job");
		json_t *ingest = json_object_get(job, "ingest");
		char lag[32];

		if (!json_is_object(job))
			continue;
		if (!header)
			printf("\n%-20s  %20s  %-10s  %8s  %10s  %10s  %8s  %6s  %6s  %s\n", "JOB FEED",
			       "JOB", "STATUS", "LAG", "REQUESTS", "ROWS", "RETRIED", "4XX", "5XX", "ERROR");
		header = true;
		if (json_is_number(json_object_get(job, "lag")))
			snprintf(lag, sizeof(lag), "%.1fs", json_number_value(json_object_get(job, "lag")));
		else
			snprintf(lag, sizeof(lag), "-");
		printf("%-20.60s  %20s  %-10.20s  %8s  %10lld  %10lld  %8lld  %6lld  %6lld  %s\n",
		       str_or(json_object_get(item, "name"), "?"),
		       str_or(json_object_get(job, "id"), "-"), str_or(json_object_get(job, "status"), "-"), lag,
		       int_at(ingest, "requests"), int_at(ingest, "rows"),
		       int_at(ingest, "retried"), int_at(ingest, "answered_4xx"),
		       int_at(ingest, "answered_5xx"),
		       str_or(json_object_get(job, "error"), ""));
	}
	header = false;
	json_array_foreach(json_object_get(status, "sinks"), i, item) {
		journal = json_object_get(item, "journal");
		if (!json_is_object(journal))
			continue;
		if (!header)
			printf("\n%-20s  %9s  %11s  %14s\n", "JOURNALED SINK", "REPLAYING",
			       "MAX SEQ LAG", "REPLAYED LINES");
		header = true;
		printf("%-20.60s  %9lld  %11lld  %14lld\n",
		       str_or(json_object_get(item, "name"), "?"),
		       int_at(journal, "replaying"), int_at(journal, "max_seq_lag"),
		       int_at(journal, "replayed_lines"));
	}
}

/* pg sinks' LISTEN endpoints: one more table, when there is one. */
static void print_pg_table(json_t *status)
{
	json_t *item, *pg, *refused;
	bool header = false;
	size_t i;

	json_array_foreach(json_object_get(status, "sinks"), i, item) {
		pg = json_object_get(item, "pg");
		if (!json_is_object(pg))
			continue;
		refused = json_object_get(pg, "refused");
		if (!header)
			printf("\n%-20s  %9s  %8s  %13s  %-22s  %12s  %9s  %8s\n", "PG SINK",
			       "LISTENERS", "CHANNELS", "NOTIFICATIONS",
			       "REFUSED FULL/PEER/AUTH", "DROPPED SLOW", "TOO LARGE",
			       "NOT SENT");
		header = true;
		char refusals[64];
		snprintf(refusals, sizeof(refusals), "%lld/%lld/%lld",
			 int_at(refused, "full"), int_at(refused, "peer"),
			 int_at(refused, "auth"));
		printf("%-20.60s  %9lld  %8lld  %13lld  %-22s  %12lld  %9lld  %8lld\n",
		       str_or(json_object_get(item, "name"), "?"),
		       int_at(pg, "listeners"), int_at(pg, "channels"),
		       int_at(pg, "notifications"), refusals,
		       int_at(pg, "dropped_slow"), int_at(pg, "too_large"),
		       int_at(pg, "not_sent"));
	}
}

/* Relays (source = nats): their JetStream consumers, when there is one. */
static void print_relay_table(json_t *status)
{
	json_t *item, *nats;
	bool header = false;
	size_t i;

	json_array_foreach(json_object_get(status, "feeds"), i, item) {
		nats = json_object_get(item, "nats");
		if (!json_is_object(nats))
			continue;
		if (!header)
			printf("\n%-20s  %-10s  %10s  %11s  %10s  %10s  %9s  %8s  %10s  %10s\n",
			       "NATS RELAY", "STATE", "DELIVERED", "REDELIVERED",
			       "DUPLICATES", "IGN RESOLV", "MALFORMED", "LAG",
			       "STREAM SEQ", "RECONNECTS");
		header = true;
		printf("%-20.60s  %-10s  %10lld  %11lld  %10lld  %10lld  %9lld  %8lld  %10lld  %10lld\n",
		       str_or(json_object_get(item, "name"), "?"),
		       str_or(json_object_get(nats, "state"), "?"),
		       int_at(nats, "delivered"), int_at(nats, "redelivered"),
		       int_at(nats, "duplicates"), int_at(nats, "resolved_ignored"),
		       int_at(nats, "malformed"), int_at(nats, "lag"),
		       int_at(nats, "stream_seq"), int_at(nats, "reconnects"));
	}
}

/* nats sinks' publishers: one more table, when there is one; a sink that
 * is not publishing says why on the line below its row. */
static void print_nats_table(json_t *status)
{
	json_t *item, *nats;
	bool header = false;
	size_t i;

	json_array_foreach(json_object_get(status, "sinks"), i, item) {
		nats = json_object_get(item, "nats");
		if (!json_is_object(nats))
			continue;
		if (!header)
			printf("\n%-20s  %-10s  %10s  %10s  %7s  %10s  %9s  %6s  %7s  %4s  %10s  %10s  %10s\n",
			       "NATS SINK", "STATE", "PUBLISHED", "ACKED", "PENDING",
			       "DUPLICATES", "TOO LARGE", "ERRORS", "SKIPPED", "GAPS",
			       "ACKED SEQ", "STREAM SEQ", "RECONNECTS");
		header = true;
		printf("%-20.60s  %-10s  %10lld  %10lld  %7lld  %10lld  %9lld  %6lld  %7lld  %4lld  %10lld  %10lld  %10lld\n",
		       str_or(json_object_get(item, "name"), "?"),
		       str_or(json_object_get(nats, "state"), "?"),
		       int_at(nats, "published"), int_at(nats, "acked"),
		       int_at(nats, "pending"), int_at(nats, "duplicates"),
		       int_at(nats, "too_large"), int_at(nats, "errors"),
		       int_at(nats, "skipped"), int_at(nats, "gaps"),
		       int_at(nats, "acked_seq"), int_at(nats, "stream_seq"),
		       int_at(nats, "reconnects"));
		if (json_is_string(json_object_get(nats, "error")))
			printf("  %.200s\n", str_or(json_object_get(nats, "error"), ""));
	}
}

static int cmd_status(const char *socket_path, bool as_json)
{
	json_t *status;
	enum exit_status rc = control_json(socket_path, "status", &status);

	if (rc != EXIT_OK)
		return rc;
	if (as_json) {
		if (json_dumpf(status, stdout, JSON_INDENT(2)) == 0)
			fputc('\n', stdout);
	} else {
		print_status_table(status);
		print_ordered_tables(status);
		print_pg_table(status);
		print_nats_table(status);
		print_relay_table(status);
	}
	json_decref(status);
	return EXIT_OK;
}

/* ---- simple commands ----------------------------------------------------- */

static int cmd_metrics(const char *socket_path)
{
	enum exit_status status = EXIT_OK;
	json_t *answer;
	size_t len;
	char *text;

	if (control_call(socket_path, "metrics", &text, &len, &status))
		return status;
	/* The exposition starts with "# HELP"; a JSON object is a refusal. */
	if (text[0] == '{') {
		answer = json_loadb(text, len, 0, NULL);
		free(text);
		status = answer ? report_refusal(answer) : EXIT_FAILED;
		if (!answer)
			complain("the daemon answered with broken JSON");
		json_decref(answer);
		return status;
	}
	if (fwrite(text, 1, len, stdout) != len)
		status = EXIT_FAILED;
	free(text);
	return status;
}

static int cmd_simple(const char *socket_path, const char *command)
{
	json_t *answer;
	enum exit_status rc = control_json(socket_path, command, &answer);

	json_decref(answer);
	return rc;
}

/* ---- tail ------------------------------------------------------------------- */

struct tail_args {
	const char *feed;
	const char *sink;
	const char **tables;
	size_t ntables;
	bool resolved;
};

/* The socket path of the feed's unix sink (named, or the first), or NULL
 * with *status set and the reason printed. */
static const char *tail_sink_path(json_t *status, const struct tail_args *args,
				  enum exit_status *rc)
{
	json_t *feeds = json_object_get(status, "feeds");
	json_t *sinks = json_object_get(status, "sinks");
	json_t *item;
	bool known = false;
	size_t i;

	json_array_foreach(feeds, i, item)
		if (strcmp(str_or(json_object_get(item, "name"), ""), args->feed) == 0)
			known = true;
	if (!known) {
		complain("unknown feed \"%s\"", args->feed);
		*rc = EXIT_UNKNOWN_FEED;
		return NULL;
	}
	json_array_foreach(sinks, i, item) {
		const char *name = str_or(json_object_get(item, "name"), "");
		const char *path = json_string_value(json_object_get(item, "path"));

		if (strcmp(str_or(json_object_get(item, "feed"), ""), args->feed) != 0)
			continue;
		if (args->sink && strcmp(name, args->sink) != 0)
			continue;
		if (strcmp(str_or(json_object_get(item, "type"), ""), "unix") != 0 || !path) {
			if (args->sink) {
				complain("sink \"%s\" is not a Unix socket sink", args->sink);
				*rc = EXIT_FAILED;
				return NULL;
			}
			continue;
		}
		return path;
	}
	if (args->sink)
		complain("feed \"%s\" has no sink \"%s\"", args->feed, args->sink);
	else
		complain("feed \"%s\" has no Unix socket sink to tail", args->feed);
	*rc = EXIT_FAILED;
	return NULL;
}

static char *tail_request(const struct tail_args *args)
{
	json_t *req = json_object(), *tables;
	char *text;

	if (!req)
		return NULL;
	if (args->ntables) {
		tables = json_array();
		for (size_t i = 0; tables && i < args->ntables; i++)
			json_array_append_new(tables, json_string(args->tables[i]));
		json_object_set_new(req, "tables", tables);
	}
	json_object_set_new(req, "resolved", json_boolean(args->resolved));
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	return text;
}

static void on_interrupt(int sig)
{
	interrupted = 1;
}

/*
 * One line from the sink (without its newline). Before the "subscribed"
 * acknowledgement the filter is not in force yet: only state lines are
 * shown then. An error line before it means the request was refused.
 * Returns 0 to go on, 1 to stop with *rc set.
 */
static int tail_line(const char *line, size_t len, bool *subscribed,
		     enum exit_status *rc)
{
	if (!*subscribed) {
		json_t *obj = json_loadb(line, len, 0, NULL);
		const char *type = json_string_value(json_object_get(obj, "type"));

		if (type && strcmp(type, "subscribed") == 0) {
			*subscribed = true;
		} else if (type && strcmp(type, "error") == 0) {
			complain("the sink refused the subscription: %s",
				 str_or(json_object_get(obj, "error"), line));
			json_decref(obj);
			*rc = EXIT_FAILED;
			return 1;
		} else if (type && strcmp(type, "state") == 0) {
			if (fwrite(line, 1, len, stdout) != len || fputc('\n', stdout) == EOF) {
				json_decref(obj);
				*rc = EXIT_OK;
				return 1;
			}
		}
		json_decref(obj);
		return 0;
	}
	if (fwrite(line, 1, len, stdout) != len || fputc('\n', stdout) == EOF) {
		*rc = EXIT_OK; /* the reader went away (| head) */
		return 1;
	}
	return 0;
}

static int cmd_tail(const char *socket_path, const struct tail_args *args)
{
	struct sigaction sa;
	enum exit_status rc = EXIT_OK;
	json_t *status;
	const char *path;
	char *request, *buf = NULL;
	size_t len = 0, cap = 65536;
	bool subscribed = false;
	int fd;

	rc = control_json(socket_path, "status", &status);
	if (rc != EXIT_OK)
		return rc;
	path = tail_sink_path(status, args, &rc);
	if (!path) {
		json_decref(status);
		return rc;
	}
	/* path lives in status: status lives until the end. */
	fd = connect_unix(path, false, false, &rc);
	if (fd < 0) {
		json_decref(status);
		return rc;
	}
	request = tail_request(args);
	if (!request || write_all(fd, request, strlen(request)) || write_all(fd, "\n", 1)) {
		complain("sending the subscription request: %s",
			 request ? strerror(errno) : "out of memory");
		free(request);
		close(fd);
		json_decref(status);
		return EXIT_FAILED;
	}
	free(request);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt; /* no SA_RESTART: read returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	buf = malloc(cap);
	if (!buf) {
		complain("out of memory");
		close(fd);
		json_decref(status);
		return EXIT_FAILED;
	}
	while (!interrupted) {
		ssize_t n;
		char *start, *nl;

		if (len == cap) {
			char *nbuf;

			if (cap >= LINE_MAX_BYTES) {
				complain("a line longer than %u bytes", LINE_MAX_BYTES);
				rc = EXIT_FAILED;
				break;
			}
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				complain("out of memory");
				rc = EXIT_FAILED;
				break;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			complain("reading %s: %s", path, strerror(errno));
			rc = EXIT_FAILED;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		start = buf;
		while ((nl = memchr(start, '\n', len - (size_t)(start - buf))) != NULL) {
			if (tail_line(start, (size_t)(nl - start), &subscribed, &rc))
				goto out;
			start = nl + 1;
		}
		fflush(stdout);
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
	}
out:
	fflush(stdout);
	free(buf);
	close(fd);
	json_decref(status);
	return rc;
}

static int bad_usage(const char *command);

/* ---- replay ---------------------------------------------------------------- */

/* Say so when rows the position asked for were trimmed by retention. */
static void warn_retention_gap(const struct ctl_replay *r)
{
	uint64_t first, last;

	if (ctl_replay_gap(r, &first, &last))
		complain("rows %llu to %llu are no longer in the journal (retention): starting at %llu",
			 (unsigned long long)first, (unsigned long long)last,
			 (unsigned long long)last + 1);
}

/* Print len bytes; false when stdout is gone (| head): a normal end. */
static bool print_bytes(const char *data, size_t len)
{
	return fwrite(data, 1, len, stdout) == len;
}

/* The replay's first line: the refusal, or where it runs. */
static int replay_first_line(const char *line, size_t len,
			     const struct ctl_replay_query *q, enum exit_status *rc)
{
	json_t *obj = json_loadb(line, len, 0, NULL);

	if (!json_is_object(obj)) {
		complain("the daemon's answer to replay is not a JSON object");
		json_decref(obj);
		*rc = EXIT_FAILED;
		return -1;
	}
	if (!json_is_true(json_object_get(obj, "ok"))) {
		*rc = report_refusal(obj);
		json_decref(obj);
		return -1;
	}
	{
		struct ctl_replay seen = {
			.query = q,
			.start_pos = (uint64_t)json_integer_value(json_object_get(obj, "after")),
			.first_kept = (uint64_t)json_integer_value(json_object_get(obj, "first")),
		};

		warn_retention_gap(&seen);
	}
	json_decref(obj);
	return 0;
}

/* The replay's last line: how it ended. */
static enum exit_status replay_last_line(const char *line, size_t len)
{
	json_t *obj = len ? json_loadb(line, len, 0, NULL) : NULL;
	enum exit_status rc = EXIT_OK;

	if (!json_is_object(obj) || !json_object_get(obj, "ok")) {
		complain("the daemon ended the replay without its last line (stopping, or restarted?)");
		rc = EXIT_FAILED;
	} else if (!json_is_true(json_object_get(obj, "ok"))) {
		rc = report_refusal(obj);
	}
	json_decref(obj);
	return rc;
}

/*
 * Replay through the control socket: the first line, then every line but
 * the last as it comes (each is printed once the next one has arrived, so
 * the last, the daemon's verdict, is never printed). *absent is set, with
 * nothing said, when no daemon is listening.
 */
static int replay_daemon(const char *socket_path, const char *feed,
			 const struct ctl_replay_query *q, bool *absent)
{
	struct timeval tv = { ANSWER_TIMEOUT_S, 0 };
	enum exit_status rc = EXIT_OK;
	char *options, *command = NULL, *buf = NULL;
	size_t len = 0, cap = 65536;
	bool first = true;
	int fd;

	*absent = false;
	options = ctl_replay_query_format(q);
	if (!options || asprintf(&command, "replay %s %s\n", feed, options) < 0) {
		complain("out of memory");
		free(options);
		return EXIT_FAILED;
	}
	free(options);
	if (strlen(command) > 1024) {
		complain("the replay options are too long for the control socket (at most 1024 bytes)");
		free(command);
		return EXIT_USAGE;
	}
	fd = connect_unix(socket_path, true, true, &rc);
	if (fd < 0) {
		*absent = rc == EXIT_NOT_RUNNING;
		free(command);
		return rc;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    (write_all(fd, command, strlen(command)) && errno != EPIPE &&
	     errno != ECONNRESET) || !(buf = malloc(cap))) {
		complain("sending replay to %s: %s", socket_path, strerror(errno));
		goto fail;
	}
	for (;;) {
		char *start = buf, *nl;
		ssize_t n;

		if (len == cap) {
			char *nbuf;

			if (cap >= LINE_MAX_BYTES) {
				complain("a line longer than %u bytes", LINE_MAX_BYTES);
				goto fail;
			}
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				complain("out of memory");
				goto fail;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				complain("the replay made no progress for %d s", ANSWER_TIMEOUT_S);
			else
				complain("reading the replay: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		while ((nl = memchr(start, '\n', len - (size_t)(start - buf))) != NULL) {
			size_t line_len = (size_t)(nl - start) + 1;

			if (first) {
				if (replay_first_line(start, line_len - 1, q, &rc))
					goto out;
				first = false;
			} else if (!memchr(nl + 1, '\n', len - (size_t)(nl + 1 - buf))) {
				break; /* maybe the last line: kept until EOF */
			} else if (!print_bytes(start, line_len)) {
				rc = EXIT_OK;
				goto out;
			}
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
	}
	if (first) {
		complain("crdbfeedd closed the connection without answering (busy or stopping?)");
		goto fail;
	}
	rc = replay_last_line(buf, len && buf[len - 1] == '\n' ? len - 1 : 0);
out:
	fflush(stdout);
	free(buf);
	free(command);
	close(fd);
	return rc;
fail:
	rc = EXIT_FAILED;
	goto out;
}

/* The journal of feed in the configuration at config_path, opened for
 * reading; NULL with the reason said and *rc set. */
static struct journal *replay_open_journal(const char *config_path,
					   const char *feed, enum exit_status *rc)
{
	struct config_diag diag = { 0 };
	const struct feed_config *fcfg;
	struct journal *journal = NULL;
	struct config *cfg;
	struct stat st;
	char path[4096], lock[4200], errbuf[512] = "";
	int stat_errno;

	cfg = config_load(config_path, &diag);
	if (!cfg) {
		complain("crdbfeedd is not running, and its configuration cannot be read: %s",
			 diag.nlines ? diag.lines[0] : config_path);
		config_diag_free(&diag);
		*rc = EXIT_NOT_RUNNING;
		return NULL;
	}
	config_diag_free(&diag);
	*rc = EXIT_FAILED;
	fcfg = config_feed(cfg, feed);
	if (!fcfg) {
		complain("unknown feed \"%s\" (not in %s)", feed, config_path);
		*rc = EXIT_UNKNOWN_FEED;
	} else if (fcfg->delivery != FEED_DELIVERY_ORDERED) {
		complain("feed \"%s\" has no journal: its delivery is stream, not ordered", feed);
	} else if (!cfg->state_dir || journal_path(cfg->state_dir, feed, path, sizeof(path))) {
		complain("feed \"%s\" has no journal: %s sets no usable state_dir", feed, config_path);
	} else if ((stat_errno = stat(path, &st) ? errno : 0) && stat_errno != EACCES) {
		complain("feed \"%s\" has no journal yet (%s: %s)", feed, path, strerror(stat_errno));
	} else if (stat_errno == EACCES ||
		   (snprintf(lock, sizeof(lock), "%s/lock.mdb", path),
		    access(lock, W_OK) && errno != ENOENT)) {
		/* Every LMDB reader takes a slot in the lock file. */
		complain("permission denied: reading the journal %s needs write access to its lock.mdb (run as root or as the daemon's user)",
			 path);
		*rc = EXIT_DENIED;
	} else {
		/* A reader takes the map size the daemon recorded. */
		journal = journal_open(path, NULL, JOURNAL_READONLY, errbuf, sizeof(errbuf));
		if (!journal)
			complain("cannot open the journal %s: %s", path, errbuf);
	}
	config_free(cfg);
	return journal;
}

/* Replay straight from the journal (the daemon is not running). */
static int replay_local(const char *config_path, const char *feed,
			const struct ctl_replay_query *q)
{
	enum exit_status rc = EXIT_OK;
	struct journal *journal = replay_open_journal(config_path, feed, &rc);
	struct ctl_replay replay;
	struct textbuf out;
	char errbuf[512] = "";
	int more = 1;

	if (!journal)
		return rc;
	rc = EXIT_OK;
	if (ctl_replay_start(&replay, journal, q, feed, errbuf, sizeof(errbuf))) {
		complain("replay of feed \"%s\": %s", feed, errbuf);
		journal_close(journal);
		return EXIT_FAILED;
	}
	warn_retention_gap(&replay);
	textbuf_init(&out, LINE_MAX_BYTES);
	while (more > 0) {
		more = ctl_replay_chunk(&replay, journal, &out, CTL_REPLAY_CHUNK_BYTES,
					errbuf, sizeof(errbuf));
		if (out.len && !print_bytes(out.data, out.len))
			break; /* the reader went away (| head) */
		textbuf_free(&out);
		textbuf_init(&out, LINE_MAX_BYTES);
	}
	if (more < 0) {
		complain("replay of feed \"%s\": %s", feed, errbuf);
		rc = EXIT_FAILED;
	}
	fflush(stdout);
	textbuf_free(&out);
	journal_close(journal);
	return rc;
}

static int replay_main(const char *socket_path, const char *config_path,
		       int argc, char **argv)
{
	static const struct option options[] = {
		{ "after", required_argument, NULL, 'a' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'u' },
		{ "table", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_replay_query q = { 0 };
	char errbuf[512], *end;
	bool absent;
	int opt, rc;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "a:S:u:t:", options, NULL)) != -1) {
		switch (opt) {
		case 'a':
			errno = 0;
			q.after = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || *optarg == '-') {
				complain("--after %s: not a sequence number", optarg);
				ctl_replay_query_free(&q);
				return EXIT_USAGE;
			}
			q.have_after = true;
			break;
		case 'S':
		case 'u':
			if (ctl_replay_parse_time(optarg, opt == 'S' ? &q.since : &q.until,
						  errbuf, sizeof(errbuf))) {
				complain("--%s: %s", opt == 'S' ? "since" : "until", errbuf);
				ctl_replay_query_free(&q);
				return EXIT_USAGE;
			}
			*(opt == 'S' ? &q.have_since : &q.have_until) = true;
			break;
		case 't':
			if (q.ntables == CTL_REPLAY_TABLES_MAX || !*optarg) {
				complain(*optarg ? "--table given more than %d times" :
					 "--table needs a name", CTL_REPLAY_TABLES_MAX);
				ctl_replay_query_free(&q);
				return EXIT_USAGE;
			}
			if (!(q.tables[q.ntables] = strdup(optarg))) {
				complain("out of memory");
				ctl_replay_query_free(&q);
				return EXIT_FAILED;
			}
			q.ntables++;
			break;
		default:
			ctl_replay_query_free(&q);
			return bad_usage("replay");
		}
	}
	if (argc - optind != 1) {
		ctl_replay_query_free(&q);
		return bad_usage("replay");
	}
	if (q.have_after && q.have_since) {
		complain("--after and --since exclude each other");
		ctl_replay_query_free(&q);
		return EXIT_USAGE;
	}
	if (!*argv[optind] || strpbrk(argv[optind], " \t\r\n") || strlen(argv[optind]) > 900) {
		complain("bad feed name \"%s\"", argv[optind]);
		ctl_replay_query_free(&q);
		return EXIT_USAGE;
	}
	rc = replay_daemon(socket_path, argv[optind], &q, &absent);
	if (absent)
		rc = replay_local(config_path, argv[optind], &q);
	ctl_replay_query_free(&q);
	return rc;
}

/* ---- main ------------------------------------------------------------------- */

static int tail_main(const char *socket_path, int argc, char **argv)
{
	static const struct option options[] = {
		{ "table", required_argument, NULL, 't' },
		{ "resolved", no_argument, NULL, 'r' },
		{ "sink", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	struct tail_args args = { 0 };
	int opt, rc;

	args.tables = calloc((size_t)argc + 1, sizeof(*args.tables));
	if (!args.tables) {
		complain("out of memory");
		return EXIT_FAILED;
	}
	optind = 0; /* glibc: 0 starts a fresh scan (permuting again) */
	opterr = 0; /* one line of our own instead of getopt's */
	while ((opt = getopt_long(argc, argv, "t:rk:", options, NULL)) != -1) {
		switch (opt) {
		case 't':
			args.tables[args.ntables++] = optarg;
			break;
		case 'r':
			args.resolved = true;
			break;
		case 'k':
			args.sink = optarg;
			break;
		default:
			free(args.tables);
			return bad_usage("tail");
		}
	}
	if (argc - optind != 1) {
		free(args.tables);
		return bad_usage("tail");
	}
	args.feed = argv[optind];
	rc = cmd_tail(socket_path, &args);
	free(args.tables);
	return rc;
}

/* ---- LISTEN/NOTIFY set-up ------------------------------------------------- */

static int scram_verifier_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "iterations", required_argument, NULL, 'i' },
		{ "append", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	char password[CTL_PASSWORD_MAX + 1], verifier[SCRAM_VERIFIER_MAX];
	char errbuf[512] = "", *end;
	const char *append = NULL, *user;
	long iterations = SCRAM_DEFAULT_ITERATIONS;
	int opt, rc;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "i:a:", options, NULL)) != -1) {
		switch (opt) {
		case 'i':
			errno = 0;
			iterations = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || iterations < SCRAM_MIN_ITERATIONS ||
			    iterations > SCRAM_MAX_ITERATIONS) {
				complain("--iterations %s: want a number from %d to %d", optarg,
					 SCRAM_MIN_ITERATIONS, SCRAM_MAX_ITERATIONS);
				return EXIT_USAGE;
			}
			break;
		case 'a':
			append = optarg;
			break;
		default:
			return bad_usage("scram-verifier");
		}
	}
	if (argc - optind != 1)
		return bad_usage("scram-verifier");
	user = argv[optind];
	if (ctl_verifier_user_check(user, errbuf, sizeof(errbuf))) {
		complain("%s", errbuf);
		return EXIT_USAGE;
	}
	if (ctl_password_read(STDIN_FILENO, user, password, errbuf, sizeof(errbuf))) {
		ctl_password_wipe(password);
		complain("%s", errbuf);
		return EXIT_USAGE;
	}
	rc = scram_make_verifier(password, (int)iterations, NULL, 0, verifier,
				 sizeof(verifier), errbuf, sizeof(errbuf));
	ctl_password_wipe(password);
	if (rc) {
		complain("%s", errbuf);
		return EXIT_FAILED;
	}
	if (append) {
		if (ctl_verifier_append(append, user, verifier, errbuf, sizeof(errbuf))) {
			complain("%s", errbuf);
			return EXIT_FAILED;
		}
		return EXIT_OK;
	}
	printf("%s:%s\n", user, verifier);
	return fflush(stdout) ? EXIT_FAILED : EXIT_OK;
}

/* The installed notify SQL; $CRDBFEEDCTL_NOTIFY_SQL names another copy
 * (the source tree's, for the tests). */
static int notify_sql_main(void)
{
	const char *path = getenv("CRDBFEEDCTL_NOTIFY_SQL");
	char errbuf[512] = "";

	if (!path || !*path)
		path = CRDBFEED_NOTIFY_SQL;
	if (ctl_copy_file(path, stdout, errbuf, sizeof(errbuf)) || fflush(stdout)) {
		complain("%s", *errbuf ? errbuf : "writing the SQL out failed");
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/* The usage line of one command, for its errors. */
static int bad_usage(const char *command)
{
	static const struct {
		const char *name, *args;
	} usages[] = {
		{ "status", " [--json]" }, { "metrics", "" }, { "pause", " FEED" },
		{ "resume", " FEED" }, { "cancel", " FEED" }, { "reload", "" },
		{ "tail", " FEED [--table T]... [--resolved] [--sink NAME]" },
		{ "replay", " FEED [--after N | --since T] [--until T] [--table T]..." },
		{ "scram-verifier", " USER [--iterations N] [--append FILE]" },
		{ "notify-sql", "" },
	};

	for (size_t i = 0; i < sizeof(usages) / sizeof(usages[0]); i++)
		if (strcmp(command, usages[i].name) == 0) {
			complain("usage: %s %s%s", progname, usages[i].name, usages[i].args);
			return EXIT_USAGE;
		}
	complain("unknown command \"%s\" (see %s --help)", command, progname);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *socket_path = getenv("CRDBFEEDCTL_SOCKET");
	const char *config_path = getenv("CRDBFEEDCTL_CONFIG");
	const char *command;
	char line[1100];
	int opt;

	if (!socket_path || !*socket_path)
		socket_path = DEFAULT_SOCKET;
	if (!config_path || !*config_path)
		config_path = DEFAULT_CONFIG;
	/* Errors of writes to a closed socket come back as EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	/* "+": options stop at the command, whose own come after it. */
	while ((opt = getopt_long(argc, argv, "+s:c:hV", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("crdbfeedctl %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	command = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(command, "status") == 0) {
		if (argc == 1)
			return cmd_status(socket_path, false);
		if (argc == 2 && strcmp(argv[1], "--json") == 0)
			return cmd_status(socket_path, true);
	} else if (strcmp(command, "metrics") == 0 && argc == 1) {
		return cmd_metrics(socket_path);
	} else if (strcmp(command, "reload") == 0 && argc == 1) {
		return cmd_simple(socket_path, "reload");
	} else if ((strcmp(command, "pause") == 0 || strcmp(command, "resume") == 0 ||
		    strcmp(command, "cancel") == 0) && argc == 2) {
		if (!*argv[1] || strpbrk(argv[1], " \t\r\n") || strlen(argv[1]) > 1000) {
			complain("bad feed name \"%s\"", argv[1]);
			return EXIT_USAGE;
		}
		snprintf(line, sizeof(line), "%s %s", command, argv[1]);
		return cmd_simple(socket_path, line);
	} else if (strcmp(command, "tail") == 0) {
		return tail_main(socket_path, argc, argv);
	} else if (strcmp(command, "replay") == 0) {
		return replay_main(socket_path, config_path, argc, argv);
	} else if (strcmp(command, "scram-verifier") == 0) {
		return scram_verifier_main(argc, argv);
	} else if (strcmp(command, "notify-sql") == 0 && argc == 1) {
		return notify_sql_main();
	} else if (strcmp(command, "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	return bad_usage(command);
}
