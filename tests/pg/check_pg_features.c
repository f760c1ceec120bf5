/*
 * check_pg_features.c: crdb_conn_supports() and crdb_conn_require() (§14.7)
 * over every CockroachDB version crdbsim is made to emulate (CRDB_DSN with
 * -c crdbsim.version=...) and over the real PostgreSQL (PG_DSN), both from
 * crdbsim-env. Each answer is compared with the documented thresholds and,
 * where the server can show it, with what the server does: a feature said
 * to be missing must be refused, one said to be there must work.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdb.h"

#define NFEATURES 8

static const char *env(const char *name)
{
	const char *v = getenv(name);
	ck_assert_msg(v && *v, "%s is not set: run under tests/crdbsim/crdbsim-env",
		      name);
	return v;
}

static crdb_conn *connect_version(const char *version)
{
	char dsn[1024];
	const char *base = env("CRDB_DSN");
	snprintf(dsn, sizeof dsn, "%s%soptions=-c%%20crdbsim.version%%3D%s",
		 base, strchr(base, '?') ? "&" : "?", version);
	crdb_error err;
	crdb_conn *conn = crdb_connect(dsn, &err);
	ck_assert_msg(conn, "connect %s: %s", version, err.message);
	return conn;
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* SQLSTATE of sql run in a transaction (rolled back), "" on success. */
static void run_in_txn(crdb_conn *conn, const char *sql, char state[6])
{
	PGconn *pg = crdb_conn_pg(conn);
	/* A failed PREPARE TRANSACTION has ended the transaction already:
	 * ROLLBACK then warns. */
	PQsetNoticeProcessor(pg, quiet, NULL);
	PGresult *r = PQexec(pg, "BEGIN");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	r = PQexec(pg, sql);
	const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	snprintf(state, 6, "%s", s ? s : "");
	PQclear(r);
	r = PQexec(pg, "ROLLBACK");
	PQclear(r);
}

/* The thresholds of libcrdb(3), written out again on purpose. */
static bool crdb_expected(crdb_feature f, int v)
{
	switch (f) {
	case CRDB_FEATURE_CANCEL:
	case CRDB_FEATURE_BACKEND_PID:
		return v >= 220100;
	case CRDB_FEATURE_SERVER_CURSORS:
		return v >= 220103;
	case CRDB_FEATURE_TWO_PHASE_COMMIT:
		return v >= 250100 && v < 260200;
	case CRDB_FEATURE_LISTEN_NOTIFY:
		return false;
	case CRDB_FEATURE_CHANGEFEED:
		return v >= 190100;
	case CRDB_FEATURE_CDC_QUERIES:
		return v >= 230100;
	case CRDB_FEATURE_ENRICHED_ENVELOPE:
		return v >= 250200;
	}
	return false;
}

static const char *const versions[] = {
	"21.2.10", "22.1.0", "22.1.2", "22.1.3", "22.2.0", "23.1.11",
	"24.3.0", "25.1.0", "25.2.0", "26.1.0", "26.2.0",
};

START_TEST(crdbsim_versions)
{
	const char *version = versions[_i];
	crdb_conn *conn = connect_version(version);
	int v;
	crdb_error err;
	ck_assert_int_eq(crdb_conn_server_version(conn, &v, &err), 0);
	ck_assert(crdb_conn_is_crdb(conn));
	for (int f = 0; f < NFEATURES; f++) {
		bool want = crdb_expected((crdb_feature)f, v);
		ck_assert_msg(crdb_conn_supports(conn, (crdb_feature)f) == want,
			      "%s: %s: want %d", version,
			      crdb_feature_name((crdb_feature)f), want);
		int rc = crdb_conn_require(conn, (crdb_feature)f, &err);
		ck_assert_int_eq(rc, want ? 0 : -1);
		if (!want) {
			ck_assert_int_eq(err.code, CRDB_EUNSUPPORTED);
			ck_assert_msg(strstr(err.message,
					     crdb_feature_name((crdb_feature)f)),
				      "%s", err.message);
		}
	}
	/* What the server does agrees. */
	char state[6];
	ck_assert_int_eq(crdb_conn_backend_pid(conn) != 0,
			 crdb_conn_supports(conn, CRDB_FEATURE_BACKEND_PID));
	run_in_txn(conn, "DECLARE c CURSOR FOR SELECT 1", state);
	ck_assert_str_eq(state, v < 220100 ? "0A000" : "");
	if (v < 250100) {
		run_in_txn(conn, "PREPARE TRANSACTION 'crdbfeed-x'", state);
		ck_assert_str_eq(state, "42601");
	}
	run_in_txn(conn, "NOTIFY x", state);
	ck_assert_str_eq(state, "0A000");
	crdb_conn_free(conn);
}
END_TEST

START_TEST(require_messages)
{
	crdb_error err;
	crdb_conn *conn = connect_version("21.2.10");
	ck_assert_int_eq(crdb_conn_require(conn, CRDB_FEATURE_SERVER_CURSORS, &err), -1);
	ck_assert_str_eq(err.message, "server-side cursors need CockroachDB "
			 "v22.1.3 or later (the server is v21.2.10)");
	ck_assert_int_eq(crdb_conn_require(conn, CRDB_FEATURE_CANCEL, &err), -1);
	ck_assert_str_eq(err.message, "pgwire cancel needs CockroachDB v22.1.0 "
			 "or later (the server is v21.2.10)");
	ck_assert_int_eq(crdb_conn_require(conn, CRDB_FEATURE_LISTEN_NOTIFY, &err), -1);
	ck_assert_str_eq(err.message, "LISTEN/NOTIFY is not supported by "
			 "CockroachDB (any version; the server is v21.2.10): "
			 "watch a table with a changefeed instead (CREATE "
			 "CHANGEFEED FOR table)");
	ck_assert_int_eq(crdb_conn_require(conn, (crdb_feature)99, &err), -1);
	ck_assert_int_eq(err.code, CRDB_EINVAL);
	ck_assert(!crdb_conn_supports(conn, (crdb_feature)99));
	ck_assert_ptr_null(crdb_feature_name((crdb_feature)99));
	crdb_conn_free(conn);

	conn = connect_version("26.2.0");
	ck_assert_int_eq(crdb_conn_require(conn, CRDB_FEATURE_TWO_PHASE_COMMIT, &err), -1);
	ck_assert_str_eq(err.message, "two-phase commit is off by default from "
			 "CockroachDB v26.2.0 (the server is v26.2.0): it needs "
			 "the cluster setting sql.prepared_transactions.enabled, "
			 "or v25.1.0 up to v26.2.0");
	crdb_conn_free(conn);
	ck_assert(!crdb_conn_supports(NULL, CRDB_FEATURE_CANCEL));
	ck_assert_int_eq(crdb_conn_require(NULL, CRDB_FEATURE_CANCEL, &err), -1);
	ck_assert_int_eq(err.code, CRDB_EINVAL);
}
END_TEST

START_TEST(postgresql)
{
	crdb_error err;
	crdb_conn *conn = crdb_connect(env("PG_DSN"), &err);
	ck_assert_msg(conn, "%s", err.message);
	ck_assert(!crdb_conn_is_crdb(conn));
	for (int f = 0; f < NFEATURES; f++) {
		bool want = f != CRDB_FEATURE_CHANGEFEED &&
			    f != CRDB_FEATURE_CDC_QUERIES &&
			    f != CRDB_FEATURE_ENRICHED_ENVELOPE;
		ck_assert_msg(crdb_conn_supports(conn, (crdb_feature)f) == want,
			      "%s", crdb_feature_name((crdb_feature)f));
	}
	ck_assert_int_eq(crdb_conn_require(conn, CRDB_FEATURE_CHANGEFEED, &err), -1);
	ck_assert_int_eq(err.code, CRDB_EUNSUPPORTED);
	ck_assert_str_eq(err.message, "sinkless changefeeds need CockroachDB "
			 "v19.1.0 or later (the server is PostgreSQL 15)");
	ck_assert_int_eq(crdb_conn_require(conn, CRDB_FEATURE_LISTEN_NOTIFY, &err), 0);
	/* PostgreSQL does what it is said to do. */
	char state[6];
	ck_assert_int_gt(crdb_conn_backend_pid(conn), 0);
	run_in_txn(conn, "DECLARE c CURSOR FOR SELECT 1", state);
	ck_assert_str_eq(state, "");
	run_in_txn(conn, "LISTEN x", state);
	ck_assert_str_eq(state, "");
	run_in_txn(conn, "NOTIFY x", state);
	ck_assert_str_eq(state, "");
	/* The statement exists; it may be disabled by configuration
	 * (max_prepared_transactions = 0: 55000), never a syntax error. */
	run_in_txn(conn, "PREPARE TRANSACTION 'crdbfeed-x'", state);
	ck_assert_msg(!strcmp(state, "") || !strcmp(state, "55000"), "%s", state);
	if (!state[0]) {
		PGresult *r = PQexec(crdb_conn_pg(conn), "ROLLBACK PREPARED 'crdbfeed-x'");
		PQclear(r);
	}
	crdb_conn_free(conn);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("capabilities");
	TCase *t = tcase_create("features");
	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, crdbsim_versions, 0,
			    (int)(sizeof versions / sizeof versions[0]));
	tcase_add_test(t, require_messages);
	tcase_add_test(t, postgresql);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
