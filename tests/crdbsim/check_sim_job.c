/*
 * check_sim_job.c: crdbsim's changefeed jobs with a webhook sink, through
 * libpq against a running crdbsim (under crdbsim-env), with a small HTTPS
 * receiver in this process that records every POST: CREATE returns a job
 * id, rows arrive as batches carrying key and topic, a resolved timestamp
 * only after the rows below it, SHOW CHANGEFEED JOB, PAUSE / RESUME /
 * CANCEL, ALTER (refused while running, ADD while paused), a job surviving
 * a crdbsim restart, a sink that keeps failing (the job stays running with
 * a transient error, then restarts from its high-water mark), and GC
 * protection of a paused job's history while a
 * sinkless cursor at the same time fails with the GC error.
 */
#include "config.h"

#include <check.h>
#include <libpq-fe.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "wire_helpers.h"

/* ---- the HTTPS receiver ---- */

#define MAX_POSTS 20000
#define MAX_REQUEST (4u << 20)

struct post {
	char *path;
	char *auth;
	char *body;
};

static struct {
	pthread_mutex_t mu;
	struct post posts[MAX_POSTS];
	size_t n;
	SSL_CTX *ctx;
	int port;
} rx = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* A self-signed certificate for 127.0.0.1, made in memory (the job runs
 * with insecure_tls_skip_verify). */
static SSL_CTX *server_ctx(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *crt = X509_new();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	ck_assert(key && crt && ctx);
	ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
	X509_gmtime_adj(X509_getm_notBefore(crt), -3600);
	X509_gmtime_adj(X509_getm_notAfter(crt), 3600);
	X509_set_pubkey(crt, key);
	X509_NAME *name = X509_get_subject_name(crt);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(crt, name);
	ck_assert(X509_sign(crt, key, EVP_sha256()) > 0);
	ck_assert(SSL_CTX_use_certificate(ctx, crt) == 1);
	ck_assert(SSL_CTX_use_PrivateKey(ctx, key) == 1);
	X509_free(crt);
	EVP_PKEY_free(key);
	return ctx;
}

/* The value of header `name` in the head (NUL-terminated), malloc'd. */
static char *header(const char *head, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		if (!strncasecmp(p + 2, name, n) && p[2 + n] == ':') {
			const char *v = p + 3 + n;
			while (*v == ' ')
				v++;
			return strndup(v, strcspn(v, "\r\n"));
		}
	}
	return NULL;
}

/* One kept-alive connection: record each request, answer 200. */
static void *serve_conn(void *arg)
{
	SSL *ssl = arg;
	char *buf = malloc(MAX_REQUEST + 1);
	size_t have = 0;
	if (SSL_accept(ssl) != 1 || !buf)
		goto out;
	for (;;) {
		char *end;
		buf[have] = '\0';
		while (!(end = strstr(buf, "\r\n\r\n"))) {
			int r = SSL_read(ssl, buf + have, (int)(MAX_REQUEST - have));
			if (r <= 0)
				goto out;
			have += (size_t)r;
			buf[have] = '\0';
		}
		*end = '\0';
		char *len_s = header(buf, "Content-Length");
		size_t head = (size_t)(end - buf) + 4;
		size_t len = len_s ? strtoul(len_s, NULL, 10) : 0;
		free(len_s);
		if (head + len > MAX_REQUEST)
			goto out;
		while (have < head + len) {
			int r = SSL_read(ssl, buf + have, (int)(MAX_REQUEST - have));
			if (r <= 0)
				goto out;
			have += (size_t)r;
		}
		char *sp = strchr(buf, ' ');
		struct post p = {
			.path = sp ? strndup(sp + 1, strcspn(sp + 1, " ")) : strdup(""),
			.auth = header(buf, "Authorization"),
			.body = strndup(buf + head, len),
		};
		pthread_mutex_lock(&rx.mu);
		if (rx.n < MAX_POSTS)
			rx.posts[rx.n++] = p;
		pthread_mutex_unlock(&rx.mu);
		static const char ok[] =
			"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
		if (SSL_write(ssl, ok, sizeof ok - 1) <= 0)
			goto out;
		memmove(buf, buf + head + len, have - head - len);
		have -= head + len;
	}
out:
	free(buf);
	close(SSL_get_fd(ssl));
	SSL_free(ssl);
	return NULL;
}

static void *serve(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		SSL *ssl = SSL_new(rx.ctx);
		SSL_set_fd(ssl, fd);
		pthread_t t;
		if (pthread_create(&t, NULL, serve_conn, ssl) == 0)
			pthread_detach(t);
	}
	return NULL;
}

static void receiver_start(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	pthread_t t;
	rx.ctx = server_ctx();
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
		  listen(fd, 64) == 0 &&
		  getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	rx.port = ntohs(sa.sin_port);
	ck_assert(pthread_create(&t, NULL, serve, (void *)(intptr_t)fd) == 0);
	pthread_detach(t);
}

/* ---- what a feed received ---- */

/* Row messages and resolved timestamps posted to /crdbfeed/NAME, in
 * arrival order. */
struct seen {
	json_t *rows;           /* the messages */
	json_t *resolved;       /* the HLC strings */
	size_t *row_at;         /* arrival index of each row's POST */
	size_t *resolved_at;
	size_t posts;
	char auth[128];
};

static void seen_free(struct seen *s)
{
	json_decref(s->rows);
	json_decref(s->resolved);
	free(s->row_at);
	free(s->resolved_at);
	memset(s, 0, sizeof *s);
}

static void collect(const char *name, struct seen *s)
{
	char path[128];
	snprintf(path, sizeof path, "/crdbfeed/%s", name);
	memset(s, 0, sizeof *s);
	s->rows = json_array();
	s->resolved = json_array();
	s->row_at = calloc(MAX_POSTS * 4, sizeof *s->row_at);
	s->resolved_at = calloc(MAX_POSTS, sizeof *s->resolved_at);
	pthread_mutex_lock(&rx.mu);
	for (size_t i = 0; i < rx.n; i++) {
		struct post *p = &rx.posts[i];
		if (strcmp(p->path, path) != 0)
			continue;
		s->posts++;
		if (p->auth)
			snprintf(s->auth, sizeof s->auth, "%s", p->auth);
		json_t *doc = json_loads(p->body, 0, NULL);
		ck_assert_msg(doc, "not JSON: %s", p->body);
		json_t *res = json_object_get(doc, "resolved");
		if (res) {
			s->resolved_at[json_array_size(s->resolved)] = i;
			json_array_append(s->resolved, res);
		} else {
			json_t *payload = json_object_get(doc, "payload");
			ck_assert_msg(json_is_array(payload), "no payload: %s", p->body);
			ck_assert_int_eq(json_integer_value(json_object_get(doc, "length")),
					 json_array_size(payload));
			size_t k;
			json_t *m;
			json_array_foreach(payload, k, m) {
				s->row_at[json_array_size(s->rows)] = i;
				json_array_append(s->rows, m);
			}
		}
		json_decref(doc);
	}
	pthread_mutex_unlock(&rx.mu);
}

/* How many distinct ids of topic were received. */
static int distinct_ids(const struct seen *s, const char *topic, int max_id)
{
	int n = 0;
	bool *got = calloc((size_t)max_id + 1, 1);
	size_t i;
	json_t *m;
	json_array_foreach(s->rows, i, m) {
		if (strcmp(json_string_value(json_object_get(m, "topic")), topic))
			continue;
		json_int_t id = json_integer_value(json_array_get(json_object_get(m, "key"), 0));
		if (id >= 0 && id <= max_id && !got[id]) {
			got[id] = true;
			n++;
		}
	}
	free(got);
	return n;
}

/* Wait (at most secs) until name received `want` distinct ids of topic. */
static void wait_ids(const char *name, const char *topic, int want,
		     int max_id, double secs)
{
	double end = now_s() + secs;
	for (;;) {
		struct seen s;
		collect(name, &s);
		int n = distinct_ids(&s, topic, max_id);
		seen_free(&s);
		if (n >= want)
			return;
		ck_assert_msg(now_s() < end, "%s: %d of %d rows of %s arrived",
			      name, n, want, topic);
		usleep(50000);
	}
}

/* ---- SQL ---- */

static PGconn *db;

static void make_table(const char *t)
{
	char sql[256];
	snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", t);
	exec_ok(db, sql);
	snprintf(sql, sizeof sql, "CREATE TABLE %s (id INT PRIMARY KEY, v TEXT)", t);
	exec_ok(db, sql);
}

static void insert_range(const char *t, int from, int to)
{
	char sql[256];
	snprintf(sql, sizeof sql,
		 "INSERT INTO %s SELECT g, 'v' || g FROM generate_series(%d, %d) g",
		 t, from, to);
	exec_ok(db, sql);
}

/* CREATE CHANGEFEED FOR targets INTO our receiver at /crdbfeed/name. */
static int64_t create_job(const char *targets, const char *name,
			  const char *opts)
{
	char sql[1024];
	snprintf(sql, sizeof sql,
		 "CREATE CHANGEFEED FOR %s INTO 'webhook-https://127.0.0.1:%d/"
		 "crdbfeed/%s?insecure_tls_skip_verify=true' WITH %s", targets,
		 rx.port, name, opts);
	PGresult *r = PQexec(db, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQerrorMessage(db));
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_int_eq(PQnfields(r), 1);
	ck_assert_str_eq(PQfname(r, 0), "job_id");
	ck_assert_int_eq(PQftype(r, 0), 20);
	ck_assert_str_eq(PQcmdStatus(r), "CREATE CHANGEFEED 1");
	int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	ck_assert_msg(id > 1000000000000000LL, "job id %" PRId64, id);
	return id;
}

/* One column of SHOW CHANGEFEED JOB id (caller frees; NULL for NULL). */
static char *job_field(int64_t id, const char *col)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SHOW CHANGEFEED JOB %" PRId64, id);
	PGresult *r = PQexec(db, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQerrorMessage(db));
	ck_assert_int_eq(PQntuples(r), 1);
	int c = PQfnumber(r, col);
	ck_assert_msg(c >= 0, "no column %s", col);
	char *v = PQgetisnull(r, 0, c) ? NULL : strdup(PQgetvalue(r, 0, c));
	PQclear(r);
	return v;
}

static void expect_field(int64_t id, const char *col, const char *want)
{
	char *v = job_field(id, col);
	ck_assert_msg(v && !strcmp(v, want), "job %" PRId64 " %s = %s, want %s",
		      id, col, v ? v : "NULL", want);
	free(v);
}

/* Wait until the job has a high-water mark; returns it (malloc'd). */
static char *wait_high_water(int64_t id)
{
	double end = now_s() + 10;
	for (;;) {
		char *hw = job_field(id, "high_water_timestamp");
		if (hw)
			return hw;
		ck_assert_msg(now_s() < end, "job %" PRId64 ": no high-water", id);
		usleep(50000);
	}
}

static void job_cmd(const char *verb, int64_t id, const char *tag)
{
	char sql[128];
	snprintf(sql, sizeof sql, "%s JOB %" PRId64, verb, id);
	PGresult *r = PQexec(db, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql,
		      PQerrorMessage(db));
	ck_assert_str_eq(PQcmdStatus(r), tag);
	PQclear(r);
}

/* sql must fail with sqlstate and a message containing want, within
 * 10 s (a changefeed that starts instead would stream for ever). */
static void expect_error(const char *sql, const char *sqlstate,
			 const char *want)
{
	double end = now_s() + 10;
	ck_assert(PQsendQuery(db, sql));
	while (PQconsumeInput(db) && PQisBusy(db)) {
		if (now_s() > end) {
			PQfinish(db);
			db = NULL;
			ck_abort_msg("%s: no answer in 10 s", sql);
		}
		usleep(20000);
	}
	PGresult *r = PQgetResult(db);
	PGresult *more;
	while ((more = PQgetResult(db)))
		PQclear(more);
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	ck_assert_msg(PQresultStatus(r) == PGRES_FATAL_ERROR && st && msg &&
		      !strcmp(st, sqlstate) && strstr(msg, want),
		      "%s: got %s %s, want %s %s", sql, st ? st : "-",
		      msg ? msg : PQresStatus(PQresultStatus(r)), sqlstate, want);
	PQclear(r);
}

static int received_posts(const char *name)
{
	struct seen s;
	collect(name, &s);
	int n = (int)s.posts;
	seen_free(&s);
	return n;
}

/* Rows from..to inserted into table reach name's endpoint not at all. */
static void expect_quiet(const char *name, const char *table, int from,
			 int to)
{
	usleep(300000);         /* what was in flight lands first */
	int before = received_posts(name);
	insert_range(table, from, to);
	usleep(800000);
	ck_assert_int_eq(received_posts(name), before);
}

/* A fresh table, a job on it posting to /crdbfeed/name with opts, and
 * rows 1..rows that arrived. */
static int64_t start_job(const char *table, const char *name,
			 const char *opts, int rows)
{
	make_table(table);
	int64_t id = create_job(table, name, opts);
	insert_range(table, 1, rows);
	wait_ids(name, table, rows, 100, 10);
	return id;
}

/* ---- tests ---- */

START_TEST(test_create_delivers)
{
	make_table("jt1");
	insert_range("jt1", 1, 20);
	int64_t id = create_job("jt1", "create",
				"resolved = '100ms', updated, "
				"webhook_auth_header = 'Bearer tok'");
	insert_range("jt1", 21, 40);
	wait_ids("create", "jt1", 40, 40, 10);
	char *hw = wait_high_water(id);
	/* DECIMAL wall.logical with ten logical digits */
	const char *dot = strchr(hw, '.');
	ck_assert_msg(dot && strlen(dot + 1) == 10 && dot - hw == 19,
		      "high_water_timestamp %s", hw);
	free(hw);
	expect_field(id, "status", "running");
	expect_field(id, "topics", "jt1");
	expect_field(id, "full_table_names", "{defaultdb.public.jt1}");
	static const char head[] = "CREATE CHANGEFEED FOR TABLE "
		"defaultdb.public.jt1 INTO 'webhook-https://";
	char *d = job_field(id, "description");
	ck_assert_msg(d && !strncmp(d, head, sizeof head - 1) &&
		      strstr(d, "webhook_auth_header = 'redacted'") &&
		      !strstr(d, "tok"), "description %s", d ? d : "NULL");
	free(d);

	struct seen s;
	collect("create", &s);
	ck_assert_str_eq(s.auth, "Bearer tok");
	ck_assert_int_gt(json_array_size(s.resolved), 0);
	size_t i, k;
	json_t *m, *r;
	json_array_foreach(s.rows, i, m) {
		ck_assert(json_is_array(json_object_get(m, "key")));
		ck_assert_str_eq(json_string_value(json_object_get(m, "topic")), "jt1");
		ck_assert(json_object_get(m, "after"));
	}
	/* Every row at or below a resolved timestamp arrived before it. */
	json_array_foreach(s.resolved, k, r) {
		const char *res = json_string_value(r);
		json_array_foreach(s.rows, i, m) {
			const char *upd = json_string_value(json_object_get(m, "updated"));
			ck_assert(upd);
			if (strlen(upd) == strlen(res) && strcmp(upd, res) <= 0)
				ck_assert_msg(s.row_at[i] < s.resolved_at[k],
					      "row %s after resolved %s", upd, res);
		}
	}
	seen_free(&s);
	job_cmd("CANCEL", id, "CANCEL JOBS 1");
	expect_field(id, "status", "canceled");
}
END_TEST

START_TEST(test_pause_resume_cancel)
{
	int64_t id = start_job("jt2", "pause", "resolved = '100ms'", 10);
	job_cmd("PAUSE", id, "PAUSE JOBS 1");
	expect_field(id, "status", "paused");
	expect_quiet("pause", "jt2", 11, 30);
	/* ALTER needs a paused job; this one is, RESUME makes it run. */
	job_cmd("RESUME", id, "RESUME JOBS 1");
	expect_field(id, "status", "running");
	wait_ids("pause", "jt2", 30, 100, 10);
	char sql[128];
	snprintf(sql, sizeof sql, "ALTER CHANGEFEED %" PRId64 " ADD jt1", id);
	char want[64];
	snprintf(want, sizeof want, "job %" PRId64 " is not paused", id);
	expect_error(sql, "XXUUU", want);
	job_cmd("CANCEL", id, "CANCEL JOBS 1");
	expect_field(id, "status", "canceled");
	expect_field(id, "error", "job canceled by user");
	expect_quiet("pause", "jt2", 31, 40);
	snprintf(sql, sizeof sql, "RESUME JOB %" PRId64, id);
	expect_error(sql, "XXUUU", "cannot resume job with status canceled");
}
END_TEST

START_TEST(test_alter_add)
{
	make_table("jt3");
	make_table("jt4");
	/* Older than the job's high-water at the ADD: never sent (no scan
	 * of an added table unless WITH initial_scan). */
	insert_range("jt4", 1, 5);
	usleep(300000);
	int64_t id = create_job("jt3", "alter", "resolved = '100ms'");
	insert_range("jt3", 1, 5);
	wait_ids("alter", "jt3", 5, 100, 10);
	free(wait_high_water(id));
	job_cmd("PAUSE", id, "PAUSE JOBS 1");
	char sql[128];
	snprintf(sql, sizeof sql, "ALTER CHANGEFEED %" PRId64 " ADD jt4", id);
	PGresult *r = PQexec(db, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQerrorMessage(db));
	ck_assert_str_eq(PQfname(r, 0), "job_id");
	ck_assert_str_eq(PQfname(r, 1), "job_description");
	ck_assert_str_eq(PQcmdStatus(r), "ALTER CHANGEFEED 1");
	ck_assert_msg(strstr(PQgetvalue(r, 0, 1), "jt4"), "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	expect_error(sql, "XXUUU", "already watched by changefeed");
	snprintf(sql, sizeof sql, "ALTER CHANGEFEED %" PRId64 " SET cursor = '1'", id);
	expect_error(sql, "22023", "cannot alter option \"cursor\"");
	expect_field(id, "topics", "jt3,jt4");
	job_cmd("RESUME", id, "RESUME JOBS 1");
	insert_range("jt4", 6, 10);
	wait_ids("alter", "jt4", 5, 100, 10);
	struct seen s;
	collect("alter", &s);
	ck_assert_int_eq(distinct_ids(&s, "jt4", 5), 0);
	seen_free(&s);
	job_cmd("CANCEL", id, "CANCEL JOBS 1");
}
END_TEST

START_TEST(test_refusals)
{
	make_table("jt5");
	expect_error("CREATE CHANGEFEED FOR jt5 INTO 'webhook-http://127.0.0.1:1/x'",
		     "XXUUU", "this sink requires webhook-https");
	expect_error("CREATE CHANGEFEED FOR jt5 INTO 'foo://127.0.0.1:1/x'",
		     "XXUUU", "unsupported sink: foo");
	expect_error("CREATE CHANGEFEED FOR nosuch INTO 'webhook-https://127.0.0.1:1/x'",
		     "42P01", "table \"nosuch\" does not exist");
	expect_error("CREATE CHANGEFEED FOR jt5 INTO 'webhook-https://127.0.0.1:1/x'"
		     " WITH webhook_sink_config = '{\"Retry\":{\"Max\":0}}'",
		     "XXUUU", "Retry.Max must be a positive integer");
	expect_error("CREATE CHANGEFEED FOR jt5 INTO 'webhook-https://127.0.0.1:1/x'"
		     " WITH webhook_sink_config = '{\"Flush\":{\"Messages\":10}}'",
		     "XXUUU", "Flush.Frequency is not set");
	expect_error("CREATE CHANGEFEED FOR jt5 INTO 'webhook-https://127.0.0.1:1/x"
		     "?client_cert=AAAA'", "XXUUU",
		     "client_cert requires client_key to be set");
	expect_error("PAUSE JOB 12345", "XXUUU", "job with ID 12345 does not exist");
	/* without a licence, before 24.3 (the default 23.1.11 here) */
	char *reply = control("license off");
	free(reply);
	expect_error("CREATE CHANGEFEED FOR jt5 INTO 'webhook-https://127.0.0.1:1/x'",
		     "XXC02", "use of CHANGEFEED requires an enterprise license");
	reply = control("license on");
	free(reply);
	/* an unknown id shows nothing */
	PGresult *r = PQexec(db, "SHOW CHANGEFEED JOB 12345");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQntuples(r), 0);
	PQclear(r);
}
END_TEST

START_TEST(test_survives_restart)
{
	int64_t id = start_job("jt6", "restart", "resolved = '100ms'", 10);
	free(wait_high_water(id));
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s --down-ms 200", env("CRDBSIM_RESTART"));
	ck_assert_int_eq(system(cmd), 0);
	PQfinish(db);
	db = connect_sim();
	insert_range("jt6", 11, 20);
	wait_ids("restart", "jt6", 20, 100, 10);
	expect_field(id, "status", "running");
	char *jobs = control("jobs");
	char idtext[32];
	snprintf(idtext, sizeof idtext, "%" PRId64 " running", id);
	ck_assert_msg(strstr(jobs, idtext), "%s", jobs);
	free(jobs);
	job_cmd("CANCEL", id, "CANCEL JOBS 1");
}
END_TEST

START_TEST(test_gc_protects_paused_job)
{
	int64_t id = start_job("jt7", "gc", "resolved = '100ms'", 5);
	/* a high-water at or after the five rows */
	usleep(500000);
	char *hw = wait_high_water(id);
	job_cmd("PAUSE", id, "PAUSE JOBS 1");
	insert_range("jt7", 6, 25);
	usleep(300000);
	char *reply = control("gc 0");
	ck_assert_msg(!strncmp(reply, "ok", 2), "%s", reply);
	free(reply);
	/* a sinkless cursor at the job's high-water lost its history */
	char sql[256];
	snprintf(sql, sizeof sql,
		 "EXPERIMENTAL CHANGEFEED FOR jt7 WITH cursor = '%s'", hw);
	expect_error(sql, "XXUUU", "GC threshold");
	free(hw);
	/* the paused job did not: its RESUME gets every row */
	job_cmd("RESUME", id, "RESUME JOBS 1");
	wait_ids("gc", "jt7", 25, 100, 10);
	job_cmd("CANCEL", id, "CANCEL JOBS 1");
}
END_TEST

/* Before each test (asserting, so inside it): the receiver and the
 * connection, once. */
static void setup(void)
{
	static bool receiving;
	/* Check's timeouts need fork mode: a test that hangs ends here. */
	alarm(60);
	if (db)
		return;
	if (!receiving)
		receiver_start();
	receiving = true;
	db = connect_sim();
	exec_ok(db, "SET CLUSTER SETTING kv.rangefeed.enabled = true");
}

START_TEST(test_sink_failure_retries)
{
	int64_t id = start_job("jt8", "fail", "resolved = '100ms', "
			       "webhook_sink_config = '{\"Retry\":{\"Max\":1,"
			       "\"Backoff\":\"10ms\"}}'", 5);
	char *reply = control("webhook-fault refuse 1000");
	ck_assert_msg(!strncmp(reply, "ok", 2), "%s", reply);
	free(reply);
	insert_range("jt8", 6, 10);
	/* the sink fails past its retries; the job stays running and says
	 * why, then starts again from its high-water mark */
	double end = now_s() + 10;
	for (;;) {
		char *rs = job_field(id, "running_status");
		bool transient = rs && !strncmp(rs, "transient error: ", 17);
		free(rs);
		if (transient)
			break;
		ck_assert_msg(now_s() < end, "no transient error shown");
		usleep(50000);
	}
	expect_field(id, "status", "running");
	reply = control("webhook-fault clear");
	free(reply);
	wait_ids("fail", "jt8", 10, 100, 15);
	job_cmd("CANCEL", id, "CANCEL JOBS 1");
}
END_TEST

START_TEST(test_extended_protocol)
{
	make_table("jt9");
	char uri[160], idtext[32];
	snprintf(uri, sizeof uri, "webhook-https://127.0.0.1:%d/crdbfeed/ext"
		 "?insecure_tls_skip_verify=true", rx.port);
	const char *params[2] = { uri, "100ms" };
	/* binary result: job_id as 8 bytes, big-endian */
	PGresult *r = PQexecParams(db, "CREATE CHANGEFEED FOR jt9 INTO $1 WITH "
				   "resolved = $2", 2, NULL, params, NULL, NULL, 1);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s",
		      PQerrorMessage(db));
	ck_assert_int_eq(PQftype(r, 0), 20);
	ck_assert_int_eq(PQgetlength(r, 0, 0), 8);
	const unsigned char *b = (const unsigned char *)PQgetvalue(r, 0, 0);
	int64_t id = 0;
	for (int i = 0; i < 8; i++)
		id = (int64_t)((uint64_t)id << 8 | b[i]);
	PQclear(r);
	ck_assert_msg(id > 1000000000000000LL, "job id %" PRId64, id);
	snprintf(idtext, sizeof idtext, "%" PRId64, id);
	insert_range("jt9", 1, 3);
	wait_ids("ext", "jt9", 3, 100, 10);
	params[0] = idtext;
	r = PQexecParams(db, "PAUSE JOB $1", 1, NULL, params, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s",
		      PQerrorMessage(db));
	ck_assert_str_eq(PQcmdStatus(r), "PAUSE JOBS 1");
	PQclear(r);
	r = PQexecParams(db, "SHOW CHANGEFEED JOB $1", 1, NULL, params, NULL,
			 NULL, 0);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s",
		      PQerrorMessage(db));
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, PQfnumber(r, "status")), "paused");
	PQclear(r);
	job_cmd("CANCEL", id, "CANCEL JOBS 1");
}
END_TEST

START_TEST(test_protected_timestamp_expires)
{
	/* no resolved: the record stays at the statement time */
	int64_t id = start_job("jt10", "expire", "gc_protect_expires_after = '1s'",
			       3);
	job_cmd("PAUSE", id, "PAUSE JOBS 1");
	/* paused, its record ages past 1 s: the job is cancelled (§16.5) */
	double end = now_s() + 10;
	for (;;) {
		char *st = job_field(id, "status");
		bool canceled = st && !strcmp(st, "canceled");
		free(st);
		if (canceled)
			break;
		ck_assert_msg(now_s() < end, "job not cancelled by its record's age");
		usleep(100000);
	}
	char *e = job_field(id, "error");
	ck_assert_msg(e && strstr(e, "exceeds job configured limit of 1s"),
		      "error %s", e ? e : "NULL");
	free(e);
}
END_TEST

static Suite *job_suite(void)
{
	Suite *s = suite_create("sim_job");
	TCase *t = tcase_create("jobs");
	tcase_set_timeout(t, 60);
	tcase_add_checked_fixture(t, setup, NULL);
	tcase_add_test(t, test_refusals);
	tcase_add_test(t, test_create_delivers);
	tcase_add_test(t, test_pause_resume_cancel);
	tcase_add_test(t, test_alter_add);
	tcase_add_test(t, test_extended_protocol);
	tcase_add_test(t, test_protected_timestamp_expires);
	tcase_add_test(t, test_survives_restart);
	tcase_add_test(t, test_sink_failure_retries);
	tcase_add_test(t, test_gc_protects_paused_job);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	/* a sink closing its connection must not end the receiver */
	signal(SIGPIPE, SIG_IGN);
	SRunner *sr = srunner_create(job_suite());
	/* one process: the receiver's threads and its record are shared */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (db)
		PQfinish(db);
	/* The receiver's threads may still be in SSL_read: exit() would run
	 * OpenSSL's clean-up under them. */
	fflush(NULL);
	_exit(failed ? 1 : 0);
}
