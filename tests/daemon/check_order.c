/*
 * check_order.c: ordered delivery's held rows (daemon/order.c): release in
 * (updated, table, key) order with group ends, duplicates on both sides of
 * a resolved boundary, late rows, a resolved timestamp that goes
 * backwards, empty and repeated windows, release in chunks (a group larger
 * than a chunk), spill to disk within the memory budget, a durable store
 * found again by a new order, identities longer than an LMDB key, and a
 * seeded differential test against a reference that sorts in the test.
 *
 * The owner's journal is played by a list of every row the callback got:
 * seen() searches it.
 */
#include <config.h> /* autoconf's */

#include "daemon/order.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct trow {
	crdb_hlc u;
	int op;
	char *table, *key, *line;
	size_t tlen, klen, llen;
	bool group_end;
};

struct rows {
	struct trow *v;
	size_t n, cap;
};

static char dir[64];
static struct rows journal;     /* every row released, ever */
static struct rows out;         /* the rows of the last release */
static long fail_after = -1;    /* the callback fails on this row */
static int seen_calls;
static char err[256];

static char *dup_bytes(const char *p, size_t n)
{
	char *c = malloc(n + 1);
	ck_assert_ptr_nonnull(c);
	memcpy(c, p, n);
	c[n] = 0;
	return c;
}

static void rows_push(struct rows *r, const struct order_row *row,
		      bool group_end)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		ck_assert_ptr_nonnull(r->v);
	}
	r->v[r->n++] = (struct trow){
		row->updated, row->op,
		dup_bytes(row->table, row->table_len),
		dup_bytes(row->key, row->key_len),
		dup_bytes(row->line, row->line_len),
		row->table_len, row->key_len, row->line_len, group_end };
}

static void rows_clear(struct rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].table);
		free(r->v[i].key);
		free(r->v[i].line);
	}
	r->n = 0;
}

static bool hlc_eq(crdb_hlc a, crdb_hlc b)
{
	return a.wall == b.wall && a.logical == b.logical;
}

static int seen(void *arg, const char *table, size_t tlen, const char *key,
		size_t klen, crdb_hlc u)
{
	(void)arg;
	seen_calls++;
	for (size_t i = 0; i < journal.n; i++) {
		const struct trow *t = &journal.v[i];
		if (hlc_eq(t->u, u) && t->tlen == tlen && t->klen == klen &&
		    memcmp(t->table, table, tlen) == 0 &&
		    memcmp(t->key, key, klen) == 0)
			return 1;
	}
	return 0;
}

static int collect(void *arg, const struct order_row *row, bool group_end)
{
	(void)arg;
	if (fail_after >= 0 && (long)out.n == fail_after)
		return -1;
	rows_push(&out, row, group_end);
	rows_push(&journal, row, group_end);
	return 0;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_order.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	fail_after = -1;
	seen_calls = 0;
	err[0] = 0;
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	rows_clear(&journal);
	rows_clear(&out);
}

static struct order *open_order(size_t budget, bool durable)
{
	struct order_limits lim = { budget, dir, durable };
	struct order *o = order_new(&lim, seen, NULL, err, sizeof(err));
	ck_assert_msg(o != NULL, "order_new: %s", err);
	return o;
}

static crdb_hlc H(int64_t wall, int32_t logical)
{
	return (crdb_hlc){ wall, logical };
}

/* The line of a row tells its identity, so the tests can check that each
 * row's bytes came back with it. */
static enum order_add_result add(struct order *o, crdb_hlc u,
				 const char *table, const char *key)
{
	char line[512];
	snprintf(line, sizeof(line), "{\"t\":\"%s\",\"k\":%s,\"u\":%lld.%d}\n",
		 table, key, (long long)u.wall, u.logical);
	struct order_row r = { u, CRDB_OP_UPSERT, table, strlen(table), key,
			       strlen(key), line, strlen(line) };
	return order_add(o, &r, err, sizeof(err));
}

static long release(struct order *o, crdb_hlc resolved, size_t max_rows,
		    bool *more)
{
	rows_clear(&out);
	bool m;
	long n = order_release(o, resolved, max_rows, collect, NULL,
			       more ? more : &m, err, sizeof(err));
	ck_assert_msg(n >= 0 || err[0], "release failed without a message");
	return n;
}

static void assert_out(size_t i, crdb_hlc u, const char *table,
		       const char *key, bool group_end)
{
	ck_assert_uint_lt(i, out.n);
	const struct trow *t = &out.v[i];
	ck_assert_msg(hlc_eq(t->u, u), "row %zu: updated %lld.%d, not %lld.%d",
		      i, (long long)t->u.wall, t->u.logical, (long long)u.wall,
		      u.logical);
	ck_assert_str_eq(t->table, table);
	ck_assert_str_eq(t->key, key);
	ck_assert_msg(t->group_end == group_end, "row %zu: group_end %d", i,
		      t->group_end);
	char line[512];
	snprintf(line, sizeof(line), "{\"t\":\"%s\",\"k\":%s,\"u\":%lld.%d}\n",
		 table, key, (long long)u.wall, u.logical);
	ck_assert_str_eq(t->line, line);
	ck_assert_int_eq(t->op, CRDB_OP_UPSERT);
}

/* Keys out of order across tables, two tables sharing one updated (one
 * group), logical ticks apart being different groups; rows above resolved
 * stay. Memory and spill alike. */
static void check_sort_and_groups(size_t budget)
{
	struct order *o = open_order(budget, false);
	ck_assert_int_eq(add(o, H(20, 0), "t2", "[3]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(10, 1), "t1", "[9]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(20, 0), "t1", "[5]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(30, 0), "t1", "[1]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(20, 0), "t2", "[1]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(10, 0), "t2", "[7]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(20, 0), "t1", "[10]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(20, 0), "t", "[99]"), ORDER_HELD);
	/* A key that is a prefix of another sorts first. */
	ck_assert_int_eq(add(o, H(20, 0), "t1", "10"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(20, 0), "t1", "1"), ORDER_HELD);
	struct order_stats st;
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.held_rows, 10);
	ck_assert_int_eq(st.oldest_held.wall, 10);
	ck_assert_int_eq(st.oldest_held.logical, 0);

	bool more = true;
	ck_assert_int_eq(release(o, H(20, 0), 0, &more), 9);
	ck_assert(!more);
	assert_out(0, H(10, 0), "t2", "[7]", true);
	assert_out(1, H(10, 1), "t1", "[9]", true);
	assert_out(2, H(20, 0), "t", "[99]", false);
	assert_out(3, H(20, 0), "t1", "1", false);
	assert_out(4, H(20, 0), "t1", "10", false);
	assert_out(5, H(20, 0), "t1", "[10]", false);
	assert_out(6, H(20, 0), "t1", "[5]", false);
	assert_out(7, H(20, 0), "t2", "[1]", false);
	assert_out(8, H(20, 0), "t2", "[3]", true);
	ck_assert_int_eq(order_released(o).wall, 20);
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.held_rows, 1);
	ck_assert_int_eq(st.oldest_held.wall, 30);
	ck_assert_int_eq(release(o, H(40, 0), 0, NULL), 1);
	assert_out(0, H(30, 0), "t1", "[1]", true);
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.held_rows, 0);
	ck_assert_uint_eq(st.held_bytes, 0);
	ck_assert_uint_eq(st.spilled_rows, 0);
	ck_assert_int_eq(st.oldest_held.wall, 0);
	order_free(o);
}

START_TEST(test_sort_and_groups)
{
	check_sort_and_groups(1 << 20);
}
END_TEST

START_TEST(test_sort_and_groups_on_disk)
{
	check_sort_and_groups(0);
}
END_TEST

/* A row held twice, a row re-sent after its release (below the resolved:
 * asked of the owner), a row below the resolved never released (late),
 * a duplicate above the new boundary. */
static void check_duplicates(size_t budget)
{
	struct order *o = open_order(budget, false);
	ck_assert_int_eq(add(o, H(5, 0), "t", "[1]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(5, 0), "t", "[1]"), ORDER_DUPLICATE);
	ck_assert_int_eq(add(o, H(5, 1), "t", "[1]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(12, 0), "t", "[1]"), ORDER_HELD);
	ck_assert_int_eq(seen_calls, 0);
	ck_assert_int_eq(release(o, H(10, 0), 0, NULL), 2);
	ck_assert_int_eq(add(o, H(5, 0), "t", "[1]"), ORDER_DUPLICATE);
	ck_assert_int_eq(add(o, H(10, 0), "t", "[1]"), ORDER_LATE);
	ck_assert_int_eq(add(o, H(7, 0), "u", "[1]"), ORDER_LATE);
	ck_assert_int_eq(seen_calls, 3);
	ck_assert_int_eq(add(o, H(12, 0), "t", "[1]"), ORDER_DUPLICATE);
	ck_assert_int_eq(add(o, H(10, 1), "t", "[1]"), ORDER_HELD);
	struct order_stats st;
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.duplicates, 3);
	ck_assert_uint_eq(st.late, 2);
	ck_assert_uint_eq(st.held_rows, 2);
	ck_assert_int_eq(release(o, H(15, 0), 0, NULL), 2);
	assert_out(0, H(10, 1), "t", "[1]", true);
	assert_out(1, H(12, 0), "t", "[1]", true);
	ck_assert_uint_eq(journal.n, 4);
	order_free(o);
}

START_TEST(test_duplicates)
{
	check_duplicates(1 << 20);
}
END_TEST

START_TEST(test_duplicates_on_disk)
{
	check_duplicates(0);
}
END_TEST

static int seen_fails(void *arg, const char *table, size_t tlen,
		      const char *key, size_t klen, crdb_hlc u)
{
	return -1;
}

/* An empty window, a repeated resolved, one going backwards (an error
 * that changes nothing), a failing seen(), a table with a NUL byte. */
START_TEST(test_windows_and_errors)
{
	struct order *o = open_order(1 << 20, false);
	ck_assert_int_eq(release(o, H(10, 0), 0, NULL), 0);
	ck_assert_int_eq(order_released(o).wall, 10);
	ck_assert_int_eq(release(o, H(10, 0), 0, NULL), 0);
	ck_assert_int_eq(add(o, H(11, 0), "t", "[1]"), ORDER_HELD);
	ck_assert_int_eq(release(o, H(10, 5), 0, NULL), 0);
	ck_assert_int_eq(order_released(o).logical, 5);
	ck_assert_int_eq(release(o, H(10, 4), 0, NULL), -1);
	ck_assert_msg(strstr(err, "resolved timestamp went backwards"), "%s",
		      err);
	ck_assert_int_eq(order_released(o).logical, 5);
	ck_assert_int_eq(release(o, H(11, 0), 0, NULL), 1);
	ck_assert_int_eq(release(o, H(11, 0), 0, NULL), 0);
	struct order_row r = { H(12, 0), CRDB_OP_UPSERT, "a\0b", 3, "[1]", 3,
			       "x\n", 2 };
	ck_assert_int_eq(order_add(o, &r, err, sizeof(err)), ORDER_ERROR);
	ck_assert_msg(strstr(err, "NUL"), "%s", err);
	order_free(o);

	struct order_limits lim = { 1 << 20, dir, false };
	o = order_new(&lim, seen_fails, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(o);
	order_set_released(o, H(10, 0));
	ck_assert_int_eq(order_released(o).wall, 10);
	ck_assert_int_eq(add(o, H(9, 0), "t", "[1]"), ORDER_ERROR);
	ck_assert_msg(strstr(err, "released before"), "%s", err);
	order_free(o);
}
END_TEST

/* One group of 25 rows released 10 at a time: group_end only on its real
 * last row; the released resolved moves only at the end. Between chunks:
 * a re-sent row already out is a duplicate, a new row of the group that
 * sorts after the last one out is held and comes in its place, one that
 * sorts before it was never out: late. A callback that fails leaves its
 * row held. */
static void check_chunks(size_t budget)
{
	struct order *o = open_order(budget, false);
	ck_assert_int_eq(add(o, H(5, 0), "a", "[1]"), ORDER_HELD);
	char key[16];
	for (int i = 0; i < 25; i++) {
		snprintf(key, sizeof(key), "[%02d]", 2 * i);
		ck_assert_int_eq(add(o, H(8, 0), "t", key), ORDER_HELD);
	}
	ck_assert_int_eq(add(o, H(9, 0), "a", "[1]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(30, 0), "a", "[1]"), ORDER_HELD);
	bool more = false;
	ck_assert_int_eq(release(o, H(20, 0), 10, &more), 10);
	ck_assert(more);
	assert_out(0, H(5, 0), "a", "[1]", true);
	for (int i = 1; i < 10; i++) {
		snprintf(key, sizeof(key), "[%02d]", 2 * (i - 1));
		assert_out((size_t)i, H(8, 0), "t", key, false);
	}
	ck_assert_int_eq(order_released(o).wall, 0);
	/* [16] was the last out. */
	ck_assert_int_eq(add(o, H(8, 0), "t", "[04]"), ORDER_DUPLICATE);
	ck_assert_int_eq(add(o, H(8, 0), "t", "[05]"), ORDER_LATE);
	ck_assert_int_eq(add(o, H(8, 0), "t", "[16]"), ORDER_DUPLICATE);
	ck_assert_int_eq(add(o, H(8, 0), "t", "[17]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(8, 0), "t", "[18]"), ORDER_DUPLICATE);
	ck_assert_int_eq(add(o, H(7, 0), "t", "[17]"), ORDER_LATE);
	ck_assert_int_eq(release(o, H(19, 0), 10, &more), -1);
	ck_assert_msg(strstr(err, "went backwards"), "%s", err);

	fail_after = 3;
	ck_assert_int_eq(release(o, H(20, 0), 10, &more), -1);
	ck_assert(more);
	ck_assert_uint_eq(out.n, 3);
	assert_out(0, H(8, 0), "t", "[17]", false);
	assert_out(2, H(8, 0), "t", "[20]", false);
	fail_after = -1;
	ck_assert_int_eq(release(o, H(20, 0), 10, &more), 10);
	ck_assert(more);
	assert_out(0, H(8, 0), "t", "[22]", false);
	assert_out(9, H(8, 0), "t", "[40]", false);
	ck_assert_int_eq(release(o, H(20, 0), 10, &more), 5);
	ck_assert(!more);
	assert_out(3, H(8, 0), "t", "[48]", true);
	assert_out(4, H(9, 0), "a", "[1]", true);
	ck_assert_int_eq(order_released(o).wall, 20);
	ck_assert_uint_eq(journal.n, 28);
	struct order_stats st;
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.held_rows, 1);
	ck_assert_uint_eq(st.late, 2);
	ck_assert_uint_eq(st.duplicates, 3);
	order_free(o);
}

START_TEST(test_chunks)
{
	check_chunks(1 << 20);
}
END_TEST

START_TEST(test_chunks_on_disk)
{
	check_chunks(0);
}
END_TEST

/* Rows with keys ["label N"] until the budget spills one: how many were
 * held in memory. */
static int fill_memory(struct order *o, int64_t wall, const char *label)
{
	struct order_stats st;
	char key[64];
	int n = 0;

	for (;; n++) {
		snprintf(key, sizeof(key), "[\"%s %d\"]", label, n);
		ck_assert_int_eq(add(o, H(wall, 0), "t", key), ORDER_HELD);
		order_get_stats(o, &st);
		if (st.spilled_rows)
			return n;
	}
}

/* Released rows' memory is kept for the next rows and counted in the
 * budget, and dropped rather than spill a row: rows of another size fit
 * as many as in a new hold. Rows of the same size reuse it, their bytes
 * their own. */
START_TEST(test_released_memory_reused_within_budget)
{
	size_t budget = 32768;
	struct order *fresh = open_order(budget, false);
	int want = fill_memory(fresh, 100, "a longer key, another size class");
	order_free(fresh);
	teardown();
	setup();

	struct order *o = open_order(budget, false);
	struct order_stats st;
	char key[32];
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "[%d]", i);
		ck_assert_int_eq(add(o, H(50, 0), "t", key), ORDER_HELD);
	}
	ck_assert_int_eq(release(o, H(60, 0), 0, NULL), 40);
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.held_rows, 0);
	ck_assert_uint_gt(st.memory_bytes, 40 * 64);
	ck_assert_uint_le(st.memory_bytes, budget);
	/* the same size again: the kept memory, the rows' own bytes */
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "[%d]", i + 100);
		ck_assert_int_eq(add(o, H(70, 0), "t", key), ORDER_HELD);
	}
	ck_assert_int_eq(release(o, H(80, 0), 0, NULL), 40);
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "[%d]", i + 100);
		assert_out((size_t)i, H(70, 0), "t", key, i == 39);
	}
	ck_assert_int_eq(fill_memory(o, 100, "a longer key, another size class"),
			 want);
	order_get_stats(o, &st);
	ck_assert_uint_le(st.memory_bytes, budget);
	order_free(o);
}
END_TEST

/* A budget of a few rows: most spill, memory stays within it at every
 * step, a duplicate is found on either side, the order is exact. */
START_TEST(test_spill)
{
	size_t budget = 16384;
	struct order *o = open_order(budget, false);
	struct order_stats st;
	char key[32];
	for (int i = 0; i < 3000; i++) {
		int k = (i * 7919) % 3000;
		snprintf(key, sizeof(key), "[%d]", k);
		ck_assert_int_eq(add(o, H(100 + k % 50, 0), k % 3 ? "b" : "a",
				     key), ORDER_HELD);
		order_get_stats(o, &st);
		ck_assert_uint_le(st.memory_bytes, budget);
	}
	ck_assert_uint_eq(st.held_rows, 3000);
	ck_assert_uint_gt(st.spilled_rows, 2800);
	ck_assert_uint_lt(st.spilled_rows, 3000);
	ck_assert_uint_gt(st.memory_bytes, budget / 2);
	ck_assert_int_eq(add(o, H(100, 0), "a", "[0]"), ORDER_DUPLICATE);
	ck_assert_int_eq(add(o, H(149, 0), "b", "[2999]"), ORDER_DUPLICATE);
	ck_assert_int_eq(release(o, H(200, 0), 0, NULL), 3000);
	for (size_t i = 1; i < out.n; i++) {
		const struct trow *a = &out.v[i - 1], *b = &out.v[i];
		int c = a->u.wall < b->u.wall ? -1 : a->u.wall > b->u.wall;
		if (!c)
			c = strcmp(a->table, b->table);
		if (!c)
			c = strcmp(a->key, b->key);
		ck_assert_msg(c < 0, "rows %zu and %zu out of order", i - 1, i);
		ck_assert(a->group_end == (a->u.wall != b->u.wall));
	}
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.held_rows, 0);
	ck_assert_uint_le(st.memory_bytes, budget);
	order_free(o);
}
END_TEST

/* Durable: every row on disk; after sync and free, a new order on the
 * same directory has them and releases them in order. A non-durable store
 * is gone after free. Rows at or below the released resolved found in a
 * reloaded store are asked of the owner and dropped when released. */
START_TEST(test_durable)
{
	struct order *o = open_order(1 << 20, true);
	ck_assert_int_eq(add(o, H(3, 0), "t", "[2]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(2, 0), "t", "[1]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(3, 0), "s", "[9]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(9, 0), "t", "[1]"), ORDER_HELD);
	struct order_stats st;
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.spilled_rows, 4);
	ck_assert_uint_eq(st.memory_bytes, 0);
	ck_assert_int_eq(order_sync(o, err, sizeof(err)), 0);
	order_free(o);

	o = open_order(1 << 20, true);
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.held_rows, 4);
	ck_assert_int_eq(st.oldest_held.wall, 2);
	ck_assert_int_eq(add(o, H(3, 0), "s", "[9]"), ORDER_DUPLICATE);
	ck_assert_int_eq(release(o, H(3, 0), 0, NULL), 3);
	assert_out(0, H(2, 0), "t", "[1]", true);
	assert_out(1, H(3, 0), "s", "[9]", false);
	assert_out(2, H(3, 0), "t", "[2]", true);
	ck_assert_int_eq(order_sync(o, err, sizeof(err)), 0);
	order_free(o);

	/* A restart after the journal took (3, s, [9]) but before the store
	 * dropped it: the row comes back from the store, is asked about and
	 * dropped; (2, t, [1]) never reached the journal and is released. */
	o = open_order(1 << 20, true);
	ck_assert_int_eq(add(o, H(2, 0), "t", "[1]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(3, 0), "s", "[9]"), ORDER_HELD);
	ck_assert_int_eq(order_sync(o, err, sizeof(err)), 0);
	order_free(o);
	rows_clear(&journal);
	struct order_row r = { H(3, 0), CRDB_OP_UPSERT, "s", 1, "[9]", 3,
			       "x\n", 2 };
	rows_push(&journal, &r, true);
	o = open_order(1 << 20, true);
	order_set_released(o, H(3, 0));
	ck_assert_int_eq(release(o, H(3, 0), 0, NULL), 1);
	assert_out(0, H(2, 0), "t", "[1]", true);
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.duplicates, 1);
	ck_assert_uint_eq(st.held_rows, 1);
	ck_assert_int_eq(release(o, H(9, 0), 0, NULL), 1);
	assert_out(0, H(9, 0), "t", "[1]", true);
	order_free(o);

	o = open_order(0, false);
	ck_assert_int_eq(add(o, H(3, 0), "t", "[2]"), ORDER_HELD);
	order_free(o);
	o = open_order(0, false);
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.held_rows, 0);
	order_free(o);
}
END_TEST

/* Durable: a release is undone by a crash (free) before order_sync(), the
 * caller's sign that the released rows are durable where they went: the
 * rows are held again after a restart; after the sync they are gone. Rows
 * the journal took in a chunk before the crash are dropped after it. */
START_TEST(test_durable_release_waits_for_sync)
{
	struct order *o = open_order(1 << 20, true);
	ck_assert_int_eq(add(o, H(2, 0), "t", "[1]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(3, 0), "t", "[2]"), ORDER_HELD);
	ck_assert_int_eq(add(o, H(9, 0), "t", "[3]"), ORDER_HELD);
	ck_assert_int_eq(order_sync(o, err, sizeof(err)), 0);
	ck_assert_int_eq(release(o, H(3, 0), 0, NULL), 2);
	order_free(o);

	rows_clear(&journal);
	o = open_order(1 << 20, true);
	struct order_stats st;
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.held_rows, 3);
	ck_assert_int_eq(release(o, H(3, 0), 0, NULL), 2);
	assert_out(0, H(2, 0), "t", "[1]", true);
	assert_out(1, H(3, 0), "t", "[2]", true);
	ck_assert_int_eq(order_sync(o, err, sizeof(err)), 0);
	order_free(o);

	o = open_order(1 << 20, true);
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.held_rows, 1);
	ck_assert_int_eq(st.oldest_held.wall, 9);
	ck_assert_int_eq(add(o, H(12, 0), "t", "[4]"), ORDER_HELD);
	ck_assert_int_eq(order_sync(o, err, sizeof(err)), 0);
	/* A release in chunks: the journal took the first chunk, without
	 * the resolved timestamp, and the daemon died before the sync. The
	 * rows are above the released resolved after the restart, yet were
	 * released: found in the store at open, they are asked about. */
	bool more = false;
	ck_assert_int_eq(release(o, H(12, 0), 1, &more), 1);
	ck_assert(more);
	assert_out(0, H(9, 0), "t", "[3]", true);
	order_free(o);

	o = open_order(1 << 20, true);
	order_set_released(o, H(3, 0));
	seen_calls = 0;
	ck_assert_int_eq(release(o, H(12, 0), 0, NULL), 1);
	assert_out(0, H(12, 0), "t", "[4]", true);
	order_get_stats(o, &st);
	ck_assert_uint_eq(st.duplicates, 1);
	ck_assert_int_eq(seen_calls, 2);
	order_free(o);
}
END_TEST

/* Identities longer than an LMDB key: two that differ only after the
 * first 483 bytes are two rows, each found again as a duplicate, released
 * once each, in the same order whatever order they came in. */
static void check_long(size_t budget, bool reverse, char first[2])
{
	struct order *o = open_order(budget, false);
	char key[2][700];
	for (int i = 0; i < 2; i++) {
		memset(key[i], 'k', sizeof(key[i]) - 1);
		key[i][0] = '"';
		key[i][sizeof(key[i]) - 3] = (char)('A' + i);
		key[i][sizeof(key[i]) - 2] = '"';
		key[i][sizeof(key[i]) - 1] = 0;
	}
	for (int i = 0; i < 2; i++) {
		int k = reverse ? 1 - i : i;
		struct order_row r = { H(4, 0), CRDB_OP_DELETE, "t", 1, key[k],
				       strlen(key[k]), key[k], strlen(key[k]) };
		ck_assert_int_eq(order_add(o, &r, err, sizeof(err)),
				 ORDER_HELD);
	}
	for (int i = 0; i < 2; i++) {
		struct order_row r = { H(4, 0), CRDB_OP_DELETE, "t", 1, key[i],
				       strlen(key[i]), "", 0 };
		ck_assert_int_eq(order_add(o, &r, err, sizeof(err)),
				 ORDER_DUPLICATE);
	}
	ck_assert_int_eq(release(o, H(4, 0), 0, NULL), 2);
	ck_assert(!out.v[0].group_end && out.v[1].group_end);
	for (int i = 0; i < 2; i++) {
		ck_assert_str_eq(out.v[i].line, out.v[i].key);
		ck_assert_int_eq(out.v[i].op, CRDB_OP_DELETE);
		first[i] = out.v[i].key[sizeof(key[0]) - 3];
	}
	ck_assert_int_ne(first[0], first[1]);
	order_free(o);
}

START_TEST(test_long_identity)
{
	char a[2], b[2], c[2];
	check_long(1 << 20, false, a);
	check_long(0, true, b);
	rows_clear(&journal);
	check_long(1 << 20, true, c);
	ck_assert_mem_eq(a, b, 2);
	ck_assert_mem_eq(a, c, 2);
}
END_TEST

/* ---- the differential test ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int trow_cmp(const void *pa, const void *pb)
{
	const struct trow *a = pa, *b = pb;
	if (a->u.wall != b->u.wall)
		return a->u.wall < b->u.wall ? -1 : 1;
	if (a->u.logical != b->u.logical)
		return a->u.logical < b->u.logical ? -1 : 1;
	int c = strcmp(a->table, b->table);
	return c ? c : strcmp(a->key, b->key);
}

static bool rows_has(const struct rows *r, const struct trow *t)
{
	for (size_t i = 0; i < r->n; i++)
		if (trow_cmp(&r->v[i], t) == 0)
			return true;
	return false;
}

/* Random rows near the resolved boundary, re-sent copies of held and of
 * released rows, random budgets (memory, a little, none) and chunk sizes;
 * every release equals the reference: the model's held rows <= resolved,
 * sorted, with group ends where updated changes. */
START_TEST(test_random)
{
	static const char *tables[] = { "a", "ab", "b", "t_long_name" };
	rng_state = 20261206;
	for (int round = 0; round < 12; round++) {
		size_t budgets[] = { 1 << 22, 6000, 0 };
		size_t budget = budgets[round % 3];
		struct order *o = open_order(budget, false);
		struct rows model = { 0 };
		int64_t resolved = 0;
		rows_clear(&journal);
		for (int step = 0; step < 40; step++) {
			int adds = (int)(rng() % 60);
			for (int i = 0; i < adds; i++) {
				struct trow t = { 0 };
				struct order_row r;
				char key[600], line[700];
				size_t klen;
				uint64_t x = rng();
				if (x % 8 == 0 && journal.n) {
					t = journal.v[rng() % journal.n];
				} else if (x % 8 == 1 && model.n) {
					t = model.v[rng() % model.n];
				} else {
					t.u = H(resolved - 3 +
						(int64_t)(rng() % 12),
						(int32_t)(rng() % 2));
					t.table = (char *)tables[rng() % 4];
					if (x % 16 == 2) {
						klen = (size_t)snprintf(
							key, sizeof(key),
							"\"%03d%0550d\"",
							(int)(rng() % 1000), 0);
					} else {
						klen = (size_t)snprintf(
							key, sizeof(key), "[%d]",
							(int)(rng() % 40));
					}
					t.key = key;
				}
				klen = strlen(t.key);
				snprintf(line, sizeof(line), "%s/%s/%lld.%d\n",
					 t.table, t.key, (long long)t.u.wall,
					 t.u.logical);
				r = (struct order_row){ t.u, CRDB_OP_UPSERT,
					t.table, strlen(t.table), t.key, klen,
					line, strlen(line) };
				enum order_add_result want;
				if (rows_has(&model, &t))
					want = ORDER_DUPLICATE;
				else if (t.u.wall < resolved ||
					 (t.u.wall == resolved &&
					  t.u.logical == 0))
					want = rows_has(&journal, &t)
					       ? ORDER_DUPLICATE : ORDER_LATE;
				else
					want = ORDER_HELD;
				ck_assert_int_eq(order_add(o, &r, err,
							   sizeof(err)), want);
				if (want == ORDER_HELD)
					rows_push(&model, &r, false);
			}
			struct order_stats st;
			order_get_stats(o, &st);
			ck_assert_uint_eq(st.held_rows, model.n);
			if (budget)
				ck_assert_uint_le(st.memory_bytes, budget);
			resolved += (int64_t)(rng() % 4);
			/* The reference: held rows <= resolved, sorted. */
			if (model.n)
				qsort(model.v, model.n, sizeof(*model.v),
				      trow_cmp);
			size_t due = 0;
			while (due < model.n && model.v[due].u.wall <= resolved &&
			       (model.v[due].u.wall < resolved ||
				model.v[due].u.logical == 0))
				due++;
			size_t chunk = rng() % 3 ? 0 : 1 + rng() % 7;
			size_t got = 0;
			bool more;
			do {
				long n = release(o, H(resolved, 0), chunk,
						 &more);
				ck_assert_msg(n >= 0, "%s", err);
				for (size_t i = 0; i < out.n; i++, got++) {
					ck_assert_uint_lt(got, due);
					const struct trow *w = &model.v[got];
					const struct trow *g = &out.v[i];
					ck_assert_int_eq(trow_cmp(w, g), 0);
					ck_assert_str_eq(w->line, g->line);
					bool end = got + 1 == due ||
						   !hlc_eq(model.v[got + 1].u,
							   w->u);
					ck_assert(g->group_end == end);
				}
			} while (more);
			ck_assert_uint_eq(got, due);
			ck_assert_int_eq(order_released(o).wall, resolved);
			/* Drop the released rows from the model. */
			for (size_t i = 0; i < due; i++) {
				free(model.v[i].table);
				free(model.v[i].key);
				free(model.v[i].line);
			}
			if (due)
				memmove(model.v, model.v + due,
					(model.n - due) * sizeof(*model.v));
			model.n -= due;
		}
		rows_clear(&model);
		free(model.v);
		order_free(o);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("order");
	TCase *tc = tcase_create("order");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sort_and_groups);
	tcase_add_test(tc, test_sort_and_groups_on_disk);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_duplicates_on_disk);
	tcase_add_test(tc, test_windows_and_errors);
	tcase_add_test(tc, test_chunks);
	tcase_add_test(tc, test_chunks_on_disk);
	tcase_add_test(tc, test_spill);
	tcase_add_test(tc, test_released_memory_reused_within_budget);
	tcase_add_test(tc, test_durable);
	tcase_add_test(tc, test_durable_release_waits_for_sync);
	tcase_add_test(tc, test_long_identity);
	tcase_add_test(tc, test_random);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_VERBOSE);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
