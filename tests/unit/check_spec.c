/*
 * check_spec.c: changefeed statement building (§1, §3, §4.3-§4.6, §12),
 * one scenario per line of tests/unit/cases/spec.cases (the step language
 * is described at the top of that file).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "crdb.h"

static struct case_file spec_cases;

/* NULL-aware string equality. */
static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

#define SHOW(s) ((s) ? (s) : "(null)")

/* The next argument of the step, failing when the line ends too soon. */
static const char *arg(const struct case_line *c, int *i)
{
	ck_assert_msg(*i < c->nfields, "%s: step is missing an argument",
		      case_where(c));
	return c->field[(*i)++];
}

static void expect_error(const struct case_line *c, const char *step,
			 int rc, const crdb_error *err, const char *want)
{
	ck_assert_msg(rc == -1, "%s: %s succeeded, expected '%s'",
		      case_where(c), step, want);
	ck_assert_msg(err->code == CRDB_EINVAL, "%s: %s: code %s",
		      case_where(c), step, crdb_errcode_name(err->code));
	ck_assert_msg(strcmp(err->message, want) == 0,
		      "%s: %s: message\n  '%s', expected\n  '%s'",
		      case_where(c), step, err->message, want);
}

START_TEST(test_spec_case)
{
	const struct case_line *c = &spec_cases.lines[_i];
	crdb_error err;
	crdb_feed_spec *spec = crdb_feed_spec_new(&err);
	int i = 0;

	ck_assert_ptr_nonnull(spec);
	while (i < c->nfields) {
		const char *step = arg(c, &i);
		int rc;

		ck_assert_msg(step, "%s: a step cannot be \\N", case_where(c));
		crdb_error_clear(&err);
		if (strcmp(step, "table") == 0) {
			const char *name = arg(c, &i);
			rc = crdb_feed_spec_add_table(spec, name, NULL, &err);
			ck_assert_msg(rc == 0, "%s: table %s: %s",
				      case_where(c), name, err.message);
		} else if (strcmp(step, "tablef") == 0) {
			const char *name = arg(c, &i);
			const char *family = arg(c, &i);
			rc = crdb_feed_spec_add_table(spec, name, family, &err);
			ck_assert_msg(rc == 0, "%s: table %s family %s: %s",
				      case_where(c), name, family, err.message);
		} else if (strcmp(step, "query") == 0) {
			rc = crdb_feed_spec_set_query(spec, arg(c, &i), &err);
			ck_assert_msg(rc == 0, "%s: query: %s", case_where(c),
				      err.message);
		} else if (strcmp(step, "opt") == 0) {
			const char *name = arg(c, &i);
			const char *value = arg(c, &i);
			rc = crdb_feed_spec_set_option(spec, name, value, &err);
			ck_assert_msg(rc == 0, "%s: option %s=%s: %s",
				      case_where(c), name, SHOW(value),
				      err.message);
		} else if (strcmp(step, "unset") == 0) {
			crdb_feed_spec_unset_option(spec, arg(c, &i));
		} else if (strcmp(step, "sink") == 0) {
			rc = crdb_feed_spec_set_sink(spec, arg(c, &i), &err);
			ck_assert_msg(rc == 0, "%s: sink: %s", case_where(c),
				      err.message);
		} else if (strcmp(step, "bad-sink") == 0) {
			rc = crdb_feed_spec_set_sink(spec, arg(c, &i), &err);
			expect_error(c, step, rc, &err, arg(c, &i));
		} else if (strcmp(step, "exp") == 0) {
			crdb_feed_spec_set_experimental(spec, true);
		} else if (strcmp(step, "get") == 0) {
			const char *name = arg(c, &i);
			const char *want = arg(c, &i);
			const char *got = crdb_feed_spec_option(spec, name);
			ck_assert_msg(same(got, want), "%s: option %s is %s, expected %s",
				      case_where(c), name, SHOW(got), SHOW(want));
		} else if (strcmp(step, "bad-table") == 0) {
			const char *name = arg(c, &i);
			const char *family = arg(c, &i);
			rc = crdb_feed_spec_add_table(spec, name, family, &err);
			expect_error(c, step, rc, &err, arg(c, &i));
		} else if (strcmp(step, "bad-query") == 0) {
			rc = crdb_feed_spec_set_query(spec, arg(c, &i), &err);
			expect_error(c, step, rc, &err, arg(c, &i));
		} else if (strcmp(step, "bad-opt") == 0) {
			const char *name = arg(c, &i);
			const char *value = arg(c, &i);
			const char *before = crdb_feed_spec_option(spec, name);
			rc = crdb_feed_spec_set_option(spec, name, value, &err);
			expect_error(c, step, rc, &err, arg(c, &i));
			/* a refused value leaves the spec as it was */
			ck_assert_msg(same(before, crdb_feed_spec_option(spec, name)),
				      "%s: refused option changed the spec",
				      case_where(c));
		} else if (strcmp(step, "build") == 0 ||
			   strcmp(step, "buildp") == 0) {
			bool param = strcmp(step, "buildp") == 0;
			const char *want = arg(c, &i);
			const char *cursor = (const char *)1;
			char *sql = crdb_feed_spec_build(spec, param,
							 param ? &cursor : NULL,
							 &err);
			ck_assert_msg(sql, "%s: build failed: %s",
				      case_where(c), err.message);
			ck_assert_msg(strcmp(sql, want) == 0,
				      "%s: built\n  %s\nexpected\n  %s",
				      case_where(c), sql, want);
			crdb_free(sql);
			if (param) {
				const char *want_cursor = arg(c, &i);
				ck_assert_msg(same(cursor, want_cursor),
					      "%s: cursor param %s, expected %s",
					      case_where(c), SHOW(cursor),
					      SHOW(want_cursor));
			}
		} else if (strcmp(step, "bad-build") == 0) {
			const char *cursor = (const char *)1;
			char *sql = crdb_feed_spec_build(spec, true, &cursor, &err);
			if (sql)
				crdb_free(sql);
			expect_error(c, step, sql ? 0 : -1, &err, arg(c, &i));
			ck_assert_msg(cursor == NULL,
				      "%s: cursor_param not reset on failure",
				      case_where(c));
		} else {
			ck_abort_msg("%s: unknown step '%s'", case_where(c), step);
		}
	}
	crdb_feed_spec_free(spec);
}
END_TEST

/* NULL handles and arguments fail cleanly instead of crashing. */
START_TEST(test_spec_null_args)
{
	crdb_error err;
	crdb_feed_spec *spec = crdb_feed_spec_new(NULL);

	ck_assert_ptr_nonnull(spec);
	ck_assert_int_eq(crdb_feed_spec_add_table(NULL, "t", NULL, &err), -1);
	ck_assert_int_eq(crdb_feed_spec_add_table(spec, NULL, NULL, &err), -1);
	ck_assert_int_eq(crdb_feed_spec_set_query(spec, NULL, &err), -1);
	ck_assert_int_eq(crdb_feed_spec_set_sink(NULL, "webhook-https://h/", &err), -1);
	ck_assert_int_eq(crdb_feed_spec_set_sink(spec, NULL, &err), -1);
	ck_assert_int_eq(crdb_feed_spec_set_option(spec, NULL, "x", &err), -1);
	ck_assert_int_eq(crdb_feed_spec_set_option(NULL, "diff", NULL, NULL), -1);
	ck_assert_ptr_null(crdb_feed_spec_option(NULL, "diff"));
	ck_assert_ptr_null(crdb_feed_spec_option(spec, NULL));
	ck_assert_ptr_null(crdb_feed_spec_build(NULL, false, NULL, &err));
	crdb_feed_spec_unset_option(NULL, "diff");
	crdb_feed_spec_unset_option(spec, NULL);
	crdb_feed_spec_set_experimental(NULL, true);
	crdb_feed_spec_free(NULL);
	crdb_feed_spec_free(spec);
}
END_TEST

/* Many targets and every option at once: the builder grows its buffer,
 * each option appears once, and a refused option does not count. */
START_TEST(test_spec_large)
{
	crdb_error err;
	crdb_feed_spec *spec = crdb_feed_spec_new(&err);
	char name[32];

	ck_assert_ptr_nonnull(spec);
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "\"Table %d\"", i);
		ck_assert_int_eq(crdb_feed_spec_add_table(spec, name, "f", &err), 0);
	}
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(crdb_feed_spec_set_option(spec, "updated", NULL, &err), 0);
		ck_assert_int_eq(crdb_feed_spec_set_option(spec, "resolved", "1s", &err), 0);
		ck_assert_int_eq(crdb_feed_spec_set_option(spec, "resolved", "-1s", &err), -1);
	}
	char *sql = crdb_feed_spec_build(spec, false, NULL, &err);
	ck_assert_ptr_nonnull(sql);
	ck_assert_ptr_nonnull(strstr(sql, "TABLE \"Table 199\" FAMILY f WITH updated, resolved = '1s'"));
	ck_assert_ptr_null(strstr(sql, "updated, resolved = '1s',"));
	ck_assert(strncmp(sql, "CREATE CHANGEFEED FOR TABLE \"Table 0\" FAMILY f, ", 48) == 0);
	crdb_free(sql);
	crdb_feed_spec_free(spec);
}
END_TEST

/*
 * A sink URI is bounded (256 KiB, room for certificates and a key inline),
 * and no refusal of a URI quotes it: it may carry a private key.
 */
START_TEST(test_spec_sink_limits)
{
	crdb_error err;
	crdb_feed_spec *spec = crdb_feed_spec_new(&err);
	const size_t max = 256 * 1024;
	char *uri = malloc(max + 2);

	ck_assert_ptr_nonnull(spec);
	ck_assert_ptr_nonnull(uri);
	memcpy(uri, "webhook-https://h/?client_key=", 30);
	memset(uri + 30, 'K', max - 30);
	uri[max] = '\0';
	ck_assert_int_eq(crdb_feed_spec_set_sink(spec, uri, &err), 0);
	uri[max] = 'K';
	uri[max + 1] = '\0';
	ck_assert_int_eq(crdb_feed_spec_set_sink(spec, uri, &err), -1);
	ck_assert_str_eq(err.message, "sink URI is longer than 262144 bytes");
	/* refused for a control character: the key stays out of the message */
	strcpy(uri, "webhook-https://h/?client_key=SECRETKEY\n");
	ck_assert_int_eq(crdb_feed_spec_set_sink(spec, uri, &err), -1);
	ck_assert_ptr_null(strstr(err.message, "SECRETKEY"));
	/* the accepted long URI is still the sink */
	ck_assert_int_eq(crdb_feed_spec_add_table(spec, "t", NULL, &err), 0);
	char *sql = crdb_feed_spec_build(spec, false, NULL, &err);
	ck_assert_ptr_nonnull(sql);
	ck_assert_uint_eq(strlen(sql), strlen("CREATE CHANGEFEED FOR TABLE t INTO ''") + max);
	crdb_free(sql);
	free(uri);
	crdb_feed_spec_free(spec);
}
END_TEST

/* Build "CREATE CHANGEFEED FOR TABLE <name>" and return the name part. */
static char *rendered_name(const char *name, crdb_error *err)
{
	crdb_feed_spec *spec = crdb_feed_spec_new(err);
	ck_assert_ptr_nonnull(spec);
	if (crdb_feed_spec_add_table(spec, name, NULL, err) != 0) {
		crdb_feed_spec_free(spec);
		return NULL;
	}
	char *sql = crdb_feed_spec_build(spec, false, NULL, err);
	ck_assert_ptr_nonnull(sql);
	static const char prefix[] = "CREATE CHANGEFEED FOR TABLE ";
	ck_assert(strncmp(sql, prefix, sizeof prefix - 1) == 0);
	char *out = strdup(sql + sizeof prefix - 1);
	ck_assert_ptr_nonnull(out);
	crdb_free(sql);
	crdb_feed_spec_free(spec);
	return out;
}

/*
 * Quoting is a fixed point: whatever name is accepted, its rendering is
 * accepted again and renders the same (so no quote is lost or doubled
 * twice), and garbage fails with EINVAL instead of reaching the SQL.
 */
START_TEST(test_spec_quoting_random)
{
	static const char alphabet[] = "aZ_$9.\" ;\xc3\xa9tT";
	unsigned seed = 4242;
	char name[24];
	crdb_error err;
	int accepted = 0;

	for (int i = 0; i < 30000; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t len = 1 + (seed >> 16) % (sizeof name - 2);
		for (size_t k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			name[k] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
		}
		name[len] = '\0';
		crdb_error_clear(&err);
		char *once = rendered_name(name, &err);
		if (!once) {
			ck_assert_int_eq(err.code, CRDB_EINVAL);
			continue;
		}
		accepted++;
		char *twice = rendered_name(once, &err);
		ck_assert_msg(twice, "'%s' rendered as '%s', which fails: %s",
			      name, once, err.message);
		ck_assert_msg(strcmp(once, twice) == 0, "'%s' -> '%s' -> '%s'",
			      name, once, twice);
		free(once);
		free(twice);
	}
	/* the generator must reach the interesting cases */
	ck_assert_int_gt(accepted, 1000);
}
END_TEST

int main(void)
{
	cases_load("spec.cases", &spec_cases);

	Suite *s = suite_create("spec");
	TCase *tc = tcase_create("build");
	tcase_add_loop_test(tc, test_spec_case, 0, (int)spec_cases.count);
	tcase_add_test(tc, test_spec_null_args);
	tcase_add_test(tc, test_spec_large);
	tcase_add_test(tc, test_spec_sink_limits);
	tcase_add_test(tc, test_spec_quoting_random);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cases_free(&spec_cases);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
