/*
 * sim_feed_validate.c: before a feed starts, check its targets as
 * CockroachDB does (tables exist, are tables, rangefeeds enabled, cursor
 * inside the GC window, not in the future) and then choose where it
 * starts: an initial scan or live changes from the cursor or now.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_feed.h"

/* ---- validation ---- */

void feed_start_streaming(struct simfeed *f)
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
		f->start_ts = f->pos;
	}
	f->pos_idx = INT32_MAX;
	f->caught_up = f->pos;
	f->state = FEED_LIVE;
	feed_kick(f);
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
	feed_start_streaming(f);
}

static const struct pg_handler validate_on_targets = {
	.result = validate_on_targets_result,
	.done = validate_on_targets_done,
};

void feed_validate(struct simfeed *f)
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
		if (sim_hlc_cmp(s->cursor, gc) < 0 && !s->gc_protected) {
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
	f->tgt_schemas = feed_text_array(sch, s->ntargets);
	f->tgt_tables = feed_text_array(tab, s->ntargets);
	free(sch);
	free(tab);
	if (!f->tgt_schemas || !f->tgt_tables) {
		feed_failf(f, "XXUUU", NULL, "crdbsim: out of memory");
		return;
	}
	const char *params[2] = { f->tgt_schemas, f->tgt_tables };
	feed_send_query(f,
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
