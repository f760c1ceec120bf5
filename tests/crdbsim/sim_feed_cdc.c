/*
 * sim_feed_cdc.c: rendering one change into a CockroachDB row, and CDC
 * queries (CREATE CHANGEFEED ... AS SELECT): the query is checked and
 * described once by PostgreSQL when the feed starts, then evaluated by
 * PostgreSQL for each event, with the event's row as a record.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_feed.h"

/* ---- rendering one change ---- */

/* wal2json-like "columns" from a text-format row (scan, CDC results). */
json_t *feed_columns_from_row(PGresult *res, int row, char **names,
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

json_t *feed_pk_names_of(json_t *doc)
{
	json_t *out = json_array(), *pk;
	size_t i;

	json_array_foreach(json_object_get(doc, "pk"), i, pk)
		json_array_append(out, json_object_get(pk, "name"));
	return out;
}

int feed_render_and_queue(struct simfeed *f, size_t target,
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
	return feed_queue_event(f, target, key, key_len, value, value_len);
}

/* ---- CDC queries: evaluated by PostgreSQL, one event at a time ---- */

static void cdc_on_eval_result(struct simfeed *f, PGresult *res)
{
	if (PQntuples(res) == 1 && f->cdc_key) {
		json_t *cols = feed_columns_from_row(res, 0, f->cdc_names,
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
		feed_queue_event(f, 0, f->cdc_key, f->cdc_key_len, value, vl);
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

int cdc_eval(struct simfeed *f, const json_t *pk_names,
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
	int rc = feed_send_query(f, f->cdc_sql, 3, params, &cdc_on_eval);
	free(rec);
	return rc;
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
	feed_start_streaming(f);
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
	feed_send_query(f, "SELECT format_type(o, NULL) FROM unnest($1::oid[])"
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
int cdc_prepare(struct simfeed *f)
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
	return feed_send_query(f, sql, 3, params, &cdc_on_describe);
}
