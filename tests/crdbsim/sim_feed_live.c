/*
 * sim_feed_live.c: a feed's live changes, read from crdbsim.history in HLC
 * order after the scan's boundary (transactions visible in the scan's
 * snapshot skipped), with TRUNCATE/DROP/schema-change endings, and its
 * resolved rows and completion once it has caught up, never past the
 * closed timestamp (kv.closed_timestamp.target_duration).
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_feed.h"

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
int live_row(struct simfeed *f, PGresult *res, int i)
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
	int t = feed_find_target(f, schema, table);

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
				       : feed_pk_names_of(doc);
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
		rc = feed_render_and_queue(f, (size_t)t, pk, NULL, before, ts) ||
		     feed_render_and_queue(f, (size_t)t, pk, after, NULL, ts) ?
			-1 : 1;
	} else if (f->cdc_sql) {
		rc = cdc_eval(f, pk, after, before, ts) ? -1 : 0;
	} else {
		rc = feed_render_and_queue(f, (size_t)t, pk, after, before, ts) ?
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

void live_read(struct simfeed *f)
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
	feed_send_query(f,
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
void live_idle(struct simfeed *f)
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
	if (sim_hlc_cmp(cand, f->start_ts) < 0)
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
	feed_queue_resolved(f, cand);
}
