/*
 * sim_feed.c: the life of one sinkless changefeed inside crdbsim: its
 * output queue and duplicate window, its PostgreSQL queries, the pump that
 * drives every step, its end (error, completion, stop) and the API of
 * simfeed.h with the feed faults. The steps are in sim_feed_validate.c
 * (checks, where to start), sim_feed_scan.c (initial scan and backfill),
 * sim_feed_live.c (history, resolved rows, completion), sim_feed_cdc.c
 * (rendering a change, CDC queries) and sim_feed_firehose.c. ingest.c
 * fills the history; render.c renders rows.
 *
 * Each feed has its own PostgreSQL connection (its REPEATABLE READ scan,
 * its history reads, its CDC evaluations) and one `wake` event: every piece
 * of work runs from feed_pump(), which hands rows to the session only while
 * can_send() says yes. At most one history batch (FETCH_ROWS) or scan batch
 * (SCAN_ROWS) is held in memory, plus the duplicate window.
 *
 * Scan/live boundary: note the history head H, open a REPEATABLE READ
 * snapshot, scan the targets in it (rows get `updated` = the wall clock
 * right after the snapshot), then replay history from a second before H
 * skipping every transaction visible in the snapshot (a commit can reach
 * history before PostgreSQL shows it as committed). With a cursor and an
 * initial scan PostgreSQL cannot read in the past: the scan sees the
 * current state and live changes start at H (documented limitation).
 *
 * PostgreSQL has no column families: a table is one family, `primary`.
 * The session must still call simfeed_stop() after error() or complete()
 * to release the handle (no callback runs after either).
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_feed.h"

/* ---- small helpers ---- */

static void outrow_free(struct outrow *r)
{
	free(r->table);
	free(r->key);
	free(r->value);
	memset(r, 0, sizeof *r);
}

static char *memdup0(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		if (n)
			memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* A text[] literal for PostgreSQL: {"a","b"}. */
char *feed_text_array(const char *const *items, size_t n)
{
	size_t cap = 3;

	for (size_t i = 0; i < n; i++)
		cap += 2 * strlen(items[i]) + 3;
	char *out = malloc(cap), *p = out;
	if (!out)
		return NULL;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		*p++ = '"';
		for (const char *s = items[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				*p++ = '\\';
			*p++ = *s;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return out;
}

static void set_error(struct simfeed_error *err, const char *sqlstate,
		      const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_error(struct simfeed_error *err, const char *sqlstate,
		      const char *hint, const char *fmt, ...)
{
	va_list ap;

	memset(err, 0, sizeof *err);
	snprintf(err->sqlstate, sizeof err->sqlstate, "%s", sqlstate);
	snprintf(err->hint, sizeof err->hint, "%s", hint ? hint : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

/* Release everything that does work; the struct stays until reaped. */
static void feed_quiesce(struct simfeed *f)
{
	f->state = FEED_DONE;
	aconn_free(f->pg);
	f->pg = NULL;
	f->pg_busy = false;
	PQclear(f->batch);
	f->batch = NULL;
	if (f->timer)
		evtimer_del(f->timer);
}

static void feed_fail(struct simfeed *f, const struct simfeed_error *err)
{
	if (f->state == FEED_DONE)
		return;
	feed_quiesce(f);
	if (!f->stopped && f->out.error)
		f->out.error(f->out.arg, err);
}


void feed_failf(struct simfeed *f, const char *sqlstate,
		const char *hint, const char *fmt, ...)
{
	struct simfeed_error err;
	va_list ap;

	memset(&err, 0, sizeof err);
	snprintf(err.sqlstate, sizeof err.sqlstate, "%s", sqlstate);
	snprintf(err.hint, sizeof err.hint, "%s", hint ? hint : "");
	va_start(ap, fmt);
	vsnprintf(err.message, sizeof err.message, fmt, ap);
	va_end(ap);
	feed_fail(f, &err);
}

void feed_complete(struct simfeed *f)
{
	if (f->state == FEED_DONE)
		return;
	feed_quiesce(f);
	if (!f->stopped && f->out.complete)
		f->out.complete(f->out.arg, f->nrows);
}

void feed_kick(struct simfeed *f)
{
	event_active(f->wake, EV_TIMEOUT, 1);
}

void feed_started(struct simfeed *f)
{
	if (f->started)
		return;
	f->started = true;
	if (f->out.started)
		f->out.started(f->out.arg);
}

/* Queue a row (takes ownership of the buffers). */
static int queue_row(struct simfeed *f, char *table, size_t table_len,
		     char *key, size_t key_len, char *value, size_t value_len)
{
	if (f->qlen == OUTQ_MAX) {
		free(table);
		free(key);
		free(value);
		return -1;
	}
	struct outrow *r = &f->q[(f->qhead + f->qlen) % OUTQ_MAX];
	r->table = table;
	r->table_len = table_len;
	r->key = key;
	r->key_len = key_len;
	r->value = value;
	r->value_len = value_len;
	f->qlen++;
	return 0;
}

static void remember_sent(struct simfeed *f, const struct outrow *r)
{
	struct outrow *d = &f->dup[(f->duphead + f->duplen) % DUP_WINDOW];

	if (f->duplen == DUP_WINDOW) {
		d = &f->dup[f->duphead];
		outrow_free(d);
		f->duphead = (f->duphead + 1) % DUP_WINDOW;
		f->duplen--;
	}
	d->table = memdup0(r->table, r->table_len);
	d->key = memdup0(r->key, r->key_len);
	d->value = memdup0(r->value, r->value_len);
	if (!d->table || !d->key || !d->value) {
		outrow_free(d);
		return;
	}
	d->table_len = r->table_len;
	d->key_len = r->key_len;
	d->value_len = r->value_len;
	f->duplen++;
}

/* Hand queued rows over while the session takes them. false: blocked. */
bool feed_flush_queue(struct simfeed *f)
{
	while (f->qlen > 0) {
		if (f->stopped || f->state == FEED_DONE)
			return false;
		if (f->out.can_send && !f->out.can_send(f->out.arg))
			return false;
		struct outrow r = f->q[f->qhead];
		memset(&f->q[f->qhead], 0, sizeof f->q[0]);
		f->qhead = (f->qhead + 1) % OUTQ_MAX;
		f->qlen--;
		f->nrows++;
		f->out.row(f->out.arg, r.table, r.table_len, r.key, r.key_len,
			   r.value, r.value_len);
		if (r.table)
			remember_sent(f, &r);
		outrow_free(&r);
	}
	return true;
}

int feed_queue_resolved(struct simfeed *f, struct sim_hlc ts)
{
	char buf[128];
	size_t n = sim_render_resolved(f->stmt->envelope, ts, buf, sizeof buf);
	char *v = memdup0(buf, n);

	if (!v)
		return -1;
	f->resolved_sent = ts;
	f->resolved_at = sim_now_ns();
	return queue_row(f, NULL, 0, NULL, 0, v, n);
}

int feed_queue_event(struct simfeed *f, size_t target, char *key,
		     size_t key_len, char *value, size_t value_len)
{
	const char *display = f->stmt->targets[target].display;
	char *t = strdup(display);

	if (!t) {
		free(key);
		free(value);
		return -1;
	}
	return queue_row(f, t, strlen(t), key, key_len, value, value_len);
}

int feed_find_target(const struct simfeed *f, const char *schema,
		     const char *table)
{
	for (size_t i = 0; i < f->stmt->ntargets; i++)
		if (f->stmt->targets[i].schema &&
		    !strcmp(f->stmt->targets[i].schema, schema) &&
		    !strcmp(f->stmt->targets[i].table, table))
			return (int)i;
	return -1;
}

/* A PostgreSQL error inside a feed ends it with the server's words. */
static void fail_pg(struct simfeed *f, PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	feed_failf(f, st ? st : "XXUUU", NULL, "%s",
		   msg ? msg : PQresultErrorMessage(res));
}

/*
 * The one aconn callback of a feed's connection: a failed result ends the
 * feed, a good one goes to the query's handler, and the end of the query
 * (no result failed) to its done step. Nothing runs once the feed is done.
 */
static void feed_on_pg(void *arg, PGresult *res)
{
	struct simfeed *f = arg;
	const struct pg_handler *h = f->handler;

	if (f->state == FEED_DONE)
		return;
	if (!res) {
		f->pg_busy = false;
		h->done(f);
		return;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    !(h->command_ok && PQresultStatus(res) == PGRES_COMMAND_OK)) {
		fail_pg(f, res);
		return;
	}
	h->result(f, res);
}

int feed_send_query(struct simfeed *f, const char *sql, int nparams,
		    const char *const *params, const struct pg_handler *h)
{
	char errbuf[256];

	if (!f->pg || f->state == FEED_DONE)
		return -1;
	f->handler = h;
	if (aconn_send(f->pg, sql, nparams, params, feed_on_pg, f, errbuf,
		       sizeof errbuf)) {
		feed_failf(f, "XXUUU", NULL, "crdbsim: %s", errbuf);
		return -1;
	}
	f->pg_busy = true;
	return 0;
}


/*
 * Is there history up to h that the feed has not read? Its position is
 * (pos, pos_idx): one transaction's rows share an HLC and are read in
 * pieces, so a position inside h's transaction is still before it.
 */
static bool pos_before(const struct simfeed *f, struct sim_hlc h)
{
	int c = sim_hlc_cmp(f->pos, h);

	return c < 0 || (c == 0 && f->pos_idx != INT32_MAX);
}

/* ---- the pump ---- */

void feed_pump(struct simfeed *f)
{
	int burst = 0;

	for (;;) {
		if (f->stopped || f->state == FEED_DONE)
			return;
		int64_t now = sim_now_ns();
		if (f->stall_until > now) {
			int64_t w = f->stall_until - now;
			struct timeval tv = { w / 1000000000,
					      (w % 1000000000) / 1000 + 1 };
			evtimer_add(f->timer, &tv);
			return;
		}
		if (!feed_flush_queue(f))
			return;
		if (f->pg_busy)
			return;
		if (++burst > PUMP_BURST) {
			feed_kick(f);
			return;
		}
		switch (f->state) {
		case FEED_VALIDATE:
			if (f->step)
				return;
			f->step = 1;
			feed_validate(f);
			continue;
		case FEED_SCAN:
			scan_step(f);
			if (f->qlen > 0)
				continue;
			return;
		case FEED_FIREHOSE:
			firehose_pump(f);
			return;
		case FEED_LIVE:
			break;
		case FEED_DONE:
			return;
		}
		/* FEED_LIVE */
		if (f->batch && f->batch_i < PQntuples(f->batch)) {
			int rc = live_row(f, f->batch, f->batch_i++);
			if (rc < 0 || rc == 0)
				return;
			continue;
		}
		if (f->batch) {
			bool was_short = f->batch_short;
			PQclear(f->batch);
			f->batch = NULL;
			if (was_short) {
				f->pos = f->read_head;
				f->pos_idx = INT32_MAX;
				f->caught_up = f->read_frontier;
			}
			continue;
		}
		if (pos_before(f, f->e->head) &&
		    !(f->stmt->has_end_time &&
		      !pos_before(f, f->stmt->end_time))) {
			live_read(f);
			continue;
		}
		/* Nothing new in history: caught up to the frontier. */
		struct sim_hlc fr = f->e->frontier;
		if (f->stmt->has_end_time &&
		    sim_hlc_cmp(fr, f->stmt->end_time) > 0)
			fr = f->stmt->end_time;
		if (sim_hlc_cmp(fr, f->caught_up) > 0 &&
		    !pos_before(f, f->e->head))
			f->caught_up = fr;
		live_idle(f);
		if (f->qlen > 0)
			continue;
		return;
	}
}

void feed_target_info_free(struct target_info *ti)
{
	json_decref(ti->pk_names);
	for (int i = 0; ti->names && i < ti->ncols; i++)
		free(ti->names[i]);
	for (int i = 0; ti->types && i < ti->ncols; i++)
		free(ti->types[i]);
	free(ti->names);
	free(ti->types);
	free(ti->oids);
	free(ti->sig);
}

static void feed_free(struct simfeed *f)
{
	struct simfeed **pp;

	for (pp = &f->e->feeds; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	feed_quiesce(f);
	for (size_t i = 0; i < OUTQ_MAX; i++)
		outrow_free(&f->q[i]);
	for (size_t i = 0; i < DUP_WINDOW; i++)
		outrow_free(&f->dup[i]);
	for (size_t i = 0; f->ti && i < f->stmt->ntargets; i++)
		feed_target_info_free(&f->ti[i]);
	free(f->ti);
	for (int i = 0; i < f->cdc_ncols; i++) {
		free(f->cdc_names[i]);
		free(f->cdc_types[i]);
	}
	free(f->cdc_names);
	free(f->cdc_types);
	free(f->cdc_oids);
	free(f->cdc_sql);
	free(f->cdc_key);
	free(f->fh_value);
	free(f->xip);
	free(f->tgt_schemas);
	free(f->tgt_tables);
	if (f->wake)
		event_free(f->wake);
	if (f->timer)
		event_free(f->timer);
	sim_stmt_free(f->stmt);
	free(f);
}

static void feed_on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct simfeed *f = arg;

	(void)fd;
	(void)what;
	if (f->stopped) {
		feed_free(f);
		return;
	}
	feed_pump(f);
}

/* ---- the API ---- */

struct simfeed *simfeed_start(struct simfeed_engine *e,
			      struct simfeed_stmt *stmt,
			      const struct simfeed_out *out)
{
	struct simfeed *f = calloc(1, sizeof *f);
	char errbuf[256];

	if (!f || (stmt->ntargets == 0 && !stmt->firehose)) {
		free(f);
		sim_stmt_free(stmt);
		return NULL;
	}
	f->e = e;
	f->stmt = stmt;
	f->out = *out;
	f->ropts.envelope = stmt->envelope;
	f->ropts.updated = stmt->updated;
	f->ropts.diff = stmt->diff;
	f->ropts.mvcc_timestamp = stmt->mvcc_timestamp;
	f->ropts.key_in_value = stmt->key_in_value;
	f->ropts.topic_in_value = stmt->topic_in_value;
	/* PostgreSQL has no column families: every table is the one family
	 * `primary`, named in the table column under split_column_families. */
	for (size_t i = 0; stmt->split_column_families && !stmt->firehose &&
	     i < stmt->ntargets; i++) {
		struct sim_target *t = &stmt->targets[i];
		if (t->family || !t->display)
			continue;
		size_t n = strlen(t->display);
		char *d = malloc(n + sizeof ".primary");
		if (d) {
			memcpy(d, t->display, n);
			memcpy(d + n, ".primary", sizeof ".primary");
			free(t->display);
			t->display = d;
		}
	}
	f->wake = event_new(e->base, -1, 0, feed_on_wake, f);
	f->timer = evtimer_new(e->base, feed_on_wake, f);
	f->ti = calloc(stmt->ntargets + 1, sizeof *f->ti);
	f->next = e->feeds;
	e->feeds = f;
	if (!f->wake || !f->timer || !f->ti) {
		f->stopped = true;
		feed_free(f);
		return NULL;
	}
	if (stmt->firehose) {
		if (firehose_init(f)) {
			f->stopped = true;
			feed_free(f);
			return NULL;
		}
		/* No checks: the firehose is crdbsim's own target. */
		feed_kick(f);
		return f;
	}
	f->state = FEED_VALIDATE;
	f->pg = aconn_open(e->base, e->db_dsn, errbuf, sizeof errbuf);
	if (!f->pg) /* feed_validate() reports it: the caller has no handle yet */
		fprintf(stderr, "crdbsim: feed: %s\n", errbuf);
	feed_kick(f);
	return f;
}

void simfeed_resume(struct simfeed *f)
{
	if (f && !f->stopped)
		feed_kick(f);
}

void simfeed_stop(struct simfeed *f)
{
	if (!f || f->stopped)
		return;
	f->stopped = true;
	feed_quiesce(f);
	event_active(f->wake, EV_TIMEOUT, 1);
}

void sim_feeds_wake(struct simfeed_engine *e)
{
	for (struct simfeed *f = e->feeds; f; f = f->next)
		if (f->state == FEED_LIVE && !f->pg_busy && !f->stopped)
			feed_kick(f);
}

void sim_feeds_free_all(struct simfeed_engine *e)
{
	while (e->feeds) {
		e->feeds->stopped = true;
		feed_free(e->feeds);
	}
}

int simfeed_fail_all(struct simfeed_engine *e, const char *sqlstate,
		     const char *message)
{
	struct simfeed_error err;
	int n = 0;

	set_error(&err, sqlstate ? sqlstate : "XXUUU", NULL, "%s",
		  message ? message : "");
	for (struct simfeed *f = e->feeds; f; f = f->next) {
		if (f->stopped || f->state == FEED_DONE)
			continue;
		feed_fail(f, &err);
		n++;
	}
	return n;
}

int simfeed_duplicate(struct simfeed_engine *e, int n)
{
	int count = 0;

	for (struct simfeed *f = e->feeds; f; f = f->next) {
		if (f->stopped || f->state == FEED_DONE)
			continue;
		size_t k = n < 0 ? 0 : (size_t)n;
		if (k > f->duplen)
			k = f->duplen;
		/* The window goes ahead of anything already queued. */
		for (size_t i = k; i-- > 0 && f->qlen < OUTQ_MAX;) {
			struct outrow *d = &f->dup[(f->duphead + f->duplen - k +
						    i) % DUP_WINDOW];
			char *t = memdup0(d->table, d->table_len);
			char *kk = memdup0(d->key, d->key_len);
			char *v = memdup0(d->value, d->value_len);
			if (!t || !kk || !v) {
				free(t);
				free(kk);
				free(v);
				break;
			}
			f->qhead = (f->qhead + OUTQ_MAX - 1) % OUTQ_MAX;
			f->qlen++;
			struct outrow *r = &f->q[f->qhead];
			r->table = t;
			r->table_len = d->table_len;
			r->key = kk;
			r->key_len = d->key_len;
			r->value = v;
			r->value_len = d->value_len;
		}
		count++;
		feed_kick(f);
	}
	return count;
}

/*
 * After a GC: a feed that still has history to read below the new
 * threshold lost it, as a CockroachDB feed that fell behind the GC TTL
 * (§7: "contains GC threshold").
 */
void sim_feeds_gc(struct simfeed_engine *e, struct sim_hlc threshold)
{
	for (struct simfeed *f = e->feeds; f; f = f->next) {
		if (f->stopped || f->stmt->gc_protected ||
		    (f->state != FEED_LIVE && f->state != FEED_SCAN))
			continue;
		if (sim_hlc_cmp(f->pos, threshold) >= 0 ||
		    !pos_before(f, e->head))
			continue;
		feed_failf(f, "XXUUU", NULL,
			   "batch timestamp %" PRId64 ".%09" PRId64 ",%d must "
			   "be after replica GC threshold %" PRId64 ".%09"
			   PRId64 ",%d",
			   f->pos.wall / 1000000000, f->pos.wall % 1000000000,
			   (int)f->pos.logical, threshold.wall / 1000000000,
			   threshold.wall % 1000000000, (int)threshold.logical);
	}
}

int simfeed_stall(struct simfeed_engine *e, int64_t ms)
{
	int n = 0;

	for (struct simfeed *f = e->feeds; f; f = f->next) {
		if (f->stopped || f->state == FEED_DONE)
			continue;
		f->stall_until = sim_now_ns() + ms * 1000000;
		n++;
	}
	return n;
}
