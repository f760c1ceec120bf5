/*
 * ordered.c: a feed's ordered delivery (ordered.h): the hold, the
 * sequence, the journal's group commit, the stall on a full journal and
 * its retry, retention, and replay for the sinks.
 *
 * A release goes in chunks of at most RELEASE_CHUNK rows: each chunk gets
 * the next sequence numbers, is appended to the journal and committed in
 * one transaction (one fsync) together with the checkpoint, and only then
 * published. The chunk that empties the window commits the resolved
 * timestamp too; the earlier ones keep the previous one, so a crash in the
 * middle of a large window resumes from before it, and the journal's
 * idents drop what was already released. Sequence numbers are handed out
 * once: a chunk whose commit failed keeps its numbers and lines and is
 * committed again, unchanged, when space returns. A busy sinkless feed's
 * release may wait for the rows already on its connection, so that the
 * windows of several resolved timestamps go in one commit
 * (ordered_resolved_deferred).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "ordered.h"

#include "clock.h"
#include "log.h"
#include "order.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RELEASE_CHUNK 4096      /* rows per commit within one window */
#define FIRST_CHUNK 256         /* a large window's first commit: its
				   first rows go out after a short release */
#define SMALL_WINDOW 2048       /* with at most this many rows held, a
				   window goes out in one commit: splitting
				   it would cost one more durable commit (two
				   syncs) to save a release of a few ms */
#define GROUP_COMMIT_MS 10      /* a deferred release waits at most this */
#define RETRY_MS 1000           /* a stalled commit is tried again */
#define TRIM_MS 10000           /* retention runs this often */

struct batch_row {
	struct line *line;      /* the sequenced line */
	size_t key_off;         /* its key: batch_keys + key_off */
	size_t key_len;
	bool late;
};

struct ordered {
	struct event_base *base;
	char *feed;
	char who[160];
	struct ordered_owner owner;
	struct journal *journal;
	char *journal_dir;      /* to reopen it after an error */
	struct journal_limits limits;
	bool reopen;            /* the last commit failed with an error
				   other than full: LMDB may refuse every
				   later transaction until reopened */
	struct order *order;

	uint64_t last_seq;      /* committed and published */
	crdb_hlc committed;     /* the journal's resolved timestamp */
	crdb_hlc target;        /* newest resolved received */
	uint64_t first_kept;    /* the oldest seq the journal holds */

	/* released rows waiting for their commit (one chunk) */
	struct batch_row *batch;
	size_t nbatch, batch_cap;
	char *batch_keys;       /* the batch's keys, end to end: one buffer
				   for the chunk instead of an allocation a
				   row */
	size_t keys_len, keys_cap;
	bool release_more;      /* the window is not empty yet */
	crdb_hlc chunk_upto;    /* the resolved timestamp the batch's commit
				   makes the checkpoint: the target its
				   release emptied the window up to (zero: a
				   chunk before the last, late rows) */
	bool release_failed;    /* the last release failed: a repeated
				   resolved timestamp tries again */

	bool stalled;
	char stall_reason[256];
	struct event *retry;
	struct event *trim;
	struct event *next_chunk; /* the window's next chunk, after the
				     sinks wrote the one committed */
	struct event *group_commit; /* a deferred release's deadline */
	uint64_t late;
};

static void on_retry(evutil_socket_t fd, short what, void *arg);
static void on_trim(evutil_socket_t fd, short what, void *arg);
static void on_next_chunk(evutil_socket_t fd, short what, void *arg);

static void arm(struct event *ev, int64_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	event_add(ev, &tv);
}

/* What retention must keep: every row the owner still needs. */
static uint64_t keep_after(const struct ordered *o)
{
	return o->owner.keep_after ? o->owner.keep_after(o->owner.arg) :
				     UINT64_MAX;
}

static void update_first_kept(struct ordered *o)
{
	struct journal_stats st;
	char errbuf[256];

	if (o->journal &&
	    journal_get_stats(o->journal, &st, errbuf, sizeof(errbuf)) == 0)
		o->first_kept = st.records ? st.oldest_seq : o->last_seq + 1;
}

static int seen_in_journal(void *arg, const char *table, size_t table_len,
			   const char *key, size_t key_len, crdb_hlc updated)
{
	struct ordered *o = arg;
	char errbuf[256];
	uint64_t seq;

	if (!o->journal)
		return -1;
	return journal_seen(o->journal, table, table_len, key, key_len,
			    updated, &seq, errbuf, sizeof(errbuf));
}

static int note_newest(const struct journal_item *item, void *arg)
{
	crdb_hlc *newest = arg;

	if (!item->is_mark && crdb_hlc_compare(item->row->updated, *newest) > 0)
		*newest = item->row->updated;
	return 0;
}

/*
 * The journal's last row is above its resolved timestamp when the process
 * went between two chunks of a window: the changefeed sends that window
 * again, and its rows up to the last one released must be dropped as
 * they come.
 */
static int note_partial_window(struct ordered *o, const struct journal_checkpoint *cp,
			       char *errbuf, size_t errlen)
{
	crdb_hlc newest = cp->resolved;

	if (cp->last_seq == 0 ||
	    journal_read(o->journal, cp->last_seq - 1, false, 2, note_newest,
			 &newest, errbuf, errlen) < 0)
		return cp->last_seq == 0 ? 0 : -1;
	if (crdb_hlc_compare(newest, cp->resolved) > 0)
		order_set_seen_upto(o->order, newest);
	return 0;
}

struct ordered *ordered_open(struct event_base *base, const char *state_dir,
			     const char *feed, const char *who,
			     const struct feed_config *cfg,
			     crdb_hlc stream_checkpoint, bool start_over,
			     const struct ordered_owner *owner,
			     char *errbuf, size_t errlen)
{
	struct ordered *o = calloc(1, sizeof(*o));
	struct journal_limits lim = {
		.max_age_ms = cfg->journal_retention_ms,
		.max_bytes = cfg->journal_max_size,
	};
	struct journal_checkpoint cp;
	char path[4096], hold_dir[4096];

	if (!o || !(o->feed = strdup(feed))) {
		snprintf(errbuf, errlen, "out of memory");
		goto fail;
	}
	o->base = base;
	o->owner = *owner;
	snprintf(o->who, sizeof(o->who), "%s", who);
	if (journal_path(state_dir, feed, path, sizeof(path)) < 0 ||
	    snprintf(hold_dir, sizeof(hold_dir), "%s/%s.hold", state_dir, feed) >=
	    (int)sizeof(hold_dir)) {
		snprintf(errbuf, errlen, "state_dir %.200s: path too long", state_dir);
		goto fail;
	}
	o->limits = lim;
	if (!(o->journal_dir = strdup(path))) {
		snprintf(errbuf, errlen, "out of memory");
		goto fail;
	}
	o->journal = journal_open(path, &lim, 0, errbuf, errlen);
	if (!o->journal ||
	    journal_get_checkpoint(o->journal, &cp, errbuf, errlen) < 0)
		goto fail;
	/* The feed ran with stream delivery after this journal's last
	 * commit: what it delivered then is not in the journal, so the
	 * journal starts over from the stream checkpoint (the sequence goes
	 * on: older positions get a gap). */
	if (start_over || crdb_hlc_compare(stream_checkpoint, cp.resolved) > 0) {
		char hlc[CRDB_HLC_BUFSIZE];

		if (journal_reset(o->journal, cp.last_seq + 1, errbuf, errlen) < 0 ||
		    (!crdb_hlc_is_zero(stream_checkpoint) &&
		     journal_commit(o->journal, stream_checkpoint, errbuf, errlen) < 0) ||
		    journal_get_checkpoint(o->journal, &cp, errbuf, errlen) < 0)
			goto fail;
		crdb_hlc_format(stream_checkpoint, hlc);
		log_notice(o->who, "delivery = ordered after stream delivery: a new journal starts after seq %" PRIu64 ", from checkpoint %s",
			   cp.last_seq, hlc);
	}
	o->last_seq = cp.last_seq;
	o->committed = cp.resolved;
	o->target = cp.resolved;
	o->order = order_new(&(struct order_limits){
				     .memory_budget = cfg->hold_memory,
				     .spill_dir = hold_dir,
				     /* A job feed's endpoint answers a
				      * batch, a relay acknowledges its
				      * messages, once its rows are on disk
				      * (ordered_sync). */
				     .durable = cfg->source != FEED_SOURCE_SINKLESS },
			     seen_in_journal, o, errbuf, errlen);
	if (!o->order)
		goto fail;
	order_set_released(o->order, cp.resolved);
	if (note_partial_window(o, &cp, errbuf, errlen) < 0)
		goto fail;
	o->retry = evtimer_new(base, on_retry, o);
	o->trim = evtimer_new(base, on_trim, o);
	o->next_chunk = event_new(base, -1, 0, on_next_chunk, o);
	o->group_commit = evtimer_new(base, on_next_chunk, o);
	if (!o->retry || !o->trim || !o->next_chunk || !o->group_commit) {
		snprintf(errbuf, errlen, "out of memory");
		goto fail;
	}
	update_first_kept(o);
	arm(o->trim, TRIM_MS);
	return o;
fail:
	ordered_close(o);
	return NULL;
}

static void batch_clear(struct ordered *o)
{
	for (size_t i = 0; i < o->nbatch; i++)
		line_unref(o->batch[i].line);
	o->nbatch = 0;
	o->keys_len = 0;
}

void ordered_close(struct ordered *o)
{
	if (!o)
		return;
	batch_clear(o);
	free(o->batch);
	free(o->batch_keys);
	if (o->retry)
		event_free(o->retry);
	if (o->trim)
		event_free(o->trim);
	if (o->next_chunk)
		event_free(o->next_chunk);
	if (o->group_commit)
		event_free(o->group_commit);
	order_free(o->order);
	journal_close(o->journal);
	free(o->journal_dir);
	free(o->feed);
	free(o);
}

crdb_hlc ordered_checkpoint(const struct ordered *o)
{
	return o->committed;
}

uint64_t ordered_last_seq(const struct ordered *o)
{
	return o->last_seq;
}

int ordered_sync(struct ordered *o, char *errbuf, size_t errlen)
{
	return order_sync(o->order, errbuf, errlen);
}

bool ordered_stalled(const struct ordered *o)
{
	return o->stalled;
}

struct journal *ordered_journal(struct ordered *o)
{
	return o->journal;
}

/* Give a released row the next number and queue it for the commit. */
static int batch_add(struct ordered *o, const char *row, size_t len,
		     crdb_op op, const char *table, size_t table_len,
		     crdb_hlc updated, const char *key, size_t key_len,
		     bool late, bool group_end)
{
	struct batch_row *b;

	if (o->nbatch == o->batch_cap) {
		size_t ncap = o->batch_cap ? o->batch_cap * 2 : 256;
		struct batch_row *grown = realloc(o->batch, ncap * sizeof(*grown));

		if (!grown)
			return -1;
		o->batch = grown;
		o->batch_cap = ncap;
	}
	if (!o->batch_keys || key_len > o->keys_cap - o->keys_len) {
		size_t ncap = o->keys_cap ? o->keys_cap : 4096;
		char *grown;

		while (key_len > ncap - o->keys_len)
			ncap *= 2;
		if (!(grown = realloc(o->batch_keys, ncap)))
			return -1;
		o->batch_keys = grown;
		o->keys_cap = ncap;
	}
	b = &o->batch[o->nbatch];
	b->line = line_new_sequenced(row, len, op, table, table_len, updated,
				     o->last_seq + o->nbatch + 1, late, group_end);
	if (!b->line)
		return -1;
	if (key_len)
		memcpy(o->batch_keys + o->keys_len, key, key_len);
	b->key_off = o->keys_len;
	b->key_len = key_len;
	o->keys_len += key_len;
	b->late = late;
	o->nbatch++;
	return 0;
}

/*
 * The end of a group whose last row was not admitted goes to the row
 * before it, when that row is still in the batch (a group split across
 * chunks may have its earlier rows committed already: then it has none).
 */
static int move_group_end(struct ordered *o, crdb_hlc updated)
{
	static const char flag[] = ",\"group_end\":true}\n";
	struct batch_row *b;
	struct line *old, *line;
	char *text;
	size_t len;

	if (o->nbatch == 0)
		return 0;
	b = &o->batch[o->nbatch - 1];
	old = b->line;
	if (b->late || crdb_hlc_compare(old->updated, updated) != 0 ||
	    old->len < 2)
		return 0;
	len = old->len - 2 + sizeof(flag) - 1;
	if (!(text = malloc(len)))
		return -1;
	memcpy(text, old->data, old->len - 2);
	memcpy(text + old->len - 2, flag, sizeof(flag) - 1);
	line = line_new_bytes(LINE_ROW, old->op, old->table,
			      old->table ? strlen(old->table) : 0, text, len);
	free(text);
	if (!line)
		return -1;
	line->seq = old->seq;
	line->updated = old->updated;
	b->line = line;
	line_unref(old);
	return 0;
}

static int on_release(void *arg, const struct order_row *row, bool group_end)
{
	struct ordered *o = arg;

	if (o->owner.admit && !o->owner.admit(o->owner.arg, row))
		return group_end ? move_group_end(o, row->updated) : 0;
	return batch_add(o, row->line, row->line_len, row->op, row->table,
			 row->table_len, row->updated, row->key, row->key_len,
			 false, group_end);
}

static void set_stalled(struct ordered *o, bool stalled, const char *why)
{
	if (o->stalled == stalled)
		return;
	o->stalled = stalled;
	if (stalled) {
		snprintf(o->stall_reason, sizeof(o->stall_reason), "%s", why);
		log_error(o->who, "journal commit failed, holding %zu released rows and not reading until it works (retrying every %d ms): %s",
			  o->nbatch, RETRY_MS, why);
		arm(o->retry, RETRY_MS);
	} else {
		log_notice(o->who, "journal commits work again (seq %" PRIu64 ")",
			   o->last_seq);
		o->stall_reason[0] = '\0';
	}
	if (o->owner.stalled)
		o->owner.stalled(o->owner.arg, stalled, why);
}

/*
 * Append the batch and commit it with resolved (zero: the checkpoint
 * stays). 0, or -1 when the journal could not take it (then the batch is
 * kept, numbers and all, for the retry).
 */
static int commit_batch(struct ordered *o, crdb_hlc resolved, char *errbuf,
			size_t errlen)
{
	int rc = JOURNAL_OK;

	if (!o->journal) {
		snprintf(errbuf, errlen, "the journal is not open");
		set_stalled(o, true, errbuf);
		return -1;
	}
	for (size_t i = 0; i < o->nbatch && rc == JOURNAL_OK; i++) {
		const struct batch_row *b = &o->batch[i];
		struct journal_row row = {
			.seq = b->line->seq,
			.updated = b->line->updated,
			.op = b->line->op,
			.late = b->late,
			.table = b->line->table,
			.table_len = b->line->table ? strlen(b->line->table) : 0,
			.key = o->batch_keys + b->key_off,
			.key_len = b->key_len,
			.line = b->line->data,
			.line_len = b->line->len,
		};

		rc = journal_append(o->journal, &row, errbuf, errlen);
	}
	if (rc == JOURNAL_OK)
		rc = journal_commit(o->journal, resolved, errbuf, errlen);
	else
		journal_abort(o->journal);
	if (rc == JOURNAL_FULL) {
		uint64_t deleted = 0;
		char trim_err[256];

		/* Retention may make room at once. */
		journal_trim(o->journal, clock_wall_ms(), keep_after(o), &deleted,
			     trim_err, sizeof(trim_err));
	}
	if (rc != JOURNAL_OK) {
		o->reopen = rc == JOURNAL_ERROR;
		set_stalled(o, true, errbuf);
		return -1;
	}
	/* A durable hold lets go of the released rows only now that the
	 * journal has them; failing here leaves them in both, and a restart
	 * drops them as released (order.h). */
	if (order_sync(o->order, errbuf, errlen) < 0)
		log_warning(o->who, "%s", errbuf);
	for (size_t i = 0; i < o->nbatch; i++) {
		struct line *line = o->batch[i].line;

		o->batch[i].line = NULL;
		o->last_seq = line->seq;
		o->owner.publish(o->owner.arg, line);
	}
	o->nbatch = 0;
	o->keys_len = 0;
	if (!crdb_hlc_is_zero(resolved) &&
	    crdb_hlc_compare(resolved, o->committed) > 0) {
		o->committed = resolved;
		if (o->owner.committed)
			o->owner.committed(o->owner.arg, resolved);
	}
	set_stalled(o, false, NULL);
	return 0;
}

/*
 * Commit the batch with the resolved timestamp its release reached, if it
 * emptied the window, then publish that timestamp's resolved line. 0, or
 * -1 stalled (the batch and its timestamp kept for the retry).
 */
static int commit_chunk(struct ordered *o, char *errbuf, size_t errlen)
{
	crdb_hlc upto = o->chunk_upto;
	struct line *line;

	if (commit_batch(o, upto, errbuf, errlen) < 0)
		return -1;
	o->chunk_upto = (crdb_hlc){ 0, 0 };
	if (crdb_hlc_is_zero(upto))
		return 0;
	line = line_new_resolved_seq(o->feed, upto, o->last_seq);
	if (line)
		o->owner.publish(o->owner.arg, line);
	return 0;
}

/* A release from the event loop failed: the owner hears of it as it would
 * from ordered_resolved. */
static void report_failure(struct ordered *o, const char *why)
{
	if (o->owner.failed)
		o->owner.failed(o->owner.arg, why);
	else
		log_error(o->who, "releasing held rows: %s", why);
}

/*
 * Release and commit one chunk of the window up to the newest resolved
 * timestamp. A window with more after it goes on from the event loop, so
 * that the sinks write each committed chunk before the next is released
 * (rows early in a large window do not wait for all of it); the first
 * chunk of a large window is small for the same reason.
 */
static int flush(struct ordered *o, char *errbuf, size_t errlen)
{
	/* A deferred release goes now; it waited for throughput, so its
	 * first chunk is not cut short for latency. */
	bool deferred = ordered_release_deferred(o);

	event_del(o->group_commit);
	if (o->nbatch == 0 && crdb_hlc_compare(o->target, o->committed) > 0) {
		bool more = false;
		size_t max_rows = RELEASE_CHUNK;

		if (!o->release_more && !deferred) {
			struct order_stats held;

			order_get_stats(o->order, &held);
			if (held.held_rows > SMALL_WINDOW)
				max_rows = FIRST_CHUNK;
		}
		long n = order_release(o->order, o->target, max_rows,
				       on_release, o, &more, errbuf, errlen);

		o->release_failed = n < 0;
		if (n < 0)
			return -1;
		o->release_more = more;
		o->chunk_upto = more ? (crdb_hlc){ 0, 0 } : o->target;
	}
	if ((o->nbatch > 0 || !crdb_hlc_is_zero(o->chunk_upto)) &&
	    commit_chunk(o, errbuf, errlen) < 0)
		return 0; /* stalled: the retry goes on */
	/* The window's next chunk, or the newer window a batch left from a
	 * failed release kept waiting. */
	if (crdb_hlc_compare(o->target, o->committed) > 0)
		event_active(o->next_chunk, EV_TIMEOUT, 0);
	return 0;
}

static void on_next_chunk(evutil_socket_t fd, short what, void *arg)
{
	struct ordered *o = arg;
	char errbuf[256];

	(void)fd, (void)what;
	if (o->stalled)
		return; /* the retry goes on from where the stall left it */
	if (flush(o, errbuf, sizeof(errbuf)) < 0)
		report_failure(o, errbuf);
}

enum ordered_row_result ordered_row(struct ordered *o, const struct line *line,
				    const char *key, size_t key_len,
				    char *errbuf, size_t errlen)
{
	struct order_row row = {
		.updated = line->updated,
		.op = line->op,
		.table = line->table ? line->table : "",
		.table_len = line->table ? strlen(line->table) : 0,
		.key = key,
		.key_len = key_len,
		.line = line->data,
		.line_len = line->len,
	};

	if (crdb_hlc_is_zero(line->updated)) {
		snprintf(errbuf, errlen, "a row without its updated timestamp (delivery = ordered needs it)");
		return ORDERED_ERROR;
	}
	switch (order_add(o->order, &row, errbuf, errlen)) {
	case ORDER_HELD:
		return ORDERED_HELD;
	case ORDER_DUPLICATE:
		return ORDERED_DUPLICATE;
	case ORDER_LATE:
		break;
	case ORDER_ERROR:
	default:
		return ORDERED_ERROR;
	}
	/* Never dropped: delivered now, on its own, flagged (crdbfeedd(8),
	 * DELIVERY GUARANTEES); unless the owner refuses it. */
	if (o->owner.admit && !o->owner.admit(o->owner.arg, &row))
		return ORDERED_LATE;
	o->late++;
	if (batch_add(o, row.line, row.line_len, row.op, row.table,
		      row.table_len, row.updated, key, key_len, true, true) < 0) {
		snprintf(errbuf, errlen, "out of memory");
		return ORDERED_ERROR;
	}
	if (!o->stalled)
		commit_batch(o, (crdb_hlc){ 0, 0 }, errbuf, errlen);
	return ORDERED_LATE;
}

/* A resolved timestamp becomes the target: whether a release may follow
 * now (not a repeat, unless the last release failed; not stalled: the
 * retry goes on by itself). */
static bool take_target(struct ordered *o, crdb_hlc resolved)
{
	if (crdb_hlc_compare(resolved, o->target) <= 0 && !o->release_failed)
		return false; /* a repeat after a reconnect */
	if (crdb_hlc_compare(resolved, o->target) > 0)
		o->target = resolved;
	return !o->stalled;
}

int ordered_resolved(struct ordered *o, crdb_hlc resolved, const char *feed,
		     char *errbuf, size_t errlen)
{
	return take_target(o, resolved) ? flush(o, errbuf, errlen) : 0;
}

/* Whether the hold has a chunk's worth of rows: a deferred release
 * would gain nothing by waiting longer. */
static bool hold_has_chunk(const struct ordered *o)
{
	struct order_stats held;

	order_get_stats(o->order, &held);
	return held.held_rows >= RELEASE_CHUNK;
}

int ordered_resolved_deferred(struct ordered *o, crdb_hlc resolved,
			      char *errbuf, size_t errlen)
{
	if (!take_target(o, resolved))
		return 0;
	if (hold_has_chunk(o))
		return flush(o, errbuf, errlen);
	if (!ordered_release_deferred(o))
		arm(o->group_commit, GROUP_COMMIT_MS);
	return 0;
}

bool ordered_release_deferred(const struct ordered *o)
{
	return event_pending(o->group_commit, EV_TIMEOUT, NULL);
}

int ordered_input_read(struct ordered *o, bool more_waiting, char *errbuf,
		       size_t errlen)
{
	if (!ordered_release_deferred(o) || (more_waiting && !hold_has_chunk(o)))
		return 0;
	return flush(o, errbuf, errlen);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct ordered *o = arg;
	char errbuf[256];

	if (!o->stalled)
		return;
	/* After an error other than a full map or disk (an I/O error, or
	 * LMDB's MDB_PANIC after a failed meta write) only a new handle can
	 * commit again; what was committed is still there. */
	if (o->reopen) {
		struct journal *j;

		journal_close(o->journal);
		o->journal = NULL;
		j = journal_open(o->journal_dir, &o->limits, 0, errbuf, sizeof(errbuf));
		if (!j) {
			log_error(o->who, "reopening the journal: %s", errbuf);
			arm(o->retry, RETRY_MS);
			return;
		}
		o->journal = j;
		o->reopen = false;
	}
	/* The stalled batch goes in with the timestamp its own release
	 * reached, not the target, which may have moved on during the stall
	 * past rows still held. */
	if (commit_chunk(o, errbuf, sizeof(errbuf)) < 0) {
		arm(o->retry, RETRY_MS);
		return;
	}
	if (flush(o, errbuf, sizeof(errbuf)) < 0)
		report_failure(o, errbuf);
}

static void on_trim(evutil_socket_t fd, short what, void *arg)
{
	struct ordered *o = arg;
	uint64_t deleted = 0;
	char errbuf[256];

	if (!o->journal)
		;
	else if (journal_trim(o->journal, clock_wall_ms(), keep_after(o), &deleted,
			      errbuf, sizeof(errbuf)) < 0)
		log_warning(o->who, "journal retention: %s", errbuf);
	else if (deleted)
		log_debug(o->who, "journal retention removed %" PRIu64 " rows", deleted);
	update_first_kept(o);
	arm(o->trim, TRIM_MS);
}

void ordered_get_stats(struct ordered *o, struct feed_stats *out)
{
	struct order_stats os;
	struct journal_stats js;
	char errbuf[256];

	order_get_stats(o->order, &os);
	out->ordered = true;
	out->held_rows = os.held_rows;
	out->held_bytes = os.held_bytes;
	out->spilled_rows = os.spilled_rows;
	out->duplicates += os.duplicates;
	out->late_rows = o->late;
	out->released_seq = o->last_seq;
	out->journal_stalled = o->stalled;
	if (o->journal &&
	    journal_get_stats(o->journal, &js, errbuf, sizeof(errbuf)) == 0) {
		out->journal_records = js.records;
		out->journal_bytes = js.bytes;
		out->journal_file_bytes = js.file_bytes;
		out->journal_oldest_seq = js.oldest_seq;
		out->journal_newest_seq = js.newest_seq;
		out->journal_oldest_updated = js.oldest_updated;
		out->journal_newest_updated = js.newest_updated;
		out->journal_commits = js.commits;
		out->journal_commit_errors = js.commit_errors;
	}
}

uint32_t ordered_epoch(struct ordered *o)
{
	struct journal_checkpoint cp;
	char errbuf[256];

	if (!o->journal ||
	    journal_get_checkpoint(o->journal, &cp, errbuf, sizeof(errbuf)))
		return 0;
	return cp.epoch;
}

/* ---- replay ---------------------------------------------------------------- */

struct replay_ctx {
	const char *feed;
	void (*fn)(struct line *line, void *fnarg);
	void *fnarg;
};

static int replay_item(const struct journal_item *item, void *arg)
{
	struct replay_ctx *ctx = arg;
	struct line *line;

	if (item->is_mark) {
		line = line_new_resolved_seq(ctx->feed, item->resolved, item->mark_seq);
	} else {
		const struct journal_row *row = item->row;

		line = line_new_bytes(LINE_ROW, row->op, row->table, row->table_len,
				      row->line, row->line_len);
		if (line) {
			line->seq = row->seq;
			line->updated = row->updated;
		}
	}
	if (!line)
		return 1; /* out of memory: the reader comes back later */
	ctx->fn(line, ctx->fnarg);
	return 0;
}

int ordered_replay_read(struct ordered *o, const char *feed, uint64_t after,
			size_t max, void (*fn)(struct line *line, void *fnarg),
			void *fnarg, char *errbuf, size_t errlen)
{
	struct replay_ctx ctx = { feed, fn, fnarg };

	if (!o->journal) {
		snprintf(errbuf, errlen, "the journal is not open");
		return -1;
	}
	return journal_read(o->journal, after, false, max, replay_item, &ctx,
			    errbuf, errlen);
}

int ordered_replay_seek(struct ordered *o, crdb_hlc since, uint64_t *after,
			char *errbuf, size_t errlen)
{
	if (!o->journal) {
		snprintf(errbuf, errlen, "the journal is not open");
		return -1;
	}
	return journal_seek_time(o->journal, since, after, errbuf, errlen);
}

void ordered_replay_bounds(struct ordered *o, uint64_t *first_kept,
			   uint64_t *last_released)
{
	*first_kept = o->first_kept ? o->first_kept : 1;
	*last_released = o->last_seq;
}
