/*
 * check_sink_nats.c: a type = nats sink (daemon/sink_nats.c) against a fake
 * publisher (this file defines the nats_pub.h calls, so the archive's
 * nats_pub.o is never linked) and a journal played by the owner's
 * callbacks: rows go out in journal order with their subjects and
 * content-derived ids, at most max_pending at once; the acked position
 * only moves over a contiguous prefix; an ACK_ERROR publishes again from
 * it only once every outstanding ack is back and a backoff (100 ms
 * doubling, reset by a stored ack) has passed, shown in the status; a
 * resolved line goes out only once every line before it is acknowledged;
 * TOO_LARGE is passed over;
 * a high-water mark skips what the stream holds; the position file is
 * written and resumed from; a position below the first row kept is a gap;
 * retention is held back to the acked position; with the window full,
 * the journal is read again only once a quarter of it is free, and never
 * more lines than can be submitted.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "daemon/conf.h"
#include "daemon/encode.h"
#include "daemon/nats_pub.h"
#include "daemon/nats_subject.h"
#include "daemon/sink.h"
#include "daemon/stats.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define MAX_MSGS 256
#define NROWS 10
#define JOURNAL_MAX 64

/* ---- the fake publisher ---------------------------------------------------- */

struct sent {
	uint64_t tag, seq;
	bool resolved;
	char subject[NATS_SUBJECT_MAX];
	char msg_id[NATS_MSG_ID_BUFSIZE];
	char table[64];
};

struct nats_pub {
	struct nats_pub_callbacks cb;
	size_t max_pending;
	bool ready;
	struct sent sent[MAX_MSGS];
	size_t nsent;          /* submitted, ever */
	size_t nacked;         /* of those, acked (in order) */
	struct nats_pub_ack acks[MAX_MSGS];
	size_t nacks;          /* queued for take_acks */
	struct nats_pub_config cfg;
};

static struct nats_pub *fake;

struct nats_pub *nats_pub_open(struct event_base *base,
			       const struct nats_pub_config *cfg,
			       const struct nats_pub_callbacks *cb,
			       char *errbuf, size_t errlen)
{
	(void)base;
	(void)errbuf;
	(void)errlen;
	fake = calloc(1, sizeof(*fake));
	ck_assert_ptr_nonnull(fake);
	fake->cb = *cb;
	fake->cfg = *cfg;
	fake->max_pending = cfg->max_pending;
	return fake;
}

void nats_pub_close(struct nats_pub *p)
{
	if (p == fake)
		fake = NULL;
	free(p);
}

int nats_pub_submit(struct nats_pub *p, const struct nats_pub_msg *m,
		    char *errbuf, size_t errlen)
{
	struct sent *s;

	if (!p->ready) {
		snprintf(errbuf, errlen, "not ready");
		return -1;
	}
	if (p->nsent - p->nacked >= p->max_pending)
		return 1;
	ck_assert_uint_lt(p->nsent, MAX_MSGS);
	s = &p->sent[p->nsent++];
	s->tag = m->tag;
	s->seq = m->seq;
	s->resolved = m->resolved;
	snprintf(s->subject, sizeof(s->subject), "%s", m->subject);
	snprintf(s->msg_id, sizeof(s->msg_id), "%s", m->msg_id);
	snprintf(s->table, sizeof(s->table), "%s", m->table ? m->table : "");
	return 0;
}

size_t nats_pub_take_acks(struct nats_pub *p, struct nats_pub_ack *out,
			  size_t max)
{
	size_t n = p->nacks < max ? p->nacks : max;

	memcpy(out, p->acks, n * sizeof(*out));
	memmove(p->acks, p->acks + n, (p->nacks - n) * sizeof(*out));
	p->nacks -= n;
	return n;
}

size_t nats_pub_outstanding(const struct nats_pub *p)
{
	return p->nsent - p->nacked + p->nacks;
}

void nats_pub_get_stats(const struct nats_pub *p, struct nats_pub_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->published = p->nsent;
	out->state = p->ready ? NATS_PUB_READY : NATS_PUB_CONNECTING;
}

/* ---- the feed: a journal of NROWS rows, a resolved line after row 4 ---- */

struct fx {
	struct event_base *base;
	char dir[64];
	struct sink_config cfg;
	struct sink *sink;
	struct line *journal[JOURNAL_MAX];
	size_t njournal;
	uint64_t first_kept;
	size_t lines_read;     /* handed out by owner_read, ever */
};

static struct fx fx;

static crdb_hlc row_updated(uint64_t seq)
{
	return (crdb_hlc){ 1700000000000000000 + (int64_t)seq * 1000, 0 };
}

static struct line *make_row(uint64_t seq)
{
	char data[256], hlc[CRDB_HLC_BUFSIZE];
	struct line *line;
	int n;

	crdb_hlc_format(row_updated(seq), hlc);
	n = snprintf(data, sizeof(data),
		     "{\"v\":1,\"type\":\"row\",\"feed\":\"f\",\"table\":\"t\",\"key\":[%" PRIu64 "],\"op\":\"insert\",\"after\":{\"id\":%" PRIu64 "},\"updated\":\"%s\",\"seq\":%" PRIu64 "}\n",
		     seq, seq, hlc, seq);
	line = line_new_bytes(LINE_ROW, CRDB_OP_INSERT, "t", 1, data, (size_t)n);
	ck_assert_ptr_nonnull(line);
	line->seq = seq;
	line->updated = row_updated(seq);
	return line;
}

static const char *owner_name(void *arg)
{
	(void)arg;
	return "f";
}

static int owner_read(void *arg, uint64_t after, size_t max,
		      void (*fn)(struct line *line, void *fnarg), void *fnarg,
		      char *errbuf, size_t errlen)
{
	size_t n = 0;

	(void)arg;
	(void)errbuf;
	(void)errlen;
	for (size_t i = 0; i < fx.njournal && n < max; i++) {
		struct line *line = fx.journal[i];

		if (line->kind == LINE_ROW && line->seq < fx.first_kept)
			continue;
		if (line->kind == LINE_ROW ? line->seq <= after : line->seq < after + 1)
			continue;
		fn(line_ref(line), fnarg);
		n++;
	}
	fx.lines_read += n;
	return (int)n;
}

static void owner_bounds(void *arg, uint64_t *first_kept, uint64_t *last_released)
{
	(void)arg;
	*first_kept = fx.first_kept;
	*last_released = fx.journal[fx.njournal - 1]->seq;
}

static uint32_t owner_epoch(void *arg)
{
	(void)arg;
	return 1;
}

static const char *owner_state_dir(void *arg)
{
	(void)arg;
	return fx.dir;
}

static void run_loop(void)
{
	for (int i = 0; i < 8; i++)
		event_base_loop(fx.base, EVLOOP_NONBLOCK);
}

static void open_sink(void)
{
	struct sink_owner owner = {
		.name = owner_name,
		.replay_read = owner_read,
		.replay_bounds = owner_bounds,
		.replay_epoch = owner_epoch,
		.state_dir = owner_state_dir,
	};
	char errbuf[256];

	fx.sink = sink_open(fx.base, &fx.cfg, &owner, errbuf, sizeof(errbuf));
	ck_assert_msg(fx.sink != NULL, "sink_open: %s", errbuf);
	ck_assert_ptr_nonnull(fake);
}

static void close_sink(void)
{
	sink_close(fx.sink, NULL);
	run_loop(); /* the deferred free */
	fx.sink = NULL;
}

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	fx.base = event_base_new();
	ck_assert_ptr_nonnull(fx.base);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/check_sink_nats.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	static char name[] = "bus", feed[] = "f", prefix[] = "cdc";

	fx.cfg.name = name;
	fx.cfg.feed = feed;
	fx.cfg.type = SINK_NATS;
	fx.cfg.nats.subject_prefix = prefix;
	fx.cfg.nats_max_pending = 4;
	fx.cfg.nats_ack_timeout_ms = 1000;
	fx.cfg.nats_duplicate_window_ms = 120000;
	fx.cfg.nats_replicas = 1;
	fx.first_kept = 1;
	for (uint64_t seq = 1; seq <= NROWS; seq++) {
		fx.journal[fx.njournal++] = make_row(seq);
		if (seq == 4) {
			fx.journal[fx.njournal] = line_new_resolved_seq("f", row_updated(4), 4);
			ck_assert_ptr_nonnull(fx.journal[fx.njournal]);
			fx.njournal++;
		}
	}
}

static void teardown(void)
{
	char path[128];

	if (fx.sink)
		close_sink();
	for (size_t i = 0; i < fx.njournal; i++)
		line_unref(fx.journal[i]);
	snprintf(path, sizeof(path), "%s/bus.nats", fx.dir);
	unlink(path);
	rmdir(fx.dir);
	event_base_free(fx.base);
}

/* ---- driving it ----------------------------------------------------------- */

static void ready(const struct nats_high_water *hw)
{
	fake->ready = true;
	fake->cb.state(fake->cb.arg, NATS_PUB_READY, NULL, hw);
	run_loop();
}

/* Acknowledge the next submitted message with result. */
static void ack_next(enum nats_pub_result result)
{
	struct sent *s;

	ck_assert_uint_lt(fake->nacked, fake->nsent);
	s = &fake->sent[fake->nacked++];
	fake->acks[fake->nacks++] = (struct nats_pub_ack){
		.tag = s->tag, .result = result, .stream_seq = fake->nacked,
	};
}

static void deliver_acks(void)
{
	fake->cb.acks(fake->cb.arg);
	run_loop();
}

/* Run the loop for ms (timers included). */
static void run_for_ms(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(fx.base, &tv);
	event_base_dispatch(fx.base);
}

/* Fail every outstanding message; 1 when there was any. */
static int fail_outstanding(void)
{
	if (fake->nacked == fake->nsent)
		return 0;
	while (fake->nacked < fake->nsent)
		ack_next(NATS_PUB_ACK_ERROR);
	deliver_acks();
	return 1;
}

static void ack_all_stored(void)
{
	while (fake->nacked < fake->nsent) {
		while (fake->nacked < fake->nsent)
			ack_next(NATS_PUB_ACK_STORED);
		deliver_acks();
	}
}

static struct sink_stats stats(void)
{
	struct sink_stats st;

	sink_get_stats(fx.sink, &st);
	return st;
}

static void write_position(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/bus.nats", fx.dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void read_position(char *buf, size_t cap)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/bus.nats", fx.dir);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "no position file");
	ck_assert_ptr_nonnull(fgets(buf, (int)cap, f));
	fclose(f);
}

/* ---- the tests --------------------------------------------------------------- */

START_TEST(test_order_window_and_names)
{
	char want_id[NATS_MSG_ID_BUFSIZE], err[128], pos[128];

	open_sink();
	ck_assert_str_eq(fake->cfg.stream.subjects, "cdc.f.>");
	run_loop();
	ck_assert_uint_eq(fake->nsent, 0); /* not ready: nothing */
	ready(NULL);
	ck_assert_uint_eq(fake->nsent, 4); /* max_pending */
	ack_all_stored();
	ck_assert_uint_eq(fake->nsent, NROWS + 1);
	/* Rows 1-4, the resolved line covering them, rows 5-10. */
	for (size_t i = 0, seq = 1; i < fake->nsent; i++) {
		const struct sent *s = &fake->sent[i];

		if (i == 4) {
			ck_assert(s->resolved);
			ck_assert_str_eq(s->subject, "cdc.f._resolved");
			ck_assert_uint_eq(s->seq, 4);
			continue;
		}
		ck_assert(!s->resolved);
		ck_assert_uint_eq(s->seq, seq);
		ck_assert_str_eq(s->subject, "cdc.f.t");
		ck_assert_str_eq(s->table, "t");
		char key[32];
		snprintf(key, sizeof(key), "[%zu]", seq);
		ck_assert_int_eq(nats_msg_id_row(want_id, "f", 1, row_updated(seq), "t", 1,
						 key, strlen(key), err, sizeof(err)), 0);
		ck_assert_str_eq(s->msg_id, want_id);
		seq++;
	}
	ck_assert_uint_eq(stats().nats_acked_seq, NROWS);
	/* Retention keeps what the position file does not cover yet. */
	ck_assert_uint_eq(sink_keep_after(fx.sink), 0);
	struct timeval wait = { 1, 200000 };
	event_base_loopexit(fx.base, &wait);
	event_base_dispatch(fx.base);
	ck_assert_uint_eq(sink_keep_after(fx.sink), NROWS); /* saved once a second */
	close_sink();
	read_position(pos, sizeof(pos));
	ck_assert_str_eq(pos, "seq 10 epoch 1 resolved 1700000000000004000.0000000000\n");
}
END_TEST

START_TEST(test_error_waits_then_republishes)
{
	open_sink();
	ready(NULL);
	ck_assert_uint_eq(fake->nsent, 4);
	ack_next(NATS_PUB_ACK_STORED);     /* row 1 */
	ack_next(NATS_PUB_ACK_ERROR);      /* row 2 */
	deliver_acks();
	/* Rows 3 and 4 are still out: nothing new, nothing again. */
	ck_assert_uint_eq(fake->nsent, 4);
	ck_assert_uint_eq(stats().nats_acked_seq, 1);
	ack_next(NATS_PUB_ACK_STORED);     /* row 3 */
	ack_next(NATS_PUB_ACK_STORED);     /* row 4 */
	deliver_acks();
	/* Not at once: after the backoff's first step (at most 100 ms). */
	ck_assert_uint_eq(fake->nsent, 4);
	ck_assert_str_eq(stats().nats_state, "backoff");
	ck_assert_msg(strstr(stats().nats_error, "publishing again from seq 1") != NULL,
		      "%s", stats().nats_error);
	run_for_ms(150);
	ck_assert_str_eq(stats().nats_state, "ready");
	ck_assert_str_eq(stats().nats_error, "");
	/* Now from the acked position: row 2 again. */
	ck_assert_uint_ge(fake->nsent, 5);
	ck_assert_uint_eq(fake->sent[4].seq, 2);
	ck_assert(!fake->sent[4].resolved);
	ck_assert_uint_eq(stats().nats_errors, 1);
	ack_all_stored();
	ck_assert_uint_eq(stats().nats_acked_seq, NROWS);
}
END_TEST

/* A stream without a leader fails every publish at once: 600 ms of it
 * gives a few rounds (waits of 50-100, 100-200, 200-400 ms), not a
 * storm; the first stored ack brings the wait back to its start. */
START_TEST(test_ack_errors_back_off)
{
	size_t rounds = 0, sent_before;

	open_sink();
	ready(NULL);
	for (int ms = 0; ms < 600; ms += 5) {
		rounds += (size_t)fail_outstanding();
		ck_assert_uint_lt(fake->nsent, MAX_MSGS - 8);
		run_for_ms(5);
	}
	ck_assert_msg(rounds >= 2 && rounds <= 5, "%zu rounds in 600 ms", rounds);
	ck_assert_uint_eq(stats().nats_backoffs, rounds);
	ck_assert_uint_eq(stats().nats_acked_seq, 0);
	/* The next round stores: the wait after the next error is short. */
	run_for_ms(1000);
	ck_assert_uint_gt(fake->nsent, fake->nacked);
	ack_next(NATS_PUB_ACK_STORED);    /* row 1 */
	while (fake->nacked < fake->nsent)
		ack_next(NATS_PUB_ACK_ERROR);
	deliver_acks();
	sent_before = fake->nsent;
	run_for_ms(150);
	ck_assert_uint_gt(fake->nsent, sent_before);
	ck_assert_uint_eq(fake->sent[sent_before].seq, 2);
	ack_all_stored();
	ck_assert_uint_eq(stats().nats_acked_seq, NROWS);
}
END_TEST

/* With room for more, the resolved line after row 4 still waits for the
 * acks of rows 1-4. */
START_TEST(test_resolved_waits_for_acks)
{
	fx.cfg.nats_max_pending = 8;
	open_sink();
	ready(NULL);
	ck_assert_uint_eq(fake->nsent, 4);
	ack_next(NATS_PUB_ACK_STORED);
	ack_next(NATS_PUB_ACK_STORED);
	ack_next(NATS_PUB_ACK_DUPLICATE);
	deliver_acks();
	ck_assert_uint_eq(fake->nsent, 4);
	ack_next(NATS_PUB_ACK_STORED);
	deliver_acks();
	ck_assert_uint_eq(fake->nsent, NROWS + 1);
	ck_assert(fake->sent[4].resolved);
	ck_assert_uint_eq(fake->sent[5].seq, 5);
	ack_all_stored();
	ck_assert_uint_eq(stats().nats_acked_seq, NROWS);
}
END_TEST

/* Rows 1..count only, no resolved line. */
static void journal_of_rows(uint64_t count)
{
	ck_assert_uint_le(count, JOURNAL_MAX);
	for (size_t i = 0; i < fx.njournal; i++)
		line_unref(fx.journal[i]);
	fx.njournal = 0;
	for (uint64_t seq = 1; seq <= count; seq++)
		fx.journal[fx.njournal++] = make_row(seq);
}

START_TEST(test_full_window_reads_in_shares)
{
	journal_of_rows(40);
	fx.cfg.nats_max_pending = 16;
	open_sink();
	ready(NULL);
	ck_assert_uint_eq(fake->nsent, 16);
	/* The window's worth and the row at the position, nothing that
	 * would be read again. */
	ck_assert_uint_eq(fx.lines_read, 17);
	/* Under a quarter of the window free: no journal read. */
	for (int i = 0; i < 3; i++)
		ack_next(NATS_PUB_ACK_STORED);
	deliver_acks();
	ck_assert_uint_eq(fake->nsent, 16);
	ck_assert_uint_eq(fx.lines_read, 17);
	/* A quarter free: one chunk of the free slots and the position's
	 * row. */
	ack_next(NATS_PUB_ACK_STORED);
	deliver_acks();
	ck_assert_uint_eq(fake->nsent, 20);
	ck_assert_uint_eq(fx.lines_read, 22);
	ack_all_stored();
	ck_assert_uint_eq(fake->nsent, 40);
	ck_assert_uint_eq(stats().nats_acked_seq, 40);
	for (size_t i = 0; i < fake->nsent; i++)
		ck_assert_uint_eq(fake->sent[i].seq, i + 1);
}
END_TEST

START_TEST(test_too_large_passed_over)
{
	open_sink();
	ready(NULL);
	ack_next(NATS_PUB_ACK_TOO_LARGE);  /* row 1 */
	ack_next(NATS_PUB_ACK_DUPLICATE);  /* row 2 */
	deliver_acks();
	ck_assert_uint_eq(stats().nats_acked_seq, 2);
	ck_assert_uint_eq(stats().nats_too_large, 1);
	ck_assert_uint_eq(stats().nats_duplicates, 1);
	ack_all_stored();
	ck_assert_uint_eq(stats().nats_acked_seq, NROWS);
	ck_assert_uint_eq(fake->nsent, NROWS + 1); /* none published twice */
}
END_TEST

START_TEST(test_high_water_skips)
{
	struct nats_high_water hw = { .any = true, .stream_seq = 77,
				      .resolved = false, .updated = row_updated(6) };

	open_sink();
	ready(&hw);
	/* Rows 1-5 and the resolved line are in the stream; row 6 may have
	 * company at its timestamp: published again. */
	ck_assert_uint_ge(fake->nsent, 1);
	ck_assert_uint_eq(fake->sent[0].seq, 6);
	ck_assert_uint_eq(stats().nats_skipped, 6);
	ack_all_stored();
	ck_assert_uint_eq(fake->nsent, NROWS - 5);
	ck_assert_uint_eq(stats().nats_acked_seq, NROWS);
}
END_TEST

START_TEST(test_resumes_from_position)
{
	write_position("seq 6 epoch 1 resolved 1700000000000004000.0000000000\n");
	open_sink();
	ck_assert_uint_eq(sink_keep_after(fx.sink), 6);
	ready(NULL);
	ck_assert_uint_eq(fake->sent[0].seq, 7);
	ck_assert(!fake->sent[0].resolved);
	ack_all_stored();
	ck_assert_uint_eq(fake->nsent, NROWS - 6);
	ck_assert_uint_eq(stats().nats_gaps, 0);
}
END_TEST

START_TEST(test_position_past_journal)
{
	write_position("seq 50 epoch 1 resolved 0.0000000000\n");
	open_sink();
	ready(NULL);
	ck_assert_uint_eq(fake->sent[0].seq, 1);
	ack_all_stored();
	ck_assert_uint_eq(fake->nsent, NROWS + 1);
}
END_TEST

START_TEST(test_gap_below_first_kept)
{
	fx.first_kept = 6;
	open_sink();
	ready(NULL);
	ck_assert_uint_eq(stats().nats_gaps, 1);
	ck_assert_uint_eq(fake->sent[0].seq, 6);
	ck_assert(!fake->sent[0].resolved);
	ack_all_stored();
	ck_assert_uint_eq(stats().nats_acked_seq, NROWS);
}
END_TEST

START_TEST(test_bad_position_file_refused)
{
	char errbuf[256];
	struct sink_owner owner = {
		.name = owner_name,
		.replay_read = owner_read,
		.replay_bounds = owner_bounds,
		.replay_epoch = owner_epoch,
		.state_dir = owner_state_dir,
	};

	write_position("garbage\n");
	ck_assert_ptr_null(sink_open(fx.base, &fx.cfg, &owner, errbuf, sizeof(errbuf)));
	ck_assert_msg(strstr(errbuf, "bus.nats") != NULL, "%s", errbuf);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sink_nats");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_order_window_and_names);
	tcase_add_test(tc, test_error_waits_then_republishes);
	tcase_add_test(tc, test_ack_errors_back_off);
	tcase_add_test(tc, test_resolved_waits_for_acks);
	tcase_add_test(tc, test_full_window_reads_in_shares);
	tcase_add_test(tc, test_too_large_passed_over);
	tcase_add_test(tc, test_high_water_skips);
	tcase_add_test(tc, test_resumes_from_position);
	tcase_add_test(tc, test_position_past_journal);
	tcase_add_test(tc, test_gap_below_first_kept);
	tcase_add_test(tc, test_bad_position_file_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
