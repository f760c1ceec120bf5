/*
 * check_sim_conn.c: libcrdb's connections to crdbsim, for every emulated
 * version of tests/crdbsim/cases/wire_versions.cases: what the blocking
 * and the non-blocking connect learn (vendor, version, backend pid, the
 * session id of SHOW session_id, §6.2-§6.4), that the non-blocking one
 * fetches the session id without blocking, and cancel by CancelRequest
 * (from 22.1) and by CANCEL QUERY (before, §2.5), each shown to be the
 * path taken. Runs under crdbsim-env (CRDB_DSN, CRDBSIM_CONTROL).
 */
#include "config.h"

#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crdb.h"
#include "wire_helpers.h"

#define CONNECT_DEADLINE_S 20.0

/* ---- blocking connect ---- */

static void check_version(char **f, int n, int lineno)
{
	ck_assert_msg(n == 3, "wire_versions.cases:%d: want 3 fields", lineno);
	char *dsn = dsn_for(f[0]);
	crdb_error err;
	crdb_conn *c = crdb_connect(dsn, &err);
	ck_assert_msg(c, "%s: %s", f[0], err.message);
	ck_assert(crdb_conn_is_crdb(c));
	ck_assert_str_eq(crdb_conn_vendor(c), "CockroachDB");
	int v = 0;
	ck_assert_int_eq(crdb_conn_server_version(c, &v, &err), 0);
	ck_assert_int_eq(v, atoi(f[1]));
	int pid = crdb_conn_backend_pid(c);
	if (strcmp(f[2], "zero") == 0) {
		ck_assert_int_eq(pid, 0);
		ck_assert_int_eq(PQbackendPID(crdb_conn_pg(c)), 0);
	} else {
		ck_assert_int_ge(pid, 1048576);
		ck_assert_int_le(pid, 2097151);
	}
	/* The session id libcrdb fetched is the one SHOW session_id gives. */
	const char *sid = crdb_conn_session_id(c);
	ck_assert_ptr_nonnull(sid);
	ck_assert(is_hex32(sid));
	char *shown = scalar(crdb_conn_pg(c), "SHOW session_id");
	ck_assert_str_eq(sid, shown);
	free(shown);
	crdb_conn_free(c);
	free(dsn);
}

START_TEST(versions_per_connection)
{
	ck_assert_int_gt(for_each_case("wire_versions.cases", check_version), 3);
}
END_TEST

START_TEST(default_version_libcrdb)
{
	crdb_error err;
	crdb_conn *c = crdb_connect(env("CRDB_DSN"), &err);
	ck_assert_msg(c, "%s", err.message);
	ck_assert(crdb_conn_is_crdb(c));
	int v = 0;
	ck_assert_int_eq(crdb_conn_server_version(c, &v, &err), 0);
	ck_assert_int_eq(v, 230111);
	ck_assert_int_gt(crdb_conn_backend_pid(c), 0);
	crdb_conn_free(c);
}
END_TEST

/* ---- non-blocking connect ---- */

/*
 * Drive a non-blocking connect with poll(2) as an event loop would. Counts
 * the waits that came after libpq's own connect was done: those are the
 * SHOW session_id round trip, which must go through the caller's loop too.
 */
static crdb_poll drive_connect(crdb_conn *c, int *session_waits,
			       crdb_error *err)
{
	double deadline = now_s() + CONNECT_DEADLINE_S;
	crdb_poll st = crdb_connect_poll(c, err);

	*session_waits = 0;
	while (st == CRDB_POLL_READING || st == CRDB_POLL_WRITING) {
		PGconn *pg = crdb_conn_pg(c);
		struct pollfd pfd = {
			.fd = crdb_conn_socket(c),
			.events = st == CRDB_POLL_READING ? POLLIN : POLLOUT,
		};

		ck_assert_int_ge(pfd.fd, 0);
		/* Nothing is known before the handle is ready. */
		ck_assert_ptr_null(crdb_conn_session_id(c));
		ck_assert(!crdb_conn_is_crdb(c));
		if (PQstatus(pg) == CONNECTION_OK) {
			(*session_waits)++;
			/* The query went out without blocking. */
			ck_assert_int_eq(PQisnonblocking(pg), 1);
		}
		int left_ms = (int)((deadline - now_s()) * 1000);
		ck_assert_msg(left_ms > 0, "non-blocking connect took over %.0f s",
			      CONNECT_DEADLINE_S);
		ck_assert_int_ge(poll(&pfd, 1, left_ms), 0);
		st = crdb_connect_poll(c, err);
	}
	return st;
}

static void check_version_nonblocking(char **f, int n, int lineno)
{
	ck_assert_msg(n == 3, "wire_versions.cases:%d: want 3 fields", lineno);
	char *dsn = dsn_for(f[0]);
	crdb_error err;
	crdb_conn *c = crdb_connect_start(dsn, &err);
	int session_waits;

	ck_assert_msg(c, "%s: %s", f[0], err.message);
	ck_assert_msg(drive_connect(c, &session_waits, &err) == CRDB_POLL_OK,
		      "%s: %s", f[0], err.message);
	ck_assert_msg(session_waits >= 1,
		      "%s: SHOW session_id was not fetched through the caller's loop", f[0]);
	ck_assert_int_eq(crdb_connect_poll(c, &err), CRDB_POLL_OK);
	ck_assert(crdb_conn_is_crdb(c));
	ck_assert_str_eq(crdb_conn_vendor(c), "CockroachDB");
	int v = 0;
	ck_assert_int_eq(crdb_conn_server_version(c, &v, &err), 0);
	ck_assert_int_eq(v, atoi(f[1]));
	int pid = crdb_conn_backend_pid(c);
	if (strcmp(f[2], "zero") == 0) {
		ck_assert_int_eq(pid, 0);
	} else {
		ck_assert_int_ge(pid, 1048576);
		ck_assert_int_le(pid, 2097151);
	}
	const char *sid = crdb_conn_session_id(c);
	ck_assert_msg(sid, "%s: no session id", f[0]);
	ck_assert(is_hex32(sid));
	/* Handed back in libpq's default mode, nothing left to read. */
	ck_assert_int_eq(PQisnonblocking(crdb_conn_pg(c)), 0);
	ck_assert_int_eq(PQtransactionStatus(crdb_conn_pg(c)), PQTRANS_IDLE);
	char *shown = scalar(crdb_conn_pg(c), "SHOW session_id");
	ck_assert_str_eq(sid, shown);
	free(shown);
	crdb_conn_free(c);
	free(dsn);
}

START_TEST(nonblocking_versions_per_connection)
{
	ck_assert_int_gt(for_each_case("wire_versions.cases", check_version_nonblocking), 3);
}
END_TEST

/* ---- cancel ---- */

static void check_cancel_relayed(const char *version)
{
	char *dsn = dsn_for(version);
	crdb_error err;
	crdb_conn *c = crdb_connect(dsn, &err);
	ck_assert_msg(c, "%s", err.message);
	PGconn *obs = connect_sim();
	double t0 = now_s();
	start_sleep(crdb_conn_pg(c), obs, 10);
	ck_assert_msg(crdb_conn_cancel(c, &err) == 0, "%s", err.message);
	char st[6], msg[256];
	ck_assert_int_eq(finish(crdb_conn_pg(c), st, msg, sizeof msg),
			 PGRES_FATAL_ERROR);
	ck_assert_str_eq(st, "57014");
	ck_assert_str_eq(msg, "query execution canceled");
	ck_assert_msg(now_s() - t0 < 5, "cancel took %.1f s", now_s() - t0);
	/* The session goes on. */
	ck_assert_int_eq(PQtransactionStatus(crdb_conn_pg(c)), PQTRANS_IDLE);
	char *one = scalar(crdb_conn_pg(c), "SELECT 1");
	ck_assert_str_eq(one, "1");
	free(one);
	PQfinish(obs);
	crdb_conn_free(c);
	free(dsn);
}

/* crdbsim's `drain on` refuses new sessions but still takes CancelRequests
 * (a start-up packet of their own): with it on, only the wire cancel can
 * work, and CANCEL QUERY's second connection cannot. */
static void set_drain(bool on)
{
	char *r = control(on ? "drain on" : "drain off");
	ck_assert_str_eq(r, on ? "ok on" : "ok off");
	free(r);
}

/* A connection to the emulated version running pg_sleep(sleep_s), and its
 * cancel sent while crdbsim refuses new sessions (a CancelRequest is still
 * served then; CANCEL QUERY needs a second session, which is refused). */
struct drained_cancel {
	char *dsn;
	crdb_conn *conn;
	PGconn *observer;
	int rc;
	crdb_error err;
};

static void cancel_while_draining(struct drained_cancel *dc, const char *version,
				  int sleep_s)
{
	dc->dsn = dsn_for(version);
	dc->conn = crdb_connect(dc->dsn, &dc->err);
	ck_assert_msg(dc->conn, "%s", dc->err.message);
	dc->observer = connect_sim();
	start_sleep(crdb_conn_pg(dc->conn), dc->observer, sleep_s);
	set_drain(true);
	dc->rc = crdb_conn_cancel(dc->conn, &dc->err);
	set_drain(false);
}

static void drained_cancel_free(struct drained_cancel *dc)
{
	PQfinish(dc->observer);
	crdb_conn_free(dc->conn);
	free(dc->dsn);
}

START_TEST(cancel_request_new_version)
{
	/* From 22.1 the cancel is a CancelRequest, not the SQL fallback. */
	struct drained_cancel dc;
	cancel_while_draining(&dc, "23.1.11", 10);
	ck_assert_msg(dc.rc == 0, "cancel while draining: %s", dc.err.message);
	char st[6], msg[256];
	ck_assert_int_eq(finish(crdb_conn_pg(dc.conn), st, msg, sizeof msg),
			 PGRES_FATAL_ERROR);
	ck_assert_str_eq(st, "57014");
	drained_cancel_free(&dc);
	check_cancel_relayed("23.1.11");
}
END_TEST

START_TEST(cancel_query_old_version)
{
	/* Before 22.1, libcrdb goes through SHOW CLUSTER STATEMENTS and
	 * CANCEL QUERY (§2.5). */
	check_cancel_relayed("21.2.10");
	/* And it is that path: a second session is needed, which a
	 * draining crdbsim refuses. */
	struct drained_cancel dc;
	cancel_while_draining(&dc, "21.2.10", 2);
	ck_assert_msg(dc.rc != 0, "CANCEL QUERY went through a draining crdbsim");
	char st[6];
	ck_assert_int_eq(finish(crdb_conn_pg(dc.conn), st, NULL, 0), PGRES_TUPLES_OK);
	drained_cancel_free(&dc);
}
END_TEST


static Suite *conn_suite(void)
{
	Suite *s = suite_create("crdbsim-conn");
	TCase *t = tcase_create("connect");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, versions_per_connection);
	tcase_add_test(t, nonblocking_versions_per_connection);
	tcase_add_test(t, default_version_libcrdb);
	suite_add_tcase(s, t);
	t = tcase_create("cancel");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, cancel_request_new_version);
	tcase_add_test(t, cancel_query_old_version);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conn_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
