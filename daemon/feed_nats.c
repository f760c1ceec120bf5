/*
 * feed_nats.c: a relay's source (source = nats). A JetStream durable pull
 * consumer (nats_fetch.h, on its own thread) delivers what another
 * crdbfeedd's nats sink published for feed nats_feed, in stream order. A
 * row message becomes a row line of this feed (line_fields.h: the
 * publisher's name and "seq" tail dropped) held by the same ordered
 * delivery as a sinkless feed's; a resolved message releases them when it
 * is above every resolved timestamp seen (two publishers' interleave). A
 * batch is acknowledged only once its rows are durable in the hold
 * (ordered_sync): what the daemon had not acknowledged when it died comes
 * again and is recognised by the hold or the journal (ORDERED_DUPLICATE).
 * A message that is not a row or resolved line is logged with its stream
 * sequence, counted, acknowledged and passed over: it never wedges the
 * feed. Subscribers get this feed's own contiguous seq.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "feed_int.h"

#include "backoff.h"
#include "clock.h"
#include "line_fields.h"
#include "log.h"
#include "nats_conn.h"
#include "nats_fetch.h"
#include "nats_subject.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAKE_MAX 256            /* messages taken at once */
#define TURN_MAX 4096           /* messages per loop turn, then yield */
#define RETRY_MIN_MS 200        /* the hold or journal refused: again */
#define RETRY_MAX_MS 5000

struct feed_nats {
	struct feed *feed;
	struct nats_fetch *fetch;
	char stream[256];
	char subjects[NATS_SUBJECT_MAX];
	char durable[256];

	/* Taken from the consumer, not yet done (an error stops a batch
	 * part-way: the rest is tried again by the retry timer). */
	struct nats_fetch_msg *stash[TAKE_MAX];
	size_t nstash, stash_at;
	uint64_t done_seq;      /* the newest message handled */
	uint64_t acked_seq;     /* ... and acknowledged */
	bool unsynced;          /* rows held since the last ordered_sync */
	bool failing;           /* the last attempt failed (log once) */

	struct event *more;     /* the next turn's take */
	struct event *retry;
	int64_t retry_ms;

	/* counters kept across consumers (pause, reload) */
	struct nats_fetch_stats before;
	uint64_t duplicates, ignored_resolved, malformed;
	enum nats_fetch_state state;
};

static const char *fetch_state_name(enum nats_fetch_state state)
{
	switch (state) {
	case NATS_FETCH_READY: return "ready";
	case NATS_FETCH_DOWN: return "down";
	case NATS_FETCH_FAILED: return "failed";
	case NATS_FETCH_CONNECTING: break;
	}
	return "connecting";
}

/* ---- messages ------------------------------------------------------------- */

/* Logged with its stream sequence, counted; acknowledged with its batch. */
static void malformed(struct feed_nats *fn, const struct nats_fetch_msg *m,
		      const char *why)
{
	fn->malformed++;
	fn->feed->stats.bad_rows++;
	log_warning(fn->feed->who, "stream %s seq %" PRIu64 " (%s): not a row or resolved line of feed %s, skipped: %s",
		    fn->stream, m->stream_seq, m->subject ? m->subject : "?",
		    fn->feed->cfg->nats_feed, why);
}

/* A resolved message's subject ends in ._resolved. */
static bool is_resolved(const struct nats_fetch_msg *m)
{
	size_t len = m->subject ? strlen(m->subject) : 0;
	size_t tail = strlen("." NATS_SUBJECT_RESOLVED);

	return len > tail && strcmp(m->subject + len - tail,
				    "." NATS_SUBJECT_RESOLVED) == 0;
}

/* The table's name from its JSON string as written (escapes resolved). */
static char *table_name(const struct line_row_parts *p, size_t *len)
{
	char *name;

	if (!memchr(p->table, '\\', p->table_len)) {
		name = malloc(p->table_len + 1);
		if (name) {
			memcpy(name, p->table, p->table_len);
			name[p->table_len] = '\0';
			*len = p->table_len;
		}
		return name;
	}
	/* line_row_split checked the string: its quotes surround it. */
	json_t *s = json_loadb(p->table - 1, p->table_len + 2,
			       JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	name = s && json_is_string(s) ? strdup(json_string_value(s)) : NULL;
	if (name)
		*len = json_string_length(s);
	json_decref(s);
	return name;
}

/* 1 handled (held, a duplicate, malformed), 0 not now (errbuf: the hold
 * refused it or memory ran out; the message is tried again). */
static int take_row(struct feed_nats *fn, const struct nats_fetch_msg *m,
		    char *errbuf, size_t errlen)
{
	struct feed *feed = fn->feed;
	struct line_row_parts p;
	char why[300];
	crdb_hlc updated;
	size_t table_len = 0;
	char *table;
	struct line *line;
	int rc = 1;

	if (line_row_split(m->payload, m->payload_len, &p, why, sizeof(why)) < 0) {
		malformed(fn, m, why);
		return 1;
	}
	if (!p.updated ? !m->updated || crdb_hlc_parse(m->updated, strlen(m->updated),
							&updated, NULL) < 0 :
	    crdb_hlc_parse(p.updated, p.updated_len, &updated, NULL) < 0) {
		malformed(fn, m, "no valid updated timestamp (ordered delivery sorts by it)");
		return 1;
	}
	table = table_name(&p, &table_len);
	if (!table) {
		snprintf(errbuf, errlen, "out of memory");
		return 0;
	}
	if (strlen(table) != table_len) {
		free(table);
		malformed(fn, m, "a NUL byte in the table name");
		return 1;
	}
	line = line_new_row_body(feed->name, p.body, p.body_len, p.op, table,
				 table_len, updated);
	free(table);
	if (!line) {
		snprintf(errbuf, errlen, "out of memory");
		return 0;
	}
	feed->stats.rows++;
	feed->stats.bytes_in += m->payload_len;
	feed->last_row_mono = clock_mono_ms();
	feed_note_row_updated(feed, updated);
	switch (ordered_row(feed->ordered, line, p.key, p.key_len, errbuf,
			    errlen)) {
	case ORDERED_HELD:
		fn->unsynced = true;
		break;
	case ORDERED_DUPLICATE:
		fn->duplicates++;
		break;
	case ORDERED_LATE: {
		char hlc[CRDB_HLC_BUFSIZE];

		crdb_hlc_format(updated, hlc);
		log_ctx_msg(LOG_LEVEL_WARNING,
			    &(struct log_ctx){ .feed = feed->name, .table = line->table },
			    "late row (stream seq %" PRIu64 "): updated %s is below the released resolved timestamp; delivered flagged late",
			    m->stream_seq, hlc);
		break;
	}
	case ORDERED_ERROR:
	default:
		feed->stats.rows--;
		feed->stats.bytes_in -= m->payload_len;
		rc = 0;
		break;
	}
	line_unref(line);
	return rc;
}

/* The held rows on disk: only then may their messages be acknowledged. */
static int sync_held(struct feed_nats *fn, char *errbuf, size_t errlen)
{
	if (!fn->unsynced)
		return 0;
	if (ordered_sync(fn->feed->ordered, errbuf, errlen) < 0)
		return -1;
	fn->unsynced = false;
	return 0;
}

/* 1 handled, 0 not now (errbuf). */
static int take_resolved(struct feed_nats *fn, const struct nats_fetch_msg *m,
			 char *errbuf, size_t errlen)
{
	struct feed *feed = fn->feed;
	json_t *obj = json_loadb(m->payload, m->payload_len, 0, NULL);
	const char *type = json_string_value(json_object_get(obj, "type"));
	const char *text = json_string_value(json_object_get(obj, "resolved"));
	crdb_hlc resolved;
	int bad = !type || strcmp(type, "resolved") != 0 || !text ||
		  crdb_hlc_parse(text, strlen(text), &resolved, NULL) < 0;

	json_decref(obj);
	if (bad) {
		malformed(fn, m, "not a resolved line with a \"resolved\" timestamp");
		return 1;
	}
	feed->stats.resolved++;
	/* Two publishers' resolved timestamps interleave; a redelivered
	 * one was released already. */
	if (crdb_hlc_compare(resolved, feed->last_resolved) <= 0) {
		fn->ignored_resolved++;
		return 1;
	}
	if (sync_held(fn, errbuf, errlen) < 0 ||
	    ordered_resolved(feed->ordered, resolved, feed->name, errbuf,
			     errlen) < 0) {
		feed->stats.resolved--;
		return 0;
	}
	feed->last_resolved = resolved;
	feed->last_resolved_mono = clock_mono_ms();
	feed->resolved_advanced_mono = feed->last_resolved_mono;
	feed->rows_updated_first = (crdb_hlc){ 0, 0 };
	feed->rows_updated_varied = false;
	return 1;
}

/* ---- batches -------------------------------------------------------------- */

static void arm_ms(struct event *ev, int64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)((ms % 1000) * 1000) };

	event_add(ev, &tv);
}

/* The hold or the journal refused: the rest of the stash waits. */
static void retry_later(struct feed_nats *fn, const char *why)
{
	char msg[400];
	int64_t delay = backoff_next(&fn->retry_ms, RETRY_MIN_MS, RETRY_MAX_MS,
				     (uint64_t)random());

	snprintf(msg, sizeof(msg), "cannot hold relayed rows: %s", why);
	feed_note_error(fn->feed, msg);
	if (!fn->failing)
		log_error(fn->feed->who, "%s; trying again (%" PRId64 " ms)", msg,
			  delay);
	fn->failing = true;
	arm_ms(fn->retry, delay);
}

/* The stash handled as far as it goes; then its rows made durable and
 * its messages acknowledged. 0, or -1 (retry_later ran). */
static int take_stash(struct feed_nats *fn)
{
	char errbuf[300];

	while (fn->stash_at < fn->nstash) {
		struct nats_fetch_msg *m = fn->stash[fn->stash_at];
		int done = is_resolved(m) ? take_resolved(fn, m, errbuf, sizeof(errbuf)) :
					    take_row(fn, m, errbuf, sizeof(errbuf));

		if (!done)
			break;
		fn->done_seq = m->stream_seq;
		nats_fetch_msg_free(m);
		fn->stash[fn->stash_at++] = NULL;
	}
	if (fn->stash_at < fn->nstash) {
		char ignored[300];

		/* What was handled before it is acknowledged all the same. */
		if (sync_held(fn, ignored, sizeof(ignored)) == 0 &&
		    fn->done_seq > fn->acked_seq) {
			nats_fetch_ack_upto(fn->fetch, fn->done_seq);
			fn->acked_seq = fn->done_seq;
		}
		retry_later(fn, errbuf);
		return -1;
	}
	fn->nstash = fn->stash_at = 0;
	if (sync_held(fn, errbuf, sizeof(errbuf)) < 0) {
		retry_later(fn, errbuf);
		return -1;
	}
	if (fn->done_seq > fn->acked_seq) {
		nats_fetch_ack_upto(fn->fetch, fn->done_seq);
		fn->acked_seq = fn->done_seq;
	}
	if (fn->failing)
		log_notice(fn->feed->who, "relayed rows held again");
	fn->failing = false;
	fn->retry_ms = 0;
	return 0;
}

/* Take and handle what waits, while no sink or full journal blocks the
 * feed, at most TURN_MAX messages per loop turn. */
static void take_more(struct feed_nats *fn)
{
	struct feed *feed = fn->feed;
	size_t turn = 0;

	if (!fn->fetch || !feed->ordered || evtimer_pending(fn->retry, NULL))
		return;
	while (turn < TURN_MAX) {
		if (feed_blocked(feed)) {
			/* feed_on_progress calls back once it clears. */
			feed->blocked = true;
			return;
		}
		if (fn->stash_at == fn->nstash) {
			fn->nstash = nats_fetch_take(fn->fetch, fn->stash, TAKE_MAX);
			fn->stash_at = 0;
			if (fn->nstash == 0)
				return;
			turn += fn->nstash;
		}
		if (take_stash(fn) < 0)
			return;
	}
	event_active(fn->more, EV_TIMEOUT, 0);
}

static void on_more(evutil_socket_t fd, short what, void *arg)
{
	take_more(arg);
}

/* ---- the consumer --------------------------------------------------------- */

static void on_fetch_ready(void *arg)
{
	take_more(arg);
}

static void on_fetch_state(void *arg, enum nats_fetch_state state,
			   const char *why)
{
	struct feed_nats *fn = arg;
	struct feed *feed = fn->feed;
	char msg[400];

	fn->state = state;
	if (feed->state == FEED_PAUSED || feed->state == FEED_FAILED ||
	    feed->state == FEED_STOPPING || feed->state == FEED_STOPPED)
		return;
	switch (state) {
	case NATS_FETCH_READY:
		feed_set_state(feed, FEED_STREAMING, NULL);
		take_more(fn);
		break;
	case NATS_FETCH_CONNECTING:
		if (feed->state != FEED_CONNECTING)
			feed_set_state(feed, FEED_CONNECTING, why);
		break;
	case NATS_FETCH_DOWN:
	case NATS_FETCH_FAILED:
		/* The consumer's thread retries by itself, with backoff. */
		snprintf(msg, sizeof(msg), "nats %s: %s",
			 state == NATS_FETCH_DOWN ? "connection lost" : "consumer unusable",
			 why ? why : "no reason given");
		feed->stats.reconnects[state == NATS_FETCH_DOWN ? RECONNECT_LOST :
								  RECONNECT_CONNECT]++;
		feed_note_error(feed, msg);
		feed_set_state(feed, FEED_BACKOFF, msg);
		break;
	}
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct feed_nats *fn = arg;

	if (fn->stash_at < fn->nstash && take_stash(fn) < 0)
		return;
	take_more(fn);
}

/* The names the consumer is opened with: the stream (nats_stream, or
 * nats_stream_default_name of nats_feed), the filter PREFIX.FEED.> with
 * FEED escaped, the durable (conf_feed.c fills in its default). */
static int consumer_names(struct feed_nats *fn, char *errbuf, size_t errlen)
{
	const struct feed_config *cfg = fn->feed->cfg;
	const char *source = cfg->nats_feed;
	const char *prefix = cfg->nats.subject_prefix ? cfg->nats.subject_prefix :
							"crdbfeed";
	char token[NATS_SUBJECT_MAX];
	size_t token_len;

	if (cfg->nats.stream)
		snprintf(fn->stream, sizeof(fn->stream), "%s", cfg->nats.stream);
	else if (nats_stream_default_name(fn->stream, sizeof(fn->stream), source) < 0) {
		snprintf(errbuf, errlen, "nats_feed %.100s: the stream's name is too long (set nats_stream)",
			 source);
		return -1;
	}
	if (nats_subject_prefix_check(prefix, errbuf, errlen) < 0 ||
	    nats_subject_token(token, sizeof(token), &token_len, source,
			       strlen(source), errbuf, errlen) < 0)
		return -1;
	if ((size_t)snprintf(fn->subjects, sizeof(fn->subjects), "%s.%s.>", prefix,
			     token) >= sizeof(fn->subjects)) {
		snprintf(errbuf, errlen, "nats_feed %.100s: the subject filter is too long",
			 source);
		return -1;
	}
	snprintf(fn->durable, sizeof(fn->durable), "%s", cfg->nats_durable);
	return 0;
}

/* ---- life cycle ----------------------------------------------------------- */

static void count_closed(struct feed_nats *fn)
{
	struct nats_fetch_stats st;

	if (!fn->fetch)
		return;
	nats_fetch_get_stats(fn->fetch, &st);
	fn->before.delivered += st.delivered;
	fn->before.redelivered += st.redelivered;
	fn->before.acked += st.acked;
	fn->before.reconnects += st.reconnects;
	fn->before.lag = st.lag;
	if (st.last_stream_seq)
		fn->before.last_stream_seq = st.last_stream_seq;
}

/* The consumer closed (what it had not acknowledged comes again) and the
 * stash dropped: handled again from the next consumer's messages. */
static void stop_fetch(struct feed_nats *fn)
{
	count_closed(fn);
	nats_fetch_close(fn->fetch);
	fn->fetch = NULL;
	for (size_t i = fn->stash_at; i < fn->nstash; i++)
		nats_fetch_msg_free(fn->stash[i]);
	fn->nstash = fn->stash_at = 0;
	/* The next consumer's acknowledgements start over: what this one
	 * did not get across comes again and is acknowledged again. */
	fn->done_seq = fn->acked_seq = 0;
	fn->state = NATS_FETCH_CONNECTING;
	if (fn->retry)
		evtimer_del(fn->retry);
	if (fn->more)
		event_del(fn->more);
	fn->failing = false;
	fn->retry_ms = 0;
}

int feed_nats_open(struct feed *feed)
{
	const struct feed_config *cfg = feed->cfg;
	struct feed_nats *fn = feed->nats;
	char errbuf[512];

	if (!fn) {
		fn = calloc(1, sizeof(*fn));
		if (!fn) {
			feed_fail(feed, "out of memory");
			return -1;
		}
		fn->feed = feed;
		feed->nats = fn;
		fn->more = event_new(feed->base, -1, 0, on_more, fn);
		fn->retry = evtimer_new(feed->base, on_retry, fn);
		if (!fn->more || !fn->retry) {
			feed_fail(feed, "out of memory");
			return -1;
		}
	}
	stop_fetch(fn);
	if (consumer_names(fn, errbuf, sizeof(errbuf)) < 0) {
		feed_fail(feed, errbuf);
		return -1;
	}
	struct nats_fetch_config fc = {
		.conn = &cfg->nats,
		.stream = fn->stream,
		.subjects = fn->subjects,
		.durable = fn->durable,
		.batch = (size_t)cfg->nats_fetch_batch,
		.max_queued = 2 * (size_t)cfg->nats_fetch_batch,
		.ack_wait_ms = cfg->nats_ack_wait_ms,
		.max_ack_pending = cfg->nats_max_ack_pending,
	};
	fn->fetch = nats_fetch_open(feed->base, &fc,
				    &(struct nats_fetch_callbacks){
					    .state = on_fetch_state,
					    .ready = on_fetch_ready,
					    .arg = fn },
				    errbuf, sizeof(errbuf));
	if (!fn->fetch) {
		feed_fail(feed, errbuf);
		return -1;
	}
	log_info(feed->who, "relaying stream %s, subjects %s, durable consumer %s",
		 fn->stream, fn->subjects, fn->durable);
	feed_set_state(feed, FEED_CONNECTING, NULL);
	return 0;
}

void feed_nats_stop(struct feed_nats *fn)
{
	if (fn)
		stop_fetch(fn);
}

void feed_nats_resume(struct feed_nats *fn)
{
	if (fn && !fn->feed->blocked)
		take_more(fn);
}

void feed_nats_close(struct feed_nats *fn)
{
	if (!fn)
		return;
	stop_fetch(fn);
	if (fn->more)
		event_free(fn->more);
	if (fn->retry)
		event_free(fn->retry);
	free(fn);
}

void feed_nats_get_stats(const struct feed_nats *fn, struct feed_stats *out)
{
	struct nats_fetch_stats st = { 0 };

	out->nats = true;
	if (!fn)
		return;
	if (fn->fetch)
		nats_fetch_get_stats(fn->fetch, &st);
	out->nats_delivered = fn->before.delivered + st.delivered;
	out->nats_redelivered = fn->before.redelivered + st.redelivered;
	out->nats_acked = fn->before.acked + st.acked;
	out->nats_reconnects = fn->before.reconnects + st.reconnects;
	out->nats_lag = fn->fetch && st.last_stream_seq ? st.lag : fn->before.lag;
	out->nats_last_stream_seq = st.last_stream_seq ? st.last_stream_seq :
				    fn->before.last_stream_seq;
	out->nats_duplicates = fn->duplicates;
	out->nats_ignored_resolved = fn->ignored_resolved;
	out->nats_malformed = fn->malformed;
	out->nats_connected = fn->fetch && fn->state == NATS_FETCH_READY;
	snprintf(out->nats_state, sizeof(out->nats_state), "%s",
		 fn->fetch ? fetch_state_name(fn->state) : "closed");
	snprintf(out->nats_stream, sizeof(out->nats_stream), "%s", fn->stream);
	snprintf(out->nats_durable, sizeof(out->nats_durable), "%s", fn->durable);
}
