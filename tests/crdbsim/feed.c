/*
 * feed.c: running sinkless changefeeds inside crdbsim: validation, the
 * initial scan with an exact boundary, live changes read from
 * crdbsim.history in HLC order, resolved rows, completion, CDC queries,
 * TRUNCATE/DROP/schema-change endings, flow control, feed faults and the
 * benchmark firehose. ingest.c fills the history; render.c renders rows.
 *
 * Each feed has its own PostgreSQL connection (its REPEATABLE READ scan,
 * its history reads, its CDC evaluations) and one `wake` event: every piece
 * of work runs from feed_pump(), which hands rows to the session only while
 * can_send() says yes. At most one history batch (FETCH_ROWS) or scan batch
 * (SCAN_ROWS) is held in memory, plus the duplicate window.
 *
 * Scan/live boundary (crdbsim-notes.md): note the history head H, open a
 * REPEATABLE READ snapshot, scan the targets in it (rows get `updated` =
 * the wall clock right after the snapshot), then replay history after H
 * skipping every transaction visible in the snapshot. With a cursor and an
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

#include <jansson.h>

#include "feedint.h"

#define FETCH_ROWS 1024         /* history rows per read */
#define FETCH_ROWS_SQL "1024"
#define SCAN_ROWS 500           /* table rows per FETCH */
#define PUMP_BURST 2048         /* rows per loop pass before yielding */
#define DUP_WINDOW 256          /* rows kept for simfeed_duplicate */
#define OUTQ_MAX (DUP_WINDOW + 8)

enum feed_state {
	FEED_VALIDATE,  /* checking targets; not started yet */
	FEED_SCAN,      /* initial scan in its snapshot */
	FEED_LIVE,      /* following crdbsim.history */
	FEED_FIREHOSE,  /* synthetic benchmark rows */
	FEED_DONE,      /* error/complete sent (or stopped): no more work */
};

struct outrow {
	char *table, *key, *value;  /* table/key NULL: resolved */
	size_t table_len, key_len, value_len;
};

struct target_info {
	json_t *pk_names;   /* scan: primary key column names */
	char **names, **types;
	unsigned int *oids;
	int ncols;
	char *sig;          /* column signature at start (schema changes) */
};

struct simfeed;

/* What a feed does with the answers to one query (send_query). */
struct pg_handler {
	bool command_ok;        /* PGRES_COMMAND_OK is good too */
	/* each good result (the connection clears it afterwards) */
	void (*result)(struct simfeed *f, PGresult *res);
	/* the query finished and no result failed */
	void (*done)(struct simfeed *f);
};

struct simfeed {
	struct simfeed *next;
	struct simfeed_engine *e;
	struct simfeed_stmt *stmt;
	struct simfeed_out out;
	enum feed_state state;
	bool stopped;           /* simfeed_stop(): reap, call nothing */
	bool started;
	int step;               /* sub-step inside a state */
	struct aconn *pg;
	bool pg_busy;
	const struct pg_handler *handler; /* of the query in flight */
	struct event *wake;
	struct event *timer;
	struct sim_render_opts ropts;
	struct target_info *ti;

	/* output queue (rows made, not yet accepted by the session) */
	struct outrow q[OUTQ_MAX];
	size_t qhead, qlen;
	/* duplicate window: copies of the last data rows sent */
	struct outrow dup[DUP_WINDOW];
	size_t duphead, duplen;
	uint64_t nrows;

	/* scan */
	size_t scan_target;
	PGresult *batch;        /* scan or history rows being emitted */
	int batch_i;
	bool batch_short;       /* history read returned < FETCH_ROWS */
	bool have_snapshot;
	uint64_t snap_xmin, snap_xmax, *xip;
	size_t nxip;
	struct sim_hlc scan_ts;
	size_t scan_first, scan_end; /* targets to scan: [first, end) */
	bool backfill;          /* a schema-change backfill, not the start */
	struct sim_hlc backfill_ts;

	/* live */
	struct sim_hlc pos;     /* emitted everything <= (pos, pos_idx) */
	int32_t pos_idx;
	struct sim_hlc read_head, read_frontier; /* as of the read in flight */
	struct sim_hlc caught_up; /* everything <= this was emitted */
	char *tgt_schemas, *tgt_tables; /* text[] literals */

	/* resolved */
	struct sim_hlc resolved_sent;
	int64_t resolved_at;    /* ns of the last resolved row */
	int64_t stall_until;    /* ns */

	/* CDC query */
	char *cdc_sql;
	char **cdc_names, **cdc_types;
	unsigned int *cdc_oids;
	int cdc_ncols;
	char *cdc_key;          /* key of the event being evaluated */
	size_t cdc_key_len;
	struct sim_hlc cdc_ts;
	bool cdc_ready;

	/* firehose */
	char *fh_value;
	size_t fh_value_len;
	uint64_t fh_sent;
	const char *fh_table;
};

static void feed_pump(struct simfeed *f);
static void target_info_free(struct target_info *ti);
static void scan_begin(struct simfeed *f);

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
static char *text_array(const char *const *items, size_t n)
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

static void feed_failf(struct simfeed *f, const char *sqlstate,
		       const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void feed_failf(struct simfeed *f, const char *sqlstate,
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

static void feed_complete(struct simfeed *f)
{
	if (f->state == FEED_DONE)
		return;
	feed_quiesce(f);
	if (!f->stopped && f->out.complete)
		f->out.complete(f->out.arg, f->nrows);
}

static void feed_kick(struct simfeed *f)
{
	event_active(f->wake, EV_TIMEOUT, 1);
}

static void feed_started(struct simfeed *f)
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
static bool flush_queue(struct simfeed *f)
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

static int queue_resolved(struct simfeed *f, struct sim_hlc ts)
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

static int queue_event(struct simfeed *f, size_t target, char *key,
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

static int find_target(const struct simfeed *f, const char *schema,
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

static int send_query(struct simfeed *f, const char *sql, int nparams,
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

/* ---- rendering one change ---- */

/* wal2json-like "columns" from a text-format row (scan, CDC results). */
static json_t *columns_from_row(PGresult *res, int row, char **names,
				char **types, const unsigned int *oids,
				int ncols)
{
	json_t *cols = json_array();

	if (!cols)
		return NULL;
	/* Build text and parse it the way wal2json output is parsed, so a
	 * scan row and a live change render the same. */
	for (int c = 0; c < ncols; c++) {
		json_t *col = json_pack("{s:s, s:s, s:n}", "name", names[c],
					"type", types[c], "value");
		if (!col) {
			json_decref(cols);
			return NULL;
		}
		if (!PQgetisnull(res, row, c)) {
			const char *v = PQgetvalue(res, row, c);
			json_t *jv = NULL;
			switch (oids[c]) {
			case 20: case 21: case 23: case 26:
			case 700: case 701: case 1700:
				/* wal2json: NaN/Infinity come as null. */
				if (strcmp(v, "NaN") && strcmp(v, "Infinity") &&
				    strcmp(v, "-Infinity"))
					jv = sim_wal2json_loads(v, strlen(v));
				else
					jv = json_null();
				break;
			case 16:
				jv = json_boolean(v[0] == 't');
				break;
			default:
				jv = json_string(v);
				break;
			}
			if (!jv)
				jv = json_string(v);
			json_object_set_new(col, "value", jv);
		}
		json_array_append_new(cols, col);
	}
	return cols;
}

static json_t *pk_names_of(json_t *doc)
{
	json_t *out = json_array(), *pk;
	size_t i;

	json_array_foreach(json_object_get(doc, "pk"), i, pk)
		json_array_append(out, json_object_get(pk, "name"));
	return out;
}

static int render_and_queue(struct simfeed *f, size_t target,
			    const json_t *pk_names, const json_t *after,
			    const json_t *before, struct sim_hlc ts)
{
	char *key = NULL, *value = NULL, errbuf[256];
	size_t key_len = 0, value_len = 0;

	if (sim_render_event(&f->ropts, pk_names, after, before, ts,
			     f->stmt->targets[target].display, &key, &key_len,
			     &value, &value_len, errbuf, sizeof errbuf)) {
		feed_failf(f, "XXUUU", NULL, "crdbsim: rendering: %s", errbuf);
		return -1;
	}
	return queue_event(f, target, key, key_len, value, value_len);
}

/* ---- CDC queries: evaluated by PostgreSQL, one event at a time ---- */

static void cdc_on_eval_result(struct simfeed *f, PGresult *res)
{
	if (PQntuples(res) == 1 && f->cdc_key) {
		json_t *cols = columns_from_row(res, 0, f->cdc_names,
			f->cdc_types, f->cdc_oids, f->cdc_ncols);
		json_t *pk = json_array();
		/* The key was rendered from the source row; the value's
		 * own "key" is discarded, any column will do. */
		if (f->cdc_ncols > 0)
			json_array_append_new(pk,
				json_string(f->cdc_names[0]));
		char *key = NULL, *value = NULL, errbuf[256];
		size_t kl = 0, vl = 0;
		struct sim_render_opts o = f->ropts;
		o.key_in_value = false;
		int rc = cols && f->cdc_ncols > 0 ?
			sim_render_event(&o, pk, cols, NULL, f->cdc_ts,
				f->stmt->targets[0].display, &key, &kl,
				&value, &vl, errbuf, sizeof errbuf) : -1;
		json_decref(cols);
		json_decref(pk);
		free(key);
		if (rc) {
			free(value);
			feed_failf(f, "XXUUU", NULL,
				   "crdbsim: CDC query rendering failed");
			return;
		}
		queue_event(f, 0, f->cdc_key, f->cdc_key_len, value, vl);
		f->cdc_key = NULL;
	}
}

static void cdc_on_eval_done(struct simfeed *f)
{
	free(f->cdc_key);
	f->cdc_key = NULL;
	feed_pump(f);
}

static const struct pg_handler cdc_on_eval = {
	.result = cdc_on_eval_result,
	.done = cdc_on_eval_done,
};

/* Turn a columns array into {"name": value, ...} for jsonb_populate_record. */
static char *cdc_record(const json_t *cols, const json_t *only)
{
	json_t *obj = json_object(), *col;
	size_t i;

	json_array_foreach(cols, i, col) {
		const char *n = json_string_value(json_object_get(col, "name"));
		const char *t = json_string_value(json_object_get(col, "type"));
		json_t *v = json_object_get(col, "value");
		if (!n)
			continue;
		if (only) {
			bool keep = false;
			size_t j;
			json_t *k;
			json_array_foreach(only, j, k)
				if (!strcmp(json_string_value(k) ?
					    json_string_value(k) : "", n))
					keep = true;
			if (!keep)
				continue;
		}
		/* json/jsonb arrive as text: embed the document itself. */
		if (t && (!strcmp(t, "jsonb") || !strcmp(t, "json")) &&
		    json_is_string(v)) {
			json_t *doc = json_loads(json_string_value(v),
						 JSON_DECODE_ANY, NULL);
			json_object_set_new(obj, n, doc ? doc : json_null());
		} else {
			json_object_set(obj, n, v ? v : json_null());
		}
	}
	char *s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return s;
}

static int cdc_eval(struct simfeed *f, const json_t *pk_names,
		    const json_t *after, const json_t *before,
		    struct sim_hlc ts)
{
	struct sim_render_opts ko = { .envelope = SIM_ENV_KEY_ONLY };
	char *key = NULL, *value = NULL, errbuf[256];
	size_t kl = 0, vl = 0;

	if (sim_render_event(&ko, pk_names, after, before, ts,
			     f->stmt->targets[0].display, &key, &kl, &value,
			     &vl, errbuf, sizeof errbuf)) {
		feed_failf(f, "XXUUU", NULL, "crdbsim: rendering: %s", errbuf);
		return -1;
	}
	free(value);
	/* Deletes: the primary key with every other column NULL [INF: the
	 * WHERE clause is not applied to them]. */
	char *rec = after ? cdc_record(after, NULL)
			  : cdc_record(before, pk_names);
	if (!rec) {
		free(key);
		feed_failf(f, "XXUUU", NULL, "crdbsim: out of memory");
		return -1;
	}
	/* event_op() (§1.3): insert/update need diff, else upsert. */
	const char *op = !after ? "delete" : !f->stmt->diff ? "upsert" :
			 before ? "update" : "insert";
	const char *params[3] = { rec, after ? "t" : "f", op };
	f->cdc_key = key;
	f->cdc_key_len = kl;
	f->cdc_ts = ts;
	int rc = send_query(f, f->cdc_sql, 3, params, &cdc_on_eval);
	free(rec);
	return rc;
}

/* ---- live changes ---- */

static bool snapshot_visible(const struct simfeed *f, uint64_t xid32)
{
	if (!f->have_snapshot)
		return false;
	/* Widen the 32-bit xid with the snapshot's epoch. */
	uint64_t full = (f->snap_xmax & ~(uint64_t)0xffffffff) | xid32;
	if (full > f->snap_xmax)
		full -= (uint64_t)1 << 32;
	if (full < f->snap_xmin)
		return true;
	if (full >= f->snap_xmax)
		return false;
	for (size_t i = 0; i < f->nxip; i++)
		if (f->xip[i] == full)
			return false;
	return true;
}

static const json_t *column_value(const json_t *cols, const char *name)
{
	size_t i;
	json_t *col;

	json_array_foreach(cols, i, col) {
		const char *n = json_string_value(json_object_get(col, "name"));
		if (n && !strcmp(n, name))
			return json_object_get(col, "value");
	}
	return NULL;
}

/*
 * wal2json leaves unchanged TOASTed columns out of an UPDATE's new row;
 * the old row (REPLICA IDENTITY FULL logs it whole) has their values.
 */
static void fill_unchanged_toast(json_t *after, const json_t *before)
{
	size_t i;
	json_t *col;

	json_array_foreach(before, i, col) {
		const char *n = json_string_value(json_object_get(col, "name"));
		if (n && !column_value(after, n) &&
		    json_object_get(col, "value"))
			json_array_append(after, col);
	}
}

/* Did an UPDATE change the primary key (old row in `before`)? */
static bool key_changed(const json_t *pk, const json_t *after,
			const json_t *before)
{
	size_t i;
	json_t *name;

	json_array_foreach(pk, i, name) {
		const char *n = json_string_value(name);
		const json_t *a = n ? column_value(after, n) : NULL;
		const json_t *b = n ? column_value(before, n) : NULL;
		if (a && b && !json_equal(a, b))
			return true;
	}
	return false;
}

/* Emit one history row. 1: continue, 0: async work started, -1: ended. */
static int live_row(struct simfeed *f, PGresult *res, int i)
{
	struct sim_hlc ts = {
		strtoll(PQgetvalue(res, i, 0), NULL, 10),
		(int32_t)strtol(PQgetvalue(res, i, 1), NULL, 10) };
	int32_t idx = (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10);
	uint64_t xid = strtoull(PQgetvalue(res, i, 3), NULL, 10);
	const char *action = PQgetvalue(res, i, 4);
	const char *schema = PQgetvalue(res, i, 5);
	const char *table = PQgetvalue(res, i, 6);
	const char *text = PQgetvalue(res, i, 7);
	int t = find_target(f, schema, table);

	f->pos = ts;
	f->pos_idx = idx;
	if (t < 0 || snapshot_visible(f, xid))
		return 1;
	if (!strcmp(action, "T")) {
		feed_failf(f, "XXUUU", NULL, "\"%s\" was truncated", table);
		return -1;
	}
	if (!strcmp(action, "drop")) {
		feed_failf(f, "XXUUU", NULL, "\"%s.%s.%s\" was dropped",
			   f->e->dbname, schema, table);
		return -1;
	}
	json_t *doc = sim_wal2json_loads(text, strlen(text));
	if (!doc)
		return 1;
	if (!strcmp(action, "alter")) {
		json_t *col;
		size_t k;
		const char *sig = NULL;
		json_array_foreach(json_object_get(doc, "columns"), k, col)
			if (json_string_value(json_object_get(col, "name")) &&
			    !strcmp(json_string_value(json_object_get(col,
					"name")), "columns"))
				sig = json_string_value(json_object_get(col,
								"value"));
		struct target_info *ti = &f->ti[t];
		if (sig && ti->sig && strcmp(sig, ti->sig)) {
			if (f->stmt->schema_change_policy == SIM_SCHEMA_STOP) {
				char hlc[48];
				sim_hlc_format(ts, hlc, sizeof hlc);
				json_decref(doc);
				/* The prefix is in newer releases [INF:
				 * from 22.2 on]. */
				feed_failf(f, "55C01", NULL,
					   "%sschema change occurred at %s",
					   f->e->emulated_version >= 220200 ?
					   "shut down due to schema change and "
					   "schema_change_policy=\"stop\": " : "",
					   hlc);
				return -1;
			}
			free(ti->sig);
			ti->sig = strdup(sig);
			if (f->stmt->schema_change_policy ==
			    SIM_SCHEMA_BACKFILL) {
				/* §9: the whole table again, in the new
				 * schema, at the change's timestamp. */
				json_decref(doc);
				PQclear(f->batch);
				f->batch = NULL;
				f->backfill = true;
				f->backfill_ts = ts;
				f->scan_first = (size_t)t;
				f->scan_end = (size_t)t + 1;
				scan_begin(f);
				return 0;
			}
		}
		json_decref(doc);
		return 1;
	}
	json_t *pk = f->ti[t].pk_names ? json_incref(f->ti[t].pk_names)
				       : pk_names_of(doc);
	json_t *after = NULL, *before = NULL;
	if (!strcmp(action, "I") || !strcmp(action, "U"))
		after = json_object_get(doc, "columns");
	if (!strcmp(action, "U") || !strcmp(action, "D"))
		before = json_object_get(doc, "identity");
	if (after && before)
		fill_unchanged_toast(after, before);
	int rc = 1;
	if (!after && !before) {
		rc = 1;
	} else if (!f->cdc_sql && after && before && key_changed(pk, after,
								 before)) {
		/* CockroachDB sees a new key as a delete of the old row and
		 * an insert of the new one. */
		rc = render_and_queue(f, (size_t)t, pk, NULL, before, ts) ||
		     render_and_queue(f, (size_t)t, pk, after, NULL, ts) ?
			-1 : 1;
	} else if (f->cdc_sql) {
		rc = cdc_eval(f, pk, after, before, ts) ? -1 : 0;
	} else {
		rc = render_and_queue(f, (size_t)t, pk, after, before, ts) ?
			-1 : 1;
	}
	json_decref(pk);
	json_decref(doc);
	return rc;
}

static void live_on_read_result(struct simfeed *f, PGresult *res)
{
	PQclear(f->batch);
	/* Keep the result: aconn clears only what it owns. */
	f->batch = PQcopyResult(res, PG_COPYRES_ATTRS |
				PG_COPYRES_TUPLES);
	f->batch_i = 0;
	f->batch_short = PQntuples(res) < FETCH_ROWS;
}

static const struct pg_handler live_on_read = {
	.result = live_on_read_result,
	.done = feed_pump,
};

static void live_read(struct simfeed *f)
{
	struct simfeed_engine *e = f->e;
	char w[24], l[16], p[16], hw[24], hl[16];
	struct sim_hlc upto = e->head;

	if (f->stmt->has_end_time && sim_hlc_cmp(f->stmt->end_time, upto) < 0)
		upto = f->stmt->end_time;
	f->read_head = upto;
	f->read_frontier = e->frontier;
	if (sim_hlc_cmp(f->read_frontier, upto) > 0 &&
	    f->stmt->has_end_time &&
	    sim_hlc_cmp(f->read_frontier, f->stmt->end_time) > 0)
		f->read_frontier = f->stmt->end_time;
	snprintf(w, sizeof w, "%" PRId64, f->pos.wall);
	snprintf(l, sizeof l, "%" PRId32, f->pos.logical);
	snprintf(p, sizeof p, "%" PRId32, f->pos_idx);
	snprintf(hw, sizeof hw, "%" PRId64, upto.wall);
	snprintf(hl, sizeof hl, "%" PRId32, upto.logical);
	const char *params[7] = { w, l, p, hw, hl, f->tgt_schemas,
				  f->tgt_tables };
	send_query(f,
		"SELECT wall, logical, pos, xid, action, schema_name,"
		" table_name, change FROM crdbsim.history"
		" WHERE (wall, logical, pos) > ($1::bigint, $2::integer, $3::integer)"
		" AND (wall, logical) <= ($4::bigint, $5::integer)"
		" AND (schema_name, table_name) IN"
		"  (SELECT * FROM unnest($6::text[], $7::text[]))"
		" ORDER BY wall, logical, pos LIMIT " FETCH_ROWS_SQL,
		7, params, &live_on_read);
}

/*
 * The frontier as a CockroachDB changefeed sees it: what is caught up,
 * but never past the closed timestamp, which trails the present by
 * kv.closed_timestamp.target_duration (a rangefeed's resolved timestamp is
 * at most its range's closed timestamp; doc/crdb-wire.md §3). When the
 * closed timestamp holds it back, the feed's timer looks again once it
 * has moved past what is caught up.
 */
static struct sim_hlc closed_frontier(struct simfeed *f, int64_t now)
{
	struct sim_hlc closed = { now - f->e->closed_target_ms * 1000000, 0 };

	if (sim_hlc_cmp(f->caught_up, closed) <= 0)
		return f->caught_up;
	int64_t wait = f->caught_up.wall - closed.wall + 1000;
	struct timeval tv = { wait / 1000000000, (wait % 1000000000) / 1000 };
	evtimer_add(f->timer, &tv);
	return closed;
}

/* Caught up with the history: resolved rows and completion. */
static void live_idle(struct simfeed *f)
{
	struct simfeed_stmt *s = f->stmt;
	int64_t now = sim_now_ns();
	struct sim_hlc cand;

	if (!s->has_end_time && !s->has_resolved)
		return;
	cand = closed_frontier(f, now);
	if (s->has_end_time && sim_hlc_cmp(cand, s->end_time) >= 0) {
		feed_complete(f);
		return;
	}
	if (!s->has_resolved)
		return;
	if (f->have_snapshot && sim_hlc_cmp(cand, f->scan_ts) < 0)
		return;
	if (s->has_cursor && sim_hlc_cmp(cand, s->cursor) < 0)
		return;
	if (sim_hlc_cmp(cand, f->resolved_sent) <= 0)
		return;
	int64_t every = s->resolved_ms > s->min_checkpoint_ms ?
			s->resolved_ms : s->min_checkpoint_ms;
	if (f->resolved_at && now - f->resolved_at < every * 1000000) {
		int64_t wait = every * 1000000 - (now - f->resolved_at);
		struct timeval tv = { wait / 1000000000,
				      (wait % 1000000000) / 1000 + 1 };
		evtimer_add(f->timer, &tv);
		return;
	}
	queue_resolved(f, cand);
}

/* ---- initial scan ---- */

static void scan_next_target(struct simfeed *f);

static void scan_on_fetch_result(struct simfeed *f, PGresult *res)
{
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		PQclear(f->batch);
		f->batch = PQcopyResult(res, PG_COPYRES_ATTRS |
					PG_COPYRES_TUPLES);
		f->batch_i = 0;
	}
}

static const struct pg_handler scan_on_fetch = {
	.command_ok = true,
	.result = scan_on_fetch_result,
	.done = feed_pump,
};

static void scan_on_columns_result(struct simfeed *f, PGresult *res)
{
	struct target_info *ti = &f->ti[f->scan_target];

	int n = PQntuples(res);
	char *sig = ti->sig;
	ti->sig = NULL; /* a backfill re-reads the rest, not this */
	target_info_free(ti);
	memset(ti, 0, sizeof *ti);
	ti->sig = sig;
	ti->names = calloc((size_t)n + 1, sizeof *ti->names);
	ti->types = calloc((size_t)n + 1, sizeof *ti->types);
	ti->oids = calloc((size_t)n + 1, sizeof *ti->oids);
	ti->pk_names = json_array();
	if (!ti->names || !ti->types || !ti->oids || !ti->pk_names)
		return;
	/* Rows come in key order first (ord > 0), then the rest. */
	for (int i = 0; i < n; i++) {
		ti->names[i] = strdup(PQgetvalue(res, i, 0));
		ti->types[i] = strdup(PQgetvalue(res, i, 1));
		ti->oids[i] = (unsigned)strtoul(PQgetvalue(res, i, 2),
						NULL, 10);
		if (strcmp(PQgetvalue(res, i, 3), "0"))
			json_array_append_new(ti->pk_names,
				json_string(PQgetvalue(res, i, 0)));
	}
	ti->ncols = n;
}

static void scan_on_columns_done(struct simfeed *f)
{
	struct target_info *ti = &f->ti[f->scan_target];

	if (!ti->names) {
		feed_failf(f, "XXUUU", NULL, "crdbsim: out of memory");
		return;
	}
	/* The scan cursor reads columns in attnum order, as named. */
	PGconn *c = f->pg->conn;
	struct sim_target *tg = &f->stmt->targets[f->scan_target];
	char *qs = PQescapeIdentifier(c, tg->schema, strlen(tg->schema));
	char *qt = PQescapeIdentifier(c, tg->table, strlen(tg->table));
	size_t len = 128 + (qs ? strlen(qs) : 0) + (qt ? strlen(qt) : 0);
	for (int i = 0; i < ti->ncols; i++)
		len += 2 * strlen(ti->names[i]) + 4;
	char *sql = malloc(len);
	if (!qs || !qt || !sql) {
		PQfreemem(qs);
		PQfreemem(qt);
		free(sql);
		feed_failf(f, "XXUUU", NULL, "crdbsim: out of memory");
		return;
	}
	size_t o = (size_t)snprintf(sql, len,
		"DECLARE crdbsim_scan NO SCROLL CURSOR FOR SELECT ");
	for (int i = 0; i < ti->ncols; i++) {
		char *qc = PQescapeIdentifier(c, ti->names[i],
					      strlen(ti->names[i]));
		o += (size_t)snprintf(sql + o, len - o, "%s%s", i ? ", " : "",
				      qc ? qc : "NULL");
		PQfreemem(qc);
	}
	snprintf(sql + o, len - o, " FROM %s.%s; FETCH %d FROM crdbsim_scan",
		 qs, qt, SCAN_ROWS);
	PQfreemem(qs);
	PQfreemem(qt);
	f->step = 1;
	send_query(f, sql, 0, NULL, &scan_on_fetch);
	free(sql);
}

static const struct pg_handler scan_on_columns = {
	.result = scan_on_columns_result,
	.done = scan_on_columns_done,
};

static void scan_next_target(struct simfeed *f)
{
	if (f->scan_target >= f->scan_end) {
		f->step = 2;
		send_query(f, "COMMIT", 0, NULL, &scan_on_fetch);
		return;
	}
	struct sim_target *tg = &f->stmt->targets[f->scan_target];
	const char *params[2] = { tg->schema, tg->table };
	send_query(f,
		"SELECT a.attname, format_type(a.atttypid, a.atttypmod),"
		" a.atttypid::integer, coalesce(k.ord, 0)"
		" FROM pg_attribute a LEFT JOIN ("
		"  SELECT u.attnum, u.ord FROM pg_index i,"
		"  unnest(i.indkey::int2[]) WITH ORDINALITY AS u(attnum, ord)"
		"  WHERE i.indrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass"
		"  AND i.indisprimary) k ON k.attnum = a.attnum"
		" WHERE a.attrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass"
		" AND a.attnum > 0 AND NOT a.attisdropped"
		" ORDER BY k.ord NULLS LAST, a.attnum",
		2, params, &scan_on_columns);
}

static int parse_snapshot(struct simfeed *f, const char *s)
{
	unsigned long long xmin, xmax;
	int n = 0;

	if (sscanf(s, "%llu:%llu:%n", &xmin, &xmax, &n) != 2)
		return -1;
	f->nxip = 0;
	f->snap_xmin = xmin;
	f->snap_xmax = xmax;
	s += n;
	while (*s) {
		char *end;
		unsigned long long x = strtoull(s, &end, 10);
		if (end == s)
			break;
		uint64_t *nx = realloc(f->xip, (f->nxip + 1) * sizeof *nx);
		if (!nx)
			return -1;
		f->xip = nx;
		f->xip[f->nxip++] = x;
		s = *end == ',' ? end + 1 : end;
	}
	f->have_snapshot = true;
	return 0;
}

static void scan_on_snapshot_result(struct simfeed *f, PGresult *res)
{
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return;
	if (parse_snapshot(f, PQgetvalue(res, 0, 0)))
		feed_failf(f, "XXUUU", NULL, "crdbsim: bad snapshot");
	f->scan_ts.wall = sim_now_ns();
	f->scan_ts.logical = 0;
	/* Backfilled rows carry the schema change's time. */
	if (f->backfill)
		f->scan_ts = f->backfill_ts;
}

static void scan_on_snapshot_done(struct simfeed *f)
{
	if (!f->have_snapshot) {
		feed_failf(f, "XXUUU", NULL, "crdbsim: no snapshot");
		return;
	}
	f->scan_target = f->scan_first;
	scan_next_target(f);
}

static const struct pg_handler scan_on_snapshot = {
	.command_ok = true,
	.result = scan_on_snapshot_result,
	.done = scan_on_snapshot_done,
};

static void scan_begin(struct simfeed *f)
{
	if (!f->backfill) {
		/* Everything in history up to here committed before the
		 * snapshot; later entries are filtered by visibility. */
		f->pos = f->e->head;
		f->pos_idx = INT32_MAX;
		f->caught_up = f->pos;
		f->scan_first = 0;
		f->scan_end = f->stmt->ntargets;
	}
	/* A backfill keeps pos at its schema change: live replay resumes
	 * there, skipping what the new snapshot saw. */
	f->state = FEED_SCAN;
	f->step = 0;
	send_query(f, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
		   " SELECT pg_current_snapshot()::text", 0, NULL,
		   &scan_on_snapshot);
}

/* Emit scan rows of the batch; true when the batch is used up. */
static int scan_rows(struct simfeed *f)
{
	struct target_info *ti = &f->ti[f->scan_target];

	while (f->batch && f->batch_i < PQntuples(f->batch)) {
		if (f->qlen > 0 && !flush_queue(f))
			return 0;
		json_t *cols = columns_from_row(f->batch, f->batch_i,
			ti->names, ti->types, ti->oids, ti->ncols);
		f->batch_i++;
		if (!cols) {
			feed_failf(f, "XXUUU", NULL, "crdbsim: out of memory");
			return -1;
		}
		int rc;
		if (f->cdc_sql) {
			rc = cdc_eval(f, ti->pk_names, cols, NULL, f->scan_ts);
			json_decref(cols);
			return rc ? -1 : 0;
		}
		rc = render_and_queue(f, f->scan_target, ti->pk_names, cols,
				      NULL, f->scan_ts);
		json_decref(cols);
		if (rc)
			return -1;
	}
	return 1;
}

static void scan_step(struct simfeed *f)
{
	int rc = scan_rows(f);

	if (rc <= 0 || f->pg_busy || f->state != FEED_SCAN || f->stopped)
		return;
	if (f->step == 3) {
		scan_next_target(f);
		return;
	}
	if (f->step == 2) {
		/* Committed: the scan is over. */
		PQclear(f->batch);
		f->batch = NULL;
		if (f->backfill) {
			f->backfill = false;
			f->state = FEED_LIVE;
			feed_kick(f);
			return;
		}
		if (f->stmt->initial_scan == SIM_SCAN_ONLY) {
			if (flush_queue(f))
				feed_complete(f);
			return;
		}
		f->state = FEED_LIVE;
		feed_kick(f);
		return;
	}
	if (f->batch && PQntuples(f->batch) == SCAN_ROWS) {
		char sql[64];
		snprintf(sql, sizeof sql, "FETCH %d FROM crdbsim_scan",
			 SCAN_ROWS);
		PQclear(f->batch);
		f->batch = NULL;
		send_query(f, sql, 0, NULL, &scan_on_fetch);
		return;
	}
	PQclear(f->batch);
	f->batch = NULL;
	f->scan_target++;
	f->step = 0;
	if (f->scan_target < f->scan_end) {
		/* CLOSE first, then the next table. */
		send_query(f, "CLOSE crdbsim_scan", 0, NULL, &scan_on_fetch);
		f->step = 3;
		return;
	}
	send_query(f, "CLOSE crdbsim_scan; COMMIT", 0, NULL, &scan_on_fetch);
	f->step = 2;
}

/* ---- validation ---- */

static void start_streaming(struct simfeed *f)
{
	struct simfeed_stmt *s = f->stmt;
	bool scan = s->initial_scan == SIM_SCAN_YES ||
		    s->initial_scan == SIM_SCAN_ONLY ||
		    (s->initial_scan == SIM_SCAN_DEFAULT && !s->has_cursor);

	feed_started(f);
	if (f->stopped || f->state == FEED_DONE)
		return;
	if (scan) {
		scan_begin(f);
		return;
	}
	if (s->has_cursor) {
		f->pos = s->cursor;
	} else {
		f->pos.wall = sim_now_ns();
		f->pos.logical = 0;
	}
	f->pos_idx = INT32_MAX;
	f->caught_up = f->pos;
	f->state = FEED_LIVE;
	feed_kick(f);
}

static void cdc_on_types_result(struct simfeed *f, PGresult *res)
{
	for (int i = 0; i < PQntuples(res) && i < f->cdc_ncols; i++)
		f->cdc_types[i] = strdup(PQgetvalue(res, i, 0));
}

static void cdc_on_types_done(struct simfeed *f)
{
	for (int i = 0; i < f->cdc_ncols; i++)
		if (!f->cdc_types[i]) {
			feed_failf(f, "XXUUU", NULL, "crdbsim: out of memory");
			return;
		}
	start_streaming(f);
}

static const struct pg_handler cdc_on_types = {
	.result = cdc_on_types_result,
	.done = cdc_on_types_done,
};

static void cdc_on_describe_result(struct simfeed *f, PGresult *res)
{
	int n = PQnfields(res);
	f->cdc_names = calloc((size_t)n + 1, sizeof *f->cdc_names);
	f->cdc_types = calloc((size_t)n + 1, sizeof *f->cdc_types);
	f->cdc_oids = calloc((size_t)n + 1, sizeof *f->cdc_oids);
	if (!f->cdc_names || !f->cdc_types || !f->cdc_oids)
		return;
	f->cdc_ncols = n;
	for (int i = 0; i < n; i++) {
		f->cdc_names[i] = strdup(PQfname(res, i));
		f->cdc_oids[i] = PQftype(res, i);
	}
}

static void cdc_on_describe_done(struct simfeed *f)
{
	if (!f->cdc_names) {
		feed_failf(f, "XXUUU", NULL, "crdbsim: out of memory");
		return;
	}
	/* Type names as wal2json spells them (the renderer keys on them). */
	char *oids = malloc((size_t)f->cdc_ncols * 12 + 3);
	if (!oids) {
		feed_failf(f, "XXUUU", NULL, "crdbsim: out of memory");
		return;
	}
	size_t o = 0;
	oids[o++] = '{';
	for (int i = 0; i < f->cdc_ncols; i++)
		o += (size_t)sprintf(oids + o, "%s%u", i ? "," : "",
				     f->cdc_oids[i]);
	oids[o++] = '}';
	oids[o] = '\0';
	const char *params[1] = { oids };
	send_query(f, "SELECT format_type(o, NULL) FROM unnest($1::oid[])"
		   " WITH ORDINALITY AS u(o, n) ORDER BY n", 1, params,
		   &cdc_on_types);
	free(oids);
}

static const struct pg_handler cdc_on_describe = {
	.result = cdc_on_describe_result,
	.done = cdc_on_describe_done,
};

/* Copy of a CDC expression with event_op() turned into parameter $3. */
static char *subst_event_op(const char *in)
{
	char *out = malloc(strlen(in) + 1), *o = out;

	if (!out)
		return NULL;
	while (*in) {
		if (!strncasecmp(in, "event_op()", 10)) {
			memcpy(o, "$3::text", 8);
			o += 8;
			in += 10;
		} else {
			*o++ = *in++;
		}
	}
	*o = '\0';
	return out;
}

/* Build the CDC statement: projection and WHERE over one record. */
static int cdc_prepare(struct simfeed *f)
{
	struct simfeed_stmt *s = f->stmt;
	struct sim_target *tg = &s->targets[0];
	PGconn *c = f->pg->conn;
	char *qs = PQescapeIdentifier(c, tg->schema, strlen(tg->schema));
	char *qt = PQescapeIdentifier(c, tg->table, strlen(tg->table));
	size_t len = 256 + strlen(qs ? qs : "") + 2 * strlen(qt ? qt : "") +
		     (s->query_where ? strlen(s->query_where) : 0);

	for (size_t i = 0; i < s->nquery_columns; i++)
		len += strlen(s->query_columns[i]) + 2;
	char *sql = malloc(len);
	if (!qs || !qt || !sql) {
		PQfreemem(qs);
		PQfreemem(qt);
		free(sql);
		return -1;
	}
	size_t o = (size_t)snprintf(sql, len, "SELECT ");
	if (s->nquery_columns == 0)
		o += (size_t)snprintf(sql + o, len - o, "*");
	for (size_t i = 0; i < s->nquery_columns; i++) {
		char *col = subst_event_op(s->query_columns[i]);
		o += (size_t)snprintf(sql + o, len - o, "%s%s", i ? ", " : "",
				      col ? col : "NULL");
		free(col);
	}
	o += (size_t)snprintf(sql + o, len - o,
		" FROM jsonb_populate_record(NULL::%s.%s, $1::jsonb) AS %s"
		" WHERE $3::text IS NOT NULL AND (NOT $2::boolean", qs, qt, qt);
	if (s->query_where) {
		char *w = subst_event_op(s->query_where);
		snprintf(sql + o, len - o, " OR (%s))", w ? w : "false");
		free(w);
	} else {
		snprintf(sql + o, len - o, " OR true)");
	}
	PQfreemem(qs);
	PQfreemem(qt);
	f->cdc_sql = sql;
	const char *params[3] = { "{}", "t", "insert" };
	return send_query(f, sql, 3, params, &cdc_on_describe);
}

static void validate_on_targets_result(struct simfeed *f, PGresult *res)
{
	struct simfeed_stmt *s = f->stmt;

	for (int i = 0; i < PQntuples(res) &&
	     (size_t)i < s->ntargets; i++) {
		const char *name = s->targets[i].table;
		const char *kind = PQgetvalue(res, i, 1);
		if (PQgetisnull(res, i, 0)) {
			char hint[128] = "";
			if (s->has_cursor) {
				char hlc[48];
				sim_hlc_format(s->cursor, hlc,
					       sizeof hlc);
				snprintf(hint, sizeof hint,
					 "do the targets exist at the "
					 "specified cursor time %s?",
					 hlc);
			}
			feed_failf(f, "42P01", hint,
				   "failed to resolve targets in the "
				   "CHANGEFEED stmt: table \"%s\" does "
				   "not exist", name);
			return;
		}
		if (!strcmp(kind, "v") || !strcmp(kind, "m")) {
			feed_failf(f, "XXUUU", NULL,
				   "CHANGEFEED cannot target views: %s",
				   name);
			return;
		}
		if (!strcmp(kind, "S")) {
			feed_failf(f, "XXUUU", NULL,
				   "CHANGEFEED cannot target sequences: %s",
				   name);
			return;
		}
		f->ti[i].sig = strdup(PQgetvalue(res, i, 2));
		if (!PQgetisnull(res, i, 3))
			f->ti[i].pk_names = json_loads(
				PQgetvalue(res, i, 3), 0, NULL);
	}
}

static void validate_on_targets_done(struct simfeed *f)
{
	struct simfeed_stmt *s = f->stmt;

	if (f->cdc_sql == NULL && s->query) {
		if (cdc_prepare(f))
			feed_failf(f, "XXUUU", NULL, "crdbsim: out of memory");
		return;
	}
	start_streaming(f);
}

static const struct pg_handler validate_on_targets = {
	.result = validate_on_targets_result,
	.done = validate_on_targets_done,
};

static void validate(struct simfeed *f)
{
	struct simfeed_stmt *s = f->stmt;
	struct simfeed_engine *e = f->e;

	if (!f->pg) {
		feed_failf(f, "XXUUU", NULL,
			   "crdbsim: cannot connect to PostgreSQL");
		return;
	}
	if (!e->rangefeed) {
		int v = e->emulated_version;
		char url[160];
		/* The docs path moved with the 22.x changefeed docs [INF]. */
		snprintf(url, sizeof url,
			 "https://www.cockroachlabs.com/docs/v%d.%d/%s",
			 v / 10000, v / 100 % 100,
			 v >= 220100 ?
			 "create-and-configure-changefeeds.html#enable-rangefeeds" :
			 "change-data-capture.html#enable-rangefeeds-to-reduce-latency");
		feed_failf(f, "XXUUU", NULL,
			   "rangefeeds require the kv.rangefeed.enabled "
			   "setting. See %s", url);
		return;
	}
	if (s->has_cursor) {
		struct sim_hlc now = { sim_now_ns(), 0 };
		struct sim_hlc gc = sim_engine_gc_threshold(e);
		char c[48], t[48];
		if (sim_hlc_cmp(s->cursor, now) > 0) {
			feed_failf(f, "XXUUU", NULL,
				   "cannot specify timestamp in the future");
			return;
		}
		if (sim_hlc_cmp(s->cursor, gc) < 0) {
			/* KV prints timestamps as sec.nanos,logical. */
			snprintf(c, sizeof c, "%" PRId64 ".%09" PRId64 ",%d",
				 s->cursor.wall / 1000000000,
				 s->cursor.wall % 1000000000,
				 (int)s->cursor.logical);
			snprintf(t, sizeof t, "%" PRId64 ".%09" PRId64 ",%d",
				 gc.wall / 1000000000, gc.wall % 1000000000,
				 (int)gc.logical);
			if (e->emulated_version >= 220200) {
				char hc[48];
				sim_hlc_format(s->cursor, hc, sizeof hc);
				feed_failf(f, "XXUUU", "use a more recent cursor",
					   "could not create changefeed: cursor "
					   "%s is older than the GC threshold %"
					   PRId64 ": batch timestamp %s must be "
					   "after replica GC threshold %s",
					   hc, gc.wall, c, t);
			} else {
				feed_failf(f, "XXUUU", NULL,
					   "batch timestamp %s must be after "
					   "replica GC threshold %s", c, t);
			}
			return;
		}
	}
	const char **sch = calloc(s->ntargets + 1, sizeof *sch);
	const char **tab = calloc(s->ntargets + 1, sizeof *tab);
	if (!sch || !tab) {
		free(sch);
		free(tab);
		feed_failf(f, "XXUUU", NULL, "crdbsim: out of memory");
		return;
	}
	for (size_t i = 0; i < s->ntargets; i++) {
		sch[i] = s->targets[i].schema ? s->targets[i].schema : "public";
		tab[i] = s->targets[i].table;
	}
	f->tgt_schemas = text_array(sch, s->ntargets);
	f->tgt_tables = text_array(tab, s->ntargets);
	free(sch);
	free(tab);
	if (!f->tgt_schemas || !f->tgt_tables) {
		feed_failf(f, "XXUUU", NULL, "crdbsim: out of memory");
		return;
	}
	const char *params[2] = { f->tgt_schemas, f->tgt_tables };
	send_query(f,
		"SELECT c.oid, c.relkind, crdbsim.columns_of(c.oid),"
		/* wal2json lists key columns in column order; a key is in
		 * index order (§4.2). */
		" (SELECT json_agg(a.attname ORDER BY k.ord) FROM pg_index i"
		"  CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY"
		"   AS k(attnum, ord)"
		"  JOIN pg_attribute a ON a.attrelid = i.indrelid"
		"   AND a.attnum = k.attnum"
		"  WHERE i.indrelid = c.oid AND i.indisprimary)::text"
		" FROM unnest($1::text[], $2::text[]) WITH ORDINALITY"
		"  AS x(s, t, n)"
		" LEFT JOIN pg_namespace ns ON ns.nspname = x.s"
		" LEFT JOIN pg_class c ON c.relnamespace = ns.oid"
		"  AND c.relname = x.t AND c.relkind IN ('r', 'p', 'v', 'm', 'S')"
		" ORDER BY x.n", 2, params, &validate_on_targets);
}

/* ---- firehose ---- */

/*
 * The benchmark firehose: a statement the parser marks stmt->firehose
 * (see render.c/parse.c for its syntax) gets firehose_events rows (0:
 * endless) of about firehose_size bytes of wrapped JSON with `updated`,
 * encoded once, table "firehose", key [n], and a resolved row every
 * firehose_resolved_every rows; it needs no PostgreSQL at all.
 */
static int firehose_init(struct simfeed *f)
{
	struct simfeed_stmt *s = f->stmt;
	char hlc[48];
	size_t size = s->firehose_size ? s->firehose_size : 100;
	struct sim_hlc now = { sim_now_ns(), 0 };

	sim_hlc_format(now, hlc, sizeof hlc);
	/* {"after": {"id": 1, "payload": "xxx"}, "updated": "<hlc>"} */
	size_t fixed = strlen("{\"after\": {\"id\": 1, \"payload\": \"\"}, "
			      "\"updated\": \"\"}") + strlen(hlc);
	size_t pad = size > fixed ? size - fixed : 0;
	f->fh_value = malloc(fixed + pad + 1);
	if (!f->fh_value)
		return -1;
	int n = snprintf(f->fh_value, fixed + pad + 1,
			 "{\"after\": {\"id\": 1, \"payload\": \"%*s\"}, "
			 "\"updated\": \"%s\"}", (int)pad, "", hlc);
	for (char *p = f->fh_value + strlen("{\"after\": {\"id\": 1, \"payload\": \"");
	     *p == ' '; p++)
		*p = 'x';
	f->fh_value_len = (size_t)n;
	f->fh_table = s->ntargets && s->targets[0].display ?
		      s->targets[0].display : "firehose";
	f->state = FEED_FIREHOSE;
	return 0;
}

static void firehose_pump(struct simfeed *f)
{
	struct simfeed_stmt *s = f->stmt;
	int burst = 0;

	feed_started(f);
	while (!f->stopped && f->state == FEED_FIREHOSE) {
		if (s->firehose_events && f->fh_sent >= s->firehose_events) {
			feed_complete(f);
			return;
		}
		if (f->out.can_send && !f->out.can_send(f->out.arg))
			return;
		if (++burst > PUMP_BURST) {
			feed_kick(f);
			return;
		}
		f->fh_sent++;
		f->nrows++;
		char key[32];
		int kl = snprintf(key, sizeof key, "[%" PRIu64 "]", f->fh_sent);
		f->out.row(f->out.arg, f->fh_table, strlen(f->fh_table), key,
			   (size_t)kl,
			   f->fh_value, f->fh_value_len);
		if (s->firehose_resolved_every &&
		    f->fh_sent % s->firehose_resolved_every == 0 &&
		    !f->stopped) {
			char buf[96];
			struct sim_hlc now = { sim_now_ns(), 0 };
			size_t n = sim_render_resolved(SIM_ENV_WRAPPED, now,
						       buf, sizeof buf);
			f->nrows++;
			f->out.row(f->out.arg, NULL, 0, NULL, 0, buf, n);
		}
	}
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

static void feed_pump(struct simfeed *f)
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
		if (!flush_queue(f))
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
			validate(f);
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

static void target_info_free(struct target_info *ti)
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
		target_info_free(&f->ti[i]);
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
	if (!f->pg) /* validate() reports it: the caller has no handle yet */
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
		if (f->stopped || (f->state != FEED_LIVE &&
				   f->state != FEED_SCAN))
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
