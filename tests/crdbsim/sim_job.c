/*
 * sim_job.c: crdbsim's changefeed jobs (see sim_job.h): their life
 * (create, pause, resume, cancel, alter, restart after a failure), their
 * rows in crdbsim.changefeed_jobs and their protected timestamp records in
 * crdbsim.protected_timestamps (which the engine's GC honours), and the
 * glue from a job's simfeed to its sim_webhook. The sink URI and the
 * webhook options are read in sim_job_sink.c.
 */
#include "config.h"

#include "sim_job.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "sbuf.h"
#include "sim.h"
#include "sim_job_sink.h"
#include "sim_webhook.h"
#include "simstmt.h"

/* A changefeed's own retries (§16.5): from 1 s doubling to 10 min
 * (changefeed.max_retry_backoff). */
#define JOB_RETRY_FIRST_MS 1000
#define JOB_RETRY_MAX_MS   600000
/* Jobs kept in memory (and thus in the table) at most. */
#define JOB_MAX 1024
/* changefeed.protect_timestamp.max_age: 96 h */
#define JOB_PTS_MAX_AGE_MS (96LL * 3600 * 1000)
/* How often protected timestamps are checked against their age limit. */
#define JOB_PTS_CHECK_MS 1000

struct sim_job {
	struct sim_job *next;
	struct sim_jobs *jobs;
	int64_t id;
	char *user;
	char status[16];        /* running paused canceled failed succeeded */
	char *running_status;   /* NULL: none */
	char *error;            /* NULL: none */
	int64_t created_us, started_us, finished_us, modified_us;
	struct sim_hlc high_water;      /* {0,0}: none yet */
	struct sim_hlc statement_time;  /* cursor, or the creation time */
	bool scan_pending;      /* ALTER ... ADD: scan at the next start */
	/* what the job runs: targets as SQL, sink URI, options as given */
	char **targets;
	size_t ntargets;
	struct sim_job_spec spec;
	bool wants_resolved;

	/* running */
	struct simfeed *feed;
	struct sim_webhook *wh;
	struct simfeed_out out;
	struct event *restart;  /* backoff before the next start */
	struct event *reap;     /* frees the sink outside its callback */
	int64_t backoff_ms;
	bool duplicate_posts;
	int in_sink_callback;   /* the sink cannot be freed from inside it */
};

struct sim_jobs {
	struct event_base *base;
	struct simfeed_engine *engine;
	PGconn *admin;
	int nodes;
	bool duplicate_posts;
	struct sim_job *list;
	size_t count;
	struct event *pts_check;
	bool unlicensed;        /* control `license off` */
};

static int64_t now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int hlc_cmp(struct sim_hlc a, struct sim_hlc b)
{
	if (a.wall != b.wall)
		return a.wall < b.wall ? -1 : 1;
	return a.logical < b.logical ? -1 : a.logical > b.logical;
}

/* ---- the statement a job runs ---- */

static void sb_quoted(struct sbuf *b, const char *s, char q)
{
	char one[2] = { q, '\0' };
	sb_puts(b, one);
	for (; *s; s++) {
		char c[2] = { *s, '\0' };
		sb_puts(b, c);
		if (*s == q)
			sb_puts(b, one);
	}
	sb_puts(b, one);
}

/* CREATE CHANGEFEED FOR TABLE ... INTO 'uri' WITH ..., with the sink URI
 * as given or redacted (the description). */
static char *job_statement(const struct sim_job *j, bool redacted)
{
	struct sbuf b = {0};
	sb_puts(&b, "CREATE CHANGEFEED FOR TABLE ");
	for (size_t i = 0; i < j->ntargets; i++) {
		if (i)
			sb_puts(&b, ", TABLE ");
		sb_puts(&b, j->targets[i]);
	}
	sb_puts(&b, " INTO ");
	char *uri = redacted ? sim_job_sink_redact(j->spec.sink_uri) :
			       strdup(j->spec.sink_uri);
	if (!uri) {
		free(sb_take(&b));
		return NULL;
	}
	sb_quoted(&b, uri, '\'');
	free(uri);
	for (size_t i = 0; i < j->spec.nopts; i++) {
		sb_puts(&b, i ? ", " : " WITH OPTIONS (");
		sb_puts(&b, j->spec.opt_names[i]);
		if (j->spec.opt_values[i]) {
			sb_puts(&b, " = ");
			bool secret = redacted &&
				!strcmp(j->spec.opt_names[i], "webhook_auth_header");
			sb_quoted(&b, secret ? "redacted" : j->spec.opt_values[i],
				  '\'');
		}
	}
	if (j->spec.nopts)
		sb_puts(&b, ")");
	return sb_take(&b);
}

/* A name, double-quoted only when it needs it (as CockroachDB prints
 * names; keywords aside). */
static void sb_name(struct sbuf *b, const char *name)
{
	bool plain = (*name >= 'a' && *name <= 'z') || *name == '_';
	for (const char *p = name; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			*p == '_';
	if (plain)
		sb_puts(b, name);
	else
		sb_quoted(b, name, '"');
}

/* A target as the statement gives it: defaultdb.schema.table [FAMILY f]. */
static char *target_sql(const struct sim_target *t)
{
	struct sbuf b = {0};
	sb_puts(&b, "defaultdb.");
	sb_name(&b, t->schema ? t->schema : "public");
	sb_puts(&b, ".");
	sb_name(&b, t->table);
	if (t->family) {
		sb_puts(&b, " FAMILY ");
		sb_name(&b, t->family);
	}
	return sb_take(&b);
}

static void free_targets(struct sim_job *j)
{
	for (size_t i = 0; i < j->ntargets; i++)
		free(j->targets[i]);
	free(j->targets);
	j->targets = NULL;
	j->ntargets = 0;
}

static int set_targets(struct sim_job *j, const struct simfeed_stmt *st)
{
	char **v = calloc(st->ntargets + 1, sizeof *v);
	if (!v)
		return -1;
	for (size_t i = 0; i < st->ntargets; i++)
		if (!(v[i] = target_sql(&st->targets[i]))) {
			for (size_t k = 0; k < i; k++)
				free(v[k]);
			free(v);
			return -1;
		}
	free_targets(j);
	j->targets = v;
	j->ntargets = st->ntargets;
	return 0;
}

/* Parse what the job runs now. 1 with *out, -1 with *err. */
static int job_parse(struct sim_jobs *jobs, const struct sim_job *j,
		     struct simfeed_stmt **out, struct sim_job_spec *spec,
		     struct simfeed_error *err)
{
	char *sql = job_statement(j, false);
	if (!sql) {
		sim_error(err, "53200", "out of memory");
		return -1;
	}
	(void)jobs;
	memset(err, 0, sizeof *err);
	int rc = sim_parse_changefeed_job(sql, NULL, 0, now_ns(), out,
					  spec, err);
	free(sql);
	return rc == 1 ? 1 : -1;
}

/* ---- persistence ---- */

static void fmt_ts(int64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06d", (int)(us % 1000000));
}

/* Write the job's row and its protected timestamp record (kept while it
 * is running or paused: CockroachDB releases it when the job ends). */
static void job_save(struct sim_job *j)
{
	struct sim_jobs *jobs = j->jobs;
	char id[24], created[40], started[40], finished[40], modified[40];
	char hw_wall[24], hw_log[16], st_wall[24], st_log[16];
	j->modified_us = now_us();
	snprintf(id, sizeof id, "%" PRId64, j->id);
	fmt_ts(j->created_us, created, sizeof created);
	fmt_ts(j->started_us, started, sizeof started);
	fmt_ts(j->finished_us, finished, sizeof finished);
	fmt_ts(j->modified_us, modified, sizeof modified);
	snprintf(hw_wall, sizeof hw_wall, "%" PRId64, j->high_water.wall);
	snprintf(hw_log, sizeof hw_log, "%" PRId32, j->high_water.logical);
	snprintf(st_wall, sizeof st_wall, "%" PRId64, j->statement_time.wall);
	snprintf(st_log, sizeof st_log, "%" PRId32, j->statement_time.logical);
	char *statement = job_statement(j, false);
	char *description = job_statement(j, true);
	char *sink = sim_job_sink_redact(j->spec.sink_uri);
	struct sbuf names = {0}, topics = {0};
	sb_puts(&names, "{");
	for (size_t i = 0; i < j->ntargets; i++) {
		/* defaultdb."s"."t" -> defaultdb.s.t, t */
		char plain[512];
		size_t n = 0;
		const char *fam = strstr(j->targets[i], " FAMILY ");
		size_t end = fam ? (size_t)(fam - j->targets[i]) :
				   strlen(j->targets[i]);
		for (size_t k = 0; k < end && n + 1 < sizeof plain; k++)
			if (j->targets[i][k] != '"')
				plain[n++] = j->targets[i][k];
		plain[n] = '\0';
		if (i) {
			sb_puts(&names, ",");
			sb_puts(&topics, ",");
		}
		sb_quoted(&names, plain, '"');
		const char *dot = strrchr(plain, '.');
		sb_puts(&topics, dot ? dot + 1 : plain);
	}
	sb_puts(&names, "}");
	char *names_s = sb_take(&names), *topics_s = sb_take(&topics);
	bool protect = !strcmp(j->status, "running") ||
		       !strcmp(j->status, "paused");
	const char *params[20] = {
		id, description, j->user, j->status, j->running_status,
		created, j->started_us ? started : NULL,
		j->finished_us ? finished : NULL, modified, hw_wall, hw_log,
		j->error, sink, names_s, topics_s ? topics_s : "", "json",
		statement, st_wall, st_log, j->scan_pending ? "t" : "f",
	};
	if (statement && description && sink && names_s)
		sim_pg_exec(jobs->admin, "jobs",
			  "INSERT INTO crdbsim.changefeed_jobs VALUES ($1, $2,"
			  " $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
			  " $15, $16, $17, $18, $19, $20) ON CONFLICT (job_id) DO"
			  " UPDATE SET description = $2, status = $4,"
			  " running_status = $5, started = $7, finished = $8,"
			  " modified = $9, hw_wall = $10, hw_logical = $11,"
			  " error = $12, sink_uri = $13, full_table_names = $14,"
			  " topics = $15, statement = $17, stmt_wall = $18,"
			  " stmt_logical = $19, scan_pending = $20",
			  20, params, NULL);
	else
		sim_log("jobs: out of memory saving job %s", id);
	/* Protected from the statement time until there is a high-water. */
	struct sim_hlc pts = j->high_water.wall || j->high_water.logical ?
			     j->high_water : j->statement_time;
	char p_wall[24], p_log[16];
	snprintf(p_wall, sizeof p_wall, "%" PRId64, pts.wall);
	snprintf(p_log, sizeof p_log, "%" PRId32, pts.logical);
	const char *pp[3] = { id, p_wall, p_log };
	if (protect)
		sim_pg_exec(jobs->admin, "jobs", "INSERT INTO crdbsim.protected_timestamps"
			  " VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET"
			  " wall = $2, logical = $3", 3, pp, NULL);
	else
		sim_pg_exec(jobs->admin, "jobs", "DELETE FROM crdbsim.protected_timestamps"
			  " WHERE id = $1", 1, pp, NULL);
	free(statement);
	free(description);
	free(sink);
	free(names_s);
	free(topics_s);
}

static void set_text(char **field, const char *v)
{
	free(*field);
	*field = v ? strdup(v) : NULL;
}

/* ---- running a job ---- */

static void job_start(struct sim_job *j);
static void job_stop_run(struct sim_job *j);

static void job_finish(struct sim_job *j, const char *status,
		       const char *error)
{
	job_stop_run(j);
	snprintf(j->status, sizeof j->status, "%s", status);
	set_text(&j->error, error);
	set_text(&j->running_status, NULL);
	j->finished_us = now_us();
	job_save(j);
	sim_log("job %" PRId64 ": %s%s%s", j->id, status, error ? ": " : "",
		error ? error : "");
}

/* The changefeed stopped for a retryable reason: start again from the
 * high-water mark after a backoff (CockroachDB retries for ever). */
static void job_retry(struct sim_job *j, const char *reason)
{
	char status[600];
	job_stop_run(j);
	snprintf(status, sizeof status, "transient error: %s", reason);
	set_text(&j->running_status, status);
	j->backoff_ms = j->backoff_ms ? j->backoff_ms * 2 : JOB_RETRY_FIRST_MS;
	if (j->backoff_ms > JOB_RETRY_MAX_MS)
		j->backoff_ms = JOB_RETRY_MAX_MS;
	struct timeval tv = { (time_t)(j->backoff_ms / 1000),
			      (suseconds_t)(j->backoff_ms % 1000) * 1000 };
	event_add(j->restart, &tv);
	job_save(j);
	sim_log("job %" PRId64 ": %s; restarting in %" PRId64 " ms", j->id,
		status, j->backoff_ms);
}

static void on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct sim_job *j = arg;
	(void)fd;
	(void)what;
	if (!strcmp(j->status, "running"))
		job_start(j);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sim_webhook_free(arg);
}

/* Errors a changefeed does not retry (CockroachDB's terminal errors). */
static bool feed_error_terminal(const struct simfeed_error *err)
{
	return strstr(err->message, "GC threshold") ||
	       strstr(err->message, "does not exist") ||
	       strstr(err->message, "schema change") ||
	       strstr(err->message, "rangefeeds require") ||
	       strstr(err->message, "cannot target");
}

static void feed_row(void *arg, const char *table, size_t table_len,
		     const char *key, size_t key_len, const char *value,
		     size_t value_len)
{
	struct sim_job *j = arg;
	(void)table_len;
	if (!j->wh)
		return;
	if (table) {
		if (sim_webhook_message(j->wh, key, key_len, value,
					value_len) != 0)
			job_retry(j, "crdbsim: the webhook sink refused a message");
		return;
	}
	if (!j->wants_resolved)
		return;
	/* {"resolved": ...}, or {"__crdb__": {"resolved": ...}} (bare) */
	json_t *doc = json_loadb(value, value_len, 0, NULL);
	json_t *crdb = json_object_get(doc, "__crdb__");
	const char *hlc = json_string_value(json_object_get(crdb ? crdb : doc,
							    "resolved"));
	if (hlc && sim_webhook_resolved(j->wh, hlc) != 0)
		job_retry(j, "crdbsim: the webhook sink refused a resolved timestamp");
	json_decref(doc);
}

static void feed_error(void *arg, const struct simfeed_error *err)
{
	struct sim_job *j = arg;
	j->feed = NULL;         /* the engine ends it */
	if (feed_error_terminal(err))
		job_finish(j, "failed", err->message);
	else
		job_retry(j, err->message);
}

static void feed_complete(void *arg, uint64_t nrows)
{
	struct sim_job *j = arg;
	(void)nrows;
	j->feed = NULL;
	job_finish(j, "succeeded", NULL);
}

static bool feed_can_send(void *arg)
{
	struct sim_job *j = arg;
	return j->wh && sim_webhook_can_send(j->wh);
}

static void wh_resolved_acked(void *arg, const char *hlc)
{
	struct sim_job *j = arg;
	j->in_sink_callback++;
	struct sim_hlc ts = { 0, 0 };
	char *end;
	ts.wall = strtoll(hlc, &end, 10);
	if (*end == '.')
		ts.logical = (int32_t)strtol(end + 1, NULL, 10);
	if (hlc_cmp(ts, j->high_water) <= 0) {
		j->in_sink_callback--;
		return;
	}
	j->high_water = ts;
	j->backoff_ms = 0;      /* progress: the next failure starts over */
	char status[96];
	/* hlc.Timestamp's String(): seconds.nanoseconds,logical */
	snprintf(status, sizeof status, "running: resolved=%" PRId64 ".%09"
		 PRId64 ",%d", ts.wall / 1000000000, ts.wall % 1000000000,
		 (int)ts.logical);
	set_text(&j->running_status, status);
	job_save(j);
	j->in_sink_callback--;
}

static void wh_failed(void *arg, const char *reason)
{
	struct sim_job *j = arg;
	j->in_sink_callback++;
	job_retry(j, reason);
	j->in_sink_callback--;
}

static void wh_writable(void *arg)
{
	struct sim_job *j = arg;
	j->in_sink_callback++;
	if (j->feed)
		simfeed_resume(j->feed);
	j->in_sink_callback--;
}

/* Stop the changefeed and its sink: at once, or from the loop when this
 * runs inside one of the sink's callbacks (no callback comes after). */
static void job_stop_run(struct sim_job *j)
{
	if (j->feed)
		simfeed_stop(j->feed);
	j->feed = NULL;
	if (j->wh && !j->in_sink_callback) {
		sim_webhook_free(j->wh);
	} else if (j->wh && event_base_once(j->jobs->base, -1, EV_TIMEOUT,
					    on_reap, j->wh, NULL) != 0) {
		sim_log("job %" PRId64 ": cannot free its sink", j->id);
	}
	j->wh = NULL;
	event_del(j->restart);
}

/* The feed as it restarts: from the high-water mark (or the statement
 * time) without a scan, unless ALTER ... ADD asked for one. */
static void adjust_for_restart(const struct sim_job *j,
			       struct simfeed_stmt *st, bool first)
{
	bool hw = j->high_water.wall || j->high_water.logical;
	bool scan = st->initial_scan == SIM_SCAN_YES ||
		    (st->initial_scan == SIM_SCAN_DEFAULT && !st->has_cursor);
	if (st->envelope == SIM_ENV_WRAPPED) {
		st->key_in_value = true;
		st->topic_in_value = true;
	}
	if (j->scan_pending) {
		st->has_cursor = true;
		st->cursor = hw ? j->high_water : j->statement_time;
		st->initial_scan = SIM_SCAN_YES;
		st->gc_protected = true;
		return;
	}
	if (first)
		return;
	if (hw || !scan) {
		st->has_cursor = true;
		st->cursor = hw ? j->high_water : j->statement_time;
		st->initial_scan = SIM_SCAN_NO;
		st->gc_protected = true;
	}
}

static int job_run(struct sim_job *j, bool first, struct simfeed_error *err)
{
	struct sim_jobs *jobs = j->jobs;
	struct simfeed_stmt *st = NULL;
	struct sim_job_spec spec;
	if (job_parse(jobs, j, &st, &spec, err) < 0)
		return -1;
	struct sim_webhook_config cfg;
	struct sim_job_sink sink;
	if (sim_job_sink_parse(&spec, jobs->nodes, &sink, &cfg, err) < 0) {
		sim_stmt_free(st);
		sim_job_spec_clear(&spec);
		return -1;
	}
	adjust_for_restart(j, st, first);
	j->wants_resolved = st->has_resolved;
	struct sim_webhook_owner owner = {
		.resolved_acked = wh_resolved_acked,
		.failed = wh_failed,
		.writable = wh_writable,
		.arg = j,
	};
	char errbuf[256] = "";
	j->wh = sim_webhook_new(jobs->base, &cfg, &owner, errbuf, sizeof errbuf);
	sim_job_sink_clear(&sink);
	sim_job_spec_clear(&spec);
	if (!j->wh) {
		sim_stmt_free(st);
		sim_error(err, "XXUUU", "%s", errbuf[0] ? errbuf :
			"crdbsim: cannot create the webhook sink");
		return -1;
	}
	sim_webhook_set_duplicate_posts(j->wh, jobs->duplicate_posts);
	j->out = (struct simfeed_out){
		.arg = j,
		.row = feed_row,
		.error = feed_error,
		.complete = feed_complete,
		.can_send = feed_can_send,
	};
	j->scan_pending = false;
	j->started_us = now_us();
	j->feed = simfeed_start(jobs->engine, st, &j->out);
	if (!j->feed && !strcmp(j->status, "running") && j->wh) {
		sim_error(err, "XXUUU", "crdbsim: the changefeed engine could not start the feed");
		return -1;
	}
	return 0;
}

static void job_start(struct sim_job *j)
{
	struct simfeed_error err;
	if (job_run(j, false, &err) < 0)
		job_retry(j, err.message);
	else
		job_save(j);
}

/* ---- the job list ---- */

static struct sim_job *find_job(struct sim_jobs *jobs, int64_t id)
{
	for (struct sim_job *j = jobs->list; j; j = j->next)
		if (j->id == id)
			return j;
	return NULL;
}

static void job_free(struct sim_job *j)
{
	if (j->feed)
		simfeed_stop(j->feed);
	if (j->wh)
		sim_webhook_free(j->wh);
	if (j->restart)
		event_free(j->restart);
	free_targets(j);
	sim_job_spec_clear(&j->spec);
	free(j->user);
	free(j->running_status);
	free(j->error);
	free(j);
}

static struct sim_job *job_new(struct sim_jobs *jobs, int64_t id,
			       const char *user)
{
	struct sim_job *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->jobs = jobs;
	j->id = id;
	j->user = strdup(user ? user : "root");
	j->restart = evtimer_new(jobs->base, on_restart, j);
	if (!j->user || !j->restart) {
		job_free(j);
		return NULL;
	}
	snprintf(j->status, sizeof j->status, "running");
	return j;
}

/* CockroachDB's job ids are large positive int64s (unique_rowid-like). */
static int64_t new_job_id(struct sim_jobs *jobs)
{
	int64_t id;
	do {
		uint64_t r = ((uint64_t)random() << 33) ^
			     ((uint64_t)random() << 2) ^ (uint64_t)random();
		id = (int64_t)(r & 0x7fffffffffffffffULL);
	} while (id < 1000000000000000LL || find_job(jobs, id));
	return id;
}

int sim_jobs_create(struct sim_jobs *jobs, const char *sql,
		    const char *const *params, int nparams, const char *user,
		    int64_t *job_id, struct simfeed_error *err)
{
	struct simfeed_stmt *st = NULL;
	struct sim_job_spec spec;
	int64_t now = now_ns();
	memset(err, 0, sizeof *err);
	if (sim_parse_changefeed_job(sql, params, nparams, now, &st, &spec,
				     err) != 1) {
		if (!err->sqlstate[0])
			sim_error(err, "42601", "at or near \"EOF\": syntax error");
		return -1;
	}
	if (jobs->count >= JOB_MAX) {
		sim_stmt_free(st);
		sim_job_spec_clear(&spec);
		sim_error(err, "53200", "crdbsim: too many changefeed jobs (%d)",
			JOB_MAX);
		return -1;
	}
	struct sim_webhook_config cfg;
	struct sim_job_sink sink;
	if (sim_job_sink_parse(&spec, jobs->nodes, &sink, &cfg, err) < 0 ||
	    sim_job_sink_check_targets(jobs->admin, st, err) < 0) {
		sim_stmt_free(st);
		sim_job_spec_clear(&spec);
		return -1;
	}
	sim_job_sink_clear(&sink);
	struct sim_job *j = job_new(jobs, new_job_id(jobs), user);
	if (!j || set_targets(j, st) < 0) {
		if (j)
			job_free(j);
		sim_stmt_free(st);
		sim_job_spec_clear(&spec);
		sim_error(err, "53200", "out of memory");
		return -1;
	}
	j->spec = spec;
	j->statement_time = st->has_cursor ? st->cursor :
			    (struct sim_hlc){ now, 0 };
	sim_stmt_free(st);
	j->created_us = now_us();
	if (job_run(j, true, err) < 0) {
		job_free(j);
		return -1;
	}
	j->next = jobs->list;
	jobs->list = j;
	jobs->count++;
	job_save(j);
	*job_id = j->id;
	sim_log("job %" PRId64 ": created", j->id);
	return 0;
}

static int job_lookup(struct sim_jobs *jobs, int64_t id,
		      struct sim_job **out, struct simfeed_error *err)
{
	*out = find_job(jobs, id);
	if (*out)
		return 0;
	/* [INF] jobs.ErrJobNotFound's wording */
	sim_error(err, "XXUUU", "job with ID %" PRId64 " does not exist", id);
	return -1;
}

/* [INF] the jobs registry's wording for a state that does not allow it */
static int refuse(const struct sim_job *j, const char *verb,
		  struct simfeed_error *err)
{
	return sim_error(err, "XXUUU", "job %" PRId64 ": cannot %s job with status %s",
			 j->id, verb, j->status);
}

int sim_jobs_control(struct sim_jobs *jobs, int64_t job_id,
		     enum sim_job_control what, struct simfeed_error *err)
{
	struct sim_job *j;
	if (job_lookup(jobs, job_id, &j, err) < 0)
		return -1;
	bool running = !strcmp(j->status, "running");
	bool paused = !strcmp(j->status, "paused");
	switch (what) {
	case SIM_JOB_PAUSE:
		if (paused)
			return 0;
		if (!running)
			return refuse(j, "pause", err);
		job_stop_run(j);
		snprintf(j->status, sizeof j->status, "paused");
		set_text(&j->running_status, NULL);
		job_save(j);
		return 0;
	case SIM_JOB_RESUME:
		if (running)
			return 0;
		if (!paused)
			return refuse(j, "resume", err);
		snprintf(j->status, sizeof j->status, "running");
		j->backoff_ms = 0;
		job_start(j);
		return 0;
	case SIM_JOB_CANCEL:
		if (!running && !paused)
			return refuse(j, "cancel", err);
		job_finish(j, "canceled", "job canceled by user");
		return 0;
	}
	return -1;
}

/* The scheme of a sink URI, lower-cased, into buf. */
static void uri_scheme(const char *uri, char *buf, size_t len)
{
	const char *sep = strstr(uri, "://");
	size_t n = sep ? (size_t)(sep - uri) : 0;
	snprintf(buf, len, "%.*s", (int)n, uri);
	for (char *p = buf; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

/* SET sink = 'uri' (same scheme only) / UNSET sink (refused). */
static int alter_sink(struct sim_job *j, const struct sim_job_alter_cmd *c,
		      struct simfeed_error *err)
{
	char was[64], now[64];
	if (c->what == SIM_ALTER_UNSET || !c->value) {
		sim_error(err, "22023", "cannot unset option \"sink\"");
		return -1;
	}
	uri_scheme(j->spec.sink_uri, was, sizeof was);
	uri_scheme(c->value, now, sizeof now);
	if (strcmp(was, now) != 0) {
		/* [INF] alter_changefeed_stmt.go's wording */
		sim_error(err, "22023", "New sink type \"%s\" does not match original "
			"sink type \"%s\". Altering the sink type of a changefeed is "
			"disallowed, consider creating a new changefeed instead.",
			now, was);
		return -1;
	}
	char *uri = strdup(c->value);
	if (!uri) {
		sim_error(err, "53200", "out of memory");
		return -1;
	}
	free(j->spec.sink_uri);
	j->spec.sink_uri = uri;
	return 0;
}

/* Apply one ALTER command to the targets or options. */
static int alter_one(struct sim_job *j, const struct sim_job_alter_cmd *c,
		     struct simfeed_error *err)
{
	struct sim_job_spec *sp = &j->spec;
	if (c->what == SIM_ALTER_ADD || c->what == SIM_ALTER_DROP) {
		/* Parse the target through the changefeed parser. */
		char *sql = NULL;
		if (asprintf(&sql, "CREATE CHANGEFEED FOR TABLE %s", c->arg) < 0) {
			sim_error(err, "53200", "out of memory");
			return -1;
		}
		struct simfeed_stmt *st = NULL;
		int rc = sim_parse_changefeed(sql, NULL, 0, now_ns(), &st, err);
		free(sql);
		if (rc != 1)
			return -1;
		char *t = target_sql(&st->targets[0]);
		sim_stmt_free(st);
		if (!t) {
			sim_error(err, "53200", "out of memory");
			return -1;
		}
		size_t at = j->ntargets;
		for (size_t i = 0; i < j->ntargets; i++)
			if (!strcmp(j->targets[i], t))
				at = i;
		if (c->what == SIM_ALTER_ADD) {
			if (at < j->ntargets) {
				free(t);
				sim_error(err, "XXUUU", "target \"%s\" already watched by changefeed",
					c->arg);
				return -1;
			}
			char **v = realloc(j->targets, (j->ntargets + 1) * sizeof *v);
			if (!v) {
				free(t);
				sim_error(err, "53200", "out of memory");
				return -1;
			}
			j->targets = v;
			j->targets[j->ntargets++] = t;
			/* no scan of the new table unless WITH initial_scan */
			j->scan_pending |= c->scan;
			return 0;
		}
		free(t);
		if (at == j->ntargets) {
			sim_error(err, "XXUUU", "target \"%s\" already not watched by changefeed",
				c->arg);
			return -1;
		}
		if (j->ntargets == 1) {
			sim_error(err, "XXUUU", "cannot drop all targets");
			return -1;
		}
		free(j->targets[at]);
		memmove(j->targets + at, j->targets + at + 1,
			(j->ntargets - at - 1) * sizeof *j->targets);
		j->ntargets--;
		return 0;
	}
	static const char *const fixed[] = { "cursor", "initial_scan",
		"no_initial_scan", "initial_scan_only", "end_time", NULL };
	for (int i = 0; fixed[i]; i++)
		if (!strcmp(c->arg, fixed[i])) {
			sim_error(err, "22023", "cannot alter option \"%s\"", c->arg);
			return -1;
		}
	if (!strcmp(c->arg, "sink"))
		return alter_sink(j, c, err);
	size_t at = sp->nopts;
	for (size_t i = 0; i < sp->nopts; i++)
		if (!strcmp(sp->opt_names[i], c->arg))
			at = i;
	if (c->what == SIM_ALTER_UNSET) {
		if (at == sp->nopts)
			return 0;
		free(sp->opt_names[at]);
		free(sp->opt_values[at]);
		memmove(sp->opt_names + at, sp->opt_names + at + 1,
			(sp->nopts - at - 1) * sizeof *sp->opt_names);
		memmove(sp->opt_values + at, sp->opt_values + at + 1,
			(sp->nopts - at - 1) * sizeof *sp->opt_values);
		sp->nopts--;
		return 0;
	}
	char *value = c->value ? strdup(c->value) : NULL;
	if (c->value && !value) {
		sim_error(err, "53200", "out of memory");
		return -1;
	}
	if (at < sp->nopts) {
		free(sp->opt_values[at]);
		sp->opt_values[at] = value;
		return 0;
	}
	char **n = realloc(sp->opt_names, (sp->nopts + 1) * sizeof *n);
	if (n)
		sp->opt_names = n;
	char **v = n ? realloc(sp->opt_values, (sp->nopts + 1) * sizeof *v) : NULL;
	if (v)
		sp->opt_values = v;
	char *name = strdup(c->arg);
	if (!n || !v || !name) {
		free(name);
		free(value);
		sim_error(err, "53200", "out of memory");
		return -1;
	}
	sp->opt_names[sp->nopts] = name;
	sp->opt_values[sp->nopts] = value;
	sp->nopts++;
	return 0;
}

int sim_jobs_alter(struct sim_jobs *jobs, int64_t job_id,
		   const struct sim_job_alter_cmd *cmds, size_t ncmds,
		   char **description, struct simfeed_error *err)
{
	struct sim_job *j;
	if (job_lookup(jobs, job_id, &j, err) < 0)
		return -1;
	if (strcmp(j->status, "paused") != 0) {
		/* alter_changefeed_stmt.go */
		sim_error(err, "XXUUU", "job %" PRId64 " is not paused", job_id);
		return -1;
	}
	/* On a copy: a failing command or a statement that no longer parses
	 * leaves the job as it was. */
	char *before = job_statement(j, false);
	if (!before) {
		sim_error(err, "53200", "out of memory");
		return -1;
	}
	bool scan_before = j->scan_pending;
	int rc = 0;
	for (size_t i = 0; i < ncmds && rc == 0; i++)
		rc = alter_one(j, &cmds[i], err);
	struct simfeed_stmt *st = NULL;
	struct sim_job_spec spec;
	if (rc == 0 && job_parse(jobs, j, &st, &spec, err) == 1) {
		struct sim_webhook_config cfg;
		struct sim_job_sink sink;
		rc = sim_job_sink_parse(&spec, jobs->nodes, &sink, &cfg, err);
		if (rc == 0) {
			sim_job_sink_clear(&sink);
			rc = sim_job_sink_check_targets(jobs->admin, st, err);
		}
		sim_stmt_free(st);
		sim_job_spec_clear(&spec);
	} else {
		rc = -1;
	}
	if (rc < 0) {
		/* back to the statement as it was */
		struct simfeed_error ignored;
		if (sim_parse_changefeed_job(before, NULL, 0, now_ns(), &st,
					     &spec, &ignored) == 1) {
			set_targets(j, st);
			sim_job_spec_clear(&j->spec);
			j->spec = spec;
			sim_stmt_free(st);
		}
		j->scan_pending = scan_before;
		free(before);
		return -1;
	}
	free(before);
	job_save(j);
	*description = job_statement(j, true);
	if (!*description) {
		sim_error(err, "53200", "out of memory");
		return -1;
	}
	return 0;
}

int sim_jobs_list(const struct sim_jobs *jobs, char *buf, size_t len)
{
	int n = 0;
	size_t used = 0;
	buf[0] = '\0';
	for (const struct sim_job *j = jobs->list; j; j = j->next) {
		char hw[48] = "-";
		if (j->high_water.wall || j->high_water.logical)
			sim_hlc_format(j->high_water, hw, sizeof hw);
		const char *why = j->error ? j->error :
				  j->running_status ? j->running_status : "-";
		int w = snprintf(buf + used, len - used, "%s%" PRId64 " %s %s %s",
				 n ? "; " : "", j->id, j->status, hw, why);
		if (w < 0 || (size_t)w >= len - used) {
			buf[used] = '\0';
			break;
		}
		used += (size_t)w;
		n++;
	}
	return n;
}

void sim_jobs_set_licensed(struct sim_jobs *jobs, bool on)
{
	jobs->unlicensed = !on;
}

bool sim_jobs_licensed(const struct sim_jobs *jobs)
{
	return !jobs->unlicensed;
}

void sim_jobs_set_duplicate_posts(struct sim_jobs *jobs, bool on)
{
	jobs->duplicate_posts = on;
	for (struct sim_job *j = jobs->list; j; j = j->next)
		if (j->wh)
			sim_webhook_set_duplicate_posts(j->wh, on);
}

/* ---- protected timestamp age (§16.5) ---- */

/* Go's time.Duration String() of ms milliseconds. */
static void go_duration(int64_t ms, char *buf, size_t len)
{
	char sec[32];
	if (ms < 1000) {
		snprintf(buf, len, "%" PRId64 "ms", ms);
		return;
	}
	snprintf(sec, sizeof sec, "%.3f", (double)(ms % 60000) / 1000.0);
	size_t n = strlen(sec);
	while (n > 0 && sec[n - 1] == '0')
		sec[--n] = '\0';
	if (n > 0 && sec[n - 1] == '.')
		sec[--n] = '\0';
	int64_t h = ms / 3600000, m = ms / 60000 % 60;
	if (h)
		snprintf(buf, len, "%" PRId64 "h%" PRId64 "m%ss", h, m, sec);
	else if (m)
		snprintf(buf, len, "%" PRId64 "m%ss", m, sec);
	else
		snprintf(buf, len, "%ss", sec);
}

/* gc_protect_expires_after, else the cluster's 96 h; 0: no limit. */
static int64_t pts_limit_ms(const struct sim_job *j)
{
	for (size_t i = 0; i < j->spec.nopts; i++) {
		int64_t ms;
		if (!strcmp(j->spec.opt_names[i], "gc_protect_expires_after") &&
		    j->spec.opt_values[i] &&
		    sim_parse_setting_duration(j->spec.opt_values[i], &ms) == 0)
			return ms;
	}
	return JOB_PTS_MAX_AGE_MS;
}

static void on_pts_check(evutil_socket_t fd, short what, void *arg)
{
	struct sim_jobs *jobs = arg;
	int64_t now = now_ns();
	(void)fd;
	(void)what;
	for (struct sim_job *j = jobs->list; j; j = j->next) {
		if (strcmp(j->status, "running") && strcmp(j->status, "paused"))
			continue;
		struct sim_hlc pts = j->high_water.wall || j->high_water.logical ?
				     j->high_water : j->statement_time;
		int64_t limit = pts_limit_ms(j), age = (now - pts.wall) / 1000000;
		if (limit <= 0 || age <= limit)
			continue;
		char why[300], a[48], l[48];
		go_duration(age, a, sizeof a);
		go_duration(limit, l, sizeof l);
		/* the record's id is the job's here */
		snprintf(why, sizeof why, "protected timestamp records %" PRId64
			 " as of %" PRId64 ".%09" PRId64 ",%d (age %s) exceeds job "
			 "configured limit of %s", j->id, pts.wall / 1000000000,
			 pts.wall % 1000000000, (int)pts.logical, a, l);
		job_finish(j, "canceled", why);
	}
}

/* ---- start-up ---- */

static const char jobs_table_sql[] =
	/* UNLOGGED: logical decoding, thus the changefeed history, never
	 * sees it; it still outlives crdbsim. */
	"CREATE UNLOGGED TABLE IF NOT EXISTS crdbsim.changefeed_jobs ("
	" job_id bigint PRIMARY KEY, description text NOT NULL,"
	" user_name text NOT NULL, status text NOT NULL,"
	" running_status text, created timestamp NOT NULL,"
	" started timestamp, finished timestamp,"
	" modified timestamp NOT NULL, hw_wall bigint NOT NULL,"
	" hw_logical integer NOT NULL, error text, sink_uri text NOT NULL,"
	" full_table_names text[] NOT NULL, topics text NOT NULL,"
	" format text NOT NULL, statement text NOT NULL,"
	" stmt_wall bigint NOT NULL, stmt_logical integer NOT NULL,"
	" scan_pending boolean NOT NULL)";

static int64_t col_us(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 :
	       strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void load_jobs(struct sim_jobs *jobs)
{
	PGresult *r;
	if (!sim_pg_exec(jobs->admin, "jobs",
		       "SELECT job_id, statement, user_name, status,"
		       " running_status, error, hw_wall, hw_logical, stmt_wall,"
		       " stmt_logical, scan_pending,"
		       " (extract(epoch FROM created) * 1000000)::bigint,"
		       " (extract(epoch FROM started) * 1000000)::bigint,"
		       " (extract(epoch FROM finished) * 1000000)::bigint"
		       " FROM crdbsim.changefeed_jobs ORDER BY created", 0,
		       NULL, &r))
		return;
	for (int i = 0; i < PQntuples(r) && jobs->count < JOB_MAX; i++) {
		int64_t id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		struct sim_job *j = job_new(jobs, id, PQgetvalue(r, i, 2));
		struct simfeed_stmt *st = NULL;
		struct sim_job_spec spec;
		struct simfeed_error err;
		if (!j)
			break;
		if (sim_parse_changefeed_job(PQgetvalue(r, i, 1), NULL, 0,
					     now_ns(), &st, &spec, &err) != 1 ||
		    set_targets(j, st) < 0) {
			sim_log("job %" PRId64 ": cannot load: %s", id, err.message);
			sim_stmt_free(st);
			job_free(j);
			continue;
		}
		sim_stmt_free(st);
		j->spec = spec;
		snprintf(j->status, sizeof j->status, "%s", PQgetvalue(r, i, 3));
		if (!PQgetisnull(r, i, 4))
			set_text(&j->running_status, PQgetvalue(r, i, 4));
		if (!PQgetisnull(r, i, 5))
			set_text(&j->error, PQgetvalue(r, i, 5));
		j->high_water.wall = strtoll(PQgetvalue(r, i, 6), NULL, 10);
		j->high_water.logical = (int32_t)atoi(PQgetvalue(r, i, 7));
		j->statement_time.wall = strtoll(PQgetvalue(r, i, 8), NULL, 10);
		j->statement_time.logical = (int32_t)atoi(PQgetvalue(r, i, 9));
		j->scan_pending = !strcmp(PQgetvalue(r, i, 10), "t");
		j->created_us = col_us(r, i, 11);
		j->started_us = col_us(r, i, 12);
		j->finished_us = col_us(r, i, 13);
		j->next = jobs->list;
		jobs->list = j;
		jobs->count++;
		if (!strcmp(j->status, "running")) {
			sim_log("job %" PRId64 ": resuming", id);
			job_start(j);
		}
	}
	PQclear(r);
}

struct sim_jobs *sim_jobs_new(struct event_base *base,
			      struct simfeed_engine *engine, PGconn *admin,
			      int webhook_nodes, char *errbuf, size_t errlen)
{
	struct sim_jobs *jobs = calloc(1, sizeof *jobs);
	if (!jobs) {
		snprintf(errbuf, errlen, "jobs: out of memory");
		return NULL;
	}
	jobs->base = base;
	jobs->engine = engine;
	jobs->admin = admin;
	jobs->nodes = webhook_nodes > 0 ? webhook_nodes : 1;
	srandom((unsigned)(now_us() ^ (int64_t)getpid()));
	if (!sim_pg_exec(jobs->admin, "jobs", "CREATE SCHEMA IF NOT EXISTS crdbsim", 0, NULL,
		       NULL) ||
	    !sim_pg_exec(jobs->admin, "jobs", jobs_table_sql, 0, NULL, NULL)) {
		snprintf(errbuf, errlen, "jobs: cannot create crdbsim.changefeed_jobs");
		free(jobs);
		return NULL;
	}
	jobs->pts_check = event_new(base, -1, EV_PERSIST, on_pts_check, jobs);
	struct timeval every = { JOB_PTS_CHECK_MS / 1000,
				 JOB_PTS_CHECK_MS % 1000 * 1000 };
	if (!jobs->pts_check || event_add(jobs->pts_check, &every) != 0) {
		snprintf(errbuf, errlen, "jobs: out of memory");
		if (jobs->pts_check)
			event_free(jobs->pts_check);
		free(jobs);
		return NULL;
	}
	load_jobs(jobs);
	return jobs;
}

void sim_jobs_free(struct sim_jobs *jobs)
{
	if (!jobs)
		return;
	while (jobs->list) {
		struct sim_job *j = jobs->list;
		jobs->list = j->next;
		job_free(j);
	}
	event_free(jobs->pts_check);
	free(jobs);
}
