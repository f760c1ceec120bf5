/*
 * check_ordered.c: a feed's ordered delivery (daemon/ordered.c) over a
 * real journal and hold in a temporary state directory, with no
 * connection: the test plays the changefeed (rows and resolved
 * timestamps) and records what would go to the sinks. It checks the
 * sequence, the order and the groups, that nothing is published before
 * its resolved timestamp, that a reopened feed goes on with the next seq
 * and drops what it released, that a late row goes out flagged, that a
 * stream checkpoint newer than the journal starts a new one, that
 * replay reads back exactly what was published, and that a large window
 * goes out chunk by chunk from the event loop, each chunk committed before
 * it is published (a crash between chunks repeats none of it), the owner
 * told of the checkpoint when the last chunk commits and of a later
 * chunk's failure at once, and that a commit stalled on a full journal
 * goes in with its own resolved timestamp, not a newer one that came
 * during the stall while rows below it were still held; and that a
 * deferred release (a busy feed) waits for the input to be read, for a
 * chunk of held rows or for its deadline, and then commits every window
 * it covers at once.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "daemon/conf.h"
#include "daemon/encode.h"
#include "daemon/journal.h"
#include "daemon/order.h"
#include "daemon/ordered.h"

#include <check.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define MAX_SEEN 8192 /* lines recorded: more than a chunk (4,096) + 1 */
#define BIG_WINDOW 3000 /* rows: more than a window released in one commit */

struct recorder {
	struct line *lines[MAX_SEEN];
	size_t n;
	bool stalled;
	crdb_hlc committed;     /* the last checkpoint the owner was told */
	int ncommitted;
	char failed[256];       /* the last failure the owner was told */
	int nfailed;
};

static void rec_publish(void *arg, struct line *line)
{
	struct recorder *r = arg;

	ck_assert_uint_lt(r->n, MAX_SEEN);
	r->lines[r->n++] = line;
}

static void rec_stalled(void *arg, bool stalled, const char *why)
{
	((struct recorder *)arg)->stalled = stalled;
}

static void rec_committed(void *arg, crdb_hlc checkpoint)
{
	struct recorder *r = arg;

	r->committed = checkpoint;
	r->ncommitted++;
}

static void rec_failed(void *arg, const char *why)
{
	struct recorder *r = arg;

	snprintf(r->failed, sizeof(r->failed), "%s", why);
	r->nfailed++;
}

static void rec_clear(struct recorder *r)
{
	for (size_t i = 0; i < r->n; i++)
		line_unref(r->lines[i]);
	r->n = 0;
}

struct fx {
	struct event_base *base;
	char dir[64];
	struct feed_config cfg;
	struct recorder rec;
	struct ordered *o;
	bool (*admit)(void *arg, const struct order_row *row);
};

static void fx_open(struct fx *fx, crdb_hlc stream_checkpoint, bool start_over)
{
	char errbuf[512];
	struct ordered_owner owner = { rec_publish, rec_stalled, &fx->rec,
				       fx->admit, NULL, rec_committed,
				       rec_failed };

	fx->o = ordered_open(fx->base, fx->dir, "f", "feed f", &fx->cfg,
			     stream_checkpoint, start_over, &owner, errbuf,
			     sizeof(errbuf));
	ck_assert_msg(fx->o != NULL, "ordered_open: %s", errbuf);
}

static void fx_init(struct fx *fx)
{
	memset(fx, 0, sizeof(*fx));
	journal_set_commit_fault(JOURNAL_OK);
	order_set_release_fault(false);
	fx->base = event_base_new();
	ck_assert_ptr_nonnull(fx->base);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/check_ordered.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx->dir));
	fx->cfg.hold_memory = 1 << 20;
	fx->cfg.journal_max_size = 1 << 20;
	fx->cfg.journal_retention_ms = 0;
	fx_open(fx, (crdb_hlc){ 0, 0 }, false);
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	return remove(path);
}

static void fx_done(struct fx *fx)
{
	ordered_close(fx->o);
	rec_clear(&fx->rec);
	event_base_free(fx->base);
	nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static crdb_hlc T(int64_t wall)
{
	return (crdb_hlc){ wall, 0 };
}

/* A row line as the encoder makes it, offered as the changefeed would. */
static enum ordered_row_result fx_row(struct fx *fx, const char *table,
				      const char *key, int64_t updated)
{
	char text[256], errbuf[256];
	struct line *line;
	enum ordered_row_result rc;
	int n = snprintf(text, sizeof(text),
			 "{\"v\":1,\"type\":\"row\",\"feed\":\"f\",\"table\":\"%s\",\"key\":%s,\"op\":\"upsert\",\"after\":{},\"updated\":\"%" PRId64 ".0000000000\"}\n",
			 table, key, updated);

	line = line_new_bytes(LINE_ROW, CRDB_OP_UPSERT, table, strlen(table), text,
			      (size_t)n);
	ck_assert_ptr_nonnull(line);
	line->updated = T(updated);
	rc = ordered_row(fx->o, line, key, strlen(key), errbuf, sizeof(errbuf));
	ck_assert_msg(rc != ORDERED_ERROR, "ordered_row: %s", errbuf);
	line_unref(line);
	return rc;
}

static void fx_resolved(struct fx *fx, int64_t wall)
{
	char errbuf[256];

	ck_assert_msg(ordered_resolved(fx->o, T(wall), "f", errbuf, sizeof(errbuf)) == 0,
		      "ordered_resolved: %s", errbuf);
}

/* The published line i has these bytes after the row's own fields. */
static void assert_tail(const struct fx *fx, size_t i, const char *tail)
{
	const struct line *line = fx->rec.lines[i];
	size_t tl = strlen(tail);

	ck_assert_uint_ge(line->len, tl);
	ck_assert_msg(memcmp(line->data + line->len - tl, tail, tl) == 0,
		      "line %zu is %.*s, expected it to end with %s", i,
		      (int)line->len, line->data, tail);
}

static bool has(const struct line *line, const char *text)
{
	return memmem(line->data, line->len, text, strlen(text)) != NULL;
}

START_TEST(released_in_order_with_seq_and_groups)
{
	struct fx fx;

	fx_init(&fx);
	ck_assert_int_eq(fx_row(&fx, "b", "[2]", 200), ORDERED_HELD);
	ck_assert_int_eq(fx_row(&fx, "a", "[9]", 200), ORDERED_HELD);
	ck_assert_int_eq(fx_row(&fx, "a", "[1]", 100), ORDERED_HELD);
	ck_assert_int_eq(fx_row(&fx, "a", "[5]", 300), ORDERED_HELD);
	/* a duplicate on this side of the resolved timestamp */
	ck_assert_int_eq(fx_row(&fx, "a", "[9]", 200), ORDERED_DUPLICATE);
	ck_assert_uint_eq(fx.rec.n, 0);
	fx_resolved(&fx, 250);
	/* 100 alone, then 200: a before b; 300 waits */
	ck_assert_uint_eq(fx.rec.n, 4);
	ck_assert(has(fx.rec.lines[0], "\"key\":[1]"));
	assert_tail(&fx, 0, ",\"seq\":1,\"group_end\":true}\n");
	ck_assert(has(fx.rec.lines[1], "\"table\":\"a\",\"key\":[9]"));
	assert_tail(&fx, 1, "\"updated\":\"200.0000000000\",\"seq\":2}\n");
	ck_assert(has(fx.rec.lines[2], "\"table\":\"b\",\"key\":[2]"));
	assert_tail(&fx, 2, ",\"seq\":3,\"group_end\":true}\n");
	ck_assert_int_eq(fx.rec.lines[3]->kind, LINE_RESOLVED);
	assert_tail(&fx, 3, "\"resolved\":\"250.0000000000\",\"seq\":3}\n");
	ck_assert_uint_eq(ordered_last_seq(fx.o), 3);
	ck_assert_int_eq(ordered_checkpoint(fx.o).wall, 250);
	/* a repeat says nothing; an empty window gives a resolved line */
	fx_resolved(&fx, 250);
	ck_assert_uint_eq(fx.rec.n, 4);
	fx_resolved(&fx, 260);
	ck_assert_uint_eq(fx.rec.n, 5);
	assert_tail(&fx, 4, "\"resolved\":\"260.0000000000\",\"seq\":3}\n");
	/* duplicates of released rows, below the resolved timestamp */
	ck_assert_int_eq(fx_row(&fx, "a", "[1]", 100), ORDERED_DUPLICATE);
	ck_assert_int_eq(fx_row(&fx, "b", "[2]", 200), ORDERED_DUPLICATE);
	ck_assert_uint_eq(fx.rec.n, 5);
	fx_done(&fx);
}
END_TEST

/* The owner's filter: rows of table x get no seq. */
static bool admit_but_x(void *arg, const struct order_row *row)
{
	return !(row->table_len == 1 && row->table[0] == 'x');
}

START_TEST(rows_not_admitted_get_no_seq)
{
	struct fx fx;

	fx_init(&fx);
	ordered_close(fx.o);
	fx.admit = admit_but_x;
	fx_open(&fx, (crdb_hlc){ 0, 0 }, false);
	fx_row(&fx, "a", "[1]", 100);
	fx_row(&fx, "x", "[2]", 100);
	fx_row(&fx, "x", "[1]", 200);
	fx_row(&fx, "a", "[3]", 300);
	fx_row(&fx, "a", "[4]", 300);
	fx_resolved(&fx, 350);
	/* Contiguous seqs; a group whose last row is refused ends on the
	 * row before it; a group all refused is not there. */
	ck_assert_uint_eq(fx.rec.n, 4);
	ck_assert(has(fx.rec.lines[0], "\"key\":[1]"));
	assert_tail(&fx, 0, "\"updated\":\"100.0000000000\",\"seq\":1,\"group_end\":true}\n");
	ck_assert_uint_eq(fx.rec.lines[0]->seq, 1);
	ck_assert_int_eq(fx.rec.lines[0]->updated.wall, 100);
	ck_assert_str_eq(fx.rec.lines[0]->table, "a");
	assert_tail(&fx, 1, "\"updated\":\"300.0000000000\",\"seq\":2}\n");
	assert_tail(&fx, 2, "\"updated\":\"300.0000000000\",\"seq\":3,\"group_end\":true}\n");
	assert_tail(&fx, 3, "\"resolved\":\"350.0000000000\",\"seq\":3}\n");
	/* A late row refused is not delivered either. */
	ck_assert_int_eq(fx_row(&fx, "x", "[9]", 310), ORDERED_LATE);
	ck_assert_uint_eq(fx.rec.n, 4);
	ck_assert_uint_eq(ordered_last_seq(fx.o), 3);
	fx_done(&fx);
}
END_TEST

START_TEST(reopen_goes_on_and_drops_released)
{
	struct fx fx;

	fx_init(&fx);
	fx_row(&fx, "a", "[1]", 100);
	fx_row(&fx, "a", "[2]", 150);
	fx_row(&fx, "a", "[3]", 300); /* held when the process goes */
	fx_resolved(&fx, 200);
	ck_assert_uint_eq(ordered_last_seq(fx.o), 2);
	ordered_close(fx.o);
	rec_clear(&fx.rec);

	fx_open(&fx, (crdb_hlc){ 0, 0 }, false);
	ck_assert_uint_eq(ordered_last_seq(fx.o), 2);
	ck_assert_int_eq(ordered_checkpoint(fx.o).wall, 200);
	/* the changefeed resumes from 200: nothing at or below it is new */
	ck_assert_int_eq(fx_row(&fx, "a", "[2]", 150), ORDERED_DUPLICATE);
	ck_assert_int_eq(fx_row(&fx, "a", "[3]", 300), ORDERED_HELD);
	fx_resolved(&fx, 400);
	ck_assert_uint_eq(fx.rec.n, 2);
	assert_tail(&fx, 0, ",\"seq\":3,\"group_end\":true}\n");
	fx_done(&fx);
}
END_TEST

START_TEST(late_row_goes_out_flagged)
{
	struct fx fx;

	fx_init(&fx);
	fx_row(&fx, "a", "[1]", 100);
	fx_resolved(&fx, 200);
	rec_clear(&fx.rec);
	/* below the released resolved timestamp and never released */
	ck_assert_int_eq(fx_row(&fx, "a", "[7]", 150), ORDERED_LATE);
	ck_assert_uint_eq(fx.rec.n, 1);
	assert_tail(&fx, 0, ",\"seq\":2,\"late\":true,\"group_end\":true}\n");
	/* and once only */
	ck_assert_int_eq(fx_row(&fx, "a", "[7]", 150), ORDERED_DUPLICATE);
	fx_done(&fx);
}
END_TEST

START_TEST(newer_stream_checkpoint_starts_a_new_journal)
{
	struct fx fx;
	uint64_t first, last;

	fx_init(&fx);
	fx_row(&fx, "a", "[1]", 100);
	fx_row(&fx, "a", "[2]", 110);
	fx_resolved(&fx, 200);
	ordered_close(fx.o);
	rec_clear(&fx.rec);
	/* the feed ran with stream delivery up to 500 since */
	fx_open(&fx, T(500), false);
	ck_assert_int_eq(ordered_checkpoint(fx.o).wall, 500);
	ck_assert_uint_eq(ordered_last_seq(fx.o), 2);
	ordered_replay_bounds(fx.o, &first, &last);
	ck_assert_uint_eq(first, 3);
	ck_assert_uint_eq(last, 2);
	fx_row(&fx, "a", "[1]", 600);
	fx_resolved(&fx, 700);
	assert_tail(&fx, 0, ",\"seq\":3,\"group_end\":true}\n");
	fx_done(&fx);
}
END_TEST

struct replayed {
	struct line *lines[MAX_SEEN];
	size_t n;
};

static void take(struct line *line, void *arg)
{
	struct replayed *r = arg;

	ck_assert_uint_lt(r->n, MAX_SEEN);
	r->lines[r->n++] = line;
}

START_TEST(replay_reads_what_was_published)
{
	struct fx fx;
	struct replayed r = { .n = 0 };
	char errbuf[256];
	uint64_t after = 99;
	int n;

	fx_init(&fx);
	fx_row(&fx, "a", "[1]", 100);
	fx_row(&fx, "a", "[2]", 100);
	fx_row(&fx, "a", "[3]", 300);
	fx_resolved(&fx, 200);
	fx_resolved(&fx, 400);
	ck_assert_uint_eq(fx.rec.n, 5); /* 1 2 R200 3 R400 */
	n = ordered_replay_read(fx.o, "f", 1, 100, take, &r, errbuf, sizeof(errbuf));
	ck_assert_msg(n >= 0, "replay: %s", errbuf);
	ck_assert_uint_eq(r.n, 4);
	for (size_t i = 0; i < r.n; i++) {
		const struct line *want = fx.rec.lines[i + 1];

		ck_assert_int_eq(r.lines[i]->kind, want->kind);
		ck_assert_uint_eq(r.lines[i]->seq, want->seq);
		ck_assert_mem_eq(r.lines[i]->data, want->data, want->len);
		line_unref(r.lines[i]);
	}
	ck_assert_int_eq(ordered_replay_seek(fx.o, T(250), &after, errbuf,
					     sizeof(errbuf)), 0);
	ck_assert_uint_le(after, 2);
	fx_done(&fx);
}
END_TEST

/* Rows [0] to [n-1] of table a, ten to a commit timestamp from 1000. */
static void fx_big_window(struct fx *fx, int n, enum ordered_row_result want)
{
	for (int i = 0; i < n; i++) {
		char key[32];

		snprintf(key, sizeof(key), "[%d]", i);
		ck_assert_int_eq(fx_row(fx, "a", key, 1000 + i / 10), want);
	}
}

static void fx_run_loop(struct fx *fx)
{
	for (int i = 0; i < 100; i++)
		event_base_loop(fx->base, EVLOOP_NONBLOCK);
}

/* Contiguous seqs from first, ending in the window's resolved line. */
static void assert_window(const struct fx *fx, uint64_t first, int64_t resolved)
{
	ck_assert_uint_ge(fx->rec.n, 1);
	for (size_t i = 0; i + 1 < fx->rec.n; i++) {
		ck_assert_int_eq(fx->rec.lines[i]->kind, LINE_ROW);
		ck_assert_uint_eq(fx->rec.lines[i]->seq, first + i);
	}
	ck_assert_int_eq(fx->rec.lines[fx->rec.n - 1]->kind, LINE_RESOLVED);
	ck_assert_int_eq(ordered_checkpoint(fx->o).wall, resolved);
}

/* A window of a few hundred rows is one release and one commit: all of
 * it and its resolved line are out when ordered_resolved returns. */
START_TEST(small_window_goes_out_in_one_commit)
{
	struct fx fx;

	fx_init(&fx);
	fx_big_window(&fx, 1000, ORDERED_HELD);
	fx_resolved(&fx, 5000);
	ck_assert_uint_eq(fx.rec.n, 1000 + 1);
	assert_window(&fx, 1, 5000);
	fx_done(&fx);
}
END_TEST

START_TEST(large_window_goes_out_chunk_by_chunk)
{
	struct fx fx;
	size_t first_chunk;

	fx_init(&fx);
	fx_big_window(&fx, BIG_WINDOW, ORDERED_HELD);
	fx_resolved(&fx, 5000);
	/* The first chunk is out before the rest is released; the window's
	 * resolved timestamp is not committed yet. */
	first_chunk = fx.rec.n;
	ck_assert_uint_gt(first_chunk, 0);
	ck_assert_uint_lt(first_chunk, BIG_WINDOW);
	ck_assert_int_eq(fx.rec.lines[first_chunk - 1]->kind, LINE_ROW);
	ck_assert_int_eq(ordered_checkpoint(fx.o).wall, 0);
	fx_run_loop(&fx);
	ck_assert_uint_eq(fx.rec.n, BIG_WINDOW + 1);
	assert_window(&fx, 1, 5000);
	fx_done(&fx);
}
END_TEST

START_TEST(crash_between_chunks_repeats_nothing)
{
	struct fx fx;
	size_t first_chunk;

	fx_init(&fx);
	fx_big_window(&fx, BIG_WINDOW, ORDERED_HELD);
	fx_resolved(&fx, 5000);
	first_chunk = fx.rec.n;
	ck_assert_uint_lt(first_chunk, BIG_WINDOW);
	/* The process goes before the next chunk: the changefeed resends
	 * the window from the old checkpoint. */
	ordered_close(fx.o);
	rec_clear(&fx.rec);
	fx_open(&fx, (crdb_hlc){ 0, 0 }, false);
	ck_assert_uint_eq(ordered_last_seq(fx.o), first_chunk);
	/* Held again (above the checkpoint) or dropped at once: either
	 * way the journal's idents keep them from a second seq. */
	for (int i = 0; i < BIG_WINDOW; i++) {
		char key[32];

		snprintf(key, sizeof(key), "[%d]", i);
		ck_assert_int_ne(fx_row(&fx, "a", key, 1000 + i / 10), ORDERED_LATE);
	}
	fx_resolved(&fx, 5000);
	fx_run_loop(&fx);
	ck_assert_uint_eq(fx.rec.n, BIG_WINDOW - first_chunk + 1);
	assert_window(&fx, first_chunk + 1, 5000);
	/* the rows after the first chunk, in order: [256] on */
	for (size_t i = 0; i + 1 < fx.rec.n; i++) {
		char key[40];

		snprintf(key, sizeof(key), "\"key\":[%zu]", first_chunk + i);
		ck_assert_msg(has(fx.rec.lines[i], key), "line %zu is %.*s, expected %s",
			      i, (int)fx.rec.lines[i]->len, fx.rec.lines[i]->data, key);
	}
	fx_done(&fx);
}
END_TEST

START_TEST(owner_told_checkpoint_when_last_chunk_commits)
{
	struct fx fx;

	fx_init(&fx);
	fx_big_window(&fx, BIG_WINDOW, ORDERED_HELD);
	fx_resolved(&fx, 5000);
	ck_assert_int_eq(fx.rec.ncommitted, 0);
	/* the last chunk commits from the event loop: the owner hears it
	 * then, not at its next resolved timestamp */
	fx_run_loop(&fx);
	assert_window(&fx, 1, 5000);
	ck_assert_int_eq(fx.rec.ncommitted, 1);
	ck_assert_int_eq(fx.rec.committed.wall, 5000);
	/* a small window: told at once */
	fx_row(&fx, "a", "[1]", 6000);
	fx_resolved(&fx, 6100);
	ck_assert_int_eq(fx.rec.ncommitted, 2);
	ck_assert_int_eq(fx.rec.committed.wall, 6100);
	fx_done(&fx);
}
END_TEST

START_TEST(later_chunk_failure_reaches_owner_at_once)
{
	struct fx fx;
	size_t first_chunk;

	fx_init(&fx);
	fx_big_window(&fx, BIG_WINDOW, ORDERED_HELD);
	fx_resolved(&fx, 5000);
	first_chunk = fx.rec.n;
	ck_assert_uint_lt(first_chunk, BIG_WINDOW);
	order_set_release_fault(true);
	fx_run_loop(&fx);
	ck_assert_int_eq(fx.rec.nfailed, 1);
	ck_assert_msg(strstr(fx.rec.failed, "test fault") != NULL,
		      "the owner was told \"%s\"", fx.rec.failed);
	ck_assert_uint_eq(fx.rec.n, first_chunk);
	ck_assert_int_eq(ordered_checkpoint(fx.o).wall, 0);
	/* the hold works again: the changefeed, reconnected, repeats the
	 * resolved timestamp, and the window goes on where it stopped */
	order_set_release_fault(false);
	fx_resolved(&fx, 5000);
	fx_run_loop(&fx);
	ck_assert_uint_eq(fx.rec.n, BIG_WINDOW + 1);
	assert_window(&fx, 1, 5000);
	ck_assert_int_eq(fx.rec.nfailed, 1);
	fx_done(&fx);
}
END_TEST

/* n rows of table at one updated time, keys [0] to [n - 1]: held. */
static void fx_rows_at(struct fx *fx, const char *table, int n, int64_t updated)
{
	for (int i = 0; i < n; i++) {
		char key[32];

		snprintf(key, sizeof(key), "[%d]", i);
		ck_assert_int_eq(fx_row(fx, table, key, updated), ORDERED_HELD);
	}
}

static void fx_resolved_deferred(struct fx *fx, int64_t wall)
{
	char errbuf[256];

	ck_assert_msg(ordered_resolved_deferred(fx->o, T(wall), errbuf,
						sizeof(errbuf)) == 0,
		      "ordered_resolved_deferred: %s", errbuf);
}

static void fx_input_read(struct fx *fx, bool more_waiting)
{
	char errbuf[256];

	ck_assert_msg(ordered_input_read(fx->o, more_waiting, errbuf,
					 sizeof(errbuf)) == 0,
		      "ordered_input_read: %s", errbuf);
}

/* A new feed holding 100 rows whose resolved timestamp (1100) came while
 * more input waited: deferred, nothing out. */
static void fx_init_deferred_window(struct fx *fx)
{
	fx_init(fx);
	fx_big_window(fx, 100, ORDERED_HELD);
	fx_resolved_deferred(fx, 1100);
	fx_input_read(fx, true);
	ck_assert(ordered_release_deferred(fx->o));
	ck_assert_uint_eq(fx->rec.n, 0);
}

/* A busy feed's resolved timestamps share one commit: nothing goes out
 * while more input waits; once it is read, both windows go out in one
 * commit, with the newest resolved line only. */
START_TEST(deferred_windows_share_one_commit)
{
	struct fx fx;

	fx_init_deferred_window(&fx);
	fx_rows_at(&fx, "b", 100, 2000);
	fx_resolved_deferred(&fx, 2100);
	fx_input_read(&fx, true);
	ck_assert_uint_eq(fx.rec.n, 0);
	ck_assert_int_eq(ordered_checkpoint(fx.o).wall, 0);
	fx_input_read(&fx, false);
	ck_assert(!ordered_release_deferred(fx.o));
	ck_assert_uint_eq(fx.rec.n, 200 + 1);
	assert_window(&fx, 1, 2100);
	ck_assert_int_eq(fx.rec.ncommitted, 1);
	ck_assert(has(fx.rec.lines[99], "\"table\":\"a\""));
	ck_assert(has(fx.rec.lines[100], "\"table\":\"b\""));
	fx_done(&fx);
}
END_TEST

/* A hold of a chunk's rows does not wait: at the resolved timestamp, or
 * as soon as rows above it fill the hold while input still waits. */
START_TEST(deferred_release_does_not_wait_past_a_chunk)
{
	struct fx fx;

	fx_init_deferred_window(&fx);
	fx_rows_at(&fx, "b", 4000, 3000);
	fx_input_read(&fx, true);
	ck_assert(!ordered_release_deferred(fx.o));
	ck_assert_uint_eq(fx.rec.n, 100 + 1);
	assert_window(&fx, 1, 1100);
	rec_clear(&fx.rec);
	/* 4,000 held and 96 more: the next resolved timestamp releases at
	 * once (the first chunk of a large window: not all of it) */
	fx_rows_at(&fx, "c", 96, 3000);
	fx_resolved_deferred(&fx, 3100);
	ck_assert(!ordered_release_deferred(fx.o));
	ck_assert_uint_gt(fx.rec.n, 0);
	fx_run_loop(&fx);
	ck_assert_uint_eq(fx.rec.n, 4096 + 1);
	assert_window(&fx, 101, 3100);
	fx_done(&fx);
}
END_TEST

/* With input still waiting, the release goes out from the event loop
 * after a short while, and a failure then reaches the owner. */
START_TEST(deferred_release_goes_from_the_event_loop)
{
	struct fx fx;

	fx_init_deferred_window(&fx);
	event_base_loop(fx.base, EVLOOP_ONCE);
	ck_assert(!ordered_release_deferred(fx.o));
	ck_assert_uint_eq(fx.rec.n, 100 + 1);
	assert_window(&fx, 1, 1100);
	fx_row(&fx, "a", "[1]", 2000);
	fx_resolved_deferred(&fx, 2100);
	order_set_release_fault(true);
	event_base_loop(fx.base, EVLOOP_ONCE);
	ck_assert_int_eq(fx.rec.nfailed, 1);
	ck_assert_msg(strstr(fx.rec.failed, "test fault") != NULL,
		      "the owner was told \"%s\"", fx.rec.failed);
	ck_assert_uint_eq(fx.rec.n, 100 + 1);
	fx_done(&fx);
}
END_TEST

START_TEST(stalled_commit_goes_in_with_its_own_resolved)
{
	struct fx fx;
	struct feed_stats st;

	fx_init(&fx);
	fx_row(&fx, "a", "[1]", 100);
	fx_row(&fx, "a", "[2]", 300);
	journal_set_commit_fault(JOURNAL_FULL);
	fx_resolved(&fx, 200);          /* [1] released, its commit fails */
	ck_assert(fx.rec.stalled);
	ck_assert_uint_eq(fx.rec.n, 0);
	fx_resolved(&fx, 400);          /* the target moves on, past [2] */
	journal_set_commit_fault(JOURNAL_OK);
	/* the retry, a second later */
	event_base_loop(fx.base, EVLOOP_ONCE);
	fx_run_loop(&fx);
	ck_assert(!fx.rec.stalled);
	/* [1] with 200, then [2] with 400: no checkpoint passed a row still
	 * held, nothing stays held */
	ck_assert_uint_eq(fx.rec.n, 4);
	ck_assert(has(fx.rec.lines[0], "\"key\":[1]"));
	assert_tail(&fx, 1, "\"resolved\":\"200.0000000000\",\"seq\":1}\n");
	ck_assert(has(fx.rec.lines[2], "\"key\":[2]"));
	assert_tail(&fx, 3, "\"resolved\":\"400.0000000000\",\"seq\":2}\n");
	ck_assert_int_eq(ordered_checkpoint(fx.o).wall, 400);
	memset(&st, 0, sizeof(st));
	ordered_get_stats(fx.o, &st);
	ck_assert_uint_eq(st.held_rows, 0);
	fx_done(&fx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ordered");
	TCase *tc = tcase_create("ordered");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, released_in_order_with_seq_and_groups);
	tcase_add_test(tc, reopen_goes_on_and_drops_released);
	tcase_add_test(tc, rows_not_admitted_get_no_seq);
	tcase_add_test(tc, late_row_goes_out_flagged);
	tcase_add_test(tc, newer_stream_checkpoint_starts_a_new_journal);
	tcase_add_test(tc, replay_reads_what_was_published);
	tcase_add_test(tc, small_window_goes_out_in_one_commit);
	tcase_add_test(tc, large_window_goes_out_chunk_by_chunk);
	tcase_add_test(tc, crash_between_chunks_repeats_nothing);
	tcase_add_test(tc, owner_told_checkpoint_when_last_chunk_commits);
	tcase_add_test(tc, later_chunk_failure_reaches_owner_at_once);
	tcase_add_test(tc, stalled_commit_goes_in_with_its_own_resolved);
	tcase_add_test(tc, deferred_windows_share_one_commit);
	tcase_add_test(tc, deferred_release_does_not_wait_past_a_chunk);
	tcase_add_test(tc, deferred_release_goes_from_the_event_loop);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
