/*
 * feed_job.c: a job feed's source (source = job). A CockroachDB changefeed
 * job posts the feed's rows to its HTTPS endpoint (ingest.c); the job is
 * found, created and watched by job.c. A batch's rows enter the same
 * ordered delivery as a sinkless feed's (ordered.h) and the endpoint
 * answers 200 only once they are durable in the hold; a resolved
 * timestamp releases them. A retried batch finds its rows held or
 * released already and is acknowledged again without a copy.
 */
#include <config.h> /* autoconf's, from the build directory */

#include "feed_int.h"

#include "clock.h"
#include "conf.h"
#include "ingest.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX 4096
#define IDLE_TIMEOUT_S 120

struct feed_job {
	struct feed *feed;
	struct ingest *ingest;
	struct job *job;
	char path[sizeof(JOB_PATH_PREFIX) + 256];
	char *authorization;         /* "Bearer TOKEN" */
	char *id_path;               /* state_dir/NAME.job, or NULL */
	bool pausing;                /* our PAUSE JOB: "paused" is expected */
	struct ingest_stats before;  /* of endpoints closed by reloads: the
					counters go on */
	struct job_status status;
};

/* ---- the token -------------------------------------------------------------- */

/* "Bearer TOKEN" from the file's text (surrounding whitespace dropped);
 * NULL with errbuf set. The token is never written to a message. */
static char *read_authorization(const char *path, char *errbuf, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(errbuf, errlen, "ingest_auth_file %s: %s", path, strerror(errno));
		return NULL;
	}
	char buf[TOKEN_MAX + 2];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	bool over = n == sizeof(buf) - 1;
	fclose(f);
	buf[n] = '\0';
	char *start = buf, *end = buf + n;
	while (start < end && (*start == ' ' || *start == '\t' || *start == '\n' || *start == '\r'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	*end = '\0';
	char *result = NULL;
	if (over)
		snprintf(errbuf, errlen, "ingest_auth_file %s: the token is longer than %d bytes", path, TOKEN_MAX);
	else if (start == end)
		snprintf(errbuf, errlen, "ingest_auth_file %s: no token in the file", path);
	else {
		for (const char *c = start; c < end; c++)
			if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e) {
				snprintf(errbuf, errlen, "ingest_auth_file %s: the token must be printable ASCII without spaces (it goes into an HTTP header)", path);
				explicit_bzero(buf, sizeof(buf));
				return NULL;
			}
		size_t len = strlen("Bearer ") + (size_t)(end - start) + 1;
		result = malloc(len);
		if (result)
			snprintf(result, len, "Bearer %s", start);
		else
			snprintf(errbuf, errlen, "out of memory");
	}
	explicit_bzero(buf, sizeof(buf));
	return result;
}

/* ---- bodies --------------------------------------------------------------- */

/* One message as the feed's line; NULL with reason set. */
static struct line *message_line(struct feed *feed, const struct webhook_msg *m,
				 size_t index, char *reason, size_t rlen)
{
	struct line *line = line_new_row_raw(feed->name, m->table, m->table_len,
					     m->key, m->key_len, m->value,
					     m->value_len, &feed->dopts);
	if (line)
		return line;
	crdb_event ev = { 0 };
	crdb_error err;
	char errbuf[256];
	if (crdb_event_decode_raw(m->table, m->table_len, m->key, m->key_len,
				  m->value, m->value_len, 1, &feed->dopts, &ev, &err)) {
		snprintf(reason, rlen, "payload[%zu]: %s", index, err.message);
		return NULL;
	}
	if (ev.kind != CRDB_EVENT_ROW) {
		snprintf(reason, rlen, "payload[%zu]: not a row (resolved timestamps come in their own request)", index);
		crdb_event_clear(&ev);
		return NULL;
	}
	line = line_new_row(feed->name, &ev, feed->dopts.diff, errbuf, sizeof(errbuf));
	crdb_event_clear(&ev);
	if (!line)
		snprintf(reason, rlen, "payload[%zu]: %s", index, errbuf);
	return line;
}

/* A batch: every message encoded first (one bad message refuses the whole
 * batch, nothing held), then held, then made durable. */
static int take_batch(struct feed *feed, struct ingest *ingest,
		      const struct webhook_body *b, char *reason, size_t rlen)
{
	struct line **lines = calloc(b->nmsgs ? b->nmsgs : 1, sizeof(*lines));
	char errbuf[256];
	int status = 200;
	size_t duplicates = 0;

	if (!lines) {
		snprintf(reason, rlen, "out of memory");
		return 503;
	}
	for (size_t i = 0; i < b->nmsgs; i++) {
		lines[i] = message_line(feed, &b->msgs[i], i, reason, rlen);
		if (!lines[i]) {
			status = 400;
			goto out;
		}
		if (crdb_hlc_is_zero(lines[i]->updated)) {
			snprintf(reason, rlen, "payload[%zu]: no \"updated\" timestamp (the job must be created with the updated option)", i);
			status = 400;
			goto out;
		}
	}
	for (size_t i = 0; i < b->nmsgs; i++) {
		const struct webhook_msg *m = &b->msgs[i];

		feed->stats.rows++;
		feed->stats.bytes_in += m->key_len + m->value_len;
		feed_note_row_updated(feed, lines[i]->updated);
		switch (ordered_row(feed->ordered, lines[i], m->key, m->key_len,
				    errbuf, sizeof(errbuf))) {
		case ORDERED_HELD:
			break;
		case ORDERED_DUPLICATE:
			duplicates++;
			break;
		case ORDERED_LATE: {
			char hlc[CRDB_HLC_BUFSIZE];
			crdb_hlc_format(lines[i]->updated, hlc);
			log_ctx_msg(LOG_LEVEL_WARNING,
				    &(struct log_ctx){ .feed = feed->name, .table = lines[i]->table },
				    "late row: updated %s is below the released resolved timestamp; delivered flagged late",
				    hlc);
			break;
		}
		case ORDERED_ERROR:
		default:
			/* Rows held so far are found again when the job
			 * retries the batch. */
			snprintf(reason, rlen, "cannot hold the batch: %s", errbuf);
			status = 503;
			goto out;
		}
	}
	feed->last_row_mono = clock_mono_ms();
	if (ordered_sync(feed->ordered, errbuf, sizeof(errbuf)) < 0) {
		snprintf(reason, rlen, "cannot make the batch durable: %s", errbuf);
		status = 503;
		goto out;
	}
	if (b->nmsgs && duplicates == b->nmsgs && ingest)
		ingest_note_retry(ingest);
out:
	for (size_t i = 0; i < b->nmsgs; i++)
		if (lines[i])
			line_unref(lines[i]);
	free(lines);
	return status;
}

/* A resolved timestamp: release what it covers, commit, publish. An old
 * or repeated one (a retry, or another node's) says nothing new. The feed
 * takes it as received only once the release succeeded: the job's retry
 * of a refused one must not be taken for a repeat. */
static int take_resolved(struct feed *feed, crdb_hlc resolved,
			 char *reason, size_t rlen)
{
	char errbuf[256];

	feed->stats.resolved++;
	if (crdb_hlc_compare(resolved, feed->last_resolved) <= 0)
		return 200;
	if (ordered_resolved(feed->ordered, resolved, feed->name, errbuf,
			     sizeof(errbuf)) < 0) {
		feed->stats.resolved--;
		snprintf(reason, rlen, "releasing held rows: %s", errbuf);
		feed_note_error(feed, reason);
		return 503;
	}
	feed->last_resolved = resolved;
	feed->last_resolved_mono = clock_mono_ms();
	feed->resolved_advanced_mono = feed->last_resolved_mono;
	feed->rows_updated_first = (crdb_hlc){ 0, 0 };
	feed->rows_updated_varied = false;
	return 200;
}

int feed_job_take_body(struct feed *feed, struct ingest *ingest,
		       const struct webhook_body *body, char *reason,
		       size_t rlen)
{
	if (!feed->ordered || feed->state == FEED_FAILED ||
	    feed->state == FEED_STOPPING || feed->state == FEED_STOPPED) {
		snprintf(reason, rlen, "feed %s is %s", feed->name, feed_public_state(feed));
		return 503;
	}
	if (ordered_stalled(feed->ordered)) {
		/* Answered at once: the job retries with its backoff. */
		snprintf(reason, rlen, "feed %s: the journal is full (journal_max_size)", feed->name);
		return 503;
	}
	feed->drain_now = clock_mono_ms();
	int status = body->kind == WEBHOOK_BODY_RESOLVED ?
		take_resolved(feed, body->resolved, reason, rlen) :
		take_batch(feed, ingest, body, reason, rlen);
	/* Rows or resolved timestamps arrive: the job runs. */
	if (status == 200 && (feed->state == FEED_CONNECTING || feed->state == FEED_STARTING))
		feed_set_state(feed, FEED_STREAMING, NULL);
	if (status >= 400 && status < 500)
		feed->stats.bad_rows++;
	return status;
}

static int on_body(void *arg, const struct webhook_body *body, char *reason,
		   size_t rlen)
{
	struct feed_job *fj = arg;

	return feed_job_take_body(fj->feed, fj->ingest, body, reason, rlen);
}

/* ---- the job -------------------------------------------------------------- */

static void on_job_changed(void *arg, const struct job_status *st)
{
	struct feed_job *fj = arg;
	struct feed *feed = fj->feed;
	char reason[600];

	fj->status = *st;
	if (feed->state == FEED_FAILED || feed->state == FEED_STOPPING ||
	    feed->state == FEED_STOPPED)
		return;
	if (strcmp(st->status, "running") == 0) {
		fj->pausing = false;
		if (feed->state != FEED_STREAMING)
			feed_set_state(feed, FEED_STREAMING, NULL);
	} else if (strcmp(st->status, "paused") == 0 ||
		   strcmp(st->status, "pause-requested") == 0) {
		if (feed->state != FEED_PAUSED) {
			snprintf(reason, sizeof(reason), "job %" PRId64 " paused%s%s",
				 st->job_id, fj->pausing ? "" : " outside crdbfeedd",
				 st->error[0] ? ": " : "");
			if (st->error[0])
				snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason),
					 "%s", st->error);
			feed_set_state(feed, FEED_PAUSED, reason);
		}
	}
}

static void on_job_failed(void *arg, const char *why)
{
	struct feed_job *fj = arg;
	char reason[600];

	snprintf(reason, sizeof(reason), "changefeed job %" PRId64 ": %s",
		 fj->status.job_id, why);
	feed_fail(fj->feed, reason);
}

/* ---- life cycle ----------------------------------------------------------- */

/* The job's options: the feed's, with where it starts. */
static struct feed_option *job_options(const struct feed *feed, size_t *n)
{
	const struct feed_config *cfg = feed->cfg;
	struct feed_option *opts = calloc(cfg->noptions + 1, sizeof(*opts));

	if (!opts)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < cfg->noptions; i++) {
		const char *name = cfg->options[i].name;
		if (strcmp(name, "cursor") && strcmp(name, "initial_scan") &&
		    strcmp(name, "no_initial_scan"))
			opts[k++] = cfg->options[i];
	}
	/* With a cursor (the checkpoint, start_cursor) there is no scan. */
	bool scan = crdb_hlc_is_zero(feed->checkpoint) &&
		    cfg->start == FEED_START_INITIAL_SCAN;
	static char initial_scan[] = "initial_scan", yes[] = "yes", no[] = "no";
	opts[k++] = (struct feed_option){ .name = initial_scan,
					  .value = scan ? yes : no };
	*n = k;
	return opts;
}

static int open_job(struct feed_job *fj, char *errbuf, size_t errlen)
{
	struct feed *feed = fj->feed;
	const struct feed_config *cfg = feed->cfg;
	char *conninfo = NULL, cursor[CRDB_HLC_BUFSIZE] = "";
	size_t nopts = 0;
	struct feed_option *opts = job_options(feed, &nopts);
	int rc = -1;

	if (!opts) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	if (config_dsn_conninfo(cfg, &conninfo, errbuf, errlen))
		goto out;
	if (!crdb_hlc_is_zero(feed->checkpoint))
		crdb_hlc_format(feed->checkpoint, cursor);
	else if (cfg->start == FEED_START_CURSOR && cfg->start_cursor)
		snprintf(cursor, sizeof(cursor), "%s", cfg->start_cursor);
	struct job_config jc = {
		.who = feed->who,
		.conninfo = conninfo ? conninfo : cfg->dsn,
		.id_path = fj->id_path,
		.adopt_job_id = cfg->job_id,
		.tables = cfg->tables,
		.families = cfg->families,
		.ntables = cfg->ntables,
		.options = opts,
		.noptions = nopts,
		.diff = cfg->diff,
		.resolved_ms = cfg->resolved_ms,
		.cursor = cursor[0] ? cursor : NULL,
		.advertise = cfg->ingest_advertise ? cfg->ingest_advertise : cfg->ingest_listen,
		.path = fj->path,
		.ca_cert_file = cfg->job_ca_cert ? cfg->job_ca_cert : cfg->ingest_tls_cert,
		.client_cert_file = cfg->job_client_cert,
		.client_key_file = cfg->job_client_key,
		.authorization = fj->authorization,
		.client_timeout_ms = cfg->job_client_timeout_ms,
		.poll_ms = cfg->job_poll_ms,
		.backoff_initial_ms = cfg->backoff_initial_ms,
		.backoff_max_ms = cfg->backoff_max_ms,
	};
	if (fj->job) {
		rc = job_reconfigure(fj->job, &jc, errbuf, errlen);
	} else {
		fj->job = job_new(feed->base, &jc,
				  &(struct job_owner){ .changed = on_job_changed,
						       .failed = on_job_failed,
						       .arg = fj },
				  errbuf, errlen);
		rc = fj->job ? 0 : -1;
	}
out:
	if (conninfo) {
		explicit_bzero(conninfo, strlen(conninfo));
		free(conninfo);
	}
	free(opts);
	return rc;
}

/* The endpoint on cfg's address (host part of HOST:PORT or [V6]:PORT). */
static int open_ingest(struct feed_job *fj, char *errbuf, size_t errlen)
{
	struct feed *feed = fj->feed;
	const struct feed_config *cfg = feed->cfg;
	char host[256];
	const char *colon = strrchr(cfg->ingest_listen, ':');
	size_t hlen = (size_t)(colon - cfg->ingest_listen);

	if (hlen >= sizeof(host))
		hlen = sizeof(host) - 1;
	memcpy(host, cfg->ingest_listen, hlen);
	host[hlen] = '\0';
	if (host[0] == '[') {
		memmove(host, host + 1, hlen);
		host[strlen(host) - 1] = '\0';
	}
	struct ingest_config ic = {
		.who = feed->who,
		.listen_host = host,
		.listen_port = atoi(colon + 1),
		.path = fj->path,
		.tls_cert = cfg->ingest_tls_cert,
		.tls_key = cfg->ingest_tls_key,
		.client_ca = cfg->ingest_client_ca,
		.authorization = fj->authorization,
		.max_body = cfg->ingest_max_body,
		.max_connections = (unsigned)cfg->ingest_max_connections,
		.max_rate = (unsigned)cfg->ingest_max_rate,
		.idle_timeout_s = IDLE_TIMEOUT_S,
	};
	fj->ingest = ingest_new(feed->base, &ic,
				&(struct ingest_owner){ .body = on_body, .arg = fj },
				errbuf, errlen);
	return fj->ingest ? 0 : -1;
}

int feed_job_open(struct feed *feed)
{
	char errbuf[512];
	struct feed_job *fj = calloc(1, sizeof(*fj));

	if (!fj) {
		feed_fail(feed, "out of memory");
		return -1;
	}
	fj->feed = feed;
	feed->job = fj;
	snprintf(fj->path, sizeof(fj->path), "%s%s", JOB_PATH_PREFIX, feed->name);
	feed->dopts.envelope = feed->cfg->envelope;
	feed->dopts.diff = feed->cfg->diff;
	feed->dopts.number_text = true; /* numbers leave with their digits */
	if (feed->state_dir) {
		size_t len = strlen(feed->state_dir) + strlen(feed->name) + 6;
		fj->id_path = malloc(len);
		if (!fj->id_path) {
			feed_fail(feed, "out of memory");
			return -1;
		}
		snprintf(fj->id_path, len, "%s/%s.job", feed->state_dir, feed->name);
	}
	fj->authorization = read_authorization(feed->cfg->ingest_auth_file, errbuf,
					       sizeof(errbuf));
	if (!fj->authorization || open_ingest(fj, errbuf, sizeof(errbuf)) < 0 ||
	    open_job(fj, errbuf, sizeof(errbuf)) < 0) {
		feed_fail(feed, errbuf);
		return -1;
	}
	feed_set_state(feed, FEED_CONNECTING, NULL);
	job_start(fj->job);
	return 0;
}

void feed_job_close(struct feed_job *fj)
{
	if (!fj)
		return;
	ingest_free(fj->ingest);
	job_free(fj->job);
	if (fj->authorization) {
		explicit_bzero(fj->authorization, strlen(fj->authorization));
		free(fj->authorization);
	}
	free(fj->id_path);
	free(fj);
}

int feed_job_request(struct feed *feed, enum job_action action, char *errbuf,
		     size_t errlen)
{
	struct feed_job *fj = feed->job;

	if (!fj || !fj->job) {
		snprintf(errbuf, errlen, "feed %s has no changefeed job", feed->name);
		return -1;
	}
	if (action == JOB_PAUSE)
		fj->pausing = true;
	return job_request(fj->job, action, errbuf, errlen);
}

int feed_job_reconfigure(struct feed *feed)
{
	struct feed_job *fj = feed->job;
	char errbuf[512];

	if (!fj)
		return feed_job_open(feed);
	/* The endpoint takes its new address, files and bounds at once; the
	 * job is told what changed. */
	struct feed_stats was = { 0 };
	feed_job_get_stats(fj, &was);
	fj->before = (struct ingest_stats){
		.requests = was.ingest_requests, .batches = was.ingest_batches,
		.resolved = was.ingest_resolved, .rows = was.ingest_rows,
		.bytes = was.ingest_bytes, .retried = was.ingest_retried,
		.answered_4xx = was.ingest_4xx, .answered_5xx = was.ingest_5xx,
		.unauthorized = was.ingest_unauthorized,
		.rate_limited = was.ingest_rate_limited,
		.connections_refused = was.ingest_connections_refused,
	};
	ingest_free(fj->ingest);
	fj->ingest = NULL;
	char *auth = read_authorization(feed->cfg->ingest_auth_file, errbuf, sizeof(errbuf));
	if (!auth) {
		feed_fail(feed, errbuf);
		return -1;
	}
	explicit_bzero(fj->authorization, strlen(fj->authorization));
	free(fj->authorization);
	fj->authorization = auth;
	if (open_ingest(fj, errbuf, sizeof(errbuf)) < 0 ||
	    open_job(fj, errbuf, sizeof(errbuf)) < 0) {
		feed_fail(feed, errbuf);
		return -1;
	}
	return 0;
}

void feed_job_get_stats(const struct feed_job *fj, struct feed_stats *out)
{
	struct ingest_stats is = { 0 };

	out->job = true;
	if (!fj)
		return;
	if (fj->ingest)
		ingest_get_stats(fj->ingest, &is);
	const struct ingest_stats *b = &fj->before;
	out->ingest_requests = b->requests + is.requests;
	out->ingest_batches = b->batches + is.batches;
	out->ingest_resolved = b->resolved + is.resolved;
	out->ingest_rows = b->rows + is.rows;
	out->ingest_bytes = b->bytes + is.bytes;
	out->ingest_retried = b->retried + is.retried;
	out->ingest_4xx = b->answered_4xx + is.answered_4xx;
	out->ingest_5xx = b->answered_5xx + is.answered_5xx;
	out->ingest_unauthorized = b->unauthorized + is.unauthorized;
	out->ingest_rate_limited = b->rate_limited + is.rate_limited;
	out->ingest_connections = is.connections;
	out->ingest_connections_refused = b->connections_refused + is.connections_refused;
	struct job_status st;
	if (fj->job)
		job_get_status(fj->job, &st);
	else
		st = fj->status;
	out->job_id = st.job_id;
	snprintf(out->job_status, sizeof(out->job_status), "%s", st.status);
	snprintf(out->job_error, sizeof(out->job_error), "%s", st.error[0] ? st.error : st.last_problem);
	out->job_high_water = st.high_water;
	out->job_polled_at = st.polled_wall_ms;
	out->job_connected = st.connected;
}
