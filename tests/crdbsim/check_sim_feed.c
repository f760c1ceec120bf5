/*
 * check_sim_feed.c: tests of crdbsim's changefeed engine (ingest*.c,
 * sim_feed*.c) driven directly on an event loop against the throwaway
 * PostgreSQL of crdbsim-env (PG_DSN), in a database of their own
 * (simfeed_test) so they never disturb a crdbsim running on defaultdb.
 * Statements are built by hand (the parser has its own tests); rows are
 * collected from the simfeed_out callbacks and compared byte for byte with
 * doc/crdb-wire.md's strings (§3, §4.3, §7).
 *
 * This file holds the shared sink and fixture, the scan, live, resolved,
 * cursor, GC and schema cases, and the suite; check_sim_feed_more.c has
 * the faults, flow control, latency, completion and firehose cases, and
 * check_sim_feed_wire.c the same engine seen through crdbsim's wire.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "crdb.h"
#include "feedint.h"
#include "check_sim_feed.h"


static struct event_base *base;
struct simfeed_engine *engine;
char *test_dsn;
static PGconn *db;

static void on_started(void *arg) { ((struct sink *)arg)->started = true; }
static void on_notice(void *arg, const char *m) { (void)arg; (void)m; }

static void on_row(void *arg, const char *table, size_t tl, const char *key,
		   size_t kl, const char *value, size_t vl)
{
	struct sink *s = arg;

	ck_assert_uint_lt(s->n, MAXROWS);
	if (!table && s->skip_resolved) {
		s->resolved_seen++;
		return;
	}
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

bool can_send(void *arg)
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

void sink_clear(struct sink *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->rows[i].table);
		free(s->rows[i].key);
		free(s->rows[i].value);
	}
	memset(s, 0, sizeof *s);
}

/* Run the loop until pred(arg) or timeout_ms; returns pred's value. */
bool run_until(bool (*pred)(void *), void *arg, int timeout_ms)
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

void run_for(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

size_t want_rows;
bool has_rows(void *arg) { return ((struct sink *)arg)->n >= want_rows; }
bool has_ended(void *arg)
{
	struct sink *s = arg;
	return s->failed || s->completed;
}
bool has_started(void *arg)
{
	struct sink *s = arg;
	return s->started || s->failed;
}

void sql(const char *q)
{
	PGresult *res = PQexec(db, q);
	ExecStatusType st = PQresultStatus(res);

	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK,
		      "%s: %s", q, PQresultErrorMessage(res));
	PQclear(res);
}

/* A statement on one table of public, as the parser would build it. */
struct simfeed_stmt *stmt_for(const char *table)
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

struct sim_hlc hlc_of(const char *value, const char *field)
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
	/* No closed-timestamp lag (0): the cases time resolved rows
	 * themselves; test_closed_timestamp sets one. */
	struct simfeed_settings st = { test_dsn, true, 25LL * 3600 * 1000,
				       230111, 0 };
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

struct sink sink1, sink2;

static bool has_resolved_row(void *arg)
{
	struct sink *s = arg;
	return s->resolved_seen > 0 || s->failed;
}

/*
 * Start a feed without initial scan and wait until it is live (its first
 * resolved row), so that later writes are live changes with their own
 * commit HLCs; resolved rows are then counted, not stored.
 */
struct simfeed *start_live(struct simfeed_stmt *s, struct sink *k)
{
	struct simfeed_out o = sink_out(k);

	s->initial_scan = SIM_SCAN_NO;
	s->has_resolved = true;
	s->resolved_ms = 0;
	s->min_checkpoint_ms = 10;
	k->skip_resolved = true;
	struct simfeed *f = simfeed_start(engine, s, &o);
	ck_assert_ptr_nonnull(f);
	ck_assert(run_until(has_resolved_row, k, 5000));
	ck_assert(!k->failed);
	return f;
}

struct simfeed *start(struct simfeed_stmt *s, struct sink *k)
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

/*
 * Resolved rows never pass the closed timestamp, now minus
 * kv.closed_timestamp.target_duration (doc/crdb-wire.md §3); data rows do
 * not wait for it, and an end_time feed completes only once the closed
 * timestamp has passed end_time.
 */
START_TEST(test_closed_timestamp)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY)");
	simfeed_engine_set_closed_ts_target(engine, 1500);
	ck_assert_int_eq(simfeed_engine_closed_ts_target(engine), 1500);
	struct simfeed_stmt *s = stmt_for("t");
	s->has_resolved = true;
	s->resolved_ms = 0;
	s->min_checkpoint_ms = 50;
	s->initial_scan = SIM_SCAN_NO;
	struct simfeed *f = start(s, &sink1);
	ck_assert(run_until(has_started, &sink1, 3000));
	int64_t t0 = sim_now_ns();
	sql("INSERT INTO t VALUES (1)");
	want_rows = 1;
	ck_assert(run_until(has_rows, &sink1, 5000));
	ck_assert_ptr_nonnull(sink1.rows[0].table);
	ck_assert_int_lt(sink1.arrived_ns[0] - t0, 1000000000);
	run_for(2500);
	size_t resolved = 0;
	for (size_t i = 0; i < sink1.n; i++) {
		if (sink1.rows[i].table)
			continue;
		struct sim_hlc h = hlc_of(sink1.rows[i].value, "resolved");
		ck_assert_msg(sink1.arrived_ns[i] - h.wall >= 1500000000LL,
			      "resolved %s only %.3f s behind", sink1.rows[i].value,
			      (sink1.arrived_ns[i] - h.wall) / 1e9);
		resolved++;
	}
	ck_assert_uint_ge(resolved, 3);
	simfeed_stop(f);
	run_for(5);

	/* end_time: complete once the closed timestamp reached it. */
	sink_clear(&sink1);
	s = stmt_for("t");
	s->initial_scan = SIM_SCAN_NO;
	s->has_end_time = true;
	s->end_time.wall = sim_now_ns();
	s->end_time.logical = 0;
	int64_t end_wall = s->end_time.wall;
	f = start(s, &sink1);
	ck_assert(run_until(has_ended, &sink1, 10000));
	ck_assert(sink1.completed);
	ck_assert_int_ge(sim_now_ns() - end_wall, 1500000000LL);
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
	struct simfeed *f = start_live(s, &sink1);
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
	/* No closed-timestamp lag (0): the cases time resolved rows
	 * themselves; test_closed_timestamp sets one. */
	struct simfeed_settings st = { test_dsn, true, 25LL * 3600 * 1000,
				       230111, 0 };
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
		      "rows %zu started %d failed %d %s first %s", sink2.n,
		      sink2.started, sink2.failed, sink2.err.message,
		      sink2.n ? sink2.rows[0].key : "-");
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


/* An UPDATE of the primary key is a delete of the old key and an insert
 * of the new one, as CockroachDB stores rows by key. */
START_TEST(test_key_change)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY, v text)");
	struct simfeed_stmt *s = stmt_for("t");
	s->diff = true;
	struct simfeed *f = start_live(s, &sink1);
	sql("INSERT INTO t VALUES (1, 'a')");
	sql("UPDATE t SET id = 2 WHERE id = 1");
	want_rows = 3;
	ck_assert(run_until(has_rows, &sink1, 5000));
	ck_assert_str_eq(sink1.rows[1].key, "[1]");
	ck_assert_str_eq(sink1.rows[1].value, "{\"after\": null, \"before\": "
			 "{\"id\": 1, \"v\": \"a\"}}");
	ck_assert_str_eq(sink1.rows[2].key, "[2]");
	ck_assert_str_eq(sink1.rows[2].value, "{\"after\": {\"id\": 2, "
			 "\"v\": \"a\"}, \"before\": null}");
	simfeed_stop(f);
	run_for(5);
}
END_TEST

/* A feed with unread history below a new GC threshold fails (§7). */
START_TEST(test_gc_midstream)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY)");
	struct simfeed *f = start_live(stmt_for("t"), &sink1);
	ck_assert_int_eq(simfeed_stall(engine, 10000), 1);
	sql("INSERT INTO t VALUES (1)");
	run_for(200);
	ck_assert_uint_eq(sink1.n, 0);
	ck_assert_int_eq(simfeed_gc(engine, 0), 0);
	ck_assert(run_until(has_ended, &sink1, 2000));
	ck_assert_str_eq(sink1.err.sqlstate, "XXUUU");
	ck_assert_msg(strstr(sink1.err.message, "must be after replica GC "
			     "threshold") != NULL, "%s", sink1.err.message);
	simfeed_stop(f);
	run_for(5);
}
END_TEST


/* The replication connection breaks (walsender terminated): the engine
 * reconnects and nothing is lost. */
START_TEST(test_stream_reconnect)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY)");
	struct simfeed *f = start_live(stmt_for("t"), &sink1);
	sql("INSERT INTO t VALUES (1)");
	sql("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
	    " WHERE slot_name = 'crdbsim_" TEST_DB "' AND active_pid IS NOT NULL");
	sql("INSERT INTO t VALUES (2)");
	want_rows = 2;
	ck_assert(run_until(has_rows, &sink1, 8000));
	sql("INSERT INTO t VALUES (3)");
	want_rows = 3;
	ck_assert(run_until(has_rows, &sink1, 8000));
	run_for(100);
	ck_assert_uint_eq(sink1.n, 3);
	for (int i = 0; i < 3; i++) {
		char want[8];
		snprintf(want, sizeof want, "[%d]", i + 1);
		ck_assert_str_eq(sink1.rows[i].key, want);
	}
	simfeed_stop(f);
	run_for(5);
}
END_TEST


/* schema_change_policy: backfill (default) re-emits the table in the new
 * schema at the change's HLC (§9); nobackfill does not. */
START_TEST(test_schema_change_backfill)
{
	sink_clear(&sink1);
	sink_clear(&sink2);
	sql("CREATE TABLE t (id int PRIMARY KEY)");
	struct simfeed_stmt *s = stmt_for("t");
	s->updated = true;
	struct simfeed *f1 = start_live(s, &sink1);
	s = stmt_for("t");
	s->schema_change_policy = SIM_SCHEMA_NOBACKFILL;
	struct simfeed *f2 = start_live(s, &sink2);
	sql("INSERT INTO t VALUES (1), (2)");
	want_rows = 2;
	ck_assert(run_until(has_rows, &sink1, 5000));
	sql("ALTER TABLE t ADD COLUMN w int DEFAULT 7");
	sql("INSERT INTO t VALUES (3, 8)");
	want_rows = 5;
	ck_assert(run_until(has_rows, &sink1, 5000));
	want_rows = 3;
	ck_assert(run_until(has_rows, &sink2, 5000));
	run_for(100);
	ck_assert_uint_eq(sink1.n, 5);
	ck_assert_uint_eq(sink2.n, 3);
	struct sim_hlc b1 = hlc_of(sink1.rows[2].value, "updated");
	struct sim_hlc b2 = hlc_of(sink1.rows[3].value, "updated");
	ck_assert_int_eq(sim_hlc_cmp(b1, b2), 0);
	ck_assert_int_gt(sim_hlc_cmp(b1, hlc_of(sink1.rows[1].value,
						"updated")), 0);
	char hs[48], want[160];
	sim_hlc_format(b1, hs, sizeof hs);
	snprintf(want, sizeof want, "{\"after\": {\"id\": 1, \"w\": 7}, "
		 "\"updated\": \"%s\"}", hs);
	ck_assert_str_eq(sink1.rows[2].value, want);
	ck_assert_str_eq(sink1.rows[3].key, "[2]");
	ck_assert_str_eq(sink1.rows[4].key, "[3]");
	/* Row 3 comes in the backfill (PostgreSQL cannot scan as of the
	 * change, so the backfill shows the table when it ran) or live. */
	ck_assert_int_ge(sim_hlc_cmp(hlc_of(sink1.rows[4].value, "updated"),
				     b1), 0);
	ck_assert_str_eq(sink2.rows[2].key, "[3]");
	ck_assert_str_eq(sink2.rows[2].value,
			 "{\"after\": {\"id\": 3, \"w\": 8}}");
	simfeed_stop(f1);
	simfeed_stop(f2);
	run_for(5);
}
END_TEST


/* Several targets: each scanned (more than one FETCH for the big one),
 * then live changes of both, with their own table names. */
START_TEST(test_multiple_targets)
{
	sink_clear(&sink1);
	sql("CREATE TABLE a (id int PRIMARY KEY)");
	sql("CREATE TABLE b (k text, n int, PRIMARY KEY (n, k))");
	sql("INSERT INTO a SELECT generate_series(1, 1200)");
	sql("INSERT INTO b VALUES ('x', 1)");
	struct simfeed_stmt *s = calloc(1, sizeof *s);
	s->targets = calloc(2, sizeof *s->targets);
	s->ntargets = 2;
	s->targets[0].schema = strdup("public");
	s->targets[0].table = strdup("a");
	s->targets[0].display = strdup("a");
	s->targets[1].schema = strdup("public");
	s->targets[1].table = strdup("b");
	s->targets[1].display = strdup("defaultdb.public.b");
	s->min_checkpoint_ms = 30000;
	struct simfeed *f = start(s, &sink1);
	want_rows = 1201;
	ck_assert(run_until(has_rows, &sink1, 10000));
	sql("INSERT INTO b VALUES ('y', 2)");
	sql("DELETE FROM a WHERE id = 7");
	want_rows = 1203;
	ck_assert(run_until(has_rows, &sink1, 5000));
	size_t na = 0, nb = 0;
	for (size_t i = 0; i < 1201; i++) {
		if (!strcmp(sink1.rows[i].table, "a"))
			na++;
		else if (!strcmp(sink1.rows[i].table, "defaultdb.public.b"))
			nb++;
	}
	ck_assert_uint_eq(na, 1200);
	ck_assert_uint_eq(nb, 1);
	/* Key in primary-key order (n, k), not column order. */
	ck_assert_str_eq(sink1.rows[1201].key, "[2, \"y\"]");
	ck_assert_str_eq(sink1.rows[1201].value,
			 "{\"after\": {\"k\": \"y\", \"n\": 2}}");
	ck_assert_str_eq(sink1.rows[1202].table, "a");
	ck_assert_str_eq(sink1.rows[1202].key, "[7]");
	ck_assert_str_eq(sink1.rows[1202].value, "{\"after\": null}");
	simfeed_stop(f);
	run_for(5);
}
END_TEST


/* A scanned row renders exactly like the same row arriving live: the scan
 * rebuilds wal2json's value forms from PostgreSQL's text output. */
START_TEST(test_scan_matches_live_types)
{
	static const char cols[] =
		"a int2, b int4, c int8, d numeric(10,2), e float8, f bool,"
		" g text, h varchar(5), i bytea, j date, k timestamp,"
		" l timestamptz, m interval, n uuid, o jsonb, p int[], q text[],"
		" r inet, s time, t numeric, u float4, v char(3)";
	static const char vals[] =
		"1, 2, 9007199254740993, 22.30, 1.5e-7, true, 'x\"y\\z\n',"
		" 'abc', '\\x00ff', '2024-01-02', '2024-01-02 03:04:05.5',"
		" '2024-01-02 03:04:05.123456+02', '1 year 2 days 03:04:05',"
		" 'e2cfe34d-4ca8-420b-ae70-64a9a799e282', '{\"b\": [1, null]}',"
		" '{1,NULL,2}', '{\"a b\",NULL}', '192.168.1.1/24', '03:04:05.123',"
		" 'NaN', 'Infinity', 'ab'";
	char q[1024];

	sink_clear(&sink1);
	snprintf(q, sizeof q, "CREATE TABLE ty (id int PRIMARY KEY, %s)", cols);
	sql(q);
	snprintf(q, sizeof q, "INSERT INTO ty VALUES (1, %s)", vals);
	sql(q);
	struct simfeed *f = start(stmt_for("ty"), &sink1);
	want_rows = 1;
	ck_assert(run_until(has_rows, &sink1, 5000));
	run_for(50);
	snprintf(q, sizeof q, "INSERT INTO ty VALUES (2, %s)", vals);
	sql(q);
	want_rows = 2;
	ck_assert(run_until(has_rows, &sink1, 5000));
	ck_assert_str_eq(sink1.rows[0].key, "[1]");
	ck_assert_str_eq(sink1.rows[1].key, "[2]");
	/* Same bytes apart from the id. */
	const char *a = strstr(sink1.rows[0].value, "\"id\": 1");
	const char *b = strstr(sink1.rows[1].value, "\"id\": 2");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(a - sink1.rows[0].value, b - sink1.rows[1].value);
	ck_assert_str_eq(a + 7, b + 7);
	ck_assert(!strncmp(sink1.rows[0].value, sink1.rows[1].value,
			   (size_t)(a - sink1.rows[0].value)));
	simfeed_stop(f);
	run_for(5);
}
END_TEST


/* An UPDATE that leaves a TOASTed column alone still shows it in after. */
START_TEST(test_unchanged_toast)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY, big text, v int)");
	struct simfeed_stmt *s = stmt_for("t");
	s->diff = true;
	struct simfeed *f = start_live(s, &sink1);
	sql("INSERT INTO t SELECT 1, string_agg(md5(i::text), '') , 0"
	    " FROM generate_series(1, 400) AS i");
	sql("UPDATE t SET v = 1 WHERE id = 1");
	want_rows = 2;
	ck_assert(run_until(has_rows, &sink1, 5000));
	json_t *ins = json_loads(sink1.rows[0].value, 0, NULL);
	json_t *upd = json_loads(sink1.rows[1].value, 0, NULL);
	ck_assert_ptr_nonnull(ins);
	ck_assert_ptr_nonnull(upd);
	const char *big0 = json_string_value(json_object_get(
		json_object_get(ins, "after"), "big"));
	const char *big1 = json_string_value(json_object_get(
		json_object_get(upd, "after"), "big"));
	ck_assert_ptr_nonnull(big0);
	ck_assert_uint_eq(strlen(big0), 400 * 32);
	ck_assert_ptr_nonnull(big1);
	ck_assert_str_eq(big0, big1);
	ck_assert_int_eq(json_integer_value(json_object_get(
		json_object_get(upd, "after"), "v")), 1);
	json_decref(ins);
	json_decref(upd);
	simfeed_stop(f);
	run_for(5);
}
END_TEST


/* §9: several writes to one row in one transaction give one event with
 * the last version (and the pre-transaction row as before). */
START_TEST(test_txn_coalesce)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY, v text)");
	sql("INSERT INTO t VALUES (2, 'two'), (4, 'four')");
	struct simfeed_stmt *s = stmt_for("t");
	s->diff = true;
	struct simfeed *f = start_live(s, &sink1);
	sql("BEGIN");
	sql("INSERT INTO t VALUES (1, 'a')");
	sql("UPDATE t SET v = 'b' WHERE id = 1");
	sql("UPDATE t SET v = 'x' WHERE id = 2");
	sql("UPDATE t SET v = 'y' WHERE id = 2");
	sql("INSERT INTO t VALUES (3, 'gone')");
	sql("DELETE FROM t WHERE id = 3");
	sql("DELETE FROM t WHERE id = 4");
	sql("INSERT INTO t VALUES (4, 'again')");
	sql("UPDATE t SET v = 'c' WHERE id = 1");
	sql("COMMIT");
	sql("INSERT INTO t VALUES (9, 'end')");
	want_rows = 4;
	ck_assert(run_until(has_rows, &sink1, 5000));
	run_for(100);
	ck_assert_uint_eq(sink1.n, 4);
	ck_assert_str_eq(sink1.rows[0].key, "[2]");
	ck_assert_str_eq(sink1.rows[0].value, "{\"after\": {\"id\": 2, \"v\": "
			 "\"y\"}, \"before\": {\"id\": 2, \"v\": \"two\"}}");
	ck_assert_str_eq(sink1.rows[1].key, "[4]");
	ck_assert_str_eq(sink1.rows[1].value, "{\"after\": {\"id\": 4, \"v\": "
			 "\"again\"}, \"before\": {\"id\": 4, \"v\": \"four\"}}");
	ck_assert_str_eq(sink1.rows[2].key, "[1]");
	ck_assert_str_eq(sink1.rows[2].value, "{\"after\": {\"id\": 1, \"v\": "
			 "\"c\"}, \"before\": null}");
	ck_assert_str_eq(sink1.rows[3].key, "[9]");
	simfeed_stop(f);
	run_for(5);
}
END_TEST


void *t_writer(void *arg)
{
	PGconn *c = PQconnectdb(test_dsn);
	int n = *(int *)arg;

	for (int i = 0; i < n && PQstatus(c) == CONNECTION_OK; i++) {
		char q[96];
		snprintf(q, sizeof q, "INSERT INTO t VALUES (%d)", i + 1);
		PQclear(PQexec(c, q));
	}
	PQfinish(c);
	return NULL;
}

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
	tcase_add_test(tc, test_closed_timestamp);
	tcase_add_test(tc, test_cursor_resume_and_restart);
	tcase_add_test(tc, test_gc_threshold);
	tcase_add_test(tc, test_key_change);
	tcase_add_test(tc, test_gc_midstream);
	tcase_add_test(tc, test_stream_reconnect);
	tcase_add_test(tc, test_multiple_targets);
	tcase_add_test(tc, test_scan_matches_live_types);
	tcase_add_test(tc, test_unchanged_toast);
	tcase_add_test(tc, test_txn_coalesce);
	tcase_add_test(tc, test_schema_change_backfill);
	sim_feed_add_more_tests(tc);
	suite_add_tcase(s, tc);

	sim_feed_add_wire_tests(s);
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
