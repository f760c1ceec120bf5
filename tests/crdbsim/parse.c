/*
 * parse.c: crdbsim's recogniser and parser of sinkless changefeed
 * statements (doc/crdb-wire.md §1, §3, §4.5, §4.6), with CockroachDB's error
 * texts, and the cursor / end_time timestamp parser.
 *
 * Accepted forms (case-insensitive, -- and nested slash-star comments,
 * trailing semicolon):
 *   CREATE CHANGEFEED FOR [TABLE] t [FAMILY f], ... [WITH opts]
 *   EXPERIMENTAL CHANGEFEED FOR [TABLE] t [FAMILY f], ... [WITH opts]
 *   CREATE CHANGEFEED [WITH opts] AS SELECT list FROM t [[AS] a] [WHERE expr]
 * Names: t, s.t, db.s.t (db must be defaultdb; a two-part name whose first
 * part is defaultdb means defaultdb.public.t), double-quoted identifiers
 * keep their case, unquoted ones are lower-cased. A statement with INTO has
 * a sink, which crdbsim does not emulate: it is refused (0A000). Refused
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

#include "simstmt.h"

#define SQLSTATE_UNCATEGORIZED "XXUUU"
#define SQLSTATE_INVALID_PARAM "22023"
#define SQLSTATE_SYNTAX        "42601"
#define SQLSTATE_UNDEF_TABLE   "42P01"
#define SQLSTATE_UNSUPPORTED   "0A000"
#define SQLSTATE_PROTOCOL      "08P01"

#define NS_PER_SEC 1000000000LL

static int fail(struct simfeed_error *err, const char *sqlstate,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct simfeed_error *err, const char *sqlstate,
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

enum tok_kind { TK_END, TK_IDENT, TK_QIDENT, TK_STRING, TK_PARAM, TK_NUMBER,
		TK_PUNCT, TK_OTHER };

struct tok {
	enum tok_kind kind;
	size_t start, end;  /* source span */
	char *text;         /* ident (lowered unless quoted) / string value */
	int param;          /* TK_PARAM: n of $n */
};

struct lexer {
	const char *s;
	size_t n, i;
	struct tok cur;
	bool bad;           /* unterminated quote or comment */
};

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

static void next(struct lexer *lx)
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

static bool is_kw(const struct lexer *lx, const char *kw)
{
	return lx->cur.kind == TK_IDENT && lx->cur.text && strcmp(lx->cur.text, kw) == 0;
}

static bool is_punct(const struct lexer *lx, char c)
{
	return lx->cur.kind == TK_PUNCT && lx->s[lx->cur.start] == c;
}

static int syntax_error(struct lexer *lx, struct simfeed_error *err)
{
	if (lx->bad)
		return fail(err, SQLSTATE_SYNTAX, "lexical error: unterminated quoted string or comment");
	if (lx->cur.kind == TK_END)
		return fail(err, SQLSTATE_SYNTAX, "at or near \"EOF\": syntax error");
	/* keywords and unquoted names are shown normalised, as CockroachDB does */
	if (lx->cur.kind == TK_IDENT && lx->cur.text)
		return fail(err, SQLSTATE_SYNTAX, "at or near \"%s\": syntax error",
			    lx->cur.text);
	return fail(err, SQLSTATE_SYNTAX, "at or near \"%.*s\": syntax error",
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
			syntax_error(lx, err);
			goto out;
		}
		parts[n++] = lx->cur.text;
		lx->cur.text = NULL;
		next(lx);
		if (!is_punct(lx, '.'))
			break;
		next(lx);
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
		fail(err, SQLSTATE_UNCATEGORIZED,
		     "CHANGEFEEDs are not supported on system tables");
		goto out;
	}
	/* virtual schemas hold no targets (CockroachDB's resolver then says
	 * the table does not exist, old test) */
	if (!strcmp(schema, "information_schema") || !strcmp(schema, "pg_catalog") ||
	    !strcmp(schema, "crdb_internal") || !strcmp(schema, "pg_extension")) {
		fail(err, SQLSTATE_UNDEF_TABLE,
		     "failed to resolve targets in the CHANGEFEED stmt: table \"%s.%s\" does not exist",
		     schema, table);
		goto out;
	}
	if (db && strcmp(db, "defaultdb") != 0) {
		fail(err, SQLSTATE_UNDEF_TABLE,
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
		fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
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
		return fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
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
		if (st->ntargets == 0 && is_kw(lx, "database")) {
			/* newest releases: not for core (sinkless) feeds (§1.2) */
			fail(err, SQLSTATE_UNSUPPORTED,
			     "database-level changefeeds are not supported for sinkless changefeeds");
			goto out;
		}
		if (is_kw(lx, "table"))
			next(lx);
		if (parse_table_name(lx, &t, &w, err) < 0)
			goto out;
		if (is_kw(lx, "family")) {
			next(lx);
			if (!is_name(lx)) {
				target_clear(&t);
				free(w);
				syntax_error(lx, err);
				goto out;
			}
			t.family = lx->cur.text;
			lx->cur.text = NULL;
			next(lx);
		}
		for (size_t i = 0; i < st->ntargets; i++) {
			if (!same_target(&st->targets[i], &t))
				continue;
			fail(err, SQLSTATE_UNCATEGORIZED,
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
				fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
			target_clear(&t);
			free(w);
			goto out;
		}
		written = v;
		written[st->ntargets - 1] = w;
		if (!is_punct(lx, ','))
			break;
		next(lx);
	}
	rc = 0;
out:
	for (size_t i = 0; written && i < st->ntargets; i++)
		free(written[i]);
	free(written);
	return rc;
}

/* ---- options --------------------------------------------------------------- */

struct opt {
	char *name;
	char *value;      /* NULL: given without a value */
};

struct optlist {
	struct opt *v;
	size_t n;
};

static void optlist_free(struct optlist *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].name);
		free(o->v[i].value);
	}
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

static int parse_options(struct lexer *lx, const char *const *params,
			 int nparams, struct optlist *o, struct simfeed_error *err)
{
	/* WITH [OPTIONS (] ... [)] : the parenthesised form exists in newer
	 * grammars; accept both */
	bool paren = false;
	if (is_kw(lx, "options")) {
		next(lx);
		if (!is_punct(lx, '('))
			return syntax_error(lx, err);
		paren = true;
		next(lx);
	} else if (is_punct(lx, '(')) {
		paren = true;
		next(lx);
	}
	for (;;) {
		struct opt op = { 0 };
		if (lx->cur.kind == TK_IDENT || lx->cur.kind == TK_QIDENT ||
		    lx->cur.kind == TK_STRING) {
			op.name = lx->cur.text;
			lx->cur.text = NULL;
		} else {
			return syntax_error(lx, err);
		}
		if (lx->cur.kind == TK_STRING || lx->cur.kind == TK_QIDENT) {
			/* option names are case-insensitive everywhere */
			for (char *p = op.name; p && *p; p++)
				*p = (char)tolower((unsigned char)*p);
		}
		next(lx);
		if (is_punct(lx, '=')) {
			next(lx);
			/* string_or_placeholder: a string, a placeholder, or a
			 * bare word (WITH format=json, envelope=row) */
			if (lx->cur.kind == TK_STRING || lx->cur.kind == TK_IDENT ||
			    lx->cur.kind == TK_QIDENT) {
				op.value = lx->cur.text;
				lx->cur.text = NULL;
			} else if (lx->cur.kind == TK_PARAM) {
				int k = lx->cur.param;
				if (k < 1 || k > nparams) {
					free(op.name);
					return fail(err, SQLSTATE_PROTOCOL,
						    "no value provided for placeholder: $%d", k);
				}
				/* SQL NULL: as no value */
				op.value = params[k - 1] ? strdup(params[k - 1]) : NULL;
				if (params[k - 1] && !op.value) {
					free(op.name);
					return fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
				}
			} else {
				free(op.name);
				return syntax_error(lx, err);
			}
			next(lx);
		}
		struct opt *v = realloc(o->v, (o->n + 1) * sizeof *v);
		if (!v || !op.name) {
			free(v ? NULL : op.name);
			free(op.value);
			if (v)
				o->v = v;
			return fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
		}
		o->v = v;
		v[o->n++] = op;
		if (!is_punct(lx, ','))
			break;
		next(lx);
	}
	if (paren) {
		if (!is_punct(lx, ')'))
			return syntax_error(lx, err);
		next(lx);
	}
	return 0;
}

/*
 * Durations and intervals are summed exactly in 128-bit nanoseconds (no
 * floating point: valgrind runs long double at double precision, and a
 * cursor must not move by a few hundred ns).
 */
typedef __int128 ns128;
#define NS128_CAP ((ns128)1 << 120)

/* A decimal number ("12", "1.5", ".5") at *pp times unit ns, exactly (the
 * fraction truncated to whole ns, as Go does). False without digits. */
static bool scaled_number(const char **pp, int64_t unit, ns128 *out)
{
	const char *p = *pp;
	ns128 ip = 0, num = 0, den = 1;
	const ns128 ip_cap = (ns128)100000000000000000LL * 1000; /* 1e20 */
	bool digits = false;

	for (; *p >= '0' && *p <= '9'; p++, digits = true)
		if (ip < ip_cap)
			ip = ip * 10 + (*p - '0');
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits = true) {
			if (den < (ns128)1000000000000000000LL) {
				num = num * 10 + (*p - '0');
				den *= 10;
			}
		}
	}
	if (!digits)
		return false;
	*pp = p;
	*out = ip * unit + num * unit / den;
	return true;
}

static void add_capped(ns128 *total, ns128 v)
{
	*total += v;
	if (*total > NS128_CAP)
		*total = NS128_CAP;
	else if (*total < -NS128_CAP)
		*total = -NS128_CAP;
}

/* Go's time.ParseDuration, to nanoseconds. */
static int parse_go_duration(const char *s, int64_t *out, char *msg, size_t msglen)
{
	static const struct { const char *unit; int64_t ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 },
		{ "ms", 1000000 }, { "s", NS_PER_SEC }, { "m", 60 * NS_PER_SEC },
		{ "h", 3600 * NS_PER_SEC },
	};
	const char *p = s;
	bool neg = false;
	ns128 total = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (!*p)
		goto invalid;
	while (*p) {
		const char *num = p;
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			goto invalid;
		while ((*p >= '0' && *p <= '9') || *p == '.')
			p++;
		const char *u = p;
		while (*p && *p != '.' && (*p < '0' || *p > '9'))
			p++;
		if (u == p) {
			snprintf(msg, msglen, "time: missing unit in duration \"%s\"", s);
			return -1;
		}
		size_t ul = (size_t)(p - u);
		size_t k;
		for (k = 0; k < sizeof units / sizeof units[0]; k++)
			if (strlen(units[k].unit) == ul && !strncmp(units[k].unit, u, ul))
				break;
		if (k == sizeof units / sizeof units[0]) {
			snprintf(msg, msglen, "time: unknown unit \"%.*s\" in duration \"%s\"",
				 (int)ul, u, s);
			return -1;
		}
		ns128 v;
		const char *q = num;
		if (!scaled_number(&q, units[k].ns, &v) || q != u)
			goto invalid;
		add_capped(&total, v);
		if (total > INT64_MAX)
			goto invalid;
	}
	*out = (int64_t)(neg ? -total : total);
	return 0;
invalid:
	snprintf(msg, msglen, "time: invalid duration \"%s\"", s);
	return -1;
}

/* A duration option: value required unless allow_bare; negative refused. */
static int duration_opt(const struct opt *op, bool allow_bare, int64_t *ms,
			struct simfeed_error *err)
{
	char msg[256];
	int64_t ns;

	if (!op->value || !op->value[0]) {
		if (!allow_bare && !op->value)
			return fail(err, SQLSTATE_INVALID_PARAM,
				    "option \"%s\" requires a value", op->name);
		*ms = 0;
		return 0;
	}
	if (parse_go_duration(op->value, &ns, msg, sizeof msg) < 0)
		return fail(err, SQLSTATE_UNCATEGORIZED, "%s", msg);
	if (ns < 0)
		return fail(err, SQLSTATE_UNCATEGORIZED,
			    "negative durations are not accepted: %s='%s'",
			    op->name, op->value);
	*ms = ns / 1000000;
	return 0;
}

static bool one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (strcasecmp(v, *set) == 0)
			return true;
	return false;
}

static int require_value(const struct opt *op, struct simfeed_error *err)
{
	if (!op->value)
		return fail(err, SQLSTATE_INVALID_PARAM, "option \"%s\" requires a value",
			    op->name);
	return 0;
}

static int require_no_value(const struct opt *op, struct simfeed_error *err)
{
	if (op->value)
		return fail(err, SQLSTATE_INVALID_PARAM,
			    "option \"%s\" does not take a value", op->name);
	return 0;
}

/* An enumerated option: value required, one of set (case-insensitive). */
static int enum_opt(const struct opt *op, const char *const *set,
		    struct simfeed_error *err)
{
	if (require_value(op, err) < 0)
		return -1;
	if (!one_of(op->value, set))
		return fail(err, SQLSTATE_UNCATEGORIZED, "unknown %s: %s", op->name,
			    op->value);
	return 0;
}

static int uint_opt(const struct opt *op, uint64_t *out, struct simfeed_error *err)
{
	char *end;
	if (require_value(op, err) < 0)
		return -1;
	errno = 0;
	unsigned long long v = strtoull(op->value, &end, 10);
	if (errno || end == op->value || *end || op->value[0] == '-')
		return fail(err, SQLSTATE_INVALID_PARAM,
			    "option \"%s\": not an unsigned integer: %s", op->name,
			    op->value);
	*out = v;
	return 0;
}

/* What options were seen, for cross-option checks. */
struct seen {
	bool initial_scan, no_initial_scan, initial_scan_only, resolved,
	     diff, updated, mvcc, end_time, unordered, envelope, key_in_value,
	     topic_in_value, firehose_opt, key_column, csv;
	const char *initial_scan_value; /* NULL: given without a value */
};

static int apply_option(struct simfeed_stmt *st, const struct opt *op,
			int64_t now_ns, struct seen *seen,
			struct simfeed_error *err)
{
	static const char *const envelopes[] = { "wrapped", "bare", "row",
		"deprecated_row", "key_only", "enriched", NULL };
	static const char *const policies[] = { "backfill", "nobackfill", "stop",
		"ignore", NULL };
	static const char *const events[] = { "column_changes", "default", NULL };
	static const char *const on_error[] = { "pause", "fail", NULL };
	static const char *const virtual_cols[] = { "omitted", "null", NULL };
	static const char *const formats[] = { "json", "avro", "experimental_avro",
		"csv", "parquet", "protobuf", NULL };
	/* accepted without effect, any value or none */
	static const char *const ignored_any[] = {
		"protect_data_from_gc_on_pause", "gc_protect_expires_after",
		"metrics_label", "execution_locality",
		"avro_schema_prefix", "confluent_schema_registry",
		"ignore_disable_changefeed_replication",
		"encode_json_value_null_as_object",
		"headers_json_column_name", "extra_headers", NULL };
	/* options of other sinks: CockroachDB refuses them on a sinkless feed */
	static const char *const other_sinks[] = { "kafka_sink_config",
		"webhook_sink_config", "webhook_auth_header",
		"webhook_client_timeout", "pubsub_sink_config", "compression", NULL };
	const char *n = op->name;
	int64_t ms;

	if (strcmp(n, "envelope") == 0) {
		if (require_value(op, err) < 0)
			return -1;
		if (!one_of(op->value, envelopes))
			return fail(err, SQLSTATE_UNCATEGORIZED, "unknown envelope: %s",
				    op->value);
		const char *v = op->value;
		st->envelope = !strcasecmp(v, "wrapped") ? SIM_ENV_WRAPPED :
			       !strcasecmp(v, "bare") ? SIM_ENV_BARE :
			       !strcasecmp(v, "key_only") ? SIM_ENV_KEY_ONLY :
			       !strcasecmp(v, "enriched") ? SIM_ENV_ENRICHED :
			       SIM_ENV_ROW;
		seen->envelope = true;
	} else if (strcmp(n, "format") == 0) {
		if (require_value(op, err) < 0)
			return -1;
		if (!one_of(op->value, formats))
			return fail(err, SQLSTATE_UNCATEGORIZED, "unknown format: %s",
				    op->value);
		/* csv has a rule of its own, checked with initial_scan */
		if (!strcasecmp(op->value, "csv"))
			seen->csv = true;
		else if (strcasecmp(op->value, "json") != 0)
			return fail(err, SQLSTATE_UNSUPPORTED,
				    "crdbsim emulates only format=json, not format=%s",
				    op->value);
	} else if (strcmp(n, "cursor") == 0 || strcmp(n, "end_time") == 0) {
		struct sim_hlc ts;
		bool cursor = n[0] == 'c';
		if (require_value(op, err) < 0 ||
		    sim_parse_timestamp(op->value, now_ns, &ts, err) < 0)
			return -1;
		/* the text of doc/crdb-wire.md §4.5 [TEST old]; newer releases
		 * say "timestamp '...' is in the future" */
		if (cursor && ts.wall > now_ns)
			return fail(err, SQLSTATE_UNCATEGORIZED,
				    "cannot specify timestamp in the future");
		if (cursor) {
			st->has_cursor = true;
			st->cursor = ts;
		} else {
			st->has_end_time = true;
			st->end_time = ts;
			seen->end_time = true;
		}
	} else if (strcmp(n, "resolved") == 0) {
		if (duration_opt(op, true, &ms, err) < 0)
			return -1;
		st->has_resolved = true;
		st->resolved_ms = ms;
		seen->resolved = true;
	} else if (strcmp(n, "min_checkpoint_frequency") == 0) {
		if (duration_opt(op, false, &ms, err) < 0)
			return -1;
		st->min_checkpoint_ms = ms;
	} else if (strcmp(n, "lagging_ranges_threshold") == 0 ||
		   strcmp(n, "lagging_ranges_polling_interval") == 0) {
		if (duration_opt(op, false, &ms, err) < 0)
			return -1;
	} else if (strcmp(n, "initial_scan") == 0) {
		/* resolved with the other two in check_options, in
		 * GetInitialScanType's order */
		seen->initial_scan = true;
		seen->initial_scan_value = op->value;
	} else if (strcmp(n, "no_initial_scan") == 0) {
		if (require_no_value(op, err) < 0)
			return -1;
		seen->no_initial_scan = true;
	} else if (strcmp(n, "initial_scan_only") == 0) {
		if (require_no_value(op, err) < 0)
			return -1;
		seen->initial_scan_only = true;
	} else if (strcmp(n, "schema_change_policy") == 0) {
		if (enum_opt(op, policies, err) < 0)
			return -1;
		const char *v = op->value;
		st->schema_change_policy =
			!strcasecmp(v, "backfill") ? SIM_SCHEMA_BACKFILL :
			!strcasecmp(v, "nobackfill") ? SIM_SCHEMA_NOBACKFILL :
			!strcasecmp(v, "stop") ? SIM_SCHEMA_STOP : SIM_SCHEMA_IGNORE;
	} else if (strcmp(n, "schema_change_events") == 0) {
		return enum_opt(op, events, err);
	} else if (strcmp(n, "on_error") == 0) {
		return enum_opt(op, on_error, err);
	} else if (strcmp(n, "virtual_columns") == 0) {
		return enum_opt(op, virtual_cols, err);
	} else if (strcmp(n, "updated") == 0 || strcmp(n, "diff") == 0 ||
		   strcmp(n, "mvcc_timestamp") == 0 ||
		   strcmp(n, "key_in_value") == 0 ||
		   strcmp(n, "topic_in_value") == 0 ||
		   strcmp(n, "full_table_name") == 0 ||
		   strcmp(n, "split_column_families") == 0 ||
		   strcmp(n, "unordered") == 0) {
		if (require_no_value(op, err) < 0)
			return -1;
		switch (n[0]) {
		case 'u':
			if (n[1] == 'p') {
				st->updated = seen->updated = true;
			} else {
				seen->unordered = true;
			}
			break;
		case 'd': st->diff = seen->diff = true; break;
		case 'm': st->mvcc_timestamp = seen->mvcc = true; break;
		case 'k': st->key_in_value = seen->key_in_value = true; break;
		case 't': st->topic_in_value = seen->topic_in_value = true; break;
		case 'f': st->full_table_name = true; break;
		case 's': st->split_column_families = true; break;
		}
	} else if (strcmp(n, "key_column") == 0) {
		if (require_value(op, err) < 0)
			return -1;
		seen->key_column = true;
	} else if (strcmp(n, "crdbsim_events") == 0) {
		seen->firehose_opt = true;
		return uint_opt(op, &st->firehose_events, err);
	} else if (strcmp(n, "crdbsim_size") == 0) {
		uint64_t v;
		seen->firehose_opt = true;
		if (uint_opt(op, &v, err) < 0)
			return -1;
		st->firehose_size = (size_t)v;
	} else if (strcmp(n, "crdbsim_resolved_every") == 0) {
		seen->firehose_opt = true;
		return uint_opt(op, &st->firehose_resolved_every, err);
	} else if (strcmp(n, "enriched_properties") == 0) {
		/* a comma list of source, schema; no effect in crdbsim */
		char buf[256], *save;
		if (require_value(op, err) < 0)
			return -1;
		snprintf(buf, sizeof buf, "%s", op->value);
		for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ')
				t++;
			size_t tl = strlen(t);
			while (tl && t[tl - 1] == ' ')
				t[--tl] = '\0';
			if (strcasecmp(t, "source") && strcasecmp(t, "schema"))
				return fail(err, SQLSTATE_UNCATEGORIZED,
					    "unknown enriched_properties: %s", t);
		}
	} else if (one_of(n, other_sinks)) {
		return fail(err, SQLSTATE_UNCATEGORIZED,
			    "this sink is incompatible with option %s", n);
	} else if (one_of(n, ignored_any)) {
		return 0;
	} else {
		return fail(err, SQLSTATE_INVALID_PARAM, "invalid option \"%s\"", n);
	}
	return 0;
}

static int check_options(struct simfeed_stmt *st, const struct seen *seen,
			 int64_t now_ns, struct simfeed_error *err)
{
	static const struct { size_t off; const char *name; } scan_only[] = {
		{ offsetof(struct seen, diff), "diff" },
		{ offsetof(struct seen, end_time), "end_time" },
		{ offsetof(struct seen, mvcc), "mvcc_timestamp" },
		{ offsetof(struct seen, resolved), "resolved" },
		{ offsetof(struct seen, updated), "updated" },
	};

	/* CockroachDB's GetInitialScanType, in its order */
	if (seen->initial_scan && seen->no_initial_scan)
		return fail(err, SQLSTATE_UNCATEGORIZED,
			    "cannot specify both initial_scan and no_initial_scan");
	if (seen->initial_scan && seen->initial_scan_only)
		return fail(err, SQLSTATE_UNCATEGORIZED,
			    "cannot specify both initial_scan and initial_scan_only");
	if (seen->no_initial_scan && seen->initial_scan_only)
		return fail(err, SQLSTATE_UNCATEGORIZED,
			    "cannot specify both initial_scan='only' and no_initial_scan");
	if (seen->initial_scan) {
		const char *v = seen->initial_scan_value ? seen->initial_scan_value : "";
		if (!*v || !strcasecmp(v, "yes"))
			st->initial_scan = SIM_SCAN_YES;
		else if (!strcasecmp(v, "no"))
			st->initial_scan = SIM_SCAN_NO;
		else if (!strcasecmp(v, "only"))
			st->initial_scan = SIM_SCAN_ONLY;
		else
			return fail(err, SQLSTATE_UNCATEGORIZED,
				    "unknown initial_scan: %s", v);
	} else if (seen->no_initial_scan) {
		st->initial_scan = SIM_SCAN_NO;
	} else if (seen->initial_scan_only) {
		st->initial_scan = SIM_SCAN_ONLY;
	}
	if (st->initial_scan == SIM_SCAN_ONLY) {
		for (size_t i = 0; i < sizeof scan_only / sizeof scan_only[0]; i++)
			if (*(const bool *)((const char *)seen + scan_only[i].off))
				return fail(err, SQLSTATE_UNCATEGORIZED,
					    "cannot specify both initial_scan='only' and %s",
					    scan_only[i].name);
	}
	if (seen->unordered && seen->resolved)
		return fail(err, SQLSTATE_UNCATEGORIZED,
			    "resolved timestamps cannot be guaranteed to be correct in unordered mode");
	if (seen->key_column && !seen->unordered)
		return fail(err, SQLSTATE_UNCATEGORIZED,
			    "key_column requires the unordered option");
	if (seen->key_column)
		return fail(err, SQLSTATE_UNSUPPORTED,
			    "crdbsim does not emulate key_column");
	if (seen->csv && st->initial_scan != SIM_SCAN_ONLY)
		return fail(err, SQLSTATE_UNCATEGORIZED,
			    "format=csv is only usable with initial_scan_only");
	if (seen->csv)
		return fail(err, SQLSTATE_UNSUPPORTED,
			    "crdbsim emulates only format=json, not format=csv");
	if ((seen->key_in_value || seen->topic_in_value) &&
	    st->envelope != SIM_ENV_WRAPPED && st->envelope != SIM_ENV_BARE &&
	    st->envelope != SIM_ENV_ENRICHED)
		return fail(err, SQLSTATE_UNCATEGORIZED,
			    "%s is only usable with envelope=wrapped",
			    seen->key_in_value ? "key_in_value" : "topic_in_value");
	if (st->has_end_time) {
		/* the statement time is the cursor, or now */
		struct sim_hlc stmt_time = { now_ns, 0 };
		char e[48], t[48];
		if (st->has_cursor)
			stmt_time = st->cursor;
		if (st->end_time.wall < stmt_time.wall ||
		    (st->end_time.wall == stmt_time.wall &&
		     st->end_time.logical < stmt_time.logical)) {
			sim_hlc_format(st->end_time, e, sizeof e);
			sim_hlc_format(stmt_time, t, sizeof t);
			return fail(err, SQLSTATE_UNCATEGORIZED,
				    "specified end time %s cannot be less than statement time %s",
				    e, t);
		}
	}
	if (seen->firehose_opt && !st->firehose)
		return fail(err, SQLSTATE_INVALID_PARAM,
			    "invalid option \"crdbsim_*\": only for the target crdbsim.firehose");
	return 0;
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
			return fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
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
			return fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
		st->query_columns = v;
		v[st->nquery_columns] = strndup(s + a, b - a);
		if (!v[st->nquery_columns])
			return fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
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

	next(lx);
	list_start = lx->cur.start;
	while (lx->cur.kind != TK_END && !(depth == 0 && is_kw(lx, "from"))) {
		if (is_punct(lx, '('))
			depth++;
		else if (is_punct(lx, ')'))
			depth--;
		next(lx);
	}
	if (lx->cur.kind == TK_END)
		return syntax_error(lx, err);
	list_end = lx->cur.start;
	if (list_end == list_start)
		return syntax_error(lx, err);
	next(lx);
	struct sim_target t = { 0 };
	if (parse_table_name(lx, &t, NULL, err) < 0)
		return -1;
	if (add_target(st, &t, err) < 0) {
		target_clear(&t);
		return -1;
	}
	if (is_kw(lx, "as"))
		next(lx);
	if (is_name(lx) && !is_kw(lx, "where"))
		next(lx);
	if (is_kw(lx, "where")) {
		size_t w = lx->cur.end;
		while (w < stmt_end && isspace((unsigned char)lx->s[w]))
			w++;
		if (w >= stmt_end)
			return fail(err, SQLSTATE_SYNTAX, "at or near \"EOF\": syntax error");
		st->query_where = strndup(lx->s + w, stmt_end - w);
		if (!st->query_where)
			return fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
	} else if (lx->cur.kind != TK_END && !is_punct(lx, ';')) {
		return syntax_error(lx, err);
	}
	st->query = strndup(lx->s + sel_start, stmt_end - sel_start);
	if (!st->query)
		return fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
	if (split_projection(st, lx->s + list_start, list_end - list_start, err) < 0)
		return -1;
	lx->i = stmt_end;
	next(lx);
	return 0;
}

/* End of the statement text: without trailing blanks, comments and ';'. */
static size_t statement_end(const char *sql, size_t n)
{
	struct lexer lx = { .s = sql, .n = n };
	size_t end = 0;
	for (next(&lx); lx.cur.kind != TK_END; next(&lx))
		if (!is_punct(&lx, ';'))
			end = lx.cur.end;
	free(lx.cur.text);
	return end;
}

int sim_parse_changefeed(const char *sql, const char *const *params,
			 int nparams, int64_t now_ns,
			 struct simfeed_stmt **out, struct simfeed_error *err)
{
	struct lexer lx = { .s = sql, .n = sql ? strlen(sql) : 0 };
	struct simfeed_stmt *st = NULL;
	struct optlist opts = { 0 };
	struct seen seen = { 0 };
	bool query = false;
	int rc = -1;

	*out = NULL;
	next(&lx);
	/* fast exit: this runs on every statement */
	bool experimental = is_kw(&lx, "experimental");
	if (!experimental && !is_kw(&lx, "create")) {
		free(lx.cur.text);
		return 0;
	}
	next(&lx);
	if (!is_kw(&lx, "changefeed")) {
		free(lx.cur.text);
		return 0;
	}
	size_t stmt_end = statement_end(sql, lx.n);

	st = calloc(1, sizeof *st);
	if (!st) {
		fail(err, SQLSTATE_UNCATEGORIZED, "out of memory");
		goto out;
	}
	st->experimental = experimental;
	st->envelope = SIM_ENV_WRAPPED;
	st->min_checkpoint_ms = 30000;
	next(&lx);

	if (is_kw(&lx, "for")) {
		next(&lx);
		if (parse_targets(&lx, st, err) < 0)
			goto out;
	} else if (experimental) {
		syntax_error(&lx, err);
		goto out;
	} else {
		query = true;
	}
	if (is_kw(&lx, "into")) {
		fail(err, SQLSTATE_UNSUPPORTED,
		     "crdbsim emulates only sinkless changefeeds: CREATE CHANGEFEED ... INTO (a sink) is not supported");
		goto out;
	}
	if (is_kw(&lx, "with")) {
		next(&lx);
		if (parse_options(&lx, params, nparams, &opts, err) < 0)
			goto out;
	}
	if (query) {
		if (!is_kw(&lx, "as")) {
			syntax_error(&lx, err);
			goto out;
		}
		next(&lx);
		if (!is_kw(&lx, "select")) {
			syntax_error(&lx, err);
			goto out;
		}
		st->envelope = SIM_ENV_BARE; /* CDC queries default to bare */
		if (parse_query(&lx, st, stmt_end, err) < 0)
			goto out;
	}
	while (is_punct(&lx, ';'))
		next(&lx);
	if (lx.cur.kind != TK_END || lx.bad) {
		syntax_error(&lx, err);
		goto out;
	}

	/* firehose target */
	for (size_t i = 0; i < st->ntargets; i++) {
		if (strcmp(st->targets[i].schema, "crdbsim") == 0 &&
		    strcmp(st->targets[i].table, "firehose") == 0) {
			if (st->ntargets != 1 || query) {
				fail(err, SQLSTATE_UNSUPPORTED,
				     "crdbsim.firehose must be the only target");
				goto out;
			}
			st->firehose = true;
			st->firehose_events = 1000000;
			st->firehose_size = 100;
		}
	}
	for (size_t i = 0; i < opts.n; i++)
		if (apply_option(st, &opts.v[i], now_ns, &seen, err) < 0)
			goto out;
	if (check_options(st, &seen, now_ns, err) < 0 || set_displays(st, err) < 0)
		goto out;
	*out = st;
	st = NULL;
	rc = 1;
out:
	free(lx.cur.text);
	optlist_free(&opts);
	sim_stmt_free(st);
	return rc;
}

/* ---- timestamps (cursor, end_time) -------------------------------------- */

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* TIMESTAMP / TIMESTAMPTZ text: YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][Z|+-HH[:MM]] */
static bool parse_ts_text(const char *s, int64_t *wall)
{
	unsigned y, mo, d, h = 0, mi = 0, sec = 0;
	int used = 0;
	long long frac_ns = 0;
	long zone = 0;

	if (sscanf(s, "%4u-%2u-%2u%n", &y, &mo, &d, &used) != 3 || used != 10)
		return false;
	s += used;
	if (*s == ' ' || *s == 'T' || *s == 't') {
		int u2 = 0;
		if (sscanf(s + 1, "%2u:%2u%n", &h, &mi, &u2) != 2 || u2 != 5)
			return false;
		s += 1 + u2;
		if (*s == ':') {
			if (!isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
				return false;
			sec = (unsigned)((s[1] - '0') * 10 + (s[2] - '0'));
			s += 3;
			if (*s == '.') {
				long long scale = 100000000;
				for (s++; isdigit((unsigned char)*s); s++) {
					frac_ns += (*s - '0') * scale;
					scale /= 10;
				}
			}
		}
	}
	while (*s == ' ')
		s++;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s == '-' ? -1 : 1;
		unsigned zh = 0, zm = 0;
		int u3 = 0;
		if (sscanf(s + 1, "%2u%n", &zh, &u3) != 1)
			return false;
		s += 1 + u3;
		if (*s == ':')
			s++;
		if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1])) {
			zm = (unsigned)((s[0] - '0') * 10 + (s[1] - '0'));
			s += 2;
		}
		zone = sign * (long)(zh * 3600 + zm * 60);
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60)
		return false;
	long long secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - zone;
	/* beyond int64 nanoseconds (after 2262): saturate, which the
	 * callers then refuse as a future (or pre-1970) timestamp */
	if (secs >= INT64_MAX / NS_PER_SEC)
		*wall = INT64_MAX;
	else if (secs <= INT64_MIN / NS_PER_SEC)
		*wall = INT64_MIN;
	else
		*wall = (int64_t)(secs * NS_PER_SEC + frac_ns);
	return true;
}

/* Decimal HLC "wall[.logical]" (logical at most 10 digits). 1 ok, 0 not a
 * decimal, -1 error set. */
static int parse_decimal_hlc(const char *s, struct sim_hlc *out,
			     struct simfeed_error *err)
{
	const char *p = s;
	bool neg = false;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!isdigit((unsigned char)*p))
		return 0;
	long long wall = 0;
	for (; isdigit((unsigned char)*p); p++) {
		if (wall > (INT64_MAX - 9) / 10)
			return fail(err, SQLSTATE_UNCATEGORIZED,
				    "AS OF SYSTEM TIME: value out of range: %s", s);
		wall = wall * 10 + (*p - '0');
	}
	long long logical = 0;
	if (*p == '.') {
		int nd = 0;
		for (p++; isdigit((unsigned char)*p); p++, nd++)
			if (nd < 10)
				logical = logical * 10 + (*p - '0');
		if (nd > 10)
			return fail(err, SQLSTATE_UNCATEGORIZED,
				    "AS OF SYSTEM TIME: logical part has too many digits");
		for (; nd < 10; nd++)
			logical *= 10;
	}
	if (*p)
		return 0;
	if (logical > INT32_MAX)
		return fail(err, SQLSTATE_UNCATEGORIZED,
			    "AS OF SYSTEM TIME: logical part too large: %s", s);
	if (neg && (wall || logical))
		return fail(err, SQLSTATE_UNCATEGORIZED,
			    "AS OF SYSTEM TIME: timestamp before 1970-01-01T00:00:00Z is invalid");
	if (!wall && !logical)
		return fail(err, SQLSTATE_UNCATEGORIZED,
			    "AS OF SYSTEM TIME: zero timestamp is invalid");
	out->wall = wall;
	out->logical = (int32_t)logical;
	return 1;
}

/*
 * An interval in CockroachDB/PostgreSQL input syntax: "-10s", "-5 minutes",
 * "-1h30m", "-00:00:10", "-1 day 02:00:00". Months count 30 days and years
 * 365.25 days (CockroachDB adds them on the calendar; a cursor months back
 * is beyond any GC TTL anyway). Returns false when it is not one.
 */
static bool parse_interval(const char *s, ns128 *ns)
{
	static const struct { const char *unit; int64_t ns; } units[] = {
		{ "microseconds", 1000 }, { "microsecond", 1000 }, { "usecs", 1000 },
		{ "usec", 1000 }, { "us", 1000 },
		{ "milliseconds", 1000000 }, { "millisecond", 1000000 },
		{ "msecs", 1000000 }, { "msec", 1000000 }, { "ms", 1000000 },
		{ "seconds", NS_PER_SEC }, { "second", NS_PER_SEC },
		{ "secs", NS_PER_SEC }, { "sec", NS_PER_SEC }, { "s", NS_PER_SEC },
		{ "minutes", 60 * NS_PER_SEC }, { "minute", 60 * NS_PER_SEC },
		{ "mins", 60 * NS_PER_SEC }, { "min", 60 * NS_PER_SEC },
		{ "m", 60 * NS_PER_SEC },
		{ "hours", 3600 * NS_PER_SEC }, { "hour", 3600 * NS_PER_SEC },
		{ "hrs", 3600 * NS_PER_SEC }, { "hr", 3600 * NS_PER_SEC },
		{ "h", 3600 * NS_PER_SEC },
		{ "days", 86400 * NS_PER_SEC }, { "day", 86400 * NS_PER_SEC },
		{ "d", 86400 * NS_PER_SEC },
		{ "weeks", 604800 * NS_PER_SEC }, { "week", 604800 * NS_PER_SEC },
		{ "w", 604800 * NS_PER_SEC },
		{ "months", 2592000 * NS_PER_SEC }, { "month", 2592000 * NS_PER_SEC },
		{ "mons", 2592000 * NS_PER_SEC }, { "mon", 2592000 * NS_PER_SEC },
		{ "years", 31557600 * NS_PER_SEC }, { "year", 31557600 * NS_PER_SEC },
		{ "yrs", 31557600 * NS_PER_SEC }, { "yr", 31557600 * NS_PER_SEC },
		{ "y", 31557600 * NS_PER_SEC },
	};
	const char *p = s;
	ns128 total = 0;
	bool any = false;

	/* each field carries its own sign, as in PostgreSQL */
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		int sign = 1;
		if (*p == '-' || *p == '+') {
			sign = *p == '-' ? -1 : 1;
			p++;
		}
		/* hh:mm[:ss[.f]] */
		const char *q = p;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q == ':' && q > p) {
			ns128 hh, mm, ss = 0;
			if (!scaled_number(&p, 3600 * NS_PER_SEC, &hh) || *p != ':')
				return false;
			p++;
			q = p;
			while (isdigit((unsigned char)*q))
				q++;
			if (q == p || *q == '.' || !scaled_number(&p, 60 * NS_PER_SEC, &mm))
				return false;
			if (*p == ':') {
				p++;
				if (!scaled_number(&p, NS_PER_SEC, &ss))
					return false;
			}
			add_capped(&total, sign * (hh + mm + ss));
			any = true;
			continue;
		}
		const char *num = p;
		while (isdigit((unsigned char)*p) || *p == '.')
			p++;
		if (p == num)
			return false;
		const char *num_end = p;
		while (*p == ' ')
			p++;
		const char *u = p;
		while (isalpha((unsigned char)*p))
			p++;
		size_t ul = (size_t)(p - u);
		if (ul == 0)
			return false; /* a bare number is a decimal, not here */
		size_t k;
		for (k = 0; k < sizeof units / sizeof units[0]; k++)
			if (strlen(units[k].unit) == ul && !strncasecmp(units[k].unit, u, ul))
				break;
		if (k == sizeof units / sizeof units[0])
			return false;
		ns128 v;
		if (!scaled_number(&num, units[k].ns, &v) || num != num_end)
			return false;
		add_capped(&total, sign * v);
		any = true;
	}
	if (!any)
		return false;
	*ns = total;
	return true;
}

int sim_parse_timestamp(const char *text, int64_t now_ns, struct sim_hlc *out,
			struct simfeed_error *err)
{
	int64_t wall;
	ns128 iv;

	if (!text)
		return fail(err, SQLSTATE_UNCATEGORIZED,
			    "AS OF SYSTEM TIME: value is neither timestamp, decimal, nor interval");
	while (*text == ' ')
		text++;
	/* 1. TIMESTAMP / TIMESTAMPTZ text */
	if (parse_ts_text(text, &wall)) {
		if (wall < 0)
			return fail(err, SQLSTATE_UNCATEGORIZED,
				    "AS OF SYSTEM TIME: timestamp before 1970-01-01T00:00:00Z is invalid");
		if (wall == 0)
			return fail(err, SQLSTATE_UNCATEGORIZED,
				    "AS OF SYSTEM TIME: zero timestamp is invalid");
		out->wall = wall;
		out->logical = 0;
		return 0;
	}
	/* 2. decimal: wall.logical, or bare integer nanoseconds */
	int r = parse_decimal_hlc(text, out, err);
	if (r < 0)
		return -1;
	if (r > 0)
		return 0;
	/* 3. interval, relative to now */
	if (parse_interval(text, &iv)) {
		if (iv == 0)
			return fail(err, SQLSTATE_UNCATEGORIZED,
				    "AS OF SYSTEM TIME: interval value '%s' too small, must be <= -1\xc2\xb5s",
				    text);
		ns128 w = (ns128)now_ns + iv;
		out->wall = w >= INT64_MAX ? INT64_MAX : w <= INT64_MIN ? INT64_MIN :
			    (int64_t)w;
		out->logical = 0;
		if (out->wall <= 0)
			return fail(err, SQLSTATE_UNCATEGORIZED,
				    "AS OF SYSTEM TIME: timestamp before 1970-01-01T00:00:00Z is invalid");
		return 0;
	}
	return fail(err, SQLSTATE_UNCATEGORIZED,
		    "AS OF SYSTEM TIME: value is neither timestamp, decimal, nor interval");
}
