/*
 * check_version.c: crdb_parse_version against tests/unit/cases/version.cases
 * (§6.1, §6.2). The expected numbers were cross-checked with psycopg's
 * regex \bv(\d+)\.(\d+)\.(\d+) run by Python, not derived from our code.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "crdb.h"

static struct case_file version_cases;

START_TEST(test_version_case)
{
	const struct case_line *c = &version_cases.lines[_i];
	crdb_error err;
	int version = -12345;

	ck_assert_msg(c->nfields == 2 || c->nfields == 3,
		      "%s: expected 2 or 3 fields", case_where(c));
	crdb_error_clear(&err);
	int rc = crdb_parse_version(c->field[0], &version, &err);
	if (strcmp(c->field[1], "ERR") == 0) {
		ck_assert_msg(c->nfields == 3, "%s: ERR needs a message",
			      case_where(c));
		ck_assert_msg(rc == -1, "%s: expected failure, got %d",
			      case_where(c), version);
		ck_assert_msg(err.code == CRDB_EINVAL, "%s: code %s",
			      case_where(c), crdb_errcode_name(err.code));
		ck_assert_msg(strcmp(err.message, c->field[2]) == 0,
			      "%s: message '%s', expected '%s'", case_where(c),
			      err.message, c->field[2]);
		ck_assert_msg(version == -12345, "%s: output written on error",
			      case_where(c));
	} else {
		ck_assert_msg(rc == 0, "%s: failed: %s", case_where(c),
			      err.message);
		ck_assert_msg(version == atoi(c->field[1]),
			      "%s: got %d, expected %s", case_where(c),
			      version, c->field[1]);
		ck_assert_int_eq(err.code, CRDB_OK);
	}
}
END_TEST

/* A NULL error object is allowed everywhere. */
START_TEST(test_version_null_err)
{
	int version = 0;
	ck_assert_int_eq(crdb_parse_version("nope", &version, NULL), -1);
	ck_assert_int_eq(crdb_parse_version(NULL, &version, NULL), -1);
	ck_assert_int_eq(crdb_parse_version("v1.2.3", &version, NULL), 0);
	ck_assert_int_eq(version, 10203);
}
END_TEST

/* Any "v<a>.<b>.<c>" that fits an int gives a*10000 + b*100 + c,
 * wherever it stands after a non-word byte. */
START_TEST(test_version_random)
{
	static const char *const before[] = { "", "CockroachDB CCL ", "(", "-", " x " };
	char text[96];
	unsigned seed = 12345;
	crdb_error err;

	for (int i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		int a = (int)(seed >> 8) % 1000;
		seed = seed * 1103515245u + 12345u;
		int b = (int)(seed >> 8) % 1000;
		seed = seed * 1103515245u + 12345u;
		int c = (int)(seed >> 8) % 1000;
		snprintf(text, sizeof text, "%sv%d.%d.%d (x86_64, go1.19)",
			 before[i % 5], a, b, c);
		int v = -1;
		ck_assert_msg(crdb_parse_version(text, &v, &err) == 0, "%s: %s",
			      text, err.message);
		ck_assert_msg(v == a * 10000 + b * 100 + c, "%s gave %d", text, v);
	}
}
END_TEST

int main(void)
{
	cases_load("version.cases", &version_cases);

	Suite *s = suite_create("version");
	TCase *tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_version_case, 0, (int)version_cases.count);
	tcase_add_test(tc, test_version_null_err);
	tcase_add_test(tc, test_version_random);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cases_free(&version_cases);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
