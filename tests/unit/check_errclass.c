/*
 * check_errclass.c: error classification (§7). The table cases come from
 * tests/unit/cases/errclass.cases; crdb_classify_result is also checked
 * on real errors from the harness's PostgreSQL (PG_DSN), so that the
 * fields are read from a PGresult the way a feed will read them.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "cases.h"
#include "crdb.h"

static struct case_file errclass_cases;

static const char *class_name(crdb_errclass class)
{
	return class == CRDB_ERRCLASS_PERMANENT ? "permanent" : "transient";
}

START_TEST(test_errclass_case)
{
	const struct case_line *c = &errclass_cases.lines[_i];
	const char *reason = NULL;

	ck_assert_msg(c->nfields == 4, "%s: expected 4 fields", case_where(c));
	crdb_errclass class = crdb_classify_error(c->field[0], c->field[1],
						  &reason);
	ck_assert_msg(strcmp(class_name(class), c->field[2]) == 0,
		      "%s: classified %s, expected %s (reason: %s)",
		      case_where(c), class_name(class), c->field[2],
		      reason ? reason : "(null)");
	ck_assert_msg(reason && *reason, "%s: no reason", case_where(c));
	ck_assert_msg(strstr(reason, c->field[3]) != NULL,
		      "%s: reason '%s' lacks '%s'", case_where(c), reason,
		      c->field[3]);
	ck_assert_msg(!strchr(reason, '\n'), "%s: reason is not one line",
		      case_where(c));
	/* reason is optional */
	ck_assert_int_eq(crdb_classify_error(c->field[0], c->field[1], NULL),
			 class);
}
END_TEST

START_TEST(test_errclass_result_without_server)
{
	const char *reason = NULL;

	ck_assert_int_eq(crdb_classify_result(NULL, &reason),
			 CRDB_ERRCLASS_TRANSIENT);
	ck_assert_str_eq(reason, "connection lost");

	/* A libpq-made failure (no SQLSTATE), as on a dead socket. */
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
	ck_assert_ptr_nonnull(res);
	ck_assert_int_eq(crdb_classify_result(res, &reason),
			 CRDB_ERRCLASS_TRANSIENT);
	ck_assert_str_eq(reason, "connection lost");
	PQclear(res);
}
END_TEST

static PGconn *connect_pg(void)
{
	const char *dsn = getenv("PG_DSN");
	ck_assert_msg(dsn && *dsn,
		      "PG_DSN is not set: run this test through tests/crdbsim/crdbsim-env");
	PGconn *pg = PQconnectdb(dsn);
	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "connect: %s",
		      PQerrorMessage(pg));
	return pg;
}

/* Run sql, expect a failure, classify it. */
static crdb_errclass classify_query(PGconn *pg, const char *sql,
				    const char *want_sqlstate,
				    const char **reason)
{
	PGresult *res = PQexec(pg, sql);
	ck_assert_msg(PQresultStatus(res) == PGRES_FATAL_ERROR,
		      "%s: status %s", sql, PQresStatus(PQresultStatus(res)));
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (want_sqlstate)
		ck_assert_msg(state && strcmp(state, want_sqlstate) == 0,
			      "%s: sqlstate %s", sql, state ? state : "(none)");
	crdb_errclass class = crdb_classify_result(res, reason);
	PQclear(res);
	return class;
}

START_TEST(test_errclass_result_from_postgres)
{
	PGconn *pg = connect_pg();
	const char *reason;

	ck_assert_int_eq(classify_query(pg, "SELECT * FROM no_such_table",
					"42P01", &reason),
			 CRDB_ERRCLASS_PERMANENT);
	ck_assert_ptr_nonnull(strstr(reason, "does not exist"));
	ck_assert_int_eq(classify_query(pg, "SELEC 1", "42601", &reason),
			 CRDB_ERRCLASS_PERMANENT);
	ck_assert_int_eq(classify_query(pg, "SELECT pg_cancel_backend(pg_backend_pid()), pg_sleep(5)",
					"57014", &reason),
			 CRDB_ERRCLASS_TRANSIENT);
	PGresult *res = PQexec(pg, "SET statement_timeout = 50");
	ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	ck_assert_int_eq(classify_query(pg, "SELECT pg_sleep(5)", "57014",
					&reason),
			 CRDB_ERRCLASS_TRANSIENT);
	PQfinish(pg);
}
END_TEST

/* A session ended by the server (as a draining node does): whatever
 * libpq reports, 57P01 or a closed socket, it is transient. */
START_TEST(test_errclass_result_terminated)
{
	PGconn *victim = connect_pg();
	PGconn *admin = connect_pg();
	char sql[128];
	const char *reason = NULL;

	snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)",
		 PQbackendPID(victim));
	PGresult *res = PQexec(admin, sql);
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "t");
	PQclear(res);

	res = PQexec(victim, "SELECT 1");
	ck_assert_int_ne(PQresultStatus(res), PGRES_TUPLES_OK);
	ck_assert_int_eq(crdb_classify_result(res, &reason),
			 CRDB_ERRCLASS_TRANSIENT);
	ck_assert_ptr_nonnull(reason);
	PQclear(res);
	PQfinish(victim);
	PQfinish(admin);
}
END_TEST

int main(void)
{
	cases_load("errclass.cases", &errclass_cases);

	Suite *s = suite_create("errclass");
	TCase *tc = tcase_create("classify");
	tcase_add_loop_test(tc, test_errclass_case, 0, (int)errclass_cases.count);
	tcase_add_test(tc, test_errclass_result_without_server);
	suite_add_tcase(s, tc);
	TCase *pg = tcase_create("postgres");
	tcase_add_test(pg, test_errclass_result_from_postgres);
	tcase_add_test(pg, test_errclass_result_terminated);
	suite_add_tcase(s, pg);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cases_free(&errclass_cases);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
