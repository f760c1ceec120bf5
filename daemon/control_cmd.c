/*
 * control_cmd.c: the control socket's commands (the protocol is in
 * control.h): status as one JSON object built from a daemon view, the
 * metrics text, pause and resume of a feed, reload. Each answer is built
 * whole in the connection's bounded buffer.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "control_int.h"

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "nats_conn.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- answers ------------------------------------------------------------- */

/* One JSON value as the whole answer, with a newline. */
void ctl_answer_json(struct conn *conn, json_t *value)
{
	char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;

	textbuf_free(&conn->out);
	textbuf_init(&conn->out, RESPONSE_MAX);
	if (text) {
		textbuf_puts(&conn->out, text);
		textbuf_puts(&conn->out, "\n");
		free(text);
	}
	if (!text || conn->out.failed) {
		textbuf_free(&conn->out);
		textbuf_init(&conn->out, RESPONSE_MAX);
		textbuf_puts(&conn->out,
			     "{\"ok\":false,\"error\":\"out of memory or answer too large\",\"code\":\"failed\"}\n");
	}
	json_decref(value);
}

/*
 * {"ok":false,"error":message,"code":code}. code is for programs
 * (crdbfeedctl picks its exit status by it): permission_denied,
 * unknown_feed, unknown_command, bad_request, failed.
 */
void ctl_answer_error(struct conn *conn, const char *code, const char *fmt, ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	ctl_answer_json(conn, json_pack("{s:b, s:s, s:s}", "ok", 0, "error", message,
				    "code", code));
}

static void answer_ok(struct conn *conn)
{
	ctl_answer_json(conn, json_pack("{s:b}", "ok", 1));
}

/* A string, or JSON null when s is empty. */
static json_t *string_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *hlc_or_null(crdb_hlc hlc)
{
	char text[CRDB_HLC_BUFSIZE];

	if (crdb_hlc_is_zero(hlc))
		return json_null();
	crdb_hlc_format(hlc, text);
	return json_string(text);
}

static double seconds_since(int64_t now, int64_t then_ms)
{
	return now > then_ms ? (double)(now - then_ms) / 1e3 : 0.0;
}

/* An ordered feed's held rows and journal; JSON null for a stream feed. */
static json_t *ordered_status(const struct feed_stats *st)
{
	json_t *journal;

	if (!st->ordered)
		return json_null();
	journal = json_pack("{s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:b}",
			    "records", (json_int_t)st->journal_records,
			    "bytes", (json_int_t)st->journal_bytes,
			    "file_bytes", (json_int_t)st->journal_file_bytes,
			    "oldest_seq", st->journal_oldest_seq ?
				json_integer((json_int_t)st->journal_oldest_seq) : json_null(),
			    "newest_seq", st->journal_newest_seq ?
				json_integer((json_int_t)st->journal_newest_seq) : json_null(),
			    "oldest_updated", hlc_or_null(st->journal_oldest_updated),
			    "newest_updated", hlc_or_null(st->journal_newest_updated),
			    "commits", (json_int_t)st->journal_commits,
			    "commit_errors", (json_int_t)st->journal_commit_errors,
			    "stalled", st->journal_stalled);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o*}",
			 "released_seq", (json_int_t)st->released_seq,
			 "held_rows", (json_int_t)st->held_rows,
			 "held_bytes", (json_int_t)st->held_bytes,
			 "spilled_rows", (json_int_t)st->spilled_rows,
			 "late_rows", (json_int_t)st->late_rows,
			 "journal", journal);
}

/* A notify feed's released rows that got no seq; JSON null for a table
 * feed. */
static json_t *notify_status(const struct feed_stats *st)
{
	if (!st->notify)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I}",
			 "deletes", (json_int_t)st->notify_deletes,
			 "invalid", (json_int_t)st->notify_invalid,
			 "folded", (json_int_t)st->notify_folded,
			 "unfolded", (json_int_t)st->notify_unfolded);
}

/* A job feed's endpoint and job; JSON null for a sinkless feed. */
static json_t *job_status(const struct feed_stats *st, int64_t now)
{
	if (!st->job)
		return json_null();
	json_t *ingest = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				   "requests", (json_int_t)st->ingest_requests,
				   "batches", (json_int_t)st->ingest_batches,
				   "resolved", (json_int_t)st->ingest_resolved,
				   "rows", (json_int_t)st->ingest_rows,
				   "bytes", (json_int_t)st->ingest_bytes,
				   "retried", (json_int_t)st->ingest_retried,
				   "answered_4xx", (json_int_t)st->ingest_4xx,
				   "answered_5xx", (json_int_t)st->ingest_5xx,
				   "unauthorized", (json_int_t)st->ingest_unauthorized,
				   "rate_limited", (json_int_t)st->ingest_rate_limited,
				   "connections", (json_int_t)st->ingest_connections,
				   "connections_refused", (json_int_t)st->ingest_connections_refused);
	/* The id as text: job ids use all 64 bits, past what JSON readers
	 * such as jq and JavaScript keep exact in a number. */
	char id[24];
	snprintf(id, sizeof(id), "%" PRId64, st->job_id);
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o*}",
			 "id", st->job_id ? json_string(id) : json_null(),
			 "status", string_or_null(st->job_status),
			 "error", string_or_null(st->job_error),
			 "high_water", hlc_or_null(st->job_high_water),
			 "lag", crdb_hlc_is_zero(st->job_high_water) ? json_null() :
				json_real(seconds_since(now, st->job_high_water.wall / 1000000)),
			 "polled_seconds", st->job_polled_at ?
				json_real(seconds_since(now, st->job_polled_at)) : json_null(),
			 "connected", st->job_connected,
			 "ingest", ingest);
}

/* A relay's JetStream consumer; JSON null for other sources. */
static json_t *nats_source_status(const struct feed_stats *st)
{
	if (!st->nats)
		return json_null();
	return json_pack("{s:s, s:b, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "state", st->nats_state,
			 "connected", st->nats_connected,
			 "stream", string_or_null(st->nats_stream),
			 "durable", string_or_null(st->nats_durable),
			 "delivered", (json_int_t)st->nats_delivered,
			 "redelivered", (json_int_t)st->nats_redelivered,
			 "acked", (json_int_t)st->nats_acked,
			 "duplicates", (json_int_t)st->nats_duplicates,
			 "resolved_ignored", (json_int_t)st->nats_ignored_resolved,
			 "malformed", (json_int_t)st->nats_malformed,
			 "lag", (json_int_t)st->nats_lag,
			 "stream_seq", (json_int_t)st->nats_last_stream_seq,
			 "reconnects", (json_int_t)st->nats_reconnects);
}

static json_t *feed_status(const struct daemon_view *view,
			   const struct feed_view *feed, int64_t now)
{
	const struct feed_config *fcfg = feed->cfg;
	const struct feed_stats *st = &feed->stats;
	json_t *obj, *counters, *reconnects, *tables;
	uint64_t subscribers = 0;
	char *dsn;

	for (size_t i = 0; i < view->nsinks; i++)
		if (view->sinks[i].live && strcmp(view->sinks[i].cfg->feed, feed->name) == 0)
			subscribers += view->sinks[i].stats.subscribers;
	reconnects = json_object();
	for (int r = 0; reconnects && r < RECONNECT_NREASONS; r++)
		json_object_set_new(reconnects,
				    reconnect_reason_name((enum reconnect_reason)r),
				    json_integer((json_int_t)st->reconnects[r]));
	counters = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o*}",
			     "rows", (json_int_t)st->rows,
			     "resolved", (json_int_t)st->resolved,
			     "bytes_in", (json_int_t)st->bytes_in,
			     "lines_out", (json_int_t)st->lines_out,
			     "bytes_out", (json_int_t)st->bytes_out,
			     "bad_rows", (json_int_t)st->bad_rows,
			     "checkpoint_writes", (json_int_t)st->checkpoint_writes,
			     "checkpoint_errors", (json_int_t)st->checkpoint_errors,
			     "duplicates", (json_int_t)st->duplicates,
			     "resolved_stalls", (json_int_t)st->resolved_stalls,
			     "reconnects", reconnects);
	tables = json_array();
	for (size_t i = 0; tables && fcfg && i < fcfg->ntables; i++)
		json_array_append_new(tables, json_string(fcfg->tables[i]));
	dsn = fcfg && fcfg->dsn ? config_dsn_mask(fcfg->dsn) : NULL;
	obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o*, s:o*, s:o, s:o*, s:o*, s:o*, s:o*}",
			"name", feed->name,
			"state", feed->state,
			"source", fcfg ? feed_source_name(fcfg->source) : "sinkless",
			"kind", fcfg && fcfg->kind == FEED_KIND_NOTIFY ? "notify" : "table",
			"delivery", st->ordered ? "ordered" : "stream",
			"paused", st->paused,
			"cursor", hlc_or_null(st->checkpoint),
			"resolved", hlc_or_null(st->last_resolved),
			"lag", crdb_hlc_is_zero(st->last_resolved) ? json_null() :
				json_real(seconds_since(now, st->last_resolved.wall / 1000000)),
			"checkpoint_age", crdb_hlc_is_zero(st->checkpoint) ? json_null() :
				json_real(seconds_since(now, st->checkpoint.wall / 1000000)),
			"state_seconds", st->state_since ?
				json_real(seconds_since(now, st->state_since)) : json_null(),
			"last_error", string_or_null(st->last_error),
			"subscribers", (json_int_t)subscribers,
			"counters", counters,
			"tables", tables,
			"dsn", string_or_null(dsn),
			"ordered", ordered_status(st),
			"notify", notify_status(st),
			"job", job_status(st, now),
			"nats", nats_source_status(st));
	free(dsn);
	return obj;
}

static json_t *sink_status(const struct sink_view *sink)
{
	const struct sink_config *scfg = sink->cfg;
	const struct sink_stats *st = &sink->stats;
	json_t *obj, *journal = json_null(), *pg = json_null(), *nats = json_null();
	char url[512];

	if (st->pg)
		pg = json_pack("{s:s?, s:I, s:s?, s:I, s:I, s:I, s:{s:I, s:I, s:I}, s:I, s:I, s:I}",
			       "dir", scfg->pg_dir,
			       "port", (json_int_t)scfg->pg_port,
			       "tcp", scfg->pg_tcp,
			       "listeners", (json_int_t)st->pg_listeners,
			       "channels", (json_int_t)st->pg_channels,
			       "notifications", (json_int_t)st->pg_notifications,
			       "refused",
			       "full", (json_int_t)st->pg_refused_full,
			       "peer", (json_int_t)st->pg_refused_peer,
			       "auth", (json_int_t)st->pg_auth_failed,
			       "dropped_slow", (json_int_t)st->pg_dropped_slow,
			       "too_large", (json_int_t)st->pg_too_large,
			       "not_sent", (json_int_t)st->pg_not_sent);
	if (st->nats && scfg->nats.url)
		nats_urls_shown(url, sizeof(url), scfg->nats.url);
	if (st->nats)
		nats = json_pack("{s:s?, s:s, s:b, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				 "url", scfg->nats.url ? url : NULL,
				 "state", st->nats_state,
				 "connected", st->nats_connected != 0,
				 "error", st->nats_error[0] ? st->nats_error : NULL,
				 "published", (json_int_t)st->nats_published,
				 "acked", (json_int_t)st->nats_acked,
				 "pending", (json_int_t)st->nats_pending,
				 "duplicates", (json_int_t)st->nats_duplicates,
				 "too_large", (json_int_t)st->nats_too_large,
				 "errors", (json_int_t)st->nats_errors,
				 "backoffs", (json_int_t)st->nats_backoffs,
				 "skipped", (json_int_t)st->nats_skipped,
				 "gaps", (json_int_t)st->nats_gaps,
				 "acked_seq", (json_int_t)st->nats_acked_seq,
				 "stream_seq", (json_int_t)st->nats_stream_seq,
				 "reconnects", (json_int_t)st->nats_reconnects);
	if (st->journaled)
		journal = json_pack("{s:I, s:I, s:I}",
				    "replaying", (json_int_t)st->replaying,
				    "max_seq_lag", (json_int_t)st->max_seq_lag,
				    "replayed_lines", (json_int_t)st->replayed_lines);
	obj = json_pack("{s:s, s:s, s:s, s:o, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:o*, s:o*, s:o*}",
			 "name", sink->name,
			 "feed", scfg->feed,
			 "type", sink_type_name(scfg->type),
			 "path", string_or_null(scfg->path),
			 "policy", slow_policy_name(scfg->policy),
			 "activated", st->activated,
			 "subscribers", (json_int_t)st->subscribers,
			 "queued", (json_int_t)st->queued_bytes,
			 "max_queued", (json_int_t)st->max_queued_bytes,
			 "buffer", (json_int_t)st->buffer_bytes,
			 "accepted", (json_int_t)st->accepted,
			 "refused", (json_int_t)st->refused,
			 "dropped", (json_int_t)st->dropped,
			 "disconnected_slow", (json_int_t)st->disconnected_slow,
			 "disconnected_other", (json_int_t)st->disconnected_other,
			 "journaled", st->journaled,
			 "journal", journal,
			 "pg", pg,
			 "nats", nats);
	return obj;
}

static void cmd_status(struct conn *conn, const struct daemon_view *view)
{
	int64_t now = clock_wall_ms();
	json_t *feeds = json_array(), *sinks = json_array(), *status;

	for (size_t i = 0; feeds && i < view->nfeeds; i++) {
		if (view->feeds[i].live)
			json_array_append_new(feeds, feed_status(view, &view->feeds[i], now));
		else
			json_array_append_new(feeds, json_pack("{s:s, s:s, s:s}",
				"name", view->feeds[i].name, "state", "failed",
				"last_error", "the feed could not be created"));
	}
	for (size_t i = 0; sinks && i < view->nsinks; i++) {
		if (view->sinks[i].live)
			json_array_append_new(sinks, sink_status(&view->sinks[i]));
		else
			json_array_append_new(sinks, json_pack("{s:s, s:s, s:s}",
				"name", view->sinks[i].name,
				"feed", view->sinks[i].cfg->feed,
				"error", "the sink could not be opened"));
	}
	status = json_pack("{s:b, s:s, s:I, s:I, s:f, s:b, s:b, s:o*, s:o*, s:o*}",
			   "ok", 1,
			   "version", view->version ? view->version : "",
			   "pid", (json_int_t)getpid(),
			   "started_at", (json_int_t)view->started_at,
			   "uptime", seconds_since(now, view->started_at),
			   "ready", view->ready,
			   "shutting_down", view->shutting_down,
			   "config", string_or_null(view->cfg->path),
			   "feeds", feeds,
			   "sinks", sinks);
	ctl_answer_json(conn, status);
}

static void cmd_metrics(struct conn *conn, const struct daemon_view *view)
{
	textbuf_free(&conn->out);
	textbuf_init(&conn->out, RESPONSE_MAX);
	if (metrics_render(&conn->out, view, clock_wall_ms(), NULL)) {
		log_warning(CONTROL_WHO, "%s: the metrics did not fit in %u bytes",
			    conn->who, RESPONSE_MAX);
		ctl_answer_error(conn, "failed", "out of memory or metrics too large");
	}
}

/* A client's word, safe to quote in an answer or a log line: printable
 * ASCII only (other bytes become '?'), at most outlen - 1 bytes. */
void ctl_printable(char *out, size_t outlen, const char *in)
{
	size_t n = 0;

	for (const char *p = in; *p && n + 1 < outlen; p++)
		out[n++] = (*p >= 0x20 && *p < 0x7f && *p != '"') ? *p : '?';
	out[n] = '\0';
}

/* The feed named name in view; NULL when none is configured. */
const struct feed_view *ctl_find_feed(const struct daemon_view *view,
				      const char *name)
{
	for (size_t i = 0; i < view->nfeeds; i++)
		if (strcmp(view->feeds[i].name, name) == 0)
			return &view->feeds[i];
	return NULL;
}

/*
 * An operator's command on one live feed: the feed named name, or an
 * answer (usage, unknown feed) and false. why says who asks ("VERB by an
 * operator (uid U, pid P)"), for the feed's state line.
 */
static bool operator_feed(struct conn *conn, const struct daemon_view *view,
			  const char *name, const char *verb, bool available,
			  const char *done, char *why, size_t whylen)
{
	const struct feed_view *feed;

	if (!*name) {
		ctl_answer_error(conn, "bad_request", "usage: %s FEED", verb);
		return false;
	}
	feed = ctl_find_feed(view, name);
	if (!feed || !feed->live || !available) {
		char shown[128];

		ctl_printable(shown, sizeof(shown), name);
		ctl_answer_error(conn, "unknown_feed", feed ?
			     "feed \"%s\" could not be created" :
			     "unknown feed \"%s\"", shown);
		return false;
	}
	if (conn->have_cred)
		snprintf(why, whylen, "%s by an operator (uid %ld, pid %ld)", done,
			 (long)conn->cred.uid, (long)conn->cred.pid);
	else
		snprintf(why, whylen, "%s by an operator", done);
	return true;
}

static void cmd_pause_resume(struct conn *conn, const struct daemon_view *view,
			     const char *name, bool pause)
{
	struct control *ctl = conn->ctl;
	const char *verb = pause ? "pause" : "resume";
	char why[160];

	if (!operator_feed(conn, view, name, verb, ctl->ops->pause != NULL,
			   "paused", why, sizeof(why)))
		return;
	if (ctl->ops->pause(ctl->arg, name, pause, why)) {
		ctl_answer_error(conn, "failed", pause ?
			     "feed \"%.200s\" is stopping and cannot be paused" :
			     "feed \"%.200s\" is not paused", name);
		return;
	}
	log_notice(CONTROL_WHO, "%s: %s feed %s", conn->who, verb, name);
	answer_ok(conn);
}

static void cmd_cancel(struct conn *conn, const struct daemon_view *view,
		       const char *name)
{
	struct control *ctl = conn->ctl;
	char why[160], errbuf[300];

	if (!operator_feed(conn, view, name, "cancel", ctl->ops->cancel != NULL,
			   "cancelled", why, sizeof(why)))
		return;
	if (ctl->ops->cancel(ctl->arg, name, why, errbuf, sizeof(errbuf))) {
		ctl_answer_error(conn, "failed", "%s", errbuf);
		return;
	}
	log_notice(CONTROL_WHO, "%s: cancel the job of feed %s", conn->who, name);
	answer_ok(conn);
}

static void cmd_reload(struct conn *conn)
{
	struct control *ctl = conn->ctl;
	char errbuf[2048] = "";

	log_notice(CONTROL_WHO, "%s: reload", conn->who);
	if (!ctl->ops->reload) {
		ctl_answer_error(conn, "failed", "reload is not available");
		return;
	}
	if (ctl->ops->reload(ctl->arg, errbuf, sizeof(errbuf))) {
		ctl_answer_error(conn, "failed", "reload failed: %s",
			     *errbuf ? errbuf : "see the daemon's log");
		return;
	}
	answer_ok(conn);
}

/* Run one control request line (without its newline). */
void ctl_command(struct conn *conn, char *line)
{
	struct control *ctl = conn->ctl;
	struct daemon_view view;
	size_t len = strlen(line);
	char *arg;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
		       line[len - 1] == '\t'))
		line[--len] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	arg = line + strcspn(line, " \t");
	if (*arg) {
		*arg++ = '\0';
		arg += strspn(arg, " \t");
	}
	memset(&view, 0, sizeof(view));
	ctl->ops->view(ctl->arg, &view);
	if (!view.cfg) {
		ctl_answer_error(conn, "failed", "the daemon has no configuration yet");
	} else if (strcmp(line, "status") == 0 && !*arg) {
		cmd_status(conn, &view);
	} else if (strcmp(line, "metrics") == 0 && !*arg) {
		cmd_metrics(conn, &view);
	} else if (strcmp(line, "pause") == 0) {
		cmd_pause_resume(conn, &view, arg, true);
	} else if (strcmp(line, "cancel") == 0) {
		cmd_cancel(conn, &view, arg);
	} else if (strcmp(line, "resume") == 0) {
		cmd_pause_resume(conn, &view, arg, false);
	} else if (strcmp(line, "reload") == 0 && !*arg) {
		cmd_reload(conn);
	} else if (strcmp(line, "replay") == 0) {
		ctl_replay_command(conn, &view, arg);
	} else if (!*line) {
		ctl_answer_error(conn, "unknown_command",
			     "empty request (expected status, metrics, pause FEED, resume FEED, cancel FEED, reload, replay FEED)");
	} else {
		char shown[64];

		ctl_printable(shown, sizeof(shown), line);
		ctl_answer_error(conn, "unknown_command",
			     "unknown command \"%s\"%s (expected status, metrics, pause FEED, resume FEED, cancel FEED, reload, replay FEED)",
			     shown, *arg ? " or unexpected argument" : "");
	}
	daemon_view_release(&view);
	ctl_conn_respond(conn);
}
