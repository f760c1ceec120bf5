/*
 * check_sim_feed.c: tests of crdbsim's changefeed engine (ingest.c,
 * feed.c) driven directly on an event loop against the throwaway
 * PostgreSQL of crdbsim-env (PG_DSN), in a database of their own
 * (simfeed_test) so they never disturb a crdbsim running on defaultdb.
 * Statements are built by hand (the parser has its own tests); rows are
 * collected from the simfeed_out callbacks and compared byte for byte with
 * crdb-wire.md's strings (§3, §4.3, §7).
 *
 * The "wire" cases go through crdbsim itself (CRDB_DSN, CRDBSIM_CONTROL,
 * crdbsim-restart) with libpq in single-row mode, text and binary result
 * formats, and libcrdb's crdb_event_decode; envelope cases are data in
 * cases/sim_feed_envelopes.txt.
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

#define TEST_DB "simfeed_test"
#define MAXROWS 40000

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
	bool skip_resolved;  /* count resolved rows, keep only data rows */
	size_t resolved_seen;
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
static struct simfeed *start_live(struct simfeed_stmt *s, struct sink *k)
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


static void *t_writer(void *arg)
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

/* Under a stream of writes, every data row's updated is above every
 * resolved row sent before it (§3), and resolved rows only go forward. */
START_TEST(test_resolved_invariant_under_writes)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY)");
	struct simfeed_stmt *s = stmt_for("t");
	s->updated = true;
	s->initial_scan = SIM_SCAN_NO;
	s->has_resolved = true;
	s->resolved_ms = 0;
	s->min_checkpoint_ms = 5;
	struct simfeed *f = start(s, &sink1);
	ck_assert(run_until(has_started, &sink1, 3000));
	run_for(50);
	int n = 400;
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, t_writer, &n), 0);
	size_t data = 0;
	int64_t end = sim_now_ns() + 20000000000LL;
	while (sim_now_ns() < end) {
		run_for(20);
		data = 0;
		for (size_t i = 0; i < sink1.n; i++)
			data += sink1.rows[i].table != NULL;
		if (data >= (size_t)n)
			break;
	}
	pthread_join(th, NULL);
	ck_assert_uint_eq(data, (size_t)n);
	struct sim_hlc resolved = { 0, 0 };
	size_t nresolved = 0;
	for (size_t i = 0; i < sink1.n; i++) {
		struct row *r = &sink1.rows[i];
		if (r->table) {
			ck_assert_int_gt(sim_hlc_cmp(hlc_of(r->value,
					"updated"), resolved), 0);
		} else {
			struct sim_hlc h = hlc_of(r->value, "resolved");
			ck_assert_int_gt(sim_hlc_cmp(h, resolved), 0);
			resolved = h;
			nresolved++;
		}
	}
	ck_assert_uint_gt(nresolved, 5);
	simfeed_stop(f);
	run_for(5);
}
END_TEST


/* CDC query with event_op() in the projection and the WHERE clause; a
 * delete keeps the key and NULLs the rest (§1.3). */
START_TEST(test_cdc_event_op)
{
	sink_clear(&sink1);
	sql("CREATE TABLE ev (a int PRIMARY KEY, b text)");
	struct simfeed_stmt *s = stmt_for("ev");
	s->query = strdup("SELECT a, b, event_op() AS op FROM ev"
			  " WHERE event_op() <> 'update'");
	s->query_columns = calloc(3, sizeof *s->query_columns);
	s->query_columns[0] = strdup("a");
	s->query_columns[1] = strdup("b");
	s->query_columns[2] = strdup("event_op() AS op");
	s->nquery_columns = 3;
	s->query_where = strdup("event_op() <> 'update'");
	s->envelope = SIM_ENV_BARE;
	s->diff = true;
	struct simfeed *f = start_live(s, &sink1);
	sql("INSERT INTO ev VALUES (2, 'y')");
	sql("UPDATE ev SET b = 'z' WHERE a = 2");
	sql("DELETE FROM ev WHERE a = 2");
	want_rows = 2;
	ck_assert(run_until(has_rows, &sink1, 5000));
	run_for(100);
	ck_assert_uint_eq(sink1.n, 2);
	ck_assert_str_eq(sink1.rows[0].key, "[2]");
	ck_assert_str_eq(sink1.rows[0].value,
			 "{\"a\": 2, \"b\": \"y\", \"op\": \"insert\"}");
	ck_assert_str_eq(sink1.rows[1].key, "[2]");
	ck_assert_str_eq(sink1.rows[1].value,
			 "{\"a\": 2, \"b\": null, \"op\": \"delete\"}");
	simfeed_stop(f);
	run_for(5);
}
END_TEST


/* A big transaction (30000 rows in one INSERT) flows quickly: its first
 * rows reach the feed well before the whole of it. */
START_TEST(test_big_transaction)
{
	sink_clear(&sink1);
	sql("CREATE TABLE t (id int PRIMARY KEY, pad text)");
	struct simfeed *f = start_live(stmt_for("t"), &sink1);
	int64_t t0 = sim_now_ns();
	sql("INSERT INTO t SELECT g, repeat('x', 80)"
	    " FROM generate_series(1, 30000) g");
	int64_t committed = sim_now_ns();
	want_rows = 1;
	ck_assert(run_until(has_rows, &sink1, 10000));
	int64_t first = sink1.arrived_ns[0];
	want_rows = 30000;
	ck_assert_msg(run_until(has_rows, &sink1, 30000), "%zu rows after "
		      "%.0f ms (first after %.0f ms)", sink1.n,
		      (sim_now_ns() - committed) / 1e6,
		      (first - committed) / 1e6);
	int64_t last = sink1.arrived_ns[29999];
	printf("%s: insert %.0f ms, first row %.0f ms, all %.0f ms after "
	       "commit\n", __func__, (committed - t0) / 1e6,
	       (first - committed) / 1e6, (last - committed) / 1e6);
	ck_assert_msg(first - committed < 10000000000LL, "first row after "
		      "%.0f ms", (first - committed) / 1e6);
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
	struct simfeed *f = start_live(stmt_for("t"), &sink1);
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
	struct simfeed *f = start_live(stmt_for("t"), &sink1);
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
	printf("%s: worst commit-to-row latency %.1f ms\n", __func__,
	       worst / 1e6);
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


/* ================================================================== */
/* Through crdbsim's wire: libpq + libcrdb against CRDB_DSN            */
/* ================================================================== */

static const char *env_or_fail(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v && *v, "%s is not set (run under crdbsim-env with "
		      "crdbsim)", name);
	return v;
}

static PGconn *crdb(void)
{
	PGconn *c = PQconnectdb(env_or_fail("CRDB_DSN"));

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	return c;
}

static void crdb_sql(PGconn *c, const char *q)
{
	PGresult *res = PQexec(c, q);
	ExecStatusType st = PQresultStatus(res);

	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK,
		      "%s: %s", q, PQresultErrorMessage(res));
	PQclear(res);
}

/* One command on crdbsim's control socket; its reply line. */
static void control(const char *cmd, char *reply, size_t len)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s",
		 env_or_fail("CRDBSIM_CONTROL"));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	char line[256];
	snprintf(line, sizeof line, "%s\n", cmd);
	ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	size_t n = 0;
	while (n + 1 < len && read(fd, reply + n, 1) == 1 && reply[n] != '\n')
		n++;
	reply[n] = '\0';
	close(fd);
}

struct wev {
	enum { WEV_ROW, WEV_ERROR, WEV_DONE, WEV_TIMEOUT } kind;
	bool null_table, null_key;
	char table[256];
	char *key, *value;         /* raw bytes (text format decoded) */
	size_t key_len, value_len;
	char text_value[4096];     /* the value column as sent (text fmt) */
	char sqlstate[6], message[512];
	crdb_event ev;
	int64_t at_ns;
};

static void wev_clear(struct wev *w)
{
	free(w->key);
	free(w->value);
	crdb_event_clear(&w->ev);
	memset(w, 0, sizeof *w);
}

static void feed_send(PGconn *c, const char *q, int format)
{
	ck_assert_msg(PQsendQueryParams(c, q, 0, NULL, NULL, NULL, NULL,
					format), "%s", PQerrorMessage(c));
	ck_assert(PQsetSingleRowMode(c));
}

static char *col_bytes(PGresult *res, int col, int format, size_t *len)
{
	if (PQgetisnull(res, 0, col)) {
		*len = 0;
		return NULL;
	}
	const char *v = PQgetvalue(res, 0, col);
	if (format == 1) {
		*len = (size_t)PQgetlength(res, 0, col);
		char *p = malloc(*len + 1);
		memcpy(p, v, *len);
		p[*len] = '\0';
		return p;
	}
	ck_assert_msg(v[0] == '\\' && v[1] == 'x', "text bytea: %s", v);
	size_t n = strlen(v + 2) / 2;
	char *p = malloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned int b;
		ck_assert(sscanf(v + 2 + 2 * i, "%2x", &b) == 1);
		ck_assert_msg(!isupper((unsigned char)v[2 + 2 * i]) &&
			      !isupper((unsigned char)v[3 + 2 * i]),
			      "hex must be lower case: %s", v);
		p[i] = (char)b;
	}
	p[n] = '\0';
	*len = n;
	return p;
}

/* The next thing the feed connection delivers, within timeout_ms. */
static void feed_next(PGconn *c, int format, int timeout_ms,
		      const crdb_decode_opts *opts, struct wev *w)
{
	int64_t end = sim_now_ns() + (int64_t)timeout_ms * 1000000;

	wev_clear(w);
	while (PQisBusy(c)) {
		int64_t left = end - sim_now_ns();
		if (left <= 0) {
			w->kind = WEV_TIMEOUT;
			return;
		}
		struct pollfd pfd = { PQsocket(c), POLLIN, 0 };
		poll(&pfd, 1, (int)(left / 1000000) + 1);
		ck_assert(PQconsumeInput(c));
	}
	w->at_ns = sim_now_ns();
	PGresult *res = PQgetResult(c);
	if (!res) {
		w->kind = WEV_DONE;
		return;
	}
	switch (PQresultStatus(res)) {
	case PGRES_SINGLE_TUPLE: {
		w->kind = WEV_ROW;
		ck_assert_int_eq(PQnfields(res), 3);
		w->null_table = PQgetisnull(res, 0, 0);
		w->null_key = PQgetisnull(res, 0, 1);
		snprintf(w->table, sizeof w->table, "%s",
			 PQgetvalue(res, 0, 0));
		w->key = col_bytes(res, 1, format, &w->key_len);
		w->value = col_bytes(res, 2, format, &w->value_len);
		snprintf(w->text_value, sizeof w->text_value, "%s",
			 PQgetvalue(res, 0, 2));
		crdb_error err;
		crdb_decode_opts o = { CRDB_ENVELOPE_WRAPPED, false };
		ck_assert_msg(crdb_event_decode(res, opts ? opts : &o, &w->ev,
						&err) == 0,
			      "crdb_event_decode: %s", err.message);
		break;
	}
	case PGRES_TUPLES_OK:
		w->kind = WEV_DONE;
		snprintf(w->message, sizeof w->message, "%s",
			 PQcmdStatus(res));
		break;
	default:
		w->kind = WEV_ERROR;
		snprintf(w->sqlstate, sizeof w->sqlstate, "%s",
			 PQresultErrorField(res, PG_DIAG_SQLSTATE) ?
			 PQresultErrorField(res, PG_DIAG_SQLSTATE) : "");
		snprintf(w->message, sizeof w->message, "%s",
			 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
			 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "");
		break;
	}
	PQclear(res);
}

/* The next data row, skipping resolved rows. */
static void feed_next_data(PGconn *c, int format, int timeout_ms,
			   struct wev *w)
{
	do
		feed_next(c, format, timeout_ms, NULL, w);
	while (w->kind == WEV_ROW && w->null_table);
}

/* Wait for a feed's first resolved row: it is live from then on. */
static void feed_wait_live(PGconn *c, int format)
{
	struct wev w;

	memset(&w, 0, sizeof w);
	feed_next(c, format, 5000, NULL, &w);
	ck_assert_msg(w.kind == WEV_ROW && w.null_table,
		      "want a resolved row first: %d %s", w.kind, w.message);
	wev_clear(&w);
}

static void feed_close(PGconn *c)
{
	PGcancel *k = PQgetCancel(c);
	char errbuf[128];

	if (k) {
		PQcancel(k, errbuf, sizeof errbuf);
		PQfreeCancel(k);
	}
	PQfinish(c);
}

static void wire_setup(void)
{
	PGconn *c = crdb();

	crdb_sql(c, "SET CLUSTER SETTING kv.rangefeed.enabled = true");
	PQfinish(c);
}

/* Replace {t} and {ts} in a case string. */
static void expand(const char *in, const char *t, const char *ts, char *out,
		   size_t len)
{
	size_t o = 0;

	while (*in && o + 1 < len) {
		if (!strncmp(in, "{ts}", 4)) {
			o += (size_t)snprintf(out + o, len - o, "%s", ts);
			in += 4;
		} else if (!strncmp(in, "{t}", 3)) {
			o += (size_t)snprintf(out + o, len - o, "%s", t);
			in += 3;
		} else {
			out[o++] = *in++;
		}
	}
	out[o < len ? o : len - 1] = '\0';
}

static void event_ts(const struct wev *w, char *buf, size_t len)
{
	crdb_hlc h = w->ev.has_updated ? w->ev.updated : w->ev.mvcc_timestamp;
	struct sim_hlc s = { h.wall, h.logical };

	sim_hlc_format(s, buf, len);
}

static void check_value(const struct wev *w, const char *want_case,
			const char *t, int format)
{
	char ts[48], want[2048];

	ck_assert_int_eq(w->kind, WEV_ROW);
	event_ts(w, ts, sizeof ts);
	if (!strcmp(want_case, "(empty)"))
		want[0] = '\0';
	else
		expand(want_case, t, ts, want, sizeof want);
	ck_assert_msg(w->value_len == strlen(want) &&
		      !memcmp(w->value, want, w->value_len),
		      "format %d: got '%s', want '%s'", format, w->value, want);
	if (format == 0) {
		/* §2.3: text bytea is \x and lower-case hex. */
		char hex[4200];
		size_t o = 0;
		o += (size_t)snprintf(hex, sizeof hex, "\\x");
		for (size_t i = 0; want[i] && o + 3 < sizeof hex; i++)
			o += (size_t)snprintf(hex + o, sizeof hex - o, "%02x",
					      (unsigned char)want[i]);
		ck_assert_str_eq(w->text_value, hex);
	}
}

static int envelope_case;

static void run_envelope_case(char **f, int lineno)
{
	for (int format = 0; format <= 1; format++) {
		char t[64], q[1024];
		PGconn *w = crdb();
		snprintf(t, sizeof t, "env_%d_%d", lineno, format);
		snprintf(q, sizeof q, "CREATE TABLE %s (a integer PRIMARY KEY,"
			 " b text)", t);
		crdb_sql(w, q);
		snprintf(q, sizeof q, "INSERT INTO %s VALUES (1, 'bar')", t);
		crdb_sql(w, q);
		if (!strcmp(f[0], "-"))
			snprintf(q, sizeof q, "CREATE CHANGEFEED FOR TABLE %s", t);
		else
			snprintf(q, sizeof q, "CREATE CHANGEFEED FOR TABLE %s "
				 "WITH %s", t, f[0]);
		PGconn *c = crdb();
		feed_send(c, q, format);
		struct wev ev;
		memset(&ev, 0, sizeof ev);
		crdb_decode_opts o = { CRDB_ENVELOPE_WRAPPED, false };
		if (strstr(f[0], "'row'"))
			o.envelope = CRDB_ENVELOPE_ROW;
		if (strstr(f[0], "key_only"))
			o.envelope = CRDB_ENVELOPE_KEY_ONLY;
		if (strstr(f[0], "'bare'"))
			o.envelope = CRDB_ENVELOPE_BARE;
		o.diff = strstr(f[0], "diff") != NULL;
		feed_next(c, format, 5000, &o, &ev);
		ck_assert_msg(ev.kind == WEV_ROW, "case %d: %d %s", lineno,
			      ev.kind, ev.message);
		char table[256];
		expand(f[1], t, "", table, sizeof table);
		ck_assert_str_eq(ev.table, table);
		ck_assert_uint_eq(ev.key_len, 3);
		ck_assert(!memcmp(ev.key, "[1]", 3));
		check_value(&ev, f[2], t, format);

		snprintf(q, sizeof q, "DELETE FROM %s WHERE a = 1", t);
		crdb_sql(w, q);
		feed_next(c, format, 5000, &o, &ev);
		ck_assert_msg(ev.kind == WEV_ROW, "case %d delete: %d %s",
			      lineno, ev.kind, ev.message);
		ck_assert(ev.key_len == 3 && !memcmp(ev.key, "[1]", 3));
		check_value(&ev, f[3], t, format);
		wev_clear(&ev);
		feed_close(c);
		PQfinish(w);
		envelope_case++;
	}
}

START_TEST(wire_envelopes)
{
	char path[4096], line[4096];
	const char *top = getenv("top_srcdir");

	wire_setup();
	snprintf(path, sizeof path, "%s/tests/crdbsim/cases/"
		 "sim_feed_envelopes.txt", top ? top : ".");
	FILE *fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s", path);
	int lineno = 0;
	while (fgets(line, sizeof line, fp)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		char *f[4];
		int n = 0;
		for (char *p = line; n < 4; n++) {
			f[n] = p;
			p = strchr(p, '\t');
			if (!p)
				break;
			*p++ = '\0';
		}
		ck_assert_msg(n == 3, "line %d: want 4 fields", lineno);
		run_envelope_case(f, lineno);
	}
	fclose(fp);
	ck_assert_int_ge(envelope_case, 2 * 14);
}
END_TEST

/* Resolved rows on the wire: NULL table and key, §3 payloads. */
START_TEST(wire_resolved)
{
	wire_setup();
	PGconn *w = crdb();
	crdb_sql(w, "CREATE TABLE res (a integer PRIMARY KEY)");
	const char *cases[2][3] = {
		{ "", "{\"resolved\":\"", "\"}" },
		{ ", envelope='row'", "{\"__crdb__\":{\"resolved\":\"", "\"}}" },
	};
	for (int i = 0; i < 2; i++) {
		for (int format = 0; format <= 1; format++) {
			char q[256];
			snprintf(q, sizeof q, "CREATE CHANGEFEED FOR TABLE res "
				 "WITH resolved='100ms', "
				 "min_checkpoint_frequency='100ms'%s",
				 cases[i][0]);
			PGconn *c = crdb();
			feed_send(c, q, format);
			crdb_decode_opts o = { i ? CRDB_ENVELOPE_ROW :
					       CRDB_ENVELOPE_WRAPPED, false };
			struct wev ev;
			memset(&ev, 0, sizeof ev);
			crdb_hlc last = { 0, 0 };
			for (int k = 0; k < 3; k++) {
				feed_next(c, format, 3000, &o, &ev);
				ck_assert_int_eq(ev.kind, WEV_ROW);
				ck_assert(ev.null_table && ev.null_key);
				ck_assert_int_eq(ev.ev.kind,
						 CRDB_EVENT_RESOLVED);
				struct sim_hlc h = { ev.ev.resolved.wall,
						     ev.ev.resolved.logical };
				char hs[48], want[128];
				sim_hlc_format(h, hs, sizeof hs);
				snprintf(want, sizeof want, "%s%s%s",
					 cases[i][1], hs, cases[i][2]);
				ck_assert_str_eq(ev.value, want);
				struct sim_hlc l = { last.wall, last.logical };
				ck_assert(sim_hlc_cmp(h, l) > 0);
				last = ev.ev.resolved;
			}
			wev_clear(&ev);
			feed_close(c);
		}
	}
	PQfinish(w);
}
END_TEST

/* Missing table (42P01) and rangefeeds off (§7). */
START_TEST(wire_errors)
{
	wire_setup();
	PGconn *c = crdb();
	struct wev ev;
	memset(&ev, 0, sizeof ev);
	feed_send(c, "CREATE CHANGEFEED FOR TABLE no_such_table", 1);
	feed_next(c, 1, 3000, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_ERROR);
	ck_assert_str_eq(ev.sqlstate, "42P01");
	ck_assert_str_eq(ev.message, "failed to resolve targets in the "
			 "CHANGEFEED stmt: table \"no_such_table\" does not "
			 "exist");
	while (PQgetResult(c))
		;
	crdb_sql(c, "CREATE TABLE rf (a integer PRIMARY KEY)");
	crdb_sql(c, "SET CLUSTER SETTING kv.rangefeed.enabled = false");
	feed_send(c, "CREATE CHANGEFEED FOR TABLE rf", 0);
	feed_next(c, 0, 3000, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_ERROR);
	ck_assert_str_eq(ev.sqlstate, "XXUUU");
	ck_assert_str_eq(ev.message, "rangefeeds require the "
			 "kv.rangefeed.enabled setting. See https://www."
			 "cockroachlabs.com/docs/v23.1/create-and-configure-"
			 "changefeeds.html#enable-rangefeeds");
	while (PQgetResult(c))
		;
	crdb_sql(c, "SET CLUSTER SETTING kv.rangefeed.enabled = true");
	wev_clear(&ev);
	PQfinish(c);
}
END_TEST

/* cursor= resumes exactly after a change, also across a crdbsim restart;
 * a cursor below the GC threshold fails with §7's text. */
START_TEST(wire_cursor_restart_gc)
{
	wire_setup();
	PGconn *w = crdb();
	crdb_sql(w, "CREATE TABLE cur (a integer PRIMARY KEY)");
	PGconn *c = crdb();
	/* Live writes (no scan), so each has its own commit HLC. */
	feed_send(c, "CREATE CHANGEFEED FOR TABLE cur WITH updated, "
		  "initial_scan='no', resolved='10ms', "
		  "min_checkpoint_frequency='10ms'", 1);
	feed_wait_live(c, 1);
	crdb_sql(w, "INSERT INTO cur VALUES (1)");
	crdb_sql(w, "INSERT INTO cur VALUES (2)");
	struct wev ev;
	memset(&ev, 0, sizeof ev);
	feed_next_data(c, 1, 5000, &ev);
	ck_assert_int_eq(ev.kind, WEV_ROW);
	ck_assert(ev.key_len == 3 && !memcmp(ev.key, "[1]", 3));
	char cursor[48];
	struct sim_hlc h1 = { ev.ev.updated.wall, ev.ev.updated.logical };
	sim_hlc_format(h1, cursor, sizeof cursor);
	feed_close(c);
	PQfinish(w);

	char cmd[4200];
	const char *top = getenv("top_srcdir");
	snprintf(cmd, sizeof cmd, "%s/tests/crdbsim/crdbsim-restart",
		 top ? top : ".");
	ck_assert_int_eq(system(cmd), 0);
	wire_setup();
	w = crdb();
	crdb_sql(w, "INSERT INTO cur VALUES (3)");
	c = crdb();
	const char *params[1] = { cursor };
	ck_assert(PQsendQueryParams(c, "CREATE CHANGEFEED FOR TABLE cur WITH "
				    "updated, cursor=$1", 1, NULL, params,
				    NULL, NULL, 1));
	ck_assert(PQsetSingleRowMode(c));
	feed_next(c, 1, 5000, NULL, &ev);
	ck_assert_msg(ev.kind == WEV_ROW, "%d %s", ev.kind, ev.message);
	ck_assert(ev.key_len == 3 && !memcmp(ev.key, "[2]", 3));
	feed_next(c, 1, 5000, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_ROW);
	ck_assert(ev.key_len == 3 && !memcmp(ev.key, "[3]", 3));
	feed_next(c, 1, 300, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_TIMEOUT);
	feed_close(c);

	char reply[128];
	control("gc 0", reply, sizeof reply);
	ck_assert_str_eq(reply, "ok 0");
	c = crdb();
	ck_assert(PQsendQueryParams(c, "CREATE CHANGEFEED FOR TABLE cur WITH "
				    "cursor=$1", 1, NULL, params, NULL, NULL,
				    1));
	ck_assert(PQsetSingleRowMode(c));
	feed_next(c, 1, 5000, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_ERROR);
	ck_assert_str_eq(ev.sqlstate, "XXUUU");
	char want[128];
	snprintf(want, sizeof want, "could not create changefeed: cursor %s "
		 "is older than the GC threshold ", cursor);
	ck_assert_msg(!strncmp(ev.message, want, strlen(want)), "%s",
		      ev.message);
	ck_assert_ptr_nonnull(strstr(ev.message, ": batch timestamp "));
	ck_assert_ptr_nonnull(strstr(ev.message,
				     " must be after replica GC threshold "));
	wev_clear(&ev);
	PQfinish(c);
	PQfinish(w);
}
END_TEST

/* Feed faults from the control socket: dup, stall, fail. */
START_TEST(wire_faults)
{
	wire_setup();
	PGconn *w = crdb();
	crdb_sql(w, "CREATE TABLE flt (a integer PRIMARY KEY)");
	PGconn *c = crdb();
	feed_send(c, "CREATE CHANGEFEED FOR TABLE flt", 1);
	crdb_sql(w, "INSERT INTO flt VALUES (1), (2)");
	struct wev ev;
	memset(&ev, 0, sizeof ev);
	feed_next(c, 1, 5000, NULL, &ev);
	feed_next(c, 1, 5000, NULL, &ev);
	ck_assert(ev.kind == WEV_ROW && !memcmp(ev.key, "[2]", 3));
	char reply[128];
	control("dup 2", reply, sizeof reply);
	ck_assert_str_eq(reply, "ok 1");
	feed_next(c, 1, 2000, NULL, &ev);
	ck_assert(ev.kind == WEV_ROW && !memcmp(ev.key, "[1]", 3));
	feed_next(c, 1, 2000, NULL, &ev);
	ck_assert(ev.kind == WEV_ROW && !memcmp(ev.key, "[2]", 3));

	control("stall 500", reply, sizeof reply);
	ck_assert_str_eq(reply, "ok 1");
	int64_t t0 = sim_now_ns();
	crdb_sql(w, "INSERT INTO flt VALUES (3)");
	feed_next(c, 1, 3000, NULL, &ev);
	ck_assert(ev.kind == WEV_ROW && !memcmp(ev.key, "[3]", 3));
	ck_assert_int_ge(ev.at_ns - t0, 400000000);

	control("fail XXUUU boom: the node went away", reply, sizeof reply);
	ck_assert_str_eq(reply, "ok 1");
	feed_next(c, 1, 2000, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_ERROR);
	ck_assert_str_eq(ev.sqlstate, "XXUUU");
	ck_assert_str_eq(ev.message, "boom: the node went away");
	wev_clear(&ev);
	PQfinish(c);
	PQfinish(w);
}
END_TEST

static void *wire_writer(void *arg)
{
	PGconn *c = PQconnectdb(getenv("CRDB_DSN"));
	int n = *(int *)arg;

	for (int i = 0; i < n && PQstatus(c) == CONNECTION_OK; i++) {
		char q[96];
		snprintf(q, sizeof q, "INSERT INTO bnd VALUES (%d)",
			 100000 + i);
		PQclear(PQexec(c, q));
	}
	PQfinish(c);
	return NULL;
}

/* Scan/live boundary under concurrent writes, through the wire; and
 * changes reaching the client within 50 ms of commit. */
START_TEST(wire_boundary_and_latency)
{
	wire_setup();
	PGconn *w = crdb();
	crdb_sql(w, "CREATE TABLE bnd (a integer PRIMARY KEY)");
	crdb_sql(w, "INSERT INTO bnd SELECT generate_series(1, 3000)");
	int nwrites = 200;
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, wire_writer, &nwrites), 0);
	usleep(10000);
	PGconn *c = crdb();
	feed_send(c, "CREATE CHANGEFEED FOR TABLE bnd", 1);
	static unsigned char seen[200000];
	memset(seen, 0, sizeof seen);
	struct wev ev;
	memset(&ev, 0, sizeof ev);
	for (int i = 0; i < 3000 + nwrites; i++) {
		feed_next(c, 1, 10000, NULL, &ev);
		ck_assert_msg(ev.kind == WEV_ROW, "row %d: %d", i, ev.kind);
		int id = atoi(ev.key + 1);
		ck_assert(id > 0 && id < 200000);
		ck_assert_msg(!seen[id], "row %d twice", id);
		seen[id] = 1;
	}
	pthread_join(th, NULL);
	feed_next(c, 1, 300, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_TIMEOUT);

	int64_t worst = 0;
	for (int i = 0; i < 10; i++) {
		char q[64];
		snprintf(q, sizeof q, "INSERT INTO bnd VALUES (%d)", 150000 + i);
		crdb_sql(w, q);
		int64_t committed = sim_now_ns();
		feed_next(c, 1, 2000, NULL, &ev);
		ck_assert_int_eq(ev.kind, WEV_ROW);
		if (ev.at_ns - committed > worst)
			worst = ev.at_ns - committed;
	}
	printf("%s: worst commit-to-row latency %.1f ms\n", __func__,
	       worst / 1e6);
	ck_assert_msg(worst < 50000000, "worst latency %" PRId64 " ns", worst);
	wev_clear(&ev);
	feed_close(c);
	PQfinish(w);
}
END_TEST


/* CDC query (projection, WHERE, bare envelope), initial_scan='only' with
 * its CommandComplete tag, TRUNCATE, DROP and schema_change_policy='stop'
 * endings (§1.3, §2.4, §7). */
START_TEST(wire_cdc_and_endings)
{
	wire_setup();
	PGconn *w = crdb();
	crdb_sql(w, "CREATE TABLE cdc (a integer PRIMARY KEY, b text)");
	crdb_sql(w, "INSERT INTO cdc VALUES (1, 'x'), (2, 'y')");
	struct wev ev;
	memset(&ev, 0, sizeof ev);
	char want[256], ts[48];

	PGconn *c = crdb();
	feed_send(c, "CREATE CHANGEFEED WITH updated AS SELECT b, a + 1 AS c"
		  " FROM cdc WHERE a > 1", 0);
	crdb_decode_opts bare = { CRDB_ENVELOPE_BARE, false };
	feed_next(c, 0, 5000, &bare, &ev);
	ck_assert_msg(ev.kind == WEV_ROW, "%d %s", ev.kind, ev.message);
	ck_assert_str_eq(ev.table, "cdc");
	ck_assert(ev.key_len == 3 && !memcmp(ev.key, "[2]", 3));
	event_ts(&ev, ts, sizeof ts);
	snprintf(want, sizeof want, "{\"__crdb__\": {\"updated\": \"%s\"}, "
		 "\"b\": \"y\", \"c\": 3}", ts);
	ck_assert_str_eq(ev.value, want);
	crdb_sql(w, "INSERT INTO cdc VALUES (0, 'no'), (5, 'z')");
	feed_next(c, 0, 5000, &bare, &ev);
	ck_assert(ev.kind == WEV_ROW && ev.key_len == 3 &&
		  !memcmp(ev.key, "[5]", 3));
	event_ts(&ev, ts, sizeof ts);
	snprintf(want, sizeof want, "{\"__crdb__\": {\"updated\": \"%s\"}, "
		 "\"b\": \"z\", \"c\": 6}", ts);
	ck_assert_str_eq(ev.value, want);
	feed_close(c);

	c = crdb();
	feed_send(c, "CREATE CHANGEFEED FOR TABLE cdc WITH initial_scan='only'",
		  1);
	for (int i = 0; i < 4; i++) {
		feed_next(c, 1, 5000, NULL, &ev);
		ck_assert_int_eq(ev.kind, WEV_ROW);
	}
	feed_next(c, 1, 5000, NULL, &ev);
	ck_assert_int_eq(ev.kind, WEV_DONE);
	ck_assert_str_eq(ev.message, "EXPERIMENTAL CHANGEFEED 4");
	PQfinish(c);

	const char *endings[3][3] = {
		{ "", "TRUNCATE cdc", "\"cdc\" was truncated" },
		{ ", schema_change_policy='stop'",
		  "ALTER TABLE cdc ADD COLUMN d integer", NULL },
		{ "", "DROP TABLE cdc", "\"defaultdb.public.cdc\" was dropped" },
	};
	for (int i = 0; i < 3; i++) {
		char q[256];
		c = crdb();
		snprintf(q, sizeof q, "CREATE CHANGEFEED FOR TABLE cdc WITH "
			 "initial_scan='no', resolved='10ms', "
			 "min_checkpoint_frequency='10ms'%s", endings[i][0]);
		feed_send(c, q, 1);
		feed_wait_live(c, 1);
		crdb_sql(w, endings[i][1]);
		feed_next_data(c, 1, 5000, &ev);
		ck_assert_msg(ev.kind == WEV_ERROR, "%s: %d", endings[i][1],
			      ev.kind);
		if (endings[i][2]) {
			ck_assert_str_eq(ev.sqlstate, "XXUUU");
			ck_assert_str_eq(ev.message, endings[i][2]);
		} else {
			ck_assert_str_eq(ev.sqlstate, "55C01");
			ck_assert_msg(strstr(ev.message, "schema change occurred "
					     "at ") != NULL, "%s", ev.message);
		}
		PQfinish(c);
	}
	wev_clear(&ev);
	PQfinish(w);
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
	tcase_add_test(tc, test_key_change);
	tcase_add_test(tc, test_gc_midstream);
	tcase_add_test(tc, test_stream_reconnect);
	tcase_add_test(tc, test_multiple_targets);
	tcase_add_test(tc, test_scan_matches_live_types);
	tcase_add_test(tc, test_unchanged_toast);
	tcase_add_test(tc, test_txn_coalesce);
	tcase_add_test(tc, test_resolved_invariant_under_writes);
	tcase_add_test(tc, test_cdc_event_op);
	tcase_add_test(tc, test_big_transaction);
	tcase_add_test(tc, test_truncate_and_drop);
	tcase_add_test(tc, test_schema_change_stop);
	tcase_add_test(tc, test_schema_change_backfill);
	tcase_add_test(tc, test_faults);
	tcase_add_test(tc, test_scan_boundary_concurrent);
	tcase_add_test(tc, test_flow_control);
	tcase_add_test(tc, test_latency);
	tcase_add_test(tc, test_complete);
	tcase_add_test(tc, test_firehose);
	suite_add_tcase(s, tc);

	tc = tcase_create("wire");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, wire_envelopes);
	tcase_add_test(tc, wire_resolved);
	tcase_add_test(tc, wire_errors);
	tcase_add_test(tc, wire_cursor_restart_gc);
	tcase_add_test(tc, wire_faults);
	tcase_add_test(tc, wire_boundary_and_latency);
	tcase_add_test(tc, wire_cdc_and_endings);
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
