/*
 * check_job.c: the job manager's parts that need no server (job_int.h):
 * the exact CREATE CHANGEFEED text for a configuration (quotes escaped in
 * the sink URI and the authorization), the sink URI's inline certificates,
 * the ALTER CHANGEFEED commands between two configurations and what ALTER
 * cannot change, SHOW CHANGEFEED JOB(S) rows (high-water decimal, finding
 * our job by its endpoint), redaction, and the job id file (atomic write,
 * a corrupt file refused).
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/job_int.h"

/* The config structures take char *, never written through. */
#define S(text) ((char *)(text))

static char dir[256];
static char errbuf[600];

static void make_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/check_job.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* ---- statements ------------------------------------------------------------ */

static char *tables[] = { S("orders"), S("\"My T\"") };
static char *families[] = { NULL, S("f1") };
static struct feed_option options[] = {
	{ S("schema_change_policy"), S("nobackfill") },
	{ S("envelope"), S("bare") },   /* the job's own options win */
};

static struct job_config base_config(void)
{
	struct job_config c = {
		.who = "feed t",
		.tables = tables, .families = families, .ntables = 2,
		.options = options, .noptions = 2,
		.diff = true, .resolved_ms = 1000,
		.advertise = "feed.example:8443", .path = "/crdbfeed/it's",
		.authorization = "Bearer to'ken", .client_timeout_ms = 5000,
		.poll_ms = 100,
	};
	return c;
}

/* Bytes whose base64 has all of + / =, so each is percent-encoded. */
static const struct job_pem ca_pem = { S("\xfb\xff"), 2 };

START_TEST(test_sink_uri)
{
	struct job_pem cert = { S("ab"), 2 }, key = { S("\xfb\xef\xff"), 3 };
	char *uri = job_sink_uri("h:1", "/crdbfeed/f", &ca_pem, &cert, &key,
				 errbuf, sizeof(errbuf));

	ck_assert_ptr_nonnull(uri);
	ck_assert_str_eq(uri, "webhook-https://h:1/crdbfeed/f?ca_cert=%2B%2F8%3D"
			      "&client_cert=YWI%3D&client_key=%2B%2B%2F%2F");
	free(uri);
	/* no certificates: the nodes' own CAs, nothing else */
	uri = job_sink_uri("h:1", "/crdbfeed/f", NULL, NULL, NULL, errbuf, sizeof(errbuf));
	ck_assert_str_eq(uri, "webhook-https://h:1/crdbfeed/f");
	free(uri);
	/* a certificate without its key, or a key without its certificate */
	ck_assert_ptr_null(job_sink_uri("h:1", "/p", NULL, &cert, NULL, errbuf, sizeof(errbuf)));
	ck_assert_str_eq(errbuf, "a client certificate needs its key and a key its certificate");
	ck_assert_ptr_null(job_sink_uri("h:1", "/p", NULL, NULL, &key, errbuf, sizeof(errbuf)));
	ck_assert_ptr_null(job_sink_uri("", "/p", NULL, NULL, NULL, errbuf, sizeof(errbuf)));
	ck_assert_ptr_null(job_sink_uri("h:1", "p", NULL, NULL, NULL, errbuf, sizeof(errbuf)));
}
END_TEST

START_TEST(test_create_sql)
{
	struct job_config c = base_config();
	char *uri = job_sink_uri(c.advertise, c.path, &ca_pem, NULL, NULL, errbuf,
				 sizeof(errbuf));
	ck_assert_ptr_nonnull(uri);
	char *sql = job_create_sql(&c, uri, errbuf, sizeof(errbuf));

	ck_assert_msg(sql, "%s", errbuf);
	ck_assert_str_eq(sql,
		"CREATE CHANGEFEED FOR TABLE orders, TABLE \"My T\" FAMILY f1 "
		"INTO 'webhook-https://feed.example:8443/crdbfeed/it''s?ca_cert=%2B%2F8%3D' "
		"WITH envelope = 'wrapped', updated, resolved = '1000ms', "
		"min_checkpoint_frequency = '1000ms', diff, "
		"schema_change_policy = 'nobackfill', "
		"webhook_auth_header = 'Bearer to''ken', webhook_client_timeout = '5000ms'");
	crdb_free(sql);

	/* from a checkpoint: cursor and no initial scan; the released
	 * default of no client timeout is never left in place */
	c.cursor = "1700000000000000000.0000000001";
	c.client_timeout_ms = 0;
	c.authorization = NULL;
	c.diff = false;
	sql = job_create_sql(&c, uri, errbuf, sizeof(errbuf));
	ck_assert_msg(sql, "%s", errbuf);
	ck_assert_str_eq(sql,
		"CREATE CHANGEFEED FOR TABLE orders, TABLE \"My T\" FAMILY f1 "
		"INTO 'webhook-https://feed.example:8443/crdbfeed/it''s?ca_cert=%2B%2F8%3D' "
		"WITH envelope = 'wrapped', updated, resolved = '1000ms', "
		"min_checkpoint_frequency = '1000ms', schema_change_policy = 'nobackfill', "
		"cursor = '1700000000000000000.0000000001', initial_scan = 'no', "
		"webhook_client_timeout = '3000ms'");
	crdb_free(sql);

	/* libcrdb's rules apply: a refusal names the option, not the URI */
	struct feed_option bad[] = { { S("format"), S("parquet") } };
	c.options = bad;
	c.noptions = 1;
	ck_assert_ptr_null(job_create_sql(&c, uri, errbuf, sizeof(errbuf)));
	ck_assert_str_eq(errbuf, "cannot build CREATE CHANGEFEED: format=parquet is only usable with a cloud storage sink, not a webhook sink");
	free(uri);
}
END_TEST

START_TEST(test_alter_cmds)
{
	struct job_config old = base_config(), new = base_config();
	char *cmds;

	ck_assert_int_eq(job_alter_cmds(&old, "u1", &new, "u1", &cmds, errbuf,
					sizeof(errbuf)), 0);
	ck_assert_ptr_null(cmds);

	char *t2[] = { S("\"My T\""), S("Items") };
	char *f2[] = { S("f1"), NULL };
	struct feed_option o2[] = {
		{ S("schema_change_policy"), S("stop") },
		{ S("on_error"), S("pause") },
	};
	new.tables = t2;
	new.families = f2;
	new.options = o2;
	new.diff = false;
	new.resolved_ms = 2000;
	new.authorization = "Bearer it's";
	ck_assert_int_eq(job_alter_cmds(&old, "u1", &new, "webhook-https://h/x'y",
					&cmds, errbuf, sizeof(errbuf)), 1);
	ck_assert_str_eq(cmds,
		"ADD TABLE items DROP TABLE orders "
		"SET resolved = '2000ms' SET min_checkpoint_frequency = '2000ms' "
		"SET webhook_auth_header = 'Bearer it''s' "
		"SET schema_change_policy = 'stop' SET on_error = 'pause' UNSET diff "
		"SET sink = 'webhook-https://h/x''y'");
	free(cmds);

	/* every target replaced: the ADD comes before the DROP */
	char *t3[] = { S("a") };
	new = base_config();
	new.tables = t3;
	new.families = NULL;
	new.ntables = 1;
	ck_assert_int_eq(job_alter_cmds(&old, "u", &new, "u", &cmds, errbuf,
					sizeof(errbuf)), 1);
	ck_assert_str_eq(cmds, "ADD TABLE a DROP TABLE orders DROP TABLE \"My T\" FAMILY f1");
	free(cmds);

	/* what ALTER CHANGEFEED refuses needs a new job */
	struct feed_option o3[] = { { S("schema_change_policy"), S("nobackfill") },
				    { S("envelope"), S("bare") },
				    { S("initial_scan"), S("no") } };
	new = base_config();
	new.options = o3;
	new.noptions = 3;
	ck_assert_int_eq(job_alter_cmds(&old, "u", &new, "u", &cmds, errbuf,
					sizeof(errbuf)), -1);
	ck_assert_str_eq(errbuf, "cannot alter option \"initial_scan\" of a changefeed job (ALTER CHANGEFEED refuses it): a new job is needed");
	ck_assert_int_eq(job_alter_cmds(&new, "u", &old, "u", &cmds, errbuf,
					sizeof(errbuf)), -1);
	new.ntables = 0;
	ck_assert_int_eq(job_alter_cmds(&old, "u", &new, "u", &cmds, errbuf,
					sizeof(errbuf)), -1);
}
END_TEST

/* ---- answers ---------------------------------------------------------------- */

START_TEST(test_high_water)
{
	crdb_hlc h;

	ck_assert_int_eq(job_parse_high_water("1700000000123456789.0000000042", &h,
					      errbuf, sizeof(errbuf)), 0);
	ck_assert(h.wall == 1700000000123456789LL && h.logical == 42);
	ck_assert_int_eq(job_parse_high_water("1700000000123456789.0000000000", &h,
					      errbuf, sizeof(errbuf)), 0);
	ck_assert(h.wall == 1700000000123456789LL && h.logical == 0);
	ck_assert_int_eq(job_parse_high_water(NULL, &h, errbuf, sizeof(errbuf)), 0);
	ck_assert(h.wall == 0 && h.logical == 0);
	ck_assert_int_eq(job_parse_high_water("1.5e3", &h, errbuf, sizeof(errbuf)), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "high_water_timestamp \"1.5e3\""));
	ck_assert_int_eq(job_parse_high_water("-1.0000000000", &h, errbuf, sizeof(errbuf)), -1);
}
END_TEST

/* A SHOW CHANGEFEED JOBS answer; rows of job_id, status, high water,
 * error, sink_uri (NULL: SQL NULL). */
static PGresult *show_result(const char *const (*rows)[5], int n)
{
	static const char *const names[5] = { "job_id", "status",
					      "high_water_timestamp", "error",
					      "sink_uri" };
	PGresAttDesc attrs[5];
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);

	memset(attrs, 0, sizeof(attrs));
	for (int i = 0; i < 5; i++) {
		attrs[i].name = (char *)names[i];
		attrs[i].format = 0;
		attrs[i].typid = 25;
		attrs[i].typlen = -1;
		attrs[i].atttypmod = -1;
	}
	ck_assert(res && PQsetResultAttrs(res, 5, attrs));
	for (int r = 0; r < n; r++)
		for (int c = 0; c < 5; c++)
			ck_assert(PQsetvalue(res, r, c, (char *)rows[r][c],
					     rows[r][c] ? (int)strlen(rows[r][c]) : -1));
	return res;
}

START_TEST(test_read_row)
{
	const char *const rows[][5] = {
		{ "1001", "running", "1700000000000000000.0000000003", "", "webhook-https://h:1/crdbfeed/a" },
		{ "1002", "failed", NULL, "sink failed\nretries exhausted", "webhook-https://h:1/crdbfeed/a" },
		{ "x", "running", NULL, NULL, NULL },
	};
	PGresult *res = show_result(rows, 3);
	struct job_status st;

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(job_read_row(res, 0, &st, errbuf, sizeof(errbuf)), 0);
	ck_assert(st.job_id == 1001 && strcmp(st.status, "running") == 0);
	ck_assert(st.high_water.wall == 1700000000000000000LL && st.high_water.logical == 3);
	ck_assert_str_eq(st.error, "");
	ck_assert_int_eq(job_read_row(res, 1, &st, errbuf, sizeof(errbuf)), 0);
	ck_assert_str_eq(st.status, "failed");
	ck_assert_str_eq(st.error, "sink failed"); /* one line */
	ck_assert(st.high_water.wall == 0 && st.high_water.logical == 0);
	ck_assert_int_eq(job_read_row(res, 2, &st, errbuf, sizeof(errbuf)), -1);
	ck_assert_str_eq(errbuf, "SHOW CHANGEFEED JOB: job_id is not a job id");
	PQclear(res);

	/* an answer without the columns we read is refused, not guessed */
	PGresult *empty = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	ck_assert_int_eq(job_read_row(empty, 0, &st, errbuf, sizeof(errbuf)), -1);
	ck_assert_str_eq(errbuf, "SHOW CHANGEFEED JOB answered without a job_id column");
	PQclear(empty);

	ck_assert(job_status_final("failed") && job_status_final("canceled") &&
		  job_status_final("succeeded") && job_status_final("revert-failed"));
	ck_assert(!job_status_final("running") && !job_status_final("paused") &&
		  !job_status_final("pause-requested") && !job_status_final("reverting"));
}
END_TEST

START_TEST(test_find_by_sink)
{
	const char *const rows[][5] = {
		{ "5", "running", NULL, "", "webhook-https://h:1/crdbfeed/a?ca_cert=redacted" },
		{ "9", "canceled", NULL, "", "webhook-https://h:1/crdbfeed/a" },
		{ "7", "paused", NULL, "", "webhook-https://h:1/crdbfeed/a" },
		{ "8", "running", NULL, "", "webhook-https://h:1/crdbfeed/ab" },
		{ "10", "running", NULL, "", "webhook-https://h:2/crdbfeed/a" },
		{ "11", "running", NULL, "", "kafka://h:1/crdbfeed/a" },
		{ "12", "running", NULL, "", NULL },
	};
	PGresult *res = show_result(rows, 7);
	int others = -1;

	/* the newest unfinished job posting to exactly our endpoint */
	ck_assert_int_eq(job_find_by_sink(res, "h:1", "/crdbfeed/a", &others), 7);
	ck_assert_int_eq(others, 1);
	ck_assert_int_eq(job_find_by_sink(res, "h:1", "/crdbfeed/b", &others), 0);
	ck_assert_int_eq(others, 0);
	ck_assert_int_eq(job_find_by_sink(res, "h:2", "/crdbfeed/a", &others), 10);
	PQclear(res);
}
END_TEST

START_TEST(test_redact)
{
	char msg[64] = "bad header Bearer s3cret; again Bearer s3cret.";

	job_redact(msg, sizeof(msg), "Bearer s3cret");
	ck_assert_str_eq(msg, "bad header redacted; again redacted.");
	/* a short secret grows the text: it stays within the buffer */
	char small[16] = "a-b-c-d-e";
	job_redact(small, sizeof(small), "-");
	ck_assert_uint_lt(strlen(small), sizeof(small));
	ck_assert_ptr_null(strchr(small, '-'));
	job_redact(small, sizeof(small), NULL);
}
END_TEST

/* ---- the id file ------------------------------------------------------------- */

START_TEST(test_idfile)
{
	char path[400], tmp[420];
	int64_t id = 0;
	struct stat st;

	make_dir();
	snprintf(path, sizeof(path), "%s/f.job", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(job_idfile_read(path, &id, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(job_idfile_write(path, 987654321012345678LL, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(job_idfile_read(path, &id, errbuf, sizeof(errbuf)), 1);
	ck_assert(id == 987654321012345678LL);
	ck_assert_int_eq(stat(tmp, &st), -1); /* renamed, not left */
	/* replaced whole */
	ck_assert_int_eq(job_idfile_write(path, 5, errbuf, sizeof(errbuf)), 0);
	ck_assert_int_eq(job_idfile_read(path, &id, errbuf, sizeof(errbuf)), 1);
	ck_assert(id == 5);

	/* a temporary file planted as a link is not followed */
	char target[420];
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	ck_assert_int_eq(symlink(target, tmp), 0);
	ck_assert_int_eq(job_idfile_write(path, 6, errbuf, sizeof(errbuf)), -1);
	ck_assert_int_eq(stat(target, &st), -1);
	ck_assert_int_eq(job_idfile_read(path, &id, errbuf, sizeof(errbuf)), 1);
	ck_assert(id == 5); /* the old file stays */
	unlink(tmp);

	/* corrupt files are refused, never taken for "no job" */
	static const char *const corrupt[] = {
		"", "\n", "12x\n", "0\n", "-5\n", " 5\n", "5\n\n", "99999999999999999999\n",
		"12345678901234567890123456789012345\n",
	};
	for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		write_file(path, corrupt[i], strlen(corrupt[i]));
		ck_assert_msg(job_idfile_read(path, &id, errbuf, sizeof(errbuf)) == -1,
			      "\"%s\" was read as job %lld", corrupt[i], (long long)id);
		ck_assert_ptr_nonnull(strstr(errbuf, "is corrupt"));
		ck_assert_ptr_nonnull(strstr(errbuf, path));
	}
	write_file(path, "42", 2); /* no newline: still an id */
	ck_assert_int_eq(job_idfile_read(path, &id, errbuf, sizeof(errbuf)), 1);
	ck_assert(id == 42);

	/* a directory that is not there */
	char missing[420];
	snprintf(missing, sizeof(missing), "%s/no/f.job", dir);
	ck_assert_int_eq(job_idfile_write(missing, 1, errbuf, sizeof(errbuf)), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "(create)"));
	remove_dir();
}
END_TEST

START_TEST(test_pem_read)
{
	char path[400];
	struct job_pem pem;

	make_dir();
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	write_file(path, "-----BEGIN\n", 11);
	ck_assert_int_eq(job_pem_read(path, &pem, errbuf, sizeof(errbuf)), 0);
	ck_assert_uint_eq(pem.len, 11);
	job_pem_free(&pem);
	ck_assert_ptr_null(pem.data);
	ck_assert_int_eq(job_pem_read(NULL, &pem, errbuf, sizeof(errbuf)), 0);
	ck_assert_uint_eq(pem.len, 0);
	write_file(path, "", 0);
	ck_assert_int_eq(job_pem_read(path, &pem, errbuf, sizeof(errbuf)), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "empty file"));
	char *big = calloc(1, JOB_PEM_MAX + 1);
	ck_assert_ptr_nonnull(big);
	write_file(path, big, JOB_PEM_MAX + 1);
	free(big);
	ck_assert_int_eq(job_pem_read(path, &pem, errbuf, sizeof(errbuf)), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "larger than"));
	unlink(path);
	ck_assert_int_eq(job_pem_read(path, &pem, errbuf, sizeof(errbuf)), -1);
	ck_assert_ptr_nonnull(strstr(errbuf, "No such file"));
	remove_dir();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("job");
	TCase *tc = tcase_create("job");

	tcase_add_test(tc, test_sink_uri);
	tcase_add_test(tc, test_create_sql);
	tcase_add_test(tc, test_alter_cmds);
	tcase_add_test(tc, test_high_water);
	tcase_add_test(tc, test_read_row);
	tcase_add_test(tc, test_find_by_sink);
	tcase_add_test(tc, test_redact);
	tcase_add_test(tc, test_idfile);
	tcase_add_test(tc, test_pem_read);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
