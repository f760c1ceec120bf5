/*
 * sink_nats.c: a sink of type nats: its ordered feed's journal published
 * to a JetStream stream through a publisher thread (nats_pub.h), in
 * journal order, with at most nats_max_pending messages unacknowledged.
 *
 * The sink reads the journal through its owner's replay_read, never from
 * what the feed offers (an offer only says more was released). Its
 * position is the acked one: the last journal seq (and resolved timestamp
 * at that seq) below which every message was acknowledged, kept in
 * STATE_DIR/SINK.nats with the journal's epoch, written at most once a
 * second and at close. A restart, a lost connection or an acknowledgement
 * error publish again from there: the stream's duplicate window drops the
 * copies it already has. After a round with an acknowledgement error (a
 * stream without a leader answers at once) the next one waits, from
 * 100 ms doubling to 5 s, reset by the first message stored. A resolved
 * line is published only once every line before it is acknowledged, so
 * that no row covered by a resolved message can be stored after it, even
 * when a leader failover stores a republished row after later ones. On each (re)connection the stream's high-water
 * mark for the feed (another daemon publishing the same feed) lets the
 * sink pass over what the stream holds already. The feed's journal
 * retention keeps every row after the acked position (sink_keep_after).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "sink_int.h"

#include "backoff.h"
#include "line_fields.h"
#include "log.h"
#include "nats_pub.h"
#include "nats_subject.h"
#include "statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NATS_ACK_BATCH 256        /* acknowledgements taken at once */
#define NATS_PUMP_CHUNKS 4        /* journal chunks per loop pass */
#define NATS_PUMP_MIN_FREE REPLAY_CHUNK_MAX /* with messages in flight,
					       read the journal once this
					       many can be submitted (or a
					       quarter of nats_max_pending) */
#define NATS_SAVE_MS 1000         /* the position file, at most this often */
#define NATS_POSITION_MAX 160     /* the position file's bytes, at most */
#define NATS_RETRY_INITIAL_MS 100 /* after a round with an ack error */
#define NATS_RETRY_MAX_MS 5000

/* Where the sink stands in its feed's journal: every row up to seq taken,
 * and a resolved line at seq taken when its timestamp <= resolved. */
struct nats_position {
	uint64_t seq;
	crdb_hlc resolved;
};

/* A message submitted (or passed over) and not yet part of the acked
 * position; the ring keeps them in journal order. */
struct nats_inflight {
	struct line *line;     /* one reference */
	bool done;             /* acknowledged, or passed over */
};

struct sink_nats {
	struct sink *sink;
	struct nats_pub *pub;
	char *stream;
	char *subjects;                     /* PREFIX.FEED.> */
	char resolved_subject[NATS_SUBJECT_MAX];
	char *identity;                     /* Nats-Msg-Id's feed identity */
	size_t identity_len;
	struct nats_settings conn;          /* the publisher's: a reload
					       frees the config it came from */
	char *position_path;                /* NULL: not kept */
	char *state_dir;

	struct nats_inflight *ring;
	size_t ring_cap, ring_head, ring_count;
	size_t max_pending;                 /* the publisher's */
	uint64_t head_tag;                  /* the tag of ring[ring_head] */

	struct nats_position acked;         /* the contiguous acknowledged */
	struct nats_position read;          /* the last line submitted */
	struct nats_position saved;         /* what the file holds */
	uint32_t epoch;                     /* the journal's, 0 unknown */
	uint32_t saved_epoch;

	enum nats_pub_state state;
	bool need_rewind;                   /* publish again from acked once
					       nothing is outstanding */
	bool ack_failed;                    /* that rewind follows an ack
					       error: it waits retry_ev */
	bool retry_waiting;                 /* retry_ev is armed */
	int64_t retry_step_ms;              /* backoff_next's */
	bool skipping;                      /* passing over what hw covers */
	struct nats_high_water hw;
	bool gap_logged;
	char last_why[160];                 /* why it is not ready, for status */
	char logged_why[160];               /* the last one logged: a server
					       down for an hour logs it once */
	char ack_error[96];                 /* the last ack error's text */

	struct event *pump_ev;
	struct event *save_ev;
	struct event *retry_ev;

	uint64_t acked_msgs, duplicates, too_large, errors, skipped, gaps;
	uint64_t backoffs;                  /* rounds that waited retry_ev */
	uint64_t last_stream_seq;
};

/* ---- the position file ------------------------------------------------- */

static void position_format(char *buf, size_t cap, const struct nats_position *pos,
			    uint32_t epoch)
{
	char hlc[CRDB_HLC_BUFSIZE];

	crdb_hlc_format(pos->resolved, hlc);
	snprintf(buf, cap, "seq %" PRIu64 " epoch %" PRIu32 " resolved %s\n",
		 pos->seq, epoch, hlc);
}

/* 1 with *pos and *epoch read, 0 when there is no file, -1 (errbuf). */
static int position_read(const char *path, struct nats_position *pos,
			 uint32_t *epoch, char *errbuf, size_t errlen)
{
	char buf[NATS_POSITION_MAX + 1], hlc[CRDB_HLC_BUFSIZE + 1];
	unsigned long long seq;
	unsigned long ep;
	crdb_error err;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	if (sscanf(buf, "seq %llu epoch %lu resolved %32s", &seq, &ep, hlc) != 3 ||
	    ep > UINT32_MAX ||
	    crdb_hlc_parse(hlc, strlen(hlc), &pos->resolved, &err)) {
		snprintf(errbuf, errlen, "%s: not a nats sink position (seq N epoch E resolved HLC)",
			 path);
		return -1;
	}
	pos->seq = seq;
	*epoch = (uint32_t)ep;
	return 1;
}

static void position_save(struct sink_nats *n)
{
	char buf[NATS_POSITION_MAX], errbuf[512];

	if (!n->position_path || !n->epoch ||
	    (n->saved.seq == n->acked.seq && n->saved_epoch == n->epoch &&
	     crdb_hlc_compare(n->saved.resolved, n->acked.resolved) == 0))
		return;
	position_format(buf, sizeof(buf), &n->acked, n->epoch);
	if (statefile_write(n->position_path, n->state_dir, buf, strlen(buf),
			    0640, errbuf, sizeof(errbuf)) < 0) {
		log_warning(n->sink->who, "position: %s", errbuf);
		return;
	}
	n->saved = n->acked;
	n->saved_epoch = n->epoch;
}

static void on_save(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	position_save(arg);
}

/* ---- the ring of messages in flight --------------------------------------- */

static struct nats_inflight *ring_at(struct sink_nats *n, size_t i)
{
	return &n->ring[(n->ring_head + i) % n->ring_cap];
}

static void ring_push(struct sink_nats *n, struct line *line, bool done)
{
	struct nats_inflight *e = ring_at(n, n->ring_count++);

	e->line = line;
	e->done = done;
}

/* Move a position past a line taken. */
static void position_take(struct nats_position *pos, const struct line *line)
{
	if (line->kind == LINE_ROW)
		pos->seq = line->seq;
	else
		pos->resolved = line->updated;
}

/* The acked position over the done prefix of the ring. */
static void ring_advance(struct sink_nats *n)
{
	while (n->ring_count && ring_at(n, 0)->done) {
		struct nats_inflight *e = ring_at(n, 0);

		position_take(&n->acked, e->line);
		line_unref(e->line);
		e->line = NULL;
		n->ring_head = (n->ring_head + 1) % n->ring_cap;
		n->ring_count--;
		n->head_tag++;
	}
}

static void ring_clear(struct sink_nats *n)
{
	while (n->ring_count) {
		struct nats_inflight *e = ring_at(n, 0);

		line_unref(e->line);
		e->line = NULL;
		n->ring_head = (n->ring_head + 1) % n->ring_cap;
		n->ring_count--;
		n->head_tag++;
	}
}

/* ---- publishing ------------------------------------------------------------- */

static void schedule_pump(struct sink_nats *n)
{
	if (n->pump_ev)
		event_active(n->pump_ev, EV_TIMEOUT, 0);
}

/* Where a line stands against the read position (as a subscriber's). */
static enum sub_position read_position(const struct nats_position *pos,
				       const struct line *line)
{
	if (line->kind == LINE_ROW) {
		if (line->seq <= pos->seq)
			return POS_OLD;
		return line->seq == pos->seq + 1 ? POS_NEXT : POS_AHEAD;
	}
	if (line->kind != LINE_RESOLVED)
		return POS_NONE;
	if (line->seq != pos->seq)
		return line->seq < pos->seq ? POS_OLD : POS_AHEAD;
	if (crdb_hlc_compare(line->updated, pos->resolved) <= 0)
		return POS_OLD;
	return POS_NEXT;
}

/* Is the line in the stream already, by the high-water mark read when
 * the connection became ready? Only until the first line that is not. */
static bool covered_by_high_water(struct sink_nats *n, const struct line *line)
{
	int cmp;

	if (!n->skipping)
		return false;
	cmp = crdb_hlc_compare(line->updated, n->hw.updated);
	if (cmp < 0 || (cmp == 0 && n->hw.resolved))
		return true;
	n->skipping = false;
	return false;
}

/* Passed over for good (too large, unpublishable): logged with its seq. */
static void pass_over(struct sink_nats *n, const struct line *line,
		      const char *why)
{
	log_warning(n->sink->who, "seq %" PRIu64 " table %s: %s: not published",
		    line->seq, line->table ? line->table : "(resolved)", why);
}

/*
 * Publish one line. 0 submitted or passed over (read position moved), 1
 * when the publisher is full or not ready (try again later).
 */
static int publish_line(struct sink_nats *n, struct line *line)
{
	char subject[NATS_SUBJECT_MAX], msg_id[NATS_MSG_ID_BUFSIZE];
	char errbuf[256];
	struct nats_pub_msg m = {
		.tag = n->head_tag + n->ring_count,
		.subject = subject,
		.msg_id = msg_id,
		.seq = line->seq,
		.updated = line->updated,
		.payload = line->data,
		.payload_len = line->len,
	};
	const char *feed = n->sink->cfg->feed;
	int rc;

	if (m.payload_len && m.payload[m.payload_len - 1] == '\n')
		m.payload_len--;
	if (line->kind == LINE_ROW) {
		const char *key;
		size_t key_len, table_len = strlen(line->table ? line->table : "");

		m.table = line->table;
		if (nats_subject_row(subject, sizeof(subject),
				     n->sink->cfg->nats.subject_prefix, feed,
				     line->table ? line->table : "", table_len,
				     errbuf, sizeof(errbuf)) < 0 ||
		    line_row_key(line->data, line->len, &key, &key_len, errbuf,
				 sizeof(errbuf)) < 0 ||
		    nats_msg_id_row(msg_id, n->identity, n->identity_len,
				    line->updated, line->table ? line->table : "",
				    table_len, key, key_len, errbuf,
				    sizeof(errbuf)) < 0)
			goto unpublishable;
	} else {
		m.resolved = true;
		memcpy(subject, n->resolved_subject, sizeof(subject));
		if (nats_msg_id_resolved(msg_id, n->identity, n->identity_len,
					 line->updated, errbuf, sizeof(errbuf)) < 0)
			goto unpublishable;
	}
	rc = nats_pub_submit(n->pub, &m, errbuf, sizeof(errbuf));
	if (rc == 1)
		return 1;
	if (rc < 0) {
		log_debug(n->sink->who, "publish: %s", errbuf);
		return 1;
	}
	position_take(&n->read, line);
	ring_push(n, line_ref(line), false);
	return 0;

unpublishable:
	n->errors++;
	pass_over(n, line, errbuf);
	position_take(&n->read, line);
	ring_push(n, line_ref(line), true);
	return 0;
}

struct nats_chunk {
	struct line **lines;
	size_t count, cap;
};

static void collect_line(struct line *line, void *arg)
{
	struct nats_chunk *chunk = arg;

	if (chunk->count < chunk->cap)
		chunk->lines[chunk->count++] = line;
	else
		line_unref(line);
}

/* Rows the journal no longer has: counted, logged once, the position
 * moved to the first row kept. */
static void check_gap(struct sink_nats *n, uint64_t first_kept)
{
	if (first_kept <= 1 || n->read.seq + 1 >= first_kept || n->ring_count)
		return;
	n->gaps++;
	if (!n->gap_logged)
		log_error(n->sink->who, "gap: rows %" PRIu64 " to %" PRIu64 " are no longer in the journal (position lost, or the journal was reset or trimmed): they were never published",
			  n->read.seq + 1, first_kept - 1);
	n->gap_logged = true;
	n->read.seq = first_kept - 1;
	n->read.resolved = (crdb_hlc){ 0, 0 };
	n->acked = n->read;
}

/*
 * Lines to read from the journal now: no more than the publisher can take
 * (a line read and not submitted is decoded again by the next chunk), and
 * while messages are in flight nothing until a good share of the window is
 * free, so that a steady stream of acks reads the journal in full chunks
 * rather than a few lines per ack. 0: wait for acks.
 */
static size_t chunk_size(const struct sink_nats *n)
{
	size_t room = n->ring_cap - n->ring_count;
	size_t outstanding = nats_pub_outstanding(n->pub);
	size_t free_slots = n->max_pending > outstanding
				    ? n->max_pending - outstanding : 0;
	size_t batch = n->max_pending / 4 < NATS_PUMP_MIN_FREE
			       ? n->max_pending / 4 : NATS_PUMP_MIN_FREE;
	size_t cap;

	if (!free_slots || (outstanding && free_slots < batch))
		return 0;
	/* One more than the free slots: a chunk re-reads the line at the
	 * position. */
	cap = free_slots + 1;
	if (cap < REPLAY_CHUNK_MIN)
		cap = REPLAY_CHUNK_MIN;
	if (cap > REPLAY_CHUNK_MAX)
		cap = REPLAY_CHUNK_MAX;
	if (cap > room)
		cap = room;
	return cap < REPLAY_CHUNK_MIN ? 0 : cap;
}

/* Read one chunk and publish it. Returns lines taken (0: caught up, full
 * or not ready). */
static size_t pump_chunk(struct sink_nats *n)
{
	struct sink *sink = n->sink;
	struct line *lines[REPLAY_CHUNK_MAX];
	struct nats_chunk chunk = { lines, 0, 0 };
	size_t taken = 0, i;
	uint64_t first_kept = 1, last_released = 0; /* last_released unused */
	char errbuf[256];
	int rc;

	chunk.cap = chunk_size(n);
	if (!chunk.cap)
		return 0;
	sink->owner.replay_bounds(sink->owner.arg, &first_kept, &last_released);
	check_gap(n, first_kept);
	rc = sink->owner.replay_read(sink->owner.arg,
				     n->read.seq ? n->read.seq - 1 : 0,
				     chunk.cap, collect_line, &chunk, errbuf,
				     sizeof(errbuf));
	if (rc < 0) {
		log_debug(sink->who, "journal: %s", errbuf);
		return 0;
	}
	for (i = 0; i < chunk.count; i++) {
		struct line *line = chunk.lines[i];
		enum sub_position where = read_position(&n->read, line);

		if (where == POS_OLD || where == POS_NONE)
			continue;
		if (where == POS_AHEAD && line->kind == LINE_ROW) {
			n->gaps++;
			log_error(sink->who, "gap: rows %" PRIu64 " to %" PRIu64 " are missing from the journal: they were never published",
				  n->read.seq + 1, line->seq - 1);
		}
		if (covered_by_high_water(n, line)) {
			n->skipped++;
			position_take(&n->read, line);
			ring_push(n, line_ref(line), true);
			taken++;
			continue;
		}
		/* A resolved line waits for every ack before it (the acks
		 * pump again): a row republished after a failover can then
		 * never be stored after it. */
		if (line->kind == LINE_RESOLVED) {
			ring_advance(n);
			if (n->ring_count)
				break;
		}
		if (publish_line(n, line))
			break;
		taken++;
	}
	for (i = 0; i < chunk.count; i++)
		line_unref(chunk.lines[i]);
	ring_advance(n);
	return taken;
}

/* A position past the journal's last row is another journal's (the feed's
 * state was removed, not the sink's): start from this one's beginning. */
static void check_position_in_journal(struct sink_nats *n)
{
	uint64_t first_kept = 1, last_released = 0;

	n->sink->owner.replay_bounds(n->sink->owner.arg, &first_kept,
				     &last_released);
	if (n->acked.seq <= last_released || n->ring_count)
		return;
	log_warning(n->sink->who, "the position (seq %" PRIu64 ") is past the journal's last row (seq %" PRIu64 "): the journal was made anew; publishing it from its start",
		    n->acked.seq, last_released);
	n->acked = (struct nats_position){ 0, { 0, 0 } };
	n->read = n->acked;
}

/*
 * After an ack error round, wait before publishing again: a stream
 * without a leader fails every publish at once, and republishing at once
 * is a storm. true when the wait is over, false while it runs (its end
 * pumps).
 */
static bool retry_after_backoff(struct sink_nats *n)
{
	struct timeval tv;
	int64_t delay;

	if (n->retry_waiting)
		return false;
	if (!n->ack_failed)
		return true;
	delay = backoff_next(&n->retry_step_ms, NATS_RETRY_INITIAL_MS,
			     NATS_RETRY_MAX_MS, (uint64_t)random());
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	if (event_add(n->retry_ev, &tv)) {
		n->ack_failed = false;
		return true; /* cannot wait: publish again now */
	}
	n->retry_waiting = true;
	n->backoffs++;
	snprintf(n->last_why, sizeof(n->last_why),
		 "not acknowledged (%s): publishing again from seq %" PRIu64 " in %" PRId64 " ms",
		 n->ack_error[0] ? n->ack_error : "error", n->acked.seq, delay);
	return false;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct sink_nats *n = arg;

	(void)fd;
	(void)what;
	n->retry_waiting = false;
	n->ack_failed = false;
	if (n->state == NATS_PUB_READY)
		n->last_why[0] = '\0';
	schedule_pump(n);
}

static void rewind_to_acked(struct sink_nats *n)
{
	ring_clear(n);
	n->read = n->acked;
	n->need_rewind = false;
}

static void on_pump(evutil_socket_t fd, short what, void *arg)
{
	struct sink_nats *n = arg;
	struct sink *sink = n->sink;

	(void)fd;
	(void)what;
	if (!sink->owner.replay_read || !sink->owner.replay_bounds ||
	    n->state != NATS_PUB_READY)
		return;
	if (!n->epoch && sink->owner.replay_epoch) {
		uint32_t epoch = sink->owner.replay_epoch(sink->owner.arg);

		if (!epoch)
			return; /* the journal is not open yet */
		if (n->saved_epoch && epoch != n->saved_epoch)
			log_info(sink->who, "the journal's epoch is %" PRIu32 " (the position was saved at %" PRIu32 "): it was reset since",
				 epoch, n->saved_epoch);
		n->epoch = epoch;
		check_position_in_journal(n);
	}
	if (n->need_rewind) {
		if (nats_pub_outstanding(n->pub))
			return; /* the acks come first */
		if (n->ack_failed && !retry_after_backoff(n))
			return;
		rewind_to_acked(n);
	}
	for (int i = 0; i < NATS_PUMP_CHUNKS; i++)
		if (!pump_chunk(n))
			return;
	schedule_pump(n); /* more to read: on the next loop pass */
}

/* ---- the publisher's callbacks ------------------------------------------- */

static const char *state_name(enum nats_pub_state state)
{
	switch (state) {
	case NATS_PUB_CONNECTING: return "connecting";
	case NATS_PUB_READY: return "ready";
	case NATS_PUB_DOWN: return "down";
	case NATS_PUB_FAILED: return "failed";
	}
	return "?";
}

static void on_state(void *arg, enum nats_pub_state state, const char *why,
		     const struct nats_high_water *hw)
{
	struct sink_nats *n = arg;
	const char *who = n->sink->who;
	bool same = why && strcmp(why, n->logged_why) == 0;

	n->state = state;
	if (why)
		snprintf(n->last_why, sizeof(n->last_why), "%s", why);
	switch (state) {
	case NATS_PUB_CONNECTING:
		log_debug(who, "connecting to NATS");
		break;
	case NATS_PUB_READY:
		n->last_why[0] = '\0';
		n->logged_why[0] = '\0';
		n->hw = hw ? *hw : (struct nats_high_water){ 0 };
		n->skipping = n->hw.any;
		n->need_rewind = true;
		if (n->hw.any) {
			char hlc[CRDB_HLC_BUFSIZE];

			crdb_hlc_format(n->hw.updated, hlc);
			log_info(who, "publishing to stream %s from seq %" PRIu64 " (the stream holds the feed up to a %s at %s, stream seq %" PRIu64 ")",
				 n->stream, n->acked.seq,
				 n->hw.resolved ? "resolved timestamp" : "row",
				 hlc, n->hw.stream_seq);
		} else {
			log_info(who, "publishing to stream %s from seq %" PRIu64,
				 n->stream, n->acked.seq);
		}
		schedule_pump(n);
		break;
	case NATS_PUB_DOWN:
		if (!same)
			log_warning(who, "NATS: %s", why ? why : "connection lost");
		snprintf(n->logged_why, sizeof(n->logged_why), "%s", why ? why : "");
		n->need_rewind = true;
		break;
	case NATS_PUB_FAILED:
		if (!same)
			log_error(who, "NATS: %s", why ? why : "failed");
		snprintf(n->logged_why, sizeof(n->logged_why), "%s", why ? why : "");
		n->need_rewind = true;
		break;
	}
}

static void on_ack(struct sink_nats *n, const struct nats_pub_ack *ack)
{
	struct nats_inflight *e;
	uint64_t i = ack->tag - n->head_tag;

	if (ack->tag < n->head_tag || i >= n->ring_count)
		return; /* from before a rewind: nothing waits for it */
	e = ring_at(n, (size_t)i);
	switch (ack->result) {
	case NATS_PUB_ACK_DUPLICATE:
		n->duplicates++;
		/* fall through */
	case NATS_PUB_ACK_STORED:
		n->acked_msgs++;
		n->retry_step_ms = 0;
		if (ack->stream_seq > n->last_stream_seq)
			n->last_stream_seq = ack->stream_seq;
		e->done = true;
		break;
	case NATS_PUB_ACK_TOO_LARGE:
		n->too_large++;
		pass_over(n, e->line, ack->error[0] ? ack->error :
			  "larger than the server's max_payload");
		e->done = true;
		break;
	case NATS_PUB_ACK_ERROR:
		if (!n->need_rewind)
			log_warning(n->sink->who, "seq %" PRIu64 ": %s: publishing again from seq %" PRIu64,
				    e->line->seq, ack->error[0] ? ack->error : "not acknowledged",
				    n->acked.seq);
		n->errors++;
		n->need_rewind = true;
		n->ack_failed = true;
		/* Cut to fit, as the status line that quotes it allows. */
		snprintf(n->ack_error, sizeof(n->ack_error), "%.*s",
			 (int)sizeof(n->ack_error) - 1,
			 ack->error[0] ? ack->error : "not acknowledged");
		break;
	}
}

static void on_acks(void *arg)
{
	struct sink_nats *n = arg;
	struct nats_pub_ack acks[NATS_ACK_BATCH];
	size_t got;

	while ((got = nats_pub_take_acks(n->pub, acks, NATS_ACK_BATCH)) > 0) {
		for (size_t i = 0; i < got; i++)
			on_ack(n, &acks[i]);
		if (got < NATS_ACK_BATCH)
			break;
	}
	ring_advance(n);
	schedule_pump(n);
}

/* ---- open, offer, stats, close ------------------------------------------- */

static char *join_path(const char *dir, const char *name, const char *suffix)
{
	size_t len = strlen(dir) + strlen(name) + strlen(suffix) + 2;
	char *path = malloc(len);

	if (path)
		snprintf(path, len, "%s/%s%s", dir, name, suffix);
	return path;
}

static void settings_free(struct nats_settings *s)
{
	free(s->url);
	free(s->tls_ca);
	free(s->tls_cert);
	free(s->tls_key);
	free(s->creds);
	free(s->nkey_seed);
	free(s->user);
	free(s->password_file);
	free(s->token_file);
	free(s->subject_prefix);
	free(s->stream);
	memset(s, 0, sizeof(*s));
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*oom = true;
	return d;
}

/* A copy the publisher can keep across reloads. 0, or -1 (memory). */
static int settings_copy(struct nats_settings *to, const struct nats_settings *from)
{
	bool oom = false;

	to->url = dup_or_null(from->url, &oom);
	to->tls_ca = dup_or_null(from->tls_ca, &oom);
	to->tls_cert = dup_or_null(from->tls_cert, &oom);
	to->tls_key = dup_or_null(from->tls_key, &oom);
	to->creds = dup_or_null(from->creds, &oom);
	to->nkey_seed = dup_or_null(from->nkey_seed, &oom);
	to->user = dup_or_null(from->user, &oom);
	to->password_file = dup_or_null(from->password_file, &oom);
	to->token_file = dup_or_null(from->token_file, &oom);
	to->subject_prefix = dup_or_null(from->subject_prefix, &oom);
	to->stream = dup_or_null(from->stream, &oom);
	to->connect_timeout_ms = from->connect_timeout_ms;
	if (oom) {
		settings_free(to);
		return -1;
	}
	return 0;
}

/* The stream's name and subjects, the resolved subject, the identity and
 * the connection settings the publisher keeps. */
static int sink_nats_names(struct sink_nats *n, char *errbuf, size_t errlen)
{
	const struct sink_config *cfg = n->sink->cfg;
	const char *prefix = cfg->nats.subject_prefix;
	char token[NATS_SUBJECT_MAX], stream[256];
	size_t token_len, len;

	if (nats_subject_resolved(n->resolved_subject, sizeof(n->resolved_subject),
				  prefix, cfg->feed, errbuf, errlen) < 0 ||
	    nats_subject_token(token, sizeof(token), &token_len, cfg->feed,
			       strlen(cfg->feed), errbuf, errlen) < 0)
		return -1;
	if (cfg->nats.stream)
		snprintf(stream, sizeof(stream), "%s", cfg->nats.stream);
	else if (nats_stream_default_name(stream, sizeof(stream), cfg->feed) < 0) {
		snprintf(errbuf, errlen, "feed %s: the default stream name does not fit (set nats_stream)",
			 cfg->feed);
		return -1;
	}
	len = strlen(prefix) + token_len + 4;
	n->subjects = malloc(len);
	n->stream = strdup(stream);
	if (!n->subjects || !n->stream) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	snprintf(n->subjects, len, "%s.%s.>", prefix, token);
	n->identity = strdup(cfg->nats_identity ? cfg->nats_identity : cfg->feed);
	if (!n->identity || settings_copy(&n->conn, &cfg->nats)) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	n->identity_len = strlen(n->identity);
	return 0;
}

/* Resume from the position file, when there is one. */
static int sink_nats_resume(struct sink_nats *n, char *errbuf, size_t errlen)
{
	const char *dir = n->sink->owner.state_dir ?
			  n->sink->owner.state_dir(n->sink->owner.arg) : NULL;
	int rc;

	if (!dir) {
		log_warning(n->sink->who, "no state directory: the position is kept in memory only (a restart publishes the journal again)");
		return 0;
	}
	n->state_dir = strdup(dir);
	n->position_path = join_path(dir, n->sink->name, ".nats");
	if (!n->state_dir || !n->position_path) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	rc = position_read(n->position_path, &n->acked, &n->saved_epoch, errbuf,
			   errlen);
	if (rc < 0)
		return -1;
	n->saved = n->acked;
	n->read = n->acked;
	if (rc)
		log_info(n->sink->who, "resuming after seq %" PRIu64 " (%s)",
			 n->acked.seq, n->position_path);
	return 0;
}

static void sink_nats_free(struct sink_nats *n)
{
	if (n->pub)
		nats_pub_close(n->pub);
	if (n->ring)
		ring_clear(n);
	if (n->pump_ev)
		event_free(n->pump_ev);
	if (n->save_ev)
		event_free(n->save_ev);
	if (n->retry_ev)
		event_free(n->retry_ev);
	free(n->ring);
	free(n->stream);
	free(n->subjects);
	free(n->position_path);
	free(n->state_dir);
	free(n->identity);
	settings_free(&n->conn);
	free(n);
}

int sink_nats_open(struct sink *sink, char *errbuf, size_t errlen)
{
	const struct sink_config *cfg = sink->cfg;
	struct sink_nats *n = calloc(1, sizeof(*n));
	struct timeval second = { NATS_SAVE_MS / 1000, (NATS_SAVE_MS % 1000) * 1000 };

	if (!n) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	n->sink = sink;
	n->state = NATS_PUB_CONNECTING;
	if (!sink->owner.replay_read) {
		snprintf(errbuf, errlen, "feed %s is not ordered: a nats sink publishes from the journal",
			 cfg->feed);
		goto fail;
	}
	/* Room for the unacknowledged and a chunk passed over. */
	n->ring_cap = (size_t)cfg->nats_max_pending + REPLAY_CHUNK_MAX;
	n->max_pending = (size_t)cfg->nats_max_pending;
	n->ring = calloc(n->ring_cap, sizeof(*n->ring));
	n->pump_ev = event_new(sink->base, -1, 0, on_pump, n);
	n->save_ev = event_new(sink->base, -1, EV_PERSIST, on_save, n);
	n->retry_ev = evtimer_new(sink->base, on_retry, n);
	if (!n->ring || !n->pump_ev || !n->save_ev || !n->retry_ev ||
	    event_add(n->save_ev, &second)) {
		snprintf(errbuf, errlen, "out of memory");
		goto fail;
	}
	if (sink_nats_names(n, errbuf, errlen) || sink_nats_resume(n, errbuf, errlen))
		goto fail;

	struct nats_pub_config pc = {
		.conn = &n->conn,
		.stream = {
			.stream = n->stream,
			.subjects = n->subjects,
			.create = cfg->nats_stream_create,
			.replicas = cfg->nats_replicas,
			.duplicate_window_ms = cfg->nats_duplicate_window_ms,
			.max_age_ms = cfg->nats_max_age_ms,
		},
		.max_pending = (size_t)cfg->nats_max_pending,
		.ack_timeout_ms = cfg->nats_ack_timeout_ms,
	};
	struct nats_pub_callbacks cb = { on_state, on_acks, n };

	n->pub = nats_pub_open(sink->base, &pc, &cb, errbuf, errlen);
	if (!n->pub)
		goto fail;
	sink->nats = n;
	log_info(sink->who, "publishing feed %s to NATS stream %s (subjects %s, at most %lld unacknowledged)",
		 cfg->feed, n->stream, n->subjects, (long long)cfg->nats_max_pending);
	return 0;
fail:
	sink_nats_free(n);
	return -1;
}

void sink_nats_offer(struct sink *sink)
{
	if (sink->nats)
		schedule_pump(sink->nats);
}

/* The saved position, not the acked one: a restart resumes from the
 * file, which may be up to a second behind. */
uint64_t sink_nats_keep_after(const struct sink *sink)
{
	const struct sink_nats *n = sink->nats;

	if (!n)
		return UINT64_MAX;
	return n->position_path ? n->saved.seq : n->acked.seq;
}

void sink_nats_stats(const struct sink *sink, struct sink_stats *out)
{
	const struct sink_nats *n = sink->nats;
	struct nats_pub_stats ps;

	if (!n)
		return;
	nats_pub_get_stats(n->pub, &ps);
	out->nats = true;
	out->journaled = false; /* no subscribers to replay to */
	out->nats_published = ps.published;
	out->nats_acked = n->acked_msgs;
	out->nats_pending = nats_pub_outstanding(n->pub);
	out->nats_duplicates = n->duplicates;
	out->nats_too_large = n->too_large;
	out->nats_errors = n->errors;
	out->nats_backoffs = n->backoffs;
	out->nats_skipped = n->skipped;
	out->nats_gaps = n->gaps;
	out->nats_acked_seq = n->acked.seq;
	out->nats_stream_seq = n->last_stream_seq;
	out->nats_connected = n->state == NATS_PUB_READY;
	out->nats_reconnects = ps.reconnects;
	snprintf(out->nats_state, sizeof(out->nats_state), "%s",
		 n->retry_waiting && n->state == NATS_PUB_READY ? "backoff" :
		 state_name(n->state));
	snprintf(out->nats_error, sizeof(out->nats_error), "%s", n->last_why);
}

void sink_nats_close(struct sink *sink)
{
	struct sink_nats *n = sink->nats;

	if (!n)
		return;
	sink->nats = NULL;
	/* No callback runs once the thread is stopped: what is acked now is
	 * all this run will know. */
	nats_pub_close(n->pub);
	n->pub = NULL;
	ring_advance(n);
	position_save(n);
	sink_nats_free(n);
}
