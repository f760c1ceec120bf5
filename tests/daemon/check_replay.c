/*
 * check_replay.c: the subscribers of a journaled sink (daemon/sink_replay.c
 * with sink.c and subscriber.c) on a real event loop and real sockets. The
 * owner is a fake ordered feed: its journal is an array of lines in memory
 * (rows with seq, resolved lines carrying the last row they cover), and
 * "releasing" a line appends it there, then offers it, as the feed commits
 * before it offers. Every stream a client receives is checked whole: the
 * rows it should have, each once, in seq order, and no resolved line
 * twice.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "daemon/conf.h"
#include "daemon/defer.h"
#include "daemon/encode.h"
#include "daemon/log.h"
#include "daemon/sink.h"
#include "tests/daemon/sink_place.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define PAD 300                 /* bytes of padding in each row */
#define BASE_WALL 1704164645000000000LL /* 2024-01-02T03:04:05Z in ns */
#define MAX_CLIENTS 16
#define REPLAY_BOUND_LINES 16   /* a replaying queue passes its buffer by at
				   most its first chunk (sink_int.h's
				   REPLAY_CHUNK_FIRST lines) */

/* ---- the fake ordered feed and its journal -------------------------------- */

struct journal_fake {
	struct line **items;      /* released lines, in release order */
	size_t n, cap;
	uint64_t first_kept;      /* rows below it are "trimmed" */
	uint64_t last_released;
	bool mark_at_after;       /* replay_read gives a resolved at `after` */
	unsigned rows_per_second; /* rows sharing one updated timestamp */
};

static const char *fake_name(void *arg)
{
	return "f";
}

static struct line *fake_greeting(void *arg)
{
	return line_new_state("f", "streaming", NULL, NULL);
}

static int fake_read(void *arg, uint64_t after, size_t max,
		     void (*fn)(struct line *line, void *fnarg), void *fnarg,
		     char *errbuf, size_t errlen)
{
	struct journal_fake *j = arg;
	size_t given = 0;

	for (size_t i = 0; i < j->n && given < max; i++) {
		struct line *line = j->items[i];
		bool row = line->kind == LINE_ROW;

		if (row && line->seq < j->first_kept)
			continue;
		if (row ? line->seq <= after :
		    line->seq < after || (line->seq == after && !j->mark_at_after))
			continue;
		fn(line_ref(line), fnarg);
		given++;
	}
	return (int)given;
}

/* Coarse, as a journal index may be: some rows before the first with
 * updated >= since, which the sink's own filter must skip. */
static int fake_seek(void *arg, crdb_hlc since, uint64_t *after,
		     char *errbuf, size_t errlen)
{
	struct journal_fake *j = arg;

	*after = j->last_released;
	for (size_t i = 0; i < j->n; i++) {
		const struct line *line = j->items[i];

		if (line->kind == LINE_ROW && crdb_hlc_compare(line->updated, since) >= 0) {
			*after = line->seq > 10 ? line->seq - 10 : 0;
			break;
		}
	}
	return 0;
}

static void fake_bounds(void *arg, uint64_t *first_kept, uint64_t *last_released)
{
	struct journal_fake *j = arg;

	*first_kept = j->first_kept;
	*last_released = j->last_released;
}

static void journal_append(struct journal_fake *j, struct line *line)
{
	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 1024;
		j->items = realloc(j->items, j->cap * sizeof(*j->items));
		ck_assert_ptr_nonnull(j->items);
	}
	j->items[j->n++] = line_ref(line);
}

static crdb_hlc row_updated(const struct journal_fake *j, uint64_t seq)
{
	return (crdb_hlc){ BASE_WALL + (int64_t)(seq / j->rows_per_second) * 1000000000LL, 0 };
}

/* A row of table t<seq % 2 + 1> with key [seq]. */
static struct line *make_row(const struct journal_fake *j, uint64_t seq)
{
	static const crdb_decode_opts opts = { .envelope = CRDB_ENVELOPE_WRAPPED,
					       .number_text = true };
	char value[PAD + 200], table[4], key[32], hlc[CRDB_HLC_BUFSIZE], pad[PAD + 1];
	crdb_hlc updated = row_updated(j, seq);
	struct line *line;

	memset(pad, 'p', PAD);
	pad[PAD] = '\0';
	crdb_hlc_format(updated, hlc);
	snprintf(table, sizeof(table), "t%d", (int)(seq % 2) + 1);
	snprintf(key, sizeof(key), "[%" PRIu64 "]", seq);
	snprintf(value, sizeof(value), "{\"after\":{\"id\":%" PRIu64 ",\"pad\":\"%s\"},\"updated\":\"%s\"}",
		 seq, pad, hlc);
	line = line_new_row_raw("f", table, strlen(table), key, strlen(key), value,
				strlen(value), &opts);
	ck_assert_ptr_nonnull(line);
	line->seq = seq;
	line->updated = updated;
	return line;
}

/* ---- fixture -------------------------------------------------------------- */

struct client {
	int fd;
	char *in;
	size_t len, cap;
	bool eof;
};

struct fx {
	struct sink_place place;
	struct event_base *base;
	struct sink_config cfg;
	struct journal_fake journal;
	struct sink *sink;
	struct client clients[MAX_CLIENTS];
	size_t nclients;
	size_t peak_queued;        /* the fullest queue seen at any pump */
	size_t peak_replaying;
	uint64_t peak_lag;
};

static void pump(struct fx *fx)
{
	struct sink_stats st;

	event_base_loop(fx->base, EVLOOP_NONBLOCK);
	defer_run();
	sink_get_stats(fx->sink, &st);
	if (st.max_queued_bytes > fx->peak_queued)
		fx->peak_queued = st.max_queued_bytes;
	if (st.replaying > fx->peak_replaying)
		fx->peak_replaying = st.replaying;
	if (st.max_seq_lag > fx->peak_lag)
		fx->peak_lag = st.max_seq_lag;
}

/* Release the next row (committed, then offered). */
static void release_row(struct fx *fx)
{
	struct line *line = make_row(&fx->journal, fx->journal.last_released + 1);

	journal_append(&fx->journal, line);
	fx->journal.last_released = line->seq;
	sink_offer(fx->sink, line);
	line_unref(line);
}

/* Release a resolved line covering the rows so far. */
static void release_resolved(struct fx *fx)
{
	crdb_hlc at = row_updated(&fx->journal, fx->journal.last_released);
	struct line *line;

	at.logical = 1;
	line = line_new_resolved("f", at);
	ck_assert_ptr_nonnull(line);
	line->seq = fx->journal.last_released;
	journal_append(&fx->journal, line);
	sink_offer(fx->sink, line);
	line_unref(line);
}

/* Commit n rows without offering them (a feed that offers a group on a
 * later loop pass); returns where they start in the journal. */
static size_t commit_rows(struct fx *fx, unsigned n)
{
	size_t at = fx->journal.n;

	for (unsigned i = 0; i < n; i++) {
		struct line *line = make_row(&fx->journal, fx->journal.last_released + 1);

		journal_append(&fx->journal, line);
		fx->journal.last_released = line->seq;
		line_unref(line);
	}
	return at;
}

/* Rows up to last, a resolved line after every 7th. */
static void release_until(struct fx *fx, uint64_t last)
{
	while (fx->journal.last_released < last) {
		release_row(fx);
		if (fx->journal.last_released % 7 == 0)
			release_resolved(fx);
	}
}

static void fx_open(struct fx *fx, enum slow_policy policy, size_t buffer,
		    bool journaled)
{
	struct sink_owner owner = { .name = fake_name, .greeting = fake_greeting,
				    .arg = &fx->journal };
	char err[256] = "";

	memset(fx, 0, sizeof(*fx));
	if (journaled) {
		owner.replay_read = fake_read;
		owner.replay_seek = fake_seek;
		owner.replay_bounds = fake_bounds;
	}
	fx->journal.first_kept = 1;
	fx->journal.rows_per_second = 3;
	sink_place_make(&fx->place, "check_replay", &fx->cfg, policy, buffer);
	fx->base = event_base_new();
	ck_assert_ptr_nonnull(fx->base);
	fx->cfg.replay_grace_ms = 150;
	fx->sink = sink_open(fx->base, &fx->cfg, &owner, err, sizeof(err));
	ck_assert_msg(fx->sink != NULL, "sink_open: %s", err);
}

static void fx_close(struct fx *fx)
{
	sink_close(fx->sink, NULL);
	defer_run();
	for (size_t i = 0; i < fx->nclients; i++) {
		close(fx->clients[i].fd);
		free(fx->clients[i].in);
	}
	for (size_t i = 0; i < fx->journal.n; i++)
		line_unref(fx->journal.items[i]);
	free(fx->journal.items);
	event_base_free(fx->base);
	sink_place_remove(&fx->place);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	nanosleep(&ts, NULL);
}

/* Connect a client, wait until the sink has it, send request (NULL: none). */
static struct client *connect_client(struct fx *fx, const char *request)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct client *c = &fx->clients[fx->nclients++];
	struct sink_stats st;

	ck_assert_uint_le(fx->nclients, MAX_CLIENTS);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c->fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx->place.path);
	ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
	for (int i = 0; i < 2000; i++) {
		pump(fx);
		sink_get_stats(fx->sink, &st);
		if (st.accepted == fx->nclients)
			break;
		sleep_ms(1);
	}
	ck_assert_uint_eq(st.accepted, fx->nclients);
	if (request) {
		size_t len = strlen(request);

		ck_assert_int_eq(write(c->fd, request, len), (ssize_t)len);
		ck_assert_int_eq(write(c->fd, "\n", 1), 1);
		pump(fx);
	}
	return c;
}

/* Read what the client has now (no waiting). True when something came. */
static bool client_read(struct client *c)
{
	bool got = false;

	while (!c->eof) {
		char buf[65536];
		ssize_t n = read(c->fd, buf, sizeof(buf));

		if (n == 0) {
			c->eof = true;
			break;
		}
		if (n < 0) {
			ck_assert_msg(errno == EAGAIN || errno == EINTR, "read: %s",
				      strerror(errno));
			break;
		}
		if (c->len + (size_t)n + 1 > c->cap) {
			c->cap = (c->len + (size_t)n + 1) * 2;
			c->in = realloc(c->in, c->cap);
			ck_assert_ptr_nonnull(c->in);
		}
		memcpy(c->in + c->len, buf, (size_t)n);
		c->len += (size_t)n;
		c->in[c->len] = '\0';
		got = true;
	}
	return got;
}

/* Pump and let every client read until nothing moved for 200 ms. */
static void settle(struct fx *fx)
{
	int quiet = 0;

	while (quiet < 200) {
		bool got = false;

		pump(fx);
		for (size_t i = 0; i < fx->nclients; i++)
			got |= client_read(&fx->clients[i]);
		quiet = got ? 0 : quiet + 1;
		sleep_ms(1);
	}
}

/* The line of the client's stream starting at p: its "type". */
static bool line_is(const char *p, const char *type)
{
	char want[40];
	const char *nl = strchr(p, '\n');

	snprintf(want, sizeof(want), "\"type\":\"%s\"", type);
	return nl && memmem(p, (size_t)(nl - p), want, strlen(want)) != NULL;
}

static size_t count_type(const struct client *c, const char *type)
{
	size_t n = 0;

	for (const char *p = c->in; p && *p; p = strchr(p, '\n') + 1)
		if (line_is(p, type))
			n++;
	return n;
}

/*
 * The client's rows are exactly first..last (those of table `table` only
 * when not NULL), once each, in order; its resolved lines never repeat
 * and never go backwards. Returns the number of resolved lines.
 */
static size_t check_stream(const struct client *c, uint64_t first, uint64_t last,
			   const char *table)
{
	uint64_t want = first;
	char prev_resolved[CRDB_HLC_BUFSIZE + 2] = "";
	size_t resolved = 0;

	ck_assert_ptr_nonnull(c->in);
	for (const char *p = c->in; *p; p = strchr(p, '\n') + 1) {
		ck_assert_ptr_nonnull(strchr(p, '\n'));
		if (line_is(p, "row")) {
			const char *key = strstr(p, "\"key\":[");
			uint64_t seq = strtoull(key + 7, NULL, 10);

			while (table && want <= last &&
			       strcmp(want % 2 ? "t2" : "t1", table) != 0)
				want++;
			ck_assert_msg(seq == want, "row %" PRIu64 " where %" PRIu64 " was due",
				      seq, want);
			want++;
			while (table && want <= last &&
			       strcmp(want % 2 ? "t2" : "t1", table) != 0)
				want++;
		} else if (line_is(p, "resolved")) {
			const char *at = strstr(p, "\"resolved\":\"") + 12;
			char hlc[CRDB_HLC_BUFSIZE + 2];

			snprintf(hlc, sizeof(hlc), "%.*s", (int)strcspn(at, "\""), at);
			ck_assert_msg(strlen(hlc) > strlen(prev_resolved) ||
				      (strlen(hlc) == strlen(prev_resolved) &&
				       strcmp(hlc, prev_resolved) > 0),
				      "resolved %s after %s", hlc, prev_resolved);
			snprintf(prev_resolved, sizeof(prev_resolved), "%s", hlc);
			resolved++;
		}
	}
	ck_assert_msg(want == last + 1, "rows end before %" PRIu64 " (last %" PRIu64 ")",
		      want, last);
	return resolved;
}

/* The text of the client's first line of a type, or fail. */
static const char *first_of(const struct client *c, const char *type)
{
	for (const char *p = c->in; p && *p; p = strchr(p, '\n') + 1)
		if (line_is(p, type))
			return p;
	ck_abort_msg("no %s line in: %s", type, c->in ? c->in : "(nothing)");
	return NULL;
}

/* ---- tests ------------------------------------------------------------------ */

START_TEST(grace_then_live)
{
	struct fx fx;
	struct sink_stats st;
	struct client *quiet, *asking;
	struct line *state;

	fx_open(&fx, SLOW_POLICY_JOURNAL, 65536, true);
	fx.cfg.replay_grace_ms = 1000;  /* longer than a settle() */
	release_until(&fx, 20);
	quiet = connect_client(&fx, NULL);
	asking = connect_client(&fx, "{\"tables\":[\"t1\"]}");
	/* During the grace period the quiet one gets nothing live; the one
	 * that asked is live from its request. */
	release_until(&fx, 30);
	state = line_new_state("f", "reconnecting", "a test", NULL);
	ck_assert_ptr_nonnull(state);
	sink_offer(fx.sink, state);
	line_unref(state);
	settle(&fx);
	ck_assert_uint_eq(count_type(quiet, "row"), 0);
	ck_assert_uint_eq(count_type(quiet, "state"), 1);
	ck_assert_uint_eq(count_type(asking, "state"), 2);
	sleep_ms(1000);
	pump(&fx);
	/* Live now: the state it missed is summed up by a fresh greeting. */
	settle(&fx);
	ck_assert_uint_eq(count_type(quiet, "state"), 2);
	release_until(&fx, 40);
	settle(&fx);
	check_stream(quiet, 31, 40, NULL);
	check_stream(asking, 21, 40, "t1");
	ck_assert(first_of(asking, "subscribed") < first_of(asking, "row"));
	sink_get_stats(fx.sink, &st);
	ck_assert(st.journaled);
	ck_assert_uint_eq(st.replaying, 0);
	ck_assert_uint_eq(st.replayed_lines, 0);
	ck_assert_uint_eq(st.max_seq_lag, 0);
	fx_close(&fx);
}
END_TEST

/* _i: 0 the journal leaves out a resolved line at `after`, 1 it gives it. */
START_TEST(after_replays_then_goes_live_without_gap_or_duplicate)
{
	struct fx fx;
	struct sink_stats st;
	struct client *c;
	size_t resolved;

	fx_open(&fx, SLOW_POLICY_JOURNAL, 16384, true);
	fx.journal.mark_at_after = _i;
	release_until(&fx, 600);
	c = connect_client(&fx, "{\"after\":100}");
	/* The feed keeps releasing while the subscriber replays and reads. */
	while (fx.journal.last_released < 1500) {
		release_until(&fx, fx.journal.last_released + 1);
		pump(&fx);
		client_read(c);
	}
	settle(&fx);
	resolved = check_stream(c, 101, 1500, NULL);
	/* Every resolved line after row 100 (one per 7 rows), once. */
	ck_assert_uint_eq(resolved, 1500 / 7 - 100 / 7);
	ck_assert_ptr_nonnull(strstr(first_of(c, "subscribed"), "\"after\":100"));
	sink_get_stats(fx.sink, &st);
	ck_assert_uint_eq(st.replaying, 0);      /* live at the end */
	ck_assert_uint_gt(st.replayed_lines, 500);
	/* ... and some lines came live, not all from the journal */
	ck_assert_uint_lt(st.replayed_lines, 1400 + resolved);
	ck_assert_uint_eq(fx.peak_replaying, 1);
	ck_assert_uint_gt(fx.peak_lag, 0);
	fx_close(&fx);
}
END_TEST

/* Rows committed but offered only after the subscriber read them from the
 * journal and went live are not taken twice. */
START_TEST(rows_read_from_the_journal_are_not_taken_again_live)
{
	struct fx fx;
	struct sink_stats st;
	struct client *c;
	size_t at;

	fx_open(&fx, SLOW_POLICY_JOURNAL, 65536, true);
	release_until(&fx, 50);
	at = commit_rows(&fx, 50);
	c = connect_client(&fx, "{\"after\":0}");
	settle(&fx);
	sink_get_stats(fx.sink, &st);
	ck_assert_uint_eq(st.replaying, 0);
	for (size_t i = at; i < fx.journal.n; i++)
		sink_offer(fx.sink, fx.journal.items[i]);
	release_until(&fx, 120);
	settle(&fx);
	check_stream(c, 1, 120, NULL);
	fx_close(&fx);
}
END_TEST

/* _i: 0 an HLC, 1 an RFC 3339 time; both equal to the updated of rows
 * 48, 49 and 50 (three rows share each second). */
START_TEST(since_takes_rows_at_or_after_it)
{
	static const char *const requests[] = {
		"{\"since\":\"1704164661000000000.0000000000\"}",
		"{\"since\":\"2024-01-02T03:04:21Z\"}",
	};
	struct fx fx;
	struct client *c;

	fx_open(&fx, SLOW_POLICY_JOURNAL, 65536, true);
	release_until(&fx, 200);
	c = connect_client(&fx, requests[_i]);
	release_until(&fx, 250);
	settle(&fx);
	check_stream(c, 48, 250, NULL);
	ck_assert_ptr_nonnull(strstr(first_of(c, "subscribed"),
				     "\"since\":\"1704164661000000000.0000000000\""));
	fx_close(&fx);
}
END_TEST

START_TEST(after_older_than_retention_gets_a_gap_line)
{
	struct fx fx;
	struct client *c;
	const char *gap;

	fx_open(&fx, SLOW_POLICY_JOURNAL, 65536, true);
	release_until(&fx, 400);
	fx.journal.first_kept = 301;
	c = connect_client(&fx, "{\"after\":100}");
	settle(&fx);
	gap = first_of(c, "gap");
	ck_assert_msg(strncmp(gap, "{\"v\":1,\"type\":\"gap\",\"feed\":\"f\",\"after\":100,\"first\":301}\n",
			      strlen("{\"v\":1,\"type\":\"gap\",\"feed\":\"f\",\"after\":100,\"first\":301}\n")) == 0,
		      "gap line: %.80s", gap);
	ck_assert(gap < first_of(c, "row"));
	ck_assert_uint_eq(count_type(c, "gap"), 1);
	check_stream(c, 301, 400, NULL);
	/* A position right before the first kept is no gap. */
	connect_client(&fx, "{\"after\":300}");
	settle(&fx);
	ck_assert_uint_eq(count_type(&fx.clients[1], "gap"), 0);
	check_stream(&fx.clients[1], 301, 400, NULL);
	fx_close(&fx);
}
END_TEST

/* The client got an error line containing `error` (as JSON escapes it)
 * and was closed. */
static void assert_refused(struct fx *fx, struct client *c, const char *error)
{
	struct sink_stats st;
	char escaped[512];
	size_t n = 0;

	for (const char *p = error; *p && n + 3 < sizeof(escaped); p++) {
		if (*p == '"')
			escaped[n++] = '\\';
		escaped[n++] = *p;
	}
	escaped[n] = '\0';
	settle(fx);
	ck_assert(c->eof);
	ck_assert_msg(strstr(first_of(c, "error"), escaped) != NULL,
		      "wanted \"%s\" in: %s", escaped, c->in);
	ck_assert_uint_eq(count_type(c, "row"), 0);
	sink_get_stats(fx->sink, &st);
	ck_assert_uint_eq(st.subscribers, 0);
}

START_TEST(after_in_the_future_is_refused)
{
	struct fx fx;

	fx_open(&fx, SLOW_POLICY_JOURNAL, 65536, true);
	release_until(&fx, 50);
	assert_refused(&fx, connect_client(&fx, "{\"after\":51}"),
		       "\"after\" 51 is in the future: the feed's last seq is 50");
	fx_close(&fx);
}
END_TEST

START_TEST(after_or_since_on_a_stream_feed_is_refused)
{
	struct fx fx;

	fx_open(&fx, SLOW_POLICY_DISCONNECT, 65536, false);
	release_until(&fx, 10);
	assert_refused(&fx, connect_client(&fx, "{\"after\":5}"),
		       "\"after\" needs an ordered feed; feed f has stream delivery: no journal to replay");
	assert_refused(&fx, connect_client(&fx, "{\"since\":\"2024-01-02T03:04:05Z\"}"),
		       "\"since\" needs an ordered feed; feed f has stream delivery: no journal to replay");
	fx_close(&fx);
}
END_TEST

START_TEST(after_past_the_grace_period_is_too_late)
{
	struct fx fx;
	struct client *c;

	fx_open(&fx, SLOW_POLICY_JOURNAL, 65536, true);
	release_until(&fx, 10);
	c = connect_client(&fx, NULL);
	sleep_ms(200);
	pump(&fx);
	ck_assert_int_eq(write(c->fd, "{\"after\":1}\n", 12), 12);
	assert_refused(&fx, c, "too late: \"after\" must come within 150 ms of connecting");
	fx_close(&fx);
}
END_TEST

START_TEST(slow_subscriber_reads_the_journal_then_rejoins)
{
	struct fx fx;
	struct sink_stats st;
	struct client *c;
	size_t line_len;

	fx_open(&fx, SLOW_POLICY_JOURNAL, 8192, true);
	c = connect_client(&fx, "{}");
	/* Not reading: the socket fills, then the queue, then it moves to
	 * the journal, while the feed goes on. */
	release_until(&fx, 3000);
	pump(&fx);
	sink_get_stats(fx.sink, &st);
	ck_assert_uint_eq(st.replaying, 1);
	ck_assert_uint_eq(st.subscribers, 1);
	ck_assert_uint_eq(st.disconnected_slow, 0);
	ck_assert_uint_gt(st.max_seq_lag, 0);
	line_len = fx.journal.items[0]->len;
	ck_assert_uint_le(fx.peak_queued, 8192 + REPLAY_BOUND_LINES * line_len);
	/* Reading again while the feed goes on: everything once, in order. */
	while (fx.journal.last_released < 4000) {
		release_until(&fx, fx.journal.last_released + 1);
		pump(&fx);
		client_read(c);
	}
	settle(&fx);
	ck_assert_uint_eq(check_stream(c, 1, 4000, NULL), 4000 / 7);
	sink_get_stats(fx.sink, &st);
	ck_assert_uint_eq(st.replaying, 0);
	ck_assert_uint_gt(st.replayed_lines, 0);
	ck_assert_uint_le(fx.peak_queued, 8192 + REPLAY_BOUND_LINES * line_len);
	fx_close(&fx);
}
END_TEST

START_TEST(journal_policy_without_a_journal_disconnects)
{
	struct fx fx;
	struct sink_stats st;
	struct client *c;

	fx_open(&fx, SLOW_POLICY_JOURNAL, 8192, false);
	c = connect_client(&fx, NULL);
	for (int i = 0; i < 3000 && !c->eof; i++) {
		release_row(&fx);
		pump(&fx);
		sink_get_stats(fx.sink, &st);
		if (!st.subscribers)
			break;
	}
	sink_get_stats(fx.sink, &st);
	ck_assert_uint_eq(st.subscribers, 0);
	ck_assert_uint_eq(st.disconnected_slow, 1);
	ck_assert(!st.journaled);
	fx_close(&fx);
}
END_TEST

START_TEST(sixteen_subscribers_four_replaying_stay_bounded)
{
	struct fx fx;
	struct sink_stats st;
	size_t line_len;

	fx_open(&fx, SLOW_POLICY_JOURNAL, 16384, true);
	release_until(&fx, 1000);
	line_len = fx.journal.items[0]->len;
	for (int i = 0; i < 16; i++)
		connect_client(&fx, i < 4 ? "{\"after\":0}" : "{}");
	/* The four replaying ones do not read yet; the twelve live ones do. */
	while (fx.journal.last_released < 1500) {
		release_until(&fx, fx.journal.last_released + 1);
		pump(&fx);
		for (size_t i = 4; i < 16; i++)
			client_read(&fx.clients[i]);
	}
	for (int i = 0; i < 300; i++) {
		pump(&fx);
		sleep_ms(1);
	}
	sink_get_stats(fx.sink, &st);
	ck_assert_uint_eq(st.replaying, 4);
	ck_assert_uint_eq(st.subscribers, 16);
	ck_assert_msg(fx.peak_queued <= 16384 + REPLAY_BOUND_LINES * line_len,
		      "a queue reached %zu bytes", fx.peak_queued);
	ck_assert_uint_le(st.queued_bytes, 4 * (16384 + REPLAY_BOUND_LINES * line_len));
	settle(&fx);
	for (size_t i = 0; i < 16; i++)
		ck_assert_uint_eq(check_stream(&fx.clients[i], i < 4 ? 1 : 1001, 1500, NULL),
				  i < 4 ? 1500 / 7 : 1500 / 7 - 1000 / 7);
	sink_get_stats(fx.sink, &st);
	ck_assert_uint_eq(st.replaying, 0);
	fx_close(&fx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("journaled sink");
	SRunner *sr;
	int failed;

	log_init(LOG_LEVEL_ERROR);
	signal(SIGPIPE, SIG_IGN);  /* as crdbfeedd's main does */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, grace_then_live);
	tcase_add_loop_test(tc, after_replays_then_goes_live_without_gap_or_duplicate, 0, 2);
	tcase_add_test(tc, rows_read_from_the_journal_are_not_taken_again_live);
	tcase_add_loop_test(tc, since_takes_rows_at_or_after_it, 0, 2);
	tcase_add_test(tc, after_older_than_retention_gets_a_gap_line);
	tcase_add_test(tc, after_in_the_future_is_refused);
	tcase_add_test(tc, after_or_since_on_a_stream_feed_is_refused);
	tcase_add_test(tc, after_past_the_grace_period_is_too_late);
	tcase_add_test(tc, slow_subscriber_reads_the_journal_then_rejoins);
	tcase_add_test(tc, journal_policy_without_a_journal_disconnects);
	tcase_add_test(tc, sixteen_subscribers_four_replaying_stay_bounded);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
