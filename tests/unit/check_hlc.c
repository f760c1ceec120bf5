/*
 * check_hlc.c: HLC timestamps (§4.4, §4.5): parse, format, compare and
 * RFC 3339, from the case files tests/unit/cases/hlc_*.cases.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases.h"
#include "crdb.h"

static struct case_file parse_cases, format_cases, compare_cases, rfc_cases;

static int64_t to_i64(const struct case_line *c, const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	ck_assert_msg(errno == 0 && *s && *end == '\0',
		      "%s: bad number '%s' in the case file", case_where(c), s);
	return (int64_t)v;
}

static crdb_hlc parse_ok(const struct case_line *c, const char *s)
{
	crdb_hlc h;
	crdb_error err;
	crdb_error_clear(&err);
	ck_assert_msg(crdb_hlc_parse(s, strlen(s), &h, &err) == 0,
		      "%s: '%s' failed: %s", case_where(c), s, err.message);
	return h;
}

START_TEST(test_hlc_parse_case)
{
	const struct case_line *c = &parse_cases.lines[_i];
	crdb_hlc h = { -7, -7 };
	crdb_error err;

	ck_assert_msg(c->nfields == 3, "%s: expected 3 fields", case_where(c));
	crdb_error_clear(&err);
	int rc = crdb_hlc_parse(c->field[0], strlen(c->field[0]), &h, &err);
	if (strcmp(c->field[1], "ERR") == 0) {
		ck_assert_msg(rc == -1, "%s: accepted as %" PRId64 ".%" PRId32,
			      case_where(c), h.wall, h.logical);
		ck_assert_int_eq(err.code, CRDB_EINVAL);
		ck_assert_msg(strcmp(err.message, c->field[2]) == 0,
			      "%s: message '%s', expected '%s'", case_where(c),
			      err.message, c->field[2]);
		ck_assert_msg(h.wall == -7 && h.logical == -7,
			      "%s: output written on error", case_where(c));
		return;
	}
	ck_assert_msg(rc == 0, "%s: failed: %s", case_where(c), err.message);
	ck_assert_msg(h.wall == to_i64(c, c->field[1]),
		      "%s: wall %" PRId64 ", expected %s", case_where(c),
		      h.wall, c->field[1]);
	ck_assert_msg(h.logical == to_i64(c, c->field[2]),
		      "%s: logical %" PRId32 ", expected %s", case_where(c),
		      h.logical, c->field[2]);
}
END_TEST

START_TEST(test_hlc_format_case)
{
	const struct case_line *c = &format_cases.lines[_i];
	char buf[CRDB_HLC_BUFSIZE];

	ck_assert_msg(c->nfields == 3, "%s: expected 3 fields", case_where(c));
	crdb_hlc h = { to_i64(c, c->field[0]), (int32_t)to_i64(c, c->field[1]) };
	memset(buf, 'X', sizeof buf);
	size_t n = crdb_hlc_format(h, buf);
	ck_assert_msg(strcmp(buf, c->field[2]) == 0, "%s: '%s', expected '%s'",
		      case_where(c), buf, c->field[2]);
	ck_assert_uint_eq(n, strlen(c->field[2]));

	/* and back */
	crdb_hlc back = parse_ok(c, buf);
	ck_assert_msg(crdb_hlc_compare(h, back) == 0 && back.wall == h.wall &&
		      back.logical == h.logical, "%s: round trip changed it",
		      case_where(c));
}
END_TEST

START_TEST(test_hlc_compare_case)
{
	const struct case_line *c = &compare_cases.lines[_i];

	ck_assert_msg(c->nfields == 3, "%s: expected 3 fields", case_where(c));
	crdb_hlc a = parse_ok(c, c->field[0]);
	crdb_hlc b = parse_ok(c, c->field[1]);
	int want = (int)to_i64(c, c->field[2]);
	ck_assert_msg(crdb_hlc_compare(a, b) == want, "%s: compare gave %d",
		      case_where(c), crdb_hlc_compare(a, b));
	/* antisymmetric */
	ck_assert_int_eq(crdb_hlc_compare(b, a), -want);
}
END_TEST

START_TEST(test_hlc_rfc3339_case)
{
	const struct case_line *c = &rfc_cases.lines[_i];
	crdb_hlc h = { -7, -7 };
	crdb_error err;

	ck_assert_msg(c->nfields == 2 || c->nfields == 3,
		      "%s: expected 2 or 3 fields", case_where(c));
	crdb_error_clear(&err);
	int rc = crdb_hlc_from_rfc3339(c->field[0], &h, &err);
	if (strcmp(c->field[1], "ERR") == 0) {
		ck_assert_msg(rc == -1, "%s: accepted as %" PRId64,
			      case_where(c), h.wall);
		ck_assert_int_eq(err.code, CRDB_EINVAL);
		ck_assert_msg(strcmp(err.message, c->field[2]) == 0,
			      "%s: message '%s', expected '%s'", case_where(c),
			      err.message, c->field[2]);
		return;
	}
	ck_assert_msg(rc == 0, "%s: failed: %s", case_where(c), err.message);
	ck_assert_msg(h.wall == to_i64(c, c->field[1]) && h.logical == 0,
		      "%s: got %" PRId64 ".%" PRId32 ", expected %s",
		      case_where(c), h.wall, h.logical, c->field[1]);
}
END_TEST

/* len bounds the input: bytes after it are not looked at, a NUL inside it
 * is an error. */
START_TEST(test_hlc_parse_len)
{
	crdb_hlc h;
	crdb_error err;
	const char *s = "123.0000000004garbage";

	ck_assert_int_eq(crdb_hlc_parse(s, 14, &h, &err), 0);
	ck_assert(h.wall == 123 && h.logical == 4);
	ck_assert_int_eq(crdb_hlc_parse(s, 3, &h, &err), 0);
	ck_assert(h.wall == 123 && h.logical == 0);
	ck_assert_int_eq(crdb_hlc_parse("1\0", 2, &h, &err), -1);
	ck_assert_str_eq(err.message, "unexpected byte at offset 1 in HLC timestamp '1'");
	ck_assert_int_eq(crdb_hlc_parse(s, 0, &h, &err), -1);
	ck_assert_int_eq(crdb_hlc_parse(NULL, 3, &h, NULL), -1);
	ck_assert_int_eq(crdb_hlc_parse(s, 3, NULL, NULL), -1);
	ck_assert_int_eq(crdb_hlc_from_rfc3339(NULL, &h, NULL), -1);
}
END_TEST

/* The zero HLC, and a format that must fit the buffer whatever the value. */
START_TEST(test_hlc_zero_and_bounds)
{
	char buf[CRDB_HLC_BUFSIZE];
	crdb_hlc zero = { 0, 0 }, one = { 0, 1 };

	ck_assert(crdb_hlc_is_zero(zero));
	ck_assert(!crdb_hlc_is_zero(one));
	crdb_hlc worst = { INT64_MIN, INT32_MIN };
	size_t n = crdb_hlc_format(worst, buf);
	ck_assert_uint_lt(n, sizeof buf);
	ck_assert_uint_eq(n, strlen(buf));
	crdb_hlc neg = { -5, 0 };
	crdb_hlc_format(neg, buf);
	ck_assert_str_eq(buf, "-5.0000000000");
	ck_assert_int_eq(crdb_hlc_compare(neg, zero), -1);
}
END_TEST

/* A small deterministic generator, so that a failure can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* format -> parse is the identity on every valid HLC. */
START_TEST(test_hlc_round_trip_random)
{
	char buf[CRDB_HLC_BUFSIZE];
	crdb_error err;

	for (int i = 0; i < 20000; i++) {
		crdb_hlc h = { (int64_t)(rng() >> 1),
			       (int32_t)(rng() % ((uint64_t)INT32_MAX + 1)) };
		if (i % 3 == 0)
			h.logical = 0;
		size_t n = crdb_hlc_format(h, buf);
		ck_assert_uint_eq(n, strlen(buf));
		crdb_hlc back;
		ck_assert_msg(crdb_hlc_parse(buf, n, &back, &err) == 0,
			      "'%s': %s", buf, err.message);
		ck_assert_msg(back.wall == h.wall && back.logical == h.logical,
			      "'%s' came back different", buf);
	}
}
END_TEST

/*
 * RFC 3339 against an independent oracle: glibc's timegm() on the broken-
 * down UTC time (timegm has no time zone dependence), for random instants
 * between 1970 and 2262 and random offsets.
 */
START_TEST(test_hlc_rfc3339_random)
{
	char text[64];
	crdb_error err;

	for (int i = 0; i < 20000; i++) {
		struct tm tm = { 0 };
		tm.tm_year = 70 + (int)(rng() % 292); /* 1970..2261 */
		tm.tm_mon = (int)(rng() % 12);
		tm.tm_mday = 1 + (int)(rng() % 31);
		tm.tm_hour = (int)(rng() % 24);
		tm.tm_min = (int)(rng() % 60);
		tm.tm_sec = (int)(rng() % 60);
		int ns = (int)(rng() % 1000000000);
		int off_min = (int)(rng() % (2 * 24 * 60 - 1)) - (24 * 60 - 1);
		if (i % 4 == 0)
			off_min = 0;
		struct tm norm = tm;
		time_t secs = timegm(&norm);
		/* timegm normalised day 31 of a short month: skip those */
		if (norm.tm_mday != tm.tm_mday)
			continue;
		int64_t want = ((int64_t)secs - off_min * 60) * 1000000000 + ns;
		if (want < 0)
			continue;
		int a = off_min < 0 ? -off_min : off_min;
		snprintf(text, sizeof text,
			 "%04d-%02d-%02dT%02d:%02d:%02d.%09d%c%02d:%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, ns,
			 off_min < 0 ? '-' : '+', a / 60, a % 60);
		crdb_hlc h;
		ck_assert_msg(crdb_hlc_from_rfc3339(text, &h, &err) == 0,
			      "'%s': %s", text, err.message);
		ck_assert_msg(h.wall == want && h.logical == 0,
			      "'%s': %" PRId64 ", timegm says %" PRId64, text,
			      h.wall, want);
	}
}
END_TEST

/* Garbage never crashes and never half-succeeds. */
START_TEST(test_hlc_garbage_random)
{
	static const char alphabet[] = "0123456789.+-: TtZz\x01";
	char s[40];
	crdb_error err;

	for (int i = 0; i < 50000; i++) {
		size_t len = rng() % (sizeof s - 1);
		for (size_t k = 0; k < len; k++)
			s[k] = alphabet[rng() % (sizeof alphabet - 1)];
		s[len] = '\0';
		crdb_hlc h;
		crdb_error_clear(&err);
		if (crdb_hlc_parse(s, len, &h, &err) == 0) {
			char buf[CRDB_HLC_BUFSIZE];
			crdb_hlc_format(h, buf);
			crdb_hlc again;
			ck_assert_int_eq(crdb_hlc_parse(buf, strlen(buf), &again, &err), 0);
			ck_assert_int_eq(crdb_hlc_compare(h, again), 0);
		} else {
			ck_assert_int_eq(err.code, CRDB_EINVAL);
			ck_assert(err.message[0] != '\0');
		}
		if (crdb_hlc_from_rfc3339(s, &h, &err) != 0)
			ck_assert_int_eq(err.code, CRDB_EINVAL);
	}
}
END_TEST

int main(void)
{
	cases_load("hlc_parse.cases", &parse_cases);
	cases_load("hlc_format.cases", &format_cases);
	cases_load("hlc_compare.cases", &compare_cases);
	cases_load("hlc_rfc3339.cases", &rfc_cases);

	Suite *s = suite_create("hlc");
	TCase *tc = tcase_create("hlc");
	tcase_add_loop_test(tc, test_hlc_parse_case, 0, (int)parse_cases.count);
	tcase_add_loop_test(tc, test_hlc_format_case, 0, (int)format_cases.count);
	tcase_add_loop_test(tc, test_hlc_compare_case, 0, (int)compare_cases.count);
	tcase_add_loop_test(tc, test_hlc_rfc3339_case, 0, (int)rfc_cases.count);
	tcase_add_test(tc, test_hlc_parse_len);
	tcase_add_test(tc, test_hlc_zero_and_bounds);
	tcase_add_test(tc, test_hlc_round_trip_random);
	tcase_add_test(tc, test_hlc_rfc3339_random);
	tcase_add_test(tc, test_hlc_garbage_random);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cases_free(&parse_cases);
	cases_free(&format_cases);
	cases_free(&compare_cases);
	cases_free(&rfc_cases);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
