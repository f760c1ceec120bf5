/*
 * parse.c: crdbsim's recogniser and parser of sinkless changefeed
 * statements (doc/crdb-wire.md §1, §3, §4.5, §4.6), with CockroachDB's error
 * texts: the lexer, the targets and the query, and sim_parse_changefeed.
 * The WITH options are read and checked in parse_options.c, durations and
 * the cursor / end_time timestamps parsed in parse_time.c; this comment is
 * the reference for the syntax of all three.
 *
 * Accepted forms (case-insensitive, -- and nested slash-star comments,
 * trailing semicolon):
 *   CREATE CHANGEFEED FOR [TABLE] t [FAMILY f], ... [WITH opts]
 *   EXPERIMENTAL CHANGEFEED FOR [TABLE] t [FAMILY f], ... [WITH opts]
 *   CREATE CHANGEFEED [WITH opts] AS SELECT list FROM t [[AS] a] [WHERE expr]
 * Names: t, s.t, db.s.t (db must be defaultdb; a two-part name whose first
 * part is defaultdb means defaultdb.public.t), double-quoted identifiers
 * keep their case, unquoted ones are lower-cased. A statement with INTO has
 * a sink: sim_parse_changefeed refuses it (0A000); sim_parse_changefeed_job
 * parses it for a changefeed job (sim_job.c), keeping the sink URI and the
 * options as given, and leaves the webhook_* options to the job. Refused
 * here as CockroachDB does: duplicate targets, system tables, virtual
 * schemas, FOR DATABASE. Table existence is the engine's to check.
 * Links with render.c (sim_hlc_format for error texts).
 *
 * Options: WITH name [= 'value' | = word | = $n], ... Every option of §4.6 is
 * accepted. Options that change nothing in crdbsim (no jobs, no protected
 * timestamps, one node) are accepted and ignored: on_error,
 * protect_data_from_gc_on_pause, gc_protect_expires_after, metrics_label,
 * virtual_columns (validated), schema_change_events (validated),
 * lagging_ranges_threshold / lagging_ranges_polling_interval (validated
 * durations), unordered (but refused with resolved, as CockroachDB does),
 * encode_json_value_null_as_object, enriched_properties (validated; no
 * "source" object is rendered), execution_locality, avro_schema_prefix,
 * confluent_schema_registry, ignore_disable_changefeed_replication,
 * headers_json_column_name, extra_headers. Options of other sinks
 * (kafka_sink_config, webhook_*, pubsub_sink_config, compression) are
 * refused as CockroachDB does ("this sink is incompatible with option").
 * format must be json (avro, parquet, protobuf are recognised and refused
 * as unsupported by crdbsim; csv after CockroachDB's own check); key_column
 * is refused as unsupported (after CockroachDB's unordered check).
 *
 * Error codes: CockroachDB raises most changefeed option errors with
 * errors.Errorf, so they carry XXUUU (§7); the generic KV option checks
 * ("invalid option", "requires a value", "does not take a value") are
 * 22023, syntax errors 42601, a database other than defaultdb 42P01, and
 * what crdbsim cannot emulate 0A000.
 *
 * Firehose (benchmarks; no PostgreSQL table behind it): the target
 * crdbsim.firehose with the options
 *   crdbsim_events = 'N'          events to emit (default 1000000)
 *   crdbsim_size = 'S'            bytes of payload per event (default 100)
 *   crdbsim_resolved_every = 'K'  a resolved row every K events (0 = none,
 *                                 default 0)
 * These options are refused on ordinary targets (invalid option).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse_int.h"

int sim_error(struct simfeed_error *err, const char *sqlstate,
	      const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return -1;
	memset(err, 0, sizeof *err);
	snprintf(err->sqlstate, sizeof err->sqlstate, "%s", sqlstate);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- lexer ------------------------------------------------------------- */

static void skip_space(struct lexer *lx)
{
	for (;;) {
		while (lx->i < lx->n && isspace((unsigned char)lx->s[lx->i]))
			lx->i++;
		if (lx->i + 1 < lx->n && lx->s[lx->i] == '-' && lx->s[lx->i + 1] == '-') {
			while (lx->i < lx->n && lx->s[lx->i] != '\n')
				lx->i++;
			continue;
		}
		if (lx->i + 1 < lx->n && lx->s[lx->i] == '/' && lx->s[lx->i + 1] == '*') {
			int depth = 0;
			while (lx->i < lx->n) {
				if (lx->i + 1 < lx->n && lx->s[lx->i] == '/' &&
				    lx->s[lx->i + 1] == '*') {
					depth++;
					lx->i += 2;
				} else if (lx->i + 1 < lx->n && lx->s[lx->i] == '*' &&
					   lx->s[lx->i + 1] == '/') {
					lx->i += 2;
					if (--depth == 0)
						break;
				} else {
					lx->i++;
				}
			}
			if (depth)
				lx->bad = true;
			continue;
		}
		return;
	}
}

/* A quoted run ('...' or "...") with doubled-quote escapes. */
static char *lex_quoted(struct lexer *lx, char q)
{
	size_t cap = 16, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	lx->i++;
	for (;;) {
		if (lx->i >= lx->n) {
			lx->bad = true;
			free(out);
			return NULL;
		}
		char c = lx->s[lx->i++];
		if (c == q) {
			if (lx->i < lx->n && lx->s[lx->i] == q)
				lx->i++;
			else
				break;
		}
		if (len + 2 > cap) {
			char *p = realloc(out, cap *= 2);
			if (!p) {
				free(out);
				return NULL;
			}
			out = p;
		}
		out[len++] = c;
	}
	out[len] = '\0';
	return out;
}

void parse_next(struct lexer *lx)
{
	struct tok *t = &lx->cur;
	free(t->text);
	memset(t, 0, sizeof *t);
	skip_space(lx);
	t->start = lx->i;
	if (lx->i >= lx->n || lx->bad) {
		t->kind = TK_END;
		t->start = t->end = lx->n;
		return;
	}
	char c = lx->s[lx->i];
	if (isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80) {
		size_t st = lx->i;
		while (lx->i < lx->n && (isalnum((unsigned char)lx->s[lx->i]) ||
					 lx->s[lx->i] == '_' || lx->s[lx->i] == '$' ||
					 (unsigned char)lx->s[lx->i] >= 0x80))
			lx->i++;
		t->kind = TK_IDENT;
		t->text = strndup(lx->s + st, lx->i - st);
		for (char *p = t->text; p && *p; p++)
			*p = (char)tolower((unsigned char)*p);
	} else if (c == '"') {
		t->kind = TK_QIDENT;
		t->text = lex_quoted(lx, '"');
	} else if (c == '\'') {
		t->kind = TK_STRING;
		t->text = lex_quoted(lx, '\'');
	} else if (c == '$' && lx->i + 1 < lx->n && isdigit((unsigned char)lx->s[lx->i + 1])) {
		lx->i++;
		t->kind = TK_PARAM;
		while (lx->i < lx->n && isdigit((unsigned char)lx->s[lx->i])) {
			if (t->param < 100000)
				t->param = t->param * 10 + (lx->s[lx->i] - '0');
			lx->i++;
		}
	} else if (isdigit((unsigned char)c)) {
		t->kind = TK_NUMBER;
		while (lx->i < lx->n && (isalnum((unsigned char)lx->s[lx->i]) ||
					 lx->s[lx->i] == '.'))
			lx->i++;
	} else if (strchr(",.=();*", c)) {
		t->kind = TK_PUNCT;
		lx->i++;
	} else {
		t->kind = TK_OTHER;
		lx->i++;
	}
	t->end = lx->i;
}

bool parse_is_kw(const struct lexer *lx, const char *kw)
{
	return lx->cur.kind == TK_IDENT && lx->cur.text && strcmp(lx->cur.text, kw) == 0;
}

bool parse_is_punct(const struct lexer *lx, char c)
{
	return lx->cur.kind == TK_PUNCT && lx->s[lx->cur.start] == c;
}

int parse_syntax_error(struct lexer *lx, struct simfeed_error *err)
{
	if (lx->bad)
		return parse_fail(err, SQLSTATE_SYNTAX, "lexical error: unterminated quoted string or comment");
	if (lx->cur.kind == TK_END)
		return parse_fail(err, SQLSTATE_SYNTAX, "at or near \"EOF\": syntax error");
	/* keywords and unquoted names are shown normalised, as CockroachDB does */
	if (lx->cur.kind == TK_IDENT && lx->cur.text)
		return parse_fail(err, SQLSTATE_SYNTAX, "at or near \"%s\": syntax error",
				  lx->cur.text);
	return parse_fail(err, SQLSTATE_SYNTAX, "at or near \"%.*s\": syntax error",
			  (int)(lx->cur.end - lx->cur.start), lx->s + lx->cur.start);
}

/* ---- statement building ------------------------------------------------- */

/* An identifier token (keywords are identifiers here too). */
static bool is_name(const struct lexer *lx)
{
	return (lx->cur.kind == TK_IDENT || lx->cur.kind == TK_QIDENT) && lx->cur.text;
}

/* name [. name [. name]] -> target; err on a database other than defaultdb */
static int parse_table_name(struct lexer *lx, struct sim_target *t,
			    char **written, struct simfeed_error *err)
{
	char *parts[3] = { 0 };
	int n = 0, rc = -1;

	for (;;) {
		if (!is_name(lx) || n == 3) {
			parse_syntax_error(lx, err);
			goto out;
		}
		parts[n++] = lx->cur.text;
		lx->cur.text = NULL;
		parse_next(lx);
		if (!parse_is_punct(lx, '.'))
			break;
		parse_next(lx);
	}
	const char *db = NULL, *schema = "public", *table = parts[n - 1];
	if (n == 3) {
		db = parts[0];
		schema = parts[1];
	} else if (n == 2) {
		if (strcmp(parts[0], "defaultdb") == 0)
			db = parts[0];
		else
			schema = parts[0];
	}
	/* system.jobs and the like: CockroachDB's system database */
	if ((n == 2 && strcmp(parts[0], "system") == 0) ||
	    (n == 3 && strcmp(parts[0], "system") == 0)) {
		parse_fail(err, SQLSTATE_UNCATEGORIZED,
			   "CHANGEFEEDs are not supported on system tables");
		goto out;
	}
	/* virtual schemas hold no targets (CockroachDB's resolver then says
	 * the table does not exist, old test) */
	if (!strcmp(schema, "information_schema") || !strcmp(schema, "pg_catalog") ||
	    !strcmp(schema, "crdb_internal") || !strcmp(schema, "pg_extension")) {
		parse_fail(err, SQLSTATE_UNDEF_TABLE,
			   "failed to resolve targets in the CHANGEFEED stmt: table \"%s.%s\" does not exist",
			   schema, table);
		goto out;
	}
	if (db && strcmp(db, "defaultdb") != 0) {
		parse_fail(err, SQLSTATE_UNDEF_TABLE,
			   "failed to resolve targets in the CHANGEFEED stmt: table \"%s.%s.%s\" does not exist",
			   db, schema, table);
		goto out;
	}
	t->schema = strdup(schema);
	t->table = strdup(table);
	if (written &&
	    asprintf(written, "%s%s%s%s%s", n == 3 ? parts[0] : "", n == 3 ? "." : "",
		     n >= 2 ? parts[n - 2] : "", n >= 2 ? "." : "", table) < 0)
		*written = NULL;
	if (!t->schema || !t->table || (written && !*written)) {
		parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < 3; i++)
		free(parts[i]);
	return rc;
}

static int add_target(struct simfeed_stmt *st, struct sim_target *t,
		      struct simfeed_error *err)
{
	struct sim_target *v = realloc(st->targets, (st->ntargets + 1) * sizeof *v);
	if (!v)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
	st->targets = v;
	v[st->ntargets++] = *t;
	memset(t, 0, sizeof *t);
	return 0;
}

static void target_clear(struct sim_target *t)
{
	free(t->schema);
	free(t->table);
	free(t->family);
	free(t->display);
	memset(t, 0, sizeof *t);
}

static bool same_target(const struct sim_target *a, const struct sim_target *b)
{
	return !strcmp(a->schema, b->schema) && !strcmp(a->table, b->table) &&
	       ((!a->family && !b->family) ||
		(a->family && b->family && !strcmp(a->family, b->family)));
}

/* [TABLE] name [FAMILY f] {, ...}; duplicates refused as CockroachDB does
 * ("CHANGEFEED targets TABLE foo and TABLE defaultdb.foo are duplicates") */
static int parse_targets(struct lexer *lx, struct simfeed_stmt *st,
			 struct simfeed_error *err)
{
	char **written = NULL;
	int rc = -1;

	for (;;) {
		struct sim_target t = { 0 };
		char *w = NULL;
		if (st->ntargets == 0 && parse_is_kw(lx, "database")) {
			/* newest releases: not for core (sinkless) feeds (§1.2) */
			parse_fail(err, SQLSTATE_UNSUPPORTED,
				   "database-level changefeeds are not supported for sinkless changefeeds");
			goto out;
		}
		if (parse_is_kw(lx, "table"))
			parse_next(lx);
		if (parse_table_name(lx, &t, &w, err) < 0)
			goto out;
		if (parse_is_kw(lx, "family")) {
			parse_next(lx);
			if (!is_name(lx)) {
				target_clear(&t);
				free(w);
				parse_syntax_error(lx, err);
				goto out;
			}
			t.family = lx->cur.text;
			lx->cur.text = NULL;
			parse_next(lx);
		}
		for (size_t i = 0; i < st->ntargets; i++) {
			if (!same_target(&st->targets[i], &t))
				continue;
			parse_fail(err, SQLSTATE_UNCATEGORIZED,
				   "CHANGEFEED targets TABLE %s%s%s and TABLE %s%s%s are duplicates",
				   written[i], t.family ? " FAMILY " : "", t.family ? t.family : "",
				   w, t.family ? " FAMILY " : "", t.family ? t.family : "");
			target_clear(&t);
			free(w);
			goto out;
		}
		char **v = realloc(written, (st->ntargets + 1) * sizeof *v);
		if (!v || add_target(st, &t, err) < 0) {
			if (v)
				written = v;
			else
				parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
			target_clear(&t);
			free(w);
			goto out;
		}
		written = v;
		written[st->ntargets - 1] = w;
		if (!parse_is_punct(lx, ','))
			break;
		parse_next(lx);
	}
	rc = 0;
out:
	for (size_t i = 0; written && i < st->ntargets; i++)
		free(written[i]);
	free(written);
	return rc;
}

/* display names: "t", "t.f", or "defaultdb.schema.t[.f]" */
static int set_displays(struct simfeed_stmt *st, struct simfeed_error *err)
{
	for (size_t i = 0; i < st->ntargets; i++) {
		struct sim_target *t = &st->targets[i];
		int n;
		char *d;
		if (st->full_table_name)
			n = asprintf(&d, "defaultdb.%s.%s%s%s", t->schema, t->table,
				     t->family ? "." : "", t->family ? t->family : "");
		else
			n = asprintf(&d, "%s%s%s", t->table, t->family ? "." : "",
				     t->family ? t->family : "");
		if (n < 0)
			return parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
		free(t->display);
		t->display = d;
	}
	return 0;
}

/* Split the SELECT list at top-level commas. */
static int split_projection(struct simfeed_stmt *st, const char *s, size_t n,
			    struct simfeed_error *err)
{
	size_t start = 0;
	int depth = 0;
	char q = 0;

	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? s[i] : ',';
		if (q) {
			if (c == q)
				q = 0;
			continue;
		}
		if (c == '\'' || c == '"') {
			q = c;
			continue;
		}
		if (c == '(' || c == '[')
			depth++;
		else if (c == ')' || c == ']')
			depth--;
		if (c != ',' || depth > 0)
			continue;
		size_t a = start, b = i;
		while (a < b && isspace((unsigned char)s[a]))
			a++;
		while (b > a && isspace((unsigned char)s[b - 1]))
			b--;
		start = i + 1;
		if (b - a == 1 && s[a] == '*' && st->nquery_columns == 0 && i == n)
			return 0; /* SELECT *: all columns */
		char **v = realloc(st->query_columns, (st->nquery_columns + 1) * sizeof *v);
		if (!v)
			return parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
		st->query_columns = v;
		v[st->nquery_columns] = strndup(s + a, b - a);
		if (!v[st->nquery_columns])
			return parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
		st->nquery_columns++;
	}
	return 0;
}

/* AS SELECT list FROM name [[AS] alias] [WHERE ...] (lexer on SELECT) */
static int parse_query(struct lexer *lx, struct simfeed_stmt *st,
		       size_t stmt_end, struct simfeed_error *err)
{
	size_t sel_start = lx->cur.start, list_start, list_end;
	int depth = 0;

	parse_next(lx);
	list_start = lx->cur.start;
	while (lx->cur.kind != TK_END && !(depth == 0 && parse_is_kw(lx, "from"))) {
		if (parse_is_punct(lx, '('))
			depth++;
		else if (parse_is_punct(lx, ')'))
			depth--;
		parse_next(lx);
	}
	if (lx->cur.kind == TK_END)
		return parse_syntax_error(lx, err);
	list_end = lx->cur.start;
	if (list_end == list_start)
		return parse_syntax_error(lx, err);
	parse_next(lx);
	struct sim_target t = { 0 };
	if (parse_table_name(lx, &t, NULL, err) < 0)
		return -1;
	if (add_target(st, &t, err) < 0) {
		target_clear(&t);
		return -1;
	}
	if (parse_is_kw(lx, "as"))
		parse_next(lx);
	if (is_name(lx) && !parse_is_kw(lx, "where"))
		parse_next(lx);
	if (parse_is_kw(lx, "where")) {
		size_t w = lx->cur.end;
		while (w < stmt_end && isspace((unsigned char)lx->s[w]))
			w++;
		if (w >= stmt_end)
			return parse_fail(err, SQLSTATE_SYNTAX, "at or near \"EOF\": syntax error");
		st->query_where = strndup(lx->s + w, stmt_end - w);
		if (!st->query_where)
			return parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
	} else if (lx->cur.kind != TK_END && !parse_is_punct(lx, ';')) {
		return parse_syntax_error(lx, err);
	}
	st->query = strndup(lx->s + sel_start, stmt_end - sel_start);
	if (!st->query)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
	if (split_projection(st, lx->s + list_start, list_end - list_start, err) < 0)
		return -1;
	lx->i = stmt_end;
	parse_next(lx);
	return 0;
}

/* End of the statement text: without trailing blanks, comments and ';'. */
static size_t statement_end(const char *sql, size_t n)
{
	struct lexer lx = { .s = sql, .n = n };
	size_t end = 0;
	for (parse_next(&lx); lx.cur.kind != TK_END; parse_next(&lx))
		if (!parse_is_punct(&lx, ';'))
			end = lx.cur.end;
	free(lx.cur.text);
	return end;
}

/* Options of the webhook sink: a job's, never applied to the feed. */
static bool is_webhook_option(const char *name)
{
	return !strcmp(name, "webhook_sink_config") ||
	       !strcmp(name, "webhook_auth_header") ||
	       !strcmp(name, "webhook_client_timeout");
}

/* The sink URI after INTO (lexer on it) into spec. */
static int parse_sink(struct lexer *lx, const char *const *params,
		      int nparams, struct sim_job_spec *spec,
		      struct simfeed_error *err)
{
	const char *v = NULL;
	if (lx->cur.kind == TK_STRING) {
		v = lx->cur.text;
	} else if (lx->cur.kind == TK_PARAM) {
		int k = lx->cur.param;
		if (k < 1 || k > nparams || !params[k - 1])
			return parse_fail(err, SQLSTATE_PROTOCOL,
					  "no value provided for placeholder: $%d", k);
		v = params[k - 1];
	} else {
		return parse_syntax_error(lx, err);
	}
	spec->sink_uri = strdup(v);
	if (!spec->sink_uri)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
	parse_next(lx);
	return 0;
}

/* Keep every option as given, for the job to store and show. */
static int keep_options(const struct optlist *opts, struct sim_job_spec *spec,
			struct simfeed_error *err)
{
	spec->opt_names = calloc(opts->n + 1, sizeof *spec->opt_names);
	spec->opt_values = calloc(opts->n + 1, sizeof *spec->opt_values);
	if (!spec->opt_names || !spec->opt_values)
		return parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
	for (size_t i = 0; i < opts->n; i++) {
		spec->opt_names[i] = strdup(opts->v[i].name);
		spec->opt_values[i] = opts->v[i].value ?
				      strdup(opts->v[i].value) : NULL;
		spec->nopts = i + 1;
		if (!spec->opt_names[i] ||
		    (opts->v[i].value && !spec->opt_values[i]))
			return parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
	}
	return 0;
}

void sim_job_spec_clear(struct sim_job_spec *spec)
{
	for (size_t i = 0; i < spec->nopts; i++) {
		free(spec->opt_names[i]);
		free(spec->opt_values[i]);
	}
	free(spec->opt_names);
	free(spec->opt_values);
	free(spec->sink_uri);
	memset(spec, 0, sizeof *spec);
}

bool sim_changefeed_has_sink(const char *sql)
{
	struct lexer lx = { .s = sql, .n = sql ? strlen(sql) : 0 };
	bool sink = false;
	parse_next(&lx);
	if (!parse_is_kw(&lx, "create")) {
		free(lx.cur.text);
		return false;
	}
	parse_next(&lx);
	if (!parse_is_kw(&lx, "changefeed")) {
		free(lx.cur.text);
		return false;
	}
	/* INTO comes before WITH and AS; neither can be a table name. */
	for (parse_next(&lx); lx.cur.kind != TK_END && !sink; parse_next(&lx)) {
		if (parse_is_kw(&lx, "with") || parse_is_kw(&lx, "as"))
			break;
		sink = parse_is_kw(&lx, "into");
	}
	free(lx.cur.text);
	return sink;
}

static int parse_changefeed(const char *sql, const char *const *params,
			    int nparams, int64_t now_ns,
			    struct simfeed_stmt **out, struct sim_job_spec *spec,
			    struct simfeed_error *err);

int sim_parse_changefeed(const char *sql, const char *const *params,
			 int nparams, int64_t now_ns,
			 struct simfeed_stmt **out, struct simfeed_error *err)
{
	return parse_changefeed(sql, params, nparams, now_ns, out, NULL, err);
}

int sim_parse_changefeed_job(const char *sql, const char *const *params,
			     int nparams, int64_t now_ns,
			     struct simfeed_stmt **out, struct sim_job_spec *spec,
			     struct simfeed_error *err)
{
	memset(spec, 0, sizeof *spec);
	int rc = parse_changefeed(sql, params, nparams, now_ns, out, spec, err);
	if (rc == 1 && !spec->sink_uri) {
		sim_stmt_free(*out);
		*out = NULL;
		rc = parse_fail(err, SQLSTATE_UNCATEGORIZED,
				"crdbsim: a changefeed job needs INTO a sink");
	}
	if (rc != 1)
		sim_job_spec_clear(spec);
	return rc;
}

static int parse_changefeed(const char *sql, const char *const *params,
			    int nparams, int64_t now_ns,
			    struct simfeed_stmt **out, struct sim_job_spec *spec,
			    struct simfeed_error *err)
{
	struct lexer lx = { .s = sql, .n = sql ? strlen(sql) : 0 };
	struct simfeed_stmt *st = NULL;
	struct optlist opts = { 0 };
	struct seen seen = { 0 };
	bool query = false;
	int rc = -1;

	*out = NULL;
	parse_next(&lx);
	/* fast exit: this runs on every statement */
	bool experimental = parse_is_kw(&lx, "experimental");
	if (!experimental && !parse_is_kw(&lx, "create")) {
		free(lx.cur.text);
		return 0;
	}
	parse_next(&lx);
	if (!parse_is_kw(&lx, "changefeed")) {
		free(lx.cur.text);
		return 0;
	}
	size_t stmt_end = statement_end(sql, lx.n);

	st = calloc(1, sizeof *st);
	if (!st) {
		parse_fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
		goto out;
	}
	st->experimental = experimental;
	st->envelope = SIM_ENV_WRAPPED;
	st->min_checkpoint_ms = 30000;
	parse_next(&lx);

	if (parse_is_kw(&lx, "for")) {
		parse_next(&lx);
		if (parse_targets(&lx, st, err) < 0)
			goto out;
	} else if (experimental) {
		parse_syntax_error(&lx, err);
		goto out;
	} else {
		query = true;
	}
	if (parse_is_kw(&lx, "into")) {
		if (!spec) {
			parse_fail(err, SQLSTATE_UNSUPPORTED,
				   "crdbsim emulates only sinkless changefeeds: CREATE CHANGEFEED ... INTO (a sink) is not supported");
			goto out;
		}
		parse_next(&lx);
		if (parse_sink(&lx, params, nparams, spec, err) < 0)
			goto out;
	}
	if (parse_is_kw(&lx, "with")) {
		parse_next(&lx);
		if (parse_options(&lx, params, nparams, &opts, err) < 0)
			goto out;
	}
	if (spec && keep_options(&opts, spec, err) < 0)
		goto out;
	if (query && spec) {
		parse_fail(err, SQLSTATE_UNSUPPORTED,
			   "crdbsim does not emulate changefeed jobs with CDC queries");
		goto out;
	}
	if (query) {
		if (!parse_is_kw(&lx, "as")) {
			parse_syntax_error(&lx, err);
			goto out;
		}
		parse_next(&lx);
		if (!parse_is_kw(&lx, "select")) {
			parse_syntax_error(&lx, err);
			goto out;
		}
		st->envelope = SIM_ENV_BARE; /* CDC queries default to bare */
		if (parse_query(&lx, st, stmt_end, err) < 0)
			goto out;
	}
	while (parse_is_punct(&lx, ';'))
		parse_next(&lx);
	if (lx.cur.kind != TK_END || lx.bad) {
		parse_syntax_error(&lx, err);
		goto out;
	}

	/* firehose target */
	for (size_t i = 0; i < st->ntargets; i++) {
		if (strcmp(st->targets[i].schema, "crdbsim") == 0 &&
		    strcmp(st->targets[i].table, "firehose") == 0) {
			if (st->ntargets != 1 || query) {
				parse_fail(err, SQLSTATE_UNSUPPORTED,
					   "crdbsim.firehose must be the only target");
				goto out;
			}
			st->firehose = true;
			st->firehose_events = 1000000;
			st->firehose_size = 100;
		}
	}
	for (size_t i = 0; i < opts.n; i++) {
		if (spec && spec->sink_uri && is_webhook_option(opts.v[i].name))
			continue;       /* the job's webhook sink reads these */
		if (parse_apply_option(st, &opts.v[i], now_ns, &seen, err) < 0)
			goto out;
	}
	if (parse_check_options(st, &seen, now_ns, err) < 0 || set_displays(st, err) < 0)
		goto out;
	*out = st;
	st = NULL;
	rc = 1;
out:
	free(lx.cur.text);
	parse_optlist_free(&opts);
	sim_stmt_free(st);
	return rc;
}

