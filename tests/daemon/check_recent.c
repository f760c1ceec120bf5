/*
 * check_recent.c: stream delivery's set of recently delivered rows
 * (daemon/recent.c): a row is new once and delivered after that, its
 * identity is (table, key, updated) and nothing less, a checkpoint forgets
 * the rows at or below it, a full set evicts its oldest entries, and a
 * seeded differential test against a plain list (with evictions and
 * checkpoints) checks every answer.
 */
#include <config.h> /* autoconf's */

#include "daemon/recent.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_add(struct recent *r, const char *table, const char *key,
		     int64_t wall, int32_t logical)
{
	return recent_check_add(r, table, strlen(table), key, strlen(key),
				(crdb_hlc){ wall, logical });
}

START_TEST(test_identity)
{
	struct recent *r = recent_new(100);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(check_add(r, "t", "[1]", 5, 0), 0);
	ck_assert_int_eq(check_add(r, "t", "[1]", 5, 0), 1);
	ck_assert_int_eq(check_add(r, "t", "[1]", 5, 1), 0);
	ck_assert_int_eq(check_add(r, "t", "[1]", 6, 0), 0);
	ck_assert_int_eq(check_add(r, "u", "[1]", 5, 0), 0);
	ck_assert_int_eq(check_add(r, "t", "[2]", 5, 0), 0);
	/* The table/key boundary is part of the identity. */
	ck_assert_int_eq(check_add(r, "t[", "1]", 5, 0), 0);
	/* So are the lengths: bytes are read in zero-padded words. */
	ck_assert_int_eq(recent_check_add(r, "t", 1, "[1]\0", 4, (crdb_hlc){ 5, 0 }), 0);
	ck_assert_int_eq(recent_check_add(r, "t\0", 2, "[1]", 3, (crdb_hlc){ 5, 0 }), 0);
	ck_assert_int_eq(check_add(r, "", "", 0, 0), 0);
	ck_assert_int_eq(check_add(r, "", "", 0, 0), 1);
	struct recent_stats st;
	recent_get_stats(r, &st);
	ck_assert_uint_eq(st.entries, 9);
	ck_assert_uint_eq(st.evicted, 0);
	recent_free(r);
}
END_TEST

START_TEST(test_forget)
{
	struct recent *r = recent_new(100);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(check_add(r, "t", "[1]", 10 + i, 0), 0);
	ck_assert_int_eq(check_add(r, "t", "[1]", 14, 1), 0);
	recent_forget_upto(r, (crdb_hlc){ 14, 0 });
	struct recent_stats st;
	recent_get_stats(r, &st);
	ck_assert_uint_eq(st.entries, 6);
	ck_assert_int_eq(check_add(r, "t", "[1]", 14, 0), 0);
	ck_assert_int_eq(check_add(r, "t", "[1]", 14, 1), 1);
	ck_assert_int_eq(check_add(r, "t", "[1]", 15, 0), 1);
	ck_assert_int_eq(check_add(r, "t", "[1]", 19, 0), 1);
	recent_forget_upto(r, (crdb_hlc){ 100, 0 });
	recent_get_stats(r, &st);
	ck_assert_uint_eq(st.entries, 0);
	ck_assert_int_eq(check_add(r, "t", "[1]", 19, 0), 0);
	recent_free(r);
}
END_TEST

/* Full: the first recorded go first, counted; a copy of an evicted row
 * passes again (documented), the others are still caught. */
START_TEST(test_eviction)
{
	struct recent *r = recent_new(3);
	ck_assert_int_eq(check_add(r, "t", "[1]", 1, 0), 0);
	ck_assert_int_eq(check_add(r, "t", "[2]", 1, 0), 0);
	ck_assert_int_eq(check_add(r, "t", "[3]", 1, 0), 0);
	ck_assert_int_eq(check_add(r, "t", "[4]", 1, 0), 0);
	struct recent_stats st;
	recent_get_stats(r, &st);
	ck_assert_uint_eq(st.entries, 3);
	ck_assert_uint_eq(st.evicted, 1);
	ck_assert_int_eq(check_add(r, "t", "[2]", 1, 0), 1);
	ck_assert_int_eq(check_add(r, "t", "[3]", 1, 0), 1);
	ck_assert_int_eq(check_add(r, "t", "[4]", 1, 0), 1);
	ck_assert_int_eq(check_add(r, "t", "[1]", 1, 0), 0);
	recent_get_stats(r, &st);
	ck_assert_uint_eq(st.evicted, 2);
	ck_assert_int_eq(check_add(r, "t", "[2]", 1, 0), 0);
	recent_free(r);
}
END_TEST

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

struct ref_entry {
	int key;
	int64_t wall;
};

/* A plain list in recording order, cut to max from the front: the answer
 * recent must give for every row, through growth, wrap, eviction (with
 * the backward-shift deletion in its table) and checkpoints. Few keys
 * make re-sent rows frequent, a small max makes evictions frequent. */
static void check_random(size_t max, int keys, uint64_t seed)
{
	rng_state = seed;
	struct recent *r = recent_new(max);
	struct ref_entry *ref = malloc(40000 * sizeof(*ref));
	ck_assert_ptr_nonnull(ref);
	size_t n = 0, first = 0;
	int64_t now = 0, checkpoint = -1;
	uint64_t evicted = 0, again = 0;
	for (int i = 0; i < 40000; i++) {
		now += (int64_t)(rng() % 2);
		int key = (int)(rng() % (uint64_t)keys);
		int64_t wall = now - (int64_t)(rng() % 4);
		if (wall <= checkpoint)
			wall = checkpoint + 1;
		if (rng() % 3 == 0 && n > first) {
			/* A re-sent row: one of the set, or one just evicted. */
			size_t back = first > 8 ? 8 : first;
			size_t j = first - back +
				   (size_t)(rng() % (n - first + back));
			key = ref[j].key;
			wall = ref[j].wall > checkpoint ? ref[j].wall : wall;
		}
		int want = 0;
		for (size_t j = first; j < n; j++)
			if (ref[j].key == key && ref[j].wall == wall)
				want = 1;
		char k[16];
		snprintf(k, sizeof(k), "[%d]", key);
		ck_assert_int_eq(check_add(r, "t", k, wall, 0), want);
		again += (uint64_t)want;
		if (!want) {
			ref[n++] = (struct ref_entry){ key, wall };
			if (n - first > max) {
				first++;
				evicted++;
			}
		}
		if (rng() % 500 == 0) {
			checkpoint = now - 2;
			recent_forget_upto(r, (crdb_hlc){ checkpoint, 0 });
			size_t kept = first;
			for (size_t j = first; j < n; j++)
				if (ref[j].wall > checkpoint)
					ref[kept++] = ref[j];
			n = kept;
		}
		struct recent_stats st;
		recent_get_stats(r, &st);
		ck_assert_uint_eq(st.entries, n - first);
		ck_assert_uint_eq(st.evicted, evicted);
	}
	ck_assert_uint_gt(evicted, 300);
	ck_assert_uint_gt(again, 1000);
	free(ref);
	recent_free(r);
}

START_TEST(test_random)
{
	check_random(1500, 3000, 77);
	check_random(64, 40, 78);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("recent");
	TCase *tc = tcase_create("recent");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_identity);
	tcase_add_test(tc, test_forget);
	tcase_add_test(tc, test_eviction);
	tcase_add_test(tc, test_random);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_VERBOSE);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
