/*
 * feed_rows.c: a feed's stream once the changefeed runs: results taken
 * from libpq in single-row mode, each row or resolved timestamp turned
 * into a line and published to the feed's sinks, the socket left unread
 * while a block sink is full, and the checkpoint moved as far as every
 * block sink has written. The sinks reach back only through the
 * callbacks of feed_sink_owner.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "feed_int.h"

#include "checkpoint.h"
#include "clock.h"
#include "log.h"
#include "names.h"
#include "sink.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- publishing ----------------------------------------------------------- */

void feed_publish(struct feed *feed, struct line *line)
{
	/* An ordered feed's lines carry their journal positions already. */
	if (!feed->ordered)
		line->seq = ++feed->seq;
	feed->stats.lines_out++;
	feed->stats.bytes_out += line->len;
	for (size_t i = 0; i < feed->nsinks; i++)
		sink_offer(feed->sinks[i], line);
	line_unref(line);
}

struct line *feed_state_line(const struct feed *feed)
{
	const char *reason = feed->reason[0] ? feed->reason : NULL;

	if (feed->state == FEED_STREAMING)
		reason = NULL;
	return line_new_state(feed->name, feed_public_state(feed), reason,
			      feed_source_name(feed->cfg->source));
}

bool feed_blocked(const struct feed *feed)
{
	if (feed->ordered && ordered_stalled(feed->ordered))
		return true;
	for (size_t i = 0; i < feed->nsinks; i++)
		if (sink_is_blocking(feed->sinks[i]))
			return true;
	return false;
}

/*
 * Move the checkpoint to the newest resolved timestamp whose line, and so
 * every line before it, every block sink has written.
 */
void feed_advance_checkpoint(struct feed *feed)
{
	uint64_t done = feed->seq;
	size_t popped = 0;
	crdb_hlc newest = { 0, 0 };
	char hlcbuf[CRDB_HLC_BUFSIZE];

	if (feed->npending == 0)
		return;
	for (size_t i = 0; i < feed->nsinks; i++) {
		uint64_t d = sink_done_seq(feed->sinks[i], feed->seq);

		if (d < done)
			done = d;
	}
	while (popped < feed->npending && feed->pending[popped].seq <= done) {
		newest = feed->pending[popped].hlc;
		popped++;
	}
	if (popped == 0)
		return;
	feed->npending -= popped;
	memmove(feed->pending, feed->pending + popped,
		feed->npending * sizeof(*feed->pending));
	if (crdb_hlc_compare(newest, feed->checkpoint) <= 0)
		return;
	feed->checkpoint = newest;
	feed->checkpoint_mono = clock_mono_ms();
	if (feed->recent)
		recent_forget_upto(feed->recent, newest);
	/* Logged as it moves: the next statement's cursor is this one, not
	 * the paced file's. */
	crdb_hlc_format(newest, hlcbuf);
	if (!feed->state_dir) {
		log_debug(feed->who, "checkpoint %s (in memory)", hlcbuf);
		return;
	}
	log_debug(feed->who, "checkpoint %s", hlcbuf);
	feed->checkpoint_unsaved = true;
	feed_pace_checkpoint(feed);
}

/*
 * A stream feed's file follows its checkpoint at most once per
 * checkpoint_interval (each write is two fsyncs, and resolved rows may
 * come many times a second): at once when the last write is that old,
 * else when the timer fires. A crash costs the rows since the file's
 * checkpoint, which come again (at least once).
 */
void feed_pace_checkpoint(struct feed *feed)
{
	int64_t interval = feed->cfg->checkpoint_interval_ms;
	int64_t wait = feed->checkpoint_saved_mono + interval - clock_mono_ms();

	if (!feed->checkpoint_unsaved)
		return;
	if (interval <= 0 || feed->checkpoint_saved_mono == 0 || wait <= 0) {
		feed_save_checkpoint(feed);
		return;
	}
	if (!evtimer_pending(feed->checkpoint_timer, NULL)) {
		struct timeval tv = { .tv_sec = (time_t)(wait / 1000),
				      .tv_usec = (suseconds_t)(wait % 1000) * 1000 };

		evtimer_add(feed->checkpoint_timer, &tv);
	}
}

void feed_on_checkpoint_timer(evutil_socket_t fd, short what, void *arg)
{
	feed_save_checkpoint(arg);
}

/* Write the checkpoint file now if it lags the checkpoint in memory. */
void feed_save_checkpoint(struct feed *feed)
{
	char errbuf[256], hlcbuf[CRDB_HLC_BUFSIZE];

	if (!feed->checkpoint_unsaved || !feed->state_dir)
		return;
	evtimer_del(feed->checkpoint_timer);
	feed->checkpoint_saved_mono = clock_mono_ms();
	crdb_hlc_format(feed->checkpoint, hlcbuf);
	/* A failed write keeps the old file (checkpoint.h) and the stream
	 * going: the next resolved timestamp past the interval tries again.
	 * One line per outage, one when it ends. */
	if (checkpoint_write(feed->state_dir, feed->name, feed->checkpoint,
			     errbuf, sizeof(errbuf))) {
		feed->stats.checkpoint_errors++;
		if (!feed->checkpoint_error) {
			log_error(feed->who, "checkpoint not saved (the old one stays; streaming on): %s",
				  errbuf);
			feed_note_error(feed, errbuf);
		}
		feed->checkpoint_error = true;
		return;
	}
	feed->checkpoint_unsaved = false;
	feed->stats.checkpoint_writes++;
	if (feed->checkpoint_error)
		log_notice(feed->who, "checkpoint saved again (%s)", hlcbuf);
	feed->checkpoint_error = false;
	log_debug(feed->who, "checkpoint file written at %s", hlcbuf);
}

/* The first row of a connection: the feed streams, backoff starts over. */
static void feed_mark_streaming(struct feed *feed)
{
	if (feed->state == FEED_STARTING) {
		feed->backoff_ms = 0;
		feed_set_state(feed, FEED_STREAMING, NULL);
	}
}

/*
 * A decoded row: published at once (stream), or held for its resolved
 * timestamp (ordered), where a duplicate is dropped and a late row goes
 * out flagged. Steals line.
 */
static void feed_take_row(struct feed *feed, const PGresult *res,
			  struct line *line)
{
	char errbuf[256];

	feed->stats.rows++;
	feed->last_row_mono = feed->drain_now;
	feed_note_row_updated(feed, line->updated);
	if (!feed->ordered) {
		/* A row re-sent after a reconnect that this run delivered
		 * since the checkpoint (crdbfeedd(8), DELIVERY GUARANTEES). */
		if (feed->recent && !crdb_hlc_is_zero(line->updated) &&
		    recent_check_add(feed->recent, line->table ? line->table : "",
				     line->table ? strlen(line->table) : 0,
				     PQgetvalue(res, 0, 1),
				     (size_t)PQgetlength(res, 0, 1), line->updated) == 1) {
			feed->stats.duplicates++;
			line_unref(line);
			return;
		}
		feed_publish(feed, line);
		return;
	}
	switch (ordered_row(feed->ordered, line, PQgetvalue(res, 0, 1),
			    (size_t)PQgetlength(res, 0, 1), errbuf, sizeof(errbuf))) {
	case ORDERED_HELD:
	case ORDERED_DUPLICATE:
		break;
	case ORDERED_LATE: {
		char hlc[CRDB_HLC_BUFSIZE], resolved[CRDB_HLC_BUFSIZE];

		crdb_hlc_format(line->updated, hlc);
		crdb_hlc_format(ordered_checkpoint(feed->ordered), resolved);
		log_ctx_msg(LOG_LEVEL_WARNING,
			    &(struct log_ctx){ .feed = feed->name, .table = line->table },
			    "late row: updated %s is below the released resolved timestamp %s; delivered flagged late",
			    hlc, resolved);
		break;
	}
	case ORDERED_ERROR:
	default: {
		char msg[300];

		snprintf(msg, sizeof(msg), "cannot hold a row: %s", errbuf);
		feed->stats.bad_rows++;
		line_unref(line);
		feed_backoff_ctx(feed, RECONNECT_BAD_ROW, msg, NULL, NULL);
		return;
	}
	}
	line_unref(line);
}

/* The resolved-stall watchdog's view of rows (feed_int.h). */
void feed_note_row_updated(struct feed *feed, crdb_hlc updated)
{
	if (crdb_hlc_is_zero(updated) || feed->rows_updated_varied)
		return;
	if (crdb_hlc_is_zero(feed->rows_updated_first))
		feed->rows_updated_first = updated;
	else if (crdb_hlc_compare(updated, feed->rows_updated_first) != 0)
		feed->rows_updated_varied = true;
}

/* A resolved timestamp of an ordered feed: release, commit, publish, once
 * the rows already waiting on the connection are read (feed_drain). */
static void feed_ordered_resolved(struct feed *feed, crdb_hlc resolved)
{
	char errbuf[256], msg[300];

	if (ordered_resolved_deferred(feed->ordered, resolved, errbuf,
				      sizeof(errbuf)) < 0) {
		snprintf(msg, sizeof(msg), "releasing held rows: %s", errbuf);
		feed_backoff(feed, RECONNECT_ERROR, msg);
	}
}

static void feed_handle_row(struct feed *feed, const PGresult *res)
{
	crdb_event ev = { 0 };
	crdb_error err;
	struct line *line;
	char errbuf[256];

	feed->stats.bytes_in += (uint64_t)PQgetlength(res, 0, 1) +
				(uint64_t)PQgetlength(res, 0, 2);
	/* The common case, a plain wrapped row, goes from the wire bytes to
	 * its line without jansson values (encode.h: byte-identical to the
	 * general path). Anything else (resolved rows, other envelopes,
	 * escapes, malformed rows) returns NULL and takes the general
	 * path, which also says what is wrong. */
	line = line_new_row_described(feed->name, res, &feed->dopts, &feed->row_desc);
	if (line) {
		feed_mark_streaming(feed);
		feed_take_row(feed, res, line);
		return;
	}
	if (crdb_event_decode(res, &feed->dopts, &ev, &err)) {
		char hlc[CRDB_HLC_BUFSIZE], msg[512], table[101];

		/* The table name is server text of any length: bounded. */
		snprintf(table, sizeof(table), "%s", PQgetisnull(res, 0, 0) ?
			 "(resolved)" : PQgetvalue(res, 0, 0));
		crdb_hlc_format(feed->checkpoint, hlc);
		feed->stats.bad_rows++;
		log_ctx_msg(LOG_LEVEL_ERROR, &(struct log_ctx){ .feed = feed->name, .table = table },
			    "rejected a row from table %s after resolved %s: %s",
			    table, hlc, err.message);
		snprintf(msg, sizeof(msg), "undecodable row from table %s: %s",
			 table, err.message);
		feed_backoff(feed, RECONNECT_BAD_ROW, msg);
		return;
	}
	feed_mark_streaming(feed);
	if (ev.kind == CRDB_EVENT_RESOLVED) {
		feed->stats.resolved++;
		/* A repeat after a reconnect says nothing new. */
		if (crdb_hlc_compare(ev.resolved, feed->last_resolved) > 0) {
			feed->last_resolved = ev.resolved;
			feed->last_resolved_mono = feed->drain_now;
			feed->resolved_advanced_mono = feed->drain_now;
			feed->rows_updated_first = (crdb_hlc){ 0, 0 };
			feed->rows_updated_varied = false;
			if (feed->ordered) {
				feed_ordered_resolved(feed, ev.resolved);
				crdb_event_clear(&ev);
				return;
			}
			line = line_new_resolved(feed->name, ev.resolved);
			if (!line)
				goto nomem;
			if (feed->npending == feed->pending_cap) {
				size_t ncap = feed->pending_cap ? feed->pending_cap * 2 : 16;
				struct pending_resolved *grown =
					realloc(feed->pending, ncap * sizeof(*grown));

				if (!grown) {
					line_unref(line);
					goto nomem;
				}
				feed->pending = grown;
				feed->pending_cap = ncap;
			}
			feed_publish(feed, line);
			feed->pending[feed->npending].seq = feed->seq;
			feed->pending[feed->npending].hlc = ev.resolved;
			feed->npending++;
			feed_advance_checkpoint(feed);
		}
	} else {
		line = line_new_row(feed->name, &ev, feed->dopts.diff, errbuf, sizeof(errbuf));
		if (!line) {
			char msg[300], table[101];

			snprintf(table, sizeof(table), "%s", ev.table ? ev.table : "?");
			crdb_event_clear(&ev);
			feed->stats.bad_rows++;
			snprintf(msg, sizeof(msg), "cannot encode a row: %s", errbuf);
			feed_backoff_ctx(feed, RECONNECT_BAD_ROW, msg, table, NULL);
			return;
		}
		feed_take_row(feed, res, line);
	}
	crdb_event_clear(&ev);
	return;
nomem:
	crdb_event_clear(&ev);
	feed_backoff(feed, RECONNECT_BAD_ROW, "out of memory");
}

/*
 * Take every result libpq has complete, as long as no block sink is full.
 * Returns when libpq needs more input, the feed paused, or the connection
 * was closed (feed->conn NULL then).
 */
/*
 * libpq keeps a malformed message (a DataRow of the wrong width, a length
 * past its end) to itself: it writes the reason into the connection's
 * error message and then discards every row until the statement ends,
 * which a changefeed never does. Seen while libpq is still busy, that
 * message means the stream is broken now: log it with the checkpoint and
 * reconnect at once instead of waiting for the stall watchdog.
 */
static void feed_check_protocol(struct feed *feed, PGconn *pg)
{
	const char *text = PQerrorMessage(pg);
	char hlc[CRDB_HLC_BUFSIZE], reason[300];

	if (feed->step != STEP_FEED || !text || !*text)
		return;
	snprintf(reason, sizeof(reason), "malformed message from the server: %s", text);
	reason[strcspn(reason, "\n")] = '\0';
	crdb_hlc_format(feed->checkpoint, hlc);
	feed->stats.bad_rows++;
	log_error(feed->who, "%s (resuming after resolved %s)", reason, hlc);
	feed_backoff(feed, RECONNECT_BAD_ROW, reason);
}

/* Have every sink write what it queued, so that a long drain's first
 * rows leave before its last are decoded. */
static void feed_flush_sinks(struct feed *feed)
{
	for (size_t i = 0; i < feed->nsinks; i++)
		sink_flush(feed->sinks[i]);
}

/* Whether it stopped with more results waiting (a pass's limit). */
static bool feed_drain_results(struct feed *feed)
{
	unsigned taken = 0;
	uint64_t flushed = feed->stats.bytes_out;

	while (feed->conn && !feed->blocked) {
		PGconn *pg = crdb_conn_pg(feed->conn);
		PGresult *res;

		if (PQisBusy(pg)) {
			feed_check_protocol(feed, pg);
			return false;
		}
		/* Let the sinks write between bursts: continue in the next
		 * pass (rows held by libpq would not wake the socket). */
		if (++taken > DRAIN_BATCH) {
			feed_flush_sinks(feed);
			feed_sink_progress(feed);
			return true;
		}
		if (feed->stats.bytes_out - flushed >= DRAIN_FLUSH_BYTES) {
			feed_flush_sinks(feed);
			flushed = feed->stats.bytes_out;
		}
		res = PQgetResult(pg);
		if (!res) {
			if (feed->step == STEP_SET) {
				feed_send_changefeed(feed);
				continue;
			}
			/* The statement ended without an error result. */
			feed_backoff(feed, RECONNECT_LOST, "the changefeed statement ended");
			return false;
		}
		switch (PQresultStatus(res)) {
		case PGRES_SINGLE_TUPLE:
			if (feed->step == STEP_FEED)
				feed_handle_row(feed, res);
			break;
		case PGRES_COMMAND_OK:
			break;
		case PGRES_TUPLES_OK:
			if (feed->step == STEP_FEED) {
				/* end_time or initial_scan='only' (§2.4). */
				PQclear(res);
				feed_close_conn(feed);
				feed_set_state(feed, FEED_STOPPED, "the changefeed completed");
				return false;
			}
			break;
		case PGRES_FATAL_ERROR:
			feed_result_error(feed, res);
			PQclear(res);
			return false;
		default:
			break;
		}
		PQclear(res);
		if (feed->conn && feed_blocked(feed)) {
			feed->blocked = true;
			if (feed->sock_ev)
				event_del(feed->sock_ev);
			log_debug(feed->who, "a block sink is full: pausing");
		}
	}
	return false;
}

/* Whether fd has bytes to read now (no wait). */
static bool socket_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/*
 * feed_drain_results with the clock read once per call, not per row. Only
 * results count as activity for the stall watchdog: bytes libpq reads and
 * then drops (rows after a malformed one) must not keep a dead feed alive.
 */
void feed_drain(struct feed *feed)
{
	uint64_t before = feed->stats.rows + feed->stats.resolved + feed->stats.bad_rows;
	bool more;

	feed->drain_now = clock_mono_ms();
	more = feed_drain_results(feed);
	if (feed->ordered && ordered_release_deferred(feed->ordered)) {
		char errbuf[256], msg[300];

		/* libpq reads a socket buffer's worth at a time: rows may
		 * wait in the socket when it has none. */
		if (!more && feed->conn)
			more = socket_readable(PQsocket(crdb_conn_pg(feed->conn)));
		if (ordered_input_read(feed->ordered, more, errbuf,
				       sizeof(errbuf)) < 0) {
			snprintf(msg, sizeof(msg), "releasing held rows: %s", errbuf);
			feed_backoff(feed, RECONNECT_ERROR, msg);
		}
	}
	if (feed->stats.rows + feed->stats.resolved + feed->stats.bad_rows != before)
		feed->last_activity_ms = feed->drain_now;
}

void feed_on_session_io(evutil_socket_t fd, short what, void *arg)
{
	struct feed *feed = arg;
	PGconn *pg = crdb_conn_pg(feed->conn);

	if (what & EV_WRITE) {
		int flushed = PQflush(pg);

		if (flushed < 0) {
			feed_result_error(feed, NULL);
			return;
		}
		if (!flushed && feed_watch(feed, EV_READ | EV_PERSIST, feed_on_session_io)) {
			feed_backoff(feed, RECONNECT_LOST, "cannot watch the connection's socket");
			return;
		}
	}
	if (what & EV_READ) {
		if (!PQconsumeInput(pg)) {
			feed_result_error(feed, NULL);
			return;
		}
		feed_drain(feed);
	}
}

void feed_on_progress(evutil_socket_t fd, short what, void *arg)
{
	struct feed *feed = arg;

	feed_advance_checkpoint(feed);
	if (feed->blocked && !feed_blocked(feed)) {
		feed->blocked = false;
		feed->last_activity_ms = clock_mono_ms();
		log_debug(feed->who, "block sinks drained: resuming");
		if (feed->sock_ev)
			event_add(feed->sock_ev, NULL);
	}
	/* A relay's consumer queued messages while the feed was blocked. */
	if (!feed->blocked)
		feed_nats_resume(feed->nats);
	/* Rows libpq already holds would not wake the socket. */
	if (!feed->blocked && feed->conn &&
	    (feed->state == FEED_STARTING || feed->state == FEED_STREAMING))
		feed_drain(feed);
}

void feed_sink_progress(struct feed *feed)
{
	if (!event_pending(feed->progress, EV_TIMEOUT, NULL))
		event_active(feed->progress, EV_TIMEOUT, 0);
}

static const char *owner_name(void *arg)
{
	return feed_name(arg);
}

static struct line *owner_greeting(void *arg)
{
	return feed_state_line(arg);
}

static void owner_progress(void *arg)
{
	feed_sink_progress(arg);
}

static int owner_replay_read(void *arg, uint64_t after, size_t max,
			     void (*fn)(struct line *line, void *fnarg),
			     void *fnarg, char *errbuf, size_t errlen)
{
	struct feed *feed = arg;

	if (!feed->ordered) {
		snprintf(errbuf, errlen, "the journal is not open (the feed is %s)",
			 feed_public_state(feed));
		return -1;
	}
	return ordered_replay_read(feed->ordered, feed->name, after, max, fn,
				   fnarg, errbuf, errlen);
}

static int owner_replay_seek(void *arg, crdb_hlc since, uint64_t *after,
			     char *errbuf, size_t errlen)
{
	struct feed *feed = arg;

	if (!feed->ordered) {
		snprintf(errbuf, errlen, "the journal is not open (the feed is %s)",
			 feed_public_state(feed));
		return -1;
	}
	return ordered_replay_seek(feed->ordered, since, after, errbuf, errlen);
}

static void owner_replay_bounds(void *arg, uint64_t *first_kept,
				uint64_t *last_released)
{
	struct feed *feed = arg;

	if (!feed->ordered) {
		*first_kept = 1;
		*last_released = 0;
		return;
	}
	ordered_replay_bounds(feed->ordered, first_kept, last_released);
}

static uint32_t owner_replay_epoch(void *arg)
{
	struct feed *feed = arg;

	return feed->ordered ? ordered_epoch(feed->ordered) : 0;
}

static const char *owner_state_dir(void *arg)
{
	struct feed *feed = arg;

	return feed->state_dir;
}

void feed_sink_owner(struct feed *feed, struct sink_owner *out)
{
	*out = (struct sink_owner){
		.name = owner_name,
		.greeting = owner_greeting,
		.progress = owner_progress,
		.state_dir = owner_state_dir,
		.arg = feed,
	};
	out->notify = feed->cfg->kind == FEED_KIND_NOTIFY;
	if (feed->cfg->delivery == FEED_DELIVERY_ORDERED) {
		out->replay_read = owner_replay_read;
		out->replay_seek = owner_replay_seek;
		out->replay_bounds = owner_replay_bounds;
		out->replay_epoch = owner_replay_epoch;
	}
}

/* ---- ordered delivery ----------------------------------------------------- */

static void ordered_publish(void *arg, struct line *line)
{
	feed_publish(arg, line);
}

/* A full journal stops reading (feed_blocked asks) and says so. */
static void ordered_stall(void *arg, bool stalled, const char *why)
{
	struct feed *feed = arg;
	struct line *line;

	if (stalled) {
		char msg[300];

		snprintf(msg, sizeof(msg), "journal: %s", why ? why : "commit failed");
		feed_note_error(feed, msg);
		line = line_new_state(feed->name, "stalled", msg,
				      feed_source_name(feed->cfg->source));
		feed->blocked = true;
		if (feed->sock_ev)
			event_del(feed->sock_ev);
	} else {
		line = feed_state_line(feed);
		feed_sink_progress(feed);
	}
	if (line)
		feed_publish(feed, line);
}

/* Retention keeps what the feed's sinks still need (nats sinks: the rows
 * after their acknowledged position). */
static uint64_t ordered_keep_after(void *arg)
{
	struct feed *feed = arg;
	uint64_t keep = UINT64_MAX;

	for (size_t i = 0; i < feed->nsinks; i++) {
		uint64_t k = sink_keep_after(feed->sinks[i]);

		if (k < keep)
			keep = k;
	}
	return keep;
}

/* The journal committed a newer checkpoint, now or from the event loop
 * (a large window's last chunk, a stalled commit that went in). */
static void ordered_committed(void *arg, crdb_hlc checkpoint)
{
	struct feed *feed = arg;

	if (crdb_hlc_compare(checkpoint, feed->checkpoint) > 0) {
		feed->checkpoint = checkpoint;
		feed->checkpoint_mono = clock_mono_ms();
	}
}

/* A release from the event loop failed: what the feed does when
 * ordered_resolved fails. A sinkless feed reconnects; a job or relay feed
 * has no connection of its own: the error is shown and the next resolved
 * timestamp tries again. */
static void ordered_failed(void *arg, const char *why)
{
	struct feed *feed = arg;
	char msg[300];

	snprintf(msg, sizeof(msg), "releasing held rows: %s", why);
	if (feed->cfg->source == FEED_SOURCE_SINKLESS &&
	    (feed->state == FEED_CONNECTING || feed->state == FEED_STARTING ||
	     feed->state == FEED_STREAMING)) {
		feed_backoff(feed, RECONNECT_ERROR, msg);
		return;
	}
	log_error(feed->who, "%s", msg);
	feed_note_error(feed, msg);
}

static bool notify_admit(void *arg, const struct order_row *row)
{
	struct feed *feed = arg;

	return notify_feed_admit(feed->notify, row);
}

int feed_open_ordered(struct feed *feed, bool start_over)
{
	struct ordered_owner owner = { ordered_publish, ordered_stall, feed,
				       NULL, ordered_keep_after,
				       ordered_committed, ordered_failed };
	char errbuf[512], msg[600];

	ordered_close(feed->ordered);
	feed->ordered = NULL;
	notify_feed_free(feed->notify);
	feed->notify = NULL;
	if (feed->cfg->kind == FEED_KIND_NOTIFY) {
		if (!(feed->notify = notify_feed_new(feed->who))) {
			feed_fail(feed, "out of memory");
			return -1;
		}
		owner.admit = notify_admit;
	}
	if (!feed->state_dir) {
		feed_fail(feed, "delivery = ordered needs a state directory for its journal");
		return -1;
	}
	feed->ordered = ordered_open(feed->base, feed->state_dir, feed->name,
				     feed->who, feed->cfg, feed->checkpoint,
				     start_over, &owner, errbuf, sizeof(errbuf));
	if (!feed->ordered) {
		snprintf(msg, sizeof(msg), "journal: %s", errbuf);
		feed_fail(feed, msg);
		return -1;
	}
	feed->checkpoint = ordered_checkpoint(feed->ordered);
	if (crdb_hlc_compare(feed->checkpoint, feed->last_resolved) > 0)
		feed->last_resolved = feed->checkpoint;
	return 0;
}

int feed_add_sink(struct feed *feed, struct sink *sink)
{
	struct sink **grown = realloc(feed->sinks, (feed->nsinks + 1) * sizeof(*grown));

	if (!grown)
		return -1;
	feed->sinks = grown;
	feed->sinks[feed->nsinks++] = sink;
	return 0;
}

void feed_remove_sink(struct feed *feed, struct sink *sink)
{
	for (size_t i = 0; i < feed->nsinks; i++) {
		if (feed->sinks[i] == sink) {
			memmove(feed->sinks + i, feed->sinks + i + 1,
				(feed->nsinks - i - 1) * sizeof(*feed->sinks));
			feed->nsinks--;
			break;
		}
	}
	/* A full block sink may have been what paused the feed. */
	feed_sink_progress(feed);
}
