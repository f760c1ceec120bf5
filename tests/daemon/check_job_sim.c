/*
 * check_job_sim.c: the job manager (job.h) against crdbsim's changefeed
 * jobs (under crdbsim-env, CRDB_DSN): it creates the job INTO the feed's
 * endpoint and records its id; a restart finds the same job, and so does
 * a restart whose id file was lost (the crash between CREATE's answer and
 * the write): never a second job; job_id = adopts a job; pause, resume
 * and cancel map to the job; a reconfiguration alters it; a job that
 * fails is reported with CockroachDB's reason, and one cancelled by
 * someone else fails the feed; crdbsim killed and restarted is a
 * reconnect, not a failure. The endpoint itself is not needed: a job
 * whose sink does not answer keeps running and retrying (§16.5).
 */
#include <config.h>

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/clock.h"
#include "daemon/job_int.h"

#define S(text) ((char *)(text))

static struct event_base *base;
static PGconn *db;
static char dir[256], id_path[320];

/* What the owner callbacks saw. */
static struct job_status seen;
static int changes, failures, disconnects;
static char failure[600];

static void on_changed(void *arg, const struct job_status *st)
{
	(void)arg;
	if (seen.connected && !st->connected)
		disconnects++;
	seen = *st;
	changes++;
}

static void on_failed(void *arg, const char *reason)
{
	(void)arg;
	snprintf(failure, sizeof(failure), "%s", reason);
	failures++;
}

static const struct job_owner owner = { on_changed, on_failed, NULL };

static PGresult *query(const char *sql)
{
	PGresult *res = PQexec(db, sql);
	ExecStatusType s = PQresultStatus(res);
	ck_assert_msg(s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK, "%s: %s", sql,
		      PQresultErrorMessage(res));
	return res;
}

static void exec_ok(const char *sql)
{
	PQclear(query(sql));
}

/* How many unfinished jobs post to the path (what a second CREATE would
 * have made two). */
static int jobs_posting_to(const char *path)
{
	PGresult *res = query("SHOW CHANGEFEED JOBS");
	int col = PQfnumber(res, "sink_uri"), scol = PQfnumber(res, "status"), n = 0;
	ck_assert(col >= 0 && scol >= 0);
	for (int r = 0; r < PQntuples(res); r++) {
		const char *uri = PQgetvalue(res, r, col);
		const char *p = strstr(uri, path);
		if (p && (p[strlen(path)] == '\0' || p[strlen(path)] == '?') &&
		    !job_status_final(PQgetvalue(res, r, scol)))
			n++;
	}
	PQclear(res);
	return n;
}

static char *tables1[] = { S("jt1") };
static char *tables2[] = { S("jt1"), S("jt2") };

static struct job_config config(const char *path)
{
	struct job_config c = {
		.who = "feed check",
		.conninfo = getenv("CRDB_DSN"),
		.id_path = id_path,
		.tables = tables1, .ntables = 1,
		.resolved_ms = 200,
		.advertise = "127.0.0.1:9", .path = path,
		.authorization = "Bearer check-token", .client_timeout_ms = 1000,
		.poll_ms = 100, .backoff_initial_ms = 50, .backoff_max_ms = 200,
	};
	return c;
}

/* Run the loop until the status says want (or, want NULL, a failure). */
static void run_until(const char *want, double secs)
{
	int64_t end = clock_mono_ms() + (int64_t)(secs * 1000);
	while (want ? strcmp(seen.status, want) != 0 : failures == 0) {
		ck_assert_msg(clock_mono_ms() < end,
			      "waited %.0f s for %s: status \"%s\", job %" PRId64 ", problem \"%s\", failure \"%s\"",
			      secs, want ? want : "a failure", seen.status, seen.job_id,
			      seen.last_problem, failure);
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(2000);
	}
}

static struct job *start(const struct job_config *c)
{
	char errbuf[300];
	struct job *job = job_new(base, c, &owner, errbuf, sizeof(errbuf));
	ck_assert_msg(job, "%s", errbuf);
	memset(&seen, 0, sizeof(seen));
	failures = 0;
	failure[0] = '\0';
	job_start(job);
	return job;
}

static void setup(void)
{
	const char *dsn = getenv("CRDB_DSN");
	const char *tmp = getenv("TMPDIR");

	ck_assert_msg(dsn && *dsn, "CRDB_DSN is not set: run under tests/crdbsim/crdbsim-env");
	db = PQconnectdb(dsn);
	ck_assert_msg(PQstatus(db) == CONNECTION_OK, "%s", PQerrorMessage(db));
	exec_ok("SET CLUSTER SETTING kv.rangefeed.enabled = true");
	exec_ok("DROP TABLE IF EXISTS jt1");
	exec_ok("DROP TABLE IF EXISTS jt2");
	exec_ok("CREATE TABLE jt1 (id INT PRIMARY KEY, v TEXT)");
	exec_ok("CREATE TABLE jt2 (id INT PRIMARY KEY, v TEXT)");
	snprintf(dir, sizeof(dir), "%s/check_job_sim.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(id_path, sizeof(id_path), "%s/check.job", dir);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
}

static void teardown(void)
{
	char cmd[300];
	event_base_free(base);
	PQfinish(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_create_find_control)
{
	struct job_config c = config("/crdbfeed/check1");
	char errbuf[300];
	int64_t id, stored;

	/* created, and its id recorded */
	struct job *job = start(&c);
	ck_assert_int_eq(job_request(job, JOB_PAUSE, errbuf, sizeof(errbuf)), -1);
	ck_assert_str_eq(errbuf, "feed check: there is no changefeed job yet");
	run_until("running", 10);
	id = seen.job_id;
	ck_assert(id > 0 && seen.connected);
	ck_assert_int_eq(job_idfile_read(id_path, &stored, errbuf, sizeof(errbuf)), 1);
	ck_assert(stored == id);
	ck_assert_int_eq(jobs_posting_to("/crdbfeed/check1"), 1);
	job_free(job);

	/* a restart finds it from the id file */
	job = start(&c);
	run_until("running", 10);
	ck_assert(seen.job_id == id);
	job_free(job);
	ck_assert_int_eq(jobs_posting_to("/crdbfeed/check1"), 1);

	/* the id file lost (a crash right after CREATE): found by endpoint */
	ck_assert_int_eq(unlink(id_path), 0);
	job = start(&c);
	run_until("running", 10);
	ck_assert(seen.job_id == id);
	ck_assert_int_eq(jobs_posting_to("/crdbfeed/check1"), 1);
	ck_assert_int_eq(job_idfile_read(id_path, &stored, errbuf, sizeof(errbuf)), 1);
	ck_assert(stored == id);

	/* pause and resume map to the job */
	ck_assert_int_eq(job_request(job, JOB_PAUSE, errbuf, sizeof(errbuf)), 0);
	run_until("paused", 10);
	ck_assert_int_eq(job_request(job, JOB_RESUME, errbuf, sizeof(errbuf)), 0);
	run_until("running", 10);

	/* a reconfiguration: PAUSE, ALTER CHANGEFEED ADD, RESUME */
	struct job_config c2 = c;
	c2.tables = tables2;
	c2.ntables = 2;
	ck_assert_int_eq(job_reconfigure(job, &c2, errbuf, sizeof(errbuf)), 0);
	int64_t end = clock_mono_ms() + 10000;
	for (;;) {
		char sql[80];
		snprintf(sql, sizeof(sql), "SHOW CHANGEFEED JOB %" PRId64, id);
		PGresult *res = query(sql);
		int col = PQfnumber(res, "full_table_names");
		bool added = col >= 0 && strstr(PQgetvalue(res, 0, col), "jt2");
		PQclear(res);
		if (added && strcmp(seen.status, "running") == 0)
			break;
		ck_assert_msg(clock_mono_ms() < end, "the job was not altered: status %s, problem %s",
			      seen.status, seen.last_problem);
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(2000);
	}
	/* ALTER cannot change the initial scan: refused, nothing queued */
	struct feed_option scan[] = { { S("initial_scan"), S("yes") } };
	struct job_config c3 = c2;
	c3.options = scan;
	c3.noptions = 1;
	ck_assert_int_eq(job_reconfigure(job, &c3, errbuf, sizeof(errbuf)), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "cannot alter option \"initial_scan\""));

	/* our own cancel ends the job without failing the feed */
	ck_assert_int_eq(job_request(job, JOB_CANCEL, errbuf, sizeof(errbuf)), 0);
	run_until("canceled", 10);
	ck_assert_int_eq(failures, 0);
	job_free(job);
	ck_assert_int_eq(jobs_posting_to("/crdbfeed/check1"), 0);

	/* the status never shows the authorization */
	ck_assert_ptr_null(strstr(seen.last_problem, "check-token"));
}
END_TEST

START_TEST(test_adopt_and_failures)
{
	struct job_config c = config("/crdbfeed/check2");
	char sql[120];

	struct job *job = start(&c);
	run_until("running", 10);
	int64_t id = seen.job_id;
	job_free(job);

	/* job_id = adopts it: no id file, no search, no CREATE */
	struct job_config a = config("/crdbfeed/other");
	a.id_path = NULL;
	a.adopt_job_id = id;
	job = start(&a);
	run_until("running", 10);
	ck_assert(seen.job_id == id);
	ck_assert_int_eq(jobs_posting_to("/crdbfeed/other"), 0);

	/* cancelled by someone else: the feed fails with the reason */
	snprintf(sql, sizeof(sql), "CANCEL JOB %" PRId64, id);
	exec_ok(sql);
	run_until(NULL, 10);
	ck_assert_int_eq(failures, 1);
	ck_assert_msg(strstr(failure, "is canceled"), "%s", failure);
	job_free(job);

	/* an adopted id that names no job */
	a.adopt_job_id = 4242;
	job = start(&a);
	run_until(NULL, 10);
	ck_assert_str_eq(failure, "job_id = 4242: no such changefeed job");
	job_free(job);

	/* a corrupt id file is refused, not taken for "no job" */
	FILE *f = fopen(id_path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("12abc\n", f);
	fclose(f);
	job = start(&c);
	run_until(NULL, 10);
	ck_assert_msg(strstr(failure, "is corrupt"), "%s", failure);
	ck_assert_int_eq(jobs_posting_to("/crdbfeed/check2"), 0);
	job_free(job);
	ck_assert_int_eq(unlink(id_path), 0);

	/* a refused CREATE fails the feed with the reason, once */
	struct feed_option flush[] = {
		{ S("webhook_sink_config"), S("{\"Flush\":{\"Messages\":10}}") },
	};
	struct job_config r = c;
	r.options = flush;
	r.noptions = 1;
	job = start(&r);
	run_until(NULL, 10);
	ck_assert_msg(strstr(failure, "CREATE CHANGEFEED refused: invalid sink config"),
		      "%s", failure);
	ck_assert_int_eq(failures, 1);
	ck_assert_int_eq(jobs_posting_to("/crdbfeed/check2"), 0);
	job_free(job);

	/* a job that fails reports CockroachDB's reason */
	job = start(&c);
	run_until("running", 10);
	exec_ok("DROP TABLE jt1");
	run_until(NULL, 15);
	ck_assert_msg(strstr(failure, "is failed: "), "%s", failure);
	ck_assert_str_eq(seen.status, "failed");
	ck_assert(seen.error[0]);
	job_free(job);
}
END_TEST

/* crdbsim killed and back: the manager reconnects with backoff and finds
 * the same job; losing the connection is not a failure. */
START_TEST(test_reconnect)
{
	struct job_config c = config("/crdbfeed/check3");
	const char *restart = getenv("CRDBSIM_RESTART");
	char cmd[600];

	ck_assert_msg(restart && *restart, "CRDBSIM_RESTART is not set: run under crdbsim-env");
	struct job *job = start(&c);
	run_until("running", 10);
	int64_t id = seen.job_id;
	disconnects = 0;
	snprintf(cmd, sizeof(cmd), "'%s' --down-ms 300", restart);
	ck_assert_int_eq(system(cmd), 0);
	int64_t end = clock_mono_ms() + 15000;
	while (!(disconnects > 0 && seen.connected && strcmp(seen.status, "running") == 0)) {
		ck_assert_msg(clock_mono_ms() < end,
			      "no reconnect: %d disconnects, connected %d, status %s, problem %s",
			      disconnects, seen.connected, seen.status, seen.last_problem);
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(2000);
	}
	ck_assert(seen.job_id == id);
	ck_assert_int_eq(failures, 0);
	job_free(job);
	PQreset(db);
	ck_assert_int_eq(jobs_posting_to("/crdbfeed/check3"), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("job_sim");
	TCase *tc = tcase_create("job_sim");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_create_find_control);
	tcase_add_test(tc, test_adopt_and_failures);
	tcase_add_test(tc, test_reconnect);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
