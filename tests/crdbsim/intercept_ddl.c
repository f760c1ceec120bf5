/*
 * intercept_ddl.c: CockroachDB DDL that PostgreSQL would take differently
 * (§15), found with the lexer of sqllex.c in every statement of a query.
 *
 * - A LANGUAGE SQL function whose body holds INSERT, UPSERT, UPDATE or
 *   DELETE: CockroachDB 22.2 and 23.1 refuse it at CREATE FUNCTION, before
 *   looking at the tables, with 0A000 "unimplemented: INSERT usage inside a
 *   function definition" (UPSERT says INSERT) and a hint naming issue
 *   87289; from 23.2 it is allowed. Before 22.2 there are no functions at
 *   all, which crdbsim does not emulate (PostgreSQL takes them).
 * - CREATE TABLE ... WITH (ttl_...): PostgreSQL has no row-level TTL and
 *   refuses unknown storage parameters, so those whose name starts with
 *   "ttl" are cut out and left in a comment after the clause (where
 *   PostgreSQL's statement log shows them). No row ever expires: no TTL
 *   deletion reaches a changefeed, which is what
 *   ttl_disable_changefeed_replication = true asks for. A parameter the
 *   emulated version does not have gets CockroachDB's 22023 "invalid
 *   storage parameter" (ttl_expiration_expression from 22.2,
 *   ttl_disable_changefeed_replication from 24.1, the others from 22.1).
 */
#include "config.h"

#include "intercept_ddl.h"
#include "sqllex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define UDF_MUTATIONS_VERSION   230200  /* cockroach#87289, 23.2 */
#define UDF_VERSION             220200  /* CREATE FUNCTION */
#define TTL_VERSION             220100
#define TTL_EXPRESSION_VERSION  220200
#define TTL_NO_CDC_VERSION      240100  /* cockroach#119611 */

/* The end of the statement starting at p: its ';' or the final NUL. */
static const char *statement_end(const char *sql, const char *p)
{
	while (*p && *p != ';') {
		const char *q = skip_quoted(sql, p);
		p = q ? q : p + 1;
	}
	return p;
}

/* The text of the string constant [p, end): '...' or $tag$...$tag$
 * (malloc'd; NULL when out of memory). */
static char *constant_text(const char *p, const char *end)
{
	struct sbuf b = {0};
	if (*p == '$') {
		const char *tag_end = strchr(p + 1, '$');
		size_t taglen = (size_t)(tag_end - p) + 1;
		const char *body = tag_end + 1;
		const char *stop = end;
		if ((size_t)(end - body) >= taglen &&
		    strncmp(end - taglen, p, taglen) == 0)
			stop = end - taglen;
		sb_putn(&b, body, (size_t)(stop - body));
	} else {
		for (const char *q = p + 1; q < end; q++) {
			if (*q == '\'') {
				if (q + 1 < end && q[1] == '\'')
					q++;
				else
					break;
			}
			sb_putc(&b, *q);
		}
	}
	return sb_take(&b);
}

/* The statement tag CockroachDB names for the first data-modifying
 * statement of a function body, or NULL. */
static const char *mutation_tag(const char *body)
{
	const char *p = body;
	while (*(p = skip_space(p))) {
		if (kw(p, "INSERT") || kw(p, "UPSERT"))
			return "INSERT";
		if (kw(p, "UPDATE"))
			return "UPDATE";
		if (kw(p, "DELETE"))
			return "DELETE";
		p = statement_end(body, p);
		if (*p == ';')
			p++;
	}
	return NULL;
}

/* One statement [s, e): 1 when it is a data-modifying SQL function (st
 * set), 0 when not, -1 when out of memory. */
static int function_refused(const char *sql, const char *s, const char *e,
			    int version, struct sim_stmt *st)
{
	const char *p = kw(s, "CREATE"), *q;
	if (!p)
		return 0;
	if ((q = kw(p, "OR")) && (q = kw(q, "REPLACE")))
		p = q;
	if (!(p = kw(p, "FUNCTION")))
		return 0;
	int depth = 0;
	bool want_language = false, want_body = false, language_sql = false;
	const char *body = NULL, *body_end = NULL;
	while ((p = skip_space(p)) < e) {
		if ((q = skip_quoted(sql, p))) {
			if (depth == 0 && want_body && (*p == '\'' || *p == '$')) {
				body = p;
				body_end = q;
			}
			if (want_language)
				language_sql = q - p == 5 && !strncasecmp(p, "'sql'", 5);
			want_language = want_body = false;
			p = q;
			continue;
		}
		if (ident_start(*p)) {
			const char *w = p;
			while (ident_char(*p))
				p++;
			size_t n = (size_t)(p - w);
			if (want_language)
				language_sql = n == 3 && !strncasecmp(w, "sql", 3);
			want_language = depth == 0 && n == 8 &&
					!strncasecmp(w, "language", 8);
			want_body = depth == 0 && n == 2 && !strncasecmp(w, "as", 2);
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		want_language = want_body = false;
		p++;
	}
	if (!language_sql || !body)
		return 0;
	char *text = constant_text(body, body_end);
	if (!text)
		return -1;
	const char *tag = mutation_tag(text);
	free(text);
	if (!tag)
		return 0;
	st->kind = SIM_ERROR;
	snprintf(st->sqlstate, sizeof st->sqlstate, "0A000");
	snprintf(st->message, sizeof st->message,
		 "unimplemented: %s usage inside a function definition", tag);
	snprintf(st->hint, sizeof st->hint,
		 "You have attempted to use a feature that is not yet implemented.\n"
		 "See: https://go.crdb.dev/issue-v/87289/v%d.%d",
		 version / 10000, version / 100 % 100);
	return 1;
}

bool ddl_function_refused(const char *sql, int version, struct sim_stmt *st,
			  bool *oom)
{
	*oom = false;
	if (version < UDF_VERSION || version >= UDF_MUTATIONS_VERSION)
		return false;
	for (const char *s = sql; *s; ) {
		const char *e = statement_end(sql, s);
		int r = function_refused(sql, s, e, version, st);
		if (r != 0) {
			*oom = r < 0;
			return r > 0;
		}
		s = *e ? e + 1 : e;
	}
	return false;
}

/* ---- row-level TTL storage parameters ---- */

/* The first version that knows the TTL parameter name. */
static int ttl_param_version(const char *name)
{
	if (!strcmp(name, "ttl_expiration_expression"))
		return TTL_EXPRESSION_VERSION;
	if (!strcmp(name, "ttl_disable_changefeed_replication"))
		return TTL_NO_CDC_VERSION;
	return TTL_VERSION;
}

/* Past one storage parameter's value: to the ',' or ')' that ends it. */
static const char *param_value_end(const char *sql, const char *p)
{
	int depth = 0;
	while (*p && *p != ';' && !(depth == 0 && (*p == ',' || *p == ')'))) {
		const char *q = skip_quoted(sql, p);
		if (q) {
			p = q;
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		p++;
	}
	return p;
}

/* The comment that keeps the removed parameters: "*" "/" inside them
 * would end it early. */
static void put_comment(struct sbuf *b, const char *text, size_t n)
{
	sb_puts(b, " /* crdbsim: row-level TTL, not emulated: ");
	for (size_t i = 0; i < n; i++) {
		sb_putc(b, text[i]);
		if (text[i] == '*' && i + 1 < n && text[i + 1] == '/')
			sb_putc(b, ' ');
	}
	sb_puts(b, " */");
}

/* The WITH ( of a CREATE TABLE statement [s, e), or NULL. */
static const char *table_with(const char *sql, const char *s, const char *e)
{
	const char *p = kw(s, "CREATE"), *q;
	if (!p)
		return NULL;
	if ((q = kw(p, "TEMP")) || (q = kw(p, "TEMPORARY")) ||
	    (q = kw(p, "UNLOGGED")))
		p = q;
	if (!(p = kw(p, "TABLE")))
		return NULL;
	int depth = 0;
	while ((p = skip_space(p)) < e) {
		if ((q = skip_quoted(sql, p))) {
			p = q;
			continue;
		}
		if (ident_start(*p)) {
			const char *w = p;
			while (ident_char(*p))
				p++;
			if (depth == 0 && p - w == 4 && !strncasecmp(w, "with", 4) &&
			    punct(p, '('))
				return w;
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		p++;
	}
	return NULL;
}

/* Rewrites one CREATE TABLE's WITH (...) at with into b; returns the end of
 * what it consumed, or NULL when the version refuses a parameter (st
 * set). */
static const char *strip_clause(const char *sql, const char *with, int version,
				struct sbuf *b, struct sim_stmt *st)
{
	struct sbuf kept = {0}, cut = {0};
	const char *p = punct(with + 4, '(');
	for (;;) {
		char name[64];
		const char *start = skip_space(p);
		const char *after = ident(start, name, sizeof name);
		const char *end = param_value_end(sql, start);
		bool ttl = after && !strncmp(name, "ttl", 3);
		if (ttl && version < ttl_param_version(name)) {
			st->kind = SIM_ERROR;
			snprintf(st->sqlstate, sizeof st->sqlstate, "22023");
			snprintf(st->message, sizeof st->message,
				 "invalid storage parameter \"%.64s\"", name);
			free(kept.p);
			free(cut.p);
			return NULL;
		}
		struct sbuf *to = ttl ? &cut : &kept;
		if (to->len)
			sb_puts(to, ", ");
		size_t n = (size_t)(end - start);
		while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\n' ||
				 start[n - 1] == '\t'))
			n--;
		sb_putn(to, start, n);
		if (*end != ',') {
			p = *end == ')' ? end + 1 : end;
			break;
		}
		p = end + 1;
	}
	if (kept.len) {
		sb_puts(b, "WITH (");
		sb_putn(b, kept.p, kept.len);
		sb_puts(b, ")");
	}
	if (cut.len)
		put_comment(b, cut.p, cut.len);
	b->oom |= kept.oom || cut.oom;
	free(kept.p);
	free(cut.p);
	return p;
}

int ddl_strip_ttl(struct sim_stmt *st, int version)
{
	const char *sql = st->sql;
	struct sbuf b = {0};
	const char *copied = sql;
	bool changed = false;
	for (const char *s = sql; *s; ) {
		const char *e = statement_end(sql, s);
		const char *with = table_with(sql, s, e);
		if (with) {
			sb_putn(&b, copied, (size_t)(with - copied));
			copied = strip_clause(sql, with, version, &b, st);
			if (!copied) {
				free(b.p);
				return 0;
			}
			changed = true;
		}
		s = *e ? e + 1 : e;
	}
	if (!changed)
		return 0;
	sb_puts(&b, copied);
	char *out = sb_take(&b);
	if (!out)
		return -1;
	free(st->sql);
	st->sql = out;
	return 0;
}
