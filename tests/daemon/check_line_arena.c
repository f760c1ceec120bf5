/*
 * check_line_arena.c: where lines live (daemon/line_arena.c): consecutive
 * lines' bytes are adjacent and gather into one iovec, a slab whose lines
 * are all gone is carved again from its start, a line outliving its slab's
 * siblings keeps that slab (and only it), lines above a slab's share get
 * their own allocation without breaking the adjacency of the others, and
 * a slab goes only with its last reference, whatever the release order.
 */
#include <config.h> /* autoconf's */

#include "daemon/line_arena.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct line *row(const char *table, const char *text)
{
	size_t len = strlen(text);
	struct line *line = line_arena_new(LINE_ROW, CRDB_OP_UPSERT, table,
					   table ? strlen(table) : 0, len);

	ck_assert_ptr_nonnull(line);
	memcpy(line->data, text, len);
	return line;
}

static struct line_arena_stats stats_now(void)
{
	struct line_arena_stats st;

	line_arena_get_stats(&st);
	return st;
}

START_TEST(test_adjacent_lines_share_an_iovec)
{
	struct line *a = row("t", "{\"a\":1}\n");
	struct line *b = row("a_longer_table_name", "{\"b\":2}\n");
	struct line *c = row(NULL, "{\"c\":3}\n");
	char elsewhere[] = "{\"d\":4}\n";
	struct iovec iov[4];
	size_t n = 0;

	ck_assert_ptr_eq(b->data, a->data + a->len);
	ck_assert_ptr_eq(c->data, b->data + b->len);
	/* Table names live apart from the bytes, intact. */
	ck_assert_str_eq(a->table, "t");
	ck_assert_str_eq(b->table, "a_longer_table_name");
	ck_assert_ptr_null(c->table);
	ck_assert_int_eq(b->op, CRDB_OP_UPSERT);
	ck_assert_uint_eq(b->refs, 1);

	n = line_iov_add(iov, n, a->data + 5, a->len - 5); /* a partial head */
	n = line_iov_add(iov, n, b->data, b->len);
	n = line_iov_add(iov, n, c->data, c->len);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(iov[0].iov_len, a->len - 5 + b->len + c->len);
	ck_assert(memcmp(iov[0].iov_base, "1}\n{\"b\":2}\n{\"c\":3}\n",
			 iov[0].iov_len) == 0);
	/* Bytes elsewhere start an iovec of their own. */
	n = line_iov_add(iov, n, elsewhere, strlen(elsewhere));
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_eq(iov[1].iov_base, elsewhere);
	ck_assert_uint_eq(iov[0].iov_len, a->len - 5 + b->len + c->len);
	line_unref(a);
	line_unref(b);
	line_unref(c);
}
END_TEST

START_TEST(test_empty_slab_is_reused)
{
	struct line_arena_stats before = stats_now(), after;
	struct line *a = row("t", "first\n");
	char *first = a->data;
	struct line *b = row("t", "second\n");

	line_unref(a);
	line_unref(b);
	a = row("t", "third\n");
	ck_assert_ptr_eq(a->data, first);
	after = stats_now();
	ck_assert_uint_le(after.slabs_made - before.slabs_made, 1);
	ck_assert_uint_eq(after.slab_lines, before.slab_lines + 1);
	line_unref(a);
	/* A full slab whose lines are gone is carved again, not replaced. */
	before = stats_now();
	for (int i = 0; i < 3 * LINE_SLAB_BYTES / 100; i++)
		line_unref(row("t", "a line of some forty bytes, released\n"));
	after = stats_now();
	ck_assert_uint_eq(after.slabs_made, before.slabs_made);
	ck_assert_uint_eq(after.slabs_live, before.slabs_live);
}
END_TEST

START_TEST(test_line_outlives_its_siblings)
{
	struct line_arena_stats before, pinned, after;
	enum { MANY = 4 * LINE_SLAB_BYTES / 64 };
	struct line **lines = calloc(MANY, sizeof(*lines));
	struct line *kept;
	char text[64];

	ck_assert_ptr_nonnull(lines);
	line_unref(row("t", "settle the current slab\n"));
	before = stats_now();
	for (int i = 0; i < MANY; i++) {
		snprintf(text, sizeof text, "{\"row\":%d}\n", i);
		lines[i] = row("table", text);
	}
	kept = line_ref(lines[1]);
	for (int i = 0; i < MANY; i++)
		line_unref(lines[i]);
	/* Only the kept line's slab stays besides the current one. */
	pinned = stats_now();
	ck_assert_uint_eq(pinned.slab_lines, before.slab_lines + 1);
	ck_assert_uint_le(pinned.slabs_live, before.slabs_live + 1);
	ck_assert_uint_ge(pinned.slabs_made - before.slabs_made, 2);
	ck_assert_uint_eq(kept->refs, 1);
	ck_assert(memcmp(kept->data, "{\"row\":1}\n", kept->len) == 0);
	ck_assert_str_eq(kept->table, "table");
	/* New lines do not land on the kept one. */
	for (int i = 0; i < MANY; i++)
		line_unref(row("t", "{\"overwrite\":\"me if you can\"}\n"));
	ck_assert(memcmp(kept->data, "{\"row\":1}\n", kept->len) == 0);
	line_unref(kept);
	after = stats_now();
	ck_assert_uint_eq(after.slab_lines, before.slab_lines);
	ck_assert_uint_le(after.slabs_live, before.slabs_live);
	free(lines);
}
END_TEST

START_TEST(test_big_lines_own_allocation)
{
	struct line_arena_stats before = stats_now(), during;
	size_t sizes[] = { LINE_SLAB_BYTES / 4, 2 * LINE_SLAB_BYTES };

	for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
		struct line *a = row("t", "small before\n");
		struct line *big = line_arena_new(LINE_ROW, CRDB_OP_DELETE, "big",
						  3, sizes[s]);
		struct line *b = row("t", "small after\n");

		ck_assert_ptr_nonnull(big);
		ck_assert_ptr_null(big->slab);
		memset(big->data, 'x', big->len);
		ck_assert_str_eq(big->table, "big");
		ck_assert_uint_eq(big->len, sizes[s]);
		/* The small lines around it stay adjacent. */
		ck_assert_ptr_eq(b->data, a->data + a->len);
		during = stats_now();
		ck_assert_uint_eq(during.own_live, before.own_live + 1);
		line_unref(big);
		line_unref(a);
		line_unref(b);
	}
	ck_assert_uint_eq(stats_now().own_live, before.own_live);
	ck_assert_ptr_null(line_arena_new(LINE_ROW, CRDB_OP_UPSERT, "t", 1,
					  SIZE_MAX - 8));
}
END_TEST

START_TEST(test_release_order)
{
	static const int orders[][5] = {
		{ 0, 1, 2, 3, 2 }, { 3, 2, 1, 0, 2 }, { 2, 3, 0, 2, 1 },
		{ 2, 0, 2, 3, 1 },
	};

	for (size_t o = 0; o < sizeof orders / sizeof *orders; o++) {
		struct line_arena_stats before = stats_now();
		struct line *l[4], *filler[9];
		unsigned refs[4] = { 1, 1, 2, 1 };

		/* Most of a slab taken, so that the four lines span two. */
		for (int f = 0; f < 9; f++) {
			filler[f] = line_arena_new(LINE_ROW, CRDB_OP_UPSERT, NULL, 0, 7000);
			ck_assert_ptr_nonnull(filler[f]);
		}
		for (int i = 0; i < 4; i++) {
			l[i] = line_arena_new(LINE_ROW, CRDB_OP_UPSERT, "t", 1, 700);
			ck_assert_ptr_nonnull(l[i]);
			memset(l[i]->data, 'a' + i, l[i]->len);
		}
		ck_assert_ptr_ne(l[0]->slab, l[3]->slab);
		for (int f = 0; f < 9; f++)
			line_unref(filler[f]);
		line_ref(l[2]);
		for (int i = 0; i < 5; i++) {
			line_unref(l[orders[o][i]]);
			refs[orders[o][i]]--;
			/* The lines still held are intact (ASan would see a
			 * freed slab). */
			for (int j = 0; j < 4; j++)
				if (refs[j]) {
					ck_assert_uint_eq(l[j]->refs, refs[j]);
					ck_assert_int_eq(l[j]->data[0], 'a' + j);
					ck_assert_int_eq(l[j]->data[699], 'a' + j);
					ck_assert_str_eq(l[j]->table, "t");
				}
		}
		ck_assert_uint_eq(stats_now().slab_lines, before.slab_lines);
		ck_assert_uint_le(stats_now().slabs_live, before.slabs_live + 1);
	}
}
END_TEST

static Suite *arena_suite(void)
{
	Suite *s = suite_create("line_arena");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_adjacent_lines_share_an_iovec);
	tcase_add_test(tc, test_empty_slab_is_reused);
	tcase_add_test(tc, test_line_outlives_its_siblings);
	tcase_add_test(tc, test_big_lines_own_allocation);
	tcase_add_test(tc, test_release_order);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(arena_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
