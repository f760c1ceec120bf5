/*
 * job.c: the changefeed job behind a job feed (job.h), on its own libpq
 * connection, non-blocking on the event loop. One statement is in flight
 * at a time; the state says which, and job_set_state() is the only
 * function that changes it:
 *
 *   CONNECTING -> FINDING (SHOW CHANGEFEED JOB id: the id from job_id =,
 *                          or from the id file, or known before a
 *                          reconnect)
 *              -> SEARCHING (no id: SHOW CHANGEFEED JOBS, for a job of
 *                            ours whose id was never written) -> FINDING
 *                            or CREATING (CREATE CHANGEFEED ... INTO)
 *   FINDING, CREATING -> WATCHING (idle; the timer polls) <-> BUSY (SHOW
 *                          CHANGEFEED JOB, PAUSE/RESUME/CANCEL JOB, or the
 *                          PAUSE JOB, ALTER CHANGEFEED, RESUME JOB of a
 *                          reconfiguration)
 *   any -> BACKOFF (connection lost, transient error) -> CONNECTING
 *   any -> STOPPED (failed; or cancelled by us and seen cancelled)
 *
 * The crash between CREATE's answer and the id file: the id is written
 * (atomically, durably) before anything else is done with the answer, and
 * a start without an id first looks among SHOW CHANGEFEED JOBS for a job
 * that is not finished and whose sink_uri is this feed's endpoint
 * (webhook-https://ADVERTISE/PATH), adopting the newest such job instead
 * of creating another (the others are reported in last_problem). An
 * endpoint names one feed of one crdbfeedd, so such a job is ours.
 *
 * Secrets (the authorization, the key inside the sink URI) never reach a
 * log line or a status: statements holding them are not logged, and the
 * server's messages are redacted of them.
 *
 * The owner's callbacks may call job_request, job_reconfigure and
 * job_get_status; failed() may also job_free() the job (nothing touches it
 * after that call), changed() may not.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "job.h"
#include "job_int.h"

#include "backoff.h"
#include "clock.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A statement not answered in this time: the connection is taken as
 * lost (the server or the network hangs). */
#define JOB_STATEMENT_TIMEOUT_MS 30000
/* While a reconfiguration waits for its PAUSE JOB to take effect. */
#define JOB_PAUSE_WAIT_MS 200
#define JOB_QUEUE_MAX 8

enum job_state {
	JOB_IDLE,
	JOB_CONNECTING,
	JOB_FINDING,
	JOB_SEARCHING,
	JOB_CREATING,
	JOB_WATCHING,
	JOB_BUSY,
	JOB_BACKOFF,
	JOB_STOPPED,
};

static const char *const state_names[] = {
	"idle", "connecting", "finding", "searching", "creating", "watching",
	"busy", "backoff", "stopped",
};

/* What a BUSY statement is. */
enum job_busy {
	BUSY_POLL,         /* SHOW CHANGEFEED JOB */
	BUSY_CONTROL,      /* the queue's head: PAUSE/RESUME/CANCEL JOB */
	BUSY_ALTER_PAUSE,  /* PAUSE JOB before ALTER */
	BUSY_ALTER,        /* ALTER CHANGEFEED */
};

struct job {
	struct event_base *base;
	struct job_config cfg;     /* our copy */
	struct job_owner owner;
	struct job_pem ca, cert, key;
	char *sink_uri;            /* holds the key */

	enum job_state state;
	enum job_busy busy;
	crdb_conn *conn;
	bool connected;            /* connect finished */
	struct event *sock_ev;
	struct event *timer;       /* poll, backoff, statement timeout */
	int64_t backoff_step;
	PGresult *result;          /* the last result of the statement */

	struct job_status st;
	bool we_canceled;          /* CANCEL JOB was answered */
	bool id_unsaved;           /* created, but the id file not written */
	int64_t next_poll_mono;

	enum job_action queue[JOB_QUEUE_MAX];
	size_t nqueue;
	char *alter_cmds;          /* waiting: "ADD ... SET ..." */
	bool alter_paused;         /* our PAUSE for the ALTER was answered */
	bool alter_resume;         /* the job ran before: RESUME after */
};

static void job_after_connect(struct job *job);
static void job_next(struct job *job);
static void on_io(evutil_socket_t fd, short what, void *arg);

/* ---- the configuration copy ------------------------------------------------- */

static void job_config_free_copy(struct job_config *c)
{
	free((char *)c->who);
	free((char *)c->conninfo);
	free((char *)c->id_path);
	free((char *)c->cursor);
	free((char *)c->advertise);
	free((char *)c->path);
	free((char *)c->ca_cert_file);
	free((char *)c->client_cert_file);
	free((char *)c->client_key_file);
	if (c->authorization) {
		explicit_bzero((char *)c->authorization, strlen(c->authorization));
		free((char *)c->authorization);
	}
	for (size_t i = 0; i < c->ntables; i++) {
		if (c->tables)
			free(c->tables[i]);
		if (c->families)
			free(c->families[i]);
	}
	free((void *)c->tables);
	free((void *)c->families);
	for (size_t i = 0; c->options && i < c->noptions; i++) {
		free(c->options[i].name);
		free(c->options[i].value);
	}
	free((void *)c->options);
	memset(c, 0, sizeof(*c));
}

static bool dup_str(const char **dst, const char *src)
{
	*dst = NULL;
	return !src || (*dst = strdup(src));
}

/* A deep copy; false (and nothing held) when memory runs out. */
static bool job_config_copy(struct job_config *d, const struct job_config *s)
{
	memset(d, 0, sizeof(*d));
	d->adopt_job_id = s->adopt_job_id;
	d->diff = s->diff;
	d->resolved_ms = s->resolved_ms;
	d->client_timeout_ms = s->client_timeout_ms;
	d->poll_ms = s->poll_ms;
	d->backoff_initial_ms = s->backoff_initial_ms;
	d->backoff_max_ms = s->backoff_max_ms;
	bool ok = dup_str(&d->who, s->who ? s->who : "job") &&
		  dup_str(&d->conninfo, s->conninfo) &&
		  dup_str(&d->id_path, s->id_path) &&
		  dup_str(&d->cursor, s->cursor) &&
		  dup_str(&d->advertise, s->advertise) &&
		  dup_str(&d->path, s->path) &&
		  dup_str(&d->ca_cert_file, s->ca_cert_file) &&
		  dup_str(&d->client_cert_file, s->client_cert_file) &&
		  dup_str(&d->client_key_file, s->client_key_file) &&
		  dup_str(&d->authorization, s->authorization);
	char **tables = ok ? calloc(s->ntables + 1, sizeof(char *)) : NULL;
	char **families = ok ? calloc(s->ntables + 1, sizeof(char *)) : NULL;
	struct feed_option *options = ok ? calloc(s->noptions + 1, sizeof(*options)) : NULL;
	d->tables = tables;
	d->families = families;
	d->options = options;
	d->ntables = s->ntables;
	d->noptions = s->noptions;
	ok = ok && tables && families && options;
	for (size_t i = 0; ok && i < s->ntables; i++) {
		ok = (tables[i] = strdup(s->tables[i])) != NULL;
		if (ok && s->families && s->families[i])
			ok = (families[i] = strdup(s->families[i])) != NULL;
	}
	for (size_t i = 0; ok && i < s->noptions; i++) {
		ok = (options[i].name = strdup(s->options[i].name)) != NULL;
		if (ok && s->options[i].value)
			ok = (options[i].value = strdup(s->options[i].value)) != NULL;
	}
	if (!ok)
		job_config_free_copy(d);
	return ok;
}

/* Read the certificate files and build the sink URI for cfg. */
static char *load_sink(const struct job_config *cfg, struct job_pem *ca,
		       struct job_pem *cert, struct job_pem *key, char *errbuf,
		       size_t errlen)
{
	const char *ca_file = cfg->ca_cert_file;

	if (job_pem_read(ca_file, ca, errbuf, errlen) < 0 ||
	    job_pem_read(cfg->client_cert_file, cert, errbuf, errlen) < 0 ||
	    job_pem_read(cfg->client_key_file, key, errbuf, errlen) < 0)
		goto fail;
	char *uri = job_sink_uri(cfg->advertise, cfg->path, ca, cert, key,
				 errbuf, errlen);
	if (uri)
		return uri;
fail:
	job_pem_free(ca);
	job_pem_free(cert);
	job_pem_free(key);
	return NULL;
}

static void free_uri(char *uri)
{
	if (uri) {
		explicit_bzero(uri, strlen(uri));
		free(uri);
	}
}

/* ---- status and state ------------------------------------------------------- */

static void job_changed(struct job *job)
{
	if (job->owner.changed)
		job->owner.changed(job->owner.arg, &job->st);
}

/* A connection or statement problem: into the status, server text
 * redacted of our secrets. */
static void set_problem(struct job *job, const char *msg)
{
	char text[4096];
	size_t n;

	/* Redacted before it is cut, so no part of a secret stays. */
	snprintf(text, sizeof(text), "%s", msg);
	job_redact(text, sizeof(text), job->cfg.authorization);
	text[strcspn(text, "\n")] = '\0';
	n = strnlen(text, sizeof(job->st.last_problem) - 1);
	memcpy(job->st.last_problem, text, n); /* cut: status is one line */
	job->st.last_problem[n] = '\0';
}

static void close_conn(struct job *job)
{
	if (job->sock_ev) {
		event_free(job->sock_ev);
		job->sock_ev = NULL;
	}
	if (job->result) {
		PQclear(job->result);
		job->result = NULL;
	}
	if (job->conn) {
		crdb_conn_free(job->conn);
		job->conn = NULL;
	}
	job->connected = false;
	job->st.connected = false;
}

/* The one function that changes the state. */
static void job_set_state(struct job *job, enum job_state state)
{
	if (job->state == state)
		return;
	log_debug(job->cfg.who, "job manager: %s -> %s", state_names[job->state],
		  state_names[state]);
	job->state = state;
	if (state == JOB_STOPPED) {
		close_conn(job);
		event_del(job->timer);
	}
}

static void arm_timer(struct job *job, int64_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	event_del(job->timer);
	event_add(job->timer, &tv);
}

/* Permanent: tell the owner once and stop. */
static void job_fail(struct job *job, const char *reason)
{
	char text[600];

	snprintf(text, sizeof(text), "%s", reason);
	job_redact(text, sizeof(text), job->cfg.authorization);
	log_error(job->cfg.who, "changefeed job: %s", text);
	set_problem(job, text);
	job_set_state(job, JOB_STOPPED);
	job_changed(job);
	if (job->owner.failed)
		job->owner.failed(job->owner.arg, text);
}

/* Transient: drop the connection and connect again after a backoff. */
static void job_lost(struct job *job, const char *msg)
{
	int64_t initial = job->cfg.backoff_initial_ms > 0 ? job->cfg.backoff_initial_ms : 500;
	int64_t max = job->cfg.backoff_max_ms >= initial ? job->cfg.backoff_max_ms : initial;
	int64_t delay = backoff_next(&job->backoff_step, initial, max,
				     (uint64_t)random());

	close_conn(job);
	set_problem(job, msg);
	log_warning(job->cfg.who, "job manager: %s; connecting again in %" PRId64 " ms",
		    job->st.last_problem, delay);
	job_set_state(job, JOB_BACKOFF);
	job_changed(job);
	arm_timer(job, delay);
}

/* A failed result's text: primary message and SQLSTATE, redacted; NULL
 * res: libpq's connection error. */
static void result_text(struct job *job, const PGresult *res, char *buf,
			size_t len)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char text[4096];
	size_t n;

	if (!primary && job->conn)
		primary = PQerrorMessage(crdb_conn_pg(job->conn));
	snprintf(text, sizeof(text), "%s%s%s",
		 primary && *primary ? primary : "connection lost",
		 sqlstate && *sqlstate ? " SQLSTATE " : "", sqlstate ? sqlstate : "");
	text[strcspn(text, "\n")] = '\0';
	/* Redacted before it is cut, so no part of a secret stays. */
	job_redact(text, sizeof(text), job->cfg.authorization);
	n = strnlen(text, len - 1);
	memcpy(buf, text, n);
	buf[n] = '\0';
}

/* Whether a failed statement's error is the server's answer to it (true)
 * or the connection's (false: job_lost was called). */
static bool answered_error(struct job *job, const PGresult *res,
			   const char *what, char *msg, size_t len)
{
	char text[400];

	result_text(job, res, text, sizeof(text));
	snprintf(msg, len, "%s: %s", what, text);
	if (!res || crdb_classify_result(res, NULL) == CRDB_ERRCLASS_TRANSIENT) {
		job_lost(job, msg);
		return false;
	}
	return true;
}

static bool result_ok(const PGresult *res)
{
	ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	return s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK;
}

/* ---- sending ------------------------------------------------------------------ */

static int job_watch(struct job *job, short what)
{
	int fd = crdb_conn_socket(job->conn);

	if (job->sock_ev)
		event_free(job->sock_ev);
	job->sock_ev = NULL;
	if (fd < 0)
		return -1;
	job->sock_ev = event_new(job->base, fd, what, on_io, job);
	if (!job->sock_ev || event_add(job->sock_ev, NULL))
		return -1;
	return 0;
}

static void flush_and_watch(struct job *job)
{
	int flushed = PQflush(crdb_conn_pg(job->conn));

	if (flushed < 0) {
		job_lost(job, "sending a statement: connection lost");
		return;
	}
	if (job_watch(job, EV_READ | EV_PERSIST | (flushed ? EV_WRITE : 0)))
		job_lost(job, "cannot watch the connection's socket");
}

/* Send sql and enter state; log_text (NULL: not logged) is what may be
 * logged of it. */
static void job_send(struct job *job, const char *sql, const char *log_text,
		     enum job_state state)
{
	if (log_text)
		log_debug(job->cfg.who, "job manager: sending %s", log_text);
	if (!PQsendQuery(crdb_conn_pg(job->conn), sql)) {
		char msg[400];
		result_text(job, NULL, msg, sizeof(msg));
		job_lost(job, msg);
		return;
	}
	job_set_state(job, state);
	arm_timer(job, JOB_STATEMENT_TIMEOUT_MS);
	flush_and_watch(job);
}

static void send_show(struct job *job, enum job_state state)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SHOW CHANGEFEED JOB %" PRId64, job->st.job_id);
	if (state == JOB_BUSY)
		job->busy = BUSY_POLL;
	job_send(job, sql, sql, state);
}

static const char *action_verb(enum job_action a)
{
	return a == JOB_PAUSE ? "PAUSE" : a == JOB_RESUME ? "RESUME" : "CANCEL";
}

static void send_control(struct job *job, enum job_action a, enum job_busy busy)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "%s JOB %" PRId64, action_verb(a), job->st.job_id);
	job->busy = busy;
	job_send(job, sql, sql, JOB_BUSY);
}

/* ---- connecting --------------------------------------------------------------- */

static void on_notice(void *arg, const char *message)
{
	struct job *job = arg;
	char text[512];

	snprintf(text, sizeof(text), "%s", message);
	text[strcspn(text, "\n")] = '\0';
	job_redact(text, sizeof(text), job->cfg.authorization);
	log_notice(job->cfg.who, "server says (job manager): %s", text);
}

static void poll_connect(struct job *job)
{
	crdb_error err;

	switch (crdb_connect_poll(job->conn, &err)) {
	case CRDB_POLL_OK: {
		PGconn *pg = crdb_conn_pg(job->conn);
		PQsetNoticeProcessor(pg, on_notice, job);
		if (PQsetnonblocking(pg, 1)) {
			job_lost(job, "cannot make the connection non-blocking");
			return;
		}
		job->connected = true;
		job->st.connected = true;
		job_after_connect(job);
		return;
	}
	case CRDB_POLL_READING:
		if (job_watch(job, EV_READ))
			job_lost(job, "cannot watch the connection's socket");
		return;
	case CRDB_POLL_WRITING:
		if (job_watch(job, EV_WRITE))
			job_lost(job, "cannot watch the connection's socket");
		return;
	case CRDB_POLL_FAILED:
	default: {
		char msg[400];
		snprintf(msg, sizeof(msg), "connecting: %s", err.message);
		job_lost(job, msg);
		return;
	}
	}
}

static void job_connect(struct job *job)
{
	crdb_error err;

	close_conn(job);
	job_set_state(job, JOB_CONNECTING);
	job->conn = crdb_connect_start(job->cfg.conninfo ? job->cfg.conninfo : "",
				       &err);
	if (!job->conn) {
		char msg[400];
		snprintf(msg, sizeof(msg), "connecting: %s", err.message);
		job_lost(job, msg);
		return;
	}
	arm_timer(job, JOB_STATEMENT_TIMEOUT_MS);
	poll_connect(job);
}

/* Connected: find the job we know, or look for ours, or create it. */
static void job_after_connect(struct job *job)
{
	char msg[600];

	if (!job->st.job_id && job->cfg.adopt_job_id > 0)
		job->st.job_id = job->cfg.adopt_job_id;
	if (!job->st.job_id && job->cfg.id_path) {
		int64_t id;
		int rc = job_idfile_read(job->cfg.id_path, &id, msg, sizeof(msg));
		if (rc < 0) {
			job_fail(job, msg);
			return;
		}
		if (rc == 1)
			job->st.job_id = id;
	}
	if (job->st.job_id) {
		send_show(job, JOB_FINDING);
		return;
	}
	job_send(job, "SHOW CHANGEFEED JOBS", "SHOW CHANGEFEED JOBS", JOB_SEARCHING);
}

/* ---- answers ------------------------------------------------------------------ */

/* Take a SHOW CHANGEFEED JOB row (or its absence) into the status; false
 * when the job is no more (job_fail or STOPPED done). */
static bool take_status(struct job *job, const PGresult *res, const char *what)
{
	struct job_status st = job->st;
	char msg[700];

	if (PQntuples(res) == 0) {
		if (job->cfg.adopt_job_id > 0 && job->st.job_id == job->cfg.adopt_job_id)
			snprintf(msg, sizeof(msg), "job_id = %" PRId64 ": no such changefeed job",
				 job->st.job_id);
		else
			snprintf(msg, sizeof(msg), "changefeed job %" PRId64 " (%s) does not exist",
				 job->st.job_id, what);
		job_fail(job, msg);
		return false;
	}
	if (job_read_row(res, 0, &st, msg, sizeof(msg)) < 0) {
		job_fail(job, msg);
		return false;
	}
	if (st.job_id != job->st.job_id) {
		snprintf(msg, sizeof(msg), "SHOW CHANGEFEED JOB %" PRId64 " answered for job %" PRId64,
			 job->st.job_id, st.job_id);
		job_fail(job, msg);
		return false;
	}
	job_redact(st.error, sizeof(st.error), job->cfg.authorization);
	if (strcmp(st.status, job->st.status) != 0)
		log_notice(job->cfg.who, "changefeed job %" PRId64 " is %s%s%s", st.job_id,
			   st.status, st.error[0] ? ": " : "", st.error);
	st.polled_wall_ms = clock_wall_ms();
	job->st = st;
	job->backoff_step = 0; /* the connection works */
	if (strcmp(st.status, "canceled") == 0 && job->we_canceled) {
		job_set_state(job, JOB_STOPPED);
		job_changed(job);
		return false;
	}
	if (job_status_final(st.status)) {
		snprintf(msg, sizeof(msg), "changefeed job %" PRId64 " is %s%s%s",
			 st.job_id, st.status, st.error[0] ? ": " : "",
			 st.error[0] ? st.error :
			 strcmp(st.status, "canceled") == 0 ? "cancelled outside crdbfeedd" :
			 "a job feed's changefeed must not end");
		job_fail(job, msg);
		return false;
	}
	job_changed(job);
	return true;
}

static void on_found(struct job *job, const PGresult *res)
{
	char msg[500];

	if (!result_ok(res)) {
		if (answered_error(job, res, "SHOW CHANGEFEED JOB", msg, sizeof(msg)))
			job_fail(job, msg);
		return;
	}
	if (!take_status(job, res, job->cfg.id_path ? job->cfg.id_path : "known"))
		return;
	job->next_poll_mono = clock_mono_ms() + job->cfg.poll_ms;
	job_next(job);
}

/* Record the id at once: a crash must not forget a job that exists. */
static void save_id(struct job *job)
{
	char msg[600];

	if (!job->cfg.id_path || job->cfg.adopt_job_id > 0) {
		job->id_unsaved = false;
		return;
	}
	if (job_idfile_write(job->cfg.id_path, job->st.job_id, msg, sizeof(msg)) < 0) {
		if (!job->id_unsaved)
			log_error(job->cfg.who, "changefeed job %" PRId64 ": %s (trying again at every poll)",
				  job->st.job_id, msg);
		set_problem(job, msg);
		job->id_unsaved = true;
		return;
	}
	job->id_unsaved = false;
}

static void on_searched(struct job *job, const PGresult *res)
{
	char msg[500];
	int others = 0;

	if (!result_ok(res)) {
		if (answered_error(job, res, "SHOW CHANGEFEED JOBS", msg, sizeof(msg)))
			job_fail(job, msg);
		return;
	}
	int64_t id = job_find_by_sink(res, job->cfg.advertise, job->cfg.path, &others);
	if (id) {
		job->st.job_id = id;
		save_id(job);
		log_notice(job->cfg.who,
			   "changefeed job %" PRId64 " already posts to %s: taking it, not creating one",
			   id, job->cfg.path);
		if (others) {
			snprintf(msg, sizeof(msg),
				 "%d more unfinished changefeed job(s) post to %s; only job %" PRId64 " is managed",
				 others, job->cfg.path, id);
			log_warning(job->cfg.who, "%s", msg);
			set_problem(job, msg);
		}
		send_show(job, JOB_FINDING);
		return;
	}
	char *sql = job_create_sql(&job->cfg, job->sink_uri, msg, sizeof(msg));
	if (!sql) {
		job_fail(job, msg);
		return;
	}
	/* The statement is created for this configuration: nothing to alter. */
	free(job->alter_cmds);
	job->alter_cmds = NULL;
	log_info(job->cfg.who, "creating the changefeed job (webhook sink %s%s)",
		 job->cfg.advertise, job->cfg.path);
	job_send(job, sql, NULL, JOB_CREATING);
	explicit_bzero(sql, strlen(sql));
	crdb_free(sql);
}

static void on_created(struct job *job, const PGresult *res)
{
	char msg[500];
	int64_t id = 0;

	if (!result_ok(res)) {
		if (answered_error(job, res, "CREATE CHANGEFEED refused", msg, sizeof(msg)))
			job_fail(job, msg);
		return;
	}
	int col = PQfnumber(res, "job_id");
	const char *text = col >= 0 && PQntuples(res) == 1 ? PQgetvalue(res, 0, col) : NULL;
	char *end;
	if (text)
		id = strtoll(text, &end, 10);
	if (!text || *end || id <= 0) {
		job_fail(job, "CREATE CHANGEFEED answered without a job_id");
		return;
	}
	job->st.job_id = id;
	save_id(job);
	log_notice(job->cfg.who, "created changefeed job %" PRId64, id);
	job->backoff_step = 0;
	job_changed(job);
	send_show(job, JOB_BUSY);
}

static void on_busy(struct job *job, const PGresult *res)
{
	char msg[600];

	switch (job->busy) {
	case BUSY_POLL:
		if (!result_ok(res)) {
			if (answered_error(job, res, "SHOW CHANGEFEED JOB", msg, sizeof(msg)))
				job_fail(job, msg);
			return;
		}
		if (!take_status(job, res, "polled"))
			return;
		if (job->id_unsaved)
			save_id(job);
		job->next_poll_mono = clock_mono_ms() + job->cfg.poll_ms;
		break;
	case BUSY_CONTROL: {
		enum job_action a = job->queue[0];
		if (!result_ok(res)) {
			char what[64];
			snprintf(what, sizeof(what), "%s JOB %" PRId64, action_verb(a),
				 job->st.job_id);
			if (!answered_error(job, res, what, msg, sizeof(msg)))
				return; /* stays queued for the next connection */
			log_warning(job->cfg.who, "%s", msg);
			set_problem(job, msg);
		} else if (a == JOB_CANCEL) {
			job->we_canceled = true;
		}
		memmove(job->queue, job->queue + 1, (--job->nqueue) * sizeof(job->queue[0]));
		job->next_poll_mono = clock_mono_ms(); /* show the outcome */
		break;
	}
	case BUSY_ALTER_PAUSE:
		if (!result_ok(res)) {
			if (answered_error(job, res, "PAUSE JOB before ALTER CHANGEFEED", msg, sizeof(msg)))
				job_fail(job, msg);
			return;
		}
		job->alter_paused = true;
		job->next_poll_mono = clock_mono_ms();
		break;
	case BUSY_ALTER:
		if (!result_ok(res)) {
			if (!answered_error(job, res, "ALTER CHANGEFEED refused", msg, sizeof(msg)))
				return;
			snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
				 "; job %" PRId64 " is left paused", job->st.job_id);
			job_fail(job, msg);
			return;
		}
		log_notice(job->cfg.who, "altered changefeed job %" PRId64, job->st.job_id);
		free(job->alter_cmds);
		job->alter_cmds = NULL;
		job->alter_paused = false;
		if (job->alter_resume && job->nqueue < JOB_QUEUE_MAX) {
			memmove(job->queue + 1, job->queue, job->nqueue * sizeof(job->queue[0]));
			job->queue[0] = JOB_RESUME;
			job->nqueue++;
		}
		job->alter_resume = false;
		job->next_poll_mono = clock_mono_ms();
		break;
	}
	job_next(job);
}

/* ---- between statements -------------------------------------------------------- */

/* Idle and connected: send what is due next, or wait for it. */
static void job_next(struct job *job)
{
	int64_t now = clock_mono_ms();

	job_set_state(job, JOB_WATCHING);
	if (job->alter_cmds) {
		/* ALTER CHANGEFEED needs a paused job (§16.7): pause it, wait
		 * until PAUSE JOB took effect, alter, resume it if it ran. */
		const char *status = job->st.status;
		if (strcmp(status, "paused") == 0) {
			size_t len = strlen(job->alter_cmds) + 64;
			char *sql = malloc(len);
			if (!sql) {
				job_lost(job, "out of memory");
				return;
			}
			snprintf(sql, len, "ALTER CHANGEFEED %" PRId64 " %s", job->st.job_id,
				 job->alter_cmds);
			job->busy = BUSY_ALTER;
			log_info(job->cfg.who, "altering changefeed job %" PRId64, job->st.job_id);
			job_send(job, sql, NULL, JOB_BUSY);
			explicit_bzero(sql, strlen(sql));
			free(sql);
			return;
		}
		if (!job->alter_paused && strcmp(status, "pause-requested") != 0) {
			job->alter_resume = strcmp(status, "running") == 0 ||
					    strcmp(status, "pending") == 0;
			send_control(job, JOB_PAUSE, BUSY_ALTER_PAUSE);
			return;
		}
		if (job->next_poll_mono > now + JOB_PAUSE_WAIT_MS)
			job->next_poll_mono = now + JOB_PAUSE_WAIT_MS;
	} else if (job->nqueue) {
		send_control(job, job->queue[0], BUSY_CONTROL);
		return;
	}
	if (job->next_poll_mono <= now) {
		send_show(job, JOB_BUSY);
		return;
	}
	arm_timer(job, job->next_poll_mono - now);
}

/* ---- events -------------------------------------------------------------------- */

static void handle_result(struct job *job)
{
	PGresult *res = job->result;

	job->result = NULL;
	event_del(job->timer);
	switch (job->state) {
	case JOB_FINDING:
		on_found(job, res);
		break;
	case JOB_SEARCHING:
		on_searched(job, res);
		break;
	case JOB_CREATING:
		on_created(job, res);
		break;
	case JOB_BUSY:
		on_busy(job, res);
		break;
	default:
		break;
	}
	PQclear(res);
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
	struct job *job = arg;
	PGconn *pg;

	(void)fd;
	if (!job->connected) {
		poll_connect(job);
		return;
	}
	pg = crdb_conn_pg(job->conn);
	if (what & EV_WRITE) {
		flush_and_watch(job);
		if (job->state == JOB_BACKOFF)
			return;
	}
	if (!(what & EV_READ))
		return;
	if (!PQconsumeInput(pg)) {
		char msg[400];
		result_text(job, NULL, msg, sizeof(msg));
		job_lost(job, msg);
		return;
	}
	while (!PQisBusy(pg)) {
		PGresult *res = PQgetResult(pg);
		if (!res) {
			if (job->state == JOB_WATCHING || !job->result) {
				/* nothing was asked: the server closed it */
				if (job->state != JOB_WATCHING)
					job_lost(job, "the server ended the statement without a result");
				return;
			}
			handle_result(job);
			return;
		}
		if (job->result)
			PQclear(job->result);
		job->result = res;
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct job *job = arg;

	(void)fd;
	(void)what;
	switch (job->state) {
	case JOB_BACKOFF:
		job_connect(job);
		break;
	case JOB_WATCHING:
		job_next(job);
		break;
	case JOB_CONNECTING:
	case JOB_FINDING:
	case JOB_SEARCHING:
	case JOB_CREATING:
	case JOB_BUSY:
		job_lost(job, "the server did not answer in 30 s");
		break;
	default:
		break;
	}
}

/* ---- the interface ------------------------------------------------------------- */

struct job *job_new(struct event_base *base, const struct job_config *cfg,
		    const struct job_owner *owner, char *errbuf, size_t errlen)
{
	struct job *job = calloc(1, sizeof(*job));

	if (!job || !job_config_copy(&job->cfg, cfg)) {
		free(job);
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	if (job->cfg.poll_ms <= 0)
		job->cfg.poll_ms = 5000;
	job->base = base;
	job->owner = *owner;
	job->sink_uri = load_sink(&job->cfg, &job->ca, &job->cert, &job->key,
				  errbuf, errlen);
	job->timer = job->sink_uri ? event_new(base, -1, 0, on_timer, job) : NULL;
	if (!job->timer) {
		if (job->sink_uri)
			snprintf(errbuf, errlen, "out of memory");
		job_free(job);
		return NULL;
	}
	return job;
}

void job_start(struct job *job)
{
	if (job->state == JOB_IDLE)
		job_connect(job);
}

void job_free(struct job *job)
{
	if (!job)
		return;
	close_conn(job);
	if (job->timer)
		event_free(job->timer);
	free_uri(job->sink_uri);
	job_pem_free(&job->ca);
	job_pem_free(&job->cert);
	job_pem_free(&job->key);
	free(job->alter_cmds);
	job_config_free_copy(&job->cfg);
	free(job);
}

int job_request(struct job *job, enum job_action action, char *errbuf,
		size_t errlen)
{
	if (!job->st.job_id) {
		snprintf(errbuf, errlen, "%s: there is no changefeed job yet", job->cfg.who);
		return -1;
	}
	if (job->state == JOB_STOPPED) {
		snprintf(errbuf, errlen, "%s: changefeed job %" PRId64 " is no longer managed (%s)",
			 job->cfg.who, job->st.job_id, job->st.status);
		return -1;
	}
	if (job->nqueue == JOB_QUEUE_MAX) {
		snprintf(errbuf, errlen, "%s: %d requests are waiting already", job->cfg.who,
			 JOB_QUEUE_MAX);
		return -1;
	}
	job->queue[job->nqueue++] = action;
	if (job->state == JOB_WATCHING)
		job_next(job);
	return 0;
}

int job_reconfigure(struct job *job, const struct job_config *cfg,
		    char *errbuf, size_t errlen)
{
	struct job_config next;
	struct job_pem ca = { 0 }, cert = { 0 }, key = { 0 };
	char msg[500];
	char *cmds = NULL;

	if (cfg->adopt_job_id != job->cfg.adopt_job_id) {
		snprintf(errbuf, errlen, "%s: job_id changed: restart the feed to manage another job",
			 job->cfg.who);
		return -1;
	}
	char *uri = load_sink(cfg, &ca, &cert, &key, msg, sizeof(msg));
	if (!uri) {
		snprintf(errbuf, errlen, "%s: %s", job->cfg.who, msg);
		return -1;
	}
	/* The whole new statement must be valid, not just the changes. */
	char *sql = job_create_sql(cfg, uri, msg, sizeof(msg));
	int rc = sql ? job_alter_cmds(&job->cfg, job->sink_uri, cfg, uri, &cmds,
				      msg, sizeof(msg)) : -1;
	if (sql) {
		explicit_bzero(sql, strlen(sql));
		crdb_free(sql);
	}
	if (rc < 0 || !job_config_copy(&next, cfg)) {
		snprintf(errbuf, errlen, "%s: %s", job->cfg.who, rc < 0 ? msg : "out of memory");
		free_uri(uri);
		free(cmds);
		job_pem_free(&ca);
		job_pem_free(&cert);
		job_pem_free(&key);
		return -1;
	}
	if (next.poll_ms <= 0)
		next.poll_ms = 5000;
	if (cmds && job->alter_cmds) {
		/* Both waiting: one ALTER, commands in order. */
		size_t len = strlen(job->alter_cmds) + strlen(cmds) + 2;
		char *both = malloc(len);
		if (both)
			snprintf(both, len, "%s %s", job->alter_cmds, cmds);
		free(cmds);
		cmds = both;
		if (!cmds) {
			snprintf(errbuf, errlen, "%s: out of memory", job->cfg.who);
			job_config_free_copy(&next);
			free_uri(uri);
			job_pem_free(&ca);
			job_pem_free(&cert);
			job_pem_free(&key);
			return -1;
		}
	}
	if (cmds) {
		free(job->alter_cmds);
		job->alter_cmds = cmds;
	}
	job_config_free_copy(&job->cfg);
	job->cfg = next;
	free_uri(job->sink_uri);
	job->sink_uri = uri;
	job_pem_free(&job->ca);
	job_pem_free(&job->cert);
	job_pem_free(&job->key);
	job->ca = ca;
	job->cert = cert;
	job->key = key;
	if (job->alter_cmds && job->state == JOB_WATCHING && job->st.job_id)
		job_next(job);
	return 0;
}

void job_get_status(const struct job *job, struct job_status *out)
{
	*out = job->st;
}
