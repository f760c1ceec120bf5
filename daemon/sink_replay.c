/*
 * sink_replay.c: the subscribers of a journaled sink (an ordered feed's):
 * the grace period before the first live line, the starting position a
 * request line asks for ("after", "since"), and reading the journal
 * through the owner's replay callbacks (sink.h) until caught up, then
 * going live with no gap and no duplicate.
 *
 * Positions: a subscriber's pos is the seq of the last row it took
 * (queued, or passed over by its filter). The feed commits every line to
 * the journal before offering it, and everything runs on this loop, so a
 * subscriber whose journal read gives nothing new while pos >= the last
 * released seq is live: the next line offered is pos + 1, or one it read
 * already (skipped by subscriber_position). A resolved line carries the
 * last row it covers, so it comes at seq == pos; it is taken when newer
 * than the last resolved taken.
 *
 * Memory: a replaying subscriber reads a chunk only when its queue is at
 * most the low watermark, and a chunk is about the buffer's worth of lines
 * (REPLAY_CHUNK_MIN to REPLAY_CHUNK_MAX), so its queue stays within its
 * buffer plus one chunk however many subscribers replay. One chunk per
 * subscriber per loop pass: live lines are never held up for long.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "sink_int.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void subscriber_replay_chunk(struct subscriber *sub);

static void on_source_event(evutil_socket_t fd, short what, void *arg)
{
	struct subscriber *sub = arg;

	sub->source_scheduled = false;
	if (sub->source == SOURCE_WAITING) {
		/* A busy loop may run this timer before the read event of a
		 * request that came in time: the request wins. */
		subscriber_read_now(sub);
		if (sub->state == SUB_CLOSED || sub->source != SOURCE_WAITING)
			return;
		log_debug(sub->sink->who, "subscriber %s sent no request within the grace period: live",
			  sub->ident);
		subscriber_go_live_now(sub);
	} else if (sub->source == SOURCE_JOURNAL) {
		subscriber_replay_chunk(sub);
	}
}

int subscriber_replay_init(struct subscriber *sub)
{
	sub->source_ev = event_new(sub->sink->base, -1, 0, on_source_event, sub);
	return sub->source_ev ? 0 : -1;
}

static int64_t grace_ms(const struct sink *sink)
{
	return sink->cfg->replay_grace_ms > 0 ? sink->cfg->replay_grace_ms
					      : REPLAY_GRACE_DEFAULT_MS;
}

void subscriber_await_request(struct subscriber *sub)
{
	int64_t ms = grace_ms(sub->sink);
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };

	/* Standard output sends no request. */
	if (sub->is_stdout) {
		subscriber_go_live_now(sub);
		return;
	}
	sub->source = SOURCE_WAITING;
	if (event_add(sub->source_ev, &tv)) {
		subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_ERROR,
				 "cannot arm its grace timer");
		return;
	}
	sub->source_scheduled = true;
}

static void source_cancel(struct subscriber *sub)
{
	if (sub->source_scheduled)
		event_del(sub->source_ev);
	sub->source_scheduled = false;
}

int subscriber_replay_position(const struct subscriber *sub,
			       const struct request_filter *filter,
			       uint64_t *after, char *msg, size_t msglen)
{
	const struct sink *sink = sub->sink;
	const char *feed = sink_owner_name(sink);
	const char *what = filter->has_after ? "after" : "since";
	uint64_t first_kept, last_released;
	char err[256];

	if (!sink_journaled(sink)) {
		snprintf(msg, msglen, "\"%s\" needs an ordered feed; feed %s has stream delivery: no journal to replay",
			 what, feed ? feed : "(none)");
		return -1;
	}
	if (sub->source != SOURCE_WAITING) {
		snprintf(msg, msglen, "too late: \"%s\" must come within %" PRId64 " ms of connecting (replay_grace); the subscription is live already",
			 what, grace_ms(sink));
		return -1;
	}
	sink->owner.replay_bounds(sink->owner.arg, &first_kept, &last_released);
	if (filter->has_after) {
		if (filter->after > last_released) {
			snprintf(msg, msglen, "\"after\" %" PRIu64 " is in the future: the feed's last seq is %" PRIu64,
				 filter->after, last_released);
			return -1;
		}
		*after = filter->after;
		return 0;
	}
	if (sink->owner.replay_seek(sink->owner.arg, filter->since, after,
				    err, sizeof(err))) {
		snprintf(msg, msglen, "\"since\": cannot search the journal: %s", err);
		return -1;
	}
	if (*after > last_released)
		*after = last_released;
	return 0;
}

/* Leave the waiting or replaying state for the live one (pos set). */
static void subscriber_set_live(struct subscriber *sub)
{
	source_cancel(sub);
	if (sub->source == SOURCE_JOURNAL)
		sub->sink->nreplaying--;
	sub->source = SOURCE_LIVE;
	if (sub->missed_state) {
		sub->missed_state = false;
		subscriber_greet(sub);
	}
}

void subscriber_go_live_now(struct subscriber *sub)
{
	const struct sink *sink = sub->sink;
	uint64_t first_kept;

	sink->owner.replay_bounds(sink->owner.arg, &first_kept, &sub->pos);
	sub->pos_resolved = (crdb_hlc){ 0, 0 };
	subscriber_set_live(sub);
}

/* Read the next chunk on the next loop pass, when the queue has room. */
void subscriber_replay_next(struct subscriber *sub)
{
	if (sub->source != SOURCE_JOURNAL || sub->source_scheduled ||
	    sub->state == SUB_CLOSED ||
	    sub->queued_bytes > sink_low_watermark(sub->sink))
		return;
	event_active(sub->source_ev, EV_TIMEOUT, 0);
	sub->source_scheduled = true;
}

static void subscriber_start_replay(struct subscriber *sub)
{
	sub->source = SOURCE_JOURNAL;
	sub->sink->nreplaying++;
	subscriber_replay_next(sub);
}

void subscriber_replay_from(struct subscriber *sub, uint64_t after)
{
	source_cancel(sub);
	sub->pos = after;
	sub->pos_resolved = (crdb_hlc){ 0, 0 };
	log_info(sub->sink->who, "subscriber %s replays the journal after seq %" PRIu64,
		 sub->ident, after);
	subscriber_start_replay(sub);
}

void subscriber_to_journal(struct subscriber *sub, const char *why)
{
	log_info(sub->sink->who, "subscriber %s %s (%zu bytes queued): reading the journal after seq %" PRIu64,
		 sub->ident, why, sub->queued_bytes, sub->pos);
	subscriber_start_replay(sub);
}

/* Positions pos + 1 .. first - 1 are gone: say so, and go on from first. */
static void subscriber_gap(struct subscriber *sub, uint64_t first)
{
	struct line *line = line_new_gap(sink_owner_name(sub->sink), sub->pos, first);

	log_info(sub->sink->who, "subscriber %s: seq %" PRIu64 " to %" PRIu64 " are no longer in the journal",
		 sub->ident, sub->pos + 1, first - 1);
	sub->pos = first - 1;
	if (!line) {
		subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_ERROR, "out of memory making a gap line");
		return;
	}
	subscriber_push(sub, line);
	line_unref(line);
}

struct chunk {
	struct subscriber *sub;
	size_t lines, bytes;   /* read */
	size_t fresh;          /* taken: the position moved */
};

/* One line from the journal (a reference we own). */
static void replay_take(struct line *line, void *arg)
{
	struct chunk *chunk = arg;
	struct subscriber *sub = chunk->sub;

	chunk->lines++;
	chunk->bytes += line->len;
	if (sub->state == SUB_CLOSED)
		goto out;
	/* A channel subscriber replays notify lines, made as live ones are
	 * (a row that is no notification it passes over). */
	if (sub->filter.channels && line->kind == LINE_ROW) {
		struct line *notify = sink_notify_line(sub->sink, line);

		if (notify) {
			line_unref(line);
			line = notify;
		}
	}
	switch (subscriber_position(sub, line)) {
	case POS_OLD:
		goto out;
	case POS_AHEAD:
		/* Rows missing inside what the journal gives (trimmed or
		 * reset between two chunks): a gap, then on. */
		subscriber_gap(sub, line->kind == LINE_ROW ? line->seq : line->seq + 1);
		if (sub->state == SUB_CLOSED)
			goto out;
		break;
	case POS_NEXT:
	case POS_NONE:
		break;
	}
	chunk->fresh++;
	subscriber_advance(sub, line);
	if (subscriber_wants(sub, line)) {
		sub->sink->replayed_lines++;
		subscriber_push(sub, line);
	}
out:
	line_unref(line);
}

/* Lines to read: about what fits between the queue and the buffer. */
static size_t chunk_lines(const struct subscriber *sub)
{
	size_t high = sub->sink->high;
	size_t room = sub->queued_bytes < high ? high - sub->queued_bytes : 0;
	size_t lines;

	if (!sub->replay_line_bytes)
		return REPLAY_CHUNK_FIRST;
	lines = room / sub->replay_line_bytes;
	if (lines < REPLAY_CHUNK_MIN)
		return REPLAY_CHUNK_MIN;
	return lines > REPLAY_CHUNK_MAX ? REPLAY_CHUNK_MAX : lines;
}

static void subscriber_replay_chunk(struct subscriber *sub)
{
	struct sink *sink = sub->sink;
	struct chunk chunk = { .sub = sub };
	uint64_t first_kept, last_released;
	char err[256];
	int n;

	if (!sink_journaled(sink) || sub->state == SUB_CLOSED)
		return;
	sink->owner.replay_bounds(sink->owner.arg, &first_kept, &last_released);
	if (sub->pos + 1 < first_kept) {
		subscriber_gap(sub, first_kept);
		if (sub->state == SUB_CLOSED)
			return;
	}
	/* From the row at pos itself, so that a resolved line covering pos
	 * comes whether or not the journal gives the one at `after`. */
	n = sink->owner.replay_read(sink->owner.arg, sub->pos ? sub->pos - 1 : 0,
				    chunk_lines(sub), replay_take, &chunk,
				    err, sizeof(err));
	if (sub->state == SUB_CLOSED)
		return;
	if (n < 0) {
		char msg[320];

		snprintf(msg, sizeof(msg), "cannot read the journal: %s", err);
		log_warning(sink->who, "subscriber %s: %s", sub->ident, msg);
		subscriber_say_goodbye(sub, msg);
		subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_INFO, msg);
		return;
	}
	if (chunk.lines)
		sub->replay_line_bytes = chunk.bytes / chunk.lines + 1;
	if (chunk.fresh) {
		subscriber_replay_next(sub);
		return;
	}
	if (sub->pos >= last_released) {
		log_info(sink->who, "subscriber %s caught up with the journal at seq %" PRIu64 ": live",
			 sub->ident, sub->pos);
		subscriber_set_live(sub);
		return;
	}
	/* The journal does not have what the feed says it released: not
	 * committed yet as seen from here. Look again shortly. */
	struct timeval tv = { .tv_sec = 0, .tv_usec = REPLAY_RETRY_MS * 1000 };

	log_debug(sink->who, "subscriber %s: the journal ends before seq %" PRIu64 "; retrying",
		  sub->ident, last_released);
	if (event_add(sub->source_ev, &tv) == 0)
		sub->source_scheduled = true;
	else
		subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_ERROR,
				 "cannot arm its journal timer");
}

void sink_replay_stats(const struct sink *sink, struct sink_stats *out)
{
	const struct subscriber *sub;
	uint64_t first_kept, last_released;

	out->journaled = sink_journaled(sink);
	out->replaying = sink->nreplaying;
	out->replayed_lines = sink->replayed_lines;
	out->max_seq_lag = 0;
	if (!out->journaled)
		return;
	sink->owner.replay_bounds(sink->owner.arg, &first_kept, &last_released);
	TAILQ_FOREACH(sub, &sink->subs, link)
		if (sub->source != SOURCE_WAITING && last_released > sub->pos &&
		    last_released - sub->pos > out->max_seq_lag)
			out->max_seq_lag = last_released - sub->pos;
}
