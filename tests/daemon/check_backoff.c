/*
 * check_backoff.c: a feed's reconnect delays (daemon/backoff.c): they grow
 * by doubling from backoff_initial, each is jittered over the upper half
 * of its step, they never pass backoff_max, and a working connection
 * starts them over. Random numbers come from a seeded generator, so every
 * run checks the same sequence.
 */
#include <config.h> /* autoconf's */

#include "daemon/backoff.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

/* splitmix64: a small seeded generator, the same numbers on every run. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* The defaults: 1 s doubling to 60 s. With the smallest random number the
 * delay is half its step, with the largest the whole step. */
START_TEST(test_growth_and_cap)
{
	static const int64_t steps[] = { 1000, 2000, 4000, 8000, 16000, 32000,
					 60000, 60000, 60000 };
	int64_t step = 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int64_t low_step = step;
		ck_assert_int_eq(backoff_next(&step, 1000, 60000, 0),
				 steps[i] / 2);
		/* The same step again, now with the top of the jitter. */
		step = low_step;
		uint64_t top = (uint64_t)(steps[i] / 2);
		ck_assert_int_eq(backoff_next(&step, 1000, 60000, top), steps[i]);
		ck_assert_int_le(step, 60000);
	}
	ck_assert_int_eq(step, 60000);
}
END_TEST

/* Over many seeded draws: every delay is in [step / 2, step], the delays
 * of one step spread over that range, and none is above backoff_max. */
START_TEST(test_jitter)
{
	rng_state = 42;
	for (int64_t step0 = 1000; step0 <= 60000; step0 *= 2) {
		int64_t lo = INT64_MAX, hi = 0;
		int distinct = 0;
		int64_t last = -1;
		for (int n = 0; n < 2000; n++) {
			int64_t step = step0 > 60000 ? 60000 : step0;
			int64_t s = step;
			int64_t d = backoff_next(&s, 1000, 60000, rng_next());
			ck_assert_int_ge(d, step / 2);
			ck_assert_int_le(d, step);
			ck_assert_int_le(d, 60000);
			if (d < lo)
				lo = d;
			if (d > hi)
				hi = d;
			if (d != last)
				distinct++;
			last = d;
		}
		int64_t step = step0 > 60000 ? 60000 : step0;
		/* Spread: within 5 % of both ends, and not a handful of values. */
		ck_assert_int_le(lo, step / 2 + step / 20);
		ck_assert_int_ge(hi, step - step / 20);
		ck_assert_int_gt(distinct, 1000);
	}
}
END_TEST

/* A backoff_max that is no power-of-two multiple of backoff_initial is
 * reached and kept; backoff_initial == backoff_max stays there; a working
 * connection (step back to 0) starts over at backoff_initial. */
START_TEST(test_odd_cap_and_reset)
{
	static const int64_t steps[] = { 1000, 2000, 4000, 5000, 5000 };
	int64_t step = 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		ck_assert_int_eq(backoff_next(&step, 1000, 5000, 0), steps[i] / 2);
	step = 0;
	ck_assert_int_eq(backoff_next(&step, 1000, 5000, 0), 500);
	step = 0;
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(backoff_next(&step, 700, 700, UINT64_MAX), 350 + (int64_t)(UINT64_MAX % 351));
		ck_assert_int_eq(step, 700);
	}
	/* A step beyond backoff_max (lowered by a reload) is cut to it. */
	step = 40000;
	ck_assert_int_le(backoff_next(&step, 1000, 10000, UINT64_MAX), 10000);
	ck_assert_int_eq(step, 10000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("backoff");
	tcase_add_test(tc, test_growth_and_cap);
	tcase_add_test(tc, test_jitter);
	tcase_add_test(tc, test_odd_cap_and_reset);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_VERBOSE);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
