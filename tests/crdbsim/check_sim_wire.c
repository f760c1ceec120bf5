/*
 * check_sim_wire.c: tests of crdbsim's wire front end through libpq and
 * libcrdb, run under crdbsim-env (CRDB_DSN, PG_DSN, CRDBSIM_CONTROL):
 * start-up parameters and versions (§6.1-§6.3), the statements crdbsim
 * answers itself (§6.4), relay of ordinary SQL in both protocols, cancel
 * by CancelRequest and by CANCEL QUERY (§2.5), CANCEL SESSION, the
 * control socket, robustness against bad client messages, and restart.
 * Case files: tests/crdbsim/cases/wire_*.cases.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crdb.h"
#include "pgwire.h"
#include "wire_helpers.h"

/* ---- start-up and versions ---- */

static PGconn *startup_conn;

static void check_startup_param(char **f, int n, int lineno)
{
	ck_assert_msg(n == 2, "wire_startup.cases:%d: want 2 fields", lineno);
	const char *got = PQparameterStatus(startup_conn, f[0]);
	ck_assert_msg(got, "%s not sent", f[0]);
	size_t len = strlen(f[1]);
	if (len && f[1][len - 1] == '*')
		ck_assert_msg(strncmp(got, f[1], len - 1) == 0,
			      "%s = '%s', want prefix '%.*s'", f[0], got,
			      (int)len - 1, f[1]);
	else
		ck_assert_msg(strcmp(got, f[1]) == 0, "%s = '%s', want '%s'",
			      f[0], got, f[1]);
}

START_TEST(startup_parameters)
{
	startup_conn = connect_sim();
	ck_assert_int_gt(for_each_case("wire_startup.cases", check_startup_param), 5);
	/* libpq derives its numeric version from server_version. */
	ck_assert_int_eq(PQserverVersion(startup_conn), 130000);
	/* SELECT version() says the same as crdb_version (§6.1). */
	char *v = scalar(startup_conn, "SELECT version()");
	ck_assert_str_eq(v, PQparameterStatus(startup_conn, "crdb_version"));
	free(v);
	v = scalar(startup_conn, "SHOW server_version");
	ck_assert_str_eq(v, "13.0.0");
	free(v);
	PQfinish(startup_conn);
}
END_TEST

START_TEST(control_version_applies_to_new_connections)
{
	char *r = control("version 21.2.10");
	ck_assert_str_eq(r, "ok 210210");
	free(r);
	PGconn *old = connect_sim();
	r = control("version 23.1.11");
	ck_assert_str_eq(r, "ok 230111");
	free(r);
	PGconn *cur = connect_sim();
	ck_assert_int_eq(PQbackendPID(old), 0);
	ck_assert_int_gt(PQbackendPID(cur), 0);
	ck_assert_ptr_nonnull(strstr(PQparameterStatus(old, "crdb_version"), " v21.2.10 "));
	ck_assert_ptr_nonnull(strstr(PQparameterStatus(cur, "crdb_version"), " v23.1.11 "));
	PQfinish(old);
	PQfinish(cur);
	r = control("version 1.2");
	ck_assert_int_eq(strncmp(r, "error ", 6), 0);
	free(r);
}
END_TEST

START_TEST(ssl_request_refused)
{
	/* sslmode=prefer sends SSLRequest; 'N' lets it go on in clear. */
	char *dsn = NULL;
	const char *base = env("CRDB_DSN");
	ck_assert_int_ge(asprintf(&dsn, "%.*s", (int)(strstr(base, "sslmode=") ? strstr(base, "sslmode=") - base : (long)strlen(base)), base), 0);
	char *full = NULL;
	ck_assert_int_ge(asprintf(&full, "%s%ssslmode=prefer", dsn,
				  strchr(dsn, '?') ? "" : "?"), 0);
	PGconn *c = PQconnectdb(full);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	ck_assert_ptr_null(PQsslStruct(c, "OpenSSL"));
	exec_ok(c, "SELECT 1");
	PQfinish(c);
	free(dsn);
	free(full);
}
END_TEST

/* ---- intercepted statements ---- */

START_TEST(session_id_forms)
{
	PGconn *c = connect_sim();
	char *a = scalar(c, "SHOW session_id");
	char *b = scalar(c, "select session_id from [show session_id]");
	ck_assert(is_hex32(a));
	ck_assert_str_eq(a, b);
	/* Extended protocol, as psycopg sends it. */
	PGresult *r = PQexecParams(c, "SELECT session_id FROM [SHOW session_id]",
				   0, NULL, NULL, NULL, NULL, 0);
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_str_eq(PQfname(r, 0), "session_id");
	ck_assert_str_eq(PQgetvalue(r, 0, 0), a);
	PQclear(r);
	/* Another session has another id. */
	PGconn *d = connect_sim();
	char *other = scalar(d, "SHOW session_id");
	ck_assert_str_ne(a, other);
	free(a);
	free(b);
	free(other);
	PQfinish(c);
	PQfinish(d);
}
END_TEST

START_TEST(version_extended)
{
	PGconn *c = connect_sim();
	PGresult *r = PQexecParams(c, "SELECT version()", 0, NULL, NULL, NULL,
				   NULL, 0);
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_str_eq(PQfname(r, 0), "version");
	ck_assert_str_eq(PQgetvalue(r, 0, 0),
			 PQparameterStatus(c, "crdb_version"));
	PQclear(r);
	/* A literal that merely mentions version() stays as it is. */
	char *v = scalar(c, "SELECT 'version()'");
	ck_assert_str_eq(v, "version()");
	free(v);
	PQfinish(c);
}
END_TEST

START_TEST(show_statements)
{
	static const char *const cols[] = {
		"query_id", "txn_id", "node_id", "session_id", "user_name",
		"start", "query", "client_address", "application_name",
		"distributed", "phase",
	};
	PGconn *busy = connect_sim(), *obs = connect_sim();
	char *busy_sid = scalar(busy, "SHOW session_id");
	start_sleep(busy, obs, 2);

	PGresult *r = PQexec(obs, "SHOW CLUSTER STATEMENTS");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQnfields(r), 11);
	for (int i = 0; i < 11; i++)
		ck_assert_str_eq(PQfname(r, i), cols[i]);
	/* The sleeper and the SHOW itself are running. */
	ck_assert_int_ge(PQntuples(r), 2);
	PQclear(r);

	r = PQexec(obs, "SELECT query_id, session_id, query, user_name FROM "
		   "[SHOW STATEMENTS] WHERE query !~ 'SHOW'");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert(is_hex32(PQgetvalue(r, 0, 0)));
	ck_assert_str_eq(PQgetvalue(r, 0, 1), busy_sid);
	ck_assert_str_eq(PQgetvalue(r, 0, 2), "SELECT pg_sleep(2)");
	ck_assert_str_eq(PQgetvalue(r, 0, 3), "root");
	PQclear(r);

	/* Extended protocol with a parameter and an alias. */
	const char *params[1] = {busy_sid};
	r = PQexecParams(obs, "SELECT s.query FROM [SHOW CLUSTER STATEMENTS] AS s "
			 "WHERE s.session_id = $1", 1, NULL, params, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(obs));
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "SELECT pg_sleep(2)");
	PQclear(r);

	char st[6];
	ck_assert_int_eq(finish(busy, st, NULL, 0), PGRES_TUPLES_OK);
	/* Idle again: no longer listed. */
	r = PQexecParams(obs, "SELECT query FROM [SHOW STATEMENTS] WHERE session_id = $1",
			 1, NULL, params, NULL, NULL, 0);
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQntuples(r), 0);
	PQclear(r);
	free(busy_sid);
	PQfinish(busy);
	PQfinish(obs);
}
END_TEST

START_TEST(cluster_setting_rangefeed)
{
	PGconn *c = connect_sim();
	exec_ok(c, "SET CLUSTER SETTING kv.rangefeed.enabled = true");
	char *v = scalar(c, "SHOW CLUSTER SETTING kv.rangefeed.enabled");
	ck_assert_str_eq(v, "t");
	free(v);
	PGresult *r = PQexec(c, "SET CLUSTER SETTING kv.rangefeed.enabled TO false");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	ck_assert_str_eq(PQcmdStatus(r), "SET CLUSTER SETTING");
	PQclear(r);
	v = scalar(c, "SHOW CLUSTER SETTING kv.rangefeed.enabled");
	ck_assert_str_eq(v, "f");
	free(v);
	char *reply = control("rangefeed on");
	ck_assert_str_eq(reply, "ok on");
	free(reply);
	/* Extended protocol too. */
	r = PQexecParams(c, "SHOW CLUSTER SETTING kv.rangefeed.enabled", 0,
			 NULL, NULL, NULL, NULL, 0);
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	/* The value as a parameter. */
	const char *off[1] = {"false"};
	r = PQexecParams(c, "SET CLUSTER SETTING kv.rangefeed.enabled = $1", 1,
			 NULL, off, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	ck_assert_str_eq(PQcmdStatus(r), "SET CLUSTER SETTING");
	PQclear(r);
	v = scalar(c, "SHOW CLUSTER SETTING kv.rangefeed.enabled");
	ck_assert_str_eq(v, "f");
	free(v);
	r = PQexec(c, "SET CLUSTER SETTING kv.rangefeed.enabled = 'maybe'");
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	free(control("rangefeed on"));
	reply = control("stats");
	ck_assert_ptr_nonnull(strstr(reply, " rangefeed=on"));
	free(reply);
	reply = control("rangefeed off");
	ck_assert_str_eq(reply, "ok off");
	free(reply);
	/* Not inside a transaction; nothing in an aborted one. */
	exec_ok(c, "BEGIN");
	r = PQexec(c, "SET CLUSTER SETTING kv.rangefeed.enabled = true");
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "25001");
	PQclear(r);
	r = PQexec(c, "SELECT nope");
	PQclear(r);
	ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_INERROR);
	r = PQexec(c, "LISTEN x");
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "25P02");
	PQclear(r);
	exec_ok(c, "ROLLBACK");
	v = scalar(c, "SHOW CLUSTER SETTING kv.rangefeed.enabled");
	ck_assert_str_eq(v, "f");
	free(v);
	PQfinish(c);
}
END_TEST

static char notice_severity[32], notice_text[256];
static int notices;

static void notice_receiver(void *arg, const PGresult *res)
{
	(void)arg;
	const char *s = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	snprintf(notice_severity, sizeof notice_severity, "%s", s ? s : "");
	snprintf(notice_text, sizeof notice_text, "%s", m ? m : "");
	notices++;
}

START_TEST(listen_unlisten)
{
	PGconn *c = connect_sim();
	PQsetNoticeReceiver(c, notice_receiver, NULL);
	notices = 0;
	PGresult *r = PQexec(c, "LISTEN x");
	/* §6.4: not an error, a severity-ERROR notice. */
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	ck_assert_str_eq(PQcmdStatus(r), "LISTEN");
	PQclear(r);
	ck_assert_int_eq(notices, 1);
	ck_assert_str_eq(notice_severity, "ERROR");
	ck_assert_str_eq(notice_text, "CRDB does not support LISTEN");
	r = PQexec(c, "UNLISTEN x");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	ck_assert_str_eq(PQcmdStatus(r), "UNLISTEN");
	PQclear(r);
	ck_assert_int_eq(notices, 2);
	ck_assert_str_eq(notice_severity, "NOTICE");
	ck_assert_str_eq(notice_text, "CRDB does not support LISTEN, making UNLISTEN a no-op");
	/* Extended protocol. */
	r = PQexecParams(c, "LISTEN y", 0, NULL, NULL, NULL, NULL, 0);
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	ck_assert_str_eq(PQcmdStatus(r), "LISTEN");
	PQclear(r);
	ck_assert_int_eq(notices, 3);
	PQfinish(c);
}
END_TEST

START_TEST(error_fields_by_version)
{
	/* §6.5: the non-localized severity (V) arrived in 22.1.3. */
	static const struct { const char *version; bool v; } cases[] = {
		{"22.1.2", false}, {"22.1.3", true}, {"21.2.10", false},
		{"23.1.11", true},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		PGconn *c = connect_v(cases[i].version);
		PGresult *r = PQexec(c, "CANCEL QUERY 'ffffffffffffffffffffffffffffffff'");
		ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
		ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SEVERITY), "ERROR");
		const char *v = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
		if (cases[i].v)
			ck_assert_msg(v && !strcmp(v, "ERROR"), "%s: V missing",
				      cases[i].version);
		else
			ck_assert_msg(!v, "%s: V sent", cases[i].version);
		PQclear(r);
		PQfinish(c);
	}
}
END_TEST

/* ---- relay ---- */

START_TEST(relay_sql)
{
	PGconn *c = connect_sim();
	exec_ok(c, "DROP TABLE IF EXISTS wire_relay");
	exec_ok(c, "CREATE TABLE wire_relay (id INT8 PRIMARY KEY, v TEXT, b BYTEA)");
	PGresult *r = PQexec(c, "INSERT INTO wire_relay VALUES (1, 'a', '\\x00ff'), (2, 'b', NULL)");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	ck_assert_str_eq(PQcmdTuples(r), "2");
	PQclear(r);
	/* A transaction rolled back leaves nothing; status follows. */
	exec_ok(c, "BEGIN");
	ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_INTRANS);
	exec_ok(c, "INSERT INTO wire_relay VALUES (3, 'c', NULL)");
	r = PQexec(c, "SELECT nope FROM wire_relay");
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42703");
	PQclear(r);
	ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_INERROR);
	exec_ok(c, "ROLLBACK");
	ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_IDLE);
	char *n = scalar(c, "SELECT count(*) FROM wire_relay");
	ck_assert_str_eq(n, "2");
	free(n);
	/* Several statements in one simple Query. */
	r = PQexec(c, "UPDATE wire_relay SET v = 'z' WHERE id = 2; SELECT v FROM wire_relay WHERE id = 2");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "z");
	PQclear(r);
	/* Extended protocol with parameters, binary result. */
	const char *params[2] = {"1", "a"};
	r = PQexecParams(c, "SELECT b, id FROM wire_relay WHERE id = $1 AND v = $2",
			 2, NULL, params, NULL, NULL, 1);
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_int_eq(PQgetlength(r, 0, 0), 2);
	ck_assert_int_eq((unsigned char)PQgetvalue(r, 0, 0)[1], 0xff);
	PQclear(r);
	/* Text result of bytea is hex (§2.3). */
	n = scalar(c, "SELECT b FROM wire_relay WHERE id = 1");
	ck_assert_str_eq(n, "\\x00ff");
	free(n);
	/* Named prepared statements. */
	r = PQprepare(c, "ins", "INSERT INTO wire_relay VALUES ($1, $2, NULL)", 2, NULL);
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	for (int i = 10; i < 13; i++) {
		char id[16];
		snprintf(id, sizeof id, "%d", i);
		const char *p[2] = {id, "p"};
		r = PQexecPrepared(c, "ins", 2, p, NULL, NULL, 0);
		ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
	}
	r = PQdescribePrepared(c, "ins");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	ck_assert_int_eq(PQnparams(r), 2);
	PQclear(r);
	n = scalar(c, "SELECT count(*) FROM wire_relay WHERE v = 'p'");
	ck_assert_str_eq(n, "3");
	free(n);
	/* SET statement_timeout is PostgreSQL's business; its error reads
	 * as CockroachDB's (§2.5). */
	exec_ok(c, "SET statement_timeout = '100ms'");
	r = PQexec(c, "SELECT pg_sleep(5)");
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "57014");
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY),
			 "query execution canceled due to statement timeout");
	PQclear(r);
	exec_ok(c, "SET statement_timeout = 0");
	n = scalar(c, "SHOW statement_timeout");
	ck_assert_str_eq(n, "0");
	free(n);
	/* COPY in and out pass through. */
	r = PQexec(c, "COPY wire_relay (id, v) FROM STDIN");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COPY_IN);
	PQclear(r);
	ck_assert_int_eq(PQputCopyData(c, "20\tcopy\n21\tcopy\n", 16), 1);
	ck_assert_int_eq(PQputCopyEnd(c, NULL), 1);
	r = PQgetResult(c);
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	ck_assert_ptr_null(PQgetResult(c));
	n = scalar(c, "SELECT count(*) FROM wire_relay WHERE v = 'copy'");
	ck_assert_str_eq(n, "2");
	free(n);
	exec_ok(c, "DROP TABLE wire_relay");
	PQfinish(c);
}
END_TEST

/* The next result in pipeline mode, with its status checked. */
static void pipeline_expect(PGconn *c, ExecStatusType want, const char *value)
{
	PGresult *r = PQgetResult(c);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(PQresultStatus(r) == want, "got %s: %s",
		      PQresStatus(PQresultStatus(r)), PQresultErrorMessage(r));
	if (value)
		ck_assert_str_eq(PQgetvalue(r, 0, 0), value);
	PQclear(r);
	if (want != PGRES_PIPELINE_SYNC)
		ck_assert_ptr_null(PQgetResult(c));
}

START_TEST(relay_pipeline_mixed)
{
	/* One pipeline (one Sync) mixing relayed statements and ones crdbsim
	 * answers itself: results come back in order. */
	PGconn *c = connect_sim();
	ck_assert(PQenterPipelineMode(c));
	ck_assert(PQsendQueryParams(c, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0));
	ck_assert(PQsendQueryParams(c, "UNLISTEN x", 0, NULL, NULL, NULL, NULL, 0));
	ck_assert(PQsendQueryParams(c, "SELECT 2", 0, NULL, NULL, NULL, NULL, 0));
	ck_assert(PQsendQueryParams(c, "CANCEL QUERY IF EXISTS 'ab'", 0, NULL,
				    NULL, NULL, NULL, 0));
	ck_assert(PQpipelineSync(c));
	ck_assert(PQsendQueryParams(c, "SELECT 3", 0, NULL, NULL, NULL, NULL, 0));
	ck_assert(PQpipelineSync(c));
	pipeline_expect(c, PGRES_TUPLES_OK, "1");
	pipeline_expect(c, PGRES_COMMAND_OK, NULL);
	pipeline_expect(c, PGRES_TUPLES_OK, "2");
	pipeline_expect(c, PGRES_COMMAND_OK, NULL);
	pipeline_expect(c, PGRES_PIPELINE_SYNC, NULL);
	pipeline_expect(c, PGRES_TUPLES_OK, "3");
	pipeline_expect(c, PGRES_PIPELINE_SYNC, NULL);
	ck_assert(PQexitPipelineMode(c));
	exec_ok(c, "SELECT 4");
	PQfinish(c);
}
END_TEST

START_TEST(relay_large_volumes)
{
	/* Tens of megabytes each way: crdbsim's bounded buffers pause and
	 * resume the relay without losing or reordering bytes. */
	enum { LINES = 200000 };
	PGconn *c = connect_sim();
	/* TEMP: logical decoding skips it, so the changefeed engine's
	 * history does not have to swallow 20 MB for nothing. */
	exec_ok(c, "CREATE TEMP TABLE wire_big (id INT8 PRIMARY KEY, v TEXT)");
	PGresult *r = PQexec(c, "COPY wire_big FROM STDIN");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COPY_IN);
	PQclear(r);
	char line[160], pad[101];
	memset(pad, 'p', 100);
	pad[100] = '\0';
	/* Plain checks in the loops: each ck_assert is a pipe write. */
	int put_failed = 0;
	for (int i = 0; i < LINES; i++) {
		int n = snprintf(line, sizeof line, "%d\t%s\n", i, pad);
		put_failed += PQputCopyData(c, line, n) != 1;
	}
	ck_assert_int_eq(put_failed, 0);
	ck_assert_int_eq(PQputCopyEnd(c, NULL), 1);
	r = PQgetResult(c);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	ck_assert_str_eq(PQcmdTuples(r), "200000");
	PQclear(r);
	ck_assert_ptr_null(PQgetResult(c));
	/* And back, in single-row mode (the client reads as it goes). */
	ck_assert(PQsendQuery(c, "SELECT id, v FROM wire_big ORDER BY id"));
	ck_assert(PQsetSingleRowMode(c));
	long rows = 0, bad = 0, ends = 0;
	while ((r = PQgetResult(c))) {
		if (PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
			bad += atol(PQgetvalue(r, 0, 0)) != rows ||
			       PQgetlength(r, 0, 1) != 100;
			rows++;
		} else {
			ends += PQresultStatus(r) == PGRES_TUPLES_OK;
		}
		PQclear(r);
	}
	ck_assert_int_eq(rows, LINES);
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(ends, 1);
	exec_ok(c, "DROP TABLE wire_big");
	PQfinish(c);
}
END_TEST

START_TEST(disconnect_cancels_relayed_statement)
{
	/* A client gone mid-statement: PostgreSQL must not run it on. */
	PGconn *c = connect_sim(), *obs = connect_sim();
	start_sleep(c, obs, 30);
	PQfinish(c);
	PGconn *pg = PQconnectdb(env("PG_DSN"));
	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
	double end = now_s() + 5;
	for (;;) {
		char *n = scalar(pg, "SELECT count(*) FROM pg_stat_activity "
				 "WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'");
		bool gone = strcmp(n, "0") == 0;
		free(n);
		if (gone)
			break;
		ck_assert_msg(now_s() < end, "the orphaned statement still runs");
		usleep(50000);
	}
	PQfinish(pg);
	PQfinish(obs);
}
END_TEST

START_TEST(relay_database_and_errors)
{
	/* CockroachDB's database name is PostgreSQL's: a missing one fails. */
	const char *base = env("CRDB_DSN");
	const char *slash = strstr(base + strlen("postgresql://"), "/");
	ck_assert_ptr_nonnull(slash);
	char *dsn = NULL;
	ck_assert_int_ge(asprintf(&dsn, "%.*s/no_such_db?sslmode=disable",
				  (int)(slash - base), base), 0);
	PGconn *c = PQconnectdb(dsn);
	ck_assert_int_eq(PQstatus(c), CONNECTION_BAD);
	ck_assert_ptr_nonnull(strstr(PQerrorMessage(c), "no_such_db"));
	PQfinish(c);
	free(dsn);
	c = connect_sim();
	char *db = scalar(c, "SELECT current_database()");
	ck_assert_str_eq(db, "defaultdb");
	free(db);
	PQfinish(c);
}
END_TEST

/* ---- cancel ---- */

START_TEST(cancel_request_ignored_before_22_1)
{
	PGconn *c = connect_v("21.2.10");
	PGconn *obs = connect_sim();
	ck_assert_int_eq(PQbackendPID(c), 0);
	start_sleep(c, obs, 1);
	PGcancel *k = PQgetCancel(c);
	ck_assert_ptr_nonnull(k);
	char errbuf[256];
	ck_assert(PQcancel(k, errbuf, sizeof errbuf));
	PQfreeCancel(k);
	char st[6];
	/* Ignored: the statement runs to its end. */
	ck_assert_int_eq(finish(c, st, NULL, 0), PGRES_TUPLES_OK);
	PQfinish(c);
	PQfinish(obs);
}
END_TEST

START_TEST(cancel_query_statement)
{
	PGconn *c = connect_sim(), *obs = connect_sim();
	start_sleep(c, obs, 10);
	char *qid = scalar(obs, "SELECT query_id FROM [SHOW STATEMENTS] WHERE query !~ 'SHOW'");
	ck_assert(is_hex32(qid));
	/* Extended protocol with the id as a parameter, as psycopg does. */
	const char *params[1] = {qid};
	PGresult *r = PQexecParams(obs, "CANCEL QUERY $1", 1, NULL, params,
				   NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(obs));
	ck_assert_str_eq(PQcmdStatus(r), "CANCEL QUERIES 1");
	PQclear(r);
	char st[6], msg[256];
	ck_assert_int_eq(finish(c, st, msg, sizeof msg), PGRES_FATAL_ERROR);
	ck_assert_str_eq(st, "57014");
	ck_assert_str_eq(msg, "query execution canceled");
	/* An unknown id is an error, unless IF EXISTS. */
	r = PQexec(obs, "CANCEL QUERY '00000000000000000000000000000001'");
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	r = PQexec(obs, "CANCEL QUERY IF EXISTS '00000000000000000000000000000001'");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	ck_assert_str_eq(PQcmdStatus(r), "CANCEL QUERIES 0");
	PQclear(r);
	/* CANCEL QUERIES with a subquery. */
	start_sleep(c, obs, 10);
	r = PQexec(obs, "CANCEL QUERIES SELECT query_id FROM [SHOW CLUSTER STATEMENTS] "
		   "WHERE query LIKE 'SELECT pg_sleep%'");
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(obs));
	ck_assert_str_eq(PQcmdStatus(r), "CANCEL QUERIES 1");
	PQclear(r);
	ck_assert_int_eq(finish(c, st, NULL, 0), PGRES_FATAL_ERROR);
	ck_assert_str_eq(st, "57014");
	free(qid);
	PQfinish(c);
	PQfinish(obs);
}
END_TEST

START_TEST(cancel_session)
{
	PGconn *victim = connect_sim(), *c = connect_sim();
	char *sid = scalar(victim, "SHOW session_id");
	char sql[128];
	snprintf(sql, sizeof sql, "CANCEL SESSION '%s'", sid);
	PGresult *r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	ck_assert_str_eq(PQcmdStatus(r), "CANCEL SESSIONS 1");
	PQclear(r);
	/* The victim's connection is closed. */
	r = PQexec(victim, "SELECT 1");
	ck_assert_int_ne(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	ck_assert_int_eq(PQstatus(victim), CONNECTION_BAD);
	PQfinish(victim);
	/* Through libcrdb. */
	crdb_error err;
	crdb_conn *v2 = crdb_connect(env("CRDB_DSN"), &err);
	ck_assert_msg(v2, "%s", err.message);
	ck_assert_msg(crdb_conn_cancel_session(v2, &err) == 0, "%s", err.message);
	r = PQexec(crdb_conn_pg(v2), "SELECT 1");
	ck_assert_int_ne(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	crdb_conn_free(v2);
	/* CANCEL SESSIONS with a subquery, on a session that is busy. */
	PGconn *busy = connect_sim();
	start_sleep(busy, c, 10);
	r = PQexec(c, "CANCEL SESSIONS SELECT session_id FROM [SHOW CLUSTER STATEMENTS] "
		   "WHERE query LIKE 'SELECT pg_sleep%'");
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	ck_assert_str_eq(PQcmdStatus(r), "CANCEL SESSIONS 1");
	PQclear(r);
	char st[6];
	ck_assert_int_eq(finish(busy, st, NULL, 0), PGRES_FATAL_ERROR);
	ck_assert_int_eq(PQstatus(busy), CONNECTION_BAD);
	PQfinish(busy);
	/* Unknown session. */
	r = PQexec(c, "CANCEL SESSION '00000000000000000000000000000001'");
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	free(sid);
	PQfinish(c);
}
END_TEST

/* ---- robustness ---- */

static int sim_port(void)
{
	return atoi(env("CRDBSIM_PORT"));
}

/* After garbage, crdbsim answers 08P01 and closes. */
static void expect_protocol_error(int fd)
{
	struct pgw_msg m;
	char rest[256];

	pgw_read_msg(fd, &m, 4096);
	ck_assert_int_eq(m.type, 'E');
	const char *code = pgw_error_field(m.body, m.len, 'C');
	ck_assert_str_eq(code ? code : "(none)", "08P01");
	pgw_msg_free(&m);
	ck_assert_uint_eq(pgw_read_to_eof(fd, rest, sizeof rest), 0);
	close(fd);
}

START_TEST(extended_messages_one_by_one)
{
	/* Each message of a statement crdbsim answers arrives on its own:
	 * nothing may be read from a message already dropped. */
	static const struct {
		char type;
		const char *body;
		size_t len;
	} msgs[] = {
		{ 'P', "s1\0LISTEN x\0\0\0", 14 },
		{ 'B', "p1\0s1\0\0\0\0\0\0\0", 12 },
		{ 'D', "Pp1\0", 4 },
		{ 'E', "p1\0\0\0\0\0", 7 },
		{ 'C', "Ss1\0", 4 },
		{ 'S', "", 0 },
	};
	int fd = pgw_session(sim_port());
	for (size_t m = 0; m < sizeof msgs / sizeof msgs[0]; m++) {
		if (m > 0)
			usleep(50000);
		pgw_send_msg(fd, msgs[m].type, msgs[m].body, msgs[m].len);
	}
	static const char want[] = "12nNC3Z";
	for (size_t i = 0; i < sizeof want - 1; i++) {
		struct pgw_msg msg;
		pgw_read_msg(fd, &msg, 1024);
		ck_assert_msg(msg.type == want[i], "message %zu: '%c', want '%c'", i,
			      msg.type, want[i]);
		if (msg.type == 'C')
			ck_assert_str_eq((char *)msg.body, "LISTEN");
		pgw_msg_free(&msg);
	}
	close(fd);
}
END_TEST

START_TEST(bad_messages_close_session)
{
	/* Length below 4. */
	int fd = pgw_session(sim_port());
	unsigned char m[16] = {'Q', 0, 0, 0, 2};
	pgw_send(fd, m, 5);
	expect_protocol_error(fd);
	/* More than 1 GiB. */
	fd = pgw_session(sim_port());
	m[0] = 'Q';
	pgw_put32(m + 1, 0x40000010u);
	pgw_send(fd, m, 5);
	expect_protocol_error(fd);
	/* Unknown message type. */
	fd = pgw_session(sim_port());
	pgw_send_msg(fd, 'y', NULL, 0);
	expect_protocol_error(fd);
	/* A Query without its NUL. */
	fd = pgw_session(sim_port());
	pgw_send_msg(fd, 'Q', "abc", 3);
	expect_protocol_error(fd);
	/* A bad start-up length. */
	fd = pgw_connect(sim_port());
	pgw_put32(m, 3);
	pgw_send(fd, m, 4);
	expect_protocol_error(fd);
	/* crdbsim is still there. */
	PGconn *c = connect_sim();
	exec_ok(c, "SELECT 1");
	PQfinish(c);
}
END_TEST

START_TEST(control_commands)
{
	PGconn *c = connect_sim();
	char *r = control("stats");
	ck_assert_int_eq(strncmp(r, "ok sessions=", 12), 0);
	ck_assert_int_ge(atoi(r + 12), 1);
	free(r);
	static const char *const bad[] = {
		"nope", "dup", "dup x", "stall -1", "gc", "fail 57014",
		"rangefeed maybe", "version", "drain", "drain maybe",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = control(bad[i]);
		ck_assert_msg(strncmp(r, "error ", 6) == 0, "%s -> %s", bad[i], r);
		free(r);
	}
	/* Commands that act on running feeds report how many (none here). */
	static const char *const zero[] = {
		"close-all", "shutdown-feeds", "fail XXUUU injected failure",
		"dup 3", "stall 10",
	};
	for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++) {
		r = control(zero[i]);
		ck_assert_msg(strcmp(r, "ok 0") == 0, "%s -> %s", zero[i], r);
		free(r);
	}
	/* drain: new connections refused as a draining node does (§7),
	 * existing ones go on. */
	r = control("drain on");
	ck_assert_str_eq(r, "ok on");
	free(r);
	PGconn *refused = PQconnectdb(env("CRDB_DSN"));
	ck_assert_int_eq(PQstatus(refused), CONNECTION_BAD);
	ck_assert_ptr_nonnull(strstr(PQerrorMessage(refused),
				     "server is not accepting clients, try another node"));
	PQfinish(refused);
	exec_ok(c, "SELECT 1");
	r = control("drain off");
	ck_assert_str_eq(r, "ok off");
	free(r);
	refused = connect_sim();
	PQfinish(refused);
	r = control("gc 90000000");
	ck_assert_int_eq(strncmp(r, "ok ", 3), 0);
	free(r);
	/* Idle sessions survive close-all. */
	exec_ok(c, "SELECT 1");
	PQfinish(c);
}
END_TEST

START_TEST(restart_same_port)
{
	char cmd[4200];
	PGconn *c = connect_sim();
	exec_ok(c, "SELECT 1");
	snprintf(cmd, sizeof cmd, "%s", env("CRDBSIM_RESTART"));
	ck_assert_int_eq(system(cmd), 0);
	/* The old connection is gone; a new one works on the same port. */
	PGresult *r = PQexec(c, "SELECT 1");
	ck_assert_int_ne(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	PQfinish(c);
	c = connect_sim();
	exec_ok(c, "SELECT 1");
	char *reply = control("stats");
	ck_assert_int_eq(strncmp(reply, "ok ", 3), 0);
	free(reply);
	PQfinish(c);
}
END_TEST

/* ---- a crdbsim of our own: --password and --unix ---- */

static int free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

START_TEST(password_and_unix_socket)
{
	char listen_arg[64], unix_path[512], log[512];
	int port = free_port();
	snprintf(listen_arg, sizeof listen_arg, "127.0.0.1:%d", port);
	snprintf(unix_path, sizeof unix_path, "%s/.s.PGSQL.%d",
		 env("CRDBSIM_ENV_DIR"), port);
	snprintf(log, sizeof log, "%s/crdbsim-password.log", env("CRDBSIM_ENV_DIR"));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		FILE *f = freopen(log, "w", stderr);
		(void)f;
		/* Not CRDBSIM_ENV_DIR's crdbsim.cmd: unset it. */
		unsetenv("CRDBSIM_ENV_DIR");
		execl(env("CRDBSIM"), "crdbsim", "--pg", env("PG_DSN"),
		      "--listen", listen_arg, "--unix", unix_path,
		      "--password", "s3cret", "--emulate-version", "22.2.3",
		      (char *)NULL);
		_exit(127);
	}
	char good[1024], bad[1024], via_unix[1024];
	snprintf(good, sizeof good, "host=127.0.0.1 port=%d user=root "
		 "dbname=defaultdb sslmode=disable password=s3cret", port);
	snprintf(bad, sizeof bad, "host=127.0.0.1 port=%d user=root "
		 "dbname=defaultdb sslmode=disable password=wrong", port);
	snprintf(via_unix, sizeof via_unix, "host=%s port=%d user=root "
		 "dbname=defaultdb password=s3cret", env("CRDBSIM_ENV_DIR"), port);
	PGconn *c = NULL;
	double end = now_s() + 20;
	for (;;) {
		c = PQconnectdb(good);
		if (PQstatus(c) == CONNECTION_OK)
			break;
		PQfinish(c);
		ck_assert_msg(now_s() < end, "own crdbsim did not start (see %s)", log);
		usleep(50000);
	}
	ck_assert(PQconnectionUsedPassword(c));
	ck_assert_ptr_nonnull(strstr(PQparameterStatus(c, "crdb_version"), " v22.2.3 "));
	exec_ok(c, "SELECT 1");
	PQfinish(c);
	c = PQconnectdb(bad);
	ck_assert_int_eq(PQstatus(c), CONNECTION_BAD);
	ck_assert_ptr_nonnull(strstr(PQerrorMessage(c), "password authentication failed"));
	PQfinish(c);
	c = PQconnectdb(via_unix);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	char *v = scalar(c, "SELECT current_user");
	ck_assert_str_eq(v, "postgres");       /* PostgreSQL's side of it */
	free(v);
	PQfinish(c);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* The restarted crdbsim outlives the test that restarted it. */
START_TEST(alive_after_restart)
{
	PGconn *c = connect_sim();
	exec_ok(c, "SELECT 1");
	PQfinish(c);
}
END_TEST

static Suite *wire_suite(void)
{
	Suite *s = suite_create("crdbsim wire");
	TCase *t = tcase_create("startup");
	tcase_add_test(t, startup_parameters);
	tcase_add_test(t, control_version_applies_to_new_connections);
	tcase_add_test(t, ssl_request_refused);
	tcase_add_test(t, password_and_unix_socket);
	suite_add_tcase(s, t);
	t = tcase_create("intercepts");
	tcase_add_test(t, session_id_forms);
	tcase_add_test(t, version_extended);
	tcase_add_test(t, show_statements);
	tcase_add_test(t, cluster_setting_rangefeed);
	tcase_add_test(t, listen_unlisten);
	tcase_add_test(t, error_fields_by_version);
	suite_add_tcase(s, t);
	t = tcase_create("relay");
	tcase_add_test(t, relay_sql);
	tcase_add_test(t, relay_database_and_errors);
	tcase_add_test(t, relay_large_volumes);
	tcase_add_test(t, relay_pipeline_mixed);
	suite_add_tcase(s, t);
	t = tcase_create("cancel");
	tcase_add_test(t, cancel_request_ignored_before_22_1);
	tcase_add_test(t, cancel_query_statement);
	tcase_add_test(t, cancel_session);
	tcase_add_test(t, disconnect_cancels_relayed_statement);
	suite_add_tcase(s, t);
	t = tcase_create("robustness");
	tcase_add_test(t, bad_messages_close_session);
	tcase_add_test(t, extended_messages_one_by_one);
	tcase_add_test(t, control_commands);
	/* Last: it replaces the crdbsim process. */
	tcase_add_test(t, restart_same_port);
	tcase_add_test(t, alive_after_restart);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(wire_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
