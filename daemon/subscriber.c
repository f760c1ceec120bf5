/*
 * subscriber.c: a sink's subscribers, their queues and filters, and the
 * slow-consumer policies.
 *
 * A subscriber's queue is a ring of references to shared lines (never
 * copies), bounded in bytes by the sink's `buffer`. Lines are written in
 * batches with writev(2) when the socket is writable. When a line does not
 * fit, the sink's policy decides:
 *   block       queue it anyway and make the feed stop reading until the
 *               queue is below the low watermark (nothing is lost; the bound
 *               is exceeded by at most one line);
 *   disconnect  send a final error line if the socket takes it, and close;
 *   drop        skip the line, count it, and once the queue is empty send
 *               one {"type":"missed"} line;
 *   journal     (journaled sinks) stop taking live lines and read the
 *               journal from the subscriber's position until caught up
 *               (sink_replay.c); without a journal, as disconnect.
 * A subscriber may send one JSON request line to narrow what it gets
 * (crdbfeedd(8), "SUBSCRIBING"), and on a journaled sink to start from a
 * position in the journal.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "sink_int.h"

#include "channel.h"
#include "defer.h"
#include "line_arena.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static void (*stdout_closed_hook)(void *);
static void *stdout_closed_arg;

void sink_set_stdout_closed_hook(void (*hook)(void *arg), void *arg)
{
	stdout_closed_hook = hook;
	stdout_closed_arg = arg;
}

static void sink_owner_progress(struct sink *sink)
{
	if (sink->owner.progress)
		sink->owner.progress(sink->owner.arg);
}

/* ---- subscribers ------------------------------------------------------- */

static void subscriber_free(void *ptr)
{
	struct subscriber *sub = ptr;

	request_filter_clear(&sub->filter);
	free(sub->request);
	free(sub->ring);
	free(sub);
}

static void queue_clear(struct subscriber *sub)
{
	while (sub->count) {
		line_unref(sub->ring[sub->head]);
		sub->head = (sub->head + 1) & (sub->ring_cap - 1);
		sub->count--;
	}
	sub->head_off = 0;
	sub->queued_bytes = 0;
}

/*
 * The one function that ends a subscriber. reason is logged at `level`;
 * the sink's owner hears about it (a blocked subscriber may have been the
 * one holding the feed or its checkpoint back).
 */
void subscriber_close(struct subscriber *sub, enum sub_close_cause cause,
		      enum log_level level, const char *reason)
{
	struct sink *sink = sub->sink;

	if (sub->state == SUB_CLOSED)
		return;
	log_msg(level, sink->who, "subscriber %s closed: %s", sub->ident, reason);
	if (cause == CLOSE_SLOW)
		sink->disconnected_slow++;
	else if (cause == CLOSE_OTHER)
		sink->disconnected_other++;
	if (sub->state == SUB_BLOCKED)
		sink->nblocked--;
	if (sub->source == SOURCE_JOURNAL)
		sink->nreplaying--;
	sub->state = SUB_CLOSED;
	if (sub->read_ev)
		event_free(sub->read_ev);
	if (sub->write_ev)
		event_free(sub->write_ev);
	if (sub->source_ev)
		event_free(sub->source_ev);
	sub->read_ev = sub->write_ev = sub->source_ev = NULL;
	sub->write_armed = false;
	queue_clear(sub);
	if (sub->is_stdout) {
		/* Gone by itself (EPIPE), not closed with its sink. */
		if (!sink->closed && stdout_closed_hook)
			stdout_closed_hook(stdout_closed_arg);
	} else {
		close(sub->fd);
	}
	sub->fd = -1;
	TAILQ_REMOVE(&sink->subs, sub, link);
	sink->nsubs--;
	defer_free(subscriber_free, sub);
	sink_owner_progress(sink);
}

/* Double the ring (rare: it keeps its size for the subscriber's life). */
static __attribute__((noinline)) int queue_grow(struct subscriber *sub)
{
	size_t ncap = sub->ring_cap ? sub->ring_cap * 2 : 64;
	struct line **ring = malloc(ncap * sizeof(*ring));

	if (!ring)
		return -1;
	for (size_t i = 0; i < sub->count; i++)
		ring[i] = sub->ring[(sub->head + i) & (sub->ring_cap - 1)];
	free(sub->ring);
	sub->ring = ring;
	sub->ring_cap = ncap;
	sub->head = 0;
	return 0;
}

/* The per-line, per-subscriber path: keep it short. */
static inline int queue_push(struct subscriber *sub, struct line *line)
{
	if (sub->count == sub->ring_cap && queue_grow(sub))
		return -1;
	sub->ring[(sub->head + sub->count) & (sub->ring_cap - 1)] = line_ref(line);
	sub->count++;
	sub->queued_bytes += line->len;
	return 0;
}

static void subscriber_flush(struct subscriber *sub);

/* Queue a line (already past the filter and the policy) and arrange for it
 * to be written. */
static inline void subscriber_queue(struct subscriber *sub, struct line *line)
{
	if (queue_push(sub, line)) {
		subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_ERROR, "out of memory queueing a line");
		return;
	}
	/* Normally the write waits for the sink's flush, once per loop pass
	 * or when the feed asks (one writev per batch, straight to the
	 * socket: its write event is armed only when the socket is full); a
	 * queue past half its bound is written at once, so that a burst
	 * decoded in one callback does not overflow a subscriber that reads
	 * fast. A subscriber waiting for its socket is written by its event. */
	if (sub->sync_write || sub->queued_bytes >= sub->sink->flush_at)
		subscriber_flush(sub);
	else if (!sub->write_armed && sub->write_ev && !sub->sink->flush_scheduled) {
		sub->sink->flush_scheduled = true;
		event_active(sub->sink->flush_ev, EV_TIMEOUT, 0);
	}
}

void subscriber_push(struct subscriber *sub, struct line *line)
{
	subscriber_queue(sub, line);
}

void subscriber_greet(struct subscriber *sub)
{
	struct sink *sink = sub->sink;
	struct line *line;

	if (!sink->owner.greeting)
		return;
	line = sink->owner.greeting(sink->owner.arg);
	if (line) {
		subscriber_queue(sub, line);
		line_unref(line);
	}
}

/* After the queue shrank: unblock, finish a drop episode, read on from the
 * journal. */
static void subscriber_drained(struct subscriber *sub)
{
	struct sink *sink = sub->sink;

	if (sub->state == SUB_BLOCKED && sub->queued_bytes <= sink_low_watermark(sink)) {
		sub->state = SUB_ACTIVE;
		sink->nblocked--;
		log_debug(sink->who, "subscriber %s drained; resuming", sub->ident);
	}
	if (sub->dropping && sub->count == 0) {
		struct line *line = line_new_missed(sink_owner_name(sink), sub->missed);

		log_info(sink->who, "subscriber %s caught up after missing %llu lines",
			 sub->ident, (unsigned long long)sub->missed);
		sub->dropping = false;
		sub->missed = 0;
		if (line) {
			subscriber_queue(sub, line);
			line_unref(line);
		}
	}
	if (sub->source == SOURCE_JOURNAL)
		subscriber_replay_next(sub);
}

/* Write as much of the queue as the socket takes, in batches of at most
 * WRITE_BATCH lines; lines whose bytes follow each other in memory (carved
 * one after another, line_arena.h) share one iovec. */
static void subscriber_flush(struct subscriber *sub)
{
	struct sink *sink = sub->sink;
	bool progressed = false;

	while (sub->count && sub->state != SUB_CLOSED) {
		struct iovec iov[WRITE_BATCH];
		size_t mask = sub->ring_cap - 1, total = 0, niov = 0, nlines;
		ssize_t n;

		for (nlines = 0; nlines < sub->count && nlines < WRITE_BATCH; nlines++) {
			struct line *line = sub->ring[(sub->head + nlines) & mask];
			size_t off = nlines == 0 ? sub->head_off : 0;

			niov = line_iov_add(iov, niov, line->data + off, line->len - off);
			total += line->len - off;
		}
		n = writev(sub->fd, iov, (int)niov);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (sub->sync_write)
					continue; /* a file cannot say EAGAIN; be safe */
				break;
			}
			char msg[128];

			snprintf(msg, sizeof(msg), "write: %s", strerror(errno));
			subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_INFO, msg);
			return;
		}
		progressed = true;
		sink->bytes_out += (uint64_t)n;
		if ((size_t)n == total) {
			/* The usual case: every line of the batch went out. */
			for (size_t i = 0; i < nlines; i++)
				line_unref(sub->ring[(sub->head + i) & mask]);
			sub->head = (sub->head + nlines) & mask;
			sub->count -= nlines;
			sub->queued_bytes -= total;
			sub->head_off = 0;
			sink->lines_out += (uint64_t)nlines;
			continue;
		}
		size_t left = (size_t)n;

		while (left && sub->count) {
			struct line *line = sub->ring[sub->head];
			size_t rest = line->len - sub->head_off;

			if (left < rest) {
				sub->head_off += left;
				sub->queued_bytes -= left;
				left = 0;
				break;
			}
			left -= rest;
			sub->queued_bytes -= rest;
			sink->lines_out++;
			sub->head_off = 0;
			sub->head = (sub->head + 1) & (sub->ring_cap - 1);
			sub->count--;
			line_unref(line);
		}
	}
	if (sub->state == SUB_CLOSED)
		return;
	if (sub->write_ev) {
		if (sub->count && !sub->write_armed)
			sub->write_armed = event_add(sub->write_ev, NULL) == 0;
		else if (!sub->count && sub->write_armed) {
			event_del(sub->write_ev);
			sub->write_armed = false;
		}
	}
	if (progressed) {
		subscriber_drained(sub);
		sink_owner_progress(sink);
	}
}

void sink_flush(struct sink *sink)
{
	struct subscriber *sub, *next;

	for (sub = TAILQ_FIRST(&sink->subs); sub; sub = next) {
		next = TAILQ_NEXT(sub, link);
		if (sub->count && !sub->write_armed && sub->write_ev)
			subscriber_flush(sub);
	}
}

void sink_on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct sink *sink = arg;

	sink->flush_scheduled = false;
	sink_flush(sink);
}

static void on_subscriber_writable(evutil_socket_t fd, short what, void *arg)
{
	struct subscriber *sub = arg;

	sub->write_armed = false; /* a one-shot event: it fired */
	subscriber_flush(sub);
}

/* Best effort: finish the line being written, then the error line, and
 * never wait for the socket. */
void subscriber_say_goodbye(struct subscriber *sub, const char *message)
{
	struct line *line = line_new_error(sink_owner_name(sub->sink), message);
	struct iovec iov[2];
	int niov = 0;

	if (!line)
		return;
	if (sub->count && sub->head_off) {
		struct line *head = sub->ring[sub->head];

		iov[niov].iov_base = head->data + sub->head_off;
		iov[niov].iov_len = head->len - sub->head_off;
		niov++;
	}
	iov[niov].iov_base = line->data;
	iov[niov].iov_len = line->len;
	niov++;
	if (writev(sub->fd, iov, niov) < 0) {
		/* The subscriber is too slow to hear it; closing says enough. */
	}
	line_unref(line);
}

bool subscriber_wants(const struct subscriber *sub, const struct line *line)
{
	switch (line->kind) {
	case LINE_RESOLVED:
		return sub->resolved;
	case LINE_NOTIFY:
		if (sub->filter.has_since &&
		    crdb_hlc_compare(line->updated, sub->filter.since) < 0)
			return false;
		for (size_t i = 0; i < sub->filter.nchannels; i++)
			if (strcmp(sub->filter.channels[i], line->table) == 0)
				return true;
		return false;
	case LINE_ROW:
		if (sub->filter.channels)
			return false;
		if (!(sub->filter.ops & REQUEST_OP_BIT(line->op)))
			return false;
		/* "since" holds for live rows too: a time in the future
		 * waits for it. */
		if (sub->filter.has_since && !crdb_hlc_is_zero(line->updated) &&
		    crdb_hlc_compare(line->updated, sub->filter.since) < 0)
			return false;
		if (!sub->filter.tables)
			return true;
		for (size_t i = 0; i < sub->filter.ntables; i++)
			if (strcmp(sub->filter.tables[i], line->table) == 0)
				return true;
		return false;
	default:
		return true;
	}
}

/* Does the filter pass every row, so that subscriber_wants need not be
 * asked for rows? */
static bool filter_takes_every_row(const struct request_filter *filter)
{
	return !filter->tables && !filter->channels && !filter->has_since &&
	       (filter->ops & REQUEST_OPS_ALL) == REQUEST_OPS_ALL;
}

static void subscriber_too_slow(struct subscriber *sub)
{
	char msg[160];

	snprintf(msg, sizeof(msg),
		 "too slow: %zu bytes queued, the sink's buffer is %zu bytes",
		 sub->queued_bytes, sub->sink->high);
	subscriber_say_goodbye(sub, msg);
	subscriber_close(sub, CLOSE_SLOW, LOG_LEVEL_WARNING, msg);
}

/* The position, the filter and the policy, for one subscriber and one
 * line. */
static void subscriber_offer(struct subscriber *sub, struct line *line)
{
	struct sink *sink = sub->sink;
	size_t high = sink->high;

	if (sub->source != SOURCE_LIVE) {
		/* Waiting or replaying: its rows come later, from the
		 * journal; the feed's state it gets on going live. */
		if (line->kind == LINE_STATE)
			sub->missed_state = true;
		return;
	}
	if (sink_journaled(sink)) {
		switch (subscriber_position(sub, line)) {
		case POS_OLD:
			return;
		case POS_AHEAD:
			subscriber_to_journal(sub, "missed a position");
			return;
		case POS_NEXT:
		case POS_NONE:
			break;
		}
	}
	if (!subscriber_wants(sub, line)) {
		subscriber_advance(sub, line);
		return;
	}
	if (sub->dropping) {
		subscriber_advance(sub, line);
		sub->missed++;
		sink->dropped++;
		return;
	}
	if (sub->queued_bytes + line->len <= high || sub->count == 0) {
		subscriber_advance(sub, line);
		subscriber_queue(sub, line);
		return;
	}
	switch (sink->cfg->policy) {
	case SLOW_POLICY_BLOCK:
		subscriber_advance(sub, line);
		subscriber_queue(sub, line);
		if (sub->state == SUB_ACTIVE) {
			sub->state = SUB_BLOCKED;
			sink->nblocked++;
			sink->blocked++;
			log_debug(sink->who, "subscriber %s is %zu bytes behind; pausing the feed",
				  sub->ident, sub->queued_bytes);
		}
		break;
	case SLOW_POLICY_DISCONNECT:
		subscriber_too_slow(sub);
		break;
	case SLOW_POLICY_JOURNAL:
		/* The line is not taken: the journal gives it later. */
		if (sink_journaled(sink))
			subscriber_to_journal(sub, "over its buffer");
		else
			subscriber_too_slow(sub);
		break;
	case SLOW_POLICY_DROP:
		subscriber_advance(sub, line);
		sink->drops++;
		sink->dropped++;
		sub->dropping = true;
		sub->missed = 1;
		log_warning(sink->who, "subscriber %s too slow (%zu bytes queued): dropping lines until it catches up (drop #%llu)",
			    sub->ident, sub->queued_bytes,
			    (unsigned long long)sink->drops);
		break;
	}
}

struct line *sink_notify_line(const struct sink *sink, const struct line *row)
{
	struct channel_note note;
	struct line *line;
	char errbuf[256];

	if (row->kind != LINE_ROW ||
	    channel_note_from_row(row->data, row->len, &note, errbuf,
				  sizeof(errbuf)) != 0)
		return NULL;
	line = line_new_notify(sink_owner_name(sink), &note, row);
	channel_note_clear(&note);
	return line;
}

void sink_offer(struct sink *sink, struct line *line)
{
	struct subscriber *sub, *next;
	struct line *notify = NULL;
	bool converted = false;

	if (sink->pg) {
		sink_pg_offer(sink, line);
		return;
	}
	if (sink->nats) {
		sink_nats_offer(sink);
		return;
	}
	if (line->kind != LINE_ROW) {
		for (sub = TAILQ_FIRST(&sink->subs); sub; sub = next) {
			next = TAILQ_NEXT(sub, link);
			subscriber_offer(sub, line);
		}
		return;
	}
	/* Rows, the common line: what does not depend on the subscriber is
	 * read once here. A live subscriber that takes every row, is not
	 * dropping, is under its bound (or empty) and, on a journaled sink,
	 * is at the row's position takes it as subscriber_offer would:
	 * advance, queue. Every other case takes subscriber_offer's path. */
	const uint64_t seq = line->seq;
	const size_t len = line->len, high = sink->high;
	const bool positioned = sink_journaled(sink);

	for (sub = TAILQ_FIRST(&sink->subs); sub; sub = next) {
		next = TAILQ_NEXT(sub, link);
		if (sub->takes_every_row && sub->source == SOURCE_LIVE &&
		    !sub->dropping &&
		    (!positioned || (seq && seq == sub->pos + 1)) &&
		    (sub->queued_bytes + len <= high || sub->count == 0)) {
			subscriber_advance(sub, line);
			subscriber_queue(sub, line);
			continue;
		}
		if (!sub->filter.channels) {
			subscriber_offer(sub, line);
			continue;
		}
		/* Once per line for all the channel subscribers; a row that
		 * is no notification they pass over. */
		if (!converted) {
			notify = sink_notify_line(sink, line);
			converted = true;
		}
		subscriber_offer(sub, notify ? notify : line);
	}
	if (notify)
		line_unref(notify);
}

bool sink_is_blocking(const struct sink *sink)
{
	return sink->cfg->policy == SLOW_POLICY_BLOCK && sink->nblocked > 0;
}

uint64_t sink_done_seq(const struct sink *sink, uint64_t feed_seq)
{
	const struct subscriber *sub;
	uint64_t done = feed_seq;

	if (sink->cfg->policy != SLOW_POLICY_BLOCK)
		return UINT64_MAX;
	TAILQ_FOREACH(sub, &sink->subs, link) {
		/* The first queued line with a position bounds what is done;
		 * lines without one (acks, missed) do not count. */
		for (size_t i = 0; i < sub->count; i++) {
			const struct line *line = sub->ring[(sub->head + i) & (sub->ring_cap - 1)];

			if (line->seq) {
				if (line->seq - 1 < done)
					done = line->seq - 1;
				break;
			}
		}
	}
	return done;
}

size_t sink_queued_bytes(const struct sink *sink)
{
	const struct subscriber *sub;
	size_t total = 0;

	TAILQ_FOREACH(sub, &sink->subs, link)
		total += sub->queued_bytes;
	return total;
}

/* ---- the request line --------------------------------------------------- */

/* The acknowledgement: {"v":1,"type":"subscribed","feed":F,"tables":..,
 * "ops":.. (or "channels":..),"resolved":..[,"after":N|,"since":HLC]} with
 * the filter now in force. */
static struct line *request_ack(const struct subscriber *sub)
{
	json_t *obj = json_object(), *tables, *ops;
	struct line *line;

	if (!obj)
		return NULL;
	tables = sub->filter.tables ? json_array() : json_null();
	ops = json_array();
	for (size_t i = 0; tables && i < sub->filter.ntables; i++)
		json_array_append_new(tables, json_string(sub->filter.tables[i]));
	for (unsigned op = 0; ops && request_op_name((crdb_op)op); op++)
		if (sub->filter.ops & REQUEST_OP_BIT(op))
			json_array_append_new(ops, json_string(request_op_name((crdb_op)op)));
	json_object_set_new(obj, "v", json_integer(LINE_FORMAT_VERSION));
	json_object_set_new(obj, "type", json_string("subscribed"));
	if (sink_owner_name(sub->sink))
		json_object_set_new(obj, "feed", json_string(sink_owner_name(sub->sink)));
	if (sub->filter.channels) {
		json_t *channels = json_array();

		for (size_t i = 0; channels && i < sub->filter.nchannels; i++)
			json_array_append_new(channels,
					      json_string(sub->filter.channels[i]));
		json_object_set_new(obj, "channels", channels);
		json_decref(tables);
		json_decref(ops);
	} else {
		json_object_set_new(obj, "tables", tables);
		json_object_set_new(obj, "ops", ops);
	}
	json_object_set_new(obj, "resolved", json_boolean(sub->resolved));
	if (sub->filter.has_after)
		json_object_set_new(obj, "after",
				    json_integer((json_int_t)sub->filter.after));
	if (sub->filter.has_since) {
		char since[CRDB_HLC_BUFSIZE];

		crdb_hlc_format(sub->filter.since, since);
		json_object_set_new(obj, "since", json_string(since));
	}
	line = line_new_json(LINE_SUBSCRIBED, obj);
	json_decref(obj);
	return line;
}

static void request_finish(struct subscriber *sub)
{
	char msg[256];
	struct line *line;
	struct request_filter filter;
	bool replay;
	uint64_t after = 0;
	int rc;

	sub->request_done = true;
	rc = request_parse(sub->request, sub->request_len, &filter, msg, sizeof(msg));
	free(sub->request);
	sub->request = NULL;
	if (rc == 0 && filter.channels && !sub->sink->owner.notify) {
		snprintf(msg, sizeof(msg), "\"channels\" needs a feed of kind notify; feed %s is of kind table",
			 sink_owner_name(sub->sink) ? sink_owner_name(sub->sink) : "?");
		request_filter_clear(&filter);
		rc = -1;
	}
	replay = rc == 0 && (filter.has_after || filter.has_since);
	if (replay && subscriber_replay_position(sub, &filter, &after, msg, sizeof(msg))) {
		request_filter_clear(&filter);
		rc = -1;
	}
	if (rc) {
		log_info(sub->sink->who, "subscriber %s sent a bad request: %s",
			 sub->ident, msg);
		subscriber_say_goodbye(sub, msg);
		subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_INFO, "bad request");
		return;
	}
	request_filter_clear(&sub->filter);
	sub->filter = filter;
	sub->takes_every_row = filter_takes_every_row(&filter);
	if (filter.has_resolved)
		sub->resolved = filter.resolved;
	log_info(sub->sink->who, "subscriber %s narrowed its subscription",
		 sub->ident);
	line = request_ack(sub);
	if (line) {
		subscriber_queue(sub, line);
		line_unref(line);
	}
	if (sub->state == SUB_CLOSED || sub->source != SOURCE_WAITING)
		return;
	if (replay)
		subscriber_replay_from(sub, after);
	else
		subscriber_go_live_now(sub);
}

static void on_subscriber_readable(evutil_socket_t fd, short what, void *arg)
{
	struct subscriber *sub = arg;
	char discard[4096];
	ssize_t n;

	if (sub->request_done) {
		n = read(fd, discard, sizeof(discard));
	} else {
		if (!sub->request && !(sub->request = malloc(REQUEST_BUF))) {
			subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_ERROR,
					 "out of memory reading its request");
			return;
		}
		n = read(fd, sub->request + sub->request_len,
			 REQUEST_BUF - sub->request_len);
	}
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		char msg[128];

		snprintf(msg, sizeof(msg), "read: %s", strerror(errno));
		subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_INFO, msg);
		return;
	}
	if (n == 0) {
		/* The client shut down its side (socat does at end of its
		 * input): keep sending; a write error will tell us it left. */
		event_del(sub->read_ev);
		if (!sub->request_done && sub->request_len)
			request_finish(sub);
		return;
	}
	if (sub->request_done) {
		/* One request line is all a subscriber says: a peer that keeps
		 * talking costs reads and is closed, never buffered. */
		sub->after_request += (size_t)n;
		if (sub->after_request > AFTER_REQUEST_MAX) {
			char msg[96];

			snprintf(msg, sizeof(msg), "sent more than %d bytes after its request line",
				 AFTER_REQUEST_MAX);
			subscriber_say_goodbye(sub, msg);
			subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_INFO, msg);
		}
		return;
	}
	char *nl = memchr(sub->request + sub->request_len, '\n', (size_t)n);

	sub->request_len += (size_t)n;
	if (nl) {
		sub->request_len = (size_t)(nl - sub->request);
		request_finish(sub);
	} else if (sub->request_len == REQUEST_BUF) {
		char msg[64];

		snprintf(msg, sizeof(msg), "request line longer than %d bytes", REQUEST_MAX);
		subscriber_say_goodbye(sub, msg);
		subscriber_close(sub, CLOSE_OTHER, LOG_LEVEL_INFO, msg);
	}
}

void subscriber_read_now(struct subscriber *sub)
{
	if (sub->state != SUB_CLOSED && !sub->request_done && !sub->is_stdout)
		on_subscriber_readable(sub->fd, EV_READ, sub);
}

/* A new subscriber on fd, which it owns from now on (except stdout).
 * cred: its peer's credentials, NULL when unknown. */
struct subscriber *subscriber_new(struct sink *sink, int fd,
				  bool is_stdout, const struct ucred *cred)
{
	struct subscriber *sub = calloc(1, sizeof(*sub));

	if (!sub)
		return NULL;
	sub->sink = sink;
	sub->fd = fd;
	sub->is_stdout = is_stdout;
	sub->filter.ops = REQUEST_OPS_ALL;
	sub->takes_every_row = true;
	sub->resolved = sink->cfg->resolved;
	sub->state = SUB_ACTIVE;
	sub->source = SOURCE_LIVE;
	if (is_stdout) {
		snprintf(sub->ident, sizeof(sub->ident), "stdout");
		sub->request_done = true;
	} else {
		if (cred)
			snprintf(sub->ident, sizeof(sub->ident), "pid=%ld uid=%ld fd=%d",
				 (long)cred->pid, (long)cred->uid, fd);
		else
			snprintf(sub->ident, sizeof(sub->ident), "fd=%d", fd);
		sub->read_ev = event_new(sink->base, fd, EV_READ | EV_PERSIST,
					 on_subscriber_readable, sub);
		if (!sub->read_ev || event_add(sub->read_ev, NULL)) {
			if (sub->read_ev)
				event_free(sub->read_ev);
			free(sub);
			return NULL;
		}
	}
	sub->write_ev = event_new(sink->base, fd, EV_WRITE, on_subscriber_writable, sub);
	if (!sub->write_ev || (sink_journaled(sink) && subscriber_replay_init(sub))) {
		if (sub->write_ev)
			event_free(sub->write_ev);
		if (sub->read_ev)
			event_free(sub->read_ev);
		free(sub);
		return NULL;
	}
	if (is_stdout) {
		/* Files and /dev/null cannot be polled: write them at once. */
		if (event_add(sub->write_ev, NULL)) {
			event_free(sub->write_ev);
			sub->write_ev = NULL;
			sub->sync_write = true;
		} else {
			event_del(sub->write_ev);
		}
	}
	TAILQ_INSERT_TAIL(&sink->subs, sub, link);
	sink->nsubs++;
	/* Say where the feed stands, so that "quiet" is not "broken". */
	subscriber_greet(sub);
	if (sink_journaled(sink) && sub->state != SUB_CLOSED)
		subscriber_await_request(sub);
	return sub;
}
