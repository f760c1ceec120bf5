/*
 * check_sim_feed.c: tests of crdbsim's changefeed engine (ingest.c,
 * feed.c) driven directly on an event loop against the throwaway
 * PostgreSQL of crdbsim-env (PG_DSN), in a database of their own
 * (simfeed_test) so they never disturb a crdbsim running on defaultdb.
 * Statements are built by hand (the parser has its own tests); rows are
 * collected from the simfeed_out callbacks and compared byte for byte with
 * crdb-wire.md's strings (§3, §4.3, §7).
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "feedint.h"

#define TEST_DB "simfeed_test"
#define MAXROWS 20000

struct row {
	char *table, *key, *value;
};

struct sink {
	bool started, failed, completed, blocked;
	struct simfeed_error err;
	uint64_t complete_rows;
	struct row rows[MAXROWS];
	size_t n;
	int64_t arrived_ns[MAXROWS];
	size_t max_accept;   /* flow control: accept at most this many */
};

static struct event_base *base;
static struct simfeed_engine *engine;
static char *test_dsn;
static PGconn *db;

static void on_started(void *arg) { ((struct sink *)arg)->started = true; }
static void on_notice(void *arg, const char *m) { (void)arg; (void)m; }

static void on_row(void *arg, const char *table, size_t tl, const char *key,
		   size_t kl, const char *value, size_t vl)
{
	struct sink *s = arg;

	ck_assert_uint_lt(s->n, MAXROWS);
	struct row *r = &s->rows[s->n];
	r->table = table ? strndup(table, tl) : NULL;
	r->key = key ? strndup(key, kl) : NULL;
	r->value = strndup(value, vl);
	s->arrived_ns[s->n] = sim_now_ns();
	s->n++;
}

static void on_error(void *arg, const struct simfeed_error *err)
{
	struct sink *s = arg;

	s->failed = true;
	s->err = *err;
}

static void on_complete(void *arg, uint64_t n)
{
	struct sink *s = arg;

	s->completed = true;
	s->complete_rows = n;
}

static bool can_send(void *arg)
{
	struct sink *s = arg;

	return s->max_accept == 0 || s->n < s->max_accept;
}

static struct simfeed_out sink_out(struct sink *s)
{
	struct simfeed_out o = { s, on_started, on_notice, on_row, on_error,
				 on_complete, can_send };
	return o;
}

static void sink_clear(struct sink *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->rows[i].table);
		free(s->rows[i].key);
		free(s->rows[i].value);
	}
	memset(s, 0, sizeof *s);
}

/* Run the loop until pred(arg) or timeout_ms; returns pred's value. */
static bool run_until(bool (*pred)(void *), void *arg, int timeout_ms)
{
	int64_t end = sim_now_ns() + (int64_t)timeout_ms * 1000000;
	struct timeval tick = { 0, 2000 };

	while (!pred(arg)) {
		if (sim_now_ns() > end)
			return false;
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	return true;
}

static void run_for(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static size_t want_rows;
static bool has_rows(void *arg) { return ((struct sink *)arg)->n >= want_rows; }
static bool has_ended(void *arg)
{
	struct sink *s = arg;
	return s->failed || s->completed;
}
static bool has_started(void *arg)
{
	struct sink *s = arg;
	return s->started || s->failed;
}

static void sql(const char *q)
{
	PGresult *res = PQexec(db, q);
	ExecStatusType st = PQresultStatus(res);

	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK,
		      "%s: %s", q, PQresultErrorMessage(res));
	PQclear(res);
}

/* A statement on one table of public, as the parser would build it. */
static struct simfeed_stmt *stmt_for(const char *table)
{
	struct simfeed_stmt *s = calloc(1, sizeof *s);

	ck_assert_ptr_nonnull(s);
	s->targets = calloc(1, sizeof *s->targets);
	s->ntargets = 1;
	s->targets[0].schema = strdup("public");
	s->targets[0].table = strdup(table);
	s->targets[0].display = strdup(table);
	s->min_checkpoint_ms = 30000;
	return s;
}

static struct sim_hlc hlc_of(const char *value, const char *field)
{
	json_t *j = json_loads(value, 0, NULL);
	struct sim_hlc h = { 0, 0 };
	const char *s = NULL;

	if (j) {
		json_t *v = json_object_get(j, field);
		if (!v)
			v = json_object_get(json_object_get(j, "__crdb__"), field);
		s = json_string_value(v);
	}
	if (s) {
		char *dot;
		h.wall = strtoll(s, &dot, 10);
		if (*dot == '.')
			h.logical = (int32_t)strtol(dot + 1, NULL, 10);
	}
	json_decref(j);
	return h;
}

static void setup(void)
{
	const char *pg = getenv("PG_DSN");
	char errbuf[512];

	ck_assert_msg(pg != NULL, "PG_DSN is not set (run under crdbsim-env)");
	PGconn *c = PQconnectdb(pg);
	ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
	PQclear(PQexec(c, "SELECT pg_drop_replication_slot(slot_name) FROM"
		       " pg_replication_slots WHERE slot_name = 'crdbsim_"
		       TEST_DB "'"));
	PQclear(PQexec(c, "DROP DATABASE IF EXISTS " TEST_DB " WITH (FORCE)"));
	PQfinish(c);

	size_t n = strlen(pg) + 64;
	test_dsn = malloc(n);
	/* PG_DSN is a URI ending in /postgres. */
	const char *slash = strrchr(pg, '/');
	ck_assert_ptr_nonnull(slash);
	snprintf(test_dsn, n, "%.*s/" TEST_DB, (int)(slash - pg), pg);

	base = event_base_new();
	struct simfeed_settings st = { test_dsn, true, 25LL * 3600 * 1000,
				       230111 };
	engine = simfeed_engine_new(base, &st, errbuf, sizeof errbuf);
	ck_assert_msg(engine != NULL, "engine: %s", errbuf);
	db = PQconnectdb(test_dsn);
	ck_assert_int_eq(PQstatus(db), CONNECTION_OK);
	sql("SET client_min_messages = warning");
}

static void teardown(void)
{
	simfeed_engine_free(engine);
	engine = NULL;
	event_base_free(base);
	PQfinish(db);
	free(test_dsn);
}

static struct sink sink1, sink2;

static struct simfeed *start(struct simfeed_stmt *s, struct sink *k)
{
	struct simfeed_out o = sink_out(k);
	struct simfeed *f = simfeed_start(engine, s, &o);

	ck_assert_ptr_nonnull(f);
	return f;
}

/* ---- tests ---- */

START_TEST(test_rangefeed_disabled)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY, v text)");
	simfeed_engine_set_rangefeed(engine, false);
	ck_assert(!simfeed_engine_rangefeed(engine));
	struct simfeed *f = start(stmt_for("t"), &sink1);
	ck_assert(run_until(has_ended, &sink1, 3000));
	ck_assert(!sink1.started);
	ck_assert_str_eq(sink1.err.sqlstate, "XXUUU");
	ck_assert_str_eq(sink1.err.message,
		"rangefeeds require the kv.rangefeed.enabled setting. See "
		"https://www.cockroachlabs.com/docs/v23.1/"
		"create-and-configure-changefeeds.html#enable-rangefeeds");
	simfeed_stop(f);
	simfeed_engine_set_rangefeed(engine, true);
	run_for(5);
}
END_TEST

START_TEST(test_missing_table)
{
	sink_clear(&sink1);
	struct simfeed *f = start(stmt_for("bar"), &sink1);
	ck_assert(run_until(has_ended, &sink1, 3000));
	ck_assert(!sink1.started);
	ck_assert_str_eq(sink1.err.sqlstate, "42P01");
	ck_assert_str_eq(sink1.err.message,
		"failed to resolve targets in the CHANGEFEED stmt: "
		"table \"bar\" does not exist");
	simfeed_stop(f);
	run_for(5);
}
END_TEST

/* Scan then live insert/update/delete, wrapped with updated and diff. */
START_TEST(test_scan_and_live_wrapped_diff)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY, v text)");
	sql("INSERT INTO t VALUES (1, 'a')");
	struct simfeed_stmt *s = stmt_for("t");
	s->updated = s->diff = true;
	struct simfeed *f = start(s, &sink1);
	want_rows = 1;
	ck_assert(run_until(has_rows, &sink1, 5000));
	ck_assert(sink1.started);
	char want[512];
	struct sim_hlc h = hlc_of(sink1.rows[0].value, "updated");
	char hs[48];
	sim_hlc_format(h, hs, sizeof hs);
	ck_assert_str_eq(sink1.rows[0].table, "t");
	ck_assert_str_eq(sink1.rows[0].key, "[1]");
	snprintf(want, sizeof want, "{\"after\": {\"id\": 1, \"v\": \"a\"}, "
		 "\"before\": null, \"updated\": \"%s\"}", hs);
	ck_assert_str_eq(sink1.rows[0].value, want);

	sql("UPDATE t SET v = 'b' WHERE id = 1");
	sql("DELETE FROM t WHERE id = 1");
	want_rows = 3;
	ck_assert(run_until(has_rows, &sink1, 5000));
	struct sim_hlc h1 = hlc_of(sink1.rows[1].value, "updated");
	struct sim_hlc h2 = hlc_of(sink1.rows[2].value, "updated");
	ck_assert_int_gt(sim_hlc_cmp(h1, h), 0);
	ck_assert_int_gt(sim_hlc_cmp(h2, h1), 0);
	sim_hlc_format(h1, hs, sizeof hs);
	snprintf(want, sizeof want, "{\"after\": {\"id\": 1, \"v\": \"b\"}, "
		 "\"before\": {\"id\": 1, \"v\": \"a\"}, \"updated\": \"%s\"}",
		 hs);
	ck_assert_str_eq(sink1.rows[1].value, want);
	sim_hlc_format(h2, hs, sizeof hs);
	snprintf(want, sizeof want, "{\"after\": null, "
		 "\"before\": {\"id\": 1, \"v\": \"b\"}, \"updated\": \"%s\"}",
		 hs);
	ck_assert_str_eq(sink1.rows[2].key, "[1]");
	ck_assert_str_eq(sink1.rows[2].value, want);
	ck_assert(!sink1.failed);
	simfeed_stop(f);
	run_for(5);
}
END_TEST

static bool has_resolved_after_data(void *arg)
{
	struct sink *s = arg;
	int resolved = 0;

	for (size_t i = 0; i < s->n; i++)
		if (!s->rows[i].table)
			resolved++;
	return resolved >= 3;
}

/* Resolved rows: NULL table/key, §3 payload, never backwards, and no data
 * row with a lower `updated` after a resolved row. */
START_TEST(test_resolved)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY, v text)");
	struct simfeed_stmt *s = stmt_for("t");
	s->updated = true;
	s->has_resolved = true;
	s->resolved_ms = 0;
	s->min_checkpoint_ms = 100;
	struct simfeed *f = start(s, &sink1);
	ck_assert(run_until(has_started, &sink1, 3000));
	sql("INSERT INTO t VALUES (1, 'a')");
	ck_assert(run_until(has_resolved_after_data, &sink1, 5000));
	sql("INSERT INTO t VALUES (2, 'b')");
	run_for(300);
	struct sim_hlc last = { 0, 0 };
	int64_t last_at = 0;
	size_t data = 0;
	for (size_t i = 0; i < sink1.n; i++) {
		struct row *r = &sink1.rows[i];
		if (r->table) {
			data++;
			ck_assert_int_gt(sim_hlc_cmp(hlc_of(r->value,
					"updated"), last), 0);
			continue;
		}
		ck_assert_ptr_null(r->key);
		struct sim_hlc h = hlc_of(r->value, "resolved");
		char want[96], hs[48];
		sim_hlc_format(h, hs, sizeof hs);
		snprintf(want, sizeof want, "{\"resolved\":\"%s\"}", hs);
		ck_assert_str_eq(r->value, want);
		ck_assert_int_gt(sim_hlc_cmp(h, last), 0);
		/* min_checkpoint_frequency 100 ms between resolved rows */
		if (last_at)
			ck_assert_int_ge(sink1.arrived_ns[i] - last_at,
					 99000000);
		last = h;
		last_at = sink1.arrived_ns[i];
	}
	ck_assert_uint_eq(data, 2);
	simfeed_stop(f);
	run_for(5);
}
END_TEST

/* cursor: only changes after it, no scan; also after an engine restart. */
START_TEST(test_cursor_resume_and_restart)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY, v text)");
	struct simfeed_stmt *s = stmt_for("t");
	s->updated = true;
	struct simfeed *f = start(s, &sink1);
	ck_assert(run_until(has_started, &sink1, 3000));
	sql("INSERT INTO t VALUES (1, 'a')");
	sql("INSERT INTO t VALUES (2, 'b')");
	want_rows = 2;
	ck_assert(run_until(has_rows, &sink1, 5000));
	struct sim_hlc c1 = hlc_of(sink1.rows[0].value, "updated");
	simfeed_stop(f);
	run_for(5);

	/* Restart the engine: history lives in PostgreSQL. */
	simfeed_engine_free(engine);
	char errbuf[256];
	struct simfeed_settings st = { test_dsn, true, 25LL * 3600 * 1000,
				       230111 };
	engine = simfeed_engine_new(base, &st, errbuf, sizeof errbuf);
	ck_assert_msg(engine != NULL, "%s", errbuf);
	sql("INSERT INTO t VALUES (3, 'c')");

	sink_clear(&sink2);
	s = stmt_for("t");
	s->updated = true;
	s->has_cursor = true;
	s->cursor = c1;
	f = start(s, &sink2);
	want_rows = 2;
	ck_assert_msg(run_until(has_rows, &sink2, 5000),
		      "rows %zu started %d failed %d %s", sink2.n,
		      sink2.started, sink2.failed, sink2.err.message);
	run_for(100);
	ck_assert_uint_eq(sink2.n, 2);
	ck_assert_str_eq(sink2.rows[0].key, "[2]");
	ck_assert_str_eq(sink2.rows[1].key, "[3]");
	simfeed_stop(f);
	run_for(5);
}
END_TEST

START_TEST(test_gc_threshold)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY, v text)");
	struct simfeed_stmt *s = stmt_for("t");
	s->has_cursor = true;
	s->cursor.wall = sim_now_ns() - 2000000000LL;
	ck_assert_int_eq(simfeed_gc(engine, 1000), 0);
	struct simfeed *f = start(s, &sink1);
	ck_assert(run_until(has_ended, &sink1, 3000));
	ck_assert_str_eq(sink1.err.sqlstate, "XXUUU");
	ck_assert_msg(strstr(sink1.err.message, "could not create changefeed: "
			     "cursor ") == sink1.err.message, "%s",
		      sink1.err.message);
	ck_assert_ptr_nonnull(strstr(sink1.err.message,
			" is older than the GC threshold "));
	ck_assert_ptr_nonnull(strstr(sink1.err.message,
			"must be after replica GC threshold "));
	ck_assert_str_eq(sink1.err.hint, "use a more recent cursor");
	simfeed_stop(f);
	run_for(5);
}
END_TEST

START_TEST(test_truncate_and_drop)
{
	sink_clear(&sink1);
	sink_clear(&sink2);
	sql("CREATE TABLE t (id int PRIMARY KEY)");
	sql("CREATE TABLE u (id int PRIMARY KEY)");
	struct simfeed *f1 = start(stmt_for("t"), &sink1);
	struct simfeed *f2 = start(stmt_for("u"), &sink2);
	ck_assert(run_until(has_started, &sink1, 3000));
	ck_assert(run_until(has_started, &sink2, 3000));
	run_for(50);
	sql("TRUNCATE t");
	sql("DROP TABLE u");
	ck_assert(run_until(has_ended, &sink1, 5000));
	ck_assert(run_until(has_ended, &sink2, 5000));
	ck_assert_str_eq(sink1.err.message, "\"t\" was truncated");
	ck_assert_str_eq(sink2.err.message,
			 "\"" TEST_DB ".public.u\" was dropped");
	simfeed_stop(f1);
	simfeed_stop(f2);
	run_for(5);
}
END_TEST

START_TEST(test_schema_change_stop)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY)");
	struct simfeed_stmt *s = stmt_for("t");
	s->schema_change_policy = SIM_SCHEMA_STOP;
	struct simfeed *f = start(s, &sink1);
	ck_assert(run_until(has_started, &sink1, 3000));
	run_for(50);
	sql("ALTER TABLE t ADD COLUMN w int");
	ck_assert(run_until(has_ended, &sink1, 5000));
	ck_assert_str_eq(sink1.err.sqlstate, "55C01");
	ck_assert_msg(strstr(sink1.err.message, "schema change occurred at ")
		      != NULL, "%s", sink1.err.message);
	simfeed_stop(f);
	run_for(5);
}
END_TEST

/* Faults: duplicate window, stall, fail_all. */
START_TEST(test_faults)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY)");
	struct simfeed *f = start(stmt_for("t"), &sink1);
	ck_assert(run_until(has_started, &sink1, 3000));
	sql("INSERT INTO t VALUES (1), (2), (3)");
	want_rows = 3;
	ck_assert(run_until(has_rows, &sink1, 5000));
	ck_assert_int_eq(simfeed_duplicate(engine, 2), 1);
	want_rows = 5;
	ck_assert(run_until(has_rows, &sink1, 2000));
	ck_assert_str_eq(sink1.rows[3].key, "[2]");
	ck_assert_str_eq(sink1.rows[4].key, "[3]");

	ck_assert_int_eq(simfeed_stall(engine, 300), 1);
	sql("INSERT INTO t VALUES (4)");
	run_for(200);
	ck_assert_uint_eq(sink1.n, 5);
	want_rows = 6;
	ck_assert(run_until(has_rows, &sink1, 2000));
	ck_assert_str_eq(sink1.rows[5].key, "[4]");

	ck_assert_int_eq(simfeed_fail_all(engine, "XXUUU", "boom"), 1);
	ck_assert(sink1.failed);
	ck_assert_str_eq(sink1.err.message, "boom");
	simfeed_stop(f);
	run_for(5);
}
END_TEST

static void *writer(void *arg)
{
	PGconn *c = PQconnectdb(test_dsn);
	int n = *(int *)arg;

	for (int i = 0; i < n && PQstatus(c) == CONNECTION_OK; i++) {
		char q[96];
		snprintf(q, sizeof q, "INSERT INTO big VALUES (%d)", 100000 + i);
		PQclear(PQexec(c, q));
	}
	PQfinish(c);
	return NULL;
}

/* The scan/live boundary: rows inserted while the scan runs arrive exactly
 * once (in the scan or live), none lost. */
START_TEST(test_scan_boundary_concurrent)
{
	sink_clear(&sink1);
	sql("CREATE TABLE big (id int PRIMARY KEY)");
	sql("INSERT INTO big SELECT generate_series(1, 5000)");
	int nwrites = 300;
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, writer, &nwrites), 0);
	usleep(20000);
	struct simfeed *f = start(stmt_for("big"), &sink1);
	pthread_join(th, NULL);
	want_rows = 5000 + (size_t)nwrites;
	ck_assert(run_until(has_rows, &sink1, 15000));
	run_for(200);
	ck_assert_uint_eq(sink1.n, 5000 + (size_t)nwrites);
	static unsigned char seen[200000];
	memset(seen, 0, sizeof seen);
	for (size_t i = 0; i < sink1.n; i++) {
		int id = atoi(sink1.rows[i].key + 1);
		ck_assert_int_lt(id, 200000);
		ck_assert_msg(!seen[id], "row %d twice", id);
		seen[id] = 1;
	}
	simfeed_stop(f);
	run_for(5);
}
END_TEST

/* Flow control: nothing is produced while can_send() says no. */
START_TEST(test_flow_control)
{
	sink_clear(&sink1);
	sql("CREATE TABLE big (id int PRIMARY KEY)");
	sql("INSERT INTO big SELECT generate_series(1, 2000)");
	sink1.max_accept = 10;
	struct simfeed *f = start(stmt_for("big"), &sink1);
	run_for(500);
	ck_assert_uint_eq(sink1.n, 10);
	sink1.max_accept = 0;
	simfeed_resume(f);
	want_rows = 2000;
	ck_assert(run_until(has_rows, &sink1, 10000));
	simfeed_stop(f);
	run_for(5);
}
END_TEST

/* Changes reach a running feed within 50 ms of commit. */
START_TEST(test_latency)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY)");
	struct simfeed *f = start(stmt_for("t"), &sink1);
	ck_assert(run_until(has_started, &sink1, 3000));
	run_for(50);
	int64_t worst = 0;
	for (int i = 0; i < 10; i++) {
		char q[64];
		snprintf(q, sizeof q, "INSERT INTO t VALUES (%d)", i);
		sql(q);
		int64_t committed = sim_now_ns();
		want_rows = (size_t)i + 1;
		ck_assert(run_until(has_rows, &sink1, 2000));
		int64_t lat = sink1.arrived_ns[i] - committed;
		if (lat > worst)
			worst = lat;
	}
	ck_assert_msg(worst < 50000000, "worst latency %" PRId64 " ns", worst);
	simfeed_stop(f);
	run_for(5);
}
END_TEST

/* initial_scan='only' and end_time complete with CommandComplete. */
START_TEST(test_complete)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY)");
	sql("INSERT INTO t VALUES (1), (2)");
	struct simfeed_stmt *s = stmt_for("t");
	s->initial_scan = SIM_SCAN_ONLY;
	struct simfeed *f = start(s, &sink1);
	ck_assert(run_until(has_ended, &sink1, 5000));
	ck_assert(sink1.completed);
	ck_assert_uint_eq(sink1.complete_rows, 2);
	ck_assert_uint_eq(sink1.n, 2);
	simfeed_stop(f);

	sink_clear(&sink2);
	s = stmt_for("t");
	s->initial_scan = SIM_SCAN_NO;
	s->has_end_time = true;
	s->end_time.wall = sim_now_ns() + 300000000LL;
	f = start(s, &sink2);
	ck_assert(run_until(has_started, &sink2, 3000));
	sql("INSERT INTO t VALUES (3)");
	ck_assert(run_until(has_ended, &sink2, 5000));
	ck_assert(sink2.completed);
	ck_assert_uint_eq(sink2.n, 1);
	ck_assert_str_eq(sink2.rows[0].key, "[3]");
	simfeed_stop(f);
	run_for(5);
}
END_TEST

START_TEST(test_firehose)
{
	sink_clear(&sink1);
	struct simfeed_stmt *s = stmt_for("firehose");
	s->firehose = true;
	s->firehose_events = 1000;
	s->firehose_size = 200;
	s->firehose_resolved_every = 100;
	struct simfeed *f = start(s, &sink1);
	ck_assert(run_until(has_ended, &sink1, 5000));
	ck_assert(sink1.completed);
	ck_assert_uint_eq(sink1.n, 1010);
	ck_assert_uint_eq(sink1.complete_rows, 1010);
	ck_assert_uint_eq(strlen(sink1.rows[0].value), 200);
	json_t *j = json_loads(sink1.rows[0].value, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_nonnull(json_object_get(j, "updated"));
	json_decref(j);
	ck_assert_ptr_null(sink1.rows[100].table);
	simfeed_stop(f);
	run_for(5);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_feed");
	TCase *tc = tcase_create("engine");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rangefeed_disabled);
	tcase_add_test(tc, test_missing_table);
	tcase_add_test(tc, test_scan_and_live_wrapped_diff);
	tcase_add_test(tc, test_resolved);
	tcase_add_test(tc, test_cursor_resume_and_restart);
	tcase_add_test(tc, test_gc_threshold);
	tcase_add_test(tc, test_truncate_and_drop);
	tcase_add_test(tc, test_schema_change_stop);
	tcase_add_test(tc, test_faults);
	tcase_add_test(tc, test_scan_boundary_concurrent);
	tcase_add_test(tc, test_flow_control);
	tcase_add_test(tc, test_latency);
	tcase_add_test(tc, test_complete);
	tcase_add_test(tc, test_firehose);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
