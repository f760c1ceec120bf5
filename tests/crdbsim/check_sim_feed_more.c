/*
 * check_sim_feed_more.c: more engine cases for check_sim_feed (see
 * check_sim_feed.c): resolved timestamps under writes, CDC event ops, a
 * big transaction, TRUNCATE/DROP and schema_change_policy=stop, injected
 * faults, the scan boundary under concurrent writes, flow control,
 * latency, completion and the firehose.
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



void sim_feed_add_more_tests(TCase *tc)
{
	tcase_add_test(tc, test_resolved_invariant_under_writes);
	tcase_add_test(tc, test_cdc_event_op);
	tcase_add_test(tc, test_big_transaction);
	tcase_add_test(tc, test_truncate_and_drop);
	tcase_add_test(tc, test_schema_change_stop);
	tcase_add_test(tc, test_faults);
	tcase_add_test(tc, test_scan_boundary_concurrent);
	tcase_add_test(tc, test_flow_control);
	tcase_add_test(tc, test_latency);
	tcase_add_test(tc, test_complete);
	tcase_add_test(tc, test_firehose);
}
