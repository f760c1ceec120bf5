/*
 * sim_feed_scan.c: a feed's initial scan (and a schema-change backfill):
 * one REPEATABLE READ snapshot noted for the live boundary, each target's
 * columns and primary key, then its rows in batches through a cursor,
 * all stamped with the scan's timestamp.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_feed.h"

/* ---- initial scan ---- */

/* How far before the history head a new feed's live replay starts: far
 * more than a commit takes between its WAL record and its visibility. */
#define REPLAY_MARGIN_NS 1000000000LL

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
	feed_target_info_free(ti);
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
	feed_send_query(f, sql, 0, NULL, &scan_on_fetch);
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
		feed_send_query(f, "COMMIT", 0, NULL, &scan_on_fetch);
		return;
	}
	struct sim_target *tg = &f->stmt->targets[f->scan_target];
	const char *params[2] = { tg->schema, tg->table };
	feed_send_query(f,
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

void scan_begin(struct simfeed *f)
{
	if (!f->backfill) {
		/* History up to here committed before the snapshot, but not
		 * all of it need be visible in it: PostgreSQL writes a commit
		 * record (which logical decoding hands on, and ingest stores)
		 * before it takes the transaction off its list of running
		 * ones, so a snapshot taken in between still sees it running
		 * and the scan misses it. Live replay starts REPLAY_MARGIN_NS
		 * before the head, and visibility skips what the scan saw. */
		f->pos = f->e->head;
		f->pos.wall = f->pos.wall > REPLAY_MARGIN_NS ?
			f->pos.wall - REPLAY_MARGIN_NS : 0;
		f->pos_idx = INT32_MAX;
		f->caught_up = f->pos;
		f->scan_first = 0;
		f->scan_end = f->stmt->ntargets;
	}
	/* A backfill keeps pos at its schema change: live replay resumes
	 * there, skipping what the new snapshot saw. */
	f->state = FEED_SCAN;
	f->step = 0;
	feed_send_query(f, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
		   " SELECT pg_current_snapshot()::text", 0, NULL,
		   &scan_on_snapshot);
}

/* Emit scan rows of the batch; true when the batch is used up. */
static int scan_rows(struct simfeed *f)
{
	struct target_info *ti = &f->ti[f->scan_target];

	while (f->batch && f->batch_i < PQntuples(f->batch)) {
		if (f->qlen > 0 && !feed_flush_queue(f))
			return 0;
		json_t *cols = feed_columns_from_row(f->batch, f->batch_i,
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
		rc = feed_render_and_queue(f, f->scan_target, ti->pk_names, cols,
				      NULL, f->scan_ts);
		json_decref(cols);
		if (rc)
			return -1;
	}
	return 1;
}

void scan_step(struct simfeed *f)
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
			if (feed_flush_queue(f))
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
		feed_send_query(f, sql, 0, NULL, &scan_on_fetch);
		return;
	}
	PQclear(f->batch);
	f->batch = NULL;
	f->scan_target++;
	f->step = 0;
	if (f->scan_target < f->scan_end) {
		/* CLOSE first, then the next table. */
		feed_send_query(f, "CLOSE crdbsim_scan", 0, NULL, &scan_on_fetch);
		f->step = 3;
		return;
	}
	feed_send_query(f, "CLOSE crdbsim_scan; COMMIT", 0, NULL, &scan_on_fetch);
	f->step = 2;
}
