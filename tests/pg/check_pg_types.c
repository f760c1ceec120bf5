/*
 * check_pg_types.c: crdb_row_to_json on real PostgreSQL 15 results (PG_DSN
 * from crdbsim-env). types.sql fills a table with one column per type;
 * the rows are fetched in text format (PQexec) and in binary format
 * (PQexecParams, resultFormat 1), and each must convert to the JSON
 * written by hand in types.expected, so text and binary agree too.
 *
 * Case files (found through $top_srcdir):
 *   tests/pg/types.sql       SQL run as one simple-protocol string
 *   tests/pg/types.expected  one JSON object per row, ORDER BY id;
 *                            '#' lines and blank lines are comments
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdb.h"

#define CASE_FILE_MAX (1024 * 1024)
#define MAX_ROWS 64

static const char select_sql[] = "SELECT * FROM pg_types ORDER BY id";

/* A case file under $top_srcdir, whole, NUL-terminated. Caller frees. */
static char *read_case_file(const char *name)
{
	const char *top = getenv("top_srcdir");
	char path[4096];

	ck_assert_msg(top && top[0], "top_srcdir is not set");
	ck_assert_int_lt(snprintf(path, sizeof path, "%s/tests/pg/%s", top, name),
			 (int)sizeof path);
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f, "cannot open %s", path);
	char *buf = malloc(CASE_FILE_MAX + 1);
	ck_assert_ptr_nonnull(buf);
	size_t n = fread(buf, 1, CASE_FILE_MAX + 1, f);
	ck_assert_msg(!ferror(f), "cannot read %s", path);
	ck_assert_msg(n <= CASE_FILE_MAX, "%s is over %d bytes", path,
		      CASE_FILE_MAX);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Parse types.expected into rows[]; returns the count. */
static int load_expected(json_t *rows[MAX_ROWS])
{
	char *text = read_case_file("types.expected");
	int count = 0;
	int lineno = 0;

	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		lineno++;
		if (line[0] == '#' || line[strspn(line, " \t\r")] == '\0')
			continue;
		json_error_t jerr;
		json_t *row = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
		ck_assert_msg(row && json_is_object(row),
			      "types.expected line %d: %s", lineno, jerr.text);
		ck_assert_int_lt(count, MAX_ROWS);
		rows[count++] = row;
	}
	free(text);
	ck_assert_int_gt(count, 0);
	return count;
}

static void exec_ok(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);

	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK,
		      "%.60s...: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
}

/* Connect and create the table, with the session settings that
 * types.expected assumes (types.c renders binary values the same way). */
static crdb_conn *setup(void)
{
	const char *dsn = getenv("PG_DSN");
	crdb_error err;

	ck_assert_msg(dsn && dsn[0],
		      "PG_DSN is not set: run through tests/crdbsim/crdbsim-env");
	crdb_conn *conn = crdb_connect(dsn, &err);
	ck_assert_msg(conn, "crdb_connect: %s", err.message);
	PGconn *pg = crdb_conn_pg(conn);
	exec_ok(pg, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; "
		    "SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; "
		    "SET bytea_output = 'hex'");
	char *sql = read_case_file("types.sql");
	exec_ok(pg, sql);
	free(sql);
	return conn;
}

static char *dump(const json_t *v)
{
	char *s = v ? json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT |
				 JSON_ENCODE_ANY) : NULL;
	return s ? s : strdup("(none)");
}

/* Compare one converted row with its expectation, naming the first
 * column that differs. */
static void assert_row(const json_t *got, const json_t *want, int row,
		       const char *format)
{
	const char *key;
	json_t *want_v;

	ck_assert_msg(json_is_object(got), "%s row %d: not an object", format,
		      row);
	json_object_foreach((json_t *)want, key, want_v) {
		json_t *got_v = json_object_get(got, key);
		if (got_v && json_equal(got_v, want_v))
			continue;
		char *g = dump(got_v), *w = dump(want_v);
		/* Does not return; the two strings die with the test. */
		ck_abort_msg("%s row %d column %s: got %s, want %s", format,
			     row, key, g, w);
	}
	ck_assert_int_eq(json_object_size(got), json_object_size(want));
	ck_assert(json_equal(got, want));
}

/* Convert every row of res and compare with types.expected. */
static void check_result(PGresult *res, int format)
{
	const char *fname = format ? "binary" : "text";
	json_t *want[MAX_ROWS];
	int nwant = load_expected(want);

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s",
		      PQresultErrorMessage(res));
	ck_assert_int_eq(PQntuples(res), nwant);
	for (int col = 0; col < PQnfields(res); col++)
		ck_assert_int_eq(PQfformat(res, col), format);

	for (int row = 0; row < nwant; row++) {
		crdb_error err;
		json_t *got = crdb_row_to_json(crdb_types_postgres(), res, row,
					       &err);
		ck_assert_msg(got, "%s row %d: %s: %s", fname, row,
			      crdb_errcode_name(err.code), err.message);
		assert_row(got, want[row], row, fname);
		json_decref(got);
		json_decref(want[row]);
	}
}

START_TEST(test_text_format)
{
	crdb_conn *conn = setup();
	PGresult *res = PQexec(crdb_conn_pg(conn), select_sql);

	check_result(res, 0);
	PQclear(res);
	crdb_conn_free(conn);
}
END_TEST

START_TEST(test_binary_format)
{
	crdb_conn *conn = setup();
	PGresult *res = PQexecParams(crdb_conn_pg(conn), select_sql, 0, NULL,
				     NULL, NULL, NULL, 1);

	check_result(res, 1);
	PQclear(res);
	crdb_conn_free(conn);
}
END_TEST

START_TEST(test_row_out_of_range)
{
	crdb_conn *conn = setup();
	PGresult *res = PQexec(crdb_conn_pg(conn), select_sql);
	crdb_error err;

	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	ck_assert_ptr_null(crdb_row_to_json(crdb_types_postgres(), res,
					    PQntuples(res), &err));
	ck_assert_int_eq(err.code, CRDB_EINVAL);
	ck_assert_ptr_null(crdb_row_to_json(crdb_types_postgres(), res, -1,
					    &err));
	ck_assert_int_eq(err.code, CRDB_EINVAL);
	PQclear(res);
	crdb_conn_free(conn);
}
END_TEST

static Suite *types_suite(void)
{
	Suite *s = suite_create("pg_types");
	TCase *tc = tcase_create("row_to_json");

	tcase_add_test(tc, test_text_format);
	tcase_add_test(tc, test_binary_format);
	tcase_add_test(tc, test_row_out_of_range);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(types_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
