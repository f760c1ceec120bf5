/*
 * check_sim_wirefeed.c: changefeeds through crdbsim's wire front end, as
 * libpq and libcrdb clients see them (run under crdbsim-env): the result
 * columns (§2.1), text and binary rows (§2.3), Describe before execution,
 * streaming in single-row mode, completion tag (§2.4), cancel by
 * CancelRequest and by CANCEL QUERY (§2.5), and the control socket's feed
 * faults (§7: abrupt close, 57P01 shutdown, injected failure).
 * The engine's own semantics (envelopes, options, resolved) are tested by
 * check_sim_feed; this file tests what the session puts on the wire.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crdb.h"
#include "wire_helpers.h"

#define EVENT_TIMEOUT_S 10.0

/* A fresh table with rangefeeds on; returns its name (static). */
static const char *setup_table(PGconn *c, const char *name)
{
	char sql[256];
	exec_ok(c, "SET CLUSTER SETTING kv.rangefeed.enabled = true");
	snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", name);
	exec_ok(c, sql);
	snprintf(sql, sizeof sql,
		 "CREATE TABLE %s (id INT8 PRIMARY KEY, data TEXT)", name);
	exec_ok(c, sql);
	return name;
}

/* The next result of a streaming statement, waiting at most the timeout;
 * NULL when the statement ended (no more results). */
static PGresult *next_result(PGconn *c)
{
	double end = now_s() + EVENT_TIMEOUT_S;
	while (PQisBusy(c)) {
		double left = end - now_s();
		ck_assert_msg(left > 0, "no result within %.0f s", EVENT_TIMEOUT_S);
		struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
		int r = poll(&p, 1, (int)(left * 1000) + 1);
		ck_assert_int_ge(r, 0);
		if (r > 0 && !PQconsumeInput(c))
			break;
	}
	return PQgetResult(c);
}

/* Start a feed in single-row mode: extended protocol when binary. */
static void start_feed(PGconn *c, const char *sql, int format)
{
	int ok = format ? PQsendQueryParams(c, sql, 0, NULL, NULL, NULL, NULL, 1)
			: PQsendQuery(c, sql);
	ck_assert_msg(ok, "%s", PQerrorMessage(c));
	ck_assert(PQsetSingleRowMode(c));
}

/* The next data row of a feed (resolved rows skipped). */
static PGresult *next_row(PGconn *c)
{
	for (;;) {
		PGresult *r = next_result(c);
		ck_assert_ptr_nonnull(r);
		ck_assert_msg(PQresultStatus(r) == PGRES_SINGLE_TUPLE,
			      "want a row, got %s: %s",
			      PQresStatus(PQresultStatus(r)),
			      PQresultErrorMessage(r));
		if (!PQgetisnull(r, 0, 0))
			return r;
		PQclear(r);
	}
}

/* Column value as raw bytes: hex-decoded in text format (§2.3). */
static char *column_bytes(const PGresult *r, int col, size_t *len)
{
	const char *v = PQgetvalue(r, 0, col);
	if (PQfformat(r, col) == 1 || PQftype(r, col) != 17) {
		*len = (size_t)PQgetlength(r, 0, col);
		char *s = malloc(*len + 1);
		memcpy(s, v, *len);
		s[*len] = '\0';
		return s;
	}
	/* crdbsim must send lower-case \x hex. */
	ck_assert_msg(v[0] == '\\' && v[1] == 'x', "not hex: %s", v);
	for (const char *p = v + 2; *p; p++)
		ck_assert_msg((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'),
			      "bad hex digit in %s", v);
	unsigned char *u = PQunescapeBytea((const unsigned char *)v, len);
	char *s = malloc(*len + 1);
	memcpy(s, u, *len);
	s[*len] = '\0';
	PQfreemem(u);
	return s;
}

/* Insert id and expect its row: table name, key [id], after object. */
static void expect_insert(PGconn *feed, PGconn *w, const char *table, int id)
{
	char sql[256], want[128];
	snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (%d, 'v%d')", table, id, id);
	exec_ok(w, sql);
	PGresult *r = next_row(feed);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), table);
	size_t len;
	char *key = column_bytes(r, 1, &len);
	snprintf(want, sizeof want, "[%d]", id);
	ck_assert_str_eq(key, want);
	char *value = column_bytes(r, 2, &len);
	snprintf(want, sizeof want, "{\"after\": {\"data\": \"v%d\", \"id\": %d}}", id, id);
	ck_assert_str_eq(value, want);
	free(key);
	free(value);
	PQclear(r);
}

static void check_columns(const PGresult *r, int format)
{
	static const char *const names[3] = {"table", "key", "value"};
	static const Oid oids[3] = {25, 17, 17};
	ck_assert_int_eq(PQnfields(r), 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(PQfname(r, i), names[i]);
		ck_assert_uint_eq(PQftype(r, i), oids[i]);
		ck_assert_uint_eq(PQftable(r, i), 0);
		ck_assert_int_eq(PQftablecol(r, i), 0);
		ck_assert_int_eq(PQfmod(r, i), -1);
		ck_assert_int_eq(PQfformat(r, i), format);
	}
}

/* The feed's end after a cancel: 57014, then idle and usable (§2.5). */
static void expect_canceled(PGconn *c)
{
	PGresult *r;
	bool seen = false;
	while ((r = next_result(c))) {
		if (PQresultStatus(r) == PGRES_FATAL_ERROR) {
			ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "57014");
			ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY),
					 "query execution canceled");
			seen = true;
		} else {
			/* Rows may still come before the error. */
			ck_assert_int_eq(PQresultStatus(r), PGRES_SINGLE_TUPLE);
		}
		PQclear(r);
	}
	ck_assert(seen);
	ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_IDLE);
	exec_ok(c, "SELECT 1");
}

static void feed_rows_and_cancel(int format, const char *version)
{
	PGconn *w = connect_sim();
	const char *t = setup_table(w, format ? "wf_bin" : "wf_text");
	char *dsn = dsn_for(version);
	crdb_error err;
	crdb_conn *cc = crdb_connect(dsn, &err);
	ck_assert_msg(cc, "%s", err.message);
	PGconn *feed = crdb_conn_pg(cc);
	char sql[128];
	snprintf(sql, sizeof sql, "EXPERIMENTAL CHANGEFEED FOR %s", t);
	start_feed(feed, sql, format);
	/* The first insert also proves the feed reached its live phase. */
	PGresult *r;
	double end = now_s() + EVENT_TIMEOUT_S;
	for (int id = 1;; id++) {
		char ins[128];
		snprintf(ins, sizeof ins, "INSERT INTO %s VALUES (%d, 'v%d')", t, id, id);
		exec_ok(w, ins);
		struct pollfd p = {.fd = PQsocket(feed), .events = POLLIN};
		if (poll(&p, 1, 300) > 0) {
			r = next_row(feed);
			check_columns(r, format);
			PQclear(r);
			break;
		}
		ck_assert_msg(now_s() < end, "the feed sent nothing");
	}
	/* Live rows now come one per change. */
	char maxsql[128];
	snprintf(maxsql, sizeof maxsql, "SELECT max(id) FROM %s", t);
	r = PQexec(w, maxsql);
	int next = atoi(PQgetvalue(r, 0, 0)) + 1;
	PQclear(r);
	/* Skip rows of earlier probe inserts still queued. */
	for (int i = 1; i < next - 1; i++)
		PQclear(next_row(feed));
	expect_insert(feed, w, t, next);
	expect_insert(feed, w, t, next + 1);
	/* It is listed as running, with its text (§2.5). */
	r = PQexec(w, "SELECT query_id, query FROM [SHOW CLUSTER STATEMENTS] "
		   "WHERE query LIKE 'EXPERIMENTAL CHANGEFEED%'");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 1), sql);
	PQclear(r);
	char *stats = control("stats");
	ck_assert_ptr_nonnull(strstr(stats, " feeds=1 "));
	free(stats);
	ck_assert_msg(crdb_conn_cancel(cc, &err) == 0, "%s", err.message);
	expect_canceled(feed);
	crdb_conn_free(cc);
	free(dsn);
	PQfinish(w);
}

START_TEST(text_rows_cancel_request)
{
	feed_rows_and_cancel(0, "23.1.11");
}
END_TEST

START_TEST(binary_rows_cancel_request)
{
	feed_rows_and_cancel(1, "23.1.11");
}
END_TEST

START_TEST(text_rows_cancel_query_old_version)
{
	feed_rows_and_cancel(0, "21.2.10");
}
END_TEST

START_TEST(binary_rows_cancel_query_old_version)
{
	feed_rows_and_cancel(1, "21.2.10");
}
END_TEST

START_TEST(describe_before_execution)
{
	PGconn *c = connect_sim();
	setup_table(c, "wf_desc");
	PGresult *r = PQprepare(c, "cf", "CREATE CHANGEFEED FOR TABLE wf_desc WITH cursor = $1",
				1, NULL);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(r);
	r = PQdescribePrepared(c, "cf");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	ck_assert_int_eq(PQnparams(r), 1);
	check_columns(r, 0);
	PQclear(r);
	exec_ok(c, "SELECT 1");
	PQfinish(c);
}
END_TEST

START_TEST(complete_tag_initial_scan_only)
{
	PGconn *c = connect_sim();
	setup_table(c, "wf_only");
	exec_ok(c, "INSERT INTO wf_only VALUES (1, 'a'), (2, 'b'), (3, 'c')");
	for (int format = 0; format < 2; format++) {
		start_feed(c, "CREATE CHANGEFEED FOR TABLE wf_only WITH initial_scan = 'only'",
			   format);
		int rows = 0;
		PGresult *r;
		char tag[64] = "";
		while ((r = next_result(c))) {
			ExecStatusType st = PQresultStatus(r);
			if (st == PGRES_SINGLE_TUPLE)
				rows++;
			else if (st == PGRES_TUPLES_OK)
				snprintf(tag, sizeof tag, "%s", PQcmdStatus(r));
			else
				ck_abort_msg("%s", PQresultErrorMessage(r));
			PQclear(r);
		}
		ck_assert_int_eq(rows, 3);
		/* §2.4: EXPERIMENTAL CHANGEFEED <rows>. */
		ck_assert_str_eq(tag, "EXPERIMENTAL CHANGEFEED 3");
		ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_IDLE);
	}
	PQfinish(c);
}
END_TEST

START_TEST(errors_keep_session)
{
	PGconn *c = connect_sim();
	setup_table(c, "wf_err");
	/* A missing table and bad options fail the statement, not the
	 * session, in both protocols. */
	for (int format = 0; format < 2; format++) {
		static const char *const bad[] = {
			"CREATE CHANGEFEED FOR TABLE wf_no_such_table",
			"CREATE CHANGEFEED FOR TABLE wf_err WITH format = 'nope'",
		};
		for (int i = 0; i < 2; i++) {
			start_feed(c, bad[i], format);
			PGresult *r;
			bool failed = false;
			while ((r = next_result(c))) {
				if (PQresultStatus(r) == PGRES_FATAL_ERROR)
					failed = true;
				PQclear(r);
			}
			ck_assert_msg(failed, "%s did not fail", bad[i]);
			ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_IDLE);
			exec_ok(c, "SELECT 1");
		}
	}
	/* Rangefeeds off: the §7 error. */
	exec_ok(c, "SET CLUSTER SETTING kv.rangefeed.enabled = false");
	PGresult *r = PQexec(c, "EXPERIMENTAL CHANGEFEED FOR wf_err");
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	ck_assert_ptr_nonnull(strstr(PQresultErrorMessage(r),
				     "rangefeeds require the kv.rangefeed.enabled setting"));
	PQclear(r);
	exec_ok(c, "SET CLUSTER SETTING kv.rangefeed.enabled = true");
	PQfinish(c);
}
END_TEST

/* A running feed on a new connection, past its first row. */
static PGconn *running_feed(PGconn *w, const char *table)
{
	PGconn *feed = connect_sim();
	char sql[128];
	snprintf(sql, sizeof sql, "EXPERIMENTAL CHANGEFEED FOR %s", table);
	start_feed(feed, sql, 1);
	snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (1, 'x')", table);
	exec_ok(w, sql);
	PQclear(next_row(feed));
	return feed;
}

/* A running feed on the fresh table `table`, then the control command cmd,
 * which must reach exactly that feed. *w gets the writer's connection. */
static PGconn *feed_after_control(const char *table, const char *cmd,
				  PGconn **w)
{
	*w = connect_sim();
	setup_table(*w, table);
	PGconn *feed = running_feed(*w, table);
	char *reply = control(cmd);
	ck_assert_str_eq(reply, "ok 1");
	free(reply);
	return feed;
}

/* The feed's next result, which must be a fatal error (caller clears). */
static PGresult *fatal_result(PGconn *feed)
{
	PGresult *r = next_result(feed);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	return r;
}

START_TEST(control_close_all)
{
	PGconn *w;
	PGconn *feed = feed_after_control("wf_close", "close-all", &w);
	/* Abrupt: no error message, the connection is just gone. */
	PGresult *r = fatal_result(feed);
	ck_assert_ptr_null(PQresultErrorField(r, PG_DIAG_SQLSTATE));
	PQclear(r);
	ck_assert_int_eq(PQstatus(feed), CONNECTION_BAD);
	PQfinish(feed);
	/* Non-feed sessions are untouched. */
	exec_ok(w, "SELECT 1");
	PQfinish(w);
}
END_TEST

START_TEST(control_shutdown_feeds)
{
	PGconn *w;
	PGconn *feed = feed_after_control("wf_shut", "shutdown-feeds", &w);
	PGresult *r = fatal_result(feed);
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "57P01");
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY),
			 "server is shutting down");
	PQclear(r);
	while ((r = PQgetResult(feed)))
		PQclear(r);
	ck_assert_int_eq(PQstatus(feed), CONNECTION_BAD);
	PQfinish(feed);
	exec_ok(w, "SELECT 1");
	PQfinish(w);
}
END_TEST

START_TEST(control_fail)
{
	PGconn *w;
	PGconn *feed = feed_after_control("wf_fail",
					  "fail XXUUU injected: something broke",
					  &w);
	PGresult *r = fatal_result(feed);
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "XXUUU");
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY),
			 "injected: something broke");
	PQclear(r);
	ck_assert_ptr_null(next_result(feed));
	/* The session is idle and usable again. */
	ck_assert_int_eq(PQtransactionStatus(feed), PQTRANS_IDLE);
	exec_ok(feed, "SELECT 1");
	char *reply = control("stats");
	ck_assert_ptr_nonnull(strstr(reply, " feeds=0 "));
	free(reply);
	PQfinish(feed);
	PQfinish(w);
}
END_TEST

static unsigned long long stats_rows(void)
{
	char *r = control("stats");
	const char *p = strstr(r, " rows=");
	ck_assert_ptr_nonnull(p);
	unsigned long long n = strtoull(p + 6, NULL, 10);
	free(r);
	return n;
}

START_TEST(flow_control_slow_reader)
{
	/* 20000 rows of 4 KB (80 MB) from the firehose; a client that reads
	 * nothing for a while must hold crdbsim back (256 KiB of queued
	 * output plus the kernel's socket buffers), then get every row. */
	enum { EVENTS = 20000 };
	PGconn *c = connect_sim();
	unsigned long long before = stats_rows();
	start_feed(c, "CREATE CHANGEFEED FOR crdbsim.firehose WITH "
		   "crdbsim_events = '20000', crdbsim_size = '4000'", 1);
	usleep(700000);
	unsigned long long held = stats_rows() - before;
	ck_assert_msg(held < EVENTS / 2, "%llu rows produced for a reader that "
		      "read nothing", held);
	ck_assert_int_gt(held, 0);
	int rows = 0;
	PGresult *r;
	char tag[64] = "";
	while ((r = next_result(c))) {
		if (PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
			ck_assert_int_ge(PQgetlength(r, 0, 2), 4000 - 100);
			rows++;
		} else {
			ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s",
				      PQresultErrorMessage(r));
			snprintf(tag, sizeof tag, "%s", PQcmdStatus(r));
		}
		PQclear(r);
	}
	ck_assert_int_eq(rows, EVENTS);
	ck_assert_str_eq(tag, "EXPERIMENTAL CHANGEFEED 20000");
	ck_assert_uint_eq(stats_rows() - before, EVENTS);
	PQfinish(c);
}
END_TEST

/* The key of the next data row, as text. */
static char *next_key(PGconn *feed)
{
	PGresult *r = next_row(feed);
	size_t len;
	char *key = column_bytes(r, 1, &len);
	PQclear(r);
	return key;
}

START_TEST(control_dup)
{
	PGconn *w = connect_sim();
	setup_table(w, "wf_dup");
	PGconn *feed = running_feed(w, "wf_dup");       /* row [1] read */
	exec_ok(w, "INSERT INTO wf_dup VALUES (2, 'y')");
	char *k = next_key(feed);
	ck_assert_str_eq(k, "[2]");
	free(k);
	char *reply = control("dup 2");
	ck_assert_str_eq(reply, "ok 1");
	free(reply);
	/* The last two rows again, in their order (§9: at-least-once). */
	k = next_key(feed);
	ck_assert_str_eq(k, "[1]");
	free(k);
	k = next_key(feed);
	ck_assert_str_eq(k, "[2]");
	free(k);
	exec_ok(w, "INSERT INTO wf_dup VALUES (3, 'z')");
	k = next_key(feed);
	ck_assert_str_eq(k, "[3]");
	free(k);
	PQfinish(feed);
	PQfinish(w);
}
END_TEST

START_TEST(control_stall)
{
	PGconn *w;
	PGconn *feed = feed_after_control("wf_stall", "stall 1500", &w);
	double t0 = now_s();
	exec_ok(w, "INSERT INTO wf_stall VALUES (2, 'y')");
	char *k = next_key(feed);
	double waited = now_s() - t0;
	ck_assert_str_eq(k, "[2]");
	free(k);
	ck_assert_msg(waited >= 1.2, "row came after %.2f s of a 1.5 s stall", waited);
	PQfinish(feed);
	PQfinish(w);
}
END_TEST

/* "updated" of a wrapped value, copied into out. */
static void updated_of(const char *value, char *out, size_t len)
{
	const char *p = strstr(value, "\"updated\": \"");
	ck_assert_msg(p, "no updated in %s", value);
	p += strlen("\"updated\": \"");
	size_t n = strcspn(p, "\"");
	ck_assert_uint_lt(n, len);
	memcpy(out, p, n);
	out[n] = '\0';
}

START_TEST(cursor_resume_across_restart)
{
	/* A client resumes from the `updated` of the last row it saw, after
	 * crdbsim was killed and restarted, and gets exactly the changes made
	 * meanwhile, even those committed while crdbsim was down. */
	PGconn *w = connect_sim();
	setup_table(w, "wf_resume");
	PGconn *feed = connect_sim();
	start_feed(feed, "EXPERIMENTAL CHANGEFEED FOR wf_resume WITH updated", 1);
	exec_ok(w, "INSERT INTO wf_resume VALUES (1, 'a')");
	PGresult *r = next_row(feed);
	size_t len;
	char *value = column_bytes(r, 2, &len);
	char cursor[64];
	updated_of(value, cursor, sizeof cursor);
	free(value);
	PQclear(r);
	PQfinish(feed);
	PQfinish(w);

	char cmd[4200];
	snprintf(cmd, sizeof cmd, "%s --down-ms 200", env("CRDBSIM_RESTART"));
	/* Writes straight to PostgreSQL while crdbsim is away. */
	char pgdsn[1024];
	const char *pg = env("PG_DSN");
	const char *slash = strrchr(pg, '/');
	snprintf(pgdsn, sizeof pgdsn, "%.*s/defaultdb", (int)(slash - pg), pg);
	PGconn *direct = PQconnectdb(pgdsn);
	ck_assert_msg(PQstatus(direct) == CONNECTION_OK, "%s", PQerrorMessage(direct));
	ck_assert_int_eq(system(cmd), 0);
	exec_ok(direct, "INSERT INTO wf_resume VALUES (2, 'b')");
	exec_ok(direct, "UPDATE wf_resume SET data = 'c' WHERE id = 1");
	PQfinish(direct);

	w = connect_sim();
	feed = connect_sim();
	const char *params[1] = {cursor};
	ck_assert(PQsendQueryParams(feed, "EXPERIMENTAL CHANGEFEED FOR wf_resume "
				    "WITH cursor = $1", 1, NULL, params, NULL,
				    NULL, 1));
	ck_assert(PQsetSingleRowMode(feed));
	static const char *const want[][2] = {
		{"[2]", "{\"after\": {\"data\": \"b\", \"id\": 2}}"},
		{"[1]", "{\"after\": {\"data\": \"c\", \"id\": 1}}"},
		{"[3]", "{\"after\": {\"data\": \"d\", \"id\": 3}}"},
	};
	for (int i = 0; i < 3; i++) {
		if (i == 2)
			exec_ok(w, "INSERT INTO wf_resume VALUES (3, 'd')");
		r = next_row(feed);
		char *key = column_bytes(r, 1, &len);
		value = column_bytes(r, 2, &len);
		ck_assert_str_eq(key, want[i][0]);
		ck_assert_str_eq(value, want[i][1]);
		free(key);
		free(value);
		PQclear(r);
	}
	PQfinish(feed);
	PQfinish(w);
}
END_TEST

/*
 * kv.closed_timestamp.target_duration (doc/crdb-wire.md §3): crdbsim-env
 * starts crdbsim with its CRDBSIM_CLOSED_TS_TARGET (100ms), SHOW says so;
 * SET CLUSTER SETTING changes it, and resolved rows then trail the time
 * they arrive by at least the new target; DEFAULT gives CockroachDB's 3s.
 * (test_psycopg_resolved.py checks the default on a crdbsim without it.)
 */
START_TEST(closed_timestamp_target)
{
	PGconn *w = connect_sim();
	setup_table(w, "wf_closed");
	exec_ok(w, "INSERT INTO wf_closed VALUES (1, 'a')");
	const char *target = getenv("CRDBSIM_CLOSED_TS_TARGET");
	ck_assert_msg(target && !strcmp(target, "100ms"),
		      "crdbsim-env should export CRDBSIM_CLOSED_TS_TARGET=100ms, not %s",
		      target ? target : "(unset)");
	char *v = scalar(w, "SHOW CLUSTER SETTING kv.closed_timestamp.target_duration");
	ck_assert_str_eq(v, "00:00:00.1");
	free(v);
	PGresult *bad = PQexec(w, "SET CLUSTER SETTING "
			       "kv.closed_timestamp.target_duration = 'soon'");
	ck_assert_int_eq(PQresultStatus(bad), PGRES_FATAL_ERROR);
	ck_assert_str_eq(PQresultErrorField(bad, PG_DIAG_SQLSTATE), "22023");
	PQclear(bad);
	exec_ok(w, "SET CLUSTER SETTING kv.closed_timestamp.target_duration = '1500ms'");
	v = scalar(w, "SHOW CLUSTER SETTING kv.closed_timestamp.target_duration");
	ck_assert_str_eq(v, "00:00:01.5");
	free(v);

	PGconn *feed = connect_sim();
	start_feed(feed, "EXPERIMENTAL CHANGEFEED FOR wf_closed WITH "
		   "resolved = '100ms', min_checkpoint_frequency = '100ms'", 1);
	double end = now_s() + 3.0;
	int nresolved = 0;
	double maxlag = 0;
	while (now_s() < end) {
		PGresult *r = next_result(feed);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(PQresultStatus(r), PGRES_SINGLE_TUPLE);
		if (PQgetisnull(r, 0, 0)) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			size_t len;
			char *val = column_bytes(r, 2, &len);
			const char *p = strstr(val, "\"resolved\":\"");
			ck_assert_msg(p, "not a resolved row: %s", val);
			long long wall = atoll(p + strlen("\"resolved\":\""));
			double lag = (double)ts.tv_sec - (double)wall / 1e9 +
				     (double)ts.tv_nsec / 1e9;
			ck_assert_msg(lag >= 1.5, "resolved %s only %.3f s behind "
				      "with a 1500ms target", val, lag);
			if (lag > maxlag)
				maxlag = lag;
			nresolved++;
			free(val);
		}
		PQclear(r);
	}
	ck_assert_msg(nresolved >= 5, "only %d resolved rows in 3 s", nresolved);
	ck_assert_msg(maxlag < 3.0, "resolved %.3f s behind with a 1500ms target", maxlag);
	PQfinish(feed);
	exec_ok(w, "SET CLUSTER SETTING kv.closed_timestamp.target_duration = DEFAULT");
	v = scalar(w, "SHOW CLUSTER SETTING kv.closed_timestamp.target_duration");
	ck_assert_str_eq(v, "00:00:03");
	free(v);
	/* The tests after this one run on the same crdbsim. */
	exec_ok(w, "SET CLUSTER SETTING kv.closed_timestamp.target_duration = '100ms'");
	PQfinish(w);
}
END_TEST

static Suite *wirefeed_suite(void)
{
	Suite *s = suite_create("crdbsim wire changefeeds");
	TCase *t = tcase_create("rows");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, text_rows_cancel_request);
	tcase_add_test(t, binary_rows_cancel_request);
	tcase_add_test(t, text_rows_cancel_query_old_version);
	tcase_add_test(t, binary_rows_cancel_query_old_version);
	tcase_add_test(t, describe_before_execution);
	tcase_add_test(t, complete_tag_initial_scan_only);
	tcase_add_test(t, errors_keep_session);
	tcase_add_test(t, flow_control_slow_reader);
	tcase_add_test(t, closed_timestamp_target);
	suite_add_tcase(s, t);
	t = tcase_create("faults");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, control_close_all);
	tcase_add_test(t, control_shutdown_feeds);
	tcase_add_test(t, control_fail);
	tcase_add_test(t, control_dup);
	tcase_add_test(t, control_stall);
	/* Last: it replaces the crdbsim process. */
	tcase_add_test(t, cursor_resume_across_restart);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(wirefeed_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
