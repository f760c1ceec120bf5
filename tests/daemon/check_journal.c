/*
 * check_journal.c: the journal of ordered feeds (daemon/journal.c) in a
 * temporary directory: rows and marks read back in seq order, seq
 * contiguity, recognising released rows (committed, appended, and under a
 * forced hash collision), resolved timestamps, reset, retention by age,
 * size and keep_after, seeking by time, stats, a read-only handle in
 * another process, a full map, and reopening.
 */
#include <config.h> /* autoconf's */

#include "daemon/journal.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[256];
static char errbuf[512];

static void make_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/check_journal.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	strcat(dir, "/f.journal");
}

static void remove_dir(void)
{
	char cmd[600];
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct journal *open_with(uint64_t max_bytes, int64_t max_age_ms)
{
	struct journal_limits lim = { .max_age_ms = max_age_ms, .max_bytes = max_bytes };
	struct journal *j = journal_open(dir, &lim, 0, errbuf, sizeof(errbuf));
	ck_assert_msg(j != NULL, "journal_open: %s", errbuf);
	return j;
}

static crdb_hlc hlc(int64_t wall, int32_t logical)
{
	return (crdb_hlc){ wall, logical };
}

/* Append row seq of table t, key k (a JSON text), updated u, with a line
 * that names its seq. */
static int append(struct journal *j, uint64_t seq, const char *t, const char *k,
		  crdb_hlc u, bool late)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "{\"seq\":%" PRIu64 ",\"table\":\"%s\",\"key\":%s}\n",
			 seq, t, k);
	struct journal_row row = {
		.seq = seq, .updated = u, .op = CRDB_OP_UPSERT, .late = late,
		.table = t, .table_len = strlen(t), .key = k, .key_len = strlen(k),
		.line = line, .line_len = (size_t)n,
	};
	return journal_append(j, &row, errbuf, sizeof(errbuf));
}

static void append_ok(struct journal *j, uint64_t seq, const char *t, const char *k,
		      crdb_hlc u)
{
	ck_assert_msg(append(j, seq, t, k, u, false) == JOURNAL_OK, "append %" PRIu64 ": %s",
		      seq, errbuf);
}

static void commit_ok(struct journal *j, crdb_hlc resolved)
{
	ck_assert_msg(journal_commit(j, resolved, errbuf, sizeof(errbuf)) == JOURNAL_OK,
		      "commit: %s", errbuf);
}

static int seen(struct journal *j, const char *t, const char *k, crdb_hlc u, uint64_t *seq)
{
	*seq = 0;
	return journal_seen(j, t, strlen(t), k, strlen(k), u, seq, errbuf, sizeof(errbuf));
}

static struct journal_checkpoint checkpoint(struct journal *j)
{
	struct journal_checkpoint cp;
	ck_assert_msg(journal_get_checkpoint(j, &cp, errbuf, sizeof(errbuf)) == 0, "%s", errbuf);
	return cp;
}

/* What a read gave, as text: "r1 r2 m2@100.0 ...". */
struct collect {
	char text[4096];
	size_t stop_after;   /* 0: never stop */
	size_t n;
	bool rows_ok;        /* every row's line names its seq, fields intact */
};

static int collect_fn(const struct journal_item *item, void *arg)
{
	struct collect *c = arg;
	size_t used = strlen(c->text);
	if (item->is_mark) {
		snprintf(c->text + used, sizeof(c->text) - used, "%sm%" PRIu64 "@%" PRId64 ".%d",
			 used ? " " : "", item->mark_seq, item->resolved.wall,
			 (int)item->resolved.logical);
	} else {
		const struct journal_row *r = item->row;
		char want[64];
		int n = snprintf(want, sizeof(want), "{\"seq\":%" PRIu64 ",", r->seq);
		if (r->line_len < (size_t)n || memcmp(r->line, want, (size_t)n) != 0 ||
		    r->line[r->line_len - 1] != '\n' || r->op != CRDB_OP_UPSERT ||
		    r->table_len == 0)
			c->rows_ok = false;
		snprintf(c->text + used, sizeof(c->text) - used, "%sr%" PRIu64 "%s",
			 used ? " " : "", r->seq, r->late ? "L" : "");
	}
	c->n++;
	return c->stop_after && c->n >= c->stop_after;
}

static const char *read_all(struct journal *j, uint64_t after, bool include, size_t max,
			    size_t stop_after, int *count)
{
	static struct collect c;
	memset(&c, 0, sizeof(c));
	c.rows_ok = true;
	c.stop_after = stop_after;
	*count = journal_read(j, after, include, max, collect_fn, &c, errbuf, sizeof(errbuf));
	ck_assert_msg(*count >= 0, "journal_read: %s", errbuf);
	ck_assert(c.rows_ok);
	return c.text;
}

/* Rows and marks come back in seq order, a mark right after its row, a
 * mark before any row first; after/include_mark_at_after/max/stop. */
START_TEST(test_round_trip)
{
	int n;
	make_dir();
	struct journal *j = open_with(0, 0);
	struct journal_checkpoint cp = checkpoint(j);
	ck_assert_uint_eq(cp.first_seq, 1);
	ck_assert_uint_eq(cp.last_seq, 0);
	ck_assert_uint_eq(cp.epoch, 1);
	ck_assert(crdb_hlc_is_zero(cp.resolved));

	commit_ok(j, hlc(90, 0));      /* a resolved before any row: mark 0 */
	append_ok(j, 1, "t", "[1]", hlc(100, 0));
	append_ok(j, 2, "t", "[2]", hlc(100, 0));
	append_ok(j, 3, "u", "[1]", hlc(100, 1));
	commit_ok(j, hlc(100, 5));
	append_ok(j, 4, "t", "[1]", hlc(200, 0));
	ck_assert_int_eq(append(j, 5, "t", "[9]", hlc(150, 0), true), JOURNAL_OK);
	commit_ok(j, hlc(200, 0));
	commit_ok(j, hlc(300, 0));     /* resolved alone: replaces mark 5 */

	ck_assert_str_eq(read_all(j, 0, true, 100, 0, &n), "m0@90.0 r1 r2 r3 m3@100.5 r4 r5L m5@300.0");
	ck_assert_int_eq(n, 8);
	ck_assert_str_eq(read_all(j, 0, false, 100, 0, &n), "r1 r2 r3 m3@100.5 r4 r5L m5@300.0");
	ck_assert_str_eq(read_all(j, 3, true, 100, 0, &n), "m3@100.5 r4 r5L m5@300.0");
	ck_assert_str_eq(read_all(j, 3, false, 100, 0, &n), "r4 r5L m5@300.0");
	ck_assert_str_eq(read_all(j, 0, true, 3, 0, &n), "m0@90.0 r1 r2");
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(read_all(j, 0, true, 100, 2, &n), "m0@90.0 r1");
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(read_all(j, 5, false, 100, 0, &n), "");
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(read_all(j, 5, true, 100, 0, &n), "m5@300.0");

	/* Fields round trip. */
	struct journal_stats st;
	ck_assert_int_eq(journal_get_stats(j, &st, errbuf, sizeof(errbuf)), 0);
	ck_assert_uint_eq(st.records, 5);
	ck_assert_uint_eq(st.oldest_seq, 1);
	ck_assert_uint_eq(st.newest_seq, 5);
	ck_assert_int_eq(crdb_hlc_compare(st.oldest_updated, hlc(100, 0)), 0);
	ck_assert_int_eq(crdb_hlc_compare(st.newest_updated, hlc(150, 0)), 0);
	ck_assert_uint_eq(st.commits, 4);
	ck_assert_uint_eq(st.commit_errors, 0);
	ck_assert_uint_ge(st.map_bytes, (uint64_t)64 << 20);
	ck_assert_uint_gt(st.file_bytes, 0);
	ck_assert_uint_gt(st.bytes, 5 * 32);
	int64_t now_ms = (int64_t)time(NULL) * 1000;
	ck_assert_int_le(st.oldest_written_ms, now_ms + 1000);
	ck_assert_int_ge(st.oldest_written_ms, now_ms - 60000);
	cp = checkpoint(j);
	ck_assert_uint_eq(cp.last_seq, 5);
	ck_assert_int_eq(crdb_hlc_compare(cp.resolved, hlc(300, 0)), 0);
	journal_close(j);
	remove_dir();
}
END_TEST

/* A row appended out of sequence is refused and changes nothing. */
START_TEST(test_seq_contiguity)
{
	uint64_t seq;
	int n;
	make_dir();
	struct journal *j = open_with(0, 0);
	ck_assert_int_eq(append(j, 2, "t", "[1]", hlc(10, 0), false), JOURNAL_ERROR);
	ck_assert_msg(strstr(errbuf, dir) && strstr(errbuf, "seq 2") && strstr(errbuf, "1 comes next"),
		      "%s", errbuf);
	ck_assert_int_eq(seen(j, "t", "[1]", hlc(10, 0), &seq), 0);
	append_ok(j, 1, "t", "[1]", hlc(10, 0));
	ck_assert_int_eq(append(j, 3, "t", "[3]", hlc(10, 0), false), JOURNAL_ERROR);
	ck_assert_int_eq(append(j, 1, "t", "[3]", hlc(10, 0), false), JOURNAL_ERROR);
	commit_ok(j, hlc(10, 0));
	ck_assert_uint_eq(checkpoint(j).last_seq, 1);
	ck_assert_str_eq(read_all(j, 0, true, 100, 0, &n), "r1 m1@10.0");
	ck_assert_int_eq(append(j, 1, "t", "[2]", hlc(11, 0), false), JOURNAL_ERROR);
	append_ok(j, 2, "t", "[2]", hlc(11, 0));
	journal_close(j);
	remove_dir();
}
END_TEST

/* journal_seen: committed rows, appended rows, and nothing else; abort
 * forgets the appended ones. */
START_TEST(test_seen)
{
	uint64_t seq;
	make_dir();
	struct journal *j = open_with(0, 0);
	append_ok(j, 1, "t", "[1]", hlc(10, 0));
	append_ok(j, 2, "t", "[2]", hlc(10, 0));
	commit_ok(j, hlc(10, 0));
	append_ok(j, 3, "t", "[3]", hlc(20, 0));
	ck_assert_int_eq(seen(j, "t", "[1]", hlc(10, 0), &seq), 1);
	ck_assert_uint_eq(seq, 1);
	ck_assert_int_eq(seen(j, "t", "[2]", hlc(10, 0), &seq), 1);
	ck_assert_uint_eq(seq, 2);
	ck_assert_int_eq(seen(j, "t", "[3]", hlc(20, 0), &seq), 1);
	ck_assert_uint_eq(seq, 3);
	ck_assert_int_eq(seen(j, "t", "[9]", hlc(10, 0), &seq), 0);   /* other key */
	ck_assert_int_eq(seen(j, "t", "[1]", hlc(10, 1), &seq), 0);   /* other updated */
	ck_assert_int_eq(seen(j, "u", "[1]", hlc(10, 0), &seq), 0);   /* other table */
	ck_assert_int_eq(seen(j, "t", "[3]", hlc(10, 0), &seq), 0);
	journal_abort(j);
	ck_assert_int_eq(seen(j, "t", "[3]", hlc(20, 0), &seq), 0);
	append_ok(j, 3, "t", "[3b]", hlc(20, 0));
	ck_assert_int_eq(seen(j, "t", "[3b]", hlc(20, 0), &seq), 1);
	ck_assert_uint_eq(seq, 3);
	/* Many appended rows: the index grows and still finds each one. */
	char key[32];
	for (uint64_t s = 4; s < 3000; s++) {
		snprintf(key, sizeof(key), "[%" PRIu64 "]", s);
		append_ok(j, s, "t", key, hlc(30, (int32_t)(s % 7)));
	}
	for (uint64_t s = 4; s < 3000; s += 97) {
		snprintf(key, sizeof(key), "[%" PRIu64 "]", s);
		ck_assert_int_eq(seen(j, "t", key, hlc(30, (int32_t)(s % 7)), &seq), 1);
		ck_assert_uint_eq(seq, s);
		ck_assert_int_eq(seen(j, "t", key, hlc(30, (int32_t)((s + 1) % 7)), &seq), 0);
	}
	commit_ok(j, hlc(30, 9));
	snprintf(key, sizeof(key), "[%d]", 2999);
	ck_assert_int_eq(seen(j, "t", key, hlc(30, 2999 % 7), &seq), 1);
	ck_assert_uint_eq(seq, 2999);
	journal_close(j);
	remove_dir();
}
END_TEST

/* A commit writes its idents sorted and appends those above the last one
 * committed; rows out of updated order within a commit, late rows below
 * it, and a row between two committed ones must all be found, also after
 * a reopen. */
START_TEST(test_seen_out_of_order)
{
	static const struct { const char *key; int64_t wall; } rows[] = {
		{ "[1]", 30 }, { "[2]", 20 }, { "[3]", 30 }, { "[4]", 20 },  /* commit 1 */
		{ "[5]", 10 }, { "[6]", 25 }, { "[7]", 40 }, { "[8]", 20 },  /* commit 2 */
		{ "[9]", 50 }, { "[10]", 5 },                                /* commit 3 */
	};
	const size_t n = sizeof(rows) / sizeof(rows[0]);
	int64_t resolved = 0;
	uint64_t seq;

	make_dir();
	struct journal *j = open_with(0, 0);
	for (size_t i = 0; i < n; i++) {
		bool late = rows[i].wall <= resolved;

		ck_assert_msg(append(j, i + 1, "t", rows[i].key, hlc(rows[i].wall, 0), late) ==
			      JOURNAL_OK, "append %zu: %s", i + 1, errbuf);
		if (i == 3 || i == 7) {
			resolved = i == 3 ? 30 : 40;
			commit_ok(j, hlc(resolved, 0));
		}
	}
	commit_ok(j, hlc(50, 0));
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			ck_assert_msg(seen(j, "t", rows[i].key, hlc(rows[i].wall, 0), &seq) == 1,
				      "pass %d: row %zu not seen", pass, i + 1);
			ck_assert_uint_eq(seq, i + 1);
			ck_assert_int_eq(seen(j, "t", rows[i].key, hlc(rows[i].wall, 1), &seq), 0);
		}
		journal_close(j);
		j = open_with(0, 0);
	}
	journal_close(j);
	remove_dir();
}
END_TEST

static uint64_t constant_hash(const char *t, size_t tl, const char *k, size_t kl)
{
	return 42;
}

/* Every ident collides: the table and key bytes decide. */
START_TEST(test_seen_collisions)
{
	uint64_t seq;
	journal_set_ident_hash(constant_hash);
	make_dir();
	struct journal *j = open_with(0, 0);
	append_ok(j, 1, "t", "[1]", hlc(10, 0));
	append_ok(j, 2, "t", "[2]", hlc(10, 0));
	append_ok(j, 3, "u", "[1]", hlc(10, 0));
	ck_assert_int_eq(seen(j, "t", "[2]", hlc(10, 0), &seq), 1);
	ck_assert_uint_eq(seq, 2);
	ck_assert_int_eq(seen(j, "u", "[1]", hlc(10, 0), &seq), 1);
	ck_assert_uint_eq(seq, 3);
	ck_assert_int_eq(seen(j, "t", "[3]", hlc(10, 0), &seq), 0);
	commit_ok(j, hlc(10, 0));
	ck_assert_int_eq(seen(j, "t", "[1]", hlc(10, 0), &seq), 1);
	ck_assert_uint_eq(seq, 1);
	ck_assert_int_eq(seen(j, "t", "[2]", hlc(10, 0), &seq), 1);
	ck_assert_uint_eq(seq, 2);
	ck_assert_int_eq(seen(j, "u", "[1]", hlc(10, 0), &seq), 1);
	ck_assert_uint_eq(seq, 3);
	ck_assert_int_eq(seen(j, "t", "[3]", hlc(10, 0), &seq), 0);
	ck_assert_int_eq(seen(j, "t", "[1", hlc(10, 0), &seq), 0);
	/* Trimming row 2 removes only its ident. */
	journal_close(j);
	j = open_with(0, 1);
	uint64_t deleted;
	ck_assert_int_eq(journal_trim(j, (int64_t)time(NULL) * 1000 + 10000, 2, &deleted,
				      errbuf, sizeof(errbuf)), JOURNAL_OK);
	ck_assert_uint_eq(deleted, 2);
	ck_assert_int_eq(seen(j, "t", "[2]", hlc(10, 0), &seq), 0);
	ck_assert_int_eq(seen(j, "u", "[1]", hlc(10, 0), &seq), 1);
	ck_assert_uint_eq(seq, 3);
	journal_close(j);
	journal_set_ident_hash(NULL);
	remove_dir();
}
END_TEST

/* A resolved timestamp alone commits; one going backwards is refused,
 * with the rows appended before it, and the checkpoint stays. */
START_TEST(test_resolved)
{
	uint64_t seq;
	int n;
	make_dir();
	struct journal *j = open_with(0, 0);
	commit_ok(j, hlc(100, 0));
	ck_assert_int_eq(crdb_hlc_compare(checkpoint(j).resolved, hlc(100, 0)), 0);
	append_ok(j, 1, "t", "[1]", hlc(150, 0));
	ck_assert_int_eq(journal_commit(j, hlc(99, 9), errbuf, sizeof(errbuf)), JOURNAL_ERROR);
	ck_assert_msg(strstr(errbuf, dir) && strstr(errbuf, "older"), "%s", errbuf);
	ck_assert_int_eq(seen(j, "t", "[1]", hlc(150, 0), &seq), 0);
	struct journal_checkpoint cp = checkpoint(j);
	ck_assert_uint_eq(cp.last_seq, 0);
	ck_assert_int_eq(crdb_hlc_compare(cp.resolved, hlc(100, 0)), 0);
	/* Rows without a resolved keep the committed one; no mark. */
	append_ok(j, 1, "t", "[1]", hlc(150, 0));
	commit_ok(j, hlc(0, 0));
	cp = checkpoint(j);
	ck_assert_uint_eq(cp.last_seq, 1);
	ck_assert_int_eq(crdb_hlc_compare(cp.resolved, hlc(100, 0)), 0);
	commit_ok(j, hlc(100, 0));   /* the same one: nothing to do */
	ck_assert_str_eq(read_all(j, 0, true, 100, 0, &n), "m0@100.0 r1");
	commit_ok(j, hlc(150, 0));
	ck_assert_str_eq(read_all(j, 0, true, 100, 0, &n), "m0@100.0 r1 m1@150.0");
	journal_close(j);
	remove_dir();
}
END_TEST

/* Reset empties the journal, keeps counting and bumps the epoch; it never
 * goes back to a seq already handed out. */
START_TEST(test_reset)
{
	uint64_t seq;
	int n;
	make_dir();
	struct journal *j = open_with(0, 0);
	for (uint64_t s = 1; s <= 5; s++)
		append_ok(j, s, "t", "[1]", hlc(10 + (int64_t)s, 0));
	commit_ok(j, hlc(20, 0));
	append_ok(j, 6, "t", "[6]", hlc(21, 0));
	ck_assert_int_eq(journal_reset(j, 5, errbuf, sizeof(errbuf)), JOURNAL_ERROR);
	ck_assert_msg(strstr(errbuf, "again"), "%s", errbuf);
	ck_assert_uint_eq(checkpoint(j).epoch, 1);
	ck_assert_int_eq(journal_reset(j, 6, errbuf, sizeof(errbuf)), JOURNAL_OK);
	struct journal_checkpoint cp = checkpoint(j);
	ck_assert_uint_eq(cp.first_seq, 6);
	ck_assert_uint_eq(cp.last_seq, 5);
	ck_assert_uint_eq(cp.epoch, 2);
	ck_assert(crdb_hlc_is_zero(cp.resolved));
	ck_assert_int_eq(seen(j, "t", "[1]", hlc(11, 0), &seq), 0);
	ck_assert_int_eq(seen(j, "t", "[6]", hlc(21, 0), &seq), 0);
	ck_assert_str_eq(read_all(j, 0, true, 100, 0, &n), "");
	ck_assert_int_eq(append(j, 1, "t", "[1]", hlc(5, 0), false), JOURNAL_ERROR);
	append_ok(j, 6, "t", "[6]", hlc(5, 0));
	commit_ok(j, hlc(5, 0));   /* after a reset an older resolved is fine */
	ck_assert_str_eq(read_all(j, 0, true, 100, 0, &n), "r6 m6@5.0");
	ck_assert_int_eq(journal_reset(j, 100, errbuf, sizeof(errbuf)), JOURNAL_OK);
	cp = checkpoint(j);
	ck_assert_uint_eq(cp.first_seq, 100);
	ck_assert_uint_eq(cp.epoch, 3);
	struct journal_stats st;
	ck_assert_int_eq(journal_get_stats(j, &st, errbuf, sizeof(errbuf)), 0);
	ck_assert_uint_eq(st.records, 0);
	ck_assert_uint_eq(st.bytes, 0);
	ck_assert_uint_eq(st.oldest_seq, 0);
	journal_close(j);
	remove_dir();
}
END_TEST

/* Retention by age (written_ms), never past keep_after; marks below the
 * newest one at or before the last deleted row go; more than one batch. */
START_TEST(test_trim_age)
{
	uint64_t deleted, seq;
	int n;
	char key[32];
	make_dir();
	struct journal *j = open_with(0, 60000);
	for (uint64_t s = 1; s <= 6; s++) {
		snprintf(key, sizeof(key), "[%" PRIu64 "]", s);
		append_ok(j, s, "t", key, hlc((int64_t)s * 10, 0));
		if (s % 2 == 0)
			commit_ok(j, hlc((int64_t)s * 10, 0));
	}
	int64_t now_ms = (int64_t)time(NULL) * 1000;
	ck_assert_int_eq(journal_trim(j, now_ms, UINT64_MAX, &deleted, errbuf, sizeof(errbuf)), JOURNAL_OK);
	ck_assert_uint_eq(deleted, 0);
	ck_assert_int_eq(journal_trim(j, now_ms + 120000, 3, &deleted, errbuf, sizeof(errbuf)), JOURNAL_OK);
	ck_assert_uint_eq(deleted, 3);
	ck_assert_str_eq(read_all(j, 0, true, 100, 0, &n), "m2@20.0 r4 m4@40.0 r5 r6 m6@60.0");
	ck_assert_int_eq(seen(j, "t", "[3]", hlc(30, 0), &seq), 0);
	ck_assert_int_eq(seen(j, "t", "[4]", hlc(40, 0), &seq), 1);
	ck_assert_int_eq(journal_trim(j, now_ms + 120000, UINT64_MAX, &deleted, errbuf, sizeof(errbuf)), JOURNAL_OK);
	ck_assert_uint_eq(deleted, 3);
	ck_assert_str_eq(read_all(j, 0, true, 100, 0, &n), "m6@60.0");
	struct journal_stats st;
	ck_assert_int_eq(journal_get_stats(j, &st, errbuf, sizeof(errbuf)), 0);
	ck_assert_uint_eq(st.records, 0);
	ck_assert_uint_eq(st.bytes, 0);
	ck_assert_uint_eq(st.trimmed, 6);
	ck_assert_uint_eq(checkpoint(j).last_seq, 6);

	/* 25,000 rows: three batches. */
	for (uint64_t s = 7; s < 25007; s++) {
		snprintf(key, sizeof(key), "[%" PRIu64 "]", s);
		append_ok(j, s, "t", key, hlc(100, 0));
	}
	commit_ok(j, hlc(100, 0));
	ck_assert_int_eq(journal_trim(j, now_ms + 120000, 25000, &deleted, errbuf, sizeof(errbuf)), JOURNAL_OK);
	ck_assert_uint_eq(deleted, 24994);
	ck_assert_int_eq(journal_get_stats(j, &st, errbuf, sizeof(errbuf)), 0);
	ck_assert_uint_eq(st.records, 6);
	ck_assert_uint_eq(st.oldest_seq, 25001);
	journal_close(j);
	remove_dir();
}
END_TEST

/* Retention by size: the oldest rows go until their bytes fit. */
START_TEST(test_trim_size)
{
	uint64_t deleted;
	char key[32];
	struct journal_stats st;
	make_dir();
	struct journal *j = open_with(1000, 0);
	for (uint64_t s = 1; s <= 20; s++) {
		snprintf(key, sizeof(key), "[%" PRIu64 "]", s);
		append_ok(j, s, "t", key, hlc(10, 0));
	}
	commit_ok(j, hlc(10, 0));
	ck_assert_int_eq(journal_get_stats(j, &st, errbuf, sizeof(errbuf)), 0);
	uint64_t per_row = st.bytes / 20;
	ck_assert_uint_gt(st.bytes, 1000);
	ck_assert_int_eq(journal_trim(j, 0, 5, &deleted, errbuf, sizeof(errbuf)), JOURNAL_OK);
	ck_assert_uint_eq(deleted, 5);
	ck_assert_int_eq(journal_trim(j, 0, UINT64_MAX, &deleted, errbuf, sizeof(errbuf)), JOURNAL_OK);
	ck_assert_int_eq(journal_get_stats(j, &st, errbuf, sizeof(errbuf)), 0);
	ck_assert_uint_le(st.bytes, 1000);
	ck_assert_uint_gt(st.bytes + per_row + 8, 1000);
	ck_assert_uint_eq(st.records, 20 - 5 - deleted);
	ck_assert_uint_eq(st.newest_seq, 20);
	ck_assert_uint_eq(st.oldest_seq, 6 + deleted);
	journal_close(j);
	remove_dir();
}
END_TEST

static uint64_t seek(struct journal *j, crdb_hlc since)
{
	uint64_t after = 12345;
	ck_assert_msg(journal_seek_time(j, since, &after, errbuf, sizeof(errbuf)) == 0, "%s", errbuf);
	return after;
}

/* The last mark below since; first_seq - 1 without one. */
START_TEST(test_seek_time)
{
	char key[32];
	make_dir();
	struct journal *j = open_with(0, 0);
	ck_assert_uint_eq(seek(j, hlc(5, 0)), 0);
	/* Groups of 3 rows at updated 10k, marks at 10k + 5 (k = 1..40). */
	uint64_t s = 1;
	for (int64_t k = 1; k <= 40; k++) {
		for (int i = 0; i < 3; i++, s++) {
			snprintf(key, sizeof(key), "[%" PRIu64 "]", s);
			append_ok(j, s, "t", key, hlc(k * 10, i));
		}
		commit_ok(j, hlc(k * 10 + 5, 0));
	}
	ck_assert_uint_eq(seek(j, hlc(1, 0)), 0);
	ck_assert_uint_eq(seek(j, hlc(15, 0)), 0);        /* mark 3 is 15: not < 15 */
	ck_assert_uint_eq(seek(j, hlc(15, 1)), 3);        /* HLC logical counts */
	ck_assert_uint_eq(seek(j, hlc(20, 0)), 3);
	ck_assert_uint_eq(seek(j, hlc(205, 0)), 57);      /* mark 60 is 205 */
	ck_assert_uint_eq(seek(j, hlc(206, 0)), 60);
	ck_assert_uint_eq(seek(j, hlc(405, 0)), 117);
	ck_assert_uint_eq(seek(j, hlc(405, 1)), 120);
	ck_assert_uint_eq(seek(j, hlc(1000, 0)), 120);
	for (int64_t k = 1; k <= 40; k++)
		ck_assert_uint_eq(seek(j, hlc(k * 10 + 3, 0)), (uint64_t)(k - 1) * 3);
	/* After a reset: first_seq - 1. */
	ck_assert_int_eq(journal_reset(j, 500, errbuf, sizeof(errbuf)), JOURNAL_OK);
	ck_assert_uint_eq(seek(j, hlc(1000, 0)), 499);
	journal_close(j);
	remove_dir();
}
END_TEST

/* A read-only handle in another process sees what is committed while the
 * writer holds appended rows; a missing directory is one clear line. */
/* Reachable from the forked reader too (which must not close it). */
static struct journal *volatile readonly_writer;

START_TEST(test_readonly)
{
	make_dir();
	struct journal *j = readonly_writer = open_with(0, 0);
	append_ok(j, 1, "t", "[1]", hlc(10, 0));
	append_ok(j, 2, "t", "[2]", hlc(10, 0));
	commit_ok(j, hlc(10, 0));
	append_ok(j, 3, "t", "[3]", hlc(20, 0));
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* 0: as expected; 1..: which check failed. */
		struct journal_checkpoint cp;
		uint64_t seq;
		int n;
		struct journal *r = journal_open(dir, NULL, JOURNAL_READONLY, errbuf, sizeof(errbuf));
		if (!r)
			_exit(1);
		if (journal_get_checkpoint(r, &cp, errbuf, sizeof(errbuf)) || cp.last_seq != 2)
			_exit(2);
		if (strcmp(read_all(r, 0, true, 100, 0, &n), "r1 r2 m2@10.0") != 0)
			_exit(3);
		if (seen(r, "t", "[3]", hlc(20, 0), &seq) != 0 || seen(r, "t", "[2]", hlc(10, 0), &seq) != 1)
			_exit(4);
		if (append(r, 3, "t", "[3]", hlc(20, 0), false) != JOURNAL_ERROR)
			_exit(5);
		journal_close(r);
		_exit(0);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader check %d failed",
		      WEXITSTATUS(status));
	commit_ok(j, hlc(20, 0));
	ck_assert_uint_eq(checkpoint(j).last_seq, 3);
	journal_close(j);

	char missing[300];
	snprintf(missing, sizeof(missing), "%s.missing", dir);
	ck_assert_ptr_null(journal_open(missing, NULL, JOURNAL_READONLY, errbuf, sizeof(errbuf)));
	ck_assert_msg(strstr(errbuf, missing) && strstr(errbuf, "No such file") && !strchr(errbuf, '\n'),
		      "%s", errbuf);
	remove_dir();
}
END_TEST

/* A map that fills up: JOURNAL_FULL, nothing of that commit kept, the
 * journal reopens and reads whole; after a trim commits work again. */
START_TEST(test_full_map)
{
	enum { LINE = 100000, PER = 40 };
	char *line = malloc(LINE);
	char key[32];
	uint64_t s = 1, deleted;
	int rc = JOURNAL_OK, commits = 0, n;
	make_dir();
	struct journal *j = open_with(1 << 20, 0);   /* a 64 MiB map */
	memset(line, 'x', LINE);
	line[LINE - 1] = '\n';
	while (rc == JOURNAL_OK && commits < 100) {
		for (int i = 0; i < PER; i++) {
			int len = snprintf(key, sizeof(key), "[%" PRIu64 "]", s + (uint64_t)i);
			int head = snprintf(line, 32, "{\"seq\":%" PRIu64 ",", s + (uint64_t)i);
			line[head] = 'x';
			struct journal_row row = {
				.seq = s + (uint64_t)i, .updated = hlc((int64_t)s, 0), .op = CRDB_OP_UPSERT,
				.table = "t", .table_len = 1, .key = key, .key_len = (size_t)len,
				.line = line, .line_len = LINE,
			};
			ck_assert_int_eq(journal_append(j, &row, errbuf, sizeof(errbuf)), JOURNAL_OK);
		}
		rc = journal_commit(j, hlc((int64_t)s, 1), errbuf, sizeof(errbuf));
		if (rc == JOURNAL_OK) {
			s += PER;
			commits++;
		}
	}
	ck_assert_int_eq(rc, JOURNAL_FULL);
	ck_assert_msg(strstr(errbuf, dir) && strstr(errbuf, "MDB_MAP_FULL"), "%s", errbuf);
	ck_assert_int_gt(commits, 5);
	ck_assert_uint_eq(checkpoint(j).last_seq, s - 1);
	struct journal_stats st;
	ck_assert_int_eq(journal_get_stats(j, &st, errbuf, sizeof(errbuf)), 0);
	ck_assert_uint_eq(st.commit_errors, 1);
	journal_close(j);

	j = open_with(1 << 20, 0);
	struct journal_checkpoint cp = checkpoint(j);
	ck_assert_uint_eq(cp.last_seq, s - 1);
	ck_assert_int_eq(crdb_hlc_compare(cp.resolved, hlc((int64_t)(s - PER), 1)), 0);
	read_all(j, 0, false, SIZE_MAX, 0, &n);
	ck_assert_int_eq(n, (int)(s - 1) + commits);
	/* Still full; a trim (which needs pages of its own) makes room, and
	 * leaves what was appended meanwhile. */
	ck_assert_int_eq(append(j, s, "t", "[0]", hlc((int64_t)s, 0), false), JOURNAL_OK);
	s++;
	ck_assert_int_eq(journal_trim(j, 0, UINT64_MAX, &deleted, errbuf, sizeof(errbuf)), JOURNAL_OK);
	ck_assert_uint_gt(deleted, 0);
	ck_assert_int_eq(journal_get_stats(j, &st, errbuf, sizeof(errbuf)), 0);
	ck_assert_uint_le(st.bytes, 1 << 20);
	ck_assert_uint_eq(st.newest_seq, s - 2);
	for (int i = 0; i < PER; i++) {
		int len = snprintf(key, sizeof(key), "[%" PRIu64 "]", s);
		struct journal_row row = {
			.seq = s, .updated = hlc((int64_t)s, 0), .op = CRDB_OP_UPSERT,
			.table = "t", .table_len = 1, .key = key, .key_len = (size_t)len,
			.line = line, .line_len = LINE,
		};
		line[snprintf(line, 32, "{\"seq\":%" PRIu64 ",", s)] = 'x';
		ck_assert_int_eq(journal_append(j, &row, errbuf, sizeof(errbuf)), JOURNAL_OK);
		s++;
	}
	commit_ok(j, hlc((int64_t)s, 0));
	ck_assert_uint_eq(checkpoint(j).last_seq, s - 1);
	journal_close(j);
	free(line);
	remove_dir();
}
END_TEST

/* Closing and reopening keeps the checkpoint, the rows and the sequence;
 * what was appended and not committed is gone. */
START_TEST(test_reopen)
{
	uint64_t seq;
	int n;
	make_dir();
	struct journal *j = open_with(0, 0);
	append_ok(j, 1, "t", "[1]", hlc(10, 0));
	commit_ok(j, hlc(10, 3));
	ck_assert_int_eq(journal_reset(j, 7, errbuf, sizeof(errbuf)), JOURNAL_OK);
	append_ok(j, 7, "t", "[7]", hlc(20, 0));
	commit_ok(j, hlc(20, 3));
	append_ok(j, 8, "t", "[8]", hlc(30, 0));
	journal_close(j);
	j = open_with(0, 0);
	struct journal_checkpoint cp = checkpoint(j);
	ck_assert_uint_eq(cp.first_seq, 7);
	ck_assert_uint_eq(cp.last_seq, 7);
	ck_assert_uint_eq(cp.epoch, 2);
	ck_assert_int_eq(crdb_hlc_compare(cp.resolved, hlc(20, 3)), 0);
	ck_assert_int_eq(seen(j, "t", "[7]", hlc(20, 0), &seq), 1);
	ck_assert_int_eq(seen(j, "t", "[8]", hlc(30, 0), &seq), 0);
	ck_assert_str_eq(read_all(j, 0, true, 100, 0, &n), "r7 m7@20.3");
	append_ok(j, 8, "t", "[8]", hlc(30, 0));
	commit_ok(j, hlc(30, 0));
	journal_close(j);
	remove_dir();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("journal");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_seq_contiguity);
	tcase_add_test(tc, test_seen);
	tcase_add_test(tc, test_seen_collisions);
	tcase_add_test(tc, test_seen_out_of_order);
	tcase_add_test(tc, test_resolved);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_trim_age);
	tcase_add_test(tc, test_trim_size);
	tcase_add_test(tc, test_seek_time);
	tcase_add_test(tc, test_readonly);
	tcase_add_test(tc, test_full_map);
	tcase_add_test(tc, test_reopen);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_VERBOSE);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
