/*
 * intercept.c: statement classification and rewriting for crdbsim.
 *
 * A small lexer walks the SQL text the way PostgreSQL does (quoted strings,
 * E'' strings, quoted identifiers, dollar quoting, both comment styles), so
 * that nothing inside a literal is ever rewritten. Whole-statement forms
 * (CANCEL ..., SET CLUSTER SETTING, LISTEN, changefeeds) are recognised on
 * a single statement only; a multi-statement simple Query is relayed, with
 * only the in-place rewrites applied.
 */
#include "config.h"

#include "intercept.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growable string with a sticky failure flag ---- */

struct sbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void sb_add(struct sbuf *b, const char *p, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->s, cap);
		if (!q) {
			b->failed = true;
			return;
		}
		b->s = q;
		b->cap = cap;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* A SQL string literal for s ('' doubled). */
static void sb_literal(struct sbuf *b, const char *s)
{
	sb_add(b, "'", 1);
	for (; *s; s++) {
		if (*s == '\'')
			sb_add(b, "'", 1);
		sb_add(b, s, 1);
	}
	sb_add(b, "'", 1);
}

static char *sb_take(struct sbuf *b)
{
	if (b->failed) {
		free(b->s);
		return NULL;
	}
	if (!b->s)
		return strdup("");
	return b->s;
}

/* ---- lexing ---- */

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' ||
	       (unsigned char)c >= 0x80;
}

static bool ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

/* Skip whitespace and comments. */
static const char *skip_space(const char *p)
{
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			int depth = 0;
			do {
				if (p[0] == '/' && p[1] == '*') {
					depth++;
					p += 2;
				} else if (p[0] == '*' && p[1] == '/') {
					depth--;
					p += 2;
				} else if (*p) {
					p++;
				} else {
					break;
				}
			} while (depth > 0);
		} else {
			return p;
		}
	}
}

/*
 * If p starts a quoted region or comment, return its end (just past it);
 * otherwise NULL. prev is the character before p (for E'' strings).
 */
static const char *skip_quoted(const char *start, const char *p)
{
	if (*p == '\'') {
		bool backslash = p > start && (p[-1] == 'E' || p[-1] == 'e') &&
				 (p - 1 == start || !ident_char(p[-2]));
		p++;
		while (*p) {
			if (backslash && *p == '\\' && p[1]) {
				p += 2;
			} else if (*p == '\'') {
				if (p[1] == '\'')
					p += 2;
				else
					return p + 1;
			} else {
				p++;
			}
		}
		return p;
	}
	if (*p == '"') {
		p++;
		while (*p) {
			if (*p == '"') {
				if (p[1] == '"')
					p += 2;
				else
					return p + 1;
			} else {
				p++;
			}
		}
		return p;
	}
	if (*p == '$' && (p == start || !ident_char(p[-1]))) {
		/* $tag$ ... $tag$ (tag may be empty); $1 is a parameter. */
		const char *q = p + 1;
		while (*q && (isalnum((unsigned char)*q) || *q == '_'))
			q++;
		if (*q != '$' || isdigit((unsigned char)p[1]))
			return NULL;
		size_t taglen = (size_t)(q - p) + 1;
		const char *body = q + 1;
		for (const char *e = body; *e; e++)
			if (*e == '$' && strncmp(e, p, taglen) == 0)
				return e + taglen;
		return body + strlen(body);
	}
	if ((p[0] == '-' && p[1] == '-') || (p[0] == '/' && p[1] == '*'))
		return skip_space(p);
	return NULL;
}

/* Case-insensitive keyword at p (after spaces): the end of it, or NULL. */
static const char *kw(const char *p, const char *word)
{
	p = skip_space(p);
	size_t n = strlen(word);
	if (strncasecmp(p, word, n) != 0 || ident_char(p[n]))
		return NULL;
	return p + n;
}

static const char *punct(const char *p, char c)
{
	p = skip_space(p);
	return *p == c ? p + 1 : NULL;
}

/* An identifier (plain, lower-cased, or "quoted") into out. */
static const char *ident(const char *p, char *out, size_t outlen)
{
	p = skip_space(p);
	size_t n = 0;
	if (*p == '"') {
		p++;
		while (*p && !(*p == '"' && p[1] != '"')) {
			if (*p == '"')
				p++;
			if (n + 1 < outlen)
				out[n++] = *p;
			p++;
		}
		if (*p != '"')
			return NULL;
		p++;
	} else {
		if (!ident_start(*p))
			return NULL;
		while (ident_char(*p)) {
			if (n + 1 < outlen)
				out[n++] = (char)tolower((unsigned char)*p);
			p++;
		}
	}
	out[n] = '\0';
	return p;
}

/* A dotted name such as kv.rangefeed.enabled, lower-cased. */
static const char *dotted_name(const char *p, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	for (;;) {
		char part[128];
		p = ident(p, part, sizeof part);
		if (!p)
			return NULL;
		int w = snprintf(out + used, outlen - used, "%s%s",
				 used ? "." : "", part);
		if (w < 0 || (size_t)w >= outlen - used)
			return NULL;
		used += (size_t)w;
		const char *q = skip_space(p);
		if (*q != '.')
			return p;
		p = q + 1;
	}
}

static bool at_end(const char *p)
{
	p = skip_space(p);
	while (*p == ';')
		p = skip_space(p + 1);
	return *p == '\0';
}

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
		sb_str(b, "SELECT ");
		sb_literal(b, ctx->session_id ? ctx->session_id : "");
		sb_str(b, "::text AS session_id");
		break;
	case SHOW_STATEMENTS: {
		char *v = ctx->statements_sql ? ctx->statements_sql(ctx->arg) : NULL;
		if (!v) {
			b->failed = true;
			return;
		}
		sb_str(b, "SELECT * FROM ");
		sb_str(b, v);
		sb_str(b, " AS crdbsim_statements");
		free(v);
		break;
	}
	case SHOW_SETTING:
		/* Only known settings get here (known_setting()). */
		if (strcmp(setting, "kv.closed_timestamp.target_duration") == 0) {
			char v[64];
			snprintf(v, sizeof v, "SELECT '%lld milliseconds'::interval",
				 (long long)ctx->closed_ts_target_ms);
			sb_str(b, v);
			sb_str(b, " AS \"kv.closed_timestamp.target_duration\"");
			break;
		}
		sb_str(b, ctx->rangefeed ? "SELECT true" : "SELECT false");
		sb_str(b, " AS \"kv.rangefeed.enabled\"");
		break;
	case SHOW_SERVER_VERSION:
		sb_str(b, "SELECT '13.0.0'::text AS server_version");
		break;
	case SHOW_SERVER_VERSION_NUM:
		sb_str(b, "SELECT '130000'::text AS server_version_num");
		break;
	case SHOW_CRDB_VERSION:
		sb_str(b, "SELECT ");
		sb_literal(b, ctx->version_string);
		sb_str(b, "::text AS crdb_version");
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

/* The rewrite pass: copies sql, replacing [SHOW ...] and version() outside
 * literals; counts $n parameters and statements. */
static char *rewrite(const char *sql, const struct sim_rewrite_ctx *ctx,
		     int *nparams, int *nstatements)
{
	struct sbuf b = {0};
	const char *p = sql, *copied = sql;
	int maxparam = 0, stmts = 0;
	bool content = false;

	while (*p) {
		const char *q = skip_quoted(sql, p);
		if (q) {
			if (*p != '-' && *p != '/')
				content = true;
			p = q;
			continue;
		}
		if (*p == ';') {
			if (content)
				stmts++;
			content = false;
			p++;
			continue;
		}
		if (!isspace((unsigned char)*p))
			content = true;
		if (*p == '$' && isdigit((unsigned char)p[1]) &&
		    (p == sql || !ident_char(p[-1]))) {
			long n = strtol(p + 1, NULL, 10);
			if (n > maxparam && n < 65536)
				maxparam = (int)n;
			p++;
			while (isdigit((unsigned char)*p))
				p++;
			continue;
		}
		if (*p == '[') {
			enum show_kind kind;
			char setting[256];
			const char *e = match_show(p + 1, &kind, setting,
						   sizeof setting);
			if (e && (e = punct(e, ']')) &&
			    (kind != SHOW_SETTING || known_setting(setting))) {
				sb_add(&b, copied, (size_t)(p - copied));
				sb_str(&b, "(");
				show_sql(&b, kind, setting, ctx);
				sb_str(&b, ")");
				if (needs_alias(e))
					sb_str(&b, " AS crdbsim_show");
				p = copied = e;
				continue;
			}
		}
		if ((*p == 'v' || *p == 'V') && (p == sql || (!ident_char(p[-1]) &&
						 p[-1] != '.' && p[-1] != '"'))) {
			const char *e = kw(p, "version");
			if (e && (e = punct(e, '(')) && (e = punct(e, ')'))) {
				sb_add(&b, copied, (size_t)(p - copied));
				sb_str(&b, "(SELECT ");
				sb_literal(&b, ctx->version_string);
				sb_str(&b, "::text AS version)");
				p = copied = e;
				continue;
			}
		}
		if (ident_char(*p)) {
			while (ident_char(*p))
				p++;
			continue;
		}
		p++;
	}
	if (content)
		stmts++;
	sb_add(&b, copied, (size_t)(p - copied));
	if (nparams)
		*nparams = maxparam;
	if (nstatements)
		*nstatements = stmts;
	return sb_take(&b);
}

char *sim_rewrite(const char *sql, const struct sim_rewrite_ctx *ctx,
		  int *nparams)
{
	return rewrite(sql, ctx, nparams, NULL);
}

void sim_stmt_clear(struct sim_stmt *st)
{
	free(st->sql);
	free(st->arg);
	free(st->name);
	memset(st, 0, sizeof *st);
}

/* The rest of the statement after p, trimmed of spaces and ';'. */
static char *rest(const char *p)
{
	p = skip_space(p);
	size_t n = strlen(p);
	while (n > 0 && (isspace((unsigned char)p[n - 1]) || p[n - 1] == ';'))
		n--;
	return strndup(p, n);
}

static void set_error(struct sim_stmt *st, const char *sqlstate,
		      const char *message)
{
	st->kind = SIM_ERROR;
	snprintf(st->sqlstate, sizeof st->sqlstate, "%s", sqlstate);
	snprintf(st->message, sizeof st->message, "%.255s", message);
}

int sim_classify(const char *sql, const struct sim_rewrite_ctx *ctx,
		 struct sim_stmt *out)
{
	memset(out, 0, sizeof *out);
	int nstmts = 0;
	char *rewritten = rewrite(sql, ctx, &out->nparams, &nstmts);
	if (!rewritten)
		return -1;
	out->kind = SIM_RELAY;
	out->sql = rewritten;
	if (nstmts != 1)
		return 0;

	const char *p = sql, *q, *r;
	enum show_kind show;
	char name[256];

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
		out->arg = rewrite(arg, ctx, NULL, NULL);
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
