/*
 * intercept.c: statement classification and rewriting for crdbsim.
 *
 * The lexer of sqllex.c walks the SQL text the way PostgreSQL does, so
 * that nothing inside a literal is ever rewritten. Whole-statement forms
 * (CANCEL ..., SET CLUSTER SETTING, LISTEN, changefeeds, CockroachDB-only
 * session variables, SHOW TABLES, refusals by version) are recognised on
 * a single statement only; a multi-statement simple Query is relayed, with
 * only the in-place rewrites applied and intercept_ddl.c's checks (in
 * every statement: data-modifying SQL functions by version, row-level TTL
 * storage parameters).
 *
 * The in-place rewrites also translate CockroachDB's dialect (§14.5): type
 * names where a type is expected (INT/INTEGER -> INT8, SERIAL -> INT8
 * filled by unique_rowid(), STRING -> TEXT, BYTES -> BYTEA, JSON -> JSONB),
 * json-returning functions to their jsonb twins, unique_rowid() to
 * crdbsim's own (created per database by startup.c), and UPSERT INTO to
 * INSERT ... ON CONFLICT on the primary key. A type is expected after
 * `::`, after AS inside CAST(...), and in CREATE/ALTER statements after a
 * column name that follows `(`, `,`, ADD, COLUMN or IF NOT EXISTS, or
 * after TYPE.
 */
#include "config.h"

#include "intercept.h"
#include "intercept_ddl.h"
#include "sqllex.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- SHOW forms that become SQL for PostgreSQL ---- */

enum show_kind {
	SHOW_NONE, SHOW_SESSION_ID, SHOW_STATEMENTS, SHOW_SETTING,
	SHOW_SERVER_VERSION, SHOW_SERVER_VERSION_NUM, SHOW_CRDB_VERSION,
};

/* Match SHOW session_id / SHOW [ALL] [CLUSTER|LOCAL] STATEMENTS|QUERIES /
 * SHOW CLUSTER SETTING name at p. */
static const char *match_show(const char *p, enum show_kind *kind,
			      char *setting, size_t settinglen)
{
	const char *q = kw(p, "SHOW");
	*kind = SHOW_NONE;
	if (!q)
		return NULL;
	const char *r;
	if ((r = kw(q, "session_id"))) {
		*kind = SHOW_SESSION_ID;
		return r;
	}
	/* Session variables whose CockroachDB value differs (§6.1). */
	if ((r = kw(q, "server_version"))) {
		*kind = SHOW_SERVER_VERSION;
		return r;
	}
	if ((r = kw(q, "server_version_num"))) {
		*kind = SHOW_SERVER_VERSION_NUM;
		return r;
	}
	if ((r = kw(q, "crdb_version"))) {
		*kind = SHOW_CRDB_VERSION;
		return r;
	}
	if ((r = kw(q, "CLUSTER")) && (r = kw(r, "SETTING"))) {
		r = dotted_name(r, setting, settinglen);
		if (!r)
			return NULL;
		*kind = SHOW_SETTING;
		return r;
	}
	r = q;
	const char *t;
	if ((t = kw(r, "ALL")))
		r = t;
	if ((t = kw(r, "CLUSTER")) || (t = kw(r, "LOCAL")))
		r = t;
	if ((t = kw(r, "STATEMENTS")) || (t = kw(r, "QUERIES"))) {
		*kind = SHOW_STATEMENTS;
		return t;
	}
	return NULL;
}

/* The cluster settings SHOW CLUSTER SETTING answers. */
static bool known_setting(const char *name)
{
	return strcmp(name, "kv.rangefeed.enabled") == 0 ||
	       strcmp(name, "kv.closed_timestamp.target_duration") == 0;
}

/* The SELECT replacing a SHOW form (without surrounding parentheses). */
static void show_sql(struct sbuf *b, enum show_kind kind, const char *setting,
		     const struct sim_rewrite_ctx *ctx)
{
	switch (kind) {
	case SHOW_SESSION_ID:
		sb_puts(b, "SELECT ");
		sb_literal(b, ctx->session_id ? ctx->session_id : "");
		sb_puts(b, "::text AS session_id");
		break;
	case SHOW_STATEMENTS: {
		char *v = ctx->statements_sql ? ctx->statements_sql(ctx->arg) : NULL;
		if (!v) {
			b->oom = true;
			return;
		}
		sb_puts(b, "SELECT * FROM ");
		sb_puts(b, v);
		sb_puts(b, " AS crdbsim_statements");
		free(v);
		break;
	}
	case SHOW_SETTING:
		/* Only known settings get here (known_setting()). */
		if (strcmp(setting, "kv.closed_timestamp.target_duration") == 0) {
			char v[64];
			snprintf(v, sizeof v, "SELECT '%lld milliseconds'::interval",
				 (long long)ctx->closed_ts_target_ms);
			sb_puts(b, v);
			sb_puts(b, " AS \"kv.closed_timestamp.target_duration\"");
			break;
		}
		sb_puts(b, ctx->rangefeed ? "SELECT true" : "SELECT false");
		sb_puts(b, " AS \"kv.rangefeed.enabled\"");
		break;
	case SHOW_SERVER_VERSION:
		sb_puts(b, "SELECT '13.0.0'::text AS server_version");
		break;
	case SHOW_SERVER_VERSION_NUM:
		sb_puts(b, "SELECT '130000'::text AS server_version_num");
		break;
	case SHOW_CRDB_VERSION:
		sb_puts(b, "SELECT ");
		sb_literal(b, ctx->version_string);
		sb_puts(b, "::text AS crdb_version");
		break;
	case SHOW_NONE:
		break;
	}
}

/* Words after a FROM item that show the item has no alias yet. */
static bool needs_alias(const char *p)
{
	static const char *const follow[] = {
		"WHERE", "ORDER", "GROUP", "LIMIT", "OFFSET", "JOIN", "INNER",
		"LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "ON", "USING",
		"UNION", "EXCEPT", "INTERSECT", "HAVING", "WINDOW", "FETCH",
		"FOR", NULL,
	};
	p = skip_space(p);
	if (!ident_start(*p) && *p != '"')
		return true;    /* end, ',', ')', ';' ... */
	if (kw(p, "AS"))
		return false;
	for (int i = 0; follow[i]; i++)
		if (kw(p, follow[i]))
			return true;
	return false;           /* a bare alias follows */
}

/* ---- CockroachDB's dialect (§14.5) ---- */

enum tok { T_NONE, T_WORD, T_PUNCT, T_DCOLON, T_OTHER };

#define MAX_CAST_NESTING 16

/* What the rewrite pass remembers of the tokens before the current one. */
struct lexstate {
	enum tok k[2];          /* [0] the last token, [1] the one before */
	char w[2][32];          /* lower-cased word (T_WORD; "\"" if quoted) */
	char c[2];              /* T_PUNCT */
	int depth;              /* parentheses */
	int cast_depth[MAX_CAST_NESTING];
	int ncast;
	int words;              /* words in this statement so far */
	bool ddl;               /* statement starts with CREATE or ALTER */
	bool upsert;            /* UPSERT INTO: tail pending */
	bool upsert_bad;        /* UPSERT without a column list */
	char *upsert_tail;      /* " ON CONFLICT ... " (malloc'd) */
};

static void push_tok(struct lexstate *t, enum tok k, const char *w, char c)
{
	t->k[1] = t->k[0];
	memcpy(t->w[1], t->w[0], sizeof t->w[0]);
	t->c[1] = t->c[0];
	t->k[0] = k;
	snprintf(t->w[0], sizeof t->w[0], "%s", w ? w : "");
	t->c[0] = c;
}

static bool last_word(const struct lexstate *t, int i, const char *w)
{
	return t->k[i] == T_WORD && strcmp(t->w[i], w) == 0;
}

static bool type_position(const struct lexstate *t)
{
	if (t->k[0] == T_DCOLON)
		return true;
	if (last_word(t, 0, "as") && t->ncast > 0 &&
	    t->cast_depth[t->ncast - 1] == t->depth)
		return true;
	if (!t->ddl)
		return false;
	if (last_word(t, 0, "type"))
		return true;
	if (t->k[0] != T_WORD)
		return false;
	if (t->k[1] == T_PUNCT && (t->c[1] == '(' || t->c[1] == ','))
		return true;
	return last_word(t, 1, "column") || last_word(t, 1, "add") ||
	       last_word(t, 1, "exists");
}

/* The PostgreSQL spelling of a CockroachDB type word, or NULL. */
static const char *type_word(const char *w, const char *after, bool cast)
{
	static const char *const ints[] = { "int", "integer", "int64", NULL };
	static const char *const serials[] = {
		"serial", "serial2", "serial4", "serial8", "smallserial",
		"bigserial", NULL,
	};
	for (int i = 0; ints[i]; i++)
		if (!strcmp(w, ints[i]))
			return "INT8";
	/* serial_normalization=rowid, the default: every SERIAL is INT8
	 * NOT NULL DEFAULT unique_rowid() (§14.5). */
	for (int i = 0; serials[i]; i++)
		if (!strcmp(w, serials[i]))
			return cast ? NULL :
			       "INT8 NOT NULL DEFAULT crdbsim.unique_rowid()";
	if (!strcmp(w, "string"))
		return *skip_space(after) == '(' ? "VARCHAR" : "TEXT";
	if (!strcmp(w, "bytes"))
		return "BYTEA";
	if (!strcmp(w, "json"))
		return "JSONB";
	return NULL;
}

/* Functions whose CockroachDB version differs: json ones return jsonb. */
static const char *function_word(const char *w)
{
	static const char *const map[][2] = {
		{ "unique_rowid", "crdbsim.unique_rowid" },
		{ "json_build_object", "jsonb_build_object" },
		{ "json_build_array", "jsonb_build_array" },
		{ "json_object_agg", "jsonb_object_agg" },
		{ "json_agg", "jsonb_agg" },
		{ "to_json", "to_jsonb" },
		{ "row_to_json", "to_jsonb" },
		{ "array_to_json", "to_jsonb" },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(w, map[i][0]))
			return map[i][1];
	return NULL;
}

/* A quoted identifier for name. */
static void sb_ident(struct sbuf *b, const char *name)
{
	sb_putn(b, "\"", 1);
	for (; *name; name++) {
		if (*name == '"')
			sb_putn(b, "\"", 1);
		sb_putn(b, name, 1);
	}
	sb_putn(b, "\"", 1);
}

/*
 * UPSERT INTO t [AS a] (c1, ...) ... at p (just after UPSERT): the clause
 * that makes the INSERT an upsert on the primary key, PostgreSQL's default
 * constraint name <table>_pkey (§14.5). NULL without a column list.
 */
static char *upsert_tail(const char *p)
{
	char name[128], table[128] = "";
	p = kw(p, "INTO");
	if (!p)
		return NULL;
	for (;;) {
		p = ident(p, name, sizeof name);
		if (!p)
			return NULL;
		snprintf(table, sizeof table, "%s", name);
		const char *q = punct(p, '.');
		if (!q)
			break;
		p = q;
	}
	const char *q;
	if ((q = kw(p, "AS")))
		p = ident(q, name, sizeof name);
	if (!p || !(p = punct(p, '(')))
		return NULL;
	struct sbuf cols = {0}, vals = {0}, b = {0};
	for (;;) {
		p = ident(p, name, sizeof name);
		if (!p)
			break;
		if (cols.len) {
			sb_puts(&cols, ", ");
			sb_puts(&vals, ", ");
		}
		sb_ident(&cols, name);
		sb_puts(&vals, "excluded.");
		sb_ident(&vals, name);
		if ((q = punct(p, ')'))) {
			char pkey[160];
			snprintf(pkey, sizeof pkey, "%.120s_pkey", table);
			sb_puts(&b, " ON CONFLICT ON CONSTRAINT ");
			sb_ident(&b, pkey);
			sb_puts(&b, " DO UPDATE SET (");
			sb_puts(&b, cols.p ? cols.p : "");
			sb_puts(&b, ") = ROW(");
			sb_puts(&b, vals.p ? vals.p : "");
			sb_puts(&b, ")");
			b.oom |= cols.oom || vals.oom;
			break;
		}
		if (!(p = punct(p, ',')))
			break;
	}
	free(cols.p);
	free(vals.p);
	if (!b.p || b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* End of a statement: an UPSERT's tail goes in before it. */
static void end_statement(struct lexstate *t, struct sbuf *b)
{
	if (t->upsert && t->upsert_tail)
		sb_puts(b, t->upsert_tail);
	free(t->upsert_tail);
	t->upsert_tail = NULL;
	t->upsert = false;
	t->words = 0;
	t->ddl = false;
	t->depth = 0;
	t->ncast = 0;
}

/* The rewrite pass: copies sql, replacing [SHOW ...] and version() outside
 * literals and translating the dialect (above); counts $n parameters and
 * statements; *upsert_bad is set for an UPSERT without a column list. */
static char *rewrite(const char *sql, const struct sim_rewrite_ctx *ctx,
		     int *nparams, int *nstatements, bool *upsert_bad)
{
	struct sbuf b = {0};
	struct lexstate t = {0};
	const char *p = sql, *copied = sql;
	int maxparam = 0, stmts = 0;
	bool content = false;

	while (*p) {
		const char *q = skip_quoted(sql, p);
		if (q) {
			if (*p != '-' && *p != '/') {
				content = true;
				t.words++;
				push_tok(&t, *p == '"' ? T_WORD : T_OTHER,
					 *p == '"' ? "\"" : NULL, 0);
			}
			p = q;
			continue;
		}
		if (*p == ';') {
			if (content)
				stmts++;
			content = false;
			sb_putn(&b, copied, (size_t)(p - copied));
			copied = p;
			end_statement(&t, &b);
			push_tok(&t, T_PUNCT, NULL, ';');
			p++;
			continue;
		}
		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		content = true;
		if (*p == '$' && isdigit((unsigned char)p[1]) &&
		    (p == sql || !ident_char(p[-1]))) {
			long n = strtol(p + 1, NULL, 10);
			if (n > maxparam && n < 65536)
				maxparam = (int)n;
			p++;
			while (isdigit((unsigned char)*p))
				p++;
			push_tok(&t, T_OTHER, NULL, 0);
			continue;
		}
		if (*p == '[') {
			enum show_kind kind;
			char setting[256];
			const char *e = match_show(p + 1, &kind, setting,
						   sizeof setting);
			if (e && (e = punct(e, ']')) &&
			    (kind != SHOW_SETTING || known_setting(setting))) {
				sb_putn(&b, copied, (size_t)(p - copied));
				sb_puts(&b, "(");
				show_sql(&b, kind, setting, ctx);
				sb_puts(&b, ")");
				if (needs_alias(e))
					sb_puts(&b, " AS crdbsim_show");
				p = copied = e;
				push_tok(&t, T_OTHER, NULL, 0);
				continue;
			}
		}
		if ((*p == 'v' || *p == 'V') && (p == sql || (!ident_char(p[-1]) &&
						 p[-1] != '.' && p[-1] != '"'))) {
			const char *e = kw(p, "version");
			if (e && (e = punct(e, '(')) && (e = punct(e, ')'))) {
				sb_putn(&b, copied, (size_t)(p - copied));
				sb_puts(&b, "(SELECT ");
				sb_literal(&b, ctx->version_string);
				sb_puts(&b, "::text AS version)");
				p = copied = e;
				push_tok(&t, T_OTHER, NULL, 0);
				continue;
			}
		}
		if (ident_start(*p) && (p == sql || !ident_char(p[-1]))) {
			const char *e = p;
			char w[32];
			size_t n = 0;
			while (ident_char(*e)) {
				if (n + 1 < sizeof w)
					w[n++] = (char)tolower((unsigned char)*e);
				e++;
			}
			w[n] = '\0';
			bool qualified = p > sql && p[-1] == '.';
			const char *to = NULL;
			if (t.words == 0) {
				t.ddl = !strcmp(w, "create") || !strcmp(w, "alter");
				if (!strcmp(w, "upsert") && kw(e, "INTO")) {
					to = "INSERT";
					t.upsert = true;
					t.upsert_tail = upsert_tail(e);
					if (!t.upsert_tail)
						t.upsert_bad = true;
				}
			} else if (!qualified && type_position(&t)) {
				to = type_word(w, e, t.k[0] == T_DCOLON ||
					       last_word(&t, 0, "as"));
			}
			if (!to && !qualified && *skip_space(e) == '(')
				to = function_word(w);
			if (t.upsert && t.depth == 0 && !strcmp(w, "returning")) {
				/* The conflict clause goes before RETURNING. */
				sb_putn(&b, copied, (size_t)(p - copied));
				copied = p;
				if (t.upsert_tail) {
					sb_puts(&b, t.upsert_tail + 1);
					sb_puts(&b, " ");
				}
				t.upsert = false;
			}
			if (to) {
				sb_putn(&b, copied, (size_t)(p - copied));
				sb_puts(&b, to);
				copied = e;
			}
			t.words++;
			push_tok(&t, T_WORD, w, 0);
			p = e;
			continue;
		}
		if (ident_char(*p)) {
			while (ident_char(*p))
				p++;
			push_tok(&t, T_OTHER, NULL, 0);
			continue;
		}
		if (p[0] == ':' && p[1] == ':') {
			push_tok(&t, T_DCOLON, NULL, 0);
			p += 2;
			continue;
		}
		if (*p == '(') {
			t.depth++;
			if (last_word(&t, 0, "cast") && t.ncast < MAX_CAST_NESTING)
				t.cast_depth[t.ncast++] = t.depth;
		} else if (*p == ')') {
			if (t.ncast > 0 && t.cast_depth[t.ncast - 1] == t.depth)
				t.ncast--;
			if (t.depth > 0)
				t.depth--;
		}
		push_tok(&t, T_PUNCT, NULL, *p);
		p++;
	}
	if (content)
		stmts++;
	sb_putn(&b, copied, (size_t)(p - copied));
	end_statement(&t, &b);
	if (nparams)
		*nparams = maxparam;
	if (nstatements)
		*nstatements = stmts;
	if (upsert_bad)
		*upsert_bad = t.upsert_bad;
	return sb_take(&b);
}

char *sim_rewrite(const char *sql, const struct sim_rewrite_ctx *ctx,
		  int *nparams)
{
	return rewrite(sql, ctx, nparams, NULL, NULL);
}

void sim_stmt_clear(struct sim_stmt *st)
{
	free(st->sql);
	free(st->arg);
	free(st->name);
	memset(st, 0, sizeof *st);
}

static void set_error(struct sim_stmt *st, const char *sqlstate,
		      const char *message)
{
	st->kind = SIM_ERROR;
	snprintf(st->sqlstate, sizeof st->sqlstate, "%s", sqlstate);
	snprintf(st->message, sizeof st->message, "%.255s", message);
}

/* CockroachDB-only session variables and their initial values (§14.3).
 * PostgreSQL keeps them as custom settings crdb.<name>. */
static const char *const crdb_vars[][2] = {
	{ "autocommit_before_ddl", "off" },
	{ "copy_from_atomic_enabled", "on" },
	{ "default_int_size", "8" },
	{ "default_transaction_use_follower_reads", "off" },
	{ "disallow_full_table_scans", "off" },
	{ "distsql", "auto" },
	{ "enable_experimental_alter_column_type_general", "off" },
	{ "enable_implicit_select_for_update", "on" },
	{ "expect_and_ignore_not_visible_columns_in_copy", "off" },
	{ "experimental_enable_temp_tables", "off" },
	{ "large_full_scan_rows", "1000" },
	{ "null_ordered_last", "off" },
	{ "optimizer_use_histograms", "on" },
	{ "reorder_joins_limit", "8" },
	{ "require_explicit_primary_keys", "off" },
	{ "serial_normalization", "rowid" },
	{ "sql_safe_updates", "off" },
	{ "stub_catalog_tables", "on" },
	{ "transaction_rows_read_err", "0" },
	{ "transaction_rows_written_err", "0" },
	{ "vectorize", "on" },
};

static const char *crdb_var_default(const char *name)
{
	for (size_t i = 0; i < sizeof crdb_vars / sizeof crdb_vars[0]; i++)
		if (!strcmp(name, crdb_vars[i][0]))
			return crdb_vars[i][1];
	return NULL;
}

/* SET [SESSION|LOCAL] v {=|TO} x, SHOW v, RESET v for a CockroachDB-only
 * variable: the SQL for PostgreSQL (malloc'd), NULL when not one, and
 * *oom on allocation failure. */
static char *session_var_sql(const char *sql, const char *rewritten, bool *oom)
{
	const char *p, *q, *r;
	char name[128];
	struct sbuf b = {0};
	*oom = false;
	if ((p = kw(sql, "SET"))) {
		bool local = false;
		if ((q = kw(p, "SESSION")))
			p = q;
		else if ((q = kw(p, "LOCAL"))) {
			p = q;
			local = true;
		}
		if (!(q = ident(p, name, sizeof name)) || !crdb_var_default(name))
			return NULL;
		if (!(r = punct(q, '=')) && !(r = kw(q, "TO")))
			return NULL;
		/* The value as rewritten (same offset: nothing before it
		 * is ever rewritten). */
		size_t off = (size_t)(r - sql);
		if (off > strlen(rewritten))
			return NULL;
		char *value = rest(rewritten + off);
		if (!value) {
			*oom = true;
			return NULL;
		}
		sb_puts(&b, local ? "SET LOCAL crdb." : "SET crdb.");
		sb_puts(&b, name);
		sb_puts(&b, " = ");
		sb_puts(&b, value);
		free(value);
	} else if ((p = kw(sql, "SHOW"))) {
		if (!(q = ident(p, name, sizeof name)) || !crdb_var_default(name) ||
		    !at_end(q))
			return NULL;
		sb_puts(&b, "SELECT coalesce(nullif(current_setting('crdb.");
		sb_puts(&b, name);
		sb_puts(&b, "', true), ''), ");
		sb_literal(&b, crdb_var_default(name));
		sb_puts(&b, ") AS ");
		sb_puts(&b, name);
	} else if ((p = kw(sql, "RESET"))) {
		if (!(q = ident(p, name, sizeof name)) || !crdb_var_default(name) ||
		    !at_end(q))
			return NULL;
		sb_puts(&b, "RESET crdb.");
		sb_puts(&b, name);
	} else {
		return NULL;
	}
	char *out = sb_take(&b);
	if (!out)
		*oom = true;
	return out;
}

/* SHOW TABLES: CockroachDB's columns (§14.5) from PostgreSQL's catalog. */
static const char show_tables_sql[] =
	"SELECT n.nspname::text AS schema_name, c.relname::text AS table_name, "
	"CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized_view' "
	"WHEN 'S' THEN 'sequence' ELSE 'table' END AS type, "
	"pg_get_userbyid(c.relowner)::text AS owner, "
	"greatest(c.reltuples, 0)::int8 AS estimated_row_count, "
	"NULL::text AS locality "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
	"ON n.oid = c.relnamespace "
	"WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') "
	"AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'crdbsim') "
	"AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' "
	"ORDER BY 1, 2";

/* CockroachDB's parser error for syntax it does not implement (§14.6). */
static void set_unimplemented(struct sim_stmt *st, const char *word,
			      int issue, int version)
{
	char msg[160];
	snprintf(msg, sizeof msg,
		 "at or near \"%s\": syntax error: unimplemented: this syntax",
		 word);
	set_error(st, "0A000", msg);
	snprintf(st->hint, sizeof st->hint,
		 "You have attempted to use a feature that is not yet implemented.\n"
		 "See: https://go.crdb.dev/issue-v/%d/v%d.%d", issue,
		 version / 10000, version / 100 % 100);
}

/* Statements the emulated version refuses (§14.4, §14.6). Returns true when
 * st now is a SIM_ERROR. */
static bool version_refuses(const char *p, const struct sim_rewrite_ctx *ctx,
			    struct sim_stmt *st)
{
	const char *q;
	int v = ctx->version;
	/* SQL cursors arrived in 22.1.0 (cockroach#74006). */
	if (v < 220100 && kw(p, "DECLARE")) {
		set_unimplemented(st, "declare", 41412, v);
		return true;
	}
	if (v < 220100 && (q = kw(p, "CLOSE")) && !kw(q, "ALL")) {
		set_unimplemented(st, "close", 41412, v);
		return true;
	}
	/* Two-phase commit: no grammar before 25.1 (cockroach#129298,
	 * #129448); PREPARE takes TRANSACTION for a statement name and
	 * stops at the literal, COMMIT at PREPARED. */
	if (v < 250100) {
		const char *r;
		if ((q = kw(p, "PREPARE")) && (r = kw(q, "TRANSACTION")) &&
		    !kw(r, "AS")) {
			const char *lit = skip_space(r);
			char tok[64];
			size_t n = 0;
			if (*lit == '\'')
				lit++;
			while (lit[n] && lit[n] != '\'' && n + 1 < sizeof tok) {
				tok[n] = lit[n];
				n++;
			}
			tok[n] = '\0';
			char msg[128];
			snprintf(msg, sizeof msg, "at or near \"%s\": syntax error", tok);
			set_error(st, "42601", msg);
			return true;
		}
		if (((q = kw(p, "COMMIT")) || (q = kw(p, "ROLLBACK"))) &&
		    kw(q, "PREPARED")) {
			set_error(st, "42601", "at or near \"prepared\": syntax error");
			return true;
		}
	}
	/* LISTEN and UNLISTEN parse from 22.2 (cockroach#86772); NOTIFY
	 * never does. */
	if ((v < 220200 && kw(p, "LISTEN")) || (v < 220200 && kw(p, "UNLISTEN"))) {
		set_unimplemented(st, kw(p, "LISTEN") ? "listen" : "unlisten",
				  41522, v);
		return true;
	}
	if (kw(p, "NOTIFY")) {
		set_unimplemented(st, "notify", 41522, v);
		return true;
	}
	return false;
}

/*
 * SHOW CHANGEFEED JOBS, and SHOW CHANGEFEED JOB <expr> (p just past JOB or
 * JOBS), as a SELECT over the jobs crdbsim keeps in PostgreSQL (sim_job.c),
 * with CockroachDB's columns (doc/crdb-wire.md §16); malloc'd, NULL when
 * out of memory.
 */
static char *show_changefeed_jobs_sql(const char *p,
				      const struct sim_rewrite_ctx *ctx)
{
	char *arg = rest(p);
	if (!arg)
		return NULL;
	struct sbuf b = {0};
	sb_puts(&b, "SELECT job_id, description, user_name, status,"
		" running_status, created, started, finished, modified,"
		" CASE WHEN hw_wall = 0 AND hw_logical = 0 THEN NULL ELSE"
		" (hw_wall::text || '.' || lpad(hw_logical::text, 10, '0'))"
		"::numeric END AS high_water_timestamp,");
	/* §16.6: readable_high_water_timestamptz from v25.1, topics from
	 * v22.1 */
	if (ctx->version >= 250100)
		sb_puts(&b, " CASE WHEN hw_wall = 0 AND hw_logical = 0 THEN NULL"
			" ELSE to_timestamp(hw_wall / 1000000000.0) END AS"
			" readable_high_water_timestamptz,");
	sb_puts(&b, " error, sink_uri, full_table_names,");
	if (ctx->version >= 220100)
		sb_puts(&b, " topics,");
	sb_puts(&b, " format FROM crdbsim.changefeed_jobs");
	if (*arg) {
		char *expr = rewrite(arg, ctx, NULL, NULL, NULL);
		if (!expr) {
			free(arg);
			return NULL;
		}
		sb_puts(&b, " WHERE job_id = (");
		sb_puts(&b, expr);
		sb_puts(&b, ")");
		free(expr);
	}
	free(arg);
	sb_puts(&b, " ORDER BY created DESC, job_id");
	return sb_take(&b);
}

int sim_classify(const char *sql, const struct sim_rewrite_ctx *ctx,
		 struct sim_stmt *out)
{
	memset(out, 0, sizeof *out);
	int nstmts = 0;
	bool upsert_bad = false;
	char *rewritten = rewrite(sql, ctx, &out->nparams, &nstmts, &upsert_bad);
	if (!rewritten)
		return -1;
	out->kind = SIM_RELAY;
	out->sql = rewritten;
	if (upsert_bad) {
		set_error(out, "0A000", "crdbsim: UPSERT is emulated only with "
			  "a column list (INSERT ... ON CONFLICT on the primary key)");
		return 0;
	}
	bool ddl_oom;
	if (ddl_function_refused(sql, ctx->version, out, &ddl_oom))
		return 0;
	if (ddl_oom || ddl_strip_ttl(out, ctx->version) != 0)
		return -1;
	if (out->kind == SIM_ERROR || nstmts != 1)
		return 0;

	const char *p = sql, *q, *r;
	enum show_kind show;
	char name[256];
	bool oom;
	char *var;

	if (version_refuses(p, ctx, out))
		return 0;
	if ((var = session_var_sql(sql, rewritten, &oom)) || oom) {
		if (!var)
			return -1;
		free(out->sql);
		out->sql = var;
		return 0;
	}
	if ((q = kw(p, "SHOW")) && (q = kw(q, "TABLES")) && at_end(q)) {
		char *s = strdup(show_tables_sql);
		if (!s)
			return -1;
		free(out->sql);
		out->sql = s;
		return 0;
	}
	if ((q = kw(p, "SHOW")) && (q = kw(q, "CHANGEFEED")) &&
	    ((r = kw(q, "JOBS")) || (r = kw(q, "JOB")))) {
		char *s = show_changefeed_jobs_sql(r, ctx);
		if (!s)
			return -1;
		free(out->sql);
		out->sql = s;
		return 0;
	}
	if (((q = kw(p, "PAUSE")) || (q = kw(p, "RESUME")) ||
	     (q = kw(p, "CANCEL"))) && kw(q, "JOB")) {
		out->kind = SIM_JOB;
		return 0;
	}
	if ((q = kw(p, "ALTER")) && kw(q, "CHANGEFEED")) {
		out->kind = SIM_JOB;
		return 0;
	}
	if ((q = kw(p, "CREATE")) && kw(q, "CHANGEFEED")) {
		out->kind = SIM_CHANGEFEED;
	} else if ((q = kw(p, "EXPERIMENTAL")) && kw(q, "CHANGEFEED")) {
		out->kind = SIM_CHANGEFEED;
	} else if ((q = match_show(p, &show, name, sizeof name)) && at_end(q)) {
		if (show == SHOW_SETTING && !known_setting(name)) {
			char msg[200];
			snprintf(msg, sizeof msg, "unknown setting: %.150s", name);
			set_error(out, "42704", msg);
			return 0;
		}
		struct sbuf b = {0};
		show_sql(&b, show, name, ctx);
		char *s = sb_take(&b);
		if (!s)
			return -1;
		free(out->sql);
		out->sql = s;
		return 0;
	} else if ((q = kw(p, "SET")) && (q = kw(q, "CLUSTER")) &&
		   (q = kw(q, "SETTING"))) {
		q = dotted_name(q, name, sizeof name);
		if (!q || !((r = punct(q, '=')) || (r = kw(q, "TO")))) {
			set_error(out, "42601", "at or near \"EOF\": syntax error");
			return 0;
		}
		out->kind = SIM_SET_CLUSTER_SETTING;
		out->name = strdup(name);
		out->arg = rest(r);
		if (!out->name || !out->arg)
			return -1;
	} else if ((q = kw(p, "CANCEL"))) {
		bool plural;
		if ((r = kw(q, "QUERY")) || (r = kw(q, "QUERIES"))) {
			plural = r - skip_space(q) == 7;
			out->kind = plural ? SIM_CANCEL_QUERIES : SIM_CANCEL_QUERY;
		} else if ((r = kw(q, "SESSION")) || (r = kw(q, "SESSIONS"))) {
			plural = r - skip_space(q) == 8;
			out->kind = plural ? SIM_CANCEL_SESSIONS : SIM_CANCEL_SESSION;
		} else {
			return 0;
		}
		const char *t;
		if ((t = kw(r, "IF")) && (t = kw(t, "EXISTS"))) {
			out->if_exists = true;
			r = t;
		}
		char *arg = rest(r);
		if (!arg)
			return -1;
		out->arg = rewrite(arg, ctx, NULL, NULL, NULL);
		free(arg);
		if (!out->arg)
			return -1;
		if (!*out->arg)
			set_error(out, "42601", "at or near \"EOF\": syntax error");
	} else if ((q = kw(p, "LISTEN"))) {
		out->kind = SIM_LISTEN;
	} else if ((q = kw(p, "UNLISTEN"))) {
		out->kind = SIM_UNLISTEN;
	}
	return 0;
}
