/*
 * feed.c: one changefeed's state machine (doc/crdb-wire.md §10.1).
 *
 *   CONNECTING --ok--> STARTING --first row--> STREAMING
 *       |                  |                       |
 *       +-- transient -----+---- error, EOF, ------+--> BACKOFF --timer--> CONNECTING
 *       |                  |     stall, bad row    |
 *       +-- permanent -----+-----------------------+--> FAILED (until reload)
 *   any --feed_stop--> STOPPING --feed_finish--> STOPPED
 *   any but STOPPING/STOPPED --feed_pause--> PAUSED --feed_resume--> CONNECTING
 *
 * feed_set_state() is the only place that changes state: it logs the
 * transition and tells subscribers through a state line. Every statement is
 * rebuilt from the config, resuming with cursor = the checkpoint and
 * initial_scan='no' once there is one. The socket is read only while no
 * `block` sink is full (backpressure reaches CockroachDB through TCP).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "feed_int.h"

#include "backoff.h"
#include "checkpoint.h"
#include "journal.h"
#include "clock.h"
#include "defer.h"
#include "log.h"
#include "names.h"
#include "sink.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>


static const char *const state_names[] = {
	[FEED_CONNECTING] = "connecting", [FEED_STARTING] = "starting",
	[FEED_STREAMING] = "streaming", [FEED_BACKOFF] = "backoff",
	[FEED_FAILED] = "failed", [FEED_PAUSED] = "paused",
	[FEED_STOPPING] = "stopping",
	[FEED_STOPPED] = "stopped",
};

/* What subscribers see in {"type":"state"} lines (crdbfeedd(8)). */
static const char *const public_names[] = {
	[FEED_CONNECTING] = "connecting", [FEED_STARTING] = "connecting",
	[FEED_STREAMING] = "streaming", [FEED_BACKOFF] = "reconnecting",
	[FEED_FAILED] = "failed", [FEED_PAUSED] = "paused",
	[FEED_STOPPING] = "stopped",
	[FEED_STOPPED] = "stopped",
};

const char *feed_state_name(enum feed_state state)
{
	return state_names[state];
}

/* The failure subscribers and status see last (never holds a password:
 * libpq does not echo one and the DSN is not part of any message). */
void feed_note_error(struct feed *feed, const char *message)
{
	snprintf(feed->stats.last_error, sizeof(feed->stats.last_error), "%s",
		 message ? message : "");
}

static void ms_to_tv(int64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

const char *feed_name(const struct feed *feed)
{
	return feed->name;
}

const char *feed_who(const struct feed *feed)
{
	return feed->who;
}

enum feed_state feed_get_state(const struct feed *feed)
{
	return feed->state;
}

const struct feed_config *feed_config(const struct feed *feed)
{
	return feed->cfg;
}

uint64_t feed_seq(const struct feed *feed)
{
	return feed->seq;
}

crdb_hlc feed_checkpoint(const struct feed *feed)
{
	return feed->checkpoint;
}

static int64_t resolved_ms(const struct feed *feed)
{
	return feed->cfg->resolved_ms;
}

static int64_t stall_ms(const struct feed *feed)
{
	int64_t stall = feed->cfg->stall_timeout_ms;

	if (stall > 0)
		return stall;
	stall = 5 * resolved_ms(feed);
	return stall > MIN_STALL_MS ? stall : MIN_STALL_MS;
}

/* ---- state changes -------------------------------------------------------- */

void feed_close_conn(struct feed *feed)
{
	if (feed->sock_ev) {
		event_free(feed->sock_ev);
		feed->sock_ev = NULL;
	}
	if (feed->conn) {
		/* Closing the session ends a sinkless changefeed (§2.4). */
		crdb_conn_free(feed->conn);
		feed->conn = NULL;
	}
	feed->blocked = false;
}

/*
 * The one function that changes a feed's state. table and sqlstate (may be
 * NULL) go into the log line's structured context.
 */
void feed_set_state_ctx(struct feed *feed, enum feed_state state,
			const char *reason, const char *table,
			const char *sqlstate)
{
	enum feed_state old = feed->state;
	enum log_level level = LOG_LEVEL_INFO;
	struct log_ctx ctx = { .feed = feed->name, .table = table,
			       .sqlstate = sqlstate };

	if (state == FEED_FAILED)
		level = LOG_LEVEL_ERROR;
	else if (state == FEED_BACKOFF)
		level = LOG_LEVEL_WARNING;
	else if (state == FEED_STARTING || state == FEED_CONNECTING)
		level = LOG_LEVEL_DEBUG;
	snprintf(feed->reason, sizeof(feed->reason), "%s", reason ? reason : "");
	if (state != old)
		feed->state_since_mono = clock_mono_ms();
	feed->state = state;
	if (feed->started && state != FEED_CONNECTING && state != FEED_STARTING)
		feed->attempted = true;
	if (reason && *reason)
		log_ctx_msg(level, &ctx, "%s -> %s: %s", state_names[old],
			    state_names[state], reason);
	else
		log_ctx_msg(level, &ctx, "%s -> %s", state_names[old],
			    state_names[state]);
	/* Subscribers hear about changes they can act on. */
	if (strcmp(public_names[old], public_names[state]) != 0 &&
	    state != FEED_CONNECTING && state != FEED_STARTING) {
		struct line *line = feed_state_line(feed);

		if (line)
			feed_publish(feed, line);
	}
	if (feed->hook)
		feed->hook(feed, state, reason, feed->hook_arg);
}

void feed_set_state(struct feed *feed, enum feed_state state,
		    const char *reason)
{
	feed_set_state_ctx(feed, state, reason, NULL, NULL);
}

static void feed_connect(struct feed *feed);

static void on_backoff_timer(evutil_socket_t fd, short what, void *arg)
{
	feed_connect(arg);
}

/*
 * Transient trouble: drop the connection, retry later from the checkpoint.
 * why is counted; table and sqlstate (may be NULL) are log context.
 */
void feed_backoff_ctx(struct feed *feed, enum reconnect_reason why,
		      const char *reason, const char *table,
		      const char *sqlstate)
{
	int64_t delay;
	struct timeval tv;
	char msg[400];

	feed_close_conn(feed);
	delay = backoff_next(&feed->backoff_ms, feed->cfg->backoff_initial_ms,
			     feed->cfg->backoff_max_ms, (uint64_t)random());
	feed->stats.reconnects[why]++;
	feed_note_error(feed, reason);
	snprintf(msg, sizeof(msg), "%s; reconnecting in %" PRId64 " ms", reason, delay);
	feed_set_state_ctx(feed, FEED_BACKOFF, msg, table, sqlstate);
	ms_to_tv(delay, &tv);
	evtimer_add(feed->backoff_timer, &tv);
}

void feed_backoff(struct feed *feed, enum reconnect_reason why,
		  const char *reason)
{
	feed_backoff_ctx(feed, why, reason, NULL, NULL);
}

void feed_fail_ctx(struct feed *feed, const char *reason,
		   const char *sqlstate)
{
	feed_close_conn(feed);
	evtimer_del(feed->backoff_timer);
	feed_note_error(feed, reason);
	feed_set_state_ctx(feed, FEED_FAILED, reason, NULL, sqlstate);
}

void feed_fail(struct feed *feed, const char *reason)
{
	feed_fail_ctx(feed, reason, NULL);
}

/* Classify a failed result (NULL: the connection is gone) and act. */
void feed_result_error(struct feed *feed, const PGresult *res)
{
	const char *why = NULL;
	crdb_errclass cls = crdb_classify_result(res, &why);
	char msg[512], text[300];
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (!primary && feed->conn)
		primary = PQerrorMessage(crdb_conn_pg(feed->conn));
	snprintf(text, sizeof(text), "%s", primary && *primary ? primary : "connection lost");
	text[strcspn(text, "\n")] = '\0';
	if (sqlstate && !*sqlstate)
		sqlstate = NULL;
	if (cls == CRDB_ERRCLASS_PERMANENT) {
		snprintf(msg, sizeof(msg), "%s%s%s%s%s", why ? why : "permanent error",
			 ": ", text, sqlstate ? " SQLSTATE " : "", sqlstate ? sqlstate : "");
		feed_fail_ctx(feed, msg, sqlstate);
	} else {
		snprintf(msg, sizeof(msg), "%s%s%s", text,
			 sqlstate ? " SQLSTATE " : "", sqlstate ? sqlstate : "");
		/* An error the server sent vs. a connection that went away. */
		feed_backoff_ctx(feed, sqlstate ? RECONNECT_ERROR : RECONNECT_LOST,
				 msg, NULL, sqlstate);
	}
}

/* ---- the statement -------------------------------------------------------- */

/* The changefeed statement for the current checkpoint. NULL: permanent
 * (the config cannot make a statement); msg says why. */
static char *feed_build_statement(struct feed *feed, char *cursor, size_t cursor_len,
				  char *msg, size_t msglen)
{
	const struct feed_config *cfg = feed->cfg;
	crdb_error err;
	crdb_feed_spec *spec = config_feed_spec(cfg, &err);
	const char *cursor_param = NULL;
	char buf[CRDB_HLC_BUFSIZE], dur[32];
	char *sql = NULL;

	cursor[0] = '\0';
	if (!spec) {
		snprintf(msg, msglen, "cannot build the statement: %s", err.message);
		return NULL;
	}
	crdb_feed_spec_unset_option(spec, "cursor");
	crdb_feed_spec_unset_option(spec, "no_initial_scan");
	crdb_feed_spec_unset_option(spec, "initial_scan");
	if (!crdb_hlc_is_zero(feed->checkpoint)) {
		crdb_hlc_format(feed->checkpoint, buf);
		if (crdb_feed_spec_set_option(spec, "cursor", buf, &err) ||
		    crdb_feed_spec_set_option(spec, "initial_scan", "no", &err))
			goto fail;
	} else if (cfg->start == FEED_START_CURSOR && cfg->start_cursor) {
		if (crdb_feed_spec_set_option(spec, "cursor", cfg->start_cursor, &err) ||
		    crdb_feed_spec_set_option(spec, "initial_scan", "no", &err))
			goto fail;
	} else if (crdb_feed_spec_set_option(spec, "initial_scan",
					     cfg->start == FEED_START_NOW ? "no" : "yes",
					     &err)) {
		goto fail;
	}
	/* Resolved timestamps are the checkpoint: always ask, and as often as
	 * asked (min_checkpoint_frequency defaults to 30 s, §3). */
	snprintf(dur, sizeof(dur), "%" PRId64 "ms", resolved_ms(feed));
	if (crdb_feed_spec_set_option(spec, "resolved", dur, &err) ||
	    crdb_feed_spec_set_option(spec, "min_checkpoint_frequency", dur, &err))
		goto fail;
	sql = crdb_feed_spec_build(spec, true, &cursor_param, &err);
	if (!sql)
		goto fail;
	if (cursor_param)
		snprintf(cursor, cursor_len, "%s", cursor_param);
	crdb_feed_spec_free(spec);
	return sql;
fail:
	snprintf(msg, msglen, "cannot build the statement: %s", err.message);
	crdb_feed_spec_free(spec);
	return NULL;
}

/* ---- the connection ------------------------------------------------------- */

static void on_connect_io(evutil_socket_t fd, short what, void *arg);

/* (Re)arm the socket event: the socket may change during a connect. */
int feed_watch(struct feed *feed, short what, event_callback_fn cb)
{
	int fd = crdb_conn_socket(feed->conn);

	if (feed->sock_ev)
		event_free(feed->sock_ev);
	feed->sock_ev = NULL;
	if (fd < 0)
		return -1;
	feed->sock_ev = event_new(feed->base, fd, what, cb, feed);
	if (!feed->sock_ev || event_add(feed->sock_ev, NULL))
		return -1;
	return 0;
}

/*
 * TLS failures that the feed's own settings cause: the CA does not vouch
 * for the server, the name does not match, a certificate or key file is
 * missing, unreadable or mismatched, or the server will not take our
 * certificate. Retrying cannot fix any of them, and every retry would log
 * the same line: the feed FAILS with libpq's message until a reload (the
 * usual fix is a config or file change followed by `reload`). Broken
 * handshakes (EOF, reset) stay transient: they are the network's.
 */
static bool tls_config_error(const char *message)
{
	static const char *const needles[] = {
		"certificate verify failed",
		"does not match host name",
		"could not read root certificate file",
		"root certificate file",          /* "... does not exist" */
		"could not open certificate file",
		"could not read certificate file",
		"could not load private key file",
		"has group or world access",
		"certificate present, but not private key",
		"does not match private key",
		"alert unknown ca",
		"alert bad certificate",
		"alert certificate required",
		"alert certificate unknown",
		"server does not support SSL, but SSL was required",
	};

	if (!message)
		return false;
	for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
		if (strstr(message, needles[i]))
			return true;
	return false;
}

/* A statement was sent: push it out and watch the socket (for writing
 * too while libpq still holds some of it). */
static void feed_flush_and_watch(struct feed *feed, PGconn *pg)
{
	int flushed = PQflush(pg);

	if (flushed < 0) {
		feed_result_error(feed, NULL);
		return;
	}
	if (feed_watch(feed, EV_READ | EV_PERSIST | (flushed ? EV_WRITE : 0), feed_on_session_io))
		feed_backoff(feed, RECONNECT_LOST, "cannot watch the connection's socket");
}

void feed_send_changefeed(struct feed *feed)
{
	PGconn *pg = crdb_conn_pg(feed->conn);
	char cursor[128], msg[512];
	const char *params[1];
	char *sql = feed_build_statement(feed, cursor, sizeof(cursor), msg, sizeof(msg));

	if (!sql) {
		feed_fail(feed, msg);
		return;
	}
	log_debug(feed->who, "sending %s%s%s", sql, cursor[0] ? " with $1 = " : "", cursor);
	params[0] = cursor;
	if (!PQsendQueryParams(pg, sql, cursor[0] ? 1 : 0, NULL, params, NULL, NULL, 1) ||
	    !PQsetSingleRowMode(pg)) {
		crdb_free(sql);
		feed_result_error(feed, NULL);
		return;
	}
	crdb_free(sql);
	feed->step = STEP_FEED;
	/* A new statement, a new row description to check. */
	feed->row_desc = ROW_DESC_UNCHECKED;
	feed_flush_and_watch(feed, pg);
}

/* Server notices (§2.4: deprecations, column family warnings, old cursor)
 * become log lines naming the feed instead of libpq's bare stderr text. */
static void on_notice(void *arg, const char *message)
{
	struct feed *feed = arg;
	char text[512];

	snprintf(text, sizeof(text), "%s", message);
	text[strcspn(text, "\n")] = '\0';
	log_notice(feed->who, "server says: %s", text);
}

static void feed_start_session(struct feed *feed)
{
	PGconn *pg = crdb_conn_pg(feed->conn);

	PQsetNoticeProcessor(pg, on_notice, feed);

	feed_set_state(feed, FEED_STARTING, NULL);
	feed->resolved_advanced_mono = clock_mono_ms();
	feed->rows_updated_first = (crdb_hlc){ 0, 0 };
	feed->rows_updated_varied = false;
	if (PQsetnonblocking(pg, 1) || !PQsendQuery(pg, "SET statement_timeout = 0")) {
		feed_result_error(feed, NULL);
		return;
	}
	feed->step = STEP_SET;
	feed_flush_and_watch(feed, pg);
}

static void feed_poll_connect(struct feed *feed)
{
	crdb_error err;

	switch (crdb_connect_poll(feed->conn, &err)) {
	case CRDB_POLL_OK:
		feed->last_activity_ms = clock_mono_ms();
		feed_start_session(feed);
		return;
	case CRDB_POLL_READING:
		if (feed_watch(feed, EV_READ, on_connect_io))
			feed_backoff(feed, RECONNECT_CONNECT, "cannot watch the connection's socket");
		return;
	case CRDB_POLL_WRITING:
		if (feed_watch(feed, EV_WRITE, on_connect_io))
			feed_backoff(feed, RECONNECT_CONNECT, "cannot watch the connection's socket");
		return;
	case CRDB_POLL_FAILED:
	default: {
		/* Refused connections are transient; a missing database or
		 * bad credentials need the operator (§7, libcrdb decides). */
		const char *why = NULL;
		char msg[400];

		if (tls_config_error(err.message)) {
			snprintf(msg, sizeof(msg), "TLS configuration: %s", err.message);
			feed_fail(feed, msg);
		} else if (crdb_classify_error(err.sqlstate, err.message, &why) ==
		    CRDB_ERRCLASS_PERMANENT) {
			snprintf(msg, sizeof(msg), "%s: %s", why ? why : "permanent error",
				 err.message);
			feed_fail(feed, msg);
		} else {
			feed_backoff(feed, RECONNECT_CONNECT, err.message);
		}
		return;
	}
	}
}

static void on_connect_io(evutil_socket_t fd, short what, void *arg)
{
	feed_poll_connect(arg);
}

static void feed_connect(struct feed *feed)
{
	const struct feed_config *cfg = feed->cfg;
	char msg[300], *conninfo = NULL;
	crdb_error err;

	feed_close_conn(feed);
	feed->dopts.envelope = cfg->envelope;
	feed->dopts.diff = cfg->diff;
	feed->dopts.number_text = true; /* numbers leave with their digits */
	feed->last_activity_ms = clock_mono_ms();
	feed_set_state(feed, FEED_CONNECTING, NULL);
	if (config_dsn_conninfo(cfg, &conninfo, msg, sizeof(msg))) {
		feed_backoff(feed, RECONNECT_CONNECT, msg);
		return;
	}
	feed->conn = crdb_connect_start(conninfo ? conninfo : cfg->dsn, &err);
	if (conninfo) {
		explicit_bzero(conninfo, strlen(conninfo));
		free(conninfo);
	}
	if (!feed->conn) {
		if (err.code == CRDB_ENOMEM)
			feed_backoff(feed, RECONNECT_CONNECT, err.message);
		else
			feed_fail(feed, err.message);
		return;
	}
	feed_poll_connect(feed);
}

/* ---- watchdog and sink progress ------------------------------------------- */

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct feed *feed = arg;
	int64_t idle = clock_mono_ms() - feed->last_activity_ms;

	if (feed->blocked)
		return;
	if (feed->state != FEED_CONNECTING && feed->state != FEED_STARTING &&
	    feed->state != FEED_STREAMING)
		return;
	if (idle >= stall_ms(feed)) {
		char msg[128];

		snprintf(msg, sizeof(msg), "stalled: nothing received for %" PRId64 " ms", idle);
		feed_backoff(feed, RECONNECT_STALL, msg);
		return;
	}
	/* Rows keep coming but resolved does not move (CockroachDB issue
	 * 144846): held rows would wait for ever and the checkpoint would
	 * not advance. A scan or backfill (one updated timestamp) is let be. */
	if (feed->state == FEED_STREAMING && feed->rows_updated_varied &&
	    feed->last_row_mono > feed->resolved_advanced_mono) {
		int64_t quiet = clock_mono_ms() - feed->resolved_advanced_mono;

		if (quiet >= feed_resolved_stall_ms(feed)) {
			char msg[160];

			snprintf(msg, sizeof(msg), "the resolved timestamp has not advanced for %" PRId64 " ms while rows kept arriving",
				 quiet);
			feed->stats.resolved_stalls++;
			feed_backoff(feed, RECONNECT_RESOLVED_STALL, msg);
		}
	}
}

int64_t feed_resolved_stall_ms(const struct feed *feed)
{
	int64_t bound = feed->cfg->resolved_stall_ms;

	if (bound > 0)
		return bound;
	bound = 10 * resolved_ms(feed);
	return bound > MIN_RESOLVED_STALL_MS ? bound : MIN_RESOLVED_STALL_MS;
}


/* ---- life cycle ----------------------------------------------------------- */

struct feed *feed_new(struct event_base *base, const struct feed_config *cfg,
		      const char *state_dir, feed_state_hook hook, void *arg)
{
	struct feed *feed = calloc(1, sizeof(*feed));

	if (!feed)
		return NULL;
	feed->cfg = cfg;
	feed->base = base;
	feed->hook = hook;
	feed->hook_arg = arg;
	feed->state = FEED_STOPPED;
	feed->name = strdup(cfg->name);
	feed->state_dir = state_dir ? strdup(state_dir) : NULL;
	feed->backoff_timer = evtimer_new(base, on_backoff_timer, feed);
	feed->watchdog = event_new(base, -1, EV_PERSIST, on_watchdog, feed);
	feed->progress = event_new(base, -1, 0, feed_on_progress, feed);
	feed->checkpoint_timer = evtimer_new(base, feed_on_checkpoint_timer, feed);
	feed->recent = recent_new(RECENT_ROWS);
	if (!feed->name || (state_dir && !feed->state_dir) ||
	    !feed->backoff_timer || !feed->watchdog || !feed->progress ||
	    !feed->checkpoint_timer || !feed->recent) {
		if (feed->backoff_timer)
			event_free(feed->backoff_timer);
		if (feed->watchdog)
			event_free(feed->watchdog);
		if (feed->progress)
			event_free(feed->progress);
		if (feed->checkpoint_timer)
			event_free(feed->checkpoint_timer);
		recent_free(feed->recent);
		free(feed->name);
		free(feed->state_dir);
		free(feed);
		return NULL;
	}
	snprintf(feed->who, sizeof(feed->who), "feed %s", cfg->name);
	feed->state_since_mono = clock_mono_ms();
	return feed;
}

static void feed_arm_watchdog(struct feed *feed)
{
	struct timeval tv;
	int64_t period = stall_ms(feed) / 5;

	/* A job feed has no stream to watch: its job is polled (job.h); a
	 * relay's consumer thread watches its own connection. */
	if (feed->cfg->source != FEED_SOURCE_SINKLESS) {
		event_del(feed->watchdog);
		return;
	}

	ms_to_tv(period < 200 ? 200 : period, &tv);
	event_del(feed->watchdog);
	event_add(feed->watchdog, &tv);
}

/*
 * A stream feed that ran with delivery = ordered since its checkpoint file
 * was written resumes from the journal's newer checkpoint.
 */
static void stream_after_journal(struct feed *feed)
{
	struct journal_limits lim = { 0, 0 };
	struct journal_checkpoint cp;
	struct journal *j;
	char path[4096], errbuf[256], hlc[CRDB_HLC_BUFSIZE];
	struct stat st;

	if (journal_path(feed->state_dir, feed->name, path, sizeof(path)) < 0 ||
	    stat(path, &st) < 0)
		return;
	j = journal_open(path, &lim, JOURNAL_READONLY, errbuf, sizeof(errbuf));
	if (!j) {
		log_warning(feed->who, "%s", errbuf);
		return;
	}
	if (journal_get_checkpoint(j, &cp, errbuf, sizeof(errbuf)) == 0 &&
	    crdb_hlc_compare(cp.resolved, feed->checkpoint) > 0) {
		feed->checkpoint = cp.resolved;
		feed->last_resolved = cp.resolved;
		crdb_hlc_format(cp.resolved, hlc);
		log_info(feed->who, "resuming from the journal's newer checkpoint %s (the feed was ordered)", hlc);
	}
	journal_close(j);
}

int feed_start(struct feed *feed)
{
	char errbuf[256], hlc[CRDB_HLC_BUFSIZE];

	feed->started = true;
	if (feed->state_dir) {
		int64_t mtime = 0;
		int rc;

		/* A crash may have left a temporary file: it is never read. */
		if (checkpoint_remove_stale(feed->state_dir, feed->name, errbuf,
					    sizeof(errbuf)))
			log_warning(feed->who, "%s", errbuf);
		rc = checkpoint_read_at(feed->state_dir, feed->name, &feed->checkpoint,
					&mtime, errbuf, sizeof(errbuf));
		if (rc < 0) {
			feed_fail(feed, errbuf);
			return -1;
		}
		if (rc == 1) {
			crdb_hlc_format(feed->checkpoint, hlc);
			log_info(feed->who, "resuming from checkpoint %s", hlc);
			feed->last_resolved = feed->checkpoint;
			/* Its age counts from when it was written (maybe
			 * before a reboot: kept as wall clock time). */
			feed->checkpoint_file_wall = mtime;
		}
	}
	if (feed->cfg->delivery == FEED_DELIVERY_ORDERED) {
		if (feed_open_ordered(feed, false) < 0)
			return -1;
	} else if (feed->state_dir) {
		stream_after_journal(feed);
	}
	if (feed->cfg->source == FEED_SOURCE_JOB)
		return feed_job_open(feed);
	if (feed->cfg->source == FEED_SOURCE_NATS)
		return feed_nats_open(feed);
	feed_arm_watchdog(feed);
	feed_connect(feed);
	return 0;
}

void feed_set_config(struct feed *feed, const struct feed_config *cfg)
{
	/* A reload saves what a paced write still owes. */
	feed_save_checkpoint(feed);
	feed->cfg = cfg;
	feed_arm_watchdog(feed);
}

void feed_restart(struct feed *feed, const struct feed_config *cfg)
{
	bool was_ordered = feed->ordered != NULL;

	feed_save_checkpoint(feed);
	feed->cfg = cfg;
	feed->backoff_ms = 0;
	evtimer_del(feed->backoff_timer);
	feed->stats.reconnects[RECONNECT_RELOAD]++;
	/* The hold and the journal are reopened with the new limits; a
	 * switch of delivery starts a new journal (crdbfeedd.conf(5)). */
	if (cfg->delivery == FEED_DELIVERY_ORDERED) {
		feed_close_conn(feed);
		if (feed_open_ordered(feed, !was_ordered) < 0)
			return;
	} else if (was_ordered) {
		ordered_close(feed->ordered);
		feed->ordered = NULL;
	}
	/* A changed statement also ends an operator pause (feed.h). */
	log_info(feed->who, "restarting from the checkpoint (configuration changed)");
	feed_arm_watchdog(feed);
	if (cfg->source == FEED_SOURCE_JOB) {
		feed_close_conn(feed);
		/* A failed job feed starts over: its job found again, or a
		 * new one made from the checkpoint when it has ended. */
		if (feed->state == FEED_FAILED) {
			feed_job_close(feed->job);
			feed->job = NULL;
		}
		feed_job_reconfigure(feed);
		return;
	}
	feed_job_close(feed->job);
	feed->job = NULL;
	if (cfg->source == FEED_SOURCE_NATS) {
		feed_close_conn(feed);
		feed_nats_open(feed);
		return;
	}
	feed_nats_close(feed->nats);
	feed->nats = NULL;
	feed_connect(feed);
}

void feed_stop(struct feed *feed, const char *why)
{
	if (feed->state == FEED_STOPPING || feed->state == FEED_STOPPED)
		return;
	feed_close_conn(feed);
	/* The job keeps running in the cluster; its posts fail and are
	 * retried until a daemon answers again. */
	feed_job_close(feed->job);
	feed->job = NULL;
	/* A relay's unacknowledged messages come again to the next run. */
	feed_nats_stop(feed->nats);
	evtimer_del(feed->backoff_timer);
	event_del(feed->watchdog);
	feed_set_state(feed, FEED_STOPPING, why);
}

void feed_finish(struct feed *feed)
{
	feed_advance_checkpoint(feed);
	feed_save_checkpoint(feed);
	if (feed->state != FEED_STOPPED)
		feed_set_state(feed, FEED_STOPPED, NULL);
	uint64_t reconnects = 0;

	for (int i = 0; i < RECONNECT_NREASONS; i++)
		reconnects += feed->stats.reconnects[i];
	log_info(feed->who, "%llu rows, %llu reconnects",
		 (unsigned long long)feed->stats.rows, (unsigned long long)reconnects);
}

int feed_pause(struct feed *feed, const char *why)
{
	char reason[200];

	if (feed->state == FEED_STOPPING || feed->state == FEED_STOPPED)
		return -1;
	if (feed->state == FEED_PAUSED)
		return 0;
	if (feed->job) {
		/* PAUSE JOB: the job keeps its high-water mark and its
		 * protected timestamp; the endpoint stays open for requests
		 * already under way. */
		char errbuf[256];
		if (feed_job_request(feed, JOB_PAUSE, errbuf, sizeof(errbuf)) < 0) {
			log_warning(feed->who, "cannot pause: %s", errbuf);
			return -1;
		}
		snprintf(reason, sizeof(reason), "%s", why && *why ? why : "job paused by the operator");
		feed_set_state(feed, FEED_PAUSED, reason);
		return 0;
	}
	/* A relay stops taking messages: JetStream keeps them for its
	 * durable consumer. */
	feed_nats_stop(feed->nats);
	/* Closing the session ends the changefeed on the server (§2.4); the
	 * checkpoint and what the sinks hold stay, so resume loses nothing
	 * (rows after the checkpoint may come again, as after any reconnect). */
	feed_close_conn(feed);
	evtimer_del(feed->backoff_timer);
	feed_save_checkpoint(feed);
	snprintf(reason, sizeof(reason), "%s", why && *why ? why : "paused by the operator");
	feed_set_state(feed, FEED_PAUSED, reason);
	return 0;
}

int feed_resume(struct feed *feed)
{
	if (feed->state != FEED_PAUSED)
		return -1;
	if (feed->job) {
		char errbuf[256];
		if (feed_job_request(feed, JOB_RESUME, errbuf, sizeof(errbuf)) < 0) {
			log_warning(feed->who, "cannot resume: %s", errbuf);
			return -1;
		}
		feed->stats.reconnects[RECONNECT_RESUME]++;
		feed_set_state(feed, FEED_CONNECTING, "job resumed by the operator");
		return 0;
	}
	feed->backoff_ms = 0;
	feed->stats.reconnects[RECONNECT_RESUME]++;
	log_info(feed->who, "resuming from the checkpoint (operator)");
	if (feed->cfg->source == FEED_SOURCE_NATS)
		return feed_nats_open(feed);
	feed_arm_watchdog(feed);
	feed_connect(feed);
	return 0;
}

int feed_cancel_job(struct feed *feed, const char *why, char *errbuf,
		    size_t errlen)
{
	char reason[400];

	if (!feed->job) {
		snprintf(errbuf, errlen, "feed %s has no changefeed job (source = %s)",
			 feed->name, feed_source_name(feed->cfg->source));
		return -1;
	}
	if (feed_job_request(feed, JOB_CANCEL, errbuf, errlen) < 0)
		return -1;
	snprintf(reason, sizeof(reason), "changefeed job %s; a reload or restart creates a new job from the checkpoint",
		 why && *why ? why : "cancelled");
	feed_fail(feed, reason);
	return 0;
}

/* A CLOCK_MONOTONIC time as CLOCK_REALTIME ms; 0 stays 0 (never). */
static int64_t mono_to_wall(int64_t mono, int64_t mono_now, int64_t wall_now)
{
	return mono ? wall_now - (mono_now - mono) : 0;
}

void feed_get_stats(const struct feed *feed, struct feed_stats *out)
{
	int64_t mono_now = clock_mono_ms(), wall_now = clock_wall_ms();

	*out = feed->stats;
	out->last_resolved = feed->last_resolved;
	out->checkpoint = feed->checkpoint;
	out->last_resolved_at = mono_to_wall(feed->last_resolved_mono, mono_now, wall_now);
	out->checkpoint_at = feed->checkpoint_mono ?
		mono_to_wall(feed->checkpoint_mono, mono_now, wall_now) :
		feed->checkpoint_file_wall;
	out->state_since = mono_to_wall(feed->state_since_mono, mono_now, wall_now);
	out->last_row_at = mono_to_wall(feed->last_row_mono, mono_now, wall_now);
	out->paused = feed->state == FEED_PAUSED;
	if (feed->ordered)
		ordered_get_stats(feed->ordered, out);
	if (feed->notify)
		notify_feed_get_stats(feed->notify, out);
	if (feed->cfg->source == FEED_SOURCE_JOB)
		feed_job_get_stats(feed->job, out);
	if (feed->cfg->source == FEED_SOURCE_NATS)
		feed_nats_get_stats(feed->nats, out);
}

bool feed_attempted(const struct feed *feed)
{
	return feed->attempted ||
	       (feed->state != FEED_CONNECTING && feed->state != FEED_STARTING);
}

const char *feed_public_state(const struct feed *feed)
{
	return feed->started ? public_names[feed->state] : "connecting";
}

static void feed_release(void *ptr)
{
	struct feed *feed = ptr;

	feed_job_close(feed->job);
	feed_nats_close(feed->nats);
	ordered_close(feed->ordered);
	notify_feed_free(feed->notify);
	recent_free(feed->recent);
	free(feed->pending);
	free(feed->sinks);
	free(feed->name);
	free(feed->state_dir);
	free(feed);
}

void feed_free(struct feed *feed)
{
	feed_close_conn(feed);
	feed_job_close(feed->job);
	feed->job = NULL;
	feed_nats_close(feed->nats);
	feed->nats = NULL;
	event_free(feed->backoff_timer);
	event_free(feed->watchdog);
	event_free(feed->progress);
	event_free(feed->checkpoint_timer);
	feed->hook = NULL;
	defer_free(feed_release, feed);
}

struct journal *feed_journal(const struct feed *feed)
{
	return feed->ordered ? ordered_journal(feed->ordered) : NULL;
}
